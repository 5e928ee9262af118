#!/usr/bin/env bash
# tests/layers/run.sh STRATA OUTDIR [FIXTURES] - the layer model through the CLI (issue 10):
# (STRATA_REALWORLD and STRATA_INTEROP name the real-world and real-tool archives, when present)
# verify, flatten, unpack and convert give one verdict on every image of make.py; diff and
# analyze see what a directory replaced by a file removes; import and convert refuse unsafe
# layers unless --allow-unsafe-layers; a layer whose bytes are not its digest is exit 1 from
# verify and convert alike; over the malformed corpus (FIXTURES/malformed) verify and convert
# give the same exit class.  Every run is under `timeout` and `ulimit -v`; nothing may be
# left behind by a refused run.  One line per check.
set -u
S=$1
W=$2
FIX=${3:-}
LABEL=layers
. "$(cd "$(dirname "$0")/.." && pwd)/lib.sh"  # run, ok, bad
rm -rf "$W"
mkdir -p "$W"
python3 "$(dirname "$0")/make.py" "$W/img" > "$W/make.log" 2>&1 || { echo "not ok - layers: make.py failed"; exit 0; }

while IFS=$'\t' read -r name verdict; do
	f=$W/img/$name.tar
	want=0
	[ "$verdict" = unsafe ] && want=4
	run verify "$f"
	[ $rc = $want ] && ok "verify $name exit $want" || bad "verify $name" "exit $rc, want $want"
	rm -f "$W/flat.tar"
	run flatten "$f" "$W/flat.tar"
	if [ $rc = $want ] && { [ $want = 0 ] || [ ! -e "$W/flat.tar" ]; }; then ok "flatten $name exit $want"; else bad "flatten $name" "exit $rc, want $want"; fi
	rm -rf "$W/root"
	run unpack "$f" "$W/root"
	if [ $rc = $want ] && { [ $want = 0 ] || [ ! -e "$W/root" ]; }; then ok "unpack $name exit $want"; else bad "unpack $name" "exit $rc, want $want"; fi
	rm -rf "$W/oci"
	run convert "$f" "oci:$W/oci"
	if [ $rc = $want ] && { [ $want = 0 ] || [ ! -e "$W/oci" ]; }; then ok "convert $name exit $want"; else bad "convert $name" "exit $rc, want $want"; fi
	if [ $want = 4 ]; then
		grep -q -e "layer [0-9]" -e "/layer.tar: " "$W/err" && ok "convert $name names the layer" || bad "convert $name" "no layer named"
		rm -rf "$W/oci"
		run convert --allow-unsafe-layers "$f" "oci:$W/oci"
		if [ $rc = 0 ] && grep -q "allow-unsafe-layers" "$W/err" && [ -f "$W/oci/index.json" ]; then
			ok "convert --allow-unsafe-layers $name"
		else
			bad "convert --allow-unsafe-layers $name" "exit $rc"
		fi
	fi
done < <(python3 -c 'import json,sys; [print("%s\t%s" % (k, v["verdict"])) for k, v in json.load(open(sys.argv[1])).items()]' "$W/img/cases.json")

# link-three: the link keeps the content its target had below the rewrite
run flatten "$W/img/link-three.tar" "$W/l3.tar"
if [ $rc = 0 ] && [ "$(tar -xOf "$W/l3.tar" bin/g 2>/dev/null)" = old ] && [ "$(tar -xOf "$W/l3.tar" bin/f 2>/dev/null)" = new! ]; then
	ok "link-three: bin/g keeps the old content, bin/f the new"
else
	bad "link-three content" "exit $rc"
fi
# dir-file-dir: only the re-created directory and its new file remain
run flatten "$W/img/dir-file-dir.tar" "$W/dfd.tar"
got=$(tar -tf "$W/dfd.tar" 2>/dev/null | sed 's|^\./||; s|/$||' | grep -v '^\.\?$' | LC_ALL=C sort | tr '\n' ' ')
[ "$got" = "d d/c keep " ] && ok "dir-file-dir flattens to d, d/c, keep" || bad "dir-file-dir flatten" "got '$got'"

# sym-then-dir: unpack holds d as a directory with d/x
rm -rf "$W/std"
run unpack "$W/img/sym-then-dir.tar" "$W/std"
if [ $rc = 0 ] && [ -d "$W/std/d" ] && [ ! -L "$W/std/d" ] && [ -f "$W/std/d/x" ]; then
	ok "sym-then-dir: unpack makes d a directory holding x"
else
	bad "sym-then-dir unpack" "exit $rc"
fi

# diff: a directory replaced by a file lists what was under it as removed
run diff "$W/img/dfd-base.tar" "$W/img/dfd-file.tar"
if [ $rc = 0 ] && grep -q '^  - d/a$' "$W/out" && grep -q '^  - d/b$' "$W/out" && grep -q '^  ~ d (' "$W/out"; then
	ok "diff lists the children of a replaced directory as removed"
else
	bad "diff dfd" "exit $rc: $(tr '\n' ' ' < "$W/out")"
fi
run analyze --format json "$W/img/dfd-file.tar"
del=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["images"][0]["layers"][1]["deleted"])' "$W/out" 2>/dev/null)
[ "$del" = 2 ] && ok "analyze counts them as deleted by the replacing layer" || bad "analyze dfd deleted" "got '$del', want 2"

