#!/bin/bash
# tests/registry/run.sh BIN OUTDIR FIXTURES - registry:DIR, a registry's
# storage tree, as a convert target and as a source, proved with a real
# registry (Debian's docker-registry, distribution 2.8) serving it on
# loopback, and skopeo and podman pulling from it.
# One line per check: ok / not ok / skip.
set -u
bin=$1
out=$2
fx=$3
here=$(cd "$(dirname "$0")" && pwd)
. "$here/serve.sh"
rm -rf "$out"
mkdir -p "$out"
out=$(cd "$out" && pwd)
export TMPDIR=$out

ok() { echo "ok - $*"; }
nok() { echo "not ok - $*"; }
check() {  # check DESC CMD...: ok when CMD succeeds
	_d=$1
	shift
	if "$@" > "$out/last.log" 2>&1; then ok "$_d"; else nok "$_d ($(head -c 300 "$out/last.log" | tr '\n' ' '))"; fi
}
# expect DESC CODE PATTERN CMD...: CMD exits CODE and its stderr has exactly
# one line, which matches PATTERN
expect() {
	_d=$1 _c=$2 _p=$3
	shift 3
	"$@" > "$out/exp.out" 2> "$out/exp.err"
	_rc=$?
	_n=$(grep -c . "$out/exp.err")
	if [ "$_rc" = "$_c" ] && [ "$_n" = 1 ] && grep -qE -- "$_p" "$out/exp.err"; then
		ok "$_d (exit $_rc: $(cat "$out/exp.err"))"
	else
		nok "$_d: exit $_rc (want $_c), $_n stderr lines (want 1 matching '$_p'): $(head -c 400 "$out/exp.err" | tr '\n' ' ')"
	fi
}
# a listing of a tree: every file with its content hash, to see that nothing changed
snapshot() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum; find . -type d | sort); }
# the top digest of an OCI layout (its only index.json entry)
top_digest() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]+"/index.json"))["manifests"][0]["digest"])' "$1"; }
# the manifest (or index) digest strata reads for a reference
strata_digest() {
	"$bin" inspect --json "$1" | python3 -c '
import json, sys
im = json.load(sys.stdin)["images"][0]
print(im["index_digest"] if im.get("index_digest") else im["manifest"]["digest"])'
}

reg=$out/reg
# name  source  registry reference
images="strata/sample:1.0 $fx/docker-classic.tar registry:$reg
strata/multi:a $fx/docker-multi.tar registry:$reg
strata/multi:b - -
multi/arch:1.0 oci:$fx/oci-multiarch registry:$reg/multi/arch:1.0
oci/gzip:1.0 oci:$fx/oci-gzip registry:$reg/oci/gzip:1.0
plain:latest oci:$fx/oci-uncompressed registry:$reg/plain"

# ---- writing ----
n=0
while read -r name src dst; do
	[ "$src" = - ] && continue
	n=$((n + 1))
	check "convert $src to $dst" "$bin" convert -q "$src" "$dst"
	# what strata writes for the same source in an OCI layout: the digests the registry must serve
	"$bin" convert -q "$src" "oci:$out/ref$n" > /dev/null 2>&1
done <<< "$images"
expected() {  # expected NAME: the manifest digest strata wrote for it in the reference layouts
	python3 - "$out" "$1" <<'PY'
import json, sys, glob
out, want = sys.argv[1], sys.argv[2]
repo, tag = want.rsplit(":", 1)
for ix in sorted(glob.glob(out + "/ref*/index.json")):
    for m in json.load(open(ix))["manifests"]:
        a = m.get("annotations", {})
        names = [a.get("io.containerd.image.name", ""), a.get("org.opencontainers.image.ref.name", "")]
        if any(n == want or n.endswith("/" + want) for n in names) or (ix.endswith("ref3/index.json") and want == "multi/arch:1.0") \
           or (ix.endswith("ref4/index.json") and want == "oci/gzip:1.0") or (ix.endswith("ref5/index.json") and want == "plain:latest"):
            print(m["digest"]); sys.exit(0)
sys.exit(1)
PY
}
[ "$(expected multi/arch:1.0)" = "$(top_digest "$fx/oci-multiarch")" ] && ok "multi-platform index kept its digest" ||
	nok "multi-platform index digest changed: $(expected multi/arch:1.0) vs $(top_digest "$fx/oci-multiarch")"
