//! Parity with the peers that judge inventories and findings, on a real
//! image: Syft says what is installed, osv-scanner what is vulnerable, and
//! wharf must find at least as much. Where wharf and a peer differ by design,
//! the difference is a named rule below that says why and checks it holds for
//! that package; any other difference fails, so a new one is seen.
//!
//! The image is `scripts/parity-image.sh`'s: a Debian 12 root from
//! debootstrap (with python3, python3-pip and two Go programs Debian builds),
//! a vulnerable Django stack installed with `pip install --target`, an old
//! express tree from `npm install`, crane (a module-built Go binary) and a
//! cargo-auditable Rust binary. `.ci/run` builds it; a test builds it when it
//! is missing (a few minutes, cached under `~/.cache/wharf-parity`). The
//! ground truth is read from the image's own root: `dpkg-query`, dist-info
//! METADATA, `package.json`.
//!
//! The OSV records are `/work/shared/osv` (`WHARF_TEST_OSV`), zipped here per
//! ecosystem the way osv-scanner's offline mode reads them.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::{json, Value};

use crate::common::sigstore::peer;
use crate::common::{fixture_or_skip, output_of, scripted_fixture, wharf, Output};

const OSV: &str = "/work/shared/osv";
/// The record folders of `/work/shared/osv` (GHSA holds npm and PyPI ones).
const OSV_DIRS: &[&str] = &["PyPI", "go", "crates.io", "GHSA"];
/// The purl types compared with Syft: the ecosystems wharf catalogs and the
/// image holds.
const TYPES: &[&str] = &["deb", "pypi", "npm", "golang", "cargo"];

/// The built image: `root/` (its file system) and `layout/` (the OCI layout,
/// tag `parity`).
struct ParityImage {
    dir: PathBuf,
}

impl ParityImage {
    fn root(&self) -> PathBuf {
        self.dir.join("root")
    }

    fn layout(&self) -> PathBuf {
        self.dir.join("layout")
    }

    fn reference(&self) -> String {
        format!("oci:{}:parity", self.layout().display())
    }
}

/// The image, built by `scripts/parity-image.sh` when missing (once per test
/// process; the script itself holds a lock), or `None` with the reason
/// printed — a failure in CI, where `.ci/run` has built it.
fn parity_image(test: &str) -> Option<&'static ParityImage> {
    static IMAGE: OnceLock<Result<ParityImage, String>> = OnceLock::new();
    let image = IMAGE.get_or_init(|| {
        scripted_fixture(
            "parity-image.sh",
            "image",
            "root, debootstrap, umoci, pip, npm, cargo and crane from scripts/peers.sh",
        )
        .map(|dir| ParityImage { dir })
    });
    fixture_or_skip(test, "parity tests", image)
}

/// The OSV records, or `None` (and the reason printed) when not here.
fn osv_data(test: &str) -> Option<PathBuf> {
    let path = PathBuf::from(std::env::var_os("WHARF_TEST_OSV").unwrap_or(OSV.into()));
    if OSV_DIRS.iter().all(|d| path.join(d).is_dir()) {
        Some(path)
    } else {
        eprintln!(
            "skipping {test}: no OSV data at {} (set WHARF_TEST_OSV)",
            path.display()
        );
        None
    }
}

pub(crate) fn test_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or(module_path!())
        .to_string()
}

/// wharf's CycloneDX SBOM of the image, written to `dir/wharf.cdx.json`
/// (osv-scanner finds an SBOM by that suffix).
fn wharf_sbom(image: &ParityImage, dir: &Path) -> PathBuf {
    let path = dir.join("wharf.cdx.json");
    wharf()
        .args(["sbom", &image.reference(), "-o"])
        .arg(&path)
        .run()
        .assert_ok();
    path
}

// --- package keys ------------------------------------------------------------

/// How two inventories' packages are compared: (purl type, name, version),
/// the name with its namespace (npm scope, Go module path) and normalised as
/// the ecosystem compares names (PEP 503 for PyPI); Debian's namespace is the
/// distro, which both name.
pub(crate) type Key = (String, String, String);

