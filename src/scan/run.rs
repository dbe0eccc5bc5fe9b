//! `wharf scan`: the inventory (from the image, or `--sbom`), the records
//! that name its packages, the findings, what suppresses which, the gate,
//! and the report.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::db::{Db, Source};
use super::finding::{Finding, NotScanned, Severity, Suppression};
use super::group;
use super::ignore::IgnoreFile;
use super::matcher::{self, Verdict};
use super::report::{self, DbSummary, Format, Gate, ScanReport};
use super::vex::Vex;
use crate::cli::ScanArgs;
use crate::config::Global;
use crate::registry::{ImageRef, Platform, RegistryClient};
use crate::sbom::model::{Ecosystem, Inventory};
use crate::{Error, Outcome, Result};

/// `--fail-on` as a threshold: `None` never fails.
pub(crate) fn threshold(flag: &str) -> Result<Option<Severity>> {
    match flag.to_ascii_lowercase().as_str() {
        "critical" => Ok(Some(Severity::Critical)),
        "high" => Ok(Some(Severity::High)),
        "medium" | "moderate" => Ok(Some(Severity::Medium)),
        "low" => Ok(Some(Severity::Low)),
        "none" => Ok(None),
        other => Err(Error::Usage(format!(
            "--fail-on {other:?}: use critical, high, medium, low or none"
        ))),
    }
}

/// Whether `severity` reaches the threshold. `low` means "anything",
/// UNKNOWN included: a finding nobody rated is not a pass.
pub fn fails(severity: Severity, threshold: Option<Severity>) -> bool {
    match threshold {
        None => false,
        Some(Severity::Low) => true,
        Some(t) => severity != Severity::Unknown && severity <= t,
    }
}

/// `7d`, `48h`, `90` (days) as days.
pub(crate) fn days(flag: &str, text: &str) -> Result<f64> {
    let t = text.trim();
    let (num, unit) = match t.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => (&t[..i], &t[i..]),
        None => (t, "d"),
    };
    let n: f64 = num.parse().map_err(|_| {
        Error::Usage(format!(
            "{flag} {text:?}: write a number of days (7d) or hours (48h)"
        ))
    })?;
    match unit {
        "d" => Ok(n),
        "h" => Ok(n / 24.0),
        "w" => Ok(n * 7.0),
        _ => Err(Error::Usage(format!(
            "{flag} {text:?}: the unit is d, h or w"
        ))),
    }
}

/// Runs `wharf scan`.
pub fn run(global: &Global, args: &ScanArgs) -> Result<Outcome> {
    scan(global, args, &[])
}

