//! The command line, declared with clap. Definitions only: validation into a
//! typed configuration happens in [`crate::config`], before any work starts.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "wharf",
    version,
    about = "Supply-chain steps of a container CI pipeline: pin, lint, sbom, scan, sign, attest, verify, promote",
    long_about = "Supply-chain steps of a container CI pipeline, in the only safe order: \
                  pin tags to digests, scan before signing, sign the digest, verify what admission will check, \
                  and promote only what verifies.\n\n\
                  Exit codes: 0 ok, 1 a policy said no (gate failed, unverified, unpinned under --check), \
                  2 could not do the job."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Allow plain HTTP, or TLS without certificate checks, for this registry
    /// only (HOST or HOST:PORT). Repeatable; also WHARF_INSECURE_REGISTRIES,
    /// comma-separated.
    #[arg(long = "insecure-registry", value_name = "HOST[:PORT]", global = true)]
    pub insecure_registry: Vec<String>,
    /// Where a signature or attestation is made findable: `auto` lists it in
    /// the `sha256-<hex>` fallback index only on registries without the OCI
    /// 1.1 referrers API (as cosign does); `always` lists it there too on
    /// registries with the API, for readers that only look at the tag. Also
    /// WHARF_REFERRERS_FALLBACK.
    #[arg(long = "referrers-fallback", value_name = "auto|always", global = true)]
    pub referrers_fallback: Option<crate::config::ReferrersFallback>,
    /// Use no network for trust (a TUF repository's trust comes from the
    /// verified cache only) nor for OSV data (scan does not update the
    /// database; `db update` refuses). Also WHARF_OFFLINE=1.
    #[arg(long, global = true)]
    pub offline: bool,
}

/// A Sigstore TUF repository to take the trusted root and signing config
/// from (a private instance's mirror), as `cosign initialize --mirror
/// --root` sets it. `--trust-config`/`--trusted-root` win over it; without
/// any of them, Sigstore public-good's repository is read, from the root
/// built into wharf.
#[derive(Debug, Clone, Default, Args)]
pub struct TufArgs {
    /// The TUF repository's URL; also WHARF_TUF_MIRROR. Without
    /// --tuf-root, a mirror of Sigstore public-good's repository (default
    /// https://tuf-repo-cdn.sigstore.dev), trusted from the root built in
    #[arg(long = "tuf-mirror", value_name = "URL")]
    pub tuf_mirror: Option<String>,
    /// The repository's root.json, obtained out of band: where trust in it
    /// begins (with --tuf-mirror); also WHARF_TUF_ROOT
    #[arg(long = "tuf-root", value_name = "FILE")]
    pub tuf_root: Option<PathBuf>,
}

