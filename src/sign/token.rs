//! Finding the OIDC identity token that keyless signing exchanges at Fulcio
//! for a certificate.
//!
//! Sources, first match wins:
//! 1. `--identity-token` (the token, or like cosign a path to a file holding it);
//! 2. `SIGSTORE_ID_TOKEN` (also how GitLab's `id_tokens:` and Jenkins'
//!    credential bindings deliver it);
//! 3. a token file: `SIGSTORE_OIDC_TOKEN_FILE`, else
//!    `/var/run/sigstore/cosign/oidc-token`, where Tekton/Kubernetes project a
//!    service-account token;
//! 4. GitHub Actions' token endpoint (`ACTIONS_ID_TOKEN_REQUEST_URL`);
//! 5. GitLab CI: only to explain a missing `id_tokens:` (the token itself is 2.);
//! 6. Buildkite (`buildkite-agent oidc request-token`);
//! 7. CircleCI (`circleci run oidc get`, else `CIRCLE_OIDC_TOKEN_V2`).
//!
//! Nothing is cached: every call asks again, because CI tokens live minutes
//! and projected tokens are rotated in place.
//!
//! The token is checked for shape and expiry only — it is not verified here;
//! Fulcio does that. The token is a bearer credential: it never appears in an
//! error, in `Debug` or in `Display`, and neither does the GitHub request token.
//!
//! Why not the `ambient-id` crate (what sigstore-oidc uses): it reads the
//! process environment directly (untestable without mutating it), does not
//! retry, blocks the runtime on its subprocesses, and its errors say only
//! "GitHub Actions detection error" where a user needs to be told what to add
//! to the workflow.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use reqwest::header::{ACCEPT, AUTHORIZATION};
use reqwest::StatusCode;
use serde_json::Value;

/// The audience Fulcio requires in tokens (`aud`).
pub const AUDIENCE: &str = "sigstore";

/// Where cosign (and Tekton Chains' examples) mount a projected
/// service-account token.
pub const DEFAULT_TOKEN_FILE: &str = "/var/run/sigstore/cosign/oidc-token";

/// How far this machine's clock may disagree with the issuer's before a
/// token counts as expired or not yet valid.
pub const CLOCK_SKEW: Duration = Duration::from_secs(30);

/// Tokens are a few KiB; anything much larger is not a token.
const MAX_TOKEN_BYTES: u64 = 256 << 10;

/// A GitHub event payload is rarely more than a few hundred KiB.
const MAX_EVENT_BYTES: u64 = 16 << 20;

// ---------------------------------------------------------------------------
// The environment

/// Where discovery reads environment variables from: the process (in
/// production) or a map (in tests, which must not mutate the process
/// environment other tests share).
pub trait EnvSource: Send + Sync {
    /// The variable's value, `None` when unset (or not UTF-8).
    fn var(&self, name: &str) -> Option<String>;
}

/// The real process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl EnvSource for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl<S: std::hash::BuildHasher + Send + Sync> EnvSource for HashMap<String, String, S> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

impl EnvSource for BTreeMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// A variable with surrounding whitespace trimmed; empty counts as unset,
/// because CI templating turns a missing secret into an empty string.
fn non_empty(env: &dyn EnvSource, name: &str) -> Option<String> {
    env.var(name)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn is_true(env: &dyn EnvSource, name: &str) -> bool {
    env.var(name).is_some_and(|v| v.trim() == "true")
}

// ---------------------------------------------------------------------------
// The token

/// Where a token came from, for messages ("the OIDC token from …").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// `--identity-token TOKEN`.
    Flag,
    /// `--identity-token PATH`, a file holding the token.
    FlagFile(PathBuf),
    /// `SIGSTORE_ID_TOKEN`, set by hand or by a credential binding.
    Env,
    /// `SIGSTORE_ID_TOKEN` in a GitLab job: its `id_tokens:`.
    GitLab,
    /// A token file (projected service-account token).
    File(PathBuf),
    /// The GitHub Actions token endpoint.
    GitHubActions,
    /// `buildkite-agent oidc request-token`.
    Buildkite,
    /// `circleci run oidc get`.
    CircleCiCli,
    /// `CIRCLE_OIDC_TOKEN_V2`.
    CircleCiEnv,
}

impl fmt::Display for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenSource::Flag => f.write_str("--identity-token"),
            TokenSource::FlagFile(p) => write!(f, "the --identity-token file {}", p.display()),
            TokenSource::Env => f.write_str("SIGSTORE_ID_TOKEN"),
            TokenSource::GitLab => f.write_str("SIGSTORE_ID_TOKEN (GitLab id_tokens)"),
            TokenSource::File(p) => write!(f, "the token file {}", p.display()),
            TokenSource::GitHubActions => f.write_str("the GitHub Actions token endpoint"),
            TokenSource::Buildkite => f.write_str("`buildkite-agent oidc request-token`"),
            TokenSource::CircleCiCli => f.write_str("`circleci run oidc get`"),
            TokenSource::CircleCiEnv => f.write_str("CIRCLE_OIDC_TOKEN_V2"),
        }
    }
}

/// The token's claims, parsed but NOT verified (Fulcio verifies them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claims {
    pub iss: String,
    pub sub: Option<String>,
    /// `aud`, a string or a list in the token; always a list here.
    pub aud: Vec<String>,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    pub iat: Option<u64>,
    pub nbf: Option<u64>,
    pub email: Option<String>,
    /// GitHub: `owner/repo`.
    pub repository: Option<String>,
    /// GitHub: `owner/repo/.github/workflows/f.yml@refs/heads/main`; the
    /// certificate identity of a GitHub-signed artifact.
    pub job_workflow_ref: Option<String>,
    /// GitHub: the `ref` claim (`refs/heads/main`).
    pub git_ref: Option<String>,
    /// GitHub: the commit.
    pub sha: Option<String>,
    /// GitHub: `push`, `pull_request`, `release`, …
    pub event_name: Option<String>,
    /// GitHub: `github-hosted` or `self-hosted`.
    pub runner_environment: Option<String>,
    /// GitLab: `gitlab.com/group/project//.gitlab-ci.yml@refs/heads/main`.
    pub ci_config_ref_uri: Option<String>,
    /// Buildkite, CircleCI, Codefresh: the certificate identity Fulcio
    /// makes of their claims (its `subject-alternative-name-template` for
    /// that CI provider, with the same defaults).
    pub ci_identity: Option<String>,
}

/// Something worth saying about a usable token (data, not an error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenWarning {
    /// Stable kebab-case code: `token-audience`, `token-expires-soon`.
    pub code: &'static str,
    pub message: String,
}

/// An OIDC identity token: the raw JWT and its (unverified) claims.
///
/// `Debug` and `Display` never show the JWT; [`IdentityToken::reveal`] is the
/// one way to get it, for the request to Fulcio.
#[derive(Clone)]
pub struct IdentityToken {
    raw: String,
    claims: Claims,
    source: TokenSource,
    warnings: Vec<TokenWarning>,
}

impl IdentityToken {
    /// Checks `raw` is a well-formed, unexpired JWT and parses its claims.
    pub fn parse(raw: &str, source: TokenSource) -> Result<IdentityToken, TokenError> {
        IdentityToken::parse_at(raw, source, unix_now())
    }

    /// [`IdentityToken::parse`] as if the time were `now` (seconds since the epoch).
    pub fn parse_at(raw: &str, source: TokenSource, now: u64) -> Result<IdentityToken, TokenError> {
        let raw = raw.trim();
        let claims = parse_jwt(raw).map_err(|(part, detail)| TokenError::Malformed {
            from: source.clone(),
            part,
            detail,
        })?;
        let skew = CLOCK_SKEW.as_secs();
        if claims.exp.saturating_add(skew) <= now {
            let hint = match &source {
                TokenSource::File(_) => {
                    " This file is not being refreshed: a projected service-account token is \
                     rotated by the kubelet — check it is a `projected` `serviceAccountToken` \
                     volume and its `expirationSeconds`."
                }
                _ => "",
            };
            return Err(TokenError::Expired {
                from: source,
                expired_at: rfc3339(claims.exp),
                ago: human_duration(now - claims.exp),
                hint,
            });
        }
        if let Some(nbf) = claims.nbf {
            if nbf > now.saturating_add(skew) {
                return Err(TokenError::NotYetValid {
                    from: source,
                    valid_from: rfc3339(nbf),
                    wait: human_duration(nbf - now),
                });
            }
        }
        let mut warnings = Vec::new();
        if !claims.aud.iter().any(|a| a == AUDIENCE) {
            let aud = if claims.aud.is_empty() {
                "missing".to_string()
            } else {
                format!("{:?}", claims.aud)
            };
            warnings.push(TokenWarning {
                code: "token-audience",
                message: format!(
                    "the OIDC token from {source} has audience {aud}, not `{AUDIENCE}`: public \
                     Fulcio refuses it. Request it with audience `{AUDIENCE}` (GitLab \
                     `id_tokens: … aud: {AUDIENCE}`, a projected token's `audience: {AUDIENCE}`)"
                ),
            });
        }
        let left = claims.exp.saturating_sub(now);
        if left < 60 {
            warnings.push(TokenWarning {
                code: "token-expires-soon",
                message: format!(
                    "the OIDC token from {source} expires in {}; if Fulcio refuses it as \
                     expired, fetch it right before signing",
                    human_duration(left)
                ),
            });
        }
        Ok(IdentityToken {
            raw: raw.to_string(),
            claims,
            source,
            warnings,
        })
    }

    /// The JWT itself. A bearer credential: send it to Fulcio, show it nowhere.
    pub fn reveal(&self) -> &str {
        &self.raw
    }

    pub fn claims(&self) -> &Claims {
        &self.claims
    }

    pub fn source(&self) -> &TokenSource {
        &self.source
    }

    pub fn issuer(&self) -> &str {
        &self.claims.iss
    }

    /// What to tell the user about the token (wrong audience, about to expire).
    pub fn warnings(&self) -> &[TokenWarning] {
        &self.warnings
    }

    /// The certificate identity Fulcio will most likely put in the SAN, for
    /// display and for suggesting `--certificate-identity`: the email, else
    /// GitHub's workflow URL, else GitLab's config URL, else `sub`.
    pub fn expected_identity(&self) -> Option<String> {
        let c = &self.claims;
        if let Some(email) = &c.email {
            return Some(email.clone());
        }
        if let Some(w) = &c.job_workflow_ref {
            return Some(format!("https://github.com/{w}"));
        }
        if let Some(uri) = &c.ci_config_ref_uri {
            return Some(format!("https://{uri}"));
        }
        if let Some(identity) = &c.ci_identity {
            return Some(identity.clone());
        }
        c.sub.clone()
    }
}

