/* render.c - analysis reports: rules, JSON and text; see analyze.h. */
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analyze.h"
#include "common/digest.h"
#include "common/size.h"
#include "common/strmap.h"
#include "formats/json.h"

/* ---- --fail-on ---- */

/* dive parses sizes with go-humanize: SI units (kB, MB = 1000^2), IEC ones (KiB, MiB), plain bytes. */
static int parse_size(const char *s, uint64_t *out)
{
	static const struct {
		const char *unit;
		double mul;
	} units[] = {
		{ "", 1 }, { "b", 1 }, { "kb", 1e3 }, { "k", 1e3 }, { "mb", 1e6 }, { "m", 1e6 }, { "gb", 1e9 }, { "g", 1e9 },
		{ "tb", 1e12 }, { "kib", 1024.0 }, { "mib", 1048576.0 }, { "gib", 1073741824.0 }, { "tib", 1099511627776.0 },
	};
	char *end, u[8];
	double v = strtod(s, &end);
	size_t i, n;

	if (end == s || !isfinite(v) || v < 0 || v > 1e18)
		return -1;
	while (*end == ' ')
		end++;
	for (n = 0; end[n] && n < sizeof(u) - 1; n++)
		u[n] = (char)tolower((unsigned char)end[n]);
	u[n] = '\0';
	if (end[n])
		return -1;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(u, units[i].unit)) {
			if (v * units[i].mul >= 18446744073709551616.0)
				return -1;  /* 2^64: the conversion would be undefined */
			*out = (uint64_t)(v * units[i].mul);
			return 0;
		}
	return -1;
}

int rules_parse(const char *s, struct fail_rules *r, struct strata_err *e)
{
	char *copy = strdup(s), *item, *save = NULL;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	if (!copy)
		return err_nomem(e, "rules");
	for (item = strtok_r(copy, ",", &save); item && rc == 0; item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '='), *end;

		if (!eq) {
			rc = err_set(e, STRATA_EUSAGE, "--fail-on: '%s' is not RULE=VALUE", item);
			break;
		}
		*eq++ = '\0';
		if (!strcmp(item, "lowestEfficiency")) {
			r->lowest_efficiency = strtod(eq, &end);
			r->has_eff = true;
			if (end == eq || *end || !isfinite(r->lowest_efficiency) || r->lowest_efficiency < 0 ||
			    r->lowest_efficiency > 1)
				rc = err_set(e, STRATA_EUSAGE, "--fail-on: lowestEfficiency takes a ratio 0..1, not '%s'", eq);
		} else if (!strcmp(item, "highestWastedBytes")) {
			r->has_wasted = true;
			if (parse_size(eq, &r->highest_wasted) < 0)
				rc = err_set(e, STRATA_EUSAGE, "--fail-on: highestWastedBytes takes a size (20MB, 1GiB), not '%s'", eq);
		} else if (!strcmp(item, "highestUserWastedPercent")) {
			r->highest_user_wasted_percent = strtod(eq, &end);
			r->has_pct = true;
			if (end == eq || *end || !isfinite(r->highest_user_wasted_percent) || r->highest_user_wasted_percent < 0)
				rc = err_set(e, STRATA_EUSAGE, "--fail-on: highestUserWastedPercent takes a ratio, not '%s'", eq);
		} else if (risk_match(item)) {
			unsigned long long v;

			if (r->nrisk >= FAIL_RISK_MAX) {
				rc = err_set(e, STRATA_EUSAGE, "--fail-on: at most %d finding rules", FAIL_RISK_MAX);
				break;
			}
			v = strtoull(eq, &end, 10);
			if (end == eq || *end || *eq == '-' || strlen(item) >= sizeof(r->risk[0].name)) {
				rc = err_set(e, STRATA_EUSAGE, "--fail-on: %s takes a count of findings allowed (0, 1, ...), not '%s'",
					     item, eq);
				break;
			}
			snprintf(r->risk[r->nrisk].name, sizeof(r->risk[0].name), "%s", item);
			r->risk[r->nrisk].mask = risk_match(item);
			r->risk[r->nrisk].max = v;
			r->nrisk++;
		} else {
			rc = err_set(e, STRATA_EUSAGE,
				     "--fail-on: unknown rule '%s' (lowestEfficiency, highestWastedBytes, highestUserWastedPercent; "
				     "findings, secrets, shadow, perms or a finding id such as secrets.private-key)",
				     item);
		}
	}
	free(copy);
	return rc;
}

static bool fail_eff(const struct image_report *r, const struct fail_rules *x)
{
	return x->has_eff && r->efficiency < x->lowest_efficiency;
}

static bool fail_wasted(const struct image_report *r, const struct fail_rules *x)
{
	return x->has_wasted && r->wasted > x->highest_wasted;
}

static bool fail_pct(const struct image_report *r, const struct fail_rules *x)
{
	return x->has_pct && r->user_wasted_percent > x->highest_user_wasted_percent;
}

static uint64_t risk_total(const struct image_report *r, uint32_t mask)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < RISK_COUNT; i++)
		if (mask & (1u << i))
			n += r->risk_count[i];
	return n;
}

int rules_failed(const struct image_report *r, const struct fail_rules *x)
{
	int n;
	size_t i;

	if (!x)
		return 0;
	n = fail_eff(r, x) + fail_wasted(r, x) + fail_pct(r, x);
	for (i = 0; i < x->nrisk; i++)
		n += risk_total(r, x->risk[i].mask) > x->risk[i].max;
	return n;
}

/* ---- JSON ---- */

static double round6(double v)
{
	return round(v * 1e6) / 1e6;
}

