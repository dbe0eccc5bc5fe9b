//! The scan reports against their schemas, checked by a peer validator
//! (`check-jsonschema`): the JSON report against our documented schema
//! (`docs/scan-report.schema.json`, draft 2020-12), the SARIF report against
//! the official OASIS SARIF 2.1.0 schema. Each check is also shown a broken
//! document, so a validator that accepts anything fails the test.
//!
//! The SARIF schema is found at `$WHARF_SARIF_SCHEMA`, else
//! `<venv>/share/sarif/sarif-schema-2.1.0.json` next to the venv's python;
//! `.ci/run` puts it there from the serde-sarif crate on crates.io (which
//! ships the OASIS schema as `src/schema.json`).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use wharf::scan::finding::{Finding, NotScanned, Severity, Suppression, Unparsable};
use wharf::scan::report::{render, DbSummary, Format, Gate, ScanReport};

use crate::sbom_writers::python_with;

fn finding(id: &str, package: &str, severity: Severity) -> Finding {
    Finding {
        id: id.into(),
        ids: vec![id.into()],
        aliases: vec![format!("CVE-{}", id.len())],
        summary: Some(format!("{id}: a | b <b>bold</b> `code` [x](y) @team")),
        package: package.into(),
        matched_name: package.into(),
        ecosystem: "npm".into(),
        purl: format!("pkg:npm/{package}@1.0.0"),
        installed: "1.0.0".into(),
        fixed: Some("1.0.1".into()),
        severity,
        score: None,
        severity_source: "none".into(),
        layer: Some(1),
        found_at: Some(format!("/app/node_modules/{package}/package.json")),
        suppressed: None,
        references: vec![format!("https://osv.dev/vulnerability/{id}?q=a|b c")],
    }
}

fn report() -> ScanReport {
    let mut findings = vec![
        finding("GHSA-0001", "@scope/pkg", Severity::Critical),
        finding("GHSA-0002", "lodash", Severity::High),
        finding("GHSA-0003", "left pad", Severity::Medium),
        finding("GHSA-0004", "minimist", Severity::Low),
        finding("GHSA-0005", "qs", Severity::Unknown),
        finding("GHSA-0006", "ws", Severity::High),
    ];
    findings[0].score = Some(9.1);
    findings[1].fixed = None;
    findings[2].found_at = None;
    findings[2].layer = None;
    findings[3].references.clear();
    findings[4].summary = None;
    findings[5].suppressed = Some(Suppression {
        by: "vex".into(),
        reason: "not_affected: component_not_present".into(),
    });
    let mut informational = finding("RUSTSEC-2024-0001", "atty", Severity::Unknown);
    informational.ecosystem = "crates.io".into();
    ScanReport {
        image: Some("localhost:5000/app:v1".into()),
        digest: Some(format!("sha256:{}", "0f".repeat(32))),
        db: DbSummary {
            source: "osv-all.zip".into(),
            records: 12,
            newest_modified: Some("2024-05-30T12:00:00Z".into()),
            age_days: Some(0),
        },
        findings,
        informational: vec![informational],
        unparsable: vec![Unparsable {
            id: "GHSA-0007".into(),
            package: "weird".into(),
            ecosystem: "npm".into(),
            installed: "not|a|version".into(),
            why: "not SemVer".into(),
        }],
        expired_ignores: vec!["GHSA-0008 (lodash): \"later\" — expired 2024-01-01".into()],
        gate: Gate {
            fail_on: Some(Severity::Critical),
            failed: true,
            counting: 1,
        },
        packages: 3,
        not_scanned: vec![NotScanned {
            reason: "no purl".into(),
            packages: vec!["django@3.2.0".into()],
        }],
        incomplete: vec![NotScanned {
            reason: "the jar has no pom.properties: its Maven group comes from class-packages"
                .into(),
            packages: vec!["org.springframework:spring-beans@5.3.17 (/app.jar)".into()],
        }],
        started: "2024-05-30T12:00:00Z".parse().expect("time"),
        finished: "2024-05-30T12:00:02Z".parse().expect("time"),
    }
}

/// A report with nothing in it: every list empty, every optional absent.
fn empty() -> ScanReport {
    ScanReport {
        image: None,
        digest: None,
        db: DbSummary::default(),
        findings: Vec::new(),
        informational: Vec::new(),
        unparsable: Vec::new(),
        expired_ignores: Vec::new(),
        gate: Gate::default(),
        packages: 0,
        not_scanned: Vec::new(),
        incomplete: Vec::new(),
        started: jiff::Timestamp::UNIX_EPOCH,
        finished: jiff::Timestamp::UNIX_EPOCH,
    }
}

fn write(dir: &Path, name: &str, value: &Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(value).expect("json")).expect("write");
    path
}

pub(crate) use crate::common::check_jsonschema as check;

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("valid JSON")
}

