//! Across catalogers: what is collected, what is kept, and what is listed
//! once.

use super::*;
use crate::sbom::files::MemFiles;

/// `extract` on bytes in memory.
fn extract(file: &FileMeta, bytes: &[u8]) -> Option<Extracted> {
    super::extract(file, &mut Contents::from_bytes(bytes.to_vec()))
}

fn meta(path: &str) -> FileMeta<'_> {
    FileMeta {
        path,
        size: 100,
        mode: 0o644,
        layer: 1,
    }
}

#[test]
fn wants_what_some_cataloger_reads() {
    for path in [
        "/etc/os-release",
        "/usr/lib/os-release",
        "/etc/debian_version",
        "/etc/alpine-release",
        "/var/lib/dpkg/status",
        "/var/lib/dpkg/status.d/libc6",
        "/var/lib/dpkg/info/libc6:amd64.list",
        "/lib/apk/db/installed",
        "/var/lib/rpm/rpmdb.sqlite",
        "/usr/lib/sysimage/rpm/rpmdb.sqlite",
        "/var/lib/rpm/Packages",
        "/usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA",
        "/usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/RECORD",
        "/usr/lib/python3/dist-packages/six-1.16.0.egg-info",
        "/usr/lib/python3/dist-packages/six-1.16.0.egg-info/PKG-INFO",
        "/app/node_modules/@scope/x/package.json",
        "/opt/app.jar",
        "/srv/ROOT.war",
    ] {
        assert!(wants(&meta(path)), "{path}");
    }
    for path in [
        "/etc/passwd",
        "/etc/os-release.d/x",
        "/usr/share/doc/bash/copyright",
        "/var/lib/dpkg/available",
        "/var/lib/rpm/Basenames",
        "/app/package.json",
        "/app/node_modules/x/lib/package.json",
        "/usr/bin/bash",
    ] {
        assert!(!wants(&meta(path)), "{path}");
    }
}

#[test]
fn extract_keeps_bytes_of_text_databases() {
    let status = b"Package: a\nVersion: 1\n";
    assert_eq!(
        extract(&meta("/var/lib/dpkg/status"), status),
        Some(Extracted::Bytes(status.to_vec()))
    );
    assert_eq!(extract(&meta("/etc/passwd"), b"root:x:0:0"), None);
    // A jar that is not one keeps nothing.
    assert_eq!(extract(&meta("/a.jar"), b"junk"), None);
}

const DEB_STATUS: &str = "\
Package: python3-yaml
Status: install ok installed
Architecture: amd64
Source: pyyaml
Version: 6.0-3+b2

Package: node-lodash
Status: install ok installed
Architecture: all
Version: 4.17.21+dfsg+~cs8.31.198.20210220-9

Package: libcommons-lang-java
Status: install ok installed
Architecture: all
Version: 2.6-10

Package: python3-pygments
Status: install ok installed
Architecture: all
Version: 2.14.0+dfsg-1
";

const DIST: &str = "/usr/lib/python3/dist-packages";

