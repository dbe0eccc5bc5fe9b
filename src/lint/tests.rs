//! Unit tests of the rules on small Dockerfiles: each rule fires where it
//! should and stays quiet where it should not. The integration tests run
//! the fixture corpus under tests/fixtures/lint through the binary.

use super::*;

fn lint(text: &str) -> Vec<Finding> {
    lint_text("Dockerfile", text, &Config::defaults())
}

/// `(line, rule)` of each unsuppressed finding.
fn ids(text: &str) -> Vec<(usize, &'static str)> {
    lint(text)
        .iter()
        .filter(|f| f.suppressed.is_none())
        .map(|f| (f.line.unwrap_or(0), f.rule.id))
        .collect()
}

fn has(text: &str, rule: &str) -> bool {
    ids(text).iter().any(|(_, r)| *r == rule)
}

const D: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

#[test]
fn a_clean_multi_stage_go_build_has_no_warning_or_error() {
    let text = format!(
        "# syntax=docker/dockerfile:1\nFROM golang:1.22@{D} AS build\nWORKDIR /src\nCOPY go.mod go.sum ./\nRUN go mod download\nCOPY . .\nRUN CGO_ENABLED=0 go build -trimpath -o /out/app ./cmd/app\n\nFROM gcr.io/distroless/static-debian12@{D}\nCOPY --from=build /out/app /app\nUSER 65532:65532\nENTRYPOINT [\"/app\"]\n"
    );
    let findings = lint(&text);
    let serious: Vec<&Finding> = findings.iter().filter(|f| f.level > Level::Info).collect();
    assert!(serious.is_empty(), "{serious:#?}");
    // Only the info-level HEALTHCHECK note remains.
    let rules: Vec<&str> = findings.iter().map(|f| f.rule.id).collect();
    assert_eq!(rules, vec!["healthcheck-missing"]);
}

#[test]
fn base_image_rules() {
    assert_eq!(
        ids("FROM nginx\nUSER 1\nHEALTHCHECK NONE\n"),
        vec![(1, "base-image-latest"), (1, "base-image-unpinned")]
    );
    assert!(has("FROM nginx:latest\n", "base-image-latest"));
    assert!(!has(&format!("FROM nginx@{D}\n"), "base-image-latest"));
    assert!(!has(&format!("FROM nginx@{D}\n"), "base-image-unpinned"));
    assert!(!has("FROM scratch\n", "base-image-unpinned"));
    // Through a global ARG, and COPY --from an image.
    assert_eq!(
        ids("ARG BASE=alpine:3.20\nFROM ${BASE}\nCOPY --from=busybox:1.36 /bin/busybox /bin/\nUSER 1\nHEALTHCHECK NONE\n"),
        vec![(2, "base-image-unpinned"), (3, "base-image-unpinned")]
    );
    // A stage is not an image.
    assert_eq!(
        ids(&format!(
            "FROM alpine:3.20@{D} AS a\nFROM a\nUSER 1\nHEALTHCHECK NONE\n"
        )),
        vec![]
    );
}

#[test]
fn allowed_registries() {
    let config =
        Config::parse(b"allowed-registries: [gcr.io/distroless, docker.io/library]\n").unwrap();
    let f = lint_text(
        "Dockerfile",
        &format!("FROM ghcr.io/acme/base:1@{D} AS a\nFROM nginx:1@{D}\nFROM gcr.io/distroless/static@{D}\nUSER 1\nHEALTHCHECK NONE\n"),
        &config,
    );
    let hits: Vec<(Option<usize>, &str)> = f.iter().map(|f| (f.line, f.rule.id)).collect();
    assert_eq!(hits, vec![(Some(1), "base-image-registry")]);
}

#[test]
fn user_rules() {
    let clean = format!("FROM alpine:3@{D}\nHEALTHCHECK NONE\n");
    assert_eq!(ids(&clean), vec![(1, "user-missing")]);
    assert_eq!(ids(&format!("{clean}USER root\n")), vec![(3, "user-root")]);
    assert_eq!(ids(&format!("{clean}USER 0:0\n")), vec![(3, "user-root")]);
    assert_eq!(
        ids(&format!("{clean}USER root\nRUN x\nUSER 10001\n")),
        vec![]
    );
    assert_eq!(
        ids(&format!("{clean}ARG UID=0\nUSER $UID\n")),
        vec![(4, "user-root")]
    );
    // Only the final stage counts; a stage it is built on counts too.
    assert_eq!(
        ids(&format!(
            "FROM alpine:3@{D} AS a\nUSER 1000\nFROM a\nHEALTHCHECK NONE\n"
        )),
        vec![]
    );
    assert_eq!(
        ids(&format!(
            "FROM alpine:3@{D} AS a\nUSER 1000\nFROM alpine:3@{D}\nHEALTHCHECK NONE\n"
        )),
        vec![(3, "final-stage-full-distro"), (3, "user-missing")]
    );
    // distroless :nonroot runs as 65532 already.
    assert_eq!(
        ids(&format!(
            "FROM gcr.io/distroless/static:nonroot@{D}\nHEALTHCHECK NONE\n"
        )),
        vec![]
    );
}

