//! `wharf policy check POLICY.yaml… IMAGE@DIGEST`: a dry run of admission
//! against the policies the cluster will enforce (usually files in the
//! GitOps repository), before anything rolls out.
//!
//! It reads Kyverno `ImageValidatingPolicy` and `ClusterPolicy`
//! (verifyImages) documents and policy-controller `ClusterImagePolicy`
//! documents, finds the ones whose image patterns match the image (each
//! engine's own pattern language), and evaluates what wharf can evaluate
//! exactly: the signers (exact identities, regexps searched unanchored as
//! Go's `MatchString` does, Kyverno's wildcards, keys), the attestations
//! each requires and from whom, and the vulnerability counts wharf's own
//! policies put on the vuln attestation. Anything else — an arbitrary CEL
//! expression, Rego or CUE, a notary attestor — is "cannot judge", which
//! is never an admit.
//!
//! The verdict is the engines' rule: Kyverno admits when every matching
//! policy passes; policy-controller when, in every matching
//! ClusterImagePolicy, one authority passes; an image no policy names is
//! admitted by both (and said so). Exit 0 admit, 1 deny or cannot judge.

use std::path::{Path, PathBuf};

use serde_json::Value;
use sigstore_verify::types::DerPublicKey;

use crate::error::{Error, Result};
use crate::registry::ImageRef;
use crate::verify::{Expected, Matcher, SIGN_PREDICATE_TYPE};
use crate::{report, Outcome};

