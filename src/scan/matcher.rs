//! Which records affect which installed packages: by ecosystem and package
//! name only, and by the ecosystem's own version order. Debian packages
//! match by their *source* package in `Debian:<major>` (a `Debian:11`
//! record never matches a Debian 12 image), Alpine by origin in
//! `Alpine:vX.Y`, Python by PEP 503 name, Go by module path (and the
//! toolchain as `stdlib`), Maven by `group:artifact`.
//!
//! A version that cannot be compared is reported as such; it is never
//! taken to mean "not vulnerable".

use super::finding::{Finding, Unparsable};
use super::osv::{Affected, Event, Record};
use super::version::{Scheme, Version};
use crate::sbom::model::{Distro, Ecosystem, Package};

/// Where a package is looked up: the OSV ecosystem, the name records use,
/// the version to compare, and its order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub ecosystem: String,
    pub name: String,
    pub version: String,
    pub scheme: Scheme,
}

/// Why a package is not looked up at all (reported once per kind).
pub type Skip = String;

/// The lookup for `pkg` in an image of `distro`.
pub fn target(pkg: &Package, distro: Option<&Distro>) -> Result<Target, Skip> {
    let target = |ecosystem: String, name: String, version: String| {
        let scheme = Scheme::for_ecosystem(&ecosystem)
            .ok_or_else(|| format!("no version order for {ecosystem}"))?;
        Ok(Target {
            ecosystem,
            name,
            version,
            scheme,
        })
    };
    match pkg.ecosystem {
        Ecosystem::Deb => {
            let distro = distro.ok_or(
                "deb packages in an image without an os-release: no Debian release to match",
            )?;
            let ecosystem = match distro.id.as_str() {
                "debian" => {
                    let major = distro
                        .version_id
                        .as_deref()
                        .and_then(|v| v.split('.').next())
                        .filter(|m| !m.is_empty())
                        .ok_or(
                            "a Debian image without VERSION_ID (testing/sid): no release to match",
                        )?;
                    format!("Debian:{major}")
                }
                "ubuntu" => format!(
                    "Ubuntu:{}",
                    distro.version_id.as_deref().unwrap_or_default()
                ),
                other => return Err(format!("deb packages on {other}: no OSV ecosystem for it")),
            };
            // Records are about source packages and their versions; a binNMU
            // (5.2.15-2+b8) is the source version 5.2.15-2 rebuilt.
            let name = pkg.source_name.clone().unwrap_or_else(|| pkg.name.clone());
            let version = pkg
                .source_version
                .clone()
                .unwrap_or_else(|| pkg.version.clone());
            target(ecosystem, name, version)
        }
        Ecosystem::Apk => {
            let distro = distro.ok_or("apk packages in an image without an os-release")?;
            let ecosystem = match distro.id.as_str() {
                "alpine" => {
                    let v = distro.version_id.as_deref().unwrap_or_default();
                    let mut parts = v.split('.');
                    match (parts.next(), parts.next()) {
                        (Some(a), Some(b)) => format!("Alpine:v{a}.{b}"),
                        _ => return Err(format!("Alpine VERSION_ID {v:?} has no major.minor")),
                    }
                }
                "wolfi" => "Wolfi".to_string(),
                "chainguard" => "Chainguard".to_string(),
                other => return Err(format!("apk packages on {other}: no OSV ecosystem for it")),
            };
            let name = pkg.source_name.clone().unwrap_or_else(|| pkg.name.clone());
            target(ecosystem, name, pkg.version.clone())
        }
        Ecosystem::Rpm => {
            let distro = distro.ok_or("rpm packages in an image without an os-release")?;
            let major = distro
                .version_id
                .as_deref()
                .and_then(|v| v.split('.').next())
                .unwrap_or_default();
            let ecosystem = match distro.id.as_str() {
                "rocky" => format!("Rocky Linux:{major}"),
                "almalinux" => format!("AlmaLinux:{major}"),
                other => {
                    return Err(format!(
                        "rpm packages on {other}: OSV has no ecosystem wharf can map it to yet"
                    ))
                }
            };
            let name = pkg.source_name.clone().unwrap_or_else(|| pkg.name.clone());
            let version = match pkg.epoch {
                Some(e) if e > 0 => format!("{e}:{}", pkg.version),
                _ => pkg.version.clone(),
            };
            target(ecosystem, name, version)
        }
        Ecosystem::PyPI => target(
            "PyPI".into(),
            crate::sbom::purl::pep503(&pkg.name),
            pkg.version.clone(),
        ),
        Ecosystem::Npm => {
            let name = match &pkg.namespace {
                Some(scope) => format!("@{}/{}", scope.trim_start_matches('@'), pkg.name),
                None => pkg.name.clone(),
            };
            target("npm".into(), name, pkg.version.clone())
        }
        Ecosystem::Cargo => target("crates.io".into(), pkg.name.clone(), pkg.version.clone()),
        Ecosystem::Golang => {
            let name = match &pkg.namespace {
                Some(ns) => format!("{ns}/{}", pkg.name),
                None => pkg.name.clone(),
            };
            if pkg.version == "(devel)" {
                return Err("Go modules built at (devel) have no version to match".into());
            }
            // Go versions are v-prefixed in OSV; the toolchain too (stdlib 1.22.5 → v1.22.5).
            let version = if pkg.version.starts_with('v') {
                pkg.version.clone()
            } else {
                format!("v{}", pkg.version)
            };
            target("Go".into(), name, version)
        }
        Ecosystem::Maven => {
            let name = match &pkg.namespace {
                Some(group) => format!("{group}:{}", pkg.name),
                None => return Err("a jar without a Maven groupId cannot be matched".into()),
            };
            target("Maven".into(), name, pkg.version.clone())
        }
    }
}

