//! `wharf promote --pull-request`: the GitHub side, against the fake GitHub
//! API in `common::github` (the real one cannot run here).
//!
//! `api_*` tests drive `wharf::promote::github::Api` directly and assert the
//! exact requests; `cli_*` tests run the binary and assert the contract of
//! the command (file read from the base branch, one pull request per image
//! that later runs update, nothing opened when nothing changes, errors that
//! say which step failed, the token never shown).

use std::future::Future;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::json;

use wharf::github::{Api, ChangeSet, Repo};

use crate::common::github::FakeGitHub;
use crate::common::{free_port, wharf, Output};

const TOKEN: &str = "ghs_FAKE0token0for0wharf0tests0only9";
const REPO: &str = "acme/deploy";
const BRANCH: &str = "wharf/promote-app-1a2b3c4d5e6f";
const VALUES: &str = "deploy/values.yaml";
/// A BOM and CRLF line ends: bytes a text round trip would lose.
const OLD: &[u8] = b"\xEF\xBB\xBF# values\r\napp:\r\n  image: registry.example.com/team/app:v1\r\n";
const NEW: &[u8] =
    b"\xEF\xBB\xBF# values\r\napp:\r\n  image: registry.example.com/team/app:v2@sha256:1a2b\r\n";

fn block_on<F: Future>(future: F) -> F::Output {
    wharf::runtime().expect("runtime").block_on(future)
}

fn api(fake: &FakeGitHub) -> Api {
    Api::connect(Repo::parse(REPO).expect("repo"), &fake.url(), TOKEN).expect("api")
}

fn change(files: Vec<(&str, &[u8])>) -> ChangeSet {
    ChangeSet {
        base: "main".to_string(),
        branch: BRANCH.to_string(),
        title: "promote registry.example.com/team/app:v2 to sha256:1a2b3c4d5e6f".to_string(),
        body: "Promotes `registry.example.com/team/app`.\n\n| Digest | `sha256:1a2b` |\n"
            .to_string(),
        message: "promote app\n\nDigest: sha256:1a2b\n".to_string(),
        files: files
            .into_iter()
            .map(|(p, b)| (p.to_string(), b.to_vec()))
            .collect(),
    }
}

/// `METHOD path?query` of each request that changed something.
fn write_lines(fake: &FakeGitHub) -> Vec<String> {
    fake.writes().iter().map(|r| r.line()).collect()
}

#[test]
fn api_reads_files_from_the_base_branch_with_paths_and_refs_encoded() {
    let fake = FakeGitHub::start(REPO, TOKEN);
    fake.set_default_branch("trunk");
    fake.seed(
        "trunk",
        &[(VALUES, OLD), ("deploy/my values #1.yaml", b"x: 1\n")],
    );
    fake.seed("main", &[(VALUES, b"not the default branch\n")]);
    fake.seed("release/1.x", &[(VALUES, b"release: 1\n")]);
    let api = api(&fake);

    let (base, files, release) = block_on(async {
        let base = api.base_branch(None).await?;
        let paths = [VALUES.to_string(), "./deploy/my values #1.yaml".to_string()];
        let files = api.read_files(&base, &paths).await?;
        let release = api.read_files("release/1.x", &paths[..1]).await?;
        Ok::<_, wharf::Error>((base, files, release))
    })
    .expect("read");

    assert_eq!(base, "trunk");
    assert_eq!(files, vec![OLD.to_vec(), b"x: 1\n".to_vec()]);
    assert_eq!(release, vec![b"release: 1\n".to_vec()]);
    let lines: Vec<String> = fake.requests().iter().map(|r| r.line()).collect();
    assert_eq!(
        lines,
        [
            "GET /repos/acme/deploy",
            "GET /repos/acme/deploy/contents/deploy/values.yaml?ref=trunk",
            "GET /repos/acme/deploy/contents/deploy/my%20values%20%231.yaml?ref=trunk",
            "GET /repos/acme/deploy/contents/deploy/values.yaml?ref=release%2F1.x",
        ]
    );
    for request in fake.requests() {
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str()),
            "{}",
            request.line()
        );
        assert_eq!(
            request.header("accept"),
            Some("application/vnd.github+json")
        );
    }
    // A named base is taken as it is, without asking.
    assert_eq!(
        block_on(api.base_branch(Some("release/1.x"))).expect("base"),
        "release/1.x"
    );
    assert_eq!(fake.requests().len(), 4);
}

