/* target.c - documents of converted images; see target.h. */
#include "formats/target.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "formats/json.h"

static const char oci_layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";

static cJSON *desc_json(const struct out_desc *d, const struct platform *p)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "mediaType", d->media_type);
	cJSON_AddStringToObject(o, "digest", d->digest);
	cJSON_AddNumberToObject(o, "size", (double)d->size);
	if (d->urls)
		json_put(o, "urls", cJSON_Duplicate(d->urls, 1));
	if (p && p->os && p->arch) {
		cJSON *pl = cJSON_AddObjectToObject(o, "platform");

		cJSON_AddStringToObject(pl, "architecture", p->arch);
		cJSON_AddStringToObject(pl, "os", p->os);
		if (p->variant)
			cJSON_AddStringToObject(pl, "variant", p->variant);
	}
	return o;
}

static char *print_free(cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);

	cJSON_Delete(o);
	return s;
}

char *target_oci_manifest(const struct out_image *im)
{
	cJSON *o = cJSON_CreateObject(), *a;
	size_t i;

	cJSON_AddNumberToObject(o, "schemaVersion", 2);
	cJSON_AddStringToObject(o, "mediaType", MT_OCI_MANIFEST);
	json_put(o, "config", desc_json(&im->config, NULL));
	a = cJSON_AddArrayToObject(o, "layers");
	for (i = 0; i < im->nlayers; i++)
		json_push(a, desc_json(&im->layers[i], NULL));
	return print_free(o);
}

char *target_oci_index(const struct out_set *set, size_t from, size_t to)
{
	cJSON *o = cJSON_CreateObject(), *a;
	size_t i;

	cJSON_AddNumberToObject(o, "schemaVersion", 2);
	cJSON_AddStringToObject(o, "mediaType", MT_OCI_INDEX);
	a = cJSON_AddArrayToObject(o, "manifests");
	for (i = from; i < to; i++)
		json_push(a, desc_json(&set->v[i].manifest, set->v[i].has_platform ? &set->v[i].platform : NULL));
	return print_free(o);
}

char *target_normalize_name(const char *ref)
{
	const char *slash = strchr(ref, '/');
	size_t n = strlen(ref) + 32;
	char *out = malloc(n);

	if (!out)
		return NULL;
	if (!slash)
		snprintf(out, n, "docker.io/library/%s", ref);
	else if (!memchr(ref, '.', (size_t)(slash - ref)) && !memchr(ref, ':', (size_t)(slash - ref)) &&
		 strncmp(ref, "localhost/", 10))
		snprintf(out, n, "docker.io/%s", ref);
	else
		snprintf(out, n, "%s", ref);
	return out;
}

char *target_familiar_name(const char *ref)
{
	const char *p = ref;

	if (!strncmp(p, "docker.io/", 10)) {
		p += 10;
		if (!strncmp(p, "library/", 8) && !strchr(p + 8, '/'))
			p += 8;
	}
	return strdup(p);
}

/* The tag of a full name, or NULL. */
static const char *tag_of(const char *full)
{
	const char *c = full ? strrchr(full, ':') : NULL, *sl = full ? strrchr(full, '/') : NULL;

	return c && (!sl || c > sl) ? c + 1 : NULL;
}

/* Is the image listed in index.json (the first of its group)? */
static bool listed(const struct out_set *set, size_t i)
{
	return set->v[i].group < 0 || i == 0 || set->v[i - 1].group != set->v[i].group;
}

/* Count one more use of key in m (values are counts). */
static int count_add(struct strmap *m, const char *key, struct strata_err *e)
{
	uintptr_t n = (uintptr_t)strmap_get(m, key);

	return strmap_put(m, key, (void *)(n + 1), e);
}

static uintptr_t count_of(const struct strmap *m, const char *key)
{
	return key ? (uintptr_t)strmap_get(m, key) : 0;
}

/* The tags a ref name (a bare tag, or a full name) uses: itself, and the tag
 * of a full name; NULL for none. */
static void tags_used(const char *ref, const char *out[2])
{
	const char *t = tag_of(ref);

	out[0] = ref;
	out[1] = t && ref && strcmp(t, ref) ? t : NULL;
}

/* Who uses which tag, counted once so that each name's choice is a lookup
 * (an image can carry tens of thousands of names):
 *   mine:  the names of the index written, each its ref name or else its
 *          full name, as given (a choice does not sway another);
 *   old:   the entries of the existing index.json, by their ref.name or
 *          io.containerd.image.name;
 *   named: the same old entries by tag and normalised name ("LEN:TAG" then
 *          the name), to leave out those naming the name being chosen for. */
