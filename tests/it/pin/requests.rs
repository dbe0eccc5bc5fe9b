//! What pin costs the registry: one manifest request per unique reference,
//! however often it appears, counted in the registry's own log.

use std::collections::BTreeMap;

use crate::common::tree;

use super::Env;

#[test]
fn same_tag_five_times_costs_one_manifest_request() {
    require_registry!();
    let env = Env::start();
    // Pushing logged manifest requests of its own; count from here on.
    let pushed = env.registry.requests().len();

    env.write(
        "Dockerfile",
        "FROM %%REG%%/app:1.0 AS a\nFROM %%REG%%/app:1.0 AS b\nFROM %%REG%%/multi:2.0\n",
    );
    env.write(
        "k8s/deploy.yaml",
        "kind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n\
         \x20       - image: %%REG%%/app:1.0\n        - image: \"%%REG%%/app:1.0\"\n\
         \x20       - image: %%REG%%/multi:2.0\n",
    );
    env.write(
        "compose.yaml",
        "services:\n  a:\n    image: %%REG%%/app:1.0\n",
    );
    let out = env.pin().args(["--write", "."]).run();
    out.assert_ok();

    let mut per_ref: BTreeMap<String, usize> = BTreeMap::new();
    for r in env.registry.requests().into_iter().skip(pushed) {
        if let Some((repo, reference)) = r.manifest() {
            *per_ref
                .entry(format!("{} {repo}:{reference}", r.method))
                .or_default() += 1;
        }
    }
    let app: usize = per_ref
        .iter()
        .filter(|(k, _)| k.ends_with(" app:1.0"))
        .map(|(_, n)| n)
        .sum();
    let multi: usize = per_ref
        .iter()
        .filter(|(k, _)| k.ends_with(" multi:2.0"))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(
        app, 1,
        "manifest requests for app:1.0 (5 occurrences): {per_ref:?}"
    );
    assert_eq!(
        multi, 1,
        "manifest requests for multi:2.0 (2 occurrences): {per_ref:?}"
    );
    assert_eq!(
        per_ref.values().sum::<usize>(),
        2,
        "no other manifest requests: {per_ref:?}"
    );

    let expected = [
        (
            "Dockerfile",
            "FROM %%REG%%/app:1.0@%%app:1.0%% AS a\nFROM %%REG%%/app:1.0@%%app:1.0%% AS b\nFROM %%REG%%/multi:2.0@%%multi:2.0%%\n",
        ),
        (
            "k8s/deploy.yaml",
            "kind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n\
             \x20       - image: %%REG%%/app:1.0@%%app:1.0%%\n        - image: \"%%REG%%/app:1.0@%%app:1.0%%\"\n\
             \x20       - image: %%REG%%/multi:2.0@%%multi:2.0%%\n",
        ),
        ("compose.yaml", "services:\n  a:\n    image: %%REG%%/app:1.0@%%app:1.0%%\n"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), env.expand(v).into_bytes()))
    .collect();
    tree::assert_tree(env.dir(), &expected, &out.describe());
}

#[test]
fn already_pinned_references_cost_no_request() {
    require_registry!();
    let env = Env::start();
    let pushed = env.registry.requests().len();
    env.write(
        "Dockerfile",
        "FROM %%REG%%/app:1.0@%%app:1.0%%\nFROM %%REG%%/multi@%%multi:2.0%%\n",
    );
    let before = env.snapshot();
    let out = env.pin().args(["--write", "."]).run();
    out.assert_ok();
    tree::assert_tree(env.dir(), &before, "pinned references are left alone");
    let after: Vec<_> = env.registry.requests().into_iter().skip(pushed).collect();
    assert!(
        after.iter().all(|r| r.manifest().is_none()),
        "manifest requests for pinned references: {after:?}"
    );
}
