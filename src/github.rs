//! GitHub's REST API, through octocrab: `wharf promote --pull-request`, and
//! `wharf run`'s upload of attestation bundles (`attest.github`):
//! `POST {r}/attestations` with `{"bundle": …}`, as GitHub's own attest
//! action does, so `gh attestation verify` finds them.
//!
//! `--pull-request`: the edits as one commit on a branch of a GitHub
//! repository, and a pull request for it, through the REST API's git data
//! endpoints (no clone, no git binary).
//!
//! The files are read from the base branch, edited in memory by the same
//! code as local files, and written as blobs of their exact bytes (a BOM and
//! CRLF survive). The branch is `wharf/promote-<repo>-<short digest>`; a
//! second run for the same image moves that branch to a fresh commit on
//! the base and updates the open pull request instead of opening another.
//!
//! The calls, in order (`{r}` is `/repos/OWNER/NAME`):
//!
//! - default branch: `GET {r}` (`default_branch`);
//! - reading: `GET {r}/contents/PATH?ref=BRANCH`, base64 `content`; files
//!   over 1 MB come back without content, so then `GET {r}/git/blobs/SHA`;
//! - publishing: `GET {r}/git/ref/heads/BASE` and `GET {r}/git/commits/SHA`
//!   (the base commit and its tree); `GET {r}/git/trees/SHA` one directory
//!   level at a time down to each file, for its mode; `POST {r}/git/blobs`
//!   per file; `POST {r}/git/trees` on the base tree; `POST {r}/git/commits`
//!   with the base as only parent; `POST {r}/git/refs` for a new branch or
//!   `PATCH {r}/git/refs/heads/BRANCH` (forced) for an existing one;
//!   `GET {r}/pulls?head=OWNER:BRANCH&state=open`, then `PATCH {r}/pulls/N`
//!   or `POST {r}/pulls`.
//!
//! A file keeps the mode it has on the base (an executable stays one); a
//! symbolic link or submodule at an edited path is refused rather than
//! replaced by a regular file. When the branch already holds exactly this
//! change on the current base, it is left where it is (no new commit).
//!
//! The edits are made to the files as read; if a commit lands on the base
//! in between and changes one of them, publishing stops (the blob on the
//! base is no longer the one read) instead of undoing that commit's change
//! in the pull request.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::{Error, Result};

/// The API root when `GITHUB_API_URL` is not set.
const DEFAULT_API_URL: &str = "https://api.github.com";

const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Per read and write on the connection, not per request: a large blob
/// may take longer than this in total as long as bytes keep moving.
const IO_TIMEOUT: Duration = Duration::from_secs(30);
/// octocrab retries at once (no back-off) on transport errors, 5xx and
/// 429. Every call here is safe to repeat: blobs and trees are content
/// addressed, a repeated commit is an unreferenced object, a repeated ref
/// creation fails with 422 "Reference already exists" (then the branch is
/// moved instead), and a repeated pull-request creation fails with 422 "A
/// pull request already exists", which a re-run turns into an update.
const RETRIES: usize = 2;

/// A new file, and a file whose mode the base's tree does not give.
const REGULAR_FILE: &str = "100644";

/// GitHub's messages are short; anything longer is not GitHub talking.
const MAX_MESSAGE_CHARS: usize = 400;

/// What the token is for: it decides what a missing token or a 403 asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    PullRequest,
    Attestations,
}

impl Purpose {
    fn missing_token(self) -> &'static str {
        match self {
            Purpose::PullRequest => {
                "--pull-request needs a GitHub token in GITHUB_TOKEN, and it is not \
                 set. In a workflow, give the step `env: GITHUB_TOKEN: ${{ github.token }}` and the job \
                 `permissions: contents: write` and `pull-requests: write`"
            }
            Purpose::Attestations => {
                "uploading attestations to GitHub needs a token in GITHUB_TOKEN, and it is not \
                 set. In a workflow, give the step `env: GITHUB_TOKEN: ${{ github.token }}` and the job \
                 `permissions: attestations: write`"
            }
        }
    }

    fn permissions(self) -> &'static str {
        match self {
            Purpose::PullRequest => {
                "`permissions: contents: write` and `pull-requests: write` (for pull requests opened \
                 from GitHub Actions, also allow Actions to create pull requests in the repository's settings)"
            }
            Purpose::Attestations => {
                "`permissions: attestations: write` (artifact attestations need a public repository, \
                 or GitHub Enterprise Cloud for private ones)"
            }
        }
    }
}

/// `OWNER/NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repo {
    pub owner: String,
    pub name: String,
}

impl Repo {
    /// Parses `OWNER/NAME`.
    pub fn parse(text: &str) -> Result<Repo> {
        let bad = |why: String| {
            Error::Usage(format!(
                "repository {text:?} is not OWNER/NAME: {why}. Pass --repo OWNER/NAME, e.g. \
                 --repo acme/deploy"
            ))
        };
        let mut parts = text.split('/');
        let (Some(owner), Some(name), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad(if text.contains('/') {
                "it has more than one `/`".to_string()
            } else {
                "it has no `/`".to_string()
            }));
        };
        for (part, label) in [(owner, "owner"), (name, "name")] {
            if part.is_empty() {
                return Err(bad(format!("the {label} is empty")));
            }
            if part == "." || part == ".." {
                return Err(bad(format!("the {label} cannot be {part:?}")));
            }
            if let Some(c) = part
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
            {
                return Err(bad(format!(
                    "the {label} has {c:?}; GitHub names are letters, digits, `.`, `_` and `-`"
                )));
            }
        }
        Ok(Repo {
            owner: owner.to_string(),
            name: name.to_string(),
        })
    }
}

