//! `wharf.yaml`: the pipeline's configuration (schema in docs/run.md).
//! Every key is optional; unknown keys are errors, so a typo never turns a
//! gate off silently.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cli::RunArgs;
use crate::{Error, Result};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub image: Option<String>,
    /// For an `oci:` image: the registry repository (REG/REPO) it will be
    /// pushed to, which promote writes into the deployment files.
    pub image_name: Option<String>,
    pub output_dir: PathBuf,
    pub pin: Pin,
    pub lint: Lint,
    pub sbom: Sbom,
    pub scan: Scan,
    pub sign: Sign,
    pub attest: Attest,
    pub verify: Verify,
    pub promote: Promote,
    pub policy: Policy,
    pub trust_config: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            image: None,
            image_name: None,
            output_dir: PathBuf::from("wharf-out"),
            pin: Pin::default(),
            lint: Lint::default(),
            sbom: Sbom::default(),
            scan: Scan::default(),
            sign: Sign::default(),
            attest: Attest::default(),
            verify: Verify::default(),
            promote: Promote::default(),
            policy: Policy::default(),
            trust_config: None,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Pin {
    pub enabled: bool,
    pub paths: Vec<PathBuf>,
}

/// `wharf lint` as a gate: an error-level finding stops the run before
/// anything is signed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Lint {
    pub enabled: bool,
    /// Dockerfiles or directories (default: the working directory)
    pub paths: Vec<PathBuf>,
    /// A `.wharf-lint.yaml` (default: the working directory's, if any)
    pub config: Option<PathBuf>,
    /// Also check the image itself: every executable's ELF loader or #!
    /// interpreter must be in it (`wharf lint --image`)
    pub image: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Sbom {
    /// cyclonedx-json | spdx-json
    pub format: String,
}

