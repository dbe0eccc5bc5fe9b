//! `wharf db import|status` and `wharf::scan::db::Db` on real OSV data
//! (`/work/shared/osv`: PyPI, crates.io, Go) and on records and zips written
//! here. Expected counts and record sets are computed in the test by reading
//! the JSON directly, never from wharf's own output.
//!
//! The benchmark (`bench_*`, ignored) is driven by `benches/db.sh`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::Value;
use wharf::scan::db::{Db, Source};

use crate::common::wharf;

const OSV: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/osv");
const ECOSYSTEM_DIRS: &[&str] = &["PyPI", "crates.io", "go"];

/// The real data, or `None` (and a printed reason) when it is not on this machine.
fn real_data() -> Option<PathBuf> {
    let path = PathBuf::from(std::env::var_os("WHARF_TEST_OSV").unwrap_or(OSV.into()));
    if ECOSYSTEM_DIRS.iter().all(|d| path.join(d).is_dir()) {
        Some(path)
    } else {
        let thread = std::thread::current();
        eprintln!(
            "skipping {}: no OSV data at {} (set WHARF_TEST_OSV)",
            thread.name().unwrap_or("db test"),
            path.display()
        );
        None
    }
}

/// Every `*.json` under `dir` that is a JSON object with a string `id`.
fn valid_records(dir: &Path) -> Vec<Value> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(dir) {
        let entry = entry.unwrap();
        if !entry.file_name().to_string_lossy().ends_with(".json") {
            continue;
        }
        let Ok(value) = serde_json::from_slice::<Value>(&std::fs::read(entry.path()).unwrap())
        else {
            continue;
        };
        if value["id"].is_string() {
            out.push(value);
        }
    }
    out
}

fn packages(record: &Value) -> Vec<(String, String)> {
    record["affected"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| {
            Some((
                a["package"]["ecosystem"].as_str()?.to_string(),
                a["package"]["name"].as_str()?.to_string(),
            ))
        })
        .collect()
}

/// PEP 503, written out again here on purpose (not wharf's).
fn pep503(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    let mut out = String::new();
    for part in lower.split(['-', '_', '.']).filter(|p| !p.is_empty()) {
        if !out.is_empty() {
            out.push('-');
        }
        out.push_str(part);
    }
    out
}

fn status_json(cache: &Path, db: Option<&Path>) -> Value {
    let mut cmd = wharf();
    cmd.env("WHARF_CACHE_DIR", cache)
        .args(["db", "status", "--format", "json"]);
    if let Some(db) = db {
        cmd.arg("--db").arg(db);
    }
    let out = cmd.run();
    assert_eq!(out.code, Some(0), "{out:?}");
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
}

fn counts(status: &Value) -> BTreeMap<String, u64> {
    status["ecosystems"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect()
}

fn record(id: &str, modified: &str, ecosystem: &str, name: &str) -> String {
    serde_json::json!({
        "id": id,
        "modified": modified,
        "affected": [{"package": {"ecosystem": ecosystem, "name": name}}],
    })
    .to_string()
}

#[test]
fn import_of_the_real_data_counts_every_record_and_finds_django() {
    let Some(osv) = real_data() else { return };
    let cache = tempfile::tempdir().unwrap();
    let mut cmd = wharf();
    cmd.env("WHARF_CACHE_DIR", cache.path())
        .args(["db", "import"]);
    for d in ECOSYSTEM_DIRS {
        cmd.arg(osv.join(d));
    }
    let out = cmd.run();
    assert_eq!(out.code, Some(0), "{out:?}");

    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    let mut django = BTreeSet::new();
    let mut newest = String::new();
    let mut total = 0;
    for d in ECOSYSTEM_DIRS {
        for r in valid_records(&osv.join(d)) {
            total += 1;
            let pkgs = packages(&r);
            let ecosystems: BTreeSet<&String> = pkgs.iter().map(|(e, _)| e).collect();
            for e in ecosystems {
                *expected.entry(e.clone()).or_default() += 1;
            }
            if pkgs
                .iter()
                .any(|(e, n)| e == "PyPI" && pep503(n) == "django")
            {
                django.insert(r["id"].as_str().unwrap().to_string());
            }
            let m = r["modified"].as_str().unwrap_or("").to_string();
            newest = newest.max(m);
        }
    }
    let status = status_json(cache.path(), None);
    assert_eq!(counts(&status), expected);
    assert_eq!(status["records"].as_u64(), Some(total));
    assert_eq!(status["skipped"].as_u64(), Some(0));
    let newest_db: jiff::Timestamp = status["newest_modified"].as_str().unwrap().parse().unwrap();
    assert_eq!(newest_db, newest.parse::<jiff::Timestamp>().unwrap());
    assert!(!django.is_empty());

    let text = wharf()
        .env("WHARF_CACHE_DIR", cache.path())
        .args(["db", "status"])
        .run();
    assert_eq!(text.code, Some(0), "{text:?}");
    assert!(text.stdout.contains("newest record modified "), "{text:?}");
    assert!(text.stdout.contains(" days ago)"), "{text:?}");

    let db = Db::open(&Source::Cache(cache.path().to_path_buf())).unwrap();
    for query in ["Django", "django", "DJANGO"] {
        let found: BTreeSet<String> = db
            .records("PyPI", query)
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(found, django, "records(PyPI, {query})");
    }
    // The same answer straight from the directory, indexed in memory.
    let dir = Db::open(&Source::Dir(osv.join("PyPI"))).unwrap();
    let found: BTreeSet<String> = dir
        .records("PyPI", "Django")
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(found, django);
}

fn build_zip(path: &Path, entries: &[(&str, &[u8])]) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        if name.ends_with('/') {
            zip.add_directory(*name, options).unwrap();
        } else {
            zip.start_file(*name, options).unwrap();
            zip.write_all(bytes).unwrap();
        }
    }
    zip.finish().unwrap();
}