impl fmt::Display for Repo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// What the pull request carries.
#[derive(Debug, Clone)]
pub struct ChangeSet {
    /// The branch the pull request goes into.
    pub base: String,
    /// The branch the commit goes on (created, or moved to the new commit).
    pub branch: String,
    pub title: String,
    /// Markdown.
    pub body: String,
    /// The commit message.
    pub message: String,
    /// Repository paths and their new, whole contents.
    pub files: Vec<(String, Vec<u8>)>,
}

/// The pull request that now carries the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub number: u64,
    pub url: String,
    /// False when an open pull request for the branch was updated.
    pub created: bool,
    /// The sha of the commit the branch now points at.
    pub commit: String,
}

/// A client for one repository: `GITHUB_TOKEN` authenticates, and
/// `GITHUB_API_URL` (set by GitHub Actions; GHES) names the API root,
/// default `https://api.github.com`.
///
/// Creating one checks the settings and contacts nothing. Each of the
/// async calls builds its own HTTP client: octocrab's client spawns a
/// worker on the Tokio runtime it is built in (and panics outside one), so
/// a client built once would die with the first runtime that ran it.
pub struct Api {
    repo: Repo,
    purpose: Purpose,
    /// The API root, without a trailing `/`.
    root: String,
    /// Sent in the Authorization header; otherwise kept only to scrub it
    /// from anything a server sends back that ends up in a message.
    token: String,
    /// (branch, path) → the blob id of the version `read_files` returned.
    read: Mutex<HashMap<(String, String), String>>,
}

/// One call's client, for one repository.
struct Session<'a> {
    repo: &'a Repo,
    purpose: Purpose,
    root: &'a str,
    token: &'a str,
    client: octocrab::Octocrab,
    /// What `read_files` saw, as `Api::read`.
    read: HashMap<(String, String), String>,
}

impl Api {
    pub fn new(repo: Repo) -> Result<Api> {
        Api::for_purpose(repo, Purpose::PullRequest)
    }

