#!/usr/bin/env python3
"""tests/names/make.py OUTDIR - multi-image sources whose names must survive every conversion (issue 12).

Deterministic, python3 stdlib only; the layer helpers are tests/analyze/make.py's.  Writes:

  collide.tar        docker-archive, two images whose short tags collide: corpus/multi-a:1.0 (also
                     tagged corpus/multi-a:latest, one manifest.json entry, two RepoTags) and
                     corpus/multi-b:1.0; they share their base layer (stored once)
  twoentries.tar     docker-archive, one image named twice by two manifest.json entries with the same
                     config and layers: corpus/multi-a:1.0 and corpus/multi-a:latest
  oci-twotags/       OCI layout, index.json lists the same manifest as 1.0 and latest (ref.name only)
  oci-twotags-named/ the same with io.containerd.image.name docker.io/corpus/oci-two:{1.0,latest}
                     (as BuildKit and ctr export write it)
  replace-b.tar      docker-archive, another image named corpus/multi-b:1.0 (new top layer, the base
                     of collide.tar): converted into a layout holding collide.tar, its name is reused
  sources.json       {name: {"file", "format", "names": [...]}}: what each source is named
"""
import hashlib
import io
import json
import os
import sys
import tarfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "analyze"))
import make as am  # noqa: E402
from make import D, F, Image, docker_archive, layer_tar  # noqa: E402

BASE = layer_tar([D("etc"), F("etc/os-release", b"ID=corpus\n"), D("bin"), F("bin/sh", 300)])
A_TOP = layer_tar([D("app"), F("app/a", b"image a\n")])
B_TOP = layer_tar([D("app"), F("app/b", b"image b\n"), F("app/b-data", 5000)])
R_TOP = layer_tar([D("app"), F("app/b", b"image b, the replacement\n"), F("app/r-data", 7000)])
HIST = [("base", False), ("app", False)]

OCI_MT = {
    "manifest": "application/vnd.oci.image.manifest.v1+json",
    "config": "application/vnd.oci.image.config.v1+json",
    "layer": "application/vnd.oci.image.layer.v1.tar+gzip",
}


def canon(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def oci_layout(path, img, entries):
    """An OCI image layout holding img (gzip layers) once, listed by index.json once per entry
    (a dict of annotations each)."""
    blobs = os.path.join(path, "blobs", "sha256")
    os.makedirs(blobs, exist_ok=True)

    def put(b):
        h = hashlib.sha256(b).hexdigest()
        with open(os.path.join(blobs, h), "wb") as f:
            f.write(b)
        return {"digest": "sha256:" + h, "size": len(b)}

    layers = [dict(put(am.gz(t)), mediaType=OCI_MT["layer"]) for t in img.tars]
    cfg = dict(put(img.config), mediaType=OCI_MT["config"])
    man = canon({"schemaVersion": 2, "mediaType": OCI_MT["manifest"], "config": cfg, "layers": layers})
    mdesc = dict(put(man), mediaType=OCI_MT["manifest"])
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [dict(mdesc, annotations=a) for a in entries]}
    with open(os.path.join(path, "index.json"), "wb") as f:
        f.write(canon(index))
    with open(os.path.join(path, "oci-layout"), "wb") as f:
        f.write(b'{"imageLayoutVersion":"1.0.0"}')


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    a = ["corpus/multi-a:1.0", "corpus/multi-a:latest"]
    src = {}

    def write(name, data, names):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        src[name] = {"file": name, "format": "docker-archive", "names": names}

    write("collide.tar", docker_archive([Image(a, [BASE, A_TOP], HIST),
                                         Image(["corpus/multi-b:1.0"], [BASE, B_TOP], HIST)]),
          a + ["corpus/multi-b:1.0"])
    write("twoentries.tar", docker_archive([Image([a[0]], [BASE, A_TOP], HIST), Image([a[1]], [BASE, A_TOP], HIST)]), a)
    write("replace-b.tar", docker_archive([Image(["corpus/multi-b:1.0"], [BASE, R_TOP], HIST)]), ["corpus/multi-b:1.0"])
    img = Image([], [BASE, A_TOP], HIST)
    r = "org.opencontainers.image.ref.name"
    c = "io.containerd.image.name"
    oci_layout(os.path.join(out, "oci-twotags"), img, [{r: "1.0"}, {r: "latest"}])
    src["oci-twotags"] = {"file": "oci-twotags", "format": "oci", "names": ["1.0", "latest"]}
    oci_layout(os.path.join(out, "oci-twotags-named"), img,
               [{r: "1.0", c: "docker.io/corpus/oci-two:1.0"}, {r: "latest", c: "docker.io/corpus/oci-two:latest"}])
    src["oci-twotags-named"] = {"file": "oci-twotags-named", "format": "oci",
                                "names": ["docker.io/corpus/oci-two:1.0", "docker.io/corpus/oci-two:latest"]}
    with open(os.path.join(out, "sources.json"), "w") as f:
        json.dump(src, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
