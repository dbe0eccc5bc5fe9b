//! The harness every test shares: the `wharf` binary with a clean
//! environment and a watchdog, a spawned registry (plain, or TLS + htpasswd),
//! OCI image layouts built in Rust and pushed with skopeo, a fault-injecting
//! HTTP proxy, a fake GitHub REST API (for `promote --pull-request`), and
//! helpers to copy, substitute and compare file trees.

// Not every test module uses every helper.
#![allow(dead_code)]

pub mod gcs;
pub mod github;
pub mod http;
pub mod images;
pub mod oci;
pub mod proxy;
pub mod registry;
#[macro_use]
pub mod sigstore;
pub mod tree;

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::fs::File;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// Returns early (the test passes) with a reason on stderr when one of the
/// named programs is not installed, so `cargo test` works on a machine
/// without them.
macro_rules! require_tools {
    ($($tool:expr),+ $(,)?) => {
        if let Some(missing) = $crate::common::missing_tool(&[$($tool),+]) {
            // libtest names each test's thread after the test.
            let thread = std::thread::current();
            eprintln!(
                "skipping {}: `{missing}` is not installed (see DESIGN.md, Test infrastructure)",
                thread.name().unwrap_or(module_path!())
            );
            return;
        }
    };
}

/// `require_tools!` for everything a registry-backed test needs.
macro_rules! require_registry {
    () => {
        require_tools!("docker-registry", "skopeo")
    };
}

/// The first of `tools` that is not an executable on `PATH`.
pub fn missing_tool<'a>(tools: &[&'a str]) -> Option<&'a str> {
    tools.iter().copied().find(|tool| which(tool).is_none())
}

/// Where `program` lives on `PATH`.
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| {
            std::fs::metadata(candidate)
                .map(|m| m.is_file())
                .unwrap_or(false)
        })
}

/// Environment variables that would make a run depend on the machine it runs
/// on (CI detection, ambient credentials, trust stores, proxies, colour).
/// `WHARF_*` goes too. A test sets back what it needs.
const SCRUBBED: &[&str] = &[
    "CI",
    "GITHUB_ACTIONS",
    "GITHUB_OUTPUT",
    "GITHUB_STEP_SUMMARY",
    "GITHUB_TOKEN",
    "GITHUB_API_URL",
    "GITHUB_REPOSITORY",
    "GITLAB_CI",
    "TEKTON_RESULTS_DIR",
    "JENKINS_URL",
    "DOCKER_CONFIG",
    "REGISTRY_AUTH_FILE",
    "XDG_CONFIG_HOME",
    "XDG_RUNTIME_DIR",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "CLICOLOR",
    "CLICOLOR_FORCE",
    "RUST_LOG",
    "COSIGN_PASSWORD",
];

/// How long any single wharf run may take before the test fails (instead of
/// hanging the suite).
pub const WHARF_DEADLINE: Duration = Duration::from_secs(180);

/// A `Command` for the wharf binary under test, with a scrubbed environment
/// and its own empty `HOME`. Derefs to `Command` for args, env and cwd; run
/// it with [`Wharf::run`], which captures output and enforces a deadline.
pub struct Wharf {
    cmd: Command,
    home: TempDir,
    deadline: Duration,
}

pub fn wharf() -> Wharf {
    wrap(Command::new(env!("CARGO_BIN_EXE_wharf")))
}

