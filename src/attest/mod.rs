//! `wharf attest IMAGE --predicate FILE --type T`: bind a document about
//! the image (its SBOM, its provenance, its vulnerability report) to the
//! digest, signed by the same identity and stored the same way as the
//! image signature, so admission can require "an SBOM attestation from our
//! CI" as it requires the signature.
//!
//! The statement is an in-toto Statement v1 whose subject is the image name
//! and digest; the predicate file's bytes go into it as they are (a 20 MB
//! SBOM is parsed once, to check it is JSON of the right kind, and never
//! reformatted).

pub mod provenance;

use std::path::Path;

use bytes::Bytes;

use crate::cli::AttestArgs;
use crate::config::Global;
use crate::reference::Reference;
use crate::registry::{ImageRef, RegistryClient, Store};
use crate::sign::legacy;
use crate::sign::session::{Session, Target};
use crate::sign::storage::{self, BundleContent};
use crate::verify::{self, predicate_type_uri};
use crate::{report, Error, Outcome, Result};

/// Larger than any honest predicate (SBOMs of big images run to tens of MB).
const PREDICATE_MAX: u64 = 48 << 20;

/// Runs `wharf attest`.
pub fn run(global: &Global, args: &AttestArgs) -> Result<Outcome> {
    attest_image(global, args).map(|_| Outcome::Ok)
}

/// Attests the image (or finds it attested already by this signer with
/// this statement); the referrer bundle's JSON, with `--bundle-format
/// bundle|both`.
pub fn attest_image(global: &Global, args: &AttestArgs) -> Result<Option<String>> {
    let image_ref = ImageRef::parse(&args.image)?;
    crate::sign::image::check_signing_args(&image_ref, &args.signing)?;
    let predicate = Predicate::from_args(args)?;
    let (signer, trust) = Session::prepare(&args.signing, global.offline)?;
    let client = RegistryClient::new(global).map_err(Error::Usage)?;
    let store = Store::new(&client, &image_ref);
    let runtime = crate::runtime()?;

    runtime.block_on(async {
        let session = Session::start(signer, trust, &args.signing).await?;
        let target = session.target(&store).await?;
        attest_target(&session, &store, &target, args, predicate).await
    })
}

/// What `--predicate` or `--generate` asks to attest, checked.
pub struct Predicate {
    /// The predicate type URI.
    pub predicate_type: String,
    /// The predicate's bytes; `None` for provenance to generate.
    bytes: Option<Vec<u8>>,
}

impl Predicate {
    /// Reads and checks the predicate the flags name.
    pub fn from_args(args: &AttestArgs) -> Result<Predicate> {
        let predicate_type = predicate_type_uri(&args.predicate_type);
        let bytes = match (&args.predicate, args.generate) {
            (_, true) => {
                if predicate_type != "https://slsa.dev/provenance/v1" {
                    return Err(Error::Usage(format!(
                        "--generate builds SLSA v1 provenance; use it with --type slsaprovenance1, not {}",
                        args.predicate_type
                    )));
                }
                None
            }
            (Some(path), false) => Some(read_predicate(path, &predicate_type)?),
            (None, false) => {
                return Err(Error::Usage(
                    "--predicate FILE is required (or --generate with --type slsaprovenance1)"
                        .into(),
                ))
            }
        };
        Ok(Predicate {
            predicate_type,
            bytes,
        })
    }
}

