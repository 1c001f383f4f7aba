#!/usr/bin/env bash
# Performance at scale, side by side with apk-tools 2 (Alpine 3.19's
# apk-tools 2.14 from the fixtures, run by its own musl loader, installing
# into tmpfs). Every input is generated here: synthetic signed
# repositories made with our `apk pack` and `index`.
#
#   first   alpine-base (examples/alpine-base-local.yaml: 25 packages from
#           the Alpine 3.19 fixture repository, a directory): the first
#           image build, with an empty cache (a fresh CI machine); `apk add
#           --initdb` of the same packages from the same directory
#   files   FILES small files in PKGS packages: image build with a warm
#           cache and with an empty one; `apk add` of the same packages
#   big     one random (incompressible) file of BIG_MB MiB: image build
#           with an empty cache and a warm one; `apk add`
#   index   INDEX_PKGS tiny packages (each depends on another): `index`
#           against `apk index`
#   resolve a 20-package world over that index: `image show-packages`
#           against `apk add --simulate`
#   resolve-alpine
#           the 41-atom world of the apk-solve tests (plus ifupdown-ng, see
#           bench_resolve_alpine) over the real Alpine 3.19 main + community
#           indexes of the fixtures (23,030 packages): `image show-packages`
#           against `apk add --simulate`; both must choose the same packages
#
# Usage: scripts/bench-scale.sh [--smoke] [WORKLOAD...]   (default: all)
#   RUNS=N (default 5), FILES=50000 PKGS=20 BIG_MB=256 INDEX_PKGS=50000,
#   BIN=path/to/apkforge (default: a release build made here),
#   BENCH_DIR=dir for the generated inputs (default target/bench-scale,
#   reused across runs), TMPFS=dir on tmpfs (default /dev/shm).
# --smoke: tiny sizes, one run, and checks that both tools install the same
# files (CI runs it this way, see scripts/test.sh). Prints medians of wall
# and CPU time and the largest peak RSS; results go to docs/BENCHMARKS.md by hand.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
smoke=0
if [ "${1:-}" = "--smoke" ]; then
  smoke=1
  shift
fi
if [ "$smoke" = 1 ]; then
  runs=1 files=300 pkgs=3 big_mb=3 index_pkgs=60
else
  runs="${RUNS:-5}" files="${FILES:-50000}" pkgs="${PKGS:-20}"
  big_mb="${BIG_MB:-256}" index_pkgs="${INDEX_PKGS:-50000}"
fi
workloads=("$@")
[ "${#workloads[@]}" -gt 0 ] || workloads=(first files big index resolve resolve-alpine)
fixtures="${APKFORGE_FIXTURES:-$(pwd)/../shared/fixtures}"
fixtures="$(cd "$fixtures" && pwd)"
if [ -z "${BIN:-}" ]; then
  cargo build --release -q -p apkforge
  BIN="$(pwd)/target/release/apkforge"
fi
bin="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"
inputs="${BENCH_DIR:-$(pwd)/target/bench-scale}"
[ "$smoke" = 0 ] || inputs="$inputs/smoke"
mkdir -p "$inputs"
inputs="$(cd "$inputs" && pwd)"
work="$(mktemp -d)"
shm="$(mktemp -d "${TMPFS:-/dev/shm}/apkforge-bench.XXXXXX")"
trap 'rm -rf "$work" "$shm"' EXIT
export SOURCE_DATE_EPOCH=1700000000

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# measure LABEL PREPARE -- COMMAND...: runs COMMAND RUNS times, PREPARE (a
# shell string, not timed) before each; prints the median wall time, the
# median CPU time (user + system, all threads: the steadier number on a
# shared machine) and the largest peak RSS.
measure() {
  local label="$1" prepare="$2"
  shift 3
  : >"$work/times"
  : >"$work/cpu"
  : >"$work/rss"
  for _ in $(seq "$runs"); do
    eval "$prepare"
    if ! /usr/bin/time -o "$work/time" -f '%e %U %S %M' "$@" >"$work/out" 2>"$work/err"; then
      echo "bench-scale: failed: $*" >&2
      cat "$work/err" >&2
      exit 1
    fi
    local wall user sys rss
    read -r wall user sys rss < <(tail -1 "$work/time")
    echo "$wall" >>"$work/times"
    echo "$user $sys" | awk '{print $1 + $2}' >>"$work/cpu"
    echo "$rss" >>"$work/rss"
  done
  printf '%-56s %7.2f s  cpu %7.2f s  peak RSS %7d KB\n' "$label" "$(median <"$work/times")" \
    "$(median <"$work/cpu")" "$(sort -n "$work/rss" | tail -1)"
}

