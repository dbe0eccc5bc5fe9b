//! OpenVEX input (`--vex FILE`): statements from the image's producer that
//! a vulnerability does not affect a product (`not_affected`) or is fixed
//! in it (`fixed`). Such a finding is suppressed, and the report records
//! the statement's justification. `affected` and `under_investigation`
//! statements change nothing.
//!
//! A statement's product is a package purl, or the image (`pkg:oci/…`) with
//! the affected packages as its subcomponents; a product purl without a
//! version names every version.

use std::path::Path;

use serde_json::Value;

use super::finding::Finding;
use super::ignore::purl_matches;
use crate::{Error, Result};

const VEX_MAX: u64 = 32 << 20;

#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// The vulnerability's name and its aliases.
    pub vulnerabilities: Vec<String>,
    /// Product purls (or `@id`s) the statement is about.
    pub products: Vec<String>,
    /// Subcomponents of the products it is about (empty: the products themselves).
    pub subcomponents: Vec<String>,
    pub status: String,
    pub justification: Option<String>,
    pub impact: Option<String>,
}

impl Statement {
    fn suppresses(&self) -> bool {
        matches!(self.status.as_str(), "not_affected" | "fixed")
    }

    /// Whether this statement speaks for `finding` in the image `image_purl`.
    fn covers(&self, finding: &Finding, image_purl: Option<&str>) -> bool {
        let vuln = self.vulnerabilities.iter().any(|v| finding.is_named(v));
        if !vuln {
            return false;
        }
        let package = |p: &str| purl_matches(p, &finding.purl);
        if self.subcomponents.is_empty() {
            return self.products.iter().any(|p| package(p));
        }
        let image = |p: &str| image_purl.is_some_and(|i| purl_matches(p, i) || oci_same(p, i));
        self.products.iter().any(|p| image(p) || package(p))
            && self.subcomponents.iter().any(|s| package(s))
    }

    /// "not_affected (vulnerable_code_not_in_execute_path): …"
    pub fn describe(&self) -> String {
        let mut out = self.status.clone();
        if let Some(j) = &self.justification {
            out.push_str(&format!(" ({j})"));
        }
        if let Some(i) = &self.impact {
            out.push_str(&format!(": {i}"));
        }
        out
    }
}

/// Two `pkg:oci` purls for the same digest name the same image, whatever
/// name and qualifiers they carry.
fn oci_same(a: &str, b: &str) -> bool {
    let digest = |p: &str| {
        p.strip_prefix("pkg:oci/")
            .and_then(|r| r.split('?').next())
            .and_then(|r| r.split_once('@'))
            .map(|(_, d)| d.replace("%3A", ":").replace("%3a", ":"))
    };
    matches!((digest(a), digest(b)), (Some(x), Some(y)) if x == y)
}

#[derive(Debug, Clone, Default)]
pub struct Vex {
    pub statements: Vec<Statement>,
}

impl Vex {
    pub fn load(path: &Path) -> Result<Vex> {
        let bytes = crate::fsutil::read_bounded(path, VEX_MAX, "the VEX document")?;
        let text = String::from_utf8(bytes)
            .map_err(|e| Error::file(path, format!("the VEX document is not UTF-8: {e}")))?;
        parse(&text).map_err(|why| Error::file(path, why))
    }

    /// The statement that suppresses `finding`, if any.
    pub fn suppressing(&self, finding: &Finding, image_purl: Option<&str>) -> Option<&Statement> {
        self.statements
            .iter()
            .find(|s| s.suppresses() && s.covers(finding, image_purl))
    }
}

fn ids(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Object(o) => o
            .get("@id")
            .and_then(Value::as_str)
            .map(|s| vec![s.to_string()])
            .unwrap_or_default()
            .into_iter()
            .chain(
                o.get("identifiers")
                    .and_then(Value::as_object)
                    .and_then(|i| i.get("purl"))
                    .and_then(Value::as_str)
                    .map(str::to_string),
            )
            .collect(),
        _ => Vec::new(),
    }
}

