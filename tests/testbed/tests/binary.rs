//! The `wharf-testbed` binary: says it is a test tool, writes its files with
//! `ready` last, serves until killed.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_wharf-testbed");

#[test]
fn help_says_it_is_a_test_tool() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(help.contains("TEST TOOL"), "{help}");
    assert!(help.contains("NEVER USE IT FOR PRODUCTION"), "{help}");
    assert!(help.contains("--dir DIR"), "{help}");
}

#[test]
fn usage_errors_exit_2() {
    let out = Command::new(BIN).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(BIN).arg("--bogus").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn serves_from_a_directory_until_killed() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .arg("--dir")
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let ready = dir.path().join("ready");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ready.exists() {
        assert!(Instant::now() < deadline, "no ready file");
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid: u32 = std::fs::read_to_string(&ready)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(pid, child.id());
    for f in [
        "trusted_root.json",
        "trust_config.json",
        "env",
        "identity",
        "issuer",
    ] {
        assert!(dir.path().join(f).is_file(), "{f} written before ready");
    }

    // The issuer answers.
    let issuer = std::fs::read_to_string(dir.path().join("issuer")).unwrap();
    let host = issuer.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(host).unwrap();
    write!(
        s,
        "GET /.well-known/openid-configuration HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(resp.contains(&issuer));

    // The token request secret is not printed.
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let env = std::fs::read_to_string(dir.path().join("env")).unwrap();
    let secret = env
        .lines()
        .find_map(|l| l.strip_prefix("export ACTIONS_ID_TOKEN_REQUEST_TOKEN='"))
        .unwrap()
        .trim_end_matches('\'');
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(printed.contains("not for production"), "{printed}");
    assert!(!printed.contains(secret));
}
