#!/bin/sh
# tests/valgrind.sh STRATA [OUTDIR [FIXTURES]] - the CLI golden tests and the malformed corpus with
# every run of STRATA under valgrind memcheck (`make check-valgrind`, and a suite of `make check`;
# STRATA is a non-sanitized build).  FIXTURES: what fixtures/gen.py wrote (made when not given).
#
# Each run goes through a wrapper: `valgrind --leak-check=full --error-exitcode=99`, its report in
# OUTDIR/valgrind/logs/ (not on stderr, which the golden tests compare).  A memcheck error or a
# definite/indirect leak fails the case it happens in (exit 99 is no expected exit code) and is
# listed as "not ok - valgrind: ..." with the command; the run ends with "N passed, N failed".
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || { echo "usage: $0 STRATA [OUTDIR]" >&2; exit 2; }
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
out=${2:-$top/tests/out}
fix=${3:-}
mkdir -p "$out" && out=$(cd "$out" && pwd)  # the wrapper runs in other directories
[ -z "$fix" ] || fix=$(cd "$fix" && pwd)
command -v valgrind >/dev/null 2>&1 || { echo "not ok - valgrind: not installed (apt-get install valgrind)"; echo "0 passed, 1 failed"; exit 1; }
w=$out/valgrind
rm -rf "$w"
mkdir -p "$w/logs"
if [ -z "$fix" ]; then
	fix=$w/fixtures
	python3 "$top/fixtures/gen.py" "$fix" > "$w/gen.log" 2>&1 || { echo "not ok - valgrind: fixtures (see $w/gen.log)"; exit 1; }
fi

# The wrapper: one log per process, named by pid; the command line is in the log's header.
cat > "$w/strata" <<EOF
#!/bin/sh
exec valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect \\
	--errors-for-leak-kinds=definite,indirect --error-exitcode=99 --track-fds=no \\
	--log-file="$w/logs/vg.%p.log" "$bin" "\$@"
EOF
chmod +x "$w/strata"

start=$(date +%s)
# gzip is libdeflate, the same bytes on every CPU (valgrind's has no AVX-512): every golden holds.
# the two halves side by side (memcheck runs one thread; each half has its own temp dir)
sh "$top/tests/cli/run.sh" "$w/strata" "$fix" > "$w/cli.log" 2> "$w/cli.err" &
STRATA_TEST_VLIMIT_KB=unlimited STRATA_TEST_TIMEOUT=300 \
	bash "$top/tests/malformed/run.sh" "$w/strata" "$fix" > "$w/malformed.log" 2> "$w/malformed.err"
wait
grep -hE '^(ok|not ok|skip) - ' "$w/cli.log" "$w/malformed.log" > "$w/results"

# Every log with an error summary above 0 is a failure of its own, named by its command.
runs=0 bad=0
for f in "$w"/logs/vg.*.log; do
	[ -f "$f" ] || continue
	runs=$((runs + 1))
	errs=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$f" | tail -n 1)
	if [ "${errs:-0}" != 0 ]; then
		bad=$((bad + 1))
		cmd=$(sed -n 's/^==[0-9]*== Command: //p' "$f" | head -n 1)
		echo "not ok - valgrind: $errs errors in \`$cmd\` (see $f)" >> "$w/results"
	fi
done
echo "ok - valgrind: $runs runs of strata under memcheck, $bad with errors or leaks [$(( $(date +%s) - start )) s]" >> "$w/results"
[ $bad -eq 0 ] || sed -i '$ s/^ok/not ok/' "$w/results"
cat "$w/results"
passed=$(grep -c '^ok - ' "$w/results")
failed=$(grep -c '^not ok - ' "$w/results")
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
