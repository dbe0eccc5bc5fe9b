//! `wharf scan --sbom FILE`: an existing CycloneDX or SPDX JSON SBOM (ours,
//! Syft's or Trivy's) as the inventory to scan. Packages come from their
//! purls; the OS release from the purls' `distro` qualifier or the
//! operating-system component; Debian source packages from the `upstream`
//! qualifier (Syft), Trivy's `SrcName`/`SrcVersion` properties, or ours.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

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

/// Reads the SBOM at `path`: (inventory, the image name and digest it
/// describes when it says).
pub fn read(path: &Path) -> Result<(Inventory, Option<String>, Option<String>)> {
    let bytes = crate::fsutil::read_bounded(path, SBOM_MAX, "the SBOM")?;
    let doc: Value = serde_json::from_slice(&bytes)
        .map_err(|e| Error::file(path, format!("not a JSON SBOM: {e}")))?;
    let found_at = path.display().to_string();
    if doc.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
        Ok(cyclonedx(&doc, &found_at))
    } else if doc.get("spdxVersion").is_some() {
        Ok(spdx(&doc, &found_at))
    } else {
        Err(Error::file(
            path,
            "neither CycloneDX (bomFormat) nor SPDX (spdxVersion) JSON; wharf scans those two",
        ))
    }
}

fn distro_from_qualifier(q: &str) -> Option<Distro> {
    // `debian-12`, `alpine-3.20.3`, `ubuntu-22.04`
    let (id, version) = q.split_once('-')?;
    Some(Distro {
        id: id.to_lowercase(),
        version_id: Some(version.to_string()),
        ..Distro::default()
    })
}

/// A package from a purl and the properties beside it.
fn package(purl: &Purl, props: &BTreeMap<String, String>, found_at: &str) -> Option<Package> {
    let ecosystem = match purl.kind.as_str() {
        "deb" => Ecosystem::Deb,
        "apk" => Ecosystem::Apk,
        "rpm" => Ecosystem::Rpm,
        "pypi" => Ecosystem::PyPI,
        "npm" => Ecosystem::Npm,
        "cargo" => Ecosystem::Cargo,
        "golang" => Ecosystem::Golang,
        "maven" => Ecosystem::Maven,
        _ => return None,
    };
    let version = purl.version.clone()?;
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
    Some(p)
}

fn cyclonedx(doc: &Value, found_at: &str) -> (Inventory, Option<String>, Option<String>) {
    let mut inv = Inventory::default();
    let mut stack: Vec<&Value> = doc
        .get("components")
        .and_then(Value::as_array)
        .map(|c| c.iter().collect())
        .unwrap_or_default();
    while let Some(c) = stack.pop() {
        if let Some(children) = c.get("components").and_then(Value::as_array) {
            stack.extend(children.iter());
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
        if c.get("type").and_then(Value::as_str) == Some("operating-system") {
            let name = c.get("name").and_then(Value::as_str).unwrap_or_default();
            let version = c.get("version").and_then(Value::as_str).map(str::to_string);
            inv.distro.get_or_insert(Distro {
                id: name.to_lowercase(),
                version_id: version,
                ..Distro::default()
            });
            continue;
        }
        let Some(purl) = c.get("purl").and_then(Value::as_str).and_then(Purl::parse) else {
            continue;
        };
        if inv.distro.is_none() {
            inv.distro = purl
                .qualifiers
                .get("distro")
                .and_then(|d| distro_from_qualifier(d));
        }
        if let Some(p) = package(&purl, &props, found_at) {
            inv.packages.push(p);
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
    (inv, name, digest)
}

fn spdx(doc: &Value, found_at: &str) -> (Inventory, Option<String>, Option<String>) {
    let mut inv = Inventory::default();
    let mut digest = None;
    for p in doc
        .get("packages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let purls = p
            .get("externalRefs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|r| r.get("referenceType").and_then(Value::as_str) == Some("purl"))
            .filter_map(|r| r.get("referenceLocator").and_then(Value::as_str))
            .filter_map(Purl::parse);
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
            if let Some(pkg) = package(&purl, &BTreeMap::new(), found_at) {
                inv.packages.push(pkg);
            }
        }
    }
    let name = doc.get("name").and_then(Value::as_str).map(str::to_string);
    (inv, name, digest)
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
        let (inv, name, _) = cyclonedx(&doc, "sbom.json");
        assert_eq!(name.as_deref(), Some("app"));
        assert_eq!(inv.distro.as_ref().map(|d| d.id.as_str()), Some("debian"));
        let ssl = inv.packages.iter().find(|p| p.name == "libssl3").unwrap();
        assert_eq!(ssl.source_name.as_deref(), Some("openssl"));
        assert_eq!(ssl.version, "3.0.11-1~deb12u2");
        assert_eq!(inv.packages.len(), 2);
    }
}
