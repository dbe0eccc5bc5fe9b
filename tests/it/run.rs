//! `wharf run` end to end: a spawned registry, the Sigstore testbed and a
//! simulated GitHub Actions job. The gate's invariant is checked from the
//! outside: after a failed gate the registry holds no signature and the
//! deploy files are byte-identical.

use std::path::Path;

use serde_json::Value;

use crate::common::oci::{Layer, OciLayout};
use crate::common::Output;
use crate::scan::{debian_db, debian_files, tar};
use crate::sign::Env;

/// Pushes the Debian image (bash with a high finding in `debian_db`) as
/// `vuln:1.0`; returns its digest.
fn push_vulnerable(env: &Env, dir: &Path) -> String {
    let mut oci = OciLayout::new(&dir.join("layout"));
    let image = oci.add_image_with(
        "v1",
        "linux",
        "amd64",
        "vuln",
        &[Layer::gzip(&tar(&debian_files()))],
    );
    oci.push("v1", &env.registry, "vuln", "1.0");
    image.digest.clone()
}

/// `wharf run` inside a simulated GitHub Actions job, in `dir`.
fn run_in(env: &Env, dir: &Path, args: &[&str]) -> Output {
    let mut cmd = env.wharf();
    for (k, v) in env.testbed.github_env() {
        cmd.env(k, v);
    }
    cmd.current_dir(dir).arg("run").args(args).run()
}

fn run_json(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("wharf-out/run.json")).expect("run.json");
    serde_json::from_str(&text).expect("run.json is JSON")
}