impl TufArgs {
    /// The repository these flags (else `WHARF_TUF_MIRROR`/`WHARF_TUF_ROOT`)
    /// name, if any ([`crate::trust::tuf::TufSpec::resolve`]).
    pub fn spec(&self, offline: bool) -> crate::Result<Option<crate::trust::tuf::TufSpec>> {
        crate::trust::tuf::TufSpec::resolve(
            self.tuf_mirror.as_deref(),
            self.tuf_root.as_deref(),
            offline,
        )
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Resolve image tags to digests in Dockerfiles, Kubernetes manifests,
    /// Helm values, kustomization and compose files
    Pin(PinArgs),
    #[command(
        about = "Build-hygiene checks for Dockerfiles (and, with --image, the built image)",
        override_usage = "wharf lint [DOCKERFILE|DIR]... [--format text|json|sarif] [--config FILE]\n                  [--image IMAGE [--platform OS/ARCH]] [-o FILE]",
        long_about = "Build-hygiene checks for Dockerfiles, read as BuildKit reads them (continuations, heredocs, \
                  # escape=, build args across stages): unpinned or untagged base images, registries the config \
                  does not allow, root or missing USER, ADD and unverified downloads, curl | sh, package-manager \
                  leftovers, full distributions and whole build trees in the final image, dynamically linked \
                  builds on scratch or distroless/static. Rule ids, levels, whys and fixes: docs/lint.md.\n\n\
                  Waive one finding with a reason on the line above the instruction:\n  \
                  # wharf-ignore RULE-ID -- why this is fine here\n\n\
                  Exit codes: 0 no error-level finding, 1 an error-level finding remains, \
                  2 could not lint (unreadable file, bad config, unreadable image)."
    )]
    Lint(LintArgs),
    /// Inventory of the image's packages (CycloneDX or SPDX)
    Sbom(SbomArgs),
    /// Match the image's packages against OSV data; report all, gate on --fail-on
    Scan(ScanArgs),
    /// Manage the local OSV database: update (download from osv.dev), import, status
    Db(DbArgs),
    /// Sign the image digest (keyless by default in CI)
    Sign(SignArgs),
    /// Sign an in-toto attestation about the image and store it beside it
    Attest(AttestArgs),
    /// Exit 0 only if a valid signature (or attestation) from the identity exists
    Verify(VerifyArgs),
    /// Verify a Sigstore bundle for a file or digest
    VerifyBlob(VerifyBlobArgs),
    /// Write a cosign-compatible encrypted key pair
    GenerateKeyPair(GenerateKeyPairArgs),
    /// Rewrite deploy values to the signed digest
    Promote(PromoteArgs),
    /// Print an admission policy matching the signing identity, or check
    /// an image against the policies a cluster enforces (`policy check`)
    Policy(PolicyArgs),
    /// The whole pipeline with its gates
    Run(RunArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PinStyle {
    /// `name:tag@sha256:…`: the tag stays for humans, the digest decides
    TagDigest,
    /// `name@sha256:…`
    Digest,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BundleFormat {
    Bundle,
    Legacy,
    Both,
}

impl BundleFormat {
    pub fn bundle(self) -> bool {
        matches!(self, BundleFormat::Bundle | BundleFormat::Both)
    }
    pub fn legacy(self) -> bool {
        matches!(self, BundleFormat::Legacy | BundleFormat::Both)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TextOrJson {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct PinArgs {
    /// Files or directories (walked recursively). Default: the current directory.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Resolve nothing; exit 1 listing every reference without a digest
    #[arg(long, conflicts_with = "write")]
    pub check: bool,
    /// Edit the files in place (atomically); default is to print a diff
    #[arg(long)]
    pub write: bool,
    /// How a pinned reference is written
    #[arg(long, value_enum, default_value_t = PinStyle::TagDigest)]
    pub style: PinStyle,
    /// Pin the manifest of this platform instead of the multi-arch index
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<String>,
    #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
    pub format: TextOrJson,
    /// How many registry requests may run at once
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub concurrency: usize,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// Dockerfiles, or directories to search (recursively) for Dockerfile,
    /// Containerfile, *.Dockerfile and Dockerfile.* (templates such as
    /// Dockerfile.j2 or Dockerfile.in only when named). Default: the
    /// current directory.
    #[arg(value_name = "DOCKERFILE|DIR")]
    pub dockerfiles: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = LintFormat::Text)]
    pub format: LintFormat,
    /// Lint config (allowed registries, rule levels, inline ignores).
    /// Default: .wharf-lint.yaml in the current directory, if there is one
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Also check this built image (REG/REPO:TAG, …@sha256:HEX, oci:DIR[:TAG]):
    /// every dynamically linked executable's ELF loader, every script's #!
    /// interpreter (and `env`'s program, on the image's PATH) must be in it
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// From a multi-platform --image, check this platform (default linux/amd64)
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<String>,
    /// Write the report here (atomically) instead of to stdout
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SbomArgs {
    /// The image: REG/REPO:TAG, REG/REPO@sha256:HEX, or oci:DIR[:TAG|@DIGEST]
    pub image: String,
    #[arg(long, value_enum, default_value_t = SbomFormat::CyclonedxJson)]
    pub format: SbomFormat,
    /// Write the SBOM here (atomically) instead of to stdout
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// From a multi-platform index, read this platform's image (default linux/amd64)
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SbomFormat {
    /// CycloneDX 1.6 JSON
    CyclonedxJson,
    /// SPDX 2.3 JSON
    SpdxJson,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// The image: REG/REPO:TAG, REG/REPO@sha256:HEX, or oci:DIR[:TAG]
    pub image: Option<String>,
    /// Scan this CycloneDX or SPDX JSON SBOM instead of an image
    #[arg(long, value_name = "FILE", conflicts_with = "image")]
    pub sbom: Option<PathBuf>,
    /// OSV data: a directory of records or osv.dev's all.zip (default: the
    /// local cache, which the scan first updates from osv.dev, or
    /// WHARF_OSV_MIRROR, when it lacks the image's ecosystems or is older
    /// than --db-age-warning; --offline never does)
    #[arg(long, value_name = "DIR|ZIP")]
    pub db: Option<PathBuf>,
    /// The lowest severity that fails the scan (exit 1); everything is
    /// reported whatever this says. `low` fails on anything, unrated included
    #[arg(
        long = "fail-on",
        value_name = "critical|high|medium|low|none",
        default_value = "critical"
    )]
    pub fail_on: String,
    /// Findings with no fixed version do not fail the scan (still reported)
    #[arg(long = "ignore-unfixed")]
    pub ignore_unfixed: bool,
    /// Accepted findings, each with a reason (default .wharfignore.yaml when present)
    #[arg(long = "ignore-file", value_name = "FILE")]
    pub ignore_file: Option<PathBuf>,
    /// OpenVEX statements: not_affected/fixed suppress a finding
    #[arg(long, value_name = "FILE")]
    pub vex: Option<PathBuf>,
    /// The report: a table, JSON (docs/scan-report.schema.json), SARIF 2.1.0,
    /// Markdown for a job summary, or cosign's vuln attestation predicate
    #[arg(
        long,
        default_value = "table",
        value_name = "table|json|sarif|markdown|vuln-predicate"
    )]
    pub format: String,
    /// Write the report here (atomically) instead of to stdout
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Data older than this is an error (exit 2): 7d, 48h
    #[arg(long = "max-db-age", value_name = "AGE")]
    pub max_db_age: Option<String>,
    /// Data older than this earns a warning (and, in the default cache, an
    /// update first)
    #[arg(long = "db-age-warning", value_name = "AGE", default_value = "7d")]
    pub db_age_warning: String,
    /// From a multi-platform index, scan this platform's image (default linux/amd64)
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<String>,
}

#[derive(Debug, Args)]
pub struct DbArgs {
    #[command(subcommand)]
    pub command: DbCommand,
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Import OSV records into the local cache ($WHARF_CACHE_DIR, else
    /// $XDG_CACHE_HOME/wharf, else ~/.cache/wharf). Records with an id
    /// already there replace it when at least as new; the others stay
    Import {
        /// Directories of OSV JSON records, .json records, or osv.dev's
        /// per-ecosystem all.zip
        #[arg(value_name = "FILE|DIR", required = true)]
        paths: Vec<PathBuf>,
    },
    /// Download osv.dev's data for these ecosystems into the local cache,
    /// or refresh what it holds: the first time each ecosystem's all.zip,
    /// afterwards only the records modified since (from its
    /// modified_id.csv), with conditional requests: nothing changed costs a
    /// few hundred bytes. `wharf scan` does this by itself for the
    /// ecosystems an image needs (not with --offline)
    #[command(override_usage = "wharf db update [--ecosystem ECOSYSTEM]... [--mirror URL]")]
    Update {
        /// An OSV ecosystem to download or refresh (PyPI, npm, Go,
        /// crates.io, Maven, Debian, Alpine, Ubuntu, ...; `Debian:12`
        /// means Debian). Repeatable; default: those already in the cache
        #[arg(long = "ecosystem", value_name = "ECOSYSTEM")]
        ecosystems: Vec<String>,
        /// A copy of osv.dev's bucket (default
        /// https://osv-vulnerabilities.storage.googleapis.com); also
        /// WHARF_OSV_MIRROR, which `scan` and `run` use too
        #[arg(long, value_name = "URL")]
        mirror: Option<String>,
    },
    /// Counts per ecosystem and the data's age (from the newest record's `modified`)
    Status {
        /// Describe this directory or zip instead of the imported cache
        #[arg(long, value_name = "DIR|ZIP")]
        db: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
        format: TextOrJson,
    },
}

#[derive(Debug, Args)]
pub struct SigningArgs {
    /// Sign with a cosign key (`wharf generate-key-pair`, or cosign's own;
    /// passphrase from WHARF_PASSWORD or COSIGN_PASSWORD) instead of keyless
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Record the signature in the transparency log (Rekor). Only key
    /// signatures may skip it; their verifiers then need --insecure-ignore-tlog
    #[arg(long = "tlog-upload", value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    pub tlog_upload: bool,
    /// Have a key signature timestamped by the trust config's timestamp
    /// authority, where it names one. `--timestamp=false` with
    /// `--tlog-upload=false` signs with no network at all
    #[arg(long = "timestamp", value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    pub timestamp: bool,
    /// Where the signature goes: a Sigstore bundle attached as an OCI
    /// referrer (cosign v3), cosign's legacy `sha256-<hex>.sig` tag
    /// (`.att` for attestations) for older verifiers, or both
    #[arg(long = "bundle-format", value_enum, default_value_t = BundleFormat::Bundle)]
    pub bundle_format: BundleFormat,
    /// The OIDC token to sign with, or a file holding it (default: discovered
    /// from the CI environment: SIGSTORE_ID_TOKEN, a projected token file,
    /// GitHub Actions, Buildkite, CircleCI)
    #[arg(long = "identity-token", value_name = "TOKEN", hide_env_values = true)]
    pub identity_token: Option<String>,
    /// A Sigstore ClientTrustConfig (trusted root + signing config)
    #[arg(long = "trust-config", value_name = "FILE", env = "WHARF_TRUST_CONFIG")]
    pub trust_config: Option<PathBuf>,
    /// The key has an empty passphrase: one `wharf run` generated for
    /// itself (`sign.generate-key`). Not a flag.
    #[arg(skip)]
    pub no_passphrase: bool,
    /// For an oci: layout: the repository it will be pushed to (REG/REPO),
    /// the name its signed statements give their subject, as cosign names a
    /// registry image's (default: oci:DIR, a local path)
    #[arg(long = "image-name", value_name = "REG/REPO")]
    pub subject_name: Option<String>,
    #[command(flatten)]
    pub tuf: TufArgs,
}

#[derive(Debug, Clone, Args)]
pub struct IdentityArgs {
    /// Who must have signed, exactly: the certificate's SAN (a CI workflow
    /// URL such as https://github.com/ORG/REPO/.github/workflows/F.yml@refs/heads/main,
    /// or an email)
    #[arg(long = "certificate-identity", value_name = "ID")]
    pub certificate_identity: Option<String>,
    /// Who must have signed, as a regular expression matched against the
    /// whole SAN (not a substring)
    #[arg(long = "certificate-identity-regexp", value_name = "REGEX")]
    pub certificate_identity_regexp: Option<String>,
    /// The OIDC issuer that vouched for the identity (GitHub Actions:
    /// https://token.actions.githubusercontent.com)
    #[arg(long = "certificate-oidc-issuer", value_name = "URL")]
    pub certificate_oidc_issuer: Option<String>,
    /// The OIDC issuer, as a regular expression matched against the whole value
    #[arg(long = "certificate-oidc-issuer-regexp", value_name = "REGEX")]
    pub certificate_oidc_issuer_regexp: Option<String>,
    /// Verify against a public key instead of a certificate identity
    #[arg(long, value_name = "PUB")]
    pub key: Option<PathBuf>,
    /// With --key: accept a signature that is in no transparency log
    /// (signed with --tlog-upload=false). Nothing then proves when it was made
    #[arg(long = "insecure-ignore-tlog", requires = "key")]
    pub insecure_ignore_tlog: bool,
}

#[derive(Debug, Args)]
pub struct SignArgs {
    /// The image: REG/REPO:TAG (resolved once; the digest is what gets
    /// signed), REG/REPO@sha256:HEX, or an OCI layout oci:DIR[:TAG|@DIGEST]
    /// (the signature goes into the layout)
    pub image: String,
    /// Sign this annotation too (in the statement's subject, as cosign v3
    /// does); repeatable. `wharf verify -a` can then require it
    #[arg(short = 'a', long = "annotation", value_name = "KEY=VALUE")]
    pub annotations: Vec<String>,
    #[command(flatten)]
    pub signing: SigningArgs,
}

#[derive(Debug, Args)]
pub struct AttestArgs {
    /// The image: REG/REPO:TAG (resolved once), REG/REPO@sha256:HEX, or
    /// oci:DIR[:TAG|@DIGEST] (the attestation goes into the layout)
    pub image: String,
    /// The predicate, a JSON file: an SBOM (`wharf sbom`), a provenance, a
    /// vulnerability report
    #[arg(long, value_name = "FILE", required_unless_present = "generate")]
    pub predicate: Option<PathBuf>,
    /// The predicate type: cyclonedx, spdxjson, slsaprovenance1, vuln, or a URI
    #[arg(
        long = "type",
        value_name = "cyclonedx|spdxjson|slsaprovenance1|vuln|URI"
    )]
    pub predicate_type: String,
    /// With --type slsaprovenance1: build the provenance from the CI
    /// environment (GitHub Actions, GitLab, Jenkins; elsewhere WHARF_BUILDER_ID,
    /// WHARF_SOURCE_URI, WHARF_SOURCE_REVISION) instead of reading --predicate
    #[arg(long, conflicts_with = "predicate")]
    pub generate: bool,
    #[command(flatten)]
    pub signing: SigningArgs,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The image: REG/REPO:TAG (resolved once to its digest),
    /// REG/REPO@sha256:HEX, or oci:DIR[:TAG|@DIGEST]
    pub image: String,
    #[command(flatten)]
    pub identity: IdentityArgs,
    /// Verify an attestation of this type instead of a signature:
    /// cyclonedx, spdxjson, slsaprovenance1, vuln, or a predicate type URI
    #[arg(long = "attestation-type", value_name = "TYPE")]
    pub attestation_type: Option<String>,
    /// With --attestation-type: write the verified predicate (of the newest
    /// verified attestation) to FILE
    #[arg(
        long = "output-predicate",
        value_name = "FILE",
        requires = "attestation_type"
    )]
    pub output_predicate: Option<PathBuf>,
    /// Require this signed annotation; repeatable
    #[arg(short = 'a', long = "annotation", value_name = "KEY=VALUE")]
    pub annotations: Vec<String>,
    /// A Sigstore TrustedRoot to verify against
    #[arg(long = "trusted-root", value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
    /// A Sigstore ClientTrustConfig; default: the public-good instance
    #[arg(long = "trust-config", value_name = "FILE", env = "WHARF_TRUST_CONFIG")]
    pub trust_config: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
    pub format: TextOrJson,
    #[command(flatten)]
    pub tuf: TufArgs,
}

