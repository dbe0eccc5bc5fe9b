//! Talking to registries and OCI image layouts: resolve a reference to the
//! digest of what it names.

mod client;
pub mod layout;
pub mod oci;
mod push;
pub mod stream;

pub use client::{
    https_client, Platform, RegistryClient, RegistryError, Resolved, RetryPolicy, MANIFEST_ACCEPT,
};
pub use layout::LayoutRef;
pub use push::{Fetched, Pushed, ReferrersSource};

use crate::reference::Reference;

/// An image argument: a registry reference or `oci:DIR[:TAG|@DIGEST]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageRef {
    Registry(Reference),
    Layout(LayoutRef),
}

impl ImageRef {
    pub fn parse(text: &str) -> Result<ImageRef, crate::Error> {
        match text.strip_prefix("oci:") {
            Some(rest) => Ok(ImageRef::Layout(LayoutRef::parse(rest)?)),
            None => Ok(ImageRef::Registry(Reference::parse(text)?)),
        }
    }
}

impl RegistryClient {
    /// Resolves a registry reference or a layout reference alike.
    pub async fn resolve_image(
        &self,
        image: &ImageRef,
        platform: Option<&Platform>,
    ) -> Result<Resolved, RegistryError> {
        match image {
            ImageRef::Registry(r) => self.resolve(r, platform).await,
            ImageRef::Layout(l) => layout::resolve(l, platform),
        }
    }
}
