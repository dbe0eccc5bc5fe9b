//! Trust through TUF (`--tuf-mirror URL --tuf-root FILE`): wharf takes the
//! trusted root and signing config from a Sigstore TUF repository, as cosign
//! does, caches them per mirror, refuses what does not verify, and falls
//! back to its verified cache when the mirror is down. Each test has its own
//! repository (`scripts/tuf-repo.py`, python-tuf) publishing the real
//! stack's trust, and its own cache directory.

use std::path::Path;

use crate::common::proxy::{Fault, Proxy};
use crate::common::registry::Registry;
use crate::common::sigstore::{stack, Mirror, Stack};
use crate::common::{wharf, Output, Wharf};

struct Env {
    stack: &'static Stack,
    registry: Registry,
    mirror: Mirror,
    cache: tempfile::TempDir,
    /// `HOST/app@sha256:…`, signed keylessly through the stack.
    signed: String,
}

impl Env {
    fn start() -> Env {
        let stack = stack();
        let registry = Registry::start();
        let layout_dir = tempfile::tempdir().expect("layout dir");
        let mut layout = crate::common::oci::OciLayout::new(layout_dir.path());
        let app = layout.add_image("app", "linux", "amd64", "tuf app");
        layout.push("app", &registry, "app", "1.0");
        let signed = format!("{}/app@{}", registry.host(), app.digest);
        let mut cmd = wharf();
        cmd.arg("--insecure-registry")
            .arg(registry.host())
            .env("WHARF_TRUST_CONFIG", &stack.trust_config);
        cmd.envs(stack.github_env());
        cmd.args(["sign", &signed]).run().assert_code(0);
        Env {
            stack,
            registry,
            mirror: Mirror::start(stack),
            cache: tempfile::tempdir().expect("cache dir"),
            signed,
        }
    }

    /// `wharf verify SIGNED --tuf-mirror URL --tuf-root ROOT` with the
    /// stack's identity and this test's cache.
    fn verify_through(&self, mirror_url: &str, extra: &[&str]) -> Output {
        self.wharf()
            .args(["verify", &self.signed])
            .args(["--certificate-identity", self.stack.identity()])
            .args(["--certificate-oidc-issuer", self.stack.issuer()])
            .args(["--tuf-mirror", mirror_url, "--tuf-root"])
            .arg(self.mirror.root())
            .args(extra)
            .run()
    }

    fn verify(&self) -> Output {
        self.verify_through(&self.mirror.url, &[])
    }

    fn wharf(&self) -> Wharf {
        let mut cmd = wharf();
        cmd.arg("--insecure-registry")
            .arg(self.registry.host())
            .env("WHARF_CACHE_DIR", self.cache.path());
        cmd
    }

    /// The cached `timestamp.json` of the test's mirror.
    fn cached_timestamp(&self) -> Option<Vec<u8>> {
        let dir = std::fs::read_dir(self.cache.path().join("tuf"))
            .ok()?
            .flatten()
            .next()?
            .path();
        std::fs::read(dir.join("timestamp.json")).ok()
    }
}

fn assert_refused(out: &Output, words: &str) {
    out.assert_code(2);
    assert!(
        out.stderr.contains("was refused") && out.stderr.contains(words),
        "expected a refusal naming {words:?}: {}",
        out.describe()
    );
}

