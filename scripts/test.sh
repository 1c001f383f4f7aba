#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine, then runs it.
# Usage: scripts/test.sh            (from anywhere inside the repository)
# Fixtures are read from ../shared/fixtures, or $APKFORGE_FIXTURES.
set -euo pipefail
cd "$(dirname "$0")/.."

# System tools the end-to-end tests drive: container runtimes and image
# tools (runc, umoci, skopeo, podman), a registry, and basic utilities.
need_apt=()
for pair in tar:tar gzip:gzip runc:runc umoci:umoci skopeo:skopeo busybox:busybox-static \
            podman:podman docker-registry:docker-registry htpasswd:apache2-utils bwrap:bubblewrap \
            openssl:openssl git:git; do
  tool="${pair%%:*}" pkg="${pair#*:}"
  command -v "$tool" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ "${#need_apt[@]}" -gt 0 ]; then
  apt-get -o DPkg::Lock::Timeout=600 update
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${need_apt[@]}"
fi
# The official SPDX validator and the CycloneDX schema check our SBOMs.
command -v pyspdxtools >/dev/null 2>&1 || python3 -m pip install --quiet spdx-tools
python3 -c 'import cyclonedx.validation.json' 2>/dev/null || python3 -m pip install --quiet 'cyclonedx-python-lib[json-validation]'

fixtures="${APKFORGE_FIXTURES:-$(pwd)/../shared/fixtures}"
if [ ! -d "$fixtures" ]; then
  echo "test.sh: fixtures not found at $fixtures (set APKFORGE_FIXTURES)" >&2
  exit 1
fi
export APKFORGE_FIXTURES="$(cd "$fixtures" && pwd)"

cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace
