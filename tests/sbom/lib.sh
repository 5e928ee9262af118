# tests/sbom/lib.sh - sourced by tests/sbom/run.sh and eco.sh (sh): how a result is reported and how
# one image's two SBOM documents are checked.  Needs `here` (tests/sbom).
#   res OK WHAT              "ok - sbom WHAT" when OK is 0, else "not ok - sbom WHAT"
#   check_docs NAME CDX SPDX CycloneDX valid against the official 1.6 schema (one skip line when the
#                            schema folder or python3-jsonschema is missing), SPDX 2.3 complete
res() {
	if [ "$1" = 0 ]; then echo "ok - sbom $2"; else echo "not ok - sbom $2"; fi
}

check_docs() {
	out=$(python3 "$here/check.py" cyclonedx "$2"); rc=$?
	if [ $rc = 77 ]; then
		echo "skip - sbom $1: CycloneDX schema folder or python3-jsonschema missing"
	else
		res $rc "$1: CycloneDX valid against the official 1.6 schema"
		[ -n "$out" ] && echo "$out" | sed 's/^/#   /'
	fi
	out=$(python3 "$here/check.py" spdx "$3"); rc=$?
	res $rc "$1: SPDX 2.3 has every required field"
	[ -n "$out" ] && echo "$out" | sed 's/^/#   /'
}
