//! Reading OSV records out of what users hand us — a directory of JSON files,
//! osv.dev's `all.zip`, a single `.json` — and telling a record from junk.
//!
//! Two kinds of failure, kept apart on purpose:
//! * a *corrupt record* (invalid JSON, missing `id`, the wrong shape, larger
//!   than [`MAX_RECORD_BYTES`]) is skipped with a reason: the rest of the data
//!   is still good, and the caller warns and counts it;
//! * an *unreadable source* (an I/O error, a damaged archive) is an error:
//!   we cannot know which records we missed, so we cannot say "not affected".

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use jiff::Timestamp;

use super::shard::{self, Blob, Codec};
use crate::scan::osv::Record;
use crate::{Error, Result};

/// A record file larger than this is not a record (the largest real ones are
/// a few hundred KiB); it is skipped as corrupt rather than read.
pub const MAX_RECORD_BYTES: u64 = 16 * 1024 * 1024;

/// How many records are read, then parsed in parallel, at a time: enough to
/// keep both cores busy, small enough that a batch's bytes stay a few MiB.
const BATCH: usize = 256;

/// What the index keeps of a record: identity, freshness, and the
/// (ecosystem, normalised name) keys it is found under. Never the record.
#[derive(Debug, Clone)]
pub struct Meta {
    pub id: String,
    pub modified: Option<String>,
    pub modified_at: Option<Timestamp>,
    pub withdrawn: bool,
    /// Deduplicated, in the record's order.
    pub keys: Vec<(String, String)>,
}

impl Meta {
    /// Whether this record should replace `old`, a record with the same id:
    /// the newer `modified` wins; on a tie (or neither dated) the newcomer.
    pub fn supersedes(&self, old: &Meta) -> bool {
        match (self.modified_at, old.modified_at) {
            (Some(new), Some(old)) => new >= old,
            (Some(_), None) | (None, None) => true,
            (None, Some(_)) => false,
        }
    }
}

/// The name under which `ecosystem` keys a package. The ecosystem's base
/// (the part before the first `:`, e.g. `Debian` of `Debian:12`) chooses the
/// rule: PyPI names are PEP 503-normalised (lowercase, runs of `-_.` → `-`);
/// every other ecosystem's names are compared exactly (Go module paths and
/// Maven coordinates are case-sensitive, Debian/Alpine names already canonical).
pub fn normalise_name(ecosystem: &str, name: &str) -> String {
    let base = ecosystem.split(':').next().unwrap_or(ecosystem);
    if base != "PyPI" {
        return name.to_string();
    }
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_run {
                out.push('-');
            }
            in_run = true;
        } else {
            out.extend(c.to_lowercase());
            in_run = false;
        }
    }
    out
}

/// Parses one record, as stored or as found in a source.
pub fn parse_record(bytes: &[u8]) -> std::result::Result<Record, String> {
    let record: Record =
        serde_json::from_slice(bytes).map_err(|e| format!("not an OSV record: {e}"))?;
    if record.id.trim().is_empty() {
        return Err("not an OSV record: its `id` is empty".to_string());
    }
    Ok(record)
}

/// Parses and validates one record, keeping only what the index needs.
pub fn parse_meta(bytes: &[u8]) -> std::result::Result<Meta, String> {
    let record = parse_record(bytes)?;
    let mut keys: Vec<(String, String)> = Vec::new();
    for affected in &record.affected {
        let Some(package) = &affected.package else {
            continue;
        };
        let key = (
            package.ecosystem.clone(),
            normalise_name(&package.ecosystem, &package.name),
        );
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    let modified_at = record
        .modified
        .as_deref()
        .and_then(|m| m.parse::<Timestamp>().ok());
    Ok(Meta {
        id: record.id,
        modified: record.modified,
        modified_at,
        withdrawn: record.withdrawn.is_some(),
        keys,
    })
}

/// Where a record was found in a source.
#[derive(Debug, Clone)]
pub enum Origin {
    File(PathBuf),
    /// Index of the entry in the zip archive.
    ZipEntry(usize),
}

/// One record-sized piece of a source: its bytes, or why it was skipped
/// before parsing (too large).
pub struct Raw {
    /// For warnings: the file, or `archive.zip:ENTRY`.
    pub name: String,
    pub origin: Origin,
    pub bytes: std::result::Result<Vec<u8>, String>,
}

/// A record found in a source, parsed (or skipped, with the reason).
pub struct Found {
    pub name: String,
    pub origin: Origin,
    pub bytes: Vec<u8>,
    pub meta: std::result::Result<Meta, String>,
}

/// The kinds of input `db import` and `--db` take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dir,
    Zip,
    Json,
}

