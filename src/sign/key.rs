//! cosign keys: `wharf generate-key-pair` writes them, `wharf sign --key`
//! reads them. For places with no OIDC issuer Fulcio trusts (Jenkins, an
//! air-gapped cluster) a key is the way to sign.
//!
//! The format is cosign's own, so keys move between the two tools: the
//! private key is a PKCS#8 ECDSA P-256 key sealed with NaCl secretbox
//! (XSalsa20-Poly1305) under a key derived from the passphrase with scrypt,
//! the parameters in a JSON document inside a PEM block labelled
//! `ENCRYPTED SIGSTORE PRIVATE KEY` (older cosign: `ENCRYPTED COSIGN PRIVATE
//! KEY`); the public key is a PEM `PUBLIC KEY` (SubjectPublicKeyInfo).
//!
//! The primitives are RustCrypto's `scrypt` and `crypto_secretbox`, and
//! aws-lc-rs (already here through sigstore-rust) for the ECDSA key; the
//! file format around them is ours: sigstore-rs reads it too, but brings a
//! second crypto stack and minutes of build time for one JSON document.

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use crypto_secretbox::aead::{Aead, KeyInit};
use crypto_secretbox::XSalsa20Poly1305;
use sigstore_sign::crypto::KeyPair;
use sigstore_sign::types::DerPublicKey;

use crate::{Error, Result};

const LABEL: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
const LEGACY_LABEL: &str = "ENCRYPTED COSIGN PRIVATE KEY";
/// What cosign writes today (2^16); decrypting accepts up to 2^20 so a
/// crafted file cannot make us derive a key for minutes.
const SCRYPT_LOG_N: u8 = 16;
const SCRYPT_MAX_LOG_N: u8 = 20;
const PASSWORD_VARS: [&str; 2] = ["WHARF_PASSWORD", "COSIGN_PASSWORD"];

/// A loaded signing key.
pub struct SigningKey {
    pub pair: KeyPair,
    pub public: DerPublicKey,
    pub path: PathBuf,
}

impl SigningKey {
    /// The public key as PEM, as Rekor and `cosign.pub` hold it.
    pub fn public_pem(&self) -> String {
        self.public.to_pem()
    }

    /// The bundle's `publicKey.hint`: base64 of the SHA-256 of the
    /// SubjectPublicKeyInfo, as cosign sets it.
    pub fn hint(&self) -> String {
        use sha2::Digest as _;
        STANDARD.encode(sha2::Sha256::digest(self.public.as_bytes()))
    }

    /// Signs an in-toto statement as a DSSE envelope, records it in the
    /// log and has the timestamp authority countersign it (each when
    /// given); returns the bundle (v0.3, `publicKey` material) as JSON, the
    /// shape `cosign sign --key` writes.
    pub async fn sign_statement(
        &self,
        statement: &[u8],
        rekor: Option<&super::tlog::Rekor>,
        tsa: Option<&sigstore_sign::tsa::TimestampClient>,
    ) -> Result<String, String> {
        use sha2::Digest as _;
        use sigstore_sign::bundle::{BundleV03, VerificationMaterialV03};
        use sigstore_sign::types::bundle::SignatureContent;
        use sigstore_sign::types::{pae, DsseEnvelope, DsseSignature, KeyId, PayloadBytes};
        const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
        let signature = self
            .pair
            .sign(&pae(PAYLOAD_TYPE, statement))
            .map_err(|e| format!("cannot sign with {}: {e}", self.path.display()))?;
        let envelope = DsseEnvelope::new(
            PAYLOAD_TYPE,
            PayloadBytes::new(statement.to_vec()),
            DsseSignature::new(signature.clone(), KeyId::default()),
        );
        let mut bundle = BundleV03::new(
            VerificationMaterialV03::PublicKey { hint: self.hint() },
            SignatureContent::DsseEnvelope(envelope.clone()),
        );
        if let Some(rekor) = rekor {
            let entry = if rekor.version() == 2 {
                let pae_sha256 = sha2::Sha256::digest(pae(PAYLOAD_TYPE, statement));
                rekor
                    .upload_v2(
                        pae_sha256.into(),
                        &signature,
                        super::tlog::V2Verifier::Key(&self.public),
                    )
                    .await?
            } else {
                let json = serde_json::to_string(&envelope)
                    .map_err(|e| format!("cannot serialise the envelope: {e}"))?;
                rekor.upload_dsse(&json, &self.public_pem()).await?
            };
            bundle = bundle.with_tlog_entry(entry);
        }
        if let Some(tsa) = tsa {
            bundle = bundle.with_rfc3161_timestamp(super::tlog::timestamp(tsa, &signature).await?);
        }
        bundle
            .into_bundle()
            .to_json()
            .map_err(|e| format!("cannot serialise the bundle: {e}"))
    }
}

