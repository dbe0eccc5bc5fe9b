//! Unit tests of the db over small records written here; the real data
//! (`/work/shared/osv`) is exercised by the integration tests.

use std::collections::BTreeMap;
use std::path::Path;

use super::*;

fn record(id: &str, modified: &str, packages: &[(&str, &str)]) -> String {
    let affected: Vec<_> = packages
        .iter()
        .map(|(e, n)| serde_json::json!({"package": {"ecosystem": e, "name": n}}))
        .collect();
    serde_json::json!({"id": id, "modified": modified, "affected": affected}).to_string()
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

fn ids(records: &[Record]) -> Vec<&str> {
    records.iter().map(|r| r.id.as_str()).collect()
}

fn sample(dir: &Path) {
    write(
        dir,
        "A.json",
        &record("A", "2024-01-01T00:00:00Z", &[("PyPI", "Django")]),
    );
    write(
        dir,
        "B.json",
        &record(
            "B",
            "2024-03-01T00:00:00Z",
            &[("PyPI", "django"), ("Debian:12", "python-django")],
        ),
    );
    write(
        dir,
        "C.json",
        &record(
            "C",
            "2023-01-01T00:00:00Z",
            &[("Debian:11", "python-django")],
        ),
    );
    write(dir, "bad.json", "{\"id\": ");
    write(dir, "noid.json", "{\"modified\": \"2024-01-01T00:00:00Z\"}");
    write(dir, "README.md", "not a record");
}

#[test]
fn dir_source_indexes_and_looks_up() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    let db = Db::open(&Source::Dir(dir.path().to_path_buf())).unwrap();
    assert_eq!(ids(&db.records("PyPI", "DJANGO").unwrap()), ["A", "B"]);
    assert_eq!(ids(&db.records("PyPI", "django").unwrap()), ["A", "B"]);
    assert_eq!(
        ids(&db.records("Debian:12", "python-django").unwrap()),
        ["B"]
    );
    assert_eq!(
        ids(&db.records("Debian:11", "python-django").unwrap()),
        ["C"]
    );
    assert!(db.records("Debian:12", "Python-Django").unwrap().is_empty());
    assert!(db.records("npm", "django").unwrap().is_empty());
    let info = db.info();
    assert_eq!(info.records, 3);
    assert_eq!(info.per_ecosystem["PyPI"], 2);
    assert_eq!(info.per_ecosystem["Debian:12"], 1);
    assert_eq!(info.skipped, 2);
    let warnings = db.warnings().join("\n");
    assert!(
        warnings.contains("bad.json: not an OSV record"),
        "{warnings}"
    );
    assert!(warnings.contains("noid.json: not an OSV record: missing field `id`"));
    assert_eq!(
        info.newest_modified,
        Some("2024-03-01T00:00:00Z".parse().unwrap())
    );
    let age = info.age("2024-03-11T00:00:00Z".parse().unwrap()).unwrap();
    assert_eq!(age.as_secs(), 10 * 86_400);
}

#[test]
fn a_record_that_goes_bad_after_open_is_skipped_and_warned() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    let db = Db::open(&Source::Dir(dir.path().to_path_buf())).unwrap();
    write(dir.path(), "A.json", "[]");
    assert_eq!(ids(&db.records("PyPI", "django").unwrap()), ["B"]);
    assert_eq!(db.info().skipped, 3);
}

#[test]
fn oversized_records_are_corrupt_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let big = std::fs::File::create(dir.path().join("BIG.json")).unwrap();
    big.set_len(read::MAX_RECORD_BYTES + 1).unwrap();
    let db = Db::open(&Source::Dir(dir.path().to_path_buf())).unwrap();
    assert_eq!(db.info().records, 0);
    assert!(db.warnings()[0].contains("larger than any OSV record"));
}

