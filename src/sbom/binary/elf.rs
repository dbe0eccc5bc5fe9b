//! Just enough ELF to find a named section, to read bytes at a virtual
//! address (what the Go and cargo-auditable readers need) and to name the
//! program interpreter (what `wharf lint --image` checks). Every offset and
//! size comes from the file, so every read is checked against its length;
//! a malformed header yields `None`, never a panic or a large allocation.

/// A parsed ELF file, borrowing its bytes.
#[derive(Debug)]
pub struct Elf<'a> {
    data: &'a [u8],
    is64: bool,
    big_endian: bool,
    sections: Vec<Section<'a>>,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, Copy)]
struct Section<'a> {
    name: &'a [u8],
    kind: u32,
    addr: u64,
    offset: u64,
    size: u64,
}

#[derive(Debug, Clone, Copy)]
struct Segment {
    kind: u32,
    flags: u32,
    offset: u64,
    vaddr: u64,
    filesz: u64,
}

const SHT_NOBITS: u32 = 8;
const PT_LOAD: u32 = 1;
const PT_INTERP: u32 = 3;
/// Longer interpreter paths are not paths (`PATH_MAX`).
const INTERP_MAX: u64 = 4096;
const PF_X: u32 = 1;
const PF_W: u32 = 2;

/// Whether `data` starts like an ELF file.
pub fn is_elf(data: &[u8]) -> bool {
    data.starts_with(b"\x7fELF")
}

impl<'a> Elf<'a> {
    /// Parses the header, program headers and section headers. Tables that
    /// do not fit in the file make the whole parse fail; a missing section
    /// name table only leaves sections unnamed.
    pub fn parse(data: &'a [u8]) -> Option<Elf<'a>> {
        if !is_elf(data) || data.len() < 52 {
            return None;
        }
        let is64 = match data[4] {
            1 => false,
            2 => true,
            _ => return None,
        };
        let big_endian = match data[5] {
            1 => false,
            2 => true,
            _ => return None,
        };
        let mut elf = Elf {
            data,
            is64,
            big_endian,
            sections: Vec::new(),
            segments: Vec::new(),
        };
        // Offsets of the e_phoff.. fields differ between the two classes.
        let (phoff, shoff, rest) = if is64 {
            (elf.u64_at(32)?, elf.u64_at(40)?, 52)
        } else {
            (u64::from(elf.u32_at(28)?), u64::from(elf.u32_at(32)?), 40)
        };
        let phentsize = u64::from(elf.u16_at(rest + 2)?);
        let phnum = u64::from(elf.u16_at(rest + 4)?);
        let shentsize = u64::from(elf.u16_at(rest + 6)?);
        let mut shnum = u64::from(elf.u16_at(rest + 8)?);
        let mut shstrndx = u64::from(elf.u16_at(rest + 10)?);

        if phoff != 0 && phnum != 0 {
            let min = if is64 { 56 } else { 32 };
            if phentsize < min {
                return None;
            }
            elf.table(phoff, phentsize, phnum)?;
            for i in 0..phnum {
                let at = usize::try_from(phoff + i * phentsize).ok()?;
                elf.segments.push(elf.segment_at(at)?);
            }
        }

        if shoff != 0 {
            let min = if is64 { 64 } else { 40 };
            if shentsize < min {
                return None;
            }
            let first = usize::try_from(shoff).ok()?;
            // Extended numbering: the real counts live in section 0.
            if shnum == 0 {
                shnum = elf.section_at(first)?.size;
            }
            if shstrndx == 0xffff {
                shstrndx = u64::from(elf.u32_at(first + if is64 { 40 } else { 24 })?);
            }
            elf.table(shoff, shentsize, shnum)?;
            let mut raw = Vec::new();
            for i in 0..shnum {
                let at = usize::try_from(shoff + i * shentsize).ok()?;
                raw.push((elf.u32_at(at)?, elf.section_at(at)?));
            }
            let names = raw
                .get(usize::try_from(shstrndx).ok()?)
                .and_then(|(_, s)| elf.bytes(s.offset, s.size));
            for (name_offset, mut section) in raw {
                section.name = names
                    .and_then(|table| table.get(usize::try_from(name_offset).ok()?..))
                    .map(|tail| tail.split(|&b| b == 0).next().unwrap_or_default())
                    .unwrap_or_default();
                elf.sections.push(section);
            }
        }
        Some(elf)
    }

    /// The file bytes of the section called `name` (not for NOBITS sections).
    pub fn section(&self, name: &str) -> Option<&'a [u8]> {
        let s = self
            .sections
            .iter()
            .find(|s| s.name == name.as_bytes() && s.kind != SHT_NOBITS)?;
        self.bytes(s.offset, s.size)
    }

