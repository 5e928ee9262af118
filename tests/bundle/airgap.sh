#!/bin/bash
# tests/bundle/airgap.sh STRATA OUTDIR - the air-gap job end to end (issue 13), as the README's
# "Carrying images across an air gap" tells it, with the real tools on the far side.
#
# Near side, day one: three images sharing a base layer (app-c a multi-platform index) become one
# oci-archive in pieces small enough to make at least 4, signed.  On the way one piece is corrupted
# and one lost: verify names both (exit 1); restored, verify and verify --trust pass.  Far side: the
# pieces become an OCI layout, and podman load, ctr images import, umoci unpack and skopeo inspect
# find every image by name with the source's digests.  Day two: app-b gets a new top layer; the far
# side lists its blobs (inspect --blobs), the near side sends a signed delta holding only the new
# blobs and the documents, the far side checks it (--trust), completes its layout from itself
# (--blobs-from) and verifies; a tampered, unsigned or foreign-signed delta is refused.  Bad input:
# a piece of another bundle, a manifest naming a file twice, --split 0, an unreadable base, a delta
# applied to the wrong base.
#
# As root it re-executes itself in a private mount namespace (tests/convert/env.sh) so that podman
# and containerd keep their state in a temp dir; elsewhere those checks skip with one line each.
set -u
HERE=$(cd "$(dirname "$0")" && pwd -P)
if [ $# -lt 2 ]; then echo "usage: $0 STRATA OUTDIR" >&2; exit 2; fi
S=$1 W=$2

nok()  { local r=${2//$'\n'/ ⏎ }; echo "not ok - airgap $1: ${r:0:700}"; }
skip() { echo "skip - airgap $1: $2"; }

if [ -z "${STRATA_AIRGAP_INNER:-}" ]; then
	case $S in */*) S=$(cd "$(dirname "$S")" && pwd -P)/$(basename "$S") ;; esac
	rm -rf "$W" && mkdir -p "$W" && W=$(cd "$W" && pwd -P)
	hidden=
	for p in "$S" "$W" /tmp; do
		case "$p/" in /run/*|/var/run/*|/var/lib/*|/var/tmp/*|/etc/containers/*) hidden=$p ;; esac
	done
	if [ "$(id -u)" = 0 ] && [ -z "$hidden" ] && unshare -m --propagation private true 2> /dev/null; then
		STRATA_AIRGAP_INNER=ns exec unshare -m --propagation private bash "$0" "$S" "$W"
	fi
	export STRATA_AIRGAP_INNER=none
	NS_WHY=${hidden:+$hidden is under a directory the namespace hides}
	[ -n "$NS_WHY" ] || NS_WHY="not root or no unshare -m: no private state for podman and containerd"
else
	NS_WHY=
fi
STRATA_CONVERT_INNER=$STRATA_AIRGAP_INNER
. "$HERE/../convert/env.sh"
if [ "$STRATA_AIRGAP_INNER" = ns ] && ! ns_enter 2> /dev/null; then
	STRATA_AIRGAP_INNER=none STRATA_CONVERT_INNER=none NS_WHY="tmpfs mounts in the namespace failed"
fi
for t in python3 jq sha256sum cmp; do have "$t" || { skip all "$t not installed"; exit 0; }; done

T=$(mktemp -d /tmp/strata-airgap.XXXXXX)
cleanup() { ctd_stop; rm -rf "$T"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
env_setup "$T"

LABEL=airgap
. "$HERE/../lib.sh"  # run, ok (nok and skip above)
why() { echo "exit $rc: $(head -c 500 "$W/err")"; }
oneline() { [ "$(wc -l < "$W/err")" = 1 ]; }
tarblobs() { tar -tf "$1" | sed -n 's|^blobs/sha256/\(.\)|sha256:\1|p' | sort; }

I=$W/img
if ! python3 "$HERE/mkimages.py" "$I" > "$W/mkimages.log" 2>&1; then
	nok "images" "mkimages.py failed: $(tail -3 "$W/mkimages.log")"
	exit 0
fi
NAMES="registry.example/team/app-a:1 registry.example/team/app-b:1 registry.example/team/app-c:1"
name_of() { echo "registry.example/team/app-$1:1"; }

KEYS=
if openssl genpkey -algorithm ed25519 -out "$W/key.pem" 2> /dev/null && openssl pkey -in "$W/key.pem" -pubout -out "$W/pub.pem" 2> /dev/null &&
	openssl genpkey -algorithm ed25519 -out "$W/other.pem" 2> /dev/null && openssl pkey -in "$W/other.pem" -pubout -out "$W/other.pub" 2> /dev/null; then
	KEYS=1
fi
sign() { [ -n "$KEYS" ] && echo "--sign $W/key.pem" || echo --manifest; }

# ================================================================= day one, near side
U=$W/usb
mkdir -p "$U"
# shellcheck disable=SC2046
run convert "$I/a" "$I/b" "$I/c" "oci-archive:$U/bundle.tar" --split 64K $(sign)
np=$(ls "$U" | grep -c '^bundle\.tar\.[0-9][0-9][0-9]$')
if [ $rc = 0 ] && [ "$np" -ge 4 ] && [ -f "$U/bundle.tar.manifest.json" ] && [ -f "$U/bundle.tar.sha256" ]; then
	ok "day one: 3 images (one an index) bundled into $np pieces of 64K with the transfer manifest"
else
	nok "day one bundle" "$np pieces; $(why)"
fi
(cd "$U" && sha256sum --quiet -c bundle.tar.sha256 > /dev/null 2>&1) && ok "sha256sum -c accepts bundle.tar.sha256" || nok "sha256sum -c" "refused"
cat "$U"/bundle.tar.0* > "$W/joined.tar"
run convert "$I/a" "$I/b" "$I/c" "oci-archive:$W/whole.tar"
cmp -s "$W/joined.tar" "$W/whole.tar" && ok "cat bundle.tar.0* is byte for byte the run without --split" || nok "joined pieces" "differ from the whole archive"
shared=$(cat "$I/a.layers" "$I/b.layers" "$I/c.layers" | sort | uniq -c | awk '$1 == 3 { n++ } END { print n + 0 }')
n_in=$(tarblobs "$W/joined.tar" | wc -l)
n_src=$(cat "$I"/a.blobs "$I"/b.blobs "$I"/c.blobs | sort -u | wc -l)
[ "$shared" = 1 ] && [ "$n_in" = "$n_src" ] && ok "the shared base layer is stored once ($n_in blobs)" || nok "blobs stored once" "shared $shared, $n_in blobs in the bundle, $n_src distinct in the sources"

# ================================================================= on the way: one piece corrupted, one lost
cp "$U/bundle.tar.001" "$W/keep.001" && cp "$U/bundle.tar.003" "$W/keep.003"
printf 'X' | dd of="$U/bundle.tar.001" bs=1 seek=3000 conv=notrunc 2> /dev/null
rm -f "$U/bundle.tar.003"
run verify "$U/bundle.tar.manifest.json"
want1=$(jq -r '.files[] | select(.path == "bundle.tar.001") | .sha256' "$U/bundle.tar.manifest.json")
want3=$(jq -r '.files[] | select(.path == "bundle.tar.003") | .sha256' "$U/bundle.tar.manifest.json")
if [ $rc = 1 ] && grep -q "bundle.tar.001: corrupt.*$want1" "$W/err" && grep -q "bundle.tar.003: missing.*$want3" "$W/err"; then
	ok "verify names the corrupt piece and the missing one with their expected sha256, exit 1"
else
	nok "verify of damaged pieces" "$(why)"
fi
run convert "$U/bundle.tar.000" "oci:$W/never"
[ $rc = 1 ] && [ ! -e "$W/never" ] && ok "convert from the damaged set: exit 1, nothing written" || nok "convert damaged set" "$(why)"
cp "$W/keep.001" "$U/bundle.tar.001" && cp "$W/keep.003" "$U/bundle.tar.003"
run verify "$U/bundle.tar.manifest.json"
[ $rc = 0 ] && grep -q ': OK' "$W/out" && ok "pieces restored: verify OK" || nok "verify restored" "$(why)"
if [ -n "$KEYS" ]; then
	run verify --trust "$W/pub.pem" "$U/bundle.tar"
	[ $rc = 0 ] && ok "verify --trust accepts the signed bundle" || nok "verify --trust" "$(why)"
	if openssl pkeyutl -verify -pubin -inkey "$W/pub.pem" -rawin -in "$U/bundle.tar.manifest.json" \
		-sigfile "$U/bundle.tar.manifest.json.sig" > /dev/null 2>&1; then
		ok "openssl pkeyutl -verify accepts the same signature (README's command)"
	else
		nok "openssl pkeyutl" "refused the signature"
	fi
else
	skip "signatures" "openssl cannot make Ed25519 keys here"
fi

# ================================================================= far side: a layout, then the real tools
F=$W/far
run convert "$U/bundle.tar.000" "oci:$F"
[ $rc = 0 ] && ok "far side: the pieces become an OCI layout, read in one pass" || nok "far layout" "$(why)"
run verify "$F"
[ $rc = 0 ] && ok "far layout verifies" || nok "verify far" "$(why)"
# every name -> the source's top digest (a manifest; for app-c its index)
bad=
for x in a b c; do
	got=$(jq -r --arg n "$(name_of $x)" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $n) | .digest' "$F/index.json")
	[ "$got" = "$(cat "$I/$x.digest")" ] || bad="$bad $x($got)"
done
[ -z "$bad" ] && ok "far index.json: every name on the source's digest" || nok "far names" "wrong:$bad"

if have skopeo; then
	bad=
	for x in a b c; do
		d=$(SK inspect --raw "oci:$F:$(name_of $x)" 2> /dev/null | sha256sum | cut -d' ' -f1)
		[ "sha256:$d" = "$(cat "$I/$x.digest")" ] || bad="$bad $x"
	done
	[ -z "$bad" ] && ok "skopeo inspect finds each of the 3 names with the source's digest" || nok "skopeo inspect" "wrong or not found:$bad"
else
	skip "skopeo inspect" "skopeo not installed"
fi

if have umoci; then
	# umoci 0.4 refuses a name on an index ("tag is ambiguous"): app-c's amd64 image by its own name
	run convert --platform linux/amd64 "oci:$F:$(name_of c)" "oci:$W/c-amd64:c"
	bad=
	for x in a b c; do
		lay=$F ref=$(name_of $x)
		[ $x = c ] && lay=$W/c-amd64 ref=c
		rm -rf "$W/u-$x" "$W/s-$x"
		if ! U unpack --rootless --image "$lay:$ref" "$W/u-$x" > "$W/umoci.log" 2>&1; then bad="$bad $x(umoci: $(tail -1 "$W/umoci.log"))"; continue; fi
		run unpack "oci:$lay:$ref" "$W/s-$x"
		diff -r "$W/u-$x/rootfs" "$W/s-$x" > /dev/null 2>&1 || bad="$bad $x(trees differ)"
	done
	[ -z "$bad" ] && ok "umoci unpack of every image gives the tree strata unpack gives" || nok "umoci unpack" "$bad"
else
	skip "umoci unpack" "umoci not installed"
fi

if [ "$STRATA_AIRGAP_INNER" != ns ]; then
	skip "podman load" "$NS_WHY"
	skip "ctr images import" "$NS_WHY"
else
	if have podman; then
		# podman 4.3 loads one image per oci-archive; a docker-archive holds one platform of an index
		run convert --platform linux/amd64 "oci:$F" "docker-archive:$W/far-docker.tar"
		want=$(for x in a b c; do echo "$(name_of $x)"; done | sort)
		cfgs=$( (for x in a b; do jq -r '.config.digest' "$I/$x/blobs/sha256/$(cut -d: -f2 "$I/$x.digest")"; done
			jq -r '.manifests[] | select(.platform.architecture == "amd64") | .digest' "$I/c/blobs/sha256/$(cut -d: -f2 "$I/c.digest")" |
				cut -d: -f2 | xargs -I{} jq -r '.config.digest' "$I/c/blobs/sha256/{}") | sed 's/^sha256://' | sort)
		if [ $rc != 0 ]; then nok "podman load" "strata convert to docker-archive: $(why)"
		elif ! out=$(P load -q -i "$W/far-docker.tar" 2>&1); then nok "podman load" "$out"
		else
			got=$(P images --format '{{.Repository}}:{{.Tag}}' | sort)
			ids=$(P images --no-trunc --format '{{.ID}}' | sed 's/^sha256://' | sort)
			[ "$got" = "$want" ] && [ "$ids" = "$cfgs" ] && ok "podman load: every name, image IDs = the source's config digests" ||
				nok "podman load" "names $(echo $got), IDs $(echo $ids), want $(echo $cfgs)"
		fi
	else
		skip "podman load" "podman not installed"
	fi
	if have containerd && have ctr; then
		run convert "oci:$F" "oci-archive:$W/far.tar"
		if [ $rc != 0 ]; then nok "ctr images import" "strata convert to oci-archive: $(why)"
		elif ! ctd_start; then nok "ctr images import" "containerd did not start: $(tail -n 3 "$T/ctd/log")"
		elif ! out=$(CTR images import --all-platforms --snapshotter native "$W/far.tar" 2>&1); then nok "ctr images import" "$out"
		else
			bad=
			for x in a b c; do
				d=$(CTR images ls | awk -v n="$(name_of $x)" '$1 == n { print $3 }')
				[ "$d" = "$(cat "$I/$x.digest")" ] || bad="$bad $x($d)"
			done
			[ -z "$bad" ] && ok "ctr images import: every name on the source's digest (index included, all platforms)" || nok "ctr images import" "wrong:$bad"
		fi
		ctd_stop
	else
		skip "ctr images import" "containerd/ctr not installed"
	fi
fi

# ================================================================= day two: a delta
run inspect --blobs "$F"
cp "$W/out" "$W/far.blobs"
[ $rc = 0 ] && [ -s "$W/far.blobs" ] && ok "far side: inspect --blobs lists what it holds ($(wc -l < "$W/far.blobs") blobs)" || nok "inspect --blobs" "$(why)"
# shellcheck disable=SC2046
run convert "$I/a" "$I/b2" "$I/c" "oci-archive:$U/day2.tar" --exclude-blobs "$W/far.blobs" $(sign)
new=$(comm -23 <(sort -u "$I/b2.blobs") "$W/far.blobs")
newlayer=$(comm -23 "$I/b2.layers" "$W/far.blobs")
docs=$(cat "$I"/a.blobs "$I"/c.blobs | sort -u | comm -23 - <(cat "$I"/a.layers "$I"/c.layers | sort -u))
want=$(printf '%s\n%s\n' "$new" "$docs" | sort -u)
if [ $rc = 0 ] && [ "$(tarblobs "$U/day2.tar")" = "$want" ] && [ "$(echo "$newlayer" | wc -l)" = 1 ]; then
	ok "day two: the delta holds the one new layer and the documents, nothing the far side has ($(echo "$want" | wc -l) blobs)"
else
	nok "delta contents" "$(why); blobs $(tarblobs "$U/day2.tar" 2> /dev/null | wc -l), want $(echo "$want" | wc -l)"
fi
if [ -n "$KEYS" ]; then
	run verify --trust "$W/pub.pem" "$U/day2.tar"
	[ $rc = 0 ] && grep -q 'left out on purpose' "$W/out" && ok "far side: verify --trust of the delta OK, left-out blobs noted" || nok "verify --trust delta" "$(why)"
fi
run convert "$U/day2.tar" "oci:$F" --blobs-from "$F" --replace
[ $rc = 0 ] && ok "far side completes its layout from itself (--blobs-from FAR)" || nok "complete delta" "$(why)"
run verify "$F"
[ $rc = 0 ] && ok "the completed layout verifies" || nok "verify completed" "$(why)"
got=$(jq -r --arg n "$(name_of b)" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $n) | .digest' "$F/index.json")
[ "$got" = "$(cat "$I/b2.digest")" ] && ok "app-b:1 now names day two's manifest" || nok "day two name" "$got, want $(cat "$I/b2.digest")"
if have skopeo; then
	d=$(SK inspect --raw "oci:$F:$(name_of b)" 2> /dev/null | sha256sum | cut -d' ' -f1)
	[ "sha256:$d" = "$(cat "$I/b2.digest")" ] && ok "skopeo inspect of the completed layout: day two's digest" || nok "skopeo day two" "sha256:$d"
fi

# ================================================================= signatures refused
if [ -n "$KEYS" ]; then
	M=$U/day2.tar.manifest.json
	cp "$M" "$W/m.keep" && cp "$M.sig" "$W/sig.keep"
	sed -i 's/"strata_version"/"strata_versioN"/' "$M"
	cmp -s "$M" "$W/m.keep" && sed -i '1s/^{/{ /' "$M"
	run verify --trust "$W/pub.pem" "$U/day2.tar"
	[ $rc = 1 ] && oneline && ok "a tampered manifest is refused in one line, exit 1" || nok "tampered" "$(why)"
	cp "$W/m.keep" "$M" && rm -f "$M.sig"
	run verify --trust "$W/pub.pem" "$U/day2.tar"
	[ $rc = 1 ] && oneline && ok "an unsigned manifest is refused, exit 1" || nok "unsigned" "$(why)"
	cp "$W/sig.keep" "$M.sig"
	run verify --trust "$W/other.pub" "$U/day2.tar"
	[ $rc = 1 ] && oneline && ok "a manifest signed by another key is refused, exit 1" || nok "other key" "$(why)"
fi

# ================================================================= bad input
mkdir -p "$W/other"
run convert "$I/a" "oci-archive:$W/other/bundle.tar" --split 64K
cp "$U/bundle.tar.001" "$W/keep.001"
cp "$W/other/bundle.tar.001" "$U/bundle.tar.001" 2> /dev/null || cp "$W/other/bundle.tar.000" "$U/bundle.tar.001"
run verify "$U/bundle.tar.manifest.json"
[ $rc = 1 ] && grep -q "bundle.tar.001" "$W/err" && grep -q "$want1" "$W/err" && ok "a piece of another bundle: named with its expected sha256, exit 1" || nok "foreign piece" "$(why)"
cp "$W/keep.001" "$U/bundle.tar.001"
jq '.files += [.files[0]]' "$U/bundle.tar.manifest.json" > "$W/twice.manifest.json"
cp "$U"/bundle.tar.0* "$W/"
run verify "$W/twice.manifest.json"
[ $rc != 0 ] && [ $rc != 1 ] && oneline && grep -q "bundle.tar.000" "$W/err" && ok "a manifest naming a file twice: one line, exit $rc" || nok "file named twice" "$(why)"
run convert "$I/a" "oci-archive:$W/zero.tar" --split 0
[ $rc = 2 ] && ! ls "$W"/zero.tar* > /dev/null 2>&1 && ok "--split 0: usage error, nothing written" || nok "--split 0" "$(why)"
run convert "$I/a" "oci-archive:$W/nx.tar" --exclude-blobs "$W/no-such-list"
[ $rc = 3 ] && oneline && [ ! -e "$W/nx.tar" ] && ok "an unreadable BASE: one line, exit 3, nothing written" || nok "unreadable base" "$(why)"
run convert "$U/day2.tar" "oci:$W/wrong" --blobs-from "$I/a"
miss=$(comm -23 <(jq -r '.expected[].digest' "$U/day2.tar.manifest.json" | sort) "$I/a.blobs")
named=yes
for m in $miss; do grep -q "${m#sha256:}" "$W/err" || named=no; done
[ $rc = 1 ] && [ -n "$miss" ] && [ $named = yes ] && [ ! -e "$W/wrong" ] &&
	ok "a delta applied to the wrong base: the $(echo "$miss" | wc -w) missing blobs named, exit 1, nothing written" || nok "wrong base" "$(why)"
exit 0
