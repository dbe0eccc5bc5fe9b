//! `wharf attest` and `wharf verify --attestation-type` end to end, through
//! the testbed and a spawned registry, with sigstore-python as the peer
//! verifier of the attestation bundle.

use crate::common::Output;
use crate::sign::{generate_key, sigstore_python, Env};

const SBOM: &str = r#"{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[{"type":"library","name":"zlib","version":"1.3"}],"x":1.50}"#;

impl Env {
    fn attest(
        &self,
        image: &str,
        predicate: &std::path::Path,
        kind: &str,
        extra: &[&str],
    ) -> Output {
        let mut cmd = self.wharf();
        for (k, v) in self.testbed.github_env() {
            cmd.env(k, v);
        }
        cmd.args(["attest", image, "--type", kind, "--predicate"])
            .arg(predicate)
            .args(extra)
            .run()
    }

    fn verify_attestation(&self, image: &str, kind: &str, extra: &[&str]) -> Output {
        self.wharf()
            .args(["verify", image, "--attestation-type", kind])
            .args(["--certificate-identity", self.testbed.identity()])
            .args(["--certificate-oidc-issuer", self.testbed.issuer()])
            .args(extra)
            .run()
    }
}

#[test]
fn an_sbom_attestation_round_trips_and_its_predicate_comes_back_byte_for_byte() {
    require_registry!();
    let env = Env::start();
    let dir = tempfile::tempdir().expect("dir");
    let sbom = dir.path().join("sbom.cdx.json");
    std::fs::write(&sbom, format!("{SBOM}\n")).expect("write sbom");
    let tag = env.image("app:1.0");
    let digest = &env.images.app.digest;

    env.attest(&tag, &sbom, "cyclonedx", &[]).assert_ok();
    let entries = env.fallback_entries("app", digest);
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(
        entries[0]["annotations"]["dev.sigstore.bundle.predicateType"],
        "https://cyclonedx.org/bom"
    );

    let out_file = dir.path().join("verified.json");
    let out = env.verify_attestation(
        &tag,
        "cyclonedx",
        &["--output-predicate", out_file.to_str().unwrap()],
    );
    out.assert_ok();
    assert_eq!(
        std::fs::read_to_string(&out_file).expect("predicate written"),
        SBOM
    );
    // It is an attestation, not a signature; and not an SPDX one.
    env.verify(&tag, env.testbed.identity(), env.testbed.issuer())
        .assert_code(1);
    env.verify_attestation(&tag, "spdxjson", &[]).assert_code(1);
    // Another image has no attestation.
    env.verify_attestation(&env.image("app:2.0"), "cyclonedx", &[])
        .assert_code(1);

    // The same statement again adds nothing; a changed SBOM is a new attestation.
    let out = env.attest(&tag, &sbom, "cyclonedx", &[]);
    out.assert_ok();
    assert!(out.stdout.contains("nothing to do"), "{}", out.describe());
    assert_eq!(env.fallback_entries("app", digest).len(), 1);
    std::fs::write(&sbom, SBOM.replace("1.3", "1.3.1")).expect("write sbom");
    env.attest(&tag, &sbom, "cyclonedx", &[]).assert_ok();
    assert_eq!(env.fallback_entries("app", digest).len(), 2);
    // --output-predicate takes the newest.
    env.verify_attestation(
        &tag,
        "cyclonedx",
        &["--output-predicate", out_file.to_str().unwrap()],
    )
    .assert_ok();
    assert!(std::fs::read_to_string(&out_file)
        .unwrap()
        .contains("1.3.1"));
}

