#!/bin/sh
# tests/audit/run.sh BIN OUTDIR FIXTURES - the audit view of `strata analyze`:
# every output (text, JSON, HTML) opens with the verdict of its own pass and
# the input's sha256; risky content planted by tests/audit/make.py is found
# with its rule id, layer and path (a secret deleted in a later layer is
# still reported as shipped); --fail-on RULE=N; the JSON is valid against
# docs/schema/analyze.schema.json; a clean image says "none found".
# FIXTURES: fixtures/gen.py's output (docker-classic.tar, oci-gzip), for the
# clean-image checks on images this suite did not make.
# Prints ok - / not ok - / skip - lines; exits 0.
BIN=$1 OUT=$2 FIX=$3
[ -n "$BIN" ] && [ -n "$OUT" ] || { echo "usage: run.sh BIN OUTDIR FIXTURES" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
rm -rf "$OUT" && mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd) || exit 2  # absolute: file:// URLs
ok() { echo "ok - audit $1"; }
nok() { echo "not ok - audit $1${2:+: $2}"; }
check() { if [ "$2" = 0 ]; then ok "$1"; else nok "$1" "$3"; fi; }

if ! python3 "$here/make.py" "$OUT/img" > "$OUT/make.log" 2>&1; then
	nok "images could not be made" "$(tail -3 "$OUT/make.log")"
	exit 0
fi
I=$OUT/img

# --- one run per format and image; exit codes ---
run() {  # NAME FORMAT SRC [ARGS...]: OUT/NAME.FORMAT, .err, .rc
	n=$1 f=$2 s=$3
	shift 3
	"$BIN" analyze --format "$f" -o "$OUT/$n.$f" "$@" "$s" 2> "$OUT/$n.$f.err"
	echo $? > "$OUT/$n.$f.rc"
}
for f in text json html; do
	run risky $f "$I/risky.tar"
	run tampered $f "$I/tampered.tar"
	run clean $f "$I/clean.tar"
	run oci $f "$I/oci"
done
for n in risky clean oci; do
	for f in text json html; do
		check "$n $f exits 0" "$(cat "$OUT/$n.$f.rc")" "exit $(cat "$OUT/$n.$f.rc"): $(head -2 "$OUT/$n.$f.err")"
	done
done
for f in text json html; do
	rc=$(cat "$OUT/tampered.$f.rc")
	[ "$rc" = 1 ] && [ -s "$OUT/tampered.$f" ]
	check "tampered $f: report still written, exit stays 1" $? "exit $rc, report $(wc -c < "$OUT/tampered.$f" 2>/dev/null) bytes"
done

# --- text: verdict first ---
sum=$(sha256sum "$I/risky.tar" | cut -d' ' -f1)
head -1 "$OUT/risky.text" | grep -q "^strata [0-9][^ ]* analysis of $I/risky.tar\$" &&
	sed -n 2p "$OUT/risky.text" | grep -q '^verdict: VERIFIED' &&
	grep -q "sha256 of the file's bytes: $sum\$" "$OUT/risky.text" &&
	grep -q "input: file, .* ($(wc -c < "$I/risky.tar") bytes)" "$OUT/risky.text"
check "text opens with version, path, verdict VERIFIED, size and the file's sha256 (sha256sum: $sum)" $? \
	"$(head -4 "$OUT/risky.text")"
sed -n 2p "$OUT/tampered.text" | grep -q '^verdict: FAILED verification' &&
	sed -n 3p "$OUT/tampered.text" | grep -q '^  error diff-id-mismatch (exit 1) in .*/layer.tar$'
check "tampered text: line 2 FAILED, then the problem with its id and exit class" $? "$(head -4 "$OUT/tampered.text")"
grep -q '^  provenance source = https://example.com/app.git (config label)$' "$OUT/risky.text" &&
	grep -q '^  provenance licenses = Apache-2.0 (config label)$' "$OUT/risky.text" &&
	grep -q '^  config   sha256:[0-9a-f]\{64\}$' "$OUT/risky.text" && grep -q '^  created  2023-11-14T22:13:20Z$' "$OUT/risky.text"
