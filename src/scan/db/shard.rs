//! One shard of the cache: the records of one ecosystem base (`npm`,
//! `Debian`, `PyPI`, …), as two files written once and never changed:
//!
//! * `NAME.dat`: each record's JSON, compressed on its own, one after another:
//!   raw deflate exactly as it was in osv.dev's `all.zip` (copied, not
//!   re-encoded), zstd for records read from plain JSON, or stored;
//! * `NAME.idx`: a binary index, little-endian throughout:
//!
//! ```text
//! name blocks   sorted keys "ECOSYSTEM\0NAME" (name normalised), in blocks of
//!               about 4 KiB: per key u16 length, the key, u32 count, count × u32
//!               record numbers
//! records       one 40-byte entry per record, sorted by id: u64 data offset,
//!               u32 stored length, u32 JSON length, u32 id offset, u16 id length,
//!               u8 codec, u8 withdrawn, i64 modified seconds (i64::MIN: none),
//!               i32 nanoseconds, 4 bytes zero
//! ids           the ids' UTF-8, one after another
//! directory     per block: u64 offset, u32 length, u16 first key length, first key
//! footer        64 bytes: magic, version, counts and section offsets
//! ```
//!
//! A scan opens a shard with two positioned reads (footer, directory: a few
//! KiB even for npm's 180,000 records), then a lookup is one read of a name
//! block and, per record, one of its entry and one of its bytes. Nothing is
//! parsed that the scan does not ask for. An import reads the records and ids
//! sections of every shard to find a record id wherever it is (binary search:
//! the entries are sorted by id), and a whole shard only when it rewrites it.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

use jiff::Timestamp;

use super::read::MAX_RECORD_BYTES;

const MAGIC: &[u8; 8] = b"WHARFOSV";
const VERSION: u32 = 2;
const FOOTER: usize = 64;
const ENTRY: usize = 40;
const BLOCK: usize = 4096;
/// Reads of an index section are bounded: no real shard comes near this.
const MAX_SECTION: u64 = 1 << 31;

/// How a record's bytes are stored in the data file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Stored = 0,
    /// Raw deflate (no zlib header), as in a zip entry.
    Deflate = 1,
    Zstd = 2,
}

impl Codec {
    fn from_u8(b: u8) -> Option<Codec> {
        match b {
            0 => Some(Codec::Stored),
            1 => Some(Codec::Deflate),
            2 => Some(Codec::Zstd),
            _ => None,
        }
    }
}

/// A record's bytes as stored: compressed, with what it takes to decode them.
#[derive(Debug, Clone)]
pub struct Blob {
    pub codec: Codec,
    /// The JSON's length once decoded.
    pub raw_len: u32,
    pub bytes: Vec<u8>,
}

impl Blob {
    /// A record read as plain JSON, compressed for the cache.
    pub fn compress(json: &[u8]) -> Blob {
        match zstd::bulk::compress(json, 3) {
            Ok(bytes) if bytes.len() < json.len() => Blob {
                codec: Codec::Zstd,
                raw_len: json.len() as u32,
                bytes,
            },
            _ => Blob {
                codec: Codec::Stored,
                raw_len: json.len() as u32,
                bytes: json.to_vec(),
            },
        }
    }
}

/// Decodes stored bytes into the record's JSON; `raw_len` bounds the output.
pub fn decode(codec: Codec, raw_len: u32, bytes: &[u8]) -> Result<Vec<u8>, String> {
    let expect = raw_len as usize;
    if raw_len as u64 > MAX_RECORD_BYTES {
        return Err(format!(
            "a record of {raw_len} bytes is larger than any OSV record"
        ));
    }
    let out = match codec {
        Codec::Stored => bytes.to_vec(),
        Codec::Zstd => zstd::bulk::decompress(bytes, expect).map_err(|e| format!("zstd: {e}"))?,
        Codec::Deflate => inflate(bytes, expect)?,
    };
    if out.len() != expect {
        return Err(format!(
            "decodes to {} bytes, not the {expect} recorded",
            out.len()
        ));
    }
    Ok(out)
}

