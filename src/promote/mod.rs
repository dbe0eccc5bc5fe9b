//! `wharf promote`: write a signed digest into deploy files (Helm values,
//! kustomizations, manifests), changing only the bytes that must change, and
//! only after verifying the signature.
//!
//! The order is fixed: every file is read and every edit computed and
//! checked first (a file that cannot be edited safely stops everything);
//! then the signature is verified; only then is anything written, all files
//! staged before any is renamed into place.

pub mod edit;

pub mod target;

#[cfg(test)]
mod property;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::cli::{PromoteArgs, PromoteTarget};
use crate::config::Global;
use crate::github;
use crate::pin::yaml::YamlKind;
use crate::pin::FileKind;
use crate::reference::Reference;
use crate::verify::{Expected, SIGN_PREDICATE_TYPE};
use crate::{fsutil, report, Error, Outcome, Result};
use target::{Plan, Promotion};

/// What to do with the edits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Print the diff.
    Diff,
    /// Exit 1 when a file is not at the digest.
    Check,
    Write,
    /// Write, then `git commit` the files.
    Commit,
    PullRequest,
}

/// One file read and planned.
struct Planned {
    /// The path as given (local), or the path in the repository.
    path: PathBuf,
    /// Named on the command line (not found by walking a directory).
    explicit: bool,
    text: String,
    plan: Plan,
    /// The text with every edit applied.
    new_text: String,
}

impl Planned {
    fn changed(&self) -> bool {
        self.new_text != self.text
    }
}

/// Runs `wharf promote`.
pub fn run(global: &Global, args: &PromoteArgs) -> Result<Outcome> {
    promote(global, args, None, &mut Vec::new())
}

