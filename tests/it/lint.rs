//! `wharf lint` through the binary: the rule corpus under
//! `tests/fixtures/lint/rules/<rule-id>/` (every `positive*` file names, in a
//! `# expect: LINE…` comment, exactly the lines the rule must find; every
//! `negative*` file must give the rule nothing; a `.wharf-lint.yaml` in the
//! directory is the config), the text output against golden files, SARIF
//! against the official schema, exit codes, discovery, config, and
//! `--image` on OCI layouts built here.
//!
//! Golden files: `WHARF_BLESS=1 cargo test --test it lint` rewrites them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::oci::{Layer, OciLayout};
use crate::common::{tree, wharf};
use crate::sbom_writers::python_with;
use crate::scan_reports::{check, sarif_schema};

fn fixtures() -> PathBuf {
    tree::fixture("lint")
}

/// `wharf lint --format json` in `dir` on `args`.
fn lint_json(dir: &Path, args: &[&str]) -> (Option<i32>, Value, String) {
    let out = wharf()
        .current_dir(dir)
        .arg("lint")
        .args(["--format", "json"])
        .args(args)
        .run();
    assert!(
        matches!(out.code, Some(0 | 1)),
        "lint could not run\n{}",
        out.describe()
    );
    (out.code, out.json(), out.describe())
}

/// `# expect: 3 5` → {3, 5}.
fn expected_lines(text: &str) -> Option<BTreeSet<u64>> {
    text.lines().find_map(|l| {
        let rest = l.strip_prefix("# expect:")?;
        Some(
            rest.split_whitespace()
                .map(|n| n.parse().expect("a line number after # expect:"))
                .collect(),
        )
    })
}

#[test]
fn every_rule_fires_on_its_positive_cases_and_stays_quiet_on_its_negatives() {
    let root = fixtures().join("rules");
    let mut covered = BTreeSet::new();
    let mut cases = 0;
    for entry in std::fs::read_dir(&root).expect("rules dir") {
        let dir = entry.expect("entry").path();
        let rule = dir.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            wharf::lint::rules::rule(&rule).is_some(),
            "{} is not a rule id",
            dir.display()
        );
        covered.insert(rule.clone());
        let mut args = vec!["."];
        if dir.join(".wharf-lint.yaml").is_file() {
            args.extend(["--config", ".wharf-lint.yaml"]);
        }
        let (_, report, describe) = lint_json(&dir, &args);
        let mut found: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
        for f in report["findings"].as_array().expect("findings") {
            if f["rule"] == rule.as_str() && f["ignored"].is_null() {
                found
                    .entry(f["file"].as_str().unwrap().to_string())
                    .or_default()
                    .insert(f["line"].as_u64().unwrap());
            }
        }
        let mut positives = 0;
        for file in std::fs::read_dir(&dir).expect("rule dir") {
            let path = file.expect("file").path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if !name.ends_with(".Dockerfile") {
                continue;
            }
            cases += 1;
            let text = std::fs::read_to_string(&path).expect("fixture");
            let got = found.remove(&name).unwrap_or_default();
            if name.starts_with("positive") {
                positives += 1;
                let want = expected_lines(&text)
                    .unwrap_or_else(|| panic!("{} has no `# expect:` line", path.display()));
                assert_eq!(got, want, "{rule} on {}\n{describe}", path.display());
            } else {
                assert!(
                    name.starts_with("negative"),
                    "{}: name it positive* or negative*",
                    path.display()
                );
                assert!(
                    got.is_empty(),
                    "{rule} fired on {} at {got:?}\n{describe}",
                    path.display()
                );
            }
        }
        assert!(positives > 0, "{rule} has no positive case");
    }
    // Every rule that reads Dockerfiles has a corpus (missing-interpreter
    // reads images: see the --image tests).
    for rule in wharf::lint::rules::RULES {
        if rule.id != "missing-interpreter" {
            assert!(covered.contains(rule.id), "no corpus for {}", rule.id);
        }
    }
    assert!(cases >= 40, "only {cases} cases");
}

#[test]
fn a_clean_multi_stage_go_to_distroless_build_has_no_warning_or_error() {
    let dir = fixtures().join("clean");
    let (code, report, describe) = lint_json(&dir, &[]);
    assert_eq!(code, Some(0), "{describe}");
    assert_eq!(report["summary"]["error"], 0, "{describe}");
    assert_eq!(report["summary"]["warning"], 0, "{describe}");
    assert_eq!(report["files"], serde_json::json!(["Dockerfile"]));
}

