//! Rekor v1: a transparency log of `hashedrekord` and `dsse` (0.0.1)
//! entries in an RFC 6962 Merkle tree.
//!
//! Answers are shaped exactly as Rekor's: `{entryID: {body, integratedTime,
//! logID, logIndex, verification: {inclusionProof, signedEntryTimestamp}}}`,
//! where `body` is the base64 of the entry's canonical (RFC 8785) JSON — the
//! same canonicalisation Rekor applies (key re-encoded as PEM, DSSE
//! envelope replaced by its hashes) — the SET signs the canonical JSON of
//! `{body, integratedTime, logID, logIndex}`, and the checkpoint is a signed
//! note whose key hint is the first 4 bytes of the log ID.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::Engine;
use serde_json::{json, Value};

use crate::crypto::{self, ClientKey, EcKey, HashAlg};
use crate::http::{Request, Response};
use crate::merkle::{self, Hash};
use crate::oidc::now_secs;

/// The note signer's name, and the host part of the checkpoint origin.
pub(crate) const LOG_NAME: &str = "rekor.wharf-testbed.local";

pub(crate) struct Rekor {
    pub(crate) key: EcKey,
    tree_id: u64,
    log: Mutex<Log>,
}

impl std::fmt::Debug for Rekor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rekor")
            .field("tree_id", &self.tree_id)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Log {
    entries: Vec<Entry>,
    leaves: Vec<Hash>,
    by_uuid: HashMap<String, usize>,
    /// Search index: `sha256:<hex>` (artifact digest, DSSE payload and
    /// envelope hashes, in-toto subjects) → entries.
    by_hash: HashMap<String, Vec<usize>>,
}

struct Entry {
    body: Vec<u8>,
    integrated_time: i64,
    uuid: String,
    set: Vec<u8>,
}

type Failure = (u16, String);

fn bad(message: impl Into<String>) -> Failure {
    (400, message.into())
}

impl Rekor {
    pub(crate) fn new() -> Result<Self, String> {
        let key = EcKey::generate()?;
        let id = crypto::random_bytes::<8>()?;
        // Trillian tree IDs are positive int64s.
        let tree_id = u64::from_be_bytes(id) & (i64::MAX as u64);
        Ok(Rekor {
            key,
            tree_id,
            log: Mutex::new(Log::default()),
        })
    }

    pub(crate) fn log_id(&self) -> String {
        hex::encode(self.key.key_id())
    }

