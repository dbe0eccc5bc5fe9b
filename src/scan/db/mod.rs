//! The OSV database a scan matches against, and `wharf db import|update|status`.
//!
//! Data comes from one of three places ([`Source`]): a directory of OSV JSON
//! records (`--db DIR`), osv.dev's per-ecosystem `all.zip` (`--db ZIP`), or
//! the local cache that `wharf db import` and `wharf db update` ([`update`])
//! fill. Whatever the source, a scan
//! reads only the records it needs: [`Db`] holds an index from
//! (ecosystem, normalised package name) to record locations, and
//! [`Db::records`] parses just the records at those locations.
//!
//! * The cache keeps its index on disk, sharded per ecosystem base ([`cache`]
//!   describes the layout, [`shard`] the files): opening it reads a small
//!   manifest (which also holds the counts [`Db::info`] reports), and a
//!   lookup reads only its shard's block directory (once) and the one name
//!   block it needs, then the records' compressed bytes.
//! * A directory or zip has no index: [`Db::open`] builds one in memory by
//!   reading every record once, keeping only its id, `modified` and package
//!   keys. Reading every record at open (not lazily at lookup) is what lets
//!   a corrupt record be warned about and counted up front, whether or not
//!   a scan would have looked at it.
//!
//! Corrupt records — invalid JSON, no `id`, indexed fields of the wrong type,
//! over 16 MiB — are skipped, each one warned about (file + reason) and
//! counted; never fatal. The rest of a record's shape is checked when a
//! scan reads it: one that fails then is skipped with a warning too.
//! Unreadable sources are errors: a scan that silently missed data would
//! report "not affected". Withdrawn records are kept (and counted, and
//! returned by lookups): the matcher ignores them, reports can mention them.
//! One record per id: where several share one, the newest `modified` wins.

pub mod archive;
pub mod cache;
pub mod index;
pub mod read;
pub mod shard;
pub mod update;

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use jiff::{SignedDuration, Timestamp};

pub use cache::{import, ImportSummary};
pub use read::normalise_name;

use crate::cli::{DbArgs, DbCommand, TextOrJson};
use crate::config::Global;
use crate::scan::osv::Record;
use crate::{report, Error, Outcome, Result};

/// Where OSV data comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A directory of OSV JSON records (walked recursively, `*.json`).
    Dir(PathBuf),
    /// A zip archive of OSV JSON records, such as osv.dev's `all.zip`.
    Zip(PathBuf),
    /// The cache root that `wharf db import` writes (the database is in its `osv/`).
    Cache(PathBuf),
}

impl Source {
    /// The source a `--db` flag names: a path ending `.zip` is a zip, any
    /// other path a directory; no flag means the imported cache in
    /// `$WHARF_CACHE_DIR`, else `$XDG_CACHE_HOME/wharf`, else `~/.cache/wharf`.
    pub fn from_flag(db: Option<&Path>) -> Result<Source> {
        match db {
            Some(path) => {
                let is_zip = path
                    .extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| e.eq_ignore_ascii_case("zip"));
                Ok(if is_zip {
                    Source::Zip(path.to_path_buf())
                } else {
                    Source::Dir(path.to_path_buf())
                })
            }
            None => Ok(Source::Cache(cache_root()?)),
        }
    }

    fn describe(&self) -> String {
        match self {
            Source::Dir(p) => format!("directory {}", p.display()),
            Source::Zip(p) => format!("zip {}", p.display()),
            Source::Cache(p) => format!("cache {}", cache::osv_dir(p).display()),
        }
    }
}

use crate::fsutil::cache_root;

/// What a database holds, for `db status`, scan reports and the age check.
#[derive(Debug, Clone, PartialEq)]
pub struct DbInfo {
    /// e.g. `cache /home/u/.cache/wharf/osv`, `directory ./osv`, `zip all.zip`.
    pub source: String,
    /// Records per ecosystem (the full ecosystem string, `Debian:12`); a
    /// record naming several ecosystems counts in each.
    pub per_ecosystem: BTreeMap<String, usize>,
    /// Distinct records (by id).
    pub records: usize,
    /// Of `records`, how many are withdrawn.
    pub withdrawn: usize,
    /// The newest `modified` of any record: how fresh the data is.
    pub newest_modified: Option<Timestamp>,
    /// When the cache was last imported into (`None` for a directory or zip).
    pub imported_at: Option<Timestamp>,
    /// Corrupt records skipped.
    pub skipped: usize,
}

impl DbInfo {
    /// How old the data is at `now`: the time since the newest record was
    /// modified (not since the import, which says nothing of the data).
    pub fn age(&self, now: Timestamp) -> Option<SignedDuration> {
        self.newest_modified.map(|m| now.duration_since(m))
    }
}

