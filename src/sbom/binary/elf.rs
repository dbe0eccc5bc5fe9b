//! Just enough ELF to find a named section, to read bytes at a virtual
//! address (what the Go and cargo-auditable readers need) and to name the
//! program interpreter (what `wharf lint --image` checks). The headers are
//! read first; section contents only when asked for, by offset. Every
//! offset and size comes from the file, so every read is checked against
//! its length; a malformed header yields `None`, never a panic or a large
//! allocation.

use super::read::{Order, Reader};

/// A parsed ELF file's tables; its contents stay in the file.
#[derive(Debug)]
pub struct Elf {
    order: Order,
    sections: Vec<Section>,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone)]
struct Section {
    name: Vec<u8>,
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

/// Whether `head` (a file's first bytes) starts like an ELF file.
pub fn is_elf(head: &[u8]) -> bool {
    head.starts_with(b"\x7fELF")
}

impl Elf {
    /// Parses the header, program headers and section headers. Tables that
    /// do not fit in the file make the whole parse fail; a missing section
    /// name table only leaves sections unnamed.
    pub fn parse(r: &mut Reader<'_>) -> Option<Elf> {
        let header = r.bytes_upto(0, 64)?;
        if !is_elf(&header) || header.len() < 52 {
            return None;
        }
        let is64 = match header[4] {
            1 => false,
            2 => true,
            _ => return None,
        };
        let order = Order {
            big_endian: match header[5] {
                1 => false,
                2 => true,
                _ => return None,
            },
        };
        if is64 && header.len() < 64 {
            return None;
        }
        // Offsets of the e_phoff.. fields differ between the two classes.
        let (phoff, shoff, rest) = if is64 {
            (order.u64(&header, 32)?, order.u64(&header, 40)?, 52)
        } else {
            (
                u64::from(order.u32(&header, 28)?),
                u64::from(order.u32(&header, 32)?),
                40,
            )
        };
        let phentsize = u64::from(order.u16(&header, rest + 2)?);
        let phnum = u64::from(order.u16(&header, rest + 4)?);
        let shentsize = u64::from(order.u16(&header, rest + 6)?);
        let mut shnum = u64::from(order.u16(&header, rest + 8)?);
        let mut shstrndx = u64::from(order.u16(&header, rest + 10)?);
        let mut elf = Elf {
            order,
            sections: Vec::new(),
            segments: Vec::new(),
        };

        if phoff != 0 && phnum != 0 {
            if phentsize < if is64 { 56 } else { 32 } {
                return None;
            }
            let table = r.bytes(phoff, phentsize.checked_mul(phnum)?)?;
            for i in 0..phnum {
                let at = usize::try_from(i * phentsize).ok()?;
                elf.segments.push(elf.segment_at(&table, at, is64)?);
            }
        }

        if shoff != 0 {
            if shentsize < if is64 { 64 } else { 40 } {
                return None;
            }
            // Extended numbering: the real counts live in section 0.
            if shnum == 0 || shstrndx == 0xffff {
                let first = r.bytes(shoff, shentsize)?;
                if shnum == 0 {
                    shnum = elf.section_at(&first, 0, is64)?.size;
                }
                if shstrndx == 0xffff {
                    shstrndx = u64::from(order.u32(&first, if is64 { 40 } else { 24 })?);
                }
            }
            let table = r.bytes(shoff, shentsize.checked_mul(shnum)?)?;
            let mut raw = Vec::new();
            for i in 0..shnum {
                let at = usize::try_from(i * shentsize).ok()?;
                raw.push((order.u32(&table, at)?, elf.section_at(&table, at, is64)?));
            }
            let names = raw
                .get(usize::try_from(shstrndx).ok()?)
                .and_then(|(_, s)| r.bytes(s.offset, s.size));
            for (name_offset, mut section) in raw {
                section.name = names
                    .as_deref()
                    .and_then(|table| table.get(usize::try_from(name_offset).ok()?..))
                    .map(|tail| tail.split(|&b| b == 0).next().unwrap_or_default().to_vec())
                    .unwrap_or_default();
                elf.sections.push(section);
            }
        }
        Some(elf)
    }

