//! Keyless signing: an ephemeral key, a short-lived Fulcio certificate for
//! the CI job's OIDC identity, a Rekor entry and (where the instance has one)
//! an RFC 3161 timestamp. sigstore-rust's `sigstore-sign` chooses the
//! services from the signing config and speaks to Fulcio; the log and the
//! timestamp go through [`super::tlog`], as key signatures do.
//!
//! One key and one certificate sign everything a signer is asked to sign
//! (in `wharf run`: the image and every attestation), while the
//! certificate is valid: `sigstore-sign`'s own signer asks Fulcio for a
//! new certificate per signature, which for a run is one certificate (and
//! one Fulcio round trip) per artifact for the same identity. The
//! certificate's expiry is checked before each use, with a margin for the
//! log upload and timestamp that follow; only an expired one is replaced.
//! Every signature still gets its own log entry and timestamp.

use std::sync::Arc;

use sigstore_sign::crypto::KeyPair;
use sigstore_sign::fulcio::FulcioClient;
use sigstore_sign::trust_root::SigningConfig;
use sigstore_sign::tsa::TimestampClient;
use sigstore_sign::types::DerCertificate;
use sigstore_sign::SigningServices;

use super::tlog::{Rekor, V2Verifier};

/// Attempts at a Fulcio certificate request.
const ATTEMPTS: u32 = 4;

/// A certificate is used only while it stays valid this much longer: the
/// log upload and the timestamp come after the signature, each retried
/// with backoff, and the timestamp must fall inside the validity.
const MARGIN: jiff::SignedDuration = jiff::SignedDuration::from_secs(120);

/// Why keyless signing failed. Never holds the identity token.
#[derive(Debug, thiserror::Error)]
pub enum KeylessError {
    #[error("the signing services cannot be used: {0}")]
    Config(String),
    #[error("{service} refused the request: {detail}")]
    Refused {
        service: &'static str,
        detail: String,
    },
    #[error("{service} is unavailable after {attempts} attempts: {detail}. Try again later")]
    Unavailable {
        service: &'static str,
        attempts: u32,
        detail: String,
    },
    /// The log or the timestamp authority (their messages name them).
    #[error("{0}")]
    Log(String),
    #[error("signing failed: {0}")]
    Other(String),
}

/// The ephemeral key and the certificate Fulcio issued for it.
pub(crate) struct Credential {
    key: KeyPair,
    certificate: DerCertificate,
    not_after: jiff::Timestamp,
}

impl Credential {
    /// Whether the certificate is still good for a signature made `now`.
    fn usable_at(&self, now: jiff::Timestamp) -> bool {
        usable(self.not_after, now)
    }
}

/// Whether a certificate valid until `not_after` may sign at `now`: it
/// must outlive the signature's log entry and timestamp by the margin.
fn usable(not_after: jiff::Timestamp, now: jiff::Timestamp) -> bool {
    now.saturating_add(MARGIN)
        .is_ok_and(|latest| latest < not_after)
}

pub struct Keyless {
    fulcio: FulcioClient,
    fulcio_url: String,
    rekor: Rekor,
    tsa: Option<TimestampClient>,
    /// The run's key and certificate, once Fulcio issued one.
    held: tokio::sync::Mutex<Option<Arc<Credential>>>,
}

impl Keyless {
    /// A signer for the services `signing` lists (Fulcio, Rekor, TSA).
    /// `rekor_v1` keeps to a Rekor v1 log (cosign's legacy formats carry
    /// a v1 entry's signed timestamp); otherwise the newest log is used.
    pub fn new(
        signing: &SigningConfig,
        http: reqwest::Client,
        rekor_v1: bool,
    ) -> Result<Keyless, KeylessError> {
        use sigstore_sign::rekor::RekorApiVersion;
        let config = |e: String| KeylessError::Config(e);
        let force = rekor_v1.then_some(RekorApiVersion::V1);
        let services = SigningServices::from_signing_config_with_rekor_version(signing, force)
            .map_err(|e| config(e.to_string()))?;
        services.validate().map_err(|e| config(e.to_string()))?;
        let fulcio = FulcioClient::builder(services.fulcio_url())
            .with_http_client(http.clone())
            .build()
            .map_err(|e| config(format!("Fulcio {}: {e}", services.fulcio_url())))?;
        let rekor = match services.rekor_api_version() {
            RekorApiVersion::V1 => Rekor::new(services.rekor_url(), http.clone()),
            RekorApiVersion::V2 => Rekor::v2(services.rekor_url(), http.clone()).map_err(config)?,
            other => {
                return Err(config(format!(
                    "Rekor {} speaks API v{}, which wharf does not",
                    services.rekor_url(),
                    other.major()
                )))
            }
        };
        let tsa = match services.tsa_url() {
            Some(url) => Some(
                TimestampClient::builder(url)
                    .with_http_client(http)
                    .build()
                    .map_err(|e| config(format!("the timestamp authority {url}: {e}")))?,
            ),
            None => None,
        };
        Ok(Keyless {
            fulcio,
            fulcio_url: services.fulcio_url().to_string(),
            rekor,
            tsa,
            held: tokio::sync::Mutex::new(None),
        })
    }