check "text: config digest, created and the OCI label provenance" $? "$(sed -n 5,16p "$OUT/risky.text")"
grep -q '^  provenance source = https://example.com/oci.git (manifest annotation)$' "$OUT/oci.text" &&
	grep -q "sha256 of index.json: $(sha256sum "$I/oci/index.json" | cut -d' ' -f1)\$" "$OUT/oci.text" &&
	grep -q '^  (a directory: its entry point; every blob is checked against its digest)$' "$OUT/oci.text" &&
	grep -q '^  manifest sha256:' "$OUT/oci.text"
check "oci layout: provenance from manifest annotations; a directory says it hashes index.json" $? \
	"$(sed -n 1,12p "$OUT/oci.text")"
grep -q '^  findings: none found' "$OUT/clean.text" && grep -q '^  provenance: none found' "$OUT/clean.text" &&
	grep -q '^  packages: none found' "$OUT/clean.text" && grep -q '^  wasted space: none found' "$OUT/clean.text"
check "clean text: findings, provenance, packages, wasted space say none found" $? "$(tail -8 "$OUT/clean.text")"
grep -q '^         2  secrets.private-key  *root/.ssh/id_rsa$' "$OUT/risky.text" &&
	grep -q 'removed by layer 3, still shipped in layer 2$' "$OUT/risky.text"
