//! A TLS registry with htpasswd auth: credentials from `DOCKER_CONFIG`, the
//! CA from `SSL_CERT_FILE`, and the password never in wharf's output.

use base64::Engine as _;

use crate::common::images::Images;
use crate::common::oci::registry_digest;
use crate::common::registry::Registry;
use crate::common::{tree, wharf, Wharf};

use super::temp_tree;

const USER: &str = "wharf-ci";
const PASSWORD: &str = "pa55-Wh4rf-s3cr3t-9c1e";
const WRONG_PASSWORD: &str = "n0t-the-Pa55word-77ab";

struct TlsEnv {
    registry: Registry,
    images: Images,
    tree: tempfile::TempDir,
    docker_config: tempfile::TempDir,
}

impl TlsEnv {
    fn start() -> TlsEnv {
        let registry = Registry::start_tls_htpasswd(USER, PASSWORD);
        let images = Images::push(&registry);
        let tree = temp_tree();
        let docker_config = tempfile::tempdir().expect("docker config dir");
        TlsEnv {
            registry,
            images,
            tree,
            docker_config,
        }
    }

    fn write_tree(&self) {
        let text =
            |s: &str| tree::substitute(s.as_bytes(), &self.images.placeholders(), "tls tree");
        tree::write(
            self.tree.path(),
            "Dockerfile",
            text("FROM %%REG%%/app:1.0\nFROM %%REG%%/multi:2.0\n"),
        );
        tree::write(
            self.tree.path(),
            "pod.yaml",
            text("kind: Pod\nspec:\n  containers:\n    - image: %%REG%%/tool/cli:v3\n"),
        );
    }

    /// `wharf pin` with the docker config and, when `trust_ca`, the CA.
    fn pin(&self, trust_ca: bool) -> Wharf {
        let mut cmd = wharf();
        cmd.arg("pin")
            .current_dir(self.tree.path())
            .env("DOCKER_CONFIG", self.docker_config.path());
        if trust_ca {
            cmd.env("SSL_CERT_FILE", self.registry.ca_file().expect("ca file"));
        }
        cmd
    }
}

fn basic(user: &str, password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

#[test]
fn pins_against_tls_htpasswd_registry_with_docker_config_credentials() {
    require_tools!("docker-registry", "skopeo", "openssl", "htpasswd");
    let env = TlsEnv::start();
    assert_eq!(
        registry_digest(&env.registry, "app", "1.0"),
        env.images.app.digest
    );
    env.registry
        .write_docker_config(env.docker_config.path(), USER, PASSWORD);
    env.write_tree();

    let out = env.pin(true).args(["--write", "."]).run();
    out.assert_ok()
        .assert_not_leaked(PASSWORD)
        .assert_not_leaked(&basic(USER, PASSWORD));
    let expected = [
        (
            "Dockerfile",
            "FROM %%REG%%/app:1.0@%%app:1.0%%\nFROM %%REG%%/multi:2.0@%%multi:2.0%%\n",
        ),
        (
            "pod.yaml",
            "kind: Pod\nspec:\n  containers:\n    - image: %%REG%%/tool/cli:v3@%%tool/cli:v3%%\n",
        ),
    ]
    .into_iter()
    .map(|(k, v)| {
        (
            k.to_string(),
            tree::substitute(v.as_bytes(), &env.images.placeholders(), k),
        )
    })
    .collect();
    tree::assert_tree(env.tree.path(), &expected, &out.describe());

    // The JSON report and the diff mode do not carry the secret either.
    env.write_tree();
    let out = env.pin(true).args(["--format", "json", "."]).run();
    out.assert_ok()
        .assert_not_leaked(PASSWORD)
        .assert_not_leaked(&basic(USER, PASSWORD));
}

#[test]
fn wrong_password_is_a_clear_error_without_the_password() {
    require_tools!("docker-registry", "skopeo", "openssl", "htpasswd");
    let env = TlsEnv::start();
    env.registry
        .write_docker_config(env.docker_config.path(), USER, WRONG_PASSWORD);
    env.write_tree();
    let before = tree::snapshot(env.tree.path());

    let out = env.pin(true).args(["--write", "."]).run();
    out.assert_error(&[env.registry.host()])
        .assert_not_leaked(WRONG_PASSWORD)
        .assert_not_leaked(&basic(USER, WRONG_PASSWORD))
        .assert_not_leaked(PASSWORD);
    let lower = out.stderr.to_lowercase();
    assert!(
        ["401", "unauthorized", "authenticat", "credential", "denied"]
            .iter()
            .any(|w| lower.contains(w)),
        "the error does not say authentication failed\n{}",
        out.describe()
    );
    tree::assert_tree(env.tree.path(), &before, "files after a failed --write");
}

#[test]
fn registry_certificate_from_an_untrusted_ca_is_refused() {
    require_tools!("docker-registry", "skopeo", "openssl", "htpasswd");
    let env = TlsEnv::start();
    env.registry
        .write_docker_config(env.docker_config.path(), USER, PASSWORD);
    env.write_tree();
    let before = tree::snapshot(env.tree.path());
    // No SSL_CERT_FILE: the throwaway CA is trusted by nobody.
    let out = env.pin(false).args(["--write", "."]).run();
    out.assert_error(&[env.registry.host()])
        .assert_not_leaked(PASSWORD);
    tree::assert_tree(
        env.tree.path(),
        &before,
        "files after a refused certificate",
    );
}

#[test]
fn insecure_registry_flag_skips_certificate_checks_for_that_host_only() {
    require_tools!("docker-registry", "skopeo", "openssl", "htpasswd");
    let env = TlsEnv::start();
    env.registry
        .write_docker_config(env.docker_config.path(), USER, PASSWORD);
    env.write_tree();
    // Another host named insecure does not cover this one.
    let out = env
        .pin(false)
        .args(["--insecure-registry", "127.0.0.1:1", "--write", "."])
        .run();
    out.assert_error(&[env.registry.host()]);

    let out = env
        .pin(false)
        .args(["--insecure-registry", env.registry.host(), "--write", "."])
        .run();
    out.assert_ok().assert_not_leaked(PASSWORD);
    let got = std::fs::read(env.tree.path().join("Dockerfile")).expect("Dockerfile");
    let want = tree::substitute(
        b"FROM %%REG%%/app:1.0@%%app:1.0%%\nFROM %%REG%%/multi:2.0@%%multi:2.0%%\n",
        &env.images.placeholders(),
        "Dockerfile",
    );
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(&want),
        "{}",
        out.describe()
    );
}