#[test]
fn api_reads_a_large_file_through_its_blob() {
    let fake = FakeGitHub::start(REPO, TOKEN);
    let big: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    fake.seed("main", &[(VALUES, &big)]);
    fake.set_large_file(1000);

    let files = block_on(api(&fake).read_files("main", &[VALUES.to_string()])).expect("read");

    assert_eq!(files, vec![big.clone()]);
    let blob = format!("/git/blobs/{}", FakeGitHub::blob_id(&big));
    assert_eq!(
        fake.requests_to("GET", &blob).len(),
        1,
        "{:#?}",
        fake.requests()
    );
}

#[test]
fn api_read_errors_name_the_path_and_the_branch() {
    let fake = FakeGitHub::start(REPO, TOKEN);
    fake.seed("main", &[(VALUES, OLD)]);
    let api = api(&fake);
    let read = |branch: &str, path: &str| {
        block_on(api.read_files(branch, &[path.to_string()]))
            .expect_err("an error")
            .to_string()
    };

    let missing = read("main", "deploy/missing.yaml");
    for needle in [
        "deploy/missing.yaml",
        "branch main",
        "HTTP 404",
        "Not Found",
        "--base",
    ] {
        assert!(missing.contains(needle), "{needle:?} not in: {missing}");
    }
    let no_branch = read("nope", VALUES);
    assert!(
        no_branch.contains("No commit found for the ref nope"),
        "{no_branch}"
    );
    let directory = read("main", "deploy");
    assert!(
        directory.contains("is a directory on branch main"),
        "{directory}"
    );
    let outside = read("main", "../values.yaml");
    assert!(outside.contains("repository's root"), "{outside}");
    assert!(fake.writes().is_empty());
}

#[test]
fn api_publish_commits_on_a_new_branch_and_opens_a_pull_request() {
    let fake = FakeGitHub::start(REPO, TOKEN);
    fake.seed("main", &[(VALUES, OLD), ("README.md", b"# deploy\n")]);
    let base = fake.branch_head("main").expect("main");
    let base_tree = fake.commit(&base).expect("base commit").tree;
    let change = change(vec![
        (VALUES, NEW),
        ("new/dir/extra.yaml", b"extra: true\n"),
    ]);

    let published = block_on(api(&fake).publish(&change)).expect("publish");

    assert!(published.created);
    assert_eq!(published.number, 1);
    assert_eq!(published.url, "https://github.com/acme/deploy/pull/1");
    assert_eq!(
        fake.branch_head(BRANCH).as_deref(),
        Some(published.commit.as_str())
    );
    assert_eq!(
        write_lines(&fake),
        [
            "POST /repos/acme/deploy/git/blobs",
            "POST /repos/acme/deploy/git/blobs",
            "POST /repos/acme/deploy/git/trees",
            "POST /repos/acme/deploy/git/commits",
            "POST /repos/acme/deploy/git/refs",
            "POST /repos/acme/deploy/pulls",
        ]
    );
    let writes = fake.writes();
    assert_eq!(
        writes[0].json(),
        json!({"content": STANDARD.encode(NEW), "encoding": "base64"})
    );
    assert_eq!(
        writes[2].json(),
        json!({
            "base_tree": base_tree,
            "tree": [
                {"path": VALUES, "mode": "100644", "type": "blob", "sha": FakeGitHub::blob_id(NEW)},
                {"path": "new/dir/extra.yaml", "mode": "100644", "type": "blob",
                 "sha": FakeGitHub::blob_id(b"extra: true\n")},
            ],
        })
    );
    let commit = fake.commit(&published.commit).expect("new commit");
    assert_eq!(
        writes[3].json(),
        json!({"message": change.message, "tree": commit.tree, "parents": [base]})
    );
    assert_eq!(
        writes[4].json(),
        json!({"ref": format!("refs/heads/{BRANCH}"), "sha": published.commit})
    );
    assert_eq!(
        writes[5].json(),
        json!({"title": change.title, "head": BRANCH, "base": "main", "body": change.body})
    );
    // The branch name's `/` goes into the ref path as it is; the pull
    // request lookup escapes it in the query.
    assert_eq!(
        fake.requests_to("GET", &format!("/git/ref/heads/{BRANCH}"))
            .len(),
        1
    );
    let lookups = fake.requests_to("GET", "/pulls");
    assert_eq!(lookups.len(), 1);
    assert_eq!(
        lookups[0].query,
        "head=acme%3Awharf%2Fpromote-app-1a2b3c4d5e6f&state=open"
    );

    assert_eq!(fake.file(BRANCH, VALUES).as_deref(), Some(NEW));
    assert_eq!(
        fake.file(BRANCH, "README.md").as_deref(),
        Some(&b"# deploy\n"[..])
    );
    assert_eq!(fake.file("main", VALUES).as_deref(), Some(OLD));
    assert_eq!(fake.branch_head("main"), Some(base));
    let pulls = fake.pulls();
    assert_eq!(pulls.len(), 1);
    assert_eq!(
        (pulls[0].head.as_str(), pulls[0].base.as_str()),
        (BRANCH, "main")
    );
}

