//! `wharf sign IMAGE`: resolve the tag once, sign the digest (keylessly, or
//! with a cosign key) as a cosign v3 image signature (a DSSE in-toto
//! statement with predicate type `https://sigstore.dev/cosign/sign/v1`
//! whose subject is the manifest digest), and store the bundle as an OCI
//! referrer of the image — and/or as cosign's legacy `.sig` signature.
//!
//! Idempotent: when a signature by the same signer with the same
//! annotations already verifies for the digest, in each format asked for,
//! nothing is signed and nothing is written.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::legacy;
use super::session::{Session, Target};
use super::storage::{self, BundleContent};
use crate::cli::{SignArgs, SigningArgs};
use crate::config::Global;
use crate::reference::Reference;
use crate::registry::{ImageRef, RegistryClient, Store};
use crate::verify::{self, SIGN_PREDICATE_TYPE};
use crate::{report, Error, Outcome, Result};

/// Runs `wharf sign`.
pub fn run(global: &Global, args: &SignArgs) -> Result<Outcome> {
    sign_image(global, args).map(|_| Outcome::Ok)
}

/// Signs the image (or finds it signed already); returns the check that
/// recognises the signer's signatures.
pub fn sign_image(global: &Global, args: &SignArgs) -> Result<crate::verify::Expected> {
    let image_ref = ImageRef::parse(&args.image)?;
    let annotations = verify::parse_annotations(&args.annotations)?;
    check_signing_args(&image_ref, &args.signing)?;
    let (signer, trust) = Session::prepare(&args.signing, global.offline)?;
    let client = RegistryClient::new(global).map_err(Error::Usage)?;
    let store = Store::new(&client, &image_ref);
    let runtime = crate::runtime()?;

    runtime.block_on(async {
        let session = Session::start(signer, trust, &args.signing).await?;
        let target = session.target(&store).await?;
        sign_target(
            &session,
            &store,
            &target,
            &annotations,
            args.signing.bundle_format,
        )
        .await?;
        Ok(session.expected)
    })
}

/// Signs `target` in `store` with `session` (or finds it signed already by
/// this signer with these annotations, in each format asked for): the
/// body of `wharf sign`, and of `wharf run`'s sign stage, which hands in
/// the run's session and the target it resolved.
pub async fn sign_target(
    session: &Session,
    store: &Store<'_>,
    target: &Target,
    annotations: &BTreeMap<String, String>,
    format: crate::cli::BundleFormat,
) -> Result<()> {
    let image = &target.image;
    let have_bundle = if format.bundle() {
        // A signature (a message signature has no predicate type) by
        // this signer with these annotations.
        let wanted = |predicate: Option<&str>, statement: Option<&serde_json::Value>| {
            predicate.is_none_or(|p| p == SIGN_PREDICATE_TYPE)
                && verify::signed_annotations(statement, &target.digest) == *annotations
        };
        session
            .find_bundle(store, target, wanted)
            .await?
            .map(|(manifest, _)| manifest)
    } else {
        None
    };
    let legacy_at = store.registry();
    let have_legacy = if let Some((client, reference)) = legacy_at.filter(|_| format.legacy()) {
        existing_legacy(session, client, reference, target, annotations).await?
    } else {
        None
    };
    let needs_bundle = format.bundle() && have_bundle.is_none();
    let needs_legacy = format.legacy() && have_legacy.is_none();
    if !needs_bundle && !needs_legacy {
        let found = super::session::found_at(have_bundle, have_legacy);
        report::out(&format!(
            "{image} is already signed by {} ({found}); nothing to do",
            session.signed_by
        ));
        return Ok(());
    }
    session.announce(image);

    if needs_bundle {
        let statement = statement(target, annotations)?;
        let bundle = session
            .sign_statement(&statement)
            .await
            .map_err(|e| Error::Usage(format!("{image}: {e}")))?;
        let stored = storage::attach(
            store,
            &target.subject,
            Bytes::from(bundle),
            BundleContent::DsseEnvelope,
            Some(SIGN_PREDICATE_TYPE),
            &storage::created_now(),
        )
        .await?;
        report::out(&format!(
            "signed {image} as {}; bundle stored as {}",
            session.signed_by, stored.digest
        ));
    }
    if let Some((client, reference)) = legacy_at.filter(|_| needs_legacy) {
        let payload = legacy::payload(&target.name, &target.digest, annotations);
        let layer_annotations = session
            .sign_legacy(&payload)
            .await
            .map_err(|e| Error::Usage(format!("{image}: the legacy signature: {e}")))?;
        let tag = legacy::attach(
            client,
            reference,
            &target.digest,
            payload,
            layer_annotations,
        )
        .await?;
        report::out(&format!(
            "signed {image} as {}; legacy signature stored as {}:{tag}",
            session.signed_by,
            reference.name()
        ));
    }
    report::info(&format!(
        "verify it: wharf verify {image} {}",
        session.verify_flags()
    ));
    Ok(())
}

/// What the image's kind rules out: cosign's legacy `.sig`/`.att` tags are
/// a registry convention (a layout keeps bundles only), and `--image-name`
/// names a layout's future repository (a registry image has its own).
pub(crate) fn check_signing_args(image: &ImageRef, signing: &SigningArgs) -> Result<()> {
    match image {
        ImageRef::Layout(l) if signing.bundle_format.legacy() => {
            return Err(Error::Usage(format!(
                "oci:{}: --bundle-format legacy|both writes cosign's legacy tags, which exist only in registries; \
                 sign the layout with --bundle-format bundle, or sign the image once it is pushed",
                l.dir.display()
            )))
        }
        ImageRef::Registry(r) if signing.subject_name.is_some() => {
            return Err(Error::Usage(format!(
                "{r}: --image-name names the repository an oci: layout will be pushed to; a \
                 registry image is named by its own repository: drop --image-name"
            )))
        }
        _ => {}
    }
    if let Some(name) = &signing.subject_name {
        let parsed = Reference::parse(name)?;
        if parsed.tag().is_some() || parsed.digest().is_some() {
            return Err(Error::Usage(format!(
                "--image-name {name:?}: give the repository only (REG/REPO); the digest is the \
                 layout image's"
            )));
        }
    }
    Ok(())
}

/// cosign v3's image-signature statement: the digest as subject (with the
/// signed annotations), an empty predicate.
fn statement(target: &Target, annotations: &BTreeMap<String, String>) -> Result<Vec<u8>> {
    let mut subject = serde_json::json!({
        "name": target.name,
        "digest": { "sha256": target.digest.trim_start_matches("sha256:") },
    });
    if !annotations.is_empty() {
        subject["annotations"] = serde_json::json!(annotations);
    }
    let statement = serde_json::json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [subject],
        "predicateType": SIGN_PREDICATE_TYPE,
        "predicate": {},
    });
    serde_json::to_vec(&statement)
        .map_err(|e| Error::Usage(format!("cannot serialise the statement: {e}")))
}

/// A legacy `.sig` layer signing this digest by this signer with these annotations.
async fn existing_legacy(
    session: &Session,
    client: &RegistryClient,
    reference: &Reference,
    target: &Target,
    annotations: &BTreeMap<String, String>,
) -> Result<Option<String>> {
    for sig in legacy::signatures(client, reference, &target.digest).await? {
        if let Ok((_, signed)) =
            verify::check_legacy(&sig, &target.digest, &session.expected, &session.trust)
        {
            if signed == *annotations {
                return Ok(Some(sig.location));
            }
        }
    }
    Ok(None)
}
