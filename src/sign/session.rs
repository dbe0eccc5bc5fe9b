//! What `wharf sign` and `wharf attest` share: choosing the signer from the
//! flags (keyless through the trust config's Fulcio/Rekor/TSA, or a cosign
//! key), finding the identity token, resolving the image once, and signing
//! in-toto statements or legacy payloads the same way for both.

use super::keyless::Keyless;
use super::legacy;
use super::tlog::Rekor;
use super::token::{self, IdentityToken, ProcessEnv};
use crate::cli::SigningArgs;
use crate::registry::oci::Descriptor;
use crate::registry::{Resolved, Store};
use crate::verify::{Expected, Matcher};
use crate::{report, trust, Error, Result};

/// An identity token is found again before a new certificate is asked for
/// when it expires within this many seconds.
const TOKEN_MARGIN_SECS: u64 = 60;

/// Who signs: the CI job's identity through Fulcio, or a key.
pub enum Signer {
    Keyless(Keyless),
    Key {
        key: super::key::SigningKey,
        rekor: Option<Rekor>,
        tsa: Option<sigstore_sign::tsa::TimestampClient>,
    },
}

/// A signer ready to sign: the keyless one holds its identity token (and,
/// once it signed, its key and certificate), so everything one session
/// signs is signed under one Fulcio certificate while it is valid.
pub struct Session {
    signer: Signer,
    token: tokio::sync::Mutex<Option<IdentityToken>>,
    /// `--identity-token`, to read again when the token above expired.
    explicit_token: Option<String>,
    pub trust: trust::Trust,
    /// Who the signature will name, for messages.
    pub signed_by: String,
    /// The check that recognises this signer's signatures (idempotency).
    pub expected: Expected,
    /// A layout image's subject name in statements (`SigningArgs::subject_name`).
    subject_name: Option<String>,
}

/// The image being signed, resolved once.
pub struct Target {
    pub digest: String,
    /// The manifest (or index) as a descriptor, for `subject`.
    pub subject: Descriptor,
    /// `name@digest`, for messages.
    pub image: String,
    /// `registry/repository`: the statement subject's name, the payload's
    /// docker-reference.
    pub name: String,
}

