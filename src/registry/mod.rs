//! Talking to registries and OCI image layouts: resolve a reference to the
//! digest of what it names.

mod client;
pub mod layout;
pub mod oci;
mod push;
mod store;
pub mod stream;

pub use client::{
    https_client, Platform, RegistryClient, RegistryError, Resolved, RetryPolicy, MANIFEST_ACCEPT,
};
pub use layout::LayoutRef;
pub use push::{Fetched, Pushed, ReferrersSource};
pub use store::Store;

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

    /// `registry/repository`, or `oci:DIR`: the image without tag or digest.
    pub fn name(&self) -> String {
        match self {
            ImageRef::Registry(r) => r.name().to_string(),
            ImageRef::Layout(l) => l.name(),
        }
    }

    /// Whether it names a digest (no tag to resolve).
    pub fn has_digest(&self) -> bool {
        match self {
            ImageRef::Registry(r) => r.digest().is_some(),
            ImageRef::Layout(l) => l.digest.is_some(),
        }
    }
}

impl std::fmt::Display for ImageRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImageRef::Registry(r) => write!(f, "{r}"),
            ImageRef::Layout(l) => {
                f.write_str(&l.name())?;
                if let Some(tag) = &l.tag {
                    write!(f, ":{tag}")?;
                }
                if let Some(digest) = &l.digest {
                    write!(f, "@{digest}")?;
                }
                Ok(())
            }
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
