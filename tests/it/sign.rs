//! `wharf sign` and `wharf verify` end to end: the real registry, the
//! project's Sigstore testbed (OIDC issuer shaped like GitHub Actions',
//! Fulcio, Rekor, TSA), a simulated GitHub Actions job, and sigstore-python
//! as the strict peer verifier of the bundle pulled back from the registry.

use std::path::PathBuf;

use wharf_testbed::{Service, Testbed};

use crate::common::images::Images;
use crate::common::registry::Registry;
use crate::common::{wharf, Output, Wharf};

pub(crate) struct Env {
    pub(crate) registry: Registry,
    pub(crate) images: Images,
    pub(crate) testbed: Testbed,
    _dir: tempfile::TempDir,
}

impl Env {
    pub(crate) fn start() -> Env {
        let registry = Registry::start();
        let images = Images::push(&registry);
        let dir = tempfile::tempdir().expect("testbed dir");
        let testbed = Testbed::start(dir.path()).expect("start the testbed");
        Env {
            registry,
            images,
            testbed,
            _dir: dir,
        }
    }

    pub(crate) fn image(&self, name: &str) -> String {
        format!("{}/{name}", self.registry.host())
    }

    /// `wharf --insecure-registry HOST`, trusting the testbed.
    pub(crate) fn wharf(&self) -> Wharf {
        let mut cmd = wharf();
        cmd.arg("--insecure-registry")
            .arg(self.registry.host())
            .env("WHARF_TRUST_CONFIG", self.testbed.trust_config());
        cmd
    }

    /// `wharf sign IMAGE` inside a simulated GitHub Actions job.
    pub(crate) fn sign(&self, image: &str) -> Output {
        self.sign_with(image, &[])
    }

    pub(crate) fn sign_with(&self, image: &str, extra: &[&str]) -> Output {
        let mut cmd = self.wharf();
        for (k, v) in self.testbed.github_env() {
            cmd.env(k, v);
        }
        cmd.args(["sign", image]).args(extra).run()
    }

    pub(crate) fn verify(&self, image: &str, identity: &str, issuer: &str) -> Output {
        self.wharf()
            .args([
                "verify",
                image,
                "--certificate-identity",
                identity,
                "--certificate-oidc-issuer",
                issuer,
            ])
            .run()
    }

