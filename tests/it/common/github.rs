//! A stand-in for the GitHub REST API, for `promote --pull-request`: the
//! real API cannot run here. A threaded HTTP/1.1 server over `std::net` on
//! a free loopback port, one request per connection, with one repository
//! held in memory (branches, commits, trees, blobs, pull requests).
//!
//! It answers only the endpoints wharf uses, in GitHub's shapes as far as
//! wharf and octocrab read them, with GitHub's status codes and
//! `{"message": …}` error bodies for the failures wharf must handle (401,
//! 404, 422). It records every request (method, target, headers, body) so
//! tests can assert exactly what was sent, and it can be told to fail an
//! endpoint. Object ids are SHA-256 prefixes of the fake's own making, not
//! git's SHA-1s; trees are flat path → (mode, blob) maps, listed one level
//! at a time like git's. It is a test tool: it checks the token, not
//! permissions, and knows nothing of forks, reviews or merging.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};
use sha2::Digest as _;

use super::http::{header_lines, split_head};

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The path, still percent-encoded, without the query.
    pub path: String,
    /// The query string, still encoded ("" when none).
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (panics, failing the test, when it is not).
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} {}: body is not JSON ({e}): {}",
                self.method,
                self.path,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// `METHOD path?query`, for messages.
    pub fn line(&self) -> String {
        if self.query.is_empty() {
            format!("{} {}", self.method, self.path)
        } else {
            format!("{} {}?{}", self.method, self.path, self.query)
        }
    }
}

/// A pull request as the fake holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pull {
    pub number: u64,
    pub head: String,
    pub base: String,
    pub title: String,
    pub body: String,
    pub open: bool,
}

/// A commit as the fake holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    pub tree: String,
    pub parents: Vec<String>,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    mode: String,
    blob: String,
}

struct Fault {
    method: String,
    path_suffix: String,
    status: u16,
    message: String,
}

struct State {
    owner: String,
    name: String,
    default_branch: String,
    branches: BTreeMap<String, String>,
    commits: HashMap<String, Commit>,
    trees: HashMap<String, BTreeMap<String, Entry>>,
    blobs: HashMap<String, Vec<u8>>,
    pulls: Vec<Pull>,
    /// Bundles stored through the attestations API, in order.
    attestations: Vec<Value>,
    faults: Vec<Fault>,
    /// The contents API leaves `content` out above this size (1 MB on
    /// GitHub; tests lower it to reach the blob fallback cheaply).
    large_file: usize,
    /// Makes every commit object distinct, as git's timestamps do.
    commit_count: u64,
}

struct Shared {
    token: String,
    host: String,
    state: Mutex<State>,
    requests: Mutex<Vec<Request>>,
    stop: AtomicBool,
}

