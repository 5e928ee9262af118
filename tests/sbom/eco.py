#!/usr/bin/env python3
"""tests/sbom/eco.py - rpm, Python, npm and Go images for `strata sbom`, and their oracles.

  eco.py make OUTDIR          write the images (a docker-archive each) and OUTDIR/eco-expect.json:
      rpm.tar      2 layers made by the real `rpm -i` / `rpm -U` (packages built here with rpmbuild):
                   hello (epoch 2, MIT and BSD), tool 1.0 then 1.1 in layer 2, extra added in layer 2;
                   os-release ID=fedora.  Skipped (no file) when rpmbuild is missing.
      python.tar   dist-info (METADATA + RECORD) and egg-info (a directory, a file) distributions in two
                   site-packages;
                   layer 2 replaces foo 1.0 by 1.1 (whiting out the old dist-info) and adds Baz_Lib
      npm.tar      node_modules with a scoped, a nested and a plain package; the app's own
                   package.json and a nested lib/package.json that are not packages
      go.tar       real Go binaries of this machine (umoci in layer 1, skopeo in layer 2: Debian builds
                   them outside module mode, so they hold no modules) and made ELF files with Go
                   1.18+ build info: app/server rebuilt in layer 2 (deps upgraded, a module
                   replacement, a directory replacement), usr/local/bin/tool sharing a dep
      hostile.tar  an rpmdb.sqlite with a truncated header beside a good one, a 2 MiB METADATA,
                   a package.json that is not JSON, an ELF with a corrupt Go build info
      bdb.tar      only a Berkeley DB var/lib/rpm/Packages
  eco.py rpm ROOT             "NAME VERSION" of rpm -qa on ROOT (the oracle; rpm --root)
  eco.py python ROOT          "NAME VERSION" of importlib.metadata over ROOT's site-packages
  eco.py npm ROOT             "NAME VERSION" of every node_modules/[@scope/]name/package.json
  eco.py go ROOT              "PATH VERSION" of the build info of every ELF file (a reader of
                              its own: section headers, .go.buildinfo, like debug/buildinfo)
  eco.py check CDX ORACLE TYPE NAME   the components of purl TYPE equal the oracle's lines
"""
import base64
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "analyze"))
import make as am  # noqa: E402

F, D, S, WH = am.F, am.D, am.S, am.WH


def archive(out, name, layers):
    tars = [am.layer_tar(l) for l in layers]
    img = am.Image(["strata-test/eco:" + name], tars, [("/bin/sh -c #(nop) layer %d" % i, False)
                                                       for i in range(len(tars))])
    with open(os.path.join(out, name + ".tar"), "wb") as f:
        f.write(am.docker_archive([img]))
    return ["sha256:" + am.sha(t) for t in tars]


def snapshot(root):
    snap = {}
    for d, dirs, files in os.walk(root):
        for fn in files:
            p = os.path.join(d, fn)
            rel = os.path.relpath(p, root)
            if fn in (".rpm.lock", "rpmdb.sqlite-shm") or os.path.islink(p):
                continue
            with open(p, "rb") as f:
                snap[rel] = (f.read(), os.stat(p).st_mode & 0o7777)
    return snap


def layer_of(prev, cur):
    ents = [F(p, data, mode) for p, (data, mode) in sorted(cur.items()) if prev.get(p) != (data, mode)]
    ents += [WH(p) for p in sorted(set(prev) - set(cur))]
    return ents


SPEC = """Name: %(name)s
Version: %(version)s
Release: %(release)s
%(epoch)sSummary: test package
License: %(license)s
BuildArch: %(arch)s
%%description
a test package
%%install
mkdir -p %%{buildroot}/usr/share/%(name)s %%{buildroot}/usr/bin
echo '%(name)s %(version)s' > %%{buildroot}/usr/share/%(name)s/README
printf '#!/bin/sh\\necho %(name)s\\n' > %%{buildroot}/usr/bin/%(name)s
%%files
/usr/share/%(name)s/README
/usr/bin/%(name)s
"""


