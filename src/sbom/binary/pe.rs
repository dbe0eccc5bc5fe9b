//! Just enough PE (PE32 and PE32+) to find a section by name and to read
//! bytes at a virtual address: Go puts its build information near the start
//! of the first initialised read-write data section, cargo-auditable its
//! dependency tree in `.dep-v0`. Every size and offset is checked as in the
//! ELF reader.

use super::read::{fixed_name, Order, Reader};

#[derive(Debug)]
pub struct Pe {
    image_base: u64,
    sections: Vec<Section>,
}

#[derive(Debug, Clone)]
struct Section {
    name: Vec<u8>,
    virtual_size: u64,
    virtual_address: u64,
    raw_size: u64,
    raw_offset: u64,
    characteristics: u32,
}

const LE: Order = Order { big_endian: false };
const INITIALIZED_DATA: u32 = 0x40;
const MEM_READ: u32 = 0x4000_0000;
const MEM_WRITE: u32 = 0x8000_0000;
const ALIGN_32BYTES: u32 = 0x60_0000;

/// Whether `head` starts like a PE file (`MZ`).
pub fn is_pe(head: &[u8]) -> bool {
    head.starts_with(b"MZ")
}

impl Pe {
    pub fn parse(r: &mut Reader<'_>) -> Option<Pe> {
        let dos = r.bytes_upto(0, 64)?;
        if !is_pe(&dos) {
            return None;
        }
        let pe_at = u64::from(LE.u32(&dos, 0x3c)?);
        let coff = r.bytes(pe_at, 24)?;
        if coff.get(..4)? != b"PE\0\0" {
            return None;
        }
        let nsections = u64::from(LE.u16(&coff, 6)?);
        let optional_size = u64::from(LE.u16(&coff, 20)?);
        let optional_at = pe_at + 24;
        let optional = r.bytes(optional_at, optional_size)?;
        let image_base = match LE.u16(&optional, 0)? {
            0x10b => u64::from(LE.u32(&optional, 28)?),
            0x20b => LE.u64(&optional, 24)?,
            _ => return None,
        };
        let table = r.bytes(optional_at + optional_size, nsections.checked_mul(40)?)?;
        let sections = table
            .chunks_exact(40)
            .map(|raw| {
                Some(Section {
                    name: fixed_name(&raw[..8]).to_vec(),
                    virtual_size: u64::from(LE.u32(raw, 8)?),
                    virtual_address: u64::from(LE.u32(raw, 12)?),
                    raw_size: u64::from(LE.u32(raw, 16)?),
                    raw_offset: u64::from(LE.u32(raw, 20)?),
                    characteristics: LE.u32(raw, 36)?,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Pe {
            image_base,
            sections,
        })
    }

    /// The file bytes of the section called `name` (its first 8 bytes).
    pub fn section(&self, r: &mut Reader<'_>, name: &str) -> Option<Vec<u8>> {
        let s = self.sections.iter().find(|s| s.name == name.as_bytes())?;
        // The raw size is rounded up to the file alignment; the virtual
        // size is what the section holds, when the linker gives it.
        let size = match s.virtual_size {
            0 => s.raw_size,
            v => v.min(s.raw_size),
        };
        r.bytes(s.raw_offset, size)
    }

    /// The first `max` file bytes of the first initialised read-write data
    /// section, where the Go linker puts buildinfo on Windows.
    pub fn writable_data(&self, r: &mut Reader<'_>, max: u64) -> Option<Vec<u8>> {
        let s = self.sections.iter().find(|s| {
            s.virtual_address != 0
                && s.raw_size != 0
                && s.characteristics & !ALIGN_32BYTES == INITIALIZED_DATA | MEM_READ | MEM_WRITE
        })?;
        r.bytes(s.raw_offset, s.raw_size.min(max))
    }

    /// `len` bytes at virtual address `addr` (image base included).
    pub fn read_addr(&self, r: &mut Reader<'_>, addr: u64, len: u64) -> Option<Vec<u8>> {
        let rva = addr.checked_sub(self.image_base)?;
        let end = rva.checked_add(len)?;
        let s = self.sections.iter().find(|s| {
            s.virtual_address <= rva && end <= s.virtual_address.saturating_add(s.raw_size)
        })?;
        r.bytes(s.raw_offset.checked_add(rva - s.virtual_address)?, len)
    }
}