fn parse(text: &str) -> Result<Vex, String> {
    let doc: Value =
        serde_json::from_str(text).map_err(|e| format!("not a JSON OpenVEX document: {e}"))?;
    let context = doc.get("@context").and_then(Value::as_str).unwrap_or("");
    if !context.starts_with("https://openvex.dev/ns") {
        return Err(format!(
            "not an OpenVEX document (@context {context:?}, expected https://openvex.dev/ns/…)"
        ));
    }
    let list = doc
        .get("statements")
        .and_then(Value::as_array)
        .ok_or("the document has no `statements` list")?;
    let mut statements = Vec::new();
    for (i, s) in list.iter().enumerate() {
        let vulnerability = s
            .get("vulnerability")
            .ok_or_else(|| format!("statement {i} names no vulnerability"))?;
        let mut vulnerabilities = match vulnerability {
            Value::String(name) => vec![name.clone()],
            Value::Object(o) => o
                .get("name")
                .and_then(Value::as_str)
                .map(|n| vec![n.to_string()])
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        if let Some(aliases) = vulnerability.get("aliases").and_then(Value::as_array) {
            vulnerabilities.extend(aliases.iter().filter_map(Value::as_str).map(str::to_string));
        }
        if vulnerabilities.is_empty() {
            return Err(format!("statement {i}: the vulnerability has no name"));
        }
        let status = s
            .get("status")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("statement {i} has no status"))?
            .to_string();
        if !matches!(
            status.as_str(),
            "not_affected" | "affected" | "fixed" | "under_investigation"
        ) {
            return Err(format!("statement {i}: unknown status {status:?}"));
        }
        let mut products = Vec::new();
        let mut subcomponents = Vec::new();
        for p in s
            .get("products")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            products.extend(ids(p));
            for sub in p
                .get("subcomponents")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                subcomponents.extend(ids(sub));
            }
        }
        // OpenVEX 0.0.x: subcomponents beside the products.
        for sub in s
            .get("subcomponents")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            subcomponents.extend(ids(sub));
        }
        if products.is_empty() {
            return Err(format!(
                "statement {i} ({}) names no product",
                vulnerabilities[0]
            ));
        }
        statements.push(Statement {
            vulnerabilities,
            products,
            subcomponents,
            status,
            justification: s
                .get("justification")
                .and_then(Value::as_str)
                .map(str::to_string),
            impact: s
                .get("impact_statement")
                .or_else(|| s.get("status_notes"))
                .and_then(Value::as_str)
                .map(str::to_string),
        });
    }
    Ok(Vex { statements })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::finding::Severity;

    fn finding(id: &str, purl: &str) -> Finding {
        Finding {
            id: id.into(),
            ids: vec![id.into()],
            aliases: if id == "PYSEC-1" {
                vec!["CVE-2023-0001".into()]
            } else {
                vec![]
            },
            summary: None,
            package: "requests".into(),
            matched_name: "requests".into(),
            ecosystem: "PyPI".into(),
            purl: purl.into(),
            installed: "2.0".into(),
            fixed: Some("2.1".into()),
            severity: Severity::High,
            score: None,
            severity_source: "none".into(),
            layer: None,
            found_at: None,
            suppressed: None,
            references: vec![],
        }
    }

    const DOC: &str = r#"{
      "@context": "https://openvex.dev/ns/v0.2.0",
      "@id": "https://example.com/vex/1",
      "author": "Platform team",
      "timestamp": "2026-01-01T00:00:00Z",
      "version": 1,
      "statements": [
        {"vulnerability": {"name": "CVE-2023-0001"},
         "products": [{"@id": "pkg:oci/app@sha256%3Aabc", "subcomponents": [{"@id": "pkg:pypi/requests"}]}],
         "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path",
         "impact_statement": "we never call the proxy code"},
        {"vulnerability": {"name": "GHSA-aaaa"}, "products": [{"@id": "pkg:pypi/requests@2.0"}], "status": "affected"},
        {"vulnerability": {"name": "GHSA-bbbb"}, "products": [{"@id": "pkg:pypi/requests@2.0"}], "status": "fixed"}
      ]
    }"#;

    #[test]
    fn not_affected_and_fixed_suppress_for_the_named_product() {
        let vex = parse(DOC).unwrap();
        let image = Some("pkg:oci/app@sha256%3Aabc?repository_url=reg/app");
        let f = finding("PYSEC-1", "pkg:pypi/requests@2.0");
        let s = vex
            .suppressing(&f, image)
            .expect("by alias, through the image");
        assert!(s.describe().contains("vulnerable_code_not_in_execute_path"));
        assert!(
            vex.suppressing(&f, Some("pkg:oci/other@sha256%3Adef"))
                .is_none(),
            "another image"
        );
        assert!(
            vex.suppressing(&finding("GHSA-aaaa", "pkg:pypi/requests@2.0"), image)
                .is_none(),
            "affected suppresses nothing"
        );
        assert!(vex
            .suppressing(&finding("GHSA-bbbb", "pkg:pypi/requests@2.0"), image)
            .is_some());
        assert!(
            vex.suppressing(&finding("GHSA-bbbb", "pkg:pypi/requests@2.1"), image)
                .is_none(),
            "versioned product"
        );
    }

    #[test]
    fn malformed_documents_are_errors() {
        assert!(parse("{}").unwrap_err().contains("OpenVEX"));
        let bad = DOC.replace("\"not_affected\"", "\"maybe\"");
        assert!(parse(&bad).unwrap_err().contains("unknown status"));
        assert!(parse("not json").is_err());
    }
}
