//! The table for people: findings grouped by severity, critical first, the
//! fixed version next to the installed one; what does not count against the
//! gate listed apart; a closing line with the counts and the verdict.

use console::{measure_text_width, Style};

use super::{
    clip, db_line, gate_rule, plural, score_text, subject_line, ScanReport, View, SEVERITIES,
};
use crate::scan::finding::{Finding, Severity};

/// Longest cell we print: record data is not ours and can be anything.
const CELL_MAX: usize = 120;

pub(super) fn render(report: &ScanReport, colour: bool) -> String {
    let view = View::new(report);
    let paint = |text: &str, style: Style| -> String {
        if colour {
            style.force_styling(true).apply_to(text).to_string()
        } else {
            text.to_string()
        }
    };
    let mut out = String::new();

    let subject = subject_line(report).unwrap_or_else(|| "(no image)".to_string());
    out.push_str(&format!(
        "{} {}\n",
        paint("scan:", Style::new().bold()),
        clean(&subject)
    ));
    out.push_str(&format!(
        "  {} · db: {}\n",
        plural(report.packages, "package", "packages"),
        clean(&db_line(&report.db))
    ));

    if view.active.is_empty() {
        out.push_str("\nNo vulnerabilities found.\n");
    } else {
        let rows: Vec<[String; 5]> = view.active.iter().map(|f| finding_row(f)).collect();
        let widths = column_widths(&rows);
        let mut i = 0;
        for (n, severity) in SEVERITIES.iter().enumerate() {
            let count = view.counts[n];
            if count == 0 {
                continue;
            }
            out.push('\n');
            out.push_str(&paint(
                &format!("{} ({count})", severity.as_str()),
                severity_style(*severity).bold(),
            ));
            out.push('\n');
            for row in &rows[i..i + count] {
                out.push_str(&format_row(row, &widths));
            }
            i += count;
        }
    }

    if !view.suppressed.is_empty() {
        section(
            &mut out,
            &paint(
                &format!(
                    "Suppressed ({}) — not counted by the gate",
                    view.suppressed.len()
                ),
                Style::new().bold(),
            ),
        );
        let rows: Vec<[String; 5]> = view
            .suppressed
            .iter()
            .map(|f| {
                let [id, package, versions, _, _] = finding_row(f);
                let why = f
                    .suppressed
                    .as_ref()
                    .map(|s| format!("{}: {}", s.by, s.reason))
                    .unwrap_or_default();
                [
                    id,
                    package,
                    versions,
                    f.severity.as_str().to_string(),
                    clean(&why),
                ]
            })
            .collect();
        let widths = column_widths(&rows);
        for row in &rows {
            out.push_str(&format_row(row, &widths));
        }
    }

    if !view.informational.is_empty() {
        section(
            &mut out,
            &paint(
                &format!(
                    "Informational ({}) — advisories, not vulnerabilities",
                    view.informational.len()
                ),
                Style::new().bold(),
            ),
        );
        let rows: Vec<[String; 5]> = view
            .informational
            .iter()
            .map(|f| {
                [
                    clean(&f.id),
                    clean(&f.package),
                    clean(&f.installed),
                    clean(f.summary.as_deref().unwrap_or("")),
                    String::new(),
                ]
            })
            .collect();
        let widths = column_widths(&rows);
        for row in &rows {
            out.push_str(&format_row(row, &widths));
        }
    }

    if !view.unparsable.is_empty() {
        section(
            &mut out,
            &paint(
                &format!(
                    "Unparsable versions ({}) — not checked, so not known to be safe",
                    view.unparsable.len()
                ),
                severity_style(Severity::Medium).bold(),
            ),
        );
        let rows: Vec<[String; 5]> = view
            .unparsable
            .iter()
            .map(|u| {
                [
                    clean(&u.id),
                    clean(&u.package),
                    clean(&u.installed),
                    clean(&u.ecosystem),
                    clean(&u.why),
                ]
            })
            .collect();
        let widths = column_widths(&rows);
        for row in &rows {
            out.push_str(&format_row(row, &widths));
        }
    }

    if !view.not_scanned.is_empty() {
        section(
            &mut out,
            &paint(
                &format!(
                    "Not scanned ({}) — no findings here does not mean safe",
                    view.not_scanned_count
                ),
                severity_style(Severity::Medium).bold(),
            ),
        );
        for n in view.not_scanned {
            // The packages, then why: the reason is ours and says what to
            // do, so it is not cut at a cell's width.
            out.push_str(&format!(
                "  {}\n    {}\n",
                clean(&n.some(10)),
                clean_to(&n.reason, 4 * CELL_MAX)
            ));
        }
    }

    if !view.incomplete.is_empty() {
        section(
            &mut out,
            &paint(
                &format!(
                    "Scanned under a derived name ({}) — advisories filed under another name are missed",
                    view.incomplete_count
                ),
                severity_style(Severity::Low).bold(),
            ),
        );
        for n in view.incomplete {
            out.push_str(&format!(
                "  {}\n    {}\n",
                clean(&n.some(10)),
                clean_to(&n.reason, 4 * CELL_MAX)
            ));
        }
    }

    if !view.expired_ignores.is_empty() {
        section(
            &mut out,
            &paint(
                &format!(
                    "Expired ignore entries ({}) — they no longer ignore anything",
                    view.expired_ignores.len()
                ),
                severity_style(Severity::Medium).bold(),
            ),
        );
        for entry in &view.expired_ignores {
            out.push_str(&format!("  {}\n", clean(entry)));
        }
    }

    let mut counts: Vec<String> = SEVERITIES
        .iter()
        .zip(view.counts)
        .map(|(s, n)| {
            let text = format!("{} {n}", s.as_str());
            if n > 0 {
                paint(&text, severity_style(*s))
            } else {
                text
            }
        })
        .collect();
    counts.push(format!("suppressed {}", view.suppressed.len()));
    if !view.informational.is_empty() {
        counts.push(format!("informational {}", view.informational.len()));
    }
    if !view.unparsable.is_empty() {
        counts.push(format!("unparsable {}", view.unparsable.len()));
    }
    if view.not_scanned_count > 0 {
        counts.push(format!("not scanned {}", view.not_scanned_count));
    }
    out.push('\n');
    out.push_str(&counts.join(" · "));
    out.push('\n');
    let verdict = if report.gate.failed {
        paint("FAIL", Style::new().red().bold())
    } else {
        paint("PASS", Style::new().green().bold())
    };
    out.push_str(&format!(
        "gate: {} — {} → {verdict}\n",
        gate_rule(&report.gate),
        plural(report.gate.counting, "finding", "findings"),
    ));
    out
}

