//! The pin benchmark (ignored by default): 500 references, 100 unique tags
//! across 10 repositories, pinned against the spawned registry; wharf's wall
//! time and registry cost next to a sequential `skopeo inspect --raw` loop.
//!
//! `cargo test --release --test it -- --ignored bench --nocapture`
//! (or `benches/pin.sh`).

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::Value;

use crate::common::oci::{skopeo, OciLayout, MANIFEST};
use crate::common::proxy::{Options, Proxy, TokenAuth};
use crate::common::registry::{LoggedRequest, Registry};
use crate::common::{http, run_command, sha256_digest, tree};

use super::{json_references, pin_in, temp_tree};

const REPOS: usize = 10;
const TAGS_PER_REPO: usize = 10;
const OCCURRENCES: usize = 5;

/// Pushes one image per repository, then gives each of its tags a manifest
/// of its own (same blobs, a distinguishing annotation), so every unique
/// reference has its own digest. Returns `repo:tag` → digest.
fn populate(registry: &Registry) -> BTreeMap<String, String> {
    let layout_dir = tempfile::tempdir().expect("layout dir");
    let mut layout = OciLayout::new(layout_dir.path());
    let mut digests = BTreeMap::new();
    for r in 0..REPOS {
        let repo = format!("bench/repo{r}");
        let image = layout.add_image(&format!("seed{r}"), "linux", "amd64", &repo);
        layout.push(&format!("seed{r}"), registry, &repo, "seed");
        let manifest: Value = serde_json::from_slice(&image.manifest).expect("manifest");
        for t in 0..TAGS_PER_REPO {
            let tag = format!("1.{t}");
            let mut m = manifest.clone();
            m["annotations"] = serde_json::json!({ "dev.wharf.bench.tag": tag });
            let bytes = serde_json::to_vec(&m).expect("manifest bytes");
            let path = format!("/v2/{repo}/manifests/{tag}");
            let resp = http::request(
                registry.host(),
                "PUT",
                &path,
                &[("Content-Type", MANIFEST)],
                &bytes,
            )
            .expect("PUT manifest");
            assert_eq!(
                resp.status,
                201,
                "PUT {path}: {}",
                String::from_utf8_lossy(&resp.body)
            );
            digests.insert(format!("{repo}:{tag}"), sha256_digest(&bytes));
        }
    }
    digests
}

fn manifest_counts(requests: &[LoggedRequest]) -> BTreeMap<String, usize> {
    let mut per_ref = BTreeMap::new();
    for r in requests {
        if let Some((repo, reference)) = r.manifest() {
            *per_ref.entry(format!("{repo}:{reference}")).or_default() += 1;
        }
    }
    per_ref
}

/// 250 references in 50 Dockerfiles, 250 in 25 Kubernetes manifests, each
/// unique `repo:tag` five times, naming the registry `host`.
fn write_tree(dir: &std::path::Path, host: &str, unique: &[&String]) {
    let total = unique.len() * OCCURRENCES;
    let refs: Vec<String> = (0..total)
        .map(|k| format!("{host}/{}", unique[k % unique.len()]))
        .collect();
    let (docker_refs, yaml_refs) = refs.split_at(total / 2);
    for (i, chunk) in docker_refs.chunks(5).enumerate() {
        let text: String = chunk
            .iter()
            .map(|r| format!("FROM {r}\nRUN true\n"))
            .collect();
        tree::write(dir, &format!("svc{i:02}/Dockerfile"), text);
    }
    for (i, chunk) in yaml_refs.chunks(10).enumerate() {
        let containers: String = chunk
            .iter()
            .enumerate()
            .map(|(j, r)| format!("        - name: c{j}\n          image: {r}\n"))
            .collect();
        let text = format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app{i}\nspec:\n  template:\n    spec:\n      containers:\n{containers}"
        );
        tree::write(dir, &format!("k8s/app{i:02}.yaml"), text);
    }
}

