#!/bin/sh
# tests/sbom/eco.sh STRATA OUTDIR - rpm, Python, npm and Go packages in `strata sbom`, on the images
# tests/sbom/eco.py makes in OUTDIR: each package set equal to its oracle's on `strata unpack`'s tree
# (rpm -qa --root; importlib.metadata; the node_modules package.json files; an independent reader of
# .go.buildinfo), PURLs, licenses, layers and files as planted, file sha256 equal to the unpacked
# files', CycloneDX 1.6 valid, SPDX 2.3 complete, the same bytes twice; malformed sources each a
# warning with exit 0; a Berkeley DB rpm database "not checked"; and `analyze` on the same images (the
# packages line, the changes of each layer, package_ecosystems).  Prints `ok - ` / `not ok - ` / `skip - `.
S=$1
D=$2
here=$(cd "$(dirname "$0")" && pwd)
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
. "$here/lib.sh"  # res, check_docs
if ! python3 "$here/eco.py" make "$D" > "$t/make.log" 2>&1; then
	echo "not ok - sbom eco images could not be made: $(tail -1 "$t/make.log")"
	exit 1
fi
for n in rpm python npm go; do
	if [ ! -f "$D/$n.tar" ]; then
		echo "skip - sbom $n: rpmbuild or rpm not installed"
		continue
	fi
	"$S" -q sbom "$D/$n.tar" > "$t/$n.cdx" 2> "$t/$n.err"; rc=$?
	[ $rc = 0 ] && [ ! -s "$t/$n.err" ]; res $? "$n: cyclonedx-json exits 0 (got $rc) with nothing on stderr"
	"$S" -q sbom --format spdx-json "$D/$n.tar" > "$t/$n.spdx"; res $? "$n: spdx-json exits 0"
	check_docs "$n" "$t/$n.cdx" "$t/$n.spdx"
	"$S" -q unpack "$D/$n.tar" "$t/$n.root"; res $? "$n: unpack for the oracle"
	case $n in
	rpm) type=rpm ;;
	python) type=pypi ;;
	npm) type=npm ;;
	go) type=golang ;;
	esac
	if python3 "$here/eco.py" $n "$t/$n.root" > "$t/$n.oracle" 2> "$t/$n.oracle.err"; then
		python3 "$here/eco.py" check "$t/$n.cdx" "$t/$n.oracle" $type $n
	else
		echo "not ok - sbom $n: the oracle failed: $(tail -1 "$t/$n.oracle.err")"
	fi
	python3 "$here/eco.py" expect "$t/$n.cdx" "$D/eco-expect.json" $n
	[ $n = npm ] || python3 "$here/compare.py" files "$t/$n.cdx" "$t/$n.root" $n
	python3 - "$t/$n.cdx" $n $type <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
notes = {p["name"]: p["value"] for p in d["metadata"]["component"]["properties"]}
n = sum(c["purl"].startswith("pkg:%s/" % sys.argv[3]) for c in d["components"])
want = "%d package%s" % (n, "" if n == 1 else "s")
got = notes.get("strata:packages:" + sys.argv[2])
print("%s - sbom %s: the image says '%s' for %s%s" % ("ok" if got == want else "not ok", sys.argv[2], want,
                                                    sys.argv[2], "" if got == want else " (got %r)" % got))
EOF
	"$S" -q sbom "$D/$n.tar" > "$t/$n.cdx2"
	cmp -s "$t/$n.cdx" "$t/$n.cdx2"; res $? "$n: two cyclonedx runs give the same bytes"
	"$S" -q sbom --format spdx-json "$D/$n.tar" > "$t/$n.spdx2"
	cmp -s "$t/$n.spdx" "$t/$n.spdx2"; res $? "$n: two spdx runs give the same bytes"
