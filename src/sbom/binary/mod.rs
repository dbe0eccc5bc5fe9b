//! Binary catalogers: packages compiled into executables, found the way
//! Syft and Trivy find them — Go's embedded build information (main module,
//! dependency modules, Go version) and the dependency tree `cargo
//! auditable` stores in Rust binaries.
//!
//! The layer reader calls [`wants`] on every regular file and hands the
//! wanted ones to [`extract`] as a file read by offset (in memory when
//! small, else a temporary file). ELF, Mach-O and PE files are read the
//! way their own toolchains read them: the headers, then only the sections
//! that hold the build information; memory does not grow with the binary.
//! Only the packages are kept.

mod cargo;
pub(crate) mod elf;
mod golang;
mod macho;
mod pe;
pub(crate) mod read;

use crate::image::FileMeta;
use crate::sbom::model::Package;
use read::{Reader, Source};

/// Smaller files are scripts or stubs; no Go or auditable Rust binary is
/// this small.
pub const MIN_SIZE: u64 = 4 * 1024;
/// Larger files are not read. Reading one costs its section tables and
/// build information, not its size; the bound is the layer reader's
/// per-file limit.
pub const MAX_SIZE: u64 = 1 << 30;

/// Whether a file may be a Go or Rust binary: an executable (any `x` bit)
/// or a shared object (`*.so`, `*.so.N`: cdylibs carry `.dep-v0` too), of
/// a size worth reading.
pub fn wants(file: &FileMeta<'_>) -> bool {
    if file.size < MIN_SIZE || file.size > MAX_SIZE {
        return false;
    }
    let name = file.path.rsplit('/').next().unwrap_or_default();
    file.mode & 0o111 != 0 || name.ends_with(".so") || name.contains(".so.")
}

/// An executable's headers, by format.
pub(crate) enum Format {
    Elf(elf::Elf),
    MachO(macho::MachO),
    Pe(pe::Pe),
}

impl Format {
    /// The format `r` is in: `Ok(None)` for none of the three, `Err(())`
    /// for a file that starts like one but whose headers do not parse
    /// (what Go would not read, we do not guess at).
    pub(crate) fn detect(r: &mut Reader<'_>) -> Result<Option<Format>, ()> {
        let head = r.bytes_upto(0, 4).ok_or(())?;
        if elf::is_elf(&head) {
            elf::Elf::parse(r).map(|e| Some(Format::Elf(e))).ok_or(())
        } else if macho::kind(&head).is_some() {
            macho::MachO::parse(r)
                .map(|m| Some(Format::MachO(m)))
                .ok_or(())
        } else if pe::is_pe(&head) {
            // `MZ` also starts files that are not PE: those are read as
            // unknown.
            Ok(pe::Pe::parse(r).map(Format::Pe))
        } else {
            Ok(None)
        }
    }

    pub(crate) fn section(&self, r: &mut Reader<'_>, name: &str) -> Option<Vec<u8>> {
        match self {
            Format::Elf(e) => e.section(r, name),
            Format::MachO(m) => m.section(r, name),
            Format::Pe(p) => p.section(r, name),
        }
    }

    /// The first `max` bytes of the data the Go linker puts buildinfo at
    /// the start of, when it has no section of its own.
    pub(crate) fn writable_data(&self, r: &mut Reader<'_>, max: u64) -> Option<Vec<u8>> {
        match self {
            Format::Elf(e) => e.writable_data(r, max),
            Format::MachO(m) => m.writable_data(r, max),
            Format::Pe(p) => p.writable_data(r, max),
        }
    }

    pub(crate) fn read_addr(&self, r: &mut Reader<'_>, addr: u64, len: u64) -> Option<Vec<u8>> {
        match self {
            Format::Elf(e) => e.read_addr(r, addr, len),
            Format::MachO(m) => m.read_addr(r, addr, len),
            Format::Pe(p) => p.read_addr(r, addr, len),
        }
    }
}

/// The packages recorded in a binary of `len` bytes (Go modules and
/// stdlib, auditable crates), with `found_at` = the file and `layer` = its
/// layer; `None` when it records none or is malformed.
pub fn extract(file: &FileMeta<'_>, src: &mut dyn Source, len: u64) -> Option<Vec<Package>> {
    let mut r = Reader::new(src, len);
    let format = Format::detect(&mut r).ok()?;
    let mut out = Vec::new();
    if let Some(info) = golang::read(&mut r, format.as_ref()) {
        out.extend(golang::packages(&info, file));
    }
    if let Some(format) = &format {
        out.extend(cargo::packages(&mut r, format, file).unwrap_or_default());
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests;
