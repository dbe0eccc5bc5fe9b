//! Byte-exact rewrites: each case is `tests/fixtures/pin/golden/before/<case>`
//! pinned with `--write`, compared byte for byte with `after/<case>`. Nothing
//! outside the edited spans may change: line endings, BOMs, comments, quotes,
//! anchors, flow style, a missing final newline.

use crate::common::tree;

use super::Env;

#[track_caller]
fn golden(case: &str) {
    let env = Env::start();
    env.load_fixture(&format!("pin/golden/before/{case}"));
    let out = env.pin().args(["--write", "."]).run();
    out.assert_ok();
    tree::assert_tree(
        env.dir(),
        &env.fixture(&format!("pin/golden/after/{case}")),
        &format!("golden case `{case}`\n{}", out.describe()),
    );
}

macro_rules! golden_tests {
    ($($name:ident => $case:literal,)+) => {
        $(
            #[test]
            fn $name() {
                require_registry!();
                golden($case);
            }
        )+
    };
}

golden_tests! {
    crlf_line_endings_are_kept => "crlf",
    utf8_bom_is_kept_and_does_not_hide_the_first_line => "bom",
    comments_stay_and_commented_out_references_are_not_pinned => "comments",
    single_double_and_unquoted_values_keep_their_quotes => "quoting",
    anchored_reference_is_pinned_once_and_aliases_follow => "anchors",
    flow_style_yaml_is_edited_in_place => "flow",
    missing_final_newline_stays_missing => "no-newline",
    dockerfile_spellings_lowercase_platform_flags_stages_scratch => "forms",
    kustomization_digest_key_goes_after_the_entrys_last_key => "kustomize",
    kustomization_insertion_in_crlf_file_uses_crlf => "kustomize-crlf",
    kustomization_flow_entries_zero_indent_and_trailing_comments => "kustomize-forms",
    multibyte_utf8_before_the_edit_counts_bytes_not_chars => "utf8",
    dockerfile_line_continuations_are_followed => "continuation",
    dockerfile_escape_directive_is_honoured => "escape",
    dockerfile_heredoc_bodies_are_not_references => "heredoc",
}
