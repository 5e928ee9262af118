/* diff.c - compare two images; see diff.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/diff.h"
#include "common/strmap.h"
#include "formats/layerfs.h"
#include "common/size.h"
#include "formats/json.h"

/* The final filesystem (path -> entry), as the layer model stacks it, and the package sets. */
struct view {
	struct strmap files;
	const struct pkgdb *dpkg, *apk;
	int rc;
	struct strata_err *e;
};

static void keep(void *ctx, const void *data, int layer)
{
	struct view *v = ctx;
	const struct fentry *f = data;

	(void)layer;
	if (v->rc == 0 && strmap_put_ref(&v->files, f->path, (void *)f, v->e) < 0)
		v->rc = -v->e->code;
}

static int build_view(const struct image *im, struct view *v, struct strata_err *e)
{
	struct lfs *fs;
	size_t li;
	int r;

	memset(v, 0, sizeof(*v));
	v->e = e;
	if ((r = lfs_new(&fs, NULL, e)) < 0)
		return r;
	for (li = 0; li < im->nlayers && r == 0; li++) {
		const struct layer_files *lf = im->layers[li].m ? im->layers[li].m->walk : NULL;

		if (!lf)
			continue;
		r = layer_files_apply(fs, lf, (int)li, NULL, NULL, NULL, e);
		if (lf->has_dpkg)
			v->dpkg = &lf->dpkg;
		if (lf->has_apk)
			v->apk = &lf->apk;
	}
	if (r == 0) {
		lfs_each(fs, keep, v);
		r = v->rc;
	}
	lfs_free(fs);
	return r;
}

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