    /// The file bytes of the first loadable segment that is writable and not
    /// executable: where the Go linker puts buildinfo when a binary has no
    /// `.go.buildinfo` section.
    pub fn writable_data(&self) -> Option<&'a [u8]> {
        let s = self
            .segments
            .iter()
            .find(|s| s.kind == PT_LOAD && s.flags & (PF_X | PF_W) == PF_W)?;
        self.bytes(s.offset, s.filesz)
    }

    /// The program interpreter (`PT_INTERP`, the dynamic loader such as
    /// `/lib64/ld-linux-x86-64.so.2`) of a dynamically linked executable;
    /// `None` for static binaries and for headers that do not hold one.
    pub fn interpreter(&self) -> Option<&'a str> {
        let s = self.segments.iter().find(|s| s.kind == PT_INTERP)?;
        if s.filesz > INTERP_MAX {
            return None;
        }
        let bytes = self.bytes(s.offset, s.filesz)?;
        let path = bytes.split(|&b| b == 0).next()?;
        std::str::from_utf8(path).ok().filter(|p| !p.is_empty())
    }

    /// `len` bytes at virtual address `addr`, through the loadable segments
    /// (or, without program headers, the sections).
    pub fn read_addr(&self, addr: u64, len: u64) -> Option<&'a [u8]> {
        let end = addr.checked_add(len)?;
        for s in self.segments.iter().filter(|s| s.kind == PT_LOAD) {
            if s.vaddr <= addr && end <= s.vaddr.checked_add(s.filesz)? {
                return self.bytes(s.offset.checked_add(addr - s.vaddr)?, len);
            }
        }
        for s in self.sections.iter().filter(|s| s.kind != SHT_NOBITS) {
            if s.addr != 0 && s.addr <= addr && end <= s.addr.checked_add(s.size)? {
                return self.bytes(s.offset.checked_add(addr - s.addr)?, len);
            }
        }
        None
    }

    /// Reads an unsigned integer of `size` (4 or 8) bytes in the given order.
    pub fn uint(bytes: &[u8], size: usize, big_endian: bool) -> Option<u64> {
        match size {
            4 => {
                let b: [u8; 4] = bytes.get(..4)?.try_into().ok()?;
                Some(u64::from(if big_endian {
                    u32::from_be_bytes(b)
                } else {
                    u32::from_le_bytes(b)
                }))
            }
            8 => {
                let b: [u8; 8] = bytes.get(..8)?.try_into().ok()?;
                Some(if big_endian {
                    u64::from_be_bytes(b)
                } else {
                    u64::from_le_bytes(b)
                })
            }
            _ => None,
        }
    }

    fn bytes(&self, offset: u64, size: u64) -> Option<&'a [u8]> {
        let start = usize::try_from(offset).ok()?;
        let end = start.checked_add(usize::try_from(size).ok()?)?;
        self.data.get(start..end)
    }

    /// Checks that a table of `count` entries of `entsize` fits in the file,
    /// so that the loops over it allocate no more than the file justifies.
    fn table(&self, offset: u64, entsize: u64, count: u64) -> Option<()> {
        let len = entsize.checked_mul(count)?;
        self.bytes(offset, len).map(|_| ())
    }

    fn u16_at(&self, at: usize) -> Option<u16> {
        let b: [u8; 2] = self.data.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(if self.big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    }

    fn u32_at(&self, at: usize) -> Option<u32> {
        let v = Self::uint(self.data.get(at..)?, 4, self.big_endian)?;
        u32::try_from(v).ok()
    }

    fn u64_at(&self, at: usize) -> Option<u64> {
        Self::uint(self.data.get(at..)?, 8, self.big_endian)
    }

    /// A class-sized word (`Elf32_Addr`/`Elf64_Addr`, offsets, sizes).
    fn word_at(&self, at: usize) -> Option<u64> {
        if self.is64 {
            self.u64_at(at)
        } else {
            self.u32_at(at).map(u64::from)
        }
    }

    fn section_at(&self, at: usize) -> Option<Section<'a>> {
        let kind = self.u32_at(at + 4)?;
        let (addr, offset, size) = if self.is64 {
            (
                self.word_at(at + 16)?,
                self.word_at(at + 24)?,
                self.word_at(at + 32)?,
            )
        } else {
            (
                self.word_at(at + 12)?,
                self.word_at(at + 16)?,
                self.word_at(at + 20)?,
            )
        };
        Some(Section {
            name: &[],
            kind,
            addr,
            offset,
            size,
        })
    }

    fn segment_at(&self, at: usize) -> Option<Segment> {
        let kind = self.u32_at(at)?;
        if self.is64 {
            Some(Segment {
                kind,
                flags: self.u32_at(at + 4)?,
                offset: self.word_at(at + 8)?,
                vaddr: self.word_at(at + 16)?,
                filesz: self.word_at(at + 32)?,
            })
        } else {
            Some(Segment {
                kind,
                offset: self.word_at(at + 4)?,
                vaddr: self.word_at(at + 8)?,
                filesz: self.word_at(at + 16)?,
                flags: self.u32_at(at + 24)?,
            })
        }
    }
}
