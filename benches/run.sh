#!/bin/sh
# Benchmark of `wharf run` on the offline quickstart (README's first
# command): the whole pipeline on examples/quickstart, copied to a temporary
# directory each time so the source tree stays clean. Median wall time of
# RUNS runs, peak RSS from GNU time, and the stage times of the median run
# from its run.json.
set -eu
cd "$(dirname "$0")/.."
RUNS="${RUNS:-5}"
cargo build --release --quiet
. benches/common.sh
wharf="$target/release/wharf"

i=0
while [ "$i" -lt "$RUNS" ]; do
  rm -rf "$work/qs"
  cp -r examples/quickstart "$work/qs"
  rm -rf "$work/qs/wharf-out"
  /usr/bin/time -f '%e %M' -o "$work/time.$i" "$wharf" run --config "$work/qs/wharf.yaml" \
    >/dev/null 2>"$work/stderr.$i" || { cat "$work/stderr.$i"; exit 1; }
  cp "$work/qs/wharf-out/run.json" "$work/run.$i.json"
  i=$((i + 1))
done

python3 - "$work" "$RUNS" <<'PY'
import json, statistics, sys
work, runs = sys.argv[1], int(sys.argv[2])
rows = []
for i in range(runs):
    wall, rss = open(f"{work}/time.{i}").read().split()
    rows.append((float(wall), int(rss), i))
rows.sort()
wall, rss, i = rows[len(rows) // 2]
stages = json.load(open(f"{work}/run.{i}.json"))["stages"]
print(f"wharf run (quickstart), {runs} runs: median {wall:.2f} s wall, "
      f"peak RSS {max(r[1] for r in rows) / 1024:.0f} MiB")
print("stages of the median run: " + ", ".join(
    f"{s['name']} {s['seconds']:.2f} s" for s in stages if s["status"] != "skipped"))
PY
