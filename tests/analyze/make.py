#!/usr/bin/env python3
"""tests/analyze/make.py OUTDIR - docker-archives with known content for `strata analyze`.

Deterministic (same bytes on every run), python3 stdlib only.  Writes to OUTDIR:

  main.tar        4 layers (classic `docker save` layout): overwrites across 3 and 4 layers,
                  whiteouts of files and of a whole directory with nested files, an opaque
                  directory, hardlinks, symlinks, setuid / setgid / world-writable files and
                  dirs (sticky /tmp), char and block devices, fifos, a dpkg status DB that
                  changes (add, remove, upgrade; config-files / not-installed entries),
                  a >100-column path, a name with HTML metacharacters, a non-ASCII name
  main-gz.tar     the same image with gzip-compressed layer.tar members
  edge.tar        a symlink replacing a directory with files, a directory replacing a file
  pair.tar        two images: alpine-like (apk installed db across 3 layers, 120
                  world-writable files to hit the 100-entry list cap) and distroless-like
                  (var/lib/dpkg/status.d fragments)
  many.tar.gz     one layer of 100,000 tiny files, the archive gzip-compressed as a whole
  many-wh.tar.gz  the same layer, then a layer of 5,000 whiteouts (time check)
  broken-*.tar    a diff_id mismatch, a truncated archive, garbage, a missing layer
  index.json      which archive is which
  expect.json     numbers worked out by hand from the content below, to cross-check
                  run.py's own model (run.py computes everything from the tar entries)
"""
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile

MTIME = 1700000000
CREATED = "2024-01-01T00:00:00Z"


def sha(b):
    return hashlib.sha256(b).hexdigest()


def blob(tag, n):
    """n deterministic bytes for a file (text-ish, so sizes are exact)."""
    out = bytearray()
    seed = tag.encode()
    i = 0
    while len(out) < n:
        out += hashlib.sha256(seed + str(i).encode()).hexdigest().encode()
        i += 1
    return bytes(out[:n])


# ---- entries ----

class Ent:
    def __init__(self, kind, path, data=b"", mode=0o644, link="", dev=(0, 0), uid=0, gid=0):
        self.kind, self.path, self.data, self.mode = kind, path, data, mode
        self.link, self.dev, self.uid, self.gid = link, dev, uid, gid


def F(path, size_or_data, mode=0o644, uid=0, gid=0):
    data = size_or_data if isinstance(size_or_data, bytes) else blob(path + str(size_or_data), size_or_data)
    return Ent("file", path, data, mode, uid=uid, gid=gid)


def D(path, mode=0o755, uid=0, gid=0):
    return Ent("dir", path, mode=mode, uid=uid, gid=gid)


def S(path, target):
    return Ent("symlink", path, mode=0o777, link=target)


def H(path, target, mode=0o644):
    return Ent("hardlink", path, mode=mode, link=target)


def C(path, major, minor, mode=0o600):
    return Ent("char", path, mode=mode, dev=(major, minor))


def B(path, major, minor, mode=0o660):
    return Ent("block", path, mode=mode, dev=(major, minor))


def P(path, mode=0o644):
    return Ent("fifo", path, mode=mode)


def WH(path):
    """whiteout deleting `path` (file or directory)"""
    d, _, base = path.rpartition("/")
    return Ent("file", (d + "/" if d else "") + ".wh." + base, b"", 0o644)


def OPQ(dirpath):
    return Ent("file", dirpath + "/.wh..wh..opq", b"", 0o644)


TYPES = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
         "hardlink": tarfile.LNKTYPE, "char": tarfile.CHRTYPE, "block": tarfile.BLKTYPE,
         "fifo": tarfile.FIFOTYPE}


