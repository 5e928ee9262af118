/*
 * html.c - the analysis as one self-contained HTML file: inline CSS, an
 * inline SVG chart of layer sizes, and tables made sortable by a few lines
 * of inline script.  Nothing is fetched from the network.  Built from the
 * JSON report (analyze_json), so both always say the same, but for the
 * package changes and the file tree, which come from the image reports
 * (the JSON's package lists are placeholders there: REPORT_STREAMED).
 * Written in pieces: a page holds some 120 bytes a package change.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analyze.h"
#include "analyze/tree.h"
#include "formats/layerfs.h"
#include "common/size.h"
#include "formats/json.h"

#define P(...) do { if (r == 0) r = buf_printf(b, e, __VA_ARGS__); } while (0)

#define HTML_CHUNK (256u << 10)  /* gathered before a write */

/* Where the page goes. */
struct hout {
	report_write_fn w;
	void *ctx;
};

#define FLUSH() do { if (r == 0) r = buf_flush(b, HTML_CHUNK, o->w, o->ctx, e); } while (0)

/* s[0..n) as HTML text; stops at a NUL. */
static int escn(struct buf *b, const char *s, size_t n, struct strata_err *e)
{
	int r = 0;

	for (; s && n && *s && r == 0; s++, n--) {
		switch (*s) {
		case '<': r = buf_addstr(b, "&lt;", e); break;
		case '>': r = buf_addstr(b, "&gt;", e); break;
		case '&': r = buf_addstr(b, "&amp;", e); break;
		case '"': r = buf_addstr(b, "&quot;", e); break;
		case '\'': r = buf_addstr(b, "&#39;", e); break;
		default: r = buf_add(b, s, 1, e);
		}
	}
	return r;
}

#define E(s) do { if (r == 0) r = escn(b, (s), SIZE_MAX, e); } while (0)
#define EN(s, n) do { if (r == 0) r = escn(b, (s), (n), e); } while (0)

