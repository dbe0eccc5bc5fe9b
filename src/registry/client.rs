//! A registry client for the distribution API's read path: resolve a
//! reference to the digest the registry serves for it.
//!
//! Why not oci-client's `fetch_manifest_digest`: it hides the response
//! headers of a failed request (so `Retry-After` cannot be honoured), has one
//! global "accept invalid certificates" switch (we allow it per registry),
//! and authenticates per repository. Here each registry is pinged once, its
//! credentials read once, a single token is asked for all the repositories a
//! run needs on that registry, and then each unique reference costs exactly
//! one manifest request.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use reqwest::header::{
    HeaderMap, ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE,
};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use tokio::sync::OnceCell;

use crate::config::Global;
use crate::reference::{check_digest, Reference, DOCKER_HUB, DOCKER_HUB_API};

/// Every manifest type a reference may name, so the registry never
/// down-converts and the digest is the one it stores.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.v2+json";

const INDEX_TYPES: [&str; 2] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];

/// Manifests are small; the distribution reference implementation caps them at 4 MiB.
const MANIFEST_MAX: usize = 4 << 20;

/// What a reference resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// `sha256:…` of the manifest (or index) bytes the registry serves.
    pub digest: String,
    /// Its media type, as the registry reports it.
    pub media_type: String,
}

impl Resolved {
    pub fn is_index(&self) -> bool {
        INDEX_TYPES.contains(&self.media_type.as_str())
    }
}

/// An `OS/ARCH[/VARIANT]` platform, as `--platform` takes it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Platform {
    pub fn parse(text: &str) -> Result<Platform, String> {
        let parts: Vec<&str> = text.split('/').collect();
        let valid = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        };
        match parts.as_slice() {
            [os, arch] if valid(os) && valid(arch) => Ok(Platform {
                os: os.to_string(),
                architecture: arch.to_string(),
                variant: None,
            }),
            [os, arch, variant] if valid(os) && valid(arch) && valid(variant) => Ok(Platform {
                os: os.to_string(),
                architecture: arch.to_string(),
                variant: Some(variant.to_string()),
            }),
            _ => Err(format!(
                "--platform {text:?} is not OS/ARCH or OS/ARCH/VARIANT (for example linux/amd64 or linux/arm/v7)"
            )),
        }
    }

    /// The `--platform` flag's value, if given, as a usage error when bad.
    pub fn from_flag(value: Option<&str>) -> Result<Option<Platform>, crate::Error> {
        value
            .map(Platform::parse)
            .transpose()
            .map_err(crate::Error::Usage)
    }

    /// Whether an index entry's platform is this one. A missing variant on
    /// either side matches, except that arm64's implied variant is v8.
    pub fn matches(&self, os: &str, architecture: &str, variant: Option<&str>) -> bool {
        if self.os != os || self.architecture != architecture {
            return false;
        }
        match (self.variant.as_deref(), variant) {
            (Some(want), Some(have)) => want == have,
            _ => true,
        }
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// Why a registry could not answer. No variant ever holds a credential.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RegistryError {
    #[error(
        "cannot reach registry {registry} after {attempts} attempt(s): {detail}. \
         Check the host, port and network; for a plain-HTTP registry pass --insecure-registry {registry}"
    )]
    Unreachable {
        registry: String,
        attempts: u32,
        detail: String,
    },

    #[error(
        "TLS connection to registry {registry} failed: {detail}. If it uses a private CA, point \
         SSL_CERT_FILE at the CA certificate; for a test registry pass --insecure-registry {registry}"
    )]
    Tls { registry: String, detail: String },

    #[error("{reference}: the registry has no such {kind} (404 Not Found). Check the repository and tag exist")]
    NotFound {
        reference: String,
        kind: &'static str,
    },

    #[error(
        "{reference}: registry {registry} refused access ({status}){detail}. Log in with \
         `docker login {registry}` or fix the credentials in $DOCKER_CONFIG/config.json"
    )]
    Unauthorized {
        reference: String,
        registry: String,
        status: u16,
        detail: String,
    },

    #[error("{what}: registry {registry} answered {status}{detail}")]
    Status {
        what: String,
        registry: String,
        status: u16,
        detail: String,
    },

    #[error("{what}: registry {registry} is still answering {status} after {attempts} attempts{detail}. Try again later")]
    Exhausted {
        what: String,
        registry: String,
        status: u16,
        attempts: u32,
        detail: String,
    },

    #[error("{what}: registry {registry} sent something wrong: {detail}")]
    Protocol {
        what: String,
        registry: String,
        detail: String,
    },

    #[error("{reference}: {detail}")]
    Platform { reference: String, detail: String },

    #[error("credentials for registry {registry}: {detail}")]
    Credentials { registry: String, detail: String },

    #[error("{path}: {detail}")]
    Layout { path: String, detail: String },
}

/// How hard to try before giving up.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Total attempts per request, the first included.
    pub attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// A `Retry-After` longer than this fails the request instead of waiting.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, Clone)]
