//! The real Sigstore on loopback, for the interop tests: Fulcio (its
//! ephemeral CA, its own identity configuration with the testbed's issuer
//! mapped as a GitHub Actions CI provider), TesseraCT as the CT log that
//! Fulcio's certificates carry SCTs from, rekor-tiles as Rekor v2 and
//! timestamp-authority as the TSA, each the released Go module built by
//! `scripts/peers.sh`. The testbed keeps what they cannot give: the OIDC
//! issuer (tokens in GitHub Actions' shape) and a Rekor v1.
//!
//! One stack serves the whole test process (the timestamp server's metrics
//! port is fixed at 2112, so there can be only one): started on first use by
//! a thread that lives as long as the process, with every service spawned
//! under `setpriv --pdeathsig KILL`, so they die with it.
//!
//! It writes the trusted root (Fulcio's chain, the CT log's and both Rekors'
//! keys, the TSA's chain), the signing configs (Rekor v2 only; and one that
//! also names the testbed's Rekor v1), the `ClientTrustConfig`s wharf reads,
//! and publishes the trusted root and the v2 signing config through a TUF
//! repository (`scripts/tuf-repo.py`, python-tuf) served on loopback, laid
//! out as Sigstore's TUF mirrors are.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};
use wharf_testbed::Testbed;

use super::{free_port, http};

/// The Go peers `scripts/peers.sh` builds, by binary name.
pub const PEERS: &[&str] = &[
    "cosign",
    "fulcio",
    "tesseract",
    "rekor-posix",
    "timestamp-server",
    "crane",
    "ocireg",
    "kyverno",
    "policy-tester",
];

/// Where the peers are: `$WHARF_PEERS/bin`, default
/// `~/.cache/wharf-peers/bin`.
pub fn peers_dir() -> PathBuf {
    match std::env::var_os("WHARF_PEERS") {
        Some(dir) => PathBuf::from(dir).join("bin"),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
            .join(".cache/wharf-peers/bin"),
    }
}

/// A peer binary.
pub fn peer(name: &str) -> PathBuf {
    peers_dir().join(name)
}

/// Whether every peer is built. Otherwise the test skips with the reason on
/// stderr — except in CI, where a missing peer is a failure.
pub fn peers_ready(test: &str) -> bool {
    these_peers_ready(test, PEERS)
}

/// [`peers_ready`] for the named peers only (Syft and osv-scanner judge
/// inventories and findings; they are no part of the Sigstore stack).
pub fn these_peers_ready(test: &str, peers: &[&str]) -> bool {
    let dir = peers_dir();
    let missing: Vec<&str> = peers
        .iter()
        .copied()
        .filter(|p| !dir.join(p).is_file())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let why = format!(
        "{} not built in {} (run scripts/peers.sh; it needs Go)",
        missing.join(", "),
        dir.display()
    );
    if std::env::var_os("CI").is_some() {
        panic!("{test}: CI must run every interop test, but {why}");
    }
    eprintln!("skipping {test}: {why}");
    false
}

/// Returns early (the test passes, saying why) without the Go peers: all of
/// them, or those named (`require_peers!("syft")`).
macro_rules! require_peers {
    () => {
        let thread = std::thread::current();
        if !$crate::common::sigstore::peers_ready(thread.name().unwrap_or(module_path!())) {
            return;
        }
    };
    ($($peer:expr),+ $(,)?) => {
        let thread = std::thread::current();
        if !$crate::common::sigstore::these_peers_ready(
            thread.name().unwrap_or(module_path!()),
            &[$($peer),+],
        ) {
            return;
        }
    };
}

