//! `wharf db update`: osv.dev's data, downloaded into the cache and kept
//! fresh without downloading it again.
//!
//! osv.dev publishes, per ecosystem, `<MIRROR>/<ECOSYSTEM>/all.zip` (every
//! record), `<ECOSYSTEM>/modified_id.csv` (`<modified>,<id>` per record,
//! newest first) and `<ECOSYSTEM>/<ID>.json`. The directory is the
//! ecosystem's name cut at its first `:` (`Debian:12` → `Debian`).
//!
//! Per ecosystem, an update:
//! * with no previous state for this mirror, downloads `all.zip` (streamed
//!   to disk, resumed or restarted when it breaks, checked against its
//!   length, crc32c and zip structure), then catches up on records the list
//!   says were modified after the newest one in the zip;
//! * otherwise asks for `modified_id.csv` with `If-None-Match` on the ETag
//!   seen last time: a 304 means nothing changed (a few hundred bytes of
//!   headers). On a 200/206 it reads the list only down to the last
//!   update's high-water mark and fetches just those records, unless there
//!   are more than [`FULL_AFTER`] of them: then `all.zip` again, which is
//!   cheaper than that many requests (a record is ~4 KiB and a round trip;
//!   `all.zip` compresses ~5:1 and is one stream).
//!   A mirror without `modified_id.csv` gets a conditional request for
//!   `all.zip` instead.
//!
//! Everything fetched goes into the cache through one [`cache::import`]
//! (a new generation, swapped in whole), and only then is the state
//! ([`state`]) written. Updates of one cache take turns (`osv/UPDATE.LOCK`);
//! one that waited skips the ecosystems another just refreshed. A failure
//! before the import leaves the cache and the state as they were.
//!
//! `wharf scan` and `wharf run` call [`ensure_for`] before opening the
//! default cache: the ecosystems the inventory needs are updated when they
//! are missing or older than `--db-age-warning`, unless `--offline`.

pub mod fetch;
pub mod state;

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::Deserialize;
use url::Url;

use self::fetch::{Fetched, Http, Progress};
use super::{cache, Db, DbInfo, Source};
use crate::cli::ScanArgs;
use crate::config::Global;
use crate::fsutil::{self, cache_root};
use crate::sbom::model::Inventory;
use crate::{report, Error, Outcome, Result};

/// osv.dev's bucket.
pub const DEFAULT_MIRROR: &str = "https://osv-vulnerabilities.storage.googleapis.com";

/// More records changed than this since the last update: download `all.zip`.
pub const FULL_AFTER: usize = 1_000;

/// osv.dev's ecosystem directories (its `ecosystems.txt`), for spelling
/// `--ecosystem pypi` right and telling which cached ecosystems osv.dev has.
const KNOWN: &[&str] = &[
    "AlmaLinux",
    "Alpaquita",
    "Alpine",
    "Android",
    "Azure Linux",
    "BellSoft Hardened Containers",
    "Bioconductor",
    "Bitnami",
    "CRAN",
    "Chainguard",
    "ConanCenter",
    "Debian",
    "Echo",
    "GHC",
    "GIT",
    "GitHub Actions",
    "Go",
    "Hackage",
    "Hex",
    "Julia",
    "Linux",
    "Mageia",
    "Maven",
    "MinimOS",
    "NuGet",
    "OSS-Fuzz",
    "Packagist",
    "Photon OS",
    "Pub",
    "PyPI",
    "Red Hat",
    "Rocky Linux",
    "RubyGems",
    "SUSE",
    "SwiftURL",
    "Ubuntu",
    "Wolfi",
    "crates.io",
    "npm",
    "openEuler",
    "openSUSE",
];

/// The bucket directory of an ecosystem string: cut at the first `:`,
/// spelled as osv.dev spells it when it is one of osv.dev's (`pypi` →
/// `PyPI`, `golang` → `Go`); any other name is kept as given.
pub fn directory(ecosystem: &str) -> String {
    let base = ecosystem.split(':').next().unwrap_or(ecosystem).trim();
    let alias = match base.to_ascii_lowercase().as_str() {
        "golang" => Some("Go"),
        "cargo" => Some("crates.io"),
        _ => None,
    };
    alias
        .or_else(|| KNOWN.iter().copied().find(|k| k.eq_ignore_ascii_case(base)))
        .map(str::to_string)
        .unwrap_or_else(|| base.to_string())
}

