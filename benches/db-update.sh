#!/bin/sh
# Bytes `wharf db update` moves, against a local stand-in for osv.dev's
# bucket (tests/it/common/gcs.rs: GCS's ETags, X-Goog-Hash, 304/206)
# holding the real records in /work/shared/osv (PyPI, Go, crates.io, the
# GHSA records under their ecosystem), zipped and listed as osv.dev does:
#
#  1. the first update of the three ecosystems (each all.zip, whole);
#  2. an update with nothing changed;
#  3. an update after 100 PyPI records changed upstream and one was added.
#
# Bytes are counted by the server (heads and bodies written), so they do
# not depend on the build; the wall times printed do (set PROFILE=release
# for release figures). It runs the ignored test
# db_update::bench_db_update_bytes.
set -eu
cd "$(dirname "$0")/.."
OSV="${WHARF_TEST_OSV:-/work/shared/osv}"
[ -d "$OSV/PyPI" ] || { echo "skipped: no OSV data at $OSV (set WHARF_TEST_OSV)"; exit 0; }
PROFILE="${PROFILE:-dev}"
WHARF_TEST_OSV="$OSV" cargo test --quiet --profile "$PROFILE" --test it \
    -- --ignored --nocapture --exact db_update::bench_db_update_bytes 2>&1 \
    | grep -E '^(first update|nothing changed|100 changed)'
