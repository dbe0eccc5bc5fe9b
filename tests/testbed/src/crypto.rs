//! Keys the testbed signs with, and verification of the keys clients send.
//!
//! Every key the testbed owns is ECDSA P-256 (what public-good Sigstore uses
//! for Rekor, the CT log and the TSA). Clients may send P-256, P-384, P-521,
//! RSA or Ed25519 keys, as Fulcio and Rekor accept.

use aws_lc_rs::digest;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair, UnparsedPublicKey};
use const_oid::ObjectIdentifier;
use der::Decode;
use sha2::{Digest, Sha256};
use spki::SubjectPublicKeyInfoOwned;

use crate::oids;

/// An ECDSA P-256 key owned by the testbed. Its private half never leaves
/// the process and is never printed (no `Debug` of the key material).
pub(crate) struct EcKey {
    asn1: EcdsaKeyPair,
    fixed: EcdsaKeyPair,
    spki_der: Vec<u8>,
}

impl std::fmt::Debug for EcKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EcKey")
            .field("key_id", &hex::encode(self.key_id()))
            .finish_non_exhaustive()
    }
}

impl EcKey {
    pub(crate) fn generate() -> Result<Self, String> {
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(
            &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            &SystemRandom::new(),
        )
        .map_err(|_| "generating a P-256 key failed".to_string())?;
        let asn1 =
            EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref())
                .map_err(|e| format!("loading the generated key: {e}"))?;
        let fixed =
            EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
                .map_err(|e| format!("loading the generated key: {e}"))?;
        let spki_der = asn1
            .public_key()
            .as_der()
            .map_err(|_| "encoding the public key failed".to_string())?
            .as_ref()
            .to_vec();
        Ok(EcKey {
            asn1,
            fixed,
            spki_der,
        })
    }

    /// ECDSA-SHA256, ASN.1 DER signature (X.509, CMS, Rekor, CT).
    pub(crate) fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, String> {
        self.asn1
            .sign(&SystemRandom::new(), msg)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| "ECDSA signing failed".to_string())
    }

    /// ECDSA-SHA256, fixed-width r||s signature (JWS ES256).
    pub(crate) fn sign_fixed(&self, msg: &[u8]) -> Result<Vec<u8>, String> {
        self.fixed
            .sign(&SystemRandom::new(), msg)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| "ECDSA signing failed".to_string())
    }

    pub(crate) fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    pub(crate) fn spki(&self) -> Result<SubjectPublicKeyInfoOwned, String> {
        SubjectPublicKeyInfoOwned::from_der(&self.spki_der).map_err(|e| e.to_string())
    }

    /// The uncompressed point (0x04 || x || y).
    pub(crate) fn public_point(&self) -> &[u8] {
        self.asn1.public_key().as_ref()
    }

    /// SHA-256 of the DER SubjectPublicKeyInfo: Rekor's log ID, the CT log ID,
    /// and the trusted root's `keyId`.
    pub(crate) fn key_id(&self) -> [u8; 32] {
        Sha256::digest(&self.spki_der).into()
    }

    pub(crate) fn public_pem(&self) -> String {
        der::pem::encode_string("PUBLIC KEY", der::pem::LineEnding::LF, &self.spki_der)
            .unwrap_or_default()
    }

    /// Verify an ES256 JWS signature made by this key.
    pub(crate) fn verify_fixed(&self, msg: &[u8], sig: &[u8]) -> bool {
        UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, self.public_point())
            .verify(msg, sig)
            .is_ok()
    }
}

/// The kinds of public key a client may present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    P256,
    P384,
    P521,
    Rsa,
    Ed25519,
}

/// A client's public key, parsed from its SubjectPublicKeyInfo.
#[derive(Debug, Clone)]
pub(crate) struct ClientKey {
    pub(crate) kind: KeyKind,
    /// The subjectPublicKey bits: an EC point, a PKCS#1 RSAPublicKey, or 32
    /// Ed25519 bytes — what aws-lc-rs expects for each kind.
    raw: Vec<u8>,
    pub(crate) spki: SubjectPublicKeyInfoOwned,
}