/// [`wharf`] in a network namespace of its own with no network (`unshare
/// -rn`), where the machine allows one; elsewhere (say so) plain `wharf`.
pub fn wharf_offline() -> Wharf {
    let unshare = Command::new("unshare")
        .args(["-rn", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !unshare {
        eprintln!("note: `unshare -rn` is not available here: this wharf runs with the network up");
        return wharf();
    }
    let mut cmd = Command::new("unshare");
    cmd.arg("-rn").arg(env!("CARGO_BIN_EXE_wharf"));
    wrap(cmd)
}

/// `cmd` with the environment scrubbed and a HOME of its own.
fn wrap(mut cmd: Command) -> Wharf {
    let home = tempfile::Builder::new()
        .prefix("wharf-home-")
        .tempdir()
        .expect("temp HOME");
    for (key, _) in std::env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        if SCRUBBED.contains(&key) || key.starts_with("WHARF_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("HOME", home.path())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    Wharf {
        cmd,
        home,
        deadline: WHARF_DEADLINE,
    }
}

impl Deref for Wharf {
    type Target = Command;
    fn deref(&self) -> &Command {
        &self.cmd
    }
}

impl DerefMut for Wharf {
    fn deref_mut(&mut self) -> &mut Command {
        &mut self.cmd
    }
}

impl Wharf {
    /// The `HOME` this run gets (empty unless the test puts something there).
    pub fn home(&self) -> &std::path::Path {
        self.home.path()
    }

    // `Command`'s builder methods, returning `Wharf` so `.run()` chains.

    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Wharf {
        self.cmd.arg(arg);
        self
    }

    pub fn args<I, S>(&mut self, args: I) -> &mut Wharf
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd.args(args);
        self
    }

    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Wharf {
        self.cmd.env(key, value);
        self
    }

    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Wharf {
        self.cmd.env_remove(key);
        self
    }

    pub fn current_dir(&mut self, dir: impl AsRef<std::path::Path>) -> &mut Wharf {
        self.cmd.current_dir(dir);
        self
    }

    pub fn deadline(&mut self, deadline: Duration) -> &mut Wharf {
        self.deadline = deadline;
        self
    }

    /// Runs to completion, stdout and stderr captured to files (no pipe can
    /// fill up), killed and failing the test after the deadline.
    #[track_caller]
    pub fn run(&mut self) -> Output {
        let command = describe_command(&self.cmd);
        let out_dir = tempfile::tempdir().expect("temp dir for output");
        let stdout_path = out_dir.path().join("stdout");
        let stderr_path = out_dir.path().join("stderr");
        self.cmd
            .stdout(File::create(&stdout_path).expect("stdout file"))
            .stderr(File::create(&stderr_path).expect("stderr file"));
        let start = Instant::now();
        let mut child = self
            .cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {command}: {e}"));
        let status: ExitStatus = loop {
            if let Some(status) = child.try_wait().expect("wait for wharf") {
                break status;
            }
            if start.elapsed() > self.deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "`{command}` did not finish within {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
                    self.deadline,
                    read_lossy(&stdout_path),
                    read_lossy(&stderr_path)
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        Output {
            command,
            code: status.code(),
            stdout: read_lossy(&stdout_path),
            stderr: read_lossy(&stderr_path),
            elapsed: start.elapsed(),
        }
    }
}

fn read_lossy(path: &std::path::Path) -> String {
    String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned()
}

fn describe_command(cmd: &Command) -> String {
    let mut s = String::new();
    for (key, value) in cmd.get_envs() {
        if let (Some(value), Some(key)) = (value, key.to_str()) {
            if key != "HOME" && key != "NO_COLOR" {
                let _ = write!(s, "{key}={} ", value.to_string_lossy());
            }
        }
    }
    s.push_str("wharf");
    for arg in cmd.get_args() {
        s.push(' ');
        s.push_str(&arg.to_string_lossy());
    }
    if let Some(dir) = cmd.get_current_dir() {
        let _ = write!(s, "  (in {})", dir.display());
    }
    s
}

/// What a wharf run did.
#[derive(Debug, Clone)]
pub struct Output {
    pub command: String,
    /// `None` when killed by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Output {
    /// Everything about the run, for assertion messages.
    pub fn describe(&self) -> String {
        format!(
            "`{}` exited with {:?} after {:.1?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command, self.code, self.elapsed, self.stdout, self.stderr
        )
    }

    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Output {
        assert_eq!(
            self.code,
            Some(code),
            "unexpected exit code\n{}",
            self.describe()
        );
        self
    }

    /// Exit 0.
    #[track_caller]
    pub fn assert_ok(&self) -> &Output {
        self.assert_code(0)
    }

    /// Exit 2 with the contract's error shape: a line on stderr starting
    /// `error: ` that contains every one of `needles`.
    #[track_caller]
    pub fn assert_error(&self, needles: &[&str]) -> &Output {
        self.assert_code(2);
        assert!(
            self.stderr.lines().any(|l| l.starts_with("error: ")),
            "no line on stderr starts with `error: `\n{}",
            self.describe()
        );
        for needle in needles {
            assert!(
                self.stderr.contains(needle),
                "stderr does not mention {needle:?}\n{}",
                self.describe()
            );
        }
        self
    }

    /// Neither stream contains `secret`.
    #[track_caller]
    pub fn assert_not_leaked(&self, secret: &str) -> &Output {
        assert!(
            !self.stdout.contains(secret) && !self.stderr.contains(secret),
            "a secret ({} chars) appears in wharf's output\n{}",
            secret.len(),
            self.describe()
        );
        self
    }

    /// stdout parsed as one JSON document.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document: {e}\n{}", self.describe()))
    }
}

/// Runs an external program, failing the test with its output if it fails.
#[track_caller]
pub fn run_tool<I, S>(program: &str, args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(program);
    cmd.args(args).stdin(Stdio::null());
    run_command(&mut cmd)
}

/// The folder a project script builds and caches (`scripts/NAME`, which
/// prints it last and holds its own lock), or why not: `needs` says what
/// the script needs, for the message.
pub fn scripted_fixture(name: &str, what: &str, needs: &str) -> Result<PathBuf, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scripts")
        .join(name);
    let out = output_of(&mut Command::new(&script));
    match out.code {
        Some(0) => out
            .stdout
            .lines()
            .last()
            .map(PathBuf::from)
            .ok_or_else(|| format!("{} printed no folder", script.display())),
        _ => Err(format!(
            "{} could not build the {what} (it needs {needs}):\n{}",
            script.display(),
            out.stderr.trim_end()
        )),
    }
}

