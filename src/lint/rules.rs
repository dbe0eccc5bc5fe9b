//! The rules: each with a stable kebab-case id, a default level, a one-line
//! why and a fix (documented in `docs/lint.md`, which a test keeps in step
//! with [`RULES`]), and the checks that find them in a [`Model`].

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;

use super::config::Config;
use super::model::{unquote, Base, Model, Stage};
use super::shell::{self, SimpleCommand};
use super::Level;
use crate::dockerfile::{csv_fields, is_json_array, Instruction};
use crate::reference::Reference;

/// A rule: what it checks, why it matters, how to fix it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub id: &'static str,
    pub level: Level,
    /// What the rule finds, in a few words (SARIF's short description).
    pub title: &'static str,
    pub why: &'static str,
    pub fix: &'static str,
}

macro_rules! rules {
    ($($id:literal $level:ident $title:literal why $why:literal fix $fix:literal;)+) => {
        /// Every rule, in the order `docs/lint.md` lists them.
        pub const RULES: &[Rule] = &[$(Rule {
            id: $id,
            level: Level::$level,
            title: $title,
            why: $why,
            fix: $fix,
        }),+];
    };
}

rules! {
    "parse-error" Error "the Dockerfile does not parse as BuildKit reads it"
        why "BuildKit refuses the file (or reads it differently from how it looks), so the build fails or builds something else"
        fix "correct the line as the message says; the rest of the file is still linted";
    "base-image-latest" Warning "a base image without a tag, or tagged latest"
        why "`latest` (what no tag means) names whatever was pushed last, so the same Dockerfile builds on different bases from day to day"
        fix "name the version you build on (`debian:12.8-slim`), then pin it with `wharf pin --write`";
    "base-image-unpinned" Error "a base image not pinned to a digest"
        why "a tag can be moved to other bytes at any time; only a digest says which image the build used and makes it reproducible and reviewable"
        fix "run `wharf pin --write` to add the digest the registry serves (`name:tag@sha256:…`); Renovate or Dependabot keep it current";
    "base-image-registry" Error "a base image from a registry the config does not allow"
        why "images from outside the allowed registries escape your mirror, scanning and signing policy"
        fix "pull the image through an allowed registry (mirror it there), or add its registry to `allowed-registries` in .wharf-lint.yaml";
    "user-missing" Warning "the final stage never sets USER"
        why "without USER the container runs as root (unless the base sets a user), so a compromise of the process owns the container"
        fix "add `USER 65532:65532` (a numeric non-root uid:gid) after the last step that needs root";
    "user-root" Error "the final stage's last USER is root"
        why "the container runs as root: a compromise of the process owns the container and is one kernel bug from the host"
        fix "switch back to a numeric non-root user (`USER 65532:65532`) after the steps that need root";
    "add-instead-of-copy" Warning "ADD used where COPY does"
        why "ADD also fetches URLs and unpacks archives, so a file that turns into a tarball changes what lands in the image; COPY does only what it says"
        fix "use COPY for local files and directories; keep ADD for archives you mean to unpack and for remote files with --checksum";
    "add-remote-unverified" Error "ADD of a URL without --checksum"
        why "the build trusts whatever the server sends that day; a compromised or changed download goes straight into the image"
        fix "add `--checksum=sha256:<hex>` to the ADD (BuildKit verifies it), or download and verify in a RUN";
    "pipe-to-shell" Error "a script downloaded and run in one go (curl … | sh)"
        why "the build runs whatever the server sends, unverified and unrecorded; the same Dockerfile can install something else tomorrow"
        fix "download the script or release to a file, check its sha256 (`echo \"<sha256>  file\" | sha256sum -c`), then run it; or use ADD --checksum";
    "apt-get-yes" Warning "apt-get install without -y"
        why "the build has no terminal to answer apt's prompt, so the install aborts as soon as apt asks"
        fix "use `apt-get install -y` (or `--yes`)";
    "apt-get-recommends" Warning "apt-get install without --no-install-recommends in the final image"
        why "recommended packages add size and attack surface that nothing in the image asked for"
        fix "use `apt-get install -y --no-install-recommends` and name what you need";
    "apt-get-lists" Warning "apt lists left in the final image"
        why "`apt-get update` leaves tens of MB of package lists in the layer, which no later step can remove from the image"
        fix "end the same RUN with `&& rm -rf /var/lib/apt/lists/*`, or use `RUN --mount=type=cache,target=/var/lib/apt`";
    "apk-no-cache" Warning "apk add without --no-cache in the final image"
        why "apk keeps its index and package cache in the layer, which no later step can remove from the image"
        fix "use `apk add --no-cache`, or `RUN --mount=type=cache,target=/var/cache/apk`";
    "pip-no-cache-dir" Warning "pip install without --no-cache-dir in the final image"
        why "pip keeps every downloaded wheel in ~/.cache/pip inside the layer, often doubling what the install adds"
        fix "use `pip install --no-cache-dir`, set `ENV PIP_NO_CACHE_DIR=1`, or use `RUN --mount=type=cache,target=/root/.cache/pip`";
    "sudo" Warning "sudo in a RUN"
        why "RUN already runs as the current USER; sudo needs a setuid binary and a sudoers policy in the image, and hides which steps run as root"
        fix "drop sudo; switch with `USER root` before the steps that need it and back to the non-root user after";
    "final-stage-full-distro" Warning "a multi-stage build whose final image is a full distribution"
        why "the build stages already compiled everything; a package manager, shell and hundreds of packages in the runtime image are attack surface and CVEs nobody uses"
        fix "copy the build output onto a minimal base: gcr.io/distroless/static or /base, a Chainguard image (cgr.dev/chainguard/…), or scratch";
    "copy-build-tree" Warning "the final stage copies a whole build tree from another stage"
        why "sources, caches, credentials left by the build and toolchain output end up in the image, not just the artifact"
        fix "copy only what runs: `COPY --from=build /out/app /app` (build into a dedicated output directory)";
    "static-base-dynamic-build" Warning "a scratch or distroless-static final base whose builder does not build statically"
        why "scratch and distroless/static have no dynamic loader or libc; a dynamically linked binary fails at start with `no such file or directory`"
        fix "build statically (Go: CGO_ENABLED=0; Rust: a musl target or -C target-feature=+crt-static; C: -static), or use gcr.io/distroless/base or cc; `wharf lint --image` checks the built image";
    "missing-interpreter" Error "an executable whose ELF loader or #! interpreter is not in the image"
        why "the kernel cannot start a dynamically linked binary whose loader (PT_INTERP) is absent, nor a script whose #! interpreter is: it fails with `no such file or directory`"
        fix "link the binary statically, or build on a base that has its loader and libc (gcr.io/distroless/base or cc, Chainguard glibc-dynamic); for a script, a base with its interpreter, or an entrypoint that is a binary";
    "healthcheck-missing" Info "no HEALTHCHECK in the final image"
        why "without one, Docker and Compose cannot tell a hung container from a healthy one (Kubernetes uses its own probes instead)"
        fix "add `HEALTHCHECK CMD [\"/app\", \"healthcheck\"]`, or `HEALTHCHECK NONE` to say it is deliberate";
    "shell-form-cmd" Info "CMD or ENTRYPOINT in shell form"
        why "the shell form runs the process under `/bin/sh -c`, which does not forward SIGTERM (slow, unclean stops) and needs a shell in the image"
        fix "use the exec form: `CMD [\"/app\", \"--flag\"]`";
    "secret-in-arg-env" Info "an ARG or ENV whose name looks like a secret"
        why "build args and ENV values are kept in the image config and build history, readable by anyone who can pull the image"
        fix "pass secrets with `RUN --mount=type=secret,id=NAME` (`docker build --secret id=NAME,...`), never as ARG or ENV";
    "ignore-invalid" Warning "an inline ignore without a reason or naming an unknown rule"
        why "an ignore without its reason cannot be reviewed, and one naming an unknown rule ignores nothing; neither is applied"
        fix "write `# wharf-ignore RULE-ID -- why this is acceptable here`, with the rule id from docs/lint.md";
    "ignore-unused" Warning "an inline ignore that waives nothing"
        why "the instruction it names has no finding of that rule (fixed since, or never there), so the ignore only hides a future finding nobody reviewed"
        fix "remove the `# wharf-ignore` comment, or the rule id that no longer applies";
    "ignore-forbidden" Error "an inline ignore where the config forbids them"
        why "the config (`inline-ignores: false`) says findings may only be waived centrally, so the ignore is not applied"
        fix "remove the comment and fix the finding, or change the rule's level in .wharf-lint.yaml";
}