def layer_tar(entries):
    """A layer tar; parent directories of every entry are added (0755) before it
    unless the layer lists them itself, as docker does."""
    listed = {e.path for e in entries if e.kind == "dir"}
    bio = io.BytesIO()
    tf = tarfile.open(fileobj=bio, mode="w", format=tarfile.PAX_FORMAT)
    done = set()

    def add(e):
        ti = tarfile.TarInfo(e.path + ("/" if e.kind == "dir" else ""))
        ti.type = TYPES[e.kind]
        ti.mode = e.mode
        ti.uid, ti.gid = e.uid, e.gid
        ti.uname = ti.gname = ""
        ti.mtime = MTIME
        ti.linkname = e.link
        ti.devmajor, ti.devminor = e.dev
        if e.kind == "file":
            ti.size = len(e.data)
            tf.addfile(ti, io.BytesIO(e.data))
        else:
            tf.addfile(ti)

    for e in entries:
        parts = e.path.split("/")
        for i in range(1, len(parts)):
            d = "/".join(parts[:i])
            if d not in done and d not in listed:
                add(D(d))
                done.add(d)
        if e.kind == "dir":
            done.add(e.path)
        add(e)
    tf.close()
    return bio.getvalue()


# ---- package databases ----

def dpkg_para(name, version, status="install ok installed", extra=""):
    return ("Package: %s\nStatus: %s\nPriority: optional\nSection: misc\nInstalled-Size: 123\n"
            "Maintainer: Debian <debian@example.org>\nArchitecture: amd64\n%sVersion: %s\n"
            "Description: the %s package\n This is %s, kept for testing.\n .\n"
            " Version: 99.99 is not a field (continuation line).\n" % (name, status, extra, version, name, name))


def dpkg_status(pkgs):
    return "\n".join(dpkg_para(*p) for p in pkgs).encode()


def apk_para(name, version):
    return ("C:Q1%s=\nP:%s\nV:%s\nA:x86_64\nS:1234\nI:4096\nT:the %s package\nU:https://example.org/\n"
            "L:MIT\no:%s\nm:Maintainer <m@example.org>\nt:1700000000\nc:0123456789abcdef\n"
            "D:so:libc.musl-x86_64.so.1\nF:usr/bin\nR:%s\na:0:0:755\nZ:Q1abcdef=\n"
            % (sha(name.encode())[:26], name, version, name, name, name))


def apk_db(pkgs):
    return "\n".join(apk_para(*p) for p in pkgs).encode() + b"\n"


# ---- images ----

DPKG1 = [("base-files", "12.4+deb12u5"), ("libc6", "2.36-9+deb12u3"), ("bash", "5.2.15-2+b2"),
         ("tzdata", "2024a-0+deb12u1"),
         ("oldpkg", "1.0-1", "deinstall ok config-files"),
         ("gone", "0.9", "purge ok not-installed")]
DPKG2 = [("base-files", "12.4+deb12u5"), ("libc6", "2.36-9+deb12u4"), ("bash", "5.2.15-2+b2"),
         ("tzdata", "2024a-0+deb12u1", "deinstall ok config-files"),
         ("oldpkg", "1.0-1", "deinstall ok config-files"),
         ("curl", "7.88.1-10+deb12u5", "install ok installed", "Source: curl (7.88.1-10)\n"),
         ("libcurl4", "7.88.1-10+deb12u5", "install ok installed", "Multi-Arch: same\n")]
DPKG4 = [("base-files", "12.4+deb12u5"), ("libc6", "2.36-9+deb12u4"), ("bash", "5.2.15-2+b3"),
         ("tzdata", "2024a-0+deb12u1", "deinstall ok config-files"),
         ("libcurl4", "7.88.1-10+deb12u5", "deinstall ok config-files"),
         ("oldpkg", "1.0-1")]

LONG = ("usr/lib/node_modules/npm/node_modules/@npmcli/arborist/node_modules/@npmcli/"
        "installed-package-contents/lib/index.js")
ODD = 'usr/share/doc/<b>x&y"</b>.txt'
UNI = "usr/share/locale/\u00fcn\u00efcode.mo"


