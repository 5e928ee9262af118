#!/usr/bin/env python3
"""tests/sbom/compare.py - run.sh's checks of one SBOM, each printing `ok - sbom ...` / `not ok - sbom ...`.

  compare.py expect CDX EXPECT_JSON NAME   packages, versions, architectures, PURLs, licenses, layer
                                           attribution and files equal what make.py planted
  compare.py oracle CDX ORACLE NAME        the package set equals ORACLE's lines "NAME VERSION"
  compare.py statusd ROOT                  print "NAME VERSION" of ROOT/var/lib/dpkg/status.d/* (installed)
  compare.py apk ROOT                      print "NAME VERSION" of ROOT/lib/apk/db/installed
  compare.py files CDX ROOT NAME           every file's sha256 equals the unpacked file's
  compare.py sde A B NAME                  A and B differ only in the timestamp
"""
import hashlib
import json
import os
import sys

bad = 0


def report(ok, what, detail=""):
    global bad
    if ok:
        print("ok - sbom %s" % what)
    else:
        bad += 1
        print("not ok - sbom %s%s" % (what, ": " + detail if detail else ""))


def props(c):
    return {p["name"]: p["value"] for p in c.get("properties", [])}


def expect(cdx, exp, name):
    doc = json.load(open(cdx))
    e = json.load(open(exp))[name]
    comps = {c["name"]: c for c in doc["components"]}
    report(sorted(comps) == sorted(e["packages"]), "%s: the package set is the planted one" % name,
           "%s != %s" % (sorted(comps), sorted(e["packages"])))
    report(doc["metadata"]["component"]["version"] == e["config"], "%s: the image is named by its config" % name)
    for pn, p in sorted(e["packages"].items()):
        c = comps.get(pn)
        if not c:
            continue
        pr = props(c)
        got = (c["version"], pr.get("strata:package:architecture"), c["purl"])
        report(got == (p["version"], p["arch"], p["purl"]), "%s %s: version, architecture, purl" % (name, pn),
               "%r != %r" % (got, (p["version"], p["arch"], p["purl"])))
        lics = [l["license"]["name"] for l in c.get("licenses", [])]
        report(lics == p["licenses"], "%s %s: licenses" % (name, pn), "%r != %r" % (lics, p["licenses"]))
        want = (e["layers"][p["introduced"]], e["layers"][p["changed"]])
        got = (pr.get("strata:layer:introduced"), pr.get("strata:layer:changed"))
        report(got == want, "%s %s: introduced by layer %d, last changed by layer %d" %
               (name, pn, p["introduced"] + 1, p["changed"] + 1), "%r != %r" % (got, want))
        files = {f["name"]: f["hashes"][0]["content"] for f in c.get("components", [])}
        report(files == p["files"], "%s %s: files and sha256" % (name, pn), "%r != %r" % (files, p["files"]))


def oracle(cdx, orc, name):
    doc = json.load(open(cdx))
    got = sorted("%s %s" % (c["name"], c["version"]) for c in doc["components"])
    want = sorted(l.strip() for l in open(orc) if l.strip())
    report(got == want and want, "%s: %d packages, the same as the oracle's" % (name, len(want)),
           "strata %r, oracle %r" % (got, want))


def paragraphs(text):
    for para in text.split("\n\n"):
        if para.strip():
            yield para.split("\n")


def statusd(root):
    d = os.path.join(root, "var/lib/dpkg/status.d")
    for fn in sorted(os.listdir(d)):
        for para in paragraphs(open(os.path.join(d, fn)).read()):
            f = {l.split(": ", 1)[0]: l.split(": ", 1)[1] for l in para if ": " in l and not l.startswith(" ")}
            if "Package" in f and f.get("Status", "").endswith(" installed"):
                print(f["Package"], f["Version"])


def apk(root):
    for para in paragraphs(open(os.path.join(root, "lib/apk/db/installed")).read()):
        f = {l[0]: l[2:] for l in para if len(l) > 2 and l[1] == ":"}
        if "P" in f:
            print(f["P"], f["V"])


def files(cdx, root, name):
    doc = json.load(open(cdx))
    n, wrong = 0, []
    for c in doc["components"]:
        for f in c.get("components", []):
            n += 1
            with open(os.path.join(root, f["name"]), "rb") as g:
                if hashlib.sha256(g.read()).hexdigest() != f["hashes"][0]["content"]:
                    wrong.append(f["name"])
    report(n and not wrong, "%s: the sha256 of the %d files listed match the unpacked tree" % (name, n),
           "differ: %r" % wrong)


def sde(a, b, name):
    la, lb = open(a).read().split("\n"), open(b).read().split("\n")
    diff = [(x, y) for x, y in zip(la, lb) if x != y]
    ok = len(la) == len(lb) and len(diff) == 1 and ("timestamp" in diff[0][0] or "created" in diff[0][0])
    report(ok, "%s: SOURCE_DATE_EPOCH changes only the timestamp" % name, repr(diff[:3]))


def main():
    a = sys.argv[1:]
    if a and a[0] == "expect" and len(a) == 4:
        expect(*a[1:])
    elif a and a[0] == "oracle" and len(a) == 4:
        oracle(*a[1:])
    elif a and a[0] == "statusd" and len(a) == 2:
        statusd(a[1])
    elif a and a[0] == "apk" and len(a) == 2:
        apk(a[1])
    elif a and a[0] == "files" and len(a) == 4:
        files(*a[1:])
    elif a and a[0] == "sde" and len(a) == 4:
        sde(*a[1:])
    else:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
