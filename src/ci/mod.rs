//! What `wharf run` tells the CI system it runs in: which system that is
//! (from the environment), and the outputs each one reads — GitHub step
//! outputs, a job summary and workflow commands; Tekton result files with
//! Chains type hints; a GitLab dotenv report; a JSON file for Jenkins and
//! everything else. The contract is `docs/run.md` ("Outputs").
//!
//! Every value written here may come from outside (an image name, a file
//! path, a certificate's identity), so every writer encodes it for its
//! format and refuses what the format cannot carry rather than letting a
//! value forge another output, a workflow command or a Markdown table row.

mod github;
mod gitlab;
mod markdown;
mod tekton;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

pub use github::{annotate_error, group_end, group_start};
pub use markdown::markdown;

/// The summary of one `wharf run`: `run.json`, `--output-json`, and the
/// source of every other output. Fields are exactly those of `run.json` in
/// docs/run.md; what the run did not get to is `null` (the key stays, so
/// readers see one schema).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// The image as named, without the digest (`ghcr.io/acme/app`).
    pub image: String,
    /// The digest every stage worked on, once the tag was resolved.
    pub digest: Option<String>,
    /// `image@digest`.
    pub image_ref: Option<String>,
    /// The SBOM file written.
    pub sbom: Option<String>,
    /// Counts by severity; `null` when the scan did not run.
    pub findings: Option<FindingCounts>,
    /// The scan gate; `null` when the scan did not run.
    pub gate: Option<GateResult>,
    /// The signing identity (certificate SAN, or the key for key signing).
    pub signer: Option<String>,
    /// The OIDC issuer of the signing certificate.
    pub issuer: Option<String>,
    pub rekor_log_index: Option<u64>,
    /// predicateTypes of the attestations written.
    #[serde(default)]
    pub attestations: Vec<String>,
    /// Ids of the attestations stored through GitHub's attestations API
    /// (`attest.github`).
    #[serde(default)]
    pub github_attestations: Vec<u64>,
    /// Deploy files promote rewrote.
    #[serde(default)]
    pub promoted: Vec<String>,
    #[serde(default)]
    pub stages: Vec<StageRecord>,
    pub outcome: RunOutcome,
}

/// `findings` in `run.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FindingCounts {
    pub critical: u64,
    pub high: u64,
    pub medium: u64,
    pub low: u64,
    pub unknown: u64,
    pub total: u64,
}

/// `gate` in `run.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateResult {
    /// `critical|high|medium|low|none`.
    pub fail_on: String,
    pub passed: bool,
}

/// One stage of the run, in the order it ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageRecord {
    pub name: String,
    pub status: StageStatus,
    pub seconds: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StageStatus {
    Ok,
    /// A gate or a verification said no.
    Failed,
    /// The stage could not do its job.
    Error,
    Skipped,
}

impl StageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StageStatus::Ok => "ok",
            StageStatus::Failed => "failed",
            StageStatus::Error => "error",
            StageStatus::Skipped => "skipped",
        }
    }
}

/// How the run ended: exit 0, 1 or 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunOutcome {
    Ok,
    /// A gate or verification said no (exit 1).
    Policy,
    /// The run could not do its job (exit 2).
    Error,
}

impl RunOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Ok => "ok",
            RunOutcome::Policy => "policy",
            RunOutcome::Error => "error",
        }
    }
}

/// The CI system wharf runs in, and where it wants outputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ci {
    /// `GITHUB_ACTIONS=true`. The files are `$GITHUB_OUTPUT` and
    /// `$GITHUB_STEP_SUMMARY`, when the runner set them.
    GitHub {
        output: Option<PathBuf>,
        summary: Option<PathBuf>,
    },
    /// `WHARF_TEKTON_RESULTS`: the directory the Task's results live in.
    Tekton {
        results: PathBuf,
    },
    /// `JENKINS_URL`.
    Jenkins,
    /// `GITLAB_CI=true`.
    GitLab,
    None,
}

impl Ci {
    /// The CI system of this process's environment.
    pub fn detect() -> Ci {
        Ci::from_env(|name| std::env::var(name).ok())
    }

    /// The CI system an environment describes; `get` looks a variable up.
    ///
    /// `WHARF_TEKTON_RESULTS` comes first: it is wharf's own and only set
    /// on purpose (by the Task), whereas the others are ambient and can
    /// leak into nested jobs (a Tekton step started from a GitHub runner).
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Ci {
        let set = |name: &str| get(name).filter(|v| !v.is_empty());
        let path = |name: &str| set(name).map(PathBuf::from);
        if let Some(results) = path("WHARF_TEKTON_RESULTS") {
            return Ci::Tekton { results };
        }
        if set("GITHUB_ACTIONS").as_deref() == Some("true") {
            return Ci::GitHub {
                output: path("GITHUB_OUTPUT"),
                summary: path("GITHUB_STEP_SUMMARY"),
            };
        }
        if set("GITLAB_CI").as_deref() == Some("true") {
            return Ci::GitLab;
        }
        if set("JENKINS_URL").is_some() {
            return Ci::Jenkins;
        }
        Ci::None
    }

