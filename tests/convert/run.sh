#!/bin/bash
# tests/convert/run.sh STRATA FIXTURES OUTDIR INTEROPDIR — end-to-end tests of `strata convert`.
#
#   FIXTURES    output dir of `python3 fixtures/gen.py DIR`
#   OUTDIR      work dir; this script owns OUTDIR/convert (wiped at start, kept afterwards for a look)
#   INTEROPDIR  output dir of `bash tests/interop/make-archives.sh DIR` (checks that need it skip without it)
#
# Prints one line per check: "ok - convert X", "not ok - convert X: why", "skip - convert X: why", and exits 0
# (2 on usage). As root it re-executes itself in a private mount namespace (`unshare -m`) so that podman and
# containerd keep all their state in a temp dir (see env.sh); without root those checks skip.
# STRATA_CONVERT_TMP sets where that temp dir goes (default /tmp).
set -u
HERE=$(cd "$(dirname "$0")" && pwd -P)

if [ $# -ne 4 ]; then echo "usage: $0 STRATA FIXTURES OUTDIR INTEROPDIR" >&2; exit 2; fi
STRATA=$1 FIX=$2 OUTDIR=$3 INTEROP=$4

ok()   { echo "ok - convert $1"; }
nok()  { local r=${2//$'\n'/ ⏎ }; echo "not ok - convert $1: ${r:0:900}"; }
skip() { local r=${2//$'\n'/ ⏎ }; echo "skip - convert $1: ${r:0:400}"; }

# ---------------------------------------------------------------- outer: paths, then the namespace
if [ -z "${STRATA_CONVERT_INNER:-}" ]; then
	case $STRATA in */*) STRATA=$(cd "$(dirname "$STRATA")" 2>/dev/null && pwd -P)/$(basename "$STRATA") ;; esac
	[ -d "$FIX" ] && FIX=$(cd "$FIX" && pwd -P)
	[ -d "$INTEROP" ] && INTEROP=$(cd "$INTEROP" && pwd -P)
	mkdir -p "$OUTDIR" && OUTDIR=$(cd "$OUTDIR" && pwd -P)
	base=${STRATA_CONVERT_TMP:-/tmp}
	hidden=
	for p in "$STRATA" "$FIX" "$OUTDIR" "$INTEROP" "$base"; do
		case "$p/" in /run/*|/var/run/*|/var/lib/*|/var/tmp/*|/etc/containers/*) hidden=$p ;; esac
	done
	if [ "$(id -u)" = 0 ] && [ -z "$hidden" ] && unshare -m --propagation private true 2>/dev/null; then
		STRATA_CONVERT_INNER=ns exec unshare -m --propagation private bash "$0" "$STRATA" "$FIX" "$OUTDIR" "$INTEROP"
	fi
	export STRATA_CONVERT_INNER=none
	if [ -n "$hidden" ]; then NS_WHY="$hidden is under a directory the namespace hides"
	elif [ "$(id -u)" != 0 ]; then NS_WHY="not root: no private mount namespace for podman/containerd state"
	else NS_WHY="unshare -m failed"; fi
else
	NS_WHY=
fi

. "$HERE/env.sh"
if [ "$STRATA_CONVERT_INNER" = ns ] && ! ns_enter 2>/dev/null; then
	STRATA_CONVERT_INNER=none NS_WHY="tmpfs mounts in the namespace failed"
fi

START=$(date +%s.%N)
if [ ! -x "$STRATA" ] && ! have "$STRATA"; then nok "strata binary" "not executable: $STRATA"; exit 0; fi
if [ ! -f "$FIX/fixtures.tsv" ]; then nok "fixtures" "no $FIX/fixtures.tsv (run python3 fixtures/gen.py $FIX)"; exit 0; fi
for t in jq python3 timeout tar gzip sha256sum cmp; do
	have "$t" || { skip "all" "$t not installed"; exit 0; }
done
HAVE_INTEROP=1; [ -d "$INTEROP" ] || HAVE_INTEROP=0

T=$(mktemp -d "${STRATA_CONVERT_TMP:-/tmp}/strata-convert.XXXXXX")
cleanup() { ctd_stop; rm -rf "$T"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
env_setup "$T"
# a private copy: the binary may be rebuilt while the checks run
if [ -x "$STRATA" ] && cp "$STRATA" "$T/strata" 2>/dev/null; then STRATA=$T/strata; fi

W=$OUTDIR/convert
rm -rf "$W"
mkdir -p "$W/log" "$W/rt" "$W/c" "$W/u" "$W/z" "$W/s" "$W/a" "$W/i"

S() { timeout 120 "$STRATA" "$@"; }
sha() { sha256sum | cut -c1-64; }

# cv ID ARGS... — run `strata convert ARGS`; stdout/stderr to $W/log/ID.{out,err}; RC and CMD are set
cv() {
	local id=$1; shift
	CMD="strata convert $*"; RC=0
	S convert "$@" > "$W/log/$id.out" 2> "$W/log/$id.err" || RC=$?
	LASTID=$id
	return $RC
}
# why [ID] — what the last (or the named) conversion said
why() {
	local id=${1:-$LASTID}
	echo "\`$CMD\` exit $RC: $(head -c 500 "$W/log/$id.err")"
}
# json REF OUT — strata inspect --json into OUT; 0 on success
json() { S inspect --json "$1" > "$2" 2> "$2.err"; }

# summary JSON MODE — one compact line per image, for comparisons
#   MODE tags: tags (docker.io/ and library/ removed), kind, platform, config digest, layer digests and diff_ids
#   MODE notags: the same without tags; MODE full: tags, manifest and index digests too
SUMJQ='def ntag: sub("^docker\\.io/"; "") | sub("^library/"; "");
def plat: "\(.platform.os // "?")/\(.platform.architecture // "?")\(if .platform.variant then "/" + .platform.variant else "" end)";
.images[] | {kind, platform: plat, config: .config.digest, layers: [.layers[].digest], diff_ids: [.layers[].diff_id]}
	+ (if $m == "notags" then {} else {tags: ([(.tags // [])[] | ntag] | unique)} end)
	+ (if $m == "full" then {manifest: .manifest.digest, index: .index_digest} else {} end)'
summary() { jq -c --arg m "$2" "$SUMJQ" "$1"; }

# same_images A_REF B_REF MODE — 0 when the summaries match; else DIFF holds the difference
same_images() {
	local a=$T/same.a.json b=$T/same.b.json
	DIFF=
	json "$1" "$a" || { DIFF="strata inspect --json $1 failed: $(head -c 300 "$a.err")"; return 1; }
	json "$2" "$b" || { DIFF="strata inspect --json $2 failed: $(head -c 300 "$b.err")"; return 1; }
	summary "$a" "$3" > "$T/same.a"; summary "$b" "$3" > "$T/same.b"
	if [ ! -s "$T/same.a" ]; then DIFF="no images in $1"; return 1; fi
	cmp -s "$T/same.a" "$T/same.b" && return 0
	DIFF="$1 vs $2: $(diff "$T/same.a" "$T/same.b" | grep '^[<>]' | head -n 4 | cut -c1-400)"
	return 1
}
# sverify REF — strata verify; VOUT holds the output
sverify() { VOUT=$(S verify "$1" 2>&1); }
# no_tmp DIR... — 0 when no *.strata-tmp* file or dir is under/next to DIR; TMPS lists them
no_tmp() {
	TMPS=$(find "$@" -name '*.strata-tmp*' 2>/dev/null | head -n 5)
	[ -z "$TMPS" ]
}
# layer digests / diff_ids / config digests of a strata inspect JSON, one per line
digests() { jq -r '.images[].layers[].digest' "$1"; }
diffids() { jq -r '.images[].layers[].diff_id' "$1"; }

# ================================================================ 1. round trips with --keep
# docker-archive -> oci -> docker-archive
rt_docker() {
	local id=$1 src=$2 what="round trip $1: docker-archive -> oci -> docker-archive keeps tags, config and layer digests"
	[ -f "$src" ] || { skip "$what" "no $src"; return; }
	cv "rt-$id-1" --keep "docker-archive:$src" "oci:$W/rt/$id.oci" || { nok "$what" "$(why)"; return; }
	same_images "docker-archive:$src" "oci:$W/rt/$id.oci" notags || { nok "$what" "after step 1 (oci): $DIFF"; return; }
	cv "rt-$id-2" --keep "oci:$W/rt/$id.oci" "docker-archive:$W/rt/$id.tar" || { nok "$what" "$(why)"; return; }
	same_images "docker-archive:$src" "docker-archive:$W/rt/$id.tar" tags || { nok "$what" "$DIFF"; return; }
	sverify "$W/rt/$id.tar" || { nok "$what" "strata verify $W/rt/$id.tar: $VOUT"; return; }
	ok "$what"
}
# oci -> oci-archive -> oci
rt_oci() {
	local id=$1 src=$2 what="round trip $1: oci -> oci-archive -> oci keeps tags, manifest, config and layer digests"
	[ -d "$src" ] || { skip "$what" "no $src"; return; }
	cv "rt-$id-1" --keep "oci:$src" "oci-archive:$W/rt/$id.oci.tar" || { nok "$what" "$(why)"; return; }
	same_images "oci:$src" "oci-archive:$W/rt/$id.oci.tar" full || { nok "$what" "after step 1 (oci-archive): $DIFF"; return; }
	cv "rt-$id-2" --keep "oci-archive:$W/rt/$id.oci.tar" "oci:$W/rt/$id.oci" || { nok "$what" "$(why)"; return; }
	same_images "oci:$src" "oci:$W/rt/$id.oci" full || { nok "$what" "$DIFF"; return; }
	sverify "oci:$W/rt/$id.oci" || { nok "$what" "strata verify oci:$W/rt/$id.oci: $VOUT"; return; }
	ok "$what"
}
for n in docker-classic docker-classic-duplayer docker-skopeo docker-manifest-first docker-v25 docker-containerd \
	docker-ggcr docker-untagged docker-multi; do
	rt_docker "$n" "$FIX/$n.tar"
done
for n in oci-gzip oci-zstd oci-uncompressed oci-multimember oci-multiarch; do rt_oci "$n" "$FIX/$n"; done
if [ $HAVE_INTEROP = 1 ]; then
	for n in podman-docker podman-multi ctr-export; do rt_docker "interop-$n" "$INTEROP/$n.tar"; done
	for n in skopeo-oci-gzip skopeo-oci-zstd umoci-layout multi; do rt_oci "interop-$n" "$INTEROP/$n"; done
else
	skip "round trips of tests/interop archives" "no $INTEROP"
fi

# the multi-image docker-archive: both images and both tags, in the OCI step and at the end
what="docker-multi.tar -> oci -> docker-archive: 2 images, tags strata/multi:a and strata/multi:b in both"
if [ -f "$W/rt/docker-multi.tar" ]; then
	json "oci:$W/rt/docker-multi.oci" "$T/m1.json"; json "$W/rt/docker-multi.tar" "$T/m2.json"
	t1=$(jq -c '[.images[] | [.tags[] | sub("^docker\\.io/"; "") | select(contains("/"))] | sort] ' "$T/m1.json")
	t2=$(jq -c '[.images[] | [.tags[] | sub("^docker\\.io/"; "")] | sort]' "$T/m2.json")
	want='[["strata/multi:a"],["strata/multi:b"]]'
	if [ "$t1" = "$want" ] && [ "$t2" = "$want" ]; then ok "$what"
	else nok "$what" "want $want; oci step has $t1 (tags with a name), docker-archive has $t2"; fi
else
	skip "$what" "the round trip above failed"
fi

# an OCI source whose ref.name is a full reference (skopeo and podman write them so) names the docker-archive image
what="interop podman-oci.tar (ref.name localhost/strata-app:2) -> docker-archive: RepoTags [localhost/strata-app:2]"
if [ $HAVE_INTEROP = 1 ]; then
	if cv podoci-name --keep "oci-archive:$INTEROP/podman-oci.tar" "docker-archive:$W/rt/podoci.tar"; then
		got=$(tar -xOf "$W/rt/podoci.tar" manifest.json | jq -c '[.[].RepoTags]')
		[ "$got" = '[["localhost/strata-app:2"]]' ] && ok "$what" || nok "$what" "\`$CMD\`: manifest.json RepoTags $got (strata inspect of the source says tags $(S inspect --json "$INTEROP/podman-oci.tar" | jq -c '[.images[].tags]'))"
	else nok "$what" "$(why)"; fi
else skip "$what" "no $INTEROP"; fi

# --tag
what="--tag strata/renamed:2 --tag other/name:5 -> docker-archive: RepoTags are those two"
if cv tag-docker --tag strata/renamed:2 --tag other/name:5 "$FIX/docker-classic.tar" "docker-archive:$W/rt/tagged.tar"; then
	got=$(tar -xOf "$W/rt/tagged.tar" manifest.json | jq -c '[.[].RepoTags[] | sub("^docker\\.io/"; "")]')
	[ "$got" = '["strata/renamed:2","other/name:5"]' ] && ok "$what" || nok "$what" "RepoTags $got"
else nok "$what" "$(why)"; fi
what="oci:DIR:1.0 --tag strata/x:1.0 writes one index.json entry per ref.name (umoci unpack DIR:1.0 works)"
if cv tag-oci --tag strata/x:1.0 "$FIX/docker-classic.tar" "oci:$W/rt/tagged.oci:1.0"; then
	refs=$(jq -c '[.manifests[].annotations["org.opencontainers.image.ref.name"]]' "$W/rt/tagged.oci/index.json")
	if [ "$(jq 'length != (unique | length)' <<<"$refs")" = true ]; then
		nok "$what" "\`$CMD\` wrote ref.names $refs: $(jq -c '[.manifests[] | {digest: .digest[7:19], annotations}]' "$W/rt/tagged.oci/index.json")"
	elif have umoci && ! out=$(U unpack --rootless --image "$W/rt/tagged.oci:1.0" "$W/rt/tagged.bundle" 2>&1); then nok "$what" "umoci unpack: $out"
	else ok "$what"; fi
else nok "$what" "$(why)"; fi

# a multi-platform OCI layout into oci keeps the index
what="oci-multiarch -> oci keeps the index (same index digest, same manifests, every platform)"
if cv multiarch-oci --keep "oci:$FIX/oci-multiarch" "oci:$W/rt/multiarch-direct.oci"; then
	if ! same_images "oci:$FIX/oci-multiarch" "oci:$W/rt/multiarch-direct.oci" full; then nok "$what" "$DIFF"
	else
		src_idx=$(jq -c '[.manifests[] | {mediaType, digest, size}]' "$FIX/oci-multiarch/index.json")
		out_idx=$(jq -c '[.manifests[] | {mediaType, digest, size}]' "$W/rt/multiarch-direct.oci/index.json")
		plats=$(jq -c '[.images[] | "\(.platform.os)/\(.platform.architecture)\(if .platform.variant then "/" + .platform.variant else "" end)"] | sort' "$T/same.b.json")
		idig=$(jq -r '[.images[].index_digest] | unique | join(",")' "$T/same.b.json")
		if [ "$src_idx" != "$out_idx" ]; then nok "$what" "index.json descriptors differ: source $src_idx, output $out_idx"
		elif [ "$plats" != '["linux/amd64","linux/arm64/v8","unknown/unknown"]' ]; then nok "$what" "platforms $plats"
		elif [ "$idig" != "$(jq -r '.manifests[0].digest' "$FIX/oci-multiarch/index.json")" ]; then nok "$what" "index digest $idig"
		else ok "$what"; fi
	fi
else
	nok "$what" "$(why)"
fi

# --platform picks one image of an index for a docker-archive
what="oci-multiarch --platform linux/arm64/v8 -> docker-archive holds that one image"
if cv platform-arm64 --platform linux/arm64/v8 "oci:$FIX/oci-multiarch" "docker-archive:$W/rt/multiarch-arm64.tar"; then
	json "oci:$FIX/oci-multiarch" "$T/ma.json"
	json "$W/rt/multiarch-arm64.tar" "$T/arm.json"
	want=$(jq -c '.images = [.images[] | select(.platform.architecture == "arm64")]' "$T/ma.json" > "$T/ma-arm.json"; summary "$T/ma-arm.json" notags)
	got=$(summary "$T/arm.json" notags)
	if [ "$(jq '.images | length' "$T/arm.json")" != 1 ]; then nok "$what" "$(jq '.images | length' "$T/arm.json") images in the output"
	elif [ "$want" != "$got" ]; then nok "$what" "want $want got $got"
	elif ! sverify "$W/rt/multiarch-arm64.tar"; then nok "$what" "strata verify: $VOUT"
	else ok "$what"; fi
else
	nok "$what" "$(why)"
fi

what="oci-multiarch -> docker-archive without --platform fails with exit 2 naming the platforms, writes nothing"
cv platform-none "oci:$FIX/oci-multiarch" "docker-archive:$W/rt/multiarch-none.tar"
err=$(cat "$W/log/platform-none.err")
if [ $RC -ne 2 ]; then nok "$what" "$(why)"
elif ! grep -q 'linux/amd64' <<<"$err" || ! grep -q 'linux/arm64/v8' <<<"$err"; then nok "$what" "stderr does not name linux/amd64 and linux/arm64/v8: $err"
elif [ -e "$W/rt/multiarch-none.tar" ] || ! no_tmp "$W/rt"; then nok "$what" "left $W/rt/multiarch-none.tar or temp files $TMPS"
else ok "$what"; fi

# ================================================================ 2. real consumers
# outputs that the consumers read: ID|strata-ref-to-make|source|extra convert options
mk() {  # mk ID SRC DST [OPTS...]
	local id=$1 src=$2 dst=$3; shift 3
	cv "c-$id" "$@" "$src" "$dst" || { nok "consumer output $id" "$(why)"; return 1; }
}
declare -A MADE
make_out() { mk "$@" && MADE[$1]=1; }
make_out classic-oci     "$FIX/docker-classic.tar" "oci:$W/c/classic.oci" --keep
make_out classic-gz-oci  "$FIX/docker-classic.tar" "oci:$W/c/classic-gz.oci" --gzip
make_out ocigz-oci       "oci:$FIX/oci-gzip"       "oci:$W/c/ocigz.oci" --keep
make_out ocigz-dec-oci   "oci:$FIX/oci-gzip"       "oci:$W/c/ocigz-dec.oci:plain" --decompress
make_out multi-oci       "$FIX/docker-multi.tar"   "oci:$W/c/multi.oci" --keep
make_out classic-ociar   "$FIX/docker-classic.tar" "oci-archive:$W/c/classic.oci.tar" --keep
make_out ocizstd-ociar   "oci:$FIX/oci-zstd"       "oci-archive:$W/c/ocizstd.oci.tar:zs" --keep
make_out multi-ociar     "$FIX/docker-multi.tar"   "oci-archive:$W/c/multi.oci.tar" --keep
make_out classic-docker  "$FIX/docker-classic.tar" "docker-archive:$W/c/classic.docker.tar" --keep
make_out multi-docker    "$FIX/docker-multi.tar"   "docker-archive:$W/c/multi.docker.tar" --keep
make_out ocigz-docker    "oci:$FIX/oci-gzip"       "docker-archive:$W/c/ocigz.docker.tar:strata/ocigz:1.0" --keep
make_out multiarch-oci   "oci:$FIX/oci-multiarch"  "oci:$W/c/multiarch.oci" --keep
if [ $HAVE_INTEROP = 1 ]; then
	make_out podoci-docker "oci-archive:$INTEROP/podman-oci.tar" "docker-archive:$W/c/podoci.docker.tar" --keep
	make_out podmulti-oci  "docker-archive:$INTEROP/podman-multi.tar" "oci:$W/c/podmulti.oci" --gzip
fi

# docker-archive outputs with the OCI half removed: podman load tries oci-archive before docker-archive and
# containerd prefers index.json, so on a single-image hybrid they read the OCI half; these copies make them read
# manifest.json (as docker load does)
docker_only() {  # docker_only ID — $W/c/ID.tar from $W/c/<file of ID>
	local src=$2 dst=$W/c/$1.tar
	[ -n "${MADE[$3]:-}" ] || return 0
	# (GNU tar --delete corrupts archives that are not padded to 10240 bytes: copy with Python's tarfile)
	python3 -c 'import sys, tarfile
with tarfile.open(sys.argv[1]) as i, tarfile.open(sys.argv[2], "w", format=tarfile.PAX_FORMAT) as o:
    for m in i:
        if m.name not in ("oci-layout", "index.json"):
            o.addfile(m, i.extractfile(m) if m.isfile() else None)' "$src" "$dst" && MADE[$1]=1
}
docker_only classic-dockeronly "$W/c/classic.docker.tar" classic-docker
docker_only ocigz-dockeronly "$W/c/ocigz.docker.tar" ocigz-docker
[ $HAVE_INTEROP = 1 ] && docker_only podoci-dockeronly "$W/c/podoci.docker.tar" podoci-docker

# ---- skopeo inspect + skopeo copy to dir: from every output
# LABEL|SKOPEO REF|STRATA REF (the same image)|ID that must exist
SKOPEO_CASES=(
	"oci:classic.oci:1.0|oci:$W/c/classic.oci:1.0|oci:$W/c/classic.oci:1.0|classic-oci"
	"oci:classic-gz.oci (gzip)|oci:$W/c/classic-gz.oci:1.0|oci:$W/c/classic-gz.oci:1.0|classic-gz-oci"
	"oci:ocigz.oci|oci:$W/c/ocigz.oci:1.0|oci:$W/c/ocigz.oci:1.0|ocigz-oci"
	"oci:ocigz-dec.oci:plain (--decompress)|oci:$W/c/ocigz-dec.oci:plain|oci:$W/c/ocigz-dec.oci:plain|ocigz-dec-oci"
	"oci:multi.oci:b|oci:$W/c/multi.oci:b|oci:$W/c/multi.oci:b|multi-oci"
	"oci:multiarch.oci:1.0 (amd64)|oci:$W/c/multiarch.oci:1.0|oci:$W/c/multiarch.oci:1.0|multiarch-oci"
	"oci-archive:classic.oci.tar|oci-archive:$W/c/classic.oci.tar:1.0|oci-archive:$W/c/classic.oci.tar:1.0|classic-ociar"
	"oci-archive:ocizstd.oci.tar:zs (zstd)|oci-archive:$W/c/ocizstd.oci.tar:zs|oci-archive:$W/c/ocizstd.oci.tar:zs|ocizstd-ociar"
	"oci-archive:multi.oci.tar:a|oci-archive:$W/c/multi.oci.tar:a|oci-archive:$W/c/multi.oci.tar:a|multi-ociar"
	"docker-archive:classic.docker.tar|docker-archive:$W/c/classic.docker.tar|docker-archive:$W/c/classic.docker.tar|classic-docker"
	"docker-archive:multi.docker.tar:@0|docker-archive:$W/c/multi.docker.tar:@0|docker-archive:$W/c/multi.docker.tar:@0|multi-docker"
	"docker-archive:multi.docker.tar:strata/multi:b|docker-archive:$W/c/multi.docker.tar:docker.io/strata/multi:b|docker-archive:$W/c/multi.docker.tar:@1|multi-docker"
	"docker-archive:ocigz.docker.tar (gzip layers)|docker-archive:$W/c/ocigz.docker.tar|docker-archive:$W/c/ocigz.docker.tar|ocigz-docker"
	"oci-archive view of the docker-archive output classic.docker.tar|oci-archive:$W/c/classic.docker.tar:1.0|oci-archive:$W/c/classic.docker.tar:1.0|classic-docker"
)
[ $HAVE_INTEROP = 1 ] && SKOPEO_CASES+=(
	"docker-archive:podoci.docker.tar (podman save --format oci-archive -> docker-archive)|docker-archive:$W/c/podoci.docker.tar|docker-archive:$W/c/podoci.docker.tar|podoci-docker"
	"oci:podmulti.oci (podman save -m -> oci --gzip)|oci:$W/c/podmulti.oci:2|oci:$W/c/podmulti.oci:2|podmulti-oci"
)
if have skopeo; then
	for c in "${SKOPEO_CASES[@]}"; do
		IFS='|' read -r label skref stref id <<<"$c"
		what="skopeo inspect + skopeo copy to dir: from $label"
		[ -n "${MADE[$id]:-}" ] || { skip "$what" "output $id was not made"; continue; }
		if ! json "$stref" "$T/sk-strata.json"; then nok "$what" "strata inspect --json $stref: $(head -c 300 "$T/sk-strata.json.err")"; continue; fi
		# skopeo reports layer digests for oci transports and diff_ids for docker-archive (it decompresses)
		case $skref in
		docker-archive:*) want=$(jq -c '[.images[0].layers[].diff_id]' "$T/sk-strata.json") ;;
		*) want=$(jq -c '[.images[0].layers[].digest]' "$T/sk-strata.json") ;;
		esac
		if ! out=$(SK inspect "$skref" 2>&1); then nok "$what" "\`skopeo inspect $skref\`: $out"; continue; fi
		got=$(jq -c '.Layers' <<<"$out" 2>/dev/null)
		if [ "$got" != "$want" ]; then nok "$what" "skopeo inspect $skref Layers $got, strata says $want"; continue; fi
		d=$T/skdir; rm -rf "$d"
		if ! out=$(SK copy -q "$skref" "dir:$d" 2>&1); then nok "$what" "\`skopeo copy $skref dir:\`: $out"; continue; fi
		cfg=$(jq -r '.images[0].config.digest' "$T/sk-strata.json")
		if [ ! -f "$d/${cfg#sha256:}" ]; then nok "$what" "skopeo copy wrote no config blob $cfg: $(ls "$d" | tr '\n' ' ')"; continue; fi
		ok "$what"
	done
	# the other platform of the multi-platform output
	what="skopeo inspect --override-arch arm64 --override-variant v8 oci:multiarch.oci:1.0 picks the arm64 image of the index"
	if [ -n "${MADE[multiarch-oci]:-}" ]; then
		want=$(jq -c '.images[] | select(.platform.architecture == "arm64") | {Digest: .index_digest, Architecture: .platform.architecture, Layers: [.layers[].digest]}' "$T/ma.json" 2>/dev/null)
		if out=$(SK --override-arch arm64 --override-variant v8 inspect "oci:$W/c/multiarch.oci:1.0" 2>&1); then
			got=$(jq -c '{Digest, Architecture, Layers}' <<<"$out")
			[ "$got" = "$want" ] && ok "$what" || nok "$what" "skopeo says $got, source's arm64 image (Digest = the index) is $want"
		else nok "$what" "$out"; fi
	else skip "$what" "output not made"; fi
else
	skip "skopeo inspect/copy of outputs" "skopeo not installed"
fi

# ---- every OCI layout written so far: ref.name values unique within index.json (umoci, skopeo: "ambiguous")
what="every index.json written by convert has unique ref.name values"
dups=
while IFS= read -r f; do
	d=$(jq -r '[.manifests[].annotations["org.opencontainers.image.ref.name"] // empty] | group_by(.) | map(select(length > 1) | .[0]) | join(",")' "$f" 2>/dev/null)
	[ -n "$d" ] && dups+="${f#"$W/"}: $d; "
done < <(find "$W/rt" "$W/c" -name index.json ! -path "$W/rt/tagged.oci/*")   # tagged.oci: its own check above
[ -z "$dups" ] && ok "$what" || nok "$what" "$dups"

# ---- oci-image-tool validate (OCI media types only: it rejects +zstd and Docker media types)
OIT_CASES=(
	"classic.oci|$W/c/classic.oci|1.0|classic-oci"
	"classic-gz.oci|$W/c/classic-gz.oci|1.0|classic-gz-oci"
	"ocigz.oci|$W/c/ocigz.oci|1.0|ocigz-oci"
	"ocigz-dec.oci|$W/c/ocigz-dec.oci|plain|ocigz-dec-oci"
	"multi.oci (tag a)|$W/c/multi.oci|a|multi-oci"
	"multi.oci (tag b)|$W/c/multi.oci|b|multi-oci"
	"classic.oci.tar extracted|tar:$W/c/classic.oci.tar|1.0|classic-ociar"
	"classic.docker.tar extracted (the OCI half of the hybrid)|tar:$W/c/classic.docker.tar|1.0|classic-docker"
	"multi.docker.tar extracted (the OCI half of the hybrid)|tar:$W/c/multi.docker.tar|a|multi-docker"
)
if have oci-image-tool; then
	for c in "${OIT_CASES[@]}"; do
		IFS='|' read -r label dir ref id <<<"$c"
		what="oci-image-tool validate --type image --ref name=$ref $label"
		[ -n "${MADE[$id]:-}" ] || { skip "$what" "output $id was not made"; continue; }
		case $dir in tar:*)
			x=$T/oit-$id; rm -rf "$x"; mkdir -p "$x"
			tar -xf "${dir#tar:}" -C "$x" || { nok "$what" "tar -x failed"; continue; }
			dir=$x ;;
		esac
		if out=$(timeout 60 oci-image-tool validate --type image --ref "name=$ref" "$dir" 2>&1); then ok "$what"
		else nok "$what" "$out"; fi
	done
else
	skip "oci-image-tool validate of outputs" "oci-image-tool not installed"
fi

# ---- umoci unpack: the rootfs of strata's OCI output equals the one of a reference made by skopeo (or the OCI source)
# unpack LAYOUT:TAG NAME — umoci unpack --rootless into $W/u/NAME; tree listing in $W/u/NAME.tree
unpack() {
	rm -rf "$W/u/$2"
	UOUT=$(U unpack --rootless --image "$1" "$W/u/$2" 2>&1) || return 1
	python3 "$HERE/tree.py" "$W/u/$2/rootfs" > "$W/u/$2.tree"
}
# umoci_cmp LABEL REFLAYOUT:TAG OUTLAYOUT:TAG
umoci_cmp() {
	local what="umoci unpack of $1 gives the same rootfs tree as the reference"
	if ! unpack "$2" "ref-$1"; then nok "$what" "reference \`umoci unpack --rootless --image $2\`: $UOUT"; return; fi
	if ! unpack "$3" "out-$1"; then nok "$what" "\`umoci unpack --rootless --image $3\`: $UOUT"; return; fi
	if [ "$(wc -l < "$W/u/ref-$1.tree")" -lt 3 ]; then nok "$what" "reference tree has almost nothing"; return; fi
	if cmp -s "$W/u/ref-$1.tree" "$W/u/out-$1.tree"; then ok "$what"
	else nok "$what" "$(diff "$W/u/ref-$1.tree" "$W/u/out-$1.tree" | grep '^[<>]' | head -n 6)"; fi
}
if have umoci && have skopeo; then
	# references from skopeo for docker-archive sources, the layout itself for OCI sources (copied: umoci may lock it)
	for n in docker-classic docker-classic-duplayer docker-ggcr docker-v25; do
		what="umoci unpack of $n (strata oci output) gives the same rootfs tree as the reference"
		if ! out=$(SK copy -q "docker-archive:$FIX/$n.tar" "oci:$W/u/skopeo-$n:ref" 2>&1); then nok "$what" "reference skopeo copy: $out"; continue; fi
		if ! cv "u-$n" --keep "$FIX/$n.tar" "oci:$W/u/strata-$n:out"; then nok "$what" "$(why)"; continue; fi
		umoci_cmp "$n" "$W/u/skopeo-$n:ref" "$W/u/strata-$n:out"
	done
	[ -n "${MADE[classic-gz-oci]:-}" ] && umoci_cmp "docker-classic --gzip" "$W/u/skopeo-docker-classic:ref" "$W/c/classic-gz.oci:1.0"
	cp -a "$FIX/oci-gzip" "$W/u/src-oci-gzip"
	[ -n "${MADE[ocigz-dec-oci]:-}" ] && umoci_cmp "oci-gzip --decompress" "$W/u/src-oci-gzip:1.0" "$W/c/ocigz-dec.oci:plain"
	cp -a "$FIX/oci-multimember" "$W/u/src-oci-multimember"
	if cv u-mm --decompress "oci:$FIX/oci-multimember" "oci:$W/u/strata-mm:out"; then
		umoci_cmp "oci-multimember --decompress" "$W/u/src-oci-multimember:1.0" "$W/u/strata-mm:out"
	else nok "umoci unpack of oci-multimember --decompress" "$(why)"; fi
	if [ $HAVE_INTEROP = 1 ]; then
		cp -a "$INTEROP/umoci-layout" "$W/u/src-umoci-layout"
		if cv u-umoci --gzip "oci:$INTEROP/umoci-layout:base" "oci:$W/u/strata-umoci:out"; then
			umoci_cmp "interop umoci-layout" "$W/u/src-umoci-layout:base" "$W/u/strata-umoci:out"
		else nok "umoci unpack of interop umoci-layout" "$(why)"; fi
		if SK copy -q "docker-archive:$INTEROP/podman-multi.tar:@1" "oci:$W/u/skopeo-podmulti:ref" >/dev/null 2>&1 && [ -n "${MADE[podmulti-oci]:-}" ]; then
			umoci_cmp "interop podman-multi.tar (image 2, --gzip)" "$W/u/skopeo-podmulti:ref" "$W/c/podmulti.oci:2"
		else skip "umoci unpack of interop podman-multi.tar" "reference or output not made"; fi
	fi
else
	skip "umoci unpack comparisons" "umoci or skopeo not installed"
fi

# ---- podman load (own store per archive, vfs) and containerd import (ctr, native snapshotter: layers unpacked)
# expected names: full references among strata's tags (docker.io/ added where the name has no registry)
full_names() {
	jq -r '.images[].tags[]' "$1" | grep / | awk -F/ '{ if ($1 ~ /[.:]/ || $1 == "localhost") print; else print "docker.io/" $0 }' | sort -u
}
LOAD_CASES=(
	"docker-archive classic.docker.tar|$W/c/classic.docker.tar|classic-docker"
	"docker-archive multi.docker.tar (2 images)|$W/c/multi.docker.tar|multi-docker"
	"docker-archive ocigz.docker.tar (gzip layers)|$W/c/ocigz.docker.tar|ocigz-docker"
	"oci-archive classic.oci.tar|$W/c/classic.oci.tar|classic-ociar"
	"oci-archive multi.oci.tar (2 images)|$W/c/multi.oci.tar|multi-ociar"
)
# the 4th field, when present, lists the names that must appear (else: the full names among strata's tags)
LOAD_CASES+=(
	"docker-archive classic.docker.tar, docker half only (oci-layout, index.json deleted)|$W/c/classic-dockeronly.tar|classic-dockeronly|docker.io/strata/sample:1.0"
	"docker-archive ocigz.docker.tar, docker half only|$W/c/ocigz-dockeronly.tar|ocigz-dockeronly|docker.io/strata/ocigz:1.0"
)
[ $HAVE_INTEROP = 1 ] && LOAD_CASES+=(
	"docker-archive podoci.docker.tar (from podman's oci-archive, ref.name localhost/strata-app:2)|$W/c/podoci.docker.tar|podoci-docker|localhost/strata-app:2"
	"docker-archive podoci.docker.tar, docker half only|$W/c/podoci-dockeronly.tar|podoci-dockeronly|localhost/strata-app:2"
)
if [ "$STRATA_CONVERT_INNER" != ns ]; then
	skip "podman load of outputs" "$NS_WHY"
	skip "ctr images import of outputs" "$NS_WHY"
else
	if have podman; then
		k=0
		for c in "${LOAD_CASES[@]}"; do
			IFS='|' read -r label file id names <<<"$c"
			what="podman load -i $label: podman images lists every image and tag, IDs = config digests"
			[ -n "${MADE[$id]:-}" ] || { skip "$what" "output $id was not made"; continue; }
			k=$((k + 1)); export P_ROOT=$T/podman-$k
			json "$file" "$T/pl.json"
			if ! out=$(P load -q -i "$file" 2>&1); then
				if [[ $file == *.oci.tar ]] && grep -q 'more than one image in oci' <<<"$out"; then
					skip "$what" "podman 4.3 loads one image per oci-archive: $out"
				else nok "$what" "\`podman load -i $file\`: $out"; fi
				continue
			fi
			want_n=$(full_names "$T/pl.json")
			[ -n "$names" ] && want_n=$(tr ' ' '\n' <<<"$names" | sort -u)
			# a short name as the source wrote it (RepoTags "strata/multi:a") is docker.io's for
			# Docker and localhost's for podman 4.3 loading a docker-archive: either is that name
			got_n=$(P images --format '{{.Repository}}:{{.Tag}}' 2>&1 | sed -E 's#^(docker\.io|localhost)/##' | sort -u)
			want_n=$(sed -E 's#^(docker\.io|localhost)/##' <<<"$want_n" | sort -u)
			want_id=$(jq -r '.images[].config.digest' "$T/pl.json" | sed 's/^sha256://' | sort -u)
			got_id=$(P images --no-trunc --format '{{.ID}}' 2>&1 | sed 's/^sha256://' | sort -u)
			missing=$(comm -23 <(echo "$want_n") <(echo "$got_n") | tr '\n' ' ')
			if [ -z "$want_n" ]; then nok "$what" "strata inspect shows no full tag in $file"
			elif [ -n "$missing" ]; then nok "$what" "podman images lacks $missing(has: $(echo $got_n))"
			elif [ "$want_id" != "$got_id" ]; then nok "$what" "image IDs $(echo $got_id), config digests $(echo $want_id)"
			else ok "$what"; fi
		done
		unset P_ROOT
	else
		skip "podman load of outputs" "podman not installed"
	fi
	if have containerd && have ctr; then
		if ctd_start; then
			k=0
			for c in "${LOAD_CASES[@]}" "oci-archive multiarch.oci.tar (index, --all-platforms)|$W/c/multiarch.oci.tar|multiarch-ociar"; do
				IFS='|' read -r label file id names <<<"$c"
				what="ctr images import $label (unpacked with the native snapshotter): ctr images ls shows every name"
				if [ "$id" = multiarch-ociar ] && cv c-multiarch-ociar --keep "oci:$FIX/oci-multiarch" "oci-archive:$file"; then MADE[$id]=1; fi
				[ -n "${MADE[$id]:-}" ] || { skip "$what" "output $id was not made"; continue; }
				k=$((k + 1))
				json "$file" "$T/ci.json"
				want_n=$(full_names "$T/ci.json")
				[ -n "$names" ] && want_n=$(tr ' ' '\n' <<<"$names" | sort -u)
				opts=(--snapshotter native); [ "$id" = multiarch-ociar ] && opts+=(--all-platforms)
				if ! out=$(ctr --address "$T/ctd/sock" -n "cv$k" images import "${opts[@]}" "$file" 2>&1); then
					nok "$what" "\`ctr images import ${opts[*]} $file\`: $out"; continue
				fi
				got_n=$(ctr --address "$T/ctd/sock" -n "cv$k" images ls -q 2>&1 | sort -u)
				missing=$(comm -23 <(echo "$want_n") <(echo "$got_n") | tr '\n' ' ')
				if [ -z "$want_n" ]; then nok "$what" "strata inspect shows no full tag in $file"
				elif [ -n "$missing" ]; then nok "$what" "ctr images ls lacks $missing(has: $(echo $got_n))"
				else ok "$what"; fi
			done
			ctd_stop
		else
			nok "ctr images import of outputs" "containerd did not start: $(tail -n 3 "$T/ctd/log")"
		fi
	else
		skip "ctr images import of outputs" "containerd/ctr not installed"
	fi
fi

# ================================================================ 3. gzip, zstd, decompress
python3 "$HERE/mkimage.py" "$W/z/med.tar" --tag strata/med:1 --layer text:3M --layer random:512K --layer text:300K
MED=$W/z/med.tar
json "$MED" "$T/med.json"
# recompress KIND TOOL — threads 1 vs 2, two identical runs, blobs decode to diff_ids, Go's reader (skopeo) agrees
recompress() {
	local k=$1 tool=$2 mt=$3 what
	what="--$k --threads 1 and --threads 2 give the same layer digests"
	cv "$k-t1" "--$k" --threads 1 "$MED" "oci-archive:$W/z/$k-t1.tar" || { nok "$what" "$(why)"; return; }
	cv "$k-t2" "--$k" --threads 2 "$MED" "oci-archive:$W/z/$k-t2.tar" || { nok "$what" "$(why)"; return; }
	json "$W/z/$k-t1.tar" "$T/$k-t1.json"; json "$W/z/$k-t2.tar" "$T/$k-t2.json"
	if [ "$(digests "$T/$k-t1.json")" = "$(digests "$T/$k-t2.json")" ] && [ -n "$(digests "$T/$k-t1.json")" ]; then ok "$what"
	else nok "$what" "threads 1: $(digests "$T/$k-t1.json" | tr '\n' ' '); threads 2: $(digests "$T/$k-t2.json" | tr '\n' ' ')"; fi
	what="--$k: two runs give byte-identical archives (cmp)"
	cv "$k-t2b" "--$k" --threads 2 "$MED" "oci-archive:$W/z/$k-t2b.tar" || { nok "$what" "$(why)"; return; }
	if out=$(cmp "$W/z/$k-t2.tar" "$W/z/$k-t2b.tar" 2>&1); then ok "$what"; else nok "$what" "$out"; fi
	what="--$k: --threads 1 and --threads 2 archives are byte-identical (cmp)"
	if out=$(cmp "$W/z/$k-t1.tar" "$W/z/$k-t2.tar" 2>&1); then ok "$what"; else nok "$what" "$out"; fi
	what="--$k: every layer is $mt, passes \`$tool -t\` and decompresses to its diff_id"
	local x=$W/z/$k-x probs=() n i dg di m
	rm -rf "$x"; mkdir -p "$x"; tar -xf "$W/z/$k-t2.tar" -C "$x"
	n=$(jq '.images[0].layers | length' "$T/$k-t2.json")
	for ((i = 0; i < n; i++)); do
		dg=$(jq -r ".images[0].layers[$i].digest" "$T/$k-t2.json")
		di=$(jq -r ".images[0].layers[$i].diff_id" "$T/$k-t2.json")
		m=$(jq -r ".images[0].layers[$i].media_type" "$T/$k-t2.json")
		want_di=$(jq -r ".images[0].layers[$i].diff_id" "$T/med.json")
		f=$x/blobs/sha256/${dg#sha256:}
		[ -f "$f" ] || { probs+=("layer $i: no blob $dg"); continue; }
		[ "sha256:$(sha < "$f")" = "$dg" ] || probs+=("layer $i: blob does not hash to $dg")
		[[ $m == *"+$k"* ]] || probs+=("layer $i: media type $m")
		"$tool" -t "$f" 2>/dev/null || probs+=("layer $i: $tool -t fails")
		[ "sha256:$("$tool" -dc "$f" | sha)" = "$want_di" ] || probs+=("layer $i: $tool -dc | sha256sum != source diff_id $want_di")
		[ "$di" = "$want_di" ] || probs+=("layer $i: config diff_id $di != source $want_di")
	done
	[ "$n" = 3 ] || probs+=("$n layers, want 3")
	if [ ${#probs[@]} -eq 0 ]; then ok "$what"; else nok "$what" "${probs[*]}"; fi
	what="--$k: skopeo copy --dest-decompress (Go's $k reader) gives blobs named by the diff_ids"
	if have skopeo; then
		rm -rf "$T/skz"
		if out=$(SK copy -q --dest-decompress "oci-archive:$W/z/$k-t2.tar" "dir:$T/skz" 2>&1); then
			probs=()
			for di in $(diffids "$T/med.json"); do
				f=$T/skz/${di#sha256:}
				if [ ! -f "$f" ]; then probs+=("no $di in dir:"); elif [ "sha256:$(sha < "$f")" != "$di" ]; then probs+=("$f content mismatch"); fi
			done
			if [ ${#probs[@]} -eq 0 ]; then ok "$what"; else nok "$what" "${probs[*]} (dir has $(ls "$T/skz" | tr '\n' ' '))"; fi
		else nok "$what" "$out"; fi
	else skip "$what" "skopeo not installed"; fi
}
recompress gzip gzip "gzip"
if have zstd; then recompress zstd zstd "zstd"; else skip "--zstd checks" "zstd not installed"; fi

# --decompress: layer digests become the diff_ids
for src in "oci-archive:$W/z/gzip-t2.tar" "oci-archive:$W/z/zstd-t2.tar" "oci:$FIX/oci-gzip" "oci:$FIX/oci-multimember"; do
	what="--decompress of ${src##*/}: layer digests are the diff_ids, layers uncompressed"
	[ -e "${src#*:}" ] || { skip "$what" "no ${src#*:}"; continue; }
	id=dec-$(basename "${src#*:}")
	if ! cv "$id" --decompress "$src" "oci:$W/z/$id"; then nok "$what" "$(why)"; continue; fi
	json "oci:$W/z/$id" "$T/dec.json"; json "$src" "$T/dec-src.json"
	bad=$(jq -c '[.images[].layers[] | select(.digest != .diff_id or .compression != "none" or (.media_type | test("gzip|zstd")))
		| {digest, diff_id, compression, media_type}]' "$T/dec.json")
	if [ "$bad" != "[]" ]; then nok "$what" "$bad"
	elif [ "$(diffids "$T/dec.json")" != "$(diffids "$T/dec-src.json")" ]; then nok "$what" "diff_ids differ from the source's"
	elif ! sverify "oci:$W/z/$id"; then nok "$what" "strata verify: $VOUT"
	else ok "$what"; fi
done

# --preserve-digests
what="--preserve-digests --gzip of an uncompressed source fails with exit 1 naming the layer, writes nothing"
cv pd-gzip --preserve-digests --gzip "$FIX/docker-classic.tar" "oci:$W/z/pd-gzip"
first=$(jq -r '.images[0].layers[0].digest' <(S inspect --json "$FIX/docker-classic.tar"))
if [ $RC -ne 1 ]; then nok "$what" "$(why)"
elif ! grep -qi 'layer' "$W/log/pd-gzip.err" || ! grep -q -e "${first#sha256:}" -e 'layer 1' "$W/log/pd-gzip.err"; then nok "$what" "stderr does not name layer 1 / $first: $(cat "$W/log/pd-gzip.err")"
elif [ -e "$W/z/pd-gzip" ] || ! no_tmp "$W/z"; then nok "$what" "left $W/z/pd-gzip or $TMPS"
else ok "$what"; fi
what="--preserve-digests --keep succeeds and keeps every digest"
if cv pd-keep --preserve-digests --keep "$FIX/docker-classic.tar" "oci:$W/z/pd-keep"; then
	same_images "$FIX/docker-classic.tar" "oci:$W/z/pd-keep" notags && ok "$what" || nok "$what" "$DIFF"
else nok "$what" "$(why)"; fi
what="--preserve-digests --gzip of an already-gzip source succeeds (nothing changes)"
if cv pd-gz-gz --preserve-digests --gzip "oci:$FIX/oci-gzip" "oci:$W/z/pd-gz-gz"; then
	same_images "oci:$FIX/oci-gzip" "oci:$W/z/pd-gz-gz" full && ok "$what" || nok "$what" "$DIFF"
else nok "$what" "$(why)"; fi

# ================================================================ 4. streams
SRC=$FIX/docker-classic.tar
json "$SRC" "$T/src.json"
what="cat docker-classic.tar | strata convert - oci-archive:- > y.tar: y.tar verifies, same config and layer digests"
rc=0; cat "$SRC" | S convert - oci-archive:- > "$W/s/y.tar" 2> "$W/log/stream1.err" || rc=$?
if [ $rc -ne 0 ]; then nok "$what" "\`cat $SRC | strata convert - oci-archive:-\` exit $rc: $(head -c 400 "$W/log/stream1.err")"
elif ! sverify "$W/s/y.tar"; then nok "$what" "strata verify y.tar: $VOUT"
elif ! same_images "$SRC" "oci-archive:$W/s/y.tar" notags; then nok "$what" "$DIFF"
elif [ -e "oci-archive:-" ] || [ -e ./- ]; then nok "$what" "a file named 'oci-archive:-' or '-' was created in $(pwd)"
else ok "$what"; fi

what="strata convert docker-classic.tar - --format docker-archive | strata verify -"
rc1=0 rc2=0
S convert "$SRC" - --format docker-archive 2> "$W/log/stream2.err" | tee "$W/s/z.tar" | S verify - > "$W/log/stream2.verify" 2>&1
rcs=("${PIPESTATUS[@]}"); rc1=${rcs[0]}; rc2=${rcs[2]}
if [ "$rc1" != 0 ]; then nok "$what" "convert exit $rc1: $(head -c 400 "$W/log/stream2.err")"
elif [ "$rc2" != 0 ]; then nok "$what" "verify - exit $rc2: $(head -c 400 "$W/log/stream2.verify")"
elif ! same_images "$SRC" "docker-archive:$W/s/z.tar" tags; then nok "$what" "$DIFF"
else ok "$what"; fi

what="zstd-compressed docker-archive on stdin -> oci:DIR (outer decompression on a pipe)"
if [ -f "$FIX/docker-classic.tar.zst" ]; then
	rc=0; cat "$FIX/docker-classic.tar.zst" | S convert - "oci:$W/s/zst.oci" > "$W/log/stream3.out" 2> "$W/log/stream3.err" || rc=$?
	if [ $rc -ne 0 ]; then nok "$what" "exit $rc: $(head -c 400 "$W/log/stream3.err")"
	elif ! same_images "$SRC" "oci:$W/s/zst.oci" notags; then nok "$what" "$DIFF"
	else ok "$what"; fi
else skip "$what" "no docker-classic.tar.zst"; fi

what="conversion messages go to stderr: stdout is empty whenever DST is not -"
nonempty=$(find "$W/log" -name '*.out' -size +0 | head -n 3)
if [ -z "$nonempty" ]; then ok "$what"; else nok "$what" "stdout not empty: $nonempty: $(head -c 200 "$(head -n1 <<<"$nonempty")")"; fi

# ================================================================ 5. atomicity
BAD=$FIX/malformed/docker-diffid-mismatch.tar
A=$W/a
what="a broken source (docker-diffid-mismatch.tar) -> oci:NEWDIR fails (exit 1) and leaves no NEWDIR, no temp files"
if [ -f "$BAD" ]; then
	cv bad-new "$BAD" "oci:$A/newdir"
	if [ $RC -ne 1 ]; then nok "$what" "$(why)"
	elif [ -e "$A/newdir" ]; then nok "$what" "$A/newdir exists after \`$CMD\`: $(find "$A/newdir" | head -n 5 | tr '\n' ' ')"
	elif ! no_tmp "$A"; then nok "$what" "temp files left: $TMPS"
	else ok "$what"; fi
	for fmt in oci-archive docker-archive; do
		what="a broken source -> $fmt:FILE fails (exit 1) and leaves no FILE, no temp files"
		cv "bad-$fmt" "$BAD" "$fmt:$A/new-$fmt.tar"
		if [ $RC -ne 1 ]; then nok "$what" "$(why)"
		elif [ -e "$A/new-$fmt.tar" ]; then nok "$what" "$A/new-$fmt.tar exists"
		elif ! no_tmp "$A"; then nok "$what" "temp files left: $TMPS"
		else ok "$what"; fi
	done
	what="a broken source -> an existing OCI layout leaves index.json byte-identical and adds no blobs"
	if cv exist-base --keep "$FIX/docker-classic.tar" "oci:$A/existing:old"; then
		cp "$A/existing/index.json" "$T/index.before"; (cd "$A/existing" && find . | sort) > "$T/files.before"
		cv bad-exist "$BAD" "oci:$A/existing:new"
		(cd "$A/existing" && find . | sort) > "$T/files.after"
		if [ $RC -ne 1 ]; then nok "$what" "$(why)"
		elif ! cmp -s "$T/index.before" "$A/existing/index.json"; then nok "$what" "index.json changed: $(cat "$A/existing/index.json")"
		elif ! cmp -s "$T/files.before" "$T/files.after"; then nok "$what" "files changed: $(diff "$T/files.before" "$T/files.after" | grep '^[<>]' | head -n 4 | tr '\n' ' ')"
		elif ! no_tmp "$A"; then nok "$what" "temp files left: $TMPS"
		else ok "$what"; fi
	else nok "$what" "making the layout: $(why)"; fi
else
	skip "broken-source atomicity" "no $BAD"
fi

what="converting into an existing OCI layout adds the new image and keeps the old tag (index.json lists both)"
if [ -f "$A/existing/index.json" ] && cv exist-add --keep "oci:$FIX/oci-gzip" "oci:$A/existing:new"; then
	refs=$(jq -c '[.manifests[].annotations["org.opencontainers.image.ref.name"]] | sort' "$A/existing/index.json")
	old_desc=$(jq -c '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "old")' "$T/index.before")
	kept=$(jq -c --argjson d "$old_desc" '[.manifests[] | select(. == $d)] | length' "$A/existing/index.json")
	if [ "$refs" != '["new","old"]' ]; then nok "$what" "ref names $refs in $(cat "$A/existing/index.json")"
	elif [ "$kept" != 1 ]; then nok "$what" "the old descriptor $old_desc is not kept as it was: $(cat "$A/existing/index.json")"
	elif ! same_images "$FIX/docker-classic.tar" "oci:$A/existing:old" notags; then nok "$what" "old image: $DIFF"
	elif ! same_images "oci:$FIX/oci-gzip" "oci:$A/existing:new" notags; then nok "$what" "new image: $DIFF"
	elif ! sverify "oci:$A/existing"; then nok "$what" "strata verify: $VOUT"
	elif have skopeo && ! out=$(SK inspect "oci:$A/existing:old" 2>&1 && SK inspect "oci:$A/existing:new" 2>&1 >/dev/null); then nok "$what" "skopeo inspect: $out"
	else ok "$what"; fi
else
	nok "$what" "$(why)"
fi

what="an existing index.json over --max-json: exit 4, one line naming it and the option, the layout unchanged"
if [ -f "$A/existing/index.json" ]; then
	cp "$A/existing/index.json" "$T/index.before3"
	cv exist-big --max-json 100 "$FIX/docker-classic.tar" "oci:$A/existing:big"
	if [ $RC -ne 4 ]; then nok "$what" "$(why)"
	elif [ "$(grep -c . "$W/log/exist-big.err")" != 1 ] ||
		! grep -q "existing '$A/existing/index.json' is over 100 bytes.*--max-json" "$W/log/exist-big.err"; then nok "$what" "$(why)"
	elif ! cmp -s "$T/index.before3" "$A/existing/index.json"; then nok "$what" "index.json changed"
	elif ! no_tmp "$A"; then nok "$what" "temp files left: $TMPS"
	else ok "$what"; fi
else skip "$what" "no existing layout (an earlier case failed)"; fi

# SIGTERM a fraction of a second into a conversion of a 200 MiB image
python3 "$HERE/mkimage.py" "$W/a/big.tar" --tag strata/big:1 --layer random:100M --layer random:100M
# term_test LABEL DELAY DST_PATH STDIN ARGS... — start (reading STDIN through a pipe unless it is -),
# SIGTERM after DELAY s, then check; a conversion that finished before the signal (a fast
# machine) is run again with half the delay, down to an eighth
term_test() {
	local label=$1 delay=$2 dst=$3 in=$4; shift 4
	local what="SIGTERM into $label leaves no destination and no temp files" pid rc t0 t1 try
	CMD="strata convert $*"
	for try in 1 2 3 4; do
		rc=0
		t0=$(date +%s.%N)
		if [ "$in" = - ]; then
			"$STRATA" convert "$@" > "$W/log/term.out" 2> "$W/log/term.err" &
		else
			CMD="cat $in | strata convert $*"
			cat "$in" | "$STRATA" convert "$@" > "$W/log/term.out" 2> "$W/log/term.err" &
		fi
		pid=$!
		sleep "$delay"
		kill -TERM "$pid" 2>/dev/null
		wait "$pid" || rc=$?
		t1=$(date +%s.%N)
		[ $rc -eq 0 ] && [ $try -lt 4 ] || break
		rm -rf "$dst"
		delay=$(awk -v d="$delay" 'BEGIN { printf "%.3f", d / 2 }')
	done
	what="$what (signal ${delay}s in)"
	if [ $rc -eq 0 ]; then skip "$what" "the conversion finished before the signal (in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')s)"
	elif [ $rc -ge 128 ]; then nok "$what" "\`$CMD\` died of signal $((rc - 128)) instead of unwinding (SIGTERM is caught); $(head -c 300 "$W/log/term.err")"
	elif ! grep -qi interrupt "$W/log/term.err"; then nok "$what" "\`$CMD\` exit $rc for another reason than the signal: $(head -c 300 "$W/log/term.err")"
	elif [ -e "$dst" ]; then nok "$what" "$dst exists after exit $rc: $(head -c 300 "$W/log/term.err")"
	elif ! no_tmp "$A"; then nok "$what" "exit $rc; temp files left: $TMPS"
	else ok "$what (exit $rc: $(head -n1 "$W/log/term.err" | cut -c1-120))"; fi
}
term_test "big.tar -> oci:NEWDIR (--keep)" 0.08 "$A/big.oci" - --keep "$A/big.tar" "oci:$A/big.oci"
term_test "big.tar -> docker-archive:FILE (--gzip)" 0.5 "$A/big-gz.tar" - --gzip "$A/big.tar" "docker-archive:$A/big-gz.tar"
term_test "cat big.tar | strata convert - oci-archive:FILE" 0.25 "$A/big-stdin.tar" "$A/big.tar" - "oci-archive:$A/big-stdin.tar"
# into the existing layout: nothing may change (a conversion that ends before the signal is
# undone from a copy, and run again with half the delay)
what="SIGTERM during a conversion into an existing OCI layout leaves it unchanged"
cp "$A/existing/index.json" "$T/index.before2" 2>/dev/null; (cd "$A/existing" 2>/dev/null && find . | sort) > "$T/files.before2"
rm -rf "$T/existing.copy"; cp -a "$A/existing" "$T/existing.copy" 2>/dev/null
delay=0.5
for try in 1 2 3 4; do
	"$STRATA" convert --gzip "$A/big.tar" "oci:$A/existing:big" > /dev/null 2> "$W/log/term-exist.err" &
	pid=$!; sleep $delay; kill -TERM $pid 2>/dev/null; rc=0; wait $pid || rc=$?
	[ $rc -eq 0 ] && [ $try -lt 4 ] || break
	rm -rf "$A/existing"; cp -a "$T/existing.copy" "$A/existing"
	delay=$(awk -v d="$delay" 'BEGIN { printf "%.3f", d / 2 }')
done
(cd "$A/existing" 2>/dev/null && find . | sort) > "$T/files.after2"
what="$what (signal ${delay}s in)"
if [ $rc -eq 0 ]; then skip "$what" "finished before the signal"
elif [ $rc -ge 128 ]; then nok "$what" "died of signal $((rc - 128))"
elif ! grep -qi interrupt "$W/log/term-exist.err"; then nok "$what" "exit $rc for another reason than the signal: $(head -c 300 "$W/log/term-exist.err")"
elif ! cmp -s "$T/index.before2" "$A/existing/index.json"; then nok "$what" "index.json changed"
elif ! cmp -s "$T/files.before2" "$T/files.after2"; then nok "$what" "files changed: $(diff "$T/files.before2" "$T/files.after2" | grep '^[<>]' | head -n 4 | tr '\n' ' ')"
elif ! no_tmp "$A"; then nok "$what" "temp files left: $TMPS"
else ok "$what"; fi
rm -rf "$T/existing.copy"
rm -f "$A/big.tar"   # 200 MiB; remade on every run

# ================================================================ 6. import (a rootfs tarball becomes an image)
# imp_tree LABEL ROOTFS LAYOUT:TAG — umoci unpack of the imported image = tar -x of the tarball
imp_tree() {
	local what=$1 rfs=$2 ref=$3 x
	x=$W/i/tarx-$(basename "$rfs"); rm -rf "$x"; mkdir -p "$x"
	if ! out=$(tar -xpf "$rfs" -C "$x" 2>&1); then nok "$what" "tar -xpf $rfs: $out"; return; fi
	python3 "$HERE/tree.py" "$x" > "$x.tree"
	if ! unpack "$ref" "imp-$(basename "${ref%:*}")"; then
		nok "$what" "\`umoci unpack --rootless --image $ref\`: $UOUT (index.json: $(jq -c '[.manifests[] | {digest: .digest[7:19], annotations}]' "${ref%:*}/index.json" 2>&1))"
	elif cmp -s "$x.tree" "$W/u/imp-$(basename "${ref%:*}").tree"; then ok "$what"
	else nok "$what" "tar -x tree < > umoci tree: $(diff "$x.tree" "$W/u/imp-$(basename "${ref%:*}").tree" | grep '^[<>]' | head -n 6)"; fi
}
if ! S help import > /dev/null 2>&1; then
	skip "import checks" "\`strata help import\` exits non-zero: no import command yet"
elif ! have umoci; then
	skip "import checks" "umoci not installed"
else
	I=$W/i
	RFS=$FIX/rootfs.tar.xz
	what="strata import rootfs.tar.xz oci:DIR:1 --tag x:1: umoci unpack tree = tar -x tree"
	rc=0; S import "$RFS" "oci:$I/imp-tag.oci:1" --tag x:1 > "$W/log/import1.out" 2> "$W/log/import1.err" || rc=$?
	if [ $rc -ne 0 ]; then nok "$what" "\`strata import $RFS oci:$I/imp-tag.oci:1 --tag x:1\` exit $rc: $(head -c 400 "$W/log/import1.err")"
	else imp_tree "$what" "$RFS" "$I/imp-tag.oci:1"; fi
	RFSS=("$FIX/rootfs.tar.xz" "$FIX/rootfs.tar.gz" "$FIX/rootfs.tar")
	[ $HAVE_INTEROP = 1 ] && RFSS+=("$INTEROP/rootfs.tar.xz")
	k=0
	for r in "${RFSS[@]}"; do
		k=$((k + 1))
		case $r in "$FIX"/*) label=${r#"$FIX/"} ;; *) label="interop ${r##*/}" ;; esac
		what="strata import $label oci:DIR:1 (no --tag): verifies, diff_id = sha256 of the tar, umoci unpack tree = tar -x tree"
		rc=0; S import "$r" "oci:$I/imp$k.oci:1" > "$W/log/import-$k.out" 2> "$W/log/import-$k.err" || rc=$?
		if [ $rc -ne 0 ]; then nok "$what" "\`strata import $r oci:$I/imp$k.oci:1\` exit $rc: $(head -c 400 "$W/log/import-$k.err")"; continue; fi
		if ! sverify "oci:$I/imp$k.oci"; then nok "$what" "strata verify: $VOUT"; continue; fi
		json "oci:$I/imp$k.oci" "$T/imp.json"
		case $r in *.xz) want=$(xz -dc "$r" | sha) ;; *.gz) want=$(gzip -dc "$r" | sha) ;; *) want=$(sha < "$r") ;; esac
		got=$(jq -r '[.images[].layers[].diff_id] | join(" ")' "$T/imp.json")
		if [ "$got" != "sha256:$want" ]; then nok "$what" "diff_ids $got, sha256 of the decompressed tarball sha256:$want"; continue; fi
		imp_tree "$what" "$r" "$I/imp$k.oci:1"
	done
	what="podman load of \`strata import rootfs.tar.xz docker-archive:FILE:strata/imported:1\`"
	rc=0; S import "$RFS" "docker-archive:$I/imp.docker.tar:strata/imported:1" > "$W/log/import2.out" 2> "$W/log/import2.err" || rc=$?
	if [ $rc -ne 0 ]; then nok "$what" "\`strata import $RFS docker-archive:$I/imp.docker.tar:strata/imported:1\` exit $rc: $(head -c 400 "$W/log/import2.err")"
	elif [ "$STRATA_CONVERT_INNER" != ns ]; then skip "$what" "$NS_WHY"
	elif ! have podman; then skip "$what" "podman not installed"
	else
		export P_ROOT=$T/podman-import
		cfg=$(S inspect --json "$I/imp.docker.tar" | jq -r '.images[0].config.digest')
		if ! out=$(P load -q -i "$I/imp.docker.tar" 2>&1); then nok "$what" "\`podman load -i $I/imp.docker.tar\`: $out"
		elif ! P images --format '{{.Repository}}:{{.Tag}}' | grep -qx 'docker.io/strata/imported:1'; then nok "$what" "podman images: $(P images --format '{{.Repository}}:{{.Tag}}' | tr '\n' ' ')"
		elif [ "$(P images --no-trunc --format '{{.ID}}' | sed 's/^sha256://')" != "${cfg#sha256:}" ]; then nok "$what" "image ID $(P images --no-trunc --format '{{.ID}}') != config $cfg"
		else ok "$what"; fi
		unset P_ROOT
	fi
