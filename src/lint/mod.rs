//! `wharf lint`: build-hygiene checks for Dockerfiles, before anything is
//! built. It reads each file the way BuildKit does ([`crate::dockerfile`]:
//! continuations, heredocs, `# escape=`, build-arg scoping across stages),
//! then runs rules with stable ids (`docs/lint.md`) on what the build will
//! do: which images it pulls and whether they are pinned, which user the
//! image runs as, what it downloads and how, what the package managers leave
//! behind, and what the final image really contains — whole build trees,
//! full distributions, dynamically linked binaries on a base with no loader.
//! `--image` checks the built image itself for the last of these, and for
//! scripts whose `#!` interpreter it lacks.
//!
//! Findings are data, not errors: exit 0 when none is at error level (after
//! config and reasoned inline ignores), 1 when one is, 2 when lint could not
//! do the job (an unreadable file, a bad config, an unreadable image). A
//! Dockerfile that does not parse is a finding at its line, and the rest of
//! the file is still linted.

pub mod config;
pub mod image;
pub mod model;
mod render;
pub mod rules;
pub mod shell;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::cli::LintArgs;
use crate::config::Global;
use crate::dockerfile::Instruction;
use crate::registry::{ImageRef, Platform, RegistryClient};
use crate::{fsutil, report, Error, Outcome, Result};
pub use config::Config;
pub use render::Format;
use rules::{Hit, Rule};

/// How much a finding matters. Ordered: `Info < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Info,
    Warning,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

/// One thing a rule found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub rule: &'static Rule,
    /// The level after the config.
    pub level: Level,
    pub message: String,
    /// The Dockerfile as named (or found), or the image for `--image`.
    pub file: String,
    /// 1-based lines of the instruction; `None` for image findings.
    pub line: Option<usize>,
    pub end_line: Option<usize>,
    /// The reason of the inline ignore that waives it.
    pub suppressed: Option<String>,
}

/// Everything one run found, the input of every output format.
#[derive(Debug, Clone, Default)]
pub struct LintReport {
    /// The Dockerfiles linted, as named.
    pub files: Vec<String>,
    /// `--image`, as named.
    pub image: Option<String>,
    /// In file order, then line, then rule.
    pub findings: Vec<Finding>,
    /// The rules that were on, with their levels.
    pub rules: Vec<(&'static Rule, Level)>,
}

impl LintReport {
    /// Unsuppressed findings at `level`.
    pub fn count(&self, level: Level) -> usize {
        self.findings
            .iter()
            .filter(|f| f.suppressed.is_none() && f.level == level)
            .count()
    }

    pub fn suppressed(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.suppressed.is_some())
            .count()
    }

    /// Whether an unsuppressed error-level finding remains (exit 1).
    pub fn failed(&self) -> bool {
        self.count(Level::Error) > 0
    }
}

/// Lints one Dockerfile's text; `file` is how findings name it.
pub fn lint_text(file: &str, text: &str, config: &Config) -> Vec<Finding> {
    let model = model::Model::new(crate::dockerfile::parse(text));
    let hits = rules::check(&model, config);
    let (ignores, mut ignore_hits) = ignores(&model, config);
    // An ignore whose rule does not fire on its instruction (a rule the
    // config turned off excepted) waives nothing: say so.
    for ignore in &ignores {
        for id in &ignore.rules {
            let fires = hits
                .iter()
                .any(|h| h.rule == id.as_str() && ignore.covers(h));
            if !fires && config.level(id).is_some() {
                ignore_hits.push(Hit {
                    rule: "ignore-unused",
                    message: format!(
                        "`# wharf-ignore {id}` waives nothing: the instruction on line {} has no {id} finding",
                        ignore.lines.0
                    ),
                    line: ignore.comment_line,
                    end_line: ignore.comment_line,
                });
            }
        }
    }
    let mut findings = Vec::with_capacity(hits.len() + ignore_hits.len());
    for hit in hits.into_iter().chain(ignore_hits.drain(..)) {
        let Some(rule) = rules::rule(hit.rule) else {
            continue;
        };
        let Some(level) = config.level(rule.id) else {
            continue;
        };
        let suppressed = if rule.id.starts_with("ignore-") {
            None
        } else {
            ignores
                .iter()
                .find(|i| i.covers(&hit))
                .map(|i| i.reason.clone())
        };
        findings.push(Finding {
            rule,
            level,
            message: hit.message,
            file: file.to_string(),
            line: Some(hit.line),
            end_line: Some(hit.end_line),
            suppressed,
        });
    }
    findings.sort_by(|a, b| (a.line, a.rule.id).cmp(&(b.line, b.rule.id)));
    findings.dedup_by(|a, b| a.line == b.line && a.rule.id == b.rule.id && a.message == b.message);
    findings
}