/// Inflates raw deflate that declares `expect` bytes: the result is
/// longer when the stream holds more (up to one byte more is read), shorter
/// when it holds less; the caller compares. One decompressor per thread.
pub fn inflate(bytes: &[u8], expect: usize) -> Result<Vec<u8>, String> {
    use libdeflater::{DecompressionError, Decompressor};
    thread_local! {
        static INFLATER: std::cell::RefCell<Decompressor> = std::cell::RefCell::new(Decompressor::new());
    }
    INFLATER.with(|cell| {
        let mut out = vec![0u8; expect + 1];
        match cell.borrow_mut().deflate_decompress(bytes, &mut out) {
            Ok(n) => {
                out.truncate(n);
                Ok(out)
            }
            // More than declared: the caller sees one byte too many.
            Err(DecompressionError::InsufficientSpace) => Ok(out),
            Err(DecompressionError::BadData) => {
                Err("inflate: the deflate stream is damaged or ends early".to_string())
            }
        }
    })
}

/// One record's entry in an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub offset: u64,
    pub len: u32,
    pub raw_len: u32,
    pub codec: Codec,
    pub withdrawn: bool,
    pub modified: Option<Timestamp>,
}

fn modified_parts(m: Option<Timestamp>) -> (i64, i32) {
    match m {
        Some(t) => (t.as_second(), t.subsec_nanosecond()),
        None => (i64::MIN, 0),
    }
}

fn modified_from(secs: i64, nanos: i32) -> Option<Timestamp> {
    if secs == i64::MIN {
        None
    } else {
        Timestamp::new(secs, nanos).ok()
    }
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Decodes a 40-byte entry; also returns the id's (offset, length).
fn parse_entry(b: &[u8]) -> Option<(Entry, u32, u16)> {
    let entry = Entry {
        offset: u64_at(b, 0)?,
        len: u32_at(b, 8)?,
        raw_len: u32_at(b, 12)?,
        codec: Codec::from_u8(*b.get(22)?)?,
        withdrawn: *b.get(23)? != 0,
        modified: modified_from(
            i64::from_le_bytes(b.get(24..32)?.try_into().ok()?),
            i32::from_le_bytes(b.get(32..36)?.try_into().ok()?),
        ),
    };
    Some((entry, u32_at(b, 16)?, u16_at(b, 20)?))
}

/// A record to write into a new shard.
pub struct Record<'a> {
    pub id: &'a str,
    pub entry: Entry,
    /// Its keys in this shard ("ECOSYSTEM\0NAME"), packed by [`pack_key`].
    pub keys: &'a [u8],
}

/// Appends `key` to a packed list of keys: its length (u16, little-endian),
/// then its bytes. A record's keys live packed in one buffer per shard
/// rather than one allocation each: an import holds every record's keys
/// until its indexes are written. A key of 64 KiB or more is no package
/// name and is left out.
pub fn pack_key(out: &mut Vec<u8>, key: &[u8]) {
    if let Ok(len) = u16::try_from(key.len()) {
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(key);
    }
}

/// The keys of a packed list, in the order they were packed.
pub fn packed_keys(mut packed: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        let len = u16_at(packed, 0)? as usize;
        let key = packed.get(2..2 + len)?;
        packed = packed.get(2 + len..)?;
        Some(key)
    })
}

