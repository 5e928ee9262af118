#!/bin/sh
# bench/make-image.sh OUT.tar [MIB] - a docker-archive of about MIB MiB (default 1024)
# of real mixed content: layers cut from this machine's /usr (binaries,
# libraries, text, docs), as `docker save` writes it.  Used by bench/run.sh.
# DIRS="DIR ..." takes the layers from those directories instead (bench/audit.sh).
set -eu
out=$1
mib=${2:-1024}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Layers of real directories until the budget is used (each at most a quarter of it).
i=0
left=$((mib * 1024 * 1024))
for dir in ${DIRS:-/usr/lib/x86_64-linux-gnu /usr/share/doc /usr/bin /usr/include /usr/lib/jvm /usr/share/locale \
	   /usr/lib/gcc /usr/share/man /usr/libexec /usr/share}; do
	[ -d "$dir" ] && [ "$left" -gt 0 ] || continue
	i=$((i + 1))
	share=$((mib * 1024 * 1024 / 4))
	[ "$share" -gt "$left" ] && share=$left
	find "$dir" -type f -size -64M -printf '%s %p\n' 2>/dev/null | sort -k2 |
		awk -v max="$share" '{ if (t + $1 > max) next; t += $1; sub(/^[0-9]+ /, ""); print }' > "$tmp/list$i"
	tar -cf "$tmp/layer$i.tar" --files-from="$tmp/list$i" --sort=name --owner=0 --group=0 --numeric-owner \
		--mtime=@0 2>/dev/null || true
	left=$((left - $(stat -c %s "$tmp/layer$i.tar")))
done
python3 - "$tmp" "$out" "$i" <<'PY'
import hashlib, json, os, sys, tarfile
tmp, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
diff_ids, names = [], []
for k in range(1, n + 1):
    p = os.path.join(tmp, "layer%d.tar" % k)
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    diff_ids.append("sha256:" + h.hexdigest())
    names.append(p)
cfg = json.dumps({"architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
                  "config": {"Cmd": ["/bin/sh"]}, "rootfs": {"type": "layers", "diff_ids": diff_ids},
                  "history": [{"created_by": "bench layer %d" % (k + 1)} for k in range(n)]},
                 separators=(",", ":")).encode()
cid = hashlib.sha256(cfg).hexdigest()
man = json.dumps([{"Config": cid + ".json", "RepoTags": ["bench/image:1"],
                   "Layers": ["%s/layer.tar" % d[7:] for d in diff_ids]}]).encode()
with tarfile.open(out, "w", format=tarfile.GNU_FORMAT) as t:
    def add(name, data=None, path=None):
        ti = tarfile.TarInfo(name)
        ti.mtime = 0
        if path:
            ti.size = os.path.getsize(path)
            with open(path, "rb") as f:
                t.addfile(ti, f)
        else:
            ti.size = len(data)
            t.addfile(ti, __import__("io").BytesIO(data))
    for d, p in zip(diff_ids, names):
        add("%s/layer.tar" % d[7:], path=p)
    add(cid + ".json", cfg)
    add("manifest.json", man)
PY
ls -l "$out"
