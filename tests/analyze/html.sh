#!/bin/bash
# tests/analyze/html.sh STRATA OUTDIR - the HTML report of `strata analyze`.
#
# Writes OUTDIR/analyze-report.html (of OUTDIR/main.tar, made by make.py), checks that it
# references nothing outside itself, that it agrees with the JSON report (one chart bar and
# one table row per layer, a row per wasted path, largest file, package change and
# security entry, paths escaped as text), then opens it in Debian's headless chromium:
# no console errors, the DOM after the scripts ran, the sortable tables really sorting
# (in a copy with a small test script added), the file tree (rows against the --files lists,
# each layer's view and changes, the path filter, the cut on the 100k-file image), the
# print to PDF OUTDIR/analyze-report.pdf and a screenshot OUTDIR/analyze-report.png.
# A two-image report (pair.tar) must keep its element ids unique.
# One line per check: ok - / not ok - / skip - analyze ...; exits 0 (2 on usage).
set -u
if [ $# -ne 2 ]; then
	echo "usage: html.sh STRATA OUTDIR" >&2
	exit 2
fi
strata=$1
out=$2
img=$out/main.tar
pair=$out/pair.tar
if [ ! -x "$strata" ] || [ ! -f "$img" ]; then
	echo "html.sh: need an executable STRATA and OUTDIR/main.tar (run make.py OUTDIR)" >&2
	exit 2
fi
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
html=$out/analyze-report.html

ok() { echo "ok - analyze html $1"; }
nok() { echo "not ok - analyze html $1: $2"; }
skip() { echo "skip - analyze html $1: $2"; }

# ---- the report itself ----
if "$strata" analyze --format html -o "$html" "$img" 2> "$work/err" && [ -s "$html" ]; then
	ok "--format html -o writes $(wc -c < "$html") bytes"
else
	nok "--format html -o writes the report" "exit or empty file: $(head -c 300 "$work/err")"
	exit 0
fi
"$strata" analyze --json "$img" > "$work/report.json" 2> /dev/null

# static checks and agreement with the JSON report (python3 stdlib)
python3 - "$html" "$work/report.json" <<'EOF'
import html.parser, json, re, sys

raw = open(sys.argv[1], encoding="utf-8").read()
rep = json.load(open(sys.argv[2]))["images"][0]


def res(ok, what, why):
    print(("ok - analyze html %s" % what) if ok else ("not ok - analyze html %s: %s" % (what, why)))


class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.attrs, self.stack, self.tables = [], [], [], {}
        self.table, self.row, self.cell, self.bars, self.svg_chart = None, None, None, 0, 0
        self.codes, self.incode = [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        self.attrs += [(tag, k, v) for k, v in attrs]
        if tag == "svg" and "chart" in (a.get("class") or "").split():
            self.svg_chart += 1
        if tag == "g" and a.get("class") == "bar":
            self.bars += 1
        if tag == "table":
            self.table = re.sub(r"-0$", "", a.get("id") or "")  # image 0's tables
            self.tables[self.table] = []
        if tag == "tr" and self.table is not None:
            self.row = []
        if tag in ("td", "th") and self.row is not None:
            self.cell = ""
        if tag == "code":
            self.incode = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.row is not None and self.cell is not None:
            self.row.append((tag, self.cell))
            self.cell = None
        if tag == "tr" and self.row is not None:
            if self.row and self.row[0][0] == "td":
                self.tables[self.table].append([c for _, c in self.row])
            self.row = None
        if tag == "table":
            self.table = None
        if tag == "code" and self.incode is not None:
            self.codes.append(self.incode)
            self.incode = None

    def handle_data(self, d):
        if self.cell is not None:
            self.cell += d
        if self.incode is not None:
            self.incode += d


p = P()
p.feed(raw)
p.close()

# nothing external: no URL but the SVG namespace name, no src/href, no fetching elements
urls = [m.group(0) for m in re.finditer(r"(?i)\b(?:https?|ftp|file|wss?):/{1,3}[^\s\"'<>)]*|\bdata:[a-z-]+/[a-z0-9.+-]+[;,]", raw)]
urls = [u for u in urls if u != "http://www.w3.org/2000/svg"]
res(not urls, "references no URL (only the SVG namespace name %s)" % "http://www.w3.org/2000/svg", "found %s" % urls[:5])
refs = [(t, k, v) for t, k, v in p.attrs if k in ("src", "href", "xlink:href", "srcset", "action", "data", "poster", "background")]
fetching = sorted(set(t for t in p.tags if t in ("link", "img", "iframe", "object", "embed", "audio", "video", "source", "base", "frame")))
css = re.findall(r"(?i)url\(|@import", raw)
res(not refs and not fetching and not css, "loads no other file (no src=/href=, <link>, <img>, url(), @import)",
    "attributes %s, elements %s, css %s" % (refs[:5], fetching, css[:3]))

layers = rep["layers"]
res(p.svg_chart == 1 and p.bars == len(layers), "one <svg class=\"chart\"> with one bar per layer (%d)" % len(layers),
    "%d charts, %d bars" % (p.svg_chart, p.bars))
want_rows = {
    "layers": len(layers),
    "wasted": len(rep["inefficiencies"]),
    "largest": sum(len(l["largest"]) for l in layers),
    "packages": sum(len(l["packages"]) for l in layers),
    "security": sum(len(l[k]["paths"]) for l in layers for k in ("setuid", "setgid", "world_writable", "devices")),
}
for tid, n in want_rows.items():
    got = len(p.tables[tid]) if tid in p.tables else None
    res(got == n, "table #%s has %d rows, as the JSON report" % (tid, n), "got %s" % got)
if "layers" in p.tables and len(p.tables["layers"]) == len(layers):
    prob = []
    for row, l in zip(p.tables["layers"], layers):
        if [row[0], row[3], row[4], row[5]] != [str(l["index"]), str(l["added"]), str(l["modified"]), str(l["deleted"])]:
            prob.append("row %s: %s vs %s" % (row[0], row[3:6], [l["added"], l["modified"], l["deleted"]]))
        if row[7] != l["created_by"] or row[8] != l["digest"]:
            prob.append("row %s: created by / digest differ" % row[0])
    res(not prob, "layers table: added/modified/deleted, created by and digest as in JSON", "; ".join(prob))
if "wasted" in p.tables:
    got = sorted((r[2], r[0]) for r in p.tables["wasted"])
    want = sorted((x["path"], str(x["count"])) for x in rep["inefficiencies"])
    res(got == want, "wasted table paths and counts as in JSON", "got %s, want %s" % (got[:3], want[:3]))
pk = sorted(tuple(r[1:]) for r in p.tables.get("packages", []))
want = sorted((x["db"], x["name"], x["change"], x["from"] or "", x["to"] or "") for l in layers for x in l["packages"])
res(pk == want, "packages table as in JSON", "got %s, want %s" % (pk[:4], want[:4]))
odd = 'usr/share/doc/<b>x&y"</b>.txt'
res(odd in p.codes, "a path with <, &, \" is shown as text, not markup", "no <code> holds %r" % odd)
EOF

# the file tree: one row per path, the final image's non-directories as the JSON report counts
# them, each row's colour the layer of its last add/modify, and per layer the rows marked
# added/modified as the layers table counts them
"$strata" analyze --json --files "$img" > "$work/files.json" 2> /dev/null
python3 - "$html" "$work/files.json" <<'EOF'
import html.parser, json, sys
raw = open(sys.argv[1], encoding="utf-8").read()
rep = json.load(open(sys.argv[2]))["images"][0]


def res(ok, what, why):
    print(("ok - analyze html %s" % what) if ok else ("not ok - analyze html %s: %s" % (what, why)))


class T(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.rows, self.intree = [], 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "div" and a.get("id") == "tree-0":
            self.intree = 1
        if self.intree and tag in ("div", "details") and "data-p" in a:
            self.rows.append((tag, a))


t = T()
t.feed(raw)
rows = t.rows
res(t.intree and rows, "file tree #tree-0 with %d rows" % len(rows), "no tree or no rows")
final = [a for tag, a in rows if tag == "div" and "gone" not in a["class"].split()]
want = rep["summary"]["files"]
res(len(final) == want, "file tree: %d non-directories in the final image, as summary.files" % want, "got %d" % len(final))
paths = [a["data-p"] for _, a in rows]
res(len(set(paths)) == len(paths), "file tree: each path once", "duplicates %s" % [p for p in paths if paths.count(p) > 1][:3])
listed = set(f["path"] for l in rep["layers"] for f in l["files"])
missing = sorted(listed - set(paths))
res(not missing, "file tree: every path of every layer's --files list is a row (%d)" % len(listed), "missing %s" % missing[:5])
bad = []
for tag, a in rows:
    ev = [(int(x[:-1]), x[-1]) for x in a["data-e"].split()]
    cls = a["class"].split()
    last = [l for l, k in ev if k in "am"]
    if "implied" in cls:
        if ev or "L-1" not in cls:
            bad.append("%s implied with events %s" % (a["data-p"], a["data-e"]))
    elif "gone" not in cls and tag == "div" and ("L%d" % (last[-1] - 1) not in cls):
        bad.append("%s: class %s, events %s" % (a["data-p"], a["class"], a["data-e"]))
    if tag == "div" and ("gone" in cls) != bool(ev and ev[-1][1] == "d"):
        bad.append("%s: gone %s, events %s" % (a["data-p"], "gone" in cls, a["data-e"]))
res(not bad, "file tree: colour = layer of the last add/modify, deleted rows hidden in the final view", "; ".join(bad[:4]))
prob = []
for l in rep["layers"]:
    k = l["index"]
    n = sum(1 for tag, a in rows if tag == "div" for x in a["data-e"].split() if int(x[:-1]) == k and x[-1] in "am")
    if n != l["added"] + l["modified"]:
        prob.append("layer %d: %d marked, added+modified %d" % (k, n, l["added"] + l["modified"]))
res(not prob, "file tree: per layer, rows marked added/modified = the layer's added + modified", "; ".join(prob))
res('id="dirs-0"' in raw and "@media print" in raw and ".tree,.tree-ui,.screen-only{display:none}" in raw,
    "largest-directories table and print styles (tree and controls not printed)", "missing")
EOF

# a tree larger than the cap: cut, and the report says so
many=$(python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['many'])" "$out/index.json" 2> /dev/null)
if [ -n "$many" ] && "$strata" analyze --format html -o "$work/many.html" "$out/$many" 2> /dev/null; then
	python3 - "$work/many.html" <<'EOF'
import re, sys
raw = open(sys.argv[1], encoding="utf-8").read()
rows = len(re.findall(r'<(?:div|details) class="[^"]*" data-p=', raw))
cut = re.search(r'id="tree-0-cut">Cut: (\d+) of (\d+) paths shown \(at most (\d+),', raw)
ok = cut and rows == int(cut.group(1)) == int(cut.group(3)) and int(cut.group(2)) > rows and len(raw) < 16 << 20
print(("ok - analyze html 100k-file image: tree cut at %s of %s paths and says so; file %d bytes (< 16 MiB)"
       % (cut.group(1), cut.group(2), len(raw))) if ok else
      "not ok - analyze html 100k-file image: tree cut and said: %d rows, cut note %s, %d bytes"
      % (rows, cut.group(0) if cut else None, len(raw)))
EOF
else
	nok "100k-file image tree cut" "no 'many' image in $out/index.json or analyze failed"
fi

# a two-image report: ids must stay unique
if "$strata" analyze --format html -o "$work/pair.html" "$pair" 2> /dev/null; then
	python3 - "$work/pair.html" <<'EOF'
import collections, re, sys
raw = open(sys.argv[1], encoding="utf-8").read()
ids = collections.Counter(re.findall(r'\sid="([^"]*)"', raw))
dup = sorted(k for k, n in ids.items() if n > 1)
charts = raw.count('<svg class="chart"')
print("ok - analyze html two-image report: 2 charts, element ids unique" if not dup and charts == 2 else
      "not ok - analyze html two-image report: 2 charts, element ids unique: %d charts; ids used more than once: %s"
      % (charts, ", ".join("%s (%d times)" % (k, ids[k]) for k in dup)))
EOF
else
	nok "two-image report" "analyze --format html of $pair failed"
fi

# ---- chromium ----
chromium=
for c in /usr/bin/chromium /usr/bin/chromium-browser; do
	[ -x "$c" ] && chromium=$c && break
done
if [ -z "$chromium" ] && [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y chromium > "$work/apt.log" 2>&1 ||
		{ apt-get update > /dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium > "$work/apt.log" 2>&1; }
	[ -x /usr/bin/chromium ] && chromium=/usr/bin/chromium
fi
if [ -z "$chromium" ]; then
	for what in "no console errors in chromium" "DOM after scripts: chart and tables" \
		"sortable tables sort" "file tree in a layer's view, filtered" "print to PDF" "screenshot"; do
		skip "$what" "chromium is not installed and could not be installed"
	done
	exit 0
fi

browse() {  # browse URL ARGS...: headless chromium, stdout = what it dumps, stderr to $work/chromium.err
	local url=$1
	shift
	timeout 90 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--disable-extensions --user-data-dir="$(mktemp -d -p "$work")" \
		--enable-logging=stderr --v=0 "$@" "$url" 2>> "$work/chromium.err"
}

: > "$work/chromium.err"
if browse "file://$html" --dump-dom > "$work/dom.html" && [ -s "$work/dom.html" ]; then
	console=$(grep -E ':CONSOLE[:(]|Uncaught' "$work/chromium.err" | head -5)
	if [ -z "$console" ]; then
		ok "no console errors in chromium"
	else
		nok "no console errors in chromium" "$console"
	fi
	python3 - "$work/dom.html" "$work/report.json" <<'EOF'
import json, re, sys
dom = open(sys.argv[1], encoding="utf-8").read()
n = len(json.load(open(sys.argv[2]))["images"][0]["layers"])
bars = dom.count('<g class="bar">')
tables = [t for t in ("layers", "wasted", "largest", "packages", "security", "dirs") if not re.search(r'<table[^>]*\sid="%s-0"' % t, dom)]
if not re.search(r'<div class="tree[^"]*" id="tree-0"', dom):
    tables.append("file tree #tree-0")
ok = '<svg class="chart"' in dom and bars == n and not tables
print("ok - analyze html DOM after scripts: <svg class=\"chart\"> with %d bars, tables layers, wasted, largest, packages, security, dirs, file tree" % n
      if ok else "not ok - analyze html DOM after scripts: chart and tables: %d bars (want %d), missing tables %s" % (bars, n, tables))
EOF
else
	nok "chromium --dump-dom" "exit or empty output: $(grep -v dbus "$work/chromium.err" | tail -3)"
fi

# the sortable tables, exercised in a copy with a test script
python3 - "$html" "$work/test.html" <<'EOF'
import sys
raw = open(sys.argv[1], encoding="utf-8").read()
catch = "<script>window.__errs=[];window.addEventListener('error',function(e){window.__errs.push(String(e.message))});</script>"
test = r"""<script>(function(){
var out={errors:window.__errs,checks:[]};
function col(t,i,num){return Array.prototype.map.call(document.getElementById(t+"-0").tBodies[0].rows,function(r){
  var c=r.cells[i];return num?parseFloat(c.dataset.v||c.textContent):c.textContent;});}
function sorted(a,desc){for(var i=1;i<a.length;i++){if(desc?a[i-1]<a[i]:a[i-1]>a[i])return false;}return true;}
try{
  [["layers",3,true],["layers",6,true],["wasted",1,true],["largest",1,true],["largest",2,false]].forEach(function(c){
    var th=document.getElementById(c[0]+"-0").tHead.rows[0].cells[c[1]];
    th.click();var a=col(c[0],c[1],c[2]);th.click();var d=col(c[0],c[1],c[2]);
    out.checks.push([c[0]+" column "+c[1],sorted(a,false)&&sorted(d,true),a.slice(0,6).join(" ")+" / "+d.slice(0,6).join(" ")]);
  });
  var t=document.getElementById("tree-0"),ui=document.getElementById("tree-0-ui"),sel=ui.querySelector(".tree-layer"),
      q=ui.querySelector(".tree-q"),only=ui.querySelector(".tree-only"),nl=sel.options.length-1;
  function divs(){return Array.prototype.slice.call(t.querySelectorAll("div[data-p]:not(.implied)"));}
  function fire(el,ev){el.dispatchEvent(new Event(ev));}
  for(var k=1;k<=nl;k++){
    sel.value=String(k);fire(sel,"change");var bad=[];
    divs().forEach(function(r){var vis=false,m="";(r.dataset.e||"").split(" ").forEach(function(x){
      var l=parseInt(x,10),c=x.slice(-1);if(l<=k){vis=c!=="d";if(l===k)m=c;}});if(m==="d")vis=true;
      if(vis===r.hidden||(r.dataset.m||"")!==m)bad.push(r.dataset.p+" hidden "+r.hidden+" mark "+r.dataset.m+" events "+r.dataset.e);});
    out.checks.push(["tree after layer "+k+": rows shown and marked as their events say",!bad.length,bad.slice(0,3).join("; ")]);
    only.checked=true;fire(only,"change");
    var shown=divs().filter(function(r){return !r.hidden;}),unm=shown.filter(function(r){return !r.dataset.m;});
    out.checks.push(["tree after layer "+k+", only its changes: "+shown.length+" rows, each marked",!unm.length,unm.slice(0,3).map(function(r){return r.dataset.p;}).join(" ")]);
    only.checked=false;fire(only,"change");
  }
  sel.value="0";fire(sel,"change");q.value="passwd";fire(q,"input");
  var hit=divs().filter(function(r){return !r.hidden;}),off=hit.filter(function(r){return r.dataset.p.indexOf("passwd")<0;}),
      closed=hit.filter(function(r){var d=r.parentElement.closest("details");return d&&!d.open;});
  out.checks.push(["tree filter 'passwd': "+hit.length+" rows, all matching, their directories open",hit.length>0&&!off.length&&!closed.length,
    off.concat(closed).slice(0,3).map(function(r){return r.dataset.p;}).join(" ")]);
  q.value="";fire(q,"input");
  var fin=divs().filter(function(r){return !r.hidden;}).length,want=t.querySelectorAll("div[data-p]:not(.gone):not(.implied)").length;
  out.checks.push(["tree back to the final image: "+fin+" rows",fin===want,fin+" vs "+want]);
}catch(e){out.errors.push("test: "+e.message);}
var p=document.createElement("pre");p.id="selftest";p.textContent=JSON.stringify(out);document.body.appendChild(p);
})();</script>"""
raw = raw.replace("<head>", "<head>" + catch, 1)
i = raw.rindex("</body>")
open(sys.argv[2], "w", encoding="utf-8").write(raw[:i] + test + raw[i:])
EOF
if browse "file://$work/test.html" --dump-dom > "$work/test-dom.html"; then
	python3 - "$work/test-dom.html" <<'EOF'
import html, json, re, sys
dom = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r'<pre id="selftest">(.*?)</pre>', dom, re.S)
if not m:
    print("not ok - analyze html sortable tables sort: the test script did not run")
    sys.exit(0)
r = json.loads(html.unescape(m.group(1)))
bad = [c for c in r["checks"] if not c[1]]
if r["errors"] or bad or not r["checks"]:
    print("not ok - analyze html sortable tables sort (click twice: ascending, then descending): errors %s, unsorted %s"
          % (r["errors"], bad))
else:
    print("ok - analyze html sortable tables sort (%s; ascending then descending, no script errors)"
          % ", ".join(c[0] for c in r["checks"] if "column" in c[0]))
    for c in r["checks"]:
        if "column" not in c[0]:
            print("ok - analyze html %s" % c[0])
EOF
else
	nok "sortable tables sort" "chromium failed on the test copy"
fi

pdf=$out/analyze-report.pdf
rm -f "$pdf"
if (cd "$work" && browse "file://$html" --print-to-pdf="$pdf" --no-pdf-header-footer > /dev/null) &&
	[ -s "$pdf" ] && [ "$(head -c 5 "$pdf")" = "%PDF-" ]; then
	ok "print to PDF $pdf ($(wc -c < "$pdf") bytes, non-empty)"
	if command -v pdftotext > /dev/null; then
		pdftotext "$pdf" "$work/pdf.txt" 2> /dev/null
		if grep -q 'Largest directories' "$work/pdf.txt" && grep -q 'VERIFIED' "$work/pdf.txt" &&
			! grep -q -e 'filter by path' -e "only this layer's changes" -e 'Choose a layer' "$work/pdf.txt"; then
			ok "the PDF holds the verdict and the largest directories, not the tree's controls"
		else
			nok "the PDF holds the verdict and the largest directories, not the tree's controls" \
				"$(grep -n -e 'Largest directories' -e VERIFIED -e 'filter by path' -e 'Choose a layer' "$work/pdf.txt" | head -5)"
		fi
	else
		skip "the PDF's text" "pdftotext (poppler-utils) is not installed"
	fi
else
	nok "print to PDF" "no PDF at $pdf: $(grep -v dbus "$work/chromium.err" | tail -2)"
fi

png=$out/analyze-report.png
rm -f "$png"
if (cd "$work" && browse "file://$html" --screenshot="$png" --window-size=1280,2000 --hide-scrollbars > /dev/null) &&
	[ -s "$png" ] && [ "$(head -c 8 "$png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; then
	ok "screenshot $png ($(wc -c < "$png") bytes, 1280x2000)"
else
	nok "screenshot" "no PNG at $png: $(grep -v dbus "$work/chromium.err" | tail -2)"
fi
exit 0
