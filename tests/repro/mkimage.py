#!/usr/bin/env python3
"""tests/repro/mkimage.py OUT.tar - a deterministic docker-archive for the
reproducibility test: one ~10 MiB layer (text-like files, incompressible
noise, zeros, a binary-like file: several 1 MiB gzip blocks and several
libzstd jobs at --zstd=1) and one small layer.  Python stdlib only."""
import hashlib, io, json, random, sys, tarfile

def layer(files):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in files:
            ti = tarfile.TarInfo(name)
            ti.size, ti.mtime, ti.mode = len(data), 1700000000, 0o644
            t.addfile(ti, io.BytesIO(data))
    return b.getvalue()

def main(out):
    r = random.Random(16)
    words = ["".join(r.choice("etaoinshrdlucmfw") for _ in range(r.randint(2, 9))) for _ in range(3000)]
    def text(n):
        parts, size = [], 0
        while size < n:
            w = words[min(int(r.paretovariate(1.1)) - 1, len(words) - 1)]
            parts.append(w)
            size += len(w) + 1
        return (" ".join(parts) + "\n").encode()[:n]
    def binary(n):  # runs of noise, small integers and repeated structs, like an executable
        out = bytearray()
        while len(out) < n:
            k = r.randint(64, 4096)
            c = r.randint(0, 2)
            out += r.randbytes(k) if c == 0 else bytes(r.randint(0, 15) for _ in range(k // 8)) * 8 if c == 1 else (b"\x48\x89\xe5\x41\x57" + r.randbytes(11)) * (k // 16)
        return bytes(out[:n])
    big = [("usr/share/doc/a.txt", text(3 << 20)), ("usr/lib/noise.bin", r.randbytes(2 << 20)),
           ("usr/lib/zeros", bytes(1 << 20)), ("usr/bin/tool", binary(3 << 20)),
           ("usr/share/doc/b.txt", text(700 << 10))]
    small = [("etc/app.conf", text(20000)), ("app/run.sh", b"#!/bin/sh\nexec /usr/bin/tool\n")]
    layers = [layer(big), layer(small)]
    diff_ids = ["sha256:" + hashlib.sha256(l).hexdigest() for l in layers]
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
                      "config": {"Cmd": ["/app/run.sh"]}, "rootfs": {"type": "layers", "diff_ids": diff_ids},
                      "history": [{"created_by": "repro %d" % i} for i in range(len(layers))]},
                     separators=(",", ":")).encode()
    cfg_name = hashlib.sha256(cfg).hexdigest() + ".json"
    names = ["l%d/layer.tar" % i for i in range(len(layers))]
    manifest = json.dumps([{"Config": cfg_name, "RepoTags": ["repro/image:1"], "Layers": names}]).encode()
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as t:
        for name, data in list(zip(names, layers)) + [(cfg_name, cfg), ("manifest.json", manifest)]:
            ti = tarfile.TarInfo(name)
            ti.size, ti.mtime, ti.mode = len(data), 1700000000, 0o644
            t.addfile(ti, io.BytesIO(data))

if __name__ == "__main__":
    main(sys.argv[1])