static cJSON *provenance_json(const struct image *im);
static cJSON *findings_json(const struct image_report *r);

static cJSON *str_or_null(const char *s)
{
	return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static const char *type_names[8] = { "file", "hardlink", "symlink", "char", "block", "dir", "fifo", "other" };

static cJSON *list_json(const struct list *l)
{
	cJSON *o = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(o, "paths");
	size_t i;

	cJSON_AddNumberToObject(o, "count", (double)l->total);
	for (i = 0; i < l->len; i++)
		json_push(a, cJSON_CreateString(l->v[i].path));
	return o;
}

/* The sha256 of an entry's content as hex (hex: 65 bytes), or NULL:
 * regular files with a digest, and hardlinks through regs, the regular
 * files seen so far in the image (path -> 1 + the number of the digest in
 * the store; NULL when the image has no hardlink). */
static const char *content_hex(const struct fentry *f, struct strmap *regs, char *hex)
{
	struct strata_err e = STRATA_ERR_INIT;
	uint64_t no;
	uint8_t d[32];

	if (f->flags)
		return NULL;
	if (f->type == TAR_HARDLINK && f->has_link) {
		void *x = regs ? strmap_get(regs, fentry_link(f)) : NULL;

		if (!x)
			return NULL;
		no = (uint64_t)(uintptr_t)x - 1;
	} else if (f->type != TAR_FILE || !fentry_digest_no(f, &no)) {
		return NULL;
	}
	if (regs && strmap_put(regs, f->path, (void *)(uintptr_t)(no + 1), &e) < 0)
		return NULL;
	if (!digests_get(no, d))
		return NULL;  /* not read back: digests_check() */
	digest_hex_of(d, 32, hex);
	return hex;
}

/* Only an image with hardlinks needs the map of regular files (path -> digest) content_hex() keeps. */
static bool has_hardlinks(const struct image_report *r)
{
	size_t i;

	for (i = 0; i < r->nlayers; i++)
		if (r->layers[i].lf && r->layers[i].lf->counts[TAR_HARDLINK])
			return true;
	return false;
}

/*
 * --files in JSON: a layer's list is an array of one object an entry
 * (path, type, size, mode, uid, gid, link, sha256).  Held whole, a million
 * entries took ~400 MB (the list, its raw node, the printed document and the
 * output buffer, each a copy), so the document holds a placeholder instead,
 * a raw node "\001fIMAGE:LAYER\001" that cJSON prints as it is, and
 * analyze_json_write() writes the printed document in pieces, each list in
 * its place, in chunks of LIST_CHUNK bytes.  A layer's package changes
 * ("\001pIMAGE:LAYER\001", REPORT_STREAMED) are written the same way, as
 * cJSON prints them (formats/json.h): 160,000 npm packages took 1.2 KB a
 * change as cJSON nodes.  The placeholders cannot be mistaken for anything
 * else: cJSON escapes \001 in every string it prints.
 */
#define LIST_MARK '\001'
#define LIST_CHUNK ((size_t)1 << 16)

/* One layer's "files" array, as cJSON_PrintUnformatted() prints each entry
 * and the raw node holding them all printed it: [{...},{...}], written
 * without making nodes (json_add_string(), json_add_uint()). */
static int files_json(const struct layer_files *lf, struct strmap *regs, struct buf *b, report_write_fn w,
		      void *ctx, struct strata_err *e)
{
	struct files_reader rd;
	const struct fentry *f;
	size_t i;
	int r = buf_addstr(b, "[", e), got;

	files_read_init(&rd, lf);
	while (r == 0 && (got = files_read(&rd, &f, &i, e)) != 0) {
		char hex[65];

		if (got < 0) {
			r = got;
			break;
		}
		if (buf_addstr(b, i ? ",{\"path\":" : "{\"path\":", e) < 0 || json_add_string(b, f->path, e) < 0 ||
		    buf_addstr(b, ",\"type\":\"", e) < 0 ||
		    buf_addstr(b, f->flags & FE_WHITEOUT ? "whiteout" : f->flags & FE_OPAQUE ? "opaque"
				  : type_names[f->type & 7], e) < 0 ||
		    buf_addstr(b, "\",\"size\":", e) < 0 || json_add_uint(b, f->size, e) < 0 ||
		    buf_printf(b, e, ",\"mode\":\"%04o\",\"uid\":%u,\"gid\":%u", f->mode & 07777, f->uid, f->gid) < 0 ||
		    (f->has_link && (buf_addstr(b, ",\"link\":", e) < 0 || json_add_string(b, fentry_link(f), e) < 0)) ||
		    (content_hex(f, regs, hex) && buf_printf(b, e, ",\"sha256\":\"%s\"", hex) < 0) ||
		    buf_addstr(b, "}", e) < 0)
			r = -e->code;
		if (r == 0)
			r = buf_flush(b, LIST_CHUNK, w, ctx, e);
	}
	files_read_release(&rd);
	return r ? r : buf_addstr(b, "]", e);
}

static cJSON *pkg_change_json(const struct pkg_change *p)
{
	cJSON *c = cJSON_CreateObject();

	cJSON_AddStringToObject(c, "db", p->db);
	cJSON_AddStringToObject(c, "name", p->name);
	cJSON_AddStringToObject(c, "change", pkg_change_kind(p));
	json_put(c, "from", str_or_null(p->from));
	json_put(c, "to", str_or_null(p->to));
	return c;
}

/* Change i of the layer report ctx (json_element_fn). */
static cJSON *pkg_element(void *ctx, int list, size_t i, bool *end)
{
	const struct layer_report *lr = ctx;

	(void)list;
	*end = i >= lr->npkgs;
	return *end ? NULL : pkg_change_json(&lr->pkgs[i]);
}

int analyze_json_write(const char *txt, bool line, const struct image_report *reps, size_t n, report_write_fn w,
		       void *ctx, struct strata_err *e)
{
	struct buf b = BUF_INIT((size_t)1 << 30);
	struct strmap regs = STRMAP_INIT;  /* content_hex()'s, of image img */
	size_t img = SIZE_MAX;
	const char *p = txt, *m;
	int r = 0;

	while (r == 0 && (m = strchr(p, LIST_MARK))) {
		unsigned long long i, j;
		char kind = m[1], *end;

		if ((r = w(ctx, p, (size_t)(m - p), e)) < 0)
			break;
		i = strtoull(m + 2, &end, 10);
		j = *end == ':' ? strtoull(end + 1, &end, 10) : ULLONG_MAX;
		if (*end != LIST_MARK || (kind != 'f' && kind != 'p') || i >= n || j >= reps[i].nlayers ||
		    (kind == 'f' && !reps[i].layers[j].lf)) {
			r = err_set(e, STRATA_EIO, "report: a list placeholder names no layer read");
			break;
		}
		if (kind == 'p') {
			r = json_write_list(&b, LIST_CHUNK, line, json_depth_at(txt, m), pkg_element,
					    (void *)&reps[i].layers[j], 0, w, ctx, e);
		} else {
			if (i != img) {
				strmap_release(&regs);  /* hardlinks name files of their own image */
				img = (size_t)i;
			}
			r = files_json(reps[i].layers[j].lf, has_hardlinks(&reps[i]) ? &regs : NULL, &b, w, ctx, e);
		}
		if (r == 0)
			r = buf_flush(&b, 1, w, ctx, e);
		p = end + 1;
	}
	if (r == 0)
		r = w(ctx, p, strlen(p), e);
	strmap_release(&regs);
	buf_release(&b);
	return r;
}

/* A raw node that analyze_json_write() replaces with list kind ('f', 'p') of a layer. */
static cJSON *placeholder(char kind, size_t img, size_t idx)
{
	char mark[64];

	snprintf(mark, sizeof(mark), "%c%c%zu:%zu%c", LIST_MARK, kind, img, idx, LIST_MARK);
	return cJSON_CreateRaw(mark);
}

static cJSON *layer_json(const struct layer_report *lr, size_t img, size_t idx, unsigned what)
{
	const struct layer *l = lr->layer;
	const struct member *m = l->m;
	cJSON *o = cJSON_CreateObject(), *c, *a;
	size_t i;
	int t;

	cJSON_AddNumberToObject(o, "index", (double)idx + 1);
	json_put(o, "digest", str_or_null(l->desc.digest[0] ? l->desc.digest : NULL));
	json_put(o, "diff_id", str_or_null(l->diff_id));
	cJSON_AddNumberToObject(o, "stored_size", (double)(l->desc.size >= 0 ? (uint64_t)l->desc.size : 0));
	cJSON_AddNumberToObject(o, "tar_size", (double)(m && m->decoded ? m->tar_size : 0));
	cJSON_AddNumberToObject(o, "size", (double)(lr->lf ? lr->lf->file_bytes : 0));
	cJSON_AddBoolToObject(o, "present", lr->lf != NULL);
	json_put(o, "created_by", str_or_null(lr->created_by));
	a = cJSON_AddArrayToObject(o, "empty_history_before");
	for (i = 0; i < lr->n_empty_before; i++)
		json_push(a, cJSON_CreateString(lr->empty_before[i]));
	c = cJSON_AddObjectToObject(o, "entries");
	for (t = 0; t < 8; t++)
		cJSON_AddNumberToObject(c, type_names[t], (double)(lr->lf ? lr->lf->counts[t] : 0));
	cJSON_AddNumberToObject(c, "whiteout", (double)(lr->lf ? lr->lf->whiteouts : 0));
	cJSON_AddNumberToObject(c, "opaque", (double)(lr->lf ? lr->lf->opaques : 0));
	cJSON_AddNumberToObject(o, "added", (double)lr->added);
	cJSON_AddNumberToObject(o, "modified", (double)lr->modified);
	cJSON_AddNumberToObject(o, "deleted", (double)lr->deleted);
	cJSON_AddNumberToObject(o, "bytes_added", (double)lr->bytes_added);
	cJSON_AddNumberToObject(o, "bytes_wasted", (double)lr->bytes_wasted);
	a = cJSON_AddArrayToObject(o, "largest");
	for (i = 0; i < lr->n_largest; i++) {
		c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "path", lr->largest[i].path);
		cJSON_AddNumberToObject(c, "size", (double)lr->largest[i].size);
		json_push(a, c);
	}
	json_put(o, "setuid", list_json(&lr->setuid));
	json_put(o, "setgid", list_json(&lr->setgid));
	json_put(o, "world_writable", list_json(&lr->world_writable));
	json_put(o, "devices", list_json(&lr->devices));
	if (what & REPORT_STREAMED) {
		json_put(o, "packages", placeholder('p', img, idx));
	} else {
		a = cJSON_AddArrayToObject(o, "packages");
		for (i = 0; i < lr->npkgs; i++)
			json_push(a, pkg_change_json(&lr->pkgs[i]));
	}
	if ((what & REPORT_FILES) && lr->lf)
		json_put(o, "files", placeholder('f', img, idx));
	return o;
}