enum Credential {
    Basic {
        username: String,
        password: String,
    },
    /// A refresh token (`identitytoken` in docker's config), exchanged at the token endpoint.
    Identity(String),
}

#[derive(Debug, Clone)]
enum Challenge {
    None,
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

/// What a run knows about one registry after pinging it.
#[derive(Debug)]
pub(super) struct RegistryState {
    /// `registry` as written in references (`docker.io`, `127.0.0.1:5000`).
    pub(super) name: String,
    /// `https://host[:port]` or `http://host[:port]`.
    pub(super) base: String,
    insecure: bool,
    challenge: Challenge,
    credential: Option<Credential>,
    /// Bearer tokens by scope (`repository:NAME:pull`).
    tokens: Mutex<HashMap<String, String>>,
}

/// What every HTTP client of wharf shares: the per-request bound from
/// `WHARF_HTTP_TIMEOUT` (seconds, default 30) and extra trusted CAs from
/// `SSL_CERT_FILE`.
struct HttpSettings {
    timeout: Duration,
    extra_roots: Vec<reqwest::Certificate>,
}

impl HttpSettings {
    fn from_env() -> Result<HttpSettings, String> {
        let timeout = match std::env::var("WHARF_HTTP_TIMEOUT") {
            Ok(v) => {
                let secs: f64 = v
                    .trim()
                    .parse()
                    .map_err(|_| format!("WHARF_HTTP_TIMEOUT={v:?} is not a number of seconds"))?;
                if !(secs > 0.0 && secs <= 3600.0) {
                    return Err(format!(
                        "WHARF_HTTP_TIMEOUT={v:?} must be between 0 and 3600 seconds"
                    ));
                }
                Duration::from_secs_f64(secs)
            }
            Err(_) => Duration::from_secs(30),
        };
        let mut extra_roots = Vec::new();
        if let Some(path) = std::env::var_os("SSL_CERT_FILE") {
            let pem = std::fs::read(&path).map_err(|e| {
                format!(
                    "SSL_CERT_FILE={}: cannot read it: {e}",
                    path.to_string_lossy()
                )
            })?;
            extra_roots = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                format!(
                    "SSL_CERT_FILE={}: not a PEM certificate bundle: {e}",
                    path.to_string_lossy()
                )
            })?;
        }
        Ok(HttpSettings {
            timeout,
            extra_roots,
        })
    }

    fn builder(&self) -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .user_agent(concat!("wharf/", env!("CARGO_PKG_VERSION")))
            .timeout(self.timeout)
            // Also per read, so that a layer download (which lifts the
            // overall deadline) still fails when the transfer stalls.
            .read_timeout(self.timeout)
            .connect_timeout(self.timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::limited(5))
    }

    fn secure(&self) -> Result<reqwest::Client, String> {
        self.builder()
            .tls_certs_merge(self.extra_roots.clone())
            .build()
            .map_err(|e| format!("cannot set up HTTPS: {}", crate::error::error_chain(&e)))
    }
}

/// An HTTPS client with wharf's settings (certificates always verified), for
/// the services that are not registries: Fulcio, Rekor, a TSA.
pub fn https_client() -> Result<reqwest::Client, String> {
    HttpSettings::from_env()?.secure()
}

/// A registry's state, set once by the first request to need it; a failed
/// ping is remembered too, so a dead registry costs one set of retries per run.
type StateCell = OnceCell<Result<Arc<RegistryState>, RegistryError>>;

/// The client. Cheap to share behind an `Arc`; one per run.
pub struct RegistryClient {
    secure: reqwest::Client,
    insecure: reqwest::Client,
    global: Global,
    retry: RetryPolicy,
    /// Bound on each request, from `WHARF_HTTP_TIMEOUT`.
    timeout: Duration,
    states: Mutex<HashMap<String, Arc<StateCell>>>,
    /// Whether a repository's registry answered the referrers API, by
    /// `registry/repository`: learnt once per run, it decides whether a
    /// referrer also goes into the fallback index.
    pub(super) referrers_api: Mutex<HashMap<String, bool>>,
    /// What this client read or wrote, by `registry/repository@digest`
    /// (see [`super::push::Known`]).
    pub(super) known: Mutex<super::push::Known>,
}

impl RegistryClient {
    /// Builds the client. `WHARF_HTTP_TIMEOUT` (seconds, default 30) bounds
    /// each request; `SSL_CERT_FILE` adds trusted CA certificates.
    pub fn new(global: &Global) -> Result<RegistryClient, String> {
        let settings = HttpSettings::from_env()?;
        let secure = settings.secure()?;
        let insecure = settings
            .builder()
            .tls_danger_accept_invalid_certs(true)
            .build()
            .map_err(|e| format!("cannot set up HTTPS: {}", crate::error::error_chain(&e)))?;
        Ok(RegistryClient {
            secure,
            insecure,
            global: global.clone(),
            retry: RetryPolicy::default(),
            timeout: settings.timeout,
            states: Mutex::new(HashMap::new()),
            referrers_api: Mutex::new(HashMap::new()),
            known: Mutex::new(Default::default()),
        })
    }

