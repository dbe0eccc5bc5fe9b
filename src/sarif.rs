//! What every SARIF 2.1.0 log wharf writes shares (`scan --format sarif`,
//! `lint --format sarif`): the schema, the tool driver, the envelope, and
//! artifact URIs that GitHub code scanning and the OASIS schema accept.
//! Each command builds its own rules and results on top.

use serde_json::{json, Value};

pub const SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The wharf version SARIF logs name as their tool.
const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// `tool.driver`: wharf, its version, and `rules`.
pub fn driver(rules: Vec<Value>) -> Value {
    let mut driver = json!({
        "name": "wharf",
        "version": TOOL_VERSION,
        "semanticVersion": TOOL_VERSION,
        "rules": rules,
    });
    let repository = env!("CARGO_PKG_REPOSITORY");
    if !repository.is_empty() {
        driver["informationUri"] = json!(repository);
    }
    driver
}

/// The whole log for one run, pretty-printed, with a final newline.
pub fn document(run: Value) -> String {
    let log = json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [run],
    });
    let mut text = serde_json::to_string_pretty(&log).unwrap_or_else(|e| {
        json!({ "error": format!("cannot serialise the SARIF log: {e}") }).to_string()
    });
    text.push('\n');
    text
}

/// A path or name as a URI reference: everything outside RFC 3986's
/// unreserved and path characters percent-encoded.
pub fn uri_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            // ':' is only safe after the first segment (else it reads as a
            // scheme); '@', '+', '=' and ',' are path characters.
            b'@' | b'+' | b'=' | b',' | b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b';' => {
                out.push(b as char)
            }
            b':' if out.contains('/') => out.push(':'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
