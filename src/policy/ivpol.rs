//! Kyverno's `ImageValidatingPolicy` (`policies.kyverno.io/v1`, Kyverno
//! 1.17 and later; `ClusterPolicy` verifyImages is deprecated there and due
//! to go in 1.20): the default Kyverno output of `wharf policy`.
//!
//! One cosign attestor carries the signer (keyless identities, or a public
//! key) and, for a private Sigstore, its TUF repository: Kyverno 1.19 reads
//! a keyless attestor's trust from TUF (public-good's mirror unless `tuf`
//! names another), so a private instance given only as a trusted-root file
//! cannot be checked and is refused when the policy is written. CEL
//! validations then require, for every container image of the pod (init
//! and ephemeral ones included), a signature from the attestor, each
//! required attestation from the same attestor, and the vuln predicate's
//! counts under the threshold. Verified by `kyverno apply` (CLI 1.19.0) in
//! the admission tests.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{gated_severities, identity, PolicySpec};
use crate::cli::{PolicyEngine, PolicyMode};
use crate::error::{Error, Result};
use crate::verify::Expected;

const ATTESTOR: &str = "signer";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ImageValidatingPolicy {
    api_version: &'static str,
    kind: &'static str,
    metadata: Metadata,
    spec: Spec,
}

#[derive(Serialize)]
struct Metadata {
    name: String,
    annotations: BTreeMap<String, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Spec {
    validation_actions: Vec<&'static str>,
    match_constraints: MatchConstraints,
    match_image_references: Vec<Glob>,
    attestors: Vec<Attestor>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attestations: Vec<Attestation>,
    validations: Vec<Validation>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MatchConstraints {
    resource_rules: Vec<ResourceRule>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResourceRule {
    api_groups: Vec<&'static str>,
    api_versions: Vec<&'static str>,
    operations: Vec<&'static str>,
    resources: Vec<&'static str>,
}

#[derive(Serialize)]
struct Glob {
    glob: String,
}

#[derive(Serialize)]
struct Attestor {
    name: &'static str,
    cosign: Cosign,
}

#[derive(Serialize, Default)]
struct Cosign {
    #[serde(skip_serializing_if = "Option::is_none")]
    keyless: Option<Keyless>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<Key>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ctlog: Option<CtLog>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tuf: Option<Tuf>,
}

#[derive(Serialize)]
struct Keyless {
    identities: Vec<Identity>,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct Identity {
    #[serde(skip_serializing_if = "Option::is_none")]
    issuer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<String>,
    #[serde(rename = "issuerRegExp", skip_serializing_if = "Option::is_none")]
    issuer_reg_exp: Option<String>,
    #[serde(rename = "subjectRegExp", skip_serializing_if = "Option::is_none")]
    subject_reg_exp: Option<String>,
}

#[derive(Serialize)]
struct Key {
    data: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CtLog {
    insecure_ignore_tlog: bool,
    insecure_ignore_sct: bool,
}

#[derive(Serialize)]
struct Tuf {
    mirror: String,
    root: TufRoot,
}

#[derive(Serialize)]
struct TufRoot {
    data: String,
}

#[derive(Serialize)]
struct Attestation {
    name: String,
    intoto: Intoto,
}

#[derive(Serialize)]
struct Intoto {
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Serialize)]
struct Validation {
    expression: String,
    message: String,
}

/// Every image of the pod: containers, init and ephemeral containers.
const IMAGES: &str = "(images.containers + images.initContainers + images.ephemeralContainers)";

/// The policy for `spec`; an error where Kyverno could not check what
/// `wharf verify` checks.
pub(super) fn policy(spec: &PolicySpec) -> Result<ImageValidatingPolicy> {
    let tuf = spec.tuf.as_ref().map(|t| Tuf {
        mirror: t.mirror.clone(),
        root: TufRoot {
            data: {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD.encode(&t.root)
            },
        },
    });
    if tuf.is_none() {
        if let Some(trust) = &spec.trust {
            return Err(Error::Usage(format!(
                "Kyverno's ImageValidatingPolicy reads a private Sigstore's trust from its TUF \
                 repository, not from a trusted root ({} names one): pass the instance's \
                 --tuf-mirror URL and --tuf-root FILE (WHARF_TUF_MIRROR, WHARF_TUF_ROOT), or \
                 --kyverno-api cluster-policy, which embeds the keys, for clusters before \
                 Kyverno 1.17",
                trust.source
            )));
        }
    }
    let mut cosign = Cosign {
        tuf,
        ..Cosign::default()
    };
    match &spec.expected {
        Expected::Identity {
            identity: id,
            issuer,
        } => {
            let mut who = Identity::default();
            (who.subject, who.subject_reg_exp) = identity(PolicyEngine::PolicyController, id);
            (who.issuer, who.issuer_reg_exp) = identity(PolicyEngine::PolicyController, issuer);
            cosign.keyless = Some(Keyless {
                identities: vec![who],
            });
        }
        Expected::Key {
            key, ignore_tlog, ..
        } => {
            cosign.key = Some(Key {
                data: super::pem("PUBLIC KEY", key.as_bytes()),
            });
            if *ignore_tlog {
                // As `wharf verify --key --insecure-ignore-tlog`: the
                // signature alone, no log entry and no SCT looked for.
                cosign.ctlog = Some(CtLog {
                    insecure_ignore_tlog: true,
                    insecure_ignore_sct: true,
                });
            }
        }
    }

    let signer = crate::verify::describe(&spec.expected);
    let mut validations = vec![Validation {
        expression: format!(
            "{IMAGES}.map(image, verifyImageSignatures(image, [attestors.{ATTESTOR}])).all(e, e > 0)"
        ),
        message: format!("an image is not signed by {signer}"),
    }];
    let mut attestations = Vec::new();
    let vuln_uri = crate::verify::predicate_type_uri("vuln");
    for (i, uri) in spec.attestations.iter().enumerate() {
        let name = if *uri == vuln_uri {
            "vuln".to_string()
        } else {
            format!("attestation{i}")
        };
        validations.push(Validation {
            expression: format!(
                "{IMAGES}.map(image, verifyAttestationSignatures(image, attestations.{name}, [attestors.{ATTESTOR}])).all(e, e > 0)"
            ),
            message: format!("an image has no {uri} attestation by {signer}"),
        });
        attestations.push(Attestation {
            name,
            intoto: Intoto { kind: uri.clone() },
        });
    }
    if let Some(threshold) = spec.fail_on_vulns {
        let counts: Vec<String> = gated_severities(threshold)
            .iter()
            .map(|s| {
                format!(
                    "extractPayload(image, attestations.vuln).predicate.scanner.result.summary.{} == 0",
                    s.as_str().to_ascii_lowercase()
                )
            })
            .collect();
        validations.push(Validation {
            expression: format!("{IMAGES}.map(image, {}).all(e, e)", counts.join(" && ")),
            message: format!(
                "an image's vuln attestation counts findings at {} or worse",
                threshold.as_str()
            ),
        });
    }

    let mut annotations = BTreeMap::new();
    annotations.insert(
        "policies.kyverno.io/description".to_string(),
        format!(
            "Admits images matching {} only when signed by {signer}, as `wharf verify` checks it.",
            spec.image_patterns.join(", ")
        ),
    );
    Ok(ImageValidatingPolicy {
        api_version: "policies.kyverno.io/v1",
        kind: "ImageValidatingPolicy",
        metadata: Metadata {
            name: spec.name.clone(),
            annotations,
        },
        spec: Spec {
            validation_actions: vec![match spec.mode {
                PolicyMode::Enforce => "Deny",
                PolicyMode::Audit => "Audit",
            }],
            match_constraints: MatchConstraints {
                resource_rules: vec![ResourceRule {
                    api_groups: vec![""],
                    api_versions: vec!["v1"],
                    operations: vec!["CREATE", "UPDATE"],
                    resources: vec!["pods"],
                }],
            },
            match_image_references: spec
                .image_patterns
                .iter()
                .map(|p| Glob { glob: p.clone() })
                .collect(),
            attestors: vec![Attestor {
                name: ATTESTOR,
                cosign,
            }],
            attestations,
            validations,
        },
    })
}
