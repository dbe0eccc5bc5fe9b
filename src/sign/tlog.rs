//! Uploads to a transparency log, for key and keyless signatures: Rekor v1 (`dsse` and
//! `hashedrekord` 0.0.1 entries) or Rekor v2, which takes `hashedrekord`
//! 0.0.2 only: a DSSE envelope is logged as the hash of its PAE, the bytes
//! the signature is over, as sigstore-go and sigstore-rust log it. A v2
//! entry carries no signed time, so its signatures need a timestamp.
//!
//! An upload is retried with the same body when the log is unavailable.
//! When an earlier attempt was committed but its answer was lost, the retry
//! meets `409 Conflict`: the entry we wanted exists, so it is fetched (from
//! the `Location` the log gives) and used — a retried upload never fails
//! just because the first one worked.

use sigstore_sign::rekor::LogEntry;
use sigstore_sign::types::{EntryUuid, KindVersion, TransparencyLogEntry};

const ATTEMPTS: u32 = 4;
const ENTRY_MAX: usize = 8 << 20;

/// What a Rekor v2 entry names as the signature's verifier.
#[derive(Clone, Copy)]
pub enum V2Verifier<'a> {
    /// A key signature's public key.
    Key(&'a sigstore_sign::types::DerPublicKey),
    /// A keyless signature's Fulcio certificate.
    Certificate(&'a sigstore_sign::types::DerCertificate),
}

/// A Rekor log: v1, or v2 (tiles).
pub struct Rekor {
    pub url: String,
    http: reqwest::Client,
    v2: Option<sigstore_sign::rekor::RekorV2Client>,
}

impl Rekor {
    /// A Rekor v1 log.
    pub fn new(url: &str, http: reqwest::Client) -> Rekor {
        Rekor {
            url: url.trim_end_matches('/').to_string(),
            http,
            v2: None,
        }
    }

    /// A Rekor v2 log.
    pub fn v2(url: &str, http: reqwest::Client) -> Result<Rekor, String> {
        let url = url.trim_end_matches('/').to_string();
        let client = sigstore_sign::rekor::RekorV2Client::builder(url.clone())
            .with_http_client(http.clone())
            .build()
            .map_err(|e| format!("Rekor v2 {url}: {e}"))?;
        Ok(Rekor {
            url,
            http,
            v2: Some(client),
        })
    }

    /// The log's major API version.
    pub fn version(&self) -> u32 {
        if self.v2.is_some() {
            2
        } else {
            1
        }
    }

    /// Logs a signature over bytes whose SHA-256 is `sha256` on a Rekor v2
    /// log (`hashedrekord` 0.0.2, with the public key or the certificate as
    /// verifier), retried like a v1 upload when the log is unavailable or
    /// rate-limits.
    pub async fn upload_v2(
        &self,
        sha256: [u8; 32],
        signature: &sigstore_sign::types::SignatureBytes,
        verifier: V2Verifier<'_>,
    ) -> Result<TransparencyLogEntry, String> {
        use sigstore_sign::rekor::{HashedRekordV2, RekorV2KeyDetails};
        let Some(client) = &self.v2 else {
            return Err(format!("Rekor {} is a v1 log", self.url));
        };
        let hash = sigstore_sign::types::Sha256Hash::new(sha256);
        let details = RekorV2KeyDetails::PkixEcdsaP256Sha256;
        let request = match verifier {
            V2Verifier::Key(key) => {
                HashedRekordV2::new_with_public_key(&hash, signature, key, details)
            }
            V2Verifier::Certificate(cert) => {
                HashedRekordV2::new_with_certificate(&hash, signature, cert, details)
            }
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let failure = match client.create_entry(request.clone()).await {
                Ok(entry) => return Ok(entry),
                Err(sigstore_sign::rekor::Error::Status { status, message })
                    if status != 429 && status < 500 =>
                {
                    return Err(format!(
                        "Rekor v2 {} refused the entry ({status}): {message}",
                        self.url
                    ))
                }
                Err(
                    e @ (sigstore_sign::rekor::Error::Status { .. }
                    | sigstore_sign::rekor::Error::Http(_)),
                ) => e.to_string(),
                Err(e) => {
                    return Err(format!(
                        "Rekor v2 {}: the answer is not a usable log entry: {e}",
                        self.url
                    ))
                }
            };
            if attempt >= ATTEMPTS {
                return Err(format!(
                    "Rekor v2 {} is unavailable after {attempt} attempts: {failure}. Try again later",
                    self.url
                ));
            }
            super::backoff(attempt).await;
        }
    }

    /// Logs a `dsse` 0.0.1 entry for `envelope_json`, verifiable with the
    /// PEM `verifier` (a public key or a certificate).
    pub async fn upload_dsse(
        &self,
        envelope_json: &str,
        verifier_pem: &str,
    ) -> Result<TransparencyLogEntry, String> {
        use base64::Engine as _;
        let body = serde_json::json!({
            "apiVersion": "0.0.1",
            "kind": "dsse",
            "spec": {"proposedContent": {
                "envelope": envelope_json,
                "verifiers": [base64::engine::general_purpose::STANDARD.encode(verifier_pem)],
            }},
        });
        self.upload(&body, KindVersion::DsseV001).await
    }

    /// Logs a `hashedrekord` 0.0.1 entry: the SHA-256 of a message, its
    /// signature, and the PEM `verifier`.
    pub async fn upload_hashedrekord(
        &self,
        message_sha256_hex: &str,
        signature: &[u8],
        verifier_pem: &str,
    ) -> Result<TransparencyLogEntry, String> {
        use base64::engine::general_purpose::STANDARD;
        use base64::Engine as _;
        let body = serde_json::json!({
            "apiVersion": "0.0.1",
            "kind": "hashedrekord",
            "spec": {
                "data": {"hash": {"algorithm": "sha256", "value": message_sha256_hex}},
                "signature": {
                    "content": STANDARD.encode(signature),
                    "publicKey": {"content": STANDARD.encode(verifier_pem)},
                },
            },
        });
        self.upload(&body, KindVersion::HashedRekordV001).await
    }

    async fn upload(
        &self,
        body: &serde_json::Value,
        kind: KindVersion,
    ) -> Result<TransparencyLogEntry, String> {
        let url = format!("{}/api/v1/log/entries", self.url);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let failure = match self.http.post(&url).json(body).send().await {
                Ok(resp) if resp.status().is_success() => {
                    return self.entry(resp, kind).await;
                }
                Ok(resp) if resp.status() == reqwest::StatusCode::CONFLICT => {
                    // The entry exists: an earlier attempt of ours was logged.
                    let location = resp
                        .headers()
                        .get(reqwest::header::LOCATION)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string);
                    let text = read_text(resp).await;
                    return match location {
                        Some(loc) => self.fetch(&loc, kind).await,
                        None => Err(format!(
                            "Rekor {} says the entry exists but not where: {text}",
                            self.url
                        )),
                    };
                }
                Ok(resp) => {
                    let status = resp.status();
                    let text = read_text(resp).await;
                    if status.as_u16() != 429 && !status.is_server_error() {
                        return Err(format!(
                            "Rekor {} refused the entry ({status}): {text}",
                            self.url
                        ));
                    }
                    format!("{status}: {text}")
                }
                Err(e) => e.to_string(),
            };
            if attempt >= ATTEMPTS {
                return Err(format!(
                    "Rekor {} is unavailable after {attempt} attempts: {failure}. Try again later",
                    self.url
                ));
            }
            super::backoff(attempt).await;
        }
    }

    async fn fetch(
        &self,
        location: &str,
        kind: KindVersion,
    ) -> Result<TransparencyLogEntry, String> {
        let url = if location.starts_with("http://") || location.starts_with("https://") {
            location.to_string()
        } else {
            format!("{}/{}", self.url, location.trim_start_matches('/'))
        };
        let resp = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| format!("cannot read the existing entry {url}: {e}"))?;
        if !resp.status().is_success() {
            let status = resp.status();
            return Err(format!(
                "cannot read the existing entry {url}: {status}: {}",
                read_text(resp).await
            ));
        }
        self.entry(resp, kind).await
    }

    /// A `{uuid: entry}` answer as a bundle's transparency log entry.
    async fn entry(
        &self,
        resp: reqwest::Response,
        kind: KindVersion,
    ) -> Result<TransparencyLogEntry, String> {
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| format!("Rekor {}: reading the answer: {e}", self.url))?;
        if bytes.len() > ENTRY_MAX {
            return Err(format!(
                "Rekor {}: an answer of {} bytes is not a log entry",
                self.url,
                bytes.len()
            ));
        }
        let entries: std::collections::BTreeMap<String, LogEntry> = serde_json::from_slice(&bytes)
            .map_err(|e| format!("Rekor {}: the answer is not a log entry: {e}", self.url))?;
        let (uuid, mut entry) = entries
            .into_iter()
            .next()
            .ok_or_else(|| format!("Rekor {}: an empty answer", self.url))?;
        entry.uuid = EntryUuid::new(uuid);
        if entry.verification.is_none() {
            return Err(format!(
                "Rekor {}: the entry has no inclusion proof or promise; the log is not usable for signing",
                self.url
            ));
        }
        entry
            .to_bundle_entry(kind)
            .map_err(|e| format!("Rekor {}: the entry cannot go into a bundle: {e}", self.url))
    }
}

async fn read_text(resp: reqwest::Response) -> String {
    let text = resp.text().await.unwrap_or_default();
    text.chars()
        .take(300)
        .collect::<String>()
        .trim()
        .to_string()
}

/// An RFC 3161 timestamp over `signature`, retried like a log upload.
pub async fn timestamp(
    tsa: &sigstore_sign::tsa::TimestampClient,
    signature: &sigstore_sign::types::SignatureBytes,
) -> Result<sigstore_sign::types::TimestampToken, String> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match tsa.timestamp_signature(signature).await {
            Ok(token) => return Ok(token),
            Err(e) if attempt >= ATTEMPTS => {
                return Err(format!(
                    "the timestamp authority failed {attempt} times: {e}. Try again later"
                ))
            }
            Err(_) => super::backoff(attempt).await,
        }
    }
}
