//! A real registry for the tests: Debian's `docker-registry` (distribution
//! 2.8) spawned on a free loopback port with filesystem storage in a temp
//! dir, killed on drop. Its JSON log is kept so tests can count the requests
//! wharf made (`response completed` lines carry method, URI and status).

use std::ffi::OsString;
use std::fs::File;
use std::io::Read as _;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use tempfile::TempDir;

use super::{http, run_tool};

/// What the TLS + htpasswd variant adds.
#[derive(Debug, Clone)]
pub struct Tls {
    /// PEM file of the throwaway CA that signed the server certificate
    /// (what wharf gets through `SSL_CERT_FILE`).
    pub ca_file: PathBuf,
    /// A directory holding `ca.crt`, the shape skopeo's `--*-cert-dir` wants.
    pub cert_dir: PathBuf,
    pub user: String,
    pub password: String,
}

pub struct Registry {
    child: Child,
    dir: TempDir,
    host: String,
    tls: Option<Tls>,
}

/// One request as the registry logged it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    pub method: String,
    pub uri: String,
    pub status: u16,
}

impl LoggedRequest {
    /// The URI without its query string.
    pub fn path(&self) -> &str {
        self.uri.split('?').next().unwrap_or(&self.uri)
    }

    /// `(repository, reference)` when this is a manifest request
    /// (`/v2/<repo>/manifests/<ref>`).
    pub fn manifest(&self) -> Option<(&str, &str)> {
        let rest = self.path().strip_prefix("/v2/")?;
        let (repo, reference) = rest.rsplit_once("/manifests/")?;
        Some((repo, reference))
    }
}

impl Registry {
    /// Plain HTTP registry on `127.0.0.1:<free port>`.
    #[track_caller]
    pub fn start() -> Registry {
        Registry::spawn(None)
    }

    /// TLS (certificate for IP 127.0.0.1 from a throwaway CA made with the
    /// openssl CLI) and `auth: htpasswd` with one user.
    #[track_caller]
    pub fn start_tls_htpasswd(user: &str, password: &str) -> Registry {
        Registry::spawn(Some((user, password)))
    }