/// One policy's requirements on a matching image.
struct Policy {
    /// `FILE: Kind/name`.
    source: String,
    engine: Engine,
    patterns: Vec<Pattern>,
    /// policy-controller: one authority must pass. Kyverno: the one
    /// alternative holds every requirement.
    alternatives: Vec<Alternative>,
    /// A TUF repository the policy takes trust from.
    tuf: Option<(String, Vec<u8>)>,
    /// The policy only audits (Kyverno `Audit`, policy-controller `warn`):
    /// the engine admits what it would deny, and reports it.
    audit: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Engine {
    Kyverno,
    Controller,
}

enum Pattern {
    /// Kyverno: `*` any characters, `?` one.
    Wildcard(String),
    /// policy-controller: `*` within a path segment, `**` across.
    Glob(String),
    Unjudgeable(String),
}

/// Requirements that must all hold.
struct Alternative {
    name: String,
    requirements: Vec<Requirement>,
}

enum Requirement {
    /// A signature (or an attestation of `predicate_type`) by one of the
    /// signers.
    Signed {
        predicate_type: String,
        signers: Vec<Signer>,
    },
    /// The vuln attestation's counts at these severities are all 0.
    VulnCounts {
        signers: Vec<Signer>,
        severities: Vec<String>,
    },
    Unjudgeable(String),
}

#[derive(Clone)]
enum Signer {
    Judged(Expected),
    Unjudgeable(String),
}

/// What one policy says of the image.
enum Verdict {
    Admit(String),
    Deny(String),
    CannotJudge(String),
}

/// Runs `wharf policy check`.
pub fn run(
    global: &crate::config::Global,
    args: &crate::cli::PolicyArgs,
    targets: &[String],
) -> Result<Outcome> {
    let Some((image, files)) = targets.split_last().filter(|(_, f)| !f.is_empty()) else {
        return Err(Error::Usage(
            "usage: wharf policy check POLICY.yaml... IMAGE@DIGEST (the policies the cluster \
             enforces, then the image to admit)"
                .into(),
        ));
    };
    let trust = TrustFlags {
        trusted_root: args.trusted_root.clone(),
        trust_config: args.trust_config.clone(),
        tuf: args.tuf.spec(global.offline)?,
    };
    let files: Vec<PathBuf> = files.iter().map(PathBuf::from).collect();
    check(global, &files, image, &trust)
}

/// Trust given on the command line (or by `wharf run`), which wins over
/// what a policy names.
#[derive(Default)]
pub struct TrustFlags {
    pub trusted_root: Option<PathBuf>,
    pub trust_config: Option<PathBuf>,
    pub tuf: Option<crate::trust::tuf::TufSpec>,
}

/// The dry run: `files` are the policies, `image` the image to admit.
pub fn check(
    global: &crate::config::Global,
    files: &[PathBuf],
    image: &str,
    trust_flags: &TrustFlags,
) -> Result<Outcome> {
    let image_ref = ImageRef::parse(image)?;
    let files: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let mut policies = Vec::new();
    for file in &files {
        policies.extend(read_policies(Path::new(file))?);
    }
    if policies.is_empty() {
        return Err(Error::Usage(format!(
            "{}: no ImageValidatingPolicy, ClusterPolicy or ClusterImagePolicy in them",
            files.join(", ")
        )));
    }
    let matching: Vec<&Policy> = policies
        .iter()
        .filter(|p| p.patterns.iter().any(|pat| pattern_matches(pat, image)))
        .collect();
    let unjudged: Vec<String> = policies
        .iter()
        .flat_map(|p| p.patterns.iter().map(move |pat| (p, pat)))
        .filter_map(|(p, pat)| match pat {
            Pattern::Unjudgeable(why) => Some(format!("{}: {why}", p.source)),
            _ => None,
        })
        .collect();
    if matching.is_empty() {
        if !unjudged.is_empty() {
            report::out(&format!(
                "cannot judge {image}: whether these policies apply is not something wharf can \
                 tell: {}",
                unjudged.join("; ")
            ));
            return Ok(Outcome::PolicyNo);
        }
        report::out(&format!(
            "admit {image}: no policy in {} names it (the engines admit what no policy matches)",
            files.join(", ")
        ));
        return Ok(Outcome::Ok);
    }

    let mut denied = false;
    let mut unjudgeable = false;
    for policy in matching {
        let trust = policy_trust(trust_flags, policy, global.offline)?;
        let verdict = judge(global, &image_ref, policy, &trust)?;
        match verdict {
            Verdict::Admit(why) => report::out(&format!("admit  {}: {why}", policy.source)),
            Verdict::Deny(why) if policy.audit => report::out(&format!(
                "admit  {}: audit only; it reports what it would deny: {why}",
                policy.source
            )),
            Verdict::Deny(why) => {
                denied = true;
                report::out(&format!("deny   {}: {why}", policy.source));
            }
            Verdict::CannotJudge(why) => {
                unjudgeable = true;
                report::out(&format!("cannot judge {}: {why}", policy.source));
            }
        }
    }
    let (word, outcome) = if denied {
        ("deny", Outcome::PolicyNo)
    } else if unjudgeable {
        ("cannot judge (never an admit)", Outcome::PolicyNo)
    } else {
        ("admit", Outcome::Ok)
    };
    report::out(&format!("{word}: {image}"));
    Ok(outcome)
}

/// The trust to check a policy's signers against: the flags, else the TUF
/// repository the policy names, else public-good.
fn policy_trust(flags: &TrustFlags, policy: &Policy, offline: bool) -> Result<crate::trust::Trust> {
    if flags.trusted_root.is_some() || flags.trust_config.is_some() || flags.tuf.is_some() {
        return crate::trust::load(
            flags.trusted_root.as_deref(),
            flags.trust_config.as_deref(),
            flags.tuf.as_ref(),
            offline,
        );
    }
    if let Some((mirror, root)) = &policy.tuf {
        let spec = crate::trust::tuf::TufSpec {
            mirror: mirror.clone(),
            root: crate::trust::tuf::TufRoot::Bytes(root.clone()),
            offline,
        };
        return crate::trust::load(None, None, Some(&spec), offline);
    }
    crate::trust::load(None, None, None, offline)
}

fn judge(
    global: &crate::config::Global,
    image: &ImageRef,
    policy: &Policy,
    trust: &crate::trust::Trust,
) -> Result<Verdict> {
    let mut reasons = Vec::new();
    let mut cannot = Vec::new();
    for alternative in &policy.alternatives {
        match judge_alternative(global, image, alternative, trust)? {
            Verdict::Admit(why) => {
                return Ok(Verdict::Admit(if policy.engine == Engine::Controller {
                    format!("authority {}: {why}", alternative.name)
                } else {
                    why
                }))
            }
            Verdict::Deny(why) => reasons.push(format!("{}: {why}", alternative.name)),
            Verdict::CannotJudge(why) => cannot.push(format!("{}: {why}", alternative.name)),
        }
    }
    if !cannot.is_empty() {
        return Ok(Verdict::CannotJudge(cannot.join("; ")));
    }
    Ok(Verdict::Deny(if reasons.is_empty() {
        "it names no signer".into()
    } else {
        reasons.join("; ")
    }))
}

fn judge_alternative(
    global: &crate::config::Global,
    image: &ImageRef,
    alternative: &Alternative,
    trust: &crate::trust::Trust,
) -> Result<Verdict> {
    let mut met = Vec::new();
    let mut cannot = Vec::new();
    for requirement in &alternative.requirements {
        let (predicate_type, signers, severities) = match requirement {
            Requirement::Unjudgeable(why) => {
                cannot.push(why.clone());
                continue;
            }
            Requirement::Signed {
                predicate_type,
                signers,
            } => (predicate_type.as_str(), signers, None),
            Requirement::VulnCounts {
                signers,
                severities,
            } => (VULN, signers, Some(severities)),
        };
        let what = if predicate_type == SIGN_PREDICATE_TYPE {
            "signature".to_string()
        } else {
            format!("{predicate_type} attestation")
        };
        let mut found = None;
        let mut signer_cannot = Vec::new();
        for signer in signers {
            let expected = match signer {
                Signer::Judged(e) => e,
                Signer::Unjudgeable(why) => {
                    signer_cannot.push(why.clone());
                    continue;
                }
            };
            let verification = crate::verify::collect(
                global,
                image,
                expected,
                trust,
                predicate_type,
                &Default::default(),
            )?;
            if !verification.verified() {
                continue;
            }
            match severities {
                None => {
                    found = Some(format!("a {what} by {}", crate::verify::describe(expected)));
                }
                Some(severities) => {
                    let over = vuln_over(&verification.predicates, severities);
                    match over {
                        Ok(()) => {
                            found = Some(format!(
                                "a vuln attestation by {} counting no {} finding",
                                crate::verify::describe(expected),
                                severities.join("/")
                            ))
                        }
                        Err(why) => {
                            return Ok(Verdict::Deny(format!(
                                "the vuln attestation by {} {why}",
                                crate::verify::describe(expected)
                            )))
                        }
                    }
                }
            }
            if found.is_some() {
                break;
            }
        }
        match found {
            Some(f) => met.push(f),
            None if !signer_cannot.is_empty() => cannot.push(signer_cannot.join("; ")),
            None => {
                return Ok(Verdict::Deny(format!(
                    "no {what} from {}",
                    signers
                        .iter()
                        .filter_map(|s| match s {
                            Signer::Judged(e) => Some(crate::verify::describe(e)),
                            Signer::Unjudgeable(_) => None,
                        })
                        .collect::<Vec<_>>()
                        .join(" or ")
                )))
            }
        }
    }
    if !cannot.is_empty() {
        return Ok(Verdict::CannotJudge(cannot.join("; ")));
    }
    Ok(Verdict::Admit(met.join(", ")))
}

const VULN: &str = "https://cosign.sigstore.dev/attestation/vuln/v1";

/// Whether the newest verified vuln predicate counts 0 at `severities`.
fn vuln_over(predicates: &[(String, Vec<u8>)], severities: &[String]) -> Result<(), String> {
    let newest = predicates
        .iter()
        .max_by(|a, b| a.0.cmp(&b.0))
        .ok_or("has no predicate")?;
    let doc: Value = serde_json::from_slice(&newest.1).map_err(|_| "is not JSON".to_string())?;
    for s in severities {
        match doc
            .pointer(&format!("/scanner/result/summary/{s}"))
            .and_then(Value::as_u64)
        {
            Some(0) => {}
            Some(n) => return Err(format!("counts {n} {s} finding(s)")),
            None => return Err(format!("has no scanner.result.summary.{s} count")),
        }
    }
    Ok(())
}

fn pattern_matches(pattern: &Pattern, image: &str) -> bool {
    match pattern {
        Pattern::Wildcard(p) => wildcard_regex(p).is_some_and(|r| r.is_match(image)),
        Pattern::Glob(g) => controller_glob_regex(g).is_some_and(|r| r.is_match(image)),
        Pattern::Unjudgeable(_) => false,
    }
}

/// Kyverno's wildcards: `*` any run of characters, `?` one.
fn wildcard_regex(pattern: &str) -> Option<regex::Regex> {
    let mut re = String::from("^");
    for c in pattern.chars() {
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    regex::Regex::new(&re).ok()
}

/// policy-controller's globs: `*` within a path segment, `**` across.
fn controller_glob_regex(glob: &str) -> Option<regex::Regex> {
    let mut re = String::from("^");
    let mut rest = glob;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("**") {
            re.push_str(".*");
            rest = &rest[2..];
        } else if c == '*' {
            re.push_str("[^/]*");
            rest = &rest[1..];
        } else {
            re.push_str(&regex::escape(&c.to_string()));
            rest = &rest[c.len_utf8()..];
        }
    }
    re.push('$');
    regex::Regex::new(&re).ok()
}

// ---------------------------------------------------------------------------
// Reading the policies

fn read_policies(path: &Path) -> Result<Vec<Policy>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::file(path, format!("cannot read it: {e}")))?;
    let mut docs = Vec::new();
    for (i, doc) in serde_yaml::Deserializer::from_str(&text).enumerate() {
        let value: Value = serde::Deserialize::deserialize(doc)
            .map_err(|e| Error::file(path, format!("document {} is not YAML: {e}", i + 1)))?;
        docs.push(value);
    }
    // A ClusterImagePolicy's authorities refer to a TrustRoot kept beside it.
    let tuf = remote_trust_root(&docs);
    let mut out = Vec::new();
    for value in &docs {
        let kind = value["kind"].as_str().unwrap_or_default();
        let api = value["apiVersion"].as_str().unwrap_or_default();
        let name = value["metadata"]["name"].as_str().unwrap_or("(unnamed)");
        let source = format!("{}: {kind}/{name}", path.display());
        let policy = match (api.split('/').next(), kind) {
            (Some("policies.kyverno.io"), "ImageValidatingPolicy") => {
                Some(ivpol(value, source).map_err(|e| Error::file(path, e))?)
            }
            (Some("kyverno.io"), "ClusterPolicy" | "Policy") => {
                cluster_policy(value, source).map_err(|e| Error::file(path, e))?
            }
            (Some("policy.sigstore.dev"), "ClusterImagePolicy") => Some(
                cluster_image_policy(value, source, tuf.clone())
                    .map_err(|e| Error::file(path, e))?,
            ),
            _ => None,
        };
        out.extend(policy);
    }
    Ok(out)
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A matcher for a value the engine compares exactly, or searches with a
/// regexp (unanchored, as Go's `MatchString`), or (Kyverno ClusterPolicy)
/// matches as a wildcard pattern.
fn matcher(
    exact: Option<&str>,
    regexp: Option<&str>,
    wildcard: bool,
) -> Result<Option<Matcher>, String> {
    match (exact, regexp) {
        (Some(e), _) if wildcard && e.contains(['*', '?']) => {
            Ok(wildcard_regex(e).map(Matcher::Regex))
        }
        (Some(e), _) => Ok(Some(Matcher::Exact(e.to_string()))),
        (None, Some(r)) => regex::Regex::new(r)
            .map(|r| Some(Matcher::Regex(r)))
            .map_err(|e| format!("the regexp {r:?} does not compile: {e}")),
        (None, None) => Ok(None),
    }
}