impl Signer {
    fn from_args(args: &SigningArgs, trust: &trust::Trust) -> Result<Signer> {
        let http = crate::registry::https_client().map_err(Error::Usage)?;
        let Some(path) = &args.key else {
            if !args.timestamp {
                return Err(Error::Usage(
                    "--timestamp=false is for key signatures; a keyless signature is timestamped as the trust config says"
                        .into(),
                ));
            }
            if !args.tlog_upload {
                return Err(Error::Usage(
                    "--tlog-upload=false is for key signatures: a keyless certificate lives ten minutes, \
                     and only the transparency log proves the signature was made inside them"
                        .into(),
                ));
            }
            let signing = trust.signing.as_ref().ok_or_else(|| {
                Error::Usage(format!(
                    "the {} names no signing services; pass a ClientTrustConfig with --trust-config",
                    trust.source
                ))
            })?;
            let rekor_v1 = legacy_needs_v1(args, signing, &trust.source.to_string())?;
            return Ok(Signer::Keyless(
                Keyless::new(signing, http, rekor_v1)
                    .map_err(|e| Error::Usage(format!("{}: {e}", trust.source)))?,
            ));
        };
        if args.identity_token.is_some() {
            return Err(Error::Usage(
                "--key and --identity-token: a signature is made with a key or keylessly with a token; choose one"
                    .into(),
            ));
        }
        let passphrase = if args.no_passphrase {
            String::new()
        } else {
            super::key::passphrase()?
        };
        let key = super::key::load(path, &passphrase)?;
        let signing = trust.signing.as_ref();
        // A timestamp where the instance has an authority, as cosign does.
        let tsa = match signing.and_then(|s| s.tsa_url()).filter(|_| args.timestamp) {
            Some(endpoint) => Some(
                sigstore_sign::tsa::TimestampClient::builder(endpoint.url.clone())
                    .with_http_client(http.clone())
                    .build()
                    .map_err(|e| {
                        Error::Usage(format!(
                            "{}: the timestamp authority {}: {e}",
                            trust.source, endpoint.url
                        ))
                    })?,
            ),
            None => None,
        };
        // A signing config that lists no log at all is how cosign says
        // "sign without a log" (it refuses --tlog-upload=false beside a
        // signing config); wharf reads it the same way.
        let config_has_no_log = signing.is_some_and(|s| s.rekor_tlog_urls.is_empty());
        let rekor = if args.tlog_upload && !config_has_no_log {
            // The newest log API the signing config offers, as keyless
            // signing (and cosign) chooses; v1 for cosign's legacy formats.
            let force = match signing {
                Some(s) => legacy_needs_v1(args, s, &trust.source.to_string())?.then_some(1),
                None => None,
            };
            let endpoint = signing.and_then(|s| s.rekor_url(force)).ok_or_else(|| {
                Error::Usage(format!(
                    "the {} names no Rekor log to record the signature in; pass a ClientTrustConfig \
                     with --trust-config, or --tlog-upload=false to sign without a log \
                     (verifiers then need --insecure-ignore-tlog)",
                    trust.source
                ))
            })?;
            if endpoint.major_api_version == 2 {
                if tsa.is_none() {
                    return Err(Error::Usage(format!(
                        "the {} logs to Rekor v2 ({}), whose entries carry no signed time, and {}; \
                         a v2 log needs a timestamp: name a timestamp authority in the signing config{}",
                        trust.source,
                        endpoint.url,
                        if args.timestamp {
                            "names no timestamp authority"
                        } else {
                            "--timestamp=false turns it off"
                        },
                        if args.timestamp { "" } else { ", or drop --timestamp=false" }
                    )));
                }
                Some(
                    Rekor::v2(&endpoint.url, http)
                        .map_err(|e| Error::Usage(format!("{}: {e}", trust.source)))?,
                )
            } else {
                Some(Rekor::new(&endpoint.url, http))
            }
        } else if tsa.is_none() {
            // cosign allows it too: a key does not expire, so nothing needs
            // the signing time; but nothing proves it either.
            report::warn(
                "no transparency log and no timestamp: nothing proves when the signature was made; \
                 verifiers need --insecure-ignore-tlog",
            );
            None
        } else {
            report::warn(&format!(
                "{}: the signature is in no transparency log; only the timestamp authority vouches \
                 for it (verifiers need --insecure-ignore-tlog)",
                if config_has_no_log {
                    "the signing config names no log"
                } else {
                    "--tlog-upload=false"
                }
            ));
            None
        };
        Ok(Signer::Key { key, rekor, tsa })
    }
}

/// Whether the signature must go to a Rekor v1 log: cosign's legacy
/// `.sig`/`.att` layers carry a v1 entry's signed entry timestamp, which a
/// Rekor v2 log does not give (cosign cannot sign them on v2 either). An
/// error where the signing config names only v2 logs.
fn legacy_needs_v1(
    args: &SigningArgs,
    signing: &sigstore_sign::trust_root::SigningConfig,
    source: &str,
) -> Result<bool> {
    if !args.bundle_format.legacy() || !args.tlog_upload {
        return Ok(false);
    }
    let best = signing.rekor_url(None).map(|e| e.major_api_version);
    if best.is_none() || best == Some(1) {
        return Ok(false);
    }
    if signing.rekor_url(Some(1)).is_some() {
        return Ok(true);
    }
    Err(Error::Usage(format!(
        "--bundle-format {}: cosign's legacy signature format records a Rekor v1 entry, and the {source} \
         names only Rekor v2 logs (cosign cannot sign legacy signatures on v2 either); use --bundle-format bundle, \
         or a signing config that also names a Rekor v1 log",
        if args.bundle_format.bundle() { "both" } else { "legacy" }
    )))
}

impl Session {
    /// Checks the flags and loads the key or trust material (through TUF,
    /// the one network use, where a repository is named).
    pub fn prepare(args: &SigningArgs, offline: bool) -> Result<(Signer, trust::Trust)> {
        let tuf = args.tuf.spec(offline)?;
        let trust = trust::load(None, args.trust_config.as_deref(), tuf.as_ref(), offline)?;
        let signer = Signer::from_args(args, &trust)?;
        Ok((signer, trust))
    }

