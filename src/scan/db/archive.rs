//! osv.dev's `all.zip`, read one entry at a time.
//!
//! The zip crate (which `sbom` uses for jars) parses the whole central
//! directory into memory when it opens an archive: about 600 bytes per
//! entry, 110 MiB for the 181,600 records of an npm `all.zip` of osv.dev's
//! size, before a single record is read. It also reads each entry with
//! several seeks and small reads, which cost an import of 300,000 records
//! two seconds in the kernel. An OSV archive needs much less: its entries
//! in order, each one's stored bytes, and the sizes and CRC-32 to check
//! them by. This reader walks the central directory as it goes (nothing is
//! kept per entry), reads through a window of the file with positioned
//! reads, and leaves the decoding — inflate, length and CRC-32 checks — to
//! [`decode`], which the import runs on every core.
//!
//! Archives are refused, never half-read, when they are not what osv.dev
//! publishes: split over several disks, encrypted, or compressed other than
//! stored or deflated. Zip64 archives (over 65,535 entries, as npm's is) are
//! read.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// How much of the file one read brings in when entries are read in order.
const WINDOW: usize = 1 << 20;
/// The end of central directory record, without its comment.
const EOCD: usize = 22;
const EOCD_SIG: u32 = 0x0605_4b50;
const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;
const ZIP64_LOCATOR: usize = 20;
const ZIP64_EOCD_SIG: u32 = 0x0606_4b50;
const ZIP64_EOCD: usize = 56;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const CENTRAL: usize = 46;
const LOCAL_SIG: u32 = 0x0403_4b50;
const LOCAL: usize = 30;

/// How an entry's bytes are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Stored,
    Deflated,
    /// Anything else (bzip2, zstd, …): named in the error when read.
    Other(u16),
}

/// One entry of the central directory: what it takes to find, read and
/// check its bytes.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub method: Method,
    pub encrypted: bool,
    pub crc: u32,
    pub compressed: u64,
    pub size: u64,
    /// Where its local header starts.
    header: u64,
}

impl Entry {
    pub fn is_dir(&self) -> bool {
        self.name.ends_with('/')
    }
}

/// An opened archive: where its central directory is, and how many entries
/// it says it holds.
pub struct Archive {
    file: File,
    central_start: u64,
    central_end: u64,
    count: u64,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    b.get(at..at + 2)
        .map_or(0, |s| u16::from_le_bytes([s[0], s[1]]))
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8).map_or(0, |s| {
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        u64::from_le_bytes(a)
    })
}

/// A part of the file held in memory; refilled from wherever a read lands
/// outside it.
struct Window {
    buf: Vec<u8>,
    start: u64,
    size: usize,
}

impl Window {
    fn new(size: usize) -> Window {
        Window {
            buf: Vec::new(),
            start: 0,
            size,
        }
    }

    /// `len` bytes at `offset`, which must lie within the first `limit`
    /// bytes of the file.
    fn get(&mut self, file: &File, limit: u64, offset: u64, len: usize) -> Result<&[u8], String> {
        let end = offset
            .checked_add(len as u64)
            .filter(|&end| end <= limit)
            .ok_or_else(|| {
                format!("{len} bytes at offset {offset} run past where they may lie ({limit})")
            })?;
        let held = self.start + self.buf.len() as u64;
        if offset < self.start || end > held {
            let want = (len.max(self.size) as u64).min(limit - offset) as usize;
            self.buf.resize(want, 0);
            file.read_exact_at(&mut self.buf, offset)
                .map_err(|e| format!("cannot read {want} bytes at offset {offset}: {e}"))?;
            self.start = offset;
        }
        let at = (offset - self.start) as usize;
        Ok(&self.buf[at..at + len])
    }
}

