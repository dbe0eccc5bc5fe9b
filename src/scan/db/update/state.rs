//! What `wharf db update` remembers between runs: `osv/update.json`, beside
//! the generations (never inside one), one entry per ecosystem.
//!
//! It is written (atomically) only after the import it describes has
//! succeeded, so it never claims more than the cache holds. A crash between
//! the import and this write leaves the older state: the next update then
//! fetches again what it already has (re-importing a record is harmless),
//! and no record is ever skipped. A state file that cannot be read is
//! treated as none (a full download), with a warning.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{fsutil, Error, Result};

const FORMAT: u32 = 1;
const FILE: &str = "update.json";

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub format: u32,
    /// By osv.dev directory name (`Debian`, `PyPI`, `crates.io`).
    pub ecosystems: BTreeMap<String, Ecosystem>,
}

/// One ecosystem's feed, as last seen.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ecosystem {
    /// The mirror it was downloaded from: ETags and the high-water mark only
    /// mean something for that mirror.
    pub mirror: String,
    /// `all.zip` as last downloaded in full: its ETag, `X-Goog-Hash` crc32c,
    /// size and how many records it held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip_etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip_crc32c: Option<String>,
    #[serde(default)]
    pub zip_bytes: u64,
    #[serde(default)]
    pub zip_records: usize,
    /// `modified_id.csv`'s ETag when its records newer than `high_water`
    /// were last fetched: while it answers 304, nothing changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csv_etag: Option<String>,
    /// The newest `modified` of any record imported from this feed
    /// (RFC 3339): records at or before it are in the cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high_water: Option<String>,
    /// When the mirror was last asked (RFC 3339).
    pub checked_at: String,
    /// When data from it was last imported (RFC 3339).
    pub updated_at: String,
    /// The mirror had no data for it (`all.zip` answered 404) when it was
    /// last asked: scans do not ask again until the data would be stale,
    /// and name its packages as not scanned meanwhile.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub absent: bool,
}

impl Ecosystem {
    pub fn high_water(&self) -> Option<Timestamp> {
        self.high_water.as_deref().and_then(|t| t.parse().ok())
    }

    pub fn checked_at(&self) -> Option<Timestamp> {
        self.checked_at.parse().ok()
    }
}

pub fn path(root: &Path) -> PathBuf {
    super::super::cache::osv_dir(root).join(FILE)
}

/// The state, or an empty one when there is none (or it cannot be read:
/// `warn` then says so).
pub fn load(root: &Path, warn: bool) -> State {
    let path = path(root);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return State::default(),
        Err(e) => {
            if warn {
                crate::report::warn(&format!(
                    "{}: cannot read the update state ({e}); downloading in full",
                    path.display()
                ));
            }
            return State::default();
        }
    };
    match serde_json::from_slice::<State>(&bytes) {
        Ok(state) if state.format == FORMAT => state,
        Ok(_) => State::default(),
        Err(e) => {
            if warn {
                crate::report::warn(&format!(
                    "{}: the update state is damaged ({e}); downloading in full",
                    path.display()
                ));
            }
            State::default()
        }
    }
}

/// Writes the state atomically.
pub fn save(root: &Path, state: &State) -> Result<()> {
    let path = path(root);
    let mut state = state.clone();
    state.format = FORMAT;
    let json = serde_json::to_vec_pretty(&state)
        .map_err(|e| Error::file(&path, format!("cannot encode the update state: {e}")))?;
    fsutil::write_file(&path, &json).map_err(|e| {
        Error::file(
            &path,
            format!("cannot write the update state: {e}; the data was imported, the next update fetches it again"),
        )
    })
}

/// The ecosystems whose whole feed was downloaded into the cache at `root`,
/// even those that held no record (not those the mirror did not have).
pub fn downloaded(root: &Path) -> BTreeSet<String> {
    load(root, false)
        .ecosystems
        .into_iter()
        .filter(|(_, e)| !e.absent)
        .map(|(name, _)| name)
        .collect()
}