impl Default for Sbom {
    fn default() -> Sbom {
        Sbom {
            format: "cyclonedx-json".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scan {
    pub db: Option<PathBuf>,
    /// Never update the OSV cache from the network before scanning (as
    /// `--offline` does; the cache must then hold the data).
    pub offline: bool,
    /// critical | high | medium | low | none
    pub fail_on: String,
    pub ignore_unfixed: bool,
    pub ignore_file: Option<PathBuf>,
    pub vex: Option<PathBuf>,
}

impl Default for Scan {
    fn default() -> Scan {
        Scan {
            db: None,
            offline: false,
            fail_on: "critical".into(),
            ignore_unfixed: false,
            ignore_file: None,
            vex: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Sign {
    /// false: stop after the scan gate (another signer, such as Tekton
    /// Chains, signs what passed); attest, verify and promote do not run.
    pub enabled: bool,
    /// A cosign key; none: keyless, with the CI job's OIDC token.
    pub key: Option<PathBuf>,
    /// Sign with a key pair generated afresh for this run in the output
    /// directory (no passphrase): for trying the pipeline offline. Nothing
    /// outside the run trusts that key.
    pub generate_key: bool,
    /// bundle | legacy | both
    pub bundle_format: String,
    pub tlog_upload: bool,
    /// Timestamp key signatures through the trust config's TSA.
    pub timestamp: bool,
    pub annotations: std::collections::BTreeMap<String, String>,
}

impl Default for Sign {
    fn default() -> Sign {
        Sign {
            enabled: true,
            key: None,
            generate_key: false,
            bundle_format: "bundle".into(),
            tlog_upload: true,
            timestamp: true,
            annotations: Default::default(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Attest {
    pub sbom: bool,
    pub provenance: bool,
    pub vuln: bool,
    /// Also store each attestation bundle through GitHub's attestations
    /// API (GITHUB_REPOSITORY, GITHUB_TOKEN with `attestations: write`).
    pub github: bool,
}

impl Default for Attest {
    fn default() -> Attest {
        Attest {
            sbom: true,
            provenance: false,
            vuln: false,
            github: false,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Verify {
    pub certificate_identity: Option<String>,
    pub certificate_identity_regexp: Option<String>,
    pub certificate_oidc_issuer: Option<String>,
    pub certificate_oidc_issuer_regexp: Option<String>,
    pub key: Option<PathBuf>,
}

impl Verify {
    pub fn is_set(&self) -> bool {
        self.certificate_identity.is_some()
            || self.certificate_identity_regexp.is_some()
            || self.certificate_oidc_issuer.is_some()
            || self.certificate_oidc_issuer_regexp.is_some()
            || self.key.is_some()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Promote {
    pub files: Vec<PathBuf>,
    pub write: bool,
    pub pull_request: bool,
    pub repo: Option<String>,
    pub base: Option<String>,
}

impl Default for Promote {
    fn default() -> Promote {
        Promote {
            files: Vec::new(),
            write: true,
            pull_request: false,
            repo: None,
            base: None,
        }
    }
}

/// The admission policy for the identity that signed (`wharf policy`),
/// written once verify has passed. No engine: none is written.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// kyverno | policy-controller
    pub engine: Option<String>,
    /// Default: OUTPUT_DIR/policy.yaml
    pub output: Option<PathBuf>,
    /// Default: the image's repository followed by `*`
    pub image_patterns: Vec<String>,
    /// Refuse images whose vuln attestation counts findings at this
    /// severity or worse (needs attest.vuln)
    pub fail_on_vulns: Option<String>,
    /// enforce | audit
    pub mode: Option<String>,
    pub name: Option<String>,
    /// The policies the cluster enforces (files, usually in the GitOps
    /// repository): a dry run of admission against them before promote.
    pub check: Vec<PathBuf>,
}

/// The most a config file may weigh.
const MAX_CONFIG: u64 = 1 << 20;

impl Config {
    /// The file's settings (or the defaults, with no file), then the flags.
    pub fn load(args: &RunArgs) -> Result<Config> {
        let mut config = match &args.config {
            Some(path) => Config::read(path)?,
            None if Path::new("wharf.yaml").is_file() => Config::read(Path::new("wharf.yaml"))?,
            None => Config::default(),
        };
        if let Some(image) = &args.image {
            config.image = Some(image.clone());
        }
        if let Some(dir) = &args.output_dir {
            config.output_dir = dir.clone();
        }
        if let Some(fail_on) = &args.fail_on {
            config.scan.fail_on = fail_on.clone();
        }
        if let Some(db) = &args.db {
            config.scan.db = Some(db.clone());
        }
        if let Some(key) = &args.key {
            config.sign.key = Some(key.clone());
        }
        if args.github_attestations {
            config.attest.github = true;
        }
        if args.no_sign {
            config.sign.enabled = false;
        }
        if !args.promote.is_empty() {
            config.promote.files = args.promote.clone();
        }
        if args.no_promote {
            config.promote.files.clear();
        }
        if config.trust_config.is_none() {
            config.trust_config = std::env::var_os("WHARF_TRUST_CONFIG").map(PathBuf::from);
        }
        config.check()?;
        Ok(config)
    }

    fn read(path: &Path) -> Result<Config> {
        let bytes = crate::fsutil::read_bounded(path, MAX_CONFIG, "wharf config")?;
        let mut config: Config = serde_yaml::from_slice(&bytes).map_err(|e| {
            Error::file(path, format!("{e}; the keys are documented in docs/run.md"))
        })?;
        // Relative paths in the file are relative to the file.
        let base = path.parent().unwrap_or(Path::new(""));
        let rebase = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        rebase(&mut config.output_dir);
        config.pin.paths.iter_mut().for_each(rebase);
        config.lint.paths.iter_mut().for_each(rebase);
        config.policy.check.iter_mut().for_each(rebase);
        // With a pull request, promote.files are paths in the repository.
        if !config.promote.pull_request {
            config.promote.files.iter_mut().for_each(rebase);
        }
        for p in [
            &mut config.lint.config,
            &mut config.scan.db,
            &mut config.scan.ignore_file,
            &mut config.scan.vex,
            &mut config.sign.key,
            &mut config.verify.key,
            &mut config.policy.output,
            &mut config.trust_config,
        ]
        .into_iter()
        .flatten()
        {
            rebase(p);
        }
        if let Some(image) = &mut config.image {
            if let Some(dir) = image.strip_prefix("oci:") {
                if Path::new(dir).is_relative() {
                    *image = format!("oci:{}", base.join(dir).display());
                }
            }
        }
        Ok(config)
    }

    /// Values the types cannot check.
    fn check(&self) -> Result<()> {
        if !matches!(self.sbom.format.as_str(), "cyclonedx-json" | "spdx-json") {
            return Err(Error::Usage(format!(
                "sbom.format {:?}: use cyclonedx-json or spdx-json",
                self.sbom.format
            )));
        }
        if !matches!(
            self.scan.fail_on.as_str(),
            "critical" | "high" | "medium" | "low" | "none"
        ) {
            return Err(Error::Usage(format!(
                "scan.fail_on {:?}: use critical, high, medium, low or none",
                self.scan.fail_on
            )));
        }
        if !matches!(
            self.sign.bundle_format.as_str(),
            "bundle" | "legacy" | "both"
        ) {
            return Err(Error::Usage(format!(
                "sign.bundle_format {:?}: use bundle, legacy or both",
                self.sign.bundle_format
            )));
        }
        if !self.sign.enabled && !self.promote.files.is_empty() {
            return Err(Error::Usage(
                "promote needs a signature wharf has verified, and signing is off (sign.enabled: \
                 false or --no-sign): drop promote.files, or promote in a later step with \
                 `wharf promote` once the other signer has signed"
                    .into(),
            ));
        }
        if self.sign.generate_key && self.sign.key.is_some() {
            return Err(Error::Usage(
                "sign.generate_key makes a key for the run; drop sign.key (or --key), or drop generate_key to sign with that key"
                    .into(),
            ));
        }
        let layout = self.image.as_deref().is_some_and(|i| i.starts_with("oci:"));
        if layout && self.sign.enabled && self.sign.bundle_format != "bundle" {
            return Err(Error::Usage(format!(
                "sign.bundle_format {:?} writes cosign's legacy tags, which exist only in registries; \
                 an oci: image is signed with bundle_format: bundle",
                self.sign.bundle_format
            )));
        }
        if layout && !self.promote.files.is_empty() && self.image_name.is_none() {
            return Err(Error::Usage(
                "an oci: image has no registry name to write into promote.files: set image_name \
                 (REG/REPO, the repository it will be pushed to)"
                    .into(),
            ));
        }
        if let Some(name) = &self.image_name {
            if !layout {
                return Err(Error::Usage(format!(
                    "image_name {name:?} names an oci: image's registry repository; a registry image has its own name: drop image_name"
                )));
            }
            let parsed = crate::reference::Reference::parse(name)?;
            if parsed.tag().is_some() || parsed.digest().is_some() {
                return Err(Error::Usage(format!(
                    "image_name {name:?}: give the repository only (REG/REPO); the tag comes from the image and the digest from the run"
                )));
            }
        }
        if let Some(engine) = &self.policy.engine {
            if !matches!(engine.as_str(), "kyverno" | "policy-controller") {
                return Err(Error::Usage(format!(
                    "policy.engine {engine:?}: use kyverno or policy-controller"
                )));
            }
        }
        if !matches!(
            self.policy.mode.as_deref(),
            None | Some("enforce" | "audit")
        ) {
            return Err(Error::Usage(format!(
                "policy.mode {:?}: use enforce or audit",
                self.policy.mode.as_deref().unwrap_or_default()
            )));
        }
        if self.policy.fail_on_vulns.is_some() && !self.attest.vuln {
            return Err(Error::Usage(
                "policy.fail_on_vulns reads the vuln attestation, which the run does not make: \
                 set attest.vuln: true"
                    .into(),
            ));
        }
        if self.policy.engine.is_some() && !self.sign.enabled {
            return Err(Error::Usage(
                "policy.engine writes the policy for the identity that signed, and signing is off \
                 (--no-sign): write it with `wharf policy` and the other signer's identity"
                    .into(),
            ));
        }
        if self.promote.pull_request && self.promote.files.is_empty() {
            return Err(Error::Usage(
                "promote.pull_request needs promote.files: the paths in the repository to edit"
                    .into(),
            ));
        }
        Ok(())
    }

    /// The effective configuration, as YAML.
    pub fn to_yaml(&self) -> Result<String> {
        serde_yaml::to_string(self)
            .map_err(|e| Error::Usage(format!("cannot print the configuration: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> std::result::Result<Config, String> {
        serde_yaml::from_str::<Config>(text).map_err(|e| e.to_string())
    }

    #[test]
    fn every_key_is_optional() {
        let config = parse("{}").unwrap();
        assert_eq!(config.scan.fail_on, "critical");
        assert!(config.attest.sbom);
        assert_eq!(config.output_dir, PathBuf::from("wharf-out"));
        let config = parse("scan:\n  fail_on: high\n").unwrap();
        assert_eq!(config.scan.fail_on, "high");
        assert!(!config.scan.ignore_unfixed);
    }

    #[test]
    fn a_misspelt_key_is_an_error_not_a_silent_default() {
        let err = parse("scan:\n  fail-on: low\n").unwrap_err();
        assert!(err.contains("fail-on"), "{err}");
        assert!(err.contains("line 2") || err.contains("2:"), "{err}");
        assert!(parse("signing: {}\n").is_err());
    }

    #[test]
    fn the_printed_config_reads_back_the_same() {
        let config = parse("image: ghcr.io/acme/app:1\nsign:\n  key: k.key\n").unwrap();
        let again = parse(&config.to_yaml().unwrap()).unwrap();
        assert_eq!(again.to_yaml().unwrap(), config.to_yaml().unwrap());
        assert_eq!(again.sign.key, Some(PathBuf::from("k.key")));
    }

    #[test]
    fn paths_in_the_file_are_relative_to_it_except_repository_paths() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("wharf.yaml");
        std::fs::write(&file, "promote:\n  files: [deploy/values.yaml]\n").unwrap();
        let config = Config::read(&file).unwrap();
        assert_eq!(
            config.promote.files,
            [dir.path().join("deploy/values.yaml")]
        );
        assert_eq!(config.output_dir, dir.path().join("wharf-out"));
        std::fs::write(
            &file,
            "promote:\n  pull_request: true\n  files: [deploy/values.yaml]\n",
        )
        .unwrap();
        let config = Config::read(&file).unwrap();
        assert_eq!(config.promote.files, [PathBuf::from("deploy/values.yaml")]);
    }

    #[test]
    fn values_the_types_cannot_check_are_checked() {
        let mut config = Config::default();
        config.scan.fail_on = "severe".into();
        assert!(config.check().is_err());
        let mut config = Config::default();
        config.promote.pull_request = true;
        assert!(config.check().is_err());
        let mut config = Config::default();
        config.sign.enabled = false;
        config.promote.files = vec![PathBuf::from("values.yaml")];
        let err = config.check().unwrap_err().to_string();
        assert!(err.contains("--no-sign"), "{err}");
        let mut config = Config::default();
        config.policy.engine = Some("gatekeeper".into());
        assert!(config.check().is_err());
        let mut config = Config::default();
        config.policy.engine = Some("kyverno".into());
        config.policy.fail_on_vulns = Some("high".into());
        let err = config.check().unwrap_err().to_string();
        assert!(err.contains("attest.vuln"), "{err}");
        config.attest.vuln = true;
        assert!(config.check().is_ok());
    }

    #[test]
    fn a_layout_needs_a_registry_name_to_promote() {
        let mut config = Config {
            image: Some("oci:build/image:1.0".into()),
            ..Config::default()
        };
        config.promote.files = vec![PathBuf::from("values.yaml")];
        let err = config.check().unwrap_err().to_string();
        assert!(err.contains("image_name"), "{err}");
        config.image_name = Some("registry.example.com/shop/api".into());
        assert!(config.check().is_ok());
        config.sign.bundle_format = "both".into();
        let err = config.check().unwrap_err().to_string();
        assert!(err.contains("only in registries"), "{err}");
        config.sign.bundle_format = "bundle".into();
        config.image_name = Some("registry.example.com/shop/api:1.0".into());
        let err = config.check().unwrap_err().to_string();
        assert!(err.contains("repository only"), "{err}");
        config.image = Some("registry.example.com/shop/api:1.0".into());
        config.image_name = Some("registry.example.com/shop/api".into());
        let err = config.check().unwrap_err().to_string();
        assert!(err.contains("drop image_name"), "{err}");
        let mut config = Config::default();
        config.sign.generate_key = true;
        config.sign.key = Some(PathBuf::from("cosign.key"));
        assert!(config.check().is_err());
    }
}
