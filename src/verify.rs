//! `wharf verify-blob` (and, as the signing step lands, `wharf verify`):
//! check a Sigstore bundle exactly as an admission controller would — the
//! signature, the certificate chain to the trusted Fulcio, the embedded SCT,
//! the transparency-log inclusion and timestamps, and that the signer is the
//! identity the caller names.
//!
//! The cryptography is sigstore-rust's `sigstore-verify`; this module turns
//! flags into a policy, adds what the library leaves to callers (identity
//! regular expressions, matched against the whole value), and reports why a
//! bundle was refused.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sigstore_verify::types::{Bundle, DerPublicKey, Sha256Hash};
use sigstore_verify::{PublicKeyVerificationPolicy, VerificationPolicy, Verifier};

use crate::cli::{IdentityArgs, VerifyBlobArgs};
use crate::error::{Error, Result};
use crate::{report, trust, Outcome};

/// Bundles are small JSON documents; a DSSE attestation with a large SBOM
/// predicate is the biggest honest one.
const BUNDLE_MAX: u64 = 64 << 20;

/// How a certificate's identity or issuer must look.
#[derive(Debug, Clone)]
pub enum Matcher {
    Exact(String),
    /// Matched against the whole value (`^(?:…)$`): an unanchored pattern
    /// like `github.com/org/` would otherwise accept any repository that
    /// merely contains it.
    Regex(regex::Regex),
}

impl Matcher {
    fn new(
        exact: Option<&String>,
        pattern: Option<&String>,
        flag: &str,
    ) -> Result<Option<Matcher>> {
        match (exact, pattern) {
            (Some(_), Some(_)) => Err(Error::Usage(format!(
                "give --{flag} or --{flag}-regexp, not both"
            ))),
            (Some(e), None) => Ok(Some(Matcher::Exact(e.clone()))),
            (None, Some(p)) => regex::Regex::new(&format!("^(?:{p})$"))
                .map(|r| Some(Matcher::Regex(r)))
                .map_err(|e| {
                    Error::Usage(format!(
                        "--{flag}-regexp {p:?} is not a valid regular expression: {e}"
                    ))
                }),
            (None, None) => Ok(None),
        }
    }

    pub fn matches(&self, value: &str) -> bool {
        match self {
            Matcher::Exact(e) => e == value,
            Matcher::Regex(r) => r.is_match(value),
        }
    }

    /// The value or pattern as the user gave it (a regex without the
    /// anchors wharf added).
    pub fn given(&self) -> &str {
        match self {
            Matcher::Exact(e) => e,
            Matcher::Regex(r) => {
                let s = r.as_str();
                s.strip_prefix("^(?:")
                    .and_then(|s| s.strip_suffix(")$"))
                    .unwrap_or(s)
            }
        }
    }
}

impl std::fmt::Display for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Matcher::Exact(e) => f.write_str(e),
            Matcher::Regex(_) => write!(f, "/{}/", self.given()),
        }
    }
}

/// Who must have signed: a keyless identity, or the holder of a key.
#[derive(Clone)]
pub enum Expected {
    Identity {
        identity: Matcher,
        issuer: Matcher,
    },
    Key {
        path: PathBuf,
        key: DerPublicKey,
        /// Accept signatures no transparency log recorded.
        ignore_tlog: bool,
    },
}

impl Expected {
    pub fn from_args(args: &IdentityArgs) -> Result<Expected> {
        let identity = Matcher::new(
            args.certificate_identity.as_ref(),
            args.certificate_identity_regexp.as_ref(),
            "certificate-identity",
        )?;
        let issuer = Matcher::new(
            args.certificate_oidc_issuer.as_ref(),
            args.certificate_oidc_issuer_regexp.as_ref(),
            "certificate-oidc-issuer",
        )?;
        if let Some(path) = &args.key {
            if identity.is_some() || issuer.is_some() {
                return Err(Error::Usage(
                    "--key verifies a key signature; drop --certificate-identity/--certificate-oidc-issuer, \
                     which are for keyless signatures"
                        .into(),
                ));
            }
            let pem = std::fs::read_to_string(path)
                .map_err(|e| Error::file(path, format!("cannot read the public key: {e}")))?;
            let key = DerPublicKey::from_pem(&pem)
                .map_err(|e| Error::file(path, format!("not a PEM public key: {e}")))?;
            return Ok(Expected::Key {
                path: path.clone(),
                key,
                ignore_tlog: args.insecure_ignore_tlog,
            });
        }
        match (identity, issuer) {
            (Some(identity), Some(issuer)) => Ok(Expected::Identity { identity, issuer }),
            (None, _) => Err(Error::Usage(
                "say who must have signed: --certificate-identity (or --certificate-identity-regexp) \
                 and --certificate-oidc-issuer, or --key PUB for a key signature"
                    .into(),
            )),
            (Some(_), None) => Err(Error::Usage(
                "--certificate-oidc-issuer (or --certificate-oidc-issuer-regexp) is required with \
                 --certificate-identity: an identity means nothing without the issuer that vouched for it \
                 (GitHub Actions: https://token.actions.githubusercontent.com)"
                    .into(),
            )),
        }
    }
}