/// A keyless identity; `None` when it names no subject or issuer (an
/// engine would take any, wharf cannot say who that admits).
fn keyless_signer(id: &Value, wildcard: bool) -> Result<Signer, String> {
    let text = |k: &str| id[k].as_str().filter(|s| !s.is_empty());
    let subject = matcher(text("subject"), text("subjectRegExp"), wildcard)?;
    let issuer = matcher(text("issuer"), text("issuerRegExp"), wildcard)?;
    Ok(match (subject, issuer) {
        (Some(identity), Some(issuer)) => Signer::Judged(Expected::Identity { identity, issuer }),
        _ => Signer::Unjudgeable("an identity without both a subject and an issuer".into()),
    })
}

fn key_signer(pem: &str, ignore_tlog: bool) -> Signer {
    match DerPublicKey::from_pem(pem) {
        Ok(key) => Signer::Judged(Expected::Key {
            path: PathBuf::from("(the key in the policy)"),
            key,
            ignore_tlog,
        }),
        Err(e) => Signer::Unjudgeable(format!("a key that is not a PEM public key: {e}")),
    }
}

/// The image lists a validation can range over.
const IMAGE_LISTS: [&str; 2] = [
    "images.containers",
    "(images.containers + images.initContainers + images.ephemeralContainers)",
];

