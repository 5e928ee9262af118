#!/usr/bin/env python3
"""bench/gen-image.py OUT.tar [--size-mib 1024] [--seed 1]

Writes a deterministic docker-archive of about SIZE MiB of uncompressed layers, in the
classic `docker save` layout:

    <v1id>/VERSION  <v1id>/json  <v1id>/layer.tar     one directory per layer
    <config-hex>.json                                 the image config (rootfs.diff_ids)
    manifest.json  repositories

Eight layers of mixed content, each from its own seeded PRNG (so a layer does not
depend on the others, and the same arguments give a byte-identical archive):

    1 small     tens of thousands of small files (text and binary), many directories
    2 src       source-like text files, 1-64 KiB           (gzip -6 ~3.7x)
    3 lib       binary files, 16 KiB-4 MiB (PRNG bytes)    (incompressible)
    4 big       a few big files: two binary, one text
    5 elf       "executables": PRNG code, zero padding and string tables interleaved
    6 doc       documentation-like text, 4-256 KiB
    7 mixed     medium files, text and binary
    8 app       a small top layer: symlinks, a hard link, a whiteout of a lower file

Everything is streamed: each layer tar is written to a temp file next to OUT (hashed
while it is written, which gives the diff_id), then copied into OUT, then removed. OUT is
written under a temp name and renamed when complete. Python 3.9+ stdlib only.
"""
import argparse
import hashlib
import itertools
import json
import os
import random
import shutil
import sys
import tarfile
import tempfile
import time

BLOCK = 512
EPOCH = "1970-01-01T00:00:00Z"
REPO, TAG = "bench/image", "1"


# ---------------------------------------------------------------- content sources

def make_text_pool(seed, size):
    """About SIZE bytes of text: prose-like and C-like lines over a Zipf vocabulary
    of pronounceable words.  gzip -6 compresses it about 3.7x, gzip -1 about 2.9x."""
    r = random.Random(seed)
    onsets = ["", "b", "c", "d", "f", "g", "h", "l", "m", "n", "p", "r", "s", "t", "v",
              "st", "tr", "ch", "sh", "th"]
    syl = [a + b for a in onsets for b in ["a", "e", "i", "o", "u", "ou", "ea", "ai"]]
    ends = ("", "", "", "s", "ed", "ing", "er", "ly", "tion")

    def word():
        n = r.choice((1, 1, 2, 2, 2, 3, 3, 4))
        return "".join(r.choice(syl) for _ in range(n)) + r.choice(ends)

    vocab = sorted({word() for _ in range(3000)})
    r.shuffle(vocab)
    cum = list(itertools.accumulate(1.0 / (i + 1) ** 1.1 for i in range(len(vocab))))
    kws = ["if", "for", "return", "static", "int", "const", "char", "void", "struct",
           "while", "else", "size_t", "NULL", "unsigned"]
    lines, total = [], 0
    while total < size:
        if r.random() < 0.5:
            ws = r.choices(vocab, cum_weights=cum, k=r.randint(4, 14))
            line = " ".join(ws).capitalize() + r.choice((".", ".", ",", ":"))
        else:
            ind = "\t" * r.randint(0, 3)
            ws = r.choices(vocab, cum_weights=cum, k=r.randint(1, 4))
            form = r.randrange(6)
            if form == 0:
                line = "%s%s %s_%s = %d;" % (ind, r.choice(kws), ws[0], ws[-1], r.randrange(100))
            elif form == 1:
                line = "%sif (%s(ctx, %d) != NULL) {" % (ind, "_".join(ws), r.randrange(16))
            elif form == 2:
                line = "%s%s(%s);" % (ind, ws[0], ", ".join(ws[1:]))
            elif form == 3:
                line = "%s/* %s */" % (ind, " ".join(ws))
            elif form == 4:
                line = "%sreturn %s;" % (ind, ws[0])
            else:
                line = ind + "}"
        lines.append(line)
        total += len(line) + 1
    return ("\n".join(lines) + "\n").encode()


