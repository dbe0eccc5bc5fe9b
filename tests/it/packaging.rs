//! The packagings of `wharf run` other than the GitHub action: the Tekton
//! Task and StepAction (`tekton/`, `examples/tekton/`) and the Jenkins
//! shared library (`jenkins/`), checked the way their platforms read them.
//!
//! - Tekton: every Task, StepAction and Pipeline against the CRD schemas in
//!   `../shared/schemas` (strict: an unknown field is an error, as with
//!   `kubectl apply --validate=strict`), yamllint, the contract of
//!   docs/run.md (results, the token volume, params only through `env`,
//!   images pinned), and the step's script run by a real `sh` against a
//!   stand-in wharf, with the env Tekton would give it.
//! - Jenkins: `vars/wharf.groovy` compiled by groovyc (Groovy 2.4, Debian's),
//!   and `tests/jenkins/harness.groovy`, which stubs the Pipeline steps and
//!   asserts the exact command lines, hostile values included.
//!
//! Each test says why and passes when its tool or `../shared` is missing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use crate::common::{wharf, which};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Where wharf looks for a projected token (src/sign/token.rs).
const TOKEN_FILE: &str = "/var/run/sigstore/cosign/oidc-token";

/// Every Tekton YAML file the repository ships.
fn tekton_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["tekton", "examples/tekton"] {
        let entries = std::fs::read_dir(repo().join(dir))
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .map(|e| e.expect("dir entry").path());
        files.extend(entries.filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml")));
    }
    files.sort();
    assert!(
        !files.is_empty(),
        "no Tekton YAML under tekton/ or examples/tekton/"
    );
    files
}

fn yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn rel(path: &Path) -> String {
    path.strip_prefix(repo())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// `../shared/schemas`, or `None` with the reason printed.
fn shared_schemas(test: &str) -> Option<PathBuf> {
    let dir = repo().join("../shared/schemas");
    if dir.is_dir() {
        Some(dir)
    } else {
        println!(
            "skipping {test}: {} is absent (the shared data lives beside the repository)",
            dir.display()
        );
        None
    }
}

/// Runs `cmd` with stdin closed; fails the test with its output unless it
/// succeeds.
#[track_caller]
fn assert_runs(what: &str, cmd: &mut Command) {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        out.status.success(),
        "{what}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Calls `f(key, value)` for every mapping entry anywhere in `value`.
fn walk<'a>(value: &'a Value, f: &mut dyn FnMut(&'a str, &'a Value)) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                f(key, child);
                walk(child, f);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| walk(item, f)),
        _ => {}
    }
}

/// docs/run.md's Tekton row: the variable that detects Tekton and the
/// result files wharf writes.
fn run_md_tekton() -> (String, BTreeSet<String>) {
    let doc = std::fs::read_to_string(repo().join("docs/run.md")).expect("docs/run.md");
    let row = doc
        .lines()
        .find(|l| l.starts_with("| Tekton |"))
        .expect("docs/run.md has a `| Tekton |` row in its per-CI table");
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    let ticked = |cell: &str| -> Vec<String> {
        let re = regex::Regex::new(r"`([^`]*)`").expect("regex");
        re.captures_iter(cell)
            .map(|c| c[1].to_string())
            .filter(|t| {
                !t.is_empty()
                    && t.chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            })
            .collect()
    };
    let detected = ticked(cells[2]);
    assert_eq!(detected.len(), 1, "one variable in {:?}", cells[2]);
    let results: BTreeSet<String> = ticked(cells[3]).into_iter().collect();
    assert!(results.len() >= 3, "result names in {:?}", cells[3]);
    (detected[0].clone(), results)
}