impl fmt::Debug for IdentityToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "IdentityToken(<redacted>, sub={}, iss={}, exp={})",
            self.claims.sub.as_deref().unwrap_or("-"),
            self.claims.iss,
            rfc3339(self.claims.exp)
        )
    }
}

impl fmt::Display for IdentityToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Which part of a JWT is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtPart {
    /// The dot-separated layout itself.
    Structure,
    Header,
    Claims,
    Signature,
}

impl fmt::Display for JwtPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JwtPart::Structure => "the value",
            JwtPart::Header => "its header (part 1)",
            JwtPart::Claims => "its claims (part 2)",
            JwtPart::Signature => "its signature (part 3)",
        })
    }
}

/// Parses a compact JWS without verifying it. Error details name the part
/// and the problem, never the content.
fn parse_jwt(raw: &str) -> Result<Claims, (JwtPart, String)> {
    let structure = |d: &str| (JwtPart::Structure, d.to_string());
    if raw.is_empty() {
        return Err(structure("is empty"));
    }
    if raw.starts_with('{') {
        return Err(structure(
            "is JSON, not a token — pass the token itself (for example the `value` field of \
             GitHub's answer)",
        ));
    }
    if raw.starts_with('"') || raw.starts_with('\'') {
        return Err(structure("is wrapped in quotes — remove them"));
    }
    if raw.len() > 7 && raw[..7].eq_ignore_ascii_case("bearer ") {
        return Err(structure(
            "starts with `Bearer ` — pass the token without the scheme",
        ));
    }
    let parts: Vec<&str> = raw.split('.').collect();
    match parts.len() {
        3 => {}
        5 => {
            return Err(structure(
                "has 5 dot-separated parts: an encrypted JWE, not a signed JWT",
            ))
        }
        n => {
            return Err(structure(&format!(
                "has {n} dot-separated part(s), not 3; it may be truncated"
            )))
        }
    }
    let header = decode_json(parts[0]).map_err(|d| (JwtPart::Header, d))?;
    match header.get("alg").and_then(Value::as_str) {
        None => return Err((JwtPart::Header, "has no `alg`".into())),
        Some(alg) if alg.eq_ignore_ascii_case("none") => {
            return Err((
                JwtPart::Header,
                "says `alg: none`: the token is unsigned".into(),
            ))
        }
        Some(_) => {}
    }
    let claims = decode_json(parts[1]).map_err(|d| (JwtPart::Claims, d))?;
    let sig = parts[2];
    if sig.is_empty() {
        return Err((JwtPart::Signature, "is empty: the token is unsigned".into()));
    }
    if !is_base64url(sig) {
        return Err((
            JwtPart::Signature,
            "is not base64url (A-Z a-z 0-9 - _)".into(),
        ));
    }
    claims_from(&claims).map_err(|d| (JwtPart::Claims, d))
}

fn is_base64url(s: &str) -> bool {
    let s = s.trim_end_matches('=');
    s.len() % 4 != 1
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn decode_json(part: &str) -> Result<serde_json::Map<String, Value>, String> {
    if !is_base64url(part) {
        return Err("is not base64url (A-Z a-z 0-9 - _)".into());
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|_| "is not valid base64url".to_string())?;
    // serde_json's syntax errors carry a line and column, never content.
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("is JSON but not an object".into()),
        Err(e) => Err(format!(
            "is not JSON (line {}, column {})",
            e.line(),
            e.column()
        )),
    }
}

fn claims_from(map: &serde_json::Map<String, Value>) -> Result<Claims, String> {
    let string = |name: &str| -> Result<Option<String>, String> {
        match map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("have a non-string `{name}` claim")),
        }
    };
    let number = |name: &str| -> Result<Option<u64>, String> {
        match map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => {
                if let Some(n) = v.as_u64() {
                    return Ok(Some(n));
                }
                // RFC 7519 NumericDate may have a fraction.
                match v.as_f64() {
                    Some(f) if f.is_finite() && f >= 0.0 => Ok(Some(f as u64)),
                    _ => Err(format!(
                        "have an `{name}` claim that is not a non-negative number of seconds"
                    )),
                }
            }
        }
    };
    let iss = string("iss")?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| "have no `iss` (issuer) claim".to_string())?;
    let exp = number("exp")?.ok_or_else(|| "have no `exp` (expiry) claim".to_string())?;
    let aud = match map.get("aud") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| "have an `aud` list with non-string items".to_string())?,
        Some(_) => return Err("have an `aud` claim that is neither a string nor a list".into()),
    };
    Ok(Claims {
        iss,
        sub: string("sub")?,
        aud,
        exp,
        iat: number("iat")?,
        nbf: number("nbf")?,
        email: string("email")?,
        repository: string("repository")?,
        job_workflow_ref: string("job_workflow_ref")?,
        git_ref: string("ref")?,
        sha: string("sha")?,
        event_name: string("event_name")?,
        runner_environment: string("runner_environment")?,
        ci_config_ref_uri: string("ci_config_ref_uri")?,
        ci_identity: ci_identity(map),
    })
}

/// The identity Fulcio's CI providers put in the certificate for a
/// Buildkite, CircleCI or Codefresh token (Fulcio's identity config,
/// `ci-issuer-metadata`): a claimed `url`/`api_url`/`platform_url` wins over
/// the provider's default, as in Fulcio.
fn ci_identity(map: &serde_json::Map<String, Value>) -> Option<String> {
    let claim = |name: &str| map.get(name).and_then(Value::as_str);
    let base = |name: &str, default: &'static str| claim(name).unwrap_or(default).to_string();
    if let (Some(org), Some(pipeline)) = (claim("organization_slug"), claim("pipeline_slug")) {
        return Some(format!(
            "{}/{org}/{pipeline}",
            base("url", "https://buildkite.com")
        ));
    }
    if let (Some(project), Some(definition)) = (
        claim("oidc.circleci.com/project-id"),
        claim("oidc.circleci.com/pipeline-definition-id"),
    ) {
        return Some(format!(
            "{}/projects/{project}/pipeline-definitions/{definition}",
            base("api_url", "https://circleci.com/api/v2")
        ));
    }
    if let (Some(account), Some(pipeline), Some(account_id), Some(pipeline_id)) = (
        claim("account_name"),
        claim("pipeline_name"),
        claim("account_id"),
        claim("pipeline_id"),
    ) {
        return Some(format!(
            "{}/{account}/{pipeline}:{account_id}/{pipeline_id}",
            base("platform_url", "https://g.codefresh.io")
        ));
    }
    None
}

// ---------------------------------------------------------------------------
// Errors

/// Why no usable token was found. No variant holds a token or the GitHub
/// request token; details from outside (HTTP bodies, tool stderr) are
/// redacted before they are stored.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TokenError {
    #[error(
        "{from} is empty: give the OIDC token itself, or leave it out to discover one from \
         the CI environment"
    )]
    Empty { from: TokenSource },

    #[error(
        "the OIDC token from {from} is not a usable JWT: {part} {detail}. A JWT is three \
         base64url parts joined by dots (header.claims.signature); check the value is the raw, \
         complete token (the token itself is not shown)"
    )]
    Malformed {
        from: TokenSource,
        part: JwtPart,
        detail: String,
    },

    #[error(
        "the OIDC token from {from} expired at {expired_at} ({ago} ago). CI tokens are valid \
         for minutes only: fetch the token right before signing — let `wharf sign` discover it \
         rather than passing one obtained earlier in the job.{hint}"
    )]
    Expired {
        from: TokenSource,
        expired_at: String,
        ago: String,
        hint: &'static str,
    },

    #[error(
        "the OIDC token from {from} is not valid before {valid_from} ({wait} from now): this \
         machine's clock is probably behind; synchronise it (NTP) and retry"
    )]
    NotYetValid {
        from: TokenSource,
        valid_from: String,
        wait: String,
    },

    #[error("the token file {}{origin}: {detail}", path.display())]
    TokenFile {
        path: PathBuf,
        /// ` (from SIGSTORE_OIDC_TOKEN_FILE)` or empty.
        origin: &'static str,
        detail: String,
    },

    #[error(
        "GitHub Actions did not give this job an OIDC token ({missing} is not set): missing \
         id-token: write permission — add `permissions: id-token: write` to the job (a \
         `permissions:` block replaces the defaults, so list `contents: read` too; a reusable \
         workflow needs it granted by the calling job as well). If wharf runs in a container \
         the job started, pass ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN \
         into it.{pull_request}"
    )]
    GitHubPermission {
        missing: &'static str,
        /// A note for a pull request whose origin could not be determined, or empty.
        pull_request: &'static str,
    },

    #[error(
        "GitHub Actions gives this run no OIDC token: it is a `{event}` event from the fork \
         {head} into {base}, and GitHub never grants id-token: write to pull requests from \
         forks, whatever `permissions:` says. Sign on `push` or after merge instead, and skip \
         the signing step for fork pull requests \
         (`if: github.event.pull_request.head.repo.full_name == github.repository`)"
    )]
    GitHubForkPullRequest {
        event: String,
        head: String,
        base: String,
    },

    #[error(
        "ACTIONS_ID_TOKEN_REQUEST_URL is not usable: {detail}. The runner sets it; do not \
         override it"
    )]
    GitHubBadUrl { detail: String },

    #[error(
        "the GitHub Actions token endpoint refused the request ({status}){detail}: the request \
         token (ACTIONS_ID_TOKEN_REQUEST_TOKEN) is invalid or expired. It is valid only inside \
         the job that received it — do not copy it between jobs or override it — and the job \
         needs `permissions: id-token: write`"
    )]
    GitHubRefused { status: u16, detail: String },

    #[error(
        "the GitHub Actions token endpoint answered {status}{detail}. ACTIONS_ID_TOKEN_REQUEST_URL \
         is set by the runner; check nothing in the job overrides it"
    )]
    GitHubStatus { status: u16, detail: String },

    #[error(
        "the GitHub Actions token endpoint still answered {status} after {attempts} attempts: \
         GitHub is having trouble (https://www.githubstatus.com). Re-run the job later"
    )]
    GitHubUnavailable { status: u16, attempts: u32 },

    #[error(
        "cannot reach the GitHub Actions token endpoint {host} after {attempts} attempt(s): \
         {detail}. Check the runner's network and proxy settings (HTTPS_PROXY, NO_PROXY) and \
         re-run the job"
    )]
    GitHubUnreachable {
        host: String,
        attempts: u32,
        detail: String,
    },

    #[error(
        "the GitHub Actions token endpoint answered 200 but {detail}; expected JSON \
         {{\"value\": \"<token>\"}}. Re-run the job; if it persists, check nothing between the \
         runner and GitHub rewrites the answer"
    )]
    GitHubBadAnswer { detail: String },

    #[error(
        "this is GitLab CI (GITLAB_CI=true) but the job has no SIGSTORE_ID_TOKEN: GitLab issues \
         OIDC tokens only through `id_tokens:`. Add to the job:\n\
         \n    id_tokens:\n      SIGSTORE_ID_TOKEN:\n        aud: sigstore\n\n\
         (a token declared under another name must be renamed to SIGSTORE_ID_TOKEN)"
    )]
    GitLabNoIdToken,

    #[error(
        "this is Jenkins (JENKINS_URL is set), which has no ambient OIDC token, and none was \
         given (tried: {tried}). Install the OIDC Provider plugin, create an \"OpenID Connect \
         id token\" credential with audience `sigstore`, and bind it around the signing step:\n\
         \n    withCredentials([string(credentialsId: 'sigstore-oidc', variable: 'SIGSTORE_ID_TOKEN')]) {{\n        sh 'wharf sign …'\n    }}\n\n\
         Public Fulcio has no Jenkins issuer: sign through a private Sigstore that trusts your \
         Jenkins' issuer (`--trust-config FILE`), or sign with a key (`--key`)"
    )]
    Jenkins { tried: String },

    #[error("{tool} is not on PATH: {hint}")]
    ToolMissing {
        tool: &'static str,
        hint: &'static str,
    },

    #[error("`{command}` failed ({status}){detail}: {hint}")]
    ToolFailed {
        command: String,
        status: String,
        detail: String,
        hint: &'static str,
    },

    #[error("`{command}` gave no answer within {secs}s and was stopped: {hint}")]
    ToolTimedOut {
        command: String,
        secs: u64,
        hint: &'static str,
    },

    #[error(
        "this is CircleCI (CIRCLECI=true) but it gave no OIDC token: the `circleci` CLI is not \
         on PATH and CIRCLE_OIDC_TOKEN_V2 is not set. CircleCI issues OIDC tokens only to jobs \
         that use a context: add `context: …` to the job in the workflow"
    )]
    CircleCiNoToken,

    #[error("cannot set up the HTTP client for the GitHub Actions token endpoint: {detail}")]
    Http { detail: String },

    #[error(
        "no OIDC identity token found for keyless signing. Tried: {tried}. Either pass one with \
         `--identity-token`, run in a CI job that issues OIDC tokens (GitHub Actions with \
         `permissions: id-token: write`, GitLab `id_tokens:`, Buildkite, CircleCI, or a \
         projected service-account token at {DEFAULT_TOKEN_FILE}), or sign with a key \
         (`wharf generate-key-pair`, then `--key cosign.key`).{hint}"
    )]
    NotFound { tried: String, hint: String },
}