/// The rule with this id.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// A rule's finding before config and ignores are applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub rule: &'static str,
    pub message: String,
    pub line: usize,
    pub end_line: usize,
}

struct Checker<'a> {
    model: &'a Model,
    config: &'a Config,
    hits: Vec<Hit>,
}

/// Runs every rule over a Dockerfile.
pub fn check(model: &Model, config: &Config) -> Vec<Hit> {
    let mut c = Checker {
        model,
        config,
        hits: Vec::new(),
    };
    for e in &model.file.errors {
        c.at_line("parse-error", e.line, e.message.clone());
    }
    for p in &model.problems {
        c.at_line("parse-error", p.line, p.message.clone());
    }
    c.images();
    c.user();
    c.instructions();
    c.final_stage();
    c.hits
}

impl Checker<'_> {
    fn at_line(&mut self, rule: &'static str, line: usize, message: String) {
        self.hits.push(Hit {
            rule,
            message,
            line,
            end_line: line,
        });
    }

    fn at(&mut self, rule: &'static str, instruction: &Instruction, message: String) {
        self.hits.push(Hit {
            rule,
            message,
            line: instruction.line,
            end_line: instruction.end_line,
        });
    }

    /// The images the build pulls: stage bases, `COPY --from` and
    /// `RUN --mount from` images.
    fn images(&mut self) {
        let model = self.model;
        for stage in &model.stages {
            if let Base::Image(reference) = &stage.base {
                let from = model.instruction(stage.from);
                self.image(reference, from, "base image");
            }
            for &index in &stage.body {
                let instruction = model.instruction(index);
                let mut pulled = Vec::new();
                match instruction.command.name.as_str() {
                    "copy" => pulled.extend(instruction.flag("from")),
                    "run" => {
                        for (bytes, at) in instruction
                            .command
                            .flags
                            .iter()
                            .filter_map(|f| f.value("mount"))
                        {
                            for field in csv_fields(bytes, at) {
                                let text = String::from_utf8_lossy(&field.bytes);
                                if let Some((key, value)) = text.split_once('=') {
                                    if key.eq_ignore_ascii_case("from") {
                                        pulled.push(value.to_string());
                                    }
                                }
                            }
                        }
                    }
                    _ => {}
                }
                for value in pulled {
                    if value.contains('$')
                        || value.eq_ignore_ascii_case("scratch")
                        || model.stage_named(&value).is_some()
                    {
                        continue;
                    }
                    match Reference::parse(&value) {
                        Ok(reference) => {
                            let what = if instruction.command.name == "copy" {
                                "COPY --from image"
                            } else {
                                "RUN --mount image"
                            };
                            self.image(&reference, instruction, what);
                        }
                        Err(e) => self.at(
                            "parse-error",
                            instruction,
                            format!("{value:?} is neither a stage of this file nor an image: {e}"),
                        ),
                    }
                }
            }
        }
    }

    fn image(&mut self, reference: &Reference, instruction: &Instruction, what: &str) {
        let shown = reference.as_str();
        match reference.tag() {
            Some(tag) if tag.eq_ignore_ascii_case("latest") => self.at(
                "base-image-latest",
                instruction,
                format!("{what} {shown} is tagged latest, which says nothing about its version"),
            ),
            None if reference.digest().is_none() => self.at(
                "base-image-latest",
                instruction,
                format!(
                    "{what} {shown} has no tag, so it is whatever `latest` is when the build runs"
                ),
            ),
            _ => {}
        }
        if reference.digest().is_none() {
            self.at(
                "base-image-unpinned",
                instruction,
                format!("{what} {shown} is not pinned to a digest"),
            );
        }
        let allowed = &self.config.allowed_registries;
        if !allowed.is_empty() {
            let full = format!("{}/{}", reference.registry(), reference.repository());
            if !allowed.iter().any(|a| registry_allows(a, &full)) {
                self.at(
                    "base-image-registry",
                    instruction,
                    format!(
                        "{what} {shown} ({full}) is not from an allowed registry ({})",
                        allowed.join(", ")
                    ),
                );
            }
        }
    }

    /// `user-missing` and `user-root` on the final image.
    fn user(&mut self) {
        let model = self.model;
        let Some(last) = model.final_stage() else {
            return;
        };
        let chain = model.chain(last.index);
        let user = chain.iter().find_map(|stage| {
            stage
                .body
                .iter()
                .rev()
                .map(|&i| (stage.index, i))
                .find(|&(_, i)| model.instruction(i).command.name == "user")
        });
        match user {
            Some((stage, index)) => {
                let instruction = model.instruction(index);
                let value = model.expand_at(stage, index, &unquote(instruction.args()));
                let name = value.split(':').next().unwrap_or("").trim();
                if name == "root" || name == "0" {
                    self.at(
                        "user-root",
                        instruction,
                        format!("the final image runs as {value}, the last USER it sets"),
                    );
                }
            }
            None => {
                if runs_as_non_root(model.root_base(last.index)) {
                    return;
                }
                let from = model.instruction(last.from);
                self.at(
                    "user-missing",
                    from,
                    format!(
                        "{} sets no USER, so the container runs as the base image's user, usually root",
                        final_label(last)
                    ),
                );
            }
        }
    }

    /// Rules that look at one instruction at a time.
    fn instructions(&mut self) {
        let model = self.model;
        let final_image: HashSet<usize> = model
            .final_stage()
            .map(|s| model.chain(s.index).iter().map(|s| s.index).collect())
            .unwrap_or_default();
        for (index, instruction) in model.instructions().iter().enumerate() {
            let stage = model.stage_of(index);
            match instruction.command.name.as_str() {
                "add" => self.add(instruction),
                "run" => {
                    let in_final = stage.is_some_and(|s| final_image.contains(&s));
                    self.run(instruction, stage, index, in_final);
                }
                "arg" | "env" => self.secret_names(instruction),
                _ => {}
            }
        }
    }

    fn add(&mut self, instruction: &Instruction) {
        if !instruction.heredocs.is_empty() {
            self.at(
                "add-instead-of-copy",
                instruction,
                "ADD of a heredoc: COPY writes heredocs the same way".into(),
            );
            return;
        }
        let words = instruction_words(instruction);
        let Some((_dest, sources)) = words.split_last() else {
            return;
        };
        let checksum = instruction.flag("checksum");
        let mut local = Vec::new();
        for source in sources {
            let lower = source.to_ascii_lowercase();
            let remote = lower.starts_with("http://") || lower.starts_with("https://");
            let git = lower.starts_with("git@")
                || lower.starts_with("git://")
                || lower.contains(".git#")
                || lower.ends_with(".git");
            if git {
                continue;
            }
            if remote {
                let verified = checksum
                    .as_deref()
                    .is_some_and(|c| c.starts_with("sha256:") || c.starts_with("sha512:"));
                if !verified {
                    self.at(
                        "add-remote-unverified",
                        instruction,
                        format!(
                            "ADD {source} downloads without --checksum, so any content is accepted"
                        ),
                    );
                }
                continue;
            }
            if !is_archive(&lower) {
                local.push(source.as_str());
            }
        }
        if !local.is_empty() && local.len() == sources.len() {
            self.at(
                "add-instead-of-copy",
                instruction,
                format!("ADD {} copies local files: COPY does that without ADD's unpacking and downloading", local.join(" ")),
            );
        }
    }

    /// `pipe-to-shell`, the package-manager rules and `sudo`.
    fn run(
        &mut self,
        instruction: &Instruction,
        stage: Option<usize>,
        index: usize,
        in_final: bool,
    ) {
        let script = run_script(instruction);
        if script.trim().is_empty() {
            return;
        }
        if let Some(found) = pipe_to_shell(&script) {
            self.at(
                "pipe-to-shell",
                instruction,
                format!("`{found}` runs a downloaded script without checking it"),
            );
        }
        let commands: Vec<SimpleCommand> = shell::commands(&script);
        let mounts = cache_mounts(instruction);
        let var = |name: &str| stage.and_then(|s| self.model.var(s, index, name));
        let mut sudo_reported = false;
        let mut apt_update = false;
        let mut lists_removed = false;
        for command in &commands {
            if command.program() == Some("sudo") && !sudo_reported {
                sudo_reported = true;
                self.at(
                    "sudo",
                    instruction,
                    format!("`{}` uses sudo", command.words.join(" ")),
                );
            }
            let command = command.unwrapped();
            let args = command.args();
            match command.program() {
                Some("apt-get" | "apt" | "aptitude") => {
                    let program = command.program().unwrap_or("apt-get");
                    match args
                        .iter()
                        .find(|a| !a.starts_with('-'))
                        .map(String::as_str)
                    {
                        Some("update") => apt_update = true,
                        Some("install" | "upgrade" | "dist-upgrade" | "full-upgrade") => {
                            if !assumes_yes(args) {
                                self.at(
                                    "apt-get-yes",
                                    instruction,
                                    format!(
                                        "`{program} {}` without -y stops at apt's prompt",
                                        short(args)
                                    ),
                                );
                            }
                            let no_recommends = args.iter().any(|a| {
                                a == "--no-install-recommends"
                                    || a.contains("Install-Recommends=false")
                                    || a.contains("Install-Recommends=0")
                            });
                            if in_final && !no_recommends && args.iter().any(|a| a == "install") {
                                self.at(
                                    "apt-get-recommends",
                                    instruction,
                                    format!(
                                        "`{program} {}` also installs recommended packages",
                                        short(args)
                                    ),
                                );
                            }
                        }
                        _ => {}
                    }
                }
                Some("rm") if args.iter().any(|a| a.starts_with("/var/lib/apt/lists")) => {
                    lists_removed = true;
                }
                Some("apk") => {
                    let add = args
                        .iter()
                        .find(|a| !a.starts_with('-'))
                        .map(String::as_str)
                        == Some("add");
                    let cached = mounts.iter().any(|m| m.starts_with("/var/cache/apk"))
                        || args.iter().any(|a| a == "--no-cache");
                    if in_final && add && !cached {
                        self.at(
                            "apk-no-cache",
                            instruction,
                            format!("`apk {}` keeps the package cache in the layer", short(args)),
                        );
                    }
                }
                Some(p) if is_pip(p, args) => {
                    let install = args.iter().any(|a| a == "install");
                    let no_cache = args.iter().any(|a| a == "--no-cache-dir")
                        || command
                            .assignments
                            .iter()
                            .any(|a| a.starts_with("PIP_NO_CACHE_DIR="))
                        || var("PIP_NO_CACHE_DIR").is_some()
                        || mounts
                            .iter()
                            .any(|m| m.contains(".cache/pip") || m == "/root/.cache");
                    if in_final && install && !no_cache {
                        self.at(
                            "pip-no-cache-dir",
                            instruction,
                            format!(
                                "`{} {}` keeps downloaded wheels in the layer",
                                command.words[0],
                                short(args)
                            ),
                        );
                    }
                }
                _ => {}
            }
        }
        let lists_cached = mounts.iter().any(|m| m.starts_with("/var/lib/apt"));
        if in_final && apt_update && !lists_removed && !lists_cached {
            self.at(
                "apt-get-lists",
                instruction,
                "`apt-get update` without `rm -rf /var/lib/apt/lists/*` in the same RUN leaves the package lists in the image".into(),
            );
        }
    }

    fn secret_names(&mut self, instruction: &Instruction) {
        let args = instruction.args();
        let escape = self.model.file.escape;
        let words = crate::dockerfile::arg_words(args, escape);
        let env = instruction.command.name == "env";
        let names: Vec<&str> =
            if env && !words.first().is_some_and(|w| args[w.clone()].contains('=')) {
                words
                    .first()
                    .map(|w| &args[w.clone()])
                    .into_iter()
                    .collect()
            } else {
                words
                    .iter()
                    .map(|w| {
                        let word = &args[w.clone()];
                        word.split_once('=').map_or(word, |(n, _)| n)
                    })
                    .collect()
            };
        for name in names {
            if looks_secret(name) {
                self.at(
                    "secret-in-arg-env",
                    instruction,
                    format!(
                        "{} {name} looks like a secret, and its value is stored in the image's history",
                        instruction.command.name.to_uppercase()
                    ),
                );
            }
        }
    }

    /// Rules about the final image as a whole.
    fn final_stage(&mut self) {
        let model = self.model;
        let Some(last) = model.final_stage() else {
            return;
        };
        let chain = model.chain(last.index);
        let final_from = model.instruction(last.from);
        let body = |name: &str| -> Vec<usize> {
            chain
                .iter()
                .rev()
                .flat_map(|s| s.body.iter().copied())
                .filter(|&i| model.instruction(i).command.name == name)
                .collect()
        };

        // Only a build with stages apart from the final image's own (a
        // builder) could have kept the distribution out of it.
        if chain.len() < model.stages.len() {
            let base = model.root_base(last.index);
            let runs_package_manager = body("run").iter().any(|&i| {
                shell::commands(&run_script(model.instruction(i)))
                    .iter()
                    .any(|c| {
                        matches!(
                            c.unwrapped().program(),
                            Some("apt-get" | "apt" | "apk" | "dnf" | "yum" | "microdnf" | "zypper")
                        )
                    })
            });
            let distro = match base {
                Base::Image(r) => full_distro(r),
                _ => None,
            };
            if let Some(name) = distro {
                self.at(
                    "final-stage-full-distro",
                    final_from,
                    format!(
                        "{} runs on {name}, a full distribution with a package manager and shell",
                        final_label(last)
                    ),
                );
            } else if runs_package_manager {
                self.at(
                    "final-stage-full-distro",
                    final_from,
                    format!(
                        "{} runs a package manager, so the image carries a full distribution",
                        final_label(last)
                    ),
                );
            }
        }

        // The build tree and static-binary checks look at what the final
        // stage copies from other stages.
        let static_base = match model.root_base(last.index) {
            Base::Scratch => Some("scratch".to_string()),
            Base::Image(r) if is_static_base(r) => Some(r.as_str().to_string()),
            _ => None,
        };
        let mut mismatch_reported = HashSet::new();
        for index in body("copy") {
            let instruction = model.instruction(index);
            let Some(from) = instruction.flag("from") else {
                continue;
            };
            let Some(source_stage) = model.stage_named(&from) else {
                continue;
            };
            let source = &model.stages[source_stage];
            let words = instruction_words(instruction);
            if let Some((_dest, sources)) = words.split_last() {
                let workdir = stage_workdir(model, source_stage);
                for src in sources {
                    if let Some(why) = build_tree(src, workdir.as_deref()) {
                        self.at(
                            "copy-build-tree",
                            instruction,
                            format!(
                                "COPY --from={from} {src} copies {why} of stage {} into the final image",
                                stage_label(source)
                            ),
                        );
                    }
                }
            }
            if let Some(base) = &static_base {
                if builds_dynamically(model, source_stage) && mismatch_reported.insert(source_stage)
                {
                    self.at(
                        "static-base-dynamic-build",
                        instruction,
                        format!(
                            "the final image is built on {base}, which has no dynamic loader or libc, but stage {} (line {}) compiles without CGO_ENABLED=0, -static or a musl target",
                            stage_label(source),
                            model.instruction(source.from).line
                        ),
                    );
                }
            }
        }

        if body("healthcheck").is_empty() {
            self.at(
                "healthcheck-missing",
                final_from,
                format!("{} has no HEALTHCHECK", final_label(last)),
            );
        }
        for name in ["cmd", "entrypoint"] {
            if let Some(&index) = body(name).last() {
                let instruction = model.instruction(index);
                if !is_json_array(instruction.args()) {
                    self.at(
                        "shell-form-cmd",
                        instruction,
                        format!(
                            "{} {} runs under /bin/sh -c",
                            name.to_uppercase(),
                            instruction.args()
                        ),
                    );
                }
            }
        }
    }
}