/// The running stack. All URLs are `http://127.0.0.1:<port>`.
pub struct Stack {
    pub dir: PathBuf,
    pub testbed: Testbed,
    /// One issuer per other CI provider Fulcio maps (GitLab, Buildkite,
    /// CircleCI, Codefresh), each a testbed minting that CI's claims.
    pub ci: Vec<(Ci, Testbed)>,
    pub fulcio: String,
    pub ct: String,
    pub rekor: String,
    /// The TSA's full timestamp URL (`…/api/v1/timestamp`).
    pub tsa: String,
    /// Fulcio, the CT log, both Rekors and the TSA.
    pub trusted_root: PathBuf,
    /// Fulcio, Rekor v2 and the TSA.
    pub signing_config: PathBuf,
    /// Also the testbed's Rekor v1 (listed after v2).
    pub signing_config_v1: PathBuf,
    /// No log at all (cosign's way of signing without one).
    pub signing_config_no_log: PathBuf,
    /// `ClientTrustConfig`s: the trusted root with each signing config.
    pub trust_config: PathBuf,
    pub trust_config_v1: PathBuf,
    pub trust_config_no_log: PathBuf,
    /// The TUF repository publishing `trusted_root.json` and
    /// `signing_config.v0.2.json`: its URL and its first root.
    pub tuf_url: String,
    pub tuf_root: PathBuf,
    /// Where `scripts/tuf-repo.py` keeps the repository's keys and files.
    pub tuf_keys: PathBuf,
    pub tuf_out: PathBuf,
}

/// A CI provider of Fulcio's identity config (`ci-issuer-metadata`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ci {
    GitLab,
    Buildkite,
    Circle,
    Codefresh,
}

impl Ci {
    pub const ALL: [Ci; 4] = [Ci::GitLab, Ci::Buildkite, Ci::Circle, Ci::Codefresh];

    /// Fulcio's name for the provider.
    pub fn provider(self) -> &'static str {
        match self {
            Ci::GitLab => "gitlab-pipeline",
            Ci::Buildkite => "buildkite-job",
            Ci::Circle => "circleci-job",
            Ci::Codefresh => "codefresh-workflow",
        }
    }

    /// The claims that CI puts in a job's token (beside `iss`, `aud` and
    /// the times), every one Fulcio's templates for it read, and the
    /// certificate identity Fulcio makes of them.
    pub fn claims(self) -> (Value, &'static str) {
        const SHA: &str = "3f786850e387550fdab836ed7e6dc881de23001b";
        match self {
            Ci::GitLab => (
                json!({
                    "sub": "project_path:wharf-test/app:ref_type:branch:ref:main",
                    "ci_config_ref_uri": "gitlab.com/wharf-test/app//.gitlab-ci.yml@refs/heads/main",
                    "ci_config_sha": SHA,
                    "runner_environment": "gitlab-hosted",
                    "project_path": "wharf-test/app",
                    "sha": SHA,
                    "ref_type": "branch",
                    "ref": "main",
                    "project_id": "4242",
                    "namespace_path": "wharf-test",
                    "namespace_id": "42",
                    "pipeline_source": "push",
                    "pipeline_id": "777",
                    "job_id": "9001",
                    "project_visibility": "public",
                }),
                "https://gitlab.com/wharf-test/app//.gitlab-ci.yml@refs/heads/main",
            ),
            Ci::Buildkite => (
                json!({
                    "sub": format!("organization:wharf-test:pipeline:app:ref:refs/heads/main:commit:{SHA}:step:sign"),
                    "organization_slug": "wharf-test",
                    "pipeline_slug": "app",
                    "build_number": 12,
                    "job_id": "0190-job",
                    "runner_environment": "buildkite-hosted",
                    "build_commit": SHA,
                    "build_source": "webhook",
                }),
                "https://buildkite.com/wharf-test/app",
            ),
            Ci::Circle => (
                json!({
                    "sub": "org/a1/project/p1/user/u1",
                    "oidc.circleci.com/pipeline-id": "pl-1",
                    "oidc.circleci.com/project-id": "p1",
                    "oidc.circleci.com/pipeline-definition-id": "pd-1",
                    "oidc.circleci.com/workflow-id": "wf-1",
                    "oidc.circleci.com/job-id": "job-1",
                    "oidc.circleci.com/vcs-ref": "refs/heads/main",
                    "oidc.circleci.com/vcs-origin": "github.com/wharf-test/app",
                    "oidc.circleci.com/ssh-rerun": "false",
                }),
                "https://circleci.com/api/v2/projects/p1/pipeline-definitions/pd-1",
            ),
            Ci::Codefresh => (
                json!({
                    "sub": "account:acc-1:pipeline:pipe-1",
                    "workflow_id": "wf-1",
                    "pipeline_id": "pipe-1",
                    "account_name": "wharf-test",
                    "pipeline_name": "app/release",
                    "account_id": "acc-1",
                }),
                "https://g.codefresh.io/wharf-test/app/release:acc-1/pipe-1",
            ),
        }
    }
}

