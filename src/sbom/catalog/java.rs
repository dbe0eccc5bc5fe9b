//! Java archives (jar, war, ear and their kin), parsed while the layer
//! streams so their bytes need not be kept: one package per
//! `META-INF/maven/<group>/<artifact>/pom.properties` (a shaded jar holds
//! several), nested archives (`BOOT-INF/lib/*.jar`, `WEB-INF/lib/*.jar`, an
//! ear's modules) recursed within a depth and a size budget. A jar with no
//! pom.properties falls back to its manifest, but only when the manifest
//! gives both a name and a version: a guess is worse than nothing.

use std::io::{Cursor, Read};

use crate::sbom::model::{Ecosystem, Package};

/// The archive kinds Syft reads as Java archives.
const EXTENSIONS: [&str; 10] = [
    ".jar", ".war", ".ear", ".par", ".sar", ".nar", ".jpi", ".hpi", ".kar", ".lpkg",
];

/// Archives inside archives inside the one in the image, at most.
const MAX_DEPTH: usize = 3;
/// One nested archive, decompressed, at most.
const MAX_NESTED: u64 = 64 << 20;
/// Everything decompressed for one archive in the image, nested ones included.
const MAX_TOTAL: u64 = 256 << 20;
/// A pom.properties or a manifest, at most.
const MAX_METADATA: u64 = 1 << 20;

pub(super) fn wants(path: &str) -> bool {
    is_archive(path)
}

fn is_archive(name: &str) -> bool {
    let Some(dot) = name.rfind('.') else {
        return false;
    };
    let ext = &name[dot..];
    EXTENSIONS.iter().any(|e| e.eq_ignore_ascii_case(ext))
}

/// The packages in the archive `contents` found at `path` in layer `layer`.
pub(super) fn packages(path: &str, layer: usize, contents: &[u8]) -> Vec<Package> {
    let mut found = Vec::new();
    let mut budget = MAX_TOTAL;
    archive(path, layer, contents, 0, &mut budget, &mut found);
    found
}

fn archive(
    found_at: &str,
    layer: usize,
    contents: &[u8],
    depth: usize,
    budget: &mut u64,
    out: &mut Vec<Package>,
) {
    let Ok(mut zip) = zip::ZipArchive::new(Cursor::new(contents)) else {
        return;
    };
    let mut poms = Vec::new();
    let mut manifest = None;
    let mut nested = Vec::new();
    for index in 0..zip.len() {
        let Some(name) = zip.name_for_index(index) else {
            continue;
        };
        if is_pom_properties(name) {
            poms.push(index);
        } else if name == "META-INF/MANIFEST.MF" {
            manifest = Some(index);
        } else if depth < MAX_DEPTH && is_archive(name) && !name.ends_with('/') {
            nested.push((index, name.to_string()));
        }
    }

    let before = out.len();
    for index in poms {
        if let Some(text) = read(&mut zip, index, MAX_METADATA, budget) {
            out.extend(pom_package(
                &String::from_utf8_lossy(&text),
                found_at,
                layer,
            ));
        }
    }
    if out.len() == before {
        if let Some(text) = manifest.and_then(|i| read(&mut zip, i, MAX_METADATA, budget)) {
            out.extend(manifest_package(
                &String::from_utf8_lossy(&text),
                found_at,
                layer,
            ));
        }
    }
    for (index, name) in nested {
        if let Some(inner) = read(&mut zip, index, MAX_NESTED, budget) {
            let inner_at = format!("{found_at}!/{name}");
            archive(&inner_at, layer, &inner, depth + 1, budget, out);
        }
    }
}

/// `META-INF/maven/<group>/<artifact>/pom.properties`.
fn is_pom_properties(name: &str) -> bool {
    let parts: Vec<&str> = name.split('/').collect();
    matches!(parts.as_slice(), ["META-INF", "maven", g, a, "pom.properties"] if !g.is_empty() && !a.is_empty())
}

