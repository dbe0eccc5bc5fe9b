//! What one `wharf run` asks of the registry and of the signing services
//! (issue 19): a one-layer image in Debian's registry behind token auth,
//! keyless signing through the real Sigstore stack (Fulcio, Rekor v2, the
//! TSA), the SBOM and vulnerability attestations, verify. Every service sits
//! behind a recording proxy of its own, so the counts are this run's alone
//! (the stack serves the whole test process).
//!
//! The figures go to `docs/benchmarks.md`; the test asserts the goals: at
//! most 35 registry requests, one Fulcio certificate for the whole run, and
//! a transparency-log entry and a timestamp for every signature.

use serde_json::Value;
use std::collections::BTreeMap;

use crate::common::proxy::{Options, Proxy, Seen, TokenAuth};
use crate::common::registry::Registry;
use crate::common::sigstore::stack;
use crate::common::wharf;
use crate::scan::debian_db;

const USER: &str = "run-bot";
const PASSWORD: &str = "pw-run-requests-do-not-print";
const TOKEN: &str = "token-run-requests-do-not-print";

/// `http://HOST:PORT[/path]` → `HOST:PORT`.
fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest)
}

/// `url` with its host replaced by `host`.
fn through(url: &str, host: &str) -> String {
    url.replacen(host_of(url), host, 1)
}

/// Requests by method (`TLS` is the HTTPS probe wharf makes of a registry
/// named insecure; `token` the token endpoint).
fn by_method(seen: &[Seen]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for s in seen {
        let key = if s.path == "/token" {
            "token".to_string()
        } else {
            s.method.clone()
        };
        *counts.entry(key).or_default() += 1;
    }
    counts
}

fn count(seen: &[Seen], method: &str, path: &str) -> usize {
    seen.iter()
        .filter(|s| s.method == method && s.path.trim_end_matches('/') == path)
        .count()
}

