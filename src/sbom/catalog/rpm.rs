//! RPM packages: the SQLite rpmdb (`rpmdb.sqlite`, RHEL 9, Fedora 33+,
//! openSUSE), read in memory; each row of `Packages(hnum, blob)` is an rpm
//! header. The older BerkeleyDB `Packages` and the ndb `Packages.db` are not
//! read: they become a note saying so, never a silently short list.
//!
//! Everything in the database is untrusted: SQLite runs in defensive mode
//! with a bounded blob length and a bounded number of steps, and the header
//! parser checks every count and offset against the bytes it has.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;

use crate::sbom::files::{Extracted, Files, Found};
use crate::sbom::model::{Ecosystem, Package};

const DIRS: [&str; 3] = ["/var/lib/rpm/", "/usr/lib/sysimage/rpm/", "/usr/share/rpm/"];
const SQLITE: &str = "rpmdb.sqlite";
const BERKELEY: &str = "Packages";
const NDB: &str = "Packages.db";

/// How much of an unread database [`super::extract`] keeps: enough for the
/// BerkeleyDB magic at offset 12.
pub(super) const MAGIC_LEN: usize = 16;

/// Bounds: rpm's own (`hdrchkTags`, `hdrchkData`) and far beyond any real
/// system's package count.
const MAX_TAGS: usize = 0xffff;
const MAX_DATA: usize = 256 << 20;
const MAX_PACKAGES: usize = 200_000;
/// SQLite virtual machine steps for the whole read, in units of 1000 (10⁸
/// steps, about a second): a real rpmdb needs well under a thousand per package.
const MAX_STEPS_K: u64 = 100_000;

pub(super) fn wants(path: &str) -> bool {
    in_rpm_dir(path).is_some_and(|name| name == SQLITE || name == BERKELEY || name == NDB)
}

pub(super) fn is_unread_database(path: &str) -> bool {
    in_rpm_dir(path).is_some_and(|name| name == BERKELEY || name == NDB)
}

fn in_rpm_dir(path: &str) -> Option<&str> {
    DIRS.iter().find_map(|dir| path.strip_prefix(dir))
}

pub(super) fn catalog(files: &dyn Files, notes: &mut Vec<String>) -> Vec<Package> {
    let mut seen = BTreeSet::new();
    let mut headers = Vec::new();
    for dir in DIRS {
        for name in [SQLITE, BERKELEY, NDB] {
            let Some(found) = files.get(&format!("{dir}{name}")) else {
                continue;
            };
            if !seen.insert(found.path) {
                continue;
            }
            if name == SQLITE {
                match read_sqlite(&found) {
                    Ok(read) => headers.extend(read),
                    Err(why) => notes.push(format!(
                        "rpm database {} could not be read ({why}): its packages are not listed",
                        found.path
                    )),
                }
            } else {
                notes.push(unread_note(&found));
            }
        }
    }
    resolve_depends(headers)
}

fn unread_note(found: &Found<'_>) -> String {
    let head = match found.data {
        Extracted::Bytes(bytes) => bytes.as_slice(),
        Extracted::Packages(_) => &[],
    };
    let magic = head.get(12..16);
    let kind = if head.starts_with(b"RpmP") {
        "an ndb rpm database"
    } else if magic == Some(&[0x00, 0x06, 0x15, 0x61]) || magic == Some(&[0x61, 0x15, 0x06, 0x00]) {
        "a BerkeleyDB rpm database"
    } else {
        "an rpm database in a format wharf does not know"
    };
    format!(
        "{} is {kind}, which wharf does not read yet: the rpm packages it lists are not in this inventory",
        found.path
    )
}

/// A package as read, with its relations still as written.
struct Header {
    package: Package,
    requires: Vec<String>,
    provides: Vec<String>,
}

fn read_sqlite(found: &Found<'_>) -> Result<Vec<Header>, String> {
    let Extracted::Bytes(bytes) = found.data else {
        return Err("not kept".to_string());
    };
    let rows = sqlite_blobs(bytes).map_err(|e| e.to_string())?;
    Ok(rows
        .iter()
        .filter_map(|blob| header_package(blob, found))
        .collect())
}