#[test]
fn a_zip_is_read_as_db_and_imported_with_corrupt_entries_warned() {
    let work = tempfile::tempdir().unwrap();
    let zip_path = work.path().join("all.zip");
    let a = record("GHSA-aaaa", "2024-01-01T00:00:00Z", "npm", "left-pad");
    let b = record("GHSA-bbbb", "2024-02-01T00:00:00Z", "npm", "left-pad");
    let c = record(
        "RUSTSEC-2024-0001",
        "2024-03-01T00:00:00Z",
        "crates.io",
        "foo",
    );
    build_zip(
        &zip_path,
        &[
            ("GHSA-aaaa.json", a.as_bytes()),
            ("GHSA-bbbb.json", b.as_bytes()),
            ("sub/", b""),
            ("sub/RUSTSEC-2024-0001.json", c.as_bytes()),
            ("BROKEN-1.json", b"{\"id\": \"BROKEN-1\", \"affected\": 7}"),
            ("LICENSE", b"not a record"),
        ],
    );

    let cache = tempfile::tempdir().unwrap();
    let status = status_json(cache.path(), Some(&zip_path));
    assert_eq!(
        counts(&status),
        BTreeMap::from([("crates.io".into(), 1), ("npm".into(), 2)])
    );
    assert_eq!(status["skipped"].as_u64(), Some(1));
    let warning = status["warnings"][0].as_str().unwrap();
    assert!(
        warning.contains("all.zip:BROKEN-1.json: not an OSV record"),
        "{warning}"
    );

    let db = Db::open(&Source::Zip(zip_path.clone())).unwrap();
    let ids: Vec<String> = db
        .records("npm", "left-pad")
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, ["GHSA-aaaa", "GHSA-bbbb"]);
    assert!(db.records("npm", "Left-Pad").unwrap().is_empty());

    let out = wharf()
        .env("WHARF_CACHE_DIR", cache.path())
        .args(["db", "import"])
        .arg(&zip_path)
        .run();
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stderr
            .contains("warning: skipped a corrupt OSV record: ")
            && out.stderr.contains("BROKEN-1.json"),
        "{out:?}"
    );
    let status = status_json(cache.path(), None);
    assert_eq!(status["records"].as_u64(), Some(3));
    assert_eq!(status["skipped"].as_u64(), Some(1));
}

#[test]
fn a_zip_entry_declaring_more_than_16_mib_is_skipped_unread() {
    let work = tempfile::tempdir().unwrap();
    let zip_path = work.path().join("bomb.zip");
    // 17 MiB of spaces inflates from a few KiB: the declared size is checked first.
    let mut big = vec![b' '; 17 * 1024 * 1024];
    big[0] = b'{';
    build_zip(&zip_path, &[("BOMB.json", &big)]);
    assert!(std::fs::metadata(&zip_path).unwrap().len() < 1024 * 1024);
    let db = Db::open(&Source::Zip(zip_path)).unwrap();
    assert_eq!(db.info().records, 0);
    assert!(
        db.warnings()[0].contains("larger than any OSV record"),
        "{:?}",
        db.warnings()
    );
}

