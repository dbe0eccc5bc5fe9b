#!/bin/sh
# Keyless sign and verify, wharf against cosign v3.1.2, on the same real
# Sigstore stack (Fulcio, TesseraCT, Rekor v2, TSA on loopback) and the same
# Debian registry, in one run: median wall time and peak RSS (GNU time) of
# RUNS signatures and verifications each. Needs the Go peers
# (scripts/peers.sh) and docker-registry; release build.
set -eu
cd "$(dirname "$0")/.."
RUNS="${RUNS:-5}" cargo test --release --locked --test it \
  interop::bench_keyless_sign_and_verify_against_cosign -- --ignored --nocapture 2>&1 |
  grep '^|'