#[test]
fn json_report_follows_its_documented_schema() {
    let Some(python) = python_with(
        "json_report_follows_its_documented_schema",
        "check_jsonschema",
    ) else {
        return;
    };
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/scan-report.schema.json");
    let dir = tempfile::tempdir().expect("tempdir");
    // The schema itself is valid draft 2020-12.
    let meta = Command::new(&python)
        .args(["-m", "check_jsonschema", "--check-metaschema"])
        .arg(&schema)
        .output()
        .expect("run check-jsonschema");
    assert!(
        meta.status.success(),
        "{}",
        String::from_utf8_lossy(&meta.stdout)
    );

    let documents = [
        parse(&render(&report(), Format::Json, false)),
        parse(&render(&empty(), Format::Json, false)),
        // The vuln predicate carries the same report.
        parse(&render(&report(), Format::VulnPredicate, false))["scanner"]["result"].clone(),
    ];
    let paths: Vec<PathBuf> = documents
        .iter()
        .enumerate()
        .map(|(i, doc)| write(dir.path(), &format!("report{i}.json"), doc))
        .collect();
    if let Err(output) = check(&python, &schema, &[], &paths) {
        panic!("a JSON report does not follow docs/scan-report.schema.json:\n{output}");
    }

    // The schema is strict enough to notice drift.
    let mut broken = documents[0].clone();
    broken["findings"][0]["severity"] = "SEVERE".into();
    let mut undocumented = documents[0].clone();
    undocumented["findings"][0]["new_field"] = 1.into();
    let mut missing = documents[0].clone();
    missing["findings"][1]
        .as_object_mut()
        .expect("finding")
        .remove("fixed");
    let bad = [
        ("broken", broken),
        ("undocumented", undocumented),
        ("missing", missing),
    ];
    let paths: Vec<PathBuf> = bad
        .iter()
        .map(|(name, doc)| write(dir.path(), &format!("{name}.json"), doc))
        .collect();
    let output = check(&python, &schema, &[], &paths).expect_err("all accepted");
    for path in &paths {
        assert!(
            output.contains(&*path.to_string_lossy()),
            "the schema accepted {}:\n{output}",
            path.display()
        );
    }
}

/// The official SARIF 2.1.0 schema, if this machine has it (else `test`
/// says it skips).
pub(crate) fn sarif_schema(test: &str, python: &Path) -> Option<PathBuf> {
    let path = match std::env::var_os("WHARF_SARIF_SCHEMA") {
        Some(p) => PathBuf::from(p),
        None => python
            .parent()
            .and_then(Path::parent)
            .map(|venv| venv.join("share/sarif/sarif-schema-2.1.0.json"))?,
    };
    let schema: Value = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .or_else(|| {
            println!(
                "skipping {test}: no SARIF 2.1.0 schema at {} \
                 (set WHARF_SARIF_SCHEMA; .ci/run fetches it from the serde-sarif crate)",
                path.display()
            );
            None
        })?;
    assert_eq!(
        schema["title"],
        "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema",
        "{} is not the SARIF 2.1.0 schema",
        path.display()
    );
    Some(path)
}

#[test]
fn sarif_report_follows_the_official_schema() {
    let Some(python) = python_with(
        "sarif_report_follows_the_official_schema",
        "check_jsonschema",
    ) else {
        return;
    };
    let Some(schema) = sarif_schema("sarif_report_follows_the_official_schema", &python) else {
        return;
    };
    // The schema's `run.language` pattern has a stray `]`, which the
    // default (unicode ECMA) regex check rejects as a schema error.
    let flags = ["--regex-variant", "nonunicode"];
    let dir = tempfile::tempdir().expect("tempdir");
    let documents = [
        parse(&render(&report(), Format::Sarif, false)),
        parse(&render(&empty(), Format::Sarif, false)),
    ];
    let paths: Vec<PathBuf> = documents
        .iter()
        .enumerate()
        .map(|(i, doc)| write(dir.path(), &format!("report{i}.sarif"), doc))
        .collect();
    if let Err(output) = check(&python, &schema, &flags, &paths) {
        panic!("a SARIF report is not valid SARIF 2.1.0:\n{output}");
    }

    let mut broken = documents[0].clone();
    broken["runs"][0]["results"][0]["level"] = "fatal".into();
    let mut bad_uri = documents[0].clone();
    bad_uri["runs"][0]["tool"]["driver"]["rules"][0]["helpUri"] = "https://x/a|b".into();
    let paths = [
        write(dir.path(), "broken.sarif", &broken),
        write(dir.path(), "bad-uri.sarif", &bad_uri),
    ];
    let output = check(&python, &schema, &flags, &paths).expect_err("all accepted");
    for path in &paths {
        assert!(
            output.contains(&*path.to_string_lossy()),
            "the SARIF schema accepted {}:\n{output}",
            path.display()
        );
    }
}
