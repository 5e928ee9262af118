/* diff.c - compare two images; see diff.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/diff.h"
#include "common/buf.h"
#include "common/strmap.h"
#include "common/xsort.h"
#include "formats/layerfs.h"
#include "common/size.h"
#include "formats/json.h"

/* A changed file's record: in_a | in_b << 1, what, size_a, size_b (8 bytes each), the path and its NUL;
 * counted by kind. */
#define CHANGE_FIXED 18

static int add_change(struct image_diff *d, struct buf *rec, const struct fentry *a, const struct fentry *b,
		      unsigned what, struct strata_err *e)
{
	const char *path = b ? b->path : a->path;
	uint8_t fixed[CHANGE_FIXED];
	uint64_t sa = a ? a->size : 0, sb = b ? b->size : 0;

	fixed[0] = (uint8_t)((a ? 1 : 0) | (b ? 2 : 0));
	fixed[1] = (uint8_t)what;
	memcpy(fixed + 2, &sa, 8);
	memcpy(fixed + 10, &sb, 8);
	rec->len = 0;
	if (buf_add(rec, fixed, CHANGE_FIXED, e) < 0 || buf_add(rec, path, strlen(path) + 1, e) < 0)
		return -e->code;
	if (!a)
		d->added++;
	else if (!b)
		d->removed++;
	else
		d->changed++;
	return spill_log_add(&d->files, rec->data, rec->len, e);
}

void diff_files_init(struct diff_files *it, const struct image_diff *d)
{
	memset(it, 0, sizeof(*it));
	spill_read_init(&it->rd, &d->files);
}

int diff_files_next(struct diff_files *it, const struct file_change **c, struct strata_err *e)
{
	const uint8_t *rec;
	const void *p;
	size_t n;
	int r = spill_read(&it->rd, &p, &n, e);

	if (r != 1)
		return r;
	rec = p;
	it->c.in_a = rec[0] & 1;
	it->c.in_b = (rec[0] & 2) != 0;
	it->c.what = rec[1];
	memcpy(&it->c.size_a, rec + 2, 8);
	memcpy(&it->c.size_b, rec + 10, 8);
	it->c.path = (const char *)rec + CHANGE_FIXED;
	*c = &it->c;
	return 1;
}

void diff_files_release(struct diff_files *it)
{
	spill_read_release(&it->rd);
}

static unsigned compare(const struct fentry *a, const struct fentry *b)
{
	unsigned w = 0;

	if (a->type != b->type)
		w |= CH_TYPE;
	if (a->size != b->size)
		w |= CH_SIZE;
	if ((a->mode & 07777) != (b->mode & 07777))
		w |= CH_MODE;
	if (a->uid != b->uid || a->gid != b->gid)
		w |= CH_OWNER;
	if (a->has_digest && b->has_digest) {
		uint8_t da[32], db[32];
		const uint8_t *x = fentry_digest(a, da), *y = fentry_digest(b, db);

		if (x && y && memcmp(x, y, 32))  /* (one that cannot be read back: digests_check()) */
			w |= CH_CONTENT;
	}
	if ((a->has_link || b->has_link) &&
	    (!a->has_link || !b->has_link || strcmp(fentry_link(a), fentry_link(b))))
		w |= CH_LINK;
	return w;
}

static void config_field(cJSON *out, const char *field, const cJSON *a, const cJSON *b)
{
	char *sa = a ? cJSON_PrintUnformatted(a) : NULL, *sb = b ? cJSON_PrintUnformatted(b) : NULL;

	if ((sa || sb) && (!sa || !sb || strcmp(sa, sb))) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "field", field);
		json_put(o, "a", a ? cJSON_Duplicate(a, 1) : cJSON_CreateNull());
		json_put(o, "b", b ? cJSON_Duplicate(b, 1) : cJSON_CreateNull());
		json_push(out, o);
	}
	free(sa);
	free(sb);
}

/* ---- packages: the SBOM of each side ---- */

static int pkg_key(const struct sbom_pkg *p, struct buf *k, struct strata_err *e)
{
	k->len = 0;
	return buf_printf(k, e, "%s/%s?%s", p->type, p->p->name, p->p->arch ? p->p->arch : "");
}

