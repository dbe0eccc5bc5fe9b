//! cosign's vulnerability scan record (predicate type
//! `https://cosign.sigstore.dev/attestation/vuln/v1`), the predicate of
//! `wharf attest --type vuln`. The shape is cosign's `CosignVulnPredicate`
//! (pkg/cosign/attestation): `invocation`, `scanner` (whose `result` is
//! free-form: ours is the JSON report) and `metadata` with the scan's start
//! and end as RFC 3339 times — cosign reads them into Go `time.Time`, so
//! they must parse. Trivy's `--format cosign-vuln` writes the same shape.

use serde::Serialize;

use super::json::{to_json, JsonReport};
use super::ScanReport;

#[derive(Serialize)]
struct Predicate<'a> {
    invocation: Invocation,
    scanner: Scanner<'a>,
    metadata: Metadata,
}

/// What ran the scan. Left empty, as Trivy does: the signing step's
/// provenance describes the build, not the scan report.
#[derive(Serialize)]
struct Invocation {
    parameters: Option<()>,
    uri: &'static str,
    event_id: &'static str,
    #[serde(rename = "builder.id")]
    builder_id: &'static str,
}

#[derive(Serialize)]
struct Scanner<'a> {
    uri: String,
    version: &'static str,
    db: Db<'a>,
    result: JsonReport<'a>,
}

#[derive(Serialize)]
struct Db<'a> {
    uri: &'a str,
    version: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Metadata {
    scan_started_on: String,
    scan_finished_on: String,
}

pub(super) fn render(report: &ScanReport) -> String {
    let predicate = Predicate {
        invocation: Invocation {
            parameters: None,
            uri: "",
            event_id: "",
            builder_id: "",
        },
        scanner: Scanner {
            uri: scanner_uri(),
            version: super::TOOL_VERSION,
            db: Db {
                uri: &report.db.source,
                version: report.db.newest_modified.as_deref().unwrap_or(""),
            },
            result: JsonReport::new(report),
        },
        metadata: Metadata {
            scan_started_on: report.started.to_string(),
            scan_finished_on: report.finished.to_string(),
        },
    };
    let mut text = to_json(&predicate);
    text.push('\n');
    text
}

/// The project's repository when the package names one, else wharf as a
/// purl (Trivy names itself `pkg:github/aquasecurity/trivy@VERSION`).
fn scanner_uri() -> String {
    let repository = env!("CARGO_PKG_REPOSITORY");
    if repository.is_empty() {
        format!("pkg:cargo/wharf@{}", super::TOOL_VERSION)
    } else {
        repository.to_string()
    }
}
