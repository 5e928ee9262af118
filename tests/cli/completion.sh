#!/bin/sh
# tests/cli/completion.sh STRATA - the completion scripts: bash's is driven as
# bash drives it (COMP_WORDS, COMP_CWORD, COMP_LINE, COMP_POINT, then the
# function `complete -p strata` names), zsh's and fish's are checked for
# syntax when those shells are installed.
S=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$S" completion bash > "$tmp/strata.bash" || echo "not ok - completion bash: exit $?"
mkdir "$tmp/d" && : > "$tmp/d/app.tar" && : > "$tmp/d/app2.tar" && mkdir "$tmp/d/layout"

# check LINE WANTED...: complete the words of LINE, split as bash splits them
# (COMP_WORDBREAKS holds ":"), with the cursor at its end (where
# a trailing space starts an empty word), and expect each WANTED among the replies
check() {
	line=$1
	shift
	out=$(cd "$tmp/d" && bash -c '
		. "$1"
		line=$2
		read -r -a COMP_WORDS <<< "${line//:/ : }"
		[[ $line == *" " ]] && COMP_WORDS+=("")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE=$line
		COMP_POINT=${#line}
		fn=$(complete -p strata | sed -n "s/.*-F \([^ ]*\) strata$/\1/p")
		[ -n "$fn" ] || { echo "no complete -F for strata"; exit 1; }
		"$fn" strata "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
		printf "%s\n" "${COMPREPLY[@]}"' sh "$tmp/strata.bash" "$line" 2>&1)
	for want in "$@"; do
		if ! printf '%s\n' "$out" | grep -qxF -- "$want"; then
			echo "not ok - completion '$line' -> $want: got" $out
			return
		fi
	done
	echo "ok - completion '$line' -> $*"
}

check "strata ve" verify
check "strata " inspect verify convert analyze diff flatten unpack import completion help
check "strata convert --gz" --gzip
check "strata verify --js" --json
check "strata verify docker-ar" docker-archive:
check "strata verify oci" oci: oci-archive:
check "strata verify ap" app.tar app2.tar
check "strata verify -q --max-size 1G --str" --strict
check "strata --max-size 1G ver" verify
check "strata -q analyze -" --format --output -o --fail-on --max-size --quiet
check "strata diff --exit" --exit-code
check "strata diff --platform-" --platform-a --platform-b
check "strata help ex" exit-codes
check "strata completion " bash zsh fish
check "strata convert app.tar oci:lay" layout
# with ':' in COMP_WORDBREAKS bash splits docker-archive:app into three words
# and replaces only what follows the colon
check "strata verify docker-archive:app" app.tar app2.tar

for sh in zsh fish; do
	"$S" completion $sh > "$tmp/strata.$sh" || { echo "not ok - completion $sh: exit $?"; continue; }
	if command -v $sh > /dev/null; then
		if $sh -n "$tmp/strata.$sh"; then echo "ok - completion $sh parses"; else echo "not ok - completion $sh: syntax"; fi
	else
		echo "skip - completion $sh: no $sh installed"
	fi
done
if "$S" completion tcsh > /dev/null 2>&1; then echo "not ok - completion tcsh accepted"; else echo "ok - completion tcsh refused"; fi