#[test]
fn api_publish_again_moves_the_branch_and_updates_the_same_pull_request() {
    let fake = FakeGitHub::start(REPO, TOKEN);
    fake.seed("main", &[(VALUES, OLD)]);
    let api = api(&fake);
    let first = block_on(api.publish(&change(vec![(VALUES, NEW)]))).expect("first");
    // The base moves on; the next run rebuilds the branch on it.
    let base = fake.seed("main", &[("README.md", b"moved on\n")]);
    let writes_before = fake.writes().len();

    let mut second_change = change(vec![(VALUES, b"image: app@sha256:2\n")]);
    second_change.title = "promote again".to_string();
    let second = block_on(api.publish(&second_change)).expect("second");

    assert!(!second.created);
    assert_eq!(second.number, first.number);
    assert_ne!(second.commit, first.commit);
    let writes = fake.writes().split_off(writes_before);
    let lines: Vec<String> = writes.iter().map(|r| r.line()).collect();
    assert_eq!(
        lines,
        [
            "POST /repos/acme/deploy/git/blobs",
            "POST /repos/acme/deploy/git/trees",
            "POST /repos/acme/deploy/git/commits",
            format!("PATCH /repos/acme/deploy/git/refs/heads/{BRANCH}").as_str(),
            "PATCH /repos/acme/deploy/pulls/1",
        ]
    );
    assert_eq!(
        writes[3].json(),
        json!({"sha": second.commit, "force": true})
    );
    assert_eq!(
        writes[4].json(),
        json!({"title": "promote again", "body": second_change.body})
    );
    let commit = fake.commit(&second.commit).expect("commit");
    assert_eq!(commit.parents, [base]);
    assert_eq!(fake.branch_head(BRANCH), Some(second.commit.clone()));
    assert_eq!(
        fake.file(BRANCH, "README.md").as_deref(),
        Some(&b"moved on\n"[..])
    );
    assert_eq!(fake.pulls().len(), 1);
    assert_eq!(fake.pulls()[0].title, "promote again");

    // The same change on the same base again: the branch stays put, no
    // new commit; the pull request's text is refreshed.
    let writes_before = fake.writes().len();
    let third = block_on(api.publish(&second_change)).expect("third");
    assert_eq!(third.commit, second.commit);
    assert!(!third.created);
    let lines: Vec<String> = fake
        .writes()
        .split_off(writes_before)
        .iter()
        .map(|r| r.line())
        .collect();
    assert_eq!(
        lines,
        [
            "POST /repos/acme/deploy/git/blobs",
            "POST /repos/acme/deploy/git/trees",
            "PATCH /repos/acme/deploy/pulls/1",
        ]
    );
}

