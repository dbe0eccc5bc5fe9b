//! The renderers on one rich report: every severity, scored and unscored,
//! suppressed by each mechanism, informational, unparsable, expired ignores,
//! and record data that is hostile to Markdown and terminals.

use serde_json::Value;

use super::*;
use crate::scan::finding::Suppression;

pub(super) fn finding(id: &str, package: &str, installed: &str, severity: Severity) -> Finding {
    Finding {
        id: id.into(),
        ids: vec![id.into()],
        aliases: Vec::new(),
        summary: None,
        package: package.into(),
        matched_name: package.into(),
        ecosystem: "Debian:12".into(),
        purl: format!("pkg:deb/debian/{package}@{installed}?arch=amd64&distro=debian-12"),
        installed: installed.into(),
        fixed: None,
        severity,
        score: None,
        severity_source: "none".into(),
        layer: Some(0),
        found_at: Some("/var/lib/dpkg/status".into()),
        suppressed: None,
        references: Vec::new(),
    }
}

pub(super) fn rich() -> ScanReport {
    let mut openssl = finding(
        "CVE-2024-0001",
        "openssl",
        "3.0.11-1~deb12u2",
        Severity::Critical,
    );
    openssl.aliases = vec!["DSA-5600-1".into()];
    openssl.summary = Some("Heap overflow | in <script>alert(1)</script> *parser*".into());
    openssl.fixed = Some("3.0.13-1~deb12u1".into());
    openssl.score = Some(9.8);
    openssl.severity_source = "CVSS_V3 CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H".into();
    openssl.references = vec![
        "not a url".into(),
        "https://security-tracker.debian.org/tracker/CVE-2024-0001".into(),
    ];

    let mut requests = finding(
        "GHSA-9wx4-h78v-vm56",
        "requests",
        "2.31.0",
        Severity::Critical,
    );
    requests.ecosystem = "PyPI".into();
    requests.purl = "pkg:pypi/requests@2.31.0".into();
    requests.found_at =
        Some("/usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA".into());
    requests.layer = Some(2);
    requests.severity_source = "GHSA label".into();

    let mut libc = finding("CVE-2024-0002", "libc6", "2.36-9+deb12u4", Severity::High);
    libc.matched_name = "glibc".into();
    libc.fixed = Some("2.36-9+deb12u7".into());
    libc.score = Some(7.5);

    let mut zlib = finding("CVE-2023-9999", "zlib1g", "1:1.2.13.dfsg-1", Severity::High);
    zlib.score = Some(8.1);
    zlib.suppressed = Some(Suppression {
        by: "ignore-file".into(),
        reason: "not reachable | we never call inflateGetHeader".into(),
    });

    let mut weird = finding("PYSEC-2024-1", "we|rd*_pkg`", "1.0", Severity::Medium);
    weird.ecosystem = "PyPI".into();
    weird.purl = "pkg:pypi/we%7Crd%2A-pkg@1.0".into();
    weird.score = Some(5.4);
    weird.found_at = None;
    weird.layer = None;
    weird.references = vec!["https://example.com/a (b)|c".into()];

    let mut angular = finding(
        "GHSA-aaaa-bbbb-cccc",
        "@angular/core",
        "15.0.0",
        Severity::Medium,
    );
    angular.ecosystem = "npm".into();
    angular.purl = "pkg:npm/%40angular/core@15.0.0".into();
    angular.suppressed = Some(Suppression {
        by: "vex".into(),
        reason: "not_affected: vulnerable_code_not_in_execute_path".into(),
    });

    let mut bash = finding("DSA-5555-1", "bash", "5.2.15-2+b8", Severity::Low);
    bash.matched_name = "bash".into();
    bash.severity_source = "Debian urgency".into();
    bash.fixed = Some("5.2.15-2+b9".into());

    let mut stdlib = finding("GO-2024-0001", "stdlib", "go1.21.0", Severity::Unknown);
    stdlib.ecosystem = "Go".into();
    stdlib.purl = "pkg:golang/stdlib@go1.21.0".into();
    stdlib.found_at = Some("/usr/local/bin/app".into());

    let mut unmaintained = finding("RUSTSEC-2024-0375", "atty", "0.2.14", Severity::Unknown);
    unmaintained.ecosystem = "crates.io".into();
    unmaintained.purl = "pkg:cargo/atty@0.2.14".into();
    unmaintained.summary = Some("atty is unmaintained \u{1b}[31mred\u{1b}[0m".into());

    ScanReport {
        image: Some("registry.example.com:5000/team/app:1.0".into()),
        digest: Some(format!("sha256:{}", "ab".repeat(32))),
        db: DbSummary {
            source: "/home/ci/.cache/wharf/osv".into(),
            records: 8123,
            newest_modified: Some("2024-06-01T00:00:00Z".into()),
            age_days: Some(3),
        },
        // Deliberately not in report order.
        findings: vec![bash, zlib, weird, openssl, stdlib, angular, libc, requests],
        informational: vec![unmaintained],
        unparsable: vec![Unparsable {
            id: "GHSA-zzzz-yyyy-xxxx".into(),
            package: "org.example:lib".into(),
            ecosystem: "Maven".into(),
            installed: "1.0-weird!!".into(),
            why: "not a Maven version".into(),
        }],
        expired_ignores: vec!["CVE-2022-1111 (openssl): \"temporary\" — expired 2024-01-31".into()],
        gate: Gate {
            fail_on: Some(Severity::High),
            failed: true,
            counting: 3,
        },
        packages: 412,
        not_scanned: vec![NotScanned {
            reason: "no vulnerability data for npm (get it with `wharf db update --ecosystem npm`)"
                .into(),
            packages: vec!["left-pad@1.3.0".into(), "@scope/pkg@2.0.0".into()],
        }],
        incomplete: vec![NotScanned {
            reason: "the jar has no pom.properties: its Maven group comes from class-packages"
                .into(),
            packages: vec!["org.springframework:spring-beans@5.3.17 (/app/app.jar)".into()],
        }],
        started: "2024-06-04T10:00:00Z".parse().expect("timestamp"),
        finished: "2024-06-04T10:00:01.5Z".parse().expect("timestamp"),
    }
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("valid JSON")
}

