//! The registry's write path and the reads that go with it: blobs,
//! manifests, referrers. Writes go blobs → manifest → index/tag, so a reader
//! never finds a manifest whose blobs are missing.
//!
//! Referrers (signatures, attestations) are found through the referrers API
//! where the registry has it, and through the `sha256-<hex>` fallback index
//! where it does not (Debian's registry, GHCR). The fallback index has no
//! conditional update in the distribution API, so adding to it is
//! read-merge-write followed by a check that the entry survived; two
//! signers racing each re-add what the other overwrote.

use std::time::Duration;

use bytes::Bytes;
use reqwest::header::LOCATION;
use reqwest::Method;

use super::client::{
    header_digest, read_bounded, sha256_digest, RegistryClient, RegistryError, Req, MANIFEST_ACCEPT,
};
use super::oci::{fallback_tag, Descriptor, Index, OCI_INDEX};
use crate::reference::Reference;

const MANIFEST_MAX: usize = 4 << 20;
/// How many read-merge-write rounds an index update gets before giving up.
const INDEX_ROUNDS: u32 = 8;

/// A manifest read back: its exact bytes, media type and digest.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub bytes: Vec<u8>,
    pub media_type: String,
    pub digest: String,
}

/// What the registry said to a manifest upload.
#[derive(Debug, Clone)]
pub struct Pushed {
    pub digest: String,
    /// The registry processed the manifest's `subject` (`OCI-Subject`
    /// header): it serves it through the referrers API, no fallback needed.
    pub subject_indexed: bool,
}

/// Where referrers were found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferrersSource {
    Api,
    FallbackTag,
}