fn ivpol(doc: &Value, source: String) -> Result<Policy, String> {
    let spec = &doc["spec"];
    let patterns = spec["matchImageReferences"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| match r["glob"].as_str() {
                    Some(g) => Pattern::Wildcard(g.to_string()),
                    None => Pattern::Unjudgeable("a matchImageReferences expression".into()),
                })
                .collect()
        })
        .unwrap_or_default();
    let mut tuf = None;
    let mut attestors: std::collections::BTreeMap<String, Vec<Signer>> = Default::default();
    for a in spec["attestors"].as_array().cloned().unwrap_or_default() {
        let name = a["name"].as_str().unwrap_or_default().to_string();
        let cosign = &a["cosign"];
        let signers = if cosign.is_null() {
            vec![Signer::Unjudgeable(format!(
                "attestor {name} is not a cosign attestor"
            ))]
        } else {
            if let (Some(mirror), Some(data)) = (
                cosign["tuf"]["mirror"].as_str(),
                cosign["tuf"]["root"]["data"].as_str(),
            ) {
                use base64::Engine as _;
                let root = base64::engine::general_purpose::STANDARD
                    .decode(data)
                    .map_err(|e| format!("attestor {name}: tuf.root.data is not base64: {e}"))?;
                tuf = Some((mirror.to_string(), root));
            }
            let ignore_tlog = cosign["ctlog"]["insecureIgnoreTlog"].as_bool() == Some(true);
            if let Some(pem) = cosign["key"]["data"].as_str() {
                vec![key_signer(pem, ignore_tlog)]
            } else if let Some(ids) = cosign["keyless"]["identities"].as_array() {
                ids.iter()
                    .map(|id| keyless_signer(id, false))
                    .collect::<Result<_, _>>()?
            } else {
                vec![Signer::Unjudgeable(format!(
                    "attestor {name}: neither a key nor keyless identities"
                ))]
            }
        };
        attestors.insert(name, signers);
    }
    let attestations: std::collections::BTreeMap<String, Option<String>> = spec["attestations"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap_or_default().to_string(),
                a["intoto"]["type"].as_str().map(str::to_string),
            )
        })
        .collect();

    let signature_re = regex::Regex::new(
        r"^(?P<images>.+)\.map\(image, verifyImageSignatures\(image, \[attestors\.(?P<attestor>\w+)\]\)\)\.all\(e, e > 0\)$",
    )
    .map_err(|e| e.to_string())?;
    let attestation_re = regex::Regex::new(
        r"^(?P<images>.+)\.map\(image, verifyAttestationSignatures\(image, attestations\.(?P<attestation>\w+), \[attestors\.(?P<attestor>\w+)\]\)\)\.all\(e, e > 0\)$",
    )
    .map_err(|e| e.to_string())?;
    let count_re = regex::Regex::new(
        r"^extractPayload\(image, attestations\.(?P<attestation>\w+)\)\.predicate\.scanner\.result\.summary\.(?P<sev>[a-z]+) == 0$",
    )
    .map_err(|e| e.to_string())?;
    let signers_of = |name: &str| -> Vec<Signer> {
        attestors
            .get(name)
            .cloned()
            .unwrap_or_else(|| vec![Signer::Unjudgeable(format!("no attestor named {name}"))])
    };
    let mut requirements = Vec::new();
    let mut vuln_signers: Vec<Signer> = Vec::new();
    for v in spec["validations"].as_array().cloned().unwrap_or_default() {
        let expression = v["expression"]
            .as_str()
            .unwrap_or_default()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if let Some(c) = signature_re.captures(&expression) {
            if IMAGE_LISTS.contains(&&c["images"]) {
                requirements.push(Requirement::Signed {
                    predicate_type: SIGN_PREDICATE_TYPE.into(),
                    signers: signers_of(&c["attestor"]),
                });
                continue;
            }
        }
        if let Some(c) = attestation_re.captures(&expression) {
            if IMAGE_LISTS.contains(&&c["images"]) {
                match attestations.get(&c["attestation"]).cloned().flatten() {
                    Some(predicate_type) => {
                        let signers = signers_of(&c["attestor"]);
                        if predicate_type == VULN {
                            vuln_signers = signers.clone();
                        }
                        requirements.push(Requirement::Signed {
                            predicate_type,
                            signers,
                        });
                    }
                    None => requirements.push(Requirement::Unjudgeable(format!(
                        "attestation {} is not an in-toto type",
                        &c["attestation"]
                    ))),
                }
                continue;
            }
        }
        // `IMAGES.map(image, COUNT && COUNT …).all(e, e)` over the vuln attestation.
        let counts = IMAGE_LISTS.iter().find_map(|list| {
            expression
                .strip_prefix(&format!("{list}.map(image, "))
                .and_then(|rest| rest.strip_suffix(").all(e, e)"))
        });
        if let Some(inner) = counts {
            let mut severities = Vec::new();
            let mut all = true;
            for clause in inner.split(" && ") {
                match count_re.captures(clause.trim()) {
                    Some(c)
                        if attestations
                            .get(&c["attestation"])
                            .cloned()
                            .flatten()
                            .as_deref()
                            == Some(VULN) =>
                    {
                        severities.push(c["sev"].to_string())
                    }
                    _ => all = false,
                }
            }
            if all && !severities.is_empty() {
                requirements.push(Requirement::VulnCounts {
                    signers: Vec::new(),
                    severities,
                });
                continue;
            }
        }
        requirements.push(Requirement::Unjudgeable(format!(
            "the CEL validation `{expression}`"
        )));
    }
    // The counts are read from the vuln attestation the policy verifies;
    // without one, from an attestation nobody vouched for.
    for r in &mut requirements {
        if let Requirement::VulnCounts { signers, .. } = r {
            if vuln_signers.is_empty() {
                *r = Requirement::Unjudgeable(
                    "vulnerability counts read from a vuln attestation the policy does not verify"
                        .into(),
                );
            } else {
                *signers = vuln_signers.clone();
            }
        }
    }
    let actions = strings(&spec["validationActions"]);
    Ok(Policy {
        source,
        engine: Engine::Kyverno,
        patterns,
        alternatives: vec![Alternative {
            name: "validations".into(),
            requirements,
        }],
        tuf,
        audit: !actions.is_empty() && !actions.iter().any(|a| a == "Deny"),
    })
}