static cJSON *rules_json(const struct image_report *r, const struct fail_rules *x)
{
	cJSON *a = cJSON_CreateArray(), *o;
	size_t i;

	if (!x)
		return a;
	if (x->has_eff) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "rule", "lowestEfficiency");
		cJSON_AddNumberToObject(o, "limit", x->lowest_efficiency);
		cJSON_AddNumberToObject(o, "value", round6(r->efficiency));
		cJSON_AddBoolToObject(o, "pass", !fail_eff(r, x));
		json_push(a, o);
	}
	if (x->has_wasted) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "rule", "highestWastedBytes");
		cJSON_AddNumberToObject(o, "limit", (double)x->highest_wasted);
		cJSON_AddNumberToObject(o, "value", (double)r->wasted);
		cJSON_AddBoolToObject(o, "pass", !fail_wasted(r, x));
		json_push(a, o);
	}
	if (x->has_pct) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "rule", "highestUserWastedPercent");
		cJSON_AddNumberToObject(o, "limit", x->highest_user_wasted_percent);
		cJSON_AddNumberToObject(o, "value", round6(r->user_wasted_percent));
		cJSON_AddBoolToObject(o, "pass", !fail_pct(r, x));
		json_push(a, o);
	}
	for (i = 0; i < x->nrisk; i++) {
		uint64_t v = risk_total(r, x->risk[i].mask);

		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "rule", x->risk[i].name);
		cJSON_AddNumberToObject(o, "limit", (double)x->risk[i].max);
		cJSON_AddNumberToObject(o, "value", (double)v);
		cJSON_AddBoolToObject(o, "pass", v <= x->risk[i].max);
		json_push(a, o);
	}
	return a;
}

