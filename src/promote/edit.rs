//! Byte-exact edits of YAML scalars: a new value written in the scalar's
//! own quote style, quoted when plain would read as another type, and
//! spliced into the text so no other byte moves.

use std::ops::Range;

use crate::yaml::{Aliased, Scalar, Style};

/// One change to a file's text: `text` replaces `span` (empty for an
/// insertion).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub span: Range<usize>,
    pub text: String,
}

/// Where a plain scalar stands: flow collections forbid `,[]{}` in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Block,
    Flow,
}

/// The edit that makes `scalar` hold `value`, keeping its style; `None`
/// when it already does. `Err` says why the scalar cannot be rewritten.
pub fn set_scalar(
    text: &str,
    scalar: &Scalar,
    value: &str,
    context: Context,
) -> Result<Option<Edit>, String> {
    // Holding the same characters is not enough: a plain `3` or `1.10` is
    // a number to Helm and kustomize, not the tag "3" or "1.10".
    let holds_the_string = match scalar.style {
        Style::Plain => plain_is_string(value, context),
        _ => true,
    };
    if scalar.value == value && holds_the_string {
        return Ok(None);
    }
    let source = text.get(scalar.span.clone()).unwrap_or_default();
    match scalar.style {
        Style::Literal | Style::Folded => {
            return Err(format!(
                "{:?} is a block scalar (| or >); write it as a one-line value and run wharf again",
                scalar.value
            ))
        }
        _ if source.contains(['\n', '\r']) => {
            return Err(format!(
                "{:?} is split over several lines; write it on one line and run wharf again",
                scalar.value
            ))
        }
        _ => {}
    }
    let written = match scalar.style {
        Style::SingleQuoted => single_quoted(value),
        Style::DoubleQuoted => double_quoted(value),
        _ if plain_is_string(value, context) => value.to_string(),
        // Plain would change the value's type (a tag `1.10` reads as the
        // float 1.1) or its meaning: quote it.
        _ => double_quoted(value),
    };
    if scalar.span.is_empty() {
        // `key:` with no value: the span sits just after the `:`.
        return Ok(Some(Edit {
            span: scalar.span.clone(),
            text: format!(" {written}"),
        }));
    }
    Ok(Some(Edit {
        span: scalar.span.clone(),
        text: written,
    }))
}

/// `value` written for a new key: plain when that reads back as the same
/// string, double-quoted otherwise.
pub fn new_value(value: &str, context: Context) -> String {
    if plain_is_string(value, context) {
        value.to_string()
    } else {
        double_quoted(value)
    }
}

pub fn single_quoted(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

pub fn double_quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether `value`, written plain, is read back as exactly that string by
/// YAML 1.2 loaders and by the YAML 1.1 ones Kubernetes tooling still uses
/// (go-yaml v2 reads `on`, `0755` and `1_000` as non-strings).
pub fn plain_is_string(value: &str, context: Context) -> bool {
    let Some(first) = value.chars().next() else {
        return false;
    };
    if value.trim() != value || value.contains(['\n', '\r', '\t']) {
        return false;
    }
    if value.chars().any(char::is_control) {
        return false;
    }
    // Indicators that cannot start a plain scalar (`-`, `?`, `:` only when
    // followed by a space, but they confuse readers: quote them all).
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        return false;
    }
    if value.contains(": ") || value.contains(" #") || value.ends_with(':') {
        return false;
    }
    if context == Context::Flow && value.contains([',', '[', ']', '{', '}']) {
        return false;
    }
    !reads_as_non_string(value)
}

/// Null, booleans and numbers in the YAML 1.2 core schema and in YAML 1.1.
fn reads_as_non_string(v: &str) -> bool {
    const WORDS: [&str; 27] = [
        "~", "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE", "y", "Y",
        "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF",
        "<<",
    ];
    if WORDS.contains(&v) || v == "=" {
        return true;
    }
    let unsigned = v.strip_prefix(['-', '+']).unwrap_or(v);
    if matches!(
        unsigned,
        ".inf" | ".Inf" | ".INF" | ".nan" | ".NaN" | ".NAN"
    ) {
        return true;
    }
    if let Some(body) = ["0x", "0o", "0b"]
        .iter()
        .find_map(|p| unsigned.strip_prefix(p))
    {
        return !body.is_empty() && body.chars().all(|c| c.is_ascii_hexdigit() || c == '_');
    }
    is_number_1_1(unsigned) || is_timestamp(v)
}