check "text: the deleted private key is listed as still shipped in layer 2" $? "$(grep -A1 id_rsa "$OUT/risky.text")"
long=$(awk 'length > 100' "$OUT/risky.text" "$OUT/tampered.text" "$OUT/clean.text" "$OUT/oci.text" | head -3)
check "text reports fit 100 columns" "$([ -z "$long" ]; echo $?)" "$long"
if grep -q 'AKIAIOSFODNN7EXAMPLE\|s3cret\|hunter2\|bWU6c2VjcmV0' "$OUT"/*.text "$OUT"/*.json "$OUT"/*.html; then
	nok "no report repeats a planted secret" "$(grep -l 'AKIAIOSFODNN7EXAMPLE\|s3cret\|hunter2\|bWU6c2VjcmV0' "$OUT"/*.text "$OUT"/*.json "$OUT"/*.html)"
else
	ok "no report repeats a planted secret (AWS key id masked, passwords and auths not shown)"
fi

# --- JSON: verdict, findings against expect.json, schema ---
python3 - "$OUT" "$I" "$top/docs/schema/analyze.schema.json" <<'EOF'
import hashlib, json, os, sys
out, img, schema_path = sys.argv[1:4]
def res(ok, what, why=""):
    print(("ok - audit %s" if ok else "not ok - audit %s: " + why) % what if not ok else "ok - audit %s" % what)
def load(n):
    with open(os.path.join(out, n + ".json")) as f:
        return json.load(f)
docs = {n: load(n) for n in ("risky", "tampered", "clean", "oci")}
r, t, c, o = docs["risky"], docs["tampered"], docs["clean"], docs["oci"]
keys = list(r)[:5]
res(keys == ["schema", "strata_version", "verified", "problems", "input"], "json opens with schema, strata_version, verified, problems, input", str(keys))
raw = open(os.path.join(img, "risky.tar"), "rb").read()
inp = r["input"]
res(r["verified"] is True and r["problems"] == [] and inp["kind"] == "file" and inp["size"] == len(raw)
    and inp["sha256"] == "sha256:" + hashlib.sha256(raw).hexdigest(),
    "json risky: verified, no problems, input size and sha256 as hashlib's", json.dumps(inp))
p = t["problems"]
res(t["verified"] is False and len(p) >= 1 and p[0]["id"] == "diff-id-mismatch" and p[0]["code"] == 1
    and p[0]["severity"] == "error" and "layer 2" in p[0]["message"],
    "json tampered: verified false, problems [{id diff-id-mismatch, code 1, message}]", json.dumps(p)[:300])
idx = json.load(open(os.path.join(img, "oci", "index.json"), "rb")) and open(os.path.join(img, "oci", "index.json"), "rb").read()
res(o["input"]["kind"] == "directory" and o["input"]["size"] is None and o["input"]["sha256"] == "sha256:" + hashlib.sha256(idx).hexdigest()
    and o["input"]["hashed"].startswith("index.json"), "json oci layout: kind directory, sha256 of index.json", json.dumps(o["input"]))
im = r["images"][0]
prov = {(x["key"].rsplit(".", 1)[1], x["value"], x["from"]) for x in im["provenance"]}
want = {("source", "https://example.com/app.git", "config label"), ("revision", "0123456789abcdef0123456789abcdef01234567", "config label"),
        ("version", "2.1.0", "config label"), ("created", "2023-11-14T22:13:20Z", "config label"),
        ("authors", "Audit Tests <audit@example.com>", "config label"), ("licenses", "Apache-2.0", "config label")}
res(prov == want and im["created"] == "2023-11-14T22:13:20Z", "json provenance: the six org.opencontainers.image labels", str(sorted(prov)))
op = {(x["key"], x["from"]) for x in o["images"][0]["provenance"]}
res(op == {("org.opencontainers.image.source", "manifest annotation"), ("org.opencontainers.image.version", "manifest annotation")},
    "json provenance from OCI manifest annotations", str(op))
expect = json.load(open(os.path.join(img, "expect.json")))["risky"]
got = sorted((x["rule"], x["layer"], x["path"], x["in_final_image"]) for x in im["findings"]["items"])
want = sorted(tuple(x) for x in expect)
res(got == want, "json findings: exactly the %d planted (rule, layer, path, in final image)" % len(want),
    "missing %s, extra %s" % (sorted(set(want) - set(got)), sorted(set(got) - set(want))))
gone = [x for x in im["findings"]["items"] if x["path"] == "root/.ssh/id_rsa"]
res(len(gone) == 1 and gone[0]["removed_by_layer"] == 3 and gone[0]["in_final_image"] is False,
    "json: the key deleted in layer 3 is reported (removed_by_layer 3, still shipped)", json.dumps(gone))
cnt = im["findings"]["counts"]
res(cnt["secrets.private-key"] == 3 and cnt["perms.setgid"] == 0 and sum(cnt.values()) == len(want) and im["findings"]["checked"] is True,
    "json finding counts per rule", json.dumps(cnt))
res(not any(x["path"] == "usr/share/decoy.c" for x in im["findings"]["items"]),
    "a key header inside a string constant and a key id inside a longer word are no findings", "decoy.c reported")
tf = {(x["rule"], x["path"]) for x in t["images"][0]["findings"]["items"]}
res(("secrets.aws-access-key-id", "app/.env") in tf, "json tampered: findings still reported from the tampered layer", str(sorted(tf))[:200])
cf = c["images"][0]["findings"]
res(cf["items"] == [] and cf["checked"] is True and cf["not_checked"] == [] and not any(cf["counts"].values())
    and c["images"][0]["provenance"] == [], "json clean: no findings, checked, no provenance", json.dumps(cf)[:300])
try:
    import jsonschema
except ImportError:
    print("skip - audit json schema: python3-jsonschema is not installed")
else:
    schema = json.load(open(schema_path))
    for n, d in docs.items():
        errs = sorted(jsonschema.Draft202012Validator(schema).iter_errors(d), key=str)
        res(not errs, "json %s is valid against docs/schema/analyze.schema.json" % n, "; ".join(e.message for e in errs[:3]))
EOF

# --- HTML: banner, tables ---
grep -q '<div class="banner ok" id="verdict"' "$OUT/risky.html" && ! grep -q 'banner bad' "$OUT/risky.html"
check "html risky: green VERIFIED banner" $? "$(grep -o '<div class="banner[^>]*>' "$OUT/risky.html")"
grep -q '<div class="banner bad" id="verdict" role="status">FAILED verification' "$OUT/tampered.html" &&
	grep -q '<b>diff-id-mismatch</b> (exit 1)' "$OUT/tampered.html" &&
	grep -q '\.banner\.bad{background:#b00' "$OUT/tampered.html"
check "html tampered: red FAILED banner listing diff-id-mismatch (exit 1)" $? "$(grep -o '<div class="banner.\{0,200\}' "$OUT/tampered.html")"
b=$(grep -o '<body>.\{0,40\}' "$OUT/tampered.html")
case $b in *'<body><div class="banner bad"'*) ok "html: the banner is the first thing in the body" ;; *) nok "html: the banner is the first thing in the body" "$b" ;; esac
grep -q "<code>sha256:$sum</code> of the file" "$OUT/risky.html" && grep -q 'id="provenance-0"' "$OUT/risky.html" &&
	grep -q 'https://example.com/app.git' "$OUT/risky.html"
check "html: input sha256 and provenance table" $? ""
n=$(grep -o '<table class="sortable" id="findings-0">.*</table>' "$OUT/risky.html" | sed 's/<\/table>.*//' | grep -o '<tr[ >]' | wc -l)
check "html risky: findings table has the 14 findings (+ header)" "$([ "$n" = 15 ]; echo $?)" "$n rows"
grep -q 'removed by layer 3, still shipped in layer 2' "$OUT/risky.html"
check "html: the deleted key marked still shipped" $? ""
nf=$(grep -o 'class="none">none found' "$OUT/clean.html" | wc -l)
check "html clean: empty tables say none found ($nf: provenance, findings, wasted, packages, security)" \
	"$([ "$nf" -ge 5 ]; echo $?)" "$nf"
