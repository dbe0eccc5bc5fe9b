//! Packages found inside executables (Go buildinfo, cargo-auditable).

// stub: replaced by the binary catalogers

use crate::image::FileMeta;
use crate::sbom::model::Package;

/// Whether `file` may be an executable worth inspecting.
pub fn wants(_file: &FileMeta) -> bool {
    false
}

/// The packages an executable declares, if any.
pub fn extract(_file: &FileMeta, _contents: &[u8]) -> Option<Vec<Package>> {
    None
}