    /// The run's global settings.
    pub fn global(&self) -> &Global {
        &self.global
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Pings `registry`, reads its credentials, and (for token auth) asks
    /// for one token covering pull access to every repository in
    /// `repositories`. Optional: `resolve` prepares lazily, but a caller
    /// that knows its repositories up front saves token requests.
    pub async fn prepare<'a>(
        &self,
        registry: &str,
        repositories: impl IntoIterator<Item = &'a String>,
    ) -> Result<(), RegistryError> {
        let state = self.state(registry).await?;
        if let Challenge::Bearer { .. } = state.challenge {
            let missing: Vec<String> = {
                let tokens = lock(&state.tokens);
                let scopes: std::collections::BTreeSet<String> =
                    repositories.into_iter().map(|r| pull_scope(r)).collect();
                scopes
                    .into_iter()
                    .filter(|s| !tokens.contains_key(s))
                    .collect()
            };
            // Registries cap URL length; 50 scopes stay well under 8 KiB.
            for chunk in missing.chunks(50) {
                self.fetch_token(&state, chunk, &format!("registry {registry}"))
                    .await?;
            }
        }
        Ok(())
    }

    /// Resolves `reference` to the digest the registry serves for its tag:
    /// the index digest for a multi-platform image, or with `platform` the
    /// digest of that platform's manifest. A reference that already has a
    /// digest is checked to exist.
    pub async fn resolve(
        &self,
        reference: &Reference,
        platform: Option<&Platform>,
    ) -> Result<Resolved, RegistryError> {
        let state = self.state(reference.registry()).await?;
        let repository = reference.repository();
        let target = reference
            .digest()
            .unwrap_or(reference.tag_or_latest())
            .to_string();
        let url = format!("{}/v2/{repository}/manifests/{target}", state.base);
        let what = reference.to_string();

        if platform.is_none() {
            let resp = self
                .send_authed(
                    &state,
                    &repository,
                    &what,
                    Method::HEAD,
                    &url,
                    MANIFEST_ACCEPT,
                )
                .await?;
            let media_type = content_type(resp.headers());
            if let Some(digest) = header_digest(resp.headers(), &state.name, &what)? {
                if let Some(want) = reference.digest() {
                    if digest != want {
                        return Err(RegistryError::Protocol {
                            what,
                            registry: state.name.clone(),
                            detail: format!("it serves {digest} for digest {want}"),
                        });
                    }
                }
                return Ok(Resolved { digest, media_type });
            }
        }

        // No digest header (or a platform to choose): GET the bytes and hash them.
        let (bytes, media_type, digest) =
            self.get_manifest(&state, &repository, &what, &url).await?;
        if let Some(want) = reference.digest() {
            if digest != want {
                return Err(RegistryError::Protocol {
                    what,
                    registry: state.name.clone(),
                    detail: format!("the manifest it serves hashes to {digest}, not {want}"),
                });
            }
        }
        let Some(platform) = platform else {
            return Ok(Resolved { digest, media_type });
        };
        let manifest: ManifestDoc =
            serde_json::from_slice(&bytes).map_err(|e| RegistryError::Protocol {
                what: what.clone(),
                registry: state.name.clone(),
                detail: format!("its manifest is not valid JSON: {e}"),
            })?;
        let media_type = manifest
            .media_type
            .clone()
            .filter(|m| !m.is_empty())
            .unwrap_or(media_type);
        if INDEX_TYPES.contains(&media_type.as_str()) || manifest.manifests.is_some() {
            let entry = select_platform(manifest.manifests.as_deref().unwrap_or(&[]), platform)
                .map_err(|detail| RegistryError::Platform {
                    reference: what.clone(),
                    detail,
                })?;
            check_digest(&entry.digest).map_err(|detail| RegistryError::Protocol {
                what: what.clone(),
                registry: state.name.clone(),
                detail,
            })?;
            return Ok(Resolved {
                digest: entry.digest.clone(),
                media_type: entry.media_type.clone(),
            });
        }
        // A single-platform image: make sure it is the platform asked for.
        let config = manifest.config.ok_or_else(|| RegistryError::Protocol {
            what: what.clone(),
            registry: state.name.clone(),
            detail: "its manifest has neither `manifests` nor `config`".into(),
        })?;
        check_digest(&config.digest).map_err(|detail| RegistryError::Protocol {
            what: what.clone(),
            registry: state.name.clone(),
            detail,
        })?;
        let blob_url = format!("{}/v2/{repository}/blobs/{}", state.base, config.digest);
        let resp = self
            .send_authed(&state, &repository, &what, Method::GET, &blob_url, "*/*")
            .await?;
        let bytes = read_bounded(resp, MANIFEST_MAX, &state.name, &what).await?;
        let got = sha256_digest(&bytes);
        if got != config.digest {
            return Err(RegistryError::Protocol {
                what,
                registry: state.name.clone(),
                detail: format!("config blob {} hashes to {got}", config.digest),
            });
        }
        let image: ImageConfig =
            serde_json::from_slice(&bytes).map_err(|e| RegistryError::Protocol {
                what: what.clone(),
                registry: state.name.clone(),
                detail: format!("its image config is not valid JSON: {e}"),
            })?;
        if !platform.matches(&image.os, &image.architecture, image.variant.as_deref()) {
            let have = Platform {
                os: image.os,
                architecture: image.architecture,
                variant: image.variant,
            };
            return Err(RegistryError::Platform {
                reference: what,
                detail: format!(
                    "it is a single-platform image for {have}, not {platform}; pin without --platform, or use --platform {have}"
                ),
            });
        }
        Ok(Resolved { digest, media_type })
    }

