#!/bin/sh
# Benchmark of `wharf promote --no-verify`: a 10,000-service Helm values file
# (1.5 MB; every third service the promoted image, as a string, a
# {repository, tag} map or a Bitnami map, with comments and decoys) plus a
# 3,000-document manifest file (0.7 MB). Median of RUNS runs of `--check`,
# the diff and `--write` (on a fresh copy each time); peak RSS from GNU time.
# Verification is left out: it is one registry round trip plus one bundle
# check, measured with `wharf verify`.
set -eu
cd "$(dirname "$0")/.."
RUNS="${RUNS:-5}"
cargo build --release --quiet
. benches/common.sh
wharf="$target/release/wharf"

python3 - "$work" <<'PY'
import sys
work = sys.argv[1]
v = ["# generated values\n"]
for i in range(10000):
    v.append(f"svc{i}:\n  # service {i}\n")
    if i % 3 == 0:
        v.append(f"  image: ghcr.io/acme/app:1.{i % 50}  # {{\"$imagepolicy\": \"flux:svc{i}\"}}\n")
    elif i % 3 == 1:
        v.append(f"  image:\n    repository: ghcr.io/acme/app\n    tag: \"1.{i % 50}\"\n    pullPolicy: IfNotPresent\n")
    else:
        v.append(f"  image:\n    registry: ghcr.io\n    repository: acme/other\n    tag: v{i}\n    digest: \"\"\n")
    v.append(f"  replicas: {i % 7}\n  env: {{LEVEL: info, RATIO: 1.10}}\n\n")
open(f"{work}/values.yaml", "w").write("".join(v))
m = []
for i in range(3000):
    m.append(f"---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d{i}\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: ghcr.io/acme/app:1.0\n        - name: proxy\n          image: envoyproxy/envoy:v1.30\n")
open(f"{work}/manifests.yaml", "w").write("".join(m))
PY
image="ghcr.io/acme/app:2.0@sha256:$(printf '%064d' 7)"
ls -l "$work/values.yaml" "$work/manifests.yaml" | awk '{print $5, $9}'

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
measure() { # label, then the command
    label="$1"; shift
    for _ in $(seq "$RUNS"); do
        cp "$work/values.yaml" "$work/v.yaml"; cp "$work/manifests.yaml" "$work/m.yaml"
        /usr/bin/time -q -f "%e %M" -o "$work/time" "$@" "$work/v.yaml" "$work/m.yaml" >/dev/null 2>&1 || true
        cat "$work/time"
    done > "$work/runs"
    secs=$(cut -d' ' -f1 "$work/runs" | median)
    kib=$(cut -d' ' -f2 "$work/runs" | sort -n | tail -1)
    echo "$label: median ${secs}s, peak RSS $((kib / 1024)) MiB"
}
measure "--check" "$wharf" promote "$image" --check
measure "diff   " "$wharf" promote "$image" --no-verify
measure "--write" "$wharf" promote "$image" --no-verify --write
