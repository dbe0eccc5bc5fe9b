//! `.wharf-lint.yaml`: allowed registries, rule levels (or `off`), and
//! whether inline ignores count. Typed and strict: an unknown key — a
//! misspelt rule id included — is an error naming its line, because a
//! setting that silently does nothing is worse than none.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::rules::{self, RULES};
use super::Level;
use crate::{Error, Result};

/// The config file read from the current directory when `--config` is not
/// given.
pub const DEFAULT_NAMES: &[&str] = &[".wharf-lint.yaml", ".wharf-lint.yml"];

/// The most a config file may weigh.
const MAX_CONFIG: u64 = 1 << 20;

/// A rule's setting: a level, or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Setting {
    Off,
    Info,
    Warning,
    Error,
}

/// The file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
struct File {
    /// Registries (`docker.io`) or registry/path prefixes
    /// (`ghcr.io/acme`) base images may come from; empty allows all.
    allowed_registries: Vec<String>,
    /// Per rule id: `off`, `info`, `warning` or `error`.
    rules: RuleSettings,
    /// `false` forbids `# wharf-ignore` comments (they become findings).
    inline_ignores: Option<bool>,
}

/// One optional field per rule, so that serde's `deny_unknown_fields`
/// names a misspelt id with its line.
macro_rules! rule_settings {
    ($($field:ident = $id:literal),+ $(,)?) => {
        #[derive(Debug, Default, Deserialize)]
        #[serde(default, deny_unknown_fields)]
        struct RuleSettings {
            $(#[serde(rename = $id)] $field: Option<Setting>,)+
        }

        impl RuleSettings {
            fn pairs(&self) -> Vec<(&'static str, Option<Setting>)> {
                vec![$(($id, self.$field)),+]
            }
        }
    };
}

rule_settings! {
    parse_error = "parse-error",
    base_image_latest = "base-image-latest",
    base_image_unpinned = "base-image-unpinned",
    base_image_registry = "base-image-registry",
    user_missing = "user-missing",
    user_root = "user-root",
    add_instead_of_copy = "add-instead-of-copy",
    add_remote_unverified = "add-remote-unverified",
    pipe_to_shell = "pipe-to-shell",
    apt_get_yes = "apt-get-yes",
    apt_get_recommends = "apt-get-recommends",
    apt_get_lists = "apt-get-lists",
    apk_no_cache = "apk-no-cache",
    pip_no_cache_dir = "pip-no-cache-dir",
    sudo = "sudo",
    final_stage_full_distro = "final-stage-full-distro",
    copy_build_tree = "copy-build-tree",
    static_base_dynamic_build = "static-base-dynamic-build",
    missing_interpreter = "missing-interpreter",
    healthcheck_missing = "healthcheck-missing",
    shell_form_cmd = "shell-form-cmd",
    secret_in_arg_env = "secret-in-arg-env",
    ignore_invalid = "ignore-invalid",
    ignore_unused = "ignore-unused",
    ignore_forbidden = "ignore-forbidden",
}

/// The settings lint runs with.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Where they came from, for messages (`None`: the defaults).
    pub path: Option<PathBuf>,
    pub allowed_registries: Vec<String>,
    /// Rules whose level differs from the default, or that are off.
    overrides: BTreeMap<&'static str, Setting>,
    pub inline_ignores: bool,
}

impl Config {
    pub fn defaults() -> Config {
        Config {
            inline_ignores: true,
            ..Config::default()
        }
    }

    /// `--config FILE`, else `.wharf-lint.yaml` in the current directory,
    /// else the defaults.
    pub fn load(explicit: Option<&Path>) -> Result<Config> {
        match explicit {
            Some(path) => Config::read(path),
            None => match DEFAULT_NAMES.iter().map(Path::new).find(|p| p.is_file()) {
                Some(path) => Config::read(path),
                None => Ok(Config::defaults()),
            },
        }
    }

    pub fn read(path: &Path) -> Result<Config> {
        let bytes = crate::fsutil::read_bounded(path, MAX_CONFIG, "lint config")?;
        Config::parse(&bytes)
            .map(|mut c| {
                c.path = Some(path.to_path_buf());
                c
            })
            .map_err(|why| Error::file(path, why))
    }

