#!/usr/bin/env bash
# Seeds the corpus of one fuzz target from the shared fixtures and runs it.
#
#   scripts/fuzz.sh TARGET [SECONDS]
#
# TARGET is one of: version apkindex installed pkginfo package adb_package
# adb_index lock recipe image_config.
# SECONDS defaults to 600. Works on the stable toolchain: cargo-fuzz needs
# nightly flags, which RUSTC_BOOTSTRAP=1 unlocks.
#
# Environment:
#   FUZZ_SANITIZER  cargo-fuzz sanitizer: none (default) or address
#   FIXTURES        fixture root (default: $APKFORGE_FIXTURES, else
#                   ../shared/fixtures next to the repo)
#   FUZZ_ARGS       extra libFuzzer arguments, appended last
#
# The corpus (fuzz/corpus/TARGET) and crash artifacts (fuzz/artifacts/TARGET)
# are git-ignored; fixture files are copied there at run time, never committed.
set -euo pipefail

usage() {
    echo "usage: $0 TARGET [SECONDS]  (TARGET: version apkindex installed pkginfo package adb_package adb_index lock recipe image_config)" >&2
    exit 2
}

[ $# -ge 1 ] && [ $# -le 2 ] || usage
target=$1
seconds=${2:-600}
case $target in
    version | apkindex | installed | pkginfo | package | adb_package | adb_index | lock | recipe | image_config) ;;
    *) usage ;;
esac
case $seconds in
    '' | *[!0-9]*) usage ;;
esac

repo=$(cd "$(dirname "$0")/.." && pwd)
fixtures=${FIXTURES:-${APKFORGE_FIXTURES:-$(dirname "$repo")/shared/fixtures}}
alpine=$fixtures/alpine-3.19/x86_64
v3=$fixtures/alpine-3.19-v3
fuzz=$repo/fuzz
corpus=$fuzz/corpus/$target
mkdir -p "$corpus" "$fuzz/artifacts/$target"

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