// ---------------------------------------------------------------------------
// Discovery

/// How discovery talks to the outside; [`Default`] is what `wharf sign` uses.
#[derive(Debug, Clone)]
pub struct Discovery {
    /// The token file used when `SIGSTORE_OIDC_TOKEN_FILE` is unset.
    pub default_token_file: PathBuf,
    /// Attempts at the GitHub endpoint, the first included.
    pub attempts: u32,
    /// First retry delay; doubles per attempt, with jitter.
    pub base_delay: Duration,
    /// Bound on each HTTP request.
    pub http_timeout: Duration,
    /// Bound on `buildkite-agent` / `circleci`.
    pub tool_timeout: Duration,
}

impl Default for Discovery {
    fn default() -> Self {
        Discovery {
            default_token_file: PathBuf::from(DEFAULT_TOKEN_FILE),
            attempts: 4,
            base_delay: Duration::from_millis(500),
            http_timeout: Duration::from_secs(30),
            tool_timeout: Duration::from_secs(60),
        }
    }
}

/// Finds the token to sign with, from `explicit` (`--identity-token`) or
/// the environment, with the default [`Discovery`] settings.
pub async fn discover(
    env: &dyn EnvSource,
    explicit: Option<&str>,
) -> Result<IdentityToken, TokenError> {
    Discovery::default().discover(env, explicit).await
}

impl Discovery {
    /// Finds the token to sign with; see the module docs for the order.
    pub async fn discover(
        &self,
        env: &dyn EnvSource,
        explicit: Option<&str>,
    ) -> Result<IdentityToken, TokenError> {
        let mut tried: Vec<String> = Vec::new();

        // 1. --identity-token
        if let Some(value) = explicit {
            let value = value.trim();
            if value.is_empty() {
                return Err(TokenError::Empty {
                    from: TokenSource::Flag,
                });
            }
            // Like cosign, accept a path to a file holding the token. A JWT
            // is never the name of an existing file, so this cannot misfire.
            let path = Path::new(value);
            if path.is_file() {
                let raw = read_token_file(path, " (from --identity-token)")?;
                return IdentityToken::parse(&raw, TokenSource::FlagFile(path.to_path_buf()));
            }
            return IdentityToken::parse(value, TokenSource::Flag);
        }
        tried.push("--identity-token (not given)".into());

        // 2. SIGSTORE_ID_TOKEN (GitLab's id_tokens and Jenkins' bindings land here too)
        if let Some(value) = non_empty(env, "SIGSTORE_ID_TOKEN") {
            let source = if is_true(env, "GITLAB_CI") {
                TokenSource::GitLab
            } else {
                TokenSource::Env
            };
            return IdentityToken::parse(&value, source);
        }
        tried.push(match env.var("SIGSTORE_ID_TOKEN") {
            Some(_) => "SIGSTORE_ID_TOKEN (set but empty)".into(),
            None => "SIGSTORE_ID_TOKEN (not set)".into(),
        });

        // 3. A token file, read afresh on every call: projected tokens rotate.
        if let Some(path) = non_empty(env, "SIGSTORE_OIDC_TOKEN_FILE") {
            let path = PathBuf::from(path);
            let raw = read_token_file(&path, " (from SIGSTORE_OIDC_TOKEN_FILE)")?;
            return IdentityToken::parse(&raw, TokenSource::File(path));
        }
        let path = &self.default_token_file;
        match std::fs::symlink_metadata(path) {
            // Absent is the normal case outside Kubernetes: move on.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                tried.push(format!(
                    "SIGSTORE_OIDC_TOKEN_FILE (not set), token file {} (absent)",
                    path.display()
                ));
            }
            _ => {
                let raw = read_token_file(path, "")?;
                return IdentityToken::parse(&raw, TokenSource::File(path.clone()));
            }
        }

        // 4. GitHub Actions
        let url = non_empty(env, "ACTIONS_ID_TOKEN_REQUEST_URL");
        let request_token = non_empty(env, "ACTIONS_ID_TOKEN_REQUEST_TOKEN");
        if is_true(env, "GITHUB_ACTIONS") || url.is_some() {
            let (Some(url), Some(request_token)) = (url.as_deref(), request_token) else {
                let missing = if url.is_none() {
                    "ACTIONS_ID_TOKEN_REQUEST_URL"
                } else {
                    "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
                };
                return Err(github_missing(env, missing));
            };
            let raw = self.fetch_github(url, &request_token).await?;
            return IdentityToken::parse(&raw, TokenSource::GitHubActions);
        }
        tried.push("GitHub Actions (GITHUB_ACTIONS not set)".into());

        // 5. GitLab: its token is SIGSTORE_ID_TOKEN (2.), so reaching here
        // means the job declared no `id_tokens:`.
        if is_true(env, "GITLAB_CI") {
            return Err(TokenError::GitLabNoIdToken);
        }
        tried.push("GitLab CI (GITLAB_CI not set)".into());

        // 6. Buildkite
        if is_true(env, "BUILDKITE") {
            let raw = self
                .run_tool(
                    env,
                    "buildkite-agent",
                    &["oidc", "request-token", "--audience", AUDIENCE],
                    BUILDKITE_HINT,
                )
                .await?
                .ok_or(TokenError::ToolMissing {
                    tool: "buildkite-agent",
                    hint: "wharf asks the Buildkite agent for the job's OIDC token; run the \
                           step on a Buildkite agent host or image that has it, or pass \
                           --identity-token",
                })?;
            return IdentityToken::parse(&raw, TokenSource::Buildkite);
        }
        tried.push("Buildkite (BUILDKITE not set)".into());

        // 7. CircleCI: the CLI can set the audience; the V2 variable's
        // audience is the organisation id, so it is only the fallback.
        if is_true(env, "CIRCLECI") {
            let claims = format!("{{\"aud\":\"{AUDIENCE}\"}}");
            if let Some(raw) = self
                .run_tool(
                    env,
                    "circleci",
                    &["run", "oidc", "get", "--claims", &claims],
                    CIRCLECI_HINT,
                )
                .await?
            {
                return IdentityToken::parse(&raw, TokenSource::CircleCiCli);
            }
            if let Some(raw) = non_empty(env, "CIRCLE_OIDC_TOKEN_V2") {
                return IdentityToken::parse(&raw, TokenSource::CircleCiEnv);
            }
            return Err(TokenError::CircleCiNoToken);
        }
        tried.push("CircleCI (CIRCLECI not set)".into());

        let tried = tried.join(", ");
        if env.var("JENKINS_URL").is_some() {
            return Err(TokenError::Jenkins { tried });
        }
        let hint = if env.var("KUBERNETES_SERVICE_HOST").is_some() {
            format!(
                " In Kubernetes or Tekton, mount a projected service-account token with \
                 audience `{AUDIENCE}` at {DEFAULT_TOKEN_FILE} (a `projected` volume with \
                 `serviceAccountToken: {{path: oidc-token, audience: {AUDIENCE}, \
                 expirationSeconds: 600}}` mounted at /var/run/sigstore/cosign) — if your \
                 cluster's issuer is one your Fulcio trusts."
            )
        } else {
            " If wharf runs in a container started by a CI job, pass the CI's token \
             variables into it."
                .to_string()
        };
        Err(TokenError::NotFound { tried, hint })
    }

    /// `GET <url>&audience=sigstore` with the request token, retrying
    /// connection failures and 5xx.
    async fn fetch_github(&self, url: &str, request_token: &str) -> Result<String, TokenError> {
        let mut url = url::Url::parse(url).map_err(|e| TokenError::GitHubBadUrl {
            detail: format!("it is not a URL ({e})"),
        })?;
        let host = url.host_str().unwrap_or_default().to_string();
        let loopback = is_loopback(&host);
        match url.scheme() {
            "https" => {}
            // The testbed serves plain HTTP on loopback; anywhere else the
            // request token would cross the network in clear.
            "http" if loopback => {}
            scheme => {
                return Err(TokenError::GitHubBadUrl {
                    detail: format!(
                        "its scheme is {scheme}, and wharf sends the request token only over \
                         HTTPS (or to loopback)"
                    ),
                })
            }
        }
        // The runner's URL already has a query (`?api-version=…`); appending
        // through the URL type gets `&` vs `?` right and replaces any
        // audience already there.
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != "audience")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        {
            let mut query = url.query_pairs_mut();
            query.clear();
            for (k, v) in &kept {
                query.append_pair(k, v);
            }
            query.append_pair("audience", AUDIENCE);
        }

        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("wharf/", env!("CARGO_PKG_VERSION")))
            .timeout(self.http_timeout)
            .connect_timeout(self.http_timeout.min(Duration::from_secs(10)));
        if loopback {
            // A proxy cannot reach this machine's loopback.
            builder = builder.no_proxy();
        }
        let client = builder.build().map_err(|e| TokenError::Http {
            detail: error_chain(e),
        })?;
        let secrets = [request_token];
        let attempts = self.attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let last = attempt >= attempts;
            let sent = client
                .get(url.clone())
                .header(AUTHORIZATION, format!("bearer {request_token}"))
                .header(ACCEPT, "application/json")
                .send()
                .await;
            match sent {
                Ok(resp) => {
                    let status = resp.status();
                    if status.is_success() {
                        return read_github_answer(resp, &secrets).await;
                    }
                    let retryable =
                        status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS;
                    if retryable && !last {
                        tokio::time::sleep(backoff(self.base_delay, attempt)).await;
                        continue;
                    }
                    if retryable {
                        return Err(TokenError::GitHubUnavailable {
                            status: status.as_u16(),
                            attempts: attempt,
                        });
                    }
                    let detail = body_detail(resp, &secrets).await;
                    return Err(match status {
                        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                            TokenError::GitHubRefused {
                                status: status.as_u16(),
                                detail,
                            }
                        }
                        _ => TokenError::GitHubStatus {
                            status: status.as_u16(),
                            detail,
                        },
                    });
                }
                Err(err) => {
                    let retryable = err.is_connect() || err.is_timeout() || err.is_request();
                    if retryable && !last {
                        tokio::time::sleep(backoff(self.base_delay, attempt)).await;
                        continue;
                    }
                    return Err(TokenError::GitHubUnreachable {
                        host: host.clone(),
                        attempts: attempt,
                        detail: redact(&error_chain(err), &secrets),
                    });
                }
            }
        }
    }

    /// Runs a CI tool that prints a token. `Ok(None)`: the tool is not on PATH.
    async fn run_tool(
        &self,
        env: &dyn EnvSource,
        tool: &'static str,
        args: &[&str],
        hint: &'static str,
    ) -> Result<Option<String>, TokenError> {
        let command = format!("{tool} {}", args.join(" "));
        let Some(program) = find_program(env, tool) else {
            return Ok(None);
        };
        // The agent's own credentials could end up in its messages.
        let secrets: Vec<String> = ["BUILDKITE_AGENT_ACCESS_TOKEN", "CIRCLE_OIDC_TOKEN_V2"]
            .iter()
            .filter_map(|name| non_empty(env, name))
            .collect();
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        let failed = |status: String, detail: String| TokenError::ToolFailed {
            command: command.clone(),
            status,
            detail,
            hint,
        };
        let output = match run_bounded(&program, args, self.tool_timeout).await {
            Ok(output) => output,
            Err(RunError::TimedOut) => {
                return Err(TokenError::ToolTimedOut {
                    command,
                    secs: self.tool_timeout.as_secs(),
                    hint,
                })
            }
            Err(RunError::Io(e)) => {
                return Err(failed(
                    "could not run it".into(),
                    format!(": {}", redact(&e, &secrets)),
                ))
            }
        };
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let detail = snippet(&redact(stderr.trim(), &secrets));
            let detail = if detail.is_empty() {
                String::new()
            } else {
                format!(": {detail}")
            };
            return Err(failed(output.status.to_string(), detail));
        }
        let token = String::from_utf8_lossy(&output.stdout).trim().to_string();
        if token.is_empty() {
            return Err(failed(
                "exit status 0".into(),
                " but printed no token".into(),
            ));
        }
        Ok(Some(token))
    }
}

