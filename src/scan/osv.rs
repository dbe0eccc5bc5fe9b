//! The parts of the OSV schema (https://ossf.github.io/osv-schema/) that
//! matching and reporting read. Unknown fields are ignored; records are
//! kept as the database has them otherwise.

use std::borrow::Cow;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// A free-form `database_specific` or `ecosystem_specific` object, kept as
/// its JSON text. Records carry large ones (GitHub's CWE lists, Debian's
/// per-release tables) of which a scan reads a string field or two;
/// building every one into a tree, then freeing it, took a fifth of a
/// scan's time.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Specific(Box<RawValue>);

impl Specific {
    /// The string at `key`, when the value is an object with one there.
    pub fn text(&self, key: &str) -> Option<String> {
        let fields: HashMap<Cow<str>, &RawValue> = serde_json::from_str(self.0.get()).ok()?;
        serde_json::from_str(fields.get(key)?.get()).ok()
    }

    /// The object `value` holds (records built in code, tests).
    pub fn of(value: &serde_json::Value) -> Option<Specific> {
        RawValue::from_string(value.to_string()).ok().map(Specific)
    }
}

impl PartialEq for Specific {
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}

/// One OSV record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub related: Vec<String>,
    /// The records this one was derived from (Debian's `DEBIAN-CVE-…` and
    /// `DSA-…` name their CVE here): one vulnerability with them.
    #[serde(default)]
    pub upstream: Vec<String>,
    #[serde(default)]
    pub summary: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    pub modified: Option<String>,
    #[serde(default)]
    pub published: Option<String>,
    /// Set when the record was withdrawn: it matches nothing.
    #[serde(default)]
    pub withdrawn: Option<String>,
    #[serde(default)]
    pub severity: Vec<SeverityEntry>,
    #[serde(default)]
    pub affected: Vec<Affected>,
    #[serde(default)]
    pub references: Vec<Reference>,
    /// e.g. RustSec `{"informational": "unmaintained"}`, GHSA `{"severity": "HIGH"}`.
    #[serde(default)]
    pub database_specific: Option<Specific>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeverityEntry {
    /// `CVSS_V2`, `CVSS_V3`, `CVSS_V4`, `Ubuntu`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// A CVSS vector string (or a label for other types).
    pub score: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Affected {
    #[serde(default)]
    pub package: Option<Package>,
    #[serde(default)]
    pub severity: Vec<SeverityEntry>,
    #[serde(default)]
    pub ranges: Vec<Range>,
    /// Explicitly affected versions.
    #[serde(default)]
    pub versions: Vec<String>,
    /// e.g. Debian `{"urgency": "low"}`.
    #[serde(default)]
    pub ecosystem_specific: Option<Specific>,
    /// e.g. GHSA `{"last_known_affected_version_range": "<= 1.2"}`.
    #[serde(default)]
    pub database_specific: Option<Specific>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Package {
    /// `Debian:12`, `Alpine:v3.20`, `PyPI`, `npm`, `crates.io`, `Go`, `Maven`, …
    pub ecosystem: String,
    /// As the ecosystem names it: Debian *source* package, Alpine origin,
    /// Go module path, Maven `group:artifact`.
    pub name: String,
    #[serde(default)]
    pub purl: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Range {
    /// `SEMVER`, `ECOSYSTEM` or `GIT` (GIT ranges are not matched against packages).
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub repo: Option<String>,
    #[serde(default)]
    pub events: Vec<Event>,
}

/// Exactly one field is set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Event {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introduced: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_affected: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    pub url: String,
}
