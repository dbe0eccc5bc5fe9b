//! The one place wharf writes to the terminal. Results go to stdout;
//! progress, warnings and errors to stderr. Colour only on a terminal.
#![allow(clippy::disallowed_macros)]

use std::collections::BTreeSet;
use std::io::Write;

use console::style;

use crate::error::Error;

/// Writes a result line (or block) to stdout.
pub fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = stdout.write_all(b"\n");
    }
    let _ = stdout.flush();
}

/// Writes an informational line to stderr.
pub fn info(text: &str) {
    eprintln!("{text}");
}

/// Writes a warning to stderr, once: a warning repeated word for word
/// (`wharf run` signs the image and each attestation, and each would warn
/// of the same missing log) is said the first time only.
pub fn warn(text: &str) {
    static SAID: std::sync::Mutex<BTreeSet<String>> = std::sync::Mutex::new(BTreeSet::new());
    let first = SAID
        .lock()
        .map(|mut said| said.insert(text.to_string()))
        .unwrap_or(true);
    if first {
        eprintln!("{} {text}", style("warning:").yellow().bold().for_stderr());
    }
}

/// Writes the error that ended the run to stderr.
pub fn error(err: &Error) {
    let label = style("error:").red().bold().for_stderr();
    match err {
        Error::Many(errors) => {
            for e in errors {
                eprintln!("{label} {e}");
            }
        }
        e => eprintln!("{label} {e}"),
    }
}

/// Whether to draw progress bars: stderr is a terminal and this is not a CI log.
pub fn interactive() -> bool {
    console::Term::stderr().is_term() && std::env::var_os("CI").is_none()
}

/// Whether stdout is a terminal (colour in reports), and `NO_COLOR` unset.
pub fn stdout_is_terminal() -> bool {
    console::Term::stdout().is_term() && std::env::var_os("NO_COLOR").is_none()
}
