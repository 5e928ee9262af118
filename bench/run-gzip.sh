#!/bin/bash
# bench/run-gzip.sh IMG.tar [WORKDIR] - convert --gzip (the default policy
# "d" and each level in LEVELS, default "d 1 2 3 4 6"), --zstd and --keep
# against skopeo copy (pgzip; zstd; as stored), and --keep against the floor
# of one `openssl dgst -sha256` over IMG, side by side in one run: RUNS
# (default 3) rounds, each running every command once in turn after `sync`;
# medians of wall and CPU (user+sys) seconds, output bytes, and the ratios
# skopeo / strata (for sha256: strata_keep / sha256, the floor's).
# STRATA=/path tests another binary.  When build/encfloor exists (make
# build/encfloor), two more rows: gzip_floor and zstd_floor, strata's encoder
# alone over IMG's layer tars joined (read into memory first; no tar, no
# digest, nothing written), the speed --gzip and --zstd could reach if all
# around the encoder were free.
set -eu
img=$1
W=${2:-/tmp/strata-bench-gzip}
S=${STRATA:-$(cd "$(dirname "$0")/.." && pwd)/build/strata}
LEVELS=${LEVELS:-d 1 2 3 4 6}
RUNS=${RUNS:-3}
mkdir -p "$W/tmp"
SK="skopeo --insecure-policy --tmpdir $W/tmp"
declare -A cmd
names=(skopeo_gzip)
cmd[skopeo_gzip]="$SK copy -q docker-archive:$img oci:$W/o:b"
for l in $LEVELS; do
	case $l in
	d) names+=(strata_gzip); cmd[strata_gzip]="$S -q convert --gzip $img oci:$W/o:b" ;;
	*) names+=("strata_gzip$l"); cmd[strata_gzip$l]="$S -q convert --gzip=$l $img oci:$W/o:b" ;;
	esac
done
names+=(skopeo_zstd strata_zstd)
cmd[skopeo_zstd]="$SK copy -q --dest-compress-format zstd docker-archive:$img oci:$W/o:b"
cmd[strata_zstd]="$S -q convert --zstd $img oci:$W/o:b"
FL=$(dirname "$S")/encfloor
if [ -x "$FL" ]; then
	tar -xOf "$img" --wildcards '*/layer.tar' > "$W/layers.tar"
	names+=(gzip_floor zstd_floor)
	cmd[gzip_floor]="$FL gzip $W/layers.tar > $W/floor.out"
	cmd[zstd_floor]="$FL zstd $W/layers.tar > $W/floor.out"
fi
names+=(skopeo_keep strata_keep sha256)
cmd[skopeo_keep]="$SK copy -q --dest-oci-accept-uncompressed-layers docker-archive:$img oci:$W/o:b"
cmd[strata_keep]="$S -q convert --keep $img oci:$W/o:b"
cmd[sha256]="openssl dgst -sha256 $img"
declare -A wall cpu bytes
for r in $(seq "$RUNS"); do
	for n in "${names[@]}"; do
		rm -rf "$W/o"
		sync
		t=$( { /usr/bin/time -f '%e %U %S' bash -c "${cmd[$n]}" 2>&1 >/dev/null; } | tail -1)
		wall[$n]+="$(echo "$t" | cut -d' ' -f1) "
		cpu[$n]+="$(echo "$t" | awk '{print $2 + $3}') "
		case $n in
		*_floor) bytes[$n]=$(sed -n 's/.* -> \([0-9]*\) bytes.*/\1/p' "$W/floor.out") ;;
		*) bytes[$n]=$(if [ -d "$W/o/blobs" ]; then du -sb "$W/o/blobs" | cut -f1; else echo 0; fi) ;;
		esac
	done
done
med() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
{
	echo "image $img ($(stat -c %s "$img") bytes), $RUNS rounds, $(nproc) cores, strata $($S --version 2>&1 | head -1)"
	printf '%-14s %8s %8s %13s %9s %9s %9s\n' name wall cpu bytes "t ratio" "cpu ratio" "size"
	for n in "${names[@]}"; do
		wm=$(echo "${wall[$n]}" | med)
		cm=$(echo "${cpu[$n]}" | med)
		case $n in
		*zstd*) p=skopeo_zstd ;;
		*keep*) p=skopeo_keep ;;
		sha256) p=strata_keep ;;  # the floor: how far --keep is from one sha256 pass
		*) p=skopeo_gzip ;;
		esac
		pw=$(echo "${wall[$p]}" | med)
		pc=$(echo "${cpu[$p]}" | med)
		if [ "$n" = sha256 ]; then
			sz="       -"
		else
			sz=$(printf '%+8.2f%%' "$(echo "100 * ${bytes[$n]} / ${bytes[$p]} - 100" | bc -l)")
		fi
		printf '%-14s %7.2fs %7.2fs %13d %9.2f %9.2f %s   (wall %s)\n' "$n" "$wm" "$cm" "${bytes[$n]}" \
			"$(echo "$pw / $wm" | bc -l)" "$(echo "$pc / $cm" | bc -l)" "$sz" "${wall[$n]}"
	done
} | tee "$W/results.txt"