#[test]
fn every_format_is_deterministic_whatever_the_input_order() {
    let a = rich();
    let mut b = rich();
    b.findings.reverse();
    b.findings.rotate_left(3);
    b.expired_ignores
        .insert(0, "AAA-1 (x): \"y\" — expired 2024-01-01".into());
    let mut a2 = a.clone();
    a2.expired_ignores
        .push("AAA-1 (x): \"y\" — expired 2024-01-01".into());
    for format in Format::ALL {
        for colour in [false, true] {
            assert_eq!(
                render(&a2, format, colour),
                render(&b, format, colour),
                "{format}"
            );
        }
    }
}

#[test]
fn format_names_round_trip() {
    for format in Format::ALL {
        assert_eq!(format.as_str().parse::<Format>(), Ok(format));
    }
    let err = "xml".parse::<Format>().expect_err("unknown");
    assert!(err.contains("vuln-predicate"), "{err}");
}

#[test]
fn table_groups_by_severity_and_closes_with_the_verdict() {
    let text = render(&rich(), Format::Table, false);
    let at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} missing from:\n{text}"))
    };
    // Groups, critical first, with their counts.
    assert!(at("CRITICAL (2)") < at("HIGH (1)"));
    assert!(at("HIGH (1)") < at("MEDIUM (1)"));
    assert!(at("MEDIUM (1)") < at("LOW (1)"));
    assert!(at("LOW (1)") < at("UNKNOWN (1)"));
    // Within a group: by id.
    assert!(at("CVE-2024-0001") < at("GHSA-9wx4-h78v-vm56"));
    // Rows: installed → fixed, or no fix; score; layer.
    let openssl = text
        .lines()
        .find(|l| l.contains("CVE-2024-0001"))
        .expect("openssl row");
    for part in [
        "openssl",
        "3.0.11-1~deb12u2 → 3.0.13-1~deb12u1",
        "9.8",
        "layer 0",
    ] {
        assert!(openssl.contains(part), "{part:?} not in {openssl:?}");
    }
    let requests = text.lines().find(|l| l.contains("requests")).expect("row");
    assert!(requests.contains("2.31.0 (no fix)"), "{requests}");
    assert!(requests.contains("layer 2"), "{requests}");
    // Suppressed apart, with who suppressed and why; not in the groups.
    let suppressed = at("Suppressed (2)");
    assert!(at("CVE-2023-9999") > suppressed);
    assert!(at("ignore-file: not reachable | we never call inflateGetHeader") > suppressed);
    assert!(at("vex: not_affected") > suppressed);
    assert!(at("Informational (1)") > suppressed);
    assert!(at("RUSTSEC-2024-0375") > at("Informational (1)"));
    assert!(at("Unparsable versions (1)") > 0);
    assert!(at("1.0-weird!!") > at("Unparsable versions (1)"));
    assert!(at("Expired ignore entries (1)") > 0);
    assert!(at("CVE-2022-1111") > at("Expired ignore entries (1)"));
    // The closing lines.
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[lines.len() - 2],
        "CRITICAL 2 · HIGH 1 · MEDIUM 1 · LOW 1 · UNKNOWN 1 · suppressed 2 · informational 1 · unparsable 1 · not scanned 2"
    );
    // What was not looked up is named, with why.
    assert!(at("Not scanned (2)") > at("Unparsable versions (1)"));
    assert!(at("no vulnerability data for npm") > at("Not scanned (2)"));
    assert!(at("left-pad@1.3.0, @scope/pkg@2.0.0") > at("Not scanned (2)"));
    // And what was looked up under a derived name.
    assert!(at("Scanned under a derived name (1)") > at("Not scanned (2)"));
    assert!(at("spring-beans@5.3.17") > at("Scanned under a derived name (1)"));
    assert_eq!(
        lines[lines.len() - 1],
        "gate: fail on HIGH or worse — 3 findings → FAIL"
    );
    // The header names the image, the packages and the database's age.
    assert!(at("registry.example.com:5000/team/app:1.0 (sha256:abab") < at("CRITICAL (2)"));
    assert!(at("412 packages") > 0);
    assert!(at("8123 records, newest 2024-06-01T00:00:00Z, 3 days old") > 0);
}