fn section(out: &mut String, title: &str) {
    out.push('\n');
    out.push_str(title);
    out.push('\n');
}

fn severity_style(s: Severity) -> Style {
    match s {
        Severity::Critical => Style::new().red(),
        Severity::High => Style::new().magenta(),
        Severity::Medium => Style::new().yellow(),
        Severity::Low => Style::new().cyan(),
        Severity::Unknown => Style::new().dim(),
    }
}

/// id (and the CVE it is known as), package, `installed → fixed`, score, layer.
fn finding_row(f: &Finding) -> [String; 5] {
    let versions = match &f.fixed {
        Some(fixed) => format!("{} → {}", clean(&f.installed), clean(fixed)),
        None => format!("{} (no fix)", clean(&f.installed)),
    };
    let id = match f.cve() {
        Some(cve) => format!("{} / {}", clean(&f.id), clean(cve)),
        None => clean(&f.id),
    };
    [
        id,
        clean(&f.package),
        versions,
        score_text(f.score).unwrap_or_else(|| "-".to_string()),
        f.layer
            .map_or_else(|| "-".to_string(), |l| format!("layer {l}")),
    ]
}

fn column_widths(rows: &[[String; 5]]) -> [usize; 5] {
    let mut widths = [0; 5];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(measure_text_width(cell));
        }
    }
    widths
}

fn format_row(row: &[String; 5], widths: &[usize; 5]) -> String {
    let mut line = String::from(" ");
    for (cell, width) in row.iter().zip(widths) {
        if *width == 0 {
            continue;
        }
        line.push(' ');
        line.push_str(cell);
        let pad = width.saturating_sub(measure_text_width(cell));
        line.extend(std::iter::repeat_n(' ', pad + 1));
    }
    let mut line = line.trim_end().to_string();
    line.push('\n');
    line
}

/// Record data as a terminal may show it: control characters (escape
/// sequences could rewrite the screen) and bidirectional overrides shown
/// escaped, newlines as spaces, length capped.
fn clean(text: &str) -> String {
    clean_to(text, CELL_MAX)
}

/// [`clean`], capped at `max` characters.
fn clean_to(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control()
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') =>
            {
                out.extend(c.escape_unicode())
            }
            c => out.push(c),
        }
    }
    clip(&out, max)
}