/// What a blob verification is about: a file, or the sha256 of one.
enum Subject {
    File(PathBuf),
    Digest(Sha256Hash),
}

impl Subject {
    fn parse(input: &str) -> Result<Subject> {
        if let Some(hex) = input.strip_prefix("sha256:") {
            if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(Error::Usage(format!(
                    "{input:?} is not sha256: followed by 64 hex digits"
                )));
            }
            let hash = Sha256Hash::from_hex(hex)
                .map_err(|e| Error::Usage(format!("{input:?} is not a sha256 digest: {e}")))?;
            return Ok(Subject::Digest(hash));
        }
        Ok(Subject::File(PathBuf::from(input)))
    }
}

/// Runs `wharf verify-blob`.
pub fn verify_blob(global: &crate::config::Global, args: &VerifyBlobArgs) -> Result<Outcome> {
    let offline = global.offline;
    let expected = Expected::from_args(&args.identity)?;
    let bundle_path = args.bundle.as_deref().ok_or_else(|| {
        Error::Usage("--bundle FILE is required: the Sigstore bundle to verify".into())
    })?;
    let subject = Subject::parse(&args.input)?;
    if let Subject::File(path) = &subject {
        if !path.is_file() {
            return Err(Error::file(
                path,
                "no such file to verify (give a file or sha256:HEX)",
            ));
        }
    }
    let tuf = args.tuf.spec(offline)?;
    let trust = trust::load(
        args.trusted_root.as_deref(),
        args.trust_config.as_deref(),
        tuf.as_ref(),
        offline,
    )?;
    let bundle_text = read_bundle(bundle_path)?;

    match check(&bundle_text, &subject, &expected, &trust) {
        Ok(signer) => {
            let what = match &subject {
                Subject::File(p) => p.display().to_string(),
                Subject::Digest(d) => format!("sha256:{}", d.to_hex()),
            };
            report::out(&format!("Verified OK: {what} signed by {signer}"));
            Ok(Outcome::Ok)
        }
        Err(why) => {
            report::out(&format!(
                "Verification failed: {}: {why}",
                bundle_path.display()
            ));
            Ok(Outcome::PolicyNo)
        }
    }
}

/// Who signed a bundle that verified.
#[derive(Debug, Clone)]
pub enum Signer {
    Identity { identity: String, issuer: String },
    Key(PathBuf),
}

impl std::fmt::Display for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Signer::Identity { identity, issuer } => write!(f, "{identity} (issuer {issuer})"),
            Signer::Key(path) => write!(f, "the key {}", path.display()),
        }
    }
}

