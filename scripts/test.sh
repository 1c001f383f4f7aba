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
            openssl:openssl git:git patch:patch keytool:openjdk-17-jre-headless curl:curl \
            qemu-aarch64-static:qemu-user-static; do
  tool="${pair%%:*}" pkg="${pair#*:}"
  command -v "$tool" >/dev/null 2>&1 || need_apt+=("$pkg")
done
# GNU time measures peak memory in the benchmark scripts (smoke run below).
[ -x /usr/bin/time ] || need_apt+=(time)
if [ "${#need_apt[@]}" -gt 0 ]; then
  apt-get -o DPkg::Lock::Timeout=600 update
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${need_apt[@]}"
fi
# aarch64 programs (package builds for aarch64, their images) run under
# QEMU's user-mode emulation: binfmt_misc mounted and qemu-aarch64-static
# registered with the F flag (the kernel opens it now, so it works inside
# sandbox roots that do not hold it). Once per boot; kept if present.
binfmt=/proc/sys/fs/binfmt_misc
[ -e "$binfmt/status" ] || mount -t binfmt_misc binfmt_misc "$binfmt"
# A registration without the F flag (interpreter opened at exec time) fails
# inside sandbox roots: replace it.
if [ -e "$binfmt/qemu-aarch64" ] && ! grep -q '^flags:.*F' "$binfmt/qemu-aarch64"; then
  echo -1 >"$binfmt/qemu-aarch64"
fi
if [ ! -e "$binfmt/qemu-aarch64" ]; then
  printf '%s' ':qemu-aarch64:M::\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/usr/bin/qemu-aarch64-static:F' \
    >"$binfmt/register"
fi
# The official SPDX validator and the CycloneDX schema check our SBOMs.
command -v pyspdxtools >/dev/null 2>&1 || python3 -m pip install --quiet spdx-tools
python3 -c 'import cyclonedx.validation.json' 2>/dev/null || python3 -m pip install --quiet 'cyclonedx-python-lib[json-validation]'
# Generated Argo workflows are validated against Argo's official schema.
python3 -c 'import jsonschema, yaml' 2>/dev/null || python3 -m pip install --quiet jsonschema pyyaml

fixtures="${APKFORGE_FIXTURES:-$(pwd)/../shared/fixtures}"
if [ ! -d "$fixtures" ]; then
  echo "test.sh: fixtures not found at $fixtures (set APKFORGE_FIXTURES)" >&2
  exit 1
fi
export APKFORGE_FIXTURES="$(cd "$fixtures" && pwd)"

# One Docker Engine API for the whole run: podman's API service with its
# own storage (tests load images into it; crates/testsupport/src/engine.rs
# starts one per test process when this is not set).
engine_dir="$(mktemp -d /tmp/apkforge-engine.XXXXXX)"
mkdir -p "$engine_dir/root" "$engine_dir/run" "$engine_dir/tmp"
printf '[containers]\nnetns = "none"\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\nevents_logfile_path = "%s/events.log"\ntmp_dir = "%s/tmp"\n' \
  "$engine_dir" "$engine_dir" >"$engine_dir/containers.conf"
printf '[storage]\ndriver = "vfs"\ngraphroot = "%s/root"\nrunroot = "%s/run"\n' \
  "$engine_dir" "$engine_dir" >"$engine_dir/storage.conf"
export APKFORGE_TEST_CONTAINERS_CONF="$engine_dir/containers.conf"
export APKFORGE_TEST_CONTAINERS_STORAGE_CONF="$engine_dir/storage.conf"
CONTAINERS_CONF="$APKFORGE_TEST_CONTAINERS_CONF" CONTAINERS_STORAGE_CONF="$APKFORGE_TEST_CONTAINERS_STORAGE_CONF" \
  podman system service --time=0 "unix://$engine_dir/podman.sock" >"$engine_dir/service.log" 2>&1 &
engine_pid=$!
trap 'kill "$engine_pid" 2>/dev/null || true; wait "$engine_pid" 2>/dev/null || true; rm -rf "$engine_dir"' EXIT
for _ in $(seq 1 300); do
  [ -S "$engine_dir/podman.sock" ] && break
  sleep 0.1
done
export APKFORGE_TEST_DOCKER_HOST="unix://$engine_dir/podman.sock"

cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace
# The scale benchmarks at smoke sizes: they generate signed repositories
# with our `apk pack` and `index`, and apk-tools must install the same
# files from them (full sizes: docs/BENCHMARKS.md).
BIN=target/debug/apkforge bash scripts/bench-scale.sh --smoke
# Every fuzz target for a short, bounded time (cargo-fuzz on the stable
# toolchain through RUSTC_BOOTSTRAP=1; docs/FUZZING.md).
bash scripts/fuzz-smoke.sh 20
