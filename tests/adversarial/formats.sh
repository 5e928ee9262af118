#!/bin/bash
# tests/adversarial/formats.sh STRATA OUTDIR - hostile inputs that steer detection, cost,
# number syntax, digest algorithms, destinations, names, temp-tree removal (issue 11) and OCI
# layout directories whose blobs are not regular files.
#
# Inputs come from tests/adversarial/formats.py, made at test time.  Every command runs in a
# fresh directory under OUTDIR/work, under `timeout 60` and `ulimit -v` (STRATA_TEST_VLIMIT_KB,
# default 1048576, or `unlimited`), and must end with the expected exit code, one error line on
# stderr naming what is wrong, and nothing left behind but what the case expects.
# Prints `ok - adversarial-formats NAME`, `not ok - ...: reason` or `skip - ...`.
set -u
if [ $# -ne 2 ]; then
	echo "usage: $0 STRATA OUTDIR" >&2
	exit 2
fi
S=$(realpath "$1")
OUT=$2
VL=${STRATA_TEST_VLIMIT_KB:-1048576}
HERE=$(cd "$(dirname "$0")" && pwd)
rm -rf "$OUT"
mkdir -p "$OUT/work"
OUT=$(realpath "$OUT")
IN=$OUT/in
if ! python3 "$HERE/formats.py" "$IN"; then
	echo "not ok - adversarial-formats generate: formats.py failed"
	exit 1
fi
pass=0
fail=0
skips=0

ok() { echo "ok - adversarial-formats $1"; pass=$((pass + 1)); }
notok() { echo "not ok - adversarial-formats $1: $2"; fail=$((fail + 1)); }
skip() { echo "skip - adversarial-formats $1: $2"; skips=$((skips + 1)); }

# A fresh working directory for case $1, with IMG (a docker-archive) and ROOTFS in it.
W=
fresh() {
	W=$OUT/work/$1
	rm -rf "$W"
	mkdir -p "$W"
	cp "$IN/readme-first-ok.tar" "$W/img.tar"
	cp "$IN/plain-rootfs.tar" "$W/rootfs.tar"
}

snapshot() {
	(cd "$W" && find . -printf '%p %y %s %i\n' | LC_ALL=C sort)
}

# run NAME WANT_RC STDIN_MODE STDOUT_MODE -- ARGS...
#   STDIN_MODE: none | pipe:FILE (through cat, not seekable) | file:FILE
#               | zeros:FILE (FILE then zeros without end, through a pipe)
#   STDOUT_MODE: file (captured) | pipe (through cat, captured)
# Sets RC, OUTF, ERRF; runs in $W.
RC=0
OUTF=
ERRF=
run() {
	local name=$1 inmode=$3 outmode=$4
	shift 5
	OUTF=$OUT/$name.out
	ERRF=$OUT/$name.err
	local lim="ulimit -v $VL"
	(
		cd "$W" || exit 99
		ulimit -c 0
		eval "$lim" || exit 98
		case $inmode in
		none) in=/dev/null ;;
		file:*) in=${inmode#file:} ;;
		pipe:*) in=${inmode#pipe:} ;;
		zeros:*) in=${inmode#zeros:} ;;
		esac
		if [ "${inmode%%:*}" = zeros ]; then
			cat "$in" /dev/zero 2>/dev/null | timeout -k 5 60 "$S" "$@" >"$OUTF" 2>"$ERRF"
			exit "${PIPESTATUS[1]}"
		fi
		if [ "${inmode%%:*}" = pipe ]; then
			if [ "$outmode" = pipe ]; then
				cat "$in" | timeout -k 5 60 "$S" "$@" 2>"$ERRF" | cat >"$OUTF"
				exit "${PIPESTATUS[1]}"
			fi
			cat "$in" | timeout -k 5 60 "$S" "$@" >"$OUTF" 2>"$ERRF"
			exit "${PIPESTATUS[1]}"
		fi
		if [ "$outmode" = pipe ]; then
			timeout -k 5 60 "$S" "$@" <"$in" 2>"$ERRF" | cat >"$OUTF"
			exit "${PIPESTATUS[0]}"
		fi
		timeout -k 5 60 "$S" "$@" <"$in" >"$OUTF" 2>"$ERRF"
	)
	RC=$?
}

