#!/bin/bash
# tests/docker/run.sh STRATA OUTDIR FIXTURES — strata against a real Docker engine (Debian's docker.io, 20.10).
# engine.sh starts dockerd as a plain process with all its state under a temp dir (no network, unix socket
# only) and this script always stops it. Two directions:
#  - every docker-archive shape strata writes (one image, several images, several names on one image, an
#    untagged image, a bundle of several sources, layers kept / --gzip / --zstd, stored zstd) is loaded by
#    `docker load`: the names Docker reports and keeps (RepoTags) and the image IDs (= config digests)
#    must be the ones the archive declares; each is also checked to be the hybrid (manifest.json and
#    index.json naming the same images).
#  - `docker save` output (of images loaded from the fixtures, of an image built offline by `docker build`
#    from scratch, of several images in one tarball, of an image by ID only) is verified by strata, and
#    read and converted (oci, oci-archive, docker-archive, docker-archive --gzip) with every config digest
#    and layer diff_id equal to `docker image inspect` (Id, RootFS.Layers); the docker-archives strata
#    writes from it are loaded back by Docker with the same IDs and names.
#  - `docker pull` from Debian's docker-registry serving a storage tree strata wrote (registry:DIR): two
#    images and an index, each with the config digest as image ID and the manifest (index) digest as
#    RepoDigest.
# One line per check: ok / not ok / skip. Always exits 0 (the aggregator counts lines).
# Needs root, dockerd + containerd (apt-get install docker.io), jq. About 15 s.
set -u
STRATA=${1:?usage: run.sh STRATA OUTDIR FIXTURES}
O=${2:?usage: run.sh STRATA OUTDIR FIXTURES}
F=${3:?usage: run.sh STRATA OUTDIR FIXTURES}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

