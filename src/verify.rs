//! `wharf verify-blob` (and, as the signing step lands, `wharf verify`):
//! check a Sigstore bundle exactly as an admission controller would — the
//! signature, the certificate chain to the trusted Fulcio, the embedded SCT,
//! the transparency-log inclusion and timestamps, and that the signer is the
//! identity the caller names.
//!
//! The cryptography is sigstore-rust's `sigstore-verify`; this module turns
//! flags into a policy, adds what the library leaves to callers (identity
//! regular expressions, matched against the whole value), and reports why a
//! bundle was refused.

use std::path::{Path, PathBuf};

use sigstore_verify::types::{Bundle, DerPublicKey, Sha256Hash};
use sigstore_verify::{PublicKeyVerificationPolicy, VerificationPolicy, Verifier};

use crate::cli::{IdentityArgs, VerifyBlobArgs};
use crate::error::{Error, Result};
use crate::{report, trust, Outcome};

/// Bundles are small JSON documents; a DSSE attestation with a large SBOM
/// predicate is the biggest honest one.
const BUNDLE_MAX: u64 = 64 << 20;

/// How a certificate's identity or issuer must look.
#[derive(Debug, Clone)]
pub enum Matcher {
    Exact(String),
    /// Matched against the whole value (`^(?:…)$`): an unanchored pattern
    /// like `github.com/org/` would otherwise accept any repository that
    /// merely contains it.
    Regex(regex::Regex),
}

impl Matcher {
    fn new(
        exact: Option<&String>,
        pattern: Option<&String>,
        flag: &str,
    ) -> Result<Option<Matcher>> {
        match (exact, pattern) {
            (Some(_), Some(_)) => Err(Error::Usage(format!(
                "give --{flag} or --{flag}-regexp, not both"
            ))),
            (Some(e), None) => Ok(Some(Matcher::Exact(e.clone()))),
            (None, Some(p)) => regex::Regex::new(&format!("^(?:{p})$"))
                .map(|r| Some(Matcher::Regex(r)))
                .map_err(|e| {
                    Error::Usage(format!(
                        "--{flag}-regexp {p:?} is not a valid regular expression: {e}"
                    ))
                }),
            (None, None) => Ok(None),
        }
    }

    pub fn matches(&self, value: &str) -> bool {
        match self {
            Matcher::Exact(e) => e == value,
            Matcher::Regex(r) => r.is_match(value),
        }
    }
}

impl std::fmt::Display for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Matcher::Exact(e) => f.write_str(e),
            Matcher::Regex(r) => {
                let s = r.as_str();
                let inner = s
                    .strip_prefix("^(?:")
                    .and_then(|s| s.strip_suffix(")$"))
                    .unwrap_or(s);
                write!(f, "/{inner}/")
            }
        }
    }
}

/// Who must have signed: a keyless identity, or the holder of a key.
pub enum Expected {
    Identity { identity: Matcher, issuer: Matcher },
    Key { path: PathBuf, key: DerPublicKey },
}

impl Expected {
    pub fn from_args(args: &IdentityArgs) -> Result<Expected> {
        let identity = Matcher::new(
            args.certificate_identity.as_ref(),
            args.certificate_identity_regexp.as_ref(),
            "certificate-identity",
        )?;
        let issuer = Matcher::new(
            args.certificate_oidc_issuer.as_ref(),
            args.certificate_oidc_issuer_regexp.as_ref(),
            "certificate-oidc-issuer",
        )?;
        if let Some(path) = &args.key {
            if identity.is_some() || issuer.is_some() {
                return Err(Error::Usage(
                    "--key verifies a key signature; drop --certificate-identity/--certificate-oidc-issuer, \
                     which are for keyless signatures"
                        .into(),
                ));
            }
            let pem = std::fs::read_to_string(path)
                .map_err(|e| Error::file(path, format!("cannot read the public key: {e}")))?;
            let key = DerPublicKey::from_pem(&pem)
                .map_err(|e| Error::file(path, format!("not a PEM public key: {e}")))?;
            return Ok(Expected::Key {
                path: path.clone(),
                key,
            });
        }
        match (identity, issuer) {
            (Some(identity), Some(issuer)) => Ok(Expected::Identity { identity, issuer }),
            (None, _) => Err(Error::Usage(
                "say who must have signed: --certificate-identity (or --certificate-identity-regexp) \
                 and --certificate-oidc-issuer, or --key PUB for a key signature"
                    .into(),
            )),
            (Some(_), None) => Err(Error::Usage(
                "--certificate-oidc-issuer (or --certificate-oidc-issuer-regexp) is required with \
                 --certificate-identity: an identity means nothing without the issuer that vouched for it \
                 (GitHub Actions: https://token.actions.githubusercontent.com)"
                    .into(),
            )),
        }
    }
}

