//! The strict peer: sigstore-python 4.x signs through the testbed (its
//! Fulcio, Rekor and TSA) and verifies the result offline against the
//! testbed's trust config; sigstore-rust verifies the same bundles.
//!
//! The CLI is `$WHARF_SIGSTORE_PYTHON`, else `sigstore` on PATH
//! (`python3 -m venv /tmp/sp && /tmp/sp/bin/pip install 'sigstore>=4,<5'`);
//! without it these tests say so and pass.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use serde_json::Value;
use sigstore_verify::trust_root::TrustedRoot;
use sigstore_verify::types::Bundle;
use sigstore_verify::VerificationPolicy;
use wharf_testbed::Testbed;

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("running sigstore-python")
}

fn describe(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `sigstore`, with none of the caller's ambient CI credentials leaking in.
fn sigstore(cli: &Path) -> Command {
    let mut cmd = Command::new(cli);
    for var in [
        "GITHUB_ACTIONS",
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "SIGSTORE_ID_TOKEN",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

fn verify_identity(
    cli: &Path,
    testbed: &Testbed,
    bundle: &Path,
    file: &Path,
    identity: &str,
) -> Output {
    run(sigstore(cli)
        .arg("--trust-config")
        .arg(testbed.trust_config())
        .args(["verify", "identity", "--offline", "--bundle"])
        .arg(bundle)
        .args([
            "--cert-identity",
            identity,
            "--cert-oidc-issuer",
            testbed.issuer(),
        ])
        .arg(file))
}

fn rust_verify(
    testbed: &Testbed,
    bundle: &Path,
    artifact: &[u8],
) -> sigstore_verify::VerificationResult {
    let root = TrustedRoot::from_file(testbed.trusted_root()).unwrap();
    let bundle = Bundle::from_json(&std::fs::read_to_string(bundle).unwrap()).unwrap();
    let policy = VerificationPolicy::any_identity()
        .require_identity(testbed.identity())
        .require_issuer(testbed.issuer());
    sigstore_verify::verify(artifact, &bundle, &policy, &root)
        .unwrap_or_else(|e| panic!("sigstore-verify refused sigstore-python's bundle: {e}"))
}

fn setup() -> Option<(PathBuf, tempfile::TempDir, Testbed)> {
    let Some(cli) = sigstore_python() else {
        skip("sigstore-python not found: set WHARF_SIGSTORE_PYTHON or put `sigstore` on PATH (pip install 'sigstore>=4,<5')");
        return None;
    };
    let dir = tempfile::tempdir().unwrap();
    let testbed = Testbed::start(&dir.path().join("testbed")).unwrap();
    Some((cli, dir, testbed))
}

#[test]
fn sigstore_python_signs_through_the_testbed_and_verifies_offline() {
    let Some((cli, dir, testbed)) = setup() else {
        return;
    };
    let file = dir.path().join("artifact.txt");
    let artifact = b"wharf: an artifact for sigstore-python\n";
    std::fs::write(&file, artifact).unwrap();
    let bundle = dir.path().join("artifact.sigstore.json");

    let token = testbed.oidc_token();
    let signed = run(sigstore(&cli)
        .arg("--trust-config")
        .arg(testbed.trust_config())
        .args(["sign", "--identity-token", &token, "--bundle"])
        .arg(&bundle)
        .arg(&file));
    assert!(
        signed.status.success(),
        "sigstore sign failed: {}",
        describe(&signed)
    );
    assert_eq!(testbed.rekor_entries(), 1);

    let b: Value = serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
    assert_eq!(
        b["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "sigstore-python timestamped through the TSA"
    );

    let verified = verify_identity(&cli, &testbed, &bundle, &file, testbed.identity());
    assert!(
        verified.status.success(),
        "sigstore verify failed: {}",
        describe(&verified)
    );

    // Not vacuous: another identity, or other bytes, are refused.
    let other = "https://github.com/someone-else/app/.github/workflows/release.yml@refs/heads/main";
    let refused = verify_identity(&cli, &testbed, &bundle, &file, other);
    assert!(!refused.status.success(), "{}", describe(&refused));
    let tampered = dir.path().join("tampered.txt");
    std::fs::write(&tampered, b"something else").unwrap();
    let refused = verify_identity(&cli, &testbed, &bundle, &tampered, testbed.identity());
    assert!(!refused.status.success(), "{}", describe(&refused));

    // The same bundle, through sigstore-rust.
    let result = rust_verify(&testbed, &bundle, artifact);
    assert!(result.sct_verified() && result.tlog_verified());
}

#[test]
fn sigstore_python_attests_with_the_github_ambient_token() {
    let Some((cli, dir, testbed)) = setup() else {
        return;
    };
    let file = dir.path().join("image-manifest.json");
    let artifact =
        br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}"#;
    std::fs::write(&file, artifact).unwrap();
    let predicate = dir.path().join("predicate.json");
    std::fs::write(
        &predicate,
        br#"{"buildDefinition":{"buildType":"https://wharf.dev/test","externalParameters":{}},"runDetails":{"builder":{"id":"https://wharf.dev/builder"}}}"#,
    )
    .unwrap();
    let bundle = dir.path().join("attestation.sigstore.json");

    // No --identity-token: sigstore-python finds the GitHub Actions
    // variables and asks the testbed's token endpoint, as in a real job.
    let mut cmd = sigstore(&cli);
    cmd.envs(testbed.github_env())
        .arg("--trust-config")
        .arg(testbed.trust_config())
        .args([
            "attest",
            "--predicate-type",
            "https://slsa.dev/provenance/v1",
            "--predicate",
        ])
        .arg(&predicate)
        .arg("--bundle")
        .arg(&bundle)
        .arg(&file);
    let attested = run(&mut cmd);
    assert!(
        attested.status.success(),
        "sigstore attest failed: {}",
        describe(&attested)
    );

    let b: Value = serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
    assert_eq!(
        b["verificationMaterial"]["tlogEntries"][0]["kindVersion"]["kind"],
        "dsse"
    );

    let verified = verify_identity(&cli, &testbed, &bundle, &file, testbed.identity());
    assert!(
        verified.status.success(),
        "sigstore verify (DSSE) failed: {}",
        describe(&verified)
    );

    rust_verify(&testbed, &bundle, artifact);
}

#[test]
fn sigstore_python_accepts_a_hand_built_bundle() {
    // The publicKeyRequest path (what sigstore-rust sends to Fulcio), checked
    // by sigstore-python.
    let Some((cli, dir, testbed)) = setup() else {
        return;
    };
    let artifact = b"signed by hand through the testbed";
    let file = dir.path().join("blob");
    std::fs::write(&file, artifact).unwrap();
    let bundle = dir.path().join("blob.sigstore.json");
    std::fs::write(&bundle, keyless_bundle(&testbed, artifact).to_string()).unwrap();
    let verified = verify_identity(&cli, &testbed, &bundle, &file, testbed.identity());
    assert!(verified.status.success(), "{}", describe(&verified));
}
