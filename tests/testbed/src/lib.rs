//! wharf-testbed: a local Sigstore for tests. Not for production use.
