#!/bin/sh
# tests/cli/manpage.sh STRATA MANPAGE - strata.1 is kept in step with --help:
# every command, option and exit code that --help prints appears in the page,
# and so does every option of `strata help limits` and every exit code of
# `strata help exit-codes`.
S=$1
man=$2
for cmd in $("$S" --help | sed -n '/^Commands:/,/^$/p' | awk 'NR>1 && NF {print $1}'); do
	if grep -q "^\.SS $cmd\b" "$man" || grep -q "^\.B strata $cmd" "$man" || grep -qE "^\.SS \"?$cmd" "$man"; then
		echo "ok - manpage documents '$cmd'"
	else
		echo "not ok - manpage lacks command '$cmd'"
	fi
	for opt in $("$S" help "$cmd" | grep -oE '^  --[a-z-]+' | tr -d ' '); do
		if grep -q -- "$(echo "$opt" | sed 's/-/\\\\-/g')" "$man" || grep -q -- "$opt" "$man"; then
			echo "ok - manpage documents '$cmd $opt'"
		else
			echo "not ok - manpage lacks '$cmd $opt'"
		fi
	done
done
for opt in $("$S" help limits | grep -oE '^  --[a-z-]+' | tr -d ' '); do
	if grep -q -- "$(echo "$opt" | sed 's/-/\\\\-/g')" "$man" || grep -q -- "$opt" "$man"; then
		echo "ok - manpage documents limit $opt"
	else
		echo "not ok - manpage lacks limit $opt"
	fi
done
for code in $("$S" help exit-codes | awk 'NR>1 && $1 ~ /^[0-9]+$/ {print $1}'); do
	if grep -qx "\.IP $code" "$man"; then
		echo "ok - manpage documents exit code $code"
	else
		echo "not ok - manpage lacks exit code $code"
	fi
done