    /// [`Api::new`], for `purpose`.
    pub fn for_purpose(repo: Repo, purpose: Purpose) -> Result<Api> {
        let token = match std::env::var("GITHUB_TOKEN") {
            Ok(token) if !token.trim().is_empty() => token,
            Ok(_) | Err(std::env::VarError::NotPresent) => {
                return Err(Error::Usage(purpose.missing_token().to_string()))
            }
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(Error::Usage(
                    "GITHUB_TOKEN is not valid UTF-8; set it to the token alone".to_string(),
                ))
            }
        };
        let root = match std::env::var("GITHUB_API_URL") {
            Ok(url) if !url.trim().is_empty() => url,
            Ok(_) | Err(std::env::VarError::NotPresent) => DEFAULT_API_URL.to_string(),
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(Error::Usage(
                    "GITHUB_API_URL is not valid UTF-8; unset it for github.com, or set it to \
                     your GitHub Enterprise Server's API root (https://HOST/api/v3)"
                        .to_string(),
                ))
            }
        };
        Api::connect_for(repo, &root, &token, purpose)
    }

    /// A client for `repo` at the API root `api_url` with `token`, without
    /// looking at the environment ([`Api::new`] reads both from it).
    pub fn connect(repo: Repo, api_url: &str, token: &str) -> Result<Api> {
        Api::connect_for(repo, api_url, token, Purpose::PullRequest)
    }

    fn connect_for(repo: Repo, api_url: &str, token: &str, purpose: Purpose) -> Result<Api> {
        let token = token.trim();
        if token.is_empty() {
            return Err(Error::Usage(purpose.missing_token().to_string()));
        }
        // octocrab turns the token into a header value with `unwrap()`.
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::Usage(
                "GITHUB_TOKEN has characters that cannot go in an HTTP header (spaces, line \
                 breaks or non-ASCII inside it); set it to the token alone"
                    .to_string(),
            ));
        }
        let root = api_root(api_url)?;
        // What `session` will do with it, checked now.
        octocrab::Octocrab::builder()
            .base_uri(root.as_str())
            .map_err(|e| {
                Error::Usage(format!(
                    "GITHUB_API_URL {root:?} is not a URL octocrab accepts ({}); unset it for \
                     github.com, or set it to the API root (https://HOST/api/v3)",
                    crate::error::error_chain(&e)
                ))
            })?;
        Ok(Api {
            repo,
            purpose,
            root,
            token: token.to_string(),
            read: Mutex::new(HashMap::new()),
        })
    }

    pub fn repo(&self) -> &Repo {
        &self.repo
    }

    /// `base`, or the repository's default branch when `None`.
    pub async fn base_branch(&self, base: Option<&str>) -> Result<String> {
        if let Some(base) = base {
            check_branch(base, "--base")?;
            return Ok(base.to_string());
        }
        self.session()?.default_branch().await
    }

    /// The bytes of each path on `branch`, in order. A path that is not
    /// there is an error naming it.
    pub async fn read_files(&self, branch: &str, paths: &[String]) -> Result<Vec<Vec<u8>>> {
        check_branch(branch, "the base branch")?;
        let session = self.session()?;
        let mut out = Vec::with_capacity(paths.len());
        for path in paths {
            let path = repo_path(path)?;
            let (bytes, blob) = session.read_file(branch, &path).await?;
            self.read_log().insert((branch.to_string(), path), blob);
            out.push(bytes);
        }
        Ok(out)
    }

    /// Stores a Sigstore bundle (an in-toto attestation in a DSSE
    /// envelope) as an artifact attestation of the repository; its id.
    pub async fn upload_attestation(&self, bundle: &Value) -> Result<u64> {
        let session = self.session()?;
        let route = session.route("/attestations");
        let created: Created = session
            .call(Verb::Post, &route, Some(&json!({ "bundle": bundle })))
            .await
            .map_err(|f| session.fail("storing the attestation", Verb::Post, &route, f))?;
        Ok(created.id)
    }

    /// Commits `change.files` on top of `change.base`, points
    /// `change.branch` at the commit, and opens or updates the pull request.
    pub async fn publish(&self, change: &ChangeSet) -> Result<Published> {
        self.session()?.publish(change).await
    }

    fn read_log(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), String>> {
        // Only ever inserted into: a panic elsewhere leaves it consistent.
        self.read.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A client for one call. Only from async code: it needs the runtime.
    fn session(&self) -> Result<Session<'_>> {
        let client = octocrab::Octocrab::builder()
            .base_uri(self.root.as_str())
            .map_err(|e| {
                Error::Usage(format!(
                    "GITHUB_API_URL {:?} is not a URL octocrab accepts ({})",
                    self.root,
                    crate::error::error_chain(&e)
                ))
            })?
            .personal_token(self.token.clone())
            .add_header(
                reqwest::header::ACCEPT,
                "application/vnd.github+json".to_string(),
            )
            .set_connect_timeout(Some(CONNECT_TIMEOUT))
            .set_read_timeout(Some(IO_TIMEOUT))
            .set_write_timeout(Some(IO_TIMEOUT))
            .add_retry_config(octocrab::service::middleware::retry::RetryConfig::Simple(
                RETRIES,
            ))
            .build()
            .map_err(|e| Error::GitHub {
                what: format!("cannot set up the HTTPS client for {}", self.root),
                why: format!(
                    "{}. If the machine has no CA certificates, install them (ca-certificates) \
                     or point SSL_CERT_FILE at a bundle",
                    crate::error::error_chain(&e)
                ),
            })?;
        Ok(Session {
            repo: &self.repo,
            purpose: self.purpose,
            root: &self.root,
            token: &self.token,
            client,
            read: self.read_log().clone(),
        })
    }
}