/// Writes a shard's index for records already in its data file.
pub fn write_index(path: &Path, mut records: Vec<Record<'_>>) -> std::io::Result<()> {
    // Ids are unique in a shard: an unstable sort orders them the same.
    records.sort_unstable_by(|a, b| a.id.cmp(b.id));
    // (key, record number), sorted: each key's numbers in record order.
    let mut pairs: Vec<(&[u8], u32)> = Vec::new();
    for (n, r) in records.iter().enumerate() {
        pairs.extend(packed_keys(r.keys).map(|k| (k, n as u32)));
    }
    pairs.sort_unstable();
    pairs.dedup();
    let mut out = BufWriter::with_capacity(256 * 1024, File::create(path)?);
    let mut at = 0u64;
    let mut directory: Vec<u8> = Vec::new();
    let mut n_blocks = 0u32;
    let mut block: Vec<u8> = Vec::with_capacity(2 * BLOCK);
    let mut first: &[u8] = &[];
    let mut flush = |block: &mut Vec<u8>,
                     first: &[u8],
                     out: &mut BufWriter<File>,
                     at: &mut u64|
     -> std::io::Result<()> {
        if block.is_empty() {
            return Ok(());
        }
        out.write_all(block)?;
        directory.extend_from_slice(&at.to_le_bytes());
        directory.extend_from_slice(&(block.len() as u32).to_le_bytes());
        directory.extend_from_slice(&(first.len() as u16).to_le_bytes());
        directory.extend_from_slice(first);
        *at += block.len() as u64;
        n_blocks += 1;
        block.clear();
        Ok(())
    };
    for numbers in pairs.chunk_by(|a, b| a.0 == b.0) {
        let key = numbers[0].0;
        if block.is_empty() {
            first = key;
        }
        block.extend_from_slice(&(key.len() as u16).to_le_bytes());
        block.extend_from_slice(key);
        block.extend_from_slice(&(numbers.len() as u32).to_le_bytes());
        for (_, n) in numbers {
            block.extend_from_slice(&n.to_le_bytes());
        }
        if block.len() >= BLOCK {
            flush(&mut block, first, &mut out, &mut at)?;
        }
    }
    flush(&mut block, first, &mut out, &mut at)?;

    let records_off = at;
    let mut ids_len = 0u64;
    for r in &records {
        let (secs, nanos) = modified_parts(r.entry.modified);
        let mut e = [0u8; ENTRY];
        e[0..8].copy_from_slice(&r.entry.offset.to_le_bytes());
        e[8..12].copy_from_slice(&r.entry.len.to_le_bytes());
        e[12..16].copy_from_slice(&r.entry.raw_len.to_le_bytes());
        e[16..20].copy_from_slice(&(ids_len as u32).to_le_bytes());
        e[20..22].copy_from_slice(&(r.id.len().min(u16::MAX as usize) as u16).to_le_bytes());
        e[22] = r.entry.codec as u8;
        e[23] = r.entry.withdrawn as u8;
        e[24..32].copy_from_slice(&secs.to_le_bytes());
        e[32..36].copy_from_slice(&nanos.to_le_bytes());
        out.write_all(&e)?;
        ids_len += r.id.len().min(u16::MAX as usize) as u64;
    }
    let ids_off = records_off + (records.len() * ENTRY) as u64;
    for r in &records {
        out.write_all(&r.id.as_bytes()[..r.id.len().min(u16::MAX as usize)])?;
    }
    let dir_off = ids_off + ids_len;
    out.write_all(&directory)?;
    let mut footer = [0u8; FOOTER];
    footer[0..8].copy_from_slice(MAGIC);
    footer[8..12].copy_from_slice(&VERSION.to_le_bytes());
    footer[12..16].copy_from_slice(&(records.len() as u32).to_le_bytes());
    footer[16..24].copy_from_slice(&records_off.to_le_bytes());
    footer[24..32].copy_from_slice(&ids_off.to_le_bytes());
    footer[32..40].copy_from_slice(&ids_len.to_le_bytes());
    footer[40..48].copy_from_slice(&dir_off.to_le_bytes());
    footer[48..56].copy_from_slice(&(directory.len() as u64).to_le_bytes());
    footer[56..60].copy_from_slice(&n_blocks.to_le_bytes());
    out.write_all(&footer)?;
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()
}

struct Footer {
    n_records: u32,
    records_off: u64,
    ids_off: u64,
    ids_len: u64,
    dir_off: u64,
    dir_len: u64,
    n_blocks: u32,
}

fn bad(why: impl Into<String>) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, why.into())
}

fn read_at(file: &File, offset: u64, len: u64) -> std::io::Result<Vec<u8>> {
    if len > MAX_SECTION {
        return Err(bad(format!("a section of {len} bytes")));
    }
    let mut bytes = vec![0u8; len as usize];
    file.read_exact_at(&mut bytes, offset)?;
    Ok(bytes)
}