#[test]
fn table_colours_only_when_asked_and_never_passes_escapes_through() {
    let plain = render(&rich(), Format::Table, false);
    assert!(
        !plain.contains('\u{1b}'),
        "escape in plain output:\n{plain}"
    );
    // The record's own escape sequence is shown, not obeyed.
    assert!(plain.contains("\\u{1b}[31mred"), "{plain}");
    let coloured = render(&rich(), Format::Table, true);
    assert!(coloured.contains("\u{1b}["), "no colour:\n{coloured}");
    assert_eq!(console::strip_ansi_codes(&coloured), plain);
}

#[test]
fn table_verdicts_for_pass_and_never() {
    let mut report = rich();
    report.gate = Gate {
        fail_on: None,
        failed: false,
        counting: 0,
    };
    let text = render(&report, Format::Table, false);
    assert!(
        text.ends_with("gate: never fails (--fail-on none) — 0 findings → PASS\n"),
        "{text}"
    );
    report.gate = Gate {
        fail_on: Some(Severity::Critical),
        failed: true,
        counting: 1,
    };
    report
        .findings
        .retain(|f| f.severity != Severity::Critical || f.id == "CVE-2024-0001");
    let text = render(&report, Format::Table, false);
    assert!(
        text.ends_with("gate: fail on CRITICAL — 1 finding → FAIL\n"),
        "{text}"
    );
    report.findings.clear();
    report.informational.clear();
    report.unparsable.clear();
    report.expired_ignores.clear();
    let text = render(&report, Format::Table, false);
    assert!(text.contains("No vulnerabilities found."), "{text}");
}