def main_layers():
    st1, st2, st4 = dpkg_status(DPKG1), dpkg_status(DPKG2), dpkg_status(DPKG4)
    l1 = [
        D("bin"), D("etc"), D("usr"), D("usr/bin"), D("tmp", 0o1777), D("var"), D("var/tmp", 0o1777),
        D("var/mail", 0o2775, gid=8), D("root", 0o700), D("dev"), D("run"),
        F("usr/bin/bash", 120000, 0o755),
        F("usr/lib/x86_64-linux-gnu/libc.so.6", 90000, 0o755),
        F("usr/bin/python3.11", 60000, 0o755),
        H("usr/bin/python3", "usr/bin/python3.11", 0o755),
        S("usr/bin/python", "python3"),
        S("bin/sh", "/usr/bin/bash"),
        F("usr/bin/passwd", 3000, 0o4755),
        F("usr/bin/wall", 1500, 0o2755, gid=5),
        F("usr/bin/chage", 1400, 0o2755, gid=42),
        F("etc/motd", 50), F("etc/app.conf", 100), F("etc/config.bak", 400),
        F("etc/passwd", 900), F("etc/group", 450), F("etc/os-release", 260), F("etc/hostname", 12),
        F("usr/bin/app", 10000, 0o755),
        F("opt/legacy/bin/tool", 4000, 0o755),
        H("opt/legacy/bin/tool2", "opt/legacy/bin/tool", 0o755),
        F("opt/legacy/lib/libx.so", 2500),
        S("opt/legacy/lib/libx.so.1", "libx.so"),
        F("opt/legacy/share/doc/README", 700),
        F("var/cache/apt/pkgcache.bin", 5000), F("var/cache/apt/srcpkgcache.bin", 3000),
        F("var/cache/apt/sub/c.bin", 1000), F("var/cache/apt/archives/lock", 0, 0o640),
        F("var/lib/dpkg/status", st1),
        C("dev/null", 1, 3, 0o666), C("dev/console", 5, 1, 0o600), B("dev/loop0", 7, 0, 0o660),
        P("run/initctl", 0o600),
    ]
    l2 = [
        F("var/lib/dpkg/status", st2),
        F("usr/bin/app", 12000, 0o755),
        F("etc/motd", 60), F("etc/app.conf", 300),
        F("opt/legacy/lib/libx.so", 2600),
        F("var/cache/apt/extra.bin", 2222),
        F("usr/bin/curl", 25000, 0o755),
        F("usr/lib/x86_64-linux-gnu/libcurl.so.4.8.0", 40000),
        S("usr/lib/x86_64-linux-gnu/libcurl.so.4", "libcurl.so.4.8.0"),
        F("usr/bin/sudo", 7000, 0o4711),
        F("usr/bin/crontab", 4100, 0o2755, gid=101),
        D("tmp", 0o1777), D("tmp/.X11-unix", 0o1777),
        D("srv"), D("srv/upload", 0o777),
        F("var/tmp/shared.log", 1234, 0o666),
        H("var/tmp/shared-link.log", "var/tmp/shared.log", 0o666),
        P("run/app.fifo", 0o666),
        F(LONG, 3456),
        F(ODD, 8888),
        F(UNI, 555),
    ]
    l3 = [
        WH("opt/legacy"),
        WH("etc/app.conf"),
        WH("etc/config.bak"),
        D("var/cache/apt"),
        F("var/cache/apt/new.bin", 1500),
        OPQ("var/cache/apt"),
        D("var/cache/apt/sub"),
        F("var/cache/apt/sub/fresh.bin", 800),
    ]
    l4 = [
        F("var/lib/dpkg/status", st4),
        F("usr/bin/app", 11000, 0o755),
        F("etc/motd", 80),
        F("etc/config.bak", 450),
        WH("usr/bin/curl"),
        F(LONG, 3500),
        F("usr/bin/passwd", 3100, 0o4755),
    ]
    return [l1, l2, l3, l4], (st1, st2, st4)