    fn entry_id(&self, uuid: &str) -> String {
        format!("{:016x}{uuid}", self.tree_id)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Log> {
        // A poisoned lock only means a handler panicked mid-request; the
        // log itself is only mutated by a push at the very end.
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn size(&self) -> usize {
        self.lock().entries.len()
    }

    pub(crate) fn handle(&self, req: &Request) -> Response {
        let path = req.path.trim_end_matches('/');
        match (req.method.as_str(), path) {
            ("POST", "/api/v1/log/entries") => self.create(req),
            ("GET", "/api/v1/log/entries") => match req.query_param("logIndex") {
                Some(i) => match i.parse::<usize>() {
                    Ok(i) => self.get_by_index(i),
                    Err(_) => Response::error(400, "logIndex must be a non-negative integer"),
                },
                None => Response::error(400, "GET /api/v1/log/entries needs ?logIndex=N"),
            },
            ("POST", "/api/v1/log/entries/retrieve") => self.retrieve(req),
            ("GET", "/api/v1/log") => self.log_info(),
            ("GET", "/api/v1/log/publicKey") => Response::bytes(
                200,
                "application/x-pem-file",
                self.key.public_pem().into_bytes(),
            ),
            ("POST", "/api/v1/index/retrieve") => self.search(req),
            ("GET", p) if p.starts_with("/api/v1/log/entries/") => {
                self.get_by_uuid(&p["/api/v1/log/entries/".len()..])
            }
            _ => Response::error(404, "no such endpoint on Rekor"),
        }
    }

    fn create(&self, req: &Request) -> Response {
        let proposed: Value = match serde_json::from_slice(&req.body) {
            Ok(v) => v,
            Err(e) => return Response::error(400, &format!("request body is not JSON: {e}")),
        };
        let (body, keys) = match canonicalize(&proposed) {
            Ok(x) => x,
            Err((status, message)) => return Response::error(status, &message),
        };
        let canonical = match serde_json_canonicalizer::to_vec(&body) {
            Ok(c) => c,
            Err(e) => return Response::error(500, &format!("canonicalizing: {e}")),
        };
        let leaf = merkle::leaf_hash(&canonical);
        let uuid = hex::encode(leaf);
        let mut log = self.lock();
        if let Some(&i) = log.by_uuid.get(&uuid) {
            let id = self.entry_id(&log.entries[i].uuid);
            return Response::error(
                409,
                &format!(
                    "an equivalent entry already exists in the transparency log with UUID {id}"
                ),
            )
            .with_header("location", format!("/api/v1/log/entries/{id}"))
            .with_header("etag", id);
        }
        let index = log.entries.len();
        let integrated_time = now_secs();
        let set = match self.sign_set(&canonical, integrated_time, index) {
            Ok(s) => s,
            Err(e) => return Response::error(500, &e),
        };
        log.entries.push(Entry {
            body: canonical,
            integrated_time,
            uuid: uuid.clone(),
            set,
        });
        log.leaves.push(leaf);
        log.by_uuid.insert(uuid.clone(), index);
        for k in keys {
            log.by_hash.entry(k).or_default().push(index);
        }
        let id = self.entry_id(&uuid);
        match self.render(&log, index) {
            Ok(v) => Response::json(201, &v)
                .with_header("location", format!("/api/v1/log/entries/{id}"))
                .with_header("etag", id),
            Err(e) => Response::error(500, &e),
        }
    }

    fn sign_set(&self, body: &[u8], integrated_time: i64, index: usize) -> Result<Vec<u8>, String> {
        let payload = json!({
            "body": STANDARD.encode(body),
            "integratedTime": integrated_time,
            "logID": self.log_id(),
            "logIndex": index,
        });
        let canonical = serde_json_canonicalizer::to_vec(&payload).map_err(|e| e.to_string())?;
        self.key.sign(&canonical)
    }

    /// The signed checkpoint (a signed note) for the tree's current state.
    fn checkpoint(&self, size: usize, root: &Hash) -> Result<String, String> {
        let note = format!(
            "{LOG_NAME} - {}\n{size}\n{}\n",
            self.tree_id,
            STANDARD.encode(root)
        );
        let sig = self.key.sign(note.as_bytes())?;
        let mut hinted = self.key.key_id()[..4].to_vec();
        hinted.extend_from_slice(&sig);
        Ok(format!(
            "{note}\n\u{2014} {LOG_NAME} {}\n",
            STANDARD.encode(hinted)
        ))
    }

    /// `{entryID: entry}` for entry `index`, proven against the current tree.
    fn render(&self, log: &Log, index: usize) -> Result<Value, String> {
        let e = log
            .entries
            .get(index)
            .ok_or_else(|| format!("no entry {index}"))?;
        let size = log.leaves.len();
        let root = merkle::root(&log.leaves);
        let proof: Vec<String> = merkle::inclusion_proof(index, &log.leaves)
            .iter()
            .map(hex::encode)
            .collect();
        let mut out = serde_json::Map::new();
        out.insert(
            self.entry_id(&e.uuid),
            json!({
                "body": STANDARD.encode(&e.body),
                "integratedTime": e.integrated_time,
                "logID": self.log_id(),
                "logIndex": index,
                "verification": {
                    "inclusionProof": {
                        "checkpoint": self.checkpoint(size, &root)?,
                        "hashes": proof,
                        "logIndex": index,
                        "rootHash": hex::encode(root),
                        "treeSize": size,
                    },
                    "signedEntryTimestamp": STANDARD.encode(&e.set),
                },
            }),
        );
        Ok(Value::Object(out))
    }

    fn get_by_index(&self, index: usize) -> Response {
        let log = self.lock();
        if index >= log.entries.len() {
            return Response::error(404, &format!("no entry at logIndex {index}"));
        }
        match self.render(&log, index) {
            Ok(v) => Response::json(200, &v),
            Err(e) => Response::error(500, &e),
        }
    }

    /// Accepts the 64-hex UUID or the 80-hex entry ID (tree ID + UUID).
    fn find_uuid(&self, log: &Log, id: &str) -> Option<usize> {
        if !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let id = id.to_ascii_lowercase();
        let uuid = match id.len() {
            64 => id.as_str(),
            80 if id[..16] == format!("{:016x}", self.tree_id) => &id[16..],
            _ => return None,
        };
        log.by_uuid.get(uuid).copied()
    }

    fn get_by_uuid(&self, id: &str) -> Response {
        let log = self.lock();
        match self.find_uuid(&log, id) {
            Some(i) => match self.render(&log, i) {
                Ok(v) => Response::json(200, &v),
                Err(e) => Response::error(500, &e),
            },
            None => Response::error(404, &format!("no entry with UUID {id}")),
        }
    }

    fn retrieve(&self, req: &Request) -> Response {
        let q: Value = match serde_json::from_slice(&req.body) {
            Ok(v) => v,
            Err(e) => return Response::error(400, &format!("request body is not JSON: {e}")),
        };
        let log = self.lock();
        let mut found = Vec::new();
        for id in q
            .get("entryUUIDs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            found.extend(self.find_uuid(&log, id));
        }
        for i in q
            .get("logIndexes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_u64)
        {
            found.extend(usize::try_from(i).ok().filter(|&i| i < log.entries.len()));
        }
        let mut out = Vec::new();
        for i in found {
            match self.render(&log, i) {
                Ok(v) => out.push(v),
                Err(e) => return Response::error(500, &e),
            }
        }
        Response::json(200, &Value::Array(out))
    }

    fn search(&self, req: &Request) -> Response {
        let q: Value = match serde_json::from_slice(&req.body) {
            Ok(v) => v,
            Err(e) => return Response::error(400, &format!("request body is not JSON: {e}")),
        };
        let Some(hash) = q.get("hash").and_then(Value::as_str) else {
            return Response::error(
                400,
                "the testbed searches by {\"hash\": \"sha256:<hex>\"} only",
            );
        };
        let key = if hash.contains(':') {
            hash.to_ascii_lowercase()
        } else {
            format!("sha256:{}", hash.to_ascii_lowercase())
        };
        let log = self.lock();
        let ids: Vec<String> = log
            .by_hash
            .get(&key)
            .into_iter()
            .flatten()
            .filter_map(|&i| log.entries.get(i))
            .map(|e| self.entry_id(&e.uuid))
            .collect();
        Response::json(200, &json!(ids))
    }

    fn log_info(&self) -> Response {
        let log = self.lock();
        let root = merkle::root(&log.leaves);
        match self.checkpoint(log.leaves.len(), &root) {
            Ok(c) => Response::json(
                200,
                &json!({
                    "rootHash": hex::encode(root),
                    "treeSize": log.leaves.len(),
                    "signedTreeHead": c,
                    "treeID": self.tree_id.to_string(),
                    "inactiveShards": [],
                }),
            ),
            Err(e) => Response::error(500, &e),
        }
    }
}

/// Verify a proposed entry and build the body Rekor would store, with the
/// search keys it indexes.
fn canonicalize(proposed: &Value) -> Result<(Value, Vec<String>), Failure> {
    let kind = proposed.get("kind").and_then(Value::as_str).unwrap_or("");
    let version = proposed
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    let spec = proposed
        .get("spec")
        .ok_or_else(|| bad("the entry has no spec"))?;
    match (kind, version) {
        ("hashedrekord", "0.0.1") => hashedrekord(spec),
        ("dsse", "0.0.1") => dsse(spec),
        (k, v) => Err(bad(format!(
            "unsupported entry kind {k:?} version {v:?}: the testbed logs hashedrekord 0.0.1 and dsse 0.0.1"
        ))),
    }
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Result<&'a str, Failure> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .ok_or_else(|| bad(format!("spec{pointer} is missing or not a string")))
}

fn b64(s: &str, what: &str) -> Result<Vec<u8>, Failure> {
    STANDARD
        .decode(s.trim())
        .or_else(|_| URL_SAFE.decode(s.trim()))
        .map_err(|_| bad(format!("{what} is not base64")))
}

/// A key or certificate sent as base64 of its PEM.
fn verifier(b64_pem: &str, what: &str) -> Result<(ClientKey, String), Failure> {
    let pem = b64(b64_pem, what)?;
    let (key, kind) = ClientKey::from_pem(&pem).map_err(|e| bad(format!("{what}: {e}")))?;
    Ok((key, STANDARD.encode(kind.canonical_pem())))
}

fn hashedrekord(spec: &Value) -> Result<(Value, Vec<String>), Failure> {
    let sig = b64(str_at(spec, "/signature/content")?, "signature.content")?;
    let (key, pem_b64) = verifier(
        str_at(spec, "/signature/publicKey/content")?,
        "signature.publicKey.content",
    )?;
    let alg_name = str_at(spec, "/data/hash/algorithm")?;
    let alg = HashAlg::from_name(alg_name).ok_or_else(|| {
        bad(format!(
            "data.hash.algorithm {alg_name:?} is not sha256/384/512"
        ))
    })?;
    let value = str_at(spec, "/data/hash/value")?;
    let digest = hex::decode(value)
        .ok()
        .filter(|d| d.len() == alg.len() && value.bytes().all(|b| !b.is_ascii_uppercase()))
        .ok_or_else(|| {
            bad(format!(
                "data.hash.value must be {} lowercase hex digits",
                alg.len() * 2
            ))
        })?;
    key.verify_prehashed(alg, &digest, &sig)
        .map_err(|e| bad(format!("verifying the signature with the public key: {e}")))?;
    let body = json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": alg.name(), "value": value}},
            "signature": {"content": STANDARD.encode(&sig), "publicKey": {"content": pem_b64}},
        },
    });
    Ok((body, vec![format!("{}:{value}", alg.name())]))
}

