#!/usr/bin/env bash
# tests/bundle/pieces.sh STRATA OUTDIR FIXTURES - convert --split SIZE (issue 13): pieces OUT.000,
# OUT.001, ... whose concatenation is the archive the run without --split writes; the manifest and
# OUT.sha256 list them; every command that reads a source reads the set (named by its manifest or
# its first piece) as it reads the joined file; a corrupt, missing, reordered, truncated or foreign
# piece is named with its expected digest (exit 1) and nothing is written; bad sizes are usage
# errors.  Every run is under `timeout` and `ulimit -v`.  One line per check.
set -u
S=$1
W=$2
FIX=$3
rm -rf "$W"
mkdir -p "$W"
W=$(cd "$W" && pwd)
case $S in /*) ;; *) S=$PWD/$S ;; esac
case $FIX in /*) ;; *) FIX=$PWD/$FIX ;; esac

LABEL=pieces
. "$(cd "$(dirname "$0")/.." && pwd)/lib.sh"  # run, ok, bad
check() {  # check NAME COND-RESULT(0/1) WHY
	if [ "$2" = 0 ]; then ok "$1"; else bad "$1" "$3"; fi
}
leftovers() { find "$1" -name '*strata-tmp*' | head -1; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
# field of piece N (0-based) in a manifest: path, size or sha256
mf() { python3 -c '
import json, sys
d = json.load(open(sys.argv[1])); o = d["output"]
if sys.argv[2] == "n": print(len(o["pieces"]))
elif sys.argv[2] == "whole": print(o["size"], o["sha256"])
else:
    f = {x["path"]: x for x in d["files"]}[o["pieces"][int(sys.argv[3])]]
    print(f[sys.argv[2]])' "$@"; }

A=$FIX/docker-classic.tar
B=$FIX/docker-multi.tar
C=$FIX/docker-skopeo.tar
SIZE=16K

# ---- writing ----
cd "$W" || exit 1
for t in oci-archive docker-archive; do
	run convert "$A" "$B" "$C" "$t:$W/$t-joined.tar"
	[ $rc = 0 ] || bad "$t joined run" "exit $rc"
	run convert "$A" "$B" "$C" "$t:$W/$t.tar" --split $SIZE
	if [ $rc != 0 ]; then bad "$t --split $SIZE" "exit $rc"; continue; fi
	n=$(ls "$W/$t.tar".[0-9][0-9][0-9] | wc -l)
	check "$t --split $SIZE makes $n >= 4 pieces" $([ "$n" -ge 4 ]; echo $?) "only $n pieces"
	full=1
	for f in $(ls "$W/$t.tar".[0-9][0-9][0-9] | head -n $((n - 1))); do
		[ "$(stat -c %s "$f")" = 16384 ] || full=0
	done
	check "$t every piece but the last is 16384 bytes" $([ $full = 1 ]; echo $?) "sizes differ"
	cat "$W/$t.tar".0* > "$W/$t-cat.tar"
	check "$t cat OUT.0* is byte-identical to the run without --split" \
		$(cmp -s "$W/$t-cat.tar" "$W/$t-joined.tar"; echo $?) "differs"
	check "$t no joined OUT on disk" $([ ! -e "$W/$t.tar" ]; echo $?) "$t.tar exists"
	check "$t sha256sum -c OUT.sha256" $( (cd "$W" && sha256sum -c --quiet "$t.tar.sha256" > /dev/null 2>&1); echo $?) \
		"sha256sum -c failed"
	check "$t OUT.sha256 lists the $n pieces" $([ "$(wc -l < "$W/$t.tar.sha256")" = "$n" ]; echo $?) "wrong count"
	whole=$(mf "$W/$t.tar.manifest.json" whole)
	check "$t manifest names the joined archive's size and sha256" \
		$([ "$whole" = "$(stat -c %s "$W/$t-cat.tar") $(sha "$W/$t-cat.tar")" ]; echo $?) "got '$whole'"
	okp=1
	for i in $(seq 0 $((n - 1))); do
		f=$(printf '%s.%03d' "$t.tar" "$i")
		[ "$(mf "$W/$t.tar.manifest.json" path "$i")" = "$f" ] && [ "$(mf "$W/$t.tar.manifest.json" size "$i")" = "$(stat -c %s "$W/$f")" ] &&
			[ "$(mf "$W/$t.tar.manifest.json" sha256 "$i")" = "$(sha "$W/$f")" ] || okp=0
	done
	check "$t manifest lists each piece in order with its size and sha256" $([ $okp = 1 ]; echo $?) "mismatch"
	check "$t no temp files left" $([ -z "$(leftovers "$W")" ]; echo $?) "$(leftovers "$W")"
done
P=$W/oci-archive.tar
J=$W/oci-archive-joined.tar
N=$(mf "$P.manifest.json" n)

# a second run with larger pieces leaves no stale pieces of the first behind
mkdir -p "$W/rerun"
run convert "$A" "$B" "$C" "oci-archive:$W/rerun/r.tar" --split 8K
n1=$(ls "$W/rerun" | grep -c '\.[0-9][0-9][0-9]$')
run convert "$A" "$B" "$C" "oci-archive:$W/rerun/r.tar" --split 32K
n2=$(ls "$W/rerun" | grep -c '\.[0-9][0-9][0-9]$')
check "a rerun with larger pieces removes the stale ones ($n1 -> $n2 pieces)" \
	$([ $rc = 0 ] && [ "$n2" = "$(mf "$W/rerun/r.tar.manifest.json" n)" ] && [ "$n2" -lt "$n1" ]; echo $?) "$n2 pieces"

# ---- reading: the same output as from the joined file ----
# one image, for the commands that read one
run convert "$A" "oci-archive:$W/one-joined.tar"
run convert "$A" "oci-archive:$W/one.tar" --split 8K
O=$W/one.tar
OJ=$W/one-joined.tar
same() {  # same NAME PIECES-SRC JOINED-SRC ARGS... (SRC replaced by each): stdout equal, names substituted
	local name=$1 ps=$2 js=$3
	shift 3
	local args=("$@") a1=() a2=() x
	for x in "${args[@]}"; do a1+=("${x//SRC/$ps}"); a2+=("${x//SRC/$js}"); done
	run "${a2[@]}"
	local rc2=$rc
	sed "s#$js#SRC#g" "$W/out" > "$W/out.joined"
	run "${a1[@]}"
	sed "s#$ps#SRC#g; s#$js#SRC#g" "$W/out" > "$W/out.pieces"
	if [ $rc != $rc2 ]; then bad "$name" "exit $rc, joined file: $rc2"
	elif ! cmp -s "$W/out.pieces" "$W/out.joined"; then bad "$name" "stdout differs: $(diff "$W/out.pieces" "$W/out.joined" | head -3 | tr '\n' ' ')"
	else ok "$name (exit $rc)"; fi
}
for src in manifest first; do
	case $src in manifest) ps=$P.manifest.json; os=$O.manifest.json ;; first) ps=$P.000; os=$O.000 ;; esac
	same "inspect of the set by its $src = of the joined file" "$ps" "$J" inspect SRC
	same "inspect --json by its $src" "$ps" "$J" inspect --json SRC
	if [ $src = first ]; then  # (verify OUT.manifest.json is the transfer check, below)
		same "verify by its $src" "$ps" "$J" verify SRC
		same "verify --json by its $src" "$ps" "$J" verify --json SRC
	fi
	same "analyze --format json by its $src" "$os" "$OJ" analyze --format json SRC
	same "sbom by its $src" "$os" "$OJ" sbom SRC
	same "diff by its $src" "$os" "$OJ" diff SRC "$OJ"
	same "diff --json, both sides pieces, by its $src" "$os" "$OJ" diff --json SRC SRC
	rm -rf "$W/fl" && mkdir -p "$W/fl"
	run flatten "$os" "$W/fl/p.tar"
	r1=$rc
	run flatten "$OJ" "$W/fl/j.tar"
	check "flatten by its $src writes the same tar" $([ $r1 = 0 ] && cmp -s "$W/fl/p.tar" "$W/fl/j.tar"; echo $?) "exit $r1"
	run unpack "$os" "$W/fl/pd"
	r1=$rc
	run unpack "$OJ" "$W/fl/jd"
	check "unpack by its $src extracts the same tree" $([ $r1 = 0 ] && diff -r "$W/fl/pd" "$W/fl/jd" > /dev/null; echo $?) "exit $r1"
	run convert "$ps" "oci-archive:$W/fl/conv-p.tar"
	r1=$rc
	run convert "$J" "oci-archive:$W/fl/conv-j.tar"
	check "convert by its $src writes the same archive" $([ $r1 = 0 ] && cmp -s "$W/fl/conv-p.tar" "$W/fl/conv-j.tar"; echo $?) "exit $r1"
done
run verify "$P.manifest.json"
check "verify OUT.manifest.json of the set: OK" $([ $rc = 0 ] && grep -q "transfer manifest (oci-archive), $N files, 4 images.*: OK" "$W/out"; echo $?) "exit $rc: $(cat "$W/out")"
run inspect "oci-archive:$P.manifest.json"
check "a transport prefix before the manifest" $([ $rc = 0 ]; echo $?) "exit $rc"

# ---- bad pieces ----
fresh() {  # a copy of the oci-archive set in $W/$1
	D=$W/$1
	Q=$D/oci-archive.tar
	rm -rf "$D" && mkdir -p "$D" && cp "$P".* "$D/"
}
exp() { mf "$Q.manifest.json" "$@"; }
nooutput() { [ ! -e "$W/none.tar" ] && [ -z "$(leftovers "$W")" ] && [ -z "$(leftovers "$D")" ]; }

fresh corrupt
printf 'X' | dd of="$Q.001" bs=1 seek=700 conv=notrunc 2> /dev/null
want="oci-archive.tar.001: corrupt, or a piece of another set: sha256 $(sha "$Q.001"), piece 2 of $N is sha256 $(exp sha256 1)"
run verify "$Q.manifest.json"
check "corrupt piece: verify OUT.manifest.json names it with its expected digest, exit 1" \
	$([ $rc = 1 ] && grep -qF "$want" "$W/err"; echo $?) "exit $rc"
check "corrupt piece: no OK verdict" $(grep -q FAILED "$W/out" && ! grep -q ': OK' "$W/out"; echo $?) "$(cat "$W/out")"
for cmd in inspect verify; do
	run $cmd "$Q.000"
	check "corrupt piece: $cmd OUT.000 exits 1 naming it" $([ $rc = 1 ] && grep -qF "'$Q.001': corrupt, or a piece of another set" "$W/err" && [ ! -s "$W/out" ] || [ $cmd = verify ]; echo $?) "exit $rc"
done
run convert "$Q.manifest.json" "oci-archive:$W/none.tar"
check "corrupt piece: convert exits 1 naming the piece, nothing written" \
	$([ $rc = 1 ] && grep -qF "'$Q.001': corrupt" "$W/err" && nooutput; echo $?) "exit $rc"
run convert "$Q.manifest.json" "oci-archive:$W/none.tar" --split 8K
check "corrupt piece: convert --split of it leaves no piece and no temp file" \
	$([ $rc = 1 ] && ! ls "$W"/none.tar* > /dev/null 2>&1 && nooutput; echo $?) "exit $rc"

fresh removed
rm "$Q.002"
want="oci-archive.tar.002: missing: piece 3 of $N (expected sha256 $(exp sha256 2), $(exp size 2) bytes)"
run verify "$Q.manifest.json"
check "missing piece: verify names it with its expected digest and size, exit 1" \
	$([ $rc = 1 ] && grep -qF "$want" "$W/err"; echo $?) "exit $rc"
run inspect "$Q.000"
check "missing piece: inspect OUT.000 exits 1 before reading" $([ $rc = 1 ] && grep -qF "'$Q.002': missing" "$W/err" && [ ! -s "$W/out" ]; echo $?) "exit $rc"

fresh both
printf 'X' | dd of="$Q.001" bs=1 seek=10 conv=notrunc 2> /dev/null
rm "$Q.003"
run verify "$Q.manifest.json"
check "corrupt and missing: verify names both, exit 1" \
	$([ $rc = 1 ] && grep -qF "oci-archive.tar.001: corrupt" "$W/err" && grep -qF "oci-archive.tar.003: missing" "$W/err" &&
	  grep -q "(2 errors" "$W/out"; echo $?) "exit $rc: $(cat "$W/out")"
cp "$P.001" "$P.003" "$D/"
run verify "$Q.manifest.json"
check "pieces restored: verify OK" $([ $rc = 0 ]; echo $?) "exit $rc"

fresh reordered
mv "$Q.001" "$D/t" && mv "$Q.002" "$Q.001" && mv "$D/t" "$Q.002"
want="oci-archive.tar.001: out of order: holds piece 3 of $N, not piece 2 (expected sha256 $(exp sha256 1))"
run verify "$Q.manifest.json"
check "reordered pieces: verify names both places, exit 1" \
	$([ $rc = 1 ] && grep -qF "$want" "$W/err" && grep -qF "oci-archive.tar.002: out of order: holds piece 2 of $N, not piece 3" "$W/err"; echo $?) "exit $rc"
run analyze "$Q.000" --image @0
check "reordered pieces: analyze exits 1 naming the piece" $([ $rc = 1 ] && grep -qF "'$Q.001': out of order" "$W/err"; echo $?) "exit $rc"

fresh truncated
truncate -s 1000 "$Q.002"
want="oci-archive.tar.002: truncated: 1000 bytes, piece 3 of $N is 16384 (expected sha256 $(exp sha256 2))"
run verify "$Q.manifest.json"
check "truncated piece: verify names it, exit 1" $([ $rc = 1 ] && grep -qF "$want" "$W/err"; echo $?) "exit $rc"
run sbom "$Q.000" --image @0
check "truncated piece: sbom exits 1 naming it" $([ $rc = 1 ] && grep -qF "'$Q.002': truncated" "$W/err"; echo $?) "exit $rc"
run flatten "$Q.000" "$W/none.tar" --image @0
check "truncated piece: flatten exits 1, nothing written" $([ $rc = 1 ] && grep -qF "'$Q.002': truncated" "$W/err" && nooutput; echo $?) "exit $rc"
run unpack "$Q.000" "$W/none.d" --image @0
check "truncated piece: unpack exits 1, no directory" $([ $rc = 1 ] && [ ! -e "$W/none.d" ] && nooutput; echo $?) "exit $rc"

fresh foreign
run convert "$B" "oci-archive:$W/other.tar" --split $SIZE
cp "$W/other.tar.001" "$Q.001"
want="oci-archive.tar.001: corrupt, or a piece of another set: sha256 $(sha "$W/other.tar.001"), piece 2 of $N is sha256 $(exp sha256 1)"
run verify "$Q.manifest.json"
check "a piece of another set: verify refuses it by name, exit 1" $([ $rc = 1 ] && grep -qF "$want" "$W/err"; echo $?) "exit $rc"
run diff "$Q.000" "$OJ" --image-a @0
check "a piece of another set: diff exits 1 naming it" $([ $rc = 1 ] && grep -qF "'$Q.001': corrupt, or a piece of another set" "$W/err"; echo $?) "exit $rc"
cp "$W/other.tar.000" "$Q.000"
run inspect "$Q.000"
check "another set's first piece beside this manifest: refused by name, exit 1" \
	$([ $rc = 1 ] && grep -qF "'$Q.000': corrupt, or a piece of another set" "$W/err"; echo $?) "exit $rc"

# ---- a first piece with no manifest beside it: read as it is, with one warning ----
fresh nomanifest
rm "$Q.manifest.json"
run inspect "$Q.000"
sed "s#$Q.000#SRC#g" "$W/out" > "$W/out.pieces"
run inspect "$J"
sed "s#$J#SRC#g" "$W/out" > "$W/out.joined"
run inspect "$Q.000"
check "first piece without a manifest: read, with one warning that the pieces are unchecked" \
	$([ $rc = 0 ] && cmp -s "$W/out.pieces" "$W/out.joined" && [ "$(grep -c "unchecked" "$W/err")" = 1 ]; echo $?) "exit $rc"

# ---- usage ----
for sz in 0 -1 4X abc "" 1.5G 4GG 99999999999999999999T 100; do
	run convert "$A" "oci-archive:$W/none.tar" --split "$sz"
	check "--split '$sz': usage error, exit 2, nothing written" \
		$([ $rc = 2 ] && grep -q -- "--split" "$W/err" && ! ls "$W"/none.tar* > /dev/null 2>&1; echo $?) "exit $rc"
done
for sz in 4G 700M 25G 4k 1T 4GiB 8KB; do
	run convert --split "$sz" /nonexistent "oci-archive:$W/none.tar"
	check "--split '$sz' is a size (the run fails on its source, exit 3)" $([ $rc = 3 ]; echo $?) "exit $rc"
done
run convert "$A" "oci:$W/none.d" --split 1M
check "--split into a directory (oci:): usage error" $([ $rc = 2 ] && [ ! -e "$W/none.d" ] && grep -q "split" "$W/err"; echo $?) "exit $rc"
run convert "$A" oci-archive:- --split 1M
check "--split to stdout: usage error" $([ $rc = 2 ] && [ ! -s "$W/out" ]; echo $?) "exit $rc"
run convert "$W/missing.tar" "oci-archive:$W/none.tar" --split 8K
check "a failed run leaves no pieces and no temp file" $([ $rc != 0 ] && ! ls "$W"/none.tar* > /dev/null 2>&1 && nooutput; echo $?) "exit $rc"
# more than 1000 pieces: refused when the 1001st would begin, nothing left behind
head -c 6000000 /dev/urandom > "$W/noise" && tar -C "$W" -cf "$W/noise.tar" noise
run import "$W/noise.tar" "oci-archive:$W/big.tar"
run convert "$W/big.tar" "oci-archive:$W/none.tar" --split 4K
check "--split making more than 1000 pieces: exit 2 naming the limit, nothing left" \
	$([ $rc = 2 ] && grep -q "more than 1000 pieces" "$W/err" && ! ls "$W"/none.tar* > /dev/null 2>&1 && nooutput; echo $?) "exit $rc"
run convert --help
check "convert --help documents --split" $(grep -q -- "--split SIZE" "$W/out" "$W/err"; echo $?) "not in help"
exit 0
