//! Fulcio v2: `POST /api/v2/signingCert`, `GET /api/v2/configuration`,
//! `GET /api/v2/trustBundle`.
//!
//! The token is checked as Fulcio checks it (signature, issuer, audience,
//! expiry); the key must be proven: either a `publicKeyRequest` whose
//! `proofOfPossession` signs the token's `sub` (or `email`) claim, or a
//! `certificateSigningRequest` (PEM, base64 in the JSON, as sigstore-python
//! sends it) whose self-signature verifies. The token may also come in an
//! `Authorization: Bearer` header, as sigstore-python sends it.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use der::{Decode, Encode};
use serde_json::{json, Map, Value};
use x509_cert::request::CertReq;

use crate::certs::{self, Ca, LeafRequest, San};
use crate::crypto::{ClientKey, EcKey};
use crate::http::{Request, Response};
use crate::oidc::{self, Oidc};

/// Lifetime of the leaf certificates (public-good Fulcio: 10 minutes).
pub(crate) const LEAF_LIFETIME: Duration = Duration::from_secs(600);

#[derive(Debug)]
pub(crate) struct Fulcio {
    pub(crate) root: Ca,
    pub(crate) intermediate: Ca,
    pub(crate) ct_log: EcKey,
}

impl Fulcio {
    pub(crate) fn handle(&self, oidc: &Oidc, req: &Request) -> Response {
        match (req.method.as_str(), req.path.as_str()) {
            ("POST", "/api/v2/signingCert") => self.signing_cert(oidc, req),
            ("GET", "/api/v2/configuration") => Response::json(
                200,
                &json!({"issuers": [{
                    "issuerUrl": oidc.issuer,
                    "audience": "sigstore",
                    "challengeClaim": "sub",
                    "issuerType": "github-workflow",
                }]}),
            ),
            ("GET", "/api/v2/trustBundle") => Response::json(
                200,
                &json!({"chains": [{"certificates": [self.intermediate.pem(), self.root.pem()]}]}),
            ),
            _ => Response::error(404, "no such endpoint on Fulcio"),
        }
    }

    fn signing_cert(&self, oidc: &Oidc, req: &Request) -> Response {
        match self.try_signing_cert(oidc, req) {
            // 200, as real Fulcio's v2 API answers (201 is its legacy v1
            // API's); sigstore-go refuses any other status.
            Ok(chain) => Response::json(
                200,
                &json!({"signedCertificateEmbeddedSct": {"chain": {"certificates": chain}}}),
            ),
            Err((status, message)) => Response::error(status, &message),
        }
    }

    fn try_signing_cert(&self, oidc: &Oidc, req: &Request) -> Result<Vec<String>, (u16, String)> {
        let body: Value = serde_json::from_slice(&req.body)
            .map_err(|e| (400, format!("request body is not JSON: {e}")))?;
        let token = body
            .pointer("/credentials/oidcIdentityToken")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| {
                let h = req.header("authorization")?;
                let (scheme, value) = h.split_once(' ')?;
                scheme
                    .eq_ignore_ascii_case("bearer")
                    .then(|| value.trim().to_string())
            })
            .ok_or((
                401,
                "no identity token: send credentials.oidcIdentityToken or an Authorization: Bearer header"
                    .to_string(),
            ))?;
        let claims = oidc.verify(&token).map_err(|e| {
            (
                401,
                format!("There was an error processing the identity token: {e}"),
            )
        })?;

        let key = if let Some(pkr) = body.get("publicKeyRequest") {
            public_key_request(pkr, &claims)?
        } else if let Some(csr) = body.get("certificateSigningRequest") {
            certificate_signing_request(csr)?
        } else {
            return Err((
                400,
                "the request has neither publicKeyRequest nor certificateSigningRequest".into(),
            ));
        };

        let leaf_req = leaf_request(&claims, &oidc.issuer, key)?;
        let leaf = certs::fulcio_leaf(&self.intermediate, &self.ct_log, leaf_req, LEAF_LIFETIME)
            .map_err(|e| (500, format!("issuing the certificate: {e}")))?;
        Ok(vec![
            crate::crypto::pem_encode("CERTIFICATE", &leaf),
            self.intermediate.pem(),
            self.root.pem(),
        ])
    }
}

fn bad(message: impl Into<String>) -> (u16, String) {
    (400, message.into())
}

/// A public key sent as PEM, or as base64 DER.
fn parse_public_key(content: &str) -> Result<ClientKey, (u16, String)> {
    let content = content.trim();
    if content.starts_with("-----BEGIN") {
        ClientKey::from_pem(content.as_bytes())
            .map(|(k, _)| k)
            .map_err(|e| bad(format!("publicKey.content: {e}")))
    } else {
        let der_bytes = STANDARD
            .decode(content)
            .map_err(|_| bad("publicKey.content is neither PEM nor base64 DER"))?;
        ClientKey::from_spki_der(&der_bytes).map_err(|e| bad(format!("publicKey.content: {e}")))
    }
}

