#!/bin/sh
# Benchmark of `wharf scan --sbom`: a CycloneDX SBOM of 2,000 packages (real
# names from ../shared/osv: PyPI, crates.io, Go, with old versions so that
# many match) against all of ../shared/osv (~8,000 records), from the
# imported cache (`wharf db import`) and straight from the directory.
# Median of RUNS warm runs; one cold run (page cache dropped, needs root);
# peak RSS from GNU time.
set -eu
cd "$(dirname "$0")/.."
RUNS="${RUNS:-5}"
osv="$(pwd)/../shared/osv"
[ -d "$osv" ] || { echo "skipped: $osv is not here"; exit 0; }
cargo build --release --quiet
. benches/common.sh
wharf="$target/release/wharf"
export WHARF_CACHE_DIR="$work/cache"

python3 - "$osv" "$work/sbom.json" <<'PY'
import glob, json, sys
osv, out = sys.argv[1], sys.argv[2]
eco = {"PyPI": "pypi", "crates.io": "cargo", "Go": "golang"}
names = {}
for f in sorted(glob.glob(osv + "/*/*.json")):
    try:
        r = json.load(open(f))
    except Exception:
        continue
    for a in r.get("affected", []):
        p = a.get("package") or {}
        if p.get("ecosystem") in eco and p.get("name"):
            names.setdefault((p["ecosystem"], p["name"]), None)
keys = sorted(names)[:2000]
comps = []
for i, (e, n) in enumerate(keys):
    v = "0.1.0" if e != "Go" else "v0.1.0"
    if e == "Go":
        ns, _, name = n.rpartition("/")
        purl = f"pkg:golang/{ns}/{name}@{v}" if ns else f"pkg:golang/{name}@{v}"
    else:
        purl = f"pkg:{eco[e]}/{n}@{v}"
    comps.append({"type": "library", "bom-ref": f"c{i}", "name": n, "version": v, "purl": purl})
json.dump({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": comps}, open(out, "w"))
print(f"SBOM: {len(comps)} packages")
PY

"$wharf" db import "$osv" >/dev/null 2>&1
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ms() { python3 -c 'import time; print(int(time.monotonic()*1000))'; }
run() { # $@: extra args; prints ms, writes RSS KiB to $work/rss
  t0=$(ms)
  /usr/bin/time -f '%M' -o "$work/rss" "$wharf" scan --sbom "$work/sbom.json" --fail-on none \
    --format json -o "$work/report.json" "$@" 2>/dev/null || true
  t1=$(ms); echo $((t1 - t0))
}
for mode in cache dir; do
  extra=""; [ "$mode" = dir ] && extra="--db $osv"
  cold=""
  if [ -w /proc/sys/vm/drop_caches ]; then
    sync; echo 3 > /proc/sys/vm/drop_caches
    cold=$(run $extra)
  fi
  times=""; rss=0
  i=0
  while [ $i -lt "$RUNS" ]; do
    times="$times $(run $extra)"
    r=$(cat "$work/rss"); [ "$r" -gt "$rss" ] && rss=$r
    i=$((i + 1))
  done
  findings=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["findings"]), len(d["informational"]), len(d["unparsable"]))' "$work/report.json")
  echo "$mode: warm median $(echo $times | tr ' ' '\n' | median) ms ($times ), cold ${cold:-n/a} ms, peak RSS $((rss / 1024)) MiB; findings/informational/unparsable: $findings"
done
