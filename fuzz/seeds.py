#!/usr/bin/env python3
"""Seed corpora for the fuzz targets, made at run time from the fixtures.

    python3 fuzz/seeds.py OUTDIR FIXTURES [REALWORLD]

FIXTURES is what `python3 fixtures/gen.py FIXTURES` wrote (valid fixtures, malformed/, and
fuzz/<target>/ regression seeds); REALWORLD, when given and present, the real-world archives.
Writes OUTDIR/<target>/<name> for the targets archive, json, ref, layer, decode, merge, eco and
dir (see fuzz/README.md for what each one takes); the merge seeds also use tests/flatten/make.py's
archives (hardlinks, whiteouts, opaque directories, hostile layers), and the archive seeds
tests/sbom/make.py's (packages for the SBOM).  Nothing here is committed: it is all derived.
"""

import bz2
import gzip
import hashlib
import io
import json
import lzma
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import zlib

MAX_SEED = 1 << 20      # larger inputs only slow the fuzzer down
TARGETS = ("archive", "json", "ref", "layer", "decode", "merge", "eco", "dir")
MERGE_SEP = b"\n--strata-merge-layer--\n"   # fuzz/merge.c's SEP
MERGE_MAX = 1 << 16


def sha(b):
    return hashlib.sha256(b).hexdigest()


def comp(b):
    if b[:3] == b"\x1f\x8b\x08":
        return "gzip"
    if b[:4] == b"\x28\xb5\x2f\xfd" or (len(b) >= 4 and b[0] & 0xF0 == 0x50 and b[1:4] == b"\x2a\x4d\x18"):
        return "zstd"
    if b[:6] == b"\xfd7zXZ\x00":
        return "xz"
    if b[:3] == b"BZh":
        return "bzip2"
    return None


def decompress(b):
    """Python can undo all but zstd; None when it cannot."""
    c = comp(b)
    try:
        if c == "gzip":
            return gzip.decompress(b)
        if c == "xz":
            return lzma.decompress(b)
        if c == "bzip2":
            return bz2.decompress(b)
    except (OSError, EOFError, lzma.LZMAError, ValueError, zlib.error):
        return None
    return b if c is None else None


def is_tar(b):
    return len(b) >= 512 and b[257:262] == b"ustar" or (len(b) >= 1024 and b[:1024] == bytes(1024))


class Out:
    def __init__(self, root):
        self.root = root
        self.seen = {t: set() for t in TARGETS}
        for t in TARGETS:
            os.makedirs(os.path.join(root, t), exist_ok=True)

    def put(self, target, name, data):
        if not data or len(data) > MAX_SEED:
            return
        h = sha(data)
        if h in self.seen[target]:
            return
        self.seen[target].add(h)
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", name)[:80]
        with open(os.path.join(self.root, target, "%s-%s" % (safe, h[:12])), "wb") as f:
            f.write(data)


def dir_files(path):
    """{relative path: bytes} of a directory tree (an OCI layout)."""
    out = {}
    for d, _, files in os.walk(path):
        for f in sorted(files):
            full = os.path.join(d, f)
            if os.path.isfile(full) and not os.path.islink(full):
                with open(full, "rb") as fh:
                    out[os.path.relpath(full, path)] = fh.read()
    return out


def tar_of(files):
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for p in sorted(files):
            ti = tarfile.TarInfo(p)
            ti.size = len(files[p])
            ti.mtime = 1700000000
            tf.addfile(ti, io.BytesIO(files[p]))
    return bio.getvalue()


def tar_files(data):
    """{member name: bytes} of a (possibly compressed) tar, or {} when unreadable."""
    raw = decompress(data)
    if raw is None or not is_tar(raw):
        return {}
    out = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tf:
            for ti in tf:
                if ti.isfile():
                    name = ti.name[2:] if ti.name.startswith("./") else ti.name
                    out[name] = tf.extractfile(ti).read()
    except (tarfile.TarError, EOFError, OSError):
        return out
    return out


