#!/usr/bin/env python3
"""tests/layers/make.py OUTDIR - images that only the stacked layers judge right (issue 10).

Deterministic, python3 stdlib only; the layer helpers are tests/analyze/make.py's and
tests/flatten/make.py's.  Writes OUTDIR/cases.json: {name: {"file", "verdict", ...}} where
verdict is "ok" (verify, flatten, unpack, convert all succeed) or "unsafe" (all refuse, exit 4).
"""
import json
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "analyze"))
import make as am  # noqa: E402
from make import D, F, H, S, WH, Image, docker_archive  # noqa: E402
import importlib.util  # noqa: E402

spec = importlib.util.spec_from_file_location("fm", os.path.join(here, "..", "flatten", "make.py"))
fm = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fm)

CASES = {
    # a symlink planted in layer 1, written through in layer 3
    "sym-through-abs": ("unsafe", [[D("etc"), S("etc/x", "/tmp")], [F("a", 1)], [F("etc/x/evil", 4)]]),
    # the same, but layer 3 first replaces the symlink by a directory (Docker's applier does)
    "sym-replaced-by-dir": ("ok", [[D("etc"), S("etc/x", "/tmp")], [F("a", 1)], [D("etc/x"), F("etc/x/evil", 4)]]),
    "sym-through-rel": ("unsafe", [[S("up", "../../..")], [F("b", 1)], [F("up/evil", 4)]]),
    "file-through-file": ("unsafe", [[D("etc"), F("etc/x", 2)], [F("a", 1)], [F("etc/x/evil", 4)]]),
    # a root entry that is not a directory: flatten, unpack and verify all refuse it
    "root-symlink": ("unsafe", [[F("keep", 1)], [S("./", "/etc"), F("x", 1)]]),
    "root-file": ("unsafe", [[F("keep", 1)], [F("./", 3)]]),
    # a symlink, then a directory of the same name in one layer: the later entry wins (Docker,
    # containerd), so what follows goes into the directory
    "sym-then-dir": ("ok", [[F("keep", 1)], [S("d", "/etc"), D("d"), F("d/x", 2)]]),
    # and the other way round: a directory with an entry, then a symlink over it in one layer
    "dir-then-sym": ("unsafe", [[F("keep", 1)], [D("d"), F("d/x", 2), S("d", "/etc")]]),
    # a hardlink to a path whose parent a lower layer turned into a symlink
    "link-below-symlink": ("unsafe", [[D("p"), F("p/f", 3)], [WH("p"), S("p", "/etc")], [H("h", "p/f")]]),
    # a whiteout below a lower layer's symlink
    "whiteout-through": ("unsafe", [[S("s", "/etc")], [F("s/.wh.passwd", 0)]]),
    # a directory replaced by a file, then re-created as a directory
    "dir-file-dir": ("ok", [[D("d"), F("d/a", 10), F("d/b", 20), F("keep", 1)], [F("d", 5)],
                            [WH("d"), D("d"), F("d/c", 3)]]),
    # a hardlink across three layers: the target rewritten above keeps the link's old content
    "link-three": ("ok", [[D("bin"), F("bin/f", b"old\n")], [H("bin/g", "bin/f")], [F("bin/f", b"new!\n")]]),
}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    cases = {}
    for name, (verdict, layers) in CASES.items():
        lt = [fm.raw_tar(l) for l in layers]
        with open(os.path.join(out, name + ".tar"), "wb") as f:
            f.write(docker_archive([Image(["strata-test/%s:1" % name], lt, [("x", False)] * len(lt))]))
        cases[name] = {"file": name + ".tar", "verdict": verdict}
    # the base of dir-file-dir alone, and with the file layer: diff lists d/a and d/b as removed
    l = CASES["dir-file-dir"][1]
    for name, n in (("dfd-base", 1), ("dfd-file", 2)):
        lt = [fm.raw_tar(x) for x in l[:n]]
        with open(os.path.join(out, name + ".tar"), "wb") as f:
            f.write(docker_archive([Image(["strata-test/%s:1" % name], lt, [("x", False)] * n)]))
    # a rootfs holding an absolute symlink out and a '..' name: import must refuse it
    with open(os.path.join(out, "rootfs-unsafe.tar"), "wb") as f:
        f.write(fm.raw_tar([F("etc/ok", 2), S("etc/out", "../../../../../../tmp"), F("etc/../../up", 3)]))
    # a tar header corrupted inside a gzip layer, the config keeping the right diff_id:
    # the layer is not what its digest says (exit 1 from verify and convert alike)
    good = [fm.raw_tar([F("etc/ok", 2), F("etc/two", 3)])]
    bad = bytearray(good[0])
    bad[512 + 148] ^= 0x01  # the second header's checksum field
    im = Image(["strata-test/corrupt:1"], [bytes(bad)], [("x", False)], True)
    right = "sha256:" + am.sha(good[0])
    im.config = im.config.replace(im.diff_ids[0].encode(), right.encode())
    im.config_hex = am.sha(im.config)
    with open(os.path.join(out, "corrupt-header-gz.tar"), "wb") as f:
        f.write(docker_archive([im]))
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump(cases, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