/// What a blob verification is about: a file, or the sha256 of one.
enum Subject {
    File(PathBuf),
    Digest(Sha256Hash),
}

impl Subject {
    fn parse(input: &str) -> Result<Subject> {
        if let Some(hex) = input.strip_prefix("sha256:") {
            if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(Error::Usage(format!(
                    "{input:?} is not sha256: followed by 64 hex digits"
                )));
            }
            let hash = Sha256Hash::from_hex(hex)
                .map_err(|e| Error::Usage(format!("{input:?} is not a sha256 digest: {e}")))?;
            return Ok(Subject::Digest(hash));
        }
        Ok(Subject::File(PathBuf::from(input)))
    }
}

/// Runs `wharf verify-blob`.
pub fn verify_blob(args: &VerifyBlobArgs) -> Result<Outcome> {
    let expected = Expected::from_args(&args.identity)?;
    let bundle_path = args.bundle.as_deref().ok_or_else(|| {
        Error::Usage("--bundle FILE is required: the Sigstore bundle to verify".into())
    })?;
    let subject = Subject::parse(&args.input)?;
    if let Subject::File(path) = &subject {
        if !path.is_file() {
            return Err(Error::file(
                path,
                "no such file to verify (give a file or sha256:HEX)",
            ));
        }
    }
    let trust = trust::load(args.trusted_root.as_deref(), args.trust_config.as_deref())?;
    let bundle_text = read_bounded(bundle_path)?;

    match check(&bundle_text, &subject, &expected, &trust) {
        Ok(summary) => {
            report::out(&format!("Verified OK: {summary}"));
            Ok(Outcome::Ok)
        }
        Err(why) => {
            report::out(&format!(
                "Verification failed: {}: {why}",
                bundle_path.display()
            ));
            Ok(Outcome::PolicyNo)
        }
    }
}

/// Verifies; `Err` is the reason the bundle was refused.
fn check(
    bundle_text: &str,
    subject: &Subject,
    expected: &Expected,
    trust: &trust::Trust,
) -> Result<String, String> {
    let bundle =
        Bundle::from_json(bundle_text).map_err(|e| format!("the bundle is malformed: {e}"))?;
    let verifier =
        Verifier::new(&trust.root).map_err(|e| format!("the {} is unusable: {e}", trust.source))?;
    let what = match subject {
        Subject::File(p) => p.display().to_string(),
        Subject::Digest(d) => format!("sha256:{}", d.to_hex()),
    };
    match expected {
        Expected::Key { path, key } => {
            let policy = PublicKeyVerificationPolicy::new(key.clone());
            run(&verifier, subject, &bundle, &policy)?;
            Ok(format!("{what} signed by the key {}", path.display()))
        }
        Expected::Identity { identity, issuer } => {
            let mut policy = VerificationPolicy::any_identity();
            if let Matcher::Exact(i) = identity {
                policy = policy.require_identity(i.as_str());
            }
            if let Matcher::Exact(i) = issuer {
                policy = policy.require_issuer(i.as_str());
            }
            let result = run(&verifier, subject, &bundle, &policy)?;
            let signer = result
                .identity()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default();
            let signer_issuer = result.issuer().unwrap_or_default().to_string();
            if !identity.matches(&signer) {
                return Err(format!("signed by {signer:?}, not by {identity}"));
            }
            if !issuer.matches(&signer_issuer) {
                return Err(format!(
                    "the signer's OIDC issuer is {signer_issuer:?}, not {issuer}"
                ));
            }
            Ok(format!(
                "{what} signed by {signer} (issuer {signer_issuer})"
            ))
        }
    }
}