/// A `# wharf-ignore RULE[,RULE…] -- reason` that applies.
#[derive(Debug)]
struct Ignore {
    rules: Vec<String>,
    reason: String,
    /// The lines of the instruction it applies to.
    lines: (usize, usize),
    /// The comment's own line.
    comment_line: usize,
}

impl Ignore {
    fn covers(&self, hit: &Hit) -> bool {
        (self.lines.0..=self.lines.1).contains(&hit.line)
            && self.rules.iter().any(|r| r == hit.rule)
    }
}

/// The inline ignores of a file, and the findings about ignores that do not
/// count (no reason, unknown rule, forbidden by the config).
fn ignores(model: &model::Model, config: &Config) -> (Vec<Ignore>, Vec<Hit>) {
    let instructions = model.instructions();
    let mut applied = Vec::new();
    let mut hits = Vec::new();
    for comment in &model.file.comments {
        let Some(rest) = comment.text.strip_prefix("wharf-ignore") else {
            continue;
        };
        if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
            continue;
        }
        let mut hit = |rule: &'static str, message: String| {
            hits.push(Hit {
                rule,
                message,
                line: comment.line,
                end_line: comment.line,
            })
        };
        if !config.inline_ignores {
            let from = config
                .path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "the lint config".into());
            hit(
                "ignore-forbidden",
                format!(
                    "`# {}` is not applied: {from} sets inline-ignores: false",
                    comment.text
                ),
            );
            continue;
        }
        let (ids, reason) = match rest.split_once("--") {
            Some((ids, reason)) => (ids, reason.trim()),
            None => (rest, ""),
        };
        let ids: Vec<String> = ids
            .split([',', ' ', '\t'])
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        if ids.is_empty() {
            hit(
                "ignore-invalid",
                "`# wharf-ignore` names no rule, so it ignores nothing".into(),
            );
            continue;
        }
        if reason.is_empty() {
            hit(
                "ignore-invalid",
                format!(
                    "`# {}` gives no reason after ` -- `, so it is not applied",
                    comment.text
                ),
            );
            continue;
        }
        let (known, unknown): (Vec<String>, Vec<String>) =
            ids.into_iter().partition(|id| rules::rule(id).is_some());
        for id in &unknown {
            hit(
                "ignore-invalid",
                format!("`# wharf-ignore` names {id:?}, which is no rule id (see docs/lint.md)"),
            );
        }
        let target = instructions
            .iter()
            .find(|i: &&Instruction| i.end_line >= comment.line);
        match target {
            Some(instruction) if !known.is_empty() => applied.push(Ignore {
                rules: known,
                reason: reason.to_string(),
                lines: (instruction.line, instruction.end_line),
                comment_line: comment.line,
            }),
            Some(_) => {}
            None => hit(
                "ignore-invalid",
                "`# wharf-ignore` is not followed by an instruction, so it ignores nothing".into(),
            ),
        }
    }
    (applied, hits)
}

/// The names `wharf lint` (and `pin`) read as Dockerfiles in a directory.
fn is_dockerfile(path: &Path) -> bool {
    matches!(
        crate::pin::FileKind::of(path),
        Some(crate::pin::FileKind::Dockerfile)
    )
}

/// `wharf lint`, validated.
#[derive(Debug, Clone)]
pub struct LintOptions {
    pub paths: Vec<PathBuf>,
    pub format: Format,
    pub config: Config,
    pub image: Option<ImageRef>,
    pub image_text: Option<String>,
    pub platform: Option<Platform>,
    pub output: Option<PathBuf>,
}

impl LintOptions {
    pub fn from_args(args: LintArgs) -> Result<LintOptions> {
        let config = Config::load(args.config.as_deref())?;
        let image = args.image.as_deref().map(ImageRef::parse).transpose()?;
        let platform = Platform::from_flag(args.platform.as_deref())?;
        if platform.is_some() && image.is_none() {
            return Err(Error::Usage(
                "--platform chooses the platform of --image: give --image too".into(),
            ));
        }
        let paths = if !args.dockerfiles.is_empty() {
            args.dockerfiles
        } else {
            vec![PathBuf::from(".")]
        };
        Ok(LintOptions {
            paths,
            format: args.format,
            config,
            image,
            image_text: args.image,
            platform,
            output: args.output,
        })
    }
}

