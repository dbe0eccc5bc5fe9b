//! Rust binaries built with `cargo auditable`: the `.dep-v0` section holds
//! the zlib-compressed JSON dependency tree of the crates compiled in.
//!
//! Kept: every crate of kind `runtime` (the default). Dropped: `build`
//! crates (build scripts, proc-macros: they ran on the build machine and
//! are not in the binary — Trivy drops them too), and `local` crates other
//! than the root (workspace members: unpublished, so a `pkg:cargo` purl
//! would name an unrelated crates.io crate). The root is kept: it is the
//! application itself.

use std::io::Read;

use serde::Deserialize;

use super::read::Reader;
use super::Format;
use crate::image::FileMeta;
use crate::sbom::model::{Ecosystem, Package};

/// Decompressed size cap: real trees are tens of KB; this bounds a bomb.
const MAX_JSON: u64 = 8 * 1024 * 1024;

#[derive(Debug, Deserialize)]
struct Tree {
    packages: Vec<Crate>,
}

#[derive(Debug, Deserialize)]
struct Crate {
    name: String,
    version: String,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    dependencies: Vec<usize>,
    #[serde(default)]
    root: bool,
}

/// The crates recorded in a binary's `.dep-v0` section, if it has one.
pub fn packages(r: &mut Reader<'_>, format: &Format, file: &FileMeta<'_>) -> Option<Vec<Package>> {
    let compressed = format.section(r, ".dep-v0")?;
    let json = inflate(&compressed)?;
    let tree: Tree = serde_json::from_slice(&json).ok()?;

    let kept = |c: &Crate| {
        c.kind.as_deref().unwrap_or("runtime") == "runtime"
            && (c.root || c.source.as_deref() != Some("local"))
    };
    let mut out = Vec::new();
    for krate in tree.packages.iter().filter(|c| kept(c)) {
        let mut p = Package::new(
            Ecosystem::Cargo,
            &krate.name,
            &krate.version,
            file.path,
            file.layer,
        );
        if let Some(source) = &krate.source {
            p.properties
                .insert("cargo.source".to_string(), source.clone());
        }
        if krate.root {
            p.properties
                .insert("cargo.root".to_string(), "true".to_string());
        }
        let mut deps: Vec<String> = krate
            .dependencies
            .iter()
            .filter_map(|&i| tree.packages.get(i))
            .filter(|d| kept(d))
            .map(|d| format!("{}@{}", d.name, d.version))
            .collect();
        deps.sort();
        deps.dedup();
        p.depends_on = deps;
        out.push(p);
    }
    (!out.is_empty()).then_some(out)
}

fn inflate(compressed: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(compressed)
        .take(MAX_JSON + 1)
        .read_to_end(&mut out)
        .ok()?;
    (out.len() as u64 <= MAX_JSON).then_some(out)
}