check "verify registry:DIR (every blob and link of the tree written)" "$bin" verify -q "registry:$reg"
test -z "$(find "$reg" -name '.strata-tmp*' -o -name '*.tmp-*')" && ok "no temp names left in the tree" || nok "temp names left in the tree"
snap0=$(snapshot "$reg")
check "convert --sync into a new tree" sh -c "'$bin' convert -q --sync '$fx/docker-classic.tar' registry:$out/synced && '$bin' verify -q registry:$out/synced"
# an empty directory made beforehand (a registry's volume) is the tree, what follows it the name
mkdir -p "$out/vol"
check "registry:EMPTYDIR/NAME:TAG writes NAME:TAG into the empty directory" sh -c \
	"'$bin' convert -q '$fx/docker-classic.tar' registry:$out/vol/team/app:1 && test -d '$out/vol/docker/registry/v2/repositories/team/app/_manifests/tags/1' && '$bin' verify -q registry:$out/vol/team/app:1"
# a tree whose path has a ':' is one path (its temp layout is not read as oci:PATH:NAME)
check "a tree at a path with ':' is written and read" sh -c \
	"'$bin' convert -q '$fx/docker-classic.tar' 'registry:$out/r:g/team/x:2' && '$bin' verify -q 'registry:$out/r:g/team/x:2'"
check "writing the same image again succeeds" "$bin" convert -q "$fx/docker-classic.tar" "registry:$reg"
[ "$(snapshot "$reg")" = "$snap0" ] && ok "writing the same image again changes nothing" || nok "the tree changed on a second write"