class Content:
    """Byte generators for one layer, all from the layer's own PRNG."""

    def __init__(self, r, pool):
        self.r = r
        self.pool = pool

    def text(self, n):
        """N bytes of text: slices of the pool at random offsets (line-aligned starts)."""
        out, left, pool, r = [], n, self.pool, self.r
        while left > 0:
            k = min(left, 1 << 20)
            o = r.randrange(len(pool) - k)
            nl = pool.find(b"\n", o, o + 200)
            if nl >= 0 and nl + 1 + k <= len(pool):
                o = nl + 1
            out.append(pool[o:o + k])
            left -= k
        return b"".join(out)

    def binary(self, n):
        return self.r.randbytes(n)

    def elf(self, n):
        """Executable-like: runs of PRNG bytes ("code"), zero padding and string tables."""
        out, left, r = [], n, self.r
        while left > 0:
            k = min(left, r.randint(512, 64 << 10))
            kind = r.random()
            if kind < 0.6:
                out.append(r.randbytes(k))
            elif kind < 0.75:
                out.append(bytes(k))
            else:
                out.append(self.text(k).replace(b"\n", b"\0"))
            left -= k
        return b"".join(out)

    def chunks(self, kind, n, step=8 << 20):
        """The N bytes of KIND in pieces of at most STEP (big files never sit in memory whole)."""
        while n > 0:
            k = min(n, step)
            yield getattr(self, kind)(k)
            n -= k


# ---------------------------------------------------------------- tar writing

def header(name, size=0, mode=0o644, kind=tarfile.REGTYPE, linkname=""):
    ti = tarfile.TarInfo(name)
    ti.size = size
    ti.mode = mode
    ti.type = kind
    ti.linkname = linkname
    ti.mtime = 0
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = "root"
    return ti.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def pad(n):
    return bytes(-n % BLOCK)


class HashingWriter:
    """Buffered writes to a file, hashed on the way (sha256 of everything written)."""

    def __init__(self, f):
        self.f = f
        self.h = hashlib.sha256()
        self.buf = bytearray()
        self.size = 0

    def write(self, b):
        self.buf += b
        self.size += len(b)
        if len(self.buf) >= 1 << 20:
            self.flush()

    def flush(self):
        if self.buf:
            self.h.update(self.buf)
            self.f.write(self.buf)
            self.buf = bytearray()


class LayerTar:
    """One layer tar: directories are emitted once, before their first child."""

    def __init__(self, w):
        self.w = w
        self.dirs = set()
        self.files = 0
        self.first = None   # the first regular file written

    def _parents(self, path):
        parts = path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d not in self.dirs:
                self.dirs.add(d)
                self.w.write(header(d + "/", mode=0o755, kind=tarfile.DIRTYPE))

    def file(self, path, data, mode=0o644):
        self._parents(path)
        self.w.write(header(path, len(data), mode))
        self.w.write(data)
        self.w.write(pad(len(data)))
        self.files += 1
        self.first = self.first or path

    def file_chunks(self, path, size, chunks, mode=0o644):
        self._parents(path)
        self.w.write(header(path, size, mode))
        for c in chunks:
            self.w.write(c)
        self.w.write(pad(size))
        self.files += 1

    def link(self, path, target, hard=False):
        self._parents(path)
        self.w.write(header(path, 0, 0o777 if not hard else 0o644,
                            tarfile.LNKTYPE if hard else tarfile.SYMTYPE, target))

    def close(self):
        self.w.write(bytes(2 * BLOCK))
        self.w.flush()


# ---------------------------------------------------------------- the layers

def lognorm_size(r, median, sigma, lo, hi):
    return max(lo, min(hi, int(r.lognormvariate(0, sigma) * median)))


def layer_small(t, c, budget):
    """Tens of thousands of small files in directories of 50-400 files."""
    r, used, d, n = c.r, 0, 0, 0
    while used < budget:
        d += 1
        base = "usr/share/bench/small/pkg%04d/%s" % (d, r.choice(("etc", "data", "lib", "share")))
        for _ in range(r.randint(50, 400)):
            n += 1
            size = lognorm_size(r, 700, 1.2, 1, 64 << 10)
            if r.random() < 0.7:
                t.file("%s/f%06d.txt" % (base, n), c.text(size))
            else:
                t.file("%s/f%06d.bin" % (base, n), c.binary(size))
            used += BLOCK + size + (-size % BLOCK)
            if used >= budget:
                break


