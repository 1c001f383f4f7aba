#!/usr/bin/env bash
# Times the C library build of crates/apkforge/tests/package_compiler.rs
# (libgreet from a loopback git server, zig cc from a package, the
# Wolfi-shaped recipe) with the release binary, split into environment,
# sources, steps and packaging, with warm caches (the first, cold build is
# not counted). Needs the zig package the test prepares: run
# `cargo test -p apkforge --test package_compiler` once first.
# Usage: scripts/bench-package.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
fixtures="${APKFORGE_FIXTURES:-$(pwd)/../shared/fixtures}"
fixtures="$(cd "$fixtures" && pwd)"
shared="$(pwd)/target/tmp/apkforge-zig"
[ -f "$shared/ready" ] || { echo "run: cargo test -p apkforge --test package_compiler" >&2; exit 1; }
cargo build --release -q -p apkforge
bin="$(pwd)/target/release/apkforge"
work="$(mktemp -d)"
daemon=
trap '[ -z "$daemon" ] || kill "$daemon"; rm -rf "$work"' EXIT

export GIT_CONFIG_GLOBAL=/dev/null GIT_AUTHOR_NAME=b GIT_AUTHOR_EMAIL=b@example.org \
  GIT_COMMITTER_NAME=b GIT_COMMITTER_EMAIL=b@example.org
mkdir -p "$work/src" "$work/repos" "$work/recipe"
cp crates/apkforge/tests/data/libgreet/* "$work/src/"
git -C "$work/src" init -q --initial-branch=main
git -C "$work/src" add -A && git -C "$work/src" commit -qm libgreet
git -C "$work/src" tag v1.0.0
git clone -q --bare "$work/src" "$work/repos/libgreet.git"
commit="$(git -C "$work/src" rev-parse HEAD)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
git daemon --reuseaddr --export-all --listen=127.0.0.1 --port="$port" \
  --base-path="$work/repos" "$work/repos" >/dev/null 2>&1 &
daemon=$!
sleep 0.5

cat >"$work/recipe/libgreet.yaml" <<YAML
package:
  name: libgreet
  version: 1.0.0
  epoch: 0
  description: a small greeting library
  copyright:
    - license: MIT
environment:
  contents:
    keyring:
      - $fixtures/alpine-keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub
      - $shared/zig.rsa.pub
    repositories:
      - $fixtures/alpine-3.19
      - $shared/snap
      - $shared/zig-repo
    packages: [busybox, binutils, make, zig]
  environment:
    ZIG_GLOBAL_CACHE_DIR: /var/cache/melange/zig
    ZIG_LOCAL_CACHE_DIR: /var/cache/melange/zig
pipeline:
  - uses: git-checkout
    with:
      repository: git://127.0.0.1:$port/libgreet.git
      tag: v1.0.0
      expected-commit: $commit
  - uses: autoconf/configure
  - uses: autoconf/make
  - uses: autoconf/make-install
  - uses: strip
subpackages:
  - name: libgreet-static
    pipeline:
      - uses: split/static
YAML
build() {
  SOURCE_DATE_EPOCH=1700000000 /usr/bin/time -o "$work/time" -f '%e s, peak RSS %M KB' \
    "$bin" package build "$work/recipe/libgreet.yaml" --out-dir "$work/out" \
    --apk-cache-dir "$shared/apk-cache" --cache-dir "$shared/melange-cache" 2>&1 >/dev/null |
    grep -F 'timing:' | sed 's/^ *timing: //'
  echo "    whole command: $(cat "$work/time")"
}
build >/dev/null
for _ in $(seq "$runs"); do build; done