/// Verifies; `Err` is the reason the bundle was refused.
fn check(
    bundle_text: &str,
    subject: &Subject,
    expected: &Expected,
    trust: &trust::Trust,
) -> Result<Signer, String> {
    let bundle =
        Bundle::from_json(bundle_text).map_err(|e| format!("the bundle is malformed: {e}"))?;
    let verifier =
        Verifier::new(&trust.root).map_err(|e| format!("the {} is unusable: {e}", trust.source))?;
    match expected {
        Expected::Key {
            path,
            key,
            ignore_tlog,
        } => {
            if *ignore_tlog
                && bundle.verification_material.tlog_entries.is_empty()
                && bundle
                    .verification_material
                    .timestamp_verification_data
                    .rfc3161_timestamps
                    .is_empty()
            {
                // Signed with --tlog-upload=false --timestamp=false: no
                // evidence of time, which the library's checks insist on.
                check_bare_dsse(&bundle, subject, key, path)?;
                return Ok(Signer::Key(path.clone()));
            }
            let mut policy = PublicKeyVerificationPolicy::new(key.clone());
            if *ignore_tlog {
                policy = policy.skip_tlog_unsafe();
            }
            run(&verifier, subject, &bundle, &policy)?;
            Ok(Signer::Key(path.clone()))
        }
        Expected::Identity { identity, issuer } => {
            let mut policy = VerificationPolicy::any_identity();
            if let Matcher::Exact(i) = identity {
                policy = policy.require_identity(i.as_str());
            }
            if let Matcher::Exact(i) = issuer {
                policy = policy.require_issuer(i.as_str());
            }
            let result = run(&verifier, subject, &bundle, &policy)?;
            let signer = result
                .identity()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default();
            let signer_issuer = result.issuer().unwrap_or_default().to_string();
            if !identity.matches(&signer) {
                return Err(format!("signed by {signer:?}, not by {identity}"));
            }
            if !issuer.matches(&signer_issuer) {
                return Err(format!(
                    "the signer's OIDC issuer is {signer_issuer:?}, not {issuer}"
                ));
            }
            Ok(Signer::Identity {
                identity: signer,
                issuer: signer_issuer,
            })
        }
    }
}

/// Verifies a bundle about an image manifest whose digest is `digest`.
pub fn check_image_bundle(
    bundle_text: &str,
    digest: &str,
    expected: &Expected,
    trust: &trust::Trust,
) -> Result<Signer, String> {
    let hex = digest
        .strip_prefix("sha256:")
        .ok_or_else(|| format!("{digest} is not a sha256 digest"))?;
    let hash = Sha256Hash::from_hex(hex).map_err(|e| format!("{digest}: {e}"))?;
    check(bundle_text, &Subject::Digest(hash), expected, trust)
}

/// Verifies a legacy (`.sig` tag) signature of the image `digest`; on
/// success, who signed and the annotations the payload carries.
pub fn check_legacy(
    sig: &crate::sign::legacy::LegacySignature,
    digest: &str,
    expected: &Expected,
    trust: &trust::Trust,
) -> Result<(Signer, BTreeMap<String, String>), String> {
    use crate::sign::legacy;
    use sha2::Digest as _;
    let (about, annotations) = legacy::read_payload(&sig.payload)?;
    if about != digest {
        return Err(format!("its payload is about {about}, not this image"));
    }
    // A key signature no log recorded: nothing but the signature to check,
    // which is what --insecure-ignore-tlog asks for.
    if let Expected::Key {
        path,
        key,
        ignore_tlog: true,
    } = expected
    {
        if !sig.annotations.contains_key(legacy::ANNOTATION_BUNDLE) {
            use base64::Engine as _;
            let signature = sig
                .annotations
                .get(legacy::ANNOTATION_SIGNATURE)
                .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
                .ok_or("the layer has no base64 signature annotation")?;
            let key = sigstore_verify::crypto::VerificationKey::from_spki(key)
                .map_err(|e| format!("the key {}: {e}", path.display()))?;
            key.verify(
                &sig.payload,
                &sigstore_verify::types::SignatureBytes::new(signature),
            )
            .map_err(|_| {
                format!(
                    "the signature does not verify with the key {}",
                    path.display()
                )
            })?;
            return Ok((Signer::Key(path.clone()), annotations));
        }
    }
    let bundle = legacy::bundle_from_annotations(&sig.annotations, &sig.payload)?;
    let hash = Sha256Hash::from_hex(&hex::encode(sha2::Sha256::digest(&sig.payload)))
        .map_err(|e| format!("hashing the payload: {e}"))?;
    let signer = check(&bundle, &Subject::Digest(hash), expected, trust)?;
    Ok((signer, annotations))
}

