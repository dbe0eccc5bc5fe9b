//! The interop matrix, judged by the real peers: cosign v3 verifies what
//! wharf signs and wharf verifies what cosign signs, through the real
//! Sigstore on loopback (Fulcio with a CT log, Rekor v2, a TSA; the
//! testbed's Rekor v1 where a legacy format needs one), on Debian's
//! registry (no referrers API: the `sha256-<hex>` fallback index) and on a
//! registry with the OCI 1.1 referrers API. Every cell also checks that
//! another identity or key is refused on both sides.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::oci::OciLayout;
use crate::common::registry::Registry;
use crate::common::sigstore::{peer, stack, Stack};
use crate::common::{output_of, wharf, Output, Wharf};

/// Which registry a cell runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Debian's docker-registry 2.8: no referrers API.
    Debian,
    /// go-containerregistry's, with the referrers API.
    Referrers,
}

const PASSWORD: &str = "interop passphrase";
const STRANGER: &str = "https://github.com/someone/else/.github/workflows/x.yml@refs/heads/main";

struct Env {
    stack: &'static Stack,
    registry: Registry,
    dir: tempfile::TempDir,
    _layout: tempfile::TempDir,
    /// `HOST/app@sha256:…` and `HOST/other@sha256:…`, unsigned.
    app: String,
    other: String,
}

