#!/usr/bin/env python3
"""tests/analyze/memory.py STRATA OUTDIR - memory is bounded per entry (issue 16).

Makes two images with bench/gen-files.py, of 2,000 and 200,000 empty files (two layers,
the top one whiting out and overwriting a file of the one below), runs verify, analyze
--format json (with and without --files), analyze --format html, sbom, diff (the image
against itself), diff --json (the small image against it) and flatten over each, and takes the peak RSS of each run from wait4().  The slope (RSS at 200k -
RSS at 2k) / 198,000 is what one more entry costs; it must stay below the command's bound (BOUND, about 1.35
times what was measured here), so a regression back to copying paths per entry fails
while allocator noise (a few bytes an entry between runs) does not.  A memory assertion, never a timing one: a loaded
machine changes how long the runs take, not how much they hold.  A few seconds.
The same for packages: images of 200 and 20,000 npm packages (bench/complexity.py's
many-packages layer), `analyze --format json` and `sbom` over each, the slope a package
(PKG_BOUND).
The path runs are made with the pages' bound (common/pages.h) at 1 MiB, STRATA_PAGE_MEM,
so the stacks of the large image are well past it, as a stack of several million paths is
past the default 16 MiB: the slope is then what still grows with the files.  Then the same
commands with a pool of PAGE_KEEP pages (256 KiB, which pages all the time) must print what
they print with the default one, byte for byte.
One line per check: ok - / not ok - / skip - memory ...
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
SMALL, LARGE = 2000, 200000
# Bytes an entry: about 1.35 times what this image measured when the bounds were set
# (verify 50, analyze 160, diff 434, flatten 50: 8-byte name tree nodes, 24 bytes of stack
# state a path, verify's entries as records spilled past 1 MiB, analyze's efficiency
# figures by tree node, flatten's 20 bytes of state a path; a file emitted under its own
# name costs flatten nothing more).  verify's figure includes the 1 MiB of records its
# spill holds before the temp file, spread over these 198,000 entries.  The code before
# the name tree measured 157, 232, 547 and 104; before the spill bound fell from 4 MiB
# to 1 and flatten stopped keeping 12 bytes a file, verify 66 and flatten 64.  analyze
# --files measured 160 against analyze's 127 at 3dce668: the 32-byte sha256 kept for each
# regular file, the lists being written entry by entry once the analysis is done; when it
# held the whole JSON document (the lists rendered, copied into a raw node, printed and
# buffered), 579.  With struct fentry at 32 bytes (its link and digest in its path's
# block), analyze 113, analyze --files 144 and diff 277 (were 128, 161 and 310); diff
# 234 once its views are freed after the comparison and each SBOM's final filesystem
# when it is built.  diff-json compares the small image with each (at the large one, 198,000
# files added): 737 while its document was built whole as cJSON nodes, 183 written as it is
# printed.
# analyze --files 125 and diff 194 once the content digests left the entries (8 bytes an entry
# instead of 32; analyze/files.h), 143 and 236 before: their bounds are 1.12 times that, tight
# enough to fail if the digests came back.  The HTML report 119 with 40-byte tree nodes (152 at
# 80 bytes) and sbom 125 (143 with the digests in the entries), bounds 1.12 times.
# analyze 51 and analyze --files 57 once a walk that collects keeps its entries as records
# spilled past 1 MiB, as verify's are (113 and 125 while they were in memory): bounds about
# 1.25 times, which the entries in memory fail by far.  sbom 57 once it reads records too and
# looks paths up in its stack (123 before): bound 72.  diff 92 and diff-json 61 once each
# image's final filesystem is sorted in bounded memory (common/xsort.h; 188 and 119 while the
# entries were in memory): diff's figure here is mostly its 8 MiB sort batch, which 200,000
# entries fill once (at a million files it is 51 bytes an entry); bounds 115 and 80.  The
# HTML report 58 once its file tree is merged from sorted changes and keeps only the shown
# nodes (analyze/tree.h; 115 while it kept every entry in memory): bound 75.
# Past the pages' bound (STRATA_PAGE_MEM=1 MiB; 2026-12-04, the name tree, the stack's state
# and analyze's figures by node in pages): verify 5, analyze 5, analyze --files 12, sbom 10,
# flatten 3, what the page tables and the spill's chunk lists still keep; the HTML report 61,
# diff 92 and diff-json 60 are their 8 MiB sort batches filling (flat past a million files,
# bench/README.md).  Bounds: the measure plus 11 to 14 bytes (the pages in memory fail them
# by far: 70 to 85 bytes an entry below the bound), and the last three as before.
PAGE_MEM = "1048576"
BOUND = {"verify": 16, "analyze": 16, "analyze-files": 24, "analyze-html": 75, "sbom": 24, "diff": 115,
         "diff-json": 80, "flatten": 16}
# Bytes a package (an npm package.json, its entry and its package change), bounds again about
# 1.35 times what was measured: analyze --format json 1,273 while it held each layer's package
# changes as cJSON nodes, 493 once they are written as they are printed; sbom 1,346 (its
# components written as they are made), 885 once a detached buffer (a purl, a bom-ref) no
# longer keeps the slack of its doubling (at least 256 bytes), 1,037 once each package's manifest
# path is kept apart (files.h: named entries) and its files own their paths.  The HTML page: 1,395 while it read
# the changes from a whole document and held the page, 674 written as it is made (the file
# browser's tree, two nodes a package here, is most of what it costs beyond the JSON report).
PKG_SMALL, PKG_LARGE = 200, 20000
PKG_BOUND = {"analyze": 670, "analyze-html": 900, "sbom": 1200}


def same_paged(cmds, img):
    """Each command's output over img with a pool that pages all the time equals its output
    with the default pool."""
    for name, argv in cmds.items():
        outs = []
        for mem in (None, "1"):
            env = dict(os.environ)
            env.pop("STRATA_PAGE_MEM", None)
            if mem:
                env["STRATA_PAGE_MEM"] = mem
            p = subprocess.run(argv(img), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
            outs.append((p.returncode, p.stdout, p.stderr))
        same = outs[0] == outs[1] and outs[0][0] == 0 and outs[0][1]
        print(("ok - " if same else "not ok - ") + "memory paged %s: the same output (%d bytes, exit %d) "
              "with a 256 KiB pool as with 16 MiB" % (name, len(outs[1][1]), outs[1][0]))


def peak_kib(argv):
    """Exit code and peak RSS (KiB) of one run, its output thrown away: GNU time's %M, or
    else wait4()'s, which counts the forked Python before the exec (a floor of ~14 MiB
    that makes the slope smaller, never larger)."""
    with open(os.devnull, "wb") as null:
        if os.access("/usr/bin/time", os.X_OK):
            p = subprocess.run(["/usr/bin/time", "-f", "%M"] + argv, stdout=null, stderr=subprocess.PIPE)
            tail = p.stderr.decode(errors="replace").strip().splitlines()
            return p.returncode, int(tail[-1]) if tail and tail[-1].isdigit() else 0
        p = subprocess.Popen(argv, stdout=null, stderr=null)
        _, status, ru = os.wait4(p.pid, 0)
        return os.waitstatus_to_exitcode(status), ru.ru_maxrss


def npm_image(path, n):
    """bench/complexity.py's many-packages image of n npm packages."""
    sys.path.insert(0, os.path.join(TOP, "bench"))
    import complexity  # noqa: E402
    pkgs = {}
    for i in range(n):
        pkgs["usr/lib/node_modules/p%d/package.json" % i] = json.dumps(
            {"name": "p%d" % i, "version": "1.0.%d" % i, "license": "MIT"}).encode()
    with open(path, "wb") as f:
        f.write(complexity.docker([complexity.tar_of(pkgs)]))


