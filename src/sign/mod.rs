//! `wharf sign`: sign an image's digest so that admission (Kyverno,
//! policy-controller) and `wharf verify` can tell who built it.
//!
//! Keyless by default: in CI the job's own OIDC identity token (see
//! [`token`]) is exchanged at Fulcio for a short-lived certificate naming the
//! workflow, so there is no signing key to store, rotate or leak. `--key`
//! signs with a cosign key instead, for places with no usable OIDC issuer.

pub mod image;
pub mod key;
pub mod keyless;
pub mod legacy;
pub mod session;
pub mod storage;
pub mod tlog;
pub mod token;
