use super::*;
use clap::Parser as _;
use serde_json::Value;

/// An EC P-256 public key (test data, no private half kept).
const PUB: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEypRjQuUAtKNcKd+evkoguM/5S28a
9Yn+5V+e95yoHBUmMuXDhKN35YbomFYSx23pbqzJZPWZD2BEDzH3qJmeeA==
-----END PUBLIC KEY-----
";

const GITHUB: &str = "https://token.actions.githubusercontent.com";

fn args(argv: &[&str]) -> PolicyArgs {
    let mut full = vec!["wharf", "policy"];
    full.extend_from_slice(argv);
    // These cases are about ClusterPolicy's shapes; the ImageValidatingPolicy
    // has cases of its own (ivpol_*), and the engine judges both.
    if argv.first() == Some(&"kyverno") && !argv.contains(&"--kyverno-api") {
        full.extend_from_slice(&["--kyverno-api", "cluster-policy"]);
    }
    match crate::cli::Cli::try_parse_from(full).unwrap().command {
        crate::cli::Command::Policy(mut a) => {
            if !argv.contains(&"--trust-config") {
                // The developer's WHARF_TRUST_CONFIG is not part of the case.
                a.trust_config = None;
            }
            a
        }
        _ => unreachable!(),
    }
}

/// The generated policy as JSON (the YAML documents, parsed back).
fn documents(argv: &[&str]) -> Vec<Value> {
    let spec = spec_of(&args(argv)).unwrap();
    let text = render(&spec).unwrap();
    text.split("\n---\n")
        .map(|doc| serde_yaml::from_str::<Value>(doc).unwrap())
        .collect()
}

fn policy(argv: &[&str]) -> Value {
    documents(argv).pop().unwrap()
}

fn err(argv: &[&str]) -> String {
    match spec_of(&args(argv)) {
        Ok(_) => panic!("{argv:?} was accepted"),
        Err(e) => e.to_string(),
    }
}

/// Go's `regexp.MatchString`: a search, not a whole-value match. Rust's
/// `is_match` searches too, and the patterns that reach here are the ones
/// `check_go_regexp` let through (read alike by both).
fn go_match_string(pattern: &str, value: &str) -> bool {
    regex::Regex::new(pattern).unwrap().is_match(value)
}

/// Kyverno's `wildcard.Match` (IGLOU-EU/go-wildcard v1): `*` any run of
/// characters, `?` exactly one, everything else literal.
fn kyverno_wildcard(pattern: &str, value: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let v: Vec<char> = value.chars().collect();
    fn go(p: &[char], v: &[char]) -> bool {
        match p.first() {
            None => v.is_empty(),
            Some('*') => (0..=v.len()).any(|i| go(&p[1..], &v[i..])),
            Some('?') => !v.is_empty() && go(&p[1..], &v[1..]),
            Some(c) => v.first() == Some(c) && go(&p[1..], &v[1..]),
        }
    }
    go(&p, &v)
}

/// Whether a Kyverno keyless attestor admits a certificate (SAN, issuer),
/// as pkg/image/verifiers/cpol/cosign reads it.
fn kyverno_admits(keyless: &Value, san: &str, issuer: &str) -> bool {
    let field = |k: &str| keyless.get(k).and_then(|v| v.as_str());
    let subject_ok = match (field("subject"), field("subjectRegExp")) {
        (Some(s), None) => kyverno_wildcard(s, san),
        (None, Some(r)) => go_match_string(r, san),
        other => panic!("subject must be one of subject/subjectRegExp: {other:?}"),
    };
    let issuer_ok = match (field("issuer"), field("issuerRegExp")) {
        (Some(s), None) => kyverno_wildcard(s, issuer),
        (None, Some(r)) => go_match_string(r, issuer),
        other => panic!("issuer must be one of issuer/issuerRegExp: {other:?}"),
    };
    subject_ok && issuer_ok
}

