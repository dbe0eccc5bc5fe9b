//! The README's first command: `wharf run --config examples/quickstart/wharf.yaml`
//! runs the whole pipeline on the bundled OCI layout, offline (in a network
//! namespace with no network where `unshare -rn` works), and writes only
//! into its git-ignored output directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::tree::{snapshot, write};
use crate::common::{wharf, wharf_offline, Output};

/// The bundled example, copied so the test never writes into the source
/// tree (a developer's own `wharf-out/` is left behind).
fn quickstart_copy(into: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart");
    let dst = into.join("quickstart");
    for (rel, bytes) in snapshot(&src) {
        if !rel.starts_with("wharf-out/") {
            write(&dst, &rel, bytes);
        }
    }
    dst
}

/// `wharf ARGS` with no network at all where the machine allows it.
fn offline(args: &[&str]) -> Output {
    wharf_offline().args(args).run()
}

fn run_json(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("wharf-out/run.json")).expect("run.json");
    serde_json::from_str(&text).expect("run.json is JSON")
}

/// The manifest digest `oci:DIR:TAG` names, read from the layout.
fn layout_digest(dir: &Path, tag: &str) -> String {
    let index: Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).expect("index.json"))
            .expect("index.json is JSON");
    index["manifests"]
        .as_array()
        .expect("manifests")
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .and_then(|m| m["digest"].as_str())
        .expect("the tagged image")
        .to_string()
}

