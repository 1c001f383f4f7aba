#!/usr/bin/env bash
# Benchmarks of whole commands (release build), complementing the divan
# benches (`cargo bench -p apk-format`, `cargo bench -p apk-solve`).
# Prints median wall time over N runs and peak RSS; results are recorded by
# hand in docs/BENCHMARKS.md. Usage: scripts/bench.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-20}"
fixtures="${APKFORGE_FIXTURES:-$(pwd)/../shared/fixtures}"
cargo build --release -q -p apkforge
bin="$(pwd)/target/release/apkforge"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

measure() { # label, command...
  local label="$1"; shift
  local times=() rss=0
  for _ in $(seq "$runs"); do
    local out
    /usr/bin/time -o "$work/time" -f '%e %M' "$@" >/dev/null 2>&1
    out=$(tail -1 "$work/time")
    times+=("${out% *}")
    local r="${out#* }"; [ "$r" -gt "$rss" ] && rss="$r"
  done
  printf '%-60s median %6.3f s   peak RSS %6d KB\n' "$label" "$(printf '%s\n' "${times[@]}" | median)" "$rss"
}

cfg="$work/alpine-base.yaml"
sed "s#\.\./shared/fixtures#$fixtures#g" examples/alpine-base-local.yaml > "$cfg"
# Warm the cache once.
"$bin" image build "$cfg" alpine-base:latest "$work/warm.tar" --cache-dir "$work/cache" >/dev/null 2>&1

for level in 1 6 9; do
  measure "alpine-base warm build, tar + SBOM, gzip level $level" \
    "$bin" image build "$cfg" alpine-base:latest "$work/out.tar" --cache-dir "$work/cache" --compression-level "$level"
  printf '%-60s %d bytes\n' "  layer size at level $level" "$(stat -c %s "$work/out.tar")"
done
mkdir -p "$work/layout"
measure "alpine-base warm build, OCI layout + SBOM" \
  "$bin" image build "$cfg" alpine-base:latest "$work/layout/" --cache-dir "$work/cache"
measure "verify 100 alpine-3.19 packages" \
  bash -c "\"$bin\" apk verify -k \"$fixtures/alpine-keys\" \"$fixtures\"/alpine-3.19/x86_64/*.apk"

# A trivial recipe: where the time of a package build goes.
recipe="$work/trivial.yaml"
cat > "$recipe" <<YAML
package:
  name: trivial
  version: 1.0.0
  epoch: 0
  description: a trivial package
  copyright:
    - license: MIT
environment:
  contents:
    keyring:
      - $fixtures/alpine-keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub
    repositories:
      - $fixtures/alpine-3.19
    packages:
      - busybox
pipeline:
  - runs: |
      mkdir -p \${{targets.destdir}}/usr/share/trivial
      echo hi > \${{targets.destdir}}/usr/share/trivial/hi
YAML
(cd "$work" && "$bin" keygen bench --bits 2048 >/dev/null)
"$bin" package build "$recipe" --signing-key "$work/bench.rsa" --out-dir "$work/pk" --cache-dir "$work/cache" >/dev/null 2>&1
measure "trivial recipe: package build (warm cache)" \
  "$bin" package build "$recipe" --signing-key "$work/bench.rsa" --out-dir "$work/pk" --cache-dir "$work/cache"
for _ in 1 2 3; do
  "$bin" package build "$recipe" --signing-key "$work/bench.rsa" --out-dir "$work/pk" --cache-dir "$work/cache" 2>&1 >/dev/null | grep timing | tr '\n' ' '
  echo
done
