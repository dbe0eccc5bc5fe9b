//! What `wharf scan` writes: one [`ScanReport`] rendered as a table for
//! people, JSON for programs (schema in `docs/scan-report.schema.json`),
//! SARIF 2.1.0 for GitHub code scanning, Markdown for job summaries, and
//! cosign's vuln predicate for `wharf attest --type vuln`.
//!
//! Every format reports everything — suppressed findings with their reason,
//! informational records, versions that could not be compared — because a
//! gate that hides what it let through cannot be audited. Output is
//! deterministic: the same report renders to the same bytes, findings sorted
//! by severity (critical first), id, package.

mod json;
mod markdown;
mod predicate;
mod sarif;
mod table;

#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

use super::finding::{Finding, NotScanned, Severity, Unparsable};

/// The wharf version the reports name as their tool.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The vuln predicate's type, for `wharf attest --type vuln`.
pub const VULN_PREDICATE_TYPE: &str = "https://cosign.sigstore.dev/attestation/vuln/v1";

/// The vulnerability database a scan read.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DbSummary {
    /// Where the records came from (a directory, a zip, the local cache).
    pub source: String,
    pub records: usize,
    /// The newest `modified` among the records (RFC 3339).
    pub newest_modified: Option<String>,
    /// Days between `newest_modified` and the scan.
    pub age_days: Option<u64>,
}

/// The gate's verdict, as the gate computed it: reports show it, never
/// recompute it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Gate {
    /// `--fail-on`: findings at this severity or worse fail the gate;
    /// `None` (`--fail-on none`) never fails.
    pub fail_on: Option<Severity>,
    pub failed: bool,
    /// How many (unsuppressed) findings are at `fail_on` or worse.
    pub counting: usize,
}

/// Everything one scan found, the input of every renderer.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanReport {
    /// The image as the user named it.
    pub image: Option<String>,
    /// The image digest (`None` for `--sbom` without one).
    pub digest: Option<String>,
    pub db: DbSummary,
    /// Vulnerabilities, suppressed ones included (with `.suppressed` set).
    pub findings: Vec<Finding>,
    /// RustSec informational records (unmaintained, unsound): reported
    /// apart, never vulnerabilities, never counted by the gate.
    pub informational: Vec<Finding>,
    /// Versions that could not be compared with a record's ranges.
    pub unparsable: Vec<Unparsable>,
    /// Ignore-file entries past their expiry (id, reason, date), which
    /// therefore no longer ignore anything.
    pub expired_ignores: Vec<String>,
    pub gate: Gate,
    /// How many packages were scanned.
    pub packages: usize,
    /// Packages and SBOM components that were not looked up, by reason
    /// (no data for their ecosystem, no purl, an ecosystem wharf does not
    /// match): named in every report, never a silent "0 findings".
    pub not_scanned: Vec<NotScanned>,
    /// Packages looked up under a name wharf derived rather than read (a
    /// jar's Maven group from its manifest, its classes or its artifactId):
    /// advisories filed under the name Maven publishes it by may be missed.
    pub incomplete: Vec<NotScanned>,
    /// When the scan started and finished (the vuln predicate's metadata).
    pub started: jiff::Timestamp,
    pub finished: jiff::Timestamp,
}

/// An output format of `wharf scan --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Sarif,
    Markdown,
    VulnPredicate,
}

impl Format {
    pub const ALL: [Format; 5] = [
        Format::Table,
        Format::Json,
        Format::Sarif,
        Format::Markdown,
        Format::VulnPredicate,
    ];

    /// The name `--format` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Sarif => "sarif",
            Format::Markdown => "markdown",
            Format::VulnPredicate => "vuln-predicate",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Format, String> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Format::ALL.iter().map(|f| f.as_str()).collect();
                format!(
                    "unknown report format {s:?}: use one of {}",
                    names.join(", ")
                )
            })
    }
}

/// Renders `report` in `format`. `colour` only affects the table (and only
/// the caller knows whether the output is a terminal).
pub fn render(report: &ScanReport, format: Format, colour: bool) -> String {
    match format {
        Format::Table => table::render(report, colour),
        Format::Json => json::render(report),
        Format::Sarif => sarif::render(report),
        Format::Markdown => markdown::render(report),
        Format::VulnPredicate => predicate::render(report),
    }
}

/// The report's findings in report order, split into those that count
/// (active) and those suppressed, with the counts every format shows.
struct View<'a> {
    active: Vec<&'a Finding>,
    suppressed: Vec<&'a Finding>,
    informational: Vec<&'a Finding>,
    unparsable: Vec<&'a Unparsable>,
    not_scanned: &'a [NotScanned],
    /// How many packages `not_scanned` names.
    not_scanned_count: usize,
    incomplete: &'a [NotScanned],
    incomplete_count: usize,
    expired_ignores: Vec<&'a str>,
    /// Active findings per severity, in [`SEVERITIES`] order.
    counts: [usize; 5],
}

