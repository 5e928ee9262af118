#!/bin/bash
# bench/run-verify.sh [WORKDIR] - `strata verify` against its real peers on the same data,
# in one run, reported as ratios (peer time / strata time: > 1 means strata is faster).
#
#   1. verify of a ~1 GiB uncompressed docker-archive vs `openssl dgst -sha256` of the
#      same file, from a path and from stdin                         (target >= 0.8)
#   2. verify of the same image as an OCI layout with gzip layers vs
#      `skopeo copy oci:... docker-archive:...` of it                 (target >= 1.5)
#   3. peak RSS of every strata run                                  (target < 64 MiB)
#
# The image comes from bench/gen-image.py (deterministic, cached in WORKDIR, default
# /tmp/strata-bench); the OCI layout from `skopeo copy` of it (skopeo gzips the layers).
# Each command runs once untimed (warm page cache for everyone), then RUNS times
# (default 3) alternating with its peer; the median time and the highest peak RSS are
# reported.  Results go to stdout and WORKDIR/results.txt.  Exit 1 if a target is missed.
# Never part of `make check`.
#
# Environment: BENCH_MIB (image size, default 1024), BENCH_RUNS (default 3),
#              STRATA (binary to test; default: build the repository's ./strata).
set -eu -o pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
W=${1:-/tmp/strata-bench}
MIB=${BENCH_MIB:-1024}
RUNS=${BENCH_RUNS:-3}
mkdir -p "$W"
W=$(cd "$W" && pwd)

die() { echo "run-verify: $*" >&2; exit 3; }

# ---- tools
missing=()
command -v skopeo >/dev/null || missing+=(skopeo)
command -v openssl >/dev/null || missing+=(openssl)
command -v python3 >/dev/null || missing+=(python3)
dpkg -s time >/dev/null 2>&1 || [ -x /usr/bin/time ] || missing+=(time)
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" = 0 ]; then
		echo "run-verify: installing ${missing[*]}" >&2
		apt-get install -y -q "${missing[@]}" >/dev/null || die "apt-get install ${missing[*]} failed"
	else
		die "missing: ${missing[*]}; run: sudo apt-get install -y ${missing[*]}"
	fi
fi

# ---- strata
if [ -n "${STRATA:-}" ]; then
	S=$STRATA
else
	make -s -C "$top" strata >/dev/null || die "make -C $top failed"
	S=$top/strata
fi
[ -x "$S" ] || die "no strata binary at $S"

# ---- data (cached: regenerated when gen-image.py changes)
IMG=$W/gen-$MIB.tar
OCI=$W/oci-gzip
OUT=$W/out.tar
gen_sum=$(sha256sum "$top/bench/gen-image.py" | cut -c1-16)
if [ ! -f "$IMG" ] || [ "$(cat "$IMG.stamp" 2>/dev/null)" != "$gen_sum" ]; then
	echo "run-verify: generating $IMG ($MIB MiB)" >&2
	rm -rf "$OCI"
	python3 "$top/bench/gen-image.py" -q "$IMG" --size-mib "$MIB"
	echo "$gen_sum" > "$IMG.stamp"
fi
if [ ! -f "$OCI/index.json" ] || [ "$IMG" -nt "$OCI/index.json" ]; then
	echo "run-verify: skopeo copy to $OCI (gzip layers)" >&2
	rm -rf "$OCI"
	skopeo copy -q --insecure-policy docker-archive:"$IMG" oci:"$OCI":bench
fi

# ---- timing
LOG=$W/logs
mkdir -p "$LOG"
q() { printf '%q' "$1"; }
declare -A T M MIN MAX ST CMDS
order=()

# CPU time stolen by the hypervisor so far, all CPUs, in clock ticks (a noisy neighbour shows here).
HZ=$(getconf CLK_TCK)
steal() { awk '$1 == "cpu" { print $9 }' /proc/stat; }

# once NAME PREP CMD: one run of CMD (after PREP) under GNU time;
# appends "secs rss_kib steal_secs" to $LOG/NAME.t
once() {
	local name=$1 prep=$2 cmd=$3 rc st0 st1
	[ -z "$prep" ] || bash -c "$prep"
	sync
	st0=$(steal)
	/usr/bin/time -f '%e %M %x' -o "$LOG/.t" bash -c "$cmd" >"$LOG/$name.out" 2>"$LOG/$name.err" || true
	st1=$(steal)
	rc=$(tail -n1 "$LOG/.t" | cut -d' ' -f3)
	if [ "$rc" != 0 ]; then
		echo "run-verify: '$cmd' exited $rc:" >&2
		tail -n5 "$LOG/$name.err" >&2
		exit 3
	fi
	echo "$(tail -n1 "$LOG/.t" | cut -d' ' -f1,2) $(awk -v a="$st0" -v b="$st1" -v hz="$HZ" 'BEGIN { printf "%.2f", (b - a) / hz }')" \
		>> "$LOG/$name.t"
}