fn cluster_policy(doc: &Value, source: String) -> Result<Option<Policy>, String> {
    let mut patterns = Vec::new();
    let mut requirements = Vec::new();
    let is_audit = |v: &Value| v.as_str().is_some_and(|a| a.eq_ignore_ascii_case("audit"));
    let mut audit = is_audit(&doc["spec"]["validationFailureAction"]);
    for rule in doc["spec"]["rules"].as_array().cloned().unwrap_or_default() {
        for vi in rule["verifyImages"].as_array().cloned().unwrap_or_default() {
            if is_audit(&vi["failureAction"]) || is_audit(&vi["validationFailureAction"]) {
                audit = true;
            }
            patterns.extend(
                strings(&vi["imageReferences"])
                    .into_iter()
                    .map(Pattern::Wildcard),
            );
            if matches!(vi["type"].as_str(), Some("Notary")) {
                requirements.push(Requirement::Unjudgeable(
                    "a Notary verifyImages rule".into(),
                ));
                continue;
            }
            let signers_of = |attestors: &Value| -> Result<Vec<Signer>, String> {
                let mut out = Vec::new();
                for set in attestors.as_array().cloned().unwrap_or_default() {
                    for entry in set["entries"].as_array().cloned().unwrap_or_default() {
                        if !entry["keyless"].is_null() {
                            out.push(keyless_signer(&entry["keyless"], true)?);
                        } else if let Some(pem) = entry["keys"]["publicKeys"].as_str() {
                            let ignore =
                                entry["keys"]["rekor"]["ignoreTlog"].as_bool() == Some(true);
                            out.push(key_signer(pem, ignore));
                        } else {
                            out.push(Signer::Unjudgeable(
                                "an attestor entry wharf does not read".into(),
                            ));
                        }
                    }
                }
                Ok(out)
            };
            let signers = signers_of(&vi["attestors"])?;
            requirements.push(Requirement::Signed {
                predicate_type: SIGN_PREDICATE_TYPE.into(),
                signers: signers.clone(),
            });
            for a in vi["attestations"].as_array().cloned().unwrap_or_default() {
                let Some(kind) = a["type"].as_str().or(a["predicateType"].as_str()) else {
                    continue;
                };
                let att_signers = if a["attestors"].is_null() {
                    signers.clone()
                } else {
                    signers_of(&a["attestors"])?
                };
                requirements.push(Requirement::Signed {
                    predicate_type: kind.to_string(),
                    signers: att_signers.clone(),
                });
                let conditions = a["conditions"].as_array().cloned().unwrap_or_default();
                if conditions.is_empty() {
                    continue;
                }
                let mut severities = Vec::new();
                let mut all = kind == VULN;
                for c in conditions {
                    for cond in c["all"].as_array().cloned().unwrap_or_default() {
                        let key = cond["key"].as_str().unwrap_or_default().replace(' ', "");
                        match key
                            .strip_prefix("{{scanner.result.summary.")
                            .and_then(|k| k.strip_suffix("}}"))
                        {
                            Some(sev)
                                if cond["operator"] == "Equals"
                                    && cond["value"].as_i64() == Some(0) =>
                            {
                                severities.push(sev.to_string())
                            }
                            _ => all = false,
                        }
                    }
                    if !c["any"].is_null() {
                        all = false;
                    }
                }
                requirements.push(if all && !severities.is_empty() {
                    Requirement::VulnCounts {
                        signers: att_signers,
                        severities,
                    }
                } else {
                    Requirement::Unjudgeable(format!("the conditions on the {kind} attestation"))
                });
            }
        }
    }
    if patterns.is_empty() {
        return Ok(None);
    }
    Ok(Some(Policy {
        source,
        engine: Engine::Kyverno,
        patterns,
        alternatives: vec![Alternative {
            name: "verifyImages".into(),
            requirements,
        }],
        tuf: None,
        audit,
    }))
}