fn read_footer(file: &File) -> std::io::Result<(Footer, u64)> {
    let size = file.metadata()?.len();
    if size < FOOTER as u64 {
        return Err(bad("shorter than its footer"));
    }
    let f = read_at(file, size - FOOTER as u64, FOOTER as u64)?;
    if &f[0..8] != MAGIC {
        return Err(bad("not a wharf OSV index"));
    }
    let version = u32_at(&f, 8).unwrap_or(0);
    if version != VERSION {
        return Err(bad(format!("index version {version}, not {VERSION}")));
    }
    let footer = Footer {
        n_records: u32_at(&f, 12).unwrap_or(0),
        records_off: u64_at(&f, 16).unwrap_or(u64::MAX),
        ids_off: u64_at(&f, 24).unwrap_or(u64::MAX),
        ids_len: u64_at(&f, 32).unwrap_or(u64::MAX),
        dir_off: u64_at(&f, 40).unwrap_or(u64::MAX),
        dir_len: u64_at(&f, 48).unwrap_or(u64::MAX),
        n_blocks: u32_at(&f, 56).unwrap_or(0),
    };
    let body = size - FOOTER as u64;
    let fits = |off: u64, len: u64| off.checked_add(len).is_some_and(|end| end <= body);
    if footer
        .records_off
        .checked_add(footer.n_records as u64 * ENTRY as u64)
        != Some(footer.ids_off)
        || !fits(footer.ids_off, footer.ids_len)
        || !fits(footer.dir_off, footer.dir_len)
        || footer.dir_off < footer.ids_off
    {
        return Err(bad("its sections lie outside it"));
    }
    Ok((footer, size))
}

/// A shard opened for lookups: the block directory in memory, the rest read on demand.
pub struct Reader {
    index: File,
    data: File,
    data_len: u64,
    n_records: u32,
    records_off: u64,
    names_end: u64,
    /// (first key, offset, length) per name block.
    directory: Vec<(Box<[u8]>, u64, u32)>,
}

impl Reader {
    pub fn open(index_path: &Path, data_path: &Path) -> std::io::Result<Reader> {
        Reader::from_files(File::open(index_path)?, File::open(data_path)?)
    }

    /// A shard from files opened earlier (which stay readable even if an
    /// import removes them in the meantime).
    pub fn from_files(index: File, data: File) -> std::io::Result<Reader> {
        let (footer, _) = read_footer(&index)?;
        let dir = read_at(&index, footer.dir_off, footer.dir_len)?;
        let mut directory = Vec::with_capacity(footer.n_blocks as usize);
        let mut at = 0;
        while at < dir.len() {
            let parsed = (|| {
                let off = u64_at(&dir, at)?;
                let len = u32_at(&dir, at + 8)?;
                let klen = u16_at(&dir, at + 12)? as usize;
                let key = dir.get(at + 14..at + 14 + klen)?;
                Some((key.into(), off, len, 14 + klen))
            })();
            let Some((key, off, len, used)) = parsed else {
                return Err(bad("its block directory is cut short"));
            };
            if off
                .checked_add(len as u64)
                .is_none_or(|end| end > footer.records_off)
            {
                return Err(bad("a name block lies outside it"));
            }
            directory.push((key, off, len));
            at += used;
        }
        let data_len = data.metadata()?.len();
        Ok(Reader {
            index,
            data,
            data_len,
            n_records: footer.n_records,
            records_off: footer.records_off,
            names_end: footer.records_off,
            directory,
        })
    }