    async fn get_manifest(
        &self,
        state: &RegistryState,
        repository: &str,
        what: &str,
        url: &str,
    ) -> Result<(Vec<u8>, String, String), RegistryError> {
        let resp = self
            .send_authed(state, repository, what, Method::GET, url, MANIFEST_ACCEPT)
            .await?;
        let media_type = content_type(resp.headers());
        let announced = header_digest(resp.headers(), &state.name, what)?;
        let bytes = read_bounded(resp, MANIFEST_MAX, &state.name, what).await?;
        let digest = sha256_digest(&bytes);
        if let Some(announced) = announced {
            if announced.starts_with("sha256:") && announced != digest {
                return Err(RegistryError::Protocol {
                    what: what.to_string(),
                    registry: state.name.clone(),
                    detail: format!(
                        "Docker-Content-Digest says {announced} but the bytes hash to {digest}"
                    ),
                });
            }
        }
        Ok((bytes, media_type, digest))
    }

    /// The per-registry state, created once per run by pinging `/v2/`.
    pub(super) async fn state(&self, registry: &str) -> Result<Arc<RegistryState>, RegistryError> {
        let cell = {
            let mut states = lock(&self.states);
            states.entry(registry.to_string()).or_default().clone()
        };
        cell.get_or_init(|| self.ping(registry)).await.clone()
    }

    async fn ping(&self, registry: &str) -> Result<Arc<RegistryState>, RegistryError> {
        let host = if registry == DOCKER_HUB {
            DOCKER_HUB_API
        } else {
            registry
        };
        let insecure = self.global.is_insecure(registry);
        let credential = read_credential(registry)?;

        // A registry named insecure may speak HTTPS with any certificate, or
        // plain HTTP; like docker, try HTTPS first.
        let schemes: &[&str] = if insecure {
            &["https", "http"]
        } else {
            &["https"]
        };
        let mut last_err = None;
        for scheme in schemes {
            let base = format!("{scheme}://{host}");
            let url = format!("{base}/v2/");
            let client = if insecure {
                &self.insecure
            } else {
                &self.secure
            };
            // The HTTPS probe of a registry named insecure gets one try: a
            // plain-HTTP registry fails it at once, and retrying only delays
            // the fallback.
            let probe = insecure && *scheme == "https";
            let attempts = if probe { 1 } else { self.retry.attempts };
            // A plain-HTTP server may also sit silent on a TLS handshake: the
            // probe waits a few seconds at most, not the full request timeout.
            let timeout = if probe {
                self.timeout.min(Duration::from_secs(3))
            } else {
                self.timeout
            };
            let attempt = self
                .send_retrying_n(registry, &format!("registry {registry}"), attempts, || {
                    client.get(&url).timeout(timeout)
                })
                .await;
            let resp = match attempt {
                Ok(resp) => resp,
                Err(e) => {
                    last_err = Some(e);
                    continue;
                }
            };
            let status = resp.status();
            let challenge = match status {
                s if s.is_success() => Challenge::None,
                StatusCode::UNAUTHORIZED => {
                    parse_challenge(resp.headers()).ok_or_else(|| RegistryError::Protocol {
                        what: format!("registry {registry}"),
                        registry: registry.to_string(),
                        detail: "401 without a usable WWW-Authenticate header".into(),
                    })?
                }
                s => {
                    return Err(RegistryError::Status {
                        what: format!("registry {registry}: GET /v2/"),
                        registry: registry.to_string(),
                        status: s.as_u16(),
                        detail: ": this does not look like an OCI registry".into(),
                    })
                }
            };
            return Ok(Arc::new(RegistryState {
                name: registry.to_string(),
                base,
                insecure,
                challenge,
                credential,
                tokens: Mutex::new(HashMap::new()),
            }));
        }
        Err(last_err.unwrap_or_else(|| RegistryError::Unreachable {
            registry: registry.to_string(),
            attempts: 0,
            detail: "no scheme to try".into(),
        }))
    }

    fn client(&self, state: &RegistryState) -> &reqwest::Client {
        if state.insecure {
            &self.insecure
        } else {
            &self.secure
        }
    }

    /// Sends a request with the registry's auth, fetching a token for the
    /// repository if none is cached and retrying once on a stale one.
    async fn send_authed(
        &self,
        state: &RegistryState,
        repository: &str,
        what: &str,
        method: Method,
        url: &str,
        accept: &str,
    ) -> Result<Response, RegistryError> {
        let req = Req {
            method,
            url,
            accept,
            body: None,
            push: false,
            streaming: false,
        };
        self.send_req(state, repository, what, &req).await
    }

