#!/usr/bin/env python3
"""tests/realworld/run.py STRATA DIR - strata against archives written by real producers.

DIR is ../shared/realworld (its README and facts.json say what each archive is,
as measured with skopeo, umoci and tar).  For every archive: `strata verify`
gives the expected exit code, and the digests, sizes, tags and diff_ids in
`strata inspect --json` equal those facts.  Prints `ok - ...` / `not ok - ...`.
"""
import json
import os
import subprocess
import sys

strata, root = os.path.abspath(sys.argv[1]), sys.argv[2]
facts = json.load(open(os.path.join(root, "facts.json")))

# What verify must say about the archives that are broken on purpose.
EXPECT_EXIT = {
    "ggcr-null-manifest-BROKEN.tar": (4, "must be a JSON array"),
    "scalibr-escape-rootfs-HOSTILE.tar": (4, "points outside the root"),
    "ggcr-sparse-foreign-missing-blob.tar": (0, "foreign layer"),
}


def run(*args):
    p = subprocess.run([strata, *args], cwd=root, capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def report(ok, what, why=""):
    print(("ok - " if ok else "not ok - ") + what + ("" if ok else ": " + why))


def oci_manifests(nodes, out):
    for n in nodes or []:
        if n.get("kind") == "manifest" and n.get("present"):
            out.append(n)
        out_children = n.get("children")
        if out_children:
            oci_manifests(out_children, out)
    return out


for item in facts["items"]:
    name = item["name"]
    want_rc, want_msg = EXPECT_EXIT.get(name, (0, None))
    rc, out, err = run("verify", name)
    report(rc == want_rc and (want_msg is None or want_msg in err),
           f"realworld verify {name}", f"exit {rc}, want {want_rc}; stderr: {err.strip()[:300]}")
    rc, out, err = run("inspect", "--json", name)
    if rc not in (0, 1, 4) or not out.strip():
        report(want_rc != 0, f"realworld inspect {name}", f"exit {rc}: {err.strip()[:200]}")
        continue
    got = json.loads(out)
    problems = []
    f = item["facts"]
    if "docker_archive" in f and f["docker_archive"].get("images") is not None:
        want_imgs = f["docker_archive"]["images"]
        if len(got["images"]) != len(want_imgs):
            problems.append(f"{len(got['images'])} images, want {len(want_imgs)}")
        for wi, gi in zip(want_imgs, got["images"]):
            if (wi.get("RepoTags") or []) != gi["tags"]:
                problems.append(f"tags {gi['tags']} != {wi.get('RepoTags')}")
            if wi["config_digest"] != (gi["config"] or {}).get("digest"):
                problems.append(f"config {gi['config']} != {wi['config_digest']}")
            if wi["diff_ids"] != [l["diff_id"] for l in gi["layers"]]:
                problems.append("diff_ids differ")
            for wl, gl in zip(wi["layers"], gi["layers"]):
                if wl.get("present") and (wl["stored_sha256"] != gl["digest"] or wl["stored_size"] != gl["size"]):
                    problems.append(f"layer {wl['path']}: {gl['digest']}/{gl['size']} != {wl['stored_sha256']}/{wl['stored_size']}")
    elif "oci_layout" in f:
        want = oci_manifests(f["oci_layout"].get("index"), [])
        by_digest = {g["manifest"]["digest"]: g for g in got["images"] if g["manifest"]}
        for wm in want:
            gi = by_digest.get(wm["digest"])
            if not gi:
                problems.append(f"manifest {wm['digest']} not reported")
                continue
            if gi["manifest"]["size"] != wm["size"] or gi["config"]["digest"] != wm["config"]["digest"]:
                problems.append(f"manifest {wm['digest']}: size/config differ")
            if [l["digest"] for l in wm["layers"]] != [l["digest"] for l in gi["layers"]] or \
               [l["size"] for l in wm["layers"]] != [l["size"] for l in gi["layers"]]:
                problems.append(f"manifest {wm['digest']}: layers differ")
            if wm.get("diff_ids") and gi["kind"] == "image" and wm["diff_ids"] != [l["diff_id"] for l in gi["layers"]]:
                problems.append(f"manifest {wm['digest']}: diff_ids differ")
        # artifacts and referrers as the manifests say them (OCI 1.1 artifactType, subject)
        for g in got["images"]:
            if not g["manifest"]:
                continue
            src = os.path.join(root, name)
            path = os.path.join(src, "blobs", "sha256", g["manifest"]["digest"].split(":")[1]) \
                if os.path.isdir(src) else None
            if not path or not os.path.exists(path):
                continue
            with open(path, "rb") as fh:
                doc = json.loads(fh.read())
            want_subject = (doc.get("subject") or {}).get("digest")
            got_subject = (g.get("subject") or {}).get("digest")
            if want_subject != got_subject:
                problems.append(f"manifest {g['manifest']['digest']}: subject {got_subject}, the manifest says {want_subject}")
            if doc.get("artifactType") and g.get("artifact_type") != doc["artifactType"]:
                problems.append(f"manifest {g['manifest']['digest']}: artifact_type {g.get('artifact_type')}, "
                                f"the manifest says {doc['artifactType']}")
            if (doc.get("annotations") or {}) != g.get("annotations"):
                problems.append(f"manifest {g['manifest']['digest']}: annotations differ")
    elif "rootfs" in f:
        if got["format"] != "rootfs" or len(got["images"]) != 1:
            problems.append(f"format {got['format']}, {len(got['images'])} images")
        elif got["images"][0]["layers"][0]["digest"] != item["file_sha256"]:
            problems.append("rootfs layer digest is not the file's sha256")
    report(not problems, f"realworld inspect {name}", "; ".join(problems)[:600])