/// PEP 503: lower case, runs of `-_.` as one `-`.
fn pep503(name: &str) -> String {
    let mut out = String::new();
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.extend(c.to_lowercase());
        }
    }
    out
}

pub(crate) fn key(kind: &str, name: &str, version: &str) -> Key {
    let name = if kind == "pypi" {
        pep503(name)
    } else {
        name.to_string()
    };
    // A Go main module built without a version is `(devel)` in its build
    // info (and in wharf's purl); Syft leaves the purl's version out.
    let version = if kind == "golang" && version.is_empty() {
        "(devel)"
    } else {
        version
    };
    (kind.to_string(), name, version.to_string())
}

/// A purl's key: `pkg:TYPE/NAMESPACE/NAME@VERSION?QUALIFIERS#SUBPATH`.
pub(crate) fn purl_key(purl: &str) -> Option<Key> {
    let rest = purl.strip_prefix("pkg:")?;
    let rest = rest.split(['?', '#']).next()?;
    let (kind, path) = rest.split_once('/')?;
    let (path, version) = path.rsplit_once('@').unwrap_or((path, ""));
    let path = crate::common::percent_decode(path);
    let name = match kind {
        "deb" => path.rsplit('/').next().unwrap_or(&path).to_string(),
        _ => path,
    };
    Some(key(kind, &name, &crate::common::percent_decode(version)))
}

/// Every component with a purl (nested ones too), by key: the components
/// (Syft lists a package once per place it was found).
pub(crate) fn components(bom: &Value) -> BTreeMap<Key, Vec<Value>> {
    fn walk(list: &Value, out: &mut BTreeMap<Key, Vec<Value>>) {
        for c in list.as_array().into_iter().flatten() {
            if let Some(k) = c["purl"].as_str().and_then(purl_key) {
                out.entry(k).or_default().push(c.clone());
            }
            walk(&c["components"], out);
        }
    }
    let mut out = BTreeMap::new();
    walk(&bom["components"], &mut out);
    out
}

pub(crate) fn read_json(path: &Path) -> Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

pub(crate) fn of_type(keys: &BTreeSet<Key>, kind: &str) -> BTreeSet<Key> {
    keys.iter().filter(|k| k.0 == kind).cloned().collect()
}

// --- ground truth --------------------------------------------------------------

/// What the image's root holds, read with each ecosystem's own tools and
/// files.
struct Truth {
    dpkg: BTreeSet<Key>,
    /// Every path a dpkg package owns.
    dpkg_owned: BTreeSet<String>,
    /// dist-infos no dpkg package owns.
    pypi: BTreeSet<Key>,
    /// dist-infos a dpkg package owns (Debian's python3-pip and friends).
    pypi_dpkg_owned: BTreeSet<Key>,
    npm: BTreeSet<Key>,
    /// The `package.json` of an application, outside `node_modules`.
    npm_projects: BTreeSet<Key>,
}

