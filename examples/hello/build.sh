#!/usr/bin/env bash
# Builds the example package from a fresh checkout, offline: a signing key,
# a local repository holding `make` (made from the fixtures' Alpine
# packages), the source tarball served on loopback, then `package build`.
# Everything goes to out/hello/ (ignored by git); the packages end up in
# out/hello/packages/x86_64/.
#
# Usage: examples/hello/build.sh     (APKFORGE=path/to/apkforge, OUT=dir,
#                                     APKFORGE_FIXTURES=dir to override)
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${APKFORGE:-./target/release/apkforge}"
[ -x "$bin" ] || cargo build --release -q -p apkforge
out="${OUT:-out/hello}"
fixtures="${APKFORGE_FIXTURES:-../shared/fixtures}"
mkdir -p "$out"

# 1. A signing key for the repository and the packages.
[ -f "$out/mykey.rsa" ] || "$bin" keygen "$out/mykey"

# 2. A repository with make and what it needs, signed with that key.
repo="$out/build-repo/x86_64"
mkdir -p "$repo"
cp "$fixtures"/alpine-3.19-snapshot/main/x86_64/*.apk "$repo/"
"$bin" index -o "$repo/APKINDEX.tar.gz" --signing-key "$out/mykey.rsa" "$repo"/*.apk

# 3. The source tarball on a loopback port.
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
python3 -m http.server "$port" --bind 127.0.0.1 --directory examples/hello >/dev/null 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null && break
  sleep 0.1
done
sed -e "s#http://127.0.0.1:8000#http://127.0.0.1:$port#" -e "s#\.\./shared/fixtures#$fixtures#g" \
  examples/hello/hello.yaml >"$out/hello.yaml"

# 4. The build.
"$bin" package build "$out/hello.yaml" --signing-key "$out/mykey.rsa" \
  -r "$out/build-repo" -k "$out/mykey.rsa.pub" --out-dir "$out/packages"
ls "$out/packages/x86_64"