/// The text output of each `golden/<case>.Dockerfile` is `golden/<case>.txt`.
#[test]
fn text_output_matches_the_golden_files() {
    let dir = fixtures().join("golden");
    let bless = std::env::var_os("WHARF_BLESS").is_some();
    let mut cases = 0;
    for entry in std::fs::read_dir(&dir).expect("golden dir") {
        let path = entry.expect("entry").path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some(case) = name.strip_suffix(".Dockerfile") else {
            continue;
        };
        cases += 1;
        let out = wharf().current_dir(&dir).args(["lint", &name]).run();
        assert!(matches!(out.code, Some(0 | 1)), "{}", out.describe());
        let golden = dir.join(format!("{case}.txt"));
        let shown = format!(
            "{}--- exit {:?}\n--- stderr\n{}",
            out.stdout, out.code, out.stderr
        );
        if bless {
            std::fs::write(&golden, &shown).expect("write golden");
            continue;
        }
        let want = std::fs::read_to_string(&golden)
            .unwrap_or_else(|e| panic!("{}: {e} (WHARF_BLESS=1 writes it)", golden.display()));
        assert_eq!(
            shown,
            want,
            "{} differs from {} (WHARF_BLESS=1 rewrites it)",
            name,
            golden.display()
        );
    }
    assert!(cases >= 3);
}