#[test]
fn cache_import_merges_newest_wins_and_keeps_others() {
    let root = tempfile::tempdir().unwrap();
    let one = tempfile::tempdir().unwrap();
    sample(one.path());
    let summary = import(&[one.path().to_path_buf()], root.path()).unwrap();
    assert_eq!((summary.added, summary.total), (3, 3));
    assert_eq!(summary.warnings.len(), 2);

    let two = tempfile::tempdir().unwrap();
    // A newer A (now about flask), an older B (ignored), a new D.
    write(
        two.path(),
        "A.json",
        &record("A", "2025-01-01T00:00:00Z", &[("PyPI", "flask")]),
    );
    write(
        two.path(),
        "B.json",
        &record("B", "2020-01-01T00:00:00Z", &[("PyPI", "requests")]),
    );
    write(
        two.path(),
        "D.json",
        &record("D", "2024-05-01T00:00:00Z", &[("crates.io", "Foo_bar")]),
    );
    let summary = import(&[two.path().to_path_buf()], root.path()).unwrap();
    assert_eq!(
        (
            summary.added,
            summary.replaced,
            summary.kept_newer,
            summary.total
        ),
        (1, 1, 1, 4)
    );

    let db = Db::open(&Source::Cache(root.path().to_path_buf())).unwrap();
    assert_eq!(ids(&db.records("PyPI", "Django").unwrap()), ["B"]);
    assert_eq!(ids(&db.records("PyPI", "Flask").unwrap()), ["A"]);
    assert!(db.records("PyPI", "requests").unwrap().is_empty());
    assert_eq!(ids(&db.records("crates.io", "Foo_bar").unwrap()), ["D"]);
    assert!(db.records("crates.io", "foo-bar").unwrap().is_empty());
    let info = db.info();
    assert_eq!(info.records, 4);
    assert_eq!(info.skipped, 2, "the first source's skips are remembered");
    assert!(info.imported_at.is_some());
    assert_eq!(
        info.newest_modified,
        Some("2025-01-01T00:00:00Z".parse().unwrap())
    );
    // Only the live generation and the one before it remain.
    let gens = std::fs::read_dir(root.path().join("osv"))
        .unwrap()
        .filter(|e| {
            let e = e.as_ref().unwrap();
            e.file_name().to_string_lossy().starts_with("gen-")
        })
        .count();
    assert_eq!(gens, 2);
}