#[test]
fn the_quickstart_runs_the_whole_pipeline_offline_and_writes_only_its_output_dir() {
    let work = tempfile::tempdir().expect("work dir");
    let dir = quickstart_copy(work.path());
    let before = snapshot(&dir);
    let config = dir.join("wharf.yaml");
    let out = offline(&["run", "--config", config.to_str().expect("utf-8 path")]);
    out.assert_ok();

    // Every stage ran, in order, and the summary says what came of it.
    for needle in [
        "all 8 reference(s) in 5 file(s) are pinned to a digest",
        "2 finding(s): 0 critical, 0 high, 1 medium, 1 low, 0 unknown; the gate (--fail-on high) passed",
        "── summary: ok",
        "pin ok",
        "verify ok",
        "promote ok",
    ] {
        assert!(out.stderr.contains(needle), "{needle:?}\n{}", out.describe());
    }
    let digest = layout_digest(&dir.join("image"), "1.4.2");
    // promote shows the deployment's change as a diff (write: false).
    assert!(
        out.stdout.contains(&format!(
            "+  digest: \"{digest}\"" // the Helm values keep their quotes
        )) && out.stdout.contains(&format!(
            "registry.example.com/shop/api:1.4.2@{digest}  # promoted by CI"
        )),
        "{}",
        out.describe()
    );

    let summary = run_json(&dir);
    assert_eq!(summary["outcome"], "ok");
    assert_eq!(summary["digest"], digest.as_str());
    assert_eq!(summary["image"], "registry.example.com/shop/api");
    assert_eq!(summary["findings"]["medium"], 1);
    assert_eq!(summary["findings"]["low"], 1);
    assert_eq!(summary["gate"]["passed"], true);
    assert_eq!(
        summary["attestations"],
        serde_json::json!([
            "https://cyclonedx.org/bom",
            "https://cosign.sigstore.dev/attestation/vuln/v1"
        ])
    );

    // Nothing outside wharf-out/ changed; the input layout is as built.
    let after = snapshot(&dir);
    let outside: BTreeMap<_, _> = after
        .iter()
        .filter(|(rel, _)| !rel.starts_with("wharf-out/"))
        .collect();
    assert_eq!(
        outside,
        before.iter().collect::<BTreeMap<_, _>>(),
        "the quickstart changed files outside wharf-out/"
    );
    for made in [
        "wharf-out/run.json",
        "wharf-out/summary.md",
        "wharf-out/sbom.cdx.json",
        "wharf-out/scan.json",
        "wharf-out/scan.sarif",
        "wharf-out/vuln.json",
        "wharf-out/cosign.key",
        "wharf-out/cosign.pub",
        "wharf-out/image/index.json",
        "wharf-out/policy.yaml",
    ] {
        assert!(after.contains_key(made), "{made} was not written");
    }

    // The statements name the image as it will be pushed (image_name),
    // not the local copy's path.
    let copy = dir.join("wharf-out/image");
    let index: Value =
        serde_json::from_slice(&std::fs::read(copy.join("index.json")).expect("index.json"))
            .expect("JSON");
    let blob = |digest: &str| {
        std::fs::read(
            copy.join("blobs/sha256")
                .join(digest.trim_start_matches("sha256:")),
        )
        .expect("blob")
    };
    let referrers: Vec<&Value> = index["manifests"]
        .as_array()
        .expect("manifests")
        .iter()
        .filter(|m| m["artifactType"].is_string())
        .collect();
    assert_eq!(
        referrers.len(),
        3,
        "a signature and two attestations: {index}"
    );
    for referrer in referrers {
        let manifest: Value =
            serde_json::from_slice(&blob(referrer["digest"].as_str().expect("digest")))
                .expect("manifest JSON");
        assert_eq!(manifest["subject"]["digest"], digest.as_str());
        let bundle: Value = serde_json::from_slice(&blob(
            manifest["layers"][0]["digest"].as_str().expect("layer"),
        ))
        .expect("bundle JSON");
        use base64::Engine as _;
        let statement: Value = serde_json::from_slice(
            &base64::engine::general_purpose::STANDARD
                .decode(bundle["dsseEnvelope"]["payload"].as_str().expect("payload"))
                .expect("base64"),
        )
        .expect("statement");
        assert_eq!(
            statement["subject"][0]["name"], "registry.example.com/shop/api",
            "{statement}"
        );
    }

    // The signed copy verifies as admission would check it: the key, no log.
    let signed = format!("oci:{}:1.4.2", dir.join("wharf-out/image").display());
    let public = dir.join("wharf-out/cosign.pub");
    let public = public.to_str().expect("utf-8 path");
    wharf()
        .args(["verify", &signed, "--key", public, "--insecure-ignore-tlog"])
        .run()
        .assert_ok();
    let out = wharf()
        .args([
            "verify",
            &signed,
            "--key",
            public,
            "--insecure-ignore-tlog",
            "--attestation-type",
            "cyclonedx",
        ])
        .run();
    out.assert_ok();
    // Without --insecure-ignore-tlog a signature no log recorded is refused.
    let out = wharf().args(["verify", &signed, "--key", public]).run();
    out.assert_code(1);
    // And another key's holder did not sign it.
    let other = work.path().join("other");
    wharf()
        .current_dir(work.path())
        .env("WHARF_PASSWORD", "")
        .args(["generate-key-pair", "--output-key-prefix"])
        .arg(&other)
        .run()
        .assert_ok();
    let other_pub = format!("{}.pub", other.display());
    wharf()
        .args([
            "verify",
            &signed,
            "--key",
            &other_pub,
            "--insecure-ignore-tlog",
        ])
        .run()
        .assert_code(1);

    // Again: the run starts from a fresh copy and a fresh key, and passes.
    offline(&["run", "--config", config.to_str().expect("utf-8 path")]).assert_ok();
}

