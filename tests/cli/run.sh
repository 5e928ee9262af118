#!/bin/sh
# tests/cli/run.sh STRATA FIXTURES - golden tests of the command line (see cases.txt).
# STRATA_CLI_SKIP="NAME... : why" skips those cases (tests/valgrind.sh does for two).
set -u
S=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
fx=$2
here=$(cd "$(dirname "$0")" && pwd)
exp=$here/expected
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export S
grep -v '^#' "$here/cases.txt" | grep -v '^$' | while IFS='	' read -r name cmd; do
	skip=${STRATA_CLI_SKIP:-}
	case " ${skip%%:*} " in *" $name "*) echo "skip - cli $name:${skip#*:}"; continue ;; esac
	(cd "$fx" && sh -c "$cmd" > "$tmp/out" 2> "$tmp/err"; echo $? > "$tmp/exit")
	if [ "${UPDATE:-0}" = 1 ]; then
		cp "$tmp/out" "$exp/$name.out"
		cp "$tmp/err" "$exp/$name.err"
		cp "$tmp/exit" "$exp/$name.exit"
		echo "ok - cli $name (updated)"
		continue
	fi
	bad=""
	for k in out err exit; do
		if ! cmp -s "$tmp/$k" "$exp/$name.$k" 2>/dev/null; then
			bad="$bad $k"
			diff -u "$exp/$name.$k" "$tmp/$k" 2>&1 | head -20 | sed 's/^/#   /' >&2
		fi
	done
	if [ -z "$bad" ]; then
		echo "ok - cli $name"
	else
		echo "not ok - cli $name: differs in$bad"
	fi
done
