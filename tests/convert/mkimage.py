#!/usr/bin/env python3
"""mkimage.py OUT.tar --tag NAME:TAG --layer KIND:SIZE[:SEED] [--layer ...]

Writes a deterministic docker-archive (the skopeo/podman shape: <diffid>.tar at the root, <config hex>.json,
manifest.json, repositories) with one layer per --layer. Each layer holds a directory and one file of SIZE
bytes (K/M/G suffixes) of KIND data:
  random  seeded PRNG bytes (incompressible; gzip of it is slow and big: good for interrupting a conversion)
  text    seeded pseudo-text (compresses about 3:1; several 128 KiB gzip blocks, so --threads matters)
Same arguments, same bytes. Standard library only.
"""
import argparse
import hashlib
import io
import json
import os
import random
import sys
import tarfile

MTIME = 1700000000
WORDS = ("strata layer image digest verify convert archive manifest config blob tar gzip zstd "
         "container registry platform index oci docker podman skopeo umoci containerd the a of and "
         "to in is it for on with as at by from").split()


class Gen(io.RawIOBase):
    """A read()-able stream of SIZE deterministic bytes."""

    def __init__(self, kind, size, seed):
        self.kind, self.left, self.rng = kind, size, random.Random(seed)
        self.pending = b""

    def readable(self):
        return True

    def _chunk(self):
        if self.kind == "random":
            return self.rng.randbytes(1 << 20)
        words = self.rng.choices(WORDS, k=12000)
        for i in range(0, len(words), 11):
            words[i] += "\n"
        return " ".join(words).encode() + b"\n"

    def read(self, n=-1):
        if n is None or n < 0:
            n = self.left
        n = min(n, self.left)
        while len(self.pending) < n:
            self.pending += self._chunk()
        out, self.pending = self.pending[:n], self.pending[n:]
        self.left -= len(out)
        return out


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def size_arg(s):
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    if s[-1:].upper() in mult:
        return int(s[:-1]) * mult[s[-1].upper()]
    return int(s)


def tinfo(name, size=0, typ=tarfile.REGTYPE, mode=0o644):
    ti = tarfile.TarInfo(name)
    ti.size, ti.type, ti.mode, ti.mtime = size, typ, mode, MTIME
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    return ti


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--tag", default="strata/convert-test:1")
    ap.add_argument("--layer", action="append", required=True)
    a = ap.parse_args()

    tmp = a.out + ".mkimage-tmp"
    os.makedirs(tmp, exist_ok=True)
    diff_ids, files = [], []
    for i, spec in enumerate(a.layer):
        parts = spec.split(":")
        kind, size = parts[0], size_arg(parts[1])
        seed = int(parts[2]) if len(parts) > 2 else i + 1
        if kind not in ("random", "text"):
            sys.exit("mkimage: KIND must be random or text")
        path = os.path.join(tmp, "layer%d.tar" % i)
        with tarfile.open(path, mode="w", format=tarfile.PAX_FORMAT) as t:
            t.addfile(tinfo("data%d/" % i, typ=tarfile.DIRTYPE, mode=0o755))
            t.addfile(tinfo("data%d/%s.bin" % (i, kind), size), Gen(kind, size, seed))
        diff_ids.append("sha256:" + file_sha256(path))
        files.append(path)

    created = "2023-11-14T22:13:20Z"
    config = {
        "architecture": "amd64", "os": "linux", "created": created,
        "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/usr/bin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": created, "created_by": "mkimage.py layer %d" % i} for i in range(len(files))],
    }
    cfg = json.dumps(config, separators=(",", ":")).encode()
    cfg_hex = hashlib.sha256(cfg).hexdigest()
    layers = [d[len("sha256:"):] + ".tar" for d in diff_ids]
    manifest = json.dumps([{"Config": cfg_hex + ".json", "RepoTags": [a.tag], "Layers": layers}],
                          separators=(",", ":")).encode() + b"\n"
    name, tag = a.tag.rsplit(":", 1)
    repos = json.dumps({name: {tag: diff_ids[-1][len("sha256:"):]}}, separators=(",", ":")).encode() + b"\n"

    with open(a.out + ".part", "wb") as f, tarfile.open(fileobj=f, mode="w", format=tarfile.PAX_FORMAT) as t:
        for path, member in zip(files, layers):
            with open(path, "rb") as lf:
                t.addfile(tinfo(member, os.path.getsize(path)), lf)
        for member, data in ((cfg_hex + ".json", cfg), ("manifest.json", manifest), ("repositories", repos)):
            t.addfile(tinfo(member, len(data)), io.BytesIO(data))
    os.replace(a.out + ".part", a.out)
    for path in files:
        os.unlink(path)
    os.rmdir(tmp)


if __name__ == "__main__":
    main()