/// `[0-9_]+`, `[0-9_]*.[0-9_]*` (one digit at least), either with an
/// exponent, or sexagesimal `1:30[.5]`: what YAML 1.1 or 1.2 reads as a
/// number.
fn is_number_1_1(v: &str) -> bool {
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit() || c == '_');
    let (mantissa, exponent) = match v.find(['e', 'E']) {
        Some(i) => (&v[..i], Some(&v[i + 1..])),
        None => (v, None),
    };
    if let Some(e) = exponent {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        if e.is_empty() || !e.chars().all(|c| c.is_ascii_digit()) {
            return false;
        }
    }
    if !mantissa.chars().any(|c| c.is_ascii_digit()) {
        return false;
    }
    let (int, frac) = match mantissa.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (mantissa, None),
    };
    if frac.is_some_and(|f| !digits(f)) {
        return false;
    }
    if digits(int) {
        return true;
    }
    // Sexagesimal: 1:30, 190:20:30.15 (no exponent).
    exponent.is_none()
        && int.split(':').count() > 1
        && int.split(':').all(|part| !part.is_empty() && digits(part))
}

/// YAML 1.1 timestamps (`2024-01-01`, `2024-01-01T10:00:00Z`): go-yaml v2
/// turns them into times, which JSON then writes back differently.
fn is_timestamp(v: &str) -> bool {
    let b = v.as_bytes();
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    b.len() >= 8
        && (0..4).all(digit)
        && b.get(4) == Some(&b'-')
        && digit(5)
        && (b.get(6) == Some(&b'-') || (digit(6) && b.get(7) == Some(&b'-')))
}

/// Why an edit of `span` would also change what an alias elsewhere reads,
/// if it would: the anchored node it falls in (or that falls in it) is
/// used by an alias.
pub fn aliased_conflict<'a>(aliased: &'a [Aliased], span: &Range<usize>) -> Option<&'a Aliased> {
    aliased.iter().find(|a| {
        let a = &a.anchor;
        if span.is_empty() {
            a.start <= span.start && span.start <= a.end
        } else {
            span.start < a.end && a.start < span.end
        }
    })
}

