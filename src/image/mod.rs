//! Reading an image's filesystem without unpacking it: layers stream from
//! the registry (or an `oci:` layout) through their decompressor, each
//! blob's digest checked as it streams, whiteouts applied, and only the
//! files a [`Collector`] asks for are read into memory.

pub mod collect;

pub use collect::{Collector, FileMeta};
