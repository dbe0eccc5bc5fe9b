//! Line numbers of byte offsets, for messages and findings.

/// 1-based line of byte `offset` in `text`. Lines end at `\n` (so CRLF
/// counts once). Linear: for many look-ups in one text use [`LineIndex`].
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The offsets of every `\n` in a text, so a line number costs a binary
/// search rather than a scan from the top (generated manifests and
/// Dockerfiles can hold thousands of references).
#[derive(Debug, Clone)]
pub struct LineIndex {
    newlines: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        LineIndex {
            newlines: text.match_indices('\n').map(|(i, _)| i).collect(),
        }
    }

    /// 1-based line of byte `offset`, as [`line_of`] counts it.
    pub fn line_of(&self, offset: usize) -> usize {
        self.newlines.partition_point(|&n| n < offset) + 1
    }
}

/// Escapes what GitHub-flavoured Markdown would read as syntax: ASCII
/// punctuation with a meaning gets a backslash (CommonMark allows one before
/// any ASCII punctuation, and `\|` holds inside table cells too); `<`, `>`
/// and `&` become entities so no HTML gets through; line breaks and other
/// control characters become spaces so a value stays on its table row or
/// list item.
pub fn markdown_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '(' | ')' | '#' | '!' | '|' | '~'
            | '@' | ':' | '$' | '^' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// `text` as a Markdown code span, so it reads (and copies) as it is: a
/// digest or image reference keeps its `:` and `@` unescaped. The fence is
/// one backtick longer than the longest run inside, padded with a space
/// where the text starts or ends with a backtick; line breaks and other
/// control characters become spaces (a span is one line).
pub fn markdown_code(text: &str) -> String {
    let text: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_keep_the_text_and_survive_backticks() {
        assert_eq!(
            markdown_code("ghcr.io/acme/app@sha256:ab"),
            "`ghcr.io/acme/app@sha256:ab`"
        );
        assert_eq!(markdown_code("a`b"), "``a`b``");
        assert_eq!(markdown_code("`x"), "`` `x ``");
        assert_eq!(markdown_code("a\nb"), "`a b`");
    }

    #[test]
    fn index_agrees_with_the_scan() {
        let text = "a\r\nbb\n\nccc\nd";
        let index = LineIndex::new(text);
        for offset in 0..=text.len() + 2 {
            assert_eq!(index.line_of(offset), line_of(text, offset), "{offset}");
        }
        assert_eq!(line_of(text, 0), 1);
        assert_eq!(line_of(text, 3), 2);
        assert_eq!(line_of(text, text.len()), 5);
    }
}
