#!/bin/bash
# tests/fault/bounds.sh STRATA FIXTURES [WORKDIR] - the figures of the bounds table in
# tests/fault/README.md: for each bound, an input just past it, with the time, the peak RSS and the
# message, then the same input with the bound raised.  Makes ~0.6 GB of inputs in WORKDIR (default a
# temp dir, removed).  Not part of `make check`: about a minute.
set -u
[ $# -ge 2 ] || { echo "usage: $0 STRATA FIXTURES [WORKDIR]" >&2; exit 2; }
S=$1 FIX=$2
W=${3:-$(mktemp -d "${TMPDIR:-/tmp}/strata-bounds.XXXXXX")}
[ $# -ge 3 ] || trap 'rm -rf "$W"' EXIT
mkdir -p "$W"

# run LABEL ARGS... - one line: exit code, seconds, peak RSS, first line of stderr
run() {
	local label=$1 rc=0; shift
	/usr/bin/time -f '%e %M' -o "$W/time" "$S" "$@" > /dev/null 2> "$W/err" || rc=$?
	read -r secs rss < <(tail -n 1 "$W/time")
	printf '%s | exit %s | %s s | %s MiB | %s\n' "$label" "$rc" "$secs" "$((rss / 1024))" \
		"$(grep -m1 'strata: error' "$W/err" | cut -c1-220)"
}

python3 - "$W" <<'EOF'
import io, os, sys, tarfile, zlib
w = sys.argv[1]

def hdr(name, size=0, typ=b"0", pax=None):
    ti = tarfile.TarInfo(name)
    ti.size, ti.mtime, ti.mode = size, 1700000000, 0o644
    ti.type = typ
    return ti.tobuf(tarfile.USTAR_FORMAT if pax is None else tarfile.PAX_FORMAT)

# a rootfs layer of 1,000,001 empty files, gzip -1 (entries)
block = bytearray(hdr("f/0000000"))
with open(os.path.join(w, "entries.tar.gz"), "wb") as f:
    c = zlib.compressobj(1, zlib.DEFLATED, 31)
    buf = []
    for i in range(1000001):
        name = b"f/%07d" % i
        block[0:9] = name
        block[148:156] = b"        "
        s = sum(block)
        block[148:156] = b"%06o\0 " % s
        buf.append(bytes(block))
        if len(buf) == 4096:
            f.write(c.compress(b"".join(buf))); buf = []
    f.write(c.compress(b"".join(buf) + bytes(1024)))
    f.write(c.flush())

# a rootfs whose first entry has a 2 MiB pax path (header)
name = "d/" + "x" * (2 << 20)
ti = tarfile.TarInfo(name); ti.size = 0; ti.mtime = 1700000000
with tarfile.open(os.path.join(w, "pax.tar"), "w", format=tarfile.PAX_FORMAT) as t:
    t.addfile(ti, io.BytesIO(b""))
EOF

echo "bound | exit | time | peak RSS | message"
bomb=$FIX/malformed/gzip-bomb.tar
run "max-ratio 500 (default): 1 GiB gzip bomb, 1.0 MB archive" verify "$bomb"
run "max-ratio 2000: the same bomb, decoded to its end" verify --max-ratio 2000 "$bomb"
# the bomb's layer alone: a 1 GiB rootfs.tar.gz, so the outer decoder meets it
tar -xOf "$bomb" "$(tar -tf "$bomb" | grep -m1 f94308954b419d8b48bbe70e43b78684a636a7215a25063bcef49f043b3414a4)" > "$W/bomb-rootfs.tar.gz"
run "max-ratio 500 (default): the bomb's layer as a rootfs.tar.gz" verify "$W/bomb-rootfs.tar.gz"
run "max-size 256M, max-ratio 2000: the same bomb" verify --max-ratio 2000 --max-size 256M "$bomb"
run "max-size 1G (64G default not reachable here): the same bomb" verify --max-ratio 2000 --max-size 1G "$bomb"
run "max-entries 1000000 (default 10000000): layer of 1,000,001 files" verify --max-entries 1000000 "$W/entries.tar.gz"
run "max-entries 2000000: the same layer" verify --max-entries 2000000 "$W/entries.tar.gz"
run "max-json 4M (default): 5 MiB manifest.json" verify "$FIX/malformed/json-too-large.tar.gz"
run "max-json 8M: the same" verify --max-json 8M "$FIX/malformed/json-too-large.tar.gz"
run "max-header 1M (default): 2 MiB pax path" verify "$W/pax.tar"
run "max-header 4M: the same" verify --max-header 4M "$W/pax.tar"
ls -l "$bomb" "$W/bomb-rootfs.tar.gz" "$W/entries.tar.gz" "$W/pax.tar" "$FIX/malformed/json-too-large.tar.gz" | awk '{print "# " $5 " " $9}'