static bool same_licenses(const struct sbom_pkg *a, const struct sbom_pkg *b)
{
	size_t i;

	if (a->nlic != b->nlic)
		return false;
	for (i = 0; i < a->nlic; i++)
		if (strcmp(a->licenses[i], b->licenses[i]))
			return false;
	return true;
}

static int pkg_delta_add(struct image_diff *d, const struct sbom_pkg *a, const struct sbom_pkg *b, struct strata_err *e)
{
	bool ver = a && b && strcmp(a->p->version, b->p->version), lic = a && b && !same_licenses(a, b);

	if (a && b && !ver && !lic)
		return 0;
	if (array_grow(&d->pkgs, d->npkgs, &d->apkgs, sizeof(*d->pkgs), 16) < 0)
		return err_nomem(e, "diff");
	d->pkgs[d->npkgs++] = (struct pkg_delta){ a, b, ver, lic };
	return 0;
}

static int cmp_pkg_delta(const void *x, const void *y)
{
	const struct pkg_delta *a = x, *b = y;
	const struct sbom_pkg *pa = a->b ? a->b : a->a, *pb = b->b ? b->b : b->a;
	int c = strcmp(pa->p->name, pb->p->name);

	return c ? c : strcmp(pa->type, pb->type);
}

/* The packages of both SBOMs matched. */
static int diff_packages(struct image_diff *d, struct strata_err *e)
{
	struct strmap ka = STRMAP_INIT, kb = STRMAP_INIT;
	struct buf k = BUF_INIT(1u << 16);
	size_t i;
	int r;

	for (i = 0, r = 0; i < d->sa.len && r == 0; i++)
		if ((r = pkg_key(&d->sa.v[i], &k, e)) == 0 && strmap_put(&ka, k.data, &d->sa.v[i], e) < 0)
			r = -e->code;
	for (i = 0; i < d->sb.len && r == 0; i++)
		if ((r = pkg_key(&d->sb.v[i], &k, e)) == 0 && strmap_put(&kb, k.data, &d->sb.v[i], e) < 0)
			r = -e->code;
	for (i = 0; i < d->sb.len && r == 0; i++)
		if ((r = pkg_key(&d->sb.v[i], &k, e)) == 0)
			r = pkg_delta_add(d, strmap_get(&ka, k.data), &d->sb.v[i], e);
	for (i = 0; i < d->sa.len && r == 0; i++)
		if ((r = pkg_key(&d->sa.v[i], &k, e)) == 0 && !strmap_get(&kb, k.data))
			r = pkg_delta_add(d, &d->sa.v[i], NULL, e);
	if (r == 0 && d->npkgs > 1)
		qsort(d->pkgs, d->npkgs, sizeof(*d->pkgs), cmp_pkg_delta);
	strmap_release(&ka);
	strmap_release(&kb);
	buf_release(&k);
	return r;
}

/* ---- risk findings: analyze's placement on each side ---- */

static int risk_keys(const struct image_report *rep, struct strmap *m, struct buf *k, struct strata_err *e)
{
	size_t i;

	for (i = 0; i < rep->nhits; i++) {
		k->len = 0;
		if (buf_printf(k, e, "%s\t%s", risk_ids[rep->hits[i].rule], rep->hits[i].path) < 0)
			return -e->code;
		if (!strmap_get(m, k->data) && strmap_put(m, k->data, (void *)&rep->hits[i], e) < 0)
			return -e->code;
	}
	return 0;
}

static int risks_only(struct image_diff *d, const struct strmap *mine, const struct strmap *other, bool appeared,
		      struct strata_err *e)
{
	size_t i;

	for (i = 0; i < mine->len; i++) {
		if (strmap_get(other, mine->items[i].key))
			continue;
		if (array_grow(&d->risks, d->nrisks, &d->arisks, sizeof(*d->risks), 16) < 0)
			return err_nomem(e, "diff");
		d->risks[d->nrisks++] = (struct risk_delta){ mine->items[i].val, appeared };
	}
	return 0;
}

