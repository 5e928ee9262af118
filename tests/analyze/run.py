#!/usr/bin/env python3
"""tests/analyze/run.py STRATA OUTDIR - `strata analyze` against the truth.

OUTDIR is what make.py wrote.  For every image the truth is computed here, from the
layer tars themselves (read with Python's tarfile), following the definitions of
analyze/analyze.h and the brief; strata's output is only compared with it, never used
to compute it.  Also checked: --fail-on (exit 0/1, FAIL lines, JSON rules, bad syntax
exits 2), the text report fitting 100 columns, peak RSS on the 100k-file image, and
broken archives exiting like verify.

Prints one line per check: ok - / not ok - / skip - analyze ...; exits 0 (2 on usage).
"""
import gzip
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile

RSS_LIMIT_KIB = 128 * 1024
TOP = 10
LIST_MAX = 100

results = {"ok": 0, "not ok": 0, "skip": 0}


def report(status, what, reason=None):
    results[status] += 1
    line = "%s - analyze %s" % (status, what)
    if reason:
        line += ": " + reason
    print(line, flush=True)


def check(what, ok, reason):
    report("ok" if ok else "not ok", what, None if ok else reason)


def short(v, n=600):
    s = json.dumps(v, sort_keys=True, ensure_ascii=False) if not isinstance(v, str) else v
    return s if len(s) <= n else s[:n] + "..."


# ---- reading the archive ourselves ----

def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def decompress(b):
    if b[:2] == b"\x1f\x8b":
        return gzip.decompress(b)
    return b


KIND = {tarfile.REGTYPE: "file", tarfile.AREGTYPE: "file", tarfile.CONTTYPE: "file",
        tarfile.LNKTYPE: "hardlink", tarfile.SYMTYPE: "symlink", tarfile.CHRTYPE: "char",
        tarfile.BLKTYPE: "block", tarfile.DIRTYPE: "dir", tarfile.FIFOTYPE: "fifo"}
DBS = ("var/lib/dpkg/status", "lib/apk/db/installed")


def clean(name):
    p = name
    while p.startswith("./"):
        p = p[2:]
    return p.strip("/")


def layer_entries(tar_bytes):
    """Every entry of a layer tar: dicts with path, kind (file, hardlink, symlink, char,
    block, dir, fifo, other, whiteout, opaque), size, mode, uid, gid, link; data for
    package database files."""
    out = []
    with tarfile.open(fileobj=io.BytesIO(tar_bytes), mode="r:") as tf:
        for m in tf:
            path = clean(m.name)
            if path in ("", "."):
                continue
            kind = KIND.get(m.type, "other")
            d, _, base = path.rpartition("/")
            e = {"path": path, "kind": kind, "size": m.size if kind == "file" else 0,
                 "mode": m.mode & 0o7777, "uid": m.uid, "gid": m.gid, "link": m.linkname or None}
            if base == ".wh..wh..opq":
                e.update(kind="opaque", path=d, size=0)
            elif base.startswith(".wh..wh."):
                continue                      # AUFS bookkeeping
            elif base.startswith(".wh."):
                e.update(kind="whiteout", path=(d + "/" if d else "") + base[4:], size=0)
            if kind == "file" and e["kind"] == "file":
                e["sha256"] = hashlib.sha256(tf.extractfile(m).read()).hexdigest()
            if kind == "file" and e["kind"] == "file" and (path in DBS or path.startswith("var/lib/dpkg/status.d/")):
                e["data"] = tf.extractfile(m).read()
            out.append(e)
    return out


def read_archive(path):
    """[(image dict)] from a docker-archive: tags, config bytes, layers (stored, tar)."""
    with open(path, "rb") as f:
        raw = f.read()
    raw = decompress(raw)
    members = {}
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tf:
        for m in tf:
            if m.isfile():
                members[clean(m.name)] = tf.extractfile(m).read()
    manifest = json.loads(members["manifest.json"])
    images = []
    for ent in manifest:
        cfg_bytes = members[ent["Config"]]
        layers = []
        for lp in ent["Layers"]:
            stored = members[lp]
            layers.append({"member": lp, "stored": stored, "tar": decompress(stored)})
        images.append({"tags": ent.get("RepoTags") or [], "config_bytes": cfg_bytes,
                       "config": json.loads(cfg_bytes), "layers": layers})
    return images


# ---- package databases ----

def paragraphs(text):
    return [p for p in re.split(r"\n\s*\n", text) if p.strip()]


