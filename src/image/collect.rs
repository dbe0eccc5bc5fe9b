//! What the layer reader asks of whoever wants file contents (the SBOM
//! catalogers, the linter's ELF check): which files, and what to keep of
//! them. Keeping a small extract instead of the bytes bounds memory by what
//! the catalogers need, not by the image.
//!
//! A wanted file is handed over as [`Contents`]: its bytes in memory when
//! it is small, else in an anonymous temporary file (unlinked as it is
//! created, so nothing is left behind and no path of the image is ever
//! written), read by seeking to the parts a collector needs. A 500 MB
//! binary costs its build information, not 500 MB of memory.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Cursor, Read, Seek, SeekFrom, Write};

/// Larger files go to a temporary file instead of memory.
pub const IN_MEMORY_MAX: u64 = 8 << 20;

/// A regular file met while streaming a layer.
#[derive(Debug, Clone, Copy)]
pub struct FileMeta<'a> {
    /// Absolute and normalised: `/usr/lib/os-release` (no `.`/`..`, no
    /// trailing slash), whatever the tar header spelled.
    pub path: &'a str,
    /// Size in bytes (uncompressed).
    pub size: u64,
    /// Permission bits from the tar header (`0o755`).
    pub mode: u32,
    /// Index of the layer, base layer = 0.
    pub layer: usize,
}

/// Chooses files and keeps an extract of each.
pub trait Collector: Sync {
    type Item: Clone + Send;

    /// Whether to read this file's contents. Called for every regular file
    /// (and hard link to one) of every layer; must be cheap.
    fn wants(&self, file: &FileMeta<'_>) -> bool;

    /// The file's contents (never more than the per-file limit), positioned
    /// at its start; returns what to keep, or `None` to keep nothing.
    fn collect(&self, file: &FileMeta<'_>, contents: &mut Contents) -> Option<Self::Item>;
}

/// Why a file's contents could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The source ended after `got` of the `len` bytes it should hold.
    Short { got: u64, len: u64 },
    /// Reading the source failed.
    Source(io::Error),
    /// The temporary file could not be made or written (a full disk).
    Spill(io::Error),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Short { got, len } => write!(f, "it stops after {got} of its {len} bytes"),
            ReadError::Source(e) => write!(f, "{e}"),
            ReadError::Spill(e) => write!(
                f,
                "it is larger than {} MiB and no temporary file could hold it ({e}); set \
                 TMPDIR to a folder with room",
                IN_MEMORY_MAX >> 20
            ),
        }
    }
}

/// A file's bytes, in memory or in an anonymous temporary file, read and
/// seeked like a file.
#[derive(Debug)]
pub struct Contents {
    len: u64,
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    Memory(Cursor<Vec<u8>>),
    File(BufReader<File>),
}

impl Contents {
    /// Bytes already in memory.
    pub fn from_bytes(bytes: Vec<u8>) -> Contents {
        Contents {
            len: bytes.len() as u64,
            inner: Inner::Memory(Cursor::new(bytes)),
        }
    }

    /// Reads exactly `len` bytes of `from`: into memory up to
    /// [`IN_MEMORY_MAX`], else into an anonymous temporary file.
    pub fn read_from(from: &mut impl Read, len: u64) -> Result<Contents, ReadError> {
        if len <= IN_MEMORY_MAX {
            // Capacity from the header only up to a point: it may lie.
            let mut bytes = Vec::with_capacity(len.min(IN_MEMORY_MAX) as usize);
            from.take(len)
                .read_to_end(&mut bytes)
                .map_err(ReadError::Source)?;
            if (bytes.len() as u64) < len {
                return Err(ReadError::Short {
                    got: bytes.len() as u64,
                    len,
                });
            }
            return Ok(Contents::from_bytes(bytes));
        }
        let file = tempfile::tempfile().map_err(ReadError::Spill)?;
        let mut writer = BufWriter::with_capacity(256 << 10, file);
        let mut buf = vec![0u8; 64 << 10];
        let mut got = 0u64;
        while got < len {
            let want = (len - got).min(buf.len() as u64) as usize;
            let n = match from.read(&mut buf[..want]) {
                Ok(0) => return Err(ReadError::Short { got, len }),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(ReadError::Source(e)),
            };
            writer.write_all(&buf[..n]).map_err(ReadError::Spill)?;
            got += n as u64;
        }
        let mut file = writer
            .into_inner()
            .map_err(|e| ReadError::Spill(e.into_error()))?;
        file.seek(SeekFrom::Start(0)).map_err(ReadError::Spill)?;
        Ok(Contents {
            len,
            inner: Inner::File(BufReader::with_capacity(64 << 10, file)),
        })
    }

    /// The file's size.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The whole file, for collectors that keep the bytes (small
    /// databases and metadata files).
    pub fn to_vec(&mut self) -> io::Result<Vec<u8>> {
        if let Inner::Memory(cursor) = &self.inner {
            return Ok(cursor.get_ref().clone());
        }
        self.seek(SeekFrom::Start(0))?;
        let mut bytes = Vec::new();
        self.take(self.len).read_to_end(&mut bytes)?;
        Ok(bytes)
    }

    /// Up to `n` bytes from the start (a `#!` line, a magic number).
    pub fn head(&mut self, n: usize) -> io::Result<Vec<u8>> {
        self.seek(SeekFrom::Start(0))?;
        let mut bytes = Vec::new();
        self.take(n as u64).read_to_end(&mut bytes)?;
        self.seek(SeekFrom::Start(0))?;
        Ok(bytes)
    }
}

impl Read for Contents {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.inner {
            Inner::Memory(c) => c.read(buf),
            Inner::File(f) => f.read(buf),
        }
    }
}

impl Seek for Contents {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        match &mut self.inner {
            Inner::Memory(c) => c.seek(pos),
            Inner::File(f) => f.seek(pos),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_files_go_to_a_temporary_file_and_read_the_same() {
        let big: Vec<u8> = (0..IN_MEMORY_MAX + 4096).map(|i| (i % 251) as u8).collect();
        let mut contents = Contents::read_from(&mut big.as_slice(), big.len() as u64).unwrap();
        assert!(matches!(contents.inner, Inner::File(_)));
        assert_eq!(contents.len(), big.len() as u64);
        contents.seek(SeekFrom::Start(IN_MEMORY_MAX)).unwrap();
        let mut tail = Vec::new();
        contents.read_to_end(&mut tail).unwrap();
        assert_eq!(tail, big[IN_MEMORY_MAX as usize..]);
        assert_eq!(contents.head(3).unwrap(), big[..3]);
        assert_eq!(contents.to_vec().unwrap(), big);

        let mut small = Contents::read_from(&mut &b"abc"[..], 3).unwrap();
        assert!(matches!(small.inner, Inner::Memory(_)));
        assert_eq!(small.to_vec().unwrap(), b"abc");
    }

    #[test]
    fn a_short_source_is_an_error_either_way() {
        for len in [10, IN_MEMORY_MAX + 10] {
            let err = Contents::read_from(&mut &b"abc"[..], len).unwrap_err();
            assert!(matches!(err, ReadError::Short { got: 3, .. }), "{err}");
        }
    }
}