/// Whether a policy-controller identity admits a certificate, as cosign's
/// CheckOpts.Identities read it (exact strings, unanchored regexps).
fn policy_controller_admits(identity: &Value, san: &str, issuer: &str) -> bool {
    let field = |k: &str| identity.get(k).and_then(|v| v.as_str());
    let subject_ok = match (field("subject"), field("subjectRegExp")) {
        (Some(s), None) => s == san,
        (None, Some(r)) => go_match_string(r, san),
        other => panic!("{other:?}"),
    };
    let issuer_ok = match (field("issuer"), field("issuerRegExp")) {
        (Some(s), None) => s == issuer,
        (None, Some(r)) => go_match_string(r, issuer),
        other => panic!("{other:?}"),
    };
    subject_ok && issuer_ok
}

/// Identity flags and certificates (SAN, issuer) that show what anchoring
/// and wildcard escaping are for.
/// Identity flags, and certificates as (SAN, issuer).
type Case = (Vec<&'static str>, Vec<(&'static str, &'static str)>);

fn cases() -> Vec<Case> {
    let wf = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main";
    vec![
        (
            vec![
                "--certificate-identity-regexp",
                "https://github.com/acme/app/.*",
                "--certificate-oidc-issuer",
                GITHUB,
            ],
            vec![
                (wf, GITHUB),
                // Substring and prefix attacks an unanchored search admits.
                ("https://evil.example/https://github.com/acme/app/x", GITHUB),
                (
                    "https://github.com/acme/app-evil/.github/workflows/x.yml@refs/heads/main",
                    GITHUB,
                ),
                (
                    wf,
                    "https://token.actions.githubusercontent.com.evil.example",
                ),
            ],
        ),
        (
            vec![
                "--certificate-identity-regexp",
                "acme/app",
                "--certificate-oidc-issuer-regexp",
                "githubusercontent",
            ],
            vec![(wf, GITHUB), ("acme/app", "githubusercontent")],
        ),
        (
            vec![
                "--certificate-identity",
                wf,
                "--certificate-oidc-issuer",
                GITHUB,
            ],
            vec![
                (wf, GITHUB),
                (
                    "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/mainx",
                    GITHUB,
                ),
            ],
        ),
        (
            // Kyverno would read these as wildcards.
            vec![
                "--certificate-identity",
                "ci-*@example.com",
                "--certificate-oidc-issuer",
                "https://issuer.example/?tenant=1",
            ],
            vec![
                ("ci-*@example.com", "https://issuer.example/?tenant=1"),
                ("ci-anyone@example.com", "https://issuer.example/?tenant=1"),
                ("ci-*@example.com", "https://issuer.example/xtenant=1"),
            ],
        ),
        (
            vec![
                "--certificate-identity-regexp",
                "(?i)https://github.com/ACME/app/.github/workflows/[a-z]+\\.yml@refs/tags/v[0-9]+",
                "--certificate-oidc-issuer",
                GITHUB,
            ],
            vec![
                (
                    "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v12",
                    GITHUB,
                ),
                (
                    "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v12-rc",
                    GITHUB,
                ),
            ],
        ),
    ]
}

#[test]
fn the_policies_admit_exactly_the_identities_wharf_verify_admits() {
    for (flags, certificates) in cases() {
        let identity_args = args(
            &[
                &["kyverno"][..],
                &flags[..],
                &["--image-pattern", "r.example/o/*"],
            ]
            .concat(),
        )
        .identity;
        let Expected::Identity { identity, issuer } = Expected::from_args(&identity_args).unwrap()
        else {
            panic!()
        };
        let mut argv = vec!["kyverno"];
        argv.extend(&flags);
        argv.extend(["--image-pattern", "r.example/o/*"]);
        let kyverno = policy(&argv);
        let keyless = &kyverno["spec"]["rules"][0]["verifyImages"][0]["attestors"][0]["entries"][0]
            ["keyless"];
        argv[0] = "policy-controller";
        let cip = policy(&argv);
        let pc_identity = &cip["spec"]["authorities"][0]["keyless"]["identities"][0];
        let mut admitted = 0;
        for (san, iss) in &certificates {
            let wharf = identity.matches(san) && issuer.matches(iss);
            admitted += usize::from(wharf);
            assert_eq!(
                kyverno_admits(keyless, san, iss),
                wharf,
                "Kyverno vs wharf verify for {flags:?} on ({san}, {iss}): {keyless}"
            );
            assert_eq!(
                policy_controller_admits(pc_identity, san, iss),
                wharf,
                "policy-controller vs wharf verify for {flags:?} on ({san}, {iss}): {pc_identity}"
            );
        }
        assert_eq!(admitted, 1, "each case admits its first certificate only");
    }
}

#[test]
fn anchoring_is_what_makes_them_agree() {
    // The same regexp copied unanchored, as a naive generator would: the
    // engines' search admits a repository that merely contains it.
    let flag = "https://github.com/acme/app/.*";
    let evil = "https://github.com/acme/app-evil/x";
    let hostile = "https://evil.example/https://github.com/acme/app/x";
    assert!(go_match_string(flag, hostile));
    let p = policy(&[
        "kyverno",
        "--certificate-identity-regexp",
        flag,
        "--certificate-oidc-issuer",
        GITHUB,
        "--image-pattern",
        "r.example/o/*",
    ]);
    let written = p["spec"]["rules"][0]["verifyImages"][0]["attestors"][0]["entries"][0]["keyless"]
        ["subjectRegExp"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(written, format!("^(?:{flag})$"));
    assert!(!go_match_string(&written, hostile));
    assert!(!go_match_string(&written, evil));
}

#[test]
fn exact_identities_with_kyverno_wildcards_become_escaped_regexps() {
    let p = policy(&[
        "kyverno",
        "--certificate-identity",
        "ci-*@example.com",
        "--certificate-oidc-issuer",
        GITHUB,
        "--image-pattern",
        "r.example/o/*",
    ]);
    let k = &p["spec"]["rules"][0]["verifyImages"][0]["attestors"][0]["entries"][0]["keyless"];
    assert_eq!(k["subjectRegExp"], "^(?:ci\\-\\*@example\\.com)$");
    assert!(k.get("subject").is_none());
    // No wildcard: the exact field, as policy-controller always gets.
    assert_eq!(k["issuer"], GITHUB);
    let p = policy(&[
        "policy-controller",
        "--certificate-identity",
        "ci-*@example.com",
        "--certificate-oidc-issuer",
        GITHUB,
        "--image-pattern",
        "r.example/o/*",
    ]);
    let id = &p["spec"]["authorities"][0]["keyless"]["identities"][0];
    assert_eq!(id["subject"], "ci-*@example.com");
}

#[test]
fn regexps_that_go_reads_differently_are_refused_with_the_portable_spelling() {
    let refuse = |re: &str, says: &str| {
        let e = err(&[
            "kyverno",
            "--certificate-identity-regexp",
            re,
            "--certificate-oidc-issuer",
            GITHUB,
            "--image-pattern",
            "r.example/o/*",
        ]);
        assert!(e.contains(says), "{re}: {e}");
        assert!(e.contains("RE2"), "{re}: {e}");
    };
    refuse(r"refs/tags/v\d+", "[0-9]");
    refuse(r"\w+@example\.com", "[0-9A-Za-z_]");
    refuse(r"a\sb", r"[\t\n\f\r ]");
    refuse(r"\bacme\b", "word boundaries");
    refuse(r"\p{Greek}+", r"\p{");
    refuse(r"[a-z&&[^aeiou]]+", "class set operations");
    refuse(r"[[a-z]]+", "nested");
    refuse(r"(?x) acme", "`x`");
    refuse(r"\u0041", r"\u");
    refuse(r"a{1001}", "1000");
    // The issuer too.
    let e = err(&[
        "policy-controller",
        "--certificate-identity",
        "x",
        "--certificate-oidc-issuer-regexp",
        r"https://\w+",
        "--image-pattern",
        "r.example/o/*",
    ]);
    assert!(e.contains("--certificate-oidc-issuer-regexp"), "{e}");
    // What both read alike goes through.
    for ok in [
        r"(?i)https://github\.com/acme/[a-z0-9_-]+/\.github/workflows/.+@refs/(heads|tags)/.*",
        r"[[:alpha:]]+\x41{2,5}",
        r"(?s:a.b)|(?U)c+",
    ] {
        spec_of(&args(&[
            "kyverno",
            "--certificate-identity-regexp",
            ok,
            "--certificate-oidc-issuer",
            GITHUB,
            "--image-pattern",
            "r.example/o/*",
        ]))
        .unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
}

#[test]
fn the_identity_flags_are_those_of_wharf_verify() {
    let e = err(&["kyverno", "--image-pattern", "r.example/o/*"]);
    assert!(e.contains("--key"), "{e}");
    let e = err(&[
        "kyverno",
        "--certificate-identity",
        "x",
        "--image-pattern",
        "r.example/o/*",
    ]);
    assert!(e.contains("--certificate-oidc-issuer"), "{e}");
    let e = err(&[
        "kyverno",
        "--certificate-identity",
        "x",
        "--certificate-oidc-issuer",
        "y",
    ]);
    assert!(e.contains("--image-pattern"), "{e}");
}

#[test]
fn image_patterns_and_names_are_checked() {
    let base = [
        "--certificate-identity",
        "x",
        "--certificate-oidc-issuer",
        "y",
    ];
    let with = |engine: &'static str, extra: &[&'static str]| {
        let mut v = vec![engine];
        v.extend(base);
        v.extend(extra);
        v
    };
    assert!(err(&with("kyverno", &["--image-pattern", "*"])).contains("every image"));
    assert!(err(&with("kyverno", &["--image-pattern", "r/o/{a,b}"])).contains("--image-pattern"));
    assert!(err(&with("policy-controller", &["--image-pattern", "r/o/ap?"])).contains("no `?`"));
    assert!(err(&with(
        "kyverno",
        &["--image-pattern", "r/o/*", "--name", "Bad_Name"]
    ))
    .contains("--name"));
    assert_eq!(policy_controller_glob("ghcr.io/acme/*"), "ghcr.io/acme/**");
    assert_eq!(
        policy_controller_glob("ghcr.io/*/app**"),
        "ghcr.io/**/app**"
    );
    let p = policy(&with(
        "kyverno",
        &[
            "--image-pattern",
            "ghcr.io/acme/*",
            "--image-pattern",
            "ghcr.io/acme:*",
        ],
    ));
    assert_eq!(
        p["spec"]["rules"][0]["verifyImages"][0]["imageReferences"],
        serde_json::json!(["ghcr.io/acme/*", "ghcr.io/acme:*"])
    );
}

#[test]
fn vuln_gates_read_the_counts_wharf_attest_writes() {
    let flags = [
        "--certificate-identity",
        "x",
        "--certificate-oidc-issuer",
        "y",
        "--image-pattern",
        "r.example/o/*",
        "--attestation",
        "cyclonedx",
        "--fail-on-vulns",
        "high",
    ];
    let k = policy(&[&["kyverno"][..], &flags[..]].concat());
    let atts = k["spec"]["rules"][0]["verifyImages"][0]["attestations"]
        .as_array()
        .unwrap();
    assert_eq!(atts[0]["type"], "https://cyclonedx.org/bom");
    assert!(atts[0].get("conditions").is_none());
    assert_eq!(
        atts[1]["type"],
        "https://cosign.sigstore.dev/attestation/vuln/v1"
    );
    let keys: Vec<&str> = atts[1]["conditions"][0]["all"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "{{ scanner.result.summary.critical }}",
            "{{ scanner.result.summary.high }}"
        ]
    );
    // Same signer for the attestations as for the signature.
    assert_eq!(
        atts[1]["attestors"],
        k["spec"]["rules"][0]["verifyImages"][0]["attestors"]
    );
    let pc = policy(&[&["policy-controller"][..], &flags[..]].concat());
    let atts = pc["spec"]["authorities"][0]["attestations"]
        .as_array()
        .unwrap();
    // The bundle signature first (policy-controller checks it as an
    // attestation of cosign's signing predicate type).
    assert_eq!(atts[0]["predicateType"], crate::verify::SIGN_PREDICATE_TYPE);
    let rego = atts.iter().find(|a| a["name"] == "vuln").unwrap()["policy"]["data"]
        .as_str()
        .unwrap();
    assert!(rego.contains("default isCompliant := false"), "{rego}");
    assert!(rego.contains("input.predicate.scanner.result.summary.high == 0"));
    assert!(!rego.contains("summary.medium"));
    // `low`, as `wharf scan --fail-on low`, counts unrated findings too.
    assert_eq!(
        gated_severities(Severity::Low).len(),
        5,
        "critical, high, medium, low, unknown"
    );
    // The fields exist in what `wharf scan --format vuln-predicate` writes.
    // The fields exist in the JSON report that `wharf scan --format
    // vuln-predicate` puts in scanner.result, as its schema requires them.
    let schema: Value =
        serde_json::from_str(include_str!("../../docs/scan-report.schema.json")).unwrap();
    let required = schema["properties"]["summary"]["required"]
        .as_array()
        .unwrap();
    for s in gated_severities(Severity::Low) {
        let key = Value::from(s.as_str().to_ascii_lowercase());
        assert!(
            required.contains(&key),
            "{key} is not a required summary count"
        );
    }
    let e = err(&[&["kyverno"][..], &flags[..8], &["--fail-on-vulns", "none"]].concat());
    assert!(e.contains("--fail-on-vulns"), "{e}");
}

#[test]
fn audit_mode_does_not_mutate_digests() {
    let flags = [
        "--certificate-identity",
        "x",
        "--certificate-oidc-issuer",
        "y",
        "--image-pattern",
        "r.example/o/*",
        "--mode",
        "audit",
    ];
    let k = policy(&[&["kyverno"][..], &flags[..]].concat());
    let v = &k["spec"]["rules"][0]["verifyImages"][0];
    assert_eq!(v["failureAction"], "Audit");
    assert_eq!(v["mutateDigest"], false);
    let pc = policy(&[&["policy-controller"][..], &flags[..]].concat());
    assert_eq!(pc["spec"]["mode"], "warn");
}

#[test]
fn keys_are_inlined_and_the_log_is_required_unless_told_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("cosign.pub");
    std::fs::write(&key, PUB).unwrap();
    let key = key.to_str().unwrap();
    let k = policy(&["kyverno", "--key", key, "--image-pattern", "r.example/o/*"]);
    let keys = &k["spec"]["rules"][0]["verifyImages"][0]["attestors"][0]["entries"][0]["keys"];
    assert_eq!(keys["publicKeys"], PUB);
    assert_eq!(keys["rekor"]["url"], PUBLIC_REKOR);
    let k = policy(&[
        "kyverno",
        "--key",
        key,
        "--insecure-ignore-tlog",
        "--image-pattern",
        "r.example/o/*",
    ]);
    let keys = &k["spec"]["rules"][0]["verifyImages"][0]["attestors"][0]["entries"][0]["keys"];
    assert_eq!(keys["rekor"]["ignoreTlog"], true);
    assert_eq!(keys["ctlog"]["ignoreSCT"], true);

    let pc = |extra: &[&str]| {
        let mut v = vec![
            "policy-controller",
            "--key",
            key,
            "--image-pattern",
            "r.example/o/*",
            "--signature-format",
            "legacy",
        ];
        v.extend(extra);
        policy(&v)
    };
    let a = pc(&[]);
    let auth = &a["spec"]["authorities"][0];
    assert_eq!(auth["key"]["data"], PUB);
    assert_eq!(auth["signatureFormat"], "legacy");
    // Without ctlog policy-controller skips the log: required here.
    assert_eq!(auth["ctlog"]["url"], PUBLIC_REKOR);
    let a = pc(&["--insecure-ignore-tlog"]);
    assert!(a["spec"]["authorities"][0].get("ctlog").is_none());
    // Its bundle format has no key authorities.
    let e = err(&[
        "policy-controller",
        "--key",
        key,
        "--image-pattern",
        "r.example/o/*",
    ]);
    assert!(e.contains("--signature-format legacy"), "{e}");
}

