//! `wharf sbom`: what is inside an image — the OS, its packages, and the
//! language packages beside them — as CycloneDX or SPDX.

pub mod binary;
mod bom;
pub mod catalog;
pub mod cyclonedx;
pub mod files;
pub mod license;
mod license_ids;
pub mod model;
pub mod purl;
pub mod spdx;

pub use cyclonedx::cyclonedx;
pub use spdx::spdx;
