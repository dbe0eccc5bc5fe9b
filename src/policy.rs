//! `wharf policy`: the admission policy that admits what `wharf verify`
//! accepts, and nothing else — a Kyverno `ClusterPolicy` or a Sigstore
//! policy-controller `ClusterImagePolicy` built from the same identity
//! flags, so the signer CI uses and the cluster's allowlist cannot drift.
//!
//! The identity is translated, not copied, because the engines read the
//! same words differently:
//!
//! - Both search regular expressions unanchored (Go's `MatchString`); wharf
//!   matches the whole value. Every regexp is written exactly as wharf
//!   compiles it, `^(?:…)$`, so `https://github.com/org/.*` cannot admit
//!   `https://evil.example/https://github.com/org/x`.
//! - Kyverno's `subject` and `issuer` are wildcard patterns (`*`, `?`): an
//!   exact identity holding either is written as an escaped, anchored regexp.
//! - The patterns run on Go's RE2. The constructs where Rust's `regex` and
//!   RE2 differ (Unicode `\d`/`\w`/`\s`/`\b`, class set operations, `\p{…}`,
//!   some flags, repetition counts over 1000) are refused, with the portable
//!   spelling to use instead.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::cli::{BundleFormat, KyvernoApi, PolicyArgs, PolicyEngine, PolicyMode};

pub mod check;
mod ivpol;
use crate::error::{Error, Result};
use crate::scan::finding::Severity;
use crate::verify::{Expected, Matcher};
use crate::{report, Outcome};

/// Sigstore's public-good Rekor: where a key signature's log entry is looked
/// up when no private instance is configured.
const PUBLIC_REKOR: &str = "https://rekor.sigstore.dev";

/// Everything a policy is made of, checked.
pub struct PolicySpec {
    pub engine: PolicyEngine,
    pub name: String,
    pub mode: PolicyMode,
    pub expected: Expected,
    pub image_patterns: Vec<String>,
    /// Predicate type URIs of the attestations required.
    pub attestations: Vec<String>,
    /// Findings at this severity or worse in the vuln attestation refuse the image.
    pub fail_on_vulns: Option<Severity>,
    pub format: BundleFormat,
    /// A private Sigstore's trust material; `None`: public-good.
    pub trust: Option<Trust>,
    /// Kyverno's API (ImageValidatingPolicy or ClusterPolicy).
    pub kyverno_api: KyvernoApi,
    /// A private Sigstore's TUF repository, named in the policy.
    pub tuf: Option<TufRepository>,
    /// The command line that writes the same policy, for the header.
    pub command: String,
}

/// A TUF repository as a policy names it: its mirror and its root.
#[derive(Debug, Clone)]
pub struct TufRepository {
    pub mirror: String,
    /// `root.json`'s bytes.
    pub root: Vec<u8>,
}

impl TufRepository {
    fn from_args(args: &crate::cli::TufArgs) -> Result<Option<TufRepository>> {
        let Some(spec) = args.spec(true)? else {
            return Ok(None);
        };
        let root = spec.root.read()?;
        serde_json::from_slice::<serde_json::Value>(&root)
            .ok()
            .filter(|d| d.pointer("/signed/_type").and_then(|t| t.as_str()) == Some("root"))
            .ok_or_else(|| {
                Error::file(
                    spec.root.describe(),
                    "not a TUF root (root.json: signed._type root)",
                )
            })?;
        Ok(Some(TufRepository {
            mirror: spec.mirror,
            root,
        }))
    }
}

/// A private Sigstore's services, from its trusted root.
#[derive(Debug, Clone, Default)]
pub struct Trust {
    /// Where it came from, for the header.
    pub source: String,
    pub fulcio: Vec<CertificateAuthority>,
    pub rekor: Vec<Log>,
    pub ctlogs: Vec<Log>,
}

#[derive(Debug, Clone)]
pub struct CertificateAuthority {
    pub uri: String,
    pub organization: String,
    pub common_name: String,
    /// PEM certificates, leaf-most first, root last.
    pub chain_pem: String,
}

#[derive(Debug, Clone)]
pub struct Log {
    pub url: String,
    pub hash_algorithm: String,
    /// PEM public key.
    pub key_pem: String,
}

impl Trust {
    /// Reads the services out of a trusted root (the protobuf JSON shape).
    pub fn from_trusted_root(root: &serde_json::Value, source: String) -> Result<Trust, String> {
        let array = |key: &str| {
            root.get(key)
                .and_then(|v| v.as_array())
                .cloned()
                .unwrap_or_default()
        };
        let der_to_pem = |label: &str, b64: &str| -> Result<String, String> {
            use base64::Engine as _;
            let der = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|e| format!("a rawBytes value is not base64: {e}"))?;
            Ok(pem(label, &der))
        };
        let mut fulcio = Vec::new();
        for ca in array("certificateAuthorities") {
            let mut chain_pem = String::new();
            for cert in ca
                .pointer("/certChain/certificates")
                .and_then(|c| c.as_array())
                .cloned()
                .unwrap_or_default()
            {
                let raw = cert
                    .get("rawBytes")
                    .and_then(|r| r.as_str())
                    .ok_or("a certificate authority's certificate has no rawBytes")?;
                chain_pem.push_str(&der_to_pem("CERTIFICATE", raw)?);
            }
            if chain_pem.is_empty() {
                return Err("a certificate authority has no certificates".into());
            }
            let text = |p: &str| {
                ca.pointer(p)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string()
            };
            fulcio.push(CertificateAuthority {
                uri: text("/uri"),
                organization: text("/subject/organization"),
                common_name: text("/subject/commonName"),
                chain_pem,
            });
        }
        let logs = |key: &str| -> Result<Vec<Log>, String> {
            let mut out = Vec::new();
            for log in array(key) {
                let raw = log
                    .pointer("/publicKey/rawBytes")
                    .and_then(|r| r.as_str())
                    .ok_or(format!("a {key} entry has no publicKey.rawBytes"))?;
                out.push(Log {
                    url: log
                        .get("baseUrl")
                        .and_then(|u| u.as_str())
                        .unwrap_or_default()
                        .to_string(),
                    hash_algorithm: log
                        .get("hashAlgorithm")
                        .and_then(|h| h.as_str())
                        .unwrap_or("SHA2_256")
                        .to_string(),
                    key_pem: der_to_pem("PUBLIC KEY", raw)?,
                });
            }
            Ok(out)
        };
        Ok(Trust {
            source,
            fulcio,
            rekor: logs("tlogs")?,
            ctlogs: logs("ctlogs")?,
        })
    }

    fn roots_pem(&self) -> String {
        self.fulcio.iter().map(|ca| ca.chain_pem.as_str()).collect()
    }

    fn rekor_url(&self) -> Option<&str> {
        self.rekor
            .iter()
            .map(|l| l.url.as_str())
            .find(|u| !u.is_empty())
    }
}

