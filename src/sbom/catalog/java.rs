//! Java archives (jar, war, ear and their kin), parsed while the layer
//! streams so their bytes need not be kept: one package per
//! `META-INF/maven/<group>/<artifact>/pom.properties` (a shaded jar holds
//! several), nested archives (`BOOT-INF/lib/*.jar`, `WEB-INF/lib/*.jar`, an
//! ear's modules) recursed within a depth and a size budget.
//!
//! A jar without a usable pom.properties (older jars, jars built by Ant or
//! Gradle, repackaged ones: common in real images) is still listed, never
//! dropped. Each of its coordinates comes from the best evidence the jar
//! holds, and the SBOM says which (`maven.group_from`, `maven.artifact_from`,
//! `maven.version_from`), so that a derived group is never passed off as
//! the one Maven publishes it under:
//!
//! - artifact and version: the file name, `artifact-version.jar` (Maven
//!   repositories, and the build tools that copy from them, name a jar by
//!   its coordinates), else the manifest (`Implementation-Title`,
//!   `Implementation-Version`, `Bundle-Version`, `Specification-*`);
//! - group: what the manifest states — an Ivy-style title
//!   (`io.micrometer#micrometer-core;1.12.0`), the `Implementation-Vendor-Id`
//!   Maven's archiver writes, a `Bundle-SymbolicName` or
//!   `Automatic-Module-Name` of the form `<group>.<artifact>`, a package name
//!   ending in the artifact under the vendor's own id (`org.apache` →
//!   `org.apache.velocity`); else the package of the classes inside, when it
//!   ends in the artifact's last word (`spring-beans` in
//!   `org.springframework.beans` → `org.springframework`); else, when nothing
//!   says, the artifact itself (`artifact-id`: Maven 1's convention, which
//!   most jars built for Java 1.4 or earlier are still published under:
//!   `commons-logging:commons-logging`, `oro:oro`). The package names of
//!   classes built for Java 1.4 or earlier are not used: in that era they
//!   rarely were the group (`org.apache.commons.logging` is published as
//!   `commons-logging`).
//!
//! Manifest values are read without the quotes some builds wrapped them
//! in (`"1.6"`) and without OSGi attributes (`;singleton:=true`).

use std::io::{Read, Seek};

use crate::image::Contents;
use crate::sbom::model::maven::{ARTIFACT_FROM, FROM_POM, GROUP_FROM, VERSION_FROM};
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
/// Class file major version of Java 1.4; Java 5 (49) came with Maven 2's
/// reverse-domain groups.
const JAVA_1_4: u16 = 48;

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
/// The zip is read by offset: its central directory, then only the entries
/// needed.
pub(super) fn packages<R: Read + Seek>(path: &str, layer: usize, contents: R) -> Vec<Package> {
    let mut found = Vec::new();
    let mut budget = MAX_TOTAL;
    archive(path, layer, contents, 0, &mut budget, &mut found);
    found
}

fn archive<R: Read + Seek>(
    found_at: &str,
    layer: usize,
    reader: R,
    depth: usize,
    budget: &mut u64,
    out: &mut Vec<Package>,
) {
    let Ok(mut zip) = zip::ZipArchive::new(reader) else {
        return;
    };
    let mut poms = Vec::new();
    let mut manifest = None;
    let mut nested = Vec::new();
    let mut classes = Classes::default();
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
        } else {
            classes.add(index, name);
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
        let manifest = manifest
            .and_then(|i| read(&mut zip, i, MAX_METADATA, budget))
            .map(|text| Manifest::parse(&String::from_utf8_lossy(&text)))
            .unwrap_or_default();
        let java = classes
            .first
            .and_then(|i| head(&mut zip, i, 8, budget))
            .and_then(|head| class_major(&head));
        out.push(derived_package(&manifest, &classes, java, found_at, layer));
    }
    for (index, name) in nested {
        if let Some(inner) = nested_archive(&mut zip, index, budget) {
            let inner_at = format!("{found_at}!/{name}");
            archive(&inner_at, layer, inner, depth + 1, budget, out);
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
fn read<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
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

/// A nested archive, exactly as large as its entry says (within
/// [`MAX_NESTED`] and the budget): in memory when small, else in a
/// temporary file, as the layer reader keeps a large file.
fn nested_archive<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    index: usize,
    budget: &mut u64,
) -> Option<Contents> {
    let mut entry = zip.by_index(index).ok()?;
    let size = entry.size();
    if entry.is_dir() || size > MAX_NESTED.min(*budget) {
        return None;
    }
    *budget -= size;
    Contents::read_from(&mut entry, size).ok()
}

/// The first `n` bytes of an entry (a class file's header).
fn head<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    index: usize,
    n: u64,
    budget: &mut u64,
) -> Option<Vec<u8>> {
    let entry = zip.by_index(index).ok()?;
    let mut bytes = Vec::new();
    entry.take(n.min(*budget)).read_to_end(&mut bytes).ok()?;
    *budget = budget.saturating_sub(bytes.len() as u64);
    Some(bytes)
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
    let (group, artifact, version) = (group?, artifact?, version?);
    if !is_maven_id(group) || !is_maven_id(artifact) {
        return None;
    }
    let mut package = Package::new(Ecosystem::Maven, artifact, version, found_at, layer);
    package.namespace = Some(group.to_string());
    for key in [GROUP_FROM, ARTIFACT_FROM, VERSION_FROM] {
        package.properties.insert(key.into(), FROM_POM.into());
    }
    Some(package)
}