struct tag_uses {
	struct strmap mine, old, named;
	struct buf k;
};

static int uses_count(struct tag_uses *u, const struct out_set *set, const cJSON *old, struct strata_err *e)
{
	const cJSON *c;
	size_t i, k, j, m;
	int r = 0;

	for (i = 0; i < set->len && r == 0; i++)
		for (k = 0; listed(set, i) && k < set->v[i].nnames && r == 0; k++) {
			const char *t[2];

			tags_used(set->v[i].ref_names[k] ? set->v[i].ref_names[k] : set->v[i].names[k], t);
			for (j = 0; j < 2 && r == 0; j++)
				if (t[j])
					r = count_add(&u->mine, t[j], e);
		}
	cJSON_ArrayForEach(c, json_get(old, "manifests")) {
		const cJSON *ann = json_get(c, "annotations");
		const char *cn = json_str(ann, "io.containerd.image.name"), *t[4];
		char *norm = cn ? target_normalize_name(cn) : NULL;

		if (r < 0)
			break;
		if (cn && !norm)
			return err_nomem(e, "names");
		tags_used(json_str(ann, "org.opencontainers.image.ref.name"), t);
		tags_used(cn, t + 2);
		for (j = 0; j < 4 && r == 0; j++) {
			for (m = 0; m < j && t[j] && !(t[m] && !strcmp(t[m], t[j])); m++)
				;
			if (!t[j] || m < j)
				continue;  /* none, or counted already: an entry counts once for a tag */
			if ((r = count_add(&u->old, t[j], e)) == 0 && norm) {
				buf_reset(&u->k);
				if (buf_printf(&u->k, e, "%zu:%s%s", strlen(t[j]), t[j], norm) < 0)
					r = -e->code;
				else
					r = count_add(&u->named, u->k.data, e);
			}
		}
		free(norm);
	}
	return r;
}

/* Does another name of the index written use tag `want`, as its ref name or
 * its tag (a fixed one, or one still to be chosen, of another entry), or an
 * old entry naming another image?  Name k of image oi, listed, is asking. */
static int ref_taken(struct tag_uses *u, const struct out_set *set, size_t oi, size_t ok, const char *want,
		     struct strata_err *e)
{
	const char *t[2];
	uintptr_t self;
	char *norm;
	int r;

	tags_used(set->v[oi].ref_names[ok] ? set->v[oi].ref_names[ok] : set->v[oi].names[ok], t);
	self = (t[0] && !strcmp(t[0], want)) || (t[1] && !strcmp(t[1], want));
	if (count_of(&u->mine, want) > self)
		return 1;
	if (!count_of(&u->old, want))
		return 0;
	if (!(norm = target_normalize_name(set->v[oi].names[ok])))
		return err_nomem(e, "names");
	buf_reset(&u->k);
	r = buf_printf(&u->k, e, "%zu:%s%s", strlen(want), want, norm) < 0 ? -e->code : 0;
	free(norm);
	return r < 0 ? r : count_of(&u->old, want) > count_of(&u->named, u->k.data);
}

int target_choose_ref_names(struct out_set *set, const char *old_index, size_t old_len, struct strata_err *e)
{
	struct tag_uses u = { STRMAP_INIT, STRMAP_INIT, STRMAP_INIT, BUF_INIT((size_t)1 << 30) };
	cJSON *old = NULL;
	char **chosen;
	size_t i, k, n = 0, at;
	int r = 0, taken;

	if (old_index && json_parse(old_index, old_len, &old, e) < 0)
		return err_wrap(e, "existing index.json");
	for (i = 0; i < set->len; i++)
		n += set->v[i].nnames;
	/* decided on the names as given, then set: one choice does not sway another */
	if (!(chosen = calloc(n + 1, sizeof(*chosen)))) {
		cJSON_Delete(old);
		return err_nomem(e, "names");
	}
	r = uses_count(&u, set, old, e);
	for (i = 0, at = 0; i < set->len; i++)
		for (k = 0; k < set->v[i].nnames; k++, at++) {
			const char *full = set->v[i].names[k], *t = tag_of(full);

			if (r < 0 || set->v[i].ref_names[k] || !t)
				continue;
			taken = listed(set, i) ? ref_taken(&u, set, i, k, t, e) : 0;
			if (taken < 0)
				r = taken;
			else if (!(chosen[at] = strdup(taken ? full : t)))
				r = err_nomem(e, "names");
		}
	for (i = 0, at = 0; i < set->len; i++)
		for (k = 0; k < set->v[i].nnames; k++, at++)
			if (r < 0)
				free(chosen[at]);
			else if (chosen[at])
				set->v[i].ref_names[k] = chosen[at];
	free(chosen);
	cJSON_Delete(old);
	strmap_release(&u.mine);
	strmap_release(&u.old);
	strmap_release(&u.named);
	buf_release(&u.k);
	return r;
}

