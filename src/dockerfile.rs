//! Dockerfiles as BuildKit reads them: the one parser behind `wharf pin`
//! (which edits image references byte-exactly) and `wharf lint` (which
//! checks what the build will do).
//!
//! It follows BuildKit's `parser.Parse`: parser directives (`# escape=`,
//! `# syntax=`, `# check=`) at the top, escape-character line continuations
//! with comment and blank lines inside them, heredocs (several per
//! instruction, `<<-`, quoted delimiters), builder flags, and the word rules
//! of each instruction. While joining continuation lines it remembers, for
//! every byte of the joined instruction, the file offset that byte came from,
//! so a word maps back to a byte-exact span of the original text (BOM, CRLF
//! and all).
//!
//! It never gives up on a file: what BuildKit would refuse (a repeated
//! directive, a bad escape character, a heredoc that never ends) is a
//! [`ParseError`] with its line, and the rest of the file is still read, so
//! the linter can report it and go on.

use std::ops::Range;

const BOM: &str = "\u{feff}";

/// A Dockerfile split into instructions.
#[derive(Debug)]
pub struct Dockerfile {
    pub instructions: Vec<Instruction>,
    /// The escape character in force (`\` unless `# escape=` says `` ` ``).
    pub escape: char,
    /// Comment lines outside heredocs and directives, in file order
    /// (comments inside a continuation included: BuildKit drops them).
    pub comments: Vec<Comment>,
    /// What BuildKit would refuse, in file order.
    pub errors: Vec<ParseError>,
}

/// A `# …` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// 1-based.
    pub line: usize,
    /// The text after `#`, trimmed.
    pub text: String,
}

/// Something BuildKit would refuse, at a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

/// Parses a Dockerfile's text.
pub fn parse(text: &str) -> Dockerfile {
    split_instructions(text)
}

// ---------------------------------------------------------------------------
// Lines and instructions, as BuildKit's parser splits them.

/// One line of the file, without its line break.
struct PhysicalLine<'a> {
    /// 1-based.
    number: usize,
    /// Offset of the line's first byte in the file.
    start: usize,
    /// The line without `\n` and any `\r` before it (BuildKit trims both).
    content: &'a str,
}

struct PhysicalLines<'a> {
    text: &'a str,
    pos: usize,
    number: usize,
}

impl<'a> Iterator for PhysicalLines<'a> {
    type Item = PhysicalLine<'a>;

    fn next(&mut self) -> Option<PhysicalLine<'a>> {
        let rest = self.text.get(self.pos..).filter(|rest| !rest.is_empty())?;
        let (raw, advance) = match rest.find('\n') {
            Some(newline) => (&rest[..newline], newline + 1),
            None => (rest, rest.len()),
        };
        let line = PhysicalLine {
            number: self.number,
            start: self.pos,
            content: raw.trim_end_matches('\r'),
        };
        self.pos += advance;
        self.number += 1;
        Some(line)
    }
}

/// One instruction with its continuation lines joined.
#[derive(Debug, Clone)]
pub struct Instruction {
    /// 1-based line where the instruction starts.
    pub line: usize,
    /// 1-based line where it ends: its last continuation line, or the
    /// terminator of its last heredoc.
    pub end_line: usize,
    /// The joined text, as BuildKit hands it to the instruction parsers.
    pub text: String,
    /// `origin[i]` is the file offset of `text`'s byte `i`; joining removes
    /// escape characters, line breaks and comment lines, so offsets jump.
    pub origin: Vec<usize>,
    /// Command word (lower-cased), builder flags and arguments.
    pub command: Command,
    /// The heredocs it opens, in order, with their bodies.
    pub heredocs: Vec<Heredoc>,
}

impl Instruction {
    fn push(&mut self, piece: &str, start: usize) {
        self.text.push_str(piece);
        self.origin.extend(start..start + piece.len());
    }

