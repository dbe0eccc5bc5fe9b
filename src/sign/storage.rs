//! Where signatures and attestations live: Sigstore bundles attached to the
//! image as OCI referrers, in the layout cosign v3 writes and reads (its
//! bundle specification): the bundle JSON as the single layer of an artifact
//! manifest whose `subject` is the image and whose `artifactType` is the
//! bundle media type.
//!
//! On registries without the referrers API the manifest is also listed in the
//! `sha256-<hex>` fallback index — with its `artifactType` and annotations,
//! which cosign's own fallback writer drops, so that Kyverno and
//! policy-controller can tell a signature from an SBOM attestation without
//! fetching every manifest.

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::registry::oci::{Descriptor, Manifest, EMPTY_JSON, OCI_MANIFEST};
use crate::registry::{RegistryError, Store};

pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
pub const ANNOTATION_CONTENT: &str = "dev.sigstore.bundle.content";
pub const ANNOTATION_PREDICATE_TYPE: &str = "dev.sigstore.bundle.predicateType";
pub const ANNOTATION_CREATED: &str = "org.opencontainers.image.created";
pub const ANNOTATION_TITLE: &str = "org.opencontainers.image.title";
/// Bundles carry at most a certificate chain and a DSSE envelope; an SBOM
/// predicate of tens of MiB is the largest honest one.
pub const BUNDLE_MAX: usize = 64 << 20;

/// What a bundle holds, as the `dev.sigstore.bundle.content` annotation says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BundleContent {
    MessageSignature,
    DsseEnvelope,
}

impl BundleContent {
    pub fn as_str(self) -> &'static str {
        match self {
            BundleContent::MessageSignature => "message-signature",
            BundleContent::DsseEnvelope => "dsse-envelope",
        }
    }
}

/// A bundle found attached to an image.
#[derive(Debug, Clone)]
pub struct StoredBundle {
    /// The digest of the artifact manifest that carries it.
    pub manifest: String,
    pub annotations: BTreeMap<String, String>,
    pub bundle: Vec<u8>,
}

impl StoredBundle {
    pub fn predicate_type(&self) -> Option<&str> {
        self.annotations
            .get(ANNOTATION_PREDICATE_TYPE)
            .map(String::as_str)
    }
}

/// Attaches `bundle` to `subject` in `store`: blobs, then the manifest, then
/// the fallback index where the registry did not index the subject itself
/// (a layout's `index.json`). Returns the artifact manifest's descriptor.
pub async fn attach(
    store: &Store<'_>,
    subject: &Descriptor,
    bundle: Bytes,
    content: BundleContent,
    predicate_type: Option<&str>,
    created: &str,
) -> Result<Descriptor, RegistryError> {
    let bundle_size = bundle.len() as u64;
    // A bundle just signed holds a new signature: no registry has it yet.
    let bundle_digest = store.upload_blob(bundle).await?;
    store.push_blob(Bytes::from_static(EMPTY_JSON)).await?;

    let mut layer = Descriptor::new(BUNDLE_MEDIA_TYPE, &bundle_digest, bundle_size);
    layer.annotations.insert(
        ANNOTATION_TITLE.into(),
        format!("{}.sigstore.json", bundle_digest.replacen(':', "-", 1)),
    );
    let mut annotations = BTreeMap::new();
    annotations.insert(ANNOTATION_CONTENT.to_string(), content.as_str().to_string());
    if let Some(p) = predicate_type {
        annotations.insert(ANNOTATION_PREDICATE_TYPE.to_string(), p.to_string());
    }
    annotations.insert(ANNOTATION_CREATED.to_string(), created.to_string());
    let mut subject = Descriptor::new(&subject.media_type, &subject.digest, subject.size);
    subject.annotations.clear();
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(OCI_MANIFEST.into()),
        artifact_type: Some(BUNDLE_MEDIA_TYPE.into()),
        config: Descriptor::empty_config(),
        layers: vec![layer],
        subject: Some(subject.clone()),
        annotations: annotations.clone(),
        extra: Default::default(),
    };
    let bytes = serde_json::to_vec(&manifest).map_err(|e| RegistryError::Protocol {
        what: store.name(),
        registry: store.name(),
        detail: format!("cannot serialise the bundle manifest: {e}"),
    })?;
    let size = bytes.len() as u64;
    let digest = crate::registry::oci::sha256_hex_digest(&bytes);
    let pushed = store
        .push_manifest(&digest, OCI_MANIFEST, Bytes::from(bytes))
        .await?;

    let mut descriptor = Descriptor::new(OCI_MANIFEST, &pushed.digest, size);
    descriptor.artifact_type = Some(BUNDLE_MEDIA_TYPE.into());
    descriptor.annotations = annotations;
    if !pushed.subject_indexed {
        store.add_referrer(&subject.digest, &descriptor).await?;
    }
    Ok(descriptor)
}