    /// The file bytes of the section called `name` (not for NOBITS sections).
    pub fn section(&self, r: &mut Reader<'_>, name: &str) -> Option<Vec<u8>> {
        let s = self
            .sections
            .iter()
            .find(|s| s.name == name.as_bytes() && s.kind != SHT_NOBITS)?;
        r.bytes(s.offset, s.size)
    }

    /// The first `max` file bytes of the first loadable segment that is
    /// writable and not executable: where the Go linker puts buildinfo when
    /// a binary has no `.go.buildinfo` section.
    pub fn writable_data(&self, r: &mut Reader<'_>, max: u64) -> Option<Vec<u8>> {
        let s = self
            .segments
            .iter()
            .find(|s| s.kind == PT_LOAD && s.flags & (PF_X | PF_W) == PF_W)?;
        r.bytes(s.offset, s.filesz.min(max))
    }

    /// The program interpreter (`PT_INTERP`, the dynamic loader such as
    /// `/lib64/ld-linux-x86-64.so.2`) of a dynamically linked executable;
    /// `None` for static binaries and for headers that do not hold one.
    pub fn interpreter(&self, r: &mut Reader<'_>) -> Option<String> {
        let s = self.segments.iter().find(|s| s.kind == PT_INTERP)?;
        if s.filesz > INTERP_MAX {
            return None;
        }
        let bytes = r.bytes(s.offset, s.filesz)?;
        let path = bytes.split(|&b| b == 0).next()?;
        std::str::from_utf8(path)
            .ok()
            .filter(|p| !p.is_empty())
            .map(str::to_string)
    }

    /// `len` bytes at virtual address `addr`, through the loadable segments
    /// (or, without program headers, the sections).
    pub fn read_addr(&self, r: &mut Reader<'_>, addr: u64, len: u64) -> Option<Vec<u8>> {
        let end = addr.checked_add(len)?;
        for s in self.segments.iter().filter(|s| s.kind == PT_LOAD) {
            if s.vaddr <= addr && end <= s.vaddr.checked_add(s.filesz)? {
                return r.bytes(s.offset.checked_add(addr - s.vaddr)?, len);
            }
        }
        for s in self.sections.iter().filter(|s| s.kind != SHT_NOBITS) {
            if s.addr != 0 && s.addr <= addr && end <= s.addr.checked_add(s.size)? {
                return r.bytes(s.offset.checked_add(addr - s.addr)?, len);
            }
        }
        None
    }

    /// Reads an unsigned integer of `size` (4 or 8) bytes in the given order.
    pub fn uint(bytes: &[u8], size: usize, big_endian: bool) -> Option<u64> {
        let order = Order { big_endian };
        match size {
            4 => order.u32(bytes, 0).map(u64::from),
            8 => order.u64(bytes, 0),
            _ => None,
        }
    }

    fn section_at(&self, table: &[u8], at: usize, is64: bool) -> Option<Section> {
        let o = self.order;
        let kind = o.u32(table, at + 4)?;
        let (addr, offset, size) = if is64 {
            (
                o.u64(table, at + 16)?,
                o.u64(table, at + 24)?,
                o.u64(table, at + 32)?,
            )
        } else {
            (
                u64::from(o.u32(table, at + 12)?),
                u64::from(o.u32(table, at + 16)?),
                u64::from(o.u32(table, at + 20)?),
            )
        };
        Some(Section {
            name: Vec::new(),
            kind,
            addr,
            offset,
            size,
        })
    }

    fn segment_at(&self, table: &[u8], at: usize, is64: bool) -> Option<Segment> {
        let o = self.order;
        let kind = o.u32(table, at)?;
        if is64 {
            Some(Segment {
                kind,
                flags: o.u32(table, at + 4)?,
                offset: o.u64(table, at + 8)?,
                vaddr: o.u64(table, at + 16)?,
                filesz: o.u64(table, at + 32)?,
            })
        } else {
            Some(Segment {
                kind,
                offset: u64::from(o.u32(table, at + 4)?),
                vaddr: u64::from(o.u32(table, at + 8)?),
                filesz: u64::from(o.u32(table, at + 16)?),
                flags: o.u32(table, at + 24)?,
            })
        }
    }
}
