//! Test images built in Rust as OCI image layouts (no docker), pushed with
//! `skopeo copy --all --preserve-digests`, so the registry serves exactly the
//! bytes written here and every digest is known before wharf runs.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use super::registry::Registry;
use super::{run_command, sha256_digest};

pub const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
pub const LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";

/// A layer blob and what a manifest and config say of it.
#[derive(Debug, Clone)]
pub struct Layer {
    pub media_type: String,
    /// The blob as stored (compressed or not).
    pub blob: Vec<u8>,
    /// sha256 of the uncompressed tar.
    pub diff_id: String,
}

/// A layer whose blob is already stored in the layout.
#[derive(Debug, Clone)]
pub struct StoredLayer {
    pub media_type: String,
    pub blob: Blob,
    pub diff_id: String,
}

impl Layer {
    pub fn gzip(tar: &[u8]) -> Layer {
        Layer {
            media_type: LAYER.into(),
            blob: gzip(tar),
            diff_id: sha256_digest(tar),
        }
    }

    pub fn zstd(tar: &[u8]) -> Layer {
        Layer {
            media_type: LAYER_ZSTD.into(),
            blob: zstd::stream::encode_all(tar, 3).expect("zstd"),
            diff_id: sha256_digest(tar),
        }
    }

    pub fn plain(tar: &[u8]) -> Layer {
        Layer {
            media_type: LAYER_TAR.into(),
            blob: tar.to_vec(),
            diff_id: sha256_digest(tar),
        }
    }
}

/// A blob as a descriptor names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    pub digest: String,
    pub size: usize,
}

/// A single-platform image.
#[derive(Debug, Clone)]
pub struct Image {
    /// sha256 of the exact manifest bytes.
    pub digest: String,
    pub manifest: Vec<u8>,
    pub os: String,
    pub architecture: String,
}

/// A multi-platform image index.
#[derive(Debug, Clone)]
pub struct Index {
    /// sha256 of the exact index bytes.
    pub digest: String,
    pub index: Vec<u8>,
    pub images: Vec<Image>,
}

impl Index {
    /// The manifest digest for `os/architecture`.
    #[track_caller]
    pub fn platform(&self, platform: &str) -> &str {
        self.images
            .iter()
            .find(|i| format!("{}/{}", i.os, i.architecture) == platform)
            .map(|i| i.digest.as_str())
            .unwrap_or_else(|| panic!("the test index has no {platform} image"))
    }
}

/// An OCI image layout directory being filled.
pub struct OciLayout {
    dir: PathBuf,
    /// `index.json` entries, one per tag.
    tagged: Vec<Value>,
}

