//! X.509 certificates: the Fulcio root and intermediate, Fulcio leaves with
//! an embedded SCT, and the timestamp authority's chain.
//!
//! Certificates follow the profile strict verifiers enforce (sigstore-python
//! runs pyca/cryptography's web-PKI checks, sigstore-rust runs rustls-webpki):
//! v3, positive serials of at most 20 bytes, UTCTime validity, SKI and AKI on
//! every CA, BasicConstraints critical on CAs, and a critical SAN on leaves
//! whose subject is empty, as Fulcio's are.

use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use der::asn1::{BitString, Ia5String, OctetString, UtcTime, Utf8StringRef};
use der::{Encode, Sequence};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::certificate::{Certificate, TbsCertificate, Version};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

use crate::crypto::{self, EcKey};
use crate::oids;

/// A certificate authority the testbed runs: its key, its certificate.
#[derive(Debug)]
pub(crate) struct Ca {
    pub(crate) key: EcKey,
    pub(crate) cert: Certificate,
    pub(crate) der: Vec<u8>,
}

impl Ca {
    pub(crate) fn name(&self) -> &Name {
        &self.cert.tbs_certificate.subject
    }

    pub(crate) fn pem(&self) -> String {
        crypto::pem_encode("CERTIFICATE", &self.der)
    }
}

pub(crate) fn ecdsa_sha256() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: oids::ECDSA_WITH_SHA256,
        parameters: None,
    }
}

pub(crate) fn name(dn: &str) -> Result<Name, String> {
    Name::from_str(dn).map_err(|e| format!("distinguished name {dn:?}: {e}"))
}

fn utc(t: SystemTime) -> Result<Time, String> {
    UtcTime::from_system_time(t)
        .map(Time::UtcTime)
        .map_err(|e| format!("time out of UTCTime range: {e}"))
}

/// A random positive serial number of 16 bytes.
pub(crate) fn random_serial() -> Result<SerialNumber, String> {
    let mut bytes = crypto::random_bytes::<16>()?;
    bytes[0] = (bytes[0] & 0x7f) | 0x01;
    SerialNumber::new(&bytes).map_err(|e| e.to_string())
}

/// RFC 7093 method 1: the leftmost 160 bits of the SHA-256 of the
/// subjectPublicKey bits.
pub(crate) fn key_identifier(spki: &SubjectPublicKeyInfoOwned) -> Vec<u8> {
    let bits = spki.subject_public_key.raw_bytes();
    crypto::sha256(bits)[..20].to_vec()
}

pub(crate) fn extension(
    oid: der::asn1::ObjectIdentifier,
    critical: bool,
    value: &impl Encode,
) -> Result<Extension, String> {
    let der_bytes = value.to_der().map_err(|e| e.to_string())?;
    raw_extension(oid, critical, der_bytes)
}

pub(crate) fn raw_extension(
    oid: der::asn1::ObjectIdentifier,
    critical: bool,
    value: Vec<u8>,
) -> Result<Extension, String> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value).map_err(|e| e.to_string())?,
    })
}

fn ski(spki: &SubjectPublicKeyInfoOwned) -> Result<Extension, String> {
    let id = OctetString::new(key_identifier(spki)).map_err(|e| e.to_string())?;
    extension(
        oids::SUBJECT_KEY_IDENTIFIER,
        false,
        &SubjectKeyIdentifier(id),
    )
}

fn aki(issuer_spki: &SubjectPublicKeyInfoOwned) -> Result<Extension, String> {
    let id = OctetString::new(key_identifier(issuer_spki)).map_err(|e| e.to_string())?;
    extension(
        oids::AUTHORITY_KEY_IDENTIFIER,
        false,
        &AuthorityKeyIdentifier {
            key_identifier: Some(id),
            authority_cert_issuer: None,
            authority_cert_serial_number: None,
        },
    )
}

pub(crate) struct TbsSpec<'a> {
    pub(crate) issuer: &'a Name,
    pub(crate) subject: Name,
    pub(crate) spki: SubjectPublicKeyInfoOwned,
    pub(crate) not_before: SystemTime,
    pub(crate) not_after: SystemTime,
    pub(crate) extensions: Vec<Extension>,
}

pub(crate) fn tbs(spec: TbsSpec<'_>) -> Result<TbsCertificate, String> {
    Ok(TbsCertificate {
        version: Version::V3,
        serial_number: random_serial()?,
        signature: ecdsa_sha256(),
        issuer: spec.issuer.clone(),
        validity: Validity {
            not_before: utc(spec.not_before)?,
            not_after: utc(spec.not_after)?,
        },
        subject: spec.subject,
        subject_public_key_info: spec.spki,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(spec.extensions),
    })
}

pub(crate) fn sign(tbs: TbsCertificate, key: &EcKey) -> Result<(Certificate, Vec<u8>), String> {
    let tbs_der = tbs.to_der().map_err(|e| e.to_string())?;
    let sig = key.sign(&tbs_der)?;
    let cert = Certificate {
        tbs_certificate: tbs,
        signature_algorithm: ecdsa_sha256(),
        signature: BitString::from_bytes(&sig).map_err(|e| e.to_string())?,
    };
    let der_bytes = cert.to_der().map_err(|e| e.to_string())?;
    Ok((cert, der_bytes))
}

