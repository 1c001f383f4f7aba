#!/usr/bin/env bash
# The overhead of one trivial recipe's package build with each runner
# (bubblewrap, docker through podman's API service) natively and for
# aarch64 under QEMU user-mode emulation (registered as scripts/test.sh
# does), release build, warm caches: median wall time over RUNS runs,
# then one run's phases. Results are recorded by hand in docs/BENCHMARKS.md.
# Usage: scripts/bench-runners.sh [RUNS]        (as root: podman, binfmt)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-10}"
fixtures="${APKFORGE_FIXTURES:-$(pwd)/../shared/fixtures}"
fixtures="$(cd "$fixtures" && pwd)"
cargo build --release -q -p apkforge
bin="$(pwd)/target/release/apkforge"
work="$(mktemp -d)"
engine=
# podman's overlay driver mounts its storage directory on itself.
trap '[ -z "$engine" ] || { kill "$engine"; wait "$engine" 2>/dev/null || true; }
  umount "$work/engine/root/overlay" 2>/dev/null || true; rm -rf "$work"' EXIT

# podman's Docker API service with its own storage (as scripts/test.sh).
mkdir -p "$work/engine/root" "$work/engine/run" "$work/engine/tmp"
printf '[containers]\nnetns = "none"\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\nevents_logfile_path = "%s/events.log"\ntmp_dir = "%s/tmp"\n' \
  "$work/engine" "$work/engine" >"$work/engine/containers.conf"
printf '[storage]\ndriver = "overlay"\ngraphroot = "%s/root"\nrunroot = "%s/run"\n' \
  "$work/engine" "$work/engine" >"$work/engine/storage.conf"
CONTAINERS_CONF="$work/engine/containers.conf" CONTAINERS_STORAGE_CONF="$work/engine/storage.conf" \
  podman system service --time=0 "unix://$work/engine/podman.sock" >"$work/engine/log" 2>&1 &
engine=$!
for _ in $(seq 1 100); do [ -S "$work/engine/podman.sock" ] && break; sleep 0.1; done
export DOCKER_HOST="unix://$work/engine/podman.sock" SOURCE_DATE_EPOCH=1700000000

mkdir -p "$work/repo" "$work/recipe"
ln -s "$fixtures/alpine-3.19/x86_64" "$work/repo/x86_64"
ln -s "$fixtures/alpine-3.13-aarch64/aarch64" "$work/repo/aarch64"
cat >"$work/recipe/trivial.yaml" <<YAML
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
      - $fixtures/alpine-keys/alpine-devel@lists.alpinelinux.org-58199dcc.rsa.pub
    repositories:
      - $work/repo
    packages:
      - busybox
pipeline:
  - runs: |
      mkdir -p \${{targets.destdir}}/usr/share/trivial
      echo hi > \${{targets.destdir}}/usr/share/trivial/hi
YAML
(cd "$work" && "$bin" keygen bench --bits 2048 >/dev/null)

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for arch in x86_64 aarch64; do
  for runner in bubblewrap docker; do
    build=("$bin" package build "$work/recipe/trivial.yaml" --arch "$arch" --runner "$runner"
      --signing-key "$work/bench.rsa" --out-dir "$work/pk-$runner" --apk-cache-dir "$work/cache")
    "${build[@]}" >/dev/null 2>&1 # warm: environment (and its image) made once
    times=()
    for _ in $(seq "$runs"); do
      /usr/bin/time -o "$work/time" -f '%e' "${build[@]}" >/dev/null 2>&1
      times+=("$(tail -1 "$work/time")")
    done
    printf '%-8s %-11s median %6.3f s   ' "$arch" "$runner" "$(printf '%s\n' "${times[@]}" | median)"
    "${build[@]}" 2>&1 >/dev/null | grep timing | sed 's/^ *//'
  done
done