def rpmbuild(tmp, name, version, release, license, epoch=None, arch="noarch"):
    spec = os.path.join(tmp, "%s-%s.spec" % (name, version))
    with open(spec, "w") as f:
        f.write(SPEC % {"name": name, "version": version, "release": release, "license": license, "arch": arch,
                        "epoch": "Epoch: %d\n" % epoch if epoch is not None else ""})
    top = os.path.join(tmp, "top")
    subprocess.run(["rpmbuild", "--define", "_topdir " + top, "--define", "_build_id_links none",
                    "--define", "_binary_filedigest_algorithm 8", "-bb", spec],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return os.path.join(top, "RPMS", arch, "%s-%s-%s.%s.rpm" % (name, version, release, arch))


def rpm_image(out):
    if not shutil.which("rpmbuild") or not shutil.which("rpm"):
        return None
    tmp = tempfile.mkdtemp()
    try:
        root = os.path.join(tmp, "root")
        os.makedirs(os.path.join(root, "etc"))
        with open(os.path.join(root, "etc/os-release"), "w") as f:
            f.write('NAME="Fedora Linux"\nID=fedora\nVERSION_ID=40\n')
        rpm = ["rpm", "--root", root, "--dbpath", "/var/lib/rpm"]
        q = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        subprocess.run(rpm + ["--initdb"], **q)
        subprocess.run(rpm + ["-i", "--nodeps", "--noscripts", "--nosignature",
                              rpmbuild(tmp, "hello", "1.2", "3", "MIT and BSD", epoch=2),
                              rpmbuild(tmp, "tool", "1.0", "1", "GPL-2.0-or-later")], **q)
        s1 = snapshot(root)
        subprocess.run(rpm + ["-U", "--nodeps", "--noscripts", "--nosignature",
                              rpmbuild(tmp, "tool", "1.1", "1", "GPL-2.0-or-later"),
                              rpmbuild(tmp, "extra", "0.5", "1", "Apache-2.0")], **q)
        with open(os.path.join(root, "usr/share/hello/README"), "w") as f:
            f.write("changed after rpm installed it\n")  # the database's FILEDIGESTS no longer match
        s2 = snapshot(root)
        layers = archive(out, "rpm", [[D("etc")] + layer_of({}, s1), layer_of(s1, s2)])
    finally:
        shutil.rmtree(tmp)
    return {"layers": layers, "packages": {
        "hello": {"purl": "pkg:rpm/fedora/hello@1.2-3?arch=noarch&epoch=2", "licenses": ["MIT and BSD"],
                  "introduced": 0, "changed": 0, "files": ["usr/bin/hello", "usr/share/hello/README"],
                  "modified": {"usr/share/hello/README": am.sha(b"hello 1.2\n")}},
        "tool": {"purl": "pkg:rpm/fedora/tool@1.1-1?arch=noarch", "licenses": ["GPL-2.0-or-later"],
                 "introduced": 0, "changed": 1, "files": ["usr/bin/tool", "usr/share/tool/README"]},
        "extra": {"purl": "pkg:rpm/fedora/extra@0.5-1?arch=noarch", "licenses": ["Apache-2.0"],
                  "introduced": 1, "changed": 1, "files": ["usr/bin/extra", "usr/share/extra/README"]}}}


def b64sha(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def dist(site, name, version, headers, files, record=True):
    """a .dist-info distribution: METADATA, RECORD and its files (relative to site)"""
    di = "%s/%s-%s.dist-info" % (site, name, version)
    meta = ("Metadata-Version: 2.1\nName: %s\nVersion: %s\n%s\nThe long description.\nLicense: not a header\n" %
            (name, version, headers)).encode()
    ents = [F(di + "/METADATA", meta), F(di + "/INSTALLER", b"pip\n")]
    rec = []
    for rel, data in files.items():
        full = os.path.normpath(os.path.join(site, rel))
        ents.append(F(full, data))
        rec.append('%s,%s,%d' % (rel if "," not in rel else '"%s"' % rel, b64sha(data), len(data)))
    rec.append("%s-%s.dist-info/METADATA,%s,%d" % (name, version, b64sha(meta), len(meta)))
    rec.append("%s-%s.dist-info/RECORD,," % (name, version))
    if record:
        ents.append(F(di + "/RECORD", ("\n".join(rec) + "\n").encode()))
    return ents, sorted({os.path.normpath(os.path.join(site, r)) for r in files} | {di + "/METADATA", di + "/RECORD"})


def python_image(out):
    site = "usr/lib/python3/dist-packages"
    venv = "opt/app/lib/python3.11/site-packages"
    foo1, _ = dist(site, "foo", "1.0", "License: MIT", {"foo/__init__.py": b"v = 1\n"})
    foo2, foo2f = dist(site, "foo", "1.1", "License: MIT", {"foo/__init__.py": b"v = 2\n",
                                                            "../../../bin/foo": b"#!/usr/bin/python3\n"})
    req, reqf = dist(venv, "requests", "2.31.0", "License: Apache 2.0\nClassifier: License :: OSI Approved :: Apache Software License",
                     {"requests/__init__.py": b"# requests\n", "requests/api.py": b"def get(): pass\n"})
    baz, bazf = dist(venv, "Baz_Lib", "0.3.dev1", "License-Expression: MIT OR Apache-2.0\nLicense: ignored",
                     {"baz_lib/__init__.py": b"\n"})
    cls, clsf = dist(venv, "classy", "4.0", "License: UNKNOWN\nClassifier: License :: OSI Approved :: BSD License\n"
                     "Classifier: Programming Language :: Python", {"classy.py": b"x = 1\n"})
    egg = [F(site + "/legacy.egg-info/PKG-INFO", b"Metadata-Version: 1.0\nName: legacy\nVersion: 0.9\nLicense: GPL\n\n"),
           F(site + "/distutils_pkg-2.0.py3.11.egg-info", b"Metadata-Version: 1.1\nName: distutils-pkg\nVersion: 2.0\n"
                                                         b"License: BSD\n")]
    l1 = foo1 + req + egg + cls
    l2 = foo2 + baz + [WH(site + "/foo-1.0.dist-info"), F(venv + "/requests/api.py", b"def get(): return 1\n")]
    layers = archive(out, "python", [l1, l2])
    return {"layers": layers, "packages": {
        "foo": {"purl": "pkg:pypi/foo@1.1", "licenses": ["MIT"], "introduced": 1, "changed": 1, "files": foo2f},
        "requests": {"purl": "pkg:pypi/requests@2.31.0", "licenses": ["Apache 2.0"], "introduced": 0, "changed": 0,
                     "files": reqf, "modified": {venv + "/requests/api.py": am.sha(b"def get(): pass\n")}},
        "Baz_Lib": {"purl": "pkg:pypi/baz-lib@0.3.dev1", "licenses": ["MIT OR Apache-2.0"], "introduced": 1,
                    "changed": 1, "files": bazf},
        "classy": {"purl": "pkg:pypi/classy@4.0", "licenses": ["BSD License"], "introduced": 0, "changed": 0,
                   "files": clsf},
        "distutils-pkg": {"purl": "pkg:pypi/distutils-pkg@2.0", "licenses": ["BSD"], "introduced": 0, "changed": 0,
                          "files": []},
        "legacy": {"purl": "pkg:pypi/legacy@0.9", "licenses": ["GPL"], "introduced": 0, "changed": 0, "files": []}}}


def pj(d):
    return json.dumps(d, indent=2).encode()


def npm_image(out):
    nm = "usr/src/app/node_modules"
    l1 = [F("usr/src/app/package.json", pj({"name": "my-app", "version": "1.0.0", "license": "UNLICENSED"})),
          F(nm + "/left-pad/package.json", pj({"name": "left-pad", "version": "1.3.0", "license": "WTFPL"})),
          F(nm + "/left-pad/index.js", b"module.exports = 1\n"),
          F(nm + "/@scope/pkg/package.json", pj({"name": "@scope/pkg", "version": "2.0.0-beta.1",
                                                  "license": {"type": "MIT"}})),
          F(nm + "/@scope/pkg/lib/package.json", pj({"type": "module"})),
          F(nm + "/@scope/pkg/node_modules/left-pad/package.json", pj({"name": "left-pad", "version": "1.1.0",
                                                                       "licenses": [{"type": "MIT"}, {"type": "ISC"}]})),
          F(nm + "/.package-lock.json", pj({"name": "my-app", "lockfileVersion": 3}))]
    l2 = [F(nm + "/left-pad/package.json", pj({"name": "left-pad", "version": "1.3.1", "license": "WTFPL"}))]
    layers = archive(out, "npm", [l1, l2])
    return {"layers": layers, "packages": {
        "left-pad@1.3.1": {"purl": "pkg:npm/left-pad@1.3.1", "licenses": ["WTFPL"], "introduced": 0, "changed": 1},
        "left-pad@1.1.0": {"purl": "pkg:npm/left-pad@1.1.0", "licenses": ["MIT", "ISC"], "introduced": 0,
                           "changed": 0},
        "@scope/pkg@2.0.0-beta.1": {"purl": "pkg:npm/%40scope/pkg@2.0.0-beta.1", "licenses": ["MIT"],
                                    "introduced": 0, "changed": 0}}}


GO_BINS = ["umoci", "skopeo"]  # Debian's builds: GOPATH mode, a "path" line and no modules
SENT_A = bytes.fromhex("3077af0c9274080241e1c107e6d618e6")
SENT_B = bytes.fromhex("f932433186182072008242104116d8f2")


def uvarint(n):
    out = b""
    while True:
        b = n & 0x7f
        n >>= 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out


def go_elf(main, deps, pad=100000):
    """an ELF64 with section headers, a writable segment with `pad` bytes before .go.buildinfo
    (as external linking puts .data.rel.ro first), and Go 1.18+ inline build info"""
    mod = "path\t%s/cmd/x\nmod\t%s\t%s\th1:AAAA=\n" % (main[0], main[0], main[1])
    for d in deps:
        mod += "dep\t%s\t%s\th1:BBBB=\n" % (d[0], d[1])
        if len(d) > 2:
            mod += "=>\t%s\t%s\t%s\n" % d[2]
    mod += "build\t-compiler=gc\nbuild\tGOOS=linux\n"
    m = SENT_A + mod.encode() + SENT_B
    ver = b"go1.22.1"
    info = b"\xff Go buildinf:" + bytes([8, 2]) + bytes(16) + uvarint(len(ver)) + ver + uvarint(len(m)) + m
    text = bytes(range(256)) * 32                     # 8 KiB at 0x1000
    data_off = 0x3000
    bi_off = data_off + pad
    bi_off += (-bi_off) % 16
    body = bytearray(bi_off + len(info) + 64)
    body[0x1000:0x1000 + len(text)] = text
    body[bi_off:bi_off + len(info)] = info
    shstr = b"\0.text\0.data.rel.ro\0.go.buildinfo\0.shstrtab\0"
    shstr_off = len(body)
    body += shstr
    body += bytes((-len(body)) % 8)
    shoff = len(body)
    secs = [(0, 0, 0, 0, 0, 0), (1, 1, 6, 0x1000, len(text), 16), (7, 1, 3, data_off, pad, 16),
            (20, 1, 3, bi_off, len(info), 16), (34, 3, 0, shstr_off, len(shstr), 1)]
    for name, typ, flags, off, size, align in secs:
        body += struct.pack("<IIQQQQIIQQ", name, typ, flags, off, off, size, 0, 0, align, 0)
    struct.pack_into("<4sBBBB8sHHIQQQIHHHHHH", body, 0, b"\x7fELF", 2, 1, 1, 0, bytes(8), 2, 62, 1, 0x1000, 64,
                     shoff, 0, 64, 56, 2, 64, len(secs), 4)
    struct.pack_into("<IIQQQQQQ", body, 64, 1, 5, 0, 0, 0, 0x3000, 0x3000, 0x1000)
    struct.pack_into("<IIQQQQQQ", body, 120, 1, 6, data_off, data_off, data_off, len(body) - data_off,
                     len(body) - data_off, 0x1000)
    return bytes(body)


def go_image(out):
    paths = [shutil.which(b) for b in GO_BINS]
    real = [[F("usr/bin/" + b, open(p, "rb").read(), 0o755)] if p else [] for p, b in zip(paths, GO_BINS)]
    app1 = go_elf(("example.com/app", "v1.0.0"), [("github.com/pkg/errors", "v0.9.1"),
                                                   ("golang.org/x/sys", "v0.15.0"),
                                                   ("example.com/old", "v1.0.0", ("example.com/new", "v1.2.0", "h1:CC="))])
    app2 = go_elf(("example.com/app", "v1.1.0"), [("github.com/pkg/errors", "v0.9.1"),
                                                   ("golang.org/x/sys", "v0.16.0"),
                                                   ("example.com/old", "v1.0.0", ("example.com/new", "v1.2.0", "h1:CC=")),
                                                   ("example.com/local", "v0.0.0", ("../local", "", ""))], pad=300000)
    tool = go_elf(("example.com/Tool", "(devel)"), [("github.com/pkg/errors", "v0.9.1")], pad=64)
    l1 = real[0] + [F("app/server", app1, 0o755), F("usr/local/bin/tool", tool, 0o755)]
    l2 = real[1] + [F("app/server", app2, 0o755)]
    layers = archive(out, "go", [l1, l2])
    return {"layers": layers, "packages": {
        "example.com/app": {"purl": "pkg:golang/example.com/app@v1.1.0", "licenses": [], "introduced": 0,
                            "changed": 1, "files": ["app/server"]},
        "golang.org/x/sys": {"purl": "pkg:golang/golang.org/x/sys@v0.16.0", "licenses": [], "introduced": 0,
                             "changed": 1, "files": ["app/server"]},
        "example.com/new": {"purl": "pkg:golang/example.com/new@v1.2.0", "licenses": [], "introduced": 0,
                            "changed": 0, "files": ["app/server"]},
        "example.com/local": {"purl": "pkg:golang/example.com/local@v0.0.0", "licenses": [], "introduced": 1,
                              "changed": 1, "files": ["app/server"]},
        "example.com/Tool": {"purl": "pkg:golang/example.com/Tool@%28devel%29", "licenses": [], "introduced": 0,
                             "changed": 0, "files": ["usr/local/bin/tool"]}}}


def hostile_image(out):
    import sqlite3
    tmp = tempfile.mkdtemp()
    try:
        db = os.path.join(tmp, "rpmdb.sqlite")
        c = sqlite3.connect(db)
        c.execute("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)")
        good = rpm_header({1000: (6, [b"good"]), 1001: (6, [b"1"]), 1002: (6, [b"1"]), 1022: (6, [b"x86_64"])})
        c.execute("INSERT INTO Packages (blob) VALUES (?)", (good,))
        c.execute("INSERT INTO Packages (blob) VALUES (?)", (good[:len(good) // 2],))
        c.execute("INSERT INTO Packages (blob) VALUES (?)", (struct.pack(">II", 0xffffff, 0xffffff),))
        c.commit()
        c.close()
        with open(db, "rb") as f:
            sq = f.read()
    finally:
        shutil.rmtree(tmp)
    elf = bytearray(elf_stub())
    info = b"\xff Go buildinf:" + bytes([8, 2]) + bytes(16) + b"\x08go1.21.0" + b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f"
    elf[4096:4096 + len(info)] = info
    huge = b"Metadata-Version: 2.1\nName: huge\nVersion: 1\n" + b"Description: " + b"x" * (2 << 20) + b"\n"
    l1 = [F("etc/os-release", b"ID=fedora\n"), F("var/lib/rpm/rpmdb.sqlite", sq),
          F("usr/lib/python3/dist-packages/huge-1.dist-info/METADATA", huge),
          F("usr/lib/python3/dist-packages/nohead-1.dist-info/METADATA", b"just text, no headers\n"),
          F("app/node_modules/broken/package.json", b"{\"name\": \"broken\", \"version\": "),
          F("app/node_modules/dup/package.json", b"{\"name\": \"a\", \"name\": \"b\", \"version\": \"1\"}"),
          F("usr/bin/badgo", bytes(elf), 0o755),
          F("usr/bin/tiny", b"\x7fELF\x02\x01\x01", 0o755)]
    archive(out, "hostile", [l1])
    archive(out, "bdb", [[F("etc/os-release", b"ID=centos\n"), F("var/lib/rpm/Packages", b"\0" * 4096)]])


def rpm_header(tags):
    """an rpm header blob (il, dl, index, data) from {tag: (type, [values])}"""
    index, data = b"", b""
    for tag, (typ, vals) in sorted(tags.items()):
        index += struct.pack(">IIII", tag, typ, len(data), len(vals))
        data += b"".join(v + b"\0" for v in vals)
    return struct.pack(">II", len(tags), len(data)) + index + data


def elf_stub():
    """a little-endian ELF64 header with one writable PT_LOAD at 4096, 8 KiB long"""
    h = bytearray(8192)
    h[0:16] = b"\x7fELF\x02\x01\x01" + bytes(9)
    struct.pack_into("<HHIQQQIHHHHHH", h, 16, 2, 62, 1, 0, 64, 0, 0, 64, 56, 1, 0, 0, 0)
    struct.pack_into("<IIQQQQQQ", h, 64, 1, 6, 4096, 0x1000, 0x1000, 4096, 4096, 16)
    return bytes(h)


def make(out):
    os.makedirs(out, exist_ok=True)
    exp = {"rpm": rpm_image(out), "python": python_image(out), "npm": npm_image(out), "go": go_image(out)}
    hostile_image(out)
    with open(os.path.join(out, "eco-expect.json"), "w") as f:
        json.dump(exp, f, indent=1, sort_keys=True)


# ---- oracles ----

def oracle_rpm(root):
    r = subprocess.run(["rpm", "--root", os.path.abspath(root), "--dbpath", "/var/lib/rpm", "-qa", "--qf",
                        "%{NAME} %|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\\n"],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True, text=True)
    sys.stdout.write(r.stdout)


def oracle_python(root):
    import importlib.metadata as md
    sites = set()
    for d, dirs, files in os.walk(root):
        for x in dirs:
            if x.endswith(".dist-info") or x.endswith(".egg-info"):
                sites.add(d)
    for s in sorted(sites):
        for dist_ in md.distributions(path=[s]):
            print(dist_.metadata["Name"], dist_.version)


def oracle_npm(root):
    for d, dirs, files in os.walk(root):
        parts = os.path.relpath(d, root).split(os.sep)
        if "package.json" not in files or len(parts) < 2:
            continue
        if parts[-2] == "node_modules" or (len(parts) >= 3 and parts[-3] == "node_modules" and parts[-2].startswith("@")):
            with open(os.path.join(d, "package.json")) as f:
                j = json.load(f)
            print(j["name"], j["version"])


def go_buildinfo(data):
    """debug/buildinfo's reading: the .go.buildinfo section, Go 1.18+ inline strings"""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return None
    shoff, = struct.unpack_from("<Q", data, 40)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 58)
    secs = [struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize) for i in range(shnum)]
    stroff = secs[shstrndx][4]
    for name, typ, flags, addr, off, size in secs:
        n = data[stroff + name:data.index(b"\0", stroff + name)]
        if n == b".go.buildinfo":
            b = data[off:off + size]
            assert b[:14] == b"\xff Go buildinf:" and b[15] & 2
            pos = 32
            strs = []
            for _ in range(2):
                ln, shift = 0, 0
                while True:
                    c = b[pos]
                    pos += 1
                    ln |= (c & 0x7f) << shift
                    shift += 7
                    if c < 0x80:
                        break
                strs.append(b[pos:pos + ln].decode("latin-1"))
                pos += ln
            mod = strs[1]
            if len(mod) >= 33 and mod[-17] == "\n":
                mod = mod[16:-16]
            mods = []
            for line in mod.split("\n"):
                f = line.split("\t")
                if f[0] in ("mod", "dep") and len(f) >= 2:
                    mods.append([f[1], f[2] if len(f) > 2 else ""])
                elif f[0] == "=>" and len(f) >= 3 and f[2] and mods:
                    mods[-1] = [f[1], f[2]]
            return mods
    return None


def oracle_go(root):
    for d, dirs, files in os.walk(root):
        for fn in sorted(files):
            p = os.path.join(d, fn)
            if os.path.islink(p) or not os.path.isfile(p):
                continue
            with open(p, "rb") as f:
                data = f.read()
            try:
                mods = go_buildinfo(data)
            except (AssertionError, IndexError, struct.error, ValueError):
                mods = None
            for path, ver in mods or []:
                print(path, ver)


def check(cdx, orc, typ, name):
    doc = json.load(open(cdx))
    got = sorted("%s %s" % (c["name"], c["version"]) for c in doc["components"] if c["purl"].startswith("pkg:%s/" % typ))
    want = sorted(l.strip() for l in open(orc) if l.strip())
    ok = got == want and want
    print("%s - sbom %s: %d %s packages, the same as the oracle's%s" %
          ("ok" if ok else "not ok", name, len(want), typ, "" if ok else ": strata %r, oracle %r" % (got, want)))
    return 0 if ok else 1


def expect(cdx, exp, name):
    doc = json.load(open(cdx))
    e = json.load(open(exp))[name]
    bad = 0
    comps = {}
    for c in doc["components"]:
        comps.setdefault(c["name"], []).append(c)
        comps.setdefault("%s@%s" % (c["name"], c["version"]), []).append(c)
    for pn, p in sorted(e["packages"].items()):
        cs = comps.get(pn, [])
        c = cs[0] if len(cs) == 1 else None
        if not c:
            print("not ok - sbom %s %s: one component (got %d)" % (name, pn, len(cs)))
            bad += 1
            continue
        pr = {x["name"]: x["value"] for x in c.get("properties", [])}
        lics = [l["license"]["name"] for l in c.get("licenses", [])]
        lay = (pr.get("strata:layer:introduced"), pr.get("strata:layer:changed"))
        want = (p["purl"], p["licenses"], (e["layers"][p["introduced"]], e["layers"][p["changed"]]))
        got = (c["purl"], lics, lay)
        ok = got == want
        if ok and "files" in p:
            files = sorted(f["name"] for f in c.get("components", []))
            ok = files == sorted(p["files"])
            got = got + (files,)
            want = want + (sorted(p["files"]),)
        if ok and "files" in p:
            mod = {f["name"]: x["value"] for f in c.get("components", []) for x in f.get("properties", [])
                   if x["name"] == "strata:file:database-sha256"}
            ok = mod == p.get("modified", {})
            got, want = got + (mod,), want + (p.get("modified", {}),)
        print("%s - sbom %s %s: purl, licenses, layers%s%s" % ("ok" if ok else "not ok", name, pn,
                                                                ", files, files changed since installed"
                                                                if "files" in p else "",
                                                                "" if ok else ": %r != %r" % (got, want)))
        bad += not ok
    return 1 if bad else 0


def main():
    a = sys.argv[1:]
    if len(a) == 2 and a[0] == "make":
        make(a[1])
    elif len(a) == 2 and a[0] in ("rpm", "python", "npm", "go"):
        globals()["oracle_" + a[0]](a[1])
    elif len(a) == 5 and a[0] == "check":
        return check(*a[1:])
    elif len(a) == 4 and a[0] == "expect":
        return expect(*a[1:])
    else:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
