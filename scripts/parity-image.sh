#!/usr/bin/env bash
# Build the real image the parity tests (tests/it/parity.rs) judge wharf
# against Syft and osv-scanner on, and cache it: a Debian 12 root made by
# debootstrap from Debian's packages, with what a service image carries on top
# of it, each installed by its own ecosystem's client:
#
#   - dpkg: debootstrap --variant=minbase, plus python3, python3-pip (so
#     Debian owns pip, setuptools and wheel under /usr/lib/python3/
#     dist-packages) and two Go programs Debian builds, age and shfmt;
#   - PyPI: an old, vulnerable Django stack, `pip install --target` into
#     /usr/local/lib/python3.11/dist-packages (where Debian's python3.11
#     looks, and where its pip installs);
#   - npm: an old express/lodash/axios tree, `npm install --ignore-scripts`
#     in /srv/app;
#   - Go modules: crane from $WHARF_PEERS (built by scripts/peers.sh, in
#     module mode, so its build info lists every module) and a small program
#     built here against golang.org/x/text v0.3.5 (with Go advisories);
#   - crates.io: a small program built with cargo-auditable, which embeds its
#     dependency tree (smallvec 1.6.0, with a RustSec advisory).
#
# It is packed as an OCI image layout (one gzip layer, added with umoci).
# The ground truth the tests compare with is read from the root itself
# (dpkg-query, dist-info METADATA, package.json), so the root is kept too.
#
#   scripts/parity-image.sh     build when missing; print the cache folder
#
# The folder is $WHARF_PARITY (default $HOME/.cache/wharf-parity)/<hash of
# this script>: root/ (the file system), layout/ (the OCI layout, tag
# `parity`). Changing this script builds a new one; a warm run prints the
# folder at once. Cold it takes a few minutes (debootstrap dominates). It
# needs root (debootstrap), Go, the network to Debian's, PyPI's, npm's,
# crates.io's and Go's registries, and crane in $WHARF_PEERS/bin.
set -euo pipefail
export PIP_ROOT_USER_ACTION=ignore
exec </dev/null
cd "$(dirname "$0")/.."
root_dir="$(pwd)"

version="$(sha256sum scripts/parity-image.sh | cut -c1-16)"
base="${WHARF_PARITY:-$HOME/.cache/wharf-parity}"
out="$base/$version"
peers="${WHARF_PEERS:-$HOME/.cache/wharf-peers}/bin"
mkdir -p "$base"

# Two tests may ask at once: one builds, the other waits for it.
exec 9>"$base/lock"
flock 9
if [ -f "$out/done" ]; then
  echo "$out"
  exit 0
fi

for tool in debootstrap umoci npm cargo go; do
  if ! command -v "$tool" >/dev/null; then
    echo "parity-image: needs $tool (.ci/run installs it)" >&2
    exit 2
  fi
done
if [ ! -x "$peers/crane" ]; then
  echo "parity-image: needs crane in $peers (run scripts/peers.sh)" >&2
  exit 2
fi

start=$SECONDS
say() { echo "parity-image: $* ($((SECONDS - start)) s)" >&2; }
rm -rf "$out.tmp"
mkdir -p "$out.tmp"
root="$out.tmp/root"

# --- dpkg -------------------------------------------------------------------
say "debootstrap bookworm"
debootstrap --variant=minbase --include=python3,python3-pip,age,shfmt \
  bookworm "$root" http://deb.debian.org/debian >"$out.tmp/debootstrap.log" 2>&1 || {
  tail -20 "$out.tmp/debootstrap.log" >&2
  exit 2
}
# What a built image does not carry: downloaded .debs and apt's lists.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*

# --- PyPI -------------------------------------------------------------------
# Installed for bookworm's python3.11 without running it: --target with the
# wheels pip would pick there. No wheel of these versions needs building,
# except as noted.
say "pip install"
site="$root/usr/local/lib/python3.11/dist-packages"
# The venv .ci/run makes has a pip of its own (Debian's python3 refuses
# to install outside one); otherwise this machine's python3.
python="${WHARF_VENV:-$HOME/.cache/wharf-venv}/bin/python"
[ -x "$python" ] || python=python3
pip_target=("$python" -m pip install -q --disable-pip-version-check --no-deps --no-compile
  --target "$site" --only-binary=:all: --implementation cp)
"${pip_target[@]}" --python-version 3.11 --abi cp311 --abi abi3 --abi none \
  --platform manylinux2014_x86_64 --platform manylinux2010_x86_64 --platform manylinux1_x86_64 \
  Django==3.2.0 requests==2.25.0 urllib3==1.26.4 Jinja2==2.11.2 cryptography==3.3.2 \
  certifi==2020.12.5 sqlparse==0.4.1