fn statuses(summary: &Value) -> Vec<(String, String)> {
    summary["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or_default().to_string(),
                s["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

const VALUES: &str = "image:\n  repository: {REPO}\n  tag: \"0.9\"  # keep\n";

#[test]
fn a_passing_image_is_signed_attested_verified_and_promoted() {
    require_registry!();
    let env = Env::start();
    let work = tempfile::tempdir().expect("work dir");
    let dir = work.path();
    let digest = push_vulnerable(&env, dir);
    let db = debian_db(dir);
    let repo = env.image("vuln");
    std::fs::create_dir_all(dir.join("deploy")).expect("deploy dir");
    std::fs::write(
        dir.join("deploy/values.yaml"),
        VALUES.replace("{REPO}", &repo),
    )
    .expect("values");
    std::fs::write(
        dir.join("wharf.yaml"),
        format!(
            "image: {repo}:1.0\nscan:\n  db: {}\n  fail_on: critical\npromote:\n  files: [deploy/values.yaml]\n",
            db.display()
        ),
    )
    .expect("wharf.yaml");

    let out = run_in(&env, dir, &[]);
    out.assert_ok();
    let summary = run_json(dir);
    assert_eq!(summary["digest"], digest.as_str(), "{summary}");
    assert_eq!(summary["outcome"], "ok");
    assert_eq!(summary["signer"], env.testbed.identity());
    assert!(summary["rekor_log_index"].is_u64(), "{summary}");
    assert_eq!(summary["findings"]["high"], 1, "{summary}");
    assert_eq!(summary["gate"]["passed"], true);
    assert_eq!(summary["attestations"][0], "https://cyclonedx.org/bom");
    assert_eq!(summary["promoted"][0], "deploy/values.yaml");
    assert_eq!(
        statuses(&summary),
        [
            ("pin", "skipped"),
            ("resolve", "ok"),
            ("sbom", "ok"),
            ("scan", "ok"),
            ("sign", "ok"),
            ("attest", "ok"),
            ("verify", "ok"),
            ("promote", "ok"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    for file in ["sbom.cdx.json", "scan.json", "scan.sarif"] {
        assert!(dir.join("wharf-out").join(file).is_file(), "{file}");
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("deploy/values.yaml")).expect("values"),
        VALUES
            .replace("{REPO}", &repo)
            .replace("\"0.9\"", &format!("\"1.0@{digest}\"")),
        "the tag resolved once, the digest promoted"
    );
    // What run signed and attested, `wharf verify` finds independently.
    let by_digest = format!("{repo}@{digest}");
    env.verify(&by_digest, env.testbed.identity(), env.testbed.issuer())
        .assert_ok();
    env.wharf()
        .args(["verify", &by_digest, "--attestation-type", "cyclonedx"])
        .args(["--certificate-identity", env.testbed.identity()])
        .args(["--certificate-oidc-issuer", env.testbed.issuer()])
        .run()
        .assert_ok();
}

#[test]
fn a_failed_gate_signs_nothing_and_promotes_nothing() {
    require_registry!();
    let env = Env::start();
    let work = tempfile::tempdir().expect("work dir");
    let dir = work.path();
    let digest = push_vulnerable(&env, dir);
    let db = debian_db(dir);
    let repo = env.image("vuln");
    let values = VALUES.replace("{REPO}", &repo);
    std::fs::write(dir.join("values.yaml"), &values).expect("values");

    let db_arg = db.display().to_string();
    let image = format!("{repo}:1.0");
    let out = run_in(
        &env,
        dir,
        &[
            &image,
            "--db",
            &db_arg,
            "--fail-on",
            "high",
            "--promote",
            "values.yaml",
        ],
    );
    out.assert_code(1);
    assert!(
        out.stderr.contains("stopped: the scan gate"),
        "{}",
        out.describe()
    );
    let summary = run_json(dir);
    assert_eq!(summary["outcome"], "policy");
    assert_eq!(summary["gate"]["passed"], false);
    assert!(summary["signer"].is_null());
    let after_scan: Vec<String> = statuses(&summary)
        .into_iter()
        .skip_while(|(name, _)| name != "scan")
        .map(|(name, status)| format!("{name} {status}"))
        .collect();
    assert_eq!(
        after_scan,
        [
            "scan failed",
            "sign skipped",
            "attest skipped",
            "verify skipped",
            "promote skipped"
        ]
    );
    // Nothing signed: the registry holds no signature for the digest.
    let out = env.verify(
        &format!("{repo}@{digest}"),
        env.testbed.identity(),
        env.testbed.issuer(),
    );
    out.assert_code(1);
    assert!(out.stdout.contains("0 bundle(s)"), "{}", out.describe());
    assert!(
        env.fallback_entries("vuln", &digest).is_empty(),
        "no fallback index entry either"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("values.yaml")).expect("values"),
        values
    );
}

#[test]
fn the_config_is_checked_and_printable() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(
        dir.path().join("wharf.yaml"),
        "image: ghcr.io/acme/app:1\nscan:\n  fail_on: high\n",
    )
    .expect("write");
    let out = crate::common::wharf()
        .current_dir(dir.path())
        .args(["run", "--print-config", "--fail-on", "medium"])
        .run();
    out.assert_ok();
    let printed: Value = {
        // The printed YAML is the effective config: the flag wins.
        let text = out.stdout.clone();
        assert!(text.contains("fail_on: medium"), "{text}");
        assert!(text.contains("image: ghcr.io/acme/app:1"), "{text}");
        Value::String(text)
    };
    assert!(printed.as_str().is_some_and(|t| t.contains("attest:")));

    std::fs::write(
        dir.path().join("wharf.yaml"),
        "image: ghcr.io/acme/app:1\nscan:\n  fail-on: low\n",
    )
    .expect("write");
    let out = crate::common::wharf()
        .current_dir(dir.path())
        .args(["run", "--print-config"])
        .run();
    out.assert_error(&["wharf.yaml", "fail-on", "docs/run.md"]);
    crate::common::wharf()
        .current_dir(dir.path())
        .args(["run", "--print-config", "--config", "missing.yaml"])
        .run()
        .assert_error(&["missing.yaml"]);
}