/// What `path` is: a directory, a single `.json` record, or (any other
/// file) a zip archive — checked when it is opened.
pub fn kind_of(path: &Path) -> Result<Kind> {
    let meta = std::fs::metadata(path).map_err(|e| {
        Error::file(
            path,
            format!("cannot read the OSV data: {e}; pass a directory of OSV JSON records or osv.dev's all.zip"),
        )
    })?;
    if meta.is_dir() {
        return Ok(Kind::Dir);
    }
    let is_json = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    Ok(if is_json { Kind::Json } else { Kind::Zip })
}

/// Reads every record of `path`, calling `each` for each one in a stable
/// order (file names sorted; zip entries in archive order). Parsing runs in
/// parallel, a batch at a time. `zip` receives the opened archive so a
/// caller can keep it for lookups.
pub fn visit(
    path: &Path,
    kind: Kind,
    mut each: impl FnMut(Found) -> Result<()>,
) -> Result<Option<zip::ZipArchive<File>>> {
    let mut batch: Vec<Raw> = Vec::with_capacity(BATCH);
    let mut flush = |batch: &mut Vec<Raw>| -> Result<()> {
        for found in parse_batch(std::mem::take(batch)) {
            each(found)?;
        }
        Ok(())
    };
    match kind {
        Kind::Json => {
            batch.push(read_file(path)?);
            flush(&mut batch)?;
            Ok(None)
        }
        Kind::Dir => {
            let walk = walkdir::WalkDir::new(path)
                .follow_links(true)
                .sort_by_file_name();
            for entry in walk {
                let entry = entry.map_err(|e| {
                    let at = e.path().unwrap_or(path).to_path_buf();
                    Error::file(at, format!("cannot read the OSV directory: {e}"))
                })?;
                let is_json = entry
                    .file_name()
                    .to_str()
                    .is_some_and(|n| n.len() > 5 && n[n.len() - 5..].eq_ignore_ascii_case(".json"));
                if entry.file_type().is_dir() || !is_json {
                    continue;
                }
                batch.push(read_file(entry.path())?);
                if batch.len() == BATCH {
                    flush(&mut batch)?;
                }
            }
            flush(&mut batch)?;
            Ok(None)
        }
        Kind::Zip => {
            let mut archive = open_archive(path)?;
            for index in 0..archive.len() {
                if let Some(raw) = read_zip_entry(&mut archive, path, index)? {
                    batch.push(raw);
                    if batch.len() == BATCH {
                        flush(&mut batch)?;
                    }
                }
            }
            flush(&mut batch)?;
            Ok(Some(archive))
        }
    }
}

