//! A fault-injecting HTTP proxy in front of the test registry.
//!
//! Request-level: each request head is parsed, then either a scripted fault
//! is applied or the request is forwarded to the registry over a fresh
//! connection with `Connection: close`, and the response is returned with
//! `Connection: close`. Faults apply, in order, to the first requests whose
//! method and path satisfy the script's predicate; everything is recorded.
//! Threads are bounded, and everything stops on drop (stalled connections
//! are released then).

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::http::{header_lines, split_head};

/// What to do to a matching request instead of forwarding it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer `503 Service Unavailable`.
    Unavailable,
    /// Answer `429 Too Many Requests` with `Retry-After: 1`.
    TooManyRequests,
    /// Close the connection without answering.
    Reset,
    /// Accept and never answer (until the proxy is dropped).
    Stall,
}

/// One request the proxy saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    /// The query string, without `?`.
    pub query: String,
    pub at: Instant,
    /// Whether the script's predicate matched it.
    pub matched: bool,
    /// The fault applied, if any (else it was forwarded).
    pub fault: Option<Fault>,
}

type Predicate = Box<dyn Fn(&str, &str) -> bool + Send + Sync>;

/// A token service in front of the registry, shaped like Docker Hub's: `/v2/`
/// and everything under it answer 401 with a Bearer challenge whose realm is
/// the proxy's `/token`; `/token` hands out `token` for HTTP Basic `user` and
/// `password`; requests with `Authorization: Bearer <token>` are forwarded.
/// No real token server runs here (Debian's registry needs one it cannot
/// bundle), so this stand-in records what wharf asks of it.
#[derive(Debug, Clone)]
pub struct TokenAuth {
    pub user: String,
    pub password: String,
    pub token: String,
}

/// How the proxy behaves besides its faults.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub token_auth: Option<TokenAuth>,
    /// Drop `Docker-Content-Digest` from every response, as some registries
    /// and mirrors do: the client must GET the manifest and hash it.
    pub strip_digest_header: bool,
    /// Send every forwarded response this many bytes at a time, pausing
    /// this long between writes: a slow but steady link.
    pub throttle: Option<(usize, std::time::Duration)>,
}

struct Shared {
    upstream: String,
    /// `127.0.0.1:PORT` of the proxy itself, for the token realm.
    host: String,
    options: Options,
    predicate: Predicate,
    faults: Mutex<VecDeque<Fault>>,
    seen: Mutex<Vec<Seen>>,
    stop: AtomicBool,
    /// Stalled handlers wait on this until `stop`.
    released: (Mutex<bool>, Condvar),
    active: AtomicUsize,
}

pub struct Proxy {
    host: String,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

/// At most this many connections are handled at once; more wait in the
/// listen backlog.
const MAX_CONNECTIONS: usize = 64;

impl Proxy {
    /// Listens on a free loopback port, forwarding to `upstream` (host:port).
    /// `faults` apply in order to the first requests for which
    /// `predicate(method, path)` holds.
    pub fn start(
        upstream: &str,
        predicate: impl Fn(&str, &str) -> bool + Send + Sync + 'static,
        faults: impl IntoIterator<Item = Fault>,
    ) -> Proxy {
        Proxy::start_with(upstream, predicate, faults, Options::default())
    }

    /// A proxy with no faults and the given behaviour.
    pub fn with_options(upstream: &str, options: Options) -> Proxy {
        Proxy::start_with(upstream, |_, _| false, [], options)
    }

    /// A proxy on `host` (a port an earlier proxy had, so a client keyed
    /// by URL sees the same server fail), applying `faults` to every request.
    pub fn start_on(host: &str, upstream: &str, faults: impl IntoIterator<Item = Fault>) -> Proxy {
        let listener = TcpListener::bind(host).expect("bind proxy");
        Proxy::listen(listener, upstream, |_, _| true, faults, Options::default())
    }

    pub fn start_with(
        upstream: &str,
        predicate: impl Fn(&str, &str) -> bool + Send + Sync + 'static,
        faults: impl IntoIterator<Item = Fault>,
        options: Options,
    ) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        Proxy::listen(listener, upstream, predicate, faults, options)
    }

