//! Every file kind pin reads, pinned against the spawned registry: the
//! golden `after` trees hold the digests the registry serves.

use crate::common::oci::{registry_digest, registry_manifest};
use crate::common::tree;

use super::{changed, json_changed_files, json_references, Env};

#[test]
fn pins_every_file_kind_to_the_digests_the_registry_serves() {
    require_registry!();
    let env = Env::start();
    // The harness's digests are what the registry serves, by skopeo's count.
    let reg = &env.registry;
    assert_eq!(registry_digest(reg, "app", "1.0"), env.images.app.digest);
    assert_eq!(registry_digest(reg, "app", "2.0"), env.images.app2.digest);
    assert_eq!(
        registry_digest(reg, "multi", "2.0"),
        env.images.multi.digest
    );
    assert_eq!(
        registry_digest(reg, "base", "latest"),
        env.images.base.digest
    );
    assert_eq!(
        registry_digest(reg, "tool/cli", "v3"),
        env.images.cli.digest
    );

    env.load_fixture("pin/kinds/before");
    let out = env.pin().args(["--write", "."]).run();
    out.assert_ok();
    tree::assert_tree(
        env.dir(),
        &env.fixture("pin/kinds/after"),
        &format!("tree after `pin --write`\n{}", out.describe()),
    );
}

#[test]
fn json_report_lists_every_reference_with_state_and_digest() {
    require_registry!();
    let env = Env::start();
    let before = env.load_fixture("pin/kinds/before");
    let out = env.pin().args(["--write", "--format", "json", "."]).run();
    out.assert_ok();
    let report = out.json();

    let i = &env.images;
    let fake = format!("sha256:{}", "0123456789abcdef".repeat(4));
    let resolved = |file: &str, line: u64, digest: &str| {
        (
            file.to_string(),
            line,
            "resolved".to_string(),
            Some(digest.to_string()),
            None,
        )
    };
    let pinned = |file: &str, line: u64, digest: &str| {
        (
            file.to_string(),
            line,
            "pinned".to_string(),
            Some(digest.to_string()),
            None,
        )
    };
    let mut want = vec![
        resolved("Containerfile", 1, &i.base.digest),
        resolved("Dockerfile", 1, &i.app.digest),
        resolved("Dockerfile", 4, &i.multi.digest),
        resolved("Dockerfile", 6, &i.cli.digest),
        resolved("build/app.Dockerfile", 1, &i.cli.digest),
        resolved("chart/values.yaml", 7, &i.multi.digest),
        resolved("chart/values.yaml", 11, &i.app.digest),
        resolved("chart/values.yaml", 16, &i.cli.digest),
        resolved("chart/values.yaml", 20, &i.app2.digest),
        pinned("chart/values.yaml", 23, &i.base.digest),
        resolved("compose.yaml", 3, &i.app.digest),
        resolved("compose.yaml", 9, &i.multi.digest),
        resolved("compose.yaml", 11, &i.cli.digest),
        resolved("k8s/cronjob.yml", 14, &i.cli.digest),
        resolved("k8s/deployment.yaml", 16, &i.base.digest),
        resolved("k8s/deployment.yaml", 19, &i.app.digest),
        resolved("k8s/deployment.yaml", 23, &i.multi.digest),
        resolved("k8s/deployment.yaml", 32, &i.cli.digest),
        resolved("k8s/deployment.yaml", 35, &i.app2.digest),
        pinned("pinned/Dockerfile", 1, &fake),
        pinned("pinned/Dockerfile", 2, &i.app.digest),
    ];
    want.sort();
    let got = json_references(&report, env.dir());
    // Kustomization entries are checked without their line: an insertion
    // reports the entry's line, which the contract leaves to the finder.
    let (kustomize, others): (Vec<_>, Vec<_>) = got
        .into_iter()
        .partition(|r| r.0 == "overlay/kustomization.yaml");
    assert_eq!(
        others, want,
        "references other than kustomization's\n{report:#}"
    );
    let mut kustomize: Vec<_> = kustomize.into_iter().map(|r| (r.2, r.3, r.4)).collect();
    kustomize.sort();
    let mut want_kustomize = vec![
        ("resolved".to_string(), Some(i.app.digest.clone()), None),
        ("resolved".to_string(), Some(i.multi.digest.clone()), None),
        ("pinned".to_string(), Some(i.base.digest.clone()), None),
    ];
    want_kustomize.sort();
    assert_eq!(
        kustomize, want_kustomize,
        "kustomization references\n{report:#}"
    );

    // Every reference names what it was read as.
    for r in report["references"].as_array().expect("references") {
        assert!(
            r["reference"].as_str().is_some_and(|s| !s.is_empty()),
            "reference without `reference`: {r}"
        );
    }
    let after = env.snapshot();
    assert_eq!(
        json_changed_files(&report, env.dir()),
        changed(&before, &after)
    );
    tree::assert_same(
        &after,
        &env.fixture("pin/kinds/after"),
        "tree after --format json --write",
    );
}