/// The `blob` column of every row of table `Packages`.
fn sqlite_blobs(bytes: &[u8]) -> rusqlite::Result<Vec<Vec<u8>>> {
    use rusqlite::config::DbConfig;
    use rusqlite::limits::Limit;

    if bytes.len() < 100 || !bytes.starts_with(b"SQLite format 3\0") {
        return Err(rusqlite::Error::InvalidQuery);
    }
    let mut conn = rusqlite::Connection::open_in_memory()?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false)?;
    conn.set_limit(Limit::SQLITE_LIMIT_LENGTH, MAX_DATA as i32)?;
    let mut steps = 0u64;
    conn.progress_handler(
        1000,
        Some(move || {
            steps += 1;
            steps > MAX_STEPS_K
        }),
    )?;
    // rpm keeps the database in WAL mode (header bytes 18 and 19 = 2), which
    // an in-memory database cannot open; 1 says rollback journal, and the
    // pages are the same. Committed transactions still in a -wal file are
    // not seen, as with any reader of the main file alone.
    let mut patched = bytes[..18].to_vec();
    patched.extend([1, 1]);
    let reader = patched.as_slice().chain(&bytes[20..]);
    conn.deserialize_read_exact("main", reader, bytes.len(), true)?;
    conn.pragma_update(None, "cell_size_check", true)?;

    // A view or a virtual table named Packages could compute anything.
    let kind: String = conn.query_row(
        "SELECT type FROM sqlite_schema WHERE name = 'Packages' COLLATE NOCASE",
        [],
        |row| row.get(0),
    )?;
    if kind != "table" {
        return Err(rusqlite::Error::InvalidQuery);
    }
    let mut statement = conn.prepare("SELECT blob FROM Packages")?;
    let mut rows = statement.query([])?;
    let mut blobs = Vec::new();
    while let Some(row) = rows.next()? {
        if blobs.len() >= MAX_PACKAGES {
            break;
        }
        if let Ok(blob) = row.get::<_, Vec<u8>>(0) {
            blobs.push(blob);
        }
    }
    Ok(blobs)
}

const NAME: u32 = 1000;
const VERSION: u32 = 1001;
const RELEASE: u32 = 1002;
const EPOCH: u32 = 1003;
const LICENSE: u32 = 1014;
const ARCH: u32 = 1022;
const OLDFILENAMES: u32 = 1027;
const SOURCERPM: u32 = 1044;
const PROVIDENAME: u32 = 1047;
const REQUIRENAME: u32 = 1049;
const DIRINDEXES: u32 = 1116;
const BASENAMES: u32 = 1117;
const DIRNAMES: u32 = 1118;

const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_STRING_ARRAY: u32 = 8;
const TYPE_I18NSTRING: u32 = 9;

/// An rpm header as stored in the rpmdb: no lead, no magic — index count,
/// data length, the index entries, then the data store.
struct RpmHeader<'a> {
    entries: Vec<IndexEntry>,
    store: &'a [u8],
}