/// Verifies a key-signed DSSE bundle that carries no log entry and no
/// timestamp (what `--insecure-ignore-tlog` accepts): the envelope's
/// signature over its pre-authentication encoding, with the key, and the
/// in-toto statement's subject digest against `subject`.
fn check_bare_dsse(
    bundle: &Bundle,
    subject: &Subject,
    key: &DerPublicKey,
    path: &Path,
) -> Result<(), String> {
    use sigstore_verify::types::bundle::SignatureContent;
    let SignatureContent::DsseEnvelope(envelope) = &bundle.content else {
        return Err(
            "a message signature with no transparency-log entry and no timestamp: wharf checks only DSSE \
             envelopes without either; sign again with a log or a timestamp"
                .into(),
        );
    };
    let verification_key = sigstore_verify::crypto::VerificationKey::from_spki(key)
        .map_err(|e| format!("the key {}: {e}", path.display()))?;
    verification_key
        .verify(envelope.pae(), &envelope.signature.sig)
        .map_err(|_| {
            format!(
                "the signature does not verify with the key {}",
                path.display()
            )
        })?;
    if envelope.payload_type != "application/vnd.in-toto+json" {
        return Err(format!(
            "the envelope's payload type is {:?}, not an in-toto statement",
            envelope.payload_type
        ));
    }
    let statement: serde_json::Value = serde_json::from_slice(envelope.payload.as_bytes())
        .map_err(|e| format!("the signed statement is not JSON: {e}"))?;
    let want = match subject {
        Subject::Digest(d) => d.to_hex(),
        Subject::File(file) => {
            use sha2::Digest as _;
            let mut hasher = sha2::Sha256::new();
            let mut reader = std::fs::File::open(file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            std::io::copy(&mut reader, &mut hasher)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            hex::encode(hasher.finalize())
        }
    };
    let names_it = statement["subject"].as_array().is_some_and(|subjects| {
        subjects
            .iter()
            .any(|s| s["digest"]["sha256"].as_str() == Some(want.as_str()))
    });
    if !names_it {
        return Err(format!(
            "the signed statement is about another artifact, not sha256:{want}"
        ));
    }
    Ok(())
}

fn run(
    verifier: &Verifier,
    subject: &Subject,
    bundle: &Bundle,
    policy: &(impl sigstore_verify::Policy + ?Sized),
) -> Result<sigstore_verify::VerificationResult, String> {
    let result = match subject {
        Subject::Digest(d) => verifier.verify(d, bundle, policy),
        Subject::File(path) => {
            let file = std::fs::File::open(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            verifier.verify_reader(std::io::BufReader::new(file), bundle, policy)
        }
    };
    result.map_err(|e| e.to_string())
}

fn read_bundle(path: &Path) -> Result<String> {
    let bytes = crate::fsutil::read_bounded(path, BUNDLE_MAX, "the bundle")?;
    String::from_utf8(bytes)
        .map_err(|e| Error::file(path, format!("cannot read the bundle as UTF-8 text: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regexps_match_the_whole_identity() {
        let m = Matcher::new(None, Some(&"https://github.com/org/.*".to_string()), "x")
            .unwrap()
            .unwrap();
        assert!(m.matches("https://github.com/org/repo/.github/workflows/ci.yml@refs/heads/main"));
        assert!(!m.matches("https://evil.example/https://github.com/org/repo"));
        let m = Matcher::new(None, Some(&"org/repo".to_string()), "x")
            .unwrap()
            .unwrap();
        assert!(
            !m.matches("https://github.com/org/repo"),
            "a substring is not a match"
        );
        assert_eq!(m.to_string(), "/org/repo/");
    }

    #[test]
    fn identity_flags_are_validated() {
        let args = |id: Option<&str>, iss: Option<&str>| IdentityArgs {
            certificate_identity: id.map(str::to_string),
            certificate_identity_regexp: None,
            certificate_oidc_issuer: iss.map(str::to_string),
            certificate_oidc_issuer_regexp: None,
            key: None,
            insecure_ignore_tlog: false,
        };
        assert!(Expected::from_args(&args(Some("a"), Some("b"))).is_ok());
        let err = Expected::from_args(&args(Some("a"), None))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("--certificate-oidc-issuer"), "{err}");
        let err = Expected::from_args(&args(None, None))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("--key"), "{err}");
        let mut both = args(Some("a"), Some("b"));
        both.certificate_identity_regexp = Some("a.*".into());
        assert!(Expected::from_args(&both).is_err());
        let mut bad = args(None, Some("b"));
        bad.certificate_identity_regexp = Some("(".into());
        let err = Expected::from_args(&bad).err().unwrap().to_string();
        assert!(err.contains("not a valid regular expression"), "{err}");
    }

    #[test]
    fn digests_must_be_sha256_hex() {
        assert!(matches!(
            Subject::parse(&format!("sha256:{}", "a".repeat(64))),
            Ok(Subject::Digest(_))
        ));
        assert!(Subject::parse("sha256:abc").is_err());
        assert!(matches!(Subject::parse("file.txt"), Ok(Subject::File(_))));
    }
}

/// The predicate type cosign v3 gives an image signature.
pub const SIGN_PREDICATE_TYPE: &str = "https://sigstore.dev/cosign/sign/v1";

/// `--type`/`--attestation-type` names, as cosign takes them, to URIs.
pub fn predicate_type_uri(name: &str) -> String {
    match name {
        "cyclonedx" => "https://cyclonedx.org/bom",
        "spdxjson" | "spdx" => "https://spdx.dev/Document",
        "slsaprovenance1" => "https://slsa.dev/provenance/v1",
        "slsaprovenance02" | "slsaprovenance" => "https://slsa.dev/provenance/v0.2",
        "vuln" => "https://cosign.sigstore.dev/attestation/vuln/v1",
        "custom" => "https://cosign.sigstore.dev/attestation/v1",
        uri => uri,
    }
    .to_string()
}

/// The in-toto statement of a DSSE bundle; `None` for a message signature.
/// Read only after (or for) verification: the bytes are what was signed.
pub fn bundle_statement(bundle_text: &str) -> Result<Option<serde_json::Value>, String> {
    use base64::Engine as _;
    let doc: serde_json::Value =
        serde_json::from_str(bundle_text).map_err(|e| format!("the bundle is malformed: {e}"))?;
    let Some(envelope) = doc.get("dsseEnvelope") else {
        return Ok(None);
    };
    let payload = envelope
        .get("payload")
        .and_then(|p| p.as_str())
        .ok_or("its DSSE envelope has no payload")?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(payload)
        .map_err(|e| format!("its DSSE payload is not base64: {e}"))?;
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| format!("its DSSE payload is not an in-toto statement: {e}"))
}

/// The statement's predicate exactly as it was signed.
fn bundle_predicate_raw(bundle_text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    #[derive(serde::Deserialize)]
    struct Raw<'a> {
        #[serde(borrow)]
        predicate: &'a serde_json::value::RawValue,
    }
    let doc: serde_json::Value = serde_json::from_str(bundle_text).ok()?;
    let payload = doc.pointer("/dsseEnvelope/payload")?.as_str()?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(payload)
        .ok()?;
    let raw: Raw<'_> = serde_json::from_slice(&bytes).ok()?;
    Some(raw.predicate.get().as_bytes().to_vec())
}