#[test]
fn a_failed_import_leaves_the_cache_as_it_was() {
    let root = tempfile::tempdir().unwrap();
    let one = tempfile::tempdir().unwrap();
    sample(one.path());
    import(&[one.path().to_path_buf()], root.path()).unwrap();
    let before = std::fs::read(root.path().join("osv/CURRENT")).unwrap();

    let two = tempfile::tempdir().unwrap();
    write(
        two.path(),
        "A.json",
        &record("A", "2030-01-01T00:00:00Z", &[("PyPI", "flask")]),
    );
    std::os::unix::fs::symlink(two.path().join("gone"), two.path().join("Z.json")).unwrap();
    let err = import(&[two.path().to_path_buf()], root.path()).unwrap_err();
    assert!(err.to_string().contains("Z.json"), "{err}");

    assert_eq!(
        std::fs::read(root.path().join("osv/CURRENT")).unwrap(),
        before
    );
    let db = Db::open(&Source::Cache(root.path().to_path_buf())).unwrap();
    assert_eq!(ids(&db.records("PyPI", "django").unwrap()), ["A", "B"]);
    let leftovers: Vec<_> = std::fs::read_dir(root.path().join("osv"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn an_empty_cache_says_how_to_fill_it() {
    let root = tempfile::tempdir().unwrap();
    let err = Db::open(&Source::Cache(root.path().to_path_buf()))
        .err()
        .unwrap();
    assert!(err.to_string().contains("wharf db import"), "{err}");
}

#[test]
fn from_flag_picks_zip_by_extension() {
    assert_eq!(
        Source::from_flag(Some(Path::new("x/all.ZIP"))).unwrap(),
        Source::Zip("x/all.ZIP".into())
    );
    assert_eq!(
        Source::from_flag(Some(Path::new("x/osv"))).unwrap(),
        Source::Dir("x/osv".into())
    );
}

#[test]
fn thousands_separators() {
    assert_eq!(thousands(0), "0");
    assert_eq!(thousands(999), "999");
    assert_eq!(thousands(1000), "1,000");
    assert_eq!(thousands(1234567), "1,234,567");
}

#[test]
fn ecosystems_with_data_include_those_downloaded_empty() {
    let src = tempfile::tempdir().unwrap();
    sample(src.path());
    let root = tempfile::tempdir().unwrap();
    import(&[src.path().to_path_buf()], root.path()).unwrap();
    let mut state = update::state::State::default();
    state.ecosystems.insert(
        "Alpine".into(),
        update::state::Ecosystem {
            checked_at: "2026-01-01T00:00:00Z".into(),
            ..Default::default()
        },
    );
    update::state::save(root.path(), &state).unwrap();
    let db = Db::open(&Source::Cache(root.path().to_path_buf())).unwrap();
    let with: Vec<String> = db.ecosystems_with_data().into_iter().collect();
    assert_eq!(with, ["Alpine", "Debian", "PyPI"]);
    // A directory knows nothing of downloads.
    let db = Db::open(&Source::Dir(src.path().to_path_buf())).unwrap();
    assert!(!db.ecosystems_with_data().contains("Alpine"));
}

fn shard_files(root: &Path) -> BTreeMap<String, (u64, i64, Vec<u8>)> {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::read_dir(root.join("osv/shards"))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                (
                    m.ino(),
                    m.mtime_nsec() + m.mtime() * 1_000_000_000,
                    std::fs::read(e.path()).unwrap(),
                ),
            )
        })
        .collect()
}

#[test]
fn an_import_rewrites_only_the_shards_it_changes() {
    let root = tempfile::tempdir().unwrap();
    let one = tempfile::tempdir().unwrap();
    for i in 0..300 {
        write(
            one.path(),
            &format!("N{i}.json"),
            &record(
                &format!("N{i}"),
                "2024-01-01T00:00:00Z",
                &[("npm", &format!("p{i}"))],
            ),
        );
        write(
            one.path(),
            &format!("P{i}.json"),
            &record(
                &format!("P{i}"),
                "2024-01-01T00:00:00Z",
                &[("PyPI", &format!("q{i}"))],
            ),
        );
    }
    import(&[one.path().to_path_buf()], root.path()).unwrap();
    let before = shard_files(root.path());
    let npm_before: Vec<_> = before
        .keys()
        .filter(|k| k.starts_with("npm-"))
        .cloned()
        .collect();
    assert_eq!(npm_before.len(), 2, "{:?}", before.keys());

    let two = tempfile::tempdir().unwrap();
    for i in 0..100 {
        write(
            two.path(),
            &format!("P{i}.json"),
            &record(
                &format!("P{i}"),
                "2025-01-01T00:00:00Z",
                &[("PyPI", &format!("r{i}"))],
            ),
        );
    }
    let summary = import(&[two.path().to_path_buf()], root.path()).unwrap();
    assert_eq!((summary.replaced, summary.total), (100, 600));
    let after = shard_files(root.path());
    for name in &npm_before {
        assert_eq!(after.get(name), before.get(name), "{name} was rewritten");
    }
    let live = cache::open(root.path()).unwrap().unwrap();
    assert_eq!(
        [
            &live.manifest.shards["npm"].index,
            &live.manifest.shards["npm"].data
        ]
        .map(|s| s.to_string())
        .to_vec()
        .iter()
        .filter(|s| npm_before.contains(s))
        .count(),
        2,
        "the new manifest names npm's old files"
    );
    assert!(!npm_before.contains(&live.manifest.shards["PyPI"].data));
    // The previous generation's PyPI files stay for scans that opened it.
    assert!(before
        .keys()
        .filter(|k| k.starts_with("PyPI-"))
        .all(|k| after.contains_key(k)));

    let db = Db::open(&Source::Cache(root.path().to_path_buf())).unwrap();
    assert_eq!(ids(&db.records("PyPI", "r5").unwrap()), ["P5"]);
    assert!(db.records("PyPI", "q5").unwrap().is_empty());
    assert_eq!(ids(&db.records("PyPI", "q200").unwrap()), ["P200"]);
    assert_eq!(ids(&db.records("npm", "p7").unwrap()), ["N7"]);
    let info = db.info();
    assert_eq!(
        (
            info.records,
            info.per_ecosystem["npm"],
            info.per_ecosystem["PyPI"]
        ),
        (600, 300, 300)
    );

    // A third import drops the first generation's PyPI files, never npm's.
    let three = tempfile::tempdir().unwrap();
    write(
        three.path(),
        "P1.json",
        &record("P1", "2026-01-01T00:00:00Z", &[("PyPI", "s1")]),
    );
    import(&[three.path().to_path_buf()], root.path()).unwrap();
    let third = shard_files(root.path());
    assert!(npm_before.iter().all(|n| third.get(n) == before.get(n)));
    assert!(before
        .keys()
        .filter(|k| k.starts_with("PyPI-"))
        .all(|k| !third.contains_key(k)));
}

