#!/bin/sh
# tests/repro/run.sh BIN OUTDIR [FIXTURES] - reproducible compression, for real:
# every compression strata writes (convert --gzip at each level 1-9, --zstd,
# --zstd=1; flatten to .tar.gz, .tar.zst, .tar.xz) gives the same bytes with
# other thread counts and on other CPUs: natively with --threads 1 (the
# reference), 2 and 4, and under qemu-x86_64 (Debian's qemu-user) as a
# Nehalem (SSE4.2, no AVX), a Haswell (AVX2, no AVX-512) and a plain qemu64
# (SSE2 only), and a cross-built arm64 strata under qemu-aarch64 (arm64.sh), each
# with its own thread count.  The image (mkimage.py) has a
# ~10 MiB layer: several gzip blocks and libzstd jobs, noise and zeros.
# FIXTURES (fixtures/gen.py's output), when given, adds docker-classic.tar.
# The big layer's multi-member gzip is also read back by gzip -d and skopeo.
# A CPU model qemu cannot run is skipped with its reason.
set -u
bin=$1
out=$2
fixtures=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$out"
mkdir -p "$out"
trap 'rm -rf "$out/w"' EXIT
case $bin in /*) ;; *) bin=$(pwd)/$bin ;; esac
fail=0
ok() { echo "ok - repro: $*"; }
nok() { echo "not ok - repro: $*"; fail=1; }

python3 "$here/mkimage.py" "$out/img.tar" || { nok "cannot make the test image"; exit 1; }
imgs="$out/img.tar"
[ -n "$fixtures" ] && [ -f "$fixtures/docker-classic.tar" ] && imgs="$imgs $fixtures/docker-classic.tar"

VARIANTS="gzip=1 gzip=2 gzip=3 gzip=4 gzip=5 gzip=6 gzip=7 gzip=8 gzip=9 gzip zstd zstd=1 flat.tar.gz flat.tar.zst flat.tar.xz"

# sig RUNNER THREADS IMG VARIANT: one line naming the bytes written (the
# layout's blob digests: layers, config, manifest; or the flat file's sha256)
sig() {
	w="$out/w"
	rm -rf "$w"
	mkdir -p "$w"
	case $4 in
	flat.*)
		$1 "$bin" -q flatten --threads "$2" "$3" "$w/$4" > "$w/log" 2>&1 || { echo "FAILED: $(head -c 300 "$w/log")"; return; }
		sha256sum < "$w/$4" | cut -c1-64 ;;
	*)
		$1 "$bin" -q convert --threads "$2" "--$4" "$3" "oci:$w/oci:t" > "$w/log" 2>&1 || { echo "FAILED: $(head -c 300 "$w/log")"; return; }
		ls "$w/oci/blobs/sha256" | sort | tr '\n' ' ' ;;
	esac
}

for img in $imgs; do
	base=$(basename "$img")
	vs=$VARIANTS
	[ "$img" = "$out/img.tar" ] || vs="gzip zstd"  # the small fixture: the defaults only
	for v in $vs; do
		sig "" 1 "$img" "$v" > "$out/ref.$base.$v"
		if grep -q FAILED "$out/ref.$base.$v"; then
			nok "$base --$v native --threads 1 $(cat "$out/ref.$base.$v")"
		fi
	done
done

# The big layer is a multi-member gzip (one member a 1 MiB block): the readers
# the layers go to take it whole.
mm="$out/mm"
rm -rf "$mm" "$out/mm-dir"
if "$bin" -q convert --gzip "$out/img.tar" "oci:$mm:t" 2> "$out/mm.err"; then
	python3 - "$mm" > "$out/mm.txt" <<'PY'
import glob, json, os, sys
blobs = glob.glob(os.path.join(sys.argv[1], "blobs/sha256/*"))
for f in blobs:
    try:
        diff_ids = json.load(open(f))["rootfs"]["diff_ids"]
    except Exception:
        pass
for f in blobs:
    d = open(f, "rb").read()
    if d[:2] == b"\x1f\x8b":
        print(f, d.count(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"))
print("diff_ids", " ".join(x.split(":")[1] for x in diff_ids))
PY
	want=$(grep '^diff_ids' "$out/mm.txt" | cut -d' ' -f2- | tr ' ' '\n' | sort | tr '\n' ' ')
	members=$(grep -v '^diff_ids' "$out/mm.txt" | awk '$2 > m { m = $2 } END { print m + 0 }')
	if [ "$members" -ge 5 ]; then ok "the big layer is $members gzip members"; else nok "the big layer has $members gzip members, want >= 5"; fi
	got=$(grep -v '^diff_ids' "$out/mm.txt" | while read -r f n; do gzip -dc "$f" | sha256sum | cut -c1-64; done | sort | tr '\n' ' ')
	if [ "$got" = "$want" ]; then ok "gzip -dc of each layer gives its diff_id"; else nok "gzip -dc: $got, diff_ids $want"; fi
	if command -v skopeo > /dev/null 2>&1; then
		skopeo --insecure-policy copy -q --dest-decompress "oci:$mm:t" "dir:$out/mm-dir" > "$out/mm-skopeo.log" 2>&1
		got=$(ls "$out/mm-dir" 2>/dev/null | grep -E '^[0-9a-f]{64}$' | grep -v -F "$(ls "$mm/blobs/sha256")" | sort | tr '\n' ' ')
		if [ "$got" = "$want" ]; then ok "skopeo copy --dest-decompress (Go's gzip reader) gives blobs named by the diff_ids"
		else nok "skopeo copy --dest-decompress: blobs $got, diff_ids $want ($(head -c 200 "$out/mm-skopeo.log"))"; fi
	else
		echo "skip - repro: skopeo not installed (reads the multi-member layer with Go's gzip)"
	fi
else
	nok "convert --gzip of the test image: $(head -c 300 "$out/mm.err")"
fi

# run LABEL RUNNER THREADS: compare every variant with the reference
run() {
	for img in $imgs; do
		base=$(basename "$img")
		vs=$VARIANTS
		[ "$img" = "$out/img.tar" ] || vs="gzip zstd"
		for v in $vs; do
			got=$(sig "$2" "$3" "$img" "$v")
			want=$(cat "$out/ref.$base.$v")
			if [ "$got" = "$want" ]; then
				ok "$base --$v: $1 --threads $3 writes the same bytes as native --threads 1"
			else
				nok "$base --$v: $1 --threads $3 differs from native --threads 1"
				echo "#   want: $want"
				echo "#   got:  $got"
			fi
		done
	done
}

run native "" 2
run native "" 4

# qemu-user: each CPU model, when it can run the binary at all
for model in Nehalem:1 Haswell:3 qemu64:2; do
	cpu=${model%:*}
	t=${model#*:}
	if ! command -v qemu-x86_64 > /dev/null 2>&1; then
		echo "skip - repro: qemu-x86_64 -cpu $cpu: qemu-x86_64 not installed (Debian package qemu-user)"
		continue
	fi
	if ! qemu-x86_64 -cpu "$cpu" "$bin" --version > "$out/qemu-$cpu.log" 2>&1; then
		echo "skip - repro: qemu-x86_64 -cpu $cpu cannot run strata: $(grep -v warning "$out/qemu-$cpu.log" | head -1)"
		continue
	fi
	run "qemu-x86_64 -cpu $cpu" "qemu-x86_64 -cpu $cpu" "$t"
done

# arm64: only with a cross-built binary and its libraries (STRATA_AARCH64_BIN;
# STRATA_AARCH64_SYSROOT for qemu-aarch64 -L, default / where Debian's
# multiarch arm64 libraries are installed; STRATA_AARCH64_LIBS, a directory
# of more of them, for libraries that cannot be installed beside the native
# ones, as libisal)
if [ -n "${STRATA_AARCH64_BIN:-}" ] && command -v qemu-aarch64 > /dev/null 2>&1; then
	qa="qemu-aarch64 -L ${STRATA_AARCH64_SYSROOT:-/}${STRATA_AARCH64_LIBS:+ -E LD_LIBRARY_PATH=$STRATA_AARCH64_LIBS}"
	bin_x86=$bin
	bin=$STRATA_AARCH64_BIN
	# emulated arm64 is slow: the default of each compression and the extremes
	all=$VARIANTS
	VARIANTS="gzip gzip=1 gzip=9 zstd flat.tar.xz"
	run "qemu-aarch64 (the cross-built arm64 strata)" "$qa" 2
	VARIANTS=$all
	bin=$bin_x86
else
	echo "skip - repro: arm64: ${STRATA_AARCH64_SKIP:-no cross-built strata (tests/repro/arm64.sh makes one; then set STRATA_AARCH64_BIN and STRATA_AARCH64_LIBS as it prints)}"
fi
exit $fail
