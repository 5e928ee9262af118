#!/bin/bash
# bench/run.sh [WORKDIR] - strata against the real peers on the same ~1 GiB image, in one run.
#
# Reports ratios (peer time / strata time; > 1 means strata is faster) and
# strata's peak RSS, each the median of 3 warm runs.  Never part of make check.
# Needs: skopeo, openssl, bsdtar (libarchive-tools), GNU time.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
W=${1:-/tmp/strata-bench}
S=$top/build/strata
mkdir -p "$W"
make -s -C "$top" all >/dev/null
POL=$W/policy.json
echo '{"default":[{"type":"insecureAcceptAnything"}]}' > "$POL"
SKOPEO="skopeo --policy $POL --tmpdir $W/tmp"
SK() { $SKOPEO "$@"; }
mkdir -p "$W/tmp"
[ -f "$W/img.tar" ] || sh "$top/bench/make-image.sh" "$W/img.tar" "${BENCH_MIB:-1024}" >/dev/null
[ -d "$W/oci-gz" ] || SK copy -q docker-archive:"$W/img.tar" oci:"$W/oci-gz":bench
RES=$W/results.txt
: > "$RES"

. "$top/bench/lib.sh"  # run, ratio, check

echo "== $(date -u +%F) $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), image $(du -h "$W/img.tar" | cut -f1)" | tee -a "$RES"
run openssl_path "" "openssl dgst -sha256 '$W/img.tar'"
run verify_path "" "'$S' verify '$W/img.tar'"
run openssl_stdin "" "cat '$W/img.tar' | openssl dgst -sha256"
run verify_stdin "" "cat '$W/img.tar' | '$S' verify -"
run skopeo_oci_to_docker "rm -f '$W/out.tar'" "$SKOPEO copy -q oci:'$W/oci-gz':bench docker-archive:'$W/out.tar'"
run verify_oci_gzip "" "'$S' verify oci:'$W/oci-gz'"
run skopeo_keep "rm -rf '$W/sk-keep'" "$SKOPEO copy -q --dest-oci-accept-uncompressed-layers docker-archive:'$W/img.tar' oci:'$W/sk-keep':b"
run convert_keep "rm -rf '$W/st-keep'" "'$S' -q convert '$W/img.tar' oci:'$W/st-keep':b"
run skopeo_gzip "rm -rf '$W/sk-gz'" "$SKOPEO copy -q docker-archive:'$W/img.tar' oci:'$W/sk-gz':b"
run convert_gzip "rm -rf '$W/st-gz'" "'$S' -q convert --gzip '$W/img.tar' oci:'$W/st-gz':b"
blobs=$(find "$W/oci-gz/blobs/sha256" -type f -size +100k | tr '\n' ' ')
run bsdtar_layers "" "for b in $blobs; do bsdtar -tvf \$b >/dev/null; done"
run analyze_oci_gzip "" "'$S' analyze oci:'$W/oci-gz' >/dev/null"
sk=$(du -sb "$W/sk-gz/blobs" | cut -f1); st=$(du -sb "$W/st-gz/blobs" | cut -f1)
echo "-- ratios (peer / strata; higher is better for strata)" | tee -a "$RES"
check "verify docker-archive vs openssl dgst, from a path" "$(ratio "$T_openssl_path" "$T_verify_path")" ">=" 0.8
check "verify docker-archive vs openssl dgst, from stdin" "$(ratio "$T_openssl_stdin" "$T_verify_stdin")" ">=" 0.8
check "verify oci gzip vs skopeo copy oci: docker-archive:" "$(ratio "$T_skopeo_oci_to_docker" "$T_verify_oci_gzip")" ">=" 1.5
check "convert --keep vs skopeo copy (uncompressed layers)" "$(ratio "$T_skopeo_keep" "$T_convert_keep")" ">=" 2
check "convert --gzip vs skopeo copy (gzip)" "$(ratio "$T_skopeo_gzip" "$T_convert_gzip")" ">=" 1.5
check "convert --gzip output size / skopeo's" "$(ratio "$st" "$sk")" "<=" 1.03
check "analyze oci gzip time / bsdtar -tvf of its layers" "$(ratio "$T_analyze_oci_gzip" "$T_bsdtar_layers")" "<=" 1.3
for m in verify_path verify_stdin verify_oci_gzip convert_keep convert_gzip analyze_oci_gzip; do
	eval "rss=\$M_$m"
	check "peak RSS of $m, MiB" "$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')" "<=" 64
done