/// `` `build` `` or `#0` (stages without a name go by index, as in
/// `COPY --from=0`).
fn stage_label(stage: &Stage) -> String {
    match &stage.name {
        Some(name) => format!("`{name}`"),
        None => format!("#{}", stage.index),
    }
}

/// `the final stage` or `` the final stage `runtime` ``.
fn final_label(stage: &Stage) -> String {
    match &stage.name {
        Some(name) => format!("the final stage `{name}`"),
        None => "the final stage".to_string(),
    }
}

/// Whether `allowed` (a registry, or a registry and path prefix) covers
/// `full` (`registry/repository`).
fn registry_allows(allowed: &str, full: &str) -> bool {
    let allowed = allowed.trim().trim_end_matches('/');
    let allowed = allowed
        .strip_prefix("index.docker.io")
        .map(|rest| format!("docker.io{rest}"))
        .unwrap_or_else(|| allowed.to_string());
    full == allowed || full.starts_with(&format!("{allowed}/"))
}

/// Bases known to run as a non-root user when the Dockerfile sets none.
fn runs_as_non_root(base: &Base) -> bool {
    let Base::Image(r) = base else {
        return false;
    };
    let tag = r.tag().unwrap_or("");
    tag.contains("nonroot")
        || (r.registry() == "cgr.dev"
            && r.repository().starts_with("chainguard/")
            && !tag.contains("dev"))
}

