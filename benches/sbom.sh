#!/bin/sh
# Benchmark of `wharf sbom`: a single-layer image of ~120 MB uncompressed
# (a tar of /usr/lib/gcc plus this machine's dpkg status and os-release),
# gzip'd, in an OCI layout. Times `wharf sbom oci:DIR:v1` against
# `gzip -dc LAYER > /dev/null` on the same blob, median of RUNS, and reports
# wharf's peak RSS (GNU time's "Maximum resident set size").
#
# Needs umoci-free tools only: tar, gzip, sha256sum, /usr/bin/time, python3.
set -eu
cd "$(dirname "$0")/.."
RUNS="${RUNS:-5}"
cargo build --release --quiet
. benches/common.sh
wharf="$target/release/wharf"

# The layer: /usr/lib/gcc plus the dpkg status and os-release, uncompressed ~120 MB.
mkdir -p "$work/root/etc" "$work/root/var/lib/dpkg"
cp /var/lib/dpkg/status "$work/root/var/lib/dpkg/status"
cat /etc/os-release > "$work/root/etc/os-release"
tar -C / -cf "$work/layer.tar" usr/lib/gcc
tar -C "$work/root" -rf "$work/layer.tar" etc var
gzip -6 -c "$work/layer.tar" > "$work/layer.tar.gz"
raw=$(stat -c %s "$work/layer.tar")
gz=$(stat -c %s "$work/layer.tar.gz")

# An OCI layout around it.
python3 - "$work" <<'PY'
import hashlib, json, os, shutil, sys
work = sys.argv[1]
lay = os.path.join(work, "layout")
blobs = os.path.join(lay, "blobs", "sha256")
os.makedirs(blobs)
def put(data):
    d = hashlib.sha256(data).hexdigest()
    open(os.path.join(blobs, d), "wb").write(data)
    return "sha256:" + d, len(data)
diff = "sha256:" + hashlib.sha256(open(os.path.join(work, "layer.tar"), "rb").read()).hexdigest()
gz = open(os.path.join(work, "layer.tar.gz"), "rb").read()
layer, lsize = put(gz)
config, csize = put(json.dumps({"architecture": "amd64", "os": "linux",
    "rootfs": {"type": "layers", "diff_ids": [diff]}}).encode())
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": csize},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer, "size": lsize}]}).encode()
m, msize = put(manifest)
open(os.path.join(lay, "oci-layout"), "w").write('{"imageLayoutVersion":"1.0.0"}')
open(os.path.join(lay, "index.json"), "w").write(json.dumps({"schemaVersion": 2, "manifests": [
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": m, "size": msize,
     "annotations": {"org.opencontainers.image.ref.name": "v1"}}]}))
print(os.path.join(blobs, layer.split(":")[1]), file=open(os.path.join(work, "blob"), "w"))
PY
blob=$(cat "$work/blob")

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ms() { python3 -c 'import time; print(int(time.monotonic()*1000))'; }

gzip_times=""; wharf_times=""; rss=""
i=0
while [ $i -lt "$RUNS" ]; do
  t0=$(ms); gzip -dc "$blob" > /dev/null; t1=$(ms)
  gzip_times="$gzip_times $((t1 - t0))"
  t0=$(ms)
  /usr/bin/time -f '%M' -o "$work/rss" "$wharf" sbom "oci:$work/layout:v1" -o "$work/sbom.json" 2>/dev/null
  t1=$(ms)
  wharf_times="$wharf_times $((t1 - t0))"
  rss="$rss $(cat "$work/rss")"
  i=$((i + 1))
done
g=$(echo $gzip_times | tr ' ' '\n' | median)
w=$(echo $wharf_times | tr ' ' '\n' | median)
r=$(echo $rss | tr ' ' '\n' | sort -n | tail -1)
packages=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["components"]))' "$work/sbom.json")
echo "layer: $raw bytes uncompressed, $gz gzip'd; $packages components"
echo "gzip -dc > /dev/null: median $g ms ($gzip_times )"
echo "wharf sbom:           median $w ms ($wharf_times )"
python3 -c "print(f'ratio: {$w/$g:.2f}x')"
echo "wharf peak RSS: max $((r / 1024)) MiB over $RUNS runs ($rss KiB)"
