#!/bin/bash
# run.sh STRATA OUTDIR — compare `STRATA inspect --json` with skopeo / umoci / tar on the archives that
# make-archives.sh wrote to OUTDIR, and require `STRATA verify` to exit 0 on each.
# Prints one line per check: "ok - interop X", "not ok - interop X: why", "skip - interop X: why".
# Always exits 0 (the aggregator counts lines). Read-only on OUTDIR; skopeo/umoci here only read.
set -u
STRATA=${1:?usage: run.sh STRATA OUTDIR}
O=${2:?usage: run.sh STRATA OUTDIR}

ok()   { echo "ok - interop $1"; }
nok()  { local r=${2//$'\n'/ }; echo "not ok - interop $1: ${r:0:600}"; }
skip() { echo "skip - interop $1: $2"; }
have() { command -v "$1" >/dev/null 2>&1; }

if ! have jq; then skip "all" "jq not installed"; exit 0; fi
if [ ! -x "$STRATA" ] && ! have "$STRATA"; then nok "strata binary" "not executable: $STRATA"; exit 0; fi
if [ ! -d "$O" ]; then nok "archives" "no directory $O (run make-archives.sh first)"; exit 0; fi
O=$(cd "$O" && pwd -P)

T=$(mktemp -d "${TMPDIR:-/tmp}/strata-interop-run.XXXXXX")
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/home" "$T/tmp"
echo '{"default":[{"type":"insecureAcceptAnything"}]}' > "$T/policy.json"
: > "$T/registries.conf"
export HOME=$T/home TMPDIR=$T/tmp XDG_RUNTIME_DIR=$T/tmp XDG_CONFIG_HOME=$T/home/.config
export XDG_DATA_HOME=$T/home/.local/share CONTAINERS_REGISTRIES_CONF=$T/registries.conf

HAVE_SKOPEO=0; have skopeo && HAVE_SKOPEO=1
HAVE_UMOCI=0; have umoci && HAVE_UMOCI=1
TIMEOUT=(); have timeout && TIMEOUT=(timeout 120)
S()  { "${TIMEOUT[@]}" "$STRATA" "$@"; }
SK() { skopeo --policy "$T/policy.json" --registries-conf "$T/registries.conf" --tmpdir "$T/tmp" "$@"; }

sha()   { sha256sum | cut -c1-64; }
fsize() { stat -c %s "$1"; }

UNC_MT='["application/vnd.docker.image.rootfs.diff.tar","application/vnd.oci.image.layer.v1.tar"]'
GZ_MT='["application/vnd.docker.image.rootfs.diff.tar.gzip","application/vnd.oci.image.layer.v1.tar+gzip"]'
ZS_MT='["application/vnd.oci.image.layer.v1.tar+zstd","application/vnd.docker.image.rootfs.diff.tar.zstd"]'
CFG_MT='["application/vnd.oci.image.config.v1+json","application/vnd.docker.container.image.v1+json"]'

# cmpj WHAT WANT_JSON GOT_JSON — compare two JSON values (object keys order-insensitive)
cmpj() {
	local w g
	w=$(jq -cS . <<<"$2" 2>/dev/null) || w="(unparsable: ${2:0:80})"
	g=$(jq -cS . <<<"$3" 2>/dev/null) || g="(unparsable: ${3:0:80})"
	if [ -n "$w" ] && [ "$w" = "$g" ]; then ok "$1"; return; fi
	if [ "$(jq -rn --argjson w "$w" --argjson g "$g" '[$w, $g] | map(type) | join(",")' 2>/dev/null)" = object,object ]; then
		# objects: name only the keys that differ
		nok "$1" "$(jq -rn --argjson w "$w" --argjson g "$g" \
			'[($w + $g) | keys[] as $k | select($w[$k] != $g[$k]) | "\($k): want \($w[$k] | tojson) got \($g[$k] | tojson)"] | join("; ")')"
	else
		nok "$1" "want ${w:0:280} got ${g:0:280}"
	fi
}
# problems WHAT JSON_ARRAY_OF_STRINGS — ok when the list is empty
problems() {
	if [ "$(jq -r 'length' <<<"$2" 2>/dev/null)" = 0 ]; then ok "$1"
	else nok "$1" "$(jq -r 'if type == "array" then join("; ") else tostring end' <<<"$2" 2>/dev/null || echo "$2")"; fi
}

# sinspect LABEL REF OUT — run strata inspect; 0 when OUT holds schema-1 JSON
sinspect() {
	local rc=0
	S inspect --json "$2" > "$3" 2> "$T/inspect.err" || rc=$?
	if [ $rc -ne 0 ]; then nok "$1 inspect" "exit $rc: $(head -c 300 "$T/inspect.err")"; return 1; fi
	if ! jq -e '.schema == 1 and (.images | type == "array")' "$3" >/dev/null 2>&1; then
		nok "$1 inspect" "not schema-1 JSON: $(head -c 200 "$3")"; return 1
	fi
	ok "$1 inspect"
}
sverify() {
	local rc=0
	S verify "$2" > "$T/verify.out" 2>&1 || rc=$?
	if [ $rc -eq 0 ]; then ok "$1 verify"; else nok "$1 verify" "exit $rc: $(head -c 300 "$T/verify.out")"; fi
}
# header LABEL JSON REF FORMAT_REGEX COMPRESSION
header() {
	if jq -e --arg s "$3" --arg f "$4" --arg c "$5" \
		'.source == $s and ((.format // "") | test("^(" + $f + ")$")) and .compression == $c' "$2" >/dev/null 2>&1; then
		ok "$1 source/format/compression"
	else
		nok "$1 source/format/compression" "want {source:$3, format:$4, compression:$5} got $(jq -c '{source,format,compression}' "$2")"
	fi
}
count() { cmpj "$1 image count" "$3" "$(jq '.images | length' "$2")"; }

# tar_member ARCHIVE MEMBER OUT — extract one member, following one level of symlink (as skopeo/containerd do)
tar_member() {
	local m=$2 line tgt
	line=$(tar -tvf "$1" -- "$m" 2>/dev/null | head -n1)
	case $line in
	l*' -> '*) tgt=${line#* -> }; m=$(realpath -m -s --relative-to=/ "/$(dirname -- "$m")/$tgt") ;;
	esac
	tar -xOf "$1" -- "$m" > "$3" 2>/dev/null && [ -n "$line" ]
}
# magic FILE -> gzip|zstd|xz|bzip2|none
magic() {
	case $(head -c 4 "$1" | od -An -tx1 | tr -d ' \n') in
	1f8b*) echo gzip ;; 28b52ffd) echo zstd ;; fd377a58) echo xz ;; 425a68*) echo bzip2 ;; *) echo none ;;
	esac
}
# blobs LABEL IMAGE_JSON SRC dir|tar — recompute each layer's digest, size, compression and diff_id from the
# stored member (tar + sha256sum + gzip/zstd), independently of every image tool
blobs() {
	local L=$1 I=$2 src=$3 kind=$4 n k member digest size comp diffid f d s c u probs=()
	n=$(jq '.layers | length' "$I")
	for ((k = 0; k < n; k++)); do
		IFS=$'\x1f' read -r member digest size comp diffid < <(jq -r --argjson k "$k" \
			'.layers[$k] | [.member // "", .digest // "", (.size|tostring), .compression // "", .diff_id // ""] | join("\u001f")' "$I")
		f=$T/blob
		if [ "$kind" = dir ]; then
			if [ -n "$member" ] && [ -f "$src/$member" ]; then cp "$src/$member" "$f"
			elif [[ $digest =~ ^sha256:[0-9a-f]{64}$ ]] && [ -f "$src/blobs/sha256/${digest#sha256:}" ]; then
				cp "$src/blobs/sha256/${digest#sha256:}" "$f"
			else probs+=("layer $k: no file for member '$member' / $digest"); continue; fi
		elif ! tar_member "$src" "$member" "$f"; then
			probs+=("layer $k: tar cannot read member '$member'"); continue
		fi
		d=sha256:$(sha < "$f"); s=$(fsize "$f"); c=$(magic "$f")
		case $c in
		gzip) u=sha256:$(gzip -dc < "$f" | sha) ;;
		zstd) if have zstd; then u=sha256:$(zstd -dcq < "$f" | sha); else u=$diffid; fi ;;
		none) u=$d ;;
		*) u="(undecoded $c)" ;;
		esac
		[ "$d" = "$digest" ] || probs+=("layer $k: member digest $d, strata $digest")
		[ "$s" = "$size" ] || probs+=("layer $k: member size $s, strata $size")
		[ "$c" = "$comp" ] || probs+=("layer $k: member compression $c, strata $comp")
		[ "$u" = "$diffid" ] || probs+=("layer $k: decompressed sha256 $u, strata diff_id $diffid")
	done
	problems "$L layer blobs (tar+sha256sum)" "$(printf '%s\n' "${probs[@]}" | jq -R . | jq -sc 'map(select(. != ""))')"
}