    /// The manifest (or index) `repo:reference` as skopeo reads it — an
    /// independent client — or `None` when the registry has no such tag.
    pub(crate) fn raw_manifest(&self, repo: &str, reference: &str) -> Option<serde_json::Value> {
        let sep = if reference.starts_with("sha256:") {
            '@'
        } else {
            ':'
        };
        let out = crate::common::oci::skopeo()
            .args(["inspect", "--raw", "--tls-verify=false"])
            .arg(format!(
                "docker://{}/{repo}{sep}{reference}",
                self.registry.host()
            ))
            .output()
            .expect("run skopeo");
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).expect("manifest JSON"))
    }

    /// The entries of the image's referrers fallback index (none when the
    /// registry has no such index).
    pub(crate) fn fallback_entries(&self, repo: &str, digest: &str) -> Vec<serde_json::Value> {
        self.raw_manifest(repo, &digest.replacen(':', "-", 1))
            .and_then(|index| index["manifests"].as_array().cloned())
            .unwrap_or_default()
    }

    /// The layers of the image's legacy `sha256-<hex>.<suffix>` manifest
    /// (`sig` or `att`), which must exist.
    pub(crate) fn legacy_layers(
        &self,
        repo: &str,
        digest: &str,
        suffix: &str,
    ) -> Vec<serde_json::Value> {
        let tag = format!("{}.{suffix}", digest.replacen(':', "-", 1));
        let manifest = self
            .raw_manifest(repo, &tag)
            .unwrap_or_else(|| panic!("no {repo}:{tag} in the registry"));
        manifest["layers"].as_array().cloned().unwrap_or_default()
    }

    /// sigstore-python verifies the bundle of the image's first fallback
    /// entry, pulled back from the registry, against the image manifest's
    /// bytes as the keyless testbed identity.
    pub(crate) fn assert_sigstore_python_accepts(
        &self,
        sigstore: &std::path::Path,
        repo: &str,
        digest: &str,
        subject: &[u8],
    ) {
        let entries = self.fallback_entries(repo, digest);
        let manifest_digest = entries[0]["digest"].as_str().expect("digest").to_string();
        let manifest = self
            .raw_manifest(repo, &manifest_digest)
            .expect("bundle manifest");
        let layer = manifest["layers"][0]["digest"]
            .as_str()
            .expect("layer digest")
            .to_string();
        let bundle = crate::common::http::request(
            self.registry.host(),
            "GET",
            &format!("/v2/{repo}/blobs/{layer}"),
            &[],
            &[],
        )
        .expect("GET bundle blob")
        .body;
        let dir = tempfile::tempdir().expect("dir");
        let bundle_path = dir.path().join("bundle.sigstore.json");
        let subject_path = dir.path().join("manifest.json");
        std::fs::write(&bundle_path, &bundle).expect("write bundle");
        std::fs::write(&subject_path, subject).expect("write manifest");
        let out = std::process::Command::new(sigstore)
            .arg("--trust-config")
            .arg(self.testbed.trust_config())
            .args(["verify", "identity", "--offline", "--bundle"])
            .arg(&bundle_path)
            .args([
                "--cert-identity",
                self.testbed.identity(),
                "--cert-oidc-issuer",
                self.testbed.issuer(),
            ])
            .arg(&subject_path)
            .output()
            .expect("run sigstore-python");
        assert!(
            out.status.success(),
            "sigstore-python refused wharf's bundle:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn keyless_sign_then_verify_round_trip() {
    require_registry!();
    let env = Env::start();
    let tag = env.image("app:1.0");
    let token = env.testbed.oidc_token();

    let out = env.sign(&tag);
    out.assert_ok();
    assert!(
        out.stderr
            .contains(&format!("resolved {tag} to {}", env.images.app.digest)),
        "{}",
        out.describe()
    );
    assert!(
        out.stdout.contains(&format!("@{}", env.images.app.digest)),
        "signs the digest: {}",
        out.describe()
    );
    out.assert_not_leaked(&token);
    for (k, v) in env.testbed.github_env() {
        if k == "ACTIONS_ID_TOKEN_REQUEST_TOKEN" {
            out.assert_not_leaked(&v);
        }
    }

    // The right identity verifies, by tag and by digest.
    let out = env.verify(&tag, env.testbed.identity(), env.testbed.issuer());
    out.assert_ok();
    assert!(out.stdout.starts_with("Verified OK"), "{}", out.describe());
    assert!(
        out.stderr.contains("cosign verify"),
        "prints the cosign equivalent: {}",
        out.describe()
    );
    let by_digest = format!("{}@{}", env.image("app"), env.images.app.digest);
    env.verify(&by_digest, env.testbed.identity(), env.testbed.issuer())
        .assert_ok();

    // A wrong identity, a wrong issuer, an unsigned image: exit 1, with the reason.
    let out = env.verify(
        &tag,
        "https://github.com/evil/repo/.github/workflows/x.yml@refs/heads/main",
        env.testbed.issuer(),
    );
    out.assert_code(1);
    assert!(out.stderr.contains("refused"), "{}", out.describe());
    env.verify(&tag, env.testbed.identity(), "https://accounts.google.com")
        .assert_code(1);
    let out = env.verify(
        &env.image("app:2.0"),
        env.testbed.identity(),
        env.testbed.issuer(),
    );
    out.assert_code(1);
    assert!(out.stdout.contains("0 bundle(s)"), "{}", out.describe());

    // JSON report.
    let out = env
        .wharf()
        .args([
            "verify",
            &tag,
            "--certificate-identity",
            env.testbed.identity(),
        ])
        .args([
            "--certificate-oidc-issuer",
            env.testbed.issuer(),
            "--format",
            "json",
        ])
        .run();
    out.assert_ok();
    let report = out.json();
    assert_eq!(report["verified"], true);
    assert_eq!(report["digest"], env.images.app.digest.as_str());
    assert_eq!(report["bundles"][0]["signer"], env.testbed.identity());
}

#[test]
fn resigning_adds_nothing_and_the_fallback_entry_is_typed() {
    require_registry!();
    let env = Env::start();
    let tag = env.image("multi:2.0");
    env.sign(&tag).assert_ok();
    let entries = env.fallback_entries("multi", &env.images.multi.digest);
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry = &entries[0];
    assert_eq!(
        entry["artifactType"], "application/vnd.dev.sigstore.bundle.v0.3+json",
        "{entry}"
    );
    assert_eq!(
        entry["annotations"]["dev.sigstore.bundle.content"], "dsse-envelope",
        "{entry}"
    );
    assert_eq!(
        entry["annotations"]["dev.sigstore.bundle.predicateType"],
        "https://sigstore.dev/cosign/sign/v1",
        "{entry}"
    );
    let logged = env.testbed.rekor_entries();

    let out = env.sign(&tag);
    out.assert_ok();
    assert!(out.stdout.contains("already signed"), "{}", out.describe());
    assert_eq!(
        env.fallback_entries("multi", &env.images.multi.digest)
            .len(),
        1,
        "nothing added"
    );
    assert_eq!(env.testbed.rekor_entries(), logged, "nothing logged");
}

/// The `sigstore` CLI of sigstore-python 4.x, or `None` with the reason printed.
pub(crate) fn sigstore_python(test: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("WHARF_SIGSTORE_PYTHON") {
        return Some(PathBuf::from(path));
    }
    match crate::common::which("sigstore") {
        Some(p) => Some(p),
        None => {
            println!("skipping {test}: sigstore-python is not installed (set WHARF_SIGSTORE_PYTHON; .ci/run does)");
            None
        }
    }
}

#[test]
fn sigstore_python_accepts_the_bundle_pulled_back_from_the_registry() {
    require_registry!();
    let Some(sigstore) =
        sigstore_python("sigstore_python_accepts_the_bundle_pulled_back_from_the_registry")
    else {
        return;
    };
    let env = Env::start();
    // With a signed annotation: the statement's subject carries it.
    env.sign_with(&env.image("app:1.0"), &["-a", "env=prod"])
        .assert_ok();

    // Pull the bundle back with an independent client: skopeo.
    env.assert_sigstore_python_accepts(
        &sigstore,
        "app",
        &env.images.app.digest,
        &env.images.app.manifest,
    );
}

#[test]
fn fulcio_and_rekor_failures_are_retried() {
    require_registry!();
    let env = Env::start();
    env.testbed.fail_next(Service::Fulcio, 1, 500);
    env.testbed.fail_next(Service::Rekor, 1, 503);
    env.sign(&env.image("app:1.0")).assert_ok();
    env.verify(
        &env.image("app:1.0"),
        env.testbed.identity(),
        env.testbed.issuer(),
    )
    .assert_ok();
}

#[test]
fn an_expired_or_malformed_token_is_a_clear_error() {
    require_registry!();
    let env = Env::start();
    let expired = env.testbed.oidc_token_with(|claims| {
        claims.insert("exp".into(), serde_json::json!(1_600_000_000u64));
        claims.insert("iat".into(), serde_json::json!(1_599_999_000u64));
        claims.insert("nbf".into(), serde_json::json!(1_599_999_000u64));
    });
    let out = env
        .wharf()
        .args(["sign", &env.image("app:1.0"), "--identity-token", &expired])
        .run();
    out.assert_error(&["expired"]);
    out.assert_not_leaked(&expired);
    let out = env
        .wharf()
        .args([
            "sign",
            &env.image("app:1.0"),
            "--identity-token",
            "not-a-jwt-secret-99",
        ])
        .run();
    out.assert_error(&["token"]);
    out.assert_not_leaked("not-a-jwt-secret-99");
    // Nothing was stored.
    let (code, _) = crate::common::http::request(
        env.registry.host(),
        "GET",
        &format!(
            "/v2/app/manifests/{}",
            env.images.app.digest.replacen(':', "-", 1)
        ),
        &[],
        &[],
    )
    .map(|r| (r.status, r.body))
    .expect("GET fallback");
    assert_eq!(code, 404, "no fallback index after a failed sign");
}

#[test]
fn two_signers_at_once_keep_both_signatures() {
    require_registry!();
    let env = Env::start();
    let tag = env.image("tool/cli:v3");
    // Two processes, started together.
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| env.sign(&tag));
        let b = scope.spawn(|| env.sign(&tag));
        (a.join().expect("signer a"), b.join().expect("signer b"))
    });
    a.assert_ok();
    b.assert_ok();
    let entries = env.fallback_entries("tool/cli", &env.images.cli.digest);
    // Each may have seen the other's signature first and stopped ("already
    // signed"); every signature that was stored must still be listed.
    let stored = [&a, &b]
        .iter()
        .filter(|o| o.stdout.contains("bundle stored as"))
        .count();
    assert_eq!(entries.len(), stored.max(1), "{entries:?}");
    env.verify(&tag, env.testbed.identity(), env.testbed.issuer())
        .assert_ok();
}

