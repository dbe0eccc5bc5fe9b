//! `wharf scan` end to end: real OSV records from `../shared/osv` against
//! images holding known-vulnerable Python packages (the expected findings
//! computed independently, with Python's `packaging`), Debian matching
//! through small records written here, the gate's flags, ignore files, VEX,
//! and bad data.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::common::oci::{Layer, OciLayout};
use crate::common::{wharf, Output};

pub(crate) fn tar(files: &[(String, Vec<u8>)]) -> Vec<u8> {
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

/// An `oci:` image of `files` (one layer); the reference to pass wharf.
fn image(dir: &Path, files: &[(String, Vec<u8>)]) -> String {
    let layout = dir.join("layout");
    let mut oci = OciLayout::new(&layout);
    oci.add_image_with("v1", "linux", "amd64", "scan", &[Layer::gzip(&tar(files))]);
    format!("oci:{}:v1", layout.display())
}

fn dist_info(name: &str, version: &str) -> (String, Vec<u8>) {
    (
        format!("usr/lib/python3/site-packages/{name}-{version}.dist-info/METADATA"),
        format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n").into_bytes(),
    )
}

fn shared_osv(test: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/osv");
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("skipping {test}: ../shared/osv is not here");
        None
    }
}

/// The oracle: which PyPI records affect `name==version`, by Python's
/// `packaging` and the OSV range rules, from the JSON files themselves.
const ORACLE: &str = r#"
import json, glob, sys, re
from packaging.version import Version, InvalidVersion
root, pkgs = sys.argv[1], json.loads(sys.argv[2])
canon = lambda n: re.sub(r"[-_.]+", "-", n).lower()
out = set()
# PyPA's records and GitHub's advisories (GHSA/, whose PyPI entries alias
# them): every record whose package is PyPI's, as wharf reads the directory.
for f in glob.glob(root + "/PyPI/*.json") + glob.glob(root + "/GHSA/*.json"):
    r = json.load(open(f))
    if r.get("withdrawn"):
        continue
    for name, version in pkgs:
        v = Version(version)
        for a in r.get("affected", []):
            p = a.get("package", {})
            if p.get("ecosystem") != "PyPI" or canon(p.get("name", "")) != canon(name):
                continue
            hit = any(Version(x) == v for x in a.get("versions", []) if re.match(r"^[0-9]", x))
            for rg in a.get("ranges", []):
                if rg.get("type") not in ("ECOSYSTEM", "SEMVER"):
                    continue
                evs = []
                for e in rg.get("events", []):
                    (k, x), = e.items()
                    evs.append((k, None if x == "0" else Version(x)))
                evs.sort(key=lambda e: (e[1] is not None, e[1] or Version("0")))
                aff = False
                for k, x in evs:
                    if k == "introduced" and (x is None or v >= x): aff = True
                    elif k == "fixed" and v >= x: aff = False
                    elif k == "last_affected" and v > x: aff = False
                hit = hit or aff
            if hit:
                out.add((r["id"], name))
print(json.dumps(sorted(out)))
"#;

fn scan(args: &[&str]) -> Output {
    wharf().arg("scan").args(args).run()
}

fn findings(out: &Output) -> Vec<Value> {
    let doc: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("scan JSON: {e}\n{}", out.describe()));
    doc["findings"].as_array().cloned().unwrap_or_default()
}