fn cluster_image_policy(
    doc: &Value,
    source: String,
    tuf: Option<(String, Vec<u8>)>,
) -> Result<Policy, String> {
    let spec = &doc["spec"];
    let patterns = spec["images"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|g| match g["glob"].as_str() {
                    Some(g) => Pattern::Glob(g.to_string()),
                    None => Pattern::Unjudgeable("an images entry without a glob".into()),
                })
                .collect()
        })
        .unwrap_or_default();
    let mut alternatives = Vec::new();
    for authority in spec["authorities"].as_array().cloned().unwrap_or_default() {
        let name = authority["name"]
            .as_str()
            .unwrap_or("authority")
            .to_string();
        let mut requirements = Vec::new();
        let signers: Vec<Signer> = if let Some(pem) = authority["key"]["data"].as_str() {
            vec![key_signer(pem, authority["ctlog"].is_null())]
        } else if let Some(ids) = authority["keyless"]["identities"].as_array() {
            ids.iter()
                .map(|id| keyless_signer(id, false))
                .collect::<Result<_, _>>()?
        } else {
            vec![Signer::Unjudgeable(format!(
                "authority {name}: neither a key nor identities"
            ))]
        };
        let bundle = authority["signatureFormat"].as_str() == Some("bundle");
        let atts = authority["attestations"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if !bundle {
            requirements.push(Requirement::Signed {
                predicate_type: SIGN_PREDICATE_TYPE.into(),
                signers: signers.clone(),
            });
        } else if atts.is_empty() {
            requirements.push(Requirement::Unjudgeable(
                "a bundle authority without attestations (policy-controller v0.15.1 denies it: \
                 \"bundle support for image signatures is not yet implemented\")"
                    .into(),
            ));
        }
        for a in atts {
            let Some(kind) = a["predicateType"].as_str() else {
                continue;
            };
            requirements.push(Requirement::Signed {
                predicate_type: kind.to_string(),
                signers: signers.clone(),
            });
            if let Some(data) = a["policy"]["data"].as_str() {
                let severities = wharf_vuln_rego(data).filter(|_| kind == VULN);
                requirements.push(match severities {
                    Some(severities) => Requirement::VulnCounts {
                        signers: signers.clone(),
                        severities,
                    },
                    None => Requirement::Unjudgeable(format!(
                        "the {} policy on the {kind} attestation",
                        a["policy"]["type"].as_str().unwrap_or("custom")
                    )),
                });
            }
        }
        alternatives.push(Alternative { name, requirements });
    }
    if !spec["policy"].is_null() {
        // A policy over all authorities' results: CUE or Rego wharf does not run.
        for a in &mut alternatives {
            a.requirements.push(Requirement::Unjudgeable(
                "the ClusterImagePolicy's spec.policy".into(),
            ));
        }
    }
    Ok(Policy {
        source,
        engine: Engine::Controller,
        patterns,
        alternatives,
        tuf,
        audit: spec["mode"].as_str() == Some("warn"),
    })
}