#[test]
fn add_rules() {
    let p = format!("FROM alpine:3@{D}\nUSER 1\nHEALTHCHECK NONE\n");
    assert_eq!(
        ids(&format!("{p}ADD app.py /app/\n")),
        vec![(4, "add-instead-of-copy")]
    );
    assert_eq!(ids(&format!("{p}ADD rootfs.tar.gz /\n")), vec![]);
    assert_eq!(
        ids(&format!("{p}ADD https://x.io/a.tgz /a.tgz\n")),
        vec![(4, "add-remote-unverified")]
    );
    assert_eq!(
        ids(&format!(
            "{p}ADD --checksum=sha256:abc https://x.io/a.tgz /a.tgz\n"
        )),
        vec![]
    );
    assert_eq!(
        ids(&format!("{p}ADD [\"https://x.io/a\", \"/a\"]\n")),
        vec![(4, "add-remote-unverified")]
    );
    assert_eq!(
        ids(&format!("{p}ADD https://github.com/o/r.git#v1 /src\n")),
        vec![]
    );
    assert_eq!(ids(&format!("{p}COPY app.py /app/\n")), vec![]);
}

#[test]
fn pipe_to_shell_in_shell_form_and_heredocs() {
    let p = format!("FROM alpine:3@{D}\nUSER 1\nHEALTHCHECK NONE\n");
    assert_eq!(
        ids(&format!("{p}RUN curl -fsSL https://get.x | sh\n")),
        vec![(4, "pipe-to-shell")]
    );
    assert_eq!(
        ids(&format!(
            "{p}RUN <<EOF\nset -e\nwget -qO- https://x | bash -s\nEOF\n"
        )),
        vec![(4, "pipe-to-shell")]
    );
    assert_eq!(
        ids(&format!(
            "{p}RUN curl -fsSLo x.tgz https://x && echo 'abc  x.tgz' | sha256sum -c\n"
        )),
        vec![]
    );
}

#[test]
fn package_manager_rules() {
    let p = format!("FROM debian:12@{D}\nUSER 1\nHEALTHCHECK NONE\n");
    assert_eq!(
        ids(&format!("{p}RUN apt-get update && apt-get install curl\n")),
        vec![
            (4, "apt-get-lists"),
            (4, "apt-get-recommends"),
            (4, "apt-get-yes")
        ]
    );
    assert_eq!(
        ids(&format!("{p}RUN apt-get update \\\n && apt-get install -y --no-install-recommends curl \\\n && rm -rf /var/lib/apt/lists/*\n")),
        vec![]
    );
    assert_eq!(
        ids(&format!("{p}RUN --mount=type=cache,target=/var/lib/apt --mount=type=cache,target=/var/cache/apt apt-get update && apt-get -qy install --no-install-recommends curl\n")),
        vec![]
    );
    assert_eq!(
        ids(&format!("{p}RUN apk add curl\n")),
        vec![(4, "apk-no-cache")]
    );
    assert_eq!(ids(&format!("{p}RUN apk add --no-cache curl\n")), vec![]);
    assert_eq!(
        ids(&format!("{p}RUN pip install flask\n")),
        vec![(4, "pip-no-cache-dir")]
    );
    assert_eq!(
        ids(&format!("{p}RUN python3 -m pip install -r req.txt\n")),
        vec![(4, "pip-no-cache-dir")]
    );
    assert_eq!(
        ids(&format!("{p}RUN pip install --no-cache-dir flask\n")),
        vec![]
    );
    assert_eq!(
        ids(&format!(
            "{p}ENV PIP_NO_CACHE_DIR=1\nRUN pip install flask\n"
        )),
        vec![]
    );
    assert_eq!(
        ids(&format!("{p}RUN sudo make install\n")),
        vec![(4, "sudo")]
    );
    // In a build stage only -y matters: its lists never reach the image.
    assert_eq!(
        ids(&format!("FROM debian:12@{D} AS b\nRUN apt-get update && apt-get install -y gcc && pip install x\nFROM scratch\nUSER 1\nHEALTHCHECK NONE\n")),
        vec![]
    );
}

