//! `wharf pin`: find every image reference in Dockerfiles, Kubernetes
//! manifests, Helm values, kustomization and compose files, and pin it to the
//! digest the registry serves for its tag.
//!
//! "Sign the digest, deploy the digest" starts here. Files are edited only
//! in the bytes that hold a reference (comments, quotes, CRLF, a BOM and the
//! trailing newline stay as they were), atomically, and only when every file
//! and every reference could be handled: one failure writes nothing.

pub mod dockerfile;
pub mod site;
pub mod yaml;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use crate::cli::{PinArgs, PinStyle, TextOrJson};
use crate::config::Global;
use crate::reference::Reference;
use crate::registry::{Platform, RegistryClient, RegistryError};
use crate::{fsutil, report, Error, Outcome, Result};
use site::{FindError, Patch, Site, SiteState};
use yaml::YamlKind;

/// Files larger than this are refused: no manifest, values file or
/// Dockerfile is this big, and reading one whole costs memory.
pub const MAX_FILE_SIZE: u64 = 16 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Print a unified diff of what `Write` would do.
    Diff,
    /// List references without a digest; resolve nothing.
    Check,
    /// Edit files in place.
    Write,
}

#[derive(Debug, Clone)]
pub struct PinOptions {
    pub paths: Vec<PathBuf>,
    pub mode: Mode,
    pub style: PinStyle,
    pub platform: Option<Platform>,
    pub format: TextOrJson,
    pub concurrency: usize,
}

impl PinOptions {
    pub fn from_args(args: PinArgs) -> Result<PinOptions> {
        let mode = match (args.check, args.write) {
            (true, _) => Mode::Check,
            (false, true) => Mode::Write,
            (false, false) => Mode::Diff,
        };
        let platform = Platform::from_flag(args.platform.as_deref())?;
        if !(1..=64).contains(&args.concurrency) {
            return Err(Error::Usage(format!(
                "--concurrency {}: give a number from 1 to 64",
                args.concurrency
            )));
        }
        let paths = if args.paths.is_empty() {
            vec![PathBuf::from(".")]
        } else {
            args.paths
        };
        Ok(PinOptions {
            paths,
            mode,
            style: args.style,
            platform,
            format: args.format,
            concurrency: args.concurrency,
        })
    }
}

/// What kind of file a path is, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Dockerfile,
    Yaml(YamlKind),
}

impl FileKind {
    /// The kind a file name says, or `None` for files pin does not read.
    pub fn of(path: &Path) -> Option<FileKind> {
        let name = path.file_name()?.to_str()?;
        let lower = name.to_ascii_lowercase();
        if lower == "dockerfile"
            || lower == "containerfile"
            || lower.ends_with(".dockerfile")
            || lower.ends_with(".containerfile")
            || ((lower.starts_with("dockerfile.") || lower.starts_with("containerfile."))
                && !source_extension(&lower))
        {
            return Some(FileKind::Dockerfile);
        }
        if name == "Kustomization" {
            return Some(FileKind::Yaml(YamlKind::Kustomization));
        }
        let stem = lower
            .strip_suffix(".yaml")
            .or_else(|| lower.strip_suffix(".yml"))?;
        let kind = if stem == "kustomization" {
            YamlKind::Kustomization
        } else if stem == "compose"
            || stem.starts_with("docker-compose")
            || stem.starts_with("compose.")
        {
            YamlKind::Compose
        } else if stem == "values" || stem.starts_with("values.") || stem.starts_with("values-") {
            YamlKind::HelmValues
        } else {
            YamlKind::Other
        };
        Some(FileKind::Yaml(kind))
    }
}

/// Whether a `Dockerfile.X` name is source code or documentation rather
/// than a variant Dockerfile (`Dockerfile.prod`): `dockerfile.go`,
/// `dockerfile.rs`, `Dockerfile.md` are a parser, its tests, its notes.
fn source_extension(lower: &str) -> bool {
    const SOURCE: &[&str] = &[
        "c", "cc", "cpp", "cs", "css", "ex", "exs", "go", "h", "hpp", "html", "java", "js", "json",
        "kt", "lua", "md", "php", "pl", "py", "rb", "rs", "rst", "scala", "sh", "swift", "toml",
        "ts", "txt", "yaml", "yml", "zig", "snap", "orig", "rej", "bak", "swp",
    ];
    lower
        .rsplit_once('.')
        .is_some_and(|(_, ext)| SOURCE.contains(&ext))
}

