//! The trusted root and signing config through a Sigstore TUF repository,
//! as cosign v3 gets them (`cosign initialize --mirror URL --root FILE`):
//! `trusted_root.json` and `signing_config.v0.2.json` are targets of a TUF
//! repository whose metadata is verified from a root obtained out of band,
//! so a Sigstore instance can rotate its keys (a new Rekor shard, a new CT
//! or TSA key) without any client being rebuilt.
//!
//! The client is sigstore-rust's `sigstore-tuf` (the one sigstore-trust-root
//! builds on). Verified metadata and targets are cached per mirror under
//! wharf's cache root (`tuf/<mirror>/`); every file is written atomically,
//! and jobs sharing a runner take turns on the cache's lock, so none reads
//! half-written metadata.
//!
//! When the mirror cannot be reached (connection refused, 5xx, a stall past
//! `WHARF_HTTP_TIMEOUT`), or with `--offline`, the cache is used after the
//! same verification from the root — expired metadata is refused there
//! too — with a warning that says how old it is. When the mirror answers
//! but its metadata fails verification (expired, a target whose bytes do
//! not match, a rollback, a root rotation without enough of the old keys'
//! signatures) that is an error: nothing from it is trusted, and the cache
//! keeps its last verified state.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use sigstore_tuf::{FileStore, HttpRepository, StoreRepository, Updater};

use crate::error::{Error, Result};
use crate::report;

pub const TRUSTED_ROOT_TARGET: &str = "trusted_root.json";
pub const SIGNING_CONFIG_TARGET: &str = "signing_config.v0.2.json";

/// Sigstore public-good's TUF repository.
pub const PUBLIC_GOOD_MIRROR: &str = "https://tuf-repo-cdn.sigstore.dev";

/// Public-good's TUF root (version 16, expiring 2027-04-22; SHA-256
/// 27aea7e372aa7864065174f0661784fcf8b0e28b1dbfebeada31a0f1fb19167f), as
/// sigstore/root-signing publishes it and sigstore-trust-root 0.15 ships
/// it: where trust in the public-good repository begins. It may expire:
/// the client walks the repository's newer roots from it, each signed by
/// enough keys of the one before, as TUF clients do.
pub const PUBLIC_GOOD_ROOT: &[u8] = include_bytes!("public-good-root.json");

/// A TUF repository's root metadata, obtained out of band.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TufRoot {
    /// A file the user named (`--tuf-root`).
    File(PathBuf),
    /// Bytes wharf already holds: public-good's root built in, or a root
    /// a policy carries.
    Bytes(Vec<u8>),
}

impl TufRoot {
    /// The root's bytes.
    pub fn read(&self) -> Result<Vec<u8>> {
        match self {
            TufRoot::File(path) => std::fs::read(path)
                .map_err(|e| Error::file(path, format!("cannot read the TUF root: {e}"))),
            TufRoot::Bytes(bytes) => Ok(bytes.clone()),
        }
    }

    /// How to name it in a message.
    pub fn describe(&self) -> String {
        match self {
            TufRoot::File(path) => path.display().to_string(),
            TufRoot::Bytes(_) => "the root.json wharf holds".to_string(),
        }
    }
}

/// A TUF repository to take trust from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TufSpec {
    /// The mirror's base URL (where `N.root.json` and `timestamp.json` are).
    pub mirror: String,
    /// Its root metadata, obtained out of band: where trust begins.
    pub root: TufRoot,
    /// Use the verified cache only; no network.
    pub offline: bool,
}

impl TufSpec {
    /// Sigstore public-good's repository, from the root built into wharf.
    pub fn public_good(offline: bool) -> TufSpec {
        TufSpec {
            mirror: PUBLIC_GOOD_MIRROR.to_string(),
            root: TufRoot::Bytes(PUBLIC_GOOD_ROOT.to_vec()),
            offline,
        }
    }

    /// The repository from `--tuf-mirror`/`--tuf-root`, else
    /// `WHARF_TUF_MIRROR`/`WHARF_TUF_ROOT`; `None` when neither names one.
    /// A mirror without a root is a mirror of public-good's repository (as
    /// `cosign initialize --mirror URL` without `--root`): trust in it
    /// begins at the root built into wharf.
    pub fn resolve(
        mirror: Option<&str>,
        root: Option<&Path>,
        offline: bool,
    ) -> Result<Option<TufSpec>> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let mirror = mirror
            .map(str::to_string)
            .or_else(|| env("WHARF_TUF_MIRROR"));
        let root = root
            .map(Path::to_path_buf)
            .or_else(|| env("WHARF_TUF_ROOT").map(PathBuf::from));
        let Some(mirror) = mirror else {
            return match root {
                None => Ok(None),
                Some(_) => Err(Error::Usage(
                    "--tuf-root (or WHARF_TUF_ROOT) needs --tuf-mirror (or WHARF_TUF_MIRROR): the \
                     repository's URL"
                        .into(),
                )),
            };
        };
        let parsed = url::Url::parse(&mirror).map_err(|e| {
            Error::Usage(format!(
                "--tuf-mirror {mirror:?} is not a URL ({e}); give the repository's base URL, \
                 for example {PUBLIC_GOOD_MIRROR}"
            ))
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::Usage(format!(
                "--tuf-mirror {mirror:?}: only http and https mirrors are read"
            )));
        }
        Ok(Some(TufSpec {
            mirror,
            root: match root {
                Some(path) => TufRoot::File(path),
                None => TufRoot::Bytes(PUBLIC_GOOD_ROOT.to_vec()),
            },
            offline,
        }))
    }

    /// Whether trust in it begins at public-good's root built into wharf
    /// (public-good's repository, or a mirror of it).
    pub fn is_public_good(&self) -> bool {
        matches!(&self.root, TufRoot::Bytes(b) if b.as_slice() == PUBLIC_GOOD_ROOT)
    }
}