pub struct FakeGitHub {
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl FakeGitHub {
    /// Serves the repository `owner/name` (default branch `main`, no
    /// branches yet) to clients that present `token`.
    pub fn start(repo: &str, token: &str) -> FakeGitHub {
        let (owner, name) = repo.split_once('/').expect("OWNER/NAME");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind fake GitHub");
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let host = listener.local_addr().expect("fake GitHub addr").to_string();
        let shared = Arc::new(Shared {
            token: token.to_string(),
            host,
            state: Mutex::new(State {
                owner: owner.to_string(),
                name: name.to_string(),
                default_branch: "main".to_string(),
                branches: BTreeMap::new(),
                commits: HashMap::new(),
                trees: HashMap::new(),
                blobs: HashMap::new(),
                pulls: Vec::new(),
                attestations: Vec::new(),
                faults: Vec::new(),
                large_file: 1024 * 1024,
                commit_count: 0,
            }),
            requests: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
        });
        let acceptor = {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || accept_loop(listener, shared))
        };
        FakeGitHub {
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// `http://127.0.0.1:PORT`, the `GITHUB_API_URL` to give wharf.
    pub fn url(&self) -> String {
        format!("http://{}", self.shared.host)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared.state.lock().expect("fake GitHub state")
    }

    pub fn set_default_branch(&self, branch: &str) {
        self.state().default_branch = branch.to_string();
    }

    /// Files above `bytes` come back from the contents API without content.
    pub fn set_large_file(&self, bytes: usize) {
        self.state().large_file = bytes;
    }

    /// Commits regular files onto `branch` (created if new); returns the
    /// commit's id.
    pub fn seed(&self, branch: &str, files: &[(&str, &[u8])]) -> String {
        let files: Vec<(&str, &str, &[u8])> =
            files.iter().map(|(p, b)| (*p, "100644", *b)).collect();
        self.seed_modes(branch, &files)
    }

    /// Commits (path, git mode, bytes) entries onto `branch`; a `120000`
    /// entry is a symbolic link whose bytes are its target.
    pub fn seed_modes(&self, branch: &str, files: &[(&str, &str, &[u8])]) -> String {
        let mut state = self.state();
        let parent = state.branches.get(branch).cloned();
        let mut tree = parent
            .as_ref()
            .and_then(|p| state.commits.get(p))
            .and_then(|c| state.trees.get(&c.tree))
            .cloned()
            .unwrap_or_default();
        for (path, mode, bytes) in files {
            let blob = state.add_blob(bytes.to_vec());
            tree.insert(
                path.to_string(),
                Entry {
                    mode: mode.to_string(),
                    blob,
                },
            );
        }
        let tree = state.add_tree(tree);
        let commit = state.add_commit(Commit {
            tree,
            parents: parent.into_iter().collect(),
            message: "seed".to_string(),
        });
        state.branches.insert(branch.to_string(), commit.clone());
        commit
    }

    /// From now on, `method` requests whose path ends with `path_suffix`
    /// get `status` with GitHub's error shape and `message`.
    pub fn fail(&self, method: &str, path_suffix: &str, status: u16, message: &str) {
        self.state().faults.push(Fault {
            method: method.to_string(),
            path_suffix: path_suffix.to_string(),
            status,
            message: message.to_string(),
        });
    }

    /// Every request, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        self.shared
            .requests
            .lock()
            .expect("fake GitHub requests")
            .clone()
    }

    /// The `method` requests whose path ends with `path_suffix`.
    pub fn requests_to(&self, method: &str, path_suffix: &str) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == method && r.path.ends_with(path_suffix))
            .collect()
    }

    /// The requests that changed something (POST, PATCH, ...).
    pub fn writes(&self) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.method != "GET")
            .collect()
    }

    pub fn branch_head(&self, branch: &str) -> Option<String> {
        self.state().branches.get(branch).cloned()
    }

    pub fn branches(&self) -> Vec<String> {
        self.state().branches.keys().cloned().collect()
    }

    pub fn commit(&self, sha: &str) -> Option<Commit> {
        self.state().commits.get(sha).cloned()
    }

    /// The bytes of `path` on `branch`.
    pub fn file(&self, branch: &str, path: &str) -> Option<Vec<u8>> {
        self.entry(branch, path).map(|(_, bytes)| bytes)
    }

    /// The git mode of `path` on `branch`.
    pub fn mode(&self, branch: &str, path: &str) -> Option<String> {
        self.entry(branch, path).map(|(mode, _)| mode)
    }

    fn entry(&self, branch: &str, path: &str) -> Option<(String, Vec<u8>)> {
        let state = self.state();
        let tree = state.branch_tree(branch)?;
        let entry = tree.get(path)?;
        Some((entry.mode.clone(), state.blobs.get(&entry.blob)?.clone()))
    }

    pub fn pulls(&self) -> Vec<Pull> {
        self.state().pulls.clone()
    }

    /// The blob id the fake gives `bytes` (content addressed).
    /// The bundles stored through `POST /repos/O/R/attestations`.
    pub fn attestations(&self) -> Vec<Value> {
        self.state().attestations.clone()
    }

    pub fn blob_id(bytes: &[u8]) -> String {
        object_id("blob", bytes)
    }
}

