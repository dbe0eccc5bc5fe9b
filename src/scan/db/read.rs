//! Reading OSV records out of what users hand us — a directory of JSON files,
//! osv.dev's `all.zip`, a single `.json` — and telling a record from junk.
//!
//! Two kinds of failure, kept apart on purpose:
//! * a *corrupt record* (invalid JSON, missing `id`, the wrong shape, larger
//!   than [`MAX_RECORD_BYTES`]) is skipped with a reason: the rest of the data
//!   is still good, and the caller warns and counts it;
//! * an *unreadable source* (an I/O error, a damaged archive) is an error:
//!   we cannot know which records we missed, so we cannot say "not affected".

use std::borrow::Cow;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use super::archive;
use super::shard::{Blob, Codec};
use crate::scan::osv::Record;
use crate::{Error, Result};

/// A record file larger than this is not a record (the largest real ones are
/// a few hundred KiB); it is skipped as corrupt rather than read.
pub const MAX_RECORD_BYTES: u64 = 16 * 1024 * 1024;

/// How many records a worker takes at a time: enough that handing them
/// over costs little, few enough that the cores finish together.
const BATCH: usize = 256;
/// How many batches may be out (read, not yet consumed) at once: a few
/// MiB of records.
const IN_FLIGHT: usize = 8;

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

/// What [`parse_meta`] reads of a record, borrowed from its bytes where
/// it can be; everything else is checked to be JSON and skipped.
#[derive(serde::Deserialize)]
struct MetaShape<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(default, borrow)]
    modified: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    withdrawn: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    affected: Vec<AffectedShape<'a>>,
}

#[derive(serde::Deserialize)]
struct AffectedShape<'a> {
    #[serde(default, borrow)]
    package: Option<PackageShape<'a>>,
}

#[derive(serde::Deserialize)]
struct PackageShape<'a> {
    #[serde(borrow)]
    ecosystem: Cow<'a, str>,
    #[serde(borrow)]
    name: Cow<'a, str>,
}

/// Checks one record and keeps only what the index needs: its id,
/// `modified`, whether it is withdrawn, and its package keys. The record
/// must be JSON, and those fields of the types OSV gives them; the rest of
/// its shape is checked when a scan reads it ([`parse_record`]), where a
/// record that fails is skipped with a warning as here. Reading the rest
/// in full here would cost an import of osv.dev's 300,000 records a third
/// of its time in allocations it throws away.
pub fn parse_meta(bytes: &[u8]) -> std::result::Result<Meta, String> {
    let record: MetaShape =
        serde_json::from_slice(bytes).map_err(|e| format!("not an OSV record: {e}"))?;
    if record.id.trim().is_empty() {
        return Err("not an OSV record: its `id` is empty".to_string());
    }
    let mut keys: Vec<(String, String)> = Vec::new();
    for affected in &record.affected {
        let Some(package) = &affected.package else {
            continue;
        };
        let key = (
            package.ecosystem.to_string(),
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
        id: record.id.into_owned(),
        modified: record.modified.map(Cow::into_owned),
        modified_at,
        withdrawn: record.withdrawn.is_some(),
        keys,
    })
}

/// Where a record was found in a source.
#[derive(Debug, Clone)]
pub enum Origin {
    File(PathBuf),
    /// The archive's entry, enough to read it again.
    ZipEntry(archive::Entry),
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

/// What the reading thread hands the parsers: a record's bytes as read.
enum Pending {
    /// A file's JSON, or why it was not read.
    Plain(Raw),
    /// A zip entry's bytes as stored, to be decoded and checked.
    Zipped {
        name: String,
        entry: archive::Entry,
        stored: Vec<u8>,
    },
}

/// What the reading thread and the workers tell the consumer.
enum Message<U> {
    /// Batch number n, done.
    Batch(u64, Vec<std::result::Result<U, String>>),
    /// The source could not be read further.
    Failed(Error),
    /// The source is read: this many batches in all.
    End(u64),
}

/// Tells the consumer when a worker unwinds.
struct Alarm<U>(std::sync::mpsc::Sender<Message<U>>);

impl<U> Drop for Alarm<U> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = self.0.send(Message::Failed(Error::Usage(
                "a thread reading the OSV data stopped unexpectedly".into(),
            )));
        }
    }
}

