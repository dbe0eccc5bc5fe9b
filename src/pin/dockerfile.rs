//! Image references in Dockerfiles and Containerfiles.

use super::site::{FindError, Site};

/// Every image reference in a Dockerfile's text.
pub fn find(_text: &str) -> Result<Vec<Site>, FindError> {
    Ok(Vec::new())
}