# Pillow 8.1.0 has no wheel for 3.11 (its newest is cp39): the cp39 one, as
# pip on a 3.9 interpreter would install it. Its metadata is what scanners
# read; importing it would need that interpreter.
"${pip_target[@]}" --python-version 3.9 --abi cp39 --platform manylinux1_x86_64 Pillow==8.1.0
# PyYAML 5.3.1 ships only an sdist for Linux: built into a wheel here, then
# installed from it like the others.
wheels="$out.tmp/wheels"
"$python" -m pip wheel -q --disable-pip-version-check --no-deps --no-binary=:all: \
  -w "$wheels" PyYAML==5.3.1
"$python" -m pip install -q --disable-pip-version-check --no-deps --no-compile \
  --target "$site" "$wheels"/*.whl
rm -rf "$wheels" "$site/bin"

# --- npm --------------------------------------------------------------------
say "npm install"
app="$root/srv/app"
mkdir -p "$app"
cat >"$app/package.json" <<'EOF'
{
  "name": "parity-app",
  "version": "1.0.0",
  "private": true
}
EOF
(cd "$app" && npm install --silent --ignore-scripts --no-audit --no-fund --save-exact \
  express@4.17.1 lodash@4.17.15 minimist@1.2.0 axios@0.21.0 node-fetch@2.6.0)

# --- Go modules -------------------------------------------------------------
say "crane"
install -m 0755 "$(readlink -f "$peers/crane")" "$root/usr/local/bin/crane"

# A program of our own, built in module mode against an old golang.org/x/text
# (with Go advisories), as an application image's Go binary is.
say "go build"
goapp="$out.tmp/goapp"
mkdir -p "$goapp"
cat >"$goapp/go.mod" <<'EOF'
module example.com/parity-goapp

go 1.21

require golang.org/x/text v0.3.5
EOF
cat >"$goapp/main.go" <<'EOF'
package main

import (
	"fmt"

	"golang.org/x/text/language"
)

func main() { fmt.Println(language.English) }
EOF
(cd "$goapp" && export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false && go mod tidy &&
  go build -trimpath -o "$root/usr/local/bin/parity-goapp" .)
rm -rf "$goapp"

# --- crates.io --------------------------------------------------------------
# cargo-auditable embeds the dependency tree in a `.dep-v0` section, which
# both wharf and Syft read.
say "cargo auditable build"
tools="$base/tools"
if [ ! -x "$tools/bin/cargo-auditable" ]; then
  CARGO_TARGET_DIR="$base/tools-target" cargo install -q --locked --root "$tools" \
    cargo-auditable@0.7.7
  rm -rf "$base/tools-target"
fi
crate="$out.tmp/rustapp"
mkdir -p "$crate/src"
cat >"$crate/Cargo.toml" <<'EOF'
[package]
name = "parity-rustapp"
version = "0.1.0"
edition = "2021"

[dependencies]
smallvec = "=1.6.0"
EOF
cat >"$crate/src/main.rs" <<'EOF'
fn main() {
    let v: smallvec::SmallVec<[u8; 4]> = std::env::args().map(|a| a.len() as u8).collect();
    println!("{}", v.len());
}
EOF
(cd "$crate" && PATH="$tools/bin:$PATH" CARGO_TARGET_DIR="$crate/target" \
  cargo auditable build -q --release)
install -m 0755 "$crate/target/release/parity-rustapp" "$root/usr/local/bin/parity-rustapp"
rm -rf "$crate"

# --- pack -------------------------------------------------------------------
say "pack"
layout="$out.tmp/layout"
umoci init --layout "$layout"
umoci new --image "$layout:parity"
# One layer of the root as it is (device nodes, /proc and /sys left out: a
# build's layer has none).
tar -C "$root" --numeric-owner --exclude=./dev/* --exclude=./proc/* --exclude=./sys/* \
  -cf "$out.tmp/layer.tar" .
umoci raw add-layer --image "$layout:parity" "$out.tmp/layer.tar"
umoci config --image "$layout:parity" --os linux --architecture amd64 \
  --config.cmd /usr/bin/python3
rm -f "$out.tmp/layer.tar"
umoci gc --layout "$layout"

date -u +%FT%TZ >"$out.tmp/done"
rm -rf "$out"
mv "$out.tmp" "$out"
# Older versions of this image are no longer read.
for old in "$base"/*/; do
  case "$old" in "$out/" | "$base/tools/") ;; *) rm -rf "$old" ;; esac
done
say "built $out"
echo "$out"
