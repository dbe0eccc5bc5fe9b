//! wharf-testbed: a local Sigstore for wharf's tests. **A test tool: never
//! use it to sign anything real** — its keys live in memory for the life of
//! the process and its services trust nothing but themselves.
//!
//! Public Sigstore is out of reach from CI machines and would make tests
//! depend on the network, so the proof loop runs against this: an OIDC
//! issuer shaped like GitHub Actions', a Fulcio, a Rekor v1 and an RFC 3161
//! timestamp authority, each on its own `127.0.0.1` ephemeral port, speaking
//! the real wire formats closely enough that sigstore-python 4.x signs
//! through them and verifies the result (`tests/sigstore_python.rs`).
//!
//! # Services
//!
//! - **OIDC issuer** (`urls().issuer`): `/.well-known/openid-configuration`,
//!   `/.well-known/jwks`; ES256 JWTs with `aud` `sigstore` and the claims of
//!   a GitHub Actions job (`repository`, `job_workflow_ref`, `sha`, `ref`,
//!   `event_name`, `runner_environment`, `run_id`, ...). A token endpoint
//!   shaped like GitHub's: `GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=sigstore`
//!   with `Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN` answers
//!   `{"value": "<jwt>"}`; another bearer gets 401.
//! - **Fulcio v2** (`urls().fulcio`): `POST /api/v2/signingCert` (public key +
//!   proof of possession over the token's `sub`, or a CSR; token in the body
//!   or an `Authorization: Bearer` header), `GET /api/v2/configuration`,
//!   `GET /api/v2/trustBundle`; a certificate is 200, as from the real one. Leaves live 10 minutes, carry the identity as
//!   a URI SAN, Fulcio's extensions 1.3.6.1.4.1.57264.1.1–6 and .8–.22 from
//!   the claims, the code-signing EKU and an embedded SCT.
//! - **Rekor v1** (`urls().rekor`): `POST /api/v1/log/entries` (hashedrekord
//!   and dsse 0.0.1, signatures verified; 201, or 409 with `Location` for a
//!   duplicate), `GET /api/v1/log/entries/{uuid}`,
//!   `GET /api/v1/log/entries?logIndex=N`, `POST /api/v1/log/entries/retrieve`,
//!   `POST /api/v1/index/retrieve` (`{"hash": "sha256:..."}`), `GET /api/v1/log`,
//!   `GET /api/v1/log/publicKey`.
//! - **TSA** (`urls().tsa`, the full timestamp URL): `POST /api/v1/timestamp`,
//!   `GET /api/v1/timestamp/certchain`.
//!
//! # Files written into the directory
//!
//! `trusted_root.json` (a Sigstore `TrustedRoot`), `trust_config.json` (a
//! `ClientTrustConfig`: that trusted root plus a `SigningConfig` v0.2 naming
//! the four services), `env` (`export GITHUB_ACTIONS='true'`,
//! `ACTIONS_ID_TOKEN_REQUEST_URL`, `ACTIONS_ID_TOKEN_REQUEST_TOKEN`),
//! `identity` and `issuer` (no trailing newline), and `ready` last (the
//! process id), once every server accepts connections.
//!
//! # Use
//!
//! ```no_run
//! let dir = tempfile::tempdir()?;
//! let testbed = wharf_testbed::Testbed::start(dir.path())?;
//! let token = testbed.oidc_token();
//! // point the client at testbed.trust_config(), sign with `token`, then
//! // verify against testbed.trusted_root() with
//! // testbed.identity() / testbed.issuer().
//! testbed.fail_next(wharf_testbed::Service::Rekor, 1, 503); // a retry test
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Dropping the [`Testbed`] stops every server. The `wharf-testbed` binary
//! (`wharf-testbed --dir DIR`) does the same from a shell and serves until
//! killed.

#![forbid(unsafe_code)]

mod certs;
mod crypto;
mod files;
mod fulcio;
mod http;
mod merkle;
mod oidc;
mod oids;
mod rekor;
mod tsa;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use serde_json::{Map, Value};

pub use http::{MAX_BODY, MAX_CONNECTIONS};
pub use oidc::{rfc3339, REPOSITORY};

