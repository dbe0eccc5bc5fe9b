//! Debian packages: `/var/lib/dpkg/status`, and distroless images'
//! `/var/lib/dpkg/status.d/*` (one file per package, no dpkg at all).
//! Owned files come from `info/<pkg>[:<arch>].list`, or for distroless
//! from `status.d/<pkg>.md5sums`.

use std::collections::{BTreeMap, BTreeSet};

use super::rfc822::{self, Fields};
use super::text;
use crate::sbom::files::{Files, Found};
use crate::sbom::model::{Ecosystem, Package};

const STATUS: &str = "/var/lib/dpkg/status";
const STATUS_D: &str = "/var/lib/dpkg/status.d/";
const INFO: &str = "/var/lib/dpkg/info/";
const MD5SUMS: &str = ".md5sums";

pub(super) fn wants(path: &str) -> bool {
    path == STATUS
        || path
            .strip_prefix(STATUS_D)
            .is_some_and(|name| !name.is_empty() && !name.contains('/'))
        || path
            .strip_prefix(INFO)
            .is_some_and(|name| name.ends_with(".list") && !name.contains('/'))
}

pub(super) fn catalog(files: &dyn Files, collected: &[Found<'_>]) -> Vec<Package> {
    let mut stanzas = Vec::new();
    if let Some(found) = files.get(STATUS) {
        stanzas.extend(read_status(files, &found));
    }
    for found in collected {
        let is_status_d = found
            .path
            .strip_prefix(STATUS_D)
            .is_some_and(|name| !name.contains('/') && !name.ends_with(MD5SUMS));
        if is_status_d {
            stanzas.extend(read_status(files, found));
        }
    }
    resolve_depends(stanzas)
}

/// A package as read, with its relations still as written.
struct Stanza {
    package: Package,
    depends: Vec<String>,
    provides: Vec<String>,
}

fn read_status(files: &dyn Files, found: &Found<'_>) -> Vec<Stanza> {
    let Some(text) = text(found) else {
        return Vec::new();
    };
    let distroless = found.path.starts_with(STATUS_D);
    rfc822::paragraphs(&text)
        .iter()
        .filter_map(|fields| stanza(fields, found))
        .map(|mut s| {
            s.package.owned_files = owned_files(files, &s.package, distroless);
            s
        })
        .collect()
}

fn stanza(fields: &Fields<'_>, found: &Found<'_>) -> Option<Stanza> {
    let field = |name| rfc822::get(fields, name).filter(|v| !v.is_empty());
    let name = field("Package")?;
    let version = field("Version")?;
    // dpkg's Status is "want flag status": what counts is the third word, the
    // package's files being on disk ("hold ok installed" too). Distroless
    // stanzas have no Status: they describe what was unpacked.
    if let Some(status) = field("Status") {
        if status.split_whitespace().nth(2) != Some("installed") {
            return None;
        }
    }
    let mut package = Package::new(Ecosystem::Deb, name, version, found.path, found.layer);
    package.arch = field("Architecture").map(str::to_string);
    let (source_name, source_version) = match field("Source") {
        Some(source) => match source.split_once('(') {
            Some((source_name, rest)) => (
                source_name.trim(),
                rest.split_once(')').map_or(rest, |(v, _)| v).trim(),
            ),
            None => (source.trim(), version),
        },
        None => (name, version),
    };
    package.source_name = Some(source_name.to_string());
    package.source_version = Some(if source_version.is_empty() {
        version.to_string()
    } else {
        source_version.to_string()
    });
    let mut depends = Vec::new();
    for field_name in ["Pre-Depends", "Depends"] {
        for alternative in rfc822::all(fields, field_name).flat_map(|v| v.split([',', '|'])) {
            if let Some(dep) = relation_name(alternative) {
                depends.push(dep.to_string());
            }
        }
    }
    let provides = field("Provides")
        .into_iter()
        .flat_map(|v| v.split(','))
        .filter_map(relation_name)
        .map(str::to_string)
        .collect();
    Some(Stanza {
        package,
        depends,
        provides,
    })
}

/// `libc6:any (>= 2.36)` → `libc6`.
fn relation_name(relation: &str) -> Option<&str> {
    let name = relation.split(['(', '[', '<']).next()?.trim();
    let name = name.split(':').next()?.trim();
    (!name.is_empty()).then_some(name)
}

fn owned_files(files: &dyn Files, package: &Package, distroless: bool) -> Vec<String> {
    let mut lists = Vec::new();
    if let Some(arch) = &package.arch {
        lists.push(format!("{INFO}{}:{arch}.list", package.name));
    }
    lists.push(format!("{INFO}{}.list", package.name));
    if let Some(text) = lists
        .iter()
        .find_map(|list| files.get(list))
        .and_then(|found| text(&found).map(|t| t.into_owned()))
    {
        return text
            .lines()
            .map(str::trim)
            .filter(|line| line.starts_with('/') && *line != "/.")
            .map(str::to_string)
            .collect();
    }
    if distroless {
        // "<md5>  usr/share/doc/…": paths relative to the root.
        let md5sums = format!("{STATUS_D}{}{MD5SUMS}", package.name);
        if let Some(text) = files
            .get(&md5sums)
            .and_then(|found| text(&found).map(|t| t.into_owned()))
        {
            return text
                .lines()
                .filter_map(|line| line.split_once(char::is_whitespace))
                .map(|(_, path)| path.trim())
                .filter(|path| !path.is_empty())
                .map(|path| crate::sbom::files::normalise("/", path))
                .collect();
        }
    }
    Vec::new()
}

/// Dependency names → installed packages: a name installed as such, or
/// the packages that provide it (`awk` → `mawk`). Unresolved ones are left
/// out: an SBOM names what is there.
fn resolve_depends(stanzas: Vec<Stanza>) -> Vec<Package> {
    let mut providers: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for s in &stanzas {
        let name = s.package.name.as_str();
        for provided in std::iter::once(name).chain(s.provides.iter().map(String::as_str)) {
            providers.entry(provided).or_default().insert(name);
        }
    }
    let resolved: Vec<Vec<String>> = stanzas
        .iter()
        .map(|s| {
            let names: BTreeSet<&str> = s
                .depends
                .iter()
                .filter_map(|dep| providers.get(dep.as_str()))
                .flatten()
                .copied()
                .filter(|name| *name != s.package.name)
                .collect();
            names.into_iter().map(str::to_string).collect()
        })
        .collect();
    stanzas
        .into_iter()
        .zip(resolved)
        .map(|(s, depends_on)| Package {
            depends_on,
            ..s.package
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sbom::catalog::catalog;
    use crate::sbom::files::{Extracted, MemFiles};

    const STATUS_TEXT: &str = "\
Package: bash
Essential: yes
Status: install ok installed
Priority: required
Architecture: amd64
Multi-Arch: foreign
Source: bash (5.2.15-2)
Version: 5.2.15-2+b8
Pre-Depends: libc6 (>= 2.36), libtinfo6 (>= 6)
Depends: base-files (>= 2.1.12), debianutils (>= 5.6-0.1)
Conffiles:
 /etc/bash.bashrc 89269e1298235f1b12b4c16e4065ad0d
 /etc/skel/.bashrc 0ee2d6e3d2a85a2e9e0c2d6c3cb1e0b8
Description: GNU Bourne Again SHell
 Bash is an sh-compatible command language interpreter.
 .
 Package: fake-from-description
Homepage: http://tiswww.case.edu/php/chet/bash/bashtop.html

Package: libc6
Status: install ok installed
Architecture: amd64
Source: glibc
Version: 2.36-9+deb12u4
Provides: libc6-2.36

Package: gone
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0-1

Package: removed-half
Status: install reinstreq half-installed
Architecture: amd64
Version: 1.0-1

Package: held
Status: hold ok installed
Architecture: all
Version: 1:2.3-4
Depends: awk | gawk, libc6:any, libc6-2.36, missing-thing

Package: mawk
Status: install ok installed
Architecture: amd64
Version: 1.3.4.20200120-3.1
Provides: awk

Package: lib32z
Status: install ok installed
Architecture: i386
Version: 1:1.2.13
";

    fn status_files() -> MemFiles {
        let mut files = MemFiles::default();
        files
            .add(
                "/var/lib/dpkg/status",
                2,
                Extracted::Bytes(STATUS_TEXT.into()),
            )
            .add_bytes(
                "/var/lib/dpkg/info/bash.list",
                b"/.\n/bin\n/bin/bash\n/etc/bash.bashrc\n",
            )
            .add_bytes(
                "/var/lib/dpkg/info/lib32z:i386.list",
                b"/usr/lib32/libz.so.1\n",
            )
            .add_bytes("/var/lib/dpkg/info/lib32z.list", b"/wrong\n");
        files
    }

    fn find<'a>(packages: &'a [Package], name: &str) -> &'a Package {
        packages.iter().find(|p| p.name == name).unwrap()
    }

    #[test]
    fn installed_packages_only_with_their_fields() {
        let files = status_files();
        let packages = catalog(&files).packages;
        let names: Vec<&str> = packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["bash", "held", "lib32z", "libc6", "mawk"]);

        let bash = find(&packages, "bash");
        assert_eq!(bash.version, "5.2.15-2+b8");
        assert_eq!(bash.source_name.as_deref(), Some("bash"));
        assert_eq!(bash.source_version.as_deref(), Some("5.2.15-2"));
        assert_eq!(bash.arch.as_deref(), Some("amd64"));
        assert_eq!(bash.found_at, "/var/lib/dpkg/status");
        assert_eq!(bash.layer, 2);
        assert_eq!(bash.owned_files, ["/bin", "/bin/bash", "/etc/bash.bashrc"]);
        // Only installed dependencies, by name.
        assert_eq!(bash.depends_on, ["libc6"]);

        let libc = find(&packages, "libc6");
        assert_eq!(libc.source_name.as_deref(), Some("glibc"));
        assert_eq!(libc.source_version.as_deref(), Some("2.36-9+deb12u4"));

        let held = find(&packages, "held");
        assert_eq!(held.version, "1:2.3-4");
        assert_eq!(held.source_name.as_deref(), Some("held"));
        assert_eq!(held.source_version.as_deref(), Some("1:2.3-4"));
        // awk → mawk through Provides; libc6:any and the virtual libc6-2.36 → libc6.
        assert_eq!(held.depends_on, ["libc6", "mawk"]);

        // <pkg>:<arch>.list wins over <pkg>.list.
        assert_eq!(
            find(&packages, "lib32z").owned_files,
            ["/usr/lib32/libz.so.1"]
        );
        assert!(packages.iter().all(|p| p.properties.is_empty()));
    }

    #[test]
    fn distroless_status_d() {
        let mut files = MemFiles::default();
        files
            .add(
                "/var/lib/dpkg/status.d/base-files",
                1,
                Extracted::Bytes(
                    b"Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: amd64\n".to_vec(),
                ),
            )
            .add_bytes(
                "/var/lib/dpkg/status.d/base-files.md5sums",
                b"0123456789abcdef0123456789abcdef  etc/debian_version\nbadline\n",
            )
            .add_bytes(
                "/var/lib/dpkg/status.d/libssl3",
                b"Package: libssl3\nVersion: 3.0.11-1\nSource: openssl\n\nPackage: openssl\nVersion: 3.0.11-1\nStatus: install ok installed\n",
            )
            .add_bytes("/var/lib/dpkg/status.d/tzdata.md5sums", b"Package: not-me\nVersion: 1\n");
        let packages = catalog(&files).packages;
        let summary: Vec<(&str, &str, &str, usize)> = packages
            .iter()
            .map(|p| {
                (
                    p.name.as_str(),
                    p.version.as_str(),
                    p.found_at.as_str(),
                    p.layer,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "base-files",
                    "12.4+deb12u5",
                    "/var/lib/dpkg/status.d/base-files",
                    1
                ),
                ("libssl3", "3.0.11-1", "/var/lib/dpkg/status.d/libssl3", 0),
                ("openssl", "3.0.11-1", "/var/lib/dpkg/status.d/libssl3", 0),
            ]
        );
        assert_eq!(
            find(&packages, "base-files").owned_files,
            ["/etc/debian_version"]
        );
        assert_eq!(
            find(&packages, "libssl3").source_name.as_deref(),
            Some("openssl")
        );
    }

    #[test]
    fn wanted_paths() {
        for path in [
            "/var/lib/dpkg/status",
            "/var/lib/dpkg/status.d/foo",
            "/var/lib/dpkg/status.d/foo.md5sums",
            "/var/lib/dpkg/info/bash.list",
            "/var/lib/dpkg/info/libc6:amd64.list",
        ] {
            assert!(wants(path), "{path}");
        }
        for path in [
            "/var/lib/dpkg/status-old",
            "/var/lib/dpkg/status.d/",
            "/var/lib/dpkg/status.d/x/y",
            "/var/lib/dpkg/info/bash.md5sums",
            "/var/lib/dpkg/info/bash.postinst",
        ] {
            assert!(!wants(path), "{path}");
        }
    }

    #[test]
    fn malformed_status_files_give_what_they_can() {
        for bytes in [
            &b""[..],
            b"\xff\xfe\x00garbage",
            b"Package:\nVersion: 1\n",
            b"Package: x\n",
            b"Version: 1\nStatus: install ok installed\n",
            b"Package: a\nVersion: 1\nStatus: install\nSource: (\n",
        ] {
            let mut files = MemFiles::default();
            files.add_bytes("/var/lib/dpkg/status", bytes);
            assert!(catalog(&files).packages.is_empty(), "{bytes:?}");
        }
        let mut files = MemFiles::default();
        files.add_bytes(
            "/var/lib/dpkg/status",
            b"Package: a\nVersion: 1\nSource: s (\nDepends: ,|, (\n",
        );
        let packages = catalog(&files).packages;
        assert_eq!(packages[0].source_name.as_deref(), Some("s"));
        assert_eq!(packages[0].source_version.as_deref(), Some("1"));
    }

    /// The ground truth: this machine's dpkg database, read the way an
    /// image's is, lists exactly what dpkg-query says is installed.
    #[test]
    #[allow(clippy::disallowed_macros)] // a skipped ground truth says why
    fn host_dpkg_status_matches_dpkg_query() {
        let Ok(status) = std::fs::read(STATUS) else {
            println!("skipped: no {STATUS} on this machine");
            return;
        };
        let output = match std::process::Command::new("dpkg-query")
            .args([
                "-W",
                "-f",
                "${db:Status-Abbrev} ${Package} ${Version} ${Architecture}\\n",
            ])
            .output()
        {
            Ok(output) if output.status.success() => output,
            _ => {
                println!("skipped: dpkg-query did not run");
                return;
            }
        };
        // "ii  bash 5.2.15-2+b8 amd64": the abbreviation is padded to three.
        let expected: BTreeSet<String> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| {
                let mut words = line.split_whitespace();
                let abbrev = words.next()?;
                // The second letter is the state on disk: "ii", and also
                // "hi" (held) and "ri" (selected for removal, still there).
                (abbrev.as_bytes().get(1) == Some(&b'i'))
                    .then(|| words.collect::<Vec<_>>().join(" "))
            })
            .collect();
        let mut files = MemFiles::default();
        files.add_bytes(STATUS, &status);
        let found: BTreeSet<String> = catalog(&files)
            .packages
            .iter()
            .map(|p| {
                format!(
                    "{} {} {}",
                    p.name,
                    p.version,
                    p.arch.as_deref().unwrap_or("")
                )
            })
            .collect();
        assert!(!expected.is_empty());
        let missing: Vec<_> = expected.difference(&found).collect();
        let extra: Vec<_> = found.difference(&expected).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "missing {missing:?}, extra {extra:?}"
        );
    }
}
