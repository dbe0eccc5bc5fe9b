//! The imported database on disk, and `wharf db import`.
//!
//! Layout, under the cache root (`$WHARF_CACHE_DIR`, else the XDG cache):
//!
//! ```text
//! osv/
//!   LOCK                 imports take turns on it
//!   CURRENT              the name of the live generation's manifest ("gen-XXXXXX\n")
//!   gen-XXXXXX           a manifest (JSON): format, import time, the sources
//!                        imported, and per shard its two files and its counts
//!                        (records, withdrawn, per ecosystem, newest `modified`,
//!                        the ids it shares with other shards)
//!   shards/
//!     npm-XXXXXX.dat     a shard's records, each compressed on its own
//!     npm-XXXXXX.idx     its binary index ([`super::shard`] has both formats)
//!     Debian-YYYYYY.dat  ...
//! ```
//!
//! One shard per ecosystem base, the part before `:`: `Debian` holds
//! `Debian:11` and `Debian:12`. A record whose packages span two bases (a
//! GitHub advisory naming an npm package and its Maven webjar) is in both
//! shards, whole, and listed as shared in both, so counts stay per distinct
//! id. A scan reads the manifest, then opens only the shards of the
//! ecosystems its packages are in, and reads only the names it looks up.
//!
//! Nothing is changed once written. An import writes new files only for the
//! shards it changes — a shard gets a record, or loses one to a newer record
//! with the same id elsewhere — each a whole new pair (its new records, then
//! the surviving old ones copied as stored bytes), and a new manifest naming
//! them and, unchanged, every other shard's files. Then it swaps `CURRENT`
//! (temp file + rename): all shards change at once, or none. An import that
//! fails anywhere before the swap leaves the live generation exactly as it
//! was and removes what it wrote. The previous manifest and its files are
//! kept until the next import, so a scan that read `CURRENT` just before a
//! swap still finds everything it names.
//!
//! Imports take turns: each holds an exclusive lock on `osv/LOCK` from
//! reading the live manifest to removing stale files, so two imports at
//! once (parallel jobs on one runner sharing a cache) both keep their
//! records, and neither removes files the other is about to make live.
//! Scans take no lock.
//!
//! Format 1 (a `gen-*` directory holding `index.json` and `records.dat`) is
//! not read: it is refused with an error naming the directory to remove.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jiff::Timestamp;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};

use super::read;
use super::shard::{self, Blob, Entry, Table};
use crate::{fsutil, Error, Result};

/// The on-disk format this build reads and writes.
const FORMAT: u32 = 2;
const CURRENT: &str = "CURRENT";
const SHARDS: &str = "shards";

/// Where the database lives under a cache root.
pub fn osv_dir(root: &Path) -> PathBuf {
    root.join("osv")
}

/// The shard an ecosystem's records are in: its base, before the first `:`.
pub fn shard_of(ecosystem: &str) -> &str {
    ecosystem.split(':').next().unwrap_or(ecosystem)
}

/// The key a package is found under in a shard: "ECOSYSTEM\0NAME", the
/// name normalised for its ecosystem.
pub fn key(ecosystem: &str, name: &str) -> Vec<u8> {
    let name = read::normalise_name(ecosystem, name);
    let mut key = Vec::with_capacity(ecosystem.len() + 1 + name.len());
    key.extend_from_slice(ecosystem.as_bytes());
    key.push(0);
    key.extend_from_slice(name.as_bytes());
    key
}