/* One index.json descriptor per name (Docker 25 and containerd do so); a bare one if untagged. */
static int add_top(cJSON *arr, const struct out_desc *d, const struct out_image *im, struct strata_err *e)
{
	size_t i;

	if (!im->nnames) {
		json_push(arr, desc_json(d, im->group < 0 && im->has_platform ? &im->platform : NULL));
		return 0;
	}
	for (i = 0; i < im->nnames; i++) {
		cJSON *o = desc_json(d, im->group < 0 && im->has_platform ? &im->platform : NULL);
		cJSON *ann = cJSON_AddObjectToObject(o, "annotations");

		if (im->names[i] && tag_of(im->names[i])) {
			char *norm = target_normalize_name(im->names[i]);

			if (!norm) {
				cJSON_Delete(o);
				return err_nomem(e, "names");
			}
			cJSON_AddStringToObject(ann, "io.containerd.image.name", norm);
			free(norm);
		}
		if (im->ref_names[i])
			cJSON_AddStringToObject(ann, "org.opencontainers.image.ref.name", im->ref_names[i]);
		json_push(arr, o);
	}
	return 0;
}

/* Does a new entry reuse a name of an old one?  Returns the name, or NULL:
 * the same ref.name, or the same io.containerd.image.name for another
 * manifest (the same manifest may be listed under several ref.names). */
static const char *reused(const cJSON *old, const cJSON *fresh, bool *same)
{
	const cJSON *oa = json_get(old, "annotations"), *fa = json_get(fresh, "annotations");
	const char *a = json_str(oa, "org.opencontainers.image.ref.name");
	const char *b = json_str(fa, "org.opencontainers.image.ref.name");
	const char *ca = json_str(oa, "io.containerd.image.name"), *cb = json_str(fa, "io.containerd.image.name");
	const char *da = json_str(old, "digest"), *db = json_str(fresh, "digest");

	*same = da && db && !strcmp(da, db);
	if (a && b && !strcmp(a, b))
		return b;
	if (!*same && ca && cb && !strcmp(ca, cb))
		return cb;
	return NULL;
}

/* The new entries by name, so that each old entry finds the first new one
 * reused() matches with lookups, not a scan of them all (both lists can
 * hold tens of thousands of names).  Values are entry indexes + 1. */
struct fresh_names {
	cJSON **v;
	size_t n, alloc;
	struct strmap rn;       /* ref.name -> its first entry */
	struct strmap cn;       /* io.containerd.image.name -> its first entry */
	struct strmap cn_alt;   /* the same -> its first entry whose digest is not the first's */
};

static const char *ann_str(const cJSON *d, const char *key)
{
	return json_str(json_get(d, "annotations"), key);
}

static int fresh_index(struct fresh_names *fn, const cJSON *fresh, struct strata_err *e)
{
	cJSON *f;
	int r = 0;

	cJSON_ArrayForEach(f, fresh) {
		const char *rn = ann_str(f, "org.opencontainers.image.ref.name");
		const char *cn = ann_str(f, "io.containerd.image.name"), *d = json_str(f, "digest"), *d1;
		void *at = (void *)(uintptr_t)(fn->n + 1);
		uintptr_t first;

		if (array_grow(&fn->v, fn->n, &fn->alloc, sizeof(*fn->v), 64) < 0)
			return err_nomem(e, "index.json");
		fn->v[fn->n++] = f;
		if (rn && !strmap_get(&fn->rn, rn) && (r = strmap_put(&fn->rn, rn, at, e)) < 0)
			break;
		if (!cn)
			continue;
		if (!(first = (uintptr_t)strmap_get(&fn->cn, cn))) {
			if ((r = strmap_put(&fn->cn, cn, at, e)) < 0)
				break;
			continue;
		}
		d1 = json_str(fn->v[first - 1], "digest");
		if (d1 && !strmap_get(&fn->cn_alt, cn) && !(d && !strcmp(d, d1)) && (r = strmap_put(&fn->cn_alt, cn, at, e)) < 0)
			break;
	}
	return r;
}

