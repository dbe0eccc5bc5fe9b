//! What both SBOM writers need from an inventory, computed once: packages
//! in a stable order, each with its purl, a unique reference, and its
//! dependencies resolved to other packages. Sorting here is what makes the
//! same inventory print the same bytes whatever order the catalogers
//! reported it in.

use std::collections::{BTreeMap, BTreeSet};

use super::model::{Ecosystem, Inventory, Package, Subject};
use super::purl;

/// One package, ready to print.
#[derive(Debug)]
pub struct Entry<'a> {
    pub package: &'a Package,
    /// `None` when the package's parts make no valid purl (the catalog
    /// noted it): a component without a purl, never with a broken one.
    pub purl: Option<String>,
    /// Unique among all entries: the purl, or, when several packages share
    /// it (the same npm package in two `node_modules`), the purl and the
    /// path it was found at. A package without a purl is referred to by
    /// `<ecosystem>:<name>@<version>`.
    pub reference: String,
    /// Indices (into the entries) of the packages this one depends on,
    /// sorted, without duplicates or itself.
    pub depends_on: Vec<usize>,
}

/// The inventory's packages, sorted by purl then location, with references
/// and resolved dependencies. `reserved` are references the writer uses for
/// other things (the image, the OS); no entry takes one.
pub fn entries<'a>(inv: &'a Inventory, reserved: &[&str]) -> Vec<Entry<'a>> {
    let distro = inv.distro.as_ref();
    let mut keyed: Vec<(String, Option<String>, String, &Package)> = inv
        .packages
        .iter()
        .map(|p| {
            // Whole-package tiebreak: identical sort keys with different
            // contents still get one order.
            let tiebreak = serde_json::to_string(p).unwrap_or_default();
            let purl = purl::package(p, distro).ok();
            let key = purl.clone().unwrap_or_else(|| {
                let ecosystem = format!("{:?}", p.ecosystem).to_lowercase();
                format!("{ecosystem}:{}@{}", p.full_name(), p.version)
            });
            (key, purl, tiebreak, p)
        })
        .collect();
    keyed.sort_by(|a, b| {
        (&a.0, &a.3.found_at, a.3.layer, &a.2).cmp(&(&b.0, &b.3.found_at, b.3.layer, &b.2))
    });

    let mut per_purl: BTreeMap<&str, usize> = BTreeMap::new();
    for (p, _, _, _) in &keyed {
        *per_purl.entry(p.as_str()).or_default() += 1;
    }
    let mut taken: BTreeSet<String> = reserved.iter().map(|r| r.to_string()).collect();
    let mut out: Vec<Entry<'a>> = Vec::with_capacity(keyed.len());
    for (key, purl, _, package) in &keyed {
        let base = if per_purl.get(key.as_str()).copied().unwrap_or(0) > 1 {
            format!("{key}|{}", package.found_at)
        } else {
            key.clone()
        };
        let mut reference = base.clone();
        let mut n = 1;
        while taken.contains(&reference) {
            n += 1;
            reference = format!("{base}|{n}");
        }
        taken.insert(reference.clone());
        out.push(Entry {
            package,
            purl: purl.clone(),
            reference,
            depends_on: Vec::new(),
        });
    }

    let resolved: Vec<Vec<usize>> = {
        let index = NameIndex::new(&out);
        (0..out.len()).map(|i| index.resolve(&out, i)).collect()
    };
    for (entry, deps) in out.iter_mut().zip(resolved) {
        entry.depends_on = deps;
    }
    out
}

/// How packages of one ecosystem name each other, for matching
/// `depends_on` entries: case-insensitive where the ecosystem is.
fn name_key(ecosystem: Ecosystem, name: &str) -> String {
    match ecosystem {
        Ecosystem::PyPI => purl::pep503(name),
        Ecosystem::Deb | Ecosystem::Apk => name.to_lowercase(),
        _ => name.to_string(),
    }
}

fn full_name(p: &Package) -> Option<String> {
    let ns = p.namespace.as_deref().filter(|n| !n.is_empty())?;
    Some(match p.ecosystem {
        Ecosystem::Npm => format!("@{}/{}", ns.trim_start_matches('@'), p.name),
        Ecosystem::Maven => format!("{ns}:{}", p.name),
        _ => format!("{ns}/{}", p.name),
    })
}

struct NameIndex {
    by_name: BTreeMap<(Ecosystem, String), Vec<usize>>,
}

impl NameIndex {
    fn new(entries: &[Entry<'_>]) -> NameIndex {
        let mut by_name: BTreeMap<(Ecosystem, String), Vec<usize>> = BTreeMap::new();
        for (i, e) in entries.iter().enumerate() {
            let p = e.package;
            let mut names = vec![name_key(p.ecosystem, &p.name)];
            names.extend(full_name(p).map(|n| name_key(p.ecosystem, &n)));
            names.dedup();
            for n in names {
                by_name.entry((p.ecosystem, n)).or_default().push(i);
            }
        }
        NameIndex { by_name }
    }

    /// A `depends_on` entry is a name (`libc6`, `requests`, `@babel/core`),
    /// possibly pinned to a version (`serde@1.0.200`: binary catalogers
    /// know exactly which). Among several candidates the one found through
    /// the same file wins, then the one whose path shares the longest
    /// prefix (the nearest `node_modules`), then the first in sort order.
    /// Names that match nothing are dropped.
    fn resolve(&self, entries: &[Entry<'_>], from: usize) -> Vec<usize> {
        let me = entries[from].package;
        let mut out = BTreeSet::new();
        for dep in &me.depends_on {
            let Some((name, version)) = split_dependency(me.ecosystem, dep) else {
                continue;
            };
            let Some(candidates) = self
                .by_name
                .get(&(me.ecosystem, name_key(me.ecosystem, name)))
            else {
                continue;
            };
            let best = candidates
                .iter()
                .copied()
                .filter(|&i| i != from)
                .filter(|&i| version.is_none_or(|v| entries[i].package.version == v))
                .max_by_key(|&i| {
                    let found_at = &entries[i].package.found_at;
                    (
                        *found_at == me.found_at,
                        common_prefix(found_at, &me.found_at),
                        std::cmp::Reverse(i),
                    )
                });
            out.extend(best);
        }
        out.into_iter().collect()
    }
}

/// `name`, `name@version`, and, from package databases, `name (>= 1)` or
/// `name:any` forms reduced to the name.
fn split_dependency(ecosystem: Ecosystem, dep: &str) -> Option<(&str, Option<&str>)> {
    let mut token = dep.split_whitespace().next()?;
    if matches!(ecosystem, Ecosystem::Deb) {
        token = token.split(':').next().unwrap_or(token);
    }
    match token.rfind('@') {
        Some(at) if at > 0 => Some((&token[..at], Some(&token[at + 1..]))),
        _ => Some((token, None)),
    }
}

fn common_prefix(a: &str, b: &str) -> usize {
    a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count()
}

/// The layer digest a package came from, when the subject lists it.
pub fn layer_digest(subject: &Subject, layer: usize) -> Option<&str> {
    subject.layers.get(layer).map(String::as_str)
}

/// `created` as `YYYY-MM-DDThh:mm:ssZ` (UTC, whole seconds): the form
/// SPDX 2.3 requires and CycloneDX accepts. Text that is not an RFC 3339
/// timestamp is passed through.
pub fn timestamp(created: &str) -> String {
    match created.trim().parse::<jiff::Timestamp>() {
        Ok(ts) => ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        Err(_) => created.to_string(),
    }
}

/// The wharf version writers name as the tool.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");
