//! Streaming a blob from a registry: the response body chunk by chunk, for
//! layers too large to hold. The bytes are not checked here; whoever reads
//! them hashes them as they go (see `image::layer`) and discards everything
//! if the digest does not match.

use bytes::Bytes;
use reqwest::{Method, Response};

use super::client::{RegistryClient, RegistryError, Req};
use crate::reference::{check_digest, Reference};

/// A blob being downloaded.
pub struct BlobStream {
    resp: Response,
    registry: String,
    what: String,
}

impl RegistryClient {
    /// Starts downloading blob `digest` of `repo`'s repository (redirects to
    /// blob storage are followed). The request is retried like any other
    /// until the response starts; a body that breaks off is an error.
    ///
    /// A large layer may take as long as it takes; the download fails when
    /// no bytes arrive for `WHARF_HTTP_TIMEOUT` (default 30 s).
    pub async fn open_blob(
        &self,
        repo: &Reference,
        digest: &str,
    ) -> Result<BlobStream, RegistryError> {
        let state = self.state(repo.registry()).await?;
        let repository = repo.repository();
        let what = format!("{}@{digest}", repo.name());
        check_digest(digest).map_err(|detail| RegistryError::Protocol {
            what: what.clone(),
            registry: state.name.clone(),
            detail,
        })?;
        let url = format!("{}/v2/{repository}/blobs/{digest}", state.base);
        let req = Req {
            method: Method::GET,
            url: &url,
            accept: "*/*",
            body: None,
            push: false,
            streaming: true,
        };
        let resp = self.send_req(&state, &repository, &what, &req).await?;
        Ok(BlobStream {
            resp,
            registry: state.name.clone(),
            what,
        })
    }
}

impl BlobStream {
    /// The next piece of the body; `None` at its end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, RegistryError> {
        self.resp
            .chunk()
            .await
            .map_err(|e| RegistryError::Unreachable {
                registry: self.registry.clone(),
                attempts: 1,
                detail: format!("the download of {} broke off: {e}", self.what),
            })
    }

    /// The size the registry announced, if it did.
    pub fn content_length(&self) -> Option<u64> {
        self.resp.content_length()
    }
}
