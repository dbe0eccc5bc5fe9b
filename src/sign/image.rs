//! `wharf sign IMAGE`: resolve the tag once, sign the digest (keylessly, or
//! with a cosign key) as a cosign v3 image signature (a DSSE in-toto statement with predicate type
//! `https://sigstore.dev/cosign/sign/v1` whose subject is the manifest
//! digest), and store the bundle as an OCI referrer of the image.
//!
//! Idempotent: when a signature by the same signer already verifies for
//! the digest, nothing is signed and nothing is written.

use bytes::Bytes;

use super::keyless::Keyless;
use super::legacy;
use super::storage::{self, BundleContent};
use super::tlog::Rekor;
use super::token::{self, ProcessEnv};
use crate::cli::SignArgs;
use crate::config::Global;
use crate::reference::Reference;
use crate::registry::oci::Descriptor;
use crate::registry::RegistryClient;
use crate::verify::{self, Expected, Matcher, SIGN_PREDICATE_TYPE};
use crate::{report, trust, Error, Outcome, Result};

/// Who signs: the CI job's identity through Fulcio, or a key.
enum Signer {
    Keyless(Keyless),
    Key {
        key: super::key::SigningKey,
        rekor: Option<Rekor>,
        tsa: Option<sigstore_sign::tsa::TimestampClient>,
    },
}