/// Every Sigstore bundle attached to `subject` in `store`, found through the
/// referrers API and the fallback index (a layout's `index.json`). Entries
/// whose manifest is not a bundle, or does not name `subject`, are skipped.
pub async fn bundles(store: &Store<'_>, subject: &str) -> Result<Vec<StoredBundle>, RegistryError> {
    let referrers = store.referrers(subject).await?;
    bundles_among(store, subject, referrers).await
}

/// [`bundles`], through the fallback index as the store's client last read
/// it ([`Store::referrers_seen`]): a signer's check for its own signature.
pub async fn bundles_seen(
    store: &Store<'_>,
    subject: &str,
) -> Result<Vec<StoredBundle>, RegistryError> {
    let referrers = store.referrers_seen(subject).await?;
    bundles_among(store, subject, referrers).await
}

async fn bundles_among(
    store: &Store<'_>,
    subject: &str,
    referrers: Vec<Descriptor>,
) -> Result<Vec<StoredBundle>, RegistryError> {
    let mut found = Vec::new();
    for entry in referrers {
        // The descriptor's `artifactType` is not evidence: registries with
        // the referrers API may report the config's media type there (as
        // go-containerregistry's does), so every candidate's manifest is
        // read and judged by its own `artifactType` and layer, as cosign does.
        let Some(fetched) = store.fetch_manifest(&entry.digest).await? else {
            continue;
        };
        let Ok(manifest) = serde_json::from_slice::<Manifest>(&fetched.bytes) else {
            continue;
        };
        // An index entry could point anywhere; the manifest must say it is a
        // bundle about this very subject.
        let about_subject = manifest
            .subject
            .as_ref()
            .is_some_and(|s| s.digest == subject);
        let is_bundle = manifest.artifact_type.as_deref() == Some(BUNDLE_MEDIA_TYPE)
            || manifest
                .layers
                .first()
                .is_some_and(|l| l.media_type == BUNDLE_MEDIA_TYPE);
        if !about_subject || !is_bundle {
            continue;
        }
        let Some(layer) = manifest
            .layers
            .iter()
            .find(|l| l.media_type == BUNDLE_MEDIA_TYPE)
        else {
            continue;
        };
        if layer.size > BUNDLE_MAX as u64 {
            continue;
        }
        let bundle = store.fetch_blob(&layer.digest, BUNDLE_MAX).await?;
        // The manifest's own annotations are digest-checked; a descriptor's
        // only fill in what the manifest does not say.
        let mut annotations = manifest.annotations;
        for (k, v) in entry.annotations {
            annotations.entry(k).or_insert(v);
        }
        found.push(StoredBundle {
            manifest: fetched.digest,
            annotations,
            bundle,
        });
    }
    Ok(found)
}

/// Now, or `SOURCE_DATE_EPOCH`, as RFC 3339 in UTC with milliseconds.
pub fn created_now() -> String {
    crate::build_time()
        .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}
