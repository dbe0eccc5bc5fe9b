//! Registry faults through the injecting proxy: transient ones are retried
//! (Retry-After honoured), permanent ones end in exit 2 with a clear error and
//! no file written.

use std::time::Duration;

use crate::common::proxy::{Fault, Proxy};
use crate::common::{free_port, tree};

use super::{pin_in, Env};

const DOCKERFILE: &str = "FROM %%PROXY%%/app:1.0\nRUN true\nFROM %%PROXY%%/multi:2.0\n";
const PINNED: &str =
    "FROM %%PROXY%%/app:1.0@%%app:1.0%%\nRUN true\nFROM %%PROXY%%/multi:2.0@%%multi:2.0%%\n";

/// Writes the Dockerfile naming the proxy as its registry.
fn setup(env: &Env, proxy_host: &str) {
    env.write("Dockerfile", &DOCKERFILE.replace("%%PROXY%%", proxy_host));
}

#[track_caller]
fn assert_pinned(env: &Env, proxy_host: &str, context: &str) {
    let got = std::fs::read_to_string(env.dir().join("Dockerfile")).expect("Dockerfile");
    assert_eq!(
        got,
        env.expand(&PINNED.replace("%%PROXY%%", proxy_host)),
        "{context}"
    );
}

#[track_caller]
fn transient(faults: Vec<Fault>) -> (Env, Proxy, crate::common::Output) {
    let env = Env::start();
    let proxy = Proxy::for_manifests(env.registry.host(), faults);
    setup(&env, proxy.host());
    let out = pin_in(env.dir(), proxy.host())
        .args(["--write", "--concurrency", "1", "."])
        .run();
    out.assert_ok();
    assert_pinned(&env, proxy.host(), &out.describe());
    assert_eq!(
        proxy.faults_left(),
        0,
        "the faults were not all hit: {:?}",
        proxy.seen()
    );
    (env, proxy, out)
}

#[test]
fn retries_after_503() {
    require_registry!();
    let (_env, proxy, _) = transient(vec![Fault::Unavailable]);
    assert!(
        proxy.matched().len() >= 3,
        "503 then a retry: {:?}",
        proxy.seen()
    );
}

#[test]
fn retries_after_two_503s_in_a_row() {
    require_registry!();
    transient(vec![Fault::Unavailable, Fault::Unavailable]);
}

#[test]
fn honours_retry_after_on_429() {
    require_registry!();
    let (_env, proxy, out) = transient(vec![Fault::TooManyRequests]);
    let matched = proxy.matched();
    let first = &matched[0];
    assert_eq!(first.fault, Some(Fault::TooManyRequests));
    // The retry of the same manifest waited for Retry-After: 1.
    let retry = matched
        .iter()
        .skip(1)
        .find(|s| s.path == first.path)
        .unwrap_or_else(|| panic!("no retry of {}: {:?}", first.path, matched));
    let waited = retry.at.duration_since(first.at);
    assert!(
        waited >= Duration::from_millis(950),
        "retried {} after {waited:?}, before Retry-After: 1\n{}",
        first.path,
        out.describe()
    );
}

#[test]
fn retries_after_connection_reset() {
    require_registry!();
    let (_env, proxy, _) = transient(vec![Fault::Reset]);
    assert!(
        proxy.matched().len() >= 3,
        "reset then a retry: {:?}",
        proxy.seen()
    );
}

#[test]
fn permanent_503_fails_after_bounded_retries_and_writes_nothing() {
    require_registry!();
    let env = Env::start();
    let proxy = Proxy::for_manifests(env.registry.host(), vec![Fault::Unavailable; 1000]);
    setup(&env, proxy.host());
    env.write(
        "compose.yaml",
        "services:\n  a:\n    image: %%REG%%/app:2.0\n",
    );
    let before = env.snapshot();
    let mut cmd = pin_in(env.dir(), proxy.host());
    cmd.arg("--insecure-registry").arg(env.registry.host());
    let out = cmd.args(["--write", "--concurrency", "1", "."]).run();
    out.assert_error(&[proxy.host()]);
    tree::assert_tree(
        env.dir(),
        &before,
        &format!("files after a failed --write\n{}", out.describe()),
    );

    // At most 5 attempts per manifest.
    let matched = proxy.matched();
    let mut per_path = std::collections::BTreeMap::<String, usize>::new();
    for s in &matched {
        *per_path.entry(s.path.clone()).or_default() += 1;
    }
    assert!(
        per_path.values().all(|&n| (2..=5).contains(&n)),
        "attempts per manifest (want 2..=5): {per_path:?}"
    );
}

#[test]
fn stalled_registry_times_out_and_writes_nothing() {
    require_registry!();
    let env = Env::start();
    let proxy = Proxy::for_manifests(env.registry.host(), vec![Fault::Stall; 1000]);
    setup(&env, proxy.host());
    let before = env.snapshot();
    let out = pin_in(env.dir(), proxy.host())
        .env("WHARF_HTTP_TIMEOUT", "1")
        .args(["--write", "."])
        .deadline(Duration::from_secs(90))
        .run();
    out.assert_error(&[proxy.host()]);
    assert!(
        out.elapsed < Duration::from_secs(60),
        "5 attempts of 1 s each plus backoff took {:?}",
        out.elapsed
    );
    tree::assert_tree(
        env.dir(),
        &before,
        &format!("files after a timed-out --write\n{}", out.describe()),
    );
    let per_path = proxy.matched().len();
    assert!(
        per_path >= 2,
        "the stalled request was never retried: {:?}",
        proxy.seen()
    );
}

#[test]
fn unreachable_registry_is_a_clear_error_and_writes_nothing() {
    let dir = super::temp_tree();
    let host = format!("127.0.0.1:{}", free_port());
    tree::write(dir.path(), "Dockerfile", format!("FROM {host}/app:1.0\n"));
    let before = tree::snapshot(dir.path());
    let out = pin_in(dir.path(), &host)
        .args(["--write", "."])
        .deadline(Duration::from_secs(90))
        .run();
    out.assert_error(&[&host]);
    tree::assert_tree(dir.path(), &before, "files after an unreachable registry");
}