static int diff_risks(struct image_diff *d, struct strata_err *e)
{
	struct strmap ka = STRMAP_INIT, kb = STRMAP_INIT;
	struct buf k = BUF_INIT(1u << 16);
	int r;

	if ((r = risk_keys(&d->ra, &ka, &k, e)) == 0 && (r = risk_keys(&d->rb, &kb, &k, e)) == 0 &&
	    (r = risks_only(d, &ka, &kb, false, e)) == 0)
		r = risks_only(d, &kb, &ka, true, e);
	strmap_release(&ka);
	strmap_release(&kb);
	buf_release(&k);
	return r;
}

#define DIFF_SORT_MEM (8u << 20)   /* each image's batch of final entries (xsort.h) */
#define DIFF_SPILL_MEM (1u << 20)  /* the final entries, then the changed files, kept in memory before the temp file */

/* One image: its layers stacked once for its SBOM (into sb; *has_sbom
 * false when a layer is missing or unreadable: no SBOM) and its final
 * entries (into log), the stack freed before the next image's. */
static int one_side(const struct image *im, struct sbom *sb, bool *has_sbom, struct spill_log *log,
		    struct strata_err *e)
{
	struct strata_err se = STRATA_ERR_INIT;
	struct lfs *v = NULL;
	int r;

	if ((r = layer_files_stack(im, &v, e)) < 0)
		return r;
	*has_sbom = sbom_build(im, v, sb, &se) == 0;
	if (!*has_sbom && se.code != STRATA_EFORMAT)  /* EFORMAT: a layer missing or unreadable, said by the scan */
		r = err_set(e, se.code, "%s", se.msg);
	if (r == 0)
		r = final_entries(im, v, log, e);
	lfs_free(v);
	return r;
}

/* The SBOMs and final entries of both images; the final entries sorted by
 * path once both stacks are freed.  An image without an SBOM has its
 * packages not compared. */
static int sides(struct image_diff *d, struct xsort *xa, struct xsort *xb, struct strata_err *e)
{
	struct spill s;
	struct spill_log la, lb;
	bool sa, sb;
	int r;

	spill_init(&s, DIFF_SPILL_MEM);
	spill_log_init(&la, &s);
	spill_log_init(&lb, &s);
	if ((r = one_side(d->a, &d->sa, &sa, &la, e)) == 0 && (r = one_side(d->b, &d->sb, &sb, &lb, e)) == 0) {
		d->pkgs_checked = sa && sb;
		if (d->pkgs_checked)
			r = diff_packages(d, e);
	}
	if (r == 0 && (r = xsort_add_log(xa, &la, e)) == 0)
		r = xsort_add_log(xb, &lb, e);
	spill_log_release(&la);
	spill_log_release(&lb);
	return r;
}

/* Both final filesystems sorted by path: one merge finds what is only in a,
 * only in b, or in both, and writes the changes in path order. */
static int diff_files(struct image_diff *d, struct xsort *xa, struct xsort *xb, struct strata_err *e)
{
	struct buf rec = BUF_INIT((size_t)1 << 30);
	struct fentry fa, fb;
	const void *p;
	size_t n;
	int ga, gb = 0, r = 0;

	if ((ga = xsort_next(xa, &p, &n, e)) == 1)
		layer_files_record(p, n, &fa);
	if (ga >= 0 && (gb = xsort_next(xb, &p, &n, e)) == 1)
		layer_files_record(p, n, &fb);
	if (ga < 0 || gb < 0)
		return -e->code;
	while ((ga || gb) && r == 0) {
		const struct fentry *a = ga ? &fa : NULL, *b = gb ? &fb : NULL;
		int c = !a ? 1 : !b ? -1 : strcmp(a->path, b->path);
		unsigned w;

		if (a && c <= 0 && a->type == TAR_FILE)
			d->size_delta -= (int64_t)a->size;
		if (b && c >= 0 && b->type == TAR_FILE)
			d->size_delta += (int64_t)b->size;
		if (c < 0 && a->type != TAR_DIR)
			r = add_change(d, &rec, a, NULL, 0, e);
		else if (c > 0 && b->type != TAR_DIR)
			r = add_change(d, &rec, NULL, b, 0, e);
		else if (c == 0 && (w = compare(a, b)) && (b->type != TAR_DIR || (w & (CH_MODE | CH_OWNER))))
			r = add_change(d, &rec, a, b, w, e);  /* a directory: its mode or owner only */
		/* the side (or both) whose entry was taken moves on */
		if (r == 0 && c <= 0 && (ga = xsort_next(xa, &p, &n, e)) == 1)
			layer_files_record(p, n, &fa);
		if (r == 0 && ga >= 0 && c >= 0 && (gb = xsort_next(xb, &p, &n, e)) == 1)
			layer_files_record(p, n, &fb);
		if (ga < 0 || gb < 0)
			r = -e->code;
	}
	if (r == 0)
		r = spill_log_seal(&d->files, e);
	buf_release(&rec);
	return r;
}

