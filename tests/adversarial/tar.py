#!/usr/bin/env python3
"""tests/adversarial/tar.py OUTDIR - hostile tar shapes, each inside an image layer.

Writes, for every shape, OUTDIR/NAME.tar (a classic `docker save` archive whose
single layer is the hand-made tar) and OUTDIR/NAME.rootfs.tar (the same tar as a
root filesystem tarball), and OUTDIR/cases.tsv with one line per shape:

    NAME <tab> EXPECT <tab> MUST <tab> WHY

EXPECT is "go" when strata must read the shape as Go's archive/tar does (the
reader of containerd, Docker, podman and umoci) and Go sees the setuid file
bin/su as an entry: strata must see it too; "data" when Go reads those bytes as
a file's data: strata must not list bin/su; or "refuse" when strata must refuse
the shape as malformed (exit 4), with MUST in the message.  Python 3 standard library only; byte for byte the
same on every run (fixed times, sorted members).
"""
import hashlib
import io
import json
import os
import sys
import tarfile

BLOCK = 512
MTIME = 1700000000


def header(name, typeflag, size, mode=0o644, link="", magic=b"ustar\x0000", uname="root", patch=None):
    """One 512-byte header, fields written by hand (so any size fits any type)."""
    h = bytearray(BLOCK)
    nb = name.encode()
    assert len(nb) <= 100
    h[0:len(nb)] = nb
    h[100:108] = b"%07o\x00" % mode
    h[108:116] = b"%07o\x00" % 0
    h[116:124] = b"%07o\x00" % 0
    h[124:136] = b"%011o\x00" % size
    h[136:148] = b"%011o\x00" % MTIME
    h[156:157] = typeflag
    lb = link.encode()
    h[157:157 + len(lb)] = lb
    h[257:265] = magic
    h[265:265 + len(uname)] = uname.encode()
    h[297:297 + len(uname)] = uname.encode()
    for off, val in (patch or {}).items():
        h[off:off + len(val)] = val
    h[148:156] = b" " * 8
    h[148:156] = b"%06o\x00 " % sum(h)
    return bytes(h)


def pad(data):
    return data + b"\x00" * (-len(data) % BLOCK)


def member(name, data, mode=0o644, typeflag=b"0"):
    return header(name, typeflag, len(data), mode) + pad(data)


def pax(records):
    """A pax 'x' header; records are (key, value) byte strings."""
    body = b""
    for k, v in records:
        rec = b" " + k + b"=" + v + b"\n"
        n = len(rec) + 1
        while len(str(n).encode()) + len(rec) != n:
            n += 1
        body += str(n).encode() + rec
    return header("PaxHeaders.0/x", b"x", len(body)) + pad(body)


END = b"\x00" * (2 * BLOCK)
# the setuid file that a reader skipping the "data" of the entry before never sees
SU = member("bin/su", b"#!/bin/sh\nexec /bin/sh -p\n", mode=0o4755)
assert len(SU) == 1024
BASE = header("bin/", b"5", 0, 0o755) + member("bin/sh", b"\x7fELF not really\n", 0o755)
AFTER = member("etc/after", b"read after the hostile shape\n")


def hide(entry_header):
    """entry_header claims 1024 data bytes: exactly the su header and its data."""
    return BASE + entry_header + SU + AFTER + END