    /// The Fulcio and Rekor this signer uses, for messages.
    pub fn describe(&self) -> String {
        format!("Fulcio {} and Rekor {}", self.fulcio_url, self.rekor.url)
    }

    /// Whether the next signature needs a new certificate (none yet, or
    /// the one held expires within the margin): the caller then makes
    /// sure its identity token is still valid.
    pub async fn needs_certificate(&self) -> bool {
        let held = self.held.lock().await;
        !held
            .as_ref()
            .is_some_and(|c| c.usable_at(jiff::Timestamp::now()))
    }

    /// Signs an in-toto statement as a DSSE envelope; returns the bundle
    /// (v0.3) as JSON.
    pub async fn sign_statement(
        &self,
        token: &str,
        statement: &[u8],
    ) -> Result<String, KeylessError> {
        self.sign(token, statement, true).await
    }

    /// Signs bytes as a message signature (cosign's legacy simple-signing
    /// payload); returns the bundle (v0.3, a hashedrekord entry) as JSON.
    pub async fn sign_message(&self, token: &str, message: &[u8]) -> Result<String, KeylessError> {
        self.sign(token, message, false).await
    }

    async fn sign(&self, token: &str, bytes: &[u8], dsse: bool) -> Result<String, KeylessError> {
        // A signature whose log entry or timestamp came after the
        // certificate expired would not verify: sign again, once, with a
        // new certificate (the margin makes this rare: a log or timestamp
        // authority that kept failing for minutes).
        for _ in 0..2 {
            let credential = self.credential(token).await?;
            let bundle = if dsse {
                self.sign_dsse(&credential, bytes).await?
            } else {
                self.sign_bytes(&credential, bytes).await?
            };
            if jiff::Timestamp::now() < credential.not_after {
                return bundle
                    .to_json()
                    .map_err(|e| KeylessError::Other(format!("cannot serialise the bundle: {e}")));
            }
            self.drop_if_held(&credential).await;
        }
        Err(KeylessError::Other(
            "the signing certificate expired twice before the log entry and timestamp were \
             obtained; the transparency log or the timestamp authority is too slow. Try again later"
                .into(),
        ))
    }

    /// The held key and certificate, or a new pair when there is none or
    /// it expires within the margin.
    async fn credential(&self, token: &str) -> Result<Arc<Credential>, KeylessError> {
        let mut held = self.held.lock().await;
        if let Some(c) = held
            .as_ref()
            .filter(|c| c.usable_at(jiff::Timestamp::now()))
        {
            return Ok(c.clone());
        }
        let fresh = Arc::new(self.request_certificate(token).await?);
        *held = Some(fresh.clone());
        Ok(fresh)
    }

    async fn drop_if_held(&self, credential: &Arc<Credential>) {
        let mut held = self.held.lock().await;
        if held.as_ref().is_some_and(|c| Arc::ptr_eq(c, credential)) {
            *held = None;
        }
    }

    /// A new ephemeral key and Fulcio's certificate for it, retried when
    /// Fulcio is unavailable.
    async fn request_certificate(&self, token: &str) -> Result<Credential, KeylessError> {
        let identity = sigstore_sign::oidc::IdentityToken::from_jwt(token)
            .map_err(|_| KeylessError::Other("the identity token is not a JWT".into()))?;
        let key = KeyPair::generate_ecdsa_p256()
            .map_err(|e| KeylessError::Other(format!("cannot make an ephemeral key: {e}")))?;
        let mut attempt = 0;
        let issued = loop {
            attempt += 1;
            match self
                .fulcio
                .create_signing_certificate(&identity, &key)
                .await
            {
                Ok(issued) => break issued,
                Err(err) => {
                    let (transient, detail) = classify_fulcio(&err);
                    let detail = scrub(&detail, token);
                    let service = "Fulcio";
                    if !transient {
                        return Err(KeylessError::Refused { service, detail });
                    }
                    if attempt >= ATTEMPTS {
                        return Err(KeylessError::Unavailable {
                            service,
                            attempts: attempt,
                            detail,
                        });
                    }
                    super::backoff(attempt).await;
                }
            }
        };
        let certificate = issued.leaf_certificate().clone();
        let info =
            sigstore_sign::crypto::x509::parse_certificate_info(&certificate).map_err(|e| {
                KeylessError::Refused {
                    service: "Fulcio",
                    detail: format!("the certificate it issued cannot be read: {e}"),
                }
            })?;
        let public = key
            .public_key_der()
            .map_err(|e| KeylessError::Other(format!("the ephemeral key: {e}")))?;
        if info.public_key != public {
            return Err(KeylessError::Refused {
                service: "Fulcio",
                detail: "the certificate it issued is for another key".into(),
            });
        }
        Ok(Credential {
            key,
            certificate,
            not_after: info.not_after,
        })
    }

