#!/usr/bin/env bash
# tests/bundle/delta.sh STRATA OUTDIR FIXTURES - deltas and signed transfer manifests (issue 13).
# Day one: three images sharing a base layer go across as one signed bundle and become the far
# side's layout.  Day two: one image gets a new top layer; `inspect --blobs` of the far side lists
# what it holds; `convert --exclude-blobs LIST` writes a delta holding only the new blobs and the
# documents; `convert DELTA FAR --blobs-from FAR` completes the far side, which then verifies and
# names every image by the source's digests.  Also: verify of a delta alone (left out on purpose
# vs really missing), a wrong base (every missing blob named, nothing written), an unreadable base,
# and signatures (Ed25519, ECDSA P-256) accepted, cross-checked with openssl, and refused when the
# manifest is altered, unsigned or signed by another key.  The images are generated here (python3).
# Every run is under `timeout` and `ulimit -v`.  One line per check.
set -u
S=$1
W=$2
FIX=$3
: "$FIX"
rm -rf "$W"
mkdir -p "$W"

LABEL=delta
. "$(cd "$(dirname "$0")/.." && pwd)/lib.sh"  # run, ok, bad
have() { command -v "$1" > /dev/null 2>&1; }
blobs_of() { ls "$1/blobs/sha256" | sed 's/^/sha256:/' | sort; }
lines() { grep -c . "$1" 2> /dev/null || echo 0; }

# ---- images: a, b, c share a base layer; b2 is b with a new top layer, under b's name ----
python3 - "$W/img" <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile
def layer(files):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in files:
            ti = tarfile.TarInfo(name); ti.size = len(data); ti.mtime = 0; ti.mode = 0o644
            t.addfile(ti, io.BytesIO(data))
    raw = b.getvalue()
    return raw, gzip.compress(raw, mtime=0)
def blob(d, data):
    h = hashlib.sha256(data).hexdigest()
    p = os.path.join(d, "blobs", "sha256", h)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    open(p, "wb").write(data)
    return "sha256:" + h
def layout(d, name, layers):
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, "oci-layout"), "w").write('{"imageLayoutVersion":"1.0.0"}')
    ls, ids = [], []
    for raw, gz in layers:
        ls.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": blob(d, gz), "size": len(gz)})
        ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {}, "rootfs": {"type": "layers", "diff_ids": ids},
                      "history": [{"created_by": "layer %d" % i} for i in range(len(ids))]}, sort_keys=True).encode()
    man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                      "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": blob(d, cfg), "size": len(cfg)},
                      "layers": ls}).encode()
    md = blob(d, man)
    idx = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
           "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": len(man),
                          "annotations": {"org.opencontainers.image.ref.name": name.rsplit(":", 1)[1],
                                          "io.containerd.image.name": "docker.io/library/" + name}}]}
    open(os.path.join(d, "index.json"), "w").write(json.dumps(idx))
    open(os.path.join(d, "layers"), "w").write("".join(l["digest"] + "\n" for l in ls))
    open(os.path.join(d, "manifest"), "w").write(md + "\n")
def data(seed, n):
    out, h = b"", seed.encode()
    while len(out) < n:
        h = hashlib.sha256(h).digest(); out += h
    return out[:n]
out = sys.argv[1]
base = layer([("etc/base", data("base", 300000)), ("bin/sh", data("sh", 50000))])
l1, l2, l3 = (layer([("app/" + s, data(s, 40000))]) for s in ("one", "two", "three"))
l4 = layer([("app/two-v2", data("two-v2", 60000))])
layout(out + "/a", "app-a:1", [base, l1])
layout(out + "/b", "app-b:1", [base, l2])
layout(out + "/c", "app-c:1", [base, l3])
layout(out + "/b2", "app-b:1", [base, l2, l4])
PY
I=$W/img
for x in a b c b2; do mv "$I/$x/layers" "$I/$x.layers"; mv "$I/$x/manifest" "$I/$x.manifest"; done
NEW=$(tail -1 "$I/b2.layers")

# ---- keys ----
K=$W/keys
mkdir -p "$K"
keys=""
if openssl genpkey -algorithm ed25519 -out "$K/ed.pem" 2> /dev/null && openssl pkey -in "$K/ed.pem" -pubout -out "$K/ed.pub" 2> /dev/null &&
	openssl genpkey -algorithm ed25519 -out "$K/ed2.pem" 2> /dev/null && openssl pkey -in "$K/ed2.pem" -pubout -out "$K/ed2.pub" 2> /dev/null &&
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$K/ec.pem" 2> /dev/null &&
	openssl pkey -in "$K/ec.pem" -pubout -out "$K/ec.pub" 2> /dev/null &&
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$K/p384.pem" 2> /dev/null &&
	openssl pkey -in "$K/p384.pem" -pubout -out "$K/p384.pub" 2> /dev/null &&
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$K/rsa.pem" 2> /dev/null &&
	openssl pkey -in "$K/rsa.pem" -pubout -out "$K/rsa.pub" 2> /dev/null; then
	keys=yes
