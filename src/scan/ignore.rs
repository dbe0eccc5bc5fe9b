//! The ignore file (`--ignore-file`, default `.wharfignore.yaml`): findings
//! a team has looked at and decided to accept, each with its reason and,
//! optionally, a date after which the decision must be made again.
//!
//! ```yaml
//! ignore:
//!   - id: CVE-2024-1234            # or any alias of the record
//!     package: openssl             # optional; or purl: pkg:deb/debian/openssl
//!     reason: "not reachable: we never call X"   # required
//!     expires: 2027-01-31          # optional; after it, the entry stops ignoring
//! ```
//!
//! An entry without a reason is an error, not a silent ignore: the point of
//! the file is that every accepted risk says why.

use std::path::{Path, PathBuf};

use jiff::civil::Date;

use super::finding::Finding;
use crate::yaml;
use crate::{Error, Result};

pub const DEFAULT_PATH: &str = ".wharfignore.yaml";

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub id: String,
    pub package: Option<String>,
    pub purl: Option<String>,
    pub reason: String,
    /// The last day the entry ignores.
    pub expires: Option<Date>,
    /// 1-based line of the entry, for messages.
    pub line: usize,
}

impl Entry {
    pub fn expired(&self, today: Date) -> bool {
        self.expires.is_some_and(|e| today > e)
    }

    /// Whether the entry names this finding (expiry aside).
    pub fn names(&self, finding: &Finding) -> bool {
        let id = finding.is_named(&self.id);
        let package = self.package.as_deref().is_none_or(|p| {
            p.eq_ignore_ascii_case(&finding.package)
                || p.eq_ignore_ascii_case(&finding.matched_name)
        });
        let purl = self
            .purl
            .as_deref()
            .is_none_or(|p| purl_matches(p, &finding.purl));
        id && package && purl
    }

    /// "CVE-2024-1234 (openssl), expired 2026-01-31: not reachable"
    pub fn describe(&self) -> String {
        let mut out = self.id.clone();
        if let Some(p) = self.package.as_deref().or(self.purl.as_deref()) {
            out.push_str(&format!(" ({p})"));
        }
        if let Some(e) = self.expires {
            out.push_str(&format!(", expires {e}"));
        }
        out.push_str(&format!(": {}", self.reason));
        out
    }
}

/// `pattern` names `purl`: equal once qualifiers and subpath are dropped
/// from both, and without a version in `pattern`, any version.
pub fn purl_matches(pattern: &str, purl: &str) -> bool {
    let strip = |p: &str| -> String {
        let p = p.split('#').next().unwrap_or(p);
        p.split('?').next().unwrap_or(p).to_string()
    };
    let (pattern, purl) = (strip(pattern), strip(purl));
    if pattern.contains('@') {
        pattern == purl
    } else {
        purl.split('@').next() == Some(pattern.as_str())
    }
}

#[derive(Debug, Clone, Default)]
pub struct IgnoreFile {
    pub path: PathBuf,
    pub entries: Vec<Entry>,
}

impl IgnoreFile {
    /// Reads `path`; with no `--ignore-file`, a missing default file is no
    /// file at all.
    pub fn load(explicit: Option<&Path>) -> Result<IgnoreFile> {
        let path = explicit.unwrap_or(Path::new(DEFAULT_PATH));
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if explicit.is_none() && e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(IgnoreFile::default())
            }
            Err(e) => {
                return Err(Error::file(
                    path,
                    format!("cannot read the ignore file: {e}"),
                ))
            }
        };
        parse(&text)
            .map(|entries| IgnoreFile {
                path: path.to_path_buf(),
                entries,
            })
            .map_err(|why| Error::file(path, why))
    }

    /// The live entry that ignores `finding`, if any.
    pub fn ignoring(&self, finding: &Finding, today: Date) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| !e.expired(today) && e.names(finding))
    }

    pub fn expired(&self, today: Date) -> Vec<&Entry> {
        self.entries.iter().filter(|e| e.expired(today)).collect()
    }
}