cJSON *analyze_json(const struct source *s, const struct image_report *reps, size_t n, unsigned what,
		    const struct fail_rules *rules)
{
	cJSON *root = cJSON_CreateObject(), *imgs, *o, *a, *sum;
	size_t i, j;

	cJSON_AddNumberToObject(root, "schema", 1);
	cJSON_AddStringToObject(root, "format", s->format_name);
	imgs = cJSON_AddArrayToObject(root, "images");
	for (i = 0; i < n; i++) {
		const struct image_report *r = &reps[i];
		const struct image *im = r->im;
		uint64_t stored = 0;

		o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "index", (double)i);
		a = cJSON_AddArrayToObject(o, "tags");
		for (j = 0; j < im->ntags; j++)
			json_push(a, cJSON_CreateString(im->tags[j]));
		json_put(o, "config", str_or_null(im->config.digest[0] ? im->config.digest : NULL));
		json_put(o, "manifest", str_or_null(im->has_manifest ? im->manifest.digest : NULL));
		{
			char plat[96];

			snprintf(plat, sizeof(plat), "%s/%s%s%s", im->platform.os ? im->platform.os : "?",
				 im->platform.arch ? im->platform.arch : "?", im->platform.variant ? "/" : "",
				 im->platform.variant ? im->platform.variant : "");
			cJSON_AddStringToObject(o, "platform", plat);
		}
		json_put(o, "created", str_or_null(json_str(im->config_json, "created")));
		json_put(o, "provenance", provenance_json(im));
		for (j = 0; j < r->nlayers; j++)
			stored += r->layers[j].layer->desc.size > 0 ? (uint64_t)r->layers[j].layer->desc.size : 0;
		sum = cJSON_AddObjectToObject(o, "summary");
		cJSON_AddNumberToObject(sum, "layers", (double)r->nlayers);
		cJSON_AddNumberToObject(sum, "files", (double)r->files);
		cJSON_AddNumberToObject(sum, "stored_size", (double)stored);
		cJSON_AddNumberToObject(sum, "size", (double)r->size);
		cJSON_AddNumberToObject(sum, "user_size", (double)r->user_size);
		cJSON_AddNumberToObject(sum, "wasted_bytes", (double)r->wasted);
		cJSON_AddNumberToObject(sum, "user_wasted_percent", round6(r->user_wasted_percent));
		cJSON_AddNumberToObject(sum, "efficiency", round6(r->efficiency));
		a = cJSON_AddArrayToObject(o, "layers");
		for (j = 0; j < r->nlayers; j++)
			json_push(a, layer_json(&r->layers[j], i, j, what));
		a = cJSON_AddArrayToObject(o, "trailing_history");
		for (j = 0; j < r->n_trailing; j++)
			json_push(a, cJSON_CreateString(r->trailing_history[j]));
		a = cJSON_AddArrayToObject(o, "inefficiencies");
		for (j = 0; j < r->nineff; j++) {
			cJSON *f = cJSON_CreateObject();

			cJSON_AddStringToObject(f, "path", r->ineff[j].path);
			cJSON_AddNumberToObject(f, "count", r->ineff[j].count);
			cJSON_AddNumberToObject(f, "wasted_bytes", (double)r->ineff[j].cumulative);
			json_push(a, f);
		}
		a = cJSON_AddObjectToObject(o, "package_ecosystems");
		for (j = 0; j < PKG_ECO_N; j++)
			cJSON_AddStringToObject(a, pkg_eco_names[j], r->pkg_notes[j]);
		json_put(o, "rules", rules_json(r, rules));
		json_put(o, "findings", findings_json(r));
		json_push(imgs, o);
	}
	return root;
}

/* ---- text ---- */

/* Cut a history line to fit, dropping Docker's "/bin/sh -c #(nop) " noise. */
static void short_cmd(const char *cb, char *out, size_t n)
{
	if (!cb)
		cb = "";
	if (!strncmp(cb, "/bin/sh -c #(nop) ", 18))
		cb += 18;
	else if (!strncmp(cb, "/bin/sh -c ", 11))
		cb += 11;
	while (*cb == ' ')
		cb++;
	if (strlen(cb) < n)
		snprintf(out, n, "%s", cb);
	else
		snprintf(out, n, "%.*s...", (int)n - 4, cb);
}