    /// The arguments after the command word and the builder flags.
    pub fn args(&self) -> &str {
        self.command.args(&self.text)
    }

    /// The value of the builder flag `--name=value`, as text.
    pub fn flag(&self, name: &str) -> Option<String> {
        self.command
            .flags
            .iter()
            .find_map(|f| f.value(name))
            .map(|(bytes, _)| String::from_utf8_lossy(bytes).into_owned())
    }

    /// Every value of a repeatable builder flag (`--mount`).
    pub fn flags(&self, name: &str) -> Vec<String> {
        self.command
            .flags
            .iter()
            .filter_map(|f| f.value(name))
            .map(|(bytes, _)| String::from_utf8_lossy(bytes).into_owned())
            .collect()
    }
}

/// The parser directives at the top of the file. Only `escape` changes how
/// the rest is read; the others are tracked because BuildKit rejects a
/// repeated directive and stops looking at the first line that is not one.
struct Directives {
    escape: char,
    done: bool,
    seen: Vec<String>,
}

impl Directives {
    /// Looks at a line (leading whitespace already trimmed) that starts an
    /// instruction or is skipped between instructions.
    /// Whether the line was a directive; BuildKit's objections go to
    /// `errors` (the directive is then ignored).
    fn observe(&mut self, token: &str, line: usize, errors: &mut Vec<ParseError>) -> bool {
        if self.done {
            return false;
        }
        let Some((key, value)) = parse_directive(token) else {
            self.done = true;
            return false;
        };
        let key = key.to_ascii_lowercase();
        if !matches!(key.as_str(), "syntax" | "escape" | "check") {
            self.done = true;
            return false;
        }
        if self.seen.contains(&key) {
            errors.push(ParseError {
                line,
                message: format!("the parser directive `{key}` is given twice: keep only one"),
            });
            return true;
        }
        if key == "escape" {
            match value {
                "\\" => self.escape = '\\',
                "`" => self.escape = '`',
                other => errors.push(ParseError {
                    line,
                    message: format!(
                        "the escape directive sets {other:?}, but the escape character must be \\ or `"
                    ),
                }),
            }
        }
        self.seen.push(key);
        true
    }
}

/// `# key = value`, as BuildKit's `^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`.
fn parse_directive(token: &str) -> Option<(&str, &str)> {
    let rest = token
        .strip_prefix('#')?
        .trim_start_matches(char::is_whitespace);
    let key_len = rest.bytes().take_while(u8::is_ascii_alphanumeric).count();
    if !rest.as_bytes().first()?.is_ascii_alphabetic() {
        return None;
    }
    let (key, rest) = rest.split_at(key_len);
    let raw = rest.trim_start_matches(is_regex_space).strip_prefix('=')?;
    if raw.is_empty() {
        return None;
    }
    let value = raw.trim_matches(is_regex_space);
    // The regex needs one character of value; when there is only whitespace
    // it takes that, which BuildKit then rejects as an escape token.
    Some((key, if value.is_empty() { raw } else { value }))
}

/// RE2's `\s`.
fn is_regex_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0c' | '\r')
}

/// BuildKit's `[\t\v\f\r ]`, which splits the command word and `FROM`'s words.
pub fn is_word_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\x0b' | '\x0c' | '\r')
}

/// Removes a trailing line-continuation escape (with any spaces or tabs after
/// it). An escape that is itself escaped (`\\`) is not a continuation, as in
/// BuildKit's `([^\\])\\[ \t]*$|^\\[ \t]*$`.
fn strip_continuation(line: &str, escape: char) -> (&str, bool) {
    match line.trim_end_matches([' ', '\t']).strip_suffix(escape) {
        Some(before) if !before.ends_with(escape) => (before, true),
        _ => (line, false),
    }
}