#[test]
fn one_run_needs_one_certificate_and_few_registry_requests() {
    require_peers!();
    require_registry!();
    let stack = stack();
    let registry = Registry::start();
    let work = tempfile::tempdir().expect("work dir");
    let dir = work.path();

    let digest = crate::run::push_vulnerable(&registry, dir);
    let db = debian_db(dir);

    // The registry behind a token service, and each signing service behind
    // a recording proxy that the signing config names instead of it.
    let reg = Proxy::with_options(
        registry.host(),
        Options {
            token_auth: Some(TokenAuth {
                user: USER.into(),
                password: PASSWORD.into(),
                token: TOKEN.into(),
            }),
            ..Options::default()
        },
    );
    let fulcio = Proxy::with_options(host_of(&stack.fulcio), Options::default());
    let rekor = Proxy::with_options(host_of(&stack.rekor), Options::default());
    let tsa = Proxy::with_options(host_of(&stack.tsa), Options::default());
    let oidc = Proxy::with_options(host_of(stack.issuer()), Options::default());

    let mut trust: Value = serde_json::from_slice(
        &std::fs::read(&stack.trust_config).expect("read the stack's trust config"),
    )
    .expect("trust config JSON");
    for (list, proxy) in [
        ("caUrls", &fulcio),
        ("rekorTlogUrls", &rekor),
        ("tsaUrls", &tsa),
    ] {
        let entries = trust["signingConfig"][list]
            .as_array_mut()
            .expect("signing config list");
        assert_eq!(entries.len(), 1, "{list}");
        let url = entries[0]["url"].as_str().expect("url").to_string();
        entries[0]["url"] = Value::String(through(&url, proxy.host()));
    }
    let trust_path = dir.join("trust_config.json");
    std::fs::write(&trust_path, trust.to_string()).expect("write the trust config");

    let docker = dir.join("docker");
    std::fs::create_dir_all(&docker).expect("docker config dir");
    {
        use base64::Engine as _;
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
        let config = serde_json::json!({ "auths": { reg.host(): { "auth": auth } } });
        std::fs::write(docker.join("config.json"), config.to_string()).expect("config.json");
    }
    let repo = format!("{}/vuln", reg.host());
    std::fs::write(
        dir.join("wharf.yaml"),
        format!(
            "image: {repo}:1.0\nscan:\n  db: {}\n  fail_on: critical\nattest:\n  sbom: true\n  vuln: true\n",
            db.display()
        ),
    )
    .expect("wharf.yaml");

    let mut cmd = wharf();
    for (k, v) in stack.github_env() {
        let v = if k == "ACTIONS_ID_TOKEN_REQUEST_URL" {
            through(&v, oidc.host())
        } else {
            v
        };
        cmd.env(k, v);
    }
    let out = cmd
        .current_dir(dir)
        .arg("--insecure-registry")
        .arg(reg.host())
        .env("WHARF_TRUST_CONFIG", &trust_path)
        .env("DOCKER_CONFIG", &docker)
        .env("GITHUB_OUTPUT", dir.join("github-output"))
        .env("GITHUB_STEP_SUMMARY", dir.join("github-summary"))
        .arg("run")
        .run();
    out.assert_ok();
    out.assert_not_leaked(PASSWORD);
    out.assert_not_leaked(TOKEN);

    let registry_seen = reg.seen();
    let methods = by_method(&registry_seen);
    let http_requests: usize = registry_seen.iter().filter(|s| s.method != "TLS").count();
    let fulcio_seen = fulcio.seen();
    let rekor_seen = rekor.seen();
    let tsa_seen = tsa.seen();
    let certificates = count(&fulcio_seen, "POST", "/api/v2/signingCert");
    let entries = count(&rekor_seen, "POST", "/api/v2/log/entries");
    let timestamps = count(&tsa_seen, "POST", "/api/v1/timestamp");
    let id_tokens = oidc.seen().len();

    let listing: String = registry_seen
        .iter()
        .map(|s| format!("\n  {} {}", s.method, s.path))
        .collect();
    let pings = count(&registry_seen, "GET", "/v2");
    println!(
        "wharf run, one-layer image, keyless: registry {http_requests} requests {methods:?}; \
         Fulcio {} ({certificates} certificate), Rekor v2 {} ({entries} entries), TSA {} \
         ({timestamps} timestamps), OIDC token endpoint {id_tokens}",
        fulcio_seen.len(),
        rekor_seen.len(),
        tsa_seen.len()
    );

    // A signature and two attestations: each its own log entry and timestamp,
    // all under one certificate for one identity token.
    assert_eq!(entries, 3, "one Rekor entry per signature: {rekor_seen:?}");
    assert_eq!(timestamps, 3, "one timestamp per signature: {tsa_seen:?}");
    assert_eq!(certificates, 1, "one certificate per run: {fulcio_seen:?}");
    assert_eq!(id_tokens, 1, "one identity token per run");
    // One client: one ping, one token for pulling and one for pushing.
    assert_eq!(pings, 1, "one registry client per run:{listing}");
    assert_eq!(methods.get("token"), Some(&2), "{listing}");
    assert!(
        http_requests <= 35,
        "{http_requests} registry requests (goal: at most 35): {methods:?}{listing}\n{}",
        out.describe()
    );

    // What the run wrote verifies, read straight from the registry.
    let by_digest = format!("{}/vuln@{digest}", registry.host());
    for kind in [None, Some("cyclonedx"), Some("vuln")] {
        let mut verify = wharf();
        verify
            .arg("--insecure-registry")
            .arg(registry.host())
            .env("WHARF_TRUST_CONFIG", &stack.trust_config)
            .args(["verify", &by_digest])
            .args(["--certificate-identity", stack.identity()])
            .args(["--certificate-oidc-issuer", stack.issuer()]);
        if let Some(kind) = kind {
            verify.args(["--attestation-type", kind]);
        }
        verify.run().assert_ok();
    }
}