fn public_key_request(
    pkr: &Value,
    claims: &Map<String, Value>,
) -> Result<ClientKey, (u16, String)> {
    let content = pkr
        .pointer("/publicKey/content")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("publicKeyRequest.publicKey.content is missing"))?;
    let key = parse_public_key(content)?;
    let pop = pkr
        .get("proofOfPossession")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("publicKeyRequest.proofOfPossession is missing"))?;
    let pop = STANDARD
        .decode(pop.trim())
        .map_err(|_| bad("publicKeyRequest.proofOfPossession is not base64"))?;
    // Fulcio's challenge is the token's subject: `sub`, or `email` for
    // email issuers.
    let proven = ["sub", "email"]
        .iter()
        .filter_map(|c| claims.get(*c).and_then(Value::as_str))
        .any(|subject| key.verify(subject.as_bytes(), &pop));
    if !proven {
        return Err(bad(
            "the proof of possession does not verify: sign the token's sub claim with the private key of publicKey",
        ));
    }
    Ok(key)
}

fn certificate_signing_request(csr: &Value) -> Result<ClientKey, (u16, String)> {
    let text = csr
        .as_str()
        .ok_or_else(|| bad("certificateSigningRequest must be a string"))?
        .trim();
    // The proto field is bytes (base64 in JSON) holding a PEM CSR; accept a
    // bare PEM or base64 DER as well.
    let raw = if text.starts_with("-----BEGIN") {
        text.as_bytes().to_vec()
    } else {
        STANDARD
            .decode(text)
            .map_err(|_| bad("certificateSigningRequest is neither PEM nor base64"))?
    };
    let der_bytes = if raw.starts_with(b"-----BEGIN") {
        let (label, d) = der::pem::decode_vec(&raw)
            .map_err(|e| bad(format!("certificateSigningRequest PEM: {e}")))?;
        if label != "CERTIFICATE REQUEST" && label != "NEW CERTIFICATE REQUEST" {
            return Err(bad(format!(
                "certificateSigningRequest PEM label is {label:?}, not CERTIFICATE REQUEST"
            )));
        }
        d
    } else {
        raw
    };
    let csr = CertReq::from_der(&der_bytes).map_err(|e| {
        bad(format!(
            "certificateSigningRequest is not a PKCS#10 CSR: {e}"
        ))
    })?;
    let key = ClientKey::from_spki(csr.info.public_key.clone())
        .map_err(|e| bad(format!("certificateSigningRequest key: {e}")))?;
    let info = csr
        .info
        .to_der()
        .map_err(|e| bad(format!("certificateSigningRequest: {e}")))?;
    let sig = csr
        .signature
        .as_bytes()
        .ok_or_else(|| bad("certificateSigningRequest signature has unused bits"))?;
    key.verify_with_alg(csr.algorithm.oid, &info, sig)
        .map_err(|e| {
            bad(format!(
                "the CSR's self-signature (proof of possession): {e}"
            ))
        })?;
    Ok(key)
}

/// The SAN and Fulcio extensions a token's claims produce.
fn leaf_request(
    claims: &Map<String, Value>,
    issuer: &str,
    key: ClientKey,
) -> Result<LeafRequest, (u16, String)> {
    let claim = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let mut exts: Vec<(u32, String)> = vec![(1, issuer.to_string())];
    let san = if let Some(job_workflow_ref) = claim("job_workflow_ref") {
        // Fulcio's github-workflow issuer type
        // (https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md).
        let gh = |path: String| format!("https://github.com/{path}");
        let mut push = |n: u32, v: Option<String>| {
            if let Some(v) = v {
                exts.push((n, v));
            }
        };
        push(2, claim("event_name"));
        push(3, claim("sha"));
        push(4, claim("workflow"));
        push(5, claim("repository"));
        push(6, claim("ref"));
        push(8, Some(issuer.to_string()));
        push(9, Some(gh(job_workflow_ref.clone())));
        push(10, claim("job_workflow_sha"));
        push(11, claim("runner_environment"));
        push(12, claim("repository").map(gh));
        push(13, claim("sha"));
        push(14, claim("ref"));
        push(15, claim("repository_id"));
        push(16, claim("repository_owner").map(gh));
        push(17, claim("repository_owner_id"));
        push(18, claim("workflow_ref").map(gh));
        push(19, claim("workflow_sha"));
        push(20, claim("event_name"));
        push(
            21,
            claim("repository").zip(claim("run_id")).map(|(repo, run)| {
                let attempt = claim("run_attempt").unwrap_or_else(|| "1".into());
                gh(format!("{repo}/actions/runs/{run}/attempts/{attempt}"))
            }),
        );
        push(22, claim("repository_visibility"));
        San::Uri(oidc::identity_for(&job_workflow_ref))
    } else if let Some(email) = claim("email") {
        if claims.get("email_verified").and_then(Value::as_bool) != Some(true) {
            return Err(bad("the token's email is not verified (email_verified)"));
        }
        exts.push((8, issuer.to_string()));
        San::Email(email)
    } else {
        return Err(bad(
            "the token has neither a job_workflow_ref claim (GitHub Actions) nor an email claim",
        ));
    };
    Ok(LeafRequest {
        spki: key.spki,
        san,
        fulcio_extensions: exts,
    })
}
