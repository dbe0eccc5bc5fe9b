//! `wharf run` end to end: a spawned registry, the Sigstore testbed and a
//! simulated GitHub Actions job. The gate's invariant is checked from the
//! outside: after a failed gate the registry holds no signature and the
//! deploy files are byte-identical.

use std::path::Path;

use serde_json::Value;

use crate::common::oci::{Layer, OciLayout};
use crate::common::registry::Registry;
use crate::common::Output;
use crate::scan::{debian_db, debian_files, tar};
use crate::sign::Env;

/// Pushes the Debian image (bash with a high finding in `debian_db`) as
/// `vuln:1.0`; returns its digest.
pub(crate) fn push_vulnerable(registry: &Registry, dir: &Path) -> String {
    let mut oci = OciLayout::new(&dir.join("layout"));
    let image = oci.add_image_with(
        "v1",
        "linux",
        "amd64",
        "vuln",
        &[Layer::gzip(&tar(&debian_files()))],
    );
    oci.push("v1", registry, "vuln", "1.0");
    image.digest.clone()
}

/// A registry and testbed with the vulnerable image pushed, a work
/// directory, and the OSV records that match it.
pub(crate) struct Setup {
    pub(crate) env: Env,
    pub(crate) work: tempfile::TempDir,
    pub(crate) digest: String,
    pub(crate) db: std::path::PathBuf,
}

pub(crate) fn setup() -> Setup {
    let env = Env::start();
    let work = tempfile::tempdir().expect("work dir");
    let digest = push_vulnerable(&env.registry, work.path());
    let db = debian_db(work.path());
    Setup {
        env,
        work,
        digest,
        db,
    }
}

/// `wharf run` inside a simulated GitHub Actions job, in `dir`; the job's
/// output and summary files are `dir/github-output` and `dir/github-summary`.
fn run_in(env: &Env, dir: &Path, args: &[&str]) -> Output {
    run_in_with(env, dir, &[], args)
}

/// [`run_in`], with `vars` set too.
fn run_in_with(env: &Env, dir: &Path, vars: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = env.wharf();
    for (k, v) in env.testbed.github_env() {
        cmd.env(k, v);
    }
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.env("GITHUB_OUTPUT", dir.join("github-output"))
        .env("GITHUB_STEP_SUMMARY", dir.join("github-summary"));
    cmd.current_dir(dir).arg("run").args(args).run()
}