    /// Sends `req` with the registry's auth for `repository` (pull, or pull
    /// and push), fetching a token if none is cached and retrying once on a
    /// stale one.
    pub(super) async fn send_req(
        &self,
        state: &RegistryState,
        repository: &str,
        what: &str,
        req: &Req<'_>,
    ) -> Result<Response, RegistryError> {
        let scope = if req.push {
            push_scope(repository)
        } else {
            pull_scope(repository)
        };
        let mut refreshed = false;
        loop {
            let auth = match &state.challenge {
                Challenge::None => None,
                Challenge::Basic => match &state.credential {
                    Some(Credential::Basic { username, password }) => {
                        Some(basic_header(username, password))
                    }
                    _ => None,
                },
                Challenge::Bearer { .. } => {
                    let cached = lock(&state.tokens).get(&scope).cloned();
                    let token = match cached {
                        Some(t) if !refreshed => t,
                        _ => {
                            refreshed = true;
                            self.fetch_token(state, std::slice::from_ref(&scope), what)
                                .await?
                        }
                    };
                    Some(format!("Bearer {token}"))
                }
            };
            let client = self.client(state);
            let resp = self
                .send_retrying(&state.name, what, || {
                    let mut builder = client
                        .request(req.method.clone(), req.url)
                        .header(ACCEPT, req.accept);
                    if req.streaming {
                        builder = builder.timeout(STREAMING_DEADLINE);
                    }
                    if let Some((body, content_type)) = &req.body {
                        builder = builder
                            .header(CONTENT_TYPE, *content_type)
                            .body(body.clone());
                    }
                    if let Some(auth) = &auth {
                        builder = builder.header(AUTHORIZATION, auth);
                    }
                    builder
                })
                .await?;
            let status = resp.status();
            if status == StatusCode::UNAUTHORIZED
                && matches!(state.challenge, Challenge::Bearer { .. })
                && !refreshed
            {
                // The cached token expired or lacks the scope: get a fresh one once.
                lock(&state.tokens).remove(&scope);
                refreshed = true;
                continue;
            }
            if status.is_success() {
                return Ok(resp);
            }
            let detail = error_detail(resp).await;
            return Err(match status {
                StatusCode::NOT_FOUND => RegistryError::NotFound {
                    reference: what.to_string(),
                    kind: if req.url.contains("/blobs/") {
                        "blob"
                    } else {
                        "manifest"
                    },
                },
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => RegistryError::Unauthorized {
                    reference: what.to_string(),
                    registry: state.name.clone(),
                    status: status.as_u16(),
                    detail,
                },
                s => RegistryError::Status {
                    what: what.to_string(),
                    registry: state.name.clone(),
                    status: s.as_u16(),
                    detail,
                },
            });
        }
    }

