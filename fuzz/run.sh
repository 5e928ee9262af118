#!/bin/sh
# fuzz/run.sh SECONDS [FIXTURES] - run every libFuzzer target for SECONDS each, one at a time.
#
#   make fuzz FUZZ_TIME=300                 builds build-fuzz/fuzz-* and runs this
#   sh fuzz/run.sh 10 tests/out/fixtures    the smoke run of `make check` (suite "fuzz")
#
# Seeds are made at run time (fixtures/gen.py, then fuzz/seeds.py, plus
# ../shared/realworld when present).  Without FIXTURES everything lives under
# build-fuzz/: seeds/, the corpus/TARGET/ that each run grows for the next,
# crashes in artifacts/, logs/, and the figures of every run appended to
# runs.tsv.  With FIXTURES (the smoke run) it all goes to a fresh
# tests/out/fuzz/ instead.  Prints one line per target,
# "ok - fuzz TARGET: N runs, no crash" or "not ok - ...", or "skip - ..."
# when clang is missing.  FUZZ_TARGETS picks targets (default: all ten).
# The targets' temp files (the convert and unpack targets' outputs, spill
# files) go to $work/tmp, removed after each target.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
secs=${1:-300}
fixtures=${2:-}
targets=${FUZZ_TARGETS:-"archive json ref layer decode merge eco convert unpack dir"}
realworld=${STRATA_REALWORLD:-$top/../shared/realworld}
out=build-fuzz

if ! command -v "${FUZZ_CC:-clang}" >/dev/null 2>&1; then
	echo "skip - fuzz: ${FUZZ_CC:-clang} not found (Debian package clang)"
	exit 0
fi
mkdir -p "$out"
if ! make --no-print-directory fuzz-build > "$out/build.log" 2>&1; then
	echo "not ok - fuzz: the fuzz targets do not build (see $out/build.log)"
	exit 0
fi
if [ -z "$fixtures" ]; then
	work=$out
	fixtures=$work/fixtures
	python3 fixtures/gen.py "$fixtures" > "$work/gen.log" 2>&1 ||
		{ echo "not ok - fuzz: fixtures/gen.py failed (see $work/gen.log)"; exit 0; }
else
	work=tests/out/fuzz
	rm -rf "$work"
	mkdir -p "$work"
fi
rm -rf "$work/seeds"
[ -d "$realworld" ] || realworld=
python3 fuzz/seeds.py "$work/seeds" "$fixtures" $realworld > "$work/seeds.log" 2>&1 ||
	{ echo "not ok - fuzz: fuzz/seeds.py failed (see $work/seeds.log)"; exit 0; }
mkdir -p "$work/artifacts" "$work/logs"
for t in $targets; do
	mkdir -p "$work/corpus/$t"
	log=$work/logs/$t.log
	# Big inputs only slow mutation down; a layer, a compressed stream or a
	# document set shows its bugs in 64 KiB (longer seeds are cut there).
	seeds=$work/seeds/$t
	case $t in
	archive|dir) maxlen=1048576 ;;  # dir: a tar of a directory tree, as archive's (fuzz/dir.c)
	convert|unpack) maxlen=1048576; seeds=$work/seeds/archive ;;  # whole archives, as archive
	ref) maxlen=4096 ;;
	*) maxlen=65536 ;;
	esac
	dict=
	[ -f "fuzz/$t.dict" ] && dict=-dict=fuzz/$t.dict
	case $t in convert|unpack|dir) dict=-dict=fuzz/archive.dict ;; esac
	start=$(date +%s)
	rm -rf "$work/tmp" && mkdir -p "$work/tmp"
	# One process per target (no -jobs/-fork): never two fuzzers at once on this machine.
	TMPDIR=$work/tmp ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"$out/fuzz-$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2560 -max_len=$maxlen \
		-print_final_stats=1 $dict -artifact_prefix="$work/artifacts/$t-" "$work/corpus/$t" "$seeds" > "$log" 2>&1
	rc=$?
	rm -rf "$work/tmp"
	wall=$(( $(date +%s) - start ))
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	runs=${runs:-0}
	if [ "$rc" -eq 0 ]; then
		echo "ok - fuzz $t: $runs runs, no crash"
		res=ok
	else
		art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
		what=$(grep -m 1 -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" | cut -c 1-160)
		echo "not ok - fuzz $t: exit $rc after $runs runs: ${what:-see $log} (input ${art:-none})"
		res="exit $rc: ${what:-?} ${art:-}"
	fi
	printf '%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$t" "$wall" "$runs" "$res" >> "$work/runs.tsv"
done
exit 0
