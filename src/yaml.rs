//! A small YAML node tree that remembers where every node stands in the
//! source text, as byte ranges.
//!
//! `wharf pin` and `wharf promote` rewrite image references inside YAML
//! files and must change no byte outside the value they edit (comments,
//! quoting, blank lines, CRLF and a BOM all stay). A typed deserialiser
//! forgets the source; this tree keeps, for each node, the exact bytes it
//! came from, so an edit is a splice of the original text.
//!
//! Facts about the parser ([`granit_parser`]) this relies on, checked by
//! the tests below:
//! - spans are UTF-8 byte offsets into the text as given, BOM included (a
//!   leading BOM is skipped, so the first node starts at byte 3);
//! - a quoted scalar's span covers its quotes;
//! - a block scalar's span covers its content lines (not the `|`/`>`
//!   header) and their final line break;
//! - an empty value (`key:`) is reported as an empty span at the `:`; this
//!   tree moves it just after the `:`, where a value would be written.
//!
//! Aliases are resolved to a copy of the anchored node *with the anchor's
//! spans*, so an edit made through an alias lands on the anchor definition.

use std::collections::HashMap;
use std::ops::Range;

use crate::text::line_of;
use granit_parser::{Event, Parser, ScalarStyle, Span, StructureStyle};

/// How deep collections may nest. Hostile input deeper than this is an
/// error, never a stack overflow (the tree is walked recursively).
pub const MAX_DEPTH: usize = 512;

/// How many nodes anchors and aliases may copy in one stream. Each alias is
/// a copy of its anchor, so a few lines can expand exponentially (the
/// "billion laughs"); past this budget parsing fails instead.
pub const MAX_ALIAS_NODES: usize = 250_000;

/// Why a text could not be read as YAML.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct YamlError {
    /// 1-based line of the problem.
    pub line: usize,
    pub message: String,
}

/// How a scalar is written in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    /// `|` block scalar.
    Literal,
    /// `>` block scalar.
    Folded,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scalar {
    /// The value after YAML's unescaping and folding. An empty value
    /// (`key:` with nothing after it) is `""`.
    pub value: String,
    pub style: Style,
    /// Byte range of the scalar's source text, quotes included. Excludes
    /// any anchor or tag in front of it.
    pub span: Range<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sequence {
    pub items: Vec<Node>,
    /// `[`..`]` for a flow sequence; first `-` to the end of the last item
    /// for a block sequence.
    pub span: Range<usize>,
    pub flow: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// Keys and values in source order.
    pub entries: Vec<(Node, Node)>,
    /// `{`..`}` for a flow mapping; first key to the end of the last value
    /// for a block mapping.
    pub span: Range<usize>,
    pub flow: bool,
    /// The column of a block mapping's keys, as the parser measured it
    /// (the place a new key must start); `None` for flow mappings.
    pub indent: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Scalar(Scalar),
    Sequence(Sequence),
    Mapping(Mapping),
}

/// One document of a stream (`---` separates them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// An empty document has an empty plain scalar as its root.
    pub root: Node,
    /// Byte range from the document's start (its `---`, if any) to its end.
    pub span: Range<usize>,
    /// Anchored nodes that an alias uses: editing inside one would change
    /// every place it is aliased too.
    pub aliased: Vec<Aliased>,
}

/// An anchored node (`&name`) and the first alias (`*name`) that uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aliased {
    /// The anchored node's span.
    pub anchor: Range<usize>,
    /// Byte offset of the first alias of it.
    pub alias: usize,
}

impl Node {
    pub fn span(&self) -> Range<usize> {
        match self {
            Node::Scalar(s) => s.span.clone(),
            Node::Sequence(s) => s.span.clone(),
            Node::Mapping(m) => m.span.clone(),
        }
    }