impl Archive {
    /// Opens `path` and finds its central directory. The error says why it
    /// is not an archive this reader takes.
    pub fn open(path: &Path) -> Result<Archive, String> {
        let file = File::open(path).map_err(|e| format!("cannot open it: {e}"))?;
        let len = file
            .metadata()
            .map_err(|e| format!("cannot read it: {e}"))?
            .len();
        // The record sits at the end, after a comment of at most 65,535 bytes.
        let tail_len = len.min((EOCD + u16::MAX as usize) as u64) as usize;
        let tail_start = len - tail_len as u64;
        let mut tail = vec![0u8; tail_len];
        file.read_exact_at(&mut tail, tail_start)
            .map_err(|e| format!("cannot read it: {e}"))?;
        let at = (0..tail_len.saturating_sub(EOCD - 1))
            .rev()
            .find(|&i| {
                u32_at(&tail, i) == EOCD_SIG
                    && i + EOCD + u16_at(&tail, i + 20) as usize <= tail_len
            })
            .ok_or("no end of central directory record")?;
        let eocd = &tail[at..at + EOCD];
        let eocd_offset = tail_start + at as u64;
        let (disk, cd_disk) = (u16_at(eocd, 4), u16_at(eocd, 6));
        let mut count = u16_at(eocd, 10) as u64;
        let mut cd_size = u32_at(eocd, 12) as u64;
        let mut cd_offset = u32_at(eocd, 16) as u64;
        let mut multi_disk = disk != 0 || cd_disk != 0 || u16_at(eocd, 8) != u16_at(eocd, 10);
        let mut central_end_limit = eocd_offset;
        // Zip64: a locator right before the record points at the real counts.
        if at >= ZIP64_LOCATOR && u32_at(&tail, at - ZIP64_LOCATOR) == ZIP64_LOCATOR_SIG {
            let locator = &tail[at - ZIP64_LOCATOR..at];
            let record_at = u64_at(locator, 8);
            multi_disk |= u32_at(locator, 4) != 0 || u32_at(locator, 16) > 1;
            let mut record = [0u8; ZIP64_EOCD];
            let fits = record_at
                .checked_add(ZIP64_EOCD as u64)
                .is_some_and(|end| end <= eocd_offset - ZIP64_LOCATOR as u64);
            if !fits {
                return Err(format!(
                    "its zip64 end of central directory record (offset {record_at}) lies outside the archive"
                ));
            }
            file.read_exact_at(&mut record, record_at)
                .map_err(|e| format!("cannot read it: {e}"))?;
            if u32_at(&record, 0) != ZIP64_EOCD_SIG {
                return Err(format!(
                    "no zip64 end of central directory record at offset {record_at}"
                ));
            }
            multi_disk |= u32_at(&record, 16) != 0
                || u32_at(&record, 20) != 0
                || u64_at(&record, 24) != u64_at(&record, 32);
            count = u64_at(&record, 32);
            cd_size = u64_at(&record, 40);
            cd_offset = u64_at(&record, 48);
            central_end_limit = record_at;
        }
        if multi_disk {
            return Err("it is split over several disks".into());
        }
        let central_end = cd_offset
            .checked_add(cd_size)
            .filter(|&end| end <= central_end_limit)
            .ok_or_else(|| {
                format!(
                    "its central directory ({cd_size} bytes at offset {cd_offset}) runs past its end records"
                )
            })?;
        // Each entry takes at least a fixed-size header.
        if count > cd_size / CENTRAL as u64 {
            return Err(format!(
                "it claims {count} entries in a central directory of {cd_size} bytes"
            ));
        }
        Ok(Archive {
            file,
            central_start: cd_offset,
            central_end,
            count,
        })
    }

    /// How many entries the archive says it holds.
    pub fn len(&self) -> u64 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The central directory's entries, in order, read as they are asked for.
    pub fn entries(&self) -> Entries<'_> {
        Entries {
            archive: self,
            window: Window::new(WINDOW),
            at: self.central_start,
            left: self.count,
        }
    }

    /// A reader of entries' stored bytes; `sequential` reads ahead (for
    /// entries taken in archive order), otherwise only what is asked is read.
    pub fn reader(&self, sequential: bool) -> Reader<'_> {
        Reader {
            archive: self,
            window: Window::new(if sequential { WINDOW } else { 0 }),
        }
    }
}

/// The central directory, entry by entry.
pub struct Entries<'a> {
    archive: &'a Archive,
    window: Window,
    at: u64,
    left: u64,
}

impl Iterator for Entries<'_> {
    type Item = Result<Entry, String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let entry = self.read();
        if entry.is_err() {
            // One damaged entry makes every later offset meaningless.
            self.left = 0;
        }
        Some(entry)
    }
}