fn valid_directory(name: &str) -> Result<()> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\', '\0']) {
        return Err(Error::Usage(format!(
            "--ecosystem {name:?}: name an OSV ecosystem (PyPI, npm, Go, crates.io, Maven, Debian, Alpine, Ubuntu, ...)"
        )));
    }
    Ok(())
}

/// The mirror: `--mirror`, else `WHARF_OSV_MIRROR`, else osv.dev's bucket.
pub fn mirror(flag: Option<&str>) -> Result<Url> {
    let env = std::env::var("WHARF_OSV_MIRROR")
        .ok()
        .filter(|v| !v.trim().is_empty());
    let (text, from) = match (flag, env) {
        (Some(f), _) => (f.to_string(), "--mirror"),
        (None, Some(v)) => (v, "WHARF_OSV_MIRROR"),
        (None, None) => (DEFAULT_MIRROR.to_string(), "the default mirror"),
    };
    let bad = |why: String| {
        Error::Usage(format!(
            "{from} {text:?}: {why}; give the base URL of a copy of osv.dev's bucket, as {DEFAULT_MIRROR}"
        ))
    };
    let url = Url::parse(text.trim()).map_err(|e| bad(format!("not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(bad("not an http(s) URL".into()));
    }
    if url.query().is_some() {
        return Err(bad("a query string has no place in it".into()));
    }
    Ok(url)
}

fn object_url(mirror: &Url, ecosystem: &str, name: &str) -> Url {
    let mut url = mirror.clone();
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.pop_if_empty().push(ecosystem).push(name);
    }
    url
}

/// What an update did for one ecosystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Done {
    /// Nothing changed (a 304, or no record newer than last time).
    UpToDate,
    /// `all.zip` in full, then the records modified after it.
    Full {
        bytes: u64,
        records: usize,
        later: usize,
    },
    /// Only the records modified since the last update.
    Changed { records: usize },
    /// The mirror has no data for it (`all.zip` is 404), and the cache
    /// never had any: remembered, so that scans do not ask every time.
    Absent { url: String },
}

/// What [`update`] did.
#[derive(Debug)]
pub struct Updated {
    /// Per ecosystem refreshed (or found up to date), in name order.
    pub done: Vec<(String, Done)>,
    /// Ecosystems another process had just refreshed (we waited for it).
    pub skipped: Vec<String>,
    /// One line per ecosystem that could not be refreshed; its data in the
    /// cache is as it was.
    pub failures: Vec<String>,
    pub import: Option<cache::ImportSummary>,
}

/// One ecosystem's refresh, fetched and not yet imported.
struct Refresh {
    done: Done,
    paths: Vec<PathBuf>,
    state: state::Ecosystem,
}