impl Session<'_> {
    async fn default_branch(&self) -> Result<String> {
        let route = self.route("");
        let info: RepoInfo = self
            .call(Verb::Get, &route, None)
            .await
            .map_err(|f| self.fail("reading the default branch", Verb::Get, &route, f))?;
        Ok(info.default_branch)
    }

    /// The bytes of `path` on `branch`, and their blob id.
    async fn read_file(&self, branch: &str, path: &str) -> Result<(Vec<u8>, String)> {
        let route = self.route(&format!(
            "/contents/{}?ref={}",
            encode_path(path),
            encode_segment(branch)
        ));
        let step = format!("reading {path} on branch {branch}");
        let answer: Value = match self.call(Verb::Get, &route, None).await {
            Ok(answer) => answer,
            Err(Failure {
                kind: Kind::Status(404),
                message,
            }) => {
                return Err(Error::GitHub {
                    what: format!("GitHub {}: {path}", self.repo),
                    why: format!(
                        "not found on branch {branch} (GET {route}: HTTP 404: {}). Give the \
                         path from the repository's root, and check that the branch exists \
                         (--base) and that GITHUB_TOKEN can read the repository",
                        self.scrub(&message)
                    ),
                })
            }
            Err(f) => return Err(self.fail(&step, Verb::Get, &route, f)),
        };
        let not_a_file = |what: &str| Error::GitHub {
            what: format!("GitHub {}: {path}", self.repo),
            why: format!("is {what} on branch {branch}, not a file; name the files to edit"),
        };
        if answer.is_array() {
            return Err(not_a_file("a directory"));
        }
        let file: ContentFile = serde_json::from_value(answer).map_err(|e| {
            self.fail(
                &step,
                Verb::Get,
                &route,
                Failure::unexpected(format!("the answer is not a file's contents: {e}")),
            )
        })?;
        match file.kind.as_str() {
            "file" => {}
            "symlink" => return Err(not_a_file("a symbolic link")),
            "submodule" => return Err(not_a_file("a submodule")),
            "dir" => return Err(not_a_file("a directory")),
            other => return Err(not_a_file(&format!("of type {other:?}"))),
        }
        // Over 1 MB the contents API leaves `content` empty ("encoding":
        // "none"); the blob itself has it, up to 100 MB.
        let (encoding, content, step, route) =
            if file.encoding == "none" || (file.content.is_empty() && file.size > 0) {
                let route = self.route(&format!("/git/blobs/{}", encode_segment(&file.sha)));
                let step = format!("reading {path} on branch {branch} (a large file, as a blob)");
                let blob: Blob = self
                    .call(Verb::Get, &route, None)
                    .await
                    .map_err(|f| self.fail(&step, Verb::Get, &route, f))?;
                (blob.encoding, blob.content, step, route)
            } else {
                (file.encoding, file.content, step, route)
            };
        let bytes = match encoding.as_str() {
            "base64" => decode_base64(&content).map_err(|e| {
                self.fail(
                    &step,
                    Verb::Get,
                    &route,
                    Failure::unexpected(format!("the content is not base64: {e}")),
                )
            })?,
            "utf-8" => content.into_bytes(),
            other => {
                return Err(self.fail(
                    &step,
                    Verb::Get,
                    &route,
                    Failure::unexpected(format!("unknown content encoding {other:?}")),
                ))
            }
        };
        if bytes.len() as u64 != file.size {
            return Err(self.fail(
                &step,
                Verb::Get,
                &route,
                Failure::unexpected(format!(
                    "the content is {} bytes but GitHub gives the file's size as {}",
                    bytes.len(),
                    file.size
                )),
            ));
        }
        Ok((bytes, file.sha))
    }

    async fn publish(&self, change: &ChangeSet) -> Result<Published> {
        check_branch(&change.base, "the base branch")?;
        check_branch(&change.branch, "the pull request's branch")?;
        if change.branch == change.base {
            return Err(Error::Usage(format!(
                "the pull request's branch and its base are both {:?}; wharf will not move the \
                 base branch",
                change.base
            )));
        }
        if change.files.is_empty() {
            return Err(Error::Usage(
                "nothing to put in a pull request: no file changes".to_string(),
            ));
        }
        let mut files: Vec<(String, &[u8])> = Vec::with_capacity(change.files.len());
        for (path, bytes) in &change.files {
            let path = repo_path(path)?;
            if files.iter().any(|(p, _)| *p == path) {
                return Err(Error::Usage(format!(
                    "{path} is given twice; each file goes into the commit once"
                )));
            }
            files.push((path, bytes.as_slice()));
        }

        // 1. The base: its head commit and that commit's tree.
        let base = &change.base;
        let base_sha = self.branch_head(base).await?.ok_or_else(|| Error::GitHub {
            what: format!("GitHub {}: branch {base}", self.repo),
            why: "does not exist; check --base (default: the repository's default branch)"
                .to_string(),
        })?;
        let base_commit = self.commit(&base_sha).await?;
        let modes = self.modes(&base_commit.tree.sha, base, &files).await?;

        // 2. One blob per file, of its exact bytes.
        let mut entries = Vec::with_capacity(files.len());
        for ((path, bytes), mode) in files.iter().zip(modes) {
            let route = self.route("/git/blobs");
            let body = json!({"content": STANDARD.encode(bytes), "encoding": "base64"});
            let blob: Sha = self
                .call(Verb::Post, &route, Some(&body))
                .await
                .map_err(|f| {
                    self.fail(
                        &format!("creating the blob for {path}"),
                        Verb::Post,
                        &route,
                        f,
                    )
                })?;
            entries.push(json!({"path": path, "mode": mode, "type": "blob", "sha": blob.sha}));
        }

        // 3. The base's tree with those files replaced.
        let route = self.route("/git/trees");
        let body = json!({"base_tree": base_commit.tree.sha, "tree": entries});
        let tree: Sha = self
            .call(Verb::Post, &route, Some(&body))
            .await
            .map_err(|f| self.fail("creating the tree", Verb::Post, &route, f))?;

        // 4. The commit, unless the branch already is exactly this change
        // on this base (a re-run): then it stays where it is.
        let branch = &change.branch;
        let head = self.branch_head(branch).await?;
        let mut reuse = None;
        if let Some(head) = &head {
            let current = self.commit(head).await?;
            let parents: Vec<&str> = current.parents.iter().map(|p| p.sha.as_str()).collect();
            if current.tree.sha == tree.sha && parents == [base_sha.as_str()] {
                reuse = Some(head.clone());
            }
        }
        let commit = match reuse {
            Some(commit) => commit,
            None => {
                let route = self.route("/git/commits");
                let body = json!({
                    "message": change.message,
                    "tree": tree.sha,
                    "parents": [base_sha],
                });
                let commit: Sha = self
                    .call(Verb::Post, &route, Some(&body))
                    .await
                    .map_err(|f| self.fail("creating the commit", Verb::Post, &route, f))?;
                commit.sha
            }
        };

        // 5. The branch.
        match head {
            None => self.create_branch(branch, &commit).await?,
            Some(head) if head == commit => {}
            Some(_) => self.move_branch(branch, &commit).await?,
        }

        // 6. The pull request: the open one from this branch, or a new one.
        let (number, url, created) = self.pull_request(change).await?;
        Ok(Published {
            number,
            url,
            created,
            commit,
        })
    }

    /// The sha `refs/heads/BRANCH` points at, or `None` when there is no
    /// such branch.
    async fn branch_head(&self, branch: &str) -> Result<Option<String>> {
        // `git/ref/` (singular) matches exactly; `git/refs/` would list
        // every ref the name is a prefix of.
        let route = self.route(&format!("/git/ref/heads/{}", encode_path(branch)));
        match self.call::<GitRef>(Verb::Get, &route, None).await {
            Ok(found) => Ok(Some(found.object.sha)),
            Err(Failure {
                kind: Kind::Status(404),
                ..
            }) => Ok(None),
            Err(f) => Err(self.fail(&format!("reading branch {branch}"), Verb::Get, &route, f)),
        }
    }

    async fn commit(&self, sha: &str) -> Result<Commit> {
        let route = self.route(&format!("/git/commits/{}", encode_segment(sha)));
        self.call(Verb::Get, &route, None)
            .await
            .map_err(|f| self.fail(&format!("reading commit {sha}"), Verb::Get, &route, f))
    }

    /// The mode each file has on the base (`100644` for a new one), walking
    /// the base's tree one directory level at a time. Refuses paths that
    /// are not regular files there: the commit would replace a symbolic
    /// link or a submodule with a file. Stops when a file `read_files`
    /// returned is no longer the one on the base.
    async fn modes(
        &self,
        root: &str,
        base: &str,
        files: &[(String, &[u8])],
    ) -> Result<Vec<String>> {
        let mut listings: HashMap<String, Vec<TreeEntry>> = HashMap::new();
        let mut modes = Vec::with_capacity(files.len());
        for (path, _) in files {
            let segments: Vec<&str> = path.split('/').collect();
            let Some((name, dirs)) = segments.split_last() else {
                modes.push(REGULAR_FILE.to_string());
                continue;
            };
            let mut tree = Some(root.to_string());
            for dir in dirs {
                let Some(current) = tree.take() else { break };
                let entries = self.listing(&current, &mut listings).await?;
                tree = entries
                    .iter()
                    .find(|e| e.path == *dir && e.kind == "tree")
                    .map(|e| e.sha.clone());
            }
            let entries = match tree {
                Some(tree) => self.listing(&tree, &mut listings).await?,
                // A new directory: a new file.
                None => &[],
            };
            let refuse = |what: &str| Error::GitHub {
                what: format!("GitHub {}: {path}", self.repo),
                why: format!(
                    "is {what} on branch {base}; writing the edit there would replace it with a \
                     regular file. Name the file it stands for instead"
                ),
            };
            let entry = entries.iter().find(|e| e.path == *name);
            let mode = match entry {
                None => REGULAR_FILE.to_string(),
                Some(entry) => match entry.mode.as_str() {
                    "100644" | "100755" => entry.mode.clone(),
                    "120000" => return Err(refuse("a symbolic link")),
                    "160000" => return Err(refuse("a submodule")),
                    "040000" => return Err(refuse("a directory")),
                    other => return Err(refuse(&format!("of git mode {other}"))),
                },
            };
            // The edit was made to the version read_files returned.
            if let Some(read) = self.read.get(&(base.to_string(), path.clone())) {
                if entry.map(|e| &e.sha) != Some(read) {
                    return Err(Error::GitHub {
                        what: format!("GitHub {}: {path}", self.repo),
                        why: format!(
                            "changed on branch {base} after wharf read it (a commit landed \
                             meanwhile); nothing was written. Run again to edit the new version"
                        ),
                    });
                }
            }
            modes.push(mode);
        }
        Ok(modes)
    }

    /// One level of the tree `sha`, fetched once.
    async fn listing<'a>(
        &self,
        sha: &str,
        cache: &'a mut HashMap<String, Vec<TreeEntry>>,
    ) -> Result<&'a [TreeEntry]> {
        if !cache.contains_key(sha) {
            let route = self.route(&format!("/git/trees/{}", encode_segment(sha)));
            let tree: Tree = self
                .call(Verb::Get, &route, None)
                .await
                .map_err(|f| self.fail("reading the base's tree", Verb::Get, &route, f))?;
            cache.insert(sha.to_string(), tree.tree);
        }
        Ok(cache.get(sha).map_or(&[][..], Vec::as_slice))
    }

    async fn create_branch(&self, branch: &str, commit: &str) -> Result<()> {
        let route = self.route("/git/refs");
        let body = json!({"ref": format!("refs/heads/{branch}"), "sha": commit});
        match self.call::<Value>(Verb::Post, &route, Some(&body)).await {
            Ok(_) => Ok(()),
            // Created meanwhile (by a retried request, or a concurrent run):
            // move it instead.
            Err(Failure {
                kind: Kind::Status(422),
                message,
            }) if message.contains("already exists") => self.move_branch(branch, commit).await,
            Err(f) => Err(self.fail(&format!("creating branch {branch}"), Verb::Post, &route, f)),
        }
    }

    async fn move_branch(&self, branch: &str, commit: &str) -> Result<()> {
        let route = self.route(&format!("/git/refs/heads/{}", encode_path(branch)));
        // Forced: the branch is wharf's, rebuilt on the base at each run.
        let body = json!({"sha": commit, "force": true});
        self.call::<Value>(Verb::Patch, &route, Some(&body))
            .await
            .map(|_| ())
            .map_err(|f| {
                self.fail(
                    &format!("moving branch {branch} to the new commit"),
                    Verb::Patch,
                    &route,
                    f,
                )
            })
    }

    /// Updates the open pull request from `change.branch`, or opens one:
    /// (number, web address, whether it was opened now).
    async fn pull_request(&self, change: &ChangeSet) -> Result<(u64, String, bool)> {
        let route = self.route(&format!(
            "/pulls?head={}&state=open",
            encode_segment(&format!("{}:{}", self.repo.owner, change.branch))
        ));
        let open: Vec<Pull> = self
            .call(Verb::Get, &route, None)
            .await
            .map_err(|f| self.fail("looking for an open pull request", Verb::Get, &route, f))?;
        if let Some(pull) = open.first() {
            let route = self.route(&format!("/pulls/{}", pull.number));
            let mut body = json!({"title": change.title, "body": change.body});
            if pull.base.as_ref().is_some_and(|b| b.name != change.base) {
                body["base"] = json!(change.base);
            }
            let pull: Pull = self
                .call(Verb::Patch, &route, Some(&body))
                .await
                .map_err(|f| {
                    self.fail(
                        &format!("updating pull request #{}", pull.number),
                        Verb::Patch,
                        &route,
                        f,
                    )
                })?;
            return Ok((pull.number, pull.html_url, false));
        }
        let route = self.route("/pulls");
        let body = json!({
            "title": change.title,
            "head": change.branch,
            "base": change.base,
            "body": change.body,
        });
        let pull: Pull = self
            .call(Verb::Post, &route, Some(&body))
            .await
            .map_err(|f| self.fail("opening the pull request", Verb::Post, &route, f))?;
        Ok((pull.number, pull.html_url, true))
    }

    /// `/repos/OWNER/NAME` + `rest`. Owner and name need no escaping
    /// (`Repo::parse` allows only URL-safe characters).
    fn route(&self, rest: &str) -> String {
        format!("/repos/{}/{}{rest}", self.repo.owner, self.repo.name)
    }

    async fn call<R: DeserializeOwned>(
        &self,
        verb: Verb,
        route: &str,
        body: Option<&Value>,
    ) -> std::result::Result<R, Failure> {
        let result = match verb {
            Verb::Get => self.client.get(route, None::<&()>).await,
            Verb::Post => self.client.post(route, body).await,
            Verb::Patch => self.client.patch(route, body).await,
        };
        result.map_err(Failure::from)
    }

    fn scrub(&self, text: &str) -> String {
        let text: String = text.chars().take(MAX_MESSAGE_CHARS).collect();
        text.replace(self.token, "[GITHUB_TOKEN]")
    }

    /// The error for a failed call: the step, the repository and the
    /// endpoint; the status and GitHub's message; what to do.
    fn fail(&self, step: &str, verb: Verb, route: &str, failure: Failure) -> Error {
        let message = self.scrub(&failure.message);
        let why = match failure.kind {
            Kind::Status(status) => {
                let hint = match status {
                    401 => "GITHUB_TOKEN was refused: it is wrong, expired or revoked. Set a \
                            valid token"
                        .to_string(),
                    403 => format!(
                        "The token may not do this in {}: give the job {}",
                        self.repo,
                        self.purpose.permissions()
                    ),
                    404 => format!(
                        "Check the repository name ({}) and that GITHUB_TOKEN can see it",
                        self.repo
                    ),
                    409 => "The repository is empty or changed meanwhile; run again".to_string(),
                    422 => "GitHub refused the request as invalid".to_string(),
                    429 | 500..=599 => "GitHub is busy or failing; run again later".to_string(),
                    _ => String::new(),
                };
                if hint.is_empty() {
                    format!("HTTP {status}: {message}")
                } else {
                    format!("HTTP {status}: {message}. {hint}")
                }
            }
            Kind::Transport => format!(
                "cannot reach the GitHub API at {}: {message}. Check the network, and \
                 GITHUB_API_URL if it is set",
                self.root
            ),
            Kind::Unexpected => format!(
                "unexpected answer from {}: {message}. Is GITHUB_API_URL the API's root \
                 (https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise Server)?",
                self.root
            ),
        };
        Error::GitHub {
            what: format!("GitHub {}: {step} ({verb} {route})", self.repo),
            why,
        }
    }
}