/// A generation: what `CURRENT` names.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// When this generation was written (RFC 3339).
    pub imported_at: String,
    /// Every source imported so far; re-importing a path replaces its entry.
    pub sources: Vec<SourceEntry>,
    /// Ecosystem base → its shard; "" holds records that name no package.
    pub shards: BTreeMap<String, ShardEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SourceEntry {
    /// The path as given, made absolute.
    pub path: String,
    pub imported_at: String,
    /// Valid records read from it.
    pub records: usize,
    /// Corrupt records skipped in it: "file: why".
    pub skipped: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShardEntry {
    /// File names in `osv/shards/`.
    pub index: String,
    pub data: String,
    pub records: usize,
    pub withdrawn: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest_modified: Option<Timestamp>,
    /// Records per full ecosystem string (`Debian:12`).
    pub ecosystems: BTreeMap<String, usize>,
    /// Records that are in other shards too: id → withdrawn.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub shared: BTreeMap<String, bool>,
}

impl Manifest {
    /// Records per ecosystem: a record counts once in each ecosystem it names.
    pub fn per_ecosystem(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for shard in self.shards.values() {
            for (ecosystem, n) in &shard.ecosystems {
                *out.entry(ecosystem.clone()).or_default() += n;
            }
        }
        out
    }

    /// Distinct records and, of them, withdrawn: a record in several shards counts once.
    pub fn totals(&self) -> (usize, usize) {
        let (mut records, mut withdrawn) = (0, 0);
        let mut copies: HashMap<&str, (usize, bool)> = HashMap::new();
        for shard in self.shards.values() {
            records += shard.records;
            withdrawn += shard.withdrawn;
            for (id, w) in &shard.shared {
                copies.entry(id).or_insert((0, *w)).0 += 1;
            }
        }
        for (n, w) in copies.into_values() {
            records -= n.saturating_sub(1).min(records);
            if w {
                withdrawn -= n.saturating_sub(1).min(withdrawn);
            }
        }
        (records, withdrawn)
    }

    pub fn newest_modified(&self) -> Option<Timestamp> {
        self.shards.values().filter_map(|s| s.newest_modified).max()
    }

    /// Every corrupt record skipped by the imports so far: "file: why".
    pub fn skipped(&self) -> Vec<String> {
        self.sources
            .iter()
            .flat_map(|s| s.skipped.iter().cloned())
            .collect()
    }
}

/// The live generation, opened.
pub struct Opened {
    /// `osv/`.
    pub osv: PathBuf,
    /// The manifest's file name (`gen-XXXXXX`).
    pub name: String,
    pub manifest: Manifest,
}

impl Opened {
    pub fn shard_path(&self, file: &str) -> PathBuf {
        self.osv.join(SHARDS).join(file)
    }
}

fn damaged(path: &Path, why: impl std::fmt::Display, root: &Path) -> Error {
    Error::file(
        path,
        format!(
            "the OSV cache is damaged: {why}; remove {} and run `wharf db import` (or `wharf db update`) again",
            osv_dir(root).display()
        ),
    )
}

fn other_format(path: &Path, format: impl std::fmt::Display, root: &Path) -> Error {
    Error::file(
        path,
        format!(
            "the OSV cache is in format {format} and this wharf reads format {FORMAT}; \
             remove {} and run `wharf db import` (or `wharf db update`) again",
            osv_dir(root).display()
        ),
    )
}

fn plain_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(['/', '\\', '\0']) && !name.starts_with('.')
}

/// Opens the live generation, or `None` when nothing was ever imported.
pub fn open(root: &Path) -> Result<Option<Opened>> {
    let osv = osv_dir(root);
    let pointer = osv.join(CURRENT);
    let name = match std::fs::read_to_string(&pointer) {
        Ok(name) => name.trim().to_string(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Error::file(
                &pointer,
                format!("cannot read the OSV cache: {e}"),
            ))
        }
    };
    if !name.starts_with("gen-") || !plain_name(&name) {
        return Err(damaged(&pointer, "it names no generation", root));
    }
    let path = osv.join(&name);
    if path.join("index.json").is_file() {
        // Format 1: a directory per generation.
        return Err(other_format(&path, 1, root));
    }
    let bytes = std::fs::read(&path).map_err(|e| damaged(&path, e, root))?;
    #[derive(Deserialize)]
    struct Peek {
        format: u32,
    }
    let peek: Peek = serde_json::from_slice(&bytes).map_err(|e| damaged(&path, e, root))?;
    if peek.format != FORMAT {
        return Err(other_format(&path, peek.format, root));
    }
    let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| damaged(&path, e, root))?;
    for shard in manifest.shards.values() {
        if !plain_name(&shard.index) || !plain_name(&shard.data) {
            return Err(damaged(
                &path,
                "a shard's file name is not a plain name",
                root,
            ));
        }
    }
    Ok(Some(Opened {
        osv,
        name,
        manifest,
    }))
}

/// What `wharf db import` did.
#[derive(Debug, Clone)]
pub struct ImportSummary {
    /// The cache root.
    pub cache: PathBuf,
    pub sources: Vec<SourceEntry>,
    /// Records whose id was not in the cache.
    pub added: usize,
    /// Records that replaced an older one with the same id.
    pub replaced: usize,
    /// Records dropped because the cache (or this import) held a newer one with the same id.
    pub kept_newer: usize,
    /// Records in the cache now.
    pub total: usize,
    pub per_ecosystem: BTreeMap<String, usize>,
    /// Corrupt records skipped, "file: why", in source order.
    pub warnings: Vec<String>,
}

