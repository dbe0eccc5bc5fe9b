//! Sigstore trust material: which Fulcio, Rekor, CT logs and timestamp
//! authorities to trust, and which services to sign with.
//!
//! Sources, first found wins: `--trusted-root FILE` (a TrustedRoot),
//! `--trust-config FILE` or `WHARF_TRUST_CONFIG` (a ClientTrustConfig: a
//! trusted root plus a signing config, as sigstore-python and cosign take
//! it), `--tuf-mirror URL --tuf-root FILE` (`WHARF_TUF_MIRROR`,
//! `WHARF_TUF_ROOT`: a Sigstore TUF repository, [`tuf`]), else Sigstore's
//! public-good instance through its TUF repository, from the TUF root
//! built into wharf, as cosign v3 does. Where that repository cannot be
//! reached (or `--offline`) and nothing from it is cached, the trusted root
//! and signing config built into this wharf are used, with a warning that
//! says how old they are.

pub mod tuf;

use std::path::{Path, PathBuf};

use sigstore_verify::trust_root::{SigningConfig, TrustedRoot, SIGSTORE_PRODUCTION_TRUSTED_ROOT};

use crate::error::{Error, Result};

pub const CLIENT_TRUST_CONFIG_MEDIA_TYPE: &str =
    "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json";

/// Where the trust material came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustSource {
    TrustedRoot(PathBuf),
    TrustConfig(PathBuf),
    /// A TUF repository, by its mirror's URL.
    Tuf(String),
    /// Public-good's trusted root built into this wharf (its TUF
    /// repository could not be reached and nothing was cached).
    PublicGood,
}

impl std::fmt::Display for TrustSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrustSource::TrustedRoot(p) => write!(f, "trusted root {}", p.display()),
            TrustSource::TrustConfig(p) => write!(f, "trust config {}", p.display()),
            TrustSource::Tuf(mirror) if mirror == tuf::PUBLIC_GOOD_MIRROR => {
                write!(f, "Sigstore public-good (TUF repository {mirror})")
            }
            TrustSource::Tuf(mirror) => write!(f, "TUF repository {mirror}"),
            TrustSource::PublicGood => f.write_str("Sigstore public-good (embedded trusted root)"),
        }
    }
}

pub struct Trust {
    pub source: TrustSource,
    pub root: TrustedRoot,
    /// Present for a trust config and for public-good; signing needs it.
    pub signing: Option<SigningConfig>,
}

