//! OCI image-spec documents wharf writes and reads: descriptors, image
//! manifests, image indexes. Fields wharf does not know are kept (`extra`),
//! so rewriting an index another tool wrote loses nothing of it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// The empty JSON object `{}`, the config of artifacts that have none.
pub const EMPTY_JSON: &[u8] = b"{}";
pub const EMPTY_JSON_DIGEST: &str =
    "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Descriptor {
    pub fn new(media_type: &str, digest: &str, size: u64) -> Descriptor {
        Descriptor {
            media_type: media_type.to_string(),
            digest: digest.to_string(),
            size,
            artifact_type: None,
            annotations: BTreeMap::new(),
            extra: serde_json::Map::new(),
        }
    }

    /// The descriptor of the empty config `{}`.
    pub fn empty_config() -> Descriptor {
        Descriptor::new(OCI_EMPTY, EMPTY_JSON_DIGEST, EMPTY_JSON.len() as u64)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    pub config: Descriptor,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Index {
    pub fn empty() -> Index {
        Index {
            schema_version: 2,
            media_type: Some(OCI_INDEX.to_string()),
            manifests: Vec::new(),
            annotations: BTreeMap::new(),
            extra: serde_json::Map::new(),
        }
    }

    /// Lists `descriptor` unless its digest is listed already; whether it
    /// was added.
    pub fn add(&mut self, descriptor: &Descriptor) -> bool {
        if self.manifests.iter().any(|d| d.digest == descriptor.digest) {
            return false;
        }
        self.manifests.push(descriptor.clone());
        true
    }
}

/// `sha256:HEX` of `bytes`.
pub fn sha256_hex_digest(bytes: &[u8]) -> String {
    super::client::sha256_digest(bytes)
}

/// The tag of the referrers fallback index for `subject` (`sha256:HEX` →
/// `sha256-HEX`), per the OCI distribution spec 1.1.
pub fn fallback_tag(subject: &str) -> String {
    subject.replacen(':', "-", 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_survive_a_round_trip() {
        let text = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"m","digest":"sha256:a","size":3,"platform":{"os":"linux","architecture":"amd64"},"artifactType":"t","annotations":{"k":"v"}}],"x-other":1}"#;
        let index: Index = serde_json::from_str(text).unwrap();
        let again: serde_json::Value = serde_json::to_value(&index).unwrap();
        let original: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(again, original);
    }

    #[test]
    fn empty_json_digest_is_right() {
        assert_eq!(
            crate::registry::client::sha256_digest(EMPTY_JSON),
            EMPTY_JSON_DIGEST
        );
        assert_eq!(fallback_tag("sha256:abc"), "sha256-abc");
    }
}
