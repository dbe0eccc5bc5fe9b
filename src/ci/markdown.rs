//! The job summary of `wharf run` in GitHub-flavoured Markdown
//! (`$GITHUB_STEP_SUMMARY`, and `summary.md` in the output directory).
//!
//! Values from outside are made inert: the image reference, digest and
//! signer go in code spans (copied as they are, no mention, no HTML); file
//! paths and other text are escaped: a `|` must not split a table cell, a
//! `<` must not open an HTML tag, a backtick must not open a code span, an
//! `@` must not mention anyone.

use super::{RunOutcome, RunSummary, StageStatus};
use crate::text::{markdown_code as code, markdown_escape as escape};

/// Longest list (attestations, promoted files) shown; the rest is counted.
const LIST_MAX: usize = 100;

/// The summary as Markdown: a heading with the image and the outcome, the
/// stages, findings by severity, the gate, the signature, attestations and
/// promoted files.
pub fn markdown(summary: &RunSummary) -> String {
    let mut out = String::new();
    let verdict = match summary.outcome {
        RunOutcome::Ok => "✅ wharf run: ok",
        RunOutcome::Policy => "❌ wharf run: policy said no",
        RunOutcome::Error => "⚠️ wharf run: error",
    };
    let image = summary.image_ref.as_deref().unwrap_or(&summary.image);
    // In a code span, so the reference and digest can be copied as they are.
    out.push_str(&format!("## {verdict} — {}\n\n", code(image)));

    if !summary.stages.is_empty() {
        out.push_str("| stage | status | time |\n|---|---|---:|\n");
        for stage in &summary.stages {
            out.push_str(&format!(
                "| {} | {} | {:.1} s |\n",
                escape(&stage.name),
                status(stage.status),
                stage.seconds
            ));
        }
        out.push('\n');
    }

    if let Some(f) = &summary.findings {
        out.push_str("### Findings\n\n| severity | findings |\n|---|---:|\n");
        for (name, n) in [
            ("critical", f.critical),
            ("high", f.high),
            ("medium", f.medium),
            ("low", f.low),
            ("unknown", f.unknown),
            ("total", f.total),
        ] {
            out.push_str(&format!("| {name} | {n} |\n"));
        }
        out.push('\n');
    }
    if let Some(gate) = &summary.gate {
        let verdict = if gate.passed { "passed" } else { "failed" };
        out.push_str(&format!(
            "Gate: fail on {} — **{verdict}**.\n\n",
            escape(&gate.fail_on)
        ));
    }

    let signature: Vec<String> = [
        ("Signer", summary.signer.as_deref().map(code)),
        ("Issuer", summary.issuer.as_deref().map(code)),
        (
            "Rekor log index",
            summary.rekor_log_index.map(|i| i.to_string()),
        ),
    ]
    .into_iter()
    .filter_map(|(label, value)| value.map(|v| format!("- {label}: {v}\n")))
    .collect();
    if !signature.is_empty() {
        out.push_str("### Signature\n\n");
        out.push_str(&signature.concat());
        out.push('\n');
    }

    list(&mut out, "Attestations", &summary.attestations);
    list(&mut out, "Promoted", &summary.promoted);
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

fn status(status: StageStatus) -> &'static str {
    match status {
        StageStatus::Ok => "✅ ok",
        StageStatus::Failed => "❌ failed",
        StageStatus::Error => "⚠️ error",
        StageStatus::Skipped => "⏭️ skipped",
    }
}

