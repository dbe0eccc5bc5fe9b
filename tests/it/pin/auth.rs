//! Token auth and registries that send no digest header, through the proxy
//! standing in for a token service: one token request covers every
//! repository a run needs, credentials come from the docker config and never
//! reach the output, and a missing `Docker-Content-Digest` means GET + hash.

use std::path::Path;

use base64::Engine as _;

use crate::common::proxy::{Options, Proxy, TokenAuth};

use super::{pin_in, Env};

const USER: &str = "ci-bot";
const PASSWORD: &str = "pw-7f3a-do-not-print";
const TOKEN: &str = "token-91c2-do-not-print";

fn dockerfile(host: &str) -> String {
    format!(
        "FROM {host}/app:1.0 AS a\nFROM {host}/multi:2.0 AS b\nFROM {host}/base:latest\n\
         COPY --from={host}/tool/cli:v3 /x /x\nCOPY --from={host}/app:2.0 /y /y\n"
    )
}

fn pinned(env: &Env, host: &str) -> String {
    env.expand(&format!(
        "FROM {host}/app:1.0@%%app:1.0%% AS a\nFROM {host}/multi:2.0@%%multi:2.0%% AS b\n\
         FROM {host}/base:latest@%%base:latest%%\nCOPY --from={host}/tool/cli:v3@%%tool/cli:v3%% /x /x\n\
         COPY --from={host}/app:2.0@%%app:2.0%% /y /y\n"
    ))
}

fn docker_config(dir: &Path, host: &str, user: &str, password: &str) {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    std::fs::write(
        dir.join("config.json"),
        format!(r#"{{"auths": {{"{host}": {{"auth": "{auth}"}}}}}}"#),
    )
    .expect("write config.json");
}

fn token_proxy(env: &Env) -> Proxy {
    Proxy::with_options(
        env.registry.host(),
        Options {
            token_auth: Some(TokenAuth {
                user: USER.into(),
                password: PASSWORD.into(),
                token: TOKEN.into(),
            }),
            ..Options::default()
        },
    )
}

/// `scope` values of a query string, percent-decoded, sorted (duplicates kept).
fn scopes(query: &str) -> Vec<String> {
    let mut out: Vec<String> = query
        .split('&')
        .filter_map(|pair| pair.strip_prefix("scope="))
        .map(percent_decode)
        .collect();
    out.sort();
    out
}

fn percent_decode(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("hex");
            out.push(u8::from_str_radix(hex, 16).expect("hex byte"));
            i += 3;
        } else {
            out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
            i += 1;
        }
    }
    String::from_utf8(out).expect("utf-8 scope")
}

#[test]
fn one_token_request_covers_every_repository() {
    require_registry!();
    let env = Env::start();
    let proxy = token_proxy(&env);
    let host = proxy.host().to_string();
    env.write("Dockerfile", &dockerfile(&host));
    let config = tempfile::tempdir().expect("config dir");
    docker_config(config.path(), &host, USER, PASSWORD);

    let out = pin_in(env.dir(), &host)
        .env("DOCKER_CONFIG", config.path())
        .args(["--write", "."])
        .run();
    out.assert_ok();
    out.assert_not_leaked(PASSWORD);
    out.assert_not_leaked(TOKEN);
    let got = std::fs::read_to_string(env.dir().join("Dockerfile")).expect("Dockerfile");
    assert_eq!(got, pinned(&env, &host), "{}", out.describe());

    let seen = proxy.seen();
    let tokens: Vec<_> = seen.iter().filter(|s| s.path == "/token").collect();
    assert_eq!(tokens.len(), 1, "token requests: {seen:?}");
    // app is named twice (two tags): its scope once.
    let want: Vec<String> = ["app", "base", "multi", "tool/cli"]
        .iter()
        .map(|r| format!("repository:{r}:pull"))
        .collect();
    assert_eq!(scopes(&tokens[0].query), want, "{:?}", tokens[0]);
    let manifests: Vec<_> = seen
        .iter()
        .filter(|s| s.path.contains("/manifests/"))
        .collect();
    assert_eq!(
        manifests.len(),
        5,
        "one manifest request per reference, none refused: {seen:?}"
    );
}

#[test]
fn a_wrong_password_fails_clearly_and_stays_secret() {
    require_registry!();
    let env = Env::start();
    let proxy = token_proxy(&env);
    let host = proxy.host().to_string();
    env.write("Dockerfile", &dockerfile(&host));
    let before = env.snapshot();
    let wrong = "wrong-pw-3b1e-do-not-print";
    let config = tempfile::tempdir().expect("config dir");
    docker_config(config.path(), &host, USER, wrong);

    let out = pin_in(env.dir(), &host)
        .env("DOCKER_CONFIG", config.path())
        .args(["--write", "."])
        .run();
    out.assert_error(&["docker login", "token endpoint", "401"]);
    out.assert_not_leaked(wrong);
    out.assert_not_leaked(TOKEN);
    assert_eq!(env.snapshot(), before, "nothing may be written");
}

#[test]
fn without_a_digest_header_the_manifest_is_fetched_and_hashed() {
    require_registry!();
    let env = Env::start();
    let proxy = Proxy::with_options(
        env.registry.host(),
        Options {
            strip_digest_header: true,
            ..Options::default()
        },
    );
    let host = proxy.host().to_string();
    env.write("Dockerfile", &dockerfile(&host));

    let out = pin_in(env.dir(), &host).args(["--write", "."]).run();
    out.assert_ok();
    let got = std::fs::read_to_string(env.dir().join("Dockerfile")).expect("Dockerfile");
    assert_eq!(got, pinned(&env, &host), "{}", out.describe());
    let gets = proxy
        .seen()
        .iter()
        .filter(|s| s.method == "GET" && s.path.contains("/manifests/"))
        .count();
    assert_eq!(
        gets,
        5,
        "one GET per reference after the HEAD: {:?}",
        proxy.seen()
    );
}