/// Updates `ecosystems` (bucket directory names) in the cache at `root`
/// from `mirror`. An ecosystem that cannot be fetched is a line in
/// `failures`; the others are imported. An error means nothing was.
pub fn update(root: &Path, mirror: &Url, ecosystems: &BTreeSet<String>) -> Result<Updated> {
    for e in ecosystems {
        valid_directory(e)?;
    }
    let osv = cache::osv_dir(root);
    std::fs::create_dir_all(&osv).map_err(|e| {
        Error::file(
            &osv,
            format!(
                "cannot create the OSV cache: {e}; set WHARF_CACHE_DIR to a writable directory"
            ),
        )
    })?;
    let asked = Timestamp::now();
    let lock_path = osv.join("UPDATE.LOCK");
    let _lock = fsutil::lock(&lock_path, true, "the OSV cache's update")
        .map_err(|e| Error::file(&lock_path, e))?;
    let mut state = state::load(root, true);
    let mut skipped = Vec::new();
    let todo: Vec<&String> = ecosystems
        .iter()
        .filter(|e| {
            let just_done = state.ecosystems.get(e.as_str()).is_some_and(|s| {
                s.mirror == mirror.as_str() && s.checked_at().is_some_and(|t| t >= asked)
            });
            if just_done {
                skipped.push(e.to_string());
            }
            !just_done
        })
        .collect();

    // Scratch space on the cache's file system, under fixed names so that
    // each import records the same source paths; whatever an earlier run
    // that died left here goes first.
    let work = osv.join("downloads");
    let _ = std::fs::remove_dir_all(&work);
    let http = Http::new().map_err(Error::Usage)?;
    let runtime = crate::runtime()?;
    let now = Timestamp::now();
    let mut fetched: Vec<(String, Refresh)> = Vec::new();
    let mut failures = Vec::new();
    for ecosystem in todo {
        let dir = work.join(ecosystem);
        let previous = state.ecosystems.get(ecosystem);
        let result = std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))
            .and_then(|()| {
                runtime.block_on(refresh(&http, mirror, ecosystem, previous, &dir, now))
            });
        match result {
            Ok(r) => fetched.push((ecosystem.clone(), r)),
            Err(why) => failures.push(format!("{ecosystem}: {why}")),
        }
    }
    let paths: Vec<PathBuf> = fetched
        .iter()
        .flat_map(|(_, r)| r.paths.iter().cloned())
        .collect();
    let import = if paths.is_empty() {
        None
    } else {
        match cache::import(&paths, root) {
            Ok(summary) => Some(summary),
            Err(e) => {
                let _ = std::fs::remove_dir_all(&work);
                return Err(e);
            }
        }
    };
    let _ = std::fs::remove_dir_all(&work);
    let mut done = Vec::new();
    for (ecosystem, refresh) in fetched {
        state.ecosystems.insert(ecosystem.clone(), refresh.state);
        done.push((ecosystem, refresh.done));
    }
    if !done.is_empty() {
        state::save(root, &state)?;
    }
    Ok(Updated {
        done,
        skipped,
        failures,
        import,
    })
}

/// Fetches what one ecosystem needs into `work`.
async fn refresh(
    http: &Http,
    mirror: &Url,
    ecosystem: &str,
    previous: Option<&state::Ecosystem>,
    work: &Path,
    now: Timestamp,
) -> std::result::Result<Refresh, String> {
    let csv_url = object_url(mirror, ecosystem, "modified_id.csv");
    let previous = previous.filter(|p| p.mirror == mirror.as_str());
    let mut next = previous.cloned().unwrap_or_default();
    next.mirror = mirror.to_string();
    next.checked_at = now.to_string();
    let up_to_date = |state| Refresh {
        done: Done::UpToDate,
        paths: Vec::new(),
        state,
    };
    // A conditional request for the zip only makes sense when the list
    // cannot tell us what changed.
    let mut zip_etag = previous.and_then(|p| p.zip_etag.clone());

    if let Some(mark) = previous.and_then(|p| p.high_water()) {
        let etag = previous.and_then(|p| p.csv_etag.as_deref());
        match http.changes(&csv_url, etag, Some(mark), FULL_AFTER).await? {
            Fetched::NotModified => return Ok(up_to_date(next)),
            Fetched::Fresh(changes) if !changes.over_limit => {
                next.csv_etag = changes.etag.clone();
                if changes.newer.is_empty() {
                    return Ok(up_to_date(next));
                }
                let dir = fetch_records(http, mirror, ecosystem, &changes.newer, work).await?;
                next.high_water = Some(newest(Some(mark), &changes.newer).to_string());
                next.updated_at = now.to_string();
                return Ok(Refresh {
                    done: Done::Changed {
                        records: changes.newer.len(),
                    },
                    paths: vec![dir],
                    state: next,
                });
            }
            Fetched::Fresh(_) => {
                report::info(&format!(
                    "{ecosystem}: more than {FULL_AFTER} records changed since the last update: downloading all.zip"
                ));
                zip_etag = None;
            }
            Fetched::Missing => {}
        }
    }

    let zip_url = object_url(mirror, ecosystem, "all.zip");
    let zip_path = work.join("all.zip");
    let mut file = File::create(&zip_path)
        .map_err(|e| format!("cannot create {}: {e}", zip_path.display()))?;
    let progress = Progress::bytes(&format!("{ecosystem}/all.zip"));
    if !report::interactive() {
        report::info(&format!("downloading {zip_url}"));
    }
    let object = match http
        .download(&zip_url, zip_etag.as_deref(), &mut file, &progress)
        .await?
    {
        Fetched::NotModified => return Ok(up_to_date(next)),
        Fetched::Missing if next.zip_records == 0 && next.high_water.is_none() => {
            next.absent = true;
            return Ok(Refresh {
                done: Done::Absent {
                    url: zip_url.to_string(),
                },
                paths: Vec::new(),
                state: next,
            });
        }
        Fetched::Missing => return Err(absent_text(&zip_url, ecosystem)),
        Fetched::Fresh(object) => object,
    };
    drop(file);
    drop(progress);
    let zip = scan_zip(&zip_path).map_err(|why| {
        format!(
            "{zip_url}: the archive is damaged ({why}): the mirror's copy may be broken; \
             try again later or another mirror"
        )
    })?;
    next.zip_etag = object.etag;
    next.zip_crc32c = object.crc32c;
    next.zip_bytes = object.bytes;
    next.zip_records = zip.records;
    next.high_water = zip.newest.map(|t| t.to_string());
    next.csv_etag = None;
    next.updated_at = now.to_string();
    let mut paths = vec![zip_path];

    // Records modified after the zip was written. Not fatal: the next
    // update starts from the zip's newest record anyway.
    let mut later = 0;
    match http.changes(&csv_url, None, zip.newest, FULL_AFTER).await {
        Ok(Fetched::Fresh(changes)) if !changes.over_limit => {
            if !changes.newer.is_empty() {
                match fetch_records(http, mirror, ecosystem, &changes.newer, work).await {
                    Ok(dir) => {
                        paths.push(dir);
                        later = changes.newer.len();
                        next.high_water = Some(newest(zip.newest, &changes.newer).to_string());
                        next.csv_etag = changes.etag;
                    }
                    Err(why) => report::warn(&format!(
                        "{ecosystem}: records modified since all.zip was written are not fetched yet ({why}); \
                         the next update fetches them"
                    )),
                }
            } else {
                next.csv_etag = changes.etag;
            }
        }
        Ok(_) => {}
        Err(why) => report::warn(&format!(
            "{ecosystem}: cannot read modified_id.csv ({why}); the next update asks again"
        )),
    }
    Ok(Refresh {
        done: Done::Full {
            bytes: object.bytes,
            records: zip.records,
            later,
        },
        paths,
        state: next,
    })
}