impl SigningKey {
    /// Signs `message` (cosign's legacy simple-signing payload) and, given
    /// a log, records a hashedrekord entry; returns a v0.3 bundle with a
    /// message signature as JSON, from which the legacy annotations are made.
    pub async fn sign_message(
        &self,
        message: &[u8],
        rekor: Option<&super::tlog::Rekor>,
    ) -> Result<String, String> {
        use sha2::Digest as _;
        use sigstore_sign::bundle::{BundleV03, VerificationMaterialV03};
        use sigstore_sign::types::bundle::{MessageDigest, MessageSignature, SignatureContent};
        use sigstore_sign::types::{DigestBytes, HashAlgorithm};
        let digest = sha2::Sha256::digest(message);
        let signature = self
            .pair
            .sign(message)
            .map_err(|e| format!("cannot sign with {}: {e}", self.path.display()))?;
        let content = MessageSignature::new(signature.clone()).with_message_digest(
            MessageDigest::new(HashAlgorithm::Sha2256, DigestBytes::new(digest.to_vec())),
        );
        let mut bundle = BundleV03::new(
            VerificationMaterialV03::PublicKey { hint: self.hint() },
            SignatureContent::MessageSignature(content),
        );
        if let Some(rekor) = rekor {
            let entry = if rekor.version() == 2 {
                rekor
                    .upload_v2(
                        digest.into(),
                        &signature,
                        super::tlog::V2Verifier::Key(&self.public),
                    )
                    .await?
            } else {
                rekor
                    .upload_hashedrekord(
                        &hex::encode(digest),
                        signature.as_bytes(),
                        &self.public_pem(),
                    )
                    .await?
            };
            bundle = bundle.with_tlog_entry(entry);
        }
        bundle
            .into_bundle()
            .to_json()
            .map_err(|e| format!("cannot serialise the bundle: {e}"))
    }
}

/// The key's passphrase: `WHARF_PASSWORD`, else `COSIGN_PASSWORD` (an
/// empty value is an empty passphrase, as cosign allows).
pub fn passphrase() -> Result<String> {
    PASSWORD_VARS
        .iter()
        .find_map(|v| std::env::var(v).ok())
        .ok_or_else(|| {
            Error::Usage(
                "the key's passphrase is not set: export WHARF_PASSWORD (or COSIGN_PASSWORD); \
                 for a key without a passphrase set it empty (WHARF_PASSWORD=)"
                    .into(),
            )
        })
}

/// Reads and decrypts a cosign private key.
pub fn load(path: &Path, passphrase: &str) -> Result<SigningKey> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::file(path, format!("cannot read the signing key: {e}")))?;
    let pkcs8 = decrypt_once(&text, passphrase).map_err(|why| Error::file(path, why))?;
    let pair = KeyPair::from_pkcs8_der(&pkcs8).map_err(|e| {
        Error::file(
            path,
            format!("the decrypted key is not an ECDSA P-256 key wharf can sign with: {e}"),
        )
    })?;
    let public = pair
        .public_key_der()
        .map_err(|e| Error::file(path, format!("cannot derive the public key: {e}")))?;
    Ok(SigningKey {
        pair,
        public,
        path: path.to_path_buf(),
    })
}

