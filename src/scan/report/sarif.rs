//! SARIF 2.1.0 for GitHub code scanning: one run, one rule per
//! vulnerability id with `properties.security-severity` (GitHub's severity
//! for security alerts), one result per finding. GitHub needs a location
//! with `region.startLine` on every result, and keeps alerts apart by
//! artifact path, rule and `partialFingerprints` — so the path must not
//! change from build to build: it is the file the package was found through
//! or, for packages without one, the image *name* (no tag, no digest).
//! Suppressed findings stay in, with `suppressions`, so code scanning shows
//! them as dismissed rather than forgetting them. Unparsable versions,
//! informational advisories and expired ignore entries are not results:
//! they are tool notifications of the run's invocation.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{clip, first_link, score_text, ScanReport, View};
use crate::reference::Reference;
use crate::sarif::{self, uri_escape};
use crate::scan::finding::{Finding, Severity};

/// The key of our fingerprint in `partialFingerprints`; bump the version if
/// what it hashes ever changes.
const FINGERPRINT_KEY: &str = "wharfVulnerability/v1";

/// GitHub truncates rule descriptions; we cut them first, on a char boundary.
const DESCRIPTION_MAX: usize = 1000;

pub(super) fn render(report: &ScanReport) -> String {
    let view = View::new(report);
    let findings: Vec<&Finding> = view
        .active
        .iter()
        .chain(&view.suppressed)
        .copied()
        .collect();

    // One rule per id, carrying the worst severity any of its findings has
    // (a record's severity can differ between the packages it names).
    let mut rules: BTreeMap<&str, &Finding> = BTreeMap::new();
    for f in &findings {
        rules
            .entry(f.id.as_str())
            .and_modify(|worst| {
                if worse(f, worst) {
                    *worst = f;
                }
            })
            .or_insert(f);
    }
    let index: BTreeMap<&str, usize> = rules.keys().enumerate().map(|(i, id)| (*id, i)).collect();

    let image_uri = report.image.as_deref().map(image_name).map(uri_escape);
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            result(
                f,
                index.get(f.id.as_str()).copied().unwrap_or(0),
                image_uri.as_deref(),
            )
        })
        .collect();

    let mut notifications: Vec<Value> = Vec::new();
    for u in &view.unparsable {
        notifications.push(json!({
            "level": "warning",
            "message": {"text": format!(
                "{} {} ({}): version could not be compared with {}, so it is not known to be safe: {}",
                u.package, u.installed, u.ecosystem, u.id, u.why
            )},
            "descriptor": {"id": "unparsable-version"},
        }));
    }
    for n in view.not_scanned {
        notifications.push(json!({
            "level": "warning",
            "message": {"text": format!(
                "{} not scanned, so not known to be safe: {} ({})",
                super::plural(n.packages.len(), "package", "packages"),
                n.reason,
                n.some(20)
            )},
            "descriptor": {"id": "not-scanned"},
        }));
    }
    for n in view.incomplete {
        notifications.push(json!({
            "level": "note",
            "message": {"text": format!(
                "{} scanned under a derived name, so advisories filed under another name are missed: {} ({})",
                super::plural(n.packages.len(), "package", "packages"),
                n.reason,
                n.some(20)
            )},
            "descriptor": {"id": "incomplete-name"},
        }));
    }
    for entry in &view.expired_ignores {
        notifications.push(json!({
            "level": "warning",
            "message": {"text": format!("expired ignore entry, no longer ignoring: {entry}")},
            "descriptor": {"id": "expired-ignore"},
        }));
    }
    for f in &view.informational {
        let mut text = format!("{} {}: {}", f.package, f.installed, f.id);
        if let Some(summary) = &f.summary {
            text.push_str(&format!(" — {summary}"));
        }
        notifications.push(json!({
            "level": "note",
            "message": {"text": text},
            "descriptor": {"id": "informational-advisory"},
        }));
    }

    let driver = sarif::driver(rules.values().map(|f| rule(f)).collect());
    let mut run = json!({
        "tool": {"driver": driver},
        "invocations": [{
            "executionSuccessful": true,
            "toolExecutionNotifications": notifications,
        }],
        "results": results,
        "columnKind": "unicodeCodePoints",
    });
    let mut properties = serde_json::Map::new();
    if let Some(image) = &report.image {
        properties.insert("image".into(), json!(image));
    }
    if let Some(digest) = &report.digest {
        properties.insert("digest".into(), json!(digest));
    }
    properties.insert(
        "gate".into(),
        json!({
            "failOn": report.gate.fail_on.map(Severity::as_str),
            "failed": report.gate.failed,
            "counting": report.gate.counting,
        }),
    );
    run["properties"] = Value::Object(properties);

    sarif::document(run)
}

