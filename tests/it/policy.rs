//! `wharf policy`: the generated admission policies validate against the
//! engines' schemas, strictly (an unknown field is an error, as
//! `kubectl apply --validate=strict` makes it), and carry the identity
//! `wharf verify` enforces for the same flags.
//!
//! Schemas: no package on crates.io, PyPI, npm or Debian ships Kyverno's or
//! policy-controller's CRDs, so the tests use allowlists written by us from
//! the engines' Go types and CRDs (tests/fixtures/policy). Given the CRDs
//! themselves (`WHARF_KYVERNO_CRD`, `WHARF_POLICY_CONTROLLER_CRD`,
//! `WHARF_TRUSTROOT_CRD`: kyverno.io_clusterpolicies.yaml,
//! 300-clusterimagepolicy.yaml, 300-trustroot.yaml), the same policies are
//! validated against them too, made strict by scripts/crd-strict-schema.py.
//! Every ClusterPolicy is also checked against Kyverno's API types as npm's
//! `@kubernetes-models/kyverno` compiles them (types, enums, required
//! fields; it does not refuse unknown fields, which the allowlist does).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::wharf;

const ISSUER: &str = "https://token.actions.githubusercontent.com";
const ID: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/\
.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The CRD named by `var`, made strict, written into `dir`; `None` when
/// the variable is unset.
fn strict_crd(python: &Path, var: &str, version: &str, dir: &Path) -> Option<PathBuf> {
    let crd = std::env::var_os(var)?;
    let out = Command::new(python)
        .arg(repo().join("scripts/crd-strict-schema.py"))
        .arg(&crd)
        .arg(version)
        .output()
        .expect("run crd-strict-schema.py");
    assert!(
        out.status.success(),
        "crd-strict-schema.py {crd:?} {version}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = dir.join(format!("{var}.strict.json"));
    std::fs::write(&path, &out.stdout).expect("write the strict schema");
    Some(path)
}

/// Splits a generated file into its YAML documents, one file each, named
/// by kind.
fn split(text: &str, dir: &Path, stem: &str) -> Vec<(String, PathBuf)> {
    text.split("\n---\n")
        .enumerate()
        .map(|(i, doc)| {
            let kind = doc
                .lines()
                .find_map(|l| l.strip_prefix("kind: "))
                .expect("a kind")
                .to_string();
            let path = dir.join(format!("{stem}-{i}.yaml"));
            std::fs::write(&path, doc).expect("write a document");
            (kind, path)
        })
        .collect()
}

#[test]
fn generated_policies_validate_strictly_against_the_engines_schemas() {
    let Some(python) = crate::common::python_with(
        "generated_policies_validate_strictly",
        "check_jsonschema, yaml",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let key = dir.path().join("cosign.pub");
    std::fs::write(
        &key,
        "-----BEGIN PUBLIC KEY-----\n\
         MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEypRjQuUAtKNcKd+evkoguM/5S28a\n\
         9Yn+5V+e95yoHBUmMuXDhKN35YbomFYSx23pbqzJZPWZD2BEDzH3qJmeeA==\n\
         -----END PUBLIC KEY-----\n",
    )
    .expect("write key");
    let key = key.to_str().expect("utf-8 path").to_string();
    let root = repo().join("../shared/sigstore-conformance/trusted_root.public-good.json");
    let root = root.to_str().expect("utf-8 path").to_string();

    let keyless: Vec<Vec<String>> = vec![
        vec![
            "--certificate-identity".into(),
            ID.into(),
            "--certificate-oidc-issuer".into(),
            ISSUER.into(),
        ],
        vec![
            "--certificate-identity-regexp".into(),
            "https://github.com/acme/.*".into(),
            "--certificate-oidc-issuer-regexp".into(),
            "https://token\\.actions\\.githubusercontent\\.com".into(),
        ],
        vec![
            "--certificate-identity".into(),
            "ci-*@example.com".into(),
            "--certificate-oidc-issuer".into(),
            ISSUER.into(),
        ],
    ];
    let mut variants: Vec<Vec<String>> = Vec::new();
    for id in &keyless {
        variants.push(id.clone());
        variants.push(
            [
                &id[..],
                &[
                    "--attestation".into(),
                    "cyclonedx".into(),
                    "--attestation".into(),
                    "https://example.com/custom/v1".into(),
                    "--fail-on-vulns".into(),
                    "high".into(),
                    "--mode".into(),
                    "audit".into(),
                ],
            ]
            .concat(),
        );
        variants.push([&id[..], &["--signature-format".into(), "legacy".into()]].concat());
    }
    variants.push(vec![
        "--key".into(),
        key.clone(),
        "--signature-format".into(),
        "legacy".into(),
    ]);
    variants.push(vec![
        "--key".into(),
        key.clone(),
        "--insecure-ignore-tlog".into(),
        "--signature-format".into(),
        "legacy".into(),
        "--fail-on-vulns".into(),
        "low".into(),
    ]);
    if Path::new(&root).is_file() {
        // A private Sigstore's trust (here: public-good's root, as a file).
        variants.push([&keyless[0][..], &["--trusted-root".into(), root.clone()]].concat());
        variants.push(
            [
                &keyless[1][..],
                &[
                    "--trusted-root".into(),
                    root.clone(),
                    "--signature-format".into(),
                    "legacy".into(),
                ],
            ]
            .concat(),
        );
    }

    let mut by_kind: std::collections::BTreeMap<String, Vec<PathBuf>> = Default::default();
    for (i, flags) in variants.iter().enumerate() {
        for engine in ["kyverno", "policy-controller"] {
            // ClusterPolicy is what these schemas describe; the
            // ImageValidatingPolicy is judged by Kyverno itself (admission).
            let api: &[&str] = if engine == "kyverno" {
                &["--kyverno-api", "cluster-policy"]
            } else {
                &[]
            };
            let out = wharf()
                .arg("policy")
                .arg(engine)
                .args(flags)
                .args(api)
                .args(["--image-pattern", "ghcr.io/acme/*"])
                .run();
            let keys_for_bundles = engine == "policy-controller"
                && flags.iter().any(|f| f == "--trusted-root")
                && !flags.iter().any(|f| f == "legacy");
            if keys_for_bundles {
                // policy-controller v0.15.1 cannot verify bundles against a
                // TrustRoot of keys: refused when written.
                out.assert_code(2);
                assert!(out.stderr.contains("--tuf-mirror"), "{}", out.describe());
                continue;
            }
            out.assert_ok();
            for (kind, path) in split(&out.stdout, dir.path(), &format!("{engine}-{i}")) {
                by_kind.entry(kind).or_default().push(path);
            }
        }
    }
    let fixtures = repo().join("tests/fixtures/policy");
    let schemas = [
        (
            "ClusterPolicy",
            "kyverno-clusterpolicy-v1.allowlist.json",
            "WHARF_KYVERNO_CRD",
            "v1",
        ),
        (
            "ClusterImagePolicy",
            "policy-controller-clusterimagepolicy-v1beta1.allowlist.json",
            "WHARF_POLICY_CONTROLLER_CRD",
            "v1beta1",
        ),
        (
            "TrustRoot",
            "policy-controller-trustroot-v1alpha1.allowlist.json",
            "WHARF_TRUSTROOT_CRD",
            "v1alpha1",
        ),
    ];
    for (kind, allowlist, var, version) in schemas {
        let files = by_kind.get(kind).cloned().unwrap_or_default();
        if kind != "TrustRoot" || Path::new(&root).is_file() {
            assert!(!files.is_empty(), "no {kind} was generated");
        }
        if files.is_empty() {
            continue;
        }
        crate::common::check_jsonschema(&python, &fixtures.join(allowlist), &[], &files)
            .unwrap_or_else(|e| panic!("{kind} against {allowlist}:\n{e}"));
        if kind == "ClusterPolicy" {
            if let Some(result) = kyverno_types(&python, &files, dir.path()) {
                result.unwrap_or_else(|e| panic!("{kind} against Kyverno's API types:\n{e}"));
            }
        }
        match strict_crd(&python, var, version, dir.path()) {
            Some(strict) => crate::common::check_jsonschema(&python, &strict, &[], &files)
                .unwrap_or_else(|e| panic!("{kind} against the CRD in ${var}:\n{e}")),
            None => println!("{var} is unset: {kind} checked against wharf's allowlist only"),
        }
    }

    // Kyverno's types refuse what Kyverno would: a type it does not know.
    let bad_type = dir.path().join("bad-type.yaml");
    let first = &by_kind["ClusterPolicy"][0];
    let text = std::fs::read_to_string(first).expect("read");
    assert!(text.contains("type: SigstoreBundle"), "{text}");
    std::fs::write(
        &bad_type,
        text.replace("type: SigstoreBundle", "type: Sigstore"),
    )
    .expect("write");
    if let Some(result) = kyverno_types(&python, &[bad_type], dir.path()) {
        let e = result.expect_err("an unknown verifyImages type passes Kyverno's types");
        assert!(e.contains("allowed values"), "{e}");
    }

    // The allowlists are strict: a field the CRD does not have is refused.
    let bogus = dir.path().join("bogus.yaml");
    let first = &by_kind["ClusterImagePolicy"][0];
    let text = std::fs::read_to_string(first).expect("read");
    std::fs::write(&bogus, text.replace("  mode:", "  modes:")).expect("write");
    let e = crate::common::check_jsonschema(
        &python,
        &fixtures.join("policy-controller-clusterimagepolicy-v1beta1.allowlist.json"),
        &[],
        &[bogus],
    )
    .expect_err("an unknown field passes");
    assert!(e.contains("modes"), "{e}");
}

/// Kyverno's own API types, as `@kubernetes-models/kyverno` (npm; generated
/// from kyverno's Go API) compiles them into validators: an independent
/// check of types, enums and required fields beside our strict allowlist.
/// `None`, with the reason printed, where node or the package is missing
/// (`.ci/run` installs it and sets `WHARF_NODE_MODULES`).
fn kyverno_types(python: &Path, files: &[PathBuf], dir: &Path) -> Option<Result<(), String>> {
    let modules = match std::env::var_os("WHARF_NODE_MODULES") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
            .join(".cache/wharf-npm/node_modules"),
    };
    let package = modules.join("@kubernetes-models/kyverno");
    if crate::common::which("node").is_none() || !package.is_dir() {
        println!(
            "skipped: Kyverno's API types: needs node and {} (npm install @kubernetes-models/kyverno; .ci/run does)",
            package.display()
        );
        return None;
    }
    // An ES module finds packages in a node_modules beside it.
    let check = dir.join("kyverno-types");
    std::fs::create_dir_all(&check).expect("mkdir");
    let link = check.join("node_modules");
    if !link.exists() {
        std::os::unix::fs::symlink(&modules, &link).expect("link node_modules");
    }
    std::fs::write(
        check.join("check.mjs"),
        r#"import { ClusterPolicy } from "@kubernetes-models/kyverno/kyverno.io/v1/ClusterPolicy";
import fs from "node:fs";
const docs = JSON.parse(fs.readFileSync(0, "utf8"));
let bad = 0;
for (const [name, doc] of Object.entries(docs)) {
  try { new ClusterPolicy(doc).validate(); }
  catch (e) { bad++; console.log(`${name}: ${e.message}`); }
}
console.log(`${Object.keys(docs).length - bad} of ${Object.keys(docs).length} valid`);
process.exit(bad ? 1 : 0);
"#,
    )
    .expect("write check.mjs");
    let json = Command::new(python)
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps({p: yaml.safe_load(open(p)) for p in sys.argv[1:]}))",
        ])
        .args(files)
        .output()
        .expect("run python");
    assert!(
        json.status.success(),
        "{}",
        String::from_utf8_lossy(&json.stderr)
    );
    let mut node = Command::new("node")
        .arg(check.join("check.mjs"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run node");
    use std::io::Write as _;
    node.stdin
        .take()
        .expect("stdin")
        .write_all(&json.stdout)
        .expect("feed node");
    let out = node.wait_with_output().expect("node");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(if out.status.success() {
        Ok(())
    } else {
        Err(text)
    })
}

/// The conformance corpus' happy-path bundle, its artifact and root.
fn happy_path(test: &str) -> Option<(PathBuf, PathBuf, PathBuf)> {
    let corpus = repo().join("../shared/sigstore-conformance");
    if !corpus.is_dir() {
        println!("skipping {test}: {} is absent", corpus.display());
        return None;
    }
    Some((
        corpus.join("bundle-verify/happy-path-v0.1/bundle.sigstore.json"),
        corpus.join("a.txt"),
        corpus.join("trusted_root.public-good.json"),
    ))
}

/// The subject/issuer fields of a generated policy, as (field, value).
fn identity_fields(policy: &str) -> Vec<(String, String)> {
    policy
        .lines()
        .map(str::trim_start)
        .map(|l| l.trim_start_matches("- "))
        .filter_map(|l| l.split_once(": "))
        .filter(|(k, _)| ["subject", "subjectRegExp", "issuer", "issuerRegExp"].contains(k))
        .map(|(k, v)| (k.to_string(), v.trim_matches('\'').replace("''", "'")))
        .collect()
}

/// Go's `regexp.MatchString` searches: Rust's `is_match` does the same for
/// the RE2-compatible patterns `wharf policy` lets through.
fn engine_admits(fields: &[(String, String)], san: &str, issuer: &str) -> bool {
    let mut subject_ok = false;
    let mut issuer_ok = false;
    for (k, v) in fields {
        let hit = |value: &str| match k.ends_with("RegExp") {
            true => regex::Regex::new(v)
                .expect("the policy's regexp")
                .is_match(value),
            false => v == value,
        };
        if k.starts_with("subject") {
            subject_ok = hit(san);
        } else {
            issuer_ok = hit(issuer);
        }
    }
    subject_ok && issuer_ok
}

#[test]
fn the_policy_admits_the_signer_wharf_verify_admits_and_refuses_the_one_it_refuses() {
    let Some((bundle, artifact, root)) = happy_path("the_policy_admits_the_signer") else {
        return;
    };
    // Identity flags, and whether wharf verify-blob accepts the real bundle.
    let cases: &[(&[&str], bool)] = &[
        (
            &[
                "--certificate-identity-regexp",
                "https://github.com/sigstore-conformance/.*",
                "--certificate-oidc-issuer",
                ISSUER,
            ],
            true,
        ),
        // A substring of the identity: an unanchored search would admit it.
        (
            &[
                "--certificate-identity-regexp",
                "sigstore-conformance",
                "--certificate-oidc-issuer",
                ISSUER,
            ],
            false,
        ),
        (
            &[
                "--certificate-identity",
                ID,
                "--certificate-oidc-issuer-regexp",
                "https://token\\.actions\\.githubusercontent\\.com",
            ],
            true,
        ),
        (
            &[
                "--certificate-identity",
                ID,
                "--certificate-oidc-issuer-regexp",
                "token\\.actions",
            ],
            false,
        ),
    ];
    for (flags, accepted) in cases {
        let verify = wharf()
            .arg("verify-blob")
            .arg("--bundle")
            .arg(&bundle)
            .arg("--trusted-root")
            .arg(&root)
            .args(*flags)
            .arg(&artifact)
            .run();
        verify.assert_code(if *accepted { 0 } else { 1 });
        for engine in ["kyverno", "policy-controller"] {
            let out = wharf()
                .args(["policy", engine])
                .args(*flags)
                .args(["--image-pattern", "ghcr.io/acme/*"])
                .run();
            out.assert_ok();
            let fields = identity_fields(&out.stdout);
            assert_eq!(fields.len(), 2, "{}", out.stdout);
            assert_eq!(
                engine_admits(&fields, ID, ISSUER),
                *accepted,
                "{engine} for {flags:?} disagrees with wharf verify-blob: {fields:?}"
            );
        }
    }
}

#[test]
fn bad_input_exits_2_saying_what_to_do_and_output_goes_to_the_file() {
    let out = wharf()
        .args(["policy", "kyverno", "--certificate-identity", "x"])
        .args(["--certificate-oidc-issuer", ISSUER])
        .run();
    out.assert_code(2);
    assert!(out.stdout.is_empty(), "{}", out.describe());
    assert!(out.stderr.contains("--image-pattern"), "{}", out.describe());

    let out = wharf()
        .args([
            "policy",
            "kyverno",
            "--certificate-identity-regexp",
            r"v\d+",
        ])
        .args(["--certificate-oidc-issuer", ISSUER])
        .args(["--image-pattern", "ghcr.io/acme/*"])
        .run();
    out.assert_code(2);
    assert!(out.stderr.contains("[0-9]"), "{}", out.describe());

    let out = wharf()
        .args(["policy", "gatekeeper", "--key", "k.pub"])
        .run();
    out.assert_code(2);

    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("policy.yaml");
    let out = wharf()
        .args(["policy", "policy-controller", "--certificate-identity", ID])
        .args(["--certificate-oidc-issuer", ISSUER])
        .args(["--image-pattern", "ghcr.io/acme/*", "-o"])
        .arg(&file)
        .run();
    out.assert_ok();
    assert!(out.stdout.is_empty(), "{}", out.describe());
    let text = std::fs::read_to_string(&file).expect("the policy file");
    assert!(text.starts_with("# Generated by wharf"), "{text}");
    assert!(text.contains("kind: ClusterImagePolicy"), "{text}");
    assert!(out.stderr.contains("policy.yaml"), "{}", out.describe());
}

/// `wharf run` with a `policy:` section: after verify, the policy for the
/// identity that just signed (the testbed's), with the testbed's trust, the
/// attestations the run made and the vuln gate — schema-valid.
#[test]
fn wharf_run_writes_the_policy_for_the_identity_that_signed() {
    require_registry!();
    let Some(python) =
        crate::common::python_with("wharf_run_writes_the_policy", "check_jsonschema, yaml")
    else {
        return;
    };
    let crate::run::Setup { env, work, db, .. } = crate::run::setup();
    let dir = work.path();
    let repo = env.image("vuln");
    std::fs::write(
        dir.join("wharf.yaml"),
        format!(
            "image: {repo}:1.0\nscan:\n  db: {}\n  fail_on: critical\nattest:\n  vuln: true\n\
             sign:\n  bundle_format: legacy\n\
             policy:\n  engine: policy-controller\n  output: deploy/policy.yaml\n  fail_on_vulns: critical\n",
            db.display()
        ),
    )
    .expect("wharf.yaml");
    std::fs::create_dir_all(dir.join("deploy")).expect("deploy dir");
    let mut cmd = env.wharf();
    for (k, v) in env.testbed.github_env() {
        cmd.env(k, v);
    }
    let out = cmd.current_dir(dir).arg("run").run();
    out.assert_ok();
    assert!(
        out.stderr.contains("wrote the admission policy to"),
        "{}",
        out.describe()
    );
    let text = std::fs::read_to_string(dir.join("deploy/policy.yaml")).expect("the policy");
    let docs = split(&text, dir, "run");
    let kinds: Vec<&str> = docs.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(kinds, ["TrustRoot", "ClusterImagePolicy"], "{text}");
    let fields = identity_fields(&text);
    assert_eq!(
        fields,
        [
            ("issuer".to_string(), env.testbed.issuer().to_string()),
            ("subject".to_string(), env.testbed.identity().to_string()),
        ],
        "{text}"
    );
    assert!(text.contains(&format!("- glob: {repo}**")), "{text}");
    assert!(
        text.contains("predicateType: https://cyclonedx.org/bom"),
        "{text}"
    );
    assert!(
        text.contains("input.predicate.scanner.result.summary.critical == 0"),
        "{text}"
    );
    let fixtures = repo_fixtures();
    crate::common::check_jsonschema(
        &python,
        &fixtures.join("policy-controller-trustroot-v1alpha1.allowlist.json"),
        &[],
        &[docs[0].1.clone()],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    crate::common::check_jsonschema(
        &python,
        &fixtures.join("policy-controller-clusterimagepolicy-v1beta1.allowlist.json"),
        &[],
        &[docs[1].1.clone()],
    )
    .unwrap_or_else(|e| panic!("{e}"));
}

fn repo_fixtures() -> PathBuf {
    repo().join("tests/fixtures/policy")
}
