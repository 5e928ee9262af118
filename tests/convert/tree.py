#!/usr/bin/env python3
"""tree.py DIR — one line per entry under DIR, sorted by path:
PATH TYPE MODE SIZE SHA256 LINK NLINK   (TYPE d/f/l/c/b/p/s; MODE = permission bits incl. setuid/sticky, octal;
SIZE/SHA256/NLINK for regular files, LINK for symlinks, '-' otherwise). Owners and times are left out: an
unpack with `umoci unpack --rootless` and a `tar -x` as root differ there by design.
"""
import hashlib
import os
import stat
import sys


def kind(m):
    for test, c in ((stat.S_ISDIR, "d"), (stat.S_ISREG, "f"), (stat.S_ISLNK, "l"), (stat.S_ISCHR, "c"),
                    (stat.S_ISBLK, "b"), (stat.S_ISFIFO, "p"), (stat.S_ISSOCK, "s")):
        if test(m):
            return c
    return "?"


def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def main():
    root = sys.argv[1]
    rows = []
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(d, n)
            st = os.lstat(p)
            k = kind(st.st_mode)
            rel = os.path.relpath(p, root)
            size = digest = link = nlink = "-"
            if k == "f":
                size, digest, nlink = str(st.st_size), sha(p), str(st.st_nlink)
            elif k == "l":
                link = os.readlink(p)
            rows.append("\t".join((rel, k, "%04o" % stat.S_IMODE(st.st_mode), size, digest, link, nlink)))
    rows.sort()
    sys.stdout.write("".join(r + "\n" for r in rows))


if __name__ == "__main__":
    main()