/// The severities of the vuln Rego `wharf policy` writes; `None` for any
/// other policy text.
fn wharf_vuln_rego(data: &str) -> Option<Vec<String>> {
    let mut severities = Vec::new();
    for line in data.lines().map(str::trim) {
        if let Some(sev) = line
            .strip_prefix("input.predicate.scanner.result.summary.")
            .and_then(|l| l.strip_suffix(" == 0"))
        {
            severities.push(sev.to_string());
        } else if !(line.is_empty()
            || line == "package sigstore"
            || line == "import rego.v1"
            || line == "default isCompliant := false"
            || line == "isCompliant if {"
            || line == "}"
            || line == format!("input.predicateType == \"{VULN}\""))
        {
            return None;
        }
    }
    (!severities.is_empty()).then_some(severities)
}

/// A `remote` TrustRoot among a file's documents: the TUF repository the
/// ClusterImagePolicy's authorities refer to.
fn remote_trust_root(docs: &[Value]) -> Option<(String, Vec<u8>)> {
    for value in docs {
        if value["kind"] != "TrustRoot" {
            continue;
        }
        let remote = &value["spec"]["remote"];
        if let (Some(mirror), Some(root)) = (remote["mirror"].as_str(), remote["root"].as_str()) {
            use base64::Engine as _;
            if let Ok(root) = base64::engine::general_purpose::STANDARD.decode(root) {
                return Some((mirror.to_string(), root));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_engine_matches_images_in_its_own_pattern_language() {
        let img = "ghcr.io/acme/team/app@sha256:0123";
        assert!(pattern_matches(
            &Pattern::Wildcard("ghcr.io/acme/*".into()),
            img
        ));
        assert!(!pattern_matches(
            &Pattern::Glob("ghcr.io/acme/*".into()),
            img
        ));
        assert!(pattern_matches(
            &Pattern::Glob("ghcr.io/acme/**".into()),
            img
        ));
        assert!(pattern_matches(
            &Pattern::Glob("ghcr.io/acme/team/*".into()),
            img
        ));
        assert!(pattern_matches(
            &Pattern::Wildcard("ghcr.io/acme/team/app@sha256:012?".into()),
            img
        ));
        assert!(!pattern_matches(
            &Pattern::Wildcard("ghcr.io/other/*".into()),
            img
        ));
    }

    #[test]
    fn regexps_are_searched_as_go_searches_them_and_wildcards_anchored() {
        let m = matcher(None, Some("github.com/acme/"), false)
            .unwrap()
            .unwrap();
        // Unanchored: the engines admit any value that contains it.
        assert!(m.matches("https://evil.example/github.com/acme/x"));
        let w = matcher(Some("https://github.com/acme/*"), None, true)
            .unwrap()
            .unwrap();
        assert!(w.matches("https://github.com/acme/app/.github/workflows/r.yml@refs/heads/main"));
        assert!(!w.matches("https://evil.example/https://github.com/acme/x"));
        let e = matcher(Some("https://github.com/acme/*"), None, false)
            .unwrap()
            .unwrap();
        assert!(!e.matches("https://github.com/acme/app"));
    }

    #[test]
    fn wharfs_vuln_rego_is_read_and_anything_else_is_not() {
        let rego = "package sigstore\n\nimport rego.v1\n\ndefault isCompliant := false\n\nisCompliant if {\n  input.predicateType == \"https://cosign.sigstore.dev/attestation/vuln/v1\"\n  input.predicate.scanner.result.summary.critical == 0\n  input.predicate.scanner.result.summary.high == 0\n}\n";
        assert_eq!(
            wharf_vuln_rego(rego),
            Some(vec!["critical".to_string(), "high".to_string()])
        );
        assert_eq!(wharf_vuln_rego(&rego.replace("== 0", "< 3")), None);
    }

    #[test]
    fn audit_only_policies_are_known_as_such() {
        let ivpol_doc = serde_json::json!({
            "spec": {"validationActions": ["Audit"], "matchImageReferences": [{"glob": "*"}]}
        });
        assert!(ivpol(&ivpol_doc, "p".into()).unwrap().audit);
        let deny = serde_json::json!({
            "spec": {"validationActions": ["Deny"], "matchImageReferences": [{"glob": "*"}]}
        });
        assert!(!ivpol(&deny, "p".into()).unwrap().audit);
        let cp = serde_json::json!({"spec": {"rules": [{"verifyImages": [
            {"imageReferences": ["*"], "failureAction": "Audit", "attestors": []}
        ]}]}});
        assert!(cluster_policy(&cp, "p".into()).unwrap().unwrap().audit);
        let cip = serde_json::json!({"spec": {"mode": "warn", "images": [{"glob": "**"}], "authorities": []}});
        assert!(cluster_image_policy(&cip, "p".into(), None).unwrap().audit);
    }

    #[test]
    fn an_arbitrary_cel_validation_cannot_be_judged() {
        let doc: Value = serde_json::json!({
            "apiVersion": "policies.kyverno.io/v1",
            "kind": "ImageValidatingPolicy",
            "metadata": {"name": "p"},
            "spec": {
                "matchImageReferences": [{"glob": "ghcr.io/*"}],
                "attestors": [{"name": "a", "cosign": {"keyless": {"identities": [{"subject": "s", "issuer": "i"}]}}}],
                "validations": [
                    {"expression": "images.containers.map(image, verifyImageSignatures(image, [attestors.a])).all(e, e > 0)"},
                    {"expression": "object.metadata.labels.team == 'a'"}
                ]
            }
        });
        let p = ivpol(&doc, "p".into()).unwrap();
        let reqs = &p.alternatives[0].requirements;
        assert!(matches!(reqs[0], Requirement::Signed { .. }));
        assert!(matches!(reqs[1], Requirement::Unjudgeable(_)));
    }
}