/// The manifest's main section: `Name: value`, a line starting with one
/// space continues the one above (72-byte lines), a blank line ends it.
#[derive(Debug, Default)]
struct Manifest {
    fields: Vec<(String, String)>,
}

impl Manifest {
    fn parse(text: &str) -> Manifest {
        let mut fields: Vec<(String, String)> = Vec::new();
        for line in text.lines() {
            let line = line.strip_suffix('\r').unwrap_or(line);
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
        Manifest { fields }
    }

    /// A field's value without the quotes or OSGi attributes around it;
    /// `None` when absent or empty.
    fn get(&self, name: &str) -> Option<String> {
        let raw = self
            .fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())?;
        let value = unquote(raw.split(';').next().unwrap_or_default());
        (!value.is_empty()).then(|| value.to_string())
    }

    /// Whether Maven 2 or later wrote this manifest (its archiver puts the
    /// project's groupId in `Implementation-Vendor-Id`; Maven 1 put the
    /// organisation's id there).
    fn by_maven(&self) -> bool {
        self.get("Archiver-Version")
            .is_some_and(|v| v.contains("Plexus"))
            || self.get("Build-Jdk-Spec").is_some()
            || self
                .get("Created-By")
                .is_some_and(|v| v.starts_with("Apache Maven"))
    }

    /// A version the manifest gives, and the field: the first word, so
    /// that `2.0.8 2003-12-28 11:00:13` is `2.0.8`.
    fn version(&self) -> Option<(String, &'static str)> {
        [
            "Implementation-Version",
            "Bundle-Version",
            "Specification-Version",
        ]
        .into_iter()
        .find_map(|field| {
            let v = self.get(field)?;
            let first = unquote(v.split_whitespace().next()?).to_string();
            (!first.is_empty()).then_some((first, field))
        })
    }

    /// `group#artifact;version`: how Gradle's Ivy-style publications title
    /// a jar (`io.micrometer#micrometer-core;1.12.0`).
    fn ivy_title(&self) -> Option<(String, String)> {
        let raw = self
            .fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("Implementation-Title"))
            .map(|(_, v)| unquote(v))?;
        let (group, rest) = raw.split_once('#')?;
        let artifact = rest.split(';').next()?.trim();
        (is_maven_id(group) && is_maven_id(artifact))
            .then(|| (group.to_string(), artifact.to_string()))
    }
}