/// Runs `wharf promote`, adding to `written` each local file it changed.
/// `verified` is the signer when the caller (`wharf run`'s verify stage)
/// has just verified IMAGE's signature; promote then does not check again.
pub fn promote(
    global: &Global,
    args: &PromoteArgs,
    verified: Option<&str>,
    written: &mut Vec<PathBuf>,
) -> Result<Outcome> {
    let image = Reference::parse(&args.image)?;
    let values_paths = args.values_path.clone();
    let identity = args.identity.clone();
    // `--key` is the public key the signature is checked with, as in every
    // other command; a dotted Helm path goes to --values-path.
    if let Some(key) = &identity.key {
        if !key.is_file() {
            let text = key.to_string_lossy();
            let hint = if !text.contains('/') {
                format!(
                    "; if {text:?} is a dotted path in Helm values, pass it as --values-path {text}"
                )
            } else {
                String::new()
            };
            return Err(Error::file(
                key,
                format!(
                    "--key names the public key (a file) the signature is checked with, and there is no such file{hint}"
                ),
            ));
        }
    }
    for path in &values_paths {
        if path.is_empty() || path.split('.').any(str::is_empty) {
            return Err(Error::Usage(format!(
                "--values-path {path:?}: write a dotted path of keys, like image or app.image"
            )));
        }
    }
    let promotion = Promotion::new(&image, values_paths).ok_or_else(|| {
        Error::Usage(format!(
            "{image} names no digest: promote takes REPO[:TAG]@sha256:HEX, the digest that was signed \
             (a tag can move; `wharf pin` or the sign step's output gives the digest)"
        ))
    })?;
    let mode = if args.check {
        Mode::Check
    } else if args.pull_request {
        Mode::PullRequest
    } else if args.commit {
        Mode::Commit
    } else if args.write {
        Mode::Write
    } else {
        Mode::Diff
    };

    let has_identity = identity.key.is_some()
        || identity.certificate_identity.is_some()
        || identity.certificate_identity_regexp.is_some()
        || identity.certificate_oidc_issuer.is_some()
        || identity.certificate_oidc_issuer_regexp.is_some();
    if args.no_verify && has_identity {
        return Err(Error::Usage(
            "--no-verify and a signer (--key PUB or --certificate-*) contradict each other; drop one".into(),
        ));
    }
    // --check writes nothing, so it verifies only when asked to.
    let expected = if verified.is_some() || args.no_verify || (mode == Mode::Check && !has_identity)
    {
        None
    } else {
        Some(Expected::from_args(&identity).map_err(|e| match e {
            Error::Usage(m) => Error::Usage(format!(
                "{m}; promote writes only a digest whose signature verifies (or pass --no-verify to skip the check, on purpose)"
            )),
            e => e,
        })?)
    };
    let trust = match expected {
        Some(_) => Some(crate::trust::load(
            args.trusted_root.as_deref(),
            args.trust_config.as_deref(),
            args.tuf.spec(global.offline)?.as_ref(),
            global.offline,
        )?),
        None => None,
    };

    if mode == Mode::PullRequest {
        return pull_request(
            global,
            args,
            &image,
            &promotion,
            Verifier {
                verified,
                expected: expected.as_ref(),
                trust: trust.as_ref(),
            },
        );
    }

    let planned = plan_local(args, &promotion, mode)?;
    let targets: usize = planned.iter().map(|p| p.plan.targets.len()).sum();
    report_notes(&planned);

    if mode == Mode::Check {
        let outcome = check(&planned, &promotion);
        if let (Some(expected), Some(trust)) = (&expected, &trust) {
            let signer = verify(global, &image, expected, trust)?;
            if signer.is_none() {
                return Ok(Outcome::PolicyNo);
            }
        }
        return Ok(outcome);
    }

    let verifier = Verifier {
        verified,
        expected: expected.as_ref(),
        trust: trust.as_ref(),
    };
    let Some(signer) = verifier.signer(global, &image)? else {
        return Ok(Outcome::PolicyNo);
    };
    let changed: Vec<&Planned> = planned.iter().filter(|p| p.changed()).collect();
    let edited: usize = changed
        .iter()
        .flat_map(|p| &p.plan.targets)
        .filter(|t| !t.edits.is_empty())
        .count();
    match mode {
        Mode::Diff => {
            for p in &changed {
                report::out(&crate::pin::unified_diff(&p.path, &p.text, &p.new_text));
            }
            report::info(&format!(
                "would promote {edited} of {targets} entr{} of {} in {} file(s) to {}; --write edits them",
                plural(targets),
                promotion.repository,
                changed.len(),
                promotion.digest
            ));
        }
        Mode::Write | Mode::Commit => {
            let files: Vec<(&Path, &[u8])> = changed
                .iter()
                .map(|p| (p.path.as_path(), p.new_text.as_bytes()))
                .collect();
            fsutil::write_all_atomic(&files)?;
            written.extend(changed.iter().map(|p| p.path.clone()));
            if changed.is_empty() {
                report::info(&format!(
                    "all {targets} entr{} of {} are at {} already; nothing written",
                    plural(targets),
                    promotion.repository,
                    promotion.digest
                ));
            } else {
                report::info(&format!(
                    "promoted {edited} of {targets} entr{} of {} in {} file(s) to {}, {}",
                    plural(targets),
                    promotion.repository,
                    changed.len(),
                    promotion.digest,
                    if signer == NOT_VERIFIED {
                        "NOT verified (--no-verify)".to_string()
                    } else {
                        format!("signed by {signer}")
                    }
                ));
            }
            if mode == Mode::Commit && !changed.is_empty() {
                let paths: Vec<&Path> = changed.iter().map(|p| p.path.as_path()).collect();
                let message = commit_message(&image, &promotion, &signer, &changed);
                let sha = git_commit(&paths, &message)?;
                report::out(&format!("committed {sha}: {}", title(&image, &promotion)));
            } else if mode == Mode::Commit {
                report::info("nothing to commit: every entry is at the digest already");
            }
        }
        Mode::Check | Mode::PullRequest => {}
    }
    Ok(Outcome::Ok)
}

/// The signer line when `--no-verify` skipped the check.
const NOT_VERIFIED: &str = "nobody checked: promoted with --no-verify";

