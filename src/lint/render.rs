//! What `wharf lint` writes: text for people (each finding with its why and
//! fix), JSON for programs, SARIF 2.1.0 for GitHub code scanning (through
//! [`crate::sarif`], which `scan` shares). Every format carries every
//! finding, ignored ones included with their reason; the same findings
//! render to the same bytes.

use console::style;
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{Finding, Level, LintReport};
use crate::sarif;

pub use crate::cli::LintFormat as Format;

pub fn render(report: &LintReport, format: Format, colour: bool) -> String {
    match format {
        Format::Text => text(report, colour),
        Format::Json => json_report(report),
        Format::Sarif => sarif_report(report),
    }
}

fn place(f: &Finding) -> String {
    match f.line {
        Some(line) => format!("{}:{line}", f.file),
        None => f.file.clone(),
    }
}

fn text(report: &LintReport, colour: bool) -> String {
    let mut out = String::new();
    for f in &report.findings {
        let label = match (&f.suppressed, f.level) {
            (Some(_), _) => "ignored".to_string(),
            (None, level) => level.as_str().to_string(),
        };
        let label = if colour {
            let styled = match (&f.suppressed, f.level) {
                (Some(_), _) => style(label).dim(),
                (None, Level::Error) => style(label).red().bold(),
                (None, Level::Warning) => style(label).yellow().bold(),
                (None, Level::Info) => style(label).cyan(),
            };
            styled.to_string()
        } else {
            label
        };
        out.push_str(&format!(
            "{}: {label}[{}] {}\n",
            place(f),
            f.rule.id,
            f.message
        ));
        match &f.suppressed {
            Some(reason) => out.push_str(&format!("    ignored: {reason}\n")),
            None => {
                out.push_str(&format!("    why: {}\n", f.rule.why));
                out.push_str(&format!("    fix: {}\n", f.rule.fix));
            }
        }
    }
    out
}

/// The closing line (stderr): counts and the verdict.
pub fn summary(report: &LintReport) -> String {
    let mut what = Vec::new();
    if !report.files.is_empty() {
        let n = report.files.len();
        what.push(format!("{n} Dockerfile{}", if n == 1 { "" } else { "s" }));
    }
    if let Some(image) = &report.image {
        what.push(image.clone());
    }
    let counts = [
        (report.count(Level::Error), "error", "errors"),
        (report.count(Level::Warning), "warning", "warnings"),
        (report.count(Level::Info), "info", "info"),
        (report.suppressed(), "ignored", "ignored"),
    ];
    let said: Vec<String> = counts
        .iter()
        .filter(|(n, _, _)| *n > 0)
        .map(|(n, one, many)| format!("{n} {}", if *n == 1 { one } else { many }))
        .collect();
    let found = if said.is_empty() {
        "no findings".to_string()
    } else {
        said.join(", ")
    };
    let verdict = if report.failed() {
        "fails (an error-level finding remains)"
    } else {
        "passes"
    };
    format!("lint: {}: {found}; {verdict}", what.join(" and "))
}

#[derive(Serialize)]
struct JsonReport<'a> {
    schema_version: u32,
    tool: JsonTool,
    files: &'a [String],
    image: Option<&'a str>,
    summary: JsonSummary,
    findings: Vec<JsonFinding<'a>>,
}

#[derive(Serialize)]
struct JsonTool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct JsonSummary {
    error: usize,
    warning: usize,
    info: usize,
    ignored: usize,
    failed: bool,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    rule: &'static str,
    level: Level,
    message: &'a str,
    file: &'a str,
    line: Option<usize>,
    end_line: Option<usize>,
    why: &'static str,
    fix: &'static str,
    ignored: Option<&'a str>,
}