/// Writes `docker-credential-<name>` into `bin`: a real credential helper
/// speaking docker's protocol (server on stdin, JSON on stdout).
fn credential_helper(bin: &std::path::Path, name: &str, script_body: &str) {
    use std::os::unix::fs::PermissionsExt;
    let path = bin.join(format!("docker-credential-{name}"));
    std::fs::write(&path, format!("#!/bin/sh\n{script_body}\n")).expect("write helper");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod helper");
    // Another test thread forking while the file was open for writing makes
    // exec fail with ETXTBSY until that child execs; wait until it runs, so
    // wharf's first exec of the helper cannot hit that window.
    for _ in 0..100 {
        match std::process::Command::new(&path)
            .arg("list")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
        {
            Err(e) if e.raw_os_error() == Some(26) => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            _ => return,
        }
    }
    panic!(
        "the credential helper {} stays busy (ETXTBSY)",
        path.display()
    );
}

fn path_with(bin: &std::path::Path) -> std::ffi::OsString {
    let mut paths = vec![bin.to_path_buf()];
    paths.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(paths).expect("PATH")
}

#[test]
fn credentials_from_a_cred_helper() {
    require_tools!("docker-registry", "skopeo", "openssl", "htpasswd");
    let env = TlsEnv::start();
    let bin = tempfile::tempdir().expect("bin dir");
    credential_helper(
        bin.path(),
        "wharftest",
        &format!(
            "read server\nprintf '{{\"ServerURL\":\"%s\",\"Username\":\"{USER}\",\"Secret\":\"{PASSWORD}\"}}' \"$server\""
        ),
    );
    std::fs::write(
        env.docker_config.path().join("config.json"),
        format!(
            r#"{{"credHelpers": {{"{}": "wharftest"}}}}"#,
            env.registry.host()
        ),
    )
    .expect("config.json");
    env.write_tree();

    let out = env
        .pin(true)
        .env("PATH", path_with(bin.path()))
        .args(["--write", "."])
        .run();
    out.assert_ok().assert_not_leaked(PASSWORD);
    let got = std::fs::read(env.tree.path().join("Dockerfile")).expect("Dockerfile");
    let want = tree::substitute(
        b"FROM %%REG%%/app:1.0@%%app:1.0%%\nFROM %%REG%%/multi:2.0@%%multi:2.0%%\n",
        &env.images.placeholders(),
        "Dockerfile",
    );
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(&want),
        "{}",
        out.describe()
    );
}

#[test]
fn a_failing_cred_helper_is_named_and_its_output_not_repeated() {
    require_tools!("docker-registry", "skopeo", "openssl", "htpasswd");
    let env = TlsEnv::start();
    let bin = tempfile::tempdir().expect("bin dir");
    // A broken helper that prints a secret on its way out.
    credential_helper(
        bin.path(),
        "broken",
        // Like a real helper it reads its request first (one that exits
        // without reading it breaks the pipe: a different failure).
        &format!("read server\necho '{PASSWORD}'\necho 'also {PASSWORD}' >&2\nexit 1"),
    );
    std::fs::write(
        env.docker_config.path().join("config.json"),
        format!(
            r#"{{"credHelpers": {{"{}": "broken"}}}}"#,
            env.registry.host()
        ),
    )
    .expect("config.json");
    env.write_tree();
    let before = tree::snapshot(env.tree.path());

    let out = env
        .pin(true)
        .env("PATH", path_with(bin.path()))
        .args(["--write", "."])
        .run();
    out.assert_error(&["docker-credential-broken", env.registry.host()])
        .assert_not_leaked(PASSWORD);
    // One broken credential is one error, not one per reference (three here).
    assert_eq!(
        out.stderr
            .lines()
            .filter(|l| l.contains("credential helper"))
            .count(),
        1,
        "{}",
        out.describe()
    );
    tree::assert_tree(env.tree.path(), &before, "files after a failed helper");
}

#[test]
fn a_cred_helper_that_is_not_installed_is_named() {
    require_tools!("docker-registry", "skopeo", "openssl", "htpasswd");
    let env = TlsEnv::start();
    std::fs::write(
        env.docker_config.path().join("config.json"),
        format!(
            r#"{{"credHelpers": {{"{}": "not-installed-here"}}}}"#,
            env.registry.host()
        ),
    )
    .expect("config.json");
    env.write_tree();
    let out = env.pin(true).args(["--write", "."]).run();
    out.assert_error(&["docker-credential-not-installed-here", "PATH"]);
}