impl Entries<'_> {
    fn read(&mut self) -> Result<Entry, String> {
        let (file, limit, at) = (&self.archive.file, self.archive.central_end, self.at);
        let head = self.window.get(file, limit, at, CENTRAL)?;
        if u32_at(head, 0) != CENTRAL_SIG {
            return Err(format!("no central directory entry at offset {at}"));
        }
        let flags = u16_at(head, 8);
        let method = match u16_at(head, 10) {
            0 => Method::Stored,
            8 => Method::Deflated,
            other => Method::Other(other),
        };
        let crc = u32_at(head, 16);
        let mut compressed = u32_at(head, 20) as u64;
        let mut size = u32_at(head, 24) as u64;
        let (name_len, extra_len, comment_len) = (
            u16_at(head, 28) as usize,
            u16_at(head, 30) as usize,
            u16_at(head, 32) as usize,
        );
        let disk = u16_at(head, 34);
        let mut header = u32_at(head, 42) as u64;
        let rest = self
            .window
            .get(file, limit, at + CENTRAL as u64, name_len + extra_len)?;
        let name = String::from_utf8_lossy(&rest[..name_len]).into_owned();
        // Zip64: the fields that overflowed 32 bits, in this order, in extra field 1.
        let mut extra = &rest[name_len..];
        while extra.len() >= 4 {
            let (id, len) = (u16_at(extra, 0), u16_at(extra, 2) as usize);
            let body = extra.get(4..4 + len).unwrap_or(&[]);
            if id == 1 {
                let mut fields = body.chunks_exact(8).map(|c| u64_at(c, 0));
                let mut wide = |v: &mut u64| -> Result<(), String> {
                    if *v == u32::MAX as u64 {
                        *v = fields
                            .next()
                            .ok_or_else(|| format!("entry {name}: its zip64 sizes are missing"))?;
                    }
                    Ok(())
                };
                wide(&mut size)?;
                wide(&mut compressed)?;
                wide(&mut header)?;
            }
            extra = extra.get(4 + len..).unwrap_or(&[]);
        }
        if disk != 0 && disk != u16::MAX {
            return Err(format!("entry {name} lies on another disk"));
        }
        self.at = at + (CENTRAL + name_len + extra_len + comment_len) as u64;
        if self.left == 0 && self.at != self.archive.central_end {
            return Err(format!(
                "its central directory holds more than the {} entries its end record counts",
                self.archive.count
            ));
        }
        Ok(Entry {
            name,
            method,
            encrypted: flags & 1 != 0,
            crc,
            compressed,
            size,
            header,
        })
    }
}

/// Reads entries' stored bytes.
pub struct Reader<'a> {
    archive: &'a Archive,
    window: Window,
}

impl Reader<'_> {
    /// The entry's bytes as stored (deflated or not), checked only for
    /// where they lie; [`decode`] checks what they hold.
    pub fn stored(&mut self, entry: &Entry) -> Result<Vec<u8>, String> {
        let (file, limit) = (&self.archive.file, self.archive.central_start);
        let name = &entry.name;
        let head = self
            .window
            .get(file, limit, entry.header, LOCAL)
            .map_err(|e| format!("entry {name}: {e}"))?;
        if u32_at(head, 0) != LOCAL_SIG {
            return Err(format!(
                "entry {name}: no local header at offset {}",
                entry.header
            ));
        }
        let data =
            entry.header + (LOCAL + u16_at(head, 26) as usize + u16_at(head, 28) as usize) as u64;
        let len = usize::try_from(entry.compressed)
            .map_err(|_| format!("entry {name}: {} bytes", entry.compressed))?;
        let bytes = self
            .window
            .get(file, limit, data, len)
            .map_err(|e| format!("entry {name}: {e}"))?;
        Ok(bytes.to_vec())
    }
}