    fn listen(
        listener: TcpListener,
        upstream: &str,
        predicate: impl Fn(&str, &str) -> bool + Send + Sync + 'static,
        faults: impl IntoIterator<Item = Fault>,
        options: Options,
    ) -> Proxy {
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let host = listener.local_addr().expect("proxy addr").to_string();
        let shared = Arc::new(Shared {
            upstream: upstream.to_string(),
            host: host.clone(),
            options,
            predicate: Box::new(predicate),
            faults: Mutex::new(faults.into_iter().collect()),
            seen: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
            released: (Mutex::new(false), Condvar::new()),
            active: AtomicUsize::new(0),
        });
        let acceptor = {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || accept_loop(listener, shared))
        };
        Proxy {
            host,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// A proxy that applies `faults` to manifest requests
    /// (`/v2/<repo>/manifests/<ref>`, any method).
    pub fn for_manifests(upstream: &str, faults: impl IntoIterator<Item = Fault>) -> Proxy {
        Proxy::start(upstream, |_, path| path.contains("/manifests/"), faults)
    }

    /// `127.0.0.1:PORT`, what wharf should be pointed at.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Every request seen, in arrival order.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().expect("seen lock").clone()
    }

    /// The requests the predicate matched.
    pub fn matched(&self) -> Vec<Seen> {
        self.seen().into_iter().filter(|s| s.matched).collect()
    }

    /// How many scripted faults have not been used.
    pub fn faults_left(&self) -> usize {
        self.shared.faults.lock().expect("faults lock").len()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let (lock, cvar) = &self.shared.released;
        *lock.lock().expect("release lock") = true;
        cvar.notify_all();
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut handlers: Vec<JoinHandle<()>> = Vec::new();
    while !shared.stop.load(Ordering::SeqCst) {
        if shared.active.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        }
        match listener.accept() {
            Ok((stream, _)) => {
                shared.active.fetch_add(1, Ordering::SeqCst);
                let shared = Arc::clone(&shared);
                handlers.push(std::thread::spawn(move || {
                    handle(stream, &shared);
                    shared.active.fetch_sub(1, Ordering::SeqCst);
                }));
                handlers.retain(|h| !h.is_finished());
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    for handler in handlers {
        let _ = handler.join();
    }
}

fn handle(mut client: TcpStream, shared: &Shared) {
    let _ = client.set_nonblocking(false);
    let _ = client.set_read_timeout(Some(Duration::from_secs(30)));
    let _ = client.set_write_timeout(Some(Duration::from_secs(30)));
    let Some((head, mut body)) = read_head(&mut client) else {
        return;
    };
    if head.first() == Some(&0x16) {
        // A TLS ClientHello: wharf probes HTTPS first on a registry named
        // insecure. Answer as Go's net/http (the registry) does on a plain
        // listener, so the probe fails at once instead of timing out.
        shared.seen.lock().expect("seen lock").push(Seen {
            method: "TLS".to_string(),
            path: String::new(),
            query: String::new(),
            at: Instant::now(),
            matched: false,
            fault: None,
        });
        let _ = client.write_all(
            b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n",
        );
        return;
    }
    let head_text = String::from_utf8_lossy(&head).into_owned();
    let mut start = head_text.split("\r\n").next().unwrap_or("").split(' ');
    let method = start.next().unwrap_or("").to_string();
    let target = start.next().unwrap_or("").to_string();
    let path = target.split('?').next().unwrap_or("").to_string();
    let headers = header_lines(&head_text);
    let length = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    while body.len() < length {
        let mut buf = [0u8; 8192];
        match client.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => body.extend_from_slice(&buf[..n]),
        }
    }

    let query = target
        .split_once('?')
        .map(|(_, q)| q.to_string())
        .unwrap_or_default();
    if let Some(auth) = &shared.options.token_auth {
        if let Some(response) = token_service(auth, &shared.host, &path, &headers) {
            shared.seen.lock().expect("seen lock").push(Seen {
                method: method.clone(),
                path,
                query,
                at: Instant::now(),
                matched: false,
                fault: None,
            });
            let _ = client.write_all(&response);
            let _ = client.shutdown(Shutdown::Write);
            return;
        }
    }

    let matched = (shared.predicate)(&method, &path);
    let fault = if matched {
        shared.faults.lock().expect("faults lock").pop_front()
    } else {
        None
    };
    shared.seen.lock().expect("seen lock").push(Seen {
        method: method.clone(),
        path,
        query,
        at: Instant::now(),
        matched,
        fault,
    });

    match fault {
        Some(Fault::Unavailable) => {
            let _ = client.write_all(
                b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n\
                  Content-Length: 20\r\nConnection: close\r\n\r\nservice unavailable\n",
            );
        }
        Some(Fault::TooManyRequests) => {
            let _ = client.write_all(
                b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Type: text/plain\r\n\
                  Content-Length: 18\r\nConnection: close\r\n\r\ntoo many requests\n",
            );
        }
        Some(Fault::Reset) => {
            let _ = client.shutdown(Shutdown::Both);
            return;
        }
        Some(Fault::Stall) => {
            let (lock, cvar) = &shared.released;
            let mut released = lock.lock().expect("release lock");
            let deadline = Instant::now() + Duration::from_secs(600);
            while !*released && Instant::now() < deadline {
                released = cvar
                    .wait_timeout(released, Duration::from_millis(200))
                    .expect("release wait")
                    .0;
            }
            return;
        }
        None => {
            let response = forward(&shared.upstream, &method, &target, &headers, &body)
                .unwrap_or_else(|e| {
                    format!(
                        "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\
                         X-Proxy-Error: {e}\r\n\r\n"
                    )
                    .into_bytes()
                });
            let response = if shared.options.strip_digest_header {
                strip_header(&response, "docker-content-digest")
            } else {
                response
            };
            match shared.options.throttle {
                Some((chunk, pause)) => {
                    for part in response.chunks(chunk.max(1)) {
                        if client
                            .write_all(part)
                            .and_then(|()| client.flush())
                            .is_err()
                        {
                            break;
                        }
                        std::thread::sleep(pause);
                    }
                }
                None => {
                    let _ = client.write_all(&response);
                }
            }
        }
    }
    let _ = client.flush();
    let _ = client.shutdown(Shutdown::Write);
}

/// Reads up to the end of the request head; returns the head and whatever
/// body bytes came with it (or, for a TLS handshake, the bytes read so far).
fn read_head(client: &mut TcpStream) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        if raw.first() == Some(&0x16) {
            // TLS, not HTTP: no head will come.
            return Some((raw, Vec::new()));
        }
        if let Some((head, rest)) = split_head(&raw) {
            return Some((head.to_vec(), rest.to_vec()));
        }
        if raw.len() > 256 * 1024 {
            return None;
        }
        match client.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    }
}

