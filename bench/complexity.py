#!/usr/bin/env python3
"""bench/complexity.py [STRATA] [WORKDIR] - cost that must not grow faster than the input.
   bench/complexity.py --write DIR N        only write the inputs at size N
   COMPLEXITY_N (default 50000) sets n; COMPLEXITY_ONLY=class,class runs only those classes.

For each class of hostile input of issue 11, make the input at size n and at 4n, run the
commands that read it, and print the time and peak RSS of each run with the growth factor
(4n over n).  Linear (or n log n) cost gives a time factor near 4 and a memory factor of at
most 4; the targets are time <= 5 and memory <= 4.  A run that exits other than 0 or 4 is a
failure of its own (refusing a bound is fine: exit 4, and then the factor shows it is cheap).
Each figure is the median of 3 runs.  Never part of `make check`: no timing in tests.

Classes: an index listing an index many times that lists a manifest many times; one layer
listed many times in a manifest; a symlink target of "./././..."; one very deep path; many
hardlinks to files of a lower layer; many directory whiteouts; many packages (npm package.json
files: what sbom, analyze and diff list); many names of one image (RepoTags: what convert writes
as index.json entries, RepoTags and repositories).
"""
import hashlib
import importlib.util
import io
import json
import os
import subprocess
import sys
import tarfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, "tests", "analyze"))
from make import D, F, H, S, WH  # noqa: E402
_spec = importlib.util.spec_from_file_location("fm", os.path.join(TOP, "tests", "flatten", "make.py"))
fm = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fm)
raw_tar = fm.raw_tar
MTIME = 1700000000


def sha(b):
    return hashlib.sha256(b).hexdigest()


def tar_of(files):
    bio = io.BytesIO()
    tf = tarfile.open(fileobj=bio, mode="w", format=tarfile.PAX_FORMAT)
    for name in sorted(files):
        ti = tarfile.TarInfo(name)
        ti.size, ti.mode, ti.mtime = len(files[name]), 0o644, MTIME
        tf.addfile(ti, io.BytesIO(files[name]))
    tf.close()
    return bio.getvalue()


def config(diff_ids):
    return json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                       "rootfs": {"type": "layers", "diff_ids": diff_ids}},
                      sort_keys=True, separators=(",", ":")).encode()


def docker(layers, order=None, tags=("bench/complexity:1",)):
    """A docker-archive of these layer tars (stored once each), listed in `order` (indexes)."""
    order = list(range(len(layers))) if order is None else order
    files, paths = {}, []
    for i, t in enumerate(layers):
        files["l%d/layer.tar" % i] = t
    cfg = config(["sha256:" + sha(layers[i]) for i in order])
    files[sha(cfg) + ".json"] = cfg
    man = [{"Config": sha(cfg) + ".json", "RepoTags": list(tags),
            "Layers": ["l%d/layer.tar" % i for i in order]}]
    files["manifest.json"] = json.dumps(man).encode()
    return tar_of(files)


def fanout(k):
    """oci-archive: index.json lists index A k times; A lists manifest M k times (k*k visits)."""
    layer = raw_tar([F("a", 1)])
    cfg = config(["sha256:" + sha(layer)])
    man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                      "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                 "digest": "sha256:" + sha(cfg), "size": len(cfg)},
                      "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                                  "digest": "sha256:" + sha(layer), "size": len(layer)}]}).encode()
    md = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + sha(man),
          "size": len(man)}
    a = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                    "manifests": [md] * k}).encode()
    ad = {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": "sha256:" + sha(a), "size": len(a)}
    top = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                      "manifests": [ad] * k}).encode()
    files = {"oci-layout": b'{"imageLayoutVersion":"1.0.0"}', "index.json": top}
    for b in (layer, cfg, man, a):
        files["blobs/sha256/" + sha(b)] = b
    return tar_of(files)


