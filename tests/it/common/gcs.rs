//! A stand-in for a Google Cloud Storage bucket served over plain HTTP, as
//! osv.dev's `osv-vulnerabilities` bucket answers (there is no network to
//! googleapis.com here): `GET /<object>` with
//!
//! * `ETag` (quoted) and `X-Goog-Hash: crc32c=<base64 of the big-endian
//!   CRC-32C>` of the whole object on every answer for it;
//! * `If-None-Match` → `304 Not Modified` (no body) when a tag matches;
//! * `Range: bytes=A-B`, `bytes=A-`, `bytes=-N` → `206` with
//!   `Content-Range: bytes A-B/TOTAL`; a start past the end → `416` with
//!   GCS's `InvalidRange` XML error;
//! * no such object → `404` with GCS's `NoSuchKey` XML error.
//!
//! Faults are scripted per object path for a number of requests: a status
//! (503) instead of the object, or a body cut off after N bytes (the full
//! `Content-Length` having been announced) and the connection closed.
//! Every request is recorded with the bytes written back for it. One
//! request per connection (`Connection: close`). Stops on drop.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use base64::Engine as _;
use sha2::Digest as _;

use super::http::{header_lines, split_head};

/// A scripted fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer this status (with GCS's XML error body) instead of the object.
    Status(u16),
    /// Send the head as usual, then only this many bytes of the body, then
    /// close the connection.
    Truncate(usize),
    /// 429 Too Many Requests with `Retry-After: SECONDS`, as GCS throttles.
    Throttle(u64),
}

/// One request the bucket answered.
#[derive(Debug, Clone)]
pub struct Served {
    pub method: String,
    /// The object path, without the leading `/`, percent-decoded.
    pub path: String,
    pub range: Option<String>,
    pub if_none_match: Option<String>,
    pub status: u16,
    /// Body bytes written.
    pub body: usize,
    /// Head and body bytes written.
    pub total: usize,
    /// When it was answered.
    pub at: std::time::Instant,
    pub fault: Option<Fault>,
}

struct Object {
    bytes: Arc<Vec<u8>>,
    /// ETag and crc32c, worked out when first asked for (most record
    /// objects never are).
    hashes: std::sync::OnceLock<(String, String)>,
    generation: u64,
}

impl Object {
    fn hashes(&self) -> &(String, String) {
        self.hashes.get_or_init(|| {
            // GCS's ETag is the MD5 of the content; any content hash does here.
            let etag = format!(
                "\"{}\"",
                &hex::encode(sha2::Sha256::digest(self.bytes.as_slice()))[..32]
            );
            let crc =
                base64::engine::general_purpose::STANDARD.encode(crc32c(&self.bytes).to_be_bytes());
            (etag, crc)
        })
    }
}

struct Rule {
    path: String,
    fault: Fault,
    times: usize,
}

#[derive(Default)]
struct Inner {
    objects: HashMap<String, Object>,
    rules: Vec<Rule>,
    log: Vec<Served>,
    generation: u64,
}

