#!/usr/bin/env bash
# tests/malformed/run.sh STRATA FIXTURE_OUTDIR
#
# FIXTURE_OUTDIR is what `python3 fixtures/gen.py FIXTURE_OUTDIR` wrote.  For every valid
# fixture in fixtures.tsv, `STRATA verify` must exit 0.  For every row of malformed.tsv,
# `STRATA verify malformed/NAME` must exit with expected_exit, and its stderr must contain
# must_contain_1 (exact) and must_contain_2 (case-insensitive, and not merely as part of
# must_contain_1: "manifest.json" alone does not satisfy the keyword "json").  Every run is limited to
# 60 s and 1 GiB of virtual memory; a timeout, a crash (exit >= 128) or a new file in
# FIXTURE_OUTDIR fails the case.
#
# Prints one line per case, "ok - KIND NAME" or "not ok - KIND NAME: reason (exit X,
# stderr: first line)", and exits 0 (the aggregator counts the lines).  Exits 2 on usage.
#
# Environment:
#   STRATA_TEST_VLIMIT_KB  virtual-memory limit in KiB (default 1048576 = 1 GiB);
#                          "unlimited" turns it off (needed under ASan, which reserves
#                          terabytes of address space)
#   STRATA_TEST_TIMEOUT    seconds per run (default 60)

set -u

if [ $# -ne 2 ]; then
	echo "usage: $0 STRATA FIXTURE_OUTDIR" >&2
	exit 2
fi
strata=$1
fix=${2%/}
vlimit=${STRATA_TEST_VLIMIT_KB:-1048576}
limit_s=${STRATA_TEST_TIMEOUT:-60}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/strata-malformed.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

# Snapshot of every path under the fixture dir, to notice files a run leaves behind.
snapshot() {
	(cd "$fix" && find . -print) | LC_ALL=C sort >"$1"
}

# Runs `strata verify PATH` under the limits; sets rc, and leaves stderr in $tmp/err.
run_verify() {
	{
		(
			ulimit -c 0
			if [ "$vlimit" != unlimited ]; then
				ulimit -v "$vlimit" || exit 125
			fi
			exec timeout -k 5 "$limit_s" "$strata" verify "$1"
		) </dev/null >"$tmp/out" 2>"$tmp/err"
	} 2>/dev/null	# keeps bash's "Segmentation fault" job notice out of the report
	rc=$?
}

# grep -qiF for $2 in file $1 after deleting every occurrence of $3 (the member name), so a
# keyword such as "json" or "empty" is not satisfied by the name "manifest.json"/"empty.tar".
has_keyword() {
	local err
	err=$(cat "$1")
	[ "$3" != - ] && err=${err//"$3"/}
	printf '%s\n' "$err" | grep -qiF -e "$2"
}

first_err_line() {
	local l
	l=$(head -n 1 "$tmp/err" | tr '\t\r' '  ' | cut -c 1-200)
	printf '%s' "${l:-<empty>}"
}

# check KIND NAME PATH EXPECTED_EXIT MUST1 MUST2   ("-" = no requirement)
check() {
	local kind=$1 name=$2 path=$3 expect=$4 m1=$5 m2=$6 reason=""
	snapshot "$tmp/before"
	run_verify "$path"
	snapshot "$tmp/after"

	if [ "$rc" -eq 124 ]; then
		reason="timed out after ${limit_s}s"
	elif [ "$rc" -eq 137 ]; then
		reason="killed (SIGKILL: out of memory, or still running ${limit_s}s+5s after SIGTERM)"
	elif [ "$rc" -eq 125 ]; then
		reason="could not apply limits (timeout/ulimit failed)"
	elif [ "$rc" -eq 126 ] || [ "$rc" -eq 127 ]; then
		reason="cannot execute $strata"
	elif [ "$rc" -ge 128 ]; then
		reason="crashed (signal $((rc - 128)))"
	elif [ "$rc" -ne "$expect" ]; then
		reason="expected exit $expect"
	elif [ "$m1" != - ] && ! grep -qF -e "$m1" "$tmp/err"; then
		reason="stderr does not name '$m1'"
	elif [ "$m2" != - ] && ! has_keyword "$tmp/err" "$m2" "$m1"; then
		reason="stderr lacks keyword '$m2' (outside the name '$m1')"
	fi
	if ! cmp -s "$tmp/before" "$tmp/after"; then
		local new
		new=$(LC_ALL=C comm -13 "$tmp/before" "$tmp/after" | head -n 1)
		[ -n "$new" ] || new=$(LC_ALL=C comm -23 "$tmp/before" "$tmp/after" | sed 's/^/removed /' | head -n 1)
		reason="${reason:+$reason; }fixture dir changed: ${new#./}"
	fi

	if [ -z "$reason" ]; then
		echo "ok - $kind $name"
	else
		echo "not ok - $kind $name: $reason (exit $rc, stderr: $(first_err_line))"
	fi
}

tab=$(printf '\t')

if [ ! -f "$fix/fixtures.tsv" ]; then
	echo "not ok - valid fixtures.tsv: $fix/fixtures.tsv not found (run fixtures/gen.py) (exit -, stderr: -)"
else
	while IFS=$tab read -r name format nimages desc; do
		case $name in '' | '#'*) continue ;; esac
		check valid "$name" "$fix/$name" 0 - -
	done <"$fix/fixtures.tsv"
fi

if [ ! -f "$fix/malformed.tsv" ]; then
	echo "not ok - malformed malformed.tsv: $fix/malformed.tsv not found (run fixtures/gen.py) (exit -, stderr: -)"
else
	while IFS=$tab read -r name expect m1 m2 desc; do
		case $name in '' | '#'*) continue ;; esac
		check malformed "$name" "$fix/malformed/$name" "$expect" "$m1" "$m2"
	done <"$fix/malformed.tsv"
fi

exit 0
