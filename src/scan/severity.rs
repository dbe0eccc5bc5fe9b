//! How severe a finding is, from what the OSV record says about it.
//!
//! The gate (`--fail-on`) and every report read one [`Rating`] per finding,
//! so the choice is made once, here, in a fixed order of trust:
//!
//! 1. a CVSS v4.0 or v3.x vector — the package's own (`affected[].severity`)
//!    before the record's — rated by its computed *base* score. Numbers in
//!    records are never trusted: the score is computed from the vector, and
//!    an unreadable vector is skipped, never guessed at. Within one level
//!    v4.0 wins over v3.x: v4.0 is FIRST's current standard (v3.1 is kept
//!    for continuity), NVD and GitHub's advisory database both carry it as
//!    the newer assessment, and a record with both got the v4.0 vector from
//!    the same or a later analysis, with finer metrics (AT, the split of
//!    vulnerable- and subsequent-system impact).
//! 2. GitHub's label (`database_specific.severity`: CRITICAL, HIGH,
//!    MODERATE/MEDIUM, LOW), the package's before the record's.
//! 3. Debian's urgency (`ecosystem_specific.urgency` or
//!    `database_specific.urgency`).
//! 4. a CVSS v2 vector, as a last resort: v2 is retired by NVD and scores on
//!    another scale (its bands stop at HIGH, and v2 scores run higher than v3
//!    for the same flaw), so a v2 number must not outrank any reviewed label —
//!    but it is still better than nothing, and it is rated on v2's own bands
//!    (never CRITICAL).
//! 5. otherwise UNKNOWN, which stays in every report; when a vector was there
//!    but unreadable, the rating's source says why.
//!
//! Scoring is the RustSec `cvss` crate's (no dependencies of its own; its
//! v4.0 MacroVector scoring is tested upstream against all 104,976 base
//! vectors of Red Hat's reference implementation). This module adds what the
//! crate leaves to callers: vectors are validated strictly (the spec's
//! upper-case metric names and values, every base metric present — the
//! crate's v3 parser would score a vector missing metrics as if they were
//! zero), and v4.0 vectors are reduced to their base metrics before scoring,
//! since the crate's v4 score folds in Threat and Environmental metrics.

use std::collections::HashSet;
use std::str::FromStr;

use crate::scan::finding::{Rating, Severity};
use crate::scan::osv::{Affected, Record, SeverityEntry, Specific};

/// The severity of `record` for the package entry `affected` (see the
/// module docs for the order of sources).
pub fn rate(record: &Record, affected: &Affected) -> Rating {
    // Why a vector present in the record could not be used, for the
    // UNKNOWN rating's source.
    let mut unreadable: Option<String> = None;

    for entries in [&affected.severity, &record.severity] {
        for kind in ["CVSS_V4", "CVSS_V3"] {
            for entry in entries.iter().filter(|e| e.kind == kind) {
                match score_entry(entry) {
                    Ok(score) => {
                        return Rating {
                            severity: Severity::from_score(score),
                            score: Some(score),
                            source: format!("{kind} {}", entry.score),
                        }
                    }
                    Err(why) => {
                        unreadable.get_or_insert(format!("{kind} {:?}: {why}", entry.score));
                    }
                }
            }
        }
    }

    let label = [&affected.database_specific, &record.database_specific]
        .into_iter()
        .find_map(|v| text_field(v, "severity").and_then(|l| ghsa_label(&l)));
    if let Some((severity, label)) = label {
        return Rating {
            severity,
            score: None,
            source: format!("GHSA label {label}"),
        };
    }

    let urgency = [
        &affected.ecosystem_specific,
        &affected.database_specific,
        &record.database_specific,
    ]
    .into_iter()
    .find_map(|v| text_field(v, "urgency").and_then(|u| debian_urgency(&u)));
    if let Some((severity, urgency)) = urgency {
        return Rating {
            severity,
            score: None,
            source: format!("Debian urgency {urgency}"),
        };
    }

    for entries in [&affected.severity, &record.severity] {
        for entry in entries.iter().filter(|e| e.kind == "CVSS_V2") {
            match base_score_v2(&entry.score) {
                Ok(score) => {
                    return Rating {
                        severity: v2_severity(score),
                        score: Some(score),
                        source: format!("CVSS_V2 {}", entry.score),
                    }
                }
                Err(why) => {
                    unreadable.get_or_insert(format!("CVSS_V2 {:?}: {why}", entry.score));
                }
            }
        }
    }

    Rating {
        severity: Severity::Unknown,
        score: None,
        source: match unreadable {
            Some(why) => format!("none (unreadable {why})"),
            None => "none".to_owned(),
        },
    }
}

