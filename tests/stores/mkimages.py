#!/usr/bin/env python3
"""mkimages.py DIR - the inputs tests/stores/run.sh builds its images from.

DIR/ctx1/rootfs.tar.xz  files, a hardlink, a symlink, long names (pax), an
                        xattr (user.strata), empty file, 0-byte dir
DIR/ctx1/l2/            a directory COPY adds as a second layer
DIR/ctx1/Dockerfile     FROM scratch + ADD + COPY
DIR/ctx2/Dockerfile     FROM img1 + COPY (a shared parent chain)
DIR/wh.tar              a docker-archive of 2 layers, the second with a
                        whiteout (.wh.gone), an opaque dir (.wh..wh..opq)
                        and a hardlink (opq/new2 to opq/new)
Everything is deterministic (mtime 0, fixed bytes).
"""
import hashlib, io, json, lzma, os, sys, tarfile

out = sys.argv[1]
noxattr = len(sys.argv) > 2 and sys.argv[2] == "--no-xattr"


def add(tf, name, data=None, typ=tarfile.REGTYPE, link="", mode=0o644, pax=None):
    ti = tarfile.TarInfo(name)
    ti.type, ti.linkname, ti.mode, ti.mtime = typ, link, mode, 0
    if typ == tarfile.DIRTYPE:
        ti.mode = 0o755
    if pax:
        ti.pax_headers = pax
    if data is not None:
        ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))
    else:
        tf.addfile(ti)


def tarbytes(entries, fmt=tarfile.PAX_FORMAT):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=fmt) as tf:
        for e in entries:
            add(tf, *e[0], **e[1])
    return b.getvalue()


os.makedirs(out + "/ctx1/l2/sub", exist_ok=True)
os.makedirs(out + "/ctx2", exist_ok=True)
big = bytes((i * 7 + (i >> 9)) & 0xFF for i in range(300000))
longdir = "d" * 120
longname = longdir + "/" + "f" * 150
ents = [
    (("etc",), {"typ": tarfile.DIRTYPE}),
    (("etc/hello", b"hello\n"), {}),
    (("etc/gone", b"to be deleted\n"), {}),
    (("etc/empty", b""), {}),
    (("bin",), {"typ": tarfile.DIRTYPE}),
    (("bin/big", big), {"mode": 0o755}),
    (("bin/big2",), {"typ": tarfile.LNKTYPE, "link": "bin/big"}),
    (("bin/sh",), {"typ": tarfile.SYMTYPE, "link": "big"}),
    ((longdir,), {"typ": tarfile.DIRTYPE}),
    ((longname, b"long name\n"), {}),
]
if not noxattr:
    ents.append((("etc/attr", b"xattr\n"), {"pax": {"SCHILY.xattr.user.strata": "yes"}}))
raw = tarbytes(ents)
with open(out + "/ctx1/rootfs.tar.xz", "wb") as f:
    f.write(lzma.compress(raw))
with open(out + "/ctx1/l2/sub/new", "wb") as f:
    f.write(b"second layer\n" * 100)
with open(out + "/ctx1/Dockerfile", "w") as f:
    f.write("FROM scratch\nADD rootfs.tar.xz /\nCOPY l2 /l2/\n")
with open(out + "/ctx2/extra", "wb") as f:
    f.write(os.urandom(0) + b"extra\n")
with open(out + "/ctx2/Dockerfile", "w") as f:
    f.write("FROM strata-img1:v1\nCOPY extra /etc/extra\n")

# the whiteout image, as a docker-archive
l1 = tarbytes([
    (("etc",), {"typ": tarfile.DIRTYPE}),
    (("etc/gone", b"bye\n"), {}),
    (("etc/keep", b"keep\n"), {}),
    (("opq",), {"typ": tarfile.DIRTYPE}),
    (("opq/old", b"old\n"), {}),
], tarfile.GNU_FORMAT)
l2 = tarbytes([
    (("etc",), {"typ": tarfile.DIRTYPE}),
    (("etc/.wh.gone", b""), {}),
    (("opq",), {"typ": tarfile.DIRTYPE}),
    (("opq/.wh..wh..opq", b""), {}),
    (("opq/new", b"new\n"), {}),
    (("opq/new2",), {"typ": tarfile.LNKTYPE, "link": "opq/new"}),
], tarfile.GNU_FORMAT)
ids = ["sha256:" + hashlib.sha256(x).hexdigest() for x in (l1, l2)]
cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Env": ["PATH=/bin"]},
                  "rootfs": {"type": "layers", "diff_ids": ids},
                  "history": [{"created_by": "l1"}, {"created_by": "l2"}]}, separators=(",", ":")).encode()
cid = hashlib.sha256(cfg).hexdigest()
man = json.dumps([{"Config": cid + ".json", "RepoTags": ["strata-wh:v1"],
                   "Layers": [ids[0][7:] + "/layer.tar", ids[1][7:] + "/layer.tar"]}]).encode()
b = io.BytesIO()
with tarfile.open(fileobj=b, mode="w", format=tarfile.USTAR_FORMAT) as tf:
    add(tf, cid + ".json", cfg)
    add(tf, ids[0][7:] + "/layer.tar", l1)
    add(tf, ids[1][7:] + "/layer.tar", l2)
    add(tf, "manifest.json", man)
with open(out + "/wh.tar", "wb") as f:
    f.write(b.getvalue())