fi

# ---- day one: a signed bundle (ECDSA P-256) -> the far side's layout ----
FAR=$W/far
if [ -n "$keys" ]; then
	run convert "$I/a" "$I/b" "$I/c" "oci-archive:$W/day1.tar" --sign "$K/ec.pem"
else
	run convert "$I/a" "$I/b" "$I/c" "oci-archive:$W/day1.tar" --manifest
fi
[ $rc = 0 ] && [ -f "$W/day1.tar.manifest.json" ] && ok "day one: bundle of 3 images with its transfer manifest" || bad "day one bundle" "exit $rc"
if [ -n "$keys" ]; then
	[ -f "$W/day1.tar.manifest.json.sig" ] && ok "--sign writes OUT.manifest.json.sig" || bad "--sign" "no .sig"
	if openssl dgst -sha256 -verify "$K/ec.pub" -signature "$W/day1.tar.manifest.json.sig" "$W/day1.tar.manifest.json" > /dev/null 2>&1; then
		ok "P-256: openssl dgst -sha256 -verify accepts the signature"
	else
		bad "P-256 openssl" "openssl dgst refused"
	fi
	run verify --trust "$K/ec.pub" "$W/day1.tar"
	[ $rc = 0 ] && grep -q ': OK' "$W/out" && ok "P-256: verify --trust accepts the bundle" || bad "P-256 verify --trust" "exit $rc"
else
	echo "skip - delta signatures: openssl cannot make Ed25519 / P-256 / RSA keys here"
fi
run convert "$W/day1.tar" "oci:$FAR"
[ $rc = 0 ] && ok "far side: the bundle becomes a layout" || bad "far side" "exit $rc"

# ---- inspect --blobs ----
run inspect --blobs "$FAR"
cp "$W/out" "$W/far.list"
if [ $rc = 0 ] && ! grep -qvE '^sha256:[0-9a-f]{64}$' "$W/far.list" && sort -c "$W/far.list" 2> /dev/null &&
	[ "$(cat "$W/far.list")" = "$(blobs_of "$FAR")" ]; then
	ok "inspect --blobs lists every blob of the layout, sorted ($(lines "$W/far.list"))"
else
	bad "inspect --blobs" "exit $rc or list differs from blobs/sha256"
fi
run inspect --blobs "$W/day1.tar"
[ $rc = 0 ] && cmp -s "$W/out" "$W/far.list" && ok "inspect --blobs of the archive gives the same list" || bad "inspect --blobs archive" "exit $rc or differs"
run inspect --blobs --json "$FAR"
[ $rc = 2 ] && ok "inspect --blobs --json is a usage error" || bad "inspect --blobs --json" "exit $rc"

# ---- day two: the delta ----
D=$W/delta
if [ -n "$keys" ]; then
	run convert "$I/a" "$I/b2" "$I/c" "oci:$D" --exclude-blobs "$W/far.list" --sign "$K/ed.pem"
else
	run convert "$I/a" "$I/b2" "$I/c" "oci:$D" --exclude-blobs "$W/far.list"
fi
[ $rc = 0 ] && [ -f "$D.manifest.json" ] && [ -f "$D.sha256" ] && ok "day two: delta written with its transfer manifest" || bad "delta" "exit $rc"
# what it must hold: every blob of the sources except the layers the far side has
for x in a b2 c; do ls "$I/$x/blobs/sha256"; done | sed 's/^/sha256:/' | sort -u > "$W/src.blobs"
cat "$I"/a.layers "$I"/b2.layers "$I"/c.layers | sort -u > "$W/src.layers"
comm -12 "$W/src.layers" "$W/far.list" > "$W/left.want"
comm -23 "$W/src.blobs" "$W/left.want" > "$W/delta.want"
if [ -d "$D" ] && [ "$(blobs_of "$D")" = "$(cat "$W/delta.want")" ] && [ "$(ls "$D" | tr '\n' ' ')" = "blobs index.json oci-layout " ] &&
	[ "$(comm -23 "$W/delta.want" "$W/far.list")" != "" ] && blobs_of "$D" | grep -qx "$NEW"; then
	ok "the delta holds only the new layer and the documents ($(lines "$W/delta.want") blobs, $(lines "$W/left.want") layers left out)"
