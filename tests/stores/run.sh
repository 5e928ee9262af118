#!/bin/bash
# run.sh BIN OUTDIR [FIXTURES] - docker-root: and containers-storage: against
# the real engines.  dockerd runs as a plain process on a data root under
# OUTDIR (overlay2, vfs when overlay2 cannot mount), images are built offline
# (FROM scratch + ADD + COPY, a `docker load`ed whiteout image), each is
# `docker save`d, the daemon is stopped, and then strata must export every
# image from the data root with the saved config and layer digests, change
# no byte of the store, and name what was tampered with.  The same for podman
# (--root under OUTDIR, --runroot under a short temp dir: podman refuses one over 50 characters;
# overlay, vfs fallback) with podman save.
# One line per check: ok / not ok / skip.  Always exits 0.
set -u
BIN=${1:?usage: run.sh BIN OUTDIR [FIXTURES]}
OUT=${2:?usage: run.sh BIN OUTDIR [FIXTURES]}
here=$(cd "$(dirname "$0")" && pwd)
case $BIN in /*) ;; *) BIN=$(pwd)/$BIN ;; esac
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
T=$(mktemp -d "$OUT/stores.XXXXXX")

ok()   { echo "ok - stores $1"; }
nok()  { local r=${2//$'\n'/ }; echo "not ok - stores $1: ${r:0:600}"; }
skip() { echo "skip - stores $1: $2"; }
have() { command -v "$1" >/dev/null 2>&1; }
S()    { timeout 300 "$BIN" "$@"; }

# the engine: tests/docker/engine.sh, its state under a short temp dir (unix socket paths)
. "$here/../docker/engine.sh"
E=$(mktemp -d /tmp/strata-st.XXXXXX)
ED=
stop_docker() { [ -z "$ED" ] || stop_dockerd "$ED" keep-root; }
cleanup() { stop_docker; rm -rf "$T" "$E"; }
trap cleanup EXIT
trap 'exit 1' INT TERM

# check NAME WANT_RC CMD... : the exit code, and stderr kept in $T/err
check_rc() {
	local name=$1 want=$2
	shift 2
	"$@" > "$T/outp" 2> "$T/err"
	local rc=$?
	if [ "$rc" = "$want" ]; then ok "$name"; else nok "$name" "exit $rc, wanted $want: $(head -c 400 "$T/err")"; fi
}
# check_msg NAME PATTERN : stderr holds PATTERN (in one line when ONE=1)
check_msg() {
	if grep -qE -- "$2" "$T/err"; then
		if [ "${ONE:-0}" = 1 ] && [ "$(grep -c . "$T/err")" != 1 ]; then
			nok "$1" "more than one line: $(head -c 400 "$T/err")"
		else ok "$1"; fi
	else nok "$1" "no /$2/ in: $(head -c 400 "$T/err")"; fi
}

# compare_saved NAME SAVED.tar SRC : strata convert SRC to an OCI layout; its
# config and layer digests must be the saved archive's
compare_saved() {
	local name=$1 saved=$2 src=$3 want got
	rm -rf "$T/oci"
	if ! S convert "$src" "oci:$T/oci" > /dev/null 2> "$T/err"; then
		nok "$name: convert" "$(head -c 400 "$T/err")"; return
	fi
	want=$(python3 "$here/savedigests.py" "$saved" | cut -d' ' -f2- | sort -u)
	got=$(python3 "$here/ocidigests.py" "$T/oci" | sort -u)  # one manifest per name
	if [ -n "$want" ] && [ "$want" = "$got" ]; then ok "$name: config and layer digests equal the saved ones"
	else nok "$name: digests" "saved '$want', strata '$got'"; fi
}

python3 "$here/mkimages.py" "$T/in" || { nok "inputs" "mkimages.py failed"; exit 0; }

# ---------------------------------------------------------------- docker
docker_suite() {  # docker_suite DRIVER
	local drv=$1 D=$E/d-$1 root img
	mkdir -p "$D"
	ED=$D
	if ! start_dockerd "$D" "$drv"; then
		skip "docker[$drv]" "$DOCKERD_WHY"
		return
	fi
	if [ "$DOCKERD_DRIVER" != "$drv" ]; then
		stop_docker
		skip "docker[$drv]" "dockerd runs $DOCKERD_DRIVER here, not $drv"
		return
	fi
	root=$D/root
	dk() { DOCKER_BUILDKIT=0 timeout 300 "$DOCKER" "$@"; }
	if dk build -q -t strata-img1:v1 "$T/in/ctx1" > "$D/b1" 2>&1; then
		ok "docker[$drv]: built an image with hardlinks, a symlink, long names, an xattr"
	else
		python3 "$here/mkimages.py" "$T/in" --no-xattr
		if dk build -q -t strata-img1:v1 "$T/in/ctx1" > "$D/b1" 2>&1; then
			skip "docker[$drv] xattr" "the daemon could not set user.* xattrs here"
		else nok "docker[$drv] build" "$(tail -2 "$D/b1")"; stop_docker; return; fi
	fi
	dk tag strata-img1:v1 strata-img1:other
	dk build -q -t strata-img2:v2 "$T/in/ctx2" > "$D/b2" 2>&1 || nok "docker[$drv] build img2" "$(tail -2 "$D/b2")"
	dk load -i "$T/in/wh.tar" > "$D/b3" 2>&1 || nok "docker[$drv] load whiteouts" "$(tail -2 "$D/b3")"
	for img in strata-img1:v1 strata-img2:v2 strata-wh:v1; do
		dk save -o "$T/saved-${img%%:*}.tar" "$img" || nok "docker save $img" "failed"
	done
	S inspect "docker-root:$root" > /dev/null 2> "$T/err"
	check_msg "docker[$drv]: a daemon running on the root is warned about" "seems to be running"
	stop_docker

	local before after
	before=$(python3 "$here/treehash.py" "$root")
	for img in strata-img1:v1 strata-img2:v2 strata-wh:v1; do
		compare_saved "docker-root[$drv] $img" "$T/saved-${img%%:*}.tar" "docker-root:$root:$img"
	done
	local id
	id=$(python3 "$here/savedigests.py" "$T/saved-strata-wh.tar" | cut -d' ' -f2 | cut -c8-19)
	compare_saved "docker-root[$drv] @ID" "$T/saved-strata-wh.tar" "docker-root:$root:@$id"
	check_rc "docker-root[$drv]: inspect lists every image" 0 S inspect "docker-root:$root"
	if grep -q strata-img1:v1 "$T/outp" && grep -q strata-img1:other "$T/outp" && grep -q strata-img2:v2 "$T/outp" &&
		grep -q strata-wh:v1 "$T/outp"; then ok "docker-root[$drv]: inspect names all images and tags"
	else nok "docker-root[$drv]: inspect names" "$(head -c 400 "$T/outp")"; fi
	check_rc "docker-root[$drv]: verify of the whole store" 0 S verify "docker-root:$root"
	for c in analyze sbom; do
		check_rc "docker-root[$drv]: $c reads it" 0 S $c "docker-root:$root:strata-wh:v1"
	done
	rm -rf "$T/flat.tar"
	check_rc "docker-root[$drv]: flatten reads it" 0 S flatten "docker-root:$root:strata-wh:v1" "$T/flat.tar"
	after=$(python3 "$here/treehash.py" "$root")
	if [ "$before" = "$after" ]; then ok "docker-root[$drv]: the store is unchanged (whole-tree hash)"
	else nok "docker-root[$drv]: store changed" "$before -> $after"; fi

	# a limit that stops the scan while the layers still stream: the scan's reason, not a broken pipe
	ONE=1 check_rc "docker-root[$drv]: a limit reached mid-stream" 4 S verify --max-entries 1 "docker-root:$root:strata-img1:v1"
	ONE=1 check_msg "docker-root[$drv]: ... says which limit" "too many entries"

	# a read-only bind mount of the store, where the kernel lets us make one
	mkdir -p "$T/ro"
	if mount --bind "$root" "$T/ro" 2>/dev/null && mount -o remount,ro,bind "$T/ro" 2>/dev/null; then
		compare_saved "docker-root[$drv] on a read-only mount" "$T/saved-strata-img1.tar" "docker-root:$T/ro:strata-img1:v1"
		umount "$T/ro"
	else
		umount "$T/ro" 2>/dev/null
		skip "docker-root[$drv] read-only mount" "cannot bind-mount read-only here"
	fi

	# tampering, on copies
	local C=$T/copy f diff
	rm -rf "$C"; cp -a "$root" "$C"
	compare_saved "docker-root[$drv] a copy of the store (cp -a)" "$T/saved-strata-img2.tar" "docker-root:$C:strata-img2:v2"
	# vfs keeps a full copy of the tree below in every layer: treat them all
	local hellos
	hellos=$(find "$C" -path '*/etc/hello')
	each() { echo "$hellos" | while read -r f; do sh -c "$1" _ "$f"; done; }
	each 'printf "HELLO\n" > "$1"'

	check_rc "docker-root[$drv]: verify finds a file altered in a diff dir" 1 S verify "docker-root:$C:strata-img1:v1"
	check_msg "docker-root[$drv]: ... and names it" "etc/hello' changed content"
	check_rc "docker-root[$drv]: convert refuses it" 1 S convert "docker-root:$C:strata-img1:v1" "oci:$T/oci-bad"
	[ -e "$T/oci-bad" ] && nok "docker-root[$drv]: convert wrote output" "$T/oci-bad exists" || ok "docker-root[$drv]: nothing written"
	each 'printf "hello, longer\n" > "$1"'
	check_rc "docker-root[$drv]: a file that changed size" 1 S verify "docker-root:$C:strata-img1:v1"
	check_msg "docker-root[$drv]: ... is named with both sizes" "etc/hello' changed size \(6 bytes in the tar-split, 14 on disk\)"
	each 'rm -f "$1"'
	check_rc "docker-root[$drv]: a missing file" 1 S verify "docker-root:$C:strata-img1:v1"
	check_msg "docker-root[$drv]: ... is named" "etc/hello' is missing"
	each 'ln -s /etc/passwd "$1"'
	check_rc "docker-root[$drv]: a symlink pointing out of the store" 1 S verify "docker-root:$C:strata-img1:v1"
	check_msg "docker-root[$drv]: ... is not followed" "symlink inside the store \(not followed\)"

	rm -rf "$C"; cp -a "$root" "$C"
	diff=$(dirname "$(dirname "$(find "$C" -path '*/etc/hello' | head -1)")")
	mv "$diff" "$diff.moved" && ln -s /etc "$diff"
	ONE=1 check_rc "docker-root[$drv]: a diff directory that is a symlink out" 4 S verify "docker-root:$C"
	ONE=1 check_msg "docker-root[$drv]: ... one line, not followed" "symlink inside the store"

	rm -rf "$C"; cp -a "$root" "$C"
	local rj=$C/image/$drv/repositories.json
	head -c $(( $(stat -c %s "$rj") / 2 )) "$rj" > "$rj.t" && mv "$rj.t" "$rj"
	ONE=1 check_rc "docker-root[$drv]: a truncated repositories.json" 4 S inspect "docker-root:$C"
	ONE=1 check_msg "docker-root[$drv]: ... one line naming it" "repositories.json': not valid JSON"

	rm -rf "$C"; cp -a "$root" "$C"
	local ch
	ch=$(python3 "$here/savedigests.py" "$T/saved-strata-wh.tar" | cut -d' ' -f3 | cut -c8-)
	rm -rf "$C/image/$drv/layerdb/sha256/$ch"
	ONE=1 check_rc "docker-root[$drv]: a layer chain with a missing parent" 4 S verify "docker-root:$C:strata-wh:v1"
	ONE=1 check_msg "docker-root[$drv]: ... one line" "missing from .*layerdb"

	rm -rf "$C"; cp -a "$root" "$C"
	local ts
	ts=$(grep -l . "$C"/image/$drv/layerdb/sha256/*/tar-split.json.gz | while read -r x; do
		zcat "$x" | grep -q '"name":"etc/keep"' && echo "$x"; done | head -1)
	zcat "$ts" | sed 's/"name":"etc\/keep","size":5/"name":"etc\/keep","size":9/' | gzip > "$ts.t" && mv "$ts.t" "$ts"
	check_rc "docker-root[$drv]: a tar-split that lies about a size" 1 S verify "docker-root:$C:strata-wh:v1"
	check_msg "docker-root[$drv]: ... names the file" "etc/keep' changed size \(9 bytes in the tar-split, 5 on disk\)"

	if [ "$drv" = overlay2 ]; then
		rm -rf "$C"; cp -a "$root" "$C"
		for ts in "$C"/image/$drv/layerdb/sha256/*/tar-split.json.gz; do
			zcat "$ts" | grep -q 'wh\.\.wh\.\.opq' && rm -f "$ts"
		done
		ONE=1 check_rc "docker-root[$drv]: a layer without tar-split" 4 S verify "docker-root:$C:strata-wh:v1"
		ONE=1 check_msg "docker-root[$drv]: ... one line pointing to --allow-rebuilt-layers" "has no tar-split.*--allow-rebuilt-layers"
		check_rc "docker-root[$drv]: --allow-rebuilt-layers exports it" 0 S convert --allow-rebuilt-layers \
			"docker-root:$C:strata-wh:v1" "oci:$T/oci-rb"
		if [ "$(grep -c 'rebuilt as a fresh tar' "$T/err")" = 1 ]; then ok "docker-root[$drv]: ... with one warning for the layer"
		else nok "docker-root[$drv]: rebuilt warning" "$(head -c 400 "$T/err")"; fi
		local l2
		l2=$(python3 "$here/ocidigests.py" "$T/oci-rb" | cut -d' ' -f3 | cut -c8-)
		if tar -tf "$T/oci-rb/blobs/sha256/$l2" 2>/dev/null | grep -qx 'etc/.wh.gone' &&
			tar -tf "$T/oci-rb/blobs/sha256/$l2" | grep -qx 'opq/.wh..wh..opq'; then
			ok "docker-root[$drv]: ... the fresh tar keeps the whiteout and the opaque directory"
		else nok "docker-root[$drv]: rebuilt whiteouts" "$(tar -tf "$T/oci-rb/blobs/sha256/$l2" 2>&1 | head -c 300)"; fi
		if tar -tvf "$T/oci-rb/blobs/sha256/$l2" 2>/dev/null | grep -q 'opq/new2 link to opq/new$'; then
			ok "docker-root[$drv]: ... and a second name of one inode as a hardlink to the first"
		else nok "docker-root[$drv]: rebuilt hardlink" "$(tar -tvf "$T/oci-rb/blobs/sha256/$l2" 2>&1 | head -c 400)"; fi
		check_rc "docker-root[$drv]: ... and the export verifies" 0 S verify "oci:$T/oci-rb"
	fi

	rm -rf "$C"; mkdir -p "$C/image/devicemapper"
	for dd in devicemapper btrfs zfs; do
		rm -rf "$C"; mkdir -p "$C/image/$dd"
		ONE=1 check_rc "docker-root: driver $dd" 4 S inspect "docker-root:$C"
		ONE=1 check_msg "docker-root: ... said unsupported" "storage driver '$dd' is not supported"
	done
	rm -rf "$C"
}