fn truth(root: &Path) -> Truth {
    // dpkg-query on the image's own database.
    let admindir = root.join("var/lib/dpkg");
    let out = output_of(
        Command::new("dpkg-query")
            .arg(format!("--admindir={}", admindir.display()))
            .args(["-W", "-f", "${db:Status-Abbrev} ${Package} ${Version}\n"]),
    );
    out.assert_ok();
    let dpkg = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("ii"))
        .filter_map(|l| {
            let mut f = l.split_whitespace().skip(1);
            Some(key("deb", f.next()?, f.next()?))
        })
        .collect();

    let mut owned = BTreeSet::new();
    for entry in std::fs::read_dir(admindir.join("info")).expect("dpkg info") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "list") {
            let text = std::fs::read_to_string(&path).expect("read .list");
            owned.extend(text.lines().map(str::to_string));
        }
    }

    let mut pypi = BTreeSet::new();
    let mut pypi_dpkg_owned = BTreeSet::new();
    let mut npm = BTreeSet::new();
    let mut npm_projects = BTreeSet::new();
    // Where the image keeps them: /usr (Debian's and pip's), /srv (npm's).
    for entry in walkdir::WalkDir::new(root.join("usr"))
        .into_iter()
        .chain(walkdir::WalkDir::new(root.join("srv")))
    {
        let entry = entry.expect("walk the image root");
        let path = entry.path();
        let in_image = format!("/{}", path.strip_prefix(root).unwrap().display());
        let name = entry.file_name().to_string_lossy();
        // Python's metadata: a wheel's dist-info/METADATA, an egg's
        // egg-info/PKG-INFO or egg-info file (Debian's setuptools and wheel).
        let is_metadata = (name == "METADATA" && in_image.ends_with(".dist-info/METADATA"))
            || (name == "PKG-INFO" && in_image.ends_with(".egg-info/PKG-INFO"))
            || (name.ends_with(".egg-info") && entry.file_type().is_file());
        if is_metadata {
            let text = std::fs::read_to_string(path).expect("read Python metadata");
            let field = |f: &str| {
                text.lines()
                    .take_while(|l| !l.is_empty())
                    .find_map(|l| l.strip_prefix(f))
                    .map(|v| v.trim().to_string())
                    .unwrap_or_else(|| panic!("{in_image} has no {f}"))
            };
            let k = key("pypi", &field("Name:"), &field("Version:"));
            let dir = in_image.rsplit_once('/').unwrap().0;
            if owned.contains(&in_image)
                || (!in_image.ends_with(".egg-info") && owned.contains(dir))
            {
                pypi_dpkg_owned.insert(k);
            } else {
                pypi.insert(k);
            }
        }
        if name == "package.json" && entry.file_type().is_file() {
            let Ok(value) = serde_json::from_slice::<Value>(&std::fs::read(path).unwrap()) else {
                continue;
            };
            let (Some(n), Some(v)) = (value["name"].as_str(), value["version"].as_str()) else {
                continue;
            };
            // A package's own package.json sits at node_modules/NAME/ or
            // node_modules/@SCOPE/NAME/; others (test fixtures, nested
            // "type" files) name no installed package.
            let parent = path.parent().unwrap();
            let up = |p: &Path| p.file_name().map(|f| f.to_string_lossy().into_owned());
            let grand = parent.parent();
            let is_package = grand.and_then(up).as_deref() == Some("node_modules")
                || (grand.and_then(up).is_some_and(|s| s.starts_with('@'))
                    && grand.and_then(Path::parent).and_then(up).as_deref()
                        == Some("node_modules"));
            if is_package {
                npm.insert(key("npm", n, v));
            } else if !in_image.contains("/node_modules/") {
                npm_projects.insert(key("npm", n, v));
            }
        }
    }
    Truth {
        dpkg,
        dpkg_owned: owned,
        pypi,
        pypi_dpkg_owned,
        npm,
        npm_projects,
    }
}

/// The Go modules built into the image's Go binaries that no dpkg package
/// installed, as `go version -m` reads their build info: each main module,
/// dependency (or its replacement) and toolchain (`stdlib`). `None` (said
/// why) without Go.
pub(crate) fn go_build_info(root: &Path, dpkg_owned: &BTreeSet<String>) -> Option<BTreeSet<Key>> {
    let out = Command::new("go")
        .args(["version", "-m"])
        .arg(root.join("usr"))
        .output();
    let Ok(out) = out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()) else {
        eprintln!("note: no `go` here: wharf's Go modules are compared with Syft's only");
        return None;
    };
    let mut modules = BTreeSet::new();
    let mut owned = false;
    let mut last = None;
    for line in out.lines() {
        if let Some((binary, toolchain)) = line.split_once(": go") {
            let in_image = format!("/{}", Path::new(binary).strip_prefix(root).ok()?.display());
            owned = dpkg_owned.contains(&in_image);
            if !owned {
                modules.insert(key("golang", "stdlib", toolchain.trim()));
            }
            continue;
        }
        let fields: Vec<&str> = line.split('\t').map(str::trim).collect();
        match fields.as_slice() {
            [_, "mod" | "dep", path, version, ..] if !owned => {
                let module = key("golang", path, version);
                modules.insert(module.clone());
                last = Some(module);
            }
            // A replacement is what was built in, in place of the line above.
            [_, "=>", path, version, ..] if !owned => {
                if let Some(replaced) = last.take() {
                    modules.remove(&replaced);
                }
                modules.insert(key("golang", path, version));
            }
            _ => {}
        }
    }
    Some(modules)
}