#[derive(Debug, Args)]
pub struct VerifyBlobArgs {
    /// The file, or sha256:HEX of its contents
    pub input: String,
    #[arg(long, value_name = "FILE")]
    pub bundle: Option<PathBuf>,
    #[command(flatten)]
    pub identity: IdentityArgs,
    /// A Sigstore TrustedRoot to verify against
    #[arg(long = "trusted-root", value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
    /// A Sigstore ClientTrustConfig (its trusted root is used); default:
    /// the public-good instance
    #[arg(long = "trust-config", value_name = "FILE", env = "WHARF_TRUST_CONFIG")]
    pub trust_config: Option<PathBuf>,
    #[command(flatten)]
    pub tuf: TufArgs,
}

#[derive(Debug, Args)]
pub struct GenerateKeyPairArgs {
    /// Prefix of the written files (PREFIX.key, PREFIX.pub)
    #[arg(long = "output-key-prefix", default_value = "cosign")]
    pub output_key_prefix: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PromoteTarget {
    /// Helm values: `image:` strings and {registry, repository, tag, digest} maps
    Helm,
    /// kustomization.yaml `images:` entries
    Kustomize,
    /// Kubernetes manifests (and compose files): containers' `image:` fields
    Manifest,
}

#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// The signed image: REPO[:TAG]@sha256:HEX. Entries of REPO get its
    /// digest (and its tag, when it has one)
    pub image: String,
    /// Values files, kustomizations, manifests; a directory means the YAML
    /// files under it. With --pull-request: paths in the repository
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// Exit 1 when any entry of REPO is not at the digest (drift check);
    /// change nothing
    #[arg(long, conflicts_with_all = ["write", "commit", "pull_request"])]
    pub check: bool,
    /// Edit the files in place (default: print the diff)
    #[arg(long)]
    pub write: bool,
    /// Edit the files in place and make a local git commit of them
    #[arg(long, conflicts_with = "pull_request")]
    pub commit: bool,
    /// Open (or update) a GitHub pull request with the edits instead of
    /// editing local files; needs GITHUB_TOKEN
    #[arg(long = "pull-request")]
    pub pull_request: bool,
    /// The repository for --pull-request, OWNER/NAME (default: $GITHUB_REPOSITORY)
    #[arg(long, value_name = "OWNER/NAME", requires = "pull_request")]
    pub repo: Option<String>,
    /// The branch the pull request goes into (default: the repository's
    /// default branch)
    #[arg(long, value_name = "BRANCH", requires = "pull_request")]
    pub base: Option<String>,
    /// A `wharf scan --format json` report whose findings the pull request
    /// body summarises by severity
    #[arg(long = "scan-report", value_name = "FILE", requires = "pull_request")]
    pub scan_report: Option<PathBuf>,
    /// Treat every file as this kind instead of detecting it
    #[arg(long, value_enum)]
    pub target: Option<PromoteTarget>,
    /// A dotted path in Helm values (image, app.image, sidecars.0.image)
    /// whose image is promoted whatever repository it names
    #[arg(long = "values-path", value_name = "PATH")]
    pub values_path: Vec<String>,
    /// Promote without checking the signature. Printed, never silent
    #[arg(long = "no-verify", conflicts_with_all = [
        "certificate_identity", "certificate_identity_regexp",
        "certificate_oidc_issuer", "certificate_oidc_issuer_regexp",
    ])]
    pub no_verify: bool,
    #[command(flatten)]
    pub identity: IdentityArgs,
    /// A Sigstore TrustedRoot to verify against
    #[arg(long = "trusted-root", value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
    /// A Sigstore ClientTrustConfig; default: the public-good instance
    #[arg(long = "trust-config", value_name = "FILE", env = "WHARF_TRUST_CONFIG")]
    pub trust_config: Option<PathBuf>,
    #[command(flatten)]
    pub tuf: TufArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyEngine {
    /// A Kyverno `ImageValidatingPolicy` (or, with --kyverno-api
    /// cluster-policy, a `ClusterPolicy`)
    Kyverno,
    /// A Sigstore policy-controller `ClusterImagePolicy` (policy.sigstore.dev/v1beta1)
    PolicyController,
}

