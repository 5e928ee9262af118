#!/bin/sh
# tests/sbom/run.sh STRATA OUTDIR - `strata sbom` on the archives of tests/sbom/make.py OUTDIR:
# CycloneDX valid against the official 1.6 schema, SPDX 2.3 with its required fields, the
# package sets equal to the oracles' (dpkg-query on `strata unpack`'s tree; status.d and apk
# parsed in Python), licenses, layers and file sha256 as planted, reproducible bytes, and no
# SBOM for a source that fails verification.  Prints `ok - sbom ...` / `not ok - sbom ...`.
S=$1
D=$2
here=$(cd "$(dirname "$0")" && pwd)
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
. "$here/lib.sh"  # res, check_docs
for n in deb distroless alpine; do
	"$S" -q sbom "$D/$n.tar" > "$t/$n.cdx"; res $? "$n: cyclonedx-json exits 0"
	"$S" -q sbom --format spdx-json -o "$t/$n.spdx" "$D/$n.tar"; res $? "$n: spdx-json -o exits 0"
	check_docs "$n" "$t/$n.cdx" "$t/$n.spdx"
	python3 "$here/compare.py" expect "$t/$n.cdx" "$D/expect.json" $n
	# the oracles, on the unpacked final filesystem
	"$S" -q unpack "$D/$n.tar" "$t/$n.root"; res $? "$n: unpack for the oracle"
	case $n in
	deb)
		if command -v dpkg-query > /dev/null; then
			dpkg-query --admindir="$t/$n.root/var/lib/dpkg" -W -f '${db:Status-Abbrev} ${Package} ${Version}\n' |
				awk '$1 == "ii" {print $2, $3}' > "$t/$n.oracle"
			python3 "$here/compare.py" oracle "$t/$n.cdx" "$t/$n.oracle" "$n (dpkg-query)"
		else
			echo "skip - sbom $n: dpkg-query not installed"
		fi ;;
	distroless) python3 "$here/compare.py" statusd "$t/$n.root" > "$t/$n.oracle"
		python3 "$here/compare.py" oracle "$t/$n.cdx" "$t/$n.oracle" "$n (status.d)" ;;
	alpine) python3 "$here/compare.py" apk "$t/$n.root" > "$t/$n.oracle"
		python3 "$here/compare.py" oracle "$t/$n.cdx" "$t/$n.oracle" "$n (apk installed)" ;;
	esac
	[ $n = distroless ] || python3 "$here/compare.py" files "$t/$n.cdx" "$t/$n.root" $n
	# reproducible
	"$S" -q sbom "$D/$n.tar" > "$t/$n.cdx2"
	cmp -s "$t/$n.cdx" "$t/$n.cdx2"; res $? "$n: two cyclonedx runs give the same bytes"
	"$S" -q sbom --format spdx-json "$D/$n.tar" > "$t/$n.spdx2"
	cmp -s "$t/$n.spdx" "$t/$n.spdx2"; res $? "$n: two spdx runs give the same bytes"
	SOURCE_DATE_EPOCH=86400 "$S" -q sbom "$D/$n.tar" > "$t/$n.cdx3"
	python3 "$here/compare.py" sde "$t/$n.cdx" "$t/$n.cdx3" "$n cyclonedx"
	grep -q '"timestamp":	"1970-01-02T00:00:00Z"' "$t/$n.cdx3"; res $? "$n: SOURCE_DATE_EPOCH=86400 is 1970-01-02T00:00:00Z"
	SOURCE_DATE_EPOCH=86400 "$S" -q sbom --format spdx-json "$D/$n.tar" > "$t/$n.spdx3"
	python3 "$here/compare.py" sde "$t/$n.spdx" "$t/$n.spdx3" "$n spdx"
done
# diff: the packages of two images as their SBOMs list them (added, removed, upgraded,
# relicensed, with versions and licenses)
for pair in "deb distroless" "distroless deb" "deb alpine"; do
	set -- $pair
	"$S" -q diff --json "$D/$1.tar" "$D/$2.tar" > "$t/diff-$1-$2.json"
	python3 - "$t/$1.cdx" "$t/$2.cdx" "$t/diff-$1-$2.json" "$1 -> $2" <<'EOF'
