//! `write_outputs` end to end per CI system, with a fake environment
//! (`Ci::from_env`) and temporary directories.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::*;

const DIGEST: &str = "sha256:586789aa031fafc7d78a5393cdc772e0b55107ea54bb8bcf3f2cdac6c6da51ee";

/// The summary of docs/run.md's example, with a few more stages.
pub(crate) fn sample() -> RunSummary {
    let stage = |name: &str, status, seconds| StageRecord {
        name: name.to_string(),
        status,
        seconds,
    };
    RunSummary {
        image: "ghcr.io/acme/app".to_string(),
        digest: Some(DIGEST.to_string()),
        image_ref: Some(format!("ghcr.io/acme/app@{DIGEST}")),
        sbom: Some("wharf-out/sbom.cdx.json".to_string()),
        findings: Some(FindingCounts {
            critical: 0,
            high: 1,
            medium: 3,
            low: 0,
            unknown: 2,
            total: 6,
        }),
        gate: Some(GateResult {
            fail_on: "critical".to_string(),
            passed: true,
        }),
        signer: Some(
            "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main".to_string(),
        ),
        issuer: Some("https://token.actions.githubusercontent.com".to_string()),
        rekor_log_index: Some(12345),
        attestations: vec!["https://cyclonedx.org/bom".to_string()],
        github_attestations: Vec::new(),
        promoted: vec!["deploy/values.yaml".to_string()],
        stages: vec![
            stage("sbom", StageStatus::Ok, 1.2),
            stage("scan", StageStatus::Ok, 3.0),
            stage("promote", StageStatus::Skipped, 0.0),
        ],
        outcome: RunOutcome::Ok,
    }
}

/// The cells of a Markdown table row, honouring `\|` escapes.
pub(crate) fn table_cells(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('|');
    let mut cells = vec![String::new()];
    let mut escaped = false;
    for c in inner.chars() {
        if c == '|' && !escaped {
            cells.push(String::new());
        } else if let Some(last) = cells.last_mut() {
            last.push(c);
        }
        escaped = c == '\\' && !escaped;
    }
    if cells.last().is_some_and(|c| c.trim().is_empty()) {
        cells.pop();
    }
    cells
}

fn env(vars: &[(&str, &str)]) -> Ci {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Ci::from_env(|name| map.get(name).cloned())
}

fn options(dir: &Path) -> OutputOptions {
    OutputOptions {
        output_json: None,
        output_dotenv: None,
        output_dir: dir.join("wharf-out"),
    }
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn detection_follows_the_contract() {
    assert_eq!(env(&[]), Ci::None);
    assert_eq!(env(&[("CI", "true")]), Ci::None);
    assert_eq!(
        env(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_OUTPUT", "/runner/out"),
            ("GITHUB_STEP_SUMMARY", ""),
        ]),
        Ci::GitHub {
            output: Some(PathBuf::from("/runner/out")),
            summary: None,
        }
    );
    assert_eq!(env(&[("GITHUB_ACTIONS", "false")]), Ci::None);
    assert_eq!(
        env(&[
            ("WHARF_TEKTON_RESULTS", "/tekton/results"),
            ("GITHUB_ACTIONS", "true")
        ]),
        Ci::Tekton {
            results: PathBuf::from("/tekton/results")
        }
    );
    assert_eq!(env(&[("WHARF_TEKTON_RESULTS", "")]), Ci::None);
    assert_eq!(env(&[("JENKINS_URL", "https://ci.example/")]), Ci::Jenkins);
    assert_eq!(env(&[("GITLAB_CI", "true")]), Ci::GitLab);
}

