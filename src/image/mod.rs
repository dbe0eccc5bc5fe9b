//! Reading an image's filesystem without unpacking it: layers stream from
//! the registry (or an `oci:` layout) through their decompressor, each
//! blob's digest checked as it streams, whiteouts applied, and only the
//! files a [`Collector`] asks for are read (into memory, or a large one
//! into an anonymous temporary file: [`Contents`]).
//!
//! - [`read`]: reference → [`ImageInfo`] + [`Squashed`] view (async).
//! - [`Squasher`] / [`squash_layers`]: the synchronous core, on any `Read`.
//! - [`Squashed::lookup`]: paths resolved through symlinks, never outside
//!   the image root, never against the host.

pub mod collect;
mod layer;
pub mod paths;
mod pull;
mod squash;

pub use collect::{Collector, Contents, FileMeta};
pub use layer::{Compression, LayerBlob, EXT_MAX};
pub use pull::{default_platform, inspect, read, ImageInfo, LayerInfo, CHANNEL_CHUNKS};
pub use squash::{squash_layers, Entry, Kind, Limits, Note, Squashed, Squasher};

#[cfg(test)]
mod tests;