fn predicate_type_of(statement: Option<&serde_json::Value>) -> Option<String> {
    statement
        .and_then(|s| s.get("predicateType"))
        .and_then(|p| p.as_str())
        .map(str::to_string)
}

/// The signed annotations of the statement's subject for `digest` (cosign
/// v3 puts `-a` annotations there).
pub fn signed_annotations(
    statement: Option<&serde_json::Value>,
    digest: &str,
) -> BTreeMap<String, String> {
    let hex = digest.trim_start_matches("sha256:");
    let subjects = statement
        .and_then(|s| s.get("subject"))
        .and_then(|s| s.as_array())
        .cloned()
        .unwrap_or_default();
    subjects
        .iter()
        .find(|s| s.pointer("/digest/sha256").and_then(|d| d.as_str()) == Some(hex))
        .and_then(|s| s.get("annotations"))
        .and_then(|a| a.as_object())
        .map(|a| {
            a.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string()),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `KEY=VALUE` flags, as `-a/--annotation` takes them.
pub fn parse_annotations(flags: &[String]) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for flag in flags {
        match flag.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                out.insert(k.to_string(), v.to_string());
            }
            _ => {
                return Err(Error::Usage(format!(
                    "--annotation {flag:?}: write KEY=VALUE (for example env=prod)"
                )))
            }
        }
    }
    Ok(out)
}

/// One bundle found attached to the image, and what came of checking it.
#[derive(Debug, serde::Serialize)]
pub struct Checked {
    /// The artifact manifest carrying the bundle.
    pub manifest: String,
    pub predicate_type: Option<String>,
    pub verified: bool,
    pub signer: Option<String>,
    pub issuer: Option<String>,
    pub reason: Option<String>,
    /// The Rekor log index of the bundle's transparency-log entry.
    pub log_index: Option<u64>,
}

impl Checked {
    /// `SIGNER (issuer ISSUER)`, or the key, for a bundle that verified.
    pub fn signed_by(&self) -> Option<String> {
        let signer = self.signer.as_ref()?;
        Some(match &self.issuer {
            Some(issuer) => format!("{signer} (issuer {issuer})"),
            None => signer.clone(),
        })
    }
}

