#!/bin/bash
# tests/names/run.sh STRATA OUTDIR [FIXTURES] [INTEROP] - names survive every conversion (issue 12), as the
# real tools see them.
#
#   OUTDIR    work dir (wiped at start, kept afterwards for a look): make.py's sources, the outputs, logs
#   FIXTURES  output dir of `python3 fixtures/gen.py DIR` (its multi-image fixtures are sources too)
#   INTEROP   output dir of `bash tests/interop/make-archives.sh DIR` (podman-multi.tar, multi, multi-oci.tar)
#   STRATA_REALWORLD names ../shared/realworld (default: next to the repository)
#
# Every source (make.py's colliding short tags, one image with two tags, an OCI index listing one manifest as
# 1.0 and latest; docker-multi.tar and oci-multiarch; the multi-image archives of realworld and interop) is
# converted to oci:DIR, oci-archive:FILE and docker-archive:FILE (--platform linux/amd64 when a docker-archive
# cannot hold the index). Then: oci-image-tool validate --type imageLayout accepts the layout (archives
# extracted); every name `strata inspect --json SRC` lists is in index.json as README says (ref.name = the
# tag, or the full name when another entry uses the tag; no two entries share a ref.name), skopeo inspect
# oci:DIR:REF and umoci ls / umoci unpack find it; ctr images import and podman load of the archives list
# every full name; docker-archive -> oci -> docker-archive gives back the source's RepoTags; a name re-used
# in an existing layout is refused (exit 2) unless --replace, which leaves no blob of the old image behind.
#
# One line per check: "ok - names X", "not ok - names X: why", "skip - names X: why" (a tool missing, or
# podman 4.3's one-image oci-archive limit). Exits 0. As root it re-executes itself in a private mount
# namespace so that podman and containerd keep all their state in a temp dir (tests/convert/env.sh).
set -u
HERE=$(cd "$(dirname "$0")" && pwd -P)
if [ $# -lt 2 ] || [ $# -gt 4 ]; then echo "usage: $0 STRATA OUTDIR [FIXTURES] [INTEROP]" >&2; exit 2; fi
STRATA=$1 OUTDIR=$2 FIX=${3:-} INTEROP=${4:-}
RW=${STRATA_REALWORLD:-$HERE/../../../shared/realworld}

ok()   { echo "ok - names $1"; }
nok()  { local r=${2//$'\n'/ ⏎ }; echo "not ok - names $1: ${r:0:900}"; }
skip() { local r=${2//$'\n'/ ⏎ }; echo "skip - names $1: ${r:0:400}"; }

# ---------------------------------------------------------------- outer: paths, then the namespace
if [ -z "${STRATA_NAMES_INNER:-}" ]; then
	case $STRATA in */*) STRATA=$(cd "$(dirname "$STRATA")" 2>/dev/null && pwd -P)/$(basename "$STRATA") ;; esac
	[ -n "$FIX" ] && [ -d "$FIX" ] && FIX=$(cd "$FIX" && pwd -P)
	[ -n "$INTEROP" ] && [ -d "$INTEROP" ] && INTEROP=$(cd "$INTEROP" && pwd -P)
	[ -d "$RW" ] && RW=$(cd "$RW" && pwd -P)
	mkdir -p "$OUTDIR" && OUTDIR=$(cd "$OUTDIR" && pwd -P)
	hidden=
	for p in "$STRATA" "$FIX" "$OUTDIR" "$INTEROP" "$RW" "${TMPDIR:-/tmp}"; do
		case "$p/" in /run/*|/var/run/*|/var/lib/*|/var/tmp/*|/etc/containers/*) hidden=$p ;; esac
	done
	if [ "$(id -u)" = 0 ] && [ -z "$hidden" ] && unshare -m --propagation private true 2>/dev/null; then
		STRATA_NAMES_INNER=ns STRATA_REALWORLD=$RW exec unshare -m --propagation private bash "$0" "$STRATA" "$OUTDIR" "$FIX" "$INTEROP"
	fi
	export STRATA_NAMES_INNER=none
	if [ -n "$hidden" ]; then NS_WHY="$hidden is under a directory the namespace hides"
	elif [ "$(id -u)" != 0 ]; then NS_WHY="not root: no private mount namespace for podman/containerd state"
	else NS_WHY="unshare -m failed"; fi
else
	NS_WHY=
fi
export STRATA_CONVERT_INNER=$STRATA_NAMES_INNER   # env.sh's name for it
. "$HERE/../convert/env.sh"
if [ "$STRATA_NAMES_INNER" = ns ] && ! ns_enter 2>/dev/null; then
	STRATA_NAMES_INNER=none STRATA_CONVERT_INNER=none NS_WHY="tmpfs mounts in the namespace failed"
fi

START=$(date +%s.%N)
if [ ! -x "$STRATA" ]; then nok "strata binary" "not executable: $STRATA"; exit 0; fi
for t in jq python3 timeout tar; do have "$t" || { skip "all" "$t not installed"; exit 0; }; done

T=$(mktemp -d "${TMPDIR:-/tmp}/strata-names.XXXXXX")
cleanup() { ctd_stop; rm -rf "$T"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
env_setup "$T"
cp "$STRATA" "$T/strata" 2>/dev/null && STRATA=$T/strata

W=$OUTDIR
rm -rf "$W"
mkdir -p "$W/log" "$W/out" "$W/x"
if ! python3 "$HERE/make.py" "$W/src" > "$W/log/make.log" 2>&1; then nok "make.py" "$(head -c 400 "$W/log/make.log")"; exit 0; fi

S() { timeout 120 "$STRATA" "$@"; }
NM() { python3 "$HERE/names.py" "$@"; }
OIT() { timeout 60 oci-image-tool "$@"; }
# cv ID ARGS... - strata convert; stderr in $W/log/ID.err; RC, CMD set
cv() {
	local id=$1; shift
	CMD="strata convert $*"; RC=0
	S convert "$@" > "$W/log/$id.out" 2> "$W/log/$id.err" || RC=$?
	return $RC
}
why() { echo "\`$CMD\` exit $RC: $(head -c 400 "$W/log/$1.err")"; }
words() { tr '\n' ' ' | sed 's/ $//'; }

CTD_OK=0
if [ "$STRATA_NAMES_INNER" = ns ] && have containerd && have ctr; then
	if ctd_start; then CTD_OK=1; else nok "containerd" "did not start: $(tail -n 3 "$T/ctd/log")"; fi
fi
NSN=0   # containerd namespaces / podman stores used so far

# ---------------------------------------------------------------- sources: LABEL|REF
SOURCES=(
	"make.py collide.tar (corpus/multi-a:1.0 + :latest, corpus/multi-b:1.0)|$W/src/collide.tar"
	"make.py twoentries.tar (one config, two manifest.json entries)|$W/src/twoentries.tar"
	"make.py oci-twotags (one manifest as 1.0 and latest)|oci:$W/src/oci-twotags"
	"make.py oci-twotags-named (the same with io.containerd.image.name)|oci:$W/src/oci-twotags-named"
)
if [ -n "$FIX" ] && [ -f "$FIX/fixtures.tsv" ]; then
	# the fixtures holding several images (nimages > 1), and the multi-platform index
	while IFS=$'\t' read -r name fmt n _; do
		case $name in '#'*) continue ;; esac
		[ "$n" -gt 1 ] 2>/dev/null || continue
		case $fmt in oci-layout) SOURCES+=("fixtures $name|oci:$FIX/$name") ;; *) SOURCES+=("fixtures $name|$FIX/$name") ;; esac
	done < "$FIX/fixtures.tsv"
	[ -d "$FIX/oci-multiarch" ] && SOURCES+=("fixtures oci-multiarch (index, 2 platforms + attestation)|oci:$FIX/oci-multiarch")
elif [ -n "$FIX" ]; then
	nok "fixtures" "no $FIX/fixtures.tsv (run python3 fixtures/gen.py $FIX)"
fi
if [ -d "$RW" ]; then
	for s in ggcr-docker-save-v20.10-symlinked-layer.tar oci:regclient-testrepo oci:stereoscope-buildx-multiplatform; do
		p=${s#oci:}; [ -e "$RW/$p" ] || { skip "realworld $p" "not in $RW"; continue; }
		case $s in oci:*) SOURCES+=("realworld $p|oci:$RW/$p") ;; *) SOURCES+=("realworld $p|$RW/$p") ;; esac
	done
else
	skip "realworld sources" "no $RW"
fi
if [ -n "$INTEROP" ] && [ -d "$INTEROP" ]; then
	for s in podman-multi.tar oci:multi multi-oci.tar; do
		p=${s#oci:}; [ -e "$INTEROP/$p" ] || { skip "interop $p" "not in $INTEROP"; continue; }
		case $s in oci:*) SOURCES+=("interop $p|oci:$INTEROP/$p") ;; *) SOURCES+=("interop $p|$INTEROP/$p") ;; esac
	done
fi

# ---------------------------------------------------------------- per layout: validate, names, skopeo, umoci
# layout_checks LABEL DIR INSPECT [images|-] [BEFORE_INDEX] [SOURCE_LAYOUT]
layout_checks() {
	local what=$1 d=$2 ij=$3 only=${4:-} before=${5:-} srcd=${6:-} out bad r n k
	[ "$only" = - ] && only=
	if have oci-image-tool; then
		# 1.0.0-rc1 says type "imageLayout" unimplemented; --type image on a directory is the layout check
		# ("autodetected image file type is: imageLayout"), every ref verified when no --ref is given
		if out=$(OIT validate --type image "$d" 2>&1); then ok "$what: oci-image-tool validate (the layout, all refs)"
		elif [ -n "$srcd" ] && sout=$(OIT validate --type image "$srcd" 2>&1; echo "rc $?") && [[ $sout != *"rc 0" ]] &&
			[ "$(grep -o 'fatal msg=.*' <<<"$out" | sed "s#$d##g")" = "$(grep -o 'fatal msg=.*' <<<"$sout" | sed "s#$srcd##g")" ]; then
			# 1.0.0-rc1 refuses layer media types it does not know (in-toto attestations, artifacts)
			skip "$what: oci-image-tool validate" "oci-image-tool 1.0.0-rc1 refuses the source layout alike: $(grep -o 'fatal msg=.*' <<<"$sout" | head -c 300)"
		else nok "$what: oci-image-tool validate (the layout, all refs)" "\`oci-image-tool validate --type image $d\`: $out"; fi
	else skip "$what: oci-image-tool validate" "oci-image-tool not installed"; fi
	NM find "$ij" "$d" $only ${before:+"--before=$before"} > "$T/find" 2>&1
	n=$(grep -c '^found' "$T/find")
	bad=$(grep -E '^(miss|dup|rule|Traceback)' "$T/find" | tr '\t' ' ' | words)
	if [ -z "$bad" ] && [ "$n" -gt 0 ]; then ok "$what: index.json names all $n source names, ref.names unique, short-tag/full-name rule"
	elif [ "$n" = 0 ] && [ -z "$bad" ]; then ok "$what: the source has no names (nothing to find)"
	else nok "$what: index.json names every source name once" "$bad (index.json: $(jq -c '[.manifests[] | .annotations]' "$d/index.json" 2>&1 | head -c 400))"; fi
	if have skopeo; then
		bad= k=0
		while IFS=$'\t' read -r _ n r kind; do
			[ "$kind" = image ] || continue
			k=$((k + 1))
			SK inspect "oci:$d:$r" > "$T/sk.out" 2>&1 || bad+="skopeo inspect oci:$d:$r (for $n): $(head -c 200 "$T/sk.out"); "
		done < <(grep '^found' "$T/find")
		if [ $k = 0 ]; then :
		elif [ -z "$bad" ]; then ok "$what: skopeo inspect oci:DIR:REF finds all $k image names"
		else nok "$what: skopeo inspect oci:DIR:REF" "$bad"; fi
	else skip "$what: skopeo inspect" "skopeo not installed"; fi
	if have umoci; then
		if ! out=$(U ls --layout "$d" 2>&1); then nok "$what: umoci ls" "\`umoci ls --layout $d\`: $out"
		else
			bad=
			while IFS= read -r r; do grep -qxF -- "$r" <<<"$out" || bad+="$r "; done < <(jq -r '.manifests[].annotations["org.opencontainers.image.ref.name"] // empty' "$d/index.json" | sort -u)
			[ -z "$bad" ] && ok "$what: umoci ls lists every ref.name" || nok "$what: umoci ls" "lacks $bad(has: $(words <<<"$out"))"
		fi
		bad= k=0
		while IFS=$'\t' read -r _ r; do
			k=$((k + 1)); rm -rf "$T/bundle"
			out=$(U unpack --rootless --image "$d:$r" "$T/bundle" 2>&1) || bad+="\`umoci unpack --rootless --image $d:$r\`: $(tail -c 200 <<<"$out"); "
		done < <(grep '^unpack' "$T/find")
		rm -rf "$T/bundle"
		if [ $k = 0 ]; then :
		elif [ -z "$bad" ]; then ok "$what: umoci unpack --image DIR:REF of all $k images"
		else nok "$what: umoci unpack" "$bad"; fi
	else skip "$what: umoci" "umoci not installed"; fi
}

# loads LABEL FILE INSPECT FMT [images] - ctr images import and podman load list every full name
loads() {
	local what=$1 f=$2 ij=$3 fmt=$4 only=${5:-} want got missing out
	want=$(NM full "$ij" $only | sort -u)
	if [ "$STRATA_NAMES_INNER" != ns ]; then skip "$what: ctr import / podman load" "$NS_WHY"; return; fi
	NSN=$((NSN + 1))
	if [ $CTD_OK = 1 ]; then
		note=
		if ! out=$(CTR -n "n$NSN" images import --snapshotter native "$f" 2>&1); then
			# ctr 1.6 cannot unpack an attestation/artifact manifest (it fails alike on the source):
			# the names are what is checked here, so import without unpacking then
			if grep -q 'mismatched image rootfs and manifest layers' <<<"$out" &&
				out=$(CTR -n "n$NSN" images import --no-unpack "$f" 2>&1); then
				note=" (imported with --no-unpack: ctr 1.6 cannot unpack the artifacts, from the source too)"
			else out="FAIL $out"; fi
		fi
		if [[ $out == "FAIL "* ]]; then
			nok "$what: ctr images import" "\`ctr -n n$NSN images import --snapshotter native $f\`: $(tail -c 400 <<<"$out")"
		else
			got=$(CTR -n "n$NSN" images ls -q 2>&1 | NM key | sort -u)
			missing=$(comm -23 <(echo "$want") <(echo "$got") | words)
			if [ -n "$missing" ]; then nok "$what: ctr images ls lists every source name" "lacks $missing (has: $(words <<<"$got"))"
			elif [ -z "$want" ]; then ok "$what: ctr images import$note (the source has no full names; has: $(words <<<"$got" | cut -c1-200))"
			else ok "$what: ctr images ls lists every source name ($(words <<<"$want"))$note"; fi
		fi
	elif have containerd && have ctr; then nok "$what: ctr images import" "containerd not running"
	else skip "$what: ctr images import" "containerd/ctr not installed"; fi
	if have podman; then
		export P_ROOT=$T/podman-$NSN
		if ! out=$(P load -q -i "$f" 2>&1); then
			if [ "$fmt" = oci-archive ] && grep -q 'more than one image in oci' <<<"$out"; then
				skip "$what: podman load" "podman 4.3 loads one image per oci-archive: $out"
			else nok "$what: podman load" "\`podman load -i $f\`: $out"; fi
		else
			got=$(P images --format '{{.Repository}}:{{.Tag}}' 2>&1 | NM key | sort -u)
			missing=$(comm -23 <(echo "$want") <(echo "$got") | words)
			if [ -n "$missing" ]; then nok "$what: podman images lists every source name" "lacks $missing (has: $(words <<<"$got"))"
			elif [ -z "$want" ]; then ok "$what: podman load (the source has no full names; has: $(words <<<"$got"))"
			else ok "$what: podman images lists every source name ($(words <<<"$want"))"; fi
		fi
		rm -rf "$P_ROOT"; unset P_ROOT
	else skip "$what: podman load" "podman not installed"; fi
}

# ---------------------------------------------------------------- every source, every target
i=0
for s in "${SOURCES[@]}"; do
	IFS='|' read -r label ref <<<"$s"
	i=$((i + 1))
	ij=$W/log/src$i.json
	if ! S inspect --json "$ref" > "$ij" 2> "$ij.err"; then nok "$label: strata inspect --json" "$(head -c 300 "$ij.err")"; continue; fi
	for fmt in oci oci-archive docker-archive; do
		id=s$i-$fmt
		case $fmt in oci) dst=$W/out/$id ;; *) dst=$W/out/$id.tar ;; esac
		what="$label -> $fmt"
		opts=() only=
		if ! cv "$id" "$ref" "$fmt:$dst"; then
			if [ $fmt = docker-archive ] && [ $RC = 2 ] && grep -q -- '--platform' "$W/log/$id.err"; then
				opts=(--platform linux/amd64) only=images what="$what (--platform linux/amd64)"
				cv "$id" "${opts[@]}" "$ref" "$fmt:$dst" || { nok "$what" "$(why "$id")"; continue; }
			else nok "$what" "$(why "$id")"; continue; fi
		fi
		# a docker-archive holds images only: its names are those of the images
		[ $fmt = docker-archive ] && only=images
		d=$dst
		if [ $fmt != oci ]; then
			d=$W/x/$id; mkdir -p "$d"
			tar -xf "$dst" -C "$d" 2> "$T/tar.err" || { nok "$what" "tar -xf $dst: $(head -c 200 "$T/tar.err")"; continue; }
		fi
		srcd=; case $ref in oci:*) srcd=${ref#oci:} ;; esac
		layout_checks "$what" "$d" "$ij" "${only:--}" "" "$srcd"
		if [ $fmt = docker-archive ]; then
			want=$(NM full "$ij" images | sort -u)
			got=$(jq -r '.[].RepoTags // [] | .[]' "$d/manifest.json" 2>&1 | NM key | sort -u)
			missing=$(comm -23 <(echo "$want") <(echo "$got") | words)
			[ -z "$missing" ] && ok "$what: manifest.json RepoTags hold every full source name" || nok "$what: manifest.json RepoTags" "lack $missing (has: $(words <<<"$got"))"
		fi
		[ $fmt != oci ] && loads "$what" "$dst" "$ij" "$fmt" $only
	done
	# docker-archive -> oci -> docker-archive: the source's RepoTags, per config, exactly
	case $ref in oci:*) continue ;; esac
	[ "$(S inspect --json "$ref" 2>/dev/null | jq -r '.format // empty')" = docker-archive ] || [[ $ref == *.tar ]] || continue
	what="$label: docker-archive -> oci -> docker-archive gives back the source's RepoTags"
	rt=$W/out/rt$i
	if ! tar -xOf "$ref" manifest.json > "$T/m0.json" 2>/dev/null; then continue; fi
	if ! cv "rt$i-1" "$ref" "oci:$rt.oci"; then nok "$what" "$(why "rt$i-1")"; continue; fi
	if ! cv "rt$i-2" "oci:$rt.oci" "docker-archive:$rt.tar"; then nok "$what" "$(why "rt$i-2")"; continue; fi
	pairs='[.[] | (.Config | sub("^(blobs/)?sha256[:/]"; "") | sub("\\.json$"; "")) as $c | (.RepoTags // [])[] | "\($c) \(.)"] | unique | .[]'
	a=$(jq -r "$pairs" "$T/m0.json" 2>&1)
	b=$(tar -xOf "$rt.tar" manifest.json 2>/dev/null | jq -r "$pairs" 2>&1)
	if [ "$a" = "$b" ]; then ok "$what ($(cut -d' ' -f2 <<<"$a" | words))"
	else nok "$what" "source: $(words <<<"$a"); after the round trip: $(words <<<"$b")"; fi
done

# ---------------------------------------------------------------- a name re-used in an existing layout
L=$W/out/reuse.oci
what="reuse: corpus/multi-b:1.0 again into a layout holding collide.tar"
if cv reuse-0 "$W/src/collide.tar" "oci:$L"; then
	cp "$L/index.json" "$T/reuse.before"; cp "$L/index.json" "$W/log/reuse.before.json"; (cd "$L" && find . | sort) > "$T/reuse.files0"
	old=$(jq -r '.manifests[] | select(.annotations["io.containerd.image.name"] == "docker.io/corpus/multi-b:1.0") | .digest' "$L/index.json")
	cv reuse-1 "$W/src/replace-b.tar" "oci:$L"
	(cd "$L" && find . | sort) > "$T/reuse.files1"
	if [ $RC != 2 ]; then nok "$what is refused (exit 2) without --replace" "$(why reuse-1)"
	elif ! cmp -s "$T/reuse.before" "$L/index.json" || ! cmp -s "$T/reuse.files0" "$T/reuse.files1"; then nok "$what is refused (exit 2) without --replace" "exit 2 but the layout changed"
	elif ! grep -q 'multi-b' "$W/log/reuse-1.err"; then nok "$what is refused (exit 2) without --replace" "the message does not name it: $(head -c 300 "$W/log/reuse-1.err")"
	else ok "$what is refused (exit 2) without --replace, the layout unchanged"; fi
	# the same with an explicit destination reference that is already a ref.name there
	cv reuse-2 "$W/src/replace-b.tar" "oci:$L:latest"
	if [ $RC = 2 ] && cmp -s "$T/reuse.before" "$L/index.json"; then ok "reuse: oci:DIR:latest where latest is a ref.name already is refused (exit 2)"
	else nok "reuse: oci:DIR:latest where latest is a ref.name already is refused (exit 2)" "$(why reuse-2)"; fi
	what="reuse: --replace puts the new corpus/multi-b:1.0 in place, the old image's own blobs go, the shared base stays"
	if ! cv reuse-3 --replace "$W/src/replace-b.tar" "oci:$L"; then nok "$what" "$(why reuse-3)"
	else
		new=$(jq -r '.manifests[] | select(.annotations["io.containerd.image.name"] == "docker.io/corpus/multi-b:1.0") | .digest' "$L/index.json")
		reach=$(NM reach "$L" | words)
		S inspect --json "$W/src/replace-b.tar" > "$T/rb.json" 2>/dev/null
		S inspect --json "oci:$L" > "$T/reuse.json" 2> "$T/reuse.err"
		ncfg=$(jq -r '.images[0].config.digest' "$T/rb.json")
		base=$(jq -r '.images[0].layers[0].diff_id' "$T/rb.json")
		if [ -z "$new" ] || [ "$new" = "$old" ] || [ "$(wc -w <<<"$new")" != 1 ]; then nok "$what" "index.json entries for docker.io/corpus/multi-b:1.0: '$new' (old $old)"
		elif [ -e "$L/blobs/sha256/${old#sha256:}" ]; then nok "$what" "the old manifest $old is still in blobs/"
		elif [ -n "$reach" ]; then nok "$what" "blobs vs index.json: $reach"
		elif [ "$(jq -r --arg c "$ncfg" '[.images[] | select(.config.digest == $c) | .tags[]] | sort | join(" ")' "$T/reuse.json")" != "corpus/multi-b:1.0" ] &&
			[ "$(jq -r --arg c "$ncfg" '[.images[] | select(.config.digest == $c) | .tags[]] | map(select(contains(":"))) | join(" ")' "$T/reuse.json")" = "" ]; then
			nok "$what" "strata inspect of the layout: $(jq -c '[.images[] | {c: .config.digest[7:19], tags}]' "$T/reuse.json")"
		elif ! jq -e --arg b "$base" '[.images[] | select(.tags | index("corpus/multi-a:1.0")) | .layers[0].diff_id] == [$b]' "$T/reuse.json" > /dev/null; then
			nok "$what" "image a lost its base: $(jq -c '.images' "$T/reuse.json" | head -c 300)"
		else ok "$what"; fi
		# the names of collide.tar again, now with the replacement as corpus/multi-b:1.0
		S inspect --json "$W/src/collide.tar" > "$T/collide.json" 2>/dev/null
		layout_checks "reuse: the layout after --replace" "$L" "$T/collide.json" - "$W/log/reuse.before.json"
		if have skopeo; then
			r=$(jq -r '.manifests[] | select(.annotations["io.containerd.image.name"] == "docker.io/corpus/multi-b:1.0") | .annotations["org.opencontainers.image.ref.name"]' "$L/index.json")
			c=$(SK inspect --config "oci:$L:$r" 2>&1 | jq -r '.rootfs.diff_ids | join(" ")' 2>&1)
			[ "$c" = "$(jq -r '.images[0].layers | map(.diff_id) | join(" ")' "$T/rb.json")" ] && ok "reuse: skopeo inspect oci:DIR:$r finds the replacement" || nok "reuse: skopeo inspect oci:DIR:$r finds the replacement" "$c"
		fi
	fi
else
	nok "$what" "$(why reuse-0)"
fi

# ---------------------------------------------------------------- adding to an existing layout
# a new name whose tag a staying entry uses: the full name is written
A1=$W/out/add1.oci
what="add: corpus/multi-b:1.0 into a layout holding twoentries.tar (ref.names 1.0, latest)"
if cv add1-0 "$W/src/twoentries.tar" "oci:$A1" && cp "$A1/index.json" "$W/log/add1.before.json" && cv add1-1 "$W/src/replace-b.tar" "oci:$A1"; then
	jq -s '{images: (.[0].images + .[1].images)}' <(S inspect --json "$W/src/twoentries.tar") <(S inspect --json "$W/src/replace-b.tar") > "$T/add1.json"
	layout_checks "$what" "$A1" "$T/add1.json" - "$W/log/add1.before.json"
else nok "$what" "$(why add1-1)"; fi
# the same image under the same names again: each name listed once (README: "simply listed once")
A2=$W/out/add2.oci
what="add: twoentries.tar (the same image, the same names) into a layout holding collide.tar"
if cv add2-0 "$W/src/collide.tar" "oci:$A2" && cp "$A2/index.json" "$W/log/add2.before.json" && cv add2-1 "$W/src/twoentries.tar" "oci:$A2"; then
	S inspect --json "$W/src/collide.tar" > "$T/add2.json" 2>/dev/null
	layout_checks "$what" "$A2" "$T/add2.json" - "$W/log/add2.before.json"
else nok "$what" "$(why add2-1)"; fi

ctd_stop
END=$(date +%s.%N)
echo "# names: $(awk -v a="$START" -v b="$END" 'BEGIN { printf "%.1f", b - a }')s" >&2
exit 0