#[test]
fn verify_takes_its_trust_from_the_mirror_with_a_fresh_cache() {
    require_peers!();
    require_registry!();
    let env = Env::start();
    env.verify().assert_code(0);
    assert!(env.cached_timestamp().is_some(), "nothing cached");
    // The mirror's trust decides: another identity is refused.
    env.wharf()
        .args(["verify", &env.signed])
        .args([
            "--certificate-identity",
            "https://github.com/x/y/.github/workflows/z.yml@refs/heads/main",
        ])
        .args(["--certificate-oidc-issuer", env.stack.issuer()])
        .args(["--tuf-mirror", &env.mirror.url, "--tuf-root"])
        .arg(env.mirror.root())
        .run()
        .assert_code(1);
    // The variables do what the flags do.
    env.wharf()
        .env("WHARF_TUF_MIRROR", &env.mirror.url)
        .env("WHARF_TUF_ROOT", env.mirror.root())
        .args(["verify", &env.signed])
        .args(["--certificate-identity", env.stack.identity()])
        .args(["--certificate-oidc-issuer", env.stack.issuer()])
        .run()
        .assert_code(0);
    // A mirror without its root is taken for a mirror of public-good's
    // repository and checked from public-good's root: this one is not, so
    // it is refused — never replaced by the trust built in.
    let out = env
        .wharf()
        .args(["verify", &env.signed, "--tuf-mirror", &env.mirror.url])
        .args(["--certificate-identity", env.stack.identity()])
        .args(["--certificate-oidc-issuer", env.stack.issuer()])
        .run();
    assert_refused(&out, "not signed by enough of the keys");
    assert!(
        !out.stderr.contains("built into wharf"),
        "{}",
        out.describe()
    );
}

/// Public-good by default: with no trust flag wharf reads public-good's TUF
/// repository, and where that cannot be reached (or --offline) and nothing
/// is cached, it says so and verifies against the trusted root built in.
#[test]
fn public_good_falls_back_to_the_trust_built_in_and_says_how_old_it_is() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/sigstore-conformance");
    if !corpus.is_dir() {
        println!(
            "skipping public_good_falls_back_to_the_trust_built_in_and_says_how_old_it_is: {} is absent",
            corpus.display()
        );
        return;
    }
    let bundle = corpus.join("bundle-verify/happy-path-v0.3/bundle.sigstore.json");
    let artifact = corpus.join("a.txt");
    // A mirror nobody answers at: a port just freed.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}", listener.local_addr().expect("addr"))
    };
    let cache = tempfile::tempdir().expect("cache");
    let verify = |extra: &[&str]| {
        wharf()
            .env("WHARF_CACHE_DIR", cache.path())
            .env_remove("WHARF_TUF_MIRROR")
            .env_remove("WHARF_TUF_ROOT")
            .env_remove("WHARF_TRUST_CONFIG")
            .arg("verify-blob")
            .arg(&artifact)
            .arg("--bundle")
            .arg(&bundle)
            .args([
                "--certificate-identity",
                "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main",
                "--certificate-oidc-issuer",
                "https://token.actions.githubusercontent.com",
            ])
            .args(extra)
            .run()
    };
    let out = verify(&["--tuf-mirror", &closed]);
    out.assert_code(0);
    assert!(
        out.stderr.contains(&format!(
            "public-good's TUF repository {closed} cannot be reached"
        )) && out.stderr.contains("built into wharf")
            && out.stderr.contains("newest key dates from 20"),
        "{}",
        out.describe()
    );
    let out = verify(&["--offline"]);
    out.assert_code(0);
    assert!(
        out.stderr
            .contains("--offline: using Sigstore public-good's trusted root built into wharf"),
        "{}",
        out.describe()
    );
    // The explicit file wins, and needs no network and no warning about it.
    let out = verify(&[
        "--trusted-root",
        corpus
            .join("trusted_root.public-good.json")
            .to_str()
            .unwrap_or_default(),
    ]);
    out.assert_code(0);
    assert!(
        !out.stderr.contains("built into wharf"),
        "{}",
        out.describe()
    );
    // Nothing half-written was cached for the mirror that never answered.
    let tuf = cache.path().join("tuf");
    let cached: Vec<_> = std::fs::read_dir(&tuf)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|d| d.path().join("timestamp.json").exists())
        .collect();
    assert!(cached.is_empty(), "{cached:?}");
}