/// Reads every record of `path` in a stable order (file names sorted; zip
/// entries in archive order) and hands each to `work` on every core, while
/// `each` takes the results in that order on this thread. Returns the
/// opened archive, for a caller that keeps it for lookups.
///
/// One reading thread, one worker per core (kept for the whole source:
/// a thread per batch cost each batch its allocator arena's pages anew)
/// and this thread, the consumer, run at once. At most [`IN_FLIGHT`]
/// batches are out at a time, so memory stays bounded however slow the
/// consumer is.
fn pipeline<U: Send>(
    path: &Path,
    kind: Kind,
    work: impl Fn(Pending) -> std::result::Result<U, String> + Sync,
    mut each: impl FnMut(U) -> Result<()>,
) -> Result<Option<archive::Archive>> {
    use std::sync::mpsc::{channel, sync_channel};
    use std::sync::Mutex;
    let archive = match kind {
        Kind::Zip => Some(archive::Archive::open(path).map_err(|why| {
            Error::file(
                path,
                format!("not an OSV archive: {why}; pass a directory of OSV JSON records, a .json record or osv.dev's all.zip"),
            )
        })?),
        Kind::Dir | Kind::Json => None,
    };
    let mut produce = producer(path, kind, archive.as_ref());
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4);
    let work = &work;
    let (to_workers, queue) = sync_channel::<(u64, Vec<Pending>)>(IN_FLIGHT);
    let queue = Mutex::new(queue);
    let queue = &queue;
    std::thread::scope(|scope| {
        let (to_consumer, from_workers) = channel::<Message<U>>();
        // A ticket per batch out; the consumer hands each back when done.
        let (give_back, tickets) = sync_channel::<()>(IN_FLIGHT);
        for _ in 0..IN_FLIGHT {
            let _ = give_back.send(());
        }
        let reader_out = to_consumer.clone();
        scope.spawn(move || {
            let mut n = 0u64;
            loop {
                let mut batch = Vec::with_capacity(BATCH);
                let mut failed = None;
                while batch.len() < BATCH {
                    match produce() {
                        Ok(Some(p)) => batch.push(p),
                        Ok(None) => break,
                        Err(e) => {
                            failed = Some(e);
                            break;
                        }
                    }
                }
                let last = batch.len() < BATCH;
                if !batch.is_empty() {
                    // No ticket: the consumer stopped.
                    if tickets.recv().is_err() || to_workers.send((n, batch)).is_err() {
                        return;
                    }
                    n += 1;
                }
                if let Some(e) = failed {
                    let _ = reader_out.send(Message::Failed(e));
                    return;
                }
                if last {
                    let _ = reader_out.send(Message::End(n));
                    return;
                }
            }
        });
        for _ in 0..workers {
            let out = to_consumer.clone();
            scope.spawn(move || {
                // A worker that panics (a bug) would leave the consumer
                // waiting for its batch, and the reader for a ticket, for
                // ever: it says so on its way out; the scope re-raises.
                let _alarm = Alarm(out.clone());
                loop {
                    let next = match queue.lock() {
                        Ok(q) => q.recv(),
                        Err(_) => return,
                    };
                    let Ok((n, batch)) = next else {
                        return;
                    };
                    if out
                        .send(Message::Batch(n, batch.into_iter().map(work).collect()))
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
        drop(to_consumer);
        // Batches arrive in any order; they are taken in order.
        let mut waiting: std::collections::BTreeMap<u64, Vec<_>> = Default::default();
        let (mut next, mut end) = (0u64, None);
        while end != Some(next) {
            match from_workers.recv() {
                Ok(Message::Batch(n, found)) => {
                    waiting.insert(n, found);
                }
                Ok(Message::Failed(e)) => return Err(e),
                Ok(Message::End(n)) => end = Some(n),
                // Every sender is gone before the end: a worker panicked,
                // which the scope re-raises.
                Err(_) => break,
            }
            while let Some(found) = waiting.remove(&next) {
                for found in found {
                    each(found.map_err(|why| archive_damaged(path, &why))?)?;
                }
                next += 1;
                let _ = give_back.send(());
            }
        }
        Ok::<(), Error>(())
    })?;
    Ok(archive)
}

/// The source's records, one at a time, as [`Pending`] pieces.
fn producer<'a>(
    path: &'a Path,
    kind: Kind,
    archive: Option<&'a archive::Archive>,
) -> Box<dyn FnMut() -> Result<Option<Pending>> + Send + 'a> {
    match (kind, archive) {
        (Kind::Zip, Some(archive)) => {
            let mut entries = archive.entries();
            let mut reader = archive.reader(true);
            Box::new(move || loop {
                let Some(entry) = entries.next() else {
                    return Ok(None);
                };
                let entry = entry.map_err(|why| archive_damaged(path, &why))?;
                if entry.is_dir() || !is_json_name(&entry.name) {
                    continue;
                }
                let name = format!("{}:{}", path.display(), entry.name);
                if entry.size > MAX_RECORD_BYTES || entry.compressed > MAX_RECORD_BYTES {
                    let bytes = Err(too_large(entry.size.max(entry.compressed)));
                    let origin = Origin::ZipEntry(entry);
                    return Ok(Some(Pending::Plain(Raw {
                        name,
                        origin,
                        bytes,
                    })));
                }
                let stored = reader
                    .stored(&entry)
                    .map_err(|why| archive_damaged(path, &why))?;
                return Ok(Some(Pending::Zipped {
                    name,
                    entry,
                    stored,
                }));
            })
        }
        (Kind::Json, _) => {
            let mut once = Some(path);
            Box::new(move || {
                once.take()
                    .map(read_file)
                    .transpose()
                    .map(|r| r.map(Pending::Plain))
            })
        }
        _ => {
            let mut walk = walkdir::WalkDir::new(path)
                .follow_links(true)
                .sort_by_file_name()
                .into_iter();
            Box::new(move || loop {
                let Some(entry) = walk.next() else {
                    return Ok(None);
                };
                let entry = entry.map_err(|e| {
                    let at = e.path().unwrap_or(path).to_path_buf();
                    Error::file(at, format!("cannot read the OSV directory: {e}"))
                })?;
                if entry.file_type().is_dir() || !is_json_name(&entry.file_name().to_string_lossy())
                {
                    continue;
                }
                return read_file(entry.path()).map(|raw| Some(Pending::Plain(raw)));
            })
        }
    }
}

/// A piece's JSON and where it came from; an entry that does not decode to
/// what the archive declares is a damaged archive (the error).
fn decoded(p: Pending) -> std::result::Result<(Raw, Option<Vec<u8>>), String> {
    match p {
        Pending::Plain(raw) => Ok((raw, None)),
        Pending::Zipped {
            name,
            entry,
            stored,
        } => {
            let deflated = entry.method == archive::Method::Deflated;
            let json = archive::decode(&entry, &stored)?;
            Ok((
                Raw {
                    name,
                    origin: Origin::ZipEntry(entry),
                    bytes: Ok(json),
                },
                deflated.then_some(stored),
            ))
        }
    }
}

/// Reads every record of `path`, calling `each` for each one in a stable
/// order (file names sorted; zip entries in archive order), parsed on every
/// core. An archive is returned so a caller can keep it for lookups.
pub fn visit(
    path: &Path,
    kind: Kind,
    each: impl FnMut(Found) -> Result<()>,
) -> Result<Option<archive::Archive>> {
    let work = |p: Pending| -> std::result::Result<Found, String> {
        let (raw, _) = decoded(p)?;
        Ok(match raw.bytes {
            Ok(bytes) => Found {
                meta: parse_meta(&bytes),
                name: raw.name,
                origin: raw.origin,
                bytes,
            },
            Err(why) => Found {
                name: raw.name,
                origin: raw.origin,
                bytes: Vec::new(),
                meta: Err(why),
            },
        })
    };
    pipeline(path, kind, work, each)
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

fn archive_damaged(path: &Path, e: &dyn std::fmt::Display) -> Error {
    Error::file(
        path,
        format!("the OSV archive is damaged: {e}; download it again"),
    )
}

/// Whether a file or entry name is an OSV record's (`*.json`, any case).
pub(crate) fn is_json_name(name: &str) -> bool {
    name.len() > 5
        && name
            .get(name.len() - 5..)
            .is_some_and(|ext| ext.eq_ignore_ascii_case(".json"))
}

/// Reads an archive's entry again (a lookup), decoded and checked.
pub fn read_zip_entry(
    archive: &archive::Archive,
    path: &Path,
    entry: &archive::Entry,
) -> Result<Raw> {
    let stored = archive
        .reader(false)
        .stored(entry)
        .and_then(|stored| archive::decode(entry, &stored))
        .map_err(|why| archive_damaged(path, &why))?;
    Ok(Raw {
        name: format!("{}:{}", path.display(), entry.name),
        origin: Origin::ZipEntry(entry.clone()),
        bytes: Ok(stored),
    })
}

fn too_large(size: u64) -> String {
    format!(
        "skipped: {size} bytes is larger than any OSV record ({} MiB at most)",
        MAX_RECORD_BYTES / (1024 * 1024)
    )
}

/// Maps a batch over the available cores (at most 4); results keep the
/// batch's order. The cores take small chunks in turn rather than a half
/// each, so one core is not left idle while the other finishes a half of
/// larger records.
pub(crate) fn par_map<T: Send, U: Send>(batch: Vec<T>, f: impl Fn(T) -> U + Sync) -> Vec<U> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    const CHUNK: usize = 16;
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(4);
    if threads < 2 || batch.len() < 2 * CHUNK {
        return batch.into_iter().map(f).collect();
    }
    let mut chunks: Vec<Mutex<Result<Vec<U>, Vec<T>>>> = Vec::new();
    let mut rest = batch;
    while !rest.is_empty() {
        let tail = rest.split_off(CHUNK.min(rest.len()));
        chunks.push(Mutex::new(Err(rest)));
        rest = tail;
    }
    let next = AtomicUsize::new(0);
    let (f, chunks_ref, next) = (&f, &chunks, &next);
    std::thread::scope(|scope| {
        let work = move || loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(slot) = chunks_ref.get(i) else {
                return;
            };
            // Only this thread takes chunk i; a poisoned lock means a
            // worker panicked, which the scope re-raises.
            if let Ok(mut slot) = slot.lock() {
                if let Err(items) = std::mem::replace(&mut *slot, Ok(Vec::new())) {
                    *slot = Ok(items.into_iter().map(f).collect());
                }
            }
        };
        for _ in 1..threads {
            scope.spawn(work);
        }
        work();
    });
    chunks
        .into_iter()
        .flat_map(|slot| match slot.into_inner() {
            Ok(Ok(done)) => done,
            // Unreachable: every chunk is taken before the scope ends.
            _ => Vec::new(),
        })
        .collect()
}