    /// A DSSE envelope over `statement`, logged and timestamped.
    async fn sign_dsse(
        &self,
        credential: &Credential,
        statement: &[u8],
    ) -> Result<sigstore_sign::types::Bundle, KeylessError> {
        use sha2::Digest as _;
        use sigstore_sign::bundle::BundleV03;
        use sigstore_sign::types::{pae, DsseEnvelope, DsseSignature, KeyId, PayloadBytes};
        const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
        serde_json::from_slice::<sigstore_sign::types::Statement>(statement)
            .map_err(|e| KeylessError::Other(format!("the statement is not in-toto: {e}")))?;
        let pae = pae(PAYLOAD_TYPE, statement);
        let signature = credential
            .key
            .sign(&pae)
            .map_err(|e| KeylessError::Other(format!("cannot sign: {e}")))?;
        let envelope = DsseEnvelope::new(
            PAYLOAD_TYPE,
            PayloadBytes::new(statement.to_vec()),
            DsseSignature::new(signature.clone(), KeyId::default()),
        );
        let entry = if self.rekor.version() == 2 {
            let verifier = V2Verifier::Certificate(&credential.certificate);
            self.rekor
                .upload_v2(sha2::Sha256::digest(&pae).into(), &signature, verifier)
                .await
        } else {
            let json = serde_json::to_string(&envelope)
                .map_err(|e| KeylessError::Other(format!("cannot serialise the envelope: {e}")))?;
            self.rekor
                .upload_dsse(&json, &credential.certificate.to_pem())
                .await
        }
        .map_err(KeylessError::Log)?;
        let bundle = BundleV03::with_certificate_and_dsse(credential.certificate.clone(), envelope)
            .with_tlog_entry(entry);
        self.stamped(bundle, &signature).await
    }

    /// A message signature over `message` (a `hashedrekord` entry), logged
    /// and timestamped.
    async fn sign_bytes(
        &self,
        credential: &Credential,
        message: &[u8],
    ) -> Result<sigstore_sign::types::Bundle, KeylessError> {
        use sha2::Digest as _;
        use sigstore_sign::bundle::BundleV03;
        use sigstore_sign::types::Sha256Hash;
        let digest: [u8; 32] = sha2::Sha256::digest(message).into();
        let signature = credential
            .key
            .sign(message)
            .map_err(|e| KeylessError::Other(format!("cannot sign: {e}")))?;
        let entry = if self.rekor.version() == 2 {
            let verifier = V2Verifier::Certificate(&credential.certificate);
            self.rekor.upload_v2(digest, &signature, verifier).await
        } else {
            self.rekor
                .upload_hashedrekord(
                    &hex::encode(digest),
                    signature.as_bytes(),
                    &credential.certificate.to_pem(),
                )
                .await
        }
        .map_err(KeylessError::Log)?;
        let bundle = BundleV03::with_certificate_and_signature(
            credential.certificate.clone(),
            signature.clone(),
            Sha256Hash::new(digest),
        )
        .with_tlog_entry(entry);
        self.stamped(bundle, &signature).await
    }

    /// The bundle, with the timestamp authority's token for `signature`
    /// where the instance has one.
    async fn stamped(
        &self,
        mut bundle: sigstore_sign::bundle::BundleV03,
        signature: &sigstore_sign::types::SignatureBytes,
    ) -> Result<sigstore_sign::types::Bundle, KeylessError> {
        if let Some(tsa) = &self.tsa {
            let token = super::tlog::timestamp(tsa, signature)
                .await
                .map_err(KeylessError::Log)?;
            bundle = bundle.with_rfc3161_timestamp(token);
        }
        Ok(bundle.into_bundle())
    }
}

/// Whether trying Fulcio again may help, and the detail.
fn classify_fulcio(err: &sigstore_sign::fulcio::Error) -> (bool, String) {
    use sigstore_sign::fulcio::Error as E;
    let transient = match err {
        E::Status { status, .. } => *status == 429 || *status >= 500,
        E::Http(_) => true,
        _ => false,
    };
    (transient, err.to_string())
}

/// A service may echo the request; the token must never reach a message.
fn scrub(detail: &str, token: &str) -> String {
    if token.is_empty() {
        return detail.to_string();
    }
    let mut out = detail.replace(token, "<redacted>");
    // Also the JWT's parts alone (a service may quote only the claims).
    for part in token.split('.').filter(|p| p.len() >= 16) {
        out = out.replace(part, "<redacted>");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_certificate_is_used_only_while_it_outlives_the_margin() {
        let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        let at = |secs: i64| {
            now.checked_add(jiff::SignedDuration::from_secs(secs))
                .unwrap()
        };
        // Fulcio's certificates live ten minutes.
        assert!(usable(at(600), now));
        assert!(usable(at(121), now));
        assert!(!usable(at(120), now), "expires within the margin");
        assert!(!usable(at(-1), now), "expired");
    }

    #[test]
    fn tokens_are_scrubbed_from_service_messages() {
        let token = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJzZWNyZXQtbWFya2VyLTEyMyJ9.c2lnbmF0dXJlLXBhcnQtMTIzNDU2";
        let detail = format!("bad token {token} (claims eyJzdWIiOiJzZWNyZXQtbWFya2VyLTEyMyJ9)");
        let clean = scrub(&detail, token);
        assert!(!clean.contains("eyJzdWIi"), "{clean}");
        assert!(clean.contains("<redacted>"));
    }
}
