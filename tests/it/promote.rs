//! `wharf promote` end to end: verify-before-write against the real
//! registry and the Sigstore testbed, all-or-nothing batches, `--check`
//! drift detection and `--commit`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::common::{wharf, Output};
use crate::sign::{generate_key, Env};

/// The deploy files of one app, with `{IMAGE}` for its repository.
const VALUES: &str = "# web app\r\nimage:\r\n  repository: {IMAGE}   # {\"$imagepolicy\": \"flux-system:app:name\"}\r\n  tag: \"1.0\"  # {\"$imagepolicy\": \"flux-system:app:tag\"}\r\n  pullPolicy: IfNotPresent\r\n\r\nworker:\r\n  image: '{IMAGE}:1.0'\r\n";
const KUSTOMIZATION: &str = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - deploy.yaml\nimages:\n  - name: app\n    newName: {IMAGE}\n    newTag: \"1.0\"\n";
const DEPLOY: &str = "\u{feff}apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: {IMAGE}:1.0\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: app\n";

struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new(image: &str) -> Files {
        let dir = tempfile::tempdir().expect("deploy dir");
        for (name, text) in [
            ("values.yaml", VALUES),
            ("kustomization.yaml", KUSTOMIZATION),
            ("deploy.yaml", DEPLOY),
        ] {
            std::fs::write(dir.path().join(name), text.replace("{IMAGE}", image))
                .expect("write fixture");
        }
        Files { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn paths(&self) -> Vec<PathBuf> {
        ["values.yaml", "kustomization.yaml", "deploy.yaml"]
            .iter()
            .map(|n| self.path(n))
            .collect()
    }

    fn snapshot(&self) -> BTreeMap<String, Vec<u8>> {
        let mut out = BTreeMap::new();
        for entry in std::fs::read_dir(self.dir.path()).expect("read dir") {
            let entry = entry.expect("dir entry");
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.file_type().expect("file type").is_file() {
                out.insert(name, std::fs::read(entry.path()).expect("read file"));
            }
        }
        out
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).expect("read file")
    }
}

/// `wharf promote` with the testbed's trust and identity options.
fn promote_keyless(env: &Env, image: &str, files: &[PathBuf], identity: &str) -> Output {
    env.wharf()
        .args(["promote", image])
        .args(files)
        .args(["--write", "--certificate-identity", identity])
        .args(["--certificate-oidc-issuer", env.testbed.issuer()])
        .run()
}

#[test]
fn only_a_verified_digest_is_written() {
    require_registry!();
    let env = Env::start();
    let repo = env.image("app");
    env.sign(&env.image("app:1.0")).assert_ok();
    let files = Files::new(&repo);
    let before = files.snapshot();
    let signed = format!("{repo}:1.1@{}", env.images.app.digest);
    // app:2.0 was never signed.
    let unsigned = format!("{repo}:2.0@{}", env.images.app2.digest);

    let out = promote_keyless(&env, &unsigned, &files.paths(), env.testbed.identity());
    out.assert_code(1);
    assert!(
        out.stdout.contains("not promoted") && out.stdout.contains("no file was changed"),
        "{}",
        out.describe()
    );
    assert_eq!(files.snapshot(), before, "an unsigned digest changed files");

    let evil = "https://github.com/evil/repo/.github/workflows/x.yml@refs/heads/main";
    let out = promote_keyless(&env, &signed, &files.paths(), evil);
    out.assert_code(1);
    assert!(out.stderr.contains("refused"), "{}", out.describe());
    assert_eq!(
        files.snapshot(),
        before,
        "another signer's digest changed files"
    );

    // No identity and no --no-verify: a usage error, nothing written.
    let out = env
        .wharf()
        .args(["promote", &signed, "--write"])
        .args(files.paths())
        .run();
    out.assert_error(&["--certificate-identity", "--no-verify"]);
    assert_eq!(files.snapshot(), before);

    let out = promote_keyless(&env, &signed, &files.paths(), env.testbed.identity());
    out.assert_ok();
    assert!(
        out.stderr
            .contains(&format!("signed by {}", env.testbed.identity())),
        "{}",
        out.describe()
    );
    let digest = &env.images.app.digest;
    let want_values = VALUES
        .replace("{IMAGE}", &repo)
        .replace("tag: \"1.0\"", &format!("tag: \"1.1@{digest}\""))
        .replace(":1.0'", &format!(":1.1@{digest}'"));
    assert_eq!(files.read("values.yaml"), want_values);
    let want_kustomization = KUSTOMIZATION.replace("{IMAGE}", &repo).replace(
        "newTag: \"1.0\"\n",
        &format!("newTag: \"1.1\"\n    digest: {digest}\n"),
    );
    assert_eq!(files.read("kustomization.yaml"), want_kustomization);
    let want_deploy = DEPLOY
        .replace("{IMAGE}", &repo)
        .replace(":1.0\n", &format!(":1.1@{digest}\n"));
    assert_eq!(files.read("deploy.yaml"), want_deploy);

    // Drift detection: at the digest → 0; a newer digest → 1, nothing written.
    env.wharf()
        .args(["promote", &signed, "--check"])
        .arg(files.dir.path())
        .run()
        .assert_ok();
    let promoted = files.snapshot();
    let out = env
        .wharf()
        .args(["promote", &unsigned, "--check"])
        .arg(files.dir.path())
        .run();
    out.assert_code(1);
    assert_eq!(
        out.stdout.lines().count(),
        4,
        "one line per drifted entry: {}",
        out.describe()
    );
    assert!(out.stdout.contains("values.yaml:4:"), "{}", out.describe());
    assert_eq!(files.snapshot(), promoted);
}