/// The distribution a full-distro image is, by its repository name.
fn full_distro(r: &Reference) -> Option<String> {
    const FULL: &[&str] = &[
        "debian",
        "ubuntu",
        "alpine",
        "fedora",
        "centos",
        "rockylinux",
        "almalinux",
        "amazonlinux",
        "oraclelinux",
        "archlinux",
        "opensuse/leap",
        "opensuse/tumbleweed",
        "leap",
        "tumbleweed",
        "buildpack-deps",
        "golang",
        "python",
        "node",
        "ruby",
        "rust",
        "openjdk",
        "eclipse-temurin",
        "amazoncorretto",
        "maven",
        "gradle",
        "php",
        "perl",
        "gcc",
        "elixir",
        "erlang",
        "ubi",
        "ubi8",
        "ubi9",
        "ubi-minimal",
        "ubi8-minimal",
        "ubi9-minimal",
        "ubi8/ubi",
        "ubi9/ubi",
        "ubi8/ubi-minimal",
        "ubi9/ubi-minimal",
        "wolfi-base",
    ];
    let repository = r.repository();
    let path = repository.strip_prefix("library/").unwrap_or(&repository);
    let last = path.rsplit('/').next().unwrap_or(path);
    (FULL.contains(&path) || FULL.contains(&last)).then(|| r.as_str().to_string())
}