fn debian_with_language_packages() -> MemFiles {
    let mut files = MemFiles::default();
    files
        .add_bytes("/etc/os-release", b"ID=debian\nVERSION_ID=\"12\"\n")
        .add_bytes("/var/lib/dpkg/status", DEB_STATUS.as_bytes())
        .add_bytes(
            "/var/lib/dpkg/info/python3-yaml.list",
            format!(
                "/.\n/usr\n{DIST}\n{DIST}/PyYAML-6.0.dist-info\n{DIST}/PyYAML-6.0.dist-info/METADATA\n{DIST}/yaml/__init__.py\n"
            )
            .as_bytes(),
        )
        // Only the metadata directory is listed: it holds one distribution.
        .add_bytes(
            "/var/lib/dpkg/info/python3-pygments.list",
            format!("{DIST}\n{DIST}/Pygments-2.14.0.egg-info\n").as_bytes(),
        )
        .add_bytes(
            &format!("{DIST}/Pygments-2.14.0.egg-info/PKG-INFO"),
            b"Name: Pygments\nVersion: 2.14.0\n",
        )
        // Debian lists the package directory, not every file in it.
        .add_bytes(
            "/var/lib/dpkg/info/node-lodash.list",
            b"/usr/share/nodejs\n/usr/share/nodejs/node_modules\n/usr/share/nodejs/node_modules/lodash\n",
        )
        // Listed under /usr/share/java, found under its symlinked real path.
        .add_bytes(
            "/var/lib/dpkg/info/libcommons-lang-java.list",
            b"/usr/share/java/commons-lang.jar\n",
        )
        .link("/usr/share/java/commons-lang.jar", "commons-lang-2.6.jar")
        .add_bytes(
            &format!("{DIST}/PyYAML-6.0.dist-info/METADATA"),
            b"Name: PyYAML\nVersion: 6.0\n",
        )
        // pip-installed beside it: not owned, listed.
        .add_bytes(
            &format!("{DIST}/requests-2.28.1.dist-info/METADATA"),
            b"Name: requests\nVersion: 2.28.1\n",
        )
        // Owned directory holds many distributions: it does not own them all.
        .add_bytes(&format!("{DIST}/six-1.16.0.egg-info"), b"Name: six\nVersion: 1.16.0\n")
        .add_bytes(
            "/usr/share/nodejs/node_modules/lodash/package.json",
            br#"{"name":"lodash","version":"4.17.21"}"#,
        )
        .add_bytes(
            "/app/node_modules/lodash/package.json",
            br#"{"name":"lodash","version":"4.17.21"}"#,
        );
    let mut commons = Package::new(
        Ecosystem::Maven,
        "commons-lang",
        "2.6",
        "/usr/share/java/commons-lang-2.6.jar",
        0,
    );
    commons.namespace = Some("commons-lang".to_string());
    let mut app = commons.clone();
    app.found_at = "/opt/app.jar".to_string();
    let mut nested_in_owned = commons.clone();
    nested_in_owned.found_at = "/usr/share/java/commons-lang-2.6.jar!/lib/inner.jar".to_string();
    files
        .add(
            "/usr/share/java/commons-lang-2.6.jar",
            0,
            Extracted::Packages(vec![commons, nested_in_owned]),
        )
        .add("/opt/app.jar", 2, Extracted::Packages(vec![app]));
    files
}

#[test]
fn language_packages_an_os_package_owns_are_listed_once() {
    let files = debian_with_language_packages();
    let inventory = catalog(&files);
    let listed: Vec<(Ecosystem, &str, &str)> = inventory
        .packages
        .iter()
        .map(|p| (p.ecosystem, p.name.as_str(), p.found_at.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            (
                Ecosystem::Deb,
                "libcommons-lang-java",
                "/var/lib/dpkg/status"
            ),
            (Ecosystem::Deb, "node-lodash", "/var/lib/dpkg/status"),
            (Ecosystem::Deb, "python3-pygments", "/var/lib/dpkg/status"),
            (Ecosystem::Deb, "python3-yaml", "/var/lib/dpkg/status"),
            (
                Ecosystem::PyPI,
                "requests",
                "/usr/lib/python3/dist-packages/requests-2.28.1.dist-info/METADATA"
            ),
            (
                Ecosystem::PyPI,
                "six",
                "/usr/lib/python3/dist-packages/six-1.16.0.egg-info"
            ),
            (
                Ecosystem::Npm,
                "lodash",
                "/app/node_modules/lodash/package.json"
            ),
            (Ecosystem::Maven, "commons-lang", "/opt/app.jar"),
        ]
    );
    assert_eq!(
        inventory.distro.map(|d| (d.id, d.version_id)),
        Some(("debian".to_string(), Some("12".to_string())))
    );
    assert!(inventory.notes.is_empty());
}

#[test]
fn without_os_ownership_everything_is_listed() {
    let mut files = debian_with_language_packages();
    files
        .files
        .retain(|path, _| !path.starts_with("/var/lib/dpkg/info/"));
    let inventory = catalog(&files);
    // 4 debs, 4 Python distributions, 2 npm packages, 3 Maven packages.
    assert_eq!(inventory.packages.len(), 4 + 4 + 2 + 3);
}