#[test]
fn signed_annotations_are_required_by_verify_and_part_of_idempotency() {
    require_registry!();
    let env = Env::start();
    let tag = env.image("app:2.0");
    env.sign_with(&tag, &["-a", "env=prod", "--annotation", "team=payments"])
        .assert_ok();
    let verify = |extra: &[&str]| {
        env.wharf()
            .args([
                "verify",
                &tag,
                "--certificate-identity",
                env.testbed.identity(),
            ])
            .args(["--certificate-oidc-issuer", env.testbed.issuer()])
            .args(extra)
            .run()
    };
    verify(&["-a", "env=prod"]).assert_ok();
    verify(&["-a", "env=prod", "-a", "team=payments"]).assert_ok();
    let out = verify(&["-a", "env=dev"]);
    out.assert_code(1);
    assert!(
        out.stderr.contains("env=dev") && out.stderr.contains("env=prod"),
        "{}",
        out.describe()
    );
    verify(&["-a", "no-equals-sign"]).assert_error(&["KEY=VALUE"]);

    // Same identity, same annotations: nothing new. Other annotations: a new signature.
    let out = env.sign_with(&tag, &["-a", "team=payments", "-a", "env=prod"]);
    assert!(out.stdout.contains("already signed"), "{}", out.describe());
    assert_eq!(
        env.fallback_entries("app", &env.images.app2.digest).len(),
        1
    );
    let out = env.sign_with(&tag, &["-a", "env=dev"]);
    assert!(
        out.stdout.contains("bundle stored as"),
        "{}",
        out.describe()
    );
    assert_eq!(
        env.fallback_entries("app", &env.images.app2.digest).len(),
        2
    );
    verify(&["-a", "env=dev"]).assert_ok();
}