/// Loads the trust material from the first source given, else public-good
/// (through its TUF repository unless `offline`).
pub fn load(
    trusted_root: Option<&Path>,
    trust_config: Option<&Path>,
    tuf: Option<&tuf::TufSpec>,
    offline: bool,
) -> Result<Trust> {
    if let Some(path) = trusted_root {
        let text = read(path)?;
        let root = TrustedRoot::from_json(&text)
            .map_err(|e| Error::file(path, format!("not a Sigstore trusted root: {e}")))?;
        return Ok(Trust {
            source: TrustSource::TrustedRoot(path.to_path_buf()),
            root,
            signing: None,
        });
    }
    if let Some(path) = trust_config {
        let text = read(path)?;
        let (root, signing) = parse_client_trust_config(&text).map_err(|e| Error::file(path, e))?;
        return Ok(Trust {
            source: TrustSource::TrustConfig(path.to_path_buf()),
            root,
            signing: Some(signing),
        });
    }
    let public_good = tuf::TufSpec::public_good(offline);
    // Public-good (or a mirror of it) falls back to the trust built in;
    // another instance has nothing to fall back to.
    let spec = tuf.unwrap_or(&public_good);
    let missing_ok = spec.is_public_good();
    if let Some(published) = tuf::fetch_or_missing(spec, missing_ok)? {
        let source = TrustSource::Tuf(spec.mirror.clone());
        let root = TrustedRoot::from_json(&published.trusted_root).map_err(|e| {
            Error::Usage(format!(
                "the {source} publishes a {} that is not a Sigstore trusted root: {e}",
                tuf::TRUSTED_ROOT_TARGET
            ))
        })?;
        let signing = match &published.signing_config {
            Some(text) => Some(SigningConfig::from_json(text).map_err(|e| {
                Error::Usage(format!(
                    "the {source} publishes a {} that is not a Sigstore signing config: {e}",
                    tuf::SIGNING_CONFIG_TARGET
                ))
            })?),
            None => None,
        };
        return Ok(Trust {
            source,
            root,
            signing,
        });
    }
    let root = TrustedRoot::from_json(SIGSTORE_PRODUCTION_TRUSTED_ROOT).map_err(|e| {
        Error::Usage(format!(
            "the embedded public-good trusted root does not parse: {e}"
        ))
    })?;
    crate::report::warn(&format!(
        "{}: using Sigstore public-good's trusted root built into wharf {} (its newest key dates \
         from {}); signatures on logs, certificates or timestamps from keys Sigstore added since \
         then will not verify. Run once with the network to cache its TUF repository ({}), or \
         pass --trusted-root/--trust-config",
        if offline {
            "--offline".to_string()
        } else {
            format!(
                "public-good's TUF repository {} cannot be reached and nothing from it is cached",
                spec.mirror
            )
        },
        env!("CARGO_PKG_VERSION"),
        newest_key(SIGSTORE_PRODUCTION_TRUSTED_ROOT).unwrap_or_else(|| "an unknown date".into()),
        spec.mirror,
    ));
    let signing =
        SigningConfig::from_json(sigstore_verify::trust_root::SIGSTORE_PRODUCTION_SIGNING_CONFIG)
            .ok();
    Ok(Trust {
        source: TrustSource::PublicGood,
        root,
        signing,
    })
}

/// The day the newest key of a trusted root became valid (its
/// `validFor.start`s): how current the trust built into a binary is.
fn newest_key(trusted_root: &str) -> Option<String> {
    let doc: serde_json::Value = serde_json::from_str(trusted_root).ok()?;
    let starts = [
        "tlogs",
        "ctlogs",
        "certificateAuthorities",
        "timestampAuthorities",
    ]
    .iter()
    .flat_map(|k| doc.get(*k).and_then(|v| v.as_array()).into_iter().flatten())
    .filter_map(|entry| {
        entry
            .pointer("/publicKey/validFor/start")
            .or_else(|| entry.pointer("/validFor/start"))
            .and_then(|v| v.as_str())
    })
    .filter_map(|t| t.parse::<jiff::Timestamp>().ok());
    starts.max().map(|t| t.strftime("%Y-%m-%d").to_string())
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::file(path, format!("cannot read it: {e}")))
}

/// Splits a ClientTrustConfig into its trusted root and signing config.
pub fn parse_client_trust_config(text: &str) -> Result<(TrustedRoot, SigningConfig), String> {
    let doc: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| format!("not a Sigstore ClientTrustConfig (invalid JSON: {e})"))?;
    match doc.get("mediaType").and_then(|m| m.as_str()) {
        Some(CLIENT_TRUST_CONFIG_MEDIA_TYPE) => {}
        Some(other) => {
            return Err(format!(
                "mediaType is {other:?}, not {CLIENT_TRUST_CONFIG_MEDIA_TYPE:?}; a bare trusted root goes to --trusted-root"
            ))
        }
        None => return Err("no mediaType: not a Sigstore ClientTrustConfig".into()),
    }
    let root = doc.get("trustedRoot").ok_or("it has no trustedRoot")?;
    let signing = doc.get("signingConfig").ok_or("it has no signingConfig")?;
    let root = TrustedRoot::from_json(&root.to_string())
        .map_err(|e| format!("its trustedRoot is invalid: {e}"))?;
    let signing = SigningConfig::from_json(&signing.to_string())
        .map_err(|e| format!("its signingConfig is invalid: {e}"))?;
    Ok((root, signing))
}
