# Sourced by the benchmark scripts, from the repository root: $target is
# cargo's target directory (CARGO_TARGET_DIR honoured), $work a temporary
# directory removed when the script exits.
target="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
