//! The HTTP side of `wharf db update`, shaped by what osv.dev's bucket
//! (Google Cloud Storage) does: conditional GETs (`If-None-Match` on the
//! ETag: 304 when unchanged), byte ranges (206), and `X-Goog-Hash:
//! crc32c=<base64 of the big-endian CRC-32C>` of the whole object.
//!
//! * [`Http::download`] streams a large object (`all.zip`) to a file. A
//!   body that breaks off (connection reset, fewer bytes than
//!   `Content-Length`) is resumed with a `Range` request when the server
//!   answers 206 for the same ETag, else started over; the assembled file
//!   is checked against `Content-Length` and the crc32c before it is used.
//! * [`Http::changes`] reads `modified_id.csv` (newest first) only as far as
//!   it must: ranges of growing size (1 KiB, 16 KiB, ...), stopping at the
//!   first line not newer than the last update's high-water mark.
//! * [`Http::records`] fetches single records, a few at a time.
//!
//! 5xx, 408, 429 and connection errors are retried with backoff (four
//! attempts without progress); anything else fails at once. Errors are
//! plain text naming the URL; the caller adds what the user can do.

use std::fs::File;
use std::io::{Seek, Write};
use std::time::{Duration, Instant};

use base64::Engine as _;
use futures_util::{StreamExt as _, TryStreamExt as _};
use jiff::Timestamp;
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_RANGE, ETAG, IF_NONE_MATCH, RANGE};
use reqwest::StatusCode;
use url::Url;

use crate::error::error_chain;

/// Attempts in a row that bring no new byte before giving up.
const ATTEMPTS: u32 = 4;
/// Attempts in all, progress or not (a connection that breaks every few
/// bytes is not worth waiting on forever).
const MAX_ATTEMPTS: u32 = 30;
/// The first range of `modified_id.csv` read: a few dozen lines, all a
/// refresh usually needs.
const FIRST_RANGE: u64 = 1024;
/// A bound on any `modified_id.csv` read (osv.dev's largest is a few MiB).
const MAX_CSV: u64 = 256 << 20;
/// Records fetched at once.
const CONCURRENCY: usize = 8;

/// What a conditional request found.
#[derive(Debug)]
pub enum Fetched<T> {
    /// 304: the object still has the ETag we sent.
    NotModified,
    /// 404.
    Missing,
    Fresh(T),
}

/// An object downloaded in full.
#[derive(Debug, Clone)]
pub struct Object {
    pub etag: Option<String>,
    /// The crc32c the server declared (base64), checked against the bytes.
    pub crc32c: Option<String>,
    pub bytes: u64,
}

/// The head of `modified_id.csv`: the records newer than a mark.
#[derive(Debug, Clone)]
pub struct Changes {
    pub etag: Option<String>,
    /// (modified, id), newest first.
    pub newer: Vec<(Timestamp, String)>,
    /// More than the limit asked for are newer: `newer` stops there.
    pub over_limit: bool,
}

pub struct Http {
    client: reqwest::Client,
}

