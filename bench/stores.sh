#!/bin/sh
# bench/stores.sh [MIB] [RUNS] - exporting an image straight from Docker's data
# root vs `docker save` of the same image with the daemon running, same run.
# A docker-archive of about MIB MiB (default 1024) of real files is made
# (bench/make-image.sh) and `docker load`ed into a dockerd started as a plain
# process on a data root in a temp dir (overlay2, vfs fallback).  Then, RUNS
# times each (default 3), alternating, page cache warm for both:
#   docker save -o A.tar IMG
#   strata convert docker-root:ROOT:IMG docker-archive:B.tar
#   strata verify docker-root:ROOT:IMG
# and prints wall seconds and MB/s of each, and that A and B hold the same
# layer digests.  Needs root (dockerd), docker.io, python3.
set -eu
mib=${1:-1024}
runs=${2:-3}
top=$(cd "$(dirname "$0")/.." && pwd)
strata=${STRATA:-$top/build/strata}
T=$(mktemp -d "${TMPDIR:-/tmp}/strata-bench-stores.XXXXXX")
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && sleep 2
	grep -o " $T/[^ ]*" /proc/self/mounts 2>/dev/null | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
sh "$top/bench/make-image.sh" "$T/img.tar" "$mib" > /dev/null
size=$(python3 -c "import tarfile,sys; t=tarfile.open(sys.argv[1]); print(sum(m.size for m in t if m.name.endswith('layer.tar')))" "$T/img.tar")
for drv in overlay2 vfs; do
	dockerd --data-root "$T/root" --exec-root "$T/exec" --pidfile "$T/pid" -H "unix://$T/sock" --iptables=false \
		--ip6tables=false --bridge=none --storage-driver=$drv > "$T/log" 2>&1 &
	pid=$!
	i=0
	while [ $i -lt 150 ] && ! docker -H "unix://$T/sock" version > /dev/null 2>&1; do sleep 0.2; i=$((i + 1)); done
	docker -H "unix://$T/sock" version > /dev/null 2>&1 && break
	kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; rm -rf "$T/root"
done
[ -n "$pid" ] || { echo "dockerd would not start: $(tail -1 "$T/log")"; exit 1; }
img=$(docker -H "unix://$T/sock" load -i "$T/img.tar" | sed -n 's/^Loaded image: //p' | head -1)
rm -f "$T/img.tar"
echo "image $img: $(awk -v b="$size" 'BEGIN{printf "%.0f MiB of layers", b/1048576}'), driver $drv, $(nproc) cores"
now() { date +%s.%N; }
report() {  # NAME START END
	awk -v n="$1" -v s="$2" -v e="$3" -v b="$size" 'BEGIN{printf "  %-52s %6.2f s %7.0f MB/s\n", n, e-s, b/(e-s)/1e6}'
}
r=1
while [ $r -le "$runs" ]; do
	rm -f "$T/a.tar" "$T/b.tar"
	s=$(now); docker -H "unix://$T/sock" save -o "$T/a.tar" "$img" || echo "  docker save failed"; e=$(now)
	report "docker save (daemon running)" "$s" "$e"
	s=$(now); "$strata" convert "docker-root:$T/root:$img" "docker-archive:$T/b.tar" 2> "$T/err" ||
		echo "  strata convert failed: $(grep -v 'seems to be running' "$T/err" | head -3)"; e=$(now)
	report "strata convert docker-root: -> docker-archive" "$s" "$e"
	s=$(now); "$strata" verify "docker-root:$T/root:$img" > /dev/null 2> "$T/err" ||
		echo "  strata verify failed: $(grep -v 'seems to be running' "$T/err" | head -3)"; e=$(now)
	report "strata verify docker-root:" "$s" "$e"
	r=$((r + 1))
done
a=$(python3 "$top/tests/stores/savedigests.py" "$T/a.tar" | cut -d' ' -f2-)
b=$(python3 "$top/tests/stores/savedigests.py" "$T/b.tar" | cut -d' ' -f2-)
[ "$a" = "$b" ] && echo "same config and layer digests: yes" || echo "same config and layer digests: NO"
