//! `wharf scan --sbom FILE`: an existing CycloneDX or SPDX JSON SBOM (ours,
//! Syft's or Trivy's) as the inventory to scan. Packages come from their
//! purls; the OS release from the purls' `distro` qualifier or the
//! operating-system component; Debian source packages from the `upstream`
//! qualifier (Syft), Trivy's `SrcName`/`SrcVersion` properties, or ours.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::finding::NotScanned;
use crate::sbom::model::{Distro, Ecosystem, Inventory, Package};
use crate::{Error, Result};

const SBOM_MAX: u64 = 512 << 20;

/// A parsed purl.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purl {
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    pub version: Option<String>,
    pub qualifiers: BTreeMap<String, String>,
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Purl {
    pub fn parse(text: &str) -> Option<Purl> {
        let rest = text.strip_prefix("pkg:")?;
        let rest = rest.split('#').next().unwrap_or(rest);
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let (path, version) = match path.rsplit_once('@') {
            // An `@` inside the last segment separates the version; a scope
            // (`%40scope`) is encoded and never matches here.
            Some((p, v)) if !p.is_empty() => (p, Some(decode(v))),
            _ => (path, None),
        };
        let mut segments = path.trim_matches('/').split('/');
        let kind = segments.next()?.to_lowercase();
        let mut parts: Vec<String> = segments.map(decode).collect();
        let name = parts.pop()?;
        if name.is_empty() {
            return None;
        }
        let namespace = (!parts.is_empty()).then(|| parts.join("/"));
        let qualifiers = query
            .map(|q| {
                q.split('&')
                    .filter_map(|kv| kv.split_once('='))
                    .map(|(k, v)| (k.to_lowercase(), decode(v)))
                    .collect()
            })
            .unwrap_or_default();
        Some(Purl {
            kind,
            namespace,
            name,
            version,
            qualifiers,
        })
    }
}

/// What an SBOM gives a scan.
#[derive(Debug, Clone, Default)]
pub struct SbomInput {
    pub inventory: Inventory,
    /// The image name it describes, when it says.
    pub name: Option<String>,
    /// The image digest it describes, when it says.
    pub digest: Option<String>,
    /// Components that are packages but cannot be looked up, by reason.
    pub not_scanned: Vec<NotScanned>,
}

/// Reads the SBOM at `path`. An SBOM that lists packages none of which can
/// be looked up is an error: scanning it would pass without checking
/// anything.
pub fn read(path: &Path) -> Result<SbomInput> {
    let bytes = crate::fsutil::read_bounded(path, SBOM_MAX, "the SBOM")?;
    let doc: Value = serde_json::from_slice(&bytes)
        .map_err(|e| Error::file(path, format!("not a JSON SBOM: {e}")))?;
    let found_at = path.display().to_string();
    let input = if doc.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
        cyclonedx(&doc, &found_at)
    } else if doc.get("spdxVersion").is_some() {
        spdx(&doc, &found_at)
    } else {
        return Err(Error::file(
            path,
            "neither CycloneDX (bomFormat) nor SPDX (spdxVersion) JSON; wharf scans those two",
        ));
    };
    if input.inventory.packages.is_empty() && !input.not_scanned.is_empty() {
        let why: Vec<String> = input
            .not_scanned
            .iter()
            .map(|n| format!("{} ({})", n.some(5), n.reason))
            .collect();
        return Err(Error::file(
            path,
            format!(
                "{} component(s), none of them scannable, so a scan would check nothing: {}",
                NotScanned::count(&input.not_scanned),
                why.join("; ")
            ),
        ));
    }
    Ok(input)
}

