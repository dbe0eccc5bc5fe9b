//! From a reference to a squashed view: the manifest (chosen from an index
//! by platform), the config, and every layer streamed through the
//! [`Squasher`](super::Squasher).
//!
//! A registry layer downloads on the async side into a bounded channel that
//! a blocking thread drains: decompression and tar parsing never hold up the
//! runtime, and at most [`CHANNEL_CHUNKS`] pieces of a blob are in memory. A
//! layout's layer is read from its file on the blocking thread.

use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::{Buf as _, Bytes};
use serde::Deserialize;
use tokio::sync::mpsc;

use super::collect::Collector;
use super::layer::{Compression, LayerBlob};
use super::squash::{Limits, Squashed, Squasher};
use crate::reference::{check_digest, Reference};
use crate::registry::layout::{self, LayoutRef};
use crate::registry::oci;
use crate::registry::stream::BlobStream;
use crate::registry::{ImageRef, Platform, RegistryClient, RegistryError};
use crate::Error;

/// How many body pieces of a downloading layer may wait for the reader.
pub const CHANNEL_CHUNKS: usize = 16;
/// Image configs are small; this one bound covers long histories.
const CONFIG_MAX: usize = 8 << 20;

const INDEX_TYPES: [&str; 2] = [
    oci::OCI_INDEX,
    "application/vnd.docker.distribution.manifest.list.v2+json",
];

/// A layer as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerInfo {
    pub digest: String,
    pub media_type: String,
    /// Compressed size, as the manifest gives it.
    pub size: u64,
}

/// What was read about an image besides its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    /// The image as messages name it: `REG/REPO@sha256:…` or `oci:DIR@sha256:…`
    /// (with the manifest digest).
    pub name: String,
    /// The digest everything downstream names: the index's for a
    /// multi-platform image, else the manifest's.
    pub subject: String,
    /// The digest of the platform's image manifest.
    pub manifest: String,
    /// The digest of its config.
    pub config: String,
    /// `os/architecture[/variant]`, from the config.
    pub platform: String,
    pub layers: Vec<LayerInfo>,
    /// The config's `rootfs.diff_ids`: digests of the uncompressed layers.
    pub diff_ids: Vec<String>,
    /// The `PATH` the config's `Env` sets, if it sets one.
    pub path: Option<String>,
}

/// The platform read when none is asked for.
pub fn default_platform() -> Platform {
    Platform {
        os: "linux".into(),
        architecture: "amd64".into(),
        variant: None,
    }
}

/// Reads `image` (a registry reference or an `oci:` layout): from an index
/// the manifest for `platform` (default linux/amd64), then every layer,
/// streamed and squashed, handing `collector` the files it wants.
///
/// The collector is shared with the blocking threads that read the layers,
/// hence the `Arc` and the `'static` bound.
pub async fn read<C>(
    client: &RegistryClient,
    image: &ImageRef,
    platform: Option<&Platform>,
    collector: Arc<C>,
    limits: &Limits,
) -> Result<(ImageInfo, Squashed<C::Item>), Error>
where
    C: Collector + Send + 'static,
    C::Item: 'static,
{
    let info = inspect(client, image, platform).await?;
    let mut squasher = Squasher::new(*limits);
    for (index, layer) in info.layers.iter().enumerate() {
        let name = format!("{}: layer {index} ({})", info.name, layer.digest);
        let compression = compression(&name, &layer.media_type)?;
        let collector = collector.clone();
        let (digest, size) = (layer.digest.clone(), layer.size);
        squasher = match image {
            ImageRef::Layout(l) => {
                let path = blob_path(&l.dir, &layer.digest).map_err(|why| Error::Image {
                    what: name.clone(),
                    why,
                })?;
                let task_name = name.clone();
                let task = tokio::task::spawn_blocking(move || -> Result<_, Error> {
                    let file = std::fs::File::open(&path).map_err(|e| Error::Image {
                        what: task_name.clone(),
                        why: format!("cannot read {}: {e}", path.display()),
                    })?;
                    let blob =
                        LayerBlob::new(BufReader::with_capacity(256 << 10, file), compression)
                            .expecting(&digest, size)
                            .named(task_name);
                    squasher.add_layer(blob, &*collector)?;
                    Ok(squasher)
                });
                task.await.map_err(|e| stopped(&name, &e))??
            }
            ImageRef::Registry(r) => {
                let mut stream = client.open_blob(r, &layer.digest).await?;
                let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
                let task_name = name.clone();
                let task = tokio::task::spawn_blocking(move || -> Result<_, Error> {
                    let reader = ChannelReader {
                        rx,
                        current: Bytes::new(),
                    };
                    let blob = LayerBlob::new(reader, compression)
                        .expecting(&digest, size)
                        .named(task_name);
                    squasher.add_layer(blob, &*collector)?;
                    Ok(squasher)
                });
                let pumped = pump(&mut stream, &tx).await;
                drop(tx);
                let done: Result<Squasher<C::Item>, Error> =
                    task.await.map_err(|e| stopped(&name, &e))?;
                // A download that broke off explains whatever the reader said.
                pumped?;
                done?
            }
        };
    }
    Ok((info, squasher.finish()))
}