else
	bad "delta contents" "blobs: $(blobs_of "$D" 2> /dev/null | wc -l), want $(lines "$W/delta.want")"
fi
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print("\n".join(sorted(x["digest"] for x in d.get("expected", []))))' "$D.manifest.json" > "$W/expected.got"
cmp -s "$W/expected.got" "$W/left.want" && ok "the transfer manifest lists the left-out layers as expected" || bad "expected list" "$(tr '\n' ' ' < "$W/expected.got")"
run convert "$I/a" "$I/b2" "$I/c" "oci:$W/delta2" --exclude-blobs "$FAR"
if [ $rc = 0 ] && [ "$(blobs_of "$W/delta2")" = "$(blobs_of "$D")" ] && cmp -s "$W/delta2/index.json" "$D/index.json"; then
	ok "--exclude-blobs FAR (a layout) gives the same delta as the list"
else
	bad "--exclude-blobs layout" "exit $rc or differs"
fi
run convert "$I/a" "$I/b2" "$I/c" "oci-archive:$W/delta-a.tar" --exclude-blobs "$W/far.list"
n=$(tar -tf "$W/delta-a.tar" 2> /dev/null | grep '^blobs/sha256/.' | sed 's|^blobs/sha256/|sha256:|' | sort)
[ $rc = 0 ] && [ "$n" = "$(cat "$W/delta.want")" ] && ok "a delta as an oci-archive holds the same blobs" || bad "oci-archive delta" "exit $rc"
run verify "$W/delta-a.tar"
[ $rc = 0 ] && grep -q "note: $(lines "$W/left.want") blobs left out on purpose" "$W/out" && ok "verify of the oci-archive delta alone: OK with the note" || bad "verify oci-archive delta" "exit $rc"
run convert "$W/delta-a.tar" "oci:$W/from-a" --blobs-from "$FAR"
[ $rc = 0 ] && ok "the oci-archive delta completes into a new layout" || bad "complete oci-archive delta" "exit $rc"
run verify "$W/from-a"
[ $rc = 0 ] && ok "which verifies" || bad "verify from-a" "exit $rc"
run convert "$I/a" "$I/b2" "$I/c" "docker-archive:$W/delta.tar" --exclude-blobs "$W/far.list"
[ $rc = 2 ] && [ ! -e "$W/delta.tar" ] && ok "a delta into a docker-archive is refused (exit 2)" || bad "delta docker-archive" "exit $rc"

# ---- verify of the delta ----
nleft=$(lines "$W/left.want")
run verify "$D"
[ $rc = 0 ] && grep -q "note: $nleft blobs left out on purpose" "$W/out" && ok "verify DELTA: OK, $nleft blobs noted as left out on purpose" || bad "verify delta" "exit $rc: $(cat "$W/out")"
run verify "$D.manifest.json"
[ $rc = 0 ] && grep -q "note: $nleft blobs left out on purpose" "$W/out" && ok "verify DELTA.manifest.json: OK, left-out blobs noted" || bad "verify delta manifest" "exit $rc: $(cat "$W/out")"
run verify --json "$D"
if [ $rc = 0 ] && python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
want = open(sys.argv[2]).read().split()
sys.exit(0 if d["ok"] and sorted(d["left_out"]) == want and d["errors"] == 0 else 1)' "$W/out" "$W/left.want"; then
	ok "verify --json DELTA: left_out lists them, no error"
else
	bad "verify --json delta" "exit $rc"
fi
# the same delta (its manifest names its output "delta") with the new layer lost on the way
mkdir -p "$W/broken"
cp -a "$D" "$W/broken/delta"
cp "$D.manifest.json" "$W/broken/delta.manifest.json"
rm -f "$W/broken/delta/blobs/sha256/${NEW#sha256:}"
run verify "$W/broken/delta"
[ $rc != 0 ] && grep -q "${NEW#sha256:}" "$W/err" && grep -q "left out on purpose" "$W/out" && ok "a blob really missing from the delta is an error (exit $rc), apart from the left-out ones" || bad "really missing" "exit $rc"
run verify "$W/broken/delta.manifest.json"
[ $rc = 1 ] && grep -q "${NEW#sha256:}" "$W/err" && ok "verify of its manifest names the missing blob (exit 1)" || bad "really missing (manifest)" "exit $rc"

