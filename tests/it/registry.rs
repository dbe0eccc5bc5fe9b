//! The registry client's write path against the real registry (Debian's
//! distribution 2.8, which has no referrers API): blobs, manifests with a
//! `subject`, and the `sha256-<hex>` fallback index that referrers go to —
//! with its descriptors' artifactType and annotations, idempotent, and
//! keeping both entries when two writers race; manifests whose blobs another
//! uploader is storing at the same moment still go in.

use std::collections::BTreeMap;

use bytes::Bytes;
use wharf::config::Global;
use wharf::reference::Reference;
use wharf::registry::oci::{Descriptor, Manifest, OCI_MANIFEST};
use wharf::registry::{ReferrersSource, RegistryClient};

use crate::common::images::Images;
use crate::common::registry::Registry;

const BUNDLE_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

fn client(registry: &Registry) -> RegistryClient {
    let mut global = Global::default();
    global
        .insecure_registries
        .insert(registry.host().to_string());
    RegistryClient::new(&global).expect("client")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// The test images pushed, `app:1.0`'s repository, and its manifest as the
/// subject referrers name.
fn app_subject(registry: &Registry) -> (Images, Reference, Descriptor) {
    let images = Images::push(registry);
    let repo = Reference::parse(&format!("{}/app:1.0", registry.host())).expect("ref");
    let subject = Descriptor::new(
        OCI_MANIFEST,
        &images.app.digest,
        images.app.manifest.len() as u64,
    );
    (images, repo, subject)
}

/// Pushes a referrer artifact (one layer `content`) whose subject is
/// `subject`, and returns its descriptor as an index entry.
async fn push_referrer(
    client: &RegistryClient,
    repo: &Reference,
    subject: &Descriptor,
    content: &str,
) -> Descriptor {
    let layer = client
        .push_blob(repo, Bytes::from(content.to_string()))
        .await
        .expect("push layer");
    client
        .push_blob(repo, Bytes::from_static(wharf::registry::oci::EMPTY_JSON))
        .await
        .expect("push config");
    let mut annotations = BTreeMap::new();
    annotations.insert(
        "dev.sigstore.bundle.content".to_string(),
        "dsse-envelope".to_string(),
    );
    annotations.insert(
        "dev.sigstore.bundle.predicateType".to_string(),
        "https://sigstore.dev/cosign/sign/v1".to_string(),
    );
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(OCI_MANIFEST.into()),
        artifact_type: Some(BUNDLE_TYPE.into()),
        config: Descriptor::empty_config(),
        layers: vec![Descriptor::new(BUNDLE_TYPE, &layer, content.len() as u64)],
        subject: Some(subject.clone()),
        annotations: annotations.clone(),
        extra: Default::default(),
    };
    let bytes = serde_json::to_vec(&manifest).expect("manifest json");
    let size = bytes.len() as u64;
    let digest = wharf::registry::oci::sha256_hex_digest(&bytes);
    let pushed = client
        .push_manifest(repo, &digest, OCI_MANIFEST, Bytes::from(bytes))
        .await
        .expect("push manifest");
    assert_eq!(pushed.digest, digest);
    assert!(
        !pushed.subject_indexed,
        "distribution 2.8 has no referrers API"
    );
    let mut d = Descriptor::new(OCI_MANIFEST, &digest, size);
    d.artifact_type = Some(BUNDLE_TYPE.into());
    d.annotations = annotations;
    d
}