#[test]
fn a_record_naming_two_ecosystems_is_in_both_shards_and_counted_once() {
    let root = tempfile::tempdir().unwrap();
    let one = tempfile::tempdir().unwrap();
    write(
        one.path(),
        "G.json",
        &record(
            "GHSA-x",
            "2024-01-01T00:00:00Z",
            &[("npm", "jquery"), ("Maven", "org.webjars.npm:jquery")],
        ),
    );
    write(
        one.path(),
        "N.json",
        &record("N", "2024-01-01T00:00:00Z", &[("npm", "x")]),
    );
    write(
        one.path(),
        "E.json",
        r#"{"id":"EMPTY","modified":"2024-01-01T00:00:00Z","withdrawn":"2024-02-01T00:00:00Z"}"#,
    );
    import(&[one.path().to_path_buf()], root.path()).unwrap();
    // The same record again, from a second zip: a duplicate, not a second record.
    import(&[one.path().join("G.json")], root.path()).unwrap();
    let db = Db::open(&Source::Cache(root.path().to_path_buf())).unwrap();
    assert_eq!(ids(&db.records("npm", "jquery").unwrap()), ["GHSA-x"]);
    assert_eq!(
        ids(&db.records("Maven", "org.webjars.npm:jquery").unwrap()),
        ["GHSA-x"]
    );
    let info = db.info();
    assert_eq!(info.records, 3);
    assert_eq!(info.withdrawn, 1);
    assert_eq!(info.per_ecosystem["npm"], 2);
    assert_eq!(info.per_ecosystem["Maven"], 1);

    // A newer version names npm only: Maven's shard loses its copy.
    let two = tempfile::tempdir().unwrap();
    write(
        two.path(),
        "G.json",
        &record("GHSA-x", "2025-01-01T00:00:00Z", &[("npm", "jquery")]),
    );
    import(&[two.path().to_path_buf()], root.path()).unwrap();
    let db = Db::open(&Source::Cache(root.path().to_path_buf())).unwrap();
    assert!(db
        .records("Maven", "org.webjars.npm:jquery")
        .unwrap()
        .is_empty());
    assert_eq!(ids(&db.records("npm", "jquery").unwrap()), ["GHSA-x"]);
    let info = db.info();
    assert_eq!(info.records, 3);
    assert!(!info.per_ecosystem.contains_key("Maven"), "{info:?}");

    // An older version loses, wherever the newer one is.
    let three = tempfile::tempdir().unwrap();
    write(
        three.path(),
        "G.json",
        &record("GHSA-x", "2020-01-01T00:00:00Z", &[("Maven", "old:thing")]),
    );
    let summary = import(&[three.path().to_path_buf()], root.path()).unwrap();
    assert_eq!((summary.kept_newer, summary.total), (1, 3));
    let db = Db::open(&Source::Cache(root.path().to_path_buf())).unwrap();
    assert!(db.records("Maven", "old:thing").unwrap().is_empty());
}

