//! `wharf run`: the steps as one pipeline, in the only safe order, with
//! their gates (contract in docs/run.md).
//!
//! The invariants are in this code, not in a convention: the tag is
//! resolved once and every stage gets the digest; a failed scan gate ends
//! the run before anything is signed; promote runs only after verify found
//! the signature; each stage takes the files the one before wrote.
//!
//! The stages share one async runtime and one registry client (so one
//! ping and one token per registry and scope, and nothing named by digest
//! is read twice), and the sign and attest stages one signing session: a
//! keyless run asks Fulcio for one certificate, not one per artifact.
//! Each step's command still works alone, setting up its own.

pub mod config;

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::ci::{
    Ci, FindingCounts, GateResult, OutputOptions, RunOutcome, RunSummary, StageRecord, StageStatus,
};
use crate::cli::{
    BundleFormat, IdentityArgs, PromoteArgs, RunArgs, SbomArgs, SbomFormat, ScanArgs, SigningArgs,
};
use crate::config::Global;
use crate::registry::{ImageRef, LayoutRef, RegistryClient, Resolved, Store};
use crate::sign::session::{Session, Target};
use crate::verify::{Expected, SIGN_PREDICATE_TYPE};
use crate::{report, Error, Outcome, Result};
use config::Config;

/// Runs `wharf run`.
pub fn run(global: &Global, args: &RunArgs) -> Result<Outcome> {
    let config = Config::load(args)?;
    if args.print_config {
        report::out(config.to_yaml()?.trim_end());
        return Ok(Outcome::Ok);
    }
    let image_text = config.image.clone().ok_or_else(|| {
        Error::Usage(
            "no image: give IMAGE, or `image:` in wharf.yaml (REG/REPO:TAG, REG/REPO@sha256:HEX or oci:DIR[:TAG])"
                .into(),
        )
    })?;
    let image = ImageRef::parse(&image_text)?;
    std::fs::create_dir_all(&config.output_dir).map_err(|e| {
        Error::file(
            &config.output_dir,
            format!("cannot create the output directory: {e}"),
        )
    })?;
    // A layout is signed in a copy in the output directory: the input stays
    // as it was built, and the copy (image, signature, attestations) is the
    // run's output, ready for `oras cp -r --from-oci-layout`.
    let image = match image {
        ImageRef::Layout(l) => {
            let copy = config.output_dir.join("image");
            crate::registry::layout::copy(&l.dir, &copy)
                .map_err(|e| Error::Usage(format!("{image_text}: {e}")))?;
            report::info(&format!(
                "copied the layout {} to {}; the signatures go there",
                l.dir.display(),
                copy.display()
            ));
            ImageRef::Layout(LayoutRef { dir: copy, ..l })
        }
        registry => registry,
    };
    // Settled before anything is signed: a run that cannot upload to
    // GitHub stops here, not after the attestations exist.
    let github = if config.attest.github && config.sign.enabled {
        Some(github_attestations_api()?)
    } else {
        None
    };
    let ci = Ci::detect();
    // A client or runtime that cannot be set up is the error of the first
    // stage that needs one, as it was when each stage made its own.
    let net = crate::runtime().and_then(|runtime| {
        let client = RegistryClient::new(global).map_err(Error::Usage)?;
        Ok(Net { runtime, client })
    });
    let mut pipeline = Pipeline {
        global,
        config: &config,
        ci: &ci,
        github: github.as_ref(),
        net: net.map_err(|e| e.to_string()),
        resolved: None,
        session: None,
        summary: RunSummary {
            image: config.image_name.clone().unwrap_or_else(|| image.name()),
            digest: None,
            image_ref: None,
            sbom: None,
            findings: None,
            gate: None,
            signer: None,
            issuer: None,
            rekor_log_index: None,
            attestations: Vec::new(),
            github_attestations: Vec::new(),
            promoted: Vec::new(),
            stages: Vec::new(),
            outcome: RunOutcome::Error,
        },
    };
    let outcome = pipeline.stages(&image);
    if outcome.is_err() {
        // The stages after the one that could not do its job did not run.
        if let Some(last) = pipeline.summary.stages.last().map(|s| s.name.clone()) {
            pipeline.stop_after(&last);
        }
    }
    let summary = &mut pipeline.summary;
    summary.outcome = match &outcome {
        Ok(Outcome::Ok) => RunOutcome::Ok,
        Ok(Outcome::PolicyNo) => RunOutcome::Policy,
        Err(_) => RunOutcome::Error,
    };
    let options = OutputOptions {
        output_json: args.output_json.clone(),
        output_dotenv: args.output_dotenv.clone(),
        output_dir: config.output_dir.clone(),
    };
    let written = crate::ci::write_outputs(&ci, summary, &options);
    closing(summary);
    // The run's own failure comes first; an output that could not be
    // written is the error when the run itself went through.
    match (outcome, written) {
        (Err(e), Err(w)) => {
            report::warn(&format!("the outputs were not all written either: {w}"));
            Err(e)
        }
        (Err(e), Ok(_)) | (Ok(_), Err(e)) => Err(e),
        (Ok(outcome), Ok(_)) => Ok(outcome),
    }
}