static int cmp_change(const void *x, const void *y)
{
	return strcmp(((const struct file_change *)x)->path, ((const struct file_change *)y)->path);
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
	if (a->has_digest && b->has_digest && memcmp(a->digest, b->digest, 32))
		w |= CH_CONTENT;
	if ((a->link || b->link) && (!a->link || !b->link || strcmp(a->link, b->link)))
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

int diff_images(const struct image *ia, const struct image *ib, struct image_diff *d, struct strata_err *e)
{
	static const char *const fields[] = { "Env", "Cmd", "Entrypoint", "Labels", "User", "WorkingDir", "ExposedPorts",
					      "Volumes", "StopSignal" };
	struct view va, vb;
	const cJSON *ca = json_get(ia->config_json, "config"), *cb = json_get(ib->config_json, "config");
	size_t i;
	int r;

	memset(d, 0, sizeof(*d));
	memset(&vb, 0, sizeof(vb));  /* released below even when va could not be built */
	d->a = ia;
	d->b = ib;
	d->layers_a = ia->nlayers;
	d->layers_b = ib->nlayers;
	while (d->shared_layers < ia->nlayers && d->shared_layers < ib->nlayers &&
	       ia->layers[d->shared_layers].diff_id && ib->layers[d->shared_layers].diff_id &&
	       !strcmp(ia->layers[d->shared_layers].diff_id, ib->layers[d->shared_layers].diff_id))
		d->shared_layers++;
	if ((r = build_view(ia, &va, e)) < 0 || (r = build_view(ib, &vb, e)) < 0)
		goto out;
	for (i = 0; i < vb.files.len && r == 0; i++) {
		const struct fentry *b = vb.files.items[i].val, *a;

		if (!b)
			continue;
		a = strmap_get(&va.files, vb.files.items[i].key);
		if (b->type == TAR_FILE)
			d->size_delta += (int64_t)b->size;
		if (!a) {
			if (b->type != TAR_DIR) {
				r = add_change(d, b->path, NULL, b, 0, e);
				d->added++;
			}
		} else {
			unsigned w = compare(a, b);

			if (w && b->type != TAR_DIR) {
				r = add_change(d, b->path, a, b, w, e);
				d->changed++;
			} else if (w & (CH_MODE | CH_OWNER)) {
				r = add_change(d, b->path, a, b, w, e);  /* a directory's mode or owner */
				d->changed++;
			}
		}
	}
	for (i = 0; i < va.files.len && r == 0; i++) {
		const struct fentry *a = va.files.items[i].val;

		if (!a)
			continue;
		if (a->type == TAR_FILE)
			d->size_delta -= (int64_t)a->size;
		if (!strmap_get(&vb.files, va.files.items[i].key) && a->type != TAR_DIR) {
			r = add_change(d, a->path, a, NULL, 0, e);
			d->removed++;
		}
	}
	if (d->n > 1)
		qsort(d->v, d->n, sizeof(*d->v), cmp_change);
	if (r == 0)
		r = pkgdb_delta("dpkg", va.dpkg, vb.dpkg, &d->pkgs, &d->npkgs, e);
	if (r == 0)
		r = pkgdb_delta("apk", va.apk, vb.apk, &d->pkgs, &d->npkgs, e);
	d->config = cJSON_CreateArray();
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		config_field(d->config, fields[i], json_get(ca, fields[i]), json_get(cb, fields[i]));
	config_field(d->config, "architecture", json_get(ia->config_json, "architecture"),
		     json_get(ib->config_json, "architecture"));
	config_field(d->config, "os", json_get(ia->config_json, "os"), json_get(ib->config_json, "os"));
out:
	strmap_release(&va.files);
	strmap_release(&vb.files);
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
	return d->n || d->npkgs || cJSON_GetArraySize(d->config) || d->shared_layers != d->layers_a ||
	       d->shared_layers != d->layers_b;
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

cJSON *diff_json(const char *src_a, const char *src_b, const struct image_diff *d)
{
	cJSON *o = cJSON_CreateObject(), *l, *a, *f;
	size_t i;
	char w[64];

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
	a = cJSON_AddArrayToObject(o, "files");
	for (i = 0; i < d->n; i++) {
		const struct file_change *c = &d->v[i];
		cJSON *x = cJSON_CreateObject();

		cJSON_AddStringToObject(x, "path", c->path);
		cJSON_AddStringToObject(x, "change", !c->a ? "added" : !c->b ? "removed" : "changed");
		if (c->a && c->b)
			cJSON_AddStringToObject(x, "what", what_str(c->what, w, sizeof(w)));
		if (c->a)
			cJSON_AddNumberToObject(x, "size_a", (double)c->a->size);
		if (c->b)
			cJSON_AddNumberToObject(x, "size_b", (double)c->b->size);
		json_push(a, x);
	}
	a = cJSON_AddArrayToObject(o, "packages");
	for (i = 0; i < d->npkgs; i++) {
		cJSON *x = cJSON_CreateObject();

		cJSON_AddStringToObject(x, "db", d->pkgs[i].db);
		cJSON_AddStringToObject(x, "name", d->pkgs[i].name);
		cJSON_AddStringToObject(x, "change", !d->pkgs[i].from ? "added" : !d->pkgs[i].to ? "removed" : "upgraded");
		json_put(x, "from", d->pkgs[i].from ? cJSON_CreateString(d->pkgs[i].from) : cJSON_CreateNull());
		json_put(x, "to", d->pkgs[i].to ? cJSON_CreateString(d->pkgs[i].to) : cJSON_CreateNull());
		json_push(a, x);
	}
	json_put(o, "config", cJSON_Duplicate(d->config, 1));
	return o;
}

int diff_text(struct buf *b, const char *src_a, const char *src_b, const struct image_diff *d, struct strata_err *e)
{
	const cJSON *c;
	char w[64], sz[32];
	size_t i;
	int r = 0;

#define P(...) do { if (r == 0) r = buf_printf(b, e, __VA_ARGS__); } while (0)
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
	if (d->npkgs)
		P("packages:\n");
	for (i = 0; i < d->npkgs; i++) {
		const struct pkg_change *p = &d->pkgs[i];

		if (!p->from)
			P("  + %s %s (%s)\n", p->name, p->to, p->db);
		else if (!p->to)
			P("  - %s %s (%s)\n", p->name, p->from, p->db);
		else
			P("  ~ %s %s -> %s (%s)\n", p->name, p->from, p->to, p->db);
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
	return r;
}

void diff_release(struct image_diff *d)
{
	free(d->v);
	free(d->pkgs);
	cJSON_Delete(d->config);
	memset(d, 0, sizeof(*d));
}
