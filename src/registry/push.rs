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
//!
//! A client remembers what it read and wrote by digest (manifests, small
//! blobs, which blobs a repository has): content named by its digest
//! cannot change, so `wharf run`'s stages, sharing one client, read each
//! thing once. What a tag names can change, so a tag is read again
//! whenever correctness needs the registry's present answer; only the
//! idempotency check of a signer may use the fallback index as this client
//! last saw it ([`RegistryClient::referrers_seen`]).

use std::collections::{HashMap, HashSet};
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
/// Attempts of a manifest upload the registry refuses for a blob it does
/// not (yet) see, and the wait before the second (growing linearly).
const BLOB_UNKNOWN_ATTEMPTS: u32 = 4;
const BLOB_UNKNOWN_WAIT: Duration = Duration::from_millis(150);

/// The registry refused a manifest because a blob it names is unknown.
fn blob_unknown(e: &RegistryError) -> bool {
    matches!(e, RegistryError::Status { status: 400, detail, .. } if detail.contains("BLOB_UNKNOWN"))
}

fn status_detail(e: &RegistryError) -> &str {
    match e {
        RegistryError::Status { detail, .. } => detail,
        _ => "",
    }
}

/// A manifest read back: its exact bytes, media type and digest.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub bytes: Vec<u8>,
    pub media_type: String,
    pub digest: String,
}

/// Blobs at most this large are remembered once read (bundles, configs);
/// layers are streamed and never kept.
const REMEMBER_MAX: usize = 16 << 20;

