//! Package URLs, built per the purl specification (the type definitions
//! and test suite of github.com/package-url/purl-spec): percent-encoding
//! keeps only `A-Z a-z 0-9 . - _ ~` and the colon (the spec says `:` is
//! never encoded, so a deb epoch reads `1:2.4.47-2%2Bb1` and an image
//! digest `sha256:…`); qualifiers are sorted by key.
//!
//! Per type: deb and apk lower-case namespace (the distro id) and name;
//! rpm lower-cases only the namespace; pypi names are PEP 503-normalised;
//! npm scopes are the namespace with `@` encoded; golang keeps the module
//! path's case (the golang type definition marks namespace and name
//! case-sensitive, and Go module paths are: `github.com/BurntSushi/toml`
//! is not `github.com/burntsushi/toml`); maven is `group/artifact`.
//!
//! Every purl goes through one builder, [`Purl::build`], which refuses what
//! its type does not allow rather than write it: a maven purl without a
//! group, a namespace where the type prohibits one, a value wrapped in
//! quotes or whitespace, a Maven id outside Maven's own character set. The
//! catalogers clean what they read (a manifest's `"1.6"`), so a refusal is
//! a cataloger's bug; the catalog lists such a package with a note and no
//! purl, never with a broken one.
//!
//! One deliberate departure: the golang type definition requires a
//! namespace, but Go's standard library is `stdlib` (OSV's name for it,
//! and what Syft and osv-scanner write) and a main module may be one word
//! (`module tool`); the definition's own note says it predates modules.
//! golang purls may therefore have no namespace.

use std::collections::BTreeMap;

use super::model::{Distro, Ecosystem, Package, Subject};

/// A purl that was not written, and why: a bug in whoever gave the parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub purl_type: String,
    pub why: String,
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no valid pkg:{} purl: {}", self.purl_type, self.why)
    }
}

/// Whether a type's purls have a namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Namespace {
    Required,
    Optional,
    Prohibited,
}

/// The parts of a purl, before encoding. Build with [`Purl::build`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Purl {
    pub purl_type: String,
    /// Segments, unencoded (`["github.com", "BurntSushi"]`, `["@angular"]`).
    pub namespace: Vec<String>,
    pub name: String,
    /// Empty for none.
    pub version: String,
    /// Empty values are left out.
    pub qualifiers: BTreeMap<String, String>,
}

impl Purl {
    pub fn new(purl_type: &str, name: &str) -> Purl {
        Purl {
            purl_type: purl_type.to_string(),
            name: name.to_string(),
            ..Purl::default()
        }
    }

    /// The canonical string, if every part is valid for the type.
    pub fn build(&self) -> Result<String, Invalid> {
        self.check().map_err(|why| Invalid {
            purl_type: self.purl_type.clone(),
            why,
        })?;
        let mut out = format!("pkg:{}/", self.purl_type);
        for segment in &self.namespace {
            out.push_str(&encode(segment));
            out.push('/');
        }
        out.push_str(&encode(&self.name));
        if !self.version.is_empty() {
            out.push('@');
            out.push_str(&encode(&self.version));
        }
        let pairs: Vec<String> = self
            .qualifiers
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        if !pairs.is_empty() {
            out.push('?');
            out.push_str(&pairs.join("&"));
        }
        Ok(out)
    }