#[test]
fn a_key_signature_verifies_and_a_values_path_picks_the_entry() {
    require_registry!();
    let env = Env::start();
    let keys = tempfile::tempdir().expect("key dir");
    let (key, public) = generate_key(&env, keys.path(), "promote-pass");
    env.sign_key(&env.image("app:1.0"), &key, "promote-pass", &[])
        .assert_ok();
    let files = Files::new("registry.example/app");
    let values = files.path("values.yaml");
    // The values name another registry (a mirror), so the entry is picked by
    // its path. `--key` is taken once: a second (`--key PUB --key PATH`)
    // is refused rather than one of them silently ignored.
    let image = format!("{}:1.1@{}", env.image("app"), env.images.app.digest);
    let out = env
        .wharf()
        .args(["promote", &image])
        .arg(&values)
        .args(["--write", "--key"])
        .arg(&public)
        .args(["--key", "worker.image"])
        .run();
    out.assert_error(&["--key"]);
    let out = env
        .wharf()
        .args(["promote", &image])
        .arg(&values)
        .args(["--write", "--key"])
        .arg(&public)
        .args(["--values-path", "worker.image"])
        .run();
    out.assert_ok();
    assert!(
        out.stderr.contains("another repository"),
        "{}",
        out.describe()
    );
    let text = files.read("values.yaml");
    assert!(
        text.contains(&format!(
            "  image: 'registry.example/app:1.1@{}'\r\n",
            env.images.app.digest
        )),
        "{text}"
    );
    assert!(text.contains("tag: \"1.0\""), "only the named path: {text}");

    // `--key` means a key file, as in every command: a values path given
    // there is refused, naming the flag it belongs to, and nothing changes.
    let files = Files::new("registry.example/app");
    let before = files.read("values.yaml");
    let out = env
        .wharf()
        .args(["promote", &image])
        .arg(files.path("values.yaml"))
        .args(["--no-verify", "--write", "--key", "image"])
        .run();
    out.assert_error(&["--key", "--values-path image"]);
    assert_eq!(files.read("values.yaml"), before);
    let out = env
        .wharf()
        .args(["promote", &image])
        .arg(files.path("values.yaml"))
        .args(["--no-verify", "--write", "--values-path", "image"])
        .run();
    out.assert_ok();
    assert!(
        files
            .read("values.yaml")
            .contains(&format!("tag: \"1.1@{}\"", env.images.app.digest)),
        "{}",
        out.describe()
    );
}

/// Promote's failures that need no registry: `--no-verify` runs.
fn promote_offline(image: &str, args: &[&Path], extra: &[&str]) -> Output {
    wharf()
        .args(["promote", image])
        .args(args)
        .args(extra)
        .run()
}

const DIGEST: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

