#!/usr/bin/env bash
# Build the Go peers the tests run against (real Sigstore services, cosign,
# crane, a registry with the OCI 1.1 referrers API, the admission engines
# Kyverno and policy-controller's tester, and the inventory and matching
# peers Syft and osv-scanner) from the Go module proxy,
# at pinned versions, into a cache reused between runs.
#
#   scripts/peers.sh            build what is missing, print each build's time
#
# The cache is $WHARF_PEERS (default $HOME/.cache/wharf-peers): one folder per
# peer and version, so changing a pin builds only that peer again. Without Go
# it says so and exits 0; the tests then skip the peer cells (outside CI).
set -euo pipefail
exec </dev/null
cd "$(dirname "$0")/.."
root="$(pwd)"
cache="${WHARF_PEERS:-$HOME/.cache/wharf-peers}"
export GOFLAGS="${GOFLAGS:--buildvcs=false}"
export GOTOOLCHAIN=local

if ! command -v go >/dev/null; then
  echo "peers: no Go on this machine; the interop tests will skip (CI fails instead)"
  exit 0
fi
mkdir -p "$cache/bin"

# name  module@version  package path inside the module  binary
peers=(
  "cosign github.com/sigstore/cosign/v3@v3.1.2 ./cmd/cosign cosign"
  "fulcio github.com/sigstore/fulcio@v1.8.8 . fulcio"
  "rekor-tiles github.com/sigstore/rekor-tiles/v2@v2.3.0 ./cmd/rekor-server/posix rekor-posix"
  "timestamp-authority github.com/sigstore/timestamp-authority/v2@v2.1.3 ./cmd/timestamp-server timestamp-server"
  "crane github.com/google/go-containerregistry@v0.22.1 ./cmd/crane crane"
  "tesseract github.com/transparency-dev/tesseract@v0.1.1 ./cmd/tesseract/posix tesseract"
  "kyverno github.com/kyverno/kyverno@v1.19.0 ./cmd/cli/kubectl-kyverno kyverno"
  "policy-controller github.com/sigstore/policy-controller@v0.15.1 ./cmd/tester policy-tester"
  "osv-scanner github.com/google/osv-scanner/v2@v2.5.0 ./cmd/osv-scanner osv-scanner"
  "syft github.com/anchore/syft@v1.57.2 ./cmd/syft syft"
)

# What a module needs before it builds here, run inside its copy.
prepare() {
  case "$1" in
    policy-controller)
      # The tester asks its TUF client for target "" where the in-cluster
      # reconciler asks for trusted_root.json (and then falls back to
      # legacy targets: "no certificate authorities found"); build it with
      # the reconciler's argument.
      sed -i 's/trustroot.GetSigstoreKeysFromTuf(ctx, client, "")/trustroot.GetSigstoreKeysFromTuf(ctx, client, "trusted_root.json")/' cmd/tester/trustroot.go
      grep -q 'GetSigstoreKeysFromTuf(ctx, client, "trusted_root.json")' cmd/tester/trustroot.go
      # go.mod pins pseudo-versions of these two that the proxy does not
      # serve; this one it does.
      for m in k8schain kubernetes; do
        go mod edit -replace "github.com/google/go-containerregistry/pkg/authn/$m=github.com/google/go-containerregistry/pkg/authn/$m@v0.0.0-20260205022027-93aa2732266a"
      done
      export GOFLAGS="$GOFLAGS -mod=mod"
      ;;
  esac
}

total_start=$SECONDS
for line in "${peers[@]}"; do
  read -r name modver pkg bin <<<"$line"
  dir="$cache/$name-${modver##*@}"
  if [ -x "$dir/$bin" ]; then
    ln -sfn "$dir/$bin" "$cache/bin/$bin"
    continue
  fi
  start=$SECONDS
  echo "peers: building $bin from $modver"
  # Build inside a copy of the module, as its own main module: its go.mod's
  # replace directives then apply (go install mod@v refuses them), and its
  # go.sum pins every dependency.
  src="$(go mod download -json "$modver" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
  work="$(mktemp -d)"
  cp -r "$src/." "$work/"
  chmod -R u+w "$work"
  (cd "$work" && prepare "$name" && go build -trimpath -o "$dir.tmp/$bin" "$pkg")
  # Fulcio's own identity configuration is the base of the fixture's config.
  if [ "$name" = fulcio ]; then cp "$src/config/identity/config.yaml" "$dir.tmp/identity-config.yaml"; fi
  rm -rf "$work" "$dir"
  mv "$dir.tmp" "$dir"
  ln -sfn "$dir/$bin" "$cache/bin/$bin"
  echo "peers: $bin built in $((SECONDS - start)) s"
done
ln -sfn "$cache/fulcio-v1.8.8/identity-config.yaml" "$cache/bin/fulcio-identity-config.yaml"

# The registry with the referrers API: a small program in this repository.
sum="$(cat tests/peers/ocireg/go.mod tests/peers/ocireg/go.sum tests/peers/ocireg/*.go | sha256sum | cut -c1-16)"
dir="$cache/ocireg-$sum"
if [ ! -x "$dir/ocireg" ]; then
  start=$SECONDS
  echo "peers: building ocireg (tests/peers/ocireg)"
  (cd tests/peers/ocireg && go build -trimpath -o "$dir.tmp/ocireg" .)
  rm -rf "$dir"; mv "$dir.tmp" "$dir"
  echo "peers: ocireg built in $((SECONDS - start)) s"
fi
ln -sfn "$dir/ocireg" "$cache/bin/ocireg"
echo "peers: ready in $cache/bin ($((SECONDS - total_start)) s)"
