//! `wharf sbom` end to end: images built from this machine's own files,
//! whose true contents `dpkg-query` and Python's `importlib.metadata` know,
//! read from an `oci:` layout and from the spawned registry; the documents
//! checked by cyclonedx-python-lib and pyspdxtools.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common::oci::{Layer, OciLayout};
use crate::common::registry::Registry;
use crate::common::wharf;
use crate::sbom_writers::{peer_check, python_with, CYCLONEDX_CHECK, SPDX_CHECK};

const SITE: &str = "usr/local/lib/python3/dist-packages";

/// A tar of (path in the image, bytes); regular files, mode 0644.
fn tar(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_mtime(0);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_size(data.len() as u64);
        b.append_data(&mut h, path, data.as_slice())
            .expect("tar entry");
    }
    b.into_inner().expect("tar")
}

/// `name version` of every package dpkg considers installed here.
fn dpkg_installed() -> Option<BTreeSet<String>> {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f", "${db:Status-Abbrev} ${Package} ${Version}\n"])
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    Some(
        text.lines()
            .filter(|l| l.as_bytes().get(1) == Some(&b'i'))
            .filter_map(|l| l.split_once(' ').map(|(_, rest)| rest.trim().to_string()))
            .collect(),
    )
}

/// This machine's dist-info directories: (dir name, METADATA bytes).
fn host_dist_infos() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/usr/lib/python3/dist-packages") else {
        return out;
    };
    for entry in dir.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".dist-info") {
            if let Ok(meta) = std::fs::read(entry.path().join("METADATA")) {
                out.push((name, meta));
            }
        }
    }
    out.sort();
    out
}

/// `name version` of each dist-info in `dir`, as Python's importlib reads it.
fn importlib_distributions(dir: &Path) -> Option<BTreeSet<String>> {
    let script = "import sys, importlib.metadata as m
for d in m.distributions(path=[sys.argv[1]]):
    print(d.metadata['Name'], d.version)";
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(dir)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect(),
    )
}

struct GroundTruth {
    _dir: tempfile::TempDir,
    layout: PathBuf,
    oci: OciLayout,
    dpkg: BTreeSet<String>,
    python: BTreeSet<String>,
}

/// Layer 1: /etc/os-release and the dpkg status; layer 2: the host's
/// dist-info directories; layer 3: a whiteout of the first of them.
fn ground_truth(test: &str) -> Option<GroundTruth> {
    let (Some(dpkg), Ok(status), Ok(os_release)) = (
        dpkg_installed(),
        std::fs::read("/var/lib/dpkg/status"),
        std::fs::read("/etc/os-release"),
    ) else {
        println!("skipping {test}: this machine has no dpkg database");
        return None;
    };
    let infos = host_dist_infos();
    if infos.len() < 2 {
        println!("skipping {test}: this machine has fewer than two Python dist-info directories");
        return None;
    }
    let dir = tempfile::tempdir().expect("dir");
    // What importlib says is left after the whiteout, from a copy on disk.
    let site = dir.path().join("site");
    for (name, meta) in &infos[1..] {
        std::fs::create_dir_all(site.join(name)).expect("mkdir");
        std::fs::write(site.join(name).join("METADATA"), meta).expect("write");
    }
    let Some(python) = importlib_distributions(&site) else {
        println!("skipping {test}: python3 cannot list distributions");
        return None;
    };
    let base = tar(&[
        ("etc/os-release".into(), os_release),
        ("var/lib/dpkg/status".into(), status),
    ]);
    let dists = tar(&infos
        .iter()
        .map(|(name, meta)| (format!("{SITE}/{name}/METADATA"), meta.clone()))
        .collect::<Vec<_>>());
    let whiteout = tar(&[(format!("{SITE}/.wh.{}", infos[0].0), Vec::new())]);
    let layout_dir = dir.path().join("layout");
    let mut layout = OciLayout::new(&layout_dir);
    layout.add_image_with(
        "v1",
        "linux",
        "amd64",
        "ground-truth",
        &[
            Layer::gzip(&base),
            Layer::zstd(&dists),
            Layer::gzip(&whiteout),
        ],
    );
    Some(GroundTruth {
        layout: layout_dir,
        oci: layout,
        dpkg,
        python,
        _dir: dir,
    })
}

/// `name version` of the components whose purl type is `kind`.
fn components(doc: &Value, kind: &str) -> BTreeSet<String> {
    doc["components"]
        .as_array()
        .expect("components")
        .iter()
        .filter(|c| {
            c["purl"]
                .as_str()
                .is_some_and(|p| p.starts_with(&format!("pkg:{kind}/")))
        })
        .map(|c| {
            format!(
                "{} {}",
                c["name"].as_str().unwrap_or(""),
                c["version"].as_str().unwrap_or("")
            )
        })
        .collect()
}