fn run(
    verifier: &Verifier,
    subject: &Subject,
    bundle: &Bundle,
    policy: &(impl sigstore_verify::Policy + ?Sized),
) -> Result<sigstore_verify::VerificationResult, String> {
    let result = match subject {
        Subject::Digest(d) => verifier.verify(d, bundle, policy),
        Subject::File(path) => {
            let file = std::fs::File::open(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            verifier.verify_reader(std::io::BufReader::new(file), bundle, policy)
        }
    };
    result.map_err(|e| e.to_string())
}

fn read_bounded(path: &Path) -> Result<String> {
    use std::io::Read;
    let file = std::fs::File::open(path)
        .map_err(|e| Error::file(path, format!("cannot read the bundle: {e}")))?;
    let mut text = String::new();
    file.take(BUNDLE_MAX + 1)
        .read_to_string(&mut text)
        .map_err(|e| Error::file(path, format!("cannot read the bundle as UTF-8 text: {e}")))?;
    if text.len() as u64 > BUNDLE_MAX {
        return Err(Error::file(
            path,
            format!(
                "larger than {} MiB: not a Sigstore bundle",
                BUNDLE_MAX >> 20
            ),
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regexps_match_the_whole_identity() {
        let m = Matcher::new(None, Some(&"https://github.com/org/.*".to_string()), "x")
            .unwrap()
            .unwrap();
        assert!(m.matches("https://github.com/org/repo/.github/workflows/ci.yml@refs/heads/main"));
        assert!(!m.matches("https://evil.example/https://github.com/org/repo"));
        let m = Matcher::new(None, Some(&"org/repo".to_string()), "x")
            .unwrap()
            .unwrap();
        assert!(
            !m.matches("https://github.com/org/repo"),
            "a substring is not a match"
        );
        assert_eq!(m.to_string(), "/org/repo/");
    }

    #[test]
    fn identity_flags_are_validated() {
        let args = |id: Option<&str>, iss: Option<&str>| IdentityArgs {
            certificate_identity: id.map(str::to_string),
            certificate_identity_regexp: None,
            certificate_oidc_issuer: iss.map(str::to_string),
            certificate_oidc_issuer_regexp: None,
            key: None,
        };
        assert!(Expected::from_args(&args(Some("a"), Some("b"))).is_ok());
        let err = Expected::from_args(&args(Some("a"), None))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("--certificate-oidc-issuer"), "{err}");
        let err = Expected::from_args(&args(None, None))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("--key"), "{err}");
        let mut both = args(Some("a"), Some("b"));
        both.certificate_identity_regexp = Some("a.*".into());
        assert!(Expected::from_args(&both).is_err());
        let mut bad = args(None, Some("b"));
        bad.certificate_identity_regexp = Some("(".into());
        let err = Expected::from_args(&bad).err().unwrap().to_string();
        assert!(err.contains("not a valid regular expression"), "{err}");
    }

    #[test]
    fn digests_must_be_sha256_hex() {
        assert!(matches!(
            Subject::parse(&format!("sha256:{}", "a".repeat(64))),
            Ok(Subject::Digest(_))
        ));
        assert!(Subject::parse("sha256:abc").is_err());
        assert!(matches!(Subject::parse("file.txt"), Ok(Subject::File(_))));
    }
}