#[test]
fn a_cache_in_the_old_format_says_what_to_remove() {
    let root = tempfile::tempdir().unwrap();
    let osv = root.path().join("osv");
    std::fs::create_dir_all(osv.join("gen-abc123")).unwrap();
    std::fs::write(osv.join("CURRENT"), "gen-abc123\n").unwrap();
    std::fs::write(
        osv.join("gen-abc123/index.json"),
        r#"{"format":1,"imported_at":"2024-01-01T00:00:00Z","sources":[],"records":[],"packages":{}}"#,
    )
    .unwrap();
    std::fs::write(osv.join("gen-abc123/records.dat"), "").unwrap();
    let err = Db::open(&Source::Cache(root.path().to_path_buf()))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("format 1"), "{err}");
    assert!(err.contains(&format!("remove {}", osv.display())), "{err}");
    assert!(err.contains("wharf db import"), "{err}");
    let one = tempfile::tempdir().unwrap();
    sample(one.path());
    let err = import(&[one.path().to_path_buf()], root.path())
        .unwrap_err()
        .to_string();
    assert!(err.contains("format 1"), "{err}");
    // A manifest from a future wharf, likewise.
    std::fs::write(osv.join("CURRENT"), "gen-future\n").unwrap();
    std::fs::write(osv.join("gen-future"), r#"{"format":3}"#).unwrap();
    let err = Db::open(&Source::Cache(root.path().to_path_buf()))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("format 3"), "{err}");
}

#[test]
fn a_failed_import_leaves_every_shard_as_it_was() {
    let root = tempfile::tempdir().unwrap();
    let one = tempfile::tempdir().unwrap();
    sample(one.path());
    import(&[one.path().to_path_buf()], root.path()).unwrap();
    let before = shard_files(root.path());
    let two = tempfile::tempdir().unwrap();
    // Records for two shards, enough for a parse batch to be written, then an unreadable one.
    for i in 0..300 {
        write(
            two.path(),
            &format!("A{i:03}.json"),
            &record(
                &format!("A{i}"),
                "2030-01-01T00:00:00Z",
                &[("PyPI", "django"), ("npm", "x")],
            ),
        );
    }
    std::os::unix::fs::symlink(two.path().join("gone"), two.path().join("Z.json")).unwrap();
    assert!(import(&[two.path().to_path_buf()], root.path()).is_err());
    assert_eq!(shard_files(root.path()), before);
    let db = Db::open(&Source::Cache(root.path().to_path_buf())).unwrap();
    assert_eq!(ids(&db.records("PyPI", "django").unwrap()), ["A", "B"]);
}

#[test]
fn a_damaged_shard_is_an_error_naming_the_cache() {
    let root = tempfile::tempdir().unwrap();
    let one = tempfile::tempdir().unwrap();
    sample(one.path());
    import(&[one.path().to_path_buf()], root.path()).unwrap();
    let live = cache::open(root.path()).unwrap().unwrap();
    std::fs::write(
        live.shard_path(&live.manifest.shards["PyPI"].index),
        b"junk",
    )
    .unwrap();
    let db = Db::open(&Source::Cache(root.path().to_path_buf())).unwrap();
    // Other shards still answer; the damaged one is an error, not "not affected".
    assert_eq!(
        ids(&db.records("Debian:11", "python-django").unwrap()),
        ["C"]
    );
    let err = db.records("PyPI", "django").unwrap_err().to_string();
    assert!(err.contains("remove") && err.contains("osv"), "{err}");
}
