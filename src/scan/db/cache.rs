//! The imported database on disk, and `wharf db import`.
//!
//! Layout, under the cache root (`$WHARF_CACHE_DIR`, else the XDG cache):
//!
//! ```text
//! osv/
//!   CURRENT              the name of the live generation ("gen-XXXXXX\n")
//!   gen-XXXXXX/
//!     records.dat        the records' JSON texts as imported, one after another
//!                        (each followed by a newline), never re-encoded
//!     index.json         format, import times, the sources imported, per record
//!                        its id, `modified`, withdrawn flag and byte span in
//!                        records.dat, and `packages`: ecosystem → normalised
//!                        name → record numbers
//! ```
//!
//! A generation is never changed once written. An import reads the live one,
//! writes a whole new generation beside it (new records, then the surviving old
//! ones copied byte for byte), flushes it, and only then swaps `CURRENT`
//! (temp file + rename). An import that fails anywhere before the swap leaves
//! the live generation exactly as it was; its half-written directory is removed.
//! The previous generation is kept until the next import, so a scan that read
//! `CURRENT` just before a swap still finds its files.
//!
//! Imports take turns: each holds an exclusive lock on `osv/LOCK` from
//! reading the live generation to removing stale ones, so two imports at
//! once (parallel jobs on one runner sharing a cache) both keep their
//! records, and neither removes the generation the other is about to make
//! live. Scans take no lock.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::index::{self, Added, Builder};
use super::read::{self, Meta};
use crate::{fsutil, Error, Result};

/// The on-disk format this build reads and writes.
const FORMAT: u32 = 1;
const CURRENT: &str = "CURRENT";
const INDEX: &str = "index.json";
const DATA: &str = "records.dat";

/// Where the database lives under a cache root.
pub fn osv_dir(root: &Path) -> PathBuf {
    root.join("osv")
}