# apk-tools 2.14 from the Alpine 3.19 fixture, unpacked with our own
# minirootfs build and run through its musl loader (no chroot needed).
apkroot="$inputs/apk-tools"
if [ ! -x "$apkroot/sbin/apk" ]; then
  rm -rf "$apkroot" && mkdir -p "$apkroot"
  printf 'contents:\n  keyring: [%s]\n  repositories: [%s]\n  packages: [apk-tools]\narchs: [x86_64]\n' \
    "$fixtures/alpine-keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub" "$fixtures/alpine-3.19" \
    >"$work/apk-tools.yaml"
  "$bin" image build-minirootfs "$work/apk-tools.yaml" "$work/apk-tools.tar.gz" --cache-dir "$work/cache" \
    >/dev/null 2>"$work/err" || {
    cat "$work/err" >&2
    exit 1
  }
  tar -xzf "$work/apk-tools.tar.gz" -C "$apkroot"
fi
apk="$work/apk"
printf '#!/bin/sh\nexec "%s/lib/ld-musl-x86_64.so.1" --library-path "%s/lib:%s/usr/lib" "%s/sbin/apk" "$@"\n' \
  "$apkroot" "$apkroot" "$apkroot" "$apkroot" >"$apk"
chmod +x "$apk"
"$apk" --version >/dev/null

key="$inputs/bench.rsa"
[ -f "$key" ] || (cd "$inputs" && "$bin" keygen bench --bits 2048 >/dev/null)
# A fresh apk-tools target on tmpfs that trusts our key (or the keys named).
fresh_target() {
  rm -rf "$shm/root"
  mkdir -p "$shm/root/etc/apk/keys"
  cp "${@:-$key.pub}" "$shm/root/etc/apk/keys/"
}
# The same, with an empty installed database (apk --simulate cannot make one).
fresh_db() {
  fresh_target "$@"
  "$apk" add --root "$shm/root" --initdb --no-network --quiet --repositories-file /dev/null
}
apk_add=("$apk" add --root "$shm/root" --initdb --no-network --no-cache --no-progress --quiet
  --repositories-file /dev/null)
config() { # repo, packages...: an apko config on stdout
  local repo="$1"
  shift
  printf 'contents:\n  keyring: [%s]\n  repositories: [%s]\n  packages: [%s]\narchs: [x86_64]\n' \
    "$key.pub" "$repo" "$(
      IFS=,
      echo "$*"
    )"
}
# Both tools must have installed the same files and directories (smoke runs).
same_files() { # image tar, label
  [ "$smoke" = 1 ] || return 0
  local ours theirs
  rm -rf "$work/unpack" && mkdir -p "$work/unpack" && tar -xf "$1" -C "$work/unpack"
  ours=$(python3 -c 'import json, sys; print("\n".join(json.load(open(sys.argv[1]))[0]["Layers"]))' \
    "$work/unpack/manifest.json" | while read -r l; do tar -tzf "$work/unpack/$l"; done |
    sed 's#/$##' | grep '^usr/share/bench' | sort)
  theirs=$(cd "$shm/root" && find usr/share/bench | sort)
  if [ "$ours" != "$theirs" ] || [ -z "$ours" ]; then
    echo "bench-scale: $2: apkforge and apk-tools installed different files" >&2
    exit 1
  fi
}

