//! Version order per OSV ecosystem. Matching asks one question of these
//! types — "is the installed version inside this range?" — and the answer is
//! only as good as the ecosystem's own order: dpkg's for Debian, apk's for
//! Alpine, rpm's for Red Hat and SUSE, PEP 440 for PyPI, SemVer for npm,
//! crates.io and Go, Maven's `ComparableVersion` for Maven.
//!
//! dpkg, PEP 440 and SemVer come from crates (`debversion`, `pep440_rs`,
//! `semver`); apk, rpm and Maven are ours (`apk.rs`, `rpm.rs`, `maven.rs`),
//! written from the ecosystems' specifications and their documented
//! behaviour, and tested on the shared vectors.
//!
//! A version that cannot be read is an error, never "0" and never "not
//! vulnerable": the matcher reports it. Numbers are compared as digit
//! strings, so a 10,000-digit component costs a string comparison, not an
//! overflow.

mod apk;
mod maven;
mod rpm;

#[cfg(test)]
mod tests;

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// The version order of an OSV ecosystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Dpkg,
    Apk,
    Rpm,
    Pep440,
    SemVer,
    Go,
    Maven,
}

impl Scheme {
    /// For an OSV ecosystem string: "Debian:12"/"Debian"/"Ubuntu:22.04" → Dpkg,
    /// "Alpine:v3.20"/"Wolfi"/"Chainguard" → Apk, "Red Hat"/"Rocky Linux:9"/
    /// "AlmaLinux"/"openSUSE"/"SUSE" → Rpm, "PyPI" → Pep440, "npm"/"crates.io"
    /// → SemVer, "Go" → Go, "Maven" → Maven; None otherwise.
    ///
    /// The part after the first `:` (a release) does not change the order.
    pub fn for_ecosystem(ecosystem: &str) -> Option<Scheme> {
        let base = ecosystem.split(':').next().unwrap_or(ecosystem);
        match base {
            "Debian" | "Ubuntu" => Some(Scheme::Dpkg),
            "Alpine" | "Wolfi" | "Chainguard" => Some(Scheme::Apk),
            "Red Hat" | "Rocky Linux" | "AlmaLinux" | "openSUSE" | "SUSE" => Some(Scheme::Rpm),
            "PyPI" => Some(Scheme::Pep440),
            "npm" | "crates.io" => Some(Scheme::SemVer),
            "Go" => Some(Scheme::Go),
            "Maven" => Some(Scheme::Maven),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Dpkg => "dpkg",
            Scheme::Apk => "apk",
            Scheme::Rpm => "rpm",
            Scheme::Pep440 => "PEP 440",
            Scheme::SemVer => "SemVer",
            Scheme::Go => "Go",
            Scheme::Maven => "Maven",
        }
    }