/* The first new entry that reused(old, entry) matches, or NULL. */
static const cJSON *fresh_match(const struct fresh_names *fn, const cJSON *old)
{
	const char *a = ann_str(old, "org.opencontainers.image.ref.name");
	const char *ca = ann_str(old, "io.containerd.image.name"), *da = json_str(old, "digest"), *d1;
	uintptr_t by_rn = a ? (uintptr_t)strmap_get(&fn->rn, a) : 0, by_cn = ca ? (uintptr_t)strmap_get(&fn->cn, ca) : 0;

	if (by_cn && da && (d1 = json_str(fn->v[by_cn - 1], "digest")) && !strcmp(da, d1))
		by_cn = (uintptr_t)strmap_get(&fn->cn_alt, ca);  /* the same image: the first of another, if any */
	if (by_rn && (!by_cn || by_rn <= by_cn))
		return fn->v[by_rn - 1];
	return by_cn ? fn->v[by_cn - 1] : NULL;
}

static void fresh_names_release(struct fresh_names *fn)
{
	free(fn->v);
	strmap_release(&fn->rn);
	strmap_release(&fn->cn);
	strmap_release(&fn->cn_alt);
}

static int write_index(struct sink *s, const struct out_set *set, struct oci_write_opts *wo, struct strata_err *e)
{
	struct fresh_names fn = { NULL, 0, 0, STRMAP_INIT, STRMAP_INIT, STRMAP_INIT };
	cJSON *o = cJSON_CreateObject(), *fresh = cJSON_CreateArray(), *arr, *old = NULL, *c;
	size_t i;
	char *txt;
	int r = 0;

	if (!o || !fresh) {
		cJSON_Delete(o);
		cJSON_Delete(fresh);
		return err_nomem(e, "index.json");
	}
	for (i = 0; i < set->len && r == 0; i++) {
		const struct out_image *im = &set->v[i];

		if (!listed(set, i))
			continue;  /* the group's index is listed once */
		r = add_top(fresh, im->group >= 0 ? &im->index : &im->manifest, im, e);
	}
	cJSON_AddNumberToObject(o, "schemaVersion", 2);
	cJSON_AddStringToObject(o, "mediaType", MT_OCI_INDEX);
	arr = cJSON_AddArrayToObject(o, "manifests");
	if (r == 0 && wo && wo->old_index && (r = json_parse(wo->old_index, wo->old_len, &old, e)) < 0)
		err_wrap(e, "existing index.json");
	if (r == 0 && old)
		r = fresh_index(&fn, fresh, e);
	/* keep the images already there; a name used again replaces the old
	 * entry only with --replace (the same image under the same name is
	 * simply listed once) */
	cJSON_ArrayForEach(c, (r == 0 ? json_get(old, "manifests") : NULL)) {
		const cJSON *f = fresh_match(&fn, c);
		const char *name = NULL, *od = json_str(c, "digest");
		bool same = false;

		if (f)
			name = reused(c, f, &same);
		if (!name) {
			json_push(arr, cJSON_Duplicate(c, 1));
			continue;
		}
		if (same)
			continue;
		if (!wo->replace) {
			r = err_set(e, STRATA_EUSAGE, "'%s' already holds an image named '%s' (%s); --replace replaces it",
				    wo->layout ? wo->layout : "the layout", name, od ? od : "?");
			break;
		}
		if (!wo->dropped && !(wo->dropped = cJSON_CreateArray())) {
			r = err_nomem(e, "index.json");
			break;
		}
		json_push(wo->dropped, cJSON_Duplicate(c, 1));
	}
	cJSON_Delete(old);
	fresh_names_release(&fn);
	while (fresh->child)
		json_push(arr, cJSON_DetachItemFromArray(fresh, 0));
	cJSON_Delete(fresh);
	if (r < 0) {
		cJSON_Delete(o);
		return r;
	}
	if (!(txt = print_free(o)))
		return err_nomem(e, "index.json");
	r = sink_file(s, "index.json", txt, strlen(txt), e);
	free(txt);
	return r;
}

int target_write_oci(struct sink *s, const struct out_set *set, struct oci_write_opts *wo, struct strata_err *e)
{
	int r;

	if ((r = sink_file(s, "oci-layout", oci_layout, sizeof(oci_layout) - 1, e)) < 0)
		return r;
	return write_index(s, set, wo, e);
}

/* "repo:tag" -> repo and tag (the tag is after the last ':' past the last '/'). */
static bool split_tag(const char *name, char **repo, const char **tag)
{
	const char *c = strrchr(name, ':'), *sl = strrchr(name, '/');

	if (!c || (sl && c < sl))
		return false;
	*repo = strndup(name, (size_t)(c - name));
	*tag = c + 1;
	return *repo != NULL;
}