def dir_ref(data, k):
    """A tar for fuzz/dir.c read through the reference k picks (its length % 5: 0 detected,
    1 oci:, 2 registry:): zeros appended, which the tar reader takes as padding."""
    return data + bytes((k - len(data)) % 5)


def registry_tree(files):
    """{path: bytes} of a registry storage tree (formats/regtree.h) holding an OCI layout's
    blobs, its index's manifests as revisions of repository "fuzz", the first tagged "latest"."""
    try:
        index = json.loads(files.get("index.json", b""))
        mans = [m["digest"].split(":", 1)[1] for m in index.get("manifests", [])]
    except (ValueError, AttributeError, KeyError, TypeError, IndexError):
        return {}
    v2, out = "docker/registry/v2/", {}
    repo = v2 + "repositories/fuzz/"
    for p, b in files.items():
        if p.startswith("blobs/sha256/"):
            h = p[len("blobs/sha256/"):]
            out[v2 + "blobs/sha256/%s/%s/data" % (h[:2], h)] = b
            link = ("sha256:" + h).encode()
            out[repo + ("_manifests/revisions" if h in mans else "_layers") + "/sha256/%s/link" % h] = link
    if mans:
        out[repo + "_manifests/tags/latest/current/link"] = ("sha256:" + mans[0]).encode()
        out[repo + "_manifests/tags/latest/index/sha256/%s/link" % mans[0]] = ("sha256:" + mans[0]).encode()
    return out


# ---- json: a made-up catalog whose digests a fuzzer can reach (see fuzz/json.c) ----

FAKE_DOCS = "abcde"


def json_seed(files):
    """manifest.json NUL index.json NUL oci-layout NUL blob a..e, digests rewritten."""
    docs, layers = [], {}
    for p, b in sorted(files.items()):
        hexname = p[len("blobs/sha256/"):] if p.startswith("blobs/sha256/") else None
        if p.endswith(".json") and len(p) == 69:
            hexname = p[:64]
        if p.startswith("sha256:") and len(p) == 71:
            hexname = p[7:]
        if hexname is None or len(hexname) != 64:
            if p.endswith("layer.tar") or p.endswith(".tar") or p.endswith(".tar.gz"):
                layers[p] = b
            continue
        if b.lstrip()[:1] in (b"{", b"["):
            docs.append((hexname, p, b))
        else:
            layers[hexname] = b
    remap = {}
    for i, (h, _, _) in enumerate(docs[:len(FAKE_DOCS)]):
        remap[h] = FAKE_DOCS[i] * 64
    for h, b in layers.items():
        c = comp(b)
        remap[sha(b)] = ("2" if c == "gzip" else "1") * 64
        raw = decompress(b)
        if raw is not None:
            remap[sha(raw)] = ("3" if c == "gzip" else "1") * 64
        if len(h) == 64:
            remap[h] = remap[sha(b)]

    def rewrite(b):
        s = b.decode("utf-8", "replace")
        for real, fake in remap.items():
            s = s.replace(real, fake)
        return s.encode()

    def docker_manifest(b):
        try:
            man = json.loads(b)
        except ValueError:
            return rewrite(b)
        if not isinstance(man, list):
            return rewrite(b)
        for item in man:
            if not isinstance(item, dict):
                continue
            cfg = item.get("Config")
            if isinstance(cfg, str) and cfg in files and sha(files[cfg]) in remap:
                item["Config"] = "blobs/sha256/" + remap[sha(files[cfg])]
            lays = item.get("Layers")
            if isinstance(lays, list):
                item["Layers"] = ["blobs/sha256/" + remap[sha(files[l])]
                                  if isinstance(l, str) and l in files and sha(files[l]) in remap
                                  else "layer.tar" for l in lays]
        return rewrite(json.dumps(man, separators=(",", ":")).encode())

    # configs and manifests may be named by content digest; keep their hex in the map
    for h, p, b in docs:
        remap.setdefault(sha(b), remap.get(h, h))
    parts = [docker_manifest(files["manifest.json"]) if "manifest.json" in files else b"",
             rewrite(files.get("index.json", b"")), files.get("oci-layout", b"")]
    parts += [rewrite(b) for _, _, b in docs[:len(FAKE_DOCS)]]
    if any(b"\0" in p for p in parts):
        return None
    return b"\0".join(parts)