/// `text` with every edit applied. Edits must not overlap; insertions at
/// the same place keep their order.
pub fn apply(text: &str, edits: &[Edit]) -> Result<String, String> {
    let mut sorted: Vec<(usize, &Edit)> = edits.iter().enumerate().collect();
    sorted.sort_by_key(|(i, e)| (e.span.start, e.span.end, *i));
    for pair in sorted.windows(2) {
        let (a, b) = (&pair[0].1.span, &pair[1].1.span);
        let overlap = a.end > b.start || (a == b && !a.is_empty());
        if overlap {
            return Err(format!(
                "two edits overlap at bytes {a:?} and {b:?}; this is a wharf bug, please report it"
            ));
        }
    }
    let mut out = String::with_capacity(text.len() + 128);
    let mut at = 0;
    for (_, edit) in sorted {
        let span = &edit.span;
        let Some(kept) = text.get(at..span.start) else {
            return Err(format!(
                "an edit at bytes {span:?} falls outside the text; this is a wharf bug, please report it"
            ));
        };
        if text.get(span.clone()).is_none() {
            return Err(format!(
                "an edit at bytes {span:?} falls outside the text; this is a wharf bug, please report it"
            ));
        }
        out.push_str(kept);
        out.push_str(&edit.text);
        at = span.end;
    }
    out.push_str(text.get(at..).unwrap_or_default());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{parse_documents, Node};

    fn scalar_at(text: &str, key: &str) -> Scalar {
        let docs = parse_documents(text).unwrap();
        let root = docs[0].root.as_mapping().unwrap();
        match root.get(key).unwrap() {
            Node::Scalar(s) => s.clone(),
            _ => panic!("not a scalar"),
        }
    }

    fn set(text: &str, value: &str) -> String {
        let s = scalar_at(text, "k");
        match set_scalar(text, &s, value, Context::Block).unwrap() {
            Some(edit) => apply(text, &[edit]).unwrap(),
            None => text.to_string(),
        }
    }

    #[test]
    fn quote_styles_are_kept() {
        assert_eq!(set("k: a # c\n", "b"), "k: b # c\n");
        assert_eq!(set("k: 'a'\n", "b'c"), "k: 'b''c'\n");
        assert_eq!(set("k: \"a\"\n", "b\"c"), "k: \"b\\\"c\"\n");
        assert_eq!(set("k: \"a\\u0041\"\n", "b"), "k: \"b\"\n");
        assert_eq!(set("k:\n", "b"), "k: b\n");
        assert_eq!(set("k: ~\n", "b"), "k: b\n");
        assert_eq!(set("k: \"\"\n", "b"), "k: \"b\"\n");
        assert_eq!(set("k: a\r\n", "b"), "k: b\r\n");
    }

    #[test]
    fn plain_values_that_change_type_are_quoted() {
        for (value, want) in [
            ("1.10", "\"1.10\""),
            ("1", "\"1\""),
            ("1_000", "\"1_000\""),
            ("0x1F", "\"0x1F\""),
            ("on", "\"on\""),
            ("no", "\"no\""),
            ("null", "\"null\""),
            ("1e3", "\"1e3\""),
            ("@latest", "\"@latest\""),
            ("a: b", "\"a: b\""),
            ("1.2.3", "1.2.3"),
            ("v1.2", "v1.2"),
            ("1.25@sha256:ab", "1.25@sha256:ab"),
            ("sha256:ab", "sha256:ab"),
            ("20240101", "\"20240101\""),
            ("2024-01-01", "\"2024-01-01\""),
            ("1:30", "\"1:30\""),
            (".5", "\".5\""),
            ("1.", "\"1.\""),
            ("1.2.3-rc1", "1.2.3-rc1"),
            ("v1e3", "v1e3"),
            ("1.0-alpine", "1.0-alpine"),
        ] {
            assert_eq!(set("k: x\n", value), format!("k: {want}\n"), "{value}");
        }
    }

    #[test]
    fn unchanged_values_make_no_edit() {
        let text = "k: 'a'\n";
        let s = scalar_at(text, "k");
        assert_eq!(set_scalar(text, &s, "a", Context::Block).unwrap(), None);
        let text = "k: v2 # c\n";
        let s = scalar_at(text, "k");
        assert_eq!(set_scalar(text, &s, "v2", Context::Block).unwrap(), None);
    }

    /// Found by the property test: `newTag: 3` promoted to a tag `3` stayed
    /// the integer 3, because the characters already matched.
    #[test]
    fn a_plain_number_already_at_the_value_is_quoted_into_a_string() {
        assert_eq!(set("k: 3\n", "3"), "k: \"3\"\n");
        assert_eq!(set("k: 1.10 # c\n", "1.10"), "k: \"1.10\" # c\n");
        assert_eq!(set("k: 2024-01-01\n", "2024-01-01"), "k: \"2024-01-01\"\n");
        assert_eq!(set("k: '3'\n", "3"), "k: '3'\n");
        assert_eq!(set("k: \"1.10\"\n", "1.10"), "k: \"1.10\"\n");
    }

    #[test]
    fn block_and_multiline_scalars_are_refused() {
        for text in ["k: |\n  a\n", "k: >-\n  a\n", "k: \"a\n  b\"\n"] {
            let s = scalar_at(text, "k");
            let err = set_scalar(text, &s, "b", Context::Block).unwrap_err();
            assert!(
                err.contains("one-line") || err.contains("one line"),
                "{err}"
            );
        }
    }

    #[test]
    fn flow_context_quotes_flow_indicators() {
        assert!(!plain_is_string("a,b", Context::Flow));
        assert!(plain_is_string("a,b", Context::Block));
    }

    #[test]
    fn overlapping_edits_are_a_bug_not_a_corruption() {
        let edits = [
            Edit {
                span: 0..3,
                text: "x".into(),
            },
            Edit {
                span: 2..4,
                text: "y".into(),
            },
        ];
        assert!(apply("abcdef", &edits).is_err());
        let inserts = [
            Edit {
                span: 3..3,
                text: "1".into(),
            },
            Edit {
                span: 3..3,
                text: "2".into(),
            },
        ];
        assert_eq!(apply("abcdef", &inserts).unwrap(), "abc12def");
    }
}