# alpine-base from the fixture repository: the first build with an empty
# cache against apk-tools installing the same packages (their scripts run,
# in a chroot, as in any `apk add` by root; as another user `--no-scripts`).
bench_first() {
  local repo="$fixtures/alpine-3.19" alpine_key
  alpine_key="$fixtures/alpine-keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub"
  sed "s#\.\./shared/fixtures#$fixtures#" examples/alpine-base-local.yaml >"$work/first.yaml"
  fresh_alpine() {
    rm -rf "$shm/root"
    mkdir -p "$shm/root/etc/apk/keys"
    cp "$alpine_key" "$shm/root/etc/apk/keys/"
  }
  local scripts=()
  [ "$(id -u)" = 0 ] || scripts=(--no-scripts)
  measure "first: alpine-base (25 packages), apkforge, empty cache" "rm -rf $work/first-cache $shm/first.tar" -- \
    "$bin" image build "$work/first.yaml" first:1 "$shm/first.tar" --cache-dir "$work/first-cache"
  measure "first: alpine-base (25 packages), apk-tools" fresh_alpine -- \
    "${apk_add[@]}" "${scripts[@]}" -X "$repo" alpine-base
  if [ "$smoke" = 1 ]; then
    # Both installed the same packages.
    local ours theirs
    rm -rf "$work/unpack" && mkdir -p "$work/unpack" && tar -xf "$shm/first.tar" -C "$work/unpack"
    ours=$(python3 -c 'import json, sys; print("\n".join(json.load(open(sys.argv[1]))[0]["Layers"]))' \
      "$work/unpack/manifest.json" | while read -r l; do
      tar -xzOf "$work/unpack/$l" usr/lib/apk/db/installed
    done | grep '^P:' | sort)
    theirs=$(cat "$shm/root/lib/apk/db/installed" 2>/dev/null || cat "$shm/root/usr/lib/apk/db/installed")
    theirs=$(grep '^P:' <<<"$theirs" | sort)
    if [ "$ours" != "$theirs" ] || [ -z "$ours" ]; then
      echo "bench-scale: first: apkforge and apk-tools installed different packages" >&2
      exit 1
    fi
  fi
  rm -f "$shm/first.tar"
  rm -rf "$shm/root"
}

bench_files() {
  local repo="$inputs/files-$files-$pkgs"
  if [ ! -f "$repo/done" ]; then
    rm -rf "$repo" && mkdir -p "$repo/x86_64"
    python3 - "$shm/trees" "$files" "$pkgs" <<'PY'
import os, sys
root, files, pkgs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for p in range(pkgs):
    n = files // pkgs + (1 if p < files % pkgs else 0)
    for i in range(n):
        d = os.path.join(root, f"p{p}", "usr/share/bench", f"p{p}", f"d{i // 100:04}")
        if i % 100 == 0:
            os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"f{i:06}.txt"), "w") as f:
            f.write(f"package {p} file {i}\n" * (1 + i % 16))
