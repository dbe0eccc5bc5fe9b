//! Flags and environment, validated into typed settings before any work
//! starts. Precedence: flags > environment (`WHARF_*`) > wharf.yaml.

use std::collections::BTreeSet;

use crate::error::{Error, Result};

/// When the `sha256-<hex>` referrers fallback index is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ReferrersFallback {
    /// Only where the registry has no referrers API.
    #[default]
    Auto,
    /// Also where it has one.
    Always,
}

/// Settings every command shares.
#[derive(Debug, Clone, Default)]
pub struct Global {
    /// Registries (host or host:port) that may be reached over plain HTTP or
    /// TLS without certificate checks. Nothing else ever is.
    pub insecure_registries: BTreeSet<String>,
    /// When signatures and attestations are also listed in the fallback index.
    pub referrers_fallback: ReferrersFallback,
    /// No network for trust (`--offline`, `WHARF_OFFLINE`).
    pub offline: bool,
}

impl Global {
    /// The settings from the global flags (`--insecure-registry`,
    /// `--referrers-fallback`, `--offline`) and their variables.
    pub fn resolve(
        insecure_registry: &[String],
        referrers_fallback: Option<ReferrersFallback>,
        offline: bool,
    ) -> Result<Global> {
        let from_env = std::env::var("WHARF_INSECURE_REGISTRIES").unwrap_or_default();
        let mut insecure_registries = BTreeSet::new();
        for raw in insecure_registry
            .iter()
            .map(String::as_str)
            .chain(from_env.split(','))
        {
            let host = raw.trim();
            if host.is_empty() {
                continue;
            }
            if host.contains('/') || host.contains(char::is_whitespace) {
                return Err(Error::Usage(format!(
                    "--insecure-registry {host:?}: give a host or host:port, without scheme or path \
                     (for example 127.0.0.1:5000)"
                )));
            }
            insecure_registries.insert(host.to_ascii_lowercase());
        }
        let referrers_fallback = match (
            referrers_fallback,
            std::env::var("WHARF_REFERRERS_FALLBACK"),
        ) {
            (Some(mode), _) => mode,
            (None, Ok(v)) if !v.trim().is_empty() => {
                <ReferrersFallback as clap::ValueEnum>::from_str(v.trim(), true).map_err(|_| {
                    Error::Usage(format!(
                        "WHARF_REFERRERS_FALLBACK={v:?}: give auto or always"
                    ))
                })?
            }
            _ => ReferrersFallback::Auto,
        };
        let offline = offline
            || std::env::var("WHARF_OFFLINE").is_ok_and(|v| {
                matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes")
            });
        Ok(Global {
            insecure_registries,
            referrers_fallback,
            offline,
        })
    }

    /// Whether `registry` (host[:port]) was named insecure. A bare host named
    /// insecure covers every port of that host.
    pub fn is_insecure(&self, registry: &str) -> bool {
        let registry = registry.to_ascii_lowercase();
        if self.insecure_registries.contains(&registry) {
            return true;
        }
        let host = match registry.rsplit_once(':') {
            Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) && !h.ends_with(':') => h,
            _ => registry.as_str(),
        };
        self.insecure_registries.contains(host)
    }
}