# ---------------------------------------------------------------- podman
podman_suite() {
	local drv P root img before after
	if ! have podman; then skip "podman" "podman not installed"; return; fi
	for drv in overlay vfs; do
		root=$T/c-$drv
		P=(timeout 300 podman --root "$root" --runroot "$E/r-$drv" --storage-driver "$drv" --events-backend none
			--cgroup-manager cgroupfs)
		if ! "${P[@]}" load -i "$T/saved-strata-img1.tar" > "$T/pl" 2>&1; then
			skip "podman[$drv]" "podman load failed: $(tail -1 "$T/pl")"; continue
		fi
		for img in strata-img2 strata-wh; do
			"${P[@]}" load -i "$T/saved-$img.tar" > "$T/pl" 2>&1 || nok "podman[$drv] load $img" "$(tail -1 "$T/pl")"
		done
		for img in strata-img1:v1 strata-img2:v2 strata-wh:v1; do
			"${P[@]}" save --format docker-archive -o "$T/psaved-$drv-${img%%:*}.tar" "$img" > "$T/pl" 2>&1 ||
				nok "podman[$drv] save $img" "$(tail -1 "$T/pl")"
		done
		before=$(python3 "$here/treehash.py" "$root")
		for img in strata-img1:v1 strata-img2:v2 strata-wh:v1; do
			compare_saved "containers-storage[$drv] $img" "$T/psaved-$drv-${img%%:*}.tar" \
				"containers-storage:$root:$img"
		done
		compare_saved "containers-storage[$drv] skopeo spelling" "$T/psaved-$drv-strata-wh.tar" \
			"containers-storage:[$drv@$root+$T/r-$drv]strata-wh:v1"
		check_rc "containers-storage[$drv]: verify of the whole store" 0 S verify "containers-storage:$root"
		after=$(python3 "$here/treehash.py" "$root")
		if [ "$before" = "$after" ]; then ok "containers-storage[$drv]: the store is unchanged (whole-tree hash)"
		else nok "containers-storage[$drv]: store changed" "$before -> $after"; fi
		local C=$T/pcopy f
		rm -rf "$C"; cp -a "$root" "$C"
		# vfs keeps a full copy of the tree below in every layer: alter them all
		find "$C" -path '*/etc/hello' | while read -r f; do printf 'HELLO\n' > "$f"; done
		check_rc "containers-storage[$drv]: verify finds a file altered in a diff dir" 1 S verify "containers-storage:$C"
		check_msg "containers-storage[$drv]: ... and names it" "etc/hello' changed content"
		rm -rf "$C"; cp -a "$root" "$C"
		head -c 100 "$C/$drv-images/images.json" > "$C/x" && mv "$C/x" "$C/$drv-images/images.json"
		ONE=1 check_rc "containers-storage[$drv]: a truncated images.json" 4 S inspect "containers-storage:$C"
		rm -rf "$C"
	done
}

if have dockerd && have docker; then docker_suite overlay2; docker_suite vfs; else skip "docker" "dockerd not installed"; fi
if [ -e "$T/saved-strata-img1.tar" ]; then podman_suite; else skip "podman" "no saved images to load (docker did not run)"; fi
exit 0