def slopes(cmds, img, small, large, bound, unit):
    for name, argv in cmds.items():
        got = {}
        for n in (small, large):
            rc, kib = peak_kib(argv(img[n]))
            if rc != 0:
                print("not ok - memory %s: exit %d on %d %ss" % (name, rc, n, unit))
                break
            got[n] = kib
        else:
            per = (got[large] - got[small]) * 1024 / (large - small)
            line = "memory %s: %.0f bytes a%s %s (%d KiB at %d, %d KiB at %d), bound %d" % (
                name, per, "n" if unit[0] in "aeiou" else "", unit, got[small], small, got[large], large, bound[name])
            print(("ok - " if per <= bound[name] else "not ok - ") + line)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: memory.py STRATA OUTDIR")
    strata, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    img = {}
    for n in (SMALL, LARGE):
        img[n] = os.path.join(out, "files-%d.tar" % n)
        if not os.path.exists(img[n]):
            subprocess.run([sys.executable, os.path.join(TOP, "bench", "gen-files.py"), img[n], str(n),
                            "--layers", "2"], check=True)
    cmds = {
        "verify": lambda i: [strata, "verify", i],
        "analyze": lambda i: [strata, "analyze", "--format", "json", i],
        "analyze-files": lambda i: [strata, "analyze", "--format", "json", "--files", i],
        "analyze-html": lambda i: [strata, "analyze", "--format", "html", i],
        "sbom": lambda i: [strata, "sbom", i],
        "diff": lambda i: [strata, "diff", i, i],
        "diff-json": lambda i: [strata, "diff", "--json", img[SMALL], i],
        "flatten": lambda i: [strata, "flatten", i, "-"],
    }
    os.environ["STRATA_PAGE_MEM"] = PAGE_MEM
    slopes(cmds, img, SMALL, LARGE, BOUND, "entry")
    del os.environ["STRATA_PAGE_MEM"]
    same_paged({k: cmds[k] for k in ("verify", "analyze", "analyze-files", "analyze-html", "sbom", "diff-json",
                                     "flatten")}, img[LARGE])
    pimg = {}
    for n in (PKG_SMALL, PKG_LARGE):
        pimg[n] = os.path.join(out, "npm-%d.tar" % n)
        if not os.path.exists(pimg[n]):
            npm_image(pimg[n], n)
    slopes({"analyze": lambda i: [strata, "analyze", "--format", "json", i],
            "analyze-html": lambda i: [strata, "analyze", "--format", "html", i],
            "sbom": lambda i: [strata, "sbom", i]}, pimg, PKG_SMALL, PKG_LARGE, PKG_BOUND, "package")

if __name__ == "__main__":
    main()
