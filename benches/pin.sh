#!/bin/sh
# Benchmark of `wharf pin`: 500 references (100 unique tags across 10
# repositories) pinned against a spawned docker-registry, next to a sequential
# `skopeo inspect --raw` loop over the 100 unique references. Prints wall
# times, manifest requests per unique reference and token requests, all
# counted from the registry's own log.
#
# Needs docker-registry and skopeo (see DESIGN.md, Test infrastructure).
set -eu
cd "$(dirname "$0")/.."
exec cargo test --release --test it -- --ignored bench --nocapture --test-threads 1