    /// Finds the identity token (keyless) and settles who signs.
    pub async fn start(signer: Signer, trust: trust::Trust, args: &SigningArgs) -> Result<Session> {
        let (token, signed_by, expected) = match &signer {
            Signer::Keyless(_) => {
                let token = token::discover(&ProcessEnv, args.identity_token.as_deref())
                    .await
                    .map_err(|e| Error::Usage(e.to_string()))?;
                for warning in token.warnings() {
                    report::warn(&warning.message);
                }
                let identity = token.expected_identity().unwrap_or_default();
                let issuer = token.issuer().to_string();
                let expected = Expected::Identity {
                    identity: Matcher::Exact(identity.clone()),
                    issuer: Matcher::Exact(issuer),
                };
                (Some(token), identity, expected)
            }
            Signer::Key { key, rekor, .. } => (
                None,
                format!("the key {}", key.path.display()),
                Expected::Key {
                    path: key.path.clone(),
                    key: key.public.clone(),
                    ignore_tlog: rekor.is_none(),
                },
            ),
        };
        Ok(Session {
            signer,
            token: tokio::sync::Mutex::new(token),
            explicit_token: args.identity_token.clone(),
            trust,
            signed_by,
            expected,
            subject_name: args.subject_name.clone(),
        })
    }

    /// Resolves the tag once; everything after works on the digest.
    pub async fn target(&self, store: &Store<'_>) -> Result<Target> {
        let resolved = store.resolve(None).await?;
        if let Store::Registry { repo, .. } = store {
            if repo.digest().is_none() {
                report::info(&format!("resolved {repo} to {}", resolved.digest));
            }
        }
        self.target_of(store, &resolved).await
    }

    /// The target `store`'s image resolved to (`wharf run` resolves once,
    /// before its first stage).
    pub async fn target_of(&self, store: &Store<'_>, resolved: &Resolved) -> Result<Target> {
        let digest = resolved.digest.clone();
        let name = store.name();
        let manifest = store.fetch_manifest(&digest).await?.ok_or_else(|| {
            Error::Usage(format!(
                "{name}: the manifest {digest} vanished while signing; run again"
            ))
        })?;
        let media_type = if manifest.media_type.is_empty() {
            resolved.media_type.clone()
        } else {
            manifest.media_type.clone()
        };
        Ok(Target {
            subject: Descriptor::new(&media_type, &digest, manifest.bytes.len() as u64),
            image: format!("{name}@{digest}"),
            name: match store {
                Store::Registry { repo, .. } => {
                    format!("{}/{}", repo.registry(), repo.repository())
                }
                Store::Layout(_) => self.subject_name.clone().unwrap_or(name),
            },
            digest,
        })
    }

    /// "signing X as Y through Z", before the first signature.
    pub fn announce(&self, what: &str) {
        match &self.signer {
            Signer::Keyless(keyless) => report::info(&format!(
                "signing {what} as {} through {}",
                self.signed_by,
                keyless.describe()
            )),
            Signer::Key { rekor, .. } => report::info(&format!(
                "signing {what} with {}{}",
                self.signed_by,
                rekor
                    .as_ref()
                    .map(|r| format!(", recorded in Rekor {}", r.url))
                    .unwrap_or_default()
            )),
        }
    }

    /// The identity token for the keyless signer's next signature. A token
    /// is only shown to Fulcio, so it only has to be valid when a new
    /// certificate is needed; one that expired by then (a long run) is
    /// found again where it came from, as each command did on its own.
    async fn token_for(&self, keyless: &Keyless) -> Result<String, String> {
        let mut token = self.token.lock().await;
        let Some(current) = token.as_ref() else {
            return Err("no identity token".into());
        };
        if keyless.needs_certificate().await {
            let now = jiff::Timestamp::now().as_second().max(0) as u64;
            if current.claims().exp <= now.saturating_add(TOKEN_MARGIN_SECS) {
                let fresh = token::discover(&ProcessEnv, self.explicit_token.as_deref())
                    .await
                    .map_err(|e| e.to_string())?;
                *token = Some(fresh);
            }
        }
        token
            .as_ref()
            .map(|t| t.reveal().to_string())
            .ok_or_else(|| "no identity token".into())
    }