/// The instance rotates: the repository publishes a new trusted root (here
/// a second, independent Sigstore's — the testbed's own), and the next
/// verify picks it up with no rebuild and no new flag.
#[test]
fn a_newly_published_trusted_root_is_used_by_the_next_run() {
    require_peers!();
    require_registry!();
    let env = Env::start();
    env.verify().assert_code(0);

    // An image signed through the second instance: not trusted yet.
    let testbed = &env.stack.testbed;
    let layout_dir = tempfile::tempdir().expect("layout");
    let mut layout = crate::common::oci::OciLayout::new(layout_dir.path());
    let other = layout.add_image("other", "linux", "amd64", "tuf rotated");
    layout.push("other", &env.registry, "other", "1.0");
    let other = format!("{}/other@{}", env.registry.host(), other.digest);
    let mut cmd = wharf();
    cmd.arg("--insecure-registry")
        .arg(env.registry.host())
        .env("WHARF_TRUST_CONFIG", testbed.trust_config());
    cmd.envs(testbed.github_env());
    cmd.args(["sign", &other]).run().assert_code(0);
    let verify_other = || {
        env.wharf()
            .args(["verify", &other])
            .args(["--certificate-identity", testbed.identity()])
            .args(["--certificate-oidc-issuer", testbed.issuer()])
            .args(["--tuf-mirror", &env.mirror.url, "--tuf-root"])
            .arg(env.mirror.root())
            .run()
    };
    verify_other().assert_code(1);

    env.mirror.tool(&[
        "publish",
        &format!(
            "--target=trusted_root.json={}",
            testbed.trusted_root().display()
        ),
    ]);
    verify_other().assert_code(0);
    // And the first instance's signature no longer verifies.
    env.verify().assert_code(1);
}

#[test]
fn a_tampered_target_is_refused() {
    require_peers!();
    require_registry!();
    let env = Env::start();
    env.mirror.tool(&["tamper", "--target=trusted_root.json"]);
    assert_refused(&env.verify(), "do not match");
}

#[test]
fn expired_metadata_is_refused() {
    require_peers!();
    require_registry!();
    let env = Env::start();
    env.mirror.tool(&["expire-timestamp"]);
    assert_refused(&env.verify(), "expired");
}

/// After a newer state is cached, the mirror serving an older one is a
/// rollback: refused, and the cache keeps the newer state.
#[test]
fn a_rollback_is_refused_and_the_cache_kept() {
    require_peers!();
    require_registry!();
    let env = Env::start();
    let old = env.mirror.dir.path().join("old-state");
    env.mirror
        .tool(&["save-state", &format!("--to={}", old.display())]);
    env.mirror.tool(&[
        "publish",
        &format!(
            "--target=trusted_root.json={}",
            env.stack.trusted_root.display()
        ),
    ]);
    env.verify().assert_code(0);
    let cached = env.cached_timestamp();
    env.mirror
        .tool(&["restore-state", &format!("--from={}", old.display())]);
    assert_refused(&env.verify(), "rollback");
    assert_eq!(env.cached_timestamp(), cached, "the cache changed");
}

/// A root rotation is followed when the old root's keys sign it, and
/// refused when they do not.
#[test]
fn a_root_rotation_needs_the_old_keys() {
    require_peers!();
    require_registry!();
    let env = Env::start();
    env.mirror.tool(&["rotate-root"]);
    env.verify().assert_code(0);
    env.mirror.tool(&["rotate-root", "--unsigned-by-old"]);
    assert_refused(&env.verify(), "not signed by enough");
}