impl Http {
    pub fn new() -> Result<Http, String> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("wharf/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(30))
            .read_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| format!("cannot start the HTTP client: {}", error_chain(&e)))?;
        Ok(Http { client })
    }

    /// Downloads `url` into `file` (emptied first). With `if_none_match`,
    /// an unchanged object is a 304 and nothing is written.
    pub async fn download(
        &self,
        url: &Url,
        if_none_match: Option<&str>,
        file: &mut File,
        progress: &Progress,
    ) -> Result<Fetched<Object>, String> {
        let local = |e: std::io::Error| format!("cannot write the download: {e}");
        // The object being assembled (from its 200 answer), and how much of it is in `file`.
        let mut object: Option<(Object, Option<u64>)> = None;
        let mut have = 0u64;
        let mut crc = Crc32c::default();
        let (mut attempts, mut fruitless) = (0u32, 0u32);
        let mut last = String::new();
        let mut retry_after: Option<Duration> = None;
        loop {
            if fruitless >= ATTEMPTS || attempts >= MAX_ATTEMPTS {
                return Err(format!(
                    "cannot download {url}: {last} (gave up after {attempts} attempts)"
                ));
            }
            let resuming = object.is_some() && have > 0;
            if attempts > 0 {
                let next = if resuming {
                    format!("resuming at byte {have}")
                } else {
                    "trying again".to_string()
                };
                progress.note(&format!("{url}: {last}; {next}"));
                wait(retry_after.take(), fruitless.max(1)).await;
            }
            attempts += 1;
            let mut request = self.client.get(url.clone());
            if resuming {
                request = request.header(RANGE, format!("bytes={have}-"));
            } else if let Some(tag) = if_none_match {
                request = request.header(IF_NONE_MATCH, tag);
            }
            let mut response = match request.send().await {
                Ok(r) => r,
                Err(e) if unresolvable(&e) => return Err(no_such_host(url, &e)),
                Err(e) => {
                    last = error_chain(&e);
                    fruitless += 1;
                    continue;
                }
            };
            let status = response.status();
            let etag = header(response.headers(), ETAG);
            match status {
                StatusCode::NOT_MODIFIED if !resuming => return Ok(Fetched::NotModified),
                StatusCode::NOT_FOUND => return Ok(Fetched::Missing),
                StatusCode::OK => {
                    // The whole object, from its first byte.
                    file.set_len(0).map_err(local)?;
                    file.rewind().map_err(local)?;
                    have = 0;
                    crc = Crc32c::default();
                    let declared = Object {
                        etag,
                        crc32c: goog_crc32c(response.headers()),
                        bytes: 0,
                    };
                    object = Some((declared, response.content_length()));
                }
                StatusCode::PARTIAL_CONTENT if resuming => {
                    let Some((declared, total)) = &object else {
                        continue;
                    };
                    let range = content_range(response.headers());
                    let same = declared.etag == etag
                        && range.is_some_and(|(start, _, t)| {
                            start == have && total.is_none_or(|total| t == Some(total))
                        });
                    if !same {
                        // Another object now, or a range we did not ask for: start over.
                        object = None;
                        last = "the object changed while it was downloaded".into();
                        fruitless += 1;
                        continue;
                    }
                }
                StatusCode::RANGE_NOT_SATISFIABLE if resuming => {
                    object = None;
                    last = "the server refused to resume (416)".into();
                    fruitless += 1;
                    continue;
                }
                s if retryable(s) => {
                    last = format!("HTTP {s}");
                    retry_after = asked_to_wait(response.headers());
                    fruitless += 1;
                    continue;
                }
                s => return Err(format!("cannot download {url}: HTTP {s}")),
            }
            let total = object.as_ref().and_then(|(_, t)| *t);
            progress.begin(total, have);
            let before = have;
            let broken = loop {
                match response.chunk().await {
                    Ok(Some(bytes)) => {
                        file.write_all(&bytes).map_err(local)?;
                        crc.update(&bytes);
                        have += bytes.len() as u64;
                        progress.at(have);
                    }
                    Ok(None) => break None,
                    Err(e) => break Some(error_chain(&e)),
                }
            };
            if have > before {
                fruitless = 0;
            } else {
                fruitless += 1;
            }
            if let Some(why) = broken {
                last = format!("the download broke off after {have} bytes ({why})");
                continue;
            }
            if let Some(total) = total.filter(|t| have != *t) {
                last = format!("the body ended after {have} of {total} bytes");
                continue;
            }
            let Some((declared, _)) = object.take() else {
                continue;
            };
            if let Some(expected) = &declared.crc32c {
                if crc.base64() != *expected {
                    last = format!(
                        "the bytes received do not match their crc32c ({} received, {expected} declared by X-Goog-Hash)",
                        crc.base64()
                    );
                    have = 0;
                    fruitless += 1;
                    continue;
                }
            }
            file.sync_all().map_err(local)?;
            return Ok(Fetched::Fresh(Object {
                bytes: have,
                ..declared
            }));
        }
    }

    /// The records `modified_id.csv` at `url` lists as modified after
    /// `since` (every one when `None`), newest first, reading no further
    /// than needed; at most `limit` of them.
    pub async fn changes(
        &self,
        url: &Url,
        if_none_match: Option<&str>,
        since: Option<Timestamp>,
        limit: usize,
    ) -> Result<Fetched<Changes>, String> {
        let mut restarts = 0;
        'start: loop {
            let mut changes = Changes {
                etag: None,
                newer: Vec::new(),
                over_limit: false,
            };
            let mut carry: Vec<u8> = Vec::new();
            let mut offset = 0u64;
            let mut size = FIRST_RANGE;
            let mut line_no = 0usize;
            loop {
                let mut headers = HeaderMap::new();
                let range = format!("bytes={offset}-{}", offset + size - 1);
                headers.insert(RANGE, value(&range)?);
                if offset == 0 {
                    if let Some(tag) = if_none_match {
                        headers.insert(IF_NONE_MATCH, value(tag)?);
                    }
                }
                let answer = self.get(url, headers, MAX_CSV).await?;
                let etag = header(&answer.headers, ETAG);
                let end = match answer.status {
                    StatusCode::NOT_MODIFIED if offset == 0 => return Ok(Fetched::NotModified),
                    StatusCode::NOT_FOUND => return Ok(Fetched::Missing),
                    // An empty file (or one that ended exactly at the last range).
                    StatusCode::RANGE_NOT_SATISFIABLE => true,
                    StatusCode::OK => {
                        // The server ignores ranges: this is the whole file.
                        if offset > 0 {
                            carry.clear();
                            changes.newer.clear();
                            changes.over_limit = false;
                            changes.etag = etag.clone();
                            line_no = 0;
                        }
                        true
                    }
                    StatusCode::PARTIAL_CONTENT => {
                        if offset > 0 && etag != changes.etag {
                            restarts += 1;
                            if restarts > 3 {
                                return Err(format!(
                                    "{url} keeps changing while it is read; try again later"
                                ));
                            }
                            continue 'start;
                        }
                        match content_range(&answer.headers) {
                            Some((start, last, total)) if start == offset => {
                                total.is_some_and(|t| last + 1 >= t)
                            }
                            _ => {
                                return Err(format!(
                                    "{url}: the server answered a range other than {range}"
                                ))
                            }
                        }
                    }
                    s => return Err(format!("cannot read {url}: HTTP {s}")),
                };
                if changes.etag.is_none() {
                    changes.etag = etag;
                }
                offset += answer.body.len() as u64;
                carry.extend_from_slice(&answer.body);
                let mut consumed = 0;
                while let Some(n) = carry[consumed..].iter().position(|b| *b == b'\n') {
                    let line = &carry[consumed..consumed + n];
                    consumed += n + 1;
                    line_no += 1;
                    if !take(url, line_no, line, since, limit, &mut changes)? {
                        return Ok(Fetched::Fresh(changes));
                    }
                }
                carry.drain(..consumed);
                if end || answer.body.is_empty() {
                    if !carry.is_empty() {
                        let line = std::mem::take(&mut carry);
                        take(url, line_no + 1, &line, since, limit, &mut changes)?;
                    }
                    return Ok(Fetched::Fresh(changes));
                }
                size = (size * 16).min(MAX_CSV);
            }
        }
    }

    /// Fetches each (id, url): the record's bytes, checked to be that
    /// record. A 404 is an error: the list named a record the mirror lacks.
    pub async fn records(
        &self,
        wanted: Vec<(String, Url)>,
        progress: &Progress,
    ) -> Result<Vec<(String, Vec<u8>)>, String> {
        progress.begin(Some(wanted.len() as u64), 0);
        let done = std::sync::atomic::AtomicU64::new(0);
        futures_util::stream::iter(wanted)
            .map(|(id, url)| {
                let done = &done;
                async move {
                    let answer = self
                        .get(&url, HeaderMap::new(), super::super::read::MAX_RECORD_BYTES)
                        .await?;
                    match answer.status {
                        StatusCode::OK => {}
                        StatusCode::NOT_FOUND => {
                            return Err(format!(
                                "{url}: 404 Not Found: modified_id.csv lists {id} but the mirror has no such record \
                                 (the mirror may be in the middle of an update: try again later)"
                            ))
                        }
                        s => return Err(format!("cannot download {url}: HTTP {s}")),
                    }
                    match super::super::read::parse_meta(&answer.body) {
                        Ok(meta) if meta.id == id => {}
                        Ok(meta) => {
                            return Err(format!(
                                "{url}: holds the record {}, not {id}: the mirror is inconsistent",
                                meta.id
                            ))
                        }
                        Err(why) => return Err(format!("{url}: {why}")),
                    }
                    let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                    progress.at(n);
                    Ok((id, answer.body))
                }
            })
            .buffer_unordered(CONCURRENCY)
            .try_collect()
            .await
    }

    /// A GET whose whole body (at most `max` bytes) is wanted, retried on
    /// connection errors, 5xx, 408 and 429, and on a body cut short.
    async fn get(&self, url: &Url, headers: HeaderMap, max: u64) -> Result<Answer, String> {
        let mut last = String::new();
        let mut retry_after: Option<Duration> = None;
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                wait(retry_after.take(), attempt).await;
            }
            let mut response = match self
                .client
                .get(url.clone())
                .headers(headers.clone())
                .send()
                .await
            {
                Ok(r) => r,
                Err(e) if unresolvable(&e) => return Err(no_such_host(url, &e)),
                Err(e) => {
                    last = error_chain(&e);
                    continue;
                }
            };
            let status = response.status();
            if retryable(status) {
                last = format!("HTTP {status}");
                retry_after = asked_to_wait(response.headers());
                continue;
            }
            if response.content_length().is_some_and(|n| n > max) {
                return Err(format!(
                    "{url}: the answer is larger than {} MiB",
                    max >> 20
                ));
            }
            let mut body = Vec::new();
            let broken = loop {
                match response.chunk().await {
                    Ok(Some(bytes)) => {
                        body.extend_from_slice(&bytes);
                        if body.len() as u64 > max {
                            return Err(format!(
                                "{url}: the answer is larger than {} MiB",
                                max >> 20
                            ));
                        }
                    }
                    Ok(None) => break None,
                    Err(e) => break Some(error_chain(&e)),
                }
            };
            if let Some(why) = broken {
                last = format!("the answer broke off after {} bytes ({why})", body.len());
                continue;
            }
            return Ok(Answer {
                status,
                headers: response.headers().clone(),
                body,
            });
        }
        Err(format!(
            "cannot download {url}: {last} (gave up after {ATTEMPTS} attempts)"
        ))
    }
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

