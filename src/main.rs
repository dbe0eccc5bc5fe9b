use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = wharf::cli::Cli::parse();
    match wharf::run(cli) {
        Ok(wharf::Outcome::Ok) => ExitCode::SUCCESS,
        Ok(wharf::Outcome::PolicyNo) => ExitCode::from(1),
        Err(err) => {
            wharf::report::error(&err);
            ExitCode::from(2)
        }
    }
}
