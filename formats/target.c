/* target.c - documents of converted images; see target.h. */
#include "formats/target.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* One index.json descriptor per name (Docker 25 and containerd do so); a bare one if untagged. */
static void add_top(cJSON *arr, const struct out_desc *d, const struct out_image *im)
{
	size_t i, n = im->nnames > im->nref_names ? im->nnames : im->nref_names;

	if (!n) {
		json_push(arr, desc_json(d, im->group < 0 && im->has_platform ? &im->platform : NULL));
		return;
	}
	for (i = 0; i < n; i++) {
		cJSON *o = desc_json(d, im->group < 0 && im->has_platform ? &im->platform : NULL);
		cJSON *ann = cJSON_AddObjectToObject(o, "annotations");

		if (i < im->nnames)
			cJSON_AddStringToObject(ann, "io.containerd.image.name", im->names[i]);
		if (i < im->nref_names)
			cJSON_AddStringToObject(ann, "org.opencontainers.image.ref.name", im->ref_names[i]);
		json_push(arr, o);
	}
}

static bool same_ref(const cJSON *old, const cJSON *fresh)
{
	const char *a = json_str(json_get(old, "annotations"), "org.opencontainers.image.ref.name");
	const char *b = json_str(json_get(fresh, "annotations"), "org.opencontainers.image.ref.name");

	return a && b && !strcmp(a, b);
}

static int write_index(struct sink *s, const struct out_set *set, const char *old_index, size_t old_len,
		       struct strata_err *e)
{
	cJSON *o = cJSON_CreateObject(), *fresh = cJSON_CreateArray(), *arr, *old = NULL, *c, *f;
	size_t i;
	char *txt;
	int r;

	if (!o || !fresh) {
		cJSON_Delete(o);
		cJSON_Delete(fresh);
		return err_nomem(e, "index.json");
	}
	for (i = 0; i < set->len; i++) {
		const struct out_image *im = &set->v[i];

		if (im->group >= 0 && i > 0 && set->v[i - 1].group == im->group)
			continue;  /* the group's index is listed once */
		add_top(fresh, im->group >= 0 ? &im->index : &im->manifest, im);
	}
	cJSON_AddNumberToObject(o, "schemaVersion", 2);
	cJSON_AddStringToObject(o, "mediaType", MT_OCI_INDEX);
	arr = cJSON_AddArrayToObject(o, "manifests");
	if (old_index && (r = json_parse(old_index, old_len, &old, e)) < 0) {
		cJSON_Delete(o);
		cJSON_Delete(fresh);
		return err_wrap(e, "existing index.json");
	}
	/* keep the images already there, except those a new image replaces by tag */
	cJSON_ArrayForEach(c, json_get(old, "manifests")) {
		bool replaced = false;

		cJSON_ArrayForEach(f, fresh)
			replaced |= same_ref(c, f);
		if (!replaced)
			json_push(arr, cJSON_Duplicate(c, 1));
	}
	cJSON_Delete(old);
	while (fresh->child)
		json_push(arr, cJSON_DetachItemFromArray(fresh, 0));
	cJSON_Delete(fresh);
	if (!(txt = print_free(o)))
		return err_nomem(e, "index.json");
	r = sink_file(s, "index.json", txt, strlen(txt), e);
	free(txt);
	return r;
}

int target_write_oci(struct sink *s, const struct out_set *set, const char *old_index, size_t old_len,
		     struct strata_err *e)
{
	int r;

	if ((r = sink_file(s, "oci-layout", oci_layout, sizeof(oci_layout) - 1, e)) < 0)
		return r;
	return write_index(s, set, old_index, old_len, e);
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
	size_t i, j;
	char *txt;
	int r;

	if (!man || !repos) {
		cJSON_Delete(man);
		cJSON_Delete(repos);
		return err_nomem(e, "manifest.json");
	}
	for (i = 0; i < set->len; i++) {
		const struct out_image *im = &set->v[i];
		cJSON *o = cJSON_CreateObject(), *tags, *layers;
		char path[DIGEST_STR_MAX + 16];

		snprintf(path, sizeof(path), "blobs/sha256/%s", digest_hex(im->config.digest));
		cJSON_AddStringToObject(o, "Config", path);
		if (im->nnames) {
			tags = cJSON_AddArrayToObject(o, "RepoTags");
			for (j = 0; j < im->nnames; j++) {
				char *repo;
				const char *tag;
				cJSON *rp;

				json_push(tags, cJSON_CreateString(im->names[j]));
				if (!split_tag(im->names[j], &repo, &tag) || !im->nlayers || !im->diff_ids[im->nlayers - 1])
					continue;
				if (!(rp = cJSON_GetObjectItemCaseSensitive(repos, repo)))
					rp = cJSON_AddObjectToObject(repos, repo);
				if (!cJSON_GetObjectItemCaseSensitive(rp, tag))
					cJSON_AddStringToObject(rp, tag, digest_hex(im->diff_ids[im->nlayers - 1]));
				free(repo);
			}
		} else {
			cJSON_AddNullToObject(o, "RepoTags");
		}
		layers = cJSON_AddArrayToObject(o, "Layers");
		for (j = 0; j < im->nlayers; j++) {
			snprintf(path, sizeof(path), "blobs/sha256/%s", digest_hex(im->layers[j].digest));
			json_push(layers, cJSON_CreateString(path));
		}
		json_push(man, o);
	}
	r = target_write_oci(s, set, NULL, 0, e);
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