#[test]
fn api_publish_keeps_the_executable_bit_and_refuses_to_replace_a_symlink() {
    let fake = FakeGitHub::start(REPO, TOKEN);
    fake.seed_modes(
        "main",
        &[
            ("bin/deploy.sh", "100755", b"#!/bin/sh\n"),
            ("shared/values.yaml", "100644", b"image: app:v1\n"),
            ("deploy/values.yaml", "120000", b"../shared/values.yaml"),
        ],
    );
    let api = api(&fake);

    let published = block_on(api.publish(&change(vec![("bin/deploy.sh", b"#!/bin/sh\nexit 0\n")])))
        .expect("publish");
    let trees = fake.requests_to("POST", "/git/trees");
    assert_eq!(trees[0].json()["tree"][0]["mode"], "100755");
    assert_eq!(
        fake.mode(BRANCH, "bin/deploy.sh").as_deref(),
        Some("100755")
    );
    assert!(published.created);

    // GitHub's contents API follows the link to the file...
    let read = block_on(api.read_files("main", &[VALUES.to_string()])).expect("read");
    assert_eq!(read, vec![b"image: app:v1\n".to_vec()]);
    // ...but writing the edit at the link's path would replace the link.
    let writes_before = fake.writes().len();
    let error = block_on(api.publish(&change(vec![(VALUES, b"image: app:v2\n")])))
        .expect_err("refused")
        .to_string();
    assert!(error.contains("deploy/values.yaml"), "{error}");
    assert!(error.contains("symbolic link"), "{error}");
    assert_eq!(
        fake.writes().len(),
        writes_before,
        "{:#?}",
        write_lines(&fake)
    );
    assert_eq!(fake.mode("main", VALUES).as_deref(), Some("120000"));
}

#[test]
fn api_publish_stops_when_the_base_changed_a_file_after_it_was_read() {
    let fake = FakeGitHub::start(REPO, TOKEN);
    fake.seed("main", &[(VALUES, OLD)]);
    let api = api(&fake);

    // A commit elsewhere on the base is fine: the branch is built on it.
    block_on(api.read_files("main", &[VALUES.to_string()])).expect("read");
    let base = fake.seed("main", &[("README.md", b"unrelated\n")]);
    let published = block_on(api.publish(&change(vec![(VALUES, NEW)]))).expect("publish");
    assert_eq!(
        fake.commit(&published.commit).expect("commit").parents,
        [base]
    );

    // A commit changing the file that was read and edited is not undone.
    block_on(api.read_files("main", &[VALUES.to_string()])).expect("read");
    fake.seed("main", &[(VALUES, b"image: someone/else:v9\n")]);
    let writes_before = fake.writes().len();
    let error = block_on(api.publish(&change(vec![(VALUES, NEW)])))
        .expect_err("stale")
        .to_string();
    assert!(
        error.contains("deploy/values.yaml: changed on branch main after wharf read it"),
        "{error}"
    );
    assert_eq!(
        fake.writes().len(),
        writes_before,
        "{:#?}",
        write_lines(&fake)
    );
}

#[test]
fn api_publish_moves_the_open_pull_request_to_the_base_asked_for() {
    let fake = FakeGitHub::start(REPO, TOKEN);
    fake.seed("main", &[(VALUES, OLD)]);
    fake.seed("release", &[(VALUES, OLD)]);
    let api = api(&fake);
    block_on(api.publish(&change(vec![(VALUES, NEW)]))).expect("into main");

    let mut into_release = change(vec![(VALUES, NEW)]);
    into_release.base = "release".to_string();
    let published = block_on(api.publish(&into_release)).expect("into release");

    assert!(!published.created);
    let patches = fake.requests_to("PATCH", "/pulls/1");
    assert_eq!(
        patches[0].json(),
        json!({"title": into_release.title, "body": into_release.body, "base": "release"})
    );
    assert_eq!(fake.pulls()[0].base, "release");
    let commit = fake.commit(&published.commit).expect("commit");
    assert_eq!(
        commit.parents,
        [fake.branch_head("release").expect("release")]
    );
}

#[test]
fn api_failure_names_the_step_the_status_and_githubs_message() {
    let fake = FakeGitHub::start(REPO, TOKEN);
    fake.seed("main", &[(VALUES, OLD)]);
    fake.fail(
        "POST",
        "/git/blobs",
        403,
        "Resource not accessible by integration",
    );

    let error = block_on(api(&fake).publish(&change(vec![(VALUES, NEW)])))
        .expect_err("403")
        .to_string();

    for needle in [
        "acme/deploy",
        "creating the blob for deploy/values.yaml",
        "POST /repos/acme/deploy/git/blobs",
        "HTTP 403",
        "Resource not accessible by integration",
        "contents: write",
    ] {
        assert!(error.contains(needle), "{needle:?} not in: {error}");
    }
    assert!(!error.contains(TOKEN));
    // A 403 is not retried, and nothing after the failed step happens.
    assert_eq!(write_lines(&fake), ["POST /repos/acme/deploy/git/blobs"]);
    assert_eq!(fake.branches(), ["main"]);
    assert!(fake.pulls().is_empty());
}

