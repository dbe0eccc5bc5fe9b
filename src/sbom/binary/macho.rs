//! Just enough Mach-O (one architecture, 32 or 64 bits, either byte order)
//! to find a section by name and to read bytes at a virtual address: Go
//! puts its build information in `__DATA,__go_buildinfo` (older linkers at
//! the start of the first read-write segment), cargo-auditable its
//! dependency tree in `.dep-v0`. Universal ("fat") files are not read as
//! Mach-O. Every size and offset is checked as in the ELF reader.

use super::read::{fixed_name, Order, Reader};

#[derive(Debug)]
pub struct MachO {
    order: Order,
    segments: Vec<Segment>,
    sections: Vec<Section>,
}

#[derive(Debug, Clone, Copy)]
struct Segment {
    addr: u64,
    fileoff: u64,
    filesz: u64,
    maxprot: u32,
    initprot: u32,
}

#[derive(Debug, Clone)]
struct Section {
    name: Vec<u8>,
    size: u64,
    offset: u64,
    flags: u32,
}

const LC_SEGMENT: u32 = 0x1;
const LC_SEGMENT_64: u32 = 0x19;
/// Section types with no file contents (zerofill and its kin).
const ZEROFILL: [u32; 3] = [0x1, 0xc, 0x12];
/// VM_PROT_READ | VM_PROT_WRITE.
const RW: u32 = 3;

/// Whether `head` starts like a thin Mach-O file; `Some(is64, big_endian)`.
pub fn kind(head: &[u8]) -> Option<(bool, bool)> {
    match head.get(..4)? {
        [0xfe, 0xed, 0xfa, 0xce] => Some((false, true)),
        [0xce, 0xfa, 0xed, 0xfe] => Some((false, false)),
        [0xfe, 0xed, 0xfa, 0xcf] => Some((true, true)),
        [0xcf, 0xfa, 0xed, 0xfe] => Some((true, false)),
        _ => None,
    }
}

impl MachO {
    pub fn parse(r: &mut Reader<'_>) -> Option<MachO> {
        let head = r.bytes_upto(0, 32)?;
        let (is64, big_endian) = kind(&head)?;
        let order = Order { big_endian };
        let ncmds = order.u32(&head, 16)?;
        let sizeofcmds = u64::from(order.u32(&head, 20)?);
        let header_len = if is64 { 32 } else { 28 };
        let cmds = r.bytes(header_len, sizeofcmds)?;
        let mut macho = MachO {
            order,
            segments: Vec::new(),
            sections: Vec::new(),
        };
        let mut at = 0usize;
        for _ in 0..ncmds {
            let cmd = order.u32(&cmds, at)?;
            let cmdsize = usize::try_from(order.u32(&cmds, at + 4)?).ok()?;
            if cmdsize < 8 || at.checked_add(cmdsize)? > cmds.len() {
                return None;
            }
            let body = &cmds[at..at + cmdsize];
            match cmd {
                LC_SEGMENT_64 => macho.segment(body, true)?,
                LC_SEGMENT => macho.segment(body, false)?,
                _ => {}
            }
            at += cmdsize;
        }
        Some(macho)
    }

    fn segment(&mut self, body: &[u8], is64: bool) -> Option<()> {
        let o = self.order;
        let w = |at: usize| o.word(body, at, is64);
        let (addr, fileoff, filesz, prot_at) = if is64 {
            (w(24)?, w(40)?, w(48)?, 56)
        } else {
            (w(24)?, w(32)?, w(36)?, 40)
        };
        self.segments.push(Segment {
            addr,
            fileoff,
            filesz,
            maxprot: o.u32(body, prot_at)?,
            initprot: o.u32(body, prot_at + 4)?,
        });
        let nsects = usize::try_from(o.u32(body, prot_at + 8)?).ok()?;
        let (first, entry) = if is64 { (72, 80) } else { (56, 68) };
        for i in 0..nsects {
            let s = first + i * entry;
            let raw = body.get(s..s.checked_add(entry)?)?;
            let (size, offset, flags) = if is64 {
                (o.u64(raw, 40)?, o.u32(raw, 48)?, o.u32(raw, 64)?)
            } else {
                (u64::from(o.u32(raw, 36)?), o.u32(raw, 40)?, o.u32(raw, 56)?)
            };
            self.sections.push(Section {
                name: fixed_name(&raw[..16]).to_vec(),
                size,
                offset: u64::from(offset),
                flags,
            });
        }
        Some(())
    }

    /// The file bytes of the section called `name`.
    pub fn section(&self, r: &mut Reader<'_>, name: &str) -> Option<Vec<u8>> {
        let s = self
            .sections
            .iter()
            .find(|s| s.name == name.as_bytes() && !ZEROFILL.contains(&(s.flags & 0xff)))?;
        r.bytes(s.offset, s.size)
    }

    /// The first `max` file bytes of the first non-empty read-write
    /// segment, where Go's older linkers put buildinfo.
    pub fn writable_data(&self, r: &mut Reader<'_>, max: u64) -> Option<Vec<u8>> {
        let s = self
            .segments
            .iter()
            .find(|s| s.addr != 0 && s.filesz != 0 && s.initprot == RW && s.maxprot == RW)?;
        r.bytes(s.fileoff, s.filesz.min(max))
    }

    /// `len` bytes at virtual address `addr`, through the segments.
    pub fn read_addr(&self, r: &mut Reader<'_>, addr: u64, len: u64) -> Option<Vec<u8>> {
        let end = addr.checked_add(len)?;
        let s = self
            .segments
            .iter()
            .find(|s| s.addr <= addr && end <= s.addr.saturating_add(s.filesz))?;
        r.bytes(s.fileoff.checked_add(addr - s.addr)?, len)
    }
}