impl Env {
    fn start(kind: Kind) -> Env {
        let stack = stack();
        let registry = match kind {
            Kind::Debian => Registry::start(),
            Kind::Referrers => Registry::start_referrers(),
        };
        let layout_dir = tempfile::tempdir().expect("layout dir");
        let mut layout = OciLayout::new(layout_dir.path());
        let app = layout.add_image("app", "linux", "amd64", "interop app");
        let other = layout.add_image("other", "linux", "amd64", "interop other");
        layout.push("app", &registry, "app", "1.0");
        layout.push("other", &registry, "other", "1.0");
        let host = registry.host().to_string();
        Env {
            stack,
            registry,
            dir: tempfile::tempdir().expect("work dir"),
            _layout: layout_dir,
            app: format!("{host}/app@{}", app.digest),
            other: format!("{host}/other@{}", other.digest),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// wharf, trusting the stack (Rekor v2 only unless `trust` says).
    fn wharf(&self, trust: &Path) -> Wharf {
        let mut cmd = wharf();
        cmd.arg("--insecure-registry")
            .arg(self.registry.host())
            .env("WHARF_TRUST_CONFIG", trust);
        cmd
    }

    /// `wharf sign` keyless inside a simulated GitHub Actions job.
    fn wharf_sign(&self, image: &str, extra: &[&str]) -> Output {
        let mut cmd = self.wharf(&self.stack.trust_config);
        cmd.envs(self.stack.github_env());
        cmd.args(["sign", image]).args(extra).run()
    }

    fn wharf_verify(&self, image: &str, extra: &[&str]) -> Output {
        self.wharf(&self.stack.trust_config)
            .args(["verify", image])
            .args(extra)
            .run()
    }

    /// `wharf verify IMAGE --key PUB`.
    fn wharf_verify_key(&self, image: &str, public: &Path, extra: &[&str]) -> Output {
        let mut cmd = self.wharf(&self.stack.trust_config);
        cmd.args(["verify", image, "--key"]).arg(public).args(extra);
        cmd.run()
    }

    /// `wharf sign --key KEY` (passphrase [`PASSWORD`]).
    fn wharf_sign_key(&self, trust: &Path, image: &str, key: &Path, extra: &[&str]) -> Output {
        let mut cmd = self.wharf(trust);
        cmd.env("WHARF_PASSWORD", PASSWORD)
            .args(["sign", image, "--key"])
            .arg(key)
            .args(extra);
        cmd.run()
    }

    /// A cosign key pair made by `cosign generate-key-pair` (the peer's
    /// own format): `(private, public)`.
    fn cosign_key_pair(&self, name: &str) -> (PathBuf, PathBuf) {
        let dir = self.path(name);
        std::fs::create_dir_all(&dir).expect("key dir");
        let mut cmd = self.cosign();
        cmd.current_dir(&dir)
            .env("COSIGN_PASSWORD", PASSWORD)
            .arg("generate-key-pair");
        output_of(&mut cmd).assert_code(0);
        (dir.join("cosign.key"), dir.join("cosign.pub"))
    }

    /// `cosign verify --trusted-root … [ARGS] IMAGE`.
    fn cosign_verify(&self, image: &str, args: &[&str]) -> Output {
        let mut cmd = self.cosign();
        cmd.args(["verify", "--trusted-root"])
            .arg(&self.stack.trusted_root)
            .args(args)
            .arg(image);
        output_of(&mut cmd)
    }

    /// cosign signing or attesting keylessly through the stack: `cosign
    /// VERB -y --signing-config … --trusted-root … --identity-token FILE
    /// [ARGS] IMAGE`.
    fn cosign_keyless(&self, verb: &str, image: &str, args: &[&str]) -> Output {
        let mut cmd = self.cosign();
        cmd.args([verb, "-y", "--signing-config"])
            .arg(&self.stack.signing_config)
            .arg("--trusted-root")
            .arg(&self.stack.trusted_root)
            .arg("--identity-token")
            .arg(self.stack.token_file())
            .args(args)
            .arg(image);
        output_of(&mut cmd)
    }

    /// Whether the registry holds the `sha256-<hex>` fallback index for
    /// the digest of `image` (read by skopeo, not by wharf).
    fn has_fallback_tag(&self, image: &str) -> bool {
        let (repo, digest) = image.split_once('@').expect("IMAGE@DIGEST");
        let out = crate::common::oci::skopeo()
            .args(["inspect", "--raw", "--tls-verify=false"])
            .arg(format!("docker://{repo}:{}", digest.replacen(':', "-", 1)))
            .output()
            .expect("run skopeo");
        out.status.success()
    }

    /// The identity flags of the stack's default token.
    fn identity(&self) -> [&str; 4] {
        [
            "--certificate-identity",
            self.stack.identity(),
            "--certificate-oidc-issuer",
            self.stack.issuer(),
        ]
    }

    /// Identity flags naming a workflow that did not sign.
    fn stranger(&self) -> [&str; 4] {
        [
            "--certificate-identity",
            STRANGER,
            "--certificate-oidc-issuer",
            self.stack.issuer(),
        ]
    }

    /// cosign with a HOME of its own (no TUF cache, no credentials).
    fn cosign(&self) -> Command {
        let mut cmd = Command::new(peer("cosign"));
        let home = self.path("cosign-home");
        std::fs::create_dir_all(&home).expect("cosign home");
        cmd.env_clear()
            .env("HOME", &home)
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("TUF_ROOT", home.join("tuf"))
            .stdin(std::process::Stdio::null());
        cmd
    }
}

/// Each cell runs once per registry kind: `cells!(a, b)` makes
/// `debian::a`, `referrers::a`, ….
macro_rules! cells {
    ($($cell:ident),+ $(,)?) => {
        cells!(@kind debian, Debian, $($cell),+);
        cells!(@kind referrers, Referrers, $($cell),+);
    };
    (@kind $module:ident, $kind:ident, $($cell:ident),+) => {
        mod $module {
            $(
                #[test]
                fn $cell() {
                    require_peers!();
                    require_registry!();
                    super::$cell(super::Kind::$kind);
                }
            )+
        }
    };
}

cells!(
    keyless_wharf_signs_cosign_verifies,
    keyless_cosign_signs_wharf_verifies,
    keyless_through_the_testbed_both_ways,
    key_wharf_signs_on_rekor_v2_cosign_verifies,
    key_cosign_signs_on_rekor_v2_wharf_verifies,
    key_offline_both_ways,
    legacy_sig_both_ways,
    bundle_format_both_cosign_verifies_each,
    attestations_both_ways,
    two_signers_on_one_digest,
    a_moved_tag_and_a_copied_bundle_are_refused_by_both,
);

/// Keyless through real Fulcio (with SCTs from the CT log) and Rekor v2:
/// cosign accepts wharf's signature for its identity and nothing else, and
/// wharf writes the fallback tag only where the registry has no referrers
/// API, as cosign does.
fn keyless_wharf_signs_cosign_verifies(kind: Kind) {
    let env = Env::start(kind);
    env.wharf_sign(&env.app, &[]).assert_code(0);

    env.cosign_verify(&env.app, &env.identity()).assert_code(0);
    assert_ne!(env.cosign_verify(&env.app, &env.stranger()).code, Some(0));
    assert_ne!(env.cosign_verify(&env.other, &env.identity()).code, Some(0));
    env.wharf_verify(&env.app, &env.identity()).assert_code(0);
    env.wharf_verify(&env.app, &env.stranger()).assert_code(1);
    env.wharf_verify(&env.other, &env.identity()).assert_code(1);
    assert_eq!(
        env.has_fallback_tag(&env.app),
        kind == Kind::Debian,
        "the fallback tag is for registries without the referrers API"
    );
}

/// cosign's keyless bundle (real Fulcio, Rekor v2, TSA), found by wharf
/// on both registries, even where the referrers API describes it by its
/// config's media type.
fn keyless_cosign_signs_wharf_verifies(kind: Kind) {
    let env = Env::start(kind);
    env.cosign_keyless("sign", &env.app, &[]).assert_code(0);

    let verified = env.wharf_verify(&env.app, &env.identity());
    verified.assert_code(0);
    env.wharf_verify(&env.app, &env.stranger()).assert_code(1);
    env.wharf_verify(&env.other, &env.identity()).assert_code(1);
    assert_eq!(
        env.has_fallback_tag(&env.app),
        kind == Kind::Debian,
        "cosign writes the fallback tag only without the referrers API"
    );
}

/// A cosign key (cosign's own file) signing through wharf onto Rekor v2
/// (hashedrekord 0.0.2 over the DSSE PAE) with a TSA timestamp.
fn key_wharf_signs_on_rekor_v2_cosign_verifies(kind: Kind) {
    let env = Env::start(kind);
    let (key, public) = env.cosign_key_pair("key");
    let (_, stranger) = env.cosign_key_pair("stranger");
    let signed = env.wharf_sign_key(&env.stack.trust_config, &env.app, &key, &[]);
    signed.assert_code(0);
    assert!(
        signed.stderr.contains(&env.stack.rekor),
        "{}",
        signed.describe()
    );

    let key_flag = format!("--key={}", public.display());
    env.cosign_verify(&env.app, &[&key_flag]).assert_code(0);
    let stranger_flag = format!("--key={}", stranger.display());
    assert_ne!(env.cosign_verify(&env.app, &[&stranger_flag]).code, Some(0));
    env.wharf_verify_key(&env.app, &public, &[]).assert_code(0);
    env.wharf_verify_key(&env.app, &stranger, &[])
        .assert_code(1);
}

/// cosign's key bundle on Rekor v2, verified by wharf.
fn key_cosign_signs_on_rekor_v2_wharf_verifies(kind: Kind) {
    let env = Env::start(kind);
    let (key, public) = env.cosign_key_pair("key");
    let (_, stranger) = env.cosign_key_pair("stranger");
    let mut cmd = env.cosign();
    cmd.env("COSIGN_PASSWORD", PASSWORD)
        .args(["sign", "-y", "--key"])
        .arg(&key)
        .arg("--signing-config")
        .arg(&env.stack.signing_config)
        .arg("--trusted-root")
        .arg(&env.stack.trusted_root)
        .arg(&env.app);
    output_of(&mut cmd).assert_code(0);

    env.wharf_verify_key(&env.app, &public, &[]).assert_code(0);
    env.wharf_verify_key(&env.app, &stranger, &[])
        .assert_code(1);
    env.wharf_verify_key(&env.other, &public, &[])
        .assert_code(1);
}

/// The testbed's own Fulcio and Rekor v1 (what the unit of wharf's other
/// tests sign through) pass cosign too, and cosign can sign through them:
/// the testbed answers as the real services do (Fulcio's 200, not 201).
fn keyless_through_the_testbed_both_ways(kind: Kind) {
    let env = Env::start(kind);
    let testbed = &env.stack.testbed;
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(testbed.trust_config()).expect("trust config"))
            .expect("JSON");
    let signing = env.path("testbed-signing.json");
    std::fs::write(&signing, config["signingConfig"].to_string()).expect("write");

    // wharf signs through the testbed; cosign verifies with its root.
    let mut cmd = wharf();
    cmd.arg("--insecure-registry")
        .arg(env.registry.host())
        .env("WHARF_TRUST_CONFIG", testbed.trust_config());
    cmd.envs(testbed.github_env());
    cmd.args(["sign", &env.app]).run().assert_code(0);
    let verify = |image: &str, identity: &str| {
        let mut cmd = env.cosign();
        cmd.args(["verify", "--trusted-root"])
            .arg(testbed.trusted_root())
            .args(["--certificate-identity", identity])
            .args(["--certificate-oidc-issuer", testbed.issuer()])
            .arg(image);
        output_of(&mut cmd)
    };
    verify(&env.app, testbed.identity()).assert_code(0);
    assert_ne!(verify(&env.app, STRANGER).code, Some(0));

    // cosign signs through the testbed; wharf verifies.
    let token = env.path("testbed-token");
    std::fs::write(&token, testbed.oidc_token()).expect("write token");
    let mut cmd = env.cosign();
    cmd.args(["sign", "-y", "--signing-config"])
        .arg(&signing)
        .arg("--trusted-root")
        .arg(testbed.trusted_root())
        .arg("--identity-token")
        .arg(&token)
        .arg(&env.other);
    output_of(&mut cmd).assert_code(0);
    let mut cmd = wharf();
    cmd.arg("--insecure-registry")
        .arg(env.registry.host())
        .env("WHARF_TRUST_CONFIG", testbed.trust_config())
        .args(["verify", &env.other])
        .args(["--certificate-identity", testbed.identity()])
        .args(["--certificate-oidc-issuer", testbed.issuer()]);
    cmd.run().assert_code(0);
}

/// A key and only a timestamp (no log), both ways: verifiers must be told
/// to do without the log.
fn key_offline_both_ways(kind: Kind) {
    let env = Env::start(kind);
    let (key, public) = env.cosign_key_pair("key");
    let signed = env.wharf_sign_key(
        &env.stack.trust_config,
        &env.app,
        &key,
        &["--tlog-upload=false"],
    );
    signed.assert_code(0);
    let key_flag = format!("--key={}", public.display());
    env.cosign_verify(&env.app, &[&key_flag, "--insecure-ignore-tlog"])
        .assert_code(0);
    // Without the flag the missing log entry is refused, by both.
    assert_ne!(env.cosign_verify(&env.app, &[&key_flag]).code, Some(0));
    env.wharf_verify_key(&env.app, &public, &[]).assert_code(1);
    env.wharf_verify_key(&env.app, &public, &["--insecure-ignore-tlog"])
        .assert_code(0);

    // cosign signs without a log when its signing config names none (it
    // refuses --tlog-upload=false beside a signing config).
    let mut cmd = env.cosign();
    cmd.env("COSIGN_PASSWORD", PASSWORD)
        .args(["sign", "-y", "--key"])
        .arg(&key)
        .arg("--signing-config")
        .arg(&env.stack.signing_config_no_log)
        .arg("--trusted-root")
        .arg(&env.stack.trusted_root)
        .arg(&env.other);
    output_of(&mut cmd).assert_code(0);
    env.wharf_verify_key(&env.other, &public, &["--insecure-ignore-tlog"])
        .assert_code(0);
    env.wharf_verify_key(&env.other, &public, &[])
        .assert_code(1);

    // wharf reads that signing config the same way (a second key, so the
    // signature is a new one).
    let (key2, public2) = env.cosign_key_pair("key2");
    env.wharf_sign_key(&env.stack.trust_config_no_log, &env.app, &key2, &[])
        .assert_code(0);
    let key2_flag = format!("--key={}", public2.display());
    env.cosign_verify(&env.app, &[&key2_flag, "--insecure-ignore-tlog"])
        .assert_code(0);
    assert_ne!(env.cosign_verify(&env.app, &[&key2_flag]).code, Some(0));
}

/// cosign's legacy `sha256-<hex>.sig` tag both ways: a simple-signing
/// payload, the certificate and chain (keyless) or a key, and a Rekor v1
/// entry's signed timestamp (so the testbed's Rekor v1: neither tool can
/// write a legacy signature on Rekor v2, and wharf says so).
fn legacy_sig_both_ways(kind: Kind) {
    let env = Env::start(kind);
    // On a v2-only signing config wharf refuses, before signing anything.
    let refused = env.wharf_sign(&env.app, &["--bundle-format", "legacy"]);
    refused.assert_code(2);
    assert!(
        refused.stderr.contains("Rekor v1"),
        "{}",
        refused.describe()
    );

    // Keyless, real Fulcio, the testbed's Rekor v1.
    let mut cmd = env.wharf(&env.stack.trust_config_v1);
    cmd.envs(env.stack.github_env());
    cmd.args(["sign", &env.app, "--bundle-format", "legacy"])
        .run()
        .assert_code(0);
    env.cosign_verify(&env.app, &env.identity()).assert_code(0);
    assert_ne!(env.cosign_verify(&env.app, &env.stranger()).code, Some(0));

    // cosign's legacy key signature with its legacy referrers mode.
    let (key, public) = env.cosign_key_pair("key");
    let mut cmd = env.cosign();
    cmd.env("COSIGN_PASSWORD", PASSWORD)
        .args([
            "sign",
            "-y",
            "--new-bundle-format=false",
            "--use-signing-config=false",
            "--registry-referrers-mode=legacy",
        ])
        .arg(format!("--rekor-url={}", env.stack.testbed.urls().rekor))
        .arg("--key")
        .arg(&key)
        .arg(&env.other);
    output_of(&mut cmd).assert_code(0);
    let mut cmd = env.wharf(&env.stack.trust_config_v1);
    cmd.args(["verify", &env.other, "--key"]).arg(&public);
    cmd.run().assert_code(0);
    let (_, stranger) = env.cosign_key_pair("stranger");
    env.wharf_verify_key(&env.other, &stranger, &[])
        .assert_code(1);
}

/// `--bundle-format both`: the bundle and the legacy tag, each accepted by
/// cosign on an image of its own.
fn bundle_format_both_cosign_verifies_each(kind: Kind) {
    let env = Env::start(kind);
    let mut cmd = env.wharf(&env.stack.trust_config_v1);
    cmd.envs(env.stack.github_env());
    cmd.args(["sign", &env.app, "--bundle-format", "both"])
        .run()
        .assert_code(0);
    env.cosign_verify(&env.app, &env.identity()).assert_code(0);
    let (repo, digest) = env.app.split_once('@').expect("IMAGE@DIGEST");
    let legacy = format!("{repo}:{}.sig", digest.replacen(':', "-", 1));
    let out = crate::common::oci::skopeo()
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{legacy}"))
        .output()
        .expect("skopeo");
    assert!(out.status.success(), "no legacy {legacy}");
    // The legacy layer alone passes cosign: copy the image and its .sig
    // tag to a repository of their own, where no bundle points at it.
    let only = format!("{}/legacy-only", env.registry.host());
    for (from, to) in [
        (env.app.clone(), format!("{only}@{digest}")),
        (
            legacy,
            format!("{only}:{}.sig", digest.replacen(':', "-", 1)),
        ),
    ] {
        let mut cmd = Command::new(peer("crane"));
        cmd.args(["copy", "--insecure", &from, &to]);
        output_of(&mut cmd).assert_code(0);
    }
    env.cosign_verify(&format!("{only}@{digest}"), &env.identity())
        .assert_code(0);
}

/// One attestation per predicate type, each way; the predicate comes back
/// byte for byte.
fn attestations_both_ways(kind: Kind) {
    let env = Env::start(kind);
    for (kind_name, predicate) in PREDICATES {
        let file = env.path(&format!("{kind_name}.json"));
        std::fs::write(&file, predicate).expect("write predicate");

        // wharf attests; cosign verifies and the predicate is the file's.
        let mut cmd = env.wharf(&env.stack.trust_config);
        cmd.envs(env.stack.github_env());
        cmd.args(["attest", &env.app, "--type", kind_name, "--predicate"])
            .arg(&file)
            .run()
            .assert_code(0);
        let mut cmd = env.cosign();
        cmd.args(["verify-attestation", "--type", kind_name, "--trusted-root"])
            .arg(&env.stack.trusted_root)
            .args(env.identity())
            .arg(&env.app);
        let verified = output_of(&mut cmd);
        verified.assert_code(0);
        let statement = statement_of(&verified.stdout);
        assert!(
            statement.contains(predicate),
            "{kind_name}: cosign's statement does not hold the predicate's bytes: {statement}"
        );
        let mut cmd = env.cosign();
        cmd.args(["verify-attestation", "--type", kind_name, "--trusted-root"])
            .arg(&env.stack.trusted_root)
            .args(env.stranger())
            .arg(&env.app);
        assert_ne!(
            output_of(&mut cmd).code,
            Some(0),
            "{kind_name}: a stranger's attestation"
        );

        // cosign attests; wharf verifies and writes the predicate out.
        env.cosign_keyless(
            "attest",
            &env.other,
            &[
                "--type",
                kind_name,
                "--predicate",
                &file.display().to_string(),
            ],
        )
        .assert_code(0);
        let out = env.path(&format!("{kind_name}.out.json"));
        let mut args = vec!["--attestation-type", kind_name, "--output-predicate"];
        let out_text = out.display().to_string();
        args.push(&out_text);
        args.extend(env.identity());
        env.wharf_verify(&env.other, &args).assert_code(0);
        let written = std::fs::read_to_string(&out).expect("predicate out");
        let given: serde_json::Value = serde_json::from_str(predicate).expect("JSON");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&written).expect("JSON"),
            given,
            "{kind_name}: the predicate wharf verified"
        );
        // Byte for byte what cosign put in its statement (it re-encodes
        // the predicate file, so that is the reference).
        let mut cmd = env.cosign();
        cmd.args(["verify-attestation", "--type", kind_name, "--trusted-root"])
            .arg(&env.stack.trusted_root)
            .args(env.identity())
            .arg(&env.other);
        let cosigns = output_of(&mut cmd);
        cosigns.assert_code(0);
        let statement: std::collections::HashMap<String, Box<serde_json::value::RawValue>> =
            serde_json::from_str(&statement_of(&cosigns.stdout)).expect("statement");
        assert_eq!(
            written.trim_end_matches('\n'),
            statement["predicate"].get(),
            "{kind_name}: wharf's --output-predicate is not the statement's predicate"
        );
        let mut args = vec!["--attestation-type", kind_name];
        args.extend(env.stranger());
        env.wharf_verify(&env.other, &args).assert_code(1);
    }
}

