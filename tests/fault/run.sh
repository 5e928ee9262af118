#!/bin/bash
# tests/fault/run.sh STRATA FIXTURES OUTDIR [ASAN_STRATA] - fault injection (README "Reliability").
#
#   STRATA       the build to test; ASAN_STRATA, when given, also runs the allocation failures
#   FIXTURES     output dir of `python3 fixtures/gen.py DIR`
#   OUTDIR       work dir; this script owns OUTDIR/fault (wiped at start, kept for a look)
#
# 1. every allocation of a run failed in turn (tests/fault/inject.c, LD_PRELOAD): inspect, verify,
#    analyze, diff, sbom, convert (new and existing destinations) and import;
# 2. reads failing with EIO part way through a source (the same shim);
# 3. a full disk: outputs on a small tmpfs, in a private mount namespace (root only);
# 4. RLIMIT_FSIZE (ulimit -f): writes fail with EFBIG, SIGXFSZ must not kill the run;
# 5. SIGINT and SIGTERM in the middle of conversions;
# 6. the resource bounds on a decompression bomb, with their figures.
# Every failing run must exit with the right code (3: I/O, 4: malformed) and one line on stderr,
# without a crash, an abort or a sanitizer report, and leave no temp file, no partial output and an
# existing destination as it was.  Prints "ok - fault ...", "not ok - fault ...", "skip - fault ...";
# exits 0 (2 on usage).
#   FAULT_ALLOC_RUNS  runs per allocation case with STRATA (default 100, spread evenly over all the
#                     allocations; "all" fails every one in turn)
#   FAULT_ASAN_RUNS   the same with ASAN_STRATA (default 25; "all")
#   FAULT_ONLY        an extended regex: only the cases whose kind and name match ("alloc convert",
#                     "read", "disk", "fsize", "signal", "bounds")
set -u
HERE=$(cd "$(dirname "$0")" && pwd -P)
if [ $# -lt 3 ]; then echo "usage: $0 STRATA FIXTURES OUTDIR [ASAN_STRATA]" >&2; exit 2; fi
STRATA=$1 FIX=$2 OUTDIR=$3 ASAN=${4:-}

ok()   { echo "ok - fault $1"; }
nok()  { local r=${2//$'\n'/ ⏎ }; echo "not ok - fault $1: ${r:0:900}"; }
skip() { echo "skip - fault $1: $2"; }
have() { command -v "$1" >/dev/null 2>&1; }
only() { [ -z "${FAULT_ONLY:-}" ] || [[ "$1" =~ $FAULT_ONLY ]]; }

# As root, run again in a private mount namespace, where tmpfs mounts are ours alone.
if [ -z "${STRATA_FAULT_INNER:-}" ]; then
	case $STRATA in */*) STRATA=$(cd "$(dirname "$STRATA")" && pwd -P)/$(basename "$STRATA") ;; esac
	case $ASAN in */*) ASAN=$(cd "$(dirname "$ASAN")" 2>/dev/null && pwd -P)/$(basename "$ASAN") ;; esac
	[ -d "$FIX" ] && FIX=$(cd "$FIX" && pwd -P)
	mkdir -p "$OUTDIR" && OUTDIR=$(cd "$OUTDIR" && pwd -P)
	if [ "$(id -u)" = 0 ] && unshare -m --propagation private true 2>/dev/null; then
		STRATA_FAULT_INNER=ns exec unshare -m --propagation private bash "$0" "$STRATA" "$FIX" "$OUTDIR" "$ASAN"
	fi
	export STRATA_FAULT_INNER=none
fi

if [ ! -x "$STRATA" ]; then nok "strata binary" "not executable: $STRATA"; exit 0; fi
if [ ! -f "$FIX/fixtures.tsv" ]; then nok "fixtures" "no $FIX/fixtures.tsv"; exit 0; fi
[ -n "$ASAN" ] && [ ! -x "$ASAN" ] && ASAN=
W=$OUTDIR/fault
rm -rf "$W"
mkdir -p "$W/log" "$W/a" "$W/src"
T=$(mktemp -d "${TMPDIR:-/tmp}/strata-fault.XXXXXX")
trap 'rm -rf "$T"' EXIT
# private copies: the binaries may be rebuilt while the checks run
cp "$STRATA" "$T/strata" && STRATA=$T/strata
[ -n "$ASAN" ] && cp "$ASAN" "$T/strata-asan" && ASAN=$T/strata-asan
export TMPDIR=$T  # the stdout spool goes here too: checked for leftovers
START=$(date +%s.%N)

# no_tmp DIR... - 0 when no temp file of strata is left; TMPS lists them
no_tmp() {
	TMPS=$(find "$@" \( -name '*.strata-tmp*' -o -name 'strata-spool-*' \) 2>/dev/null | head -n 5)
	[ -z "$TMPS" ]
}
# tree DIR_OR_FILE - one line per file: path and sha256 (what "unchanged" compares)
tree() {
	if [ -d "$1" ]; then (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum; find . | LC_ALL=C sort)
	elif [ -e "$1" ]; then sha256sum < "$1"
	else echo absent; fi
}
# one_line FILE - 0 when FILE is exactly one line "strata: error: ..." without a sanitizer report;
# progress lines ("strata: VERB SRC: ..., N MiB/s", every 5 s of a run on a loaded machine) aside
one_line() {
	grep -vE '^strata: [a-z]+ .*/s$' "$1" > "$1.lines"
	[ "$(wc -l < "$1.lines")" = 1 ] && grep -q '^strata: error: ' "$1.lines" && ! grep -qE 'Sanitizer|runtime error' "$1"
}
secs() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

SHIM=
if have cc; then
	if cc -shared -fPIC -O1 -g -fno-omit-frame-pointer -o "$T/inject.so" "$HERE/inject.c" -ldl 2> "$W/log/shim.err"; then SHIM=$T/inject.so
	else nok "shim" "cannot build tests/fault/inject.c: $(head -c 300 "$W/log/shim.err")"; fi
fi

# ============================================================ 1. allocation failures
# A case is a command line with @W@ for its own work dir, run in FIXTURES.  DEST names what it writes
# (or -), PRE how to make an existing destination first (or -).
#   run_alloc BIN N CASE_DIR CMD: one run with the Nth allocation failing; prints "N rc verdict"
run_alloc() {
	local bin=$1 n=$2 d=$3 cmd=$4 dest=$5 pre=$6 base=$7 rc=0 v
	rm -rf "$d"; mkdir -p "$d/tmp"
	[ "$pre" != - ] && cp -a "$pre" "$d/${dest##*/}"
	cmd=${cmd//@W@/$d}
	(cd "$FIX" && TMPDIR=$d/tmp LD_PRELOAD=$SHIM STRATA_FAIL_SKIP=libcrypto:libzstd STRATA_FAIL_ALLOC=$n \
		ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=halt_on_error=1 \
		timeout 60 $bin $cmd > "$d/out" 2> "$d/err") || rc=$?
	local target=${dest//@W@/$d}
	if grep -qE 'Sanitizer|runtime error' "$d/err"; then v="sanitizer report: $(grep -m1 -E 'Sanitizer|runtime error' "$d/err")"
	elif [ $rc -ge 124 ]; then v="crashed or timed out (exit $rc)"
	elif ! no_tmp "$d"; then v="temp files left: $TMPS"
	elif [ $rc = 0 ]; then
		if [ "$dest" = - ]; then cmp -s "$d/out" "$base" && v=same || v="exit 0 but the output differs"
		else [ "$(tree "$target")" = "$(cat "$base")" ] && v=same || v="exit 0 but $target differs"; fi
	elif [ $rc != 3 ]; then v="exit $rc: $(head -c 200 "$d/err")"
	elif ! one_line "$d/err"; then v="not one line: $(head -c 300 "$d/err" | tr '\n' '|')"
	elif [ "$dest" != - ] && [ "$pre" = - ] && [ -e "$target" ]; then v="$target exists after a failure"
	elif [ "$dest" != - ] && [ "$pre" != - ] && [ "$(tree "$target")" != "$(tree "$pre")" ]; then v="the existing $target changed"
	elif grep -qE 'out of memory|Cannot allocate memory' "$d/err"; then v=failed
	else v=failed-other; fi
	echo "$n $rc $v"
	case $v in same|failed) ;; failed-other) cp "$d/err" "$W/log/alloc-other-$(basename "$(dirname "$d")")-$n.err" ;;
	*) cp "$d/err" "$W/log/alloc-$(basename "$(dirname "$d")")-$n.err" ;; esac
	rm -rf "$d"
}

# alloc_case NAME DEST PRE CMD - count the allocations of a clean run, then fail each in turn
alloc_case() {
	local name=$1 dest=$2 pre=$3 cmd=$4 what k base d t0 bin step first
	only "alloc $name" || return 0
	what="alloc $name: every allocation failing in turn ends in exit 3 with one line, nothing left behind"
	[ -n "$SHIM" ] || { skip "$what" "no C compiler for the shim"; return; }
	t0=$(date +%s.%N)
	d=$W/a/$name; mkdir -p "$d"
	base=$W/a/$name.base
	rm -rf "$d/clean"; mkdir -p "$d/clean"
	[ "$pre" != - ] && cp -a "$pre" "$d/clean/${dest##*/}"
	(cd "$FIX" && LD_PRELOAD=$SHIM STRATA_FAIL_SKIP=libcrypto:libzstd STRATA_ALLOC_COUNT=$d/count \
		$STRATA ${cmd//@W@/$d/clean} > "$d/clean.out" 2> "$d/clean.err") ||
		{ nok "$what" "the clean run failed: $(head -c 300 "$d/clean.err")"; return; }
	k=$(cat "$d/count")
	if [ "$dest" = - ]; then cp "$d/clean.out" "$base"; else tree "${dest//@W@/$d/clean}" > "$base"; fi
	for bin in "$STRATA" ${ASAN:+"$ASAN"}; do
		# FAULT_ALLOC_RUNS (FAULT_ASAN_RUNS) values of N, spread evenly over 1..K+1
		local want=${FAULT_ALLOC_RUNS:-100}
		[ "$bin" = "$ASAN" ] && want=${FAULT_ASAN_RUNS:-25}
		step=1; first=1
		if [ "$want" != all ] && [ "$k" -ge "$want" ]; then
			step=$(( (k + want - 1) / want )); first=$(( (k % step) + 1 ))
		fi
		: > "$d/results"
		for w in 0 1; do
			(n=$((first + w * step)); while [ $n -le $((k + 1)) ]; do
				run_alloc "$bin" $n "$d/w$w" "$cmd" "$dest" "$pre" "$base"
				n=$((n + 2 * step))
			done >> "$d/results.$w") &
		done
		wait
		cat "$d/results".[01] > "$d/results"; rm -f "$d/results".[01]
		local bad runs failed same label
		local other
		runs=$(wc -l < "$d/results"); failed=$(grep -c ' failed$' "$d/results"); same=$(grep -c ' same$' "$d/results")
		other=$(grep -c ' failed-other$' "$d/results")
		bad=$(grep -vE ' (failed|failed-other|same)$' "$d/results" | sort -n | head -n 3 | tr '\n' ';')
		label=$([ "$bin" = "$ASAN" ] && echo " (ASan+UBSan)")
		[ $step -gt 1 ] && label="$label (every ${step}th)"
		if [ -n "$bad" ]; then nok "$what$label" "$(grep -vcE ' (failed|failed-other|same)$' "$d/results") of $runs runs wrong: $bad (see $W/log/alloc-$name-*.err)"
		elif [ "$runs" -lt 1 ]; then nok "$what$label" "no run"
		else ok "$what$label: $k allocations; $runs runs: $failed exit 3 'out of memory', $other exit 3 with another reason, $same unaffected (same output) [$(secs "$t0") s]"; fi
		t0=$(date +%s.%N)
	done
	rm -rf "$d/clean"
}

# an existing OCI layout and docker-archive to convert into
mkdir -p "$W/pre"
"$STRATA" -q import "$FIX/rootfs.tar" "oci:$W/pre/layout:old" 2> "$W/log/pre.err" &&
	"$STRATA" -q convert "$FIX/docker-multi.tar" "docker-archive:$W/pre/existing.tar" 2>> "$W/log/pre.err" &&
	"$STRATA" -q convert "$FIX/docker-multi.tar" "registry:$W/pre/reg" 2>> "$W/log/pre.err" &&
	mkdir -p "$W/pre/set" && "$STRATA" -q convert "$FIX/docker-multi.tar" "oci-archive:$W/pre/set/b.tar" \
		--split 8K 2>> "$W/log/pre.err" &&
	mkdir -p "$W/pre/whole" && "$STRATA" -q convert "$FIX/docker-multi.tar" "oci-archive:$W/pre/whole/b.tar" \
		--manifest 2>> "$W/log/pre.err" &&
	"$STRATA" -q convert "$FIX/docker-multi.tar" "oci:$W/pre/whole/l" --manifest 2>> "$W/log/pre.err" ||
	nok "existing destinations" "$(head -c 300 "$W/log/pre.err")"
# a rootfs of 40,000 files: more content digests than analyze/files.h keeps in memory (DIGESTS_MEM)
python3 -c '
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as tf:
    for i in range(40000):
        b = b"file %d\n" % i
        ti = tarfile.TarInfo("d%02d/f%05d" % (i % 50, i)); ti.size = len(b); tf.addfile(ti, io.BytesIO(b))
' "$W/pre/many.tar" || nok "many files" "the 40,000-file rootfs could not be made"

alloc_case inspect - - "inspect --json docker-classic.tar"
alloc_case verify-gz - - "verify docker-classic.tar.gz"
alloc_case verify-oci-zstd - - "verify --json oci-zstd"
alloc_case analyze-html @W@/r.html - "analyze --format html -o @W@/r.html docker-multi.tar"
alloc_case analyze-files @W@/r.json - "analyze --json --files -o @W@/r.json docker-multi.tar"
alloc_case diff - - "diff --json oci-gzip docker-classic.tar"
alloc_case convert-new-oci @W@/new - "convert --gzip --threads 2 docker-classic.tar oci:@W@/new"
alloc_case convert-existing-oci @W@/layout "$W/pre/layout" "convert oci-multiarch oci:@W@/layout"
alloc_case convert-existing-docker @W@/existing.tar "$W/pre/existing.tar" "convert --zstd docker-v25.tar docker-archive:@W@/existing.tar"
alloc_case convert-stdout - - "convert docker-skopeo.tar oci-archive:-"
alloc_case import @W@/imp.tar - "import rootfs.tar.gz oci-archive:@W@/imp.tar --tag base:1 --cmd sh"
alloc_case flatten @W@/flat.tar.gz - "flatten --gzip --threads 2 docker-classic.tar @W@/flat.tar.gz"
alloc_case unpack @W@/root - "unpack oci-zstd @W@/root"
alloc_case sbom @W@/s.json - "sbom -o @W@/s.json docker-classic.tar"
alloc_case convert-squash @W@/sq - "convert --squash docker-archive:docker-multi.tar:strata/multi:b oci:@W@/sq"
alloc_case convert-new-registry @W@/reg - "convert docker-multi.tar registry:@W@/reg"
alloc_case convert-existing-registry @W@/reg "$W/pre/reg" "convert oci-multiarch registry:@W@/reg/multi/arch:1"
alloc_case convert-replace-registry @W@/reg "$W/pre/reg" "convert --replace docker-classic.tar registry:@W@/reg/strata/multi:a"
alloc_case verify-registry - - "verify --json registry:$W/pre/reg"
alloc_case verify-pieces - - "verify $W/pre/set/b.tar.manifest.json"
alloc_case convert-from-pieces @W@/fromp - "convert $W/pre/set/b.tar.000 oci:@W@/fromp"
alloc_case verify-archive-manifest - - "verify $W/pre/whole/b.tar.manifest.json"
alloc_case verify-layout-manifest - - "verify $W/pre/whole/l.manifest.json"

# ============================================================ 2. read errors
# read_case LABEL MATCH EXPECT_DEST PRE ARGS... - fail reads of files whose path contains MATCH after
# 0, 1, 511, 4096 bytes and at eighths of all a clean run reads of them (not later: flatten's second
# read of an uncompressed layer stops at its end blocks); each run must exit 3 saying "Input/output error"
read_case() {
	local label=$1 match=$2 dest=$3 pre=$4 size; shift 4
	only "read $label" || return 0
	local what="read errors: $label: a read failing with EIO part way ends in exit 3 with one line, nothing left behind"
	local n rc bad= runs=0 t0 d=$W/r
	[ -n "$SHIM" ] || { skip "$what" "no C compiler for the shim"; return; }
	t0=$(date +%s.%N)
	rm -rf "$d"; mkdir -p "$d"
	[ "$pre" != - ] && cp -a "$pre" "$d/${dest##*/}"
	(cd "$FIX" && LD_PRELOAD=$SHIM STRATA_FAIL_READ=999999999999 STRATA_FAIL_READ_PATH=$match STRATA_READ_COUNT=$T/reads \
		"$STRATA" "${@//@W@/$d}" < "${READ_STDIN:-/dev/null}" > /dev/null 2> "$d/err") ||
		{ nok "$what" "the clean run failed: $(head -c 300 "$d/err")"; return; }
	size=$(cat "$T/reads")
	for n in 0 1 511 4096 $((size / 8)) $((size / 4)) $((size * 3 / 8)) $((size / 2)) $((size * 5 / 8)) \
		$((size * 3 / 4)) $((size * 7 / 8)); do
		rm -rf "$d"; mkdir -p "$d"
		[ "$pre" != - ] && cp -a "$pre" "$d/${dest##*/}"
		rc=0
		(cd "$FIX" && LD_PRELOAD=$SHIM STRATA_FAIL_READ=$n STRATA_FAIL_READ_PATH=$match \
			timeout 60 "$STRATA" "${@//@W@/$d}" < "${READ_STDIN:-/dev/null}" > "$d/out" 2> "$d/err") || rc=$?
		runs=$((runs + 1))
		local target=${dest//@W@/$d}
		if [ $rc != 3 ] || ! one_line "$d/err" || ! grep -q 'Input/output error' "$d/err"; then
			bad="$bad after $n bytes: exit $rc: $(head -c 200 "$d/err" | tr '\n' '|');"
		elif ! no_tmp "$d" "$T"; then bad="$bad after $n bytes: temp files left: $TMPS;"
		elif [ "$dest" != - ] && [ "$pre" = - ] && [ -e "$target" ]; then bad="$bad after $n bytes: $target exists;"
		elif [ "$dest" != - ] && [ "$pre" != - ] && [ "$(tree "$target")" != "$(tree "$pre")" ]; then bad="$bad after $n bytes: $target changed;"
		fi
	done
	if [ -n "$bad" ]; then nok "$what" "$bad"
	else ok "$what: $runs runs, e.g. '$(cut -c1-150 "$d/err")' [$(secs "$t0") s]"; fi
	rm -rf "$d"
}
read_case "verify a plain tar" docker-classic.tar - - verify docker-classic.tar
read_case "verify a gzip-compressed tar" docker-classic.tar.gz - - verify docker-classic.tar.gz
READ_STDIN=$FIX/docker-classic.tar.zst read_case "verify zstd from stdin" docker-classic.tar.zst - - verify -
read_case "analyze an OCI layout (blob files)" /oci-zstd/blobs/ - - analyze oci-zstd
read_case "convert --keep (kernel copy) -> new OCI layout" docker-classic.tar @W@/new - \
	convert docker-classic.tar oci:@W@/new
read_case "convert --gzip -> existing docker-archive" docker-v25.tar @W@/existing.tar "$W/pre/existing.tar" \
	convert --gzip docker-v25.tar docker-archive:@W@/existing.tar
read_case "import -> oci-archive" rootfs.tar.xz @W@/imp.tar - import rootfs.tar.xz oci-archive:@W@/imp.tar
read_case "flatten (a failure in either read)" docker-classic.tar @W@/flat.tar - flatten docker-classic.tar @W@/flat.tar
read_case "verify a piece set (the reading thread)" /set/b.tar.0 - - verify "$W/pre/set/b.tar.manifest.json"
read_case "unpack an OCI layout (either read)" /oci-zstd/blobs/ @W@/root - unpack oci-zstd @W@/root
read_case "analyze --files of 40,000 files (their digests read back from the temp file)" strata-digests @W@/r.json - \
	analyze --format json --files -o @W@/r.json "$W/pre/many.tar"
read_case "diff of 40,000 files (their digests compared)" strata-digests - - diff "$W/pre/many.tar" "$W/pre/many.tar"
read_case "analyze of 40,000 files (the entries read back from the spill file)" strata-spill @W@/r.json - \
	analyze --format json -o @W@/r.json "$W/pre/many.tar"
read_case "analyze --files of 40,000 files (the lists read back from the spill file)" strata-spill - - \
	analyze --files "$W/pre/many.tar"
read_case "sbom of 40,000 files (the entries read back from the spill file)" strata-spill @W@/s.json - \
	sbom -o @W@/s.json "$W/pre/many.tar"
read_case "analyze --format html of 40,000 files (the tree's changes and nodes read back from spill files)" \
	strata-spill @W@/r.html - analyze --format html -o @W@/r.html "$W/pre/many.tar"
read_case "diff of 40,000 files added (entries, final entries and changes read back from spill files)" strata-spill \
	- - diff --json docker-classic.tar "$W/pre/many.tar"

# ============================================================ sources for the write and signal cases
python3 "$HERE/../convert/mkimage.py" "$W/src/mid.tar" --tag strata/mid:1 --layer random:600K:1 \
	--layer text:900K:2 > "$W/log/mkimage.log" 2>&1 || nok "sources" "mkimage.py: $(head -c 300 "$W/log/mkimage.log")"
"$STRATA" -q convert --gzip "$W/src/mid.tar" "docker-archive:$W/src/mid-gz.tar" 2>> "$W/log/mkimage.log"
"$STRATA" -q analyze --format html -o "$W/src/mid.html" "$W/src/mid.tar" 2>> "$W/log/mkimage.log"
"$STRATA" -q unpack "$W/src/mid.tar" "$W/src/mid.root" 2>> "$W/log/mkimage.log"; tree "$W/src/mid.root" > "$W/src/mid.root.tree"
python3 "$HERE/../convert/mkimage.py" "$W/src/big.tar" --tag strata/big:1 --layer random:48M:3 >> "$W/log/mkimage.log" 2>&1

# write_case LABEL MAKE_FULL KIND DEST PRE ARGS... - run with the output where MAKE_FULL makes it fill up;
# exit 0 with an output that verifies, or exit 3 with one line saying WHY, and nothing left behind
# write_check D RC WHY DEST PRE: the verdict of one run ("" when right)
write_check() {
	local d=$1 rc=$2 why=$3 target=$4 pre=$5 out=$6 tdir=$T
	[ "$target" != - ] && tdir=$(dirname "$target")
	if [ $rc = 0 ]; then
		[ "$target" = - ] && target=$out
		case $target in
		*.html) cmp -s "$target" "$W/src/mid.html" || echo "exit 0 but $target is not the report" ;;
		*/root) [ "$(tree "$target")" = "$(cat "$W/src/mid.root.tree")" ] || echo "exit 0 but $target is not the tree" ;;
		*/reg) "$STRATA" -q verify "registry:$target" > /dev/null 2> "$d/verify.err" ||
			echo "exit 0 but $target does not verify: $(head -c 150 "$d/verify.err")" ;;
		*) "$STRATA" -q verify "$target" > /dev/null 2> "$d/verify.err" ||
			echo "exit 0 but $target does not verify: $(head -c 150 "$d/verify.err")" ;;
		esac
	elif [ $rc -ge 124 ]; then echo "killed or crashed (exit $rc)"
	elif [ $rc != 3 ] || ! one_line "$d/err" || ! grep -q "$why" "$d/err"; then echo "exit $rc: $(head -c 200 "$d/err" | tr '\n' '|')"
	elif ! no_tmp "$tdir" "$T"; then echo "temp files left: $TMPS"
	elif [ "$target" != - ] && [ "$pre" = - ] && [ -e "$target" ]; then echo "$target exists"
	elif [ "$target" != - ] && [ "$pre" != - ] && [ "$(tree "$target")" != "$(cat "$d/pre.tree")" ]; then echo "$target changed"
	fi
}

