//! Plain HTTP only for registries named insecure, by flag or environment.

use crate::common::tree;

use super::Env;

#[test]
fn plain_http_registry_is_refused_unless_named_insecure() {
    require_registry!();
    let env = Env::start();
    env.write("Dockerfile", "FROM %%REG%%/app:1.0\n");
    let before = env.snapshot();
    let out = crate::common::wharf()
        .args(["pin", "--write", "."])
        .current_dir(env.dir())
        .run();
    out.assert_error(&[env.registry.host()]);
    tree::assert_tree(
        env.dir(),
        &before,
        "files after a refused plain-HTTP registry",
    );
}

#[test]
fn insecure_registries_environment_variable_allows_plain_http() {
    require_registry!();
    let env = Env::start();
    env.write("Dockerfile", "FROM %%REG%%/app:1.0\n");
    let out = crate::common::wharf()
        .env(
            "WHARF_INSECURE_REGISTRIES",
            format!("registry.invalid, {}", env.registry.host()),
        )
        .args(["pin", "--write", "."])
        .current_dir(env.dir())
        .run();
    out.assert_ok();
    let got = std::fs::read_to_string(env.dir().join("Dockerfile")).expect("Dockerfile");
    assert_eq!(
        got,
        env.expand("FROM %%REG%%/app:1.0@%%app:1.0%%\n"),
        "{}",
        out.describe()
    );
}