/// The in-toto statement in `cosign verify-attestation`'s output (one
/// DSSE envelope per line), decoded.
fn statement_of(stdout: &str) -> String {
    use base64::Engine as _;
    let line = stdout
        .lines()
        .find(|l| l.contains("payload"))
        .expect("an envelope");
    let envelope: serde_json::Value = serde_json::from_str(line).expect("envelope JSON");
    let payload = envelope["payload"].as_str().expect("payload");
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(payload)
            .expect("base64 payload"),
    )
    .expect("UTF-8 statement")
}

/// Predicates as cosign's `--type` names them, in each type's shape.
const PREDICATES: &[(&str, &str)] = &[
    (
        "cyclonedx",
        r#"{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[{"type":"library","name":"requests","version":"2.25.0","purl":"pkg:pypi/requests@2.25.0"}]}"#,
    ),
    (
        "spdxjson",
        r#"{"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT","name":"interop","documentNamespace":"https://example.com/interop","creationInfo":{"created":"2026-01-01T00:00:00Z","creators":["Tool: wharf-interop"]},"packages":[]}"#,
    ),
    (
        "slsaprovenance1",
        r#"{"buildDefinition":{"buildType":"https://example.com/build/v1","externalParameters":{"ref":"refs/heads/main"}},"runDetails":{"builder":{"id":"https://example.com/builder"},"metadata":{"invocationId":"42"}}}"#,
    ),
    (
        "vuln",
        r#"{"invocation":{"parameters":null,"uri":"","event_id":"","builder.id":""},"scanner":{"uri":"pkg:github/wharf/wharf","version":"0.1.0","db":{"uri":"","version":""},"result":{"findings":[]}},"metadata":{"scanStartedOn":"2026-01-01T00:00:00Z","scanFinishedOn":"2026-01-01T00:00:01Z"}}"#,
    ),
];