#[test]
fn an_image_of_this_machines_files_yields_exactly_what_dpkg_and_python_report() {
    let test = "an_image_of_this_machines_files_yields_exactly_what_dpkg_and_python_report";
    let Some(truth) = ground_truth(test) else {
        return;
    };
    let out_dir = tempfile::tempdir().expect("out");
    let cdx = out_dir.path().join("sbom.cdx.json");
    let out = wharf()
        .args(["sbom", &format!("oci:{}:v1", truth.layout.display()), "-o"])
        .arg(&cdx)
        .run();
    out.assert_ok();
    assert!(out.stdout.is_empty(), "-o writes the file, not stdout");
    let doc: Value = serde_json::from_slice(&std::fs::read(&cdx).expect("sbom")).expect("JSON");
    assert_eq!(components(&doc, "deb"), truth.dpkg, "deb packages");
    assert_eq!(
        components(&doc, "pypi").len(),
        truth.python.len(),
        "python distributions: {:?}",
        components(&doc, "pypi")
    );
    // importlib names the distribution as METADATA spells it; so do we.
    assert_eq!(
        components(&doc, "pypi"),
        truth.python,
        "python distributions"
    );
    assert!(out.stderr.contains(" package(s) in "), "{}", out.describe());

    if let Some(python) = python_with(test, "cyclonedx.validation.json") {
        peer_check(&python, CYCLONEDX_CHECK, &cdx)
            .unwrap_or_else(|o| panic!("CycloneDX rejected:\n{o}"));
    }
    let spdx = out_dir.path().join("sbom.spdx.json");
    wharf()
        .args([
            "sbom",
            &format!("oci:{}:v1", truth.layout.display()),
            "--format",
            "spdx-json",
            "-o",
        ])
        .arg(&spdx)
        .run()
        .assert_ok();
    if let Some(python) = python_with(test, "spdx_tools.spdx.clitools.pyspdxtools") {
        peer_check(&python, SPDX_CHECK, &spdx).unwrap_or_else(|o| panic!("SPDX rejected:\n{o}"));
    }
}

#[test]
fn the_same_image_gives_the_same_document_under_source_date_epoch() {
    require_registry!();
    let test = "the_same_image_gives_the_same_document_under_source_date_epoch";
    let Some(truth) = ground_truth(test) else {
        return;
    };
    let registry = Registry::start();
    truth.oci.push("v1", &registry, "ground/truth", "v1");
    let image = format!("{}/ground/truth:v1", registry.host());
    let run = || {
        let out = wharf()
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .args(["--insecure-registry", registry.host(), "sbom", &image])
            .run();
        out.assert_ok();
        out.stdout
    };
    let first = run();
    assert_eq!(first, run(), "byte-identical under SOURCE_DATE_EPOCH");
    let doc: Value = serde_json::from_str(&first).expect("JSON");
    assert_eq!(doc["metadata"]["timestamp"], "2023-11-14T22:13:20Z");
    let purl = doc["metadata"]["component"]["purl"]
        .as_str()
        .expect("image purl");
    assert!(purl.starts_with("pkg:oci/truth@sha256:"), "{purl}");
    assert_eq!(components(&doc, "deb"), truth.dpkg);
}

#[test]
fn a_corrupted_layer_is_a_clear_error_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let layout_dir = dir.path().join("layout");
    let mut layout = OciLayout::new(&layout_dir);
    let layer = Layer::gzip(&tar(&[("etc/os-release".into(), b"ID=debian\n".to_vec())]));
    layout.add_image_with("v1", "linux", "amd64", "bad", &[layer]);
    // Flip a byte in the layer blob.
    let manifest_layers: Vec<PathBuf> = std::fs::read_dir(layout_dir.join("blobs/sha256"))
        .expect("blobs")
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            std::fs::read(p)
                .map(|b| b.starts_with(&[0x1f, 0x8b]))
                .unwrap_or(false)
        })
        .collect();
    assert_eq!(manifest_layers.len(), 1);
    let mut bytes = std::fs::read(&manifest_layers[0]).expect("layer");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&manifest_layers[0], bytes).expect("corrupt");
    let out_file = dir.path().join("sbom.json");
    let out = wharf()
        .args(["sbom", &format!("oci:{}:v1", layout_dir.display()), "-o"])
        .arg(&out_file)
        .run();
    out.assert_code(2);
    assert!(out.stderr.contains("sha256:"), "{}", out.describe());
    assert!(!out_file.exists(), "nothing written");
}

/// A layer that takes longer to arrive than WHARF_HTTP_TIMEOUT, arriving
/// steadily: read in full (the timeout bounds silence, not size).
#[test]
fn a_slow_but_steady_layer_download_is_not_cut_off() {
    use crate::common::proxy::{Options, Proxy};
    require_registry!();
    let registry = Registry::start();
    let dir = tempfile::tempdir().expect("dir");
    // ~1 MiB that gzip cannot shrink.
    let mut noise = Vec::with_capacity(1 << 20);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while noise.len() < 1 << 20 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        noise.extend_from_slice(&x.to_le_bytes());
    }
    let layer = Layer::gzip(&tar(&[
        (
            "etc/os-release".into(),
            b"ID=debian\nVERSION_ID=\"12\"\n".to_vec(),
        ),
        ("opt/noise.bin".into(), noise),
    ]));
    let mut layout = OciLayout::new(&dir.path().join("layout"));
    layout.add_image_with("v1", "linux", "amd64", "slow", &[layer]);
    layout.push("v1", &registry, "slow/app", "v1");
    // 64 KiB every 150 ms: the layer takes ~2.5 s, each piece well within 1 s.
    let proxy = Proxy::with_options(
        registry.host(),
        Options {
            throttle: Some((64 << 10, std::time::Duration::from_millis(150))),
            ..Options::default()
        },
    );
    let started = std::time::Instant::now();
    let out = wharf()
        .env("WHARF_HTTP_TIMEOUT", "1")
        .args(["--insecure-registry", proxy.host(), "sbom"])
        .arg(format!("{}/slow/app:v1", proxy.host()))
        .run();
    out.assert_ok();
    assert!(
        started.elapsed() > std::time::Duration::from_secs(2),
        "the throttle did not slow the download, so this test proves nothing"
    );
    assert!(out.stderr.contains("(debian 12)"), "{}", out.describe());
}