impl OciLayout {
    pub fn new(dir: &Path) -> OciLayout {
        std::fs::create_dir_all(dir.join("blobs/sha256")).expect("layout blobs dir");
        std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#)
            .expect("oci-layout");
        let layout = OciLayout {
            dir: dir.to_path_buf(),
            tagged: Vec::new(),
        };
        layout.write_index_json();
        layout
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A single-platform image tagged `tag` in the layout: one gzip'd tar
    /// layer holding `/wharf-test/id` with `unique` in it (so images with
    /// different `unique` have different digests), an OCI config and manifest.
    pub fn add_image(&mut self, tag: &str, os: &str, architecture: &str, unique: &str) -> Image {
        let image = self.build_image(os, architecture, unique);
        self.tag(tag, MANIFEST, &image.digest, image.manifest.len());
        image
    }

    /// A two-platform index (linux/amd64 + linux/arm64) tagged `tag`.
    pub fn add_index(&mut self, tag: &str, unique: &str) -> Index {
        let images: Vec<Image> = [("linux", "amd64"), ("linux", "arm64")]
            .iter()
            .map(|(os, arch)| self.build_image(os, arch, &format!("{unique} {os}/{arch}")))
            .collect();
        let manifests: Vec<Value> = images
            .iter()
            .map(|i| {
                json!({
                    "mediaType": MANIFEST,
                    "digest": i.digest,
                    "size": i.manifest.len(),
                    "platform": { "architecture": i.architecture, "os": i.os },
                })
            })
            .collect();
        let index = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": INDEX,
            "manifests": manifests,
        }))
        .expect("serialize index");
        let blob = self.write_blob(&index);
        self.tag(tag, INDEX, &blob.digest, blob.size);
        Index {
            digest: blob.digest,
            index,
            images,
        }
    }

    fn build_image(&self, os: &str, architecture: &str, unique: &str) -> Image {
        self.build_image_with(os, architecture, unique, &[Layer::gzip(&layer_tar(unique))])
    }

    /// A single-platform image tagged `tag` whose layers are `layers` (base
    /// first); `unique` goes in a config label.
    pub fn add_image_with(
        &mut self,
        tag: &str,
        os: &str,
        architecture: &str,
        unique: &str,
        layers: &[Layer],
    ) -> Image {
        let image = self.build_image_with(os, architecture, unique, layers);
        self.tag(tag, MANIFEST, &image.digest, image.manifest.len());
        image
    }

    /// An index of `images` (each must have a distinct platform) tagged `tag`.
    pub fn add_index_of(&mut self, tag: &str, images: &[Image]) -> Index {
        let manifests: Vec<Value> = images
            .iter()
            .map(|i| {
                json!({
                    "mediaType": MANIFEST,
                    "digest": i.digest,
                    "size": i.manifest.len(),
                    "platform": { "architecture": i.architecture, "os": i.os },
                })
            })
            .collect();
        let index = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": INDEX,
            "manifests": manifests,
        }))
        .expect("serialize index");
        let blob = self.write_blob(&index);
        self.tag(tag, INDEX, &blob.digest, blob.size);
        Index {
            digest: blob.digest,
            index,
            images: images.to_vec(),
        }
    }

    /// An image (untagged) whose layers are `layers`.
    pub fn build_image_with(
        &self,
        os: &str,
        architecture: &str,
        unique: &str,
        layers: &[Layer],
    ) -> Image {
        let stored = self.store_layers(layers);
        self.build_image_from(os, architecture, unique, &stored, &[])
    }

    fn store_layers(&self, layers: &[Layer]) -> Vec<StoredLayer> {
        layers
            .iter()
            .map(|l| StoredLayer {
                media_type: l.media_type.clone(),
                blob: self.write_blob(&l.blob),
                diff_id: l.diff_id.clone(),
            })
            .collect()
    }

    /// A single-platform image tagged `tag` whose layer blobs are already
    /// in the layout (see [`OciLayout::move_blob`]): for layers too large to
    /// build in memory.
    pub fn add_image_from(
        &mut self,
        tag: &str,
        os: &str,
        architecture: &str,
        unique: &str,
        layers: &[StoredLayer],
    ) -> Image {
        let image = self.build_image_from(os, architecture, unique, layers, &[]);
        self.tag(tag, MANIFEST, &image.digest, image.manifest.len());
        image
    }

    /// A linux/amd64 image tagged `tag` whose config sets `env`
    /// (`NAME=value` entries).
    pub fn add_image_with_env(&mut self, tag: &str, layers: &[Layer], env: &[&str]) -> Image {
        let stored = self.store_layers(layers);
        let image = self.build_image_from("linux", "amd64", tag, &stored, env);
        self.tag(tag, MANIFEST, &image.digest, image.manifest.len());
        image
    }

    fn build_image_from(
        &self,
        os: &str,
        architecture: &str,
        unique: &str,
        layers: &[StoredLayer],
        env: &[&str],
    ) -> Image {
        let descriptors: Vec<Value> = layers
            .iter()
            .map(|l| json!({ "mediaType": l.media_type, "digest": l.blob.digest, "size": l.blob.size }))
            .collect();
        let diff_ids: Vec<&str> = layers.iter().map(|l| l.diff_id.as_str()).collect();
        let mut run_config = json!({ "Labels": { "dev.wharf.test": unique } });
        if !env.is_empty() {
            run_config["Env"] = json!(env);
        }
        let config = serde_json::to_vec(&json!({
            "architecture": architecture,
            "os": os,
            "config": run_config,
            "rootfs": { "type": "layers", "diff_ids": diff_ids },
        }))
        .expect("serialize config");
        let config = self.write_blob(&config);
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": MANIFEST,
            "config": { "mediaType": CONFIG, "digest": config.digest, "size": config.size },
            "layers": descriptors,
        }))
        .expect("serialize manifest");
        let blob = self.write_blob(&manifest);
        Image {
            digest: blob.digest,
            manifest,
            os: os.to_string(),
            architecture: architecture.to_string(),
        }
    }

    /// Moves the file at `path` into the layout as a blob, hashing it as it
    /// streams (it may be far larger than memory should hold).
    pub fn move_blob(&self, path: &Path) -> Blob {
        use sha2::Digest as _;
        use std::io::Read as _;
        let mut file = std::fs::File::open(path).expect("open blob file");
        let mut hasher = sha2::Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut size = 0;
        loop {
            let n = file.read(&mut buf).expect("read blob file");
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            size += n;
        }
        let hex = hex::encode(hasher.finalize());
        std::fs::rename(path, self.dir.join("blobs/sha256").join(&hex)).expect("move blob");
        Blob {
            digest: format!("sha256:{hex}"),
            size,
        }
    }

    /// Stores `bytes` under `blobs/sha256/`.
    pub fn write_blob(&self, bytes: &[u8]) -> Blob {
        let digest = sha256_digest(bytes);
        let hex = digest.trim_start_matches("sha256:");
        std::fs::write(self.dir.join("blobs/sha256").join(hex), bytes).expect("write blob");
        Blob {
            digest,
            size: bytes.len(),
        }
    }

    fn tag(&mut self, tag: &str, media_type: &str, digest: &str, size: usize) {
        self.tagged
            .retain(|e| e["annotations"]["org.opencontainers.image.ref.name"] != tag);
        self.tagged.push(json!({
            "mediaType": media_type,
            "digest": digest,
            "size": size,
            "annotations": { "org.opencontainers.image.ref.name": tag },
        }));
        self.write_index_json();
    }

    fn write_index_json(&self) {
        let index = json!({ "schemaVersion": 2, "manifests": self.tagged });
        std::fs::write(self.dir.join("index.json"), index.to_string()).expect("index.json");
    }

    /// `skopeo copy --all --preserve-digests oci:DIR:TAG docker://HOST/REPO:DEST_TAG`,
    /// with credentials and the CA for the TLS variant.
    #[track_caller]
    pub fn push(&self, tag: &str, registry: &Registry, repo: &str, dest_tag: &str) {
        let mut cmd = skopeo();
        cmd.args(["copy", "--all", "--preserve-digests", "--quiet"]);
        match registry.tls() {
            Some(tls) => {
                cmd.arg("--dest-creds")
                    .arg(format!("{}:{}", tls.user, tls.password))
                    .arg("--dest-cert-dir")
                    .arg(&tls.cert_dir);
            }
            None => {
                cmd.arg("--dest-tls-verify=false");
            }
        }
        cmd.arg(format!("oci:{}:{tag}", self.dir.display()))
            .arg(format!("docker://{}/{repo}:{dest_tag}", registry.host()));
        run_command(&mut cmd);
    }
}