    /// go-containerregistry's in-memory registry with the OCI 1.1
    /// referrers API (`tests/peers/ocireg`, built by `scripts/peers.sh`),
    /// on a port it picks itself. Like GHCR's fallback entries it describes
    /// a referrer by its config's media type, not its `artifactType`.
    #[track_caller]
    pub fn start_referrers() -> Registry {
        let dir = tempfile::Builder::new()
            .prefix("wharf-ocireg-")
            .tempdir()
            .expect("temp dir");
        let out = dir.path().join("stdout");
        let log = std::fs::File::create(dir.path().join("registry.log")).expect("log file");
        let child = Command::new("setpriv")
            .args(["--pdeathsig", "KILL", "--"])
            .arg(super::sigstore::peer("ocireg"))
            .arg("-addr=127.0.0.1:0")
            .stdin(Stdio::null())
            .stdout(File::create(&out).expect("stdout file"))
            .stderr(log)
            .spawn()
            .expect("start ocireg (scripts/peers.sh builds it)");
        let start = Instant::now();
        let host = loop {
            let text = std::fs::read_to_string(&out).unwrap_or_default();
            if let Some(host) = text.lines().find_map(|l| l.strip_prefix("listening on ")) {
                break host.trim().to_string();
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "ocireg did not start: {}",
                read_log(&dir.path().join("registry.log"))
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        Registry {
            child,
            dir,
            host,
            tls: None,
        }
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// Where the registry stores blob `sha256:HEX` (to corrupt it in tests).
    pub fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.dir
            .path()
            .join("storage/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    pub fn tls(&self) -> Option<&Tls> {
        self.tls.as_ref()
    }

    pub fn ca_file(&self) -> Option<&Path> {
        self.tls.as_ref().map(|t| t.ca_file.as_path())
    }

    /// The registry's own log (JSON lines on its stderr).
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("registry.log")
    }

    /// Writes `DIR/config.json` giving this registry's credentials the way
    /// docker does (`auths.HOST.auth` = base64 of `user:password`), for
    /// `DOCKER_CONFIG=DIR`. `password` may differ from the real one.
    pub fn write_docker_config(&self, dir: &Path, user: &str, password: &str) {
        std::fs::create_dir_all(dir).expect("docker config dir");
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        let config = serde_json::json!({ "auths": { self.host.as_str(): { "auth": auth } } });
        std::fs::write(dir.join("config.json"), config.to_string()).expect("write config.json");
    }

    #[track_caller]
    fn spawn(auth: Option<(&str, &str)>) -> Registry {
        let dir = tempfile::Builder::new()
            .prefix("wharf-registry-")
            .tempdir()
            .expect("temp dir");
        let tls = auth.map(|(user, password)| make_tls(dir.path(), user, password));
        let mut log = String::new();
        // A free port can be taken between our probe and the registry's
        // bind: try another one then, and only then.
        for _ in 0..5 {
            let host = format!("127.0.0.1:{}", super::free_port());
            match try_spawn(dir.path(), &host, tls.is_some()) {
                Ok(child) => {
                    return Registry {
                        child,
                        dir,
                        host,
                        tls,
                    }
                }
                Err(failure) if failure.contains("address already in use") => log = failure,
                Err(failure) => panic!("docker-registry did not start: {failure}"),
            }
        }
        panic!("docker-registry did not start: {log}");
    }

    fn raw_log(&self) -> String {
        read_log(&self.log_path())
    }

    /// Every request the registry has logged as completed, in order. Waits
    /// for the log to stop growing first: the registry writes its line just
    /// after answering, so the last line can trail wharf's exit.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        let mut last = self.raw_log().len();
        let start = Instant::now();
        let mut quiet_since = Instant::now();
        while start.elapsed() < Duration::from_secs(3) {
            std::thread::sleep(Duration::from_millis(50));
            let now = self.raw_log().len();
            if now != last {
                last = now;
                quiet_since = Instant::now();
            } else if quiet_since.elapsed() >= Duration::from_millis(250) {
                break;
            }
        }
        parse_log(&self.raw_log())
    }

    /// Manifest requests (any method) for exactly `repo` and `reference`
    /// (a tag or a digest).
    pub fn manifest_requests(&self, repo: &str, reference: &str) -> Vec<LoggedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.manifest() == Some((repo, reference)))
            .collect()
    }

    /// Requests whose method is `method` (any when `None`) and whose path
    /// satisfies `matches`.
    pub fn count(&self, method: Option<&str>, matches: impl Fn(&str) -> bool) -> usize {
        self.requests()
            .iter()
            .filter(|r| method.is_none_or(|m| r.method == m) && matches(r.path()))
            .count()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `response completed` lines of a registry log.
pub fn parse_log(log: &str) -> Vec<LoggedRequest> {
    log.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|v| {
            v["msg"]
                .as_str()
                .is_some_and(|m| m.starts_with("response completed"))
        })
        .filter_map(|v| {
            Some(LoggedRequest {
                method: v["http.request.method"].as_str()?.to_string(),
                uri: v["http.request.uri"].as_str()?.to_string(),
                status: v["http.response.status"]
                    .as_u64()
                    .and_then(|s| u16::try_from(s).ok())?,
            })
        })
        .collect()
}

fn config_yaml(dir: &Path, host: &str, tls: bool) -> String {
    let d = dir.display();
    let mut config = format!(
        "version: 0.1\n\
         log:\n  level: info\n  formatter: json\n\
         storage:\n  filesystem:\n    rootdirectory: {d}/storage\n  delete:\n    enabled: true\n\
         \x20 maintenance:\n    uploadpurging:\n      enabled: false\n\
         http:\n  addr: {host}\n  secret: wharf-integration-tests\n"
    );
    if tls {
        config.push_str(&format!(
            "  tls:\n    certificate: {d}/server.crt\n    key: {d}/server.key\n\
             auth:\n  htpasswd:\n    realm: wharf-it\n    path: {d}/htpasswd\n"
        ));
    }
    config
}