/// The client for `attest.github`: the job's repository and token.
fn github_attestations_api() -> Result<crate::github::Api> {
    let repo = std::env::var("GITHUB_REPOSITORY").map_err(|_| {
        Error::Usage(
            "attest.github stores the attestations in the job's repository, and GITHUB_REPOSITORY \
             is not set (GitHub Actions sets it): run in GitHub Actions, or drop attest.github"
                .into(),
        )
    })?;
    let repo = crate::github::Repo::parse(&repo)?;
    crate::github::Api::for_purpose(repo, crate::github::Purpose::Attestations)
}

/// What the stages that talk to registries and signing services share.
struct Net {
    runtime: tokio::runtime::Runtime,
    client: RegistryClient,
}

struct Pipeline<'a> {
    global: &'a Global,
    config: &'a Config,
    ci: &'a Ci,
    /// Set with `attest.github`.
    github: Option<&'a crate::github::Api>,
    net: std::result::Result<Net, String>,
    /// The image by digest, and what its tag resolved to (the resolve stage).
    resolved: Option<(ImageRef, Resolved)>,
    /// The signer and the image it signs (the sign stage), for attest and
    /// verify.
    session: Option<(Session, Target)>,
    summary: RunSummary,
}

impl Pipeline<'_> {
    fn net(&self) -> Result<&Net> {
        self.net.as_ref().map_err(|e| Error::Usage(e.clone()))
    }

    /// The image resolved once, by digest.
    fn resolved(&self) -> Result<&(ImageRef, Resolved)> {
        self.resolved
            .as_ref()
            .ok_or_else(|| Error::Usage("internal: a stage ran before resolve".into()))
    }

    /// The run's signer and the target it signed.
    fn session(&self) -> Result<&(Session, Target)> {
        self.session
            .as_ref()
            .ok_or_else(|| Error::Usage("internal: a stage ran before sign".into()))
    }

    /// Times a stage and records how it ended.
    fn stage<T>(
        &mut self,
        name: &str,
        f: impl FnOnce(&mut Self) -> Result<(Outcome, T)>,
    ) -> Result<(Outcome, T)> {
        report::info(&format!("── {name}"));
        crate::ci::group_start(self.ci, name);
        let started = Instant::now();
        let result = f(self);
        crate::ci::group_end(self.ci);
        let status = match &result {
            Ok((Outcome::Ok, _)) => StageStatus::Ok,
            Ok((Outcome::PolicyNo, _)) => StageStatus::Failed,
            Err(_) => StageStatus::Error,
        };
        match &result {
            Ok((Outcome::PolicyNo, _)) => {
                crate::ci::annotate_error(self.ci, &format!("wharf run: the {name} stage said no"))
            }
            Err(e) => crate::ci::annotate_error(self.ci, &format!("wharf run: {name}: {e}")),
            Ok(_) => {}
        }
        self.summary.stages.push(StageRecord {
            name: name.to_string(),
            status,
            seconds: (started.elapsed().as_secs_f64() * 100.0).round() / 100.0,
        });
        result
    }

    fn skipped(&mut self, name: &str) {
        self.summary.stages.push(StageRecord {
            name: name.to_string(),
            status: StageStatus::Skipped,
            seconds: 0.0,
        });
    }

    fn stages(&mut self, image: &ImageRef) -> Result<Outcome> {
        let config = self.config;
        if config.pin.enabled {
            let (outcome, ()) = self.stage("pin", |p| p.pin())?;
            if outcome == Outcome::PolicyNo {
                return Ok(self.stop_after("pin"));
            }
        } else {
            self.skipped("pin");
        }

        // The tag is resolved once; every stage below gets the digest.
        let (_, image_ref) = self.stage("resolve", |p| p.resolve(image))?;
        if config.lint.enabled {
            let (outcome, ()) = self.stage("lint", |p| p.lint(&image_ref))?;
            if outcome == Outcome::PolicyNo {
                report::info(&format!(
                    "stopped: wharf lint found error-level problems: {image_ref} is not signed, attested or promoted"
                ));
                return Ok(self.stop_after("lint"));
            }
        } else {
            self.skipped("lint");
        }
        let (_, sbom) = self.stage("sbom", |p| p.sbom(&image_ref))?;
        let (gate, scan_json) = self.stage("scan", |p| p.scan(&sbom))?;
        if gate == Outcome::PolicyNo {
            report::info(&format!(
                "stopped: the scan gate (--fail-on {}) failed: {image_ref} is not signed, attested or promoted",
                config.scan.fail_on
            ));
            return Ok(self.stop_after("scan"));
        }
        if !config.sign.enabled {
            report::info(&format!(
                "signing is off (--no-sign): {image_ref} passed the gate; it is left for another signer"
            ));
            for name in ["sign", "attest", "verify", "admission", "promote"] {
                self.skipped(name);
            }
            return Ok(Outcome::Ok);
        }
        let (_, expected) = self.stage("sign", |p| p.sign())?;
        self.stage("attest", |p| p.attest(&image_ref, &sbom))?;
        let (verified, signer) =
            self.stage("verify", |p| p.verify(&image_ref, expected.clone()))?;
        if verified == Outcome::PolicyNo {
            return Ok(self.stop_after("verify"));
        }
        if config.policy.engine.is_some() {
            self.write_policy(image, expected)?;
        }
        if config.policy.check.is_empty() {
            self.skipped("admission");
        } else {
            let (outcome, ()) = self.stage("admission", |p| p.admission(image))?;
            if outcome == Outcome::PolicyNo {
                return Ok(self.stop_after("admission"));
            }
        }
        if config.promote.files.is_empty() {
            self.skipped("promote");
        } else {
            let (outcome, ()) = self.stage("promote", |p| p.promote(image, &signer, &scan_json))?;
            if outcome == Outcome::PolicyNo {
                return Ok(Outcome::PolicyNo);
            }
        }
        Ok(Outcome::Ok)
    }

    /// Records every stage after `stage` as skipped; the run said no.
    fn stop_after(&mut self, stage: &str) -> Outcome {
        const ORDER: [&str; 10] = [
            "pin",
            "resolve",
            "lint",
            "sbom",
            "scan",
            "sign",
            "attest",
            "verify",
            "admission",
            "promote",
        ];
        let after = ORDER.iter().position(|s| *s == stage).map_or(0, |i| i + 1);
        for name in &ORDER[after..] {
            self.skipped(name);
        }
        Outcome::PolicyNo
    }

    fn pin(&mut self) -> Result<(Outcome, ())> {
        let options = crate::pin::PinOptions {
            paths: if self.config.pin.paths.is_empty() {
                vec![PathBuf::from(".")]
            } else {
                self.config.pin.paths.clone()
            },
            mode: crate::pin::Mode::Check,
            style: crate::cli::PinStyle::TagDigest,
            platform: None,
            format: crate::cli::TextOrJson::Text,
            concurrency: 8,
        };
        Ok((crate::pin::run(self.global, &options)?, ()))
    }

    /// `wharf lint` on the configured Dockerfiles (and, with `lint.image`,
    /// on the resolved image); its text report goes to stdout.
    fn lint(&mut self, image_ref: &str) -> Result<(Outcome, ())> {
        let lint = &self.config.lint;
        let options = crate::lint::LintOptions::from_args(crate::cli::LintArgs {
            dockerfiles: lint.paths.clone(),
            format: crate::lint::Format::Text,
            config: lint.config.clone(),
            image: lint.image.then(|| image_ref.to_string()),
            platform: None,
            output: None,
        })?;
        Ok((crate::lint::run(self.global, &options)?, ()))
    }

    fn resolve(&mut self, image: &ImageRef) -> Result<(Outcome, String)> {
        let net = self.net()?;
        let store = Store::new(&net.client, image);
        let resolved = net.runtime.block_on(store.resolve(None))?;
        let image_ref = format!("{}@{}", image.name(), resolved.digest);
        if !image.has_digest() {
            report::info(&format!("resolved {image} to {}", resolved.digest));
        }
        self.summary.digest = Some(resolved.digest.clone());
        self.summary.image_ref = Some(image_ref.clone());
        self.resolved = Some((ImageRef::parse(&image_ref)?, resolved));
        Ok((Outcome::Ok, image_ref))
    }

    fn sbom(&mut self, image_ref: &str) -> Result<(Outcome, PathBuf)> {
        let (format, name) = match self.config.sbom.format.as_str() {
            "spdx-json" => (SbomFormat::SpdxJson, "sbom.spdx.json"),
            _ => (SbomFormat::CyclonedxJson, "sbom.cdx.json"),
        };
        let path = self.config.output_dir.join(name);
        let args = SbomArgs {
            image: image_ref.to_string(),
            format,
            output: Some(path.clone()),
            platform: None,
        };
        let net = self.net()?;
        let outcome = crate::sbom::run_with(&net.client, &net.runtime, &args)?;
        self.summary.sbom = Some(path.display().to_string());
        Ok((outcome, path))
    }

    fn scan_args(&self, sbom: &Path, format: &str, output: PathBuf) -> ScanArgs {
        let scan = &self.config.scan;
        let default_ignore = Path::new(".wharfignore.yaml");
        ScanArgs {
            image: None,
            sbom: Some(sbom.to_path_buf()),
            db: scan.db.clone(),
            fail_on: scan.fail_on.clone(),
            ignore_unfixed: scan.ignore_unfixed,
            ignore_file: scan.ignore_file.clone().or_else(|| {
                default_ignore
                    .is_file()
                    .then(|| default_ignore.to_path_buf())
            }),
            vex: scan.vex.clone(),
            format: format.to_string(),
            output: Some(output),
            max_db_age: None,
            db_age_warning: "7d".into(),
            platform: None,
        }
    }

    /// The gate, from the JSON report; SARIF beside it for code scanning.
    fn scan(&mut self, sbom: &Path) -> Result<(Outcome, PathBuf)> {
        let dir = &self.config.output_dir;
        let json = dir.join("scan.json");
        let sarif = dir.join("scan.sarif");
        let vuln = dir.join("vuln.json");
        let mut also: Vec<(&str, &Path)> = vec![("sarif", &sarif)];
        if self.config.attest.vuln {
            also.push(("vuln-predicate", &vuln));
        }
        // scan.offline: this stage alone keeps off the network (no OSV update).
        let global = crate::config::Global {
            offline: self.global.offline || self.config.scan.offline,
            ..self.global.clone()
        };
        let gate =
            crate::scan::run::scan(&global, &self.scan_args(sbom, "json", json.clone()), &also)?;
        let report: serde_json::Value = std::fs::read(&json)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| Error::file(&json, "the scan report just written does not read back"))?;
        let count = |key: &str| report["summary"][key].as_u64().unwrap_or_default();
        self.summary.findings = Some(FindingCounts {
            critical: count("critical"),
            high: count("high"),
            medium: count("medium"),
            low: count("low"),
            unknown: count("unknown"),
            total: count("total"),
        });
        report::info(&format!(
            "{} finding(s): {} critical, {} high, {} medium, {} low, {} unknown; the gate (--fail-on {}) {}",
            count("total"),
            count("critical"),
            count("high"),
            count("medium"),
            count("low"),
            count("unknown"),
            self.config.scan.fail_on,
            if gate == Outcome::Ok { "passed" } else { "failed" }
        ));
        self.summary.gate = Some(GateResult {
            fail_on: self.config.scan.fail_on.clone(),
            passed: gate == Outcome::Ok,
        });
        Ok((gate, json))
    }

    /// Where `sign.generate_key` puts the run's key pair.
    fn generated_key(&self) -> PathBuf {
        self.config.output_dir.join("cosign.key")
    }

    fn signing(&self) -> SigningArgs {
        let sign = &self.config.sign;
        SigningArgs {
            key: if sign.generate_key {
                Some(self.generated_key())
            } else {
                sign.key.clone()
            },
            no_passphrase: sign.generate_key,
            subject_name: self.config.image_name.clone(),
            tlog_upload: sign.tlog_upload,
            timestamp: sign.timestamp,
            bundle_format: match sign.bundle_format.as_str() {
                "legacy" => BundleFormat::Legacy,
                "both" => BundleFormat::Both,
                _ => BundleFormat::Bundle,
            },
            identity_token: None,
            trust_config: self.config.trust_config.clone(),
            // WHARF_TUF_MIRROR/WHARF_TUF_ROOT, as for every command.
            tuf: Default::default(),
        }
    }

    /// A fresh key pair for this run (`sign.generate_key`), replacing the
    /// last run's.
    fn generate_key(&self) -> Result<()> {
        let private = self.generated_key();
        let public = private.with_extension("pub");
        for path in [&private, &public] {
            if path.exists() {
                std::fs::remove_file(path).map_err(|e| {
                    Error::file(path, format!("cannot replace the last run's key: {e}"))
                })?;
            }
        }
        let (private_pem, public_pem) = crate::sign::key::generate("")?;
        crate::fsutil::write_new(&private, private_pem.as_bytes(), 0o600)
            .map_err(|e| Error::file(&private, e))?;
        crate::fsutil::write_new(&public, public_pem.as_bytes(), 0o644)
            .map_err(|e| Error::file(&public, e))?;
        report::info(&format!(
            "generated a key pair for this run: {} (no passphrase) and {}; nothing outside this run trusts it",
            private.display(),
            public.display()
        ));
        Ok(())
    }

    /// Signs the image, starting the run's signing session, which the
    /// attest stage signs with too.
    fn sign(&mut self) -> Result<(Outcome, Expected)> {
        if self.config.sign.generate_key {
            self.generate_key()?;
        }
        let flags: Vec<String> = self
            .config
            .sign
            .annotations
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let annotations = crate::verify::parse_annotations(&flags)?;
        let signing = self.signing();
        let (image, resolved) = self.resolved()?;
        crate::sign::image::check_signing_args(image, &signing)?;
        let (signer, trust) = Session::prepare(&signing, self.global.offline)?;
        let net = self.net()?;
        let store = Store::new(&net.client, image);
        let (session, target) = net.runtime.block_on(async {
            let session = Session::start(signer, trust, &signing).await?;
            let target = session.target_of(&store, resolved).await?;
            crate::sign::image::sign_target(
                &session,
                &store,
                &target,
                &annotations,
                signing.bundle_format,
            )
            .await?;
            Ok::<_, Error>((session, target))
        })?;
        let expected = session.expected.clone();
        self.session = Some((session, target));
        Ok((Outcome::Ok, expected))
    }

    fn attest(&mut self, image_ref: &str, sbom: &Path) -> Result<(Outcome, ())> {
        let attest = &self.config.attest;
        let mut wanted: Vec<(String, Option<PathBuf>, bool)> = Vec::new();
        if attest.sbom {
            let kind = if self.config.sbom.format == "spdx-json" {
                "spdxjson"
            } else {
                "cyclonedx"
            };
            wanted.push((kind.into(), Some(sbom.to_path_buf()), false));
        }
        if attest.vuln {
            // Written by the scan stage, from the same match as the gate.
            let predicate = self.config.output_dir.join("vuln.json");
            wanted.push(("vuln".into(), Some(predicate), false));
        }
        if attest.provenance {
            wanted.push(("slsaprovenance1".into(), None, true));
        }
        for (kind, predicate, generate) in wanted {
            let args = crate::cli::AttestArgs {
                image: image_ref.to_string(),
                predicate,
                predicate_type: kind.clone(),
                generate,
                signing: self.signing(),
            };
            let predicate = crate::attest::Predicate::from_args(&args)?;
            let (session, target) = self.session()?;
            let (image, _) = self.resolved()?;
            let net = self.net()?;
            let store = Store::new(&net.client, image);
            let bundle = net.runtime.block_on(crate::attest::attest_target(
                session, &store, target, &args, predicate,
            ))?;
            let predicate_type = crate::verify::predicate_type_uri(&kind);
            if let (Some(api), Some(bundle)) = (self.github, bundle) {
                let id = upload(&net.runtime, api, &bundle, &predicate_type)?;
                self.summary.github_attestations.push(id);
            }
            self.summary.attestations.push(predicate_type);
        }
        Ok((Outcome::Ok, ()))
    }

    /// The identity admission will check: the configured one, else the one
    /// that just signed.
    fn expected(&self, signed: Expected) -> Result<Expected> {
        let verify = &self.config.verify;
        if !verify.is_set() {
            return Ok(signed);
        }
        Expected::from_args(&IdentityArgs {
            certificate_identity: verify.certificate_identity.clone(),
            certificate_identity_regexp: verify.certificate_identity_regexp.clone(),
            certificate_oidc_issuer: verify.certificate_oidc_issuer.clone(),
            certificate_oidc_issuer_regexp: verify.certificate_oidc_issuer_regexp.clone(),
            key: verify.key.clone(),
            insecure_ignore_tlog: !self.config.sign.tlog_upload,
        })
    }

    /// Checks, in the registry, that the image has a valid signature from
    /// the expected signer: the fallback index is read afresh, as any
    /// verifier reads it; what it names by digest the run's client holds.
    fn verify(&mut self, image_ref: &str, signed: Expected) -> Result<(Outcome, String)> {
        let expected = self.expected(signed)?;
        let (session, _) = self.session()?;
        let (image, resolved) = self.resolved()?;
        let net = self.net()?;
        let store = Store::new(&net.client, image);
        let found = net.runtime.block_on(crate::verify::collect_at(
            &store,
            &resolved.digest,
            &expected,
            &session.trust,
            SIGN_PREDICATE_TYPE,
            &Default::default(),
        ))?;
        let Some(checked) = found.verified_bundle() else {
            found.say_refusals();
            report::info(&format!(
                "stopped: {image_ref} has no valid signature from {}; nothing is promoted",
                crate::verify::describe(&expected)
            ));
            return Ok((Outcome::PolicyNo, String::new()));
        };
        self.summary.signer = checked.signer.clone();
        self.summary.issuer = checked.issuer.clone();
        self.summary.rekor_log_index = checked.log_index;
        let who = checked.signed_by().unwrap_or_default();
        report::info(&format!("verified: {image_ref} is signed by {who}"));
        Ok((Outcome::Ok, who))
    }

    /// The dry run of admission (`policy.check`): would the cluster's
    /// policies admit the digest just signed? A new pipeline's identity
    /// missing from the cluster's allowlist is found here, not at rollout.
    fn admission(&mut self, image: &ImageRef) -> Result<(Outcome, ())> {
        let digest = self.summary.digest.clone().unwrap_or_default();
        let name = match image {
            ImageRef::Registry(r) => format!("{}/{}", r.registry(), r.repository()),
            _ => self.config.image_name.clone().ok_or_else(|| {
                Error::Usage(
                    "policy.check: an oci: image has no registry name to match the cluster's \
                     policies against: set image_name (REG/REPO)"
                        .into(),
                )
            })?,
        };
        let trust = crate::policy::check::TrustFlags {
            trusted_root: None,
            trust_config: self.config.trust_config.clone(),
            tuf: crate::trust::tuf::TufSpec::resolve(None, None, self.global.offline)?,
        };
        let outcome = crate::policy::check::check(
            self.global,
            &self.config.policy.check,
            &format!("{name}@{digest}"),
            &trust,
        )?;
        Ok((outcome, ()))
    }

    /// The admission policy (`policy:`) for the identity verify enforced.
    fn write_policy(&self, image: &ImageRef, signed: Expected) -> Result<()> {
        // The repository admission sees: a layout's is the one it will be
        // pushed to.
        let repository = match image {
            ImageRef::Registry(r) => r.name().to_string(),
            ImageRef::Layout(_) => match &self.config.image_name {
                Some(name) => name.clone(),
                None if !self.config.policy.image_patterns.is_empty() => String::new(),
                None => return Err(Error::Usage(
                    "policy: an oci: image has no registry name for the policy's image pattern: \
                         set image_name (REG/REPO) or policy.image_patterns"
                        .into(),
                )),
            },
        };
        let path = crate::policy::write_for_run(crate::policy::RunPolicy {
            config: &self.config.policy,
            expected: self.expected(signed)?,
            repository: &repository,
            attestations: &self.summary.attestations,
            format: self.signing().bundle_format,
            trust_config: self.config.trust_config.as_deref(),
            output_dir: &self.config.output_dir,
        })?;
        report::info(&format!("wrote the admission policy to {}", path.display()));
        Ok(())
    }

    fn promote(
        &mut self,
        source: &ImageRef,
        signer: &str,
        scan_json: &Path,
    ) -> Result<(Outcome, ())> {
        let promote = &self.config.promote;
        // The name the deployment pulls: the registry reference, or the
        // repository a layout will be pushed to (its digest is the same).
        let (name, tag) = match source {
            ImageRef::Registry(r) => (r.name().to_string(), r.tag()),
            ImageRef::Layout(l) => (
                self.config.image_name.clone().unwrap_or_default(),
                l.tag.as_deref(),
            ),
        };
        let mut image = name;
        if let Some(tag) = tag {
            image.push(':');
            image.push_str(tag);
        }
        image.push('@');
        image.push_str(self.summary.digest.as_deref().unwrap_or_default());
        let args = PromoteArgs {
            image,
            files: promote.files.clone(),
            check: false,
            write: promote.write,
            commit: false,
            pull_request: promote.pull_request,
            repo: promote.repo.clone(),
            base: promote.base.clone(),
            scan_report: promote.pull_request.then(|| scan_json.to_path_buf()),
            target: None,
            values_path: Vec::new(),
            no_verify: false,
            identity: IdentityArgs {
                certificate_identity: None,
                certificate_identity_regexp: None,
                certificate_oidc_issuer: None,
                certificate_oidc_issuer_regexp: None,
                key: None,
                insecure_ignore_tlog: false,
            },
            trusted_root: None,
            trust_config: self.config.trust_config.clone(),
            tuf: Default::default(),
        };
        let mut written = Vec::new();
        let outcome = crate::promote::promote(self.global, &args, Some(signer), &mut written)?;
        self.summary.promoted = written.iter().map(|p| p.display().to_string()).collect();
        Ok((outcome, ()))
    }
}

