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

/// Waits before retry `attempt` (1-based) of a signing service call: 300 ms
/// doubling each time, plus up to half again at random so that parallel
/// CI jobs do not retry in step.
pub(crate) async fn backoff(attempt: u32) {
    let base = std::time::Duration::from_millis(300 * (1 << (attempt.clamp(1, 8) - 1)));
    tokio::time::sleep(base + base.mul_f64(rand::random::<f64>() / 2.0)).await;
}
