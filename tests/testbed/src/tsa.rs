//! An RFC 3161 timestamp authority: `POST /api/v1/timestamp` takes a
//! `TimeStampReq` (`application/timestamp-query`) and answers a
//! `TimeStampResp` (`application/timestamp-reply`) whose token is a CMS
//! SignedData over a TSTInfo, signed with signed attributes (content type,
//! signing time, message digest, ESS signing-certificate-v2) by a TSA
//! certificate whose time-stamping EKU is critical.

use std::time::SystemTime;

use der::asn1::{Any, GeneralizedTime, Int, ObjectIdentifier, OctetString, SetOfVec};
use der::{Decode, Encode, Sequence, Tag, Tagged};
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::time::Time;

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};

use crate::certs::{self, Ca, EssCertIdV2, IssuerSerial, SigningCertificateV2};
use crate::crypto::{self, HashAlg};
use crate::http::{Request, Response};
use crate::oids;

#[derive(Debug)]
pub(crate) struct Tsa {
    pub(crate) root: Ca,
    pub(crate) leaf: Ca,
}

#[derive(Clone, Debug, Sequence)]
struct MessageImprint {
    hash_algorithm: AlgorithmIdentifierOwned,
    hashed_message: OctetString,
}

/// TSTInfo (RFC 3161 §2.4.2); `ordering` (DEFAULT FALSE) and `tsa` are
/// left out.
#[derive(Clone, Debug, Sequence)]
struct TstInfo {
    version: u8,
    policy: ObjectIdentifier,
    message_imprint: MessageImprint,
    serial_number: Int,
    gen_time: GeneralizedTime,
    #[asn1(optional = "true")]
    accuracy: Option<Accuracy>,
    #[asn1(optional = "true")]
    nonce: Option<Int>,
}

#[derive(Clone, Debug, Sequence)]
struct Accuracy {
    #[asn1(optional = "true")]
    seconds: Option<u32>,
}

#[derive(Clone, Debug, Sequence)]
struct PkiStatusInfo {
    status: u8,
}

#[derive(Clone, Debug, Sequence)]
struct TimeStampResp {
    status: PkiStatusInfo,
    #[asn1(optional = "true")]
    time_stamp_token: Option<ContentInfo>,
}

/// The fields of a TimeStampReq the TSA acts on.
struct TimeStampReq {
    imprint: MessageImprint,
    policy: Option<ObjectIdentifier>,
    nonce: Option<Int>,
    cert_req: bool,
}

/// Parse a TimeStampReq element by element, so that a client writing the
/// DEFAULT `certReq FALSE` explicitly (BER habit) is still understood.
fn parse_request(body: &[u8]) -> Result<TimeStampReq, String> {
    let items: Vec<Any> =
        Vec::from_der(body).map_err(|e| format!("the body is not a DER TimeStampReq: {e}"))?;
    let mut it = items.into_iter();
    let version: u8 = it
        .next()
        .ok_or("empty TimeStampReq")?
        .decode_as()
        .map_err(|e| format!("TimeStampReq version: {e}"))?;
    if version != 1 {
        return Err(format!("TimeStampReq version {version}, expected 1"));
    }
    let imprint: MessageImprint = it
        .next()
        .ok_or("TimeStampReq without messageImprint")?
        .decode_as()
        .map_err(|e| format!("TimeStampReq messageImprint: {e}"))?;
    let mut req = TimeStampReq {
        imprint,
        policy: None,
        nonce: None,
        cert_req: false,
    };
    for item in it {
        match item.tag() {
            Tag::ObjectIdentifier => {
                req.policy = Some(item.decode_as().map_err(|e| format!("reqPolicy: {e}"))?)
            }
            Tag::Integer => req.nonce = Some(item.decode_as().map_err(|e| format!("nonce: {e}"))?),
            Tag::Boolean => {
                req.cert_req = item.value() != [0u8];
            }
            _ => {} // extensions [0]: none understood, none critical to us
        }
    }
    let alg = HashAlg::from_oid(req.imprint.hash_algorithm.oid).ok_or_else(|| {
        format!(
            "messageImprint hash algorithm {} is not SHA-256/384/512",
            req.imprint.hash_algorithm.oid
        )
    })?;
    if req.imprint.hashed_message.as_bytes().len() != alg.len() {
        return Err(format!(
            "messageImprint is {} bytes, a {} digest is {}",
            req.imprint.hashed_message.as_bytes().len(),
            alg.name(),
            alg.len()
        ));
    }
    Ok(req)
}

