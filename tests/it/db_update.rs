//! `wharf db update` and the scan's own update, against a stand-in for
//! osv.dev's bucket ([`Bucket`]: GCS's status codes, ETags, `X-Goog-Hash`,
//! ranges) holding real records from `/work/shared/osv` (PyPI, Go,
//! crates.io, and the GHSA records filed under their ecosystem), zipped and
//! listed here as osv.dev publishes them. What wharf fetched is judged from
//! the bucket's own request log; what it imported, from `db status` and
//! scans.
//!
//! The figures in docs/benchmarks.md come from the ignored
//! `bench_db_update_bytes` (`benches/db-update.sh`).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::{json, Value};

use crate::common::gcs::{Bucket, Fault, Served};
use crate::common::{wharf, Output};

const OSV: &str = "/work/shared/osv";

/// One record as the bucket serves it.
#[derive(Clone)]
struct Rec {
    id: String,
    modified: String,
    bytes: Vec<u8>,
}

type Data = BTreeMap<String, Vec<Rec>>;

/// The real records by bucket directory, read once; `None` (and a printed
/// reason) when they are not on this machine.
fn data() -> Option<&'static Data> {
    static DATA: OnceLock<Option<Data>> = OnceLock::new();
    let data = DATA.get_or_init(|| {
        let root = PathBuf::from(std::env::var_os("WHARF_TEST_OSV").unwrap_or(OSV.into()));
        let dirs = [("PyPI", "PyPI"), ("Go", "go"), ("crates.io", "crates.io")];
        if !dirs.iter().all(|(_, d)| root.join(d).is_dir()) {
            return None;
        }
        let mut data = Data::new();
        for (eco, dir) in dirs {
            data.insert(eco.to_string(), read_dir(&root.join(dir)));
        }
        // GHSA records go where osv.dev puts them: under their ecosystem.
        if root.join("GHSA").is_dir() {
            for rec in read_dir(&root.join("GHSA")) {
                let v: Value = serde_json::from_slice(&rec.bytes).unwrap();
                let eco = v["affected"][0]["package"]["ecosystem"]
                    .as_str()
                    .unwrap_or("");
                if let Some(list) = data.get_mut(eco) {
                    if !list.iter().any(|r| r.id == rec.id) {
                        list.push(rec);
                    }
                }
            }
        }
        Some(data)
    });
    if data.is_none() {
        let thread = std::thread::current();
        eprintln!(
            "skipping {}: no OSV data at {OSV} (set WHARF_TEST_OSV)",
            thread.name().unwrap_or("db_update test")
        );
    }
    data.as_ref()
}

fn read_dir(dir: &Path) -> Vec<Rec> {
    let mut out = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    for path in paths {
        let bytes = std::fs::read(&path).unwrap();
        let Ok(v) = serde_json::from_slice::<Value>(&bytes) else {
            continue;
        };
        let (Some(id), Some(modified)) = (v["id"].as_str(), v["modified"].as_str()) else {
            continue;
        };
        out.push(Rec {
            id: id.to_string(),
            modified: modified.to_string(),
            bytes,
        });
    }
    out
}