static double num(const cJSON *o, const char *k)
{
	const cJSON *v = json_get(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* JSON numbers are bytes; the text is IEC (common/size.h), as everywhere. */
static const char *hs(double n, char buf[32])
{
	return human_size(n > 0 ? (uint64_t)n : 0, buf);
}

static const char style[] =
	"body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}"
	"h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}"
	"table{border-collapse:collapse;margin:.5em 0;width:100%}th,td{padding:3px 8px;border-bottom:1px solid #eee;"
	"text-align:left;vertical-align:top}th{background:#f4f4f4;cursor:pointer;user-select:none}"
	"td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}code{font-size:12px;word-break:break-all}"
	".fail{color:#b00;font-weight:bold}.pass{color:#070;font-weight:bold}.sum span{margin-right:2em}"
	".chart text{font-size:11px}"
	".banner{padding:.8em 1em;margin:0 0 1em;border-radius:4px;font-size:1.2em;font-weight:bold}"
	".banner.ok{background:#e6f4e6;color:#060;border:2px solid #070}.banner.bad{background:#b00;color:#fff;border:2px solid #700}"
	".banner ul{font-size:.8em;font-weight:normal;margin:.4em 0 0}.none{color:#555;font-style:italic;font-weight:normal}"
	"tr.gone td{color:#777}"
	".tree{font:13px/1.6 ui-monospace,monospace;max-height:70vh;overflow:auto;border:1px solid #ddd;padding:4px}"
	".tree details,.tree .f{margin-left:1.1em;border-left:4px solid #eee;padding-left:4px}"
	".tree summary{cursor:pointer}.tree .s{color:#555;margin-left:1em}.tree .x{color:#777;font-style:italic}"
	".tree:not(.live) .gone{display:none}"
	".tree [data-m]>summary::after,.tree div[data-m]::after{margin-left:1em;padding:0 4px;border-radius:3px;font-size:11px}"
	".tree [data-m=a]>summary::after,.tree div[data-m=a]::after{content:'added';background:#cfc}"
	".tree [data-m=m]>summary::after,.tree div[data-m=m]::after{content:'modified';background:#fe9}"
	".tree [data-m=d]>summary::after,.tree div[data-m=d]::after{content:'deleted';background:#fcc}"
	".tree [data-m=d]>summary,.tree div[data-m=d]{text-decoration:line-through}"
	".tree-ui{margin:.5em 0}.tree-ui input[type=search]{width:24em}.sw{border-left:10px solid;padding:0 6px;margin-right:4px;"
	"white-space:nowrap;font-size:12px}.print-only{display:none}"
	"@media print{body{margin:0;max-width:none}th{cursor:auto}.banner{-webkit-print-color-adjust:exact;print-color-adjust:exact}"
	"table,tr,svg{break-inside:avoid}.tree,.tree-ui,.screen-only{display:none}.print-only{display:block}}";

static const char script[] =
	"document.querySelectorAll('table.sortable th').forEach(function(th){th.addEventListener('click',function(){"
	"var t=th.closest('table'),b=t.tBodies[0],i=Array.prototype.indexOf.call(th.parentNode.children,th),"
	"asc=th.dataset.asc!=='1';th.dataset.asc=asc?'1':'0';var rows=Array.prototype.slice.call(b.rows);"
	"rows.sort(function(x,y){var a=x.cells[i].dataset.v||x.cells[i].textContent,c=y.cells[i].dataset.v||y.cells[i].textContent,"
	"p=parseFloat(a),q=parseFloat(c);var d=(!isNaN(p)&&!isNaN(q))?p-q:a.localeCompare(c);return asc?d:-d;});"
	"rows.forEach(function(r){b.appendChild(r);});});});"
	/* the file trees: a layer's view (as dive: what existed then, its changes marked), changes only, a path filter */
	"document.querySelectorAll('.tree').forEach(function(t){var ui=document.getElementById(t.id+'-ui'),"
	"q=ui.querySelector('.tree-q'),sel=ui.querySelector('.tree-layer'),only=ui.querySelector('.tree-only'),"
	"rows=Array.prototype.slice.call(t.querySelectorAll('[data-p]')).reverse();"
	"function run(){var k=+sel.value,s=q.value.toLowerCase(),o=only.checked&&k>0;t.classList.add('live');"
	"rows.forEach(function(r){var st=false,m='',kid=!!r._kid;r._kid=false;"
	"if(k===0)st=!r.classList.contains('gone');"
	"else(r.dataset.e||'').split(' ').forEach(function(x){var l=parseInt(x,10),c=x.slice(-1);"
	"if(l<=k){st=c!=='d';if(l===k)m=c;}});"
	"if(m==='d')st=true;var own=st&&(!o||m!=='')&&(!s||r.dataset.p.toLowerCase().indexOf(s)>=0),show=own||kid;"
	"r.hidden=!show;if(m)r.dataset.m=m;else delete r.dataset.m;"
	"if(r.tagName==='DETAILS'&&kid&&(s||o))r.open=true;"
	"var p=r.parentElement.closest('details');if(show&&p&&t.contains(p))p._kid=true;});"
	"ui.querySelector('.tree-n').textContent=t.querySelectorAll('[data-p]:not([hidden])').length+' shown';}"
	"q.addEventListener('input',run);sel.addEventListener('change',run);only.addEventListener('change',run);});";

/* A table body that would be empty says so (a <th> row: not a data row). */
static int none_row(struct buf *b, int cols, bool empty, const char *why, struct strata_err *e)
{
	return empty ? buf_printf(b, e, "<tr class=\"none\"><th colspan=\"%d\" class=\"none\">%s</th></tr>", cols, why) : 0;
}

#define NONE(cols, empty, why) do { if (r == 0) r = none_row(b, (cols), (empty), (why), e); } while (0)

/* The verdict of the pass, the input and its hash: first thing in the file. */
static int verdict_html(struct buf *b, const cJSON *rep, struct strata_err *e)
{
	const cJSON *in = json_get(rep, "input"), *p;
	bool ok = cJSON_IsTrue(json_get(rep, "verified"));
	int r = 0;

	if (!json_get(rep, "verified"))
		return 0;
	P("<div class=\"banner %s\" id=\"verdict\" role=\"status\">%s", ok ? "ok" : "bad",
	  ok ? "VERIFIED: every digest, size and diff_id matches" : "FAILED verification: this image is not what its digests say");
	if (cJSON_GetArraySize(json_get(rep, "problems"))) {
		P("<ul>");
		cJSON_ArrayForEach(p, json_get(rep, "problems")) {
			P("<li>%s <b>", json_str(p, "severity") ? json_str(p, "severity") : "");
			E(json_str(p, "id"));
			P("</b> (exit %d) ", (int)num(p, "code"));
			if (json_str(p, "member") && *json_str(p, "member")) {
				P("<code>");
				E(json_str(p, "member"));
				P("</code>: ");
			}
			E(json_str(p, "message"));
			P("</li>");
		}
		P("</ul>");
	}
	P("</div><table id=\"input\"><tbody><tr><td>tool</td><td>strata ");
	E(json_str(rep, "strata_version"));
	P("</td></tr><tr><td>source</td><td><code>");
	E(json_str(in, "path"));
	P("</code> (");
	E(json_str(in, "kind"));
	P(", ");
	E(json_str(rep, "format"));
	P(")</td></tr><tr><td>size</td><td>");
	if (cJSON_IsNumber(json_get(in, "size")))
		P("%.0f bytes", num(in, "size"));
	else
		P("<span class=\"none\">not measured (a directory)</span>");
	P("</td></tr><tr><td>sha256</td><td>");
	if (json_str(in, "sha256")) {
		P("<code>");
		E(json_str(in, "sha256"));
		P("</code> of ");
		E(json_str(in, "hashed"));
	} else {
		P("<span class=\"none\">not computed (");
		E(json_str(in, "hashed"));
		P(")</span>");
	}
	P("</td></tr></tbody></table>");
	return r;
}

/* Bars of stored size, tar size and wasted bytes per layer. */
static int chart(struct buf *b, const cJSON *layers, struct strata_err *e)
{
	const cJSON *l;
	double max = 1;
	int n = cJSON_GetArraySize(layers), i = 0, r = 0, w = 900, bar = 26, h = n * (bar + 8) + 30;
	char s1[32];

	cJSON_ArrayForEach(l, layers) {
		if (num(l, "size") > max) max = num(l, "size");
		if (num(l, "stored_size") > max) max = num(l, "stored_size");
	}
	P("<svg class=\"chart\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" "
	  "aria-label=\"layer sizes\" xmlns=\"http://www.w3.org/2000/svg\">", w, h, w, h);
	P("<rect x=\"60\" y=\"4\" width=\"12\" height=\"10\" fill=\"#8ab\"/><text x=\"76\" y=\"13\">stored</text>"
	  "<rect x=\"140\" y=\"4\" width=\"12\" height=\"10\" fill=\"#357\"/><text x=\"156\" y=\"13\">files</text>"
	  "<rect x=\"210\" y=\"4\" width=\"12\" height=\"10\" fill=\"#c33\"/><text x=\"226\" y=\"13\">wasted later</text>");
	cJSON_ArrayForEach(l, layers) {
		double y = 24 + i * (bar + 8), span = w - 260;
		double ws = span * num(l, "stored_size") / max, wf = span * num(l, "size") / max,
		       ww = span * num(l, "bytes_wasted") / max;

		P("<g class=\"bar\"><text x=\"4\" y=\"%.0f\">layer %d</text>", y + 16, (int)num(l, "index"));
		P("<rect x=\"60\" y=\"%.0f\" width=\"%.1f\" height=\"%d\" fill=\"#8ab\"/>", y, ws, bar / 3);
		P("<rect x=\"60\" y=\"%.0f\" width=\"%.1f\" height=\"%d\" fill=\"#357\"/>", y + bar / 3, wf, bar / 3);
		P("<rect x=\"60\" y=\"%.0f\" width=\"%.1f\" height=\"%d\" fill=\"#c33\"/>", y + 2 * bar / 3, ww, bar / 3);
		P("<text x=\"%.0f\" y=\"%.0f\">%s</text></g>", 66 + (wf > ws ? wf : ws), y + 16, hs(num(l, "size"), s1));
		i++;
	}
	P("</svg>");
	return r;
}


/* ---- the file tree ---- */

/* Each layer's colour: hues a golden angle apart, so neighbours differ. */
static int layer_style(struct buf *b, size_t nlayers, struct strata_err *e)
{
	size_t k;
	int r = 0;

	P("<style>");
	for (k = 0; k < nlayers; k++)
		P(".tree .L%zu,.sw.L%zu{border-left-color:hsl(%.0f,70%%,45%%)}", k, k, fmod((double)k * 137.508, 360.0));
	P("</style>");
	return r;
}

/* What prints: the largest directories of the final image, three levels deep. */
static int dirs_table(struct buf *b, const struct tree *t, int idx, struct strata_err *e)
{
	size_t i;
	char s1[32];
	int r = 0;

	P("<h3>Largest directories (final image, three levels deep)</h3><table class=\"sortable\" id=\"dirs-%d\"><thead><tr>"
	  "<th>directory</th><th class=\"n\">size</th><th class=\"n\">entries</th><th class=\"n\">last written by layer</th>"
	  "</tr></thead><tbody>", idx);
	for (i = 0; i < t->ndirs; i++) {
		const struct tree_dir *d = &t->dirs[i];

		P("<tr><td><code>");
		EN(d->path, d->plen);
		P("/</code></td><td class=\"n\" data-v=\"%llu\">%s</td><td class=\"n\">%llu</td><td class=\"n\">", (unsigned long long)d->size,
		  human_size(d->size, s1), (unsigned long long)d->entries);
		if (d->last >= 0)
			P("%d", d->last + 1);
		else
			P("<span class=\"none\">implied</span>");
		P("</td></tr>");
	}
	NONE(4, !t->ndirs, "none found (no directory in the final image)");
	P("</tbody></table>");
	return r;
}

/* One node: its events as "1a 3m 5d" (1-based layers), then the element. */
static int node_html(struct buf *b, const struct tree *t, const struct tree_node *n, struct strata_err *e)
{
	uint32_t k, name = tree_name(n);
	char s1[32];
	int r = 0;

	P("%s class=\"%s%s%s L%d\" data-p=\"", n->type == TAR_DIR ? "<details" : "<div", n->type == TAR_DIR ? "d" : "f",
	  n->present ? "" : " gone", n->implied ? " implied" : "", n->last);
	EN(n->path, n->plen);
	P("\" data-e=\"");
	for (k = 0; k < n->nev; k++)
		P("%s%u%c", k ? " " : "", t->ev[n->ev0 + k].layer + 1, t->ev[n->ev0 + k].kind);
	P("\"%s>%s", n->type == TAR_DIR && n->depth == 0 ? " open" : "", n->type == TAR_DIR ? "<summary>" : "");
	EN(n->path + name, n->plen - name);
	if (n->type == TAR_DIR)
		P("/<span class=\"s\">%s, %llu entr%s</span></summary>", human_size(n->size, s1), (unsigned long long)n->entries,
		  n->entries == 1 ? "y" : "ies");
	else if (tree_link(n)) {
		P(" %s ", n->type == TAR_HARDLINK ? "=&gt;" : "-&gt;");
		E(tree_link(n));
	} else if (n->type == TAR_FILE) {
		P("<span class=\"s\">%s</span>", human_size(n->size, s1));
	}
	if (n->type != TAR_DIR)
		P("</div>");
	return r;
}

/* The end of shown directory i: what it hides, then its element. */
static int close_dir(struct buf *b, const struct tree *t, uint32_t i, struct strata_err *e)
{
	uint64_t bytes;
	uint32_t hidden = tree_hidden(t, i, &bytes);
	char s1[32];
	int r = 0;

	if (hidden)
		P("<div class=\"x\">%u more not shown (%s)</div>", hidden, human_size(bytes, s1));
	P("</details>");
	return r;
}

static int tree_html(struct buf *b, const struct tree *t, const cJSON *layers, int idx, struct strata_err *e)
{
	const cJSON *l;
	uint32_t *open = NULL;    /* the shown directories around the node being written */
	size_t sp = 0, i, deepest = 0;
	int r = 0;

	for (i = 0; i < t->len; i++)
		if (t->v[i].depth > deepest)
			deepest = t->v[i].depth;
	if (t->len && !(open = malloc((deepest + 1) * sizeof(*open))))
		return err_nomem(e, "report");
	if (r == 0)
		r = layer_style(b, t->nlayers, e);
	P("<h2>Files</h2><p>The merged file system: each entry is coloured by the layer that last wrote it; a directory's size "
	  "is the sum of the regular files below it.<span class=\"screen-only\"> Choose a layer to see the tree as it stood "
	  "after that layer, with what the layer added, modified and deleted marked (as dive shows it).</span>");
	if (!t->complete)
		P(" <span class=\"fail\">Layers missing from the archive are left out.</span>");
	if (t->len < t->paths)
		P(" <span class=\"fail\" id=\"tree-%d-cut\">Cut: %zu of %zu paths shown (at most %d, and %u MiB of paths and link targets): the "
		  "deepest levels are left out, and each directory says how many entries it hides.</span>", idx, t->len, t->paths,
		  TREE_MAX, TREE_BYTES_MAX >> 20);
	P("</p><p class=\"print-only\">The browsable file tree (%zu paths) is in the HTML report; the largest directories follow.</p>",
	  t->paths);
	P("<div class=\"tree-ui\" id=\"tree-%d-ui\"><input type=\"search\" class=\"tree-q\" placeholder=\"filter by path\" "
	  "aria-label=\"filter by path\"> <select class=\"tree-layer\" aria-label=\"layer\"><option value=\"0\">final image</option>", idx);
	cJSON_ArrayForEach(l, layers) {
		char cmd[64];
		const char *cb = json_str(l, "created_by") ? json_str(l, "created_by") : "";

		snprintf(cmd, sizeof(cmd), "%s", !strncmp(cb, "/bin/sh -c ", 11) ? cb + 11 : cb);
		P("<option value=\"%d\">after layer %d: ", (int)num(l, "index"), (int)num(l, "index"));
		E(cmd);
		P("</option>");
	}
	P("</select> <label><input type=\"checkbox\" class=\"tree-only\"> only this layer's changes</label> "
	  "<span class=\"tree-n none\"></span><br>");
	cJSON_ArrayForEach(l, layers)
		P("<span class=\"sw L%d\">layer %d</span>", (int)num(l, "index") - 1, (int)num(l, "index"));
	P("<span class=\"sw\" style=\"border-left-color:#eee\">implied directory</span></div><div class=\"tree\" id=\"tree-%d\">", idx);
	for (i = 0; i < t->len && r == 0; i++) {
		const struct tree_node *n = &t->v[i];

		while (sp && t->v[open[sp - 1]].depth >= n->depth && r == 0)
			r = close_dir(b, t, open[--sp], e);
		if (r == 0)
			r = node_html(b, t, n, e);
		if (n->type == TAR_DIR)
			open[sp++] = (uint32_t)i;
	}
	while (sp && r == 0)
		r = close_dir(b, t, open[--sp], e);
	if (t->hidden_top)
		P("<div class=\"x\">%u more top-level entries not shown</div>", t->hidden_top);
	if (t->too_long)
		P("<div class=\"x\">%llu paths of %d bytes or more left out (no Linux can create them)</div>",
		  (unsigned long long)t->too_long, LFS_PATH_MAX);
	NONE(1, !t->paths, "none found (no entry in any layer)");
	P("</div>");
	free(open);
	if (r == 0)
		r = dirs_table(b, t, idx, e);
	return r;
}

/* The image's heading, provenance, summary and --fail-on rules. */
static int summary_html(struct buf *b, const cJSON *im, int idx, struct strata_err *e)
{
	const cJSON *sum = json_get(im, "summary"), *t, *x;
	char s1[32], s2[32], s3[32];
	int r = 0;

	P("<h1>image %d", idx);
	cJSON_ArrayForEach(t, json_get(im, "tags")) {
		P(" &middot; ");
		E(t->valuestring);
	}
	P("</h1><p class=\"sum\"><span>platform <b>");
	E(json_str(im, "platform"));
	P("</b></span><span>config <code>");
	E(json_str(im, "config"));
	P("</code></span><span>manifest <code>");
	E(json_str(im, "manifest") ? json_str(im, "manifest") : "none");
	P("</code></span><span>created ");
	E(json_str(im, "created") ? json_str(im, "created") : "not set");
	P("</span></p><h2>Provenance</h2><table id=\"provenance-%d\"><thead><tr><th>key</th><th>value</th><th>from</th></tr></thead><tbody>", idx);
	cJSON_ArrayForEach(x, json_get(im, "provenance")) {
		P("<tr><td><code>");
		E(json_str(x, "key"));
		P("</code></td><td>");
		E(json_str(x, "value"));
		P("</td><td>");
		E(json_str(x, "from"));
		P("</td></tr>");
	}
	NONE(3, !cJSON_GetArraySize(json_get(im, "provenance")), "none found (no org.opencontainers.image.* label or annotation)");
	P("</tbody></table><p class=\"sum\"><span>%d layers</span><span>%d files</span><span>size <b>%s</b></span>"
	  "<span>stored %s</span><span>wasted <b>%s</b> (%.1f%% of user layers)</span><span>efficiency <b>%.2f%%</b></span></p>",
	  (int)num(sum, "layers"), (int)num(sum, "files"), hs(num(sum, "size"), s1), hs(num(sum, "stored_size"), s2),
	  hs(num(sum, "wasted_bytes"), s3), 100 * num(sum, "user_wasted_percent"), 100 * num(sum, "efficiency"));
	cJSON_ArrayForEach(x, json_get(im, "rules")) {
		bool pass = cJSON_IsTrue(json_get(x, "pass"));

		P("<p><span class=\"%s\">%s</span> %s: %g (limit %g)</p>", pass ? "pass" : "fail", pass ? "PASS" : "FAIL",
		  json_str(x, "rule"), num(x, "value"), num(x, "limit"));
	}
	return r;
}

/* The layer table. */
static int layers_html(struct buf *b, const cJSON *layers, int idx, struct strata_err *e)
{
	const cJSON *l;
	char s1[32], s2[32], s3[32];
	int r = 0;

	P("<h2>Layers</h2><table class=\"sortable\" id=\"layers-%d\"><thead><tr><th class=\"n\">#</th><th class=\"n\">stored</th>"
	  "<th class=\"n\">files size</th><th class=\"n\">added</th><th class=\"n\">modified</th><th class=\"n\">deleted</th>"
	  "<th class=\"n\">wasted later</th><th>created by</th><th>digest</th></tr></thead><tbody>", idx);
	cJSON_ArrayForEach(l, layers) {
		P("<tr><td class=\"n\">%d</td><td class=\"n\" data-v=\"%.0f\">%s</td><td class=\"n\" data-v=\"%.0f\">%s</td>"
		  "<td class=\"n\">%.0f</td><td class=\"n\">%.0f</td><td class=\"n\">%.0f</td><td class=\"n\" data-v=\"%.0f\">%s</td><td><code>",
		  (int)num(l, "index"), num(l, "stored_size"), hs(num(l, "stored_size"), s1), num(l, "size"), hs(num(l, "size"), s2),
		  num(l, "added"), num(l, "modified"), num(l, "deleted"), num(l, "bytes_wasted"), hs(num(l, "bytes_wasted"), s3));
		E(json_str(l, "created_by"));
		P("</code></td><td><code>");
		E(json_str(l, "digest"));
		P("</code></td></tr>");
	}
	P("</tbody></table>");
	return r;
}

/* Risky content, each finding with the layer that removed it, if one did. */
static int findings_html(struct buf *b, const cJSON *im, int idx, struct strata_err *e)
{
	const cJSON *fd = json_get(im, "findings"), *nc, *x;
	int r = 0;

	P("<h2>Findings</h2>");
	P("<p>Risky content: the first %.0f bytes of every regular file are scanned (README: what is and is not looked for).",
	  num(fd, "scan_bytes_per_file"));
	cJSON_ArrayForEach(nc, json_get(fd, "not_checked")) {
		P(" <span class=\"fail\">not checked: ");
		E(nc->valuestring);
		P("</span>");
	}
	P("</p><table class=\"sortable\" id=\"findings-%d\"><thead><tr><th>rule</th><th class=\"n\">layer</th><th>path</th>"
	  "<th>detail</th><th>in final image</th></tr></thead><tbody>", idx);
	cJSON_ArrayForEach(x, json_get(fd, "items")) {
		bool fin = cJSON_IsTrue(json_get(x, "in_final_image"));

		P("<tr%s><td>", fin ? "" : " class=\"gone\"");
		E(json_str(x, "rule"));
		P("</td><td class=\"n\">%d</td><td><code>", (int)num(x, "layer"));
		E(json_str(x, "path"));
		P("</code></td><td>");
		E(json_str(x, "detail"));
		if (fin)
			P("</td><td>yes</td></tr>");
		else
			P("</td><td class=\"fail\">removed by layer %d, still shipped in layer %d</td></tr>",
			  (int)num(x, "removed_by_layer"), (int)num(x, "layer"));
	}
	NONE(5, !cJSON_GetArraySize(json_get(fd, "items")),
	     cJSON_IsTrue(json_get(fd, "checked")) ? "none found" : "not checked (see above)");
	if (num(fd, "not_listed") > 0)
		P("<tr class=\"none\"><th colspan=\"5\" class=\"none\">%.0f more not listed</th></tr>", num(fd, "not_listed"));
	P("</tbody></table>");
	return r;
}

/* The paths that waste space, and each layer's largest files. */
static int wasted_largest_html(struct buf *b, const cJSON *im, const cJSON *layers, int idx, struct strata_err *e)
{
	const cJSON *l, *x;
	char s1[32];
	int r = 0;

	P("<h2>Wasted space</h2><table class=\"sortable\" id=\"wasted-%d\"><thead><tr><th class=\"n\">count</th>"
	  "<th class=\"n\">wasted</th><th>path</th></tr></thead><tbody>", idx);
	cJSON_ArrayForEach(x, json_get(im, "inefficiencies")) {
		P("<tr><td class=\"n\">%d</td><td class=\"n\" data-v=\"%.0f\">%s</td><td><code>", (int)num(x, "count"),
		  num(x, "wasted_bytes"), hs(num(x, "wasted_bytes"), s1));
		E(json_str(x, "path"));
		P("</code></td></tr>");
	}
	NONE(3, !cJSON_GetArraySize(json_get(im, "inefficiencies")), "none found (no path in more than one layer)");
	P("</tbody></table><h2>Largest files</h2><table class=\"sortable\" id=\"largest-%d\"><thead><tr><th class=\"n\">layer</th>"
	  "<th class=\"n\">size</th><th>path</th></tr></thead><tbody>", idx);
	cJSON_ArrayForEach(l, layers) {
		cJSON_ArrayForEach(x, json_get(l, "largest")) {
			P("<tr><td class=\"n\">%d</td><td class=\"n\" data-v=\"%.0f\">%s</td><td><code>", (int)num(l, "index"),
			  num(x, "size"), hs(num(x, "size"), s1));
			E(json_str(x, "path"));
			P("</code></td></tr>");
		}
	}
	{
		int nl = 0;

		cJSON_ArrayForEach(l, layers) nl += cJSON_GetArraySize(json_get(l, "largest"));
		NONE(3, !nl, "none found (no regular files)");
	}
	P("</tbody></table>");
	return r;
}

/* The package changes of each layer, from the image's report. */
static int packages_html(struct buf *b, const struct image_report *rep, int idx, const struct hout *o,
			 struct strata_err *e)
{
	size_t k, i, np = 0;
	int r = 0;

	P("<h2>Packages per layer</h2><table class=\"sortable\" id=\"packages-%d\"><thead><tr><th class=\"n\">layer</th>"
	  "<th>db</th><th>package</th><th>change</th><th>from</th><th>to</th></tr></thead><tbody>", idx);
	for (k = 0; k < rep->nlayers && r == 0; k++)
		for (i = 0; i < rep->layers[k].npkgs && r == 0; i++) {
			const struct pkg_change *p = &rep->layers[k].pkgs[i];

			P("<tr><td class=\"n\">%zu</td><td>", k + 1);
			E(p->db);
			P("</td><td>");
			E(p->name);
			P("</td><td>%s</td><td>", pkg_change_kind(p));
			E(p->from);
			P("</td><td>");
			E(p->to);
			P("</td></tr>");
			FLUSH();
			np++;
		}
	NONE(6, !np, "none found (no package changes: no dpkg or apk database, or it lists none)");
	P("</tbody></table>");
	return r;
}

/* setuid, setgid, world-writable and device entries. */
static int security_html(struct buf *b, const cJSON *layers, int idx, struct strata_err *e)
{
	static const char *const kinds[] = { "setuid", "setgid", "world_writable", "devices" };
	const cJSON *l, *x;
	int r = 0, n = 0;
	size_t k;

	P("<h2>Security-relevant entries</h2><table class=\"sortable\" id=\"security-%d\"><thead><tr>"
	  "<th class=\"n\">layer</th><th>kind</th><th>path</th></tr></thead><tbody>", idx);
	cJSON_ArrayForEach(l, layers)
		for (k = 0; k < 4; k++)
			cJSON_ArrayForEach(x, json_get(json_get(l, kinds[k]), "paths")) {
				P("<tr><td class=\"n\">%d</td><td>%s</td><td><code>", (int)num(l, "index"), kinds[k]);
				E(x->valuestring);
				P("</code></td></tr>");
				n++;
			}
	NONE(3, !n, "none found (no setuid, setgid, world-writable or device entry)");
	P("</tbody></table>");
	return r;
}

static int image_html(struct buf *b, const cJSON *im, const struct image_report *rep, const struct hout *o,
		      struct strata_err *e)
{
	const cJSON *layers = json_get(im, "layers");
	int r, idx = (int)num(im, "index");

	r = summary_html(b, im, idx, e);
	P("<h2>Layer sizes</h2>");
	if (r == 0)
		r = chart(b, layers, e);
	if (r == 0)
		r = layers_html(b, layers, idx, e);
	if (r == 0) {
		struct tree ft;

		if ((r = tree_build(rep->im, &ft, e)) == 0) {
			r = tree_html(b, &ft, layers, idx, e);
			tree_release(&ft);
		}
	}
	if (r == 0)
		r = findings_html(b, im, idx, e);
	if (r == 0)
		r = wasted_largest_html(b, im, layers, idx, e);
	FLUSH();
	if (r == 0)
		r = packages_html(b, rep, idx, o, e);
	if (r == 0)
		r = security_html(b, layers, idx, e);
	return r;
}

int analyze_html(const cJSON *report, const struct image_report *reps, size_t n, report_write_fn w, void *ctx,
		 struct strata_err *e)
{
	const struct hout out = { w, ctx }, *o = &out;
	struct buf page = BUF_INIT(1u << 30), *b = &page;
	const cJSON *im;
	size_t i = 0;
	int r = 0;

	P("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>strata analysis: ");
	E(json_str(report, "source"));
	P("</title><style>%s</style></head><body>", style);
	if (r == 0)
		r = verdict_html(b, report, e);
	P("<p>strata analysis of <code>");
	E(json_str(report, "source"));
	P("</code> (%s)</p>", json_str(report, "format") ? json_str(report, "format") : "?");
	cJSON_ArrayForEach(im, json_get(report, "images")) {
		if (r == 0 && i >= n)
			r = err_set(e, STRATA_EFORMAT, "the report has more images than the image reports given");
		if (r == 0)
			r = image_html(b, im, &reps[i], o, e);
		i++;
	}
	P("<script>%s</script></body></html>\n", script);
	if (r == 0)
		r = buf_flush(b, 1, w, ctx, e);
	buf_release(b);
	return r;
}
