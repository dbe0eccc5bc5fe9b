//! `wharf sbom`: what is inside an image — the OS, its packages, and the
//! language packages beside them — as CycloneDX or SPDX.

pub mod binary;
mod bom;
pub mod catalog;
pub mod cyclonedx;
pub mod files;
pub mod license;
mod license_ids;
pub mod model;
pub mod purl;
pub mod spdx;

pub use cyclonedx::cyclonedx;
pub use spdx::spdx;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::cli::{SbomArgs, SbomFormat};
use crate::config::Global;
use crate::image::{Collector, Contents, FileMeta};
use crate::registry::{ImageRef, Platform, RegistryClient};
use crate::{report, Error, Outcome, Result};

/// The catalogers as the layer reader's collector: they choose the files
/// and keep what they need of each while the layers stream past.
struct Catalogers;

impl Collector for Catalogers {
    type Item = files::Extracted;

    fn wants(&self, file: &FileMeta<'_>) -> bool {
        catalog::wants(file)
    }

    fn collect(&self, file: &FileMeta<'_>, contents: &mut Contents) -> Option<files::Extracted> {
        catalog::extract(file, contents)
    }
}

/// What `wharf sbom` found: the image and its inventory.
pub struct Found {
    pub subject: model::Subject,
    pub inventory: model::Inventory,
}

/// Reads the image and catalogs it.
pub async fn inventory(
    client: &RegistryClient,
    image: &ImageRef,
    platform: Option<&Platform>,
) -> Result<Found> {
    let limits = crate::image::Limits::default();
    let (info, squashed) =
        crate::image::read(client, image, platform, Arc::new(Catalogers), &limits).await?;
    let mut inventory = catalog::catalog(&squashed);
    for note in squashed.notes() {
        inventory.notes.push(format!(
            "layer {}: {}: {}",
            note.layer, note.path, note.message
        ));
    }
    let (name, tag) = match image {
        ImageRef::Registry(r) => (
            format!("{}/{}", r.registry(), r.repository()),
            r.tag().map(str::to_string),
        ),
        ImageRef::Layout(l) => (l.name(), l.tag.clone()),
    };
    let subject = model::Subject {
        name,
        tag,
        digest: info.subject.clone(),
        manifest_digest: info.manifest.clone(),
        platform: info.platform.clone(),
        layers: info.layers.iter().map(|l| l.digest.clone()).collect(),
    };
    Ok(Found { subject, inventory })
}

/// Runs `wharf sbom`.
pub fn run(global: &Global, args: &SbomArgs) -> Result<Outcome> {
    // The arguments are checked before anything is set up, as always.
    ImageRef::parse(&args.image)?;
    Platform::from_flag(args.platform.as_deref())?;
    let client = RegistryClient::new(global).map_err(Error::Usage)?;
    run_with(&client, &crate::runtime()?, args)
}

/// Runs `wharf sbom` on `client` and `runtime` (`wharf run`'s, shared by
/// its stages).
pub fn run_with(
    client: &RegistryClient,
    runtime: &tokio::runtime::Runtime,
    args: &SbomArgs,
) -> Result<Outcome> {
    let image = ImageRef::parse(&args.image)?;
    let platform = Platform::from_flag(args.platform.as_deref())?;
    let found = runtime.block_on(inventory(client, &image, platform.as_ref()))?;
    let created = created_now();
    let document = match args.format {
        SbomFormat::CyclonedxJson => cyclonedx(
            &found.subject,
            &found.inventory,
            &created,
            &serial(&found.subject.digest, &created),
        ),
        SbomFormat::SpdxJson => spdx(
            &found.subject,
            &found.inventory,
            &created,
            &serial(&found.subject.digest, &created),
        ),
    };
    for note in &found.inventory.notes {
        report::warn(note);
    }
    match &args.output {
        Some(path) => crate::fsutil::write_file(path, document.as_bytes())
            .map_err(|e| Error::file(path, format!("cannot write the SBOM: {e}")))?,
        None => report::out(document.trim_end()),
    }
    report::info(&summary(&found));
    Ok(Outcome::Ok)
}

/// "412 packages in IMAGE (debian 12): deb 398, pypi 14"
fn summary(found: &Found) -> String {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for p in &found.inventory.packages {
        let key = serde_json::to_value(p.ecosystem)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        *counts.entry(key).or_default() += 1;
    }
    let os = found
        .inventory
        .distro
        .as_ref()
        .map(|d| {
            format!(
                " ({} {})",
                d.id,
                d.version_id.as_deref().unwrap_or("unknown version")
            )
        })
        .unwrap_or_else(|| " (no OS release file)".into());
    let by = counts
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "{} package(s) in {}@{}{os}{}{by}",
        found.inventory.packages.len(),
        found.subject.name,
        found.subject.digest,
        if by.is_empty() { "" } else { ": " },
    )
}

/// Now, or `SOURCE_DATE_EPOCH`, as `YYYY-MM-DDThh:mm:ssZ` (the form both
/// SBOM formats accept).
fn created_now() -> String {
    crate::build_time()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// A UUID for the document: random, except under `SOURCE_DATE_EPOCH`, where
/// it is derived from the image digest and the time so that a rebuild
/// gives the same document.
fn serial(digest: &str, created: &str) -> String {
    use sha2::Digest as _;
    let bytes: [u8; 16] = if std::env::var_os("SOURCE_DATE_EPOCH").is_some() {
        let hash = sha2::Sha256::digest(format!("{digest} {created}"));
        let mut b = [0u8; 16];
        b.copy_from_slice(&hash[..16]);
        b
    } else {
        rand::random()
    };
    let mut b = bytes;
    b[6] = (b[6] & 0x0f) | 0x40; // version 4 layout (random or name-derived bits)
    b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
    let h = hex::encode(b);
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}
