#!/usr/bin/env python3
"""files.py TAR: one line per non-directory entry of a filesystem tar, sorted: path, type, mode, owner,
and the sha256 of a file's content (a hardlink resolved to the file it names) or a symlink's target.
Leaves out what Docker's init layer adds to a container (.dockerenv, dev/, proc/, sys/, etc/hostname,
etc/hosts, etc/mtab, etc/resolv.conf), so that `docker export` compares with an image's merged view."""
import hashlib
import sys
import tarfile

INIT = {".dockerenv", "etc/hostname", "etc/hosts", "etc/mtab", "etc/resolv.conf"}
INIT_DIRS = ("dev/", "proc/", "sys/")


def main():
    rows = []
    with tarfile.open(sys.argv[1]) as t:
        for m in t.getmembers():
            name = m.name
            while name.startswith("./"):
                name = name[2:]
            name = name.rstrip("/")
            if not name or m.isdir() or name in INIT or (name + "/").startswith(INIT_DIRS):
                continue
            if m.issym():
                what = "symlink " + m.linkname
            elif m.isfile() or m.islnk():
                f = t.extractfile(m)
                what = "file " + hashlib.sha256(f.read()).hexdigest()
            else:
                what = "type %s" % m.type.decode()
            rows.append("%s %o %d:%d %s" % (name, m.mode & 0o7777, m.uid, m.gid, what))
    print("\n".join(sorted(rows)))


main()