/// Where each record is, per source.
enum Store {
    Files(Vec<PathBuf>),
    Zip {
        path: PathBuf,
        archive: archive::Archive,
        entries: Vec<archive::Entry>,
    },
    /// Base ecosystem → its shard, opened on the first lookup.
    Cache(BTreeMap<String, CacheShard>),
}

/// A shard's files are opened with the manifest, so they stay readable
/// however many imports come before the first lookup; they are read from on
/// the first lookup.
struct CacheShard {
    index: PathBuf,
    data: PathBuf,
    files: Mutex<Option<(File, File)>>,
    reader: OnceLock<std::result::Result<shard::Reader, String>>,
}

/// An opened OSV database: an index in memory, records read on demand.
pub struct Db {
    store: Store,
    packages: index::Packages,
    info: DbInfo,
    /// Ecosystems (bucket directories) `wharf db update` downloaded whole
    /// into the cache, even those that held no record.
    downloaded: BTreeSet<String>,
    /// Corrupt records: found at open, or (the data having changed since) at a lookup.
    warnings: Mutex<Vec<String>>,
}

impl Db {
    /// Opens a database. The cache must have been imported into; a directory
    /// or zip is read once to index it.
    pub fn open(source: &Source) -> Result<Db> {
        match source {
            Source::Cache(root) => Db::open_cache(source, root),
            Source::Dir(path) => {
                let kind = read::kind_of(path)?;
                Db::open_source(source, path, kind)
            }
            Source::Zip(path) => {
                read::kind_of(path)?;
                Db::open_source(source, path, read::Kind::Zip)
            }
        }
    }

    fn open_cache(source: &Source, root: &Path) -> Result<Db> {
        let Some(opened) = cache::open(root)? else {
            return Err(Error::file(
                cache::osv_dir(root),
                "no OSV database here: run `wharf db update --ecosystem ECOSYSTEM` (downloads osv.dev's data), \
                 or run `wharf db import DIR|ZIP` (OSV records you have), or pass --db DIR|ZIP",
            ));
        };
        let manifest = &opened.manifest;
        let (records, withdrawn) = manifest.totals();
        let info = DbInfo {
            source: source.describe(),
            per_ecosystem: manifest.per_ecosystem(),
            records,
            withdrawn,
            newest_modified: manifest.newest_modified(),
            imported_at: manifest.imported_at.parse().ok(),
            skipped: 0,
        };
        let mut shards = BTreeMap::new();
        for (base, s) in &manifest.shards {
            let (index, data) = (opened.shard_path(&s.index), opened.shard_path(&s.data));
            let open = |p: &Path| {
                File::open(p).map_err(|e| {
                    Error::file(
                        p,
                        format!(
                            "cannot read the OSV cache: {e}; remove {} and run `wharf db import` (or `wharf db update`) again",
                            opened.osv.display()
                        ),
                    )
                })
            };
            let files = (open(&index)?, open(&data)?);
            shards.insert(
                base.clone(),
                CacheShard {
                    index,
                    data,
                    files: Mutex::new(Some(files)),
                    reader: OnceLock::new(),
                },
            );
        }
        Ok(Db {
            store: Store::Cache(shards),
            packages: index::Packages::new(),
            info,
            downloaded: update::state::downloaded(root),
            warnings: Mutex::new(manifest.skipped()),
        })
    }

    fn open_source(source: &Source, path: &Path, kind: read::Kind) -> Result<Db> {
        let mut builder: index::Builder<read::Origin> = index::Builder::default();
        let mut warnings = Vec::new();
        let archive = read::visit(path, kind, |found| {
            match found.meta {
                Ok(meta) => {
                    builder.add(meta, found.origin);
                }
                Err(why) => warnings.push(format!("{}: {why}", found.name)),
            }
            Ok(())
        })?;
        let entries = builder.into_entries();
        let packages = index::packages(entries.iter().map(|(m, _)| m.keys.as_slice()));
        let info = DbInfo {
            source: source.describe(),
            per_ecosystem: index::per_ecosystem(&packages),
            records: entries.len(),
            withdrawn: entries.iter().filter(|(m, _)| m.withdrawn).count(),
            newest_modified: entries.iter().filter_map(|(m, _)| m.modified_at).max(),
            imported_at: None,
            skipped: warnings.len(),
        };
        let store = match archive {
            Some(archive) => Store::Zip {
                path: path.to_path_buf(),
                archive,
                entries: entries
                    .into_iter()
                    .filter_map(|(_, o)| match o {
                        read::Origin::ZipEntry(e) => Some(e),
                        // visit() yields only zip entries for an archive.
                        read::Origin::File(_) => None,
                    })
                    .collect(),
            },
            None => Store::Files(
                entries
                    .into_iter()
                    .map(|(_, o)| match o {
                        read::Origin::File(p) => p,
                        read::Origin::ZipEntry(_) => PathBuf::new(),
                    })
                    .collect(),
            ),
        };
        Ok(Db {
            store,
            packages,
            info,
            downloaded: BTreeSet::new(),
            warnings: Mutex::new(warnings),
        })
    }