/// What `wharf policy` does: write a policy for an engine, or check one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyAction {
    /// Write a Kyverno `ImageValidatingPolicy` (or, with --kyverno-api
    /// cluster-policy, a `ClusterPolicy`)
    Kyverno,
    /// Write a Sigstore policy-controller `ClusterImagePolicy`
    PolicyController,
    /// A dry run of admission: `wharf policy check POLICY.yaml... IMAGE@DIGEST`
    Check,
}

impl PolicyAction {
    /// The engine a policy is written for (`None` for `check`).
    pub fn engine(self) -> Option<PolicyEngine> {
        match self {
            PolicyAction::Kyverno => Some(PolicyEngine::Kyverno),
            PolicyAction::PolicyController => Some(PolicyEngine::PolicyController),
            PolicyAction::Check => None,
        }
    }
}

/// Which Kyverno API a policy is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KyvernoApi {
    /// `ImageValidatingPolicy` (policies.kyverno.io/v1)
    ImageValidatingPolicy,
    /// `ClusterPolicy` verifyImages (kyverno.io/v1)
    ClusterPolicy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyMode {
    /// Refuse what does not verify
    Enforce,
    /// Admit it, but report it (Kyverno: Audit; policy-controller: warn)
    Audit,
}

#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// The admission controller to write the policy for, or `check`
    #[arg(value_enum, value_name = "ENGINE")]
    pub engine: PolicyAction,
    /// With `check`: the policy files, then the image (IMAGE@DIGEST)
    #[arg(value_name = "POLICY.yaml... IMAGE")]
    pub targets: Vec<String>,
    #[command(flatten)]
    pub identity: IdentityArgs,
    /// Images the policy applies to; repeatable. `*` matches any characters
    /// (`/` included), as in Kyverno's imageReferences: 'ghcr.io/acme/*'
    #[arg(long = "image-pattern", value_name = "PATTERN")]
    pub image_patterns: Vec<String>,
    /// Also require an attestation of this type from the same signer;
    /// repeatable: cyclonedx, spdxjson, slsaprovenance1, vuln, or a predicate type URI
    #[arg(long = "attestation", value_name = "TYPE")]
    pub attestations: Vec<String>,
    /// Require a vuln attestation (`wharf attest --type vuln`) whose scan has
    /// no unsuppressed finding at SEV or worse: critical, high, medium, low
    #[arg(long = "fail-on-vulns", value_name = "SEV")]
    pub fail_on_vulns: Option<String>,
    /// How the images are signed: bundle (wharf's default, cosign v3) or
    /// legacy (`wharf sign --bundle-format legacy`, cosign's .sig tags)
    #[arg(long = "signature-format", value_enum, default_value_t = BundleFormat::Bundle)]
    pub signature_format: BundleFormat,
    /// A private Sigstore's TrustedRoot (its Fulcio, Rekor and CT log go into the policy)
    #[arg(long = "trusted-root", value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
    /// A private Sigstore's ClientTrustConfig (its trusted root is used);
    /// default: the public-good instance
    #[arg(long = "trust-config", value_name = "FILE", env = "WHARF_TRUST_CONFIG")]
    pub trust_config: Option<PathBuf>,
    /// Kyverno's policy API: image-validating-policy (policies.kyverno.io/v1,
    /// Kyverno 1.17 and later) or cluster-policy (kyverno.io/v1 verifyImages,
    /// deprecated since 1.17, for older clusters)
    #[arg(long = "kyverno-api", value_enum, default_value_t = KyvernoApi::ImageValidatingPolicy)]
    pub kyverno_api: KyvernoApi,
    /// A private Sigstore's TUF repository, named in the policy so the
    /// engine reads the instance's trust from it
    #[command(flatten)]
    pub tuf: TufArgs,
    /// metadata.name of the policy (lowercase letters, digits, '-', '.'; at most 63)
    #[arg(long, value_name = "NAME", default_value = "wharf-signed-images")]
    pub name: String,
    /// enforce: refuse what does not verify; audit: admit and report it
    #[arg(long, value_enum, default_value_t = PolicyMode::Enforce)]
    pub mode: PolicyMode,
    /// Write the policy to FILE (atomically) instead of stdout
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The image (overrides `image:` in the config): REG/REPO:TAG,
    /// REG/REPO@sha256:HEX, or an OCI layout oci:DIR[:TAG] (signed in a
    /// copy in the output directory)
    pub image: Option<String>,
    /// The pipeline's configuration (default: ./wharf.yaml when it exists;
    /// keys in docs/run.md)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print the effective configuration (file, then flags) and exit
    #[arg(long = "print-config")]
    pub print_config: bool,
    /// Where the SBOM, reports and run.json go (default: wharf-out)
    #[arg(long = "output-dir", value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// Also write the run summary (run.json) here: Jenkins' output
    #[arg(long = "output-json", value_name = "FILE")]
    pub output_json: Option<PathBuf>,
    /// Also store each attestation through GitHub's attestations API
    /// (GITHUB_REPOSITORY; GITHUB_TOKEN with `attestations: write`)
    #[arg(long = "github-attestations")]
    pub github_attestations: bool,
    /// Write a dotenv report here (GitLab's `artifacts: reports: dotenv:`)
    #[arg(long = "output-dotenv", value_name = "FILE")]
    pub output_dotenv: Option<PathBuf>,
    /// The scan gate: critical, high, medium, low or none
    #[arg(long = "fail-on", value_name = "SEV")]
    pub fail_on: Option<String>,
    /// OSV data for the scan: a directory or all.zip (default: the local cache)
    #[arg(long, value_name = "DIR|ZIP")]
    pub db: Option<PathBuf>,
    /// Sign with this cosign key instead of keylessly
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Promote into these files (replaces promote.files)
    #[arg(long, value_name = "FILE")]
    pub promote: Vec<PathBuf>,
    /// Skip the promote stage
    #[arg(long = "no-promote", conflicts_with = "promote")]
    pub no_promote: bool,
    /// Stop after the scan gate: another signer (Tekton Chains) signs what
    /// passed; attest, verify and promote do not run
    #[arg(long = "no-sign", conflicts_with_all = ["key", "promote"])]
    pub no_sign: bool,
}

/// `wharf lint --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LintFormat {
    /// One block per finding: FILE:LINE: LEVEL[RULE] message, why and fix
    Text,
    /// One JSON document (docs/lint.md describes it)
    Json,
    /// SARIF 2.1.0, for GitHub code scanning
    Sarif,
}
