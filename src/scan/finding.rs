//! What a scan found: findings are data (the gate and the reports read
//! them); errors are for scans that could not be done.

use serde::Serialize;

/// Severity, most severe first (so `Ord` sorts critical first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
    /// No score, label or urgency that we can read: stays visible.
    Unknown,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "CRITICAL",
            Severity::High => "HIGH",
            Severity::Medium => "MEDIUM",
            Severity::Low => "LOW",
            Severity::Unknown => "UNKNOWN",
        }
    }

    /// From a CVSS base score (v3/v4 qualitative ratings; 0.0 is "none",
    /// which we report as LOW rather than hide).
    pub fn from_score(score: f64) -> Severity {
        if score >= 9.0 {
            Severity::Critical
        } else if score >= 7.0 {
            Severity::High
        } else if score >= 4.0 {
            Severity::Medium
        } else {
            Severity::Low
        }
    }
}

/// Where a finding's severity came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rating {
    pub severity: Severity,
    /// The CVSS base score, when computed from a vector.
    pub score: Option<f64>,
    /// `CVSS_V4 <vector>`, `CVSS_V3 <vector>`, `GHSA label`, `Debian urgency`, or `none`.
    pub source: String,
}

/// Why a finding does not count against the gate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suppression {
    /// `ignore-file`, `vex`, `unfixed` (with --ignore-unfixed).
    pub by: String,
    pub reason: String,
}

/// One vulnerability matching one installed package: the records that
/// alias each other, grouped (see [`super::group`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// The group's first record id in osv-scanner's order (`DSA-…`,
    /// `CVE-…`, `PYSEC-…`, `GO-…`, `RUSTSEC-…`, …, `GHSA-…`).
    pub id: String,
    /// Every record id of the group, `id` first.
    pub ids: Vec<String>,
    /// The group's other names: aliases and upstream ids that are not
    /// record ids here (usually the `CVE-…`).
    pub aliases: Vec<String>,
    pub summary: Option<String>,
    /// The package as installed (binary name for OS packages).
    pub package: String,
    /// The name the record matched (Debian source, Alpine origin, PEP 503 name).
    pub matched_name: String,
    /// The OSV ecosystem matched (`Debian:12`, `PyPI`, …).
    pub ecosystem: String,
    pub purl: String,
    pub installed: String,
    /// The lowest fixed version above the installed one, if any.
    pub fixed: Option<String>,
    pub severity: Severity,
    pub score: Option<f64>,
    pub severity_source: String,
    /// Index of the layer the package came from.
    pub layer: Option<usize>,
    /// The file the package was found through.
    pub found_at: Option<String>,
    pub suppressed: Option<Suppression>,
    pub references: Vec<String>,
}

impl Finding {
    /// Whether `name` is one of the vulnerability's names: its id, a record
    /// id of its group, or an alias (case-insensitive). Ignore entries and
    /// VEX statements apply by any of them.
    pub fn is_named(&self, name: &str) -> bool {
        std::iter::once(&self.id)
            .chain(&self.ids)
            .chain(&self.aliases)
            .any(|n| n.eq_ignore_ascii_case(name))
    }

    /// Its names other than `id`: the group's other record ids, then its aliases.
    pub fn other_names(&self) -> impl Iterator<Item = &String> {
        self.ids
            .iter()
            .filter(move |i| **i != self.id)
            .chain(&self.aliases)
    }

    /// The CVE it is known as, when its id is not one.
    pub fn cve(&self) -> Option<&str> {
        if self.id.starts_with("CVE-") {
            return None;
        }
        self.other_names()
            .find(|n| n.starts_with("CVE-"))
            .map(String::as_str)
    }
}

/// A package whose version could not be compared with a record's ranges:
/// reported as such, never silently "not vulnerable".
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unparsable {
    pub id: String,
    pub package: String,
    pub ecosystem: String,
    pub installed: String,
    pub why: String,
}

/// Packages (or SBOM components) that were not looked up, and why. Every
/// report names them: "no findings" for a package nobody checked is not a
/// pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotScanned {
    pub reason: String,
    /// `name@version` (or how the SBOM describes the component), sorted.
    pub packages: Vec<String>,
}

impl NotScanned {
    /// Adds `package` under `reason`, keeping reasons in first-seen order.
    pub fn add(list: &mut Vec<NotScanned>, reason: &str, package: String) {
        match list.iter_mut().find(|n| n.reason == reason) {
            Some(n) => n.packages.push(package),
            None => list.push(NotScanned {
                reason: reason.to_string(),
                packages: vec![package],
            }),
        }
    }

    /// How many packages `list` names.
    pub fn count(list: &[NotScanned]) -> usize {
        list.iter().map(|n| n.packages.len()).sum()
    }

    /// The first `max` packages, then "and N more".
    pub fn some(&self, max: usize) -> String {
        let mut text = self
            .packages
            .iter()
            .take(max)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if self.packages.len() > max {
            text.push_str(&format!(" and {} more", self.packages.len() - max));
        }
        text
    }
}