# ============================================================ 3. a full disk (tmpfs)
FULL=$W/full
disk_case() {
	local label=$1 dest=$2 pre=$3; shift 3
	only "disk $label" || return 0
	local what="full disk: $label on tmpfs of 8 KiB to 4 MiB: ENOSPC at every stage ends in exit 3 with one line, nothing left behind"
	local kb rc v bad= runs=0 fails=0 oks=0 t0 d=$FULL
	t0=$(date +%s.%N)
	for kb in 8 16 32 64 128 256 384 512 768 1024 1280 1536 1792 2048 3072 4096; do
		mkdir -p "$d"
		mount -t tmpfs -o size=${kb}k strata-full "$d" || { skip "$what" "cannot mount a tmpfs"; return; }
		# an existing destination that does not even fit: no case at this size
		if [ "$pre" != - ] && ! cp -a "$pre" "$d/${dest##*/}" 2>/dev/null; then umount "$d"; continue; fi
		rm -rf "$T/chk"; mkdir -p "$T/chk"
		tree "${dest//@W@/$d}" > "$T/chk/pre.tree"
		rc=0
		(cd "$FIX" && TMPDIR=$d timeout 60 "$STRATA" "${@//@W@/$d}" < "${DISK_STDIN:-/dev/null}" > "$T/out" 2> "$T/chk/err") ||
			rc=$?
		v=$(write_check "$T/chk" $rc "No space left on device" "${dest//@W@/$d}" "$pre" "$T/out")
		[ $rc != 0 ] && ! no_tmp "$d" && v="${v:+$v; }temp files left: $TMPS"
		runs=$((runs + 1)); [ $rc = 0 ] && oks=$((oks + 1)) || fails=$((fails + 1))
		[ -n "$v" ] && bad="$bad ${kb}K: $v;"
		[ $rc = 3 ] && cp "$T/chk/err" "$W/log/disk-last.err"
		umount "$d"
	done
	if [ -n "$bad" ]; then nok "$what" "$bad"
	elif [ $fails = 0 ]; then nok "$what" "no size made it fail"
	else ok "$what: $runs sizes, $fails exit 3, $oks fit and verify; e.g. '$(cut -c1-160 "$W/log/disk-last.err")' [$(secs "$t0") s]"; fi
}
# stdout itself on the full disk: the shell opens the file, strata must notice its writes fail
disk_stdout() {
	only "disk stdout" || return 0
	local what c rc bad=
	what="full disk: stdout of inspect, verify --json, analyze and convert to a full tmpfs fails with exit 3"
	mkdir -p "$FULL"; mount -t tmpfs -o size=4k strata-full "$FULL"; bad=
	for c in "inspect --json docker-classic.tar" "verify --json docker-multi.tar" "analyze docker-classic.tar" \
		"diff docker-classic.tar oci-gzip" "convert docker-classic.tar oci-archive:-"; do
		head -c 4096 /dev/zero > "$FULL/fill" 2>/dev/null  # no byte left
		rc=0; (cd "$FIX" && $STRATA $c > "$FULL/out" 2> "$T/err") || rc=$?
		if [ $rc != 3 ] || ! one_line "$T/err"; then bad="$bad $c: exit $rc: $(head -c 150 "$T/err" | tr '\n' '|');"; fi
		rm -f "$FULL/out" "$FULL/fill"
	done
	umount "$FULL"
	if [ -n "$bad" ]; then nok "$what" "$bad"; else ok "$what"; fi
}
if [ "$STRATA_FAULT_INNER" = ns ]; then
	disk_case "mid.tar -> new OCI layout (--keep)" @W@/o - convert "$W/src/mid.tar" oci:@W@/o
	disk_case "mid.tar -> new OCI layout (--gzip)" @W@/o - convert --gzip "$W/src/mid.tar" oci:@W@/o
	disk_case "mid-gz.tar -> oci-archive (--decompress)" @W@/o.tar - convert --decompress "$W/src/mid-gz.tar" oci-archive:@W@/o.tar
	disk_case "mid.tar -> docker-archive (--zstd)" @W@/d.tar - convert --zstd "$W/src/mid.tar" docker-archive:@W@/d.tar
	disk_case "mid.tar -> existing OCI layout (--keep)" @W@/layout "$W/pre/layout" convert "$W/src/mid.tar" oci:@W@/layout:mid
	disk_case "mid.tar -> existing registry tree" @W@/reg "$W/pre/reg" convert "$W/src/mid.tar" registry:@W@/reg/mid:1
	# (--keep from a file spools nothing: the layers are copied from the source once named)
	disk_case "mid.tar -> stdout --gzip (spooled in TMPDIR on the full disk)" - - convert --gzip "$W/src/mid.tar" oci-archive:-
	DISK_STDIN=$W/src/mid-gz.tar disk_case "flatten --gzip of mid-gz.tar on stdin (layers spooled in TMPDIR on the full disk)" \
		@W@/f.tar.gz - flatten --gzip - @W@/f.tar.gz
	disk_case "unpack mid.tar" @W@/root - unpack "$W/src/mid.tar" @W@/root
	disk_stdout