#[test]
fn one_broken_file_and_nothing_is_written() {
    let files = Files::new("ghcr.io/acme/app");
    std::fs::write(
        files.path("broken.yaml"),
        "image:\n  repository: ghcr.io/acme/app\n  tag: \"{{ .Chart.AppVersion }}\"\n",
    )
    .expect("write");
    let before = files.snapshot();
    let image = format!("ghcr.io/acme/app:2@{DIGEST}");
    let out = promote_offline(&image, &[files.dir.path()], &["--no-verify", "--write"]);
    out.assert_error(&["broken.yaml:3", "template", "no file was changed"]);
    assert_eq!(files.snapshot(), before);

    // Invalid YAML, named by file and line.
    std::fs::write(files.path("broken.yaml"), "a: 1\nimage: [x\n").expect("write");
    let out = promote_offline(&image, &[files.dir.path()], &["--no-verify", "--write"]);
    out.assert_error(&["broken.yaml", "not valid YAML"]);
    assert_eq!(
        files.snapshot().get("values.yaml"),
        before.get("values.yaml")
    );
    std::fs::remove_file(files.path("broken.yaml")).expect("rm");

    // An anchored image that an alias uses.
    std::fs::write(
        files.path("values.yaml"),
        "image: &app ghcr.io/acme/app:1.0\njob:\n  image: *app\n",
    )
    .expect("write");
    let before = files.snapshot();
    let out = promote_offline(
        &image,
        &[&files.path("values.yaml")],
        &["--no-verify", "--write"],
    );
    out.assert_error(&["values.yaml:1", "alias on line 3"]);
    assert_eq!(files.snapshot(), before);
}

#[test]
fn usage_errors_exit_2() {
    let files = Files::new("ghcr.io/acme/app");
    let values = files.path("values.yaml");
    // A tag is not a digest.
    promote_offline("ghcr.io/acme/app:1.0", &[&values], &["--no-verify"])
        .assert_error(&["names no digest", "@sha256:"]);
    // No entry anywhere.
    promote_offline(
        &format!("ghcr.io/acme/other@{DIGEST}"),
        &[&values],
        &["--no-verify"],
    )
    .assert_error(&["no entry of ghcr.io/acme/other", "--values-path"]);
    // A values path that is not there.
    promote_offline(
        &format!("ghcr.io/acme/app@{DIGEST}"),
        &[&values],
        &["--no-verify", "--values-path", "web.image"],
    )
    .assert_error(&["values.yaml", "no `web.image`"]);
    // --no-verify with a signer contradicts.
    promote_offline(
        &format!("ghcr.io/acme/app@{DIGEST}"),
        &[&values],
        &["--no-verify", "--certificate-identity", "x"],
    )
    .assert_code(2);
}

#[test]
fn the_default_prints_a_diff_and_no_verify_is_said() {
    let files = Files::new("ghcr.io/acme/app");
    let before = files.snapshot();
    let out = promote_offline(
        &format!("ghcr.io/acme/app@{DIGEST}"),
        &[files.dir.path()],
        &["--no-verify"],
    );
    out.assert_ok();
    assert!(
        out.stdout
            .contains("+          image: ghcr.io/acme/app:1.0@sha256:2222"),
        "{}",
        out.describe()
    );
    assert!(
        out.stderr.contains("--no-verify: the signature of"),
        "{}",
        out.describe()
    );
    assert_eq!(files.snapshot(), before, "a diff writes nothing");
}

#[test]
fn commit_records_exactly_the_promoted_files() {
    require_tools!("git");
    let files = Files::new("ghcr.io/acme/app");
    let dir = files.dir.path();
    let git = |args: &[&str]| {
        crate::common::run_command(
            std::process::Command::new("git")
                .arg("-C")
                .arg(dir)
                .args(args),
        )
    };
    git(&["init", "--quiet", "--initial-branch=main"]);
    git(&["config", "user.email", "ci@example.com"]);
    git(&["config", "user.name", "CI"]);
    std::fs::write(dir.join("notes.txt"), "unrelated\n").expect("write");
    git(&["add", "."]);
    git(&["commit", "--quiet", "-m", "init"]);
    // A staged, unrelated change stays out of the promote commit.
    std::fs::write(dir.join("notes.txt"), "changed\n").expect("write");
    git(&["add", "notes.txt"]);

    let out = promote_offline(
        &format!("ghcr.io/acme/app:1.1@{DIGEST}"),
        &[&files.path("values.yaml"), &files.path("deploy.yaml")],
        &["--no-verify", "--commit"],
    );
    out.assert_ok();
    assert!(out.stdout.starts_with("committed "), "{}", out.describe());
    let changed = git(&["show", "--name-only", "--format=%s", "HEAD"]);
    let lines: Vec<&str> = changed.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines,
        [
            "promote ghcr.io/acme/app:1.1 to sha256:222222222222",
            "deploy.yaml",
            "values.yaml"
        ],
        "{changed}"
    );
    let status = git(&["status", "--porcelain"]);
    assert_eq!(status.trim(), "M  notes.txt", "{status}");
}