def docker_layers(data):
    """The layer tars (decompressed, bottom first) of each image of a docker-archive."""
    out = []
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tf:
            man = json.loads(tf.extractfile("manifest.json").read())
            for item in man:
                raws = []
                for lay in item.get("Layers", []):
                    raw = decompress(tf.extractfile(lay).read())
                    if raw is not None and is_tar(raw):
                        raws.append(raw)
                out.append(raws)
    except (tarfile.TarError, KeyError, ValueError, EOFError, OSError, AttributeError, TypeError):
        pass
    return out


def merge_seeds(out, name, raws):
    """fuzz/merge.c's input: 1-3 consecutive layers (bottom first) joined by MERGE_SEP."""
    for i in range(len(raws)):
        for k in (1, 2, 3):
            if i + k <= len(raws):
                s = MERGE_SEP.join(raws[i:i + k])
                if len(s) <= MERGE_MAX:
                    out.put("merge", "%s-%d-%d" % (name, i, k), s)


def flatten_seeds(out):
    """tests/flatten/make.py's archives, their layers as merge seeds."""
    make = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "flatten", "make.py")
    if not os.path.exists(make):
        return
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, make, tmp], check=True, stdout=subprocess.DEVNULL)
        for f in sorted(os.listdir(tmp)):
            if f.endswith(".tar"):
                with open(os.path.join(tmp, f), "rb") as fh:
                    for j, raws in enumerate(docker_layers(fh.read())):
                        merge_seeds(out, "flatten-%s-%d" % (f, j), raws)


def sbom_seeds(out):
    """tests/sbom's archives (dpkg, status.d, apk; rpm, Python, npm): archive seeds that reach the SBOM."""
    d = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "sbom")
    if not os.path.exists(os.path.join(d, "make.py")):
        return
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, os.path.join(d, "make.py"), tmp], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([sys.executable, os.path.join(d, "eco.py"), "make", tmp], check=True, stdout=subprocess.DEVNULL)
        for f in sorted(os.listdir(tmp)):
            full = os.path.join(tmp, f)
            if f.endswith(".tar") and os.path.getsize(full) <= MAX_SEED:
                with open(full, "rb") as fh:
                    out.put("archive", "sbom-" + f, fh.read())


REFS = [
    b"docker-archive:app.tar:strata/app:1.0", b"docker-archive:app.tar:@1", b"oci:layout:1.0",
    b"oci-archive:app.tar", b"rootfs:rootfs.tar.xz", b"-", b"app.tar", b"docker-archive:a:b",
    b"linux/arm64/v8", b"linux/amd64",
    b"lowestEfficiency=0.95,highestWastedBytes=20MB,highestUserWastedPercent=0.1",
    b"highestWastedBytes=20MiB", b"highestWastedBytes=1.5GB",
]


def eco_seeds(out):
    """fuzz/eco.c: a selector byte, then an rpm header, METADATA, RECORD, package.json, Go build info, an ELF"""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "sbom"))
    import eco  # tests/sbom/eco.py
    out.put("eco", "rpm", b"\0" + eco.rpm_header({1000: (6, [b"hello"]), 1001: (6, [b"1.2"]), 1002: (6, [b"3"]),
                                                  1022: (6, [b"noarch"]), 1014: (6, [b"MIT"]),
                                                  1117: (8, [b"a", b"b"]), 1118: (8, [b"/usr/bin/"])}))
    out.put("eco", "metadata", b"\1Metadata-Version: 2.1\nName: foo\nVersion: 1.0\nLicense: MIT\n"
                               b"Classifier: License :: OSI Approved :: MIT License\n\nbody\n")
    out.put("eco", "record", b"\2foo/__init__.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\n"
                             b"\"a,b\",,\n../../../bin/x,,\n")
    out.put("eco", "package.json", b'\3{"name": "@s/p", "version": "1.0.0", "licenses": [{"type": "MIT"}]}')
    elf = eco.go_elf(("example.com/app", "v1.0.0"), [("github.com/a/b", "v0.1.0"),
                                                      ("ex.com/old", "v1", ("ex.com/new", "v2", "h1:x="))], pad=64)
    at = elf.index(b"\xff Go buildinf:")
    out.put("eco", "buildinfo", b"\4" + elf[at:at + 512])
    out.put("eco", "elf", b"\5" + elf)


