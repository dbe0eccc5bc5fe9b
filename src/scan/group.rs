//! One finding per vulnerability: the records that name each other are one
//! vulnerability, reported once per installed package with all their ids.
//!
//! osv.dev publishes the same vulnerability several times: PyPA's
//! `PYSEC-…`, GitHub's `GHSA-…` and the `CVE-…` both alias; Go's `GO-…`
//! aliases a `GHSA-…`; Debian's `DSA-…`/`DLA-…` and `DEBIAN-CVE-…` name the
//! CVE as their `upstream`. Matched separately, each would be a finding of
//! its own, so one vulnerability would count twice against the gate and
//! show twice in every report.
//!
//! Records group as osv-scanner groups them (`internal/grouper`): two
//! records of one package are one vulnerability when an id of one is an
//! alias of the other, or they share an alias; `upstream` counts as an
//! alias, and so does `related` for Ubuntu's `USN-…`. Unlike osv-scanner's
//! pairwise pass, the grouping here is fully transitive (a union-find), so
//! the order records come in never splits a group.
//!
//! A group is shown under its first id in osv-scanner's order (`DSA`/`USN`,
//! then `CVE`, then the others, `GHSA` last; ties by text) and carries:
//! * every record id (`ids`) and every other alias (`aliases`);
//! * the most severe rating of its records, where a rating is a CVSS score
//!   or a GitHub label; a Debian urgency only where no record has either
//!   (urgency is a triage priority, not a severity), a CVSS v2 score last;
//! * the fixed version that fixes every record that names one (the highest
//!   of their fixed versions), since upgrading to a lower one leaves a
//!   record of the group still matching;
//! * the summary of the first record that has one, references of all.

use std::collections::BTreeMap;

use super::finding::{Finding, Severity};
use super::version::{self, Scheme};

/// A finding for one record, with what links it to the other records.
#[derive(Debug, Clone)]
pub struct Matched {
    pub finding: Finding,
    /// The record's aliases and upstream ids (and `related` for USN).
    pub links: Vec<String>,
    pub scheme: Scheme,
}

/// The record's links: aliases, upstream, and for USN its related ids.
pub fn links(record: &super::osv::Record) -> Vec<String> {
    let mut out = record.aliases.clone();
    out.extend(record.upstream.iter().cloned());
    if prefix(&record.id) == "USN" {
        out.extend(record.related.iter().cloned());
    }
    out
}

fn prefix(id: &str) -> &str {
    id.split('-').next().unwrap_or(id)
}

/// osv-scanner's id order: DSA and USN first, then CVE, then the others,
/// GHSA last; within a rank, by text.
pub fn id_order(a: &str, b: &str) -> std::cmp::Ordering {
    let rank = |id: &str| match prefix(id) {
        "DSA" | "USN" => 0,
        "CVE" => 1,
        "GHSA" => 3,
        _ => 2,
    };
    rank(a).cmp(&rank(b)).then_with(|| a.cmp(b))
}

/// How much a rating is worth when the group is rated: a score or label
/// beats an urgency, which beats CVSS v2, which beats nothing.
fn weight(f: &Finding) -> u8 {
    let source = f.severity_source.as_str();
    if f.severity == Severity::Unknown {
        0
    } else if source.starts_with("CVSS_V2") {
        1
    } else if source.starts_with("Debian urgency") {
        2
    } else {
        3
    }
}

/// Groups the findings of each installed package (same package, version,
/// location and ecosystem) by alias. Order of the result: by package as
/// first seen, then by the group's id.
pub fn group(matched: Vec<Matched>) -> Vec<Finding> {
    type Key = (String, String, Option<String>, String);
    let mut per_package: Vec<(Key, Vec<Matched>)> = Vec::new();
    let mut at: BTreeMap<Key, usize> = BTreeMap::new();
    for m in matched {
        let f = &m.finding;
        let key = (
            f.package.clone(),
            f.installed.clone(),
            f.found_at.clone(),
            f.ecosystem.clone(),
        );
        match at.get(&key) {
            Some(&i) => per_package[i].1.push(m),
            None => {
                at.insert(key.clone(), per_package.len());
                per_package.push((key, vec![m]));
            }
        }
    }
    let mut out = Vec::new();
    for (_, members) in per_package {
        let mut groups = components(&members);
        let mut merged: Vec<Finding> = groups
            .iter_mut()
            .map(|g| merge(g.iter().map(|&i| &members[i]).collect()))
            .collect();
        merged.sort_by(|a, b| id_order(&a.id, &b.id));
        out.extend(merged);
    }
    out
}

