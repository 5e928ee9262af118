#!/usr/bin/env python3
"""tests/cli/schemas.py [CLI_DIR] - every JSON output of the CLI golden tests
(tests/cli/expected/NAME.out that parses as JSON) is valid against the schema
of the command that printed it (docs/schema/COMMAND.schema.json), and carries
that schema's "schema" version."""
import json, os, re, sys

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
try:
    import jsonschema
except ImportError:
    print("skip - schema: python3-jsonschema is not installed")
    sys.exit(0)

schemas = {}
for name in ("inspect", "verify", "analyze", "diff", "convert"):
    with open(os.path.join(root, "docs", "schema", name + ".schema.json")) as f:
        s = json.load(f)
    jsonschema.Draft202012Validator.check_schema(s)
    schemas[name] = s
    print("ok - schema %s.schema.json is a valid draft 2020-12 schema" % name)

sys.path.insert(0, os.path.join(root, "tests", "sbom"))
import check as sbom_check  # noqa: E402

bad = 0
with open(os.path.join(here, "cases.txt")) as f:
    for line in f:
        if line.startswith("#") or "\t" not in line:
            continue
        case, cmd = line.rstrip("\n").split("\t", 1)
        path = os.path.join(here, "expected", case + ".out")
        try:
            with open(path) as g:
                doc = json.load(g)
        except (OSError, ValueError):
            continue  # not JSON output
        # the command whose output reaches stdout: the last one of a pipeline
        cmds = re.findall(r"\$S (?:-q |--quiet )?([a-z]+)", cmd)
        if cmds and cmds[-1] == "sbom":
            spdx = "spdxVersion" in doc
            errs = sbom_check.spdx_errors(doc) if spdx else sbom_check.cyclonedx_errors(doc)
            what = "SPDX 2.3's required fields" if spdx else "the CycloneDX 1.6 schema"
            if errs is None:
                print("skip - schema %s: no CycloneDX schema folder or python3-jsonschema" % case)
            elif errs:
                bad += 1
                print("not ok - schema %s (sbom): %s" % (case, "; ".join(errs[:3])))
            else:
                print("ok - schema %s matches %s" % (case, what))
            continue
        if not cmds or cmds[-1] not in schemas:
            print("not ok - schema %s: no schema for '%s'" % (case, cmd))
            bad += 1
            continue
        s = schemas[cmds[-1]]
        errs = sorted(jsonschema.Draft202012Validator(s).iter_errors(doc), key=lambda e: list(e.path))
        if doc.get("schema") != s["properties"]["schema"]["const"]:
            errs.append("schema field %r" % doc.get("schema"))
        if errs:
            bad += 1
            print("not ok - schema %s (%s): %s" % (case, cmds[-1], "; ".join(
                "%s: %s" % ("/".join(map(str, e.path)), e.message) if hasattr(e, "path") else str(e) for e in errs[:3])))
        else:
            print("ok - schema %s matches %s.schema.json" % (case, cmds[-1]))
sys.exit(1 if bad else 0)