/// Reads one record file, bounded. A file too large is skipped, not read.
pub fn read_file(path: &Path) -> Result<Raw> {
    let name = path.display().to_string();
    let origin = Origin::File(path.to_path_buf());
    let cannot = |e: std::io::Error| Error::file(path, format!("cannot read the OSV record: {e}"));
    let file = File::open(path).map_err(cannot)?;
    let size = file.metadata().map_err(cannot)?.len();
    if size > MAX_RECORD_BYTES {
        return Ok(Raw {
            name,
            origin,
            bytes: Err(too_large(size)),
        });
    }
    let mut bytes = Vec::with_capacity(size as usize);
    // Bounded even if the file grows while we read it.
    file.take(MAX_RECORD_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    let bytes = if bytes.len() as u64 > MAX_RECORD_BYTES {
        Err(too_large(bytes.len() as u64))
    } else {
        Ok(bytes)
    };
    Ok(Raw {
        name,
        origin,
        bytes,
    })
}

/// Opens a zip of OSV records, saying what else would do when it is none.
fn open_archive(path: &Path) -> Result<zip::ZipArchive<File>> {
    let file = File::open(path)
        .map_err(|e| Error::file(path, format!("cannot open the OSV archive: {e}")))?;
    zip::ZipArchive::new(file).map_err(|e| {
        Error::file(
            path,
            format!("not a zip archive ({e}); pass a directory of OSV JSON records, a .json record or osv.dev's all.zip"),
        )
    })
}

fn archive_damaged(path: &Path, e: &dyn std::fmt::Display) -> Error {
    Error::file(
        path,
        format!("the OSV archive is damaged: {e}; download it again"),
    )
}

/// Whether a zip entry's name is an OSV record's (`*.json`, any case).
fn is_json_name(name: &str) -> bool {
    name.len() > 5
        && name
            .get(name.len() - 5..)
            .is_some_and(|ext| ext.eq_ignore_ascii_case(".json"))
}

/// Reads entry `index` of the archive if it is a `.json` file. The declared
/// size is checked before any byte is inflated, and the read is bounded
/// anyway (the declared size may lie: zip bombs).
pub fn read_zip_entry(
    archive: &mut zip::ZipArchive<File>,
    path: &Path,
    index: usize,
) -> Result<Option<Raw>> {
    let entry = archive
        .by_index(index)
        .map_err(|e| archive_damaged(path, &e))?;
    let entry_name = entry.name().to_string();
    if entry.is_dir() || !is_json_name(&entry_name) {
        return Ok(None);
    }
    let name = format!("{}:{entry_name}", path.display());
    let origin = Origin::ZipEntry(index);
    let size = entry.size();
    if size > MAX_RECORD_BYTES {
        return Ok(Some(Raw {
            name,
            origin,
            bytes: Err(too_large(size)),
        }));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    entry
        .take(MAX_RECORD_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| archive_damaged(path, &format!("entry {entry_name}: {e}")))?;
    let bytes = if bytes.len() as u64 > MAX_RECORD_BYTES {
        Err(too_large(bytes.len() as u64))
    } else {
        Ok(bytes)
    };
    Ok(Some(Raw {
        name,
        origin,
        bytes,
    }))
}

/// Reads entry `index` of an archive shared behind a lock (lookups).
pub fn read_zip_shared(
    archive: &Mutex<zip::ZipArchive<File>>,
    path: &Path,
    index: usize,
) -> Result<Option<Raw>> {
    let mut guard = archive
        .lock()
        .map_err(|_| Error::file(path, "the OSV archive's reader failed earlier"))?;
    read_zip_entry(&mut guard, path, index)
}

fn too_large(size: u64) -> String {
    format!(
        "skipped: {size} bytes is larger than any OSV record ({} MiB at most)",
        MAX_RECORD_BYTES / (1024 * 1024)
    )
}

/// Parses a batch, split over the available cores; results keep the batch's order.
fn parse_batch(batch: Vec<Raw>) -> Vec<Found> {
    par_map(batch, |raw: Raw| -> Found {
        match raw.bytes {
            Ok(bytes) => {
                let meta = parse_meta(&bytes);
                Found {
                    name: raw.name,
                    origin: raw.origin,
                    bytes,
                    meta,
                }
            }
            Err(why) => Found {
                name: raw.name,
                origin: raw.origin,
                bytes: Vec::new(),
                meta: Err(why),
            },
        }
    })
}

/// Maps a batch over the available cores (at most 4); results keep the batch's order.
fn par_map<T: Send, U: Send>(batch: Vec<T>, f: impl Fn(T) -> U + Sync) -> Vec<U> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(4);
    if threads < 2 || batch.len() < 16 {
        return batch.into_iter().map(f).collect();
    }
    let per = batch.len().div_ceil(threads);
    let mut chunks: Vec<Vec<T>> = Vec::new();
    let mut rest = batch;
    while rest.len() > per {
        let tail = rest.split_off(per);
        chunks.push(rest);
        rest = tail;
    }
    chunks.push(rest);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| scope.spawn(move || chunk.into_iter().map(f).collect::<Vec<_>>()))
            .collect();
        let mut out = Vec::new();
        for handle in handles {
            // A panic in a worker thread is a bug; re-raise it where it belongs.
            match handle.join() {
                Ok(found) => out.extend(found),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        out
    })
}