/* A path cut from the left to fit `width` columns ("...lib/x86_64/libfoo.so"). */
static const char *fit(const char *p, size_t width, char *buf, size_t n)
{
	size_t len = strlen(p);

	if (len <= width)
		return p;
	snprintf(buf, n, "...%s", p + len - (width - 3));
	return buf;
}


/* ---- verdict, provenance, findings ---- */

#ifndef STRATA_VERSION
#define STRATA_VERSION "unknown"
#endif

static bool verdict_ok(const struct report_meta *m)
{
	return diag_exit_code(m->d) == 0;
}

void analyze_verdict_json(cJSON *doc, const struct report_meta *m)
{
	cJSON *tmp = cJSON_CreateObject(), *in, *a, *it, *rest;
	size_t i;

	if (!tmp || !doc) {
		cJSON_Delete(tmp);
		return;  /* out of memory: noted by cJSON's hooks (common/err.h) */
	}
	cJSON_AddStringToObject(tmp, "strata_version", STRATA_VERSION);
	cJSON_AddBoolToObject(tmp, "verified", verdict_ok(m));
	a = cJSON_AddArrayToObject(tmp, "problems");
	for (i = 0; i < m->d->len; i++) {
		const struct problem *p = &m->d->v[i];
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "id", p->id);
		cJSON_AddNumberToObject(o, "code", p->code);
		cJSON_AddStringToObject(o, "severity", p->sev == SEV_ERROR ? "error" : "warning");
		cJSON_AddStringToObject(o, "member", p->member ? p->member : "");
		cJSON_AddStringToObject(o, "message", p->msg ? p->msg : "");
		json_push(a, o);
	}
	if (m->d->dropped)
		cJSON_AddNumberToObject(tmp, "problems_not_listed", (double)m->d->dropped);
	in = cJSON_AddObjectToObject(tmp, "input");
	cJSON_AddStringToObject(in, "path", m->path ? m->path : "");
	cJSON_AddStringToObject(in, "kind", m->kind ? m->kind : "file");
	json_put(in, "size", m->has_size ? cJSON_CreateNumber((double)m->size) : cJSON_CreateNull());
	json_put(in, "sha256", str_or_null(m->sha256));
	cJSON_AddStringToObject(in, "hashed", m->sha256 && m->hashed ? m->hashed : "nothing");
	/* after "schema", in this order: the items keep their keys when moved */
	rest = cJSON_CreateArray();
	while (rest && (it = doc->child)) {
		cJSON_DetachItemViaPointer(doc, it);
		cJSON_AddItemToArray(rest, it);
	}
	for (i = 0; rest && (it = rest->child); i++) {
		if (i == 1)
			while ((in = tmp->child)) {
				cJSON_DetachItemViaPointer(tmp, in);
				cJSON_AddItemToArray(doc, in);
			}
		cJSON_DetachItemViaPointer(rest, it);
		cJSON_AddItemToArray(doc, it);
	}
	cJSON_Delete(rest);
	cJSON_Delete(tmp);
}

int analyze_verdict_text(struct buf *b, const struct report_meta *m, struct strata_err *e)
{
	char s1[32], fp[128];
	size_t i, nerr = diag_count(m->d, SEV_ERROR);
	int r = 0;

#define P(...) do { if (r == 0) r = buf_printf(b, e, __VA_ARGS__); } while (0)
	P("strata %s analysis of %s\n", STRATA_VERSION, fit(m->path ? m->path : "", 70, fp, sizeof(fp)));
	if (verdict_ok(m))
		P("verdict: VERIFIED (every digest, size and diff_id matches; %zu warning%s)\n", m->d->len,
		  m->d->len == 1 ? "" : "s");
	else
		P("verdict: FAILED verification (%zu error%s, exit %d); the report below is of what could be read\n", nerr,
		  nerr == 1 ? "" : "s", diag_exit_code(m->d));
	for (i = 0; i < m->d->len && i < 20; i++) {
		const struct problem *p = &m->d->v[i];
		char line[200];

		P("  %s %s (exit %d)%s%s\n", p->sev == SEV_ERROR ? "error" : "warning", p->id, p->code,
		  p->member && *p->member ? " in " : "", p->member && *p->member ? fit(p->member, 60, fp, sizeof(fp)) : "");
		snprintf(line, sizeof(line), "%s", p->msg ? p->msg : "");
		if (strlen(line) > 94)
			memcpy(line + 91, "...", 4);
		P("    %s\n", line);
	}
	if (m->d->len > 20)
		P("  ... and %zu more problems (--json lists them all)\n", m->d->len - 20);
	P("input: %s", m->kind ? m->kind : "file");
	if (m->has_size)
		P(", %s (%llu bytes)", human_size(m->size, s1), (unsigned long long)m->size);
	P("\n");
	if (m->sha256) {
		const char *h = m->hashed ? m->hashed : "the input", *paren = strstr(h, " (");

		P("  sha256 of %.*s: %s\n", (int)(paren ? (size_t)(paren - h) : strlen(h)), h, m->sha256 + 7);
		if (paren)
			P("  %s\n", paren + 1);
	}
	else
		P("  sha256: not computed (%s)\n", m->hashed ? m->hashed : "no single file");
#undef P
	return r;
}

static const char *const prov_keys[] = { "source", "revision", "version", "created", "authors", "licenses" };