/// What one record says about one package.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Affected; the lowest fixed version above the installed one, if any.
    Affected {
        fixed: Option<String>,
        affected: Box<Affected>,
    },
    NotAffected,
    /// The installed version or a version in the record does not parse.
    Unparsable(String),
}

/// Evaluates `record` for `target`.
pub fn evaluate(record: &Record, target: &Target) -> Verdict {
    if record.withdrawn.is_some() {
        return Verdict::NotAffected;
    }
    let installed = match Version::parse(target.scheme, &target.version) {
        Ok(v) => v,
        Err(e) => return Verdict::Unparsable(format!("the installed version does not parse: {e}")),
    };
    let mut unparsable = None;
    for affected in &record.affected {
        let Some(package) = &affected.package else {
            continue;
        };
        if package.ecosystem != target.ecosystem || !same_name(&package.name, target) {
            continue;
        }
        if affected.versions.iter().any(|v| {
            v == &target.version || Version::parse(target.scheme, v).is_ok_and(|p| p == installed)
        }) {
            return Verdict::Affected {
                fixed: lowest_fixed_above(affected, &installed, target.scheme),
                affected: Box::new(affected.clone()),
            };
        }
        for range in &affected.ranges {
            if !matches!(range.kind.as_str(), "SEMVER" | "ECOSYSTEM") {
                continue;
            }
            match in_range(&range.events, &installed, target.scheme) {
                Ok(true) => {
                    return Verdict::Affected {
                        fixed: lowest_fixed_above(affected, &installed, target.scheme),
                        affected: Box::new(affected.clone()),
                    }
                }
                Ok(false) => {}
                Err(e) => unparsable = Some(e),
            }
        }
    }
    match unparsable {
        Some(why) => Verdict::Unparsable(why),
        None => Verdict::NotAffected,
    }
}

fn same_name(record_name: &str, target: &Target) -> bool {
    if target.ecosystem == "PyPI" {
        crate::sbom::purl::pep503(record_name) == target.name
    } else {
        record_name == target.name
    }
}