/// Runs `wharf sign`.
pub fn run(global: &Global, args: &SignArgs) -> Result<Outcome> {
    let reference = Reference::parse(&args.image)?;
    let annotations = verify::parse_annotations(&args.annotations)?;
    let trust = trust::load(None, args.signing.trust_config.as_deref())?;
    let http = crate::registry::https_client().map_err(Error::Usage)?;
    let signer = match &args.signing.key {
        Some(path) => {
            if args.signing.identity_token.is_some() {
                return Err(Error::Usage(
                    "--key and --identity-token: a signature is made with a key or keylessly with a token; choose one"
                        .into(),
                ));
            }
            let key = super::key::load(path, &super::key::passphrase()?)?;
            let signing = trust.signing.as_ref();
            // A timestamp where the instance has an authority, as cosign does.
            let tsa = match signing.and_then(|s| s.tsa_url()) {
                Some(endpoint) => Some(
                    sigstore_sign::tsa::TimestampClient::builder(endpoint.url.clone())
                        .with_http_client(http.clone())
                        .build()
                        .map_err(|e| {
                            Error::Usage(format!(
                                "{}: the timestamp authority {}: {e}",
                                trust.source, endpoint.url
                            ))
                        })?,
                ),
                None => None,
            };
            let rekor = if args.signing.tlog_upload {
                let url = signing.and_then(|s| s.rekor_url(Some(1))).ok_or_else(|| {
                    Error::Usage(format!(
                        "the {} names no Rekor v1 log to record the signature in; pass a ClientTrustConfig \
                         with --trust-config, or --tlog-upload=false to sign without a log \
                         (verifiers then need --insecure-ignore-tlog)",
                        trust.source
                    ))
                })?;
                Some(Rekor::new(&url.url, http))
            } else if tsa.is_none() {
                return Err(Error::Usage(format!(
                    "--tlog-upload=false needs a timestamp authority to prove when the signature was made, \
                     and the {} names none",
                    trust.source
                )));
            } else {
                report::warn("--tlog-upload=false: the signature is in no transparency log; only the timestamp authority vouches for it");
                None
            };
            Signer::Key { key, rekor, tsa }
        }
        None => {
            if !args.signing.tlog_upload {
                return Err(Error::Usage(
                    "--tlog-upload=false is for key signatures: a keyless certificate lives ten minutes, \
                     and only the transparency log proves the signature was made inside them"
                        .into(),
                ));
            }
            let signing = trust.signing.as_ref().ok_or_else(|| {
                Error::Usage(format!(
                    "the {} names no signing services; pass a ClientTrustConfig with --trust-config",
                    trust.source
                ))
            })?;
            Signer::Keyless(
                Keyless::new(signing, http)
                    .map_err(|e| Error::Usage(format!("{}: {e}", trust.source)))?,
            )
        }
    };
    let client = RegistryClient::new(global).map_err(Error::Usage)?;
    let runtime = crate::runtime()?;

    runtime.block_on(async {
        let token = match &signer {
            Signer::Keyless(_) => {
                let token = token::discover(&ProcessEnv, args.signing.identity_token.as_deref())
                    .await
                    .map_err(|e| Error::Usage(e.to_string()))?;
                for warning in token.warnings() {
                    report::warn(&warning.message);
                }
                Some(token)
            }
            Signer::Key { .. } => None,
        };
        // Who the signature will name, and the check that finds it again.
        let (signed_by, expected) = match (&signer, &token) {
            (Signer::Key { key, rekor, .. }, _) => (
                format!("the key {}", key.path.display()),
                Expected::Key {
                    path: key.path.clone(),
                    key: key.public.clone(),
                    ignore_tlog: rekor.is_none(),
                },
            ),
            (Signer::Keyless(_), Some(token)) => {
                let identity = token.expected_identity().unwrap_or_default();
                let issuer = token.issuer().to_string();
                (
                    identity.clone(),
                    Expected::Identity {
                        identity: Matcher::Exact(identity),
                        issuer: Matcher::Exact(issuer),
                    },
                )
            }
            (Signer::Keyless(_), None) => return Err(Error::Usage("no identity token".into())),
        };

        // The tag is resolved once; everything after works on the digest.
        let resolved = client.resolve(&reference, None).await?;
        let digest = resolved.digest.clone();
        if reference.digest().is_none() {
            report::info(&format!("resolved {reference} to {digest}"));
        }
        let manifest = client
            .fetch_manifest(&reference, &digest)
            .await?
            .ok_or_else(|| {
                Error::Usage(format!(
                    "{reference}: the manifest {digest} vanished while signing; run again"
                ))
            })?;
        let media_type = if manifest.media_type.is_empty() {
            resolved.media_type.clone()
        } else {
            manifest.media_type.clone()
        };
        let subject = Descriptor::new(&media_type, &digest, manifest.bytes.len() as u64);
        let image = format!("{}@{digest}", reference.name());

        // Idempotency: an existing signature by this signer, with these
        // annotations, in each format asked for, is enough.
        let format = args.signing.bundle_format;
        let mut have_bundle = None;
        if format.bundle() {
            for bundle in storage::bundles(&client, &reference, &digest).await? {
                if bundle
                    .predicate_type()
                    .is_some_and(|p| p != SIGN_PREDICATE_TYPE)
                {
                    continue;
                }
                let Ok(text) = std::str::from_utf8(&bundle.bundle) else {
                    continue;
                };
                let statement = verify::bundle_statement(text).ok().flatten();
                if verify::signed_annotations(statement.as_ref(), &digest) != annotations {
                    continue;
                }
                if verify::check_image_bundle(text, &digest, &expected, &trust).is_ok() {
                    have_bundle = Some(bundle.manifest.clone());
                    break;
                }
            }
        }
        let mut have_legacy = None;
        if format.legacy() {
            for sig in legacy::signatures(&client, &reference, &digest).await? {
                if let Ok((_, signed)) = verify::check_legacy(&sig, &digest, &expected, &trust) {
                    if signed == annotations {
                        have_legacy = Some(sig.location.clone());
                        break;
                    }
                }
            }
        }
        let needs_bundle = format.bundle() && have_bundle.is_none();
        let needs_legacy = format.legacy() && have_legacy.is_none();
        if !needs_bundle && !needs_legacy {
            let found = [
                have_bundle.map(|m| format!("bundle manifest {m}")),
                have_legacy,
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ");
            report::out(&format!(
                "{image} is already signed by {signed_by} ({found}); nothing to do"
            ));
            return Ok(Outcome::Ok);
        }
        match (&signer, &token) {
            (Signer::Keyless(keyless), Some(_)) => report::info(&format!(
                "signing {image} as {signed_by} through {}",
                keyless.describe()
            )),
            (Signer::Key { rekor, .. }, _) => report::info(&format!(
                "signing {image} with {signed_by}{}",
                rekor
                    .as_ref()
                    .map(|r| format!(", recorded in Rekor {}", r.url))
                    .unwrap_or_default()
            )),
            (Signer::Keyless(_), None) => {}
        }
        let docker_reference = format!("{}/{}", reference.registry(), reference.repository());

        if needs_bundle {
            let mut statement_subject = serde_json::json!({
                "name": docker_reference,
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
            let bundle = match (&signer, &token) {
                (Signer::Keyless(keyless), Some(token)) => keyless
                    .sign_statement(token.reveal(), &statement)
                    .await
                    .map_err(|e| Error::Usage(format!("{image}: {e}")))?,
                (Signer::Key { key, rekor, tsa }, _) => key
                    .sign_statement(&statement, rekor.as_ref(), tsa.as_ref())
                    .await
                    .map_err(|e| Error::Usage(format!("{image}: {e}")))?,
                (Signer::Keyless(_), None) => return Err(Error::Usage("no identity token".into())),
            };
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
            report::out(&format!(
                "signed {image} as {signed_by}; bundle stored as {}",
                stored.digest
            ));
        }

        if needs_legacy {
            let payload = legacy::payload(&docker_reference, &digest, &annotations);
            let (bundle, chain) = match (&signer, &token) {
                (Signer::Keyless(keyless), Some(token)) => {
                    let bundle = keyless
                        .sign_message(token.reveal(), &payload)
                        .await
                        .map_err(|e| Error::Usage(format!("{image}: {e}")))?;
                    let chain = legacy_chain(&bundle, &trust);
                    (bundle, chain)
                }
                (Signer::Key { key, rekor, .. }, _) => (
                    key.sign_message(&payload, rekor.as_ref())
                        .await
                        .map_err(|e| Error::Usage(format!("{image}: {e}")))?,
                    None,
                ),
                (Signer::Keyless(_), None) => return Err(Error::Usage("no identity token".into())),
            };
            let layer_annotations = legacy::annotations_from_bundle(&bundle, chain.as_deref())
                .map_err(|e| Error::Usage(format!("{image}: the legacy signature: {e}")))?;
            let tag =
                legacy::attach(&client, &reference, &digest, payload, layer_annotations).await?;
            report::out(&format!(
                "signed {image} as {signed_by}; legacy signature stored as {}:{tag}",
                reference.name()
            ));
        }

        let check = match &expected {
            Expected::Identity { identity, issuer } => {
                format!("--certificate-identity '{identity}' --certificate-oidc-issuer '{issuer}'")
            }
            Expected::Key { ignore_tlog, .. } => format!(
                "--key PUBLIC-KEY{}",
                if *ignore_tlog {
                    " --insecure-ignore-tlog"
                } else {
                    ""
                }
            ),
        };
        report::info(&format!("verify it: wharf verify {image} {check}"));
        Ok(Outcome::Ok)
    })
}

/// The certificate chain for a keyless legacy signature's annotation: the
/// trusted Fulcio CA that issued the bundle's certificate.
fn legacy_chain(bundle_json: &str, trust: &trust::Trust) -> Option<String> {
    use base64::Engine as _;
    let doc: serde_json::Value = serde_json::from_str(bundle_json).ok()?;
    let leaf = doc
        .pointer("/verificationMaterial/certificate/rawBytes")
        .and_then(|v| v.as_str())?;
    let der = base64::engine::general_purpose::STANDARD
        .decode(leaf)
        .ok()?;
    legacy::chain_for(&der, &trust.root)
}