int diff_images(const struct image *ia, const struct image *ib, struct image_diff *d, struct strata_err *e)
{
	static const char *const fields[] = { "Env", "Cmd", "Entrypoint", "Labels", "User", "WorkingDir", "ExposedPorts",
					      "Volumes", "StopSignal" };
	const cJSON *ca = json_get(ia->config_json, "config"), *cb = json_get(ib->config_json, "config");
	struct xsort xa, xb;
	size_t i;
	int r;

	memset(d, 0, sizeof(*d));
	d->a = ia;
	d->b = ib;
	d->layers_a = ia->nlayers;
	d->layers_b = ib->nlayers;
	spill_init(&d->spill, DIFF_SPILL_MEM);
	spill_log_init(&d->files, &d->spill);
	xsort_init(&xa, DIFF_SORT_MEM);
	xsort_init(&xb, DIFF_SORT_MEM);
	while (d->shared_layers < ia->nlayers && d->shared_layers < ib->nlayers &&
	       ia->layers[d->shared_layers].diff_id && ib->layers[d->shared_layers].diff_id &&
	       !strcmp(ia->layers[d->shared_layers].diff_id, ib->layers[d->shared_layers].diff_id))
		d->shared_layers++;
	/* one image at a time: each stack is freed before the next is built */
	if ((r = analyze_image(ia, &d->ra, e)) < 0 || (r = analyze_image(ib, &d->rb, e)) < 0 ||
	    (r = diff_risks(d, e)) < 0 || (r = sides(d, &xa, &xb, e)) < 0 || (r = diff_files(d, &xa, &xb, e)) < 0)
		goto out;
	d->config = cJSON_CreateArray();
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		config_field(d->config, fields[i], json_get(ca, fields[i]), json_get(cb, fields[i]));
	config_field(d->config, "architecture", json_get(ia->config_json, "architecture"),
		     json_get(ib->config_json, "architecture"));
	config_field(d->config, "os", json_get(ia->config_json, "os"), json_get(ib->config_json, "os"));
out:
	xsort_release(&xa);
	xsort_release(&xb);
	return r;
}

static const char *what_str(unsigned w, char *buf, size_t n)
{
	snprintf(buf, n, "%s%s%s%s%s%s", w & CH_TYPE ? "type," : "", w & CH_SIZE ? "size," : "", w & CH_MODE ? "mode," : "",
		 w & CH_OWNER ? "owner," : "", w & CH_CONTENT ? "content," : "", w & CH_LINK ? "link," : "");
	if (*buf)
		buf[strlen(buf) - 1] = '\0';
	return buf;
}

bool diff_differs(const struct image_diff *d)
{
	return d->added || d->removed || d->changed || d->npkgs || d->nrisks || cJSON_GetArraySize(d->config) ||
	       d->shared_layers != d->layers_a || d->shared_layers != d->layers_b;
}

/* The database a package came from, as analyze names it: dpkg, apk, else the purl type. */
static const char *pkg_db(const struct sbom_pkg *p)
{
	return !strcmp(p->type, "deb") ? "dpkg" : p->type;
}

static cJSON *licenses_json(const struct sbom_pkg *p)
{
	cJSON *a;
	size_t i;

	if (!p)
		return cJSON_CreateNull();
	a = cJSON_CreateArray();
	for (i = 0; i < p->nlic; i++)
		json_push(a, cJSON_CreateString(p->licenses[i]));
	return a;
}