# The error lines strata printed (usage errors add "usage:" and "Try" lines; convert ends a
# refusal with its "did not verify ... nothing was written" summary).
error_lines() {
	grep -v -e '^usage: ' -e '^Try ' -e '^strata: warning: ' -e 'did not verify (' "$ERRF" | grep -c .
}

# check NAME WANT_RC PATTERN [NEW...]: exit code, one error line matching PATTERN (for a
# non-zero code; PATTERN also searched in stdout when the error is on stdout), and the
# working directory as before plus exactly the NEW names.
BEFORE=
check() {
	local name=$1 want=$2 pat=$3
	shift 3
	local after expect n
	if [ "$RC" -eq 124 ]; then
		notok "$name" "timed out (60 s)"
		return
	fi
	if grep -q -e 'Sanitizer' -e 'runtime error:' "$ERRF"; then
		notok "$name" "sanitizer report: $(grep -m1 -e 'Sanitizer' -e 'runtime error:' "$ERRF")"
		return
	fi
	if [ "$RC" -ne "$want" ]; then
		notok "$name" "exit $RC, expected $want ($(head -c 300 "$ERRF" | tr '\n' ' '))"
		return
	fi
	if [ "$want" -ne 0 ] && [ "$want" -ne 1 ]; then
		n=$(error_lines)
		if [ "$n" -ne 1 ]; then
			notok "$name" "$n error lines, expected 1: $(head -c 300 "$ERRF" | tr '\n' ' ')"
			return
		fi
	fi
	if [ -n "$pat" ] && ! grep -q -e "$pat" "$ERRF" "$OUTF"; then
		notok "$name" "no '$pat' in the output: $(head -c 300 "$ERRF" | tr '\n' ' ')"
		return
	fi
	after=$(snapshot | awk '{print $1}')
	expect=$( (printf '%s\n' "$BEFORE" | awk '{print $1}'; for f in "$@"; do echo "./$f"; done) | LC_ALL=C sort -u)
	if [ "$after" != "$expect" ]; then
		notok "$name" "left behind or missing: $(diff <(echo "$expect") <(echo "$after") | grep '^[<>]' | tr '\n' ' ')"
		return
	fi
	ok "$name"
}

# case NAME WANT_RC PATTERN STDIN STDOUT [NEW...] -- ARGS...: fresh dir, run, check.
case_() {
	local name=$1 want=$2 pat=$3 inmode=$4 outmode=$5
	shift 5
	local new=()
	while [ "$1" != -- ]; do
		new+=("$1")
		shift
	done
	shift
	fresh "$name"
	BEFORE=$(snapshot)
	run "$name" "$want" "$inmode" "$outmode" -- "$@"
	check "$name" "$want" "$pat" "${new[@]}"
}

# ---- 1. detection: a README first must not turn an image archive into a rootfs ----
case_ detect-readme-file 1 'docker-archive, 1 image' none file -- verify "$IN/readme-first-bad-diffid.tar"
grep -q 'diff_id mismatch' "$ERRF" || notok detect-readme-file-message "the wrong diff_id is not reported"
case_ detect-readme-ok 0 ': docker-archive, 1 image, 1 layer' none file -- verify "$IN/readme-first-ok.tar"
case_ detect-readme-oci 1 ': oci-archive, 1 image' none file -- verify "$IN/readme-first-oci.tar"
case_ detect-readme-stdin-file 1 ': docker-archive, 1 image' "file:$IN/readme-first-bad-diffid.tar" file -- verify -
case_ detect-readme-stdin-pipe 4 "name what it is (docker-archive:-" "pipe:$IN/readme-first-bad-diffid.tar" file -- verify -
case_ detect-readme-stdin-named 1 ': docker-archive, 1 image' "pipe:$IN/readme-first-bad-diffid.tar" file -- verify docker-archive:-
case_ detect-rootfs-explicit 0 ': rootfs, 1 image' none file -- verify "rootfs:$IN/readme-first-bad-diffid.tar"
case_ detect-rootfs-stated-verify 0 ': rootfs, 1 image' none file -- verify "$IN/plain-rootfs.tar"
case_ detect-rootfs-stated-inspect 0 ': rootfs' none file -- inspect "$IN/plain-rootfs.tar"
case_ detect-readme-convert 1 'diff_id mismatch' none file -- convert "$IN/readme-first-bad-diffid.tar" oci-archive:out.tar