    /// Position in the declaration, for ordering versions of different schemes.
    fn rank(self) -> u8 {
        match self {
            Scheme::Dpkg => 0,
            Scheme::Apk => 1,
            Scheme::Rpm => 2,
            Scheme::Pep440 => 3,
            Scheme::SemVer => 4,
            Scheme::Go => 5,
            Scheme::Maven => 6,
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A version that could not be read: which text, under which scheme, why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{scheme} version {text:?} cannot be read: {reason}")]
pub struct VersionError {
    scheme: Scheme,
    /// The input, shortened to 200 characters so that a hostile version
    /// cannot flood a report.
    text: String,
    reason: String,
}

impl VersionError {
    fn new(scheme: Scheme, text: &str, reason: impl Into<String>) -> VersionError {
        const MAX: usize = 200;
        let text = if text.chars().count() > MAX {
            let mut short: String = text.chars().take(MAX).collect();
            short.push('…');
            short
        } else {
            text.to_string()
        };
        VersionError {
            scheme,
            text,
            reason: reason.into(),
        }
    }

    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The version text (shortened if it was very long).
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// A parsed version, comparable with others of the same scheme.
///
/// `Eq` is the scheme's equality, not string equality: `1.0.0+a` equals
/// `1.0.0+b` under SemVer, `1.0` equals `1.0-0` under dpkg. Versions of
/// different schemes are ordered by scheme first; that order means nothing
/// and only keeps `Ord` total.
#[derive(Debug, Clone)]
pub struct Version {
    text: String,
    scheme: Scheme,
    key: Key,
}

#[derive(Debug, Clone)]
enum Key {
    Dpkg(debversion::Version),
    Apk(apk::ApkVersion),
    Rpm(rpm::RpmVersion),
    Pep440(pep440_rs::Version),
    /// Build metadata cleared: it never takes part in the order.
    SemVer(semver::Version),
    Maven(maven::MavenVersion),
}

impl Version {
    pub fn parse(scheme: Scheme, text: &str) -> Result<Version, VersionError> {
        let err = |reason: String| VersionError::new(scheme, text, reason);
        if text.is_empty() {
            return Err(err("empty version".into()));
        }
        if let Some(c) = text.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(err(format!("contains {c:?}")));
        }
        let key = match scheme {
            Scheme::Dpkg => Key::Dpkg(parse_dpkg(text).map_err(err)?),
            Scheme::Apk => Key::Apk(apk::ApkVersion::parse(text).map_err(err)?),
            Scheme::Rpm => Key::Rpm(rpm::RpmVersion::parse(text)),
            Scheme::Pep440 => Key::Pep440(parse_pep440(text).map_err(err)?),
            Scheme::SemVer => Key::SemVer(parse_semver(strip_npm_prefix(text)).map_err(err)?),
            Scheme::Go => Key::SemVer(parse_semver(strip_go_prefix(text)).map_err(err)?),
            Scheme::Maven => Key::Maven(maven::MavenVersion::parse(text)),
        };
        Ok(Version {
            text: text.to_string(),
            scheme,
            key,
        })
    }

    /// The text as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn scheme(&self) -> Scheme {
        self.scheme
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        match (&self.key, &other.key) {
            (Key::Dpkg(a), Key::Dpkg(b)) => a.cmp(b),
            (Key::Apk(a), Key::Apk(b)) => a.cmp(b),
            (Key::Rpm(a), Key::Rpm(b)) => a.cmp(b),
            (Key::Pep440(a), Key::Pep440(b)) => a.cmp(b),
            (Key::SemVer(a), Key::SemVer(b)) if self.scheme == other.scheme => a.cmp(b),
            (Key::Maven(a), Key::Maven(b)) => a.cmp(b),
            _ => self.scheme.rank().cmp(&other.scheme.rank()),
        }
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

/// Compare two version strings of one scheme.
pub fn compare(scheme: Scheme, a: &str, b: &str) -> Result<Ordering, VersionError> {
    Ok(Version::parse(scheme, a)?.cmp(&Version::parse(scheme, b)?))
}

/// Compare two strings of ASCII digits as the numbers they spell, without
/// parsing them (any length, leading zeros allowed).
pub(crate) fn cmp_digits(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// dpkg's hard syntax errors (lib/dpkg/parsehelp.c `parseversion`); what it
/// only warns about (a non-digit first character, odd characters), the
/// `debversion` grammar decides.
fn parse_dpkg(text: &str) -> Result<debversion::Version, String> {
    if let Some((epoch, rest)) = text.split_once(':') {
        if epoch.is_empty() {
            return Err("epoch is empty".into());
        }
        if !epoch.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("epoch {epoch:?} is not a number"));
        }
        if rest.is_empty() {
            return Err("nothing after the epoch".into());
        }
    }
    if text.ends_with('-') {
        return Err("revision is empty".into());
    }
    if text.starts_with('-') || text.contains(":-") {
        return Err("upstream version is empty".into());
    }
    let mut v = debversion::Version::from_str(text).map_err(|e| {
        let e = e.to_string();
        if e.contains("epoch") {
            // `debversion` keeps the epoch in a u32, as dpkg does.
            "epoch is too big".to_string()
        } else {
            "not a Debian version ([epoch:]upstream[-revision] of A-Za-z0-9.+~-)".to_string()
        }
    })?;
    // dpkg reads a missing digit run as 0 (`2~ = 2~0`, `1. = 1.0`);
    // `debversion` 0.5 orders it before 0, which dpkg's oracle caught
    // (`2~0-0.1~ < 2~-10`). A digit run can only be missing at the end of
    // the string, so spelling that 0 out gives dpkg's order.
    fill_final_digits(&mut v.upstream_version);
    if let Some(revision) = v.debian_revision.as_mut() {
        fill_final_digits(revision);
    }
    Ok(v)
}

fn fill_final_digits(part: &mut String) {
    if part.ends_with(|c: char| !c.is_ascii_digit()) {
        part.push('0');
    }
}

fn parse_pep440(text: &str) -> Result<pep440_rs::Version, String> {
    let v = pep440_rs::Version::from_str(text).map_err(|e| e.to_string())?;
    // pep440_rs uses u64::MAX as "no dev/post release" in its sort key; a
    // version that spells that number would sort as if it were absent.
    if v.dev() == Some(u64::MAX) || v.post() == Some(u64::MAX) {
        return Err("number too large".into());
    }
    Ok(v)
}

/// npm: node-semver's loose prefix (`v`, `=`, `=v`). The OSV records have
/// none; lockfiles and `package.json` `version` fields sometimes do.
fn strip_npm_prefix(text: &str) -> &str {
    let t = text.strip_prefix('=').unwrap_or(text);
    t.strip_prefix('v').unwrap_or(t)
}

/// Go module versions carry a `v` (`v1.2.3`, `v0.0.0-2023…-abcdef`); the Go
/// vulnerability database's OSV records drop it (`"fixed": "1.6.0"`), so it
/// is optional here.
fn strip_go_prefix(text: &str) -> &str {
    text.strip_prefix('v').unwrap_or(text)
}

fn parse_semver(text: &str) -> Result<semver::Version, String> {
    let mut v = semver::Version::parse(text).map_err(|e| e.to_string())?;
    v.build = semver::BuildMetadata::EMPTY;
    Ok(v)
}