/// Strips whitespace and the quotes a value may be wrapped in.
fn unquote(value: &str) -> &str {
    let mut v = value.trim();
    while let Some(inner) = v
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .or_else(|| v.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')))
    {
        v = inner.trim();
    }
    v.trim_matches(['"', '\''])
}

/// Maven's own rule for a groupId or artifactId.
fn is_maven_id(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// A Java package name of two segments or more (`org.apache.velocity`),
/// with a trailing `.*` or class name (`org.apache.xerces.impl.Version`)
/// taken off.
fn package_name(value: &str) -> Option<String> {
    let mut segments: Vec<&str> = value.trim_end_matches(".*").split('.').collect();
    if segments
        .last()
        .is_some_and(|s| s.starts_with(|c: char| c.is_ascii_uppercase()))
    {
        segments.pop();
    }
    let ok = segments.len() >= 2
        && segments.iter().all(|s| {
            s.starts_with(|c: char| c.is_ascii_lowercase())
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        });
    ok.then(|| segments.join("."))
}

/// The class entries of an archive: the first one (for its class file
/// version) and the package all of them share.
#[derive(Debug, Default)]
struct Classes {
    first: Option<usize>,
    common: Option<Vec<String>>,
}

impl Classes {
    fn add(&mut self, index: usize, name: &str) {
        // An application's own classes in a Spring Boot jar or a war.
        let name = name
            .strip_prefix("BOOT-INF/classes/")
            .or_else(|| name.strip_prefix("WEB-INF/classes/"))
            .unwrap_or(name);
        if !name.ends_with(".class") || name.starts_with("META-INF/") {
            return;
        }
        let file = name.rsplit('/').next().unwrap_or_default();
        if file == "module-info.class" {
            return;
        }
        self.first.get_or_insert(index);
        let dirs: Vec<&str> = name.split('/').collect();
        let dirs = &dirs[..dirs.len() - 1];
        match &mut self.common {
            None => self.common = Some(dirs.iter().map(|s| s.to_string()).collect()),
            Some(common) => {
                let same = common
                    .iter()
                    .zip(dirs)
                    .take_while(|(a, b)| a.as_str() == **b)
                    .count();
                common.truncate(same);
            }
        }
    }

    /// The package every class is in (`org.springframework.beans`).
    fn package(&self) -> Option<String> {
        package_name(&self.common.as_ref()?.join("."))
    }
}

/// The major version of a class file's header (`CAFEBABE`, minor, major).
fn class_major(head: &[u8]) -> Option<u16> {
    if head.get(..4)? != [0xca, 0xfe, 0xba, 0xbe] {
        return None;
    }
    Some(u16::from_be_bytes([*head.get(6)?, *head.get(7)?]))
}

/// `artifact-1.2.3.jar` → (`artifact`, `1.2.3`): the version starts at the
/// first `-` followed by a digit, or, when the manifest's version shows
/// where it starts (`log4j-1.2-api-2.17.1.jar` and version `2.17.1`), there.
fn split_file_name(file: &str, manifest_version: Option<&str>) -> (String, Option<String>) {
    let stem = match file.rfind('.') {
        Some(dot) if dot > 0 => &file[..dot],
        _ => file,
    };
    let starts: Vec<usize> = stem
        .char_indices()
        .filter(|&(i, c)| {
            c == '-' && stem[i + 1..].starts_with(|d: char| d.is_ascii_digit()) && i > 0
        })
        .map(|(i, _)| i)
        .collect();
    let at = manifest_version
        .and_then(|v| starts.iter().find(|&&i| stem[i + 1..].starts_with(v)))
        .or(starts.first());
    match at {
        Some(&i) => (stem[..i].to_string(), Some(stem[i + 1..].to_string())),
        None => (stem.to_string(), None),
    }
}

/// The package of a jar that has no usable pom.properties, from the best
/// evidence it holds (see the module docs), with that evidence recorded.
fn derived_package(
    manifest: &Manifest,
    classes: &Classes,
    java: Option<u16>,
    found_at: &str,
    layer: usize,
) -> Package {
    let file = found_at.rsplit('/').next().unwrap_or(found_at);
    let manifest_version = manifest.version();
    let (file_artifact, file_version) =
        split_file_name(file, manifest_version.as_ref().map(|(v, _)| v.as_str()));
    let ivy = manifest.ivy_title();

    // The artifact.
    let (artifact, artifact_from) = if file_version.is_some() && is_maven_id(&file_artifact) {
        (file_artifact.clone(), "file-name".to_string())
    } else if let Some((_, artifact)) = &ivy {
        (
            artifact.clone(),
            "manifest:Implementation-Title".to_string(),
        )
    } else if let Some((artifact, field)) = [
        "Implementation-Title",
        "Specification-Title",
        "Extension-Name",
    ]
    .into_iter()
    .find_map(|field| {
        let v = manifest.get(field)?;
        (is_maven_id(&v) && package_name(&v).is_none()).then_some((v, field))
    }) {
        (artifact, format!("manifest:{field}"))
    } else {
        // A name Maven would take: runs of anything else become one `-`.
        let mut cleaned = String::new();
        for c in file_artifact.chars() {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                cleaned.push(c);
            } else if !cleaned.ends_with('-') {
                cleaned.push('-');
            }
        }
        let cleaned = cleaned.trim_matches(['-', '.']).to_string();
        let cleaned = if cleaned.is_empty() {
            "unknown".to_string()
        } else {
            cleaned
        };
        (cleaned, "file-name".to_string())
    };

    // The version.
    let (version, version_from) = match (&file_version, &manifest_version) {
        (Some(v), _) if artifact_from == "file-name" => (v.clone(), "file-name".to_string()),
        (_, Some((v, field))) => (v.clone(), format!("manifest:{field}")),
        (Some(v), None) => (v.clone(), "file-name".to_string()),
        (None, None) => (String::new(), "none".to_string()),
    };

    // The group.
    let (group, group_from) = manifest_group(manifest, &artifact, ivy.as_ref())
        .or_else(|| {
            let modern = java.is_some_and(|major| major > JAVA_1_4);
            let package = classes.package().filter(|_| modern)?;
            let last_word = artifact.rsplit('-').next().unwrap_or(&artifact);
            let (head, tail) = package.rsplit_once('.')?;
            (tail == last_word && head.contains('.'))
                .then(|| (head.to_string(), "class-packages".to_string()))
        })
        .unwrap_or_else(|| (artifact.clone(), "artifact-id".to_string()));

    let mut package = Package::new(Ecosystem::Maven, &artifact, &version, found_at, layer);
    package.namespace = Some(group);
    package.properties.insert(GROUP_FROM.into(), group_from);
    package
        .properties
        .insert(ARTIFACT_FROM.into(), artifact_from);
    package.properties.insert(VERSION_FROM.into(), version_from);
    package
}

/// A group the manifest states for `artifact`, and the field it is in.
fn manifest_group(
    manifest: &Manifest,
    artifact: &str,
    ivy: Option<&(String, String)>,
) -> Option<(String, String)> {
    if let Some((group, ivy_artifact)) = ivy {
        if ivy_artifact == artifact {
            return Some((group.clone(), "manifest:Implementation-Title".into()));
        }
    }
    let vendor_id = manifest
        .get("Implementation-Vendor-Id")
        .filter(|v| is_maven_id(v) && v.contains('.'));
    if let Some(id) = vendor_id.as_ref().filter(|_| manifest.by_maven()) {
        return Some((id.clone(), "manifest:Implementation-Vendor-Id".into()));
    }
    for field in ["Bundle-SymbolicName", "Automatic-Module-Name"] {
        let Some(name) = manifest.get(field) else {
            continue;
        };
        if let Some(group) = name
            .strip_suffix(artifact)
            .and_then(|g| g.strip_suffix('.'))
        {
            if package_name(group).as_deref() == Some(group) {
                return Some((group.to_string(), format!("manifest:{field}")));
            }
        }
    }
    let vendor_id = vendor_id?;
    [
        "Implementation-Title",
        "Extension-Name",
        "Bundle-SymbolicName",
        "Automatic-Module-Name",
        "Specification-Title",
    ]
    .into_iter()
    .find_map(|field| {
        let name = package_name(&manifest.get(field)?)?;
        let under_vendor = name.starts_with(&format!("{vendor_id}."));
        (under_vendor && name.rsplit('.').next() == Some(artifact))
            .then(|| (name, format!("manifest:{field}")))
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use std::io::Cursor;

    use super::*;
    use crate::image::FileMeta;
    use crate::sbom::catalog::catalog;
    use crate::sbom::files::{Extracted, MemFiles};
    use zip::write::SimpleFileOptions;
    use zip::CompressionMethod;

    fn packages(path: &str, layer: usize, bytes: &[u8]) -> Vec<Package> {
        super::packages(path, layer, Cursor::new(bytes))
    }

    fn extract(file: &FileMeta, bytes: &[u8]) -> Option<Extracted> {
        crate::sbom::catalog::extract(file, &mut Contents::from_bytes(bytes.to_vec()))
    }

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
        // Its pom.properties unread, the jar is listed by its file name.
        assert_eq!(
            summary(&packages("/bomb.jar", 0, &bomb)),
            [("bomb:bomb".into(), "", "/bomb.jar")]
        );
    }

    /// Class file headers: Java 1.4 (48) and Java 8 (52).
    const JAVA_1_2_CLASS: &[u8] = b"\xca\xfe\xba\xbe\x00\x03\x00\x2e";
    const JAVA_8_CLASS: &[u8] = b"\xca\xfe\xba\xbe\x00\x00\x00\x34";

    /// (group:artifact, version, [group_from, artifact_from, version_from]).
    fn derived(path: &str, entries: &[(&str, &[u8])]) -> (String, String, [String; 3]) {
        let found = packages(path, 0, &jar(entries));
        assert_eq!(found.len(), 1, "{path}: {found:?}");
        let p = &found[0];
        let from = |k: &str| p.properties.get(k).cloned().unwrap_or_default();
        // Whatever the evidence, the purl is valid.
        crate::sbom::purl::package(p, None).unwrap_or_else(|e| panic!("{path}: {e}"));
        (
            p.full_name(),
            p.version.clone(),
            [from(GROUP_FROM), from(ARTIFACT_FROM), from(VERSION_FROM)],
        )
    }

    fn from(group: &str, artifact: &str, version: &str) -> [String; 3] {
        [group.into(), artifact.into(), version.into()]
    }

    /// The manifests of issue 20's jars (Maven Central's, cut to the
    /// fields that matter), each named as a Maven repository names it.
    #[test]
    fn jars_without_pom_properties_are_named_from_their_own_evidence() {
        // commons-digester 1.6: every value quoted, no title at all.
        let digester = derived(
            "/lib/commons-digester-1.6.jar",
            &[
                (
                    "META-INF/MANIFEST.MF",
                    b"Manifest-Version: 1.0\r\nSpecification-Vendor: \"Apache Software Foundation\"\r\nImplementation-Version: \"1.6\"\r\n\r\n",
                ),
                ("org/apache/commons/digester/Digester.class", JAVA_1_2_CLASS),
            ],
        );
        assert_eq!(
            digester,
            (
                "commons-digester:commons-digester".into(),
                "1.6".into(),
                from("artifact-id", "file-name", "file-name")
            )
        );
        // asm 3.3.1: a title that is no artifact id's case.
        let asm = derived(
            "/lib/asm-3.3.1.jar",
            &[
                (
                    "META-INF/MANIFEST.MF",
                    b"Implementation-Title: ASM\nImplementation-Version: 3.3.1\n",
                ),
                ("org/objectweb/asm/ClassReader.class", JAVA_1_2_CLASS),
            ],
        );
        assert_eq!(asm.0, "asm:asm");
        // velocity 1.5: a package title under the vendor's own id.
        let velocity = derived(
            "/lib/velocity-1.5.jar",
            &[
                (
                    "META-INF/MANIFEST.MF",
                    b"Implementation-Title: org.apache.velocity\nImplementation-Vendor-Id: org.apache\nImplementation-Version: 1.5\n",
                ),
                ("org/apache/velocity/Template.class", JAVA_1_2_CLASS),
            ],
        );
        assert_eq!(
            velocity,
            (
                "org.apache.velocity:velocity".into(),
                "1.5".into(),
                from("manifest:Implementation-Title", "file-name", "file-name")
            )
        );
        // oro 2.0.8: a date after the version; a package title without a
        // vendor id is not a group.
        let oro = derived(
            "/lib/oro-2.0.8.jar",
            &[
                (
                    "META-INF/MANIFEST.MF",
                    b"Implementation-Title: org.apache.oro\nImplementation-Version: 2.0.8 2003-12-28 11:00:13\n",
                ),
                ("org/apache/oro/text/Perl5.class", JAVA_1_2_CLASS),
            ],
        );
        assert_eq!(oro.0, "oro:oro");
        // commons-beanutils 1.7.0: the manifest says 1.6; the file name,
        // which names the jar as Maven publishes it, wins.
        let beanutils = derived(
            "/lib/commons-beanutils-1.7.0.jar",
            &[(
                "META-INF/MANIFEST.MF",
                b"Implementation-Version: 1.6\nSpecification-Version: 1.6\n",
            )],
        );
        assert_eq!(beanutils.1, "1.7.0");
    }

    #[test]
    fn what_newer_manifests_and_classes_state() {
        // Maven's archiver writes the groupId as the vendor id.
        let maven = derived(
            "/x/databind.jar",
            &[(
                "META-INF/MANIFEST.MF",
                b"Created-By: Apache Maven 3.9.6\nImplementation-Vendor-Id: com.fasterxml.jackson.core\nImplementation-Title: jackson-databind\nImplementation-Version: 2.17.0\n",
            )],
        );
        assert_eq!(
            maven,
            (
                "com.fasterxml.jackson.core:jackson-databind".into(),
                "2.17.0".into(),
                from(
                    "manifest:Implementation-Vendor-Id",
                    "manifest:Implementation-Title",
                    "manifest:Implementation-Version"
                )
            )
        );
        // bnd's <group>.<artifact>, with an OSGi attribute.
        let bundle = derived(
            "/x/jackson-core-2.17.0.jar",
            &[(
                "META-INF/MANIFEST.MF",
                b"Bundle-SymbolicName: com.fasterxml.jackson.core.jackson-core;singleton:=true\nBundle-Version: 2.17.0\n",
            )],
        );
        assert_eq!(bundle.0, "com.fasterxml.jackson.core:jackson-core");
        assert_eq!(bundle.2[0], "manifest:Bundle-SymbolicName");
        // Gradle's Ivy-style title.
        let ivy = derived(
            "/x/micrometer-core-1.12.0.jar",
            &[(
                "META-INF/MANIFEST.MF",
                b"Implementation-Title: io.micrometer#micrometer-core;1.12.0\n",
            )],
        );
        assert_eq!(ivy.0, "io.micrometer:micrometer-core");
        // Spring's jars (Gradle, no pom.properties): the classes' package.
        let spring = |class: &'static [u8]| {
            derived(
                "/app/BOOT-INF/lib/spring-beans-5.3.17.jar",
                &[
                    (
                        "META-INF/MANIFEST.MF",
                        b"Implementation-Title: spring-beans\nAutomatic-Module-Name: spring.beans\nImplementation-Version: 5.3.17\n",
                    ),
                    ("org/springframework/beans/BeanWrapper.class", class),
                    ("org/springframework/beans/factory/BeanFactory.class", class),
                ],
            )
        };
        assert_eq!(
            spring(JAVA_8_CLASS),
            (
                "org.springframework:spring-beans".into(),
                "5.3.17".into(),
                from("class-packages", "file-name", "file-name")
            )
        );
        // The same classes built for Java 1.4 or earlier say nothing of
        // the group.
        assert_eq!(spring(JAVA_1_2_CLASS).2[0], "artifact-id");
    }

    #[test]
    fn a_jar_is_listed_whatever_it_lacks() {
        // A title and version, no version in the file name.
        let titled = derived(
            "/opt/lib.jar",
            &[(
                "META-INF/MANIFEST.MF",
                b"Implementation-Title: commons-\r\n lang\r\nImplementation-Version: 2.6\r\n\r\nName: x\r\nImplementation-Version: 9\r\n",
            )],
        );
        assert_eq!(
            titled,
            (
                "commons-lang:commons-lang".into(),
                "2.6".into(),
                from(
                    "artifact-id",
                    "manifest:Implementation-Title",
                    "manifest:Implementation-Version"
                )
            )
        );
        // No manifest, no version anywhere: named after the file, listed
        // without a version (its purl is still valid).
        let bare = derived("/opt/My Tool (old).jar", &[("a/B.class", JAVA_8_CLASS)]);
        assert_eq!(
            bare,
            (
                "My-Tool-old:My-Tool-old".into(),
                String::new(),
                from("artifact-id", "file-name", "none")
            )
        );
        // A version only after the manifest's main section is not the jar's.
        let late = derived(
            "/opt/t.jar",
            &[(
                "META-INF/MANIFEST.MF",
                b"Implementation-Title: t\n\nImplementation-Version: 1\n",
            )],
        );
        assert_eq!(late.1, "");
        // With a pom.properties, the manifest is not used.
        let both = jar(&[
            (
                "META-INF/MANIFEST.MF",
                b"Implementation-Title: t\nImplementation-Version: 1\n",
            ),
            ("META-INF/maven/g/a/pom.properties", &pom("g", "a", "2")),
        ]);
        let found = packages("/e.jar", 0, &both);
        assert_eq!(summary(&found), [("g:a".into(), "2", "/e.jar")]);
        assert_eq!(found[0].properties[GROUP_FROM], FROM_POM);
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
        for bytes in [&b""[..], b"PK\x03\x04", &truncated] {
            assert!(packages("/x.jar", 0, bytes).is_empty());
            assert!(extract(&meta("/x.jar", 0), bytes).is_none());
        }
        // A jar whose pom.properties are broken is still a jar: listed by
        // its file name.
        assert_eq!(
            summary(&packages("/x-1.0.jar", 0, &incomplete)),
            [("x:x".into(), "1.0", "/x-1.0.jar")]
        );
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