/// Runs `wharf lint`.
pub fn run(global: &Global, options: &LintOptions) -> Result<Outcome> {
    let files = crate::pin::collect_files(&options.paths, is_dockerfile, None)?;
    if files.is_empty() && options.image.is_none() {
        let shown: Vec<String> = options
            .paths
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        return Err(Error::Usage(format!(
            "no Dockerfile found in {} (looked for Dockerfile, Containerfile, *.Dockerfile, Dockerfile.*): name one, as in `wharf lint path/to/Dockerfile`",
            shown.join(", ")
        )));
    }
    // Every file is read before anything is reported: one that cannot be
    // read makes the run exit 2 with nothing on stdout.
    let mut texts = Vec::new();
    let mut errors = Vec::new();
    for path in &files {
        match crate::pin::read_text(path) {
            Ok(text) => texts.push((display(path, &options.paths), text)),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(Error::Many(errors));
    }

    let mut report = LintReport {
        files: texts.iter().map(|(name, _)| name.clone()).collect(),
        image: options.image_text.clone(),
        findings: Vec::new(),
        rules: options.config.enabled(),
    };
    for (name, text) in &texts {
        report
            .findings
            .extend(lint_text(name, text, &options.config));
    }
    if let (Some(image), Some(shown)) = (&options.image, &options.image_text) {
        let client = RegistryClient::new(global).map_err(Error::Usage)?;
        let checked = image::check(&client, image, options.platform.as_ref())?;
        for note in &checked.notes {
            report::warn(note);
        }
        report
            .findings
            .extend(image_findings(shown, &checked, &options.config));
        report::info(&format!(
            "checked {} dynamically linked executable(s) and {} script(s) in {}",
            checked.dynamic, checked.scripts, checked.name
        ));
    }

    let text = render::render(
        &report,
        options.format,
        report::stdout_is_terminal() && options.output.is_none(),
    );
    match &options.output {
        Some(path) => fsutil::write_file(path, text.as_bytes())
            .map_err(|e| Error::file(path, format!("cannot write the lint report: {e}")))?,
        None => {
            if !text.is_empty() {
                report::out(&text);
            }
        }
    }
    report::info(&render::summary(&report));
    Ok(if report.failed() {
        Outcome::PolicyNo
    } else {
        Outcome::Ok
    })
}

/// A path as findings show it: a file as named, a file found in a walked
/// directory without a leading `./`.
fn display(path: &Path, named: &[PathBuf]) -> String {
    let shown = path.display().to_string();
    if named.iter().any(|n| n == path) {
        shown
    } else {
        shown.strip_prefix("./").unwrap_or(&shown).to_string()
    }
}

/// `missing-interpreter` findings from an image check.
pub fn image_findings(image: &str, checked: &image::Checked, config: &Config) -> Vec<Finding> {
    let Some(rule) = rules::rule("missing-interpreter") else {
        return Vec::new();
    };
    let Some(level) = config.level(rule.id) else {
        return Vec::new();
    };
    checked
        .missing
        .iter()
        .map(|m| {
            let mut shown: Vec<&str> = m.executables.iter().take(5).map(String::as_str).collect();
            if m.executables.len() > 5 {
                shown.push("…");
            }
            let n = m.executables.len();
            let what = match &m.lacking {
                image::Lacking::Loader(loader) => {
                    format!("{n} executable(s) need the interpreter {loader}, which the image does not have")
                }
                image::Lacking::Interpreter(interpreter) => {
                    let crlf = if interpreter.ends_with('\r') {
                        " (the line ends in a carriage return: the script has Windows line endings)"
                    } else {
                        ""
                    };
                    format!(
                        "{n} script(s) start with #!{}, which the image does not have{crlf}",
                        interpreter.escape_debug()
                    )
                }
                image::Lacking::Program { name, env, path } => format!(
                    "{n} script(s) run {name} through {env}, which no directory on the image's \
                     PATH ({path}) has"
                ),
            };
            Finding {
                rule,
                level,
                message: format!("{what}: {}", shown.join(", ")),
                file: image.to_string(),
                line: None,
                end_line: None,
                suppressed: None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