/// What the repository published, verified.
#[derive(Debug, Clone)]
pub struct Published {
    pub trusted_root: String,
    /// Absent where the repository publishes no signing config (a
    /// verify-only instance).
    pub signing_config: Option<String>,
}

/// Fetches (or, offline or with the mirror down, reads from the verified
/// cache) the repository's trusted root and signing config. Blocks; callable
/// from inside or outside an async runtime.
pub fn fetch(spec: &TufSpec) -> Result<Published> {
    fetch_or_missing(spec, false)?.ok_or_else(|| {
        Error::Usage(format!(
            "no usable trust for the TUF repository {}: nothing from it is cached yet",
            spec.mirror
        ))
    })
}

/// [`fetch`], but `Ok(None)` where the mirror cannot be reached (or
/// `--offline`) and nothing from it is cached yet, when `missing_ok`: the
/// caller has a fallback. A refusal is an error either way.
pub fn fetch_or_missing(spec: &TufSpec, missing_ok: bool) -> Result<Option<Published>> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| Error::Usage(format!("cannot start the TUF client: {e}")))?;
                runtime.block_on(fetch_async(spec, missing_ok))
            })
            .join()
            .unwrap_or_else(|_| {
                Err(Error::Usage(format!(
                    "the TUF client for {} stopped unexpectedly",
                    spec.mirror
                )))
            })
    })
}

/// `tuf/<mirror as a file name>` under the cache root.
pub fn cache_dir(mirror: &str) -> Result<PathBuf> {
    let name: String = mirror
        .trim_end_matches('/')
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    Ok(crate::fsutil::cache_root()?.join("tuf").join(name))
}

async fn fetch_async(spec: &TufSpec, missing_ok: bool) -> Result<Option<Published>> {
    let root = spec.root.read()?;
    let dir = cache_dir(&spec.mirror)?;
    std::fs::create_dir_all(&dir).map_err(|e| {
        Error::file(
            &dir,
            format!(
                "cannot create the TUF cache: {e}; set WHARF_CACHE_DIR to a writable directory"
            ),
        )
    })?;
    let _lock = crate::fsutil::lock(
        &dir.join("LOCK"),
        true,
        &format!("the TUF cache of {}", spec.mirror),
    )
    .map_err(|e| Error::file(dir.join("LOCK"), e))?;

    let mut why_offline = None;
    if !spec.offline {
        match online(spec, &root, &dir).await {
            Ok(published) => return Ok(Some(published)),
            Err(e) if unreachable(&e) => why_offline = Some(crate::error::error_chain(&e)),
            Err(e) => return Err(refused(spec, &e)),
        }
    }
    if missing_ok && !dir.join("timestamp.json").is_file() {
        return Ok(None);
    }
    if let Some(why) = why_offline {
        report::warn(&format!(
            "the TUF mirror {} cannot be reached ({why}); using the verified cache",
            spec.mirror
        ));
    }
    cached(spec, &root, &dir).await.map(Some)
}

async fn online(spec: &TufSpec, root: &[u8], dir: &Path) -> sigstore_tuf::Result<Published> {
    let http = crate::registry::https_client().map_err(sigstore_tuf::Error::transport)?;
    let repo = HttpRepository::new(&spec.mirror)?.with_http_client(http);
    let updater = Updater::new(repo, root)?.with_store(FileStore::new(dir));
    targets(updater).await
}

async fn cached(spec: &TufSpec, root: &[u8], dir: &Path) -> Result<Published> {
    let repo = StoreRepository::new(FileStore::new(dir));
    let updater = Updater::new(repo, root)
        .map_err(|e| refused(spec, &e))?
        .with_store(FileStore::new(dir));
    let published = targets(updater).await.map_err(|e| {
        let why = if unreachable(&e) {
            "nothing from it is cached yet".to_string()
        } else {
            format!(
                "the cached metadata does not verify: {}",
                crate::error::error_chain(&e)
            )
        };
        Error::Usage(format!(
            "no usable trust for the TUF repository {}{}: {why}. {}",
            spec.mirror,
            if spec.offline { " (--offline)" } else { "" },
            if spec.offline {
                "Run once with the network to fill the cache, or pass --trust-config/--trusted-root"
            } else {
                "Check the mirror's URL and the network, or pass --trust-config/--trusted-root"
            }
        ))
    })?;
    let age = std::fs::metadata(dir.join("timestamp.json"))
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok());
    report::warn(&format!(
        "using the TUF metadata of {} cached {}; signatures made with keys it has rotated in since \
         then will not verify",
        spec.mirror,
        match age {
            Some(age) => format!("{} ago", human(age)),
            None => "earlier".into(),
        }
    ));
    Ok(published)
}