const BUILDKITE_HINT: &str = "run wharf inside a Buildkite job step (the agent's job token is \
    needed) with an agent recent enough to have `oidc request-token`; or pass --identity-token";

const CIRCLECI_HINT: &str = "CircleCI issues OIDC tokens only to jobs that use a context: add \
    `context: …` to the job in the workflow";

/// The GitHub "no token offered" error, told apart for fork pull requests.
fn github_missing(env: &dyn EnvSource, missing: &'static str) -> TokenError {
    let event = non_empty(env, "GITHUB_EVENT_NAME").unwrap_or_default();
    // `pull_request_target` runs in the base repository's context and may
    // have id-token: write; the other pull request events from forks never do.
    let is_pr = event.starts_with("pull_request") && event != "pull_request_target";
    if !is_pr {
        return TokenError::GitHubPermission {
            missing,
            pull_request: "",
        };
    }
    match fork_origin(env) {
        Some(Some((head, base))) => TokenError::GitHubForkPullRequest { event, head, base },
        // Known not to be a fork: a plain permission problem.
        Some(None) => TokenError::GitHubPermission {
            missing,
            pull_request: "",
        },
        None => TokenError::GitHubPermission {
            missing,
            pull_request: " If this pull request comes from a fork: GitHub gives fork pull \
                           requests no id-token at all — sign on `push` or after merge instead.",
        },
    }
}

/// From the event payload: `Some(Some((head, base)))` for a pull request
/// from another repository, `Some(None)` for one from the same repository,
/// `None` when the payload cannot tell.
fn fork_origin(env: &dyn EnvSource) -> Option<Option<(String, String)>> {
    let path = non_empty(env, "GITHUB_EVENT_PATH")?;
    let file = std::fs::File::open(path).ok()?;
    let mut bytes = Vec::new();
    file.take(MAX_EVENT_BYTES).read_to_end(&mut bytes).ok()?;
    let event: Value = serde_json::from_slice(&bytes).ok()?;
    let pr = event.get("pull_request")?;
    let base = pr
        .pointer("/base/repo/full_name")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| non_empty(env, "GITHUB_REPOSITORY"))?;
    match pr.pointer("/head/repo") {
        // A deleted fork leaves `head.repo` null.
        Some(Value::Null) => Some(Some(("a deleted fork".into(), base))),
        Some(repo) => {
            let head = repo.get("full_name").and_then(Value::as_str)?;
            if head.eq_ignore_ascii_case(&base) {
                Some(None)
            } else {
                Some(Some((head.to_string(), base)))
            }
        }
        None => None,
    }
}

/// Reads a token file whole (bounded), trimmed; refuses empty ones.
fn read_token_file(path: &Path, origin: &'static str) -> Result<String, TokenError> {
    let err = |detail: String| TokenError::TokenFile {
        path: path.to_path_buf(),
        origin,
        detail,
    };
    let file = std::fs::File::open(path).map_err(|e| {
        err(match e.kind() {
            std::io::ErrorKind::NotFound => {
                "it does not exist; point SIGSTORE_OIDC_TOKEN_FILE at the mounted token, or unset it"
                    .to_string()
            }
            std::io::ErrorKind::PermissionDenied => format!(
                "cannot read it ({e}); make it readable by the user wharf runs as (for a \
                 projected token, set the pod's `fsGroup`)"
            ),
            _ => format!("cannot read it ({e})"),
        })
    })?;
    let mut bytes = Vec::new();
    file.take(MAX_TOKEN_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| err(format!("cannot read it ({e}); is it a regular file?")))?;
    if bytes.len() as u64 > MAX_TOKEN_BYTES {
        return Err(err(format!(
            "it is larger than {} KiB, too large to be a token",
            MAX_TOKEN_BYTES >> 10
        )));
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| err("it is not UTF-8 text, so it cannot be a token".into()))?;
    let text = text.trim();
    if text.is_empty() {
        return Err(err(
            "it is empty: the token has not been written yet or the volume is misconfigured \
             (for a projected service-account token, check the volume's `serviceAccountToken` \
             source and its `audience: sigstore`)"
                .into(),
        ));
    }
    Ok(text.to_string())
}

async fn read_github_answer(
    mut resp: reqwest::Response,
    secrets: &[&str],
) -> Result<String, TokenError> {
    let bad = |detail: &str| TokenError::GitHubBadAnswer {
        detail: detail.to_string(),
    };
    let mut body = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if (body.len() + chunk.len()) as u64 > MAX_TOKEN_BYTES {
                    return Err(bad("its answer is too large to hold a token"));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => {
                return Err(TokenError::GitHubBadAnswer {
                    detail: format!(
                        "its answer broke off ({})",
                        redact(&error_chain(e), secrets)
                    ),
                })
            }
        }
    }
    // Never quote the body: it holds the token.
    let answer: Value = serde_json::from_slice(&body).map_err(|_| bad("its answer is not JSON"))?;
    match answer.get("value").and_then(Value::as_str) {
        Some(v) if !v.trim().is_empty() => Ok(v.trim().to_string()),
        Some(_) => Err(bad("its `value` is empty")),
        None => Err(bad("its answer has no `value` string")),
    }
}

/// `: <the server's message>` for an error answer, redacted and shortened.
async fn body_detail(resp: reqwest::Response, secrets: &[&str]) -> String {
    let Ok(body) = resp.bytes().await else {
        return String::new();
    };
    let text = String::from_utf8_lossy(&body[..body.len().min(4096)]).to_string();
    let message = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
        .unwrap_or(text);
    let message = snippet(&redact(message.trim(), secrets));
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

// ---------------------------------------------------------------------------
// Running tools

enum RunError {
    TimedOut,
    Io(String),
}

/// Finds `tool` on the PATH that `env` gives, so that tests can put a fake
/// tool first without changing the process's PATH.
fn find_program(env: &dyn EnvSource, tool: &str) -> Option<PathBuf> {
    let path = env.var("PATH")?;
    let names: Vec<String> = if cfg!(windows) {
        vec![
            format!("{tool}.exe"),
            format!("{tool}.cmd"),
            tool.to_string(),
        ]
    } else {
        vec![tool.to_string()]
    };
    std::env::split_paths(&path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|candidate| candidate.is_file())
}

/// Runs `program` with a deadline, killing it when the deadline passes.
async fn run_bounded(
    program: &Path,
    args: &[&str],
    timeout: Duration,
) -> Result<std::process::Output, RunError> {
    let deadline = Instant::now() + timeout;
    let mut tries = 0;
    let mut child = loop {
        let spawned = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        match spawned {
            Ok(child) => break child,
            // ETXTBSY: a just-written executable whose write handle another
            // thread's fork still holds for an instant. Transient; try again.
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && tries < 5 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => return Err(RunError::Io(e.to_string())),
        }
    };
    // Pipes are drained on blocking threads so a chatty tool cannot stall
    // on a full pipe while this task waits for it to exit.
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        tokio::task::spawn_blocking(move || {
            let mut buf = Vec::new();
            if let Some(pipe) = pipe {
                let _ = pipe.take(MAX_TOKEN_BYTES).read_to_end(&mut buf);
            }
            buf
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(RunError::TimedOut);
            }
            Ok(None) => tokio::time::sleep(Duration::from_millis(20)).await,
            Err(e) => return Err(RunError::Io(e.to_string())),
        }
    };
    // A grandchild may hold the pipes open after the tool exits; do not
    // wait for it past the deadline.
    let until = tokio::time::Instant::from_std(deadline.max(Instant::now()));
    let stdout = tokio::time::timeout_at(until, stdout)
        .await
        .map_err(|_| RunError::TimedOut)?
        .map_err(|e| RunError::Io(e.to_string()))?;
    let stderr = tokio::time::timeout_at(until, stderr)
        .await
        .map_err(|_| RunError::TimedOut)?
        .map_err(|e| RunError::Io(e.to_string()))?;
    Ok(std::process::Output {
        status,
        stdout,
        stderr,
    })
}