/// One line of `modified_id.csv`, `<RFC 3339 modified>,<ID>`: taken into
/// `changes` when newer than `since`. False when reading should stop.
fn take(
    url: &Url,
    line_no: usize,
    line: &[u8],
    since: Option<Timestamp>,
    limit: usize,
    changes: &mut Changes,
) -> Result<bool, String> {
    let text = String::from_utf8_lossy(line);
    let text = text.trim();
    if text.is_empty() {
        return Ok(true);
    }
    let malformed = || {
        let shown: String = text.chars().take(80).collect();
        format!("{url}: line {line_no} is not `<modified>,<id>`: {shown:?}")
    };
    let (modified, id) = text.split_once(',').ok_or_else(malformed)?;
    let modified: Timestamp = modified.trim().parse().map_err(|_| malformed())?;
    let id = id.trim();
    // Only the id part of a file name: it becomes a URL path segment and a file name.
    let id = id.rsplit('/').next().unwrap_or(id);
    if id.is_empty()
        || id == "."
        || id == ".."
        || id.len() > 200
        || id.contains(['\\', '\0'])
        || id.contains(char::is_whitespace)
    {
        return Err(malformed());
    }
    if since.is_some_and(|s| modified <= s) {
        return Ok(false);
    }
    if changes.newer.len() >= limit {
        changes.over_limit = true;
        return Ok(false);
    }
    changes.newer.push((modified, id.to_string()));
    Ok(true)
}

