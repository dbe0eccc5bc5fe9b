//! `wharf sbom`: what is inside an image — the OS, its packages, and the
//! language packages beside them — as CycloneDX or SPDX.

pub mod binary;
pub mod catalog;
pub mod files;
pub mod model;