/// An entry's bytes, if it decompresses within `limit` and the budget:
/// the sizes a zip declares are not trusted, the bytes read are counted.
fn read(
    zip: &mut zip::ZipArchive<Cursor<&[u8]>>,
    index: usize,
    limit: u64,
    budget: &mut u64,
) -> Option<Vec<u8>> {
    let entry = zip.by_index(index).ok()?;
    if entry.is_dir() {
        return None;
    }
    let cap = limit.min(*budget);
    let mut bytes = Vec::new();
    entry
        .take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .ok()?;
    let read = bytes.len() as u64;
    *budget = budget.saturating_sub(read);
    (read <= cap).then_some(bytes)
}

/// Java properties, as far as pom.properties uses them: `key=value` or
/// `key: value`, `#`/`!` comments.
fn pom_package(text: &str, found_at: &str, layer: usize) -> Option<Package> {
    let mut group = None;
    let mut artifact = None;
    let mut version = None;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with(['#', '!']) {
            continue;
        }
        let Some((key, value)) = line.split_once(['=', ':']) else {
            continue;
        };
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        match key.trim() {
            "groupId" => group = Some(value),
            "artifactId" => artifact = Some(value),
            "version" => version = Some(value),
            _ => {}
        }
    }
    let mut package = Package::new(Ecosystem::Maven, artifact?, version?, found_at, layer);
    package.namespace = group.map(str::to_string);
    Some(package)
}

