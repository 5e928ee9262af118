#!/bin/bash
# bench/pieces.sh [WORKDIR] - convert --split and reading piece sets (issue 13), in one run:
#   1. bundling three bench images into one oci-archive with --split PIECE, against a skopeo copy
#      of each into one OCI directory followed by `tar -c | split -b PIECE` (target: >= 2x faster,
#      strata's peak RSS < 64 MiB);
#   2. `strata verify` of the piece set (by its manifest, and by its first piece) against
#      `strata verify` of the joined file (target: >= 0.95x).
# Each figure is the median of 3 runs after a warm-up (GNU time: seconds and peak RSS).
# BENCH_MIB (default 1024) sizes each image; PIECE (default 1G) the pieces: at a reduced size,
# give a piece size that still makes several pieces (BENCH_MIB=256 PIECE=256M).
# Needs: skopeo, GNU time.  Never part of make check.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
W=${1:-/tmp/strata-bench-pieces}
S=$top/build/strata
MIB=${BENCH_MIB:-1024}
PIECE=${PIECE:-1G}
mkdir -p "$W/tmp"
make -s -C "$top" all > /dev/null
POL=$W/policy.json
echo '{"default":[{"type":"insecureAcceptAnything"}]}' > "$POL"
SK() { skopeo --policy "$POL" --tmpdir "$W/tmp" "$@"; }
# three images of different sizes (so their layers differ), as docker save writes them
for k in 1 2 3; do
	[ -f "$W/img$k.tar" ] || sh "$top/bench/make-image.sh" "$W/img$k.tar" $((MIB - (k - 1) * MIB / 8)) > /dev/null
done
RES=$W/results.txt
: > "$RES"

. "$top/bench/lib.sh"  # run, ratio, check

echo "images: $(du -ch "$W"/img?.tar | tail -1 | cut -f1) in 3 docker-archives; pieces of $PIECE" | tee -a "$RES"
run strata_split "rm -rf $W/s; mkdir -p $W/s" \
	"$S convert -q $W/img1.tar $W/img2.tar $W/img3.tar oci-archive:$W/s/bundle.tar --split $PIECE"
run skopeo_tar_split "rm -rf $W/k; mkdir -p $W/k" \
	"for k in 1 2 3; do skopeo --policy $POL --tmpdir $W/tmp copy -q docker-archive:$W/img\$k.tar oci:$W/k/layout:img\$k || exit 1; done; tar -C $W/k -cf - layout | split -d -a 3 -b $PIECE - $W/k/bundle.tar."
echo "strata: $(ls "$W"/s/bundle.tar.[0-9]* | wc -l) pieces; skopeo+tar+split: $(ls "$W"/k/bundle.tar.[0-9]* | wc -l) pieces" | tee -a "$RES"
check "convert --split vs skopeo copy + tar | split (x faster)" "$(ratio "$T_skopeo_tar_split" "$T_strata_split")" '>=' 2
check "convert --split peak RSS (MiB)" "$(awk -v m="$M_strata_split" 'BEGIN { printf "%.1f", m / 1024 }')" '<' 64

# the joined archive, and the same archive written whole with its transfer manifest
cat "$W"/s/bundle.tar.[0-9]* > "$W/s/joined.tar"
rm -rf "$W/j" && mkdir -p "$W/j"
$S convert -q "$W/img1.tar" "$W/img2.tar" "$W/img3.tar" "oci-archive:$W/j/bundle.tar" --manifest
cmp -s "$W/s/joined.tar" "$W/j/bundle.tar" || echo "not ok - the joined pieces differ from the archive written whole" | tee -a "$RES"
run verify_joined : "$S verify -q $W/s/joined.tar"
run verify_manifest : "$S verify -q $W/s/bundle.tar.manifest.json"
run verify_first_piece : "$S verify -q $W/s/bundle.tar.000"
run verify_joined_manifest : "$S verify -q $W/j/bundle.tar.manifest.json"
# the pieces' sha256 is an extra hash of every byte, on a second thread (from mappings of the pieces):
# it needs the second core idle; on a loaded machine it is not free (user CPU shows it)
check "verify pieces (manifest) vs verify joined file (x as fast)" "$(ratio "$T_verify_joined" "$T_verify_manifest")" '>=' 0.95
check "verify pieces (first piece) vs verify joined file (x as fast)" "$(ratio "$T_verify_joined" "$T_verify_first_piece")" '>=' 0.95
check "verify manifest: pieces vs the joined archive's (x as fast)" "$(ratio "$T_verify_joined_manifest" "$T_verify_manifest")" '>=' 0.95
rm -f "$W/s/joined.tar"
echo "results in $RES"