#[test]
fn python_findings_are_exactly_what_packaging_says_the_records_mean() {
    let test = "python_findings_are_exactly_what_packaging_says_the_records_mean";
    let (Some(osv), Some(python)) = (
        shared_osv(test),
        crate::common::python_with(test, "packaging.version"),
    ) else {
        return;
    };
    let pkgs = [
        ("requests", "2.19.0"),
        ("Jinja2", "2.10"),
        ("Django", "3.2.0"),
        ("urllib3", "1.24.1"),
        ("PyYAML", "5.3"),
        ("Werkzeug", "0.15.0"),
        ("cryptography", "41.0.0"),
    ];
    let dir = tempfile::tempdir().expect("dir");
    let files: Vec<_> = pkgs.iter().map(|(n, v)| dist_info(n, v)).collect();
    let image = image(dir.path(), &files);
    let oracle = Command::new(&python)
        .args(["-c", ORACLE])
        .arg(&osv)
        .arg(serde_json::to_string(&pkgs).expect("json"))
        .output()
        .expect("run the oracle");
    assert!(
        oracle.status.success(),
        "{}",
        String::from_utf8_lossy(&oracle.stderr)
    );
    let expected: BTreeSet<(String, String)> =
        serde_json::from_slice::<Vec<(String, String)>>(&oracle.stdout)
            .expect("oracle JSON")
            .into_iter()
            .collect();
    assert!(
        expected.len() > 20,
        "the oracle found too little to prove anything: {expected:?}"
    );

    let out = scan(&[
        &image,
        "--db",
        osv.to_str().unwrap(),
        "--format",
        "json",
        "--fail-on",
        "none",
    ]);
    out.assert_ok();
    // One finding per vulnerability: each record is in exactly one
    // finding's ids, and no two findings of a package share a name.
    let found = findings(&out);
    let mut got: BTreeSet<(String, String)> = BTreeSet::new();
    let mut names: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &found {
        let package = f["package"].as_str().unwrap_or_default().to_string();
        let ids: Vec<String> = f["ids"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect();
        assert_eq!(f["id"].as_str(), ids.first().map(String::as_str), "{f}");
        let aliases = f["aliases"].as_array().into_iter().flatten();
        for name in ids
            .iter()
            .cloned()
            .chain(aliases.filter_map(|a| a.as_str().map(str::to_string)))
        {
            assert!(
                names
                    .entry(package.clone())
                    .or_default()
                    .insert(name.clone()),
                "{name} is reported twice for {package}:\n{}",
                out.stdout
            );
        }
        for id in ids {
            assert!(got.insert((id.clone(), package.clone())), "{id} twice");
        }
    }
    assert_eq!(got, expected);
    // UNKNOWN only where no record of the group carries a rating.
    for f in found.iter().filter(|f| f["severity"] == "UNKNOWN") {
        for id in f["ids"].as_array().into_iter().flatten() {
            let id = id.as_str().unwrap_or_default();
            let record = ["PyPI", "GHSA"]
                .iter()
                .map(|d| osv.join(d).join(format!("{id}.json")))
                .find(|p| p.is_file())
                .and_then(|p| std::fs::read(p).ok())
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                .unwrap_or_else(|| panic!("no record file for {id}"));
            let rated = record["severity"].as_array().is_some_and(|s| !s.is_empty())
                || record["database_specific"]["severity"].is_string();
            assert!(!rated, "{id} is rated but its group is UNKNOWN: {f}");
        }
    }
    assert!(
        found.len() < expected.len(),
        "the PyPA and GitHub records of one vulnerability were not grouped: {} findings for {} records",
        found.len(),
        expected.len()
    );
}

/// Small Debian records, in OSV form, written for the test.
pub(crate) fn debian_db(dir: &Path) -> PathBuf {
    let db = dir.join("osv");
    std::fs::create_dir_all(&db).expect("db dir");
    let record = |id: &str, eco: &str, name: &str, fixed: &str, urgency: &str| {
        json!({
            "id": id, "modified": "2026-11-20T00:00:00Z", "summary": format!("{name} issue"),
            "affected": [{"package": {"ecosystem": eco, "name": name},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}],
                "ecosystem_specific": {"urgency": urgency}}]
        })
    };
    let records = [
        record(
            "DEBIAN-CVE-2026-0001",
            "Debian:12",
            "bash",
            "5.2.15-3",
            "high",
        ),
        record(
            "DEBIAN-CVE-2026-0002",
            "Debian:11",
            "bash",
            "5.2.15-3",
            "high",
        ),
        record(
            "DEBIAN-CVE-2026-0003",
            "Debian:12",
            "openssl",
            "3.0.13-1~deb12u1",
            "medium",
        ),
        record(
            "DEBIAN-CVE-2026-0004",
            "Debian:12",
            "libssl3",
            "9.9",
            "high",
        ),
        record(
            "DEBIAN-CVE-2026-0005",
            "Debian:12",
            "bash",
            "5.2.15-2",
            "low",
        ),
    ];
    for r in records {
        std::fs::write(
            db.join(format!("{}.json", r["id"].as_str().unwrap())),
            r.to_string(),
        )
        .expect("record");
    }
    db
}