/// The mirror's host name does not resolve: no retry brings it (a machine
/// without a route to it, a name mistyped), so it fails at once rather than
/// spend the backoff of every attempt.
fn unresolvable(e: &reqwest::Error) -> bool {
    e.is_connect() && {
        let chain = error_chain(e).to_ascii_lowercase();
        chain.contains("dns error") || chain.contains("failed to lookup address")
    }
}

fn no_such_host(url: &Url, e: &reqwest::Error) -> String {
    format!(
        "cannot download {url}: its host does not resolve ({}); without a network to it, scan \
         with --offline, or name a copy it can reach with WHARF_OSV_MIRROR (or `db update --mirror`)",
        error_chain(e)
    )
}

fn retryable(status: StatusCode) -> bool {
    status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
}

/// Waits before retry `attempt` (1-based): 0.5 s, 1 s, 2 s ..., with up to
/// a quarter more at random so parallel jobs do not retry in step.
/// The longest `Retry-After` honoured: a server asking for more is
/// answered by the usual backoff, so an update never hangs for it.
const RETRY_AFTER_MAX: Duration = Duration::from_secs(60);

/// The wait a 429 or 503 asks for (`Retry-After`: seconds, or an HTTP
/// date), when it asks for one within [`RETRY_AFTER_MAX`].
fn asked_to_wait(headers: &HeaderMap) -> Option<Duration> {
    let text = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    let wait = match text.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => httpdate::parse_http_date(text)
            .ok()?
            .duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    };
    (wait <= RETRY_AFTER_MAX).then_some(wait)
}