    /// Records affecting (ecosystem, name), sorted by id. The ecosystem is
    /// the record's full ecosystem string, matched exactly ("Debian:12"
    /// records answer a query for "Debian:12", never one for "Debian:11");
    /// its base (before `:`) chooses how names compare: PyPI by PEP 503
    /// (so "Django", "django" and "DJANGO" are one package), the others
    /// exactly. Withdrawn records are included; the caller decides.
    ///
    /// A record that no longer parses (the data changed since it was
    /// indexed) is skipped and warned about, like any corrupt record. An
    /// error means the data could not be read at all.
    pub fn records(&self, ecosystem: &str, name: &str) -> Result<Vec<Record>> {
        if let Store::Cache(shards) = &self.store {
            return self.cache_records(shards, ecosystem, name);
        }
        let key = read::normalise_name(ecosystem, name);
        let Some(numbers) = self.packages.get(ecosystem).and_then(|m| m.get(&key)) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::with_capacity(numbers.len());
        for &n in numbers {
            let (label, bytes) = self.read(n as usize)?;
            match bytes.and_then(|b| read::parse_record(&b)) {
                Ok(record) => out.push(record),
                Err(why) => self.late_skip(format!("{label}: {why}")),
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    /// The bytes of record `n` (or why they are not a record), and a name
    /// for it in messages.
    fn read(&self, n: usize) -> Result<(String, std::result::Result<Vec<u8>, String>)> {
        match &self.store {
            Store::Files(paths) => {
                let path = paths
                    .get(n)
                    .ok_or_else(|| Error::Usage(format!("OSV index: no record {n}")))?;
                let raw = read::read_file(path)?;
                Ok((raw.name, raw.bytes))
            }
            Store::Zip {
                path,
                archive,
                entries,
            } => {
                let entry = entries
                    .get(n)
                    .ok_or_else(|| Error::Usage(format!("OSV index: no record {n}")))?;
                let raw = read::read_zip_entry(archive, path, entry)?;
                Ok((raw.name, raw.bytes))
            }
            Store::Cache(_) => Err(Error::Usage(format!("OSV index: no record {n}"))),
        }
    }

    /// Lookups in the cache: the shard of the ecosystem's base, opened once.
    fn cache_records(
        &self,
        shards: &BTreeMap<String, CacheShard>,
        ecosystem: &str,
        name: &str,
    ) -> Result<Vec<Record>> {
        let Some(shard) = shards.get(cache::shard_of(ecosystem)) else {
            return Ok(Vec::new());
        };
        let damaged = |e: &dyn std::fmt::Display| {
            Error::file(
                &shard.index,
                format!(
                    "cannot read the OSV cache: {e}; remove {} and run `wharf db import` (or `wharf db update`) again",
                    shard.index.parent().and_then(|p| p.parent()).unwrap_or(&shard.index).display()
                ),
            )
        };
        let reader = shard
            .reader
            .get_or_init(|| {
                let files = shard.files.lock().ok().and_then(|mut f| f.take());
                match files {
                    Some((index, data)) => shard::Reader::from_files(index, data),
                    None => shard::Reader::open(&shard.index, &shard.data),
                }
                .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| damaged(e))?;
        let numbers = reader
            .lookup(&cache::key(ecosystem, name))
            .map_err(|e| damaged(&e))?;
        let mut out: Vec<Record> = Vec::with_capacity(numbers.len());
        for n in numbers {
            let entry = reader.entry(n).map_err(|e| damaged(&e))?;
            let bytes = reader.bytes(&entry).map_err(|e| damaged(&e))?;
            let label = format!("{}@{}", shard.data.display(), entry.offset);
            match shard::decode(entry.codec, entry.raw_len, &bytes)
                .and_then(|b| read::parse_record(&b))
            {
                Ok(record) => out.push(record),
                Err(why) => self.late_skip(format!("{label}: {why}")),
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out.dedup_by(|a, b| a.id == b.id);
        Ok(out)
    }

    fn late_skip(&self, warning: String) {
        if let Ok(mut w) = self.warnings.lock() {
            w.push(warning);
        }
    }

    /// Counts, freshness and where the data came from.
    pub fn info(&self) -> DbInfo {
        let mut info = self.info.clone();
        info.skipped = self.warnings().len();
        info
    }

    /// One line per corrupt record skipped: "file: why".
    pub fn warnings(&self) -> Vec<String> {
        self.warnings.lock().map(|w| w.clone()).unwrap_or_default()
    }

    /// The ecosystems this database can speak for, by base name (`Debian`
    /// for `Debian:12`, `PyPI`, `Go`): those it holds records of, and those
    /// `wharf db update` downloaded whole even when they held none. A
    /// package of any other ecosystem was not looked up in any data: "no
    /// finding" would say nothing about it.
    pub fn ecosystems_with_data(&self) -> BTreeSet<String> {
        self.info
            .per_ecosystem
            .keys()
            .map(|e| e.split(':').next().unwrap_or(e).to_string())
            .chain(self.downloaded.iter().cloned())
            .collect()
    }
}

/// `wharf db import|update|status`.
pub fn run(global: &Global, args: &DbArgs) -> Result<Outcome> {
    match &args.command {
        DbCommand::Update { ecosystems, mirror } => {
            update::run(global, ecosystems, mirror.as_deref())
        }
        DbCommand::Import { paths } => {
            let root = cache_root()?;
            let summary = import(paths, &root)?;
            for w in &summary.warnings {
                report::warn(&format!("skipped a corrupt OSV record: {w}"));
            }
            report::out(&import_text(&summary));
            Ok(Outcome::Ok)
        }
        DbCommand::Status { format, db } => {
            let source = Source::from_flag(db.as_deref())?;
            let db = Db::open(&source)?;
            let info = db.info();
            let warnings = db.warnings();
            let now = Timestamp::now();
            match format {
                TextOrJson::Text => {
                    for w in &warnings {
                        report::warn(&format!("skipped a corrupt OSV record: {w}"));
                    }
                    report::out(&status_text(&info, now));
                }
                TextOrJson::Json => report::out(&status_json(&info, &warnings, now)),
            }
            Ok(Outcome::Ok)
        }
    }
}

fn import_text(s: &ImportSummary) -> String {
    let mut text = String::new();
    for source in &s.sources {
        text.push_str(&format!(
            "read {} records from {}{}\n",
            thousands(source.records),
            source.path,
            if source.skipped.is_empty() {
                String::new()
            } else {
                format!(" (skipped {} corrupt)", thousands(source.skipped.len()))
            }
        ));
    }
    text.push_str(&format!(
        "{} new, {} updated, {} older duplicates ignored; the cache {} now holds {} records\n",
        thousands(s.added),
        thousands(s.replaced),
        thousands(s.kept_newer),
        cache::osv_dir(&s.cache).display(),
        thousands(s.total),
    ));
    for (ecosystem, n) in &s.per_ecosystem {
        text.push_str(&format!("  {ecosystem} {} records\n", thousands(*n)));
    }
    text
}

fn status_text(info: &DbInfo, now: Timestamp) -> String {
    let mut text = format!("OSV database: {}", info.source);
    if let Some(at) = info.imported_at {
        text.push_str(&format!(", imported {}", at.strftime("%Y-%m-%d %H:%M UTC")));
    }
    text.push('\n');
    let width = info
        .per_ecosystem
        .keys()
        .map(|k| k.len())
        .max()
        .unwrap_or(0);
    for (ecosystem, n) in &info.per_ecosystem {
        text.push_str(&format!(
            "  {ecosystem:<width$} {:>7} records\n",
            thousands(*n)
        ));
    }
    text.push_str(&format!("{} records", thousands(info.records)));
    if info.withdrawn > 0 {
        text.push_str(&format!(" ({} withdrawn)", thousands(info.withdrawn)));
    }
    match (info.newest_modified, info.age(now)) {
        (Some(newest), Some(age)) => text.push_str(&format!(
            "; newest record modified {} ({})",
            newest.strftime("%Y-%m-%d"),
            age_text(age)
        )),
        _ => text.push_str("; no record says when it was modified (age unknown)"),
    }
    text.push('\n');
    if info.skipped > 0 {
        text.push_str(&format!(
            "{} corrupt records skipped (see the warnings above)\n",
            thousands(info.skipped)
        ));
    }
    text
}

fn status_json(info: &DbInfo, warnings: &[String], now: Timestamp) -> String {
    let age = info.age(now);
    let value = serde_json::json!({
        "source": info.source,
        "records": info.records,
        "withdrawn": info.withdrawn,
        "ecosystems": info.per_ecosystem,
        "newest_modified": info.newest_modified.map(|t| t.to_string()),
        "age_seconds": age.map(|a| a.as_secs()),
        "age_days": age.map(|a| a.as_secs() / 86_400),
        "imported_at": info.imported_at.map(|t| t.to_string()),
        "skipped": info.skipped,
        "warnings": warnings,
    });
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

fn age_text(age: SignedDuration) -> String {
    let days = age.as_secs() / 86_400;
    match days {
        d if d < 0 => "in the future: check this machine's clock".to_string(),
        0 => "today".to_string(),
        1 => "1 day ago".to_string(),
        d => format!("{} days ago", thousands(d as usize)),
    }
}

/// 8158 → "8,158".
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests;
