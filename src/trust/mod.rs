//! Sigstore trust material: which Fulcio, Rekor, CT logs and timestamp
//! authorities to trust, and which services to sign with.
//!
//! Sources, first found wins: `--trusted-root FILE` (a TrustedRoot),
//! `--trust-config FILE` or `WHARF_TRUST_CONFIG` (a ClientTrustConfig: a
//! trusted root plus a signing config, as sigstore-python and cosign take
//! it), `--tuf-mirror URL --tuf-root FILE` (`WHARF_TUF_MIRROR`,
//! `WHARF_TUF_ROOT`: a Sigstore TUF repository, [`tuf`]), else Sigstore's
//! public-good instance as embedded in this build.

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
    PublicGood,
}

impl std::fmt::Display for TrustSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrustSource::TrustedRoot(p) => write!(f, "trusted root {}", p.display()),
            TrustSource::TrustConfig(p) => write!(f, "trust config {}", p.display()),
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

/// Loads the trust material from the first source given.
pub fn load(
    trusted_root: Option<&Path>,
    trust_config: Option<&Path>,
    tuf: Option<&tuf::TufSpec>,
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
    if let Some(spec) = tuf {
        let published = tuf::fetch(spec)?;
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
    let signing =
        SigningConfig::from_json(sigstore_verify::trust_root::SIGSTORE_PRODUCTION_SIGNING_CONFIG)
            .ok();
    Ok(Trust {
        source: TrustSource::PublicGood,
        root,
        signing,
    })
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