/// Splits the file into instructions the way BuildKit's `parser.Parse` does,
/// reading heredoc bodies apart.
fn split_instructions(text: &str) -> Dockerfile {
    let start = if text.starts_with(BOM) { BOM.len() } else { 0 };
    let mut lines = PhysicalLines {
        text,
        pos: start,
        number: 1,
    };
    let mut directives = Directives {
        escape: '\\',
        done: false,
        seen: Vec::new(),
    };
    let mut instructions = Vec::new();
    let mut comments = Vec::new();
    let mut errors = Vec::new();

    while let Some(first) = lines.next() {
        let content = first.content.trim_start_matches(char::is_whitespace);
        let offset = first.start + (first.content.len() - content.len());
        if directives.observe(content, first.number, &mut errors) {
            continue;
        }
        if let Some(comment) = comment(content) {
            comments.push(Comment {
                line: first.number,
                text: comment.to_string(),
            });
            continue;
        }
        let (piece, mut continued) = strip_continuation(content, directives.escape);
        if piece.is_empty() && !continued {
            continue;
        }
        let mut instruction = Instruction {
            line: first.number,
            end_line: first.number,
            text: String::new(),
            origin: Vec::new(),
            command: Command::default(),
            heredocs: Vec::new(),
        };
        instruction.push(piece, offset);
        while continued {
            let Some(next) = lines.next() else { break };
            instruction.end_line = next.number;
            // Inside a continuation, comment lines vanish and blank lines
            // are skipped (BuildKit warns but accepts them); continuation
            // lines keep their leading whitespace.
            if let Some(comment) = comment(next.content) {
                comments.push(Comment {
                    line: next.number,
                    text: comment.to_string(),
                });
                continue;
            }
            if next
                .content
                .trim_start_matches(char::is_whitespace)
                .is_empty()
            {
                continue;
            }
            let (piece, more) = strip_continuation(next.content, directives.escape);
            instruction.push(piece, next.start);
            continued = more;
        }

        instruction.command = split_command(&instruction.text, directives.escape);
        let mut heredocs = heredocs(&instruction.text, &instruction.command, directives.escape);
        for heredoc in &mut heredocs {
            heredoc.line = instruction.end_line + 1;
            match read_heredoc_body(&mut lines, heredoc) {
                Some(end) => instruction.end_line = end,
                None => {
                    let dash = if heredoc.chomp { "-" } else { "" };
                    errors.push(ParseError {
                        line: instruction.line,
                        message: format!(
                            "the heredoc <<{dash}{name} that starts here never ends: add a line that is exactly {name} after its content",
                            name = heredoc.name
                        ),
                    });
                    instruction.end_line = lines.number.saturating_sub(1).max(instruction.line);
                }
            }
        }
        instruction.heredocs = heredocs;
        instructions.push(instruction);
    }
    Dockerfile {
        instructions,
        escape: directives.escape,
        comments,
        errors,
    }
}

/// The text of a comment line (after `#`, trimmed), or `None`.
fn comment(line: &str) -> Option<&str> {
    line.trim_start_matches(char::is_whitespace)
        .strip_prefix('#')
        .map(str::trim)
}

// ---------------------------------------------------------------------------
// Heredocs.

/// A heredoc an instruction opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    /// The delimiter, quotes removed.
    pub name: String,
    /// `<<-`: leading tabs are stripped from the body and terminator lines.
    pub chomp: bool,
    /// The delimiter was quoted (`<<'EOF'`, `<<"EOF"`): the body is not
    /// expanded.
    pub quoted: bool,
    /// 1-based line of the body's first line.
    pub line: usize,
    /// The body, one `\n` after each line, without the terminator.
    pub body: String,
}

