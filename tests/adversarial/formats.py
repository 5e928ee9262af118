#!/usr/bin/env python3
"""Hostile archives for tests/adversarial/formats.sh (issue 11, "hostile inputs").

    python3 tests/adversarial/formats.py OUTDIR

Python 3 standard library only; everything is made at test time and is deterministic (fixed
mtimes, owners and key order), in the spirit of fixtures/gen.py.  Each file targets one way a
source can steer strata: detection, cost, number syntax, digest algorithms.
"""

import hashlib
import io
import json
import os
import sys
import tarfile

MTIME = 1700000000
MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER = "application/vnd.oci.image.layer.v1.tar"


def sha256(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def sha512(b):
    return "sha512:" + hashlib.sha512(b).hexdigest()


def jdump(o):
    return json.dumps(o, separators=(",", ":")).encode()


def tar(members):
    """members: (name, bytes) for files, (name, None) for directories; kept in order."""
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, data in members:
            ti = tarfile.TarInfo(name)
            ti.mtime = MTIME
            ti.uname = ti.gname = ""
            if data is None:
                ti.type = tarfile.DIRTYPE
                ti.mode = 0o755
                tf.addfile(ti)
            else:
                ti.mode = 0o644
                ti.size = len(data)
                tf.addfile(ti, io.BytesIO(data))
    return bio.getvalue()


LAYER = tar([("etc", None), ("etc/os-release", b"ID=adversarial\n"), ("hello", b"hello\n")])


def config(diff_ids):
    return jdump({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"]},
                  "rootfs": {"type": "layers", "diff_ids": diff_ids},
                  "history": [{"created_by": "adversarial"}]})


def docker_archive(diff_id=None, readme_first=True):
    """A classic docker-archive; README.txt first makes the content bidding take it for a rootfs."""
    cfg = config([diff_id or sha256(LAYER)])
    cfg_name = hashlib.sha256(cfg).hexdigest() + ".json"
    layer_name = hashlib.sha256(LAYER).hexdigest() + ".tar"
    manifest = jdump([{"Config": cfg_name, "RepoTags": ["adv/readme:1"], "Layers": [layer_name]}])
    members = [(layer_name, LAYER), (cfg_name, cfg), ("manifest.json", manifest)]
    if readme_first:
        members.insert(0, ("README.txt", b"this is not a root filesystem\n"))
    return tar(members)


def blob_path(d):
    alg, hexd = d.split(":", 1)
    return "blobs/%s/%s" % (alg, hexd)


def oci_archive(index, blobs, readme_first=False):
    """An oci-archive from an index document (bytes) and {digest: bytes}."""
    members = []
    if readme_first:
        members.append(("README.txt", b"read me\n"))
    members += [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), ("index.json", index)]
    for d in sorted(blobs):
        members.append((blob_path(d), blobs[d]))
    return tar(members)


def desc(mt, data, algo=sha256, **extra):
    d = {"mediaType": mt, "digest": algo(data), "size": len(data)}
    d.update(extra)
    return d


def image_blobs(layer_descs, layers, diff_ids, cfg_algo=sha256):
    cfg = config(diff_ids)
    man = jdump({"schemaVersion": 2, "mediaType": MT_MANIFEST, "config": desc(MT_CONFIG, cfg, cfg_algo),
                 "layers": layer_descs})
    blobs = {cfg_algo(cfg): cfg}
    blobs.update(layers)
    return man, blobs


def simple_oci(layer_algo=sha256, diff_id=None, size_text=None):
    ld = desc(MT_LAYER, LAYER, layer_algo)
    man, blobs = image_blobs([ld], {layer_algo(LAYER): LAYER}, [diff_id or sha256(LAYER)])
    if size_text is not None:
        man = man.replace(b'"size":%d' % len(LAYER), b'"size":' + size_text.encode())
    blobs[sha256(man)] = man
    index = jdump({"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": [desc(MT_MANIFEST, man)]})
    return index, blobs


def fanout(n):
    """index.json -> index A listed n times; A lists index B n times; B lists the manifest n
    times: n**3 manifest visits from a few hundred kilobytes."""
    man, blobs = image_blobs([desc(MT_LAYER, LAYER)], {sha256(LAYER): LAYER}, [sha256(LAYER)])
    blobs[sha256(man)] = man
    b = jdump({"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": [desc(MT_MANIFEST, man)] * n})
    blobs[sha256(b)] = b
    a = jdump({"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": [desc(MT_INDEX, b)] * n})
    blobs[sha256(a)] = a
    index = jdump({"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": [desc(MT_INDEX, a)] * n})
    return index, blobs


def many_layers_oci(n):
    man, blobs = image_blobs([desc(MT_LAYER, LAYER)] * n, {sha256(LAYER): LAYER}, [sha256(LAYER)] * n)
    blobs[sha256(man)] = man
    return jdump({"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": [desc(MT_MANIFEST, man)]}), blobs


def many_layers_docker(n):
    cfg = config([sha256(LAYER)] * n)
    cfg_name = hashlib.sha256(cfg).hexdigest() + ".json"
    layer_name = hashlib.sha256(LAYER).hexdigest() + ".tar"
    manifest = jdump([{"Config": cfg_name, "RepoTags": ["adv/layers:1"], "Layers": [layer_name] * n}])
    return tar([("manifest.json", manifest), (cfg_name, cfg), (layer_name, LAYER)])


def deep_then_bad_link(depth):
    """A rootfs that verifies, whose unpack builds a tree `depth` levels deep and then fails on
    a hardlink to nothing: the temp tree must be removed at a depth past the open-file limit."""
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w", format=tarfile.PAX_FORMAT) as tf:
        p = ""
        for _ in range(depth):
            p += "d/"
            ti = tarfile.TarInfo(p.rstrip("/"))
            ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, 0o755, MTIME
            tf.addfile(ti)
        ti = tarfile.TarInfo(p + "f")
        ti.size, ti.mtime = 3, MTIME
        tf.addfile(ti, io.BytesIO(b"abc"))
        ti = tarfile.TarInfo("zlink")
        ti.type, ti.linkname, ti.mtime = tarfile.LNKTYPE, "nothing/here", MTIME
        tf.addfile(ti)
    return bio.getvalue()


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    out = argv[1]
    os.makedirs(out, exist_ok=True)
    files = {
        # 1. detection
        "readme-first-bad-diffid.tar": docker_archive(diff_id=sha256(b"not the layer")),
        "readme-first-ok.tar": docker_archive(),
        "readme-first-oci.tar": oci_archive(*simple_oci(diff_id=sha256(b"not the layer")), readme_first=True),
        "plain-rootfs.tar": LAYER,
        # 2. cost
        "fanout.tar": oci_archive(*fanout(300)),
        "many-layers-oci.tar": oci_archive(*many_layers_oci(5000)),
        "many-layers-docker.tar": many_layers_docker(5000),
        # 3. numbers
        "size-exponent.tar": oci_archive(*simple_oci(size_text="%.3e" % len(LAYER))),
        "size-fraction.tar": oci_archive(*simple_oci(size_text="%d.0" % len(LAYER))),
        "size-plain.tar": oci_archive(*simple_oci()),
        # 4. sha512
        "sha512-ok.tar": oci_archive(*simple_oci(layer_algo=sha512)),
        "sha512-bad-diffid.tar": oci_archive(*simple_oci(layer_algo=sha512, diff_id=sha256(b"other"))),
        # 7. removal
        "deep-bad-link.tar": deep_then_bad_link(150),
    }
    for name, data in sorted(files.items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
