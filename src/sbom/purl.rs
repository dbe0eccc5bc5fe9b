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

use std::collections::BTreeMap;

use super::model::{Distro, Ecosystem, Package, Subject};

/// The purl of one package; `distro` gives OS packages their namespace and
/// `distro` qualifier.
pub fn package(pkg: &Package, distro: Option<&Distro>) -> String {
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
            if let Some(d) = distro.filter(|d| !d.id.is_empty()) {
                namespace.push(d.id.to_lowercase());
                qualifiers.insert("distro", distro_qualifier(d));
            }
            if pkg.ecosystem != Ecosystem::Rpm {
                name = name.to_lowercase();
            }
            if let Some(arch) = pkg.arch.as_deref().filter(|a| !a.is_empty()) {
                qualifiers.insert("arch", arch.to_string());
            }
            if let (Ecosystem::Rpm, Some(epoch)) = (pkg.ecosystem, pkg.epoch) {
                qualifiers.insert("epoch", epoch.to_string());
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
    build(ty, &namespace, &name, &pkg.version, &qualifiers)
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
/// An `oci:DIR` layout has no repository URL to give.
pub fn image(subject: &Subject) -> String {
    let mut qualifiers = BTreeMap::new();
    let name = match subject.name.strip_prefix("oci:") {
        Some(dir) => last_component(dir),
        None => {
            qualifiers.insert("repository_url", subject.name.clone());
            last_component(&subject.name)
        }
    };
    if let Some(tag) = subject.tag.as_deref().filter(|t| !t.is_empty()) {
        qualifiers.insert("tag", tag.to_string());
    }
    build(
        "oci",
        &[],
        &name.to_lowercase(),
        &subject.digest,
        &qualifiers,
    )
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

fn build(
    ty: &str,
    namespace: &[String],
    name: &str,
    version: &str,
    qualifiers: &BTreeMap<&str, String>,
) -> String {
    let mut out = format!("pkg:{ty}/");
    for segment in namespace
        .iter()
        .flat_map(|ns| ns.split('/'))
        .filter(|s| !s.is_empty())
    {
        out.push_str(&encode(segment));
        out.push('/');
    }
    out.push_str(&encode(name.trim_matches('/')));
    if !version.is_empty() {
        out.push('@');
        out.push_str(&encode(version));
    }
    let pairs: Vec<String> = qualifiers
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    if !pairs.is_empty() {
        out.push('?');
        out.push_str(&pairs.join("&"));
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

    #[test]
    fn os_packages_carry_distro_and_arch() {
        let debian = distro("debian", "12");
        let mut bash = pkg(Ecosystem::Deb, "bash", "5.2.15-2+b8");
        bash.arch = Some("amd64".into());
        assert_eq!(
            package(&bash, Some(&debian)),
            "pkg:deb/debian/bash@5.2.15-2%2Bb8?arch=amd64&distro=debian-12"
        );
        // The spec's own vector: the epoch colon is not encoded.
        let mut attr = pkg(Ecosystem::Deb, "attr", "1:2.4.47-2+b1");
        attr.arch = Some("amd64".into());
        assert_eq!(
            package(&attr, None),
            "pkg:deb/attr@1:2.4.47-2%2Bb1?arch=amd64"
        );
        let mut perl = pkg(Ecosystem::Deb, "libperl5.36", "5.36.0-7+deb12u1");
        perl.arch = Some("amd64".into());
        assert_eq!(
            package(&perl, Some(&debian)),
            "pkg:deb/debian/libperl5.36@5.36.0-7%2Bdeb12u1?arch=amd64&distro=debian-12"
        );

        let mut musl = pkg(Ecosystem::Apk, "musl", "1.2.5-r0");
        musl.arch = Some("x86_64".into());
        assert_eq!(
            package(&musl, Some(&distro("alpine", "3.20.3"))),
            "pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=alpine-3.20.3"
        );

        let mut centerim = pkg(Ecosystem::Rpm, "centerim", "4.22.10-1.el6");
        centerim.arch = Some("i686".into());
        centerim.epoch = Some(1);
        assert_eq!(
            package(&centerim, Some(&distro("fedora", "25"))),
            "pkg:rpm/fedora/centerim@4.22.10-1.el6?arch=i686&distro=fedora-25&epoch=1"
        );
        let mut upper = pkg(Ecosystem::Rpm, "NetworkManager", "1.46.0-8.el9");
        upper.arch = Some("x86_64".into());
        assert_eq!(
            package(&upper, Some(&distro("rhel", "9.4"))),
            "pkg:rpm/rhel/NetworkManager@1.46.0-8.el9?arch=x86_64&distro=rhel-9.4"
        );
    }

    #[test]
    fn language_packages() {
        assert_eq!(
            package(&pkg(Ecosystem::PyPI, "Zope.Interface", "6.4"), None),
            "pkg:pypi/zope-interface@6.4"
        );
        assert_eq!(
            package(&pkg(Ecosystem::PyPI, "typing_extensions", "4.12.2"), None),
            "pkg:pypi/typing-extensions@4.12.2"
        );
        assert_eq!(pep503("Foo__Bar.-baz"), "foo-bar-baz");

        let mut angular = pkg(Ecosystem::Npm, "animation", "12.3.1");
        angular.namespace = Some("angular".into());
        assert_eq!(
            package(&angular, None),
            "pkg:npm/%40angular/animation@12.3.1"
        );
        assert_eq!(
            package(&pkg(Ecosystem::Npm, "@babel/core", "7.24.0"), None),
            "pkg:npm/%40babel/core@7.24.0"
        );
        assert_eq!(
            package(&pkg(Ecosystem::Npm, "foobar", "12.3.1"), None),
            "pkg:npm/foobar@12.3.1"
        );

        assert_eq!(
            package(&pkg(Ecosystem::Cargo, "rand", "0.7.2"), None),
            "pkg:cargo/rand@0.7.2"
        );

        assert_eq!(
            package(
                &pkg(Ecosystem::Golang, "github.com/BurntSushi/toml", "v1.3.2"),
                None
            ),
            "pkg:golang/github.com/BurntSushi/toml@v1.3.2"
        );
        assert_eq!(
            package(
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
            package(&pkg(Ecosystem::Golang, "stdlib", "1.22.5"), None),
            "pkg:golang/stdlib@1.22.5"
        );
        assert_eq!(
            package(
                &pkg(Ecosystem::Golang, "example.com/app", "v1.0.0+incompatible"),
                None
            ),
            "pkg:golang/example.com/app@v1.0.0%2Bincompatible"
        );

        let mut batik = pkg(Ecosystem::Maven, "batik-anim", "1.9.1");
        batik.namespace = Some("org.apache.xmlgraphics".into());
        assert_eq!(
            package(&batik, None),
            "pkg:maven/org.apache.xmlgraphics/batik-anim@1.9.1"
        );
        assert_eq!(
            package(
                &pkg(Ecosystem::Maven, "com.fasterxml:jackson-core", "2.17.0"),
                None
            ),
            "pkg:maven/com.fasterxml/jackson-core@2.17.0"
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
