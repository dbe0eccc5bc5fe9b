#!/bin/sh
# The OSV database at osv.dev's size: ~300,000 generated records in
# per-ecosystem all.zip files and a 2,000-package SBOM that hits them
# (benches/osv-gen.py; generated once into $DATA, never committed).
#
#  1. `wharf db import` of every zip into an empty cache, RUNS times:
#     median wall time, peak RSS (GNU time);
#  2. the cache's size on disk against the zips';
#  3. an update: 100 PyPI records imported into the full cache — its time,
#     and which shard files it wrote (npm's must stay as they were);
#  4. `wharf scan --sbom` from the cache: median of RUNS warm runs, one cold
#     run (page cache dropped; needs root), peak RSS, findings;
#  5. the same SBOM through osv-scanner offline on the same zips, when
#     $WHARF_PEERS/bin/osv-scanner is there (scripts/peers.sh builds it).
#
# WHARF=PATH measures another wharf binary (an older build, say) instead of
# this tree's release build.
set -eu
cd "$(dirname "$0")/.."
RUNS="${RUNS:-5}"
DATA="${WHARF_BENCH_OSV_SCALE:-$HOME/.cache/wharf-bench/osv-scale}"
PEERS="${WHARF_PEERS:-$HOME/.cache/wharf-peers}"
if [ ! -f "$DATA/sbom.cdx.json" ]; then
    echo "generating $DATA (a few minutes, once)"
    python3 benches/osv-gen.py "$DATA"
fi
if [ -z "${WHARF:-}" ]; then
    cargo build --release --quiet
    . benches/common.sh
    WHARF="$target/release/wharf"
else
    . benches/common.sh
fi
zips=$(ls "$DATA"/osv-scalibr/*/all.zip)
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
max() { sort -n | tail -n 1; }
mib() { awk '{printf "%.0f", $1 / 1024}'; }
# The machine may be shared: CPU time (user + sys) beside the wall time.
cpu() { awk '{print $3 + $4}' "$1" | median; }
cold() { [ -w /proc/sys/vm/drop_caches ] && sync && echo 3 > /proc/sys/vm/drop_caches; }
findings() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["findings"]))' "$1"; }

echo "== import of $(echo "$zips" | wc -l) zips, $(du -cb $zips | tail -n 1 | awk '{printf "%.1f MB", $1/1e6}'), into an empty cache ($RUNS runs)"
: > "$work/import"
for i in $(seq "$RUNS"); do
    rm -rf "$work/cache"
    # shellcheck disable=SC2086
    WHARF_CACHE_DIR="$work/cache" /usr/bin/time -f '%e %M %U %S' -o "$work/t" "$WHARF" db import $zips > "$work/import.out"
    tail -n 1 "$work/t" >> "$work/import"
done
echo "import: median $(cut -d' ' -f1 "$work/import" | median) s (CPU $(cpu "$work/import") s), peak RSS $(cut -d' ' -f2 "$work/import" | max | mib) MiB ($(cut -d' ' -f1 "$work/import" | tr '\n' ' '))"
tail -n 7 "$work/import.out"
cache_b=$(du -sb "$work/cache/osv" | cut -f1)
zip_b=$(du -cb $zips | tail -n 1 | cut -f1)
echo "cache: $(echo "$cache_b" | awk '{printf "%.1f MB", $1/1e6}') for $(echo "$zip_b" | awk '{printf "%.1f MB", $1/1e6}') of zips: $(echo "$cache_b $zip_b" | awk '{printf "%.2f", $1/$2}')x"

echo "== update: 100 PyPI records into the full cache"
mkdir -p "$work/update"
python3 - "$DATA/osv-scalibr/PyPI/all.zip" "$work/update" <<'PY'
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
for info in z.infolist()[:100]:
    open(sys.argv[2] + "/" + info.filename, "wb").write(z.read(info))
PY
snapshot() { (cd "$work/cache/osv" && find . -type f -printf '%P %i %T@ %s\n' | sort); }
snapshot > "$work/before"
WHARF_CACHE_DIR="$work/cache" /usr/bin/time -f '%e %M %U %S' -o "$work/t" "$WHARF" db import "$work/update" > /dev/null
snapshot > "$work/after"
echo "update: $(tail -n 1 "$work/t" | cut -d' ' -f1) s, peak RSS $(tail -n 1 "$work/t" | cut -d' ' -f2 | mib) MiB; files written: $(comm -13 "$work/before" "$work/after" | cut -d' ' -f1 | tr '\n' ' ')"
npm_changed=$(comm -3 "$work/before" "$work/after" | grep -c 'npm' || true)
echo "npm files changed or removed: $npm_changed"

echo "== wharf scan --sbom ($(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["components"]))' "$DATA/sbom.cdx.json") packages), from the cache"
scan() {
    WHARF_CACHE_DIR="$work/cache" /usr/bin/time -f '%e %M %U %S' -o "$work/t" "$WHARF" scan --sbom "$DATA/sbom.cdx.json" \
        --fail-on none --format json -o "$work/report.json" 2> /dev/null || true
    tail -n 1 "$work/t"
}
cold_run="n/a (not root)"
if cold; then cold_run="$(scan | awk '{printf "%s s, %.0f MiB", $1, $2/1024}')"; fi
: > "$work/scan"
for i in $(seq "$RUNS"); do scan >> "$work/scan"; done
echo "scan: warm median $(cut -d' ' -f1 "$work/scan" | median) s (CPU $(cpu "$work/scan") s), peak RSS $(cut -d' ' -f2 "$work/scan" | max | mib) MiB ($(cut -d' ' -f1 "$work/scan" | tr '\n' ' ')); cold $cold_run; findings $(findings "$work/report.json") (expected $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["findings"])' "$DATA/expected.json"))"

osv="$PEERS/bin/osv-scanner"
if [ -x "$osv" ]; then
    echo "== osv-scanner ($("$osv" --version 2>/dev/null | head -n 1)) offline, same zips"
    cp "$DATA/sbom.cdx.json" "$work/sbom.cdx.json"
    oscan() {
        /usr/bin/time -f '%e %M %U %S' -o "$work/t" "$osv" scan source -L "$work/sbom.cdx.json" --offline \
            --local-db-path "$DATA" --format json > "$work/osv.json" 2> "$work/osv.err" || true
        tail -n 1 "$work/t"
    }
    cold_run="n/a (not root)"
    if cold; then cold_run="$(oscan | awk '{printf "%s s, %.0f MiB", $1, $2/1024}')"; fi
    : > "$work/oscan"
    for i in $(seq "$RUNS"); do oscan >> "$work/oscan"; done
    n=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(sum(len(p.get("vulnerabilities") or []) for r in d.get("results") or [] for p in r.get("packages") or []))' "$work/osv.json")
    echo "osv-scanner: warm median $(cut -d' ' -f1 "$work/oscan" | median) s (CPU $(cpu "$work/oscan") s), peak RSS $(cut -d' ' -f2 "$work/oscan" | max | mib) MiB; cold $cold_run; findings $n"
else
    echo "== osv-scanner: skipped, $osv is not there (scripts/peers.sh builds it)"
fi