/// What checking an image's attached bundles found.
pub struct Verification {
    /// The image's digest (IMAGE resolved once).
    pub digest: String,
    /// Every bundle of the kind asked for, and its verdict.
    pub checked: Vec<Checked>,
    /// Verified attestations' predicates, with their creation time.
    pub predicates: Vec<(String, Vec<u8>)>,
}

impl Verification {
    pub fn verified(&self) -> bool {
        self.checked.iter().any(|c| c.verified)
    }

    /// The first bundle that verified.
    pub fn verified_bundle(&self) -> Option<&Checked> {
        self.checked.iter().find(|c| c.verified)
    }

    /// Says why each refused bundle was refused (stderr).
    pub fn say_refusals(&self) {
        for c in &self.checked {
            if let Some(reason) = &c.reason {
                report::info(&format!("  refused {}: {reason}", c.manifest));
            }
        }
    }
}

/// Finds the bundles (and legacy `.sig`/`.att` layers) attached to the
/// image and checks each of the kind `want` (a predicate type URI, or
/// [`SIGN_PREDICATE_TYPE`] for signatures) against `expected`.
pub fn collect(
    global: &crate::config::Global,
    image: &crate::registry::ImageRef,
    expected: &Expected,
    trust: &trust::Trust,
    want: &str,
    required: &BTreeMap<String, String>,
) -> Result<Verification> {
    let client = crate::registry::RegistryClient::new(global).map_err(Error::Usage)?;
    let store = crate::registry::Store::new(&client, image);
    let runtime = crate::runtime()?;
    runtime.block_on(async {
        let resolved = store.resolve(None).await?;
        collect_at(&store, &resolved.digest, expected, trust, want, required).await
    })
}