fn json_report(report: &LintReport) -> String {
    let doc = JsonReport {
        schema_version: 1,
        tool: JsonTool {
            name: "wharf",
            version: env!("CARGO_PKG_VERSION"),
        },
        files: &report.files,
        image: report.image.as_deref(),
        summary: JsonSummary {
            error: report.count(Level::Error),
            warning: report.count(Level::Warning),
            info: report.count(Level::Info),
            ignored: report.suppressed(),
            failed: report.failed(),
        },
        findings: report
            .findings
            .iter()
            .map(|f| JsonFinding {
                rule: f.rule.id,
                level: f.level,
                message: &f.message,
                file: &f.file,
                line: f.line,
                end_line: f.end_line,
                why: f.rule.why,
                fix: f.rule.fix,
                ignored: f.suppressed.as_deref(),
            })
            .collect(),
    };
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_else(|e| {
        json!({ "error": format!("cannot serialise the report: {e}") }).to_string()
    });
    text.push('\n');
    text
}

fn sarif_level(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Info => "note",
    }
}

/// The key of our fingerprint in `partialFingerprints`; bump the version if
/// what it hashes ever changes.
const FINGERPRINT_KEY: &str = "wharfLint/v1";

fn sarif_report(report: &LintReport) -> String {
    let rules: Vec<Value> = report
        .rules
        .iter()
        .map(|(rule, level)| {
            json!({
                "id": rule.id,
                "name": rule_name(rule.id),
                "shortDescription": {"text": rule.title},
                "fullDescription": {"text": rule.why},
                "help": {
                    "text": format!("{}\n\nWhy: {}\n\nFix: {}", rule.title, rule.why, rule.fix),
                    "markdown": format!("**{}**\n\nWhy: {}\n\nFix: {}", rule.title, rule.why, rule.fix),
                },
                "defaultConfiguration": {"level": sarif_level(*level)},
                "properties": {"tags": ["dockerfile", "wharf-lint"], "precision": "high"},
            })
        })
        .collect();
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            // Two findings alike but for their lines get distinct prints.
            let print = fingerprint(f);
            let nth = seen.entry(print.clone()).or_insert(0);
            *nth += 1;
            let print = if *nth == 1 {
                print
            } else {
                format!("{print}:{nth}")
            };
            let index = report.rules.iter().position(|(r, _)| r.id == f.rule.id);
            let uri = sarif::uri_escape(f.file.trim_start_matches("./"));
            let mut region = json!({"startLine": f.line.unwrap_or(1)});
            if let Some(end) = f.end_line.filter(|&e| Some(e) != f.line) {
                region["endLine"] = json!(end);
            }
            let mut result = json!({
                "ruleId": f.rule.id,
                "level": sarif_level(f.level),
                "message": {"text": format!("{} Fix: {}", f.message, f.rule.fix)},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri},
                        "region": region,
                    },
                }],
                "partialFingerprints": {FINGERPRINT_KEY: print},
            });
            if let Some(index) = index {
                result["ruleIndex"] = json!(index);
            }
            if let Some(reason) = &f.suppressed {
                result["suppressions"] = json!([{"kind": "inSource", "justification": reason}]);
            }
            result
        })
        .collect();
    let mut run = json!({
        "tool": {"driver": sarif::driver(rules)},
        "invocations": [{"executionSuccessful": true}],
        "results": results,
        "columnKind": "unicodeCodePoints",
    });
    let mut properties = serde_json::Map::new();
    if let Some(image) = &report.image {
        properties.insert("image".into(), json!(image));
    }
    properties.insert("failed".into(), json!(report.failed()));
    run["properties"] = Value::Object(properties);
    sarif::document(run)
}

/// `base-image-unpinned` → `BaseImageUnpinned`.
fn rule_name(id: &str) -> String {
    id.split('-')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// Stable when lines move: the rule, the file and the message without its
/// digits (line numbers inside messages shift with edits).
fn fingerprint(f: &Finding) -> String {
    let mut h = Sha256::new();
    let message: String = f.message.chars().filter(|c| !c.is_ascii_digit()).collect();
    for part in [f.rule.id, f.file.as_str(), message.as_str()] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    hex::encode(h.finalize())
}
