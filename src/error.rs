//! The one error type: "could not do the job" (exit 2). Policy results
//! ("unpinned", "gate failed") are not errors; they are findings.
//!
//! Messages say what failed, on which input, why, and what to do. They never
//! carry secrets: registry passwords and tokens are not put in any variant.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Flags, environment or config that do not make sense together.
    #[error("{0}")]
    Usage(String),

    #[error(transparent)]
    Reference(#[from] crate::reference::ReferenceError),

    #[error(transparent)]
    Registry(#[from] crate::registry::RegistryError),

    /// A file that could not be read, parsed or written.
    #[error("{}: {message}", path.display())]
    File { path: PathBuf, message: String },

    /// An image whose contents could not be read: a layer that is corrupt,
    /// truncated, of an unknown type, or larger than the bounds allow.
    #[error("{what}: {why}")]
    Image { what: String, why: String },

    /// A GitHub API call that failed (`promote --pull-request`): `what` names
    /// the step, the repository and the endpoint; `why` carries the HTTP
    /// status, GitHub's own message and what to do.
    #[error("{what}: {why}")]
    GitHub { what: String, why: String },

    /// Several independent failures (one per file, say), all reported.
    #[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
    Many(Vec<Error>),
}

impl Error {
    /// This error, followed by the note that no file was changed (for
    /// commands that edit files only once every edit is known to be good).
    pub fn nothing_changed(self) -> Error {
        let mut errors = match self {
            Error::Many(errors) => errors,
            e => vec![e],
        };
        errors.push(Error::Usage(
            "no file was changed: fix the errors above and run again".into(),
        ));
        Error::Many(errors)
    }

    pub fn file(path: impl Into<PathBuf>, message: impl Into<String>) -> Error {
        Error::File {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// An error and its sources, each said once: many libraries' own `Display`
/// is terse ("error sending request") and the cause is at the end of the
/// chain, while others repeat their source in their own message.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(e) = next {
        let text = e.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}