#[test]
fn sarif_follows_the_official_schema_and_locates_each_instruction() {
    let dir = fixtures();
    let out = wharf()
        .current_dir(&dir)
        .args(["lint", "--format", "sarif", "rules", "golden", "clean"])
        .run();
    out.assert_code(1);
    let sarif = out.json();
    let run = &sarif["runs"][0];
    let results = run["results"].as_array().expect("results");
    assert!(results.len() > 50, "{} results", results.len());
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    assert_eq!(
        rules.len(),
        wharf::lint::rules::RULES.len(),
        "every rule is on by default"
    );
    let mut suppressed = 0;
    for r in results {
        let location = &r["locations"][0]["physicalLocation"];
        let uri = location["artifactLocation"]["uri"].as_str().expect("uri");
        assert!(
            uri.ends_with(".Dockerfile") || uri.ends_with("Dockerfile"),
            "{uri}"
        );
        assert!(dir.join(uri).is_file(), "{uri} is not the file's path");
        assert!(location["region"]["startLine"].as_u64().expect("startLine") >= 1);
        let index = r["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[index]["id"], r["ruleId"]);
        if r.get("suppressions").is_some() {
            suppressed += 1;
        }
    }
    assert!(suppressed >= 1, "no waived finding carries a suppression");
    // The instruction's line: the corpus's ADD of a URL without checksum.
    let add = results
        .iter()
        .find(|r| {
            r["ruleId"] == "add-remote-unverified"
                && r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                    == "rules/add-remote-unverified/positive.Dockerfile"
        })
        .expect("add-remote-unverified result");
    assert_eq!(
        add["locations"][0]["physicalLocation"]["region"]["startLine"],
        4
    );

    let Some(python) = python_with("lint_sarif_follows_the_official_schema", "check_jsonschema")
    else {
        return;
    };
    let Some(schema) = sarif_schema("lint_sarif_follows_the_official_schema", &python) else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let good = tmp.path().join("lint.sarif");
    std::fs::write(&good, &out.stdout).expect("write sarif");
    let empty = wharf()
        .current_dir(dir.join("clean"))
        .args(["lint", "--format", "sarif"])
        .run();
    let empty_path = tmp.path().join("clean.sarif");
    std::fs::write(&empty_path, &empty.stdout).expect("write sarif");
    // As for scan: the schema's `run.language` pattern needs this variant.
    let flags = ["--regex-variant", "nonunicode"];
    if let Err(output) = check(&python, &schema, &flags, &[good.clone(), empty_path]) {
        panic!("lint's SARIF is not valid SARIF 2.1.0:\n{output}");
    }
    let mut broken = sarif.clone();
    broken["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        0.into();
    let broken_path = tmp.path().join("broken.sarif");
    std::fs::write(&broken_path, serde_json::to_string(&broken).unwrap()).expect("write");
    assert!(
        check(&python, &schema, &flags, &[broken_path]).is_err(),
        "the schema accepted startLine 0"
    );
}

#[test]
fn exit_codes_say_clean_policy_no_or_could_not_lint() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = format!("sha256:{}", "b".repeat(64));
    tree::write(
        tmp.path(),
        "warn/Dockerfile",
        format!("FROM alpine:3.20@{d}\nRUN apk add curl\n"),
    );
    tree::write(tmp.path(), "fail/Dockerfile", "FROM alpine:3.20\nUSER 1\n");
    let warn = wharf().current_dir(tmp.path()).args(["lint", "warn"]).run();
    warn.assert_ok();
    assert!(
        warn.stdout
            .contains("warn/Dockerfile:2: warning[apk-no-cache]"),
        "{}",
        warn.describe()
    );
    assert!(
        warn.stderr.contains("lint: 1 Dockerfile: "),
        "{}",
        warn.describe()
    );
    let fail = wharf().current_dir(tmp.path()).args(["lint", "fail"]).run();
    fail.assert_code(1);
    assert!(
        fail.stderr
            .contains("fails (an error-level finding remains)"),
        "{}",
        fail.describe()
    );

    // Could not lint: nothing on stdout, the reason on stderr.
    let missing = wharf()
        .current_dir(tmp.path())
        .args(["lint", "--format", "json", "warn", "nope/Dockerfile"])
        .run();
    missing.assert_error(&["nope/Dockerfile", "cannot read it"]);
    assert_eq!(missing.stdout, "");
    tree::write(
        tmp.path(),
        "bad.yaml",
        "rules:\n  base-image-unpined: off\n",
    );
    let bad = wharf()
        .current_dir(tmp.path())
        .args(["lint", "--config", "bad.yaml", "warn"])
        .run();
    bad.assert_error(&["bad.yaml", "base-image-unpined", "line 2", "docs/lint.md"]);
    assert_eq!(bad.stdout, "");
    tree::write(tmp.path(), "binary/Dockerfile", [0xffu8, 0xfe, 0x00]);
    wharf()
        .current_dir(tmp.path())
        .args(["lint", "binary/Dockerfile"])
        .run()
        .assert_error(&["binary/Dockerfile", "not a text file"]);
    let empty = tempfile::tempdir().expect("tempdir");
    wharf()
        .current_dir(empty.path())
        .arg("lint")
        .run()
        .assert_error(&["no Dockerfile found in .", "wharf lint path/to/Dockerfile"]);
    wharf()
        .current_dir(empty.path())
        .args(["lint", "--platform", "linux/arm64"])
        .run()
        .assert_error(&["--platform", "--image"]);
}

#[test]
fn without_arguments_the_current_directory_is_walked_and_its_config_read() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = format!("sha256:{}", "c".repeat(64));
    let clean = format!("FROM alpine:3.20@{d}\nUSER 1\nHEALTHCHECK NONE\n");
    tree::write(tmp.path(), "Dockerfile", &clean);
    tree::write(
        tmp.path(),
        "svc/Containerfile",
        format!("{clean}ADD a /a\n"),
    );
    tree::write(
        tmp.path(),
        "svc/api.Dockerfile",
        format!("{clean}RUN sudo true\n"),
    );
    tree::write(tmp.path(), "svc/README.md", "FROM evil\n");
    tree::write(tmp.path(), "node_modules/x/Dockerfile", "FROM evil\n");
    let (code, report, describe) = lint_json(tmp.path(), &[]);
    assert_eq!(code, Some(0), "{describe}");
    assert_eq!(
        report["files"],
        serde_json::json!(["Dockerfile", "svc/Containerfile", "svc/api.Dockerfile"]),
        "{describe}"
    );
    let rules: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, vec!["add-instead-of-copy", "sudo"], "{describe}");

    // The config in the current directory turns rules off or up.
    tree::write(
        tmp.path(),
        ".wharf-lint.yaml",
        "rules:\n  sudo: error\n  add-instead-of-copy: off\n",
    );
    let (code, report, describe) = lint_json(tmp.path(), &[]);
    assert_eq!(code, Some(1), "{describe}");
    assert_eq!(report["summary"]["error"], 1, "{describe}");
    assert_eq!(
        report["findings"].as_array().unwrap().len(),
        1,
        "{describe}"
    );
}

#[test]
fn the_help_shows_the_usage_formats_and_exit_codes() {
    let out = wharf().args(["lint", "--help"]).run();
    out.assert_ok();
    for needle in [
        "Usage: wharf lint [DOCKERFILE|DIR]... [--format text|json|sarif] [--config FILE]",
        "[--image IMAGE [--platform OS/ARCH]] [-o FILE]",
        "# wharf-ignore RULE-ID -- why this is fine here",
        "Exit codes: 0 no error-level finding, 1 an error-level finding remains",
        "docs/lint.md",
    ] {
        assert!(
            out.stdout.contains(needle),
            "--help lacks {needle:?}\n{}",
            out.stdout
        );
    }
}