#[test]
fn api_refused_token_is_a_401_that_never_shows_the_token() {
    let fake = FakeGitHub::start(REPO, TOKEN);
    fake.seed("main", &[(VALUES, OLD)]);
    let wrong = "ghp_WRONG0token0that0must0not0show";
    let api = Api::connect(Repo::parse(REPO).expect("repo"), &fake.url(), wrong).expect("api");

    let error = block_on(api.base_branch(None))
        .expect_err("401")
        .to_string();

    for needle in [
        "GET /repos/acme/deploy",
        "HTTP 401",
        "Bad credentials",
        "GITHUB_TOKEN",
    ] {
        assert!(error.contains(needle), "{needle:?} not in: {error}");
    }
    assert!(!error.contains(wrong), "{error}");
}

#[test]
fn api_unreachable_server_says_where_it_tried() {
    let url = format!("http://127.0.0.1:{}", free_port());
    let api = Api::connect(Repo::parse(REPO).expect("repo"), &url, TOKEN).expect("api");

    let error = block_on(api.base_branch(None))
        .expect_err("no server")
        .to_string();

    assert!(
        error.contains(&format!("cannot reach the GitHub API at {url}")),
        "{error}"
    );
    assert!(error.contains("GITHUB_API_URL"), "{error}");
}

// The command line (the wiring is in src/promote/mod.rs).

const DIGEST_HEX: &str = "1a2b3c4d5e6f7a8b1a2b3c4d5e6f7a8b1a2b3c4d5e6f7a8b1a2b3c4d5e6f7a8b";
const IMAGE_REPO: &str = "registry.example.com/team/app";
const BASE_VALUES: &str = "# deploy values\n\
    app:\n  image: registry.example.com/team/app:v1 # the app\n\
    sidecar:\n  image: registry.example.com/team/other:v3\n";

fn image() -> String {
    format!("{IMAGE_REPO}:v2@sha256:{DIGEST_HEX}")
}

/// `wharf promote IMAGE deploy/values.yaml --no-verify --pull-request
/// --repo acme/deploy` against `fake`, from a directory whose own
/// `deploy/values.yaml` is not the one on the base branch (it must not be
/// read, nor touched).
fn promote_pr(fake: &FakeGitHub, token: Option<&str>) -> (Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("deploy")).expect("mkdir");
    std::fs::write(dir.path().join(VALUES), "local: not this one\n").expect("local file");
    let mut cmd = wharf();
    cmd.current_dir(dir.path())
        .env_remove("GITHUB_TOKEN")
        .env_remove("GITHUB_REPOSITORY")
        .env("GITHUB_API_URL", fake.url())
        .args(["promote", &image(), VALUES, "--no-verify", "--pull-request"])
        .args(["--repo", REPO]);
    if let Some(token) = token {
        cmd.env("GITHUB_TOKEN", token);
    }
    let output = cmd.run();
    output.assert_not_leaked(TOKEN);
    assert_eq!(
        std::fs::read_to_string(dir.path().join(VALUES)).expect("local file"),
        "local: not this one\n",
        "the local file was touched"
    );
    (output, dir)
}