/// A Tekton `results` list declares exactly `names`, `*ARTIFACT_OUTPUTS`
/// as Chains' type-hinted object (`uri`, `digest`), the others as strings.
fn assert_results(results: &Value, names: &BTreeSet<String>, what: &str) {
    let declared: BTreeMap<&str, &Value> = results
        .as_array()
        .unwrap_or_else(|| panic!("{what}: no results"))
        .iter()
        .map(|r| (r["name"].as_str().expect("result name"), r))
        .collect();
    let declared_names: BTreeSet<String> = declared.keys().map(|k| k.to_string()).collect();
    assert_eq!(&declared_names, names, "{what}: results vs docs/run.md");
    for (name, result) in declared {
        if name.ends_with("ARTIFACT_OUTPUTS") {
            assert_eq!(result["type"], "object", "{what}: {name}");
            let keys: BTreeSet<&str> = result["properties"]
                .as_object()
                .unwrap_or_else(|| panic!("{what}: {name} has no properties"))
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(keys, BTreeSet::from(["digest", "uri"]), "{what}: {name}");
        } else {
            assert_eq!(result["type"], "string", "{what}: {name}");
        }
    }
}

/// The `$(params.NAME)` references in `text`.
fn param_refs(text: &str) -> Vec<String> {
    let re = regex::Regex::new(r"\$\(params\.([A-Za-z0-9_-]+)\)").expect("regex");
    re.captures_iter(text).map(|c| c[1].to_string()).collect()
}

/// Params reach the step only through `env`: every declared param is used,
/// in an `env` value or in one of `allowed` (`(field, param)`: the image,
/// the working directory, a volume's name), and nowhere else.
fn assert_params_through_env(params: &Value, step: &Value, allowed: &[(&str, &str)], what: &str) {
    let declared: BTreeSet<String> = params
        .as_array()
        .expect("params")
        .iter()
        .map(|p| p["name"].as_str().expect("param name").to_string())
        .collect();
    let mut used = BTreeSet::new();
    for var in step["env"].as_array().expect("env") {
        let value = var["value"].as_str().unwrap_or_default();
        used.extend(param_refs(value));
    }
    for (field, value) in step.as_object().expect("step") {
        if field == "env" {
            continue;
        }
        let text = value.to_string();
        for name in param_refs(&text) {
            assert!(
                allowed.contains(&(field.as_str(), name.as_str())),
                "{what}: `{field}` uses $(params.{name}); params go through `env`"
            );
            used.insert(name);
        }
    }
    assert_eq!(
        used, declared,
        "{what}: declared params vs the params the step uses"
    );
}

#[test]
fn tekton_resources_validate_against_the_strict_crd_schemas() {
    let test = "tekton_resources_validate_against_the_strict_crd_schemas";
    let Some(schemas) = shared_schemas(test) else {
        return;
    };
    let Some(python) = crate::common::python_with(test, "check_jsonschema") else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut by_schema: BTreeMap<&str, Vec<PathBuf>> = BTreeMap::new();
    for file in tekton_files() {
        let doc = yaml(&file);
        let schema = match (doc["apiVersion"].as_str(), doc["kind"].as_str()) {
            (Some("tekton.dev/v1"), Some("Task")) => "task-v1.strict.json",
            (Some("tekton.dev/v1beta1"), Some("StepAction")) => "stepaction-v1beta1.strict.json",
            (Some("tekton.dev/v1"), Some("Pipeline")) => "pipeline-v1.strict.json",
            other => panic!(
                "{}: {other:?} has no schema in these tests; add one",
                rel(&file)
            ),
        };
        by_schema.entry(schema).or_default().push(file.clone());
        // The Pipeline CRD leaves an inline taskSpec unchecked
        // (x-kubernetes-preserve-unknown-fields); Tekton validates it as a
        // Task's spec, so it is checked here as one.
        let pipeline = doc["metadata"]["name"].as_str().unwrap_or("pipeline");
        for list in ["tasks", "finally"] {
            for task in doc["spec"][list].as_array().into_iter().flatten() {
                if let Some(spec) = task.get("taskSpec") {
                    let name = format!("{pipeline}-{}", task["name"].as_str().unwrap_or("task"));
                    let path = tmp.path().join(format!("{name}.json"));
                    let wrapped = json!({
                        "apiVersion": "tekton.dev/v1",
                        "kind": "Task",
                        "metadata": {"name": name},
                        "spec": spec,
                    });
                    std::fs::write(&path, wrapped.to_string()).expect("write taskSpec");
                    by_schema
                        .entry("task-v1.strict.json")
                        .or_default()
                        .push(path);
                }
            }
        }
    }
    for schema in [
        "task-v1.strict.json",
        "stepaction-v1beta1.strict.json",
        "pipeline-v1.strict.json",
    ] {
        let files = by_schema.get(schema).map(Vec::as_slice).unwrap_or_default();
        assert!(!files.is_empty(), "nothing validated against {schema}");
        if let Err(out) =
            crate::common::check_jsonschema(&python, &schemas.join(schema), &[], files)
        {
            panic!("{schema} rejects {files:?}:\n{out}");
        }
        println!("{schema}: {} file(s) valid", files.len());
    }

    // The control: the same validator rejects an unknown field, so "valid"
    // above means something.
    let mut bad = yaml(&repo().join("tekton/task.yaml"));
    bad["spec"]["steps"][0]["imagePulPolicy"] = json!("Always");
    let bad_path = tmp.path().join("misspelt.json");
    std::fs::write(&bad_path, bad.to_string()).expect("write");
    let out = crate::common::check_jsonschema(
        &python,
        &schemas.join("task-v1.strict.json"),
        &[],
        &[bad_path],
    )
    .expect_err("a misspelt field must be rejected");
    assert!(out.contains("imagePulPolicy"), "{out}");
}