/// A record found by an import: its metadata (or why it is skipped) and its
/// bytes as the cache stores them.
pub struct FoundBlob {
    pub name: String,
    pub meta: std::result::Result<Meta, String>,
    pub blob: Blob,
}

/// Like [`visit`], for an import: records come with the bytes the cache
/// keeps. A zip entry's deflate stream is kept as it is (inflated here only
/// to be parsed and checked against its length and CRC-32); anything else
/// is compressed.
pub fn visit_blobs(
    path: &Path,
    kind: Kind,
    each: impl FnMut(FoundBlob) -> Result<()>,
) -> Result<()> {
    let work = |p: Pending| -> std::result::Result<FoundBlob, String> {
        let (raw, deflated) = decoded(p)?;
        let (meta, blob) = match raw.bytes {
            Ok(json) => {
                let meta = parse_meta(&json);
                let blob = match (&meta, deflated) {
                    (Ok(_), Some(stored)) => Blob {
                        codec: Codec::Deflate,
                        raw_len: json.len() as u32,
                        bytes: stored,
                    },
                    (Ok(_), None) => Blob::compress(&json),
                    (Err(_), _) => Blob::compress(b""),
                };
                (meta, blob)
            }
            Err(why) => (Err(why), Blob::compress(b"")),
        };
        Ok(FoundBlob {
            name: raw.name,
            meta,
            blob,
        })
    };
    pipeline(path, kind, work, each)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_that_panics_ends_the_read_instead_of_hanging_it() {
        let dir = tempfile::tempdir().unwrap();
        // Many more batches than may be out at once after the one that
        // fails: without the alarm, the reader waits for a ticket for ever.
        let n = BATCH * (IN_FLIGHT + 4);
        for i in 0..n {
            std::fs::write(
                dir.path().join(format!("{i:05}.json")),
                format!(r#"{{"id":"X-{i}"}}"#),
            )
            .unwrap();
        }
        let work = |p: Pending| -> std::result::Result<String, String> {
            let (raw, _) = decoded(p)?;
            if raw.name.ends_with("00100.json") {
                panic!("a bug");
            }
            Ok(raw.name)
        };
        let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pipeline(dir.path(), Kind::Dir, work, |_| Ok(()))
        }));
        assert!(read.is_err(), "the panic reaches the caller");
        // And without the bug every record comes, in order.
        let mut seen = Vec::new();
        pipeline(
            dir.path(),
            Kind::Dir,
            |p| decoded(p).map(|(raw, _)| raw.name),
            |name| {
                seen.push(name);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen.len(), n);
        assert!(seen.windows(2).all(|w| w[0] < w[1]));
    }

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