#[test]
fn cli_opens_a_pull_request_with_the_file_from_the_base_branch() {
    let fake = FakeGitHub::start(REPO, TOKEN);
    fake.seed("main", &[(VALUES, BASE_VALUES.as_bytes())]);

    let (output, _dir) = promote_pr(&fake, Some(TOKEN));

    output.assert_ok();
    let branch = "wharf/promote-app-1a2b3c4d5e6f";
    let new = fake
        .file(branch, VALUES)
        .expect("the file on the new branch");
    let new = String::from_utf8(new).expect("utf-8");
    // Only the app's image line changed, to the digest.
    let (old_lines, new_lines): (Vec<&str>, Vec<&str>) =
        (BASE_VALUES.lines().collect(), new.lines().collect());
    assert_eq!(old_lines.len(), new_lines.len(), "{new}");
    for (old, line) in old_lines.iter().zip(&new_lines) {
        if old.contains("team/app:v1") {
            assert!(
                line.contains(&format!("{IMAGE_REPO}:v2@sha256:{DIGEST_HEX}")),
                "{line}"
            );
            assert!(line.ends_with(" # the app"), "{line}");
        } else {
            assert_eq!(old, line);
        }
    }
    assert!(new.ends_with('\n'));
    assert_eq!(
        fake.file("main", VALUES).as_deref(),
        Some(BASE_VALUES.as_bytes())
    );
    // The blob wharf sent is those bytes.
    let blobs = fake.requests_to("POST", "/git/blobs");
    assert_eq!(blobs.len(), 1);
    let sent = STANDARD
        .decode(blobs[0].json()["content"].as_str().expect("content"))
        .expect("base64");
    assert_eq!(sent, new.as_bytes());

    let pulls = fake.pulls();
    assert_eq!(pulls.len(), 1, "{pulls:#?}");
    let pull = &pulls[0];
    assert_eq!((pull.head.as_str(), pull.base.as_str()), (branch, "main"));
    assert!(pull.title.contains(IMAGE_REPO), "{}", pull.title);
    assert!(pull.title.contains("1a2b3c4d5e6f"), "{}", pull.title);
    assert!(pull.body.contains(IMAGE_REPO), "{}", pull.body);
    assert!(
        pull.body.contains(&format!("sha256:{DIGEST_HEX}")),
        "{}",
        pull.body
    );
    assert!(
        pull.body.contains("--no-verify"),
        "not said unverified: {}",
        pull.body
    );
    assert!(
        output
            .stdout
            .contains("https://github.com/acme/deploy/pull/1"),
        "{}",
        output.describe()
    );
}

#[test]
fn cli_second_run_moves_the_branch_and_updates_the_same_pull_request() {
    let fake = FakeGitHub::start(REPO, TOKEN);
    fake.seed("main", &[(VALUES, BASE_VALUES.as_bytes())]);
    let branch = "wharf/promote-app-1a2b3c4d5e6f";
    promote_pr(&fake, Some(TOKEN)).0.assert_ok();
    let first = fake.branch_head(branch).expect("branch");
    let base = fake.seed("main", &[("README.md", b"the base moved on\n")]);

    let (output, _dir) = promote_pr(&fake, Some(TOKEN));

    output.assert_ok();
    assert_eq!(fake.requests_to("POST", "/pulls").len(), 1);
    assert_eq!(fake.requests_to("PATCH", "/pulls/1").len(), 1);
    let head = fake.branch_head(branch).expect("branch");
    assert_ne!(head, first, "the branch did not move");
    assert_eq!(fake.commit(&head).expect("commit").parents, [base]);
    assert_eq!(fake.pulls().len(), 1);
    assert!(output.stdout.contains("pull/1"), "{}", output.describe());
}

#[test]
fn cli_nothing_to_promote_opens_nothing() {
    let fake = FakeGitHub::start(REPO, TOKEN);
    let promoted = BASE_VALUES.replace("team/app:v1", &format!("team/app:v2@sha256:{DIGEST_HEX}"));
    fake.seed("main", &[(VALUES, promoted.as_bytes())]);

    let (output, _dir) = promote_pr(&fake, Some(TOKEN));

    output.assert_ok();
    assert!(fake.writes().is_empty(), "{:#?}", write_lines(&fake));
    assert_eq!(fake.branches(), ["main"]);
}

#[test]
fn cli_without_github_token_says_how_to_give_one() {
    let fake = FakeGitHub::start(REPO, TOKEN);
    fake.seed("main", &[(VALUES, BASE_VALUES.as_bytes())]);

    let (output, _dir) = promote_pr(&fake, None);

    output.assert_error(&["GITHUB_TOKEN", "github.token", "pull-requests: write"]);
    assert!(fake.requests().is_empty());
}

#[test]
fn cli_github_failure_exits_2_naming_the_step_and_creates_nothing() {
    let fake = FakeGitHub::start(REPO, TOKEN);
    fake.seed("main", &[(VALUES, BASE_VALUES.as_bytes())]);
    fake.fail(
        "POST",
        "/git/blobs",
        403,
        "Resource not accessible by integration",
    );

    let (output, _dir) = promote_pr(&fake, Some(TOKEN));

    output.assert_error(&[
        "creating the blob for deploy/values.yaml",
        "403",
        "Resource not accessible by integration",
    ]);
    assert_eq!(write_lines(&fake), ["POST /repos/acme/deploy/git/blobs"]);
    assert_eq!(fake.branches(), ["main"]);
    assert!(fake.pulls().is_empty());
}