#[test]
fn json_carries_every_documented_field() {
    let report = rich();
    let v = parse(&render(&report, Format::Json, false));
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["image"], "registry.example.com:5000/team/app:1.0");
    assert_eq!(v["digest"], format!("sha256:{}", "ab".repeat(32)));
    assert_eq!(v["packages"], 412);
    assert_eq!(
        v["db"],
        serde_json::json!({
            "source": "/home/ci/.cache/wharf/osv",
            "records": 8123,
            "newest_modified": "2024-06-01T00:00:00Z",
            "age_days": 3,
        })
    );
    assert_eq!(
        v["gate"],
        serde_json::json!({"fail_on": "HIGH", "failed": true, "counting": 3, "verdict": "fail"})
    );
    assert_eq!(
        v["summary"],
        serde_json::json!({
            "critical": 2, "high": 1, "medium": 1, "low": 1, "unknown": 1,
            "total": 6, "suppressed": 2, "informational": 1, "unparsable": 1,
            "not_scanned": 2, "incomplete": 1,
        })
    );
    let findings = v["findings"].as_array().expect("findings");
    // All findings, suppressed ones included, in report order.
    let ids: Vec<&str> = findings
        .iter()
        .map(|f| f["id"].as_str().expect("id"))
        .collect();
    assert_eq!(
        ids,
        [
            "CVE-2024-0001",
            "GHSA-9wx4-h78v-vm56",
            "CVE-2023-9999",
            "CVE-2024-0002",
            "GHSA-aaaa-bbbb-cccc",
            "PYSEC-2024-1",
            "DSA-5555-1",
            "GO-2024-0001",
        ]
    );
    let openssl = &findings[0];
    for key in [
        "id",
        "aliases",
        "package",
        "purl",
        "installed",
        "fixed",
        "severity",
        "score",
        "layer",
        "suppressed",
    ] {
        assert!(openssl.get(key).is_some(), "{key} missing");
    }
    assert_eq!(openssl["aliases"], serde_json::json!(["DSA-5600-1"]));
    assert_eq!(openssl["fixed"], "3.0.13-1~deb12u1");
    assert_eq!(openssl["severity"], "CRITICAL");
    assert_eq!(openssl["score"], 9.8);
    assert_eq!(openssl["layer"], 0);
    assert_eq!(openssl["suppressed"], Value::Null);
    assert_eq!(findings[1]["fixed"], Value::Null);
    assert_eq!(findings[1]["score"], Value::Null);
    assert_eq!(
        findings[2]["suppressed"],
        serde_json::json!({"by": "ignore-file", "reason": "not reachable | we never call inflateGetHeader"})
    );
    assert_eq!(v["informational"][0]["id"], "RUSTSEC-2024-0375");
    assert_eq!(v["unparsable"][0]["installed"], "1.0-weird!!");
    assert_eq!(v["unparsable"][0]["why"], "not a Maven version");
    assert_eq!(v["expired_ignores"][0], report.expired_ignores[0]);
    assert_eq!(
        v["not_scanned"],
        serde_json::json!([{
            "reason": report.not_scanned[0].reason,
            "packages": ["left-pad@1.3.0", "@scope/pkg@2.0.0"],
        }])
    );
    assert_eq!(v["incomplete"][0]["reason"], report.incomplete[0].reason);
}

fn sarif_run(report: &ScanReport) -> Value {
    let v = parse(&render(report, Format::Sarif, false));
    assert_eq!(v["version"], "2.1.0");
    assert_eq!(v["runs"].as_array().map(Vec::len), Some(1));
    v["runs"][0].clone()
}