/// [`collect`] for an image already resolved to `digest` (`wharf run`'s
/// verify stage, on the run's client).
pub async fn collect_at(
    store: &crate::registry::Store<'_>,
    digest: &str,
    expected: &Expected,
    trust: &trust::Trust,
    want: &str,
    required: &BTreeMap<String, String>,
) -> Result<Verification> {
    let is_signature = want == SIGN_PREDICATE_TYPE;
    let digest = digest.to_string();
    let stored = crate::sign::storage::bundles(store, &digest).await?;
    // cosign's legacy layout: signatures in `.sig`, attestations in
    // `.att` (registries only).
    let legacy = match store.registry() {
        None => Vec::new(),
        Some((client, reference)) if is_signature => {
            crate::sign::legacy::signatures(client, reference, &digest).await?
        }
        Some((client, reference)) => {
            crate::sign::legacy::attestations(client, reference, &digest).await?
        }
    };
    let require = |signed: &BTreeMap<String, String>| match required
        .iter()
        .find(|(k, v)| signed.get(*k) != Some(*v))
    {
        Some((k, v)) => Err(format!(
            "it does not carry the signed annotation {k}={v} (it has {})",
            if signed.is_empty() {
                "none".to_string()
            } else {
                signed
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        )),
        None => Ok(()),
    };

    let mut checked = Vec::new();
    // Verified attestations' predicates, with their creation time.
    let mut predicates: Vec<(String, Vec<u8>)> = Vec::new();
    for bundle in &stored {
        let Ok(text) = std::str::from_utf8(&bundle.bundle) else {
            checked.push(Checked::refused(
                &bundle.manifest,
                None,
                "the bundle is not UTF-8 JSON".into(),
            ));
            continue;
        };
        let statement = match bundle_statement(text) {
            Ok(s) => s,
            Err(reason) => {
                checked.push(Checked::refused(&bundle.manifest, None, reason));
                continue;
            }
        };
        let predicate_type = predicate_type_of(statement.as_ref());
        // A message signature over the manifest is a (cosign v2-style) signature, never an attestation.
        let kind_matches = match &predicate_type {
            Some(p) => *p == want,
            None => is_signature,
        };
        if !kind_matches {
            // Not what was asked for (an SBOM attestation when verifying a signature): not a refusal.
            continue;
        }
        let verdict = check_image_bundle(text, &digest, expected, trust).and_then(|signer| {
            require(&signed_annotations(statement.as_ref(), &digest)).map(|()| signer)
        });
        if verdict.is_ok() && !is_signature {
            let created = bundle
                .annotations
                .get(crate::sign::storage::ANNOTATION_CREATED)
                .cloned()
                .unwrap_or_default();
            if let Some(raw) = bundle_predicate_raw(text) {
                predicates.push((created, raw));
            }
        }
        checked.push(
            Checked::from_verdict(&bundle.manifest, predicate_type, verdict)
                .with_log_index(bundle_log_index(text)),
        );
    }
    for sig in legacy.iter().filter(|_| is_signature) {
        let verdict = check_legacy(sig, &digest, expected, trust)
            .and_then(|(signer, signed)| require(&signed).map(|()| signer));
        checked.push(Checked::from_verdict(&sig.location, None, verdict));
    }
    for att in legacy.iter().filter(|_| !is_signature) {
        use crate::sign::legacy::{bundle_from_layer, Layer};
        let bundle = match bundle_from_layer(&att.annotations, Layer::Envelope(&att.payload)) {
            Ok(b) => b,
            Err(reason) => {
                checked.push(Checked::refused(&att.location, None, reason));
                continue;
            }
        };
        let statement = bundle_statement(&bundle).ok().flatten();
        let predicate_type = predicate_type_of(statement.as_ref());
        if predicate_type.as_deref() != Some(want) {
            continue;
        }
        let verdict = check_image_bundle(&bundle, &digest, expected, trust).and_then(|signer| {
            require(&signed_annotations(statement.as_ref(), &digest)).map(|()| signer)
        });
        if verdict.is_ok() {
            if let Some(raw) = bundle_predicate_raw(&bundle) {
                // Legacy layers carry no creation time: older than any bundle.
                predicates.push((String::new(), raw));
            }
        }
        checked.push(
            Checked::from_verdict(&att.location, predicate_type, verdict)
                .with_log_index(bundle_log_index(&bundle)),
        );
    }

    Ok(Verification {
        digest,
        checked,
        predicates,
    })
}

/// Runs `wharf verify IMAGE`.
pub fn verify_image(
    global: &crate::config::Global,
    args: &crate::cli::VerifyArgs,
) -> Result<Outcome> {
    let expected = Expected::from_args(&args.identity)?;
    let required = parse_annotations(&args.annotations)?;
    let image_ref = crate::registry::ImageRef::parse(&args.image)?;
    let name = image_ref.name();
    let tuf = args.tuf.spec(global.offline)?;
    let trust = trust::load(
        args.trusted_root.as_deref(),
        args.trust_config.as_deref(),
        tuf.as_ref(),
        global.offline,
    )?;
    let want = args
        .attestation_type
        .as_deref()
        .map(predicate_type_uri)
        .unwrap_or_else(|| SIGN_PREDICATE_TYPE.to_string());
    let is_signature = want == SIGN_PREDICATE_TYPE;
    let Verification {
        digest,
        checked,
        mut predicates,
    } = collect(global, &image_ref, &expected, &trust, &want, &required)?;
    let ok = checked.iter().any(|c| c.verified);
    let what = if is_signature {
        "signature".to_string()
    } else {
        format!("{want} attestation")
    };
    let image = format!("{name}@{digest}");
    match args.format {
        crate::cli::TextOrJson::Json => {
            let doc = serde_json::json!({
                "image": image,
                "digest": digest,
                "predicate_type": want,
                "trust": trust.source.to_string(),
                "verified": ok,
                "bundles": checked,
            });
            report::out(&serde_json::to_string_pretty(&doc).unwrap_or_default());
        }
        crate::cli::TextOrJson::Text => {
            if !image_ref.has_digest() {
                report::info(&format!("resolved {image_ref} to {digest}"));
            }
            for c in &checked {
                match (&c.signer, &c.reason) {
                    (Some(signer), _) => report::info(&format!(
                        "  ok      {}: signed by {signer}{}",
                        c.manifest,
                        c.issuer
                            .as_deref()
                            .map(|i| format!(" (issuer {i})"))
                            .unwrap_or_default()
                    )),
                    (None, Some(reason)) => {
                        report::info(&format!("  refused {}: {reason}", c.manifest))
                    }
                    (None, None) => {}
                }
            }
            if ok {
                report::out(&format!(
                    "Verified OK: {image} has a valid {what} from {}",
                    describe(&expected)
                ));
            } else {
                report::out(&format!(
                    "Verification failed: {image} has no valid {what} from {} ({} bundle(s) of that kind found, checked against the {})",
                    describe(&expected),
                    checked.len(),
                    trust.source
                ));
            }
            // cosign reads images from registries (its `--local-image`
            // layouts are its own `cosign save` format, without referrers).
            if matches!(image_ref, crate::registry::ImageRef::Registry(_)) {
                report::info(&format!(
                    "the same check with cosign: {}",
                    cosign_equivalent(&image, &expected, args)
                ));
            }
        }
    }
    if let (Some(path), true) = (&args.output_predicate, ok) {
        // The newest verified one (RFC 3339 UTC timestamps sort as text).
        predicates.sort();
        if let Some((_, raw)) = predicates.last() {
            crate::fsutil::write_file(path, raw)
                .map_err(|e| Error::file(path, format!("cannot write the predicate: {e}")))?;
            report::info(&format!(
                "wrote the verified predicate to {}",
                path.display()
            ));
        }
    }
    Ok(if ok { Outcome::Ok } else { Outcome::PolicyNo })
}

impl Checked {
    fn from_verdict(
        manifest: &str,
        predicate_type: Option<String>,
        verdict: Result<Signer, String>,
    ) -> Checked {
        match verdict {
            Ok(signer) => {
                let (who, issuer) = match &signer {
                    Signer::Identity { identity, issuer } => {
                        (identity.clone(), Some(issuer.clone()))
                    }
                    Signer::Key(p) => (format!("key {}", p.display()), None),
                };
                Checked {
                    manifest: manifest.to_string(),
                    predicate_type,
                    verified: true,
                    signer: Some(who),
                    issuer,
                    reason: None,
                    log_index: None,
                }
            }
            Err(reason) => Checked::refused(manifest, predicate_type, reason),
        }
    }

    /// The log index, kept only for a bundle that verified.
    fn with_log_index(mut self, index: Option<u64>) -> Checked {
        if self.verified {
            self.log_index = index;
        }
        self
    }

    fn refused(manifest: &str, predicate_type: Option<String>, reason: String) -> Checked {
        Checked {
            manifest: manifest.to_string(),
            predicate_type,
            verified: false,
            signer: None,
            issuer: None,
            reason: Some(reason),
            log_index: None,
        }
    }
}

/// `verificationMaterial.tlogEntries[0].logIndex` (a string in the JSON,
/// per protobuf's int64 mapping; a number is accepted too).
fn bundle_log_index(bundle_text: &str) -> Option<u64> {
    let bundle: serde_json::Value = serde_json::from_str(bundle_text).ok()?;
    let index = bundle
        .get("verificationMaterial")?
        .get("tlogEntries")?
        .get(0)?
        .get("logIndex")?;
    match index {
        serde_json::Value::String(s) => s.parse().ok(),
        other => other.as_u64(),
    }
}

/// Who must have signed, for messages.
pub fn describe(expected: &Expected) -> String {
    match expected {
        Expected::Identity { identity, issuer } => format!("{identity} (issuer {issuer})"),
        Expected::Key { path, .. } => format!("the key {}", path.display()),
    }
}

/// The `cosign verify` command that checks the same thing, for copy-paste.
fn cosign_equivalent(image: &str, expected: &Expected, args: &crate::cli::VerifyArgs) -> String {
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let mut cmd = match &args.attestation_type {
        Some(t) => format!("cosign verify-attestation --type {}", quote(t)),
        None => "cosign verify".to_string(),
    };
    match expected {
        Expected::Key {
            path, ignore_tlog, ..
        } => {
            cmd.push_str(&format!(" --key {}", quote(&path.display().to_string())));
            if *ignore_tlog {
                cmd.push_str(" --insecure-ignore-tlog=true");
            }
        }
        Expected::Identity { identity, issuer } => {
            let flag = |base: &str, m: &Matcher| match m {
                Matcher::Exact(e) => format!(" --{base} {}", quote(e)),
                Matcher::Regex(_) => {
                    let shown = m.to_string();
                    let inner = shown.trim_start_matches('/').trim_end_matches('/');
                    format!(" --{base}-regexp {}", quote(&format!("^(?:{inner})$")))
                }
            };
            cmd.push_str(&flag("certificate-identity", identity));
            cmd.push_str(&flag("certificate-oidc-issuer", issuer));
        }
    }
    // cosign takes a bare TrustedRoot; a ClientTrustConfig has no cosign flag.
    if let Some(p) = &args.trusted_root {
        cmd.push_str(&format!(
            " --trusted-root {}",
            quote(&p.display().to_string())
        ));
    }
    cmd.push(' ');
    cmd.push_str(&quote(image));
    cmd
}