MAIN_HISTORY = [
    ("/bin/sh -c #(nop) ADD file:0f1e2d3c4b5a69788796a5b4c3d2e1f0 in / ", False),
    ("/bin/sh -c #(nop)  ENV LANG=C.UTF-8", True),
    ("/bin/sh -c #(nop)  LABEL org.opencontainers.image.title=strata-analyze-test", True),
    ("/bin/sh -c apt-get update && apt-get install -y --no-install-recommends curl sudo cron "
     "&& npm install -g npm && rm -rf /var/lib/apt/lists/*", False),
    ("/bin/sh -c #(nop) WORKDIR /srv", True),
    ("/bin/sh -c rm -rf /opt/legacy /etc/app.conf /etc/config.bak && apt-get clean", False),
    ("RUN /bin/sh -c apt-get purge -y curl && echo 1 > /etc/config.bak # buildkit", False),
    ("/bin/sh -c #(nop)  USER nobody", True),
    ('/bin/sh -c #(nop)  CMD ["bash"]', True),
]

APK1 = [("musl", "1.2.4-r2"), ("busybox", "1.36.1-r5"), ("alpine-baselayout", "3.4.3-r1"),
        ("apk-tools", "2.14.0-r2")]
APK2 = [("musl", "1.2.4-r2"), ("busybox", "1.36.1-r15"), ("alpine-baselayout", "3.4.3-r1"),
        ("apk-tools", "2.14.0-r2"), ("ca-certificates", "20230506-r0"), ("curl", "8.5.0-r0"),
        ("libcurl", "8.5.0-r0")]
APK3 = [("musl", "1.2.4-r2"), ("busybox", "1.36.1-r15"), ("alpine-baselayout", "3.4.3-r1"),
        ("apk-tools", "2.14.0-r2"), ("ca-certificates", "20230506-r0"), ("libcurl", "8.5.0-r0")]


def alpine_layers():
    l1 = [D("tmp", 0o1777), F("bin/busybox", 80000, 0o755), S("bin/sh", "/bin/busybox"),
          H("bin/ls", "bin/busybox", 0o755), F("lib/ld-musl-x86_64.so.1", 60000, 0o755),
          F("etc/apk/world", b"alpine-baselayout\napk-tools\nbusybox\nmusl\n"),
          F("lib/apk/db/installed", apk_db(APK1)), F("bin/bbsuid", 1800, 0o4755)]
    l2 = [F("lib/apk/db/installed", apk_db(APK2)), F("bin/busybox", 81000, 0o755),
          F("usr/bin/curl", 30000, 0o755), F("usr/lib/libcurl.so.4", 50000),
          F("etc/ssl/certs/ca-certificates.crt", 20000)]
    l2 += [F("var/spool/drop/f%03d" % i, 10 + i, 0o666) for i in range(120)]
    l3 = [F("lib/apk/db/installed", apk_db(APK3)), WH("usr/bin/curl")]
    return [l1, l2, l3]


ALPINE_HISTORY = [
    ("/bin/sh -c #(nop) ADD file:alpine in / ", False),
    ('/bin/sh -c #(nop)  CMD ["/bin/sh"]', True),
    ("/bin/sh -c apk add --no-cache curl", False),
    ("/bin/sh -c apk del curl", False),
]


def distroless_layers():
    def frag(name, ver):
        return dpkg_para(name, ver).encode()
    l1 = [F("var/lib/dpkg/status.d/base-files", frag("base-files", "12.4+deb12u5")),
          F("var/lib/dpkg/status.d/libc6", frag("libc6", "2.36-9+deb12u3")),
          F("var/lib/dpkg/status.d/libc6.md5sums", b"0123456789abcdef  lib/x86_64-linux-gnu/libc.so.6\n"),
          F("lib/x86_64-linux-gnu/libc.so.6", 90000, 0o755), F("etc/os-release", 260),
          D("tmp", 0o1777), F("etc/passwd", 300)]
    l2 = [F("var/lib/dpkg/status.d/libssl3", frag("libssl3", "3.0.11-1~deb12u2")),
          F("usr/lib/x86_64-linux-gnu/libssl.so.3", 70000)]
    l3 = [F("var/lib/dpkg/status.d/libc6", frag("libc6", "2.36-9+deb12u4")),
          F("lib/x86_64-linux-gnu/libc.so.6", 90500, 0o755),
          F("var/lib/dpkg/status.d/tzdata", frag("tzdata", "2024a-0+deb12u1")),
          F("usr/share/zoneinfo/UTC", 114)]
    return [l1, l2, l3]