pub struct Bucket {
    addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Bucket {
    pub fn start() -> Bucket {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the bucket");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("address");
        let inner = Arc::new(Mutex::new(Inner::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let inner = inner.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let inner = inner.clone();
                            std::thread::spawn(move || serve(stream, &inner));
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(2));
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(2)),
                    }
                }
            })
        };
        Bucket {
            addr,
            inner,
            stop,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`, the bucket's base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stores (or replaces) an object.
    pub fn put(&self, path: &str, bytes: Vec<u8>) {
        let mut inner = self.inner.lock().unwrap();
        inner.generation += 1;
        let generation = inner.generation;
        inner.objects.insert(
            path.to_string(),
            Object {
                bytes: Arc::new(bytes),
                hashes: std::sync::OnceLock::new(),
                generation,
            },
        );
    }

    pub fn remove(&self, path: &str) {
        self.inner.lock().unwrap().objects.remove(path);
    }

    pub fn bytes(&self, path: &str) -> Option<Arc<Vec<u8>>> {
        self.inner
            .lock()
            .unwrap()
            .objects
            .get(path)
            .map(|o| o.bytes.clone())
    }

    /// The next `times` requests for `path` get `fault`.
    pub fn fault(&self, path: &str, fault: Fault, times: usize) {
        self.inner.lock().unwrap().rules.push(Rule {
            path: path.to_string(),
            fault,
            times,
        });
    }

    pub fn clear_faults(&self) {
        self.inner.lock().unwrap().rules.clear();
    }

    /// Every request answered so far.
    pub fn log(&self) -> Vec<Served> {
        self.inner.lock().unwrap().log.clone()
    }

    /// The log, emptied.
    pub fn take_log(&self) -> Vec<Served> {
        std::mem::take(&mut self.inner.lock().unwrap().log)
    }
}

impl Drop for Bucket {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(mut stream: TcpStream, inner: &Mutex<Inner>) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    let head = loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
        if let Some((head, _)) = split_head(&raw) {
            break String::from_utf8_lossy(head).into_owned();
        }
        if raw.len() > 64 * 1024 {
            return;
        }
    };
    let mut start = head.lines().next().unwrap_or_default().split(' ');
    let method = start.next().unwrap_or_default().to_string();
    let target = start.next().unwrap_or_default();
    let path = super::percent_decode(
        target
            .split('?')
            .next()
            .unwrap_or_default()
            .trim_start_matches('/'),
    );
    let headers = header_lines(&head);
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let range = get("range");
    let if_none_match = get("if-none-match");

    // Decide under the lock, write without it.
    let (status, mut head_lines, body, cut, fault) = {
        let mut inner = inner.lock().unwrap();
        let fault = inner
            .rules
            .iter_mut()
            .find(|r| r.path == path && r.times > 0)
            .map(|r| {
                r.times -= 1;
                r.fault
            });
        answer(
            &inner,
            &method,
            &path,
            range.as_deref(),
            if_none_match.as_deref(),
            fault,
        )
    };
    head_lines.push("Connection: close".into());
    let mut out = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for line in &head_lines {
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    let body_sent = cut.unwrap_or(body.len()).min(body.len());
    let mut written = 0;
    if stream.write_all(out.as_bytes()).is_ok() {
        written += out.len();
        if method != "HEAD" && stream.write_all(&body[..body_sent]).is_ok() {
            written += body_sent;
        }
    }
    let _ = stream.flush();
    let _ = stream.shutdown(std::net::Shutdown::Both);
    inner.lock().unwrap().log.push(Served {
        method,
        path,
        range,
        if_none_match,
        status,
        body: written.saturating_sub(out.len()),
        total: written,
        at: std::time::Instant::now(),
        fault,
    });
}

type Answer = (u16, Vec<String>, Vec<u8>, Option<usize>, Option<Fault>);

fn answer(
    inner: &Inner,
    method: &str,
    path: &str,
    range: Option<&str>,
    if_none_match: Option<&str>,
    fault: Option<Fault>,
) -> Answer {
    if let Some(Fault::Status(code)) = fault {
        let body = xml_error(
            "InternalError",
            "We encountered an internal error. Please try again.",
        );
        return (code, xml_head(&body), body, None, fault);
    }
    if let Some(Fault::Throttle(secs)) = fault {
        let body = xml_error("SlowDown", "Please reduce your request rate.");
        let mut head = xml_head(&body);
        head.push(format!("Retry-After: {secs}"));
        return (429, head, body, None, fault);
    }
    let cut = match fault {
        Some(Fault::Truncate(n)) => Some(n),
        _ => None,
    };
    if method != "GET" && method != "HEAD" {
        let body = xml_error(
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
        );
        return (405, xml_head(&body), body, None, fault);
    }
    let Some(object) = inner.objects.get(path) else {
        let body = xml_error(
            "NoSuchKey",
            &format!("The specified key does not exist.</Message><Details>No such object: osv-vulnerabilities/{path}</Details><Message>"),
        );
        return (404, xml_head(&body), body, None, fault);
    };
    let len = object.bytes.len();
    let (etag, crc) = object.hashes();
    let mut head = vec![
        format!("ETag: {etag}"),
        format!("X-Goog-Hash: crc32c={crc}"),
        format!("X-Goog-Generation: {}", object.generation),
        format!("X-Goog-Stored-Content-Length: {len}"),
        "Last-Modified: Thu, 21 Aug 2026 06:28:40 GMT".into(),
    ];
    if let Some(tags) = if_none_match {
        if tags.split(',').any(|t| t.trim() == etag || t.trim() == "*") {
            return (304, head, Vec::new(), None, fault);
        }
    }
    let content_type = if path.ends_with(".zip") {
        "application/zip"
    } else if path.ends_with(".csv") {
        "text/csv"
    } else {
        "application/json"
    };
    head.push(format!("Content-Type: {content_type}"));
    if let Some((first, last)) = range.and_then(|r| parse_range(r, len)) {
        if first >= len {
            let body = xml_error("InvalidRange", "The requested range cannot be satisfied.");
            let mut head = xml_head(&body);
            head.push(format!("Content-Range: bytes */{len}"));
            return (416, head, body, None, fault);
        }
        let last = last.min(len - 1);
        let body = object.bytes[first..=last].to_vec();
        head.push(format!("Content-Range: bytes {first}-{last}/{len}"));
        head.push(format!("Content-Length: {}", body.len()));
        return (206, head, body, cut, fault);
    }
    head.push(format!("Content-Length: {len}"));
    (200, head, object.bytes.to_vec(), cut, fault)
}

/// `bytes=A-B`, `bytes=A-`, `bytes=-N` as (first, last) inclusive.
fn parse_range(header: &str, len: usize) -> Option<(usize, usize)> {
    let spec = header.trim().strip_prefix("bytes=")?;
    let (a, b) = spec.split_once('-')?;
    if a.is_empty() {
        let n: usize = b.parse().ok()?;
        return Some((len.saturating_sub(n), len.saturating_sub(1)));
    }
    let first: usize = a.parse().ok()?;
    let last = if b.is_empty() {
        usize::MAX
    } else {
        b.parse().ok()?
    };
    (last >= first).then_some((first, last))
}

fn xml_error(code: &str, message: &str) -> Vec<u8> {
    format!(
        "<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
    )
    .into_bytes()
}

fn xml_head(body: &[u8]) -> Vec<String> {
    vec![
        "Content-Type: application/xml; charset=UTF-8".into(),
        format!("Content-Length: {}", body.len()),
    ]
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        206 => "Partial Content",
        304 => "Not Modified",
        404 => "Not Found",
        405 => "Method Not Allowed",
        416 => "Requested range not satisfiable",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// CRC-32C (Castagnoli), bit by bit: written apart from wharf's table.
pub fn crc32c(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0x82F6_3B78 & mask);
        }
    }
    !crc
}

#[test]
fn crc32c_check_value() {
    assert_eq!(crc32c(b"123456789"), 0xE306_9283);
}
