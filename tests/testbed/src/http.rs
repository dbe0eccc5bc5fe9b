//! HTTP/1.1 on loopback: one listener per service, served by hyper on a
//! single-threaded tokio runtime that lives on its own thread (so the
//! testbed works the same from synchronous tests and from inside a caller's
//! tokio runtime). Handlers are synchronous: every request is a few
//! signatures and a map lookup.
//!
//! Bounds: request bodies are capped at [`MAX_BODY`], each listener serves at
//! most [`MAX_CONNECTIONS`] connections at once, headers must arrive within
//! 30 s. A handler panic answers 500 instead of taking the server down.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::{json, Value};
use tokio::sync::{watch, Semaphore};

/// Largest request body accepted (413 beyond).
pub const MAX_BODY: usize = 32 * 1024 * 1024;
/// Concurrent connections per listener.
pub const MAX_CONNECTIONS: usize = 64;

/// A request, fully read.
#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) query: String,
    headers: HashMap<String, String>,
    pub(crate) body: Bytes,
}

impl Request {
    /// A header's value (names are case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// A query parameter, percent-decoded.
    pub(crate) fn query_param(&self, name: &str) -> Option<String> {
        self.query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k) == name).then(|| percent_decode(v))
        })
    }
}

fn percent_decode(s: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = match bytes[i] {
            b'%' => bytes
                .get(i + 1)
                .and_then(|&h| hex(h))
                .zip(bytes.get(i + 2).and_then(|&l| hex(l)))
                .map(|(h, l)| h << 4 | l),
            _ => None,
        };
        match (decoded, bytes[i]) {
            (Some(b), _) => {
                out.push(b);
                i += 3;
            }
            (None, b'+') => {
                out.push(b' ');
                i += 1;
            }
            (None, b) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A response to send.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Vec<u8>,
}

impl Response {
    pub(crate) fn bytes(status: u16, content_type: &str, body: Vec<u8>) -> Self {
        Response {
            status,
            headers: vec![("content-type", content_type.to_string())],
            body,
        }
    }

    pub(crate) fn json(status: u16, value: &Value) -> Self {
        Self::bytes(status, "application/json", value.to_string().into_bytes())
    }

    /// An error the way Sigstore services send them: `{"code", "message"}`.
    pub(crate) fn error(status: u16, message: &str) -> Self {
        Self::json(status, &json!({"code": status, "message": message}))
    }

    pub(crate) fn with_header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }
}

/// Something that answers requests on one listener.
pub(crate) trait Handler: Send + Sync + 'static {
    fn handle(&self, req: &Request) -> Response;
}

/// The running servers; dropping it stops them.
pub(crate) struct Servers {
    shutdown: Option<watch::Sender<bool>>,
    thread: Option<JoinHandle<()>>,
}

impl Servers {
    /// Serve each `(listener, handler)` pair until dropped. The listeners are
    /// bound already, so their ports are known before anything is served.
    pub(crate) fn start(
        listeners: Vec<(std::net::TcpListener, Arc<dyn Handler>)>,
    ) -> Result<Servers, String> {
        for (l, _) in &listeners {
            l.set_nonblocking(true)
                .map_err(|e| format!("setting a listener non-blocking: {e}"))?;
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| format!("starting the tokio runtime: {e}"))?;
        let (tx, rx) = watch::channel(false);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
        let thread = std::thread::Builder::new()
            .name("wharf-testbed".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let mut tasks = Vec::new();
                    for (listener, handler) in listeners {
                        let listener = match tokio::net::TcpListener::from_std(listener) {
                            Ok(l) => l,
                            Err(e) => {
                                let _ = ready_tx.send(Err(format!("listener: {e}")));
                                return;
                            }
                        };
                        tasks.push(tokio::spawn(accept_loop(listener, handler, rx.clone())));
                    }
                    let _ = ready_tx.send(Ok(()));
                    for t in tasks {
                        let _ = t.await;
                    }
                });
                // Dropping the runtime here cancels the connections still open.
            })
            .map_err(|e| format!("spawning the server thread: {e}"))?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(Servers {
                shutdown: Some(tx),
                thread: Some(thread),
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err("the server thread stopped while starting".into()),
        }
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(true);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    handler: Arc<dyn Handler>,
    mut shutdown: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
            _ = shutdown.changed() => return,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(_) => {
                    // Out of file descriptors and the like: back off, retry.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        let handler = handler.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let service = service_fn(move |req| serve(handler.clone(), peer, req));
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(30))
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn serve(
    handler: Arc<dyn Handler>,
    _peer: SocketAddr,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let declared = parts
        .headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let response = if declared.is_some_and(|n| n > MAX_BODY as u64) {
        Response::error(413, "request body larger than the testbed's 32 MiB limit")
    } else {
        match Limited::new(body, MAX_BODY).collect().await {
            Err(_) => Response::error(413, "request body too large or unreadable"),
            Ok(collected) => {
                let headers = parts
                    .headers
                    .iter()
                    .filter_map(|(k, v)| {
                        Some((
                            k.as_str().to_ascii_lowercase(),
                            v.to_str().ok()?.to_string(),
                        ))
                    })
                    .collect();
                let request = Request {
                    method: parts.method.as_str().to_string(),
                    path: parts.uri.path().to_string(),
                    query: parts.uri.query().unwrap_or("").to_string(),
                    headers,
                    body: collected.to_bytes(),
                };
                let h = handler.clone();
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| h.handle(&request)))
                    .unwrap_or_else(|_| Response::error(500, "the testbed handler panicked"))
            }
        }
    };
    Ok(to_hyper(response))
}

fn to_hyper(r: Response) -> hyper::Response<Full<Bytes>> {
    let mut builder = hyper::Response::builder().status(r.status);
    for (k, v) in &r.headers {
        builder = builder.header(*k, v.as_str());
    }
    builder
        .body(Full::new(Bytes::from(r.body)))
        .unwrap_or_else(|_| {
            let mut resp = hyper::Response::new(Full::new(Bytes::from_static(b"bad response")));
            *resp.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
            resp
        })
}