impl Stack {
    /// A job token of `ci`, from that CI's issuer: `(token, issuer,
    /// the certificate identity Fulcio gives it)`.
    pub fn ci_token(&self, ci: Ci) -> (String, String, String) {
        let (_, testbed) = self
            .ci
            .iter()
            .find(|(c, _)| *c == ci)
            .expect("an issuer per CI");
        let (claims, identity) = ci.claims();
        let token = testbed.oidc_token_with(|c| {
            c.retain(|k, _| matches!(k.as_str(), "iss" | "aud" | "iat" | "nbf" | "exp" | "jti"));
            if let Value::Object(extra) = claims {
                c.extend(extra);
            }
        });
        (token, testbed.issuer().to_string(), identity.to_string())
    }

    /// The identity (certificate SAN) the testbed's default token gets.
    pub fn identity(&self) -> &str {
        self.testbed.identity()
    }

    /// The token issuer, the certificate's OIDC issuer.
    pub fn issuer(&self) -> &str {
        self.testbed.issuer()
    }

    /// The GitHub Actions variables a job that may mint tokens has.
    pub fn github_env(&self) -> Vec<(String, String)> {
        self.testbed.github_env()
    }

    /// A file holding a fresh token, with no trailing newline (cosign uses
    /// the file's bytes as they are).
    pub fn token_file(&self) -> PathBuf {
        let path = self.dir.join(format!(
            "token-{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default()
        ));
        fs::write(&path, self.testbed.oidc_token()).expect("write the token file");
        path
    }
}

/// The stack, started on first use; a failure to start fails every test
/// that asks for it, with the services' logs.
pub fn stack() -> &'static Stack {
    static STACK: OnceLock<Result<Stack, String>> = OnceLock::new();
    let started = STACK.get_or_init(|| {
        let (tx, rx) = mpsc::channel();
        // The services' parent-death signal follows this thread, so it
        // lives as long as the process.
        std::thread::Builder::new()
            .name("sigstore-stack".into())
            .spawn(move || {
                let result = start();
                let _ = tx.send(result);
                loop {
                    std::thread::park();
                }
            })
            .expect("spawn the stack's thread");
        rx.recv()
            .unwrap_or_else(|_| Err("the stack's thread died".into()))
    });
    match started {
        Ok(stack) => stack,
        Err(e) => panic!("the real Sigstore stack did not start: {e}"),
    }
}

/// A spawned service: killed with the process (`--pdeathsig`), its output
/// in `<dir>/<name>.log`.
struct Service {
    name: &'static str,
    log: PathBuf,
    child: Child,
}

impl Service {
    fn spawn(
        dir: &Path,
        name: &'static str,
        program: &Path,
        args: &[String],
    ) -> Result<Service, String> {
        let log = dir.join(format!("{name}.log"));
        let out = fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new("setpriv")
            .args(["--pdeathsig", "KILL", "--"])
            .arg(program)
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start {name} ({}): {e}", program.display()))?;
        Ok(Service { name, log, child })
    }

