//! What the layer reader asks of whoever wants file contents (the SBOM
//! catalogers, the linter's ELF check): which files, and what to keep of
//! them. Keeping a small extract instead of the bytes bounds memory by what
//! the catalogers need, not by the image.

/// A regular file met while streaming a layer.
#[derive(Debug, Clone, Copy)]
pub struct FileMeta<'a> {
    /// Absolute and normalised: `/usr/lib/os-release` (no `.`/`..`, no
    /// trailing slash), whatever the tar header spelled.
    pub path: &'a str,
    /// Size in bytes (uncompressed).
    pub size: u64,
    /// Permission bits from the tar header (`0o755`).
    pub mode: u32,
    /// Index of the layer, base layer = 0.
    pub layer: usize,
}

/// Chooses files and keeps an extract of each.
pub trait Collector: Sync {
    type Item: Clone + Send;

    /// Whether to read this file's contents. Called for every regular file
    /// (and hard link to one) of every layer; must be cheap.
    fn wants(&self, file: &FileMeta<'_>) -> bool;

    /// The file's whole contents (never more than the per-file limit);
    /// returns what to keep, or `None` to keep nothing.
    fn collect(&self, file: &FileMeta<'_>, contents: &[u8]) -> Option<Self::Item>;
}