impl ClientKey {
    pub(crate) fn from_spki(spki: SubjectPublicKeyInfoOwned) -> Result<Self, String> {
        let alg = spki.algorithm.oid;
        let kind = if alg == oids::EC_PUBLIC_KEY {
            let curve: ObjectIdentifier = spki
                .algorithm
                .parameters
                .as_ref()
                .ok_or("EC public key without curve parameters")?
                .decode_as()
                .map_err(|e| format!("EC curve parameters: {e}"))?;
            match curve {
                c if c == oids::SECP256R1 => KeyKind::P256,
                c if c == oids::SECP384R1 => KeyKind::P384,
                c if c == oids::SECP521R1 => KeyKind::P521,
                c => return Err(format!("unsupported elliptic curve {c}")),
            }
        } else if alg == oids::RSA_ENCRYPTION {
            KeyKind::Rsa
        } else if alg == oids::ED25519 {
            KeyKind::Ed25519
        } else {
            return Err(format!("unsupported public key algorithm {alg}"));
        };
        let raw = spki
            .subject_public_key
            .as_bytes()
            .ok_or("public key bit string has unused bits")?
            .to_vec();
        Ok(ClientKey { kind, raw, spki })
    }

    pub(crate) fn from_spki_der(der_bytes: &[u8]) -> Result<Self, String> {
        let spki = SubjectPublicKeyInfoOwned::from_der(der_bytes)
            .map_err(|e| format!("not a DER SubjectPublicKeyInfo: {e}"))?;
        Self::from_spki(spki)
    }

    /// Parse a PEM `PUBLIC KEY`, or a PEM `CERTIFICATE` (its key is used).
    pub(crate) fn from_pem(pem: &[u8]) -> Result<(Self, PemKind), String> {
        let (label, der_bytes) =
            der::pem::decode_vec(pem).map_err(|e| format!("not valid PEM: {e}"))?;
        match label {
            "PUBLIC KEY" => Ok((
                Self::from_spki_der(&der_bytes)?,
                PemKind::PublicKey(der_bytes),
            )),
            "CERTIFICATE" => {
                let cert = x509_cert::Certificate::from_der(&der_bytes)
                    .map_err(|e| format!("not a DER X.509 certificate: {e}"))?;
                let key = Self::from_spki(cert.tbs_certificate.subject_public_key_info)?;
                Ok((key, PemKind::Certificate(der_bytes)))
            }
            other => Err(format!(
                "PEM label {other:?}: expected PUBLIC KEY or CERTIFICATE"
            )),
        }
    }

    /// Verify `sig` over `msg` with the hash this key type conventionally
    /// uses (Fulcio's proof of possession, DSSE in Rekor): SHA-256 for P-256,
    /// RSA; SHA-384 for P-384; SHA-512 for P-521; pure Ed25519.
    pub(crate) fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        let alg: &'static dyn signature::VerificationAlgorithm = match self.kind {
            KeyKind::P256 => &signature::ECDSA_P256_SHA256_ASN1,
            KeyKind::P384 => &signature::ECDSA_P384_SHA384_ASN1,
            KeyKind::P521 => &signature::ECDSA_P521_SHA512_ASN1,
            KeyKind::Rsa => &signature::RSA_PKCS1_2048_8192_SHA256,
            KeyKind::Ed25519 => &signature::ED25519,
        };
        UnparsedPublicKey::new(alg, &self.raw)
            .verify(msg, sig)
            .is_ok()
    }

    /// Verify a signature whose algorithm an X.509 `signatureAlgorithm`
    /// names (a CSR's self-signature).
    pub(crate) fn verify_with_alg(
        &self,
        sig_alg: ObjectIdentifier,
        msg: &[u8],
        sig: &[u8],
    ) -> Result<(), String> {
        let alg: &'static dyn signature::VerificationAlgorithm = match (self.kind, sig_alg) {
            (KeyKind::P256, a) if a == oids::ECDSA_WITH_SHA256 => {
                &signature::ECDSA_P256_SHA256_ASN1
            }
            (KeyKind::P256, a) if a == oids::ECDSA_WITH_SHA384 => {
                &signature::ECDSA_P256_SHA384_ASN1
            }
            (KeyKind::P384, a) if a == oids::ECDSA_WITH_SHA256 => {
                &signature::ECDSA_P384_SHA256_ASN1
            }
            (KeyKind::P384, a) if a == oids::ECDSA_WITH_SHA384 => {
                &signature::ECDSA_P384_SHA384_ASN1
            }
            (KeyKind::P521, a) if a == oids::ECDSA_WITH_SHA512 => {
                &signature::ECDSA_P521_SHA512_ASN1
            }
            (KeyKind::Rsa, a) if a == oids::SHA256_WITH_RSA => {
                &signature::RSA_PKCS1_2048_8192_SHA256
            }
            (KeyKind::Rsa, a) if a == oids::SHA384_WITH_RSA => {
                &signature::RSA_PKCS1_2048_8192_SHA384
            }
            (KeyKind::Rsa, a) if a == oids::SHA512_WITH_RSA => {
                &signature::RSA_PKCS1_2048_8192_SHA512
            }
            (KeyKind::Ed25519, a) if a == oids::ED25519 => &signature::ED25519,
            (kind, a) => return Err(format!("signature algorithm {a} with a {kind:?} key")),
        };
        UnparsedPublicKey::new(alg, &self.raw)
            .verify(msg, sig)
            .map_err(|_| "signature does not verify".to_string())
    }

    /// Verify a signature over a digest the client computed (hashedrekord).
    pub(crate) fn verify_prehashed(
        &self,
        hash: HashAlg,
        digest_bytes: &[u8],
        sig: &[u8],
    ) -> Result<(), String> {
        let (alg, dalg): (&'static signature::EcdsaVerificationAlgorithm, _) =
            match (self.kind, hash) {
                (KeyKind::P256, HashAlg::Sha256) => {
                    (&signature::ECDSA_P256_SHA256_ASN1, &digest::SHA256)
                }
                (KeyKind::P256, HashAlg::Sha384) => {
                    (&signature::ECDSA_P256_SHA384_ASN1, &digest::SHA384)
                }
                (KeyKind::P384, HashAlg::Sha256) => {
                    (&signature::ECDSA_P384_SHA256_ASN1, &digest::SHA256)
                }
                (KeyKind::P384, HashAlg::Sha384) => {
                    (&signature::ECDSA_P384_SHA384_ASN1, &digest::SHA384)
                }
                (KeyKind::P521, HashAlg::Sha512) => {
                    (&signature::ECDSA_P521_SHA512_ASN1, &digest::SHA512)
                }
                (kind, hash) => {
                    return Err(format!(
                        "a {kind:?} key over a {} digest is not supported by the testbed",
                        hash.name()
                    ))
                }
            };
        let d = digest::Digest::import_less_safe(digest_bytes, dalg)
            .map_err(|_| format!("digest is not {} bytes long", dalg.output_len()))?;
        UnparsedPublicKey::new(alg, &self.raw)
            .verify_digest(&d, sig)
            .map_err(|_| "signature does not verify against the digest".to_string())
    }
}