# ---- 2. cost that grows faster than the input ----
# each document is read once per index.json entry: the fan-out is one image, read cheaply
case_ cost-fanout 0 ': oci-archive, 1 image, 1 layer' none file -- verify "$IN/fanout.tar"
case_ cost-fanout-unbounded 0 ': oci-archive, 1 image, 1 layer' none file -- verify --max-descriptors 1000000000 "$IN/fanout.tar"
# and the descriptor bound still stops what goes past it
case_ cost-fanout-bound 4 'raise the limit with --max-descriptors' none file -- verify --max-descriptors 50 "$IN/fanout.tar"
case_ cost-layers-oci 4 'too many layers: 5000, over the limit of 1000 (raise it with --max-layers)' none file -- \
	verify "$IN/many-layers-oci.tar"
case_ cost-layers-docker 4 'too many layers: 5000, over the limit of 1000 (raise it with --max-layers)' none file -- \
	inspect "$IN/many-layers-docker.tar"
case_ cost-layers-raised 0 ': docker-archive, 1 image, 5000 layers' none file -- \
	verify --max-layers 5000 "$IN/many-layers-docker.tar"
case_ cost-option-usage 2 '--max-layers takes a whole number' none file -- verify --max-layers 0 "$IN/plain-rootfs.tar"

# ---- 3. sizes are plain JSON integers ----
case_ size-exponent 4 'no fraction or exponent' none file -- verify "$IN/size-exponent.tar"
case_ size-fraction 4 'no fraction or exponent' none file -- verify "$IN/size-fraction.tar"
case_ size-exponent-convert 4 'no fraction or exponent' none file -- convert "$IN/size-exponent.tar" oci:out
case_ size-plain 0 'OK (0 errors' none file -- verify "$IN/size-plain.tar"

# ---- 4. sha512 blobs: verified with sha512, never a false diff_id mismatch ----
case_ sha512-ok 0 ': oci-archive, 1 image, 1 layer, 5 blobs hashed: OK' none file -- verify "$IN/sha512-ok.tar"
case_ sha512-bad-diffid 1 'diff_id mismatch' none file -- verify "$IN/sha512-bad-diffid.tar"
case_ sha512-flatten 0 '' none file out.tar -- flatten "$IN/sha512-ok.tar" out.tar
case_ sha512-convert 4 'only sha256 blobs can be written' none file -- convert "$IN/sha512-ok.tar" docker-archive:out.tar

# ---- 5. destinations: only a regular file is ever replaced ----
name=dest-fifo
fresh $name
mkfifo "$W/fifo"
BEFORE=$(snapshot)
(cat "$W/fifo" >"$OUT/$name.fifo-read") &
reader=$!
run $name 0 none file -- flatten img.tar fifo
wait $reader
check $name 0 ''
[ -p "$W/fifo" ] || notok $name-kind "the FIFO was replaced"
tar -tf "$OUT/$name.fifo-read" | grep -q '^hello$' || notok $name-content "the FIFO did not get the tar"

if [ "$(id -u)" = 0 ]; then
	for cmd in flatten convert analyze; do
		name=dest-chardev-$cmd
		fresh $name
		mknod "$W/null" c 1 3
		BEFORE=$(snapshot)
		case $cmd in
		flatten) run $name 0 none file -- flatten img.tar null ;;
		convert) run $name 0 none file -- convert img.tar docker-archive:null ;;
		analyze) run $name 0 none file -- analyze img.tar -o null ;;
		esac
		check $name 0 ''
		[ -c "$W/null" ] || notok $name-kind "the character device was replaced"
	done
	name=dest-symlink-chardev
	fresh $name
	mknod "$W/null" c 1 3
	ln -s null "$W/lnull"
	BEFORE=$(snapshot)
	run $name 2 none file -- flatten img.tar lnull
	check $name 2 "'lnull' is a symlink to a character device"
	[ -L "$W/lnull" ] && [ -c "$W/null" ] || notok $name-kind "the symlink or the device was replaced"