# The N smallest .apk fixtures.
smallest_apks() {
    ls -S -r "$alpine"/*.apk | head -n "$1"
}

index_text() {
    tar -xzOf "$alpine/APKINDEX.tar.gz" APKINDEX
}

seed() {
    if [ ! -d "$alpine" ]; then
        echo "fuzz.sh: no fixtures at $alpine; running on the existing corpus only" >&2
        return
    fi
    case $target in
    version)
        # Triples of real versions, one per line, plus hand-picked edge cases.
        index_text | sed -n 's/^V://p' | head -n 60 | split -l 3 -d -a 3 - "$corpus/seed-"
        printf '1.0_alpha\n1.0\n1.0_p1' >"$corpus/seed-suffixes"
        printf '1.2.3_rc1_p2~abc-r4\n1.2.3\n1.02' >"$corpus/seed-full"
        printf '1.01\n1.1\n1.010' >"$corpus/seed-zeros"
        ;;
    apkindex)
        # Three records per seed: small inputs fuzz faster than the whole index.
        index_text | awk -v dir="$corpus" '
            BEGIN { RS = ""; ORS = "\n\n" }
            NR <= 90 { print > sprintf("%s/seed-%03d", dir, int((NR - 1) / 3)) }'
        ;;
    installed)
        local db=$fixtures/apko-testdata/pkg/apk/apk/testdata/root/usr/lib/apk/db/installed
        if [ -f "$db" ]; then
            awk -v dir="$corpus" '
                BEGIN { RS = ""; ORS = "\n\n" }
                { print > sprintf("%s/seed-%03d", dir, NR) }' "$db"
        fi
        printf 'P:x\nV:1-r0\nA:x86_64\ni:[a b]\nF:etc\nM:0:0:0700\nR:a\na:0:0:0600\nZ:Q1aaa=\nR:b\nF:usr\n\n' \
            >"$corpus/seed-acl"
        ;;
    pkginfo)
        local i=0 apk
        for apk in $(smallest_apks 8); do
            tar -xzOf "$apk" .PKGINFO >"$corpus/seed-$i" 2>/dev/null || rm -f "$corpus/seed-$i"
            i=$((i + 1))
        done
        ;;
    package)
        local apk
        for apk in $(smallest_apks 6); do
            cp "$apk" "$corpus/seed-$(basename "$apk")"
            chmod u+w "$corpus/seed-$(basename "$apk")"
        done
        ;;
    adb_package)
        # The smallest v3 packages, each also uncompressed (the fuzzer
        # mutates ADB structure rather than deflate bits), plus the variants.
        local apk name
        for apk in $(ls -S -r "$v3"/x86_64/*.apk | head -n 6) "$v3"/variants/*.apk; do
            name=seed-$(basename "$apk")
            cp "$apk" "$corpus/$name"
            chmod u+w "$corpus/$name"
            inflate_adb "$apk" >"$corpus/$name.raw"
        done
        ;;
    lock)
        local f
        for f in "$fixtures"/apko-testdata/internal/cli/testdata/*.lock.json; do
            cp "$f" "$corpus/seed-$(basename "$f")"
            chmod u+w "$corpus/seed-$(basename "$f")"
        done
        ;;
    recipe)
        # The 40 smallest Wolfi recipes and melange's test recipes: small
        # inputs fuzz faster, and they still use most of the schema.
        local f
        for f in $(ls -S -r "$fixtures"/wolfi-os/recipes/*.yaml | head -n 40) \
            $(find "$fixtures/apko-testdata" -name '*.melange.yaml' -o -name melange.yaml); do
            cp "$f" "$corpus/seed-$(basename "$f")"
            chmod u+w "$corpus/seed-$(basename "$f")"
        done
        ;;
    image_config)
        local f
        for f in "$fixtures"/apko-examples/*.yaml \
            $(find "$fixtures/apko-testdata" -name '*.yaml' ! -name '*melange*'); do
            cp "$f" "$corpus/seed-$(basename "$f")"
            chmod u+w "$corpus/seed-$(basename "$f")"
        done
        ;;
    adb_index)
        local f
        for f in "$v3"/x86_64/Packages.adb "$v3"/v2-index/x86_64/Packages.adb; do
            inflate_adb "$f" >"$corpus/seed-$(basename "$(dirname "$(dirname "$f")")").raw"
        done
        cp "$v3"/x86_64/Packages.adb "$corpus/seed-deflate"
        chmod u+w "$corpus/seed-deflate"
        ;;
    esac
}

# The uncompressed ADB stream of an `ADBd` file (others are copied as is).
inflate_adb() {
    python3 -c '
import sys, zlib
b = open(sys.argv[1], "rb").read()
if b[:4] == b"ADBd":
    b = zlib.decompressobj(-15).decompress(b[4:])
sys.stdout.buffer.write(b)' "$1"
}

seed

dict=
case $target in
    version) dict=-dict=$fuzz/dict/version.dict ;;
    apkindex | installed) dict=-dict=$fuzz/dict/records.dict ;;
    pkginfo) dict=-dict=$fuzz/dict/pkginfo.dict ;;
esac

# Run from the target's artifact directory, so that two targets can run at
# once: -jobs=1 -workers=1 (one fuzzing process on one core) makes
# libFuzzer write its log to fuzz-0.log in the current directory and only a
# summary to stderr.
cd "$fuzz/artifacts/$target"
rm -f fuzz-0.log
# shellcheck disable=SC2086
RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir "$fuzz" -s "${FUZZ_SANITIZER:-none}" "$target" "$corpus" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
    -jobs=1 -workers=1 -artifact_prefix="$fuzz/artifacts/$target/" \
    $dict ${FUZZ_ARGS:-} && status=0 || status=$?
if [ -f fuzz-0.log ]; then
    mv fuzz-0.log "$fuzz/artifacts/$target/last-run.log"
    tail -n 5 "$fuzz/artifacts/$target/last-run.log"
fi
exit "$status"