#[test]
fn final_stage_rules() {
    let build = format!(
        "FROM golang:1.22@{D} AS build\nWORKDIR /src\nCOPY . .\nRUN go build -o /out/app .\n"
    );
    // Full distro.
    assert!(has(
        &format!("{build}FROM debian:12-slim@{D}\nCOPY --from=build /out/app /app\nUSER 1\n"),
        "final-stage-full-distro"
    ));
    assert!(!has(
        &format!("FROM debian:12-slim@{D}\nUSER 1\n"),
        "final-stage-full-distro"
    ));
    // Whole build trees.
    for src in ["/src", "/", ".", "/go", "/root/", "/usr/src/app/.."] {
        let text = format!(
            "{build}FROM gcr.io/distroless/base@{D}\nCOPY --from=build {src} /app\nUSER 1\n"
        );
        assert!(has(&text, "copy-build-tree"), "{src}");
    }
    assert!(!has(
        &format!(
            "{build}FROM gcr.io/distroless/base@{D}\nCOPY --from=build /out/app /app\nUSER 1\n"
        ),
        "copy-build-tree"
    ));
    // Static base, dynamic build.
    let text = format!("{build}FROM scratch\nCOPY --from=build /out/app /app\nUSER 1\n");
    assert_eq!(
        ids(&text)
            .into_iter()
            .filter(|(_, r)| *r == "static-base-dynamic-build")
            .collect::<Vec<_>>(),
        vec![(6, "static-base-dynamic-build")]
    );
    for fix in [
        "ENV CGO_ENABLED=0\n",
        "ARG CGO_ENABLED=0\n",
        "RUN gcc -static -o /x x.c\n",
    ] {
        let text = format!("{build}{fix}FROM gcr.io/distroless/static@{D}\nCOPY --from=build /out/app /app\nUSER 1\n");
        assert!(!has(&text, "static-base-dynamic-build"), "{fix}");
    }
    let rust = format!("FROM rust:1@{D} AS b\nRUN cargo build --release --target x86_64-unknown-linux-musl\nFROM scratch\nCOPY --from=b /t /app\nUSER 1\n");
    assert!(!has(&rust, "static-base-dynamic-build"));
    let alpine = format!("FROM golang:1.22-alpine@{D} AS b\nRUN go build -o /app\nFROM scratch\nCOPY --from=b /app /app\nUSER 1\n");
    assert!(!has(&alpine, "static-base-dynamic-build"));
    // Installing a compiler is not compiling.
    let install = format!("FROM debian:12@{D} AS b\nRUN apt-get update && apt-get install -y gcc make\nFROM scratch\nCOPY --from=b /usr/bin/x /x\nUSER 1\n");
    assert!(!has(&install, "static-base-dynamic-build"));
    // A builder that compiles nothing (a downloaded static binary) is fine.
    let fetch = format!("FROM alpine:3@{D} AS b\nADD --checksum=sha256:ab https://x/tool /tool\nFROM scratch\nCOPY --from=b /tool /tool\nUSER 1\n");
    assert!(!has(&fetch, "static-base-dynamic-build"));
}

#[test]
fn info_rules() {
    let p = format!("FROM alpine:3@{D}\nUSER 1\n");
    assert_eq!(ids(&p), vec![(1, "healthcheck-missing")]);
    assert_eq!(
        ids(&format!("{p}HEALTHCHECK NONE\nCMD run --fast\n")),
        vec![(4, "shell-form-cmd")]
    );
    assert_eq!(
        ids(&format!("{p}HEALTHCHECK NONE\nCMD [\"run\"]\n")),
        vec![]
    );
    assert_eq!(
        ids(&format!(
            "ARG NPM_TOKEN\n{p}HEALTHCHECK NONE\nENV DB_PASSWORD=x PASSWORD_FILE=/run/secrets/p\n"
        )),
        vec![(1, "secret-in-arg-env"), (5, "secret-in-arg-env")]
    );
}

