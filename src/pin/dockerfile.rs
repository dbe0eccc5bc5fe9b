//! Image references in Dockerfiles and Containerfiles.
//!
//! `wharf pin` adds `@sha256:…` to each base image by replacing exactly the
//! bytes of the reference and nothing else, so this finder must see the file
//! the way the build does — otherwise it would pin a `FROM` line that is
//! really heredoc content, or miss one that a line continuation hides. It
//! therefore reads the file with [`crate::dockerfile`], BuildKit's parser
//! (directives, continuations, heredocs, builder flags, `ARG` words), whose
//! instructions remember the file offset of every byte, so a reference maps
//! back to a byte-exact span of the original text (BOM, CRLF and all).
//!
//! It reports images, never stages: `scratch`, stage names and stage indexes
//! are skipped. A `FROM $NAME` whose global `ARG NAME=…` has a plain default is
//! reported at the default, so pinning edits the `ARG` line. Anything else the
//! build would compute from build args is reported as unresolvable with the
//! reason, never guessed.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use super::site::{FindError, Patch, Site, SiteState};
use crate::dockerfile::{arg_words, csv_fields, plain_words, stage_name, Command, Instruction};
use crate::reference::Reference;
use crate::text::LineIndex;

/// Every image reference in a Dockerfile's text. A file BuildKit would
/// refuse is an error at its first problem: pinning it would hide that.
pub fn find(text: &str) -> Result<Vec<Site>, FindError> {
    let parsed = crate::dockerfile::parse(text);
    if let Some(error) = parsed.errors.into_iter().next() {
        return Err(FindError::at(error.line, error.message));
    }
    Finder {
        text,
        lines: LineIndex::new(text),
        escape: parsed.escape,
        sites: Vec::new(),
        seen: HashSet::new(),
        global_args: HashMap::new(),
    }
    .run(&parsed.instructions)
}

// ---------------------------------------------------------------------------
// Values as the build sees them.

/// A value's text with the file offset of each of its bytes.
#[derive(Debug, Clone)]
struct Word {
    value: String,
    origin: Vec<usize>,
}

impl Word {
    fn new(bytes: &[u8], origin: Vec<usize>) -> Word {
        Word {
            value: String::from_utf8_lossy(bytes).into_owned(),
            origin,
        }
    }

    fn start(&self) -> usize {
        self.origin.first().copied().unwrap_or_default()
    }

    /// The span of the value in the file, if its bytes stand together there
    /// (not split by a continuation or by quotes).
    fn span(&self, text: &str) -> Option<Range<usize>> {
        let start = *self.origin.first()?;
        let span = start..start + self.origin.len();
        let contiguous = self.origin.iter().enumerate().all(|(i, &o)| o == start + i);
        (contiguous && text.get(span.clone()) == Some(self.value.as_str())).then_some(span)
    }
}

/// What a written word (a `FROM` image, an `ARG` default) means to the build,
/// which runs it through a shell-like expansion.
#[derive(Debug, Clone)]
enum Value {
    Empty,
    /// Plain text, or text wholly inside one pair of quotes.
    Literal(Word),
    /// Uses `$`: the build computes it from build args.
    Dynamic(String),
    /// Quotes or escapes inside the word: only a shell could say what it is,
    /// and no single span holds it.
    Quoted(String),
}

fn classify(raw: &str, origin: &[usize], escape: char) -> Value {
    let inner = |quote: char| {
        let inner = raw.strip_prefix(quote)?.strip_suffix(quote)?;
        (!inner.contains(quote)).then_some(inner)
    };
    let literal = |text: &str, origin: &[usize]| {
        if text.is_empty() {
            Value::Empty
        } else {
            Value::Literal(Word::new(text.as_bytes(), origin.to_vec()))
        }
    };
    // In single quotes everything is literal, `$` and escapes included.
    if let Some(text) = inner('\'') {
        return literal(
            text,
            origin
                .get(1..origin.len().saturating_sub(1))
                .unwrap_or_default(),
        );
    }
    let (text, origin) = match inner('"') {
        Some(text) if !text.contains(escape) => (
            text,
            origin
                .get(1..origin.len().saturating_sub(1))
                .unwrap_or_default(),
        ),
        _ => (raw, origin),
    };
    if text.contains('$') {
        Value::Dynamic(text.to_string())
    } else if text.contains(['"', '\'', escape]) {
        Value::Quoted(raw.to_string())
    } else {
        literal(text, origin)
    }
}

/// How a dynamic value uses build args.
enum ArgUse<'a> {
    /// Exactly `$NAME` or `${NAME}`.
    Whole(&'a str),
    /// Anything else; `expr` is the first expansion (`${TAG}`, `${X:-y}`),
    /// `modifier` whether it has more than a name in the braces.
    Part {
        expr: &'a str,
        name: &'a str,
        modifier: bool,
    },
}

fn arg_use(text: &str) -> ArgUse<'_> {
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let Some(dollar) = text.find('$') else {
        return ArgUse::Part {
            expr: text,
            name: "",
            modifier: false,
        };
    };
    let after = &text[dollar + 1..];
    let (expr_len, name, modifier) = if let Some(braced) = after.strip_prefix('{') {
        let close = braced.find('}');
        let inside = &braced[..close.unwrap_or(braced.len())];
        let name_len = inside.len() - inside.trim_start_matches(is_name_char).len();
        // `$`, `{`, the inside and `}` (absent when never closed).
        let expr_len = 2 + close.map_or(braced.len(), |c| c + 1);
        (
            expr_len,
            &inside[..name_len],
            name_len < inside.len() || close.is_none(),
        )
    } else {
        let name_len = after.len() - after.trim_start_matches(is_name_char).len();
        (1 + name_len, &after[..name_len], false)
    };
    let expr = &text[dollar..dollar + expr_len];
    let valid_name = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
    if dollar == 0 && expr_len == text.len() && !modifier && valid_name {
        ArgUse::Whole(name)
    } else {
        ArgUse::Part {
            expr,
            name,
            modifier,
        }
    }
}

// ---------------------------------------------------------------------------
// The walk over instructions.