static cJSON *provenance_json(const struct image *im)
{
	const cJSON *sets[3] = { json_get(json_get(im->config_json, "config"), "Labels"),
				 im->manifest_json ? json_get(im->manifest_json, "annotations") : NULL, im->top_annotations };
	static const char *const from[3] = { "config label", "manifest annotation", "index annotation" };
	cJSON *a = cJSON_CreateArray();
	size_t k, j;

	for (k = 0; k < sizeof(prov_keys) / sizeof(prov_keys[0]); k++)
		for (j = 0; j < 3; j++) {
			char key[64];
			const char *v;
			cJSON *o;

			snprintf(key, sizeof(key), "org.opencontainers.image.%s", prov_keys[k]);
			if (!cJSON_IsObject(sets[j]) || !(v = json_str(sets[j], key)))
				continue;
			o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "key", key);
			cJSON_AddStringToObject(o, "value", v);
			cJSON_AddStringToObject(o, "from", from[j]);
			json_push(a, o);
		}
	return a;
}

static cJSON *findings_json(const struct image_report *r)
{
	cJSON *o = cJSON_CreateObject(), *a, *c;
	size_t i;

	cJSON_AddBoolToObject(o, "checked", r->risk_unscanned == 0);
	a = cJSON_AddArrayToObject(o, "not_checked");
	for (i = 0; i < r->nlayers; i++) {
		const struct layer_report *lr = &r->layers[i];
		char why[96];

		if (lr->lf && lr->lf->risk_scanned)
			continue;
		snprintf(why, sizeof(why), "layer %zu: %s", i + 1,
			 !lr->lf ? (lr->layer->m ? "its tar could not be read" : "not in the archive") : "content not scanned");
		json_push(a, cJSON_CreateString(why));
	}
	cJSON_AddNumberToObject(o, "scan_bytes_per_file", RISK_SCAN_MAX);
	c = cJSON_AddObjectToObject(o, "counts");
	for (i = 0; i < RISK_COUNT; i++)
		cJSON_AddNumberToObject(c, risk_ids[i], (double)r->risk_count[i]);
	cJSON_AddNumberToObject(o, "not_listed", (double)r->hits_dropped);
	a = cJSON_AddArrayToObject(o, "items");
	for (i = 0; i < r->nhits; i++) {
		const struct risk_hit *h = &r->hits[i];

		c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "rule", risk_ids[h->rule]);
		cJSON_AddNumberToObject(c, "layer", (double)h->layer + 1);
		cJSON_AddStringToObject(c, "path", h->path);
		cJSON_AddStringToObject(c, "detail", h->detail);
		cJSON_AddBoolToObject(c, "in_final_image", h->removed_by < 0);
		json_put(c, "removed_by_layer", h->removed_by < 0 ? cJSON_CreateNull() : cJSON_CreateNumber((double)h->removed_by + 1));
		json_push(a, c);
	}
	return o;
}

static int findings_text(struct buf *b, const struct image_report *rp, struct strata_err *e)
{
	char fp[128], line[200];
	size_t i, j;
	int r = 0;

#define P(...) do { if (r == 0) r = buf_printf(b, e, __VA_ARGS__); } while (0)
	if (rp->risk_unscanned == rp->nlayers && rp->nlayers) {
		P("\n  findings: not checked (no layer's content could be read)\n");
		return r;
	}
	if (!rp->nhits && !rp->hits_dropped)
		P("\n  findings: none found (secrets, credential files, shadow passwords, capabilities, setuid/setgid,\n"
		  "    world-writable; the first %u MiB of each file scanned)\n", RISK_SCAN_MAX >> 20);
	else
		P("\n  findings (%zu; the first %u MiB of each file scanned):\n     layer  rule                             path\n",
		  rp->nhits + (size_t)rp->hits_dropped, RISK_SCAN_MAX >> 20);
	for (i = 0; i < rp->nhits && i < 50; i++) {
		const struct risk_hit *h = &rp->hits[i];

		P("  %8zu  %-32s %s\n", h->layer + 1, risk_ids[h->rule], fit(h->path, 55, fp, sizeof(fp)));
		if (h->removed_by >= 0)
			snprintf(line, sizeof(line), "%s; %s by layer %ld, still shipped in layer %zu", h->detail,
				 (size_t)h->removed_by == h->layer ? "replaced" : "removed", h->removed_by + 1, h->layer + 1);
		else
			snprintf(line, sizeof(line), "%s", h->detail);
		if (strlen(line) > 88)
			memcpy(line + 85, "...", 4);
		if (*line)
			P("            %s\n", line);
	}
	if (rp->nhits + rp->hits_dropped > 50)
		P("  ... and %llu more (--json lists %s)\n", (unsigned long long)(rp->nhits + rp->hits_dropped - 50),
		  rp->hits_dropped ? "the first " "5000" : "them all");
	for (i = 0, j = 0; i < rp->nlayers; i++)
		if (!rp->layers[i].lf || !rp->layers[i].lf->risk_scanned) {
			P("%s%zu", j++ ? ", " : "  not checked: layer ", i + 1);
		}
	if (j)
		P(" (not in the archive or unreadable)\n");
#undef P
	return r;
}

#define P(...) do { if (r == 0) r = buf_printf(b, e, __VA_ARGS__); } while (0)

/* The image line, its digests, creation time, provenance and totals. */
static int image_head_text(struct buf *b, const struct source *s, const struct image_report *rp, size_t i,
			   struct strata_err *e)
{
	const struct image *im = rp->im;
	char s1[32], s2[32];
	size_t j;
	int r = 0;