/// The newest of `mark` and the listed times.
fn newest(mark: Option<Timestamp>, listed: &[(Timestamp, String)]) -> Timestamp {
    listed
        .iter()
        .map(|(t, _)| *t)
        .chain(mark)
        .max()
        .unwrap_or_default()
}

/// Fetches the listed records into `work/records/`, returning that directory.
async fn fetch_records(
    http: &Http,
    mirror: &Url,
    ecosystem: &str,
    listed: &[(Timestamp, String)],
    work: &Path,
) -> std::result::Result<PathBuf, String> {
    if !report::interactive() {
        report::info(&format!(
            "{ecosystem}: fetching {} changed record(s) from {mirror}",
            listed.len()
        ));
    }
    let progress = Progress::count(&format!("{ecosystem} records"));
    let wanted = listed
        .iter()
        .map(|(_, id)| {
            (
                id.clone(),
                object_url(mirror, ecosystem, &format!("{id}.json")),
            )
        })
        .collect();
    let records = http.records(wanted, &progress).await?;
    let dir = work.join("records");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for (id, bytes) in records {
        let path = dir.join(format!("{id}.json"));
        std::fs::write(&path, bytes)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(dir)
}

/// What a downloaded `all.zip` holds.
struct ZipContents {
    records: usize,
    newest: Option<Timestamp>,
}

/// Reads every entry of the zip (so a damaged archive is refused before
/// anything is imported) and finds its newest `modified`: the high-water
/// mark, taken from the data itself rather than from when it was listed.
fn scan_zip(path: &Path) -> std::result::Result<ZipContents, String> {
    use super::archive::{self, Archive};
    #[derive(Deserialize)]
    struct Head {
        modified: Option<String>,
    }
    // A record's `modified`, if it is a record; decoded on every core.
    let date = |(entry, stored): (archive::Entry, Vec<u8>)| {
        let bytes = archive::decode(&entry, &stored)?;
        // A corrupt record is the import's to warn about; only dates matter here.
        Ok::<_, String>(
            serde_json::from_slice::<Head>(&bytes)
                .ok()
                .map(|head| head.modified.and_then(|m| m.parse::<Timestamp>().ok())),
        )
    };
    let zip = Archive::open(path).map_err(|e| format!("not a zip archive: {e}"))?;
    let mut reader = zip.reader(true);
    let mut contents = ZipContents {
        records: 0,
        newest: None,
    };
    let mut entries = zip.entries();
    loop {
        let mut batch = Vec::with_capacity(256);
        for entry in entries.by_ref() {
            let entry = entry?;
            if entry.is_dir() || !super::read::is_json_name(&entry.name) {
                continue;
            }
            if entry.size > super::read::MAX_RECORD_BYTES {
                // The import skips it with a warning; its date is no evidence.
                continue;
            }
            let stored = reader.stored(&entry)?;
            batch.push((entry, stored));
            if batch.len() == 256 {
                break;
            }
        }
        if batch.is_empty() {
            return Ok(contents);
        }
        for dated in super::read::par_map(batch, date) {
            if let Some(modified) = dated? {
                contents.records += 1;
                contents.newest = contents.newest.max(modified);
            }
        }
    }
}

/// The ecosystems a cache holds, as bucket directories: those downloaded
/// by `update`, and those of imported records that osv.dev publishes.
fn in_cache(root: &Path) -> BTreeSet<String> {
    let mut set = state::downloaded(root);
    if let Ok(db) = Db::open(&Source::Cache(root.to_path_buf())) {
        set.extend(
            db.info()
                .per_ecosystem
                .keys()
                .map(|e| directory(e))
                .filter(|d| KNOWN.contains(&d.as_str())),
        );
    }
    set
}

/// `wharf db update [--ecosystem E...] [--mirror URL]`.
pub fn run(global: &Global, ecosystems: &[String], mirror_flag: Option<&str>) -> Result<Outcome> {
    if global.offline {
        return Err(Error::Usage(
            "`wharf db update` downloads OSV data and --offline (WHARF_OFFLINE) forbids the network: \
             drop --offline, or import data you have with `wharf db import DIR|ZIP`"
                .into(),
        ));
    }
    let mirror = mirror(mirror_flag)?;
    let root = cache_root()?;
    let wanted: BTreeSet<String> = if ecosystems.is_empty() {
        in_cache(&root)
    } else {
        ecosystems.iter().map(|e| directory(e)).collect()
    };
    if wanted.is_empty() {
        return Err(Error::Usage(format!(
            "the OSV cache {} holds no ecosystem to refresh: name the ones to download, \
             e.g. `wharf db update --ecosystem PyPI --ecosystem Debian` (or scan: `wharf scan` \
             downloads what the image needs)",
            cache::osv_dir(&root).display()
        )));
    }
    let mut updated = update(&root, &mirror, &wanted)?;
    // Named on the command line, an ecosystem the mirror lacks is an error
    // (a typo, most often); a scan only remembers it.
    for (ecosystem, done) in &updated.done {
        if let Done::Absent { url } = done {
            let url = Url::parse(url).unwrap_or_else(|_| mirror.clone());
            updated
                .failures
                .push(format!("{ecosystem}: {}", absent_text(&url, ecosystem)));
        }
    }
    updated
        .done
        .retain(|(_, d)| !matches!(d, Done::Absent { .. }));
    report::out(&updated_text(&updated, &mirror));
    if updated.failures.is_empty() {
        return Ok(Outcome::Ok);
    }
    let mut errors: Vec<Error> = updated
        .failures
        .iter()
        .map(|f| Error::Usage(f.clone()))
        .collect();
    errors.push(Error::Usage(format!(
        "the cached data of {} is unchanged: check the network and the mirror ({mirror}; \
         --mirror or WHARF_OSV_MIRROR names another), then run `wharf db update` again",
        if updated.failures.len() == 1 {
            "that ecosystem"
        } else {
            "those ecosystems"
        }
    )));
    Err(Error::Many(errors))
}

/// Why an ecosystem's data is not there: the mirror's 404.
fn absent_text(zip_url: &Url, ecosystem: &str) -> String {
    format!(
        "{zip_url}: 404 Not Found: the mirror has no {ecosystem:?} data; \
         is it an OSV ecosystem? osv.dev lists them in {DEFAULT_MIRROR}/ecosystems.txt"
    )
}

fn updated_text(u: &Updated, mirror: &Url) -> String {
    let mut text = String::new();
    for (ecosystem, done) in &u.done {
        let line = match done {
            Done::UpToDate => format!("{ecosystem}: up to date"),
            Done::Full {
                bytes,
                records,
                later,
            } => {
                let mut line = format!(
                    "{ecosystem}: downloaded all.zip from {mirror} ({}, {} records)",
                    megabytes(*bytes),
                    super::thousands(*records)
                );
                if *later > 0 {
                    line.push_str(&format!(
                        " and {} record(s) modified since",
                        super::thousands(*later)
                    ));
                }
                line
            }
            Done::Changed { records } => format!(
                "{ecosystem}: fetched {} changed record(s)",
                super::thousands(*records)
            ),
            Done::Absent { url } => format!(
                "{ecosystem}: the mirror has no data for it ({url} is 404): its packages are \
                 named as not scanned; asked again once --db-age-warning has passed"
            ),
        };
        text.push_str(&line);
        text.push('\n');
    }
    for ecosystem in &u.skipped {
        text.push_str(&format!(
            "{ecosystem}: up to date (another wharf just updated it)\n"
        ));
    }
    if let Some(import) = &u.import {
        for w in &import.warnings {
            report::warn(&format!("skipped a corrupt OSV record: {w}"));
        }
        text.push_str(&format!(
            "the cache {} now holds {} records\n",
            cache::osv_dir(&import.cache).display(),
            super::thousands(import.total)
        ));
    }
    text
}

fn megabytes(bytes: u64) -> String {
    if bytes < 1 << 20 {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{:.1} MiB", bytes as f64 / (1 << 20) as f64)
    }
}

/// The bucket directories of the ecosystems `inventory`'s packages are
/// matched in.
pub fn needed(inventory: &Inventory) -> BTreeSet<String> {
    inventory
        .packages
        .iter()
        .filter_map(|p| crate::scan::matcher::target(p, inventory.distro.as_ref()).ok())
        .map(|t| directory(&t.ecosystem))
        .collect()
}

/// Which of `needed` to update at `now`: those never downloaded and not
/// in the cache, and those checked (or, if never downloaded, whose data
/// was modified) longer than `max_age_secs` ago.
fn stale(
    needed: &BTreeSet<String>,
    state: &state::State,
    cached: &mut dyn FnMut() -> Option<DbInfo>,
    now: Timestamp,
    max_age_secs: f64,
) -> BTreeSet<String> {
    let young = |t: Timestamp| now.duration_since(t).as_secs_f64() <= max_age_secs;
    let mut info: Option<Option<DbInfo>> = None;
    needed
        .iter()
        .filter(|e| {
            let fresh = match state.ecosystems.get(e.as_str()) {
                Some(s) => s.checked_at().is_some_and(young),
                None => info
                    .get_or_insert_with(&mut *cached)
                    .as_ref()
                    .is_some_and(|i| {
                        i.per_ecosystem.keys().any(|k| directory(k) == **e)
                            && i.newest_modified.is_some_and(young)
                    }),
            };
            !fresh
        })
        .cloned()
        .collect()
}

/// Before a scan opens the default cache: updates the ecosystems the
/// inventory needs when they are missing or stale and the network is
/// allowed. A failed update with data in the cache is a warning (the scan
/// goes on with what is there); with no data at all, an error.
pub fn ensure_for(global: &Global, args: &ScanArgs, inventory: &Inventory) -> Result<()> {
    if args.db.is_some() || global.offline {
        return Ok(());
    }
    let needed = needed(inventory);
    if needed.is_empty() {
        return Ok(());
    }
    let root = cache_root()?;
    let max_age = crate::scan::run::days("--db-age-warning", &args.db_age_warning)? * 86_400.0;
    let open = || Db::open(&Source::Cache(root.clone())).ok();
    let stale = stale(
        &needed,
        &state::load(&root, false),
        &mut || open().map(|db| db.info()),
        Timestamp::now(),
        max_age,
    );
    if stale.is_empty() {
        return Ok(());
    }
    let mirror = mirror(None)?;
    let names = stale.iter().cloned().collect::<Vec<_>>().join(", ");
    report::info(&format!(
        "updating the OSV data for {names} from {mirror} (missing or older than --db-age-warning; --offline skips this)"
    ));
    let failure = match update(&root, &mirror, &stale) {
        Ok(updated) => {
            for line in updated_text(&updated, &mirror).lines() {
                report::info(line);
            }
            if updated.failures.is_empty() {
                return Ok(());
            }
            updated.failures.join("\n")
        }
        Err(e) => e.to_string(),
    };
    if open().is_some() {
        report::warn(&format!(
            "could not update the OSV data: {failure}\nscanning with the data already in {} \
             (`wharf db status` shows its age)",
            cache::osv_dir(&root).display()
        ));
        return Ok(());
    }
    Err(Error::Usage(format!(
        "{failure}\nthere is no OSV data to scan with in {}: check the network, or point \
         WHARF_OSV_MIRROR at a mirror this machine can reach (now {mirror}), or import data \
         you have with `wharf db import DIR|ZIP` (osv.dev's <ECOSYSTEM>/all.zip), or pass --db DIR|ZIP",
        cache::osv_dir(&root).display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecosystems_map_to_bucket_directories() {
        assert_eq!(directory("Debian:12"), "Debian");
        assert_eq!(directory("Alpine:v3.20"), "Alpine");
        assert_eq!(directory("Ubuntu:22.04:LTS"), "Ubuntu");
        assert_eq!(directory("Rocky Linux:9"), "Rocky Linux");
        assert_eq!(directory("pypi"), "PyPI");
        assert_eq!(directory("golang"), "Go");
        assert_eq!(directory("CRATES.IO"), "crates.io");
        assert_eq!(directory("SomethingNew"), "SomethingNew");
        assert!(valid_directory("../x").is_err());
    }

    #[test]
    fn object_urls_keep_the_mirror_path_and_escape_names() {
        let m = Url::parse("https://example.com/osv/").unwrap();
        assert_eq!(
            object_url(&m, "Rocky Linux", "all.zip").as_str(),
            "https://example.com/osv/Rocky%20Linux/all.zip"
        );
        let m = Url::parse(DEFAULT_MIRROR).unwrap();
        assert_eq!(
            object_url(&m, "PyPI", "modified_id.csv").as_str(),
            "https://osv-vulnerabilities.storage.googleapis.com/PyPI/modified_id.csv"
        );
    }

    #[test]
    fn mirrors_are_checked() {
        assert!(mirror(Some("ftp://x")).is_err());
        assert!(mirror(Some("not a url")).is_err());
        assert!(mirror(Some("http://127.0.0.1:1/x")).is_ok());
    }

    #[test]
    fn what_a_scan_refreshes() {
        let now: Timestamp = "2026-03-01T00:00:00Z".parse().unwrap();
        let week = 7.0 * 86_400.0;
        let needed: BTreeSet<String> = ["PyPI", "Go", "Debian"].map(String::from).into();
        let mut state = state::State::default();
        state.ecosystems.insert(
            "PyPI".into(),
            state::Ecosystem {
                checked_at: "2026-02-28T00:00:00Z".into(),
                ..Default::default()
            },
        );
        state.ecosystems.insert(
            "Go".into(),
            state::Ecosystem {
                checked_at: "2026-01-01T00:00:00Z".into(),
                ..Default::default()
            },
        );
        // Debian imported by hand, fresh.
        let info = DbInfo {
            source: "cache".into(),
            per_ecosystem: [("Debian:12".to_string(), 3)].into(),
            records: 3,
            withdrawn: 0,
            newest_modified: Some("2026-02-27T00:00:00Z".parse().unwrap()),
            imported_at: None,
            skipped: 0,
        };
        let got = stale(&needed, &state, &mut || Some(info.clone()), now, week);
        assert_eq!(got, ["Go".to_string()].into());
        // No cache at all: whatever the state does not vouch for.
        let got = stale(&needed, &state, &mut || None, now, week);
        assert_eq!(got, ["Debian".to_string(), "Go".to_string()].into());
    }
}
