#!/usr/bin/env python3
"""bench/gen-files.py OUT.tar N [--layers L] [--size BYTES] [--order walk|spread]

Writes a deterministic docker-archive whose layers hold N regular files in all
(spread evenly over L layers, default 1), BYTES bytes each (default 0), under
a tree of directories 64 wide ("d17/d03/f0001234"), plus those directories.
File i is in d(i % 64)/d(i / 64 % 64).  --order walk (the default) lists a
directory's files together, as tar(1), Go's filepath.Walk and BuildKit list a
tree; --order spread lists them by i, so each file is in another of the 4,096
directories than the one before (a worst case for anything that keeps a
directory's state together; the only order before 2026-12-04).
The top layer of a several-layer image also whites out one file of each layer
below and overwrites one, so merge and accounting have some work to do.

It is the many-files input of bench/scaling.sh and tests/analyze/memory.sh:
headers are written by hand (ustar, no pax), so a million files take seconds,
and everything is streamed (each layer tar to a temp file next to OUT, hashed
as it is written, then copied into OUT).  Python 3 stdlib only.
"""
import argparse
import hashlib
import json
import os
import shutil
import tarfile
import tempfile

MTIME = 1700000000


def header(name, size, typ=b"0", mode=0o644):
    n = name.encode()
    if len(n) > 100:
        raise SystemExit("name too long: " + name)
    h = bytearray(512)
    h[0:len(n)] = n
    h[100:108] = b"%07o\0" % mode
    h[108:116] = b"0000000\0"
    h[116:124] = b"0000000\0"
    h[124:136] = b"%011o\0" % size
    h[136:148] = b"%011o\0" % MTIME
    h[148:156] = b"        "
    h[156:157] = typ
    h[257:265] = b"ustar\x0000"
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


def pad(n):
    return b"\0" * ((512 - n % 512) % 512)


ORDER = "walk"


def order(first, count):
    """Files first..first+count-1: by directory (walk, as tar(1), Go's filepath.Walk and
    BuildKit list a tree), or spread, each file in the directory after the last one's."""
    end = first + count
    if ORDER == "spread":
        yield from range(first, end)
        return
    for d1 in range(64):
        for d2 in range(64):
            base = d1 + 64 * d2
            k = max(0, -(-(first - base) // 4096))
            for i in range(base + 4096 * k, end, 4096):
                yield i


def layer(path, first, count, size, extra):
    """Files first..first+count-1 (and their directories) into a tar at path; its sha256."""
    sha = hashlib.sha256()
    seen = set()
    with open(path, "wb") as f:
        buf = []

        def put(b):
            buf.append(b)
            if len(buf) >= 4096:
                chunk = b"".join(buf)
                sha.update(chunk)
                f.write(chunk)
                buf.clear()

        for name, data in extra:
            put(header(name, len(data)) + data + pad(len(data)))
        body = b"x" * size
        for i in order(first, count):
            d1, d2 = "d%02d" % (i % 64), "d%02d" % (i // 64 % 64)
            for d in (d1 + "/", d1 + "/" + d2 + "/"):
                if d not in seen:
                    seen.add(d)
                    put(header(d, 0, b"5", 0o755))
            put(header("%s/%s/f%08d" % (d1, d2, i), size) + body + pad(size))
        put(b"\0" * 1024)
        chunk = b"".join(buf)
        sha.update(chunk)
        f.write(chunk)
    return sha.hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("n", type=int)
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--size", type=int, default=0)
    ap.add_argument("--order", choices=("walk", "spread"), default="walk")
    a = ap.parse_args()
    global ORDER
    ORDER = a.order
    odir = os.path.dirname(os.path.abspath(a.out))
    tmp = tempfile.mkdtemp(prefix=".gen-files.", dir=odir)
    try:
        per = a.n // a.layers
        diff_ids, files = [], []
        for li in range(a.layers):
            count = per if li < a.layers - 1 else a.n - per * (a.layers - 1)
            extra = []
            if li == a.layers - 1 and li > 0:
                for lo in range(li):  # a whiteout and an overwrite of each lower layer
                    i = lo * per
                    extra.append(("d%02d/d%02d/.wh.f%08d" % (i % 64, i // 64 % 64, i), b""))
                    j = lo * per + 1
                    extra.append(("d%02d/d%02d/f%08d" % (j % 64, j // 64 % 64, j), b"top\n"))
            p = os.path.join(tmp, "l%d.tar" % li)
            diff_ids.append("sha256:" + layer(p, li * per, count, a.size, extra))
            files.append(("l%d/layer.tar" % li, p))
        cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                          "rootfs": {"type": "layers", "diff_ids": diff_ids}},
                         sort_keys=True, separators=(",", ":")).encode()
        ch = hashlib.sha256(cfg).hexdigest()
        man = json.dumps([{"Config": ch + ".json", "RepoTags": ["bench/files:1"],
                           "Layers": [n for n, _ in files]}]).encode()
        part = a.out + ".part"
        with tarfile.open(part, "w", format=tarfile.USTAR_FORMAT) as tf:
            for name, p in files:
                ti = tf.gettarinfo(p, arcname=name)
                ti.uid = ti.gid = 0
                ti.uname = ti.gname = ""
                ti.mtime = MTIME
                ti.mode = 0o644
                with open(p, "rb") as f:
                    tf.addfile(ti, f)
                os.unlink(p)
            for name, data in ((ch + ".json", cfg), ("manifest.json", man)):
                ti = tarfile.TarInfo(name)
                ti.size, ti.mtime, ti.mode = len(data), MTIME, 0o644
                import io
                tf.addfile(ti, io.BytesIO(data))
        os.rename(part, a.out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