def dpkg_parse(data):
    """{name: version} of installed packages: Status exactly 'install ok installed'."""
    pkgs = {}
    for para in paragraphs(data.decode("utf-8", "replace")):
        fields = {}
        for line in para.split("\n"):
            if line[:1] in (" ", "\t") or ":" not in line:
                continue                      # continuation lines are not fields
            k, _, v = line.partition(":")
            fields[k] = v.strip()
        if "Package" in fields and fields.get("Status") == "install ok installed":
            pkgs[fields["Package"]] = fields.get("Version", "")
    return pkgs


def apk_parse(data):
    pkgs = {}
    for para in paragraphs(data.decode("utf-8", "replace")):
        name = ver = None
        for line in para.split("\n"):
            if line.startswith("P:"):
                name = line[2:]
            elif line.startswith("V:"):
                ver = line[2:]
        if name:
            pkgs[name] = ver or ""
    return pkgs


def delta(db, prev, cur):
    out = []
    for n, v in cur.items():
        if n not in prev:
            out.append((db, n, "added", None, v))
        elif prev[n] != v:
            out.append((db, n, "upgraded", prev[n], v))
    for n, v in prev.items():
        if n not in cur:
            out.append((db, n, "removed", v, None))
    return out


# ---- the truth ----

def truth(img):
    """Everything strata reports for one image, computed from the layer tars."""
    layers_e = [layer_entries(l["tar"]) for l in img["layers"]]
    merged = {}            # path -> [size, layer, is_dir]: the merged filesystem so far
    kids = {}              # path -> set of every path ever seen directly under it
    occ = {}               # path -> [count, cumulative, minimum]
    L = []

    def parent(p):
        return p.rpartition("/")[0]

    def put(p, node):
        q = p
        while q:
            kids.setdefault(parent(q), set()).add(q)
            q = parent(q)
        merged[p] = node

    def remove(p):
        """p leaves the merged view; a file's bytes are wasted by the layer that wrote it"""
        n = merged.pop(p)
        if not n[2]:
            L[n[1]]["bytes_wasted"] += n[0]
        return n

    def under(p):
        """every path in merged strictly under p ("" is the root)"""
        out, stack = [], [p]
        while stack:
            for c in kids.get(stack.pop(), ()):
                stack.append(c)
                if c in merged:
                    out.append(c)
        return out

    def occur(p, s):
        o = occ.setdefault(p, [0, 0, None])
        o[0] += 1
        o[1] += s
        o[2] = s if o[2] is None else min(o[2], s)

    dpkg_prev, apk_prev, statusd = {}, {}, {}
    regs = {}                                 # path -> sha256 of the regular files so far (hardlinks: their target's)
    for li, ents in enumerate(layers_e):
        r = {"added": 0, "modified": 0, "deleted": 0, "bytes_added": 0, "bytes_wasted": 0,
             "entries": dict.fromkeys(["file", "hardlink", "symlink", "char", "block", "dir", "fifo",
                                       "other", "whiteout", "opaque"], 0),
             "size": 0, "setuid": [], "setgid": [], "world_writable": [], "devices": [], "packages": []}
        L.append(r)
        files = []
        for e in ents:
            k, p = e["kind"], e["path"]
            r["entries"][k] += 1
            if k == "whiteout":
                # deletes what lower layers have at p, and under p; one occurrence of p
                # sized with all the (non-directory) bytes it deletes
                r["deleted"] += 1
                gone = 0
                for q in [q for q in ([p] if p in merged else []) + under(p) if merged[q][1] < li]:
                    n = remove(q)
                    gone += 0 if n[2] else n[0]
                occur(p, gone)
                continue
            if k == "opaque":
                for q in [q for q in under(p) if merged[q][1] < li]:
                    n = remove(q)
                    if not n[2]:
                        r["deleted"] += 1
                        occur(q, n[0])
                continue
            if k == "dir":
                if p in merged and not merged[p][2]:
                    remove(p)                 # a directory replacing a file (edge.tar)
                put(p, [0, li, True])
            else:
                if p in merged:
                    r["modified"] += 1
                    if merged[p][2]:
                        # a non-directory replacing a directory: what lower layers put under
                        # it goes too (docker's applier removes the whole directory),
                        # each non-directory counted as deleted by this layer
                        for q in [q for q in under(p) if merged[q][1] < li]:
                            if not remove(q)[2]:
                                r["deleted"] += 1
                    remove(p)
                else:
                    r["added"] += 1
                put(p, [e["size"], li, False])
                r["bytes_added"] += e["size"]
                occur(p, e["size"])
            if k == "file":
                r["size"] += e["size"]
                files.append(e)
                if e["mode"] & 0o4000:
                    r["setuid"].append(p)
                if e["mode"] & 0o2000:
                    r["setgid"].append(p)
            if k != "symlink" and e["mode"] & 0o002 and not (k == "dir" and e["mode"] & 0o1000):
                r["world_writable"].append(p)
            if k in ("char", "block"):
                r["devices"].append(p)
        # largest regular files
        r["largest"] = sorted(((e["size"], e["path"]) for e in files), key=lambda t: -t[0])
        # packages
        for e in ents:
            if e["kind"] != "file" or "data" not in e:
                continue
            if e["path"] == "var/lib/dpkg/status":
                cur = dpkg_parse(e["data"])
                r["packages"] += delta("dpkg", dpkg_prev, cur)
                dpkg_prev = cur
            elif e["path"] == "lib/apk/db/installed":
                cur = apk_parse(e["data"])
                r["packages"] += delta("apk", apk_prev, cur)
                apk_prev = cur
            elif e["path"].startswith("var/lib/dpkg/status.d/"):
                # distroless: each fragment describes installed packages; the set so far
                # is every fragment seen in this and earlier layers
                for n, v in dpkg_parse(e["data"]).items():
                    if n not in statusd:
                        r["packages"].append(("dpkg", n, "added", None, v))
                    elif statusd[n] != v:
                        r["packages"].append(("dpkg", n, "upgraded", statusd[n], v))
                    statusd[n] = v
        r["files"] = []
        for e in ents:
            h = e.get("sha256")
            if e["kind"] == "hardlink":
                h = regs.get(clean(e["link"]))
            if h and e["kind"] in ("file", "hardlink"):
                regs[e["path"]] = h
            r["files"].append({"path": e["path"], "type": e["kind"], "size": e["size"], "mode": "%04o" % e["mode"],
                               "uid": e["uid"], "gid": e["gid"], **({"link": e["link"]} if e["link"] else {}),
                               **({"sha256": h} if h and e["kind"] in ("file", "hardlink") else {})})

    size = sum(r["size"] for r in L)
    user_size = size - (L[0]["size"] if L else 0)
    cum = sum(o[1] for o in occ.values())
    mn = sum(o[2] for o in occ.values())
    wasted = sum(o[1] for o in occ.values() if o[0] > 1)
    # history: empty_layer lines go before the next layer
    hist, pending, li = [], [], 0
    for h in img["config"].get("history", []):
        cb = h.get("created_by", "")
        if h.get("empty_layer") or li >= len(L):
            pending.append(cb)
            continue
        hist.append((cb, pending))
        pending = []
        li += 1
    return {
        "layers": L,
        "size": size, "user_size": user_size, "wasted_bytes": wasted,
        "efficiency": mn / cum if cum else 1.0,
        "user_wasted_percent": wasted / user_size if user_size else 0.0,
        "files": sum(1 for n in merged.values() if not n[2]),
        "inefficiencies": {p: (o[0], o[1]) for p, o in occ.items() if o[0] > 1},
        "history": hist, "trailing": pending,
        "stored": [len(l["stored"]) for l in img["layers"]],
        "tar_size": [len(l["tar"]) for l in img["layers"]],
        "digests": [sha(l["stored"]) for l in img["layers"]],
        "diff_ids": img["config"]["rootfs"]["diff_ids"],
        "real_diff_ids": [sha(l["tar"]) for l in img["layers"]],
        "config": sha(img["config_bytes"]),
        "platform": "%s/%s" % (img["config"].get("os"), img["config"].get("architecture")),
        "tags": img["tags"],
    }