#[test]
fn corrupt_records_are_warned_counted_and_the_rest_imported() {
    let data = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| std::fs::write(data.path().join(name), text).unwrap();
    write(
        "PYSEC-1.json",
        &record("PYSEC-1", "2024-01-01T00:00:00Z", "PyPI", "Jinja2"),
    );
    write("truncated.json", "{\"id\": \"PYSEC-2\", \"affected\": [");
    write("noid.json", "{\"affected\": []}");
    write("array.json", "[1, 2]");
    let cache = tempfile::tempdir().unwrap();
    let out = wharf()
        .env("WHARF_CACHE_DIR", cache.path())
        .args(["db", "import"])
        .arg(data.path())
        .run();
    assert_eq!(out.code, Some(0), "{out:?}");
    for file in ["truncated.json", "noid.json", "array.json"] {
        assert!(
            out.stderr.contains(file),
            "{file} not warned about: {out:?}"
        );
    }
    assert!(out.stdout.contains("(skipped 3 corrupt)"), "{out:?}");
    let status = status_json(cache.path(), None);
    assert_eq!(status["records"].as_u64(), Some(1));
    assert_eq!(status["skipped"].as_u64(), Some(3));
    let text = wharf()
        .env("WHARF_CACHE_DIR", cache.path())
        .args(["db", "status"])
        .run();
    assert!(
        text.stdout.contains("3 corrupt records skipped"),
        "{text:?}"
    );
    assert_eq!(
        text.stderr
            .matches("warning: skipped a corrupt OSV record")
            .count(),
        3
    );
}