#[test]
fn run_json_has_the_contract_fields_and_reads_back() {
    let json = serde_json::to_value(sample()).unwrap();
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut want = vec![
        "image",
        "digest",
        "image_ref",
        "sbom",
        "findings",
        "gate",
        "signer",
        "issuer",
        "rekor_log_index",
        "attestations",
        "github_attestations",
        "promoted",
        "stages",
        "outcome",
    ];
    want.sort();
    let mut keys = keys;
    keys.sort();
    assert_eq!(keys, want);
    assert_eq!(json["stages"][2]["status"], "skipped");
    assert_eq!(json["outcome"], "ok");
    assert_eq!(json["findings"]["total"], 6);
    assert_eq!(
        json["gate"],
        serde_json::json!({"fail_on": "critical", "passed": true})
    );
    for (status, text) in [
        (StageStatus::Ok, "ok"),
        (StageStatus::Failed, "failed"),
        (StageStatus::Error, "error"),
        (StageStatus::Skipped, "skipped"),
    ] {
        assert_eq!(serde_json::to_value(status).unwrap(), text);
        assert_eq!(status.as_str(), text);
    }
    for (outcome, text) in [
        (RunOutcome::Ok, "ok"),
        (RunOutcome::Policy, "policy"),
        (RunOutcome::Error, "error"),
    ] {
        assert_eq!(serde_json::to_value(outcome).unwrap(), text);
        assert_eq!(outcome.as_str(), text);
    }
    // What the run did not get to stays in the schema as null.
    let mut early = sample();
    early.digest = None;
    early.findings = None;
    let json = serde_json::to_value(&early).unwrap();
    assert!(
        json["digest"].is_null() && json["findings"].is_null(),
        "{json}"
    );
    let back: RunSummary = serde_json::from_value(json).unwrap();
    assert_eq!(back, early);
}

#[test]
fn everywhere_run_json_and_summary_md_and_output_json() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(dir.path());
    opts.output_json = Some(dir.path().join("jenkins.json"));
    let ci = env(&[("JENKINS_URL", "https://ci.example/")]);
    let written = write_outputs(&ci, &sample(), &opts).unwrap();
    assert_eq!(
        written,
        vec![
            opts.output_dir.join("run.json"),
            opts.output_dir.join("summary.md"),
            dir.path().join("jenkins.json"),
        ]
    );
    let run: RunSummary =
        serde_json::from_slice(&std::fs::read(opts.output_dir.join("run.json")).unwrap()).unwrap();
    assert_eq!(run, sample());
    assert_eq!(
        std::fs::read(opts.output_dir.join("run.json")).unwrap(),
        std::fs::read(dir.path().join("jenkins.json")).unwrap()
    );
    assert_eq!(
        std::fs::read_to_string(opts.output_dir.join("summary.md")).unwrap(),
        markdown(&sample())
    );
    // Nothing else, and no temporary file left behind.
    assert_eq!(std::fs::read_dir(&opts.output_dir).unwrap().count(), 2);
}