/// The heredocs an instruction opens, in order. Only `RUN`, `COPY` and `ADD`
/// (also under `ONBUILD`) in shell form can open one.
fn heredocs(line: &str, command: &Command, escape: char) -> Vec<Heredoc> {
    let capable = match command.name.as_str() {
        "run" | "copy" | "add" => !is_json_array(command.args(line)),
        "onbuild" => {
            let inner_line = command.args(line);
            let inner = split_command(inner_line, escape);
            matches!(inner.name.as_str(), "run" | "copy" | "add")
                && !is_json_array(inner.args(inner_line))
        }
        _ => false,
    };
    if !capable || !line.contains("<<") {
        return Vec::new();
    }
    shell_words(line, true)
        .unwrap_or_default()
        .iter()
        .filter_map(|word| parse_heredoc(word))
        .collect()
}

/// BuildKit's exec form: a JSON array of strings. Such instructions run no
/// shell, so `<<` in them opens nothing.
pub fn is_json_array(args: &str) -> bool {
    let args = args.trim_start_matches(char::is_whitespace);
    args.starts_with('[')
        && serde_json::from_str::<Vec<serde_json::Value>>(args)
            .is_ok_and(|items| items.iter().all(|v| v.is_string()))
}

/// A word matching BuildKit's `^(\d*)<<(-?)\s*([^<]*)$` whose name part is
/// one shell word once quotes are removed.
fn parse_heredoc(word: &str) -> Option<Heredoc> {
    let rest = word
        .trim_start_matches(|c: char| c.is_ascii_digit())
        .strip_prefix("<<")?;
    let (chomp, rest) = match rest.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, rest),
    };
    let rest = rest.trim_start_matches(is_regex_space);
    if rest.is_empty() || rest.contains('<') {
        return None;
    }
    let mut names = shell_words(rest, false)?;
    let name = names.pop()?;
    names.is_empty().then_some(Heredoc {
        name,
        chomp,
        quoted: rest.contains(['\'', '"']),
        line: 0,
        body: String::new(),
    })
}

/// Reads the body and terminator of one heredoc into it; the terminator's
/// line, or `None` if the file ends first (the body then runs to the end).
fn read_heredoc_body(lines: &mut PhysicalLines<'_>, heredoc: &mut Heredoc) -> Option<usize> {
    for line in lines.by_ref() {
        let content = if heredoc.chomp {
            line.content.trim_start_matches('\t')
        } else {
            line.content
        };
        if content == heredoc.name {
            return Some(line.number);
        }
        heredoc.body.push_str(content);
        heredoc.body.push('\n');
    }
    None
}

/// Shell-style words, as BuildKit's lexer (escape `\`) splits them to find
/// heredocs. `raw` keeps quotes and escapes in the words. `None` when a quote
/// is never closed, in which case BuildKit finds no heredoc at all.
pub fn shell_words(text: &str, raw: bool) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                if raw {
                    word.push(c);
                }
                loop {
                    match chars.next()? {
                        '\'' => break,
                        inner => word.push(inner),
                    }
                }
                if raw {
                    word.push(c);
                }
            }
            '"' => {
                if raw {
                    word.push(c);
                }
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => {
                            if raw {
                                word.push('\\');
                            }
                            match chars.peek() {
                                Some(&next @ ('"' | '$' | '\\')) => {
                                    chars.next();
                                    word.push(next);
                                }
                                Some(_) if !raw => word.push('\\'),
                                _ => {}
                            }
                        }
                        inner => word.push(inner),
                    }
                }
                if raw {
                    word.push(c);
                }
            }
            '\\' => {
                let Some(next) = chars.next() else { break };
                if raw {
                    word.push(c);
                }
                word.push(next);
            }
            // The lexer keeps `<< ` together so that `<< EOF` is one word.
            '<' if chars.peek() == Some(&'<') => {
                chars.next();
                word.push_str("<<");
                while let Some(&space @ (' ' | '\t' | '\r')) = chars.peek() {
                    chars.next();
                    word.push(space);
                }
            }
            c if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    Some(words)
}

// ---------------------------------------------------------------------------
// Commands, flags and words inside one instruction.