    /// Asks the token endpoint for one token covering `scopes`, caches it for
    /// each, and returns it.
    async fn fetch_token(
        &self,
        state: &RegistryState,
        scopes: &[String],
        what: &str,
    ) -> Result<String, RegistryError> {
        let Challenge::Bearer { realm, service } = &state.challenge else {
            return Err(RegistryError::Protocol {
                what: what.to_string(),
                registry: state.name.clone(),
                detail: "token requested from a registry without token auth".into(),
            });
        };
        let realm_url = reqwest::Url::parse(realm).map_err(|e| RegistryError::Protocol {
            what: what.to_string(),
            registry: state.name.clone(),
            detail: format!("its token realm {realm:?} is not a URL: {e}"),
        })?;
        if realm_url.scheme() != "https" && !state.insecure {
            return Err(RegistryError::Protocol {
                what: what.to_string(),
                registry: state.name.clone(),
                detail: format!(
                    "its token realm {realm} is not HTTPS; credentials are not sent there"
                ),
            });
        }
        let client = self.client(state);
        let resp = match &state.credential {
            Some(Credential::Identity(refresh)) => {
                let mut form: Vec<(&str, &str)> = vec![
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh),
                    ("client_id", "wharf"),
                ];
                if let Some(s) = service {
                    form.push(("service", s));
                }
                let scope = scopes.join(" ");
                form.push(("scope", &scope));
                let body = form_encode(&form);
                self.send_retrying(&state.name, what, || {
                    client
                        .post(realm_url.clone())
                        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                        .body(body.clone())
                })
                .await?
            }
            credential => {
                let mut url = realm_url.clone();
                {
                    let mut q = url.query_pairs_mut();
                    if let Some(s) = service {
                        q.append_pair("service", s);
                    }
                    for scope in scopes {
                        q.append_pair("scope", scope);
                    }
                }
                let auth = match credential {
                    Some(Credential::Basic { username, password }) => {
                        Some(basic_header(username, password))
                    }
                    _ => None,
                };
                self.send_retrying(&state.name, what, || {
                    let req = client.get(url.clone());
                    match &auth {
                        Some(a) => req.header(AUTHORIZATION, a),
                        None => req,
                    }
                })
                .await?
            }
        };
        let status = resp.status();
        if !status.is_success() {
            let detail = error_detail(resp).await;
            return Err(RegistryError::Unauthorized {
                reference: what.to_string(),
                registry: state.name.clone(),
                status: status.as_u16(),
                detail: format!(" at its token endpoint{detail}"),
            });
        }
        let body = read_bounded(resp, 1 << 20, &state.name, what).await?;
        let token: TokenResponse =
            serde_json::from_slice(&body).map_err(|e| RegistryError::Protocol {
                what: what.to_string(),
                registry: state.name.clone(),
                detail: format!("its token endpoint answered something that is not a token: {e}"),
            })?;
        let token = token
            .token
            .or(token.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| RegistryError::Protocol {
                what: what.to_string(),
                registry: state.name.clone(),
                detail: "its token endpoint answered without a token".into(),
            })?;
        let mut tokens = lock(&state.tokens);
        for scope in scopes {
            tokens.insert(scope.clone(), token.clone());
        }
        Ok(token)
    }

    /// Sends a request, retrying connection errors, timeouts, 429 and 5xx
    /// with exponential backoff and jitter, honouring `Retry-After`.
    async fn send_retrying(
        &self,
        registry: &str,
        what: &str,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Response, RegistryError> {
        self.send_retrying_n(registry, what, self.retry.attempts, build)
            .await
    }

    async fn send_retrying_n(
        &self,
        registry: &str,
        what: &str,
        attempts: u32,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Response, RegistryError> {
        let policy = &self.retry;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let last = attempt >= attempts;
            match build().send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let retryable = status == StatusCode::TOO_MANY_REQUESTS
                        || (status.is_server_error()
                            && status != StatusCode::NOT_IMPLEMENTED
                            && status != StatusCode::HTTP_VERSION_NOT_SUPPORTED);
                    if !retryable {
                        return Ok(resp);
                    }
                    let wait = retry_after(resp.headers());
                    if let Some(wait) = wait {
                        if wait > policy.max_retry_after {
                            return Err(RegistryError::Status {
                                what: what.to_string(),
                                registry: registry.to_string(),
                                status: status.as_u16(),
                                detail: format!(
                                    " and asks to wait {}s, longer than wharf waits; try again later",
                                    wait.as_secs()
                                ),
                            });
                        }
                    }
                    if last {
                        let detail = error_detail(resp).await;
                        return Err(RegistryError::Exhausted {
                            what: what.to_string(),
                            registry: registry.to_string(),
                            status: status.as_u16(),
                            attempts: attempt,
                            detail,
                        });
                    }
                    tokio::time::sleep(wait.unwrap_or_else(|| backoff(policy, attempt))).await;
                }
                Err(err) => {
                    let mut detail = crate::error::error_chain(&err);
                    if is_plain_http_answer(&detail) {
                        detail = format!("it answers in plain HTTP, not TLS ({detail})");
                    }
                    if is_tls_error(&detail) {
                        return Err(RegistryError::Tls {
                            registry: registry.to_string(),
                            detail,
                        });
                    }
                    let retryable =
                        err.is_connect() || err.is_timeout() || err.is_request() || err.is_body();
                    if !retryable || last {
                        let detail = if err.is_timeout() {
                            format!("no answer within the request timeout (WHARF_HTTP_TIMEOUT): {detail}")
                        } else {
                            detail
                        };
                        return Err(RegistryError::Unreachable {
                            registry: registry.to_string(),
                            attempts: attempt,
                            detail,
                        });
                    }
                    tokio::time::sleep(backoff(policy, attempt)).await;
                }
            }
        }
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    token: Option<String>,
    access_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ManifestDoc {
    media_type: Option<String>,
    manifests: Option<Vec<IndexEntry>>,
    config: Option<Descriptor>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IndexEntry {
    #[serde(default)]
    pub media_type: String,
    pub digest: String,
    pub platform: Option<PlatformDoc>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct PlatformDoc {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Descriptor {
    digest: String,
}

#[derive(Debug, Deserialize)]
struct ImageConfig {
    #[serde(default)]
    os: String,
    #[serde(default)]
    architecture: String,
    variant: Option<String>,
}

/// Chooses the index entry for `platform`, or says which platforms there are.
pub(crate) fn select_platform<'a>(
    entries: &'a [IndexEntry],
    platform: &Platform,
) -> Result<&'a IndexEntry, String> {
    let mut matching = entries.iter().filter(|e| {
        e.platform
            .as_ref()
            .is_some_and(|p| platform.matches(&p.os, &p.architecture, p.variant.as_deref()))
    });
    if let Some(entry) = matching.next() {
        return Ok(entry);
    }
    let available: Vec<String> = entries
        .iter()
        .filter_map(|e| e.platform.as_ref())
        .filter(|p| p.os != "unknown")
        .map(|p| match &p.variant {
            Some(v) => format!("{}/{}/{v}", p.os, p.architecture),
            None => format!("{}/{}", p.os, p.architecture),
        })
        .collect();
    Err(format!(
        "the image index has no manifest for {platform}; it has {}",
        if available.is_empty() {
            "no platforms".to_string()
        } else {
            available.join(", ")
        }
    ))
}

fn pull_scope(repository: &str) -> String {
    format!("repository:{repository}:pull")
}

fn push_scope(repository: &str) -> String {
    format!("repository:{repository}:pull,push")
}

/// One request to a registry: what `send_req` needs to build it again for
/// each retry. The body is `Bytes`, so a retry does not copy it.
pub(super) struct Req<'a> {
    pub method: Method,
    pub url: &'a str,
    pub accept: &'a str,
    pub body: Option<(bytes::Bytes, &'a str)>,
    /// Ask for push access (`repository:NAME:pull,push`).
    pub push: bool,
    /// A download of unbounded size (a layer): no overall deadline, only
    /// the idle bound (no bytes for WHARF_HTTP_TIMEOUT) stops it.
    pub streaming: bool,
}

/// The overall deadline of a streaming download: effectively none; the
/// client's read timeout catches a stalled transfer.
const STREAMING_DEADLINE: Duration = Duration::from_secs(24 * 3600);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic elsewhere cannot leave these maps inconsistent: every write is a single insert.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn basic_header(username: &str, password: &str) -> String {
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    format!("Basic {encoded}")
}

fn form_encode(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or(v).trim().to_string())
        .unwrap_or_default()
}