/// Two signers, two tools, one digest: each signature verifies for its
/// own signer with either tool.
fn two_signers_on_one_digest(kind: Kind) {
    let env = Env::start(kind);
    env.wharf_sign(&env.app, &[]).assert_code(0);
    let (key, public) = env.cosign_key_pair("key");
    let mut cmd = env.cosign();
    cmd.env("COSIGN_PASSWORD", PASSWORD)
        .args(["sign", "-y", "--key"])
        .arg(&key)
        .arg("--signing-config")
        .arg(&env.stack.signing_config)
        .arg("--trusted-root")
        .arg(&env.stack.trusted_root)
        .arg(&env.app);
    output_of(&mut cmd).assert_code(0);

    env.cosign_verify(&env.app, &env.identity()).assert_code(0);
    env.cosign_verify(&env.app, &[&format!("--key={}", public.display())])
        .assert_code(0);
    env.wharf_verify(&env.app, &env.identity()).assert_code(0);
    env.wharf_verify_key(&env.app, &public, &[]).assert_code(0);
}

/// A tag moved to another manifest, and the signature's referrer copied
/// onto that manifest's digest: the bundle names the digest it signed, and
/// both tools refuse the copy.
fn a_moved_tag_and_a_copied_bundle_are_refused_by_both(kind: Kind) {
    let env = Env::start(kind);
    env.wharf_sign(&env.app, &[]).assert_code(0);
    let host = env.registry.host();
    let (_, app_digest) = env.app.split_once('@').expect("digest");
    let (_, other_digest) = env.other.split_once('@').expect("digest");

    // The attacker's image takes app's tag, in app's repository.
    let mut cmd = Command::new(peer("crane"));
    cmd.args(["copy", "--insecure", &env.other, &format!("{host}/app:1.0")]);
    output_of(&mut cmd).assert_code(0);
    let moved = format!("{host}/app@{other_digest}");

    // The signature's artifact manifest, re-pointed at the moved digest.
    let referrers = crate::common::http::request(
        host,
        "GET",
        &format!("/v2/app/referrers/{app_digest}"),
        &[],
        b"",
    )
    .ok()
    .filter(|r| r.status == 200)
    .map(|r| r.body);
    let index: serde_json::Value = match referrers {
        Some(body) => serde_json::from_slice(&body).expect("referrers index"),
        None => {
            let fallback = app_digest.replacen(':', "-", 1);
            let mut cmd = Command::new(peer("crane"));
            cmd.args(["manifest", "--insecure", &format!("{host}/app:{fallback}")]);
            let out = output_of(&mut cmd);
            out.assert_code(0);
            serde_json::from_str(&out.stdout).expect("fallback index")
        }
    };
    let signature = index["manifests"][0]["digest"]
        .as_str()
        .expect("a referrer")
        .to_string();
    let mut cmd = Command::new(peer("crane"));
    cmd.args(["manifest", "--insecure", &format!("{host}/app@{signature}")]);
    let out = output_of(&mut cmd);
    out.assert_code(0);
    let mut manifest: serde_json::Value = serde_json::from_str(&out.stdout).expect("manifest");
    let other_manifest = {
        let mut cmd = Command::new(peer("crane"));
        cmd.args(["manifest", "--insecure", &moved]);
        let out = output_of(&mut cmd);
        out.assert_code(0);
        out.stdout
    };
    manifest["subject"]["digest"] = other_digest.into();
    manifest["subject"]["size"] = other_manifest.len().into();
    let bytes = serde_json::to_vec(&manifest).expect("JSON");
    let copied = {
        use sha2::Digest as _;
        format!("sha256:{}", hex::encode(sha2::Sha256::digest(&bytes)))
    };
    let put = crate::common::http::request(
        host,
        "PUT",
        &format!("/v2/app/manifests/{copied}"),
        &[("Content-Type", "application/vnd.oci.image.manifest.v1+json")],
        &bytes,
    )
    .expect("PUT the copied manifest");
    assert!(
        put.status == 201,
        "PUT {}: {}",
        put.status,
        String::from_utf8_lossy(&put.body)
    );
    if kind == Kind::Debian {
        // Where there is no referrers API the attacker lists it by hand.
        let fallback = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": copied,
                "size": bytes.len(),
                "artifactType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            }],
        });
        let put = crate::common::http::request(
            host,
            "PUT",
            &format!("/v2/app/manifests/{}", other_digest.replacen(':', "-", 1)),
            &[("Content-Type", "application/vnd.oci.image.index.v1+json")],
            fallback.to_string().as_bytes(),
        )
        .expect("PUT the fallback index");
        assert!(put.status == 201, "PUT {}", put.status);
    }

    for image in [moved.as_str(), &format!("{host}/app:1.0")] {
        assert_ne!(
            env.cosign_verify(image, &env.identity()).code,
            Some(0),
            "cosign accepted the copied bundle on {image}"
        );
        env.wharf_verify(image, &env.identity()).assert_code(1);
    }
    // The original still verifies.
    env.cosign_verify(&env.app, &env.identity()).assert_code(0);
    env.wharf_verify(&env.app, &env.identity()).assert_code(0);
}