/// Why a component with no purl cannot be looked up, and what to do.
fn no_purl(name: &str, version: Option<&str>, kind: Option<&str>) -> String {
    let example = format!("pkg:pypi/{name}@{}", version.unwrap_or("VERSION"));
    match kind {
        Some("library") | Some("framework") | None => format!(
            "no purl: a {} named {name:?} could be PyPI's, npm's or another ecosystem's, so it is not guessed; \
             give it a purl (e.g. {example} for a Python package)",
            kind.unwrap_or("component")
        ),
        Some(kind) => format!("no purl (type {kind:?}): give it a purl naming its ecosystem"),
    }
}

/// The ecosystem a tool's own package-type property names, as a purl type
/// (Syft's `syft:package:type`, Trivy's `aquasecurity:trivy:PkgType`).
fn purl_type_from_props(props: &BTreeMap<String, String>) -> Option<&'static str> {
    let kind = props
        .get("syft:package:type")
        .or_else(|| props.get("aquasecurity:trivy:PkgType"))?;
    Some(match kind.as_str() {
        "deb" | "debian" | "ubuntu" => "deb",
        "apk" | "alpine" | "wolfi" | "chainguard" => "apk",
        "rpm" | "redhat" | "centos" | "rocky" | "alma" | "amazon" | "fedora" => "rpm",
        "python" | "python-pkg" | "pip" | "pipenv" | "poetry" => "pypi",
        "npm" | "node-pkg" | "yarn" | "pnpm" => "npm",
        "rust-crate" | "cargo" | "rustbinary" => "cargo",
        "go-module" | "gomod" | "gobinary" => "golang",
        _ => return None,
    })
}

/// The purl types wharf matches.
const SCANNED: &[&str] = &[
    "deb", "apk", "rpm", "pypi", "npm", "cargo", "golang", "maven",
];

fn distro_from_qualifier(q: &str) -> Option<Distro> {
    // `debian-12`, `alpine-3.20.3`, `ubuntu-22.04`
    let (id, version) = q.split_once('-')?;
    Some(Distro {
        id: id.to_lowercase(),
        version_id: Some(version.to_string()),
        ..Distro::default()
    })
}

