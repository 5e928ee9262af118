#!/usr/bin/env python3
"""tests/audit/make.py OUTDIR - images with planted risky content for `strata analyze`.

Deterministic, python3 stdlib only.  Writes to OUTDIR:

  risky.tar     docker-archive, 3 layers, OCI provenance labels in the config:
                layer 1: etc/shadow (root with an empty password, bob with a plain-text one,
                         daemon locked, alice with a $6$ hash), usr/bin/ping with a
                         security.capability xattr, usr/bin/su setuid, a world-writable file
                layer 2: root/.ssh/id_rsa (PEM RSA key), app/.env with an AKIA key id,
                         app/sa.json (GCP service-account key), root/.netrc,
                         root/.git-credentials, root/.docker/config.json with auths,
                         home/u/.ssh/id_ed25519 (OpenSSH key)
                layer 3: deletes root/.ssh/id_rsa (whiteout) - still shipped in layer 2
  tampered.tar  risky.tar with one content byte of layer 2 flipped (diff_id mismatch)
  missing.tar   risky.tar without layer 3's member: its findings "not checked"
  clean.tar     one layer of harmless files, no labels: every section "none found"
  oci/          OCI layout, one layer, provenance as manifest annotations
  expect.json   the findings each image must have (rule, layer, path, in_final_image)
"""
import hashlib
import io
import json
import os
import sys
import tarfile

MTIME = 1700000000

PEM = (b"-----BEGIN RSA PRIVATE KEY-----\n"
       b"MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
       b"VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n"
       b"-----END RSA PRIVATE KEY-----\n")
OPENSSH = (b"-----BEGIN OPENSSH PRIVATE KEY-----\n"
           b"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
           b"-----END OPENSSH PRIVATE KEY-----\n")
# not a key: a header named in a string constant, and a key id with letters around it
DECOY = b'const char *h = "-----BEGIN PRIVATE KEY-----";\nid = XAKIAIOSFODNN7EXAMPLEX\n'
SHADOW = (b"root::19000:0:99999:7:::\n"
          b"daemon:*:19000:0:99999:7:::\n"
          b"bob:hunter2:19000:0:99999:7:::\n"
          b"alice:$6$salt$5H0QpwprRiJQR19Y3Y6rl7q5Q8iWs7EY6bJY/1nEw5yYyB4t7XHo2y0mNC1NWWiO.ZQYy9qKbXd3Jdzu3qE6H/:19000:0:99999:7:::\n")
CAP = "\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def layer(entries):
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w", format=tarfile.PAX_FORMAT) as t:
        for e in entries:
            path, data = e[0], e[1]
            mode = e[2] if len(e) > 2 else 0o644
            xattrs = e[3] if len(e) > 3 else None
            ti = tarfile.TarInfo(path)
            ti.mtime = MTIME
            ti.uname = ti.gname = "root"
            if data is None:
                ti.type = tarfile.DIRTYPE
                ti.mode = mode if len(e) > 2 else 0o755
                t.addfile(ti)
                continue
            ti.size = len(data)
            ti.mode = mode
            if xattrs:
                ti.pax_headers = {"SCHILY.xattr." + k: v for k, v in xattrs.items()}
            t.addfile(ti, io.BytesIO(data))
    return bio.getvalue()


def layers_risky():
    l1 = layer([("etc", None), ("etc/shadow", SHADOW, 0o640), ("etc/hostname", b"box\n"),
                ("usr", None), ("usr/bin", None),
                ("usr/bin/ping", b"\x7fELF ping" + b"\0" * 64, 0o755, {"security.capability": CAP}),
                ("usr/bin/su", b"\x7fELF su" + b"\0" * 64, 0o4755),
                ("usr/share", None), ("usr/share/decoy.c", DECOY),
                ("etc/ssl", None), ("etc/ssl/enc.key", b"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n"
                                                       b"DEK-Info: AES-128-CBC,0123456789ABCDEF\n\nMIIEow\n-----END RSA PRIVATE KEY-----\n", 0o600),
                ("tmp", None, 0o1777), ("var", None), ("var/drop", b"anyone\n", 0o666)])
    l2 = layer([("root", None, 0o700), ("root/.ssh", None, 0o700), ("root/.ssh/id_rsa", PEM, 0o600),
                ("app", None), ("app/.env", b"# settings\nDEBUG=0\nAWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n"
                                           b"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"),
                ("app/sa.json", json.dumps({"type": "service_account", "project_id": "p",
                                            "private_key_id": "abc", "private_key": "-----BEGIN PRIVATE KEY-----\\nMIIB\\n",
                                            "client_email": "x@p.iam.gserviceaccount.com"}, indent=2).encode()),
                ("root/.netrc", b"machine example.com login me password s3cret\n", 0o600),
                ("root/.git-credentials", b"https://me:ghp_abcdefabcdef@github.com\n", 0o600),
                ("root/.docker", None, 0o700),
                ("root/.docker/config.json", b'{\n  "auths": {\n    "registry.example.com": {\n      "auth": "bWU6c2VjcmV0"\n    }\n  }\n}\n', 0o600),
                ("home", None), ("home/u", None), ("home/u/.ssh", None, 0o700),
                ("home/u/.ssh/id_ed25519", OPENSSH, 0o600)])
    l3 = layer([("root", None, 0o700), ("root/.ssh", None, 0o700), ("root/.ssh/.wh.id_rsa", b""),
                ("etc", None), ("etc/motd", b"hello\n")])
    return [l1, l2, l3]


