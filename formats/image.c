/* image.c - the image model: construction, descriptors, configs; see image.h. */
#include "formats/image.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/buf.h"
#include "formats/json.h"

struct image *image_new(struct image_set *set, const char *where, struct strata_err *e)
{
	struct image *im;

	if (array_grow(&set->v, set->len, &set->alloc, sizeof(*set->v), 8) < 0) {
		err_nomem(e, "image");
		return NULL;
	}
	if (!(im = calloc(1, sizeof(*im))) || !(im->where = strdup(where))) {
		free(im);
		err_nomem(e, "image");
		return NULL;
	}
	im->config.size = im->manifest.size = -1;
	set->v[set->len++] = im;
	return im;
}

int image_set_keep(struct image_set *set, cJSON *doc, struct strata_err *e)
{
	if (array_grow(&set->docs, set->ndocs, &set->adocs, sizeof(*set->docs), 8) < 0) {
		cJSON_Delete(doc);
		return err_nomem(e, "documents");
	}
	set->docs[set->ndocs++] = doc;
	return 0;
}

void image_free(struct image *im)
{
	if (!im)
		return;
	free(im->where);
	free(im->tags);
	free(im->tops);
	free(im->layers);
	cJSON_Delete(im->config_json);
	free(im);
}

int image_add_tag(struct image *im, const char *tag, struct strata_err *e)
{
	const char **v;
	size_t i;

	for (i = 0; i < im->ntags; i++)
		if (!strcmp(im->tags[i], tag))
			return 0;
	if (!(v = realloc(im->tags, (im->ntags + 1) * sizeof(*v))))
		return err_nomem(e, "tags");
	im->tags = v;
	v[im->ntags++] = tag;
	return 0;
}

int image_add_top(struct image *im, const cJSON *top, struct strata_err *e)
{
	const cJSON **v;

	if (!(v = realloc(im->tops, (im->ntops + 1) * sizeof(*v))))
		return err_nomem(e, "index entries");
	im->tops = v;
	v[im->ntops++] = top;
	return 0;
}

void image_set_release(struct image_set *set)
{
	size_t i;

	for (i = 0; i < set->len; i++)
		image_free(set->v[i]);
	for (i = 0; i < set->ndocs; i++)
		cJSON_Delete(set->docs[i]);
	free(set->v);
	free(set->docs);
	memset(set, 0, sizeof(*set));
}

int descriptor_parse(const cJSON *o, struct descriptor *d, const char **why)
{
	const char *dg;
	const cJSON *p;

	memset(d, 0, sizeof(*d));
	d->size = -1;
	if (!cJSON_IsObject(o)) {
		*why = "descriptor is not a JSON object";
		return -1;
	}
	d->media_type = json_str(o, "mediaType");
	if (!d->media_type) {
		*why = "descriptor has no mediaType";
		return -1;
	}
	dg = json_str(o, "digest");
	if (!dg) {
		*why = "descriptor has no digest";
		return -1;
	}
	if (!digest_valid(dg)) {
		*why = "invalid digest";
		return -1;
	}
	memcpy(d->digest, dg, strlen(dg) + 1);  /* length checked by digest_valid */
	if (!json_uint(o, "size", &d->size)) {
		*why = "descriptor size is missing or not a non-negative integer (written as one: no fraction or exponent)";
		return -1;
	}
	d->urls = json_get(o, "urls");
	if (d->urls && !cJSON_IsArray(d->urls))
		d->urls = NULL;
	d->annotations = json_get(o, "annotations");
	p = json_get(o, "platform");
	if (cJSON_IsObject(p)) {
		d->has_platform = true;
		d->platform.os = json_str(p, "os");
		d->platform.arch = json_str(p, "architecture");
		d->platform.variant = json_str(p, "variant");
	}
	return 0;
}

/* A source not made by the scan (tests, fuzz targets) has zero limits: the defaults. */
int source_count_descriptors(struct source *s, uint64_t n, const char *where, struct strata_err *e)
{
	struct limits l = limits_resolve(&s->limits);

	s->descriptors += n;
	if (s->descriptors > l.max_descriptors)
		return err_set(e, STRATA_EFORMAT,
			       "%s: too many descriptors: the documents lead to more than %llu (indexes or manifests listed "
			       "over and over?); raise the limit with --max-descriptors", where,
			       (unsigned long long)l.max_descriptors);
	return 0;
}

int source_count_parse(struct source *s, const struct member *m, struct strata_err *e)
{
	uint64_t cap = limits_resolve(&s->limits).max_json * LIMIT_JSON_PARSED;

	if (!m->doc_kept)
		return 0;  /* not parsed: member_json() says why */
	s->json_parsed += m->doc.len;
	if (s->json_parsed > cap)
		return err_set(e, STRATA_EFORMAT,
			       "%s: too much JSON parsed: more than %llu bytes in all, %d times the limit of one document "
			       "(documents listed over and over?); raise it with --max-json", m->name,
			       (unsigned long long)cap, LIMIT_JSON_PARSED);
	return 0;
}

