//! The default mode (a diff, no writes) and idempotence of `--write`.

use std::process::Command;

use crate::common::{missing_tool, run_command, tree};

use super::{json_changed_files, json_references, temp_tree, Env};

#[test]
fn default_mode_prints_a_diff_and_changes_nothing() {
    require_registry!();
    let env = Env::start();
    let before = env.load_fixture("pin/kinds/before");
    let out = env.pin().arg(".").run();
    out.assert_ok();
    tree::assert_tree(
        env.dir(),
        &before,
        &format!("default mode wrote files\n{}", out.describe()),
    );

    let after = env.fixture("pin/kinds/after");
    let headers: Vec<String> = out
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("+++ b/"))
        .map(|p| tree::relative(p.split('\t').next().unwrap_or(p), env.dir()))
        .collect();
    let mut headers_sorted = headers.clone();
    headers_sorted.sort();
    assert_eq!(
        headers_sorted,
        super::changed(&before, &after),
        "files in the diff\n{}",
        out.describe()
    );
    for file in &headers {
        assert!(
            out.stdout.lines().any(|l| l.starts_with("--- a/")
                && tree::relative(&l[6..], env.dir()).starts_with(file.as_str())),
            "no `--- a/{file}` header\n{}",
            out.describe()
        );
    }
    let dockerfile_minus = env.expand("-FROM %%REG%%/app:1.0 AS build");
    let dockerfile_plus = env.expand("+FROM %%REG%%/app:1.0@%%app:1.0%% AS build");
    assert!(
        out.stdout.lines().any(|l| l == dockerfile_minus),
        "{}",
        out.describe()
    );
    assert!(
        out.stdout.lines().any(|l| l == dockerfile_plus),
        "{}",
        out.describe()
    );

    // The diff is exactly what --write would do: applied with patch(1) to a
    // copy of the tree, it gives the golden `after` tree.
    if let Some(missing) = missing_tool(&["patch"]) {
        eprintln!("not applying the diff: `{missing}` is not installed");
        return;
    }
    let copy = temp_tree();
    tree::write_all(copy.path(), &before);
    let diff = copy.path().join("..").join(format!(
        "{}.diff",
        copy.path().file_name().expect("name").to_string_lossy()
    ));
    std::fs::write(&diff, &out.stdout).expect("write diff");
    run_command(
        Command::new("patch")
            .args(["-p1", "--batch", "--no-backup-if-mismatch", "-i"])
            .arg(&diff)
            .current_dir(copy.path()),
    );
    let _ = std::fs::remove_file(&diff);
    tree::assert_tree(
        copy.path(),
        &after,
        "the default mode's diff applied with patch -p1",
    );
}

#[test]
fn second_write_changes_nothing() {
    require_registry!();
    let env = Env::start();
    env.load_fixture("pin/kinds/before");
    env.pin().args(["--write", "."]).run().assert_ok();
    let first = env.snapshot();

    let out = env.pin().args(["--write", "--format", "json", "."]).run();
    out.assert_ok();
    tree::assert_same(
        &env.snapshot(),
        &first,
        &format!("second --write\n{}", out.describe()),
    );
    let report = out.json();
    assert_eq!(
        json_changed_files(&report, env.dir()),
        Vec::<String>::new(),
        "{report:#}"
    );
    let states: Vec<String> = json_references(&report, env.dir())
        .into_iter()
        .map(|r| r.2)
        .collect();
    assert!(
        !states.is_empty() && states.iter().all(|s| s == "pinned"),
        "{report:#}"
    );

    // Nothing left to diff, nothing left to check.
    let out = env.pin().arg(".").run();
    out.assert_ok();
    assert!(
        !out.stdout.contains("+++ "),
        "a diff after --write\n{}",
        out.describe()
    );
    env.pin().args(["--check", "."]).run().assert_ok();
    tree::assert_same(
        &env.snapshot(),
        &first,
        "default mode and --check after --write",
    );
}

#[test]
fn second_write_changes_nothing_on_golden_edge_cases() {
    require_registry!();
    let env = Env::start();
    env.load_fixture("pin/golden/before");
    env.pin().args(["--write", "."]).run().assert_ok();
    let first = env.snapshot();
    tree::assert_same(&first, &env.fixture("pin/golden/after"), "first --write");
    let out = env.pin().args(["--write", "."]).run();
    out.assert_ok();
    tree::assert_same(
        &env.snapshot(),
        &first,
        &format!("second --write\n{}", out.describe()),
    );
}

#[test]
fn write_keeps_file_permissions() {
    use std::os::unix::fs::PermissionsExt as _;
    require_registry!();
    let env = Env::start();
    env.write("Dockerfile", "FROM %%REG%%/app:1.0\n");
    env.write(
        "deploy/pod.yaml",
        "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - image: %%REG%%/app:2.0\n",
    );
    let set = |rel: &str, mode: u32| {
        std::fs::set_permissions(env.dir().join(rel), std::fs::Permissions::from_mode(mode))
            .expect("chmod");
    };
    set("Dockerfile", 0o640);
    set("deploy/pod.yaml", 0o755);
    env.pin().args(["--write", "."]).run().assert_ok();
    let mode = |rel: &str| {
        std::fs::metadata(env.dir().join(rel))
            .expect("metadata")
            .permissions()
            .mode()
            & 0o7777
    };
    assert_eq!(mode("Dockerfile"), 0o640, "Dockerfile mode after --write");
    assert_eq!(
        mode("deploy/pod.yaml"),
        0o755,
        "pod.yaml mode after --write"
    );
    let got = std::fs::read_to_string(env.dir().join("Dockerfile")).expect("read");
    assert_eq!(got, env.expand("FROM %%REG%%/app:1.0@%%app:1.0%%\n"));
}

#[test]
fn same_file_named_twice_is_pinned_once() {
    require_registry!();
    let env = Env::start();
    env.write("Dockerfile", "FROM %%REG%%/app:1.0\n");
    env.write(
        "k8s/pod.yaml",
        "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - image: %%REG%%/multi:2.0\n",
    );
    let out = env
        .pin()
        .args(["--write", ".", "Dockerfile", "k8s", "k8s/pod.yaml"])
        .run();
    out.assert_ok();
    let expected = [
        ("Dockerfile", "FROM %%REG%%/app:1.0@%%app:1.0%%\n"),
        ("k8s/pod.yaml", "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - image: %%REG%%/multi:2.0@%%multi:2.0%%\n"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), env.expand(v).into_bytes()))
    .collect();
    tree::assert_tree(env.dir(), &expected, &out.describe());
}
