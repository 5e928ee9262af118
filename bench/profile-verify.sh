#!/bin/bash
# bench/profile-verify.sh [WORKDIR] - where `strata verify` spends its time, on the data that
# run-verify.sh left in WORKDIR (default /tmp/strata-bench): user/sys split of each case, then
# a `perf record` (software clock; this VM has no hardware counters) by library and by
# function.  Needs perf (apt-get install linux-perf).  Informational only: no targets.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
W=${1:-/tmp/strata-bench}
MIB=${BENCH_MIB:-1024}
S=${STRATA:-$top/strata}
IMG=$W/gen-$MIB.tar
OCI=$W/oci-gzip
if [ ! -f "$IMG" ] || [ ! -d "$OCI" ]; then echo "profile-verify: run bench/run-verify.sh $W first" >&2; exit 3; fi
command -v perf >/dev/null || { echo "profile-verify: no perf (apt-get install linux-perf)" >&2; exit 3; }
P=$W/perf
mkdir -p "$P"

for c in "path|$S verify $IMG" "stdin|cat $IMG | $S verify -" "oci_gzip|$S verify oci:$OCI"; do
	name=${c%%|*} cmd=${c#*|}
	echo "== $name: $cmd"
	/usr/bin/time -f "   %e s wall, %U s user, %S s sys, %P CPU, %M KiB peak RSS" bash -c "$cmd" >/dev/null
	perf record -q -e cpu-clock -F 4000 -o "$P/$name.data" -- bash -c "$cmd" >/dev/null 2>&1
	echo "   by library (all processes of the command):"
	perf report -i "$P/$name.data" --no-children --sort comm,dso --stdio 2>/dev/null |
		grep -E '^ +[0-9.]+%' | head -n 8 | sed 's/^/   /'
	echo "   strata's own functions and the kernel's, top 8:"
	perf report -i "$P/$name.data" --no-children --comm strata --sort dso,symbol --stdio 2>/dev/null |
		grep -E '^ +[0-9.]+%' | grep -v 'libcrypto\|libisal' | head -n 8 | sed 's/^/   /'
done