# ---- running strata ----

def run(argv, **kw):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    return p.returncode, p.stdout, p.stderr


def strata_json(strata, path, *extra):
    rc, out, err = run([strata, "analyze", "--json", "--files", *extra, path])
    try:
        doc = json.loads(out)
    except ValueError as ex:
        doc = None
        err += ("\nJSON: %s" % ex).encode()
    return rc, doc, err.decode("utf-8", "replace")


# ---- comparisons ----

def cmp_largest(t, got):
    """strata lists the TOP largest regular files, biggest first; among files of equal
    size any may be listed."""
    want = t[:TOP]
    gs = [(x.get("size"), x.get("path")) for x in got]
    if [s for s, _ in gs] != [s for s, _ in want]:
        return False, "sizes: expected %s, got %s" % ([s for s, _ in want], [s for s, _ in gs])
    for s, p in gs:
        if (s, p) not in t:
            return False, "%s (%s bytes) is not a regular file of that size in the layer" % (p, s)
    if len(set(p for _, p in gs)) != len(gs):
        return False, "a path is listed twice: %s" % short(gs)
    return True, ""


def cmp_list(name, want, got):
    if not isinstance(got, dict):
        return "%s missing" % name
    paths, count = got.get("paths"), got.get("count")
    if count != len(want):
        return "%s count: expected %d, got %s" % (name, len(want), count)
    if len(paths) != min(len(want), LIST_MAX):
        return "%s paths: expected %d listed, got %d" % (name, min(len(want), LIST_MAX), len(paths))
    if len(want) <= LIST_MAX and sorted(paths) != sorted(want):
        return "%s: expected %s, got %s" % (name, short(sorted(want)), short(sorted(paths)))
    if not set(paths) <= set(want) or len(set(paths)) != len(paths):
        return "%s: listed paths are not the layer's: %s" % (name, short(sorted(set(paths) - set(want))))
    return None