// --- Syft ------------------------------------------------------------------------

/// Where Syft found a package: its `syft:location:N:path` properties.
pub(crate) fn syft_locations(found: &[Value]) -> BTreeSet<String> {
    found
        .iter()
        .flat_map(|c| c["properties"].as_array().into_iter().flatten())
        .filter(|p| {
            p["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("syft:location:") && n.ends_with(":path"))
        })
        .filter_map(|p| p["value"].as_str().map(str::to_string))
        .collect()
}

/// Why a package Syft lists is not in wharf's SBOM, when that is by design:
/// the rule's name and reason, if one holds for this package.
fn explain_syft_extra(
    k: &Key,
    found: &[Value],
    truth: &Truth,
) -> Option<(&'static str, &'static str)> {
    match k.0.as_str() {
        // Catalog module docs: a language package whose metadata an OS
        // package owns is that OS package, listed once.
        "pypi" if truth.pypi_dpkg_owned.contains(k) => Some((
            "debian-owns-python-package",
            "the dist-info belongs to a Debian package (python3-pip, python3-setuptools, \
             python3-wheel): wharf lists it once, as that deb, which is how Debian's fixes reach \
             it; Syft lists it as a PyPI package too",
        )),
        "npm" if truth.npm_projects.contains(k) => Some((
            "npm-root-project",
            "the application's own package.json (/srv/app), not an installed package: Syft lists \
             it, wharf lists what is in node_modules",
        )),
        // The same rule for a Go binary a Debian package installed.
        "golang"
            if {
                let at = syft_locations(found);
                !at.is_empty() && at.iter().all(|p| truth.dpkg_owned.contains(p))
            } =>
        {
            Some((
                "debian-owns-go-binary",
                "found in a Go binary a Debian package installed (/usr/bin/age, age-keygen, \
                 shfmt): wharf lists the deb and not the modules built into it, whose versions \
                 are Debian's build (the main module has none, the toolchain is Debian's \
                 patched golang-1.19, named in Built-Using); Syft lists them as Go modules too",
            ))
        }
        _ => None,
    }
}

#[test]
fn syft_lists_nothing_wharf_misses_on_a_real_image() {
    let test = test_name();
    require_peers!("syft");
    let Some(image) = parity_image(&test) else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let truth = truth(&image.root());

    let wharf_bom = read_json(&wharf_sbom(image, work.path()));
    let syft_path = work.path().join("syft.cdx.json");
    let out = output_of(
        Command::new(peer("syft"))
            .args(["scan", &format!("oci-dir:{}", image.layout().display())])
            .arg("-o")
            .arg(format!("cyclonedx-json={}", syft_path.display()))
            .env("SYFT_CHECK_FOR_APP_UPDATE", "false")
            .env("HOME", work.path()),
    );
    out.assert_ok();
    let syft_bom = read_json(&syft_path);

    let ours: BTreeSet<Key> = components(&wharf_bom).into_keys().collect();
    let all_theirs = components(&syft_bom);
    let theirs: BTreeSet<Key> = all_theirs
        .keys()
        .filter(|k| TYPES.contains(&k.0.as_str()))
        .cloned()
        .collect();

    // The figures docs/scan.md quotes.
    println!("{test}: packages by type (wharf / Syft / ground truth)");
    let go = go_build_info(&image.root(), &truth.dpkg_owned);
    let truth_of = |kind: &str| match kind {
        "deb" => Some(truth.dpkg.len()),
        "pypi" => Some(truth.pypi.len()),
        "npm" => Some(truth.npm.len()),
        "golang" => go.as_ref().map(BTreeSet::len),
        _ => None,
    };
    for kind in TYPES {
        println!(
            "  {kind:8} {:4} / {:4} / {}",
            of_type(&ours, kind).len(),
            of_type(&theirs, kind).len(),
            truth_of(kind).map_or("-".to_string(), |n| n.to_string())
        );
    }
    let others: BTreeSet<&str> = all_theirs
        .keys()
        .filter(|k| !TYPES.contains(&k.0.as_str()))
        .map(|k| k.0.as_str())
        .collect();
    for kind in others {
        let names: Vec<String> = all_theirs
            .keys()
            .filter(|k| k.0 == kind)
            .map(|k| format!("{}@{}", k.1, k.2))
            .collect();
        println!(
            "  Syft also lists {kind} (not compared): {}",
            names.join(", ")
        );
    }

    // Syft's extras: each one explained, or the test fails.
    let mut explained: BTreeMap<(&str, &str), Vec<String>> = BTreeMap::new();
    let mut unexplained = Vec::new();
    for k in theirs.difference(&ours) {
        match explain_syft_extra(k, &all_theirs[k], &truth) {
            Some(rule) => explained
                .entry(rule)
                .or_default()
                .push(format!("{} {}@{}", k.0, k.1, k.2)),
            None => unexplained.push(format!("{} {}@{}", k.0, k.1, k.2)),
        }
    }
    for ((rule, why), packages) in &explained {
        println!("  Syft only, {rule} ({why}): {}", packages.join(", "));
    }
    let wharf_only: Vec<String> = ours
        .difference(&theirs)
        .map(|k| format!("{} {}@{}", k.0, k.1, k.2))
        .collect();
    if !wharf_only.is_empty() {
        println!("  wharf only: {}", wharf_only.join(", "));
    }
    assert!(
        unexplained.is_empty(),
        "Syft lists packages wharf does not, and no rule explains them:\n  {}",
        unexplained.join("\n  ")
    );

    // wharf against the image's own records, exactly (Go's: the build info
    // of the binaries no deb installed).
    let mut exact = vec![
        ("deb", &truth.dpkg),
        ("pypi", &truth.pypi),
        ("npm", &truth.npm),
    ];
    exact.extend(go.as_ref().map(|go| ("golang", go)));
    for (kind, expected) in exact {
        let found = of_type(&ours, kind);
        assert_eq!(
            &found,
            expected,
            "wharf's {kind} packages are not the image's: missing {:?}, extra {:?}",
            expected.difference(&found).collect::<Vec<_>>(),
            found.difference(expected).collect::<Vec<_>>()
        );
    }
}

// --- osv-scanner -------------------------------------------------------------------

/// The records: id → record, each once (a GHSA record may sit in two
/// folders), plus a record of ours for Debian (no Debian data is here; see
/// `debian_record`).
fn load_records(osv: &Path, extra: Vec<Value>) -> BTreeMap<String, Value> {
    let mut records = BTreeMap::new();
    for dir in OSV_DIRS {
        for entry in walkdir::WalkDir::new(osv.join(dir)).sort_by_file_name() {
            let entry = entry.expect("walk the OSV data");
            if !entry.file_name().to_string_lossy().ends_with(".json") {
                continue;
            }
            let Ok(value) = serde_json::from_slice::<Value>(&std::fs::read(entry.path()).unwrap())
            else {
                continue;
            };
            if let Some(id) = value["id"].as_str() {
                records.entry(id.to_string()).or_insert(value);
            }
        }
    }
    for record in extra {
        records.insert(record["id"].as_str().unwrap().to_string(), record);
    }
    records
}

/// The ecosystems a record names (`Debian:12` → `Debian`), with the
/// package names it gives in each.
fn affected(record: &Value) -> Vec<(String, String)> {
    record["affected"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| {
            let eco = a["package"]["ecosystem"].as_str()?;
            let name = a["package"]["name"].as_str()?;
            Some((eco.split(':').next()?.to_string(), name.to_string()))
        })
        .collect()
}

/// A Debian record naming a package the image has (this data has no
/// Debian records, and osv-scanner's offline mode needs a zip for every
/// ecosystem the SBOM names): every version of `age` affected.
fn debian_record() -> Value {
    json!({
        "schema_version": "1.6.0",
        "id": "WHARF-PARITY-0001",
        "modified": "2026-08-01T00:00:00Z",
        "published": "2026-08-01T00:00:00Z",
        "summary": "parity test record: every version of Debian's age",
        "affected": [{
            "package": {"ecosystem": "Debian:12", "name": "age"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]
        }]
    })
}

fn write_zip(path: &Path, records: &[&Value]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for record in records {
        zip.start_file(format!("{}.json", record["id"].as_str().unwrap()), options)
            .unwrap();
        zip.write_all(&serde_json::to_vec(record).unwrap()).unwrap();
    }
    zip.finish().unwrap();
}

/// A package as both reports name it: (OSV ecosystem without release,
/// name — PEP 503 for PyPI —, version — without `v` for Go).
type Pkg = (String, String, String);

fn pkg(ecosystem: &str, name: &str, version: &str) -> Pkg {
    let eco = ecosystem.split(':').next().unwrap_or(ecosystem).to_string();
    let name = if eco == "PyPI" {
        pep503(name)
    } else {
        name.to_string()
    };
    // osv-scanner writes a Go module's version as its build info does
    // (`v0.3.5`), wharf as OSV's Go ranges do (`0.3.5`).
    let version = match eco.as_str() {
        "Go" => version.strip_prefix('v').unwrap_or(version),
        _ => version,
    };
    (eco, name, version.to_string())
}

fn strings(value: &Value) -> impl Iterator<Item = String> + '_ {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
}

