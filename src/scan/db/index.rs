//! The in-memory index every source ends up as: one location per record, and
//! (ecosystem, normalised name) → the records affecting that package.
//! Records themselves are not kept; a lookup reads them from their location.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use jiff::Timestamp;

use super::read::Meta;

/// ecosystem → normalised package name → record numbers.
pub type Packages = BTreeMap<String, BTreeMap<String, Vec<u32>>>;

/// What adding a record did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// A record id not seen before.
    New,
    /// It replaced an older record with the same id.
    Replaced,
    /// A record with the same id and a newer `modified` is already there; this one was dropped.
    KeptExisting,
}

/// Collects records (one per id, the newest `modified` winning) and their locations.
pub struct Builder<L> {
    entries: Vec<(Meta, L)>,
    by_id: HashMap<String, usize>,
}

impl<L> Default for Builder<L> {
    fn default() -> Self {
        Builder {
            entries: Vec::new(),
            by_id: HashMap::new(),
        }
    }
}

impl<L> Builder<L> {
    /// Adds a record found at a location that `locate` produces — called only
    /// if the record wins, so a loser costs nothing (e.g. no bytes written).
    pub fn add_with<E>(
        &mut self,
        meta: Meta,
        locate: impl FnOnce() -> Result<L, E>,
    ) -> Result<Added, E> {
        match self.by_id.get(&meta.id) {
            Some(&slot) => {
                if meta.supersedes(&self.entries[slot].0) {
                    self.entries[slot] = (meta, locate()?);
                    Ok(Added::Replaced)
                } else {
                    Ok(Added::KeptExisting)
                }
            }
            None => {
                let loc = locate()?;
                self.by_id.insert(meta.id.clone(), self.entries.len());
                self.entries.push((meta, loc));
                Ok(Added::New)
            }
        }
    }

    pub fn add(&mut self, meta: Meta, loc: L) -> Added {
        match self.add_with(meta, || Ok::<L, std::convert::Infallible>(loc)) {
            Ok(added) => added,
            Err(never) => match never {},
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn into_entries(self) -> Vec<(Meta, L)> {
        self.entries
    }
}

/// The keyed map of a list of records.
pub fn packages<'a>(keys: impl Iterator<Item = &'a [(String, String)]>) -> Packages {
    let mut packages = Packages::new();
    for (n, keys) in keys.enumerate() {
        for (ecosystem, name) in keys {
            packages
                .entry(ecosystem.clone())
                .or_default()
                .entry(name.clone())
                .or_default()
                .push(n as u32);
        }
    }
    packages
}

/// Counts per ecosystem: a record counts once in each ecosystem it names.
pub fn per_ecosystem(packages: &Packages) -> BTreeMap<String, usize> {
    packages
        .iter()
        .map(|(ecosystem, names)| {
            let distinct: BTreeSet<u32> = names.values().flatten().copied().collect();
            (ecosystem.clone(), distinct.len())
        })
        .collect()
}

/// The newest of the records' `modified` times that parse as RFC 3339.
pub fn newest<'a>(modified: impl Iterator<Item = Option<&'a str>>) -> Option<Timestamp> {
    modified
        .flatten()
        .filter_map(|m| m.parse::<Timestamp>().ok())
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(id: &str, modified: &str, keys: &[(&str, &str)]) -> Meta {
        Meta {
            id: id.into(),
            modified: Some(modified.into()),
            modified_at: modified.parse().ok(),
            withdrawn: false,
            keys: keys
                .iter()
                .map(|(e, n)| (e.to_string(), n.to_string()))
                .collect(),
        }
    }

    #[test]
    fn one_record_per_id_newest_wins_and_keys_follow_the_winner() {
        let mut b = Builder::default();
        assert_eq!(
            b.add(meta("A", "2024-01-01T00:00:00Z", &[("PyPI", "x")]), 1),
            Added::New
        );
        assert_eq!(
            b.add(meta("B", "2024-01-01T00:00:00Z", &[("Go", "m")]), 2),
            Added::New
        );
        assert_eq!(
            b.add(meta("A", "2023-01-01T00:00:00Z", &[("PyPI", "old")]), 3),
            Added::KeptExisting
        );
        assert_eq!(
            b.add(meta("A", "2025-01-01T00:00:00Z", &[("PyPI", "y")]), 4),
            Added::Replaced
        );
        let entries = b.into_entries();
        let locs: Vec<i32> = entries.iter().map(|(_, l)| *l).collect();
        assert_eq!(locs, vec![4, 2]);
        let p = packages(entries.iter().map(|(m, _)| m.keys.as_slice()));
        assert_eq!(p["PyPI"]["y"], vec![0]);
        assert!(!p["PyPI"].contains_key("x"));
        assert_eq!(per_ecosystem(&p)["Go"], 1);
        assert_eq!(
            newest(entries.iter().map(|(m, _)| m.modified.as_deref())),
            "2025-01-01T00:00:00Z".parse().ok()
        );
    }
}