#[test]
fn sarif_has_one_rule_per_id_with_security_severity() {
    let run = sarif_run(&rich());
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "wharf");
    assert_eq!(driver["version"], TOOL_VERSION);
    let rules = driver["rules"].as_array().expect("rules");
    let ids: Vec<&str> = rules
        .iter()
        .map(|r| r["id"].as_str().expect("id"))
        .collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(ids, sorted, "rules unique and sorted");
    assert_eq!(ids.len(), 8);
    let rule = |id: &str| {
        rules
            .iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("no rule {id}"))
    };
    let openssl = rule("CVE-2024-0001");
    assert_eq!(openssl["properties"]["security-severity"], "9.8");
    assert_eq!(
        openssl["shortDescription"]["text"],
        "Heap overflow | in <script>alert(1)</script> *parser*"
    );
    // The first reference that is a URL.
    assert_eq!(
        openssl["helpUri"],
        "https://security-tracker.debian.org/tracker/CVE-2024-0001"
    );
    let tags = openssl["properties"]["tags"].as_array().expect("tags");
    assert!(tags.contains(&"security".into()) && tags.contains(&"vulnerability".into()));
    // Defaults per severity where the record has no score.
    assert_eq!(
        rule("GHSA-9wx4-h78v-vm56")["properties"]["security-severity"],
        "9.5"
    );
    assert_eq!(rule("DSA-5555-1")["properties"]["security-severity"], "2.0");
    assert_eq!(
        rule("GHSA-aaaa-bbbb-cccc")["properties"]["security-severity"],
        "5.5"
    );
    assert_eq!(
        rule("CVE-2023-9999")["properties"]["security-severity"],
        "8.1"
    );
    // No summary: the description still says something.
    assert_eq!(
        rule("GO-2024-0001")["shortDescription"]["text"],
        "GO-2024-0001 in stdlib"
    );
    assert!(rule("GO-2024-0001").get("helpUri").is_none());
}

#[test]
fn sarif_results_have_levels_locations_fingerprints_and_suppressions() {
    let report = rich();
    let run = sarif_run(&report);
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), 8);
    let result = |id: &str| {
        results
            .iter()
            .find(|r| r["ruleId"] == id)
            .unwrap_or_else(|| panic!("no result {id}"))
    };
    for r in results {
        let index = r["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[index]["id"], r["ruleId"]);
        assert_eq!(
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
            1
        );
        assert!(r["locations"][0]["physicalLocation"]["artifactLocation"]
            .get("uriBaseId")
            .is_none());
    }
    assert_eq!(result("CVE-2024-0001")["level"], "error");
    assert_eq!(result("CVE-2024-0002")["level"], "error");
    assert_eq!(result("PYSEC-2024-1")["level"], "warning");
    assert_eq!(result("DSA-5555-1")["level"], "note");
    assert_eq!(result("GO-2024-0001")["level"], "note");
    let message = result("CVE-2024-0001")["message"]["text"]
        .as_str()
        .expect("text");
    for part in ["openssl", "3.0.11-1~deb12u2", "fixed in 3.0.13-1~deb12u1"] {
        assert!(message.contains(part), "{part:?} not in {message:?}");
    }
    assert!(result("GHSA-9wx4-h78v-vm56")["message"]["text"]
        .as_str()
        .is_some_and(|m| m.contains("no fixed version")));
    // Where the package was found, else the image name without tag/digest.
    let uri = |id: &str| {
        result(id)["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].clone()
    };
    assert_eq!(uri("CVE-2024-0001"), "var/lib/dpkg/status");
    assert_eq!(uri("PYSEC-2024-1"), "registry.example.com%3A5000/team/app");
    // Suppressed: kept, with the reason.
    assert_eq!(
        result("CVE-2023-9999")["suppressions"],
        serde_json::json!([{"kind": "external", "justification": "ignore-file: not reachable | we never call inflateGetHeader"}])
    );
    assert_eq!(
        result("GHSA-aaaa-bbbb-cccc")["suppressions"][0]["justification"],
        "vex: not_affected: vulnerable_code_not_in_execute_path"
    );
    assert!(result("CVE-2024-0001").get("suppressions").is_none());
    // Fingerprints: distinct per finding, the same on the next run even if
    // the tag, digest, score or layer changed.
    let prints: Vec<Value> = results
        .iter()
        .map(|r| r["partialFingerprints"].clone())
        .collect();
    let mut unique = prints.iter().map(Value::to_string).collect::<Vec<_>>();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), results.len());
    let mut next = report.clone();
    next.image = Some("registry.example.com:5000/team/app:1.1".into());
    next.digest = Some(format!("sha256:{}", "cd".repeat(32)));
    for f in &mut next.findings {
        f.layer = Some(7);
        f.score = f.score.map(|s| s - 0.1);
    }
    let next_run = sarif_run(&next);
    let next_prints: Vec<Value> = next_run["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["partialFingerprints"].clone())
        .collect();
    assert_eq!(prints, next_prints);
    assert_eq!(
        next_run["results"][3]["locations"],
        run["results"][3]["locations"]
    );
    // A new version of the package is a new finding.
    next.findings[0].installed.push_str("+b1");
    let bumped = sarif_run(&next);
    let bash = |run: &Value| {
        run["results"]
            .as_array()
            .and_then(|r| r.iter().find(|r| r["ruleId"] == "DSA-5555-1"))
            .map(|r| r["partialFingerprints"].clone())
    };
    assert_ne!(bash(&bumped), bash(&run));
}

