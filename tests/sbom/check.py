#!/usr/bin/env python3
"""tests/sbom/check.py - what a strata SBOM must be, for run.sh and tests/cli/schemas.py.

  check.py cyclonedx FILE   valid against the official CycloneDX 1.6 schema
  check.py spdx FILE        every field SPDX 2.3 requires (document, packages, relationships)

Prints nothing and exits 0 when the file passes; else one problem a line, exit 1.
The CycloneDX schema folder is $STRATA_SCHEMAS/cyclonedx-1.6 (default: ../shared/schemas
beside the repository); exit 77 when it or python3-jsonschema is missing.
"""
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SKIP = 77


def schema_dir():
    base = os.environ.get("STRATA_SCHEMAS") or os.path.join(ROOT, "..", "shared", "schemas")
    d = os.path.join(base, "cyclonedx-1.6")
    return d if os.path.isfile(os.path.join(d, "bom-1.6.schema.json")) else None


def cyclonedx_errors(doc):
    """Problems of a CycloneDX document against the official 1.6 schema; None: cannot check."""
    d = schema_dir()
    try:
        import jsonschema
        from referencing import Registry, Resource
    except ImportError:
        return None
    if not d:
        return None
    reg, main = Registry(), None
    for name in ("bom-1.6.schema.json", "spdx.schema.json", "jsf-0.82.schema.json"):
        with open(os.path.join(d, name)) as f:
            s = json.load(f)
        res = Resource.from_contents(s)
        reg = reg.with_resource(name, res).with_resource(s["$id"], res)
        if name.startswith("bom"):
            main = s
    v = jsonschema.Draft7Validator(main, registry=reg)
    errs = ["%s: %s" % ("/".join(map(str, e.path)), e.message) for e in v.iter_errors(doc)]
    if doc.get("specVersion") != "1.6":
        errs.append("specVersion %r" % doc.get("specVersion"))
    if not re.fullmatch(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
                        doc.get("serialNumber", "")):
        errs.append("serialNumber %r" % doc.get("serialNumber"))
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", doc.get("metadata", {}).get("timestamp", "")):
        errs.append("metadata.timestamp")
    return errs


SPDXID = re.compile(r"SPDXRef-[A-Za-z0-9.-]+")


def spdx_errors(doc):
    """The fields SPDX 2.3 requires (spec clauses 6, 7 and 11), and the ones strata promises."""
    errs = []

    def need(obj, key, where, pred=lambda v: isinstance(v, str) and v):
        if key not in obj or not pred(obj[key]):
            errs.append("%s: %s missing or bad (%r)" % (where, key, obj.get(key)))

    need(doc, "spdxVersion", "document", lambda v: v == "SPDX-2.3")
    need(doc, "dataLicense", "document", lambda v: v == "CC0-1.0")
    need(doc, "SPDXID", "document", lambda v: v == "SPDXRef-DOCUMENT")
    need(doc, "name", "document")
    need(doc, "documentNamespace", "document", lambda v: isinstance(v, str) and "://" in v and "#" not in v)
    ci = doc.get("creationInfo", {})
    need(ci, "created", "creationInfo",
         lambda v: isinstance(v, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", v))
    need(ci, "creators", "creationInfo", lambda v: isinstance(v, list) and v and
         all(isinstance(c, str) and re.match(r"(Tool|Organization|Person): \S", c) for c in v))
    ids = set()
    for i, p in enumerate(doc.get("packages", [])):
        w = "packages[%d]" % i
        need(p, "SPDXID", w, lambda v: isinstance(v, str) and SPDXID.fullmatch(v))
        if p.get("SPDXID") in ids:
            errs.append("%s: SPDXID %s twice" % (w, p["SPDXID"]))
        ids.add(p.get("SPDXID"))
        need(p, "name", w)
        need(p, "versionInfo", w)
        need(p, "downloadLocation", w)
        need(p, "licenseConcluded", w)
        need(p, "licenseDeclared", w)
        need(p, "copyrightText", w)
        if p.get("filesAnalyzed", True) is not False:
            errs.append("%s: filesAnalyzed must be false (no verification code)" % w)
        if i > 0:
            refs = [r for r in p.get("externalRefs", []) if r.get("referenceCategory") == "PACKAGE-MANAGER"
                    and r.get("referenceType") == "purl" and str(r.get("referenceLocator", "")).startswith("pkg:")]
            if len(refs) != 1:
                errs.append("%s: no PACKAGE-MANAGER purl externalRef" % w)
    rels = doc.get("relationships", [])
    for r in rels:
        for k in ("spdxElementId", "relationshipType", "relatedSpdxElement"):
            if not isinstance(r.get(k), str):
                errs.append("relationship %r: %s" % (r, k))
        for k in ("spdxElementId", "relatedSpdxElement"):
            if r.get(k) not in ids and r.get(k) != "SPDXRef-DOCUMENT":
                errs.append("relationship names unknown %r" % r.get(k))
    described = [r["relatedSpdxElement"] for r in rels if r.get("spdxElementId") == "SPDXRef-DOCUMENT"
                 and r.get("relationshipType") == "DESCRIBES"]
    if len(described) != 1:
        errs.append("not one DESCRIBES relationship: %r" % described)
    contained = {r["relatedSpdxElement"] for r in rels if r.get("relationshipType") == "CONTAINS"
                 and described and r.get("spdxElementId") == described[0]}
    if contained != ids - set(described):
        errs.append("CONTAINS relationships do not name every package: %r" % sorted(ids - set(described) - contained))
    return errs


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("cyclonedx", "spdx"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    with open(sys.argv[2]) as f:
        doc = json.load(f)
    errs = cyclonedx_errors(doc) if sys.argv[1] == "cyclonedx" else spdx_errors(doc)
    if errs is None:
        return SKIP
    for e in errs[:20]:
        print(e)
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main())
