//! Where an image's referrers (signatures, attestations) are written and
//! read: a registry repository, or an OCI image layout directory. A layout
//! keeps them as ORAS does: blobs under `blobs/`, each referrer manifest
//! listed in `index.json` beside the images (with its `artifactType`, so
//! `oci:DIR` still names the one image), found again by its `subject`.

use bytes::Bytes;

use super::client::{sha256_digest, Platform, RegistryClient, RegistryError, Resolved};
use super::layout::{self, LayoutRef};
use super::oci::Descriptor;
use super::push::{Fetched, Pushed};
use super::ImageRef;
use crate::config::ReferrersFallback;
use crate::reference::Reference;

/// A registry repository through a client, or a layout on disk.
pub enum Store<'a> {
    Registry {
        client: &'a RegistryClient,
        repo: &'a Reference,
    },
    Layout(&'a LayoutRef),
}

impl<'a> Store<'a> {
    pub fn new(client: &'a RegistryClient, image: &'a ImageRef) -> Store<'a> {
        match image {
            ImageRef::Registry(repo) => Store::Registry { client, repo },
            ImageRef::Layout(l) => Store::Layout(l),
        }
    }

    /// The layout's error, naming the directory.
    fn layout_error(l: &LayoutRef, detail: String) -> RegistryError {
        RegistryError::Layout {
            path: l.dir.display().to_string(),
            detail,
        }
    }

    /// The repository (`registry/repository`), or `oci:DIR`: the image's
    /// name in messages and in signed statements.
    pub fn name(&self) -> String {
        match self {
            Store::Registry { repo, .. } => repo.name().to_string(),
            Store::Layout(l) => l.name(),
        }
    }

    pub fn is_layout(&self) -> bool {
        matches!(self, Store::Layout(_))
    }

    /// The registry reference, where there is one (cosign's legacy tags
    /// live only in registries).
    pub fn registry(&self) -> Option<(&'a RegistryClient, &'a Reference)> {
        match self {
            Store::Registry { client, repo } => Some((client, repo)),
            Store::Layout(_) => None,
        }
    }

    pub async fn resolve(&self, platform: Option<&Platform>) -> Result<Resolved, RegistryError> {
        match self {
            Store::Registry { client, repo } => client.resolve(repo, platform).await,
            Store::Layout(l) => layout::resolve(l, platform),
        }
    }

    pub async fn push_blob(&self, bytes: Bytes) -> Result<String, RegistryError> {
        match self {
            Store::Registry { client, repo } => client.push_blob(repo, bytes).await,
            Store::Layout(l) => {
                layout::write_blob(&l.dir, &bytes).map_err(|e| Self::layout_error(l, e))
            }
        }
    }

    /// Stores a blob without asking whether it is there already: for
    /// content just made, which nothing can hold yet.
    pub async fn upload_blob(&self, bytes: Bytes) -> Result<String, RegistryError> {
        match self {
            Store::Registry { client, repo } => client.upload_blob(repo, bytes).await,
            Store::Layout(l) => {
                layout::write_blob(&l.dir, &bytes).map_err(|e| Self::layout_error(l, e))
            }
        }
    }

    /// Stores a manifest under its digest. A layout lists nothing yet:
    /// [`Store::add_referrer`] does, once the manifest is in place.
    pub async fn push_manifest(
        &self,
        digest: &str,
        media_type: &str,
        bytes: Bytes,
    ) -> Result<Pushed, RegistryError> {
        match self {
            Store::Registry { client, repo } => {
                client.push_manifest(repo, digest, media_type, bytes).await
            }
            Store::Layout(l) => {
                let written =
                    layout::write_blob(&l.dir, &bytes).map_err(|e| Self::layout_error(l, e))?;
                Ok(Pushed {
                    digest: written,
                    subject_indexed: false,
                })
            }
        }
    }

    /// Makes `descriptor` findable as a referrer of `subject`: the
    /// registry's fallback index (unless the registry has the referrers API
    /// and `--referrers-fallback` is `auto`), the layout's `index.json`.
    pub async fn add_referrer(
        &self,
        subject: &str,
        descriptor: &Descriptor,
    ) -> Result<(), RegistryError> {
        match self {
            Store::Registry { client, repo } => {
                // Where the registry serves the referrers API it lists the
                // manifest by its `subject` already; a fallback tag there
                // would be a second, stale-prone copy (cosign writes none).
                if client.global().referrers_fallback == ReferrersFallback::Auto
                    && client.has_referrers_api(repo, subject).await?
                {
                    return Ok(());
                }
                client
                    .add_to_fallback_index(repo, subject, descriptor)
                    .await
            }
            Store::Layout(l) => {
                layout::add_to_index(&l.dir, descriptor).map_err(|e| Self::layout_error(l, e))
            }
        }
    }

    /// A manifest by digest; `None` when there is none.
    pub async fn fetch_manifest(&self, digest: &str) -> Result<Option<Fetched>, RegistryError> {
        match self {
            Store::Registry { client, repo } => client.fetch_manifest(repo, digest).await,
            Store::Layout(l) => {
                let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
                if !l.dir.join("blobs").join("sha256").join(hex).is_file() {
                    return Ok(None);
                }
                let bytes =
                    layout::read_blob(&l.dir, digest).map_err(|e| Self::layout_error(l, e))?;
                let media_type = serde_json::from_slice::<serde_json::Value>(&bytes)
                    .ok()
                    .and_then(|d| d["mediaType"].as_str().map(str::to_string))
                    .unwrap_or_default();
                Ok(Some(Fetched {
                    digest: sha256_digest(&bytes),
                    bytes,
                    media_type,
                }))
            }
        }
    }

    /// A blob of at most `max` bytes, its digest checked.
    pub async fn fetch_blob(&self, digest: &str, max: usize) -> Result<Vec<u8>, RegistryError> {
        match self {
            Store::Registry { client, repo } => client.fetch_blob(repo, digest, max).await,
            Store::Layout(l) => layout::read_blob_max(&l.dir, digest, max as u64)
                .map_err(|e| Self::layout_error(l, e)),
        }
    }

    /// Every referrer of `subject`.
    pub async fn referrers(&self, subject: &str) -> Result<Vec<Descriptor>, RegistryError> {
        match self {
            Store::Registry { client, repo } => Ok(client.referrers(repo, subject).await?.0),
            Store::Layout(l) => {
                layout::referrers(&l.dir, subject).map_err(|e| Self::layout_error(l, e))
            }
        }
    }

    /// Every referrer of `subject`, the fallback index as the client last
    /// read it where it did ([`RegistryClient::referrers_seen`]): for a
    /// signer's "signed already?" check, not for verification.
    pub async fn referrers_seen(&self, subject: &str) -> Result<Vec<Descriptor>, RegistryError> {
        match self {
            Store::Registry { client, repo } => Ok(client.referrers_seen(repo, subject).await?.0),
            Store::Layout(l) => {
                layout::referrers(&l.dir, subject).map_err(|e| Self::layout_error(l, e))
            }
        }
    }
}