else
	skip dest-chardev "not root: mknod needs it"
fi

name=dest-symlink-procfd
fresh $name
ln -s /proc/self/fd/1 "$W/lfd"
BEFORE=$(snapshot)
run $name 2 none pipe -- flatten img.tar lfd
check $name 2 "'lfd' is a symlink to a FIFO"
[ -L "$W/lfd" ] || notok $name-kind "the symlink was replaced"

name=dest-symlink-regular
fresh $name
echo old >"$W/target.tar"
ln -s target.tar "$W/link"
BEFORE=$(snapshot | grep -v target.tar)
run $name 0 none file -- flatten img.tar link
check $name 0 '' target.tar
[ -L "$W/link" ] || notok $name-kind "the symlink was replaced"
tar -tf "$W/target.tar" | grep -q '^hello$' || notok $name-content "the symlink's target did not get the tar"

name=dest-dangling-symlink
fresh $name
ln -s nowhere/x.tar "$W/link"
BEFORE=$(snapshot)
run $name 2 none file -- flatten img.tar link
check $name 2 "'link' is a symlink to nothing"

name=dest-directory
fresh $name
mkdir "$W/d"
BEFORE=$(snapshot)
run $name 2 none file -- flatten img.tar d
check $name 2 "'d' is a directory"

for c in "flatten img.tar img.tar" "flatten img.tar ./img.tar" "flatten img.tar limg" \
	"convert img.tar docker-archive:img.tar" "convert docker-archive:img.tar oci-archive:limg" \
	"import rootfs.tar docker-archive:rootfs.tar" "flatten - img.tar"; do
	name=dest-is-source-$(echo "$c" | tr -c 'a-z0-9\n' '-' | sed 's/-*$//')
	fresh "$name"
	ln -s img.tar "$W/limg"
	BEFORE=$(snapshot)
	sums=$(cd "$W" && sha256sum img.tar rootfs.tar)
	# shellcheck disable=SC2086
	run "$name" 2 "file:$W/img.tar" file -- $c
	check "$name" 2 'destination is the source'
	[ "$(cd "$W" && sha256sum img.tar rootfs.tar)" = "$sums" ] || notok "$name-content" "the source changed"
done

# ---- 6. names follow distribution's reference grammar ----
case_ name-bad-tag-convert 2 "bad image name 'Bad Tag!!:x y'" none file -- \
	convert img.tar docker-archive:out.tar --tag 'Bad Tag!!:x y'
case_ name-bad-tag-import 2 "bad image name 'team/App:1'" none file -- \
	import rootfs.tar oci-archive:out.tar --tag team/App:1
case_ name-bad-dest 2 "bad image name 'app:x y'" none file -- convert img.tar 'docker-archive:out.tar:app:x y'
case_ name-bad-tag-chars 2 "bad image name 'app:-x'" none file -- convert img.tar oci:out --tag app:-x
case_ name-good 0 '' none file out.tar -- \
	convert img.tar docker-archive:out.tar --tag registry.example.com:5000/team/app_x:v1.2-rc_3
run name-good-inspect 0 none file -- inspect out.tar
grep -q 'registry.example.com:5000/team/app_x:v1.2-rc_3' "$OUTF" && ok name-good-inspect ||
	notok name-good-inspect "the tag is not in the written archive"

# ---- 7. a temp tree deeper than the open-file limit is removed ----
name=remove-deep-tree
fresh $name
BEFORE=$(snapshot)
(ulimit -n 24 && run $name 4 none file -- unpack "rootfs:$IN/deep-bad-link.tar" tree && exit $RC)
RC=$?
OUTF=$OUT/$name.out
ERRF=$OUT/$name.err
check $name 4 "hardlink 'zlink' -> 'nothing/here'"

