#!/bin/sh
# Peak memory of `wharf sbom` against Syft's on two layouts (issue 20):
#
#   - java: scripts/java-layout.sh's (real jars from Maven Central, a fat
#     jar, cosign's 141 MB and crane's Go binaries, a small Go program);
#   - big: one layer holding cosign padded with zeros to 500 MB (a real Go
#     binary whose file is larger than anything wharf may hold in memory;
#     the padding follows the section headers, so the ELF stays valid and
#     `go version -m` still reads it).
#
# Peak RSS is GNU time's "Maximum resident set size"; wall time is GNU
# time's too. RUNS runs each (default 3), the largest peak and the median
# wall time reported, with the package count of wharf's SBOM (the big
# layout must show cosign's modules, not an empty inventory).
#
#   benches/sbom-memory.sh              wharf from this checkout (release)
#   WHARF=/path/to/wharf benches/...    another build (an older commit)
#
# Needs scripts/java-layout.sh's prerequisites and Syft and cosign in
# $WHARF_PEERS/bin (scripts/peers.sh).
set -eu
cd "$(dirname "$0")/.."
RUNS="${RUNS:-3}"
. benches/common.sh
if [ -z "${WHARF:-}" ]; then
  cargo build --release --quiet
  WHARF="$target/release/wharf"
fi
peers="${WHARF_PEERS:-$HOME/.cache/wharf-peers}/bin"
java="$(scripts/java-layout.sh)/layout"

# The big layout: cosign padded to 500 MB, one gzip layer.
python3 - "$(readlink -f "$peers/cosign")" "$work/big" <<'PY'
import gzip, hashlib, json, os, shutil, sys, tarfile
cosign, layout = sys.argv[1:]
blobs = os.path.join(layout, "blobs", "sha256")
os.makedirs(blobs)
size = 500 * 1000 * 1000
big = os.path.join(layout, "cosign-500mb")
shutil.copyfile(cosign, big)
with open(big, "r+b") as f:
    f.truncate(size)
tar_path = os.path.join(layout, "layer.tar")
with tarfile.open(tar_path, "w") as tar:
    info = tar.gettarinfo(big, "usr/local/bin/cosign")
    info.mode, info.uid, info.gid, info.mtime = 0o755, 0, 0, 1704067200
    with open(big, "rb") as f:
        tar.addfile(info, f)
os.remove(big)
diff, gz = hashlib.sha256(), hashlib.sha256()
gz_path = tar_path + ".gz"
with open(tar_path, "rb") as src, open(gz_path, "wb") as raw, \
        gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0) as dst:
    while chunk := src.read(1 << 20):
        diff.update(chunk)
        dst.write(chunk)
os.remove(tar_path)
with open(gz_path, "rb") as f:
    while chunk := f.read(1 << 20):
        gz.update(chunk)
layer = {"digest": "sha256:" + gz.hexdigest(), "size": os.path.getsize(gz_path)}
os.rename(gz_path, os.path.join(blobs, gz.hexdigest()))
def put(data):
    d = hashlib.sha256(data).hexdigest()
    open(os.path.join(blobs, d), "wb").write(data)
    return {"digest": "sha256:" + d, "size": len(data)}
config = put(json.dumps({"architecture": "amd64", "os": "linux",
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + diff.hexdigest()]}}).encode())
manifest = put(json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **layer}]}).encode())
open(os.path.join(layout, "oci-layout"), "w").write('{"imageLayoutVersion":"1.0.0"}')
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
    **manifest, "annotations": {"org.opencontainers.image.ref.name": "big"}}]},
    open(os.path.join(layout, "index.json"), "w"))
PY

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
count() {
  python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1])).get("components", [])))' "$1"
}

# measure NAME COMMAND...: RUNS runs; prints peak RSS (max) and wall (median).
measure() {
  name="$1"
  shift
  rss=""
  wall=""
  i=0
  while [ $i -lt "$RUNS" ]; do
    /usr/bin/time -f '%M %e' -o "$work/time" "$@" >/dev/null 2>"$work/stderr" || {
      cat "$work/stderr" >&2
      exit 1
    }
    rss="$rss $(cut -d' ' -f1 "$work/time")"
    wall="$wall $(cut -d' ' -f2 "$work/time")"
    i=$((i + 1))
  done
  peak=$(echo $rss | tr ' ' '\n' | sort -n | tail -1)
  med=$(echo $wall | tr ' ' '\n' | median)
  printf '%-28s peak RSS %4d MiB (max of%s KiB), wall %s s (median)\n' \
    "$name" $((peak / 1024)) "$rss" "$med"
}

for layout in java big; do
  dir="$java"
  [ "$layout" = big ] && dir="$work/big"
  tag="$layout"
  measure "wharf sbom ($layout)" "$WHARF" sbom "oci:$dir:$tag" -o "$work/wharf-$layout.json"
  echo "  wharf: $(count "$work/wharf-$layout.json") components"
  measure "syft scan ($layout)" env SYFT_CHECK_FOR_APP_UPDATE=false HOME="$work" \
    "$peers/syft" scan "oci-dir:$dir" -q -o "cyclonedx-json=$work/syft-$layout.json"
  echo "  syft:  $(count "$work/syft-$layout.json") components"
done