/// An instruction split into command word, builder flags and the rest.
#[derive(Debug, Clone, Default)]
pub struct Command {
    /// Lower-cased: instructions are case-insensitive.
    pub name: String,
    pub flags: Vec<Flag>,
    /// Byte range of the arguments (after the flags, trimmed) in the line.
    pub args: Range<usize>,
}

impl Command {
    pub fn args<'a>(&self, line: &'a str) -> &'a str {
        line.get(self.args.clone()).unwrap_or("")
    }
}

/// A builder flag (`--from=…`) after BuildKit's quote and escape removal.
#[derive(Debug, Clone, Default)]
pub struct Flag {
    pub bytes: Vec<u8>,
    /// `at[i]` is the offset in the line of `bytes[i]`.
    pub at: Vec<usize>,
}

impl Flag {
    fn push(&mut self, byte: u8, at: usize) {
        self.bytes.push(byte);
        self.at.push(at);
    }

    /// The value of `--name=value`, with each byte's offset in the line.
    pub fn value(&self, name: &str) -> Option<(&[u8], &[usize])> {
        let rest = self
            .bytes
            .strip_prefix(b"--")?
            .strip_prefix(name.as_bytes())?;
        rest.strip_prefix(b"=")?;
        let start = self.bytes.len() - rest.len() + 1;
        Some((&self.bytes[start..], &self.at[start..]))
    }
}

/// BuildKit's `splitCommand`: the command word ends at the first
/// `[\t\v\f\r ]`, then builder flags, then the arguments.
pub fn split_command(line: &str, escape: char) -> Command {
    let lead = line.len() - line.trim_start_matches(char::is_whitespace).len();
    let trimmed = line[lead..].trim_end_matches(char::is_whitespace);
    let name_end = trimmed.find(is_word_space).unwrap_or(trimmed.len());
    let after_name = &trimmed[name_end..];
    let rest_start =
        lead + name_end + (after_name.len() - after_name.trim_start_matches(is_word_space).len());
    let rest = &line[rest_start..lead + trimmed.len()];
    let (flags, args_start) = extract_flags(rest, rest_start, escape);
    let args = rest.get(args_start..).unwrap_or("");
    let args_lead = args.len() - args.trim_start_matches(char::is_whitespace).len();
    let args_len = args.trim_matches(char::is_whitespace).len();
    let start = rest_start + args_start + args_lead;
    Command {
        name: trimmed[..name_end].to_ascii_lowercase(),
        flags,
        args: start..start + args_len,
    }
}

/// BuildKit's `extractBuilderFlags`: leading `--words`, with quotes removed
/// and escapes applied. Returns the flags and where the arguments start in
/// `text`. It works byte by byte, as BuildKit does; every byte it stops at
/// is ASCII, so the returned offset is a char boundary.
pub fn extract_flags(text: &str, base: usize, escape: char) -> (Vec<Flag>, usize) {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote(u8),
    }
    let bytes = text.as_bytes();
    // The escape character is `\` or `` ` ``, both ASCII.
    let escape = u8::try_from(escape).unwrap_or(b'\\');
    let is_space = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    let mut flags = Vec::new();
    let mut word = Flag::default();
    let mut blank_ok = false;
    let mut phase = Phase::Spaces;
    let mut pos = 0;
    while pos < bytes.len() {
        let byte = bytes[pos];
        if phase == Phase::Spaces {
            if is_space(byte) {
                pos += 1;
                continue;
            }
            if byte != b'-' || bytes.get(pos + 1) != Some(&b'-') {
                return (flags, pos);
            }
            phase = Phase::Word;
        }
        match phase {
            Phase::Word if is_space(byte) => {
                // A lone `--` ends the flags.
                if word.bytes == b"--" {
                    return (flags, pos);
                }
                if blank_ok || !word.bytes.is_empty() {
                    flags.push(std::mem::take(&mut word));
                }
                blank_ok = false;
                phase = Phase::Spaces;
            }
            Phase::Word if byte == b'\'' || byte == b'"' => {
                phase = Phase::Quote(byte);
                blank_ok = true;
            }
            Phase::Quote(quote) if byte == quote => phase = Phase::Word,
            _ if byte == escape => {
                if pos + 1 == bytes.len() {
                    // BuildKit drops a trailing escape (and so closes the quote).
                    phase = Phase::Word;
                } else {
                    pos += 1;
                    word.push(bytes[pos], base + pos);
                }
            }
            _ => word.push(byte, base + pos),
        }
        pos += 1;
    }
    if phase != Phase::Spaces && word.bytes != b"--" && (blank_ok || !word.bytes.is_empty()) {
        flags.push(word);
    }
    (flags, bytes.len())
}