/// `$GITHUB_OUTPUT` read the way the runner reads it: `name=value` lines
/// and `name<<DELIMITER` … `DELIMITER` blocks.
fn github_outputs(dir: &Path) -> std::collections::BTreeMap<String, String> {
    let text = std::fs::read_to_string(dir.join("github-output")).expect("GITHUB_OUTPUT");
    let mut out = std::collections::BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delimiter)) = line.split_once("<<") {
            let mut value = Vec::new();
            loop {
                let next = lines.next().expect("the delimiter closes the value");
                if next == delimiter {
                    break;
                }
                value.push(next);
            }
            out.insert(name.to_string(), value.join("\n"));
        } else if let Some((name, value)) = line.split_once('=') {
            out.insert(name.to_string(), value.to_string());
        } else {
            panic!("not a GITHUB_OUTPUT line: {line:?}");
        }
    }
    out
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
    let Setup {
        env,
        work,
        digest,
        db,
    } = setup();
    let dir = work.path();
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
            ("lint", "skipped"),
            ("sbom", "ok"),
            ("scan", "ok"),
            ("sign", "ok"),
            ("attest", "ok"),
            ("verify", "ok"),
            ("admission", "skipped"),
            ("promote", "ok"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    // The job's outputs parse, and say what run.json says.
    let outputs = github_outputs(dir);
    assert_eq!(outputs["digest"], digest);
    assert_eq!(outputs["image-ref"], format!("{repo}@{digest}"));
    assert_eq!(outputs["signer"], env.testbed.identity());
    assert_eq!(outputs["gate-passed"], "true");
    let findings: Value = serde_json::from_str(&outputs["findings"]).expect("findings JSON");
    assert_eq!(findings["high"], 1);
    let summary_md = std::fs::read_to_string(dir.join("github-summary")).expect("job summary");
    // (Rendered Markdown; `:` and `@` are escaped in the source.)
    assert!(
        summary_md.contains(digest.trim_start_matches("sha256:")),
        "{summary_md}"
    );
    assert!(out.stdout.contains("::group::sign"), "{}", out.describe());
    for file in ["sbom.cdx.json", "scan.json", "scan.sarif", "summary.md"] {
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
    let Setup {
        env,
        work,
        digest,
        db,
    } = setup();
    let dir = work.path();
    let repo = env.image("vuln");
    let values = VALUES.replace("{REPO}", &repo);
    std::fs::write(dir.join("values.yaml"), &values).expect("values");

    let db_arg = db.display().to_string();
    let image = format!("{repo}:1.0");
    let ran = run_in(
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
    ran.assert_code(1);
    assert!(
        ran.stderr.contains("stopped: the scan gate"),
        "{}",
        ran.describe()
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
            "admission skipped",
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
    let outputs = github_outputs(dir);
    assert_eq!(outputs["gate-passed"], "false");
    assert_eq!(outputs["signer"], "");
    assert!(
        ran.stdout
            .contains("::error::wharf run: the scan stage said no"),
        "{}",
        ran.describe()
    );
}

/// Tekton result files, GitLab's dotenv report and Jenkins' JSON, from one
/// gated run each (the gate fails: no signing service needed).
#[test]
fn tekton_gitlab_and_jenkins_get_their_outputs() {
    require_registry!();
    let Setup {
        env,
        work,
        digest,
        db,
    } = setup();
    let dir = work.path();
    let db = db.display().to_string();
    let image = format!("{}:1.0", env.image("vuln"));
    let base = ["run", image.as_str(), "--db", db.as_str()];

    // Tekton: the results the Task declares; a gate that said no names no
    // image for Chains to sign.
    let results = dir.join("results");
    std::fs::create_dir(&results).expect("results dir");
    let out = env
        .wharf()
        .current_dir(dir)
        .env("WHARF_TEKTON_RESULTS", &results)
        .args(base)
        .args(["--fail-on", "high"])
        .run();
    out.assert_code(1);
    let read = |name: &str| std::fs::read_to_string(results.join(name)).expect(name);
    assert_eq!(read("IMAGE_DIGEST"), "");
    let findings: Value = serde_json::from_str(&read("FINDINGS")).expect("FINDINGS");
    assert_eq!(findings["high"], 1);

    // GitLab: a dotenv report. Jenkins: --output-json.
    let out = env
        .wharf()
        .current_dir(dir)
        .env("GITLAB_CI", "true")
        .args(base)
        .args(["--fail-on", "high", "--output-json", "jenkins.json"])
        .run();
    out.assert_code(1);
    let dotenv = std::fs::read_to_string(dir.join("wharf-out/wharf.env")).expect("dotenv");
    let pairs: std::collections::BTreeMap<&str, &str> = dotenv
        .lines()
        .map(|l| l.split_once('=').expect("KEY=VALUE"))
        .collect();
    assert_eq!(pairs["WHARF_GATE_PASSED"], "false");
    assert_eq!(pairs["WHARF_DIGEST"], digest);
    let jenkins: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("jenkins.json")).expect("json"))
            .expect("JSON");
    assert_eq!(jenkins["digest"], digest.as_str());
    assert_eq!(jenkins["outcome"], "policy");
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

/// `--no-sign` (Tekton Chains signs instead): the gate still runs, the
/// image that passed is named in the results for Chains, and wharf itself
/// writes no signature.
#[test]
fn no_sign_leaves_a_passing_image_to_chains() {
    require_registry!();
    let Setup {
        env,
        work,
        digest,
        db,
    } = setup();
    let dir = work.path();
    let db = db.display().to_string();
    let image = format!("{}:1.0", env.image("vuln"));
    let results = dir.join("results");
    std::fs::create_dir(&results).expect("results dir");
    let out = env
        .wharf()
        .current_dir(dir)
        .env("WHARF_TEKTON_RESULTS", &results)
        .args(["run", image.as_str(), "--db", db.as_str(), "--no-sign"])
        .run();
    out.assert_ok();
    let read = |name: &str| std::fs::read_to_string(results.join(name)).expect(name);
    assert_eq!(read("IMAGE_DIGEST"), digest);
    assert_eq!(read("IMAGE_URL"), env.image("vuln"));
    let summary = run_json(dir);
    let tail: Vec<String> = statuses(&summary)
        .into_iter()
        .skip_while(|(name, _)| name != "scan")
        .map(|(name, status)| format!("{name} {status}"))
        .collect();
    assert_eq!(
        tail,
        [
            "scan ok",
            "sign skipped",
            "attest skipped",
            "verify skipped",
            "admission skipped",
            "promote skipped"
        ]
    );
    let out = env.verify(
        &format!("{}@{digest}", env.image("vuln")),
        env.testbed.identity(),
        env.testbed.issuer(),
    );
    out.assert_code(1);
    assert!(out.stdout.contains("0 bundle(s)"), "{}", out.describe());

    // The gate still decides: a failing image is not named to Chains.
    let out = env
        .wharf()
        .current_dir(dir)
        .env("WHARF_TEKTON_RESULTS", &results)
        .args(["run", image.as_str(), "--db", db.as_str(), "--no-sign"])
        .args(["--fail-on", "high"])
        .run();
    out.assert_code(1);
    assert_eq!(read("IMAGE_DIGEST"), "");
}

/// The attestation bundles stored through the fake attestations API, each
/// an in-toto statement about `digest`, with their predicate types.
fn stored_predicate_types(fake: &crate::common::github::FakeGitHub, digest: &str) -> Vec<String> {
    use base64::Engine as _;
    fake.attestations()
        .iter()
        .map(|bundle| {
            let payload = bundle["dsseEnvelope"]["payload"]
                .as_str()
                .expect("a DSSE payload");
            let statement: Value = serde_json::from_slice(
                &base64::engine::general_purpose::STANDARD
                    .decode(payload)
                    .expect("base64"),
            )
            .expect("an in-toto statement");
            assert_eq!(
                statement["subject"][0]["digest"]["sha256"],
                digest.trim_start_matches("sha256:"),
                "{statement}"
            );
            statement["predicateType"]
                .as_str()
                .expect("predicateType")
                .to_string()
        })
        .collect()
}

#[test]
fn github_attestations_are_stored_through_the_api_as_well_as_in_the_registry() {
    require_registry!();
    const TOKEN: &str = "ghs_FAKE0token0for0wharf0run0tests9";
    let Setup {
        env,
        work,
        digest,
        db,
    } = setup();
    let dir = work.path();
    let repo = env.image("vuln");
    let fake = crate::common::github::FakeGitHub::start("acme/app", TOKEN);
    std::fs::write(
        dir.join("wharf.yaml"),
        format!(
            "image: {repo}:1.0\nscan:\n  db: {}\nattest:\n  sbom: true\n  vuln: true\n",
            db.display()
        ),
    )
    .expect("wharf.yaml");
    let run = |fake: &crate::common::github::FakeGitHub, token: Option<&str>| {
        let url = fake.url();
        let mut vars = vec![
            ("GITHUB_REPOSITORY", "acme/app"),
            ("GITHUB_API_URL", url.as_str()),
        ];
        vars.extend(token.map(|t| ("GITHUB_TOKEN", t)));
        run_in_with(&env, dir, &vars, &["--github-attestations"])
    };

    // Without a token nothing is signed: the run stops before it starts.
    let out = run(&fake, None);
    out.assert_error(&["GITHUB_TOKEN", "attestations: write"]);
    assert!(!out.stderr.contains("── sign"), "{}", out.describe());
    assert!(fake.attestations().is_empty());

    // A refusal names the permission, and never the token.
    fake.fail(
        "POST",
        "/attestations",
        403,
        "Resource not accessible by integration",
    );
    let out = run(&fake, Some(TOKEN));
    out.assert_error(&[
        "Resource not accessible by integration",
        "attestations: write",
    ]);
    out.assert_not_leaked(TOKEN);

    let fake = crate::common::github::FakeGitHub::start("acme/app", TOKEN);
    let out = run(&fake, Some(TOKEN));
    out.assert_ok();
    out.assert_not_leaked(TOKEN);
    // The same bundles as in the registry (the earlier run attached them;
    // this one found them and stored them through the API).
    assert_eq!(
        stored_predicate_types(&fake, &digest),
        [
            "https://cyclonedx.org/bom",
            "https://cosign.sigstore.dev/attestation/vuln/v1"
        ]
    );
    let summary = run_json(dir);
    assert_eq!(
        summary["github_attestations"],
        serde_json::json!([1001, 1002])
    );
    assert!(
        out.stderr
            .contains("github    attestation id(s) 1001, 1002"),
        "{}",
        out.describe()
    );
    let requests = fake.requests_to("POST", "/attestations");
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[0].header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
}

/// `policy.check`: before promote, a dry run of admission against the
/// policies the cluster enforces. A pipeline whose identity the cluster's
/// policy does not know stops there (exit 1): nothing is promoted.
#[test]
fn the_clusters_policies_are_checked_before_promote() {
    require_registry!();
    let Setup { env, work, db, .. } = setup();
    let dir = work.path();
    let repo = env.image("vuln");
    let host = repo.split('/').next().expect("host").to_string();
    std::fs::create_dir_all(dir.join("deploy")).expect("deploy dir");
    std::fs::create_dir_all(dir.join("cluster")).expect("cluster dir");
    let values = VALUES.replace("{REPO}", &repo);
    std::fs::write(dir.join("deploy/values.yaml"), &values).expect("values");
    for (name, identity) in [
        ("allows", env.testbed.identity().to_string()),
        (
            "other",
            "https://github.com/someone/else/.github/workflows/x.yml@refs/heads/main".to_string(),
        ),
    ] {
        crate::common::wharf()
            .args(["policy", "kyverno", "--certificate-identity", &identity])
            .args(["--certificate-oidc-issuer", env.testbed.issuer()])
            .args(["--image-pattern", &format!("{host}/*")])
            .arg("-o")
            .arg(dir.join(format!("cluster/{name}.yaml")))
            .run()
            .assert_ok();
    }
    let config = |policy: &str| {
        format!(
            "image: {repo}:1.0\nscan:\n  db: {}\n  fail_on: critical\npromote:\n  files: [deploy/values.yaml]\npolicy:\n  check: [cluster/{policy}.yaml]\n",
            db.display()
        )
    };

    std::fs::write(dir.join("wharf.yaml"), config("other")).expect("wharf.yaml");
    let out = run_in(&env, dir, &[]);
    out.assert_code(1);
    assert!(out.stdout.contains("deny"), "{}", out.describe());
    let summary = run_json(dir);
    let stages = statuses(&summary);
    assert!(
        stages.contains(&("admission".into(), "failed".into())),
        "{stages:?}"
    );
    assert!(
        stages.contains(&("promote".into(), "skipped".into())),
        "{stages:?}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("deploy/values.yaml")).expect("values"),
        values,
        "nothing promoted"
    );

    std::fs::write(dir.join("wharf.yaml"), config("allows")).expect("wharf.yaml");
    let out = run_in(&env, dir, &[]);
    out.assert_ok();
    let stages = statuses(&run_json(dir));
    assert!(
        stages.contains(&("admission".into(), "ok".into())),
        "{stages:?}"
    );
    assert!(
        stages.contains(&("promote".into(), "ok".into())),
        "{stages:?}"
    );
}
