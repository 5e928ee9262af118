#!/usr/bin/env bash
# tests/bundle/run.sh STRATA OUTDIR FIXTURES - convert of several sources into one destination
# (issue 13): three sources sharing a base layer into an OCI dir, an oci-archive and a
# docker-archive: every name is there, every blob is stored once, skopeo and oci-image-tool take
# the layout; --from FILE gives the same bytes as the arguments; a bundle into an existing layout
# keeps its images; a missing source writes nothing; --tag with two sources is a usage error.
# --manifest: OUT.manifest.json (canonical, reproducible with SOURCE_DATE_EPOCH) and OUT.sha256
# (sha256sum -c) beside the output; verify OUT.manifest.json names what is corrupt, missing, extra.
# Every run is under `timeout` and `ulimit -v`.  One line per check.
set -u
S=$1
W=$2
FIX=$3
rm -rf "$W"
mkdir -p "$W"

LABEL=bundle
. "$(cd "$(dirname "$0")/.." && pwd)/lib.sh"  # run, ok, bad
have() { command -v "$1" > /dev/null 2>&1; }

A=$FIX/docker-classic.tar
B=$FIX/docker-multi.tar
C=$FIX/docker-skopeo.tar
# as inspect names them (a docker-archive's RepoTags are in docker save's familiar form)
NAMES="strata/sample:1.0 strata/multi:a strata/multi:b strata-podman:1.0"

