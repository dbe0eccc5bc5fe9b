//! Reading one layer blob as it streams: hash the compressed bytes,
//! decompress (gzip through zlib-rs, zstd, or none), walk the tar, hand the
//! files a collector wants to it, and record every other entry by path only.
//! Nothing is written to disk and nothing but wanted files is kept.
//!
//! Bounds: decompressed bytes are counted against the per-image budget
//! (tar headers and skipped data included); a wanted file larger than the
//! per-file limit is skipped with a note; a tar extension header (PAX, GNU
//! long name) larger than [`EXT_MAX`] is refused, since the tar crate
//! reads those into memory.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::io::{self, Read};

use sha2::{Digest as _, Sha256};

use super::collect::{Collector, Contents, FileMeta, ReadError};
use super::paths;
use super::squash::{Entry, Kind, Limits, Note, Pending};
use crate::Error;

/// Largest zstd window accepted (log2 bytes).
const ZSTD_WINDOW_LOG_MAX: u32 = 25;

/// Notes kept per layer; more are only counted.
const MAX_LAYER_NOTES: usize = 100;

/// The most a tar may spend on headers between two entries.
pub const EXT_MAX: u64 = 1 << 20;

/// How a layer blob is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// The compression a layer media type names; `None` for a media type
    /// that is not a tar layer (an encrypted layer, an artifact's blob).
    pub fn from_media_type(media_type: &str) -> Option<Compression> {
        match media_type {
            "application/vnd.oci.image.layer.v1.tar"
            | "application/vnd.oci.image.layer.nondistributable.v1.tar"
            | "application/vnd.docker.image.rootfs.diff.tar" => Some(Compression::None),
            "application/vnd.oci.image.layer.v1.tar+gzip"
            | "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
            | "application/vnd.docker.image.rootfs.diff.tar.gzip"
            | "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" => {
                Some(Compression::Gzip)
            }
            "application/vnd.oci.image.layer.v1.tar+zstd"
            | "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
            | "application/vnd.docker.image.rootfs.diff.tar.zstd" => Some(Compression::Zstd),
            _ => None,
        }
    }
}

impl std::fmt::Display for Compression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Compression::None => "tar",
            Compression::Gzip => "gzip'd tar",
            Compression::Zstd => "zstd tar",
        })
    }
}

/// One layer blob to read.
#[derive(Debug)]
pub struct LayerBlob<R> {
    pub reader: R,
    pub compression: Compression,
    /// The `sha256:…` the bytes must hash to (from the manifest).
    pub digest: Option<String>,
    /// The size the blob must have (from the manifest).
    pub size: Option<u64>,
    /// Names the layer in errors; `layer N` when empty.
    pub name: String,
}

impl<R> LayerBlob<R> {
    pub fn new(reader: R, compression: Compression) -> LayerBlob<R> {
        LayerBlob {
            reader,
            compression,
            digest: None,
            size: None,
            name: String::new(),
        }
    }

    /// The digest and size the manifest gives for the blob.
    pub fn expecting(mut self, digest: &str, size: u64) -> LayerBlob<R> {
        self.digest = Some(digest.to_string());
        self.size = Some(size);
        self
    }

    pub fn named(mut self, name: impl Into<String>) -> LayerBlob<R> {
        self.name = name.into();
        self
    }
}

/// The raw (compressed) blob: hashed and counted as it is read, refusing
/// to read past the size the manifest gave.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
    max: u64,
    overlong: bool,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.overlong {
            return Err(io::Error::other(
                "the blob is longer than its descriptor says",
            ));
        }
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        if self.count > self.max {
            self.overlong = true;
            return Err(io::Error::other(
                "the blob is longer than its descriptor says",
            ));
        }
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trip {
    /// The per-image budget ran out.
    Image,
    /// Too many bytes between two tar entries: a huge extension header.
    Header,
}

/// Counts the decompressed stream. Shared by reference between the reader
/// the tar crate owns and the code that reads the tar, which moves the
/// header window on as entries go by.
struct Meter {
    count: Cell<u64>,
    budget: u64,
    window_end: Cell<u64>,
    tripped: Cell<Option<Trip>>,
}

struct Metered<'m, R> {
    inner: R,
    meter: &'m Meter,
}