// ---------------------------------------------------------------------------
// Helpers

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Exponential backoff with jitter: a random delay in [d/2, d], d doubling
/// from `base` and capped at 8 s.
fn backoff(base: Duration, attempt: u32) -> Duration {
    let d = base
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
        .min(Duration::from_secs(8));
    let half = d / 2;
    half + half.mul_f64(rand::random::<f64>())
}

/// An error and its sources, without the URL reqwest puts in its message
/// (the token endpoint's URL is long and says nothing useful).
fn error_chain(err: reqwest::Error) -> String {
    crate::error::error_chain(&err.without_url())
}

/// Removes the given secrets and anything shaped like a JWT from text that
/// came from outside (HTTP bodies, tool stderr) before it goes in an error.
fn redact(text: &str, secrets: &[&str]) -> String {
    let mut text = text.to_string();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        text = text.replace(secret, "<redacted>");
    }
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        let dots = word.matches('.').count();
        if word.starts_with("eyJ") || (dots >= 2 && word.len() >= 32) {
            out.push_str("<redacted>");
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '=') {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// At most 300 characters, on one line.
fn snippet(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let one_line = one_line.trim();
    if one_line.chars().count() <= 300 {
        one_line.to_string()
    } else {
        let cut: String = one_line.chars().take(300).collect();
        format!("{cut}…")
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `2024-05-01T12:00:00Z`. (No date crate for one format.)
fn rfc3339(secs: u64) -> String {
    // Beyond year 9999 is not a date a token means.
    let secs = secs.min(253_402_300_799) as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `45s`, `3m 20s`, `2h 5m`, `3d 4h`.
fn human_duration(secs: u64) -> String {
    match secs {
        0..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m {}s", secs / 60, secs % 60),
        3600..=86_399 => format!("{}h {}m", secs / 3600, secs % 3600 / 60),
        _ => format!("{}d {}h", secs / 86_400, secs % 86_400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    /// In every token the tests make: it must never show in an error.
    const MARKER: &str = "secret-marker";
    /// The GitHub request token is a secret too.
    const REQUEST_TOKEN: &str = "ghs-request-secret-marker-42";

    /// One "now" per test process, so that a token built twice is the
    /// same token even across a second boundary.
    fn now() -> u64 {
        static NOW: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
        *NOW.get_or_init(unix_now)
    }

    fn b64(v: &Value) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    }

    /// A JWT whose signature part carries the marker (and `tag`, to tell
    /// tokens apart).
    fn jwt_with(claims: Value, tag: &str) -> String {
        let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": "k1"});
        let mut sig = format!("c2ln-{MARKER}-{tag}");
        while sig.len() % 4 == 1 {
            sig.push('A');
        }
        format!("{}.{}.{sig}", b64(&header), b64(&claims))
    }

    fn claims() -> Value {
        serde_json::json!({
            "iss": "https://token.actions.githubusercontent.com",
            "sub": "repo:acme/app:ref:refs/heads/main",
            "aud": "sigstore",
            "exp": now() + 300,
            "iat": now(),
            "repository": "acme/app",
            "job_workflow_ref": "acme/app/.github/workflows/release.yml@refs/heads/main",
            "ref": "refs/heads/main",
            "sha": "0123456789abcdef0123456789abcdef01234567",
            "event_name": "push",
            "runner_environment": "github-hosted",
        })
    }

    fn jwt(tag: &str) -> String {
        jwt_with(claims(), tag)
    }

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Discovery whose default token file is absent, with fast retries.
    fn discovery(dir: &Path) -> Discovery {
        Discovery {
            default_token_file: dir.join("no-such-token"),
            attempts: 3,
            base_delay: Duration::from_millis(1),
            http_timeout: Duration::from_secs(5),
            tool_timeout: Duration::from_secs(10),
        }
    }

    #[track_caller]
    fn assert_secret_free(err: &TokenError) {
        let shown = format!("{err}");
        let debug = format!("{err:?}");
        for text in [&shown, &debug] {
            assert!(!text.contains(MARKER), "secret in error output: {text}");
            assert!(
                !text.contains("eyJ"),
                "token-like text in error output: {text}"
            );
        }
    }

    async fn fails(
        d: &Discovery,
        e: &BTreeMap<String, String>,
        explicit: Option<&str>,
    ) -> TokenError {
        match d.discover(e, explicit).await {
            Ok(t) => panic!("expected an error, got {t:?}"),
            Err(err) => {
                assert_secret_free(&err);
                err
            }
        }
    }

    // --- a tiny HTTP server on loopback --------------------------------------

    struct Server {
        /// `http://127.0.0.1:PORT`
        base: String,
        /// Each request's head (request line and headers).
        seen: Arc<Mutex<Vec<String>>>,
    }

    impl Server {
        fn requests(&self) -> Vec<String> {
            self.seen.lock().unwrap().clone()
        }
    }

    /// Answers one connection per response, in order, then stops listening.
    fn serve(responses: Vec<(u16, String)>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for (status, body) in responses {
                let Ok((mut stream, _)) = listener.accept() else {
                    return;
                };
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match std::io::Read::read(&mut stream, &mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => break,
                    }
                }
                log.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&head).into_owned());
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} Whatever\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Server {
            base: format!("http://127.0.0.1:{port}"),
            seen,
        }
    }

    fn header<'a>(request: &'a str, name: &str) -> Option<&'a str> {
        request.lines().find_map(|line| {
            let (k, v) = line.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    fn github_env(url: &str) -> BTreeMap<String, String> {
        env(&[
            ("GITHUB_ACTIONS", "true"),
            ("ACTIONS_ID_TOKEN_REQUEST_URL", url),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", REQUEST_TOKEN),
        ])
    }

    fn value(token: &str) -> String {
        serde_json::json!({ "value": token }).to_string()
    }

    // --- sources and precedence --------------------------------------------

    #[tokio::test]
    async fn explicit_token_wins_over_everything() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tok");
        std::fs::write(&file, jwt("file")).unwrap();
        let e = env(&[
            ("SIGSTORE_ID_TOKEN", &jwt("env")),
            ("SIGSTORE_OIDC_TOKEN_FILE", file.to_str().unwrap()),
            ("GITHUB_ACTIONS", "true"),
        ]);
        let explicit = jwt("flag");
        let t = discovery(dir.path())
            .discover(&e, Some(&explicit))
            .await
            .unwrap();
        assert_eq!(t.reveal(), explicit);
        assert_eq!(t.source(), &TokenSource::Flag);
    }

    #[tokio::test]
    async fn explicit_path_is_read_like_cosign() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tok");
        std::fs::write(&file, format!("{}\n", jwt("flagfile"))).unwrap();
        let t = discovery(dir.path())
            .discover(&env(&[]), Some(file.to_str().unwrap()))
            .await
            .unwrap();
        assert_eq!(t.reveal(), jwt("flagfile"));
        assert_eq!(t.source(), &TokenSource::FlagFile(file));
    }

    #[tokio::test]
    async fn explicit_empty_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = fails(&discovery(dir.path()), &env(&[]), Some("  ")).await;
        assert!(matches!(err, TokenError::Empty { .. }));
        assert!(
            err.to_string().contains("--identity-token is empty"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn sigstore_id_token_env_and_its_gitlab_label() {
        let dir = tempfile::tempdir().unwrap();
        let d = discovery(dir.path());
        let t = d
            .discover(&env(&[("SIGSTORE_ID_TOKEN", &jwt("env"))]), None)
            .await
            .unwrap();
        assert_eq!(t.reveal(), jwt("env"));
        assert_eq!(t.source(), &TokenSource::Env);

        let gitlab = env(&[("SIGSTORE_ID_TOKEN", &jwt("gl")), ("GITLAB_CI", "true")]);
        let t = d.discover(&gitlab, None).await.unwrap();
        assert_eq!(t.source(), &TokenSource::GitLab);
    }

    #[tokio::test]
    async fn empty_env_var_counts_as_unset() {
        let dir = tempfile::tempdir().unwrap();
        let err = fails(
            &discovery(dir.path()),
            &env(&[("SIGSTORE_ID_TOKEN", "")]),
            None,
        )
        .await;
        assert!(
            err.to_string()
                .contains("SIGSTORE_ID_TOKEN (set but empty)"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn env_beats_token_file_and_file_beats_github() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tok");
        std::fs::write(&file, jwt("file")).unwrap();
        let d = discovery(dir.path());
        let e = env(&[
            ("SIGSTORE_ID_TOKEN", &jwt("env")),
            ("SIGSTORE_OIDC_TOKEN_FILE", file.to_str().unwrap()),
        ]);
        assert_eq!(d.discover(&e, None).await.unwrap().reveal(), jwt("env"));

        // A GitHub endpoint that would fail: never asked, the file comes first.
        let mut e = github_env("http://127.0.0.1:9/never");
        e.insert(
            "SIGSTORE_OIDC_TOKEN_FILE".into(),
            file.display().to_string(),
        );
        let t = d.discover(&e, None).await.unwrap();
        assert_eq!(t.reveal(), jwt("file"));
        assert_eq!(t.source(), &TokenSource::File(file));
    }

    #[tokio::test]
    async fn default_token_file_is_used_and_reread_on_every_call() {
        let dir = tempfile::tempdir().unwrap();
        let mut d = discovery(dir.path());
        d.default_token_file = dir.path().join("oidc-token");
        std::fs::write(&d.default_token_file, jwt("A")).unwrap();
        let first = d.discover(&env(&[]), None).await.unwrap();
        assert_eq!(first.reveal(), jwt("A"));
        assert_eq!(
            first.source(),
            &TokenSource::File(d.default_token_file.clone())
        );
        // The kubelet rotates the projected token in place.
        std::fs::write(&d.default_token_file, jwt("B")).unwrap();
        let second = d.discover(&env(&[]), None).await.unwrap();
        assert_eq!(second.reveal(), jwt("B"));
    }

    #[tokio::test]
    async fn named_token_file_problems() {
        let dir = tempfile::tempdir().unwrap();
        let d = discovery(dir.path());
        let missing = dir.path().join("missing");
        let err = fails(
            &d,
            &env(&[("SIGSTORE_OIDC_TOKEN_FILE", missing.to_str().unwrap())]),
            None,
        )
        .await;
        let msg = err.to_string();
        assert!(msg.contains("(from SIGSTORE_OIDC_TOKEN_FILE)"), "{msg}");
        assert!(msg.contains("does not exist"), "{msg}");

        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        let err = fails(
            &d,
            &env(&[("SIGSTORE_OIDC_TOKEN_FILE", empty.to_str().unwrap())]),
            None,
        )
        .await;
        assert!(err.to_string().contains("it is empty"), "{err}");
        assert!(err.to_string().contains("audience: sigstore"), "{err}");

        // A directory where the token should be: unreadable.
        let err = fails(
            &d,
            &env(&[("SIGSTORE_OIDC_TOKEN_FILE", dir.path().to_str().unwrap())]),
            None,
        )
        .await;
        assert!(err.to_string().contains("cannot read it"), "{err}");

        // The default file present but empty is an error too, not a skip.
        let mut d = discovery(dir.path());
        d.default_token_file = empty.clone();
        let err = fails(&d, &env(&[]), None).await;
        assert!(
            matches!(err, TokenError::TokenFile { origin: "", .. }),
            "{err:?}"
        );
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn unreadable_token_file_says_so() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tok");
        std::fs::write(&file, jwt("x")).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o000)).unwrap();
        if std::fs::read(&file).is_ok() {
            return; // running as root: permissions do not apply
        }
        let err = fails(
            &discovery(dir.path()),
            &env(&[("SIGSTORE_OIDC_TOKEN_FILE", file.to_str().unwrap())]),
            None,
        )
        .await;
        assert!(err.to_string().contains("fsGroup"), "{err}");
    }

    // --- GitHub Actions -----------------------------------------------------

    #[tokio::test]
    async fn github_request_has_bearer_and_audience_appended_to_the_query() {
        let dir = tempfile::tempdir().unwrap();
        let server = serve(vec![(200, value(&jwt("gh")))]);
        let url = format!("{}/idtoken/abc?api-version=2.0", server.base);
        let t = discovery(dir.path())
            .discover(&github_env(&url), None)
            .await
            .unwrap();
        assert_eq!(t.reveal(), jwt("gh"));
        assert_eq!(t.source(), &TokenSource::GitHubActions);
        let requests = server.requests();
        assert_eq!(requests.len(), 1);
        let request_line = requests[0].lines().next().unwrap();
        assert_eq!(
            request_line,
            "GET /idtoken/abc?api-version=2.0&audience=sigstore HTTP/1.1"
        );
        assert_eq!(
            header(&requests[0], "authorization"),
            Some(format!("bearer {REQUEST_TOKEN}").as_str())
        );
    }

    #[tokio::test]
    async fn github_url_without_query_or_with_an_audience_already() {
        let dir = tempfile::tempdir().unwrap();
        let d = discovery(dir.path());
        let server = serve(vec![(200, value(&jwt("a"))), (200, value(&jwt("b")))]);
        d.discover(&github_env(&format!("{}/t", server.base)), None)
            .await
            .unwrap();
        d.discover(
            &github_env(&format!("{}/t?audience=other&x=1", server.base)),
            None,
        )
        .await
        .unwrap();
        let requests = server.requests();
        assert!(
            requests[0].starts_with("GET /t?audience=sigstore HTTP/1.1"),
            "{}",
            requests[0]
        );
        assert!(
            requests[1].starts_with("GET /t?x=1&audience=sigstore HTTP/1.1"),
            "{}",
            requests[1]
        );
    }

    #[tokio::test]
    async fn github_503_is_retried() {
        let dir = tempfile::tempdir().unwrap();
        let server = serve(vec![
            (503, "{}".into()),
            (503, "{}".into()),
            (200, value(&jwt("late"))),
        ]);
        let t = discovery(dir.path())
            .discover(&github_env(&format!("{}/t?v=1", server.base)), None)
            .await
            .unwrap();
        assert_eq!(t.reveal(), jwt("late"));
        assert_eq!(server.requests().len(), 3);
    }

    #[tokio::test]
    async fn github_503_until_the_attempts_run_out() {
        let dir = tempfile::tempdir().unwrap();
        let server = serve(vec![(503, "{}".into()); 3]);
        let err = fails(
            &discovery(dir.path()),
            &github_env(&format!("{}/t", server.base)),
            None,
        )
        .await;
        assert!(
            matches!(
                err,
                TokenError::GitHubUnavailable {
                    status: 503,
                    attempts: 3
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("githubstatus.com"), "{err}");
        assert_eq!(server.requests().len(), 3);
    }

    #[tokio::test]
    async fn github_refusal_is_explained_and_its_body_redacted() {
        let dir = tempfile::tempdir().unwrap();
        // A server that echoes secrets back must not get them into the error.
        let body = serde_json::json!({
            "message": format!("bad token {REQUEST_TOKEN}; last issued {}", jwt("echo"))
        })
        .to_string();
        let server = serve(vec![(403, body)]);
        let err = fails(
            &discovery(dir.path()),
            &github_env(&format!("{}/t", server.base)),
            None,
        )
        .await;
        assert!(
            matches!(err, TokenError::GitHubRefused { status: 403, .. }),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(msg.contains("bad token <redacted>"), "{msg}");
        assert!(msg.contains("id-token: write"), "{msg}");
        assert!(!msg.contains(REQUEST_TOKEN), "{msg}");
        assert_eq!(server.requests().len(), 1, "4xx is not retried");

        let server = serve(vec![(401, String::new())]);
        let err = fails(
            &discovery(dir.path()),
            &github_env(&format!("{}/t", server.base)),
            None,
        )
        .await;
        assert!(
            matches!(err, TokenError::GitHubRefused { status: 401, .. }),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn github_other_status() {
        let dir = tempfile::tempdir().unwrap();
        let server = serve(vec![(404, r#"{"message":"no such run"}"#.into())]);
        let err = fails(
            &discovery(dir.path()),
            &github_env(&format!("{}/t", server.base)),
            None,
        )
        .await;
        let msg = err.to_string();
        assert!(msg.contains("answered 404: no such run"), "{msg}");
    }

    #[tokio::test]
    async fn github_unreachable_after_retries() {
        let dir = tempfile::tempdir().unwrap();
        // A port nothing listens on.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let err = fails(
            &discovery(dir.path()),
            &github_env(&format!("http://127.0.0.1:{port}/t?x=1")),
            None,
        )
        .await;
        assert!(
            matches!(err, TokenError::GitHubUnreachable { attempts: 3, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("HTTPS_PROXY"), "{err}");
    }

    #[tokio::test]
    async fn github_answers_that_are_not_a_token() {
        let dir = tempfile::tempdir().unwrap();
        let d = discovery(dir.path());
        let cases = [
            (format!("not json {}", jwt("x")), "is not JSON"),
            (
                serde_json::json!({"token": jwt("x")}).to_string(),
                "no `value` string",
            ),
            (r#"{"value": ""}"#.to_string(), "`value` is empty"),
        ];
        for (body, phrase) in cases {
            let server = serve(vec![(200, body)]);
            let err = fails(&d, &github_env(&format!("{}/t", server.base)), None).await;
            assert!(matches!(err, TokenError::GitHubBadAnswer { .. }), "{err:?}");
            assert!(err.to_string().contains(phrase), "{err}");
        }
        // A `value` that is not a JWT is a malformed token from GitHub.
        let server = serve(vec![(200, value(&format!("{MARKER}-not-a-jwt")))]);
        let err = fails(&d, &github_env(&format!("{}/t", server.base)), None).await;
        assert!(
            matches!(
                err,
                TokenError::Malformed {
                    from: TokenSource::GitHubActions,
                    part: JwtPart::Structure,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn github_request_token_is_never_sent_in_clear_over_the_network() {
        let dir = tempfile::tempdir().unwrap();
        let d = discovery(dir.path());
        for url in ["http://example.invalid/t", "ftp://127.0.0.1/t", "not a url"] {
            let err = fails(&d, &github_env(url), None).await;
            assert!(
                matches!(err, TokenError::GitHubBadUrl { .. }),
                "{url}: {err:?}"
            );
        }
    }

    #[tokio::test]
    async fn github_without_id_token_permission() {
        let dir = tempfile::tempdir().unwrap();
        let err = fails(
            &discovery(dir.path()),
            &env(&[("GITHUB_ACTIONS", "true"), ("GITHUB_EVENT_NAME", "push")]),
            None,
        )
        .await;
        let msg = err.to_string();
        assert!(msg.contains("missing id-token: write permission"), "{msg}");
        assert!(msg.contains("`permissions: id-token: write`"), "{msg}");
        assert!(
            msg.contains("ACTIONS_ID_TOKEN_REQUEST_URL is not set"),
            "{msg}"
        );
        assert!(!msg.contains("fork"), "{msg}");

        // URL without its request token (a container given only half).
        let err = fails(
            &discovery(dir.path()),
            &env(&[("ACTIONS_ID_TOKEN_REQUEST_URL", "https://example.invalid/t")]),
            None,
        )
        .await;
        assert!(
            err.to_string()
                .contains("ACTIONS_ID_TOKEN_REQUEST_TOKEN is not set"),
            "{err}"
        );
    }

    fn pr_event(dir: &Path, head: Value) -> PathBuf {
        let path = dir.join("event.json");
        let event = serde_json::json!({
            "pull_request": {
                "head": { "repo": head },
                "base": { "repo": { "full_name": "acme/app", "fork": false } }
            }
        });
        std::fs::write(&path, event.to_string()).unwrap();
        path
    }

    #[tokio::test]
    async fn github_fork_pull_request() {
        let dir = tempfile::tempdir().unwrap();
        let d = discovery(dir.path());
        let event = pr_event(
            dir.path(),
            serde_json::json!({"full_name": "mallory/app", "fork": true}),
        );
        let e = env(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_EVENT_NAME", "pull_request"),
            ("GITHUB_EVENT_PATH", event.to_str().unwrap()),
        ]);
        let err = fails(&d, &e, None).await;
        let msg = err.to_string();
        assert!(
            matches!(err, TokenError::GitHubForkPullRequest { .. }),
            "{err:?}"
        );
        assert!(
            msg.contains("from the fork mallory/app into acme/app"),
            "{msg}"
        );
        assert!(msg.contains("Sign on `push` or after merge"), "{msg}");

        // A deleted fork.
        pr_event(dir.path(), Value::Null);
        let err = fails(&d, &e, None).await;
        assert!(
            err.to_string().contains("from the fork a deleted fork"),
            "{err}"
        );

        // Same repository: a plain permission problem.
        pr_event(
            dir.path(),
            serde_json::json!({"full_name": "acme/app", "fork": false}),
        );
        let err = fails(&d, &e, None).await;
        assert!(
            matches!(
                err,
                TokenError::GitHubPermission {
                    pull_request: "",
                    ..
                }
            ),
            "{err:?}"
        );

        // No payload to tell: both explanations.
        let e = env(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_EVENT_NAME", "pull_request"),
        ]);
        let msg = fails(&d, &e, None).await.to_string();
        assert!(msg.contains("id-token: write"), "{msg}");
        assert!(msg.contains("fork pull requests no id-token"), "{msg}");

        // pull_request_target runs with the base repository's permissions.
        let e = env(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_EVENT_NAME", "pull_request_target"),
        ]);
        let msg = fails(&d, &e, None).await.to_string();
        assert!(!msg.contains("fork"), "{msg}");
    }

    #[tokio::test]
    async fn github_comes_before_buildkite() {
        let dir = tempfile::tempdir().unwrap();
        let server = serve(vec![(200, value(&jwt("gh")))]);
        let mut e = github_env(&format!("{}/t", server.base));
        e.insert("BUILDKITE".into(), "true".into());
        e.insert("PATH".into(), String::new());
        let t = discovery(dir.path()).discover(&e, None).await.unwrap();
        assert_eq!(t.source(), &TokenSource::GitHubActions);
    }

    // --- GitLab, Jenkins, nothing -----------------------------------------

    #[tokio::test]
    async fn gitlab_without_id_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let err = fails(&discovery(dir.path()), &env(&[("GITLAB_CI", "true")]), None).await;
        let msg = err.to_string();
        assert!(msg.contains("GitLab CI"), "{msg}");
        assert!(
            msg.contains("id_tokens:\n      SIGSTORE_ID_TOKEN:\n        aud: sigstore"),
            "{msg}"
        );
    }

    #[tokio::test]
    async fn jenkins_without_a_bound_credential() {
        let dir = tempfile::tempdir().unwrap();
        let err = fails(
            &discovery(dir.path()),
            &env(&[("JENKINS_URL", "https://ci.example.com/")]),
            None,
        )
        .await;
        let msg = err.to_string();
        for phrase in [
            "OIDC Provider plugin",
            "withCredentials([string(credentialsId: 'sigstore-oidc', variable: 'SIGSTORE_ID_TOKEN')])",
            "Public Fulcio has no Jenkins issuer",
            "--trust-config",
            "--key",
        ] {
            assert!(msg.contains(phrase), "missing {phrase:?} in {msg}");
        }
    }

    #[tokio::test]
    async fn nothing_found_lists_what_was_tried_and_the_ways_out() {
        let dir = tempfile::tempdir().unwrap();
        let err = fails(&discovery(dir.path()), &env(&[]), None).await;
        let msg = err.to_string();
        for phrase in [
            "--identity-token (not given)",
            "SIGSTORE_ID_TOKEN (not set)",
            "SIGSTORE_OIDC_TOKEN_FILE (not set), token file",
            "no-such-token (absent)",
            "GitHub Actions (GITHUB_ACTIONS not set)",
            "GitLab CI (GITLAB_CI not set)",
            "Buildkite (BUILDKITE not set)",
            "CircleCI (CIRCLECI not set)",
            "pass one with `--identity-token`",
            "run in a CI job that issues OIDC tokens",
            "`--key cosign.key`",
        ] {
            assert!(msg.contains(phrase), "missing {phrase:?} in {msg}");
        }
        let msg = fails(
            &discovery(dir.path()),
            &env(&[("KUBERNETES_SERVICE_HOST", "10.0.0.1")]),
            None,
        )
        .await
        .to_string();
        assert!(msg.contains("serviceAccountToken"), "{msg}");
    }

    // --- Buildkite and CircleCI through fake tools on a private PATH -------

    /// Writes an executable shell script `name` into `dir`.
    #[cfg(unix)]
    fn tool(dir: &Path, name: &str, body: &str) {
        use std::os::unix::fs::PermissionsExt as _;
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn buildkite_agent_is_asked_for_a_sigstore_token() {
        let dir = tempfile::tempdir().unwrap();
        let args = dir.path().join("args");
        tool(
            dir.path(),
            "buildkite-agent",
            &format!("echo \"$@\" > '{}'\necho '{}'", args.display(), jwt("bk")),
        );
        let e = env(&[
            ("BUILDKITE", "true"),
            ("PATH", dir.path().to_str().unwrap()),
        ]);
        let t = discovery(dir.path()).discover(&e, None).await.unwrap();
        assert_eq!(t.reveal(), jwt("bk"));
        assert_eq!(t.source(), &TokenSource::Buildkite);
        assert_eq!(
            std::fs::read_to_string(&args).unwrap().trim(),
            "oidc request-token --audience sigstore"
        );
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn buildkite_failures() {
        let dir = tempfile::tempdir().unwrap();
        let d = discovery(dir.path());
        let e = env(&[
            ("BUILDKITE", "true"),
            ("PATH", dir.path().to_str().unwrap()),
            ("BUILDKITE_AGENT_ACCESS_TOKEN", "bkagent-secret-marker"),
        ]);
        // Not installed.
        let err = fails(&d, &e, None).await;
        assert!(
            matches!(
                err,
                TokenError::ToolMissing {
                    tool: "buildkite-agent",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("buildkite-agent is not on PATH"),
            "{err}"
        );

        // Fails, and its stderr repeats secrets.
        tool(
            dir.path(),
            "buildkite-agent",
            &format!(
                "echo 'fatal: agent bkagent-secret-marker refused; stale {}' >&2\nexit 3",
                jwt("stale")
            ),
        );
        let err = fails(&d, &e, None).await;
        let msg = err.to_string();
        assert!(
            msg.contains(
                "`buildkite-agent oidc request-token --audience sigstore` failed (exit status: 3)"
            ),
            "{msg}"
        );
        assert!(msg.contains("fatal: agent <redacted> refused"), "{msg}");
        assert!(msg.contains("inside a Buildkite job step"), "{msg}");

        // Succeeds but prints nothing.
        tool(dir.path(), "buildkite-agent", "exit 0");
        let err = fails(&d, &e, None).await;
        assert!(err.to_string().contains("printed no token"), "{err}");

        // Prints garbage.
        tool(dir.path(), "buildkite-agent", &format!("echo '{MARKER}'"));
        let err = fails(&d, &e, None).await;
        assert!(
            matches!(
                err,
                TokenError::Malformed {
                    from: TokenSource::Buildkite,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_hanging_tool_is_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let mut d = discovery(dir.path());
        d.tool_timeout = Duration::from_millis(300);
        tool(dir.path(), "buildkite-agent", "exec sleep 30");
        let e = env(&[
            ("BUILDKITE", "true"),
            ("PATH", dir.path().to_str().unwrap()),
        ]);
        let started = Instant::now();
        let err = fails(&d, &e, None).await;
        assert!(matches!(err, TokenError::ToolTimedOut { .. }), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn circleci_cli_then_the_v2_variable() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let args = dir.path().join("args");
        tool(
            &bin,
            "circleci",
            &format!("echo \"$@\" > '{}'\necho '{}'", args.display(), jwt("cci")),
        );
        let d = discovery(dir.path());
        let e = env(&[
            ("CIRCLECI", "true"),
            ("PATH", bin.to_str().unwrap()),
            ("CIRCLE_OIDC_TOKEN_V2", &jwt("v2")),
        ]);
        let t = d.discover(&e, None).await.unwrap();
        assert_eq!(t.reveal(), jwt("cci"));
        assert_eq!(t.source(), &TokenSource::CircleCiCli);
        assert_eq!(
            std::fs::read_to_string(&args).unwrap().trim(),
            r#"run oidc get --claims {"aud":"sigstore"}"#
        );

        // No CLI: the variable.
        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        let mut e = e.clone();
        e.insert("PATH".into(), empty.display().to_string());
        let t = d.discover(&e, None).await.unwrap();
        assert_eq!(t.reveal(), jwt("v2"));
        assert_eq!(t.source(), &TokenSource::CircleCiEnv);

        // Neither.
        e.remove("CIRCLE_OIDC_TOKEN_V2");
        let err = fails(&d, &e, None).await;
        assert!(matches!(err, TokenError::CircleCiNoToken), "{err:?}");
        assert!(err.to_string().contains("use a context"), "{err}");

        // The CLI failing.
        tool(&bin, "circleci", "echo 'no context' >&2; exit 1");
        e.insert("PATH".into(), bin.display().to_string());
        let err = fails(&d, &e, None).await;
        let msg = err.to_string();
        assert!(msg.contains("failed (exit status: 1): no context"), "{msg}");
        assert!(msg.contains("use a context"), "{msg}");
    }

    // --- the token itself ------------------------------------------------

    #[test]
    fn claims_are_parsed() {
        let t = IdentityToken::parse(&jwt("c"), TokenSource::Flag).unwrap();
        let c = t.claims();
        assert_eq!(c.iss, "https://token.actions.githubusercontent.com");
        assert_eq!(c.sub.as_deref(), Some("repo:acme/app:ref:refs/heads/main"));
        assert_eq!(c.aud, vec!["sigstore"]);
        assert_eq!(c.repository.as_deref(), Some("acme/app"));
        assert_eq!(c.git_ref.as_deref(), Some("refs/heads/main"));
        assert_eq!(
            c.sha.as_deref(),
            Some("0123456789abcdef0123456789abcdef01234567")
        );
        assert_eq!(c.event_name.as_deref(), Some("push"));
        assert_eq!(c.runner_environment.as_deref(), Some("github-hosted"));
        assert!(c.iat.is_some());
        assert!(t.warnings().is_empty(), "{:?}", t.warnings());
        assert_eq!(
            t.expected_identity().as_deref(),
            Some("https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main")
        );
    }

    #[test]
    fn expected_identity_per_kind_of_token() {
        let base =
            serde_json::json!({"iss": "https://i", "exp": now() + 300, "aud": ["x", "sigstore"]});
        let with = |extra: Value| {
            let mut c = base.clone();
            for (k, v) in extra.as_object().unwrap() {
                c[k] = v.clone();
            }
            IdentityToken::parse(&jwt_with(c, "i"), TokenSource::Env).unwrap()
        };
        let email = with(serde_json::json!({"email": "dev@example.com", "sub": "123"}));
        assert_eq!(
            email.expected_identity().as_deref(),
            Some("dev@example.com")
        );
        let gitlab = with(serde_json::json!({
            "sub": "project_path:g/p:ref_type:branch:ref:main",
            "ci_config_ref_uri": "gitlab.com/g/p//.gitlab-ci.yml@refs/heads/main"
        }));
        assert_eq!(
            gitlab.expected_identity().as_deref(),
            Some("https://gitlab.com/g/p//.gitlab-ci.yml@refs/heads/main")
        );
        let buildkite = with(serde_json::json!({
            "sub": "organization:acme:pipeline:app:ref:refs/heads/main:commit:abc:step:build",
            "organization_slug": "acme",
            "pipeline_slug": "app"
        }));
        assert_eq!(
            buildkite.expected_identity().as_deref(),
            Some("https://buildkite.com/acme/app")
        );
        let circleci = with(serde_json::json!({
            "sub": "org/o/project/p/user/u",
            "oidc.circleci.com/project-id": "p",
            "oidc.circleci.com/pipeline-definition-id": "d"
        }));
        assert_eq!(
            circleci.expected_identity().as_deref(),
            Some("https://circleci.com/api/v2/projects/p/pipeline-definitions/d")
        );
        let codefresh = with(serde_json::json!({
            "sub": "account:a:pipeline:p",
            "account_name": "acme",
            "pipeline_name": "app/build",
            "account_id": "a1",
            "pipeline_id": "p1",
            "platform_url": "https://cf.example.com"
        }));
        assert_eq!(
            codefresh.expected_identity().as_deref(),
            Some("https://cf.example.com/acme/app/build:a1/p1")
        );
        let sub = with(serde_json::json!({"sub": "system:serviceaccount:ci:builder"}));
        assert_eq!(
            sub.expected_identity().as_deref(),
            Some("system:serviceaccount:ci:builder")
        );
        assert!(sub.warnings().is_empty(), "aud list holds sigstore");
        let none = with(serde_json::json!({}));
        assert_eq!(none.expected_identity(), None);
    }

    #[test]
    fn debug_and_display_never_show_the_token() {
        let t = IdentityToken::parse(&jwt("dbg"), TokenSource::Flag).unwrap();
        for shown in [format!("{t:?}"), format!("{t}"), format!("{:?}", Some(&t))] {
            assert!(!shown.contains(MARKER), "{shown}");
            assert!(!shown.contains("eyJ"), "{shown}");
            assert!(
                shown.contains(
                    "IdentityToken(<redacted>, sub=repo:acme/app:ref:refs/heads/main, \
                     iss=https://token.actions.githubusercontent.com, exp=20"
                ),
                "{shown}"
            );
        }
    }

    #[test]
    fn expired_tokens_say_when_and_what_to_do() {
        let mut c = claims();
        let at = 1_700_000_000u64;
        c["exp"] = at.into();
        let raw = jwt_with(c, "old");
        let err = IdentityToken::parse_at(&raw, TokenSource::GitHubActions, at + 200).unwrap_err();
        assert_secret_free(&err);
        let msg = err.to_string();
        assert!(
            msg.contains("expired at 2023-11-14T22:13:20Z (3m 20s ago)"),
            "{msg}"
        );
        assert!(
            msg.contains("fetch the token right before signing"),
            "{msg}"
        );
        assert!(!msg.contains("kubelet"), "{msg}");

        let err =
            IdentityToken::parse_at(&raw, TokenSource::File("/t".into()), at + 200).unwrap_err();
        assert!(err.to_string().contains("not being refreshed"), "{err}");

        // Within the clock-skew allowance: usable, with a warning.
        let t = IdentityToken::parse_at(&raw, TokenSource::Flag, at + 10).unwrap();
        assert_eq!(t.warnings()[0].code, "token-expires-soon");
        assert!(
            IdentityToken::parse_at(&raw, TokenSource::Flag, at + CLOCK_SKEW.as_secs()).is_err()
        );
    }

    #[test]
    fn tokens_from_the_future_blame_the_clock() {
        let mut c = claims();
        c["nbf"] = (now() + 3600).into();
        c["exp"] = (now() + 7200).into();
        let err = IdentityToken::parse(&jwt_with(c, "f"), TokenSource::Env).unwrap_err();
        assert_secret_free(&err);
        assert!(
            err.to_string().contains("clock is probably behind"),
            "{err}"
        );
    }

    #[test]
    fn wrong_audience_is_a_warning_not_an_error() {
        let mut c = claims();
        c["aud"] = "ci-org-1234".into();
        let t =
            IdentityToken::parse(&jwt_with(c.clone(), "aud"), TokenSource::CircleCiEnv).unwrap();
        assert_eq!(t.warnings().len(), 1);
        assert_eq!(t.warnings()[0].code, "token-audience");
        assert!(t.warnings()[0].message.contains("[\"ci-org-1234\"]"));
        assert!(!t.warnings()[0].message.contains(MARKER));
        c.as_object_mut().unwrap().remove("aud");
        let t = IdentityToken::parse(&jwt_with(c, "aud"), TokenSource::Env).unwrap();
        assert!(t.warnings()[0].message.contains("audience missing"));
    }

    #[test]
    fn fractional_numeric_dates_are_accepted() {
        let mut c = claims();
        c["exp"] = serde_json::json!(now() as f64 + 300.5);
        assert!(IdentityToken::parse(&jwt_with(c, "frac"), TokenSource::Env).is_ok());
    }

    #[test]
    fn malformed_tokens_name_the_part_and_never_the_token() {
        let good = jwt("m");
        let parts: Vec<&str> = good.split('.').collect();
        let (h, c, s) = (parts[0], parts[1], parts[2]);
        let obj = |v: Value| b64(&v);
        let mut no_exp = claims();
        no_exp.as_object_mut().unwrap().remove("exp");
        let mut no_iss = claims();
        no_iss.as_object_mut().unwrap().remove("iss");
        let mut str_exp = claims();
        str_exp["exp"] = format!("{MARKER}-soon").into();
        let mut bad_aud = claims();
        bad_aud["aud"] = serde_json::json!([1, 2]);
        let cases: Vec<(String, JwtPart, &str)> = vec![
            (
                format!("{h}.{c}"),
                JwtPart::Structure,
                "2 dot-separated part(s), not 3",
            ),
            (
                format!("{h}.{c}.{s}.x.y"),
                JwtPart::Structure,
                "encrypted JWE",
            ),
            (
                format!("{{\"value\":\"{good}\"}}"),
                JwtPart::Structure,
                "is JSON, not a token",
            ),
            (
                format!("\"{good}\""),
                JwtPart::Structure,
                "wrapped in quotes",
            ),
            (
                format!("Bearer {good}"),
                JwtPart::Structure,
                "starts with `Bearer `",
            ),
            (
                format!("{h}!.{c}.{s}"),
                JwtPart::Header,
                "its header (part 1) is not base64url",
            ),
            (
                format!("{}.{c}.{s}", obj(serde_json::json!({"typ": "JWT"}))),
                JwtPart::Header,
                "has no `alg`",
            ),
            (
                format!("{}.{c}.{s}", obj(serde_json::json!({"alg": "none"}))),
                JwtPart::Header,
                "alg: none",
            ),
            (
                format!(
                    "{}.{c}.{s}",
                    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{{{MARKER}"))
                ),
                JwtPart::Header,
                "is not JSON (line 1",
            ),
            (
                format!("{h}.{}.{s}", obj(serde_json::json!([MARKER]))),
                JwtPart::Claims,
                "is JSON but not an object",
            ),
            (
                format!("{h}.{}.{s}", obj(no_exp)),
                JwtPart::Claims,
                "have no `exp`",
            ),
            (
                format!("{h}.{}.{s}", obj(no_iss)),
                JwtPart::Claims,
                "have no `iss`",
            ),
            (
                format!("{h}.{}.{s}", obj(str_exp)),
                JwtPart::Claims,
                "have an `exp` claim that is not a non-negative number",
            ),
            (
                format!("{h}.{}.{s}", obj(bad_aud)),
                JwtPart::Claims,
                "have an `aud` list with non-string items",
            ),
            (format!("{h}.{c}."), JwtPart::Signature, "is empty"),
            (
                format!("{h}.{c}.{MARKER}+/"),
                JwtPart::Signature,
                "is not base64url",
            ),
        ];
        for (raw, part, phrase) in cases {
            let err = match IdentityToken::parse(&raw, TokenSource::Flag) {
                Ok(t) => panic!("accepted {phrase:?}: {t:?}"),
                Err(e) => e,
            };
            assert_secret_free(&err);
            match &err {
                TokenError::Malformed { part: got, .. } => assert_eq!(*got, part, "{err}"),
                other => panic!("{other:?}"),
            }
            let msg = err.to_string();
            assert!(msg.contains(phrase), "missing {phrase:?} in {msg}");
            assert!(msg.contains("the token itself is not shown"), "{msg}");
        }
    }

    /// One sweep over every failure path with tokens carrying the marker:
    /// none may show it (the per-path tests check this too, via `fails`).
    #[tokio::test]
    async fn no_failure_shows_the_token() {
        let dir = tempfile::tempdir().unwrap();
        let d = discovery(dir.path());
        let mut expired = claims();
        expired["exp"] = (now() - 3600).into();
        let expired = jwt_with(expired, "exp");
        let server = serve(vec![
            (403, value(&jwt("echo"))),
            (200, format!("{{\"x\":\"{}\"}}", jwt("y"))),
        ]);
        let envs = [
            env(&[("SIGSTORE_ID_TOKEN", &expired)]),
            env(&[("SIGSTORE_ID_TOKEN", &format!("{MARKER}.{MARKER}"))]),
            env(&[
                ("GITLAB_CI", "true"),
                ("SIGSTORE_ID_TOKEN", &format!("eyJ{MARKER}")),
            ]),
            github_env(&format!("{}/t", server.base)),
            github_env(&format!("{}/t", server.base)),
            github_env(&format!("http://example.invalid/{MARKER}")),
        ];
        for e in &envs {
            let err = fails(&d, e, None).await;
            if let TokenError::GitHubBadUrl { detail } = &err {
                assert!(!detail.contains(MARKER));
            }
        }
        fails(&d, &env(&[]), Some(&expired)).await;
        fails(&d, &env(&[]), Some(&format!("eyJ{MARKER}"))).await;
    }

    // --- helpers ------------------------------------------------------------

    #[test]
    fn rfc3339_known_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(u64::MAX), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn human_durations() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(200), "3m 20s");
        assert_eq!(human_duration(7500), "2h 5m");
        assert_eq!(human_duration(90_000), "1d 1h");
    }

    #[test]
    fn redaction() {
        let t = jwt("r");
        assert_eq!(
            redact(&format!("token={t}, req=abc123 ok"), &["abc123"]),
            "<redacted>, req=<redacted> ok"
        );
        assert_eq!(
            redact("see https://x.example/a.b", &[]),
            "see https://x.example/a.b"
        );
        assert_eq!(redact("no secrets here", &[""]), "no secrets here");
    }

    #[test]
    fn loopback_hosts() {
        for h in ["127.0.0.1", "localhost", "[::1]", "::1", "127.1.2.3"] {
            assert!(is_loopback(h), "{h}");
        }
        for h in ["example.com", "10.0.0.1", ""] {
            assert!(!is_loopback(h), "{h}");
        }
    }
}
