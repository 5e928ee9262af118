#!/usr/bin/env python3
"""savedigests.py ARCHIVE - the config digest and layer digests of every
image of a docker-archive (docker save / podman save), one line each:
NAMES CONFIG LAYER... (sha256 of the member bytes, as written)."""
import hashlib, json, sys, tarfile

with tarfile.open(sys.argv[1]) as tf:
    def sha(name):
        return "sha256:" + hashlib.sha256(tf.extractfile(name).read()).hexdigest()
    for m in json.load(tf.extractfile("manifest.json")):
        print(",".join(m.get("RepoTags") or ["-"]), sha(m["Config"]), *[sha(x) for x in m["Layers"]])