fn attribute(oid: ObjectIdentifier, value: &impl Encode) -> Result<Attribute, String> {
    let der_bytes = value.to_der().map_err(|e| e.to_string())?;
    let any = Any::from_der(&der_bytes).map_err(|e| e.to_string())?;
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![any]).map_err(|e| e.to_string())?,
    })
}

fn e(err: der::Error) -> String {
    err.to_string()
}

impl Tsa {
    pub(crate) fn handle(&self, req: &Request) -> Response {
        match (req.method.as_str(), req.path.as_str()) {
            ("POST", "/api/v1/timestamp") => match self.timestamp(&req.body) {
                Ok(der) => Response::bytes(200, "application/timestamp-reply", der),
                Err(msg) => Response::error(400, &msg),
            },
            ("GET", "/api/v1/timestamp/certchain") => Response::bytes(
                200,
                "application/pem-certificate-chain",
                format!("{}{}", self.leaf.pem(), self.root.pem()).into_bytes(),
            ),
            _ => Response::error(404, "no such endpoint on the timestamp authority"),
        }
    }

    fn timestamp(&self, body: &[u8]) -> Result<Vec<u8>, String> {
        let req = parse_request(body)?;
        let serial = certs::random_serial()?;
        let tst = TstInfo {
            version: 1,
            policy: req.policy.unwrap_or(oids::TSA_POLICY),
            message_imprint: req.imprint,
            serial_number: Int::new(serial.as_bytes()).map_err(e)?,
            gen_time: GeneralizedTime::from_system_time(SystemTime::now()).map_err(e)?,
            accuracy: Some(Accuracy { seconds: Some(1) }),
            nonce: req.nonce,
        };
        let tst_der = tst.to_der().map_err(e)?;

        let leaf = &self.leaf.cert;
        let ess = SigningCertificateV2 {
            certs: vec![EssCertIdV2 {
                cert_hash: OctetString::new(crypto::sha256(&self.leaf.der)).map_err(e)?,
                issuer_serial: IssuerSerial {
                    issuer: vec![GeneralName::DirectoryName(
                        leaf.tbs_certificate.issuer.clone(),
                    )],
                    serial_number: leaf.tbs_certificate.serial_number.clone(),
                },
            }],
        };
        let signing_time =
            Time::UtcTime(der::asn1::UtcTime::from_system_time(SystemTime::now()).map_err(e)?);
        let signed_attrs = SetOfVec::try_from(vec![
            attribute(oids::ID_CONTENT_TYPE, &oids::ID_CT_TST_INFO)?,
            attribute(oids::ID_SIGNING_TIME, &signing_time)?,
            attribute(
                oids::ID_MESSAGE_DIGEST,
                &OctetString::new(crypto::sha256(&tst_der)).map_err(e)?,
            )?,
            attribute(oids::ID_SIGNING_CERTIFICATE_V2, &ess)?,
        ])
        .map_err(e)?;
        // The signature covers the DER of the attributes as a SET OF
        // (RFC 5652 §5.4), not their [0] IMPLICIT encoding.
        let signature = self.leaf.key.sign(&signed_attrs.to_der().map_err(e)?)?;

        let sha256 = AlgorithmIdentifierOwned {
            oid: oids::SHA256,
            parameters: None,
        };
        let signer = SignerInfo {
            version: CmsVersion::V1,
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: leaf.tbs_certificate.issuer.clone(),
                serial_number: leaf.tbs_certificate.serial_number.clone(),
            }),
            digest_alg: sha256.clone(),
            signed_attrs: Some(signed_attrs),
            signature_algorithm: certs::ecdsa_sha256(),
            signature: OctetString::new(signature).map_err(e)?,
            unsigned_attrs: None,
        };
        let certificates = if req.cert_req {
            Some(CertificateSet(
                SetOfVec::try_from(vec![CertificateChoices::Certificate(leaf.clone())])
                    .map_err(e)?,
            ))
        } else {
            None
        };
        let signed_data = SignedData {
            version: CmsVersion::V3,
            digest_algorithms: SetOfVec::try_from(vec![sha256]).map_err(e)?,
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: oids::ID_CT_TST_INFO,
                econtent: Some(Any::new(Tag::OctetString, tst_der).map_err(e)?),
            },
            certificates,
            crls: None,
            signer_infos: SignerInfos(SetOfVec::try_from(vec![signer]).map_err(e)?),
        };
        let resp = TimeStampResp {
            status: PkiStatusInfo { status: 0 },
            time_stamp_token: Some(ContentInfo {
                content_type: oids::ID_SIGNED_DATA,
                content: Any::encode_from(&signed_data).map_err(e)?,
            }),
        };
        resp.to_der().map_err(e)
    }
}