/// Base score of a CVSS vector string ("CVSS:3.1/AV:N/…", "CVSS:3.0/…",
/// "CVSS:4.0/…"), or why not.
///
/// Every metric is validated, Threat/Temporal and Environmental ones too;
/// only the base metrics are scored. CVSS 3.0 vectors use 3.0's rounding
/// (plain round-up to one decimal), 3.1 vectors 3.1's (which first rounds to
/// five decimals, so that float noise like 4.000000000001 stays 4.0); the two
/// happen to agree on all 2,592 base vectors.
pub fn base_score(vector: &str) -> Result<f64, String> {
    let (version, metrics) = split_vector(vector)?;
    let score = match version {
        "3.0" | "3.1" => {
            require(&metrics, V3_BASE, version)?;
            let parsed = cvss::v3::Vector::from_str(vector).map_err(|e| e.to_string())?;
            parsed.base_score().value()
        }
        "4.0" => {
            require(&metrics, V4_BASE, version)?;
            // Validate all of it, then score the base metrics only.
            cvss::v4::Vector::from_str(vector).map_err(|e| e.to_string())?;
            let mut base = String::from("CVSS:4.0");
            for (name, value) in metrics.iter().filter(|(n, _)| V4_BASE.contains(n)) {
                base.push('/');
                base.push_str(name);
                base.push(':');
                base.push_str(value);
            }
            let parsed = cvss::v4::Vector::from_str(&base).map_err(|e| e.to_string())?;
            parsed.score().value()
        }
        other => {
            return Err(format!(
                "CVSS version {other} is not one we score (3.0, 3.1 or 4.0)"
            ))
        }
    };
    checked(score)
}

/// Base score of a CVSS v2 vector (`AV:N/AC:L/Au:N/C:P/I:P/A:P`, optionally
/// in parentheses or after `CVSS:2.0/`), or why not.
pub fn base_score_v2(vector: &str) -> Result<f64, String> {
    let bare = vector.trim();
    let bare = bare
        .strip_prefix('(')
        .and_then(|v| v.strip_suffix(')'))
        .unwrap_or(bare);
    let bare = bare.strip_prefix("CVSS:2.0/").unwrap_or(bare);
    let metrics = split_metrics(bare)?;
    if let Some((name, value)) = metrics
        .iter()
        .find(|(_, v)| v.chars().any(|c| c.is_ascii_lowercase()))
    {
        return Err(format!("metric {name}:{value} is not a CVSS 2.0 metric"));
    }
    require(&metrics, V2_BASE, "2.0")?;
    let parsed = cvss::v2::Vector::from_str(bare).map_err(|e| e.to_string())?;
    checked(parsed.score().value())
}

const V2_BASE: &[&str] = &["AV", "AC", "Au", "C", "I", "A"];
const V3_BASE: &[&str] = &["AV", "AC", "PR", "UI", "S", "C", "I", "A"];
const V4_BASE: &[&str] = &[
    "AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA",
];

/// A vector's metrics, `(name, value)`, in the order written.
type Metrics<'a> = Vec<(&'a str, &'a str)>;