    /// Parses the file's bytes; the error says what is wrong and where.
    pub fn parse(bytes: &[u8]) -> std::result::Result<Config, String> {
        let text = std::str::from_utf8(bytes).map_err(|e| {
            format!(
                "the lint config is not UTF-8 text (invalid byte at offset {})",
                e.valid_up_to()
            )
        })?;
        // An empty file (or one of comments) is the defaults.
        let file: File = if text.lines().all(|l| {
            let l = l.trim();
            l.is_empty() || l.starts_with('#') || l == "---"
        }) {
            File::default()
        } else {
            serde_yaml::from_str(text).map_err(|e| {
                // The YAML library leaves out a location at the very start
                // of the file; say it anyway, every error has a line.
                let mut message = e.to_string();
                if let Some(at) = e.location().filter(|_| !message.contains(" at line ")) {
                    message.push_str(&format!(" at line {} column {}", at.line(), at.column()));
                }
                format!("{message}; the keys and rule ids are documented in docs/lint.md")
            })?
        };
        let mut overrides = BTreeMap::new();
        for (id, setting) in file.rules.pairs() {
            if let Some(setting) = setting {
                overrides.insert(id, setting);
            }
        }
        for entry in &file.allowed_registries {
            let trimmed = entry.trim().trim_end_matches('/');
            if trimmed.is_empty() || trimmed.contains(['@', ' ']) || trimmed.contains("://") {
                return Err(format!(
                    "allowed-registries: {entry:?} is not a registry (`docker.io`, `ghcr.io/acme`): write the host, optionally with a path prefix, without scheme, tag or digest"
                ));
            }
        }
        Ok(Config {
            path: None,
            allowed_registries: file.allowed_registries,
            overrides,
            inline_ignores: file.inline_ignores.unwrap_or(true),
        })
    }

    /// The level a rule reports at, or `None` when it is off.
    pub fn level(&self, id: &str) -> Option<Level> {
        let default = rules::rule(id).map(|r| r.level);
        match self.overrides.get(id) {
            Some(Setting::Off) => None,
            Some(Setting::Info) => Some(Level::Info),
            Some(Setting::Warning) => Some(Level::Warning),
            Some(Setting::Error) => Some(Level::Error),
            None => default,
        }
    }

    /// The rules that are on, with their levels.
    pub fn enabled(&self) -> Vec<(&'static rules::Rule, Level)> {
        RULES
            .iter()
            .filter_map(|r| self.level(r.id).map(|l| (r, l)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_can_be_configured() {
        let pairs = RuleSettings::default().pairs();
        let ids: Vec<&str> = pairs.iter().map(|(id, _)| *id).collect();
        let all: Vec<&str> = RULES.iter().map(|r| r.id).collect();
        assert_eq!(ids, all);
    }

    #[test]
    fn settings_apply() {
        let c = Config::parse(
            b"allowed-registries: [docker.io/library, ghcr.io/acme/]\nrules:\n  healthcheck-missing: off\n  base-image-latest: error\ninline-ignores: false\n",
        )
        .unwrap();
        assert_eq!(c.level("healthcheck-missing"), None);
        assert_eq!(c.level("base-image-latest"), Some(Level::Error));
        assert_eq!(c.level("user-root"), Some(Level::Error));
        assert!(!c.inline_ignores);
        assert_eq!(c.allowed_registries.len(), 2);
        assert!(Config::parse(b"# nothing yet\n").unwrap().inline_ignores);
        assert!(Config::parse(b"").unwrap().inline_ignores);
    }

    #[test]
    fn unknown_keys_and_values_are_errors_with_lines() {
        let e = Config::parse(b"rules:\n  healthcheck-missing: off\n  no-such-rule: off\n")
            .unwrap_err();
        assert!(e.contains("no-such-rule") && e.contains("line 3"), "{e}");
        let e = Config::parse(b"allowed_registries: [x]\n").unwrap_err();
        assert!(
            e.contains("allowed_registries") && e.contains("line 1"),
            "{e}"
        );
        let e = Config::parse(b"rules: {}\ninline_ignores: false\n").unwrap_err();
        assert!(e.contains("inline_ignores") && e.contains("line 2"), "{e}");
        let e = Config::parse(b"rules:\n  sudo: loud\n").unwrap_err();
        assert!(e.contains("loud") && e.contains("line 2"), "{e}");
        let e = Config::parse(b"allowed-registries: [\"https://docker.io\"]\n").unwrap_err();
        assert!(e.contains("without scheme"), "{e}");
    }
}