/// Before a retry: what the server asked for, else the backoff.
async fn wait(asked: Option<Duration>, attempt: u32) {
    match asked {
        Some(d) => tokio::time::sleep(d).await,
        None => backoff(attempt).await,
    }
}

async fn backoff(attempt: u32) {
    let base = 500u64 << attempt.saturating_sub(1).min(5);
    let jitter = rand::random::<u64>() % (base / 4 + 1);
    tokio::time::sleep(Duration::from_millis(base + jitter)).await;
}

fn value(text: &str) -> Result<HeaderValue, String> {
    HeaderValue::from_str(text).map_err(|_| format!("{text:?} cannot be sent in an HTTP header"))
}

fn header(headers: &HeaderMap, name: reqwest::header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// `X-Goog-Hash: crc32c=...,md5=...` (possibly as several headers): the crc32c.
pub fn goog_crc32c(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all("x-goog-hash")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|part| part.trim().strip_prefix("crc32c=").map(str::to_string))
}

/// `Content-Range: bytes FIRST-LAST/TOTAL` (TOTAL may be `*`).
fn content_range(headers: &HeaderMap) -> Option<(u64, u64, Option<u64>)> {
    let text = headers.get(CONTENT_RANGE)?.to_str().ok()?;
    let (range, total) = text.strip_prefix("bytes ")?.split_once('/')?;
    let (first, last) = range.split_once('-')?;
    Some((
        first.trim().parse().ok()?,
        last.trim().parse().ok()?,
        total.trim().parse().ok(),
    ))
}

/// CRC-32C (Castagnoli), as Google Cloud Storage declares it.
#[derive(Debug, Default, Clone, Copy)]
pub struct Crc32c(u32);

const CRC32C_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0x82F6_3B78
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

impl Crc32c {
    pub fn update(&mut self, bytes: &[u8]) {
        let mut c = !self.0;
        for &b in bytes {
            c = CRC32C_TABLE[((c ^ b as u32) & 0xff) as usize] ^ (c >> 8);
        }
        self.0 = !c;
    }

    pub fn value(&self) -> u32 {
        self.0
    }

    /// As `X-Goog-Hash` writes it: base64 of the big-endian bytes.
    pub fn base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.0.to_be_bytes())
    }
}

/// A progress bar on a terminal (bytes or records); nothing otherwise, the
/// caller printing a line before and after.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    started: Instant,
}

impl Progress {
    pub fn bytes(label: &str) -> Progress {
        Progress::new(
            label,
            "{msg} {bytes}/{total_bytes} [{bar:30}] {bytes_per_sec} {eta}",
        )
    }

    pub fn count(label: &str) -> Progress {
        Progress::new(label, "{msg} {pos}/{len} [{bar:30}]")
    }