/// Byte ranges of `FROM`'s words: BuildKit splits them on `[\t\v\f\r ]+`
/// with no quote handling.
pub fn plain_words(text: &str) -> Vec<Range<usize>> {
    let mut words = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (is_word_space(c), start) {
            (true, Some(s)) => {
                words.push(s..i);
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        words.push(s..text.len());
    }
    words
}

/// Byte ranges of `ARG`'s words, as BuildKit's `parseWords` finds them:
/// whitespace outside quotes separates them, quotes and escapes stay in.
pub fn arg_words(text: &str, escape: char) -> Vec<Range<usize>> {
    let mut words = Vec::new();
    let mut start: Option<usize> = None;
    let mut end = 0;
    let mut quote: Option<char> = None;
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match quote {
            None if c.is_whitespace() => {
                if let Some(s) = start.take() {
                    words.push(s..end);
                }
                continue;
            }
            None => {
                start.get_or_insert(i);
                if c == '\'' || c == '"' {
                    quote = Some(c);
                }
            }
            Some(q) if c == q => quote = None,
            Some(_) => {}
        }
        if c == escape && quote != Some('\'') {
            match chars.next() {
                Some((j, escaped)) => end = j + escaped.len_utf8(),
                // A trailing escape is dropped.
                None => quote = None,
            }
            continue;
        }
        end = i + c.len_utf8();
    }
    if let Some(s) = start {
        words.push(s..end);
    }
    words
}

/// `key=value` fields of a `--mount` value (CSV, `""` escapes a quote in a
/// quoted field), each byte with its offset in the line.
pub fn csv_fields(bytes: &[u8], at: &[usize]) -> Vec<Flag> {
    let mut fields = Vec::new();
    let mut field = Flag::default();
    let mut i = 0;
    let mut quoted = false;
    let mut field_start = true;
    while i < bytes.len() {
        let byte = bytes[i];
        let offset = at.get(i).copied().unwrap_or_default();
        if quoted {
            if byte == b'"' {
                if bytes.get(i + 1) == Some(&b'"') {
                    field.push(b'"', at.get(i + 1).copied().unwrap_or_default());
                    i += 1;
                } else {
                    quoted = false;
                }
            } else {
                field.push(byte, offset);
            }
        } else if byte == b',' {
            fields.push(std::mem::take(&mut field));
            field_start = true;
            i += 1;
            continue;
        } else if byte == b'"' && field_start {
            quoted = true;
        } else {
            field.push(byte, offset);
        }
        field_start = false;
        i += 1;
    }
    fields.push(field);
    fields
}

