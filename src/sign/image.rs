//! `wharf sign IMAGE`: resolve the tag once, sign the digest keylessly as a
//! cosign v3 image signature (a DSSE in-toto statement with predicate type
//! `https://sigstore.dev/cosign/sign/v1` whose subject is the manifest
//! digest), and store the bundle as an OCI referrer of the image.
//!
//! Idempotent: when a signature by the same identity already verifies for
//! the digest, nothing is signed and nothing is written.

use bytes::Bytes;

use super::keyless::Keyless;
use super::storage::{self, BundleContent};
use super::token::{self, ProcessEnv};
use crate::cli::SignArgs;
use crate::config::Global;
use crate::reference::Reference;
use crate::registry::oci::Descriptor;
use crate::registry::RegistryClient;
use crate::verify::{self, Expected, Matcher, SIGN_PREDICATE_TYPE};
use crate::{report, trust, Error, Outcome, Result};

/// Runs `wharf sign`.
pub fn run(global: &Global, args: &SignArgs) -> Result<Outcome> {
    if args.signing.key.is_some() {
        return Err(Error::Usage(
            "signing with --key is not built yet; sign keylessly (the default in CI) for now"
                .into(),
        ));
    }
    let reference = Reference::parse(&args.image)?;
    let annotations = verify::parse_annotations(&args.annotations)?;
    let trust = trust::load(None, args.signing.trust_config.as_deref())?;
    let signing = trust.signing.as_ref().ok_or_else(|| {
        Error::Usage(format!(
            "the {} names no signing services; pass a ClientTrustConfig with --trust-config",
            trust.source
        ))
    })?;
    let http = crate::registry::https_client().map_err(Error::Usage)?;
    let signer =
        Keyless::new(signing, http).map_err(|e| Error::Usage(format!("{}: {e}", trust.source)))?;
    let client = RegistryClient::new(global).map_err(Error::Usage)?;
    let runtime = crate::runtime()?;

    runtime.block_on(async {
        let token = token::discover(&ProcessEnv, args.signing.identity_token.as_deref())
            .await
            .map_err(|e| Error::Usage(e.to_string()))?;
        for warning in token.warnings() {
            report::warn(&warning.message);
        }
        let identity = token.expected_identity().unwrap_or_default();
        let issuer = token.issuer().to_string();

        // The tag is resolved once; everything after works on the digest.
        let resolved = client.resolve(&reference, None).await?;
        let digest = resolved.digest.clone();
        if reference.digest().is_none() {
            report::info(&format!("resolved {reference} to {digest}"));
        }
        let manifest = client.fetch_manifest(&reference, &digest).await?.ok_or_else(|| {
            Error::Usage(format!("{reference}: the manifest {digest} vanished while signing; run again"))
        })?;
        let media_type = if manifest.media_type.is_empty() { resolved.media_type.clone() } else { manifest.media_type.clone() };
        let subject = Descriptor::new(&media_type, &digest, manifest.bytes.len() as u64);
        let image = format!("{}@{digest}", reference.name());

        // Idempotency: an existing signature by this identity is enough.
        let expected = Expected::Identity { identity: Matcher::Exact(identity.clone()), issuer: Matcher::Exact(issuer.clone()) };
        for bundle in storage::bundles(&client, &reference, &digest).await? {
            if bundle.predicate_type().is_some_and(|p| p != SIGN_PREDICATE_TYPE) {
                continue;
            }
            let Ok(text) = std::str::from_utf8(&bundle.bundle) else { continue };
            // The same signature: this identity, these annotations.
            let statement = verify::bundle_statement(text).ok().flatten();
            if verify::signed_annotations(statement.as_ref(), &digest) != annotations {
                continue;
            }
            if verify::check_image_bundle(text, &digest, &expected, &trust).is_ok() {
                report::out(&format!(
                    "{image} is already signed by {identity} (bundle manifest {}); nothing to do",
                    bundle.manifest
                ));
                return Ok(Outcome::Ok);
            }
        }

        let mut statement_subject = serde_json::json!({
            "name": format!("{}/{}", reference.registry(), reference.repository()),
            "digest": { "sha256": digest.trim_start_matches("sha256:") },
        });
        if !annotations.is_empty() {
            statement_subject["annotations"] = serde_json::json!(annotations);
        }
        let statement = serde_json::json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [statement_subject],
            "predicateType": SIGN_PREDICATE_TYPE,
            "predicate": {},
        });
        let statement = serde_json::to_vec(&statement)
            .map_err(|e| Error::Usage(format!("cannot serialise the statement: {e}")))?;
        report::info(&format!("signing {image} as {identity} through {}", signer.describe()));
        let bundle = signer
            .sign_statement(token.reveal(), &statement)
            .await
            .map_err(|e| Error::Usage(format!("{image}: {e}")))?;
        let stored = storage::attach(
            &client,
            &reference,
            &subject,
            Bytes::from(bundle),
            BundleContent::DsseEnvelope,
            Some(SIGN_PREDICATE_TYPE),
            &storage::created_now(),
        )
        .await?;
        report::out(&format!("signed {image} as {identity}; bundle stored as {}", stored.digest));
        report::info(&format!(
            "verify it: wharf verify {image} --certificate-identity '{identity}' --certificate-oidc-issuer '{issuer}'"
        ));
        Ok(Outcome::Ok)
    })
}
