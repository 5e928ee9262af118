# bench/lib.sh - sourced by bench/run.sh, run-flatten.sh, pieces.sh and audit.sh (bash): the timing helpers.
# Needs W (a work dir) and RES (the results file) set by the caller, and GNU time.
#   run NAME PREP CMD   median seconds and peak RSS (KiB) of 3 runs after a warm-up (PREP runs
#                       before each); sets T_NAME and M_NAME, prints one line into RES
#   ratio A B           A / B with two decimals (0 when B is 0)
#   check LABEL VALUE OP LIMIT   "ok - ..." or "not ok - ..." into RES

run() {
	local name=$1 prep=$2 cmd=$3 i t
	eval "$prep"; eval "$cmd" > /dev/null 2>&1
	: > "$W/times"
	for i in 1 2 3; do
		eval "$prep"
		sync; sleep 1
		/usr/bin/time -f '%e %M %U' -o "$W/t1" bash -c "$cmd" > /dev/null 2>&1
		cat "$W/t1" >> "$W/times"
	done
	t=$(sort -n "$W/times" | sed -n 2p)
	set -- $t
	eval "T_$name='$1'; M_$name='$2'"
	printf '%-26s %7.2f s %8d KiB  (user %s s)\n' "$name" "$1" "$2" "$3" | tee -a "$RES"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
check() {
	if awk -v v="$2" -v l="$4" "BEGIN { exit !(v $3 l) }"; then echo "ok - $1: $2 (target $3 $4)"
	else echo "not ok - $1: $2 (target $3 $4)"; fi | tee -a "$RES"
}
