//! `wharf promote`: write a signed digest into deploy files (Helm values,
//! kustomizations, manifests), changing only the bytes that must change, and
//! only after verifying the signature.

pub mod github;