static const char *licenses_str(const struct sbom_pkg *p, char *buf, size_t n)
{
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; p && i < p->nlic && len < n; i++)
		len += (size_t)snprintf(buf + len, n - len, "%s%s", i ? " AND " : "", p->licenses[i]);
	return buf[0] ? buf : "no license found";
}

static cJSON *digest_or_null(const char *digest)
{
	return digest && digest[0] ? cJSON_CreateString(digest) : cJSON_CreateNull();
}

/* {"manifest": digest or null (docker-archive stores none), "config": digest} */
static cJSON *image_json(const struct image *im)
{
	cJSON *o = cJSON_CreateObject();

	json_put(o, "manifest", digest_or_null(im->has_manifest ? im->manifest.digest : NULL));
	json_put(o, "config", digest_or_null(im->config.digest));
	return o;
}

#define TEXT_CHUNK (64u << 10)  /* bytes of the text diff gathered before each write */

/* The long lists of the JSON diff, streamed in their places (formats/json.h). */
enum diff_list { L_FILES, L_PACKAGES };

static cJSON *file_json(const struct file_change *c)
{
	cJSON *x = cJSON_CreateObject();
	char w[64];

	cJSON_AddStringToObject(x, "path", c->path);
	cJSON_AddStringToObject(x, "change", !c->in_a ? "added" : !c->in_b ? "removed" : "changed");
	if (c->in_a && c->in_b)
		cJSON_AddStringToObject(x, "what", what_str(c->what, w, sizeof(w)));
	if (c->in_a)
		cJSON_AddNumberToObject(x, "size_a", (double)c->size_a);
	if (c->in_b)
		cJSON_AddNumberToObject(x, "size_b", (double)c->size_b);
	return x;
}

static cJSON *pkg_json(const struct pkg_delta *p)
{
	const struct sbom_pkg *q = p->b ? p->b : p->a;
	cJSON *x = cJSON_CreateObject();

	cJSON_AddStringToObject(x, "db", pkg_db(q));
	cJSON_AddStringToObject(x, "name", q->p->name);
	cJSON_AddStringToObject(x, "change", !p->a ? "added" : !p->b ? "removed" : p->version ? "upgraded" : "relicensed");
	json_put(x, "from", p->a ? cJSON_CreateString(p->a->p->version) : cJSON_CreateNull());
	json_put(x, "to", p->b ? cJSON_CreateString(p->b->p->version) : cJSON_CreateNull());
	json_put(x, "licenses_from", licenses_json(p->a));
	json_put(x, "licenses_to", licenses_json(p->b));
	return x;
}

/* What the JSON writer reads the lists from: the files in order from the spill. */
struct lists {
	const struct image_diff *d;
	struct diff_files files;
	struct strata_err *e;
	int err;                      /* the files could not be read: <0, e set */
};

/* Element i of list l (json_element_fn): the files come in order, one after the other. */
static cJSON *element(void *ctx, int l, size_t i, bool *end)
{
	struct lists *ls = ctx;
	const struct file_change *c;
	int r;

	if (l == L_PACKAGES) {
		*end = i >= ls->d->npkgs;
		return *end ? NULL : pkg_json(&ls->d->pkgs[i]);
	}
	*end = true;
	if (ls->err || (r = diff_files_next(&ls->files, &c, ls->e)) == 0)
		return NULL;
	if (r < 0) {
		ls->err = r;
		return NULL;
	}
	*end = false;
	return file_json(c);
}