    fn check(&self) -> Result<(), String> {
        let ty = self.purl_type.as_str();
        let type_ok = ty.starts_with(|c: char| c.is_ascii_lowercase())
            && ty
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".+-".contains(c));
        if !type_ok {
            return Err(format!("the type {ty:?} is not a purl type"));
        }
        let rule = match ty {
            "maven" | "deb" | "apk" | "rpm" => Namespace::Required,
            "pypi" | "cargo" | "oci" => Namespace::Prohibited,
            _ => Namespace::Optional,
        };
        match (rule, self.namespace.is_empty()) {
            (Namespace::Required, true) => {
                return Err(format!(
                    "{ty} requires a namespace ({}), and {:?} has none",
                    match ty {
                        "maven" => "the groupId",
                        _ => "the distribution",
                    },
                    self.name
                ))
            }
            (Namespace::Prohibited, false) => {
                return Err(format!(
                    "{ty} has no namespace, and {:?} was given {:?}",
                    self.name,
                    self.namespace.join("/")
                ))
            }
            _ => {}
        }
        for segment in &self.namespace {
            value("a namespace segment", segment)?;
            if segment.contains('/') {
                return Err(format!("the namespace segment {segment:?} holds a '/'"));
            }
        }
        value("the name", &self.name)?;
        if !self.version.is_empty() {
            value("the version", &self.version)?;
        }
        for (key, v) in &self.qualifiers {
            let key_ok = key.starts_with(|c: char| c.is_ascii_lowercase())
                && key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
            if !key_ok {
                return Err(format!("the qualifier key {key:?} is not one"));
            }
            if !v.is_empty() {
                value(&format!("the qualifier {key}"), v)?;
            }
        }
        match ty {
            // Maven's own rule for groupId and artifactId.
            "maven" => {
                for (what, id) in [
                    ("groupId", self.namespace.join(".")),
                    ("artifactId", self.name.clone()),
                ] {
                    if !id
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
                    {
                        return Err(format!(
                            "the {what} {id:?} has characters Maven does not allow (A-Z a-z 0-9 . _ -)"
                        ));
                    }
                }
                if self.namespace.len() != 1 {
                    return Err(format!(
                        "a Maven groupId is one namespace segment, not {:?}",
                        self.namespace
                    ));
                }
            }
            "pypi" if self.name != pep503(&self.name) => {
                return Err(format!(
                    "the name {:?} is not PEP 503-normalised",
                    self.name
                ));
            }
            "deb" | "apk" if self.name != self.name.to_lowercase() => {
                return Err(format!("the name {:?} is not lower case", self.name));
            }
            "npm" => {
                if let Some(scope) = self.namespace.first() {
                    if !scope.starts_with('@') || self.namespace.len() != 1 {
                        return Err(format!("the npm scope {scope:?} is not one '@scope'"));
                    }
                }
            }
            _ => {}
        }
        if matches!(ty, "deb" | "apk" | "rpm") {
            for segment in &self.namespace {
                if *segment != segment.to_lowercase() {
                    return Err(format!("the vendor {segment:?} is not lower case"));
                }
            }
        }
        Ok(())
    }
}

/// A part of a purl: not empty, no control characters, no whitespace at
/// either end, no double quote anywhere and no single quote at either end
/// (what a manifest's `"1.6"` leaves when read as written).
fn value(what: &str, v: &str) -> Result<(), String> {
    if v.is_empty() {
        return Err(format!("{what} is empty"));
    }
    if v.trim() != v {
        return Err(format!("{what} {v:?} has whitespace at an end"));
    }
    if v.chars().any(char::is_control) {
        return Err(format!("{what} {v:?} has a control character"));
    }
    if v.contains('"') || v.starts_with('\'') || v.ends_with('\'') {
        return Err(format!("{what} {v:?} keeps quotes"));
    }
    Ok(())
}

