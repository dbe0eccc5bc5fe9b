#!/bin/sh
# wharf against its peers on the parity image (scripts/parity-image.sh: a
# Debian 12 root with python3, a Django stack, an npm tree, Go and Rust
# binaries; 100 MB compressed, one layer): `wharf sbom` against `syft scan`
# on the same OCI layout, and `wharf scan --sbom` against `osv-scanner scan
# source -L` on the same SBOM (wharf's) and the same records (all of
# ../shared/osv plus one Debian record, zipped per ecosystem as osv-scanner's
# offline mode reads them). Median wall time and peak RSS (GNU time's
# "Maximum resident set size") of RUNS runs each; everything warm (page
# cache), release build. Needs the peers (scripts/peers.sh) and the image
# (built here when missing, a few minutes).
set -eu
cd "$(dirname "$0")/.."
RUNS="${RUNS:-5}"
OSV="${WHARF_TEST_OSV:-/work/shared/osv}"
cargo build --release --quiet
. benches/common.sh
wharf="$target/release/wharf"
peers="${WHARF_PEERS:-$HOME/.cache/wharf-peers}/bin"
image="$(scripts/parity-image.sh)"
layout="$image/layout"

# The records: one zip per ecosystem for osv-scanner, one of them all for
# wharf (--db ZIP) and the same imported into wharf's cache.
python3 - "$OSV" "$work" <<'PY'
import glob, json, os, sys, zipfile
osv, work = sys.argv[1:]
records = {}
for d in ["PyPI", "go", "crates.io", "GHSA"]:
    for f in sorted(glob.glob(os.path.join(osv, d, "**", "*.json"), recursive=True)):
        try:
            r = json.load(open(f))
        except ValueError:
            continue
        if isinstance(r, dict) and "id" in r:
            records.setdefault(r["id"], r)
records["WHARF-PARITY-0001"] = {
    "schema_version": "1.6.0", "id": "WHARF-PARITY-0001", "modified": "2026-08-01T00:00:00Z",
    "affected": [{"package": {"ecosystem": "Debian:12", "name": "age"},
                  "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}]}
def ecosystems(r):
    return {a["package"]["ecosystem"].split(":")[0] for a in r.get("affected", []) if "package" in a}
for eco in ["PyPI", "npm", "Go", "crates.io", "Debian"]:
    os.makedirs(os.path.join(work, "db", "osv-scalibr", eco))
    with zipfile.ZipFile(os.path.join(work, "db", "osv-scalibr", eco, "all.zip"), "w", zipfile.ZIP_DEFLATED) as z:
        for i, r in records.items():
            if eco in ecosystems(r):
                z.writestr(i + ".json", json.dumps(r))
with zipfile.ZipFile(os.path.join(work, "all.zip"), "w", zipfile.ZIP_DEFLATED) as z:
    for i, r in records.items():
        z.writestr(i + ".json", json.dumps(r))
print(len(records), "records")
PY
export HOME="$work/home" SYFT_CHECK_FOR_APP_UPDATE=false WHARF_CACHE_DIR="$work/cache"
mkdir -p "$HOME"
"$wharf" db import "$work/all.zip" >/dev/null 2>&1
"$wharf" sbom "oci:$layout:parity" -o "$work/wharf.cdx.json" 2>/dev/null

# measure NAME COMMAND...: RUNS runs, the median wall time and peak RSS.
measure() {
  name="$1"
  shift
  : >"$work/times"
  i=0
  while [ $i -lt "$RUNS" ]; do
    /usr/bin/time -f '%e %M' -o "$work/time" "$@" >/dev/null 2>&1 || [ $? -eq 1 ]
    # GNU time puts "Command exited with non-zero status N" first.
    tail -n 1 "$work/time" >>"$work/times"
    i=$((i + 1))
  done
  wall=$(cut -d' ' -f1 "$work/times" | sort -n | awk '{a[NR]=$1} END {printf "%d", a[int((NR+1)/2)]*1000}')
  range=$(cut -d' ' -f1 "$work/times" | sort -n | awk 'NR==1{lo=$1} {hi=$1} END {printf "%d–%d", lo*1000, hi*1000}')
  rss=$(cut -d' ' -f2 "$work/times" | sort -n | awk '{a[NR]=$1} END {printf "%d", a[int((NR+1)/2)]/1024}')
  echo "| $name | $wall ms | $range ms | $rss MiB |"
}

echo "| | median wall | min–max wall | median peak RSS |"
echo "|---|---|---|---|"
measure "wharf sbom" "$wharf" sbom "oci:$layout:parity" -o "$work/w.cdx.json"
measure "syft scan" "$peers/syft" scan "oci-dir:$layout" -q -o "cyclonedx-json=$work/s.cdx.json"
measure "wharf scan --sbom --offline (imported cache)" "$wharf" scan --offline --sbom "$work/wharf.cdx.json" \
  --format json --fail-on none -o "$work/w.json"
measure "wharf scan --sbom --offline --db all.zip" "$wharf" scan --offline --sbom "$work/wharf.cdx.json" \
  --db "$work/all.zip" --format json --fail-on none -o "$work/w.json"
measure "osv-scanner scan source --offline -L" "$peers/osv-scanner" scan source --offline \
  --all-packages --all-vulns --local-db-path "$work/db" --format json \
  --output-file "$work/o.json" -L "$work/wharf.cdx.json"

# What each scan found, so a fast run that found nothing shows.
python3 - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
w = json.load(open(os.path.join(work, "w.json")))
o = json.load(open(os.path.join(work, "o.json")))
groups = sum(len(p.get("groups", [])) for r in o["results"] for p in r["packages"])
print(f"wharf: {w['packages']} packages, {len(w['findings']) + len(w['informational'])} findings; "
      f"osv-scanner: {groups} groups")
PY