/// A minimal ELF64 executable whose `PT_INTERP` names `interp`.
fn elf(interp: &str) -> Vec<u8> {
    let mut out = vec![0u8; 64];
    out[..4].copy_from_slice(b"\x7fELF");
    out[4] = 2;
    out[5] = 1;
    out[6] = 1;
    out[16..18].copy_from_slice(&2u16.to_le_bytes());
    out[18..20].copy_from_slice(&62u16.to_le_bytes());
    out[32..40].copy_from_slice(&64u64.to_le_bytes());
    out[52..54].copy_from_slice(&64u16.to_le_bytes());
    out[54..56].copy_from_slice(&56u16.to_le_bytes());
    out[56..58].copy_from_slice(&1u16.to_le_bytes());
    let path = format!("{interp}\0");
    let mut ph = vec![0u8; 56];
    ph[..4].copy_from_slice(&3u32.to_le_bytes());
    ph[8..16].copy_from_slice(&120u64.to_le_bytes());
    ph[32..40].copy_from_slice(&(path.len() as u64).to_le_bytes());
    out.extend_from_slice(&ph);
    out.extend_from_slice(path.as_bytes());
    out.resize(4096, 0);
    out
}

enum Entry<'a> {
    File(&'a str, Vec<u8>, u32),
    Symlink(&'a str, &'a str),
}

fn layer(entries: &[Entry<'_>]) -> Layer {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mtime(0);
        match e {
            Entry::File(path, data, mode) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(*mode);
                h.set_size(data.len() as u64);
                b.append_data(&mut h, path, &data[..]).expect("file");
            }
            Entry::Symlink(path, target) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_mode(0o777);
                h.set_size(0);
                b.append_link(&mut h, path, target).expect("symlink");
            }
        }
    }
    Layer::gzip(&b.into_inner().expect("tar"))
}

#[test]
fn image_executables_need_their_elf_interpreter_in_the_image() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut layout = OciLayout::new(&tmp.path().join("layout"));
    let glibc = "/lib64/ld-linux-x86-64.so.2";
    // What `COPY --from=build /out/app /app` onto distroless/static makes:
    // a dynamically linked binary and no loader.
    let app = layer(&[
        Entry::File("app", elf(glibc), 0o755),
        Entry::File("usr/bin/helper", elf(glibc), 0o755),
        Entry::File("usr/share/doc/not-run", elf(glibc), 0o644),
    ]);
    layout.add_image_with(
        "broken",
        "linux",
        "amd64",
        "broken",
        std::slice::from_ref(&app),
    );
    // The same on a base with the loader (behind a symlink, as Debian has it).
    let base = layer(&[
        Entry::File(
            "lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
            b"loader".repeat(100),
            0o755,
        ),
        Entry::Symlink(
            "lib64/ld-linux-x86-64.so.2",
            "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
        ),
    ]);
    layout.add_image_with("fine", "linux", "amd64", "fine", &[base, app]);
    let image = |tag: &str| format!("oci:{}:{tag}", tmp.path().join("layout").display());

    let broken = wharf()
        .current_dir(tmp.path())
        .args(["lint", "--image", &image("broken")])
        .run();
    broken.assert_code(1);
    assert!(
        broken.stdout.contains(&format!(
            "error[missing-interpreter] 2 executable(s) need the interpreter {glibc}, which the image does not have: /app, /usr/bin/helper"
        )),
        "{}",
        broken.describe()
    );
    assert!(
        broken
            .stderr
            .contains("checked 2 dynamically linked executable(s)"),
        "{}",
        broken.describe()
    );

    let fine = wharf()
        .current_dir(tmp.path())
        .args(["lint", "--format", "json", "--image", &image("fine")])
        .run();
    fine.assert_ok();
    assert_eq!(
        fine.json()["findings"],
        serde_json::json!([]),
        "{}",
        fine.describe()
    );

    // With a Dockerfile, both are reported; image findings name the image.
    tree::write(
        tmp.path(),
        "Dockerfile",
        "FROM scratch\nCOPY app /app\nUSER 1\n",
    );
    let both = wharf()
        .current_dir(tmp.path())
        .args([
            "lint",
            "--format",
            "json",
            "--image",
            &image("broken"),
            "Dockerfile",
        ])
        .run();
    both.assert_code(1);
    let report = both.json();
    let files: BTreeSet<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    assert!(
        files.contains("Dockerfile") && files.contains(image("broken").as_str()),
        "{files:?}"
    );

    // An image that cannot be read is exit 2.
    wharf()
        .current_dir(tmp.path())
        .args(["lint", "--image", &image("absent")])
        .run()
        .assert_error(&["absent"]);
}