else
	skip "full disk" "needs root and unshare -m for a private tmpfs"
fi

# ============================================================ 4. RLIMIT_FSIZE
fsize_case() {
	local label=$1 dest=$2; shift 2
	only "fsize $label" || return 0
	local what="ulimit -f: $label: EFBIG at every stage ends in exit 3 with one line (SIGXFSZ ignored), nothing left behind"
	local kb rc v bad= runs=0 fails=0 d=$W/fs t0
	t0=$(date +%s.%N)
	for kb in 0 1 4 16 64 256 512 1024 2048 4096; do
		rm -rf "$d"; mkdir -p "$d/chk"; : > "$d/chk/pre.tree"
		echo absent > "$d/chk/pre.tree"
		# stderr through a pipe: the limit would stop the message too
		(cd "$FIX" && ulimit -f $kb && exec timeout 60 "$STRATA" "${@//@W@/$d}" 2>&1 > "$d/out") | cat > "$d/chk/err"
		rc=${PIPESTATUS[0]}
		v=$(write_check "$d/chk" $rc "File too large" "${dest//@W@/$d}" - "$d/out")
		runs=$((runs + 1)); [ $rc != 0 ] && fails=$((fails + 1))
		[ $rc = 153 ] && v="killed by SIGXFSZ"
		[ -n "$v" ] && bad="$bad ${kb}K: $v;"
		[ $rc = 3 ] && cp "$d/chk/err" "$W/log/fsize-last.err"
	done
	if [ -n "$bad" ]; then nok "$what" "$bad"
	elif [ $fails = 0 ]; then nok "$what" "no limit made it fail"
	else ok "$what: $runs limits, $fails exit 3; e.g. '$(cut -c1-150 "$W/log/fsize-last.err")' [$(secs "$t0") s]"; fi
	rm -rf "$d"
}
fsize_case "mid.tar -> oci-archive (--keep, kernel copy)" @W@/o.tar convert "$W/src/mid.tar" oci-archive:@W@/o.tar
fsize_case "mid.tar -> docker-archive (--gzip)" @W@/d.tar convert --gzip "$W/src/mid.tar" docker-archive:@W@/d.tar
fsize_case "mid-gz.tar -> new OCI layout (--decompress)" @W@/o convert --decompress "$W/src/mid-gz.tar" oci:@W@/o
fsize_case "analyze -o report.html" @W@/r.html analyze --format html -o @W@/r.html "$W/src/mid.tar"
fsize_case "flatten --zstd" @W@/f.tar.zst flatten --zstd "$W/src/mid.tar" @W@/f.tar.zst
fsize_case "unpack" @W@/root unpack "$W/src/mid.tar" @W@/root

