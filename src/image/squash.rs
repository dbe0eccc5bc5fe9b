//! The squashed filesystem: layers applied in order, whiteouts and opaque
//! directories honoured, as a container runtime would see the image.
//!
//! Each layer is first read whole into a [`Pending`] set (its entries, its
//! whiteouts, its opaque directories); only then are its whiteouts applied to
//! the view of the layers below, and its entries added. Doing it per layer,
//! not per tar entry, is what makes an opaque marker hide the lower layers'
//! contents but not the same layer's, wherever it sits in the tar.

use std::collections::BTreeMap;
use std::io::Read;
use std::ops::Bound;

use super::collect::Collector;
use super::layer::{self, LayerBlob};
use super::paths::{self, Step};
use crate::Error;

/// Bounds on what reading one image may decompress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Decompressed bytes of all layers together; more is an error (a
    /// decompression bomb, or an image far larger than any real one).
    pub per_image: u64,
    /// The largest file a collector may be handed; a bigger wanted file is
    /// skipped with a note, not an error.
    pub per_file: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            per_image: 16 << 30,
            per_file: 512 << 20,
        }
    }
}

/// What a surviving path is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A regular file (a hard link to one is one too).
    File,
    Dir,
    /// A symbolic link, with its target as the tar wrote it.
    Symlink(String),
    /// A device, a FIFO, or a hard link whose target was not found.
    Other,
}

/// One path of the squashed view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<T> {
    /// The layer its surviving version comes from (base layer = 0).
    pub layer: usize,
    pub kind: Kind,
    /// Permission bits (`0o755`).
    pub mode: u32,
    /// Size in bytes for files, 0 otherwise.
    pub size: u64,
    /// What the collector kept of the file, if it wanted it.
    pub item: Option<T>,
}

/// Something worth telling about an entry that was still read (a path
/// clamped inside the root, a wanted file over the per-file limit, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub layer: usize,
    /// The entry's path (normalised when it could be).
    pub path: String,
    pub message: String,
}

/// More notes than this are counted, not kept: a hostile layer could hold
/// millions of odd entries.
const MAX_NOTES: usize = 1000;

/// One layer, read but not yet applied.
#[derive(Debug)]
pub(super) struct Pending<T> {
    pub entries: BTreeMap<String, Entry<T>>,
    /// Paths `.wh.<name>` files delete from the layers below.
    pub whiteouts: Vec<String>,
    /// Directories `.wh..wh..opq` makes opaque.
    pub opaque: Vec<String>,
    pub notes: Vec<Note>,
    /// Notes beyond what a layer keeps.
    pub dropped_notes: usize,
    /// Decompressed bytes the layer held.
    pub bytes: u64,
}

impl<T> Default for Pending<T> {
    fn default() -> Self {
        Pending {
            entries: BTreeMap::new(),
            whiteouts: Vec::new(),
            opaque: Vec::new(),
            notes: Vec::new(),
            dropped_notes: 0,
            bytes: 0,
        }
    }
}

/// Applies layers one by one. The synchronous core of [`super::read`],
/// usable on any `Read` (tests feed it tars built in memory).
#[derive(Debug)]
pub struct Squasher<T> {
    view: BTreeMap<String, Entry<T>>,
    notes: Vec<Note>,
    dropped_notes: usize,
    layers: usize,
    bytes: u64,
    limits: Limits,
}

impl<T: Clone> Squasher<T> {
    pub fn new(limits: Limits) -> Squasher<T> {
        Squasher {
            view: BTreeMap::new(),
            notes: Vec::new(),
            dropped_notes: 0,
            layers: 0,
            bytes: 0,
            limits,
        }
    }

    /// Reads the next layer (index = layers added so far), checks its
    /// digest and size when `blob` names them, and applies it. On error the
    /// view is left as it was before this layer: nothing from a blob that
    /// failed its digest check is kept.
    pub fn add_layer<R: Read, C: Collector<Item = T>>(
        &mut self,
        blob: LayerBlob<R>,
        collector: &C,
    ) -> Result<(), Error> {
        let index = self.layers;
        let budget = self.limits.per_image.saturating_sub(self.bytes);
        let pending = layer::read(blob, index, &self.view, collector, &self.limits, budget)?;
        self.bytes += pending.bytes;
        self.apply(pending);
        self.layers += 1;
        Ok(())
    }