/// A record found by an import: its metadata (or why it is skipped) and its
/// bytes as the cache stores them.
pub struct FoundBlob {
    pub name: String,
    pub meta: std::result::Result<Meta, String>,
    pub blob: Blob,
}

/// What the reading thread hands the parsers.
enum Pending {
    /// JSON as read (a file, or a zip entry stored or compressed otherwise).
    Plain(Raw),
    /// A zip entry's raw deflate, with its declared size and CRC-32.
    Deflated {
        name: String,
        bytes: Vec<u8>,
        size: u64,
        crc: u32,
    },
}

/// Like [`visit`], for an import: records come with the bytes the cache
/// keeps. A zip entry's deflate stream is kept as it is (inflated here only
/// to be parsed and checked against its CRC-32); plain JSON is compressed.
/// Inflating, parsing and compressing run in parallel, a batch at a time.
pub fn visit_blobs(
    path: &Path,
    kind: Kind,
    mut each: impl FnMut(FoundBlob) -> Result<()>,
) -> Result<()> {
    match kind {
        Kind::Json | Kind::Dir => {
            visit(path, kind, |found| {
                // Parsed in parallel by visit(); compressed here.
                let blob = match &found.meta {
                    Ok(_) => Blob::compress(&found.bytes),
                    Err(_) => Blob::compress(b""),
                };
                each(FoundBlob {
                    name: found.name,
                    meta: found.meta,
                    blob,
                })
            })?;
            Ok(())
        }
        Kind::Zip => {
            let mut archive = open_archive(path)?;
            let mut batch: Vec<Pending> = Vec::with_capacity(BATCH);
            let mut flush = |batch: &mut Vec<Pending>| -> Result<()> {
                for found in par_map(std::mem::take(batch), finish_blob) {
                    let found = found.map_err(|why| {
                        Error::file(
                            path,
                            format!("the OSV archive is damaged: {why}; download it again"),
                        )
                    })?;
                    each(found)?;
                }
                Ok(())
            };
            for index in 0..archive.len() {
                if let Some(p) = read_zip_raw(&mut archive, path, index)? {
                    batch.push(p);
                    if batch.len() == BATCH {
                        flush(&mut batch)?;
                    }
                }
            }
            flush(&mut batch)?;
            Ok(())
        }
    }
}
/// Reads entry `index` of the archive for an import, if it is a `.json`
/// file: a deflated entry's compressed bytes as they are, any other entry
/// decompressed by the archive reader. Sizes are checked before reading.
fn read_zip_raw(
    archive: &mut zip::ZipArchive<File>,
    path: &Path,
    index: usize,
) -> Result<Option<Pending>> {
    let damaged = |e: &dyn std::fmt::Display| archive_damaged(path, e);
    let entry = archive.by_index_raw(index).map_err(|e| damaged(&e))?;
    let entry_name = entry.name().to_string();
    if entry.is_dir() || !is_json_name(&entry_name) {
        return Ok(None);
    }
    if entry.compression() != zip::CompressionMethod::Deflated {
        drop(entry);
        return Ok(read_zip_entry(archive, path, index)?.map(Pending::Plain));
    }
    let name = format!("{}:{entry_name}", path.display());
    let (size, crc, compressed) = (entry.size(), entry.crc32(), entry.compressed_size());
    if size > MAX_RECORD_BYTES || compressed > MAX_RECORD_BYTES {
        return Ok(Some(Pending::Plain(Raw {
            name,
            origin: Origin::ZipEntry(index),
            bytes: Err(too_large(size.max(compressed))),
        })));
    }
    let mut bytes = Vec::with_capacity(compressed as usize);
    entry
        .take(MAX_RECORD_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| damaged(&format!("entry {entry_name}: {e}")))?;
    Ok(Some(Pending::Deflated {
        name,
        bytes,
        size,
        crc,
    }))
}