# import of an unsafe rootfs: refused, nothing written; allowed on purpose with a warning
rm -rf "$W/imp"
run import "$W/img/rootfs-unsafe.tar" "oci:$W/imp:1"
[ $rc = 4 ] && [ ! -e "$W/imp" ] && ok "import refuses an unsafe rootfs" || bad "import unsafe" "exit $rc"
run import --allow-unsafe-layers "$W/img/rootfs-unsafe.tar" "oci:$W/imp:1"
[ $rc = 0 ] && grep -q warning "$W/err" && ok "import --allow-unsafe-layers" || bad "import --allow-unsafe-layers" "exit $rc"

# digest first: a corrupt header inside a layer whose diff_id then does not match
run verify "$W/img/corrupt-header-gz.tar"
v=$rc
first=$(grep -m1 error "$W/err")
rm -rf "$W/oci"
run convert "$W/img/corrupt-header-gz.tar" "oci:$W/oci"
if [ $v = 1 ] && [ $rc = 1 ] && [[ "$first" == *"diff_id mismatch"* ]]; then
	ok "corrupt header in a layer: verify and convert exit 1, diff_id first"
else
	bad "corrupt header" "verify $v, convert $rc, first '$first'"
fi

# --strict and --allow-missing-blobs (a foreign layer absent from the archive)
rw=${STRATA_REALWORLD:-$(dirname "$0")/../../../shared/realworld}/ggcr-sparse-foreign-missing-blob.tar
if [ -f "$rw" ]; then
	run verify "$rw"; a=$rc
	run verify --strict "$rw"; b=$rc
	[ $a = 0 ] && [ $b = 4 ] && ok "--strict makes the foreign-layer warning an error" || bad "--strict" "verify $a, --strict $b"
	rm -rf "$W/oci"
	run convert "$rw" "oci:$W/oci"
	if [ $rc = 4 ] && grep -q "allow-missing-blobs" "$W/err" && grep -q "sha256:" "$W/err" && [ ! -e "$W/oci" ]; then
		ok "convert refuses a missing foreign layer, naming it"
	else
		bad "convert missing blob" "exit $rc"
	fi
	run convert --allow-missing-blobs "$rw" "oci:$W/oci"
	[ $rc = 0 ] && ok "convert --allow-missing-blobs" || bad "convert --allow-missing-blobs" "exit $rc"
else
	echo "skip - layers --strict/--allow-missing-blobs: $rw not present"
fi

# verify sees what flatten and unpack see, on every image of tests/ and ../shared/realworld:
# when verify is OK, both succeed (or ask which image: exit 2); when either refuses an image
# (exit 4) or finds it is not what its digests say (exit 1), verify says the same
agree() {  # agree FILE
	local f=$1 v fl un
	run verify "$f"; v=$rc
	# a foreign layer absent from the archive: verify warns, what needs its bytes refuses
	grep -q "foreign layer not stored" "$W/err" && [ $v = 0 ] && v=4
	rm -f "$W/agree.tar"; run flatten "$f" "$W/agree.tar"; fl=$rc
	rm -rf "$W/agree-root"; run unpack "$f" "$W/agree-root"; un=$rc
	rm -rf "$W/agree.tar" "$W/agree-root"
	for x in $fl $un; do
		case "$v/$x" in
		0/0 | 0/2 | 1/1 | 4/4 | 1/2 | 4/2 | 4/1 | 1/4) ;;
		*) disagree="$disagree $(basename "$f")(verify $v, flatten $fl, unpack $un)"; return ;;
		esac
	done
	nagree=$((nagree + 1))
}
disagree=""
nagree=0
for f in "$W"/img/*.tar ${FIX:+"$FIX"/*.tar "$FIX"/malformed/*} "${STRATA_REALWORLD:-/nonexistent}"/* \
	"${STRATA_INTEROP:-/nonexistent}"/*.tar; do
	[ -e "$f" ] || continue
	case "$f" in *.json | *.md | *.tsv) continue ;; esac
	agree "$f"
done
[ -z "$disagree" ] && ok "verify, flatten and unpack agree on all $nagree images" || bad "verdicts" "differ:$disagree"

# verify and convert agree on the exit class of every malformed input
if [ -n "$FIX" ] && [ -d "$FIX/malformed" ]; then
	n=0
	bads=""
	for f in "$FIX"/malformed/*; do
		[ -f "$f" ] || continue
		run verify "$f"; v=$rc
		rm -rf "$W/oci"
		run convert "$f" "oci:$W/oci"; c=$rc
		# convert may also refuse what verify only warns of: a usage (2) or a format (4) stop
		if [ $v != 0 ] && [ $v != $c ]; then bads="$bads $(basename "$f")($v/$c)"; fi
		if [ $v != 0 ] && [ -e "$W/oci" ]; then bads="$bads $(basename "$f")(left-output)"; fi
		n=$((n + 1))
	done
	[ -z "$bads" ] && ok "verify and convert agree on all $n malformed inputs" || bad "verify/convert agreement" "differ:$bads"
fi
exit 0