fn trusted_root_json() -> Value {
    use base64::Engine as _;
    let b = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    serde_json::json!({
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "certificateAuthorities": [{
            "subject": {"organization": "testbed", "commonName": "fulcio"},
            "uri": "http://127.0.0.1:5555",
            "certChain": {"certificates": [{"rawBytes": b("leaf")}, {"rawBytes": b("root")}]},
            "validFor": {"start": "2026-01-01T00:00:00Z"}
        }],
        "tlogs": [{
            "baseUrl": "http://127.0.0.1:6666",
            "hashAlgorithm": "SHA2_256",
            "publicKey": {"rawBytes": b("rekor-key"), "keyDetails": "PKIX_ECDSA_P256_SHA_256"},
            "logId": {"keyId": b("id")}
        }],
        "ctlogs": [{
            "baseUrl": "http://127.0.0.1:7777",
            "hashAlgorithm": "SHA2_256",
            "publicKey": {"rawBytes": b("ct-key"), "keyDetails": "PKIX_ECDSA_P256_SHA_256"},
            "logId": {"keyId": b("id2")}
        }]
    })
}

#[test]
fn a_private_sigstore_goes_into_the_policy() {
    use base64::Engine as _;
    let trust =
        Trust::from_trusted_root(&trusted_root_json(), "trust config t.json".into()).unwrap();
    assert_eq!(
        trust.fulcio[0]
            .chain_pem
            .matches("BEGIN CERTIFICATE")
            .count(),
        2
    );
    assert_eq!(trust.rekor_url(), Some("http://127.0.0.1:6666"));

    let mut spec = spec_of(&args(&[
        "policy-controller",
        "--certificate-identity",
        "x",
        "--certificate-oidc-issuer",
        "y",
        "--image-pattern",
        "r.example/o/*",
    ]))
    .unwrap();
    spec.trust = Some(trust.clone());
    // Bundles against a TrustRoot of keys: policy-controller v0.15.1 cannot
    // verify them, so the policy is refused when it is written.
    let e = render(&spec).unwrap_err().to_string();
    assert!(e.contains("--tuf-mirror"), "{e}");
    spec.format = BundleFormat::Legacy;
    let text = render(&spec).unwrap();
    let docs: Vec<Value> = text
        .split("\n---\n")
        .map(|d| serde_yaml::from_str(d).unwrap())
        .collect();
    assert_eq!(docs.len(), 2);
    let root = &docs[0];
    assert_eq!(root["kind"], "TrustRoot");
    assert_eq!(root["metadata"]["name"], "wharf-signed-images-trust-root");
    let chain = root["spec"]["sigstoreKeys"]["certificateAuthorities"][0]["certChain"]
        .as_str()
        .unwrap();
    let chain = base64::engine::general_purpose::STANDARD
        .decode(chain)
        .unwrap();
    assert!(String::from_utf8(chain)
        .unwrap()
        .starts_with("-----BEGIN CERTIFICATE-----\n"));
    assert_eq!(
        root["spec"]["sigstoreKeys"]["tLogs"][0]["hashAlgorithm"],
        "sha-256"
    );
    let auth = &docs[1]["spec"]["authorities"][0];
    assert_eq!(auth["keyless"]["url"], "http://127.0.0.1:5555");
    assert_eq!(
        auth["keyless"]["trustRootRef"],
        "wharf-signed-images-trust-root"
    );
    assert_eq!(auth["ctlog"]["url"], "http://127.0.0.1:6666");
    assert_eq!(
        auth["ctlog"]["trustRootRef"],
        "wharf-signed-images-trust-root"
    );

    // Kyverno, legacy signatures: roots, Rekor and CT log in the attestor.
    spec.engine = PolicyEngine::Kyverno;
    spec.kyverno_api = KyvernoApi::ClusterPolicy;
    spec.format = BundleFormat::Legacy;
    let k: Value = serde_yaml::from_str(&render(&spec).unwrap()).unwrap();
    let keyless =
        &k["spec"]["rules"][0]["verifyImages"][0]["attestors"][0]["entries"][0]["keyless"];
    assert_eq!(keyless["rekor"]["url"], "http://127.0.0.1:6666");
    assert!(keyless["rekor"]["pubkey"]
        .as_str()
        .unwrap()
        .contains("BEGIN PUBLIC KEY"));
    assert!(keyless["ctlog"]["pubkey"]
        .as_str()
        .unwrap()
        .contains("BEGIN PUBLIC KEY"));
    assert!(keyless["roots"]
        .as_str()
        .unwrap()
        .contains("BEGIN CERTIFICATE"));
    // Bundles: Kyverno takes trust from its TUF root only; the header says so.
    spec.format = BundleFormat::Bundle;
    let text = render(&spec).unwrap();
    assert!(text.contains("--tufRoot"), "{text}");
    let k: Value = serde_yaml::from_str(&text).unwrap();
    let keyless =
        &k["spec"]["rules"][0]["verifyImages"][0]["attestors"][0]["entries"][0]["keyless"];
    // No keys from the trusted root (Kyverno reads bundles' trust from TUF),
    // but the log's URL: Kyverno refuses a keyless attestor with neither a
    // Rekor URL nor roots.
    assert_eq!(keyless["rekor"]["url"], "http://127.0.0.1:6666");
    assert!(keyless["rekor"].get("pubkey").is_none());
    assert!(keyless.get("roots").is_none());
}

