#!/bin/bash
# tests/flatten/run.sh STRATA FIXTURES OUTDIR [INTEROPDIR [REALWORLD]] — end-to-end tests of `strata flatten`
# and `strata unpack`.
#
#   FIXTURES    output dir of `python3 fixtures/gen.py DIR`
#   OUTDIR      work dir; this script owns OUTDIR/flatten (wiped at start, kept for a look)
#   INTEROPDIR  output dir of tests/interop/make-archives.sh (archives podman, skopeo, umoci, ctr wrote)
#   REALWORLD   ../shared/realworld (archives of Docker 1.10-25, BuildKit, kaniko, ggcr, regctl), when present
#
# For every image: `unpack` equals `flatten` + `tar -x`, and equals `umoci raw unpack` of the same image
# (paths, types, modes, sizes, content, link targets, link counts; with --meta also owners, times, device
# numbers and xattrs).  Hostile layers are refused with exit 4 and nothing appears outside the target (a
# canary file sits beside it).  Prints "ok - flatten ...", "not ok - ...", "skip - ..." lines; exits 0.
set -u
HERE=$(cd "$(dirname "$0")" && pwd -P)
TOP=$(cd "$HERE/../.." && pwd -P)
[ $# -ge 3 ] || { echo "usage: $0 STRATA FIXTURES OUTDIR [INTEROPDIR [REALWORLD]]" >&2; exit 2; }
S=$1 FIX=$2 W=$3/flatten IOP=${4:-} RW=${5:-}
TREE="python3 $TOP/tests/convert/tree.py"

ok()   { echo "ok - flatten $1"; }
nok()  { local r=${2//$'\n'/ ⏎ }; echo "not ok - flatten $1: ${r:0:900}"; }
skip() { echo "skip - flatten $1: $2"; }
have() { command -v "$1" >/dev/null 2>&1; }

rm -rf "$W" && mkdir -p "$W/img" || { nok "setup" "cannot create $W"; exit 0; }
W=$(cd "$W" && pwd -P)
if ! python3 "$HERE/make.py" "$W/img" > "$W/make.log" 2>&1; then nok "images" "make.py failed: $(tail -3 "$W/make.log")"; exit 0; fi
python3 "$TOP/tests/analyze/make.py" "$W/img/analyze" > /dev/null 2>&1 || nok "images" "tests/analyze/make.py failed"
ROOT=0; [ "$(id -u)" = 0 ] && ROOT=1
META=; [ $ROOT = 1 ] && META=--meta   # owners only survive an extraction as root

# ---- the image list: "LABEL<TAB>SOURCE<TAB>OPTIONS<TAB>KIND" (KIND image or rootfs); a source holding
# several container images (as `strata inspect` counts them) is listed once per image, with --image @N
list=$W/list.tsv
: > "$list"
add() {  # add LABEL SOURCE [KIND]
	local idx
	idx=$("$S" inspect --json "$2" 2>/dev/null | jq -r '.images | to_entries[] | select(.value.kind == "image") | .key')
	if [ "$(echo "$idx" | wc -w)" -gt 1 ]; then
		for i in $idx; do printf '%s\t%s\t%s\t%s\n' "$1@$i" "$2" "--image @$i" "${3:-image}" >> "$list"; done
	else
		printf '%s\t%s\t%s\t%s\n' "$1" "$2" - "${3:-image}" >> "$list"  # "-": no options
	fi
}
have jq || { skip "all" "jq not installed"; exit 0; }
while IFS=$'\t' read -r name fmt _; do
	case $name in '#'*|'') continue ;; esac
	kind=image; [ "$fmt" = rootfs ] && kind=rootfs
	add "$name" "$FIX/$name" $kind
done < "$FIX/fixtures.tsv"
for n in links.tar links-gz.tar analyze/main.tar analyze/main-gz.tar analyze/edge.tar analyze/pair.tar; do add "$n" "$W/img/$n"; done
if [ -n "$IOP" ] && [ -d "$IOP" ]; then
	for p in "$IOP"/*; do
		n=$(basename "$p")
		case $n in
		*-bad.tar|*.log|*.txt|*.json) ;;                       # known-bad on purpose, or not an archive
		rootfs.tar*) add "interop/$n" "$p" rootfs ;;
		*) add "interop/$n" "$p" ;;
		esac
	done
else
	skip "interop archives" "no INTEROPDIR given or present"
fi
if [ -n "$RW" ] && [ -d "$RW" ]; then
	for p in "$RW"/*; do
		n=$(basename "$p")
		case $n in
		*BROKEN*|*HOSTILE*|*missing-blob*|README*|*.json) ;;   # refused on purpose (checked below)
		*rootfs*) add "realworld/$n" "$p" rootfs ;;
		*) add "realworld/$n" "$p" ;;
		esac
	done
else
	skip "real-world archives" "no REALWORLD given or present"
fi

# ---- per image: unpack, flatten + tar -x, umoci raw unpack of the same image
n=0
while IFS=$'\t' read -r label src opts kind; do
	n=$((n + 1)); d=$W/t/$n; mkdir -p "$d"
	[ "$opts" = - ] && opts=
	# shellcheck disable=SC2086
	if ! out=$("$S" -q unpack $opts "$src" "$d/u" 2>&1); then nok "unpack $label" "$out"; continue; fi
	$TREE $META "$d/u" > "$d/u.tree"
	# shellcheck disable=SC2086
	if ! out=$("$S" -q flatten $opts "$src" "$d/f.tar" 2>&1); then
		nok "flatten $label" "$out"
	else
		mkdir "$d/x"
		# GNU tar: xattrs, and directory times restored at the end (entries come top layer first)
		if ! out=$(tar --xattrs --xattrs-include='*' --delay-directory-restore --same-owner -xpf "$d/f.tar" -C "$d/x" 2>&1); then
			nok "flatten $label | tar -x" "$out"
		else
			$TREE $META "$d/x" > "$d/x.tree"
			if cmp -s "$d/u.tree" "$d/x.tree"; then ok "$label: unpack equals flatten + tar -x"
			else nok "$label: unpack equals flatten + tar -x" "$(diff "$d/u.tree" "$d/x.tree" | head -8)"; fi
		fi
	fi
	have umoci || { skip "$label: umoci raw unpack" "umoci not installed"; continue; }
	# umoci 0.4 reads no zstd: the OCI copy for it has uncompressed layers (same tars, same diff_ids)
	if [ "$kind" = rootfs ]; then out=$("$S" -q import --decompress "$src" "oci:$d/oci:t" 2>&1)
	# shellcheck disable=SC2086
	else out=$("$S" -q convert --decompress $opts "$src" "oci:$d/oci:t" 2>&1); fi
	if [ $? -ne 0 ]; then nok "$label: umoci raw unpack" "making the OCI copy: $out"; continue; fi
	if ! out=$(umoci raw unpack --image "$d/oci:t" "$d/r" 2>&1); then nok "$label: umoci raw unpack" "$out"; continue; fi
	$TREE $META "$d/r" > "$d/r.tree"
	if cmp -s "$d/u.tree" "$d/r.tree"; then ok "$label: unpack equals umoci raw unpack"
	else nok "$label: unpack equals umoci raw unpack" "$(diff "$d/u.tree" "$d/r.tree" | head -8)"; fi
done < "$list"

L=$W/img/links.tar
# ---- compressed output: chosen by name or flag, same tar inside; reproducible
"$S" -q flatten "$L" "$W/plain.tar" 2>/dev/null
for c in "gz:gzip -dc" "zst:zstd -dcq" "xz:xz -dc"; do
	sfx=${c%%:*} dec=${c#*:}
	have "${dec%% *}" || { skip "output .$sfx" "${dec%% *} not installed"; continue; }
	what="flatten to f.tar.$sfx writes $sfx whose content is the plain tar"
	if ! out=$("$S" -q flatten "$L" "$W/f.tar.$sfx" 2>&1); then nok "$what" "$out"
	elif $dec "$W/f.tar.$sfx" | cmp -s - "$W/plain.tar"; then ok "$what"
	else nok "$what" "content differs"; fi
done
what="flatten --gzip to stdout, twice: identical bytes, gzip -t passes"
if "$S" -q flatten --gzip "$L" - > "$W/a.gz" 2>/dev/null && "$S" -q flatten --gzip --threads 1 "$L" - > "$W/b.gz" 2>/dev/null &&
	cmp -s "$W/a.gz" "$W/b.gz" && gzip -t "$W/a.gz"; then ok "$what"; else nok "$what" "outputs differ or gzip -t failed"; fi
what="flatten --no-compress x.tar.gz writes a plain tar"
if "$S" -q flatten --no-compress "$L" "$W/n.tar.gz" 2>/dev/null && cmp -s "$W/n.tar.gz" "$W/plain.tar"; then ok "$what"
else nok "$what" "not the plain tar"; fi

# ---- stdin: the blobs are spooled to a private temp dir that is gone afterwards
what="flatten - (stdin, gzip layers) equals flatten of the file and leaves no spool"
mkdir -p "$W/tmp"
if ! out=$(TMPDIR=$W/tmp "$S" -q flatten - "$W/stdin.tar" < "$W/img/links-gz.tar" 2>&1); then nok "$what" "$out"
elif ! "$S" -q flatten "$W/img/links-gz.tar" "$W/file.tar" 2>/dev/null || ! cmp -s "$W/stdin.tar" "$W/file.tar"; then nok "$what" "outputs differ"
elif [ -n "$(ls -A "$W/tmp")" ]; then nok "$what" "left: $(ls -A "$W/tmp")"
else ok "$what"; fi
what="flatten of a compressed archive (docker-classic.tar.gz) equals that of the plain one"
if "$S" -q flatten "$FIX/docker-classic.tar.gz" "$W/cz.tar" 2>/dev/null && "$S" -q flatten "$FIX/docker-classic.tar" "$W/cp.tar" 2>/dev/null &&
	cmp -s "$W/cz.tar" "$W/cp.tar"; then ok "$what"; else nok "$what" "outputs differ or failed"; fi

# ---- hostile layers: refused, exit 4, nothing beside the target but the canary
while IFS=$'\t' read -r f why; do
	for cmd in unpack flatten; do
		d=$W/evil/$cmd-$f; mkdir -p "$d"; echo canary > "$d/canary"
		tgt=$d/out; [ $cmd = flatten ] && tgt=$d/out.tar
		out=$("$S" $cmd "$W/img/$f" "$tgt" 2>&1); rc=$?
		left=$(cd "$d" && ls -A | grep -vx canary)
		if [ $rc -ne 4 ]; then nok "$cmd refuses $why ($f)" "exit $rc, want 4: $out"
		elif [ "$(cat "$d/canary")" != canary ] || [ -n "$left" ] || [ -e "$W/escaped" ] || [ -e /escaped-abs ]; then
			nok "$cmd refuses $why ($f)" "something was written: ${left:-outside}"
		elif [ "$(echo "$out" | wc -l)" -ne 1 ]; then nok "$cmd refuses $why ($f)" "want one line: $out"
		else ok "$cmd refuses $why ($f): $out"; fi
	done
done < <(python3 -c 'import json,sys; [print("%s\t%s" % kv) for kv in json.load(open(sys.argv[1]))["evil"].items()]' "$W/img/index.json")

if [ -n "$RW" ] && [ -f "$RW/scalibr-escape-rootfs-HOSTILE.tar" ]; then
	for cmd in unpack flatten; do
		what="$cmd refuses scalibr-escape-rootfs-HOSTILE.tar (a rootfs with /escape/ paths): exit 4, nothing written"
		d=$W/evil/$cmd-scalibr; mkdir -p "$d"
		out=$("$S" $cmd "$RW/scalibr-escape-rootfs-HOSTILE.tar" "$d/out" 2>&1); rc=$?
		if [ $rc -eq 4 ] && [ -z "$(ls -A "$d")" ] && [ ! -e /escape/poc.txt ]; then ok "$what"; else nok "$what" "exit $rc: $out"; fi
	done
fi

# ---- bad sources and destinations leave nothing
what="unpack of an image whose diff_id does not match: exit 1, nothing written"
mkdir -p "$W/bad"
out=$("$S" unpack "$W/img/analyze/broken-diffid.tar" "$W/bad/u" 2>&1); rc=$?
if [ $rc -eq 1 ] && [ -z "$(ls -A "$W/bad")" ]; then ok "$what"; else nok "$what" "exit $rc, left $(ls -A "$W/bad"): $out"; fi
for cmd in flatten unpack; do
	what="$cmd of gzip layers whose diff_id does not match (found while decoding): exit 1, nothing written"
	out=$("$S" $cmd "$W/img/bad-diffid-gz.tar" "$W/bad/o" 2>&1); rc=$?
	if [ $rc -eq 1 ] && [ -z "$(ls -A "$W/bad")" ] && echo "$out" | grep -q 'diff_id mismatch'; then ok "$what"
	else nok "$what" "exit $rc, left $(ls -A "$W/bad"): $out"; fi
done
what="flatten of a truncated archive: non-zero exit, nothing written"
out=$("$S" flatten "$W/img/analyze/broken-truncated.tar" "$W/bad/f.tar" 2>&1); rc=$?
if [ $rc -ne 0 ] && [ -z "$(ls -A "$W/bad")" ]; then ok "$what ($rc)"; else nok "$what" "exit $rc, left $(ls -A "$W/bad"): $out"; fi
what="unpack into a non-empty directory: exit 2, the directory untouched"
mkdir -p "$W/full" && echo keep > "$W/full/keep"
out=$("$S" unpack "$L" "$W/full" 2>&1); rc=$?
if [ $rc -eq 2 ] && [ "$(ls -A "$W/full")" = keep ]; then ok "$what"; else nok "$what" "exit $rc: $out"; fi
what="unpack into an existing empty directory works"
mkdir -p "$W/empty"
if out=$("$S" -q unpack "$L" "$W/empty" 2>&1) && [ -f "$W/empty/etc/passwd" ]; then ok "$what"; else nok "$what" "$out"; fi
what="flatten over an existing file replaces it only when complete"
echo old > "$W/over.tar"
"$S" -q flatten "$W/img/analyze/broken-diffid.tar" "$W/over.tar" 2>/dev/null
if [ "$(cat "$W/over.tar")" = old ] && "$S" -q flatten "$L" "$W/over.tar" 2>/dev/null && cmp -s "$W/over.tar" "$W/plain.tar" &&
	[ -z "$(ls "$W" | grep strata-tmp)" ]; then ok "$what"; else nok "$what" "old content lost or temp left"; fi
what="flatten of an index without --platform/--image says how to pick"
out=$("$S" flatten "$FIX/oci-multiarch" "$W/bad/m.tar" 2>&1); rc=$?
if [ $rc -eq 2 ] && echo "$out" | grep -q -- '--platform'; then ok "$what"; else nok "$what" "exit $rc: $out"; fi
what="flatten --platform linux/arm64 picks that platform"
if "$S" -q flatten --platform linux/arm64 "$FIX/oci-multiarch" "$W/arm.tar" 2>/dev/null &&
	"$S" -q flatten --image @1 "$FIX/oci-multiarch" "$W/at1.tar" 2>/dev/null; then
	if cmp -s "$W/arm.tar" "$W/at1.tar" || "$S" -q flatten --image @0 "$FIX/oci-multiarch" - 2>/dev/null | cmp -s - "$W/arm.tar"; then ok "$what"
	else nok "$what" "the arm64 tar is neither image"; fi
else nok "$what" "failed"; fi

# ---- SIGTERM in the middle: nothing left, an existing destination unchanged
python3 "$TOP/tests/convert/mkimage.py" "$W/big.tar" --tag strata-test/big:1 --layer random:48M:1 --layer text:16M:2 > /dev/null 2>&1
what="SIGTERM during flatten --xz: exit non-zero, the old destination kept, no temp file"
echo old > "$W/sig.tar.xz"
"$S" -q flatten "$W/big.tar" "$W/sig.tar.xz" 2>/dev/null & pid=$!
sleep 0.5; kill -TERM $pid 2>/dev/null; wait $pid; rc=$?
if [ $rc -ne 0 ] && [ "$(cat "$W/sig.tar.xz")" = old ] && ! ls "$W" | grep -q strata-tmp; then ok "$what (exit $rc)"
else nok "$what" "exit $rc, $(ls "$W" | grep strata-tmp)"; fi
what="SIGINT during unpack of 100,000 files: exit non-zero, no directory, no temp directory"
mkdir -p "$W/sig"
"$S" -q unpack "$W/img/analyze/many.tar.gz" "$W/sig/u" 2>/dev/null & pid=$!
sleep 1; kill -INT $pid 2>/dev/null; wait $pid; rc=$?
if [ $rc -ne 0 ] && [ -z "$(ls -A "$W/sig")" ]; then ok "$what (exit $rc)"; else nok "$what" "exit $rc, left: $(ls -A "$W/sig")"; fi

# ---- without root: ownership not applied, devices skipped with a warning, the rest equal
if [ $ROOT = 1 ] && have setpriv; then
	what="unpack as an unprivileged user: works, device nodes skipped with a warning"
	mkdir -p "$W/user" && chown 65534:65534 "$W/user"
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups env TMPDIR="$W/user" "$S" unpack "$L" "$W/user/u" 2>&1); rc=$?
	if [ $rc -ne 0 ]; then nok "$what" "exit $rc: $out"
	elif ! echo "$out" | grep -q "device node 'dev/null' skipped"; then nok "$what" "no warning: $out"
	elif ! diff <($TREE "$W/t/$(grep -n $'^links.tar\t' "$list" | cut -d: -f1)/u" | grep -v '^dev/null') <($TREE "$W/user/u") > "$W/user.diff"; then
		nok "$what" "trees differ: $(head -5 "$W/user.diff")"
	else ok "$what"; fi
else
	skip "unpack as an unprivileged user" "needs root and setpriv to switch users"
fi