/// Attests `target` in `store` with `session`: the body of `wharf attest`,
/// and of `wharf run`'s attest stage, which hands in the run's session (one
/// certificate for the signature and every attestation) and its target.
pub async fn attest_target(
    session: &Session,
    store: &Store<'_>,
    target: &Target,
    args: &AttestArgs,
    predicate: Predicate,
) -> Result<Option<String>> {
    let Predicate {
        predicate_type,
        bytes,
    } = predicate;
    let predicate = match bytes {
        Some(p) => p,
        None => {
            let generated =
                provenance::generate(&provenance::ProcessEnv, target).map_err(Error::Usage)?;
            serde_json::to_vec(&generated)
                .map_err(|e| Error::Usage(format!("cannot serialise the provenance: {e}")))?
        }
    };
    let statement = statement(target, &predicate_type, &predicate);
    let image = &target.image;

    let format = args.signing.bundle_format;
    let have_bundle = if format.bundle() {
        // An attestation by this signer with this very statement.
        let ours: Option<serde_json::Value> = serde_json::from_slice(&statement).ok();
        let wanted = |predicate: Option<&str>, found: Option<&serde_json::Value>| {
            predicate == Some(predicate_type.as_str()) && found == ours.as_ref()
        };
        session.find_bundle(store, target, wanted).await?
    } else {
        None
    };
    let legacy_at = store.registry();
    let have_legacy = if let Some((client, reference)) = legacy_at.filter(|_| format.legacy()) {
        existing_legacy(session, client, reference, target, &statement).await?
    } else {
        None
    };
    let needs_bundle = format.bundle() && have_bundle.is_none();
    let needs_legacy = format.legacy() && have_legacy.is_none();
    let (have_manifest, have_text) = have_bundle.unzip();
    if !needs_bundle && !needs_legacy {
        let found = crate::sign::session::found_at(have_manifest, have_legacy);
        report::out(&format!(
            "{image} already has this {predicate_type} attestation by {} ({found}); nothing to do",
            session.signed_by
        ));
        return Ok(have_text);
    }
    session.announce(&format!("a {predicate_type} attestation about {image}"));
    // One signature serves both layouts: the same envelope, the same log entry.
    let bundle = session
        .sign_statement(&statement)
        .await
        .map_err(|e| Error::Usage(format!("{image}: {e}")))?;
    if let Some((client, reference)) = legacy_at.filter(|_| needs_legacy) {
        let mut annotations = session
            .legacy_annotations(&bundle)
            .map_err(|e| Error::Usage(format!("{image}: the legacy attestation: {e}")))?;
        annotations.insert(
            legacy::ANNOTATION_PREDICATE_TYPE.into(),
            predicate_type.clone(),
        );
        let envelope = legacy::envelope_of(&bundle).map_err(Error::Usage)?;
        let tag =
            legacy::attach_attestation(client, reference, &target.digest, envelope, annotations)
                .await?;
        report::out(&format!(
            "attested {image} ({predicate_type}) as {}; legacy attestation stored as {}:{tag}",
            session.signed_by,
            reference.name()
        ));
    }
    let mut bundle_text = have_text;
    if needs_bundle {
        let stored = storage::attach(
            store,
            &target.subject,
            Bytes::from(bundle.clone()),
            BundleContent::DsseEnvelope,
            Some(&predicate_type),
            &storage::created_now(),
        )
        .await?;
        report::out(&format!(
            "attested {image} ({predicate_type}) as {}; bundle stored as {}",
            session.signed_by, stored.digest
        ));
        bundle_text = Some(bundle);
    }
    report::info(&format!(
        "verify it: wharf verify {image} --attestation-type '{}' {}",
        args.predicate_type,
        session.verify_flags()
    ));
    Ok(bundle_text)
}

/// Reads the predicate and checks it is a JSON object of the kind `--type`
/// names; returns its bytes, trimmed.
fn read_predicate(path: &Path, predicate_type: &str) -> Result<Vec<u8>> {
    let bytes = crate::fsutil::read_bounded(path, PREDICATE_MAX, "the predicate")?;
    let doc: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| Error::file(path, format!("the predicate is not JSON: {e}")))?;
    if !doc.is_object() {
        return Err(Error::file(path, "the predicate must be a JSON object"));
    }
    let kind_error = |what: &str| {
        Err(Error::file(
            path,
            format!(
                "--type says {predicate_type}, but this is not {what}; pass the matching --type"
            ),
        ))
    };
    match predicate_type {
        "https://cyclonedx.org/bom"
            if doc.get("bomFormat").and_then(|v| v.as_str()) != Some("CycloneDX") =>
        {
            return kind_error("a CycloneDX document (no \"bomFormat\": \"CycloneDX\")")
        }
        "https://spdx.dev/Document" if doc.get("spdxVersion").is_none() => {
            return kind_error("an SPDX JSON document (no spdxVersion)")
        }
        "https://slsa.dev/provenance/v1" if doc.get("buildDefinition").is_none() => {
            return kind_error("SLSA v1 provenance (no buildDefinition)")
        }
        _ => {}
    }
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(0);
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |e| e + 1);
    Ok(bytes[start..end.max(start)].to_vec())
}