impl Drop for FakeGitHub {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// 40 hex digits: the look of a git object id.
fn object_id(kind: &str, bytes: &[u8]) -> String {
    let mut hasher = sha2::Sha256::new();
    hasher.update(kind.as_bytes());
    hasher.update([0]);
    hasher.update(bytes);
    hex::encode(hasher.finalize())[..40].to_string()
}

/// Base64 broken into 60-character lines, as GitHub sends it.
fn wrapped_base64(bytes: &[u8]) -> String {
    STANDARD
        .encode(bytes)
        .as_bytes()
        .chunks(60)
        .map(|line| format!("{}\n", String::from_utf8_lossy(line)))
        .collect()
}

fn query_param(query: &str, key: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| super::percent_decode(v))
}

/// A response: status and JSON body.
type Reply = (u16, Value);

fn message(status: u16, message: &str) -> Reply {
    (
        status,
        json!({
            "message": message,
            "documentation_url": "https://docs.github.com/rest",
            "status": status.to_string(),
        }),
    )
}

fn not_found() -> Reply {
    message(404, "Not Found")
}

fn invalid(text: &str) -> Reply {
    message(422, text)
}

impl State {
    fn add_blob(&mut self, bytes: Vec<u8>) -> String {
        let id = object_id("blob", &bytes);
        self.blobs.insert(id.clone(), bytes);
        id
    }

    fn add_tree(&mut self, tree: BTreeMap<String, Entry>) -> String {
        let mut canonical = Vec::new();
        for (path, entry) in &tree {
            canonical
                .extend_from_slice(format!("{} {} {path}\0", entry.mode, entry.blob).as_bytes());
        }
        let id = object_id("tree", &canonical);
        self.trees.insert(id.clone(), tree);
        id
    }

    fn add_commit(&mut self, commit: Commit) -> String {
        self.commit_count += 1;
        let id = object_id(
            "commit",
            format!(
                "{} {:?} {} {}",
                commit.tree, commit.parents, commit.message, self.commit_count
            )
            .as_bytes(),
        );
        self.commits.insert(id.clone(), commit);
        id
    }

    fn branch_tree(&self, branch: &str) -> Option<&BTreeMap<String, Entry>> {
        let commit = self.commits.get(self.branches.get(branch)?)?;
        self.trees.get(&commit.tree)
    }

    /// One level of a flat tree, as git lists it; subtrees get ids (and
    /// are stored) so they can be listed in turn.
    fn listing(&mut self, tree: &BTreeMap<String, Entry>) -> Vec<Value> {
        let mut dirs: BTreeMap<String, BTreeMap<String, Entry>> = BTreeMap::new();
        let mut out = Vec::new();
        for (path, entry) in tree {
            match path.split_once('/') {
                Some((dir, rest)) => {
                    dirs.entry(dir.to_string())
                        .or_default()
                        .insert(rest.to_string(), entry.clone());
                }
                None => out.push(json!({
                    "path": path,
                    "mode": entry.mode,
                    "type": "blob",
                    "sha": entry.blob,
                    "size": self.blobs.get(&entry.blob).map_or(0, Vec::len),
                })),
            }
        }
        for (dir, subtree) in dirs {
            let sha = self.add_tree(subtree);
            out.push(json!({"path": dir, "mode": "040000", "type": "tree", "sha": sha}));
        }
        out
    }

    fn repo_json(&self) -> Value {
        json!({
            "name": self.name,
            "full_name": format!("{}/{}", self.owner, self.name),
            "owner": {"login": self.owner},
            "private": false,
            "default_branch": self.default_branch,
        })
    }

    fn commit_json(&self, sha: &str, commit: &Commit) -> Value {
        json!({
            "sha": sha,
            "tree": {"sha": commit.tree},
            "parents": commit.parents.iter().map(|p| json!({"sha": p})).collect::<Vec<_>>(),
            "message": commit.message,
        })
    }

    fn ref_json(&self, branch: &str, sha: &str) -> Value {
        json!({
            "ref": format!("refs/heads/{branch}"),
            "object": {"sha": sha, "type": "commit"},
        })
    }

    fn pull_json(&self, pull: &Pull) -> Value {
        json!({
            "number": pull.number,
            "html_url": format!("https://github.com/{}/{}/pull/{}", self.owner, self.name, pull.number),
            "state": if pull.open { "open" } else { "closed" },
            "title": pull.title,
            "body": pull.body,
            "head": {
                "ref": pull.head,
                "label": format!("{}:{}", self.owner, pull.head),
                "sha": self.branches.get(&pull.head),
            },
            "base": {"ref": pull.base},
        })
    }