/// `CVSS:X.Y/NAME:VALUE/…` → (`X.Y`, metrics), checking the shape and case.
fn split_vector(vector: &str) -> Result<(&str, Metrics<'_>), String> {
    let vector = vector.trim();
    let (prefix, rest) = vector
        .split_once('/')
        .ok_or_else(|| format!("{vector:?} is not a CVSS vector (no metrics)"))?;
    let version = prefix
        .strip_prefix("CVSS:")
        .ok_or_else(|| format!("{vector:?} is not a CVSS vector (it must start with CVSS:)"))?;
    let metrics = split_metrics(rest)?;
    // v3 and v4 names and values are upper-case (the crate would accept any
    // case), except v4's Provider Urgency, spelt `U:Red`.
    for (name, value) in &metrics {
        let spelt = if version == "4.0" && *name == "U" {
            ["Clear", "Green", "Amber", "Red"].contains(value)
        } else {
            !name
                .chars()
                .chain(value.chars())
                .any(|c| c.is_ascii_lowercase())
        };
        if !spelt {
            return Err(format!(
                "metric {name}:{value} is not a CVSS {version} metric"
            ));
        }
    }
    Ok((version, metrics))
}

fn split_metrics(rest: &str) -> Result<Metrics<'_>, String> {
    let mut seen = HashSet::new();
    let mut metrics = Vec::new();
    for component in rest.split('/') {
        let (name, value) = component
            .split_once(':')
            .ok_or_else(|| format!("metric {component:?} is not NAME:VALUE"))?;
        // Names and values are letters in every version (case: see callers;
        // v2 has `Au`).
        let letters = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphabetic());
        if !letters(name) || !letters(value) {
            return Err(format!("metric {component:?} is not NAME:VALUE"));
        }
        if !seen.insert(name) {
            return Err(format!("metric {name} appears twice"));
        }
        metrics.push((name, value));
    }
    Ok(metrics)
}

fn require(metrics: &[(&str, &str)], base: &[&str], version: &str) -> Result<(), String> {
    let missing: Vec<&str> = base
        .iter()
        .copied()
        .filter(|b| !metrics.iter().any(|(n, _)| n == b))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "incomplete CVSS {version} vector: base metric(s) {} missing",
            missing.join(", ")
        ))
    }
}

fn checked(score: f64) -> Result<f64, String> {
    if (0.0..=10.0).contains(&score) {
        Ok(score)
    } else {
        Err(format!("score {score} is outside 0.0–10.0"))
    }
}

/// A CVSS_V3/CVSS_V4 entry's base score, the entry's type agreeing with the
/// vector's version.
fn score_entry(entry: &SeverityEntry) -> Result<f64, String> {
    let (version, _) = split_vector(&entry.score)?;
    let agrees = match entry.kind.as_str() {
        "CVSS_V4" => version == "4.0",
        "CVSS_V3" => version == "3.0" || version == "3.1",
        _ => false,
    };
    if !agrees {
        return Err(format!("a CVSS {version} vector under type {}", entry.kind));
    }
    base_score(&entry.score)
}

/// NVD's CVSS v2 bands: v2 has no CRITICAL.
fn v2_severity(score: f64) -> Severity {
    if score >= 7.0 {
        Severity::High
    } else if score >= 4.0 {
        Severity::Medium
    } else {
        Severity::Low
    }
}

fn text_field(value: &Option<Specific>, key: &str) -> Option<String> {
    value.as_ref()?.text(key)
}

fn ghsa_label(label: &str) -> Option<(Severity, String)> {
    let severity = match label.trim().to_ascii_uppercase().as_str() {
        "CRITICAL" => Severity::Critical,
        "HIGH" => Severity::High,
        "MODERATE" | "MEDIUM" => Severity::Medium,
        "LOW" => Severity::Low,
        _ => return None,
    };
    Some((severity, label.trim().to_string()))
}

/// Debian's urgencies; the security tracker marks ones not yet reviewed with
/// a trailing `*` or `**` (`low**`), which does not change the level.
/// "not yet assigned" and "end-of-life" are answers too: they rate UNKNOWN
/// rather than falling through to a lesser source.
fn debian_urgency(urgency: &str) -> Option<(Severity, String)> {
    let urgency = urgency.trim();
    let severity = match urgency.trim_end_matches('*').to_ascii_lowercase().as_str() {
        "unimportant" | "low" => Severity::Low,
        "medium" => Severity::Medium,
        "high" => Severity::High,
        "not yet assigned" | "end-of-life" => Severity::Unknown,
        _ => return None,
    };
    Some((severity, urgency.to_string()))
}

#[cfg(test)]
mod tests;