#[test]
fn a_failed_gate_leaves_the_layout_copy_unsigned_and_the_deployment_unchanged() {
    let work = tempfile::tempdir().expect("work dir");
    let dir = quickstart_copy(work.path());
    let config = dir.join("wharf.yaml");
    let text = std::fs::read_to_string(&config).expect("wharf.yaml");
    let strict = text.replace("fail_on: high", "fail_on: medium");
    assert_ne!(
        strict, text,
        "the quickstart's gate moved; update this test"
    );
    std::fs::write(&config, strict).expect("write wharf.yaml");
    let before = snapshot(&dir);

    let out = offline(&["run", "--config", config.to_str().expect("utf-8 path")]);
    out.assert_code(1);
    assert!(
        out.stderr.contains("the gate (--fail-on medium) failed")
            && out.stderr.contains("sign skipped"),
        "{}",
        out.describe()
    );
    // The copy lists the image alone: no signature, no attestation.
    let index: Value = serde_json::from_slice(
        &std::fs::read(dir.join("wharf-out/image/index.json")).expect("index.json"),
    )
    .expect("JSON");
    assert_eq!(
        index["manifests"].as_array().map(Vec::len),
        Some(1),
        "{index}"
    );
    assert!(!dir.join("wharf-out/cosign.key").exists());
    let after = snapshot(&dir);
    for (rel, bytes) in &before {
        assert_eq!(after.get(rel), Some(bytes), "{rel} changed");
    }
}

#[test]
fn a_layout_is_signed_attested_and_verified_in_place_by_the_single_steps() {
    let work = tempfile::tempdir().expect("work dir");
    let dir = quickstart_copy(work.path());
    let layout = dir.join("image");
    let image = format!("oci:{}:1.4.2", layout.display());
    let key = work.path().join("cosign");
    wharf()
        .env("WHARF_PASSWORD", "pass")
        .args(["generate-key-pair", "--output-key-prefix"])
        .arg(&key)
        .run()
        .assert_ok();
    let private = format!("{}.key", key.display());
    let public = format!("{}.pub", key.display());
    let sign = |extra: &[&str]| {
        wharf_offline()
            .env("WHARF_PASSWORD", "pass")
            .args(["sign", &image, "--key", &private])
            .args(["--tlog-upload=false", "--timestamp=false"])
            .args(extra)
            .run()
    };
    // Named for the repository it will be pushed to, as promote will name it.
    let out = sign(&["--image-name", "registry.example.com/shop/api"]);
    out.assert_ok();
    assert!(
        out.stdout.contains("bundle stored as sha256:"),
        "{}",
        out.describe()
    );
    // Signing again by the same key finds the signature and adds nothing.
    let index_before = std::fs::read(layout.join("index.json")).expect("index.json");
    let out = sign(&[]);
    out.assert_ok();
    assert!(out.stdout.contains("already signed"), "{}", out.describe());
    assert_eq!(
        std::fs::read(layout.join("index.json")).expect("index.json"),
        index_before
    );
    // cosign's legacy tags are a registry thing: refused, nothing written.
    sign(&["--bundle-format", "both"]).assert_error(&["legacy", "registries"]);
    // --image-name is a repository, and only for a layout.
    sign(&["--image-name", "registry.example.com/shop/api:1.4.2"])
        .assert_error(&["--image-name", "repository only"]);
    wharf()
        .env("WHARF_PASSWORD", "pass")
        .args([
            "sign",
            "registry.example.com/shop/api:1.4.2",
            "--key",
            &private,
        ])
        .args(["--image-name", "registry.example.com/shop/api"])
        .run()
        .assert_error(&["drop --image-name"]);
    assert_eq!(
        std::fs::read(layout.join("index.json")).expect("index.json"),
        index_before
    );
    // The layout still names one image without a tag: referrers are not images.
    let untagged = format!("oci:{}", layout.display());
    let out = wharf()
        .args([
            "verify",
            &untagged,
            "--key",
            &public,
            "--insecure-ignore-tlog",
        ])
        .run();
    out.assert_ok();
    // A tampered bundle blob is refused (digest check), not trusted.
    let referrer = std::fs::read_to_string(layout.join("index.json")).expect("index.json");
    let index: Value = serde_json::from_str(&referrer).expect("JSON");
    let bundle_manifest = index["manifests"]
        .as_array()
        .and_then(|m| m.iter().find(|d| d["artifactType"].is_string()))
        .and_then(|d| d["digest"].as_str())
        .expect("a referrer entry")
        .to_string();
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(
            layout
                .join("blobs/sha256")
                .join(bundle_manifest.trim_start_matches("sha256:")),
        )
        .expect("manifest blob"),
    )
    .expect("JSON");
    assert_eq!(
        manifest["subject"]["digest"],
        layout_digest(&layout, "1.4.2").as_str()
    );
    let bundle_blob = layout.join("blobs/sha256").join(
        manifest["layers"][0]["digest"]
            .as_str()
            .expect("bundle layer")
            .trim_start_matches("sha256:"),
    );
    let mut bytes = std::fs::read(&bundle_blob).expect("bundle");
    let bundle: Value = serde_json::from_slice(&bytes).expect("bundle JSON");
    let payload = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        bundle["dsseEnvelope"]["payload"].as_str().expect("payload"),
    )
    .expect("base64");
    let statement: Value = serde_json::from_slice(&payload).expect("statement");
    assert_eq!(
        statement["subject"][0]["name"], "registry.example.com/shop/api",
        "{statement}"
    );
    let last = bytes.len() - 2;
    bytes[last] ^= 1;
    std::fs::write(&bundle_blob, bytes).expect("tamper");
    let out = wharf()
        .args(["verify", &image, "--key", &public, "--insecure-ignore-tlog"])
        .run();
    assert_ne!(out.code, Some(0), "{}", out.describe());
}

