//! Alpine (and Wolfi) packages: `/lib/apk/db/installed`, one `X:value`
//! line per field, a blank line between packages.

use std::collections::{BTreeMap, BTreeSet};

use super::text;
use crate::sbom::files::Files;
use crate::sbom::model::{Ecosystem, Package};

/// `/lib` is `/usr/lib` on merged-usr Alpine; either may be the real path.
const INSTALLED: [&str; 2] = ["/lib/apk/db/installed", "/usr/lib/apk/db/installed"];

pub(super) fn wants(path: &str) -> bool {
    INSTALLED.contains(&path)
}

struct Entry {
    package: Package,
    depends: Vec<String>,
    provides: Vec<String>,
}

pub(super) fn catalog(files: &dyn Files) -> Vec<Package> {
    let mut seen = BTreeSet::new();
    let mut entries = Vec::new();
    for path in INSTALLED {
        let Some(found) = files.get(path) else {
            continue;
        };
        // Both names may lead to one file through a symlink.
        if !seen.insert(found.path) {
            continue;
        }
        let Some(text) = text(&found) else {
            continue;
        };
        let mut lines: Vec<(char, &str)> = Vec::new();
        for line in text.lines().chain(std::iter::once("")) {
            if line.trim().is_empty() {
                entries.extend(entry(&lines, found.path, found.layer));
                lines.clear();
                continue;
            }
            let mut chars = line.chars();
            if let (Some(key), Some(':')) = (chars.next(), chars.next()) {
                lines.push((key, chars.as_str()));
            }
        }
    }
    resolve_depends(entries)
}

fn entry(lines: &[(char, &str)], found_at: &str, layer: usize) -> Option<Entry> {
    let field = |key: char| {
        lines
            .iter()
            .find(|(k, v)| *k == key && !v.trim().is_empty())
            .map(|(_, v)| v.trim())
    };
    let mut package = Package::new(Ecosystem::Apk, field('P')?, field('V')?, found_at, layer);
    package.arch = field('A').map(str::to_string);
    package.source_name = Some(field('o').unwrap_or(&package.name).to_string());
    package.licenses = field('L').map(str::to_string).into_iter().collect();

    // R: names a file in the directory of the F: above it.
    let mut dir = "";
    for (key, value) in lines {
        match key {
            'F' => {
                dir = value.trim().trim_matches('/');
                if !dir.is_empty() {
                    package.owned_files.push(format!("/{dir}"));
                }
            }
            'R' if !value.is_empty() => {
                let file = value.trim();
                package.owned_files.push(if dir.is_empty() {
                    format!("/{file}")
                } else {
                    format!("/{dir}/{file}")
                });
            }
            _ => {}
        }
    }
    let words = |key: char| -> Vec<String> {
        lines
            .iter()
            .filter(|(k, _)| *k == key)
            .flat_map(|(_, v)| v.split_whitespace())
            // "!name" is a conflict, not a dependency.
            .filter(|w| !w.starts_with('!'))
            .filter_map(|w| w.split(['=', '<', '>', '~']).next())
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect()
    };
    Some(Entry {
        depends: words('D'),
        provides: words('p'),
        package,
    })
}

/// `so:libc.musl-x86_64.so.1`, `cmd:sh`, or a package name → the installed
/// packages behind it; unresolved names are left out.
fn resolve_depends(entries: Vec<Entry>) -> Vec<Package> {
    let mut providers: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for e in &entries {
        let name = e.package.name.as_str();
        for provided in std::iter::once(name).chain(e.provides.iter().map(String::as_str)) {
            providers.entry(provided).or_default().insert(name);
        }
    }
    let resolved: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            let names: BTreeSet<&str> = e
                .depends
                .iter()
                .filter_map(|dep| providers.get(dep.as_str()))
                .flatten()
                .copied()
                .filter(|name| *name != e.package.name)
                .collect();
            names.into_iter().map(str::to_string).collect()
        })
        .collect();
    entries
        .into_iter()
        .zip(resolved)
        .map(|(e, depends_on)| Package {
            depends_on,
            ..e.package
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::sbom::catalog::catalog;
    use crate::sbom::files::{Extracted, MemFiles};

    const INSTALLED_TEXT: &str = "\
C:Q1abc=
P:musl
V:1.2.5-r0
A:x86_64
S:411138
I:667648
T:the musl c library (libc) implementation
U:https://musl.libc.org/
L:MIT
o:musl
m:Natanael Copa <ncopa@alpinelinux.org>
t:1712312312
c:a6b5b4b3
p:so:libc.musl-x86_64.so.1=1
F:lib
R:ld-musl-x86_64.so.1
a:0:0:755
Z:Q1xyz=
R:libc.musl-x86_64.so.1

P:libcrypto3
V:3.3.2-r0
A:x86_64
L:Apache-2.0
o:openssl
D:so:libc.musl-x86_64.so.1 !libcrypto1.1 missing>=2
p:so:libcrypto.so.3=3
F:usr/lib
R:libcrypto.so.3
F:etc/ssl
R:openssl.cnf

P:no-version
A:x86_64
";

    #[test]
    fn installed_db_with_origin_owned_files_and_depends() {
        let mut files = MemFiles::default();
        files
            .add(
                "/usr/lib/apk/db/installed",
                3,
                Extracted::Bytes(INSTALLED_TEXT.into()),
            )
            .link("/lib", "usr/lib");
        let packages = catalog(&files).packages;
        assert_eq!(packages.len(), 2);
        let musl = &packages[1];
        assert_eq!(
            (musl.name.as_str(), musl.version.as_str()),
            ("musl", "1.2.5-r0")
        );
        let crypto = &packages[0];
        assert_eq!(crypto.name, "libcrypto3");
        assert_eq!(crypto.version, "3.3.2-r0");
        assert_eq!(crypto.arch.as_deref(), Some("x86_64"));
        assert_eq!(crypto.source_name.as_deref(), Some("openssl"));
        assert_eq!(crypto.licenses, ["Apache-2.0"]);
        assert_eq!(crypto.found_at, "/usr/lib/apk/db/installed");
        assert_eq!(crypto.layer, 3);
        assert_eq!(
            crypto.owned_files,
            [
                "/usr/lib",
                "/usr/lib/libcrypto.so.3",
                "/etc/ssl",
                "/etc/ssl/openssl.cnf"
            ]
        );
        assert_eq!(crypto.depends_on, ["musl"]);
        assert_eq!(
            musl.owned_files,
            [
                "/lib",
                "/lib/ld-musl-x86_64.so.1",
                "/lib/libc.musl-x86_64.so.1"
            ]
        );
    }

    #[test]
    fn no_origin_means_the_package_is_its_own_source() {
        let mut files = MemFiles::default();
        files.add_bytes("/lib/apk/db/installed", b"P:a\nV:1-r0\nR:orphan\n");
        let packages = catalog(&files).packages;
        assert_eq!(packages[0].source_name.as_deref(), Some("a"));
        assert_eq!(packages[0].owned_files, ["/orphan"]);
    }

    #[test]
    fn garbage_gives_nothing() {
        for bytes in [
            &b"\xff\xff"[..],
            b"P\nV\n",
            b"PP:x\nV:1\n",
            b":::\n\n\n",
            b"P:\nV:\n",
        ] {
            let mut files = MemFiles::default();
            files.add_bytes("/lib/apk/db/installed", bytes);
            assert!(catalog(&files).packages.is_empty(), "{bytes:?}");
        }
    }
}