ok()   { echo "ok - docker $1"; }
nok()  { local r=${2//$'\n'/ }; echo "not ok - docker $1: ${r:0:600}"; }
skip() { echo "skip - docker $1: $2"; }

if ! command -v jq >/dev/null 2>&1; then skip "all" "jq not installed"; exit 0; fi
if [ ! -x "$STRATA" ]; then nok "strata binary" "not executable: $STRATA"; exit 0; fi
if [ ! -f "$F/docker-classic.tar" ]; then nok "fixtures" "no $F/docker-classic.tar (run fixtures/gen.py)"; exit 0; fi
F=$(cd "$F" && pwd)
rm -rf "$O"
mkdir -p "$O"
O=$(cd "$O" && pwd)

# shellcheck source=engine.sh
. "$HERE/engine.sh"
T=$(mktemp -d /tmp/strata-dk.XXXXXX)  # short: dockerd's unix sockets live under it
trap 'stop_dockerd "$T"; rm -rf "$T"' EXIT
trap 'exit 130' INT TERM
if ! start_dockerd "$T"; then skip "all" "$DOCKERD_WHY"; exit 0; fi
ok "engine up: Docker $DOCKERD_VERSION, storage driver $DOCKERD_DRIVER"

TIMEOUT=(); command -v timeout >/dev/null 2>&1 && TIMEOUT=(timeout 120)
S()  { "${TIMEOUT[@]}" "$STRATA" "$@"; }
D()  { "${TIMEOUT[@]}" "$DOCKER" "$@"; }

# jq: Docker's familiar form of a name (docker.io/library/x:1 -> x:1, docker.io/a/b:1 -> a/b:1)
FAM='def fam: sub("^docker\\.io/library/"; "") | sub("^docker\\.io/"; "");'

# sameset LABEL WANT GOT: two JSON values equal (ok/not ok)
same() {
	local w g
	w=$(jq -cS . <<<"$2" 2>/dev/null) || w="(bad json: ${2:0:100})"
	g=$(jq -cS . <<<"$3" 2>/dev/null) || g="(bad json: ${3:0:100})"
	if [ "$w" = "$g" ]; then ok "$1"; else nok "$1" "want ${w:0:280} got ${g:0:280}"; fi
}

# convert LABEL OUT ARGS...: strata convert ARGS, ok/not ok; 0 when it worked
convert() {
	local l=$1 out=$2 rc=0
	shift 2
	rm -rf "$out"
	S convert -q "$@" > "$T/convert.out" 2>&1 || rc=$?
	if [ $rc -ne 0 ]; then nok "$l: strata convert" "exit $rc: $(head -c 300 "$T/convert.out")"; return 1; fi
	return 0
}

# verify LABEL REF: strata verify exits 0
verify() {
	local rc=0
	S verify "$2" > "$T/verify.out" 2>&1 || rc=$?
	if [ $rc -eq 0 ]; then ok "$1: strata verify"; else nok "$1: strata verify" "exit $rc: $(head -c 300 "$T/verify.out")"; fi
}

# images REF: strata's view, [{id, layers, tags}] sorted by id, tags in Docker's familiar form
images() {
	S inspect --json "$1" 2> "$T/inspect.err" |
		jq -c "$FAM"'[.images[] | {id: .config.digest, layers: [.layers[].diff_id], tags: ([.tags[]? | select(contains(":")) | fam] | unique)}] | unique_by(.id)'
}

# hybrid LABEL FILE: the docker-archive strata wrote carries manifest.json and an OCI index of the same images
hybrid() {
	local l=$1 f=$2 m cfgs=() d
	if ! tar tf "$f" > "$T/members" 2>/dev/null; then nok "$l: hybrid" "not a tar"; return; fi
	for m in manifest.json index.json oci-layout; do
		grep -qx "$m" "$T/members" || { nok "$l: hybrid" "no $m"; return; }
	done
	local want got
	want=$(tar xOf "$f" manifest.json | jq -c '[.[].Config | sub("^blobs/sha256/"; "sha256:")] | unique')
	for d in $(tar xOf "$f" index.json | jq -r '.manifests[].digest' | sort -u); do
		cfgs+=("$(tar xOf "$f" "blobs/sha256/${d#sha256:}" | jq -r '.config.digest')")
	done
	got=$(printf '%s\n' "${cfgs[@]}" | jq -R . | jq -sc 'unique')
	same "$l: hybrid (manifest.json and index.json name the same configs)" "$want" "$got"
}

# rmi IDS...: forget these images (all their names)
rmi() { [ $# -eq 0 ] || D rmi -f "$@" > /dev/null 2>&1; }
reset() { local ids; ids=$(D images -aq --no-trunc | sort -u); [ -z "$ids" ] || D rmi -f $ids > /dev/null 2>&1; }

# dload LABEL FILE EXPECT: docker load FILE; EXPECT = [{id, tags}] as images() gives; checks the names
# Docker reports, the image IDs, and the RepoTags each ID ends up with.
dload() {
	local l=$1 f=$2 want=$3 rc=0 got id
	D load -i "$f" > "$T/load.out" 2>&1 || rc=$?
	if [ $rc -ne 0 ]; then nok "$l: docker load" "exit $rc: $(head -c 300 "$T/load.out")"; return 1; fi
	ok "$l: docker load"
	got=$(sed -n 's/^Loaded image: //p' "$T/load.out" | jq -R . | jq -sc 'unique')
	same "$l: names docker load reports" "$(jq -c '[.[].tags[]] | unique' <<<"$want")" "$got"
	# with no name at all, Docker reports the IDs (with names, 20.10 prints them only when the last image of
	# manifest.json has none; the RepoTags check below covers untagged images whatever it prints)
	if [ "$(jq '[.[] | select(.tags != [])] | length' <<<"$want")" = 0 ]; then
		got=$(sed -n 's/^Loaded image ID: //p' "$T/load.out" | jq -R . | jq -sc 'unique')
		same "$l: image IDs docker load reports" "$(jq -c '[.[].id] | unique' <<<"$want")" "$got"
	fi
	got='[]'
	for id in $(jq -r '.[].id' <<<"$want"); do
		got=$(jq -c --argjson i "$(D image inspect "$id" 2>/dev/null | jq -c '.[0] | {id: .Id, tags: ((.RepoTags // []) | unique)}' || echo null)" '. + [$i]' <<<"$got")
	done
	same "$l: image IDs and RepoTags in Docker" "$(jq -c '[.[] | {id, tags}] | sort_by(.id)' <<<"$want")" "$(jq -c 'sort_by(.id)' <<<"$got")"
}

# ---------------------------------------------------------------- docker load of what strata writes
# load_case LABEL CONVERT-ARGS... (the last one is the docker-archive: destination)
load_case() {
	local l=$1 want dst file
	shift
	dst=${*: -1}
	file=${dst#docker-archive:}
	file=${file%%:*}
	convert "$l" "$file" "$@" || return
	hybrid "$l" "$file"
	want=$(images "$file")
	if [ -z "$want" ] || [ "$want" = '[]' ]; then nok "$l: strata inspect" "$(head -c 300 "$T/inspect.err")"; return; fi
	reset
	dload "$l" "$file" "$want"
}

# refuse_case WHY LABEL CONVERT-ARGS...: strata writes it (verified, hybrid); this Docker must refuse to load
# it, and keep nothing of it
refuse_case() {
	local why=$1 l=$2 want dst file rc=0 left=
	shift 2
	dst=${*: -1}
	file=${dst#docker-archive:}
	file=${file%%:*}
	convert "$l" "$file" "$@" || return
	verify "$l" "$file"
	hybrid "$l" "$file"
	want=$(images "$file")
	reset
	D load -i "$file" > "$T/load.out" 2>&1 || rc=$?
	for id in $(jq -r '.[].id' <<<"$want"); do
		D image inspect "$id" > /dev/null 2>&1 && left="$left $id"
	done
	if [ $rc -eq 0 ]; then nok "$l: Docker $DOCKERD_VERSION refuses it ($why)" "docker load took it: $(head -c 200 "$T/load.out")"
	elif [ -n "$left" ]; then nok "$l: Docker $DOCKERD_VERSION refuses it ($why)" "refused (exit $rc) but kept$left"
	else ok "$l: Docker $DOCKERD_VERSION refuses it ($why): $(head -1 "$T/load.out" | cut -c1-120)"; fi
}

L=$O/load
mkdir -p "$L"
load_case "load single" "$F/docker-classic.tar" "docker-archive:$L/single.tar"
load_case "load from OCI, name in the reference" "$F/oci-gzip" "docker-archive:$L/from-oci.tar:strata/from-oci:2"
load_case "load several names on one image" --tag strata/x:1 --tag strata/y:2 --tag registry.example:5000/z/w:3 \
	"$F/docker-classic.tar" "docker-archive:$L/names.tar"
# the corners of the reference grammar Docker 20.10 takes: upper case in a host, an IPv4 host, '__' and '.'
# in path components, a tag of 128 characters
load_case "load names at the grammar's corners" --tag Registry.Example:5000/x:1 --tag 127.0.0.1:5000/y:2 \
	--tag localhost:5000/a__b/c-d.e:v1.0_X --tag "strata/long:$(printf 'x%.0s' $(seq 128))" \
	"$F/docker-classic.tar" "docker-archive:$L/grammar.tar"
load_case "load multi-image" "$F/docker-multi.tar" "docker-archive:$L/multi.tar"
load_case "load untagged" "$F/docker-untagged.tar" "docker-archive:$L/untagged.tar"
load_case "load bundle of several sources" "$F/docker-multi.tar" "$F/docker-skopeo.tar" "$F/docker-v25.tar" \
	"$F/oci-gzip" "docker-archive:$L/bundle.tar"
load_case "load one image from three sources, each with its names" "$L/names.tar" "$L/single.tar" "$L/grammar.tar" \
	"docker-archive:$L/same.tar"
load_case "load untagged and tagged images together" "$F/docker-untagged.tar" "$F/docker-classic.tar" \
	"docker-archive:$L/mixed.tar"
load_case "load one platform of an index (--platform linux/arm64/v8)" --platform linux/arm64/v8 "$F/oci-multiarch" \
	"docker-archive:$L/arm64.tar:strata/arm64:1"
load_case "load --gzip" --gzip "$F/docker-classic.tar" "docker-archive:$L/gzip.tar"
# zstd layers: Docker 20.10's docker load decompresses gzip, bzip2 and xz layers but not zstd (its untar
# reads the zstd frame as a tar header); later Docker versions decompress zstd as well
zcase=(load_case)
if [ "${DOCKERD_VERSION%%.*}" -lt 23 ] 2>/dev/null; then zcase=(refuse_case "it decompresses no zstd layer"); fi
"${zcase[@]}" "load --zstd" --zstd "$F/docker-multi.tar" "docker-archive:$L/zstd.tar"
"${zcase[@]}" "load stored zstd layers (--keep)" "$F/oci-zstd" "docker-archive:$L/keep-zstd.tar:strata/zstd:1"
load_case "load outer-compressed source" "$F/docker-classic.tar.zst" "docker-archive:$L/outer.tar"

# ---------------------------------------------------------------- docker save, read by strata
# an image built offline: FROM scratch, ADD of a rootfs tarball (extracted), COPY layers; no RUN
B=$T/build
mkdir -p "$B/root/etc" "$B/root/bin" "$B/app/sub"
echo strata > "$B/root/etc/motd"
printf '#!/bin/sh\n' > "$B/root/bin/sh"
chmod 755 "$B/root/bin/sh"
ln -s sh "$B/root/bin/ash"
ln "$B/root/bin/sh" "$B/root/bin/dash"  # a hardlink
long=$B/root/usr/share/a-directory-name-that-is-rather-long/and-another-one-that-is-long-too/and-a-third-one
mkdir -p "$long"
echo deep > "$long/file-with-a-name-long-enough-to-need-pax-or-gnu-headers.txt"
printf 'caf\xc3\xa9\n' > "$B/root/usr/share/caf$(printf '\xc3\xa9').txt"
tar -C "$B/root" --owner=0 --group=0 --numeric-owner -cf "$B/rootfs.tar" .
rm -rf "$B/root"
echo one > "$B/app/a.txt"
echo two > "$B/app/sub/b.txt"
cat > "$B/Dockerfile" <<'EOF'
FROM scratch
ADD rootfs.tar /
COPY app/ /app/
COPY app/sub/b.txt /etc/b.txt
COPY app/a.txt /dup/a.txt
COPY app/a.txt /dup/a.txt
ENV PATH=/bin
LABEL org.opencontainers.image.title=strata-built
CMD ["/bin/sh"]
EOF

reset
for f in single names multi; do D load -i "$L/$f.tar" > /dev/null 2>&1; done
rc=0
DOCKER_BUILDKIT=0 D build -q -t strata/built:1 -t strata/built:latest "$B" > "$T/build.out" 2>&1 || rc=$?
if [ $rc -eq 0 ]; then ok "build (FROM scratch, ADD rootfs tarball, COPY)"
else nok "build (FROM scratch, ADD rootfs tarball, COPY)" "exit $rc: $(tail -c 300 "$T/build.out")"; fi

# flatten vs docker export: the files strata's flatten of the saved built image holds are those of a
# container Docker creates from it (created, never started: no runtime needed), less Docker's init layer
l="flatten of the saved built image = docker export"
rc=0
cid=$(D create strata/built:1 2> "$T/create.out") || rc=$?
if [ $rc -ne 0 ]; then nok "$l" "docker create: exit $rc: $(head -c 300 "$T/create.out")"
else
	D export -o "$T/export.tar" "$cid" > "$T/export.out" 2>&1 || rc=$?
	D rm "$cid" > /dev/null 2>&1
	D save -o "$T/built.tar" strata/built:1 > /dev/null 2>&1 || rc=$?
	S flatten -q "$T/built.tar" "$T/flat.tar" > "$T/flat.out" 2>&1 || rc=$?
	if [ $rc -ne 0 ]; then nok "$l" "exit $rc: $(head -c 300 "$T/export.out" "$T/flat.out")"
	else
		python3 "$HERE/files.py" "$T/flat.tar" > "$O/flatten-files.txt" 2>&1
		python3 "$HERE/files.py" "$T/export.tar" > "$O/export-files.txt" 2>&1
		if cmp -s "$O/export-files.txt" "$O/flatten-files.txt"; then ok "$l ($(wc -l < "$O/export-files.txt") files)"
		else nok "$l" "$(diff "$O/export-files.txt" "$O/flatten-files.txt" | head -8)"; fi
	fi
fi

# dimages REF...: Docker's view of REFs as images() gives it; the tags are those of REFs (what docker save
# writes: only the names asked for, none for an ID)
dimages() {
	local refs
	refs=$(printf '%s\n' "$@" | jq -R . | jq -sc "$FAM"'map(fam)')
	D image inspect "$@" 2>/dev/null | jq -c --argjson r "$refs" "$FAM"'[.[] | {id: .Id, layers: .RootFS.Layers,
		tags: ([(.RepoTags // [])[] | fam | select(. as $t | $r | index($t))] | unique)}] | unique_by(.id)'
}

# save_case LABEL SAVE-ARGS...: docker save, then strata verify/inspect/convert, and load back
save_case() {
	local l=$1 want got rc=0 fmt out ids
	shift
	local st=$O/save/${l// /-}
	mkdir -p "$st"
	restore
	D save -o "$st/save.tar" "$@" > "$T/save.out" 2>&1 || rc=$?
	if [ $rc -ne 0 ]; then nok "$l: docker save" "exit $rc: $(head -c 300 "$T/save.out")"; return; fi
	want=$(dimages "$@")
	verify "$l" "$st/save.tar"
	same "$l: strata inspect = docker image inspect (Id, RootFS.Layers, RepoTags)" "$want" "$(images "$st/save.tar")"
	for fmt in oci oci-archive docker-archive docker-archive-gzip; do
		case $fmt in
		oci) out=$st/oci; convert "$l -> $fmt" "$out" "$st/save.tar" "oci:$out" || continue; out=oci:$out ;;
		oci-archive) out=$st/oci.tar; convert "$l -> $fmt" "$out" "$st/save.tar" "oci-archive:$out" || continue ;;
		docker-archive) out=$st/docker.tar; convert "$l -> $fmt" "$out" "$st/save.tar" "docker-archive:$out" || continue ;;
		docker-archive-gzip) out=$st/docker-gz.tar
			convert "$l -> $fmt" "$out" --gzip "$st/save.tar" "docker-archive:$out" || continue ;;
		esac
		verify "$l -> $fmt" "$out"
		got=$(images "$out")
		# OCI layouts carry each name as io.containerd.image.name and a ref.name; Docker's names must all be there
		same "$l -> $fmt: config digests and diff_ids = Docker's" \
			"$(jq -c '[.[] | {id, layers}]' <<<"$want")" "$(jq -c '[.[] | {id, layers}]' <<<"$got")"
		same "$l -> $fmt: every Docker name kept" "$(jq -c '[.[].tags[]] | unique' <<<"$want")" \
			"$(jq -c --argjson w "$want" '[.[].tags[] | select(. as $t | [$w[].tags[]] | index($t))] | unique' <<<"$got")"
		case $fmt in docker-archive*)
			hybrid "$l -> $fmt" "$out"
			ids=$(jq -r '.[].id' <<<"$want")
			# shellcheck disable=SC2086
			rmi $ids
			dload "$l -> $fmt" "$out" "$(jq -c '[.[] | {id, tags}]' <<<"$want")"
			;;
		esac
	done
}

# every case starts from the same images: a snapshot of them, loaded again before each
rc=0
mapfile -t refs < <(D images --format '{{.Repository}}:{{.Tag}}' | grep -v '<none>')
D save -o "$T/all.tar" "${refs[@]}" > "$T/save.out" 2>&1 || rc=$?
[ $rc -eq 0 ] || nok "docker save of every image (the snapshot)" "exit $rc: $(head -c 300 "$T/save.out")"
# (no reset first: the load-backs keep the same IDs, so loading the snapshot only puts the other names back
# and extracts no layer)
restore() { D load -i "$T/all.tar" > /dev/null 2>&1; }
save_case "save of a loaded image" strata/sample:1.0
save_case "save of the built image" strata/built:1
save_case "save of several images in one tarball" strata/multi:a strata/multi:b strata/x:1 strata/built:latest \
	registry.example:5000/z/w:3
id=$(D image inspect -f '{{.Id}}' strata/multi:b 2>/dev/null)
save_case "save by ID only" "${id#sha256:}"

# pipes: docker save | strata convert - DST, and strata convert SRC docker-archive:- | docker load
l="pipe docker save | strata convert -"
restore
want=$(dimages strata/built:1 strata/multi:a)
rc=0
{ D save strata/built:1 strata/multi:a | S convert -q - "oci-archive:$O/pipe-oci.tar"; } > "$T/pipe.out" 2>&1 || rc=$?
if [ $rc -ne 0 ]; then nok "$l" "exit $rc: $(head -c 300 "$T/pipe.out")"
else
	verify "$l" "$O/pipe-oci.tar"
	same "$l: config digests and diff_ids = Docker's" "$(jq -c '[.[] | {id, layers}]' <<<"$want")" \
		"$(images "$O/pipe-oci.tar" | jq -c '[.[] | {id, layers}]')"
fi
l="pipe strata convert docker-archive:- | docker load"
reset
rc=0
{ S convert -q "$O/pipe-oci.tar" docker-archive:- | D load > "$T/load.out"; } 2> "$T/pipe.out" || rc=$?
if [ $rc -ne 0 ]; then nok "$l" "exit $rc: $(head -c 300 "$T/pipe.out")"
else
	got=$(D image inspect strata/built:1 strata/multi:a 2>/dev/null | jq -c '[.[] | {id: .Id, layers: .RootFS.Layers}] | unique_by(.id)')
	same "$l: the same image IDs and layers" "$(jq -c '[.[] | {id, layers}]' <<<"$want")" "$got"
fi

# ---------------------------------------------------------------- docker pull from a registry tree strata wrote
# strata writes the registry's storage tree (registry:DIR); Debian's docker-registry serves it on loopback
# (Docker takes 127.0.0.0/8 registries without TLS); docker pull must get each image with the config
# digest as image ID and the manifest (or index) digest as RepoDigest.
if command -v docker-registry > /dev/null 2>&1 && command -v curl > /dev/null 2>&1; then
	# shellcheck source=../registry/serve.sh
	. "$HERE/../registry/serve.sh"
	trap 'stop_registry; stop_dockerd "$T"; rm -rf "$T"' EXIT
	R=$O/reg
	if convert "registry tree" "$R" "$F/docker-multi.tar" "registry:$R" &&
		convert "registry tree" "$R.x" "$F/oci-multiarch" "registry:$R/strata/multiarch:1.0"; then
		if start_registry "$R" "$T/reg"; then
			reset
			H=127.0.0.1:$REG_PORT
			for ref in strata/multi:a strata/multi:b; do
				l="docker pull $H/$ref (tree written by strata from docker-multi.tar)"
				want=$(S inspect --json "registry:$R/$ref" | jq -c '{id: .images[0].config.digest, digest: .images[0].manifest.digest}')
				if ! D pull -q "$H/$ref" > "$T/pull.out" 2>&1; then nok "$l" "$(head -c 300 "$T/pull.out")"; continue; fi
				got=$(D image inspect "$H/$ref" | jq -c --arg r "$H/${ref%%:*}" '.[0] | {id: .Id, digest: ([.RepoDigests[] | select(startswith($r + "@")) | sub("^[^@]*@"; "")] | first)}')
				same "$l: image ID = config digest, RepoDigest = manifest digest" "$want" "$got"
			done
			l="docker pull $H/strata/multiarch:1.0 (an index strata wrote into the tree)"
			want=$(S inspect --json "registry:$R/strata/multiarch:1.0" |
				jq -c '[.images[] | select(.platform.architecture == "amd64")][0] | {id: .config.digest, digest: .index_digest}')
			if D pull -q "$H/strata/multiarch:1.0" > "$T/pull.out" 2>&1; then
				got=$(D image inspect "$H/strata/multiarch:1.0" | jq -c --arg r "$H/strata/multiarch" '.[0] | {id: .Id, digest: ([.RepoDigests[] | select(startswith($r + "@")) | sub("^[^@]*@"; "")] | first)}')
				same "$l: the amd64 image, RepoDigest = the index digest" "$want" "$got"
			else
				nok "$l" "$(head -c 300 "$T/pull.out")"
			fi
			stop_registry
		else
			nok "docker pull from a registry tree" "docker-registry did not start: $(tail -n 3 "$T/reg/registry.log")"
		fi
	fi
else
	skip "docker pull from a registry tree" "docker-registry or curl not installed"
fi
exit 0