/// `cosign sign-blob` bundles (keyless on Rekor v2, and a key) verified by
/// `wharf verify-blob`, which refuses other identities, keys and bytes.
#[test]
fn cosign_blob_bundles_pass_wharf_verify_blob() {
    require_peers!();
    let stack = stack();
    let dir = tempfile::tempdir().expect("dir");
    let blob = dir.path().join("release.tar.gz");
    std::fs::write(&blob, b"the release artifact").expect("write blob");
    let bundle = dir.path().join("release.sigstore.json");
    let mut cmd = Command::new(peer("cosign"));
    cmd.env("HOME", dir.path())
        .args(["sign-blob", "-y", "--signing-config"])
        .arg(&stack.signing_config)
        .arg("--trusted-root")
        .arg(&stack.trusted_root)
        .arg("--identity-token")
        .arg(stack.token_file())
        .arg("--bundle")
        .arg(&bundle)
        .arg(&blob);
    output_of(&mut cmd).assert_code(0);
    let verify = |identity: &str, file: &Path| {
        wharf()
            .args(["verify-blob", "--bundle"])
            .arg(&bundle)
            .arg("--trusted-root")
            .arg(&stack.trusted_root)
            .args(["--certificate-identity", identity])
            .args(["--certificate-oidc-issuer", stack.issuer()])
            .arg(file)
            .run()
    };
    verify(stack.identity(), &blob).assert_code(0);
    verify(STRANGER, &blob).assert_code(1);
    let tampered = dir.path().join("tampered");
    std::fs::write(&tampered, b"the release artifacT").expect("write");
    verify(stack.identity(), &tampered).assert_code(1);
}