struct Finder<'a> {
    text: &'a str,
    lines: LineIndex,
    escape: char,
    sites: Vec<Site>,
    /// Origins already reported: a global `ARG` default used by several
    /// `FROM`s is one site.
    seen: HashSet<(usize, usize)>,
    /// `ARG`s before the first `FROM`; `None` when declared without default.
    global_args: HashMap<String, Option<Value>>,
}

impl Finder<'_> {
    fn line_of(&self, offset: usize) -> usize {
        self.lines.line_of(offset)
    }

    fn run(mut self, instructions: &[Instruction]) -> Result<Vec<Site>, FindError> {
        let commands: Vec<&Command> = instructions.iter().map(|i| &i.command).collect();
        // `COPY --from` and `--mount from=` look stages up after all are
        // declared, so a later stage counts there; `FROM` sees only earlier
        // ones.
        let all_stages: HashSet<String> = instructions
            .iter()
            .zip(&commands)
            .filter(|(_, c)| c.name == "from")
            .filter_map(|(i, c)| stage_name(c.args(&i.text)))
            .collect();
        let mut earlier_stages: HashSet<String> = HashSet::new();
        let mut in_stages = false;
        for (instruction, &command) in instructions.iter().zip(&commands) {
            match command.name.as_str() {
                "arg" if !in_stages => self.declare_args(instruction, command),
                "from" => {
                    self.from(instruction, command, &earlier_stages)?;
                    in_stages = true;
                    earlier_stages.extend(stage_name(command.args(&instruction.text)));
                }
                "copy" => {
                    for (bytes, at) in command.flags.iter().filter_map(|f| f.value("from")) {
                        self.stage_or_image(instruction, bytes, at, &all_stages, "COPY --from")?;
                    }
                }
                "run" => {
                    for (bytes, at) in command.flags.iter().filter_map(|f| f.value("mount")) {
                        for field in csv_fields(bytes, at) {
                            let Some(eq) = field.bytes.iter().position(|&b| b == b'=') else {
                                continue;
                            };
                            if field.bytes[..eq].eq_ignore_ascii_case(b"from") {
                                let (value, at) = (&field.bytes[eq + 1..], &field.at[eq + 1..]);
                                self.stage_or_image(
                                    instruction,
                                    value,
                                    at,
                                    &all_stages,
                                    "RUN --mount from",
                                )?;
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(self.sites)
    }

    fn declare_args(&mut self, instruction: &Instruction, command: &Command) {
        let args = command.args(&instruction.text);
        for word in arg_words(args, self.escape) {
            let at = command.args.start + word.start;
            let raw = &args[word];
            match raw.split_once('=') {
                Some(("", _)) => {}
                Some((name, value)) => {
                    let start = at + name.len() + 1;
                    let origin = instruction
                        .origin
                        .get(start..start + value.len())
                        .unwrap_or_default();
                    let value = classify(value, origin, self.escape);
                    self.global_args.insert(name.to_string(), Some(value));
                }
                // Declaring again without a default keeps the earlier one.
                None => {
                    self.global_args.entry(raw.to_string()).or_insert(None);
                }
            }
        }
    }

    fn from(
        &mut self,
        instruction: &Instruction,
        command: &Command,
        earlier_stages: &HashSet<String>,
    ) -> Result<(), FindError> {
        let args = command.args(&instruction.text);
        let words = plain_words(args);
        let image = match words.as_slice() {
            [] => {
                return Err(FindError::at(
                    instruction.line,
                    "FROM has no image: write FROM [--platform=PLATFORM] IMAGE [AS NAME]",
                ))
            }
            [image] => image,
            [image, as_, _] if args[as_.clone()].eq_ignore_ascii_case("as") => image,
            _ => {
                return Err(FindError::at(
                    instruction.line,
                    format!("FROM {args:?} is not IMAGE or IMAGE AS NAME: write FROM [--platform=PLATFORM] IMAGE [AS NAME]"),
                ))
            }
        };
        let raw = &args[image.clone()];
        let start = command.args.start + image.start;
        let origin = instruction
            .origin
            .get(start..start + raw.len())
            .unwrap_or_default();
        let line = self.line_of(origin.first().copied().unwrap_or_default());
        let is_stage = |name: &str| {
            name.eq_ignore_ascii_case("scratch") || earlier_stages.contains(&name.to_lowercase())
        };
        match classify(raw, origin, self.escape) {
            Value::Empty => Err(FindError::at(
                line,
                "FROM has an empty image name: write the image to build on",
            )),
            Value::Literal(word) if is_stage(&word.value) => Ok(()),
            Value::Literal(word) => self.report(&word, "FROM image"),
            Value::Quoted(_) => {
                self.unresolvable(line, raw, "has quotes or escapes inside it, so wharf cannot tell the image or pin it in place: write it as one plain word");
                Ok(())
            }
            Value::Dynamic(text) => match arg_use(&text) {
                ArgUse::Whole(name) => match self.global_args.get(name).cloned() {
                    Some(Some(Value::Literal(word))) if is_stage(&word.value) => Ok(()),
                    Some(Some(Value::Literal(word))) => self.report(
                        &word,
                        &format!("ARG {name}'s default (the image of FROM on line {line})"),
                    ),
                    other => {
                        let reason = arg_reason(name, &format!("${{{name}}}"), other.as_ref());
                        self.unresolvable(line, raw, &reason);
                        Ok(())
                    }
                },
                ArgUse::Part {
                    expr,
                    modifier: true,
                    ..
                } => {
                    let reason = format!(
                        "uses the build-arg expression {expr}, whose value wharf does not guess: put the whole image in one \
                         ARG default (ARG IMAGE=repo:tag, then FROM ${{IMAGE}}), or pin the image where the arg is set"
                    );
                    self.unresolvable(line, raw, &reason);
                    Ok(())
                }
                ArgUse::Part { expr, name, .. } => {
                    let declared = self.global_args.get(name).cloned();
                    let reason = match declared {
                        _ if name.is_empty() => format!(
                            "has a {expr:?} that names no build arg wharf can read: write the image in full"
                        ),
                        Some(Some(Value::Literal(_))) => format!(
                            "uses build arg {expr} for part of the reference, and wharf pins only a whole reference: put \
                             the whole image in one ARG default (ARG IMAGE=repo:tag, then FROM ${{IMAGE}}), or pin the \
                             image where the arg is set"
                        ),
                        other => arg_reason(name, expr, other.as_ref()),
                    };
                    self.unresolvable(line, raw, &reason);
                    Ok(())
                }
            },
        }
    }

    /// `COPY --from=X` and `RUN --mount=…,from=X`: a stage name, a stage
    /// index, or an image.
    fn stage_or_image(
        &mut self,
        instruction: &Instruction,
        bytes: &[u8],
        at: &[usize],
        stages: &HashSet<String>,
        what: &str,
    ) -> Result<(), FindError> {
        let origin: Vec<usize> = at
            .iter()
            .filter_map(|&i| instruction.origin.get(i).copied())
            .collect();
        let word = Word::new(bytes, origin);
        let value = word.value.as_str();
        if value.is_empty()
            || value.bytes().all(|b| b.is_ascii_digit())
            || value.eq_ignore_ascii_case("scratch")
            || stages.contains(&value.to_lowercase())
        {
            return Ok(());
        }
        if value.contains('$') {
            let line = self.line_of(word.start());
            let expr = match arg_use(value) {
                ArgUse::Whole(name) => format!("${{{name}}}"),
                ArgUse::Part { expr, .. } => expr.to_string(),
            };
            let reason = format!(
                "uses build arg {expr} in {what}, where wharf does not expand build args (BuildKit refuses them there \
                 too): write the image in full, or add a stage FROM {expr} and copy from that stage"
            );
            self.unresolvable(line, value, &reason);
            return Ok(());
        }
        self.report(&word, what)
    }

    fn report(&mut self, word: &Word, what: &str) -> Result<(), FindError> {
        let start = word.start();
        if !self.seen.insert((start, start + word.origin.len())) {
            return Ok(());
        }
        let line = self.line_of(start);
        let reference = Reference::parse(&word.value)
            .map_err(|e| FindError::at(line, format!("{what}: {e}")))?;
        let state = if reference.digest().is_some() {
            SiteState::Pinned(reference)
        } else if let Some(span) = word.span(self.text) {
            SiteState::Unpinned(reference, Patch::Reference { span })
        } else {
            SiteState::Unresolvable {
                text: word.value.clone(),
                reason: "is split across lines or quoted in pieces, so wharf cannot pin it in place: write it as one \
                         word on one line"
                    .to_string(),
            }
        };
        self.sites.push(Site { line, state });
        Ok(())
    }

    fn unresolvable(&mut self, line: usize, text: &str, reason: &str) {
        self.sites.push(Site {
            line,
            state: SiteState::Unresolvable {
                text: text.to_string(),
                reason: reason.to_string(),
            },
        });
    }
}

/// Why a `FROM` that uses build arg `name` (written `expr`) cannot be
/// resolved, given the arg's declaration before the first `FROM`.
fn arg_reason(name: &str, expr: &str, declared: Option<&Option<Value>>) -> String {
    match declared {
        None => format!(
            "uses build arg {expr}, which no ARG before the first FROM declares: declare it there with a default \
             value (ARG {name}=IMAGE), or pin the image where the arg is set"
        ),
        Some(None | Some(Value::Empty)) => format!(
            "uses build arg {expr}, which has no default value: give the ARG a default value, or pin the image where \
             the arg is set"
        ),
        Some(Some(Value::Dynamic(default))) => format!(
            "uses build arg {expr}, whose default {default:?} is built from other build args that wharf does not \
             guess: make the default a plain image reference, or pin the image where the arg is set"
        ),
        Some(Some(Value::Quoted(default))) => format!(
            "uses build arg {expr}, whose default {default} has quotes or escapes inside it: write the default as one \
             plain or fully quoted word so wharf can pin it"
        ),
        Some(Some(Value::Literal(word))) => format!(
            "uses build arg {expr} (default {:?}) in a way wharf does not resolve: pin the image where the arg is set",
            word.value
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::line_of;

    fn digest() -> String {
        format!("sha256:{}", "0".repeat(64))
    }

    /// Applies every `Unpinned` site's patch as `wharf pin` would (original
    /// text + `@digest`), checking first that each span holds exactly the
    /// reference's text.
    fn pin_all(text: &str, sites: &[Site]) -> String {
        let mut patches: Vec<(Range<usize>, String)> = sites
            .iter()
            .filter_map(|site| match &site.state {
                SiteState::Unpinned(reference, patch) => {
                    let span = patch.span();
                    assert_eq!(
                        &text[span.clone()],
                        reference.as_str(),
                        "span of {reference}"
                    );
                    assert_eq!(site.line, line_of(text, span.start), "line of {reference}");
                    Some((span, format!("{}@{}", reference.as_str(), digest())))
                }
                _ => None,
            })
            .collect();
        patches.sort_by_key(|(span, _)| std::cmp::Reverse(span.start));
        let mut out = text.to_string();
        for (span, replacement) in patches {
            out.replace_range(span, &replacement);
        }
        out
    }

    /// Each site as `(line, kind, text)`, for compact assertions.
    fn summary(sites: &[Site]) -> Vec<(usize, &'static str, String)> {
        sites
            .iter()
            .map(|site| match &site.state {
                SiteState::Pinned(r) => (site.line, "pinned", r.as_str().to_string()),
                SiteState::Unpinned(r, _) => (site.line, "unpinned", r.as_str().to_string()),
                SiteState::Unresolvable { text, .. } => (site.line, "unresolvable", text.clone()),
            })
            .collect()
    }

    fn unpinned(line: usize, text: &str) -> (usize, &'static str, String) {
        (line, "unpinned", text.to_string())
    }

    /// Finds, checks the sites, and checks the fully pinned text.
    fn check(text: &str, expected: &[(usize, &'static str, String)], pinned: &str) -> Vec<Site> {
        let sites = find(text).unwrap();
        assert_eq!(summary(&sites), expected);
        assert_eq!(pin_all(text, &sites), pinned);
        sites
    }

    fn reason(site: &Site) -> &str {
        match &site.state {
            SiteState::Unresolvable { reason, .. } => reason,
            other => panic!("expected unresolvable, got {other:?}"),
        }
    }

    fn error(text: &str) -> FindError {
        find(text).unwrap_err()
    }

    #[test]
    fn plain_from_lines_and_stages() {
        let text = "FROM golang:1.22 AS build\nRUN go build\nFROM build AS test\nFROM gcr.io/distroless/static:nonroot\nCOPY --from=build /app /app\n";
        let d = digest();
        check(
            text,
            &[unpinned(1, "golang:1.22"), unpinned(4, "gcr.io/distroless/static:nonroot")],
            &format!(
                "FROM golang:1.22@{d} AS build\nRUN go build\nFROM build AS test\nFROM gcr.io/distroless/static:nonroot@{d}\nCOPY --from=build /app /app\n"
            ),
        );
    }

    #[test]
    fn untagged_image_is_reported_without_a_tag() {
        let d = digest();
        check(
            "FROM nginx\n",
            &[unpinned(1, "nginx")],
            &format!("FROM nginx@{d}\n"),
        );
    }

    #[test]
    fn scratch_is_never_an_image() {
        let text = "FROM scratch\nFROM SCRATCH AS two\nFROM Scratch\nCOPY --from=scratch / /\n";
        assert_eq!(find(text).unwrap(), vec![]);
    }

    #[test]
    fn stage_names_are_case_insensitive_and_only_earlier_ones_count_for_from() {
        let d = digest();
        let text = "FROM alpine:3.19 AS Base\nFROM BASE\nFROM base AS final\nFROM final\nFROM later\nFROM busybox AS later\n";
        check(
            text,
            &[unpinned(1, "alpine:3.19"), unpinned(5, "later"), unpinned(6, "busybox")],
            &format!(
                "FROM alpine:3.19@{d} AS Base\nFROM BASE\nFROM base AS final\nFROM final\nFROM later@{d}\nFROM busybox@{d} AS later\n"
            ),
        );
    }

    #[test]
    fn a_stage_named_like_its_own_image_is_still_an_image() {
        let d = digest();
        check(
            "FROM node AS node\n",
            &[unpinned(1, "node")],
            &format!("FROM node@{d} AS node\n"),
        );
    }

    #[test]
    fn instructions_are_case_insensitive() {
        let d = digest();
        let text = "from alpine:3.19 as a\nFrOm debian:12\ncopy --from=nginx:1.25 /a /b\nRun --mount=type=bind,from=busybox:1,target=/x true\n";
        check(
            text,
            &[unpinned(1, "alpine:3.19"), unpinned(2, "debian:12"), unpinned(3, "nginx:1.25"), unpinned(4, "busybox:1")],
            &format!(
                "from alpine:3.19@{d} as a\nFrOm debian:12@{d}\ncopy --from=nginx:1.25@{d} /a /b\nRun --mount=type=bind,from=busybox:1@{d},target=/x true\n"
            ),
        );
    }

    #[test]
    fn continuation_splits_from_and_its_image() {
        let d = digest();
        let text = "FROM \\\n  image:tag AS x\nRUN true\n";
        check(
            text,
            &[unpinned(2, "image:tag")],
            &format!("FROM \\\n  image:tag@{d} AS x\nRUN true\n"),
        );

        // Flags on one line, image on the next, with trailing blanks after
        // the escape.
        let text =
            "FROM --platform=linux/amd64 \\  \t\n    ghcr.io/org/app:v1 \\\n    AS app\nFROM app\n";
        check(
            text,
            &[unpinned(2, "ghcr.io/org/app:v1")],
            &format!("FROM --platform=linux/amd64 \\  \t\n    ghcr.io/org/app:v1@{d} \\\n    AS app\nFROM app\n"),
        );
    }

    #[test]
    fn comment_and_blank_lines_inside_a_continuation_are_skipped() {
        let d = digest();
        let text = "FROM \\\n# the base image\n   # indented comment with FROM evil:1\n\n  \t\n  python:3.12-slim\nRUN pip install x\n";
        check(
            text,
            &[unpinned(6, "python:3.12-slim")],
            &format!(
                "FROM \\\n# the base image\n   # indented comment with FROM evil:1\n\n  \t\n  python:3.12-slim@{d}\nRUN pip install x\n"
            ),
        );
    }

    #[test]
    fn a_run_continuation_hides_a_from_word() {
        // The second line belongs to RUN: it is not an instruction.
        let text = "FROM alpine:3.19\nRUN echo \\\nFROM evil:1\n";
        assert_eq!(
            summary(&find(text).unwrap()),
            vec![unpinned(1, "alpine:3.19")]
        );
    }

    #[test]
    fn an_escaped_escape_at_end_of_line_is_not_a_continuation() {
        let text = "FROM alpine:3.19\nRUN echo \\\\\nFROM debian:12\n";
        assert_eq!(
            summary(&find(text).unwrap()),
            vec![unpinned(1, "alpine:3.19"), unpinned(3, "debian:12")]
        );
    }

    #[test]
    fn a_reference_split_by_a_continuation_cannot_be_pinned_in_place() {
        let sites = find("FROM ngi\\\nnx:1.25\n").unwrap();
        assert_eq!(
            summary(&sites),
            vec![(1, "unresolvable", "nginx:1.25".to_string())]
        );
        assert!(
            reason(&sites[0]).contains("one word on one line"),
            "{}",
            reason(&sites[0])
        );

        // Already pinned: nothing to patch, so splitting does not matter.
        let pinned = format!("nginx@{}", digest());
        let text = format!("FROM {}\\\n{}\n", &pinned[..3], &pinned[3..]);
        assert_eq!(summary(&find(&text).unwrap()), vec![(1, "pinned", pinned)]);
    }

    #[test]
    fn backtick_escape_directive_makes_backslash_literal() {
        let d = digest();
        let text = "# escape=`\n\nFROM mcr.microsoft.com/windows/servercore:ltsc2022 AS base\nRUN dir C:\\\nFROM mcr.microsoft.com/powershell:lts `\n    AS ps\nCOPY --from=base C:\\app\\ C:\\app\\\nFROM `\n  nginx:1.25\n";
        check(
            text,
            &[
                unpinned(3, "mcr.microsoft.com/windows/servercore:ltsc2022"),
                unpinned(5, "mcr.microsoft.com/powershell:lts"),
                unpinned(9, "nginx:1.25"),
            ],
            &format!(
                "# escape=`\n\nFROM mcr.microsoft.com/windows/servercore:ltsc2022@{d} AS base\nRUN dir C:\\\nFROM mcr.microsoft.com/powershell:lts@{d} `\n    AS ps\nCOPY --from=base C:\\app\\ C:\\app\\\nFROM `\n  nginx:1.25@{d}\n"
            ),
        );
    }

    #[test]
    fn directives_are_case_insensitive_and_may_follow_syntax() {
        let text = "#SYNTAX = docker/dockerfile:1.7\n#  Escape = `\nFROM alpine:3.19\nRUN echo \\\nFROM debian:12\n";
        // With ` as escape, the RUN line ends in a literal backslash.
        assert_eq!(
            summary(&find(text).unwrap()),
            vec![unpinned(3, "alpine:3.19"), unpinned(5, "debian:12")]
        );
    }

    #[test]
    fn directives_stop_at_the_first_other_line() {
        // After a plain comment, a blank line or an unknown directive,
        // `# escape=` is only a comment: backslash still continues lines.
        for prefix in ["# a comment\n", "\n", "# unknown=1\n", "FROM busybox:1\n"] {
            let text = format!("{prefix}# escape=`\nFROM alpine:3.19\nRUN echo \\\nFROM evil:1\n");
            let found = summary(&find(&text).unwrap());
            assert!(
                !found.iter().any(|(_, _, t)| t == "evil:1"),
                "{prefix:?}: {found:?}"
            );
            assert!(
                found.iter().any(|(_, _, t)| t == "alpine:3.19"),
                "{prefix:?}: {found:?}"
            );
        }
    }

    #[test]
    fn bad_directives_are_errors() {
        let err = error("# escape=x\nFROM alpine\n");
        assert_eq!(err.line, Some(1));
        assert!(err.message.contains("must be \\ or `"), "{err}");
        let err = error("# escape=`\n# escape=\\\nFROM alpine\n");
        assert_eq!(err.line, Some(2));
        assert!(err.message.contains("given twice"), "{err}");
    }

    #[test]
    fn heredoc_bodies_are_not_instructions() {
        let d = digest();
        let text = "FROM alpine:3.19\nRUN <<EOF\nFROM evil:1\nCOPY --from=evil:2 / /\nEOF\nFROM debian:12\n";
        check(
            text,
            &[unpinned(1, "alpine:3.19"), unpinned(6, "debian:12")],
            &format!("FROM alpine:3.19@{d}\nRUN <<EOF\nFROM evil:1\nCOPY --from=evil:2 / /\nEOF\nFROM debian:12@{d}\n"),
        );
    }

    #[test]
    fn chomping_heredoc_ends_at_a_tab_indented_terminator() {
        let d = digest();
        // Without `-`, a tab-indented `EOT` would not end it; with `<<-` it does.
        let text = "FROM alpine:3.19\nRUN cat <<-EOT > /x\n\tFROM evil:1\n\tEOT\nFROM debian:12\n";
        check(
            text,
            &[unpinned(1, "alpine:3.19"), unpinned(5, "debian:12")],
            &format!("FROM alpine:3.19@{d}\nRUN cat <<-EOT > /x\n\tFROM evil:1\n\tEOT\nFROM debian:12@{d}\n"),
        );
        // The same without `-`: the indented line is content, and the
        // heredoc never ends.
        let err =
            error("FROM alpine:3.19\nRUN cat <<EOT > /x\n\tFROM evil:1\n\tEOT\nFROM debian:12\n");
        assert_eq!(err.line, Some(2));
    }

    #[test]
    fn two_heredocs_in_one_instruction_are_read_in_order() {
        let d = digest();
        let text = "FROM alpine:3.19\nCOPY <<A <<B /dst/\nFROM evil:1\nA\nFROM evil:2\nB\nFROM debian:12\n";
        check(
            text,
            &[unpinned(1, "alpine:3.19"), unpinned(7, "debian:12")],
            &format!("FROM alpine:3.19@{d}\nCOPY <<A <<B /dst/\nFROM evil:1\nA\nFROM evil:2\nB\nFROM debian:12@{d}\n"),
        );
    }

    #[test]
    fn quoted_and_spaced_heredoc_names() {
        let text = "FROM alpine:3.19\nRUN <<\"EOF\"\nFROM evil:1\nEOF\nRUN <<'END' bash\nFROM evil:2\nEND\nRUN cat << DONE\nFROM evil:3\nDONE\nADD 2<<x /x\nFROM evil:4\nx\nFROM debian:12\n";
        assert_eq!(
            summary(&find(text).unwrap()),
            vec![unpinned(1, "alpine:3.19"), unpinned(14, "debian:12")]
        );
    }

    #[test]
    fn heredoc_under_onbuild_and_after_a_continuation() {
        let text = "FROM alpine:3.19\nONBUILD RUN <<EOF\nFROM evil:1\nEOF\nRUN --mount=type=cache,target=/c \\\n  <<EOF\nFROM evil:2\nEOF\nFROM debian:12\n";
        assert_eq!(
            summary(&find(text).unwrap()),
            vec![unpinned(1, "alpine:3.19"), unpinned(9, "debian:12")]
        );
    }

    #[test]
    fn text_that_only_looks_like_a_heredoc_opens_none() {
        // Exec form runs no shell, `<<` inside quotes is a string, `<<<` is a
        // here-string, other instructions cannot open heredocs.
        for line in [
            "RUN [\"sh\", \"-c\", \"cat <<EOF\"]",
            "RUN echo \"<<EOF\"",
            "RUN cat <<<'word'",
            "LABEL x=<<EOF",
            "RUN cat<<EOF",
        ] {
            let text = format!("FROM alpine:3.19\n{line}\nFROM debian:12\n");
            let found = summary(&find(&text).unwrap());
            assert_eq!(
                found,
                vec![unpinned(1, "alpine:3.19"), unpinned(3, "debian:12")],
                "{line}"
            );
        }
    }

    #[test]
    fn unterminated_heredoc_is_an_error_at_its_start() {
        let err = error("FROM alpine:3.19\n\nRUN <<EOF\necho hi\n");
        assert_eq!(err.line, Some(3));
        assert!(
            err.message.contains("<<EOF") && err.message.contains("exactly EOF"),
            "{err}"
        );
        // The second of two heredocs missing its terminator.
        let err = error("FROM alpine:3.19\nCOPY <<A <<B /d/\nA\n");
        assert_eq!(err.line, Some(2));
        assert!(err.message.contains("<<B"), "{err}");
    }

    #[test]
    fn crlf_spans_are_exact() {
        let d = digest();
        let text = "FROM image:tag AS a\r\nRUN echo \\\r\n  done\r\nFROM \\\r\n  other:1\r\nRUN <<EOF\r\nFROM evil:1\r\nEOF\r\nCOPY --from=nginx:1.25 /a /b\r\n";
        let sites = check(
            text,
            &[unpinned(1, "image:tag"), unpinned(5, "other:1"), unpinned(9, "nginx:1.25")],
            &format!(
                "FROM image:tag@{d} AS a\r\nRUN echo \\\r\n  done\r\nFROM \\\r\n  other:1@{d}\r\nRUN <<EOF\r\nFROM evil:1\r\nEOF\r\nCOPY --from=nginx:1.25@{d} /a /b\r\n"
            ),
        );
        let SiteState::Unpinned(_, patch) = &sites[0].state else {
            panic!()
        };
        assert_eq!(&text[patch.span()], "image:tag");
    }

    #[test]
    fn bom_is_skipped_and_spans_count_it() {
        let d = digest();
        let text = "\u{feff}# escape=`\nFROM image:tag\nRUN dir C:\\\nFROM other:2\n";
        let sites = check(
            text,
            &[unpinned(2, "image:tag"), unpinned(4, "other:2")],
            &format!("\u{feff}# escape=`\nFROM image:tag@{d}\nRUN dir C:\\\nFROM other:2@{d}\n"),
        );
        let SiteState::Unpinned(_, patch) = &sites[0].state else {
            panic!()
        };
        assert_eq!(patch.span(), 19..28);
        let d2 = digest();
        check(
            "\u{feff}FROM a:1",
            &[unpinned(1, "a:1")],
            &format!("\u{feff}FROM a:1@{d2}"),
        );
    }

    #[test]
    fn no_trailing_newline_and_multibyte_text_around() {
        let d = digest();
        let text = "# café ☕\nLABEL é=ü\nFROM  \t alpine:3.19  ";
        check(
            text,
            &[unpinned(3, "alpine:3.19")],
            &format!("# café ☕\nLABEL é=ü\nFROM  \t alpine:3.19@{d}  "),
        );
    }

    #[test]
    fn platform_flag_with_build_arg_is_not_the_image() {
        let d = digest();
        let text = "FROM --platform=$BUILDPLATFORM golang:1.22 AS build\nFROM --platform=\"linux/arm64\" alpine:3.19\n";
        check(
            text,
            &[unpinned(1, "golang:1.22"), unpinned(2, "alpine:3.19")],
            &format!("FROM --platform=$BUILDPLATFORM golang:1.22@{d} AS build\nFROM --platform=\"linux/arm64\" alpine:3.19@{d}\n"),
        );
    }

    #[test]
    fn copy_from_an_image_a_stage_or_an_index() {
        let d = digest();
        let text = "FROM alpine:3.19 AS build\nFROM debian:12\nCOPY --from=nginx:1.25 /a /b\nCOPY --from=0 /x /y\nCOPY --from=1 /x /y\nCOPY --from=BUILD /x /y\nCOPY --from=later /x /y\nCOPY --chown=1:1 --from=\"redis:7\" /x /y\nCOPY --link --from=ghcr.io/o/tool:2 --chmod=755 /t /t\nCOPY --from= /x /y\nFROM busybox:1 AS later\n";
        check(
            text,
            &[
                unpinned(1, "alpine:3.19"),
                unpinned(2, "debian:12"),
                unpinned(3, "nginx:1.25"),
                unpinned(8, "redis:7"),
                unpinned(9, "ghcr.io/o/tool:2"),
                unpinned(11, "busybox:1"),
            ],
            &format!(
                "FROM alpine:3.19@{d} AS build\nFROM debian:12@{d}\nCOPY --from=nginx:1.25@{d} /a /b\nCOPY --from=0 /x /y\nCOPY --from=1 /x /y\nCOPY --from=BUILD /x /y\nCOPY --from=later /x /y\nCOPY --chown=1:1 --from=\"redis:7@{d}\" /x /y\nCOPY --link --from=ghcr.io/o/tool:2@{d} --chmod=755 /t /t\nCOPY --from= /x /y\nFROM busybox:1@{d} AS later\n"
            ),
        );
    }

    #[test]
    fn copy_arguments_that_are_not_flags_are_ignored() {
        // `--from=` after the source is a path, not a flag; JSON form too.
        let text = "FROM alpine:3.19\nCOPY ./src --from=evil:1 /dst\nCOPY [\"--from=evil:2\", \"/d\"]\nADD --from=evil:3 /a /b\n";
        assert_eq!(
            summary(&find(text).unwrap()),
            vec![unpinned(1, "alpine:3.19")]
        );
    }

    #[test]
    fn run_mount_from_an_image_or_a_stage() {
        let d = digest();
        let text = "FROM golang:1.22 AS build\nRUN --mount=type=bind,from=build,source=/o,target=/o \\\n    --mount=type=cache,target=/root/.cache \\\n    --mount=type=bind,FROM=ghcr.io/o/certs:1,target=/certs \\\n    --mount=\"type=bind,from=busybox:1.36\" \\\n    --mount=type=bind,from=0,target=/z make\n";
        check(
            text,
            &[unpinned(1, "golang:1.22"), unpinned(4, "ghcr.io/o/certs:1"), unpinned(5, "busybox:1.36")],
            &format!(
                "FROM golang:1.22@{d} AS build\nRUN --mount=type=bind,from=build,source=/o,target=/o \\\n    --mount=type=cache,target=/root/.cache \\\n    --mount=type=bind,FROM=ghcr.io/o/certs:1@{d},target=/certs \\\n    --mount=\"type=bind,from=busybox:1.36@{d}\" \\\n    --mount=type=bind,from=0,target=/z make\n"
            ),
        );
    }

    #[test]
    fn copy_and_mount_from_with_build_args_are_unresolvable() {
        let text = "ARG IMG=nginx:1.25\nFROM alpine:3.19\nCOPY --from=${IMG} /a /b\nRUN --mount=type=bind,from=$IMG,target=/x true\n";
        let sites = find(text).unwrap();
        assert_eq!(
            summary(&sites),
            vec![
                unpinned(2, "alpine:3.19"),
                (3, "unresolvable", "${IMG}".into()),
                (4, "unresolvable", "$IMG".into())
            ]
        );
        assert!(
            reason(&sites[1]).contains("add a stage FROM ${IMG}"),
            "{}",
            reason(&sites[1])
        );
    }

    #[test]
    fn global_arg_default_is_pinned_on_the_arg_line() {
        let d = digest();
        let text = "ARG BASE=python:3.12-slim\nARG RUNTIME=\"gcr.io/distroless/python3:nonroot\"\nARG TOOL='ghcr.io/o/tool:2'\nFROM $BASE AS build\nFROM ${TOOL}\nFROM \"${RUNTIME}\"\nFROM ${BASE} AS again\n";
        check(
            text,
            &[
                unpinned(1, "python:3.12-slim"),
                unpinned(3, "ghcr.io/o/tool:2"),
                unpinned(2, "gcr.io/distroless/python3:nonroot"),
            ],
            &format!(
                "ARG BASE=python:3.12-slim@{d}\nARG RUNTIME=\"gcr.io/distroless/python3:nonroot@{d}\"\nARG TOOL='ghcr.io/o/tool:2@{d}'\nFROM $BASE AS build\nFROM ${{TOOL}}\nFROM \"${{RUNTIME}}\"\nFROM ${{BASE}} AS again\n"
            ),
        );
    }

    #[test]
    fn several_args_on_one_line_and_redeclaration() {
        let d = digest();
        // A later ARG without a default keeps the default; one with a
        // default replaces it.
        let text = "ARG A=alpine:3.18 B=debian:12\nARG A\nARG B=debian:12-slim\nFROM $A\nFROM $B\n";
        check(
            text,
            &[unpinned(1, "alpine:3.18"), unpinned(3, "debian:12-slim")],
            &format!("ARG A=alpine:3.18@{d} B=debian:12\nARG A\nARG B=debian:12-slim@{d}\nFROM $A\nFROM $B\n"),
        );
    }

    #[test]
    fn global_arg_naming_a_stage_or_scratch_is_skipped() {
        let text = "ARG BASE=build\nARG EMPTY=scratch\nFROM alpine:3.19 AS build\nFROM ${BASE}\nFROM $EMPTY\n";
        assert_eq!(
            summary(&find(text).unwrap()),
            vec![unpinned(3, "alpine:3.19")]
        );
    }

    #[test]
    fn args_after_the_first_from_are_not_global() {
        let text = "FROM alpine:3.19\nARG IMG=nginx:1.25\nFROM $IMG\n";
        let sites = find(text).unwrap();
        assert_eq!(
            summary(&sites),
            vec![
                unpinned(1, "alpine:3.19"),
                (3, "unresolvable", "$IMG".into())
            ]
        );
        assert!(
            reason(&sites[1]).contains("no ARG before the first FROM"),
            "{}",
            reason(&sites[1])
        );
    }

    #[test]
    fn build_args_the_file_does_not_settle_are_unresolvable() {
        let text = "ARG TAG=1.25\nARG REG\nARG NODEFAULT\nARG EMPTY=\nARG COMPOSED=${REG}/app:1\nFROM nginx:${TAG}\nFROM ${REG}/app\nFROM $NODEFAULT\nFROM ${EMPTY}\nFROM ${BASE:-alpine:3.19}\nFROM $COMPOSED\nFROM $UNDECLARED\nFROM \"${NODEFAULT}\"\n";
        let sites = find(text).unwrap();
        assert_eq!(
            summary(&sites),
            vec![
                (6, "unresolvable", "nginx:${TAG}".into()),
                (7, "unresolvable", "${REG}/app".into()),
                (8, "unresolvable", "$NODEFAULT".into()),
                (9, "unresolvable", "${EMPTY}".into()),
                (10, "unresolvable", "${BASE:-alpine:3.19}".into()),
                (11, "unresolvable", "$COMPOSED".into()),
                (12, "unresolvable", "$UNDECLARED".into()),
                (13, "unresolvable", "\"${NODEFAULT}\"".into()),
            ]
        );
        let reasons: Vec<&str> = sites.iter().map(reason).collect();
        assert!(
            reasons[0].contains("${TAG} for part of the reference"),
            "{}",
            reasons[0]
        );
        assert!(
            reasons[1].contains(
                "uses build arg ${REG}, which has no default value: give the ARG a default value"
            ),
            "{}",
            reasons[1]
        );
        assert!(
            reasons[2].contains("${NODEFAULT}, which has no default value"),
            "{}",
            reasons[2]
        );
        assert!(
            reasons[3].contains("${EMPTY}, which has no default value"),
            "{}",
            reasons[3]
        );
        assert!(
            reasons[4].contains("${BASE:-alpine:3.19}") && reasons[4].contains("does not guess"),
            "{}",
            reasons[4]
        );
        assert!(
            reasons[5].contains("built from other build args"),
            "{}",
            reasons[5]
        );
        assert!(
            reasons[6].contains("no ARG before the first FROM declares"),
            "{}",
            reasons[6]
        );
        let stray = find("FROM nginx$\n").unwrap();
        assert!(
            reason(&stray[0]).contains("names no build arg"),
            "{}",
            reason(&stray[0])
        );
        assert!(
            reasons[7].contains("${NODEFAULT}, which has no default value"),
            "{}",
            reasons[7]
        );
    }

    #[test]
    fn already_pinned_references_are_left_alone() {
        let d = digest();
        let text = format!(
            "ARG BASE=alpine:3.19@{d}\nFROM nginx:1.25@{d}\nFROM ghcr.io/o/app@{d} AS app\nFROM $BASE\nCOPY --from=busybox@{d} /a /b\n"
        );
        let sites = find(&text).unwrap();
        assert_eq!(
            summary(&sites),
            vec![
                (2, "pinned", format!("nginx:1.25@{d}")),
                (3, "pinned", format!("ghcr.io/o/app@{d}")),
                (1, "pinned", format!("alpine:3.19@{d}")),
                (5, "pinned", format!("busybox@{d}")),
            ]
        );
        assert_eq!(pin_all(&text, &sites), text);
    }

    #[test]
    fn quoted_from_image_is_pinned_inside_the_quotes() {
        let d = digest();
        check(
            "FROM \"nginx:1.25\" AS web\n",
            &[unpinned(1, "nginx:1.25")],
            &format!("FROM \"nginx:1.25@{d}\" AS web\n"),
        );
        // Quotes inside the word: only a shell knows what it is.
        let sites = find("FROM ngi\"nx\":1\n").unwrap();
        assert_eq!(
            summary(&sites),
            vec![(1, "unresolvable", "ngi\"nx\":1".into())]
        );
    }

    #[test]
    fn unknown_instructions_and_other_commands_are_ignored() {
        let text = "FROMAGE alpine:1\nFOO bar\nLABEL from=evil:1\nENV FROM=evil:2\nONBUILD COPY --from=evil:3 / /\nFROM alpine:3.19\n";
        assert_eq!(
            summary(&find(text).unwrap()),
            vec![unpinned(6, "alpine:3.19")]
        );
    }

    #[test]
    fn from_without_an_image_is_an_error() {
        for (text, line) in [
            ("FROM\n", 1),
            ("FROM alpine:3.19\n\nFROM --platform=linux/amd64\n", 3),
            ("FROM   \t\n", 1),
            ("FROM \\\n\n", 1),
        ] {
            let err = error(text);
            assert_eq!(err.line, Some(line), "{text:?}");
            assert!(err.message.contains("FROM has no image"), "{err}");
        }
        let err = error("FROM alpine:3.19 base\n");
        assert_eq!(err.line, Some(1));
        assert!(err.message.contains("IMAGE AS NAME"), "{err}");
        assert!(find("FROM \"\"\n")
            .unwrap_err()
            .message
            .contains("empty image"));
    }

    #[test]
    fn invalid_references_are_errors_naming_the_text() {
        let err = error("FROM alpine:3.19\n\nFROM Ubuntu:22.04\n");
        assert_eq!(err.line, Some(3));
        assert!(
            err.message.contains("\"Ubuntu:22.04\"") && err.message.contains("upper-case"),
            "{err}"
        );
        assert!(
            err.to_string()
                .starts_with("line 3: FROM image: invalid image reference"),
            "{err}"
        );

        let err = error("ARG IMG=Bad:1\nFROM alpine:3.19\nFROM $IMG\n");
        assert_eq!(err.line, Some(1));
        assert!(
            err.message.contains("ARG IMG's default") && err.message.contains("line 3"),
            "{err}"
        );

        let err = error("FROM alpine:3.19\nCOPY --from=Not_A_Stage /a /b\n");
        assert_eq!(err.line, Some(2));
        assert!(
            err.message
                .starts_with("COPY --from: invalid image reference \"Not_A_Stage\""),
            "{err}"
        );
    }

    #[test]
    fn single_quoted_default_is_literal() {
        // In single quotes `$` is not an expansion, so this is the literal
        // (invalid) text `$X`.
        let err = error("ARG IMG='$X'\nFROM $IMG\n");
        assert!(err.message.contains("\"$X\""), "{err}");
    }

    #[test]
    fn empty_and_comment_only_files_have_no_sites() {
        for text in [
            "",
            "\n",
            "\u{feff}",
            "# just a comment\n",
            "\r\n\r\n",
            "#",
            "\\",
            "`",
        ] {
            assert_eq!(find(text).unwrap(), vec![], "{text:?}");
        }
    }

    #[test]
    fn many_stages_keep_exact_lines_and_spans() {
        // Generated files can have thousands of stages; each one also
        // refers to the previous stage, which must stay a stage.
        let text: String = (0..1000)
            .map(|i| format!("FROM r{i}:1 AS s{i}\nCOPY --from=s{i} / /\nRUN echo \\\n  x\n"))
            .collect();
        let sites = find(&text).unwrap();
        assert_eq!(sites.len(), 1000);
        assert_eq!(sites[999].line, 4 * 999 + 1);
        let pinned = pin_all(&text, &sites);
        assert_eq!(pinned.matches(&digest()).count(), 1000);
    }

    /// A tiny deterministic generator, so failures reproduce.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// Whatever `find` returns, it must not panic, and every patch it offers
    /// must be a char-boundary span holding exactly the reference.
    fn check_invariants(text: &str) {
        if let Ok(sites) = find(text) {
            for site in &sites {
                if let SiteState::Unpinned(reference, patch) = &site.state {
                    let span = patch.span();
                    assert_eq!(text.get(span.clone()), Some(reference.as_str()), "{text:?}");
                    assert_eq!(site.line, line_of(text, span.start), "{text:?}");
                }
            }
        }
    }

    #[test]
    fn fuzz_random_bytes_never_panic() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        for _ in 0..3000 {
            let len = rng.below(200);
            let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            check_invariants(&String::from_utf8_lossy(&bytes));
        }
    }

    #[test]
    fn fuzz_dockerfile_shaped_text_never_panics() {
        const PIECES: &[&str] = &[
            "FROM ",
            "from ",
            "ARG ",
            "COPY ",
            "RUN ",
            "ONBUILD ",
            "ADD ",
            "--from=",
            "--mount=type=bind,from=",
            "--platform=$P ",
            "alpine:3.19",
            "Img",
            "ghcr.io/o/a:1",
            " AS ",
            " as ",
            "b",
            "0",
            "scratch",
            "$A",
            "${A}",
            "${A:-x}",
            "A=nginx:1",
            "A=\"nginx:1\"",
            "A='x'",
            "\"",
            "'",
            "\\",
            "`",
            "\\\n",
            "`\n",
            "\n",
            "\r\n",
            " ",
            "\t",
            "#",
            "# escape=`\n",
            "# escape=\\\n",
            "<<EOF",
            "<<-EOF",
            "<<'E'",
            "\nEOF\n",
            "\n\tEOF\n",
            "E\n",
            "[\"a\"]",
            "é",
            "☕",
            "\u{feff}",
            "@sha256:",
            "0123456789abcdef",
            "=",
            ",",
        ];
        let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
        for _ in 0..5000 {
            let n = rng.below(40);
            let text: String = (0..n).map(|_| PIECES[rng.below(PIECES.len())]).collect();
            check_invariants(&text);
        }
    }
}