EXPECT_RISKY = [
    # rule, layer, path, in_final_image
    ("shadow.empty-password", 1, "etc/shadow", True),
    ("shadow.weak-password", 1, "etc/shadow", True),
    ("perms.capability", 1, "usr/bin/ping", True),
    ("secrets.private-key", 1, "etc/ssl/enc.key", True),
    ("perms.setuid", 1, "usr/bin/su", True),
    ("perms.world-writable", 1, "var/drop", True),
    ("secrets.private-key", 2, "root/.ssh/id_rsa", False),
    ("secrets.private-key", 2, "home/u/.ssh/id_ed25519", True),
    ("secrets.aws-access-key-id", 2, "app/.env", True),
    ("secrets.env-file", 2, "app/.env", True),
    ("secrets.gcp-service-account-key", 2, "app/sa.json", True),
    ("secrets.netrc", 2, "root/.netrc", True),
    ("secrets.git-credentials", 2, "root/.git-credentials", True),
    ("secrets.docker-auth", 2, "root/.docker/config.json", True),
]

LABELS = {
    "org.opencontainers.image.source": "https://example.com/app.git",
    "org.opencontainers.image.revision": "0123456789abcdef0123456789abcdef01234567",
    "org.opencontainers.image.version": "2.1.0",
    "org.opencontainers.image.created": "2023-11-14T22:13:20Z",
    "org.opencontainers.image.authors": "Audit Tests <audit@example.com>",
    "org.opencontainers.image.licenses": "Apache-2.0",
}


def config(tars, labels):
    cfg = {"architecture": "amd64", "os": "linux", "created": "2023-11-14T22:13:20Z",
           "config": {"Env": ["PATH=/usr/bin"]},
           "rootfs": {"type": "layers", "diff_ids": [sha(t) for t in tars]},
           "history": [{"created": "2023-11-14T22:13:20Z", "created_by": "layer %d" % (i + 1)} for i in range(len(tars))]}
    if labels:
        cfg["config"]["Labels"] = labels
    return json.dumps(cfg, sort_keys=True, separators=(",", ":")).encode()


def docker_archive(tag, tars, labels, tamper=None, drop=None):
    cfg = config(tars, labels)
    files = []
    names = []
    for i, t in enumerate(tars):
        n = "%s/layer.tar" % hashlib.sha256(t).hexdigest()
        if tamper == i:
            # flip one byte of the first file's content (after the pax and ustar headers)
            b = bytearray(t)
            k = b.index(b"-----BEGIN RSA") + 40
            b[k] ^= 0x01
            t = bytes(b)
        if drop != i:
            files.append((n, t))
        names.append(n)
    cname = hashlib.sha256(cfg).hexdigest() + ".json"
    manifest = json.dumps([{"Config": cname, "RepoTags": [tag], "Layers": names}]).encode()
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for n, d in [(cname, cfg)] + files + [("manifest.json", manifest)]:
            ti = tarfile.TarInfo(n)
            ti.size = len(d)
            ti.mtime = MTIME
            ti.mode = 0o644
            t.addfile(ti, io.BytesIO(d))
    return bio.getvalue()


def oci_layout(out, tars, annotations):
    blobs = os.path.join(out, "blobs", "sha256")
    os.makedirs(blobs, exist_ok=True)

    def put(b):
        with open(os.path.join(blobs, hashlib.sha256(b).hexdigest()), "wb") as f:
            f.write(b)
        return sha(b)
    cfg = config(tars, None)
    m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
         "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(cfg), "size": len(cfg)},
         "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": put(t), "size": len(t)} for t in tars],
         "annotations": annotations}
    mb = json.dumps(m, sort_keys=True, separators=(",", ":")).encode()
    idx = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
           "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": put(mb), "size": len(mb),
                          "annotations": {"org.opencontainers.image.ref.name": "1.0"}}]}
    with open(os.path.join(out, "index.json"), "wb") as f:
        f.write(json.dumps(idx, sort_keys=True, separators=(",", ":")).encode())
    with open(os.path.join(out, "oci-layout"), "wb") as f:
        f.write(b'{"imageLayoutVersion":"1.0.0"}')


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make.py OUTDIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    risky = layers_risky()
    clean = [layer([("etc", None), ("etc/hostname", b"clean\n"), ("usr", None), ("usr/bin", None),
                    ("usr/bin/app", b"\x7fELF app" + b"\0" * 100, 0o755)])]
    for name, data in (("risky.tar", docker_archive("audit/risky:1", risky, LABELS)),
                       ("tampered.tar", docker_archive("audit/risky:1", risky, LABELS, tamper=1)),
                       ("missing.tar", docker_archive("audit/risky:1", risky, LABELS, drop=2)),
                       ("clean.tar", docker_archive("audit/clean:1", clean, None))):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    oci_layout(os.path.join(out, "oci"), clean, {"org.opencontainers.image.source": "https://example.com/oci.git",
                                                  "org.opencontainers.image.version": "1.0"})
    with open(os.path.join(out, "expect.json"), "w") as f:
        json.dump({"risky": EXPECT_RISKY}, f, indent=1)


if __name__ == "__main__":
    main()