fn plural(n: usize) -> &'static str {
    if n == 1 {
        "y"
    } else {
        "ies"
    }
}

fn no_verify_warning(image: &Reference) {
    report::warn(&format!(
        "--no-verify: the signature of {image} is NOT checked; nothing proves this digest is what your pipeline built"
    ));
}

/// The YAML files promote reads when walking a directory.
fn is_yaml(path: &Path) -> bool {
    matches!(FileKind::of(path), Some(FileKind::Yaml(_)))
}

fn yaml_kind(path: &Path) -> YamlKind {
    match FileKind::of(path) {
        Some(FileKind::Yaml(kind)) => kind,
        _ => YamlKind::Other,
    }
}

/// Reads and plans every local file; any failure stops everything.
fn plan_local(args: &PromoteArgs, promotion: &Promotion, mode: Mode) -> Result<Vec<Planned>> {
    let stop = |e: Error| nothing_changed(mode, e);
    let files = crate::pin::collect_files(&args.files, is_yaml, None).map_err(stop)?;
    let mut planned = Vec::new();
    let mut errors = Vec::new();
    for path in files {
        let explicit = args.files.contains(&path);
        let result = crate::pin::read_text(&path)
            .and_then(|text| plan_text(&path, text, args.target, promotion, explicit));
        match result {
            Ok(p) => planned.push(p),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(stop(Error::Many(errors)));
    }
    require_targets(&planned, promotion).map_err(stop)?;
    Ok(planned)
}

fn plan_text(
    path: &Path,
    text: String,
    forced: Option<PromoteTarget>,
    promotion: &Promotion,
    explicit: bool,
) -> Result<Planned> {
    let found = target::plan(&text, yaml_kind(path), forced, promotion);
    let plan = found.map_err(|e| match e.line {
        Some(line) => Error::file(format!("{}:{line}", path.display()), e.message.clone()),
        None => Error::file(path, e.message.clone()),
    })?;
    let edits: Vec<edit::Edit> = plan
        .targets
        .iter()
        .flat_map(|t| t.edits.iter().cloned())
        .collect();
    let new_text = edit::apply(&text, &edits).map_err(|e| Error::file(path, e))?;
    // The promise, checked rather than trusted: the new text is still YAML
    // with the same documents, and reads the promoted values.
    let reread = target::plan(&new_text, yaml_kind(path), forced, promotion).map_err(|e| {
        Error::file(
            path,
            format!("the edited file would not read back ({e}); nothing was written. This is a wharf bug, please report it"),
        )
    })?;
    if reread.targets.iter().any(|t| !t.edits.is_empty()) {
        return Err(Error::file(
            path,
            "the edited file does not read back at the digest; nothing was written. This is a wharf bug, please report it",
        ));
    }
    Ok(Planned {
        path: path.to_path_buf(),
        explicit,
        text,
        plan,
        new_text,
    })
}

/// No entry anywhere is an error (the job cannot be done); a named file
/// without one is worth a warning.
fn require_targets(planned: &[Planned], promotion: &Promotion) -> Result<()> {
    if planned.iter().all(|p| p.plan.targets.is_empty()) {
        let how = if promotion.values_paths.is_empty() {
            "; if the values name it differently (no registry, another registry), point at it with --values-path"
        } else {
            ""
        };
        return Err(Error::Usage(format!(
            "no entry of {} in {} file(s) read{how}",
            promotion.repository,
            planned.len()
        )));
    }
    for p in planned
        .iter()
        .filter(|p| p.explicit && p.plan.targets.is_empty())
    {
        report::warn(&format!(
            "{}: no entry of {}; left as it is",
            p.path.display(),
            promotion.repository
        ));
    }
    Ok(())
}

fn report_notes(planned: &[Planned]) {
    for p in planned {
        for note in &p.plan.notes {
            report::warn(&format!("{}: {note}", p.path.display()));
        }
    }
}

/// Says that a failure left every file as it was.
fn nothing_changed(mode: Mode, err: Error) -> Error {
    if !matches!(mode, Mode::Write | Mode::Commit) {
        return err;
    }
    err.nothing_changed()
}

/// `--check`: list every entry that is not at the digest.
fn check(planned: &[Planned], promotion: &Promotion) -> Outcome {
    let mut drifted = 0;
    let mut total = 0;
    for p in planned {
        for t in &p.plan.targets {
            total += 1;
            if !t.edits.is_empty() {
                drifted += 1;
                report::out(&format!(
                    "{}:{}: {} is not at {} (want {})",
                    p.path.display(),
                    t.line,
                    t.before,
                    short(&promotion.digest),
                    t.after
                ));
            }
        }
    }
    if drifted == 0 {
        report::info(&format!(
            "all {total} entr{} of {} are at {}",
            plural(total),
            promotion.repository,
            promotion.digest
        ));
        Outcome::Ok
    } else {
        report::info(&format!(
            "{drifted} of {total} entr{} of {} are not at {}; `wharf promote --write` promotes them",
            plural(total),
            promotion.repository,
            promotion.digest
        ));
        Outcome::PolicyNo
    }
}

/// `sha256:` and the first 12 hex digits.
fn short(digest: &str) -> &str {
    digest.get(..19).unwrap_or(digest)
}

/// How promote learns who signed IMAGE.
struct Verifier<'a> {
    /// Already verified by the caller: the signer.
    verified: Option<&'a str>,
    expected: Option<&'a Expected>,
    trust: Option<&'a crate::trust::Trust>,
}

