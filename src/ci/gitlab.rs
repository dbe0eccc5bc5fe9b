//! GitLab CI: a dotenv report (`artifacts:reports:dotenv`), `KEY=VALUE`
//! per line, for later jobs to read as variables.
//!
//! GitLab's parser (`Ci::ParseDotenvArtifactService`) reads each line with
//! `^(.*?)=(.*)$` and strips both sides; it has no quoting or escapes
//! (quotes stay in the value), no multi-line values, and older versions
//! reject blank lines. So a value is written as is, and one that GitLab
//! would read differently — a line break, which would also start a line of
//! its own and so set another variable, any other control character, or
//! surrounding blanks that it would strip — is refused, not mangled.
//! Unknown values are left out rather than written empty.

use super::RunSummary;

/// The variables of docs/run.md, in its order; `None` where the run did not
/// get that far.
pub(super) fn variables(summary: &RunSummary) -> Vec<(&'static str, Option<String>)> {
    vec![
        ("WHARF_IMAGE", Some(summary.image.clone())),
        ("WHARF_DIGEST", summary.digest.clone()),
        ("WHARF_IMAGE_REF", summary.image_ref.clone()),
        (
            "WHARF_GATE_PASSED",
            summary.gate.as_ref().map(|g| g.passed.to_string()),
        ),
        ("WHARF_SIGNER", summary.signer.clone()),
    ]
}

/// The dotenv file's text, or why a value cannot be in one.
pub(super) fn dotenv(summary: &RunSummary) -> Result<String, String> {
    encode(&variables(summary))
}

pub(super) fn encode(variables: &[(&str, Option<String>)]) -> Result<String, String> {
    let mut text = String::new();
    for (key, value) in variables {
        let Some(value) = value else { continue };
        check_value(value).map_err(|why| format!("{key}'s value {why}"))?;
        text.push_str(&format!("{key}={value}\n"));
    }
    Ok(text)
}

fn check_value(value: &str) -> Result<(), String> {
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Err(format!(
            "contains the control character {c:?}, which GitLab's dotenv format cannot \
             carry (it has no escapes and no multi-line values); later jobs must read it \
             from run.json instead"
        ));
    }
    if value.trim() != value {
        return Err(
            "starts or ends with blanks, which GitLab would strip; later jobs must read \
             it from run.json instead"
                .to_string(),
        );
    }
    Ok(())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// GitLab's reading of a dotenv file: every line `^(.*?)=(.*)$`, both
    /// parts stripped, the key `[A-Za-z0-9_]+`; anything else is an error.
    pub(crate) fn parse_dotenv(text: &str) -> Result<BTreeMap<String, String>, String> {
        let mut out = BTreeMap::new();
        for line in text.split_inclusive('\n') {
            let line = line.strip_suffix('\n').unwrap_or(line);
            let (key, value) = line
                .split_once('=')
                .ok_or_else(|| format!("invalid line {line:?}"))?;
            let key = key.trim();
            if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!("invalid key {key:?}"));
            }
            out.insert(key.to_string(), value.trim().to_string());
        }
        Ok(out)
    }

    #[test]
    fn lines_parse_back_one_variable_each() {
        let vars = vec![
            ("WHARF_IMAGE", Some("ghcr.io/acme/app".to_string())),
            ("WHARF_DIGEST", None),
            (
                "WHARF_SIGNER",
                Some("https://x/a.yml@refs/heads/main?a=b".to_string()),
            ),
        ];
        let text = encode(&vars).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        let parsed = parse_dotenv(&text).unwrap();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed["WHARF_IMAGE"], "ghcr.io/acme/app");
        assert_eq!(
            parsed["WHARF_SIGNER"],
            "https://x/a.yml@refs/heads/main?a=b"
        );
    }

    #[test]
    fn a_line_break_in_a_value_cannot_add_a_variable() {
        for evil in [
            "x\nWHARF_GATE_PASSED=true",
            "x\rWHARF_GATE_PASSED=true",
            "x\u{0}",
        ] {
            let vars = vec![("WHARF_SIGNER", Some(evil.to_string()))];
            let err = encode(&vars).unwrap_err();
            assert!(err.starts_with("WHARF_SIGNER's value contains"), "{err}");
        }
        let err = encode(&[("WHARF_IMAGE", Some(" padded".to_string()))]).unwrap_err();
        assert!(err.contains("blanks"), "{err}");
    }
}
