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
# What is inside: reading a built image back, explaining a package.
cp -r "$work/layout" "$work/layout2"
measure "image size of the alpine-base layout" \
  "$bin" image size "$work/layout"
measure "image diff --files of two alpine-base layouts" \
  "$bin" image diff "$work/layout" "$work/layout2" --files
measure "image why alpine-base ifupdown-ng (warm index cache)" \
  "$bin" image why "$cfg" ifupdown-ng --cache-dir "$work/cache"
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

# Memory must not grow with image size: an image holding one incompressible
# file of BIG_MB MiB (default 512; 0 skips).
big_mb="${BIG_MB:-512}"
if [ "$big_mb" -gt 0 ]; then
  big="$work/big"
  mkdir -p "$big/tree/usr/share/big" "$big/repo/x86_64"
  head -c "$((big_mb << 20))" /dev/urandom > "$big/tree/usr/share/big/blob"
  (cd "$big" && "$bin" keygen big --bits 2048 >/dev/null)
  /usr/bin/time -o "$work/time" -f '%e %M' "$bin" apk pack "$big/tree" -o "$big/repo/x86_64/big-1.0-r0.apk" \
    --name big --version 1.0-r0 --arch x86_64 --signing-key "$big/big.rsa" >/dev/null
  printf '%-60s %6.2f s   peak RSS %6d KB\n' "apk pack of a ${big_mb} MiB tree" $(cat "$work/time")
  "$bin" index -o "$big/repo/x86_64/APKINDEX.tar.gz" --signing-key "$big/big.rsa" "$big/repo/x86_64/big-1.0-r0.apk" >/dev/null
  printf 'contents:\n  keyring: [%s]\n  repositories: [%s]\n  packages: [big]\narchs: [x86_64]\n' "$big/big.rsa.pub" "$big/repo" > "$big/big.yaml"
  for run in cold warm; do
    /usr/bin/time -o "$work/time" -f '%e %M' "$bin" image build "$big/big.yaml" big:1 "$big/big.tar" --cache-dir "$big/cache" >/dev/null 2>&1
    printf '%-60s %6.2f s   peak RSS %6d KB\n' "image build of a ${big_mb} MiB image ($run cache)" $(cat "$work/time")
  done
fi