/// A section with a bulleted list, capped at [`LIST_MAX`] items.
fn list(out: &mut String, title: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    out.push_str(&format!("### {title}\n\n"));
    for item in items.iter().take(LIST_MAX) {
        out.push_str(&format!("- {}\n", escape(item)));
    }
    if items.len() > LIST_MAX {
        out.push_str(&format!(
            "- … and {} more (see run.json)\n",
            items.len() - LIST_MAX
        ));
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::tests::{sample, table_cells};

    #[test]
    fn summary_has_heading_stages_findings_gate_signature_and_lists() {
        let text = markdown(&sample());
        assert!(
            text.starts_with("## ✅ wharf run: ok — `ghcr.io/acme/app@sha256:"),
            "{text}"
        );
        assert!(text.contains("| stage | status | time |\n"), "{text}");
        assert!(text.contains("| sbom | ✅ ok | 1.2 s |\n"), "{text}");
        assert!(text.contains("| scan | ✅ ok | 3.0 s |\n"), "{text}");
        assert!(
            text.contains("| promote | ⏭️ skipped | 0.0 s |\n"),
            "{text}"
        );
        assert!(text.contains("| high | 1 |\n"), "{text}");
        assert!(text.contains("| total | 6 |\n"), "{text}");
        assert!(
            text.contains("Gate: fail on critical — **passed**."),
            "{text}"
        );
        assert!(text.contains("- Rekor log index: 12345\n"), "{text}");
        assert!(
            text.contains("- Issuer: `https://token.actions.githubusercontent.com`\n"),
            "{text}"
        );
        assert!(
            text.contains("### Attestations\n\n- https\\://cyclonedx.org/bom\n"),
            "{text}"
        );
        assert!(
            text.contains("### Promoted\n\n- deploy/values.yaml"),
            "{text}"
        );
        assert!(!text.ends_with("\n\n"));
    }

    #[test]
    fn values_from_outside_cannot_break_the_table_or_inject_html() {
        let mut s = sample();
        s.image_ref = Some("evil|<script>alert(1)</script>`code`@team".to_string());
        s.stages[0].name = "sb|om <b>x</b> `y`\n| injected | row |".to_string();
        s.promoted = vec!["deploy/a|b`<img src=x onerror=alert(1)>.yaml".to_string()];
        s.signer = Some("[click](javascript:alert(1))".to_string());
        let text = markdown(&s);
        // The image and the signer are code spans: shown as they are,
        // never a tag, a link or a mention.
        let image_span = "``evil|<script>alert(1)</script>`code`@team``";
        let signer_span = "`[click](javascript:alert(1))`";
        assert!(text.contains(&format!(" — {image_span}\n")), "{text}");
        assert!(
            text.contains(&format!("- Signer: {signer_span}\n")),
            "{text}"
        );
        let text = text
            .replace(image_span, "IMAGE")
            .replace(signer_span, "SIGNER")
            .replace("`https://token.actions.githubusercontent.com`", "ISSUER");
        // Every table row has as many cells as its header.
        let mut columns = 0;
        for line in text.lines() {
            if !line.starts_with('|') {
                columns = 0;
                continue;
            }
            let n = table_cells(line).len();
            if columns == 0 {
                columns = n;
            }
            assert_eq!(n, columns, "row breaks its table: {line}\n{text}");
        }
        assert!(!text.contains('<'), "{text}");
        assert!(!text.contains("| injected |"), "{text}");
        // No unescaped backtick, pipe (outside the table's own), bracket or @.
        for (i, c) in text.char_indices() {
            if matches!(c, '`' | '[' | '@') {
                assert!(text[..i].ends_with('\\'), "unescaped {c} at {i}:\n{text}");
            }
        }
        assert!(
            text.contains("sb\\|om &lt;b&gt;x&lt;/b&gt; \\`y\\` \\| injected"),
            "{text}"
        );
        assert!(text.contains("- deploy/a\\|b\\`&lt;img"), "{text}");
    }

    #[test]
    fn long_lists_are_capped() {
        let mut s = sample();
        s.promoted = (0..250).map(|i| format!("deploy/{i}.yaml")).collect();
        let text = markdown(&s);
        assert_eq!(text.matches("\n- deploy/").count(), LIST_MAX, "{text}");
        assert!(text.contains("- … and 150 more (see run.json)"), "{text}");
    }

    #[test]
    fn failed_and_errored_runs_say_so() {
        let mut s = sample();
        s.outcome = RunOutcome::Policy;
        assert!(markdown(&s).starts_with("## ❌ wharf run: policy said no — "));
        s.outcome = RunOutcome::Error;
        s.image_ref = None;
        s.findings = None;
        s.gate = None;
        assert!(markdown(&s).starts_with("## ⚠️ wharf run: error — `ghcr.io/acme/app`\n"));
        assert!(!markdown(&s).contains("### Findings"));
    }
}
