#!/usr/bin/env bash
# Recipe trees with the release binary:
#  1. `package graph` over every Wolfi recipe (../shared/fixtures/wolfi-os):
#     wall, CPU and peak RSS of the fastest of RUNS runs, and the graph's
#     summary (recipes, edges, levels, cycles, longest chain);
#  2. `package build-tree` of the test tree (crates/apkforge/tests/data/tree/
#     good, 8 shell-only recipes): the first build, then a no-op rerun (the
#     fastest of RUNS), scaled to 10 recipes.
# Usage: scripts/bench-tree.sh [RUNS]     (the binary: $APKFORGE_BIN or a
# fresh `cargo build --release`)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
fixtures="${APKFORGE_FIXTURES:-$(pwd)/../shared/fixtures}"
fixtures="$(cd "$fixtures" && pwd)"
if [ -z "${APKFORGE_BIN:-}" ]; then
  cargo build --release -q -p apkforge
  APKFORGE_BIN="$(pwd)/target/release/apkforge"
fi
bin="$APKFORGE_BIN"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Runs "$@" RUNS times; prints the fastest run's "wall_s user_s sys_s max_kb".
fastest() {
  local best="" line
  for _ in $(seq 1 "$runs"); do
    /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$@" >"$work/out" 2>"$work/err" \
      || { cat "$work/err" >&2; exit 1; }
    line="$(tail -1 "$work/time")"
    if [ -z "$best" ] || awk -v a="${line%% *}" -v b="${best%% *}" 'BEGIN { exit !(a < b) }'; then
      best="$line"
    fi
  done
  echo "$best"
}

wolfi="$fixtures/wolfi-os"
read -r wall user sys kb < <(fastest "$bin" package graph "$wolfi/recipes" \
  --pipeline-dir "$wolfi/pipelines" --arch x86_64)
echo "wolfi graph: ${wall} s wall, ${user} s user, ${sys} s sys, $((kb / 1024)) MB peak"
head -2 "$work/out"

tree="$work/tree"
mkdir -p "$tree/good"
cp crates/apkforge/tests/data/tree/good/*.yaml "$tree/good/"
recipes="$(ls "$tree/good" | wc -l)"
(cd "$tree" && "$bin" keygen test --bits 2048 >/dev/null)
flags=(--signing-key test.rsa -r "$fixtures/alpine-3.19"
  -k "$fixtures/alpine-keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub"
  --apk-cache-dir cache)
export SOURCE_DATE_EPOCH=1700000000
cd "$tree"
/usr/bin/time -f '%e' -o "$work/first" "$bin" package build-tree good -j 2 "${flags[@]}" >/dev/null 2>&1
echo "test tree: first build of $recipes recipes (-j 2): $(cat "$work/first") s"
read -r wall user sys kb < <(fastest "$bin" package build-tree good "${flags[@]}")
grep -q "^0 built, $recipes up to date" "$work/out" \
  || { echo "the rerun built something:" >&2; cat "$work/out" >&2; exit 1; }
per10="$(awk -v w="$wall" -v n="$recipes" 'BEGIN { printf "%.0f", w * 1000 * 10 / n }')"
echo "test tree: no-op rerun ${wall} s wall (${user} s user, ${sys} s sys, $((kb / 1024)) MB peak), ${per10} ms per 10 recipes"
