//! Admission judged by the engines: `wharf policy kyverno` (an
//! ImageValidatingPolicy) run through the Kyverno CLI v1.19.0 (`kyverno
//! apply`) against pods, and `wharf policy policy-controller` (a
//! ClusterImagePolicy with a `remote` TrustRoot) through policy-controller
//! v0.15.1's tester, naming images in a real registry, signed keylessly
//! through the real Sigstore stack with trust published by its TUF
//! repository, and by key. For every case the engine's verdict, `wharf
//! verify`'s and the expected one agree (where `wharf verify` can say: it
//! does not count vulnerabilities).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::oci::OciLayout;
use crate::common::registry::Registry;
use crate::common::sigstore::{peer, stack, Stack};
use crate::common::{output_of, wharf, Wharf};

const STRANGER: &str = "https://github.com/someone/else/.github/workflows/x.yml@refs/heads/main";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Admit,
    Deny,
}

struct Env {
    stack: &'static Stack,
    registry: Registry,
    dir: tempfile::TempDir,
    _layout: tempfile::TempDir,
    images: std::collections::BTreeMap<&'static str, String>,
}

impl Env {
    /// Pushes one image per name (`HOST/NAME@sha256:…`).
    fn start(names: &[&'static str]) -> Env {
        let stack = stack();
        let registry = Registry::start();
        let layout_dir = tempfile::tempdir().expect("layout");
        let mut layout = OciLayout::new(layout_dir.path());
        let mut images = std::collections::BTreeMap::new();
        for name in names {
            let image = layout.add_image(name, "linux", "amd64", &format!("admission {name}"));
            layout.push(name, &registry, name, "1.0");
            images.insert(
                *name,
                format!("{}/{name}@{}", registry.host(), image.digest),
            );
        }
        Env {
            stack,
            registry,
            dir: tempfile::tempdir().expect("dir"),
            _layout: layout_dir,
            images,
        }
    }

    fn image(&self, name: &str) -> &str {
        &self.images[name]
    }

    fn wharf(&self) -> Wharf {
        let mut cmd = wharf();
        cmd.arg("--insecure-registry")
            .arg(self.registry.host())
            .env("WHARF_TRUST_CONFIG", &self.stack.trust_config);
        cmd.envs(self.stack.github_env());
        cmd
    }

    fn attest(&self, image: &str, kind: &str, predicate: &str) {
        let file = self.dir.path().join(format!("{kind}.json"));
        std::fs::write(&file, predicate).expect("predicate");
        self.wharf()
            .args(["attest", image, "--type", kind, "--predicate"])
            .arg(&file)
            .run()
            .assert_code(0);
    }

    /// `wharf policy kyverno FLAGS --image-pattern HOST/* --tuf-mirror …`,
    /// written to a file.
    fn policy(&self, name: &str, flags: &[&str]) -> PathBuf {
        let path = self.dir.path().join(format!("{name}.yaml"));
        wharf()
            .args(["policy", "kyverno", "--name", name])
            .args(flags)
            .args(["--image-pattern", &format!("{}/*", self.registry.host())])
            .args(["--tuf-mirror", &self.stack.tuf_url, "--tuf-root"])
            .arg(&self.stack.tuf_root)
            .arg("-o")
            .arg(&path)
            .run()
            .assert_code(0);
        path
    }

    /// `wharf policy check FILES… IMAGE`: its verdict, or `None` for "cannot judge".
    fn check(&self, files: &[&Path], image: &str) -> Option<Verdict> {
        let out = self
            .wharf()
            .args(["policy", "check"])
            .args(files)
            .arg(image)
            .run();
        let last = out.stdout.lines().last().unwrap_or_default().to_string();
        match out.code {
            Some(0) if last.starts_with("admit") => Some(Verdict::Admit),
            Some(1) if last.starts_with("deny") => Some(Verdict::Deny),
            Some(1) if last.starts_with("cannot judge") => None,
            _ => panic!("wharf policy check gave no verdict: {}", out.describe()),
        }
    }

    /// `wharf policy policy-controller FLAGS …`: (TrustRoot, ClusterImagePolicy) files.
    fn controller_policy(&self, name: &str, flags: &[&str]) -> (PathBuf, PathBuf) {
        let out = wharf()
            .args(["policy", "policy-controller", "--name", name])
            .args(flags)
            .args(["--image-pattern", &format!("{}/*", self.registry.host())])
            .args(["--tuf-mirror", &self.stack.tuf_url, "--tuf-root"])
            .arg(&self.stack.tuf_root)
            .run();
        out.assert_code(0);
        // Both in one file too, as a GitOps repository keeps them.
        std::fs::write(self.dir.path().join(format!("{name}.yaml")), &out.stdout).expect("write");
        self.split_controller(name, &out.stdout)
    }

    /// A TrustRoot and a ClusterImagePolicy (one YAML text) as the two
    /// files policy-controller's tester takes, one document each.
    fn split_controller(&self, name: &str, text: &str) -> (PathBuf, PathBuf) {
        let docs: Vec<&str> = text.split("\n---\n").collect();
        assert_eq!(
            docs.len(),
            2,
            "a TrustRoot and a ClusterImagePolicy: {text}"
        );
        let trust_root = self.dir.path().join(format!("{name}.trustroot.yaml"));
        let policy = self.dir.path().join(format!("{name}.cip.yaml"));
        std::fs::write(&trust_root, docs[0]).expect("write");
        std::fs::write(&policy, docs[1]).expect("write");
        (trust_root, policy)
    }

    /// policy-controller's verdict (its tester) on `image`.
    fn controller(&self, policy: &(PathBuf, PathBuf), image: &str) -> Verdict {
        let home = self.dir.path().join("controller-home");
        std::fs::create_dir_all(&home).expect("home");
        let out = output_of(
            Command::new(peer("policy-tester"))
                .env_clear()
                .env("HOME", &home)
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .arg("--trustroot")
                .arg(&policy.0)
                .arg("--policy")
                .arg(&policy.1)
                .args(["--image", image]),
        );
        match out.code {
            Some(0) if out.stdout.contains("successful") || out.stderr.contains("successful") => {
                Verdict::Admit
            }
            Some(1) if out.stdout.contains("errors") => Verdict::Deny,
            _ => panic!(
                "policy-controller's tester gave no verdict: {}",
                out.describe()
            ),
        }
    }

    /// The engine's verdict on a pod running `image`.
    fn kyverno(&self, policy: &Path, image: &str) -> Verdict {
        let pod = self.dir.path().join("pod.yaml");
        std::fs::write(
            &pod,
            format!(
                "apiVersion: v1\nkind: Pod\nmetadata:\n  name: app\n  namespace: default\n\
                 spec:\n  containers:\n  - name: app\n    image: {image}\n"
            ),
        )
        .expect("pod");
        let home = self.dir.path().join("kyverno-home");
        std::fs::create_dir_all(&home).expect("home");
        let out = output_of(
            Command::new(peer("kyverno"))
                .env_clear()
                .env("HOME", &home)
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .arg("apply")
                .arg(policy)
                .arg("--resource")
                .arg(&pod),
        );
        let summary = out
            .stdout
            .lines()
            .find(|l| l.contains("pass:") && l.contains("fail:"))
            .unwrap_or_default()
            .to_string();
        // `pass: N, fail: N, warn: N, error: N, skip: N` (a ClusterPolicy
        // counts each pod twice: its autogen rules).
        let count = |what: &str| -> Option<u32> {
            summary
                .split(',')
                .find_map(|part| part.trim().strip_prefix(&format!("{what}: ")))
                .and_then(|n| n.trim().parse().ok())
        };
        match (out.code, count("pass"), count("fail"), count("error")) {
            (Some(0), Some(p), Some(0), Some(0)) if p > 0 => Verdict::Admit,
            (Some(1), Some(_), Some(f), Some(0)) if f > 0 => Verdict::Deny,
            _ => panic!("kyverno gave no verdict: {}", out.describe()),
        }
    }

    fn wharf_verify(&self, image: &str, flags: &[&str]) -> Verdict {
        let out = self.wharf().args(["verify", image]).args(flags).run();
        match out.code {
            Some(0) => Verdict::Admit,
            Some(1) => Verdict::Deny,
            _ => panic!("wharf verify gave no verdict: {}", out.describe()),
        }
    }
}

fn vuln_predicate(critical: u32, high: u32) -> String {
    format!(
        r#"{{"invocation":{{"parameters":null,"uri":"","event_id":"","builder.id":""}},"scanner":{{"uri":"pkg:github/wharf/wharf","version":"0.1.0","db":{{"uri":"","version":""}},"result":{{"summary":{{"critical":{critical},"high":{high},"medium":0,"low":0,"unknown":0}}}}}},"metadata":{{"scanStartedOn":"2026-01-01T00:00:00Z","scanFinishedOn":"2026-01-01T00:00:01Z"}}}}"#
    )
}

const BOM: &str = r#"{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[]}"#;

/// The keyless corpus: the signer's identity (exact and as a regexp),
/// another identity, an unsigned image, a missing SBOM attestation, a vuln
/// attestation over the threshold, and a pod naming a tag.
#[test]
fn the_engines_admit_exactly_what_wharf_verify_accepts() {
    require_peers!();
    require_registry!();
    let env = Env::start(&["signed", "unsigned", "attested", "vulnerable"]);
    for name in ["signed", "attested", "vulnerable"] {
        env.wharf()
            .args(["sign", env.image(name)])
            .run()
            .assert_code(0);
    }
    for name in ["attested", "vulnerable"] {
        env.attest(env.image(name), "cyclonedx", BOM);
    }
    env.attest(env.image("attested"), "vuln", &vuln_predicate(0, 0));
    env.attest(env.image("vulnerable"), "vuln", &vuln_predicate(0, 3));

    let identity = [
        "--certificate-identity",
        env.stack.identity(),
        "--certificate-oidc-issuer",
        env.stack.issuer(),
    ];
    let regexp = [
        "--certificate-identity-regexp",
        "https://github.com/wharf-test/app/.*",
        "--certificate-oidc-issuer",
        env.stack.issuer(),
    ];
    let other_regexp = [
        "--certificate-identity-regexp",
        "https://github.com/wharf-test/other/.*",
        "--certificate-oidc-issuer",
        env.stack.issuer(),
    ];
    let stranger = [
        "--certificate-identity",
        STRANGER,
        "--certificate-oidc-issuer",
        env.stack.issuer(),
    ];
    let exact = env.policy("exact", &identity);
    let by_regexp = env.policy("regexp", &regexp);
    let by_other_regexp = env.policy("other-regexp", &other_regexp);
    let by_stranger = env.policy("stranger", &stranger);
    let sbom = env.policy(
        "sbom",
        &[&identity[..], &["--attestation", "cyclonedx"]].concat(),
    );
    let vulns = env.policy(
        "vulns",
        &[
            &identity[..],
            &["--attestation", "cyclonedx", "--fail-on-vulns", "high"],
        ]
        .concat(),
    );

    use Verdict::{Admit, Deny};
    /// (case, policy, image, expected, `wharf verify` flags where it can say)
    type Case<'a> = (&'a str, &'a Path, &'a str, Verdict, Option<Vec<&'a str>>);
    let cases: Vec<Case> = vec![
        (
            "signed, exact identity",
            &exact,
            "signed",
            Admit,
            Some(identity.to_vec()),
        ),
        (
            "unsigned",
            &exact,
            "unsigned",
            Deny,
            Some(identity.to_vec()),
        ),
        (
            "another identity",
            &by_stranger,
            "signed",
            Deny,
            Some(stranger.to_vec()),
        ),
        (
            "identity by regexp",
            &by_regexp,
            "signed",
            Admit,
            Some(regexp.to_vec()),
        ),
        (
            "another regexp",
            &by_other_regexp,
            "signed",
            Deny,
            Some(other_regexp.to_vec()),
        ),
        (
            "SBOM attestation missing",
            &sbom,
            "signed",
            Deny,
            Some([&identity[..], &["--attestation-type", "cyclonedx"]].concat()),
        ),
        (
            "SBOM attestation present",
            &sbom,
            "attested",
            Admit,
            Some([&identity[..], &["--attestation-type", "cyclonedx"]].concat()),
        ),
        ("vulns under the threshold", &vulns, "attested", Admit, None),
        ("vulns over the threshold", &vulns, "vulnerable", Deny, None),
    ];
    let mut table = Vec::new();
    for (case, policy, image, expected, verify_flags) in cases {
        let engine = env.kyverno(policy, env.image(image));
        let by_wharf = verify_flags.map(|f| env.wharf_verify(env.image(image), &f));
        let dry_run = env.check(&[policy], env.image(image));
        table.push(format!(
            "{case}: kyverno {engine:?}, wharf verify {by_wharf:?}, wharf policy check {dry_run:?}"
        ));
        assert_eq!(engine, expected, "{case}: Kyverno");
        assert_eq!(dry_run, Some(expected), "{case}: wharf policy check");
        if let Some(v) = by_wharf {
            assert_eq!(v, expected, "{case}: wharf verify");
        }
    }
    // The deprecated ClusterPolicy (--kyverno-api cluster-policy), with
    // Kyverno's TUF trust set to the instance as a cluster runs it
    // (--tufMirror/--tufRoot; here the CLI's cache, which the
    // ImageValidatingPolicy runs above filled from the same repository).
    let cluster = |name: &str, flags: &[&str]| {
        env.policy(
            name,
            &[flags, &["--kyverno-api", "cluster-policy"]].concat(),
        )
    };
    let cp_exact = cluster("cp-exact", &identity);
    let cp_stranger = cluster("cp-stranger", &stranger);
    for (case, policy, image, expected) in [
        (
            "ClusterPolicy: signed, exact identity",
            &cp_exact,
            "signed",
            Admit,
        ),
        ("ClusterPolicy: unsigned", &cp_exact, "unsigned", Deny),
        (
            "ClusterPolicy: another identity",
            &cp_stranger,
            "signed",
            Deny,
        ),
    ] {
        let engine = env.kyverno(policy, env.image(image));
        let dry_run = env.check(&[policy], env.image(image));
        table.push(format!(
            "{case}: kyverno {engine:?}, wharf policy check {dry_run:?}"
        ));
        assert_eq!(engine, expected, "{case}: Kyverno");
        assert_eq!(dry_run, Some(expected), "{case}: wharf policy check");
    }

    // policy-controller, on the same images and flags.
    let controller = |name: &str, flags: &[&str]| env.controller_policy(name, flags);
    let c_exact = controller("c-exact", &identity);
    let c_regexp = controller("c-regexp", &regexp);
    let c_other_regexp = controller("c-other-regexp", &other_regexp);
    let c_stranger = controller("c-stranger", &stranger);
    let c_sbom = controller(
        "c-sbom",
        &[&identity[..], &["--attestation", "cyclonedx"]].concat(),
    );
    let c_vulns = controller(
        "c-vulns",
        &[
            &identity[..],
            &["--attestation", "cyclonedx", "--fail-on-vulns", "high"],
        ]
        .concat(),
    );
    for (case, policy, image, expected) in [
        ("signed, exact identity", &c_exact, "signed", Admit),
        ("unsigned", &c_exact, "unsigned", Deny),
        ("another identity", &c_stranger, "signed", Deny),
        ("identity by regexp", &c_regexp, "signed", Admit),
        ("another regexp", &c_other_regexp, "signed", Deny),
        ("SBOM attestation missing", &c_sbom, "signed", Deny),
        ("SBOM attestation present", &c_sbom, "attested", Admit),
        ("vulns under the threshold", &c_vulns, "attested", Admit),
        ("vulns over the threshold", &c_vulns, "vulnerable", Deny),
    ] {
        let verdict = env.controller(policy, env.image(image));
        let combined = policy.1.with_file_name(
            policy
                .1
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .replace(".cip.yaml", ".yaml"),
        );
        let dry_run = env.check(&[&combined], env.image(image));
        table.push(format!(
            "{case}: policy-controller {verdict:?}, wharf policy check {dry_run:?}"
        ));
        assert_eq!(verdict, expected, "{case}: policy-controller");
        assert_eq!(dry_run, Some(expected), "{case}: wharf policy check");
    }

    // Policies written by hand, in the shapes the engines' documentation
    // shows (not wharf's output): the engine and the dry run agree.
    use base64::Engine as _;
    let root_b64 = base64::engine::general_purpose::STANDARD
        .encode(std::fs::read(&env.stack.tuf_root).expect("TUF root"));
    let host = env.registry.host();
    let by_hand_kyverno = env.dir.path().join("by-hand-kyverno.yaml");
    std::fs::write(
        &by_hand_kyverno,
        format!(
            r#"apiVersion: policies.kyverno.io/v1
kind: ImageValidatingPolicy
metadata:
  name: check-images
spec:
  validationActions: [Deny]
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: ["v1"]
      operations: ["CREATE"]
      resources: ["pods"]
  matchImageReferences:
  - glob: "{host}/*"
  attestors:
  - name: cosign
    cosign:
      keyless:
        identities:
        - subjectRegExp: "https://github.com/wharf-test/.*"
          issuer: "{issuer}"
      tuf:
        mirror: "{mirror}"
        root:
          data: "{root_b64}"
  validations:
  - expression: >-
      images.containers.map(image, verifyImageSignatures(image, [attestors.cosign])).all(e, e > 0)
    message: failed to verify image signature
"#,
            issuer = env.stack.issuer(),
            mirror = env.stack.tuf_url,
        ),
    )
    .expect("write");
    let by_hand_controller = env.dir.path().join("by-hand-controller.yaml");
    std::fs::write(
        &by_hand_controller,
        format!(
            r#"apiVersion: policy.sigstore.dev/v1alpha1
kind: TrustRoot
metadata:
  name: private-sigstore
spec:
  remote:
    mirror: {mirror}
    root: {root_b64}
---
apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata:
  name: image-policy
spec:
  images:
  - glob: "{host}/**"
  authorities:
  - keyless:
      trustRootRef: private-sigstore
      identities:
      - issuer: {issuer}
        subject: {subject}
    ctlog:
      trustRootRef: private-sigstore
    signatureFormat: bundle
    attestations:
    - name: must-be-signed
      predicateType: https://sigstore.dev/cosign/sign/v1
"#,
            issuer = env.stack.issuer(),
            subject = env.stack.identity(),
            mirror = env.stack.tuf_url,
        ),
    )
    .expect("write");
    let split_controller = env.split_controller(
        "by-hand",
        &std::fs::read_to_string(&by_hand_controller).expect("read"),
    );
    for (image, expected) in [("signed", Admit), ("unsigned", Deny)] {
        let kyverno = env.kyverno(&by_hand_kyverno, env.image(image));
        let controller = env.controller(&split_controller, env.image(image));
        let dry_kyverno = env.check(&[&by_hand_kyverno], env.image(image));
        let dry_controller = env.check(&[&by_hand_controller], env.image(image));
        table.push(format!(
            "by hand, {image}: kyverno {kyverno:?} (check {dry_kyverno:?}), policy-controller {controller:?} (check {dry_controller:?})"
        ));
        assert_eq!(kyverno, expected, "by hand, {image}: Kyverno");
        assert_eq!(controller, expected, "by hand, {image}: policy-controller");
        assert_eq!(
            dry_kyverno,
            Some(expected),
            "by hand, {image}: check (Kyverno's)"
        );
        assert_eq!(
            dry_controller,
            Some(expected),
            "by hand, {image}: check (policy-controller's)"
        );
    }

    // A policy in the shape Kyverno's documentation shows, with a rule wharf
    // cannot evaluate (a label check in CEL): "cannot judge", never admit.
    let handwritten = env.dir.path().join("handwritten.yaml");
    let text = std::fs::read_to_string(&exact).expect("policy");
    let text = text.replace(
        "  validations:\n",
        "  validations:\n  - expression: object.metadata.?labels.?team.orValue('') == 'payments'\n    message: only the payments team\n",
    );
    std::fs::write(&handwritten, text).expect("write");
    assert_eq!(
        env.check(&[&handwritten], env.image("signed")),
        None,
        "a CEL rule"
    );
    // An image no policy names: the engines admit it, and so does the dry run.
    let elsewhere = format!("registry.example/elsewhere/app@sha256:{}", "0".repeat(64));
    assert_eq!(
        env.check(&[&exact], &elsewhere),
        Some(Admit),
        "an image no policy matches"
    );

    // A pod naming a tag, not a digest: refused (pin it first).
    let tagged = format!("{}/signed:1.0", env.registry.host());
    assert_eq!(env.kyverno(&exact, &tagged), Deny, "a tag");
    println!("{}", table.join("\n"));
}

/// A key signature (bundle, on Rekor v2 with a timestamp) under a key
/// policy; another key's policy refuses it.
#[test]
fn the_engines_admit_a_key_signature_under_its_key() {
    require_peers!();
    require_registry!();
    let env = Env::start(&["keyed", "legacy"]);
    let dir = env.dir.path();
    for prefix in ["k", "other"] {
        wharf()
            .env("WHARF_PASSWORD", "pw")
            .current_dir(dir)
            .args(["generate-key-pair", "--output-key-prefix", prefix])
            .run()
            .assert_code(0);
    }
    env.wharf()
        .env("WHARF_PASSWORD", "pw")
        .args(["sign", env.image("keyed"), "--key"])
        .arg(dir.join("k.key"))
        .run()
        .assert_code(0);
    let key = dir.join("k.pub").display().to_string();
    let other = dir.join("other.pub").display().to_string();
    let mine = env.policy("key", &["--key", &key]);
    let theirs = env.policy("other-key", &["--key", &other]);
    assert_eq!(env.kyverno(&mine, env.image("keyed")), Verdict::Admit);
    assert_eq!(env.kyverno(&theirs, env.image("keyed")), Verdict::Deny);
    assert_eq!(
        env.check(&[&mine], env.image("keyed")),
        Some(Verdict::Admit)
    );
    assert_eq!(
        env.check(&[&theirs], env.image("keyed")),
        Some(Verdict::Deny)
    );
    assert_eq!(
        env.wharf_verify(env.image("keyed"), &["--key", &key]),
        Verdict::Admit
    );
    assert_eq!(
        env.wharf_verify(env.image("keyed"), &["--key", &other]),
        Verdict::Deny
    );

    // cosign's legacy .sig format (on the testbed's Rekor v1) under the
    // ClusterPolicy's legacy path (type Cosign), with the instance's keys
    // in the policy: the v1 log, not the trusted root's first (v2) one.
    env.wharf()
        .env("WHARF_PASSWORD", "pw")
        .env("WHARF_TRUST_CONFIG", &env.stack.trust_config_v1)
        .args([
            "sign",
            env.image("legacy"),
            "--bundle-format",
            "legacy",
            "--key",
        ])
        .arg(dir.join("k.key"))
        .run()
        .assert_code(0);
    let legacy = |name: &str, key: &str| {
        let path = env.dir.path().join(format!("{name}.yaml"));
        wharf()
            .args([
                "policy",
                "kyverno",
                "--kyverno-api",
                "cluster-policy",
                "--name",
                name,
            ])
            .args(["--key", key, "--signature-format", "legacy"])
            .args(["--image-pattern", &format!("{}/*", env.registry.host())])
            .arg("--trust-config")
            .arg(&env.stack.trust_config_v1)
            .arg("-o")
            .arg(&path)
            .run()
            .assert_code(0);
        path
    };
    let mine = legacy("legacy-key", &key);
    let theirs = legacy("legacy-other-key", &other);
    assert_eq!(env.kyverno(&mine, env.image("legacy")), Verdict::Admit);
    assert_eq!(env.kyverno(&theirs, env.image("legacy")), Verdict::Deny);
    let with_v1 = |files: &[&Path]| {
        let out = env
            .wharf()
            .env("WHARF_TRUST_CONFIG", &env.stack.trust_config_v1)
            .args(["policy", "check"])
            .args(files)
            .arg(env.image("legacy"))
            .run();
        out.code
    };
    assert_eq!(with_v1(&[&mine]), Some(0));
    assert_eq!(with_v1(&[&theirs]), Some(1));

    // policy-controller checks keys in the legacy format: the same
    // signature under its ClusterImagePolicy and a TrustRoot of the
    // instance's keys.
    let controller = |name: &str, key: &str| {
        let out = wharf()
            .args(["policy", "policy-controller", "--name", name])
            .args(["--key", key, "--signature-format", "legacy"])
            .args(["--image-pattern", &format!("{}/*", env.registry.host())])
            .arg("--trust-config")
            .arg(&env.stack.trust_config_v1)
            .run();
        out.assert_code(0);
        env.split_controller(name, &out.stdout)
    };
    let mine = controller("c-legacy-key", &key);
    let theirs = controller("c-legacy-other-key", &other);
    assert_eq!(env.controller(&mine, env.image("legacy")), Verdict::Admit);
    assert_eq!(env.controller(&theirs, env.image("legacy")), Verdict::Deny);
}