# ============================================================ 5. signals
# sig_case SIG LABEL DEST PRE ARGS... - the signal 0.4 s into a conversion (or flatten) of big.tar
# (48 MiB of random bytes, zstd -19 or xz takes seconds): exit 3 "interrupted", no output, the
# existing one unchanged
sig_case() {
	local sig=$1 label=$2 dest=$3 pre=$4; shift 4
	only "signal $label" || return 0
	local what="SIG$sig 0.4 s into a conversion $label: exit 3 'interrupted', nothing left behind" d=$W/sig pid rc=0 v t0
	rm -rf "$d"; mkdir -p "$d/chk"
	[ "$pre" != - ] && cp -a "$pre" "$d/${dest##*/}"
	tree "${dest//@W@/$d}" > "$d/chk/pre.tree"
	t0=$(date +%s.%N)
	"$STRATA" "${@//@W@/$d}" > "$d/out" 2> "$d/chk/err" &
	pid=$!
	sleep 0.4
	kill -"$sig" $pid 2>/dev/null
	wait $pid || rc=$?
	if [ $rc = 0 ]; then nok "$what" "finished before the signal"; return; fi
	v=$(write_check "$d/chk" $rc interrupted "${dest//@W@/$d}" "$pre" "$d/out")
	if [ -n "$v" ]; then nok "$what" "$v"
	else ok "$what [stopped $(secs "$t0") s after the start]"; fi
	rm -rf "$d"
}
if [ -f "$W/src/big.tar" ]; then
	for sig in INT TERM; do
		sig_case $sig "-> new OCI layout" @W@/o - convert --zstd=19 "$W/src/big.tar" oci:@W@/o
		sig_case $sig "-> oci-archive" @W@/o.tar - convert --zstd=19 "$W/src/big.tar" oci-archive:@W@/o.tar
		sig_case $sig "-> docker-archive" @W@/d.tar - convert --zstd=19 "$W/src/big.tar" docker-archive:@W@/d.tar
		sig_case $sig "-> existing OCI layout" @W@/layout "$W/pre/layout" convert --zstd=19 "$W/src/big.tar" oci:@W@/layout:big
		sig_case $sig "-> existing docker-archive" @W@/existing.tar "$W/pre/existing.tar" convert --zstd=19 "$W/src/big.tar" docker-archive:@W@/existing.tar
		sig_case $sig "-> new registry tree" @W@/reg - convert --zstd=19 "$W/src/big.tar" registry:@W@/reg/big:1
		sig_case $sig "-> existing registry tree" @W@/reg "$W/pre/reg" convert --zstd=19 "$W/src/big.tar" registry:@W@/reg/big:1
		sig_case $sig "(flatten --xz)" @W@/f.tar.xz - flatten --xz "$W/src/big.tar" @W@/f.tar.xz
	done
