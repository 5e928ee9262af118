#!/bin/sh
# tests/run-all.sh - the whole suite, as `make check` runs it:
#   unit tests, CLI golden tests, real-world archives, fixtures and the
#   malformed corpus, flatten/unpack, interop with the real tools, a short run
#   of every fuzz target (fuzz/run.sh, about 10 s each: STRATA_FUZZ_SECONDS);
#   then unit, CLI, real-world, malformed and flatten again with the
#   AddressSanitizer+UBSan build; then fault injection (tests/fault), with both
#   builds; then CLI and malformed under valgrind memcheck (tests/valgrind.sh;
#   STRATA_SKIP_VALGRIND=1 leaves it out).
# Every check prints one line `ok - ...`, `not ok - ...` or `skip - ...`;
# the run ends with `N passed, N failed` and fails when any check failed.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
out=tests/out
rm -rf "$out"
mkdir -p "$out"
log="$out/results.txt"
: > "$log"
realworld=${STRATA_REALWORLD:-$top/../shared/realworld}

suite() {  # suite NAME CMD...: run one suite, keep its lines
	name=$1
	shift
	echo "== $name" >&2
	"$@" > "$out/$name.log" 2> "$out/$name.err"
	rc=$?
	grep -E '^(ok|not ok|skip) - ' "$out/$name.log" | tee -a "$log" | grep -E '^not ok' >&2
	if ! grep -qE '^(ok|not ok|skip) - ' "$out/$name.log"; then
		echo "not ok - suite $name ran no test (exit $rc; see $out/$name.err)" | tee -a "$log" >&2
	fi
}

fixtures="$out/fixtures"
python3 fixtures/gen.py "$fixtures" > "$out/gen.log" 2>&1 || echo "not ok - fixtures generator failed (see $out/gen.log)" | tee -a "$log"

run_with() {  # run_with BUILD_DIR LABEL
	bin=$1/strata
	suite "unit$2" "$1/unit"
	suite "cli$2" sh tests/cli/run.sh "$bin" "$fixtures"
	suite "completion$2" sh tests/cli/completion.sh "$bin"
	if [ -d "$realworld" ]; then
		suite "realworld$2" python3 tests/realworld/run.py "$bin" "$realworld"
	else
		echo "skip - realworld$2: $realworld not present" >> "$log"
	fi
	suite "malformed$2" bash tests/malformed/run.sh "$bin" "$fixtures"
	suite "flatten$2" bash tests/flatten/run.sh "$top/$bin" "$fixtures" "$out/flatten$2" "$out/interop" "$realworld"
	suite "adversarial-tar$2" bash tests/adversarial/tar.sh "$bin" "$out/adversarial-tar$2"
	suite "adversarial-formats$2" bash tests/adversarial/formats.sh "$top/$bin" "$out/adversarial$2"
	suite "adversarial-cost$2" bash tests/adversarial/cost.sh "$top/$bin" "$out/adversarial-cost$2"
	suite "audit$2" sh tests/audit/run.sh "$top/$bin" "$out/audit$2" "$fixtures"
	suite "sbom$2" sh -c "python3 tests/sbom/make.py '$out/sbom$2' > '$out/sbom-make$2.log' 2>&1 || echo 'not ok - sbom images could not be made (see $out/sbom-make$2.log)'; sh tests/sbom/run.sh '$top/$bin' '$out/sbom$2'"
	suite "sbom-eco$2" sh tests/sbom/eco.sh "$top/$bin" "$out/sbom-eco$2"
	suite "bundle$2" bash tests/bundle/run.sh "$top/$bin" "$out/bundle$2" "$fixtures"
	suite "pieces$2" bash tests/bundle/pieces.sh "$top/$bin" "$out/pieces$2" "$fixtures"
	suite "bundle-delta$2" bash tests/bundle/delta.sh "$top/$bin" "$out/bundle-delta$2" "$fixtures"
	suite "airgap$2" bash tests/bundle/airgap.sh "$top/$bin" "$out/airgap$2"
	suite "registry$2" bash tests/registry/run.sh "$top/$bin" "$out/registry$2" "$fixtures"
	suite "stores$2" bash tests/stores/run.sh "$top/$bin" "$out/stores$2" "$fixtures"
	suite "layers$2" env STRATA_REALWORLD="$realworld" STRATA_INTEROP="$out/interop" bash tests/layers/run.sh "$top/$bin" "$out/layers$2" "$fixtures"
}

