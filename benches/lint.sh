#!/bin/sh
# Benchmark of `wharf lint`: a generated corpus of 2,000 Dockerfiles (each
# ~40 lines: two or three stages, global and stage ARGs, continuations,
# heredocs, apt/apk/pip installs, COPY --from, a mix of clean and faulty
# lines) and one 20,000-line Dockerfile (1,000 stages), linted to JSON.
# Median of RUNS warm runs, peak RSS from GNU time.
#
# PROFILE=dev measures the debug build instead of building a release one
# (for a shared machine; the figure is then an upper bound).
set -eu
cd "$(dirname "$0")/.."
RUNS="${RUNS:-5}"
PROFILE="${PROFILE:-release}"
. benches/common.sh
if [ "$PROFILE" = release ]; then
  cargo build --release --quiet
  wharf="$target/release/wharf"
else
  cargo build --quiet
  wharf="$target/debug/wharf"
fi

python3 - "$work" <<'PY'
import os, random, sys
work = sys.argv[1]
rng = random.Random(8)
D = "sha256:" + "ab" * 32
bases = ["golang:1.22", f"golang:1.22@{D}", "rust:1.82", "node:22-slim", f"python:3.12-slim@{D}", "debian:12", "alpine:3.20"]
finals = ["scratch", f"gcr.io/distroless/static-debian12@{D}", "debian:12-slim", f"cgr.dev/chainguard/static@{D}", "alpine:3.20", "ubuntu"]

def dockerfile(i):
    out = ["# syntax=docker/dockerfile:1", f"ARG VERSION=1.{i % 30}", "ARG BASE=" + rng.choice(bases), ""]
    for s in range(rng.choice([1, 2])):
        out += [f"FROM ${{BASE}} AS build{s}", "ARG VERSION", "WORKDIR /src", "COPY go.mod go.sum ./",
                "RUN --mount=type=cache,target=/go/pkg/mod \\", "    go mod download", "COPY . .",
                rng.choice(["ENV CGO_ENABLED=0", "ENV GOFLAGS=-mod=readonly"]),
                "RUN apt-get update \\", "  # tools for the build", "  && apt-get install -y gcc make \\",
                "  && rm -rf /var/lib/apt/lists/*",
                "RUN <<EOF", "set -eux", f"go build -ldflags=\"-X main.version=${{VERSION}}\" -o /out/app{s} ./cmd/app",
                "EOF", ""]
    out += [f"FROM {rng.choice(finals)}",
            rng.choice(["RUN apk add curl", "RUN pip install --no-cache-dir flask", "COPY --from=build0 /src /app",
                        "ADD https://example.com/a.tgz /opt/", "RUN curl -fsSL https://x | sh"]),
            "COPY --from=build0 /out/app0 /app",
            rng.choice(["USER 65532:65532", "USER root", "# no user"]),
            rng.choice(['ENTRYPOINT ["/app"]', "CMD /app --serve"])]
    return "\n".join(out) + "\n"

corpus = os.path.join(work, "corpus")
lines = 0
for i in range(2000):
    d = os.path.join(corpus, f"svc{i // 100:02}", f"app{i:04}")
    os.makedirs(d)
    text = dockerfile(i)
    lines += text.count("\n")
    open(os.path.join(d, "Dockerfile"), "w").write(text)
print(f"corpus: 2,000 Dockerfiles, {lines} lines")

big = []
for s in range(1000):
    big += [f"FROM golang:1.22 AS s{s}", "ARG V", "WORKDIR /src", f"COPY --from=s{max(s - 1, 0)} /out /in",
            "RUN apt-get update \\", "  && apt-get install -y --no-install-recommends gcc \\",
            "  && rm -rf /var/lib/apt/lists/*", "RUN <<EOF", "set -e", f"go build -o /out/s{s} ./...", "EOF",
            "ENV CGO_ENABLED=0 A=1 B=2", "# a comment", "USER 1000", "", "HEALTHCHECK NONE",
            "LABEL stage=" + str(s), "EXPOSE 8080", "CMD [\"/out\"]", ""]
open(os.path.join(work, "Big.Dockerfile"), "w").write("\n".join(big) + "\n")
print(f"big: one Dockerfile of {len(big)} lines")
PY

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ms() { python3 -c 'import time; print(int(time.monotonic()*1000))'; }
bench() { # $1: label, rest: args
  label="$1"; shift
  : > "$work/times"; : > "$work/rsss"
  i=0
  while [ "$i" -lt "$RUNS" ]; do
    t0=$(ms)
    /usr/bin/time -f '%M' -o "$work/rss" "$wharf" lint --format json -o "$work/out.json" "$@" 2>/dev/null || true
    t1=$(ms)
    echo $((t1 - t0)) >> "$work/times"; cat "$work/rss" >> "$work/rsss"
    i=$((i + 1))
  done
  findings=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(len(d['findings']))" "$work/out.json")
  echo "$label: median $(median < "$work/times") ms, peak RSS $(($(sort -n "$work/rsss" | tail -1) / 1024)) MiB, $findings findings ($PROFILE build, $RUNS runs)"
}
bench "2,000 Dockerfiles" "$work/corpus"
bench "one 20,000-line Dockerfile" "$work/Big.Dockerfile"