/// The purl of one package; `distro` gives OS packages their namespace and
/// `distro` qualifier. Without a distro (no os-release), an OS package's
/// namespace is the vendor its package manager comes from: `debian` for
/// dpkg, `alpine` for apk, `redhat` for rpm.
pub fn package(pkg: &Package, distro: Option<&Distro>) -> Result<String, Invalid> {
    let mut namespace: Vec<String> = Vec::new();
    let mut name = pkg.name.clone();
    let mut qualifiers = BTreeMap::new();
    let ty = match pkg.ecosystem {
        Ecosystem::Deb => "deb",
        Ecosystem::Apk => "apk",
        Ecosystem::Rpm => "rpm",
        Ecosystem::PyPI => "pypi",
        Ecosystem::Npm => "npm",
        Ecosystem::Cargo => "cargo",
        Ecosystem::Golang => "golang",
        Ecosystem::Maven => "maven",
    };
    match pkg.ecosystem {
        Ecosystem::Deb | Ecosystem::Apk | Ecosystem::Rpm => {
            match distro.filter(|d| !d.id.is_empty()) {
                Some(d) => {
                    namespace.push(d.id.to_lowercase());
                    qualifiers.insert("distro".to_string(), distro_qualifier(d));
                }
                None => namespace.push(
                    match pkg.ecosystem {
                        Ecosystem::Deb => "debian",
                        Ecosystem::Apk => "alpine",
                        _ => "redhat",
                    }
                    .to_string(),
                ),
            }
            if pkg.ecosystem != Ecosystem::Rpm {
                name = name.to_lowercase();
            }
            if let Some(arch) = pkg.arch.as_deref().filter(|a| !a.is_empty()) {
                qualifiers.insert("arch".to_string(), arch.to_string());
            }
            if let (Ecosystem::Rpm, Some(epoch)) = (pkg.ecosystem, pkg.epoch) {
                qualifiers.insert("epoch".to_string(), epoch.to_string());
            }
        }
        Ecosystem::PyPI => name = pep503(&name),
        Ecosystem::Npm => match pkg.namespace.as_deref().filter(|s| !s.is_empty()) {
            Some(scope) => namespace.push(format!("@{}", scope.trim_start_matches('@'))),
            // A catalog that kept `@scope/name` whole.
            None => {
                if let Some((scope, rest)) = name.strip_prefix('@').and_then(|n| n.split_once('/'))
                {
                    namespace.push(format!("@{scope}"));
                    name = rest.to_string();
                }
            }
        },
        Ecosystem::Golang => {
            let full = match pkg.namespace.as_deref().filter(|s| !s.is_empty()) {
                Some(ns) => format!("{ns}/{name}"),
                None => name.clone(),
            };
            let mut segments: Vec<String> = full
                .split('/')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            name = segments.pop().unwrap_or_default();
            namespace = segments;
        }
        Ecosystem::Maven => match pkg.namespace.as_deref().filter(|s| !s.is_empty()) {
            Some(group) => namespace.push(group.to_string()),
            None => {
                if let Some((group, artifact)) = name.split_once(':') {
                    namespace.push(group.to_string());
                    name = artifact.to_string();
                }
            }
        },
        Ecosystem::Cargo => {}
    }
    Purl {
        purl_type: ty.to_string(),
        namespace,
        name,
        version: pkg.version.clone(),
        qualifiers,
    }
    .build()
}

/// `<id>-<version_id>` (`debian-12`, `alpine-3.20.3`), or the id alone.
pub fn distro_qualifier(distro: &Distro) -> String {
    match distro.version_id.as_deref().filter(|v| !v.is_empty()) {
        Some(v) => format!("{}-{v}", distro.id.to_lowercase()),
        None => distro.id.to_lowercase(),
    }
}

/// The image's purl: `pkg:oci/<last repository component>@<digest>` with
/// `repository_url` (registry/repository) and the tag when one was named.
/// An `oci:DIR` layout has no repository URL to give; its folder's name
/// names it (`image` when the folder's name cannot).
pub fn image(subject: &Subject) -> String {
    let mut purl = Purl::new("oci", "");
    let name = match subject.name.strip_prefix("oci:") {
        Some(dir) => last_component(dir),
        None => {
            purl.qualifiers
                .insert("repository_url".into(), subject.name.clone());
            last_component(&subject.name)
        }
    };
    purl.name = name.trim().to_lowercase();
    purl.version = subject.digest.clone();
    if let Some(tag) = subject.tag.as_deref().filter(|t| !t.is_empty()) {
        purl.qualifiers.insert("tag".into(), tag.to_string());
    }
    purl.build().unwrap_or_else(|_| {
        purl.name = "image".into();
        purl.qualifiers.remove("repository_url");
        purl.build()
            .unwrap_or_else(|_| format!("pkg:oci/image@{}", encode(&subject.digest)))
    })
}