int source_check_layers(const struct source *s, size_t nlayers, const char *where, struct strata_err *e)
{
	uint64_t max = limits_resolve(&s->limits).max_layers;

	if (nlayers > max)
		return err_set(e, STRATA_EFORMAT, "%s: too many layers: %zu, over the limit of %llu (raise it with --max-layers)",
			       where, nlayers, (unsigned long long)max);
	return 0;
}

cJSON *member_json(struct member *m, struct diag *d, const char *what)
{
	struct strata_err e = STRATA_ERR_INIT;
	const char *sep = ": ";
	cJSON *v;

	if (!strcmp(what, m->name))
		what = sep = "";  /* "manifest.json: invalid JSON", named once */
	if (m->doc_too_large) {
		diag_add_id(d, SEV_ERROR, STRATA_EFORMAT, PROBLEM_LIMIT, m->name,
			 "%s%stoo large: %llu bytes, over the JSON document limit of %zu (raise it with --max-json)", what, sep,
			 (unsigned long long)m->size, m->doc.cap);
		return NULL;
	}
	if (!m->doc_kept) {
		diag_add_id(d, SEV_ERROR, STRATA_EFORMAT, PROBLEM_BAD_JSON, m->name, "%s%snot a JSON document (invalid JSON)", what, sep);
		return NULL;
	}
	if (json_parse(m->doc.data, m->doc.len, &v, &e) < 0) {
		diag_add_id(d, SEV_ERROR, STRATA_EFORMAT, PROBLEM_BAD_JSON, m->name, "%s%s%s", what, sep, e.msg);
		return NULL;
	}
	return v;
}

int media_type_compression(const char *mt)
{
	size_t n;

	if (!mt)
		return -1;
	n = strlen(mt);
#define ENDS(s) (n >= sizeof(s) - 1 && !strcmp(mt + n - (sizeof(s) - 1), s))
	if (ENDS("+gzip") || ENDS(".tar.gzip") || ENDS("tar.gz"))
		return COMP_GZIP;
	if (ENDS("+zstd") || ENDS(".tar.zstd"))
		return COMP_ZSTD;
	if (ENDS(".tar") || ENDS("layer.v1.tar") || ENDS(".diff.tar"))
		return COMP_NONE;
#undef ENDS
	return -1;
}

void image_read_config(struct image *im, struct diag *d)
{
	const cJSON *rootfs, *ids, *v;
	size_t i, n;
	char what[64];

	if (!im->config_m)
		return;
	snprintf(what, sizeof(what), "image config");
	if (!(im->config_json = member_json(im->config_m, d, what)))
		return;
	if (!cJSON_IsObject(im->config_json)) {
		diag_add_id(d, SEV_ERROR, STRATA_EFORMAT, PROBLEM_BAD_CONFIG, im->config_m->name, "image config is not a JSON object");
		return;
	}
	im->platform.os = json_str(im->config_json, "os");
	im->platform.arch = json_str(im->config_json, "architecture");
	im->platform.variant = json_str(im->config_json, "variant");
	if (im->kind != IMAGE_CONTAINER)
		return;
	rootfs = json_get(im->config_json, "rootfs");
	ids = json_get(rootfs, "diff_ids");
	if (!cJSON_IsArray(ids)) {
		diag_add_id(d, SEV_ERROR, STRATA_EFORMAT, PROBLEM_BAD_CONFIG, im->config_m->name,
			 "image config: required field 'rootfs.diff_ids' missing or not an array");
		return;
	}
	if (json_str(rootfs, "type") && strcmp(json_str(rootfs, "type"), "layers"))
		diag_add_id(d, SEV_ERROR, STRATA_EFORMAT, PROBLEM_BAD_CONFIG, im->config_m->name, "image config: rootfs.type is not 'layers'");
	n = (size_t)cJSON_GetArraySize(ids);
	if (n != im->nlayers)
		diag_add_id(d, SEV_ERROR, STRATA_EFORMAT, PROBLEM_LAYER_COUNT, im->config_m->name,
			 "layer count mismatch: %s lists %zu layers, the config %zu diff_ids", im->where, im->nlayers, n);
	for (i = 0, v = ids->child; v && i < im->nlayers; v = v->next, i++) {
		if (!cJSON_IsString(v) || !digest_valid(v->valuestring)) {
			diag_add_id(d, SEV_ERROR, STRATA_EFORMAT, PROBLEM_BAD_CONFIG, im->config_m->name,
				 "image config: diff_ids[%zu] is an invalid digest", i);
			continue;
		}
		im->layers[i].diff_id = v->valuestring;
	}
}