int target_write_docker(struct sink *s, const struct out_set *set, struct strata_err *e)
{
	cJSON *man = cJSON_CreateArray(), *repos = cJSON_CreateObject();
	/* lookups, not scans: an image can carry tens of thousands of names */
	struct strmap seen = STRMAP_INIT;   /* the current image's RepoTags */
	struct strmap rmap = STRMAP_INIT;   /* repository -> its object in repos */
	struct strmap tmap = STRMAP_INIT;   /* "LEN:REPO" + tag: set in repos */
	struct buf k = BUF_INIT((size_t)1 << 30);
	size_t i, j;
	char *txt;
	int r = 0;

	if (!man || !repos) {
		cJSON_Delete(man);
		cJSON_Delete(repos);
		return err_nomem(e, "manifest.json");
	}
	for (i = 0; i < set->len && r == 0; i++) {
		const struct out_image *im = &set->v[i];
		cJSON *o = cJSON_CreateObject(), *tags, *layers;
		char path[DIGEST_STR_MAX + 16];

		snprintf(path, sizeof(path), "blobs/sha256/%s", digest_hex(im->config.digest));
		cJSON_AddStringToObject(o, "Config", path);
		tags = NULL;
		strmap_release(&seen);
		for (j = 0; j < im->nnames && r == 0; j++) {
			char *repo;
			const char *tag;
			cJSON *rp;

			if (!im->names[j] || !tag_of(im->names[j]) || strmap_get(&seen, im->names[j]))
				continue;  /* RepoTags lists a name once */
			if ((r = strmap_put(&seen, im->names[j], (void *)1, e)) < 0)
				break;
			if (!tags)
				tags = cJSON_AddArrayToObject(o, "RepoTags");
			json_push(tags, cJSON_CreateString(im->names[j]));
			if (!im->nlayers || !im->diff_ids[im->nlayers - 1] || !split_tag(im->names[j], &repo, &tag))
				continue;
			if (!(rp = strmap_get(&rmap, repo)) &&
			    (!(rp = cJSON_AddObjectToObject(repos, repo)) || strmap_put(&rmap, repo, rp, e) < 0))
				r = e->code ? -e->code : err_nomem(e, "repositories");
			buf_reset(&k);
			if (r == 0 && buf_printf(&k, e, "%zu:%s%s", strlen(repo), repo, tag) < 0)
				r = -e->code;
			if (r == 0 && !strmap_get(&tmap, k.data)) {
				cJSON_AddStringToObject(rp, tag, digest_hex(im->diff_ids[im->nlayers - 1]));
				r = strmap_put(&tmap, k.data, (void *)1, e);
			}
			free(repo);
		}
		if (!tags)
			cJSON_AddNullToObject(o, "RepoTags");
		layers = cJSON_AddArrayToObject(o, "Layers");
		for (j = 0; j < im->nlayers; j++) {
			snprintf(path, sizeof(path), "blobs/sha256/%s", digest_hex(im->layers[j].digest));
			json_push(layers, cJSON_CreateString(path));
		}
		json_push(man, o);
	}
	strmap_release(&seen);
	strmap_release(&rmap);
	strmap_release(&tmap);
	buf_release(&k);
	if (r == 0)
		r = target_write_oci(s, set, NULL, e);
	if (r == 0) {
		txt = print_free(man);  /* frees man, printed or not */
		man = NULL;
		r = txt ? sink_file(s, "manifest.json", txt, strlen(txt), e) : err_nomem(e, "manifest.json");
		free(txt);
	}
	if (r == 0 && repos->child) {
		txt = print_free(repos);
		repos = NULL;
		r = txt ? sink_file(s, "repositories", txt, strlen(txt), e) : err_nomem(e, "repositories");
		free(txt);
	}
	cJSON_Delete(man);
	cJSON_Delete(repos);
	return r;
}

void out_image_release(struct out_image *im)
{
	size_t j;

	for (j = 0; j < im->nnames; j++)
		free(im->names[j]);
	for (j = 0; j < im->nref_names; j++)
		free(im->ref_names[j]);
	free(im->names);
	free(im->ref_names);
	strmap_release(&im->named);
	free(im->layers);
	free(im->diff_ids);
	memset(im, 0, sizeof(*im));
}

void out_set_release(struct out_set *set)
{
	size_t i;

	for (i = 0; i < set->len; i++)
		out_image_release(&set->v[i]);
	free(set->v);
	set->v = NULL;
	set->len = 0;
}
