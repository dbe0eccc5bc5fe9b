//! `wharf promote --pull-request`: the edits as one commit on a branch of a
//! GitHub repository, and a pull request for it, through the REST API's git
//! data endpoints (no clone, no git binary).
//!
//! The files are read from the base branch, edited in memory by the same
//! code as local files, and written as blobs of their exact bytes (a BOM and
//! CRLF survive). The branch is `wharf/promote-<repo>-<short digest>`; a
//! second run for the same image moves that branch to a fresh commit on
//! the base and updates the open pull request instead of opening another.

use crate::{Error, Result};

/// `OWNER/NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repo {
    pub owner: String,
    pub name: String,
}

impl Repo {
    /// Parses `OWNER/NAME`.
    pub fn parse(text: &str) -> Result<Repo> {
        let _ = text;
        Err(Error::NotBuilt("promote --pull-request"))
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
pub struct Api {
    repo: Repo,
}

impl Api {
    pub fn new(repo: Repo) -> Result<Api> {
        let _ = repo;
        Err(Error::NotBuilt("promote --pull-request"))
    }

    pub fn repo(&self) -> &Repo {
        &self.repo
    }

    /// `base`, or the repository's default branch when `None`.
    pub async fn base_branch(&self, base: Option<&str>) -> Result<String> {
        let _ = base;
        Err(Error::NotBuilt("promote --pull-request"))
    }

    /// The bytes of each path on `branch`, in order. A path that is not
    /// there is an error naming it.
    pub async fn read_files(&self, branch: &str, paths: &[String]) -> Result<Vec<Vec<u8>>> {
        let _ = (branch, paths);
        Err(Error::NotBuilt("promote --pull-request"))
    }

    /// Commits `change.files` on top of `change.base`, points
    /// `change.branch` at the commit, and opens or updates the pull request.
    pub async fn publish(&self, change: &ChangeSet) -> Result<Published> {
        let _ = change;
        Err(Error::NotBuilt("promote --pull-request"))
    }
}