/// Whether a record modified at `new` replaces one modified at `old` (same
/// id): the newer wins; on a tie (or neither dated) the newcomer.
fn supersedes(new: Option<Timestamp>, old: Option<Timestamp>) -> bool {
    match (new, old) {
        (Some(new), Some(old)) => new >= old,
        (Some(_), None) | (None, None) => true,
        (None, Some(_)) => false,
    }
}

/// A shard of the live generation, as an import sees it.
struct OldShard {
    entry: ShardEntry,
    table: Table,
}

/// A record written to a new shard.
struct NewRecord {
    id: Arc<str>,
    entry: Entry,
    /// Its keys in this shard: a range of the shard's packed `keys`.
    keys: (usize, usize),
    /// Replaced later in the same import.
    dead: bool,
    shared: bool,
}

/// A shard being written.
struct NewShard {
    base: Arc<str>,
    dir: PathBuf,
    stem: String,
    data: BufWriter<File>,
    written: u64,
    records: Vec<NewRecord>,
    /// Every record's keys, packed ([`shard::pack_key`]).
    keys: Vec<u8>,
}

impl NewShard {
    fn push<'k>(
        &mut self,
        id: Arc<str>,
        entry: Entry,
        keys: impl Iterator<Item = &'k [u8]>,
        shared: bool,
    ) -> u32 {
        let start = self.keys.len();
        for k in keys {
            shard::pack_key(&mut self.keys, k);
        }
        self.records.push(NewRecord {
            id,
            entry,
            keys: (start, self.keys.len()),
            dead: false,
            shared,
        });
        (self.records.len() - 1) as u32
    }
}

/// Where this import wrote a record: (shard number, record number).
type Place = (u16, u32);

/// The new generation under construction. What it holds per record is
/// kept small (no allocation but the id's): an import of osv.dev's
/// 300,000 records holds them all until the indexes are written.
struct Writer<'a> {
    tmp: &'a Path,
    suffix: String,
    old: &'a BTreeMap<String, OldShard>,
    new: Vec<NewShard>,
    /// Old shards that lose records to newer ones.
    dirty: BTreeSet<String>,
    /// Each record id this import wrote: its first copy's place…
    won: FxHashMap<Arc<str>, Place>,
    /// …and, for a record in several shards, the other copies'.
    more_places: FxHashMap<Arc<str>, Vec<Place>>,
    added: usize,
    replaced: usize,
    kept_newer: usize,
}

/// A file name for a shard: its base, with anything unusual replaced.
fn stem(base: &str, suffix: &str) -> String {
    let clean: String = if base.is_empty() {
        "none".into()
    } else {
        base.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    // Two bases cleaning to the same text ("Red Hat", "Red_Hat") still differ.
    let tag = base.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ b as u32).wrapping_mul(0x0100_0193)
    }) & 0xff_ffff;
    format!("{}-{tag:06x}-{suffix}", clean.trim_start_matches('.'))
}