#[test]
fn a_predicate_of_the_wrong_kind_is_refused_before_signing() {
    require_registry!();
    let env = Env::start();
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("spdx.json");
    std::fs::write(&file, r#"{"spdxVersion":"SPDX-2.3"}"#).expect("write");
    let out = env.attest(&env.image("app:1.0"), &file, "cyclonedx", &[]);
    out.assert_code(2);
    assert!(
        out.stderr.contains("not a CycloneDX document"),
        "{}",
        out.describe()
    );
    assert_eq!(env.testbed.rekor_entries(), 0, "nothing signed");
}

#[test]
fn a_20_mb_predicate_is_fine_with_a_key() {
    require_registry!();
    let env = Env::start();
    let dir = tempfile::tempdir().expect("dir");
    let (key, public) = generate_key(&env, dir.path(), "k");
    // ~20 MB of components.
    let mut sbom = String::from(r#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":["#);
    let mut i = 0;
    while sbom.len() < 20 << 20 {
        if i > 0 {
            sbom.push(',');
        }
        sbom.push_str(&format!(
            r#"{{"type":"library","name":"package-number-{i}","version":"1.0.{i}","purl":"pkg:generic/package-number-{i}@1.0.{i}"}}"#
        ));
        i += 1;
    }
    sbom.push_str("]}");
    let file = dir.path().join("big.json");
    std::fs::write(&file, &sbom).expect("write");
    let tag = env.image("app:1.0");
    env.wharf()
        .env("WHARF_PASSWORD", "k")
        .args(["attest", &tag, "--type", "cyclonedx", "--key"])
        .arg(&key)
        .arg("--predicate")
        .arg(&file)
        .run()
        .assert_ok();
    let out_file = dir.path().join("back.json");
    env.wharf()
        .args(["verify", &tag, "--attestation-type", "cyclonedx", "--key"])
        .arg(&public)
        .arg("--output-predicate")
        .arg(&out_file)
        .run()
        .assert_ok();
    assert!(
        std::fs::read(&out_file).expect("predicate") == sbom.as_bytes(),
        "the 20 MB predicate came back changed"
    );
}

#[test]
fn generated_provenance_names_the_workflow_run() {
    require_registry!();
    let env = Env::start();
    let tag = env.image("app:1.0");
    let dir = tempfile::tempdir().expect("dir");
    let mut cmd = env.wharf();
    for (k, v) in env.testbed.github_env() {
        cmd.env(k, v);
    }
    for (k, v) in [
        ("GITHUB_REPOSITORY", "wharf-test/app"),
        ("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567"),
        ("GITHUB_REF", "refs/heads/main"),
        ("GITHUB_RUN_ID", "99"),
        (
            "GITHUB_WORKFLOW_REF",
            "wharf-test/app/.github/workflows/release.yml@refs/heads/main",
        ),
    ] {
        cmd.env(k, v);
    }
    cmd.args(["attest", &tag, "--type", "slsaprovenance1", "--generate"])
        .run()
        .assert_ok();
    let out_file = dir.path().join("provenance.json");
    env.verify_attestation(
        &tag,
        "slsaprovenance1",
        &["--output-predicate", out_file.to_str().unwrap()],
    )
    .assert_ok();
    let p: serde_json::Value = serde_json::from_slice(&std::fs::read(&out_file).unwrap()).unwrap();
    assert_eq!(
        p["runDetails"]["metadata"]["invocationId"],
        "https://github.com/wharf-test/app/actions/runs/99/attempts/1"
    );
    assert_eq!(
        p["buildDefinition"]["resolvedDependencies"][0]["digest"]["gitCommit"],
        "0123456789abcdef0123456789abcdef01234567"
    );
}

#[test]
fn sigstore_python_accepts_the_attestation_bundle() {
    require_registry!();
    let Some(sigstore) = sigstore_python("sigstore_python_accepts_the_attestation_bundle") else {
        return;
    };
    let env = Env::start();
    let dir = tempfile::tempdir().expect("dir");
    let sbom = dir.path().join("sbom.json");
    std::fs::write(&sbom, SBOM).expect("write");
    env.attest(&env.image("app:1.0"), &sbom, "cyclonedx", &[])
        .assert_ok();
    env.assert_sigstore_python_accepts(
        &sigstore,
        "app",
        &env.images.app.digest,
        &env.images.app.manifest,
    );
}

#[test]
fn the_legacy_att_layout_is_written_and_verified() {
    require_registry!();
    let env = Env::start();
    let dir = tempfile::tempdir().expect("dir");
    let sbom = dir.path().join("sbom.json");
    std::fs::write(&sbom, SBOM).expect("write");
    let tag = env.image("app:1.0");
    let digest = &env.images.app.digest;
    env.attest(&tag, &sbom, "cyclonedx", &["--bundle-format", "legacy"])
        .assert_ok();
    assert!(
        env.fallback_entries("app", digest).is_empty(),
        "no referrer bundle"
    );
    let layers = env.legacy_layers("app", digest, "att");
    let layer = &layers[0];
    assert_eq!(layer["mediaType"], "application/vnd.dsse.envelope.v1+json");
    assert_eq!(
        layer["annotations"]["predicateType"],
        "https://cyclonedx.org/bom"
    );
    assert!(
        layer["annotations"]["dev.sigstore.cosign/bundle"].is_string(),
        "{layer}"
    );

    let out_file = dir.path().join("verified.json");
    let out = env.verify_attestation(
        &tag,
        "cyclonedx",
        &["--output-predicate", out_file.to_str().unwrap()],
    );
    out.assert_ok();
    assert!(
        out.stderr.contains(".att layer sha256:"),
        "{}",
        out.describe()
    );
    assert_eq!(std::fs::read_to_string(&out_file).expect("predicate"), SBOM);
    env.verify_attestation(&tag, "spdxjson", &[]).assert_code(1);

    let out = env.attest(&tag, &sbom, "cyclonedx", &["--bundle-format", "legacy"]);
    out.assert_ok();
    assert!(out.stdout.contains("nothing to do"), "{}", out.describe());
}