#[test]
fn the_header_says_how_to_write_the_same_policy_again() {
    let spec = spec_of(&args(&[
        "kyverno",
        "--certificate-identity-regexp",
        "https://github.com/acme/.*",
        "--certificate-oidc-issuer",
        GITHUB,
        "--image-pattern",
        "ghcr.io/acme/*",
        "--name",
        "acme-images",
        "--kyverno-api",
        "image-validating-policy",
    ]))
    .unwrap();
    let text = render(&spec).unwrap();
    let first_yaml = text.lines().position(|l| !l.starts_with('#')).unwrap();
    assert!(text.starts_with("# Generated by wharf"));
    assert!(
        text.lines().take(first_yaml).any(|l| l.contains(
            "wharf policy kyverno --certificate-identity-regexp 'https://github.com/acme/.*' \
             --certificate-oidc-issuer https://token.actions.githubusercontent.com \
             --image-pattern 'ghcr.io/acme/*' --name acme-images"
        )),
        "{text}"
    );
    let p: Value = serde_yaml::from_str(&text).unwrap();
    assert_eq!(p["metadata"]["name"], "acme-images");
}

#[test]
fn ivpol_keyless_names_the_identity_the_mirror_and_every_image_of_the_pod() {
    let dir = tempfile::tempdir().unwrap();
    let root = tuf_root_in(dir.path());
    let docs = documents(&[
        "kyverno",
        "--kyverno-api",
        "image-validating-policy",
        "--certificate-identity-regexp",
        "https://github.com/acme/.*",
        "--certificate-oidc-issuer",
        GITHUB,
        "--image-pattern",
        "ghcr.io/acme/*",
        "--attestation",
        "cyclonedx",
        "--fail-on-vulns",
        "high",
        "--tuf-mirror",
        "https://tuf.example",
        "--tuf-root",
        root.to_str().unwrap(),
    ]);
    let p = &docs[0];
    assert_eq!(p["apiVersion"], "policies.kyverno.io/v1");
    assert_eq!(p["kind"], "ImageValidatingPolicy");
    let cosign = &p["spec"]["attestors"][0]["cosign"];
    let id = &cosign["keyless"]["identities"][0];
    // Anchored as wharf matches it; the issuer exact.
    assert_eq!(id["subjectRegExp"], "^(?:https://github.com/acme/.*)$");
    assert_eq!(id["issuer"], GITHUB);
    assert_eq!(cosign["tuf"]["mirror"], "https://tuf.example");
    use base64::Engine as _;
    let data = base64::engine::general_purpose::STANDARD
        .decode(cosign["tuf"]["root"]["data"].as_str().unwrap())
        .unwrap();
    assert_eq!(data, std::fs::read(&root).unwrap());
    assert_eq!(
        p["spec"]["matchImageReferences"][0]["glob"],
        "ghcr.io/acme/*"
    );
    let validations: Vec<&str> = p["spec"]["validations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["expression"].as_str().unwrap())
        .collect();
    assert!(validations
        .iter()
        .all(|v| v.contains("images.initContainers")));
    assert!(validations[0].contains("verifyImageSignatures"));
    assert!(validations
        .iter()
        .any(|v| v.contains("verifyAttestationSignatures") && v.contains("attestations.vuln")));
    let counts = validations.last().unwrap();
    assert!(counts.contains("summary.critical == 0") && counts.contains("summary.high == 0"));
    assert!(!counts.contains("summary.medium"));
}

#[test]
fn ivpol_refuses_a_private_sigstore_given_without_its_tuf_repository() {
    let mut spec = spec_of(&args(&[
        "kyverno",
        "--kyverno-api",
        "image-validating-policy",
        "--certificate-identity",
        "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main",
        "--certificate-oidc-issuer",
        GITHUB,
        "--image-pattern",
        "ghcr.io/acme/*",
    ]))
    .unwrap();
    spec.trust =
        Some(Trust::from_trusted_root(&trusted_root_json(), "trust config t.json".into()).unwrap());
    let e = render(&spec).unwrap_err().to_string();
    assert!(
        e.contains("--tuf-mirror") && e.contains("cluster-policy"),
        "{e}"
    );
}

#[test]
fn ivpol_key_without_a_log_ignores_tlog_and_sct() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("cosign.pub");
    std::fs::write(&key, PUB).unwrap();
    let docs = documents(&[
        "kyverno",
        "--kyverno-api",
        "image-validating-policy",
        "--key",
        key.to_str().unwrap(),
        "--insecure-ignore-tlog",
        "--image-pattern",
        "ghcr.io/acme/*",
    ]);
    let cosign = &docs[0]["spec"]["attestors"][0]["cosign"];
    assert!(cosign["key"]["data"]
        .as_str()
        .unwrap()
        .contains("BEGIN PUBLIC KEY"));
    assert_eq!(cosign["ctlog"]["insecureIgnoreTlog"], true);
    assert!(cosign.get("keyless").is_none());
}