def cases():
    """(name, expect, must, why, layer tar bytes)"""
    for t, name, link in ((b"1", "hardlink", "bin/sh"), (b"2", "symlink", "sh"), (b"3", "char", ""),
                          (b"4", "block", ""), (b"5", "dir", ""), (b"6", "fifo", "")):
        path = "opt/" if t == b"5" else "bin/" + name
        yield ("%s-size" % name, "go", "bin/su",
               "%s header with size 1024 whose 'data' is a setuid file's header (Go: header-only type, no data)" % name,
               hide(header(path, t, 1024, 0o755 if t == b"5" else 0o644, link)))
    for t, name, link in ((b"2", "symlink", "sh"), (b"1", "hardlink", "bin/sh"), (b"5", "dir", "")):
        path = "opt/" if t == b"5" else "bin/" + name
        yield ("pax-size-%s" % name, "go", "bin/su",
               "pax size=1024 on a %s; the setuid header follows in its 'data'" % name,
               hide(pax([(b"size", b"1024")]) + header(path, t, 0, 0o755, link)))
    yield ("rega-dir", "go", "bin/su",
           "old-style ('\\0') entry named opt/ with size 1024: a directory for Go and libarchive",
           hide(header("opt/", b"\x00", 1024, 0o755)))
    yield ("pax-size-empty", "data", "bin/su",
           "pax 'size=' (empty: Go keeps the header's size 1024) on a file whose data looks like a setuid header",
           BASE + pax([(b"size", b"")]) + header("etc/data", b"0", 1024) + SU + AFTER + END)
    for key in (b"path", b"linkpath", b"uname", b"gname"):
        yield ("pax-%s-nul" % key.decode(), "refuse", "pax record '%s'" % key.decode(),
               "pax %s record with a NUL byte (C readers cut it, Go refuses the header)" % key.decode(),
               BASE + pax([(key, b"bin/s\x00u")]) + header("bin/x", b"2", 0, link="sh") + AFTER + END)
    yield ("zero-then-header", "refuse", "followed by a non-zero block",
           "one zero block, then the setuid header (libarchive stops, Go says ErrHeader)",
           BASE + b"\x00" * BLOCK + SU + AFTER + END)
    ext = bytearray(BLOCK)
    ext[0:12] = b"%011o\x00" % 0
    ext[12:24] = b"%011o\x00" % 512
    yield ("gnu-sparse-extended", "refuse", "sparse map extension blocks",
           "old GNU sparse member with an extension block (read as data, it would hide headers)",
           BASE + header("var/sparse", b"S", 512, magic=b"ustar  \x00",
                         patch={482: b"\x01", 483: b"%011o\x00" % 4096}) + bytes(ext) + pad(b"x" * 512) + AFTER + END)
    yield ("two-pax-headers", "refuse", "follows another pax header",
           "two pax headers before one entry (Go keeps the last, libarchive merges both)",
           BASE + pax([(b"path", b"bin/su")]) + pax([(b"mtime", b"1")]) + member("etc/x", b"x") + AFTER + END)
    yield ("pax-gnu-name-conflict", "refuse", "readers disagree",
           "a pax path and a GNU long name that differ (Go takes the GNU name, libarchive the later one)",
           BASE + header("././@LongLink", b"L", 7) + pad(b"bin/su\x00") + pax([(b"path", b"etc/ok")]) +
           member("short", b"x", mode=0o4755) + AFTER + END)
    yield ("trailing-junk", "refuse", "follows the end of the archive",
           "non-zero bytes after the end-of-archive blocks (GNU tar -i would read them as members)",
           BASE + END + SU + AFTER + END)
    yield ("trailing-zeros", "refuse", "follow the end of the archive",
           "2 MiB of zero bytes after the end-of-archive blocks (an endless stream must end)",
           BASE + AFTER + END + b"\x00" * (2 << 20))


def sha(b):
    return hashlib.sha256(b).hexdigest()


def tar_of(files):
    """An ordinary outer tar of (name, bytes) pairs, sorted, fixed metadata."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as t:
        dirs = set()
        for name, data in sorted(files):
            if "/" in name and name.split("/")[0] not in dirs:
                dirs.add(name.split("/")[0])
                ti = tarfile.TarInfo(name.split("/")[0])
                ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, 0o755, MTIME
                t.addfile(ti)
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode, ti.mtime = len(data), 0o644, MTIME
            t.addfile(ti, io.BytesIO(data))
    return out.getvalue()


def docker_archive(name, layer):
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + sha(layer)]},
        "history": [{"created_by": "adversarial " + name}],
    }, sort_keys=True, separators=(",", ":")).encode()
    lid = sha(layer)
    manifest = json.dumps([{"Config": sha(config) + ".json", "RepoTags": ["adversarial/%s:1" % name],
                            "Layers": [lid + "/layer.tar"]}], separators=(",", ":")).encode()
    return tar_of([(sha(config) + ".json", config), (lid + "/layer.tar", layer), (lid + "/VERSION", b"1.0"),
                   ("manifest.json", manifest + b"\n")])


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: tar.py OUTDIR\n")
        return 2
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rows = []
    for name, expect, must, why, layer in cases():
        with open(os.path.join(out, name + ".tar"), "wb") as f:
            f.write(docker_archive(name, layer))
        with open(os.path.join(out, name + ".rootfs.tar"), "wb") as f:
            f.write(layer)
        rows.append("\t".join((name, expect, must, why)))
    with open(os.path.join(out, "cases.tsv"), "w") as f:
        f.write("# name\texpect\tmust\twhy\n" + "\n".join(rows) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
