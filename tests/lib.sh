# tests/lib.sh - sourced by the bundle suites and tests/layers (bash): one way to run strata and to report.
# Needs S (the binary) and W (the work dir) when run is called; LABEL names the suite in ok/bad.
#   run CMD...      strata CMD under timeout and `ulimit -v` (STRATA_TEST_VLIMIT_KB, default 1 GiB;
#                   "unlimited" for ASan): exit code in rc, stdout in $W/out, stderr in $W/err
#   ok WHAT         "ok - LABEL WHAT"
#   bad WHAT WHY    "not ok - LABEL WHAT: WHY (stderr: ...)"
vlimit=${STRATA_TEST_VLIMIT_KB:-1048576}

run() {
	(
		ulimit -c 0
		[ "$vlimit" = unlimited ] || ulimit -v "$vlimit"
		exec timeout -k 5 120 "$S" "$@"
	) < /dev/null > "$W/out" 2> "$W/err"
	rc=$?
}
ok() { echo "ok - $LABEL $1"; }
bad() { echo "not ok - $LABEL $1: $2 (stderr: $(head -c 400 "$W/err" | tr '\n' ' '))"; }