/// The stage name a `FROM` declares (`FROM image AS name`), lower-cased as
/// BuildKit stores it.
pub fn stage_name(args: &str) -> Option<String> {
    let words = plain_words(args);
    match words.as_slice() {
        [_, as_, name] if args[as_.clone()].eq_ignore_ascii_case("as") => {
            Some(args[name.clone()].to_lowercase())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(line, end_line, command, joined text)` of each instruction.
    fn shape(text: &str) -> Vec<(usize, usize, String, String)> {
        parse(text)
            .instructions
            .iter()
            .map(|i| (i.line, i.end_line, i.command.name.clone(), i.text.clone()))
            .collect()
    }

    fn one(line: usize, end: usize, name: &str, text: &str) -> (usize, usize, String, String) {
        (line, end, name.to_string(), text.to_string())
    }

    #[test]
    fn shell_words_follow_the_buildkit_lexer() {
        assert_eq!(
            shell_words("a 'b c' \"d\\\"e\" f\\ g", false).unwrap(),
            vec!["a", "b c", "d\"e", "f g"]
        );
        assert_eq!(
            shell_words("cat << EOF", true).unwrap(),
            vec!["cat", "<< EOF"]
        );
        assert_eq!(shell_words("<<\"EOF\"", true).unwrap(), vec!["<<\"EOF\""]);
        assert_eq!(shell_words("echo 'unterminated", true), None);
        assert_eq!(
            parse_heredoc("<<-'EOT'").map(|h| (h.name, h.chomp)),
            Some(("EOT".to_string(), true))
        );
        assert!(parse_heredoc("<<").is_none());
        assert!(parse_heredoc("<<\"\"").is_none());
        assert!(parse_heredoc("x<<EOF").is_none());
    }

    #[test]
    fn flag_extraction_follows_buildkit() {
        let line = "--a=1 --b=\"x y\" --c='q'\\z -- rest";
        let (flags, start) = extract_flags(line, 0, '\\');
        let texts: Vec<String> = flags
            .iter()
            .map(|f| String::from_utf8_lossy(&f.bytes).into_owned())
            .collect();
        assert_eq!(texts, vec!["--a=1", "--b=x y", "--c=qz"]);
        assert_eq!(line[start..].trim(), "rest");
        let (bytes, at) = flags[1].value("b").unwrap();
        assert_eq!(bytes, b"x y");
        assert_eq!(&line[at[0]..=at[2]], "x y");
    }

    #[test]
    fn several_heredocs_in_one_instruction_keep_their_bodies() {
        let text = "FROM alpine\nRUN <<EOF cat > /a <<-'END' && sh\n# a comment right after the start is body\necho one\nEOF\n\tsecond\n\tEND\nUSER 1000\n";
        let parsed = parse(text);
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        assert_eq!(
            shape(text),
            vec![
                one(1, 1, "from", "FROM alpine"),
                one(2, 7, "run", "RUN <<EOF cat > /a <<-'END' && sh"),
                one(8, 8, "user", "USER 1000"),
            ]
        );
        let docs = &parsed.instructions[1].heredocs;
        assert_eq!(docs.len(), 2);
        assert_eq!(
            (
                docs[0].name.as_str(),
                docs[0].chomp,
                docs[0].quoted,
                docs[0].line
            ),
            ("EOF", false, false, 3)
        );
        assert_eq!(
            docs[0].body,
            "# a comment right after the start is body\necho one\n"
        );
        assert_eq!(
            (
                docs[1].name.as_str(),
                docs[1].chomp,
                docs[1].quoted,
                docs[1].line
            ),
            ("END", true, true, 6)
        );
        assert_eq!(docs[1].body, "second\n");
        // The comment in the body is not a Dockerfile comment.
        assert!(parsed.comments.is_empty(), "{:?}", parsed.comments);
    }

    #[test]
    fn quoted_delimiters_and_heredoc_like_text_that_opens_nothing() {
        let text = "RUN <<\"EOT\" bash\nFROM evil\nEOT\nRUN [\"sh\", \"-c\", \"cat <<EOF\"]\nENV X=<<EOF\nCOPY <<a.txt /a.txt\nhi\na.txt\n";
        let parsed = parse(text);
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        let names: Vec<&str> = parsed
            .instructions
            .iter()
            .map(|i| i.command.name.as_str())
            .collect();
        assert_eq!(names, vec!["run", "run", "env", "copy"]);
        assert!(parsed.instructions[0].heredocs[0].quoted);
        assert_eq!(parsed.instructions[0].heredocs[0].body, "FROM evil\n");
        assert!(parsed.instructions[1].heredocs.is_empty());
        assert_eq!(parsed.instructions[3].heredocs[0].name, "a.txt");
    }

    #[test]
    fn continuations_skip_comment_and_blank_lines_and_report_them() {
        let text = "RUN apt-get update \\\n  # wharf-ignore x -- why\n\n  && apt-get install -y curl \\\n  && true\nCMD run\n";
        let parsed = parse(text);
        assert_eq!(
            shape(text),
            vec![
                one(
                    1,
                    5,
                    "run",
                    "RUN apt-get update   && apt-get install -y curl   && true"
                ),
                one(6, 6, "cmd", "CMD run"),
            ]
        );
        assert_eq!(
            parsed.comments,
            vec![Comment {
                line: 2,
                text: "wharf-ignore x -- why".into()
            }]
        );
    }

    #[test]
    fn escape_directive_backtick() {
        let text = "# escape=`\nFROM mcr.microsoft.com/windows/servercore\nRUN dir c:\\ `\n  && echo done\nCOPY a\\ b\n";
        let parsed = parse(text);
        assert_eq!(parsed.escape, '`');
        assert!(parsed.comments.is_empty(), "the directive is no comment");
        assert_eq!(
            shape(text)[1],
            one(3, 4, "run", "RUN dir c:\\   && echo done")
        );
        // Directives only count at the top: later, it is a comment.
        let late = parse("FROM a\n# escape=`\nRUN x `\n");
        assert_eq!(late.escape, '\\');
        assert_eq!(late.comments.len(), 1);
        assert_eq!(late.instructions.len(), 2);
    }

    #[test]
    fn json_and_shell_forms() {
        assert!(is_json_array(r#"["/bin/app", "--flag"]"#));
        assert!(is_json_array(r#"  []"#));
        assert!(!is_json_array(r#"["/bin/app", 1]"#));
        assert!(!is_json_array(r#"[/bin/app]"#));
        assert!(!is_json_array("/bin/app --flag"));
        let parsed = parse("CMD [\"a\", \"b\"]\nENTRYPOINT exec app\n");
        assert!(is_json_array(parsed.instructions[0].args()));
        assert!(!is_json_array(parsed.instructions[1].args()));
    }

    #[test]
    fn flags_are_read_with_quotes_and_escapes_removed() {
        let parsed = parse(
            "ADD --checksum=sha256:abc --chmod=644 https://x/y /y\nRUN --mount=type=cache,target=/var/cache/apt --mount=type=secret,id=t make\n",
        );
        let add = &parsed.instructions[0];
        assert_eq!(add.flag("checksum").as_deref(), Some("sha256:abc"));
        assert_eq!(add.flag("from"), None);
        assert_eq!(add.args(), "https://x/y /y");
        assert_eq!(parsed.instructions[1].flags("mount").len(), 2);
        assert_eq!(parsed.instructions[1].args(), "make");
    }

    #[test]
    fn problems_are_errors_with_lines_and_parsing_goes_on() {
        let text = "# escape=x\n# escape=`\nFROM a\nRUN <<EOF\necho never ends\n";
        let parsed = parse(text);
        let lines: Vec<usize> = parsed.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![1, 2, 4], "{:?}", parsed.errors);
        assert!(parsed.errors[0].message.contains("must be \\ or `"));
        assert!(parsed.errors[1].message.contains("given twice"));
        assert!(parsed.errors[2].message.contains("never ends"));
        assert_eq!(parsed.instructions.len(), 2);
        assert_eq!(parsed.instructions[1].end_line, 5);
        assert_eq!(parsed.instructions[1].heredocs[0].body, "echo never ends\n");
    }

    #[test]
    fn stage_names() {
        assert_eq!(stage_name("golang:1.22 AS Build"), Some("build".into()));
        assert_eq!(stage_name("golang:1.22"), None);
        assert_eq!(stage_name("a b c"), None);
    }
}