fn stopped(name: &str, e: &tokio::task::JoinError) -> Error {
    Error::Image {
        what: name.to_string(),
        why: format!("the layer reader stopped unexpectedly: {e}"),
    }
}

fn compression(name: &str, media_type: &str) -> Result<Compression, Error> {
    Compression::from_media_type(media_type).ok_or_else(|| Error::Image {
        what: name.to_string(),
        why: format!(
            "its media type {media_type:?} is not a layer wharf reads (tar, tar+gzip, tar+zstd; \
             encrypted or foreign layers are not)"
        ),
    })
}

/// Feeds the download to the reader until the end, or until the reader
/// stops taking (it failed, or has what it needs).
async fn pump(
    stream: &mut BlobStream,
    tx: &mpsc::Sender<Result<Bytes, String>>,
) -> Result<(), RegistryError> {
    loop {
        match stream.chunk().await {
            Ok(Some(chunk)) => {
                if tx.send(Ok(chunk)).await.is_err() {
                    return Ok(());
                }
            }
            Ok(None) => return Ok(()),
            Err(e) => {
                let _ = tx.send(Err(e.to_string())).await;
                return Err(e);
            }
        }
    }
}

/// The blocking end of the download channel.
struct ChannelReader {
    rx: mpsc::Receiver<Result<Bytes, String>>,
    current: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(e)) => return Err(io::Error::other(e)),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current.advance(n);
        Ok(n)
    }
}

/// `DIR/blobs/sha256/HEX`, for a digest that is checked to be one (so it
/// cannot name anything else).
fn blob_path(dir: &Path, digest: &str) -> Result<PathBuf, String> {
    check_digest(digest)?;
    match digest.split_once(':') {
        Some(("sha256", hex)) => Ok(dir.join("blobs").join("sha256").join(hex)),
        _ => Err(format!("blob {digest}: only sha256 blobs are supported")),
    }
}

/// Where the image's documents come from.
enum Source<'a> {
    Registry(&'a RegistryClient, &'a Reference),
    Layout(&'a LayoutRef),
}

impl Source<'_> {
    /// A manifest or index by digest, checked.
    async fn manifest(&self, digest: &str) -> Result<Vec<u8>, Error> {
        match self {
            Source::Registry(client, r) => match client.fetch_manifest(r, digest).await? {
                Some(fetched) => Ok(fetched.bytes),
                None => Err(RegistryError::NotFound {
                    reference: r.name_with_digest(digest),
                    kind: "manifest",
                }
                .into()),
            },
            Source::Layout(l) => self.layout_blob(l, digest),
        }
    }

    async fn config(&self, digest: &str) -> Result<Vec<u8>, Error> {
        match self {
            Source::Registry(client, r) => Ok(client.fetch_blob(r, digest, CONFIG_MAX).await?),
            Source::Layout(l) => self.layout_blob(l, digest),
        }
    }

    fn layout_blob(&self, l: &LayoutRef, digest: &str) -> Result<Vec<u8>, Error> {
        check_digest(digest).map_err(|detail| layout_error(l, detail))?;
        layout::read_blob(&l.dir, digest).map_err(|detail| layout_error(l, detail))
    }

    fn name(&self, digest: &str) -> String {
        match self {
            Source::Registry(_, r) => r.name_with_digest(digest),
            Source::Layout(l) => format!("oci:{}@{digest}", l.dir.display()),
        }
    }
}

fn layout_error(l: &LayoutRef, detail: String) -> Error {
    RegistryError::Layout {
        path: l.dir.display().to_string(),
        detail,
    }
    .into()
}