#[test]
fn policy_controller_reads_bundles_through_a_remote_trust_root() {
    let dir = tempfile::tempdir().unwrap();
    let root = tuf_root_in(dir.path());
    let text = render(
        &spec_of(&args(&[
            "policy-controller",
            "--certificate-identity",
            "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main",
            "--certificate-oidc-issuer",
            GITHUB,
            "--image-pattern",
            "ghcr.io/acme/*",
            "--tuf-mirror",
            "https://tuf.example",
            "--tuf-root",
            root.to_str().unwrap(),
        ]))
        .unwrap(),
    )
    .unwrap();
    let docs: Vec<Value> = text
        .split("\n---\n")
        .map(|d| serde_yaml::from_str(d).unwrap())
        .collect();
    assert_eq!(docs[0]["kind"], "TrustRoot");
    assert_eq!(docs[0]["spec"]["remote"]["mirror"], "https://tuf.example");
    assert!(docs[0]["spec"].get("sigstoreKeys").is_none());
    let auth = &docs[1]["spec"]["authorities"][0];
    assert_eq!(auth["signatureFormat"], "bundle");
    assert_eq!(
        auth["keyless"]["trustRootRef"],
        "wharf-signed-images-trust-root"
    );
    assert_eq!(
        auth["attestations"][0]["predicateType"],
        crate::verify::SIGN_PREDICATE_TYPE
    );
}

/// The spec for parsed `wharf policy ENGINE …` arguments.
fn spec_of(a: &PolicyArgs) -> Result<PolicySpec> {
    let engine = a.engine.engine().expect("an engine, not check");
    PolicySpec::from_args(a, engine)
}

/// A TUF root document (its shape only: the policy embeds its bytes).
fn tuf_root_in(dir: &std::path::Path) -> std::path::PathBuf {
    let root = dir.join("1.root.json");
    std::fs::write(
        &root,
        r#"{"signed":{"_type":"root","version":1},"signatures":[]}"#,
    )
    .unwrap();
    root
}