RT_CFG='{created: (.created // null), author: (.author // null), entrypoint: (.config.Entrypoint // null),
	cmd: (.config.Cmd // null), env: (.config.Env // []), working_dir: (.config.WorkingDir // ""),
	user: (.config.User // ""), labels: (.config.Labels // {})}'
RT_STRATA='{created, author, entrypoint, cmd, env, working_dir, user, labels}'
# config_checks LABEL IMAGE_JSON CONFIG_RAW_FILE — what the image config itself says
config_checks() {
	local L=$1 I=$2 C=$3
	cmpj "$L config digest+size (raw config bytes)" \
		"{\"digest\":\"sha256:$(sha < "$C")\",\"size\":$(fsize "$C")}" "$(jq -c '.config | {digest, size}' "$I")"
	cmpj "$L diff_ids" "$(jq -c '.rootfs.diff_ids' "$C")" "$(jq -c '[.layers[].diff_id]' "$I")"
	cmpj "$L platform" "$(jq -c '{os, architecture, variant: (.variant // null)}' "$C")" \
		"$(jq -c '.platform | {os, architecture, variant: (.variant // null)}' "$I")"
	cmpj "$L runtime config" "$(jq -c "$RT_CFG" "$C")" "$(jq -c "$RT_STRATA" "$I")"
}

# pick_config JSON DIGEST OUT — the strata image whose config digest is DIGEST
pick_config() { jq -e --arg d "$2" '[.images[] | select(.config.digest == $d)] | .[0] // empty' "$1" > "$3" 2>/dev/null; }

# ------------------------------------------------------------------ docker-archive
# do_docker NAME STRATA_REF PEER_ARCHIVE ARCHIVE COMPRESSION CLASSIC(1: no index.json, manifest must be null)
do_docker() {
	local name=$1 ref=$2 peer=$3 A=$4 comp=$5 classic=$6 L="$1 (docker-archive)" J n k pref hex tag
	J=$T/s-$name-docker.json; rm -f "$J"
	sinspect "$L" "$ref" "$J" || { sverify "$L" "$ref"; return; }
	header "$L" "$J" "$ref" docker-archive "$comp"
	tar -xOf "$A" manifest.json > "$T/manifest.json" 2>/dev/null
	n=$(jq 'length' "$T/manifest.json" 2>/dev/null)
	if ! [[ $n =~ ^[0-9]+$ ]]; then nok "$L image count" "tar cannot read manifest.json from $A"; sverify "$L" "$ref"; return; fi
	count "$L" "$J" "$n"
	if [ $HAVE_SKOPEO = 0 ]; then skip "$L peers" "skopeo not installed"; fi
	for ((k = 0; k < n; k++)); do
		hex=$(jq -r --argjson k "$k" '.[$k].Config' "$T/manifest.json" | grep -oE '[0-9a-f]{64}' | head -n1)
		tag=$(jq -r --argjson k "$k" '(.[$k].RepoTags // [])[0] // "untagged"' "$T/manifest.json")
		local IL="$L image $tag"
		if ! pick_config "$J" "sha256:$hex" "$T/img.json"; then
			nok "$IL" "no image with config sha256:$hex (manifest.json entry $k)"; continue
		fi
		if [ $HAVE_SKOPEO = 1 ]; then
			pref="docker-archive:$peer"; [ "$n" -gt 1 ] && pref="$pref:@$k"
			if SK inspect --raw "$pref" > "$T/raw" 2> "$T/sk.err" && SK inspect --config --raw "$pref" > "$T/cfg" 2>> "$T/sk.err"; then
				config_checks "$IL" "$T/img.json" "$T/cfg"
				# skopeo synthesizes a schema2 manifest for docker-archive: layer digest = diff_id, size =
				# uncompressed size, media type always ...tar.gzip (not comparable)
				problems "$IL layers vs skopeo (diff_id; uncompressed: digest, size, media_type)" "$(jq -nc \
					--slurpfile r "$T/raw" --slurpfile i "$T/img.json" --argjson unc "$UNC_MT" --argjson gz "$GZ_MT" \
					--argjson zs "$ZS_MT" --argjson cfgmt "$CFG_MT" '
					($r[0].layers) as $sl | ($i[0].layers) as $il |
					if ($sl | length) != ($il | length) then ["layer count: skopeo \($sl | length), strata \($il | length)"]
					else [range(0; $sl | length) as $k | $sl[$k] as $s | $il[$k] as $l |
						(if $l.diff_id != $s.digest then "layer \($k): diff_id \($l.diff_id), skopeo \($s.digest)" else empty end),
						(if $l.compression == "none" then
							(if $l.digest != $l.diff_id then "layer \($k): uncompressed, digest \($l.digest) != diff_id" else empty end),
							(if $l.size != $s.size then "layer \($k): size \($l.size), skopeo \($s.size)" else empty end),
							(if any($unc[]; . == $l.media_type) then empty else "layer \($k): uncompressed but media_type \($l.media_type)" end)
						elif $l.compression == "gzip" then
							(if any($gz[]; . == $l.media_type) then empty else "layer \($k): gzip but media_type \($l.media_type)" end)
						elif $l.compression == "zstd" then
							(if any($zs[]; . == $l.media_type) then empty else "layer \($k): zstd but media_type \($l.media_type)" end)
						else "layer \($k): compression \($l.compression)" end)]
					end
					+ (if any($cfgmt[]; . == $i[0].config.media_type) then [] else ["config media_type \($i[0].config.media_type)"] end)')"
			else
				nok "$IL peers" "skopeo inspect $pref failed: $(head -c 200 "$T/sk.err")"
			fi
		fi
		if [ "$classic" = 1 ]; then
			cmpj "$IL manifest (none stored)" '{"manifest":null,"index_digest":null}' "$(jq -c '{manifest, index_digest}' "$T/img.json")"
			cmpj "$IL tags (RepoTags)" "$(jq -c --argjson k "$k" '.[$k].RepoTags // [] | unique' "$T/manifest.json")" \
				"$(jq -c '.tags // [] | unique' "$T/img.json")"
		else
			problems "$IL tags include RepoTags" "$(jq -c --argjson k "$k" --slurpfile i "$T/img.json" \
				'[.[$k].RepoTags // [] | .[] | select(. as $t | ($i[0].tags // []) | index([$t]) | not) | "missing tag \(.)"]' "$T/manifest.json")"
		fi
		blobs "$IL" "$T/img.json" "$A" tar
	done
	sverify "$L" "$ref"
}

# ------------------------------------------------------------------ OCI layout (dir) / oci-archive
# manifest_bytes SRC dir|tar DIGEST OUT
manifest_bytes() {
	local hex=${3#sha256:}
	if [ "$2" = dir ]; then [ -f "$1/blobs/sha256/$hex" ] && cp "$1/blobs/sha256/$hex" "$4"
	else tar -xOf "$1" "blobs/sha256/$hex" > "$4" 2>/dev/null; fi
}
# oci_image_checks LABEL IMAGE_JSON MANIFEST_FILE CONFIG_FILE EXPECT_DESC_JSON EXPECT_INDEX_DIGEST_JSON SRC KIND
oci_image_checks() {
	local L=$1 I=$2 M=$3 C=$4
	cmpj "$L manifest descriptor + index_digest" "{\"manifest\":$5,\"index_digest\":$6}" \
		"$(jq -c '{manifest: (if .manifest == null then null else .manifest | {digest, size, media_type} end), index_digest}' "$I")"
	cmpj "$L config descriptor" "$(jq -c '.config | {digest, size, media_type: .mediaType}' "$M")" \
		"$(jq -c '.config | {digest, size, media_type}' "$I")"
	cmpj "$L layers (digest, size, media_type)" "$(jq -c '[.layers[] | {digest, size, media_type: .mediaType}]' "$M")" \
		"$(jq -c '[.layers[] | {digest, size, media_type}]' "$I")"
	config_checks "$L" "$I" "$C"
	blobs "$L" "$I" "$7" "$8"
}
# index_json SRC KIND OUT
index_json() { if [ "$2" = dir ]; then cp "$1/index.json" "$3"; else tar -xOf "$1" index.json > "$3" 2>/dev/null; fi; }

# do_oci NAME TRANSPORT(oci|oci-archive) SRC TAG(or "") [UMOCI]
do_oci() {
	local name=$1 tr=$2 src=$3 tag=$4 umoci=${5:-} kind fmt ref L J mt idx total present
	if [ "$tr" = oci ]; then kind=dir; fmt=oci-layout; else kind=tar; fmt=oci-archive; fi
	ref="$tr:$src"; [ -n "$tag" ] && ref="$ref:$tag"
	L="$name ($tr)"; J=$T/s-$name-$tr.json; rm -f "$J"
	sinspect "$L" "$ref" "$J" || { sverify "$L" "$ref"; return; }
	header "$L" "$J" "$ref" "$fmt" none
	if [ $HAVE_SKOPEO = 0 ]; then skip "$L peers" "skopeo not installed"; sverify "$L" "$ref"; return; fi
	if ! SK inspect --raw "$ref" > "$T/raw" 2> "$T/sk.err"; then
		nok "$L peers" "skopeo inspect --raw failed: $(head -c 200 "$T/sk.err")"; sverify "$L" "$ref"; return
	fi
	index_json "$src" "$kind" "$T/index.json"
	mt=$(jq -r '.mediaType // (if has("manifests") then "application/vnd.oci.image.index.v1+json" else "application/vnd.oci.image.manifest.v1+json" end)' "$T/raw")
	local rawd; rawd="sha256:$(sha < "$T/raw")"
	# tags: the top-level index.json descriptor for what skopeo resolved; full name preferred when present
	local want_tag
	want_tag=$(jq -r --arg d "$rawd" '[.manifests[] | select(.digest == $d) | .annotations // {} |
		(.["io.containerd.image.name"] // .["org.opencontainers.image.ref.name"]) // empty] | .[0] // empty' "$T/index.json")
	if [[ $mt == *index* || $mt == *manifest.list* ]]; then
		idx=$rawd
		total=$(jq '.manifests | length' "$T/raw"); present=0
		local i os arch var d plat IL ov
		for ((i = 0; i < total; i++)); do
			IFS=$'\x1f' read -r d os arch var < <(jq -r --argjson i "$i" \
				'.manifests[$i] | [.digest, .platform.os // "", .platform.architecture // "", .platform.variant // ""] | join("\u001f")' "$T/raw")
			plat="$os/$arch${var:+/$var}"; IL="$L $plat"
			if ! manifest_bytes "$src" "$kind" "$d" "$T/man"; then
				ok "$IL manifest blob absent from archive (allowed by image-layout; not compared)"; continue
			fi
			present=$((present + 1))
			ov=(--override-os "$os" --override-arch "$arch"); [ -n "$var" ] && ov+=(--override-variant "$var")
			if ! SK "${ov[@]}" inspect --config --raw "$ref" > "$T/cfg" 2> "$T/sk.err"; then
				nok "$IL peers" "skopeo --override-arch $arch inspect --config failed: $(head -c 200 "$T/sk.err")"; continue
			fi
			if ! jq -e --arg os "$os" --arg a "$arch" --arg v "$var" \
				'[.images[] | select(.platform.os == $os and .platform.architecture == $a and ((.platform.variant // "") == $v))] | .[0] // empty' \
				"$J" > "$T/img.json" 2>/dev/null; then
				nok "$IL" "no image for platform $plat"; continue
			fi
			oci_image_checks "$IL" "$T/img.json" "$T/man" "$T/cfg" \
				"$(jq -c --argjson i "$i" '.manifests[$i] | {digest, size, media_type: .mediaType}' "$T/raw")" "\"$idx\"" "$src" "$kind"
		done
		if [ "$present" = "$total" ]; then count "$L" "$J" "$total"
		else
			local got; got=$(jq '.images | length' "$J")
			if [ "$got" -ge "$present" ] && [ "$got" -le "$total" ]; then ok "$L image count ($got; $present of $total manifests present)"
			else nok "$L image count" "want $present..$total got $got"; fi
		fi
		if [ -n "$want_tag" ]; then
			problems "$L tags (index.json)" "$(jq -c --arg t "$want_tag" 'if [.images[].tags[]?] | index([$t]) then [] else ["no image tagged \($t)"] end' "$J")"
		fi
	else
		count "$L" "$J" 1
		jq -c '.images[0]' "$J" > "$T/img.json"
		if ! SK inspect --config --raw "$ref" > "$T/cfg" 2> "$T/sk.err"; then
			nok "$L peers" "skopeo inspect --config failed: $(head -c 200 "$T/sk.err")"
		else
			oci_image_checks "$L" "$T/img.json" "$T/raw" "$T/cfg" \
				"{\"digest\":\"$rawd\",\"size\":$(fsize "$T/raw"),\"media_type\":\"$mt\"}" null "$src" "$kind"
		fi
		if [ -n "$want_tag" ]; then
			problems "$L tags (index.json)" "$(jq -c --arg t "$want_tag" 'if (.images[0].tags // []) | index([$t]) then [] else ["missing tag \($t), got \(.images[0].tags)"] end' "$J")"
		else
			nok "$L tags (index.json)" "no index.json descriptor for $rawd (peer/archive mismatch)"
		fi
		if [ -n "$umoci" ]; then
			if [ $HAVE_UMOCI = 0 ]; then skip "$L umoci stat" "umoci not installed"
			elif umoci stat --image "$src:$tag" --json > "$T/umoci.json" 2> "$T/umoci.err"; then
				cmpj "$L layers+diff_ids vs umoci stat" \
					"$(jq -c '[.history[] | select(.layer != null) | {digest: .layer.digest, size: .layer.size, media_type: .layer.mediaType, diff_id}]' "$T/umoci.json")" \
					"$(jq -c '[.images[0].layers[] | {digest, size, media_type, diff_id}]' "$J")"
			else
				nok "$L umoci stat" "umoci stat failed: $(head -c 200 "$T/umoci.err")"
			fi
		fi
	fi
	sverify "$L" "$ref"
}

# ------------------------------------------------------------------ bare path: detection by content
# do_bare NAME PATH FORMAT_REGEX COMPRESSION — same images as the typed reference of the detected format
do_bare() {
	local name=$1 p=$2 L="$1 (bare path)" J f typed
	J=$T/s-$name-bare.json
	sinspect "$L" "$p" "$J" || { sverify "$L" "$p"; return; }
	header "$L" "$J" "$p" "$3" "$4"
	f=$(jq -r '.format' "$J")
	case $f in docker-archive) typed=$T/s-$name-docker.json ;; oci-layout) typed=$T/s-$name-oci.json ;;
		oci-archive) typed=$T/s-$name-oci-archive.json ;; rootfs) typed=$T/s-$name-rootfs.json ;; *) typed= ;; esac
	if [ -n "$typed" ] && [ -s "$typed" ]; then
		cmpj "$L same images as typed $f reference" "$(jq -c '.images' "$typed")" "$(jq -c '.images' "$J")"
	fi
	sverify "$L" "$p"
}