# the names inspect --json gives, one a line, sorted
names() { python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
for im in d["images"]:
    for n in im.get("names", []) + im.get("tags", []):
        print(n)' "$1" | sort -u; }
# distinct digests the images of inspect --json name (manifests, configs, layers, indexes)
digests() { python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
s = set()
def walk(o):
    if isinstance(o, dict):
        for k, v in o.items():
            if k == "digest" and isinstance(v, str) and v.startswith("sha256:"): s.add(v)
            else: walk(v)
    elif isinstance(o, list):
        for v in o: walk(v)
walk(d["images"])
print(len(s))' "$1"; }

for t in oci oci-archive docker-archive; do
	case $t in oci) dst=oci:$W/$t ;; *) dst=$t:$W/$t.tar ;; esac
	out=${dst#*:}
	run convert "$A" "$B" "$C" "$dst"
	if [ $rc != 0 ]; then bad "$t: three sources" "exit $rc"; continue; fi
	ok "$t: three sources converted"
	[ "$(grep -c '^strata: source [1-3] of 3: ' "$W/err")" = 3 ] && ok "$t: progress per source" || bad "$t: progress" "no line per source"
	run inspect --json "$out"
	cp "$W/out" "$W/$t.json"
	miss=""
	for n in $NAMES; do grep -qE "\"(docker.io/(library/)?)?$n\"" "$W/$t.json" || miss="$miss $n"; done
	[ -z "$miss" ] && ok "$t: every name present" || bad "$t: names" "missing:$miss"
	if [ $t = oci ]; then
		nb=$(ls "$out/blobs/sha256" | wc -l)
	else
		nb=$(tar -tf "$out" | grep -c '^blobs/sha256/.')
	fi
	nd=$(digests "$W/$t.json")
	[ "$nb" = "$nd" ] && ok "$t: each blob stored once ($nb)" || bad "$t: blobs" "$nb stored, $nd distinct digests"
	run verify "$out"
	[ $rc = 0 ] && ok "$t: verify OK" || bad "$t: verify" "exit $rc"
done
if [ $t = docker-archive ] && [ -f "$W/docker-archive.tar" ]; then
	n=$(tar -xOf "$W/docker-archive.tar" manifest.json | python3 -c 'import json,sys; print(sum(len(m.get("RepoTags") or []) for m in json.load(sys.stdin)))')
	[ "$n" = 4 ] && ok "docker-archive: 4 RepoTags in manifest.json" || bad "docker-archive: RepoTags" "$n"
fi

refs=""
[ -d "$W/oci" ] && refs=$(python3 -c '
import json, sys
for m in json.load(open(sys.argv[1]))["manifests"]:
    r = m.get("annotations", {}).get("org.opencontainers.image.ref.name")
    if r: print(r)' "$W/oci/index.json")
if have skopeo && [ -n "$refs" ]; then
	fail=""
	for r in $refs; do skopeo inspect --raw "oci:$W/oci:$r" > /dev/null 2>&1 || fail="$fail $r"; done
	[ -z "$fail" ] && [ "$(echo "$refs" | wc -l)" = 4 ] && ok "skopeo finds each of the 4 ref names" || bad "skopeo" "not found:$fail"
fi
if have oci-image-tool && [ -d "$W/oci" ]; then
	fail=""
	# oci-image-tool 1.0.0-rc finds no --ref in an index of more than two entries ("is not
	# unique", whatever the names): each image is validated in a copy of the layout whose
	# index.json holds only its entry (the blobs hard-linked)
	for r in $refs; do
		rm -rf "$W/oit"
		mkdir -p "$W/oit/blobs" && cp -al "$W/oci/blobs/sha256" "$W/oit/blobs/" && cp "$W/oci/oci-layout" "$W/oit/"
		python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
d["manifests"] = [m for m in d["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == sys.argv[2]]
json.dump(d, open(sys.argv[3], "w"))' "$W/oci/index.json" "$r" "$W/oit/index.json"
		oci-image-tool validate --type image --ref "name=$r" "$W/oit" > "$W/err" 2>&1 || fail="$fail $r"
	done
	[ -z "$fail" ] && ok "oci-image-tool validate --type image passes for each of the 4 images" || bad "oci-image-tool" "refused:$fail"
fi

# --from FILE: the same bytes as the arguments (blank lines and comments skipped)
printf '# the bundle\n%s\n\n  %s  \n# base too\n%s\n' "$A" "$B" "$C" > "$W/list"
run convert --from "$W/list" "oci-archive:$W/from.tar"
if [ $rc = 0 ] && cmp -s "$W/from.tar" "$W/oci-archive.tar"; then ok "--from gives the same bytes"; else bad "--from" "exit $rc or bytes differ"; fi
run convert "$A" --from "$W/list" "oci-archive:$W/from2.tar"
[ $rc = 0 ] && ok "SRC and --from together" || bad "SRC and --from" "exit $rc"

# into an existing layout: the old images stay, the new ones are added, shared blobs not rewritten
rm -rf "$W/ex"
run convert "$FIX/oci-gzip" "oci:$W/ex"
before=$(stat -c %Y "$W/ex/blobs/sha256/"* | sort | head -1)
ino=$(stat -c %i "$W/ex/blobs/sha256/"* | sort | tr '\n' ' ')
run convert "$A" "$B" "oci:$W/ex"
run inspect --json "$W/ex"
cp "$W/out" "$W/ex.json"
if grep -q '"docker.io/strata/multi:b"' "$W/ex.json" && [ "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["images"]))' "$W/ex.json")" = 4 ]; then
	ok "into an existing layout: 1 old + 3 new images"
else
	bad "existing layout" "images: $(grep -c '"config"' "$W/ex.json")"
fi
ino2=$(for i in $ino; do :; done; stat -c %i "$W/ex/blobs/sha256/"* | sort | tr '\n' ' ')
miss=""
for i in $ino; do case " $ino2 " in *" $i "*) ;; *) miss="$miss $i" ;; esac; done
[ -z "$miss" ] && ok "the old blobs are not written again" || bad "existing layout" "old blobs replaced"
run verify "$W/ex"
[ $rc = 0 ] && ok "existing layout verifies" || bad "existing layout verify" "exit $rc"

# --manifest: OUT.manifest.json and OUT.sha256 beside each output
for t in oci oci-archive docker-archive; do
	case $t in oci) out=$W/m-$t ;; *) out=$W/m-$t.tar ;; esac
	rm -rf "$out" "$out.manifest.json" "$out.sha256"
	SOURCE_DATE_EPOCH=1700000000 run convert --manifest "$A" "$B" "$C" "$t:$out"
	if [ $rc != 0 ] || [ ! -f "$out.manifest.json" ] || [ ! -f "$out.sha256" ]; then bad "$t --manifest" "exit $rc"; continue; fi
	(cd "$(dirname "$out")" && sha256sum -c --quiet "$(basename "$out").sha256") > "$W/err" 2>&1 &&
		ok "$t: sha256sum -c OUT.sha256 passes" || bad "$t: sha256sum -c" "failed"
	if [ $t = oci ]; then
		n=$(wc -l < "$out.sha256"); f=$(find "$out" -type f | wc -l)
		[ "$n" = "$f" ] && [ -f "$out/oci-layout" ] && [ ! -e "$out/$(basename "$out").sha256" ] &&
			ok "oci: OUT.sha256 lists all $f files of the layout, beside it" || bad "oci: sha256 list" "$n lines, $f files"
	fi
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == 1 and d["kind"] == "strata-transfer-manifest" and d["created"] == "2023-11-14T22:13:20Z", d
assert list(d) == ["schema", "kind", "strata", "created", "output", "files", "images", "blobs"], list(d)
assert len(d["images"]) == 4 and all(i["manifest"] and i["config"] and i["layers"] and i["platform"] for i in d["images"])
assert len({b["digest"] for b in d["blobs"]}) == len(d["blobs"]) > 0
assert open(sys.argv[1]).read() == json.dumps(d, separators=(",", ":")) + "\n"
' "$out.manifest.json" > "$W/err" 2>&1 && ok "$t: the manifest holds schema, kind, files, 4 images, blobs; canonical" ||
		bad "$t: manifest content" "$(tail -1 "$W/err")"
	run verify "$out.manifest.json"
	[ $rc = 0 ] && grep -q ": OK (0 errors" "$W/out" && ok "$t: verify OUT.manifest.json OK" || bad "$t: verify manifest" "exit $rc"
	cp "$out.manifest.json" "$W/m1.json"
	rm -rf "$out"
	SOURCE_DATE_EPOCH=1700000000 run convert --manifest --from "$W/list" "$t:$out"
	cmp -s "$out.manifest.json" "$W/m1.json" && ok "$t: --from, a second run: the manifest is byte-identical" ||
		bad "$t: reproducible manifest" "differs"