/// A mirror that answers 503, stalls or is gone: the verified cache is used
/// (with a warning saying so), within the timeout; with no cache, exit 2.
#[test]
fn a_mirror_that_is_down_falls_back_to_the_verified_cache() {
    require_peers!();
    require_registry!();
    let mut env = Env::start();
    let upstream = env.mirror.url.trim_start_matches("http://").to_string();

    // No cache yet: nothing to fall back on.
    let unavailable = Proxy::start(&upstream, |_, _| true, [Fault::Unavailable; 8]);
    let out = env.verify_through(&format!("http://{}", unavailable.host()), &[]);
    out.assert_code(2);
    assert!(
        out.stderr.contains("nothing from it is cached yet"),
        "{}",
        out.describe()
    );
    drop(unavailable);

    // Warm the cache of that same URL, then fail it.
    let proxy = Proxy::start(&upstream, |_, _| false, []);
    let url = format!("http://{}", proxy.host());
    let cache_port = proxy.host().to_string();
    env.verify_through(&url, &[]).assert_code(0);
    drop(proxy);

    let unavailable = Proxy::start_on(&cache_port, &upstream, [Fault::Unavailable; 8]);
    let out = env.verify_through(&url, &[]);
    out.assert_code(0);
    assert!(
        out.stderr.contains("cannot be reached") && out.stderr.contains("cached"),
        "{}",
        out.describe()
    );
    drop(unavailable);

    let stalled = Proxy::start_on(&cache_port, &upstream, [Fault::Stall; 8]);
    let out = env
        .wharf()
        .env("WHARF_HTTP_TIMEOUT", "2")
        .args(["verify", &env.signed])
        .args(["--certificate-identity", env.stack.identity()])
        .args(["--certificate-oidc-issuer", env.stack.issuer()])
        .args(["--tuf-mirror", &url, "--tuf-root"])
        .arg(env.mirror.root())
        .run();
    out.assert_code(0);
    assert!(out.elapsed.as_secs() < 20, "{:?}", out.elapsed);
    drop(stalled);

    // Gone entirely, and --offline: the cache, no network.
    env.mirror.stop();
    env.verify_through(&url, &[]).assert_code(0);
    let out = env.verify_through(&url, &["--offline"]);
    out.assert_code(0);
    assert!(out.stderr.contains("cached"), "{}", out.describe());
    // --offline with an empty cache says what to do.
    let fresh = tempfile::tempdir().expect("dir");
    let out = env
        .wharf()
        .env("WHARF_CACHE_DIR", fresh.path())
        .args(["verify", &env.signed, "--offline"])
        .args(["--certificate-identity", env.stack.identity()])
        .args(["--certificate-oidc-issuer", env.stack.issuer()])
        .args(["--tuf-mirror", &url, "--tuf-root"])
        .arg(env.mirror.root())
        .run();
    out.assert_code(2);
    assert!(out.stderr.contains("--offline"), "{}", out.describe());
}

/// cosign, initialised from the same repository, agrees with wharf.
#[test]
fn cosign_initialised_from_the_mirror_agrees() {
    require_peers!();
    require_registry!();
    let env = Env::start();
    let home = tempfile::tempdir().expect("home");
    let cosign = |args: &[&str]| {
        let out = std::process::Command::new(crate::common::sigstore::peer("cosign"))
            .env_clear()
            .env("HOME", home.path())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .args(args)
            .output()
            .expect("run cosign");
        out.status.success()
    };
    let root = env.mirror.root().display().to_string();
    assert!(cosign(&[
        "initialize",
        "--mirror",
        &env.mirror.url,
        "--root",
        &root
    ]));
    let stranger = "https://github.com/x/y/.github/workflows/z.yml@refs/heads/main";
    for (identity, ok) in [(env.stack.identity(), true), (stranger, false)] {
        let by_cosign = cosign(&[
            "verify",
            "--certificate-identity",
            identity,
            "--certificate-oidc-issuer",
            env.stack.issuer(),
            &env.signed,
        ]);
        let by_wharf = env
            .wharf()
            .args(["verify", &env.signed])
            .args(["--certificate-identity", identity])
            .args(["--certificate-oidc-issuer", env.stack.issuer()])
            .args(["--tuf-mirror", &env.mirror.url, "--tuf-root"])
            .arg(env.mirror.root())
            .run()
            .code
            == Some(0);
        assert_eq!((by_cosign, by_wharf), (ok, ok), "{identity}");
    }
}