const SEVERITIES: [Severity; 5] = [
    Severity::Critical,
    Severity::High,
    Severity::Medium,
    Severity::Low,
    Severity::Unknown,
];

impl<'a> View<'a> {
    fn new(report: &'a ScanReport) -> View<'a> {
        let (suppressed, active): (Vec<&Finding>, Vec<&Finding>) = sorted(&report.findings)
            .into_iter()
            .partition(|f| f.suppressed.is_some());
        let mut counts = [0; 5];
        for f in &active {
            counts[severity_index(f.severity)] += 1;
        }
        let mut unparsable: Vec<&Unparsable> = report.unparsable.iter().collect();
        unparsable.sort_by(|a, b| {
            (&a.id, &a.package, &a.installed, &a.ecosystem, &a.why).cmp(&(
                &b.id,
                &b.package,
                &b.installed,
                &b.ecosystem,
                &b.why,
            ))
        });
        let mut expired_ignores: Vec<&str> =
            report.expired_ignores.iter().map(String::as_str).collect();
        expired_ignores.sort_unstable();
        View {
            active,
            suppressed,
            informational: sorted(&report.informational),
            unparsable,
            not_scanned: &report.not_scanned,
            not_scanned_count: NotScanned::count(&report.not_scanned),
            incomplete: &report.incomplete,
            incomplete_count: NotScanned::count(&report.incomplete),
            expired_ignores,
            counts,
        }
    }
}

fn severity_index(s: Severity) -> usize {
    match s {
        Severity::Critical => 0,
        Severity::High => 1,
        Severity::Medium => 2,
        Severity::Low => 3,
        Severity::Unknown => 4,
    }
}

/// Findings in report order: severity (critical first), id, package, then
/// whatever else tells two findings apart, so that the order is total.
fn sorted(findings: &[Finding]) -> Vec<&Finding> {
    let mut out: Vec<&Finding> = findings.iter().collect();
    out.sort_by(|a, b| {
        a.severity
            .cmp(&b.severity)
            .then_with(|| a.id.cmp(&b.id))
            .then_with(|| a.package.cmp(&b.package))
            .then_with(|| a.installed.cmp(&b.installed))
            .then_with(|| a.purl.cmp(&b.purl))
            .then_with(|| a.found_at.cmp(&b.found_at))
            .then_with(|| a.layer.cmp(&b.layer))
    });
    out
}

/// `fail on HIGH or worse`, `never fails` — the gate's rule in words.
fn gate_rule(gate: &Gate) -> String {
    match gate.fail_on {
        None => "never fails (--fail-on none)".to_string(),
        Some(Severity::Critical) => "fail on CRITICAL".to_string(),
        Some(s) => format!("fail on {} or worse", s.as_str()),
    }
}

pub(crate) fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

/// A score as reports print it: one decimal, as CVSS writes them.
fn score_text(score: Option<f64>) -> Option<String> {
    score.filter(|s| s.is_finite()).map(|s| format!("{s:.1}"))
}

/// The first reference that is an http(s) URL, for links and `helpUri`,
/// as an RFC 3986 URI: the WHATWG serialisation leaves `|`, `^`, braces and
/// stray `%` alone, which SARIF's `uri` format (and Markdown) do not accept.
fn first_link(f: &Finding) -> Option<String> {
    f.references.iter().find_map(|r| {
        let url = url::Url::parse(r.trim()).ok()?;
        if !matches!(url.scheme(), "http" | "https") {
            return None;
        }
        let text = url.as_str();
        let bytes = text.as_bytes();
        let mut out = String::with_capacity(text.len());
        for (i, c) in text.char_indices() {
            let escape_ok = c == '%'
                && bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
            match c {
                '%' if escape_ok => out.push('%'),
                '%' | '|' | '^' | '{' | '}' | '`' | '"' | '<' | '>' | '\\' | ' ' => {
                    out.push_str(&format!("%{:02X}", c as u32))
                }
                c => out.push(c),
            }
        }
        Some(out)
    })
}

/// The image as one line: `name@digest`, the name alone, or the digest.
fn subject_line(report: &ScanReport) -> Option<String> {
    match (&report.image, &report.digest) {
        (Some(image), Some(digest)) if image.contains(digest.as_str()) => Some(image.clone()),
        (Some(image), Some(digest)) => Some(format!("{image} ({digest})")),
        (Some(image), None) => Some(image.clone()),
        (None, Some(digest)) => Some(digest.clone()),
        (None, None) => None,
    }
}

/// `source (N records, newest …, D days old)`.
fn db_line(db: &DbSummary) -> String {
    let mut parts = vec![plural(db.records, "record", "records")];
    if let Some(newest) = &db.newest_modified {
        parts.push(format!("newest {newest}"));
    }
    if let Some(age) = db.age_days {
        parts.push(format!(
            "{} old",
            plural(usize::try_from(age).unwrap_or(usize::MAX), "day", "days")
        ));
    }
    format!("{} ({})", db.source, parts.join(", "))
}

/// Cuts `text` to at most `max` bytes on a char boundary, marking the cut.
fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}
