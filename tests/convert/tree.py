#!/usr/bin/env python3
"""tree.py [--meta] DIR — one line per entry under DIR, sorted by path:
PATH TYPE MODE SIZE SHA256 LINK NLINK   (TYPE d/f/l/c/b/p/s; MODE = permission bits incl. setuid/sticky, octal;
SIZE/SHA256/NLINK for regular files, LINK for symlinks, '-' otherwise). Owners and times are left out: an
unpack with `umoci unpack --rootless` and a `tar -x` as root differ there by design.  --meta adds
UID:GID, MTIME (not of symlinks), DEV (major,minor of devices) and the xattrs (name=hex, sorted).
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


def meta(p, st, k):
    xs = []
    if k != "l":
        for n in sorted(os.listxattr(p, follow_symlinks=False)):
            xs.append("%s=%s" % (n, os.getxattr(p, n, follow_symlinks=False).hex()))
    dev = "%d,%d" % (os.major(st.st_rdev), os.minor(st.st_rdev)) if k in "cb" else "-"
    return ("%d:%d" % (st.st_uid, st.st_gid), "-" if k == "l" else str(int(st.st_mtime)), dev, ",".join(xs) or "-")


def main():
    args = sys.argv[1:]
    with_meta = args[:1] == ["--meta"]
    root = args[-1]
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
            row = (rel, k, "%04o" % stat.S_IMODE(st.st_mode), size, digest, link, nlink)
            rows.append("\t".join(row + (meta(p, st, k) if with_meta else ())))
    rows.sort()
    sys.stdout.write("".join(r + "\n" for r in rows))


if __name__ == "__main__":
    main()