/// The OSV range algorithm: events in version order; `introduced` opens,
/// `fixed` and `last_affected` (after it) close, `limit` bounds from above.
fn in_range(events: &[Event], installed: &Version, scheme: Scheme) -> Result<bool, String> {
    enum Kind {
        Introduced,
        Fixed,
        LastAffected,
        Limit,
    }
    let mut parsed: Vec<(Option<Version>, Kind)> = Vec::new();
    for e in events {
        let (text, kind) = match (&e.introduced, &e.fixed, &e.last_affected, &e.limit) {
            (Some(t), _, _, _) => (t, Kind::Introduced),
            (_, Some(t), _, _) => (t, Kind::Fixed),
            (_, _, Some(t), _) => (t, Kind::LastAffected),
            (_, _, _, Some(t)) => (t, Kind::Limit),
            _ => continue,
        };
        if matches!(kind, Kind::Introduced) && text == "0" {
            parsed.push((None, kind));
            continue;
        }
        if matches!(kind, Kind::Limit) && text == "*" {
            continue;
        }
        let v = Version::parse(scheme, text)
            .map_err(|e| format!("the record's version {text:?} does not parse: {e}"))?;
        parsed.push((Some(v), kind));
    }
    // "0" sorts first; otherwise by version, introduced before fixed at the same version.
    parsed.sort_by(|a, b| match (&a.0, &b.0) {
        (None, None) => std::cmp::Ordering::Equal,
        (None, _) => std::cmp::Ordering::Less,
        (_, None) => std::cmp::Ordering::Greater,
        (Some(x), Some(y)) => x.cmp(y),
    });
    for (v, kind) in &parsed {
        if let (Kind::Limit, Some(limit)) = (kind, v) {
            if installed >= limit {
                return Ok(false);
            }
        }
    }
    let mut affected = false;
    for (v, kind) in &parsed {
        match (kind, v) {
            (Kind::Introduced, None) => affected = true,
            (Kind::Introduced, Some(i)) if installed >= i => affected = true,
            (Kind::Fixed, Some(f)) if installed >= f => affected = false,
            (Kind::LastAffected, Some(l)) if installed > l => affected = false,
            _ => {}
        }
    }
    Ok(affected)
}

/// The lowest `fixed` event of the entry above the installed version.
fn lowest_fixed_above(affected: &Affected, installed: &Version, scheme: Scheme) -> Option<String> {
    affected
        .ranges
        .iter()
        .flat_map(|r| r.events.iter())
        .filter_map(|e| e.fixed.as_deref())
        .filter_map(|f| Version::parse(scheme, f).ok().map(|v| (v, f)))
        .filter(|(v, _)| v > installed)
        .min_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, f)| f.to_string())
}

/// Whether the record is RustSec-style informational (unmaintained,
/// unsound, notice): reported apart, not as a vulnerability. RustSec puts
/// the flag on the affected entry; a record-level one counts too.
pub fn informational(record: &Record, affected: &Affected) -> Option<String> {
    let flag = |v: Option<&crate::scan::osv::Specific>| v.and_then(|d| d.text("informational"));
    flag(affected.database_specific.as_ref()).or_else(|| flag(record.database_specific.as_ref()))
}

/// Builds the finding for an affected package.
pub fn finding(
    record: &Record,
    pkg: &Package,
    target: &Target,
    purl: String,
    fixed: Option<String>,
    rating: super::finding::Rating,
) -> Finding {
    Finding {
        id: record.id.clone(),
        ids: vec![record.id.clone()],
        aliases: record.aliases.clone(),
        summary: record.summary.clone(),
        package: pkg.full_name(),
        matched_name: target.name.clone(),
        ecosystem: target.ecosystem.clone(),
        purl,
        installed: pkg.version.clone(),
        fixed,
        severity: rating.severity,
        score: rating.score,
        severity_source: rating.source,
        layer: Some(pkg.layer),
        found_at: Some(pkg.found_at.clone()),
        suppressed: None,
        references: record.references.iter().map(|r| r.url.clone()).collect(),
    }
}