/// PEM with LF line endings (YAML block scalars keep them readable).
fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Runs `wharf policy`.
pub fn run(global: &crate::config::Global, args: &PolicyArgs) -> Result<Outcome> {
    let Some(engine) = args.engine.engine() else {
        return check::run(global, args, &args.targets);
    };
    if let Some(extra) = args.targets.first() {
        return Err(Error::Usage(format!(
            "unexpected {extra:?}: `wharf policy kyverno|policy-controller` takes flags only \
             (`wharf policy check POLICY.yaml... IMAGE` is the dry run)"
        )));
    }
    let spec = PolicySpec::from_args(args, engine)?;
    let text = render(&spec)?;
    match &args.output {
        Some(path) => {
            crate::fsutil::write_file(path, text.as_bytes())
                .map_err(|e| Error::file(path, format!("cannot write the policy: {e}")))?;
            report::info(&format!(
                "wrote the {} for {} to {}",
                spec.kind(),
                crate::verify::describe(&spec.expected),
                path.display()
            ));
        }
        None => report::out(&text),
    }
    Ok(Outcome::Ok)
}

impl PolicySpec {
    pub fn from_args(args: &PolicyArgs, engine: PolicyEngine) -> Result<PolicySpec> {
        let expected = Expected::from_args(&args.identity)?;
        let trust = load_trust(args.trusted_root.as_ref(), args.trust_config.as_ref())?;
        let fail_on_vulns = match &args.fail_on_vulns {
            None => None,
            Some(sev) => match crate::scan::run::threshold(sev) {
                Ok(Some(s)) => Some(s),
                _ => {
                    return Err(Error::Usage(format!(
                        "--fail-on-vulns {sev:?}: use critical, high, medium or low"
                    )))
                }
            },
        };
        let command = command_line(args, engine);
        PolicySpec {
            engine,
            name: args.name.clone(),
            mode: args.mode,
            expected,
            image_patterns: args.image_patterns.clone(),
            attestations: args
                .attestations
                .iter()
                .map(|a| crate::verify::predicate_type_uri(a))
                .collect(),
            fail_on_vulns,
            format: args.signature_format,
            trust,
            kyverno_api: args.kyverno_api,
            tuf: TufRepository::from_args(&args.tuf)?,
            command,
        }
        .checked()
    }

    /// Checks what the types cannot; refuses what the engine would read
    /// differently from `wharf verify`.
    pub fn checked(mut self) -> Result<PolicySpec> {
        check_name(&self.name)?;
        if self.image_patterns.is_empty() {
            return Err(Error::Usage(
                "say which images the policy guards: --image-pattern 'REGISTRY/ORG/*' (repeatable); \
                 an admission policy for no image admits everything"
                    .into(),
            ));
        }
        for pattern in &self.image_patterns {
            check_image_pattern(self.engine, pattern)?;
        }
        if self.fail_on_vulns.is_some() {
            let vuln = crate::verify::predicate_type_uri("vuln");
            if !self.attestations.contains(&vuln) {
                self.attestations.push(vuln);
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        self.attestations.retain(|a| seen.insert(a.clone()));
        for uri in &self.attestations {
            if !uri.contains(':') {
                return Err(Error::Usage(format!(
                    "--attestation {uri:?}: use cyclonedx, spdxjson, slsaprovenance1, vuln or a predicate type URI"
                )));
            }
        }
        if let Expected::Identity { identity, issuer } = &self.expected {
            check_go_regexp(identity, "--certificate-identity-regexp")?;
            check_go_regexp(issuer, "--certificate-oidc-issuer-regexp")?;
        }
        if self.engine == PolicyEngine::PolicyController
            && matches!(self.expected, Expected::Key { .. })
            && self.format.bundle()
            && !self.format.legacy()
        {
            return Err(Error::Usage(
                "policy-controller checks key signatures only in cosign's legacy format (its bundle \
                 format is for keyless signatures): sign with `wharf sign --key … --bundle-format \
                 both` (or legacy) and give --signature-format legacy"
                    .into(),
            ));
        }
        Ok(self)
    }

    fn kind(&self) -> &'static str {
        match self.engine {
            PolicyEngine::Kyverno => match self.kyverno_api {
                KyvernoApi::ImageValidatingPolicy => "Kyverno ImageValidatingPolicy",
                KyvernoApi::ClusterPolicy => "Kyverno ClusterPolicy",
            },
            PolicyEngine::PolicyController => "policy-controller ClusterImagePolicy",
        }
    }

    /// The trust root document's name (policy-controller).
    fn trust_root_name(&self) -> String {
        format!("{}-trust-root", self.name)
    }
}

/// What `wharf run` knows when it writes the policy (its `policy:` section).
pub struct RunPolicy<'a> {
    pub config: &'a crate::run::config::Policy,
    /// The identity verify enforced.
    pub expected: Expected,
    /// The image's repository (`REG/REPO`).
    pub repository: &'a str,
    /// Predicate types the run attested.
    pub attestations: &'a [String],
    pub format: BundleFormat,
    pub trust_config: Option<&'a std::path::Path>,
    pub output_dir: &'a std::path::Path,
}

/// Writes `wharf run`'s policy; returns where.
pub fn write_for_run(run: RunPolicy<'_>) -> Result<PathBuf> {
    let c = run.config;
    let engine = match c.engine.as_deref() {
        Some("policy-controller") => PolicyEngine::PolicyController,
        _ => PolicyEngine::Kyverno,
    };
    let image_patterns = if c.image_patterns.is_empty() {
        vec![format!("{}*", run.repository)]
    } else {
        c.image_patterns.clone()
    };
    let fail_on_vulns = match &c.fail_on_vulns {
        Some(sev) => crate::scan::run::threshold(sev)?,
        None => None,
    };
    let trust = load_trust(None, run.trust_config.map(PathBuf::from).as_ref())?;
    let mut command = vec![format!(
        "wharf policy {}",
        match engine {
            PolicyEngine::Kyverno => "kyverno",
            PolicyEngine::PolicyController => "policy-controller",
        }
    )];
    command.extend(identity_flags(&run.expected));
    command.extend(
        image_patterns
            .iter()
            .map(|p| format!("--image-pattern '{p}'")),
    );
    command.extend(
        run.attestations
            .iter()
            .map(|a| format!("--attestation '{a}'")),
    );
    if let Some(s) = &c.fail_on_vulns {
        command.push(format!("--fail-on-vulns {s}"));
    }
    command.push("(from wharf run's policy: section)".into());
    let spec = PolicySpec {
        engine,
        name: c
            .name
            .clone()
            .unwrap_or_else(|| "wharf-signed-images".into()),
        mode: if c.mode.as_deref() == Some("audit") {
            PolicyMode::Audit
        } else {
            PolicyMode::Enforce
        },
        expected: run.expected,
        image_patterns,
        attestations: run.attestations.to_vec(),
        fail_on_vulns,
        format: run.format,
        trust,
        kyverno_api: KyvernoApi::ImageValidatingPolicy,
        tuf: TufRepository::from_args(&crate::cli::TufArgs::default())?,
        command: command.join(" "),
    }
    .checked()?;
    let text = render(&spec)?;
    let path = c
        .output
        .clone()
        .unwrap_or_else(|| run.output_dir.join("policy.yaml"));
    crate::fsutil::write_file(&path, text.as_bytes())
        .map_err(|e| Error::file(&path, format!("cannot write the policy: {e}")))?;
    Ok(path)
}