#[test]
fn inline_ignores_need_a_reason_and_can_be_forbidden() {
    let text = format!("FROM alpine:3@{D}\nUSER 1\nHEALTHCHECK NONE\n# wharf-ignore add-instead-of-copy -- the tarball is unpacked on purpose\nADD a /a\n# wharf-ignore add-instead-of-copy\nADD b /b\n# wharf-ignore no-such-rule, add-instead-of-copy -- typo\nADD c /c\n");
    let f = lint(&text);
    let summary: Vec<(usize, &str, bool)> = f
        .iter()
        .map(|f| (f.line.unwrap_or(0), f.rule.id, f.suppressed.is_some()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (5, "add-instead-of-copy", true),
            (6, "ignore-invalid", false),
            (7, "add-instead-of-copy", false),
            (8, "ignore-invalid", false),
            (9, "add-instead-of-copy", true),
        ]
    );
    let forbid = Config::parse(b"inline-ignores: false\n").unwrap();
    let f = lint_text("Dockerfile", &text, &forbid);
    assert_eq!(
        f.iter().filter(|f| f.rule.id == "ignore-forbidden").count(),
        3
    );
    assert!(f.iter().all(|f| f.suppressed.is_none()));
}

#[test]
fn an_ignore_inside_a_continuation_covers_its_instruction() {
    let text = format!("FROM debian:12@{D}\nUSER 1\nHEALTHCHECK NONE\nRUN apt-get update \\\n  # wharf-ignore apt-get-lists -- cleaned by the squash step\n  && apt-get install -y --no-install-recommends curl\n");
    assert_eq!(ids(&text), vec![]);
}

#[test]
fn parse_errors_are_findings_and_linting_goes_on() {
    let text = "FROM alpine:3\nRUN <<EOF\necho never ends\n";
    let f = ids(text);
    assert!(f.contains(&(2, "parse-error")), "{f:?}");
    assert!(f.contains(&(1, "base-image-unpinned")), "{f:?}");
    let f = ids("FORM alpine\nFROM alpine:3\nUSER 1\nHEALTHCHECK NONE\n");
    assert_eq!(f, vec![(1, "parse-error"), (2, "base-image-unpinned")]);
}

#[test]
fn config_levels_and_off() {
    let config =
        Config::parse(b"rules:\n  base-image-unpinned: warning\n  healthcheck-missing: off\n")
            .unwrap();
    let f = lint_text("Dockerfile", "FROM alpine:3\nUSER 1\n", &config);
    let levels: Vec<(&str, Level)> = f.iter().map(|f| (f.rule.id, f.level)).collect();
    assert_eq!(levels, vec![("base-image-unpinned", Level::Warning)]);
}

/// The squashed view of one layer of `files` (path, contents, mode) and
/// `links` (path, target), with what each executable needs.
fn squashed(
    files: &[(&str, &[u8], u32)],
    links: &[(&str, &str)],
) -> crate::image::Squashed<image::Needs> {
    use crate::image::{squash_layers, Compression, LayerBlob, Limits};
    let mut b = tar::Builder::new(Vec::new());
    for (path, data, mode) in files {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(*mode);
        h.set_size(data.len() as u64);
        h.set_mtime(0);
        b.append_data(&mut h, path, *data).unwrap();
    }
    for (path, target) in links {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_mode(0o777);
        h.set_size(0);
        b.append_link(&mut h, path, target).unwrap();
    }
    let layer = LayerBlob::new(
        std::io::Cursor::new(b.into_inner().unwrap()),
        Compression::None,
    );
    squash_layers(vec![layer], &image::Launchers, &Limits::default()).unwrap()
}

#[test]
fn image_findings_group_by_interpreter() {
    let elf = image::tests::elf(Some("/lib64/ld-linux-x86-64.so.2"));
    let musl = image::tests::elf(Some("/lib/ld-musl-x86_64.so.1"));
    let stat = image::tests::elf(None);
    let squashed = squashed(
        &[
            ("app/server", &elf, 0o755),
            ("app/worker", &elf, 0o755),
            ("app/static", &stat, 0o755),
            ("app/musl", &musl, 0o755),
            ("lib/ld-musl-x86_64.so.1", &musl, 0o755),
            ("data/not-executable", &elf, 0o644),
        ],
        &[],
    );
    let checked = image::missing(&squashed, image::DEFAULT_PATH);
    assert_eq!(checked.missing.len(), 1);
    assert_eq!(
        checked.missing[0].lacking,
        image::Lacking::Loader("/lib64/ld-linux-x86-64.so.2".into())
    );
    assert_eq!(
        checked.missing[0].executables,
        vec!["/app/server", "/app/worker"]
    );
    let f = image_findings("oci:img", &checked, &Config::defaults());
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].level, Level::Error);
    assert!(
        f[0].message
            .starts_with("2 executable(s) need the interpreter /lib64/ld-linux-x86-64.so.2"),
        "{}",
        f[0].message
    );
}