    fn new(label: &str, template: &str) -> Progress {
        let bar = crate::report::interactive().then(|| {
            let bar = indicatif::ProgressBar::new(0);
            if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_message(label.to_string());
            bar
        });
        Progress {
            bar,
            started: Instant::now(),
        }
    }

    fn begin(&self, total: Option<u64>, at: u64) {
        if let Some(bar) = &self.bar {
            if let Some(total) = total {
                bar.set_length(total);
            }
            bar.set_position(at);
        }
    }

    /// A line about the transfer (a retry): above the bar, or on stderr.
    fn note(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => crate::report::info(text),
        }
    }

    fn at(&self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(n);
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_matches_the_published_check_values() {
        let mut c = Crc32c::default();
        c.update(b"123456789");
        assert_eq!(c.value(), 0xE306_9283);
        // In pieces, as a download arrives.
        let mut c = Crc32c::default();
        c.update(b"1234");
        c.update(b"56789");
        assert_eq!(c.value(), 0xE306_9283);
        // GCS's documented example: the empty object is "AAAAAA==".
        assert_eq!(Crc32c::default().base64(), "AAAAAA==");
    }

    #[test]
    fn x_goog_hash_and_content_range_parse() {
        let mut h = HeaderMap::new();
        h.append(
            "x-goog-hash",
            HeaderValue::from_static("crc32c=n03x6A==,md5=Ojk9c3dhfxgoKVVHYwFbHQ=="),
        );
        assert_eq!(goog_crc32c(&h).as_deref(), Some("n03x6A=="));
        let mut h = HeaderMap::new();
        h.append(
            "x-goog-hash",
            HeaderValue::from_static("md5=Ojk9c3dhfxgoKVVHYwFbHQ=="),
        );
        h.append("x-goog-hash", HeaderValue::from_static("crc32c=AAAAAA=="));
        assert_eq!(goog_crc32c(&h).as_deref(), Some("AAAAAA=="));
        h.insert(CONTENT_RANGE, HeaderValue::from_static("bytes 0-1023/4096"));
        assert_eq!(content_range(&h), Some((0, 1023, Some(4096))));
        h.insert(CONTENT_RANGE, HeaderValue::from_static("bytes 5-9/*"));
        assert_eq!(content_range(&h), Some((5, 9, None)));
    }

    #[test]
    fn csv_lines_stop_at_the_mark_and_at_the_limit() {
        let url = Url::parse("http://m/PyPI/modified_id.csv").unwrap();
        let since: Timestamp = "2024-01-01T00:00:00Z".parse().unwrap();
        let mut c = Changes {
            etag: None,
            newer: Vec::new(),
            over_limit: false,
        };
        assert!(take(
            &url,
            1,
            b"2024-02-01T00:00:00.123456Z,PYSEC-1",
            Some(since),
            2,
            &mut c
        )
        .unwrap());
        assert!(take(&url, 2, b"", Some(since), 2, &mut c).unwrap());
        assert!(take(
            &url,
            3,
            b"2024-01-15T00:00:00Z,PyPI/PYSEC-2\r",
            Some(since),
            2,
            &mut c
        )
        .unwrap());
        assert_eq!(
            c.newer[1].1, "PYSEC-2",
            "the top-level file's ECO/ prefix goes"
        );
        assert!(!take(
            &url,
            4,
            b"2024-01-10T00:00:00Z,PYSEC-3",
            Some(since),
            2,
            &mut c
        )
        .unwrap());
        assert!(c.over_limit);
        let mut c = Changes {
            etag: None,
            newer: Vec::new(),
            over_limit: false,
        };
        assert!(!take(
            &url,
            1,
            b"2024-01-01T00:00:00Z,PYSEC-4",
            Some(since),
            9,
            &mut c
        )
        .unwrap());
        assert!(
            c.newer.is_empty() && !c.over_limit,
            "the mark itself is not newer"
        );
        let err = take(&url, 7, b"yesterday,PYSEC-5", None, 9, &mut c).unwrap_err();
        assert!(
            err.contains("line 7") && err.contains("modified_id.csv"),
            "{err}"
        );
        assert!(take(&url, 8, b"2024-01-01T00:00:00Z,../x y", None, 9, &mut c).is_err());
    }
}