#[test]
#[ignore = "benchmark: cargo test --release --test it -- --ignored bench --nocapture"]
fn bench_pin_500_references() {
    require_registry!();
    let registry = Registry::start();
    let host = registry.host().to_string();
    let digests = populate(&registry);
    let unique: Vec<&String> = digests.keys().collect();

    let dir = temp_tree();
    let total = unique.len() * OCCURRENCES;
    write_tree(dir.path(), &host, &unique);

    let mark = registry.requests().len();
    let out = pin_in(dir.path(), &host)
        .args(["--write", "--format", "json", "."])
        .run();
    out.assert_ok();
    let wharf_requests: Vec<LoggedRequest> = registry.requests().into_iter().skip(mark).collect();
    let report = out.json();
    let resolved = json_references(&report, dir.path());
    assert_eq!(resolved.len(), total, "references in the report");
    assert!(resolved.iter().all(|r| r.2 == "resolved"), "all resolved");
    for r in report["references"].as_array().expect("references") {
        let reference = r["reference"].as_str().expect("reference");
        let key = reference
            .strip_prefix(&format!("{host}/"))
            .unwrap_or(reference);
        let key = key.split('@').next().unwrap_or(key);
        assert_eq!(
            r["digest"].as_str(),
            digests.get(key).map(String::as_str),
            "digest of {reference}"
        );
    }

    let per_ref = manifest_counts(&wharf_requests);
    let manifest_total: usize = per_ref.values().sum();
    let max = per_ref.values().copied().max().unwrap_or(0);
    let pings = wharf_requests
        .iter()
        .filter(|r| r.path() == "/v2/" || r.path() == "/v2")
        .count();
    let tokens = wharf_requests
        .iter()
        .filter(|r| !r.path().starts_with("/v2"))
        .count();
    let unauthorized = wharf_requests.iter().filter(|r| r.status == 401).count();

    // The same resolution, sequentially, with skopeo.
    let mark = registry.requests().len();
    let start = Instant::now();
    for r in &unique {
        let mut cmd = skopeo();
        cmd.args(["inspect", "--raw", "--tls-verify=false"])
            .arg(format!("docker://{host}/{r}"));
        run_command(&mut cmd);
    }
    let skopeo_time = start.elapsed();
    let skopeo_requests: Vec<LoggedRequest> = registry.requests().into_iter().skip(mark).collect();
    let skopeo_manifests: usize = manifest_counts(&skopeo_requests).values().sum();

    // The same tree behind a token service (the proxy standing in for one):
    // one token request must cover all ten repositories.
    let proxy = Proxy::with_options(
        &host,
        Options {
            token_auth: Some(TokenAuth {
                user: "bench".into(),
                password: "bench-password".into(),
                token: "bench-token".into(),
            }),
            ..Options::default()
        },
    );
    let token_dir = temp_tree();
    write_tree(token_dir.path(), proxy.host(), &unique);
    let config = tempfile::tempdir().expect("docker config");
    std::fs::write(
        config.path().join("config.json"),
        format!(
            r#"{{"auths": {{"{}": {{"auth": "YmVuY2g6YmVuY2gtcGFzc3dvcmQ="}}}}}}"#,
            proxy.host()
        ),
    )
    .expect("config.json");
    let token_out = pin_in(token_dir.path(), proxy.host())
        .env("DOCKER_CONFIG", config.path())
        .args(["--write", "."])
        .run();
    token_out.assert_ok();
    let seen = proxy.seen();
    let token_requests = seen.iter().filter(|s| s.path == "/token").count();
    let token_manifests = seen
        .iter()
        .filter(|s| s.path.contains("/manifests/"))
        .count();

    println!();
    println!(
        "pin benchmark: {total} references, {} unique tags, {REPOS} repositories",
        unique.len()
    );
    println!(
        "{:<44} {:>10} {:>10} {:>10}",
        "", "wall", "manifest", "requests"
    );
    println!(
        "{:<44} {:>8.0}ms {:>10} {:>10}",
        "wharf pin --write (500 refs)",
        out.elapsed.as_secs_f64() * 1000.0,
        manifest_total,
        wharf_requests.len()
    );
    println!(
        "{:<44} {:>8.0}ms {:>10} {:>10}",
        "skopeo inspect --raw, sequential (100 refs)",
        skopeo_time.as_secs_f64() * 1000.0,
        skopeo_manifests,
        skopeo_requests.len()
    );
    println!(
        "wharf: manifest requests per unique reference {:.2} (max {max}), /v2/ pings {pings}, \
         token requests {tokens} (this registry has no token service), 401 answers {unauthorized}",
        manifest_total as f64 / unique.len() as f64
    );
    println!(
        "{:<44} {:>8.0}ms {:>10} {:>10}",
        "wharf pin --write behind token auth (proxy)",
        token_out.elapsed.as_secs_f64() * 1000.0,
        token_manifests,
        seen.len()
    );
    println!(
        "behind token auth: token requests {token_requests} for {REPOS} repositories, \
         manifest requests per unique reference {:.2}",
        token_manifests as f64 / unique.len() as f64
    );
    assert_eq!(token_requests, 1, "one token request for the registry");
    assert_eq!(
        token_manifests,
        unique.len(),
        "one manifest request per reference"
    );
}