#[derive(Deserialize)]
struct TopDoc {
    #[serde(default, rename = "schemaVersion")]
    schema_version: u32,
    #[serde(default, rename = "mediaType")]
    media_type: Option<String>,
    manifests: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct PlatformDoc {
    #[serde(default)]
    os: String,
    #[serde(default)]
    architecture: String,
    variant: Option<String>,
}

#[derive(Deserialize)]
struct ConfigDoc {
    #[serde(default)]
    os: String,
    #[serde(default)]
    architecture: String,
    variant: Option<String>,
    #[serde(default)]
    rootfs: RootFs,
    /// The run config (`null` in some images).
    #[serde(default)]
    config: Option<RunConfig>,
}

#[derive(Deserialize, Default)]
struct RunConfig {
    #[serde(rename = "Env", default)]
    env: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
struct RootFs {
    #[serde(default)]
    diff_ids: Vec<String>,
}

/// Finds the image's manifest, config and layers without reading any layer.
pub async fn inspect(
    client: &RegistryClient,
    image: &ImageRef,
    platform: Option<&Platform>,
) -> Result<ImageInfo, Error> {
    let (source, top_digest, top_bytes) =
        match image {
            ImageRef::Registry(r) => {
                let target = r.digest().unwrap_or(r.tag_or_latest());
                let fetched = client.fetch_manifest(r, target).await?.ok_or_else(|| {
                    RegistryError::NotFound {
                        reference: r.to_string(),
                        kind: "manifest",
                    }
                })?;
                (Source::Registry(client, r), fetched.digest, fetched.bytes)
            }
            ImageRef::Layout(l) => {
                let resolved = layout::resolve(l, None)?;
                let source = Source::Layout(l);
                let bytes = source.layout_blob(l, &resolved.digest)?;
                (source, resolved.digest, bytes)
            }
        };
    let bad = |digest: &str, why: String| Error::Image {
        what: source.name(digest),
        why,
    };
    let top: TopDoc = serde_json::from_slice(&top_bytes)
        .map_err(|e| bad(&top_digest, format!("not a manifest or index: {e}")))?;
    let is_index = top.manifests.is_some()
        || top
            .media_type
            .as_deref()
            .is_some_and(|m| INDEX_TYPES.contains(&m));

    let (manifest_digest, manifest_bytes) = if is_index {
        let index: oci::Index = serde_json::from_slice(&top_bytes)
            .map_err(|e| bad(&top_digest, format!("a malformed image index: {e}")))?;
        let want = platform.cloned().unwrap_or_else(default_platform);
        let chosen = choose(&index, &want).map_err(|why| bad(&top_digest, why))?;
        let bytes = source.manifest(&chosen).await?;
        (chosen, bytes)
    } else {
        (top_digest.clone(), top_bytes)
    };
    let name = source.name(&manifest_digest);
    let bad = |why: String| Error::Image {
        what: name.clone(),
        why,
    };
    let head: TopDoc = serde_json::from_slice(&manifest_bytes)
        .map_err(|e| bad(format!("not an image manifest: {e}")))?;
    if head.schema_version == 1 {
        return Err(bad(
            "a Docker schema 1 manifest, which wharf does not read; push the image again with a \
             current tool"
                .into(),
        ));
    }
    if head.manifests.is_some() {
        return Err(bad(
            "an index inside an index; name the platform's manifest by digest".into(),
        ));
    }
    let manifest: oci::Manifest = serde_json::from_slice(&manifest_bytes)
        .map_err(|e| bad(format!("not an image manifest: {e}")))?;
    let config_bytes = source.config(&manifest.config.digest).await?;
    let config: ConfigDoc = serde_json::from_slice(&config_bytes).map_err(|e| {
        bad(format!(
            "its config {} is not an image config: {e}",
            manifest.config.digest
        ))
    })?;
    let have = Platform {
        os: config.os,
        architecture: config.architecture,
        variant: config.variant,
    };
    if let (false, Some(want)) = (is_index, platform) {
        if !want.matches(&have.os, &have.architecture, have.variant.as_deref()) {
            return Err(bad(format!(
                "it is a single-platform image for {have}, not {want}; read it without \
                 --platform, or with --platform {have}"
            )));
        }
    }
    let layers: Vec<LayerInfo> = manifest
        .layers
        .iter()
        .map(|d| LayerInfo {
            digest: d.digest.clone(),
            media_type: d.media_type.clone(),
            size: d.size,
        })
        .collect();
    for (index, layer) in layers.iter().enumerate() {
        let what = format!("{name}: layer {index} ({})", layer.digest);
        compression(&what, &layer.media_type)?;
        check_digest(&layer.digest).map_err(|why| Error::Image { what, why })?;
    }
    Ok(ImageInfo {
        subject: top_digest,
        manifest: manifest_digest,
        config: manifest.config.digest,
        platform: have.to_string(),
        layers,
        diff_ids: config.rootfs.diff_ids,
        path: config
            .config
            .and_then(|c| c.env)
            .unwrap_or_default()
            .into_iter()
            .rev()
            .find_map(|e| e.strip_prefix("PATH=").map(str::to_string)),
        name,
    })
}

/// The digest of the index entry for `want`, or which platforms there are.
fn choose(index: &oci::Index, want: &Platform) -> Result<String, String> {
    let mut available = Vec::new();
    for entry in &index.manifests {
        let Some(platform) = entry.extra.get("platform") else {
            continue;
        };
        let Ok(p) = serde_json::from_value::<PlatformDoc>(platform.clone()) else {
            continue;
        };
        if want.matches(&p.os, &p.architecture, p.variant.as_deref()) {
            check_digest(&entry.digest)?;
            return Ok(entry.digest.clone());
        }
        if p.os != "unknown" {
            available.push(
                Platform {
                    os: p.os,
                    architecture: p.architecture,
                    variant: p.variant,
                }
                .to_string(),
            );
        }
    }
    Err(format!(
        "the image index has no manifest for {want}; it has {}. Choose one with --platform",
        if available.is_empty() {
            "no platforms".to_string()
        } else {
            available.join(", ")
        }
    ))
}