/// The identity flags that name `expected`, as `wharf policy` takes them.
fn identity_flags(expected: &Expected) -> Vec<String> {
    let q = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let flag = |base: &str, m: &Matcher| match m {
        Matcher::Exact(e) => format!("--{base} {}", q(e)),
        Matcher::Regex(_) => format!("--{base}-regexp {}", q(m.given())),
    };
    match expected {
        Expected::Identity { identity, issuer } => vec![
            flag("certificate-identity", identity),
            flag("certificate-oidc-issuer", issuer),
        ],
        Expected::Key {
            path, ignore_tlog, ..
        } => {
            // The run knows the signing key; its public half is beside it.
            let shown = match path.extension() {
                Some(e) if e == "key" => path.with_extension("pub"),
                _ => path.clone(),
            };
            let mut v = vec![format!("--key {}", q(&shown.display().to_string()))];
            if *ignore_tlog {
                v.push("--insecure-ignore-tlog".into());
            }
            v
        }
    }
}

fn load_trust(
    trusted_root: Option<&PathBuf>,
    trust_config: Option<&PathBuf>,
) -> Result<Option<Trust>> {
    if trusted_root.is_none() && trust_config.is_none() {
        return Ok(None);
    }
    let loaded = crate::trust::load(
        trusted_root.map(PathBuf::as_path),
        trust_config.map(PathBuf::as_path),
        None,
        true,
    )?;
    let path = trusted_root.or(trust_config).cloned().unwrap_or_default();
    let root = serde_json::to_value(&loaded.root)
        .map_err(|e| Error::file(&path, format!("cannot read its trusted root back: {e}")))?;
    let mut trust = Trust::from_trusted_root(&root, loaded.source.to_string()).map_err(|e| {
        Error::file(
            &path,
            format!("its trusted root cannot go into a policy: {e}"),
        )
    })?;
    // The engines' legacy paths look a signature's entry up in one log, the
    // first: make it the Rekor v1 log the signing config names, where cosign's
    // legacy signatures are (a trusted root does not say which log is v1).
    if let Some(v1) = loaded
        .signing
        .as_ref()
        .and_then(|s| s.rekor_url(Some(1)))
        .map(|e| e.url.trim_end_matches('/').to_string())
    {
        if let Some(i) = trust
            .rekor
            .iter()
            .position(|l| l.url.trim_end_matches('/') == v1)
        {
            let log = trust.rekor.remove(i);
            trust.rekor.insert(0, log);
        }
    }
    Ok(Some(trust))
}

/// `metadata.name`: a DNS-1123 name Kyverno also accepts (at most 63).
fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name.as_bytes()[name.len() - 1].is_ascii_alphanumeric();
    if ok {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "--name {name:?} is not a Kubernetes object name: use at most 63 lowercase letters, \
             digits, '-' and '.', starting and ending with a letter or digit (wharf-signed-images)"
        )))
    }
}