#[test]
fn scripts_need_their_shebang_interpreter_and_env_program() {
    let binary = image::tests::elf(None);
    let squashed = squashed(
        &[
            ("entrypoint.sh", b"#!/bin/sh\nexec /app\n", 0o755),
            ("crlf.sh", b"#!/bin/bash\r\necho hi\r\n", 0o755),
            ("fine.sh", b"#!/bin/bash -e\necho hi\n", 0o755),
            ("usr/bin/bash", &binary, 0o755),
            ("usr/bin/env", &binary, 0o755),
            ("tool.py", b"#!/usr/bin/env python3\nprint()\n", 0o755),
            ("opt/venv/bin/python3", &binary, 0o755),
            ("data/not-run.sh", b"#!/bin/zsh\n", 0o644),
        ],
        &[("bin/bash", "/usr/bin/bash")],
    );

    let checked = image::missing(&squashed, image::DEFAULT_PATH);
    assert_eq!(checked.scripts, 4);
    let lacking: Vec<(&image::Lacking, &[String])> = checked
        .missing
        .iter()
        .map(|m| (&m.lacking, m.executables.as_slice()))
        .collect();
    assert_eq!(
        lacking,
        vec![
            (
                &image::Lacking::Interpreter("/bin/bash\r".into()),
                &["/crlf.sh".to_string()][..]
            ),
            (
                &image::Lacking::Interpreter("/bin/sh".into()),
                &["/entrypoint.sh".to_string()][..]
            ),
            (
                &image::Lacking::Program {
                    name: "python3".into(),
                    env: "/usr/bin/env".into(),
                    path: image::DEFAULT_PATH.into()
                },
                &["/tool.py".to_string()][..]
            ),
        ]
    );
    let messages: Vec<String> = image_findings("oci:img", &checked, &Config::defaults())
        .into_iter()
        .map(|f| f.message)
        .collect();
    assert_eq!(
        messages,
        vec![
            "1 script(s) start with #!/bin/bash\\r, which the image does not have (the line \
             ends in a carriage return: the script has Windows line endings): /crlf.sh"
                .to_string(),
            "1 script(s) start with #!/bin/sh, which the image does not have: /entrypoint.sh"
                .to_string(),
            format!(
                "1 script(s) run python3 through /usr/bin/env, which no directory on the \
                 image's PATH ({}) has: /tool.py",
                image::DEFAULT_PATH
            ),
        ]
    );

    // The image's own PATH is where env looks.
    let checked = image::missing(&squashed, "/opt/venv/bin:/usr/bin:/bin");
    assert_eq!(checked.missing.len(), 2, "{:?}", checked.missing);
}

/// Whatever the text, linting it does not panic and every finding has a
/// line inside the file.
#[test]
fn fuzz_dockerfile_shaped_text_never_panics() {
    const PIECES: &[&str] = &[
        "FROM ",
        "from ",
        "ARG ",
        "ENV ",
        "COPY ",
        "ADD ",
        "RUN ",
        "USER ",
        "CMD ",
        "WORKDIR ",
        "ONBUILD ",
        "HEALTHCHECK ",
        "--from=",
        "--mount=type=cache,target=",
        "--checksum=",
        "alpine:3",
        "golang:1.22",
        "scratch",
        " AS ",
        "b",
        "0",
        "$A",
        "${A}",
        "${A:-x}",
        "${A:+",
        "A=1",
        "\"",
        "'",
        "\\",
        "`",
        "\\\n",
        "`\n",
        "\n",
        "\r\n",
        " ",
        "#",
        "# escape=`\n",
        "# wharf-ignore ",
        " -- ",
        "sudo",
        "<<EOF",
        "<<-EOF",
        "<<'E'",
        "\nEOF\n",
        "E\n",
        "[\"a\"]",
        "curl x | sh",
        "apt-get install",
        "apk add",
        "pip install",
        "&&",
        "|",
        ";",
        "$(",
        ")",
        "é",
        "\u{feff}",
        "https://x/",
        "/src",
        "root",
        "CGO_ENABLED=0",
        "go build",
    ];
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..3000 {
        let n = (next() % 40) as usize;
        let text: String = (0..n)
            .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
            .collect();
        let lines = text.split('\n').count().max(1);
        for f in lint(&text) {
            let line = f.line.unwrap_or(0);
            assert!(
                (1..=lines).contains(&line),
                "line {line} of {lines} in {text:?}: {f:?}"
            );
        }
    }
}