/// Starts `docker-registry serve` with a config for `host` and waits until it
/// listens and (plain HTTP) `GET /v2/` answers 200. On failure the process is
/// gone and the error holds its log.
fn try_spawn(dir: &Path, host: &str, tls: bool) -> Result<Child, String> {
    let config = dir.join("config.yml");
    std::fs::write(&config, config_yaml(dir, host, tls)).expect("write registry config");
    let log = dir.join("registry.log");
    let mut child = Command::new("docker-registry")
        .arg("serve")
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(File::create(dir.join("access.log")).expect("access log"))
        .stderr(File::create(&log).expect("registry log"))
        .spawn()
        .map_err(|e| format!("cannot run docker-registry: {e}"))?;
    let start = Instant::now();
    let within = Duration::from_secs(20);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "docker-registry exited with {status}:\n{}",
                read_log(&log)
            ));
        }
        if start.elapsed() > within {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("not ready after {within:?}:\n{}", read_log(&log)));
        }
        if read_log(&log).contains("listening on") {
            let ready = if tls {
                // The harness has no TLS client; the listener is up once it
                // accepts connections.
                TcpStream::connect(host).is_ok()
            } else {
                matches!(http::request(host, "GET", "/v2/", &[], b""), Ok(r) if r.status == 200)
            };
            if ready {
                return Ok(child);
            }
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn read_log(path: &Path) -> String {
    let mut s = String::new();
    if let Ok(mut f) = File::open(path) {
        let _ = f.read_to_string(&mut s);
    }
    s
}

/// A throwaway CA, a server certificate for IP 127.0.0.1 signed by it, and an
/// htpasswd file (bcrypt) with one user, all under `dir`.
fn make_tls(dir: &Path, user: &str, password: &str) -> Tls {
    let arg = |s: &str| OsString::from(s);
    let file = |name: &str| dir.join(name).into_os_string();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ]
    .map(arg);
    let mut ca = vec![arg("req"), arg("-x509")];
    ca.extend(ec.clone());
    ca.extend([
        arg("-keyout"),
        file("ca.key"),
        arg("-out"),
        file("ca.crt"),
        arg("-days"),
        arg("2"),
        arg("-subj"),
        arg("/CN=wharf integration tests CA"),
        arg("-addext"),
        arg("basicConstraints=critical,CA:TRUE"),
        arg("-addext"),
        arg("keyUsage=critical,keyCertSign,cRLSign"),
    ]);
    run_tool("openssl", ca);
    let mut req = vec![arg("req")];
    req.extend(ec);
    req.extend([
        arg("-keyout"),
        file("server.key"),
        arg("-out"),
        file("server.csr"),
        arg("-subj"),
        arg("/CN=127.0.0.1"),
    ]);
    run_tool("openssl", req);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n\
         keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .expect("write extensions");
    run_tool(
        "openssl",
        [
            arg("x509"),
            arg("-req"),
            arg("-in"),
            file("server.csr"),
            arg("-CA"),
            file("ca.crt"),
            arg("-CAkey"),
            file("ca.key"),
            arg("-CAcreateserial"),
            arg("-out"),
            file("server.crt"),
            arg("-days"),
            arg("2"),
            arg("-extfile"),
            file("server.ext"),
        ],
    );
    let line = run_tool("htpasswd", ["-Bbn", user, password]);
    std::fs::write(dir.join("htpasswd"), line.trim_end().to_string() + "\n").expect("htpasswd");
    let cert_dir = dir.join("certs.d");
    std::fs::create_dir_all(&cert_dir).expect("cert dir");
    std::fs::copy(dir.join("ca.crt"), cert_dir.join("ca.crt")).expect("copy ca.crt");
    Tls {
        ca_file: dir.join("ca.crt"),
        cert_dir,
        user: user.to_string(),
        password: password.to_string(),
    }
}