    /// Signs an in-toto statement as DSSE; the bundle JSON.
    pub async fn sign_statement(&self, statement: &[u8]) -> Result<String, String> {
        match &self.signer {
            Signer::Keyless(keyless) => {
                let token = self.token_for(keyless).await?;
                keyless
                    .sign_statement(&token, statement)
                    .await
                    .map_err(|e| e.to_string())
            }
            Signer::Key { key, rekor, tsa } => {
                key.sign_statement(statement, rekor.as_ref(), tsa.as_ref())
                    .await
            }
        }
    }

    /// Signs a legacy simple-signing payload; the layer annotations.
    pub async fn sign_legacy(
        &self,
        payload: &[u8],
    ) -> Result<std::collections::BTreeMap<String, String>, String> {
        let (bundle, chain) = match &self.signer {
            Signer::Keyless(keyless) => {
                let token = self.token_for(keyless).await?;
                let bundle = keyless
                    .sign_message(&token, payload)
                    .await
                    .map_err(|e| e.to_string())?;
                let chain = chain_of(&bundle, &self.trust);
                (bundle, chain)
            }
            Signer::Key { key, rekor, .. } => {
                (key.sign_message(payload, rekor.as_ref()).await?, None)
            }
        };
        legacy::annotations_from_bundle(&bundle, chain.as_deref())
    }

    /// cosign's legacy layer annotations for a bundle this session signed
    /// (certificate, chain, Rekor entry).
    pub fn legacy_annotations(
        &self,
        bundle_json: &str,
    ) -> Result<std::collections::BTreeMap<String, String>, String> {
        legacy::annotations_from_bundle(bundle_json, chain_of(bundle_json, &self.trust).as_deref())
    }

    /// The manifest (and the bundle JSON) of a referrer bundle on `target`
    /// that this signer made and whose predicate type and statement
    /// `wanted` accepts: what makes signing and attesting again add nothing.
    pub async fn find_bundle(
        &self,
        store: &Store<'_>,
        target: &Target,
        wanted: impl Fn(Option<&str>, Option<&serde_json::Value>) -> bool,
    ) -> Result<Option<(String, String)>> {
        for bundle in super::storage::bundles_seen(store, &target.digest).await? {
            let Ok(text) = std::str::from_utf8(&bundle.bundle) else {
                continue;
            };
            let statement = crate::verify::bundle_statement(text).ok().flatten();
            if !wanted(bundle.predicate_type(), statement.as_ref()) {
                continue;
            }
            if crate::verify::check_image_bundle(text, &target.digest, &self.expected, &self.trust)
                .is_ok()
            {
                return Ok(Some((bundle.manifest, text.to_string())));
            }
        }
        Ok(None)
    }

    /// How `wharf verify` checks this signer, for the closing hint.
    pub fn verify_flags(&self) -> String {
        match &self.expected {
            Expected::Identity { identity, issuer } => {
                format!("--certificate-identity '{identity}' --certificate-oidc-issuer '{issuer}'")
            }
            Expected::Key { ignore_tlog, .. } => format!(
                "--key PUBLIC-KEY{}",
                if *ignore_tlog {
                    " --insecure-ignore-tlog"
                } else {
                    ""
                }
            ),
        }
    }
}

/// Where an existing signature was found, for "already signed" messages:
/// `bundle manifest sha256:…, sha256-….sig layer sha256:…`.
pub fn found_at(bundle_manifest: Option<String>, legacy_location: Option<String>) -> String {
    [
        bundle_manifest.map(|m| format!("bundle manifest {m}")),
        legacy_location,
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ")
}

/// The certificate chain for a keyless legacy signature's annotation: the
/// trusted Fulcio CA that issued the bundle's certificate.
fn chain_of(bundle_json: &str, trust: &trust::Trust) -> Option<String> {
    use base64::Engine as _;
    let doc: serde_json::Value = serde_json::from_str(bundle_json).ok()?;
    let leaf = doc
        .pointer("/verificationMaterial/certificate/rawBytes")
        .and_then(|v| v.as_str())?;
    let der = base64::engine::general_purpose::STANDARD
        .decode(leaf)
        .ok()?;
    legacy::chain_for(&der, &trust.root)
}