#[test]
fn github_outputs_round_trip_and_the_summary_is_appended() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("github_output");
    let step_summary = dir.path().join("step_summary");
    std::fs::write(&output, "earlier=kept\n").unwrap();
    std::fs::write(&step_summary, "# Earlier\n").unwrap();
    let ci = env(&[
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_OUTPUT", s(&output)),
        ("GITHUB_STEP_SUMMARY", s(&step_summary)),
    ]);
    let mut summary = sample();
    // A multi-line value and one holding a fake delimiter line.
    summary.promoted = vec![
        "deploy/a.yaml".into(),
        "x\nghadelimiter_0\ngate-passed=false".into(),
    ];
    summary.signer = Some("line one\nimage<<EOF\nforged\nEOF".into());
    let opts = options(dir.path());
    let written = write_outputs(&ci, &summary, &opts).unwrap();
    assert_eq!(&written[2..], &[output.clone(), step_summary.clone()]);

    let text = std::fs::read_to_string(&output).unwrap();
    let parsed = super::github::tests::parse_output_file(&text).unwrap();
    let want: Vec<(&str, String)> = vec![
        ("earlier", "kept".into()),
        ("image", "ghcr.io/acme/app".into()),
        ("digest", DIGEST.into()),
        ("image-ref", format!("ghcr.io/acme/app@{DIGEST}")),
        ("sbom", "wharf-out/sbom.cdx.json".into()),
        (
            "findings",
            r#"{"critical":0,"high":1,"medium":3,"low":0,"unknown":2,"total":6}"#.into(),
        ),
        ("gate-passed", "true".into()),
        ("signer", "line one\nimage<<EOF\nforged\nEOF".into()),
        ("rekor-log-index", "12345".into()),
        ("attestations", r#"["https://cyclonedx.org/bom"]"#.into()),
        (
            "promoted",
            serde_json::to_string(&summary.promoted).unwrap(),
        ),
        ("summary-json", serde_json::to_string(&summary).unwrap()),
    ];
    assert_eq!(parsed.len(), want.len(), "{text}");
    for (name, value) in &want {
        assert_eq!(parsed.get(*name), Some(value), "{name} in\n{text}");
    }
    let back: RunSummary = serde_json::from_str(&parsed["summary-json"]).unwrap();
    assert_eq!(back, summary);

    let md = std::fs::read_to_string(&step_summary).unwrap();
    assert_eq!(md, format!("# Earlier\n\n{}", markdown(&summary)));
}

#[test]
fn github_outputs_of_an_early_failure_are_empty_strings() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("github_output");
    let ci = env(&[("GITHUB_ACTIONS", "true"), ("GITHUB_OUTPUT", s(&output))]);
    let mut summary = sample();
    summary.digest = None;
    summary.image_ref = None;
    summary.findings = None;
    summary.gate = None;
    summary.rekor_log_index = None;
    summary.outcome = RunOutcome::Error;
    write_outputs(&ci, &summary, &options(dir.path())).unwrap();
    let parsed =
        super::github::tests::parse_output_file(&std::fs::read_to_string(&output).unwrap())
            .unwrap();
    for name in [
        "digest",
        "image-ref",
        "findings",
        "gate-passed",
        "rekor-log-index",
    ] {
        assert_eq!(parsed[name], "", "{name}");
    }
}

#[test]
fn tekton_results_are_exact_bytes_with_chains_type_hints() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results");
    std::fs::create_dir(&results).unwrap();
    let ci = env(&[("WHARF_TEKTON_RESULTS", s(&results))]);
    let mut summary = sample();
    summary.image = "ghcr.io/acme/app:1.4.2".to_string();
    let written = write_outputs(&ci, &summary, &options(dir.path())).unwrap();
    assert_eq!(written.len(), 2 + 5);
    let read = |name: &str| std::fs::read(results.join(name)).unwrap();

    // IMAGE_URL keeps the tag (Chains parses URL@DIGEST with ggcr's
    // NewDigest, which accepts one); IMAGE_DIGEST is algorithm:hex.
    assert_eq!(read("IMAGE_URL"), b"ghcr.io/acme/app:1.4.2");
    assert_eq!(read("IMAGE_DIGEST"), DIGEST.as_bytes());
    let sbom: serde_json::Value = serde_json::from_slice(&read("SBOM_ARTIFACT_OUTPUTS")).unwrap();
    assert_eq!(
        sbom,
        serde_json::json!({"uri": "ghcr.io/acme/app", "digest": DIGEST}),
        "exactly uri and digest, both strings"
    );
    let findings: FindingCounts = serde_json::from_slice(&read("FINDINGS")).unwrap();
    assert_eq!(Some(findings), summary.findings);
    assert_eq!(read("SIGNER"), summary.signer.unwrap().as_bytes());
    for name in [
        "IMAGE_URL",
        "IMAGE_DIGEST",
        "SBOM_ARTIFACT_OUTPUTS",
        "FINDINGS",
        "SIGNER",
    ] {
        assert!(!read(name).ends_with(b"\n"), "{name} ends with a newline");
    }
    // Only the results; no temporary file left behind.
    assert_eq!(std::fs::read_dir(&results).unwrap().count(), 5);
}