/// skopeo with a policy that accepts anything (the images are ours) and no
/// ambient credentials.
pub fn skopeo() -> Command {
    let mut cmd = Command::new("skopeo");
    cmd.arg("--insecure-policy")
        .env_remove("REGISTRY_AUTH_FILE")
        .stdin(Stdio::null());
    cmd
}

/// What the registry serves for `repo:tag`, by skopeo (not by wharf nor the
/// harness): `skopeo inspect --raw` piped to `skopeo manifest-digest`.
#[track_caller]
pub fn registry_digest(registry: &Registry, repo: &str, tag: &str) -> String {
    let raw = registry_manifest(registry, repo, tag);
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), &raw).expect("write manifest");
    let mut cmd = skopeo();
    cmd.arg("manifest-digest").arg(file.path());
    run_command(&mut cmd).trim().to_string()
}

/// `skopeo inspect --raw docker://HOST/REPO:TAG`: the manifest bytes served.
#[track_caller]
pub fn registry_manifest(registry: &Registry, repo: &str, tag: &str) -> Vec<u8> {
    let mut cmd = skopeo();
    cmd.args(["inspect", "--raw"]);
    match registry.tls() {
        Some(tls) => {
            cmd.arg("--creds")
                .arg(format!("{}:{}", tls.user, tls.password))
                .arg("--cert-dir")
                .arg(&tls.cert_dir);
        }
        None => {
            cmd.arg("--tls-verify=false");
        }
    }
    cmd.arg(format!("docker://{}/{repo}:{tag}", registry.host()));
    let out = cmd.output().expect("run skopeo inspect");
    assert!(
        out.status.success(),
        "skopeo inspect --raw {repo}:{tag} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// An uncompressed tar with one regular file, `wharf-test/id`, holding `unique`.
/// Deterministic: fixed mode, owner and mtime.
pub fn layer_tar(unique: &str) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let data = format!("{unique}\n");
    let mut header = tar::Header::new_ustar();
    header.set_path("wharf-test/id").expect("tar path");
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    builder
        .append(&header, data.as_bytes())
        .expect("tar append");
    builder.into_inner().expect("tar finish")
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip finish")
}