#[test]
fn image_scripts_need_their_interpreter_and_env_finds_programs_on_the_image_path() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut layout = OciLayout::new(&tmp.path().join("layout"));
    // `COPY entrypoint.sh /` onto distroless/static: no shell.
    let app = layer(&[
        Entry::File(
            "entrypoint.sh",
            b"#!/bin/sh\nexec /app \"$@\"\n".to_vec(),
            0o755,
        ),
        Entry::File("usr/bin/env", b"static".repeat(20), 0o755),
        Entry::File("opt/venv/bin/python3", b"static".repeat(20), 0o755),
        Entry::File(
            "healthcheck.py",
            b"#!/usr/bin/env python3\n".to_vec(),
            0o755,
        ),
    ]);
    layout.add_image_with_env("distroless", std::slice::from_ref(&app), &[]);
    let shell = layer(&[Entry::File("bin/sh", b"static".repeat(20), 0o755)]);
    layout.add_image_with_env(
        "venv",
        &[shell, app],
        &["LANG=C.UTF-8", "PATH=/opt/venv/bin:/usr/bin:/bin"],
    );
    let image = |tag: &str| format!("oci:{}:{tag}", tmp.path().join("layout").display());

    let out = wharf()
        .args(["lint", "--image", &image("distroless")])
        .run();
    out.assert_code(1);
    for line in [
        "error[missing-interpreter] 1 script(s) start with #!/bin/sh, which the image does not have: /entrypoint.sh",
        "error[missing-interpreter] 1 script(s) run python3 through /usr/bin/env, which no directory on the image's PATH (/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin) has: /healthcheck.py",
    ] {
        assert!(out.stdout.contains(line), "{line}\n{}", out.describe());
    }
    assert!(
        out.stderr
            .contains("checked 0 dynamically linked executable(s) and 2 script(s)"),
        "{}",
        out.describe()
    );

    // A shell, and the config's PATH leads env to the venv's python3.
    wharf()
        .current_dir(tmp.path())
        .args(["lint", "--image", &image("venv")])
        .run()
        .assert_ok();
}

#[test]
fn json_follows_its_documented_schema() {
    let schema_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/lint-report.schema.json");
    let schema: Value =
        serde_json::from_slice(&std::fs::read(&schema_path).expect("schema")).expect("JSON");
    // The schema names every rule, and only rules that exist.
    let listed: BTreeSet<&str> = schema["$defs"]["finding"]["properties"]["rule"]["enum"]
        .as_array()
        .expect("rule enum")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let rules: BTreeSet<&str> = wharf::lint::rules::RULES.iter().map(|r| r.id).collect();
    assert_eq!(
        listed, rules,
        "docs/lint-report.schema.json's rule ids drifted"
    );

    let dir = fixtures();
    let (_, report, _) = lint_json(&dir, &["rules", "golden", "clean"]);
    let (_, clean, _) = lint_json(&dir.join("clean"), &[]);
    assert!(
        report["findings"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f["ignored"].is_string())),
        "the corpus has a waived finding"
    );

    let Some(python) = python_with(
        "lint_json_follows_its_documented_schema",
        "check_jsonschema",
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut paths = Vec::new();
    for (name, doc) in [("report", &report), ("clean", &clean)] {
        let path = tmp.path().join(format!("{name}.json"));
        std::fs::write(&path, doc.to_string()).expect("write");
        paths.push(path);
    }
    if let Err(output) = check(&python, &schema_path, &[], &paths) {
        panic!("lint's JSON does not follow docs/lint-report.schema.json:\n{output}");
    }
    // Strict enough to notice drift.
    let mut undocumented = report.clone();
    undocumented["findings"][0]["column"] = 1.into();
    let mut unknown_rule = report.clone();
    unknown_rule["findings"][0]["rule"] = "no-such-rule".into();
    for (name, doc) in [("undocumented", undocumented), ("unknown", unknown_rule)] {
        let path = tmp.path().join(format!("{name}.json"));
        std::fs::write(&path, doc.to_string()).expect("write");
        assert!(
            check(&python, &schema_path, &[], &[path]).is_err(),
            "the schema accepted the {name} report"
        );
    }
}
