//! `wharf pin` end to end: real files, a spawned registry, exact bytes,
//! exact digests, exit codes.

mod auth;
mod bad_input;
mod bench;
mod check;
mod faults;
mod files;
mod golden;
mod insecure;
mod modes;
mod requests;
mod tls;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use tempfile::TempDir;

use crate::common::images::Images;
use crate::common::registry::Registry;
use crate::common::tree;
use crate::common::{wharf, Wharf};

/// A spawned registry holding the standard images, and an empty working tree.
pub struct Env {
    pub registry: Registry,
    pub images: Images,
    pub tree: TempDir,
}

impl Env {
    #[track_caller]
    pub fn start() -> Env {
        let registry = Registry::start();
        let images = Images::push(&registry);
        Env {
            registry,
            images,
            tree: temp_tree(),
        }
    }

    pub fn dir(&self) -> &Path {
        self.tree.path()
    }

    pub fn placeholders(&self) -> BTreeMap<String, String> {
        self.images.placeholders()
    }

    /// Copies `tests/fixtures/<rel>` into the working tree, placeholders
    /// substituted; returns what was written.
    #[track_caller]
    pub fn load_fixture(&self, rel: &str) -> BTreeMap<String, Vec<u8>> {
        let files = tree::load(&tree::fixture(rel), &self.placeholders());
        tree::write_all(self.dir(), &files);
        files
    }

    /// `tests/fixtures/<rel>`, placeholders substituted.
    #[track_caller]
    pub fn fixture(&self, rel: &str) -> BTreeMap<String, Vec<u8>> {
        tree::load(&tree::fixture(rel), &self.placeholders())
    }

    /// Writes a file whose text may hold placeholders.
    #[track_caller]
    pub fn write(&self, rel: &str, text: &str) {
        tree::write(self.dir(), rel, self.expand(text));
    }

    /// `text` with placeholders substituted.
    #[track_caller]
    pub fn expand(&self, text: &str) -> String {
        String::from_utf8(tree::substitute(
            text.as_bytes(),
            &self.placeholders(),
            "test text",
        ))
        .expect("utf-8")
    }

    /// Every file of the working tree.
    pub fn snapshot(&self) -> BTreeMap<String, Vec<u8>> {
        tree::snapshot(self.dir())
    }

    /// `wharf --insecure-registry HOST pin`, run in the working tree.
    pub fn pin(&self) -> Wharf {
        pin_in(self.dir(), self.registry.host())
    }
}

/// `wharf --insecure-registry HOST pin` run in `dir`.
pub fn pin_in(dir: &Path, insecure_host: &str) -> Wharf {
    let mut cmd = wharf();
    cmd.arg("--insecure-registry")
        .arg(insecure_host)
        .arg("pin")
        .current_dir(dir);
    cmd
}

pub fn temp_tree() -> TempDir {
    tempfile::Builder::new()
        .prefix("wharf-tree-")
        .tempdir()
        .expect("temp tree")
}

/// One entry of a `--format json` report: `(file, line, state, digest, reason)`.
pub type JsonRef = (String, u64, String, Option<String>, Option<String>);

/// The `references` of a `--format json` report, sorted, paths relative to
/// `root`.
#[track_caller]
pub fn json_references(report: &Value, root: &Path) -> Vec<JsonRef> {
    let refs = report["references"]
        .as_array()
        .unwrap_or_else(|| panic!("no `references` array in {report:#}"));
    let mut out: Vec<_> = refs
        .iter()
        .map(|r| {
            let file = r["file"]
                .as_str()
                .unwrap_or_else(|| panic!("`file` in {r}"));
            (
                tree::relative(file, root),
                r["line"]
                    .as_u64()
                    .unwrap_or_else(|| panic!("`line` in {r}")),
                r["state"]
                    .as_str()
                    .unwrap_or_else(|| panic!("`state` in {r}"))
                    .to_string(),
                r["digest"].as_str().map(str::to_string),
                r["reason"].as_str().map(str::to_string),
            )
        })
        .collect();
    out.sort();
    out
}

/// The `changed_files` of a `--format json` report, relative to `root`, sorted.
#[track_caller]
pub fn json_changed_files(report: &Value, root: &Path) -> Vec<String> {
    let files = report["changed_files"]
        .as_array()
        .unwrap_or_else(|| panic!("no `changed_files` array in {report:#}"));
    let mut out: Vec<String> = files
        .iter()
        .map(|f| tree::relative(f.as_str().unwrap_or_else(|| panic!("path in {f}")), root))
        .collect();
    out.sort();
    out
}

/// The files that differ between two snapshots.
pub fn changed(
    before: &BTreeMap<String, Vec<u8>>,
    after: &BTreeMap<String, Vec<u8>>,
) -> Vec<String> {
    after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(v))
        .map(|(k, _)| k.clone())
        .collect()
}