done
# malformed sources: a warning each, the rest still read, exit 0
"$S" sbom "$D/hostile.tar" > "$t/hostile.cdx" 2> "$t/hostile.err"; rc=$?
res $rc "hostile: exit 0 (got $rc)"
for w in "rpmdb.sqlite': 2 rpm headers malformed, left out" \
	"huge-1.dist-info/METADATA' is 2097210 bytes, over the 1024 KiB" \
	"nohead-1.dist-info/METADATA': Python package metadata not read: no Name or Version header" \
	"broken/package.json': npm package.json not read: invalid JSON" \
	"dup/package.json': npm package.json not read: invalid JSON: duplicate key 'name'" \
	"usr/bin/badgo': Go build info not read"; do
	grep -qF "$w" "$t/hostile.err"; res $? "hostile: warning '$w'"
done
python3 - "$t/hostile.cdx" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
names = sorted(c["name"] for c in d["components"])
print("%s - sbom hostile: the good rpm header is still read (%r)" % ("ok" if names == ["good"] else "not ok", names))
EOF
out=$(python3 "$here/check.py" cyclonedx "$t/hostile.cdx"); rc=$?
[ $rc = 77 ] || res $rc "hostile: CycloneDX valid against the official 1.6 schema"
"$S" -q sbom "$D/bdb.tar" > "$t/bdb.cdx"; res $? "bdb: exit 0"
grep -q '"not checked (only a Berkeley DB var/lib/rpm/Packages; strata reads rpmdb.sqlite)"' "$t/bdb.cdx"
res $? "bdb: rpm is 'not checked (only a Berkeley DB ...)'"
"$S" -q sbom --format spdx-json "$D/bdb.tar" | grep -q 'rpm: not checked (only a Berkeley DB'
res $? "bdb: the SPDX comment says rpm was not checked"
# analyze: the same sources, per layer and per ecosystem
if [ -f "$D/rpm.tar" ]; then
	"$S" -q analyze "$D/rpm.tar" > "$t/rpm.txt"; rc=$?
	[ $rc = 0 ] && grep -q '^  packages: 3 rpm; none found: dpkg, apk, python, npm, go$' "$t/rpm.txt" &&
		grep -q '^    ~ tool 1.0-1 -> 1.1-1 (rpm)$' "$t/rpm.txt" && grep -q '^    + extra 0.5-1 (rpm)$' "$t/rpm.txt"
	res $? "rpm: analyze says 3 rpm packages, tool upgraded and extra added in layer 2"
fi
"$S" -q analyze --json "$D/go.tar" > "$t/go.json"; rc=$?
python3 - "$t/go.json" $rc <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))["images"][0]
l2 = {(p["name"], p["change"], p["from"], p["to"]) for p in d["layers"][1]["packages"] if p["db"] == "go"}
want = {("example.com/app", "upgraded", "v1.0.0", "v1.1.0"), ("golang.org/x/sys", "upgraded", "v0.15.0", "v0.16.0"),
        ("example.com/local", "added", None, "v0.0.0")}
ok = sys.argv[2] == "0" and l2 == want and d["package_ecosystems"]["go"] == "7 packages"
print("%s - sbom go: analyze --json, layer 2's go changes and package_ecosystems%s" %
      ("ok" if ok else "not ok", "" if ok else ": %r %r" % (l2, d["package_ecosystems"])))
PY
"$S" -q analyze --json "$D/bdb.tar" | grep -q '"rpm":	"not checked (only a Berkeley DB var/lib/rpm/Packages; strata reads rpmdb.sqlite)"'
res $? "bdb: analyze --json says rpm was not checked"
"$S" analyze "$D/hostile.tar" > "$t/hostile.txt" 2>&1; rc=$?
[ $rc = 0 ] && [ "$(grep -c 'warning package-db' "$t/hostile.txt")" = 6 ]
res $? "hostile: analyze exits 0 (got $rc) with the 6 package-db warnings"
if [ -f "$D/rpm.tar" ]; then
	TMPDIR=$t/none "$S" sbom "$D/rpm.tar" > "$t/notmp.cdx" 2> "$t/notmp.err"; rc=$?
	[ $rc = 0 ] && grep -q "rpmdb.sqlite' not read: no temp file in '$t/none'" "$t/notmp.err" &&
		grep -q '"not checked (rpmdb.sqlite was not read: see the warnings)"' "$t/notmp.cdx"
	res $? "rpm: no temp directory: a warning, rpm 'not checked', exit 0 (got $rc)"
fi
