//! File trees: fixtures copied with placeholders substituted, snapshots of
//! every byte, and comparisons that show where two trees differ.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `tests/fixtures/<rel>`.
pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// Replaces each placeholder key by its value, then insists none is left
/// (a `%%…%%` left over is a typo in a fixture).
#[track_caller]
pub fn substitute(bytes: &[u8], placeholders: &BTreeMap<String, String>, what: &str) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for (key, value) in placeholders {
        out = replace_all(&out, key.as_bytes(), value.as_bytes());
    }
    if let Some(at) = out.windows(2).position(|w| w == b"%%") {
        let end = (at + 40).min(out.len());
        panic!(
            "{what}: unknown placeholder near {:?}",
            String::from_utf8_lossy(&out[at..end])
        );
    }
    out
}

fn replace_all(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

/// Every regular file under `dir` (relative path with `/` → bytes),
/// placeholders substituted.
#[track_caller]
pub fn load(dir: &Path, placeholders: &BTreeMap<String, String>) -> BTreeMap<String, Vec<u8>> {
    snapshot(dir)
        .into_iter()
        .map(|(rel, bytes)| {
            let bytes = substitute(&bytes, placeholders, &format!("{}/{rel}", dir.display()));
            (rel, bytes)
        })
        .collect()
}

/// Writes `files` under `dir`, creating directories.
pub fn write_all(dir: &Path, files: &BTreeMap<String, Vec<u8>>) {
    for (rel, bytes) in files {
        write(dir, rel, bytes);
    }
}

/// Writes one file under `dir`, creating its parent directories.
pub fn write(dir: &Path, rel: &str, bytes: impl AsRef<[u8]>) {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create fixture dirs");
    }
    std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// Copies the fixture tree `src` into `dst`, substituting placeholders.
#[track_caller]
pub fn materialize(src: &Path, dst: &Path, placeholders: &BTreeMap<String, String>) {
    write_all(dst, &load(src, placeholders));
}

/// Every entry under `dir`, recursively: regular files as their bytes,
/// symlinks as `symlink -> TARGET`, unreadable files as `<unreadable: …>`.
pub fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    walk(dir, dir, &mut files);
    files
}

fn walk(root: &Path, dir: &Path, files: &mut BTreeMap<String, Vec<u8>>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read dir {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let rel = path
            .strip_prefix(root)
            .expect("under root")
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        let meta = std::fs::symlink_metadata(&path).expect("metadata");
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&path).expect("read link");
            files.insert(rel, format!("symlink -> {}", target.display()).into_bytes());
        } else if meta.is_dir() {
            walk(root, &path, files);
        } else {
            let bytes = std::fs::read(&path)
                .unwrap_or_else(|e| format!("<unreadable: {}>", e.kind()).into_bytes());
            files.insert(rel, bytes);
        }
    }
}

/// The tree under `dir` is exactly `expected`, byte for byte.
#[track_caller]
pub fn assert_tree(dir: &Path, expected: &BTreeMap<String, Vec<u8>>, context: &str) {
    assert_same(&snapshot(dir), expected, context);
}

/// Two snapshots are equal; on failure, says which files differ and how.
#[track_caller]
pub fn assert_same(
    actual: &BTreeMap<String, Vec<u8>>,
    expected: &BTreeMap<String, Vec<u8>>,
    context: &str,
) {
    let mut problems = Vec::new();
    for (rel, want) in expected {
        match actual.get(rel) {
            None => problems.push(format!("{rel}: missing")),
            Some(got) if got != want => {
                problems.push(format!("{rel}: differs\n{}", first_difference(got, want)))
            }
            Some(_) => {}
        }
    }
    for rel in actual.keys().filter(|k| !expected.contains_key(*k)) {
        problems.push(format!("{rel}: unexpected file"));
    }
    assert!(problems.is_empty(), "{context}:\n{}", problems.join("\n\n"));
}

/// The first differing line of two texts, escaped so `\r`, BOMs and missing
/// final newlines show.
pub fn first_difference(got: &[u8], want: &[u8]) -> String {
    let got_lines: Vec<&[u8]> = got.split_inclusive(|&b| b == b'\n').collect();
    let want_lines: Vec<&[u8]> = want.split_inclusive(|&b| b == b'\n').collect();
    for i in 0..got_lines.len().max(want_lines.len()) {
        let g = got_lines.get(i).copied();
        let w = want_lines.get(i).copied();
        if g != w {
            let show = |l: Option<&[u8]>| {
                l.map(|l| format!("{:?}", String::from_utf8_lossy(l)))
                    .unwrap_or_else(|| "<end of file>".to_string())
            };
            return format!(
                "  line {}:\n    got:  {}\n    want: {}",
                i + 1,
                show(g),
                show(w)
            );
        }
    }
    format!("  lengths {} vs {}", got.len(), want.len())
}

/// A path as wharf printed it, relative to the directory it ran in:
/// `./` dropped, an absolute prefix `root` dropped.
pub fn relative(printed: &str, root: &Path) -> String {
    let root = root.to_string_lossy();
    let p = printed
        .strip_prefix(root.as_ref())
        .map(|p| p.trim_start_matches('/'))
        .unwrap_or(printed);
    p.strip_prefix("./").unwrap_or(p).to_string()
}