# ------------------------------------------------------------------ rootfs tarball
do_rootfs() {
	local name=$1 p=$2 L="$1 (rootfs)" J want
	J=$T/s-$name-rootfs.json
	sinspect "$L" "rootfs:$p" "$J" || { sverify "$L" "rootfs:$p"; return; }
	header "$L" "$J" "rootfs:$p" rootfs xz
	count "$L" "$J" 1
	want=sha256:$(xz -dc < "$p" | sha)
	cmpj "$L one layer, diff_id = sha256(xz -dc)" "[\"$want\"]" "$(jq -c '[.images[0].layers[]?.diff_id]' "$J")"
	if [ $HAVE_SKOPEO = 0 ]; then skip "$L diff_id vs podman import" "skopeo not installed"
	elif [ ! -f "$O/podman-import.tar" ]; then skip "$L diff_id vs podman import" "podman-import.tar not made"
	elif SK inspect --config --raw "docker-archive:$O/podman-import.tar" > "$T/cfg" 2> "$T/sk.err"; then
		cmpj "$L diff_id vs podman import" "$(jq -c '.rootfs.diff_ids' "$T/cfg")" "$(jq -c '[.images[0].layers[]?.diff_id]' "$J")"
	else
		nok "$L diff_id vs podman import" "skopeo failed: $(head -c 200 "$T/sk.err")"
	fi
	sverify "$L" "rootfs:$p"
}