/* The document, its files and packages as placeholders. */
static cJSON *diff_skeleton(const char *src_a, const char *src_b, const struct image_diff *d)
{
	cJSON *o = cJSON_CreateObject(), *l, *a, *f;
	size_t i;

	cJSON_AddNumberToObject(o, "schema", 1);
	cJSON_AddStringToObject(o, "a", src_a);
	cJSON_AddStringToObject(o, "b", src_b);
	cJSON_AddBoolToObject(o, "identical", !diff_differs(d));
	f = cJSON_AddObjectToObject(o, "images");
	json_put(f, "a", image_json(d->a));
	json_put(f, "b", image_json(d->b));
	l = cJSON_AddObjectToObject(o, "layers");
	cJSON_AddNumberToObject(l, "shared", (double)d->shared_layers);
	cJSON_AddNumberToObject(l, "only_a", (double)(d->layers_a - d->shared_layers));
	cJSON_AddNumberToObject(l, "only_b", (double)(d->layers_b - d->shared_layers));
	a = cJSON_AddArrayToObject(l, "shared_layers");
	for (i = 0; i < d->shared_layers; i++) {
		cJSON *x = cJSON_CreateObject();

		cJSON_AddStringToObject(x, "diff_id", d->a->layers[i].diff_id);
		/* the same content may be stored compressed differently on each side */
		json_put(x, "digest_a", digest_or_null(d->a->layers[i].desc.digest));
		json_put(x, "digest_b", digest_or_null(d->b->layers[i].desc.digest));
		json_push(a, x);
	}
	f = cJSON_AddObjectToObject(o, "summary");
	cJSON_AddNumberToObject(f, "added", (double)d->added);
	cJSON_AddNumberToObject(f, "removed", (double)d->removed);
	cJSON_AddNumberToObject(f, "changed", (double)d->changed);
	cJSON_AddNumberToObject(f, "size_delta", (double)d->size_delta);
	json_put(o, "files", json_placeholder(L_FILES));
	json_put(o, "packages_compared", cJSON_CreateBool(d->pkgs_checked));
	json_put(o, "packages", json_placeholder(L_PACKAGES));
	f = cJSON_AddObjectToObject(o, "findings");
	cJSON_AddBoolToObject(f, "compared", d->ra.risk_unscanned == 0 && d->rb.risk_unscanned == 0);
	for (i = 0; i < 2; i++) {
		size_t j;

		a = cJSON_AddArrayToObject(f, i ? "appeared" : "disappeared");
		for (j = 0; j < d->nrisks; j++) {
			const struct risk_hit *h = d->risks[j].h;
			cJSON *x;

			if (d->risks[j].appeared != (i == 1))
				continue;
			x = cJSON_CreateObject();
			cJSON_AddStringToObject(x, "rule", risk_ids[h->rule]);
			cJSON_AddStringToObject(x, "path", h->path);
			cJSON_AddNumberToObject(x, "layer", (double)h->layer + 1);
			cJSON_AddStringToObject(x, "detail", h->detail);
			cJSON_AddBoolToObject(x, "in_final_image", h->removed_by < 0);
			json_push(a, x);
		}
	}
	json_put(o, "config", cJSON_Duplicate(d->config, 1));
	return o;
}

int diff_json_write(const char *src_a, const char *src_b, const struct image_diff *d, bool line, report_write_fn w,
		    void *ctx, struct strata_err *e)
{
	struct lists ls = { .d = d, .e = e };
	int r;

	diff_files_init(&ls.files, d);
	r = json_write_doc(diff_skeleton(src_a, src_b, d), line, element, &ls, w, ctx, e);
	diff_files_release(&ls.files);
	return ls.err ? ls.err : r;
}