else
	skip "signals" "no source image (see $W/log/mkimage.log)"
fi
rm -f "$W/src/big.tar"

# ============================================================ 6. bounds: the 1 GiB gzip bomb
bomb=$FIX/malformed/gzip-bomb.tar
what="bounds: the 1 GiB gzip bomb stops as a likely decompression bomb (exit 4, --max-ratio named)"
if ! only bounds; then :
elif [ -f "$bomb" ] && have /usr/bin/time; then
	rc=0; /usr/bin/time -f '%e %M' -o "$W/log/bomb.time" "$STRATA" verify "$bomb" > /dev/null 2> "$W/log/bomb.err" || rc=$?
	read -r secs_ rss < <(tail -n 1 "$W/log/bomb.time")
	if [ $rc = 4 ] && grep -q 'likely a decompression bomb' "$W/log/bomb.err" && grep -q -- '--max-ratio' "$W/log/bomb.err"; then
		ok "$what: $secs_ s, max RSS $rss KiB; $(grep -o '[0-9]* bytes decoded from [0-9]*' "$W/log/bomb.err")"
	else nok "$what" "exit $rc: $(head -c 300 "$W/log/bomb.err")"; fi
	what="bounds: with --max-ratio 2000 the bomb streams to its end in bounded memory and fails on its diff_id (exit 1)"
	rc=0; /usr/bin/time -f '%e %M' -o "$W/log/bomb2.time" "$STRATA" verify --max-ratio 2000 "$bomb" > /dev/null 2> "$W/log/bomb2.err" || rc=$?
	read -r secs_ rss < <(tail -n 1 "$W/log/bomb2.time")
	if [ $rc = 1 ] && grep -q 'diff_id mismatch' "$W/log/bomb2.err" && [ "$rss" -lt 65536 ]; then ok "$what: $secs_ s, max RSS $rss KiB"
	else nok "$what" "exit $rc, max RSS $rss KiB: $(head -c 300 "$W/log/bomb2.err")"; fi
	what="bounds: --max-size 256M stops the bomb at 256 MiB decoded (exit 4, --max-size named)"
	rc=0; /usr/bin/time -f '%e %M' -o "$W/log/bomb3.time" "$STRATA" verify --max-ratio 2000 --max-size 256M "$bomb" > /dev/null 2> "$W/log/bomb3.err" || rc=$?
	read -r secs_ rss < <(tail -n 1 "$W/log/bomb3.time")
	if [ $rc = 4 ] && grep -q -- '--max-size' "$W/log/bomb3.err"; then ok "$what: $secs_ s, max RSS $rss KiB"
	else nok "$what" "exit $rc: $(head -c 300 "$W/log/bomb3.err")"; fi
else
	skip "bounds" "no $bomb or no /usr/bin/time"
fi

echo "# fault: $(secs "$START") s" >&2
exit 0