/// Inflates (and checks), parses, and compresses what needs it: the parallel
/// part of an import. An entry that does not inflate to what the archive
/// declares means a damaged archive: an error, not a corrupt record.
fn finish_blob(p: Pending) -> std::result::Result<FoundBlob, String> {
    match p {
        Pending::Plain(raw) => {
            let (meta, blob) = match raw.bytes {
                Ok(bytes) => {
                    let meta = parse_meta(&bytes);
                    let blob = Blob::compress(if meta.is_ok() { &bytes } else { b"" });
                    (meta, blob)
                }
                Err(why) => (Err(why), Blob::compress(b"")),
            };
            Ok(FoundBlob {
                name: raw.name,
                meta,
                blob,
            })
        }
        Pending::Deflated {
            name,
            bytes,
            size,
            crc,
        } => {
            let json =
                shard::inflate(&bytes, size as usize).map_err(|why| format!("{name}: {why}"))?;
            if json.len() as u64 != size {
                return Err(format!(
                    "{name} inflates to {} bytes, not the {size} it declares",
                    json.len()
                ));
            }
            let mut sum = flate2::Crc::new();
            sum.update(&json);
            if sum.sum() != crc {
                return Err(format!("{name} fails its CRC-32 check"));
            }
            let meta = parse_meta(&json);
            Ok(FoundBlob {
                name,
                meta,
                blob: Blob {
                    codec: Codec::Deflate,
                    raw_len: size as u32,
                    bytes,
                },
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pep503_names() {
        assert_eq!(normalise_name("PyPI", "Django"), "django");
        assert_eq!(normalise_name("PyPI", "zope.interface"), "zope-interface");
        assert_eq!(normalise_name("PyPI", "A__b-._C"), "a-b-c");
        assert_eq!(
            normalise_name("Go", "github.com/Foo/Bar"),
            "github.com/Foo/Bar"
        );
        assert_eq!(normalise_name("crates.io", "Foo_bar"), "Foo_bar");
        assert_eq!(normalise_name("Debian:12", "OpenSSL"), "OpenSSL");
    }

    #[test]
    fn corrupt_records_say_why() {
        assert!(parse_meta(b"{").unwrap_err().contains("not an OSV record"));
        assert!(parse_meta(br#"{"modified":"2024-01-01T00:00:00Z"}"#)
            .unwrap_err()
            .contains("missing field `id`"));
        assert!(parse_meta(br#"{"id":"X","affected":{"a":1}}"#)
            .unwrap_err()
            .contains("not an OSV record"));
        assert!(parse_meta(br#"{"id":" "}"#).unwrap_err().contains("empty"));
    }

    #[test]
    fn keys_are_deduplicated_and_normalised() {
        let meta = parse_meta(
            br#"{"id":"PYSEC-1","modified":"2024-01-02T03:04:05.6Z","withdrawn":"2024-02-01T00:00:00Z","affected":[
                {"package":{"ecosystem":"PyPI","name":"Django"}},
                {"package":{"ecosystem":"PyPI","name":"django"}},
                {"package":{"ecosystem":"Debian:12","name":"python-django"}},
                {"ranges":[]}]}"#,
        )
        .unwrap();
        assert_eq!(
            meta.keys,
            vec![
                ("PyPI".to_string(), "django".to_string()),
                ("Debian:12".to_string(), "python-django".to_string())
            ]
        );
        assert!(meta.withdrawn);
        assert!(meta.modified_at.is_some());
    }

    #[test]
    fn newer_modified_wins() {
        let at = |m: Option<&str>| Meta {
            id: "X".into(),
            modified: m.map(String::from),
            modified_at: m.and_then(|m| m.parse().ok()),
            withdrawn: false,
            keys: vec![],
        };
        let old = at(Some("2024-01-01T00:00:00Z"));
        let new = at(Some("2024-06-01T00:00:00+02:00"));
        assert!(new.supersedes(&old));
        assert!(!old.supersedes(&new));
        assert!(old.supersedes(&old.clone()));
        assert!(!at(None).supersedes(&old));
        assert!(old.supersedes(&at(None)));
    }
}
