//! `action.yml`, the GitHub composite action, and `examples/github/`.
//!
//! GitHub itself cannot run here, so the action is checked three ways:
//! - statically: GitHub's schemas (check-jsonschema's vendored copies) and
//!   zizmor's offline audits accept it and the example workflow; no script
//!   contains a `${{ }}` expression; every input reaches a script through
//!   `env:`; the outputs are exactly the GitHub outputs docs/run.md promises;
//! - by running its shell steps with bash as the runner does (`bash
//!   --noprofile --norc -eo pipefail FILE`, the step's `env:` evaluated,
//!   `GITHUB_PATH` applied between steps) in a fake job: `GITHUB_*` and
//!   `RUNNER_*` files and directories in a temp dir, a fake `wharf` that
//!   records its argv and a fake `cargo`, and a local "release" served as
//!   `file://` URLs through the `release-base-url` input;
//! - `scripts/release-checksums.sh`, which writes the action's checksum
//!   table at release, on fake release assets.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::sbom_writers::python_with;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

// ---------------------------------------------------------------------------
// action.yml, as far as the tests need it

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Action {
    inputs: BTreeMap<String, Input>,
    outputs: BTreeMap<String, ActionOutput>,
    runs: Runs,
}

#[derive(Debug, Deserialize)]
struct Input {
    #[serde(default)]
    default: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ActionOutput {
    value: String,
}

#[derive(Debug, Deserialize)]
struct Runs {
    using: String,
    steps: Vec<Step>,
}

#[derive(Debug, Deserialize)]
struct Step {
    id: Option<String>,
    shell: Option<String>,
    run: Option<String>,
    uses: Option<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
}

fn action() -> Action {
    let text = std::fs::read_to_string(repo().join("action.yml")).expect("read action.yml");
    serde_yaml::from_str(&text).expect("action.yml parses")
}

/// The name inside `${{ inputs.NAME }}` or `${{ github.NAME }}`, the only
/// expressions a step's `env:` may hold.
fn expression(value: &str) -> Option<(&str, &str)> {
    let inner = value.strip_prefix("${{ ")?.strip_suffix(" }}")?;
    let (context, name) = inner.split_once('.')?;
    (matches!(context, "inputs" | "github")
        && !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '-' || c == '_'))
    .then_some((context, name))
}

// ---------------------------------------------------------------------------
// A fake job: the runner's files and directories, and fake tools

/// Where the runner's tools come from in the fake job; the job's own
/// environment is cleared so nothing of the test machine leaks in.
const SYSTEM_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

struct Job {
    _root: tempfile::TempDir,
    root: PathBuf,
    /// `GITHUB_ACTION_PATH`: action.yml and the checksum table.
    action: PathBuf,
    /// `RUNNER_TEMP`.
    temp: PathBuf,
    /// `GITHUB_WORKSPACE`, where steps start.
    workspace: PathBuf,
    /// Fake tools, first on `PATH`.
    tools: PathBuf,
    inputs: BTreeMap<String, String>,
    os: &'static str,
    arch: &'static str,
    /// `${{ github.action_repository }}`: empty for `uses: ./`.
    action_repository: String,
    /// `GITHUB_SERVER_URL`.
    server_url: String,
}