/// Start of validity for the testbed's CAs: an hour back, so that clocks a
/// little behind still see them valid.
pub(crate) fn ca_not_before(now: SystemTime) -> SystemTime {
    now - Duration::from_secs(3600)
}

const CA_LIFETIME: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// A self-signed root CA.
pub(crate) fn root(dn: &str, now: SystemTime) -> Result<Ca, String> {
    let key = EcKey::generate()?;
    let spki = key.spki()?;
    let subject = name(dn)?;
    let extensions = vec![
        extension(
            oids::KEY_USAGE,
            true,
            &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
        )?,
        extension(
            oids::BASIC_CONSTRAINTS,
            true,
            &BasicConstraints {
                ca: true,
                path_len_constraint: Some(1),
            },
        )?,
        ski(&spki)?,
    ];
    let tbs = tbs(TbsSpec {
        issuer: &subject.clone(),
        subject,
        spki,
        not_before: ca_not_before(now),
        not_after: now + CA_LIFETIME,
        extensions,
    })?;
    let (cert, der) = sign(tbs, &key)?;
    Ok(Ca { key, cert, der })
}

/// An intermediate CA under `parent`, restricted to `eku` (Fulcio's
/// intermediate carries code-signing; the TSA's chain time-stamping).
pub(crate) fn intermediate(
    parent: &Ca,
    dn: &str,
    eku: der::asn1::ObjectIdentifier,
    now: SystemTime,
) -> Result<Ca, String> {
    let key = EcKey::generate()?;
    let spki = key.spki()?;
    let extensions = vec![
        extension(
            oids::KEY_USAGE,
            true,
            &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
        )?,
        extension(oids::EXT_KEY_USAGE, false, &ExtendedKeyUsage(vec![eku]))?,
        extension(
            oids::BASIC_CONSTRAINTS,
            true,
            &BasicConstraints {
                ca: true,
                path_len_constraint: Some(0),
            },
        )?,
        ski(&spki)?,
        aki(&parent.cert.tbs_certificate.subject_public_key_info)?,
    ];
    let tbs = tbs(TbsSpec {
        issuer: parent.name(),
        subject: name(dn)?,
        spki,
        not_before: ca_not_before(now),
        not_after: now + CA_LIFETIME,
        extensions,
    })?;
    let (cert, der) = sign(tbs, &parent.key)?;
    Ok(Ca { key, cert, der })
}

/// The TSA's signing certificate: time-stamping EKU, critical, as RFC 3161
/// §2.3 requires.
pub(crate) fn tsa_leaf(parent: &Ca, dn: &str, now: SystemTime) -> Result<Ca, String> {
    let key = EcKey::generate()?;
    let spki = key.spki()?;
    let extensions = vec![
        extension(
            oids::KEY_USAGE,
            true,
            &KeyUsage(KeyUsages::DigitalSignature.into()),
        )?,
        extension(
            oids::EXT_KEY_USAGE,
            true,
            &ExtendedKeyUsage(vec![oids::KP_TIME_STAMPING]),
        )?,
        ski(&spki)?,
        aki(&parent.cert.tbs_certificate.subject_public_key_info)?,
    ];
    let tbs = tbs(TbsSpec {
        issuer: parent.name(),
        subject: name(dn)?,
        spki,
        not_before: ca_not_before(now),
        not_after: now + CA_LIFETIME,
        extensions,
    })?;
    let (cert, der) = sign(tbs, &parent.key)?;
    Ok(Ca { key, cert, der })
}

/// What goes into a Fulcio leaf besides the key.
pub(crate) struct LeafRequest {
    pub(crate) spki: SubjectPublicKeyInfoOwned,
    pub(crate) san: San,
    /// Fulcio extensions: (N in 1.3.6.1.4.1.57264.1.N, value). N = 1..=6
    /// are written raw (deprecated form), N >= 8 as DER UTF8String.
    pub(crate) fulcio_extensions: Vec<(u32, String)>,
}

pub(crate) enum San {
    Uri(String),
    Email(String),
}