/// The keys this process has decrypted, by the SHA-256 of the key file's
/// text and of the passphrase. `wharf run` signs and attests with one key in
/// several stages, and each scrypt derivation costs about 0.2 s and 64 MiB.
/// The key stays in this process's memory only, as it does while signing.
type Decrypted = Vec<([u8; 32], [u8; 32], Vec<u8>)>;
static DECRYPTED: std::sync::Mutex<Decrypted> = std::sync::Mutex::new(Vec::new());

fn cache_key(text: &str, passphrase: &str) -> ([u8; 32], [u8; 32]) {
    use sha2::{Digest as _, Sha256};
    (
        Sha256::digest(text.as_bytes()).into(),
        Sha256::digest(passphrase.as_bytes()).into(),
    )
}

/// Notes that `text` opens to `pkcs8` with `passphrase`.
fn remember(text: &str, passphrase: &str, pkcs8: &[u8]) {
    let (t, p) = cache_key(text, passphrase);
    if let Ok(mut cache) = DECRYPTED.lock() {
        cache.push((t, p, pkcs8.to_vec()));
    }
}

/// [`decrypt`], once per key file and passphrase in this process.
fn decrypt_once(text: &str, passphrase: &str) -> Result<Vec<u8>, String> {
    let (t, p) = cache_key(text, passphrase);
    let known = DECRYPTED.lock().ok().and_then(|cache| {
        cache
            .iter()
            .find(|(ct, cp, _)| *ct == t && *cp == p)
            .map(|(_, _, key)| key.clone())
    });
    if let Some(key) = known {
        return Ok(key);
    }
    let key = decrypt(text, passphrase)?;
    remember(text, passphrase, &key);
    Ok(key)
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Sealed {
    kdf: Kdf,
    cipher: Cipher,
    ciphertext: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Kdf {
    name: String,
    params: ScryptParams,
    salt: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct ScryptParams {
    #[serde(rename = "N")]
    n: u64,
    r: u32,
    p: u32,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Cipher {
    name: String,
    nonce: String,
}

fn derive(passphrase: &str, salt: &[u8], params: &ScryptParams) -> Result<[u8; 32], String> {
    if !params.n.is_power_of_two() || params.n < 2 {
        return Err(format!("scrypt N={} is not a power of two", params.n));
    }
    let log_n = params.n.trailing_zeros() as u8;
    if log_n > SCRYPT_MAX_LOG_N || params.r == 0 || params.r > 32 || params.p == 0 || params.p > 16
    {
        return Err(format!(
            "scrypt parameters N={} r={} p={} are out of the range cosign uses",
            params.n, params.r, params.p
        ));
    }
    let scrypt = scrypt::Params::new(log_n, params.r, params.p, 32)
        .map_err(|e| format!("scrypt parameters: {e}"))?;
    let mut key = [0u8; 32];
    scrypt::scrypt(passphrase.as_bytes(), salt, &scrypt, &mut key)
        .map_err(|e| format!("scrypt: {e}"))?;
    Ok(key)
}

/// The PKCS#8 DER inside an encrypted cosign key.
fn decrypt(text: &str, passphrase: &str) -> Result<Vec<u8>, String> {
    let (label, body) = pem_body(text)?;
    if label != LABEL && label != LEGACY_LABEL {
        return Err(format!(
            "a PEM {label:?} block: wharf signs with cosign's encrypted keys ({LABEL}); \
             convert it with `cosign import-key-pair --key FILE`, or make one with `wharf generate-key-pair`"
        ));
    }
    let sealed: Sealed = serde_json::from_slice(&body)
        .map_err(|e| format!("the encrypted key's parameters are not cosign's JSON: {e}"))?;
    if sealed.kdf.name != "scrypt" || sealed.cipher.name != "nacl/secretbox" {
        return Err(format!(
            "key derivation {:?} with cipher {:?}: wharf reads scrypt + nacl/secretbox keys",
            sealed.kdf.name, sealed.cipher.name
        ));
    }
    let field = |name: &str, value: &str| {
        STANDARD
            .decode(value)
            .map_err(|_| format!("the key's {name} is not base64"))
    };
    let salt = field("salt", &sealed.kdf.salt)?;
    let nonce = field("nonce", &sealed.cipher.nonce)?;
    let ciphertext = field("ciphertext", &sealed.ciphertext)?;
    if nonce.len() != 24 {
        return Err(format!("the key's nonce is {} bytes, not 24", nonce.len()));
    }
    let key = derive(passphrase, &salt, &sealed.kdf.params)?;
    XSalsa20Poly1305::new(&key.into())
        .decrypt(
            crypto_secretbox::Nonce::from_slice(&nonce),
            ciphertext.as_slice(),
        )
        .map_err(|_| {
            format!(
                "cannot decrypt the key: the passphrase (from {}) is wrong, or the file is damaged",
                PASSWORD_VARS.join(" or ")
            )
        })
}

/// Seals a PKCS#8 key into cosign's encrypted PEM.
fn encrypt(pkcs8: &[u8], passphrase: &str) -> Result<String, String> {
    let salt: [u8; 32] = rand::random();
    let nonce: [u8; 24] = rand::random();
    let params = ScryptParams {
        n: 1 << SCRYPT_LOG_N,
        r: 8,
        p: 1,
    };
    let key = derive(passphrase, &salt, &params)?;
    let ciphertext = XSalsa20Poly1305::new(&key.into())
        .encrypt(crypto_secretbox::Nonce::from_slice(&nonce), pkcs8)
        .map_err(|_| "cannot seal the key".to_string())?;
    let sealed = Sealed {
        kdf: Kdf {
            name: "scrypt".into(),
            params,
            salt: STANDARD.encode(salt),
        },
        cipher: Cipher {
            name: "nacl/secretbox".into(),
            nonce: STANDARD.encode(nonce),
        },
        ciphertext: STANDARD.encode(ciphertext),
    };
    let json = serde_json::to_vec(&sealed).map_err(|e| e.to_string())?;
    Ok(pem_encode(LABEL, &json))
}

fn pem_body(text: &str) -> Result<(String, Vec<u8>), String> {
    let begin = text
        .find("-----BEGIN ")
        .ok_or("no PEM block (-----BEGIN …-----) in the file")?;
    let rest = &text[begin + 11..];
    let label_end = rest.find("-----").ok_or("a damaged PEM header")?;
    let label = rest[..label_end].to_string();
    let body_start = &rest[label_end + 5..];
    let end_marker = format!("-----END {label}-----");
    let end = body_start
        .find(&end_marker)
        .ok_or_else(|| format!("the PEM block {label:?} has no END line"))?;
    let b64: String = body_start[..end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let body = STANDARD
        .decode(b64)
        .map_err(|_| format!("the PEM block {label:?} is not base64"))?;
    Ok((label, body))
}

pub(super) fn pem_encode(label: &str, body: &[u8]) -> String {
    let b64 = STANDARD.encode(body);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// A new key pair: (encrypted private key PEM, public key PEM).
pub fn generate(passphrase: &str) -> Result<(String, String)> {
    use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
        .map_err(|_| Error::Usage("cannot generate an ECDSA P-256 key".into()))?;
    let pair = KeyPair::from_pkcs8_der(pkcs8.as_ref())
        .map_err(|e| Error::Usage(format!("the generated key does not load: {e}")))?;
    let public = pair
        .public_key_der()
        .map_err(|e| Error::Usage(format!("cannot derive the public key: {e}")))?;
    let private = encrypt(pkcs8.as_ref(), passphrase).map_err(Error::Usage)?;
    // `wharf run` signs with the pair it generates: no need to derive again.
    remember(&private, passphrase, pkcs8.as_ref());
    Ok((private, public.to_pem()))
}

/// Runs `wharf generate-key-pair`: PREFIX.key (mode 0600) and PREFIX.pub,
/// never over existing files.
pub fn generate_key_pair(args: &crate::cli::GenerateKeyPairArgs) -> Result<crate::Outcome> {
    let passphrase = passphrase()?;
    let private_path = PathBuf::from(format!("{}.key", args.output_key_prefix));
    let public_path = PathBuf::from(format!("{}.pub", args.output_key_prefix));
    for path in [&private_path, &public_path] {
        if path.exists() {
            return Err(Error::file(
                path,
                "already exists; wharf does not overwrite a key: move it away or pass another --output-key-prefix",
            ));
        }
    }
    let (private, public) = generate(&passphrase)?;
    crate::fsutil::write_new(&private_path, private.as_bytes(), 0o600)
        .map_err(|e| Error::file(&private_path, e))?;
    if let Err(e) = crate::fsutil::write_new(&public_path, public.as_bytes(), 0o644) {
        // Half a key pair is no key pair.
        let _ = std::fs::remove_file(&private_path);
        return Err(Error::file(&public_path, e));
    }
    crate::report::out(&format!(
        "Private key written to {}\nPublic key written to {}",
        private_path.display(),
        public_path.display()
    ));
    Ok(crate::Outcome::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_decrypts_only_with_its_passphrase() {
        let (private, public) = generate("correct horse").unwrap();
        assert!(private.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"));
        assert!(public.starts_with("-----BEGIN PUBLIC KEY-----"));
        let pkcs8 = decrypt(&private, "correct horse").unwrap();
        let pair = KeyPair::from_pkcs8_der(&pkcs8).unwrap();
        assert_eq!(pair.public_key_der().unwrap().to_pem(), public);
        let err = decrypt(&private, "s3cret-marker-91").unwrap_err();
        assert!(err.contains("passphrase"), "{err}");
        assert!(
            !err.contains("s3cret-marker-91"),
            "the passphrase must not be echoed: {err}"
        );
    }

    #[test]
    fn a_key_opened_once_still_needs_its_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cosign.key");
        let (private, public) = generate("right").unwrap();
        std::fs::write(&path, &private).unwrap();
        for _ in 0..2 {
            let key = load(&path, "right").unwrap();
            assert_eq!(key.public_pem(), public);
        }
        // Remembered by passphrase as well as by file: a wrong one fails
        // every time, and so does the right one on another file.
        for _ in 0..2 {
            let err = load(&path, "wrong").err().unwrap().to_string();
            assert!(err.contains("passphrase"), "{err}");
        }
        let (other, _) = generate("other").unwrap();
        std::fs::write(&path, other).unwrap();
        assert!(load(&path, "right").is_err());
    }

    #[test]
    fn the_sealed_document_has_cosigns_shape() {
        let (private, _) = generate("").unwrap();
        let (label, body) = pem_body(&private).unwrap();
        assert_eq!(label, LABEL);
        let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(doc["kdf"]["name"], "scrypt");
        assert_eq!(doc["kdf"]["params"]["N"], 65536);
        assert_eq!(doc["kdf"]["params"]["r"], 8);
        assert_eq!(doc["cipher"]["name"], "nacl/secretbox");
        assert_eq!(
            STANDARD
                .decode(doc["cipher"]["nonce"].as_str().unwrap())
                .unwrap()
                .len(),
            24
        );
        assert_eq!(
            STANDARD
                .decode(doc["kdf"]["salt"].as_str().unwrap())
                .unwrap()
                .len(),
            32
        );
    }

    #[test]
    fn hostile_parameters_are_refused_before_any_work() {
        let doc = serde_json::json!({
            "kdf": {"name": "scrypt", "params": {"N": 1u64 << 40, "r": 8, "p": 1}, "salt": "AAAA"},
            "cipher": {"name": "nacl/secretbox", "nonce": STANDARD.encode([0u8; 24])},
            "ciphertext": "AAAA",
        });
        let pem = pem_encode(LABEL, doc.to_string().as_bytes());
        let err = decrypt(&pem, "").unwrap_err();
        assert!(err.contains("out of the range"), "{err}");
        let err = decrypt(
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "",
        )
        .unwrap_err();
        assert!(err.contains("cosign import-key-pair"), "{err}");
    }
}