/// What one step did.
#[derive(Debug)]
struct StepRun {
    id: String,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl StepRun {
    fn describe(&self) -> String {
        format!(
            "step `{}` exited with {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.id, self.code, self.stdout, self.stderr
        )
    }

    /// The `::error` workflow commands the step printed.
    fn errors(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .filter(|l| l.starts_with("::error"))
            .collect()
    }
}

impl Job {
    fn new() -> Job {
        let dir = tempfile::Builder::new()
            .prefix("wharf-action-")
            .tempdir()
            .expect("temp dir");
        let root = dir.path().to_path_buf();
        let action = root.join("action");
        let temp = root.join("runner-temp");
        let workspace = root.join("workspace");
        let tools = root.join("tools");
        for d in [&action, &temp, &workspace, &tools, &root.join("home")] {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        std::fs::create_dir_all(action.join(".github")).expect("mkdir");
        std::fs::copy(repo().join("action.yml"), action.join("action.yml")).expect("copy");
        std::fs::copy(
            repo().join(".github/wharf-checksums.txt"),
            action.join(".github/wharf-checksums.txt"),
        )
        .expect("copy the checksum table");
        for f in ["output", "path", "env", "summary"] {
            std::fs::write(root.join(f), "").expect("write");
        }
        Job {
            _root: dir,
            root,
            action,
            temp,
            workspace,
            tools,
            inputs: BTreeMap::new(),
            os: "Linux",
            arch: "X64",
            action_repository: String::new(),
            server_url: "https://github.com".to_string(),
        }
    }

    fn input(&mut self, name: &str, value: &str) -> &mut Job {
        self.inputs.insert(name.to_string(), value.to_string());
        self
    }

    fn table(&self) -> PathBuf {
        self.action.join(".github/wharf-checksums.txt")
    }

    /// The lines steps wrote to `GITHUB_PATH`.
    fn github_path(&self) -> Vec<String> {
        std::fs::read_to_string(self.root.join("path"))
            .expect("read GITHUB_PATH")
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// A fake `wharf` on PATH (or at `at`) that records its argv
    /// (NUL-separated: arguments may hold newlines) and working directory.
    fn fake_wharf_script(&self) -> String {
        let record = self.root.join("record");
        format!(
            "#!/bin/bash\n\
             if [ \"$1\" = --version ]; then echo 'wharf 0.0.0 (fake)'; exit 0; fi\n\
             pwd >'{record}.cwd'\n\
             printf '%s\\0' \"$@\" >'{record}.argv'\n",
            record = record.display()
        )
    }

    fn install_fake_wharf(&self) {
        write_executable(&self.tools.join("wharf"), &self.fake_wharf_script());
    }

    /// The argv the fake wharf was run with, `None` if it never ran.
    fn wharf_argv(&self) -> Option<Vec<String>> {
        let bytes = std::fs::read(self.root.join("record.argv")).ok()?;
        let text = String::from_utf8(bytes).expect("argv is UTF-8");
        let mut args: Vec<String> = text.split('\0').map(str::to_string).collect();
        assert_eq!(args.pop().as_deref(), Some(""), "argv ends with a NUL");
        Some(args)
    }

    fn wharf_cwd(&self) -> PathBuf {
        let text = std::fs::read_to_string(self.root.join("record.cwd")).expect("cwd recorded");
        PathBuf::from(text.trim_end_matches('\n'))
    }

    /// The value a step's `env:` entry evaluates to in this job.
    fn evaluate(&self, action: &Action, value: &str) -> String {
        match expression(value) {
            Some(("inputs", name)) => {
                let input = action
                    .inputs
                    .get(name)
                    .unwrap_or_else(|| panic!("`{value}` names no input of action.yml"));
                self.inputs
                    .get(name)
                    .cloned()
                    .or_else(|| input.default.clone())
                    .unwrap_or_default()
            }
            Some(("github", "action_repository")) => self.action_repository.clone(),
            _ => panic!("the fake job cannot evaluate `{value}`"),
        }
    }

    /// Runs the action's steps in order as the runner does, up to the first
    /// that fails: each with its `env:`, `GITHUB_PATH` entries prepended to
    /// PATH for the steps after the one that wrote them.
    fn run(&self) -> Vec<StepRun> {
        let action = action();
        let mut runs = Vec::new();
        for (index, step) in action.runs.steps.iter().enumerate() {
            let id = step.id.clone().unwrap_or_else(|| index.to_string());
            let script = step
                .run
                .as_ref()
                .unwrap_or_else(|| panic!("step {id} is not a run step"));
            assert_eq!(step.shell.as_deref(), Some("bash"), "step {id}'s shell");
            let file = self.root.join(format!("step-{index}.sh"));
            std::fs::write(&file, script).expect("write script");

            let mut path: Vec<String> = self.github_path();
            path.reverse();
            path.push(self.tools.display().to_string());
            path.push(SYSTEM_PATH.to_string());

            let mut cmd = Command::new("bash");
            cmd.args(["--noprofile", "--norc", "-eo", "pipefail"])
                .arg(&file)
                .env_clear()
                .current_dir(&self.workspace)
                .env("PATH", path.join(":"))
                .env("HOME", self.root.join("home"))
                .env("CI", "true")
                .env("GITHUB_ACTIONS", "true")
                .env("GITHUB_REPOSITORY", "wharf-test/app")
                .env("GITHUB_SERVER_URL", &self.server_url)
                .env("GITHUB_WORKSPACE", &self.workspace)
                .env("GITHUB_ACTION_PATH", &self.action)
                .env("GITHUB_OUTPUT", self.root.join("output"))
                .env("GITHUB_PATH", self.root.join("path"))
                .env("GITHUB_ENV", self.root.join("env"))
                .env("GITHUB_STEP_SUMMARY", self.root.join("summary"))
                .env("RUNNER_OS", self.os)
                .env("RUNNER_ARCH", self.arch)
                .env("RUNNER_TEMP", &self.temp);
            for (key, value) in &step.env {
                cmd.env(key, self.evaluate(&action, value));
            }
            let run = run_with_deadline(cmd, &id, Duration::from_secs(60));
            let failed = run.code != Some(0);
            runs.push(run);
            if failed {
                break;
            }
        }
        runs
    }

    /// [`Job::run`], which must fail in the step `id` with one `::error`.
    #[track_caller]
    fn run_failing(&self, id: &str) -> StepRun {
        let mut runs = self.run();
        let last = runs.pop().expect("a step ran");
        assert_eq!(last.id, id, "the step that failed\n{}", last.describe());
        assert_ne!(last.code, Some(0), "{}", last.describe());
        assert_eq!(last.errors().len(), 1, "one ::error\n{}", last.describe());
        last
    }

    /// [`Job::run`], which must succeed.
    #[track_caller]
    fn run_ok(&self) -> Vec<StepRun> {
        let runs = self.run();
        for run in &runs {
            assert_eq!(run.code, Some(0), "{}", run.describe());
        }
        assert_eq!(runs.len(), action().runs.steps.len());
        runs
    }

    /// No file named `pwned*` appeared anywhere in the job: no input value
    /// was ever run as shell code.
    #[track_caller]
    fn assert_nothing_executed(&self) {
        for entry in walkdir::WalkDir::new(&self.root) {
            let entry = entry.expect("walk");
            assert!(
                !entry.file_name().to_string_lossy().starts_with("pwned"),
                "an input was executed: {}",
                entry.path().display()
            );
        }
    }
}

fn write_executable(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::write(path, text).expect("write");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

fn run_with_deadline(mut cmd: Command, id: &str, deadline: Duration) -> StepRun {
    let out = tempfile::tempdir().expect("temp dir");
    let (stdout, stderr) = (out.path().join("stdout"), out.path().join("stderr"));
    cmd.stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).expect("stdout"))
        .stderr(std::fs::File::create(&stderr).expect("stderr"));
    let start = Instant::now();
    let mut child = cmd.spawn().expect("start bash");
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("step {id} did not finish within {deadline:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let read =
        |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
    StepRun {
        id: id.to_string(),
        code: status.code(),
        stdout: read(&stdout),
        stderr: read(&stderr),
    }
}

// ---------------------------------------------------------------------------
// A fake release: archives as the release contract in
// scripts/release-checksums.sh describes them

const TARGET: &str = "x86_64-unknown-linux-gnu";

/// `wharf-VERSION-TARGET.tar.gz` holding `wharf-VERSION-TARGET/wharf`.
fn release_archive(version: &str, target: &str, wharf: &str) -> Vec<u8> {
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    let mut header = tar::Header::new_gnu();
    header.set_size(wharf.len() as u64);
    header.set_mode(0o755);
    header.set_mtime(0);
    header.set_cksum();
    builder
        .append_data(
            &mut header,
            format!("wharf-{version}-{target}/wharf"),
            wharf.as_bytes(),
        )
        .expect("tar");
    builder.into_inner().expect("tar").finish().expect("gzip")
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Writes the archive and its `.sha256` sidecar (sha256sum's format) into
/// `dir/VERSION/`, as a release's download URLs lay them out; returns the
/// archive's path.
fn publish(dir: &Path, version: &str, target: &str, archive: &[u8]) -> PathBuf {
    let dir = dir.join(version);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let name = format!("wharf-{version}-{target}.tar.gz");
    std::fs::write(dir.join(&name), archive).expect("write archive");
    std::fs::write(
        dir.join(format!("{name}.sha256")),
        format!("{}  {name}\n", sha256_hex(archive)),
    )
    .expect("write sha256");
    dir.join(name)
}

fn release_checksums(version: &str, dir: &Path, table: &Path) -> crate::common::Output {
    let start = Instant::now();
    let out = Command::new("bash")
        .arg(repo().join("scripts/release-checksums.sh"))
        .arg(version)
        .arg(dir)
        .arg(table)
        .output()
        .expect("run release-checksums.sh");
    crate::common::Output {
        command: format!("release-checksums.sh {version} {}", dir.display()),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: start.elapsed(),
    }
}

/// The entries (not comments) of a checksum table.
fn entries(table: &Path) -> Vec<String> {
    std::fs::read_to_string(table)
        .expect("read table")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

// ---------------------------------------------------------------------------
// Static checks

/// The workflows in examples/github/.
/// The workflows the repository ships: the examples, and wharf's own
/// (`.github/workflows/`, the release).
fn example_workflows() -> Vec<PathBuf> {
    let mut examples = Vec::new();
    for dir in ["examples/github", ".github/workflows"] {
        let found: Vec<PathBuf> = std::fs::read_dir(repo().join(dir))
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
            .collect();
        assert!(!found.is_empty(), "{dir} holds a workflow");
        examples.extend(found);
    }
    examples.sort();
    examples
}

/// The release workflow builds exactly the assets action.yml installs and
/// scripts/release-checksums.sh tabulates: the same targets, the same
/// names, a sha256 sidecar each.
#[test]
fn the_release_workflow_builds_what_the_action_installs() {
    let text =
        std::fs::read_to_string(repo().join(".github/workflows/release.yml")).expect("release.yml");
    let workflow: Value = serde_yaml::from_str(&text).expect("YAML");
    let built: BTreeSet<String> = workflow["jobs"]["build"]["strategy"]["matrix"]["include"]
        .as_array()
        .expect("a build matrix")
        .iter()
        .map(|m| m["target"].as_str().expect("target").to_string())
        .collect();
    let action = std::fs::read_to_string(repo().join("action.yml")).expect("action.yml");
    let installed: BTreeSet<String> = action
        .lines()
        .filter_map(|l| l.split_once(") target=").map(|(_, t)| t))
        .map(|t| t.trim_end_matches(" ;;").trim().to_string())
        .collect();
    assert_eq!(
        built, installed,
        "release.yml's targets are not action.yml's"
    );
    let script = std::fs::read_to_string(repo().join("scripts/release-checksums.sh"))
        .expect("release-checksums.sh");
    let listed: BTreeSet<String> = script
        .lines()
        .find_map(|l| l.strip_prefix("targets=("))
        .expect("the script's targets")
        .trim_end_matches(')')
        .split_whitespace()
        .map(str::to_string)
        .collect();
    assert_eq!(built, listed, "release.yml's targets are not the script's");
    let script = workflow["jobs"]["build"]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect::<Vec<_>>()
        .join("\n");
    for needle in [
        r#"name="wharf-$TAG-$TARGET""#,
        r#"cp "target/$TARGET/release/wharf" "dist/$name/wharf""#,
        r#"tar -C dist -czf "dist/$name.tar.gz" "$name""#,
        r#">"$name.tar.gz.sha256""#,
    ] {
        assert!(
            script.contains(needle),
            "release.yml no longer has {needle}"
        );
    }
}

#[test]
fn action_yml_matches_githubs_action_schema_and_the_example_the_workflow_schema() {
    let Some(python) = python_with(
        "action_yml_matches_githubs_action_schema_and_the_example_the_workflow_schema",
        "check_jsonschema",
    ) else {
        return;
    };
    let examples = example_workflows();
    for (schema, files) in [
        ("vendor.github-actions", vec![repo().join("action.yml")]),
        ("vendor.github-workflows", examples),
    ] {
        let out = Command::new(&python)
            .args(["-m", "check_jsonschema", "--builtin-schema", schema])
            .args(&files)
            .output()
            .expect("run check-jsonschema");
        assert!(
            out.status.success(),
            "{schema} rejects {files:?}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn zizmor_finds_nothing_in_the_action_and_the_example() {
    let Some(python) = python_with("zizmor_finds_nothing_in_the_action_and_the_example", "sys")
    else {
        return;
    };
    let zizmor = python.with_file_name("zizmor");
    if !zizmor.is_file() {
        println!(
            "skipping zizmor_finds_nothing_in_the_action_and_the_example: no {} \
             (.ci/run installs zizmor into the venv)",
            zizmor.display()
        );
        return;
    }
    // Files, not the directory: given a directory, zizmor collects only
    // what GitHub would run there (.github/workflows/, action.yml).
    let mut inputs = vec!["action.yml".to_string()];
    inputs.extend(example_workflows().iter().map(|p| {
        p.strip_prefix(repo())
            .expect("under the repo")
            .display()
            .to_string()
    }));
    let out = Command::new(&zizmor)
        .args(["--offline", "--no-progress", "--format", "plain"])
        .args(&inputs)
        .current_dir(repo())
        .output()
        .expect("run zizmor");
    // 0: no findings (those ignored inline, each with its reason, do not
    // count); 10 and up: findings; 1 and others: zizmor failed.
    assert!(
        out.status.success(),
        "zizmor exited with {:?}:\n{}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    for input in &inputs {
        assert!(
            stderr.contains(&format!("completed {input}")),
            "zizmor did not audit {input}:\n{stderr}"
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("No findings"), "{stdout}");
}

#[test]
fn scripts_hold_no_expressions_and_every_input_reaches_a_step_through_env() {
    let action = action();
    assert_eq!(action.runs.using, "composite");
    let mut used = std::collections::BTreeSet::new();
    for step in &action.runs.steps {
        let id = step.id.as_deref().unwrap_or("?");
        // No other action is used: there is nothing to pin.
        assert!(step.uses.is_none(), "step {id} uses {:?}", step.uses);
        let script = step.run.as_deref().unwrap_or_default();
        assert!(
            !script.contains("${{"),
            "step {id} has an expression in its script: values must come through env:"
        );
        for (key, value) in &step.env {
            match expression(value) {
                Some(("inputs", name)) => {
                    assert!(
                        action.inputs.contains_key(name),
                        "step {id}: {key} names no input"
                    );
                    used.insert(name.to_string());
                }
                Some(("github", "action_repository")) => {}
                _ => panic!("step {id}: {key}: `{value}` is not a single input or context"),
            }
        }
    }
    let declared: std::collections::BTreeSet<String> = action.inputs.keys().cloned().collect();
    assert_eq!(used, declared, "inputs no step receives");
    for name in action.inputs.keys() {
        assert!(
            name.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
            "input {name} is not kebab-case"
        );
    }
}

/// The outputs named in docs/run.md's GitHub row (`$GITHUB_OUTPUT`: ...).
fn documented_outputs() -> Vec<String> {
    let text = std::fs::read_to_string(repo().join("docs/run.md")).expect("docs/run.md");
    let row = text
        .lines()
        .find(|l| l.starts_with("| GitHub Actions"))
        .expect("docs/run.md has a GitHub Actions row");
    let list = row
        .split_once("`$GITHUB_OUTPUT`:")
        .and_then(|(_, rest)| rest.split_once("; multi-line"))
        .expect("the row lists the $GITHUB_OUTPUT outputs")
        .0;
    list.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

#[test]
fn outputs_are_the_ones_docs_run_md_promises_from_the_run_step() {
    let action = action();
    let documented = documented_outputs();
    assert!(documented.len() >= 10, "{documented:?}");
    let declared: Vec<String> = action.outputs.keys().cloned().collect();
    let mut sorted = documented.clone();
    sorted.sort();
    assert_eq!(declared, sorted);
    for (name, output) in &action.outputs {
        assert_eq!(output.value, format!("${{{{ steps.run.outputs.{name} }}}}"));
    }
    assert!(action
        .runs
        .steps
        .iter()
        .any(|s| s.id.as_deref() == Some("run")));
}

#[test]
fn the_example_pins_every_action_by_commit_sha_with_its_tag() {
    for path in example_workflows() {
        let text = std::fs::read_to_string(&path).expect("read");
        for line in text.lines() {
            let Some(uses) = line
                .trim_start()
                .trim_start_matches("- ")
                .strip_prefix("uses: ")
            else {
                continue;
            };
            if uses.starts_with("./") {
                continue;
            }
            let (reference, comment) = uses.split_once(" # ").unwrap_or((uses, ""));
            let sha = reference.rsplit_once('@').map(|(_, s)| s).unwrap_or("");
            assert!(
                sha.len() == 40 && sha.chars().all(|c| c.is_ascii_hexdigit()),
                "{}: `{uses}` is not pinned by commit SHA",
                path.display()
            );
            assert!(
                comment.starts_with('v'),
                "{}: `{uses}` has no tag comment",
                path.display()
            );
        }
    }
}

// ---------------------------------------------------------------------------
// The install step

#[test]
fn install_fails_clearly_for_a_version_the_table_does_not_list() {
    require_tools!("bash");
    let mut job = Job::new();
    job.install_fake_wharf();
    job.input("version", "0.1.0");
    let step = job.run_failing("install");
    let error = step.errors()[0];
    assert!(
        error.contains("no verified wharf binary for version v0.1.0 on Linux/X64"),
        "{error}"
    );
    assert!(
        error.contains("Use install: source to build wharf from the action's source"),
        "{error}"
    );
    assert!(job.github_path().is_empty());
    assert_eq!(job.wharf_argv(), None, "wharf ran after a failed install");

    // No version: the newest the table lists, and the table lists none.
    let job = Job::new();
    job.install_fake_wharf();
    let error = job.run_failing("install").errors()[0].to_string();
    assert!(
        error.contains("no verified wharf binary for Linux/X64"),
        "{error}"
    );
    assert!(error.contains("install: source"), "{error}");

    // A platform releases are not built for.
    let mut job = Job::new();
    job.os = "Windows";
    job.input("version", "0.1.0");
    let error = job.run_failing("install").errors()[0].to_string();
    assert!(error.contains("no binary for Windows/X64"), "{error}");
    assert!(error.contains("install: source"), "{error}");

    // Not a release number: refused before it reaches a URL or a path, and
    // quoted in the message without starting a workflow command of its own.
    let mut job = Job::new();
    job.input("version", "1.0.0/../x $(touch pwned)\n::add-mask::x");
    let step = job.run_failing("install");
    let error = step.errors()[0];
    assert!(
        error.contains("version must be a release number"),
        "{error}"
    );
    assert!(error.contains("%0A::add-mask::x"), "{error}");
    assert!(!step.stdout.contains("\n::add-mask"), "{}", step.stdout);
    job.assert_nothing_executed();

    let mut job = Job::new();
    job.input("install", "binary");
    let error = job.run_failing("install").errors()[0].to_string();
    assert!(
        error.contains("install must be release or source, not 'binary'"),
        "{error}"
    );
}

#[test]
fn install_rejects_a_binary_whose_sha256_is_not_the_tables() {
    require_tools!("bash", "curl", "tar", "sha256sum");
    let mut job = Job::new();
    let release = job.root.join("release");
    let archive = release_archive("v9.9.9", TARGET, &job.fake_wharf_script());
    let served = publish(&release, "v9.9.9", TARGET, &archive);
    release_checksums("9.9.9", &release.join("v9.9.9"), &job.table()).assert_code(0);

    // What the mirror serves is not what was released.
    let tampered = release_archive(
        "v9.9.9",
        TARGET,
        "#!/bin/bash\ntouch \"$HOME/pwned-by-tampered-binary\"\n",
    );
    std::fs::write(&served, &tampered).expect("tamper");
    job.input("version", "v9.9.9")
        .input("release-base-url", &format!("file://{}", release.display()));
    let step = job.run_failing("install");
    let error = step.errors()[0];
    assert!(error.contains("checksum mismatch"), "{error}");
    assert!(error.contains(&sha256_hex(&tampered)), "{error}");
    assert!(error.contains(&sha256_hex(&archive)), "{error}");
    assert!(error.contains("nothing was installed"), "{error}");
    assert!(job.github_path().is_empty());
    assert!(!job.temp.join("wharf/v9.9.9/bin/wharf").exists());
    job.assert_nothing_executed();
}

#[test]
fn install_puts_the_verified_release_on_path_for_the_run_step() {
    require_tools!("bash", "curl", "tar", "sha256sum");
    let mut job = Job::new();
    let release = job.root.join("release");
    let wharf = job.fake_wharf_script();
    for version in ["v9.9.9", "v9.10.0", "v9.11.0-rc.1"] {
        let archive = release_archive(version, TARGET, &wharf);
        publish(&release, version, TARGET, &archive);
        release_checksums(version, &release.join(version), &job.table()).assert_code(0);
    }
    // No wharf on PATH but the installed one.
    job.input(
        "release-base-url",
        &format!("file://{}/", release.display()),
    )
    .input("image", "ghcr.io/acme/app:1.0");
    let runs = job.run_ok();
    // The newest release, not a pre-release (sort -V, not sort).
    let bin = job.temp.join("wharf/v9.10.0/bin");
    assert_eq!(job.github_path(), vec![bin.display().to_string()]);
    assert!(runs[0].stdout.contains("wharf 0.0.0 (fake)"), "{runs:?}");
    assert_eq!(
        job.wharf_argv().expect("the installed wharf ran"),
        ["run", "--", "ghcr.io/acme/app:1.0"]
    );

    // A pre-release by name.
    let mut job2 = Job::new();
    std::fs::copy(job.table(), job2.table()).expect("copy table");
    job2.input("version", "9.11.0-rc.1")
        .input("release-base-url", &format!("file://{}", release.display()));
    job2.run_ok();
    assert_eq!(
        job2.github_path(),
        vec![job2
            .temp
            .join("wharf/v9.11.0-rc.1/bin")
            .display()
            .to_string()]
    );

    // No release-base-url: the action's own releases on the job's GitHub,
    // SERVER/OWNER/REPO/releases/download/vVERSION/ASSET (a file:// server
    // here, so the default URL is checked without a network).
    let mut job3 = Job::new();
    std::fs::copy(job.table(), job3.table()).expect("copy table");
    let server = job3.root.join("server");
    let download = server.join("wharf-dev/wharf/releases/download");
    std::fs::create_dir_all(&download).expect("mkdir");
    std::fs::rename(release.join("v9.10.0"), download.join("v9.10.0")).expect("move");
    job3.server_url = format!("file://{}", server.display());
    job3.action_repository = "wharf-dev/wharf".to_string();
    job3.run_ok();
    assert_eq!(
        job3.github_path(),
        vec![job3.temp.join("wharf/v9.10.0/bin").display().to_string()]
    );
}

/// A fake `cargo` on PATH: records its argv (one per line) in
/// `cargo.argv` and installs the fake wharf into `--root`'s `bin`.
fn install_fake_cargo(job: &Job) -> PathBuf {
    let record = job.root.join("cargo.argv");
    write_executable(
        &job.tools.join("cargo"),
        &format!(
            "#!/bin/bash\n\
             printf '%s\\n' \"$@\" >'{record}'\n\
             while [ $# -gt 0 ]; do [ \"$1\" = --root ] && root=$2; shift; done\n\
             mkdir -p \"$root/bin\"\n\
             cat >\"$root/bin/wharf\" <<'EOF'\n{wharf}EOF\n\
             chmod 755 \"$root/bin/wharf\"\n",
            record = record.display(),
            wharf = job.fake_wharf_script()
        ),
    );
    record
}

#[test]
fn install_source_runs_cargo_install_locked_on_the_action_path() {
    require_tools!("bash");
    let mut job = Job::new();
    let record = install_fake_cargo(&job);
    job.input("install", "source").input("version", "0.1.0");
    let runs = job.run_ok();
    let root = job.temp.join("wharf/source");
    let argv = std::fs::read_to_string(&record).expect("cargo ran");
    assert_eq!(
        argv.lines().collect::<Vec<_>>(),
        [
            "install",
            "--locked",
            "--path",
            &job.action.display().to_string(),
            "--root",
            &root.display().to_string()
        ]
    );
    assert_eq!(
        job.github_path(),
        vec![root.join("bin").display().to_string()]
    );
    // `version` does not apply to a source build, and the step says so.
    assert!(
        runs[0]
            .stdout
            .contains("::warning title=wharf::version '0.1.0' is ignored with install: source"),
        "{}",
        runs[0].describe()
    );
    assert_eq!(job.wharf_argv().expect("wharf ran"), ["run"]);
}

#[test]
fn github_attestations_must_be_true_or_false() {
    require_tools!("bash");
    let mut job = Job::new();
    job.input("github-attestations", "yes");
    let error = job.run_failing("install").errors()[0].to_string();
    assert!(
        error.contains("github-attestations must be true or false, not 'yes'"),
        "{error}"
    );
    assert!(job.github_path().is_empty());
    assert_eq!(job.wharf_argv(), None);
}

// ---------------------------------------------------------------------------
// The run step

/// A job whose install step builds the fake wharf from "source" (a fake
/// cargo), so the tests below exercise the run step.
fn job_with_wharf() -> Job {
    let mut job = Job::new();
    install_fake_cargo(&job);
    job.input("install", "source");
    job
}

#[test]
fn run_step_passes_hostile_inputs_as_single_arguments() {
    require_tools!("bash");
    let mut job = job_with_wharf();
    let workdir = "sub dir $(touch pwned-cd)";
    std::fs::create_dir_all(job.workspace.join(workdir)).expect("mkdir");
    job.input("image", "--print-config\n$(touch pwned-image)")
        .input("config", "my config.yaml")
        .input("output-dir", "out dir `touch pwned-out`")
        .input("fail-on", "high; touch pwned-fail")
        .input("db", "$(touch pwned-db)")
        .input("key", "-k\"ey'")
        .input(
            "promote",
            "deploy/values one.yaml\n\n$HOME/x.yaml\r\n`touch pwned-promote`\n",
        )
        .input(
            "args",
            "--output-json\nsummary with space.json\n  leading space\n'quoted'\n",
        )
        .input("working-directory", workdir);
    job.run_ok();
    assert_eq!(
        job.wharf_argv().expect("wharf ran"),
        [
            "run",
            "--config=my config.yaml",
            "--output-dir=out dir `touch pwned-out`",
            "--fail-on=high; touch pwned-fail",
            "--db=$(touch pwned-db)",
            "--key=-k\"ey'",
            "--promote=deploy/values one.yaml",
            "--promote=$HOME/x.yaml",
            "--promote=`touch pwned-promote`",
            "--output-json",
            "summary with space.json",
            "  leading space",
            "'quoted'",
            "--",
            "--print-config\n$(touch pwned-image)",
        ]
    );
    assert_eq!(job.wharf_cwd(), job.workspace.join(workdir));
    job.assert_nothing_executed();
}

#[test]
fn run_step_with_defaults_leaves_everything_to_the_config() {
    require_tools!("bash");
    let job = job_with_wharf();
    job.run_ok();
    assert_eq!(job.wharf_argv().expect("wharf ran"), ["run"]);
    assert_eq!(job.wharf_cwd(), job.workspace);

    let mut job = job_with_wharf();
    job.input("promote", "false");
    job.run_ok();
    assert_eq!(
        job.wharf_argv().expect("wharf ran"),
        ["run", "--no-promote"]
    );

    let mut job = job_with_wharf();
    job.input("github-attestations", "true");
    job.run_ok();
    assert_eq!(
        job.wharf_argv().expect("wharf ran"),
        ["run", "--github-attestations"]
    );

    let mut job = job_with_wharf();
    job.input("working-directory", "missing");
    let error = job.run_failing("run").errors()[0].to_string();
    assert!(
        error.contains("working-directory 'missing' cannot be entered"),
        "{error}"
    );
    assert_eq!(job.wharf_argv(), None);
}

// ---------------------------------------------------------------------------
// scripts/release-checksums.sh

#[test]
fn release_checksums_writes_the_table_from_the_release_sha256_files() {
    require_tools!("bash", "sha256sum");
    let dir = tempfile::tempdir().expect("temp dir");
    let release = dir.path().join("release");
    let table = dir.path().join("table.txt");
    std::fs::copy(repo().join(".github/wharf-checksums.txt"), &table).expect("copy");
    let header = std::fs::read_to_string(&table).expect("read");

    let linux = release_archive("v1.2.0", TARGET, "linux");
    let mac = release_archive("v1.2.0", "aarch64-apple-darwin", "mac");
    publish(&release, "v1.2.0", TARGET, &linux);
    publish(&release, "v1.2.0", "aarch64-apple-darwin", &mac);
    let out = release_checksums("1.2.0", &release.join("v1.2.0"), &table);
    out.assert_code(0);
    // The release lacks two targets: said, not fatal.
    assert!(
        out.stderr
            .contains("no binary for aarch64-unknown-linux-gnu"),
        "{}",
        out.describe()
    );
    let text = std::fs::read_to_string(&table).expect("read");
    assert!(text.starts_with(&header), "the header stays:\n{text}");
    assert_eq!(
        entries(&table),
        [
            format!(
                "{}  wharf-v1.2.0-aarch64-apple-darwin.tar.gz",
                sha256_hex(&mac)
            ),
            format!("{}  wharf-v1.2.0-{TARGET}.tar.gz", sha256_hex(&linux)),
        ]
    );
    // Again: the same bytes.
    release_checksums("v1.2.0", &release.join("v1.2.0"), &table).assert_code(0);
    assert_eq!(std::fs::read_to_string(&table).expect("read"), text);

    // Only the sha256 files (the archives not downloaded): enough.
    let sums_only = dir.path().join("sums-only");
    std::fs::create_dir_all(&sums_only).expect("mkdir");
    let next = release_archive("v1.3.0", TARGET, "linux 1.3");
    publish(&release, "v1.3.0", TARGET, &next);
    let name = format!("wharf-v1.3.0-{TARGET}.tar.gz.sha256");
    std::fs::copy(release.join("v1.3.0").join(&name), sums_only.join(&name)).expect("copy");
    release_checksums("1.3.0", &sums_only, &table).assert_code(0);
    // Earlier releases stay.
    assert_eq!(entries(&table).len(), 3, "{:?}", entries(&table));
    assert!(entries(&table).contains(&format!(
        "{}  wharf-v1.3.0-{TARGET}.tar.gz",
        sha256_hex(&next)
    )));
}

#[test]
fn release_checksums_refuses_inconsistent_assets_and_leaves_the_table() {
    require_tools!("bash", "sha256sum");
    let dir = tempfile::tempdir().expect("temp dir");
    let release = dir.path().join("release");
    let table = dir.path().join("table.txt");
    std::fs::copy(repo().join(".github/wharf-checksums.txt"), &table).expect("copy");
    let before = std::fs::read(&table).expect("read");

    // An archive that is not what its sha256 file says.
    let archive = publish(
        &release,
        "v2.0.0",
        TARGET,
        &release_archive("v2.0.0", TARGET, "a"),
    );
    std::fs::write(&archive, release_archive("v2.0.0", TARGET, "b")).expect("write");
    let out = release_checksums("2.0.0", &release.join("v2.0.0"), &table);
    out.assert_code(2);
    assert!(
        out.stderr.contains("has sha256") && out.stderr.contains("says"),
        "{}",
        out.describe()
    );
    assert_eq!(std::fs::read(&table).expect("read"), before);

    // A target the action does not know.
    publish(
        &release,
        "v2.1.0",
        "riscv64gc-unknown-linux-gnu",
        &release_archive("v2.1.0", "riscv64gc-unknown-linux-gnu", "r"),
    );
    let out = release_checksums("2.1.0", &release.join("v2.1.0"), &table);
    out.assert_code(2);
    assert!(
        out.stderr.contains("for no target the action knows"),
        "{}",
        out.describe()
    );

    // Not a sha256.
    let v3 = release.join("v2.2.0");
    std::fs::create_dir_all(&v3).expect("mkdir");
    let mut f = std::fs::File::create(v3.join(format!("wharf-v2.2.0-{TARGET}.tar.gz.sha256")))
        .expect("create");
    writeln!(f, "not-a-sha256  wharf-v2.2.0-{TARGET}.tar.gz").expect("write");
    let out = release_checksums("2.2.0", &v3, &table);
    out.assert_code(2);
    assert!(
        out.stderr.contains("does not start with a sha256"),
        "{}",
        out.describe()
    );

    // No assets for the version at all.
    let out = release_checksums("9.0.0", &release, &table);
    out.assert_code(2);
    assert_eq!(std::fs::read(&table).expect("read"), before);
}