def compare_image(label, t, g):
    lay_t, lay_g = t["layers"], g.get("layers", [])
    # identity
    prob = []
    if g.get("tags") != t["tags"]:
        prob.append("tags: expected %s, got %s" % (t["tags"], g.get("tags")))
    if g.get("config") != t["config"]:
        prob.append("config: expected %s, got %s" % (t["config"], g.get("config")))
    if g.get("platform") != t["platform"]:
        prob.append("platform: expected %s, got %s" % (t["platform"], g.get("platform")))
    if len(lay_g) != len(lay_t):
        prob.append("layers: expected %d, got %d" % (len(lay_t), len(lay_g)))
    check("%s tags, config digest, platform, layer count" % label, not prob, "; ".join(prob))
    if len(lay_g) != len(lay_t):
        return
    # summary
    s = g.get("summary", {})
    prob = []
    for k, want in (("layers", len(lay_t)), ("size", t["size"]), ("user_size", t["user_size"]),
                    ("wasted_bytes", t["wasted_bytes"]), ("files", t["files"]),
                    ("stored_size", sum(t["stored"]))):
        if s.get(k) != want:
            prob.append("%s: expected %s, got %s" % (k, want, s.get(k)))
    for k in ("efficiency", "user_wasted_percent"):
        if not isinstance(s.get(k), (int, float)) or abs(s[k] - t[k]) > 1e-6 + 1e-12:
            prob.append("%s: expected %.6f, got %s" % (k, t[k], s.get(k)))
    check("%s summary (size %d, user_size %d, wasted %d, efficiency %.6f, user wasted %.6f, files %d)"
          % (label, t["size"], t["user_size"], t["wasted_bytes"], t["efficiency"], t["user_wasted_percent"],
             t["files"]), not prob, "; ".join(prob))
    # inefficiencies
    got = {}
    dup = []
    for x in g.get("inefficiencies", []):
        if x.get("path") in got:
            dup.append(x.get("path"))
        got[x.get("path")] = (x.get("count"), x.get("wasted_bytes"))
    want = t["inefficiencies"]
    diff = {p: {"expected": want.get(p), "got": got.get(p)} for p in set(want) | set(got) if want.get(p) != got.get(p)}
    check("%s inefficiencies (%d paths, count and cumulative bytes)" % (label, len(want)), not diff and not dup,
          "paths that differ: %s%s" % (short(diff), "; listed twice: %s" % dup if dup else ""))
    ineff = g.get("inefficiencies", [])
    order = [(x.get("wasted_bytes"), x.get("path")) for x in ineff]
    check("%s inefficiencies ordered by wasted bytes" % label,
          [w for w, _ in order] == sorted((w for w, _ in order), reverse=True), short(order))
    # history
    prob = []
    for i, (cb, empty) in enumerate(t["history"]):
        lg = lay_g[i]
        if lg.get("created_by") != cb:
            prob.append("layer %d created_by: expected %r, got %r" % (i + 1, cb, lg.get("created_by")))
        if lg.get("empty_history_before") != empty:
            prob.append("layer %d empty_history_before: expected %s, got %s" % (i + 1, empty, lg.get("empty_history_before")))
    if g.get("trailing_history") != t["trailing"]:
        prob.append("trailing_history: expected %s, got %s" % (t["trailing"], g.get("trailing_history")))
    check("%s history (created_by, empty layers before each, trailing)" % label, not prob, "; ".join(prob))
    # per layer
    for i, (lt, lg) in enumerate(zip(lay_t, lay_g)):
        ll = "%s layer %d" % (label, i + 1)
        prob = []
        for k, want in (("index", i + 1), ("digest", t["digests"][i]), ("diff_id", t["diff_ids"][i]),
                        ("stored_size", t["stored"][i]), ("tar_size", t["tar_size"][i]),
                        ("size", lt["size"]), ("present", True)):
            if lg.get(k) != want:
                prob.append("%s: expected %s, got %s" % (k, want, lg.get(k)))
        if t["diff_ids"][i] != t["real_diff_ids"][i]:
            prob.append("(generator bug: diff_id does not match the layer)")
        check("%s digest, diff_id, stored/tar size, size %d" % (ll, lt["size"]), not prob, "; ".join(prob))
        check("%s entries by type %s" % (ll, short({k: v for k, v in lt["entries"].items() if v})),
              lg.get("entries") == lt["entries"],
              "expected %s, got %s" % (short(lt["entries"]), short(lg.get("entries"))))
        want = {k: lt[k] for k in ("added", "modified", "deleted")}
        gotv = {k: lg.get(k) for k in want}
        check("%s added/modified/deleted %d/%d/%d" % (ll, want["added"], want["modified"], want["deleted"]),
              want == gotv, "expected %s, got %s" % (want, gotv))
        want = {k: lt[k] for k in ("bytes_added", "bytes_wasted")}
        gotv = {k: lg.get(k) for k in want}
        check("%s bytes_added %d, bytes_wasted %d" % (ll, want["bytes_added"], want["bytes_wasted"]),
              want == gotv, "expected %s, got %s" % (want, gotv))
        ok, why = cmp_largest(lt["largest"], lg.get("largest", []))
        check("%s largest files" % ll, ok, why)
        prob = [x for x in (cmp_list(k, lt[k], lg.get(k)) for k in ("setuid", "setgid", "world_writable", "devices")) if x]
        check("%s setuid %d, setgid %d, world-writable %d, devices %d" % (
            ll, len(lt["setuid"]), len(lt["setgid"]), len(lt["world_writable"]), len(lt["devices"])),
            not prob, "; ".join(prob))
        want = sorted(lt["packages"], key=str)
        gotp = sorted(((x.get("db"), x.get("name"), x.get("change"), x.get("from"), x.get("to"))
                       for x in lg.get("packages", [])), key=str)
        check("%s packages (%d changes)" % (ll, len(want)), want == gotp,
              "missing %s; unexpected %s" % (short([x for x in want if x not in gotp]),
                                             short([x for x in gotp if x not in want])))
        gf = lg.get("files")
        if gf != lt["files"]:
            if gf is None:
                why = "no files list"
            elif len(gf) != len(lt["files"]):
                why = "expected %d entries, got %d" % (len(lt["files"]), len(gf))
            else:
                j = next(j for j in range(len(gf)) if gf[j] != lt["files"][j])
                why = "entry %d: expected %s, got %s" % (j, short(lt["files"][j]), short(gf[j]))
        check("%s --files list (%d entries)" % (ll, len(lt["files"])), gf == lt["files"], "" if gf == lt["files"] else why)