/// Whether a file is a template that renders to the file its name says
/// (`Dockerfile.j2`, `Dockerfile.in`, `Containerfile.tmpl`): not found
/// when a directory is searched, because it is not yet the file, and its
/// placeholders are no Dockerfile syntax. Named explicitly, it is read.
fn is_template(path: &Path) -> bool {
    const TEMPLATE: &[&str] = &[
        "j2",
        "jinja",
        "jinja2",
        "in",
        "tmpl",
        "tpl",
        "template",
        "gotmpl",
        "erb",
        "mustache",
        "hbs",
        "handlebars",
        "njk",
        "ejs",
        "liquid",
        "mako",
        "tt",
        "vm",
        "ftl",
        "twig",
        "m4",
        "envsubst",
        "sample",
        "example",
        "dist",
    ];
    path.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_ascii_lowercase)
        .and_then(|n| n.rsplit_once('.').map(|(_, ext)| ext.to_string()))
        .is_some_and(|ext| TEMPLATE.contains(&ext.as_str()))
}

/// One file read and searched.
#[derive(Debug)]
struct Scanned {
    path: PathBuf,
    text: String,
    sites: Vec<Site>,
}

/// Runs `wharf pin`.
pub fn run(global: &Global, options: &PinOptions) -> Result<Outcome> {
    let files = collect_files(&options.paths, pin_reads, Some(NOT_PIN_FILE))
        .map_err(|e| nothing_written(options.mode, e))?;
    let mut scanned = Vec::new();
    let mut errors = Vec::new();
    for path in files {
        match scan_file(&path) {
            Ok(s) => scanned.push(s),
            Err(e) => errors.push(e),
        }
    }

    if options.mode == Mode::Check {
        return check(&scanned, errors, options);
    }
    if !errors.is_empty() {
        return Err(Error::Many(errors));
    }

    let digests =
        resolve_all(global, options, &scanned).map_err(|e| nothing_written(options.mode, e))?;

    let mut records = Vec::new();
    let mut changes: Vec<(&Scanned, String)> = Vec::new();
    for file in &scanned {
        let mut patches = Vec::new();
        for site in &file.sites {
            let mut record = Record::new(&file.path, site);
            if let SiteState::Unpinned(reference, patch) = &site.state {
                if let Some(digest) =
                    digests.get(&resolve_key(reference, options.platform.as_ref()))
                {
                    record.state = "resolved";
                    record.digest = Some(digest.clone());
                    patches.push((patch, reference, digest.as_str()));
                }
            }
            if let SiteState::Unresolvable { text, reason } = &site.state {
                report::warn(&format!(
                    "{}:{}: {text} cannot be pinned: {reason}",
                    file.path.display(),
                    site.line
                ));
            }
            records.push(record);
        }
        let new_text =
            apply(&file.text, &patches, options.style).map_err(|e| Error::file(&file.path, e))?;
        if new_text != file.text {
            changes.push((file, new_text));
        }
    }

    match options.mode {
        Mode::Diff => {
            if options.format == TextOrJson::Text {
                for (file, new_text) in &changes {
                    report::out(&unified_diff(&file.path, &file.text, new_text));
                }
            }
        }
        Mode::Write => {
            for (file, new_text) in &changes {
                fsutil::write_atomic(&file.path, new_text.as_bytes())
                    .map_err(|e| Error::file(&file.path, e))?;
            }
        }
        Mode::Check => {}
    }

    let changed: Vec<String> = changes
        .iter()
        .map(|(f, _)| f.path.display().to_string())
        .collect();
    match options.format {
        TextOrJson::Json => report::out(&json_report(&records, &changed)),
        TextOrJson::Text => {
            let pinned = records.iter().filter(|r| r.state == "resolved").count();
            let verb = if options.mode == Mode::Write {
                "pinned"
            } else {
                "would pin"
            };
            report::info(&format!(
                "{verb} {pinned} reference(s) in {} file(s); {} reference(s) found in {} file(s) read",
                changed.len(),
                records.len(),
                scanned.len()
            ));
        }
    }
    Ok(Outcome::Ok)
}