impl Verifier<'_> {
    /// The signer; `None` when no signature verifies (said why);
    /// [`NOT_VERIFIED`] under `--no-verify` (said loudly).
    fn signer(&self, global: &Global, image: &Reference) -> Result<Option<String>> {
        if let Some(signer) = self.verified {
            return Ok(Some(signer.to_string()));
        }
        match (self.expected, self.trust) {
            (Some(expected), Some(trust)) => verify(global, image, expected, trust),
            _ => {
                no_verify_warning(image);
                Ok(Some(NOT_VERIFIED.to_string()))
            }
        }
    }
}

/// Checks the signature; `Some(signer)` when one verifies, `None` (after
/// saying why) when none does.
fn verify(
    global: &Global,
    image: &Reference,
    expected: &Expected,
    trust: &crate::trust::Trust,
) -> Result<Option<String>> {
    let found = crate::verify::collect(
        global,
        &crate::registry::ImageRef::Registry(image.clone()),
        expected,
        trust,
        SIGN_PREDICATE_TYPE,
        &BTreeMap::new(),
    )?;
    if let Some(signer) = found.verified_bundle().and_then(|c| c.signed_by()) {
        report::info(&format!("verified: {image} is signed by {signer}"));
        return Ok(Some(signer));
    }
    found.say_refusals();
    report::out(&format!(
        "not promoted: {image} has no valid signature from {} ({} signature(s) found, checked against the {}); no file was changed",
        crate::verify::describe(expected),
        found.checked.len(),
        trust.source
    ));
    Ok(None)
}

fn title(image: &Reference, promotion: &Promotion) -> String {
    let name = match image.tag() {
        Some(tag) => format!("{}:{tag}", image.name()),
        None => image.name().to_string(),
    };
    format!("promote {name} to {}", short(&promotion.digest))
}

/// The entries changed, one line each.
fn changes_list(changed: &[&Planned]) -> String {
    let mut out = String::new();
    for p in changed {
        for t in p.plan.targets.iter().filter(|t| !t.edits.is_empty()) {
            out.push_str(&format!(
                "- {}:{}: {} → {}\n",
                p.path.display(),
                t.line,
                t.before,
                t.after
            ));
        }
    }
    out
}

