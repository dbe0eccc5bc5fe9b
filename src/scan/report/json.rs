//! The JSON report: stable and documented (`docs/scan-report.schema.json`,
//! JSON Schema 2020-12). Fields are only ever added; `schema_version`
//! changes if one ever has to change meaning.

use serde::Serialize;

use super::{ScanReport, View, SEVERITIES};
use crate::scan::finding::{Finding, NotScanned, Severity, Suppression, Unparsable};

/// Bumped only for a change that is not an addition.
pub(super) const SCHEMA_VERSION: u32 = 1;

pub(super) fn render(report: &ScanReport) -> String {
    let mut text = to_json(&JsonReport::new(report));
    text.push('\n');
    text
}

/// Pretty JSON. Our views have string keys only, so serialising cannot
/// fail; should it ever, the output still parses and says why.
pub(super) fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|e| {
        serde_json::json!({ "error": format!("cannot serialise the report: {e}") }).to_string()
    })
}

#[derive(Serialize)]
pub(super) struct JsonReport<'a> {
    schema_version: u32,
    tool: Tool,
    image: Option<&'a str>,
    digest: Option<&'a str>,
    packages: usize,
    db: Db<'a>,
    gate: Gate,
    summary: Summary,
    findings: Vec<JsonFinding<'a>>,
    informational: Vec<JsonFinding<'a>>,
    unparsable: Vec<JsonUnparsable<'a>>,
    /// Packages not looked up, by reason.
    not_scanned: &'a [NotScanned],
    /// Packages looked up under a derived name, by reason.
    incomplete: &'a [NotScanned],
    expired_ignores: Vec<&'a str>,
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct Db<'a> {
    source: &'a str,
    records: usize,
    newest_modified: Option<&'a str>,
    age_days: Option<u64>,
}

#[derive(Serialize)]
struct Gate {
    fail_on: Option<Severity>,
    failed: bool,
    /// Unsuppressed findings at `fail_on` or worse.
    counting: usize,
    verdict: &'static str,
}

#[derive(Serialize)]
struct Summary {
    critical: usize,
    high: usize,
    medium: usize,
    low: usize,
    unknown: usize,
    /// Unsuppressed findings.
    total: usize,
    suppressed: usize,
    informational: usize,
    unparsable: usize,
    /// Packages not looked up (see `not_scanned`).
    not_scanned: usize,
    /// Packages looked up under a derived name (see `incomplete`).
    incomplete: usize,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    id: &'a str,
    /// Every record id of the vulnerability's group, `id` first.
    ids: &'a [String],
    aliases: &'a [String],
    summary: Option<&'a str>,
    package: &'a str,
    matched_name: &'a str,
    ecosystem: &'a str,
    purl: &'a str,
    installed: &'a str,
    fixed: Option<&'a str>,
    severity: Severity,
    score: Option<f64>,
    severity_source: &'a str,
    layer: Option<usize>,
    found_at: Option<&'a str>,
    suppressed: Option<&'a Suppression>,
    references: &'a [String],
}

#[derive(Serialize)]
struct JsonUnparsable<'a> {
    id: &'a str,
    package: &'a str,
    ecosystem: &'a str,
    installed: &'a str,
    why: &'a str,
}

impl<'a> JsonReport<'a> {
    pub(super) fn new(report: &'a ScanReport) -> JsonReport<'a> {
        let view = View::new(report);
        let count = |s: Severity| {
            SEVERITIES
                .iter()
                .position(|&x| x == s)
                .map_or(0, |i| view.counts[i])
        };
        // One list in report order, suppressed findings where they sort.
        let findings = super::sorted(&report.findings)
            .into_iter()
            .map(JsonFinding::new)
            .collect();
        JsonReport {
            schema_version: SCHEMA_VERSION,
            tool: Tool {
                name: "wharf",
                version: super::TOOL_VERSION,
            },
            image: report.image.as_deref(),
            digest: report.digest.as_deref(),
            packages: report.packages,
            db: Db {
                source: &report.db.source,
                records: report.db.records,
                newest_modified: report.db.newest_modified.as_deref(),
                age_days: report.db.age_days,
            },
            gate: Gate {
                fail_on: report.gate.fail_on,
                failed: report.gate.failed,
                counting: report.gate.counting,
                verdict: if report.gate.failed { "fail" } else { "pass" },
            },
            summary: Summary {
                critical: count(Severity::Critical),
                high: count(Severity::High),
                medium: count(Severity::Medium),
                low: count(Severity::Low),
                unknown: count(Severity::Unknown),
                total: view.active.len(),
                suppressed: view.suppressed.len(),
                informational: view.informational.len(),
                unparsable: view.unparsable.len(),
                not_scanned: view.not_scanned_count,
                incomplete: view.incomplete_count,
            },
            findings,
            informational: view
                .informational
                .iter()
                .map(|f| JsonFinding::new(f))
                .collect(),
            unparsable: view
                .unparsable
                .iter()
                .map(|u| JsonUnparsable::new(u))
                .collect(),
            not_scanned: view.not_scanned,
            incomplete: view.incomplete,
            expired_ignores: view.expired_ignores,
        }
    }
}

impl<'a> JsonFinding<'a> {
    fn new(f: &'a Finding) -> JsonFinding<'a> {
        JsonFinding {
            id: &f.id,
            ids: &f.ids,
            aliases: &f.aliases,
            summary: f.summary.as_deref(),
            package: &f.package,
            matched_name: &f.matched_name,
            ecosystem: &f.ecosystem,
            purl: &f.purl,
            installed: &f.installed,
            fixed: f.fixed.as_deref(),
            severity: f.severity,
            score: f.score.filter(|s| s.is_finite()),
            severity_source: &f.severity_source,
            layer: f.layer,
            found_at: f.found_at.as_deref(),
            suppressed: f.suppressed.as_ref(),
            references: &f.references,
        }
    }
}

impl<'a> JsonUnparsable<'a> {
    fn new(u: &'a Unparsable) -> JsonUnparsable<'a> {
        JsonUnparsable {
            id: &u.id,
            package: &u.package,
            ecosystem: &u.ecosystem,
            installed: &u.installed,
            why: &u.why,
        }
    }
}
