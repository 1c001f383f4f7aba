#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine, then runs it.
# Usage: scripts/test.sh            (from anywhere inside the repository)
# Fixtures are read from ../shared/fixtures, or $APKFORGE_FIXTURES.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
for tool in tar gzip; do
  command -v "$tool" >/dev/null 2>&1 || need_apt+=("$tool")
done
if [ "${#need_apt[@]}" -gt 0 ]; then
  apt-get -o DPkg::Lock::Timeout=600 update
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y "${need_apt[@]}"
fi

fixtures="${APKFORGE_FIXTURES:-$(pwd)/../shared/fixtures}"
if [ ! -d "$fixtures" ]; then
  echo "test.sh: fixtures not found at $fixtures (set APKFORGE_FIXTURES)" >&2
  exit 1
fi
export APKFORGE_FIXTURES="$(cd "$fixtures" && pwd)"

cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace
