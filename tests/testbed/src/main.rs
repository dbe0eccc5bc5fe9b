//! `wharf-testbed --dir DIR`: start the local Sigstore, write its files
//! into DIR (`ready` last) and serve until killed. A test tool.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

const HELP: &str = "\
wharf-testbed — a local Sigstore for wharf's tests. TEST TOOL: NEVER USE IT FOR PRODUCTION.

It runs an OIDC issuer (with a GitHub-Actions-shaped token endpoint), a Fulcio,
a Rekor v1 and an RFC 3161 timestamp authority on 127.0.0.1 ephemeral ports,
with throwaway keys generated at start. Nothing it signs means anything
outside the test that started it.

USAGE:
    wharf-testbed --dir DIR

Writes into DIR:
    trusted_root.json   Sigstore TrustedRoot (Fulcio CA, Rekor, CT log, TSA)
    trust_config.json   ClientTrustConfig: the trusted root + a SigningConfig
                        naming the services (sigstore --trust-config, wharf
                        --trust-config)
    env                 shell-sourceable: GITHUB_ACTIONS, ACTIONS_ID_TOKEN_REQUEST_URL,
                        ACTIONS_ID_TOKEN_REQUEST_TOKEN
    identity, issuer    the certificate identity and OIDC issuer of its tokens
    ready               written last, once every service accepts connections

Serves until killed (SIGTERM/SIGINT).

OPTIONS:
    --dir DIR     where to write the files (created if missing)
    -h, --help    this help
    -V, --version the version
";

fn main() -> ExitCode {
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    let mut dir: Option<PathBuf> = None;
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("-h" | "--help") => {
                let _ = out.write_all(HELP.as_bytes());
                return ExitCode::SUCCESS;
            }
            Some("-V" | "--version") => {
                let _ = writeln!(out, "wharf-testbed {}", env!("CARGO_PKG_VERSION"));
                return ExitCode::SUCCESS;
            }
            Some("--dir") => match args.next() {
                Some(d) => dir = Some(PathBuf::from(d)),
                None => {
                    let _ = writeln!(err, "wharf-testbed: --dir needs a directory");
                    return ExitCode::from(2);
                }
            },
            Some(s) if s.starts_with("--dir=") => dir = Some(PathBuf::from(&s[6..])),
            _ => {
                let _ = writeln!(
                    err,
                    "wharf-testbed: unexpected argument {arg:?}\nusage: wharf-testbed --dir DIR (see --help)"
                );
                return ExitCode::from(2);
            }
        }
    }
    let Some(dir) = dir else {
        let _ = writeln!(err, "wharf-testbed: --dir DIR is required (see --help)");
        return ExitCode::from(2);
    };
    let testbed = match wharf_testbed::Testbed::start(&dir) {
        Ok(t) => t,
        Err(e) => {
            let _ = writeln!(err, "wharf-testbed: {e}");
            return ExitCode::from(2);
        }
    };
    let urls = testbed.urls();
    let _ = writeln!(
        out,
        "wharf-testbed: serving (a test tool, not for production)\n  \
         issuer  {}\n  fulcio  {}\n  rekor   {}\n  tsa     {}\n  files   {}",
        urls.issuer,
        urls.fulcio,
        urls.rekor,
        urls.tsa,
        dir.display()
    );
    let _ = out.flush();
    drop(out);
    loop {
        std::thread::park();
    }
}