/// distroless/static and its like: no loader, no libc.
fn is_static_base(r: &Reference) -> bool {
    let repository = r.repository();
    (r.registry() == "gcr.io" && repository.starts_with("distroless/static"))
        || (r.registry() == "cgr.dev" && repository == "chainguard/static")
}

/// The `WORKDIR` a stage ends with (following the stages it is built on).
fn stage_workdir(model: &Model, stage: usize) -> Option<String> {
    let mut dir: Option<String> = None;
    for s in model.chain(stage).into_iter().rev() {
        for &i in &s.body {
            let instruction = model.instruction(i);
            if instruction.command.name == "workdir" {
                let value = model.expand_at(s.index, i, &unquote(instruction.args()));
                dir = Some(if value.starts_with('/') {
                    value
                } else {
                    format!("{}/{value}", dir.as_deref().unwrap_or(""))
                });
            }
        }
    }
    dir.map(|d| normalise(&d))
}

/// `path` from the root, `.`/`..` resolved, never above `/`.
fn normalise(path: &str) -> String {
    crate::sbom::files::normalise("/", path)
}

/// Why copying `src` from a stage copies its whole build tree, if it does.
fn build_tree(src: &str, workdir: Option<&str>) -> Option<String> {
    // COPY --from paths are relative to the source stage's root.
    let trimmed = src.trim_end_matches('*').trim_end_matches("/.");
    let path = normalise(trimmed);
    const TREES: &[&str] = &[
        "/src",
        "/go",
        "/go/src",
        "/root",
        "/usr/src",
        "/home",
        "/workspace",
        "/build",
        "/opt/app-root/src",
    ];
    if path == "/" {
        return Some("the whole filesystem".into());
    }
    if TREES.contains(&path.as_str()) {
        return Some("the build tree".into());
    }
    if workdir.is_some_and(|w| w != "/" && w == path) {
        return Some("the whole WORKDIR".into());
    }
    None
}