/// An entry's content from its stored bytes: inflated where deflated, and
/// checked against the length and CRC-32 the archive declares. Any
/// mismatch means a damaged archive.
pub fn decode(entry: &Entry, stored: &[u8]) -> Result<Vec<u8>, String> {
    let name = &entry.name;
    if entry.encrypted {
        return Err(format!("entry {name} is encrypted"));
    }
    let size = usize::try_from(entry.size).map_err(|_| format!("entry {name}: too large"))?;
    let data = match entry.method {
        Method::Stored => stored.to_vec(),
        Method::Deflated => {
            super::shard::inflate(stored, size).map_err(|why| format!("entry {name}: {why}"))?
        }
        Method::Other(m) => {
            return Err(format!(
                "entry {name} is compressed with method {m}; osv.dev's archives are deflated"
            ))
        }
    };
    if data.len() != size {
        return Err(format!(
            "entry {name} holds {} bytes, not the {size} it declares",
            data.len()
        ));
    }
    let mut sum = flate2::Crc::new();
    sum.update(&data);
    if sum.sum() != entry.crc {
        return Err(format!("entry {name} fails its CRC-32 check"));
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A zip written by the zip crate (the writer the jar tests use), with
    /// one stored and one deflated entry and a directory.
    fn zip_with(entries: &[(&str, &[u8], bool)], zip64: bool) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().expect("temp file");
        let mut w = zip::ZipWriter::new(file.reopen().expect("reopen"));
        w.add_directory("dir/", zip::write::SimpleFileOptions::default())
            .expect("dir");
        for (name, body, deflate) in entries {
            let opts = zip::write::SimpleFileOptions::default()
                .compression_method(if *deflate {
                    zip::CompressionMethod::Deflated
                } else {
                    zip::CompressionMethod::Stored
                })
                .large_file(zip64);
            w.start_file(*name, opts).expect("start");
            w.write_all(body).expect("write");
        }
        w.finish().expect("finish");
        file
    }

    fn read_all(path: &Path) -> Result<Vec<(String, Vec<u8>)>, String> {
        let archive = Archive::open(path)?;
        let mut reader = archive.reader(true);
        let mut out = Vec::new();
        for entry in archive.entries() {
            let entry = entry?;
            if entry.is_dir() {
                continue;
            }
            let stored = reader.stored(&entry)?;
            out.push((entry.name.clone(), decode(&entry, &stored)?));
        }
        Ok(out)
    }

    #[test]
    fn reads_stored_and_deflated_entries_in_order() {
        let big = b"{\"id\":\"X\"}".repeat(5000);
        for zip64 in [false, true] {
            let file = zip_with(&[("a.json", b"{}", false), ("b/c.json", &big, true)], zip64);
            let got = read_all(file.path()).expect("read");
            assert_eq!(got.len(), 2);
            assert_eq!(got[0], ("a.json".to_string(), b"{}".to_vec()));
            assert_eq!(got[1].0, "b/c.json");
            assert_eq!(got[1].1, big);
        }
    }

    #[test]
    fn an_archive_with_a_comment_and_many_entries_opens() {
        // Python's zipfile writes osv.dev's archives; it switches to zip64
        // past 65,535 entries. The zip crate does too.
        let file = tempfile::NamedTempFile::new().expect("temp file");
        let mut w = zip::ZipWriter::new(file.reopen().expect("reopen"));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        for i in 0..70_000 {
            w.start_file(format!("{i}.json"), opts).expect("start");
            w.write_all(b"1").expect("write");
        }
        w.set_comment("osv");
        w.finish().expect("finish");
        let archive = Archive::open(file.path()).expect("open");
        assert_eq!(archive.len(), 70_000);
        let mut reader = archive.reader(true);
        let mut n = 0;
        for entry in archive.entries() {
            let entry = entry.expect("entry");
            let stored = reader.stored(&entry).expect("stored");
            assert_eq!(decode(&entry, &stored).expect("decode"), b"1");
            n += 1;
        }
        assert_eq!(n, 70_000);
    }

    #[test]
    fn damage_is_an_error_not_a_panic() {
        let body = b"{\"id\":\"GHSA-1\",\"details\":\"some text that deflates\"}".repeat(50);
        let file = zip_with(&[("r.json", &body, true)], false);
        let good = std::fs::read(file.path()).expect("read");
        // Every single-byte change and every truncation either reads back
        // the record exactly or fails with a reason.
        let damaged = tempfile::NamedTempFile::new().expect("temp");
        for at in 0..good.len() {
            for bytes in [
                {
                    let mut b = good.clone();
                    b[at] ^= 0x5a;
                    b
                },
                good[..at].to_vec(),
            ] {
                std::fs::write(damaged.path(), &bytes).expect("write");
                if let Ok(got) = read_all(damaged.path()) {
                    // A name may change (nothing checks it; the directory
                    // may become an empty file); a record's content may not.
                    assert!(
                        got.iter()
                            .filter(|(name, _)| name.ends_with(".json"))
                            .all(|(_, content)| *content == body),
                        "byte {at}: read back other content"
                    );
                }
            }
        }
        assert_eq!(
            Archive::open(Path::new("/nonexistent/all.zip"))
                .err()
                .map(|e| e.starts_with("cannot open")),
            Some(true)
        );
        std::fs::write(damaged.path(), b"not a zip at all").expect("write");
        assert_eq!(
            Archive::open(damaged.path()).err().as_deref(),
            Some("no end of central directory record")
        );
    }

    #[test]
    fn other_compression_and_encryption_are_named() {
        let mut entry = Entry {
            name: "x.json".into(),
            method: Method::Other(12),
            encrypted: false,
            crc: 0,
            compressed: 0,
            size: 0,
            header: 0,
        };
        assert!(decode(&entry, &[]).unwrap_err().contains("method 12"));
        entry.encrypted = true;
        assert!(decode(&entry, &[]).unwrap_err().contains("encrypted"));
    }
}