/// A Debian 12 root with bash 5.2.15-2+b8 (high and low findings in
/// [`debian_db`]) and libssl3 from openssl 3.0.11 (medium).
pub(crate) fn debian_files() -> Vec<(String, Vec<u8>)> {
    let status = "Package: bash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 5.2.15-2+b8\n\n\
Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\nSource: openssl\nVersion: 3.0.11-1~deb12u2\n\n";
    vec![
        (
            "etc/os-release".into(),
            b"ID=debian\nVERSION_ID=\"12\"\n".to_vec(),
        ),
        ("var/lib/dpkg/status".into(), status.as_bytes().to_vec()),
    ]
}

fn debian_image(dir: &Path) -> String {
    image(dir, &debian_files())
}

#[test]
fn debian_matches_by_source_package_and_release() {
    let dir = tempfile::tempdir().expect("dir");
    let db = debian_db(dir.path());
    let image = debian_image(dir.path());
    let out = scan(&[
        &image,
        "--db",
        db.to_str().unwrap(),
        "--format",
        "json",
        "--fail-on",
        "none",
    ]);
    out.assert_ok();
    let got: BTreeSet<(String, String, Option<String>)> = findings(&out)
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap_or_default().to_string(),
                f["package"].as_str().unwrap_or_default().to_string(),
                f["fixed"].as_str().map(str::to_string),
            )
        })
        .collect();
    let want: BTreeSet<(String, String, Option<String>)> = [
        // The binNMU 5.2.15-2+b8 is source 5.2.15-2: before 5.2.15-3, at 5.2.15-2.
        ("DEBIAN-CVE-2026-0001", "bash", Some("5.2.15-3")),
        // Through its source package, openssl.
        ("DEBIAN-CVE-2026-0003", "libssl3", Some("3.0.13-1~deb12u1")),
    ]
    .into_iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.map(str::to_string)))
    .collect();
    assert_eq!(
        got, want,
        "Debian:11 and binary-name records do not match; fixed-at-source does not"
    );
    let bash = findings(&out)
        .into_iter()
        .find(|f| f["id"] == "DEBIAN-CVE-2026-0001")
        .unwrap();
    assert_eq!(bash["severity"], "HIGH", "from the Debian urgency");
}

#[test]
fn the_gate_fails_only_on_what_it_is_told_to() {
    let dir = tempfile::tempdir().expect("dir");
    let db = debian_db(dir.path());
    let image = debian_image(dir.path());
    let db = db.to_str().unwrap();
    // HIGH and MEDIUM findings: critical passes, high fails, none passes.
    scan(&[&image, "--db", db]).assert_ok();
    let out = scan(&[&image, "--db", db, "--fail-on", "high"]);
    out.assert_code(1);
    assert!(
        out.stdout.contains("DEBIAN-CVE-2026-0003"),
        "everything is reported: {}",
        out.describe()
    );
    scan(&[&image, "--db", db, "--fail-on", "none"]).assert_ok();
    scan(&[&image, "--db", db, "--fail-on", "medium"]).assert_code(1);
    let bad = scan(&[&image, "--db", db, "--fail-on", "severe"]);
    bad.assert_code(2);

    // An ignore entry with its reason takes bash's HIGH out of the gate.
    let ignore = dir.path().join("ignore.yaml");
    std::fs::write(&ignore, "ignore:\n  - id: DEBIAN-CVE-2026-0001\n    package: bash\n    reason: \"rbash only, not reachable\"\n").expect("write");
    let out = scan(&[
        &image,
        "--db",
        db,
        "--fail-on",
        "high",
        "--ignore-file",
        ignore.to_str().unwrap(),
        "--format",
        "json",
    ]);
    out.assert_ok();
    let bash = findings(&out)
        .into_iter()
        .find(|f| f["id"] == "DEBIAN-CVE-2026-0001")
        .expect("still reported");
    assert_eq!(bash["suppressed"]["by"], "ignore-file");
    assert!(bash["suppressed"]["reason"]
        .as_str()
        .unwrap()
        .contains("rbash only"));
    // Expired: it stops ignoring, and says so.
    std::fs::write(&ignore, "ignore:\n  - id: DEBIAN-CVE-2026-0001\n    reason: old decision\n    expires: 2020-01-01\n").expect("write");
    let out = scan(&[
        &image,
        "--db",
        db,
        "--fail-on",
        "high",
        "--ignore-file",
        ignore.to_str().unwrap(),
    ]);
    out.assert_code(1);
    assert!(out.stderr.contains("expired"), "{}", out.describe());
    // No reason: an error, not a silent ignore.
    std::fs::write(&ignore, "ignore:\n  - id: DEBIAN-CVE-2026-0001\n").expect("write");
    let out = scan(&[
        &image,
        "--db",
        db,
        "--ignore-file",
        ignore.to_str().unwrap(),
    ]);
    out.assert_code(2);
    assert!(out.stderr.contains("reason"), "{}", out.describe());

    // VEX: not_affected for bash.
    let vex = dir.path().join("vex.json");
    std::fs::write(&vex, json!({
        "@context": "https://openvex.dev/ns/v0.2.0", "@id": "x", "author": "t", "timestamp": "2026-01-01T00:00:00Z", "version": 1,
        "statements": [{"vulnerability": {"name": "DEBIAN-CVE-2026-0001"}, "products": [{"@id": "pkg:deb/debian/bash"}],
                        "status": "not_affected", "justification": "vulnerable_code_not_present"}]
    }).to_string()).expect("write");
    let out = scan(&[
        &image,
        "--db",
        db,
        "--fail-on",
        "high",
        "--vex",
        vex.to_str().unwrap(),
        "--format",
        "json",
    ]);
    out.assert_ok();
    let bash = findings(&out)
        .into_iter()
        .find(|f| f["id"] == "DEBIAN-CVE-2026-0001")
        .expect("still reported");
    assert_eq!(bash["suppressed"]["by"], "vex");
}