#[derive(Debug, Serialize, Deserialize)]
pub struct IndexFile {
    pub format: u32,
    /// When this generation was written (RFC 3339).
    pub imported_at: String,
    /// Every source imported so far; re-importing a path replaces its entry.
    pub sources: Vec<SourceEntry>,
    pub records: Vec<RecordEntry>,
    /// ecosystem → normalised package name → indices into `records`.
    pub packages: index::Packages,
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
pub struct RecordEntry {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub withdrawn: bool,
    pub offset: u64,
    pub len: u64,
}

/// The live generation, opened: its index and its data file.
pub struct Opened {
    pub dir: PathBuf,
    pub index: IndexFile,
    pub data: File,
}

fn damaged(path: &Path, why: impl std::fmt::Display, root: &Path) -> Error {
    Error::file(
        path,
        format!(
            "the OSV cache is damaged: {why}; remove {} and run `wharf db import` again",
            osv_dir(root).display()
        ),
    )
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
    if !name.starts_with("gen-") || name.contains(['/', '\\']) || name.contains("..") {
        return Err(damaged(&pointer, "it names no generation", root));
    }
    let dir = osv.join(&name);
    let index_path = dir.join(INDEX);
    let bytes = std::fs::read(&index_path).map_err(|e| damaged(&index_path, e, root))?;
    let index: IndexFile =
        serde_json::from_slice(&bytes).map_err(|e| damaged(&index_path, e, root))?;
    if index.format != FORMAT {
        return Err(Error::file(
            &index_path,
            format!(
                "the OSV cache is in format {} and this wharf reads format {FORMAT}; remove {} and run `wharf db import` again",
                index.format,
                osv.display()
            ),
        ));
    }
    let data_path = dir.join(DATA);
    let data = File::open(&data_path).map_err(|e| damaged(&data_path, e, root))?;
    let size = data
        .metadata()
        .map_err(|e| damaged(&data_path, e, root))?
        .len();
    // Check the index against the data once, so a lookup can trust it.
    for r in &index.records {
        if r.offset.checked_add(r.len).is_none_or(|end| end > size)
            || r.len > read::MAX_RECORD_BYTES
        {
            return Err(damaged(
                &index_path,
                format!("record {} lies outside {DATA}", r.id),
                root,
            ));
        }
    }
    let n = index.records.len();
    if index
        .packages
        .values()
        .flat_map(|names| names.values().flatten())
        .any(|&i| i as usize >= n)
    {
        return Err(damaged(&index_path, "a package names no record", root));
    }
    Ok(Some(Opened { dir, index, data }))
}

/// Reads record bytes at a span of the data file.
pub fn read_span(data: &File, offset: u64, len: u64) -> std::io::Result<Vec<u8>> {
    let mut bytes = vec![0u8; len as usize];
    data.read_exact_at(&mut bytes, offset)?;
    Ok(bytes)
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

/// Where a record of the generation being written comes from.
enum Span {
    /// Already written to the new data file.
    New { offset: u64, len: u64 },
    /// In the previous generation's data file, to be copied.
    Old { offset: u64, len: u64 },
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
    std::fs::create_dir_all(&osv).map_err(|e| {
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

    // Written as tmp-*, renamed to gen-* when complete: only whole
    // generations ever carry the gen- prefix.
    let tmp = tempfile::Builder::new()
        .prefix("tmp-")
        .tempdir_in(&osv)
        .map_err(|e| Error::file(&osv, format!("cannot write the OSV cache: {e}")))?;
    let data_path = tmp.path().join(DATA);
    let write_err =
        |e: std::io::Error| Error::file(&data_path, format!("cannot write the OSV cache: {e}"));
    let mut out = BufWriter::new(File::create(&data_path).map_err(write_err)?);
    let mut written = 0u64;

    let mut builder: Builder<Span> = Builder::default();
    let mut sources: Vec<SourceEntry> = Vec::new();
    if let Some(prev) = &previous {
        let mut keys: Vec<Vec<(String, String)>> = vec![Vec::new(); prev.index.records.len()];
        for (ecosystem, names) in &prev.index.packages {
            for (name, numbers) in names {
                for &n in numbers {
                    keys[n as usize].push((ecosystem.clone(), name.clone()));
                }
            }
        }
        for (r, keys) in prev.index.records.iter().zip(keys) {
            let meta = Meta {
                id: r.id.clone(),
                modified: r.modified.clone(),
                modified_at: r.modified.as_deref().and_then(|m| m.parse().ok()),
                withdrawn: r.withdrawn,
                keys,
            };
            builder.add(
                meta,
                Span::Old {
                    offset: r.offset,
                    len: r.len,
                },
            );
        }
        sources = prev.index.sources.clone();
    }

    let (mut added, mut replaced, mut kept_newer) = (0, 0, 0);
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
        read::visit(path, kind, |found| {
            let meta = match found.meta {
                Ok(meta) => meta,
                Err(why) => {
                    entry.skipped.push(format!("{}: {why}", found.name));
                    return Ok(());
                }
            };
            entry.records += 1;
            let bytes = found.bytes.trim_ascii();
            let outcome = builder.add_with(meta, || -> Result<Span> {
                out.write_all(bytes).map_err(write_err)?;
                out.write_all(b"\n").map_err(write_err)?;
                let span = Span::New {
                    offset: written,
                    len: bytes.len() as u64,
                };
                written += bytes.len() as u64 + 1;
                Ok(span)
            })?;
            match outcome {
                Added::New => added += 1,
                Added::Replaced => replaced += 1,
                Added::KeptExisting => kept_newer += 1,
            }
            Ok(())
        })?;
        warnings.extend(entry.skipped.iter().cloned());
        sources.retain(|s| s.path != entry.path);
        sources.push(entry.clone());
        imported.push(entry);
    }

    // The old records that survive, copied byte for byte.
    let entries = builder.into_entries();
    let mut records = Vec::with_capacity(entries.len());
    for (meta, span) in &entries {
        let (offset, len) = match *span {
            Span::New { offset, len } => (offset, len),
            Span::Old { offset, len } => {
                let prev = previous.as_ref().ok_or_else(|| {
                    Error::file(
                        &osv,
                        "the OSV cache changed during the import; run it again",
                    )
                })?;
                let bytes = read_span(&prev.data, offset, len)
                    .map_err(|e| damaged(&prev.dir.join(DATA), e, root))?;
                out.write_all(&bytes).map_err(write_err)?;
                out.write_all(b"\n").map_err(write_err)?;
                let at = written;
                written += len + 1;
                (at, len)
            }
        };
        records.push(RecordEntry {
            id: meta.id.clone(),
            modified: meta.modified.clone(),
            withdrawn: meta.withdrawn,
            offset,
            len,
        });
    }
    let file = out.into_inner().map_err(|e| write_err(e.into_error()))?;
    file.sync_all().map_err(write_err)?;
    drop(file);

    let packages = index::packages(entries.iter().map(|(m, _)| m.keys.as_slice()));
    let per_ecosystem = index::per_ecosystem(&packages);
    let index_file = IndexFile {
        format: FORMAT,
        imported_at: now.to_string(),
        sources,
        records,
        packages,
    };
    let index_path = tmp.path().join(INDEX);
    let json = serde_json::to_vec(&index_file)
        .map_err(|e| Error::file(&index_path, format!("cannot encode the OSV index: {e}")))?;
    fsutil::write_file(&index_path, &json)
        .map_err(|e| Error::file(&index_path, format!("cannot write the OSV index: {e}")))?;

    // The swap: from here on the new generation is live.
    let tmp_name = tmp
        .path()
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let gen_name = format!("gen-{}", tmp_name.trim_start_matches("tmp-"));
    let gen_dir = osv.join(&gen_name);
    std::fs::rename(tmp.path(), &gen_dir)
        .map_err(|e| Error::file(&gen_dir, format!("cannot write the OSV cache: {e}")))?;
    // Renamed: dropping the guard now removes nothing.
    drop(tmp);
    let pointer = osv.join(CURRENT);
    if let Err(e) = fsutil::write_file(&pointer, format!("{gen_name}\n").as_bytes()) {
        let _ = std::fs::remove_dir_all(&gen_dir);
        return Err(Error::file(
            &pointer,
            format!("cannot switch the OSV cache to the new import: {e}; the previous data is still in use"),
        ));
    }
    remove_stale(&osv, &gen_dir, previous.as_ref().map(|p| p.dir.as_path()));

    Ok(ImportSummary {
        cache: root.to_path_buf(),
        sources: imported,
        added,
        replaced,
        kept_newer,
        total: index_file.records.len(),
        per_ecosystem,
        warnings,
    })
}

/// Removes generations other than the live one and the one it replaced
/// (two imports ago, or completed by an import that then failed to swap),
/// and temporary directories of imports that died over a day ago. Best
/// effort: what cannot be removed costs disk space, nothing else.
fn remove_stale(osv: &Path, live: &Path, previous: Option<&Path>) {
    let Ok(entries) = std::fs::read_dir(osv) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let stale = if name.starts_with("gen-") {
            path != live && Some(path.as_path()) != previous
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
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}
