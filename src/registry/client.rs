//! placeholder
#[derive(Debug, thiserror::Error)]
#[error("registry")]
pub struct RegistryError;
pub struct RegistryClient;
pub struct Platform;
pub struct Resolved;
