#!/bin/sh
# Benchmark of the OSV database (src/scan/db) on the real data in
# ../shared/osv (PyPI, crates.io, Go: ~8,000 records, 35 MB of JSON):
#
#  1. `wharf db import` of all of it into an empty cache, RUNS times (median),
#     with its peak RSS (GNU time's "Maximum resident set size");
#  2. `Db::open` + 2,000 `records()` lookups (2,000 distinct packages that all
#     have records: the worst case) from the cache, the directory and a zip of
#     all records, each in a fresh process (the ignored tests `db::bench_*`):
#     a cold pass, then a warm pass in the same process; VmHWM of that process.
#
# "Cold" means the page cache was dropped first when this runs as root
# (echo 3 > /proc/sys/vm/drop_caches); otherwise it is only a fresh process,
# and the script says so. Set COLD=0 to never drop caches.
set -eu
cd "$(dirname "$0")/.."
RUNS="${RUNS:-5}"
OSV="${WHARF_TEST_OSV:-$(pwd)/../shared/osv}"
COLD="${COLD:-1}"
cargo build --release --quiet
cargo test --release --quiet --test it --no-run 2>/dev/null
. benches/common.sh
wharf="$target/release/wharf"

drop() {
    if [ "$COLD" = 1 ] && sync && (echo 3 > /proc/sys/vm/drop_caches) 2>/dev/null; then
        echo "(page cache dropped)"
    else
        echo "(page cache NOT dropped: fresh process only)"
    fi
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "== import: $OSV/{PyPI,crates.io,go}, $RUNS runs into an empty cache"
drop
: > "$work/import.times"
for i in $(seq "$RUNS"); do
    rm -rf "$work/cache"
    WHARF_CACHE_DIR="$work/cache" /usr/bin/time -f "%e %M" -o "$work/t" \
        "$wharf" db import "$OSV/PyPI" "$OSV/crates.io" "$OSV/go" > "$work/import.out"
    cat "$work/t" >> "$work/import.times"
    echo "run $i: $(cat "$work/t" | awk '{printf "%.2f s, peak RSS %.1f MiB", $1, $2/1024}')"
done
echo "median: $(awk '{print $1}' "$work/import.times" | median) s"
tail -n 4 "$work/import.out"
du -sh "$work/cache/osv"

echo "== re-import of the same data into the full cache (every record replaced)"
WHARF_CACHE_DIR="$work/cache" /usr/bin/time -f "%e s, peak RSS %M KiB" \
    "$wharf" db import "$OSV/PyPI" "$OSV/crates.io" "$OSV/go" > /dev/null

echo "== db status"
WHARF_CACHE_DIR="$work/cache" /usr/bin/time -f "%e s, peak RSS %M KiB" "$wharf" db status

# One flat zip of every record, like osv.dev's all.zip (deflate).
python3 - "$OSV" "$work/all.zip" <<'PY'
import os, sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as z:
    for d in ("PyPI", "crates.io", "go"):
        for f in sorted(os.listdir(os.path.join(src, d))):
            if f.endswith(".json"):
                z.write(os.path.join(src, d, f), f)
PY

export WHARF_BENCH_QUERIES="$work/queries.json" WHARF_CACHE_DIR="$work/cache" \
    WHARF_BENCH_DIR="$OSV" WHARF_BENCH_ZIP="$work/all.zip" WHARF_TEST_OSV="$OSV"
cargo test --release --quiet --test it -- --ignored --exact db::bench_write_queries >/dev/null
for source in cache dir zip; do
    echo "== Db::open + 2,000 lookups: $source"
    for i in $(seq 3); do
        drop
        cargo test --release --quiet --test it -- --ignored --exact "db::bench_lookups_$source" --nocapture 2>/dev/null \
            | grep '^BENCH'
    done
done