/// Sends the request to the registry on a fresh connection and returns its
/// whole response, with `Connection: close`.
fn forward(
    upstream: &str,
    method: &str,
    target: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> std::io::Result<Vec<u8>> {
    let mut server = TcpStream::connect(upstream)?;
    server.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!("{method} {target} HTTP/1.1\r\n");
    for (k, v) in headers {
        if !is_hop_by_hop(k) {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    head.push_str("Connection: close\r\n\r\n");
    server.write_all(head.as_bytes())?;
    server.write_all(body)?;
    let mut raw = Vec::new();
    server.read_to_end(&mut raw)?;
    let Some((resp_head, rest)) = split_head(&raw) else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "no response head",
        ));
    };
    let resp_head = String::from_utf8_lossy(resp_head);
    let mut lines = resp_head.split("\r\n");
    let mut out = format!("{}\r\n", lines.next().unwrap_or("HTTP/1.1 502 Bad Gateway"));
    for (k, v) in header_lines(&resp_head) {
        if !is_hop_by_hop(&k) {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    let mut response = out.into_bytes();
    response.extend_from_slice(rest);
    Ok(response)
}

fn is_hop_by_hop(name: &str) -> bool {
    [
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "upgrade",
    ]
    .iter()
    .any(|h| name.eq_ignore_ascii_case(h))
}

/// The token service's answer, or `None` when the request may go on to the
/// registry (it carries the token).
fn token_service(
    auth: &TokenAuth,
    host: &str,
    path: &str,
    headers: &[(String, String)],
) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let authorization = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        .map(|(_, v)| v.as_str());
    if path == "/token" {
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{}", auth.user, auth.password))
        );
        if authorization == Some(basic.as_str()) {
            let body = format!(r#"{{"token":"{}","expires_in":300}}"#, auth.token);
            return Some(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n{body}",
                    body.len()
                )
                .into_bytes(),
            );
        }
        let body = r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#;
        return Some(
            format!(
                "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            )
            .into_bytes(),
        );
    }
    if authorization == Some(format!("Bearer {}", auth.token).as_str()) {
        return None;
    }
    let body = r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#;
    Some(
        format!(
            "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n\
             WWW-Authenticate: Bearer realm=\"http://{host}/token\",service=\"test-registry\"\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

/// `response` without the header `name` (case-insensitive).
fn strip_header(response: &[u8], name: &str) -> Vec<u8> {
    let Some((head, body)) = super::http::split_head(response) else {
        return response.to_vec();
    };
    let head = String::from_utf8_lossy(head);
    let mut out: Vec<u8> = head
        .split("\r\n")
        .filter(|line| {
            !line
                .split(':')
                .next()
                .is_some_and(|k| k.trim().eq_ignore_ascii_case(name))
        })
        .collect::<Vec<_>>()
        .join("\r\n")
        .into_bytes();
    out.extend_from_slice(body);
    out
}