/// A RUN (or a flags variable) that links statically.
static STATIC: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"CGO_ENABLED=0|(^|[\s'=,])-static(\s|$|['\x22,]|-pie)|\+crt-static|-linux-musl|musl-gcc",
    )
    .ok()
});

/// Whether a stage compiles something and nothing says it links
/// statically.
fn builds_dynamically(model: &Model, stage: usize) -> bool {
    let chain = model.chain(stage);
    let mut compiles = false;
    let mut apk_toolchain = false;
    for s in &chain {
        for &i in &s.body {
            let instruction = model.instruction(i);
            if instruction.command.name != "run" {
                continue;
            }
            let script = run_script(instruction);
            if shell::commands(&script).iter().any(compiles_native) {
                compiles = true;
            }
            if matches(&STATIC, &script) {
                return false;
            }
            if script.contains("apk")
                && ["gcc", "build-base", "musl-dev", "clang"]
                    .iter()
                    .any(|p| script.contains(p))
            {
                apk_toolchain = true;
            }
        }
    }
    if !compiles {
        return false;
    }
    let vars = model.stage_vars(stage);
    if vars.get("CGO_ENABLED").and_then(|v| v.as_deref()) == Some("0") {
        return false;
    }
    for (name, value) in &vars {
        if let Some(value) = value {
            if matches!(
                name.as_str(),
                "RUSTFLAGS" | "CARGO_BUILD_TARGET" | "LDFLAGS" | "CFLAGS" | "GOFLAGS"
            ) && matches(&STATIC, value)
            {
                return false;
            }
        }
    }
    // Alpine builders link against musl; without a C toolchain Go turns
    // cgo off by itself.
    if let Base::Image(r) = model.root_base(stage) {
        if r.tag().unwrap_or("").contains("alpine") || r.repository().ends_with("/alpine") {
            return apk_toolchain;
        }
    }
    true
}

