#!/usr/bin/env bash
# tests/adversarial/cost.sh STRATA OUTDIR - the hostile shapes of bench/complexity.py (an index
# fanning out, one layer listed many times, "./././" symlink targets, one very deep path, many
# hardlinks to a lower layer, many directory whiteouts, many packages, many names of one image)
# through every command that reads a source (the HTML report too; diff of each with itself must
# say identical), under a hang guard (timeout) and a memory guard
# (ulimit -v, STRATA_TEST_VLIMIT_KB): each run exits 0 or 4 with at most one error line and
# leaves nothing behind.  Then SIGTERM sent early to each writing command on the largest inputs:
# it exits (3, interrupted, or 0 when it had already finished) with nothing left.  Never a
# timing assertion: the guard is 60 s.
set -u
S=$1
W=$2
vlimit=${STRATA_TEST_VLIMIT_KB:-1048576}
top=$(cd "$(dirname "$0")/../.." && pwd)
rm -rf "$W"
mkdir -p "$W/run"
python3 "$top/bench/complexity.py" --write "$W/in" 50000 > "$W/make.log" 2>&1 ||
	{ echo "not ok - adversarial-cost: inputs could not be made (see $W/make.log)"; exit 0; }

guarded() {  # guarded CMD...: rc, stderr in $W/err, stdout in $out (else thrown away)
	(
		ulimit -c 0
		[ "$vlimit" = unlimited ] || ulimit -v "$vlimit"
		exec timeout -k 5 60 "$S" "$@"
	) < /dev/null > "${out:-/dev/null}" 2> "$W/err"
	rc=$?
	out=
}
left() { (cd "$W/run" && ls -A); }

for f in "$W"/in/*.tar; do
	name=$(basename "$f" .tar)
	for cmd in verify analyze html sbom diff flatten unpack convert; do
		made=
		case $cmd in
		verify) guarded verify "$f" ;;
		analyze) guarded analyze --format json "$f" ;;
		# the report is written whatever the verdict: the file tree of every shape, in bounded memory
		html) guarded analyze --format html -o "$W/run/report.html" "$f"; made=report.html ;;
		sbom) guarded sbom --all "$f" ;;
		# an image is identical to itself, whatever its shape: the whole comparison ran
		diff) out=$W/run/diff.json guarded diff --json "$f" "$f"; made=diff.json ;;
		flatten) guarded flatten "$f" "$W/run/flat.tar" ;;
		unpack) guarded unpack "$f" "$W/run/root" ;;
		convert) guarded convert "$f" "oci:$W/run/oci" ;;
		esac
		errs=$(grep -c -e '^strata: error' "$W/err")
		extra=$(left | grep -v -x -e flat.tar -e root -e oci -e report.html -e diff.json | tr '\n' ' ')
		if [ -n "$made" ] && { [ ! -s "$W/run/$made" ] ||
			{ [ $cmd = diff ] && ! grep -q '"identical":[[:space:]]*true' "$W/run/$made"; }; }; then
			extra="$extra(no $made, or not identical)"
		fi
		if { [ $rc = 0 ] || [ $rc = 4 ]; } && [ "$errs" -le 2 ] && [ -z "$extra" ] &&
			{ [ $rc = 0 ] || [ -z "$(left | grep -v -x -e report.html -e diff.json)" ]; }; then
			echo "ok - adversarial-cost $name $cmd (exit $rc)"
		else
			echo "not ok - adversarial-cost $name $cmd: exit $rc, $errs error lines, left '$(left | tr '\n' ' ')' ($(head -c 200 "$W/err" | tr '\n' ' '))"
		fi
		rm -rf "$W/run/flat.tar" "$W/run/root" "$W/run/oci" "$W/run/report.html" "$W/run/diff.json"
	done
done

# SIGTERM early: the run unwinds through its error path and leaves nothing
python3 "$top/bench/complexity.py" --write "$W/big" 400000 > "$W/make-big.log" 2>&1 ||
	{ echo "not ok - adversarial-cost: large inputs could not be made"; exit 0; }
for f in "$W"/big/deep-path.tar "$W"/big/dir-whiteouts.tar "$W"/big/hardlinks-below.tar; do
	name=$(basename "$f" .tar)
	for cmd in flatten unpack convert analyze; do
		case $cmd in
		flatten) set -- flatten "$f" "$W/run/flat.tar" ;;
		unpack) set -- unpack "$f" "$W/run/root" ;;
		convert) set -- convert "$f" "oci:$W/run/oci" ;;
		analyze) set -- analyze --format html -o "$W/run/report.html" "$f" ;;
		esac
		timeout -k 5 60 "$S" "$@" > /dev/null 2> "$W/err" &
		pid=$!
		sleep 0.05
		t0=$(date +%s%N)
		kill -TERM $pid 2> /dev/null
		wait $pid
		rc=$?
		ms=$((($(date +%s%N) - t0) / 1000000))  # reported, never judged
		if [ $rc = 3 ] && [ -z "$(left)" ]; then
			echo "ok - adversarial-cost SIGTERM $name $cmd: interrupted, nothing left (exited $ms ms after the signal)"
		elif [ $rc = 0 ] || { [ $rc = 4 ] && [ -z "$(left)" ]; }; then
			echo "ok - adversarial-cost SIGTERM $name $cmd: finished (exit $rc) before the signal"
		elif [ $rc = 143 ] && [ -z "$(left)" ]; then
			# on a loaded machine the signal can come before main() installed its handler
			echo "ok - adversarial-cost SIGTERM $name $cmd: ended by the signal before it started, nothing left"
		else
			echo "not ok - adversarial-cost SIGTERM $name $cmd: exit $rc, left '$(left | tr '\n' ' ')' ($(head -c 200 "$W/err" | tr '\n' ' '))"
		fi
		rm -rf "$W/run/flat.tar" "$W/run/root" "$W/run/oci" "$W/run/report.html"
	done
done
exit 0