# ---- bad bases ----
run convert "$I/a" "oci:$W/nx" --exclude-blobs "$W/no-such-list"
[ $rc = 3 ] && [ "$(wc -l < "$W/err")" = 1 ] && [ ! -e "$W/nx" ] && ok "unreadable --exclude-blobs base: one line, exit 3, nothing written" || bad "unreadable exclude base" "exit $rc"
printf '# far side\n\n%s\nsha256:abc\n' "$(head -1 "$W/far.list")" > "$W/bad.list"
run convert "$I/a" "oci:$W/nx" --exclude-blobs "$W/bad.list"
[ $rc = 4 ] && [ "$(wc -l < "$W/err")" = 1 ] && grep -q "bad.list': line 4" "$W/err" && [ ! -e "$W/nx" ] && ok "a bad line in a digest list: named with its line, exit 4" || bad "bad list" "exit $rc"
head -c 2048 /dev/zero > "$W/zero.bin"
run convert "$I/a" "oci:$W/nx" --exclude-blobs "$W/zero.bin"
[ $rc = 4 ] && [ "$(wc -l < "$W/err")" = 1 ] && [ ! -e "$W/nx" ] && ok "a base that is no source: one line, exit 4" || bad "garbage base" "exit $rc"
run convert "$D" "oci:$W/nx" --blobs-from "$W/no-such-base"
[ $rc = 3 ] && [ "$(wc -l < "$W/err")" = 1 ] && [ ! -e "$W/nx" ] && ok "unreadable --blobs-from base: one line, exit 3, nothing written" || bad "unreadable blobs-from base" "exit $rc"

# ---- wrong base: every missing blob named, nothing written ----
run convert "$D" "oci:$W/nx" --blobs-from "$I/a"
miss=$(comm -23 "$W/left.want" <(sort "$I/a.layers"))
named=yes
for m in $miss; do grep -q "$m" "$W/err" || named=no; done
[ $rc = 1 ] && [ $named = yes ] && [ ! -e "$W/nx" ] && ok "wrong base: the $(echo "$miss" | wc -l) missing blobs named, exit 1, nothing written" || bad "wrong base" "exit $rc, named=$named"
cp -a "$I/a" "$W/wrongfar"
(cd "$W/wrongfar" && find . -type f | sort | xargs sha256sum) > "$W/wrongfar.before"
run convert "$D" "oci:$W/wrongfar" --blobs-from "$W/wrongfar" --replace
(cd "$W/wrongfar" && find . -type f | sort | xargs sha256sum) > "$W/wrongfar.after"
[ $rc = 1 ] && cmp -s "$W/wrongfar.before" "$W/wrongfar.after" && ok "wrong base as DST: exit 1, the layout left as it was" || bad "wrong base DST" "exit $rc"
cp -a "$FAR" "$W/corruptfar"
victim=$(head -1 "$W/left.want")
printf 'x' >> "$W/corruptfar/blobs/sha256/${victim#sha256:}"
run convert "$D" "oci:$W/nx" --blobs-from "$W/corruptfar"
[ $rc = 1 ] && grep -q "${victim#sha256:}" "$W/err" && [ ! -e "$W/nx" ] && ok "a corrupt blob in the base is refused by its digest (exit 1)" || bad "corrupt base blob" "exit $rc"