/// Whether `a` rates worse than `b`: more severe, or as severe with a
/// higher score.
fn worse(a: &Finding, b: &Finding) -> bool {
    let score = |f: &Finding| f.score.filter(|s| s.is_finite()).unwrap_or(-1.0);
    a.severity
        .cmp(&b.severity)
        .then_with(|| score(b).total_cmp(&score(a)))
        .is_lt()
}

fn rule(f: &Finding) -> Value {
    let summary = f.summary.as_deref().unwrap_or("").trim();
    let short = if summary.is_empty() {
        format!("{} in {}", f.id, f.matched_name)
    } else {
        summary.to_string()
    };
    let mut full = short.clone();
    let others: Vec<&str> = f.other_names().map(String::as_str).collect();
    if !others.is_empty() {
        full.push_str(&format!(" (also: {})", others.join(", ")));
    }
    let mut help = format!("{}: {short}", f.id);
    if !f.references.is_empty() {
        help.push_str("\n\nReferences:\n");
        for r in &f.references {
            help.push_str(&format!("- {r}\n"));
        }
    }
    let mut rule = json!({
        "id": f.id,
        "name": rule_name(&f.id),
        "shortDescription": {"text": clip(&short, DESCRIPTION_MAX)},
        "fullDescription": {"text": clip(&full, DESCRIPTION_MAX)},
        "help": {"text": clip(&help, 8 * DESCRIPTION_MAX)},
        "defaultConfiguration": {"level": level(f.severity)},
        "properties": {
            "security-severity": security_severity(f),
            "tags": ["security", "vulnerability", f.severity.as_str().to_ascii_lowercase()],
            "precision": "very-high",
            "ids": f.ids,
            "aliases": f.aliases,
        },
    });
    if let Some(link) = first_link(f) {
        rule["helpUri"] = json!(link);
    }
    rule
}

/// A rule name is an identifier-like string in SARIF (`PascalCase` by
/// convention): the id without its punctuation.
fn rule_name(id: &str) -> String {
    let name: String = id.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    if name.is_empty() {
        "Vulnerability".to_string()
    } else {
        format!("Vulnerability{name}")
    }
}

fn result(f: &Finding, rule_index: usize, image_uri: Option<&str>) -> Value {
    let fixed = match &f.fixed {
        Some(v) => format!("fixed in {v}"),
        None => "no fixed version".to_string(),
    };
    let mut message = format!(
        "{} {} is affected by {} ({}, {fixed})",
        f.package,
        f.installed,
        f.id,
        f.severity.as_str()
    );
    if let Some(summary) = &f.summary {
        message.push_str(&format!(": {}", clip(summary.trim(), DESCRIPTION_MAX)));
    }
    let uri = f
        .found_at
        .as_deref()
        .map(|p| uri_escape(p.trim_start_matches('/')))
        .filter(|p| !p.is_empty())
        .or_else(|| image_uri.map(str::to_string))
        .unwrap_or_else(|| uri_escape(&f.purl));
    let mut result = json!({
        "ruleId": f.id,
        "ruleIndex": rule_index,
        "level": level(f.severity),
        "message": {"text": message},
        "locations": [{
            "physicalLocation": {
                "artifactLocation": {"uri": uri},
                "region": {"startLine": 1},
            },
            "logicalLocations": [{
                "name": f.package,
                "fullyQualifiedName": f.purl,
                "kind": "package",
            }],
        }],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint(f)},
        "properties": {
            "package": f.package,
            "purl": f.purl,
            "installed": f.installed,
            "fixed": f.fixed,
            "severity": f.severity.as_str(),
            "score": f.score.filter(|s| s.is_finite()),
            "layer": f.layer,
        },
    });
    if let Some(s) = &f.suppressed {
        result["suppressions"] = json!([{
            "kind": "external",
            "justification": format!("{}: {}", s.by, s.reason),
        }]);
    }
    result
}

/// error for critical and high, warning for medium, note for the rest.
fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Unknown => "note",
    }
}

/// The score as GitHub wants it (a string, 0.0–10.0), or a value inside the
/// band of the severity when the record has a label but no score.
fn security_severity(f: &Finding) -> String {
    if let Some(score) = score_text(f.score.map(|s| s.clamp(0.0, 10.0))) {
        return score;
    }
    match f.severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "2.0",
        // GitHub maps 0.0 to "none": unknown must not look like that, nor
        // like a rating we do not have.
        Severity::Unknown => "5.5",
    }
    .to_string()
}

/// Stable across runs for the same id, package and version.
fn fingerprint(f: &Finding) -> String {
    let mut h = Sha256::new();
    for part in [&f.id, &f.package, &f.installed] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    hex::encode(h.finalize())
}

/// The image name without tag or digest: both change from build to build,
/// and a changed path makes code scanning open new alerts and close the old.
fn image_name(image: &str) -> &str {
    match Reference::parse(image) {
        Ok(reference) => {
            let span = reference.name_span();
            image.get(span).unwrap_or(image)
        }
        Err(_) => image,
    }
}