import json, sys


def pkgs(path):
    out = {}
    for c in json.load(open(path)).get("components", []):
        purl = c["purl"]
        typ = purl.split(":", 1)[1].split("/", 1)[0]
        arch = purl.split("arch=", 1)[1].split("&")[0] if "arch=" in purl else ""
        lic = [l["license"].get("id") or l["license"].get("name") if "license" in l else l.get("expression")
               for l in c.get("licenses", [])]
        out[(typ, c["name"], arch)] = (c["version"], lic)
    return out


a, b = pkgs(sys.argv[1]), pkgs(sys.argv[2])
want = []
for k in sorted(set(a) | set(b), key=lambda k: (k[1], k[0])):
    x, y = a.get(k), b.get(k)
    if x == y:
        continue
    db = "dpkg" if k[0] == "deb" else k[0]
    ch = "added" if not x else "removed" if not y else "upgraded" if x[0] != y[0] else "relicensed"
    want.append({"db": db, "name": k[1], "change": ch, "from": x and x[0], "to": y and y[0],
                 "licenses_from": x and sorted(x[1]), "licenses_to": y and sorted(y[1])})
d = json.load(open(sys.argv[3]))
got = [dict(p, licenses_from=p["licenses_from"] and sorted(p["licenses_from"]),
            licenses_to=p["licenses_to"] and sorted(p["licenses_to"])) for p in d["packages"]]
ok = d["packages_compared"] and got == want and want
print(("ok - sbom diff %s: %d package changes as the two SBOMs list them (%s)" % (sys.argv[4], len(want),
       ", ".join(sorted(set(w["change"] for w in want))))) if ok else
      "not ok - sbom diff %s: packages as the two SBOMs list them: got %s, want %s" % (sys.argv[4], got[:3], want[:3]))
EOF
done
"$S" -q sbom -o "$t/tampered.cdx" "$D/tampered.tar" 2> "$t/tampered.err"; rc=$?
[ $rc = 1 ] && [ ! -e "$t/tampered.cdx" ] && grep -q 'diff_id mismatch' "$t/tampered.err"
res $? "tampered: exit 1 (got $rc), the verification error on stderr, no SBOM written"
SOURCE_DATE_EPOCH=yesterday "$S" -q sbom "$D/deb.tar" > /dev/null 2>&1; rc=$?
[ $rc = 2 ]; res $? "a SOURCE_DATE_EPOCH that is not a number is a usage error (got $rc)"
# package files are bounded for a whole source (64 times --max-json): past it, a warning, not an error
nfiles() {  # nfiles CDX: "NAME:FILES ..." per component
	python3 -c 'import json, sys
print(" ".join("%s:%d" % (c["name"], len(c.get("components", []))) for c in json.load(open(sys.argv[1]))["components"]))' "$1"
}
"$S" -q sbom "$D/budget.tar" > "$t/budget.cdx"; rc=$?
got=$(nfiles "$t/budget.cdx")
[ $rc = 0 ] && [ "$got" = "p0:1 p1:1 p2:1" ]; res $? "budget: every package lists its file by default (exit $rc, $got)"
"$S" sbom --max-json 2K "$D/budget.tar" > "$t/budget2.cdx" 2> "$t/budget2.err"; rc=$?
got=$(nfiles "$t/budget2.cdx")
[ $rc = 0 ] && [ "$got" = "p0:1 p1:1 p2:0" ] && [ "$(grep -c . "$t/budget2.err")" = 1 ] &&
	grep -q "'var/lib/dpkg/info/p2.list' and the package files after it are not read.*131072 bytes.*--max-json" "$t/budget2.err"
res $? "budget: --max-json 2K leaves p2's list unread, with one warning naming it and the option (exit $rc, $got: $(head -c 300 "$t/budget2.err"))"