def self_check(outdir, name, truths):
    """run.py's model against the numbers make.py's author worked out by hand."""
    try:
        with open(os.path.join(outdir, "expect.json")) as f:
            exp = json.load(f).get(name)
    except (OSError, ValueError) as ex:
        report("skip", "%s truth model self-check" % name, str(ex))
        return
    if not exp:
        return
    prob = []
    t = truths[0]
    for k in ("deleted", "modified", "bytes_wasted"):
        if k in exp and [l[k] for l in t["layers"]] != exp[k]:
            prob.append("%s: hand %s, model %s" % (k, exp[k], [l[k] for l in t["layers"]]))
    if "files" in exp and t["files"] != exp["files"]:
        prob.append("files: hand %s, model %s" % (exp["files"], t["files"]))
    if "inefficiencies" in exp:
        want = {p: tuple(v) for p, v in exp["inefficiencies"].items()}
        if t["inefficiencies"] != want:
            prob.append("inefficiencies: hand %s, model %s" % (short(want), short(t["inefficiencies"])))
    for ii, pk in enumerate(exp.get("packages", [])):
        got = [sorted("%s %s %s" % (x[0], x[2], x[1]) for x in l["packages"]) for l in truths[ii]["layers"]]
        if got != pk:
            prob.append("image %d packages: hand %s, model %s" % (ii, pk, got))
    check("%s truth model matches the numbers worked out by hand" % name, not prob, "; ".join(prob))


# ---- other checks ----

def fmt_num(x):
    return ("%.9f" % x).rstrip("0").rstrip(".")