# pair PEER_NAME PEER_PREP PEER_CMD STRATA_NAME STRATA_CMD: warm-up of both, then RUNS alternating runs
pair() {
	local pn=$1 pp=$2 pc=$3 sn=$4 sc=$5 i n
	for n in "$pn" "$sn"; do : > "$LOG/$n.t"; done
	once "$pn" "$pp" "$pc"; once "$sn" "" "$sc"
	for n in "$pn" "$sn"; do : > "$LOG/$n.t"; done
	for ((i = 0; i < RUNS; i++)); do
		once "$pn" "$pp" "$pc"
		once "$sn" "" "$sc"
	done
	for n in "$pn" "$sn"; do
		T[$n]=$(sort -n "$LOG/$n.t" | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }')
		MIN[$n]=$(sort -n "$LOG/$n.t" | head -n1 | cut -d' ' -f1)
		MAX[$n]=$(sort -n "$LOG/$n.t" | tail -n1 | cut -d' ' -f1)
		M[$n]=$(sort -n -k2 "$LOG/$n.t" | tail -n1 | cut -d' ' -f2)
		ST[$n]=$(awk '$3 > m { m = $3 } END { printf "%.2f", m }' "$LOG/$n.t")
		order+=("$n")
	done
	CMDS[$pn]=$pc
	CMDS[$sn]=$sc
}

load0=$(cut -d' ' -f1-3 /proc/loadavg)
pair openssl_path "" "openssl dgst -sha256 $(q "$IMG")" \
     verify_path "$(q "$S") verify $(q "$IMG")"
pair openssl_stdin "" "cat $(q "$IMG") | openssl dgst -sha256" \
     verify_stdin "cat $(q "$IMG") | $(q "$S") verify -"
pair skopeo_oci_to_docker "rm -f $(q "$OUT")" \
     "skopeo copy -q --insecure-policy oci:$(q "$OCI"):bench docker-archive:$(q "$OUT")" \
     verify_oci_gzip "$(q "$S") verify oci:$(q "$OCI")"
rm -f "$OUT"
load1=$(cut -d' ' -f1-3 /proc/loadavg)
# How much of the inputs is in the page cache now (every run should have read from memory).
resident() { command -v fincore >/dev/null || { echo "?"; return; }
	fincore -b -n -o RES,SIZE "$@" | awk '{ r += $1; s += $2 } END { r = (r > s ? s : r); printf "%.0f%%", s ? 100 * r / s : 0 }'; }
cached="image $(resident "$IMG"), oci blobs $(resident "$OCI"/blobs/sha256/*)"

# ---- report
RES=$W/results.txt
fails=0
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
verdict() { awk -v r="$1" -v l="$3" -v op="$2" 'BEGIN { print ((op == ">=" ? r >= l : r < l) ? "PASS" : "FAIL") }'; }
check() {  # check LABEL VALUE OP LIMIT UNIT
	local v
	v=$(verdict "$2" "$3" "$4")
	[ "$v" = PASS ] || fails=$((fails + 1))
	printf '  %-44s %7s%-4s  target %s %s%s  %s\n' "$1" "$2" "$5" "$3" "$4" "$5" "$v"
}
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
{
	echo "== strata verify benchmark, $(date -u '+%F %H:%M UTC')"
	echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(free -g | awk '/^Mem:/ { print $2 }') GiB RAM;" \
	     "load $load0 before, $load1 after"
	echo "strata:  $S ($("$S" --version 2>/dev/null | head -n1), git $(git -C "$top" describe --always --dirty 2>/dev/null || echo '?'))"
	echo "peers:   $(openssl version | cut -d' ' -f1-2), $(skopeo --version)"
	echo "image:   $IMG, $(stat -c %s "$IMG" | awk '{ printf "%.1f MiB", $1 / 1048576 }'), 8 layers (bench/gen-image.py --size-mib $MIB)"
	echo "oci:     $OCI, blobs $(du -sb "$OCI/blobs" | awk '{ printf "%.1f MiB", $1 / 1048576 }') (gzip layers by skopeo)"
	echo "cache:   $cached resident in the page cache after the runs"
	echo "runs:    1 warm-up + $RUNS timed each, alternating with the peer; median (min-max) seconds, highest peak RSS,"
	echo "         highest CPU time stolen by the hypervisor during one run (> 0.1 s: that pair is noisy, run again)"
	echo
	printf '  %-22s %8s %13s %10s %6s   %s\n' name median "(min-max)" "peak RSS" steal command
	for n in "${order[@]}"; do
		printf '  %-22s %7.2fs %13s %6s MiB %5ss   %s\n' "$n" "${T[$n]}" "(${MIN[$n]}-${MAX[$n]})" "$(mib "${M[$n]}")" "${ST[$n]}" \
			"$(echo "${CMDS[$n]}" | sed "s|$W/|\$W/|g; s|$(dirname "$S")/||g")"
	done
	echo
	echo "  ratios (peer time / strata time; > 1 means strata is faster)"
	check "verify path vs openssl dgst -sha256" "$(ratio "${T[openssl_path]}" "${T[verify_path]}")" ">=" 0.8 ""
	check "verify stdin vs cat | openssl dgst -sha256" "$(ratio "${T[openssl_stdin]}" "${T[verify_stdin]}")" ">=" 0.8 ""
	check "verify oci gzip vs skopeo copy oci: d-a:" "$(ratio "${T[skopeo_oci_to_docker]}" "${T[verify_oci_gzip]}")" ">=" 1.5 ""
	for n in verify_path verify_stdin verify_oci_gzip; do
		check "peak RSS $n" "$(mib "${M[$n]}")" "<" 64 " MiB"
	done
	echo "  $fails target(s) missed"
} | tee "$RES"
fails=$(grep -c ' FAIL$' "$RES" || true)
exit $((fails > 0))