/// Errors starting the testbed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be written.
    #[error("writing {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// No loopback port could be bound.
    #[error("binding a port on 127.0.0.1: {0}")]
    Bind(std::io::Error),
    /// Key generation, certificate issuance or the server runtime failed.
    #[error("setting up the testbed: {0}")]
    Setup(String),
}

/// `Result` with the testbed's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// One of the testbed's services, for [`Testbed::fail_next`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// The GitHub-shaped token endpoint of the OIDC issuer.
    Oidc,
    /// `POST /api/v2/signingCert`.
    Fulcio,
    /// `POST /api/v1/log/entries`.
    Rekor,
    /// `POST /api/v1/timestamp`.
    Tsa,
}

/// Where the services listen. All `http://127.0.0.1:<port>`, no trailing
/// slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Urls {
    /// The OIDC issuer (the `iss` of its tokens).
    pub issuer: String,
    /// `ACTIONS_ID_TOKEN_REQUEST_URL`: the token endpoint, with a `?` query
    /// already, like GitHub's (append `&audience=sigstore`).
    pub token_request: String,
    /// Fulcio's base URL.
    pub fulcio: String,
    /// Rekor's base URL.
    pub rekor: String,
    /// The timestamp authority's full URL (`.../api/v1/timestamp`).
    pub tsa: String,
}

/// Injected failures: (service, after the work is done?) → (count, status).
type Faults = HashMap<(Service, bool), (usize, u16)>;

struct State {
    oidc: oidc::Oidc,
    fulcio: fulcio::Fulcio,
    rekor: rekor::Rekor,
    tsa: tsa::Tsa,
    faults: Mutex<Faults>,
}

impl State {
    fn take_fault(&self, service: Service, after: bool) -> Option<u16> {
        let mut faults = self.faults.lock().unwrap_or_else(|e| e.into_inner());
        let slot = faults.get_mut(&(service, after))?;
        if slot.0 == 0 {
            return None;
        }
        slot.0 -= 1;
        Some(slot.1)
    }
}

/// One listener's requests, with fault injection in front of its write
/// endpoint.
struct Endpoint {
    state: Arc<State>,
    service: Service,
}

impl Endpoint {
    fn is_write(&self, req: &http::Request) -> bool {
        let m = req.method.as_str();
        let p = req.path.trim_end_matches('/');
        match self.service {
            Service::Oidc => m == "GET" && p == oidc::TOKEN_PATH,
            Service::Fulcio => m == "POST" && p == "/api/v2/signingCert",
            Service::Rekor => m == "POST" && p == "/api/v1/log/entries",
            Service::Tsa => m == "POST" && p == "/api/v1/timestamp",
        }
    }

    fn injected(status: u16, after: bool) -> http::Response {
        let what = if after {
            "the request was processed, then this failure was injected (fail_next_after_commit)"
        } else {
            "injected failure (fail_next)"
        };
        http::Response::error(status, &format!("wharf-testbed: {what}"))
    }
}

impl http::Handler for Endpoint {
    fn handle(&self, req: &http::Request) -> http::Response {
        let write = self.is_write(req);
        if write {
            if let Some(status) = self.state.take_fault(self.service, false) {
                return Self::injected(status, false);
            }
        }
        let s = &self.state;
        let resp = match self.service {
            Service::Oidc => s.oidc.handle(req),
            Service::Fulcio => s.fulcio.handle(&s.oidc, req),
            Service::Rekor => s.rekor.handle(req),
            Service::Tsa => s.tsa.handle(req),
        };
        if write && (200..300).contains(&resp.status) {
            if let Some(status) = s.take_fault(self.service, true) {
                return Self::injected(status, true);
            }
        }
        resp
    }
}

/// A running local Sigstore. Dropping it stops every server.
pub struct Testbed {
    // Declared first so it drops first: servers stop before the state goes.
    _servers: http::Servers,
    state: Arc<State>,
    dir: PathBuf,
    urls: Urls,
    identity: String,
}

impl std::fmt::Debug for Testbed {
    // Leaves out the request token and every key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Testbed")
            .field("dir", &self.dir)
            .field("urls", &self.urls)
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

fn bind() -> Result<(std::net::TcpListener, String)> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(Error::Bind)?;
    let port = l.local_addr().map_err(Error::Bind)?.port();
    Ok((l, format!("http://127.0.0.1:{port}")))
}

