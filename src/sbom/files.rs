//! The catalogers' view of an image: the squashed filesystem, reduced to
//! the files they asked for and what they kept of each.

use std::collections::BTreeMap;

use super::model::Package;

/// What was kept of one file while the layers streamed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Extracted {
    /// The file's bytes: package databases, metadata files, manifests.
    Bytes(Vec<u8>),
    /// Packages parsed on the spot from a binary or an archive (Go
    /// buildinfo, cargo-auditable, jars), so that its bytes need not be
    /// kept. `found_at` and `layer` are already set.
    Packages(Vec<Package>),
}

/// One collected file of the squashed view.
#[derive(Debug, Clone, Copy)]
pub struct Found<'a> {
    /// Absolute path of the file itself (after following symlinks).
    pub path: &'a str,
    /// The layer the surviving copy of the file came from.
    pub layer: usize,
    pub data: &'a Extracted,
}

/// The squashed filesystem as the catalogers see it.
pub trait Files {
    /// The collected file at `path` (absolute), following symlinks inside
    /// the image; `None` when it does not exist, was deleted by a later
    /// layer, or was not collected.
    fn get(&self, path: &str) -> Option<Found<'_>>;
    /// Every collected file that survived squashing, in path order.
    fn collected(&self) -> Vec<Found<'_>>;
}

/// An in-memory [`Files`] for tests and for callers that already hold the
/// files: `symlinks` maps a link's absolute path to its target as written.
#[derive(Debug, Default)]
pub struct MemFiles {
    pub files: BTreeMap<String, (usize, Extracted)>,
    pub symlinks: BTreeMap<String, String>,
}

impl MemFiles {
    pub fn add(&mut self, path: &str, layer: usize, data: Extracted) -> &mut Self {
        self.files.insert(path.to_string(), (layer, data));
        self
    }

    pub fn add_bytes(&mut self, path: &str, bytes: &[u8]) -> &mut Self {
        self.add(path, 0, Extracted::Bytes(bytes.to_vec()))
    }

    pub fn link(&mut self, path: &str, target: &str) -> &mut Self {
        self.symlinks.insert(path.to_string(), target.to_string());
        self
    }

    fn resolve(&self, path: &str) -> Option<String> {
        let mut current = normalise("/", path);
        for _ in 0..40 {
            match self.symlinks.get(&current) {
                Some(target) => {
                    let parent = current.rsplit_once('/').map(|(p, _)| p).unwrap_or("");
                    current = normalise(if parent.is_empty() { "/" } else { parent }, target);
                }
                None => return Some(current),
            }
        }
        None
    }
}

/// Joins `path` onto `base` (both absolute when `path` starts with `/`) and
/// removes `.`/`..`, never climbing above `/`.
pub fn normalise(base: &str, path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    let joined = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("{base}/{path}")
    };
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

impl Files for MemFiles {
    fn get(&self, path: &str) -> Option<Found<'_>> {
        let resolved = self.resolve(path)?;
        self.files
            .get_key_value(&resolved)
            .map(|(path, (layer, data))| Found {
                path,
                layer: *layer,
                data,
            })
    }

    fn collected(&self) -> Vec<Found<'_>> {
        self.files
            .iter()
            .map(|(path, (layer, data))| Found {
                path,
                layer: *layer,
                data,
            })
            .collect()
    }
}

/// The catalogers read the squashed view through [`Files`].
impl Files for crate::image::Squashed<Extracted> {
    fn get(&self, path: &str) -> Option<Found<'_>> {
        let (path, entry) = self.lookup(path)?;
        let data = entry.item.as_ref()?;
        Some(Found {
            path,
            layer: entry.layer,
            data,
        })
    }

    fn collected(&self) -> Vec<Found<'_>> {
        self.items()
            .map(|(path, entry, data)| Found {
                path,
                layer: entry.layer,
                data,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_never_climb_above_the_root() {
        assert_eq!(normalise("/", "../../etc/passwd"), "/etc/passwd");
        assert_eq!(normalise("/usr/lib", "../../../x"), "/x");
        assert_eq!(normalise("/etc", "./os-release"), "/etc/os-release");
    }

    #[test]
    fn symlinks_resolve_inside_the_image() {
        let mut files = MemFiles::default();
        files
            .add_bytes("/usr/lib/os-release", b"ID=debian\n")
            .link("/etc/os-release", "../usr/lib/os-release")
            .link("/loop", "/loop");
        assert_eq!(
            files.get("/etc/os-release").map(|f| f.path),
            Some("/usr/lib/os-release")
        );
        assert!(files.get("/loop").is_none());
    }
}