/// A fixture, or `None` with the reason printed; in CI, where `.ci/run`
/// has built it, a missing fixture fails the test instead.
pub fn fixture_or_skip<'a, T>(
    test: &str,
    tests: &str,
    fixture: &'a Result<T, String>,
) -> Option<&'a T> {
    match fixture {
        Ok(f) => Some(f),
        Err(why) if std::env::var_os("CI").is_some() => {
            panic!("{test}: CI must run the {tests}, but {why}")
        }
        Err(why) => {
            eprintln!("skipping {test}: {why}");
            None
        }
    }
}

/// Runs a program (a peer, a tool) to completion with no input; what it
/// did as an [`Output`], whatever its exit code.
#[track_caller]
pub fn output_of(cmd: &mut Command) -> Output {
    let command = format!("{cmd:?}");
    let start = Instant::now();
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command}: {e}"));
    Output {
        command,
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: start.elapsed(),
    }
}

#[track_caller]
pub fn run_command(cmd: &mut Command) -> String {
    let shown = format!(
        "{} {}",
        cmd.get_program().to_string_lossy(),
        cmd.get_args()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{shown}`: {e}"));
    assert!(
        out.status.success(),
        "`{shown}` failed with {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

/// `sha256:HEX` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// The venv's python (`WHARF_PYTHON`, else `~/.cache/wharf-venv/bin/python`)
/// when it can `import {modules}` (one module, or several comma-separated),
/// or `None` with the reason printed.
pub fn python_with(test: &str, modules: &str) -> Option<PathBuf> {
    let python = match std::env::var_os("WHARF_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
            .join(".cache/wharf-venv/bin/python"),
    };
    let ok = Command::new(&python)
        .args(["-c", &format!("import {modules}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        Some(python)
    } else {
        println!(
            "skipping {test}: {} cannot import {modules} (set WHARF_PYTHON to the venv .ci/run \
             makes, with the peer tools: cyclonedx-python-lib, spdx-tools, check-jsonschema, \
             yamllint, zizmor)",
            python.display()
        );
        None
    }
}

/// `python -m check_jsonschema [EXTRA...] --schemafile SCHEMA FILE...`: the
/// validator's output when it rejects any file.
pub fn check_jsonschema(
    python: &std::path::Path,
    schema: &std::path::Path,
    extra: &[&str],
    files: &[PathBuf],
) -> Result<(), String> {
    let out = Command::new(python)
        .args(["-m", "check_jsonschema"])
        .args(extra)
        .arg("--schemafile")
        .arg(schema)
        .args(files)
        .stdin(Stdio::null())
        .output()
        .expect("run check-jsonschema");
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// `%XX` escapes decoded (`+` stays `+`: wharf encodes a space as `%20`).
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(byte) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