#[test]
fn referrers_go_to_the_fallback_index_with_their_type_and_annotations() {
    require_registry!();
    let registry = Registry::start();
    let (images, repo, subject) = app_subject(&registry);
    let client = client(&registry);

    runtime().block_on(async {
        // Nothing yet: no API, no fallback index.
        let (found, sources) = client
            .referrers(&repo, &images.app.digest)
            .await
            .expect("referrers");
        assert!(
            found.is_empty() && sources.is_empty(),
            "{found:?} {sources:?}"
        );

        let d = push_referrer(&client, &repo, &subject, "bundle one").await;
        client
            .add_to_fallback_index(&repo, &images.app.digest, &d)
            .await
            .expect("add");
        // Idempotent: adding the same entry again changes nothing.
        client
            .add_to_fallback_index(&repo, &images.app.digest, &d)
            .await
            .expect("add again");

        let (found, sources) = client
            .referrers(&repo, &images.app.digest)
            .await
            .expect("referrers");
        assert_eq!(sources, [ReferrersSource::FallbackTag]);
        assert_eq!(
            found,
            vec![d.clone()],
            "the entry keeps artifactType and annotations"
        );

        // The manifest reads back byte-identical and digest-checked.
        let fetched = client
            .fetch_manifest(&repo, &d.digest)
            .await
            .expect("fetch")
            .expect("present");
        assert_eq!(fetched.digest, d.digest);
        let manifest: Manifest = serde_json::from_slice(&fetched.bytes).expect("manifest");
        assert_eq!(
            manifest.subject.as_ref().map(|s| s.digest.as_str()),
            Some(images.app.digest.as_str())
        );
        let layer = client
            .fetch_blob(&repo, &manifest.layers[0].digest, 1 << 20)
            .await
            .expect("blob");
        assert_eq!(layer, b"bundle one");
    });

    // skopeo reads the same fallback index (an independent client).
    let raw = crate::common::run_tool(
        "skopeo",
        [
            "inspect".to_string(),
            "--raw".to_string(),
            "--tls-verify=false".to_string(),
            format!(
                "docker://{}/app:{}",
                registry.host(),
                images.app.digest.replacen(':', "-", 1)
            ),
        ],
    );
    let index: serde_json::Value = serde_json::from_str(&raw).expect("index json");
    assert_eq!(index["manifests"][0]["artifactType"], BUNDLE_TYPE, "{raw}");
    assert_eq!(
        index["manifests"][0]["annotations"]["dev.sigstore.bundle.content"], "dsse-envelope",
        "{raw}"
    );
}

#[test]
fn two_writers_racing_on_the_fallback_index_keep_both_entries() {
    require_registry!();
    let registry = Registry::start();
    let (images, repo, subject) = app_subject(&registry);

    runtime().block_on(async {
        let a = client(&registry);
        let b = client(&registry);
        let mut all = Vec::new();
        for round in 0..4 {
            let da = push_referrer(&a, &repo, &subject, &format!("a{round}")).await;
            let db = push_referrer(&b, &repo, &subject, &format!("b{round}")).await;
            let (ra, rb) = tokio::join!(
                a.add_to_fallback_index(&repo, &images.app.digest, &da),
                b.add_to_fallback_index(&repo, &images.app.digest, &db),
            );
            ra.expect("writer a");
            rb.expect("writer b");
            all.push(da.digest);
            all.push(db.digest);
        }
        let (found, _) = a
            .referrers(&repo, &images.app.digest)
            .await
            .expect("referrers");
        let got: Vec<&str> = found.iter().map(|d| d.digest.as_str()).collect();
        for digest in &all {
            assert!(got.contains(&digest.as_str()), "{digest} lost: {got:?}");
        }
        assert_eq!(got.len(), all.len(), "no duplicates: {got:?}");
    });
}

#[test]
fn uploaders_of_one_blob_at_once_all_get_their_manifests_in() {
    require_registry!();
    let registry = Registry::start();
    let (_images, repo, subject) = app_subject(&registry);
    // Every referrer shares the empty config blob, and each round's writers
    // share a layer too: the registry rewrites the repository's link to a
    // blob on every upload of it, which once made a manifest checked at that
    // moment fail as MANIFEST_BLOB_UNKNOWN (two `wharf sign` runs at once).
    runtime().block_on(async {
        let clients: Vec<RegistryClient> = (0..6).map(|_| client(&registry)).collect();
        for round in 0..6 {
            let content = format!("shared layer {round}");
            let pushes = clients
                .iter()
                .map(|c| push_referrer(c, &repo, &subject, &content));
            let pushed = futures_util::future::join_all(pushes).await;
            assert!(pushed.iter().all(|d| d.digest == pushed[0].digest));
        }
    });
}

#[test]
fn a_manifest_naming_a_missing_blob_fails_clearly() {
    require_registry!();
    let registry = Registry::start();
    let client = client(&registry);
    let repo = Reference::parse(&format!("{}/lost:1", registry.host())).expect("ref");
    let missing = wharf::registry::oci::sha256_hex_digest(b"never pushed");
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(OCI_MANIFEST.into()),
        artifact_type: Some(BUNDLE_TYPE.into()),
        config: Descriptor::empty_config(),
        layers: vec![Descriptor::new(BUNDLE_TYPE, &missing, 12)],
        subject: None,
        annotations: BTreeMap::new(),
        extra: Default::default(),
    };
    let bytes = serde_json::to_vec(&manifest).expect("manifest json");
    let err = runtime()
        .block_on(client.push_manifest(&repo, "1", OCI_MANIFEST, Bytes::from(bytes)))
        .expect_err("the registry has neither blob");
    let msg = err.to_string();
    assert!(msg.starts_with("lost:1: registry "), "{msg}");
    assert!(msg.contains("BLOB_UNKNOWN"), "the registry's words: {msg}");
    assert!(
        msg.contains("after 4 attempts; push the blobs first"),
        "{msg}"
    );
}