#[test]
fn bad_data_is_counted_and_unparsable_versions_are_reported() {
    let dir = tempfile::tempdir().expect("dir");
    let db = debian_db(dir.path());
    std::fs::write(db.join("BROKEN-1.json"), "{ not json").expect("write");
    std::fs::write(db.join("PYSEC-X.json"), json!({
        "id": "PYSEC-X", "modified": "2026-11-20T00:00:00Z",
        "affected": [{"package": {"ecosystem": "PyPI", "name": "weird"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0"}]}]}]
    }).to_string()).expect("write");
    std::fs::write(db.join("UNKNOWN-1.json"), json!({
        "id": "UNKNOWN-1", "affected": [{"package": {"ecosystem": "Nonesuch", "name": "bash"}, "versions": ["1"]}]
    }).to_string()).expect("write");
    let image = image(dir.path(), &[dist_info("weird", "not!a!version")]);
    let out = scan(&[
        &image,
        "--db",
        db.to_str().unwrap(),
        "--format",
        "json",
        "--fail-on",
        "none",
    ]);
    out.assert_ok();
    assert!(
        out.stderr.contains("BROKEN-1.json"),
        "the corrupt record is named: {}",
        out.describe()
    );
    let doc: Value = serde_json::from_str(&out.stdout).expect("JSON");
    let unparsable = doc["unparsable"].as_array().cloned().unwrap_or_default();
    assert_eq!(unparsable.len(), 1, "{doc}");
    assert_eq!(unparsable[0]["id"], "PYSEC-X");
}

#[test]
fn rustsec_informational_advisories_are_reported_apart_from_an_sbom() {
    let test = "rustsec_informational_advisories_are_reported_apart_from_an_sbom";
    let Some(osv) = shared_osv(test) else { return };
    let dir = tempfile::tempdir().expect("dir");
    let sbom = dir.path().join("bom.json");
    std::fs::write(
        &sbom,
        json!({
            "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
            "components": [
                {"type": "library", "name": "libusb", "version": "0.3.0", "purl": "pkg:cargo/libusb@0.3.0"},
                {"type": "library", "name": "libusb", "version": "0.3.1", "purl": "pkg:cargo/libusb@0.3.1"}
            ]
        })
        .to_string(),
    )
    .expect("write");
    let out = scan(&[
        "--sbom",
        sbom.to_str().unwrap(),
        "--db",
        osv.to_str().unwrap(),
        "--format",
        "json",
        "--fail-on",
        "low",
    ]);
    out.assert_ok();
    let doc: Value = serde_json::from_str(&out.stdout).expect("JSON");
    let info: Vec<(String, String)> = doc["informational"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap_or_default().to_string(),
                f["installed"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        info,
        [("RUSTSEC-2016-0004".to_string(), "0.3.0".to_string())],
        "{doc}"
    );
    assert!(
        doc["findings"]
            .as_array()
            .is_some_and(|f| f.iter().all(|f| f["id"] != "RUSTSEC-2016-0004")),
        "not a vulnerability: {doc}"
    );
}