/// DSSE pre-authentication encoding.
fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

fn dsse(spec: &Value) -> Result<(Value, Vec<String>), Failure> {
    if spec.get("proposedContent").is_none() {
        return Err(bad(
            "dsse entries need spec.proposedContent {envelope, verifiers}",
        ));
    }
    let envelope_text = str_at(spec, "/proposedContent/envelope")?;
    let envelope: Value = serde_json::from_str(envelope_text)
        .map_err(|e| bad(format!("proposedContent.envelope is not JSON: {e}")))?;
    let verifiers = spec
        .pointer("/proposedContent/verifiers")
        .and_then(Value::as_array)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| bad("proposedContent.verifiers must be a non-empty list"))?
        .iter()
        .map(|v| {
            v.as_str()
                .ok_or_else(|| bad("proposedContent.verifiers holds a non-string"))
                .and_then(|s| verifier(s, "proposedContent.verifiers[]"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let payload_type = envelope
        .get("payloadType")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("the envelope has no payloadType"))?;
    let payload = b64(
        envelope
            .get("payload")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("the envelope has no payload"))?,
        "the envelope's payload",
    )?;
    let signed = pae(payload_type, &payload);
    let sigs = envelope
        .get("signatures")
        .and_then(Value::as_array)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad("the envelope has no signatures"))?;
    let mut entries = Vec::new();
    for s in sigs {
        let sig_text = s
            .get("sig")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("an envelope signature has no sig"))?;
        let sig = b64(sig_text, "an envelope signature")?;
        let (_, pem_b64) = verifiers
            .iter()
            .find(|(k, _)| k.verify(&signed, &sig))
            .ok_or_else(|| {
                bad("an envelope signature does not verify with any of the verifiers")
            })?;
        entries.push((sig_text.to_string(), pem_b64.clone()));
    }
    entries.sort();
    let payload_hash = hex::encode(crypto::sha256(&payload));
    let envelope_hash = hex::encode(crypto::sha256(envelope_text.as_bytes()));
    let mut keys = vec![
        format!("sha256:{payload_hash}"),
        format!("sha256:{envelope_hash}"),
    ];
    if payload_type == "application/vnd.in-toto+json" {
        if let Ok(statement) = serde_json::from_slice::<Value>(&payload) {
            for subject in statement
                .get("subject")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(digests) = subject.get("digest").and_then(Value::as_object) {
                    for (alg, d) in digests {
                        if let Some(d) = d.as_str() {
                            keys.push(format!("{alg}:{d}").to_ascii_lowercase());
                        }
                    }
                }
            }
        }
    }
    let body = json!({
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            "envelopeHash": {"algorithm": "sha256", "value": envelope_hash},
            "payloadHash": {"algorithm": "sha256", "value": payload_hash},
            "signatures": entries
                .iter()
                .map(|(sig, verifier)| json!({"signature": sig, "verifier": verifier}))
                .collect::<Vec<_>>(),
        },
    });
    Ok((body, keys))
}