/// The stack's trust, published through its TUF repository, is what cosign
/// reads after `cosign initialize --mirror … --root …`: it then verifies
/// wharf's signature with no trusted-root file at all.
#[test]
fn cosign_reads_the_stacks_trust_through_its_tuf_mirror() {
    require_peers!();
    require_registry!();
    let env = Env::start(Kind::Debian);
    env.wharf_sign(&env.app, &[]).assert_code(0);
    let mut cmd = env.cosign();
    cmd.args(["initialize", "--mirror", &env.stack.tuf_url, "--root"])
        .arg(&env.stack.tuf_root);
    output_of(&mut cmd).assert_code(0);
    let mut cmd = env.cosign();
    cmd.arg("verify").args(env.identity()).arg(&env.app);
    output_of(&mut cmd).assert_code(0);
    let mut cmd = env.cosign();
    cmd.arg("verify").args(env.stranger()).arg(&env.app);
    assert_ne!(output_of(&mut cmd).code, Some(0));
}

/// `scripts/tuf-repo.py`, which publishes the stack's trust, keeps its own
/// promises: fresh and returning clients, new targets, tampering, expiry,
/// rollback and root rotation, judged by python-tuf's client.
#[test]
fn the_tuf_repository_builder_passes_its_self_test() {
    let Some(python) = crate::common::python_with(
        "the_tuf_repository_builder_passes_its_self_test",
        "tuf, securesystemslib",
    ) else {
        return;
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/tuf-repo.py");
    let mut cmd = Command::new(python);
    cmd.arg(script).arg("selftest");
    let out = output_of(&mut cmd);
    out.assert_code(0);
    assert!(
        out.stdout.contains(" passed, 0 failed"),
        "{}",
        out.describe()
    );
}

/// For every CI provider Fulcio maps, wharf finds the job's token the way
/// that CI hands it over, real Fulcio makes the certificate identity from
/// the claims with its own templates, and wharf's idea of that identity
/// (what it says it signed as, what `verify` checks by default, what makes
/// a second run add nothing) is the one cosign accepts.
#[test]
fn each_ci_providers_identity_agrees_with_fulcio_and_cosign() {
    use crate::common::sigstore::Ci;
    require_peers!();
    require_registry!();
    let env = Env::start(Kind::Debian);
    for ci in Ci::ALL {
        let (token, issuer, identity) = env.stack.ci_token(ci);
        let repo = format!("{}/{}", env.registry.host(), ci.provider());
        let mut cmd = Command::new(peer("crane"));
        cmd.args(["copy", "--insecure", &env.app, &format!("{repo}:1.0")]);
        output_of(&mut cmd).assert_code(0);
        let (_, digest) = env.app.split_once('@').expect("digest");
        let image = format!("{repo}@{digest}");

        // The CI's own way of handing over the token. Where that is a
        // program of the CI's (Buildkite's agent, CircleCI's CLI), a
        // stand-in on PATH prints it and records how it was asked.
        let bin = env.path(&format!("bin-{}", ci.provider()));
        std::fs::create_dir_all(&bin).expect("bin dir");
        let stand_in = |program: &str| {
            let script = bin.join(program);
            std::fs::write(
                &script,
                format!(
                    "#!/bin/sh\nprintf '%s\\n' \"$*\" > \"{}\"\nprintf '%s' '{token}'\n",
                    bin.join("argv").display()
                ),
            )
            .expect("stand-in");
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
                .expect("chmod");
        };
        let mut vars: Vec<(&str, String)> = Vec::new();
        let expected_argv = match ci {
            Ci::GitLab => {
                vars.push(("GITLAB_CI", "true".into()));
                vars.push(("SIGSTORE_ID_TOKEN", token.clone()));
                None
            }
            Ci::Buildkite => {
                vars.push(("BUILDKITE", "true".into()));
                stand_in("buildkite-agent");
                Some("oidc request-token --audience sigstore")
            }
            Ci::Circle => {
                vars.push(("CIRCLECI", "true".into()));
                stand_in("circleci");
                Some(r#"run oidc get --claims {"aud":"sigstore"}"#)
            }
            Ci::Codefresh => {
                vars.push(("SIGSTORE_ID_TOKEN", token.clone()));
                None
            }
        };
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let sign = || {
            let mut cmd = env.wharf(&env.stack.trust_config);
            cmd.env("PATH", &path);
            for (k, v) in &vars {
                cmd.env(k, v);
            }
            cmd.args(["sign", &image]).run()
        };
        let signed = sign();
        signed.assert_code(0);
        assert!(
            signed.stdout.contains(&identity) || signed.stderr.contains(&identity),
            "{}: wharf does not name the identity Fulcio gives: {}",
            ci.provider(),
            signed.describe()
        );
        if let Some(argv) = expected_argv {
            let asked = std::fs::read_to_string(bin.join("argv")).expect("the CI tool was run");
            assert_eq!(asked.trim(), argv, "{}", ci.provider());
        }
        let flags = [
            "--certificate-identity",
            identity.as_str(),
            "--certificate-oidc-issuer",
            issuer.as_str(),
        ];
        env.cosign_verify(&image, &flags).assert_code(0);
        env.wharf_verify(&image, &flags).assert_code(0);
        // A second run recognises its own signature.
        let again = sign();
        again.assert_code(0);
        assert!(
            again.stdout.contains("nothing to do"),
            "{}: {}",
            ci.provider(),
            again.describe()
        );
    }
}

/// `/usr/bin/time -f '%e %M' CMD`: the run, its wall seconds and peak RSS
/// in KiB.
fn timed(cmd: &Command) -> (Output, f64, u64) {
    let dir = tempfile::tempdir().expect("dir");
    let report = dir.path().join("time");
    let mut timed = Command::new("/usr/bin/time");
    timed
        .args(["-f", "%e %M", "-o"])
        .arg(&report)
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => timed.env(k, v),
            None => timed.env_remove(k),
        };
    }
    let out = output_of(&mut timed);
    let text = std::fs::read_to_string(&report).unwrap_or_default();
    let mut fields = text.split_whitespace().rev().take(2).collect::<Vec<_>>();
    fields.reverse();
    let wall = fields
        .first()
        .and_then(|f| f.parse().ok())
        .unwrap_or(f64::NAN);
    let rss = fields.get(1).and_then(|f| f.parse().ok()).unwrap_or(0);
    (out, wall, rss)
}