def layer_files(prefix, ext, kind, median, sigma, lo, hi, mode=0o644):
    def fill(t, c, budget):
        r, used, n = c.r, 0, 0
        while used < budget:
            n += 1
            size = min(lognorm_size(r, median, sigma, lo, hi), max(1, budget - used))
            path = "%s/d%03d/%s%05d%s" % (prefix, n // 64, "f", n, ext)
            if size > (8 << 20):
                t.file_chunks(path, size, c.chunks(kind, size), mode)
            else:
                t.file(path, getattr(c, kind)(size), mode)
            used += BLOCK + size + (-size % BLOCK)
    return fill


def layer_big(t, c, budget):
    """A few big files: two binary, one text, streamed in 8 MiB pieces."""
    parts = [("opt/bench/big/blob-a.bin", "binary", 0.4),
             ("opt/bench/big/blob-b.bin", "binary", 0.3),
             ("opt/bench/big/corpus.txt", "text", 0.3)]
    for path, kind, share in parts:
        size = int(budget * share)
        t.file_chunks(path, size, c.chunks(kind, size))


def layer_mixed(t, c, budget):
    r, used, n = c.r, 0, 0
    while used < budget:
        n += 1
        size = min(lognorm_size(r, 64 << 10, 1.0, 1, 2 << 20), max(1, budget - used))
        kind = r.choice(("text", "binary", "elf"))
        t.file("srv/bench/mixed/g%02d/m%05d.%s" % (n % 32, n, kind), getattr(c, kind)(size))
        used += BLOCK + size + (-size % BLOCK)


def layer_app(t, c, budget, lower_victim):
    """The top layer: some app files, symlinks (relative and absolute, inside the root),
    a hard link to a file of this layer, and a whiteout deleting a file of a lower layer."""
    r, used, n = c.r, 0, 0
    while used < budget:
        n += 1
        size = min(lognorm_size(r, 16 << 10, 1.0, 1, 1 << 20), max(1, budget - used))
        kind = "text" if n % 3 else "binary"
        t.file("app/lib/a%04d.%s" % (n, "py" if kind == "text" else "so"), getattr(c, kind)(size))
        used += BLOCK + size + (-size % BLOCK)
    t.file("app/bin/server", c.elf(256 << 10), 0o755)
    t.link("app/bin/srv", "server")
    t.link("usr/local/bin/server", "/app/bin/server")
    t.link("app/current", "lib")
    t.link("app/bin/server-hard", "app/bin/server", hard=True)
    d, b = lower_victim.rsplit("/", 1)
    t.file("%s/.wh.%s" % (d, b), b"")


# (name, share of the size, filler, seed offset, created_by)
LAYERS = [
    ("small", 0.10, layer_small, "COPY small/ /usr/share/bench/small/"),
    ("src", 0.15, layer_files("usr/src/bench", ".c", "text", 12 << 10, 1.0, 64, 64 << 10),
     "COPY src/ /usr/src/bench/"),
    ("lib", 0.20, layer_files("usr/lib/bench", ".so", "binary", 512 << 10, 1.1, 16 << 10, 4 << 20),
     "RUN install-libs"),
    ("big", 0.20, layer_big, "ADD big/ /opt/bench/big/"),
    ("elf", 0.12, layer_files("usr/bin/bench", "", "elf", 1 << 20, 0.8, 8 << 10, 8 << 20, 0o755),
     "RUN install-bins"),
    ("doc", 0.13, layer_files("usr/share/doc/bench", ".txt", "text", 48 << 10, 1.0, 4 << 10, 256 << 10),
     "COPY doc/ /usr/share/doc/bench/"),
    ("mixed", 0.08, layer_mixed, "COPY mixed/ /srv/bench/mixed/"),
    ("app", 0.02, None, "COPY app/ /app/"),
]


def write_layer(i, name, share, fill, size, seed, pool, tmpdir, victim):
    c = Content(random.Random("%d/%d/%s" % (seed, i, name)), pool)
    fd, path = tempfile.mkstemp(prefix=".layer-", suffix=".tar", dir=tmpdir)
    with os.fdopen(fd, "wb", buffering=0) as f:
        w = HashingWriter(f)
        t = LayerTar(w)
        budget = int(size * share)
        if fill is None:
            layer_app(t, c, budget, victim)
        else:
            fill(t, c, budget)
        t.close()
    return path, "sha256:" + w.h.hexdigest(), w.size, t.files, t.first


# ---------------------------------------------------------------- the archive

def copy_into(out, path, size):
    """Append the file at PATH to the unbuffered file OUT, in the kernel when possible."""
    with open(path, "rb") as src:
        left = size
        try:
            while left > 0:
                n = os.copy_file_range(src.fileno(), out.fileno(), min(left, 1 << 30))
                if n <= 0:
                    break
                left -= n
        except (AttributeError, OSError):
            pass
        if left:
            src.seek(size - left)
            out.seek(0, os.SEEK_END)
            shutil.copyfileobj(src, out, 1 << 20)


def main():
    ap = argparse.ArgumentParser(description="Write a deterministic ~SIZE MiB docker-archive for bench/.")
    ap.add_argument("out")
    ap.add_argument("--size-mib", type=int, default=1024, help="uncompressed layers, MiB (default 1024)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-q", "--quiet", action="store_true")
    a = ap.parse_args()
    if a.size_mib < 8:
        ap.error("--size-mib must be at least 8")
    size = a.size_mib << 20
    t0 = time.time()
    outdir = os.path.dirname(os.path.abspath(a.out))
    pool = make_text_pool(a.seed, 8 << 20)
    tmp_out = a.out + ".tmp"
    diff_ids, v1ids, history = [], [], []
    layer_path = victim = None
    try:
        with open(tmp_out, "wb", buffering=0) as out:
            parent = ""
            for i, (name, share, fill, created_by) in enumerate(LAYERS):
                layer_path, diff_id, lsize, nfiles, first = write_layer(i, name, share, fill, size, a.seed,
                                                                        pool, outdir, victim)
                victim = victim or first
                v1id = hashlib.sha256(("%s %s" % (parent, diff_id)).encode()).hexdigest()
                v1 = {"id": v1id}
                if parent:
                    v1["parent"] = parent
                v1.update({"created": EPOCH, "container_config": {"Cmd": ["/bin/sh", "-c", created_by]},
                           "os": "linux"})
                if i == len(LAYERS) - 1:
                    v1.update({"architecture": "amd64", "config": config_body()})
                v1json = json.dumps(v1, separators=(",", ":")).encode()
                out.write(header(v1id + "/", mode=0o755, kind=tarfile.DIRTYPE))
                for member, data in (("VERSION", b"1.0"), ("json", v1json)):
                    out.write(header("%s/%s" % (v1id, member), len(data)) + data + pad(len(data)))
                out.write(header(v1id + "/layer.tar", lsize))
                copy_into(out, layer_path, lsize)
                out.write(pad(lsize))
                os.unlink(layer_path)
                layer_path = None
                diff_ids.append(diff_id)
                v1ids.append(v1id)
                history.append({"created": EPOCH, "created_by": "/bin/sh -c #(nop) " + created_by})
                parent = v1id
                if not a.quiet:
                    print("layer %d %-6s %9.1f MiB %6d files  %s  (%.1f s)"
                          % (i + 1, name, lsize / 2 ** 20, nfiles, diff_id[:19], time.time() - t0),
                          file=sys.stderr)
            history.append({"created": EPOCH, "created_by": '/bin/sh -c #(nop)  CMD ["/app/bin/server"]',
                            "empty_layer": True})
            cfg = json.dumps({"architecture": "amd64", "config": config_body(), "created": EPOCH,
                              "history": history, "os": "linux",
                              "rootfs": {"type": "layers", "diff_ids": diff_ids}},
                             separators=(",", ":")).encode()
            cid = hashlib.sha256(cfg).hexdigest()
            man = json.dumps([{"Config": cid + ".json", "RepoTags": ["%s:%s" % (REPO, TAG)],
                               "Layers": ["%s/layer.tar" % v for v in v1ids]}],
                             separators=(",", ":")).encode()
            repos = json.dumps({REPO: {TAG: v1ids[-1]}}, separators=(",", ":")).encode() + b"\n"
            for member, data in ((cid + ".json", cfg), ("manifest.json", man + b"\n"),
                                 ("repositories", repos)):
                out.write(header(member, len(data)) + data + pad(len(data)))
            out.write(bytes(2 * BLOCK))
        os.replace(tmp_out, a.out)
    finally:
        for p in (layer_path, tmp_out):
            if p and os.path.exists(p):
                os.unlink(p)
    if not a.quiet:
        print("%s: %.1f MiB, %d layers, config sha256:%s (%.1f s)"
              % (a.out, os.path.getsize(a.out) / 2 ** 20, len(diff_ids), cid, time.time() - t0),
              file=sys.stderr)


def config_body():
    return {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["/app/bin/server"], "WorkingDir": "/app"}


if __name__ == "__main__":
    main()
