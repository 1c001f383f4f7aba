#!/usr/bin/env python3
"""Peak memory of resolving against big repository indexes.

Builds signed repositories whose APKINDEX holds N entries (the real
records of Alpine 3.19's `main` and `community` snapshot indexes, repeated
under new names until N), and measures `apkforge image show-packages`
(index load, signature check, resolution) with `/usr/bin/time -v`. Also
measures an index gzip bomb (300 MiB of line breaks). Prints a Markdown
table for docs/BENCHMARKS.md.

usage: scripts/index-memory.py [--bin target/release/apkforge] [N ...]
"""

import argparse
import gzip
import io
import os
import re
import subprocess
import sys
import tarfile
import tempfile

FIXTURES = os.environ.get(
    "APKFORGE_FIXTURES",
    os.path.join(os.path.dirname(__file__), "..", "..", "shared", "fixtures"),
)


def records():
    out = []
    for repo in ("main", "community"):
        path = os.path.join(FIXTURES, "alpine-3.19-snapshot", repo, "x86_64", "APKINDEX.tar.gz")
        with tarfile.open(path, "r:gz") as t:
            text = t.extractfile("APKINDEX").read().decode()
        out += [r for r in text.split("\n\n") if r.strip()]
    return out


def index_archive(text):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, data in (("DESCRIPTION", b"synthetic"), ("APKINDEX", text.encode())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return gzip.compress(buf.getvalue(), 6, mtime=0)


def peak_rss(cmd, env=None):
    r = subprocess.run(
        ["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True, env=env
    )
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr)
    e = re.search(r"Elapsed \(wall clock\) time.*: (\S+)", r.stderr)
    return int(m.group(1)), e.group(1), r.returncode, r.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/release/apkforge")
    ap.add_argument("sizes", nargs="*", type=int, default=[5443, 25000, 100000, 250000, 500000])
    a = ap.parse_args()
    binary = os.path.abspath(a.bin)
    base = records()
    rows = []
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([binary, "keygen", "k"], cwd=d, check=True, capture_output=True)
        for n in a.sizes:
            repo = os.path.join(d, f"r{n}", "x86_64")
            os.makedirs(repo)
            recs = []
            i = 0
            while len(recs) < n:
                for r in base:
                    if len(recs) == n:
                        break
                    if i:
                        r = re.sub(r"^P:(.*)$", lambda m: f"P:{m.group(1)}-x{i}", r, flags=re.M)
                    recs.append(r)
                i += 1
            text = "\n\n".join(recs) + "\n\n"
            path = os.path.join(repo, "APKINDEX.tar.gz")
            with open(path, "wb") as f:
                f.write(index_archive(text))
            # Signing reads the index too: without limits here.
            big = dict(os.environ, APKFORGE_INDEX_MAX_BYTES=str(1 << 40), APKFORGE_INDEX_MAX_ENTRIES=str(1 << 40))
            subprocess.run([binary, "sign", "--signing-key", "k.rsa", path], cwd=d, check=True, capture_output=True, env=big)
            cfg = os.path.join(d, f"c{n}.yaml")
            with open(cfg, "w") as f:
                f.write(
                    f"contents:\n  keyring: [{d}/k.rsa.pub]\n  repositories: [{d}/r{n}]\n"
                    f"  packages: [musl]\narchs: [x86_64]\n"
                )
            kb, wall, rc, err = peak_rss([binary, "image", "show-packages", cfg])
            what = f"{n:,} entries ({len(text) / 2**20:.0f} MiB text)"
            if rc != 0:
                refused = re.search(r"(index expands past \d+ bytes|more than \d+ entries)", err)
                if not refused:
                    sys.exit(f"N={n}: {err}")
                what += f", refused ({refused.group(1)})"
            rows.append((what, kb, wall))
        bomb = os.path.join(d, "bomb", "x86_64")
        os.makedirs(bomb)
        with open(os.path.join(bomb, "APKINDEX.tar.gz"), "wb") as f:
            f.write(index_archive("\n" * (300 << 20)))
        cfg = os.path.join(d, "bomb.yaml")
        with open(cfg, "w") as f:
            f.write(
                f"contents:\n  keyring: [{d}/k.rsa.pub]\n  repositories: [{d}/bomb]\n"
                f"  packages: [musl]\narchs: [x86_64]\n"
            )
        kb, wall, rc, err = peak_rss([binary, "image", "show-packages", cfg])
        assert rc != 0 and "expands past" in err, err
        rows.append(("gzip bomb, 300 MiB (refused at the 256 MiB default)", kb, wall))
    print("| index | peak RSS | wall |")
    print("|---|---|---|")
    for what, kb, wall in rows:
        print(f"| {what} | {kb / 1024:.0f} MiB | {wall} |")
    if len(rows) >= 3 and "refused" not in rows[-2][0]:
        (_, a, _), (_, b, _) = rows[-3], rows[-2]
        na, nb = (int(r[0].split()[0].replace(",", "")) for r in rows[-3:-1])
        print(f"\nper entry: {(b - a) * 1024 / (nb - na):.0f} bytes")


if __name__ == "__main__":
    main()
