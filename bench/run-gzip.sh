#!/bin/bash
# bench/run-gzip.sh IMG.tar [WORKDIR] - convert --gzip (each level in LEVELS,
# default "1 2 3 4 6") and --zstd against skopeo copy (pgzip; zstd), side by
# side in one run: RUNS (default 3) rounds, each running every command once
# in turn after `sync`; medians of wall and CPU (user+sys) seconds, output
# bytes, and the ratios skopeo / strata.  STRATA=/path tests another binary.
set -eu
img=$1
W=${2:-/tmp/strata-bench-gzip}
S=${STRATA:-$(cd "$(dirname "$0")/.." && pwd)/build/strata}
LEVELS=${LEVELS:-1 2 3 4 6}
RUNS=${RUNS:-3}
mkdir -p "$W/tmp"
SK="skopeo --insecure-policy --tmpdir $W/tmp"
declare -A cmd
names=(skopeo_gzip)
cmd[skopeo_gzip]="$SK copy -q docker-archive:$img oci:$W/o:b"
for l in $LEVELS; do names+=("strata_gzip$l"); cmd[strata_gzip$l]="$S -q convert --gzip=$l $img oci:$W/o:b"; done
names+=(skopeo_zstd strata_zstd)
cmd[skopeo_zstd]="$SK copy -q --dest-compress-format zstd docker-archive:$img oci:$W/o:b"
cmd[strata_zstd]="$S -q convert --zstd $img oci:$W/o:b"
declare -A wall cpu bytes
for r in $(seq "$RUNS"); do
	for n in "${names[@]}"; do
		rm -rf "$W/o"
		sync
		t=$( { /usr/bin/time -f '%e %U %S' bash -c "${cmd[$n]}" 2>&1 >/dev/null; } | tail -1)
		wall[$n]+="$(echo "$t" | cut -d' ' -f1) "
		cpu[$n]+="$(echo "$t" | awk '{print $2 + $3}') "
		bytes[$n]=$(du -sb "$W/o/blobs" | cut -f1)
	done
done
med() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
{
	echo "image $img ($(stat -c %s "$img") bytes), $RUNS rounds, $(nproc) cores, strata $($S --version 2>&1 | head -1)"
	printf '%-14s %8s %8s %13s %9s %9s %9s\n' name wall cpu bytes "t ratio" "cpu ratio" "size"
	for n in "${names[@]}"; do
		wm=$(echo "${wall[$n]}" | med)
		cm=$(echo "${cpu[$n]}" | med)
		case $n in *zstd*) p=skopeo_zstd ;; *) p=skopeo_gzip ;; esac
		pw=$(echo "${wall[$p]}" | med)
		pc=$(echo "${cpu[$p]}" | med)
		printf '%-14s %7.2fs %7.2fs %13d %9.2f %9.2f %+8.2f%%   (wall %s)\n' "$n" "$wm" "$cm" "${bytes[$n]}" \
			"$(echo "$pw / $wm" | bc -l)" "$(echo "$pc / $cm" | bc -l)" \
			"$(echo "100 * ${bytes[$n]} / ${bytes[$p]} - 100" | bc -l)" "${wall[$n]}"
	done
} | tee "$W/results.txt"