/// Runs `wharf scan`, and also writes the same report in each of `also`'s
/// formats to its file (`wharf run`: JSON, SARIF and the vuln predicate
/// from one match).
pub fn scan(global: &Global, args: &ScanArgs, also: &[(&str, &Path)]) -> Result<Outcome> {
    let fail_on = threshold(&args.fail_on)?;
    let format: Format = args
        .format
        .parse()
        .map_err(|e| Error::Usage(format!("--format: {e}")))?;
    let also = also
        .iter()
        .map(|(f, path)| {
            f.parse::<Format>()
                .map(|f| (f, *path))
                .map_err(|e| Error::Usage(format!("--format: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let ignore = IgnoreFile::load(args.ignore_file.as_deref())?;
    let vex = args.vex.as_deref().map(Vex::load).transpose()?;
    let max_age = args
        .max_db_age
        .as_deref()
        .map(|t| days("--max-db-age", t))
        .transpose()?;
    let warn_age = days("--db-age-warning", &args.db_age_warning)?;

    let mut not_scanned: Vec<NotScanned> = Vec::new();
    let (inventory, image, digest, image_purl) = match (&args.image, &args.sbom) {
        (Some(image), None) => {
            let image_ref = ImageRef::parse(image)?;
            let platform = Platform::from_flag(args.platform.as_deref())?;
            let client = RegistryClient::new(global).map_err(Error::Usage)?;
            let found = crate::runtime()?.block_on(crate::sbom::inventory(
                &client,
                &image_ref,
                platform.as_ref(),
            ))?;
            for note in &found.inventory.notes {
                crate::report::warn(note);
            }
            let purl = crate::sbom::purl::image(&found.subject);
            (
                found.inventory,
                Some(image.clone()),
                Some(found.subject.digest),
                Some(purl),
            )
        }
        (None, Some(path)) => {
            let input = super::sbom_input::read(path)?;
            not_scanned = input.not_scanned;
            (input.inventory, input.name, input.digest, None)
        }
        (Some(_), Some(_)) => {
            return Err(Error::Usage(
                "give an IMAGE or --sbom FILE, not both".into(),
            ))
        }
        (None, None) => {
            return Err(Error::Usage(
                "what to scan: an IMAGE (REG/REPO:TAG, oci:DIR) or --sbom FILE".into(),
            ))
        }
    };

    super::db::update::ensure_for(global, args, &inventory)?;
    let db = Db::open(&Source::from_flag(args.db.as_deref())?)?;
    let info = db.info();
    let now = jiff::Timestamp::now();
    let age_days = info.age(now).map(|d| d.as_secs_f64() / 86400.0);
    if let (Some(max), Some(age)) = (max_age, age_days) {
        if age > max {
            return Err(Error::Usage(format!(
                "the vulnerability data ({}) is {:.0} days old, older than --max-db-age {max} days; \
                 fetch fresh data with `wharf db update` (or `wharf db import`)",
                info.source,
                age.floor()
            )));
        }
    }
    if age_days.is_some_and(|a| a > warn_age) {
        crate::report::warn(&format!(
            "the vulnerability data ({}) is {:.0} days old; findings published since are missing \
             (fetch fresh data with `wharf db update`, or `wharf db import`)",
            info.source,
            age_days.unwrap_or_default().floor()
        ));
    }
    if info.records == 0 {
        crate::report::warn(&format!(
            "the vulnerability data ({}) holds no records: nothing can be found",
            info.source
        ));
    }

    for w in db.warnings() {
        crate::report::warn(&w);
    }
    let started = jiff::Timestamp::now();
    let (mut findings, informational, unparsable, skipped) = match_all(&db, &inventory)?;
    not_scanned.extend(skipped);
    let incomplete = derived_names(&inventory);
    for n in &incomplete {
        crate::report::warn(&format!(
            "{} scanned under a derived name: {} ({})",
            super::report::plural(n.packages.len(), "package", "packages"),
            n.reason,
            n.some(5)
        ));
    }
    for n in &not_scanned {
        crate::report::warn(&format!(
            "{} not scanned: {} ({})",
            super::report::plural(n.packages.len(), "package", "packages"),
            n.reason,
            n.some(5)
        ));
    }

    // Suppressions: VEX statements, then the ignore file, then --ignore-unfixed.
    let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
    for f in &mut findings {
        if let Some(s) = vex
            .as_ref()
            .and_then(|v| v.suppressing(f, image_purl.as_deref()))
        {
            f.suppressed = Some(Suppression {
                by: "vex".into(),
                reason: s.describe(),
            });
        } else if let Some(e) = ignore.ignoring(f, today) {
            f.suppressed = Some(Suppression {
                by: "ignore-file".into(),
                reason: format!("{} ({}:{})", e.reason, ignore.path.display(), e.line),
            });
        } else if args.ignore_unfixed && f.fixed.is_none() {
            f.suppressed = Some(Suppression {
                by: "unfixed".into(),
                reason: "no fixed version yet (--ignore-unfixed)".into(),
            });
        }
    }
    let expired_ignores = ignore
        .expired(today)
        .iter()
        .map(|e| format!("{}:{}: {}", ignore.path.display(), e.line, e.describe()))
        .collect::<Vec<_>>();
    for e in &expired_ignores {
        crate::report::warn(&format!("expired ignore entry, no longer ignoring: {e}"));
    }
    let counted = findings
        .iter()
        .filter(|f| f.suppressed.is_none() && fails(f.severity, fail_on))
        .count();
    let report = ScanReport {
        image,
        digest,
        db: DbSummary {
            source: info.source.clone(),
            records: info.records,
            newest_modified: info.newest_modified.map(|t| t.to_string()),
            age_days: age_days.map(|a| a.max(0.0).floor() as u64),
        },
        findings,
        informational,
        unparsable,
        expired_ignores,
        gate: Gate {
            fail_on,
            failed: counted > 0,
            counting: counted,
        },
        packages: inventory.packages.len(),
        not_scanned,
        incomplete,
        started,
        finished: jiff::Timestamp::now(),
    };
    let colour = args.output.is_none() && crate::report::stdout_is_terminal();
    let text = report::render(&report, format, colour);
    match &args.output {
        Some(path) => crate::fsutil::write_file(path, text.as_bytes())
            .map_err(|e| Error::file(path, format!("cannot write the report: {e}")))?,
        None => crate::report::out(text.trim_end()),
    }
    for (format, path) in also {
        let text = report::render(&report, format, false);
        crate::fsutil::write_file(path, text.as_bytes())
            .map_err(|e| Error::file(path, format!("cannot write the report: {e}")))?;
    }
    Ok(if report.gate.failed {
        Outcome::PolicyNo
    } else {
        Outcome::Ok
    })
}

/// The packages looked up under a name wharf derived, by why: the jars
/// whose Maven group no pom.properties states (the SBOM's
/// `maven.group_from` says where it came from instead).
pub fn derived_names(inventory: &Inventory) -> Vec<NotScanned> {
    use crate::sbom::model::maven::{FROM_POM, GROUP_FROM};
    let mut out = Vec::new();
    for p in inventory
        .packages
        .iter()
        .filter(|p| p.ecosystem == Ecosystem::Maven)
    {
        let Some(from) = p.properties.get(GROUP_FROM).filter(|f| *f != FROM_POM) else {
            continue;
        };
        let reason = if from == "artifact-id" {
            "the jar states no Maven group (no pom.properties, nothing in its manifest or \
             classes): its artifactId stands in for it, as Maven 1 published most such jars; \
             give the scan an SBOM with the jar's real coordinates to be sure"
                .to_string()
        } else {
            format!(
                "the jar has no pom.properties: its Maven group comes from {from}, which may \
                 not be the group it is published under"
            )
        };
        NotScanned::add(
            &mut out,
            &reason,
            format!("{}@{} ({})", p.full_name(), p.version, p.found_at),
        );
    }
    for n in &mut out {
        n.packages.sort();
    }
    out
}

type Matched = (
    Vec<Finding>,
    Vec<Finding>,
    Vec<super::finding::Unparsable>,
    Vec<NotScanned>,
);

/// Every vulnerability that affects an installed package: the matching
/// records, grouped by alias ([`group`]); informational records apart.
pub fn match_all(db: &Db, inventory: &Inventory) -> Result<Matched> {
    let distro = inventory.distro.as_ref();
    let mut matched = Vec::new();
    let mut informational = Vec::new();
    let mut unparsable = Vec::new();
    let mut skipped: Vec<NotScanned> = Vec::new();
    // Records per full ecosystem (`Debian:12`), and the ecosystems downloaded
    // whole even where they hold no record.
    let with_records = db.info().per_ecosystem;
    let downloaded = db.ecosystems_with_data();
    let has_data = |ecosystem: &str| {
        with_records.contains_key(ecosystem)
            || (!ecosystem.contains(':') && downloaded.contains(ecosystem))
    };
    let targets: Vec<_> = inventory
        .packages
        .iter()
        .map(|pkg| matcher::target(pkg, distro))
        .collect();
    // Each looked-up package's verdicts, worked out on every core: its
    // records read, parsed, matched and dropped there.
    let mut by_key: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
    for (i, target) in targets.iter().enumerate() {
        if let Ok(t) = target {
            if has_data(&t.ecosystem) {
                by_key
                    .entry((t.ecosystem.as_str(), t.name.as_str()))
                    .or_default()
                    .push(i);
            }
        }
    }
    let mut verdicts: Vec<Vec<(String, Said)>> = Vec::new();
    verdicts.resize_with(inventory.packages.len(), Vec::new);
    let worked =
        super::db::read::par_map(by_key.into_iter().collect(), |((ecosystem, name), at)| {
            let records = db.records(ecosystem, name)?;
            let mut out = Vec::with_capacity(at.len());
            for i in at {
                let (Some(pkg), Some(Ok(target))) = (inventory.packages.get(i), targets.get(i))
                else {
                    continue;
                };
                out.push((i, judge(&records, pkg, target, distro)));
            }
            Ok::<_, Error>(out)
        });
    for part in worked {
        for (i, v) in part? {
            if let Some(slot) = verdicts.get_mut(i) {
                *slot = v;
            }
        }
    }
    let mut seen: BTreeSet<(String, String, String, String)> = BTreeSet::new();
    for ((pkg, target), verdicts) in inventory.packages.iter().zip(targets).zip(verdicts) {
        let label = || format!("{}@{}", pkg.full_name(), pkg.version);
        let target = match target {
            Ok(t) => t,
            Err(why) => {
                NotScanned::add(&mut skipped, &why, label());
                continue;
            }
        };
        if !has_data(&target.ecosystem) {
            let base = target.ecosystem.split(':').next().unwrap_or_default();
            NotScanned::add(
                &mut skipped,
                &format!(
                    "no vulnerability data for {} (get it with `wharf db update --ecosystem {base}`)",
                    target.ecosystem
                ),
                label(),
            );
            continue;
        }
        for (record_id, outcome) in verdicts {
            // One finding per record and installed package, however many
            // of the record's entries match, and however often the
            // package is listed.
            let id = (
                record_id,
                pkg.full_name(),
                pkg.version.clone(),
                pkg.found_at.clone(),
            );
            if !seen.insert(id) {
                continue;
            }
            match outcome {
                Said::Unparsable(u) => unparsable.push(u),
                Said::Informational(f) => informational.push(f),
                Said::Matched(m) => matched.push(m),
            }
        }
    }
    Ok((group::group(matched), informational, unparsable, skipped))
}

/// What one record says of one installed package.
enum Said {
    Unparsable(super::finding::Unparsable),
    Informational(super::finding::Finding),
    Matched(group::Matched),
}

/// Each record's verdict on `pkg`, in the records' order, with the
/// record's id; records that do not affect it are left out.
fn judge(
    records: &[super::osv::Record],
    pkg: &crate::sbom::model::Package,
    target: &matcher::Target,
    distro: Option<&crate::sbom::model::Distro>,
) -> Vec<(String, Said)> {
    // A package read from another tool's SBOM may make no valid purl
    // (an incomplete Maven group, say): the finding then carries none.
    let purl = crate::sbom::purl::package(pkg, distro).unwrap_or_default();
    let mut out = Vec::new();
    for record in records {
        let outcome = match matcher::evaluate(record, target) {
            Verdict::NotAffected => continue,
            Verdict::Unparsable(why) => {
                Said::Unparsable(matcher::unparsable(record, pkg, target, why))
            }
            Verdict::Affected { fixed, affected } => {
                let rating = super::severity::rate(record, &affected);
                let mut f = matcher::finding(record, pkg, target, purl.clone(), fixed, rating);
                match matcher::informational(record, &affected) {
                    Some(kind) => {
                        f.summary = Some(match &f.summary {
                            Some(s) => format!("{kind}: {s}"),
                            None => kind,
                        });
                        Said::Informational(f)
                    }
                    None => Said::Matched(group::Matched {
                        finding: f,
                        links: group::links(record),
                        scheme: target.scheme,
                    }),
                }
            }
        };
        out.push((record.id.clone(), outcome));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_counts_what_reaches_the_threshold() {
        use Severity::*;
        assert!(fails(Critical, Some(Critical)));
        assert!(!fails(High, Some(Critical)));
        assert!(fails(High, Some(High)) && fails(Critical, Some(High)));
        assert!(!fails(Unknown, Some(Medium)), "unknown is not medium");
        assert!(fails(Unknown, Some(Low)), "low means anything");
        assert!(!fails(Critical, None));
        assert!(threshold("bogus").is_err());
    }

    #[test]
    fn lookups_spread_over_threads_find_what_one_thread_finds() {
        use crate::sbom::model::{Ecosystem, Package};
        let dir = tempfile::tempdir().unwrap();
        let n = 700; // many chunks of lookups, over every core
        for i in 0..n {
            let record = serde_json::json!({
                "id": format!("PYSEC-2099-{i}"), "modified": "2026-01-01T00:00:00Z",
                "affected": [{"package": {"ecosystem": "PyPI", "name": format!("pkg-{i}")},
                    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0"}]}]}]
            });
            std::fs::write(dir.path().join(format!("{i}.json")), record.to_string()).unwrap();
        }
        let db = Db::open(&Source::Dir(dir.path().to_path_buf())).unwrap();
        let inventory = Inventory {
            packages: (0..n)
                .map(|i| Package::new(Ecosystem::PyPI, &format!("pkg-{i}"), "1.0", "/x", 0))
                .collect(),
            ..Inventory::default()
        };
        let (findings, _, _, skipped) = match_all(&db, &inventory).unwrap();
        assert!(skipped.is_empty(), "{skipped:?}");
        assert_eq!(findings.len(), n);
        for f in &findings {
            assert_eq!(
                f.id,
                format!("PYSEC-2099-{}", f.package.trim_start_matches("pkg-"))
            );
        }
    }

    #[test]
    fn ages_parse() {
        assert_eq!(days("x", "7d").unwrap(), 7.0);
        assert_eq!(days("x", "48h").unwrap(), 2.0);
        assert_eq!(days("x", "3").unwrap(), 3.0);
        assert!(days("x", "soon").is_err());
        assert!(days("x", "3y").is_err());
    }
}