/// The attestations API's answer.
#[derive(Deserialize)]
struct Created {
    id: u64,
}

#[derive(Debug, Clone, Copy)]
enum Verb {
    Get,
    Post,
    Patch,
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Patch => "PATCH",
        })
    }
}

/// A call that did not give what was asked.
#[derive(Debug)]
struct Failure {
    kind: Kind,
    message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// GitHub answered with this (non-2xx) status.
    Status(u16),
    /// No answer: connection, TLS, timeout.
    Transport,
    /// An answer not shaped as documented.
    Unexpected,
}

impl Failure {
    /// GitHub's answer: its `message`, and for a 422 what `errors` says
    /// was invalid.
    fn status(status: u16, message: &str, errors: &[Value]) -> Failure {
        let mut message = message.trim().to_string();
        for detail in errors {
            let text = match detail {
                Value::String(s) => s.clone(),
                Value::Object(o) => match o.get("message").and_then(Value::as_str) {
                    Some(m) => m.to_string(),
                    None => [
                        o.get("resource").and_then(Value::as_str),
                        o.get("field").and_then(Value::as_str),
                        o.get("code").and_then(Value::as_str),
                    ]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" "),
                },
                other => other.to_string(),
            };
            if !text.is_empty() && !message.contains(&text) {
                message = format!("{message} ({text})");
            }
        }
        Failure {
            kind: Kind::Status(status),
            message,
        }
    }

    fn unexpected(message: String) -> Failure {
        Failure {
            kind: Kind::Unexpected,
            message,
        }
    }
}

