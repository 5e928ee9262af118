#!/usr/bin/env python3
"""treehash.py DIR - one digest of a whole tree: every path's type, mode,
size, link target, xattrs and content, and mtimes (a changed byte or a
touched file changes it).  Nothing is followed; sockets and fifos by type."""
import hashlib, os, stat, sys

h = hashlib.sha256()
root = sys.argv[1]
for d, dirs, files in os.walk(root, followlinks=False):
    dirs.sort()
    for n in sorted(dirs + files):
        p = os.path.join(d, n)
        st = os.lstat(p)
        h.update(("%s %o %d %d\n" % (os.path.relpath(p, root), st.st_mode, st.st_size, st.st_mtime_ns)).encode())
        try:
            for x in sorted(os.listxattr(p, follow_symlinks=False)):
                h.update(x.encode() + os.getxattr(p, x, follow_symlinks=False))
        except OSError:
            pass
        if stat.S_ISLNK(st.st_mode):
            h.update(os.readlink(p).encode())
        elif stat.S_ISREG(st.st_mode):
            with open(p, "rb") as f:
                for blk in iter(lambda: f.read(1 << 20), b""):
                    h.update(blk)
print(h.hexdigest())