#[test]
fn a_lint_error_stops_the_run_before_anything_is_signed() {
    let work = tempfile::tempdir().expect("work dir");
    let dir = quickstart_copy(work.path());
    // An unpinned base image: error-level for wharf lint (and pin --check
    // would say so too, so pin is switched off to reach lint).
    let dockerfile = dir.join("Dockerfile");
    let text = std::fs::read_to_string(&dockerfile).expect("Dockerfile");
    std::fs::write(
        &dockerfile,
        format!("{text}\nFROM debian:latest\nUSER 1000\n"),
    )
    .expect("write Dockerfile");
    let config = dir.join("wharf.yaml");
    let text = std::fs::read_to_string(&config).expect("wharf.yaml");
    let no_pin = text.replace("pin:\n  enabled: true", "pin:\n  enabled: false");
    assert_ne!(
        no_pin, text,
        "the quickstart's pin section moved; update this test"
    );
    std::fs::write(&config, no_pin).expect("write wharf.yaml");

    let out = offline(&["run", "--config", config.to_str().expect("utf-8 path")]);
    out.assert_code(1);
    assert!(
        out.stdout.contains("error[base-image-unpinned]")
            && out.stderr.contains("lint FAILED")
            && out.stderr.contains("sign skipped"),
        "{}",
        out.describe()
    );
    let summary = run_json(&dir);
    assert_eq!(summary["outcome"], "policy");
    assert!(summary["signer"].is_null(), "{summary}");
    assert!(!dir.join("wharf-out/cosign.key").exists());
}

#[test]
fn the_bundled_layout_is_what_its_script_writes() {
    // scripts/quickstart-image.py is the image's source: editing one without
    // the other would leave the README's digests describing neither.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let work = tempfile::tempdir().expect("work dir");
    let out = work.path().join("image");
    let status = std::process::Command::new("python3")
        .arg(root.join("scripts/quickstart-image.py"))
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .status();
    match status {
        Ok(s) => assert!(s.success(), "quickstart-image.py failed: {s}"),
        Err(e) => {
            eprintln!("skipping: cannot run python3: {e}");
            return;
        }
    }
    let bundled = snapshot(&root.join("examples/quickstart/image"));
    let made = snapshot(&out);
    assert_eq!(
        made.keys().collect::<Vec<_>>(),
        bundled.keys().collect::<Vec<_>>()
    );
    assert!(made == bundled, "the bytes differ: run the script again");
}
