//! GitHub Actions: step outputs in `$GITHUB_OUTPUT`, the job summary in
//! `$GITHUB_STEP_SUMMARY`, and workflow commands (`::group::`, `::error::`)
//! on stdout.
//!
//! Both files belong to the runner and hold what earlier commands of the
//! same step wrote, so they are appended to, never replaced. Every output is
//! written in the runner's heredoc form `name<<DELIM` … `DELIM` with a
//! random delimiter (as `@actions/core` does), so no value — a path with a
//! newline, a signer identity — can end its own value early and set another
//! output.

use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::Path;

use super::{Ci, RunSummary};
use crate::{Error, Result};

/// What `@actions/core` starts its delimiters with.
const DELIMITER_PREFIX: &str = "ghadelimiter_";

/// The step outputs of docs/run.md, in its order. What the run did not get
/// to is the empty string: GitHub outputs are strings, and an unset output
/// reads as `''` in expressions anyway.
pub(super) fn outputs(summary: &RunSummary) -> Result<Vec<(&'static str, String)>> {
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    Ok(vec![
        ("image", summary.image.clone()),
        ("digest", text(&summary.digest)),
        ("image-ref", text(&summary.image_ref)),
        ("sbom", text(&summary.sbom)),
        (
            "findings",
            match &summary.findings {
                Some(f) => json(f, "the finding counts")?,
                None => String::new(),
            },
        ),
        (
            "gate-passed",
            summary
                .gate
                .as_ref()
                .map(|g| g.passed.to_string())
                .unwrap_or_default(),
        ),
        ("signer", text(&summary.signer)),
        (
            "rekor-log-index",
            summary
                .rekor_log_index
                .map(|i| i.to_string())
                .unwrap_or_default(),
        ),
        (
            "attestations",
            json(&summary.attestations, "the attestations")?,
        ),
        ("promoted", json(&summary.promoted, "the promoted files")?),
        ("summary-json", json(summary, "the run summary")?),
    ])
}

/// Compact JSON of a value, for an output that holds JSON.
fn json<T: serde::Serialize + ?Sized>(value: &T, what: &str) -> Result<String> {
    serde_json::to_string(value)
        .map_err(|e| Error::Usage(format!("cannot serialise {what} for $GITHUB_OUTPUT: {e}")))
}

/// A fresh random delimiter: `ghadelimiter_` and 128 random bits in hex.
fn random_delimiter() -> String {
    format!("{DELIMITER_PREFIX}{:032x}", rand::random::<u128>())
}

/// The outputs in the runner's heredoc form, one block per output:
/// `name<<DELIM\nvalue\nDELIM\n`.
pub(super) fn encode(outputs: &[(&str, String)]) -> String {
    encode_with(outputs, &mut random_delimiter)
}

/// [`encode`] with the delimiters drawn from `next`. A delimiter that
/// occurs in the name or the value is drawn again: the runner ends the value
/// at the first line equal to the delimiter, so the value must not contain
/// it (the toolkit throws instead; regenerating costs nothing).
pub(super) fn encode_with(outputs: &[(&str, String)], next: &mut dyn FnMut() -> String) -> String {
    let mut text = String::new();
    for (name, value) in outputs {
        let delimiter = loop {
            let d = next();
            if !d.is_empty() && !value.contains(&d) && !name.contains(&d) {
                break d;
            }
        };
        text.push_str(&format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"));
    }
    text
}

/// Appends the outputs to `$GITHUB_OUTPUT`.
pub(super) fn append_outputs(path: &Path, outputs: &[(&str, String)]) -> Result<()> {
    append(path, &encode(outputs), "the step outputs to $GITHUB_OUTPUT")
}

/// Appends the Markdown summary to `$GITHUB_STEP_SUMMARY`, a blank line
/// apart from what earlier commands wrote so it starts a new block.
pub(super) fn append_summary(path: &Path, markdown: &str) -> Result<()> {
    let mut text = String::new();
    if last_byte(path)?.is_some() {
        text.push('\n');
    }
    text.push_str(markdown);
    if !text.ends_with('\n') {
        text.push('\n');
    }
    append(path, &text, "the job summary to $GITHUB_STEP_SUMMARY")
}

/// Appends `text` in one write, after a newline if the file does not end
/// with one (an earlier `echo -n x=1 >> $GITHUB_OUTPUT` must not swallow
/// our first line). Not `fsutil::write_atomic`: these files are the
/// runner's, and replacing one would race with whatever else appends.
fn append(path: &Path, text: &str, what: &str) -> Result<()> {
    let cannot = |e: std::io::Error| Error::file(path, format!("cannot append {what}: {e}"));
    let mut block = String::with_capacity(text.len() + 1);
    if last_byte(path)?.is_some_and(|b| b != b'\n') {
        block.push('\n');
    }
    block.push_str(text);
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(cannot)?;
    file.write_all(block.as_bytes()).map_err(cannot)?;
    file.flush().map_err(cannot)
}

/// The file's last byte; `None` when it is empty or does not exist yet.
fn last_byte(path: &Path) -> Result<Option<u8>> {
    let cannot =
        |e: std::io::Error| Error::file(path, format!("cannot read the end of the file: {e}"));
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(cannot(e)),
    };
    let len = file.metadata().map_err(cannot)?.len();
    if len == 0 {
        return Ok(None);
    }
    file.seek(SeekFrom::Start(len - 1)).map_err(cannot)?;
    let mut byte = [0u8; 1];
    file.read_exact(&mut byte).map_err(cannot)?;
    Ok(Some(byte[0]))
}

