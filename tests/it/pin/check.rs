//! `pin --check`: lists what is not pinned, resolves nothing, needs no
//! registry. The references point at a listener that would notice any
//! connection.

use std::net::TcpListener;

use crate::common::tree;
use crate::common::wharf;

use super::{json_references, temp_tree};

/// A loopback listener that never answers; `touched()` says whether anyone
/// connected to it.
struct Tripwire(TcpListener);

impl Tripwire {
    fn new() -> Tripwire {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        Tripwire(listener)
    }

    fn host(&self) -> String {
        self.0.local_addr().expect("addr").to_string()
    }

    fn touched(&self) -> bool {
        self.0.accept().is_ok()
    }
}

const DIGEST: &str = "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

fn write_check_tree(dir: &std::path::Path, reg: &str) {
    tree::write(
        dir,
        "Dockerfile",
        format!(
            "FROM {reg}/app:1.0 AS build\n\
             FROM {reg}/app:1.0@{DIGEST}\n\
             ARG BASE\n\
             FROM $BASE\n\
             COPY --from={reg}/tool/cli:v3 /a /a\n\
             COPY --from=build /b /b\n"
        ),
    );
    tree::write(
        dir,
        "deploy/pod.yaml",
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n\
             \x20   - name: a\n      image: \"{reg}/multi:2.0\"\n\
             \x20   - name: b\n      image: {reg}/base:1@{DIGEST}\n"
        ),
    );
    tree::write(
        dir,
        "compose.yaml",
        format!("services:\n  web:\n    image: {reg}/web:3\n"),
    );
}

#[test]
fn check_lists_file_and_line_of_each_unpinned_reference_and_exits_1() {
    let tripwire = Tripwire::new();
    let reg = tripwire.host();
    let dir = temp_tree();
    write_check_tree(dir.path(), &reg);
    let before = tree::snapshot(dir.path());

    // No path: the current directory.
    let out = wharf()
        .args(["pin", "--check"])
        .current_dir(dir.path())
        .run();
    out.assert_code(1);
    let mut lines: Vec<String> = out
        .stdout
        .lines()
        .map(|l| tree::relative(l, dir.path()))
        .collect();
    lines.sort();
    let (unresolvable, mut unpinned): (Vec<String>, Vec<String>) = lines
        .into_iter()
        .partition(|l| l.contains(" cannot be pinned: "));
    unpinned.sort();
    let mut want = vec![
        format!("Dockerfile:1: {reg}/app:1.0 is not pinned to a digest"),
        format!("Dockerfile:5: {reg}/tool/cli:v3 is not pinned to a digest"),
        format!("compose.yaml:3: {reg}/web:3 is not pinned to a digest"),
        format!("deploy/pod.yaml:8: {reg}/multi:2.0 is not pinned to a digest"),
    ];
    want.sort();
    assert_eq!(unpinned, want, "--check lines\n{}", out.describe());
    assert_eq!(
        unresolvable.len(),
        1,
        "one `cannot be pinned` line\n{}",
        out.describe()
    );
    let line = &unresolvable[0];
    assert!(
        line.starts_with("Dockerfile:4: $BASE cannot be pinned: "),
        "{line}"
    );
    assert!(
        line.len() > "Dockerfile:4: $BASE cannot be pinned: ".len() + 3,
        "a reason: {line}"
    );

    assert!(!tripwire.touched(), "--check made a network connection");
    tree::assert_tree(dir.path(), &before, "--check changed files");
}

#[test]
fn check_exits_0_on_a_fully_pinned_tree() {
    let tripwire = Tripwire::new();
    let reg = tripwire.host();
    let dir = temp_tree();
    tree::write(
        dir.path(),
        "Dockerfile",
        format!("FROM {reg}/app:1.0@{DIGEST} AS a\nFROM scratch\nCOPY --from=a /x /x\nFROM a\n"),
    );
    tree::write(
        dir.path(),
        "k8s/pod.yaml",
        format!("kind: Pod\nspec:\n  containers:\n    - image: {reg}/app@{DIGEST}\n"),
    );
    tree::write(
        dir.path(),
        "values.yaml",
        format!("image:\n  repository: {reg}/app\n  tag: \"1.0\"\n  digest: \"{DIGEST}\"\n"),
    );
    let before = tree::snapshot(dir.path());
    let out = wharf()
        .args(["pin", "--check", "."])
        .current_dir(dir.path())
        .run();
    out.assert_ok();
    assert_eq!(out.stdout.trim(), "", "nothing to list\n{}", out.describe());
    assert!(!tripwire.touched(), "--check made a network connection");
    tree::assert_tree(dir.path(), &before, "--check changed files");
}

#[test]
fn check_json_gives_unpinned_pinned_and_unresolvable_states() {
    let tripwire = Tripwire::new();
    let reg = tripwire.host();
    let dir = temp_tree();
    write_check_tree(dir.path(), &reg);
    let out = wharf()
        .args(["pin", "--check", "--format", "json", "."])
        .current_dir(dir.path())
        .run();
    out.assert_code(1);
    let report = out.json();
    let got: Vec<_> = json_references(&report, dir.path())
        .into_iter()
        .map(|(file, line, state, digest, reason)| (file, line, state, digest, reason.is_some()))
        .collect();
    let d = Some(DIGEST.to_string());
    let row = |f: &str, l: u64, s: &str, d: Option<String>, r: bool| {
        (f.to_string(), l, s.to_string(), d, r)
    };
    let mut want = vec![
        row("Dockerfile", 1, "unpinned", None, false),
        row("Dockerfile", 2, "pinned", d.clone(), false),
        row("Dockerfile", 4, "unresolvable", None, true),
        row("Dockerfile", 5, "unpinned", None, false),
        row("compose.yaml", 3, "unpinned", None, false),
        row("deploy/pod.yaml", 8, "unpinned", None, false),
        row("deploy/pod.yaml", 10, "pinned", d, false),
    ];
    want.sort();
    assert_eq!(got, want, "{report:#}");
    assert_eq!(
        report["changed_files"],
        serde_json::json!([]),
        "--check changes nothing"
    );
    assert!(!tripwire.touched(), "--check made a network connection");
}

#[test]
fn helm_map_without_a_tag_cannot_be_pinned_from_the_file() {
    let tripwire = Tripwire::new();
    let reg = tripwire.host();
    let dir = temp_tree();
    tree::write(
        dir.path(),
        "chart/values.yaml",
        format!("image:\n  repository: {reg}/app\n  tag: \"\"\n  pullPolicy: Always\n"),
    );
    let out = wharf()
        .args(["pin", "--check", "."])
        .current_dir(dir.path())
        .run();
    out.assert_code(1);
    let lines: Vec<String> = out
        .stdout
        .lines()
        .map(|l| tree::relative(l, dir.path()))
        .collect();
    assert_eq!(lines.len(), 1, "one line\n{}", out.describe());
    assert!(
        lines[0].starts_with("chart/values.yaml:") && lines[0].contains(" cannot be pinned: "),
        "{}",
        out.describe()
    );
    assert!(!tripwire.touched(), "--check made a network connection");
}