fi

# ---- convert --squash: one layer, the tree flatten writes, loadable by the real tools
Q=$W/squash; mkdir -p "$Q"
what="convert --squash docker-classic.tar to an OCI layout: one layer, history kept, umoci unpack equals strata unpack"
if ! out=$(S convert --squash "$FIX/docker-classic.tar" "oci:$Q/sq.oci:1" 2>&1); then nok "$what" "$out"
elif ! sverify "oci:$Q/sq.oci"; then nok "$what" "strata verify: $VOUT"
else
	json "oci:$Q/sq.oci" "$Q/sq.json"
	cfg=$(jq -r '.images[0].config.digest' "$Q/sq.json")
	# every old history entry marked empty, one new entry for the squash
	hist=$(jq -c '[.history[] | .empty_layer // false] | (.[:-1] | all) and (.[-1] | not) and length == 6' "$Q/sq.oci/blobs/sha256/${cfg#sha256:}")
	if [ "$(jq '.images[0].layers | length' "$Q/sq.json")" != 1 ]; then nok "$what" "not one layer"
	elif [ "$hist" != true ]; then nok "$what" "history: $(jq -c '.history' "$Q/sq.oci/blobs/sha256/${cfg#sha256:}")"
	elif ! have umoci; then skip "$what" "umoci not installed"
	elif ! out=$(U raw unpack --image "$Q/sq.oci:1" "$Q/r" 2>&1); then nok "$what" "umoci raw unpack: $out"
	elif ! S unpack "$FIX/docker-classic.tar" "$Q/u" 2>/dev/null; then nok "$what" "strata unpack failed"
	elif ! diff <(python3 "$HERE/tree.py" "$Q/r") <(python3 "$HERE/tree.py" "$Q/u") > "$Q/diff"; then nok "$what" "$(head -5 "$Q/diff")"
	else ok "$what"; fi
	if have oci-image-tool; then
		what="oci-image-tool validate of the squashed OCI layout"
		if out=$(timeout 60 oci-image-tool validate --type image --ref name=1 "$Q/sq.oci" 2>&1); then ok "$what"; else nok "$what" "$out"; fi
	fi
fi
what="podman load of \`strata convert --squash docker-classic.tar docker-archive:FILE:strata/squashed:1\`"
if ! out=$(S convert --squash "$FIX/docker-classic.tar" "docker-archive:$Q/sq.docker.tar:strata/squashed:1" 2>&1); then nok "$what" "$out"
elif [ "$STRATA_CONVERT_INNER" != ns ]; then skip "$what" "$NS_WHY"
elif ! have podman; then skip "$what" "podman not installed"
else
	export P_ROOT=$T/podman-squash
	cfg=$(S inspect --json "$Q/sq.docker.tar" | jq -r '.images[0].config.digest')
	if ! out=$(P load -q -i "$Q/sq.docker.tar" 2>&1); then nok "$what" "\`podman load\`: $out"
	elif ! P images --format '{{.Repository}}:{{.Tag}}' | grep -qx 'docker.io/strata/squashed:1'; then nok "$what" "podman images: $(P images --format '{{.Repository}}:{{.Tag}}' | tr '\n' ' ')"
	elif [ "$(P images --no-trunc --format '{{.ID}}' | sed 's/^sha256://')" != "${cfg#sha256:}" ]; then nok "$what" "image ID != config $cfg"
	else ok "$what"; fi
	unset P_ROOT
fi
what="convert --squash of a source holding two images asks which"
out=$(S convert --squash "$FIX/docker-multi.tar" "oci:$Q/two" 2>&1); rc=$?
if [ $rc -eq 2 ] && [ ! -e "$Q/two" ]; then ok "$what"; else nok "$what" "exit $rc: $out"; fi

END=$(date +%s.%N)
echo "# convert: $(awk -v a="$START" -v b="$END" 'BEGIN { printf "%.1f", b - a }')s" >&2
exit 0