    fn apply(&mut self, pending: Pending<T>) {
        // Whiteouts and opaque markers act on the layers below only; this
        // layer's own entries are added afterwards, so they survive.
        for dir in &pending.opaque {
            remove_below(&mut self.view, dir);
        }
        for path in &pending.whiteouts {
            self.view.remove(path);
            remove_below(&mut self.view, path);
        }
        // A non-directory over a lower directory hides all it held.
        for (path, entry) in &pending.entries {
            if entry.kind != Kind::Dir {
                remove_below(&mut self.view, path);
            }
        }
        self.view.extend(pending.entries);
        self.dropped_notes += pending.dropped_notes;
        for note in pending.notes {
            if self.notes.len() < MAX_NOTES {
                self.notes.push(note);
            } else {
                self.dropped_notes += 1;
            }
        }
    }

    /// The view after the layers added so far.
    pub fn finish(mut self) -> Squashed<T> {
        if self.dropped_notes > 0 {
            self.notes.push(Note {
                layer: self.layers.saturating_sub(1),
                path: "/".into(),
                message: format!("{} more notes not kept", self.dropped_notes),
            });
        }
        Squashed {
            entries: self.view,
            notes: self.notes,
            layers: self.layers,
            bytes: self.bytes,
        }
    }
}

/// Reads `layers` in order (base first) and squashes them.
pub fn squash_layers<R, C>(
    layers: impl IntoIterator<Item = LayerBlob<R>>,
    collector: &C,
    limits: &Limits,
) -> Result<Squashed<C::Item>, Error>
where
    R: Read,
    C: Collector,
{
    let mut squasher = Squasher::new(*limits);
    for blob in layers {
        squasher.add_layer(blob, collector)?;
    }
    Ok(squasher.finish())
}

/// Removes every path strictly below `dir`.
fn remove_below<T>(view: &mut BTreeMap<String, Entry<T>>, dir: &str) {
    let prefix = paths::below(dir);
    // '0' is the byte after '/': [prefix, upper) is exactly "starts with prefix".
    let mut upper = prefix.clone();
    upper.pop();
    upper.push('0');
    let doomed: Vec<String> = view
        .range::<str, _>((
            Bound::Included(prefix.as_str()),
            Bound::Excluded(upper.as_str()),
        ))
        .map(|(k, _)| k.clone())
        .collect();
    for key in doomed {
        view.remove(&key);
    }
}

/// The image's filesystem after all layers: every surviving path, and what
/// the collector kept of the files it wanted.
#[derive(Debug, Clone)]
pub struct Squashed<T> {
    entries: BTreeMap<String, Entry<T>>,
    notes: Vec<Note>,
    layers: usize,
    bytes: u64,
}

impl<T> Squashed<T> {
    /// The entry recorded at exactly `path` (absolute, normalised), without
    /// following symlinks.
    pub fn entry(&self, path: &str) -> Option<&Entry<T>> {
        self.entries.get(path)
    }

    /// `path` with every symlink in it followed, inside the image root
    /// (see [`paths::resolve`]); `None` for a loop or a path through a file.
    pub fn resolve(&self, path: &str) -> Option<String> {
        paths::resolve(path, |p| match self.entries.get(p).map(|e| &e.kind) {
            None => Step::Missing,
            Some(Kind::Dir) => Step::Directory,
            Some(Kind::Symlink(target)) => Step::Symlink(target),
            Some(Kind::File | Kind::Other) => Step::NotDirectory,
        })
    }

    /// The entry `path` leads to, following symlinks in every component;
    /// with the path it was found at.
    pub fn lookup(&self, path: &str) -> Option<(&str, &Entry<T>)> {
        let resolved = self.resolve(path)?;
        self.entries
            .get_key_value(&resolved)
            .map(|(k, e)| (k.as_str(), e))
    }

    /// Every surviving path, in path order.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &Entry<T>)> {
        self.entries.iter().map(|(k, e)| (k.as_str(), e))
    }

    /// The surviving files the collector kept something of, in path order.
    pub fn items(&self) -> impl Iterator<Item = (&str, &Entry<T>, &T)> {
        self.entries
            .iter()
            .filter_map(|(k, e)| e.item.as_ref().map(|item| (k.as_str(), e, item)))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Notes about entries that were read with a caveat.
    pub fn notes(&self) -> &[Note] {
        &self.notes
    }

    /// How many layers were applied.
    pub fn layers(&self) -> usize {
        self.layers
    }

    /// Decompressed bytes read, all layers together.
    pub fn decompressed_bytes(&self) -> u64 {
        self.bytes
    }
}
