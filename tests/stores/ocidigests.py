#!/usr/bin/env python3
"""ocidigests.py DIR - the config and layer digests of every manifest of an
OCI layout, one line each: CONFIG LAYER..."""
import json, sys

d = sys.argv[1]
for m in json.load(open(d + "/index.json"))["manifests"]:
    man = json.load(open(d + "/blobs/sha256/" + m["digest"][7:]))
    print(man["config"]["digest"], *[l["digest"] for l in man["layers"]])