int diff_text(const char *src_a, const char *src_b, const struct image_diff *d, report_write_fn wr, void *ctx,
	      struct strata_err *e)
{
	struct buf out = BUF_INIT((size_t)1 << 30), *b = &out;
	struct diff_files files;
	const struct file_change *x;
	const cJSON *c;
	char w[64], sz[32];
	size_t i;
	int r = 0;

#define P(...) do { \
		if (r == 0) \
			r = buf_printf(b, e, __VA_ARGS__); \
		if (r == 0) \
			r = buf_flush(b, TEXT_CHUNK, wr, ctx, e); \
	} while (0)
	P("a: %s\n   manifest %s\n   config   %s\n", src_a,
	  d->a->has_manifest && d->a->manifest.digest[0] ? d->a->manifest.digest : "(none stored)",
	  d->a->config.digest[0] ? d->a->config.digest : "?");
	P("b: %s\n   manifest %s\n   config   %s\n", src_b,
	  d->b->has_manifest && d->b->manifest.digest[0] ? d->b->manifest.digest : "(none stored)",
	  d->b->config.digest[0] ? d->b->config.digest : "?");
	P("layers: %zu shared, %zu only in a, %zu only in b\n", d->shared_layers, d->layers_a - d->shared_layers,
	  d->layers_b - d->shared_layers);
	for (i = 0; i < d->shared_layers; i++) {
		const char *la = d->a->layers[i].desc.digest, *lb = d->b->layers[i].desc.digest;

		if (!strcmp(la, lb))
			P("  = %s\n", la);
		else
			P("  = %s (diff_id; stored as %s in a, %s in b)\n", d->a->layers[i].diff_id, la[0] ? la : "?",
			  lb[0] ? lb : "?");
	}
	P("files: %zu added, %zu removed, %zu changed; file bytes %s%s\n", d->added, d->removed, d->changed,
	  d->size_delta < 0 ? "-" : "+",
	  human_size(d->size_delta < 0 ? (uint64_t)-d->size_delta : (uint64_t)d->size_delta, sz));
	diff_files_init(&files, d);
	while (r == 0 && (r = diff_files_next(&files, &x, e)) == 1) {
		r = 0;
		if (!x->in_a)
			P("  + %s (%s)\n", x->path, human_size(x->size_b, sz));
		else if (!x->in_b)
			P("  - %s\n", x->path);
		else
			P("  ~ %s (%s)\n", x->path, what_str(x->what, w, sizeof(w)));
	}
	diff_files_release(&files);
	if (!d->pkgs_checked)
		P("packages: not compared (a layer is missing or unreadable)\n");
	else if (d->npkgs)
		P("packages:\n");
	for (i = 0; i < d->npkgs; i++) {
		const struct pkg_delta *p = &d->pkgs[i];
		const struct sbom_pkg *q = p->b ? p->b : p->a;
		char la[256], lb[256];

		if (!p->a)
			P("  + %s %s (%s; %s)\n", q->p->name, q->p->version, pkg_db(q), licenses_str(q, la, sizeof(la)));
		else if (!p->b)
			P("  - %s %s (%s; %s)\n", q->p->name, q->p->version, pkg_db(q), licenses_str(q, la, sizeof(la)));
		else if (!p->licenses)
			P("  ~ %s %s -> %s (%s)\n", q->p->name, p->a->p->version, p->b->p->version, pkg_db(q));
		else if (!p->version)
			P("  ~ %s %s (%s; licenses %s -> %s)\n", q->p->name, q->p->version, pkg_db(q),
			  licenses_str(p->a, la, sizeof(la)), licenses_str(p->b, lb, sizeof(lb)));
		else
			P("  ~ %s %s -> %s (%s; licenses %s -> %s)\n", q->p->name, p->a->p->version, p->b->p->version, pkg_db(q),
			  licenses_str(p->a, la, sizeof(la)), licenses_str(p->b, lb, sizeof(lb)));
	}
	if (d->nrisks)
		P("findings:\n");
	for (i = 0; i < d->nrisks; i++) {
		const struct risk_hit *h = d->risks[i].h;

		P("  %c %s in layer %zu of %s: %s%s\n", d->risks[i].appeared ? '+' : '-', risk_ids[h->rule], h->layer + 1,
		  d->risks[i].appeared ? "b" : "a", h->path, h->removed_by < 0 ? "" : " (removed above, still shipped)");
	}
	if (cJSON_GetArraySize(d->config))
		P("config:\n");
	cJSON_ArrayForEach(c, d->config) {
		char *sa = cJSON_PrintUnformatted(json_get(c, "a")), *sb = cJSON_PrintUnformatted(json_get(c, "b"));

		P("  %s: %s -> %s\n", json_str(c, "field"), sa ? sa : "?", sb ? sb : "?");
		free(sa);
		free(sb);
	}
#undef P
	if (r == 0)
		r = buf_flush(b, 1, wr, ctx, e);
	buf_release(&out);
	return r;
}

void diff_release(struct image_diff *d)
{
	spill_log_release(&d->files);
	free(d->pkgs);
	free(d->risks);
	sbom_release(&d->sa);
	sbom_release(&d->sb);
	image_report_release(&d->ra);
	image_report_release(&d->rb);
	cJSON_Delete(d->config);
	memset(d, 0, sizeof(*d));
}