    fn file_json(&self, path: &str, entry: &Entry) -> Value {
        let bytes = self.blobs.get(&entry.blob).cloned().unwrap_or_default();
        let (content, encoding) = if bytes.len() > self.large_file {
            (String::new(), "none")
        } else {
            (wrapped_base64(&bytes), "base64")
        };
        json!({
            "type": "file",
            "encoding": encoding,
            "size": bytes.len(),
            "name": path.rsplit('/').next().unwrap_or(path),
            "path": path,
            "content": content,
            "sha": entry.blob,
        })
    }

    /// `GET contents/PATH?ref=REF`, following a symbolic link to a file as
    /// GitHub does.
    fn contents(&self, path: &str, reference: &str) -> Reply {
        let commit = self
            .branches
            .get(reference)
            .cloned()
            .unwrap_or_else(|| reference.to_string());
        let Some(tree) = self
            .commits
            .get(&commit)
            .and_then(|c| self.trees.get(&c.tree))
        else {
            return message(404, &format!("No commit found for the ref {reference}"));
        };
        if let Some(entry) = tree.get(path) {
            if entry.mode == "120000" {
                let target = self.blobs.get(&entry.blob).cloned().unwrap_or_default();
                let target = String::from_utf8_lossy(&target).into_owned();
                let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
                let resolved = resolve(dir, &target);
                return match resolved
                    .as_deref()
                    .and_then(|p| tree.get(p).map(|e| (p, e)))
                {
                    Some((p, e)) if e.mode != "120000" => (200, self.file_json(p, e)),
                    _ => (
                        200,
                        json!({"type": "symlink", "target": target, "path": path, "size": target.len(), "sha": entry.blob}),
                    ),
                };
            }
            return (200, self.file_json(path, entry));
        }
        let prefix = format!("{path}/");
        let mut listing: BTreeMap<String, &str> = BTreeMap::new();
        for key in tree.keys() {
            if let Some(rest) = key.strip_prefix(&prefix) {
                match rest.split_once('/') {
                    Some((dir, _)) => listing.insert(dir.to_string(), "dir"),
                    None => listing.insert(rest.to_string(), "file"),
                };
            }
        }
        if listing.is_empty() {
            return not_found();
        }
        let items: Vec<Value> = listing
            .into_iter()
            .map(|(name, kind)| json!({"type": kind, "name": name, "path": format!("{prefix}{name}")}))
            .collect();
        (200, Value::Array(items))
    }
}