/// Chains signs what IMAGE_URL/IMAGE_DIGEST name even for a failed
/// TaskRun: a run that said no (or failed) names nothing to sign.
#[test]
fn tekton_names_no_image_for_a_run_that_did_not_pass() {
    for outcome in [RunOutcome::Policy, RunOutcome::Error] {
        let dir = tempfile::tempdir().unwrap();
        let results = dir.path().join("results");
        std::fs::create_dir(&results).unwrap();
        let ci = env(&[("WHARF_TEKTON_RESULTS", s(&results))]);
        let mut summary = sample();
        summary.outcome = outcome;
        write_outputs(&ci, &summary, &options(dir.path())).unwrap();
        for name in ["IMAGE_URL", "IMAGE_DIGEST"] {
            assert_eq!(std::fs::read(results.join(name)).unwrap(), b"", "{name}");
        }
        let sbom: serde_json::Value =
            serde_json::from_slice(&std::fs::read(results.join("SBOM_ARTIFACT_OUTPUTS")).unwrap())
                .unwrap();
        assert_eq!(sbom, serde_json::json!({"uri": "", "digest": ""}));
        // What the scan found is still reported.
        assert!(!std::fs::read(results.join("FINDINGS")).unwrap().is_empty());
    }
}

#[test]
fn tekton_hints_stay_empty_for_what_chains_cannot_use() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results");
    std::fs::create_dir(&results).unwrap();
    let ci = env(&[("WHARF_TEKTON_RESULTS", s(&results))]);
    let read = |name: &str| String::from_utf8(std::fs::read(results.join(name)).unwrap()).unwrap();
    let empty_object = serde_json::json!({"uri": "", "digest": ""});

    // An OCI layout: no registry for Chains to attach to. `oci:build`
    // also reads as Docker Hub's `oci` with tag `build`, which Chains
    // would then sign and attest in the wrong place.
    for (image, image_ref) in [
        (
            "oci:build/layout:1.4.2",
            format!("oci:build/layout@{DIGEST}"),
        ),
        ("oci:build", format!("oci:build@{DIGEST}")),
    ] {
        let mut layout = sample();
        layout.image = image.to_string();
        layout.image_ref = Some(image_ref);
        write_outputs(&ci, &layout, &options(dir.path())).unwrap();
        assert_eq!(read("IMAGE_URL"), "", "{image}");
        assert_eq!(read("IMAGE_DIGEST"), DIGEST);
        let sbom: serde_json::Value = serde_json::from_str(&read("SBOM_ARTIFACT_OUTPUTS")).unwrap();
        assert_eq!(sbom, empty_object, "{image}");
    }

    // No SBOM attestation: no SBOM artifact.
    let mut unattested = sample();
    unattested.attestations.clear();
    write_outputs(&ci, &unattested, &options(dir.path())).unwrap();
    assert_eq!(read("IMAGE_URL"), "ghcr.io/acme/app");
    let sbom: serde_json::Value = serde_json::from_str(&read("SBOM_ARTIFACT_OUTPUTS")).unwrap();
    assert_eq!(sbom, empty_object);

    // Failed before the digest was known.
    let mut early = sample();
    early.digest = None;
    early.image_ref = None;
    early.findings = None;
    early.signer = None;
    write_outputs(&ci, &early, &options(dir.path())).unwrap();
    for name in ["IMAGE_URL", "IMAGE_DIGEST", "FINDINGS", "SIGNER"] {
        assert_eq!(read(name), "", "{name}");
    }
}