/// `wharf generate-key-pair` in `dir` with `passphrase`; the key paths.
pub(crate) fn generate_key(
    env: &Env,
    dir: &std::path::Path,
    passphrase: &str,
) -> (PathBuf, PathBuf) {
    env.wharf()
        .current_dir(dir)
        .env("WHARF_PASSWORD", passphrase)
        .args(["generate-key-pair"])
        .run()
        .assert_ok();
    (dir.join("cosign.key"), dir.join("cosign.pub"))
}

impl Env {
    pub(crate) fn sign_key(
        &self,
        image: &str,
        key: &std::path::Path,
        passphrase: &str,
        extra: &[&str],
    ) -> Output {
        self.wharf()
            .env_remove("WHARF_PASSWORD")
            .env("COSIGN_PASSWORD", passphrase)
            .args(["sign", "--key"])
            .arg(key)
            .arg(image)
            .args(extra)
            .run()
    }

    pub(crate) fn verify_key(
        &self,
        image: &str,
        public: &std::path::Path,
        extra: &[&str],
    ) -> Output {
        self.wharf()
            .args(["verify", image, "--key"])
            .arg(public)
            .args(extra)
            .run()
    }
}

#[test]
fn key_sign_then_verify_round_trip() {
    use std::os::unix::fs::PermissionsExt;
    require_registry!();
    let env = Env::start();
    let dir = tempfile::tempdir().expect("key dir");
    let passphrase = "pass-marker-8831";
    let (key, public) = generate_key(&env, dir.path(), passphrase);
    let mode = std::fs::metadata(&key)
        .expect("cosign.key")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the private key is private");
    let again = env
        .wharf()
        .current_dir(dir.path())
        .env("WHARF_PASSWORD", passphrase)
        .args(["generate-key-pair"])
        .run();
    again.assert_code(2);
    assert!(
        again.stderr.contains("does not overwrite"),
        "{}",
        again.describe()
    );

    let tag = env.image("app:1.0");
    let logged = env.testbed.rekor_entries();
    let out = env.sign_key(&tag, &key, passphrase, &[]);
    out.assert_ok().assert_not_leaked(passphrase);
    assert!(
        out.stdout.contains(&format!("@{}", env.images.app.digest)),
        "{}",
        out.describe()
    );
    assert_eq!(
        env.testbed.rekor_entries(),
        logged + 1,
        "one dsse entry logged"
    );

    env.verify_key(&tag, &public, &[]).assert_ok();
    // A different key, or a keyless identity, did not sign it.
    let other = tempfile::tempdir().expect("other key dir");
    let (_, other_public) = generate_key(&env, other.path(), "x");
    let out = env.verify_key(&tag, &other_public, &[]);
    out.assert_code(1);
    assert!(out.stderr.contains("refused"), "{}", out.describe());
    env.verify(&tag, env.testbed.identity(), env.testbed.issuer())
        .assert_code(1);

    // Signing again with the same key adds nothing.
    let out = env.sign_key(&tag, &key, passphrase, &[]);
    out.assert_ok();
    assert!(out.stdout.contains("already signed"), "{}", out.describe());
    assert_eq!(env.fallback_entries("app", &env.images.app.digest).len(), 1);
    assert_eq!(
        env.testbed.rekor_entries(),
        logged + 1,
        "nothing logged twice"
    );
}