/// `dir` joined with a relative link `target`, `..` resolved; `None` when
/// it leaves the repository.
fn resolve(dir: &str, target: &str) -> Option<String> {
    let mut parts: Vec<&str> = dir.split('/').filter(|s| !s.is_empty()).collect();
    for segment in target.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

fn route(shared: &Shared, method: &str, path: &str, query: &str, body: &[u8]) -> Reply {
    let mut state = shared.state.lock().expect("fake GitHub state");
    if let Some(fault) = state
        .faults
        .iter()
        .find(|f| f.method == method && path.ends_with(&f.path_suffix))
    {
        return message(fault.status, &fault.message);
    }
    let segments: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .map(super::percent_decode)
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let ["repos", owner, name, rest @ ..] = segments.as_slice() else {
        return not_found();
    };
    if *owner != state.owner || *name != state.name {
        return not_found();
    }
    let body_json = || serde_json::from_slice::<Value>(body).ok();
    match (method, rest) {
        ("GET", []) => (200, state.repo_json()),
        ("GET", ["contents", file @ ..]) if !file.is_empty() => {
            let reference =
                query_param(query, "ref").unwrap_or_else(|| state.default_branch.clone());
            state.contents(&file.join("/"), &reference)
        }
        ("GET", ["git", "blobs", sha]) => match state.blobs.get(*sha) {
            Some(bytes) => (
                200,
                json!({"sha": sha, "size": bytes.len(), "content": wrapped_base64(bytes), "encoding": "base64"}),
            ),
            None => not_found(),
        },
        // GitHub takes a Sigstore bundle whose content is a DSSE envelope
        // (an in-toto attestation) and answers with the new id.
        ("POST", ["attestations"]) => {
            let Some(request) = body_json() else {
                return message(400, "Problems parsing JSON");
            };
            let bundle = &request["bundle"];
            let is_bundle = bundle["mediaType"]
                .as_str()
                .is_some_and(|m| m.starts_with("application/vnd.dev.sigstore.bundle"));
            if !is_bundle || !bundle["dsseEnvelope"].is_object() {
                return invalid("bundle must be a Sigstore bundle with a DSSE envelope");
            }
            state.attestations.push(bundle.clone());
            (201, json!({"id": state.attestations.len() as u64 + 1000}))
        }
        ("POST", ["git", "blobs"]) => {
            let Some(request) = body_json() else {
                return message(400, "Problems parsing JSON");
            };
            let Some(content) = request["content"].as_str() else {
                return invalid("Invalid request.\n\n\"content\" wasn't supplied.");
            };
            let bytes = match request["encoding"].as_str().unwrap_or("utf-8") {
                "utf-8" => content.as_bytes().to_vec(),
                "base64" => match STANDARD.decode(content) {
                    Ok(bytes) => bytes,
                    Err(_) => return invalid("Invalid request.\n\ncontent is not valid Base64"),
                },
                other => {
                    return invalid(&format!(
                        "Invalid request.\n\nencoding {other} is not supported"
                    ))
                }
            };
            let sha = state.add_blob(bytes);
            (
                201,
                json!({"sha": sha, "url": format!("https://api.github.com/blobs/{sha}")}),
            )
        }
        ("GET", ["git", "trees", sha]) => match state.trees.get(*sha).cloned() {
            Some(tree) => {
                let listing = state.listing(&tree);
                (
                    200,
                    json!({"sha": sha, "tree": listing, "truncated": false}),
                )
            }
            None => not_found(),
        },
        ("POST", ["git", "trees"]) => {
            let Some(request) = body_json() else {
                return message(400, "Problems parsing JSON");
            };
            let mut tree = match request["base_tree"].as_str() {
                Some(base) => match state.trees.get(base) {
                    Some(tree) => tree.clone(),
                    None => return invalid("Invalid tree info: base_tree is not a tree"),
                },
                None => BTreeMap::new(),
            };
            let Some(entries) = request["tree"].as_array() else {
                return invalid("Invalid request.\n\n\"tree\" wasn't supplied.");
            };
            for entry in entries {
                let (Some(path), Some(mode), Some(kind), Some(sha)) = (
                    entry["path"].as_str(),
                    entry["mode"].as_str(),
                    entry["type"].as_str(),
                    entry["sha"].as_str(),
                ) else {
                    return invalid("Invalid tree info: each entry needs path, mode, type and sha");
                };
                if kind != "blob" || !matches!(mode, "100644" | "100755" | "120000") {
                    return invalid(&format!("Invalid tree info: {mode} {kind} at {path}"));
                }
                if path.is_empty()
                    || path.starts_with('/')
                    || path.ends_with('/')
                    || path
                        .split('/')
                        .any(|s| s.is_empty() || s == "." || s == "..")
                {
                    return invalid(&format!("Invalid tree info: path {path:?}"));
                }
                if !state.blobs.contains_key(sha) {
                    return invalid(&format!("Invalid tree info: {sha} is not a blob"));
                }
                tree.insert(
                    path.to_string(),
                    Entry {
                        mode: mode.to_string(),
                        blob: sha.to_string(),
                    },
                );
            }
            let sha = state.add_tree(tree.clone());
            let listing = state.listing(&tree);
            (
                201,
                json!({"sha": sha, "tree": listing, "truncated": false}),
            )
        }
        ("GET", ["git", "commits", sha]) => match state.commits.get(*sha) {
            Some(commit) => (200, state.commit_json(sha, commit)),
            None => not_found(),
        },
        ("POST", ["git", "commits"]) => {
            let Some(request) = body_json() else {
                return message(400, "Problems parsing JSON");
            };
            let (Some(text), Some(tree)) = (request["message"].as_str(), request["tree"].as_str())
            else {
                return invalid("Invalid request.\n\n\"message\" and \"tree\" are required.");
            };
            if !state.trees.contains_key(tree) {
                return invalid("Tree SHA does not exist");
            }
            let parents: Vec<String> = request["parents"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|p| p.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            if parents.iter().any(|p| !state.commits.contains_key(p)) {
                return invalid("Parent SHA does not exist or is not a commit object");
            }
            let commit = Commit {
                tree: tree.to_string(),
                parents,
                message: text.to_string(),
            };
            let sha = state.add_commit(commit.clone());
            (201, state.commit_json(&sha, &commit))
        }
        ("GET", ["git", "ref", "heads", branch @ ..]) if !branch.is_empty() => {
            let branch = branch.join("/");
            match state.branches.get(&branch) {
                Some(sha) => (200, state.ref_json(&branch, sha)),
                None => not_found(),
            }
        }
        ("POST", ["git", "refs"]) => {
            let Some(request) = body_json() else {
                return message(400, "Problems parsing JSON");
            };
            let (Some(reference), Some(sha)) = (request["ref"].as_str(), request["sha"].as_str())
            else {
                return invalid("Invalid request.\n\n\"ref\" and \"sha\" are required.");
            };
            let Some(branch) = reference
                .strip_prefix("refs/heads/")
                .filter(|b| !b.is_empty())
            else {
                return invalid(&format!("{reference} is not a valid ref name."));
            };
            if state.branches.contains_key(branch) {
                return invalid("Reference already exists");
            }
            if !state.commits.contains_key(sha) {
                return invalid("Object does not exist");
            }
            state.branches.insert(branch.to_string(), sha.to_string());
            (201, state.ref_json(branch, sha))
        }
        ("PATCH", ["git", "refs", "heads", branch @ ..]) if !branch.is_empty() => {
            let branch = branch.join("/");
            let Some(request) = body_json() else {
                return message(400, "Problems parsing JSON");
            };
            let Some(sha) = request["sha"].as_str() else {
                return invalid("Invalid request.\n\n\"sha\" wasn't supplied.");
            };
            let Some(old) = state.branches.get(&branch).cloned() else {
                return invalid("Reference does not exist");
            };
            if !state.commits.contains_key(sha) {
                return invalid("Object does not exist");
            }
            if request["force"].as_bool() != Some(true) && !state.descends(sha, &old) {
                return invalid("Update is not a fast forward");
            }
            state.branches.insert(branch.clone(), sha.to_string());
            (200, state.ref_json(&branch, sha))
        }
        ("GET", ["pulls"]) => {
            let wanted_state = query_param(query, "state").unwrap_or_else(|| "open".to_string());
            let head = query_param(query, "head");
            let base = query_param(query, "base");
            let owner = state.owner.clone();
            let pulls: Vec<Value> = state
                .pulls
                .iter()
                .filter(|p| match wanted_state.as_str() {
                    "all" => true,
                    "closed" => !p.open,
                    _ => p.open,
                })
                .filter(|p| {
                    head.as_deref()
                        .is_none_or(|h| h == format!("{owner}:{}", p.head))
                })
                .filter(|p| base.as_deref().is_none_or(|b| b == p.base))
                .map(|p| state.pull_json(p))
                .collect();
            (200, Value::Array(pulls))
        }
        ("POST", ["pulls"]) => {
            let Some(request) = body_json() else {
                return message(400, "Problems parsing JSON");
            };
            let (Some(title), Some(head), Some(base)) = (
                request["title"].as_str(),
                request["head"].as_str(),
                request["base"].as_str(),
            ) else {
                return invalid(
                    "Invalid request.\n\n\"title\", \"head\" and \"base\" are required.",
                );
            };
            let owner_prefix = format!("{}:", state.owner);
            let head = head.strip_prefix(&owner_prefix).unwrap_or(head).to_string();
            let validation = |detail: Value| {
                (
                    422,
                    json!({"message": "Validation Failed", "errors": [detail], "documentation_url": "https://docs.github.com/rest"}),
                )
            };
            let (Some(head_sha), Some(base_sha)) =
                (state.branches.get(&head), state.branches.get(base))
            else {
                return validation(
                    json!({"resource": "PullRequest", "field": "head", "code": "invalid"}),
                );
            };
            if head_sha == base_sha {
                return validation(
                    json!({"resource": "PullRequest", "code": "custom", "message": format!("No commits between {base} and {head}")}),
                );
            }
            if state
                .pulls
                .iter()
                .any(|p| p.open && p.head == head && p.base == base)
            {
                return validation(
                    json!({"resource": "PullRequest", "code": "custom", "message": format!("A pull request already exists for {}:{head}.", state.owner)}),
                );
            }
            let pull = Pull {
                number: state.pulls.len() as u64 + 1,
                head,
                base: base.to_string(),
                title: title.to_string(),
                body: request["body"].as_str().unwrap_or_default().to_string(),
                open: true,
            };
            state.pulls.push(pull.clone());
            (201, state.pull_json(&pull))
        }
        ("PATCH", ["pulls", number]) => {
            let Some(request) = body_json() else {
                return message(400, "Problems parsing JSON");
            };
            let Some(index) = state
                .pulls
                .iter()
                .position(|p| number.parse::<u64>().ok() == Some(p.number))
            else {
                return not_found();
            };
            if let Some(base) = request["base"].as_str() {
                if !state.branches.contains_key(base) {
                    return invalid("Proposed base branch was not found");
                }
            }
            let pull = &mut state.pulls[index];
            if let Some(title) = request["title"].as_str() {
                pull.title = title.to_string();
            }
            if let Some(body) = request["body"].as_str() {
                pull.body = body.to_string();
            }
            if let Some(base) = request["base"].as_str() {
                pull.base = base.to_string();
            }
            let pull = pull.clone();
            (200, state.pull_json(&pull))
        }
        _ => not_found(),
    }
}

impl State {
    /// Whether `commit` has `ancestor` in its history (or is it).
    fn descends(&self, commit: &str, ancestor: &str) -> bool {
        let mut todo = vec![commit.to_string()];
        while let Some(c) = todo.pop() {
            if c == ancestor {
                return true;
            }
            if let Some(commit) = self.commits.get(&c) {
                todo.extend(commit.parents.iter().cloned());
            }
        }
        false
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut handlers: Vec<JoinHandle<()>> = Vec::new();
    while !shared.stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                let shared = Arc::clone(&shared);
                handlers.push(std::thread::spawn(move || handle(stream, &shared)));
                handlers.retain(|h| !h.is_finished());
            }
            Err(_) => std::thread::sleep(Duration::from_millis(2)),
        }
    }
    for handler in handlers {
        let _ = handler.join();
    }
}

