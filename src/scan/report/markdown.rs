//! Markdown for `$GITHUB_STEP_SUMMARY`: the verdict as a heading, the counts,
//! then the findings. GitHub rejects a step summary over 1 MiB, so the
//! output stays under [`LIMIT`] however many findings there are: tables are
//! cut with "… and N more (see the JSON report)". Record data is escaped —
//! a `|` in a summary must not break the table, a `<script>` must not be a
//! tag, an npm scope must not be an @mention.

use super::{
    clip, db_line, first_link, gate_rule, plural, score_text, subject_line, ScanReport, View,
    SEVERITIES,
};
use crate::scan::finding::Finding;
use crate::text::markdown_escape as escape;

/// GitHub's limit for one step's summary.
pub(super) const LIMIT: usize = 1024 * 1024;

/// What we allow ourselves: the limit less room for whatever else the job
/// writes to the same summary.
const BUDGET: usize = LIMIT - 64 * 1024;

/// Room kept for each section still to come (its heading and its
/// "… and N more" line), so an early section cannot starve a later one.
const RESERVE: usize = 2048;

/// Longest cell, before escaping; links longer than this are not linked.
const CELL_MAX: usize = 200;

const MORE: &str = "(see the JSON report)";

pub(super) fn render(report: &ScanReport) -> String {
    let view = View::new(report);
    let mut out = String::new();

    let verdict = if report.gate.failed {
        "❌ wharf scan: gate failed"
    } else {
        "✅ wharf scan: gate passed"
    };
    out.push_str(&format!("## {verdict}\n\n"));
    out.push_str(&format!(
        "Gate: {} — {} counted.\n\n",
        escape(&gate_rule(&report.gate)),
        plural(report.gate.counting, "finding", "findings")
    ));
    if let Some(subject) = subject_line(report) {
        out.push_str(&format!("Image: {}  \n", escape(&subject)));
    }
    out.push_str(&format!(
        "Scanned {} against {}.\n\n",
        plural(report.packages, "package", "packages"),
        escape(&db_line(&report.db))
    ));

    out.push_str("| severity | findings |\n|---|---:|\n");
    for (s, n) in SEVERITIES.iter().zip(view.counts) {
        out.push_str(&format!("| {} | {n} |\n", s.as_str()));
    }
    out.push_str(&format!("| suppressed | {} |\n", view.suppressed.len()));
    out.push_str(&format!(
        "| informational | {} |\n",
        view.informational.len()
    ));
    out.push_str(&format!("| unparsable | {} |\n", view.unparsable.len()));
    out.push_str(&format!("| not scanned | {} |\n", view.not_scanned_count));

    // Sections still to come after each one, for the reserve.
    let mut left = 6;
    if !view.active.is_empty() {
        out.push_str("\n### Findings\n\n");
        out.push_str("| id | package | installed | fixed | severity | score |\n");
        out.push_str("|---|---|---|---|---|---:|\n");
        let rows = view.active.iter().map(|f| {
            format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                id_cell(f),
                cell(&f.package),
                cell(&f.installed),
                f.fixed
                    .as_deref()
                    .map_or_else(|| "no fix".to_string(), cell),
                f.severity.as_str(),
                score_text(f.score).unwrap_or_default(),
            )
        });
        push_rows(&mut out, rows, view.active.len(), left);
    }
    left -= 1;

    if !view.suppressed.is_empty() {
        out.push_str(&format!(
            "\n### Suppressed ({}) — not counted by the gate\n\n",
            view.suppressed.len()
        ));
        out.push_str("| id | package | installed | severity | by | reason |\n");
        out.push_str("|---|---|---|---|---|---|\n");
        let rows = view.suppressed.iter().map(|f| {
            let (by, reason) = f
                .suppressed
                .as_ref()
                .map_or(("", ""), |s| (s.by.as_str(), s.reason.as_str()));
            format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                id_cell(f),
                cell(&f.package),
                cell(&f.installed),
                f.severity.as_str(),
                cell(by),
                cell(reason),
            )
        });
        push_rows(&mut out, rows, view.suppressed.len(), left);
    }
    left -= 1;

    if !view.informational.is_empty() {
        out.push_str(&format!(
            "\n### Informational ({}) — advisories, not vulnerabilities\n\n",
            view.informational.len()
        ));
        out.push_str("| id | package | installed | summary |\n|---|---|---|---|\n");
        let rows = view.informational.iter().map(|f| {
            format!(
                "| {} | {} | {} | {} |\n",
                id_cell(f),
                cell(&f.package),
                cell(&f.installed),
                cell(f.summary.as_deref().unwrap_or("")),
            )
        });
        push_rows(&mut out, rows, view.informational.len(), left);
    }
    left -= 1;

    if !view.unparsable.is_empty() {
        out.push_str(&format!(
            "\n### Unparsable versions ({}) — not checked, so not known to be safe\n\n",
            view.unparsable.len()
        ));
        out.push_str("| id | package | ecosystem | installed | why |\n|---|---|---|---|---|\n");
        let rows = view.unparsable.iter().map(|u| {
            format!(
                "| {} | {} | {} | {} | {} |\n",
                cell(&u.id),
                cell(&u.package),
                cell(&u.ecosystem),
                cell(&u.installed),
                cell(&u.why),
            )
        });
        push_rows(&mut out, rows, view.unparsable.len(), left);
    }
    left -= 1;

    if !view.not_scanned.is_empty() {
        out.push_str(&format!(
            "\n### Not scanned ({}) — no findings here does not mean safe\n\n",
            view.not_scanned_count
        ));
        out.push_str("| why | packages |\n|---|---|\n");
        let rows = view
            .not_scanned
            .iter()
            .map(|n| format!("| {} | {} |\n", cell(&n.reason), cell(&n.some(10))));
        push_rows(&mut out, rows, view.not_scanned.len(), left);
    }
    left -= 1;

    if !view.incomplete.is_empty() {
        out.push_str(&format!(
            "\n### Scanned under a derived name ({}) — advisories filed under another name are missed\n\n",
            view.incomplete_count
        ));
        out.push_str("| why | packages |\n|---|---|\n");
        let rows = view
            .incomplete
            .iter()
            .map(|n| format!("| {} | {} |\n", cell(&n.reason), cell(&n.some(10))));
        push_rows(&mut out, rows, view.incomplete.len(), left);
    }
    left -= 1;

    if !view.expired_ignores.is_empty() {
        out.push_str(&format!(
            "\n### Expired ignore entries ({}) — they no longer ignore anything\n\n",
            view.expired_ignores.len()
        ));
        let rows = view
            .expired_ignores
            .iter()
            .map(|e| format!("- {}\n", cell(e)));
        push_rows(&mut out, rows, view.expired_ignores.len(), left);
    }
    out
}

