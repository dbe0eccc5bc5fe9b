//! OCI image layout directories: `oci:DIR[:TAG|@sha256:HEX]`, the offline
//! stand-in for a registry. A tag is the `org.opencontainers.image.ref.name`
//! annotation of an `index.json` entry. Every blob read is digest-checked.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::client::{
    select_platform, sha256_digest, IndexEntry, Platform, RegistryError, Resolved,
};
use crate::reference::check_digest;

pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// Manifests and indexes read from a layout are small documents.
const DOC_MAX: u64 = 4 << 20;

/// `oci:DIR[:TAG|@DIGEST]`, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoutRef {
    pub dir: PathBuf,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl LayoutRef {
    /// `oci:DIR`: the layout without tag or digest.
    pub fn name(&self) -> String {
        format!("oci:{}", self.dir.display())
    }

    /// Parses the text after `oci:`. The tag is what follows the last ':'
    /// when that part has no '/', so `oci:./out:v1` is DIR `./out`, TAG `v1`.
    pub fn parse(text: &str) -> Result<LayoutRef, RegistryError> {
        let fail = |detail: &str| RegistryError::Layout {
            path: format!("oci:{text}"),
            detail: detail.to_string(),
        };
        let (rest, digest) = match text.rsplit_once('@') {
            Some((dir, digest)) => {
                check_digest(digest).map_err(|e| fail(&e))?;
                (dir, Some(digest.to_string()))
            }
            None => (text, None),
        };
        let (dir, tag) = match rest.rsplit_once(':') {
            Some((dir, tag)) if !tag.contains('/') && !dir.is_empty() => {
                (dir, Some(tag.to_string()))
            }
            _ => (rest, None),
        };
        if dir.is_empty() {
            return Err(fail("no directory: write oci:DIR[:TAG]"));
        }
        Ok(LayoutRef {
            dir: PathBuf::from(dir),
            tag,
            digest,
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Index {
    #[serde(default)]
    manifests: Vec<LayoutEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LayoutEntry {
    #[serde(default)]
    media_type: String,
    digest: String,
    /// Set on referrers (signatures, attestations) listed beside the
    /// images; they are never what `oci:DIR` names.
    #[serde(default)]
    artifact_type: Option<String>,
    #[serde(default)]
    annotations: std::collections::BTreeMap<String, String>,
}

impl Index {
    /// The images, without the referrers listed beside them.
    fn images(&self) -> Vec<&LayoutEntry> {
        self.manifests
            .iter()
            .filter(|m| m.artifact_type.is_none())
            .collect()
    }
}

/// Resolves a layout reference to the digest of what it names: the index
/// entry's digest, or with `platform` that platform's manifest in it.
pub fn resolve(r: &LayoutRef, platform: Option<&Platform>) -> Result<Resolved, RegistryError> {
    let path = r.dir.display().to_string();
    let fail = |detail: String| RegistryError::Layout {
        path: path.clone(),
        detail,
    };
    let layout_marker = r.dir.join("oci-layout");
    if !layout_marker.is_file() {
        return Err(fail(
            "not an OCI image layout (no oci-layout file); write one with `skopeo copy … oci:DIR` or `umoci init`"
                .into(),
        ));
    }
    let index_bytes = read_limited(&r.dir.join("index.json")).map_err(fail)?;
    let index: Index = serde_json::from_slice(&index_bytes)
        .map_err(|e| fail(format!("index.json is not an OCI index: {e}")))?;

    let entry = match (&r.digest, &r.tag) {
        (Some(digest), _) => {
            let found = index.manifests.iter().find(|m| &m.digest == digest);
            match found {
                Some(e) => LayoutEntry {
                    media_type: e.media_type.clone(),
                    digest: e.digest.clone(),
                    artifact_type: None,
                    annotations: Default::default(),
                },
                // A digest need not be listed in index.json, only present as a blob.
                None => LayoutEntry {
                    media_type: String::new(),
                    digest: digest.clone(),
                    artifact_type: None,
                    annotations: Default::default(),
                },
            }
        }
        (None, Some(tag)) => {
            let images = index.images();
            let first = images
                .iter()
                .find(|m| m.annotations.get(REF_NAME) == Some(tag))
                .ok_or_else(|| fail(format!("no image tagged {tag:?}; it has {}", tags(&index))))?;
            LayoutEntry {
                media_type: first.media_type.clone(),
                digest: first.digest.clone(),
                artifact_type: None,
                annotations: Default::default(),
            }
        }
        (None, None) => match index.images().as_slice() {
            [only] => LayoutEntry {
                media_type: only.media_type.clone(),
                digest: only.digest.clone(),
                artifact_type: None,
                annotations: Default::default(),
            },
            [] => return Err(fail("index.json lists no images".into())),
            _ => {
                return Err(fail(format!(
                    "it holds several images; name one with oci:DIR:TAG ({})",
                    tags(&index)
                )))
            }
        },
    };

    check_digest(&entry.digest).map_err(|e| fail(format!("index.json: {e}")))?;
    let bytes = read_blob(&r.dir, &entry.digest).map_err(fail)?;
    let doc: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| fail(format!("blob {} is not JSON: {e}", entry.digest)))?;
    let media_type = doc
        .get("mediaType")
        .and_then(|m| m.as_str())
        .map(str::to_string)
        .filter(|m| !m.is_empty())
        .unwrap_or(entry.media_type);
    let resolved = Resolved {
        digest: entry.digest,
        media_type,
    };
    let Some(platform) = platform else {
        return Ok(resolved);
    };
    if !resolved.is_index() && doc.get("manifests").is_none() {
        return Ok(resolved);
    }
    let entries: Vec<IndexEntry> =
        serde_json::from_value(doc.get("manifests").cloned().unwrap_or_default())
            .map_err(|e| fail(format!("index {} is malformed: {e}", resolved.digest)))?;
    let chosen = select_platform(&entries, platform).map_err(fail)?;
    check_digest(&chosen.digest).map_err(|e| fail(format!("index {}: {e}", resolved.digest)))?;
    // The chosen manifest must be present and intact too.
    read_blob(&r.dir, &chosen.digest).map_err(fail)?;
    Ok(Resolved {
        digest: chosen.digest.clone(),
        media_type: chosen.media_type.clone(),
    })
}

fn tags(index: &Index) -> String {
    let names: Vec<&str> = index
        .images()
        .into_iter()
        .filter_map(|m| m.annotations.get(REF_NAME))
        .map(String::as_str)
        .collect();
    if names.is_empty() {
        "no tags".into()
    } else {
        format!("tags {}", names.join(", "))
    }
}

/// Reads a blob (a document: at most 4 MiB) and checks it hashes to its name.
pub fn read_blob(dir: &Path, digest: &str) -> Result<Vec<u8>, String> {
    read_blob_max(dir, digest, DOC_MAX)
}

/// Reads a blob of at most `max` bytes and checks it hashes to its name.
pub fn read_blob_max(dir: &Path, digest: &str, max: u64) -> Result<Vec<u8>, String> {
    let (algorithm, hex) = digest
        .split_once(':')
        .ok_or_else(|| format!("{digest:?} is not a digest"))?;
    if algorithm != "sha256" {
        return Err(format!("blob {digest}: only sha256 blobs are supported"));
    }
    let path = dir.join("blobs").join(algorithm).join(hex);
    let bytes = read_limited_to(&path, max)?;
    let actual = sha256_digest(&bytes);
    if actual != digest {
        return Err(format!(
            "blob {digest} is corrupt: its bytes hash to {actual}"
        ));
    }
    Ok(bytes)
}

/// Writes a blob (unless an intact copy is there already); its digest.
pub fn write_blob(dir: &Path, bytes: &[u8]) -> Result<String, String> {
    let digest = sha256_digest(bytes);
    let blobs = dir.join("blobs").join("sha256");
    let path = blobs.join(digest.trim_start_matches("sha256:"));
    if read_blob_max(dir, &digest, bytes.len() as u64).is_ok() {
        return Ok(digest);
    }
    std::fs::create_dir_all(&blobs)
        .map_err(|e| format!("cannot create {}: {e}", blobs.display()))?;
    crate::fsutil::write_file(&path, bytes)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(digest)
}

/// Lists `descriptor` in the layout's `index.json` (once), keeping every
/// entry and field already there; the file is replaced atomically. Writers
/// are serialised by an exclusive lock on the layout's `oci-layout` file
/// (never replaced, unlike `index.json`), so two signers of one layout at
/// once both keep their entries. Tools that do not take the lock (umoci,
/// skopeo) are not held off.
pub fn add_to_index(dir: &Path, descriptor: &super::oci::Descriptor) -> Result<(), String> {
    let lock_path = dir.join("oci-layout");
    let _lock = crate::fsutil::lock(&lock_path, false, "the layout")
        .map_err(|e| format!("{}: {e}", lock_path.display()))?;
    let path = dir.join("index.json");
    let mut index = read_index(&path)?;
    if !index.add(descriptor) {
        return Ok(());
    }
    let mut text = serde_json::to_vec(&index)
        .map_err(|e| format!("cannot serialise {}: {e}", path.display()))?;
    text.push(b'\n');
    crate::fsutil::write_atomic(&path, &text)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// A layout's `index.json`, every field kept (for rewriting it).
fn read_index(path: &Path) -> Result<super::oci::Index, String> {
    let bytes = read_limited(path)?;
    serde_json::from_slice(&bytes)
        .map_err(|e| format!("{} is not an OCI index: {e}", path.display()))
}

/// The `index.json` entries whose manifest names `subject` as its subject:
/// the layout's referrers of it. Entries whose manifest is missing or not
/// a manifest are passed over.
pub fn referrers(dir: &Path, subject: &str) -> Result<Vec<super::oci::Descriptor>, String> {
    let index = read_index(&dir.join("index.json"))?;
    let mut found = Vec::new();
    for entry in index.manifests {
        if entry.digest == subject || check_digest(&entry.digest).is_err() {
            continue;
        }
        let Ok(blob) = read_blob(dir, &entry.digest) else {
            continue;
        };
        let Ok(manifest) = serde_json::from_slice::<super::oci::Manifest>(&blob) else {
            continue;
        };
        if manifest
            .subject
            .as_ref()
            .is_some_and(|s| s.digest == subject)
        {
            found.push(entry);
        }
    }
    Ok(found)
}

/// Copies the layout at `src` to `dst` (blobs hard-linked where the file
/// system allows: they are content-addressed and never written in place),
/// replacing a layout already at `dst`. The copy is assembled beside `dst`
/// and renamed into place, so `dst` is never half a layout.
pub fn copy(src: &Path, dst: &Path) -> Result<(), String> {
    if !src.join("oci-layout").is_file() {
        return Err(format!(
            "{} is not an OCI image layout (no oci-layout file)",
            src.display()
        ));
    }
    if dst.exists() && !dst.join("oci-layout").is_file() {
        return Err(format!(
            "{} exists and is not an OCI image layout; wharf replaces only a layout: move it away",
            dst.display()
        ));
    }
    let parent = match dst.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let staging = tempfile::Builder::new()
        .prefix(".wharf-layout-")
        .tempdir_in(parent)
        .map_err(|e| format!("cannot create a directory in {}: {e}", parent.display()))?;
    let copy_file = |from: &Path, to: &Path| {
        std::fs::copy(from, to)
            .map(|_| ())
            .map_err(|e| format!("cannot copy {} to {}: {e}", from.display(), to.display()))
    };
    for name in ["oci-layout", "index.json"] {
        copy_file(&src.join(name), &staging.path().join(name))?;
    }
    let blobs = src.join("blobs");
    let read_dir = |dir: &Path| {
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))
    };
    for algorithm in read_dir(&blobs)? {
        let algorithm = algorithm.map_err(|e| format!("cannot read {}: {e}", blobs.display()))?;
        if !algorithm.path().is_dir() {
            continue;
        }
        let to_dir = staging.path().join("blobs").join(algorithm.file_name());
        std::fs::create_dir_all(&to_dir)
            .map_err(|e| format!("cannot create {}: {e}", to_dir.display()))?;
        for blob in read_dir(&algorithm.path())? {
            let blob = blob.map_err(|e| format!("cannot read {}: {e}", blobs.display()))?;
            let from = blob.path();
            if !from.is_file() {
                continue;
            }
            let to = to_dir.join(blob.file_name());
            if std::fs::hard_link(&from, &to).is_err() {
                copy_file(&from, &to)?;
            }
        }
    }
    if dst.exists() {
        std::fs::remove_dir_all(dst)
            .map_err(|e| format!("cannot remove the old copy {}: {e}", dst.display()))?;
    }
    let staged = staging.keep();
    std::fs::rename(&staged, dst).map_err(|e| {
        let _ = std::fs::remove_dir_all(&staged);
        format!("cannot move the copy to {}: {e}", dst.display())
    })
}

fn read_limited(path: &Path) -> Result<Vec<u8>, String> {
    read_limited_to(path, DOC_MAX)
}

fn read_limited_to(path: &Path, max: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if bytes.len() as u64 > max {
        return Err(format!(
            "{} is larger than {} bytes, more than it may be",
            path.display(),
            max
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_blob(dir: &Path, bytes: &[u8]) -> String {
        let digest = sha256_digest(bytes);
        let hex = digest.trim_start_matches("sha256:");
        std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
        std::fs::write(dir.join("blobs/sha256").join(hex), bytes).unwrap();
        digest
    }

    fn layout() -> (tempfile::TempDir, String, String, String) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
        let amd = write_blob(dir, br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:00","size":1},"layers":[]}"#);
        let arm = write_blob(dir, br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:01","size":1},"layers":[]}"#);
        let index = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
            {{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{amd}","size":1,"platform":{{"os":"linux","architecture":"amd64"}}}},
            {{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{arm}","size":1,"platform":{{"os":"linux","architecture":"arm64"}}}}]}}"#
        );
        let idx = write_blob(dir, index.as_bytes());
        let top = format!(
            r#"{{"schemaVersion":2,"manifests":[
            {{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"{idx}","size":1,"annotations":{{"{REF_NAME}":"multi"}}}},
            {{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{amd}","size":1,"annotations":{{"{REF_NAME}":"single"}}}}]}}"#
        );
        std::fs::write(dir.join("index.json"), top).unwrap();
        (tmp, idx, amd, arm)
    }

    #[test]
    fn writers_of_one_index_at_once_keep_every_entry() {
        let (tmp, ..) = layout();
        let dir = tmp.path();
        let before = read_index(&dir.join("index.json")).unwrap().manifests.len();
        std::thread::scope(|scope| {
            for writer in 0..4 {
                scope.spawn(move || {
                    for n in 0..25 {
                        let digest = sha256_digest(format!("{writer}/{n}").as_bytes());
                        let d = super::super::oci::Descriptor::new(
                            "application/vnd.oci.image.manifest.v1+json",
                            &digest,
                            1,
                        );
                        add_to_index(dir, &d).unwrap();
                    }
                });
            }
        });
        let after = read_index(&dir.join("index.json")).unwrap().manifests.len();
        assert_eq!(after, before + 100);
    }

    #[test]
    fn resolves_tags_digests_and_platforms() {
        let (tmp, idx, amd, arm) = layout();
        let d = tmp.path().display().to_string();
        let r = LayoutRef::parse(&format!("{d}:multi")).unwrap();
        let got = resolve(&r, None).unwrap();
        assert_eq!(got.digest, idx);
        assert!(got.is_index());
        let arm64 = Platform::parse("linux/arm64").unwrap();
        assert_eq!(resolve(&r, Some(&arm64)).unwrap().digest, arm);
        let r = LayoutRef::parse(&format!("{d}:single")).unwrap();
        assert_eq!(resolve(&r, None).unwrap().digest, amd);
        let r = LayoutRef::parse(&format!("{d}@{arm}")).unwrap();
        assert_eq!(resolve(&r, None).unwrap().digest, arm);
    }

    #[test]
    fn names_the_tags_it_has() {
        let (tmp, ..) = layout();
        let r = LayoutRef::parse(&format!("{}:nope", tmp.path().display())).unwrap();
        let err = resolve(&r, None).unwrap_err().to_string();
        assert!(
            err.contains("no image tagged \"nope\"") && err.contains("multi, single"),
            "{err}"
        );
        let r = LayoutRef::parse(&tmp.path().display().to_string()).unwrap();
        let err = resolve(&r, None).unwrap_err().to_string();
        assert!(err.contains("several images"), "{err}");
    }

    #[test]
    fn a_corrupt_blob_is_refused() {
        let (tmp, _, amd, _) = layout();
        let hex = amd.trim_start_matches("sha256:");
        std::fs::write(tmp.path().join("blobs/sha256").join(hex), b"{}").unwrap();
        let r = LayoutRef::parse(&format!("{}:single", tmp.path().display())).unwrap();
        let err = resolve(&r, None).unwrap_err().to_string();
        assert!(err.contains("corrupt"), "{err}");
    }

    #[test]
    fn parse_splits_dir_tag_and_digest() {
        let r = LayoutRef::parse("./out/img:v1").unwrap();
        assert_eq!(
            (r.dir.to_str(), r.tag.as_deref()),
            (Some("./out/img"), Some("v1"))
        );
        let r = LayoutRef::parse("/a:b/c").unwrap();
        assert_eq!((r.dir.to_str(), r.tag.as_deref()), (Some("/a:b/c"), None));
        assert!(LayoutRef::parse("").is_err());
        assert!(LayoutRef::parse("dir@sha256:12").is_err());
    }
}