#[test]
fn a_rekor_upload_retried_after_it_was_committed_meets_409_and_succeeds() {
    require_registry!();
    let env = Env::start();
    let dir = tempfile::tempdir().expect("key dir");
    let (key, public) = generate_key(&env, dir.path(), "");
    // Rekor logs the entry, then answers 500: the retry sends the same entry
    // again and gets 409 with its location.
    env.testbed.fail_next_after_commit(Service::Rekor, 1, 500);
    let tag = env.image("app:1.0");
    env.sign_key(&tag, &key, "", &[]).assert_ok();
    assert_eq!(env.testbed.rekor_entries(), 1, "logged once");
    env.verify_key(&tag, &public, &[]).assert_ok();
}

#[test]
fn a_wrong_passphrase_is_a_clear_error_and_writes_nothing() {
    require_registry!();
    let env = Env::start();
    let dir = tempfile::tempdir().expect("key dir");
    let (key, _) = generate_key(&env, dir.path(), "right-one");
    let tag = env.image("app:1.0");
    let out = env.sign_key(&tag, &key, "guess-marker-5512", &[]);
    out.assert_code(2)
        .assert_not_leaked("guess-marker-5512")
        .assert_not_leaked("right-one");
    assert!(out.stderr.contains("passphrase"), "{}", out.describe());
    assert_eq!(env.testbed.rekor_entries(), 0);
    let out = env
        .wharf()
        .env_remove("WHARF_PASSWORD")
        .env_remove("COSIGN_PASSWORD")
        .args(["sign", "--key"])
        .arg(&key)
        .arg(&tag)
        .run();
    out.assert_code(2);
    assert!(out.stderr.contains("WHARF_PASSWORD"), "{}", out.describe());
}

#[test]
fn a_key_signature_outside_the_log_needs_insecure_ignore_tlog() {
    require_registry!();
    let env = Env::start();
    let dir = tempfile::tempdir().expect("key dir");
    let (key, public) = generate_key(&env, dir.path(), "p");
    let tag = env.image("app:1.0");
    let out = env.sign_key(&tag, &key, "p", &["--tlog-upload=false"]);
    out.assert_ok();
    assert!(
        out.stderr.contains("no transparency log"),
        "{}",
        out.describe()
    );
    assert_eq!(env.testbed.rekor_entries(), 0);
    let out = env.verify_key(&tag, &public, &[]);
    out.assert_code(1);
    env.verify_key(&tag, &public, &["--insecure-ignore-tlog"])
        .assert_ok();
}