/// Opens a collapsible group in the GitHub log (`::group::NAME`).
pub fn group_start(ci: &Ci, name: &str) {
    if let Ci::GitHub { .. } = ci {
        crate::report::out(&command("group", name));
    }
}

/// Closes the group [`group_start`] opened.
pub fn group_end(ci: &Ci) {
    if let Ci::GitHub { .. } = ci {
        crate::report::out(&command("endgroup", ""));
    }
}

/// An error annotation on the run's page (`::error::MESSAGE`).
pub fn annotate_error(ci: &Ci, message: &str) {
    if let Ci::GitHub { .. } = ci {
        crate::report::out(&command("error", message));
    }
}

/// One workflow command line: `::name::data`, the data escaped.
pub(super) fn command(name: &str, data: &str) -> String {
    format!("::{name}::{}", escape_data(data))
}

/// The toolkit's `escapeData`: `%`, CR and LF become `%25`, `%0D`, `%0A`.
/// The runner decodes them back, and because no line break survives, text
/// after one cannot start a line of its own and be read as a command
/// (`\n::add-mask::…`, `\n::stop-commands::…`).
pub(super) fn escape_data(data: &str) -> String {
    let mut out = String::with_capacity(data.len());
    for c in data.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// The runner's file-command parser (actions/runner, `SetOutputFileCommand`):
    /// lines end at CR, LF or CRLF (.NET `ReadLine`); blank lines are skipped;
    /// `NAME=VALUE` when `=` comes before any `<<`, else `NAME<<DELIM` and
    /// the lines up to one equal to DELIM, joined with `\n`. A missing
    /// delimiter is an error, as it fails the step there.
    pub(crate) fn parse_output_file(text: &str) -> Result<BTreeMap<String, String>, String> {
        let mut lines = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            match rest.find(['\r', '\n']) {
                Some(i) => {
                    lines.push(&rest[..i]);
                    let skip = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
                    rest = &rest[i + skip..];
                }
                None => {
                    lines.push(rest);
                    rest = "";
                }
            }
        }
        let mut out = BTreeMap::new();
        let mut lines = lines.into_iter();
        while let Some(line) = lines.next() {
            if line.is_empty() {
                continue;
            }
            let eq = line.find('=');
            let heredoc = line.find("<<");
            match (eq, heredoc) {
                (Some(e), h) if h.is_none_or(|h| e < h) => {
                    out.insert(line[..e].to_string(), line[e + 1..].to_string());
                }
                (_, Some(h)) => {
                    let name = &line[..h];
                    let delimiter = &line[h + 2..];
                    if name.is_empty() || delimiter.is_empty() {
                        return Err(format!("invalid line {line:?}"));
                    }
                    let mut value = Vec::new();
                    loop {
                        match lines.next() {
                            Some(l) if l == delimiter => break,
                            Some(l) => value.push(l),
                            None => return Err(format!("no delimiter {delimiter:?} for {name}")),
                        }
                    }
                    out.insert(name.to_string(), value.join("\n"));
                }
                _ => return Err(format!("invalid line {line:?}")),
            }
        }
        Ok(out)
    }

    fn sample_outputs() -> Vec<(&'static str, String)> {
        vec![
            ("plain", "ghcr.io/acme/app".to_string()),
            ("empty", String::new()),
            (
                "multi-line",
                "first line\nsecond=line\n\nfourth<<EOF".to_string(),
            ),
            ("trailing-newline", "value\n".to_string()),
            (
                "fake-delimiter",
                "a\nghadelimiter_0123\nwho-am-i=forged\nb".to_string(),
            ),
        ]
    }

    #[test]
    fn every_output_round_trips_through_the_runner_parser() {
        let outputs = sample_outputs();
        let text = encode(&outputs);
        let parsed = parse_output_file(&text).unwrap();
        assert_eq!(parsed.len(), outputs.len(), "{text}");
        for (name, value) in &outputs {
            assert_eq!(parsed.get(*name), Some(value), "{name} in\n{text}");
        }
        assert!(!parsed.contains_key("who-am-i"), "{text}");
        for (name, _) in &outputs {
            let header = format!("{name}<<");
            let line = text.lines().find(|l| l.starts_with(&header)).unwrap();
            let delimiter = &line[header.len()..];
            let hex = delimiter.strip_prefix(DELIMITER_PREFIX).unwrap();
            assert_eq!(hex.len(), 32, "{delimiter}");
            assert!(hex.chars().all(|c| c.is_ascii_hexdigit()), "{delimiter}");
        }
    }

    #[test]
    fn a_delimiter_found_in_the_value_is_drawn_again() {
        // The value holds the first delimiter the generator offers: using it
        // would end the value early and let `forged` become an output.
        let value = "before\nghadelimiter_aaaa\nforged<<X\nX\nafter".to_string();
        let outputs = vec![("summary", value.clone())];
        let mut offered = vec!["ghadelimiter_bbbb", "ghadelimiter_aaaa"];
        let mut next = || offered.pop().unwrap().to_string();
        let text = encode_with(&outputs, &mut next);
        assert!(text.starts_with("summary<<ghadelimiter_bbbb\n"), "{text}");
        let parsed = parse_output_file(&text).unwrap();
        assert_eq!(parsed.len(), 1, "{text}");
        assert_eq!(parsed["summary"], value);
    }

    #[test]
    fn appending_keeps_what_earlier_commands_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("output");
        // An earlier `echo -n` left no final newline.
        std::fs::write(&file, "earlier=1\nother<<EOF\nx\nEOF\nlast=2").unwrap();
        append_outputs(&file, &[("image", "ghcr.io/acme/app".to_string())]).unwrap();
        append_outputs(&file, &[("digest", "sha256:00".to_string())]).unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.starts_with("earlier=1\nother<<EOF\nx\nEOF\nlast=2\n"),
            "{text}"
        );
        let parsed = parse_output_file(&text).unwrap();
        assert_eq!(parsed["earlier"], "1");
        assert_eq!(parsed["other"], "x");
        assert_eq!(parsed["last"], "2");
        assert_eq!(parsed["image"], "ghcr.io/acme/app");
        assert_eq!(parsed["digest"], "sha256:00");
    }

    #[test]
    fn the_summary_is_appended_as_a_new_block() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("summary.md");
        std::fs::write(&file, "# Build\nearlier step").unwrap();
        append_summary(&file, "## wharf run\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            "# Build\nearlier step\n\n## wharf run\n"
        );
    }

    #[test]
    fn workflow_command_data_is_escaped_like_the_toolkit() {
        assert_eq!(escape_data("100% done\r\nnext"), "100%25 done%0D%0Anext");
        // Already-escaped text must not be decoded into a line break.
        assert_eq!(escape_data("%0A"), "%250A");
        assert_eq!(command("group", "sign"), "::group::sign");
        assert_eq!(command("endgroup", ""), "::endgroup::");
        let injected = command("error", "scan failed\n::add-mask::x\n::stop-commands::t");
        assert_eq!(injected.lines().count(), 1, "{injected}");
        assert!(
            injected.starts_with("::error::scan failed%0A::add-mask::"),
            "{injected}"
        );
    }
}