#[test]
fn sarif_notifies_what_is_not_a_result() {
    let run = sarif_run(&rich());
    let notes = run["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .expect("notifications");
    let ids: Vec<&str> = notes
        .iter()
        .map(|n| n["descriptor"]["id"].as_str().expect("id"))
        .collect();
    assert_eq!(
        ids,
        [
            "unparsable-version",
            "not-scanned",
            "incomplete-name",
            "expired-ignore",
            "informational-advisory"
        ]
    );
    assert!(notes[0]["message"]["text"]
        .as_str()
        .is_some_and(|t| t.contains("org.example:lib 1.0-weird!!")));
    assert_eq!(run["invocations"][0]["executionSuccessful"], true);
}

/// Cells of a Markdown table row, split on unescaped pipes.
fn cells(line: &str) -> Vec<String> {
    let mut cells = vec![String::new()];
    let mut escaped = false;
    for c in line.chars() {
        if c == '|' && !escaped {
            cells.push(String::new());
        } else if let Some(last) = cells.last_mut() {
            last.push(c);
        }
        escaped = c == '\\' && !escaped;
    }
    cells
}

#[test]
fn markdown_has_verdict_counts_and_escaped_linked_findings() {
    let text = render(&rich(), Format::Markdown, false);
    assert!(
        text.starts_with("## ❌ wharf scan: gate failed\n"),
        "{text}"
    );
    assert!(text.contains("| CRITICAL | 2 |\n"), "{text}");
    assert!(text.contains("| suppressed | 2 |\n"), "{text}");
    // Every table row has as many cells as its header, whatever the data.
    let mut columns = 0;
    for line in text.lines() {
        if !line.starts_with('|') {
            columns = 0;
            continue;
        }
        let n = cells(line).len();
        if columns == 0 {
            columns = n;
        }
        assert_eq!(n, columns, "row breaks its table: {line}");
    }
    // No HTML gets through, no @mention, no emphasis.
    assert!(!text.contains("<script>"), "{text}");
    assert!(text.contains("we\\|rd\\*\\_pkg\\`"), "{text}");
    assert!(text.contains("\\@angular/core"), "{text}");
    // Ids link to their first URL reference; odd URLs stay in one piece.
    assert!(
        text.contains(
            "| [CVE-2024-0001](https://security-tracker.debian.org/tracker/CVE-2024-0001)<br>DSA-5600-1 | openssl |"
        ),
        "{text}"
    );
    assert!(
        text.contains("[PYSEC-2024-1](https://example.com/a%20%28b%29%7Cc)"),
        "{text}"
    );
    assert!(text.contains("| no fix |"), "{text}");
    for section in [
        "### Findings",
        "### Suppressed (2)",
        "### Informational (1)",
        "### Unparsable versions (1)",
        "### Expired ignore entries (1)",
    ] {
        assert!(text.contains(section), "{section} missing:\n{text}");
    }
    assert!(!text.contains("and 0 more"), "{text}");
    let mut pass = rich();
    pass.gate.failed = false;
    assert!(render(&pass, Format::Markdown, false).starts_with("## ✅ wharf scan: gate passed\n"));
}

#[test]
fn markdown_stays_under_one_mebibyte_with_100000_findings() {
    let mut report = rich();
    let long = "x".repeat(300);
    let many = |n: usize, suppressed: bool| -> Vec<Finding> {
        (0..n)
            .map(|i| {
                let mut f = finding(
                    &format!("CVE-2024-{i:06}"),
                    &format!("package-{i}-{long}"),
                    "1.0|2",
                    SEVERITIES[i % 5],
                );
                f.references = vec![format!("https://example.com/advisory/{i}")];
                f.fixed = Some("1.1".into());
                f.suppressed = suppressed.then(|| Suppression {
                    by: "ignore-file".into(),
                    reason: long.clone(),
                });
                f
            })
            .collect()
    };
    report.findings = many(100_000, false);
    report.findings.extend(many(50_000, true));
    report.informational = many(50_000, false);
    report.expired_ignores = (0..50_000).map(|i| format!("CVE-{i} {long}")).collect();
    let text = render(&report, Format::Markdown, false);
    assert!(text.len() < markdown::LIMIT, "{} bytes", text.len());
    // Cut, saying by how much, and every later section still has its say.
    let rows = |heading: &str| {
        let start = text.find(heading).expect("section");
        text[start..]
            .lines()
            .skip(4)
            .take_while(|l| l.starts_with('|'))
            .count()
    };
    let shown = rows("### Findings");
    assert!(shown > 100, "{shown} rows");
    assert!(
        text.contains(&format!(
            "… and {} more (see the JSON report)",
            100_000 - shown
        )),
        "{shown} rows shown"
    );
    assert!(text.contains("### Suppressed (50000)"));
    assert!(text.contains("### Informational (50000)"));
    assert!(text.contains("### Unparsable versions (1)"));
    assert!(text.contains("### Expired ignore entries (50000)"));
    assert_eq!(text.matches("more (see the JSON report)").count(), 4);
}

#[test]
fn vuln_predicate_is_cosigns_shape_around_the_json_report() {
    let report = rich();
    let v = parse(&render(&report, Format::VulnPredicate, false));
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&v), ["invocation", "metadata", "scanner"]);
    assert_eq!(
        v["invocation"],
        serde_json::json!({"parameters": null, "uri": "", "event_id": "", "builder.id": ""})
    );
    assert_eq!(keys(&v["scanner"]), ["db", "result", "uri", "version"]);
    assert_eq!(v["scanner"]["version"], TOOL_VERSION);
    assert!(v["scanner"]["uri"].as_str().is_some_and(|u| !u.is_empty()));
    assert_eq!(
        v["scanner"]["db"],
        serde_json::json!({"uri": "/home/ci/.cache/wharf/osv", "version": "2024-06-01T00:00:00Z"})
    );
    assert_eq!(
        v["scanner"]["result"],
        parse(&render(&report, Format::Json, false))
    );
    assert_eq!(
        v["metadata"],
        serde_json::json!({
            "scanStartedOn": "2024-06-04T10:00:00Z",
            "scanFinishedOn": "2024-06-04T10:00:01.5Z",
        })
    );
}