fn commit_message(
    image: &Reference,
    promotion: &Promotion,
    signer: &str,
    changed: &[&Planned],
) -> String {
    format!(
        "{}\n\nImage: {}\nDigest: {}\nSigned by: {signer}\n\n{}",
        title(image, promotion),
        image.name(),
        promotion.digest,
        changes_list(changed)
    )
}

/// `git commit` of exactly `paths` (other staged changes stay staged, out
/// of the commit); returns the new commit's sha.
fn git_commit(paths: &[&Path], message: &str) -> Result<String> {
    use std::process::Command;
    let first = paths
        .first()
        .ok_or_else(|| Error::Usage("nothing to commit".into()))?;
    let dir = first
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let git = |args: &[&std::ffi::OsStr]| -> Result<String> {
        let output = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .map_err(|e| {
                Error::Usage(format!(
                    "--commit runs git, which could not be started ({e}); install git or use --write"
                ))
            })?;
        if !output.status.success() {
            return Err(Error::Usage(format!(
                "the files were written, but `git {}` failed: {}; commit them by hand",
                args.first()
                    .map(|a| a.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    };
    let absolute: Vec<PathBuf> = paths
        .iter()
        .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf()))
        .collect();
    let mut add: Vec<&std::ffi::OsStr> = vec!["add".as_ref(), "--".as_ref()];
    add.extend(absolute.iter().map(|p| p.as_os_str()));
    git(&add)?;
    let mut commit: Vec<&std::ffi::OsStr> = vec![
        "commit".as_ref(),
        "--quiet".as_ref(),
        "-m".as_ref(),
        message.as_ref(),
        "--".as_ref(),
    ];
    commit.extend(absolute.iter().map(|p| p.as_os_str()));
    git(&commit)?;
    git(&["rev-parse".as_ref(), "HEAD".as_ref()])
}

/// `--pull-request`: the files come from the base branch, the edits go to
/// a branch and a pull request; no local file is touched.
fn pull_request(
    global: &Global,
    args: &PromoteArgs,
    image: &Reference,
    promotion: &Promotion,
    verifier: Verifier,
) -> Result<Outcome> {
    let repo_text = match &args.repo {
        Some(r) => r.clone(),
        None => std::env::var("GITHUB_REPOSITORY").map_err(|_| {
            Error::Usage(
                "--pull-request needs the repository: --repo OWNER/NAME (GitHub Actions sets GITHUB_REPOSITORY)"
                    .into(),
            )
        })?,
    };
    let repo = github::Repo::parse(&repo_text)?;
    let paths = args
        .files
        .iter()
        .map(|p| repo_path(p))
        .collect::<Result<Vec<String>>>()?;
    let scan = match &args.scan_report {
        Some(path) => Some(scan_summary(path, &promotion.digest)?),
        None => None,
    };
    let api = github::Api::new(repo)?;
    let runtime = crate::runtime()?;
    let (base, contents) = runtime.block_on(async {
        let base = api.base_branch(args.base.as_deref()).await?;
        let contents = api.read_files(&base, &paths).await?;
        Ok::<_, Error>((base, contents))
    })?;
    let mut planned = Vec::new();
    let mut errors = Vec::new();
    for (path, bytes) in paths.iter().zip(contents) {
        let shown = PathBuf::from(path);
        let text = match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(_) => {
                errors.push(Error::file(
                    &shown,
                    format!("on {base} it is not UTF-8 text"),
                ));
                continue;
            }
        };
        match plan_text(&shown, text, args.target, promotion, true) {
            Ok(p) => planned.push(p),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(Error::Many(errors));
    }
    require_targets(&planned, promotion)?;
    report_notes(&planned);
    let changed: Vec<&Planned> = planned.iter().filter(|p| p.changed()).collect();
    if changed.is_empty() {
        report::out(&format!(
            "nothing to promote: every entry of {} on {base} is at {}",
            promotion.repository, promotion.digest
        ));
        return Ok(Outcome::Ok);
    }
    let Some(signer) = verifier.signer(global, image)? else {
        return Ok(Outcome::PolicyNo);
    };
    let last = image.name().rsplit('/').next().unwrap_or("image");
    let hex = promotion.digest.trim_start_matches("sha256:");
    let change = github::ChangeSet {
        base: base.clone(),
        branch: format!("wharf/promote-{last}-{}", hex.get(..12).unwrap_or(hex)),
        title: title(image, promotion),
        body: pr_body(image, promotion, &signer, &changed, scan.as_ref()),
        message: commit_message(image, promotion, &signer, &changed),
        files: changed
            .iter()
            .map(|p| {
                (
                    p.path.to_string_lossy().into_owned(),
                    p.new_text.clone().into_bytes(),
                )
            })
            .collect(),
    };
    let published = runtime.block_on(api.publish(&change))?;
    let verb = if published.created {
        "opened"
    } else {
        "updated"
    };
    report::out(&format!(
        "{verb} pull request #{}: {}",
        published.number, published.url
    ));
    Ok(Outcome::Ok)
}

/// A FILE argument as a path in the repository (UTF-8, relative, `/`-separated).
fn repo_path(path: &Path) -> Result<String> {
    let text = path
        .to_str()
        .ok_or_else(|| Error::file(path, "the path is not UTF-8; GitHub paths are"))?;
    github::repo_path(text)
}

/// Counts by severity from a `wharf scan --format json` report.
#[derive(Debug)]
struct ScanSummary {
    counts: Vec<(&'static str, u64)>,
    gate: Option<String>,
}

fn scan_summary(path: &Path, digest: &str) -> Result<ScanSummary> {
    let bytes = fsutil::read_bounded(path, 64 << 20, "scan report")?;
    let doc: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        Error::file(
            path,
            format!(
                "not a JSON scan report ({e}); write one with `wharf scan --format json -o FILE`"
            ),
        )
    })?;
    let summary = doc.get("summary").ok_or_else(|| {
        Error::file(
            path,
            "no `summary` in it; --scan-report takes `wharf scan --format json` output",
        )
    })?;
    if let Some(scanned) = doc.get("digest").and_then(|d| d.as_str()) {
        if scanned != digest {
            return Err(Error::file(
                path,
                format!("it reports on {scanned}, not on the promoted {digest}; pass the report of this image"),
            ));
        }
    }
    let counts = ["critical", "high", "medium", "low", "unknown"]
        .into_iter()
        .map(|s| (s, summary.get(s).and_then(|v| v.as_u64()).unwrap_or(0)))
        .collect();
    let gate = doc.get("gate").map(|g| {
        let fail_on = g.get("fail_on").and_then(|v| v.as_str()).unwrap_or("?");
        let failed = g.get("failed").and_then(|v| v.as_bool()).unwrap_or(false);
        format!(
            "gate `--fail-on {fail_on}`: {}",
            if failed { "failed" } else { "passed" }
        )
    });
    Ok(ScanSummary { counts, gate })
}

fn pr_body(
    image: &Reference,
    promotion: &Promotion,
    signer: &str,
    changed: &[&Planned],
    scan: Option<&ScanSummary>,
) -> String {
    let mut body = format!(
        "Promotes `{}` to the signed digest.\n\n| | |\n|---|---|\n| Image | `{}` |\n| Digest | `{}` |\n| Signed by | {} |\n",
        image.name(),
        image,
        promotion.digest,
        signer
    );
    if let Some(scan) = scan {
        let counts: Vec<String> = scan
            .counts
            .iter()
            .map(|(s, n)| format!("{n} {s}"))
            .collect();
        body.push_str(&format!("| Findings | {} |\n", counts.join(", ")));
        if let Some(gate) = &scan.gate {
            body.push_str(&format!("| Scan | {gate} |\n"));
        }
    }
    body.push_str("\nChanged:\n\n");
    body.push_str(&changes_list(changed));
    body.push_str(
        "\nOpened by `wharf promote`; a new run for the same image updates this pull request.\n",
    );
    body
}
