#!/usr/bin/env python3
"""tests/sbom/make.py OUTDIR - docker-archives with known packages for `strata sbom`.

Deterministic, python3 stdlib only; the tar and archive helpers are tests/analyze/make.py's.
Writes to OUTDIR:

  deb.tar         3 layers, dpkg: a status DB with Architecture fields, info/NAME.list and
                  info/NAME:ARCH.list file lists, machine-readable (DEP-5) copyright files and
                  one that is not; layer 2 upgrades libc6 (new file content) and adds curl;
                  layer 3 removes zlib1g (database entry, files, list and doc whited out)
                  and leaves a config-files entry; etc/os-release ID=debian
  distroless.tar  2 layers, dpkg status.d/ fragments (and .md5sums); layer 2 adds openssl and
                  whites out the base-files fragment; os-release only in usr/lib/ (etc/ is
                  a symlink to it); ID="debian"
  alpine.tar      3 layers, apk installed DB with F:/R: file lists and L: licences; layer 2
                  upgrades busybox and adds curl, layer 3 removes alpine-baselayout;
                  etc/os-release ID=alpine
  tampered.tar    deb.tar with one content byte of layer 2 flipped (fails verification)
  budget.tar      1 layer, dpkg: a status of 3 packages (p0, p1, p2), each with a 52 KB
                  info/NAME.list (one file listed, then comment-free padding paths): with
                  --max-json 2K (64 times: 128 KiB of package files) p2's list is past it
  expect.json     per archive: the layer digests, and per package its purl, licenses, the
                  layer indexes that introduced and last changed it, and its files (sha256)
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "analyze"))
import make as am  # noqa: E402  (tests/analyze/make.py)

F, D, S, WH = am.F, am.D, am.S, am.WH

DEP5 = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: %s\n\n"


def dep5(name, *lics):
    s = DEP5 % name
    for i, lic in enumerate(lics):
        s += "Files: %s\nCopyright: 2024 Someone\nLicense: %s\n\n" % ("*" if i == 0 else "part%d/*" % i, lic)
    for lic in lics:
        s += "License: %s\n The text of %s.\n\n" % (lic, lic)
    return s.encode()


def status(pkgs):
    """pkgs: (name, version, arch[, status])"""
    out = []
    for p in pkgs:
        name, ver, arch = p[:3]
        st = p[3] if len(p) > 3 else "install ok installed"
        out.append("Package: %s\nStatus: %s\nPriority: optional\nMaintainer: Debian <d@example.org>\nArchitecture: %s\n%sVersion: %s\n"
                   "Description: the %s package\n Architecture: not-a-field\n" %
                   (name, st, arch, "Multi-Arch: same\n" if arch != "all" else "", ver, name))
    return "\n".join(out).encode()


def listing(files):
    dirs = set()
    for f in files:
        parts = f.split("/")
        for i in range(1, len(parts)):
            dirs.add("/".join(parts[:i]))
    return ("/.\n" + "".join("/%s\n" % d for d in sorted(dirs)) + "".join("/%s\n" % f for f in files)).encode()


def data(path, tag):
    return am.blob(path + tag, 700 + len(path))


# ---- deb ----

DEB_FILES = {
    "base-files": ["etc/debian_version", "usr/share/base-files/motd"],
    "libc6": ["usr/lib/x86_64-linux-gnu/libc.so.6", "usr/lib/x86_64-linux-gnu/libm.so.6"],
    "bash": ["usr/bin/bash", "etc/bash.bashrc"],
    "zlib1g": ["usr/lib/x86_64-linux-gnu/libz.so.1.2.13"],
    "curl": ["usr/bin/curl"],
}
DEB_LISTNAME = {"libc6": "libc6:amd64", "zlib1g": "zlib1g:amd64"}


def deb_pkg_entries(name, tag, lics):
    ents = [F(f, data(f, tag)) for f in DEB_FILES[name]]
    ents.append(F("var/lib/dpkg/info/%s.list" % DEB_LISTNAME.get(name, name), listing(DEB_FILES[name])))
    if lics is not None:
        ents.append(F("usr/share/doc/%s/copyright" % name, lics))
    return ents


def deb_layers():
    l1 = [D("etc"), F("etc/os-release", b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian"\n'
                                        b'VERSION_ID="12"\nID=debian\n'),
          F("var/lib/dpkg/status", status([("base-files", "12.4+deb12u5", "amd64"),
                                           ("libc6", "2.36-9+deb12u3", "amd64"),
                                           ("bash", "5.2.15-2+b2", "amd64"),
                                           ("zlib1g", "1:1.2.13.dfsg-1", "amd64"),
                                           ("gone", "0.9", "amd64", "purge ok not-installed")]))]
    l1 += deb_pkg_entries("base-files", "1", b"This is Debian's base-files.\nLicense: none, not DEP-5\n")
    l1 += deb_pkg_entries("libc6", "1", dep5("glibc", "LGPL-2.1+", "GPL-2+"))
    l1 += deb_pkg_entries("bash", "1", dep5("bash", "GPL-3+"))
    l1 += deb_pkg_entries("zlib1g", "1", dep5("zlib", "Zlib"))
    l2 = [F("var/lib/dpkg/status", status([("base-files", "12.4+deb12u5", "amd64"),
                                           ("libc6", "2.36-9+deb12u4", "amd64"),
                                           ("bash", "5.2.15-2+b2", "amd64"),
                                           ("zlib1g", "1:1.2.13.dfsg-1", "amd64"),
                                           ("curl", "7.88.1-10+deb12u5", "amd64")]))]
    l2 += deb_pkg_entries("libc6", "2", dep5("glibc", "LGPL-2.1+", "GPL-2+"))
    l2 += deb_pkg_entries("curl", "2", dep5("curl", "curl", "ISC"))
    l3 = [F("var/lib/dpkg/status", status([("base-files", "12.4+deb12u5", "amd64"),
                                           ("libc6", "2.36-9+deb12u4", "amd64"),
                                           ("bash", "5.2.15-2+b2", "amd64"),
                                           ("zlib1g", "1:1.2.13.dfsg-1", "amd64", "deinstall ok config-files"),
                                           ("curl", "7.88.1-10+deb12u5", "amd64")])),
          WH("usr/lib/x86_64-linux-gnu/libz.so.1.2.13"), WH("var/lib/dpkg/info/zlib1g:amd64.list"),
          WH("usr/share/doc/zlib1g")]
    expect = {
        "base-files": ("12.4+deb12u5", "amd64", [], 0, 0, "1"),
        "libc6": ("2.36-9+deb12u4", "amd64", ["LGPL-2.1+", "GPL-2+"], 0, 1, "2"),
        "bash": ("5.2.15-2+b2", "amd64", ["GPL-3+"], 0, 0, "1"),
        "curl": ("7.88.1-10+deb12u5", "amd64", ["curl", "ISC"], 1, 1, "2"),
    }
    pk = {}
    for name, (ver, arch, lics, intro, changed, tag) in expect.items():
        pk[name] = {"type": "deb", "version": ver, "arch": arch, "licenses": lics, "introduced": intro,
                    "changed": changed, "purl": purl("deb", "debian", name, ver, arch),
                    "files": {f: am.sha(data(f, tag)) for f in DEB_FILES[name]}}
    return [l1, l2, l3], pk


# ---- distroless (status.d) ----

def frag(name, ver, arch="amd64"):
    return F("var/lib/dpkg/status.d/" + name, status([(name, ver, arch)]))


def distroless_layers():
    l1 = [D("etc"), S("etc/os-release", "../usr/lib/os-release"),
          F("usr/lib/os-release", b'NAME="Debian GNU/Linux"\nID="debian"\nVERSION_ID="12"\n'),
          frag("base-files", "12.4+deb12u5"), frag("libc6", "2.36-9+deb12u4"),
          F("var/lib/dpkg/status.d/libc6.md5sums", b"0123456789abcdef  usr/lib/x86_64-linux-gnu/libc.so.6\n"),
          F("usr/share/doc/libc6/copyright", dep5("glibc", "LGPL-2.1+")),
          F("usr/lib/x86_64-linux-gnu/libc.so.6", data("usr/lib/x86_64-linux-gnu/libc.so.6", "d"))]
    l2 = [frag("openssl", "3.0.11-1~deb12u2"), frag("tzdata", "2024a-0+deb12u1", "all"),
          F("usr/share/doc/openssl/copyright", dep5("openssl", "Apache-2.0")),
          WH("var/lib/dpkg/status.d/base-files")]
    pk = {}
    for name, ver, arch, lics, intro in (("libc6", "2.36-9+deb12u4", "amd64", ["LGPL-2.1+"], 0),
                                         ("openssl", "3.0.11-1~deb12u2", "amd64", ["Apache-2.0"], 1),
                                         ("tzdata", "2024a-0+deb12u1", "all", [], 1)):
        pk[name] = {"type": "deb", "version": ver, "arch": arch, "licenses": lics, "introduced": intro,
                    "changed": intro, "purl": purl("deb", "debian", name, ver, arch), "files": {}}
    return [l1, l2], pk


# ---- alpine ----

APK_FILES = {
    "musl": ["lib/ld-musl-x86_64.so.1", "lib/libc.musl-x86_64.so.1"],
    "busybox": ["bin/busybox", "etc/busybox-paths.d/busybox"],
    "alpine-baselayout": ["etc/motd"],
    "curl": ["usr/bin/curl"],
}


def apk_para(name, ver, lic):
    s = "C:Q1%s=\nP:%s\nV:%s\nA:x86_64\nS:1234\nI:4096\nT:the %s package\nU:https://example.org/\nL:%s\no:%s\n" \
        "t:1700000000\n" % (am.sha(name.encode())[:26], name, ver, name, lic, name)
    cur = None
    for f in APK_FILES[name]:
        d, _, base = f.rpartition("/")
        if d != cur:
            s += "F:%s\nM:0:0:755\n" % d
            cur = d
        s += "R:%s\na:0:0:755\nZ:Q1%s=\n" % (base, am.sha(f.encode())[:26])
    return s


def apk_db(pkgs):
    return ("\n".join(apk_para(*p) for p in pkgs) + "\n").encode()


APK_LIC = {"musl": "MIT", "busybox": "GPL-2.0-only", "alpine-baselayout": "GPL-2.0-only",
           "curl": "curl AND MIT"}


def alpine_layers():
    def files(name, tag):
        return [F(f, data(f, tag)) for f in APK_FILES[name]]

    l1 = [D("etc"), F("etc/os-release", b'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.19.1\n'),
          F("lib/apk/db/installed", apk_db([("musl", "1.2.4-r2", APK_LIC["musl"]),
                                            ("busybox", "1.36.1-r5", APK_LIC["busybox"]),
                                            ("alpine-baselayout", "3.4.3-r1", APK_LIC["alpine-baselayout"])]))]
    l1 += files("musl", "1") + files("busybox", "1") + files("alpine-baselayout", "1")
    l2 = [F("lib/apk/db/installed", apk_db([("musl", "1.2.4-r2", APK_LIC["musl"]),
                                            ("busybox", "1.36.1-r15", APK_LIC["busybox"]),
                                            ("alpine-baselayout", "3.4.3-r1", APK_LIC["alpine-baselayout"]),
                                            ("curl", "8.5.0-r0", APK_LIC["curl"])]))]
    l2 += files("busybox", "2") + files("curl", "2")
    l3 = [F("lib/apk/db/installed", apk_db([("musl", "1.2.4-r2", APK_LIC["musl"]),
                                            ("busybox", "1.36.1-r15", APK_LIC["busybox"]),
                                            ("curl", "8.5.0-r0", APK_LIC["curl"])])),
          WH("etc/motd")]
    pk = {}
    for name, ver, intro, changed, tag in (("musl", "1.2.4-r2", 0, 0, "1"), ("busybox", "1.36.1-r15", 0, 1, "2"),
                                           ("curl", "8.5.0-r0", 1, 1, "2")):
        pk[name] = {"type": "apk", "version": ver, "arch": "x86_64", "licenses": [APK_LIC[name]],
                    "introduced": intro, "changed": changed, "purl": purl("apk", "alpine", name, ver, "x86_64"),
                    "files": {f: am.sha(data(f, tag)) for f in APK_FILES[name]}}
    return [l1, l2, l3], pk


def enc(s):
    ok = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_~")
    return "".join(c if c in ok else "%%%02X" % ord(c) for c in s)


def purl(t, ns, name, ver, arch):
    return "pkg:%s/%s/%s@%s?arch=%s" % (t, ns, enc(name), enc(ver), enc(arch))


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    expect = {}
    hist = [("/bin/sh -c #(nop) ADD file:base in /", False), ("/bin/sh -c apt-get install", False),
            ("/bin/sh -c apt-get purge", False)]
    for name, (layers, pk) in (("deb", deb_layers()), ("distroless", distroless_layers()),
                               ("alpine", alpine_layers())):
        tars = [am.layer_tar(l) for l in layers]
        img = am.Image(["strata-test/sbom:" + name], tars, hist[:len(tars)])
        arc = am.docker_archive([img])
        with open(os.path.join(out, name + ".tar"), "wb") as f:
            f.write(arc)
        expect[name] = {"layers": ["sha256:" + am.sha(t) for t in tars], "config": "sha256:" + img.config_hex,
                        "packages": pk}
        if name == "deb":
            bad = bytearray(arc)
            at = bad.find(data("usr/bin/curl", "2"))
            assert at > 0
            bad[at + 10] ^= 0x01
            with open(os.path.join(out, "tampered.tar"), "wb") as f:
                f.write(bytes(bad))
    pad = "".join("/usr/share/pad/%05d\n" % i for i in range(2500)).encode()  # 50,000 bytes
    ents = [F("var/lib/dpkg/status", status([("p%d" % i, "1.%d" % i, "amd64") for i in range(3)]))]
    for i in range(3):
        ents.append(F("usr/bin/p%d" % i, data("usr/bin/p%d" % i, "1")))
        ents.append(F("var/lib/dpkg/info/p%d.list" % i, ("/usr/bin/p%d\n" % i).encode() + pad))
    tars = [am.layer_tar(ents)]
    with open(os.path.join(out, "budget.tar"), "wb") as f:
        f.write(am.docker_archive([am.Image(["strata-test/sbom:budget"], tars, hist[:1])]))
    with open(os.path.join(out, "expect.json"), "w") as f:
        json.dump(expect, f, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
