//! Tekton: one file per Task result in the results directory
//! (`WHARF_TEKTON_RESULTS`, the directory of `$(results.IMAGE_URL.path)`).
//!
//! A result is the file's exact bytes, so nothing gets a trailing newline.
//! Three results are Tekton Chains type hints (docs/slsa-provenance.md in
//! tektoncd/chains, "Type Hinting"):
//!
//! - `IMAGE_URL` / `IMAGE_DIGEST`: one pair by their common (here empty)
//!   prefix. Chains joins them as `URL@DIGEST` and parses that with
//!   go-containerregistry's `name.NewDigest`, which accepts and drops a tag,
//!   so the URL may keep it; the digest is `algorithm:hex`.
//! - `SBOM_ARTIFACT_OUTPUTS`: the `*ARTIFACT_OUTPUTS` form, an object result
//!   (`type: object`, `properties: {uri: {}, digest: {}}` in the Task) with
//!   exactly the keys `uri` and `digest`, the digest `algorithm:hex`. Tekton
//!   object results are string-to-string maps, so both values are strings.
//!
//! Chains ignores a pair or object whose `uri` or `digest` is empty, so what
//! the run did not get to is written empty rather than left out: a Pipeline
//! that reads `$(tasks.wharf.results.IMAGE_DIGEST)` fails on a missing
//! result, not on an empty one.

use std::path::{Path, PathBuf};

use super::RunSummary;
use crate::reference::Reference;
use crate::{Error, Result};

/// Kubernetes' limit on a container's termination message, through which
/// Tekton returns a step's results by default (`results-from:
/// termination-message`; with sidecar logs it is `max-result-size`, also
/// 4096 by default, per result).
pub(super) const LIMIT: usize = 4096;

/// Room left in the termination message for Tekton's own entries
/// (`StartedAt` and the like) next to ours.
const TEKTON_RESERVE: usize = 256;

/// predicateTypes whose attestation is the SBOM's.
const SBOM_PREDICATES: &[&str] = &["https://cyclonedx.org/bom", "https://spdx.dev/Document"];

/// The results, in the order docs/run.md lists them.
pub(super) fn results(summary: &RunSummary) -> Vec<(&'static str, String)> {
    // Chains signs whatever IMAGE_URL/IMAGE_DIGEST name, failed TaskRuns
    // included: a run that did not pass names no image to sign.
    let passed = summary.outcome == super::RunOutcome::Ok;
    let subject = subject(summary).filter(|_| passed);
    let digest = summary
        .digest
        .as_deref()
        .filter(|d| passed && crate::reference::check_digest(d).is_ok());
    let sbom_attested = summary
        .attestations
        .iter()
        .any(|t| SBOM_PREDICATES.contains(&t.as_str()));
    let (uri, artifact_digest) = match &subject {
        Some(s) if sbom_attested => (s.repository.as_str(), s.digest.as_str()),
        _ => ("", ""),
    };
    vec![
        (
            "IMAGE_URL",
            subject.as_ref().map(|s| s.url.clone()).unwrap_or_default(),
        ),
        ("IMAGE_DIGEST", digest.unwrap_or_default().to_string()),
        (
            "SBOM_ARTIFACT_OUTPUTS",
            serde_json::json!({ "uri": uri, "digest": artifact_digest }).to_string(),
        ),
        (
            "FINDINGS",
            summary
                .findings
                .as_ref()
                .and_then(|f| serde_json::to_string(f).ok())
                .unwrap_or_default(),
        ),
        ("SIGNER", summary.signer.clone().unwrap_or_default()),
    ]
}

/// The image as Chains can name it: a registry repository and a digest.
struct Subject {
    /// `name[:tag]` — the repository as written, with the tag if known.
    url: String,
    /// `name`, without tag.
    repository: String,
    digest: String,
}

/// The registry image the run worked on; `None` before the digest was
/// known, or for an `oci:` layout, which no registry holds for Chains to
/// attach signatures and attestations to.
fn subject(summary: &RunSummary) -> Option<Subject> {
    let digest = summary.digest.as_deref()?;
    crate::reference::check_digest(digest).ok()?;
    let image_ref = summary.image_ref.as_deref()?;
    if image_ref.starts_with("oci:") || summary.image.starts_with("oci:") {
        return None;
    }
    let reference = Reference::parse(image_ref).ok()?;
    if reference.digest().is_some_and(|d| d != digest) {
        return None;
    }
    // The tag as written in image_ref, else the one `image` was named by.
    let tag = reference.tag().map(str::to_string).or_else(|| {
        Reference::parse(&summary.image)
            .ok()
            .filter(|i| i.name() == reference.name())
            .and_then(|i| i.tag().map(str::to_string))
    });
    let repository = reference.name().to_string();
    let url = match tag {
        Some(tag) => format!("{repository}:{tag}"),
        None => repository.clone(),
    };
    Some(Subject {
        url,
        repository,
        digest: digest.to_string(),
    })
}

/// The size of the results as Tekton carries them: a JSON array of
/// `{"key":…,"value":…,"type":1}` in the step's termination message.
pub(super) fn encoded_size(results: &[(&str, String)]) -> usize {
    let entries: Vec<_> = results
        .iter()
        .map(|(key, value)| serde_json::json!({ "key": key, "value": value, "type": 1 }))
        .collect();
    serde_json::Value::Array(entries).to_string().len()
}

/// Refuses results that would not fit in Tekton's limit: Kubernetes would
/// cut the termination message and the TaskRun fail with a message about
/// JSON, far from the cause. Better to say which result is too big.
pub(super) fn check_size(results: &[(&str, String)]) -> Result<(), String> {
    let size = encoded_size(results);
    if size + TEKTON_RESERVE <= LIMIT {
        return Ok(());
    }
    let (name, value) = results
        .iter()
        .max_by_key(|(_, v)| v.len())
        .map(|(n, v)| (*n, v.len()))
        .unwrap_or(("", 0));
    Err(format!(
        "the results take {size} bytes as Tekton encodes them, over its {LIMIT}-byte \
         limit for a step's results (less {TEKTON_RESERVE} kept for Tekton's own); \
         the largest is {name} ({value} bytes). Shorten that value, or enable \
         `results-from: sidecar-logs` with a larger `max-result-size`"
    ))
}

/// Checks the results directory exists; Tekton creates it for a Task that
/// declares results, so a missing one means `WHARF_TEKTON_RESULTS` is wrong.
pub(super) fn check_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    Err(Error::file(
        dir,
        "the Tekton results directory does not exist: set WHARF_TEKTON_RESULTS to the \
         directory of the Task's results (`/tekton/results`, the parent of \
         `$(results.IMAGE_URL.path)`)",
    ))
}

/// Writes each result as a file named after it in `dir`.
pub(super) fn write(dir: &Path, results: &[(&str, String)]) -> Result<Vec<PathBuf>> {
    let mut written = Vec::with_capacity(results.len());
    for (name, value) in results {
        let path = dir.join(name);
        crate::fsutil::write_file(&path, value.as_bytes()).map_err(|why| {
            Error::file(
                &path,
                format!("cannot write the Tekton result {name}: {why}"),
            )
        })?;
        written.push(path);
    }
    Ok(written)
}
