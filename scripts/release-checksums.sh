#!/usr/bin/env bash
# Regenerates action.yml's checksum table (.github/wharf-checksums.txt) for
# one wharf release. Run at release, once the binaries are built and
# uploaded to a draft release; commit the table, then tag that commit and
# publish, so that the action at a release tag lists exactly the binaries of
# that release (docs/action.md, "At release").
#
#   scripts/release-checksums.sh VERSION DIR [TABLE]
#
# VERSION  the release, 0.1.0 or v0.1.0 (its tag is v0.1.0)
# DIR      the release's sha256 files, one per binary archive, e.g.
#            gh release download v0.1.0 --pattern '*.sha256' --dir DIR
#          (add --pattern '*.tar.gz' to have each archive re-hashed and
#          checked against its sha256 file too)
# TABLE    default: .github/wharf-checksums.txt of the repository holding this script
#
# The release contract this relies on, and action.yml's install step with it:
#   asset    wharf-vVERSION-TARGET.tar.gz, holding wharf-vVERSION-TARGET/wharf
#   sidecar  wharf-vVERSION-TARGET.tar.gz.sha256, sha256sum's output for it
#   TARGET   x86_64-unknown-linux-gnu, aarch64-unknown-linux-gnu,
#            x86_64-apple-darwin, aarch64-apple-darwin
#
# Entries of other versions stay; this version's are replaced. A target the
# release lacks is reported (the action tells its users to build from
# source); a sha256 file for an unknown target, a malformed one, or one that
# disagrees with its archive is an error and the table is left unchanged.
set -euo pipefail

targets=(x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu x86_64-apple-darwin aarch64-apple-darwin)

die() {
  echo "release-checksums: $*" >&2
  exit 2
}

[ $# -ge 2 ] && [ $# -le 3 ] || die "usage: $0 VERSION DIR [TABLE]"
version="v${1#v}"
dir="$2"
table="${3:-$(cd "$(dirname "$0")/.." && pwd)/.github/wharf-checksums.txt}"
[[ $version =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$ ]] \
  || die "VERSION must look like 0.1.0 or v0.1.0, not '$1'"
[ -d "$dir" ] || die "$dir is not a directory"

known=" "
new=()
for target in "${targets[@]}"; do
  asset="wharf-$version-$target.tar.gz"
  known+="$asset.sha256 "
  sidecar="$dir/$asset.sha256"
  if [ ! -f "$sidecar" ]; then
    echo "release-checksums: warning: no $asset.sha256 in $dir; the action will have no binary for $target" >&2
    continue
  fi
  # sha256sum's format: HEX, two spaces (or space and `*`), the file name.
  [ "$(grep -c . "$sidecar")" = 1 ] || die "$sidecar must hold exactly one line"
  read -r sum name rest <"$sidecar" || [ -n "${sum:-}" ] || die "$sidecar is empty"
  sum=$(printf '%s' "$sum" | tr 'A-F' 'a-f')
  [[ $sum =~ ^[0-9a-f]{64}$ ]] || die "$sidecar does not start with a sha256"
  name="${name#\*}"
  [ -z "$name" ] || [ "$name" = "$asset" ] || die "$sidecar names $name, not $asset"
  [ -z "${rest:-}" ] || die "$sidecar has more than a sha256 and a file name"
  if [ -f "$dir/$asset" ]; then
    actual=$(sha256sum "$dir/$asset")
    [ "${actual%% *}" = "$sum" ] || die "$dir/$asset has sha256 ${actual%% *}, but $sidecar says $sum"
  fi
  new+=("$sum  $asset")
done

for sidecar in "$dir/wharf-$version-"*.sha256; do
  [ -e "$sidecar" ] || continue
  case "$known" in
    *" ${sidecar##*/} "*) ;;
    *) die "${sidecar##*/} is for no target the action knows (${targets[*]}); add the target to action.yml and this script first" ;;
  esac
done
[ ${#new[@]} -gt 0 ] || die "no sha256 files for $version in $dir"

# Other versions' entries, minus any earlier ones for this version.
old=()
if [ -f "$table" ]; then
  while IFS= read -r line; do
    case "$line" in '#'* | '') continue ;; esac
    keep=1
    for target in "${targets[@]}"; do
      [ "${line#*  }" != "wharf-$version-$target.tar.gz" ] || keep=0
    done
    [ $keep = 0 ] || old+=("$line")
  done <"$table"
fi

tmp=$(mktemp "$table.XXXXXX")
trap 'rm -f "$tmp"' EXIT
{
  echo "# sha256 of every released wharf binary archive that action.yml may install,"
  echo "# in sha256sum's format: \"<sha256>  wharf-vVERSION-TARGET.tar.gz\"."
  echo "# Written by scripts/release-checksums.sh at release; do not edit by hand."
  printf '%s\n' "${old[@]+"${old[@]}"}" "${new[@]}" | LC_ALL=C sort -k2,2
} >"$tmp"
chmod 644 "$tmp"
mv -f "$tmp" "$table"
trap - EXIT
echo "release-checksums: $table lists ${#new[@]} binaries for $version" >&2
