#!/bin/bash
# bench/audit.sh [WORKDIR] - the audit commands (issue 15) against their peers, in one run:
#   1. `strata analyze --format json` (verification, packages of every ecosystem, risky-content
#      scanning, per-layer accounting) of the gzip OCI bench image, against `bsdtar -tvf` over
#      its layers (which only lists them): target <= 1.3x its time, peak RSS < 128 MiB;
#   2. `strata sbom` of the same image against a syft-style full extraction: `umoci raw unpack`
#      of the image and a walk of the unpacked tree (`find -type f`, no file read): target >= 3x.
# Each figure is the median of 3 runs after a warm-up (GNU time). BENCH_MIB (default 1024)
# sizes the image: make-image.sh's layers taken from this machine's package databases and
# packaged files (dpkg's status and file lists, /usr/lib/python3, /usr/lib/node_modules,
# /usr/share/doc with the copyright files, /usr/bin with its Go binaries, libraries), so that
# the SBOM has packages of several ecosystems to find. Never part of make check.
# Needs: skopeo, umoci, bsdtar (libarchive-tools), GNU time.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
W=${1:-/tmp/strata-bench-audit}
S=$top/build/strata
mkdir -p "$W/tmp"
make -s -C "$top" all > /dev/null
POL=$W/policy.json
echo '{"default":[{"type":"insecureAcceptAnything"}]}' > "$POL"
for t in skopeo umoci bsdtar /usr/bin/time; do
	command -v "$t" > /dev/null || { echo "bench/audit.sh needs $t (apt-get install skopeo umoci libarchive-tools time)" >&2; exit 2; }
done
[ -f "$W/img.tar" ] || DIRS="/var/lib/dpkg /usr/lib/python3 /usr/lib/node_modules /usr/share/doc /usr/bin /usr/lib/x86_64-linux-gnu /usr/share" \
	sh "$top/bench/make-image.sh" "$W/img.tar" "${BENCH_MIB:-1024}" > /dev/null
[ -d "$W/oci-gz" ] || skopeo --policy "$POL" --tmpdir "$W/tmp" copy -q "docker-archive:$W/img.tar" "oci:$W/oci-gz:bench"
RES=$W/results.txt
: > "$RES"

. "$top/bench/lib.sh"  # run, ratio, check

echo "== $(date -u '+%F %H:%M') $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), image $(du -sh "$W/oci-gz" | cut -f1) gzip OCI" | tee -a "$RES"
blobs=$(find "$W/oci-gz/blobs/sha256" -type f -size +100k | tr '\n' ' ')
run bsdtar_layers "" "for b in $blobs; do bsdtar -tvf \$b > /dev/null; done"
run analyze_json "" "'$S' analyze --format json oci:'$W/oci-gz' > /dev/null"
run sbom "" "'$S' sbom oci:'$W/oci-gz' > /dev/null"
run umoci_unpack_walk "rm -rf '$W/u'" "umoci raw unpack --rootless --image '$W/oci-gz:bench' '$W/u' && find '$W/u' -type f | wc -l"
rm -rf "$W/u"
"$S" sbom oci:"$W/oci-gz" 2> /dev/null | python3 -c '
import collections, json, sys
d = json.load(sys.stdin)
c = collections.Counter(x.get("purl", "?").split("/")[0] for x in d.get("components", []))
print("sbom: %d components (%s)" % (sum(c.values()), ", ".join("%s %d" % kv for kv in sorted(c.items()))))' | tee -a "$RES"
check "analyze --format json / bsdtar -tvf of its layers (x its time)" "$(ratio "$T_analyze_json" "$T_bsdtar_layers")" '<=' 1.3
check "analyze --format json peak RSS (MiB)" "$(awk -v m="$M_analyze_json" 'BEGIN { printf "%.1f", m / 1024 }')" '<' 128
check "sbom vs umoci raw unpack + walk (x faster)" "$(ratio "$T_umoci_unpack_walk" "$T_sbom")" '>=' 3
check "sbom peak RSS (MiB)" "$(awk -v m="$M_sbom" 'BEGIN { printf "%.1f", m / 1024 }')" '<' 128
echo "results in $RES"
