//! The OIDC issuer: discovery, JWKS, ES256 tokens carrying the claims of a
//! GitHub Actions workflow run, and a token endpoint shaped like GitHub's
//! (`ACTIONS_ID_TOKEN_REQUEST_URL` + `&audience=...`, bearer
//! `ACTIONS_ID_TOKEN_REQUEST_TOKEN`, answer `{"value": "<jwt>"}`).

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Map, Value};

use crate::crypto::{self, EcKey};
use crate::http::{Request, Response};

/// The repository the default token's workflow runs in.
pub const REPOSITORY: &str = "wharf-test/app";
const OWNER: &str = "wharf-test";
const WORKFLOW_FILE: &str = ".github/workflows/release.yml";
const GIT_REF: &str = "refs/heads/main";
const SHA: &str = "3f786850e387550fdab836ed7e6dc881de23001b";
/// Lifetime of minted tokens (GitHub's are valid for minutes too).
const TOKEN_LIFETIME_SECS: i64 = 600;

pub(crate) struct Oidc {
    pub(crate) key: EcKey,
    pub(crate) kid: String,
    pub(crate) issuer: String,
    /// `ACTIONS_ID_TOKEN_REQUEST_TOKEN`: a secret, never printed.
    pub(crate) request_token: String,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

pub(crate) fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The certificate identity a token with these claims produces: the
/// workflow file's URL at the ref, as public-good Fulcio writes it.
pub fn identity_for(job_workflow_ref: &str) -> String {
    format!("https://github.com/{job_workflow_ref}")
}

pub(crate) fn default_job_workflow_ref() -> String {
    format!("{REPOSITORY}/{WORKFLOW_FILE}@{GIT_REF}")
}

impl Oidc {
    pub(crate) fn new(issuer: String) -> Result<Self, String> {
        let key = EcKey::generate()?;
        let kid = hex::encode(&key.key_id()[..8]);
        let request_token = hex::encode(crypto::random_bytes::<24>()?);
        Ok(Oidc {
            key,
            kid,
            issuer,
            request_token,
        })
    }