/// What a PEM blob held, with its DER bytes.
#[derive(Debug, Clone)]
pub(crate) enum PemKind {
    PublicKey(Vec<u8>),
    Certificate(Vec<u8>),
}

impl PemKind {
    /// The canonical PEM (64-column lines, LF) Rekor stores: what Go's
    /// `pem.Encode` writes, and Python's `cryptography` too.
    pub(crate) fn canonical_pem(&self) -> String {
        match self {
            PemKind::PublicKey(d) => pem_encode("PUBLIC KEY", d),
            PemKind::Certificate(d) => pem_encode("CERTIFICATE", d),
        }
    }
}

/// Digest algorithms a hashedrekord entry or a timestamp request may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HashAlg {
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlg {
    pub(crate) fn name(self) -> &'static str {
        match self {
            HashAlg::Sha256 => "sha256",
            HashAlg::Sha384 => "sha384",
            HashAlg::Sha512 => "sha512",
        }
    }

    pub(crate) fn len(self) -> usize {
        match self {
            HashAlg::Sha256 => 32,
            HashAlg::Sha384 => 48,
            HashAlg::Sha512 => 64,
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Self> {
        match name {
            "sha256" => Some(HashAlg::Sha256),
            "sha384" => Some(HashAlg::Sha384),
            "sha512" => Some(HashAlg::Sha512),
            _ => None,
        }
    }

    pub(crate) fn from_oid(oid: ObjectIdentifier) -> Option<Self> {
        match oid {
            o if o == oids::SHA256 => Some(HashAlg::Sha256),
            o if o == oids::SHA384 => Some(HashAlg::Sha384),
            o if o == oids::SHA512 => Some(HashAlg::Sha512),
            _ => None,
        }
    }
}

pub(crate) fn pem_encode(label: &str, der_bytes: &[u8]) -> String {
    der::pem::encode_string(label, der::pem::LineEnding::LF, der_bytes).unwrap_or_default()
}

pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// `n` random bytes from the system RNG.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], String> {
    let mut buf = [0u8; N];
    aws_lc_rs::rand::fill(&mut buf).map_err(|_| "the system RNG failed".to_string())?;
    Ok(buf)
}
