#!/bin/sh
# tests/deps-lint.sh - the module dependency rule (README "Modules"), checked:
#   common/ includes nothing of ours outside common/; formats/ only common/;
#   convert/ and analyze/ never include each other; nothing includes cli/
#   but cli/ itself; the library never prints to stdout/stderr or exits.
cd "$(dirname "$0")/.." || exit 2
fail=0
check() {  # check DIR FORBIDDEN-REGEX WHAT
	hits=$(grep -nE "#include \"($2)/" "$1"/*.c "$1"/*.h 2>/dev/null)
	if [ -n "$hits" ]; then
		echo "not ok - lint $1/ must not include $3:"
		echo "$hits" | sed 's/^/#   /'
		fail=1
	else
		echo "ok - lint $1/ includes no $3"
	fi
}
check common 'formats|convert|analyze|cli' 'formats/, convert/, analyze/ or cli/'
check formats 'convert|analyze|cli' 'convert/, analyze/ or cli/'
check analyze 'convert|cli' 'convert/ or cli/'
check convert 'analyze|cli' 'analyze/ or cli/'
hits=$(grep -nE '(^|[^a-z_])(printf|puts|exit|abort|perror)\(|f(printf|puts|write|flush)\((stdout|stderr)' common/*.c formats/*.c analyze/*.c convert/*.c 2>/dev/null)
if [ -n "$hits" ]; then
	echo "not ok - lint library code prints or exits:"
	echo "$hits" | sed 's/^/#   /'
else
	echo "ok - lint library code never prints or exits"
fi
hits=$(grep -nE '\b(strcpy|strcat|sprintf|vsprintf|strtok|atoi|atol|gets)\(' common/*.c formats/*.c analyze/*.c convert/*.c cli/*.c 2>/dev/null)
if [ -n "$hits" ]; then
	echo "not ok - lint banned functions used:"
	echo "$hits" | sed 's/^/#   /'
else
	echo "ok - lint no banned functions"
fi