impl Writer<'_> {
    fn write_err(&self, e: std::io::Error) -> Error {
        Error::file(self.tmp, format!("cannot write the OSV cache: {e}"))
    }

    /// The number of the new shard for `base`, created on first use.
    fn shard(&mut self, base: &str) -> Result<u16> {
        if let Some(n) = self.new.iter().position(|s| &*s.base == base) {
            return Ok(n as u16);
        }
        let n = u16::try_from(self.new.len())
            .map_err(|_| Error::file(self.tmp, "OSV import: more ecosystems than a cache holds"))?;
        let shard = self.new_shard(base)?;
        self.new.push(shard);
        Ok(n)
    }

    /// An empty shard for `base`, its data file created.
    fn new_shard(&self, base: &str) -> Result<NewShard> {
        let stem = stem(base, &self.suffix);
        let path = self.tmp.join(format!("{stem}.dat"));
        let file = File::create(&path)
            .map_err(|e| Error::file(&path, format!("cannot write the OSV cache: {e}")))?;
        Ok(NewShard {
            base: Arc::from(base),
            dir: self.tmp.to_path_buf(),
            stem,
            data: BufWriter::with_capacity(256 * 1024, file),
            written: 0,
            records: Vec::new(),
            keys: Vec::new(),
        })
    }

    /// The `modified` of the copy this import wrote of a record.
    fn won_modified(&self, place: Place) -> Option<Timestamp> {
        self.new
            .get(place.0 as usize)
            .and_then(|s| s.records.get(place.1 as usize))
            .and_then(|r| r.entry.modified)
    }

    /// The newest `modified` among the live generation's copies of `id`, and the shards holding one.
    fn in_old(&self, id: &str) -> Result<(bool, Option<Timestamp>, Vec<String>)> {
        let (mut found, mut modified, mut holders) = (false, None, Vec::new());
        for (base, old) in self.old {
            let hit = old.table.find(id).map_err(|e| {
                Error::file(
                    self.tmp,
                    format!(
                        "the OSV cache's {base} shard is damaged: {e}; remove it and import again"
                    ),
                )
            })?;
            if let Some((_, entry)) = hit {
                if !found || supersedes(entry.modified, modified) {
                    modified = entry.modified;
                }
                found = true;
                holders.push(base.clone());
            }
        }
        Ok((found, modified, holders))
    }

    fn add(&mut self, meta: read::Meta, blob: Blob) -> Result<()> {
        let existing = match self.won.get(meta.id.as_str()) {
            Some(&place) => Some(self.won_modified(place)),
            None => {
                let (found, modified, holders) = self.in_old(&meta.id)?;
                if found && supersedes(meta.modified_at, modified) {
                    self.dirty.extend(holders);
                }
                found.then_some(modified)
            }
        };
        match existing {
            Some(old) if !supersedes(meta.modified_at, old) => {
                self.kept_newer += 1;
                return Ok(());
            }
            Some(_) => self.replaced += 1,
            None => self.added += 1,
        }
        let id: Arc<str> = Arc::from(meta.id.as_str());
        if let Some(first) = self.won.remove(&id) {
            let more = self.more_places.remove(&id).unwrap_or_default();
            for (s, n) in std::iter::once(first).chain(more) {
                if let Some(r) = self
                    .new
                    .get_mut(s as usize)
                    .and_then(|s| s.records.get_mut(n as usize))
                {
                    r.dead = true;
                }
            }
        }
        // Keys per shard, in the record's order.
        let mut keys: Vec<(&str, Vec<u8>)> = Vec::with_capacity(meta.keys.len());
        for (ecosystem, name) in &meta.keys {
            let mut k = Vec::with_capacity(ecosystem.len() + 1 + name.len());
            k.extend_from_slice(ecosystem.as_bytes());
            k.push(0);
            k.extend_from_slice(name.as_bytes());
            keys.push((shard_of(ecosystem), k));
        }
        let mut bases: Vec<&str> = Vec::with_capacity(1);
        for (base, _) in &keys {
            if !bases.contains(base) {
                bases.push(base);
            }
        }
        if bases.is_empty() {
            bases.push("");
        }
        let shared = bases.len() > 1;
        let mut places: Vec<Place> = Vec::with_capacity(bases.len());
        for base in bases {
            let s = self.shard(base)?;
            let shard = &mut self.new[s as usize];
            let offset = shard.written;
            if let Err(e) = shard.data.write_all(&blob.bytes) {
                return Err(self.write_err(e));
            }
            let shard = &mut self.new[s as usize];
            shard.written += blob.bytes.len() as u64;
            let entry = Entry {
                offset,
                len: blob.bytes.len() as u32,
                raw_len: blob.raw_len,
                codec: blob.codec,
                withdrawn: meta.withdrawn,
                modified: meta.modified_at,
            };
            let mine = keys
                .iter()
                .filter(|(b, _)| *b == base)
                .map(|(_, k)| k.as_slice());
            let n = shard.push(id.clone(), entry, mine, shared);
            places.push((s, n));
        }
        let mut places = places.into_iter();
        if let Some(first) = places.next() {
            self.won.insert(id.clone(), first);
        }
        let more: Vec<Place> = places.collect();
        if !more.is_empty() {
            self.more_places.insert(id, more);
        }
        Ok(())
    }

    /// Writes every changed shard's files; returns base → (entry, files written).
    fn finish(mut self, root: &Path) -> Result<(Counts, BTreeMap<String, ShardEntry>)> {
        let counts = Counts {
            added: self.added,
            replaced: self.replaced,
            kept_newer: self.kept_newer,
        };
        let mut bases: BTreeSet<String> = self.dirty.clone();
        bases.extend(self.new.iter().map(|s| s.base.to_string()));
        let mut out = BTreeMap::new();
        let won: FxHashSet<Arc<str>> = std::mem::take(&mut self.won).into_keys().collect();
        let mut new: Vec<Option<NewShard>> = std::mem::take(&mut self.new)
            .into_iter()
            .map(Some)
            .collect();
        let mut todo = Vec::new();
        for base in bases {
            let slot = new
                .iter_mut()
                .find(|s| s.as_ref().is_some_and(|s| *s.base == *base));
            // A shard that only loses records still gets new files.
            let shard = match slot.and_then(Option::take) {
                Some(shard) => shard,
                None => self.new_shard(&base)?,
            };
            todo.push((base, shard));
        }
        // Each shard's survivors and index on a thread of its own: the
        // import's last serial step, a quarter second for npm's alone.
        let (old, won) = (self.old, &won);
        let written: Vec<Result<(String, ShardEntry)>> = std::thread::scope(|scope| {
            let handles: Vec<_> = todo
                .into_iter()
                .map(|(base, mut shard)| {
                    scope.spawn(move || {
                        if let Some(old) = old.get(&base) {
                            copy_survivors(&mut shard, old, won, root)?;
                        }
                        let entry = write_shard(shard)?.unwrap_or_else(ShardEntry::empty);
                        Ok((base, entry))
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        });
        for w in written {
            let (base, entry) = w?;
            out.insert(base, entry);
        }
        Ok((counts, out))
    }
}

struct Counts {
    added: usize,
    replaced: usize,
    kept_newer: usize,
}

impl ShardEntry {
    fn empty() -> ShardEntry {
        ShardEntry {
            index: String::new(),
            data: String::new(),
            records: 0,
            withdrawn: 0,
            newest_modified: None,
            ecosystems: BTreeMap::new(),
            shared: BTreeMap::new(),
        }
    }
}

/// Appends an old shard's records that no record of this import replaced,
/// as stored bytes, with their keys.
fn copy_survivors(
    shard: &mut NewShard,
    old: &OldShard,
    won: &FxHashSet<Arc<str>>,
    root: &Path,
) -> Result<()> {
    let here = |e: std::io::Error| {
        damaged(
            Path::new(&old.entry.index),
            format!("shard {}: {e}", old.entry.index),
            root,
        )
    };
    let names = old.table.names().map_err(here)?;
    let mut keys: Vec<Vec<u32>> = vec![Vec::new(); old.table.len()];
    for (k, (_, numbers)) in names.iter().enumerate() {
        for &n in numbers {
            keys[n as usize].push(k as u32);
        }
    }
    let mut buf = Vec::new();
    for (n, key_numbers) in keys.iter().enumerate() {
        let (id, entry) = old.table.get(n).map_err(here)?;
        if won.contains(id) {
            continue;
        }
        buf.resize(entry.len as usize, 0);
        std::os::unix::fs::FileExt::read_exact_at(&old.table.data, &mut buf, entry.offset)
            .map_err(here)?;
        shard
            .data
            .write_all(&buf)
            .map_err(|e| Error::file(&shard.dir, format!("cannot write the OSV cache: {e}")))?;
        let offset = shard.written;
        shard.written += buf.len() as u64;
        let mine = key_numbers.iter().map(|&k| names[k as usize].0.as_slice());
        let shared = old.entry.shared.contains_key(id);
        shard.push(Arc::from(id), Entry { offset, ..entry }, mine, shared);
    }
    Ok(())
}

/// Flushes a shard's data, writes its index and counts; `None` when it holds nothing.
fn write_shard(shard: NewShard) -> Result<Option<ShardEntry>> {
    let data_name = format!("{}.dat", shard.stem);
    let index_name = format!("{}.idx", shard.stem);
    let data_path = shard.dir.join(&data_name);
    let index_path = shard.dir.join(&index_name);
    let write_err =
        |p: &Path, e: std::io::Error| Error::file(p, format!("cannot write the OSV cache: {e}"));
    let file = shard
        .data
        .into_inner()
        .map_err(|e| write_err(&data_path, e.into_error()))?;
    file.sync_all().map_err(|e| write_err(&data_path, e))?;
    drop(file);
    let (records, packed) = (shard.records, shard.keys);
    let live: Vec<&NewRecord> = records.iter().filter(|r| !r.dead).collect();
    if live.is_empty() {
        return Ok(None);
    }
    let keys_of = |r: &NewRecord| packed.get(r.keys.0..r.keys.1).unwrap_or(&[]);
    let mut entry = ShardEntry {
        index: index_name,
        data: data_name,
        ..ShardEntry::empty()
    };
    for r in &live {
        entry.records += 1;
        if r.entry.withdrawn {
            entry.withdrawn += 1;
        }
        if r.entry.modified > entry.newest_modified {
            entry.newest_modified = r.entry.modified;
        }
        let mut ecosystems: Vec<&[u8]> = shard::packed_keys(keys_of(r))
            .map(|k| k.split(|&b| b == 0).next().unwrap_or(k))
            .collect();
        ecosystems.sort();
        ecosystems.dedup();
        for e in ecosystems {
            *entry
                .ecosystems
                .entry(String::from_utf8_lossy(e).into_owned())
                .or_default() += 1;
        }
        if r.shared {
            entry.shared.insert(r.id.to_string(), r.entry.withdrawn);
        }
    }
    let records = live
        .iter()
        .map(|r| shard::Record {
            id: &r.id,
            entry: r.entry.clone(),
            keys: keys_of(r),
        })
        .collect();
    shard::write_index(&index_path, records).map_err(|e| write_err(&index_path, e))?;
    Ok(Some(entry))
}

/// Imports OSV data into the cache at `root`: directories of OSV JSON (walked
/// recursively, `*.json`), single `.json` records, and zip archives such as
/// osv.dev's per-ecosystem `all.zip`. Records already in the cache are kept
/// unless an imported record with the same id is at least as new.
pub fn import(paths: &[PathBuf], root: &Path) -> Result<ImportSummary> {
    if paths.is_empty() {
        return Err(Error::Usage(
            "`wharf db import` needs a directory of OSV JSON records, a .json record or osv.dev's all.zip".into(),
        ));
    }
    // Every input must exist before anything is written.
    let kinds = paths
        .iter()
        .map(|p| read::kind_of(p))
        .collect::<Result<Vec<_>>>()?;

    let osv = osv_dir(root);
    let shards_dir = osv.join(SHARDS);
    std::fs::create_dir_all(&shards_dir).map_err(|e| {
        Error::file(
            &osv,
            format!(
                "cannot create the OSV cache: {e}; set WHARF_CACHE_DIR to a writable directory"
            ),
        )
    })?;
    let lock_path = osv.join("LOCK");
    let _lock =
        fsutil::lock(&lock_path, true, "the OSV cache").map_err(|e| Error::file(&lock_path, e))?;
    let previous = open(root)?;
    let now = jiff::Timestamp::now();

    let mut old = BTreeMap::new();
    if let Some(prev) = &previous {
        for (base, entry) in &prev.manifest.shards {
            let (index, data) = (prev.shard_path(&entry.index), prev.shard_path(&entry.data));
            let table = Table::open(&index, &data).map_err(|e| damaged(&index, e, root))?;
            old.insert(
                base.clone(),
                OldShard {
                    entry: entry.clone(),
                    table,
                },
            );
        }
    }

    // Written into tmp-XXXXXX, moved into place when complete; the files
    // are named after it, so no name is ever reused.
    let tmp = tempfile::Builder::new()
        .prefix("tmp-")
        .tempdir_in(&osv)
        .map_err(|e| Error::file(&osv, format!("cannot write the OSV cache: {e}")))?;
    let suffix = tmp
        .path()
        .file_name()
        .map(|n| n.to_string_lossy().trim_start_matches("tmp-").to_string())
        .unwrap_or_default();
    let mut writer = Writer {
        tmp: tmp.path(),
        suffix: suffix.clone(),
        old: &old,
        new: Vec::new(),
        dirty: BTreeSet::new(),
        won: FxHashMap::default(),
        more_places: FxHashMap::default(),
        added: 0,
        replaced: 0,
        kept_newer: 0,
    };
    let mut sources: Vec<SourceEntry> = previous
        .as_ref()
        .map(|p| p.manifest.sources.clone())
        .unwrap_or_default();
    let mut warnings = Vec::new();
    let mut imported = Vec::new();
    for (path, kind) in paths.iter().zip(kinds) {
        let mut entry = SourceEntry {
            path: std::path::absolute(path)
                .unwrap_or_else(|_| path.clone())
                .display()
                .to_string(),
            imported_at: now.to_string(),
            records: 0,
            skipped: Vec::new(),
        };
        read::visit_blobs(path, kind, |found| {
            match found.meta {
                Ok(meta) => {
                    entry.records += 1;
                    writer.add(meta, found.blob)?;
                }
                Err(why) => entry.skipped.push(format!("{}: {why}", found.name)),
            }
            Ok(())
        })?;
        warnings.extend(entry.skipped.iter().cloned());
        sources.retain(|s| s.path != entry.path);
        sources.push(entry.clone());
        imported.push(entry);
    }
    let (counts, changed) = writer.finish(root)?;

    let mut shards: BTreeMap<String, ShardEntry> = previous
        .as_ref()
        .map(|p| p.manifest.shards.clone())
        .unwrap_or_default();
    let mut moved: Vec<PathBuf> = Vec::new();
    let undo = |moved: &[PathBuf]| {
        for p in moved {
            let _ = std::fs::remove_file(p);
        }
    };
    for (base, entry) in changed {
        if entry.records == 0 {
            shards.remove(&base);
            continue;
        }
        for file in [&entry.data, &entry.index] {
            let (from, to) = (tmp.path().join(file), shards_dir.join(file));
            let result = if to.exists() {
                Err(std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "a file of that name is already there",
                ))
            } else {
                std::fs::rename(&from, &to)
            };
            if let Err(e) = result {
                undo(&moved);
                return Err(Error::file(
                    &to,
                    format!("cannot write the OSV cache: {e}; run the import again"),
                ));
            }
            moved.push(to);
        }
        shards.insert(base, entry);
    }
    let manifest = Manifest {
        format: FORMAT,
        imported_at: now.to_string(),
        sources,
        shards,
    };
    let gen_name = format!("gen-{suffix}");
    let gen_path = osv.join(&gen_name);
    let written = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| e.to_string())
        .and_then(|json| fsutil::write_new(&gen_path, &json, 0o644));
    if let Err(e) = written {
        undo(&moved);
        return Err(Error::file(
            &gen_path,
            format!("cannot write the OSV cache: {e}"),
        ));
    }
    moved.push(gen_path.clone());

    // The swap: from here on the new generation is live.
    let pointer = osv.join(CURRENT);
    if let Err(e) = fsutil::write_file(&pointer, format!("{gen_name}\n").as_bytes()) {
        undo(&moved);
        return Err(Error::file(
            &pointer,
            format!("cannot switch the OSV cache to the new import: {e}; the previous data is still in use"),
        ));
    }
    drop(tmp);
    drop(old);
    let live = Opened {
        osv: osv.clone(),
        name: gen_name,
        manifest,
    };
    remove_stale(&live, previous.as_ref());
    let (total, _) = live.manifest.totals();
    Ok(ImportSummary {
        cache: root.to_path_buf(),
        sources: imported,
        added: counts.added,
        replaced: counts.replaced,
        kept_newer: counts.kept_newer,
        total,
        per_ecosystem: live.manifest.per_ecosystem(),
        warnings,
    })
}

/// Removes manifests other than the live one and the one it replaced, shard
/// files neither names, and temporary directories of imports that died over
/// a day ago. Runs under the lock, so nothing else is writing. Best effort:
/// what cannot be removed costs disk space, nothing else.
fn remove_stale(live: &Opened, previous: Option<&Opened>) {
    let mut keep: BTreeSet<&str> = BTreeSet::new();
    let mut manifests = BTreeSet::from([live.name.as_str()]);
    for opened in std::iter::once(live).chain(previous) {
        manifests.insert(opened.name.as_str());
        for shard in opened.manifest.shards.values() {
            keep.insert(&shard.index);
            keep.insert(&shard.data);
        }
    }
    if let Ok(entries) = std::fs::read_dir(&live.osv) {
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let stale = if name.starts_with("gen-") {
                !manifests.contains(name.as_str())
            } else if name.starts_with("tmp-") {
                entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age.as_secs() > 24 * 3600)
            } else {
                false
            };
            if stale {
                let _ = if path.is_dir() {
                    std::fs::remove_dir_all(&path)
                } else {
                    std::fs::remove_file(&path)
                };
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir(live.osv.join(SHARDS)) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !keep.contains(name.as_str()) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}