/// `--check`: list what has no digest, resolve nothing.
fn check(scanned: &[Scanned], errors: Vec<Error>, options: &PinOptions) -> Result<Outcome> {
    let mut records = Vec::new();
    let mut lines = Vec::new();
    for file in scanned {
        for site in &file.sites {
            let where_ = format!("{}:{}", file.path.display(), site.line);
            match &site.state {
                SiteState::Pinned(_) => {}
                SiteState::Unpinned(reference, _) => {
                    lines.push(format!("{where_}: {reference} is not pinned to a digest"))
                }
                SiteState::Unresolvable { text, reason } => {
                    lines.push(format!("{where_}: {text} cannot be pinned: {reason}"))
                }
            }
            records.push(Record::new(&file.path, site));
        }
    }
    // With errors the job was not done: the listing of what was read still
    // helps, but neither a summary nor a JSON report may suggest a verdict.
    let done = errors.is_empty();
    match options.format {
        TextOrJson::Json if done => report::out(&json_report(&records, &[])),
        TextOrJson::Json => {}
        TextOrJson::Text => {
            for line in &lines {
                report::out(line);
            }
            let total = records.len();
            let summary = match (done, lines.is_empty()) {
                (false, _) => None,
                (true, true) => Some(format!(
                    "all {total} reference(s) in {} file(s) are pinned to a digest",
                    scanned.len()
                )),
                (true, false) => Some(format!(
                    "{} of {total} reference(s) are not pinned to a digest; `wharf pin --write` pins them",
                    lines.len()
                )),
            };
            if let Some(summary) = summary {
                report::info(&summary);
            }
        }
    }
    if !errors.is_empty() {
        return Err(Error::Many(errors));
    }
    Ok(if lines.is_empty() {
        Outcome::Ok
    } else {
        Outcome::PolicyNo
    })
}

/// Under `--write`, says that the failure left every file as it was.
fn nothing_written(mode: Mode, err: Error) -> Error {
    if mode != Mode::Write {
        return err;
    }
    err.nothing_changed()
}

/// The files pin reads.
fn pin_reads(path: &Path) -> bool {
    FileKind::of(path).is_some()
}

const NOT_PIN_FILE: &str = "not a file pin reads: name Dockerfiles `Dockerfile`, `Containerfile` or `*.Dockerfile`, and YAML `*.yaml`/`*.yml`";

/// The files to read: directories walked for the files `accept` takes;
/// explicit files as given, or refused with `refusal` when `accept` does not
/// take them (`None`: every explicit file is read).
pub(crate) fn collect_files(
    paths: &[PathBuf],
    accept: fn(&Path) -> bool,
    refusal: Option<&str>,
) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) => {
                errors.push(Error::file(path, format!("cannot read it: {e}")));
                continue;
            }
        };
        if meta.is_dir() {
            let walker = walkdir::WalkDir::new(path)
                .follow_links(false)
                .sort_by_file_name()
                .into_iter();
            for entry in walker.filter_entry(|e| !skip_dir(e)) {
                match entry {
                    Ok(e)
                        if e.file_type().is_file()
                            && accept(e.path())
                            && !is_template(e.path()) =>
                    {
                        files.push(e.into_path())
                    }
                    Ok(_) => {}
                    Err(e) => {
                        let at = e
                            .path()
                            .map(Path::to_path_buf)
                            .unwrap_or_else(|| path.clone());
                        errors.push(Error::file(at, format!("cannot read it: {e}")));
                    }
                }
            }
        } else {
            match refusal {
                Some(why) if !accept(path) => errors.push(Error::file(path, why)),
                _ => files.push(path.clone()),
            }
        }
    }
    if !errors.is_empty() {
        return Err(Error::Many(errors));
    }
    // A file named twice (itself and inside a directory given too) is read once.
    let mut seen = std::collections::HashSet::new();
    files.retain(|f| seen.insert(std::fs::canonicalize(f).unwrap_or_else(|_| f.clone())));
    Ok(files)
}

/// Directories never worth walking: version control, dependencies, and
/// Helm chart templates (Go templates, not YAML).
fn skip_dir(entry: &walkdir::DirEntry) -> bool {
    if !entry.file_type().is_dir() || entry.depth() == 0 {
        return false;
    }
    let name = entry.file_name().to_string_lossy();
    if matches!(
        name.as_ref(),
        ".git" | ".hg" | ".svn" | "node_modules" | ".terraform"
    ) {
        return true;
    }
    name == "templates"
        && entry
            .path()
            .parent()
            .is_some_and(|p| p.join("Chart.yaml").is_file())
}