/// osv-scanner's JSON, per package: its groups (ids ∪ aliases), the records
/// it matched, and the name it read the package under (`--all-packages`
/// lists those with no vulnerability too).
struct OsvScanner {
    groups: BTreeMap<Pkg, Vec<BTreeSet<String>>>,
    records: BTreeMap<Pkg, BTreeSet<String>>,
    names: BTreeMap<Pkg, String>,
}

fn osv_scanner_report(report: &Value) -> OsvScanner {
    let mut out = OsvScanner {
        groups: BTreeMap::new(),
        records: BTreeMap::new(),
        names: BTreeMap::new(),
    };
    for result in report["results"].as_array().into_iter().flatten() {
        for p in result["packages"].as_array().into_iter().flatten() {
            let (Some(eco), Some(name), Some(version)) = (
                p["package"]["ecosystem"].as_str(),
                p["package"]["name"].as_str(),
                p["package"]["version"].as_str(),
            ) else {
                continue;
            };
            let key = pkg(eco, name, version);
            out.names.insert(key.clone(), name.to_string());
            let groups = out.groups.entry(key.clone()).or_default();
            for g in p["groups"].as_array().into_iter().flatten() {
                groups.push(strings(&g["ids"]).chain(strings(&g["aliases"])).collect());
            }
            let records = out.records.entry(key).or_default();
            for v in p["vulnerabilities"].as_array().into_iter().flatten() {
                records.extend(v["id"].as_str().map(str::to_string));
            }
        }
    }
    out
}