    /// The record numbers under `key` ("ECOSYSTEM\0NAME").
    pub fn lookup(&self, key: &[u8]) -> std::io::Result<Vec<u32>> {
        // The last block whose first key is <= key.
        let i = self
            .directory
            .partition_point(|(first, _, _)| first.as_ref() <= key);
        let Some((_, off, len)) = i.checked_sub(1).and_then(|i| self.directory.get(i)) else {
            return Ok(Vec::new());
        };
        if off + *len as u64 > self.names_end {
            return Err(bad("a name block lies outside it"));
        }
        let block = read_at(&self.index, *off, *len as u64)?;
        let mut at = 0;
        while at < block.len() {
            let cut = || bad("a name block is cut short");
            let klen = u16_at(&block, at).ok_or_else(cut)? as usize;
            let k = block.get(at + 2..at + 2 + klen).ok_or_else(cut)?;
            let count = u32_at(&block, at + 2 + klen).ok_or_else(cut)? as usize;
            let start = at + 6 + klen;
            let end = start
                .checked_add(count.checked_mul(4).ok_or_else(cut)?)
                .ok_or_else(cut)?;
            let postings = block.get(start..end).ok_or_else(cut)?;
            match k.cmp(key) {
                std::cmp::Ordering::Less => at = end,
                std::cmp::Ordering::Equal => {
                    let numbers: Vec<u32> = postings
                        .chunks_exact(4)
                        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                        .collect();
                    if numbers.iter().any(|&n| n >= self.n_records) {
                        return Err(bad("a name points past its records"));
                    }
                    return Ok(numbers);
                }
                std::cmp::Ordering::Greater => break,
            }
        }
        Ok(Vec::new())
    }

    /// Entry `n` (checked against the data file).
    pub fn entry(&self, n: u32) -> std::io::Result<Entry> {
        if n >= self.n_records {
            return Err(bad(format!("no record {n}")));
        }
        let b = read_at(
            &self.index,
            self.records_off + n as u64 * ENTRY as u64,
            ENTRY as u64,
        )?;
        let (entry, _, _) = parse_entry(&b).ok_or_else(|| bad("a record entry is damaged"))?;
        if entry
            .offset
            .checked_add(entry.len as u64)
            .is_none_or(|end| end > self.data_len)
            || entry.len as u64 > MAX_RECORD_BYTES
        {
            return Err(bad("a record lies outside the data file"));
        }
        Ok(entry)
    }

    /// The stored bytes of a record.
    pub fn bytes(&self, entry: &Entry) -> std::io::Result<Vec<u8>> {
        read_at(&self.data, entry.offset, entry.len as u64)
    }
}

/// A shard's records and ids, read whole, for an import to search by id.
pub struct Table {
    pub data: File,
    pub data_len: u64,
    entries: Vec<u8>,
    ids: Vec<u8>,
    index: File,
    records_off: u64,
}

impl Table {
    pub fn open(index_path: &Path, data_path: &Path) -> std::io::Result<Table> {
        let index = File::open(index_path)?;
        let (footer, _) = read_footer(&index)?;
        let entries = read_at(
            &index,
            footer.records_off,
            footer.n_records as u64 * ENTRY as u64,
        )?;
        let ids = read_at(&index, footer.ids_off, footer.ids_len)?;
        let data = File::open(data_path)?;
        let data_len = data.metadata()?.len();
        Ok(Table {
            data,
            data_len,
            entries,
            ids,
            index,
            records_off: footer.records_off,
        })
    }