    /// The claims of a GitHub Actions job token for the testbed's workflow.
    pub(crate) fn default_claims(&self, audience: &str) -> Map<String, Value> {
        let now = now_secs();
        let jti = crypto::random_bytes::<16>()
            .map(hex::encode)
            .unwrap_or_default();
        let job_workflow_ref = default_job_workflow_ref();
        let claims = json!({
            "iss": self.issuer,
            "aud": audience,
            "sub": format!("repo:{REPOSITORY}:ref:{GIT_REF}"),
            "iat": now,
            "nbf": now - 5,
            "exp": now + TOKEN_LIFETIME_SECS,
            "jti": jti,
            "ref": GIT_REF,
            "ref_type": "branch",
            "ref_protected": "true",
            "sha": SHA,
            "repository": REPOSITORY,
            "repository_id": "100001",
            "repository_owner": OWNER,
            "repository_owner_id": "100000",
            "repository_visibility": "public",
            "actor": "wharf-bot",
            "actor_id": "100002",
            "workflow": "release",
            "workflow_ref": job_workflow_ref,
            "workflow_sha": SHA,
            "job_workflow_ref": job_workflow_ref,
            "job_workflow_sha": SHA,
            "event_name": "push",
            "head_ref": "",
            "base_ref": "",
            "run_id": "4242",
            "run_number": "7",
            "run_attempt": "1",
            "runner_environment": "github-hosted",
        });
        match claims {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    /// Sign `claims` as an ES256 JWT with the issuer's key.
    pub(crate) fn mint(&self, claims: &Map<String, Value>) -> Result<String, String> {
        let header = json!({"alg": "ES256", "typ": "JWT", "kid": self.kid});
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(Value::Object(claims.clone()).to_string())
        );
        let sig = self.key.sign_fixed(signing_input.as_bytes())?;
        Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig)))
    }

    /// Check a token as Fulcio does: signature against the JWKS, issuer,
    /// audience `sigstore`, expiry and not-before. Returns the claims.
    pub(crate) fn verify(&self, token: &str) -> Result<Map<String, Value>, String> {
        let mut parts = token.trim().split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("the identity token is not a JWT (header.payload.signature)".into());
        };
        let header: Value = decode_json_part(h, "header")?;
        if header.get("alg").and_then(Value::as_str) != Some("ES256") {
            return Err(format!(
                "the identity token's alg is {}, the issuer signs ES256",
                header.get("alg").unwrap_or(&Value::Null)
            ));
        }
        let sig = URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| "the identity token's signature is not base64url".to_string())?;
        let signing_input = &token.trim()[..h.len() + 1 + p.len()];
        if !self.key.verify_fixed(signing_input.as_bytes(), &sig) {
            return Err(
                "the identity token's signature does not verify against the issuer's JWKS".into(),
            );
        }
        let claims = match decode_json_part(p, "payload")? {
            Value::Object(map) => map,
            _ => return Err("the identity token's payload is not a JSON object".into()),
        };
        let iss = claims.get("iss").and_then(Value::as_str).unwrap_or("");
        if iss != self.issuer {
            return Err(format!(
                "the identity token's issuer {iss:?} is not this Fulcio's issuer {:?}",
                self.issuer
            ));
        }
        let aud_ok = match claims.get("aud") {
            Some(Value::String(a)) => a == "sigstore",
            Some(Value::Array(a)) => a.iter().any(|v| v.as_str() == Some("sigstore")),
            _ => false,
        };
        if !aud_ok {
            return Err(format!(
                "the identity token's audience {} does not include \"sigstore\"",
                claims.get("aud").unwrap_or(&Value::Null)
            ));
        }
        let now = now_secs();
        let Some(exp) = claims.get("exp").and_then(Value::as_i64) else {
            return Err("the identity token has no numeric exp claim".into());
        };
        if exp <= now {
            return Err(format!(
                "the identity token expired at {} ({}s ago); request a fresh one",
                rfc3339(exp),
                now.saturating_sub(exp)
            ));
        }
        if let Some(nbf) = claims.get("nbf").and_then(Value::as_i64) {
            if nbf > now.saturating_add(60) {
                return Err(format!(
                    "the identity token is not valid before {}",
                    rfc3339(nbf)
                ));
            }
        }
        if claims.get("sub").and_then(Value::as_str).is_none() {
            return Err("the identity token has no sub claim".into());
        }
        Ok(claims)
    }

    pub(crate) fn discovery(&self) -> Value {
        json!({
            "issuer": self.issuer,
            "jwks_uri": format!("{}/.well-known/jwks", self.issuer),
            "subject_types_supported": ["public", "pairwise"],
            "response_types_supported": ["id_token"],
            "claims_supported": [
                "sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "sha",
                "repository", "repository_id", "repository_owner", "repository_owner_id",
                "run_id", "run_number", "run_attempt", "actor", "actor_id", "workflow",
                "workflow_ref", "workflow_sha", "job_workflow_ref", "job_workflow_sha",
                "event_name", "ref_type", "ref_protected", "repository_visibility",
                "runner_environment", "head_ref", "base_ref"
            ],
            "id_token_signing_alg_values_supported": ["ES256"],
            "scopes_supported": ["openid"],
        })
    }

    pub(crate) fn jwks(&self) -> Value {
        let point = self.key.public_point();
        // Uncompressed point: 0x04 || x (32) || y (32).
        let (x, y) = if point.len() == 65 {
            (&point[1..33], &point[33..])
        } else {
            (&point[..0], &point[..0])
        };
        json!({"keys": [{
            "kty": "EC",
            "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(x),
            "y": URL_SAFE_NO_PAD.encode(y),
            "kid": self.kid,
            "alg": "ES256",
            "use": "sig",
        }]})
    }

    /// GitHub's token endpoint: `GET ...?api-version=2.0&audience=AUD` with
    /// `Authorization: bearer <request token>`.
    fn token_endpoint(&self, req: &Request) -> Response {
        let authorized = req
            .header("authorization")
            .and_then(|v| {
                let (scheme, value) = v.split_once(' ')?;
                scheme
                    .eq_ignore_ascii_case("bearer")
                    .then(|| value.trim().to_string())
            })
            .is_some_and(|v| constant_time_eq(v.as_bytes(), self.request_token.as_bytes()));
        if !authorized {
            return Response::error(
                401,
                "the bearer token is not this run's ACTIONS_ID_TOKEN_REQUEST_TOKEN",
            );
        }
        let audience = req
            .query_param("audience")
            .unwrap_or_else(|| format!("https://github.com/{OWNER}"));
        match self.mint(&self.default_claims(&audience)) {
            Ok(jwt) => Response::json(200, &json!({"count": 1, "value": jwt})),
            Err(e) => Response::error(500, &e),
        }
    }

    pub(crate) fn handle(&self, req: &Request) -> Response {
        match (req.method.as_str(), req.path.as_str()) {
            ("GET", "/.well-known/openid-configuration") => Response::json(200, &self.discovery()),
            ("GET", "/.well-known/jwks") => Response::json(200, &self.jwks()),
            ("GET", TOKEN_PATH) => self.token_endpoint(req),
            _ => Response::error(404, "no such endpoint on the OIDC issuer"),
        }
    }
}

/// Path of the GitHub-shaped token endpoint.
pub(crate) const TOKEN_PATH: &str = "/_apis/distributedtask/idtoken";

fn decode_json_part(part: &str, what: &str) -> Result<Value, String> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|_| format!("the identity token's {what} is not base64url"))?;
    serde_json::from_slice(&bytes).map_err(|_| format!("the identity token's {what} is not JSON"))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Unix seconds as RFC 3339 UTC (`2026-12-06T06:10:39Z`).
pub fn rfc3339(secs: i64) -> String {
    let secs = u64::try_from(secs).unwrap_or(0);
    der::DateTime::from_unix_duration(std::time::Duration::from_secs(secs))
        .map(|d| d.to_string())
        .unwrap_or_else(|_| secs.to_string())
}
