//! What a finder reports: each place an image reference stands in a file,
//! and how to pin it there.

use std::ops::Range;

use crate::reference::Reference;

/// One image reference found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// 1-based line of the reference (of the first byte of the span, or of
    /// the entry for an insertion).
    pub line: usize,
    /// What the site says, resolved or not.
    pub state: SiteState,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SiteState {
    /// Already carries a digest: left alone.
    Pinned(Reference),
    /// Carries no digest; `Patch` says how to add one once `Reference` (the
    /// image to resolve, tag included) is resolved.
    Unpinned(Reference, Patch),
    /// A reference that cannot be resolved from the file alone (a build arg
    /// without a default, a chart tag that comes from `appVersion`). The text
    /// is what was written; the reason says why and what to do.
    Unresolvable { text: String, reason: String },
}

/// How the digest goes into the file. Spans are byte ranges of the file
/// text; the pinned text replaces exactly that range and nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Patch {
    /// The span holds the whole reference exactly as written (inside any
    /// quotes). It becomes `name[:tag]@digest` (`--style tag-digest`) or
    /// `name@digest` (`--style digest`).
    Reference { span: Range<usize> },
    /// The span holds a tag in a separate tag field (Helm `tag:`); it
    /// becomes `tag@digest` whatever the style, because charts join
    /// `repository` and `tag` with ':'.
    Tag { span: Range<usize> },
    /// The span holds an empty or null digest value (the inside of `""`, or
    /// `~`/`null`); it becomes `digest`.
    Digest { span: Range<usize> },
    /// Nothing holds the digest yet: `before + digest + after` is inserted at
    /// `at` (a new `digest:` key, with its line break and indentation in
    /// `before`).
    Insert {
        at: usize,
        before: String,
        after: String,
    },
}

impl Patch {
    /// The byte range this patch replaces (empty for an insertion).
    pub fn span(&self) -> Range<usize> {
        match self {
            Patch::Reference { span } | Patch::Tag { span } | Patch::Digest { span } => {
                span.clone()
            }
            Patch::Insert { at, .. } => *at..*at,
        }
    }
}

/// Why a file could not be read for references. `line` is 1-based when the
/// problem has a place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
pub struct FindError {
    pub line: Option<usize>,
    pub message: String,
}

impl FindError {
    pub fn at(line: usize, message: impl Into<String>) -> FindError {
        FindError {
            line: Some(line),
            message: message.into(),
        }
    }
}
