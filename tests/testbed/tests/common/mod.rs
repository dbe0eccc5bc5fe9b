//! Helpers shared by the testbed's integration tests: a bare HTTP/1.1
//! client (the tests talk to the services the way any client would, with
//! nothing of the testbed's own code in between) and a hand-built keyless
//! signing flow producing a Sigstore bundle v0.3.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Encode, Sequence};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use wharf_testbed::Testbed;

pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {} body is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One request on a fresh connection (`Connection: close`).
pub fn request(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> HttpResponse {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let mut stream = TcpStream::connect(host).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    HttpResponse {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&data[..eol])
                .split(';')
                .next()
                .unwrap_or("0")
                .trim(),
            16,
        )
        .unwrap_or(0);
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[eol + 2..eol + 2 + size]);
        data = &data[eol + 2 + size + 2..];
    }
}

pub fn post_json(url: &str, body: &Value) -> HttpResponse {
    request(
        "POST",
        url,
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    )
}

pub fn get(url: &str) -> HttpResponse {
    request("GET", url, &[], b"")
}

/// An ephemeral signing key, as a keyless client makes one.
pub struct Key {
    pair: EcdsaKeyPair,
}

impl Key {
    pub fn generate() -> Key {
        Key {
            pair: EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).unwrap(),
        }
    }

    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        self.pair
            .sign(&SystemRandom::new(), msg)
            .unwrap()
            .as_ref()
            .to_vec()
    }

    pub fn public_pem(&self) -> String {
        let der_bytes = self.pair.public_key().as_der().unwrap();
        der::pem::encode_string("PUBLIC KEY", der::pem::LineEnding::LF, der_bytes.as_ref()).unwrap()
    }
}

pub fn b64(data: impl AsRef<[u8]>) -> String {
    STANDARD.encode(data)
}