/// What a client read from or wrote to registries, keyed by
/// `registry/repository@digest`: named by digest, so never stale (but for
/// the fallback indexes, which say so).
#[derive(Default)]
pub(crate) struct Known {
    manifests: HashMap<String, Fetched>,
    blobs: HashMap<String, Vec<u8>>,
    /// Blobs the repository has (uploaded, found, or read).
    present: HashSet<String>,
    /// The fallback index of a subject as last read (`None`: there was
    /// none), by `registry/repository@subject`. Named by a tag, so it may
    /// be stale: only [`RegistryClient::referrers_seen`] reads it.
    fallback: HashMap<String, Option<Index>>,
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

/// What `RegistryClient::call` sends: the part of the URL after
/// `/v2/<repository>/`, and what goes with it.
struct Call<'a> {
    method: Method,
    path: String,
    /// Names the object in messages: `repo:tag`, `repo@digest`.
    what: String,
    accept: &'a str,
    body: Option<(Bytes, &'a str)>,
    push: bool,
}

impl<'a> Call<'a> {
    fn get(path: String, what: String, accept: &'a str) -> Call<'a> {
        Call {
            method: Method::GET,
            path,
            what,
            accept,
            body: None,
            push: false,
        }
    }
}

/// `registry/repository`, the key of what a run learns about a repository.
fn repo_key(repo: &Reference) -> String {
    format!("{}/{}", repo.registry(), repo.repository())
}

/// `registry/repository@digest`, the key of what a client knows by digest.
fn digest_key(repo: &Reference, digest: &str) -> String {
    format!("{}/{}@{digest}", repo.registry(), repo.repository())
}

/// Folds `other`, a second description of the same manifest, into
/// `existing`: a missing or generic (empty-config) `artifactType` gives way
/// to a specific one, and annotations missing from one side are added.
fn merge_descriptor(existing: &mut Descriptor, other: Descriptor) {
    let generic = |t: &Option<String>| {
        t.as_deref()
            .is_none_or(|t| t.is_empty() || t == super::oci::OCI_EMPTY)
    };
    if generic(&existing.artifact_type) && !generic(&other.artifact_type) {
        existing.artifact_type = other.artifact_type;
    }
    for (k, v) in other.annotations {
        existing.annotations.entry(k).or_insert(v);
    }
}

/// The error for bytes that are not what their digest says.
fn mismatch(what: String, registry: &str, detail: String) -> RegistryError {
    RegistryError::Protocol {
        what,
        registry: registry.to_string(),
        detail,
    }
}

fn content_type(resp: &reqwest::Response) -> String {
    resp.headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

impl RegistryClient {
    fn known(&self) -> std::sync::MutexGuard<'_, Known> {
        // Every change is a single insert: a panic elsewhere leaves it whole.
        self.known.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn remember_present(&self, repo: &Reference, digest: &str) {
        self.known().present.insert(digest_key(repo, digest));
    }

    fn remember_manifest(&self, repo: &Reference, fetched: &Fetched) {
        self.known()
            .manifests
            .insert(digest_key(repo, &fetched.digest), fetched.clone());
    }

    fn remember_fallback(&self, repo: &Reference, subject: &str, index: Option<&Index>) {
        self.known()
            .fallback
            .insert(digest_key(repo, subject), index.cloned());
    }

    /// Sends `call` to `/v2/<repository>/<path>` of `repo`'s registry.
    async fn call(
        &self,
        repo: &Reference,
        call: &Call<'_>,
    ) -> Result<reqwest::Response, RegistryError> {
        let state = self.state(repo.registry()).await?;
        let repository = repo.repository();
        let url = format!("{}/v2/{repository}/{}", state.base, call.path);
        let req = Req {
            method: call.method.clone(),
            url: &url,
            accept: call.accept,
            body: call.body.clone(),
            push: call.push,
            streaming: false,
        };
        self.send_req(&state, &repository, &call.what, &req).await
    }

    /// Whether `repo` (its registry and repository) has the blob `digest`.
    pub async fn blob_exists(&self, repo: &Reference, digest: &str) -> Result<bool, RegistryError> {
        let call = Call {
            method: Method::HEAD,
            ..Call::get(
                format!("blobs/{digest}"),
                format!("{}@{digest}", repo.repository()),
                "*/*",
            )
        };
        match self.call(repo, &call).await {
            Ok(_) => Ok(true),
            Err(RegistryError::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Uploads `bytes` as a blob unless the registry already has it (as
    /// this client knows, or a `HEAD` says); returns its digest.
    pub async fn push_blob(&self, repo: &Reference, bytes: Bytes) -> Result<String, RegistryError> {
        let digest = sha256_digest(&bytes);
        if self.known().present.contains(&digest_key(repo, &digest)) {
            return Ok(digest);
        }
        if self.blob_exists(repo, &digest).await? {
            self.remember_present(repo, &digest);
            return Ok(digest);
        }
        self.upload_blob(repo, bytes).await
    }

    /// Uploads `bytes` as a blob without asking whether the registry has it:
    /// for content just made (a new signature's bundle), which it cannot
    /// have. Returns its digest.
    pub async fn upload_blob(
        &self,
        repo: &Reference,
        bytes: Bytes,
    ) -> Result<String, RegistryError> {
        let digest = sha256_digest(&bytes);
        let what = format!("{}@{digest}", repo.repository());
        let start = Call {
            method: Method::POST,
            path: "blobs/uploads/".into(),
            what: what.clone(),
            accept: "*/*",
            body: Some((Bytes::new(), "application/octet-stream")),
            push: true,
        };
        let resp = self.call(repo, &start).await?;
        let state = self.state(repo.registry()).await?;
        let location = resp
            .headers()
            .get(LOCATION)
            .and_then(|l| l.to_str().ok())
            .ok_or_else(|| {
                mismatch(
                    what.clone(),
                    &state.name,
                    "it started an upload without a Location header".into(),
                )
            })?;
        // The upload URL is the registry's to choose (often absolute, often
        // with a state query): PUT it as given, plus the digest.
        let mut url = reqwest::Url::parse(&state.base)
            .and_then(|base| base.join(location))
            .map_err(|e| {
                mismatch(
                    what.clone(),
                    &state.name,
                    format!("its upload Location {location:?} is not a URL: {e}"),
                )
            })?;
        url.query_pairs_mut().append_pair("digest", &digest);
        let url = url.to_string();
        let req = Req {
            method: Method::PUT,
            url: &url,
            accept: "*/*",
            body: Some((bytes.clone(), "application/octet-stream")),
            push: true,
            streaming: false,
        };
        let resp = self
            .send_req(&state, &repo.repository(), &what, &req)
            .await?;
        if let Some(got) = header_digest(resp.headers(), &state.name, &what)? {
            if got != digest {
                return Err(mismatch(
                    what,
                    &state.name,
                    format!("it stored the blob as {got}"),
                ));
            }
        }
        let mut known = self.known();
        let key = digest_key(repo, &digest);
        known.present.insert(key.clone());
        if bytes.len() <= REMEMBER_MAX {
            known.blobs.insert(key, bytes.to_vec());
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
        let what = format!("{}:{target}", repo.repository());
        let call = Call {
            method: Method::PUT,
            path: format!("manifests/{target}"),
            what: what.clone(),
            accept: "*/*",
            body: Some((bytes, media_type)),
            push: true,
        };
        // A registry may briefly not see a blob it has just stored: Debian's
        // (distribution's filesystem driver) rewrites a repository's blob
        // link in place, so a second uploader of the same blob leaves it empty
        // for a moment, and a manifest checked then is refused as
        // MANIFEST_BLOB_UNKNOWN. Eventually consistent storage does the same.
        // Such a refusal is retried a few times; a blob really missing still
        // fails, with the registry's words.
        let mut attempt = 1;
        let resp = loop {
            match self.call(repo, &call).await {
                Err(e) if attempt < BLOB_UNKNOWN_ATTEMPTS && blob_unknown(&e) => {
                    tokio::time::sleep(BLOB_UNKNOWN_WAIT * attempt).await;
                    attempt += 1;
                }
                Err(e) if blob_unknown(&e) => {
                    return Err(RegistryError::Status {
                        what: what.clone(),
                        registry: repo.registry().to_string(),
                        status: 400,
                        detail: format!(
                            "{}. It still lacks a blob this manifest refers to after {attempt} \
                             attempts; push the blobs first (a registry that garbage-collects \
                             may have removed an unreferenced one) and try again",
                            status_detail(&e)
                        ),
                    })
                }
                other => break other?,
            }
        };
        if let Some(got) = header_digest(resp.headers(), repo.registry(), &what)? {
            if got != digest {
                return Err(mismatch(
                    what,
                    repo.registry(),
                    format!("it stored the manifest as {got}, not {digest}"),
                ));
            }
        }
        let subject_indexed = resp.headers().contains_key("oci-subject");
        if let Some((bytes, _)) = &call.body {
            self.remember_manifest(
                repo,
                &Fetched {
                    bytes: bytes.to_vec(),
                    media_type: media_type.to_string(),
                    digest: digest.clone(),
                },
            );
        }
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
        if target.starts_with("sha256:") {
            if let Some(known) = self.known().manifests.get(&digest_key(repo, target)) {
                return Ok(Some(known.clone()));
            }
        }
        let what = format!("{}:{target}", repo.repository());
        let call = Call::get(format!("manifests/{target}"), what.clone(), MANIFEST_ACCEPT);
        let resp = match self.call(repo, &call).await {
            Ok(r) => r,
            Err(RegistryError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let media_type = content_type(&resp);
        let announced = header_digest(resp.headers(), repo.registry(), &what)?;
        let bytes = read_bounded(resp, MANIFEST_MAX, repo.registry(), &what).await?;
        let digest = sha256_digest(&bytes);
        let expected = if target.starts_with("sha256:") {
            Some(target.to_string())
        } else {
            announced
        };
        if let Some(expected) = expected {
            if expected != digest {
                return Err(mismatch(
                    what,
                    repo.registry(),
                    format!("the manifest bytes hash to {digest}, not {expected}"),
                ));
            }
        }
        let fetched = Fetched {
            bytes,
            media_type,
            digest,
        };
        self.remember_manifest(repo, &fetched);
        Ok(Some(fetched))
    }

    /// Reads a blob whole (at most `max` bytes) and checks its digest.
    pub async fn fetch_blob(
        &self,
        repo: &Reference,
        digest: &str,
        max: usize,
    ) -> Result<Vec<u8>, RegistryError> {
        let key = digest_key(repo, digest);
        if let Some(known) = self.known().blobs.get(&key).filter(|b| b.len() <= max) {
            return Ok(known.clone());
        }
        let what = format!("{}@{digest}", repo.repository());
        let resp = self
            .call(
                repo,
                &Call::get(format!("blobs/{digest}"), what.clone(), "*/*"),
            )
            .await?;
        let bytes = read_bounded(resp, max, repo.registry(), &what).await?;
        let got = sha256_digest(&bytes);
        if got != digest {
            return Err(mismatch(
                what,
                repo.registry(),
                format!("the blob hashes to {got}"),
            ));
        }
        let mut known = self.known();
        known.present.insert(key.clone());
        if bytes.len() <= REMEMBER_MAX {
            known.blobs.insert(key, bytes.clone());
        }
        Ok(bytes)
    }

    /// Every referrer of `subject` in `repo`: the referrers API's answer
    /// and the fallback index's entries, one per digest. Where both list a
    /// manifest their descriptors are merged: a registry may describe a
    /// referrer by its config's media type (go-containerregistry's, GHCR's
    /// fallback entries), so neither descriptor is trusted alone, and
    /// readers judge the manifest itself.
    pub async fn referrers(
        &self,
        repo: &Reference,
        subject: &str,
    ) -> Result<(Vec<Descriptor>, Vec<ReferrersSource>), RegistryError> {
        let fallback = self.fetch_fallback_index(repo, subject).await?;
        self.merge_referrers(repo, subject, fallback).await
    }

    /// [`RegistryClient::referrers`], with the fallback index as this client
    /// last read it, where it did (an index update ends with a read, so
    /// that is after its own last write): what a signer checks for its own
    /// signature before signing again. A signature another signer added
    /// since is missed, and at worst signed again, as it would be by a
    /// signer that read the index a moment earlier; verifiers and the index
    /// update read the registry's present index.
    pub async fn referrers_seen(
        &self,
        repo: &Reference,
        subject: &str,
    ) -> Result<(Vec<Descriptor>, Vec<ReferrersSource>), RegistryError> {
        let seen = self
            .known()
            .fallback
            .get(&digest_key(repo, subject))
            .cloned();
        let fallback = match seen {
            Some(index) => index,
            None => self.fetch_fallback_index(repo, subject).await?,
        };
        self.merge_referrers(repo, subject, fallback).await
    }

    /// The referrers API's answer (where the registry has the API) merged
    /// with the fallback index's entries.
    async fn merge_referrers(
        &self,
        repo: &Reference,
        subject: &str,
        fallback: Option<Index>,
    ) -> Result<(Vec<Descriptor>, Vec<ReferrersSource>), RegistryError> {
        let mut found: Vec<Descriptor> = Vec::new();
        let mut sources = Vec::new();
        // A registry that answered it has no referrers API is not asked again.
        let no_api = self
            .referrers_api
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&repo_key(repo))
            == Some(&false);
        if !no_api {
            if let Some(index) = self.referrers_api_index(repo, subject).await? {
                found.extend(index.manifests);
                sources.push(ReferrersSource::Api);
            }
        }
        if let Some(index) = fallback {
            sources.push(ReferrersSource::FallbackTag);
            for d in index.manifests {
                match found.iter_mut().find(|f| f.digest == d.digest) {
                    Some(existing) => merge_descriptor(existing, d),
                    None => found.push(d),
                }
            }
        }
        Ok((found, sources))
    }

    /// The referrers API's index for `subject`, or `None` where the registry
    /// has no such API. What it learnt is remembered for the repository.
    async fn referrers_api_index(
        &self,
        repo: &Reference,
        subject: &str,
    ) -> Result<Option<Index>, RegistryError> {
        let what = format!("{}@{subject} referrers", repo.repository());
        let answer = match self
            .call(
                repo,
                &Call::get(format!("referrers/{subject}"), what.clone(), OCI_INDEX),
            )
            .await
        {
            Ok(resp) => {
                let is_index = content_type(&resp).starts_with(OCI_INDEX);
                let bytes = read_bounded(resp, MANIFEST_MAX, repo.registry(), &what).await?;
                if is_index {
                    serde_json::from_slice::<Index>(&bytes).ok()
                } else {
                    None
                }
            }
            // 404 (or a registry that does not know the route): no API.
            Err(RegistryError::NotFound { .. }) => None,
            Err(RegistryError::Status {
                status: 400 | 405, ..
            }) => None,
            Err(e) => return Err(e),
        };
        self.referrers_api
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(repo_key(repo), answer.is_some());
        Ok(answer)
    }

    /// Whether `repo`'s registry serves the referrers API (asked once per
    /// repository and run, with `subject` as the question).
    pub async fn has_referrers_api(
        &self,
        repo: &Reference,
        subject: &str,
    ) -> Result<bool, RegistryError> {
        let known = self
            .referrers_api
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&repo_key(repo))
            .copied();
        match known {
            Some(answer) => Ok(answer),
            None => Ok(self.referrers_api_index(repo, subject).await?.is_some()),
        }
    }

    async fn fetch_fallback_index(
        &self,
        repo: &Reference,
        subject: &str,
    ) -> Result<Option<Index>, RegistryError> {
        let Some(fetched) = self.fetch_manifest(repo, &fallback_tag(subject)).await? else {
            self.remember_fallback(repo, subject, None);
            return Ok(None);
        };
        let index = serde_json::from_slice::<Index>(&fetched.bytes).map_err(|e| {
            RegistryError::Protocol {
                what: format!("{}:{}", repo.repository(), fallback_tag(subject)),
                registry: repo.registry().to_string(),
                detail: format!("the referrers fallback index is not an OCI index: {e}"),
            }
        })?;
        self.remember_fallback(repo, subject, Some(&index));
        Ok(Some(index))
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
            if !index.add(descriptor) {
                return Ok(());
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    const BUNDLE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

    fn descriptor(artifact_type: Option<&str>, annotations: &[(&str, &str)]) -> Descriptor {
        let mut d = Descriptor::new(super::super::oci::OCI_MANIFEST, "sha256:aa", 10);
        d.artifact_type = artifact_type.map(str::to_string);
        d.annotations = annotations
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        d
    }

    #[test]
    fn a_generic_artifact_type_gives_way_to_the_specific_one() {
        // The referrers API of go-containerregistry's registry describes a
        // bundle by its config's media type; the fallback index knows better.
        let mut api = descriptor(Some(super::super::oci::OCI_EMPTY), &[]);
        merge_descriptor(
            &mut api,
            descriptor(
                Some(BUNDLE),
                &[("dev.sigstore.bundle.content", "dsse-envelope")],
            ),
        );
        assert_eq!(api.artifact_type.as_deref(), Some(BUNDLE));
        assert_eq!(
            api.annotations
                .get("dev.sigstore.bundle.content")
                .map(String::as_str),
            Some("dsse-envelope")
        );
    }

    #[test]
    fn a_specific_artifact_type_and_existing_annotations_are_kept() {
        let mut api = descriptor(Some(BUNDLE), &[("k", "from the api")]);
        merge_descriptor(
            &mut api,
            descriptor(None, &[("k", "from the index"), ("other", "v")]),
        );
        assert_eq!(api.artifact_type.as_deref(), Some(BUNDLE));
        assert_eq!(
            api.annotations.get("k").map(String::as_str),
            Some("from the api")
        );
        assert_eq!(api.annotations.get("other").map(String::as_str), Some("v"));

        let mut missing = descriptor(None, &[]);
        merge_descriptor(&mut missing, descriptor(Some(BUNDLE), &[]));
        assert_eq!(missing.artifact_type.as_deref(), Some(BUNDLE));
    }
}