DISTROLESS_HISTORY = [
    ("bazel build //base:static", False),
    ("bazel build //base:libssl", False),
    ("bazel build //base:tzdata+libc6-update", False),
    ("", True),
]


def edge_layers():
    """A non-directory replacing a directory (and its subtree), and a directory replacing a
    file, as `rm -rf /opt/tools && ln -s ... /opt/tools` and `rm /etc/alt && mkdir /etc/alt`
    produce: docker's layer applier removes what is in the way (RemoveAll)."""
    l1 = [F("opt/tools/a.bin", 1000), F("opt/tools/sub/b.bin", 2000), F("etc/alt", 300),
          F("lib64/ld.so", 500, 0o755)]
    l2 = [S("opt/tools", "/usr/local/tools"), D("etc/alt"), F("etc/alt/x.conf", 40)]
    l3 = [WH("etc/alt")]
    return [l1, l2, l3]


EDGE_HISTORY = [
    ("/bin/sh -c #(nop) ADD file:edge in / ", False),
    ("/bin/sh -c rm -rf /opt/tools && ln -s /usr/local/tools /opt/tools && rm /etc/alt && mkdir /etc/alt "
     "&& echo x > /etc/alt/x.conf", False),
    ("/bin/sh -c rm -rf /etc/alt", False),
]


def many_layers():
    entries = [D("usr"), D("usr/share"), D("usr/share/many")]
    for d in range(1000):
        entries.append(D("usr/share/many/d%03d" % d))
        for f in range(100):
            i = d * 100 + f
            entries.append(F("usr/share/many/d%03d/f%05d.txt" % (d, i), b"file %d\n" % i))
    return [entries]


# ---- docker-archive (classic `docker save` layout) ----

def gz(b):
    return gzip.compress(b, compresslevel=6, mtime=0)


class Image:
    def __init__(self, tags, layer_tars, history, compress=False):
        self.tags, self.tars, self.history, self.compress = tags, layer_tars, history, compress
        self.diff_ids = ["sha256:" + sha(t) for t in layer_tars]
        cfg = {
            "architecture": "amd64",
            "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                       "Cmd": ["/bin/sh"]},
            "created": CREATED,
            "history": [dict({"created": CREATED, "created_by": cb}, **({"empty_layer": True} if empty else {}))
                        for cb, empty in history],
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": self.diff_ids},
        }
        self.config = json.dumps(cfg, sort_keys=True, separators=(",", ":")).encode()
        self.config_hex = sha(self.config)


def docker_archive(images):
    """manifest.json, repositories, <config>.json, <v1id>/{VERSION,json,layer.tar}; members
    in lexical order, as docker save writes them; a layer shared by images is stored once."""
    files = {}
    manifest, repos = [], {}
    for img in images:
        files[img.config_hex + ".json"] = img.config
        parent, paths = "", []
        for i, t in enumerate(img.tars):
            v1 = sha((parent + img.diff_ids[i]).encode())
            v1json = {"id": v1, "created": CREATED, "container_config": {"Cmd": None}, "os": "linux"}
            if parent:
                v1json["parent"] = parent
            files[v1 + "/VERSION"] = b"1.0"
            files[v1 + "/json"] = json.dumps(v1json, sort_keys=True, separators=(",", ":")).encode()
            files[v1 + "/layer.tar"] = gz(t) if img.compress else t
            paths.append(v1 + "/layer.tar")
            parent = v1
        manifest.append({"Config": img.config_hex + ".json", "RepoTags": img.tags, "Layers": paths})
        for tag in img.tags:
            repo, _, t = tag.rpartition(":")
            repos.setdefault(repo, {})[t] = parent
    files["manifest.json"] = json.dumps(manifest, separators=(",", ":")).encode()
    files["repositories"] = json.dumps(repos, sort_keys=True, separators=(",", ":")).encode()
    bio = io.BytesIO()
    tf = tarfile.open(fileobj=bio, mode="w", format=tarfile.USTAR_FORMAT)
    dirs = set()
    for name in sorted(files):
        d = name.split("/")[0] if "/" in name else None
        if d and d not in dirs:
            ti = tarfile.TarInfo(d + "/")
            ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, 0o755, MTIME
            tf.addfile(ti)
            dirs.add(d)
        ti = tarfile.TarInfo(name)
        ti.size, ti.mode, ti.mtime = len(files[name]), 0o644, MTIME
        tf.addfile(ti, io.BytesIO(files[name]))
    tf.close()
    return bio.getvalue()