	P("%simage %zu", i ? "\n" : "", i);
	for (j = 0; j < im->ntags && j < 2; j++)
		P("%s%.60s", j ? ", " : ": ", im->tags[j]);
	if (im->ntags > 2)
		P(" (+%zu tags)", im->ntags - 2);
	P(" (%s, %s/%s)\n", s->format_name, im->platform.os ? im->platform.os : "?",
	  im->platform.arch ? im->platform.arch : "?");
	P("  manifest %s\n  config   %s\n",
	  im->has_manifest ? im->manifest.digest
	  : !strcmp(s->format_name, "rootfs") ? "none (a rootfs tarball)" : "none (a manifest.json entry has no digest)",
	  im->config.digest[0] ? im->config.digest : !strcmp(s->format_name, "rootfs") ? "none (a rootfs tarball)" : "none");
	P("  created  %.40s\n", json_str(im->config_json, "created") ? json_str(im->config_json, "created") : "not set");
	{
		cJSON *pv = provenance_json(im), *x;

		if (!pv)
			r = err_nomem(e, "report");
		else if (!cJSON_GetArraySize(pv))
			P("  provenance: none found (no org.opencontainers.image.* label or annotation)\n");
		cJSON_ArrayForEach(x, pv) {
			char line[200];

			if (!json_str(x, "key") || !json_str(x, "value") || !json_str(x, "from")) {
				r = r ? r : err_nomem(e, "report");  /* a part could not be allocated */
				break;
			}
			snprintf(line, sizeof(line), "  %s = %s (%s)", json_str(x, "key") + 25, json_str(x, "value"),
				 json_str(x, "from"));
			if (strlen(line) > 98)
				memcpy(line + 95, "...", 4);
			P("  provenance %s\n", line + 2);
		}
		cJSON_Delete(pv);
	}
	P("  size %s in %zu layers, %llu files; wasted %s (%.1f%% of user layers); efficiency %.2f%%\n",
	  human_size(rp->size, s1), rp->nlayers, (unsigned long long)rp->files, human_size(rp->wasted, s2),
	  100 * rp->user_wasted_percent, 100 * rp->efficiency);
	return r;
}

/* The layer table and the paths that waste space. */
static int layers_text(struct buf *b, const struct image_report *rp, struct strata_err *e)
{
	char s1[32], s2[32], s3[32], cmd[34], fp[128];
	size_t j;
	int r = 0;

	P("\n   #      stored        size   added  modif.  delet.      wasted  created by\n");
	for (j = 0; j < rp->nlayers; j++) {
		const struct layer_report *lr = &rp->layers[j];

		short_cmd(lr->created_by, cmd, sizeof(cmd));
		P("  %2zu %11s %11s %7llu %7llu %7llu %11s  %s\n", j + 1,
		  lr->layer->desc.size >= 0 ? human_size((uint64_t)lr->layer->desc.size, s1) : "?",
		  lr->lf ? human_size(lr->lf->file_bytes, s2) : "missing", (unsigned long long)lr->added,
		  (unsigned long long)lr->modified, (unsigned long long)lr->deleted, human_size(lr->bytes_wasted, s3), cmd);
	}
	if (rp->nineff) {
		P("\n  wasted space (paths in more than one layer):\n     count      wasted  path\n");
		for (j = 0; j < rp->nineff && j < 10; j++)
			P("  %8u %11s  %s\n", rp->ineff[j].count, human_size(rp->ineff[j].cumulative, s1),
			  fit(rp->ineff[j].path, 76, fp, sizeof(fp)));
		if (rp->nineff > 10)
			P("  ... and %zu more\n", rp->nineff - 10);
	} else {
		P("\n  wasted space: none found (no path in more than one layer)\n");
	}
	return r;
}

/* Each layer's largest files, security-relevant entries and package changes. */
static int layer_details_text(struct buf *b, const struct image_report *rp, struct strata_err *e)
{
	char s1[32], fp[128];
	size_t j, k;
	int r = 0;

	for (j = 0; j < rp->nlayers; j++) {
		const struct layer_report *lr = &rp->layers[j];
		const struct list *lists[4] = { &lr->setuid, &lr->setgid, &lr->world_writable, &lr->devices };
		static const char *names[4] = { "setuid", "setgid", "world-writable", "device" };

		if (lr->n_largest) {
			P("\n  layer %zu largest files:\n", j + 1);
			for (k = 0; k < lr->n_largest && k < 5; k++)
				P("  %11s  %s\n", human_size(lr->largest[k].size, s1), fit(lr->largest[k].path, 85, fp, sizeof(fp)));
		}
		for (k = 0; k < 4; k++) {
			size_t q;

			if (!lists[k]->total)
				continue;
			P("  layer %zu %s (%zu):\n", j + 1, names[k], lists[k]->total);
			for (q = 0; q < lists[k]->len && q < 5; q++)
				P("    %s\n", fit(lists[k]->v[q].path, 94, fp, sizeof(fp)));
			if (lists[k]->total > 5)
				P("    ... and %zu more\n", lists[k]->total - 5);
		}
		if (lr->npkgs) {
			P("  layer %zu packages (%zu changes):\n", j + 1, lr->npkgs);
			for (k = 0; k < lr->npkgs && k < 12; k++) {
				const struct pkg_change *p = &lr->pkgs[k];

				if (!p->from)
					P("    + %.40s %.40s (%s)\n", p->name, p->to, p->db);
				else if (!p->to)
					P("    - %.40s %.40s (%s)\n", p->name, p->from, p->db);
				else
					P("    ~ %.30s %.26s -> %.26s (%s)\n", p->name, p->from, p->to, p->db);
			}
			if (lr->npkgs > 12)
				P("    ... and %zu more\n", lr->npkgs - 12);
		}
	}
	return r;
}

