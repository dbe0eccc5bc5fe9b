//! Declared licenses as the SBOM formats accept them. Catalogers record
//! licenses as written (`MIT`, `GPL-2.0-or-later WITH Classpath-exception-2.0`,
//! `GPL-2+`, `BSD-style`); the writers may only call something an SPDX
//! identifier or expression when it is one, or the strict validators
//! (CycloneDX's schema enum, `pyspdxtools`) reject the whole document.

use super::license_ids::{EXCEPTIONS, LICENSES};

/// What one declared license string is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum License {
    /// A single SPDX license identifier, in its canonical case.
    Id(String),
    /// A compound SPDX expression (AND/OR/WITH) of known identifiers,
    /// canonicalised (identifiers' case, upper-case operators).
    Expression(String),
    /// Anything else, as written (trimmed).
    Name(String),
}

/// Nesting deeper than this is not a license someone wrote.
const MAX_DEPTH: usize = 32;

/// Classifies one declared license string.
pub fn classify(text: &str) -> License {
    let text = text.trim();
    match parse(text) {
        Some(tokens) if tokens.len() == 1 => License::Id(tokens[0].clone()),
        Some(tokens) => License::Expression(render(&tokens)),
        None => License::Name(text.to_string()),
    }
}

/// All of a package's declared licenses as one SPDX expression (ANDed when
/// there are several), or `None` when any of them is not valid SPDX.
pub fn combined_expression(licenses: &[String]) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    for text in licenses.iter().filter(|l| !l.trim().is_empty()) {
        let part = match classify(text) {
            License::Id(id) => id,
            License::Expression(e) => e,
            License::Name(_) => return None,
        };
        if !parts.contains(&part) {
            parts.push(part);
        }
    }
    match parts.len() {
        0 => None,
        1 => parts.pop(),
        _ => Some(
            parts
                .iter()
                .map(|p| {
                    if p.contains(' ') {
                        format!("({p})")
                    } else {
                        p.clone()
                    }
                })
                .collect::<Vec<_>>()
                .join(" AND "),
        ),
    }
}

fn lookup(table: &'static [&'static str], word: &str) -> Option<&'static str> {
    let lower = word.to_ascii_lowercase();
    table
        .binary_search_by(|probe| probe.to_ascii_lowercase().cmp(&lower))
        .ok()
        .map(|i| table[i])
}

fn tokenize(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if c == '(' || c == ')' || c.is_whitespace() {
            if !word.is_empty() {
                tokens.push(std::mem::take(&mut word));
            }
            if !c.is_whitespace() {
                tokens.push(c.to_string());
            }
        } else {
            word.push(c);
        }
    }
    if !word.is_empty() {
        tokens.push(word);
    }
    tokens
}

/// Validates `text` as an SPDX license expression and returns its tokens,
/// canonicalised; `None` when it is not one.
fn parse(text: &str) -> Option<Vec<String>> {
    let tokens = tokenize(text);
    let mut parser = Parser {
        tokens: &tokens,
        at: 0,
        out: Vec::new(),
    };
    parser.or_expr(0)?;
    (parser.at == tokens.len() && !parser.out.is_empty()).then_some(parser.out)
}

struct Parser<'a> {
    tokens: &'a [String],
    at: usize,
    out: Vec<String>,
}

impl Parser<'_> {
    fn peek_operator(&self, op: &str) -> bool {
        self.tokens
            .get(self.at)
            .is_some_and(|t| t.eq_ignore_ascii_case(op))
    }

    fn or_expr(&mut self, depth: usize) -> Option<()> {
        self.and_expr(depth)?;
        while self.peek_operator("OR") {
            self.at += 1;
            self.out.push("OR".to_string());
            self.and_expr(depth)?;
        }
        Some(())
    }

    fn and_expr(&mut self, depth: usize) -> Option<()> {
        self.with_expr(depth)?;
        while self.peek_operator("AND") {
            self.at += 1;
            self.out.push("AND".to_string());
            self.with_expr(depth)?;
        }
        Some(())
    }

    fn with_expr(&mut self, depth: usize) -> Option<()> {
        let simple = self.primary(depth)?;
        if self.peek_operator("WITH") {
            if !simple {
                return None;
            }
            self.at += 1;
            let exception = lookup(EXCEPTIONS, self.tokens.get(self.at)?)?;
            self.at += 1;
            self.out.push("WITH".to_string());
            self.out.push(exception.to_string());
        }
        Some(())
    }

    /// A parenthesised expression or a license id; true for an id (only an
    /// id may take `WITH`).
    fn primary(&mut self, depth: usize) -> Option<bool> {
        let token = self.tokens.get(self.at)?;
        if token == "(" {
            if depth >= MAX_DEPTH {
                return None;
            }
            self.at += 1;
            self.out.push("(".to_string());
            self.or_expr(depth + 1)?;
            if self.tokens.get(self.at).map(String::as_str) != Some(")") {
                return None;
            }
            self.at += 1;
            self.out.push(")".to_string());
            return Some(false);
        }
        let id = lookup(LICENSES, token)?;
        self.at += 1;
        self.out.push(id.to_string());
        Some(true)
    }
}

fn render(tokens: &[String]) -> String {
    let mut out = String::new();
    for (i, token) in tokens.iter().enumerate() {
        let glued = i == 0 || token == ")" || tokens[i - 1] == "(";
        if !glued {
            out.push(' ');
        }
        out.push_str(token);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_for_binary_search() {
        for table in [LICENSES, EXCEPTIONS] {
            assert!(table
                .windows(2)
                .all(|w| w[0].to_ascii_lowercase() < w[1].to_ascii_lowercase()));
        }
    }

    #[test]
    fn classifies_ids_expressions_and_the_rest() {
        assert_eq!(classify("MIT"), License::Id("MIT".into()));
        assert_eq!(classify(" apache-2.0 "), License::Id("Apache-2.0".into()));
        assert_eq!(
            classify("gpl-2.0-or-later with classpath-exception-2.0 or mit"),
            License::Expression("GPL-2.0-or-later WITH Classpath-exception-2.0 OR MIT".into())
        );
        assert_eq!(
            classify("(MIT OR Apache-2.0) AND BSD-3-Clause"),
            License::Expression("(MIT OR Apache-2.0) AND BSD-3-Clause".into())
        );
        for garbage in [
            "GPL-2+",
            "BSD-style",
            "MIT AND",
            "(MIT",
            "MIT)",
            "MIT WITH MIT",
            "(MIT OR BSD-3-Clause) WITH Classpath-exception-2.0",
            "LicenseRef-foo",
            "",
            "Public Domain",
        ] {
            assert_eq!(
                classify(garbage),
                License::Name(garbage.trim().into()),
                "{garbage}"
            );
        }
        let deep = format!("{}MIT{}", "(".repeat(1000), ")".repeat(1000));
        assert!(matches!(classify(&deep), License::Name(_)));
    }

    #[test]
    fn combines_several_with_and() {
        let l = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(combined_expression(&l(&["MIT"])), Some("MIT".into()));
        assert_eq!(
            combined_expression(&l(&["MIT", "BSD-3-Clause", "mit"])),
            Some("MIT AND BSD-3-Clause".into())
        );
        assert_eq!(
            combined_expression(&l(&["MIT", "Apache-2.0 OR MIT"])),
            Some("MIT AND (Apache-2.0 OR MIT)".into())
        );
        assert_eq!(combined_expression(&l(&["MIT", "GPL-2+"])), None);
        assert_eq!(combined_expression(&[]), None);
    }
}
