//! Python distributions: `*.dist-info/METADATA` (wheels, pip), and the
//! older `*.egg-info/PKG-INFO`, `*.egg-info` files and `EGG-INFO/PKG-INFO`
//! of eggs — wherever they are, as Syft and Trivy look. Names are kept as
//! written; normalising them is the purl writer's job. Owned files come
//! from `RECORD` (or an egg-info's `installed-files.txt`).

use std::collections::{BTreeMap, BTreeSet};

use super::rfc822;
use super::{parent, text};
use crate::sbom::files::{normalise, Files, Found};
use crate::sbom::model::{Ecosystem, Package};

const DIST_INFO: &str = ".dist-info";
const EGG_INFO: &str = ".egg-info";

pub(super) fn wants(path: &str) -> bool {
    is_metadata(path)
        || path.ends_with(".dist-info/RECORD")
        || path.ends_with(".egg-info/installed-files.txt")
}

/// A file that describes one distribution.
pub(super) fn is_metadata(path: &str) -> bool {
    path.ends_with(".dist-info/METADATA")
        || path.ends_with(".egg-info/PKG-INFO")
        || path.ends_with("/EGG-INFO/PKG-INFO")
        || path.ends_with(EGG_INFO)
}

/// A directory that holds one distribution's metadata.
pub(super) fn is_metadata_dir(dir: &str) -> bool {
    dir.ends_with(DIST_INFO) || dir.ends_with(EGG_INFO) || dir.ends_with("/EGG-INFO")
}

/// One distribution from its metadata file; `depends_on` holds the
/// requirement names as written until [`resolve_depends`].
pub(super) fn package(files: &dyn Files, found: &Found<'_>) -> Option<Package> {
    let text = text(found)?;
    let fields = rfc822::header(&text);
    let field = |name| rfc822::get(&fields, name).filter(|v| !v.is_empty());
    let mut package = Package::new(
        Ecosystem::PyPI,
        field("Name")?,
        field("Version")?,
        found.path,
        found.layer,
    );
    package.licenses = licenses(&fields);
    package.depends_on = rfc822::all(&fields, "Requires-Dist")
        .filter_map(requirement_name)
        .map(str::to_string)
        .collect();
    package.owned_files = owned_files(files, found.path);
    Some(package)
}

/// `License-Expression` (metadata 2.4, SPDX) first; else a one-line
/// `License` (many paste the whole licence text there: that is not a
/// name); else the `License ::` classifiers.
fn licenses(fields: &rfc822::Fields<'_>) -> Vec<String> {
    let usable =
        |v: &&str| !v.is_empty() && !v.contains('\n') && !v.eq_ignore_ascii_case("UNKNOWN");
    if let Some(expression) = rfc822::get(fields, "License-Expression").filter(usable) {
        return vec![expression.to_string()];
    }
    if let Some(license) = rfc822::get(fields, "License").filter(usable) {
        return vec![license.to_string()];
    }
    rfc822::all(fields, "Classifier")
        .filter_map(|c| c.strip_prefix("License ::"))
        .filter_map(|c| c.rsplit("::").next())
        .map(str::trim)
        .filter(|c| !c.is_empty() && *c != "OSI Approved")
        .map(str::to_string)
        .collect()
}

/// `requests[socks] (>=2) ; python_version < "3.8"` → `requests`; extras'
/// requirements (`; extra == "test"`) are not installed by default: none.
fn requirement_name(requirement: &str) -> Option<&str> {
    let (spec, marker) = requirement.split_once(';').unwrap_or((requirement, ""));
    if marker.contains("extra") {
        return None;
    }
    let spec = spec.trim();
    let end = spec
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
        .unwrap_or(spec.len());
    (end > 0).then(|| &spec[..end])
}

fn owned_files(files: &dyn Files, metadata: &str) -> Vec<String> {
    let dir = parent(metadata);
    if dir.ends_with(DIST_INFO) {
        // RECORD is CSV: path,hash,size; paths relative to site-packages.
        let record = format!("{dir}/RECORD");
        let Some(text) = files
            .get(&record)
            .and_then(|f| text(&f).map(|t| t.into_owned()))
        else {
            return Vec::new();
        };
        let base = parent(dir);
        return text
            .lines()
            .filter_map(first_csv_field)
            .map(|path| normalise(base, &path))
            .collect();
    }
    if dir.ends_with(EGG_INFO) {
        // One path per line, relative to the egg-info directory.
        let list = format!("{dir}/installed-files.txt");
        let Some(text) = files
            .get(&list)
            .and_then(|f| text(&f).map(|t| t.into_owned()))
        else {
            return Vec::new();
        };
        return text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(|path| normalise(dir, path))
            .collect();
    }
    Vec::new()
}