pub fn unb64(s: &str) -> Vec<u8> {
    STANDARD.decode(s).expect("base64")
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// Fulcio's `publicKeyRequest` form, as sigstore-rust sends it: proof of
/// possession is a signature over the token's `sub`.
pub fn signing_cert_request(token: &str, key: &Key, proof_over: &str) -> Value {
    json!({
        "credentials": {"oidcIdentityToken": token},
        "publicKeyRequest": {
            "publicKey": {"algorithm": "", "content": key.public_pem()},
            "proofOfPossession": b64(key.sign(proof_over.as_bytes())),
        },
    })
}

pub const SUB: &str = "repo:wharf-test/app:ref:refs/heads/main";

/// Leaf, intermediate, root (PEM) from Fulcio.
pub fn fulcio_chain(testbed: &Testbed, key: &Key) -> Vec<String> {
    let resp = post_json(
        &format!("{}/api/v2/signingCert", testbed.urls().fulcio),
        &signing_cert_request(&testbed.oidc_token(), key, SUB),
    );
    // Real Fulcio's v2 API answers 200; sigstore-go refuses anything else.
    assert_eq!(resp.status, 200, "{}", resp.text());
    resp.json()["signedCertificateEmbeddedSct"]["chain"]["certificates"]
        .as_array()
        .expect("certificates")
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect()
}

pub fn pem_to_der(pem: &str) -> Vec<u8> {
    der::pem::decode_vec(pem.as_bytes()).unwrap().1
}

/// A hashedrekord proposed entry for `artifact`, signed by `key`, whose
/// verifier is `pem` (a certificate or a public key).
pub fn hashedrekord(artifact: &[u8], key: &Key, pem: &str) -> (Value, Vec<u8>) {
    let digest = sha256(artifact);
    let sig = key.sign(artifact);
    (
        json!({
            "apiVersion": "0.0.1",
            "kind": "hashedrekord",
            "spec": {
                "signature": {"content": b64(&sig), "publicKey": {"content": b64(pem)}},
                "data": {"hash": {"algorithm": "sha256", "value": hex::encode(digest)}},
            },
        }),
        sig,
    )
}

#[derive(Sequence)]
struct AlgorithmIdentifier {
    algorithm: ObjectIdentifier,
}

#[derive(Sequence)]
struct MessageImprint {
    hash_algorithm: AlgorithmIdentifier,
    hashed_message: OctetString,
}

#[derive(Sequence)]
struct TimeStampReq {
    version: u8,
    message_imprint: MessageImprint,
    nonce: u64,
    cert_req: bool,
}

/// A DER TimeStampReq over SHA-256(`message`).
pub fn timestamp_request(message: &[u8]) -> Vec<u8> {
    TimeStampReq {
        version: 1,
        message_imprint: MessageImprint {
            hash_algorithm: AlgorithmIdentifier {
                algorithm: ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1"),
            },
            hashed_message: OctetString::new(sha256(message).to_vec()).unwrap(),
        },
        nonce: 0x1234_5678_9abc,
        cert_req: true,
    }
    .to_der()
    .unwrap()
}

/// The single `{uuid: entry}` of a Rekor answer.
pub fn single_entry(v: &Value) -> (String, Value) {
    let obj = v.as_object().expect("object");
    assert_eq!(obj.len(), 1, "{v}");
    let (k, e) = obj.iter().next().unwrap();
    (k.clone(), e.clone())
}

/// A Rekor v1 entry as a bundle's `TransparencyLogEntry`.
pub fn tlog_entry(entry: &Value) -> Value {
    let body: Value = serde_json::from_slice(&unb64(entry["body"].as_str().unwrap())).unwrap();
    let proof = &entry["verification"]["inclusionProof"];
    let hex_to_b64 = |h: &Value| b64(hex::decode(h.as_str().unwrap()).unwrap());
    json!({
        "logIndex": entry["logIndex"].to_string(),
        "logId": {"keyId": hex_to_b64(&entry["logID"])},
        "kindVersion": {"kind": body["kind"], "version": body["apiVersion"]},
        "integratedTime": entry["integratedTime"].to_string(),
        "inclusionPromise": {"signedEntryTimestamp": entry["verification"]["signedEntryTimestamp"]},
        "inclusionProof": {
            "logIndex": proof["logIndex"].to_string(),
            "rootHash": hex_to_b64(&proof["rootHash"]),
            "treeSize": proof["treeSize"].to_string(),
            "hashes": proof["hashes"].as_array().unwrap().iter().map(hex_to_b64).collect::<Vec<_>>(),
            "checkpoint": {"envelope": proof["checkpoint"]},
        },
        "canonicalizedBody": entry["body"],
    })
}

/// Sign `artifact` keylessly through the testbed, by hand: a certificate
/// from Fulcio (public key + proof of possession), a timestamp over the
/// signature, a hashedrekord entry; assembled into a bundle v0.3.
pub fn keyless_bundle(testbed: &Testbed, artifact: &[u8]) -> Value {
    let key = Key::generate();
    let chain = fulcio_chain(testbed, &key);
    let (entry, sig) = hashedrekord(artifact, &key, &chain[0]);

    let tsr = request(
        "POST",
        &testbed.urls().tsa,
        &[("Content-Type", "application/timestamp-query")],
        &timestamp_request(&sig),
    );
    assert_eq!(tsr.status, 200, "{}", tsr.text());
    assert_eq!(
        tsr.header("content-type"),
        Some("application/timestamp-reply")
    );

    let resp = post_json(
        &format!("{}/api/v1/log/entries", testbed.urls().rekor),
        &entry,
    );
    assert_eq!(resp.status, 201, "{}", resp.text());
    let (_, logged) = single_entry(&resp.json());

    json!({
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {
            "certificate": {"rawBytes": b64(pem_to_der(&chain[0]))},
            "tlogEntries": [tlog_entry(&logged)],
            "timestampVerificationData": {"rfc3161Timestamps": [{"signedTimestamp": b64(&tsr.body)}]},
        },
        "messageSignature": {
            "messageDigest": {"algorithm": "SHA2_256", "digest": b64(sha256(artifact))},
            "signature": b64(&sig),
        },
    })
}

/// The sigstore-python CLI: `$WHARF_SIGSTORE_PYTHON`, else `sigstore` on
/// PATH, else `None` (the caller skips, saying why).
pub fn sigstore_python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("WHARF_SIGSTORE_PYTHON") {
        // Set on purpose (CI): a wrong path must fail, not skip the proof.
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "WHARF_SIGSTORE_PYTHON={} is not a file",
            p.display()
        );
        return Some(p);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("sigstore"))
            .find(|p| p.is_file())
    })
}

pub fn skip(reason: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "SKIPPED: {reason}");
}