    pub fn len(&self) -> usize {
        self.entries.len() / ENTRY
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Record `n`: its id and entry.
    pub fn get(&self, n: usize) -> std::io::Result<(&str, Entry)> {
        let b = self
            .entries
            .get(n * ENTRY..(n + 1) * ENTRY)
            .ok_or_else(|| bad(format!("no record {n}")))?;
        let (entry, id_off, id_len) =
            parse_entry(b).ok_or_else(|| bad("a record entry is damaged"))?;
        let id = self
            .ids
            .get(id_off as usize..id_off as usize + id_len as usize)
            .and_then(|b| std::str::from_utf8(b).ok())
            .ok_or_else(|| bad("a record id lies outside it"))?;
        if entry
            .offset
            .checked_add(entry.len as u64)
            .is_none_or(|end| end > self.data_len)
        {
            return Err(bad("a record lies outside the data file"));
        }
        Ok((id, entry))
    }

    /// The record with this id, by binary search (entries are sorted by id).
    pub fn find(&self, id: &str) -> std::io::Result<Option<(usize, Entry)>> {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            let (at, entry) = self.get(mid)?;
            match at.cmp(id) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(Some((mid, entry))),
            }
        }
        Ok(None)
    }

    /// Every (key, record numbers) of the shard, in key order.
    pub fn names(&self) -> std::io::Result<Vec<(Vec<u8>, Vec<u32>)>> {
        let blocks = read_at(&self.index, 0, self.records_off)?;
        let mut out = Vec::new();
        let mut at = 0;
        let n = self.len() as u32;
        while at < blocks.len() {
            let cut = || bad("a name block is cut short");
            let klen = u16_at(&blocks, at).ok_or_else(cut)? as usize;
            let key = blocks.get(at + 2..at + 2 + klen).ok_or_else(cut)?.to_vec();
            let count = u32_at(&blocks, at + 2 + klen).ok_or_else(cut)? as usize;
            let start = at + 6 + klen;
            let end = start
                .checked_add(count.checked_mul(4).ok_or_else(cut)?)
                .ok_or_else(cut)?;
            let numbers: Vec<u32> = blocks
                .get(start..end)
                .ok_or_else(cut)?
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            if numbers.iter().any(|&x| x >= n) {
                return Err(bad("a name points past its records"));
            }
            out.push((key, numbers));
            at = end;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let (idx, dat) = (dir.path().join("x.idx"), dir.path().join("x.dat"));
        let json = br#"{"id":"A"}"#;
        let blob = Blob::compress(json);
        std::fs::write(&dat, &blob.bytes).unwrap();
        let entry = Entry {
            offset: 0,
            len: blob.bytes.len() as u32,
            raw_len: blob.raw_len,
            codec: blob.codec,
            withdrawn: true,
            modified: "2024-01-02T03:04:05.5Z".parse().ok(),
        };
        // Enough names for several blocks.
        let pack = |keys: &[&[u8]]| {
            let mut out = Vec::new();
            for k in keys {
                pack_key(&mut out, k);
            }
            out
        };
        let left_pad = pack(&[b"npm\0left-pad"]);
        let mut records = vec![Record {
            id: "B",
            entry: entry.clone(),
            keys: &left_pad,
        }];
        let ids: Vec<(String, Vec<u8>)> = (0..3000)
            .map(|i| {
                let id = format!("X{i:05}");
                let keys = pack(&[format!("npm\0pkg-{id}").as_bytes(), b"npm\0shared"]);
                (id, keys)
            })
            .collect();
        for (id, keys) in &ids {
            records.push(Record {
                id,
                entry: entry.clone(),
                keys,
            });
        }
        write_index(&idx, records).unwrap();
        let r = Reader::open(&idx, &dat).unwrap();
        assert!(r.directory.len() > 10);
        let found = r.lookup(b"npm\0left-pad").unwrap();
        assert_eq!(found, vec![0]);
        let e = r.entry(found[0]).unwrap();
        assert_eq!(e, entry);
        assert_eq!(
            decode(e.codec, e.raw_len, &r.bytes(&e).unwrap()).unwrap(),
            json
        );
        assert_eq!(r.lookup(b"npm\0shared").unwrap().len(), 3000);
        assert_eq!(r.lookup(b"npm\0pkg-X02999").unwrap(), vec![3000]);
        assert!(r.lookup(b"npm\0left").unwrap().is_empty());
        assert!(r.lookup(b"a").unwrap().is_empty());
        assert!(r.lookup(b"z").unwrap().is_empty());
        let t = Table::open(&idx, &dat).unwrap();
        assert_eq!(t.len(), 3001);
        assert_eq!(t.find("B").unwrap().map(|(n, _)| n), Some(0));
        assert_eq!(t.find("X01234").unwrap().map(|(n, _)| n), Some(1235));
        assert!(t.find("C").unwrap().is_none());
        assert_eq!(t.names().unwrap().len(), 3002);
    }

    #[test]
    fn a_damaged_index_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let (idx, dat) = (dir.path().join("x.idx"), dir.path().join("x.dat"));
        std::fs::write(&dat, b"").unwrap();
        std::fs::write(&idx, b"short").unwrap();
        assert!(Reader::open(&idx, &dat).is_err());
        let mut junk = vec![0u8; 200];
        junk[136..144].copy_from_slice(MAGIC);
        std::fs::write(&idx, &junk).unwrap();
        assert!(Reader::open(&idx, &dat).is_err());
    }
}