    /// The system's name, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Ci::GitHub { .. } => "GitHub Actions",
            Ci::Tekton { .. } => "Tekton",
            Ci::Jenkins => "Jenkins",
            Ci::GitLab => "GitLab CI",
            Ci::None => "no CI system",
        }
    }
}

/// Where outputs go besides the CI system's own places.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputOptions {
    /// `--output-json FILE`: the summary JSON (for Jenkins, or anyone).
    pub output_json: Option<PathBuf>,
    /// `--output-dotenv FILE`; under GitLab, default `output_dir/wharf.env`.
    pub output_dotenv: Option<PathBuf>,
    /// `output_dir`: `run.json` and `summary.md` always go here.
    pub output_dir: PathBuf,
}

/// The dotenv file's name in `output_dir` under GitLab when
/// `--output-dotenv` is not given.
pub const DOTENV_DEFAULT: &str = "wharf.env";

/// Writes every output the run owes: `run.json` and `summary.md` in the
/// output directory and `--output-json` (these always), then
/// `--output-dotenv` (also by default under GitLab) and the CI system's own
/// (GitHub step outputs and job summary, Tekton results). Returns the files
/// written, in that order.
///
/// What can be refused (a value a format cannot carry, Tekton results over
/// the size limit) is checked before the first CI output is written, so a
/// refusal leaves none of them half-written; `run.json`, which can carry
/// anything, is there to read either way.
pub fn write_outputs(
    ci: &Ci,
    summary: &RunSummary,
    options: &OutputOptions,
) -> Result<Vec<PathBuf>> {
    let json = summary_json(summary)?;
    let md = markdown(summary);

    let mut written = Vec::new();
    std::fs::create_dir_all(&options.output_dir).map_err(|e| {
        Error::file(
            &options.output_dir,
            format!("cannot create the output directory: {e}"),
        )
    })?;
    let run_json = options.output_dir.join("run.json");
    write(&run_json, json.as_bytes(), "the run summary")?;
    written.push(run_json);
    let summary_md = options.output_dir.join("summary.md");
    write(&summary_md, md.as_bytes(), "the Markdown summary")?;
    written.push(summary_md);
    if let Some(path) = &options.output_json {
        write(path, json.as_bytes(), "the run summary (--output-json)")?;
        written.push(path.clone());
    }

    // Everything that can be refused, before any of it is written.
    let refused = "no CI output was written (run.json and summary.md were)";
    let dotenv = match (&options.output_dotenv, ci) {
        (Some(path), _) => Some(path.clone()),
        (None, Ci::GitLab) => Some(options.output_dir.join(DOTENV_DEFAULT)),
        (None, _) => None,
    }
    .map(|path| match gitlab::dotenv(summary) {
        Ok(text) => Ok((path, text)),
        Err(why) => Err(Error::file(
            &path,
            format!("cannot write the dotenv report: {why}; {refused}"),
        )),
    })
    .transpose()?;
    let tekton = match ci {
        Ci::Tekton { results: dir } => {
            tekton::check_dir(dir)?;
            let results = tekton::results(summary);
            tekton::check_size(&results).map_err(|why| {
                Error::file(
                    dir,
                    format!("cannot write the Tekton results: {why}; {refused}"),
                )
            })?;
            results
        }
        _ => Vec::new(),
    };
    let github_outputs = match ci {
        Ci::GitHub { .. } => github::outputs(summary)?,
        _ => Vec::new(),
    };

    if let Some((path, text)) = &dotenv {
        write(path, text.as_bytes(), "the dotenv report")?;
        written.push(path.clone());
    }
    match ci {
        Ci::GitHub {
            output,
            summary: step_summary,
        } => {
            match output {
                Some(path) => {
                    github::append_outputs(path, &github_outputs)?;
                    written.push(path.clone());
                }
                None => crate::report::warn(
                    "GITHUB_OUTPUT is not set, so wharf run's step outputs were not written \
                     (an old runner or a local emulator?); read run.json instead",
                ),
            }
            if let Some(path) = step_summary {
                github::append_summary(path, &md)?;
                written.push(path.clone());
            }
        }
        Ci::Tekton { results: dir } => written.extend(tekton::write(dir, &tekton)?),
        Ci::Jenkins | Ci::GitLab | Ci::None => {}
    }
    Ok(written)
}

/// `run.json`'s text: pretty JSON and a final newline.
fn summary_json(summary: &RunSummary) -> Result<String> {
    let mut text = serde_json::to_string_pretty(summary)
        .map_err(|e| Error::Usage(format!("cannot serialise the run summary: {e}")))?;
    text.push('\n');
    Ok(text)
}

/// Writes a whole file of ours (created or replaced atomically).
fn write(path: &Path, bytes: &[u8], what: &str) -> Result<()> {
    crate::fsutil::write_file(path, bytes)
        .map_err(|why| Error::file(path, format!("cannot write {what}: {why}")))
}
