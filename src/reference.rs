//! Image references, parsed by the distribution grammar.
//!
//! A reference keeps the text the user wrote: `name`, `tag` and `digest` are
//! byte ranges into it, so a rewrite can replace the tag/digest part without
//! normalising the name (`nginx` stays `nginx`, not `docker.io/library/nginx`).
//! Normalisation (`docker.io`, `library/`) happens only when a reference is
//! resolved against a registry: [`Reference::registry`] and
//! [`Reference::repository`].

use std::fmt;
use std::ops::Range;

/// The distribution spec's limit on the length of a name (domain + path).
pub const NAME_MAX: usize = 255;
/// The registry Docker Hub names are resolved against.
pub const DOCKER_HUB: &str = "docker.io";
/// The host that actually serves Docker Hub's registry API.
pub const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// A parsed image reference: `[domain/]path[:tag][@digest]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    text: String,
    domain: Option<Range<usize>>,
    name: Range<usize>,
    tag: Option<Range<usize>>,
    digest: Option<Range<usize>>,
}

/// Why a string is not an image reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid image reference {text:?}: {why}")]
pub struct ReferenceError {
    pub text: String,
    pub why: String,
}

impl Reference {
    /// Parses `text` as a reference. The whole string must be a reference:
    /// no surrounding whitespace, no scheme.
    pub fn parse(text: &str) -> Result<Reference, ReferenceError> {
        let fail = |why: &str| ReferenceError {
            text: text.to_string(),
            why: why.to_string(),
        };
        if text.is_empty() {
            return Err(fail("it is empty"));
        }
        if text.contains("://") {
            return Err(fail(
                "remove the scheme: a reference is HOST/PATH[:TAG][@DIGEST]",
            ));
        }
        if let Some(c) = text.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(fail(&format!("it contains {c:?}")));
        }

        let (before_digest, digest) = match text.find('@') {
            Some(at) => (&text[..at], Some(at + 1..text.len())),
            None => (text, None),
        };
        if let Some(d) = &digest {
            check_digest(&text[d.clone()]).map_err(|why| fail(&why))?;
        }

        // A tag is after the last ':' that follows the last '/'; a ':' before
        // that belongs to the domain's port.
        let last_slash = before_digest.rfind('/');
        let tag_colon = before_digest
            .rfind(':')
            .filter(|&c| last_slash.is_none_or(|s| c > s));
        let name_end = tag_colon.unwrap_or(before_digest.len());
        let tag = tag_colon.map(|c| c + 1..before_digest.len());
        if let Some(t) = &tag {
            check_tag(&text[t.clone()]).map_err(|why| fail(&why))?;
        }

        let name = 0..name_end;
        let name_text = &text[name.clone()];
        if name_text.is_empty() {
            return Err(fail("it has no repository name"));
        }
        if name_text.len() > NAME_MAX {
            return Err(fail(&format!(
                "the name is {} characters long, over the limit of {NAME_MAX}",
                name_text.len()
            )));
        }

        let (domain, path_start) = match name_text.find('/') {
            Some(slash) if is_domain(&name_text[..slash]) => (Some(0..slash), slash + 1),
            _ => (None, 0),
        };
        if let Some(d) = &domain {
            check_domain(&name_text[d.clone()]).map_err(|why| fail(&why))?;
        }
        let path = &name_text[path_start..];
        if path.is_empty() {
            return Err(fail("it has a registry but no repository path"));
        }
        for component in path.split('/') {
            check_path_component(component).map_err(|why| fail(&why))?;
        }