def main(argv):
    if len(argv) not in (3, 4):
        sys.stderr.write(__doc__)
        return 2
    out = Out(argv[1])
    fix = argv[2]
    sources = []     # (name, bytes of an archive)
    layouts = []     # (name, {path: bytes})
    for top in [fix, os.path.join(fix, "malformed")] + ([argv[3]] if len(argv) == 4 else []):
        if not os.path.isdir(top):
            continue
        for name in sorted(os.listdir(top)):
            full = os.path.join(top, name)
            if os.path.isdir(full) and os.path.exists(os.path.join(full, "index.json")):
                layouts.append((name, dir_files(full)))
            elif os.path.isfile(full) and not name.endswith((".tsv", ".md", ".json")):
                if os.path.getsize(full) <= MAX_SEED:
                    with open(full, "rb") as f:
                        sources.append((name, f.read()))
    for name, files in layouts:
        data = tar_of(files)
        sources.append((name + ".tar", data))
        out.put("archive", name + ".tar", data)
        out.put("dir", name + ".tar", dir_ref(data, 0))    # the layout as a tree (fuzz/dir.c)
        out.put("dir", name + "-oci.tar", dir_ref(data, 1))
        out.put("dir", name + "-registry.tar", dir_ref(tar_of(registry_tree(files)), 2))
        s = json_seed(files)
        if s:
            out.put("json", name, s)
    for name, data in sources:
        out.put("archive", name, data)
        if is_tar(data) and b"oci-layout" in data[:1 << 16]:
            out.put("dir", name, dir_ref(data, 0))          # an oci-archive is a layout's tree
            out.put("dir", name + "-oci", dir_ref(data, 1))
            files = tar_files(data)
            if files:
                out.put("dir", name + "-registry", dir_ref(tar_of(registry_tree(files)), 2))
        if comp(data):
            out.put("decode", name, data)
        if is_tar(decompress(data) or b""):
            out.put("layer", name, data)
        for j, raws in enumerate(docker_layers(data) if b"manifest.json" in data[:1 << 16] else []):
            merge_seeds(out, "%s-%d" % (name, j), raws)
        files = tar_files(data)
        if files:
            s = json_seed(files)
            if s:
                out.put("json", name, s)
        for member, b in files.items():
            if comp(b):
                out.put("decode", name + "-" + member, b)
            raw = decompress(b)
            if raw is not None and is_tar(raw):
                out.put("layer", name + "-" + member, b)
                if len(raw) <= MERGE_MAX:
                    out.put("merge", name + "-" + member, raw)
    # what the fixtures do not hold: concatenated streams of every kind
    text = b"strata fuzz seed\n" * 64
    out.put("decode", "gzip-2-members", gzip.compress(text, mtime=0) + gzip.compress(text, mtime=0) + bytes(16))
    out.put("decode", "xz-2-streams", lzma.compress(text) + lzma.compress(text))
    out.put("decode", "bzip2", bz2.compress(text))
    out.put("decode", "zstd-skippable", b"\x50\x2a\x4d\x18\x04\x00\x00\x00skip")
    flatten_seeds(out)
    sbom_seeds(out)
    eco_seeds(out)
    for i, r in enumerate(REFS):
        out.put("ref", "ref%d" % i, r)
    # regression seeds: minimized inputs of crashes found and fixed (fixtures/gen.py)
    reg = os.path.join(fix, "fuzz")
    for t in TARGETS:
        d = os.path.join(reg, t)
        if os.path.isdir(d):
            for name in sorted(os.listdir(d)):
                with open(os.path.join(d, name), "rb") as f:
                    out.put(t, "regress-" + name, f.read())
    for t in TARGETS:
        print("%s: %d seeds" % (t, len(out.seen[t])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