    /// Waits until `GET http://host/path` answers 200; the body.
    fn ready(&mut self, host: &str, path: &str) -> Result<Vec<u8>, String> {
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("{} exited ({status}):\n{}", self.name, self.tail()));
            }
            if let Ok(resp) = http::request(host, "GET", path, &[], b"") {
                if resp.status == 200 {
                    return Ok(resp.body);
                }
            }
            if start.elapsed() > Duration::from_secs(60) {
                return Err(format!(
                    "{} did not answer GET {path} on {host} within 60 s:\n{}",
                    self.name,
                    self.tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn tail(&self) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

fn run(program: &str, args: &[&str]) -> Result<Vec<u8>, String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(out.stdout)
}

/// A SEC1 P-256 private key (what TesseraCT and rekor-tiles read) and its
/// public key as DER SubjectPublicKeyInfo.
fn p256_key(path: &Path) -> Result<Vec<u8>, String> {
    let p = path.to_str().ok_or("non-UTF-8 path")?;
    run(
        "openssl",
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            p,
        ],
    )?;
    run("openssl", &["ec", "-in", p, "-pubout", "-outform", "DER"])
}

/// The DER bodies of the certificates in a PEM text, in order.
pub fn pem_certificates(pem: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut body = String::new();
    let mut inside = false;
    for line in pem.lines() {
        let line = line.trim();
        if line == "-----BEGIN CERTIFICATE-----" {
            inside = true;
            body.clear();
        } else if line == "-----END CERTIFICATE-----" {
            inside = false;
            if let Ok(der) = base64::engine::general_purpose::STANDARD.decode(&body) {
                out.push(der);
            }
        } else if inside {
            body.push_str(line);
        }
    }
    out
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).to_vec()
}

fn chain(ders: &[Vec<u8>]) -> Value {
    json!({"certificates": ders.iter().map(|d| json!({"rawBytes": b64(d)})).collect::<Vec<_>>()})
}

fn log_key(url: &str, spki: &[u8], start: &str) -> Value {
    json!({
        "baseUrl": url,
        "hashAlgorithm": "SHA2_256",
        "publicKey": {
            "rawBytes": b64(spki),
            "keyDetails": "PKIX_ECDSA_P256_SHA_256",
            "validFor": {"start": start},
        },
        // For an ECDSA key both CT and Rekor v2 name the log by the
        // SHA-256 of the key's DER.
        "logId": {"keyId": b64(&sha256(spki))},
    })
}

fn endpoint(url: &str, version: u32, start: &str) -> Value {
    json!({"url": url, "majorApiVersion": version, "validFor": {"start": start}, "operator": "wharf-interop"})
}

fn write_json(path: &Path, value: &Value) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Fulcio's own identity configuration with `oidc-issuers` replaced by the
/// test issuers, each mapped as the CI provider whose tokens it mints:
/// certificates then carry Fulcio's real extension mapping of the claims.
fn fulcio_config(issuers: &[(&str, &str)]) -> Result<String, String> {
    let original = peer("fulcio-identity-config.yaml");
    let text = fs::read_to_string(&original)
        .map_err(|e| format!("{}: {e} (scripts/peers.sh copies it)", original.display()))?;
    let start = text
        .find("\noidc-issuers:")
        .ok_or("no oidc-issuers in Fulcio's config")?;
    let metadata = text
        .find("\nci-issuer-metadata:")
        .ok_or("no ci-issuer-metadata in Fulcio's config")?;
    let mut config = format!("{}\noidc-issuers:\n", &text[..start]);
    for (issuer, provider) in issuers {
        config.push_str(&format!(
            "  {issuer}:\n    issuer-url: {issuer}\n    client-id: sigstore\n    type: ci-provider\n    ci-provider: {provider}\n"
        ));
    }
    config.push_str(&text[metadata + 1..]);
    Ok(config)
}