impl RegistryClient {
    /// Whether `repo` (its registry and repository) has the blob `digest`.
    pub async fn blob_exists(&self, repo: &Reference, digest: &str) -> Result<bool, RegistryError> {
        let state = self.state(repo.registry()).await?;
        let repository = repo.repository();
        let url = format!("{}/v2/{repository}/blobs/{digest}", state.base);
        let req = Req {
            method: Method::HEAD,
            url: &url,
            accept: "*/*",
            body: None,
            push: false,
        };
        match self
            .send_req(&state, &repository, &format!("{repository}@{digest}"), &req)
            .await
        {
            Ok(_) => Ok(true),
            Err(RegistryError::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Uploads `bytes` as a blob unless the registry already has it; returns its digest.
    pub async fn push_blob(&self, repo: &Reference, bytes: Bytes) -> Result<String, RegistryError> {
        let digest = sha256_digest(&bytes);
        if self.blob_exists(repo, &digest).await? {
            return Ok(digest);
        }
        let state = self.state(repo.registry()).await?;
        let repository = repo.repository();
        let what = format!("{repository}@{digest}");
        let start = format!("{}/v2/{repository}/blobs/uploads/", state.base);
        let req = Req {
            method: Method::POST,
            url: &start,
            accept: "*/*",
            body: Some((Bytes::new(), "application/octet-stream")),
            push: true,
        };
        let resp = self.send_req(&state, &repository, &what, &req).await?;
        let location = resp
            .headers()
            .get(LOCATION)
            .and_then(|l| l.to_str().ok())
            .ok_or_else(|| RegistryError::Protocol {
                what: what.clone(),
                registry: state.name.clone(),
                detail: "it started an upload without a Location header".into(),
            })?;
        let mut url = reqwest::Url::parse(&state.base)
            .and_then(|base| base.join(location))
            .map_err(|e| RegistryError::Protocol {
                what: what.clone(),
                registry: state.name.clone(),
                detail: format!("its upload Location {location:?} is not a URL: {e}"),
            })?;
        url.query_pairs_mut().append_pair("digest", &digest);
        let url = url.to_string();
        let req = Req {
            method: Method::PUT,
            url: &url,
            accept: "*/*",
            body: Some((bytes, "application/octet-stream")),
            push: true,
        };
        let resp = self.send_req(&state, &repository, &what, &req).await?;
        if let Some(got) = header_digest(resp.headers(), &state.name, &what)? {
            if got != digest {
                return Err(RegistryError::Protocol {
                    what,
                    registry: state.name.clone(),
                    detail: format!("it stored the blob as {got}"),
                });
            }
        }
        Ok(digest)
    }

    /// PUTs a manifest under `target` (a tag, or its own digest).
    pub async fn push_manifest(
        &self,
        repo: &Reference,
        target: &str,
        media_type: &str,
        bytes: Bytes,
    ) -> Result<Pushed, RegistryError> {
        let digest = sha256_digest(&bytes);
        let state = self.state(repo.registry()).await?;
        let repository = repo.repository();
        let what = format!("{repository}:{target}");
        let url = format!("{}/v2/{repository}/manifests/{target}", state.base);
        let req = Req {
            method: Method::PUT,
            url: &url,
            accept: "*/*",
            body: Some((bytes, media_type)),
            push: true,
        };
        let resp = self.send_req(&state, &repository, &what, &req).await?;
        if let Some(got) = header_digest(resp.headers(), &state.name, &what)? {
            if got != digest {
                return Err(RegistryError::Protocol {
                    what,
                    registry: state.name.clone(),
                    detail: format!("it stored the manifest as {got}, not {digest}"),
                });
            }
        }
        let subject_indexed = resp.headers().contains_key("oci-subject");
        Ok(Pushed {
            digest,
            subject_indexed,
        })
    }

    /// Reads a manifest by tag or digest; `None` when there is none.
    /// The bytes are checked against the digest asked for or announced.
    pub async fn fetch_manifest(
        &self,
        repo: &Reference,
        target: &str,
    ) -> Result<Option<Fetched>, RegistryError> {
        let state = self.state(repo.registry()).await?;
        let repository = repo.repository();
        let what = format!("{repository}:{target}");
        let url = format!("{}/v2/{repository}/manifests/{target}", state.base);
        let req = Req {
            method: Method::GET,
            url: &url,
            accept: MANIFEST_ACCEPT,
            body: None,
            push: false,
        };
        let resp = match self.send_req(&state, &repository, &what, &req).await {
            Ok(r) => r,
            Err(RegistryError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let media_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let announced = header_digest(resp.headers(), &state.name, &what)?;
        let bytes = read_bounded(resp, MANIFEST_MAX, &state.name, &what).await?;
        let digest = sha256_digest(&bytes);
        let expected = if target.starts_with("sha256:") {
            Some(target.to_string())
        } else {
            announced
        };
        if let Some(expected) = expected {
            if expected != digest {
                return Err(RegistryError::Protocol {
                    what,
                    registry: state.name.clone(),
                    detail: format!("the manifest bytes hash to {digest}, not {expected}"),
                });
            }
        }
        Ok(Some(Fetched {
            bytes,
            media_type,
            digest,
        }))
    }

    /// Reads a blob whole (at most `max` bytes) and checks its digest.
    pub async fn fetch_blob(
        &self,
        repo: &Reference,
        digest: &str,
        max: usize,
    ) -> Result<Vec<u8>, RegistryError> {
        let state = self.state(repo.registry()).await?;
        let repository = repo.repository();
        let what = format!("{repository}@{digest}");
        let url = format!("{}/v2/{repository}/blobs/{digest}", state.base);
        let req = Req {
            method: Method::GET,
            url: &url,
            accept: "*/*",
            body: None,
            push: false,
        };
        let resp = self.send_req(&state, &repository, &what, &req).await?;
        let bytes = read_bounded(resp, max, &state.name, &what).await?;
        let got = sha256_digest(&bytes);
        if got != digest {
            return Err(RegistryError::Protocol {
                what,
                registry: state.name.clone(),
                detail: format!("the blob hashes to {got}"),
            });
        }
        Ok(bytes)
    }

    /// Every referrer of `subject` in `repo`: the referrers API's answer
    /// and the fallback index's entries, without duplicates.
    pub async fn referrers(
        &self,
        repo: &Reference,
        subject: &str,
    ) -> Result<(Vec<Descriptor>, Vec<ReferrersSource>), RegistryError> {
        let state = self.state(repo.registry()).await?;
        let repository = repo.repository();
        let what = format!("{repository}@{subject} referrers");
        let mut found: Vec<Descriptor> = Vec::new();
        let mut sources = Vec::new();
        let url = format!("{}/v2/{repository}/referrers/{subject}", state.base);
        let req = Req {
            method: Method::GET,
            url: &url,
            accept: OCI_INDEX,
            body: None,
            push: false,
        };
        match self.send_req(&state, &repository, &what, &req).await {
            Ok(resp) => {
                let is_index = resp
                    .headers()
                    .get(reqwest::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.starts_with(OCI_INDEX));
                let bytes = read_bounded(resp, MANIFEST_MAX, &state.name, &what).await?;
                if is_index {
                    if let Ok(index) = serde_json::from_slice::<Index>(&bytes) {
                        found.extend(index.manifests);
                        sources.push(ReferrersSource::Api);
                    }
                }
            }
            // 404 (or a registry that does not know the route): no API.
            Err(RegistryError::NotFound { .. }) => {}
            Err(RegistryError::Status {
                status: 400 | 405, ..
            }) => {}
            Err(e) => return Err(e),
        }
        if let Some(index) = self.fetch_fallback_index(repo, subject).await? {
            sources.push(ReferrersSource::FallbackTag);
            for d in index.manifests {
                if !found.iter().any(|f| f.digest == d.digest) {
                    found.push(d);
                }
            }
        }
        Ok((found, sources))
    }

    async fn fetch_fallback_index(
        &self,
        repo: &Reference,
        subject: &str,
    ) -> Result<Option<Index>, RegistryError> {
        let Some(fetched) = self.fetch_manifest(repo, &fallback_tag(subject)).await? else {
            return Ok(None);
        };
        serde_json::from_slice::<Index>(&fetched.bytes)
            .map(Some)
            .map_err(|e| RegistryError::Protocol {
                what: format!("{}:{}", repo.repository(), fallback_tag(subject)),
                registry: repo.registry().to_string(),
                detail: format!("the referrers fallback index is not an OCI index: {e}"),
            })
    }

    /// Adds `descriptor` to the fallback index of `subject`, keeping every
    /// entry already there (and any a concurrent writer adds meanwhile).
    pub async fn add_to_fallback_index(
        &self,
        repo: &Reference,
        subject: &str,
        descriptor: &Descriptor,
    ) -> Result<(), RegistryError> {
        let tag = fallback_tag(subject);
        for round in 0..INDEX_ROUNDS {
            let mut index = self
                .fetch_fallback_index(repo, subject)
                .await?
                .unwrap_or_else(Index::empty);
            if index
                .manifests
                .iter()
                .any(|d| d.digest == descriptor.digest)
            {
                return Ok(());
            }
            index.manifests.push(descriptor.clone());
            index.media_type = Some(OCI_INDEX.to_string());
            let bytes = serde_json::to_vec(&index).map_err(|e| RegistryError::Protocol {
                what: tag.clone(),
                registry: repo.registry().to_string(),
                detail: format!("cannot serialise the index: {e}"),
            })?;
            self.push_manifest(repo, &tag, OCI_INDEX, Bytes::from(bytes))
                .await?;
            // Let a racing writer's PUT land, then check ours survived it;
            // the next round re-reads and merges if it did not.
            let settle = 100 + (rand::random::<u64>() % 200) * (u64::from(round) + 1);
            tokio::time::sleep(Duration::from_millis(settle)).await;
            let now = self
                .fetch_fallback_index(repo, subject)
                .await?
                .unwrap_or_else(Index::empty);
            if now.manifests.iter().any(|d| d.digest == descriptor.digest) {
                return Ok(());
            }
        }
        Err(RegistryError::Protocol {
            what: format!("{}:{tag}", repo.repository()),
            registry: repo.registry().to_string(),
            detail: format!(
                "the referrers fallback index kept losing the new entry to concurrent writers ({INDEX_ROUNDS} rounds); run again"
            ),
        })
    }
}
