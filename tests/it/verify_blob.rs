//! `wharf verify-blob` against the official sigstore-conformance corpus in
//! `../shared` (data kept outside the repository): every valid bundle
//! accepted, every invalid one refused with a clean non-zero exit, and the
//! identity rules applied on top.

use std::path::PathBuf;

use crate::common::wharf;

/// `../shared/<rel>` beside the repository, or `None` with the reason printed.
fn shared(rel: &str, test: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared")
        .join(rel);
    if path.exists() {
        Some(path)
    } else {
        println!(
            "skipping {test}: {} is absent (the shared data lives beside the repository)",
            path.display()
        );
        None
    }
}

const ID: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/\
.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const ISSUER: &str = "https://token.actions.githubusercontent.com";

#[test]
fn the_official_conformance_corpus_passes_entirely() {
    let Some(script) = shared(
        "bin/conformance",
        "the_official_conformance_corpus_passes_entirely",
    ) else {
        return;
    };
    if crate::common::which("python3").is_none() {
        println!(
            "skipping the_official_conformance_corpus_passes_entirely: python3 is not installed"
        );
        return;
    }
    let out = std::process::Command::new("python3")
        .arg(&script)
        .arg(env!("CARGO_BIN_EXE_wharf"))
        .output()
        .expect("run the conformance script");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "conformance failures:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = stdout.lines().last().unwrap_or_default();
    assert!(summary.contains(" 0 failed"), "{stdout}");
    println!("{}", stdout.trim_end());
}

/// The happy-path v0.1 bundle, its artifact and the public-good root.
fn happy_path() -> Option<(PathBuf, PathBuf, PathBuf)> {
    let corpus = shared("sigstore-conformance", "verify_blob identity tests")?;
    Some((
        corpus.join("bundle-verify/happy-path-v0.1/bundle.sigstore.json"),
        corpus.join("a.txt"),
        corpus.join("trusted_root.public-good.json"),
    ))
}

#[test]
fn identity_rules_decide_between_exit_0_and_1() {
    let Some((bundle, artifact, root)) = happy_path() else {
        return;
    };
    let run = |extra: &[&str], subject: &str| {
        let mut cmd = wharf();
        cmd.arg("verify-blob")
            .arg("--bundle")
            .arg(&bundle)
            .arg("--trusted-root")
            .arg(&root);
        cmd.args(extra).arg(subject);
        cmd.run()
    };
    let file = artifact.to_str().expect("utf-8 path");
    let digest = crate::common::sha256_digest(&std::fs::read(&artifact).expect("artifact"));

    let out = run(
        &[
            "--certificate-identity",
            ID,
            "--certificate-oidc-issuer",
            ISSUER,
        ],
        file,
    );
    out.assert_ok();
    assert!(
        out.stdout.starts_with("Verified OK:") && out.stdout.contains(ID),
        "{}",
        out.describe()
    );
    run(
        &[
            "--certificate-identity",
            ID,
            "--certificate-oidc-issuer",
            ISSUER,
        ],
        &digest,
    )
    .assert_ok();
    run(
        &[
            "--certificate-identity-regexp",
            "https://github.com/sigstore-conformance/.*",
            "--certificate-oidc-issuer",
            ISSUER,
        ],
        file,
    )
    .assert_ok();

    // Refusals: exit 1, with the reason.
    let out = run(
        &[
            "--certificate-identity",
            "https://github.com/evil/repo",
            "--certificate-oidc-issuer",
            ISSUER,
        ],
        file,
    );
    out.assert_code(1);
    assert!(
        out.stdout.contains("Verification failed"),
        "{}",
        out.describe()
    );
    // A regexp matches the whole identity, not a substring of it.
    run(
        &[
            "--certificate-identity-regexp",
            "sigstore-conformance",
            "--certificate-oidc-issuer",
            ISSUER,
        ],
        file,
    )
    .assert_code(1);
    run(
        &[
            "--certificate-identity",
            ID,
            "--certificate-oidc-issuer",
            "https://accounts.google.com",
        ],
        file,
    )
    .assert_code(1);
    let tampered = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(tampered.path(), b"not what was signed\n").expect("write");
    let out = run(
        &[
            "--certificate-identity",
            ID,
            "--certificate-oidc-issuer",
            ISSUER,
        ],
        tampered.path().to_str().expect("path"),
    );
    out.assert_code(1);
    assert!(out.stdout.contains("mismatch"), "{}", out.describe());

    // Could not do the job: exit 2.
    run(&["--certificate-identity", ID], file).assert_error(&["--certificate-oidc-issuer"]);
    run(
        &[
            "--certificate-identity",
            ID,
            "--certificate-oidc-issuer",
            ISSUER,
        ],
        "/nonexistent/file",
    )
    .assert_error(&["no such file"]);
}