#[test]
fn tekton_results_over_the_limit_are_refused_and_none_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results");
    std::fs::create_dir(&results).unwrap();
    let ci = env(&[("WHARF_TEKTON_RESULTS", s(&results))]);
    let mut summary = sample();
    summary.signer = Some("s".repeat(3900));
    let opts = options(dir.path());
    let err = write_outputs(&ci, &summary, &opts).unwrap_err().to_string();
    assert!(err.contains("over its 4096-byte limit"), "{err}");
    assert!(err.contains("the largest is SIGNER (3900 bytes)"), "{err}");
    assert!(err.contains("no CI output was written"), "{err}");
    assert_eq!(std::fs::read_dir(&results).unwrap().count(), 0);
    assert!(opts.output_dir.join("run.json").exists());

    // Just under the limit passes.
    let mut summary = sample();
    let base = super::tekton::encoded_size(&super::tekton::results(&summary));
    summary.signer = Some(String::new());
    let without_signer = super::tekton::encoded_size(&super::tekton::results(&summary));
    assert!(without_signer < base);
    summary.signer = Some("s".repeat(super::tekton::LIMIT - 256 - without_signer));
    let results_now = super::tekton::results(&summary);
    assert_eq!(
        super::tekton::encoded_size(&results_now),
        super::tekton::LIMIT - 256
    );
    write_outputs(&ci, &summary, &opts).unwrap();
    summary.signer = Some("s".repeat(super::tekton::LIMIT - 256 - without_signer + 1));
    write_outputs(&ci, &summary, &opts).unwrap_err();
}

#[test]
fn tekton_without_its_results_directory_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-dir");
    let ci = env(&[("WHARF_TEKTON_RESULTS", s(&missing))]);
    let err = write_outputs(&ci, &sample(), &options(dir.path()))
        .unwrap_err()
        .to_string();
    assert!(err.contains("no-such-dir"), "{err}");
    assert!(err.contains("set WHARF_TEKTON_RESULTS"), "{err}");
}

#[test]
fn gitlab_dotenv_goes_to_the_output_dir_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let ci = env(&[("GITLAB_CI", "true")]);
    let opts = options(dir.path());
    let written = write_outputs(&ci, &sample(), &opts).unwrap();
    let path = opts.output_dir.join(DOTENV_DEFAULT);
    assert_eq!(written.last(), Some(&path));
    let text = std::fs::read_to_string(&path).unwrap();
    let parsed = super::gitlab::tests::parse_dotenv(&text).unwrap();
    let want: Vec<(&str, String)> = vec![
        ("WHARF_IMAGE", "ghcr.io/acme/app".into()),
        ("WHARF_DIGEST", DIGEST.into()),
        ("WHARF_IMAGE_REF", format!("ghcr.io/acme/app@{DIGEST}")),
        ("WHARF_GATE_PASSED", "true".into()),
        ("WHARF_SIGNER", sample().signer.unwrap()),
    ];
    assert_eq!(parsed.len(), want.len(), "{text}");
    for (key, value) in &want {
        assert_eq!(parsed.get(*key), Some(value), "{key} in\n{text}");
    }
    assert_eq!(text.lines().count(), want.len(), "{text}");
}

#[test]
fn a_dotenv_value_with_a_newline_is_refused_and_run_json_still_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(dir.path());
    opts.output_dotenv = Some(dir.path().join("out.env"));
    let mut summary = sample();
    summary.signer = Some("me\nWHARF_GATE_PASSED=true".to_string());
    // Asked for explicitly, outside GitLab too.
    let err = write_outputs(&Ci::None, &summary, &opts)
        .unwrap_err()
        .to_string();
    assert!(err.contains("out.env"), "{err}");
    assert!(err.contains("WHARF_SIGNER's value contains"), "{err}");
    assert!(!dir.path().join("out.env").exists());
    // run.json, which can carry the value, is there to read.
    let run: RunSummary =
        serde_json::from_slice(&std::fs::read(opts.output_dir.join("run.json")).unwrap()).unwrap();
    assert_eq!(run, summary);
}