fn scan_file(path: &Path) -> Result<Scanned> {
    let kind = FileKind::of(path).ok_or_else(|| Error::file(path, "not a file pin reads"))?;
    let text = read_text(path)?;
    let found = match kind {
        FileKind::Dockerfile => dockerfile::find(&text),
        FileKind::Yaml(k) => yaml::find(&text, k),
    };
    let sites = found.map_err(|e: FindError| Error::file(path, e.to_string()))?;
    Ok(Scanned {
        path: path.to_path_buf(),
        text,
        sites,
    })
}

/// Reads a text file whole, refusing what is too large or not text (pin and
/// lint read their files through it).
pub fn read_text(path: &Path) -> Result<String> {
    use std::io::Read;
    let file =
        std::fs::File::open(path).map_err(|e| Error::file(path, format!("cannot read it: {e}")))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::file(path, format!("cannot read it: {e}")))?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(Error::file(
            path,
            format!("it is larger than {} MiB, more than any manifest or Dockerfile holds: name the file you meant, or split it", MAX_FILE_SIZE >> 20),
        ));
    }
    if bytes.contains(&0) {
        return Err(Error::file(
            path,
            "it is not a text file (it contains NUL bytes)",
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        Error::file(
            path,
            format!(
                "it is not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

/// What a reference is resolved as: the same name, tag and platform resolve once.
fn resolve_key(reference: &Reference, platform: Option<&Platform>) -> String {
    match platform {
        Some(p) => format!("{} {p}", reference.canonical()),
        None => reference.canonical(),
    }
}

/// Resolves every unique unpinned reference once, `concurrency` at a time.
fn resolve_all(
    global: &Global,
    options: &PinOptions,
    scanned: &[Scanned],
) -> Result<HashMap<String, String>> {
    // key -> (reference, where it stands)
    let mut unique: BTreeMap<String, (Reference, Vec<String>)> = BTreeMap::new();
    for file in scanned {
        for site in &file.sites {
            if let SiteState::Unpinned(reference, _) = &site.state {
                let key = resolve_key(reference, options.platform.as_ref());
                unique
                    .entry(key)
                    .or_insert_with(|| (reference.clone(), Vec::new()))
                    .1
                    .push(format!("{}:{}", file.path.display(), site.line));
            }
        }
    }
    if unique.is_empty() {
        return Ok(HashMap::new());
    }

    let client = Arc::new(RegistryClient::new(global).map_err(Error::Usage)?);
    let runtime = crate::runtime()?;

    let progress = Progress::new(unique.len());
    let results = runtime.block_on(async {
        // One ping and one token request per registry, for all its repositories.
        let mut by_registry: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (reference, _) in unique.values() {
            by_registry
                .entry(reference.registry().to_string())
                .or_default()
                .insert(reference.repository());
        }
        let prepared =
            futures_util::future::join_all(by_registry.iter().map(|(registry, repos)| {
                let client = client.clone();
                async move { (registry.clone(), client.prepare(registry, repos).await) }
            }))
            .await;
        let failed_registries: HashMap<String, RegistryError> = prepared
            .into_iter()
            .filter_map(|(r, res)| res.err().map(|e| (r, e)))
            .collect();

        let semaphore = Arc::new(tokio::sync::Semaphore::new(options.concurrency));
        let tasks = unique.iter().map(|(key, (reference, _))| {
            let client = client.clone();
            let semaphore = semaphore.clone();
            let progress = &progress;
            let failed = failed_registries.get(reference.registry()).cloned();
            async move {
                if let Some(e) = failed {
                    return (key.clone(), Err(e));
                }
                let _permit = semaphore.acquire().await;
                let result = client.resolve(reference, options.platform.as_ref()).await;
                if let Ok(r) = &result {
                    progress.resolved(reference, &r.digest);
                }
                (key.clone(), result)
            }
        });
        futures_util::future::join_all(tasks).await
    });
    progress.finish();

    let mut digests = HashMap::new();
    let mut errors = Vec::new();
    let mut reported_registries = std::collections::HashSet::new();
    for (key, result) in results {
        match result {
            Ok(resolved) => {
                digests.insert(key, resolved.digest);
            }
            Err(e) => {
                // One unreachable registry (or one broken credential) is one error,
                // not one per reference.
                if let RegistryError::Unreachable { registry, .. }
                | RegistryError::Tls { registry, .. }
                | RegistryError::Credentials { registry, .. } = &e
                {
                    if !reported_registries.insert(registry.clone()) {
                        continue;
                    }
                }
                let places = unique
                    .get(&key)
                    .map(|(_, p)| p.join(", "))
                    .unwrap_or_default();
                errors.push(Error::Usage(format!("{places}: {e}")));
            }
        }
    }
    if errors.is_empty() {
        Ok(digests)
    } else {
        Err(Error::Many(errors))
    }
}

/// Applies patches to `text`, last first so earlier spans stay valid.
fn apply(
    text: &str,
    patches: &[(&Patch, &Reference, &str)],
    style: PinStyle,
) -> Result<String, String> {
    let mut edits: Vec<(std::ops::Range<usize>, String)> = patches
        .iter()
        .map(|(patch, reference, digest)| {
            let replacement = match patch {
                Patch::Reference { .. } => match style {
                    PinStyle::TagDigest => reference.with_digest(digest),
                    PinStyle::Digest => reference.name_with_digest(digest),
                },
                Patch::Tag { span } => format!("{}@{digest}", &text[span.clone()]),
                Patch::Digest { .. } => digest.to_string(),
                Patch::Insert { before, after, .. } => format!("{before}{digest}{after}"),
            };
            (patch.span(), replacement)
        })
        .collect();
    edits.sort_by_key(|a| (a.0.start, a.0.end));
    edits.dedup();
    for pair in edits.windows(2) {
        if pair[0].0.end > pair[1].0.start || (pair[0].0 == pair[1].0) {
            return Err(format!(
                "two references overlap at bytes {:?} and {:?}; this is a wharf bug, please report it",
                pair[0].0, pair[1].0
            ));
        }
    }
    let mut out = text.to_string();
    for (span, replacement) in edits.iter().rev() {
        if span.end > out.len()
            || !out.is_char_boundary(span.start)
            || !out.is_char_boundary(span.end)
        {
            return Err(format!("an edit at bytes {span:?} falls outside the text; this is a wharf bug, please report it"));
        }
        out.replace_range(span.clone(), replacement);
    }
    Ok(out)
}

pub(crate) fn unified_diff(path: &Path, old: &str, new: &str) -> String {
    let name = path.display().to_string();
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{name}"), &format!("b/{name}"))
        .to_string()
}

#[derive(Debug, Serialize)]
struct Record {
    file: String,
    line: usize,
    reference: String,
    /// pinned | unpinned | resolved | unresolvable
    state: &'static str,
    digest: Option<String>,
    reason: Option<String>,
}

impl Record {
    fn new(path: &Path, site: &Site) -> Record {
        let (reference, state, digest, reason) = match &site.state {
            SiteState::Pinned(r) => (
                r.to_string(),
                "pinned",
                r.digest().map(str::to_string),
                None,
            ),
            SiteState::Unpinned(r, _) => (r.to_string(), "unpinned", None, None),
            SiteState::Unresolvable { text, reason } => {
                (text.clone(), "unresolvable", None, Some(reason.clone()))
            }
        };
        Record {
            file: path.display().to_string(),
            line: site.line,
            reference,
            state,
            digest,
            reason,
        }
    }
}

fn json_report(records: &[Record], changed: &[String]) -> String {
    #[derive(Serialize)]
    struct Doc<'a> {
        references: &'a [Record],
        changed_files: &'a [String],
    }
    serde_json::to_string_pretty(&Doc {
        references: records,
        changed_files: changed,
    })
    .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialise the report: {e}\"}}"))
}

/// A progress bar on a terminal; plain lines in CI logs.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    fn new(total: usize) -> Progress {
        let bar = report::interactive().then(|| {
            let bar = indicatif::ProgressBar::new(total as u64);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{spinner} resolving {pos}/{len} {wide_msg}",
            ) {
                bar.set_style(style);
            }
            bar
        });
        Progress { bar }
    }

    fn resolved(&self, reference: &Reference, digest: &str) {
        match &self.bar {
            Some(bar) => {
                bar.set_message(reference.to_string());
                bar.inc(1);
            }
            None => report::info(&format!("resolved {reference} to {digest}")),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

    #[test]
    fn file_kinds_by_name() {
        let k = |n: &str| FileKind::of(Path::new(n));
        assert_eq!(k("Dockerfile"), Some(FileKind::Dockerfile));
        assert_eq!(k("api.Dockerfile"), Some(FileKind::Dockerfile));
        assert_eq!(k("Dockerfile.prod"), Some(FileKind::Dockerfile));
        assert_eq!(k("Containerfile"), Some(FileKind::Dockerfile));
        assert_eq!(
            k("kustomization.yaml"),
            Some(FileKind::Yaml(YamlKind::Kustomization))
        );
        assert_eq!(
            k("docker-compose.override.yml"),
            Some(FileKind::Yaml(YamlKind::Compose))
        );
        assert_eq!(
            k("values-prod.yaml"),
            Some(FileKind::Yaml(YamlKind::HelmValues))
        );
        assert_eq!(k("deploy.yaml"), Some(FileKind::Yaml(YamlKind::Other)));
        assert_eq!(k("main.rs"), None);
        // A Dockerfile parser's own source is not a Dockerfile.
        assert_eq!(k("dockerfile.rs"), None);
        assert_eq!(k("Dockerfile.go"), None);
        assert_eq!(k("dockerfile_test.go"), None);
        assert_eq!(k("Dockerfile.md"), None);
        assert_eq!(k("Dockerfile.dev"), Some(FileKind::Dockerfile));
        assert_eq!(k("Containerfile.arm64"), Some(FileKind::Dockerfile));
        assert_eq!(k("Dockerfile.ubi9"), Some(FileKind::Dockerfile));
    }

    #[test]
    fn templates_are_not_found_in_a_directory_but_read_when_named() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "Dockerfile",
            "Dockerfile.j2",
            "Dockerfile.in",
            "Containerfile.tmpl",
            "Dockerfile.prod",
        ] {
            std::fs::write(dir.path().join(name), "FROM scratch\n").unwrap();
        }
        let found =
            collect_files(&[dir.path().to_path_buf()], pin_reads, Some(NOT_PIN_FILE)).unwrap();
        let names: Vec<String> = found
            .iter()
            .filter_map(|p| p.file_name()?.to_str().map(str::to_string))
            .collect();
        assert_eq!(names, ["Dockerfile", "Dockerfile.prod"]);
        let named = dir.path().join("Dockerfile.j2");
        let found =
            collect_files(std::slice::from_ref(&named), pin_reads, Some(NOT_PIN_FILE)).unwrap();
        assert_eq!(found, [named]);
    }

    #[test]
    fn patches_apply_last_first_and_keep_other_bytes() {
        let text = "a: nginx:1.25\r\nb: \"redis\"\r\n";
        let r1 = Reference::parse("nginx:1.25").unwrap();
        let r2 = Reference::parse("redis").unwrap();
        let p1 = Patch::Reference { span: 3..13 };
        let p2 = Patch::Reference { span: 19..24 };
        let out = apply(text, &[(&p1, &r1, D), (&p2, &r2, D)], PinStyle::TagDigest).unwrap();
        assert_eq!(out, format!("a: nginx:1.25@{D}\r\nb: \"redis@{D}\"\r\n"));
        let out = apply(text, &[(&p1, &r1, D)], PinStyle::Digest).unwrap();
        assert_eq!(out, format!("a: nginx@{D}\r\nb: \"redis\"\r\n"));
    }

    #[test]
    fn one_span_patched_twice_is_one_edit() {
        let text = "x: nginx:1\n";
        let r = Reference::parse("nginx:1").unwrap();
        let p = Patch::Reference { span: 3..10 };
        let out = apply(text, &[(&p, &r, D), (&p, &r, D)], PinStyle::TagDigest).unwrap();
        assert_eq!(out, format!("x: nginx:1@{D}\n"));
    }

    #[test]
    fn insertions_and_tags() {
        let text = "- name: a\n  newTag: \"1\"\n";
        let r = Reference::parse("a:1").unwrap();
        let tag = Patch::Tag { span: 21..22 };
        let out = apply(text, &[(&tag, &r, D)], PinStyle::Digest).unwrap();
        assert_eq!(out, format!("- name: a\n  newTag: \"1@{D}\"\n"));
        let ins = Patch::Insert {
            at: 23,
            before: "\n  digest: ".into(),
            after: String::new(),
        };
        let out = apply(text, &[(&ins, &r, D)], PinStyle::TagDigest).unwrap();
        assert_eq!(out, format!("- name: a\n  newTag: \"1\"\n  digest: {D}\n"));
    }
}