/// Keyless sign and verify, wharf against cosign, on the same stack and
/// registry in one run: `benches/interop.sh` (release build).
#[test]
#[ignore = "benchmark: benches/interop.sh"]
fn bench_keyless_sign_and_verify_against_cosign() {
    require_peers!();
    require_registry!();
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let env = Env::start(Kind::Debian);
    let mut figures: Vec<(&str, Vec<(f64, u64)>)> = vec![
        ("wharf sign", vec![]),
        ("cosign sign", vec![]),
        ("wharf verify", vec![]),
        ("cosign verify", vec![]),
    ];
    let (_, digest) = env.app.split_once('@').expect("digest");
    for i in 0..runs {
        for tool in ["wharf", "cosign"] {
            let image = format!("{}/bench-{tool}-{i}@{digest}", env.registry.host());
            let mut cmd = Command::new(peer("crane"));
            cmd.args([
                "copy",
                "--insecure",
                &env.app,
                &image.replace(&format!("@{digest}"), ":1.0"),
            ]);
            output_of(&mut cmd).assert_code(0);
            let sign = if tool == "wharf" {
                let mut cmd = Command::new(env!("CARGO_BIN_EXE_wharf"));
                cmd.env_clear()
                    .env("HOME", env.path("home"))
                    .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                    .env("WHARF_TRUST_CONFIG", &env.stack.trust_config)
                    .arg("--insecure-registry")
                    .arg(env.registry.host())
                    .args(["sign", &image, "--identity-token"])
                    .arg(env.stack.token_file());
                cmd
            } else {
                let mut cmd = env.cosign();
                cmd.args(["sign", "-y", "--signing-config"])
                    .arg(&env.stack.signing_config)
                    .arg("--trusted-root")
                    .arg(&env.stack.trusted_root)
                    .arg("--identity-token")
                    .arg(env.stack.token_file())
                    .arg(&image);
                cmd
            };
            let (out, wall, rss) = timed(&sign);
            out.assert_code(0);
            let slot = if tool == "wharf" { 0 } else { 1 };
            figures[slot].1.push((wall, rss));

            let verify = if tool == "wharf" {
                let mut cmd = Command::new(env!("CARGO_BIN_EXE_wharf"));
                cmd.env_clear()
                    .env("HOME", env.path("home"))
                    .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                    .env("WHARF_TRUST_CONFIG", &env.stack.trust_config)
                    .arg("--insecure-registry")
                    .arg(env.registry.host())
                    .args(["verify", &image])
                    .args(env.identity());
                cmd
            } else {
                let mut cmd = env.cosign();
                cmd.args(["verify", "--trusted-root"])
                    .arg(&env.stack.trusted_root)
                    .args(env.identity())
                    .arg(&image);
                cmd
            };
            let (out, wall, rss) = timed(&verify);
            out.assert_code(0);
            figures[slot + 2].1.push((wall, rss));
        }
    }
    println!("| {runs} runs | median wall | min–max wall | median peak RSS |");
    println!("|---|---|---|---|");
    for (what, mut samples) in figures {
        samples.sort_by(|a, b| a.0.total_cmp(&b.0));
        let wall = samples[samples.len() / 2].0;
        let (lo, hi) = (samples[0].0, samples[samples.len() - 1].0);
        let mut rss: Vec<u64> = samples.iter().map(|s| s.1).collect();
        rss.sort_unstable();
        println!(
            "| {what} | {:.0} ms | {:.0}–{:.0} ms | {} MiB |",
            wall * 1000.0,
            lo * 1000.0,
            hi * 1000.0,
            rss[rss.len() / 2] / 1024
        );
    }
}