fn last_component(path: &str) -> String {
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// PEP 503: lower case, runs of `-`, `_`, `.` become one `-`.
pub fn pep503(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_run {
                out.push('-');
            }
            in_run = true;
        } else {
            out.extend(c.to_lowercase());
            in_run = false;
        }
    }
    out
}

/// Percent-encodes everything but the spec's unreserved characters and `:`.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~' | b':') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn distro(id: &str, version: &str) -> Distro {
        Distro {
            id: id.to_string(),
            version_id: Some(version.to_string()),
            ..Distro::default()
        }
    }

    fn pkg(eco: Ecosystem, name: &str, version: &str) -> Package {
        Package::new(eco, name, version, "/x", 0)
    }

    fn ok(p: &Package, distro: Option<&Distro>) -> String {
        package(p, distro).unwrap_or_else(|e| panic!("{p:?}: {e}"))
    }

    #[test]
    fn os_packages_carry_distro_and_arch() {
        let debian = distro("debian", "12");
        let mut bash = pkg(Ecosystem::Deb, "bash", "5.2.15-2+b8");
        bash.arch = Some("amd64".into());
        assert_eq!(
            ok(&bash, Some(&debian)),
            "pkg:deb/debian/bash@5.2.15-2%2Bb8?arch=amd64&distro=debian-12"
        );
        // The spec's own vector: the epoch colon is not encoded.
        let mut attr = pkg(Ecosystem::Deb, "attr", "1:2.4.47-2+b1");
        attr.arch = Some("amd64".into());
        assert_eq!(
            ok(&attr, None),
            "pkg:deb/debian/attr@1:2.4.47-2%2Bb1?arch=amd64"
        );
        let mut perl = pkg(Ecosystem::Deb, "libperl5.36", "5.36.0-7+deb12u1");
        perl.arch = Some("amd64".into());
        assert_eq!(
            ok(&perl, Some(&debian)),
            "pkg:deb/debian/libperl5.36@5.36.0-7%2Bdeb12u1?arch=amd64&distro=debian-12"
        );

        let mut musl = pkg(Ecosystem::Apk, "musl", "1.2.5-r0");
        musl.arch = Some("x86_64".into());
        assert_eq!(
            ok(&musl, Some(&distro("alpine", "3.20.3"))),
            "pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=alpine-3.20.3"
        );

        let mut centerim = pkg(Ecosystem::Rpm, "centerim", "4.22.10-1.el6");
        centerim.arch = Some("i686".into());
        centerim.epoch = Some(1);
        assert_eq!(
            ok(&centerim, Some(&distro("fedora", "25"))),
            "pkg:rpm/fedora/centerim@4.22.10-1.el6?arch=i686&distro=fedora-25&epoch=1"
        );
        let mut upper = pkg(Ecosystem::Rpm, "NetworkManager", "1.46.0-8.el9");
        upper.arch = Some("x86_64".into());
        assert_eq!(
            ok(&upper, Some(&distro("rhel", "9.4"))),
            "pkg:rpm/rhel/NetworkManager@1.46.0-8.el9?arch=x86_64&distro=rhel-9.4"
        );
    }

    #[test]
    fn language_packages() {
        assert_eq!(
            ok(&pkg(Ecosystem::PyPI, "Zope.Interface", "6.4"), None),
            "pkg:pypi/zope-interface@6.4"
        );
        assert_eq!(
            ok(&pkg(Ecosystem::PyPI, "typing_extensions", "4.12.2"), None),
            "pkg:pypi/typing-extensions@4.12.2"
        );
        assert_eq!(pep503("Foo__Bar.-baz"), "foo-bar-baz");

        let mut angular = pkg(Ecosystem::Npm, "animation", "12.3.1");
        angular.namespace = Some("angular".into());
        assert_eq!(ok(&angular, None), "pkg:npm/%40angular/animation@12.3.1");
        assert_eq!(
            ok(&pkg(Ecosystem::Npm, "@babel/core", "7.24.0"), None),
            "pkg:npm/%40babel/core@7.24.0"
        );
        assert_eq!(
            ok(&pkg(Ecosystem::Npm, "foobar", "12.3.1"), None),
            "pkg:npm/foobar@12.3.1"
        );

        assert_eq!(
            ok(&pkg(Ecosystem::Cargo, "rand", "0.7.2"), None),
            "pkg:cargo/rand@0.7.2"
        );

        assert_eq!(
            ok(
                &pkg(Ecosystem::Golang, "github.com/BurntSushi/toml", "v1.3.2"),
                None
            ),
            "pkg:golang/github.com/BurntSushi/toml@v1.3.2"
        );
        assert_eq!(
            ok(
                &pkg(
                    Ecosystem::Golang,
                    "golang.org/x/net",
                    "v0.0.0-20220127200216-cd36cc0744dd"
                ),
                None
            ),
            "pkg:golang/golang.org/x/net@v0.0.0-20220127200216-cd36cc0744dd"
        );
        assert_eq!(
            ok(&pkg(Ecosystem::Golang, "stdlib", "1.22.5"), None),
            "pkg:golang/stdlib@1.22.5"
        );
        assert_eq!(
            ok(
                &pkg(Ecosystem::Golang, "example.com/app", "v1.0.0+incompatible"),
                None
            ),
            "pkg:golang/example.com/app@v1.0.0%2Bincompatible"
        );

        let mut batik = pkg(Ecosystem::Maven, "batik-anim", "1.9.1");
        batik.namespace = Some("org.apache.xmlgraphics".into());
        assert_eq!(
            ok(&batik, None),
            "pkg:maven/org.apache.xmlgraphics/batik-anim@1.9.1"
        );
        assert_eq!(
            ok(
                &pkg(Ecosystem::Maven, "com.fasterxml:jackson-core", "2.17.0"),
                None
            ),
            "pkg:maven/com.fasterxml/jackson-core@2.17.0"
        );
    }

    /// The purl spec's build tests (tests/types/<type>-test.json) for the
    /// types wharf writes, those without a subpath: parts in, string out.
    #[test]
    fn the_spec_build_vectors() {
        type Vector<'a> = (
            &'a str,
            &'a [&'a str],
            &'a str,
            &'a str,
            &'a [(&'a str, &'a str)],
            &'a str,
        );
        let vectors: &[Vector] = &[
            ("maven", &["org.apache.commons"], "io", "1.3.4", &[], "pkg:maven/org.apache.commons/io@1.3.4"),
            ("maven", &["org.apache.commons"], "io", "", &[], "pkg:maven/org.apache.commons/io"),
            ("maven", &["org.apache.xmlgraphics"], "batik-anim", "1.9.1",
                &[("classifier", "sources"), ("repository_url", "repo.spring.io/release")],
                "pkg:maven/org.apache.xmlgraphics/batik-anim@1.9.1?classifier=sources&repository_url=repo.spring.io%2Frelease"),
            ("maven", &["net.sf.jacob-project"], "jacob", "1.14.3", &[("classifier", "x86"), ("type", "dll")],
                "pkg:maven/net.sf.jacob-project/jacob@1.14.3?classifier=x86&type=dll"),
            ("maven", &["HTTPClient"], "HTTPClient", "0.3-3", &[], "pkg:maven/HTTPClient/HTTPClient@0.3-3"),
            ("maven", &["mygroup"], "myartifact", "1.0.0 Final", &[("mykey", "my value")],
                "pkg:maven/mygroup/myartifact@1.0.0%20Final?mykey=my%20value"),
            ("maven", &["groovy"], "groovy", "1.0", &[("repository_url", "https://maven.google.com")],
                "pkg:maven/groovy/groovy@1.0?repository_url=https:%2F%2Fmaven.google.com"),
            ("npm", &["@angular"], "animation", "12.3.1", &[], "pkg:npm/%40angular/animation@12.3.1"),
            ("npm", &[], "foobar", "12.3.1", &[], "pkg:npm/foobar@12.3.1"),
            ("npm", &[], "mypackage", "12.4.5", &[("vcs_url", "git://host.com/path/to/repo.git@4345abcd34343")],
                "pkg:npm/mypackage@12.4.5?vcs_url=git:%2F%2Fhost.com%2Fpath%2Fto%2Frepo.git%404345abcd34343"),
            ("pypi", &[], "django-package", "1.11.1.dev1", &[], "pkg:pypi/django-package@1.11.1.dev1"),
            ("pypi", &[], "django", "1.11.1", &[("file_name", "Django-1.11.1.tar.gz")],
                "pkg:pypi/django@1.11.1?file_name=Django-1.11.1.tar.gz"),
            ("golang", &["github.com", "gorilla"], "context", "234fd47e07d1004f0aed9c", &[],
                "pkg:golang/github.com/gorilla/context@234fd47e07d1004f0aed9c"),
            ("deb", &["debian"], "curl", "7.50.3-1", &[("arch", "i386"), ("distro", "jessie")],
                "pkg:deb/debian/curl@7.50.3-1?arch=i386&distro=jessie"),
            ("deb", &["ubuntu"], "dpkg", "1.19.0.4", &[("arch", "amd64")], "pkg:deb/ubuntu/dpkg@1.19.0.4?arch=amd64"),
            ("deb", &["debian"], "attr", "1:2.4.47-2+b1", &[("arch", "amd64")],
                "pkg:deb/debian/attr@1:2.4.47-2%2Bb1?arch=amd64"),
            ("apk", &["alpine"], "curl", "7.83.0-r0", &[("arch", "x86")], "pkg:apk/alpine/curl@7.83.0-r0?arch=x86"),
            ("rpm", &["fedora"], "centerim", "4.22.10-1.el6", &[("arch", "i686"), ("distro", "fedora-25"), ("epoch", "1")],
                "pkg:rpm/fedora/centerim@4.22.10-1.el6?arch=i686&distro=fedora-25&epoch=1"),
            ("cargo", &[], "structopt", "0.3.11", &[], "pkg:cargo/structopt@0.3.11"),
            ("oci", &[], "debian", "sha256:244fd47e07d10",
                &[("arch", "amd64"), ("repository_url", "docker.io/library/debian"), ("tag", "latest")],
                "pkg:oci/debian@sha256:244fd47e07d10?arch=amd64&repository_url=docker.io%2Flibrary%2Fdebian&tag=latest"),
        ];
        for (ty, namespace, name, version, qualifiers, want) in vectors {
            let purl = Purl {
                purl_type: ty.to_string(),
                namespace: namespace.iter().map(|s| s.to_string()).collect(),
                name: name.to_string(),
                version: version.to_string(),
                qualifiers: qualifiers
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            };
            assert_eq!(purl.build().as_deref(), Ok(*want), "{purl:?}");
        }
        // The spec's build failures: no name; a type that starts with a
        // digit or holds a colon; a qualifier key with a space.
        let refused = [
            Purl::new("maven", ""),
            Purl {
                namespace: vec!["g".into()],
                ..Purl::new("1maven", "a")
            },
            Purl {
                namespace: vec!["g".into()],
                ..Purl::new("ma:ven", "a")
            },
            Purl {
                qualifiers: [("in production".to_string(), "true".to_string())].into(),
                ..Purl::new("npm", "myartifact")
            },
        ];
        for purl in refused {
            assert!(purl.build().is_err(), "{purl:?} was built");
        }
    }

    /// What each type refuses: the three purls issue 20 found in real
    /// SBOMs, and every rule the builder holds.
    #[test]
    fn invalid_parts_are_refused_not_written() {
        let maven = |group: Option<&str>, name: &str, version: &str| {
            let mut p = pkg(Ecosystem::Maven, name, version);
            p.namespace = group.map(str::to_string);
            package(&p, None)
        };
        // The manifest's quotes; no namespace.
        let quoted = maven(None, "\"org.apache.commons.digester\"", "\"1.6\"").unwrap_err();
        assert!(quoted.why.contains("namespace"), "{quoted}");
        assert!(
            maven(Some("commons-digester"), "commons-digester", "\"1.6\"")
                .unwrap_err()
                .why
                .contains("quotes")
        );
        assert!(maven(Some("\"org.apache\""), "a", "1").is_err());
        assert!(maven(None, "ASM", "3.3.1").is_err());
        assert!(maven(None, "org.apache.velocity", "1.5").is_err());
        assert!(maven(Some("org.apache.commons.*"), "commons-cli", "1.0").is_err());
        assert!(maven(Some("org apache"), "a", "1").is_err());
        assert!(maven(Some("g"), "a", " 1.0").is_err());
        assert!(maven(Some("g"), "a", "1.0\n").is_err());
        assert_eq!(
            maven(Some("asm"), "asm", "3.3.1").as_deref(),
            Ok("pkg:maven/asm/asm@3.3.1")
        );
        // `group:artifact` in the name, as an SBOM may give it.
        assert_eq!(
            maven(None, "commons-logging:commons-logging", "1.0.4").as_deref(),
            Ok("pkg:maven/commons-logging/commons-logging@1.0.4")
        );

        let prohibited = Purl {
            namespace: vec!["x".into()],
            ..Purl::new("pypi", "django")
        };
        assert!(prohibited
            .build()
            .unwrap_err()
            .why
            .contains("has no namespace"));
        assert!(Purl::new("pypi", "Django").build().is_err());
        assert!(Purl::new("deb", "bash").build().is_err());
        let upper = Purl {
            namespace: vec!["debian".into()],
            ..Purl::new("deb", "Bash")
        };
        assert!(upper.build().is_err());
        let bad_scope = Purl {
            namespace: vec!["angular".into()],
            ..Purl::new("npm", "core")
        };
        assert!(bad_scope.build().is_err());
        // No distro: the vendor the package manager comes from.
        assert_eq!(
            ok(&pkg(Ecosystem::Apk, "musl", "1.2.5-r0"), None),
            "pkg:apk/alpine/musl@1.2.5-r0"
        );
        assert_eq!(
            ok(&pkg(Ecosystem::Rpm, "bash", "5.1-1"), None),
            "pkg:rpm/redhat/bash@5.1-1"
        );
        // Go's standard library and one-word main modules: no namespace.
        assert_eq!(
            ok(&pkg(Ecosystem::Golang, "tool", "(devel)"), None),
            "pkg:golang/tool@%28devel%29"
        );
    }

    #[test]
    fn images() {
        let subject = Subject {
            name: "docker.io/library/debian".into(),
            tag: Some("latest".into()),
            digest: "sha256:244fd47e07d10".into(),
            manifest_digest: "sha256:244fd47e07d10".into(),
            platform: "linux/amd64".into(),
            layers: vec![],
        };
        assert_eq!(
            image(&subject),
            "pkg:oci/debian@sha256:244fd47e07d10?repository_url=docker.io%2Flibrary%2Fdebian&tag=latest"
        );
        let layout = Subject {
            name: "oci:/tmp/My Image/".into(),
            tag: None,
            ..subject
        };
        assert_eq!(image(&layout), "pkg:oci/my%20image@sha256:244fd47e07d10");
    }

    #[test]
    fn encoding_keeps_only_the_unreserved_and_colon() {
        assert_eq!(
            encode("a+b c/d@e?f#g&h=i:j~k_l.m-n%"),
            "a%2Bb%20c%2Fd%40e%3Ff%23g%26h%3Di:j~k_l.m-n%25"
        );
        assert_eq!(encode("é"), "%C3%A9");
    }
}