/// One of wharf's findings: every id it names (`{id} ∪ ids ∪ aliases`),
/// and the records it matched (`{id} ∪ ids`). One finding per record or one
/// per alias group (with `ids`): both read the same.
struct WharfFinding {
    names: BTreeSet<String>,
    matched: BTreeSet<String>,
}

/// wharf's JSON report, per package; informational advisories included
/// (osv-scanner does not set them apart).
fn wharf_findings(report: &Value) -> BTreeMap<Pkg, Vec<WharfFinding>> {
    let mut out: BTreeMap<Pkg, Vec<WharfFinding>> = BTreeMap::new();
    for f in ["findings", "informational"]
        .iter()
        .flat_map(|list| report[*list].as_array().into_iter().flatten())
    {
        // The name with its namespace, from the purl: `package` is the
        // name alone when the SBOM gave the namespace apart (a Go module's
        // `text` for `golang.org/x/text`).
        let name = f["purl"]
            .as_str()
            .and_then(purl_key)
            .map(|(_, name, _)| name)
            .or_else(|| f["package"].as_str().map(str::to_string))
            .unwrap_or_default();
        let key = pkg(
            f["ecosystem"].as_str().unwrap_or_default(),
            &name,
            f["installed"].as_str().unwrap_or_default(),
        );
        let matched: BTreeSet<String> = f["id"]
            .as_str()
            .map(str::to_string)
            .into_iter()
            .chain(strings(&f["ids"]))
            .collect();
        let names = matched
            .iter()
            .cloned()
            .chain(strings(&f["aliases"]))
            .collect();
        out.entry(key)
            .or_default()
            .push(WharfFinding { names, matched });
    }
    out
}