/// Appends rows while they fit in the budget (keeping the reserve for the
/// `left` sections after this one), then says how many were left out.
fn push_rows(out: &mut String, rows: impl Iterator<Item = String>, total: usize, left: usize) {
    let limit = BUDGET.saturating_sub(RESERVE * (left + 1));
    let mut written = 0;
    for row in rows {
        if out.len() + row.len() > limit {
            break;
        }
        out.push_str(&row);
        written += 1;
    }
    if written < total {
        out.push_str(&format!("\n… and {} more {MORE}\n", total - written));
    }
}

/// The id, linked to the record's first http(s) reference, then the
/// group's other names.
fn id_cell(f: &Finding) -> String {
    let id = cell(&f.id);
    let id = match first_link(f) {
        Some(url) if url.len() <= CELL_MAX * 2 => {
            // `first_link` escaped what RFC 3986 forbids; parentheses are
            // allowed there but would end a Markdown destination early.
            let url = url.replace('(', "%28").replace(')', "%29");
            format!("[{id}]({url})")
        }
        _ => id,
    };
    let others: Vec<&str> = f.other_names().map(String::as_str).collect();
    if others.is_empty() {
        id
    } else {
        format!("{id}<br>{}", cell(&others.join(", ")))
    }
}

/// One table cell of record data: one line, capped, escaped.
fn cell(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    escape(&clip(one_line.trim(), CELL_MAX))
}