impl<R: Read> Read for Metered<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let m = self.meter;
        if let Some(trip) = m.tripped.get() {
            return Err(io::Error::other(format!("stopped: {trip:?} bound")));
        }
        let n = self.inner.read(buf)?;
        let count = m.count.get() + n as u64;
        m.count.set(count);
        if count > m.budget {
            m.tripped.set(Some(Trip::Image));
            return Err(io::Error::other("the per-image decompression bound"));
        }
        if count > m.window_end.get() {
            m.tripped.set(Some(Trip::Header));
            return Err(io::Error::other("the tar header bound"));
        }
        Ok(n)
    }
}

/// Reads one layer into a [`Pending`] set, checking its digest. `view` is
/// the squashed view of the layers below (for hard links to them);
/// `budget` is what is left of the per-image bound.
pub(super) fn read<R: Read, C: Collector>(
    blob: LayerBlob<R>,
    index: usize,
    view: &BTreeMap<String, Entry<C::Item>>,
    collector: &C,
    limits: &Limits,
    budget: u64,
) -> Result<Pending<C::Item>, Error> {
    let name = if blob.name.is_empty() {
        format!("layer {index}")
    } else {
        blob.name
    };
    let fail = |why: String| Error::Image {
        what: name.clone(),
        why,
    };
    let mut raw = Hashing {
        inner: blob.reader,
        hasher: Sha256::new(),
        count: 0,
        max: blob.size.unwrap_or(u64::MAX),
        overlong: false,
    };
    let meter = Meter {
        count: Cell::new(0),
        budget,
        window_end: Cell::new(EXT_MAX),
        tripped: Cell::new(None),
    };
    let outcome = {
        let ctx = Ctx {
            compression: blob.compression,
            meter: &meter,
            layer: index,
            view,
            collector,
            limits,
        };
        match blob.compression {
            Compression::None => ctx.tar(&mut raw),
            Compression::Gzip => ctx.tar(flate2::read::MultiGzDecoder::new(&mut raw)),
            // The window is memory the decoder holds: 2^25 (32 MiB) is far
            // above what image builders use (zstd level 3: 2^21) and keeps
            // a hostile layer from taking the library's default 128 MiB.
            Compression::Zstd => match zstd::stream::read::Decoder::new(&mut raw)
                .and_then(|mut d| d.window_log_max(ZSTD_WINDOW_LOG_MAX).map(|()| d))
            {
                Ok(decoder) => ctx.tar(decoder),
                Err(e) => Err(format!("cannot start the zstd decoder: {e}")),
            },
        }
    };

    // Read the blob to its end whatever happened, so that its digest is
    // known: a blob that is not what the manifest names explains any other
    // failure (truncated, corrupt), and nothing read from it is kept.
    let drained = io::copy(&mut raw, &mut io::sink());
    if raw.overlong {
        return Err(fail(format!(
            "the blob is longer than the {} bytes the manifest gives for it: the registry or \
             layout serves something else under this digest; nothing of it was used",
            raw.max
        )));
    }
    if let Err(e) = drained {
        return Err(fail(format!(
            "reading the blob failed after {} bytes: {e}",
            raw.count
        )));
    }
    let got = format!("sha256:{}", hex::encode(raw.hasher.finalize()));
    if let Some(want) = &blob.digest {
        if &got != want {
            return Err(fail(format!(
                "its bytes hash to {got}, not {want} as the manifest says ({} bytes read): the \
                 blob is corrupt, truncated or was tampered with; nothing of it was used. Push \
                 the image again, or check the registry's storage",
                raw.count
            )));
        }
    }
    if let Some(size) = blob.size {
        if raw.count != size {
            return Err(fail(format!(
                "the blob is {} bytes, the manifest says {size}; nothing of it was used",
                raw.count
            )));
        }
    }
    match (outcome, meter.tripped.get()) {
        (_, Some(Trip::Image)) => Err(fail(format!(
            "it decompresses to more than the {} left of the per-image limit of {}: a \
             decompression bomb? If the image really is this large, raise the limit",
            human(budget),
            human(limits.per_image)
        ))),
        (_, Some(Trip::Header)) => Err(fail(format!(
            "a tar extension header (PAX or GNU long name) is larger than {}; this is not a \
             layer wharf reads",
            human(EXT_MAX)
        ))),
        (Err(why), None) => Err(fail(why)),
        (Ok(mut pending), None) => {
            pending.bytes = meter.count.get();
            Ok(pending)
        }
    }
}

