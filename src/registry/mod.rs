//! Talking to registries and OCI image layouts: resolve a reference to the
//! digest of what it names.

mod client;
pub mod layout;

pub use client::{RegistryClient, RegistryError, Platform, Resolved};
