#!/bin/bash
# bench/run-flatten.sh [WORKDIR] - `strata flatten` and `strata unpack` against umoci on the same
# ~1 GiB image (bench/make-image.sh: layers cut from /usr; skopeo's gzip OCI copy of it), in one run.
#
# The peer for flatten is what a user does without strata: `umoci raw unpack` then `tar -cf` of the
# tree; for unpack, `umoci raw unpack` alone.  Medians of 3 warm runs; ratios peer / strata (> 1:
# strata is faster) and strata's peak RSS.  Never part of make check.  Needs umoci, skopeo, GNU time.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
W=${1:-/tmp/strata-bench}
S=$top/build/strata
mkdir -p "$W/tmp"
make -s -C "$top" all >/dev/null
POL=$W/policy.json
echo '{"default":[{"type":"insecureAcceptAnything"}]}' > "$POL"
[ -f "$W/img.tar" ] || sh "$top/bench/make-image.sh" "$W/img.tar" "${BENCH_MIB:-1024}" >/dev/null
[ -d "$W/oci-gz" ] || skopeo --policy "$POL" --tmpdir "$W/tmp" copy -q docker-archive:"$W/img.tar" oci:"$W/oci-gz":bench
[ -d "$W/oci-plain" ] || "$S" -q convert --decompress "$W/img.tar" oci:"$W/oci-plain":bench
RES=$W/results-flatten.txt
: > "$RES"

. "$top/bench/lib.sh"  # run, ratio

echo "== $(date -u +%F) $(nproc) cores, image $(du -h "$W/img.tar" | cut -f1), $(ls "$W/oci-gz/blobs/sha256" | wc -l) blobs" | tee -a "$RES"
for v in gz plain; do
	run "umoci_tar_$v" "rm -rf '$W/um' '$W/um.tar'" "umoci raw unpack --image '$W/oci-$v:bench' '$W/um' && tar -cf '$W/um.tar' -C '$W/um' ."
	run "flatten_$v" "rm -f '$W/fl.tar'" "'$S' -q flatten oci:'$W/oci-$v' '$W/fl.tar'"
	run "umoci_unpack_$v" "rm -rf '$W/um'" "umoci raw unpack --image '$W/oci-$v:bench' '$W/um'"
	run "unpack_$v" "rm -rf '$W/su'" "'$S' -q unpack oci:'$W/oci-$v' '$W/su'"
done
run "flatten_gz_to_gz" "rm -f '$W/fl.tar.gz'" "'$S' -q flatten oci:'$W/oci-gz' '$W/fl.tar.gz'"
rm -rf "$W/um" "$W/su" "$W/um.tar" "$W/fl.tar" "$W/fl.tar.gz"
echo "-- ratios (peer / strata; higher is better for strata)" | tee -a "$RES"
for v in gz plain; do
	eval "a=\$T_umoci_tar_$v b=\$T_flatten_$v c=\$T_umoci_unpack_$v d=\$T_unpack_$v m=\$M_flatten_$v n=\$M_unpack_$v"
	printf '%-58s %6s (target >= 2)\n' "flatten ($v layers) vs umoci raw unpack + tar -cf" "$(ratio "$a" "$b")" | tee -a "$RES"
	printf '%-58s %6s\n' "unpack ($v layers) vs umoci raw unpack" "$(ratio "$c" "$d")" | tee -a "$RES"
	printf '%-58s %6d KiB (target < 131072)\n' "flatten ($v) peak RSS" "$m" | tee -a "$RES"
	printf '%-58s %6d KiB\n' "unpack ($v) peak RSS" "$n" | tee -a "$RES"
done