fn write(dir: &Path, name: &str, contents: &[u8]) -> Result<PathBuf> {
    let path = dir.join(name);
    // Write then rename, so a reader polling for the file never sees half.
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, contents)
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|source| Error::Write {
            path: path.clone(),
            source,
        })?;
    Ok(path)
}

fn json_bytes(v: &Value) -> Vec<u8> {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s.into_bytes()
}

impl Testbed {
    /// Generate keys and certificates, start the four servers on loopback,
    /// and write the files (see the crate docs) into `dir`, creating it.
    pub fn start(dir: &Path) -> Result<Testbed> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Write {
            path: dir.to_path_buf(),
            source,
        })?;
        let (oidc_l, issuer) = bind()?;
        let (fulcio_l, fulcio_url) = bind()?;
        let (rekor_l, rekor_url) = bind()?;
        let (tsa_l, tsa_base) = bind()?;
        let urls = Urls {
            token_request: format!("{issuer}{}?api-version=2.0", oidc::TOKEN_PATH),
            issuer: issuer.clone(),
            fulcio: fulcio_url,
            rekor: rekor_url,
            tsa: format!("{tsa_base}/api/v1/timestamp"),
        };

        let now = SystemTime::now();
        let setup = |e: String| Error::Setup(e);
        let fulcio_root =
            certs::root("CN=wharf-testbed Fulcio root,O=wharf-testbed", now).map_err(setup)?;
        let fulcio_intermediate = certs::intermediate(
            &fulcio_root,
            "CN=wharf-testbed Fulcio intermediate,O=wharf-testbed",
            oids::KP_CODE_SIGNING,
            now,
        )
        .map_err(setup)?;
        let tsa_root =
            certs::root("CN=wharf-testbed TSA root,O=wharf-testbed", now).map_err(setup)?;
        let tsa_leaf = certs::tsa_leaf(&tsa_root, "CN=wharf-testbed TSA,O=wharf-testbed", now)
            .map_err(setup)?;
        let state = Arc::new(State {
            oidc: oidc::Oidc::new(issuer).map_err(setup)?,
            fulcio: fulcio::Fulcio {
                root: fulcio_root,
                intermediate: fulcio_intermediate,
                ct_log: crypto::EcKey::generate().map_err(setup)?,
            },
            rekor: rekor::Rekor::new().map_err(setup)?,
            tsa: tsa::Tsa {
                root: tsa_root,
                leaf: tsa_leaf,
            },
            faults: Mutex::new(HashMap::new()),
        });

        let endpoint = |service| -> Arc<dyn http::Handler> {
            Arc::new(Endpoint {
                state: state.clone(),
                service,
            })
        };
        let servers = http::Servers::start(vec![
            (oidc_l, endpoint(Service::Oidc)),
            (fulcio_l, endpoint(Service::Fulcio)),
            (rekor_l, endpoint(Service::Rekor)),
            (tsa_l, endpoint(Service::Tsa)),
        ])
        .map_err(setup)?;

        let testbed = Testbed {
            _servers: servers,
            identity: oidc::identity_for(&oidc::default_job_workflow_ref()),
            state,
            dir: dir.to_path_buf(),
            urls,
        };
        testbed.write_files(now)?;
        Ok(testbed)
    }

    fn write_files(&self, now: SystemTime) -> Result<()> {
        let start = der::DateTime::from_system_time(certs::ca_not_before(now))
            .map(|d| d.to_string())
            .map_err(|e| Error::Setup(e.to_string()))?;
        let s = &self.state;
        let root = files::trusted_root(&files::RootParts {
            urls: &self.urls,
            start: &start,
            rekor_key: &s.rekor.key,
            ct_key: &s.fulcio.ct_log,
            fulcio_chain: [&s.fulcio.intermediate, &s.fulcio.root],
            tsa_chain: [&s.tsa.leaf, &s.tsa.root],
        });
        let signing = files::signing_config(&self.urls, &start);
        let dir = &self.dir;
        write(dir, "trusted_root.json", &json_bytes(&root))?;
        write(
            dir,
            "trust_config.json",
            &json_bytes(&files::trust_config(&root, &signing)),
        )?;
        write(dir, "env", files::env_file(&self.github_env()).as_bytes())?;
        write(dir, "identity", self.identity.as_bytes())?;
        write(dir, "issuer", self.issuer().as_bytes())?;
        write(dir, "ready", format!("{}\n", std::process::id()).as_bytes())?;
        Ok(())
    }

    /// The directory the files are in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `DIR/trust_config.json`: a Sigstore `ClientTrustConfig`.
    pub fn trust_config(&self) -> PathBuf {
        self.dir.join("trust_config.json")
    }

    /// `DIR/trusted_root.json`: a Sigstore `TrustedRoot`.
    pub fn trusted_root(&self) -> PathBuf {
        self.dir.join("trusted_root.json")
    }

    /// `DIR/env`: shell-sourceable GitHub Actions token variables.
    pub fn env_file(&self) -> PathBuf {
        self.dir.join("env")
    }

    /// The certificate identity (SAN URI) of the default token:
    /// `https://github.com/wharf-test/app/.github/workflows/release.yml@refs/heads/main`.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// The OIDC issuer URL (the certificates' issuer extensions).
    pub fn issuer(&self) -> &str {
        &self.state.oidc.issuer
    }

    /// The service URLs.
    pub fn urls(&self) -> Urls {
        self.urls.clone()
    }

    /// A fresh token with the standard claims (audience `sigstore`, valid for
    /// 10 minutes).
    ///
    /// # Panics
    /// If the system random generator fails (ECDSA signing needs it).
    pub fn oidc_token(&self) -> String {
        self.oidc_token_with(|_| {})
    }

    /// A fresh token whose claims `f` may change first: an `exp` in the
    /// past, another `repository`, a missing `job_workflow_ref`, ...
    ///
    /// ```no_run
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let testbed = wharf_testbed::Testbed::start(dir.path()).unwrap();
    /// let expired = testbed.oidc_token_with(|c| {
    ///     c.insert("exp".into(), serde_json::json!(1_000_000_000));
    /// });
    /// ```
    ///
    /// # Panics
    /// If the system random generator fails.
    pub fn oidc_token_with(&self, f: impl FnOnce(&mut Map<String, Value>)) -> String {
        let mut claims = self.state.oidc.default_claims("sigstore");
        f(&mut claims);
        self.state
            .oidc
            .mint(&claims)
            .expect("signing a token with the testbed's key")
    }

    /// `GITHUB_ACTIONS`, `ACTIONS_ID_TOKEN_REQUEST_URL` and
    /// `ACTIONS_ID_TOKEN_REQUEST_TOKEN`, as a GitHub Actions job sees them
    /// (`permissions: id-token: write`).
    pub fn github_env(&self) -> Vec<(String, String)> {
        vec![
            ("GITHUB_ACTIONS".into(), "true".into()),
            (
                "ACTIONS_ID_TOKEN_REQUEST_URL".into(),
                self.urls.token_request.clone(),
            ),
            (
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN".into(),
                self.state.oidc.request_token.clone(),
            ),
        ]
    }

    /// The next `n` requests to `service`'s write endpoint (Fulcio
    /// `signingCert`, Rekor `POST entries`, TSA `timestamp`, the OIDC token
    /// endpoint) answer `status` without doing anything; later ones work.
    /// Replaces any pending count for that service.
    pub fn fail_next(&self, service: Service, n: usize, status: u16) {
        self.set_fault(service, false, n, status);
    }

    /// The next `n` successful requests to `service`'s write endpoint are
    /// carried out — a Rekor entry is integrated — but answer `status`: a
    /// response lost on the way back, so that the client's retry meets a
    /// 409 from Rekor.
    pub fn fail_next_after_commit(&self, service: Service, n: usize, status: u16) {
        self.set_fault(service, true, n, status);
    }

    fn set_fault(&self, service: Service, after: bool, n: usize, status: u16) {
        let mut faults = self.state.faults.lock().unwrap_or_else(|e| e.into_inner());
        faults.insert((service, after), (n, status));
    }

    /// How many entries Rekor holds.
    pub fn rekor_entries(&self) -> usize {
        self.state.rekor.size()
    }
}

#[cfg(test)]
mod tests {
    /// Tests share a testbed across threads (concurrent signers).
    #[test]
    fn testbed_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<super::Testbed>();
    }
}