#[test]
fn tekton_yaml_passes_yamllint() {
    let test = "tekton_yaml_passes_yamllint";
    let Some(python) = crate::common::python_with(test, "yamllint") else {
        return;
    };
    assert_runs(
        "yamllint",
        Command::new(&python)
            .args(["-m", "yamllint", "--strict", "-c"])
            .arg(repo().join(".yamllint"))
            .args(tekton_files())
            .current_dir(repo()),
    );
}

#[test]
fn tekton_task_and_stepaction_keep_the_run_contract() {
    let (detect, results) = run_md_tekton();
    assert_eq!(detect, "WHARF_TEKTON_RESULTS");

    // The Task: one step, the results of docs/run.md, params only through
    // env, the token projected with audience sigstore where wharf reads it.
    let task = yaml(&repo().join("tekton/task.yaml"));
    let spec = &task["spec"];
    let steps = spec["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 1, "tekton/task.yaml: one step");
    let step = &steps[0];
    assert_results(&spec["results"], &results, "tekton/task.yaml");
    assert_params_through_env(
        &spec["params"],
        step,
        &[("image", "wharf-image")],
        "tekton/task.yaml",
    );
    let (volume, path) = spec["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .find_map(|v| {
            v["projected"]["sources"]
                .as_array()?
                .iter()
                .find_map(|s| {
                    let token = &s["serviceAccountToken"];
                    (token["audience"] == "sigstore").then(|| token["path"].as_str())?
                })
                .map(|path| (v["name"].as_str().expect("volume name"), path))
        })
        .expect("tekton/task.yaml: a projected serviceAccountToken volume with audience sigstore");
    let mount = step["volumeMounts"]
        .as_array()
        .expect("volumeMounts")
        .iter()
        .find(|m| m["name"] == volume)
        .unwrap_or_else(|| panic!("tekton/task.yaml: the step does not mount {volume}"));
    assert_eq!(mount["mountPath"], "/var/run/sigstore/cosign");
    assert_eq!(format!("/var/run/sigstore/cosign/{path}"), TOKEN_FILE);

    // The StepAction: the same results and rules; the Task using it names
    // the volume through a param (a StepAction cannot declare volumes).
    let action = yaml(&repo().join("tekton/stepaction.yaml"));
    let spec = &action["spec"];
    assert_results(&spec["results"], &results, "tekton/stepaction.yaml");
    assert_params_through_env(
        &spec["params"],
        spec,
        &[
            ("image", "wharf-image"),
            ("workingDir", "working-dir"),
            ("volumeMounts", "oidc-token-volume"),
        ],
        "tekton/stepaction.yaml",
    );
    let mounts = spec["volumeMounts"].as_array().expect("volumeMounts");
    assert!(
        mounts
            .iter()
            .any(|m| m["name"] == "$(params.oidc-token-volume)"
                && m["mountPath"] == "/var/run/sigstore/cosign"),
        "tekton/stepaction.yaml: the token volume at /var/run/sigstore/cosign"
    );
    // ... and the example Task around it projects that volume and maps
    // every result docs/run.md names.
    let example = yaml(&repo().join("examples/tekton/stepaction-task.yaml"));
    assert_results(
        &example["spec"]["results"],
        &results,
        "examples/tekton/stepaction-task.yaml",
    );
    let volume_param = example["spec"]["steps"][0]["params"]
        .as_array()
        .expect("step params")
        .iter()
        .find(|p| p["name"] == "oidc-token-volume")
        .map(|p| p["value"].clone())
        .expect("the example passes oidc-token-volume");
    assert!(
        example["spec"]["volumes"]
            .as_array()
            .expect("volumes")
            .iter()
            .any(|v| v["name"] == volume_param
                && v["projected"]["sources"][0]["serviceAccountToken"]["audience"] == "sigstore"),
        "examples/tekton/stepaction-task.yaml: volume {volume_param} with audience sigstore"
    );

    // Everywhere: no param inside a script, every image a param or pinned
    // by digest.
    let pinned =
        regex::Regex::new(r"^\$\(params\.[A-Za-z0-9_-]+\)$|@sha256:[0-9a-f]{64}$").expect("regex");
    for file in tekton_files() {
        let doc = yaml(&file);
        let mut images = 0;
        walk(&doc, &mut |key, value| match (key, value) {
            // Not even in a comment: Tekton substitutes $(…) in scripts
            // before the shell sees them.
            ("script", Value::String(script)) => assert!(
                !script.contains("$("),
                "{}: a script uses $(…) (a param?); pass values through env",
                rel(&file)
            ),
            ("image", Value::String(image)) => {
                images += 1;
                assert!(
                    pinned.is_match(image),
                    "{}: image {image} is neither a param nor pinned by digest",
                    rel(&file)
                );
            }
            _ => {}
        });
        println!("{}: {images} image(s), each a param or pinned", rel(&file));
    }

    // Every flag the scripts give `wharf run` is one it has.
    let help = wharf().args(["run", "--help"]).run();
    help.assert_ok();
    let flag = regex::Regex::new(r"(--[a-z][a-z-]+)").expect("regex");
    for file in ["tekton/task.yaml", "tekton/stepaction.yaml"] {
        let doc = yaml(&repo().join(file));
        let script = [&doc["spec"]["steps"][0]["script"], &doc["spec"]["script"]]
            .into_iter()
            .find_map(Value::as_str)
            .expect("script");
        for f in flag.captures_iter(script) {
            assert!(
                help.stdout.contains(&f[1]),
                "{file}: `wharf run` has no {}\n{}",
                &f[1],
                help.stdout
            );
        }
    }
}