        Ok(Reference {
            text: text.to_string(),
            domain,
            name,
            tag,
            digest,
        })
    }

    /// The text as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The name as written: domain and path, without tag or digest.
    pub fn name(&self) -> &str {
        &self.text[self.name.clone()]
    }

    /// The byte range of the name in [`Reference::as_str`].
    pub fn name_span(&self) -> Range<usize> {
        self.name.clone()
    }

    /// The domain as written, if the user wrote one.
    pub fn domain(&self) -> Option<&str> {
        self.domain.clone().map(|r| &self.text[r])
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.clone().map(|r| &self.text[r])
    }

    /// The digest (`sha256:…`), if the reference is pinned.
    pub fn digest(&self) -> Option<&str> {
        self.digest.clone().map(|r| &self.text[r])
    }

    /// The registry to talk to: the domain written, else Docker Hub.
    /// `index.docker.io` and `docker.io` both become [`DOCKER_HUB`].
    pub fn registry(&self) -> &str {
        match self.domain() {
            None | Some("index.docker.io") => DOCKER_HUB,
            Some(d) => d,
        }
    }

    /// The repository path on the registry, with Docker Hub's implicit
    /// `library/` for single-component official images.
    pub fn repository(&self) -> String {
        let path = match &self.domain {
            Some(d) => &self.name()[d.end + 1..],
            None => self.name(),
        };
        if self.registry() == DOCKER_HUB && !path.contains('/') {
            format!("library/{path}")
        } else {
            path.to_string()
        }
    }

    /// The tag to resolve: the one written, else `latest`.
    pub fn tag_or_latest(&self) -> &str {
        self.tag().unwrap_or("latest")
    }

    /// The fully qualified form, for messages and cache keys:
    /// `docker.io/library/nginx:latest`.
    pub fn canonical(&self) -> String {
        let mut s = format!("{}/{}", self.registry(), self.repository());
        if let Some(digest) = self.digest() {
            if let Some(tag) = self.tag() {
                s.push(':');
                s.push_str(tag);
            }
            s.push('@');
            s.push_str(digest);
        } else {
            s.push(':');
            s.push_str(self.tag_or_latest());
        }
        s
    }

    /// The text as written with `digest` added: `name[:tag]@digest`.
    /// Any digest already present is replaced.
    pub fn with_digest(&self, digest: &str) -> String {
        let end = self.tag.as_ref().map_or(self.name.end, |t| t.end);
        format!("{}@{digest}", &self.text[..end])
    }

    /// The name as written with `digest`, dropping the tag: `name@digest`.
    pub fn name_with_digest(&self, digest: &str) -> String {
        format!("{}@{digest}", self.name())
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Docker's rule: the first component is a domain when it contains `.` or
/// `:`, is `localhost`, or has an upper-case letter (paths cannot).
fn is_domain(first: &str) -> bool {
    first.contains(['.', ':'])
        || first == "localhost"
        || first.chars().any(|c| c.is_ascii_uppercase())
}

fn check_domain(domain: &str) -> Result<(), String> {
    let (host, port) = if let Some(rest) = domain.strip_prefix('[') {
        // [IPv6]:port
        let close = rest
            .find(']')
            .ok_or_else(|| format!("the registry {domain:?} has an unclosed '['"))?;
        let host = &rest[..close];
        if host.is_empty()
            || !host
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return Err(format!(
                "the registry {domain:?} is not a valid IPv6 address"
            ));
        }
        let after = &rest[close + 1..];
        let port = match after {
            "" => None,
            p if p.starts_with(':') => Some(&p[1..]),
            _ => return Err(format!("the registry {domain:?} has text after ']'")),
        };
        (None, port)
    } else {
        match domain.split_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(domain), None),
        }
    };
    if let Some(host) = host {
        if host.is_empty() {
            return Err(format!("the registry {domain:?} has no host name"));
        }
        for label in host.split('.') {
            let ok = !label.is_empty()
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-');
            if !ok {
                return Err(format!(
                    "the registry host {host:?} is not a valid host name (label {label:?})"
                ));
            }
        }
    }
    if let Some(port) = port {
        if port.is_empty() || port.len() > 5 || !port.chars().all(|c| c.is_ascii_digit()) {
            return Err(format!("the registry port {port:?} is not a number"));
        }
    }
    Ok(())
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn check_path_component(component: &str) -> Result<(), String> {
    let bad = || {
        if component.chars().any(|c| c.is_ascii_uppercase()) {
            format!("the path component {component:?} has upper-case letters; repository names are lower-case")
        } else if component.is_empty() {
            "the repository path has an empty component ('//' or a trailing '/')".to_string()
        } else {
            format!(
                "the path component {component:?} must be lower-case letters and digits, \
                 separated by '.', '_', '__' or '-'"
            )
        }
    };
    let bytes = component.as_bytes();
    if bytes.is_empty() {
        return Err(bad());
    }
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let mut i = 0;
    loop {
        let start = i;
        while i < bytes.len() && alnum(bytes[i]) {
            i += 1;
        }
        if i == start {
            return Err(bad());
        }
        if i == bytes.len() {
            return Ok(());
        }
        // separator
        match bytes[i] {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if i < bytes.len() && bytes[i] == b'_' {
                    i += 1;
                }
            }
            b'-' => {
                while i < bytes.len() && bytes[i] == b'-' {
                    i += 1;
                }
            }
            _ => return Err(bad()),
        }
    }
}

/// `[\w][\w.-]{0,127}`
fn check_tag(tag: &str) -> Result<(), String> {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut chars = tag.chars();
    let ok = match chars.next() {
        Some(first) => word(first) && chars.all(|c| word(c) || c == '.' || c == '-'),
        None => false,
    };
    if !ok {
        return Err(format!(
            "the tag {tag:?} must start with a letter, digit or '_' and contain only those, '.' and '-'"
        ));
    }
    if tag.len() > 128 {
        return Err(format!(
            "the tag is {} characters long, over the limit of 128",
            tag.len()
        ));
    }
    Ok(())
}