#[test]
fn the_legacy_format_is_written_verified_and_idempotent() {
    require_registry!();
    let env = Env::start();
    let tag = env.image("app:1.0");
    let digest = env.images.app.digest.clone();
    env.sign_with(&tag, &["--bundle-format", "legacy", "-a", "env=prod"])
        .assert_ok();
    let layers = env.legacy_layers("app", &digest, "sig");
    assert_eq!(layers.len(), 1, "{layers:?}");
    let layer = &layers[0];
    assert_eq!(
        layer["mediaType"],
        "application/vnd.dev.cosign.simplesigning.v1+json"
    );
    let ann = &layer["annotations"];
    for key in [
        "dev.cosignproject.cosign/signature",
        "dev.sigstore.cosign/certificate",
        "dev.sigstore.cosign/chain",
        "dev.sigstore.cosign/bundle",
    ] {
        assert!(ann[key].is_string(), "{key} missing: {layer}");
    }
    let set: serde_json::Value =
        serde_json::from_str(ann["dev.sigstore.cosign/bundle"].as_str().unwrap()).unwrap();
    assert!(set["Payload"]["logIndex"].is_i64(), "{set}");
    assert!(
        ann["dev.sigstore.cosign/chain"]
            .as_str()
            .unwrap()
            .contains("BEGIN CERTIFICATE"),
        "{layer}"
    );
    // Only the legacy tag: no referrer bundle.
    let bundles = env
        .wharf()
        .args([
            "verify",
            &tag,
            "--certificate-identity",
            env.testbed.identity(),
            "--certificate-oidc-issuer",
            env.testbed.issuer(),
            "--format",
            "json",
        ])
        .run();
    bundles.assert_ok();
    let doc: serde_json::Value = serde_json::from_str(&bundles.stdout).expect("verify JSON");
    let found = doc["bundles"].as_array().cloned().unwrap_or_default();
    assert_eq!(found.len(), 1, "{doc}");
    assert!(
        found[0]["manifest"]
            .as_str()
            .unwrap()
            .contains(".sig layer sha256:"),
        "{doc}"
    );

    // verify -a reads the payload's optional annotations.
    env.wharf()
        .args([
            "verify",
            &tag,
            "-a",
            "env=prod",
            "--certificate-identity",
            env.testbed.identity(),
            "--certificate-oidc-issuer",
            env.testbed.issuer(),
        ])
        .run()
        .assert_ok();
    env.verify(
        &tag,
        "https://github.com/someone/else/.github/workflows/x.yml@refs/heads/main",
        env.testbed.issuer(),
    )
    .assert_code(1);

    let out = env.sign_with(&tag, &["--bundle-format", "legacy", "-a", "env=prod"]);
    out.assert_ok();
    assert!(out.stdout.contains("already signed"), "{}", out.describe());
    assert_eq!(env.legacy_layers("app", &digest, "sig").len(), 1);

    // `both` adds the bundle and keeps the legacy signature as it is.
    env.sign_with(&tag, &["--bundle-format", "both", "-a", "env=prod"])
        .assert_ok();
    assert_eq!(env.legacy_layers("app", &digest, "sig").len(), 1);
    assert_eq!(env.fallback_entries("app", &digest).len(), 1);
}

#[test]
fn a_legacy_signature_moved_to_another_image_is_refused() {
    require_registry!();
    let env = Env::start();
    let dir = tempfile::tempdir().expect("key dir");
    let (key, public) = generate_key(&env, dir.path(), "k");
    let tag = env.image("app:1.0");
    env.sign_key(&tag, &key, "k", &["--bundle-format", "legacy"])
        .assert_ok();
    env.verify_key(&tag, &public, &[]).assert_ok();

    // Copy app:1.0's .sig tag to app:2.0's: a valid signature, about the wrong digest.
    let from = format!(
        "{}/app:{}.sig",
        env.registry.host(),
        env.images.app.digest.replacen(':', "-", 1)
    );
    let to = format!(
        "{}/app:{}.sig",
        env.registry.host(),
        env.images.app2.digest.replacen(':', "-", 1)
    );
    crate::common::run_tool(
        "skopeo",
        [
            "copy".to_string(),
            "--src-tls-verify=false".to_string(),
            "--dest-tls-verify=false".to_string(),
            "--preserve-digests".to_string(),
            format!("docker://{from}"),
            format!("docker://{to}"),
        ],
    );
    let out = env.verify_key(&env.image("app:2.0"), &public, &[]);
    out.assert_code(1);
    assert!(
        out.stderr.contains("payload is about"),
        "{}",
        out.describe()
    );
}