# ---- 8. directories not written by strata (OCI layouts, registry trees, an existing layout
# written into): only regular files are read, nothing is written through a symlink ----
# dircase NAME WANT_RC PATTERN SHELL-MUTATION [SOURCE]: a layout of img.tar in lay/, changed by
# the mutation (run in $W, $LB the layer blob's path), then SOURCE (oci:lay) verified.
dircase() {
	local name=$1 want=$2 pat=$3 mut=$4 src=${5:-oci:lay}
	fresh "$name"
	if ! (cd "$W" && "$S" -q convert img.tar oci:lay 2>/dev/null); then
		notok "$name" "the layout could not be made"
		return
	fi
	LB=
	for b in "$W"/lay/blobs/sha256/*; do
		tar -tf "$b" >/dev/null 2>&1 && LB=lay/blobs/sha256/${b##*/}
	done
	(cd "$W" && eval "$mut")
	BEFORE=$(snapshot)
	run "$name" "$want" none file -- verify "$src"
	check "$name" "$want" "$pat"
}
dircase dir-blob-fifo 4 'layer 1: not a regular file' 'rm $LB && mkfifo $LB'
dircase dir-blob-dir 4 'layer 1: not a regular file' 'rm $LB && mkdir $LB'
dircase dir-blob-symlink-out 4 'layer 1: symlink points outside the archive' 'rm $LB && ln -s /dev/zero $LB'
dircase dir-blob-symlink-fifo 4 'layer 1: symlink to a member that is not a regular file' \
	'rm $LB && mkfifo lay/fifo && ln -s ../../fifo $LB'
dircase dir-blob-symlink-in 0 'OK (0 errors' 'mkdir lay/store && mv $LB lay/store/ && ln -s ../../store/${LB##*/} $LB'
dircase dir-blobs-symlink 4 'below a symlink, which is not followed' 'mv lay/blobs blobs && ln -s ../blobs lay/blobs'
dircase dir-index-symlink 4 'index.json: not a regular file' 'mv lay/index.json ix && ln -s ../ix lay/index.json'
dircase dir-layout-fifo 4 'oci-layout: not a regular file' 'rm lay/oci-layout && mkfifo lay/oci-layout'
# refused by its size, not read: 5 GiB of zeros (sparse) would take seconds to hash
dircase dir-index-huge 4 'index.json: too large: 5368709120 bytes, over the JSON document limit' \
	'truncate -s 5G lay/index.json'
# a file over --max-size (stored) is refused by its size, before any of it is hashed
dircase dir-blob-huge 4 "blobs/sha256/b\{64\}': 107374182400 bytes stored, over the limit of 68719476736 for one blob" \
	'truncate -s 100G lay/blobs/sha256/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'
case_ tar-blob-over-max-size 4 "bytes stored, over the limit of 1024 for one blob" none file -- \
	verify --max-size 1K img.tar
# a plain rootfs is its own layer, bounded by --max-size (64G by default) as a layer is: a
# member over it refused unread, found as a rootfs or named so, and a file named rootfs: by its
# size (before: a 100 GiB member was read to its end, and the bound never applied)
hugetar() {  # a tar of one 100 GiB member, sparse: a header, a hole, the end blocks
	python3 - "$1" <<'PY'
import sys, tarfile
ti = tarfile.TarInfo("big.bin"); ti.size = 100 << 30
with open(sys.argv[1], "wb") as f:
    f.write(ti.tobuf(tarfile.GNU_FORMAT)); f.seek(512 + ti.size); f.write(b"\0" * 1024)
PY
}
for how in detected named; do
	fresh rootfs-member-huge-$how
	hugetar "$W/huge.tar"
	BEFORE=$(snapshot)
	if [ $how = detected ]; then
		run rootfs-member-huge-$how 4 none file -- verify huge.tar
		check rootfs-member-huge-$how 4 "'big.bin': 107374182400 bytes stored, over the limit of 68719476736 for one blob or layer"
	else
		run rootfs-member-huge-$how 4 none file -- verify rootfs:huge.tar
		check rootfs-member-huge-$how 4 'rootfs layer: 107374183936 bytes stored, over the limit of 68719476736 for one layer'
	fi
