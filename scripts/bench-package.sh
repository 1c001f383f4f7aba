#!/usr/bin/env bash
# Times the C library build of crates/apkforge/tests/package_compiler.rs
# (libgreet from a loopback git server, zig cc from a package, Wolfi-shaped
# recipe) with a release build, split into environment, sources, steps and
# packaging. The test builds twice per run; the second build of each run
# has warm caches. Usage: scripts/bench-package.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
export APKFORGE_FIXTURES="${APKFORGE_FIXTURES:-$(pwd)/../shared/fixtures}"
for _ in $(seq "$runs"); do
  cargo test --release -q -p apkforge --test package_compiler -- --nocapture 2>/dev/null |
    grep -F 'libgreet build (again)'
done
