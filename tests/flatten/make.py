#!/usr/bin/env python3
"""tests/flatten/make.py OUTDIR - docker-archives for `strata flatten` and `strata unpack`.

Deterministic, python3 stdlib only; the layer helpers are tests/analyze/make.py's.  Writes:

  links.tar       hardlinks as a sequential applier sees them: a linked file rewritten above
                  (its other names keep the old content: the layer is read twice), one name of
                  a set deleted above, a link to a file of a lower layer that is later deleted,
                  kaniko's absolute link targets, a link to a link, a directory replaced by a
                  file and a file by a directory, whiteouts of a directory, an opaque
                  directory, setuid / sticky modes, owners, xattrs (user.* and
                  security.capability), a fifo, a char device, a path over 100 bytes
  links-gz.tar    the same with gzip layers
  bad-diffid-gz.tar  gzip layers, the config's diff_id of layer 2 wrong (seen only when decoding)
  evil-*.tar      one hostile layer each (below): must be refused, nothing written outside
  index.json      {"good": [...], "evil": {"file": "what it tries"}}
"""
import json
import os
import sys
import tarfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "analyze"))
import make as am  # noqa: E402
from make import D, F, H, OPQ, P, S, WH, C, Image, docker_archive, layer_tar  # noqa: E402

CAP = bytes.fromhex("0100000200200000000000000000000000000000")  # cap_net_bind_service+ep, revision 2


class X(am.Ent):
    """an entry with pax records (xattrs)"""

    def __init__(self, base, pax):
        super().__init__(base.kind, base.path, base.data, base.mode, base.link, base.dev, base.uid, base.gid)
        self.pax = pax


def layer_tar_pax(entries):
    """layer_tar, but entries of class X carry their pax records."""
    orig = tarfile.TarFile.addfile

    def addfile(tf, ti, fileobj=None):
        for e in entries:
            if isinstance(e, X) and ti.name.rstrip("/") == e.path:
                ti.pax_headers = dict(e.pax)
        return orig(tf, ti, fileobj)

    tarfile.TarFile.addfile = addfile
    try:
        return layer_tar(entries)
    finally:
        tarfile.TarFile.addfile = orig


def raw_tar(entries):
    """A layer tar holding exactly these entries (no parent directories added)."""
    bio = am.io.BytesIO()
    tf = tarfile.open(fileobj=bio, mode="w", format=tarfile.PAX_FORMAT)
    for e in entries:
        ti = tarfile.TarInfo(e.path)
        ti.type, ti.mode, ti.mtime, ti.linkname = am.TYPES[e.kind], e.mode, am.MTIME, e.link
        ti.size = len(e.data)
        tf.addfile(ti, am.io.BytesIO(e.data) if e.kind == "file" else None)
    tf.close()
    return bio.getvalue()


