#!/bin/bash
# bench/registry.sh [WORKDIR] - seeding a registry: strata writing three
# images straight into a registry storage tree, against starting a registry
# (distribution 2.8, Debian's docker-registry) on that tree and pushing the
# same images into it with skopeo copy.  Never part of make check.
#
# The images: bench/make-image.sh at BENCH_MIB, BENCH_MIB/2 and BENCH_MIB/4
# MiB (default 256: 448 MiB in all), uncompressed layers as `docker save`
# writes them.  Both sides store the layers as they are (strata's default
# --keep; skopeo --preserve-digests, so it does not gzip them on the way)
# and start from an empty tree each run.  Reports the median of 3 runs after
# a warm-up and the ratio skopeo+registry / strata (target >= 3).
# Needs: skopeo, docker-registry, curl, GNU time.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
W=${1:-/tmp/strata-bench-registry}
S=$top/build/strata
MIB=${BENCH_MIB:-256}
mkdir -p "$W/tmp"
W=$(cd "$W" && pwd)
[ -n "${BENCH_SIDE:-}" ] || make -s -C "$top" all > /dev/null
. "$top/tests/registry/serve.sh"
trap 'stop_registry' EXIT INT TERM
POL=$W/policy.json
echo '{"default":[{"type":"insecureAcceptAnything"}]}' > "$POL"
names="a b c"
k=1
for n in $names; do
	[ -f "$W/img-$n.tar" ] || sh "$top/bench/make-image.sh" "$W/img-$n.tar" $((MIB / k)) > /dev/null
	k=$((k * 2))
done
RES=$W/results.txt
[ -n "${BENCH_SIDE:-}" ] || : > "$RES"

strata_seed() {
	local n
	for n in $names; do
		"$S" convert -q "$W/img-$n.tar" "registry:$W/reg-strata/bench/$n:1" || return 1
	done
}
skopeo_seed() {
	local n
	start_registry "$W/reg-skopeo" "$W/serve" || return 1
	for n in $names; do
		skopeo --policy "$POL" --tmpdir "$W/tmp" copy -q --preserve-digests --dest-tls-verify=false \
			"docker-archive:$W/img-$n.tar" "docker://127.0.0.1:$REG_PORT/bench/$n:1" || return 1
	done
	stop_registry
}

# one side, timed by GNU time in a child: elapsed, and CPU seconds of everything it ran
# (for skopeo_seed the registry too: stop_registry waits for it)
if [ "${BENCH_SIDE:-}" ]; then
	$BENCH_SIDE
	exit $?
fi
echo "== $(date -u +%F) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), images $(du -ch "$W"/img-*.tar | tail -1 | cut -f1) in all" | tee -a "$RES"
for fn in strata_seed skopeo_seed; do
	: > "$W/times"
	for i in 0 1 2 3; do
		rm -rf "$W/reg-${fn%_seed}"
		sync
		sleep 1
		BENCH_SIDE=$fn /usr/bin/time -f '%e %U %S' -o "$W/t1" bash "$0" "$W" || { echo "$fn failed" >&2; exit 1; }
		[ "$i" = 0 ] || awk '{ printf "%.2f %.2f\n", $1, $2 + $3 }' "$W/t1" >> "$W/times"
	done
	t=$(sort -n "$W/times" | sed -n 2p | cut -d' ' -f1)
	c=$(cut -d' ' -f2 "$W/times" | sort -n | sed -n 2p)
	eval "T_$fn='$t'; C_$fn='$c'"
	printf '%-60s %7.2f s elapsed %7.2f s CPU (median of 3)\n' "$fn ($(cut -d' ' -f1 "$W/times" | tr '\n' ' '))" "$t" "$c" | tee -a "$RES"
done
# both trees hold the same blobs for each image (config and layers; the manifests differ in
# kind: strata writes OCI, skopeo from a docker-archive Docker schema2)
for n in $names; do
	a=$(ls "$W/reg-strata/docker/registry/v2/repositories/bench/$n/_layers/sha256" 2> /dev/null | sha256sum)
	b=$(ls "$W/reg-skopeo/docker/registry/v2/repositories/bench/$n/_layers/sha256" 2> /dev/null | sha256sum)
	c=$(ls "$W/reg-strata/docker/registry/v2/repositories/bench/$n/_layers/sha256" 2> /dev/null | wc -l)
	[ "$c" -gt 1 ] && [ "$a" = "$b" ] && echo "bench/$n:1: the same $c blobs (config and layers) in both trees" | tee -a "$RES" ||
		echo "bench/$n:1: the trees hold other blobs" | tee -a "$RES"
done
r=$(awk -v a="$T_skopeo_seed" -v b="$T_strata_seed" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
rc=$(awk -v a="$C_skopeo_seed" -v b="$C_strata_seed" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
ok=$(awk -v r="$r" 'BEGIN { print (r >= 3 ? "PASS" : "FAIL") }')
printf '%-60s %6s (target >= 3) %s\n' "elapsed: registry start + skopeo copy / strata convert registry:" "$r" "$ok" | tee -a "$RES"
printf '%-60s %6s\n' "CPU: skopeo + registry / strata" "$rc" | tee -a "$RES"