/// The manifest's main section: `Name: value`, a line starting with one
/// space continues the one above (72-byte lines), a blank line ends it.
fn manifest_package(text: &str, found_at: &str, layer: usize) -> Option<Package> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.is_empty() {
            break;
        }
        if let Some(more) = line.strip_prefix(' ') {
            if let Some((_, value)) = fields.last_mut() {
                value.push_str(more);
            }
        } else if let Some((name, value)) = line.split_once(':') {
            fields.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    let get = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    };
    let (name, version) = match (get("Implementation-Title"), get("Implementation-Version")) {
        (Some(name), Some(version)) => (name, version),
        _ => {
            // "org.example.bundle;singleton:=true"
            let name = get("Bundle-SymbolicName")?.split(';').next()?.trim();
            (name, get("Bundle-Version")?)
        }
    };
    if name.is_empty() {
        return None;
    }
    Some(Package::new(
        Ecosystem::Maven,
        name,
        version,
        found_at,
        layer,
    ))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::image::FileMeta;
    use crate::sbom::catalog::{catalog, extract};
    use crate::sbom::files::{Extracted, MemFiles};
    use zip::write::SimpleFileOptions;
    use zip::CompressionMethod;

    fn jar(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (i, (name, bytes)) in entries.iter().enumerate() {
            // Nested jars are usually stored, metadata deflated: both kinds.
            let method = if i % 2 == 0 {
                CompressionMethod::Deflated
            } else {
                CompressionMethod::Stored
            };
            zip.start_file(
                *name,
                SimpleFileOptions::default().compression_method(method),
            )
            .unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    fn pom(g: &str, a: &str, v: &str) -> Vec<u8> {
        format!("#Generated by Maven\n#Tue Jan 01\ngroupId={g}\nartifactId={a}\nversion = {v}\n")
            .into_bytes()
    }

    fn meta(path: &str, layer: usize) -> FileMeta<'_> {
        FileMeta {
            path,
            size: 0,
            mode: 0o644,
            layer,
        }
    }

    fn summary(packages: &[Package]) -> Vec<(String, &str, &str)> {
        packages
            .iter()
            .map(|p| {
                (
                    format!("{}:{}", p.namespace.as_deref().unwrap_or("-"), p.name),
                    p.version.as_str(),
                    p.found_at.as_str(),
                )
            })
            .collect()
    }

    #[test]
    fn spring_boot_jar_with_nested_jars() {
        let jackson = jar(&[
            ("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\n"),
            (
                "META-INF/maven/com.fasterxml.jackson.core/jackson-databind/pom.properties",
                &pom("com.fasterxml.jackson.core", "jackson-databind", "2.17.0"),
            ),
        ]);
        let guava_shaded = jar(&[
            (
                "META-INF/maven/com.google.guava/guava/pom.properties",
                &pom("com.google.guava", "guava", "33.0.0-jre"),
            ),
            (
                "META-INF/maven/com.google.guava/failureaccess/pom.properties",
                &pom("com.google.guava", "failureaccess", "1.0.2"),
            ),
        ]);
        let innermost = jar(&[(
            "META-INF/maven/x/deep/pom.properties",
            &pom("x", "deep", "1"),
        )]);
        let nested_again = jar(&[
            ("META-INF/maven/x/mid/pom.properties", &pom("x", "mid", "1")),
            ("lib/deep.jar", &innermost),
        ]);
        let app = jar(&[
            (
                "META-INF/maven/com.example/app/pom.properties",
                &pom("com.example", "app", "0.1.0"),
            ),
            ("BOOT-INF/lib/jackson-databind-2.17.0.jar", &jackson),
            ("BOOT-INF/lib/guava-33.0.0-jre.jar", &guava_shaded),
            ("BOOT-INF/lib/mid.jar", &nested_again),
            ("BOOT-INF/lib/junk.jar", b"not a zip"),
            ("BOOT-INF/classes/", b""),
        ]);
        let file = meta("/app/app.jar", 3);
        assert!(crate::sbom::catalog::wants(&file));
        let Some(Extracted::Packages(packages)) = extract(&file, &app) else {
            panic!("no packages");
        };
        let mut got = summary(&packages);
        got.sort();
        assert_eq!(
            got,
            [
                ("com.example:app".into(), "0.1.0", "/app/app.jar"),
                (
                    "com.fasterxml.jackson.core:jackson-databind".into(),
                    "2.17.0",
                    "/app/app.jar!/BOOT-INF/lib/jackson-databind-2.17.0.jar"
                ),
                (
                    "com.google.guava:failureaccess".into(),
                    "1.0.2",
                    "/app/app.jar!/BOOT-INF/lib/guava-33.0.0-jre.jar"
                ),
                (
                    "com.google.guava:guava".into(),
                    "33.0.0-jre",
                    "/app/app.jar!/BOOT-INF/lib/guava-33.0.0-jre.jar"
                ),
                (
                    "x:deep".into(),
                    "1",
                    "/app/app.jar!/BOOT-INF/lib/mid.jar!/lib/deep.jar"
                ),
                ("x:mid".into(), "1", "/app/app.jar!/BOOT-INF/lib/mid.jar"),
            ]
        );
        assert!(packages
            .iter()
            .all(|p| p.layer == 3 && p.ecosystem == Ecosystem::Maven));

        // Through the squashed view, as the layer reader hands it over.
        let mut files = MemFiles::default();
        files.add("/app/app.jar", 3, Extracted::Packages(packages));
        assert_eq!(catalog(&files).packages.len(), 6);
    }

    #[test]
    fn nesting_is_bounded() {
        let mut inner = jar(&[(
            "META-INF/maven/x/level/pom.properties",
            &pom("x", "level", "0"),
        )]);
        for _ in 0..6 {
            inner = jar(&[
                (
                    "META-INF/maven/x/level/pom.properties",
                    &pom("x", "level", "n"),
                ),
                ("lib/inner.jar", &inner),
            ]);
        }
        let packages = packages("/a.war", 0, &inner);
        assert_eq!(packages.len(), MAX_DEPTH + 1);
        assert_eq!(
            packages.last().unwrap().found_at,
            "/a.war!/lib/inner.jar!/lib/inner.jar!/lib/inner.jar"
        );
    }

    #[test]
    fn decompression_is_bounded() {
        // 300 MiB of zeros deflate to a few hundred KiB: more than the
        // budget allows, so it is read no further than the bound.
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .large_file(true);
        zip.start_file("META-INF/maven/x/bomb/pom.properties", options)
            .unwrap();
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..300 {
            zip.write_all(&zeros).unwrap();
        }
        let bomb = zip.finish().unwrap().into_inner();
        assert!(bomb.len() < 2 << 20);
        let mut budget = MAX_TOTAL;
        let mut archive = zip::ZipArchive::new(Cursor::new(bomb.as_slice())).unwrap();
        assert!(read(&mut archive, 0, MAX_METADATA, &mut budget).is_none());
        assert_eq!(budget, MAX_TOTAL - MAX_METADATA - 1);
        assert!(packages("/bomb.jar", 0, &bomb).is_empty());
    }

    #[test]
    fn manifest_fallback_needs_a_name_and_a_version() {
        let title = jar(&[(
            "META-INF/MANIFEST.MF",
            b"Manifest-Version: 1.0\r\nImplementation-Title: commons-\r\n lang\r\nImplementation-Version: 2.6\r\n\r\nName: x\r\nImplementation-Version: 9\r\n",
        )]);
        let bundle = jar(&[(
            "META-INF/MANIFEST.MF",
            b"Implementation-Title: only a title\nBundle-SymbolicName: org.example.b;singleton:=true\nBundle-Version: 1.2.3\n",
        )]);
        let neither = jar(&[(
            "META-INF/MANIFEST.MF",
            b"Implementation-Title: t\nBundle-Version: 1\n",
        )]);
        let version_after_section = jar(&[(
            "META-INF/MANIFEST.MF",
            b"Implementation-Title: t\n\nImplementation-Version: 1\n",
        )]);
        let p = packages("/a.jar", 0, &title);
        assert_eq!(summary(&p), [("-:commons-lang".into(), "2.6", "/a.jar")]);
        let p = packages("/b.jar", 0, &bundle);
        assert_eq!(summary(&p), [("-:org.example.b".into(), "1.2.3", "/b.jar")]);
        assert!(packages("/c.jar", 0, &neither).is_empty());
        assert!(packages("/d.jar", 0, &version_after_section).is_empty());
        // With a pom.properties, the manifest is not used.
        let both = jar(&[
            (
                "META-INF/MANIFEST.MF",
                b"Implementation-Title: t\nImplementation-Version: 1\n",
            ),
            ("META-INF/maven/g/a/pom.properties", &pom("g", "a", "2")),
        ]);
        assert_eq!(
            summary(&packages("/e.jar", 0, &both)),
            [("g:a".into(), "2", "/e.jar")]
        );
    }

    #[test]
    fn malformed_archives_give_nothing() {
        let mut truncated = jar(&[("META-INF/maven/g/a/pom.properties", &pom("g", "a", "1"))]);
        truncated.truncate(truncated.len() - 10);
        let incomplete = jar(&[
            (
                "META-INF/maven/g/a/pom.properties",
                b"groupId=g\nartifactId=a\n",
            ),
            ("META-INF/maven/g//pom.properties", &pom("g", "b", "1")),
            ("META-INF/maven/pom.properties", &pom("g", "c", "1")),
        ]);
        for bytes in [&b""[..], b"PK\x03\x04", &truncated, &incomplete] {
            assert!(packages("/x.jar", 0, bytes).is_empty());
            assert!(extract(&meta("/x.jar", 0), bytes).is_none());
        }
    }

    #[test]
    fn archive_names() {
        for path in ["/a.jar", "/a.WAR", "/x/y.ear", "/p.hpi"] {
            assert!(wants(path), "{path}");
        }
        for path in ["/a.jar.sha1", "/jar", "/a.zip", "/META-INF/"] {
            assert!(!wants(path), "{path}");
        }
    }
}