async fn targets(mut updater: Updater) -> sigstore_tuf::Result<Published> {
    let now = jiff::Timestamp::now();
    updater.refresh(now).await?;
    let trusted_root = updater.get_target(TRUSTED_ROOT_TARGET, now).await?;
    let signing_config = match updater.get_target(SIGNING_CONFIG_TARGET, now).await {
        Ok(bytes) => Some(bytes),
        Err(sigstore_tuf::Error::TargetNotFound(_)) => None,
        Err(e) => return Err(e),
    };
    let text = |bytes: Vec<u8>, name: &str| {
        String::from_utf8(bytes)
            .map_err(|_| sigstore_tuf::Error::Malformed(format!("{name} is not UTF-8")))
    };
    Ok(Published {
        trusted_root: text(trusted_root, TRUSTED_ROOT_TARGET)?,
        signing_config: signing_config
            .map(|b| text(b, SIGNING_CONFIG_TARGET))
            .transpose()?,
    })
}

/// The mirror could not be asked (as opposed to: it answered wrongly).
fn unreachable(e: &sigstore_tuf::Error) -> bool {
    matches!(e, sigstore_tuf::Error::Transport { .. })
}

/// A verification failure, as the error wharf exits 2 with.
fn refused(spec: &TufSpec, e: &sigstore_tuf::Error) -> Error {
    use sigstore_tuf::Error as E;
    let hint = match e {
        E::Expired { .. } => {
            "the mirror serves expired metadata (it is stale, or this machine's clock is wrong)"
        }
        E::IntegrityMismatch(_) => {
            "a file's bytes do not match what the signed metadata pins: the mirror or something \
             between it and this machine altered it"
        }
        E::Rollback { .. } | E::BadRootVersion { .. } => {
            "the mirror offers older metadata than this cache has already verified (a rollback)"
        }
        E::ThresholdNotMet { .. } | E::DuplicateSignature { .. } => {
            "metadata is not signed by enough of the keys trusted for it (for a root rotation: by \
             the previous root's keys); if the instance was re-keyed, get its new root.json out \
             of band and pass it with --tuf-root"
        }
        _ => "the repository's metadata does not verify",
    };
    Error::Usage(format!(
        "the TUF repository {} was refused: {} — {hint}. Nothing from it is trusted, and the cache \
         keeps its last verified state",
        spec.mirror,
        crate::error::error_chain(e)
    ))
}

fn human(age: std::time::Duration) -> String {
    let secs = age.as_secs();
    match secs {
        0..=119 => format!("{secs} s"),
        120..=7199 => format!("{} min", secs / 60),
        7200..=172_799 => format!("{} h", secs / 3600),
        _ => format!("{} days", secs / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mirror_and_a_root_come_together() {
        let root = Path::new("/r/root.json");
        assert_eq!(
            TufSpec::resolve(Some("https://tuf.example"), Some(root), false).ok(),
            Some(Some(TufSpec {
                mirror: "https://tuf.example".into(),
                root: TufRoot::File(root.into()),
                offline: false,
            }))
        );
        let e = TufSpec::resolve(None, Some(root), false)
            .err()
            .map(|e| e.to_string());
        assert!(
            e.as_deref()
                .is_some_and(|e| e.contains("--tuf-mirror") && e.contains("--tuf-root")),
            "{e:?}"
        );
        // A mirror alone mirrors public-good: its root is the one built in.
        let mirror = TufSpec::resolve(Some("https://tuf.example"), None, false)
            .ok()
            .flatten();
        assert!(mirror.is_some_and(|m| m.is_public_good() && m.mirror == "https://tuf.example"));
        assert!(TufSpec::public_good(true).is_public_good());
        assert!(
            serde_json::from_slice::<serde_json::Value>(PUBLIC_GOOD_ROOT)
                .ok()
                .and_then(|d| d.pointer("/signed/_type").cloned())
                .is_some_and(|t| t == "root")
        );
        let e = TufSpec::resolve(Some("file:///x"), Some(root), false).err();
        assert!(e.is_some_and(|e| e.to_string().contains("http")));
    }

    #[test]
    fn each_mirror_has_a_cache_of_its_own() {
        let a = cache_dir("http://127.0.0.1:8080/").ok();
        let b = cache_dir("http://127.0.0.1:8080").ok();
        let c = cache_dir("http://127.0.0.1:8081").ok();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.is_some_and(|p| p.ends_with("tuf/http%3A%2F%2F127.0.0.1%3A8080")));
    }
}