pub(super) fn header_digest(
    headers: &HeaderMap,
    registry: &str,
    what: &str,
) -> Result<Option<String>, RegistryError> {
    let Some(value) = headers.get("docker-content-digest") else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| RegistryError::Protocol {
        what: what.to_string(),
        registry: registry.to_string(),
        detail: "its Docker-Content-Digest header is not text".into(),
    })?;
    check_digest(value.trim()).map_err(|detail| RegistryError::Protocol {
        what: what.to_string(),
        registry: registry.to_string(),
        detail: format!("its Docker-Content-Digest header is invalid: {detail}"),
    })?;
    Ok(Some(value.trim().to_string()))
}

fn parse_challenge(headers: &HeaderMap) -> Option<Challenge> {
    let value = headers.get(WWW_AUTHENTICATE)?.to_str().ok()?;
    let (scheme, params) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
    let params = parse_auth_params(params);
    match scheme.to_ascii_lowercase().as_str() {
        "basic" => Some(Challenge::Basic),
        "bearer" => Some(Challenge::Bearer {
            realm: params.get("realm")?.clone(),
            service: params.get("service").cloned(),
        }),
        _ => None,
    }
}

/// `key="value", key2=value2` (RFC 7235 auth-params; quoted strings may hold commas).
fn parse_auth_params(s: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|&c| c != '=').collect();
        if key.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            value.push(n);
                        }
                    }
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        out.insert(key.trim().to_ascii_lowercase(), value.trim().to_string());
    }
    out
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// Exponential backoff with jitter: a random delay in [d/2, d], d doubling from the base.
fn backoff(policy: &RetryPolicy, attempt: u32) -> Duration {
    let exp = policy
        .base_delay
        .saturating_mul(1u32 << (attempt - 1).min(16));
    let d = exp.min(policy.max_delay);
    let half = d / 2;
    half + half.mul_f64(rand::random::<f64>())
}

pub(super) async fn read_bounded(
    mut resp: Response,
    max: usize,
    registry: &str,
    what: &str,
) -> Result<Vec<u8>, RegistryError> {
    let mut out = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if out.len() + chunk.len() > max {
                    return Err(RegistryError::Protocol {
                        what: what.to_string(),
                        registry: registry.to_string(),
                        detail: format!("its answer is larger than {} MiB", max >> 20),
                    });
                }
                out.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(out),
            Err(e) => {
                return Err(RegistryError::Unreachable {
                    registry: registry.to_string(),
                    attempts: 1,
                    detail: format!("the answer broke off: {}", crate::error::error_chain(&e)),
                })
            }
        }
    }
}

/// The registry's own error message, if it sent one, as `: CODE: message`.
async fn error_detail(resp: Response) -> String {
    let Ok(body) = resp.bytes().await else {
        return String::new();
    };
    #[derive(Deserialize)]
    struct Errors {
        errors: Vec<ErrorItem>,
    }
    #[derive(Deserialize)]
    struct ErrorItem {
        code: Option<String>,
        message: Option<String>,
    }
    if let Ok(errors) = serde_json::from_slice::<Errors>(&body) {
        let mut s = String::new();
        for e in errors.errors.iter().take(3) {
            let _ = write!(
                s,
                ": {}{}",
                e.code.as_deref().unwrap_or(""),
                e.message
                    .as_deref()
                    .map(|m| format!(" {m}"))
                    .unwrap_or_default()
            );
        }
        return s;
    }
    String::new()
}

pub(crate) fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// rustls' complaint when the server answers a TLS handshake with plain HTTP.
fn is_plain_http_answer(detail: &str) -> bool {
    detail.contains("InvalidContentType")
}