/// An `oci:` layout signed by wharf (its bundles listed in `index.json`),
/// copied into a registry with the referrers API by crane: the registry
/// indexes the copied signature by its `subject`, and cosign accepts it.
/// (On a registry without the API nothing would list it: crane writes no
/// fallback index.)
#[test]
fn a_layout_signed_by_wharf_and_copied_by_crane_passes_cosign() {
    require_peers!();
    require_registry!();
    let env = Env::start(Kind::Referrers);
    let layout_dir = env.path("layout");
    let mut layout = OciLayout::new(&layout_dir);
    let image = layout.add_image("1.0", "linux", "amd64", "a layout image");
    let name = format!("{}/layout-app", env.registry.host());
    let mut cmd = env.wharf(&env.stack.trust_config);
    cmd.envs(env.stack.github_env());
    cmd.args(["sign"])
        .arg(format!("oci:{}@{}", layout_dir.display(), image.digest))
        .args(["--image-name", &name])
        .run()
        .assert_code(0);

    let mut cmd = Command::new(peer("crane"));
    cmd.args(["push", "--insecure", "--index"])
        .arg(&layout_dir)
        .arg(format!("{name}:layout"));
    output_of(&mut cmd).assert_code(0);
    let pushed = format!("{name}@{}", image.digest);
    env.cosign_verify(&pushed, &env.identity()).assert_code(0);
    assert_ne!(env.cosign_verify(&pushed, &env.stranger()).code, Some(0));
    env.wharf_verify(&pushed, &env.identity()).assert_code(0);
}

/// `--referrers-fallback always` (or `WHARF_REFERRERS_FALLBACK=always`)
/// lists the signature in the fallback index even where the registry has
/// the referrers API, for readers that only look at the tag; cosign still
/// accepts the signature.
#[test]
fn referrers_fallback_always_writes_the_tag_on_a_referrers_registry() {
    require_peers!();
    require_registry!();
    let env = Env::start(Kind::Referrers);
    env.wharf_sign(&env.app, &["--referrers-fallback", "always"])
        .assert_code(0);
    assert!(env.has_fallback_tag(&env.app), "no fallback tag written");
    env.cosign_verify(&env.app, &env.identity()).assert_code(0);
    // The same through the environment; a bad value is a usage error.
    let mut cmd = env.wharf(&env.stack.trust_config);
    cmd.envs(env.stack.github_env());
    cmd.env("WHARF_REFERRERS_FALLBACK", "always")
        .args(["sign", &env.other])
        .run()
        .assert_code(0);
    assert!(env.has_fallback_tag(&env.other), "no fallback tag written");
    let bad = env
        .wharf(&env.stack.trust_config)
        .env("WHARF_REFERRERS_FALLBACK", "sometimes")
        .args(["verify", &env.other])
        .args(env.identity())
        .run();
    bad.assert_code(2);
    assert!(
        bad.stderr.contains("WHARF_REFERRERS_FALLBACK"),
        "{}",
        bad.describe()
    );
}

/// The stack for a shell: starts it with both registries, writes
/// `$WHARF_STACK_ENV` (default `/tmp/wharf-stack.env`) with `export` lines
/// naming every URL and file (and the GitHub Actions variables of a job
/// that can mint tokens), then serves until that file's `.stop` sibling
/// appears or `WHARF_STACK_MINUTES` (default 30) pass:
/// `cargo test --test it interop::serve_the_stack -- --ignored --nocapture`.
#[test]
#[ignore = "a development aid: serves the real stack to a shell"]
fn serve_the_stack() {
    require_peers!();
    require_registry!();
    let stack = stack();
    let debian = Registry::start();
    let referrers = Registry::start_referrers();
    let env_file = PathBuf::from(
        std::env::var_os("WHARF_STACK_ENV").unwrap_or_else(|| "/tmp/wharf-stack.env".into()),
    );
    let mut vars = vec![
        ("STACK_DIR", stack.dir.display().to_string()),
        ("FULCIO_URL", stack.fulcio.clone()),
        ("CT_URL", stack.ct.clone()),
        ("REKOR_URL", stack.rekor.clone()),
        ("REKOR_V1_URL", stack.testbed.urls().rekor),
        ("TSA_URL", stack.tsa.clone()),
        ("TRUSTED_ROOT", stack.trusted_root.display().to_string()),
        ("SIGNING_CONFIG", stack.signing_config.display().to_string()),
        (
            "SIGNING_CONFIG_V1",
            stack.signing_config_v1.display().to_string(),
        ),
        (
            "WHARF_TRUST_CONFIG",
            stack.trust_config.display().to_string(),
        ),
        (
            "TRUST_CONFIG_V1",
            stack.trust_config_v1.display().to_string(),
        ),
        ("TUF_MIRROR", stack.tuf_url.clone()),
        ("TUF_ROOT", stack.tuf_root.display().to_string()),
        ("TUF_KEYS", stack.tuf_keys.display().to_string()),
        ("TUF_OUT", stack.tuf_out.display().to_string()),
        ("ISSUER", stack.issuer().to_string()),
        ("IDENTITY", stack.identity().to_string()),
        ("REGISTRY", debian.host().to_string()),
        ("REFERRERS_REGISTRY", referrers.host().to_string()),
        ("TOKEN_FILE", stack.token_file().display().to_string()),
    ];
    let github = stack.github_env();
    vars.extend(github.iter().map(|(k, v)| (k.as_str(), v.clone())));
    let text: String = vars
        .iter()
        .map(|(k, v)| format!("export {k}='{v}'\n"))
        .collect();
    std::fs::write(&env_file, text).expect("write the env file");
    let stop = env_file.with_extension("stop");
    let _ = std::fs::remove_file(&stop);
    let minutes: u64 = std::env::var("WHARF_STACK_MINUTES")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(30);
    println!(
        "the stack is up: . {} ; touch {} to stop (or wait {minutes} minutes)",
        env_file.display(),
        stop.display()
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(minutes * 60);
    while !stop.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}