fn start() -> Result<Stack, String> {
    let dir = tempfile::Builder::new()
        .prefix("wharf-sigstore-")
        .tempdir()
        .map_err(|e| e.to_string())?
        .keep();
    let testbed = Testbed::start(&dir.join("testbed")).map_err(|e| e.to_string())?;
    let mut ci = Vec::new();
    for c in Ci::ALL {
        let bed = Testbed::start(&dir.join(c.provider())).map_err(|e| e.to_string())?;
        ci.push((c, bed));
    }
    // The validity start of every key: a minute back, so clock skew between
    // the services never makes a fresh signature predate it.
    let start = rfc3339_ago(60);

    // Fulcio: HTTP and gRPC on ports of their own (its one-port "duplex"
    // mode registers its metrics twice and panics in v1.8.8), a legacy
    // gRPC socket named after the port, metrics off 2112.
    let fulcio_port = free_port();
    let ct_port = free_port();
    let fulcio_host = format!("127.0.0.1:{fulcio_port}");
    let ct_host = format!("127.0.0.1:{ct_port}");
    let config = dir.join("fulcio-config.yaml");
    let mut issuers = vec![(testbed.issuer(), "github-workflow")];
    issuers.extend(ci.iter().map(|(c, bed)| (bed.issuer(), c.provider())));
    fs::write(&config, fulcio_config(&issuers)?).map_err(|e| e.to_string())?;
    let mut fulcio = Service::spawn(
        &dir,
        "fulcio",
        &peer("fulcio"),
        &[
            "serve".into(),
            "--ca=ephemeralca".into(),
            "--host=127.0.0.1".into(),
            format!("--port={fulcio_port}"),
            "--grpc-host=127.0.0.1".into(),
            format!("--grpc-port={}", free_port()),
            format!("--legacy-unix-domain-socket=@wharf-fulcio-{fulcio_port}"),
            format!("--metrics-port={}", free_port()),
            format!("--config-path={}", config.display()),
            format!("--ct-log-url=http://{ct_host}"),
        ],
    )?;
    let bundle = fulcio.ready(&fulcio_host, "/api/v2/trustBundle")?;
    let bundle: Value = serde_json::from_slice(&bundle).map_err(|e| e.to_string())?;
    let fulcio_pems: Vec<String> = bundle["chains"][0]["certificates"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let fulcio_chain: Vec<Vec<u8>> = fulcio_pems
        .iter()
        .flat_map(|p| pem_certificates(p))
        .collect();
    if fulcio_chain.is_empty() {
        return Err(format!(
            "Fulcio's trust bundle has no certificate: {bundle}"
        ));
    }
    // TesseraCT accepts chains to Fulcio's root (new on every start, so
    // the CT log starts after Fulcio).
    let roots = dir.join("fulcio-root.pem");
    fs::write(&roots, fulcio_pems.last().cloned().unwrap_or_default())
        .map_err(|e| e.to_string())?;
    let ct_spki = p256_key(&dir.join("ct.key"))?;
    let mut ct = Service::spawn(
        &dir,
        "tesseract",
        &peer("tesseract"),
        &[
            "--private_key=ct.key".into(),
            // An origin with no ':' (it is parsed as a URL).
            "--origin=ct.wharf.test".into(),
            "--storage_dir=ct".into(),
            format!("--roots_pem_file={}", roots.display()),
            format!("--http_endpoint={ct_host}"),
            "--checkpoint_interval=500ms".into(),
        ],
    )?;
    ct.ready(&ct_host, "/ct/v1/get-roots")?;

    // Rekor v2: the checkpoint's origin is --hostname, which verifiers take
    // from the trusted root's baseUrl host (without the port).
    let rekor_port = free_port();
    let rekor_host = format!("127.0.0.1:{rekor_port}");
    let rekor_spki = p256_key(&dir.join("rekor.key"))?;
    let mut rekor = Service::spawn(
        &dir,
        "rekor-tiles",
        &peer("rekor-posix"),
        &[
            "serve".into(),
            "--storage-dir=rekor".into(),
            "--hostname=127.0.0.1".into(),
            "--http-address=127.0.0.1".into(),
            format!("--http-port={rekor_port}"),
            "--grpc-address=127.0.0.1".into(),
            format!("--grpc-port={}", free_port()),
            format!("--http-metrics-port={}", free_port()),
            "--signer-filepath=rekor.key".into(),
            "--checkpoint-interval=1s".into(),
        ],
    )?;
    rekor.ready(&rekor_host, "/healthz")?;

    // The TSA (its metrics port is 2112, always: one per machine).
    let tsa_port = free_port();
    let tsa_host = format!("127.0.0.1:{tsa_port}");
    let mut tsa = Service::spawn(
        &dir,
        "timestamp-server",
        &peer("timestamp-server"),
        &[
            "serve".into(),
            "--timestamp-signer=memory".into(),
            "--host=127.0.0.1".into(),
            format!("--port={tsa_port}"),
            "--disable-ntp-monitoring".into(),
        ],
    )?;
    let tsa_chain = tsa.ready(&tsa_host, "/api/v1/timestamp/certchain")?;
    let tsa_chain = pem_certificates(&String::from_utf8_lossy(&tsa_chain));
    if tsa_chain.is_empty() {
        return Err("the TSA's certificate chain is empty".into());
    }

    let fulcio_url = format!("http://{fulcio_host}");
    let ct_url = format!("http://{ct_host}");
    let rekor_url = format!("http://{rekor_host}");
    let tsa_url = format!("http://{tsa_host}/api/v1/timestamp");

    // The testbed's Rekor v1, as its own trusted root lists it.
    let testbed_root: Value =
        serde_json::from_slice(&fs::read(testbed.trusted_root()).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    let rekor_v1 = testbed_root["tlogs"][0].clone();

    let trusted_root = json!({
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": [log_key(&rekor_url, &rekor_spki, &start), rekor_v1],
        "certificateAuthorities": [{
            "subject": {"organization": "sigstore.dev", "commonName": "sigstore"},
            "uri": fulcio_url,
            "certChain": chain(&fulcio_chain),
            "validFor": {"start": start},
        }],
        "ctlogs": [log_key(&ct_url, &ct_spki, &start)],
        "timestampAuthorities": [{
            "subject": {"organization": "local", "commonName": "Test TSA Root"},
            "uri": tsa_url,
            "certChain": chain(&tsa_chain),
            "validFor": {"start": start},
        }],
    });
    let signing = |rekors: Vec<Value>| {
        json!({
            "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
            "caUrls": [endpoint(&fulcio_url, 1, &start)],
            "oidcUrls": [endpoint(testbed.issuer(), 1, &start)],
            "rekorTlogUrls": rekors,
            "tsaUrls": [endpoint(&tsa_url, 1, &start)],
            "rekorTlogConfig": {"selector": "ANY"},
            "tsaConfig": {"selector": "ANY"},
        })
    };
    let signing_v2 = signing(vec![endpoint(&rekor_url, 2, &start)]);
    let signing_v1 = signing(vec![
        endpoint(&rekor_url, 2, &start),
        endpoint(&testbed.urls().rekor, 1, &start),
    ]);
    let signing_no_log = signing(vec![]);
    let trust = |signing: &Value| {
        json!({
            "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
            "trustedRoot": trusted_root,
            "signingConfig": signing,
        })
    };
    let paths = [
        "trusted_root.json",
        "signing_config.v0.2.json",
        "signing_config_v1.json",
        "trust_config.json",
        "trust_config_v1.json",
        "signing_config_no_log.json",
        "trust_config_no_log.json",
    ]
    .map(|name| dir.join(name));
    write_json(&paths[0], &trusted_root)?;
    write_json(&paths[1], &signing_v2)?;
    write_json(&paths[2], &signing_v1)?;
    write_json(&paths[3], &trust(&signing_v2))?;
    write_json(&paths[4], &trust(&signing_v1))?;
    write_json(&paths[5], &signing_no_log)?;
    write_json(&paths[6], &trust(&signing_no_log))?;

    // The TUF repository, served by a plain static file server.
    let tuf_keys = dir.join("tuf-keys");
    let tuf_out = dir.join("tuf");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/tuf-repo.py");
    let tuf_args: Vec<String> = vec![
        script.display().to_string(),
        "init".into(),
        format!("--keys={}", tuf_keys.display()),
        format!("--out={}", tuf_out.display()),
        format!("--target=trusted_root.json={}", paths[0].display()),
        format!("--target=signing_config.v0.2.json={}", paths[1].display()),
    ];
    let tuf_args: Vec<&str> = tuf_args.iter().map(String::as_str).collect();
    run("python3", &tuf_args)?;
    let tuf_port = free_port();
    let tuf_host = format!("127.0.0.1:{tuf_port}");
    let mut tuf = Service::spawn(
        &dir,
        "tuf-mirror",
        Path::new("python3"),
        &[
            "-m".into(),
            "http.server".into(),
            "--bind=127.0.0.1".into(),
            format!("--directory={}", tuf_out.display()),
            tuf_port.to_string(),
        ],
    )?;
    tuf.ready(&tuf_host, "/1.root.json")?;

    // The services live on in this thread's children; their handles go
    // with the stack so nothing waits on them.
    std::mem::forget((fulcio, ct, rekor, tsa, tuf));
    Ok(Stack {
        tuf_root: tuf_out.join("1.root.json"),
        tuf_url: format!("http://{tuf_host}"),
        tuf_keys,
        tuf_out,
        dir,
        testbed,
        ci,
        fulcio: fulcio_url,
        ct: ct_url,
        rekor: rekor_url,
        tsa: tsa_url,
        trusted_root: paths[0].clone(),
        signing_config: paths[1].clone(),
        signing_config_v1: paths[2].clone(),
        trust_config: paths[3].clone(),
        trust_config_v1: paths[4].clone(),
        signing_config_no_log: paths[5].clone(),
        trust_config_no_log: paths[6].clone(),
    })
}

/// RFC 3339 UTC, `secs` seconds ago.
fn rfc3339_ago(secs: u64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    wharf_testbed::rfc3339(i64::try_from(now.saturating_sub(secs)).unwrap_or(0))
}

/// A TUF repository of a test's own (`scripts/tuf-repo.py`), publishing
/// the stack's trusted root and signing config until the test changes
/// them, served by a static file server on loopback (stopped on drop).
pub struct Mirror {
    pub dir: tempfile::TempDir,
    pub url: String,
    pub keys: PathBuf,
    pub out: PathBuf,
    server: Option<Service>,
    port: u16,
}

impl Mirror {
    pub fn start(stack: &Stack) -> Mirror {
        let dir = tempfile::Builder::new()
            .prefix("wharf-tuf-")
            .tempdir()
            .expect("temp dir");
        let keys = dir.path().join("keys");
        let out = dir.path().join("repo");
        let mut mirror = Mirror {
            url: String::new(),
            keys,
            out,
            server: None,
            port: free_port(),
            dir,
        };
        mirror.tool(&[
            "init",
            &format!(
                "--target=trusted_root.json={}",
                stack.trusted_root.display()
            ),
            &format!(
                "--target=signing_config.v0.2.json={}",
                stack.signing_config.display()
            ),
        ]);
        mirror.url = format!("http://127.0.0.1:{}", mirror.port);
        mirror.serve();
        mirror
    }

    /// The first root, what clients are given out of band.
    pub fn root(&self) -> PathBuf {
        self.out.join("1.root.json")
    }

    /// `scripts/tuf-repo.py COMMAND --keys … --out … ARGS`.
    pub fn tool(&self, args: &[&str]) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/tuf-repo.py");
        let command = args[0];
        let mut full = vec![script.display().to_string(), command.to_string()];
        if !matches!(command, "save-state" | "restore-state" | "tamper") {
            full.push(format!("--keys={}", self.keys.display()));
        }
        full.push(format!("--out={}", self.out.display()));
        full.extend(args[1..].iter().map(|a| a.to_string()));
        let full: Vec<&str> = full.iter().map(String::as_str).collect();
        if let Err(e) = run("python3", &full) {
            panic!("tuf-repo.py {command}: {e}");
        }
    }

    /// Serves the repository (again, on the same port).
    pub fn serve(&mut self) {
        let mut server = Service::spawn(
            self.dir.path(),
            "tuf-mirror",
            Path::new("python3"),
            &[
                "-m".into(),
                "http.server".into(),
                "--bind=127.0.0.1".into(),
                format!("--directory={}", self.out.display()),
                self.port.to_string(),
            ],
        )
        .expect("start the mirror");
        server
            .ready(&format!("127.0.0.1:{}", self.port), "/1.root.json")
            .expect("the mirror serves");
        self.server = Some(server);
    }

    /// Stops serving (a mirror that is down).
    pub fn stop(&mut self) {
        if let Some(mut server) = self.server.take() {
            let _ = server.child.kill();
            let _ = server.child.wait();
        }
    }
}

impl Drop for Mirror {
    fn drop(&mut self) {
        self.stop();
    }
}
