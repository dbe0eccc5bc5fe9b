//! The files clients read: a Sigstore `TrustedRoot`, a `ClientTrustConfig`
//! (trusted root + `SigningConfig` v0.2 naming the testbed's services), and
//! a shell-sourceable `env` with the GitHub Actions token variables.
//!
//! Shapes follow sigstore/protobuf-specs (`dev.sigstore.trustroot.v1`), as
//! public-good's `trusted_root.json` and `signing_config.v0.2.json` spell
//! them: proto3 JSON, camelCase, bytes as standard base64.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};

use crate::certs::Ca;
use crate::crypto::EcKey;
use crate::Urls;

pub(crate) const TRUSTED_ROOT_MEDIA_TYPE: &str =
    "application/vnd.dev.sigstore.trustedroot+json;version=0.1";
pub(crate) const SIGNING_CONFIG_MEDIA_TYPE: &str =
    "application/vnd.dev.sigstore.signingconfig.v0.2+json";
pub(crate) const TRUST_CONFIG_MEDIA_TYPE: &str =
    "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json";

/// The operator name in the signing config (clients pick one service per
/// operator).
const OPERATOR: &str = "wharf-testbed";

fn public_key(key: &EcKey, start: &str) -> Value {
    json!({
        "rawBytes": STANDARD.encode(key.spki_der()),
        "keyDetails": "PKIX_ECDSA_P256_SHA_256",
        "validFor": {"start": start},
    })
}

fn chain(certs: &[&Ca]) -> Value {
    json!({"certificates": certs
        .iter()
        .map(|c| json!({"rawBytes": STANDARD.encode(&c.der)}))
        .collect::<Vec<_>>()})
}

pub(crate) struct RootParts<'a> {
    pub(crate) urls: &'a Urls,
    pub(crate) start: &'a str,
    pub(crate) rekor_key: &'a EcKey,
    pub(crate) ct_key: &'a EcKey,
    pub(crate) fulcio_chain: [&'a Ca; 2],
    pub(crate) tsa_chain: [&'a Ca; 2],
}

pub(crate) fn trusted_root(p: &RootParts<'_>) -> Value {
    json!({
        "mediaType": TRUSTED_ROOT_MEDIA_TYPE,
        "tlogs": [{
            "baseUrl": p.urls.rekor,
            "hashAlgorithm": "SHA2_256",
            "publicKey": public_key(p.rekor_key, p.start),
            "logId": {"keyId": STANDARD.encode(p.rekor_key.key_id())},
        }],
        "certificateAuthorities": [{
            "subject": {"organization": "wharf-testbed", "commonName": "wharf-testbed Fulcio"},
            "uri": p.urls.fulcio,
            "certChain": chain(&p.fulcio_chain),
            "validFor": {"start": p.start},
        }],
        "ctlogs": [{
            "baseUrl": format!("{}/ctlog", p.urls.fulcio),
            "hashAlgorithm": "SHA2_256",
            "publicKey": public_key(p.ct_key, p.start),
            "logId": {"keyId": STANDARD.encode(p.ct_key.key_id())},
        }],
        "timestampAuthorities": [{
            "subject": {"organization": "wharf-testbed", "commonName": "wharf-testbed TSA"},
            "uri": p.urls.tsa,
            "certChain": chain(&p.tsa_chain),
            "validFor": {"start": p.start},
        }],
    })
}

fn service(url: &str, start: &str) -> Value {
    json!({
        "url": url,
        "majorApiVersion": 1,
        "validFor": {"start": start},
        "operator": OPERATOR,
    })
}

pub(crate) fn signing_config(urls: &Urls, start: &str) -> Value {
    json!({
        "mediaType": SIGNING_CONFIG_MEDIA_TYPE,
        "caUrls": [service(&urls.fulcio, start)],
        "oidcUrls": [service(&urls.issuer, start)],
        "rekorTlogUrls": [service(&urls.rekor, start)],
        "tsaUrls": [service(&urls.tsa, start)],
        "rekorTlogConfig": {"selector": "ANY"},
        "tsaConfig": {"selector": "ANY"},
    })
}

pub(crate) fn trust_config(trusted_root: &Value, signing_config: &Value) -> Value {
    json!({
        "mediaType": TRUST_CONFIG_MEDIA_TYPE,
        "trustedRoot": trusted_root,
        "signingConfig": signing_config,
    })
}

/// `export NAME='value'` lines. Values are the testbed's own URLs and hex
/// tokens, never containing a quote.
pub(crate) fn env_file(vars: &[(String, String)]) -> String {
    vars.iter()
        .map(|(k, v)| format!("export {k}='{v}'\n"))
        .collect()
}