suite lint sh tests/deps-lint.sh
suite manpage sh tests/cli/manpage.sh build/strata strata.1
suite schemas python3 tests/cli/schemas.py
if [ "${STRATA_SKIP_INTEROP:-0}" != 1 ]; then
	# archives written by the real tools (read by the interop, convert and flatten suites)
	bash tests/interop/make-archives.sh "$out/interop" > "$out/interop-make.log" 2>&1 ||
		echo "not ok - interop archives could not be made (see $out/interop-make.log)" | tee -a "$log"
fi
run_with build ""
suite analyze sh -c "python3 tests/analyze/make.py '$out/analyze' > '$out/analyze-make.log' 2>&1 || echo 'not ok - analyze images could not be made (see $out/analyze-make.log)'; python3 tests/analyze/run.py '$top/build/strata' '$out/analyze'; bash tests/analyze/html.sh '$top/build/strata' '$out/analyze'"
suite memory python3 tests/analyze/memory.py "$top/build/strata" "$out/memory"
if [ "${STRATA_SKIP_INTEROP:-0}" != 1 ]; then
	suite interop bash tests/interop/run.sh "$top/build/strata" "$out/interop"
	suite convert bash tests/convert/run.sh "$top/build/strata" "$fixtures" "$out" "$out/interop"
	suite names bash tests/names/run.sh "$top/build/strata" "$out/names" "$fixtures" "$out/interop"
	suite docker bash tests/docker/run.sh "$top/build/strata" "$out/docker" "$fixtures"
fi
# arm64: a cross build run under qemu-aarch64, when one can be made here (tests/repro/arm64.sh)
arm64=$(sh tests/repro/arm64.sh "$out/arm64" 2>&1)
case $arm64 in
STRATA_AARCH64_BIN=*)
	STRATA_AARCH64_BIN=$(echo "$arm64" | sed -n 's/^STRATA_AARCH64_BIN=//p')
	STRATA_AARCH64_LIBS=$(echo "$arm64" | sed -n 's/^STRATA_AARCH64_LIBS=//p')
	export STRATA_AARCH64_BIN STRATA_AARCH64_LIBS ;;
*) export STRATA_AARCH64_SKIP="$arm64" ;;
esac
suite repro sh tests/repro/run.sh "$top/build/strata" "$out/repro" "$fixtures"
suite fuzz sh fuzz/run.sh "${STRATA_FUZZ_SECONDS:-10}" "$fixtures"
asan_bin=
if [ "${STRATA_SKIP_ASAN:-0}" != 1 ]; then
	if make --no-print-directory asan > "$out/asan-build.log" 2>&1; then
		asan_bin=$top/build-asan/strata
		STRATA_TEST_VLIMIT_KB=unlimited ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
			run_with build-asan "-asan"
	else
		echo "not ok - asan build failed (see $out/asan-build.log)" | tee -a "$log"
	fi
fi
suite fault bash tests/fault/run.sh "$top/build/strata" "$fixtures" "$out" $asan_bin
if [ "${STRATA_SKIP_VALGRIND:-0}" != 1 ]; then
	if make --no-print-directory BUILD=build-valgrind CFLAGS='-O1 -g' build-valgrind/strata > "$out/valgrind-build.log" 2>&1; then
		suite valgrind sh tests/valgrind.sh "$top/build-valgrind/strata" "$out" "$fixtures"
	else
		echo "not ok - valgrind build failed (see $out/valgrind-build.log)" | tee -a "$log"
	fi
fi
passed=$(grep -c '^ok - ' "$log")
failed=$(grep -c '^not ok - ' "$log")
skipped=$(grep -c '^skip - ' "$log")
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