/// The in-toto Statement v1 about the target, the predicate spliced in as
/// it was written.
fn statement(target: &Target, predicate_type: &str, predicate: &[u8]) -> Vec<u8> {
    let head = serde_json::json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{
            "name": target.name,
            "digest": {"sha256": target.digest.trim_start_matches("sha256:")},
        }],
        "predicateType": predicate_type,
    })
    .to_string();
    // `{…}` without its closing brace, then `,"predicate":<bytes>}`.
    let mut out = Vec::with_capacity(head.len() + predicate.len() + 16);
    out.extend_from_slice(&head.as_bytes()[..head.len() - 1]);
    out.extend_from_slice(b",\"predicate\":");
    out.extend_from_slice(predicate);
    out.push(b'}');
    out
}

/// A legacy `.att` layer by this signer with this very statement.
async fn existing_legacy(
    session: &Session,
    client: &RegistryClient,
    reference: &Reference,
    target: &Target,
    statement: &[u8],
) -> Result<Option<String>> {
    let ours: Option<serde_json::Value> = serde_json::from_slice(statement).ok();
    for att in legacy::attestations(client, reference, &target.digest).await? {
        let Ok(bundle) =
            legacy::bundle_from_layer(&att.annotations, legacy::Layer::Envelope(&att.payload))
        else {
            continue;
        };
        if verify::bundle_statement(&bundle).ok().flatten() != ours {
            continue;
        }
        if verify::check_image_bundle(&bundle, &target.digest, &session.expected, &session.trust)
            .is_ok()
        {
            return Ok(Some(att.location));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::oci::Descriptor;

    fn target() -> Target {
        Target {
            digest: format!("sha256:{}", "ab".repeat(32)),
            subject: Descriptor::new("application/vnd.oci.image.manifest.v1+json", "sha256:x", 1),
            image: "reg/app@sha256:abab".into(),
            name: "reg/app".into(),
        }
    }

    #[test]
    fn the_predicate_is_spliced_byte_for_byte() {
        let predicate = br#"{"bomFormat":"CycloneDX",  "specVersion":"1.6","x":1.50}"#;
        let s = statement(&target(), "https://cyclonedx.org/bom", predicate);
        let text = String::from_utf8(s.clone()).unwrap();
        assert!(
            text.ends_with(
                r#","predicate":{"bomFormat":"CycloneDX",  "specVersion":"1.6","x":1.50}}"#
            ),
            "{text}"
        );
        let doc: serde_json::Value = serde_json::from_slice(&s).unwrap();
        assert_eq!(doc["_type"], "https://in-toto.io/Statement/v1");
        assert_eq!(doc["subject"][0]["digest"]["sha256"], "ab".repeat(32));
        assert_eq!(doc["predicateType"], "https://cyclonedx.org/bom");
    }

    #[test]
    fn a_predicate_of_the_wrong_kind_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("p.json");
        std::fs::write(&file, r#"{"spdxVersion":"SPDX-2.3"}"#).unwrap();
        let err = read_predicate(&file, "https://cyclonedx.org/bom")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a CycloneDX document"), "{err}");
        assert!(read_predicate(&file, "https://spdx.dev/Document").is_ok());
        std::fs::write(&file, "[1]").unwrap();
        assert!(read_predicate(&file, "https://example.com/x").is_err());
        std::fs::write(&file, "{not json").unwrap();
        let err = read_predicate(&file, "https://example.com/x")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not JSON"), "{err}");
    }
}