# ------------------------------------------------------------------ the archives
present() { if [ -e "$O/$1" ]; then return 0; fi; skip "$1" "not in $O (tool missing when make-archives.sh ran?)"; return 1; }

if present podman-docker.tar; then
	do_docker podman-docker.tar "docker-archive:$O/podman-docker.tar" "$O/podman-docker.tar" "$O/podman-docker.tar" none 1
	do_bare podman-docker.tar "$O/podman-docker.tar" docker-archive none
fi
if present podman-docker.tar.gz && [ -e "$O/podman-docker.tar" ]; then
	# skopeo 1.9 cannot read a compressed docker-archive file; its peer is the uncompressed original
	do_docker podman-docker.tar.gz "docker-archive:$O/podman-docker.tar.gz" "$O/podman-docker.tar" "$O/podman-docker.tar.gz" gzip 1
	do_bare podman-docker.tar.gz "$O/podman-docker.tar.gz" docker-archive gzip
fi
if present podman-multi.tar; then
	do_docker podman-multi.tar "docker-archive:$O/podman-multi.tar" "$O/podman-multi.tar" "$O/podman-multi.tar" none 1
	do_bare podman-multi.tar "$O/podman-multi.tar" docker-archive none
fi
if present podman-import.tar; then
	do_docker podman-import.tar "docker-archive:$O/podman-import.tar" "$O/podman-import.tar" "$O/podman-import.tar" none 1