/// The connected components of "shares an id or alias", as member indices.
fn components(members: &[Matched]) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = (0..members.len()).collect();
    fn find(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    // Every name (id or link) → the first member that carries it.
    let mut owner: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, m) in members.iter().enumerate() {
        for name in std::iter::once(&m.finding.id).chain(&m.links) {
            match owner.get(name.as_str()) {
                Some(&j) => {
                    let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                    if a != b {
                        parent[a.max(b)] = a.min(b);
                    }
                }
                None => {
                    owner.insert(name, i);
                }
            }
        }
    }
    let mut by_root: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..members.len() {
        let root = find(&mut parent, i);
        by_root.entry(root).or_default().push(i);
    }
    by_root.into_values().collect()
}

fn merge(mut members: Vec<&Matched>) -> Finding {
    members.sort_by(|a, b| id_order(&a.finding.id, &b.finding.id));
    let first = &members[0].finding;
    if members.len() == 1 {
        let mut f = first.clone();
        f.ids = vec![f.id.clone()];
        return f;
    }
    let ids: Vec<String> = members.iter().map(|m| m.finding.id.clone()).collect();
    let mut aliases: Vec<String> = members
        .iter()
        .flat_map(|m| m.finding.aliases.iter().chain(&m.links))
        .filter(|a| !ids.contains(a))
        .cloned()
        .collect();
    aliases.sort_by(|a, b| id_order(a, b));
    aliases.dedup();

    // The best rating: heaviest kind, then most severe, then highest score.
    let rated = members
        .iter()
        .map(|m| &m.finding)
        .max_by(|a, b| {
            weight(a)
                .cmp(&weight(b))
                .then_with(|| b.severity.cmp(&a.severity))
                .then_with(|| {
                    a.score
                        .unwrap_or(-1.0)
                        .partial_cmp(&b.score.unwrap_or(-1.0))
                        .unwrap_or(std::cmp::Ordering::Equal)
                })
                // On a full tie, the first in id order.
                .then_with(|| id_order(&b.id, &a.id))
        })
        .unwrap_or(first);

    let scheme = members[0].scheme;
    let fixed = members
        .iter()
        .filter_map(|m| m.finding.fixed.as_deref())
        .fold(None::<&str>, |best, f| match best {
            None => Some(f),
            Some(b) => match version::compare(scheme, f, b) {
                Ok(std::cmp::Ordering::Greater) => Some(f),
                _ => Some(b),
            },
        })
        .map(str::to_string);

    let mut references: Vec<String> = Vec::new();
    for m in &members {
        for r in &m.finding.references {
            if !references.contains(r) {
                references.push(r.clone());
            }
        }
    }

    let mut f = first.clone();
    f.summary = members.iter().find_map(|m| m.finding.summary.clone());
    f.severity = rated.severity;
    f.score = rated.score;
    f.severity_source = if rated.severity == Severity::Unknown {
        "none (no record of the group is rated)".to_string()
    } else {
        format!("{} ({})", rated.severity_source, rated.id)
    };
    f.fixed = fixed;
    f.references = references;
    f.ids = ids;
    f.aliases = aliases;
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(
        id: &str,
        links: &[&str],
        severity: Severity,
        source: &str,
        fixed: Option<&str>,
    ) -> Matched {
        Matched {
            finding: Finding {
                id: id.into(),
                ids: vec![id.into()],
                aliases: links.iter().map(|s| s.to_string()).collect(),
                summary: None,
                package: "django".into(),
                matched_name: "django".into(),
                ecosystem: "PyPI".into(),
                purl: "pkg:pypi/django@3.2".into(),
                installed: "3.2".into(),
                fixed: fixed.map(str::to_string),
                severity,
                score: None,
                severity_source: source.into(),
                layer: Some(0),
                found_at: Some(
                    "/usr/lib/python3/dist-packages/Django-3.2.dist-info/METADATA".into(),
                ),
                suppressed: None,
                references: vec![format!("https://osv.dev/{id}")],
            },
            links: links.iter().map(|s| s.to_string()).collect(),
            scheme: Scheme::Pep440,
        }
    }

    #[test]
    fn aliases_make_one_vulnerability_rated_by_its_best_record() {
        let out = group(vec![
            m(
                "PYSEC-2021-9",
                &["CVE-2021-1", "GHSA-aaaa-bbbb-cccc"],
                Severity::Unknown,
                "none",
                Some("3.2.1"),
            ),
            m(
                "GHSA-aaaa-bbbb-cccc",
                &["CVE-2021-1"],
                Severity::High,
                "CVSS_V3 x",
                Some("3.2.2"),
            ),
            m(
                "PYSEC-2021-10",
                &["CVE-2021-2"],
                Severity::Unknown,
                "none",
                None,
            ),
        ]);
        assert_eq!(out.len(), 2, "{out:#?}");
        let g = out.iter().find(|f| f.ids.len() == 2).unwrap();
        // osv-scanner's order: GHSA last.
        assert_eq!(g.id, "PYSEC-2021-9");
        assert_eq!(g.ids, ["PYSEC-2021-9", "GHSA-aaaa-bbbb-cccc"]);
        assert_eq!(g.aliases, ["CVE-2021-1"]);
        assert_eq!(g.severity, Severity::High);
        assert_eq!(g.severity_source, "CVSS_V3 x (GHSA-aaaa-bbbb-cccc)");
        assert_eq!(g.fixed.as_deref(), Some("3.2.2"), "the fix of every record");
        assert_eq!(g.references.len(), 2);
        let alone = out.iter().find(|f| f.id == "PYSEC-2021-10").unwrap();
        assert_eq!(alone.ids, ["PYSEC-2021-10"]);
        assert_eq!(alone.severity, Severity::Unknown);
    }

    #[test]
    fn grouping_is_transitive_whatever_the_order() {
        // A and C share nothing directly; B links both.
        let a = m(
            "GO-2022-1",
            &["GHSA-1111-1111-1111"],
            Severity::Unknown,
            "none",
            None,
        );
        let b = m(
            "GHSA-1111-1111-1111",
            &["CVE-2022-5"],
            Severity::Medium,
            "GHSA label MODERATE",
            None,
        );
        let c = m(
            "PYSEC-2022-3",
            &["CVE-2022-5"],
            Severity::Unknown,
            "none",
            None,
        );
        for order in [[&a, &c, &b], [&c, &a, &b], [&b, &c, &a]] {
            let out = group(order.iter().map(|x| (*x).clone()).collect());
            assert_eq!(out.len(), 1, "{out:#?}");
            assert_eq!(
                out[0].ids,
                ["GO-2022-1", "PYSEC-2022-3", "GHSA-1111-1111-1111"]
            );
        }
    }

    #[test]
    fn an_urgency_counts_only_where_nothing_else_rates_the_group() {
        let out = group(vec![
            m(
                "DEBIAN-CVE-2023-1",
                &["CVE-2023-1"],
                Severity::High,
                "Debian urgency high",
                None,
            ),
            m(
                "DSA-5000-1",
                &["CVE-2023-1"],
                Severity::Low,
                "CVSS_V3 y",
                None,
            ),
        ]);
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].id, "DSA-5000-1",
            "DSA first, as osv-scanner shows it"
        );
        assert_eq!(out[0].severity, Severity::Low);
        let out = group(vec![
            m(
                "DEBIAN-CVE-2023-1",
                &["CVE-2023-1"],
                Severity::High,
                "Debian urgency high",
                None,
            ),
            m("DLA-1-1", &["CVE-2023-1"], Severity::Unknown, "none", None),
        ]);
        assert_eq!(out[0].severity, Severity::High);
        assert_eq!(
            out[0].severity_source,
            "Debian urgency high (DEBIAN-CVE-2023-1)"
        );
    }

    #[test]
    fn other_packages_never_group() {
        let mut other = m(
            "GHSA-aaaa-bbbb-cccc",
            &["CVE-2021-1"],
            Severity::High,
            "CVSS_V3 x",
            None,
        );
        other.finding.package = "jinja2".into();
        let out = group(vec![
            m(
                "PYSEC-2021-9",
                &["CVE-2021-1"],
                Severity::Unknown,
                "none",
                None,
            ),
            other,
        ]);
        assert_eq!(out.len(), 2);
    }
}