def cases(n):
    """(name, bytes, [commands]) for size n."""
    out = []
    k = int(n ** 0.5)
    out.append(("index-fanout", fanout(k), [["verify"], ["inspect"]]))
    small = raw_tar([F("etc/f%d" % i, 64) for i in range(20)])
    reps = max(1, n // 100)
    out.append(("layer-repeated", docker([small], [0] * reps), [["verify"], ["flatten", "-"]]))
    dots = "./" * n + "etc"
    out.append(("symlink-dots", docker([raw_tar([S("l", dots)])]), [["verify"], ["analyze", "--format", "json"],
                                                                   ["flatten", "-"]]))
    deep = "/".join(["a"] * n)
    out.append(("deep-path", docker([raw_tar([F(deep, 1)])]), [["verify"], ["analyze", "--format", "json"],
                                                              ["flatten", "-"]]))
    m = n // 10
    low = raw_tar([D("d")] + [F("d/f%d" % i, 8) for i in range(m)])
    links = raw_tar([H("l/h%d" % i, "d/f%d" % i) for i in range(m)])
    up = raw_tar([WH("d/f%d" % i) for i in range(0, m, 2)])
    out.append(("hardlinks-below", docker([low, links, up]), [["verify"], ["flatten", "-"]]))
    base = raw_tar([F("x%d/y/z" % i, 4) for i in range(m)])
    whs = raw_tar([WH("x%d" % i) for i in range(m)])
    again = raw_tar([F("x%d/y/w" % i, 4) for i in range(m)])
    out.append(("dir-whiteouts", docker([base, whs, again, whs]), [["verify"], ["analyze", "--format", "json"],
                                                                 ["flatten", "-"]]))
    pkgs = {}
    for i in range(m):
        pkgs["usr/lib/node_modules/p%d/package.json" % i] = json.dumps(
            {"name": "p%d" % i, "version": "1.0.%d" % i, "license": "MIT"}).encode()
    out.append(("many-packages", docker([tar_of(pkgs)]), [["sbom"], ["sbom", "--format", "spdx-json"],
                                                          ["analyze", "--format", "json"], ["diff", "@IN", "@IN"]]))
    names = ["r%d/x:t%d" % (i % 50, i) for i in range(m)]
    out.append(("many-names", docker([small], tags=names), [["inspect"], ["convert", "@IN", "oci-archive:/dev/null"],
                                                            ["convert", "@IN", "docker-archive:/dev/null"]]))
    return out


def measure(strata, cmd, path):
    """(seconds, peak RSS KiB, exit) of `strata CMD... PATH` (flatten writes to stdout, thrown
    away; "@IN" in CMD stands for PATH, which then is not appended: diff compares the input with
    itself, convert writes to /dev/null), under GNU time: the RSS of a child forked from this (large) process would count
    the parent's pages."""
    args = ([strata] + [path if c == "@IN" else c for c in cmd if c != "-"] + ([] if "@IN" in cmd else [path]) +
            (["-"] if cmd[-1] == "-" else []))
    t0 = time.monotonic()
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dt = time.monotonic() - t0
    rss = int(p.stderr.decode().strip().splitlines()[-1])
    return dt, rss, p.returncode


def median(xs):
    return sorted(xs)[len(xs) // 2]


def write(outdir, n):
    """Only write the inputs at size n (tests/adversarial/cost.sh runs them in make check)."""
    os.makedirs(outdir, exist_ok=True)
    for name, data, _ in cases(n):
        with open(os.path.join(outdir, name + ".tar"), "wb") as f:
            f.write(data)
    return 0


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--write":
        return write(sys.argv[2], int(sys.argv[3]))
    strata = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(TOP, "strata"))
    work = sys.argv[2] if len(sys.argv) > 2 else "/tmp/strata-complexity"
    n = int(os.environ.get("COMPLEXITY_N", "50000"))
    os.makedirs(work, exist_ok=True)
    bad = 0
    if not os.path.exists("/usr/bin/time"):
        sys.stderr.write("complexity.py: needs GNU time (/usr/bin/time: apt-get install time)\n")
        return 2
    print("%-16s %-32s %10s %10s %7s %9s %9s %7s  exit" % ("class", "command", "t(n) s", "t(4n) s", "x time",
                                                             "rss(n)", "rss(4n)", "x rss"))
    small, big = cases(n), cases(4 * n)
    only = os.environ.get("COMPLEXITY_ONLY", "").split(",")
    for (name, data1, cmds), (_, data4, _) in zip(small, big):
        if only != [""] and name not in only:
            continue
        p1, p4 = os.path.join(work, name + "-n.tar"), os.path.join(work, name + "-4n.tar")
        for p, d in ((p1, data1), (p4, data4)):
            with open(p, "wb") as f:
                f.write(d)
        for cmd in cmds:
            r1 = [measure(strata, cmd, p1) for _ in range(3)]
            r4 = [measure(strata, cmd, p4) for _ in range(3)]
            t1, t4 = median([r[0] for r in r1]), median([r[0] for r in r4])
            m1, m4 = median([r[1] for r in r1]), median([r[1] for r in r4])
            codes = sorted({r[2] for r in r1 + r4})
            # below 20 ms the clock says nothing: a floor keeps such factors honest
            ft, fm_ = max(t4, 0.02) / max(t1, 0.02), m4 / m1
            ok = ft <= 5 and fm_ <= 4 and all(c in (0, 4) for c in codes)
            bad += not ok
            print("%-16s %-32s %10.3f %10.3f %7.2f %8dK %8dK %7.2f  %s%s" % (
                name, " ".join(c for c in cmd if c not in ("-", "@IN")), t1, t4, ft, m1, m4, fm_,
                ",".join(map(str, codes)), "" if ok else "  <-- over target"))
            sys.stdout.flush()
    print("%d over target" % bad)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
