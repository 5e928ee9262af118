/* diff.c - compare two images; see diff.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/diff.h"
#include "common/buf.h"
#include "common/strmap.h"
#include "formats/layerfs.h"
#include "common/size.h"
#include "formats/json.h"

static int add_change(struct image_diff *d, const char *path, const struct fentry *a, const struct fentry *b,
		      unsigned what, struct strata_err *e)
{
	struct file_change *v;

	if (!(d->n & (d->n + 1)) || !d->v) {
		if (!(v = realloc(d->v, (d->n + 1) * 2 * sizeof(*v))))
			return err_nomem(e, "diff");
		d->v = v;
	}
	d->v[d->n++] = (struct file_change){ path, a, b, what };
	return 0;
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

/* An image whose layers are not all readable has no SBOM: its packages are not compared. */
static int diff_packages(struct image_diff *d, const struct final_view *va, const struct final_view *vb,
			 struct strata_err *e)
{
	struct strmap ka = STRMAP_INIT, kb = STRMAP_INIT;
	struct buf k = BUF_INIT(1u << 16);
	struct strata_err se = STRATA_ERR_INIT;
	size_t i;
	int r;

	if (sbom_build(d->a, va, &d->sa, &se) < 0 || sbom_build(d->b, vb, &d->sb, &se) < 0) {
		if (se.code != STRATA_EFORMAT)
			return err_set(e, se.code, "%s", se.msg);
		return 0;  /* a layer missing or unreadable: said by the scan */
	}
	d->pkgs_checked = true;
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

int diff_images(const struct image *ia, const struct image *ib, struct image_diff *d, struct strata_err *e)
{
	static const char *const fields[] = { "Env", "Cmd", "Entrypoint", "Labels", "User", "WorkingDir", "ExposedPorts",
					      "Volumes", "StopSignal" };
	struct final_view va = { 0 }, vb = { 0 };
	const cJSON *ca = json_get(ia->config_json, "config"), *cb = json_get(ib->config_json, "config");
	size_t i, j;
	int r;

	memset(d, 0, sizeof(*d));
	d->a = ia;
	d->b = ib;
	d->layers_a = ia->nlayers;
	d->layers_b = ib->nlayers;
	while (d->shared_layers < ia->nlayers && d->shared_layers < ib->nlayers &&
	       ia->layers[d->shared_layers].diff_id && ib->layers[d->shared_layers].diff_id &&
	       !strcmp(ia->layers[d->shared_layers].diff_id, ib->layers[d->shared_layers].diff_id))
		d->shared_layers++;
	/* one stacking of each image's layers: analyze's, which also gives the
	 * final filesystems that the SBOMs read and the files are compared in */
	if ((r = analyze_image_final(ia, &d->ra, &va, e)) < 0 || (r = analyze_image_final(ib, &d->rb, &vb, e)) < 0 ||
	    (r = diff_packages(d, &va, &vb, e)) < 0 || (r = diff_risks(d, e)) < 0)
		goto out;
	/* both sorted by path: one merge finds what is only in a, only in b, or
	 * in both, and makes the changes in path order */
	for (i = j = 0; (i < va.n || j < vb.n) && r == 0;) {
		const struct fentry *a = i < va.n ? va.v[i] : NULL, *b = j < vb.n ? vb.v[j] : NULL;
		int c = !a ? 1 : !b ? -1 : strcmp(a->path, b->path);
		unsigned w;

		if (c < 0) {
			i++;
			if (a->type == TAR_FILE)
				d->size_delta -= (int64_t)a->size;
			if (a->type != TAR_DIR) {
				r = add_change(d, a->path, a, NULL, 0, e);
				d->removed++;
			}
			continue;
		}
		j++;
		if (b->type == TAR_FILE)
			d->size_delta += (int64_t)b->size;
		if (c > 0) {
			if (b->type != TAR_DIR) {
				r = add_change(d, b->path, NULL, b, 0, e);
				d->added++;
			}
			continue;
		}
		i++;
		if (a->type == TAR_FILE)
			d->size_delta -= (int64_t)a->size;
		w = compare(a, b);
		if (w && b->type != TAR_DIR) {
			r = add_change(d, b->path, a, b, w, e);
			d->changed++;
		} else if (w & (CH_MODE | CH_OWNER)) {
			r = add_change(d, b->path, a, b, w, e);  /* a directory's mode or owner */
			d->changed++;
		}
	}
	if (r < 0)
		goto out;
	d->config = cJSON_CreateArray();
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		config_field(d->config, fields[i], json_get(ca, fields[i]), json_get(cb, fields[i]));
	config_field(d->config, "architecture", json_get(ia->config_json, "architecture"),
		     json_get(ib->config_json, "architecture"));
	config_field(d->config, "os", json_get(ia->config_json, "os"), json_get(ib->config_json, "os"));
out:
	final_view_release(&va);  /* the changes point into the layers' entries, not the views */
	final_view_release(&vb);
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
	return d->n || d->npkgs || d->nrisks || cJSON_GetArraySize(d->config) || d->shared_layers != d->layers_a ||
	       d->shared_layers != d->layers_b;
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
	cJSON_AddStringToObject(x, "change", !c->a ? "added" : !c->b ? "removed" : "changed");
	if (c->a && c->b)
		cJSON_AddStringToObject(x, "what", what_str(c->what, w, sizeof(w)));
	if (c->a)
		cJSON_AddNumberToObject(x, "size_a", (double)c->a->size);
	if (c->b)
		cJSON_AddNumberToObject(x, "size_b", (double)c->b->size);
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

/* Element i of list l of the diff ctx (json_element_fn). */
static cJSON *element(void *ctx, int l, size_t i, bool *end)
{
	const struct image_diff *d = ctx;

	*end = i >= (l == L_FILES ? d->n : d->npkgs);
	return *end ? NULL : l == L_FILES ? file_json(&d->v[i]) : pkg_json(&d->pkgs[i]);
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
	return json_write_doc(diff_skeleton(src_a, src_b, d), line, element, (void *)d, w, ctx, e);
}

int diff_text(const char *src_a, const char *src_b, const struct image_diff *d, report_write_fn wr, void *ctx,
	      struct strata_err *e)
{
	struct buf out = BUF_INIT((size_t)1 << 30), *b = &out;
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
	for (i = 0; i < d->n; i++) {
		const struct file_change *x = &d->v[i];

		if (!x->a)
			P("  + %s (%s)\n", x->path, human_size(x->b->size, sz));
		else if (!x->b)
			P("  - %s\n", x->path);
		else
			P("  ~ %s (%s)\n", x->path, what_str(x->what, w, sizeof(w)));
	}
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
	free(d->v);
	free(d->pkgs);
	free(d->risks);
	sbom_release(&d->sa);
	sbom_release(&d->sb);
	image_report_release(&d->ra);
	image_report_release(&d->rb);
	cJSON_Delete(d->config);
	memset(d, 0, sizeof(*d));
}