/// Issue a Fulcio leaf with an embedded SCT from `ct_log`: the SCT signs the
/// precertificate TBS (the final TBS without the SCT list extension), so a
/// verifier that strips the extension (RFC 6962 §3.2) reproduces it.
pub(crate) fn fulcio_leaf(
    issuer: &Ca,
    ct_log: &EcKey,
    req: LeafRequest,
    lifetime: Duration,
) -> Result<Vec<u8>, String> {
    let now = SystemTime::now();
    let san = match req.san {
        San::Uri(uri) => GeneralName::UniformResourceIdentifier(
            Ia5String::new(&uri).map_err(|e| format!("identity {uri:?} is not ASCII: {e}"))?,
        ),
        San::Email(email) => GeneralName::Rfc822Name(
            Ia5String::new(&email).map_err(|e| format!("email {email:?} is not ASCII: {e}"))?,
        ),
    };
    let mut extensions = vec![
        extension(
            oids::KEY_USAGE,
            true,
            &KeyUsage(KeyUsages::DigitalSignature.into()),
        )?,
        extension(
            oids::EXT_KEY_USAGE,
            false,
            &ExtendedKeyUsage(vec![oids::KP_CODE_SIGNING]),
        )?,
        ski(&req.spki)?,
        aki(&issuer.cert.tbs_certificate.subject_public_key_info)?,
        // Critical: the subject is empty (RFC 5280 §4.2.1.6).
        extension(oids::SUBJECT_ALT_NAME, true, &SubjectAltName(vec![san]))?,
    ];
    for (n, value) in &req.fulcio_extensions {
        let oid = oids::fulcio(*n).ok_or_else(|| format!("Fulcio extension {n}"))?;
        let ext = if *n <= 6 {
            raw_extension(oid, false, value.as_bytes().to_vec())?
        } else {
            let s = Utf8StringRef::new(value).map_err(|e| e.to_string())?;
            extension(oid, false, &s)?
        };
        extensions.push(ext);
    }
    let mut tbs = tbs(TbsSpec {
        issuer: issuer.name(),
        subject: Name::default(),
        spki: req.spki,
        not_before: now,
        not_after: now + lifetime,
        extensions,
    })?;

    let precert_tbs = tbs.to_der().map_err(|e| e.to_string())?;
    let issuer_spki = issuer
        .cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| e.to_string())?;
    let sct = sign_sct(ct_log, &crypto::sha256(&issuer_spki), &precert_tbs, now)?;
    // SignedCertificateTimestampList: a u16-length list of u16-length SCTs,
    // wrapped in an OCTET STRING inside the extension's OCTET STRING.
    let mut list = Vec::with_capacity(sct.len() + 4);
    push_u16_len(&mut list, sct.len() + 2)?;
    push_u16_len(&mut list, sct.len())?;
    list.extend_from_slice(&sct);
    let inner = OctetString::new(list).map_err(|e| e.to_string())?;
    if let Some(exts) = tbs.extensions.as_mut() {
        exts.push(extension(oids::CT_SCT_LIST, false, &inner)?);
    }
    let (_, der) = sign(tbs, &issuer.key)?;
    Ok(der)
}

fn push_u16_len(out: &mut Vec<u8>, len: usize) -> Result<(), String> {
    let len = u16::try_from(len).map_err(|_| "SCT too long".to_string())?;
    out.extend_from_slice(&len.to_be_bytes());
    Ok(())
}

/// A v1 SCT for a precertificate entry (RFC 6962 §3.2), serialized.
fn sign_sct(
    log: &EcKey,
    issuer_key_hash: &[u8; 32],
    tbs: &[u8],
    when: SystemTime,
) -> Result<Vec<u8>, String> {
    let ms = u64::try_from(
        when.duration_since(UNIX_EPOCH)
            .map_err(|e| e.to_string())?
            .as_millis(),
    )
    .map_err(|e| e.to_string())?;
    let tbs_len = u32::try_from(tbs.len()).map_err(|e| e.to_string())?;
    if tbs_len >= 1 << 24 {
        return Err("TBS certificate too long for an SCT".into());
    }
    let mut signed = Vec::with_capacity(tbs.len() + 64);
    signed.push(0); // sct_version v1
    signed.push(0); // signature_type certificate_timestamp
    signed.extend_from_slice(&ms.to_be_bytes());
    signed.extend_from_slice(&1u16.to_be_bytes()); // entry_type precert_entry
    signed.extend_from_slice(issuer_key_hash);
    signed.extend_from_slice(&tbs_len.to_be_bytes()[1..]); // u24 length
    signed.extend_from_slice(tbs);
    signed.extend_from_slice(&0u16.to_be_bytes()); // no extensions
    let sig = log.sign(&signed)?;

    let mut sct = Vec::with_capacity(sig.len() + 48);
    sct.push(0); // v1
    sct.extend_from_slice(&log.key_id());
    sct.extend_from_slice(&ms.to_be_bytes());
    sct.extend_from_slice(&0u16.to_be_bytes()); // no extensions
    sct.push(4); // hash sha256
    sct.push(3); // signature ecdsa
    push_u16_len(&mut sct, sig.len())?;
    sct.extend_from_slice(&sig);
    Ok(sct)
}

/// `ESSCertIDv2` for the signing-certificate-v2 attribute (RFC 5035), with
/// the default hash (SHA-256) left out as DER requires.
#[derive(Clone, Debug, Sequence)]
pub(crate) struct EssCertIdV2 {
    pub(crate) cert_hash: OctetString,
    pub(crate) issuer_serial: IssuerSerial,
}

#[derive(Clone, Debug, Sequence)]
pub(crate) struct IssuerSerial {
    pub(crate) issuer: Vec<GeneralName>,
    pub(crate) serial_number: SerialNumber,
}

#[derive(Clone, Debug, Sequence)]
pub(crate) struct SigningCertificateV2 {
    pub(crate) certs: Vec<EssCertIdV2>,
}