#[derive(Clone, Copy)]
struct IndexEntry {
    tag: u32,
    kind: u32,
    offset: usize,
    count: usize,
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

impl<'a> RpmHeader<'a> {
    fn parse(blob: &'a [u8]) -> Option<RpmHeader<'a>> {
        // A header as in an .rpm file starts with its magic; skip it.
        let blob = match blob.strip_prefix(&[0x8e, 0xad, 0xe8, 0x01]) {
            Some(rest) => rest.get(4..)?,
            None => blob,
        };
        let index_len = usize::try_from(be32(blob, 0)?).ok()?;
        let data_len = usize::try_from(be32(blob, 4)?).ok()?;
        if index_len == 0 || index_len > MAX_TAGS || data_len > MAX_DATA {
            return None;
        }
        let store_start = 8 + index_len * 16;
        let store = blob.get(store_start..store_start.checked_add(data_len)?)?;
        let mut entries = Vec::with_capacity(index_len);
        for i in 0..index_len {
            let at = 8 + i * 16;
            entries.push(IndexEntry {
                tag: be32(blob, at)?,
                kind: be32(blob, at + 4)?,
                offset: usize::try_from(be32(blob, at + 8)?).ok()?,
                count: usize::try_from(be32(blob, at + 12)?).ok()?,
            });
        }
        Some(RpmHeader { entries, store })
    }

    fn entry(&self, tag: u32) -> Option<IndexEntry> {
        self.entries.iter().find(|e| e.tag == tag).copied()
    }

    /// The NUL-terminated string at `offset` in the store.
    fn c_str(&self, offset: usize) -> Option<(&'a [u8], usize)> {
        let rest = self.store.get(offset..)?;
        let len = rest.iter().position(|b| *b == 0)?;
        Some((&rest[..len], offset + len + 1))
    }

    fn string(&self, tag: u32) -> Option<String> {
        let e = self.entry(tag)?;
        if !matches!(e.kind, TYPE_STRING | TYPE_STRING_ARRAY | TYPE_I18NSTRING) || e.count == 0 {
            return None;
        }
        let (bytes, _) = self.c_str(e.offset)?;
        let s = String::from_utf8_lossy(bytes).trim().to_string();
        (!s.is_empty()).then_some(s)
    }

    /// A string array; `None` if any element runs off the store. Each
    /// element takes at least one byte, so `count` cannot outgrow it.
    fn strings(&self, tag: u32) -> Option<Vec<String>> {
        let e = self.entry(tag)?;
        if !matches!(e.kind, TYPE_STRING_ARRAY | TYPE_I18NSTRING) || e.count > self.store.len() {
            return None;
        }
        let mut out = Vec::with_capacity(e.count);
        let mut offset = e.offset;
        for _ in 0..e.count {
            let (bytes, next) = self.c_str(offset)?;
            out.push(String::from_utf8_lossy(bytes).into_owned());
            offset = next;
        }
        Some(out)
    }

    fn int32s(&self, tag: u32) -> Option<Vec<u32>> {
        let e = self.entry(tag)?;
        if e.kind != TYPE_INT32 {
            return None;
        }
        let bytes = self
            .store
            .get(e.offset..e.offset.checked_add(e.count.checked_mul(4)?)?)?;
        Some(
            bytes
                .chunks_exact(4)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
        )
    }

    /// Owned files: `dirnames[dirindexes[i]] + basenames[i]` (rpm ≥ 4), or
    /// the whole paths of old headers.
    fn files(&self) -> Vec<String> {
        if let (Some(base), Some(dirs), Some(index)) = (
            self.strings(BASENAMES),
            self.strings(DIRNAMES),
            self.int32s(DIRINDEXES),
        ) {
            return base
                .iter()
                .zip(index)
                .filter_map(|(base, i)| {
                    let dir = dirs.get(usize::try_from(i).ok()?)?;
                    Some(format!("{dir}{base}"))
                })
                .collect();
        }
        self.strings(OLDFILENAMES).unwrap_or_default()
    }
}

fn header_package(blob: &[u8], found: &Found<'_>) -> Option<Header> {
    let header = RpmHeader::parse(blob)?;
    let name = header.string(NAME)?;
    // Imported signing keys are stored as packages; they are not software.
    if name == "gpg-pubkey" {
        return None;
    }
    let version = header.string(VERSION)?;
    let version = match header.string(RELEASE) {
        Some(release) => format!("{version}-{release}"),
        None => version,
    };
    let mut package = Package::new(Ecosystem::Rpm, &name, &version, found.path, found.layer);
    package.epoch = header.int32s(EPOCH).and_then(|e| e.first().copied());
    package.arch = header.string(ARCH);
    package.licenses = header.string(LICENSE).into_iter().collect();
    package.source_name = header.string(SOURCERPM).and_then(|s| source_name(&s));
    package.owned_files = header.files();
    Some(Header {
        requires: header.strings(REQUIRENAME).unwrap_or_default(),
        provides: header.strings(PROVIDENAME).unwrap_or_default(),
        package,
    })
}

/// `bash-5.1.8-6.el9.src.rpm` → `bash`: the name is what precedes the last
/// two dashes (version and release have none).
fn source_name(source_rpm: &str) -> Option<String> {
    let stem = source_rpm
        .strip_suffix(".src.rpm")
        .or_else(|| source_rpm.strip_suffix(".nosrc.rpm"))?;
    let (rest, _release) = stem.rsplit_once('-')?;
    let (name, _version) = rest.rsplit_once('-')?;
    (!name.is_empty()).then(|| name.to_string())
}

/// Requires → installed packages, through names, `Provides` and — for file
/// requirements like `/bin/sh` — owned files; `rpmlib(…)` and anything
/// unresolved are left out.
fn resolve_depends(headers: Vec<Header>) -> Vec<Package> {
    let mut providers: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for h in &headers {
        let name = h.package.name.as_str();
        for provided in std::iter::once(name).chain(h.provides.iter().map(String::as_str)) {
            providers.entry(provided).or_default().insert(name);
        }
    }
    let wanted_files: BTreeSet<&str> = headers
        .iter()
        .flat_map(|h| &h.requires)
        .filter(|r| r.starts_with('/'))
        .map(String::as_str)
        .collect();
    let mut file_owners: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    for h in &headers {
        for file in &h.package.owned_files {
            if wanted_files.contains(file.as_str()) {
                file_owners
                    .entry(file.as_str())
                    .or_default()
                    .insert(&h.package.name);
            }
        }
    }
    let resolved: Vec<Vec<String>> = headers
        .iter()
        .map(|h| {
            let names: BTreeSet<&str> = h
                .requires
                .iter()
                .filter_map(|r| {
                    providers
                        .get(r.as_str())
                        .or_else(|| file_owners.get(r.as_str()))
                })
                .flatten()
                .copied()
                .filter(|name| *name != h.package.name)
                .collect();
            names.into_iter().map(str::to_string).collect()
        })
        .collect();
    headers
        .into_iter()
        .zip(resolved)
        .map(|(h, depends_on)| Package {
            depends_on,
            ..h.package
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sbom::catalog::catalog;
    use crate::sbom::files::MemFiles;

    enum Value<'a> {
        Str(&'a str),
        Strs(&'a [&'a str]),
        Ints(&'a [u32]),
    }

    /// An rpmdb header, byte by byte: index entries, then the store.
    fn header(tags: &[(u32, Value<'_>)]) -> Vec<u8> {
        let mut index = Vec::new();
        let mut store = Vec::new();
        // The region tag rpm puts first; readers skip it.
        index.extend(63u32.to_be_bytes());
        index.extend(7u32.to_be_bytes());
        index.extend(0u32.to_be_bytes());
        index.extend(16u32.to_be_bytes());
        store.extend([0u8; 16]);
        for (tag, value) in tags {
            let (kind, count) = match value {
                Value::Str(_) => (TYPE_STRING, 1),
                Value::Strs(s) => (TYPE_STRING_ARRAY, s.len()),
                Value::Ints(i) => {
                    while store.len() % 4 != 0 {
                        store.push(0);
                    }
                    (TYPE_INT32, i.len())
                }
            };
            index.extend(tag.to_be_bytes());
            index.extend(kind.to_be_bytes());
            index.extend((store.len() as u32).to_be_bytes());
            index.extend((count as u32).to_be_bytes());
            match value {
                Value::Str(s) => {
                    store.extend(s.as_bytes());
                    store.push(0);
                }
                Value::Strs(all) => {
                    for s in *all {
                        store.extend(s.as_bytes());
                        store.push(0);
                    }
                }
                Value::Ints(all) => {
                    for i in *all {
                        store.extend(i.to_be_bytes());
                    }
                }
            }
        }
        let mut blob = Vec::new();
        blob.extend(((index.len() / 16) as u32).to_be_bytes());
        blob.extend((store.len() as u32).to_be_bytes());
        blob.extend(index);
        blob.extend(store);
        blob
    }

    fn bash() -> Vec<u8> {
        header(&[
            (NAME, Value::Str("bash")),
            (VERSION, Value::Str("5.1.8")),
            (RELEASE, Value::Str("9.el9")),
            (EPOCH, Value::Ints(&[1])),
            (ARCH, Value::Str("x86_64")),
            (LICENSE, Value::Str("GPLv3+")),
            (SOURCERPM, Value::Str("bash-5.1.8-9.el9.src.rpm")),
            (
                REQUIRENAME,
                Value::Strs(&["/bin/sh", "libc.so.6()(64bit)", "rpmlib(x)"]),
            ),
            (PROVIDENAME, Value::Strs(&["bash", "/bin/sh"])),
            (DIRNAMES, Value::Strs(&["/usr/bin/", "/etc/"])),
            (BASENAMES, Value::Strs(&["bash", "sh", "bashrc"])),
            (DIRINDEXES, Value::Ints(&[0, 0, 1])),
        ])
    }

    fn glibc() -> Vec<u8> {
        header(&[
            (NAME, Value::Str("glibc")),
            (VERSION, Value::Str("2.34")),
            (RELEASE, Value::Str("100.el9")),
            (ARCH, Value::Str("x86_64")),
            (SOURCERPM, Value::Str("glibc-2.34-100.el9.src.rpm")),
            (REQUIRENAME, Value::Strs(&["/bin/sh"])),
            (PROVIDENAME, Value::Strs(&["libc.so.6()(64bit)"])),
        ])
    }

    fn sqlite_db(blobs: &[Vec<u8>], wal: bool) -> Vec<u8> {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);",
        )
        .unwrap();
        for blob in blobs {
            conn.execute("INSERT INTO Packages (blob) VALUES (?1)", [blob])
                .unwrap();
        }
        let mut bytes = conn.serialize("main").unwrap().to_vec();
        if wal {
            bytes[18] = 2;
            bytes[19] = 2;
        }
        bytes
    }

    #[test]
    fn header_fields_and_files() {
        let data = Extracted::Bytes(Vec::new());
        let found = Found {
            path: "/var/lib/rpm/rpmdb.sqlite",
            layer: 4,
            data: &data,
        };
        let h = header_package(&bash(), &found).unwrap();
        let p = &h.package;
        assert_eq!(
            (p.name.as_str(), p.version.as_str()),
            ("bash", "5.1.8-9.el9")
        );
        assert_eq!(p.epoch, Some(1));
        assert_eq!(p.arch.as_deref(), Some("x86_64"));
        assert_eq!(p.licenses, ["GPLv3+"]);
        assert_eq!(p.source_name.as_deref(), Some("bash"));
        assert_eq!(p.source_version, None);
        assert_eq!(
            p.owned_files,
            ["/usr/bin/bash", "/usr/bin/sh", "/etc/bashrc"]
        );
        assert_eq!(
            (p.found_at.as_str(), p.layer),
            ("/var/lib/rpm/rpmdb.sqlite", 4)
        );
    }

    #[test]
    fn sqlite_rpmdb_read_from_memory() {
        let db = sqlite_db(&[bash(), glibc(), b"not a header".to_vec()], false);
        for (path, wal) in [
            ("/var/lib/rpm/rpmdb.sqlite", false),
            ("/usr/lib/sysimage/rpm/rpmdb.sqlite", true),
        ] {
            let db = if wal {
                sqlite_db(&[bash(), glibc()], true)
            } else {
                db.clone()
            };
            let mut files = MemFiles::default();
            files.add_bytes(path, &db);
            let inventory = catalog(&files);
            assert!(inventory.notes.is_empty(), "{:?}", inventory.notes);
            let names: Vec<(&str, &str, &[String])> = inventory
                .packages
                .iter()
                .map(|p| (p.name.as_str(), p.version.as_str(), p.depends_on.as_slice()))
                .collect();
            assert_eq!(
                names,
                [
                    ("bash", "5.1.8-9.el9", &["glibc".to_string()][..]),
                    ("glibc", "2.34-100.el9", &["bash".to_string()][..]),
                ]
            );
            assert!(inventory.packages.iter().all(|p| p.found_at == path));
        }
    }

    #[test]
    fn gpg_keys_are_not_packages() {
        let key = header(&[
            (NAME, Value::Str("gpg-pubkey")),
            (VERSION, Value::Str("fd431d51")),
            (RELEASE, Value::Str("4ae0493b")),
        ]);
        let mut files = MemFiles::default();
        files.add_bytes("/var/lib/rpm/rpmdb.sqlite", &sqlite_db(&[key], false));
        assert!(catalog(&files).packages.is_empty());
    }

    #[test]
    fn berkeley_and_ndb_databases_are_noted() {
        let mut bdb = vec![0u8; 4096];
        bdb[12..16].copy_from_slice(&[0x61, 0x15, 0x06, 0x00]);
        let mut files = MemFiles::default();
        let meta = |path| crate::image::FileMeta {
            path,
            size: 4096,
            mode: 0o644,
            layer: 0,
        };
        for (path, bytes) in [
            ("/var/lib/rpm/Packages", bdb.as_slice()),
            (
                "/usr/lib/sysimage/rpm/Packages.db",
                b"RpmP\x00\x00\x00\x00".as_slice(),
            ),
        ] {
            assert!(crate::sbom::catalog::wants(&meta(path)));
            let kept = crate::sbom::catalog::extract(
                &meta(path),
                &mut crate::image::Contents::from_bytes(bytes.to_vec()),
            )
            .unwrap();
            assert!(matches!(&kept, Extracted::Bytes(b) if b.len() <= MAGIC_LEN));
            files.add(path, 0, kept);
        }
        let inventory = catalog(&files);
        assert!(inventory.packages.is_empty());
        assert_eq!(
            inventory.notes,
            [
                "/usr/lib/sysimage/rpm/Packages.db is an ndb rpm database, which wharf does not read yet: the rpm packages it lists are not in this inventory",
                "/var/lib/rpm/Packages is a BerkeleyDB rpm database, which wharf does not read yet: the rpm packages it lists are not in this inventory",
            ]
        );
    }

    #[test]
    fn malicious_headers_do_not_panic_or_allocate() {
        let good = bash();
        // Every truncation of a valid header.
        for len in 0..good.len() {
            let _ = RpmHeader::parse(&good[..len]).map(|h| (h.files(), h.string(NAME)));
        }
        // Huge counts and offsets in an otherwise valid header.
        let mut huge = good.clone();
        let entries = u32::from_be_bytes([huge[0], huge[1], huge[2], huge[3]]) as usize;
        for i in 0..entries {
            for field in [8, 12] {
                let at = 8 + i * 16 + field;
                let mut h = huge.clone();
                h[at..at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
                if let Some(h) = RpmHeader::parse(&h) {
                    let _ = (
                        h.files(),
                        h.string(NAME),
                        h.int32s(EPOCH),
                        h.strings(REQUIRENAME),
                    );
                }
                let mut h = huge.clone();
                h[at..at + 4].copy_from_slice(&0x7fff_fff0u32.to_be_bytes());
                if let Some(h) = RpmHeader::parse(&h) {
                    let _ = (
                        h.files(),
                        h.string(NAME),
                        h.int32s(EPOCH),
                        h.strings(REQUIRENAME),
                    );
                }
            }
        }
        huge[0..4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(RpmHeader::parse(&huge).is_none());
        // Directory indexes pointing nowhere lose the file, not the package.
        let bad_index = header(&[
            (NAME, Value::Str("x")),
            (VERSION, Value::Str("1")),
            (DIRNAMES, Value::Strs(&["/a/"])),
            (BASENAMES, Value::Strs(&["b", "c"])),
            (DIRINDEXES, Value::Ints(&[0, 7])),
        ]);
        let h = RpmHeader::parse(&bad_index).unwrap();
        assert_eq!(h.files(), ["/a/b"]);
    }

    #[test]
    fn malformed_databases_become_notes() {
        let mut wrong_table = {
            let conn = rusqlite::Connection::open_in_memory().unwrap();
            conn.execute_batch(
                "CREATE TABLE t (x); CREATE VIEW Packages AS SELECT x AS blob FROM t;",
            )
            .unwrap();
            conn.serialize("main").unwrap().to_vec()
        };
        let mut truncated = sqlite_db(&[bash(), glibc()], false);
        truncated.truncate(truncated.len() / 2 + 7);
        let mut corrupt = sqlite_db(&[bash(), glibc()], false);
        let len = corrupt.len();
        for b in &mut corrupt[100..len] {
            *b = b.wrapping_mul(31).wrapping_add(7);
        }
        for bytes in [
            b"".to_vec(),
            b"SQLite format 3\0".to_vec(),
            vec![0u8; 8192],
            std::mem::take(&mut wrong_table),
            truncated,
            corrupt,
        ] {
            let mut files = MemFiles::default();
            files.add_bytes("/var/lib/rpm/rpmdb.sqlite", &bytes);
            let inventory = catalog(&files);
            assert!(inventory.packages.is_empty());
            assert_eq!(inventory.notes.len(), 1, "{:?}", inventory.notes);
            assert!(inventory.notes[0]
                .starts_with("rpm database /var/lib/rpm/rpmdb.sqlite could not be read"));
        }
    }

    #[test]
    fn source_rpm_names() {
        assert_eq!(
            source_name("bash-5.1.8-9.el9.src.rpm").as_deref(),
            Some("bash")
        );
        assert_eq!(
            source_name("python-pip-21.2.3-8.el9.nosrc.rpm").as_deref(),
            Some("python-pip")
        );
        assert_eq!(source_name("bash.src.rpm"), None);
        assert_eq!(source_name("-1-2.src.rpm"), None);
    }
}