fn parse(text: &str) -> Result<Vec<Entry>, String> {
    let line = |offset: usize| crate::text::line_of(text, offset);
    let docs = yaml::parse_documents(text).map_err(|e| format!("not valid YAML: {e}"))?;
    let Some(doc) = docs.first() else {
        return Ok(Vec::new());
    };
    let root = &doc.root;
    if root.is_null() {
        return Ok(Vec::new());
    }
    let map = root.as_mapping().ok_or_else(|| {
        format!(
            "line {}: expected a mapping with an `ignore:` list",
            line(root.span().start)
        )
    })?;
    let Some(list) = map.get("ignore") else {
        return Err(format!(
            "line {}: no `ignore:` key (the file holds `ignore:` followed by a list of entries)",
            line(root.span().start)
        ));
    };
    if list.is_null() {
        return Ok(Vec::new());
    }
    let items = list
        .as_sequence()
        .ok_or_else(|| format!("line {}: `ignore:` must be a list", line(list.span().start)))?;
    let mut out = Vec::new();
    for item in &items.items {
        let at = line(item.span().start);
        let entry = item.as_mapping().ok_or_else(|| {
            format!("line {at}: an ignore entry must be a mapping (id:, reason:, …)")
        })?;
        let text_of = |key: &str| -> Result<Option<String>, String> {
            match entry.get(key) {
                None => Ok(None),
                Some(n) if n.is_null() => Ok(None),
                Some(n) => n
                    .as_str()
                    .map(|s| Some(s.trim().to_string()))
                    .ok_or_else(|| format!("line {}: `{key}` must be text", line(n.span().start))),
            }
        };
        for (key, _) in &entry.entries {
            if let Some(k) = key.as_str() {
                if !matches!(k, "id" | "package" | "purl" | "reason" | "expires") {
                    return Err(format!(
                        "line {}: unknown key `{k}` in an ignore entry (id, package, purl, reason, expires)",
                        line(key.span().start)
                    ));
                }
            }
        }
        let id = text_of("id")?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| format!("line {at}: the entry has no `id`"))?;
        let reason = text_of("reason")?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                format!(
                    "line {at}: the entry for {id} has no `reason`; say why it is safe to ignore"
                )
            })?;
        let expires = match text_of("expires")? {
            None => None,
            Some(s) => Some(s.parse::<Date>().map_err(|_| {
                format!("line {at}: `expires: {s}` for {id} is not a date (YYYY-MM-DD)")
            })?),
        };
        out.push(Entry {
            id,
            package: text_of("package")?,
            purl: text_of("purl")?,
            reason,
            expires,
            line: at,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(id: &str, aliases: &[&str], package: &str, purl: &str) -> Finding {
        Finding {
            id: id.into(),
            ids: vec![id.into()],
            aliases: aliases.iter().map(|s| s.to_string()).collect(),
            summary: None,
            package: package.into(),
            matched_name: package.into(),
            ecosystem: "Debian:12".into(),
            purl: purl.into(),
            installed: "1.0".into(),
            fixed: None,
            severity: super::super::finding::Severity::High,
            score: None,
            severity_source: "none".into(),
            layer: None,
            found_at: None,
            suppressed: None,
            references: vec![],
        }
    }

    #[test]
    fn entries_parse_with_lines_and_need_a_reason() {
        let text = "# accepted risks\nignore:\n  - id: CVE-2024-1234\n    package: openssl\n    reason: \"not reachable\"\n    expires: 2027-01-31\n  - id: GHSA-xxxx\n    purl: pkg:pypi/requests\n    reason: dev only\n";
        let entries = parse(text).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].line, 3);
        assert_eq!(entries[0].expires, Some(jiff::civil::date(2027, 1, 31)));
        let err = parse("ignore:\n  - id: CVE-1\n").unwrap_err();
        assert!(
            err.contains("line 2") && err.contains("no `reason`"),
            "{err}"
        );
        let err = parse("ignore:\n  - id: CVE-1\n    reason: x\n    expires: soon\n").unwrap_err();
        assert!(err.contains("not a date"), "{err}");
        let err = parse("ignore:\n  - id: CVE-1\n    reason: x\n    packge: y\n").unwrap_err();
        assert!(err.contains("unknown key `packge`"), "{err}");
        assert!(parse("").unwrap().is_empty());
    }

    #[test]
    fn matching_by_alias_package_purl_and_expiry() {
        let text = "ignore:\n  - id: CVE-2024-1234\n    package: openssl\n    reason: r\n    expires: 2027-01-31\n";
        let file = IgnoreFile {
            path: "x".into(),
            entries: parse(text).unwrap(),
        };
        let f = finding(
            "DSA-1",
            &["CVE-2024-1234"],
            "openssl",
            "pkg:deb/debian/openssl@3?arch=amd64",
        );
        let before = jiff::civil::date(2027, 1, 31);
        let after = jiff::civil::date(2027, 2, 1);
        assert!(
            file.ignoring(&f, before).is_some(),
            "alias matches, last day included"
        );
        assert!(
            file.ignoring(&f, after).is_none(),
            "expired entries stop ignoring"
        );
        assert_eq!(file.expired(after).len(), 1);
        let other = finding("CVE-2024-1234", &[], "libssl3", "pkg:deb/debian/libssl3@3");
        assert!(file.ignoring(&other, before).is_none(), "another package");
    }

    #[test]
    fn an_entry_naming_any_record_of_a_group_ignores_the_group() {
        let text = "ignore:\n  - id: ghsa-aaaa-bbbb-cccc\n    reason: r\n";
        let file = IgnoreFile {
            path: "x".into(),
            entries: parse(text).unwrap(),
        };
        let mut f = finding(
            "PYSEC-2021-9",
            &["CVE-2021-1"],
            "django",
            "pkg:pypi/django@3.2",
        );
        let today = jiff::civil::date(2026, 1, 1);
        assert!(file.ignoring(&f, today).is_none());
        f.ids.push("GHSA-aaaa-bbbb-cccc".into());
        assert!(
            file.ignoring(&f, today).is_some(),
            "a record id of the group, any case"
        );
    }

    #[test]
    fn purl_patterns() {
        assert!(purl_matches("pkg:pypi/requests", "pkg:pypi/requests@2.0"));
        assert!(purl_matches(
            "pkg:deb/debian/bash@5.2",
            "pkg:deb/debian/bash@5.2?arch=amd64"
        ));
        assert!(!purl_matches(
            "pkg:deb/debian/bash@5.1",
            "pkg:deb/debian/bash@5.2"
        ));
        assert!(!purl_matches("pkg:pypi/request", "pkg:pypi/requests@2.0"));
    }
}