fn is_tls_error(detail: &str) -> bool {
    let d = detail.to_ascii_lowercase();
    d.contains("plain http, not tls")
        || d.contains("certificate")
        || d.contains("invalid peer")
        || d.contains("unknownissuer")
        || d.contains("tls handshake")
}

/// The helper config.json names for `server` (`credHelpers`, else
/// `credsStore`), for messages; the credential itself comes from
/// docker_credential.
fn configured_helper(server: &str) -> Option<String> {
    let dir = std::env::var_os("DOCKER_CONFIG")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".docker")))?;
    let text = std::fs::read_to_string(dir.join("config.json")).ok()?;
    let config: serde_json::Value = serde_json::from_str(&text).ok()?;
    config
        .pointer(&format!(
            "/credHelpers/{}",
            server.replace('~', "~0").replace('/', "~1")
        ))
        .or_else(|| config.get("credsStore"))
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

/// The credential docker would use for `registry`, from `$DOCKER_CONFIG`
/// (else `~/.docker`) `config.json`: `auths`, `credsStore`, `credHelpers`.
fn read_credential(registry: &str) -> Result<Option<Credential>, RegistryError> {
    use docker_credential::{CredentialRetrievalError as E, DockerCredential};
    let server = if registry == DOCKER_HUB {
        "https://index.docker.io/v1/"
    } else {
        registry
    };
    match docker_credential::get_credential(server) {
        Ok(DockerCredential::UsernamePassword(username, password)) => {
            Ok(Some(Credential::Basic { username, password }))
        }
        Ok(DockerCredential::IdentityToken(token)) => Ok(Some(Credential::Identity(token))),
        Err(E::NoCredentialConfigured | E::ConfigNotFound | E::ConfigReadError) => Ok(None),
        // The helper's own output may hold secrets: name the helper, not what it printed.
        Err(E::HelperFailure { helper, .. }) => Err(RegistryError::Credentials {
            registry: registry.to_string(),
            detail: format!(
                "the credential helper `{helper}` failed; run `{helper} get` by hand to see why"
            ),
        }),
        Err(E::HelperCommunicationError) => {
            let helper = configured_helper(server)
                .map(|h| format!("docker-credential-{h}"))
                .unwrap_or_else(|| "docker-credential-NAME".to_string());
            Err(RegistryError::Credentials {
                registry: registry.to_string(),
                detail: format!(
                    "the credential helper `{helper}` from config.json could not be run, or exited \
                     without reading its request; is it installed and on PATH? Try it by hand: \
                     echo {server} | {helper} get"
                ),
            })
        }
        Err(e) => Err(RegistryError::Credentials {
            registry: registry.to_string(),
            detail: format!("{e} in config.json (DOCKER_CONFIG); fix or remove the entry"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bearer_and_basic_challenges() {
        let mut h = HeaderMap::new();
        h.insert(
            WWW_AUTHENTICATE,
            r#"Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a:pull""#
                .parse()
                .unwrap(),
        );
        match parse_challenge(&h) {
            Some(Challenge::Bearer { realm, service }) => {
                assert_eq!(realm, "https://auth.example.com/token");
                assert_eq!(service.as_deref(), Some("registry.example.com"));
            }
            other => panic!("{other:?}"),
        }
        h.insert(
            WWW_AUTHENTICATE,
            r#"Basic realm="Registry Realm""#.parse().unwrap(),
        );
        assert!(matches!(parse_challenge(&h), Some(Challenge::Basic)));
    }

    #[test]
    fn retry_after_in_seconds_and_as_a_date() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, "3".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
    }

    #[test]
    fn backoff_grows_and_stays_bounded() {
        let p = RetryPolicy::default();
        for attempt in 1..40 {
            let d = backoff(&p, attempt);
            assert!(d <= p.max_delay, "{attempt}: {d:?}");
        }
        let first = backoff(&p, 1);
        assert!(first >= p.base_delay / 2 && first <= p.base_delay);
    }

    #[test]
    fn platform_selection_names_what_exists() {
        let entries: Vec<IndexEntry> = serde_json::from_str(
            r#"[{"mediaType":"m","digest":"sha256:a","platform":{"os":"linux","architecture":"amd64"}},
                {"mediaType":"m","digest":"sha256:b","platform":{"os":"linux","architecture":"arm64","variant":"v8"}},
                {"mediaType":"m","digest":"sha256:c","platform":{"os":"unknown","architecture":"unknown"}}]"#,
        )
        .unwrap();
        let arm = Platform::parse("linux/arm64").unwrap();
        assert_eq!(select_platform(&entries, &arm).unwrap().digest, "sha256:b");
        let s390 = Platform::parse("linux/s390x").unwrap();
        let err = select_platform(&entries, &s390).unwrap_err();
        assert!(err.contains("linux/amd64, linux/arm64/v8"), "{err}");
        assert!(Platform::parse("linux").is_err());
        assert!(Platform::parse("linux/arm/v7").is_ok());
    }

    #[test]
    fn form_encoding_escapes() {
        assert_eq!(
            form_encode(&[("a", "b c"), ("s", "x:y/z")]),
            "a=b+c&s=x%3Ay%2Fz"
        );
    }
}