fi
if present podman-import-xz-bad.tar; then
	# made by podman itself, but its config diff_id is sha256 of the .xz file, not of the layer tar
	L="podman-import-xz-bad.tar (docker-archive)"; ref="docker-archive:$O/podman-import-xz-bad.tar"
	if [ -e "$O/rootfs.tar.xz" ] && tar -xOf "$O/podman-import-xz-bad.tar" manifest.json 2>/dev/null | jq -r '.[0].Config' |
		xargs -I{} tar -xOf "$O/podman-import-xz-bad.tar" {} 2>/dev/null | grep -q "$(sha < "$O/rootfs.tar.xz")"; then
		rc=0; S verify "$ref" > "$T/verify.out" 2>&1 || rc=$?
		if [ $rc -eq 1 ]; then ok "$L verify exits 1 (diff_id mismatch)"
		else nok "$L verify exits 1 (diff_id mismatch)" "exit $rc: $(head -c 300 "$T/verify.out")"; fi
	else
		skip "$L verify exits 1 (diff_id mismatch)" "podman did not reproduce the xz diff_id bug (newer podman?)"
	fi
fi
if present podman-oci.tar; then
	do_oci podman-oci.tar oci-archive "$O/podman-oci.tar" ""
	do_bare podman-oci.tar "$O/podman-oci.tar" oci-archive none