def failon_checks(strata, path, t):
    name = os.path.basename(path)
    E, W, P = t["efficiency"], t["wasted_bytes"], t["user_wasted_percent"]

    def text(rules):
        rc, out, err = run([strata, "analyze", "--fail-on", rules, path])
        return rc, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")

    rc, out, err = run([strata, "analyze", path])
    check("--fail-on: no rules, %s exits 0" % name, rc == 0, "exit %d: %s" % (rc, err.strip()))
    cases = [
        # (rules, failing rule names)
        ("lowestEfficiency=%s" % fmt_num(E - 0.01), []),
        ("lowestEfficiency=%s" % fmt_num(E + 0.01), ["lowestEfficiency"]),
        ("lowestEfficiency=0", []),
        ("highestWastedBytes=%d" % W, []),
        ("highestWastedBytes=%d" % (W - 1), ["highestWastedBytes"]),
        ("highestWastedBytes=%dB" % W, []),
        # W lies between x*1000^k and x*1024^k: the SI unit fails, the IEC one passes
        ("highestWastedBytes=%skB" % fmt_num(W / 1.02e3), ["highestWastedBytes"]),
        ("highestWastedBytes=%sKiB" % fmt_num(W / 1.02e3), []),
        ("highestWastedBytes=%sMB" % fmt_num(W / 1.02e6), ["highestWastedBytes"]),
        ("highestWastedBytes=%sMiB" % fmt_num(W / 1.02e6), []),
        ("highestWastedBytes=%sGB" % fmt_num(W / 1.02e9), ["highestWastedBytes"]),
        ("highestWastedBytes=%sGiB" % fmt_num(W / 1.02e9), []),
        ("highestWastedBytes=20MB", []),
        ("highestUserWastedPercent=%s" % fmt_num(P + 0.01), []),
        ("highestUserWastedPercent=%s" % fmt_num(P - 0.01), ["highestUserWastedPercent"]),
        ("lowestEfficiency=%s,highestWastedBytes=20MB,highestUserWastedPercent=%s"
         % (fmt_num(E - 0.01), fmt_num(P - 0.01)), ["highestUserWastedPercent"]),
        ("lowestEfficiency=%s,highestWastedBytes=%d,highestUserWastedPercent=%s"
         % (fmt_num(E + 0.01), W - 1, fmt_num(P - 0.01)),
         ["lowestEfficiency", "highestWastedBytes", "highestUserWastedPercent"]),
    ]
    all_rules = ("lowestEfficiency", "highestWastedBytes", "highestUserWastedPercent")
    for rules, failing in cases:
        rc, out, err = text(rules)
        want_rc = 1 if failing else 0
        prob = []
        if rc != want_rc:
            prob.append("exit %d, expected %d (stderr: %s)" % (rc, want_rc, err.strip()[:200]))
        named = [r for r in all_rules if re.search(r"^\s*FAIL\b.*\b%s\b" % r, out, re.M)]
        if named != failing:
            prob.append("FAIL lines name %s, expected %s" % (named, failing))
        for r in all_rules:
            if r in rules and r not in failing and not re.search(r"^\s*PASS\b.*\b%s\b" % r, out, re.M):
                prob.append("no PASS line for %s" % r)
        check("--fail-on %s: exit %d%s" % (rules, want_rc, ", FAIL " + "+".join(failing) if failing else ""),
              not prob, "; ".join(prob))
    # JSON carries the rules too
    rules = "lowestEfficiency=%s,highestWastedBytes=%d,highestUserWastedPercent=%s" % (
        fmt_num(E + 0.01), W, fmt_num(P + 0.01))
    rc, out, err = run([strata, "analyze", "--json", "--fail-on", rules, path])
    prob = []
    try:
        got = {x["rule"]: x for x in json.loads(out)["images"][0]["rules"]}
        want = {"lowestEfficiency": (E + 0.01, E, False), "highestWastedBytes": (W, W, True),
                "highestUserWastedPercent": (P + 0.01, P, True)}
        for r, (lim, val, ok) in want.items():
            x = got.get(r)
            if not x:
                prob.append("%s missing" % r)
            elif abs(x["limit"] - float(fmt_num(lim))) > 1e-9 or abs(x["value"] - val) > 1e-6 or x["pass"] is not ok:
                prob.append("%s: expected limit %s value %s pass %s, got %s" % (r, fmt_num(lim), val, ok, short(x)))
    except (ValueError, KeyError, IndexError, TypeError) as ex:
        prob.append("bad JSON: %s" % ex)
    if rc != 1:
        prob.append("exit %d, expected 1" % rc)
    check("--fail-on with --json: rules array (limit, value, pass) and exit 1", not prob, "; ".join(prob))
    # accepted spellings (all pass on this image)
    for rules in ("highestWastedBytes=1GB", "highestWastedBytes=1gb", "highestWastedBytes=1GiB",
                  "highestWastedBytes=0.5GB", "highestWastedBytes=1000000kB", "highestWastedBytes=999999999",
                  "lowestEfficiency=0.5,highestUserWastedPercent=10"):
        rc, out, err = text(rules)
        check("--fail-on %s is accepted and passes" % rules, rc == 0, "exit %d: %s" % (rc, err.strip()[:200]))
    # bad syntax: usage error, exit 2
    for rules in ("lowestEfficiency", "lowestEfficiency=abc", "lowestEfficiency=1.5", "lowestEfficiency=-0.1",
                  "lowestEfficiency=0.9;highestWastedBytes=1MB", "highestWastedBytes=20XB",
                  "highestWastedBytes=-5MB", "highestWastedBytes=", "highestWastedBytes=MB",
                  "highestUserWastedPercent=x", "highestUserWastedPercent=-1", "noSuchRule=1",
                  "lowestefficiency=0.9", "lowestEfficiency=nan", "highestWastedBytes=nan",
                  "highestUserWastedPercent=nan"):
        rc, out, err = text(rules)
        check("--fail-on %r is a usage error (exit 2)" % rules, rc == 2,
              "exit %d (stdout %d bytes; stderr: %s)" % (rc, len(out), err.strip()[:200]))