#[test]
fn platform_flag_pins_that_platforms_manifest_not_the_index() {
    require_registry!();
    let env = Env::start();
    // The arm64 digest the harness computed is the one in the index the
    // registry serves.
    let index: serde_json::Value =
        serde_json::from_slice(&registry_manifest(&env.registry, "multi", "2.0")).expect("index");
    let served_arm64 = index["manifests"]
        .as_array()
        .expect("manifests")
        .iter()
        .find(|m| m["platform"]["architecture"] == "arm64")
        .and_then(|m| m["digest"].as_str())
        .expect("arm64 entry");
    assert_eq!(served_arm64, env.images.multi.platform("linux/arm64"));

    env.write("Dockerfile", "FROM %%REG%%/multi:2.0\nRUN true\n");
    env.write(
        "pod.yaml",
        "kind: Pod\nspec:\n  containers:\n    - image: \"%%REG%%/multi:2.0\"\n",
    );
    env.write(
        "compose.yaml",
        "services:\n  a:\n    image: %%REG%%/multi:2.0\n",
    );
    let out = env
        .pin()
        .args(["--write", "--platform", "linux/arm64", "."])
        .run();
    out.assert_ok();
    let want = |text: &str| env.expand(text).into_bytes();
    let expected = [
        ("Dockerfile", want("FROM %%REG%%/multi:2.0@%%multi:2.0 linux/arm64%%\nRUN true\n")),
        (
            "pod.yaml",
            want("kind: Pod\nspec:\n  containers:\n    - image: \"%%REG%%/multi:2.0@%%multi:2.0 linux/arm64%%\"\n"),
        ),
        ("compose.yaml", want("services:\n  a:\n    image: %%REG%%/multi:2.0@%%multi:2.0 linux/arm64%%\n")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    tree::assert_tree(
        env.dir(),
        &expected,
        &format!("--platform linux/arm64\n{}", out.describe()),
    );
}

#[test]
fn platform_amd64_differs_from_arm64() {
    require_registry!();
    let env = Env::start();
    env.write("Dockerfile", "FROM %%REG%%/multi:2.0\n");
    env.pin()
        .args(["--write", "--platform", "linux/amd64", "."])
        .run()
        .assert_ok();
    let got = std::fs::read_to_string(env.dir().join("Dockerfile")).expect("Dockerfile");
    assert_eq!(
        got,
        env.expand("FROM %%REG%%/multi:2.0@%%multi:2.0 linux/amd64%%\n")
    );
}

#[test]
fn style_digest_drops_the_tag_except_in_helm_tag_fields() {
    require_registry!();
    let env = Env::start();
    env.write(
        "Dockerfile",
        "FROM %%REG%%/app:1.0 AS a\nFROM %%REG%%/base\nCOPY --from=%%REG%%/multi:2.0 /x /x\n",
    );
    env.write(
        "k8s/pod.yaml",
        "kind: Pod\nspec:\n  containers:\n    - name: a\n      image: '%%REG%%/tool/cli:v3'\n",
    );
    env.write(
        "compose.yaml",
        "services:\n  a:\n    image: \"%%REG%%/app:2.0\"\n",
    );
    env.write(
        "chart/values.yaml",
        "image:\n  repository: %%REG%%/multi\n  tag: \"2.0\"\nside:\n  image: %%REG%%/app:1.0\n",
    );
    env.write(
        "kustomization.yaml",
        "images:\n  - name: %%REG%%/app\n    newTag: \"2.0\"\n",
    );
    let out = env.pin().args(["--write", "--style", "digest", "."]).run();
    out.assert_ok();
    let expected = [
        ("Dockerfile", "FROM %%REG%%/app@%%app:1.0%% AS a\nFROM %%REG%%/base@%%base:latest%%\nCOPY --from=%%REG%%/multi@%%multi:2.0%% /x /x\n"),
        ("k8s/pod.yaml", "kind: Pod\nspec:\n  containers:\n    - name: a\n      image: '%%REG%%/tool/cli@%%tool/cli:v3%%'\n"),
        ("compose.yaml", "services:\n  a:\n    image: \"%%REG%%/app@%%app:2.0%%\"\n"),
        // Charts join repository and tag with ':', so the tag field keeps
        // its tag whatever the style.
        (
            "chart/values.yaml",
            "image:\n  repository: %%REG%%/multi\n  tag: \"2.0@%%multi:2.0%%\"\nside:\n  image: %%REG%%/app@%%app:1.0%%\n",
        ),
        ("kustomization.yaml", "images:\n  - name: %%REG%%/app\n    newTag: \"2.0\"\n    digest: %%app:2.0%%\n"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), env.expand(v).into_bytes()))
    .collect();
    tree::assert_tree(
        env.dir(),
        &expected,
        &format!("--style digest\n{}", out.describe()),
    );
}

#[test]
fn explicit_file_paths_are_pinned_and_nothing_else() {
    require_registry!();
    let env = Env::start();
    env.write("a/Dockerfile", "FROM %%REG%%/app:1.0\n");
    env.write("b/Dockerfile", "FROM %%REG%%/app:2.0\n");
    env.write(
        "c/compose.yaml",
        "services:\n  x:\n    image: %%REG%%/base\n",
    );
    env.pin()
        .args(["--write", "a/Dockerfile", "c"])
        .run()
        .assert_ok();
    let expected = [
        ("a/Dockerfile", "FROM %%REG%%/app:1.0@%%app:1.0%%\n"),
        ("b/Dockerfile", "FROM %%REG%%/app:2.0\n"),
        (
            "c/compose.yaml",
            "services:\n  x:\n    image: %%REG%%/base@%%base:latest%%\n",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), env.expand(v).into_bytes()))
    .collect();
    tree::assert_tree(env.dir(), &expected, "only the named paths are pinned");
}

#[test]
fn platform_missing_from_the_index_is_an_error() {
    require_registry!();
    let env = Env::start();
    env.write("Dockerfile", "FROM %%REG%%/multi:2.0\n");
    let before = env.snapshot();
    let out = env
        .pin()
        .args(["--write", "--platform", "linux/s390x", "."])
        .run();
    out.assert_error(&["linux/s390x"]);
    tree::assert_tree(env.dir(), &before, "files after a missing platform");
}