fi
for d in skopeo-oci-gzip skopeo-oci-zstd; do
	if present $d; then do_oci $d oci "$O/$d" app umoci; do_bare $d "$O/$d" oci-layout none; fi
done
if present umoci-layout; then
	do_oci umoci-layout oci "$O/umoci-layout" base umoci
	do_bare umoci-layout "$O/umoci-layout" oci-layout none
fi
if present multi; then
	do_oci multi oci "$O/multi" latest   # umoci 0.4.7 stat cannot read an index ("tag is ambiguous")
	do_bare multi "$O/multi" oci-layout none
fi
if present multi-oci.tar; then
	do_oci multi-oci.tar oci-archive "$O/multi-oci.tar" ""
	do_bare multi-oci.tar "$O/multi-oci.tar" oci-archive none
fi
# containerd exports hold both manifest.json and oci-layout/index.json: read them both ways
for a in ctr-export.tar ctr-export-multi.tar; do
	if present $a; then
		do_docker $a "docker-archive:$O/$a" "$O/$a" "$O/$a" none 0
		do_oci $a oci-archive "$O/$a" ""
		do_bare $a "$O/$a" "docker-archive|oci-archive" none
	fi
done
if present rootfs.tar.xz; then
	do_rootfs rootfs.tar.xz "$O/rootfs.tar.xz"
	do_bare rootfs.tar.xz "$O/rootfs.tar.xz" rootfs xz
fi
exit 0