done
fresh rootfs-member-huge-stream  # on a pipe: the header, then zeros without end
hugetar "$W/huge.tar" && head -c 512 "$W/huge.tar" >"$W/head.bin" && rm "$W/huge.tar"
BEFORE=$(snapshot)
run rootfs-member-huge-stream 4 zeros:head.bin file -- verify --max-size 1G -
check rootfs-member-huge-stream 4 "'big.bin': 107374182400 bytes stored, over the limit of 1073741824 for one blob or layer"
# a registry tree: a link or a blob's data that is a FIFO or symlink is one error, never waited on
regcase() {
	local name=$1 pat=$2 mut=$3
	fresh "$name"
	if ! (cd "$W" && "$S" -q convert img.tar "registry:$W/reg" 2>/dev/null); then
		notok "$name" "the registry tree could not be made"
		return
	fi
	(cd "$W" && eval "$mut")
	BEFORE=$(snapshot)
	run "$name" 4 none file -- verify "registry:$W/reg"
	check "$name" 4 "$pat"
}
regcase reg-link-fifo 'current/link: bad tag link: not a regular file' \
	'l=$(find reg -path "*/current/link") && rm $l && mkfifo $l'
regcase reg-blob-fifo 'data: blob data is not a regular file' \
	'for d in $(find reg -name data); do rm $d; mkfifo $d; break; done'
regcase reg-blob-symlink 'data: blob data is a symlink, not a regular file' \
	'for d in $(find reg -name data); do rm $d; ln -s /dev/zero $d; break; done'

# an existing layout written into: never through a symlink, never waiting on a FIFO
destcase() {
	local name=$1 pat=$2 mut=$3
	fresh "$name"
	(cd "$W" && "$S" -q convert img.tar oci:lay 2>/dev/null && eval "$mut")
	BEFORE=$(snapshot)
	run "$name" 2 none file -- import rootfs.tar oci:lay:base
	check "$name" 2 "$pat"
}
destcase dest-layout-blobs-symlink "'lay/blobs' is a symlink, not a directory" 'mv lay/blobs elsewhere && ln -s ../elsewhere lay/blobs'
destcase dest-layout-sha256-symlink "'lay/blobs/sha256' is a symlink, not a directory" \
	'mv lay/blobs/sha256 elsewhere && ln -s ../../elsewhere lay/blobs/sha256'
destcase dest-layout-index-fifo "'lay/index.json' is not a regular file" 'rm lay/index.json && mkfifo lay/index.json'
destcase dest-layout-index-symlink "'lay/index.json' is a symlink, not a regular file" \
	'mv lay/index.json ix && ln -s ../ix lay/index.json'

# the same in an oci-archive: a symlink member is followed only inside the archive
dircase tar-blob-symlink-out 4 'layer 1: symlink points outside the archive' \
	'rm $LB && ln -s /etc/passwd $LB && tar -C lay -cf lay.tar .' lay.tar

# ---- 9. an rpm database made to never end: read with a bounded amount of work ----
# rpmcase NAME PATTERN SQL...: a root filesystem whose var/lib/rpm/rpmdb.sqlite the statements
# make; analyze reads the rest and warns that the database was not read (the binary before
# this ran until killed)
rpmcase() {
	local name=$1 pat=$2
	shift 2
	fresh "$name"
	mkdir -p "$W/fs/var/lib/rpm"
	if ! python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
for q in sys.argv[2:]:
    c.execute(q)
c.commit()' "$W/fs/var/lib/rpm/rpmdb.sqlite" "$@" || ! tar -C "$W/fs" -cf "$W/rpm.tar" . || ! rm -rf "$W/fs"; then
		skip "$name" "python3's sqlite3 could not make the database"
		return
	fi
	BEFORE=$(snapshot)
	run "$name" 0 none file -- analyze rootfs:rpm.tar
	check "$name" 0 "$pat"
}
rpmcase rpm-recursive-view 'rpm database not read: not an rpm sqlite database: Packages is a view, not a table' \
	"CREATE VIEW Packages AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT randomblob(100) AS blob, x AS hnum FROM c"
rpmcase rpm-generated-column 'rpm database not read: not an rpm sqlite database: Packages has generated columns' \
	"CREATE TABLE Packages(hnum INTEGER PRIMARY KEY, x, blob GENERATED ALWAYS AS (zeroblob(60000000)) VIRTUAL)" \
	"WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < 20000) INSERT INTO Packages(x) SELECT i FROM c"

echo "# adversarial-formats: $pass passed, $fail failed, $skips skipped"
[ "$fail" -eq 0 ]