/// An unparsable verdict as a report entry.
pub fn unparsable(record: &Record, pkg: &Package, target: &Target, why: String) -> Unparsable {
    Unparsable {
        id: record.id.clone(),
        package: pkg.full_name(),
        ecosystem: target.ecosystem.clone(),
        installed: target.version.clone(),
        why,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::osv::{Package as OsvPackage, Range};

    fn record(eco: &str, name: &str, ranges: Vec<Vec<(&str, &str)>>, versions: &[&str]) -> Record {
        Record {
            id: "TEST-1".into(),
            aliases: vec![],
            related: vec![],
            upstream: Vec::new(),
            summary: None,
            modified: None,
            published: None,
            withdrawn: None,
            severity: vec![],
            affected: vec![Affected {
                package: Some(OsvPackage {
                    ecosystem: eco.into(),
                    name: name.into(),
                    purl: None,
                }),
                severity: vec![],
                ranges: ranges
                    .into_iter()
                    .map(|events| Range {
                        kind: "ECOSYSTEM".into(),
                        repo: None,
                        events: events
                            .into_iter()
                            .map(|(k, v)| {
                                let mut e = Event::default();
                                let v = Some(v.to_string());
                                match k {
                                    "introduced" => e.introduced = v,
                                    "fixed" => e.fixed = v,
                                    "last_affected" => e.last_affected = v,
                                    _ => e.limit = v,
                                }
                                e
                            })
                            .collect(),
                    })
                    .collect(),
                versions: versions.iter().map(|v| v.to_string()).collect(),
                ecosystem_specific: None,
                database_specific: None,
            }],
            references: vec![],
            database_specific: None,
        }
    }

    fn pypi(version: &str) -> Target {
        Target {
            ecosystem: "PyPI".into(),
            name: "requests".into(),
            version: version.into(),
            scheme: Scheme::Pep440,
        }
    }

    fn verdict(r: &Record, t: &Target) -> Option<Option<String>> {
        match evaluate(r, t) {
            Verdict::Affected { fixed, .. } => Some(fixed),
            Verdict::NotAffected => None,
            Verdict::Unparsable(why) => panic!("unparsable: {why}"),
        }
    }

    #[test]
    fn ranges_follow_the_osv_rules() {
        // Two ranges: [0, 2.20) and [2.25, 2.31]; last_affected is inclusive.
        let r = record(
            "PyPI",
            "Requests",
            vec![
                vec![("introduced", "0"), ("fixed", "2.20.0")],
                vec![("introduced", "2.25.0"), ("last_affected", "2.31.0")],
            ],
            &[],
        );
        assert_eq!(verdict(&r, &pypi("2.19.1")), Some(Some("2.20.0".into())));
        assert_eq!(verdict(&r, &pypi("2.20.0")), None, "fixed is not affected");
        assert_eq!(verdict(&r, &pypi("2.24.0")), None, "between the ranges");
        assert_eq!(verdict(&r, &pypi("2.31.0")), Some(None), "last_affected is");
        assert_eq!(verdict(&r, &pypi("2.31.1")), None);
        // Names by PEP 503; ecosystems exactly.
        let mut other = pypi("2.19.1");
        other.ecosystem = "npm".into();
        assert_eq!(verdict(&r, &other), None);
    }

    #[test]
    fn explicit_versions_limits_and_withdrawn_records() {
        let r = record("PyPI", "requests", vec![], &["2.0.0", "2.1"]);
        assert!(
            verdict(&r, &pypi("2.0")).is_some(),
            "2.0 == 2.0.0 in PEP 440"
        );
        assert!(verdict(&r, &pypi("2.2")).is_none());
        let r = record(
            "PyPI",
            "requests",
            vec![vec![("introduced", "1.0"), ("limit", "1.5")]],
            &[],
        );
        assert!(verdict(&r, &pypi("1.4")).is_some());
        assert!(verdict(&r, &pypi("1.5")).is_none());
        let mut w = record("PyPI", "requests", vec![vec![("introduced", "0")]], &[]);
        assert!(verdict(&w, &pypi("1.0")).is_some());
        w.withdrawn = Some("2026-01-01T00:00:00Z".into());
        assert!(verdict(&w, &pypi("1.0")).is_none());
    }

    #[test]
    fn unparsable_versions_are_never_not_affected() {
        let r = record(
            "PyPI",
            "requests",
            vec![vec![("introduced", "0"), ("fixed", "2.0")]],
            &[],
        );
        assert!(matches!(
            evaluate(&r, &pypi("not!a!version")),
            Verdict::Unparsable(_)
        ));
        let r = record(
            "PyPI",
            "requests",
            vec![vec![("introduced", "0"), ("fixed", "what?")]],
            &[],
        );
        assert!(matches!(evaluate(&r, &pypi("1.0")), Verdict::Unparsable(_)));
    }

    #[test]
    fn rustsec_informational_flags_are_read_from_the_affected_entry() {
        let mut r = record(
            "crates.io",
            "libusb",
            vec![vec![("introduced", "0.0.0-0")]],
            &[],
        );
        assert_eq!(informational(&r, &r.affected[0].clone()), None);
        r.affected[0].database_specific =
            crate::scan::osv::Specific::of(&serde_json::json!({"informational": "unmaintained"}));
        let a = r.affected[0].clone();
        assert_eq!(informational(&r, &a).as_deref(), Some("unmaintained"));
        // `null` (RustSec's vulnerabilities) is not informational.
        r.affected[0].database_specific =
            crate::scan::osv::Specific::of(&serde_json::json!({"informational": null}));
        let a = r.affected[0].clone();
        assert_eq!(informational(&r, &a), None);
    }

    #[test]
    fn targets_per_ecosystem() {
        let debian = Distro {
            id: "debian".into(),
            version_id: Some("12".into()),
            ..Distro::default()
        };
        let mut bash = Package::new(Ecosystem::Deb, "libssl3", "3.0.11-1~deb12u2+b1", "/s", 0);
        bash.source_name = Some("openssl".into());
        bash.source_version = Some("3.0.11-1~deb12u2".into());
        let t = target(&bash, Some(&debian)).unwrap();
        assert_eq!(
            (t.ecosystem.as_str(), t.name.as_str(), t.version.as_str()),
            ("Debian:12", "openssl", "3.0.11-1~deb12u2")
        );
        assert!(target(&bash, None).is_err());
        let alpine = Distro {
            id: "alpine".into(),
            version_id: Some("3.20.3".into()),
            ..Distro::default()
        };
        let mut musl = Package::new(Ecosystem::Apk, "musl-utils", "1.2.5-r0", "/db", 0);
        musl.source_name = Some("musl".into());
        let t = target(&musl, Some(&alpine)).unwrap();
        assert_eq!(
            (t.ecosystem.as_str(), t.name.as_str()),
            ("Alpine:v3.20", "musl")
        );
        let py = Package::new(Ecosystem::PyPI, "Zope.Interface", "5.0", "/m", 0);
        assert_eq!(target(&py, None).unwrap().name, "zope-interface");
        let go = Package::new(Ecosystem::Golang, "stdlib", "1.22.5", "/bin/x", 0);
        assert_eq!(target(&go, None).unwrap().version, "v1.22.5");
        let mut jar = Package::new(Ecosystem::Maven, "log4j-core", "2.14.1", "/a.jar", 0);
        assert!(target(&jar, None).is_err(), "no group, no match");
        jar.namespace = Some("org.apache.logging.log4j".into());
        assert_eq!(
            target(&jar, None).unwrap().name,
            "org.apache.logging.log4j:log4j-core"
        );
    }
}