/* "packages: 4 dpkg, 2 python; none found: apk, rpm, npm, go", then what was not checked. */
static int packages_text(struct buf *b, const struct image_report *rp, struct strata_err *e)
{
	const char *sep = "";
	size_t j, none = 0;
	int r = 0;

	P("  packages:");
	for (j = 0; j < PKG_ECO_N; j++) {
		const char *note = rp->pkg_notes[j];

		if (strncmp(note, "none", 4) && strncmp(note, "not checked", 11)) {
			P("%s %.*s %s", sep, (int)strcspn(note, " "), note, pkg_eco_names[j]);
			sep = ",";
		}
		none += !strncmp(note, "none", 4);
	}
	if (none) {
		P("%s none found:", *sep ? ";" : "");
		sep = "";
		for (j = 0; j < PKG_ECO_N; j++)
			if (!strncmp(rp->pkg_notes[j], "none", 4)) {
				P("%s %s", sep, pkg_eco_names[j]);
				sep = ",";
			}
	}
	P("\n");
	for (j = 0; j < PKG_ECO_N; j++) {
		const char *nc = strstr(rp->pkg_notes[j], "not checked");

		if (nc)
			P("  %s: %s\n", pkg_eco_names[j], nc);
	}
	return r;
}

/* --fail-on's rules, each with its value and limit. */
static int rules_text(struct buf *b, const struct image_report *rp, const struct fail_rules *rules,
		      struct strata_err *e)
{
	char s1[32], s2[32];
	size_t k;
	int r = 0;

	if (rules && (rules->has_eff || rules->has_wasted || rules->has_pct || rules->nrisk)) {
		P("\n  rules:\n");
		if (rules->has_eff)
			P("    %s lowestEfficiency: %.4f (limit %.4f)\n", fail_eff(rp, rules) ? "FAIL" : "PASS",
			  rp->efficiency, rules->lowest_efficiency);
		if (rules->has_wasted)
			P("    %s highestWastedBytes: %s (limit %s)\n", fail_wasted(rp, rules) ? "FAIL" : "PASS",
			  human_size(rp->wasted, s1), human_size(rules->highest_wasted, s2));
		if (rules->has_pct)
			P("    %s highestUserWastedPercent: %.4f (limit %.4f)\n", fail_pct(rp, rules) ? "FAIL" : "PASS",
			  rp->user_wasted_percent, rules->highest_user_wasted_percent);
		for (k = 0; k < rules->nrisk; k++) {
			uint64_t v = risk_total(rp, rules->risk[k].mask);

			P("    %s %s: %llu finding%s (limit %llu)\n", v > rules->risk[k].max ? "FAIL" : "PASS",
			  rules->risk[k].name, (unsigned long long)v, v == 1 ? "" : "s",
			  (unsigned long long)rules->risk[k].max);
		}
	}
	return r;
}

#undef P

/* Lines are kept within 100 columns: fixed columns, then paths and commands cut to fit. */
int analyze_text(struct buf *b, const struct source *s, const struct image_report *reps, size_t n,
		 const struct fail_rules *rules, struct strata_err *e)
{
	size_t i;
	int r = 0;

	for (i = 0; i < n && r == 0; i++) {
		const struct image_report *rp = &reps[i];

		if ((r = image_head_text(b, s, rp, i, e)) == 0 && (r = layers_text(b, rp, e)) == 0 &&
		    (r = layer_details_text(b, rp, e)) == 0 && (r = packages_text(b, rp, e)) == 0 &&
		    (r = findings_text(b, rp, e)) == 0 && rules)
			r = rules_text(b, rp, rules, e);
	}
	return r;
}

/* ---- --files as text ---- */

int analyze_files_text(const struct image_report *reps, size_t n, report_write_fn w, void *ctx, struct strata_err *e)
{
	struct buf b = BUF_INIT((size_t)1 << 30);
	struct files_reader rd;
	const struct fentry *f;
	size_t i, j, k;
	int r = 0, got;

#define P(...) do { if (r == 0) r = buf_printf(&b, e, __VA_ARGS__); } while (0)
	for (i = 0; i < n && r == 0; i++) {
		struct strmap regs = STRMAP_INIT;
		struct strmap *rp = has_hardlinks(&reps[i]) ? &regs : NULL;

		for (j = 0; j < reps[i].nlayers && r == 0; j++) {
			const struct layer_files *lf = reps[i].layers[j].lf;

			if (!lf) {
				P("\nimage %zu layer %zu files: not read (not in the archive or unreadable)\n", i, j + 1);
				continue;
			}
			P("\nimage %zu layer %zu files (%zu entries): type mode uid:gid size sha256 path\n", i, j + 1, lf->nent);
			files_read_init(&rd, lf);
			while (r == 0 && (got = files_read(&rd, &f, &k, e)) != 0) {
				char hex[65];
				const char *h;

				if (got < 0) {
					r = got;
					break;
				}
				h = content_hex(f, rp, hex);
				P("  %-8s %04o %u:%u %llu %s %s%s%s\n", f->flags & FE_WHITEOUT ? "whiteout"
				  : f->flags & FE_OPAQUE ? "opaque" : type_names[f->type & 7], f->mode & 07777, f->uid, f->gid,
				  (unsigned long long)f->size, h ? h : "-", f->path, f->has_link ? " -> " : "", f->has_link ? fentry_link(f) : "");
				if (r == 0)
					r = buf_flush(&b, LIST_CHUNK, w, ctx, e);
			}
			files_read_release(&rd);
		}
		strmap_release(&regs);
	}
#undef P
	if (r == 0)
		r = buf_flush(&b, 1, w, ctx, e);
	buf_release(&b);
	return r;
}