PY
    for p in $(seq 0 $((pkgs - 1))); do
      "$bin" apk pack "$shm/trees/p$p" -o "$repo/x86_64/p$p-1.0-r0.apk" --name "p$p" \
        --version 1.0-r0 --arch x86_64 --signing-key "$key" >/dev/null
    done
    "$bin" index -o "$repo/x86_64/APKINDEX.tar.gz" --signing-key "$key" "$repo"/x86_64/*.apk >/dev/null
    rm -rf "$shm/trees"
    touch "$repo/done"
  fi
  local names=()
  for p in $(seq 0 $((pkgs - 1))); do names+=("p$p"); done
  config "$repo" "${names[@]}" >"$work/files.yaml"
  "$bin" image build "$work/files.yaml" files:1 "$shm/files.tar" --cache-dir "$work/files-cache" >/dev/null 2>&1
  measure "files: $files files in $pkgs packages, apkforge warm" "rm -f $shm/files.tar" -- \
    "$bin" image build "$work/files.yaml" files:1 "$shm/files.tar" --cache-dir "$work/files-cache"
  measure "files: $files files in $pkgs packages, apkforge cold" "rm -rf $work/cold $shm/files.tar" -- \
    "$bin" image build "$work/files.yaml" files:1 "$shm/files.tar" --cache-dir "$work/cold"
  measure "files: $files files in $pkgs packages, apk-tools" fresh_target -- \
    "${apk_add[@]}" -X "$repo" "${names[@]}"
  same_files "$shm/files.tar" files
}

bench_big() {
  local repo="$inputs/big-$big_mb"
  if [ ! -f "$repo/done" ]; then
    rm -rf "$repo" && mkdir -p "$repo/x86_64" "$repo/tree/usr/share/bench"
    head -c "$((big_mb << 20))" /dev/urandom >"$repo/tree/usr/share/bench/blob"
    "$bin" apk pack "$repo/tree" -o "$repo/x86_64/big-1.0-r0.apk" --name big --version 1.0-r0 \
      --arch x86_64 --signing-key "$key" >/dev/null
    "$bin" index -o "$repo/x86_64/APKINDEX.tar.gz" --signing-key "$key" "$repo/x86_64/big-1.0-r0.apk" >/dev/null
    rm -rf "$repo/tree"
    touch "$repo/done"
  fi
  config "$repo" big >"$work/big.yaml"
  measure "big: one ${big_mb} MiB random file, apkforge cold" "rm -rf $work/big-cache $shm/big.tar" -- \
    "$bin" image build "$work/big.yaml" big:1 "$shm/big.tar" --cache-dir "$work/big-cache"
  measure "big: one ${big_mb} MiB random file, apkforge warm" "rm -f $shm/big.tar" -- \
    "$bin" image build "$work/big.yaml" big:1 "$shm/big.tar" --cache-dir "$work/big-cache"
  measure "big: one ${big_mb} MiB random file, apk-tools" fresh_target -- \
    "${apk_add[@]}" -X "$repo" big
  same_files "$shm/big.tar" big
  rm -f "$shm/big.tar"
  rm -rf "$shm/root"
}

# INDEX_PKGS packages named n0..nN; n(i) depends on n(i/2), so a world of 20
# names pulls in a few hundred packages. n0 and n1 come from `apk pack`; the
# others are n1 with its name and dependency changed in `.PKGINFO` (one
# process per package would take far longer than the benchmark).
index_repo() {
  local repo="$inputs/index-$index_pkgs"
  if [ ! -f "$repo/done" ]; then
    rm -rf "$repo" && mkdir -p "$repo/x86_64" "$repo/tree/usr/share/bench"
    echo tiny >"$repo/tree/usr/share/bench/tiny"
    "$bin" apk pack "$repo/tree" -o "$repo/x86_64/n0-1.0-r0.apk" --name n0 --version 1.0-r0 \
      --arch x86_64 >/dev/null
    "$bin" apk pack "$repo/tree" -o "$repo/x86_64/n1-1.0-r0.apk" --name n1 --version 1.0-r0 \
      --arch x86_64 --depend n0 >/dev/null
    python3 - "$repo/x86_64" "$index_pkgs" <<'PY'
import io, os, sys, tarfile, zlib
out, count = sys.argv[1], int(sys.argv[2])
raw = open(os.path.join(out, "n1-1.0-r0.apk"), "rb").read()
members = []
while raw:  # the control and data gzip members
    d = zlib.decompressobj(31)
    data = d.decompress(raw) + d.flush()
    members.append((raw[: len(raw) - len(d.unused_data)], data))
    raw = d.unused_data
control = tarfile.open(fileobj=io.BytesIO(members[0][1]))
info = control.getmember(".PKGINFO")
pkginfo = control.extractfile(info).read().decode()
template = members[0][1][:512]
def header(text):  # the template's header with another size and checksum
    h = bytearray(template)
    h[124:136] = b"%011o\0" % len(text)
    h[148:156] = b" " * 8
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)
assert header(pkginfo.encode()) == template, "unexpected control tar layout"
for n in range(2, count):
    text = (pkginfo.replace("pkgname = n1\n", f"pkgname = n{n}\n")
            .replace("origin = n1\n", f"origin = n{n}\n")
            .replace("depend = n0\n", f"depend = n{n // 2}\n")).encode()
    tar = header(text) + text + b"\0" * (-len(text) % 512)
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    with open(os.path.join(out, f"n{n}-1.0-r0.apk"), "wb") as f:
        f.write(z.compress(tar) + z.flush() + members[1][0])
PY
    (cd "$repo/x86_64" && "$bin" index -o APKINDEX.tar.gz --signing-key "$key" ./*.apk >/dev/null)
    rm -rf "$repo/tree"
    touch "$repo/done"
  fi
  echo "$repo"
}

bench_index() {
  local repo
  repo="$(index_repo)"
  measure "index: $index_pkgs packages, apkforge index" "" -- \
    bash -c "cd '$repo/x86_64' && '$bin' index -o '$work/APKINDEX.tar.gz' ./*.apk"
  measure "index: $index_pkgs packages, apk index" "" -- \
    bash -c "cd '$repo/x86_64' && '$apk' index -q -o '$work/APKINDEX.apk.tar.gz' ./*.apk"
}

bench_resolve() {
  local repo names=()
  repo="$(index_repo)"
  for i in $(seq 1 20); do names+=("n$((index_pkgs - i * (index_pkgs / 25)))"); done
  config "$repo" "${names[@]}" >"$work/resolve.yaml"
  "$bin" image show-packages "$work/resolve.yaml" --cache-dir "$work/resolve-cache" >"$work/ours"
  measure "resolve: 20 names over $index_pkgs packages, apkforge" "" -- \
    "$bin" image show-packages "$work/resolve.yaml" --cache-dir "$work/resolve-cache"
  measure "resolve: 20 names over $index_pkgs packages, apk-tools" fresh_db -- \
    "${apk_add[@]/--initdb/--simulate}" -X "$repo" "${names[@]}"
  if [ "$smoke" = 1 ]; then
    fresh_db
    local ours theirs
    ours=$(wc -l <"$work/ours")
    theirs=$("$apk" add --root "$shm/root" --simulate --no-network --repositories-file /dev/null \
      -X "$repo" "${names[@]}" | grep -c '^(')
    [ "$ours" = "$theirs" ] || {
      echo "bench-scale: resolve: apkforge chose $ours packages, apk-tools $theirs" >&2
      exit 1
    }
  fi
}

# The world of crates/apk-solve/tests/data/big-world.txt over the Alpine
# 3.19 snapshot. ifupdown-ng is named because alpine-base depends on the
# virtual ifupdown-any: apk-tools then installs ifupdown-ng (and its
# install_if ifupdown-ng-iproute2), apko's resolution busybox-ifupdown.
bench_resolve_alpine() {
  local snap="$fixtures/alpine-3.19-snapshot" keys=("$fixtures"/alpine-keys/*.rsa.pub) names
  read -r -a names <<<"$(tr '\n' ' ' <crates/apk-solve/tests/data/big-world.txt) ifupdown-ng"
  printf 'contents:\n  keyring: [%s]\n  repositories: [%s, %s]\n  packages: [%s]\narchs: [x86_64]\n' \
    "$(
      IFS=,
      echo "${keys[*]}"
    )" "$snap/main" "$snap/community" "$(
      IFS=,
      echo "${names[*]}"
    )" >"$work/alpine.yaml"
  local label="resolve-alpine: ${#names[@]} names over 23,030 packages"
  measure "$label, apkforge" "" -- \
    "$bin" image show-packages "$work/alpine.yaml" --cache-dir "$work/resolve-cache"
  local simulate=("$apk" add --root "$shm/root" --simulate --no-network --no-cache --no-progress
    --repositories-file /dev/null -X "$snap/main" -X "$snap/community")
  measure "$label, apk-tools" "fresh_db $(printf '%q ' "${keys[@]}")" -- \
    "${simulate[@]}" --quiet "${names[@]}"
  local ours theirs
  ours=$("$bin" image show-packages "$work/alpine.yaml" --cache-dir "$work/resolve-cache" \
    --format '{{ .Name }}-{{ .Version }}' | sort)
  fresh_db "${keys[@]}"
  theirs=$("${simulate[@]}" "${names[@]}" |
    sed -n 's/^([0-9]*\/[0-9]*) Installing \([^ ]*\) (\(.*\))$/\1-\2/p' | sort)
  if [ "$ours" != "$theirs" ] || [ -z "$ours" ]; then
    echo "bench-scale: resolve-alpine: apkforge and apk-tools chose different packages:" >&2
    diff <(echo "$ours") <(echo "$theirs") >&2 || true
    exit 1
  fi
  echo "resolve-alpine: both tools chose the same $(echo "$ours" | wc -l) packages"
}

echo "bench-scale: $(date -u +%F), runs=$runs, $("$bin" --version), $("$apk" --version | head -1)"
for w in "${workloads[@]}"; do
  case "$w" in
    first | files | big | index | resolve) "bench_$w" ;;
    resolve-alpine) bench_resolve_alpine ;;
    *)
      echo "bench-scale: unknown workload $w (first, files, big, index, resolve, resolve-alpine)" >&2
      exit 2
      ;;
  esac
done