/// A package from a purl and the properties beside it, or why the purl
/// cannot be looked up.
fn package(
    purl: &Purl,
    props: &BTreeMap<String, String>,
    found_at: &str,
) -> std::result::Result<Package, String> {
    let ecosystem = match purl.kind.as_str() {
        "deb" => Ecosystem::Deb,
        "apk" => Ecosystem::Apk,
        "rpm" => Ecosystem::Rpm,
        "pypi" => Ecosystem::PyPI,
        "npm" => Ecosystem::Npm,
        "cargo" => Ecosystem::Cargo,
        "golang" => Ecosystem::Golang,
        "maven" => Ecosystem::Maven,
        other => {
            return Err(format!(
                "wharf has no vulnerability matching for pkg:{other} (it matches {})",
                SCANNED
                    .iter()
                    .map(|t| format!("pkg:{t}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        }
    };
    let Some(version) = purl.version.clone().filter(|v| !v.is_empty()) else {
        return Err("its purl has no version".to_string());
    };
    let mut p = Package::new(ecosystem, &purl.name, &version, found_at, 0);
    match ecosystem {
        Ecosystem::Npm | Ecosystem::Maven | Ecosystem::Golang => {
            p.namespace = purl
                .namespace
                .clone()
                .map(|n| n.trim_start_matches('@').to_string());
        }
        _ => {}
    }
    p.arch = purl.qualifiers.get("arch").cloned();
    p.epoch = purl.qualifiers.get("epoch").and_then(|e| e.parse().ok());
    // Source package: ours, Trivy's, or Syft's `upstream=name[@version]`.
    let prop = |keys: &[&str]| keys.iter().find_map(|k| props.get(*k).cloned());
    p.source_name = prop(&["wharf:package:source_name", "aquasecurity:trivy:SrcName"]);
    p.source_version = prop(&[
        "wharf:package:source_version",
        "aquasecurity:trivy:SrcVersion",
    ]);
    if p.source_name.is_none() {
        if let Some(up) = purl.qualifiers.get("upstream") {
            match up.split_once('@') {
                Some((n, v)) => {
                    p.source_name = Some(n.to_string());
                    p.source_version = Some(v.to_string());
                }
                None => p.source_name = Some(up.clone()),
            }
        }
    }
    if let Some(layer) = prop(&["wharf:package:layer_index"]).and_then(|l| l.parse().ok()) {
        p.layer = layer;
    }
    if let Some(at) = prop(&["wharf:package:found_at"]) {
        p.found_at = at;
    }
    // Where a jar's coordinates came from, so that the scan can say which
    // were looked up under a derived group.
    for (key, value) in props {
        if let Some(key) = key.strip_prefix("wharf:package:maven.") {
            p.properties.insert(format!("maven.{key}"), value.clone());
        }
    }
    Ok(p)
}

/// How a component is named in reports: `name@version`, or its bom-ref,
/// or its position.
fn label(c: &Value, i: usize) -> String {
    let text = |k: &str| c.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    match (text("name"), text("version")) {
        (Some(n), Some(v)) => format!("{n}@{v}"),
        (Some(n), None) => n.to_string(),
        _ => match text("bom-ref") {
            Some(r) => format!("component {r}"),
            None => format!("component #{i}"),
        },
    }
}

/// CycloneDX component types that are not packages (nothing is keyed by them).
const NOT_PACKAGES: &[&str] = &[
    "file",
    "container",
    "data",
    "machine-learning-model",
    "cryptographic-asset",
];

fn cyclonedx(doc: &Value, found_at: &str) -> SbomInput {
    let mut inv = Inventory::default();
    let mut not_scanned: Vec<NotScanned> = Vec::new();
    let mut stack: Vec<&Value> = doc
        .get("components")
        .and_then(Value::as_array)
        .map(|c| c.iter().rev().collect())
        .unwrap_or_default();
    let mut i = 0;
    while let Some(c) = stack.pop() {
        i += 1;
        if let Some(children) = c.get("components").and_then(Value::as_array) {
            stack.extend(children.iter().rev());
        }
        let label = label(c, i);
        if !c.is_object() {
            NotScanned::add(&mut not_scanned, "not a JSON object", label);
            continue;
        }
        let props: BTreeMap<String, String> = c
            .get("properties")
            .and_then(Value::as_array)
            .map(|ps| {
                ps.iter()
                    .filter_map(|p| {
                        Some((
                            p.get("name")?.as_str()?.to_string(),
                            p.get("value")?.as_str()?.to_string(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let kind = c.get("type").and_then(Value::as_str);
        if kind == Some("operating-system") {
            let name = c.get("name").and_then(Value::as_str).unwrap_or_default();
            let version = c.get("version").and_then(Value::as_str).map(str::to_string);
            inv.distro.get_or_insert(Distro {
                id: name.to_lowercase(),
                version_id: version,
                ..Distro::default()
            });
            continue;
        }
        let purl = match c.get("purl") {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => match Purl::parse(text) {
                Some(p) => Some(p),
                None => {
                    NotScanned::add(
                        &mut not_scanned,
                        "its purl does not parse (pkg:TYPE/NAMESPACE/NAME@VERSION)",
                        label,
                    );
                    continue;
                }
            },
            Some(_) => {
                NotScanned::add(&mut not_scanned, "its purl is not a string", label);
                continue;
            }
        };
        let purl = match purl {
            Some(p) => p,
            None if kind.is_some_and(|k| NOT_PACKAGES.contains(&k)) => continue,
            None => {
                let name = c.get("name");
                let version = c.get("version");
                match (name, version) {
                    (Some(Value::String(n)), v) if !n.is_empty() => {
                        let v = v.and_then(Value::as_str);
                        match (purl_type_from_props(&props), v) {
                            (Some(t), Some(v)) => Purl {
                                kind: t.to_string(),
                                namespace: c
                                    .get("group")
                                    .and_then(Value::as_str)
                                    .filter(|g| !g.is_empty())
                                    .map(str::to_string),
                                name: n.clone(),
                                version: Some(v.to_string()),
                                qualifiers: BTreeMap::new(),
                            },
                            _ => {
                                NotScanned::add(&mut not_scanned, &no_purl(n, v, kind), label);
                                continue;
                            }
                        }
                    }
                    (Some(Value::String(_)), _) | (None, _) => {
                        NotScanned::add(&mut not_scanned, "no purl and no name", label);
                        continue;
                    }
                    (Some(_), _) => {
                        NotScanned::add(
                            &mut not_scanned,
                            "its name is not a string, and it has no purl",
                            label,
                        );
                        continue;
                    }
                }
            }
        };
        if matches!(purl.kind.as_str(), "oci" | "docker") {
            continue;
        }
        if inv.distro.is_none() {
            inv.distro = purl
                .qualifiers
                .get("distro")
                .and_then(|d| distro_from_qualifier(d));
        }
        match package(&purl, &props, found_at) {
            Ok(p) => inv.packages.push(p),
            Err(why) => NotScanned::add(&mut not_scanned, &why, label),
        }
    }
    let subject = doc.pointer("/metadata/component");
    let name = subject
        .and_then(|s| s.get("name"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let digest = subject
        .and_then(|s| s.get("purl"))
        .and_then(Value::as_str)
        .and_then(Purl::parse)
        .and_then(|p| p.version)
        .filter(|v| v.starts_with("sha256:"));
    SbomInput {
        inventory: inv,
        name,
        digest,
        not_scanned,
    }
}

fn spdx(doc: &Value, found_at: &str) -> SbomInput {
    let mut inv = Inventory::default();
    let mut not_scanned: Vec<NotScanned> = Vec::new();
    let mut digest = None;
    let described: Vec<&str> = doc
        .get("documentDescribes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    for (i, p) in doc
        .get("packages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let text = |k: &str| p.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
        let label = match (text("name"), text("versionInfo"), text("SPDXID")) {
            (Some(n), Some(v), _) => format!("{n}@{v}"),
            (Some(n), None, _) => n.to_string(),
            (None, _, Some(id)) => id.to_string(),
            _ => format!("package #{}", i + 1),
        };
        let purls: Vec<Purl> = p
            .get("externalRefs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|r| r.get("referenceType").and_then(Value::as_str) == Some("purl"))
            .filter_map(|r| r.get("referenceLocator").and_then(Value::as_str))
            .filter_map(Purl::parse)
            .collect();
        if purls.is_empty() {
            // The document's subject, and what is not a package, are not looked up.
            let purpose = text("primaryPackagePurpose").unwrap_or_default();
            let subject = text("SPDXID").is_some_and(|id| described.contains(&id));
            if !subject
                && !matches!(
                    purpose,
                    "CONTAINER" | "OPERATING-SYSTEM" | "FILE" | "SOURCE" | "ARCHIVE"
                )
            {
                let reason = match text("name") {
                    Some(n) => no_purl(n, text("versionInfo"), None),
                    None => "no purl and no name".to_string(),
                };
                NotScanned::add(&mut not_scanned, &reason, label);
            }
            continue;
        }
        for purl in purls {
            if purl.kind == "oci" {
                digest = digest.or_else(|| purl.version.clone());
                continue;
            }
            if inv.distro.is_none() {
                inv.distro = purl
                    .qualifiers
                    .get("distro")
                    .and_then(|d| distro_from_qualifier(d));
            }
            match package(&purl, &BTreeMap::new(), found_at) {
                Ok(pkg) => inv.packages.push(pkg),
                Err(why) => NotScanned::add(&mut not_scanned, &why, label.clone()),
            }
        }
    }
    let name = doc.get("name").and_then(Value::as_str).map(str::to_string);
    SbomInput {
        inventory: inv,
        name,
        digest,
        not_scanned,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls_parse_with_scopes_encodings_and_qualifiers() {
        let p = Purl::parse("pkg:deb/debian/bash@5.2.15-2%2Bb8?arch=amd64&distro=debian-12&upstream=bash%405.2.15-2").unwrap();
        assert_eq!(
            (p.kind.as_str(), p.namespace.as_deref(), p.name.as_str()),
            ("deb", Some("debian"), "bash")
        );
        assert_eq!(p.version.as_deref(), Some("5.2.15-2+b8"));
        assert_eq!(p.qualifiers["upstream"], "bash@5.2.15-2");
        let p = Purl::parse("pkg:npm/%40babel/core@7.0.0").unwrap();
        assert_eq!(
            (p.namespace.as_deref(), p.name.as_str()),
            (Some("@babel"), "core")
        );
        let p = Purl::parse("pkg:golang/github.com/x/y@v1.2.3").unwrap();
        assert_eq!(p.namespace.as_deref(), Some("github.com/x"));
        assert!(Purl::parse("not a purl").is_none());
        assert!(Purl::parse("pkg:pypi/").is_none());
        assert_eq!(
            decode("%e2%82%ac%4"),
            "€%4",
            "multi-byte and a dangling escape"
        );
    }

    #[test]
    fn a_syft_style_cyclonedx_gives_packages_sources_and_the_distro() {
        let doc = serde_json::json!({
            "bomFormat": "CycloneDX", "specVersion": "1.5",
            "metadata": {"component": {"type": "container", "name": "app"}},
            "components": [
                {"type": "library", "name": "libssl3", "purl": "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&upstream=openssl&distro=debian-12"},
                {"type": "library", "name": "requests", "purl": "pkg:pypi/requests@2.25.0"},
                {"type": "operating-system", "name": "debian", "version": "12"}
            ]
        });
        let SbomInput {
            inventory: inv,
            name,
            not_scanned,
            ..
        } = cyclonedx(&doc, "sbom.json");
        assert!(not_scanned.is_empty(), "{not_scanned:?}");
        assert_eq!(name.as_deref(), Some("app"));
        assert_eq!(inv.distro.as_ref().map(|d| d.id.as_str()), Some("debian"));
        let ssl = inv.packages.iter().find(|p| p.name == "libssl3").unwrap();
        assert_eq!(ssl.source_name.as_deref(), Some("openssl"));
        assert_eq!(ssl.version, "3.0.11-1~deb12u2");
        assert_eq!(inv.packages.len(), 2);
    }

    /// A jar whose group wharf derived keeps the evidence through the SBOM,
    /// and the scan lists it as looked up under a derived name.
    #[test]
    fn a_derived_maven_group_is_flagged_after_the_round_trip() {
        let input = cdx(serde_json::json!([
            {"type": "library", "purl": "pkg:maven/oro/oro@2.0.8", "properties": [
                {"name": "wharf:package:found_at", "value": "/lib/oro-2.0.8.jar"},
                {"name": "wharf:package:maven.group_from", "value": "artifact-id"}]},
            {"type": "library", "purl": "pkg:maven/org.springframework/spring-beans@5.3.17", "properties": [
                {"name": "wharf:package:maven.group_from", "value": "class-packages"}]},
            {"type": "library", "purl": "pkg:maven/com.fasterxml.jackson.core/jackson-core@2.17.0", "properties": [
                {"name": "wharf:package:maven.group_from", "value": "pom.properties"}]},
            {"type": "library", "purl": "pkg:maven/org.slf4j/slf4j-api@2.0.13"}
        ]));
        let incomplete = crate::scan::run::derived_names(&input.inventory);
        let named: Vec<&str> = incomplete
            .iter()
            .flat_map(|n| n.packages.iter().map(String::as_str))
            .collect();
        assert_eq!(
            named,
            [
                "oro:oro@2.0.8 (/lib/oro-2.0.8.jar)",
                "org.springframework:spring-beans@5.3.17 (sbom.json)"
            ]
        );
        assert!(incomplete[0].reason.contains("artifactId stands in"));
        assert!(incomplete[1].reason.contains("class-packages"));
    }

    fn cdx(components: serde_json::Value) -> SbomInput {
        cyclonedx(
            &serde_json::json!({"bomFormat": "CycloneDX", "specVersion": "1.5", "components": components}),
            "sbom.json",
        )
    }

    #[test]
    fn components_that_cannot_be_scanned_are_named_with_the_reason() {
        let input = cdx(serde_json::json!([
            {"type": "library", "name": "django", "version": "3.2.0"},
            {"type": "library", "name": 7, "version": "1.0"},
            {"type": "library", "name": "rails", "version": "7.0.0", "purl": "pkg:gem/rails@7.0.0"},
            {"type": "library", "name": "x", "purl": "pkg:pypi/x"},
            {"type": "library", "name": "y", "purl": "not a purl"},
            {"type": "file", "name": "/etc/passwd"},
            {"type": "library", "name": "requests", "version": "2.25.0", "purl": "pkg:pypi/requests@2.25.0"},
            {"type": "library", "name": "left-pad", "version": "1.3.0",
             "properties": [{"name": "syft:package:type", "value": "npm"}]}
        ]));
        let names: Vec<&str> = input
            .inventory
            .packages
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(
            names,
            ["requests", "left-pad"],
            "a tool's own type property names the ecosystem"
        );
        let reason = |label: &str| {
            input
                .not_scanned
                .iter()
                .find(|n| n.packages.iter().any(|p| p == label))
                .map(|n| n.reason.clone())
                .unwrap_or_else(|| panic!("{label} not named: {:?}", input.not_scanned))
        };
        assert!(
            reason("django@3.2.0").contains("could be PyPI's, npm's"),
            "{}",
            reason("django@3.2.0")
        );
        assert!(reason("django@3.2.0").contains("pkg:pypi/django@3.2.0"));
        assert!(reason("component #2").contains("name is not a string"));
        assert!(reason("rails@7.0.0").contains("pkg:gem"));
        assert!(reason("x").contains("no version"));
        assert!(reason("y").contains("does not parse"));
        assert_eq!(
            NotScanned::count(&input.not_scanned),
            5,
            "the file is not a package"
        );
    }

    #[test]
    fn an_sbom_with_nothing_scannable_is_an_error_not_a_pass() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("one.cdx.json");
        std::fs::write(
            &path,
            r#"{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [{"type": "library", "name": "django", "version": "3.2.0"}]}"#,
        )
        .unwrap();
        let err = read(&path).unwrap_err().to_string();
        assert!(err.contains("none of them scannable"), "{err}");
        assert!(err.contains("django@3.2.0"), "{err}");
        // An SBOM of nothing (a scratch image) stays a pass.
        std::fs::write(
            &path,
            r#"{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": []}"#,
        )
        .unwrap();
        assert!(read(&path).is_ok());
    }

    #[test]
    fn spdx_packages_without_purls_are_named_but_not_the_subject() {
        let doc = serde_json::json!({
            "spdxVersion": "SPDX-2.3", "name": "img",
            "documentDescribes": ["SPDXRef-image"],
            "packages": [
                {"SPDXID": "SPDXRef-image", "name": "img", "primaryPackagePurpose": "CONTAINER"},
                {"SPDXID": "SPDXRef-a", "name": "django", "versionInfo": "3.2.0"},
                {"SPDXID": "SPDXRef-b", "name": "requests", "versionInfo": "2.25.0",
                 "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                                   "referenceLocator": "pkg:pypi/requests@2.25.0"}]}
            ]
        });
        let input = spdx(&doc, "sbom.spdx.json");
        assert_eq!(input.inventory.packages.len(), 1);
        assert_eq!(NotScanned::count(&input.not_scanned), 1);
        assert_eq!(input.not_scanned[0].packages, ["django@3.2.0"]);
    }
}