# ---- the far side completes itself ----
stat -c '%i %Y %n' "$FAR"/blobs/sha256/* | sort > "$W/far.inodes"
run convert "$D" "oci:$FAR" --blobs-from "$FAR" --replace
[ $rc = 0 ] && ok "convert DELTA FAR --blobs-from FAR completes the far side" || bad "complete" "exit $rc"
kept=yes
while read -r ino mt name; do
	[ -e "$name" ] || continue
	[ "$(stat -c '%i %Y' "$name")" = "$ino $mt" ] || kept=no
done < "$W/far.inodes"
[ $kept = yes ] && ok "blobs already on the far side are not rewritten" || bad "rewritten" "an old blob changed"
run verify "$FAR"
[ $rc = 0 ] && ! grep -q "left out" "$W/out" && ok "the completed far side verifies" || bad "verify far" "exit $rc"
run inspect --json "$FAR"
if python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
got = {}
for im in d["images"]:
    m = im.get("manifest")
    m = m.get("digest") if isinstance(m, dict) else m
    for n in im.get("names", []) + im.get("tags", []):
        got[n] = m
want = {"app-a:1": sys.argv[2], "app-b:1": sys.argv[3], "app-c:1": sys.argv[4]}
bad = [n for n, m in want.items() if not any(k.endswith(n) and v == m for k, v in got.items())]
sys.exit(1 if bad or len(d["images"]) != 3 else 0)' "$W/out" "$(cat "$I/a.manifest")" "$(cat "$I/b2.manifest")" "$(cat "$I/c.manifest")"; then
	ok "every image on the far side has the source's manifest digest (app-b:1 is day two's)"
else
	bad "far digests" "$(head -c 300 "$W/out")"
fi
run convert "$D" "oci-archive:$W/far2.tar" --blobs-from "$W/day1.tar"
[ $rc = 0 ] && ok "--blobs-from an archive (day one's bundle)" || bad "archive base" "exit $rc"
run verify "$W/far2.tar"
[ $rc = 0 ] && ok "that output verifies" || bad "verify archive-based" "exit $rc"

# ---- signatures ----
if [ -n "$keys" ]; then
	if openssl pkeyutl -verify -pubin -inkey "$K/ed.pub" -rawin -in "$D.manifest.json" -sigfile "$D.manifest.json.sig" > /dev/null 2>&1; then
		ok "Ed25519: openssl pkeyutl -verify -rawin accepts the signature"
	else
		bad "Ed25519 openssl" "pkeyutl refused"
	fi
	run verify --trust "$K/ed.pub" "$D"
	[ $rc = 0 ] && grep -q "left out on purpose" "$W/out" && ok "Ed25519: verify --trust accepts the delta" || bad "Ed25519 verify --trust" "exit $rc"
	run verify --trust "$K/ed2.pub" "$D"
	[ $rc = 1 ] && [ "$(wc -l < "$W/err")" = 1 ] && ok "another Ed25519 key: refused in one line (exit 1)" || bad "other key" "exit $rc"
	run verify --trust "$K/ec.pub" "$D"
	[ $rc = 1 ] && [ "$(wc -l < "$W/err")" = 1 ] && ok "a P-256 key for an Ed25519 signature: refused (exit 1)" || bad "other key type" "exit $rc"
	cp -a "$D" "$W/tampered"
	sed 's/"strata":"/"strata":"x/' "$D.manifest.json" > "$W/tampered.manifest.json"
	cp "$D.manifest.json.sig" "$W/tampered.manifest.json.sig"
	cp "$D.sha256" "$W/tampered.sha256"
	run verify --trust "$K/ed.pub" "$W/tampered.manifest.json"
	[ $rc = 1 ] && [ "$(wc -l < "$W/err")" = 1 ] && grep -q "does not match" "$W/err" && ok "a tampered manifest is refused in one line (exit 1)" || bad "tampered" "exit $rc"
	rm -f "$W/tampered.manifest.json.sig"
	cp "$D.manifest.json" "$W/tampered.manifest.json"
	run verify --trust "$K/ed.pub" "$W/tampered"
	[ $rc = 1 ] && [ "$(wc -l < "$W/err")" = 1 ] && grep -q "not signed" "$W/err" && ok "an unsigned manifest is refused under --trust (exit 1)" || bad "unsigned" "exit $rc"
	run verify --trust "$K/rsa.pub" "$D"
	[ $rc = 4 ] && [ "$(wc -l < "$W/err")" = 1 ] && grep -q "Ed25519 and ECDSA P-256" "$W/err" && ok "an RSA key is refused clearly (exit 4)" || bad "rsa trust" "exit $rc"
	run verify --trust "$K/p384.pub" "$D"
	[ $rc = 4 ] && grep -q "Ed25519 and ECDSA P-256" "$W/err" && ok "a P-384 key is refused clearly (exit 4)" || bad "p384 trust" "exit $rc"
	run convert "$I/a" "oci:$W/nx" --sign "$K/rsa.pem"
	[ $rc = 4 ] && [ "$(wc -l < "$W/err")" = 1 ] && [ ! -e "$W/nx" ] && [ ! -e "$W/nx.manifest.json" ] && ok "--sign with an RSA key: refused before anything is written" || bad "sign rsa" "exit $rc"
	run convert "$I/a" "oci:$W/nx" --sign "$K/ed.pub"
	[ $rc = 4 ] && [ ! -e "$W/nx" ] && ok "--sign with a public key: refused" || bad "sign pub" "exit $rc"
	# a run without --sign leaves no stale signature of an earlier one
	run convert "$I/a" "oci-archive:$W/re.tar" --sign "$K/ed.pem"
	run convert "$I/c" "oci-archive:$W/re.tar" --manifest
	[ $rc = 0 ] && [ ! -e "$W/re.tar.manifest.json.sig" ] && ok "an unsigned rewrite removes the old signature" || bad "stale sig" "exit $rc"
fi
exit 0
