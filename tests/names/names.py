#!/usr/bin/env python3
"""tests/names/names.py - what tests/names/run.sh reads from an OCI layout (python3 stdlib only).

  names.py find INSPECT_JSON DIR [images] [--before=OLD_INDEX_JSON]
      every name the source had (`.images[].tags` of `strata inspect --json SRC`; with `images`, only
      those of kind image) against DIR/index.json. One line per finding, tab-separated:
        found NAME REF KIND   NAME is in the layout: REF is the ref.name to give skopeo/umoci
        miss NAME WHY         NAME is not
        dup REF N             N index entries share the ref.name REF (umoci: "tag is ambiguous")
        rule REF WHY          the ref.name does not follow README's short-tag/full-name rule
        unpack REF            one ref.name per image manifest (umoci unpack it)
      --before: index.json entries found unchanged in OLD_INDEX_JSON stay as they were (not judged by the rule)
  names.py full INSPECT_JSON [images]
      the full names (NAME:TAG) of the source, one per line, as key(): no docker.io/, localhost/, library/
  names.py key            stdin to stdout: key() of each line
  names.py reach DIR      blobs reachable from index.json that are absent ("absent D") and blobs present
                          that nothing reaches ("orphan D")
"""
import json
import os
import sys

REF = "org.opencontainers.image.ref.name"
CTD = "io.containerd.image.name"
IMAGE_MT = ("application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json")
INDEX_MT = ("application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json")
CONFIG_MT = ("application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json")


def key(n):
    for p in ("docker.io/", "localhost/"):
        if n.startswith(p):
            n = n[len(p):]
            break
    if n.startswith("library/"):
        n = n[len("library/"):]
    return n


def is_full(n):
    """NAME:TAG (a bare tag has no colon; a digest reference is not a tag)"""
    return ":" in n and "@" not in n


def tag_of(n):
    return n.rsplit(":", 1)[1] if is_full(n) else n


def source_names(inspect, images_only):
    names = []
    for img in json.load(open(inspect)).get("images", []):
        if images_only and img.get("kind") != "image":
            continue
        for t in img.get("tags") or []:
            if t not in names:
                names.append(t)
    return names


def image_kinds(inspect):
    kinds = {}
    for img in json.load(open(inspect)).get("images", []):
        for t in img.get("tags") or []:
            if img.get("kind") == "image":
                kinds[t] = "image"
            else:
                kinds.setdefault(t, img.get("kind") or "?")
    return kinds


def blob(d, digest):
    return os.path.join(d, "blobs", *digest.split(":", 1))


def find(inspect, d, images_only, before=None):
    names = source_names(inspect, images_only)
    kinds = image_kinds(inspect)
    entries = json.load(open(os.path.join(d, "index.json"))).get("manifests") or []
    out = []
    refs = {}
    for e in entries:
        r = (e.get("annotations") or {}).get(REF)
        if r is not None:
            refs.setdefault(r, []).append(e)
    for r, es in refs.items():
        if len(es) > 1:
            out.append(("dup", r, str(len(es))))
    cnames = {}
    for e in entries:
        c = (e.get("annotations") or {}).get(CTD)
        if c is not None:
            cnames.setdefault(c, []).append((e.get("annotations") or {}).get(REF))
    for c, rs in cnames.items():
        if len(rs) > 1:
            out.append(("rule", c, "io.containerd.image.name listed %d times (ref.names %s)" % (len(rs), ", ".join(map(str, rs)))))
    srcset = set(names)
    image_refs = set()
    for n in names:
        hit = None
        if n in refs:
            hit = n
        elif is_full(n):
            for e in entries:
                a = e.get("annotations") or {}
                if CTD in a and key(a[CTD]) == key(n) and a.get(REF) is not None:
                    hit = a[REF]
                    break
        if hit is None:
            out.append(("miss", n, "no index.json entry has ref.name %r%s" % (
                n, " or io.containerd.image.name %s" % n if is_full(n) else "")))
        else:
            out.append(("found", n, hit, kinds.get(n, "?")))
            if kinds.get(n) == "image":
                image_refs.add(hit)
    # the rule: ref.name is the tag when no other entry uses it, the full name when one does
    # (or the source's own full ref.name, kept)
    tags_used = {}
    for e in entries:
        a = e.get("annotations") or {}
        for t in {tag_of(a[k]) for k in (REF, CTD) if k in a}:
            tags_used.setdefault(t, set()).add(a.get(CTD) or a.get(REF))
    # entries already in an existing layout stay as they were: the rule is for the ones written
    stay = []
    if before:
        stay = json.load(open(before)).get("manifests") or []
    for e in entries:
        a = e.get("annotations") or {}
        if CTD not in a or REF not in a or e in stay:
            continue
        c, r, t = a[CTD], a[REF], tag_of(a[CTD])
        shared = len(tags_used.get(t, ())) > 1
        if r == t and shared:
            out.append(("rule", r, "bare tag written for %s though other entries use tag %s too (%s)" % (
                c, t, ", ".join(sorted(tags_used[t] - {c})))))
        elif r != t and not shared and r not in srcset:
            out.append(("rule", r, "full name written for %s though the tag %s is free" % (c, t)))
        elif r != t and (not is_full(r) or key(r) != key(c) and r not in srcset):
            out.append(("rule", r, "ref.name %s names another image than io.containerd.image.name %s" % (r, c)))
    seen = set()
    for e in entries:
        r = (e.get("annotations") or {}).get(REF)
        if r not in image_refs or e.get("digest") in seen or len(refs.get(r, ())) != 1:
            continue
        if e.get("mediaType") not in IMAGE_MT:
            continue
        try:
            m = json.load(open(blob(d, e["digest"])))
        except (OSError, ValueError):
            continue
        if (m.get("config") or {}).get("mediaType") in CONFIG_MT:
            seen.add(e["digest"])
            out.append(("unpack", r))
    for o in out:
        print("\t".join(o))


def reach(d):
    todo = [e for e in json.load(open(os.path.join(d, "index.json"))).get("manifests") or []]
    want = set()
    while todo:
        e = todo.pop()
        dg = e.get("digest")
        if not dg or dg in want:
            continue
        want.add(dg)
        if e.get("mediaType") in IMAGE_MT + INDEX_MT:
            try:
                doc = json.load(open(blob(d, dg)))
            except (OSError, ValueError):
                continue
            todo += doc.get("manifests") or []
            todo += doc.get("layers") or []
            if doc.get("config"):
                todo.append(doc["config"])
    have = set()
    for alg in os.listdir(os.path.join(d, "blobs")):
        for h in os.listdir(os.path.join(d, "blobs", alg)):
            have.add(alg + ":" + h)
    for x in sorted(want - have):
        print("absent\t" + x)
    for x in sorted(have - want):
        print("orphan\t" + x)


def main():
    a = sys.argv[1:]
    if a[0] == "find":
        find(a[1], a[2], "images" in a[3:], next((x[len("--before="):] for x in a[3:] if x.startswith("--before=")), None))
    elif a[0] == "full":
        for n in source_names(a[1], len(a) > 2 and a[2] == "images"):
            if is_full(n):
                print(key(n))
    elif a[0] == "key":
        for line in sys.stdin:
            if line.strip():
                print(key(line.strip()))
    elif a[0] == "reach":
        reach(a[1])
    else:
        sys.exit("usage: names.py find|full|key|reach ...")


if __name__ == "__main__":
    main()
