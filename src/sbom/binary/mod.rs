//! Binary catalogers: packages compiled into executables, found the way
//! Syft and Trivy find them — Go's embedded build information (main module,
//! dependency modules, Go version) and the dependency tree `cargo
//! auditable` stores in Rust binaries.
//!
//! The layer reader calls [`wants`] on every regular file and hands the
//! wanted ones, whole, to [`extract`]; only the packages are kept, never
//! the binary's bytes.

mod cargo;
pub(crate) mod elf;
mod golang;

use crate::image::FileMeta;
use crate::sbom::model::Package;

/// Smaller files are scripts or stubs; no Go or auditable Rust binary is
/// this small.
pub const MIN_SIZE: u64 = 4 * 1024;
/// Larger files are not read: the whole file is held in memory while it is
/// inspected. The layer reader's own per-file limit applies on top.
pub const MAX_SIZE: u64 = 256 * 1024 * 1024;

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

/// The packages recorded in a binary (Go modules and stdlib, auditable
/// crates), with `found_at` = the file and `layer` = its layer; `None` when
/// it records none or is malformed.
pub fn extract(file: &FileMeta<'_>, contents: &[u8]) -> Option<Vec<Package>> {
    let elf = elf::Elf::parse(contents);
    // An ELF whose headers do not parse is not scanned as a flat file: what
    // Go would not read, we do not guess at.
    if elf.is_none() && elf::is_elf(contents) {
        return None;
    }
    let mut out = Vec::new();
    if let Some(info) = golang::read(contents, elf.as_ref()) {
        out.extend(golang::packages(&info, file));
    }
    if let Some(elf) = &elf {
        out.extend(cargo::packages(elf, file).unwrap_or_default());
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests;