fn handle(mut stream: TcpStream, shared: &Shared) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(30)));
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let (head, mut body) = loop {
        if let Some((head, rest)) = split_head(&raw) {
            break (String::from_utf8_lossy(head).into_owned(), rest.to_vec());
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    };
    let mut start = head.split("\r\n").next().unwrap_or("").split(' ');
    let method = start.next().unwrap_or("").to_string();
    let target = start.next().unwrap_or("").to_string();
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target.clone(), String::new()),
    };
    let headers = header_lines(&head);
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let chunked = header("transfer-encoding").is_some();
    let length = header("content-length")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    while !chunked && body.len() < length {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => body.extend_from_slice(&buf[..n]),
        }
    }
    let authorized = header("authorization") == Some(format!("Bearer {}", shared.token));
    shared
        .requests
        .lock()
        .expect("fake GitHub requests")
        .push(Request {
            method: method.clone(),
            path: path.clone(),
            query: query.clone(),
            headers: headers.clone(),
            body: body.clone(),
        });
    let (status, reply) = if chunked {
        // Not needed by octocrab, which sends a Content-Length.
        message(411, "the fake GitHub reads Content-Length bodies only")
    } else if !authorized {
        message(401, "Bad credentials")
    } else {
        route(shared, &method, &path, &query, &body)
    };
    let text = reply.to_string();
    let reason = match status {
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        411 => "Length Required",
        422 => "Unprocessable Entity",
        _ => "Error",
    };
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Write);
}
