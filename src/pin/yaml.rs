//! Image references in YAML: Kubernetes manifests, Helm values, kustomization, compose.

use super::site::{FindError, Site};

/// What kind of YAML file this is, from its name; content decides per document
/// when the name says nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YamlKind {
    /// `kustomization.yaml`, `kustomization.yml`, `Kustomization`
    Kustomization,
    /// `compose.yaml`, `docker-compose*.yml`, …
    Compose,
    /// `values*.yaml` (a Helm chart's values)
    HelmValues,
    /// anything else: decided per document by its content
    Other,
}

/// Every image reference in a YAML file's text.
pub fn find(_text: &str, _kind: YamlKind) -> Result<Vec<Site>, FindError> {
    Ok(Vec::new())
}