#[test]
fn an_import_failing_halfway_leaves_the_old_cache() {
    let cache = tempfile::tempdir().unwrap();
    let good = tempfile::tempdir().unwrap();
    std::fs::write(
        good.path().join("A.json"),
        record("A", "2024-01-01T00:00:00Z", "Go", "example.com/m"),
    )
    .unwrap();
    let out = wharf()
        .env("WHARF_CACHE_DIR", cache.path())
        .args(["db", "import"])
        .arg(good.path())
        .run();
    assert_eq!(out.code, Some(0), "{out:?}");
    let before = status_json(cache.path(), None);
    let osv_before: BTreeSet<_> = std::fs::read_dir(cache.path().join("osv"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();

    // 300 good records (more than one parse batch, so some are written to
    // the new generation), then one that cannot be read: we run as root in
    // CI, where chmod 000 reads fine, so a dangling link it is.
    let bad = tempfile::tempdir().unwrap();
    for i in 0..300 {
        std::fs::write(
            bad.path().join(format!("B{i:03}.json")),
            record(
                &format!("B{i}"),
                "2024-01-01T00:00:00Z",
                "Go",
                "example.com/n",
            ),
        )
        .unwrap();
    }
    std::os::unix::fs::symlink(bad.path().join("missing"), bad.path().join("Z.json")).unwrap();
    let out = wharf()
        .env("WHARF_CACHE_DIR", cache.path())
        .args(["db", "import"])
        .arg(good.path())
        .arg(bad.path())
        .run();
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("Z.json"), "{out:?}");

    // All but the age, which moves with the clock.
    let without_age = |mut v: Value| {
        let o = v.as_object_mut().unwrap();
        o.remove("age_seconds");
        o.remove("age_days");
        v
    };
    let after = status_json(cache.path(), None);
    assert_eq!(without_age(after), without_age(before));
    let osv_after: BTreeSet<_> = std::fs::read_dir(cache.path().join("osv"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(osv_after, osv_before, "nothing left behind");
}

#[test]
fn imports_running_at_once_keep_every_record() {
    // Parallel jobs on one runner share the cache; each imports its own
    // records. An import that read the live generation before another
    // swapped in its own would drop that one's records, or remove the
    // generation the other was about to make live.
    let cache = tempfile::tempdir().unwrap();
    let sources: Vec<tempfile::TempDir> = (0..4)
        .map(|job| {
            let dir = tempfile::tempdir().unwrap();
            for i in 0..2000 {
                std::fs::write(
                    dir.path().join(format!("J{job}-{i}.json")),
                    record(
                        &format!("J{job}-{i}"),
                        "2024-01-01T00:00:00Z",
                        "Go",
                        &format!("example.com/job{job}"),
                    ),
                )
                .unwrap();
            }
            dir
        })
        .collect();
    let outs: Vec<_> = std::thread::scope(|scope| {
        let jobs: Vec<_> = sources
            .iter()
            .map(|dir| {
                let cache = cache.path();
                scope.spawn(move || {
                    wharf()
                        .env("WHARF_CACHE_DIR", cache)
                        .args(["db", "import"])
                        .arg(dir.path())
                        .run()
                })
            })
            .collect();
        jobs.into_iter().map(|j| j.join().unwrap()).collect()
    });
    for out in &outs {
        assert_eq!(out.code, Some(0), "{out:?}");
    }
    let status = status_json(cache.path(), None);
    assert_eq!(counts(&status).get("Go"), Some(&8000), "{status}");
    let generations = std::fs::read_dir(cache.path().join("osv"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("gen-")
        })
        .count();
    assert_eq!(
        generations, 2,
        "the live generation and the one it replaced"
    );
}

#[test]
fn scans_during_imports_see_one_generation_or_the_next() {
    // Scans take no lock: a scan that opened the manifest just before an
    // import swapped in the next must still find every file it names, and
    // always see whole generations (all of an import's shards, or none).
    let cache = tempfile::tempdir().unwrap();
    let write_batch = |dir: &Path, round: usize| {
        for i in 0..200 {
            for (ecosystem, name) in [("npm", "left-pad"), ("PyPI", "django")] {
                std::fs::write(
                    dir.join(format!("{ecosystem}-{i}.json")),
                    record(
                        &format!("{ecosystem}-{i}"),
                        &format!("2024-01-01T00:00:{:02}Z", round),
                        ecosystem,
                        &format!("{name}-{round}"),
                    ),
                )
                .unwrap();
            }
        }
    };
    let first = tempfile::tempdir().unwrap();
    write_batch(first.path(), 0);
    let out = wharf()
        .env("WHARF_CACHE_DIR", cache.path())
        .args(["db", "import"])
        .arg(first.path())
        .run();
    assert_eq!(out.code, Some(0), "{out:?}");
    let rounds = 6;
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        let importer = scope.spawn(|| {
            for round in 1..=rounds {
                let dir = tempfile::tempdir().unwrap();
                write_batch(dir.path(), round);
                let out = wharf()
                    .env("WHARF_CACHE_DIR", cache.path())
                    .args(["db", "import"])
                    .arg(dir.path())
                    .run();
                assert_eq!(out.code, Some(0), "{out:?}");
            }
            done.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        let mut scans = 0;
        while !done.load(std::sync::atomic::Ordering::SeqCst) {
            let db = Db::open(&Source::Cache(cache.path().to_path_buf())).unwrap();
            assert_eq!(db.info().records, 400);
            // Both shards of one generation: the same round in npm and PyPI.
            let round = (0..=rounds)
                .find(|r| {
                    !db.records("npm", &format!("left-pad-{r}"))
                        .unwrap()
                        .is_empty()
                })
                .expect("npm records of some round");
            assert_eq!(
                db.records("npm", &format!("left-pad-{round}"))
                    .unwrap()
                    .len(),
                200
            );
            assert_eq!(
                db.records("PyPI", &format!("django-{round}"))
                    .unwrap()
                    .len(),
                200,
                "round {round}"
            );
            scans += 1;
        }
        importer.join().unwrap();
        assert!(scans > 0);
    });
}

#[test]
fn the_cache_is_where_wharf_cache_dir_then_xdg_then_home_say() {
    let data = tempfile::tempdir().unwrap();
    std::fs::write(
        data.path().join("A.json"),
        record("A", "2024-01-01T00:00:00Z", "crates.io", "x"),
    )
    .unwrap();
    // Returns the run, whose temporary HOME lives as long as it does.
    let imported = |configure: &dyn Fn(&mut crate::common::Wharf)| {
        let mut cmd = wharf();
        cmd.env_remove("XDG_CACHE_HOME");
        configure(&mut cmd);
        cmd.args(["db", "import"]).arg(data.path());
        let out = cmd.run();
        assert_eq!(out.code, Some(0), "{out:?}");
        cmd
    };

    let explicit = tempfile::tempdir().unwrap();
    let xdg = tempfile::tempdir().unwrap();
    let run = imported(&|c| {
        c.env("WHARF_CACHE_DIR", explicit.path())
            .env("XDG_CACHE_HOME", xdg.path());
    });
    assert!(explicit.path().join("osv/CURRENT").is_file());
    assert!(!xdg.path().join("wharf").exists());
    assert!(!run.home().join(".cache").exists());

    let run = imported(&|c| {
        c.env("XDG_CACHE_HOME", xdg.path());
    });
    assert!(xdg.path().join("wharf/osv/CURRENT").is_file());
    assert!(!run.home().join(".cache").exists());

    let run = imported(&|_| {});
    assert!(run.home().join(".cache/wharf/osv/CURRENT").is_file());
}

#[test]
fn status_without_an_import_says_what_to_do() {
    let cache = tempfile::tempdir().unwrap();
    let out = wharf()
        .env("WHARF_CACHE_DIR", cache.path())
        .args(["db", "status"])
        .run();
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("run `wharf db import"), "{out:?}");
}

// --- The benchmark (ignored; `benches/db.sh` runs each in its own process) ---

/// 2,000 (ecosystem, name) pairs that all have records: the worst case for
/// lookups (a real SBOM mostly misses). Taken in file order, round-robin
/// over the ecosystems, from the data itself.
fn bench_queries(osv: &Path) -> Vec<(String, String)> {
    let mut per: Vec<Vec<(String, String)>> = Vec::new();
    for d in ECOSYSTEM_DIRS {
        let mut seen = BTreeSet::new();
        let mut list = Vec::new();
        for r in valid_records(&osv.join(d)) {
            for key in packages(&r) {
                if seen.insert(key.clone()) {
                    list.push(key);
                }
            }
        }
        per.push(list);
    }
    let mut out = Vec::new();
    let mut i = 0;
    while out.len() < 2000 && per.iter().any(|l| i < l.len()) {
        for list in &per {
            if let Some(k) = list.get(i) {
                if out.len() < 2000 {
                    out.push(k.clone());
                }
            }
        }
        i += 1;
    }
    out
}

fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Opens `source` and runs the queries twice in the same process: the first
/// pass is as cold as the page cache the script left, the second is warm.
fn bench_lookups(label: &str, source: Source) {
    let Some(osv) = real_data() else { return };
    // Queries come from a file the script wrote, so reading the data to make
    // them does not warm the page cache or the peak RSS of this process.
    let queries: Vec<(String, String)> = match std::env::var_os("WHARF_BENCH_QUERIES") {
        Some(path) => serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap(),
        None => bench_queries(&osv),
    };
    let hwm_before = vm_hwm_kib();
    for pass in ["cold", "warm"] {
        let start = Instant::now();
        let db = Db::open(&source).unwrap();
        let opened = start.elapsed();
        let mut found = 0;
        for (e, n) in &queries {
            found += db.records(e, n).unwrap().len();
        }
        let total = start.elapsed();
        println!(
            "BENCH {label} {pass}: open {:.1} ms, {} lookups {:.1} ms, total {:.1} ms, {found} records returned, {} records indexed",
            opened.as_secs_f64() * 1e3,
            queries.len(),
            (total - opened).as_secs_f64() * 1e3,
            total.as_secs_f64() * 1e3,
            db.info().records,
        );
    }
    println!(
        "BENCH {label}: VmHWM {} MiB (before open: {} MiB)",
        vm_hwm_kib() / 1024,
        hwm_before / 1024
    );
}

#[test]
#[ignore = "benchmark: benches/db.sh"]
fn bench_write_queries() {
    let Some(osv) = real_data() else { return };
    let path = std::env::var_os("WHARF_BENCH_QUERIES").expect("WHARF_BENCH_QUERIES");
    std::fs::write(path, serde_json::to_vec(&bench_queries(&osv)).unwrap()).unwrap();
}

#[test]
#[ignore = "benchmark: benches/db.sh"]
fn bench_lookups_cache() {
    let root = std::env::var_os("WHARF_CACHE_DIR").expect("WHARF_CACHE_DIR");
    bench_lookups("cache", Source::Cache(root.into()));
}

#[test]
#[ignore = "benchmark: benches/db.sh"]
fn bench_lookups_dir() {
    let dir = std::env::var_os("WHARF_BENCH_DIR").expect("WHARF_BENCH_DIR");
    bench_lookups("dir", Source::Dir(dir.into()));
}

#[test]
#[ignore = "benchmark: benches/db.sh"]
fn bench_lookups_zip() {
    let dir = std::env::var_os("WHARF_BENCH_ZIP").expect("WHARF_BENCH_ZIP");
    bench_lookups("zip", Source::Zip(dir.into()));
}