/// `12.0 MiB`.
pub(super) fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

struct Ctx<'a, C: Collector> {
    compression: Compression,
    meter: &'a Meter,
    layer: usize,
    view: &'a BTreeMap<String, Entry<C::Item>>,
    collector: &'a C,
    limits: &'a Limits,
}

/// Tar entries' data occupies whole 512-byte blocks.
fn padded(size: u64) -> u64 {
    size.div_ceil(512).saturating_mul(512)
}

impl<C: Collector> Ctx<'_, C> {
    fn tar<R: Read>(&self, decoded: R) -> Result<Pending<C::Item>, String> {
        let mut stream = Metered {
            inner: decoded,
            meter: self.meter,
        };
        let mut pending = Pending::default();
        {
            let mut archive = tar::Archive::new(&mut stream);
            let entries = archive.entries().map_err(|e| self.broken(&e))?;
            for entry in entries {
                let mut entry = entry.map_err(|e| self.broken(&e))?;
                let header = entry.header();
                let stored = if header.entry_type().is_gnu_sparse() {
                    header.entry_size().unwrap_or(0)
                } else {
                    entry.size()
                };
                let end_of_last = entry.raw_file_position().saturating_add(padded(stored));
                // Between this entry's data and the next entry: only headers.
                self.meter
                    .window_end
                    .set(end_of_last.saturating_add(EXT_MAX));
                self.entry(&mut entry, &mut pending)?;
            }
        }
        // A tar that ends right after an entry, without the two zero blocks,
        // is accepted as Docker, containerd and Go's archive/tar accept it:
        // umoci writes such layers. A layer cut inside an entry still fails
        // (the entry's data comes up short), and the blob digest covers the rest.
        // The rest (tar padding, the gzip trailer and its CRC) is read too.
        self.meter.window_end.set(u64::MAX);
        io::copy(&mut stream, &mut io::sink()).map_err(|e| self.broken(&e))?;
        Ok(pending)
    }

    /// A tar or decompression error, as the reason a layer could not be read.
    fn broken(&self, e: &io::Error) -> String {
        format!(
            "it is not a readable {} ({e}): the layer is truncated or corrupt",
            self.compression
        )
    }

    fn note(&self, pending: &mut Pending<C::Item>, path: &str, message: String) {
        if pending.notes.len() < MAX_LAYER_NOTES {
            pending.notes.push(Note {
                layer: self.layer,
                path: path.to_string(),
                message,
            });
        } else {
            pending.dropped_notes += 1;
        }
    }

    fn entry<R: Read>(
        &self,
        entry: &mut tar::Entry<'_, R>,
        pending: &mut Pending<C::Item>,
    ) -> Result<(), String> {
        let raw_path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let (path, climbed) = paths::normalise_entry(&raw_path);
        if climbed {
            self.note(
                pending,
                &path,
                format!("the tar path {raw_path:?} climbs above the root; read as {path}"),
            );
        }
        if path == "/" {
            return Ok(());
        }
        let (parent, base) = paths::split_parent(&path);
        if let Some(name) = base.strip_prefix(".wh.") {
            if name == ".wh..opq" {
                pending.opaque.push(parent.to_string());
            } else if name.starts_with(".wh.") {
                // aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs): not files.
            } else {
                pending.whiteouts.push(paths::child(parent, name));
            }
            return Ok(());
        }

        let header = entry.header();
        let mode = header.mode().unwrap_or(0) & 0o7777;
        let kind = header.entry_type();
        use tar::EntryType as T;
        let recorded = match kind {
            T::Regular | T::Continuous | T::GNUSparse => self.file(entry, &path, mode, pending)?,
            T::Directory => Entry {
                layer: self.layer,
                kind: Kind::Dir,
                mode,
                size: 0,
                item: None,
            },
            T::Symlink => match entry.link_name_bytes() {
                Some(target) => Entry {
                    layer: self.layer,
                    kind: Kind::Symlink(String::from_utf8_lossy(&target).into_owned()),
                    mode,
                    size: 0,
                    item: None,
                },
                None => {
                    self.note(pending, &path, "a symlink without a target".into());
                    self.other(mode)
                }
            },
            T::Link => self.hard_link(entry, &path, pending)?,
            T::XGlobalHeader | T::XHeader | T::GNULongName | T::GNULongLink => return Ok(()),
            _ => self.other(mode),
        };
        pending.entries.insert(path, recorded);
        Ok(())
    }

    fn other(&self, mode: u32) -> Entry<C::Item> {
        Entry {
            layer: self.layer,
            kind: Kind::Other,
            mode,
            size: 0,
            item: None,
        }
    }

    fn file<R: Read>(
        &self,
        entry: &mut tar::Entry<'_, R>,
        path: &str,
        mode: u32,
        pending: &mut Pending<C::Item>,
    ) -> Result<Entry<C::Item>, String> {
        let size = entry.size();
        let meta = FileMeta {
            path,
            size,
            mode,
            layer: self.layer,
        };
        let mut item = None;
        if self.collector.wants(&meta) {
            if size > self.limits.per_file {
                self.note(
                    pending,
                    path,
                    format!(
                        "not read: {} is over the per-file limit of {}",
                        human(size),
                        human(self.limits.per_file)
                    ),
                );
            } else {
                match Contents::read_from(entry, size) {
                    Ok(mut contents) => item = self.collector.collect(&meta, &mut contents),
                    Err(e @ ReadError::Short { .. }) => {
                        return Err(format!("{path} {e}: the layer is truncated"));
                    }
                    Err(ReadError::Source(e)) => return Err(self.broken(&e)),
                    // No room for the temporary file: this file is not
                    // read, the rest of the image is.
                    Err(e @ ReadError::Spill(_)) => {
                        self.note(pending, path, format!("not read: {e}"));
                    }
                }
            }
        }
        Ok(Entry {
            layer: self.layer,
            kind: Kind::File,
            mode,
            size,
            item,
        })
    }

    /// A hard link names an earlier entry: in this layer, else in the
    /// layers below. It gets that entry's kind, size, mode and item.
    fn hard_link<R: Read>(
        &self,
        entry: &mut tar::Entry<'_, R>,
        path: &str,
        pending: &mut Pending<C::Item>,
    ) -> Result<Entry<C::Item>, String> {
        let mode = entry.header().mode().unwrap_or(0) & 0o7777;
        let Some(raw_target) = entry.link_name_bytes() else {
            self.note(pending, path, "a hard link without a target".into());
            return Ok(self.other(mode));
        };
        let raw_target = String::from_utf8_lossy(&raw_target).into_owned();
        let (target, _) = paths::normalise_entry(&raw_target);
        let found = pending
            .entries
            .get(&target)
            .or_else(|| self.view.get(&target))
            .cloned();
        let Some(found) = found else {
            self.note(
                pending,
                path,
                format!("a hard link to {target}, which no earlier entry of the image has"),
            );
            return Ok(self.other(mode));
        };
        match found.kind {
            Kind::File => {
                let meta = FileMeta {
                    path,
                    size: found.size,
                    mode: found.mode,
                    layer: self.layer,
                };
                let item = if self.collector.wants(&meta) {
                    // The target was read as what it is (the same bytes): if
                    // the catalogers wanted it too, they found nothing in it
                    // and the link holds nothing either. Only a target they
                    // passed over leaves the link unread.
                    let target_meta = FileMeta {
                        path: &target,
                        size: found.size,
                        mode: found.mode,
                        layer: found.layer,
                    };
                    if found.item.is_none() && !self.collector.wants(&target_meta) {
                        self.note(
                            pending,
                            path,
                            format!(
                                "a hard link to {target}, whose contents were not kept when it \
                                 was read"
                            ),
                        );
                    }
                    found.item
                } else {
                    None
                };
                Ok(Entry {
                    layer: self.layer,
                    kind: Kind::File,
                    mode: found.mode,
                    size: found.size,
                    item,
                })
            }
            Kind::Dir => {
                self.note(
                    pending,
                    path,
                    format!("a hard link to the directory {target}; ignored"),
                );
                Ok(self.other(mode))
            }
            kind => Ok(Entry {
                layer: self.layer,
                kind,
                mode: found.mode,
                size: 0,
                item: None,
            }),
        }
    }
}