impl From<octocrab::Error> for Failure {
    fn from(error: octocrab::Error) -> Failure {
        match error {
            // octocrab's Display for this is just "GitHub": the status and
            // message are in the source.
            octocrab::Error::GitHub { source, .. } => Failure::status(
                source.status_code.as_u16(),
                &source.message,
                source.errors.as_deref().unwrap_or_default(),
            ),
            // "Service Error: client error (Connect)": the cause is further down.
            octocrab::Error::Service { source, .. } => Failure {
                kind: Kind::Transport,
                message: crate::error::error_chain(source.as_ref()),
            },
            octocrab::Error::Json { .. } | octocrab::Error::Serde { .. } => {
                Failure::unexpected(crate::error::error_chain(&error))
            }
            other => Failure {
                kind: Kind::Transport,
                message: crate::error::error_chain(&other),
            },
        }
    }
}

/// The API root without a trailing `/`, checked to be an http(s) URL.
fn api_root(url: &str) -> Result<String> {
    let trimmed = url.trim().trim_end_matches('/');
    let bad = |why: &str| {
        Error::Usage(format!(
            "GITHUB_API_URL {url:?} {why}; unset it for github.com, or set it to your GitHub \
             Enterprise Server's API root, e.g. https://github.example.com/api/v3"
        ))
    };
    let parsed = url::Url::parse(trimmed).map_err(|e| bad(&format!("is not a URL ({e})")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad("is not an http(s) URL"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(bad("has no host"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() || !parsed.username().is_empty() {
        return Err(bad(
            "must be a plain address, without user, query or fragment",
        ));
    }
    Ok(trimmed.to_string())
}

fn check_branch(branch: &str, what: &str) -> Result<()> {
    if branch.trim().is_empty() {
        return Err(Error::Usage(format!("{what} is empty; name a branch")));
    }
    Ok(())
}

/// A path in the repository, `a/b/c`: relative to its root, without `.`
/// or empty segments. `..` and absolute paths are refused, not resolved.
pub(crate) fn repo_path(path: &str) -> Result<String> {
    let bad = |why: &str| {
        Error::Usage(format!(
            "{path:?} is not a path in the repository: {why}. With --pull-request, name files \
             from the repository's root, e.g. deploy/values.yaml"
        ))
    };
    if path.starts_with('/') {
        return Err(bad("it is absolute"));
    }
    if path.contains('\\') {
        return Err(bad("it has a `\\`; use `/` between directories"));
    }
    let mut segments = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => return Err(bad("it has a `..` segment")),
            _ => segments.push(segment),
        }
    }
    if segments.is_empty() {
        return Err(bad("it names no file"));
    }
    Ok(segments.join("/"))
}

/// Percent-encodes one path segment or query value: everything but
/// RFC 3986's unreserved characters, as UTF-8 bytes.
fn encode_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Percent-encodes each segment of a `/`-separated path, keeping the `/`s
/// (GitHub takes `contents/a/b.yaml` and `git/ref/heads/wharf/x` so).
fn encode_path(path: &str) -> String {
    path.split('/')
        .map(encode_segment)
        .collect::<Vec<_>>()
        .join("/")
}

/// GitHub's base64: standard alphabet, padded, broken into lines.
fn decode_base64(text: &str) -> std::result::Result<Vec<u8>, base64::DecodeError> {
    let compact: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    STANDARD.decode(compact)
}

// The answers' shapes, as much of them as is used.

#[derive(Deserialize)]
struct RepoInfo {
    default_branch: String,
}

#[derive(Deserialize)]
struct Sha {
    sha: String,
}

#[derive(Deserialize)]
struct GitRef {
    object: Sha,
}

#[derive(Deserialize)]
struct Commit {
    tree: Sha,
    #[serde(default)]
    parents: Vec<Sha>,
}

#[derive(Deserialize)]
struct Tree {
    tree: Vec<TreeEntry>,
}

#[derive(Deserialize)]
struct TreeEntry {
    path: String,
    mode: String,
    #[serde(rename = "type")]
    kind: String,
    sha: String,
}

#[derive(Deserialize)]
struct ContentFile {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    encoding: String,
    #[serde(default)]
    content: String,
    size: u64,
    sha: String,
}

#[derive(Deserialize)]
struct Blob {
    content: String,
    encoding: String,
}

#[derive(Deserialize)]
struct Pull {
    number: u64,
    html_url: String,
    #[serde(default)]
    base: Option<PullBase>,
}

#[derive(Deserialize)]
struct PullBase {
    #[serde(rename = "ref")]
    name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_parses_owner_and_name() {
        let repo = Repo::parse("acme/deploy.git-ops_1").unwrap();
        assert_eq!(repo.owner, "acme");
        assert_eq!(repo.name, "deploy.git-ops_1");
        assert_eq!(repo.to_string(), "acme/deploy.git-ops_1");
    }

    #[test]
    fn repo_refuses_what_github_cannot_name() {
        for (text, why) in [
            ("acme", "no `/`"),
            ("acme/deploy/x", "more than one `/`"),
            ("/deploy", "owner is empty"),
            ("acme/", "name is empty"),
            ("acme/de ploy", "' '"),
            ("acme/dé", "'é'"),
            ("acme/..", "cannot be \"..\""),
            ("", "no `/`"),
        ] {
            let message = Repo::parse(text).unwrap_err().to_string();
            assert!(message.contains(why), "{text:?}: {message}");
            assert!(message.contains("OWNER/NAME"), "{text:?}: {message}");
        }
    }

    #[test]
    fn segments_are_percent_encoded_as_utf8() {
        assert_eq!(encode_segment("values.yaml"), "values.yaml");
        assert_eq!(
            encode_segment("my values#1?.yaml"),
            "my%20values%231%3F.yaml"
        );
        assert_eq!(encode_segment("wharf/x"), "wharf%2Fx");
        assert_eq!(encode_segment("é"), "%C3%A9");
        assert_eq!(encode_segment("a+b%c&d=e"), "a%2Bb%25c%26d%3De");
    }

    #[test]
    fn paths_keep_their_slashes() {
        assert_eq!(
            encode_path("deploy/my values.yaml"),
            "deploy/my%20values.yaml"
        );
        assert_eq!(
            encode_path("wharf/promote-app-1a2b3c4d5e6f"),
            "wharf/promote-app-1a2b3c4d5e6f"
        );
    }

    #[test]
    fn repo_paths_are_normalised_or_refused() {
        assert_eq!(
            repo_path("deploy/values.yaml").unwrap(),
            "deploy/values.yaml"
        );
        assert_eq!(
            repo_path("./deploy//values.yaml").unwrap(),
            "deploy/values.yaml"
        );
        for bad in ["/etc/passwd", "../x.yaml", "a/../b", "", ".", "a\\b"] {
            let message = repo_path(bad).unwrap_err().to_string();
            assert!(message.contains("repository's root"), "{bad:?}: {message}");
        }
    }

    #[test]
    fn base64_with_line_breaks_decodes_to_the_exact_bytes() {
        let bytes: Vec<u8> = b"\xEF\xBB\xBFimage: app\r\n"
            .iter()
            .copied()
            .cycle()
            .take(100)
            .collect();
        let encoded = STANDARD.encode(&bytes);
        let wrapped: String = encoded
            .as_bytes()
            .chunks(60)
            .map(|c| format!("{}\n", String::from_utf8_lossy(c)))
            .collect();
        assert!(wrapped.matches('\n').count() > 1);
        assert_eq!(decode_base64(&wrapped).unwrap(), bytes);
        assert_eq!(decode_base64("").unwrap(), Vec::<u8>::new());
        assert!(decode_base64("not base64!").is_err());
    }

    #[test]
    fn api_root_must_be_http() {
        assert_eq!(
            api_root("https://api.github.com/").unwrap(),
            "https://api.github.com"
        );
        assert_eq!(
            api_root("https://ghe.example.com/api/v3").unwrap(),
            "https://ghe.example.com/api/v3"
        );
        for bad in [
            "api.github.com",
            "ftp://x",
            "https://user:pw@x/",
            "https://x/?a=b",
        ] {
            let message = api_root(bad).unwrap_err().to_string();
            assert!(message.contains("GITHUB_API_URL"), "{bad:?}: {message}");
        }
    }

    #[test]
    fn a_missing_or_broken_token_says_what_to_do_and_never_shows_it() {
        let repo = Repo::parse("acme/deploy").unwrap();
        let message = Api::connect(repo.clone(), DEFAULT_API_URL, " \n")
            .err()
            .unwrap()
            .to_string();
        assert!(message.contains("GITHUB_TOKEN"), "{message}");
        assert!(message.contains("github.token"), "{message}");
        assert!(message.contains("pull-requests: write"), "{message}");
        let message = Api::connect(repo, DEFAULT_API_URL, "ghp_sec ret")
            .err()
            .unwrap()
            .to_string();
        assert!(message.contains("GITHUB_TOKEN"), "{message}");
        assert!(!message.contains("ghp_sec"), "{message}");
    }

    #[test]
    fn github_errors_keep_status_message_and_details() {
        let failure = Failure::status(
            422,
            "Validation Failed",
            &[
                json!({
                    "resource": "PullRequest",
                    "code": "custom",
                    "message": "A pull request already exists for acme:wharf/x."
                }),
                json!({"resource": "Reference", "field": "sha", "code": "invalid"}),
            ],
        );
        assert_eq!(failure.kind, Kind::Status(422));
        assert_eq!(
            failure.message,
            "Validation Failed (A pull request already exists for acme:wharf/x.) \
             (Reference sha invalid)"
        );
    }
}