/// Whether a pattern (compiled once; a test checks each compiles) matches.
fn matches(re: &LazyLock<Option<Regex>>, text: &str) -> bool {
    re.as_ref().is_some_and(|re| re.is_match(text))
}

/// Whether a command compiles native code: a compiler or build driver as
/// the program (installing `gcc` is not compiling).
fn compiles_native(command: &SimpleCommand) -> bool {
    let command = command.unwrapped();
    let first = command.args().first().map(String::as_str);
    match command.program() {
        Some("go") => matches!(first, Some("build" | "install")),
        Some("cargo") => matches!(first, Some("build" | "install" | "auditable")),
        Some("cmake") => command.has(&["--build"]),
        Some("zig") => matches!(first, Some("build" | "build-exe" | "cc")),
        Some(p) => {
            matches!(
                p,
                "gcc"
                    | "g++"
                    | "cc"
                    | "c++"
                    | "clang"
                    | "clang++"
                    | "rustc"
                    | "make"
                    | "ninja"
                    | "meson"
            ) || p.ends_with("-gcc")
        }
        None => false,
    }
}

/// The words of a COPY/ADD, JSON or shell form, quotes removed.
fn instruction_words(instruction: &Instruction) -> Vec<String> {
    let args = instruction.args();
    if is_json_array(args) {
        return serde_json::from_str::<Vec<String>>(args).unwrap_or_default();
    }
    shell::commands(args)
        .into_iter()
        .flat_map(|c| c.assignments.into_iter().chain(c.words))
        .collect()
}

fn is_archive(source: &str) -> bool {
    [
        ".tar",
        ".tar.gz",
        ".tgz",
        ".tar.bz2",
        ".tbz2",
        ".tbz",
        ".tar.xz",
        ".txz",
        ".tar.zst",
        ".tzst",
        ".tar.lz",
        ".tar.lzma",
    ]
    .iter()
    .any(|ext| source.ends_with(ext))
}

/// The script a RUN runs: its shell-form text and the bodies of heredocs
/// that are scripts (not files or other programs' input with a shebang).
pub(super) fn run_script(instruction: &Instruction) -> String {
    let args = instruction.args();
    let mut script = if is_json_array(args) {
        serde_json::from_str::<Vec<String>>(args)
            .unwrap_or_default()
            .join(" ")
    } else {
        args.to_string()
    };
    for heredoc in &instruction.heredocs {
        let body = &heredoc.body;
        let other_language = body
            .lines()
            .next()
            .is_some_and(|l| l.starts_with("#!") && !l.contains("sh"));
        if !other_language {
            script.push('\n');
            script.push_str(body);
        }
    }
    script
}

/// The cache mounts' targets of a RUN.
fn cache_mounts(instruction: &Instruction) -> Vec<String> {
    let mut targets = Vec::new();
    for (bytes, at) in instruction
        .command
        .flags
        .iter()
        .filter_map(|f| f.value("mount"))
    {
        let fields: Vec<(String, String)> = csv_fields(bytes, at)
            .iter()
            .filter_map(|f| {
                let text = String::from_utf8_lossy(&f.bytes).into_owned();
                text.split_once('=')
                    .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
            })
            .collect();
        let cache = fields.iter().any(|(k, v)| k == "type" && v == "cache");
        if cache {
            targets.extend(
                fields
                    .iter()
                    .filter(|(k, _)| matches!(k.as_str(), "target" | "dst" | "destination"))
                    .map(|(_, v)| v.trim_end_matches('/').to_string()),
            );
        }
    }
    targets
}

fn assumes_yes(args: &[String]) -> bool {
    args.iter().any(|a| {
        matches!(
            a.as_str(),
            "--yes" | "--assume-yes" | "-qq" | "--quiet=2" | "-q=2"
        ) || a.contains("APT::Get::Assume-Yes=true")
            || (a.starts_with('-') && !a.starts_with("--") && a.contains('y'))
    })
}

fn is_pip(program: &str, args: &[String]) -> bool {
    let pip = program == "pip" || program.starts_with("pip3") || program == "pip2";
    let python_m = program.starts_with("python")
        && args.first().is_some_and(|a| a == "-m")
        && args.get(1).is_some_and(|a| a.starts_with("pip"));
    pip || python_m
}

/// The first few arguments, for messages.
fn short(args: &[String]) -> String {
    let mut shown: Vec<&str> = args.iter().take(6).map(String::as_str).collect();
    if args.len() > 6 {
        shown.push("…");
    }
    shown.join(" ")
}

static PIPED: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"\b(curl|wget)\b[^|;&\n]*\|\s*(sudo\s+(-\S+\s+)*)?(env\s+)?(\S*/)?(ba|z|da|k|a)?sh\b[^;&|\n]*").ok()
});
static SUBSTITUTED: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r#"\b(ba|z|da|k|a)?sh\s+(-\S+\s+)*(-c\s+)?["']?(\$\(|<\(|`)\s*(curl|wget)\b[^)`]*[)`]"#,
    )
    .ok()
});

/// `curl … | sh`, `wget -O- … | bash`, `sh -c "$(curl …)"`, `bash <(curl …)`.
fn pipe_to_shell(script: &str) -> Option<String> {
    [&PIPED, &SUBSTITUTED]
        .iter()
        .find_map(|re| re.as_ref()?.find(script))
        .map(|m| m.as_str().trim().to_string())
}