/// Why wharf matched a record on a package where osv-scanner did not, when
/// that is by design: the rule's name and reason, if one holds.
fn explain_wharf_extra(
    p: &Pkg,
    record: &str,
    records: &BTreeMap<String, Value>,
    scanner: &OsvScanner,
) -> Option<(&'static str, &'static str)> {
    // osv-scanner's offline matcher compares a record's PyPI name with the
    // package's byte for byte; wharf (as pip and osv.dev's API) compares
    // PEP 503 names. The rule holds when the record names the package only
    // otherwise than osv-scanner read it.
    if p.0 == "PyPI" {
        let read_as = scanner.names.get(p)?;
        let names: Vec<String> = affected(records.get(record)?)
            .into_iter()
            .filter(|(eco, name)| eco == "PyPI" && pep503(name) == p.1)
            .map(|(_, name)| name)
            .collect();
        if !names.is_empty() && names.iter().all(|n| n != read_as) {
            return Some((
                "pypi-name-case",
                "the record names the package in another case (Django, Jinja2, Pillow, PyYAML) \
                 than the SBOM's purl (django, jinja2, ...): osv-scanner's offline matcher \
                 compares names byte for byte, wharf by PEP 503 as pip does",
            ));
        }
    }
    None
}

#[test]
fn osv_scanner_finds_nothing_wharf_misses_on_the_same_sbom_and_data() {
    let test = test_name();
    require_peers!("osv-scanner");
    let Some(osv) = osv_data(&test) else {
        return;
    };
    let Some(image) = parity_image(&test) else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let sbom = wharf_sbom(image, work.path());

    // The same records for both: one zip per ecosystem under
    // osv-scalibr/ for osv-scanner, one zip of them all for wharf.
    let records = load_records(&osv, vec![debian_record()]);
    let db = work.path().join("osv-db");
    for eco in ["PyPI", "npm", "Go", "crates.io", "Debian"] {
        let of_eco: Vec<&Value> = records
            .values()
            .filter(|r| affected(r).iter().any(|(e, _)| e == eco))
            .collect();
        write_zip(&db.join("osv-scalibr").join(eco).join("all.zip"), &of_eco);
    }
    let all_zip = work.path().join("all.zip");
    write_zip(&all_zip, &records.values().collect::<Vec<_>>());

    let scanner_path = work.path().join("osv-scanner.json");
    let out: Output = output_of(
        Command::new(peer("osv-scanner"))
            .args([
                "scan",
                "source",
                "--offline",
                "--all-packages",
                "--all-vulns",
            ])
            .arg("--local-db-path")
            .arg(&db)
            .args(["--format", "json", "--output-file"])
            .arg(&scanner_path)
            .arg("-L")
            .arg(&sbom)
            .env("HOME", work.path()),
    );
    // 1: vulnerabilities found; anything else is a failure to scan.
    assert!(
        matches!(out.code, Some(0 | 1)),
        "osv-scanner failed\n{}",
        out.describe()
    );
    let scanner = osv_scanner_report(&read_json(&scanner_path));
    assert!(
        !scanner.names.is_empty(),
        "osv-scanner read no package from {}\n{}",
        sbom.display(),
        out.describe()
    );

    let report = wharf()
        .args(["scan", "--sbom"])
        .arg(&sbom)
        .arg("--db")
        .arg(&all_zip)
        .args(["--format", "json", "--fail-on", "none", "--offline"])
        .run();
    report.assert_ok();
    let ours = wharf_findings(&report.json());
    let none = Vec::new();

    // Every (package, group) osv-scanner reports, wharf reports: a finding
    // on that package naming one of the group's ids.
    let mut missed = Vec::new();
    let mut their_groups = 0;
    for (p, groups) in &scanner.groups {
        let findings = ours.get(p).unwrap_or(&none);
        for g in groups {
            their_groups += 1;
            if !findings.iter().any(|f| !f.names.is_disjoint(g)) {
                missed.push(format!("{p:?} group {g:?}"));
            }
        }
    }
    // Record by record: each record osv-scanner matched, wharf names.
    let mut their_records = 0;
    for (p, ids) in &scanner.records {
        let findings = ours.get(p).unwrap_or(&none);
        for id in ids {
            their_records += 1;
            if !findings.iter().any(|f| f.names.contains(id)) {
                missed.push(format!("{p:?} record {id}"));
            }
        }
    }
    // Each finding of wharf's that no group of osv-scanner's shares an id
    // with, and each record wharf matched that osv-scanner did not, is
    // explained by a rule.
    let mut explained: BTreeMap<(&str, &str), BTreeSet<String>> = BTreeMap::new();
    let mut unexplained = Vec::new();
    let (mut our_findings, mut our_records) = (0, 0);
    for (p, findings) in &ours {
        let groups = scanner.groups.get(p);
        let theirs = scanner.records.get(p);
        for f in findings {
            our_findings += 1;
            let grouped = groups.is_some_and(|gs| gs.iter().any(|g| !g.is_disjoint(&f.names)));
            for id in f.matched.iter().filter(|id| records.contains_key(*id)) {
                our_records += 1;
                if grouped && theirs.is_some_and(|t| t.contains(id)) {
                    continue;
                }
                match explain_wharf_extra(p, id, &records, &scanner) {
                    Some(rule) => {
                        explained
                            .entry(rule)
                            .or_default()
                            .insert(format!("{}@{} {id}", p.1, p.2));
                    }
                    None => unexplained.push(format!(
                        "{p:?} record {id} (in a group osv-scanner reports: {grouped})"
                    )),
                }
            }
        }
    }

    // The figures docs/scan.md quotes.
    println!(
        "{test}: wharf {our_findings} findings ({our_records} records matched), osv-scanner \
         {their_groups} groups ({their_records} records), of {} records",
        records.len()
    );
    let mut by_eco: BTreeMap<&str, [usize; 4]> = BTreeMap::new();
    for (p, fs) in &ours {
        let e = by_eco.entry(p.0.as_str()).or_default();
        e[0] += fs.len();
        e[1] += fs.iter().map(|f| f.matched.len()).sum::<usize>();
    }
    for (p, gs) in &scanner.groups {
        by_eco.entry(p.0.as_str()).or_default()[2] += gs.len();
    }
    for (p, rs) in &scanner.records {
        by_eco.entry(p.0.as_str()).or_default()[3] += rs.len();
    }
    println!("  ecosystem  wharf findings / records   osv-scanner groups / records");
    for (eco, [f, r, g, rr]) in &by_eco {
        println!("  {eco:10} {f:5} / {r:5}                {g:5} / {rr:5}");
    }
    for ((rule, why), pairs) in &explained {
        println!(
            "  wharf only, {rule} ({why}): {} records: {}",
            pairs.len(),
            pairs.iter().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    assert!(
        missed.is_empty(),
        "osv-scanner reports vulnerabilities wharf does not:\n  {}",
        missed.join("\n  ")
    );
    assert!(
        unexplained.is_empty(),
        "wharf reports vulnerabilities osv-scanner does not, and no rule explains them:\n  {}",
        unexplained.join("\n  ")
    );
}
