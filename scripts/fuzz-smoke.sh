#!/usr/bin/env bash
# Runs every fuzz target for a short, bounded time (CI): builds them once,
# then scripts/fuzz.sh TARGET SECONDS for each, one at a time. Fails on the
# first finding; the input is left in fuzz/artifacts/TARGET/.
#
#   scripts/fuzz-smoke.sh [SECONDS]     (default 20 per target)
set -euo pipefail
seconds=${1:-20}
repo=$(cd "$(dirname "$0")/.." && pwd)
targets=(version apkindex installed pkginfo package adb_package adb_index lock recipe image_config)

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
(cd "$repo/fuzz" && RUSTC_BOOTSTRAP=1 cargo fuzz build -s none)
for t in "${targets[@]}"; do
    echo "fuzz-smoke: $t for ${seconds}s"
    "$repo/scripts/fuzz.sh" "$t" "$seconds"
done
