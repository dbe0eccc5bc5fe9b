//! Keyless signing: an ephemeral key, a short-lived Fulcio certificate for
//! the CI job's OIDC identity, a Rekor entry and (where the instance has one)
//! an RFC 3161 timestamp — the protocol is sigstore-rust's `sigstore-sign`;
//! this module chooses the services from the trust material, shares wharf's
//! HTTP client (and so its CA settings), and retries transient failures.

use sigstore_sign::trust_root::SigningConfig;
use sigstore_sign::{SigningContext, SigningServices};

/// Attempts per signing operation. Each retry starts over with a new
/// ephemeral key: a half-done attempt leaves nothing that the next one
/// would collide with (no duplicate Rekor entry, so no 409 to interpret).
const ATTEMPTS: u32 = 4;

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
    #[error("signing failed: {0}")]
    Other(String),
}

pub struct Keyless {
    context: SigningContext,
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
        let force = rekor_v1.then_some(sigstore_sign::rekor::RekorApiVersion::V1);
        let services = SigningServices::from_signing_config_with_rekor_version(signing, force)
            .map_err(|e| KeylessError::Config(e.to_string()))?;
        Ok(Keyless {
            context: SigningContext::new(services).with_http_client(http),
        })
    }

    /// The Fulcio and Rekor this signer uses, for messages.
    pub fn describe(&self) -> String {
        let s = self.context.services();
        format!("Fulcio {} and Rekor {}", s.fulcio_url(), s.rekor_url())
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
        let identity = sigstore_sign::oidc::IdentityToken::from_jwt(token)
            .map_err(|_| KeylessError::Other("the identity token is not a JWT".into()))?;
        let signer = self.context.signer(identity);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let signed = if dsse {
                signer.sign_raw_statement(bytes).await
            } else {
                signer.sign(bytes).await
            };
            match signed {
                Ok(bundle) => {
                    return bundle.to_json().map_err(|e| {
                        KeylessError::Other(format!("cannot serialise the bundle: {e}"))
                    })
                }
                Err(err) => {
                    let (service, transient, detail) = classify(&err);
                    let detail = scrub(&detail, token);
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
        }
    }
}

/// Which service failed, whether trying again may help, and the detail.
fn classify(err: &sigstore_sign::Error) -> (&'static str, bool, String) {
    use sigstore_sign::Error as E;
    let transient_status = |s: u16| s == 429 || s >= 500;
    match err {
        E::Fulcio(sigstore_sign::fulcio::Error::Status { status, .. }) => {
            ("Fulcio", transient_status(*status), err.to_string())
        }
        E::Fulcio(sigstore_sign::fulcio::Error::Http(_)) => ("Fulcio", true, err.to_string()),
        E::Fulcio(_) => ("Fulcio", false, err.to_string()),
        E::Rekor(sigstore_sign::rekor::Error::Status { status, .. }) => {
            ("Rekor", transient_status(*status), err.to_string())
        }
        E::Rekor(sigstore_sign::rekor::Error::Http(_)) => ("Rekor", true, err.to_string()),
        E::Rekor(_) => ("Rekor", false, err.to_string()),
        E::Tsa(_) => ("the timestamp authority", true, err.to_string()),
        _ => ("signing", false, err.to_string()),
    }
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
    fn tokens_are_scrubbed_from_service_messages() {
        let token = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJzZWNyZXQtbWFya2VyLTEyMyJ9.c2lnbmF0dXJlLXBhcnQtMTIzNDU2";
        let detail = format!("bad token {token} (claims eyJzdWIiOiJzZWNyZXQtbWFya2VyLTEyMyJ9)");
        let clean = scrub(&detail, token);
        assert!(!clean.contains("eyJzdWIi"), "{clean}");
        assert!(clean.contains("<redacted>"));
    }
}
