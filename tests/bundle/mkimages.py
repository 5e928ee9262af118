#!/usr/bin/env python3
"""mkimages.py OUTDIR - the images of tests/bundle/airgap.sh, as OCI layouts (deterministic).

  OUTDIR/a    registry.example/team/app-a:1  one manifest: base + a layer of its own
  OUTDIR/b    registry.example/team/app-b:1  one manifest: base + a layer of its own
  OUTDIR/c    registry.example/team/app-c:1  an index: linux/amd64 (base + own layer) and linux/arm64
  OUTDIR/b2   registry.example/team/app-b:1  day two: b with a new top layer

Every layer is gzip (mtime 0) of a PAX tar of incompressible bytes, so that the bundle
splits into several pieces. Beside each layout: NAME.digest (the top document's digest, what
the far side must show under the name), NAME.blobs (every blob), NAME.layers.
Standard library only.
"""
import gzip
import hashlib
import io
import json
import os
import sys

REPO = "registry.example/team/"


def data(seed, n):
    out, h = bytearray(), seed.encode()
    while len(out) < n:
        h = hashlib.sha256(h).digest()
        out += h
    return bytes(out[:n])


def layer(files):
    import tarfile
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, body in files:
            ti = tarfile.TarInfo(name)
            ti.size, ti.mtime, ti.mode = len(body), 0, 0o644
            t.addfile(ti, io.BytesIO(body))
    raw = b.getvalue()
    return raw, gzip.compress(raw, mtime=0)


class Layout:
    def __init__(self, d):
        self.d, self.blobs, self.layers = d, set(), set()
        os.makedirs(os.path.join(d, "blobs", "sha256"), exist_ok=True)
        with open(os.path.join(d, "oci-layout"), "w") as f:
            f.write('{"imageLayoutVersion":"1.0.0"}')

    def blob(self, body):
        h = hashlib.sha256(body).hexdigest()
        with open(os.path.join(self.d, "blobs", "sha256", h), "wb") as f:
            f.write(body)
        self.blobs.add("sha256:" + h)
        return "sha256:" + h

    def manifest(self, arch, layers):
        ls, ids = [], []
        for raw, gz in layers:
            dg = self.blob(gz)
            self.layers.add(dg)
            ls.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": dg, "size": len(gz)})
            ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
        cfg = json.dumps({"architecture": arch, "os": "linux", "created": "2026-12-01T00:00:00Z",
                          "config": {"Cmd": ["/bin/sh"]}, "rootfs": {"type": "layers", "diff_ids": ids},
                          "history": [{"created_by": "layer %d" % i} for i in range(len(ids))]},
                         sort_keys=True).encode()
        man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                          "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                     "digest": self.blob(cfg), "size": len(cfg)},
                          "layers": ls}, sort_keys=True).encode()
        return man

    def top(self, name, body, media):
        dg = self.blob(body)
        idx = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
               "manifests": [{"mediaType": media, "digest": dg, "size": len(body),
                              "annotations": {"org.opencontainers.image.ref.name": REPO + name}}]}
        with open(os.path.join(self.d, "index.json"), "w") as f:
            json.dump(idx, f)
        out = os.path.dirname(self.d) + "/" + os.path.basename(self.d)
        with open(out + ".digest", "w") as f:
            f.write(dg + "\n")
        with open(out + ".blobs", "w") as f:
            f.write("".join(x + "\n" for x in sorted(self.blobs)))
        with open(out + ".layers", "w") as f:
            f.write("".join(x + "\n" for x in sorted(self.layers)))


def single(d, name, arch, layers):
    lay = Layout(d)
    lay.top(name, lay.manifest(arch, layers), "application/vnd.oci.image.manifest.v1+json")


def main():
    out = sys.argv[1]
    base = layer([("etc/os-release", b"ID=strata-test\n"), ("usr/lib/base.bin", data("base", 96 * 1024))])
    base_arm = layer([("etc/os-release", b"ID=strata-test\n"), ("usr/lib/base.bin", data("base-arm", 96 * 1024))])
    own = {s: layer([("app/" + s, data(s, 24 * 1024))]) for s in ("a", "b", "c", "c-arm", "b-v2")}
    single(out + "/a", "app-a:1", "amd64", [base, own["a"]])
    single(out + "/b", "app-b:1", "amd64", [base, own["b"]])
    single(out + "/b2", "app-b:1", "amd64", [base, own["b"], own["b-v2"]])
    lay = Layout(out + "/c")
    kids = []
    for arch, layers in (("amd64", [base, own["c"]]), ("arm64", [base_arm, own["c-arm"]])):
        m = lay.manifest(arch, layers)
        kids.append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": lay.blob(m),
                     "size": len(m), "platform": {"architecture": arch, "os": "linux"}})
    idx = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                      "manifests": kids}, sort_keys=True).encode()
    lay.top("app-c:1", idx, "application/vnd.oci.image.index.v1+json")


if __name__ == "__main__":
    main()