#[test]
fn order_is_deterministic() {
    let mut files = MemFiles::default();
    files
        .add_bytes(
            "/var/lib/dpkg/status",
            b"Package: z\nVersion: 1\n\nPackage: a\nVersion: 2\nArchitecture: i386\n\nPackage: a\nVersion: 2\nArchitecture: amd64\n\nPackage: a\nVersion: 10\n",
        )
        .add_bytes("/b/node_modules/a/package.json", br#"{"name":"a","version":"1"}"#)
        .add_bytes("/a/node_modules/a/package.json", br#"{"name":"a","version":"1"}"#)
        .add_bytes("/lib/apk/db/installed", b"P:b\nV:1\n");
    let listed: Vec<String> = catalog(&files)
        .packages
        .iter()
        .map(|p| {
            format!(
                "{:?} {} {} {} {}",
                p.ecosystem,
                p.name,
                p.version,
                p.found_at,
                p.arch.as_deref().unwrap_or("-")
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            "Deb a 10 /var/lib/dpkg/status -",
            "Deb a 2 /var/lib/dpkg/status amd64",
            "Deb a 2 /var/lib/dpkg/status i386",
            "Deb z 1 /var/lib/dpkg/status -",
            "Apk b 1 /lib/apk/db/installed -",
            "Npm a 1 /a/node_modules/a/package.json -",
            "Npm a 1 /b/node_modules/a/package.json -",
        ]
    );
}

#[test]
fn an_empty_image_has_nothing() {
    let inventory = catalog(&MemFiles::default());
    assert!(inventory.distro.is_none());
    assert!(inventory.packages.is_empty());
    assert!(inventory.notes.is_empty());
}

/// The ground truth for "not counted twice": this machine's dpkg database
/// and its Python distributions, read the way an image's are, list as
/// PyPI packages exactly the distributions `dpkg -S` says no package owns.
#[test]
#[allow(clippy::disallowed_macros)] // a skipped ground truth says why
fn host_python_owned_by_debian_packages_is_listed_once() {
    let status = "/var/lib/dpkg/status";
    let site = "/usr/lib/python3/dist-packages";
    let (Ok(status_bytes), Ok(entries), Ok(infos)) = (
        std::fs::read(status),
        std::fs::read_dir(site),
        std::fs::read_dir("/var/lib/dpkg/info"),
    ) else {
        println!("skipped: no dpkg database or no {site} on this machine");
        return;
    };
    let mut files = MemFiles::default();
    for entry in entries.flatten() {
        let path = entry.path().to_string_lossy().into_owned();
        for candidate in [
            path.clone(),
            format!("{path}/METADATA"),
            format!("{path}/PKG-INFO"),
        ] {
            if python::is_metadata(&candidate) && std::path::Path::new(&candidate).is_file() {
                if let Ok(bytes) = std::fs::read(&candidate) {
                    files.add_bytes(&candidate, &bytes);
                }
            }
        }
    }
    let all_python: Vec<String> = catalog(&files)
        .packages
        .into_iter()
        .map(|p| p.found_at)
        .collect();
    if all_python.is_empty() {
        println!("skipped: no Python distributions in {site}");
        return;
    }
    let Ok(output) = std::process::Command::new("dpkg")
        .arg("-S")
        .args(&all_python)
        .output()
    else {
        println!("skipped: dpkg -S did not run");
        return;
    };
    // "python3-yaml: /usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA"
    let owned: HashSet<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| !line.starts_with("diversion "))
        .filter_map(|line| line.split_once(": ").map(|(_, path)| path.to_string()))
        .collect();
    let expected: Vec<&String> = all_python.iter().filter(|p| !owned.contains(*p)).collect();

    files.add_bytes(status, &status_bytes);
    for info in infos.flatten() {
        let path = info.path().to_string_lossy().into_owned();
        if path.ends_with(".list") {
            if let Ok(bytes) = std::fs::read(&path) {
                files.add_bytes(&path, &bytes);
            }
        }
    }
    let inventory = catalog(&files);
    let listed: Vec<&String> = inventory
        .packages
        .iter()
        .filter(|p| p.ecosystem == Ecosystem::PyPI)
        .map(|p| &p.found_at)
        .collect();
    assert!(inventory
        .packages
        .iter()
        .any(|p| p.ecosystem == Ecosystem::Deb));
    assert_eq!(listed, expected, "{} owned by dpkg", owned.len());
}