/// Stores one attestation bundle through GitHub's attestations API; its id.
fn upload(
    runtime: &tokio::runtime::Runtime,
    api: &crate::github::Api,
    bundle: &str,
    predicate_type: &str,
) -> Result<u64> {
    let doc: serde_json::Value = serde_json::from_str(bundle)
        .map_err(|e| Error::Usage(format!("the {predicate_type} bundle is not JSON: {e}")))?;
    let id = runtime.block_on(api.upload_attestation(&doc))?;
    report::info(&format!(
        "stored the {predicate_type} attestation in {} through GitHub's attestations API (id {id})",
        api.repo()
    ));
    Ok(id)
}

/// The closing summary, on stderr.
fn closing(summary: &RunSummary) {
    let mut lines = vec![format!("── summary: {}", summary.outcome.as_str())];
    if let Some(image_ref) = &summary.image_ref {
        lines.push(format!("image     {image_ref}"));
    }
    if let Some(f) = &summary.findings {
        lines.push(format!(
            "findings  {} critical, {} high, {} medium, {} low, {} unknown",
            f.critical, f.high, f.medium, f.low, f.unknown
        ));
    }
    if let Some(signer) = &summary.signer {
        lines.push(format!("signer    {signer}"));
    }
    if !summary.attestations.is_empty() {
        lines.push(format!("attested  {}", summary.attestations.join(", ")));
    }
    if !summary.github_attestations.is_empty() {
        let ids: Vec<String> = summary
            .github_attestations
            .iter()
            .map(u64::to_string)
            .collect();
        lines.push(format!("github    attestation id(s) {}", ids.join(", ")));
    }
    if !summary.promoted.is_empty() {
        lines.push(format!("promoted  {}", summary.promoted.join(", ")));
    }
    if let Some(index) = summary.rekor_log_index {
        lines.push(format!("rekor     log index {index}"));
    }
    let stages: Vec<String> = summary
        .stages
        .iter()
        .map(|s| {
            let status = match s.status {
                StageStatus::Ok => "ok",
                StageStatus::Failed => "FAILED",
                StageStatus::Error => "ERROR",
                StageStatus::Skipped => "skipped",
            };
            if s.status == StageStatus::Skipped {
                format!("{} {status}", s.name)
            } else {
                format!("{} {status} {:.1}s", s.name, s.seconds)
            }
        })
        .collect();
    lines.push(format!("stages    {}", stages.join(" · ")));
    for line in lines {
        report::info(&line);
    }
}