if grep -o '<tbody></tbody>' "$OUT"/*.html | head -1 | grep -q .; then
	nok "html: no empty table body" "$(grep -c '<tbody></tbody>' "$OUT"/*.html)"
else
	ok "html: no empty table body in any report"
fi

# --- a layer missing: its content is not checked, and the reports say so ---
for f in text json html; do run missing $f "$I/missing.tar"; done
rc=$(cat "$OUT/missing.text.rc")
[ "$rc" = 4 ] && grep -q '^  error missing-blob (exit 4)' "$OUT/missing.text" &&
	grep -q '^  not checked: layer 3 (not in the archive or unreadable)$' "$OUT/missing.text" &&
	grep -q 'not checked: layer 3: not in the archive' "$OUT/missing.html" &&
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
f = d["images"][0]["findings"]
sys.exit(not (d["verified"] is False and d["problems"][0]["id"] == "missing-blob" and f["checked"] is False
              and f["not_checked"] == ["layer 3: not in the archive"] and len(f["items"]) == 14))' "$OUT/missing.json"
check "missing layer: exit 4, report written, findings of layer 3 not checked (text, JSON, HTML)" $? \
	"exit $rc: $(grep -n 'not checked\|missing' "$OUT/missing.text" | head -3)"

# --- the HTML in headless chromium: no console error, the banner and findings in the DOM, a PDF ---
chromium=
for c in /usr/bin/chromium /usr/bin/chromium-browser; do [ -x "$c" ] && chromium=$c && break; done
if [ -z "$chromium" ]; then
	echo "skip - audit html in chromium: chromium is not installed"
else
	browse() {  # URL ARGS...
		u=$1
		shift
		timeout 90 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
			--disable-background-networking --disable-component-update --disable-sync --disable-extensions \
			--user-data-dir="$(mktemp -d -p "$OUT")" --enable-logging=stderr --v=0 "$@" "$u" 2>> "$OUT/chromium.err"
	}
	: > "$OUT/chromium.err"
	browse "file://$OUT/tampered.html" --dump-dom > "$OUT/tampered.dom" 2>/dev/null
	console=$(grep -E ':CONSOLE[:(]|Uncaught' "$OUT/chromium.err" | head -3)
	grep -q '<div class="banner bad" id="verdict"' "$OUT/tampered.dom" && grep -q '<table class="sortable" id="findings-0">' "$OUT/tampered.dom" &&
		[ -z "$console" ]
	check "html tampered in chromium: banner and findings table in the DOM, no console error" $? \
		"$console $(wc -c < "$OUT/tampered.dom") bytes of DOM"
	browse "file://$OUT/tampered.html" --print-to-pdf="$OUT/tampered.pdf" --no-pdf-header-footer > /dev/null 2>&1
	[ "$(head -c 5 "$OUT/tampered.pdf" 2>/dev/null)" = "%PDF-" ]
	check "html tampered prints to PDF (chromium --print-to-pdf: $(wc -c < "$OUT/tampered.pdf" 2>/dev/null) bytes)" $? "no PDF"
fi

# --- --fail-on ---
fo() {  # EXPECTED_RC RULES [SRC]
	want=$1 rules=$2 src=${3:-$I/risky.tar}
	"$BIN" analyze --fail-on "$rules" "$src" > "$OUT/fo.out" 2> "$OUT/fo.err"
	rc=$?
	check "--fail-on $rules $(basename "$src") exits $want" "$([ "$rc" = "$want" ]; echo $?)" "exit $rc: $(tail -2 "$OUT/fo.err")"
}
fo 1 secrets=0
grep -q '^    FAIL secrets: 9 findings (limit 0)$' "$OUT/fo.out" && grep -q '^strata: 1 --fail-on rule failed$' "$OUT/fo.err"
check "--fail-on secrets=0: FAIL line with the count, one rule failed" $? "$(tail -3 "$OUT/fo.out")"
fo 0 secrets=9
fo 1 secrets.private-key=1
fo 0 perms.setgid=0
fo 1 perms.capability=0
fo 1 shadow=1
fo 1 findings=13
fo 0 findings=14
fo 0 secrets=0,shadow=0,perms=0 "$I/clean.tar"
fo 1 lowestEfficiency=1.0,secrets=100
fo 2 secrets=x
fo 2 passwords=0
fo 2 secrets=-1
"$BIN" analyze --json --fail-on secrets=0,perms.setgid=0 "$I/risky.tar" > "$OUT/fo.json" 2>/dev/null
python3 - "$OUT/fo.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
r = d["images"][0]["rules"]
ok = r == [{"rule": "secrets", "limit": 0, "value": 9, "pass": False}, {"rule": "perms.setgid", "limit": 0, "value": 0, "pass": True}]
print("ok - audit --fail-on in the JSON rules" if ok else "not ok - audit --fail-on in the JSON rules: %s" % r)
EOF

# --- images this suite did not make: nothing risky, everything checked ---
# diff: the findings of risky.tar appear against clean.tar (rule, path, layer as analyze
# places them) and disappear the other way; none between an image and itself
"$BIN" -q diff --json "$OUT/img/clean.tar" "$OUT/img/risky.tar" > "$OUT/diff-cr.json" 2> /dev/null
"$BIN" -q diff --json "$OUT/img/risky.tar" "$OUT/img/clean.tar" > "$OUT/diff-rc.json" 2> /dev/null
"$BIN" -q diff --json "$OUT/img/risky.tar" "$OUT/img/risky.tar" > "$OUT/diff-rr.json" 2> /dev/null
"$BIN" -q diff "$OUT/img/clean.tar" "$OUT/img/risky.tar" > "$OUT/diff-cr.txt" 2> /dev/null
python3 - "$OUT/img/expect.json" "$OUT/diff-cr.json" "$OUT/diff-rc.json" "$OUT/diff-rr.json" "$OUT/diff-cr.txt" <<'EOF'
import json, sys
exp = json.load(open(sys.argv[1]))["risky"]
cr, rc, rr = (json.load(open(p)) for p in sys.argv[2:5])
txt = open(sys.argv[5]).read()
want = sorted(set((r, p) for r, l, p, fin in exp))
first = {}
for r, l, p, fin in exp:
    first.setdefault((r, p), (l, fin))


def res(ok, what, why):
    print(("ok - audit %s" % what) if ok else ("not ok - audit %s: %s" % (what, why)))


got = sorted((x["rule"], x["path"]) for x in cr["findings"]["appeared"])
lay = [x for x in cr["findings"]["appeared"] if (x["layer"], x["in_final_image"]) != first.get((x["rule"], x["path"]))]
res(got == want and not lay and not cr["findings"]["disappeared"] and cr["findings"]["compared"],
    "diff clean -> risky: the %d findings appear, each with its layer and final-image flag, none disappear" % len(want),
    "got %s (wrong layer: %s)" % (got[:4], lay[:2]))
got = sorted((x["rule"], x["path"]) for x in rc["findings"]["disappeared"])
res(got == want and not rc["findings"]["appeared"], "diff risky -> clean: the %d findings disappear" % len(want), "got %s" % got[:4])
res(not rr["findings"]["appeared"] and not rr["findings"]["disappeared"] and rr["identical"],
    "diff risky -> risky: no finding appears or disappears, identical", "%s" % rr["findings"])
lines = [l for l in txt.splitlines() if l.startswith("  + ") and " in layer " in l]
res(len(lines) == len(want), "diff text lists the %d findings that appear (+ RULE in layer N of b: PATH)" % len(want),
    "%d lines" % len(lines))
EOF

# fleet: analyze --all and sbom --all over a two-image archive: JSON Lines, one image each
if [ -n "$FIX" ] && [ -f "$FIX/docker-multi.tar" ]; then
	"$BIN" -q analyze --all "$FIX/docker-multi.tar" > "$OUT/all.jsonl"; rca=$?
	"$BIN" -q analyze --all --fail-on lowestEfficiency=1 "$FIX/docker-multi.tar" > /dev/null; rcf=$?
	"$BIN" -q sbom --all "$FIX/docker-multi.tar" > "$OUT/sbom-all.jsonl"; rcs=$?
	"$BIN" -q analyze --json "$FIX/docker-multi.tar" > "$OUT/all.json"
	python3 - "$OUT/all.jsonl" "$OUT/sbom-all.jsonl" "$OUT/all.json" "$rca" "$rcf" "$rcs" <<'EOF'
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
s = [json.loads(l) for l in open(sys.argv[2])]
whole = json.load(open(sys.argv[3]))
rca, rcf, rcs = sys.argv[4:7]
ok = (len(a) == 2 and [len(d["images"]) for d in a] == [1, 1] and [d["images"][0]["index"] for d in a] == [0, 1]
      and [d["images"][0] for d in a] == whole["images"] and all(d["verified"] and d["schema"] == 1 for d in a)
      and rca == "0" and rcf == "1")
print(("ok" if ok else "not ok") + " - audit analyze --all: 2 JSON lines, one image each, equal to --json's images; exit 0, 1 with a failing rule"
      + ("" if ok else ": %d lines, exits %s %s" % (len(a), rca, rcf)))
ok = len(s) == 2 and all(d["bomFormat"] == "CycloneDX" for d in s) and rcs == "0" and \
    [d["metadata"]["component"]["name"] for d in s] == [im["tags"][0].split(":")[0] for im in whole["images"]] or \
    (len(s) == 2 and rcs == "0" and [d["metadata"]["component"]["name"] for d in s] == [im["tags"][0] for im in whole["images"]])
print(("ok" if ok else "not ok") + " - audit sbom --all: 2 CycloneDX lines, one per image in order, exit 0"
      + ("" if ok else ": %d lines, exit %s, names %s" % (len(s), rcs, [d["metadata"]["component"].get("name") for d in s])))
EOF
fi

if [ -n "$FIX" ] && [ -f "$FIX/docker-classic.tar" ]; then
	"$BIN" analyze --json "$FIX/docker-classic.tar" > "$OUT/classic.json" 2>/dev/null
	python3 - "$OUT/classic.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
f = d["images"][0]["findings"]
ok = d["verified"] and f["checked"] and [x["rule"] for x in f["items"]] == []
print(("ok" if ok else "not ok") + " - audit fixtures docker-classic.tar: verified, checked, no findings" + ("" if ok else ": %s" % f))
EOF
	# the input's sha256 is of the bytes as stored, whatever wraps them, from a file or stdin
	for f in docker-classic.tar.gz docker-classic.tar.zst oci-gzip.tar rootfs.tar.xz; do
		[ -f "$FIX/$f" ] || continue
		want="sha256:$(sha256sum "$FIX/$f" | cut -d' ' -f1) $(wc -c < "$FIX/$f")"
		got=$("$BIN" analyze --json "$FIX/$f" 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin)["input"]; print(d["sha256"], d["size"])')
		gotin=$("$BIN" analyze --json - < "$FIX/$f" 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin)["input"]; print(d["sha256"], d["size"], d["kind"])')
		[ "$got" = "$want" ] && [ "$gotin" = "$want stdin" ]
		check "fixtures $f: input sha256 and size as sha256sum's, from the file and from stdin" $? "got '$got' / '$gotin', want '$want'"
	done
else
	echo "skip - audit fixtures: no FIXTURES directory given (python3 fixtures/gen.py DIR)"
fi
exit 0