/// Image patterns: Kyverno's wildcard syntax (`*` any characters, `?` one),
/// which policy-controller's globs can say only for `*` (as `**`).
fn check_image_pattern(engine: PolicyEngine, pattern: &str) -> Result<()> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-_:/*.@".contains(c);
    if pattern.is_empty() || pattern.chars().any(|c| !allowed(c) && c != '?') {
        return Err(Error::Usage(format!(
            "--image-pattern {pattern:?}: use registry/repository characters and `*` \
             (for example 'ghcr.io/acme/*')"
        )));
    }
    if engine == PolicyEngine::PolicyController && pattern.contains('?') {
        return Err(Error::Usage(format!(
            "--image-pattern {pattern:?}: policy-controller's globs have no `?`; use `*`"
        )));
    }
    if pattern.trim_matches('*').is_empty() {
        return Err(Error::Usage(format!(
            "--image-pattern {pattern:?} would cover every image of the cluster, system images \
             included: name the registry and repository ('ghcr.io/acme/*')"
        )));
    }
    Ok(())
}

/// policy-controller's glob for a wharf (Kyverno-style) pattern: its `*`
/// stops at `/`, its `**` does not.
fn policy_controller_glob(pattern: &str) -> String {
    let mut out = String::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '*' {
            while chars.peek() == Some(&'*') {
                chars.next();
            }
            out.push_str("**");
        } else {
            out.push(c);
        }
    }
    out
}

/// How one engine must be told about a matcher: `(exact value, regexp)`,
/// exactly one of them set. A regexp is the pattern the matcher runs,
/// already anchored `^(?:…)$`.
fn identity(engine: PolicyEngine, m: &Matcher) -> (Option<String>, Option<String>) {
    match m {
        // Kyverno matches `subject`/`issuer` as wildcard patterns: a literal
        // `*` or `?` would widen the match. An escaped regexp matches the
        // value and nothing else.
        Matcher::Exact(e) if engine == PolicyEngine::Kyverno && e.contains(['*', '?']) => {
            (None, Some(format!("^(?:{})$", regex::escape(e))))
        }
        Matcher::Exact(e) => (Some(e.clone()), None),
        Matcher::Regex(r) => (None, Some(r.as_str().to_string())),
    }
}

/// Refuses regexp constructs that RE2 (Go) reads differently from Rust's
/// `regex`, or not at all: the engines would then enforce another identity.
fn check_go_regexp(m: &Matcher, flag: &str) -> Result<()> {
    let Matcher::Regex(r) = m else {
        return Ok(());
    };
    let pattern = r.as_str();
    let ast = regex_syntax::ast::parse::Parser::new()
        .parse(pattern)
        .map_err(|e| Error::Usage(format!("{flag} {pattern:?} does not parse: {e}")))?;
    let mut problems = Vec::new();
    go_differences(&ast, &mut problems);
    if problems.is_empty() {
        return Ok(());
    }
    let shown = m.to_string();
    Err(Error::Usage(format!(
        "{flag} {shown}: Kyverno and policy-controller run Go's RE2, which reads {} differently \
         from wharf verify (Rust's regex), so the cluster would enforce another identity; \
         write it the way both read alike",
        problems.join("; ")
    )))
}

fn note(out: &mut Vec<String>, s: String) {
    if !out.contains(&s) {
        out.push(s);
    }
}

fn go_flags(f: &regex_syntax::ast::Flags, out: &mut Vec<String>) {
    use regex_syntax::ast::{Flag, FlagsItemKind};
    for item in &f.items {
        let name = match &item.kind {
            FlagsItemKind::Flag(Flag::Unicode) => "u",
            FlagsItemKind::Flag(Flag::CRLF) => "R",
            FlagsItemKind::Flag(Flag::IgnoreWhitespace) => "x",
            _ => continue,
        };
        note(out, format!("the flag `{name}` (RE2 has no such flag)"));
    }
}

fn go_differences(ast: &regex_syntax::ast::Ast, out: &mut Vec<String>) {
    use regex_syntax::ast::{
        AssertionKind, Ast, GroupKind, HexLiteralKind, LiteralKind, RepetitionKind, RepetitionRange,
    };
    match ast {
        Ast::Empty(_) | Ast::Dot(_) => {}
        Ast::Flags(f) => go_flags(&f.flags, out),
        Ast::Literal(l) => {
            if let LiteralKind::HexFixed(
                HexLiteralKind::UnicodeShort | HexLiteralKind::UnicodeLong,
            )
            | LiteralKind::HexBrace(
                HexLiteralKind::UnicodeShort | HexLiteralKind::UnicodeLong,
            ) = &l.kind
            {
                note(out, "`\\u`/`\\U` escapes (write `\\x{…}`)".into());
            }
        }
        Ast::Assertion(a) => match a.kind {
            AssertionKind::StartLine
            | AssertionKind::EndLine
            | AssertionKind::StartText
            | AssertionKind::EndText => {}
            _ => note(
                out,
                "word boundaries (`\\b`, `\\B`, `\\<`, `\\>`: Unicode in Rust, ASCII in RE2)"
                    .into(),
            ),
        },
        Ast::ClassUnicode(_) => note(out, "`\\p{…}` classes (their names differ)".into()),
        Ast::ClassPerl(p) => note(out, perl_class(&p.kind)),
        Ast::ClassBracketed(c) => class_set(&c.kind, out),
        Ast::Repetition(r) => {
            if let RepetitionKind::Range(
                RepetitionRange::Exactly(n)
                | RepetitionRange::AtLeast(n)
                | RepetitionRange::Bounded(_, n),
            ) = &r.op.kind
            {
                if *n > 1000 {
                    note(out, "repetition counts over 1000 (RE2 refuses them)".into());
                }
            }
            if matches!(*r.ast, Ast::Repetition(_)) {
                note(
                    out,
                    "a repetition of a repetition such as `a**` (RE2 refuses it; group it)".into(),
                );
            }
            go_differences(&r.ast, out);
        }
        Ast::Group(g) => {
            if let GroupKind::NonCapturing(f) = &g.kind {
                go_flags(f, out);
            }
            go_differences(&g.ast, out);
        }
        Ast::Alternation(a) => a.asts.iter().for_each(|x| go_differences(x, out)),
        Ast::Concat(c) => c.asts.iter().for_each(|x| go_differences(x, out)),
    }
}

fn perl_class(kind: &regex_syntax::ast::ClassPerlKind) -> String {
    use regex_syntax::ast::ClassPerlKind;
    let (class, ascii) = match kind {
        ClassPerlKind::Digit => ("\\d", "[0-9]"),
        ClassPerlKind::Space => ("\\s", "[\\t\\n\\f\\r ]"),
        ClassPerlKind::Word => ("\\w", "[0-9A-Za-z_]"),
    };
    format!(
        "`{class}`/`{}` (Unicode in Rust, ASCII in RE2: write `{ascii}`)",
        class.to_uppercase()
    )
}

fn class_set(set: &regex_syntax::ast::ClassSet, out: &mut Vec<String>) {
    use regex_syntax::ast::{ClassSet, ClassSetItem};
    let item = match set {
        ClassSet::BinaryOp(_) => {
            note(
                out,
                "class set operations (`&&`, `--`, `~~`: RE2 reads them as characters)".into(),
            );
            return;
        }
        ClassSet::Item(item) => item,
    };
    let items: Vec<&ClassSetItem> = match item {
        ClassSetItem::Union(u) => u.items.iter().collect(),
        other => vec![other],
    };
    for item in items {
        match item {
            ClassSetItem::Unicode(_) => note(out, "`\\p{…}` classes (their names differ)".into()),
            ClassSetItem::Perl(p) => note(out, perl_class(&p.kind)),
            ClassSetItem::Bracketed(_) => note(
                out,
                "a class nested in a class (`[[…]]`: RE2 reads `[` as a character)".into(),
            ),
            _ => {}
        }
    }
}

/// The policy's YAML: a header saying where it came from, then the document(s).
pub fn render(spec: &PolicySpec) -> Result<String> {
    let mut text = header(spec);
    let body = match spec.engine {
        PolicyEngine::Kyverno => match spec.kyverno_api {
            KyvernoApi::ImageValidatingPolicy => to_yaml(&ivpol::policy(spec)?)?,
            KyvernoApi::ClusterPolicy => to_yaml(&kyverno(spec))?,
        },
        PolicyEngine::PolicyController => {
            let mut docs = String::new();
            if let Some(tuf) = spec.controller_tuf() {
                docs.push_str(&to_yaml(&trust_root_remote(spec, tuf))?);
                docs.push_str("---\n");
            } else if let Some(trust) = &spec.trust {
                if spec.controller_bundles() {
                    return Err(Error::Usage(format!(
                        "policy-controller v0.15.1 cannot verify cosign v3 bundles against a TrustRoot \
                         made of keys ({}): it reads their log ids differently from how it looks them \
                         up. Name the instance's TUF repository with --tuf-mirror URL --tuf-root FILE \
                         (a TrustRoot in `remote` form), or sign and check the legacy format \
                         (--signature-format legacy)",
                        trust.source
                    )));
                }
                docs.push_str(&to_yaml(&trust_root(spec, trust))?);
                docs.push_str("---\n");
            }
            docs.push_str(&to_yaml(&cluster_image_policy(spec))?);
            docs
        }
    };
    text.push_str(&body);
    Ok(text)
}

fn to_yaml<T: Serialize>(value: &T) -> Result<String> {
    serde_yaml::to_string(value)
        .map_err(|e| Error::Usage(format!("cannot write the policy as YAML: {e}")))
}

fn header(spec: &PolicySpec) -> String {
    let mut lines = vec![
        format!(
            "Generated by wharf {} — regenerate it rather than edit it:",
            env!("CARGO_PKG_VERSION")
        ),
        format!("  {}", spec.command),
        format!(
            "Admits images matching {} only when signed by {}: the signer `wharf verify` accepts for the same flags.",
            spec.image_patterns.join(", "),
            crate::verify::describe(&spec.expected)
        ),
    ];
    if matches!(spec.expected, Expected::Identity { .. }) {
        lines.push(
            "Regular expressions are anchored ^(?:…)$ as wharf matches them; the engine would otherwise search them anywhere in the value."
                .into(),
        );
    }
    if !spec.attestations.is_empty() {
        lines.push(format!(
            "Also required, from the same signer: {} attestation(s).",
            spec.attestations.join(", ")
        ));
    }
    if let Some(sev) = spec.fail_on_vulns {
        lines.push(format!(
            "The vuln attestation (wharf attest --type vuln) must count no unsuppressed finding at {} or worse (scanner.result.summary); a predicate without those counts is refused.",
            sev.as_str()
        ));
    }
    match spec.engine {
        PolicyEngine::Kyverno if spec.kyverno_api == KyvernoApi::ImageValidatingPolicy => {
            lines.push(
                "Needs Kyverno 1.17 or later (ImageValidatingPolicy, policies.kyverno.io/v1); --kyverno-api cluster-policy writes a ClusterPolicy for older clusters.".into(),
            );
            lines.push("Every container, init and ephemeral container image of a pod must verify; a pod naming a tag rather than a digest is refused (pin it: wharf pin).".into());
            let log_unchecked = matches!(
                spec.expected,
                Expected::Key {
                    ignore_tlog: true,
                    ..
                }
            );
            match &spec.tuf {
                _ if log_unchecked => lines.push(
                    "Only the key's signature is checked (--insecure-ignore-tlog): no log, no Sigstore trust.".into(),
                ),
                Some(t) => lines.push(format!(
                    "Trust comes from the TUF repository {} (its root is in the policy), as `wharf verify --tuf-mirror` reads it.",
                    t.mirror
                )),
                None => lines.push("Trust comes from Sigstore public-good's TUF repository (Kyverno's default).".into()),
            }
        }
        PolicyEngine::Kyverno => {
            lines.push(
                "Needs Kyverno 1.13 or later (verifyImages failureAction, type SigstoreBundle)."
                    .into(),
            );
            if spec.format.bundle() {
                lines.push("type SigstoreBundle reads the Sigstore bundles wharf sign attaches (referrers, or the sha256-<digest> fallback tag).".into());
                if let Some(t) = &spec.trust {
                    lines.push(format!(
                        "Kyverno checks bundles against its own TUF trust root, not per policy: start it with --tufRoot/--tufMirror serving the trusted root of {}.",
                        t.source
                    ));
                }
            } else {
                lines.push("type Cosign reads cosign's legacy .sig/.att tags (wharf sign --bundle-format legacy or both).".into());
            }
        }
        PolicyEngine::PolicyController => {
            if spec.format.bundle() {
                lines.push("signatureFormat bundle reads the Sigstore bundles wharf sign attaches (cosign v3's layout; keyless only).".into());
            } else {
                lines.push("signatureFormat legacy reads cosign's .sig/.att tags (wharf sign --bundle-format legacy or both).".into());
            }
            if spec.trust.is_some() {
                lines.push("The TrustRoot below carries the private Sigstore's keys; apply it with the policy.".into());
            }
            if spec.image_patterns.iter().any(|p| p.contains('*')) {
                lines.push("`*` in --image-pattern crosses `/` (Kyverno's meaning); it is written as policy-controller's `**`.".into());
            }
        }
    }
    if spec.mode == PolicyMode::Audit {
        lines.push(
            "Mode audit: images that do not verify are admitted and reported, not refused.".into(),
        );
    }
    let mut out = String::new();
    for line in lines {
        out.push_str("# ");
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// The command line that writes this policy.
fn command_line(args: &PolicyArgs, engine: PolicyEngine) -> String {
    let q = |s: &str| {
        if !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./:@=".contains(c))
        {
            s.to_string()
        } else {
            format!("'{}'", s.replace('\'', r"'\''"))
        }
    };
    let mut cmd = vec![
        "wharf policy".to_string(),
        match engine {
            PolicyEngine::Kyverno => "kyverno".into(),
            PolicyEngine::PolicyController => "policy-controller".into(),
        },
    ];
    let id = &args.identity;
    let mut flag = |name: &str, value: Option<&String>| {
        if let Some(v) = value {
            cmd.push(format!("--{name} {}", q(v)));
        }
    };
    flag("certificate-identity", id.certificate_identity.as_ref());
    flag(
        "certificate-identity-regexp",
        id.certificate_identity_regexp.as_ref(),
    );
    flag(
        "certificate-oidc-issuer",
        id.certificate_oidc_issuer.as_ref(),
    );
    flag(
        "certificate-oidc-issuer-regexp",
        id.certificate_oidc_issuer_regexp.as_ref(),
    );
    if let Some(k) = &id.key {
        cmd.push(format!("--key {}", q(&k.display().to_string())));
    }
    if id.insecure_ignore_tlog {
        cmd.push("--insecure-ignore-tlog".into());
    }
    for p in &args.image_patterns {
        cmd.push(format!("--image-pattern {}", q(p)));
    }
    for a in &args.attestations {
        cmd.push(format!("--attestation {}", q(a)));
    }
    if let Some(s) = &args.fail_on_vulns {
        cmd.push(format!("--fail-on-vulns {}", q(s)));
    }
    if args.signature_format != BundleFormat::Bundle {
        cmd.push("--signature-format legacy".into());
    }
    if let Some(p) = args.trusted_root.as_ref().or(args.trust_config.as_ref()) {
        let name = if args.trusted_root.is_some() {
            "trusted-root"
        } else {
            "trust-config"
        };
        cmd.push(format!("--{name} {}", q(&p.display().to_string())));
    }
    if let Some(m) = &args.tuf.tuf_mirror {
        cmd.push(format!("--tuf-mirror {}", q(m)));
    }
    if let Some(r) = &args.tuf.tuf_root {
        cmd.push(format!("--tuf-root {}", q(&r.display().to_string())));
    }
    if engine == PolicyEngine::Kyverno && args.kyverno_api == KyvernoApi::ClusterPolicy {
        cmd.push("--kyverno-api cluster-policy".into());
    }
    if args.name != "wharf-signed-images" {
        cmd.push(format!("--name {}", q(&args.name)));
    }
    if args.mode == PolicyMode::Audit {
        cmd.push("--mode audit".into());
    }
    cmd.join(" ")
}

// ---- Kyverno: kyverno.io/v1 ClusterPolicy ------------------------------

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KyvernoPolicy {
    api_version: &'static str,
    kind: &'static str,
    metadata: Metadata,
    spec: KyvernoSpec,
}

#[derive(Serialize)]
struct Metadata {
    name: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<String, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KyvernoSpec {
    /// Image verification is an admission check: there is nothing to
    /// re-verify on resources already admitted.
    background: bool,
    /// Signature checks call registries and Rekor: Kyverno's 10 s default
    /// is short for them.
    webhook_timeout_seconds: u32,
    failure_policy: &'static str,
    rules: Vec<KyvernoRule>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KyvernoRule {
    name: &'static str,
    #[serde(rename = "match")]
    matches: KyvernoMatch,
    verify_images: Vec<VerifyImages>,
}

#[derive(Serialize)]
struct KyvernoMatch {
    any: Vec<ResourceFilter>,
}

#[derive(Serialize)]
struct ResourceFilter {
    resources: Resources,
}

#[derive(Serialize)]
struct Resources {
    kinds: Vec<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VerifyImages {
    image_references: Vec<String>,
    #[serde(rename = "type")]
    kind: &'static str,
    failure_action: &'static str,
    /// Pods run the digest that verified, not a tag that may move after.
    mutate_digest: bool,
    verify_digest: bool,
    required: bool,
    attestors: Vec<AttestorSet>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attestations: Vec<KyvernoAttestation>,
}

#[derive(Serialize, Clone)]
struct AttestorSet {
    count: u32,
    entries: Vec<Attestor>,
}

#[derive(Serialize, Clone)]
struct Attestor {
    #[serde(skip_serializing_if = "Option::is_none")]
    keyless: Option<Keyless>,
    #[serde(skip_serializing_if = "Option::is_none")]
    keys: Option<Keys>,
}

#[derive(Serialize, Clone, Default)]
#[serde(rename_all = "camelCase")]
struct Keyless {
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject_reg_exp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    issuer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    issuer_reg_exp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    roots: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rekor: Option<Rekor>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ctlog: Option<CtLog>,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "camelCase")]
struct Keys {
    public_keys: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    rekor: Option<Rekor>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ctlog: Option<CtLog>,
}

#[derive(Serialize, Clone, Default)]
#[serde(rename_all = "camelCase")]
struct Rekor {
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pubkey: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ignore_tlog: Option<bool>,
}

#[derive(Serialize, Clone, Default)]
struct CtLog {
    #[serde(skip_serializing_if = "Option::is_none")]
    pubkey: Option<String>,
    #[serde(rename = "ignoreSCT", skip_serializing_if = "Option::is_none")]
    ignore_sct: Option<bool>,
}

#[derive(Serialize)]
struct KyvernoAttestation {
    #[serde(rename = "type")]
    kind: String,
    attestors: Vec<AttestorSet>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    conditions: Vec<AllConditions>,
}

#[derive(Serialize)]
struct AllConditions {
    all: Vec<Condition>,
}

#[derive(Serialize)]
struct Condition {
    key: String,
    operator: &'static str,
    value: u64,
    message: String,
}

/// The severities whose count must be zero: those `wharf scan --fail-on
/// SEV` counts (`low` counts unrated findings too).
fn gated_severities(threshold: Severity) -> Vec<Severity> {
    [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Unknown,
    ]
    .into_iter()
    .filter(|s| crate::scan::run::fails(*s, Some(threshold)))
    .collect()
}

/// The instance's Rekor (public-good's without a private one), by URL only.
fn log_url_only(spec: &PolicySpec) -> Rekor {
    Rekor {
        url: Some(
            spec.trust
                .as_ref()
                .and_then(|t| t.rekor_url())
                .unwrap_or(PUBLIC_REKOR)
                .to_string(),
        ),
        ..Rekor::default()
    }
}

fn kyverno_attestor(spec: &PolicySpec) -> Attestor {
    // Legacy (type Cosign) reads the trust material from the policy;
    // SigstoreBundle from Kyverno's TUF root only.
    let trust = spec.trust.as_ref().filter(|_| !spec.format.bundle());
    match &spec.expected {
        Expected::Identity {
            identity: id,
            issuer,
        } => {
            let mut k = Keyless::default();
            (k.subject, k.subject_reg_exp) = identity(PolicyEngine::Kyverno, id);
            (k.issuer, k.issuer_reg_exp) = identity(PolicyEngine::Kyverno, issuer);
            if let Some(t) = trust {
                k.roots = Some(t.roots_pem()).filter(|r| !r.is_empty());
                k.rekor = t.rekor.first().map(|l| Rekor {
                    url: Some(l.url.clone()),
                    pubkey: Some(l.key_pem.clone()),
                    ignore_tlog: None,
                });
                k.ctlog = t.ctlogs.first().map(|l| CtLog {
                    pubkey: Some(l.key_pem.clone()),
                    ignore_sct: None,
                });
            }
            if k.rekor.is_none() && k.roots.is_none() {
                // Kyverno refuses a keyless attestor with neither ("Either
                // Rekor URL or roots are required"): name the instance's log.
                k.rekor = Some(log_url_only(spec));
            }
            Attestor {
                keyless: Some(k),
                keys: None,
            }
        }
        Expected::Key {
            key, ignore_tlog, ..
        } => {
            let (rekor, ctlog) = if *ignore_tlog {
                // Only the signature is checked, as `wharf verify --key
                // --insecure-ignore-tlog` does: no log, no SCT to look for.
                (
                    Some(Rekor {
                        ignore_tlog: Some(true),
                        ..Rekor::default()
                    }),
                    Some(CtLog {
                        ignore_sct: Some(true),
                        pubkey: None,
                    }),
                )
            } else {
                let rekor = match trust.and_then(|t| t.rekor.first()) {
                    Some(l) => Rekor {
                        url: Some(l.url.clone()),
                        pubkey: Some(l.key_pem.clone()),
                        ignore_tlog: None,
                    },
                    None => log_url_only(spec),
                };
                // A key signature has no certificate, so no SCT: without
                // this Kyverno's legacy path still loads the CT log's keys
                // from its TUF root and fails there.
                let ctlog = trust.map(|_| CtLog {
                    pubkey: None,
                    ignore_sct: Some(true),
                });
                (Some(rekor), ctlog)
            };
            Attestor {
                keyless: None,
                keys: Some(Keys {
                    public_keys: pem("PUBLIC KEY", key.as_bytes()),
                    rekor,
                    ctlog,
                }),
            }
        }
    }
}

fn kyverno(spec: &PolicySpec) -> KyvernoPolicy {
    let enforce = spec.mode == PolicyMode::Enforce;
    let attestors = vec![AttestorSet {
        count: 1,
        entries: vec![kyverno_attestor(spec)],
    }];
    let vuln = crate::verify::predicate_type_uri("vuln");
    let attestations = spec
        .attestations
        .iter()
        .map(|uri| KyvernoAttestation {
            kind: uri.clone(),
            attestors: attestors.clone(),
            conditions: match spec.fail_on_vulns {
                Some(sev) if *uri == vuln => vec![AllConditions {
                    all: gated_severities(sev)
                        .into_iter()
                        .map(|s| {
                            let key = s.as_str().to_ascii_lowercase();
                            Condition {
                                key: format!("{{{{ scanner.result.summary.{key} }}}}"),
                                operator: "Equals",
                                value: 0,
                                message: format!(
                                    "the image's vuln attestation counts {} findings (wharf scan --fail-on {})",
                                    s.as_str(),
                                    sev.as_str().to_ascii_lowercase()
                                ),
                            }
                        })
                        .collect(),
                }],
                _ => Vec::new(),
            },
        })
        .collect();
    let mut annotations = BTreeMap::new();
    annotations.insert(
        "policies.kyverno.io/title".to_string(),
        "Images signed by the CI identity (wharf)".to_string(),
    );
    annotations.insert(
        "policies.kyverno.io/description".to_string(),
        format!(
            "Admits {} only when signed by {}, as `wharf verify` checks it.",
            spec.image_patterns.join(", "),
            crate::verify::describe(&spec.expected)
        ),
    );
    KyvernoPolicy {
        api_version: "kyverno.io/v1",
        kind: "ClusterPolicy",
        metadata: Metadata {
            name: spec.name.clone(),
            annotations,
        },
        spec: KyvernoSpec {
            background: false,
            webhook_timeout_seconds: 30,
            failure_policy: "Fail",
            rules: vec![KyvernoRule {
                name: "verify-signature",
                matches: KyvernoMatch {
                    any: vec![ResourceFilter {
                        resources: Resources { kinds: vec!["Pod"] },
                    }],
                },
                verify_images: vec![VerifyImages {
                    image_references: spec.image_patterns.clone(),
                    kind: if spec.format.bundle() {
                        "SigstoreBundle"
                    } else {
                        "Cosign"
                    },
                    failure_action: if enforce { "Enforce" } else { "Audit" },
                    // Kyverno refuses digest mutation under Audit.
                    mutate_digest: enforce,
                    verify_digest: true,
                    required: true,
                    attestors,
                    attestations,
                }],
            }],
        },
    }
}

// ---- policy-controller: policy.sigstore.dev/v1beta1 ClusterImagePolicy --

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ClusterImagePolicy {
    api_version: &'static str,
    kind: &'static str,
    metadata: Metadata,
    spec: CipSpec,
}

#[derive(Serialize)]
struct CipSpec {
    images: Vec<Glob>,
    authorities: Vec<Authority>,
    mode: &'static str,
}

#[derive(Serialize)]
struct Glob {
    glob: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Authority {
    name: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<KeyRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    keyless: Option<KeylessRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ctlog: Option<TLog>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attestations: Vec<CipAttestation>,
    signature_format: &'static str,
}

#[derive(Serialize)]
struct KeyRef {
    data: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KeylessRef {
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    identities: Vec<CipIdentity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trust_root_ref: Option<String>,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct CipIdentity {
    #[serde(skip_serializing_if = "Option::is_none")]
    issuer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    issuer_reg_exp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject_reg_exp: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TLog {
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trust_root_ref: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CipAttestation {
    name: String,
    predicate_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    policy: Option<CipPolicy>,
}

#[derive(Serialize)]
struct CipPolicy {
    #[serde(rename = "type")]
    kind: &'static str,
    data: String,
}

/// The Rego policy on the vuln attestation. Rego, not CUE: CUE unifies a
/// missing count with the policy's 0 and passes; Rego leaves the rule
/// undefined and refuses. `import rego.v1` reads the same under OPA 0.x and 1.x.
fn vuln_rego(threshold: Severity) -> String {
    let mut rego = String::from(
        "package sigstore\n\nimport rego.v1\n\ndefault isCompliant := false\n\nisCompliant if {\n",
    );
    rego.push_str(&format!(
        "  input.predicateType == \"{}\"\n",
        crate::verify::predicate_type_uri("vuln")
    ));
    for s in gated_severities(threshold) {
        rego.push_str(&format!(
            "  input.predicate.scanner.result.summary.{} == 0\n",
            s.as_str().to_ascii_lowercase()
        ));
    }
    rego.push_str("}\n");
    rego
}

/// A name for an attestation (policy-controller wants one per authority).
fn attestation_name(uri: &str) -> String {
    let known = [
        ("cyclonedx", "cyclonedx"),
        ("spdxjson", "spdx"),
        ("slsaprovenance1", "slsa-provenance-v1"),
        ("slsaprovenance02", "slsa-provenance-v02"),
        ("vuln", "vuln"),
    ];
    for (short, name) in known {
        if crate::verify::predicate_type_uri(short) == uri {
            return name.to_string();
        }
    }
    let mut name: String = uri
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    while name.contains("--") {
        name = name.replace("--", "-");
    }
    name.trim_matches('-').to_string()
}

fn cluster_image_policy(spec: &PolicySpec) -> ClusterImagePolicy {
    let trust_ref =
        (spec.trust.is_some() || spec.controller_tuf().is_some()).then(|| spec.trust_root_name());
    let rekor_url = spec
        .trust
        .as_ref()
        .and_then(|t| t.rekor_url())
        .map(str::to_string);
    let (key, keyless, ctlog) = match &spec.expected {
        Expected::Identity {
            identity: id,
            issuer,
        } => {
            let mut identity_doc = CipIdentity::default();
            (identity_doc.subject, identity_doc.subject_reg_exp) =
                identity(PolicyEngine::PolicyController, id);
            (identity_doc.issuer, identity_doc.issuer_reg_exp) =
                identity(PolicyEngine::PolicyController, issuer);
            let fulcio = spec
                .trust
                .as_ref()
                .and_then(|t| t.fulcio.first())
                .map(|ca| ca.uri.clone())
                .filter(|u| !u.is_empty());
            let keyless = KeylessRef {
                url: fulcio,
                identities: vec![identity_doc],
                trust_root_ref: trust_ref.clone(),
            };
            let ctlog = trust_ref.as_ref().map(|r| TLog {
                url: rekor_url.clone(),
                trust_root_ref: Some(r.clone()),
            });
            (None, Some(keyless), ctlog)
        }
        Expected::Key {
            key, ignore_tlog, ..
        } => {
            // Without `ctlog` policy-controller skips the log for a key:
            // that is what --insecure-ignore-tlog asks, and only then.
            let ctlog = (!ignore_tlog).then(|| TLog {
                url: Some(
                    rekor_url
                        .clone()
                        .unwrap_or_else(|| PUBLIC_REKOR.to_string()),
                ),
                trust_root_ref: trust_ref.clone(),
            });
            (
                Some(KeyRef {
                    data: pem("PUBLIC KEY", key.as_bytes()),
                }),
                None,
                ctlog,
            )
        }
    };
    // policy-controller v0.15.1 checks a bundle *signature* only as an
    // attestation of cosign's signing predicate type ("bundle support for
    // image signatures is not yet implemented" otherwise).
    let signature = spec.controller_bundles().then(|| CipAttestation {
        name: "signature".into(),
        predicate_type: crate::verify::SIGN_PREDICATE_TYPE.into(),
        policy: None,
    });
    let attestations = signature
        .into_iter()
        .chain(spec.attestations.iter().map(|uri| {
            CipAttestation {
                name: attestation_name(uri),
                predicate_type: uri.clone(),
                policy: spec
                    .fail_on_vulns
                    .filter(|_| *uri == crate::verify::predicate_type_uri("vuln"))
                    .map(|sev| CipPolicy {
                        kind: "rego",
                        data: vuln_rego(sev),
                    }),
            }
        }))
        .collect();
    ClusterImagePolicy {
        api_version: "policy.sigstore.dev/v1beta1",
        kind: "ClusterImagePolicy",
        metadata: Metadata {
            name: spec.name.clone(),
            annotations: BTreeMap::new(),
        },
        spec: CipSpec {
            images: spec
                .image_patterns
                .iter()
                .map(|p| Glob {
                    glob: policy_controller_glob(p),
                })
                .collect(),
            authorities: vec![Authority {
                name: "wharf-signer",
                key,
                keyless,
                ctlog,
                attestations,
                signature_format: if spec.controller_bundles() {
                    "bundle"
                } else {
                    "legacy"
                },
            }],
            mode: match spec.mode {
                PolicyMode::Enforce => "enforce",
                PolicyMode::Audit => "warn",
            },
        },
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TrustRootDoc {
    api_version: &'static str,
    kind: &'static str,
    metadata: Metadata,
    spec: TrustRootSpec,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TrustRootSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    sigstore_keys: Option<SigstoreKeys>,
    #[serde(skip_serializing_if = "Option::is_none")]
    remote: Option<RemoteDoc>,
}

/// A TrustRoot read from a TUF repository (`remote`): the in-cluster
/// reconciler fetches `trusted_root.json` through it.
#[derive(Serialize)]
struct RemoteDoc {
    mirror: String,
    /// `root.json`, base64.
    root: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SigstoreKeys {
    certificate_authorities: Vec<CaDoc>,
    #[serde(rename = "tLogs", skip_serializing_if = "Vec::is_empty")]
    tlogs: Vec<LogDoc>,
    #[serde(rename = "ctLogs", skip_serializing_if = "Vec::is_empty")]
    ctlogs: Vec<LogDoc>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CaDoc {
    subject: Subject,
    uri: String,
    /// Go `[]byte`: base64 of the PEM chain.
    cert_chain: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Subject {
    organization: String,
    common_name: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogDoc {
    #[serde(rename = "baseURL")]
    base_url: String,
    hash_algorithm: String,
    /// Go `[]byte`: base64 of the PEM key.
    public_key: String,
}

fn trust_root(spec: &PolicySpec, trust: &Trust) -> TrustRootDoc {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    let hash = |h: &str| match h {
        "SHA2_384" => "sha-384",
        "SHA2_512" => "sha-512",
        _ => "sha-256",
    };
    let log = |l: &Log| LogDoc {
        base_url: l.url.clone(),
        hash_algorithm: hash(&l.hash_algorithm).to_string(),
        public_key: b64(&l.key_pem),
    };
    trust_root_doc(
        spec,
        TrustRootSpec {
            remote: None,
            sigstore_keys: Some(SigstoreKeys {
                certificate_authorities: trust
                    .fulcio
                    .iter()
                    .map(|ca| CaDoc {
                        subject: Subject {
                            organization: ca.organization.clone(),
                            common_name: ca.common_name.clone(),
                        },
                        uri: ca.uri.clone(),
                        cert_chain: b64(&ca.chain_pem),
                    })
                    .collect(),
                tlogs: trust.rekor.iter().map(log).collect(),
                ctlogs: trust.ctlogs.iter().map(log).collect(),
            }),
        },
    )
}

/// The TrustRoot document (named after the policy) around `inner`.
fn trust_root_doc(spec: &PolicySpec, inner: TrustRootSpec) -> TrustRootDoc {
    TrustRootDoc {
        api_version: "policy.sigstore.dev/v1alpha1",
        kind: "TrustRoot",
        metadata: Metadata {
            name: spec.trust_root_name(),
            annotations: BTreeMap::new(),
        },
        spec: inner,
    }
}

/// The TrustRoot of a TUF repository (`remote` form).
fn trust_root_remote(spec: &PolicySpec, tuf: &TufRepository) -> TrustRootDoc {
    use base64::Engine as _;
    trust_root_doc(
        spec,
        TrustRootSpec {
            sigstore_keys: None,
            remote: Some(RemoteDoc {
                mirror: tuf.mirror.clone(),
                root: base64::engine::general_purpose::STANDARD.encode(&tuf.root),
            }),
        },
    )
}

impl PolicySpec {
    /// policy-controller checks this policy's signatures as cosign v3
    /// bundles (keyless; a key only in the legacy format).
    fn controller_bundles(&self) -> bool {
        self.format.bundle() && !matches!(self.expected, Expected::Key { .. })
    }

    /// The TUF repository policy-controller reads trust from: for bundles
    /// (its `sigstoreKeys` TrustRoot cannot verify bundles in v0.15.1).
    fn controller_tuf(&self) -> Option<&TufRepository> {
        self.tuf.as_ref().filter(|_| self.controller_bundles())
    }
}

#[cfg(test)]
mod tests;