/// `algorithm:encoded`; sha256 and sha512 are checked for length and lower-case hex.
pub fn check_digest(digest: &str) -> Result<(), String> {
    let Some((algorithm, encoded)) = digest.split_once(':') else {
        return Err(format!(
            "the digest {digest:?} has no algorithm (expected sha256:<64 hex>)"
        ));
    };
    let hex_len = match algorithm {
        "sha256" => Some(64),
        "sha512" => Some(128),
        _ => None,
    };
    match hex_len {
        Some(n) => {
            if encoded.len() != n
                || !encoded
                    .chars()
                    .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
            {
                return Err(format!("the digest {digest:?} is not {algorithm}: followed by {n} lower-case hex digits"));
            }
        }
        None => {
            let alg_ok = !algorithm.is_empty()
                && algorithm
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+._-".contains(c));
            let enc_ok = encoded.len() >= 32
                && encoded
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "=_-".contains(c));
            if !alg_ok || !enc_ok {
                return Err(format!("the digest {digest:?} is not algorithm:encoded"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn docker_hub_short_names_normalise_only_for_resolution() {
        let r = Reference::parse("nginx").unwrap();
        assert_eq!(r.registry(), "docker.io");
        assert_eq!(r.repository(), "library/nginx");
        assert_eq!(r.tag(), None);
        assert_eq!(r.tag_or_latest(), "latest");
        assert_eq!(r.name(), "nginx");
        assert_eq!(r.with_digest(D), format!("nginx@{D}"));
        assert_eq!(r.canonical(), "docker.io/library/nginx:latest");

        let r = Reference::parse("bitnami/redis:7.2").unwrap();
        assert_eq!(r.registry(), "docker.io");
        assert_eq!(r.repository(), "bitnami/redis");
        assert_eq!(r.with_digest(D), format!("bitnami/redis:7.2@{D}"));
        assert_eq!(r.name_with_digest(D), format!("bitnami/redis@{D}"));

        let r = Reference::parse("docker.io/nginx:1").unwrap();
        assert_eq!(r.repository(), "library/nginx");
        let r = Reference::parse("index.docker.io/library/nginx:1").unwrap();
        assert_eq!(r.registry(), "docker.io");
    }

    #[test]
    fn domain_detection_follows_docker() {
        for (text, domain) in [
            ("localhost/app:1", Some("localhost")),
            ("localhost:5000/app", Some("localhost:5000")),
            ("127.0.0.1:5000/a/b:c", Some("127.0.0.1:5000")),
            ("ghcr.io/org/app:v1", Some("ghcr.io")),
            ("registry:5000/app", Some("registry:5000")),
            ("org/app", None),
            ("[::1]:5000/app:1", Some("[::1]:5000")),
        ] {
            let r = Reference::parse(text).unwrap();
            assert_eq!(r.domain(), domain, "{text}");
        }
    }

    #[test]
    fn port_is_not_a_tag() {
        let r = Reference::parse("localhost:5000/app").unwrap();
        assert_eq!(r.tag(), None);
        assert_eq!(r.name(), "localhost:5000/app");
        let r = Reference::parse("localhost:5000/app:2.0").unwrap();
        assert_eq!(r.tag(), Some("2.0"));
    }

    #[test]
    fn tag_and_digest_together() {
        let text = format!("ghcr.io/o/a:1.2@{D}");
        let r = Reference::parse(&text).unwrap();
        assert_eq!(r.tag(), Some("1.2"));
        assert_eq!(r.digest(), Some(D));
        assert_eq!(r.name(), "ghcr.io/o/a");
        assert_eq!(r.canonical(), format!("ghcr.io/o/a:1.2@{D}"));
        let other = "sha256:".to_string() + &"f".repeat(64);
        assert_eq!(r.with_digest(&other), format!("ghcr.io/o/a:1.2@{other}"));
    }

    #[test]
    fn rejects_what_the_grammar_rejects() {
        for bad in [
            "",
            "Nginx:1",
            "nginx:",
            "nginx:-x",
            "nginx@sha256:abc",
            "nginx@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
            "a//b",
            "a/",
            "ghcr.io/",
            "https://ghcr.io/a",
            "nginx:1 2",
            "a:b:c",
            "a..b",
            "a-/b",
            "-a",
            "a___b",
            "host:port/x",
            "ex_ample.com/a",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        let long = format!("ghcr.io/{}", "a".repeat(250));
        let err = Reference::parse(&long).unwrap_err();
        assert!(err.why.contains("255"), "{err}");
        let long_tag = format!("a:{}", "t".repeat(129));
        assert!(Reference::parse(&long_tag).is_err());
    }

    #[test]
    fn accepts_what_the_grammar_accepts() {
        for good in [
            "a",
            "a__b",
            "a_b.c-d",
            "a---b",
            "gcr.io/distroless/static-debian12:nonroot",
            "my-registry.example.com:443/team/app:v1.2.3-rc.1_x",
            "a:_",
            "UPPER.example.com/app",
        ] {
            assert!(Reference::parse(good).is_ok(), "{good:?} should parse");
        }
    }
}