def links_layers():
    long_dir = "usr/share/" + "/".join(["deep-directory-name-%02d" % i for i in range(6)])
    l1 = [
        D("etc"), F("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"),
        F("etc/shadow", b"root:*:19000:0:99999:7:::\n", mode=0o640, gid=42),
        D("usr/bin"), F("usr/bin/tool", 3000, mode=0o4755),
        H("usr/bin/tool-a", "usr/bin/tool"), H("usr/bin/tool-b", "usr/bin/tool"),
        H("usr/bin/tool-c", "usr/bin/tool-a"),          # a link to a link
        S("usr/bin/sh", "tool"), H("usr/bin/sh-link", "usr/bin/sh"),   # GNU tar: a hardlink to a symlink
        F("usr/bin/pair-x", 500), H("usr/bin/pair-y", "usr/bin/pair-x"),
        D("var/cache/app"), F("var/cache/app/a.bin", 700), F("var/cache/app/b.bin", 300),
        D("opt/old"), F("opt/old/one", 100), F("opt/old/two", 200),
        F("was-file", 10), D("was-dir"), F("was-dir/inner", 20),
        D("tmp", mode=0o1777), P("run/fifo", mode=0o600), C("dev/null", 1, 3, mode=0o666),
        F(long_dir + "/a-file-with-a-long-name-to-pass-the-ustar-limits.txt", 64, uid=1000, gid=1000),
        X(F("usr/bin/ping", 1200, mode=0o755), {"SCHILY.xattr.security.capability": CAP.decode("utf-8", "surrogateescape"),
                                                "SCHILY.xattr.user.origin": "layer-1"}),
    ]
    l2 = [
        F("usr/bin/tool", 3100, mode=0o755),             # rewritten: tool-a/-b/-c keep the old content
        H("usr/local/bin/shadow-copy", "/etc/shadow"),   # kaniko: absolute target, in a lower layer
        WH("var/cache/app"), D("var/cache/app"), F("var/cache/app/c.bin", 50),
        D("opt/old"), OPQ("opt/old"), F("opt/old/three", 300),
        D("was-file"), F("was-file/now-a-dir", 30),      # a file becomes a directory
        F("was-dir", 40),                                # a directory becomes a file
    ]
    l3 = [
        WH("usr/bin/tool-b"),                            # one name of the old set goes
        WH("usr/bin/pair-x"),                            # the target of pair-y goes: pair-y keeps it
        WH("etc/shadow"),                                # the target of shadow-copy goes
        F("etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n", mode=0o600),
        D("srv/new", mode=0o750, uid=33, gid=33),
    ]
    return [l1, l2, l3]


EVIL = {
    "evil-dotdot.tar": ("a '../' entry", [[F("etc/ok", 5), F("etc/../../escaped", 7)]]),
    "evil-absolute.tar": ("an absolute path", [[F("etc/ok", 5), F("/escaped-abs", 7)]]),
    "evil-symlink.tar": ("a symlink out, then a file written through it",
                         [[D("etc"), S("etc/out", "../../../../../../../tmp")], [F("etc/out/escaped", 7)]]),
    "evil-symlink-same.tar": ("a symlink out and a file through it in one layer",
                              [[S("out", "/"), F("out/escaped", 7)]]),
    "evil-hardlink.tar": ("a hardlink to a path outside", [[F("etc/ok", 5), H("etc/link", "../../canary")]]),
    "evil-whiteout.tar": ("a whiteout escaping its directory", [[F("etc/ok", 5)], [F("etc/.wh..", 0)]]),
    "evil-whiteout-empty.tar": ("a '.wh.' whiteout naming nothing", [[F("etc/ok", 5)], [F("etc/.wh.", 0)]]),
}


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: make.py OUTDIR\n")
        return 2
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)

    def write(name, data):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)

    tars = [layer_tar_pax(l) for l in links_layers()]
    hist = [("ADD rootfs.tar /", False), ("RUN upgrade", False), ("RUN cleanup", False)]
    write("links.tar", docker_archive([Image(["strata-test/links:1"], tars, hist)]))
    write("links-gz.tar", docker_archive([Image(["strata-test/links:gz"], tars, hist, True)]))
    # gzip layers whose config claims another diff_id for layer 2: only the second read (decoding) sees it
    bad = Image(["strata-test/links:bad"], tars, hist, True)
    wrong = "sha256:" + "0" * 64
    bad.config = bad.config.replace(bad.diff_ids[1].encode(), wrong.encode())
    bad.config_hex = am.sha(bad.config)
    write("bad-diffid-gz.tar", docker_archive([bad]))
    evil = {}
    for name, (what, layers) in EVIL.items():
        lt = [raw_tar(l) for l in layers]
        write(name, docker_archive([Image(["strata-test/evil:1"], lt, [("x", False)] * len(lt))]))
        evil[name] = what
    write("index.json", json.dumps({"good": ["links.tar", "links-gz.tar"], "evil": evil}, indent=1).encode() + b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