done
# damage the layout: each problem named, exit 1
L=$W/m-oci
blob=$(ls "$L/blobs/sha256" | head -1)
cp -r "$L" "$W/m-oci.bak"
printf 'x' >> "$L/blobs/sha256/$blob"
run verify "$L.manifest.json"
[ $rc = 1 ] && grep -q "m-oci/blobs/sha256/$blob: corrupt" "$W/err" && ok "a corrupt blob: named, exit 1" || bad "corrupt blob" "exit $rc"
rm -rf "$L"; cp -r "$W/m-oci.bak" "$L"
rm "$L/blobs/sha256/$blob"
run verify "$L.manifest.json"
[ $rc = 1 ] && grep -q "m-oci/blobs/sha256/$blob: missing" "$W/err" && ok "a missing blob: named, exit 1" || bad "missing blob" "exit $rc"
rm -rf "$L"; cp -r "$W/m-oci.bak" "$L"
echo hi > "$L/blobs/sha256/notes.txt"
run verify "$L.manifest.json"
[ $rc = 1 ] && grep -q "m-oci/blobs/sha256/notes.txt: extra" "$W/err" && ok "an extra file in the layout: named, exit 1" || bad "extra file" "exit $rc"
rm -rf "$L"; cp -r "$W/m-oci.bak" "$L"
run verify "$L.manifest.json"
[ $rc = 0 ] && ok "the restored layout verifies again" || bad "restored" "exit $rc"
A2=$W/m-oci-archive.tar
# the manifest of an archive written whole is a source too: read once, its sha256 checked on the way
run inspect --json "$A2"; cp "$W/out" "$W/insp-archive"
run inspect --json "$A2.manifest.json"
[ $rc = 0 ] && python3 -c '
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
a.pop("source"); b.pop("source")
sys.exit(a != b)' "$W/out" "$W/insp-archive" && ok "inspect OUT.manifest.json of a whole archive = inspect of the archive (but its source)" ||
	bad "inspect whole-archive manifest" "exit $rc"