# interrupted run: the tag links are written last; without them a re-run completes the tree
tagdir=$reg/docker/registry/v2/repositories/strata/multi/_manifests/tags/b
rm -rf "$tagdir"
mkdir -p "$reg/.strata-tmp-999999999/blobs/sha256"  # the temp layout of a killed run
rm -f "$reg"/docker/registry/v2/repositories/strata/multi/_layers/sha256/*/link.tmp-* 2> /dev/null
check "a re-run after an interrupted one succeeds" "$bin" convert -q "$fx/docker-multi.tar" "registry:$reg"
[ "$(snapshot "$reg")" = "$snap0" ] && ok "the re-run completed the tree" || nok "the re-run left another tree"
test ! -e "$reg/.strata-tmp-999999999" && ok "the re-run removed the killed run's temp layout" || nok "a killed run's temp layout stayed"

# ---- reading: every reading command on registry:DIR/NAME:TAG ----
while read -r name src dst; do
	want=$(expected "$name")
	got=$(strata_digest "registry:$reg/$name")
	[ -n "$want" ] && [ "$got" = "$want" ] && ok "strata reads registry:DIR/$name with its digest" ||
		nok "registry:DIR/$name read as '$got', want '$want'"
done <<< "$images"
tags=$("$bin" inspect --json "registry:$reg" | python3 -c 'import json,sys; print(" ".join(sorted(set(t for im in json.load(sys.stdin)["images"] for t in im["tags"]))))')
[ "$tags" = "multi/arch:1.0 oci/gzip:1.0 plain:latest strata/multi:a strata/multi:b strata/sample:1.0" ] &&
	ok "inspect registry:DIR lists every repository and tag" || nok "inspect registry:DIR lists: $tags"
check "verify registry:DIR/strata/sample:1.0" "$bin" verify -q "registry:$reg/strata/sample:1.0"
check "verify registry:DIR/NAME@DIGEST" "$bin" verify -q "registry:$reg/strata/sample@$(expected strata/sample:1.0)"
check "convert registry:DIR/NAME:TAG to docker-archive" "$bin" convert -q "registry:$reg/strata/multi:b" "docker-archive:$out/b.tar"
check "convert registry:DIR/NAME:TAG --keep to oci keeps digests" sh -c "'$bin' convert -q registry:$reg/multi/arch:1.0 oci:$out/back && test \"\$(python3 -c 'import json;print(json.load(open(\"$out/back/index.json\"))[\"manifests\"][0][\"digest\"])')\" = '$(top_digest "$fx/oci-multiarch")'"
check "flatten registry:DIR/NAME:TAG" "$bin" flatten -q "registry:$reg/strata/sample:1.0" "$out/flat.tar"
check "analyze registry:DIR/NAME:TAG" "$bin" analyze -q "registry:$reg/strata/sample:1.0"
check "sbom registry:DIR/NAME:TAG" "$bin" sbom -q "registry:$reg/strata/sample:1.0"
check "diff registry:DIR/NAME:TAG registry:DIR/NAME:TAG" sh -c "'$bin' diff registry:$reg/strata/multi:a registry:$reg/strata/multi:b; test \$? -le 1"
expect "a tag not in the tree" 2 "no tag 'nope'" "$bin" inspect "registry:$reg/strata/sample:nope"

# ---- the real registry serves the tree ----
have_registry=1
command -v docker-registry > /dev/null 2>&1 || have_registry=0
command -v curl > /dev/null 2>&1 || have_registry=0
trap 'stop_registry; [ -n "${prun:-}" ] && rm -rf "$prun"' EXIT INT TERM
if [ $have_registry = 0 ]; then
	echo "skip - registry checks: docker-registry or curl is not installed (apt-get install docker-registry curl)"
elif ! start_registry "$reg" "$out/serve"; then
	echo "not ok - docker-registry serve did not start on the tree (see $out/serve/registry.log)"
	have_registry=0
fi
if [ $have_registry = 1 ]; then
	port=$REG_PORT
	cat=$(curl -fsS "http://127.0.0.1:$port/v2/_catalog")
	[ "$cat" = '{"repositories":["multi/arch","oci/gzip","plain","strata/multi","strata/sample"]}' ] &&
		ok "/v2/_catalog lists every repository" || nok "/v2/_catalog: $cat"
	tags=$(curl -fsS "http://127.0.0.1:$port/v2/strata/multi/tags/list" | python3 -c 'import json,sys; print(" ".join(sorted(json.load(sys.stdin)["tags"])))')
	[ "$tags" = "a b" ] && ok "/v2/strata/multi/tags/list is a b" || nok "/v2/strata/multi/tags/list: $tags"
	k=0
	while read -r name src dst; do
		k=$((k + 1))
		want=$(expected "$name")
		got=$(skopeo inspect --raw --tls-verify=false "docker://127.0.0.1:$port/$name" 2> "$out/sk.err" | sha256sum | cut -d' ' -f1)
		[ "sha256:$got" = "$want" ] && ok "skopeo inspect docker://…/$name: the source's digest" ||
			nok "skopeo inspect docker://…/$name: sha256:$got, want $want ($(head -c 300 "$out/sk.err"))"
		check "skopeo inspect (config and layers) docker://…/$name" skopeo inspect --tls-verify=false "docker://127.0.0.1:$port/$name"
		if skopeo copy -q --all --preserve-digests --src-tls-verify=false "docker://127.0.0.1:$port/$name" "oci:$out/copy$k:t" > "$out/last.log" 2>&1 &&
			[ "$(top_digest "$out/copy$k")" = "$want" ] && "$bin" verify -q "oci:$out/copy$k" >> "$out/last.log" 2>&1; then
			ok "skopeo copy --all --preserve-digests docker://…/$name to oci: (verified, same digest)"
		else
			nok "skopeo copy docker://…/$name to oci: ($(head -c 300 "$out/last.log" | tr '\n' ' '))"
		fi
	done <<< "$images"
	# podman pull, in its own temp storage
	if command -v podman > /dev/null 2>&1; then
		pr=$out/podman
		prun=$(mktemp -d /tmp/strata-pm.XXXXXX)  # podman wants a runroot of at most 50 characters
		mkdir -p "$pr/root"
		pm() { podman --root "$pr/root" --runroot "$prun" --storage-driver vfs --cgroup-manager cgroupfs --events-backend none "$@"; }
		for name in strata/sample:1.0 multi/arch:1.0; do
			if pm pull -q --tls-verify=false "127.0.0.1:$port/$name" > "$out/pm.log" 2>&1; then
				d=$(pm image inspect --format '{{.Digest}}' "127.0.0.1:$port/$name" 2>> "$out/pm.log")
				[ "$d" = "$(expected "$name")" ] && ok "podman pull 127.0.0.1:PORT/$name: the source's digest" ||
					nok "podman pull $name: digest $d, want $(expected "$name")"
			else
				nok "podman pull $name ($(head -c 300 "$out/pm.log" | tr '\n' ' '))"
			fi
		done
		pm rmi -a -f > /dev/null 2>&1
		chmod -R u+w "$pr" 2> /dev/null
		rm -rf "$pr" "$prun" 2> /dev/null
	else
		echo "skip - podman pull: podman is not installed"
	fi
	stop_registry
	docker-registry garbage-collect --dry-run "$REG_CONFIG" > "$out/gc.log" 2>&1
	rc=$?
	if [ $rc = 0 ] && grep -q ' 0 blobs and 0 manifests eligible for deletion' "$out/gc.log" && ! grep -qiE 'error|fatal|panic' "$out/gc.log"; then
		ok "registry garbage-collect --dry-run: nothing to delete, no error ($(tail -1 "$out/gc.log"))"
	else
		nok "registry garbage-collect --dry-run (exit $rc): $(grep -iE 'eligible|error|fatal|panic' "$out/gc.log" | head -3 | tr '\n' ' ')"
	fi

	# a tree the registry filled itself, read by strata
	reg2=$out/reg2
	if start_registry "$reg2" "$out/serve2"; then
		p2=$REG_PORT
		pushed=0
		for pair in "oci:$fx/oci-gzip:1.0 oci/gzip:1.0" "oci:$fx/oci-multiarch:1.0 multi/arch:1.0" \
			"docker-archive:$fx/docker-classic.tar c/classic:1"; do
			set -- $pair
			if skopeo copy -q --all --dest-tls-verify=false "$1" "docker://127.0.0.1:$p2/$2" > "$out/push.log" 2>&1; then
				pushed=$((pushed + 1))
			else
				nok "skopeo copy $1 into the registry ($(head -c 300 "$out/push.log" | tr '\n' ' '))"
			fi
		done
		for name in oci/gzip:1.0 multi/arch:1.0 c/classic:1; do
			want=sha256:$(skopeo inspect --raw --tls-verify=false "docker://127.0.0.1:$p2/$name" 2> /dev/null | sha256sum | cut -d' ' -f1)
			got=$(strata_digest "registry:$reg2/$name")
			[ "$got" = "$want" ] && ok "strata reads the registry's own $name with the registry's digest" ||
				nok "registry's own $name: strata $got, registry $want"
		done
		stop_registry
		check "verify registry:DIR of a tree the registry filled (every blob and link)" "$bin" verify -q "registry:$reg2"
		check "convert the registry's own multi/arch:1.0 to oci: keeps the index digest" sh -c "'$bin' convert -q registry:$reg2/multi/arch:1.0 oci:$out/back2 && test \"\$(python3 -c 'import json;print(json.load(open(\"$out/back2/index.json\"))[\"manifests\"][0][\"digest\"])')\" = '$(top_digest "$fx/oci-multiarch")'"
	else
		nok "a second registry did not start (see $out/serve2/registry.log)"
	fi
fi

# ---- bad input: one line, the right exit code, nothing half-written ----
bad() { rm -rf "$out/bad"; cp -a "$reg" "$out/bad"; }
v2=$out/bad/docker/registry/v2
sample_cfg=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["config"]["digest"][7:])' \
	"$reg/docker/registry/v2/blobs/sha256/$(expected strata/sample:1.0 | cut -c8-9)/$(expected strata/sample:1.0 | cut -c8-)/data")

bad
rm -rf "$v2/blobs/sha256/${sample_cfg:0:2}/$sample_cfg"
"$bin" verify "registry:$out/bad" > /dev/null 2> "$out/dang.err"
rc=$?
[ $rc = 4 ] && grep -q "repositories/strata/sample/_layers/sha256/$sample_cfg/link.*dangling link" "$out/dang.err" &&
	ok "a dangling link: exit 4, the link named ($(grep dangling "$out/dang.err" | head -1))" ||
	nok "a dangling link: exit $rc: $(head -c 400 "$out/dang.err" | tr '\n' ' ')"

bad
layer=$(ls "$v2/repositories/plain/_layers/sha256" | head -1)
for l in $(ls "$v2/repositories/plain/_layers/sha256"); do  # a layer, not the config
	f=$v2/blobs/sha256/${l:0:2}/$l/data
	[ "$(head -c 1 "$f")" != "{" ] && layer=$l
done
f=$v2/blobs/sha256/${layer:0:2}/$layer/data
printf 'X' | dd of="$f" bs=1 seek=600 conv=notrunc status=none
"$bin" verify "registry:$out/bad" > /dev/null 2> "$out/wrong.err"
rc=$?
[ $rc = 1 ] && grep -q "blobs/sha256/${layer:0:2}/$layer/data.*not the digest its path names" "$out/wrong.err" &&
	ok "a blob with wrong content: exit 1, the blob's path named" ||
	nok "a blob with wrong content: exit $rc: $(head -c 400 "$out/wrong.err" | tr '\n' ' ')"

bad
echo -n "sha256:$(printf '%064d' 0)" > "$v2/repositories/strata/sample/_manifests/tags/1.0/current/link"
"$bin" verify "registry:$out/bad" > /dev/null 2> "$out/tag.err"
rc=$?
[ $rc = 4 ] && grep -q "tags/1.0/current/link.*tag points at an absent manifest" "$out/tag.err" &&
	ok "a tag pointing at an absent manifest: exit 4, the link named" ||
	nok "a tag pointing at an absent manifest: exit $rc: $(head -c 400 "$out/tag.err" | tr '\n' ' ')"

bad
rm -rf "$v2/repositories/strata/sample/_layers/sha256/$sample_cfg"
"$bin" verify "registry:$out/bad" > /dev/null 2> "$out/norepo.err"
rc=$?
[ $rc = 4 ] && grep -q "references blob sha256:$sample_cfg, which is absent from the repository" "$out/norepo.err" &&
	ok "a manifest referencing a blob absent from its repository: exit 4" ||
	nok "a blob absent from the repository: exit $rc: $(head -c 400 "$out/norepo.err" | tr '\n' ' ')"

bad
ln -s / "$v2/repositories/strata/evil"
ln -s "$v2/repositories" "$v2/repositories/loop"
check "symlinked directories in the tree are not followed" sh -c "'$bin' verify -q registry:$out/bad && test \"\$('$bin' inspect --json registry:$out/bad | python3 -c 'import json,sys; print(len(json.load(sys.stdin)[\"images\"]))')\" = 8"

expect "an invalid repository name is refused" 2 "not a valid repository name" \
	"$bin" convert -q "$fx/docker-classic.tar" "registry:$out/new/Bad_Name:1"
test ! -e "$out/new" && ok "an invalid name writes nothing" || nok "an invalid name left $out/new"
expect "a name with a registry host is refused" 2 "no registry host" \
	"$bin" convert -q "$fx/docker-classic.tar" "registry:$out/new/example.com/app:1"

mkdir -p "$out/notreg/sub"
echo hello > "$out/notreg/file"
expect "verify of a DIR that is not a registry tree" 4 "not a registry storage tree" "$bin" verify "registry:$out/notreg"
snapn=$(snapshot "$out/notreg")
expect "convert into a DIR that is not a registry tree" 2 "not a registry storage tree" \
	"$bin" convert -q "$fx/docker-classic.tar" "registry:$out/notreg"
[ "$(snapshot "$out/notreg")" = "$snapn" ] && ok "the DIR that is not a registry tree is untouched" || nok "the non-tree DIR changed"

snap1=$(snapshot "$reg")
expect "a tag that exists with other content is refused without --replace" 2 "already, naming other content.*--replace" \
	"$bin" convert -q "$fx/docker-multi.tar" --image strata/multi:b "registry:$reg/strata/sample:1.0"
[ "$(snapshot "$reg")" = "$snap1" ] && test -z "$(find "$reg" -name '.strata-tmp*')" &&
	ok "the refused run wrote nothing" || nok "the refused run changed the tree"
check "--replace replaces it" "$bin" convert -q --replace "$fx/docker-multi.tar" --image strata/multi:b "registry:$reg/strata/sample:1.0"
[ "$(strata_digest "registry:$reg/strata/sample:1.0")" = "$(expected strata/multi:b)" ] &&
	ok "after --replace the tag names the new image" || nok "after --replace the tag names $(strata_digest "registry:$reg/strata/sample:1.0")"
check "the tree still verifies after --replace" "$bin" verify -q "registry:$reg"
expect "an image without a name needs one" 2 "has no name" "$bin" convert -q "$fx/docker-untagged.tar" "registry:$reg"
exit 0