    pub fn as_scalar(&self) -> Option<&Scalar> {
        match self {
            Node::Scalar(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_sequence(&self) -> Option<&Sequence> {
        match self {
            Node::Sequence(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_mapping(&self) -> Option<&Mapping> {
        match self {
            Node::Mapping(m) => Some(m),
            _ => None,
        }
    }

    /// The value of a scalar node.
    pub fn as_str(&self) -> Option<&str> {
        self.as_scalar().map(|s| s.value.as_str())
    }

    /// Whether this is a null scalar (empty, `~`, `null`).
    pub fn is_null(&self) -> bool {
        self.as_scalar().is_some_and(Scalar::is_null)
    }

    /// Nodes in this subtree, itself included. Recursion is bounded by
    /// [`MAX_DEPTH`], which the parser enforces.
    fn count(&self) -> usize {
        match self {
            Node::Scalar(_) => 1,
            Node::Sequence(s) => 1 + s.items.iter().map(Node::count).sum::<usize>(),
            Node::Mapping(m) => {
                1 + m
                    .entries
                    .iter()
                    .map(|(k, v)| k.count() + v.count())
                    .sum::<usize>()
            }
        }
    }
}

impl Scalar {
    /// Null in YAML's core schema: empty, `~`, `null` (plain only; `"null"`
    /// is a string).
    pub fn is_null(&self) -> bool {
        self.style == Style::Plain
            && matches!(self.value.as_str(), "" | "~" | "null" | "Null" | "NULL")
    }

    /// Whether the core schema types this scalar as a string: quoted and
    /// block scalars always; plain ones unless they read as null, a boolean
    /// or a number.
    pub fn is_string(&self) -> bool {
        if self.style != Style::Plain {
            return true;
        }
        if self.is_null() {
            return false;
        }
        let v = self.value.as_str();
        if matches!(v, "true" | "True" | "TRUE" | "false" | "False" | "FALSE") {
            return false;
        }
        !is_core_number(v)
    }

    /// The byte range of the scalar's content: inside the quotes for quoted
    /// scalars, the whole span for plain ones. `None` for block scalars,
    /// whose content is spread over indented lines.
    pub fn inner_span(&self) -> Option<Range<usize>> {
        match self.style {
            Style::Plain => Some(self.span.clone()),
            Style::SingleQuoted | Style::DoubleQuoted if self.span.len() >= 2 => {
                Some(self.span.start + 1..self.span.end - 1)
            }
            _ => None,
        }
    }

    /// Whether the content bytes in `text` are exactly the value, so that
    /// replacing them replaces the value and nothing else: false for
    /// escapes, `''`, folded multi-line scalars and block scalars.
    pub fn is_verbatim(&self, text: &str) -> bool {
        self.inner_span()
            .and_then(|span| text.get(span))
            .is_some_and(|source| source == self.value)
    }
}

/// YAML 1.2 core schema numbers: `[-+]?[0-9]+`, `0o[0-7]+`, `0x[0-9a-fA-F]+`,
/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, `[-+]?\.inf`, `.nan`.
fn is_core_number(v: &str) -> bool {
    if let Some(oct) = v.strip_prefix("0o") {
        return !oct.is_empty() && oct.bytes().all(|b| (b'0'..=b'7').contains(&b));
    }
    if let Some(hex) = v.strip_prefix("0x") {
        return !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit());
    }
    if matches!(v, ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    let unsigned = v.strip_prefix(['-', '+']).unwrap_or(v);
    if matches!(unsigned, ".inf" | ".Inf" | ".INF") {
        return true;
    }
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(e) => (&unsigned[..e], Some(&unsigned[e + 1..])),
        None => (unsigned, None),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => digits(int) && digits(frac) && !(int.is_empty() && frac.is_empty()),
        None => !mantissa.is_empty() && digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok
}

impl Mapping {
    /// The value of the scalar key `key`. With duplicate keys the last one
    /// wins, as in most loaders.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The entry (key node and value node) of the scalar key `key`.
    pub fn entry(&self, key: &str) -> Option<&(Node, Node)> {
        self.entries
            .iter()
            .rev()
            .find(|(k, _)| k.as_str() == Some(key))
    }

    /// Like [`Mapping::get`], but also looks through merge keys
    /// (`<<: *defaults`, `<<: [*a, *b]`), as compose files use them: an
    /// explicit key wins, then the merged mappings in order.
    pub fn get_merged(&self, key: &str) -> Option<&Node> {
        self.get_merged_at(key, 0)
    }

    fn get_merged_at(&self, key: &str, depth: usize) -> Option<&Node> {
        if let Some(v) = self.get(key) {
            return Some(v);
        }
        if depth >= MAX_DEPTH {
            return None;
        }
        let merged = self.get("<<")?;
        match merged {
            Node::Mapping(m) => m.get_merged_at(key, depth + 1),
            Node::Sequence(s) => s
                .items
                .iter()
                .filter_map(Node::as_mapping)
                .find_map(|m| m.get_merged_at(key, depth + 1)),
            Node::Scalar(_) => None,
        }
    }
}

/// Where a new `key` goes at the end of `map`, and the text to write
/// before its value: `(offset, "\n<indent>key: ")` for a block mapping (after
/// the rest of the last value's line, so an inline comment stays where it
/// is), `(offset, ", key: ")` for a flow one. `Err` carries an offset and
/// why no key can be added there.
pub fn new_key(text: &str, map: &Mapping, key: &str) -> Result<(usize, String), (usize, String)> {
    let last = map
        .entries
        .iter()
        .flat_map(|(k, v)| [k, v])
        .max_by_key(|n| n.span().end)
        .ok_or_else(|| (map.span.start, "is empty".to_string()))?;
    let end = last.span().end;
    if map.flow {
        // `{name: x, newTag: y}` → `{name: x, newTag: y, key: …}`: right
        // after the last value, so spacing and a trailing comma stay.
        return Ok((end, format!(", {key}: ")));
    }
    if matches!(last, Node::Scalar(s) if matches!(s.style, Style::Literal | Style::Folded)) {
        return Err((
            last.span().start,
            format!("ends with a block scalar; add `{key}:` before it and run wharf again"),
        ));
    }
    let bytes = text.as_bytes();
    let newline = bytes
        .get(end..)
        .and_then(|rest| rest.iter().position(|&b| b == b'\n'))
        .map(|p| end + p);
    let (at, eol) = match newline {
        Some(n) if n > end && bytes[n - 1] == b'\r' => (n - 1, "\r\n"),
        Some(n) => (n, "\n"),
        None => (text.len(), line_break(text)),
    };
    let indent = match map.indent {
        Some(indent) => indent,
        None => {
            // The parser gives block mappings an indent; this is only a
            // fallback: the mapping's column, counting `- ` as indentation.
            let before = text.get(..map.span.start).unwrap_or_default();
            let line_start = before.rfind('\n').map_or(0, |n| n + 1);
            before.get(line_start..).unwrap_or_default().chars().count()
        }
    };
    Ok((at, format!("{eol}{}{key}: ", " ".repeat(indent))))
}

/// The text's line break, from its first line.
pub fn line_break(text: &str) -> &'static str {
    match text.find('\n') {
        Some(n) if n > 0 && text.as_bytes()[n - 1] == b'\r' => "\r\n",
        _ => "\n",
    }
}

/// A collection being built while its children's events arrive.
struct Frame {
    kind: FrameKind,
    start: Span,
    flow: bool,
    anchor: usize,
    indent: Option<usize>,
}

enum FrameKind {
    Sequence(Vec<Node>),
    Mapping(Vec<(Node, Node)>, Option<Node>),
}

impl Frame {
    fn expects_value(&self) -> bool {
        matches!(self.kind, FrameKind::Mapping(_, Some(_)))
    }
}

/// Builds the tree from the parser's event stream with an explicit stack,
/// so nesting costs heap, not call stack.
struct Builder<'t> {
    text: &'t str,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
    alias_budget: usize,
    aliased: Vec<Aliased>,
}

fn byte_range(text: &str, span: &Span) -> Range<usize> {
    // `new_from_str` always supplies byte offsets; an absent one would be
    // a parser bug, and an empty range at the start is a harmless answer.
    let range = span.byte_range().unwrap_or(0..0);
    let end = range.end.min(text.len());
    range.start.min(end)..end
}

impl Builder<'_> {
    fn error(&self, offset: usize, message: impl Into<String>) -> YamlError {
        YamlError {
            line: line_of(self.text, offset),
            message: message.into(),
        }
    }

    fn push_frame(
        &mut self,
        kind: FrameKind,
        start: Span,
        flow: bool,
        anchor: usize,
    ) -> Result<(), YamlError> {
        if self.stack.len() >= MAX_DEPTH {
            let at = byte_range(self.text, &start).start;
            return Err(self.error(
                at,
                format!("collections nest deeper than {MAX_DEPTH} levels"),
            ));
        }
        self.stack.push(Frame {
            kind,
            start,
            flow,
            anchor,
            indent: None,
        });
        Ok(())
    }

    fn scalar(
        &mut self,
        value: &str,
        style: ScalarStyle,
        anchor: usize,
        span: &Span,
    ) -> Result<(), YamlError> {
        let mut range = byte_range(self.text, span);
        let style = match style {
            ScalarStyle::SingleQuoted => Style::SingleQuoted,
            ScalarStyle::DoubleQuoted => Style::DoubleQuoted,
            ScalarStyle::Literal => Style::Literal,
            ScalarStyle::Folded => Style::Folded,
            _ => Style::Plain,
        };
        let mut value = value.to_string();
        if range.is_empty() && style == Style::Plain {
            // The parser reports an absent value as "~"; the source holds
            // nothing, so the tree says "". Its span moves past the `:` so
            // that inserting at it writes the value after the indicator.
            value.clear();
            let is_value = self.stack.last().is_some_and(Frame::expects_value);
            if is_value && self.text.as_bytes().get(range.start) == Some(&b':') {
                range = range.start + 1..range.start + 1;
            }
        }
        if let Some(frame) = self.stack.last_mut() {
            if let FrameKind::Mapping(entries, None) = &frame.kind {
                if entries.is_empty() && !frame.flow && frame.indent.is_none() {
                    frame.indent = span.indent;
                }
            }
        }
        self.complete(
            Node::Scalar(Scalar {
                value,
                style,
                span: range,
            }),
            anchor,
        )
    }

    fn end_frame(&mut self, end: &Span, mapping: bool) -> Result<(), YamlError> {
        let end_range = byte_range(self.text, end);
        let Some(frame) = self.stack.pop() else {
            return Err(self.error(
                end_range.start,
                "the parser ended a collection that never started",
            ));
        };
        let start = byte_range(self.text, &frame.start);
        let children_end =
            |nodes: &mut dyn Iterator<Item = &Node>| nodes.map(|n| n.span().end).max();
        let node = match frame.kind {
            FrameKind::Sequence(items) if !mapping => {
                let end = if start.is_empty() {
                    children_end(&mut items.iter()).unwrap_or(end_range.start)
                } else {
                    end_range.end
                };
                Node::Sequence(Sequence {
                    items,
                    span: start.start..end.max(start.start),
                    flow: frame.flow,
                })
            }
            FrameKind::Mapping(entries, None) if mapping => {
                let end = if start.is_empty() {
                    children_end(&mut entries.iter().flat_map(|(k, v)| [k, v]))
                        .unwrap_or(end_range.start)
                } else {
                    end_range.end
                };
                Node::Mapping(Mapping {
                    entries,
                    span: start.start..end.max(start.start),
                    flow: frame.flow,
                    indent: frame.indent,
                })
            }
            _ => {
                return Err(self.error(
                    end_range.start,
                    "the parser's collection events do not nest",
                ))
            }
        };
        self.complete(node, frame.anchor)
    }

    fn alias(&mut self, id: usize, span: &Span) -> Result<(), YamlError> {
        let range = byte_range(self.text, span);
        let Some(node) = self.anchors.get(&id) else {
            let name = self.text.get(range.clone()).unwrap_or("*");
            return Err(self.error(
                range.start,
                format!("the alias {name} refers to a node that contains it; recursive aliases are not supported"),
            ));
        };
        let node = node.clone();
        self.charge(node.count(), range.start)?;
        let anchor = node.span();
        if !self.aliased.iter().any(|a| a.anchor == anchor) {
            self.aliased.push(Aliased {
                anchor,
                alias: range.start,
            });
        }
        self.complete(node, 0)
    }

    fn charge(&mut self, nodes: usize, at: usize) -> Result<(), YamlError> {
        self.alias_budget = self.alias_budget.checked_sub(nodes).ok_or_else(|| {
            self.error(
                at,
                format!("anchors and aliases expand to more than {MAX_ALIAS_NODES} nodes; refusing an alias bomb"),
            )
        })?;
        Ok(())
    }

    /// A node is finished: remember it if anchored, then hand it to its parent.
    fn complete(&mut self, node: Node, anchor: usize) -> Result<(), YamlError> {
        if anchor != 0 {
            self.charge(node.count(), node.span().start)?;
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            Some(Frame {
                kind: FrameKind::Sequence(items),
                ..
            }) => items.push(node),
            Some(Frame {
                kind: FrameKind::Mapping(entries, pending),
                ..
            }) => match pending.take() {
                Some(key) => entries.push((key, node)),
                None => *pending = Some(node),
            },
            None => {
                if self.root.is_some() {
                    return Err(
                        self.error(node.span().start, "the parser gave a document two roots")
                    );
                }
                self.root = Some(node);
            }
        }
        Ok(())
    }
}

/// Parses every document of a YAML stream into span-carrying trees.
pub fn parse_documents(text: &str) -> Result<Vec<Document>, YamlError> {
    let mut options = granit_parser::options! {
        flow_nesting_limit: MAX_DEPTH,
        block_nesting_limit: MAX_DEPTH,
    };
    // Comments are not nodes; the tree keeps them by never touching their bytes.
    options.set_emit_comments(false);

    let mut builder = Builder {
        text,
        stack: Vec::new(),
        anchors: HashMap::new(),
        root: None,
        alias_budget: MAX_ALIAS_NODES,
        aliased: Vec::new(),
    };
    let mut documents = Vec::new();
    let mut document_start = 0;

    for next in Parser::new_from_str_with_options(text, options) {
        let (event, span) = next.map_err(|e| {
            let line = e
                .marker()
                .byte_offset()
                .map_or_else(|| e.marker().line(), |offset| line_of(text, offset));
            YamlError {
                line,
                message: format!("{} (column {})", e.info(), e.marker().col() + 1),
            }
        })?;
        match event {
            Event::DocumentStart(..) => {
                document_start = byte_range(text, &span).start;
                // Anchor ids do not carry across documents.
                builder.anchors.clear();
                builder.aliased.clear();
                builder.root = None;
            }
            Event::DocumentEnd => {
                let end = byte_range(text, &span).end.max(document_start);
                let root = builder.root.take().unwrap_or_else(|| {
                    Node::Scalar(Scalar {
                        value: String::new(),
                        style: Style::Plain,
                        span: document_start..document_start,
                    })
                });
                documents.push(Document {
                    root,
                    span: document_start..end,
                    aliased: std::mem::take(&mut builder.aliased),
                });
            }
            Event::Scalar(value, style, anchor, _) => {
                builder.scalar(&value, style, anchor, &span)?
            }
            Event::SequenceStart(style, anchor, _) => {
                builder.push_frame(
                    FrameKind::Sequence(Vec::new()),
                    span,
                    style == StructureStyle::Flow,
                    anchor,
                )?;
            }
            Event::MappingStart(style, anchor, _) => {
                builder.push_frame(
                    FrameKind::Mapping(Vec::new(), None),
                    span,
                    style == StructureStyle::Flow,
                    anchor,
                )?;
            }
            Event::SequenceEnd => builder.end_frame(&span, false)?,
            Event::MappingEnd => builder.end_frame(&span, true)?,
            Event::Alias(id) => builder.alias(id, &span)?,
            Event::UnresolvedAlias(name) => {
                let at = byte_range(text, &span).start;
                return Err(builder.error(at, format!("the alias *{name} has no anchor before it")));
            }
            // Stream markers, anchor metadata and comments carry no nodes.
            _ => {}
        }
    }
    Ok(documents)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Node {
        let mut docs = parse_documents(text).unwrap();
        assert_eq!(docs.len(), 1, "{text:?}");
        docs.remove(0).root
    }

    fn scalar<'a>(node: &'a Node, path: &[&str]) -> &'a Scalar {
        let mut node = node;
        for key in path {
            node = node.as_mapping().unwrap().get(key).unwrap();
        }
        node.as_scalar().unwrap()
    }

    #[test]
    fn quoted_spans_include_the_quotes_and_inner_span_excludes_them() {
        let text = "a: \"x:1\"\nb: 'y'\nc: plain\n";
        let root = one(text);
        let a = scalar(&root, &["a"]);
        assert_eq!(a.style, Style::DoubleQuoted);
        assert_eq!(&text[a.span.clone()], "\"x:1\"");
        assert_eq!(&text[a.inner_span().unwrap()], "x:1");
        let b = scalar(&root, &["b"]);
        assert_eq!(b.style, Style::SingleQuoted);
        assert_eq!(&text[b.span.clone()], "'y'");
        assert_eq!(&text[b.inner_span().unwrap()], "y");
        let c = scalar(&root, &["c"]);
        assert_eq!(&text[c.inner_span().unwrap()], "plain");
        assert!(a.is_verbatim(text) && b.is_verbatim(text) && c.is_verbatim(text));
    }

    #[test]
    fn bom_and_crlf_keep_byte_offsets_of_the_original_text() {
        let text = "\u{feff}a: \"v\"\r\nb: w\r\n";
        let root = one(text);
        let a = scalar(&root, &["a"]);
        assert_eq!(a.span, 6..9);
        assert_eq!(&text[a.inner_span().unwrap()], "v");
        let b = scalar(&root, &["b"]);
        assert_eq!(&text[b.span.clone()], "w");
        assert_eq!(line_of(text, b.span.start), 2);
        assert_eq!(root.span().start, 3);
    }

    #[test]
    fn block_and_multi_line_scalars_are_not_verbatim() {
        let text =
            "a: |\n  text\nb: >-\n  f\n  g\nc: foo\n  bar\nd: \"x\\ny\"\ne: 'it''s'\nf: 1.25\n";
        let root = one(text);
        let a = scalar(&root, &["a"]);
        assert_eq!(a.style, Style::Literal);
        // A block scalar's span is its content lines, not the `|` header.
        assert_eq!(&text[a.span.clone()], "text\n");
        assert_eq!(a.inner_span(), None);
        assert!(!a.is_verbatim(text));
        assert_eq!(scalar(&root, &["b"]).style, Style::Folded);
        for key in ["b", "c", "d", "e"] {
            assert!(!scalar(&root, &[key]).is_verbatim(text), "{key}");
        }
        let f = scalar(&root, &["f"]);
        assert!(f.is_verbatim(text));
        assert_eq!(f.value, "1.25");
        assert!(!f.is_string());
    }

    #[test]
    fn empty_values_sit_just_after_the_colon() {
        let text = "a:\nb: ~\nc: null\nd: ''\ne: \"\"\nf: {g: , h}\n";
        let root = one(text);
        let a = scalar(&root, &["a"]);
        assert_eq!(a.value, "");
        assert_eq!(a.span, 2..2);
        assert!(a.is_null());
        assert!(scalar(&root, &["b"]).is_null());
        assert!(scalar(&root, &["c"]).is_null());
        assert!(!scalar(&root, &["d"]).is_null());
        assert!(scalar(&root, &["d"]).is_string());
        assert_eq!(scalar(&root, &["e"]).inner_span().map(|r| r.len()), Some(0));
        let g = scalar(&root, &["f", "g"]);
        assert_eq!(
            &text[..g.span.start],
            "a:\nb: ~\nc: null\nd: ''\ne: \"\"\nf: {g:"
        );
    }

    #[test]
    fn collections_record_flow_style_spans_and_indent() {
        let text = "m: {name: x, newTag: y}\ns: [a, 'b']\nl:\n  -   k: v\n      k2: w\n";
        let root = one(text);
        let map = root.as_mapping().unwrap();
        let m = map.get("m").unwrap().as_mapping().unwrap();
        assert!(m.flow);
        assert_eq!(&text[m.span.clone()], "{name: x, newTag: y}");
        let s = map.get("s").unwrap().as_sequence().unwrap();
        assert!(s.flow);
        assert_eq!(&text[s.span.clone()], "[a, 'b']");
        let l = map.get("l").unwrap().as_sequence().unwrap();
        assert!(!l.flow);
        assert_eq!(&text[l.span.clone()], "-   k: v\n      k2: w");
        let item = l.items[0].as_mapping().unwrap();
        assert_eq!(item.indent, Some(6));
        assert_eq!(&text[item.span.clone()], "k: v\n      k2: w");
        assert_eq!(map.indent, Some(0));
    }

    #[test]
    fn aliases_are_copies_with_the_anchor_spans() {
        let text = "x: &img nginx:1.25\ny: *img\nz: &m {a: b}\nw: *m\n";
        let root = one(text);
        let x = scalar(&root, &["x"]);
        let y = scalar(&root, &["y"]);
        assert_eq!(x, y);
        assert_eq!(&text[y.span.clone()], "nginx:1.25");
        let map = root.as_mapping().unwrap();
        assert_eq!(map.get("z"), map.get("w"));
    }

    #[test]
    fn merge_keys_are_looked_through() {
        let text = "d: &d {image: a, x: 1}\ne: &e {image: b, y: 2}\ns:\n  <<: [*d, *e]\n  x: 3\n";
        let root = one(text);
        let s = root
            .as_mapping()
            .unwrap()
            .get("s")
            .unwrap()
            .as_mapping()
            .unwrap();
        assert_eq!(s.get_merged("image").and_then(Node::as_str), Some("a"));
        assert_eq!(s.get_merged("x").and_then(Node::as_str), Some("3"));
        assert_eq!(s.get_merged("y").and_then(Node::as_str), Some("2"));
        assert_eq!(s.get("image"), None);
    }

    #[test]
    fn documents_are_split_with_their_spans() {
        let text = "a: 1\n---\nb: 2\n...\n---\n---\n# c\nc: 3\n";
        let docs = parse_documents(text).unwrap();
        assert_eq!(docs.len(), 4);
        assert_eq!(
            docs[1]
                .root
                .as_mapping()
                .unwrap()
                .get("b")
                .and_then(Node::as_str),
            Some("2")
        );
        assert!(docs[2].root.is_null());
        assert_eq!(&text[docs[1].span.clone()], "---\nb: 2\n...");
        assert!(parse_documents("").unwrap().is_empty());
        assert!(parse_documents("# only a comment\n").unwrap().is_empty());
    }

    #[test]
    fn malformed_yaml_names_its_line() {
        let err = parse_documents("a: b\nc: [d\n  e: f\n").unwrap_err();
        assert_eq!(err.line, 3, "{err}");
        let err = parse_documents("a: b\n c: d\n").unwrap_err();
        assert_eq!(err.line, 2, "{err}");
        let err = parse_documents("ok: 1\na: *nope\n").unwrap_err();
        assert_eq!(err.line, 2, "{err}");
        assert!(err.to_string().starts_with("line 2: "), "{err}");
    }

    #[test]
    fn recursive_aliases_are_errors() {
        let err = parse_documents("a:\n  - &a [*a]\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("*a"), "{err}");
    }

    #[test]
    fn hostile_nesting_is_an_error_not_a_stack_overflow() {
        for text in [
            "[".repeat(100_000),
            "{a: ".repeat(100_000),
            "- ".repeat(100_000) + "x\n",
            (0..2_000)
                .map(|i| format!("{}a:\n", " ".repeat(i)))
                .collect(),
        ] {
            let err = parse_documents(&text).unwrap_err();
            assert!(
                err.message.contains("limit") || err.message.contains("deeper"),
                "{err}"
            );
        }
        // Block and flow nesting each within the parser's limits, deeper
        // than ours together: our own bound catches it.
        let text = (0..400)
            .map(|i| format!("{}a:\n", " ".repeat(i)))
            .collect::<String>()
            + &" ".repeat(400)
            + &"[".repeat(400)
            + &"]".repeat(400)
            + "\n";
        let err = parse_documents(&text).unwrap_err();
        assert!(err.message.contains("deeper than 512"), "{err}");
        assert_eq!(err.line, 401, "{err}");
        // Just inside the limit is fine, and dropping the tree does not overflow either.
        let text = "[".repeat(MAX_DEPTH - 1) + &"]".repeat(MAX_DEPTH - 1);
        assert_eq!(parse_documents(&text).unwrap().len(), 1);
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        let mut previous = 'a';
        for name in 'b'..='k' {
            let star = format!("*{previous}, ");
            text.push_str(&format!("{name}: &{name} [{}]\n", star.repeat(10)));
            previous = name;
        }
        let err = parse_documents(&text).unwrap_err();
        assert!(err.message.contains("alias"), "{err}");
    }

    #[test]
    fn core_schema_types() {
        for number in [
            "3", "-3", "+3", "1.25", "1.", ".5", "1e3", "1.5E-3", "0x1F", "0o17", ".inf", "-.Inf",
            ".nan",
        ] {
            assert!(is_core_number(number), "{number}");
        }
        for not in [
            "",
            ".",
            "1.2.3",
            "v1",
            "1e",
            "0x",
            "e3",
            "1_000",
            "latest",
            "1.25-alpine",
        ] {
            assert!(!is_core_number(not), "{not}");
        }
        let root = one("a: true\nb: \"true\"\nc: 'null'\nd: v1\n");
        assert!(!scalar(&root, &["a"]).is_string());
        assert!(scalar(&root, &["b"]).is_string());
        assert!(scalar(&root, &["c"]).is_string());
        assert!(scalar(&root, &["d"]).is_string());
    }

    #[test]
    fn never_panics_on_mangled_input() {
        let seeds = [
            "a: &x [1, {b: *x}]\n---\n- \"q\\u263A\"\n- 'it''s'\n- |\n  block\n? k\n: v\n",
            "\u{feff}services:\r\n  web: {image: \"nginx:1\", <<: *d}\r\n",
            "x: !!str &a\n  - [*a, {]\n%YAML 1.2\n...\n",
        ];
        // A small deterministic generator: cut, duplicate and splice bytes
        // of the seeds and make sure the result is Ok or Err, never a panic.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move |bound: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % bound.max(1) as u64) as usize
        };
        for _ in 0..3_000 {
            let seed = seeds[next(seeds.len())];
            let chars: Vec<char> = seed.chars().collect();
            let mut out: Vec<char> = Vec::new();
            for _ in 0..(1 + next(4)) {
                let a = next(chars.len());
                let b = a + next(chars.len() - a + 1);
                out.extend(&chars[a..b.min(chars.len())]);
            }
            let text: String = out.into_iter().collect();
            let _ = parse_documents(&text);
        }
    }
}