/// Names like `DB_PASSWORD`, `GITHUB_TOKEN`, `AWS_SECRET_ACCESS_KEY`; not
/// `PASSWORD_FILE` (the right way to hand one over) or `PUBLIC_KEY`.
fn looks_secret(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let tokens: Vec<&str> = lower
        .split(['_', '-', '.'])
        .filter(|t| !t.is_empty())
        .collect();
    const SECRET: &[&str] = &[
        "password",
        "passwd",
        "pwd",
        "pword",
        "secret",
        "token",
        "apikey",
        "credential",
        "credentials",
        "auth",
        "privatekey",
    ];
    const ALLOWED: &[&str] = &[
        "file", "path", "dir", "public", "url", "endpoint", "type", "method", "enabled",
    ];
    if tokens.iter().any(|t| ALLOWED.contains(t)) {
        return false;
    }
    if tokens.iter().any(|t| SECRET.contains(t)) {
        return true;
    }
    // Two-word secrets: API_KEY, ACCESS_KEY, PRIVATE_KEY, SECRET_KEY.
    tokens.windows(2).any(|w| {
        w[1] == "key"
            && matches!(
                w[0],
                "api" | "access" | "private" | "secret" | "signing" | "encryption"
            )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_compile() {
        for re in [&STATIC, &PIPED, &SUBSTITUTED] {
            assert!(re.is_some());
        }
    }

    #[test]
    fn ids_are_unique_kebab_case() {
        let mut seen = HashSet::new();
        for r in RULES {
            assert!(seen.insert(r.id), "{} twice", r.id);
            assert!(
                r.id.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{}",
                r.id
            );
            assert!(!r.why.is_empty() && !r.fix.is_empty() && !r.why.contains('\n'));
        }
    }

    /// docs/lint.md documents every rule with its level, why and fix, as
    /// the code has them.
    #[test]
    fn docs_list_every_rule_as_the_code_has_it() {
        let docs = include_str!("../../docs/lint.md");
        for r in RULES {
            let section = docs
                .split(&format!("### `{}`\n", r.id))
                .nth(1)
                .unwrap_or_else(|| panic!("docs/lint.md has no section for {}", r.id));
            let section = section.split("\n### ").next().unwrap_or_default();
            let level = format!("**{}** — {}.", r.level.as_str(), r.title);
            for needle in [level.as_str(), r.why, r.fix] {
                assert!(
                    section.contains(needle),
                    "docs/lint.md, {}: lacks {needle:?}",
                    r.id
                );
            }
            assert!(
                docs.contains(&format!(
                    "| [`{}`](#{}) | {} |",
                    r.id,
                    r.id,
                    r.level.as_str()
                )),
                "{} not in the table",
                r.id
            );
        }
    }

    #[test]
    fn secret_names() {
        for name in [
            "DB_PASSWORD",
            "GITHUB_TOKEN",
            "AWS_SECRET_ACCESS_KEY",
            "API_KEY",
            "npm_token",
            "MY_SECRET",
        ] {
            assert!(looks_secret(name), "{name}");
        }
        for name in [
            "PASSWORD_FILE",
            "GPG_KEY",
            "PUBLIC_KEY",
            "TOKEN_URL",
            "KEYRING",
            "TOKENIZERS_PARALLELISM",
            "AUTHOR",
        ] {
            assert!(!looks_secret(name), "{name}");
        }
    }

    #[test]
    fn pipes_to_shells() {
        for script in [
            "curl -fsSL https://get.x | sh",
            "curl -fsSL https://get.x | sudo -E bash -s -- --yes",
            "wget -qO- https://x/install.sh|/bin/bash",
            "sh -c \"$(curl -fsSL https://x)\"",
            "bash <(curl -s https://x)",
        ] {
            assert!(pipe_to_shell(script).is_some(), "{script}");
        }
        for script in [
            "curl -fsSLo /tmp/x.sh https://x && sha256sum -c x.sha && sh /tmp/x.sh",
            "curl https://x | tar xz",
            "curl https://x | shasum",
        ] {
            assert_eq!(pipe_to_shell(script), None, "{script}");
        }
    }

    #[test]
    fn registries() {
        assert!(registry_allows("docker.io", "docker.io/library/nginx"));
        assert!(registry_allows(
            "index.docker.io/library/",
            "docker.io/library/nginx"
        ));
        assert!(registry_allows(
            "gcr.io/distroless",
            "gcr.io/distroless/static"
        ));
        assert!(!registry_allows(
            "gcr.io/distroless",
            "gcr.io/distroless-evil/static"
        ));
        assert!(!registry_allows("docker.io", "ghcr.io/x/y"));
    }

    #[test]
    fn build_trees() {
        assert!(build_tree("/", None).is_some());
        assert!(build_tree(".", None).is_some());
        assert!(build_tree("/src/", None).is_some());
        assert!(build_tree("/go/*", None).is_some());
        assert!(build_tree("/app", Some("/app")).is_some());
        assert!(build_tree("/app/server", Some("/app")).is_none());
        assert!(build_tree("/out/app", Some("/src")).is_none());
    }
}
