//! Bad input under `--write`: exit 2, an error naming the file (and line
//! where there is one), and no file written, good ones included.

use std::os::unix::fs::PermissionsExt as _;

use crate::common::{tree, Output};

use super::Env;

/// Good files next to the bad one: pinnable against the registry, so the
/// only reason to fail is the bad file.
fn write_good_files(env: &Env) {
    env.write("Dockerfile", "FROM %%REG%%/app:1.0\n");
    env.write(
        "k8s/pod.yaml",
        "kind: Pod\nspec:\n  containers:\n    - image: %%REG%%/multi:2.0\n",
    );
    env.write(
        "compose.yaml",
        "services:\n  a:\n    image: \"%%REG%%/base\"\n",
    );
}

#[track_caller]
fn assert_nothing_written(
    env: &Env,
    before: &std::collections::BTreeMap<String, Vec<u8>>,
    out: &Output,
) {
    tree::assert_tree(
        env.dir(),
        before,
        &format!("a file was written despite an error\n{}", out.describe()),
    );
}

/// The error names `line` of a file: `line N` or `FILE:N`.
#[track_caller]
fn assert_names_line(out: &Output, file: &str, line: usize) {
    let stderr = &out.stderr;
    assert!(
        stderr.contains(&format!("line {line}")) || stderr.contains(&format!("{file}:{line}")),
        "the error does not give line {line} of {file}\n{}",
        out.describe()
    );
}

#[test]
fn malformed_yaml_is_an_error_naming_the_file_and_nothing_is_written() {
    require_registry!();
    let env = Env::start();
    write_good_files(&env);
    env.write(
        "k8s/bad.yaml",
        "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - name: a\n      image: %%REG%%/app:1.0\n\
         \x20     args: [unterminated, flow\n    - name: b\n",
    );
    let before = env.snapshot();
    let out = env.pin().args(["--write", "."]).run();
    out.assert_error(&["bad.yaml"]);
    assert_nothing_written(&env, &before, &out);
}

#[test]
fn invalid_reference_is_an_error_naming_file_and_line() {
    require_registry!();
    let env = Env::start();
    env.write(
        "k8s/pod.yaml",
        "kind: Pod\nspec:\n  containers:\n    - image: %%REG%%/multi:2.0\n",
    );
    env.write(
        "compose.yaml",
        "services:\n  a:\n    image: \"%%REG%%/base\"\n",
    );
    env.write(
        "bad/Dockerfile",
        "FROM %%REG%%/app:1.0 AS ok\nRUN true\nFROM Ubuntu:22.04\n",
    );
    let before = env.snapshot();
    let out = env.pin().args(["--write", "."]).run();
    out.assert_error(&["Dockerfile", "Ubuntu:22.04"]);
    assert_names_line(&out, "Dockerfile", 3);
    assert_nothing_written(&env, &before, &out);
}

#[test]
fn invalid_reference_in_yaml_is_an_error_naming_file_and_line() {
    require_registry!();
    let env = Env::start();
    write_good_files(&env);
    env.write(
        "k8s/bad-ref.yaml",
        "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - name: a\n      image: \"%%REG%%/App:1.0\"\n",
    );
    let before = env.snapshot();
    let out = env.pin().args(["--write", "."]).run();
    out.assert_error(&["bad-ref.yaml"]);
    assert_names_line(&out, "bad-ref.yaml", 6);
    assert_nothing_written(&env, &before, &out);
}

#[test]
fn unreadable_file_is_an_error_naming_it() {
    require_registry!();
    let env = Env::start();
    write_good_files(&env);
    env.write("locked/Dockerfile", "FROM %%REG%%/app:2.0\n");
    let locked = env.dir().join("locked/Dockerfile");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).expect("chmod 000");
    if std::fs::read(&locked).is_ok() {
        // Root (or CAP_DAC_OVERRIDE) reads it anyway; the dangling symlink
        // test below covers unreadable files there.
        eprintln!("skipping unreadable_file_is_an_error_naming_it: a chmod 000 file is still readable here");
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o644))
            .expect("chmod back");
        return;
    }
    let before = env.snapshot();
    let out = env.pin().args(["--write", "."]).run();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o644)).expect("chmod back");
    out.assert_error(&["locked/Dockerfile"]);
    assert_nothing_written(&env, &before, &out);
}

#[test]
fn dangling_symlink_named_as_path_is_an_error_naming_it() {
    require_registry!();
    let env = Env::start();
    write_good_files(&env);
    std::fs::create_dir_all(env.dir().join("gone")).expect("dir");
    std::os::unix::fs::symlink("does-not-exist", env.dir().join("gone/Dockerfile"))
        .expect("symlink");
    let before = env.snapshot();
    let out = env
        .pin()
        .args([
            "--write",
            "Dockerfile",
            "k8s",
            "compose.yaml",
            "gone/Dockerfile",
        ])
        .run();
    out.assert_error(&["gone/Dockerfile"]);
    assert_nothing_written(&env, &before, &out);
}

#[test]
fn missing_path_argument_is_an_error_naming_it() {
    require_registry!();
    let env = Env::start();
    write_good_files(&env);
    let before = env.snapshot();
    let out = env.pin().args(["--write", ".", "no/such/dir"]).run();
    out.assert_error(&["no/such/dir"]);
    assert_nothing_written(&env, &before, &out);
}

#[test]
fn file_over_16_mib_is_refused_by_name() {
    require_registry!();
    let env = Env::start();
    write_good_files(&env);
    // 50 MB of valid YAML: a pod followed by comment lines.
    let mut big = env
        .expand("kind: Pod\nspec:\n  containers:\n    - image: %%REG%%/app:1.0\n")
        .into_bytes();
    let filler = format!("# {}\n", "x".repeat(98));
    while big.len() < 50_000_000 {
        big.extend_from_slice(filler.as_bytes());
    }
    tree::write(env.dir(), "k8s/big.yaml", &big);
    let before = env.snapshot();
    let out = env.pin().args(["--write", "."]).run();
    out.assert_error(&["big.yaml"]);
    assert_nothing_written(&env, &before, &out);
}

#[test]
fn binary_file_named_dockerfile_is_refused_by_name() {
    require_registry!();
    let env = Env::start();
    write_good_files(&env);
    let mut binary = b"\x7fELF\x02\x01\x01\x00\x00\x00".to_vec();
    binary.extend((0u8..=255).cycle().take(4096));
    tree::write(env.dir(), "bin/Dockerfile", &binary);
    let before = env.snapshot();
    let out = env.pin().args(["--write", "."]).run();
    out.assert_error(&["bin/Dockerfile"]);
    assert_nothing_written(&env, &before, &out);
}

#[test]
fn tag_the_registry_does_not_have_is_an_error_and_nothing_is_written() {
    require_registry!();
    let env = Env::start();
    write_good_files(&env);
    env.write("missing/Dockerfile", "FROM %%REG%%/app:9.9\n");
    let before = env.snapshot();
    let out = env.pin().args(["--write", "."]).run();
    out.assert_error(&["app:9.9"]);
    assert_nothing_written(&env, &before, &out);
}

#[test]
fn repository_the_registry_does_not_have_is_an_error() {
    require_registry!();
    let env = Env::start();
    write_good_files(&env);
    env.write(
        "missing/compose.yaml",
        "services:\n  a:\n    image: %%REG%%/nobody/here:1\n",
    );
    let before = env.snapshot();
    let out = env.pin().args(["--write", "."]).run();
    out.assert_error(&["nobody/here:1"]);
    assert_nothing_written(&env, &before, &out);
}
