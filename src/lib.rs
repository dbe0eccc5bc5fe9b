//! wharf: the supply-chain steps of a container CI pipeline, as one library
//! behind one binary. Each step is a module named after its command.
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod attest;
pub mod ci;
pub mod cli;
pub mod config;
pub mod dockerfile;
pub mod error;
pub mod fsutil;
pub mod github;
pub mod image;
pub mod lint;
pub mod pin;
pub mod policy;
pub mod promote;
pub mod reference;
pub mod registry;
pub mod report;
pub mod run;
pub mod sarif;
pub mod sbom;
pub mod scan;
pub mod sign;
pub mod text;
pub mod trust;
pub mod verify;
pub mod yaml;

pub use error::{Error, Result};

/// How a command ended when it did its job: the policy said yes or no.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Ok,
    /// Exit 1: a policy said no (unpinned under `--check`, a failed gate, unverified).
    PolicyNo,
}

/// The async runtime commands that talk to the network run on: two worker
/// threads, which is all the I/O-bound work needs.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Usage(format!("cannot start the async runtime: {e}")))
}

/// Now — or `SOURCE_DATE_EPOCH` when set, so that reproducible builds
/// get the same timestamps in signatures' annotations and SBOMs.
pub fn build_time() -> jiff::Timestamp {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .and_then(|secs| jiff::Timestamp::from_second(secs).ok())
        .unwrap_or_else(jiff::Timestamp::now)
}

/// Runs one command line. Errors mean the job could not be done (exit 2).
pub fn run(cli: cli::Cli) -> Result<Outcome> {
    let global = config::Global::resolve(
        &cli.global.insecure_registry,
        cli.global.referrers_fallback,
        cli.global.offline,
    )?;
    use cli::Command;
    match cli.command {
        Command::Pin(args) => {
            let options = pin::PinOptions::from_args(args)?;
            pin::run(&global, &options)
        }
        Command::Lint(args) => {
            let options = lint::LintOptions::from_args(args)?;
            lint::run(&global, &options)
        }
        Command::Sbom(args) => sbom::run(&global, &args),
        Command::Scan(args) => scan::run::run(&global, &args),
        Command::Db(args) => scan::db::run(&global, &args),
        Command::Sign(args) => sign::image::run(&global, &args),
        Command::Attest(args) => attest::run(&global, &args),
        Command::Verify(args) => verify::verify_image(&global, &args),
        Command::VerifyBlob(args) => verify::verify_blob(&global, &args),
        Command::GenerateKeyPair(args) => sign::key::generate_key_pair(&args),
        Command::Promote(args) => promote::run(&global, &args),
        Command::Policy(args) => policy::run(&global, &args),
        Command::Run(args) => run::run(&global, &args),
    }
}