fn zip_of(records: &[Rec]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for r in records {
        zip.start_file(format!("{}.json", r.id), options).unwrap();
        zip.write_all(&r.bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// `modified_id.csv` as osv.dev writes it: `<modified>,<id>`, newest first.
fn csv_of(records: &[Rec]) -> Vec<u8> {
    let mut lines: Vec<(jiff::Timestamp, &str, &str)> = records
        .iter()
        .map(|r| {
            (
                r.modified.parse().unwrap(),
                r.modified.as_str(),
                r.id.as_str(),
            )
        })
        .collect();
    lines.sort_by(|a, b| b.0.cmp(&a.0).then(a.2.cmp(b.2)));
    lines
        .iter()
        .map(|(_, m, id)| format!("{m},{id}\n"))
        .collect::<String>()
        .into_bytes()
}

/// Puts an ecosystem's `all.zip`, `modified_id.csv` and records in the bucket.
fn publish(bucket: &Bucket, eco: &str, records: &[Rec]) {
    bucket.put(&format!("{eco}/all.zip"), zip_of(records));
    bucket.put(&format!("{eco}/modified_id.csv"), csv_of(records));
    for r in records {
        bucket.put(&format!("{eco}/{}.json", r.id), r.bytes.clone());
    }
}

/// `n` records of `records` with a newer `modified`, and one new record
/// (`PYSEC-2099-1`, affecting `wharf-update-probe` < 2.0) as changed upstream.
fn change(records: &mut Vec<Rec>, n: usize) -> BTreeSet<String> {
    let mut changed = BTreeSet::new();
    let step = records.len() / n;
    for (i, r) in records.iter_mut().step_by(step).take(n).enumerate() {
        let mut v: Value = serde_json::from_slice(&r.bytes).unwrap();
        r.modified = format!("2027-01-01T00:{:02}:{:02}.{:06}Z", i / 60, i % 60, i);
        v["modified"] = json!(r.modified);
        r.bytes = serde_json::to_vec_pretty(&v).unwrap();
        changed.insert(r.id.clone());
    }
    let new = json!({
        "schema_version": "1.6.0",
        "id": "PYSEC-2099-1",
        "modified": "2027-01-02T00:00:00Z",
        "published": "2027-01-02T00:00:00Z",
        "summary": "a record published after the first download",
        "affected": [{
            "package": {"ecosystem": "PyPI", "name": "wharf-update-probe"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0"}]}]
        }]
    });
    records.push(Rec {
        id: "PYSEC-2099-1".into(),
        modified: "2027-01-02T00:00:00Z".into(),
        bytes: serde_json::to_vec_pretty(&new).unwrap(),
    });
    changed.insert("PYSEC-2099-1".into());
    changed
}

fn update(cache: &Path, bucket: &Bucket, args: &[&str]) -> Output {
    wharf()
        .env("WHARF_CACHE_DIR", cache)
        .args(["db", "update", "--mirror", &bucket.url()])
        .args(args)
        .run()
}

fn status(cache: &Path) -> Value {
    let out = wharf()
        .env("WHARF_CACHE_DIR", cache)
        .args(["db", "status", "--format", "json"])
        .run();
    out.assert_ok();
    serde_json::from_str(&out.stdout).unwrap()
}

/// A CycloneDX SBOM of PyPI packages.
fn sbom(dir: &Path, packages: &[(&str, &str)]) -> PathBuf {
    let path = dir.join("bom.json");
    let components: Vec<Value> = packages
        .iter()
        .map(|(n, v)| json!({"type": "library", "name": n, "version": v, "purl": format!("pkg:pypi/{n}@{v}")}))
        .collect();
    std::fs::write(
        &path,
        json!({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": components})
            .to_string(),
    )
    .unwrap();
    path
}

/// `wharf scan --sbom` as JSON, never failing the gate; `extra` before it.
fn scan(cache: &Path, sbom: &Path, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = wharf();
    cmd.env("WHARF_CACHE_DIR", cache);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.args(extra)
        .args(["scan", "--sbom"])
        .arg(sbom)
        .args(["--format", "json", "--fail-on", "none"])
        .run()
}

fn finding_ids(out: &Output) -> BTreeSet<String> {
    let doc: Value =
        serde_json::from_str(&out.stdout).unwrap_or_else(|_| panic!("{}", out.describe()));
    doc["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["id"].as_str().map(str::to_string))
        .collect()
}

fn distinct(data: &Data, ecos: &[&str]) -> usize {
    ecos.iter()
        .flat_map(|e| data[*e].iter().map(|r| r.id.clone()))
        .collect::<BTreeSet<_>>()
        .len()
}

fn paths(log: &[Served]) -> Vec<String> {
    log.iter()
        .map(|s| format!("{} {}", s.status, s.path))
        .collect()
}

fn bytes(log: &[Served]) -> usize {
    log.iter().map(|s| s.total).sum()
}

#[test]
fn first_update_downloads_the_zips_later_ones_only_what_changed() {
    let Some(data) = data() else { return };
    let bucket = Bucket::start();
    let mut pypi = data["PyPI"].clone();
    publish(&bucket, "PyPI", &pypi);
    publish(&bucket, "Go", &data["Go"]);
    publish(&bucket, "crates.io", &data["crates.io"]);
    let cache = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();

    // 1. The first update: each all.zip, whole.
    let out = update(
        cache.path(),
        &bucket,
        &[
            "--ecosystem",
            "pypi",
            "--ecosystem",
            "Go",
            "--ecosystem",
            "crates.io",
        ],
    );
    out.assert_ok();
    let log = bucket.take_log();
    for eco in ["PyPI", "Go", "crates.io"] {
        let zip = format!("{eco}/all.zip");
        let served: Vec<&Served> = log.iter().filter(|s| s.path == zip).collect();
        assert_eq!(served.len(), 1, "{:?}", paths(&log));
        assert_eq!(served[0].status, 200);
        assert_eq!(served[0].body, bucket.bytes(&zip).unwrap().len());
        assert!(
            out.stdout.contains(&format!("{eco}: downloaded all.zip")),
            "{}",
            out.describe()
        );
    }
    assert!(
        !log.iter().any(|s| s.path.ends_with(".json")),
        "no single record is fetched when nothing changed after the zip: {:?}",
        paths(&log)
    );
    let before = status(cache.path());
    assert_eq!(
        before["records"].as_u64().unwrap() as usize,
        distinct(data, &["PyPI", "Go", "crates.io"]),
        "{before}"
    );
    let bom = sbom(
        work.path(),
        &[("django", "2.2.0"), ("wharf-update-probe", "1.0")],
    );
    let found = scan(cache.path(), &bom, &["--offline"], &[]);
    found.assert_ok();
    let ids = finding_ids(&found);
    assert!(
        ids.len() > 10,
        "django 2.2.0 has known vulnerabilities: {ids:?}"
    );
    assert!(!ids.contains("PYSEC-2099-1"));

    // 2. Nothing changed: one conditional request per ecosystem, all 304.
    let out = update(cache.path(), &bucket, &[]);
    out.assert_ok();
    let log = bucket.take_log();
    assert_eq!(log.len(), 3, "{:?}", paths(&log));
    for s in &log {
        assert!(s.path.ends_with("/modified_id.csv"), "{s:?}");
        assert_eq!(s.status, 304, "{s:?}");
        assert!(s.if_none_match.is_some(), "{s:?}");
        assert_eq!(s.body, 0);
    }
    assert!(bytes(&log) < 3 * 512, "{} bytes for nothing", bytes(&log));
    assert_eq!(
        out.stdout.matches(": up to date").count(),
        3,
        "{}",
        out.describe()
    );

    // 3. 100 records modified upstream and one added: just those 101.
    let changed = change(&mut pypi, 100);
    publish(&bucket, "PyPI", &pypi);
    let out = update(cache.path(), &bucket, &[]);
    out.assert_ok();
    let log = bucket.take_log();
    assert!(
        !log.iter().any(|s| s.path.ends_with("all.zip")),
        "{:?}",
        paths(&log)
    );
    let fetched: BTreeSet<String> = log
        .iter()
        .filter(|s| s.path.ends_with(".json"))
        .map(|s| {
            assert_eq!(s.status, 200, "{s:?}");
            s.path
                .trim_start_matches("PyPI/")
                .trim_end_matches(".json")
                .to_string()
        })
        .collect();
    assert_eq!(fetched, changed);
    assert_eq!(
        log.iter().filter(|s| s.path.ends_with(".json")).count(),
        101,
        "each record once"
    );
    let csv: Vec<&Served> = log
        .iter()
        .filter(|s| s.path == "PyPI/modified_id.csv")
        .collect();
    assert!(
        csv.iter().all(|s| s.status == 206 && s.range.is_some()),
        "{csv:?}"
    );
    assert!(
        csv.iter().map(|s| s.body).sum::<usize>() < 64 * 1024,
        "the list is read only down to the last update: {csv:?}"
    );
    assert!(
        out.stdout.contains("PyPI: fetched 101 changed record(s)"),
        "{}",
        out.describe()
    );
    let after = status(cache.path());
    assert_eq!(
        after["records"].as_u64(),
        before["records"].as_u64().map(|n| n + 1),
        "{after}"
    );
    let found = scan(cache.path(), &bom, &["--offline"], &[]);
    found.assert_ok();
    assert!(
        finding_ids(&found).contains("PYSEC-2099-1"),
        "{}",
        found.describe()
    );

    // 4. And then nothing again.
    update(cache.path(), &bucket, &[]).assert_ok();
    let log = bucket.take_log();
    assert!(log.iter().all(|s| s.status == 304), "{:?}", paths(&log));
}

/// A cache holding PyPI as a first update leaves it, and the bucket.
fn pypi_cache(data: &Data) -> (Bucket, tempfile::TempDir) {
    let bucket = Bucket::start();
    publish(&bucket, "PyPI", &data["PyPI"]);
    let cache = tempfile::tempdir().unwrap();
    update(cache.path(), &bucket, &["--ecosystem", "PyPI"]).assert_ok();
    bucket.take_log();
    (bucket, cache)
}

/// The cache still answers as before: same status, and a scan finds.
fn still_whole(cache: &Path, before: &Value) {
    let now = status(cache);
    assert_eq!(now["records"], before["records"], "{now}");
    assert_eq!(now["newest_modified"], before["newest_modified"], "{now}");
    let work = tempfile::tempdir().unwrap();
    let bom = sbom(work.path(), &[("django", "2.2.0")]);
    let found = scan(cache, &bom, &["--offline"], &[]);
    found.assert_ok();
    assert!(!finding_ids(&found).is_empty(), "{}", found.describe());
    assert!(
        !cache.join("osv/downloads").exists(),
        "no download is left behind"
    );
}

#[test]
fn a_broken_zip_download_resumes_where_it_stopped() {
    let Some(data) = data() else { return };
    let bucket = Bucket::start();
    publish(&bucket, "PyPI", &data["PyPI"]);
    bucket.fault("PyPI/all.zip", Fault::Truncate(100_000), 1);
    let cache = tempfile::tempdir().unwrap();
    update(cache.path(), &bucket, &["--ecosystem", "PyPI"]).assert_ok();
    let log = bucket.take_log();
    let zip: Vec<&Served> = log.iter().filter(|s| s.path == "PyPI/all.zip").collect();
    assert_eq!(zip.len(), 2, "{zip:?}");
    assert_eq!((zip[0].status, zip[0].body), (200, 100_000));
    assert_eq!(zip[1].status, 206);
    assert_eq!(zip[1].range.as_deref(), Some("bytes=100000-"));
    let total = bucket.bytes("PyPI/all.zip").unwrap().len();
    assert_eq!(
        zip[1].body,
        total - 100_000,
        "only the rest is fetched again"
    );
    assert_eq!(
        status(cache.path())["records"].as_u64().unwrap() as usize,
        distinct(data, &["PyPI"])
    );
}

#[test]
fn a_zip_download_that_keeps_failing_changes_nothing() {
    let Some(data) = data() else { return };
    let (bucket, cache) = pypi_cache(data);
    let before = status(cache.path());
    // Without its state, the next update starts over with all.zip.
    std::fs::remove_file(cache.path().join("osv/update.json")).unwrap();

    bucket.fault("PyPI/all.zip", Fault::Truncate(50_000), 100);
    let out = update(cache.path(), &bucket, &["--ecosystem", "PyPI"]);
    out.assert_error(&[
        "PyPI/all.zip",
        "broke off",
        "gave up after 30 attempts",
        "the cached data of that ecosystem is unchanged",
    ]);
    still_whole(cache.path(), &before);
    bucket.clear_faults();

    bucket.fault("PyPI/all.zip", Fault::Status(503), 100);
    bucket.take_log();
    let out = update(cache.path(), &bucket, &["--ecosystem", "PyPI"]);
    out.assert_error(&["PyPI/all.zip", "503", "gave up after 4 attempts"]);
    assert_eq!(bucket.take_log().len(), 4, "four attempts, then the error");
    still_whole(cache.path(), &before);
    bucket.clear_faults();

    // Two 503s are weathered.
    bucket.fault("PyPI/all.zip", Fault::Status(503), 2);
    update(cache.path(), &bucket, &["--ecosystem", "PyPI"]).assert_ok();

    // A 429 that asks for a wait gets it (the first backoff is 0.5 s).
    std::fs::remove_file(cache.path().join("osv/update.json")).unwrap();
    bucket.fault("PyPI/all.zip", Fault::Throttle(2), 1);
    bucket.take_log();
    update(cache.path(), &bucket, &["--ecosystem", "PyPI"]).assert_ok();
    let zips: Vec<Served> = bucket
        .take_log()
        .into_iter()
        .filter(|s| s.path == "PyPI/all.zip")
        .collect();
    assert_eq!(zips.len(), 2, "{zips:?}");
    assert_eq!(zips[0].status, 429);
    let waited = zips[1].at.duration_since(zips[0].at);
    assert!(
        waited >= std::time::Duration::from_secs(2),
        "Retry-After: 2, but the retry came after {waited:?}"
    );
}

#[test]
fn a_corrupt_zip_is_refused_before_anything_is_imported() {
    let Some(data) = data() else { return };
    let (bucket, cache) = pypi_cache(data);
    let before = status(cache.path());
    std::fs::remove_file(cache.path().join("osv/update.json")).unwrap();
    // The mirror's copy itself is damaged (its hashes agree with it).
    let mut zip = bucket.bytes("PyPI/all.zip").unwrap().to_vec();
    let middle = zip.len() / 2;
    for b in &mut zip[middle..middle + 64] {
        *b ^= 0x5a;
    }
    bucket.put("PyPI/all.zip", zip);
    let out = update(cache.path(), &bucket, &["--ecosystem", "PyPI"]);
    out.assert_error(&["PyPI/all.zip", "damaged"]);
    still_whole(cache.path(), &before);
    assert!(
        !cache.path().join("osv/update.json").exists(),
        "no state is written for data that was not imported"
    );
}

#[test]
fn a_listed_record_the_mirror_lacks_changes_nothing() {
    let Some(data) = data() else { return };
    let (bucket, cache) = pypi_cache(data);
    let before = status(cache.path());
    let state_before = std::fs::read(cache.path().join("osv/update.json")).unwrap();
    let mut pypi = data["PyPI"].clone();
    let changed = change(&mut pypi, 5);
    publish(&bucket, "PyPI", &pypi);
    let gone = changed.iter().next().unwrap().clone();
    bucket.remove(&format!("PyPI/{gone}.json"));
    let out = update(cache.path(), &bucket, &[]);
    out.assert_error(&[&format!("PyPI/{gone}.json"), "404", "try again later"]);
    still_whole(cache.path(), &before);
    assert_eq!(
        std::fs::read(cache.path().join("osv/update.json")).unwrap(),
        state_before,
        "the state is as it was"
    );

    // The list unreadable: the same.
    bucket.fault("PyPI/modified_id.csv", Fault::Status(503), 100);
    let out = update(cache.path(), &bucket, &[]);
    out.assert_error(&["PyPI/modified_id.csv", "503"]);
    still_whole(cache.path(), &before);
    bucket.clear_faults();

    // Once the mirror is whole again, the update completes.
    publish(&bucket, "PyPI", &pypi);
    bucket.take_log();
    update(cache.path(), &bucket, &[]).assert_ok();
    let fetched = bucket
        .take_log()
        .iter()
        .filter(|s| s.path.ends_with(".json"))
        .count();
    assert_eq!(fetched, changed.len());
}

#[test]
fn scan_with_an_empty_cache_downloads_what_the_sbom_needs() {
    let Some(data) = data() else { return };
    let bucket = Bucket::start();
    publish(&bucket, "PyPI", &data["PyPI"]);
    publish(&bucket, "crates.io", &data["crates.io"]);
    let work = tempfile::tempdir().unwrap();
    let bom = sbom(work.path(), &[("django", "2.2.0")]);
    let mirror = bucket.url();
    let env = [("WHARF_OSV_MIRROR", mirror.as_str())];

    // --offline: the old behaviour, and not one request.
    let cache = tempfile::tempdir().unwrap();
    let out = scan(cache.path(), &bom, &["--offline"], &env);
    out.assert_error(&["no OSV database here", "wharf db update", "wharf db import"]);
    assert!(bucket.log().is_empty(), "{:?}", paths(&bucket.log()));
    // WHARF_OFFLINE too.
    let out = scan(cache.path(), &bom, &[], &[env[0], ("WHARF_OFFLINE", "1")]);
    out.assert_code(2);
    assert!(bucket.log().is_empty());

    // Online: PyPI only (the SBOM's only ecosystem), then the scan.
    let out = scan(cache.path(), &bom, &[], &env);
    out.assert_ok();
    assert!(!finding_ids(&out).is_empty(), "{}", out.describe());
    let log = bucket.take_log();
    assert!(log
        .iter()
        .any(|s| s.path == "PyPI/all.zip" && s.status == 200));
    assert!(
        log.iter().all(|s| s.path.starts_with("PyPI/")),
        "{:?}",
        paths(&log)
    );
    assert!(
        out.stderr.contains("updating the OSV data for PyPI"),
        "{}",
        out.describe()
    );

    // Fresh now: the next scan asks nothing.
    scan(cache.path(), &bom, &[], &env).assert_ok();
    assert!(bucket.take_log().is_empty());

    // Stale (checked long ago) and the mirror unreachable: a warning, and
    // the scan goes on with the data it has.
    let state_path = cache.path().join("osv/update.json");
    let mut state: Value = serde_json::from_slice(&std::fs::read(&state_path).unwrap()).unwrap();
    state["ecosystems"]["PyPI"]["checked_at"] = json!("2020-01-01T00:00:00Z");
    std::fs::write(&state_path, state.to_string()).unwrap();
    let dead = format!("http://127.0.0.1:{}", closed_port());
    let out = scan(cache.path(), &bom, &[], &[("WHARF_OSV_MIRROR", &dead)]);
    out.assert_ok();
    assert!(
        out.stderr.contains("could not update the OSV data") && out.stderr.contains(&dead),
        "{}",
        out.describe()
    );
    assert!(!finding_ids(&out).is_empty());

    // No data at all and the mirror unreachable: exit 2, saying what to do.
    let empty = tempfile::tempdir().unwrap();
    let out = scan(empty.path(), &bom, &[], &[("WHARF_OSV_MIRROR", &dead)]);
    out.assert_error(&[
        &dead,
        "WHARF_OSV_MIRROR",
        "wharf db import",
        "no OSV data to scan with",
    ]);
    assert!(!empty.path().join("osv/CURRENT").exists());

    // --db DIR is never updated.
    let dir = tempfile::tempdir().unwrap();
    let out = {
        let mut cmd = wharf();
        cmd.env("WHARF_CACHE_DIR", empty.path())
            .env("WHARF_OSV_MIRROR", &mirror)
            .args(["scan", "--sbom"])
            .arg(&bom)
            .arg("--db")
            .arg(dir.path())
            .args(["--fail-on", "none"])
            .run()
    };
    out.assert_ok();
    assert!(bucket.take_log().is_empty());
}

/// An ecosystem the mirror does not have: the scan goes on, names its
/// packages as not scanned, and does not ask again while the answer is
/// fresh; `db update --ecosystem` naming it is still an error.
#[test]
fn an_ecosystem_the_mirror_lacks_is_remembered_and_named() {
    let Some(data) = data() else { return };
    let bucket = Bucket::start();
    publish(&bucket, "PyPI", &data["PyPI"]);
    let work = tempfile::tempdir().unwrap();
    let bom = work.path().join("bom.json");
    std::fs::write(
        &bom,
        json!({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": [
            {"type": "library", "name": "django", "version": "2.2.0", "purl": "pkg:pypi/django@2.2.0"},
            {"type": "library", "name": "left-pad", "version": "1.3.0", "purl": "pkg:npm/left-pad@1.3.0"}
        ]})
        .to_string(),
    )
    .unwrap();
    let mirror = bucket.url();
    let env = [("WHARF_OSV_MIRROR", mirror.as_str())];
    let cache = tempfile::tempdir().unwrap();
    let out = scan(cache.path(), &bom, &[], &env);
    out.assert_ok();
    assert!(!finding_ids(&out).is_empty(), "{}", out.describe());
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["summary"]["not_scanned"], 1, "{}", out.describe());
    let reason = doc["not_scanned"][0]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("no vulnerability data for npm"), "{reason}");
    assert_eq!(doc["not_scanned"][0]["packages"], json!(["left-pad@1.3.0"]));
    let log = bucket.take_log();
    assert!(
        log.iter()
            .any(|s| s.path == "npm/all.zip" && s.status == 404),
        "{:?}",
        paths(&log)
    );
    // Remembered: the next scan asks the mirror nothing.
    scan(cache.path(), &bom, &[], &env).assert_ok();
    assert!(bucket.take_log().is_empty());
    // Named on the command line, it is an error (a typo, most often).
    let out = update(cache.path(), &bucket, &["--ecosystem", "npm"]);
    out.assert_error(&["npm/all.zip", "404", "ecosystems.txt"]);
}

#[test]
fn db_update_says_what_it_needs() {
    let bucket = Bucket::start();
    let cache = tempfile::tempdir().unwrap();
    let out = wharf()
        .env("WHARF_CACHE_DIR", cache.path())
        .args([
            "--offline",
            "db",
            "update",
            "--ecosystem",
            "PyPI",
            "--mirror",
            &bucket.url(),
        ])
        .run();
    out.assert_error(&["--offline", "wharf db import"]);
    let out = update(cache.path(), &bucket, &[]);
    out.assert_error(&["holds no ecosystem to refresh", "--ecosystem"]);
    assert!(bucket.log().is_empty());
    let out = update(cache.path(), &bucket, &["--ecosystem", "NoSuchEcosystem"]);
    out.assert_error(&["NoSuchEcosystem/all.zip", "404", "ecosystems.txt"]);
    let out = wharf()
        .env("WHARF_CACHE_DIR", cache.path())
        .args([
            "db",
            "update",
            "--ecosystem",
            "PyPI",
            "--mirror",
            "ftp://example.com",
        ])
        .run();
    out.assert_error(&["--mirror", "http"]);
}

#[test]
fn run_updates_the_cache_for_its_scan_stage_unless_scan_offline() {
    require_registry!();
    let crate::run::Setup { env, work, db, .. } = crate::run::setup();
    let dir = work.path();
    // The Debian records that match the image, as osv.dev's Debian directory.
    let bucket = Bucket::start();
    publish(&bucket, "Debian", &read_dir(&db));
    let cache = tempfile::tempdir().unwrap();
    let image = format!("{}:1.0", env.image("vuln"));
    let mirror = bucket.url();
    let run = |config: Option<&str>| {
        let mut cmd = env.wharf();
        cmd.current_dir(dir)
            .env("WHARF_CACHE_DIR", cache.path())
            .env("WHARF_OSV_MIRROR", &mirror)
            .args(["run", image.as_str(), "--no-sign", "--fail-on", "high"]);
        if let Some(c) = config {
            cmd.args(["--config", c]);
        }
        cmd.run()
    };

    std::fs::write(dir.join("offline.yaml"), "scan:\n  offline: true\n").unwrap();
    let out = run(Some("offline.yaml"));
    out.assert_error(&["no OSV database here"]);
    assert!(bucket.log().is_empty(), "{:?}", paths(&bucket.log()));

    // Online: Debian downloaded, and the gate fails on bash's high finding.
    let out = run(None);
    out.assert_code(1);
    let log = bucket.take_log();
    assert!(
        log.iter()
            .any(|s| s.path == "Debian/all.zip" && s.status == 200),
        "{:?}",
        paths(&log)
    );
    assert!(
        out.stderr.contains("updating the OSV data for Debian"),
        "{}",
        out.describe()
    );
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// The figures in docs/benchmarks.md: bytes `db update` moves for the
/// whole data, with nothing changed, and with 100 records changed.
#[test]
#[ignore = "benchmark: benches/db-update.sh"]
fn bench_db_update_bytes() {
    let Some(data) = data() else { return };
    let bucket = Bucket::start();
    let ecos = ["PyPI", "Go", "crates.io"];
    for eco in ecos {
        publish(&bucket, eco, &data[eco]);
    }
    let zips: usize = ecos
        .iter()
        .map(|e| bucket.bytes(&format!("{e}/all.zip")).unwrap().len())
        .sum();
    let cache = tempfile::tempdir().unwrap();
    let mut args = Vec::new();
    for eco in ecos {
        args.extend(["--ecosystem", eco]);
    }
    let first = update(cache.path(), &bucket, &args);
    first.assert_ok();
    let log = bucket.take_log();
    println!(
        "first update: {} requests, {} bytes ({} records in 3 all.zip of {zips} bytes), {:.2?}",
        log.len(),
        bytes(&log),
        distinct(data, &ecos),
        first.elapsed
    );
    let second = update(cache.path(), &bucket, &[]);
    second.assert_ok();
    let log = bucket.take_log();
    println!(
        "nothing changed: {} requests, {} bytes ({} of body), {:.2?}",
        log.len(),
        bytes(&log),
        log.iter().map(|s| s.body).sum::<usize>(),
        second.elapsed
    );
    let mut pypi = data["PyPI"].clone();
    change(&mut pypi, 100);
    publish(&bucket, "PyPI", &pypi);
    let third = update(cache.path(), &bucket, &[]);
    third.assert_ok();
    let log = bucket.take_log();
    println!(
        "100 changed + 1 new: {} requests, {} bytes ({} of body), {:.2?}",
        log.len(),
        bytes(&log),
        log.iter().map(|s| s.body).sum::<usize>(),
        third.elapsed
    );
}