def expectations(st):
    """Worked out by hand from the layers above; run.py checks its own model against these
    (per-layer lists and inefficiencies are of image 0; packages per image, per layer)."""
    st1, st2, st4 = (len(s) for s in st)
    return {
        "main.tar": {
            "deleted": [0, 0, 8, 1],
            "modified": [0, 5, 0, 5],
            "bytes_wasted": [
                # L1: app, motd, app.conf, libx.so (overwritten in L2); tool, README, config.bak
                # (deleted in L3); pkgcache, srcpkgcache, c.bin, lock (opaque); passwd (L4); status
                10000 + 50 + 100 + 2500 + 4000 + 700 + 400 + 5000 + 3000 + 1000 + 0 + 3000 + st1,
                # L2: app, motd (L4), app.conf, libx.so (L3), extra.bin (opaque), curl (L4),
                # LONG (L4), status (L4)
                12000 + 60 + 300 + 2600 + 2222 + 25000 + 3456 + st2,
                0, 0],
            "inefficiencies": {
                "etc/app.conf": [3, 100 + 300 + 300],     # dive would size the whiteout 100
                "etc/motd": [3, 50 + 60 + 80],
                "usr/bin/app": [3, 10000 + 12000 + 11000],
                "etc/config.bak": [3, 400 + 400 + 450],
                "usr/bin/curl": [2, 50000],
                "usr/bin/passwd": [2, 6100],
                "opt/legacy/lib/libx.so": [2, 5100],
                "var/cache/apt/pkgcache.bin": [2, 10000],
                "var/cache/apt/srcpkgcache.bin": [2, 6000],
                "var/cache/apt/sub/c.bin": [2, 2000],
                "var/cache/apt/archives/lock": [2, 0],
                "var/cache/apt/extra.bin": [2, 4444],
                LONG: [2, 6956],
                "var/lib/dpkg/status": [3, st1 + st2 + st4],
            },
            "packages": [[
                sorted(["dpkg added base-files", "dpkg added libc6", "dpkg added bash", "dpkg added tzdata"]),
                sorted(["dpkg upgraded libc6", "dpkg removed tzdata", "dpkg added curl", "dpkg added libcurl4"]),
                [],
                sorted(["dpkg upgraded bash", "dpkg removed curl", "dpkg removed libcurl4", "dpkg added oldpkg"]),
            ]],
        },
        "edge.tar": {
            # L2's symlink over opt/tools removes a.bin and sub/b.bin: deleted by L2
            "deleted": [0, 2, 1],
            "modified": [0, 1, 0],
            # L1: a.bin and sub/b.bin go with the directory the symlink replaces, etc/alt
            # with the file the directory replaces; L2: etc/alt/x.conf (whiteout in L3)
            "bytes_wasted": [1000 + 2000 + 300, 40, 0],
            "files": 2,
            # etc/alt: the file (300) and the whiteout of the directory, which deletes 40 bytes
            "inefficiencies": {"etc/alt": [2, 340]},
        },
        "pair.tar": {
            "packages": [
                [sorted(["apk added musl", "apk added busybox", "apk added alpine-baselayout", "apk added apk-tools"]),
                 sorted(["apk upgraded busybox", "apk added ca-certificates", "apk added curl", "apk added libcurl"]),
                 ["apk removed curl"]],
                [sorted(["dpkg added base-files", "dpkg added libc6"]), ["dpkg added libssl3"],
                 sorted(["dpkg upgraded libc6", "dpkg added tzdata"])],
            ],
        },
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

    layers, st = main_layers()
    tars = [layer_tar(l) for l in layers]
    main_tar = docker_archive([Image(["strata-test/analyze:main"], tars, MAIN_HISTORY)])
    write("main.tar", main_tar)
    write("main-gz.tar", docker_archive([Image(["strata-test/analyze:main-gz"], tars, MAIN_HISTORY, True)]))
    write("pair.tar", docker_archive([
        Image(["strata-test/alpine:3.19"], [layer_tar(l) for l in alpine_layers()], ALPINE_HISTORY),
        Image(["strata-test/distroless:12", "strata-test/distroless:latest"],
              [layer_tar(l) for l in distroless_layers()], DISTROLESS_HISTORY)]))
    write("edge.tar", docker_archive([Image(["strata-test/edge:1"], [layer_tar(l) for l in edge_layers()],
                                            EDGE_HISTORY)]))
    many_tar = layer_tar(many_layers()[0])
    many = docker_archive([Image(["strata-test/many:100k"], [many_tar],
                                 [("/bin/sh -c #(nop) ADD dir:many in /usr/share/many", False)])])
    write("many.tar.gz", gzip.compress(many, compresslevel=1, mtime=0))
    # the same 100k files, then a layer deleting every 20th one: 5,000 whiteouts
    wh = layer_tar([WH("usr/share/many/d%03d/f%05d.txt" % (i // 100, i)) for i in range(0, 100000, 20)])
    many = docker_archive([Image(["strata-test/many:wh"], [many_tar, wh],
                                 [("/bin/sh -c #(nop) ADD dir:many in /usr/share/many", False),
                                  ("/bin/sh -c rm /usr/share/many/*/f???[02468]0.txt", False)])])
    write("many-wh.tar.gz", gzip.compress(many, compresslevel=1, mtime=0))

    # broken archives
    bad = bytearray(main_tar)
    curl = blob("usr/bin/curl25000", 25000)
    at = bad.find(curl)
    assert at > 0
    bad[at + 100] ^= 0x01            # one bit of a file in layer 2: its diff_id no longer matches
    write("broken-diffid.tar", bytes(bad))
    write("broken-truncated.tar", main_tar[: len(main_tar) * 6 // 10])
    write("broken-garbage.tar", b"".join(hashlib.sha256(b"garbage%d" % i).digest() for i in range(2048)))
    # a layer listed in manifest.json but not in the archive
    src = tarfile.open(fileobj=io.BytesIO(main_tar))
    bio = io.BytesIO()
    dst = tarfile.open(fileobj=bio, mode="w", format=tarfile.USTAR_FORMAT)
    man = json.loads(src.extractfile("manifest.json").read())
    drop = man[0]["Layers"][2]
    for m in src.getmembers():
        if m.name != drop:
            dst.addfile(m, src.extractfile(m) if m.isfile() else None)
    dst.close()
    write("broken-missing.tar", bio.getvalue())

    index = {
        "images": ["main.tar", "main-gz.tar", "pair.tar", "edge.tar", "many.tar.gz", "many-wh.tar.gz"],
        "many": "many.tar.gz",
        "many_whiteouts": "many-wh.tar.gz",
        "failon": "main.tar",
        "columns": ["main.tar", "main-gz.tar", "pair.tar", "edge.tar"],
        "html": "main.tar",
        "broken": ["broken-diffid.tar", "broken-truncated.tar", "broken-garbage.tar", "broken-missing.tar"],
    }
    write("index.json", json.dumps(index, indent=1).encode() + b"\n")
    write("expect.json", json.dumps(expectations(st), indent=1, sort_keys=True).encode() + b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