def big_sizes_check(strata, outdir):
    """Sizes past 4 GiB in the efficiency figures: a rootfs tar, sparse on disk, with 'big' (5 GiB
    and 123 bytes) written twice (the second time 1 byte), 'big2' (as large) once and 'small' (5
    bytes): a path seen once keeps a 32-bit size unless it does not fit (analyze/account.c)."""
    g = 5 * 1024 ** 3 + 123
    path = os.path.join(outdir, "big-sizes.tar")
    with open(path, "wb") as f:
        for name, size in (("big", g), ("big", 1), ("big2", g), ("small", 5)):
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode = size, 0o644
            f.write(ti.tobuf(format=tarfile.GNU_FORMAT))
            if size > 512:
                f.seek(size, 1)  # a hole: zeros, no disk
            else:
                f.write(b"x" * size)
            f.write(b"\0" * ((512 - size % 512) % 512))
        f.write(b"\0" * 1024)
        f.truncate()
    rc, out, err = run([strata, "analyze", "--json", "rootfs:" + path])
    try:
        im = json.loads(out)["images"][0]
        got = (im["summary"]["files"], im["summary"]["size"], im["summary"]["wasted_bytes"],
               im["summary"]["efficiency"], im["inefficiencies"])
    except (ValueError, TypeError, KeyError, IndexError):
        got = None
    want = (3, 2 * g + 1 + 5, g + 1, (1 + g + 5) / (g + 1 + g + 5), [{"path": "big", "count": 2, "wasted_bytes": g + 1}])
    check("files over 4 GiB in the efficiency figures (a path seen once and twice)",
          rc == 0 and got is not None and got[:3] == want[:3] and abs(got[3] - want[3]) < 1e-9 and got[4] == want[4],
          "exit %d, got %s, want %s; %s" % (rc, short(got), short(want), short(err.decode("utf-8", "replace"))))
    os.remove(path)


def columns_check(strata, path, extra=()):
    rc, out, err = run([strata, "analyze", *extra, path])
    lines = out.decode("utf-8", "replace").split("\n")
    long_ = [(len(l), l) for l in lines if len(l) > 100]
    what = "text report of %s%s fits 100 columns" % (os.path.basename(path), " " + " ".join(extra) if extra else "")
    if rc not in (0, 1):
        check(what, False, "exit %d: %s" % (rc, err.decode()[:200]))
        return
    kinds = {}
    for n, l in long_:                        # one example per kind of line
        kinds.setdefault(re.sub(r"[0-9.]+", "N", l.strip())[:12], (n, l))
    check(what, not long_, "%d lines longer than 100: %s" % (
        len(long_), "; ".join("%d chars: %r" % (n, l[:150]) for n, l in list(kinds.values())[:4])))


def rss_checks(strata, path):
    """Peak RSS with /usr/bin/time; returns the seconds of the text run (or None)."""
    base = None
    tmp = tempfile.mkdtemp(prefix="strata-rss-")
    for label, extra in (("text", []), ("--json", ["--json"]), ("--json --files", ["--json", "--files"])):
        tf = os.path.join(tmp, "time")
        argv = ["/usr/bin/time", "-f", "%M %e", "-o", tf, strata, "analyze", *extra, path]
        p = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            with open(tf) as f:
                kib, secs = f.read().split()[-2:]
            kib = int(kib)
        except (OSError, ValueError):
            report("skip", "peak RSS (%s) on %s" % (label, os.path.basename(path)), "no figure from /usr/bin/time")
            continue
        if label == "text":
            base = float(secs)
        check("peak RSS of analyze %s on %s (100k files): %.1f MiB (%d KiB), %s s, limit 128 MiB"
              % (label, os.path.basename(path), kib / 1024, kib, secs),
              p.returncode == 0 and kib < RSS_LIMIT_KIB,
              "exit %d, %d KiB >= %d KiB" % (p.returncode, kib, RSS_LIMIT_KIB) if p.returncode == 0
              else "exit %d: %s" % (p.returncode, p.stderr.decode()[:200]))
    return base