/// The first field of a CSV line, unquoted (`"a,b.py",sha256=…,12`).
fn first_csv_field(line: &str) -> Option<String> {
    let field = match line.strip_prefix('"') {
        Some(quoted) => {
            let mut out = String::new();
            let mut chars = quoted.chars().peekable();
            while let Some(c) = chars.next() {
                if c == '"' {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        out.push('"');
                    } else {
                        break;
                    }
                } else {
                    out.push(c);
                }
            }
            out
        }
        None => line.split(',').next().unwrap_or_default().to_string(),
    };
    let field = field.trim();
    (!field.is_empty()).then(|| field.to_string())
}

/// PEP 503: case and runs of `-_.` do not matter.
fn normalised(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// Requirement names → the names, as written, of the distributions found.
pub(super) fn resolve_depends(packages: &mut [Package]) {
    let mut by_name: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for p in packages.iter() {
        by_name
            .entry(normalised(&p.name))
            .or_default()
            .insert(p.name.clone());
    }
    for p in packages.iter_mut() {
        let own = normalised(&p.name);
        let names: BTreeSet<String> = p
            .depends_on
            .iter()
            .map(|d| normalised(d))
            .filter(|d| *d != own)
            .filter_map(|d| by_name.get(&d))
            .flatten()
            .cloned()
            .collect();
        p.depends_on = names.into_iter().collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sbom::catalog::catalog;
    use crate::sbom::files::{Extracted, MemFiles};

    const SITE: &str = "/usr/local/lib/python3.12/site-packages";

    fn site() -> MemFiles {
        let mut files = MemFiles::default();
        files
            .add(
                &format!("{SITE}/requests-2.32.3.dist-info/METADATA"),
                5,
                Extracted::Bytes(
                    b"Metadata-Version: 2.1\nName: requests\nVersion: 2.32.3\nLicense: Apache-2.0\nRequires-Dist: charset-normalizer <4,>=2\nRequires-Dist: urllib3<3,>=1.21.1\nRequires-Dist: PySocks!=1.5.7,>=1.5.6 ; extra == 'socks'\nRequires-Dist: not-installed\n\nName: body-not-header\n".to_vec(),
                ),
            )
            .add_bytes(
                &format!("{SITE}/requests-2.32.3.dist-info/RECORD"),
                b"requests/__init__.py,sha256=abc,494\n\"requests/odd,name.py\",,\n../../../bin/req,,\nrequests-2.32.3.dist-info/RECORD,,\n",
            )
            .add_bytes(
                &format!("{SITE}/charset_normalizer-3.3.2.dist-info/METADATA"),
                b"Metadata-Version: 2.4\nName: charset_normalizer\nVersion: 3.3.2\nLicense-Expression: MIT\nLicense: something else\n",
            )
            .add_bytes(
                &format!("{SITE}/urllib3-2.2.2.dist-info/METADATA"),
                b"Name: urllib3\nVersion: 2.2.2\nLicense: \n  long text\n  of a licence\nClassifier: License :: OSI Approved :: MIT License\nClassifier: Programming Language :: Python\n",
            )
            .add_bytes(
                &format!("{SITE}/six-1.16.0.egg-info"),
                b"Metadata-Version: 1.2\nName: six\nVersion: 1.16.0\nLicense: UNKNOWN\n",
            )
            .add_bytes(
                &format!("{SITE}/PyYAML-6.0.egg-info/PKG-INFO"),
                b"Name: PyYAML\nVersion: 6.0\nLicense: MIT\n",
            )
            .add_bytes(
                &format!("{SITE}/PyYAML-6.0.egg-info/installed-files.txt"),
                b"../yaml/__init__.py\nPKG-INFO\n",
            )
            .add_bytes(
                &format!("{SITE}/foo-1.0-py3.12.egg/EGG-INFO/PKG-INFO"),
                b"Name: foo\nVersion: 1.0\n",
            )
            .add_bytes(&format!("{SITE}/broken.dist-info/METADATA"), b"Name: broken\n")
            .add_bytes(&format!("{SITE}/binary.dist-info/METADATA"), b"\xff\xfe\x00\x01");
        files
    }

    #[test]
    fn dist_info_and_egg_info() {
        let files = site();
        let packages = catalog(&files).packages;
        let summary: Vec<(&str, &str, Vec<&str>)> = packages
            .iter()
            .map(|p| {
                (
                    p.name.as_str(),
                    p.version.as_str(),
                    p.licenses.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("PyYAML", "6.0", vec!["MIT"]),
                ("charset_normalizer", "3.3.2", vec!["MIT"]),
                ("foo", "1.0", vec![]),
                ("requests", "2.32.3", vec!["Apache-2.0"]),
                ("six", "1.16.0", vec![]),
                ("urllib3", "2.2.2", vec!["MIT License"]),
            ]
        );
        let requests = &packages[3];
        assert_eq!(
            requests.found_at,
            format!("{SITE}/requests-2.32.3.dist-info/METADATA")
        );
        assert_eq!(requests.layer, 5);
        assert_eq!(requests.depends_on, ["charset_normalizer", "urllib3"]);
        assert_eq!(
            requests.owned_files,
            [
                format!("{SITE}/requests/__init__.py"),
                format!("{SITE}/requests/odd,name.py"),
                "/usr/local/bin/req".to_string(),
                format!("{SITE}/requests-2.32.3.dist-info/RECORD"),
            ]
        );
        assert_eq!(
            packages[0].owned_files,
            [
                format!("{SITE}/yaml/__init__.py"),
                format!("{SITE}/PyYAML-6.0.egg-info/PKG-INFO")
            ]
        );
        assert_eq!(packages[4].found_at, format!("{SITE}/six-1.16.0.egg-info"));
    }

    #[test]
    fn wanted_paths() {
        for path in [
            "/x/a-1.dist-info/METADATA",
            "/x/a-1.dist-info/RECORD",
            "/x/a-1.egg-info/PKG-INFO",
            "/x/a-1.egg-info",
            "/x/a-1.egg/EGG-INFO/PKG-INFO",
            "/x/a-1.egg-info/installed-files.txt",
        ] {
            assert!(wants(path), "{path}");
        }
        for path in [
            "/x/a-1.dist-info/WHEEL",
            "/x/METADATA",
            "/x/PKG-INFO",
            "/x/a.egg-info/requires.txt",
        ] {
            assert!(!wants(path), "{path}");
        }
    }

    #[test]
    fn requirement_names() {
        assert_eq!(
            requirement_name("requests[socks] (>=2) ; python_version < \"3.8\""),
            Some("requests")
        );
        assert_eq!(
            requirement_name("zope.interface>=5"),
            Some("zope.interface")
        );
        assert_eq!(requirement_name("pytest ; extra == \"test\""), None);
        assert_eq!(requirement_name(">=1"), None);
        assert_eq!(normalised("Zope__.Interface"), "zope-interface");
    }

    /// The ground truth: this machine's Python distributions, as
    /// importlib.metadata lists them.
    #[test]
    #[allow(clippy::disallowed_macros)] // a skipped ground truth says why
    fn host_dist_packages_match_importlib_metadata() {
        let root = "/usr/lib/python3/dist-packages";
        let Ok(entries) = std::fs::read_dir(root) else {
            println!("skipped: no {root} on this machine");
            return;
        };
        let script = "import importlib.metadata as m\n\
            for d in m.distributions(path=[\"/usr/lib/python3/dist-packages\"]):\n    \
            print(d.metadata['Name'], d.version, d._path)";
        let output = match std::process::Command::new("python3")
            .args(["-c", script])
            .output()
        {
            Ok(output) if output.status.success() => output,
            _ => {
                println!("skipped: python3 did not run");
                return;
            }
        };
        let expected: BTreeSet<String> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::to_string)
            .collect();

        let mut files = MemFiles::default();
        for entry in entries.flatten() {
            let path = entry.path();
            let path = path.to_string_lossy();
            for candidate in [
                path.to_string(),
                format!("{path}/METADATA"),
                format!("{path}/PKG-INFO"),
                format!("{path}/RECORD"),
            ] {
                if wants(&candidate) && std::path::Path::new(&candidate).is_file() {
                    if let Ok(bytes) = std::fs::read(&candidate) {
                        files.add_bytes(&candidate, &bytes);
                    }
                }
            }
        }
        let found: BTreeSet<String> = catalog(&files)
            .packages
            .iter()
            .map(|p| {
                let dir = if p.found_at.ends_with(EGG_INFO) {
                    p.found_at.as_str()
                } else {
                    parent(&p.found_at)
                };
                format!("{} {} {dir}", p.name, p.version)
            })
            .collect();
        if expected.is_empty() {
            println!("skipped: no distributions in {root}");
            return;
        }
        assert_eq!(found, expected);
    }
}