rm -rf "$W/from-man"
run convert "$A2.manifest.json" "oci:$W/from-man"
[ $rc = 0 ] && ok "convert from a whole archive's manifest" || bad "convert from whole-archive manifest" "exit $rc"
run inspect "$L.manifest.json"
[ $rc = 2 ] && grep -q "describes an OCI layout directory" "$W/err" && ok "a layout's manifest as a source: exit 2, name the directory" ||
	bad "layout manifest as source" "exit $rc"
printf 'x' | dd of="$A2" bs=1 seek=2000 conv=notrunc 2> /dev/null
run verify "$A2.manifest.json"
[ $rc = 1 ] && grep -q "m-oci-archive.tar: corrupt: sha256 [0-9a-f]*, the transfer manifest says" "$W/err" &&
	ok "a damaged archive: named, exit 1" || bad "damaged archive" "exit $rc"
rm -rf "$W/from-bad"
run convert "$A2.manifest.json" "oci:$W/from-bad"
[ $rc = 1 ] && [ ! -e "$W/from-bad" ] && grep -q "m-oci-archive.tar': corrupt" "$W/err" &&
	ok "convert from a damaged archive's manifest: exit 1, nothing written" || bad "convert damaged via manifest" "exit $rc"
echo '{"schema":1}' > "$W/x.manifest.json"
run verify "$W/x.manifest.json"
[ $rc = 4 ] && ok "not a transfer manifest: exit 4" || bad "not a manifest" "exit $rc"
run convert --manifest "$A" oci-archive:- --format oci-archive
[ $rc = 2 ] && ok "--manifest to stdout: exit 2" || bad "--manifest stdout" "exit $rc"

# bad input: nothing written
rm -rf "$W/bad"
run convert "$A" "$W/no-such.tar" "$B" "oci:$W/bad"
if { [ $rc = 3 ] || [ $rc = 4 ]; } && [ ! -e "$W/bad" ] && grep -q "no-such.tar" "$W/err"; then ok "a missing source: exit $rc, nothing written"; else bad "missing source" "exit $rc"; fi
run convert "$A" "$W/no-such.tar" "oci-archive:$W/bad.tar"
if { [ $rc = 3 ] || [ $rc = 4 ]; } && [ ! -e "$W/bad.tar" ]; then ok "a missing source into an archive: nothing written"; else bad "missing source archive" "exit $rc"; fi
cp -r "$W/ex" "$W/ex2"
run convert "$C" "$FIX/malformed/docker-diffid-mismatch.tar" "oci:$W/ex2"
if [ $rc = 1 ] && diff -r "$W/ex" "$W/ex2" > /dev/null; then ok "a corrupt source: exit 1, the existing layout as it was"; else bad "corrupt source" "exit $rc"; fi
run convert --tag x:1 "$A" "$B" "oci:$W/tag"
[ $rc = 2 ] && [ ! -e "$W/tag" ] && ok "--tag with two sources: exit 2" || bad "--tag" "exit $rc"
run convert "$A" "$B" "oci:$W/tag:1"
[ $rc = 2 ] && [ ! -e "$W/tag" ] && ok "a destination name with two sources: exit 2" || bad "dest name" "exit $rc"
run convert - "$A" - "oci:$W/tag"
[ $rc = 2 ] && [ ! -e "$W/tag" ] && ok "stdin twice: exit 2" || bad "stdin twice" "exit $rc"
run convert "$A" "$W/oci-archive.tar" "oci-archive:$W/oci-archive.tar"
[ $rc = 2 ] && ok "a destination that is one of the sources: exit 2" || bad "dest is source" "exit $rc"
printf '# nothing\n\n' > "$W/empty"
run convert --from "$W/empty" "oci:$W/tag"
[ $rc = 2 ] && ok "--from naming no source: exit 2" || bad "empty --from" "exit $rc"
exit 0