def whiteout_time_check(strata, path, base):
    """100k files and 5,000 whiteouts of single files should cost about what the 100k
    files alone cost (base seconds): the limit is 5 times that, at least 2 s."""
    limit = max(2.0, 5 * (base or 0.4))
    import time
    t0 = time.monotonic()
    rc, out, err = run([strata, "analyze", path])
    secs = time.monotonic() - t0
    check("analyze of %s (100k files, then 5,000 whiteouts) in %.1f s, limit %.1f s (5 x the %.2f s "
          "of the 100k files alone)" % (os.path.basename(path), secs, limit, base or 0.4),
          rc == 0 and secs < limit,
          "exit %d, %.1f s: each whiteout scans the whole merged view (5,000 x 100,000 path compares)"
          % (rc, secs))


def broken_checks(strata, path):
    name = os.path.basename(path)
    v, _, verr = run([strata, "verify", path])
    for extra in ([], ["--json"]):
        a, out, aerr = run([strata, "analyze", *extra, path])
        check("broken archive %s%s exits %d like verify" % (name, " with --json" if extra else "", v),
              a == v and a in (1, 4),
              "analyze exit %d, verify exit %d (analyze stderr: %s)" % (a, v, aerr.decode()[:200].strip()))


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: run.py STRATA OUTDIR\n")
        return 2
    strata, outdir = os.path.abspath(sys.argv[1]), sys.argv[2]
    try:
        with open(os.path.join(outdir, "index.json")) as f:
            index = json.load(f)
    except (OSError, ValueError) as ex:
        sys.stderr.write("run.py: %s (run make.py OUTDIR first)\n" % ex)
        return 2
    if not os.access(strata, os.X_OK):
        sys.stderr.write("run.py: %s is not executable\n" % strata)
        return 2
    for name in index["images"]:
        path = os.path.join(outdir, name)
        imgs = read_archive(path)
        truths = [truth(im) for im in imgs]
        self_check(outdir, name, truths)
        rc, doc, err = strata_json(strata, path)
        ok = rc == 0 and doc is not None and len(doc.get("images", [])) == len(truths)
        check("%s --json --files exits 0 with %d image(s)" % (name, len(truths)), ok,
              "exit %d, %s images: %s" % (rc, len(doc.get("images", [])) if doc else "no",
                                          err.strip()[:300]))
        if doc is None:
            continue
        if doc.get("schema") != 1 or doc.get("format") != "docker-archive":
            check("%s schema 1, format docker-archive" % name, False,
                  "schema %s format %s" % (doc.get("schema"), doc.get("format")))
        for i, (t, g) in enumerate(zip(truths, doc.get("images", []))):
            compare_image("%s image %d" % (name, i), t, g)
        if name in index.get("columns", []):
            columns_check(strata, path)
        if name == index.get("failon"):
            rc2, doc2, _ = strata_json(strata, path)
            check("%s --json --files is the same on a second run" % name, doc2 == doc, "the two reports differ")
            with open(path, "rb") as f:
                p = subprocess.run([strata, "analyze", "--json", "--files", "-"], stdin=f,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            try:
                doc3 = json.loads(p.stdout)
                doc3["source"] = doc.get("source")
                # the input is stdin, its bytes (size, sha256) those of the file
                i3, i1 = doc3.get("input", {}), doc.get("input", {})
                if i3.get("kind") == "stdin" and i1.get("kind") == "file" and \
                        (i3.get("size"), i3.get("sha256")) == (i1.get("size"), i1.get("sha256")):
                    doc3["input"] = i1
            except ValueError:
                doc3 = None
            check("%s read from stdin (-) gives the same report" % name, p.returncode == 0 and doc3 == doc,
                  "exit %d, %s" % (p.returncode, "reports differ" if doc3 else "no JSON"))
            failon_checks(strata, path, truths[0])
            columns_check(strata, path, ["--fail-on", "lowestEfficiency=0.99,highestWastedBytes=1kB"])
    base = rss_checks(strata, os.path.join(outdir, index["many"]))
    if index.get("many_whiteouts"):
        whiteout_time_check(strata, os.path.join(outdir, index["many_whiteouts"]), base)
    for name in index["broken"]:
        broken_checks(strata, os.path.join(outdir, name))
    big_sizes_check(strata, outdir)
    sys.stderr.write("run.py: %d ok, %d not ok, %d skipped\n" % (results["ok"], results["not ok"], results["skip"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