// ---------------------------------------------------------------------------
// The step's script, run by sh with the env Tekton would give it

/// A stand-in for wharf: records its argv (NUL-separated) and environment,
/// writes result files like `wharf run` under Tekton, exits $STUB_EXIT.
const STUB: &str = r#"#!/bin/sh
for a in "$@"; do printf '%s\0' "$a"; done >"$STUB_OUT/argv"
env -0 >"$STUB_OUT/env"
printf '%s' registry.example.com/shop/api:1.4.2 >"$WHARF_TEKTON_RESULTS/IMAGE_URL"
printf '%s' sha256:0000000000000000000000000000000000000000000000000000000000000000 >"$WHARF_TEKTON_RESULTS/IMAGE_DIGEST"
printf '%s' '{"critical":0}' >"$WHARF_TEKTON_RESULTS/FINDINGS"
exit "$STUB_EXIT"
"#;

struct StepRun {
    code: Option<i32>,
    argv: Vec<String>,
    env: BTreeMap<String, String>,
    stderr: String,
}

/// Runs `step`'s script as Tekton would: each `env` value with its
/// `$(…)` variables replaced (`params.NAME` from `given`, else the param's
/// default; the rest from `vars`; anything else fails the test), the
/// script written to a file and run by `sh`, `wharf` being [`STUB`].
fn run_step(
    step: &Value,
    params: &Value,
    given: &[(&str, &str)],
    vars: &BTreeMap<String, String>,
    stub_exit: i32,
    scratch: &Path,
) -> StepRun {
    let mut vars = vars.clone();
    for param in params.as_array().expect("params") {
        let name = param["name"].as_str().expect("param name");
        let value = match given.iter().find(|(n, _)| *n == name) {
            Some((_, v)) => v.to_string(),
            None => param["default"]
                .as_str()
                .unwrap_or_else(|| panic!("param {name} has no default; give it"))
                .to_string(),
        };
        vars.insert(format!("params.{name}"), value);
    }
    let var = regex::Regex::new(r"\$\(([^)]+)\)").expect("regex");
    let bin = scratch.join("bin");
    let out = scratch.join("out");
    std::fs::create_dir_all(&bin).expect("bin");
    std::fs::create_dir_all(&out).expect("out");
    let stub = bin.join("wharf");
    std::fs::write(&stub, STUB).expect("stub");
    std::fs::set_permissions(&stub, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let script = scratch.join("script");
    std::fs::write(&script, step["script"].as_str().expect("script")).expect("script");

    let mut cmd = Command::new("sh");
    cmd.arg(&script)
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("STUB_OUT", &out)
        .env("STUB_EXIT", stub_exit.to_string())
        .current_dir(scratch)
        .stdin(Stdio::null());
    for entry in step["env"].as_array().expect("env") {
        let name = entry["name"].as_str().expect("env name");
        let raw = entry["value"].as_str().expect("env value");
        let value = var.replace_all(raw, |c: &regex::Captures| {
            vars.get(&c[1])
                .unwrap_or_else(|| panic!("{name}: unknown Tekton variable $({})", &c[1]))
                .clone()
        });
        cmd.env(name, value.as_ref());
    }
    let output = cmd.output().expect("run sh");
    let split = |bytes: Vec<u8>| -> Vec<String> {
        let text = String::from_utf8(bytes).expect("utf-8");
        let mut items: Vec<String> = text.split('\0').map(str::to_string).collect();
        assert_eq!(items.pop().as_deref(), Some(""), "NUL-terminated");
        items
    };
    let argv = std::fs::read(out.join("argv"))
        .map(split)
        .unwrap_or_default();
    let env = std::fs::read(out.join("env"))
        .map(split)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect();
    StepRun {
        code: output.status.code(),
        argv,
        env,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Values that would run a command, split a word or pass for an option if
/// the script ever let the shell parse them.
fn hostile(marker: &Path) -> String {
    let m = marker.display();
    format!("--key=/etc/passwd $(touch {m}) `touch {m}`; touch {m}\n'\"$HOME *")
}

#[test]
fn tekton_task_script_builds_the_argv_from_env() {
    if which("sh").is_none() || which("env").is_none() {
        println!("skipping tekton_task_script_builds_the_argv_from_env: no sh or env");
        return;
    }
    let (detect, _) = run_md_tekton();
    let task = yaml(&repo().join("tekton/task.yaml"));
    let spec = &task["spec"];
    let step = &spec["steps"][0];

    let scratch = tempfile::tempdir().expect("tempdir");
    let results = scratch.path().join("tekton/results");
    let signing = scratch.path().join("signing");
    let source = scratch.path().join("source");
    for dir in [&results, &signing, &source] {
        std::fs::create_dir_all(dir).expect("mkdir");
    }
    std::fs::write(
        signing.join("cosign.password"),
        "pass phrase 'with' $(quotes)\n",
    )
    .expect("password");
    let marker = scratch.path().join("pwned");
    let mut vars = BTreeMap::new();
    for name in spec["results"].as_array().expect("results") {
        let name = name["name"].as_str().expect("name");
        vars.insert(
            format!("results.{name}.path"),
            results.join(name).display().to_string(),
        );
    }
    vars.insert("context.taskRun.uid".into(), "6f1c9a4e-uid".into());
    vars.insert(
        "workspaces.source.path".into(),
        source.display().to_string(),
    );
    let unbound = |vars: &mut BTreeMap<String, String>| {
        for ws in ["signing", "dockerconfig"] {
            vars.insert(format!("workspaces.{ws}.bound"), "false".into());
            vars.insert(format!("workspaces.{ws}.path"), String::new());
        }
    };

    // Only the required param: `wharf run`, results directory exported,
    // nothing else set.
    let mut plain = vars.clone();
    unbound(&mut plain);
    let run = run_step(
        step,
        &spec["params"],
        &[("wharf-image", "registry.example.com/wharf@sha256:0")],
        &plain,
        0,
        &scratch.path().join("plain"),
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.argv, ["run"]);
    assert_eq!(run.env.get(&detect), Some(&results.display().to_string()));
    for unset in [
        "WHARF_TRUST_CONFIG",
        "WHARF_SOURCE_URI",
        "DOCKER_CONFIG",
        "WHARF_PASSWORD",
    ] {
        assert!(!run.env.contains_key(unset), "{unset} set: {:?}", run.env);
    }
    assert_eq!(run.env["WHARF_INVOCATION_ID"], "6f1c9a4e-uid");
    assert!(results.join("IMAGE_URL").exists());

    // Every param, hostile values included: each lands as one argument,
    // nothing runs, the image is an operand after `--`.
    let evil = hostile(&marker);
    let mut bound = vars.clone();
    bound.insert("workspaces.signing.bound".into(), "true".into());
    bound.insert(
        "workspaces.signing.path".into(),
        signing.display().to_string(),
    );
    bound.insert("workspaces.dockerconfig.bound".into(), "true".into());
    bound.insert("workspaces.dockerconfig.path".into(), "/ws/docker".into());
    let given = [
        ("wharf-image", "registry.example.com/wharf@sha256:0"),
        ("image", evil.as_str()),
        ("config", evil.as_str()),
        ("output-dir", "out dir"),
        ("fail-on", "high"),
        ("db", "/osv/all.zip"),
        ("promote", "false"),
        ("trust-config", "/ws/trust/trust_config.json"),
        ("insecure-registries", "127.0.0.1:5000"),
        ("builder-id", "https://tekton.example.com/builders/prod"),
        ("CHAINS-GIT_URL", "https://git.example.com/shop/api.git"),
        (
            "CHAINS-GIT_COMMIT",
            "0123456789abcdef0123456789abcdef01234567",
        ),
    ];
    let run = run_step(
        step,
        &spec["params"],
        &given,
        &bound,
        0,
        &scratch.path().join("full"),
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let key = signing.join("cosign.key").display().to_string();
    assert_eq!(
        run.argv,
        [
            "run",
            "--config",
            evil.as_str(),
            "--output-dir",
            "out dir",
            "--fail-on",
            "high",
            "--db",
            "/osv/all.zip",
            "--no-promote",
            "--key",
            key.as_str(),
            "--",
            evil.as_str(),
        ]
    );
    assert!(!marker.exists(), "a param value ran a command");
    let env = &run.env;
    assert_eq!(env["WHARF_TRUST_CONFIG"], "/ws/trust/trust_config.json");
    assert_eq!(env["WHARF_INSECURE_REGISTRIES"], "127.0.0.1:5000");
    assert_eq!(
        env["WHARF_BUILDER_ID"],
        "https://tekton.example.com/builders/prod"
    );
    assert_eq!(
        env["WHARF_SOURCE_URI"],
        "git+https://git.example.com/shop/api.git"
    );
    assert_eq!(
        env["WHARF_SOURCE_REVISION"],
        "0123456789abcdef0123456789abcdef01234567"
    );
    assert_eq!(env["DOCKER_CONFIG"], "/ws/docker");
    assert_eq!(env["WHARF_PASSWORD"], "pass phrase 'with' $(quotes)");

    // A run that said no (exit 1) or failed (2) exits so, and names no
    // image for Chains to sign; the other results stay.
    for code in [1, 2] {
        let run = run_step(
            step,
            &spec["params"],
            &[("wharf-image", "r@sha256:0"), ("image", "reg/app:1")],
            &plain,
            code,
            &scratch.path().join(format!("exit{code}")),
        );
        assert_eq!(run.code, Some(code), "{}", run.stderr);
        assert!(
            !results.join("IMAGE_URL").exists(),
            "IMAGE_URL left after exit {code}"
        );
        assert!(
            !results.join("IMAGE_DIGEST").exists(),
            "IMAGE_DIGEST left after exit {code}"
        );
        assert!(results.join("FINDINGS").exists());
    }
}

#[test]
fn tekton_stepaction_script_builds_the_argv_from_env() {
    if which("sh").is_none() || which("env").is_none() {
        println!("skipping tekton_stepaction_script_builds_the_argv_from_env: no sh or env");
        return;
    }
    let (detect, _) = run_md_tekton();
    let action = yaml(&repo().join("tekton/stepaction.yaml"));
    let spec = &action["spec"];
    let scratch = tempfile::tempdir().expect("tempdir");
    // Where Tekton puts a step's results: /tekton/steps/step-<name>/results.
    let results = scratch.path().join("tekton/steps/step-wharf/results");
    let signing = scratch.path().join("signing");
    std::fs::create_dir_all(&results).expect("mkdir");
    std::fs::create_dir_all(&signing).expect("mkdir");
    let marker = scratch.path().join("pwned");
    let mut vars = BTreeMap::new();
    for name in spec["results"].as_array().expect("results") {
        let name = name["name"].as_str().expect("name");
        vars.insert(
            format!("step.results.{name}.path"),
            results.join(name).display().to_string(),
        );
    }
    let evil = hostile(&marker);
    let given = [
        ("wharf-image", "registry.example.com/wharf@sha256:0"),
        ("image", evil.as_str()),
        ("fail-on", evil.as_str()),
        ("signing-path", signing.to_str().expect("utf-8 path")),
        ("docker-config-path", "/ws/docker"),
        ("source-url", "git+https://git.example.com/shop/api.git"),
        ("source-revision", "main"),
        ("invocation-id", "6f1c9a4e-uid"),
    ];
    let run = run_step(
        spec,
        &spec["params"],
        &given,
        &vars,
        0,
        &scratch.path().join("full"),
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let key = signing.join("cosign.key").display().to_string();
    assert_eq!(
        run.argv,
        [
            "run",
            "--fail-on",
            evil.as_str(),
            "--key",
            key.as_str(),
            "--",
            evil.as_str()
        ]
    );
    assert!(!marker.exists(), "a param value ran a command");
    assert_eq!(run.env.get(&detect), Some(&results.display().to_string()));
    assert_eq!(
        run.env["WHARF_SOURCE_URI"],
        "git+https://git.example.com/shop/api.git"
    );
    assert_eq!(run.env["DOCKER_CONFIG"], "/ws/docker");
    assert_eq!(run.env["WHARF_INVOCATION_ID"], "6f1c9a4e-uid");
    assert!(
        !run.env.contains_key("WHARF_PASSWORD"),
        "no cosign.password, no passphrase"
    );

    let run = run_step(
        spec,
        &spec["params"],
        &[("wharf-image", "r@sha256:0"), ("promote", "false")],
        &vars,
        1,
        &scratch.path().join("policy"),
    );
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(run.argv, ["run", "--no-promote"]);
    assert!(!results.join("IMAGE_URL").exists());
    assert!(!results.join("IMAGE_DIGEST").exists());
}

// ---------------------------------------------------------------------------
// Jenkins

#[test]
fn jenkins_library_compiles_with_groovyc() {
    require_tools!("groovyc", "groovy");
    let version = Command::new("groovy")
        .arg("--version")
        .output()
        .expect("groovy");
    println!("{}", String::from_utf8_lossy(&version.stdout).trim());
    let out_dir = tempfile::tempdir().expect("tempdir");
    let vars: Vec<PathBuf> = std::fs::read_dir(repo().join("jenkins/vars"))
        .expect("jenkins/vars")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "groovy"))
        .collect();
    assert!(!vars.is_empty());
    assert_runs(
        "groovyc",
        Command::new("groovyc")
            .arg("-d")
            .arg(out_dir.path())
            .args(&vars),
    );
    assert!(out_dir.path().join("wharf.class").exists());
    // Jenkins shows vars/NAME.txt as the step's help; the library loader
    // copies only vars/*.groovy and vars/*.txt.
    let help = std::fs::read_to_string(repo().join("jenkins/vars/wharf.txt")).expect("wharf.txt");
    for stage in [
        "run", "pin", "sbom", "scan", "sign", "attest", "verify", "promote",
    ] {
        assert!(
            help.lines().any(|l| l.trim_start().starts_with(stage)),
            "wharf.txt does not document {stage}"
        );
    }
}

#[test]
fn jenkins_step_builds_the_exact_command_line() {
    require_tools!("groovy", "sh");
    let out = Command::new("groovy")
        .arg("tests/jenkins/harness.groovy")
        .arg("jenkins/vars/wharf.groovy")
        .current_dir(repo())
        .stdin(Stdio::null())
        .output()
        .expect("run groovy");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the harness failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = stdout.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("all ") && last.ends_with(" checks passed"),
        "{stdout}"
    );
    println!("{}", stdout.trim_end());
}

#[test]
fn jenkins_step_flags_are_flags_wharf_has() {
    require_tools!("groovy");
    let out = Command::new("groovy")
        .args([
            "tests/jenkins/harness.groovy",
            "jenkins/vars/wharf.groovy",
            "--flags",
        ])
        .current_dir(repo())
        .stdin(Stdio::null())
        .output()
        .expect("run groovy");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut by_stage: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let (stage, flag) = line.split_once(' ').expect("STAGE FLAG");
        by_stage
            .entry(stage.to_string())
            .or_default()
            .push(flag.to_string());
    }
    assert_eq!(
        by_stage.keys().map(String::as_str).collect::<Vec<_>>(),
        ["attest", "pin", "promote", "run", "sbom", "scan", "sign", "verify"]
    );
    for (stage, flags) in by_stage {
        let help = wharf().args([stage.as_str(), "--help"]).run();
        help.assert_ok();
        for flag in flags {
            let present = help
                .stdout
                .split(|c: char| c.is_whitespace() || c == ',' || c == '=' || c == '[')
                .any(|word| word == flag);
            assert!(
                present,
                "wharf {stage} has no {flag} (jenkins/vars/wharf.groovy)\n{}",
                help.stdout
            );
        }
    }
}

/// `examples/gitlab/.gitlab-ci.yml`: GitLab's own schema (check-jsonschema's
/// `vendor.gitlab-ci`), yamllint, and the wharf job's command line is one
/// wharf accepts, with the dotenv report where the artifact expects it.
#[test]
fn gitlab_example_matches_gitlabs_schema_and_wharfs_flags() {
    let file = repo().join("examples/gitlab/.gitlab-ci.yml");
    let doc = yaml(&file);
    let job = &doc["wharf"];
    assert_eq!(job["id_tokens"]["SIGSTORE_ID_TOKEN"]["aud"], "sigstore");
    let dotenv = job["artifacts"]["reports"]["dotenv"]
        .as_str()
        .expect("a dotenv report");
    let script: Vec<&str> = job["script"]
        .as_array()
        .expect("script")
        .iter()
        .filter_map(|l| l.as_str())
        .collect();
    let line = script
        .iter()
        .find(|l| l.starts_with("wharf run "))
        .expect("a wharf run line");
    let args: Vec<String> = line
        .split_whitespace()
        .skip(1)
        .map(|a| {
            a.trim_matches('"')
                .replace("$IMAGE", "registry.example.com/shop/api:1")
        })
        .collect();
    let at = args
        .iter()
        .position(|a| a == "--output-dotenv")
        .expect("--output-dotenv");
    assert_eq!(args[at + 1], dotenv);
    // The flags parse: --print-config reads them and stops there.
    let tmp = tempfile::tempdir().expect("tmp");
    assert_eq!(args[0], "run");
    let out = wharf()
        .current_dir(tmp.path())
        .args(["run", "--print-config"])
        .args(&args[1..])
        .run();
    out.assert_ok();
    assert!(out.stdout.contains("fail_on: high"), "{}", out.describe());

    let test = "gitlab_example_matches_gitlabs_schema_and_wharfs_flags";
    let Some(python) = crate::common::python_with(test, "check_jsonschema") else {
        return;
    };
    assert_runs(
        "check-jsonschema",
        Command::new(&python)
            .args([
                "-m",
                "check_jsonschema",
                "--builtin-schema",
                "vendor.gitlab-ci",
            ])
            .arg(&file),
    );
    assert_runs(
        "yamllint",
        Command::new(&python)
            .args(["-m", "yamllint", "--strict", "-c"])
            .arg(repo().join(".yamllint"))
            .arg(&file),
    );
}
