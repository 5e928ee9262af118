#!/bin/sh
# tests/repro/arm64.sh WORKDIR - a cross-built arm64 strata for tests/repro (issue 16: the same
# compressed bytes on arm64).  Prints, on success, the two lines
#   STRATA_AARCH64_BIN=PATH
#   STRATA_AARCH64_LIBS=DIR
# and otherwise one line "REASON" (why there is no arm64 binary); exits 0 either way.
# As root on Debian it installs what is missing: the arm64 architecture (dpkg
# --add-architecture), gcc-aarch64-linux-gnu and the arm64 -dev packages that install beside the
# native ones (apt-get --no-remove: nothing native is ever replaced).  libisal's cannot: its arm64
# package replaces the native one, so its two arm64 packages are unpacked into WORKDIR/isal
# instead, found at run time through LD_LIBRARY_PATH.  The binary is built in build-arm64/.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
W=$1
mkdir -p "$W"
W=$(cd "$W" && pwd)
say() { echo "$*"; exit 0; }
PCDIR=/usr/lib/aarch64-linux-gnu/pkgconfig
PKGS="gcc-aarch64-linux-gnu libc6-dev-arm64-cross libarchive-dev:arm64 zlib1g-dev:arm64 liblzma-dev:arm64
	libzstd-dev:arm64 libssl-dev:arm64 libcjson-dev:arm64 libdeflate-dev:arm64 libsqlite3-dev:arm64"

command -v qemu-aarch64 > /dev/null 2>&1 || say "qemu-aarch64 not installed (Debian package qemu-user)"
if ! command -v aarch64-linux-gnu-gcc > /dev/null 2>&1 || [ ! -f "$PCDIR/libarchive.pc" ] || [ ! -f "$PCDIR/sqlite3.pc" ]; then
	command -v apt-get > /dev/null 2>&1 && [ "$(id -u)" = 0 ] ||
		say "no arm64 cross toolchain and libraries (as root: $0 installs them)"
	export DEBIAN_FRONTEND=noninteractive
	if ! dpkg --print-foreign-architectures | grep -qx arm64; then
		dpkg --add-architecture arm64
		if ! apt-get update -qq > "$W/apt-update.log" 2>&1; then
			dpkg --remove-architecture arm64 2> /dev/null
			apt-get update -qq > /dev/null 2>&1
			say "apt-get update with arm64 failed (see $W/apt-update.log)"
		fi
	fi
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends --no-remove $PKGS > "$W/apt-install.log" 2>&1 ||
		say "the arm64 cross packages did not install (see $W/apt-install.log)"
fi
ISAL=$W/isal/usr/lib/aarch64-linux-gnu
if [ ! -f "$ISAL/libisal.so" ]; then
	rm -rf "$W/isal" "$W/deb" && mkdir -p "$W/deb"
	(cd "$W/deb" && apt-get download libisal2:arm64 libisal-dev:arm64) > "$W/isal.log" 2>&1 ||
		say "cannot download libisal's arm64 packages (see $W/isal.log)"
	for d in "$W"/deb/*.deb; do dpkg-deb -x "$d" "$W/isal" || say "cannot unpack $d"; done
fi
PKG_CONFIG_LIBDIR=$PCDIR:/usr/share/pkgconfig make -s -C "$top" -j2 BUILD=build-arm64 CC=aarch64-linux-gnu-gcc \
	LDFLAGS="-L$ISAL" build-arm64/strata > "$W/build.log" 2>&1 || say "the arm64 build failed (see $W/build.log)"
qemu-aarch64 -L / -E LD_LIBRARY_PATH="$ISAL" "$top/build-arm64/strata" --version > "$W/run.log" 2>&1 ||
	say "qemu-aarch64 cannot run the arm64 build: $(head -c 200 "$W/run.log")"
echo "STRATA_AARCH64_BIN=$top/build-arm64/strata"
echo "STRATA_AARCH64_LIBS=$ISAL"
