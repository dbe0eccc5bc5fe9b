//! What an image holds, as catalogers find it and SBOM writers print it.
//! Findings are data: nothing here knows about output formats.

use std::collections::BTreeMap;

/// The operating system the image is built on (`/etc/os-release`, refined
/// by `/etc/debian_version` or `/etc/alpine-release`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Distro {
    /// os-release `ID`: `debian`, `ubuntu`, `alpine`, `rhel`, `fedora`, `wolfi`, …
    pub id: String,
    /// os-release `VERSION_ID` (`12`, `3.20.3`, `9.4`), else the release file's.
    pub version_id: Option<String>,
    /// os-release `VERSION_CODENAME` (`bookworm`).
    pub codename: Option<String>,
    /// os-release `PRETTY_NAME`.
    pub pretty_name: Option<String>,
    /// os-release `ID_LIKE`, split on whitespace.
    pub id_like: Vec<String>,
}

/// Which ecosystem a package belongs to; decides its purl type and, for
/// scanning, its OSV ecosystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ecosystem {
    Deb,
    Apk,
    Rpm,
    #[serde(rename = "pypi")]
    PyPI,
    Npm,
    Cargo,
    Golang,
    Maven,
}

/// One installed package.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Package {
    pub ecosystem: Ecosystem,
    /// The name as the ecosystem spells it (binary package name for deb,
    /// `group:artifact` is NOT used for Maven: see `namespace`).
    pub name: String,
    /// Maven groupId, Go module path prefix is not split: `namespace` is
    /// only for ecosystems whose purl has one (maven group, npm scope
    /// without the `@`).
    pub namespace: Option<String>,
    pub version: String,
    /// deb: `Source:` name (the binary name when absent); apk: `o:` origin;
    /// rpm: source rpm name. What vulnerability data is keyed by.
    pub source_name: Option<String>,
    /// deb: the `Source:` version when it differs (`bash (5.2.15-2)`);
    /// rpm: none.
    pub source_version: Option<String>,
    /// deb/apk/rpm architecture (`amd64`, `x86_64`, `noarch`, `all`).
    pub arch: Option<String>,
    /// rpm epoch, when set.
    pub epoch: Option<u32>,
    /// Declared licenses, as written (SPDX expression when the ecosystem
    /// gives one).
    pub licenses: Vec<String>,
    /// The file (absolute path in the image) the package was found through:
    /// the dpkg status file, a `METADATA`, a `package.json`, a binary, a jar.
    pub found_at: String,
    /// Index of the layer `found_at` came from (0 = the base layer).
    pub layer: usize,
    /// Files the package owns (OS packages: from the package database),
    /// used to drop language packages an OS package already accounts for.
    #[serde(skip)]
    pub owned_files: Vec<String>,
    /// Names (in the same ecosystem) this package depends on, as found.
    /// An entry may pin the version as `name@version` when the cataloger
    /// knows exactly which package is meant (binary catalogers: two `syn`
    /// crates in one binary); the writers resolve both forms and drop
    /// names that match no package.
    pub depends_on: Vec<String>,
    /// Extra facts writers may print (`go.version`, `maven.jar`, …).
    pub properties: BTreeMap<String, String>,
}

impl Package {
    /// The name as its ecosystem writes it whole: `@scope/name` (npm),
    /// `group:artifact` (Maven), the module path (Go); else `name`.
    pub fn full_name(&self) -> String {
        match (&self.ecosystem, &self.namespace) {
            (Ecosystem::Npm, Some(scope)) => {
                format!("@{}/{}", scope.trim_start_matches('@'), self.name)
            }
            (Ecosystem::Maven, Some(group)) => format!("{group}:{}", self.name),
            (Ecosystem::Golang, Some(path)) => format!("{path}/{}", self.name),
            _ => self.name.clone(),
        }
    }

    pub fn new(
        ecosystem: Ecosystem,
        name: &str,
        version: &str,
        found_at: &str,
        layer: usize,
    ) -> Package {
        Package {
            ecosystem,
            name: name.to_string(),
            namespace: None,
            version: version.to_string(),
            source_name: None,
            source_version: None,
            arch: None,
            epoch: None,
            licenses: Vec::new(),
            found_at: found_at.to_string(),
            layer,
            owned_files: Vec::new(),
            depends_on: Vec::new(),
            properties: BTreeMap::new(),
        }
    }
}

/// The package properties that say where a Maven package's coordinates
/// came from (`wharf:package:maven.group_from` in CycloneDX): `pom.properties`,
/// `manifest:<field>`, `file-name`, `class-packages`, or `artifact-id` (the
/// group is the artifactId, for want of any evidence).
pub mod maven {
    pub const GROUP_FROM: &str = "maven.group_from";
    pub const ARTIFACT_FROM: &str = "maven.artifact_from";
    pub const VERSION_FROM: &str = "maven.version_from";
    /// Coordinates read from pom.properties: the only evidence that states
    /// the group as Maven publishes it.
    pub const FROM_POM: &str = "pom.properties";
}

/// Everything the catalogers found in one image.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Inventory {
    pub distro: Option<Distro>,
    pub packages: Vec<Package>,
    /// Things a user should know about what was not read (an rpm BerkeleyDB
    /// `Packages` file, a binary too large to inspect).
    pub notes: Vec<String>,
}

/// The image an inventory describes.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Subject {
    /// `registry/repository` as the user named it, normalised.
    pub name: String,
    /// The tag, if the user gave one.
    pub tag: Option<String>,
    /// The digest the SBOM is about: the index digest when the user named an
    /// index, else the manifest digest.
    pub digest: String,
    /// The platform manifest digest read (equal to `digest` for a single manifest).
    pub manifest_digest: String,
    /// `linux/amd64`.
    pub platform: String,
    /// Layer digests (compressed, as in the manifest), base first.
    pub layers: Vec<String>,
}
