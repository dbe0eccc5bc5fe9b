//! Reading an executable by offset: the headers, then only the sections a
//! reader asks for. The file may be in memory or in a temporary file (a
//! large one always is: see `image::Contents`); either way nothing reads
//! more than [`MAX_READ`] at once, so a hostile header cannot make a large
//! allocation.

use std::io::{Read, Seek, SeekFrom};

/// The most one read may return: far above any real section table or
/// build-information section, far below a whole binary.
pub const MAX_READ: u64 = 16 << 20;

/// Something read by offset.
pub trait Source: Read + Seek {}
impl<T: Read + Seek + ?Sized> Source for T {}

/// A file of known length, read by offset.
pub struct Reader<'a> {
    src: &'a mut dyn Source,
    len: u64,
}

impl<'a> Reader<'a> {
    pub fn new(src: &'a mut dyn Source, len: u64) -> Reader<'a> {
        Reader { src, len }
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    /// `size` bytes at `offset`, if the file holds them and they are no
    /// more than [`MAX_READ`].
    pub fn bytes(&mut self, offset: u64, size: u64) -> Option<Vec<u8>> {
        let end = offset.checked_add(size)?;
        if end > self.len || size > MAX_READ {
            return None;
        }
        self.src.seek(SeekFrom::Start(offset)).ok()?;
        let mut out = vec![0u8; usize::try_from(size).ok()?];
        self.src.read_exact(&mut out).ok()?;
        Some(out)
    }

    /// Up to `size` bytes at `offset` (fewer at the end of the file).
    pub fn bytes_upto(&mut self, offset: u64, size: u64) -> Option<Vec<u8>> {
        let available = self.len.checked_sub(offset)?;
        self.bytes(offset, size.min(available))
    }
}

/// Integers of a file's byte order, read from a header held in memory.
#[derive(Debug, Clone, Copy)]
pub struct Order {
    pub big_endian: bool,
}

impl Order {
    pub fn u16(self, data: &[u8], at: usize) -> Option<u16> {
        let b: [u8; 2] = data.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(if self.big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    }

    pub fn u32(self, data: &[u8], at: usize) -> Option<u32> {
        let b: [u8; 4] = data.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }

    pub fn u64(self, data: &[u8], at: usize) -> Option<u64> {
        let b: [u8; 8] = data.get(at..at.checked_add(8)?)?.try_into().ok()?;
        Some(if self.big_endian {
            u64::from_be_bytes(b)
        } else {
            u64::from_le_bytes(b)
        })
    }

    /// A 4- or 8-byte word, as a 32- or 64-bit file writes addresses.
    pub fn word(self, data: &[u8], at: usize, is64: bool) -> Option<u64> {
        if is64 {
            self.u64(data, at)
        } else {
            self.u32(data, at).map(u64::from)
        }
    }
}

/// A NUL-padded fixed-size name (`__go_buildinfo\0\0`, `.text\0\0\0`).
pub fn fixed_name(raw: &[u8]) -> &[u8] {
    raw.split(|&b| b == 0).next().unwrap_or_default()
}
