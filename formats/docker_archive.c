/*
 * docker_archive.c - `docker save` archives (Docker Image Spec v1.1/v1.2 and
 * the Docker 25+ / containerd hybrid with an OCI layout inside).
 *
 * manifest.json is the source of truth for classic Docker and podman; it
 * lists per image the Config member, the RepoTags and the Layers members
 * (base first).  Member names are resolved strictly as archive paths, with
 * at most one level of in-archive symlink (Docker 1.10-24 and skopeo link
 * duplicate layers; containerd and skopeo follow one level).  Directory
 * names are not trusted to mean anything (the spec says so); only names that
 * *are* digests (blobs/sha256/<hex>, <hex>.json, sha256:<hex>) are checked.
 *
 * When oci-layout and index.json are present too (Docker 25+, containerd's
 * export), that second view is loaded and checked as well, and its manifest
 * digests are attached to the images of manifest.json with the same config.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fsutil.h"
#include "formats/image.h"
#include "formats/json.h"

static int docker_bid(const struct catalog *c)
{
	int bid = 0;

	if (catalog_get(c, "manifest.json"))
		bid += 100;
	if (catalog_get(c, "repositories"))
		bid += 10;
	/* Layers and configs without any manifest: still ours, to say what is missing. */
	if (!bid && !catalog_get(c, "index.json")) {
		size_t i;

		for (i = 0; i < c->len; i++)
			if (c->v[i]->kind == MEM_FILE && strlen(c->v[i]->name) >= 69 &&
			    digest_is_hex64(c->v[i]->name, 64) && strchr("/.", c->v[i]->name[64]))
				return 1;
	}
	return bid;
}

/* The digest a member's name promises, if its name is one. */
static bool name_digest(const char *name, char out[DIGEST_STR_MAX])
{
	const char *base = strrchr(name, '/');
	size_t n;

	if (!strncmp(name, "blobs/sha256/", 13) && digest_is_hex64(name + 13, strlen(name + 13))) {
		snprintf(out, DIGEST_STR_MAX, "sha256:%s", name + 13);
		return true;
	}
	base = base ? base + 1 : name;
	if (!strncmp(base, "sha256:", 7) && digest_is_hex64(base + 7, strlen(base + 7))) {
		snprintf(out, DIGEST_STR_MAX, "%s", base);
		return true;
	}
	n = strlen(base);
	if (n == 69 && !strcmp(base + 64, ".json") && digest_is_hex64(base, 64)) {
		snprintf(out, DIGEST_STR_MAX, "sha256:%.64s", base);
		return true;
	}
	return false;
}

static const char *layer_media_type(enum compression c)
{
	switch (c) {
	case COMP_GZIP: return MT_DOCKER_LAYER ".gzip";
	case COMP_ZSTD: return MT_OCI_LAYER "+zstd";  /* no Docker schema2 type exists for zstd */
	case COMP_NONE: return MT_DOCKER_LAYER;
	default: return "application/octet-stream";
	}
}

static void load_tags(struct image *im, const cJSON *tags, struct diag *d, struct strata_err *e)
{
	const cJSON *t;
	size_t n = 0;

	if (!tags || cJSON_IsNull(tags))
		return;  /* untagged: RepoTags null (Docker, containerd) */
	if (!cJSON_IsArray(tags)) {
		diag_add(d, SEV_ERROR, STRATA_EFORMAT, "manifest.json", "%s: RepoTags must be an array of strings, not %s",
			 im->where, json_type_name(tags));
		return;
	}
	if (!(im->tags = calloc((size_t)cJSON_GetArraySize(tags) + 1, sizeof(*im->tags)))) {
		err_nomem(e, "tags");
		return;
	}
	cJSON_ArrayForEach(t, tags) {
		if (!cJSON_IsString(t)) {
			diag_add(d, SEV_ERROR, STRATA_EFORMAT, "manifest.json", "%s: RepoTags entry is %s, not a string",
				 im->where, json_type_name(t));
			continue;
		}
		if (!strchr(t->valuestring, ':') || strchr(t->valuestring, '@'))
			diag_add(d, SEV_WARNING, STRATA_EFORMAT, "manifest.json",
				 "%s: RepoTags entry '%.200s' is not NAME:TAG (docker load rejects it)", im->where,
				 t->valuestring);
		im->tags[n++] = t->valuestring;
	}
	im->ntags = n;
}

/* LayerSources: diff_id -> descriptor of a foreign layer. */
static const cJSON *layer_source(const cJSON *item, const char *diff_id)
{
	return diff_id ? json_get(json_get(item, "LayerSources"), diff_id) : NULL;
}

static int load_item(struct source *s, const cJSON *item, size_t idx, struct diag *d, struct strata_err *e)
{
	char where[48], want[DIGEST_STR_MAX];
	const cJSON *layers, *l;
	const char *cfg, *why;
	struct image *im;
	size_t i;

	snprintf(where, sizeof(where), "manifest.json[%zu]", idx);
	if (!cJSON_IsObject(item)) {
		diag_add(d, SEV_ERROR, STRATA_EFORMAT, "manifest.json", "%s is %s, not an object", where,
			 json_type_name(item));
		return 0;
	}
	if (!(im = image_new(&s->images, where, e)))
		return -e->code;
	load_tags(im, json_get(item, "RepoTags"), d, e);
	cfg = json_str(item, "Config");
	if (!cfg) {
		diag_add(d, SEV_ERROR, STRATA_EFORMAT, "manifest.json", "%s: required field 'Config' missing (keys are case-sensitive)",
			 where);
	} else {
		im->config_path = cfg;
		im->config.media_type = MT_DOCKER_CONFIG;
		if (!(im->config_m = catalog_resolve(&s->cat, cfg, &why))) {
			diag_add(d, SEV_ERROR, STRATA_EFORMAT, cfg, "config of %s: %s", where, why);
		} else {
			memcpy(im->config.digest, im->config_m->digest, DIGEST_STR_MAX);
			im->config.size = (int64_t)im->config_m->size;
			if (name_digest(cfg, want) && strcmp(want, im->config_m->digest))
				diag_add_id(d, SEV_ERROR, STRATA_EVERIFY, PROBLEM_DIGEST_MISMATCH, cfg, "config digest mismatch: name says %s, content is %s",
					 want, im->config_m->digest);
		}
	}
	layers = json_get(item, "Layers");
	if (!cJSON_IsArray(layers)) {
		diag_add(d, SEV_ERROR, STRATA_EFORMAT, "manifest.json", "%s: required field 'Layers' missing or not an array",
			 where);
		layers = NULL;
	}
	im->nlayers = layers ? (size_t)cJSON_GetArraySize(layers) : 0;
	if (source_check_layers(s, im->nlayers, where, e) < 0 || source_count_descriptors(s, im->nlayers + 2, where, e) < 0)
		return -e->code;
	if (im->nlayers && !(im->layers = calloc(im->nlayers, sizeof(*im->layers))))
		return err_nomem(e, "layers");
	i = 0;
	cJSON_ArrayForEach(l, layers) {
		struct layer *ly = &im->layers[i++];

		ly->desc.size = -1;
		if (!cJSON_IsString(l)) {
			diag_add(d, SEV_ERROR, STRATA_EFORMAT, "manifest.json", "%s: Layers[%zu] is not a string", where, i - 1);
			continue;
		}
		ly->path = l->valuestring;
		ly->m = catalog_resolve(&s->cat, l->valuestring, &ly->why);
		if (ly->m) {
			memcpy(ly->desc.digest, ly->m->digest, DIGEST_STR_MAX);
			ly->desc.size = (int64_t)ly->m->size;
			ly->desc.media_type = layer_media_type(ly->m->comp);
			if (name_digest(l->valuestring, want) && strcmp(want, ly->m->digest))
				diag_add_id(d, SEV_ERROR, STRATA_EVERIFY, PROBLEM_DIGEST_MISMATCH, ly->m->name,
					 "layer %zu digest mismatch: name says %s, content is %s", i, want, ly->m->digest);
		}
	}
	if (im->config_m && source_count_parse(s, im->config_m, e) < 0)
		return -e->code;
	image_read_config(im, d);
	/* A missing layer may be a foreign one that LayerSources describes. */
	for (i = 0; i < im->nlayers; i++) {
		struct layer *ly = &im->layers[i];
		const cJSON *src = layer_source(item, ly->diff_id);

		if (!ly->m && src) {
			if (descriptor_parse(src, &ly->desc, &why) < 0)
				diag_add(d, SEV_ERROR, STRATA_EFORMAT, "manifest.json", "%s: LayerSources entry: %s", where, why);
		}
	}
	return 0;
}

/* Attach index.json's view (manifest digests) to the images of manifest.json. */
static void link_views(struct source *s, struct diag *d)
{
	size_t i, j;

	for (i = 0; i < s->images.len; i++) {
		struct image *im = s->images.v[i];
		bool found = false;

		for (j = 0; j < s->extra.len && im->config.digest[0]; j++) {
			struct image *ox = s->extra.v[j];

			if (strcmp(ox->config.digest, im->config.digest))
				continue;
			found = true;
			if (!im->has_manifest && ox->has_manifest) {
				im->has_manifest = true;
				im->manifest = ox->manifest;
				memcpy(im->index_digest, ox->index_digest, DIGEST_STR_MAX);
			}
		}
		if (!found && s->extra.len)
			diag_add(d, SEV_WARNING, STRATA_EFORMAT, "index.json",
				 "%s has no counterpart in index.json (containerd would not see it)", im->where);
	}
}

/* Two manifest.json entries with the same config and layers are one image
 * with the names of both (as podman save -m merges them). */
static bool same_image(const struct image *a, const struct image *b)
{
	size_t i;

	if (!a->config.digest[0] || strcmp(a->config.digest, b->config.digest) || a->nlayers != b->nlayers)
		return false;
	for (i = 0; i < a->nlayers; i++)
		if (!a->layers[i].desc.digest[0] || strcmp(a->layers[i].desc.digest, b->layers[i].desc.digest))
			return false;
	return true;
}

static int merge_items(struct image_set *set, struct strata_err *e)
{
	size_t i, j, k, t;

	for (j = 1; j < set->len; j++)
		for (i = 0; i < j; i++) {
			if (!same_image(set->v[i], set->v[j]))
				continue;
			for (t = 0; t < set->v[j]->ntags; t++)
				if (image_add_tag(set->v[i], set->v[j]->tags[t], e) < 0)
					return -e->code;
			image_free(set->v[j]);
			for (k = j; k + 1 < set->len; k++)
				set->v[k] = set->v[k + 1];
			set->len--;
			j--;
			break;
		}
	return 0;
}

int oci_load_view(struct source *s, struct image_set *set, struct diag *d, struct strata_err *e);

static int docker_load(struct source *s, struct diag *d, struct strata_err *e)
{
	struct member *mj = catalog_get(&s->cat, "manifest.json");
	const cJSON *item;
	cJSON *doc;
	size_t i = 0;
	int r;

	if (!mj) {
		if (catalog_get(&s->cat, "repositories"))
			return err_set(e, STRATA_EFORMAT,
				       "'repositories' without manifest.json: a legacy v1.0 docker archive (Docker < 1.10), "
				       "which no current loader accepts; re-save it with a newer Docker");
		return err_set(e, STRATA_EFORMAT, "manifest.json: missing (the archive holds layers and configs but no manifest.json; docker load and skopeo need it)");
	}
	if (mj->kind != MEM_FILE)
		return err_set(e, STRATA_EFORMAT, "manifest.json: not a regular file");
	mj->refs++;
	if ((r = source_count_parse(s, mj, e)) < 0)
		return r;
	if (!(doc = member_json(mj, d, "manifest.json")))
		return 0;
	if ((r = image_set_keep(&s->images, doc, e)) < 0)
		return r;
	if (!cJSON_IsArray(doc)) {
		diag_add(d, SEV_ERROR, STRATA_EFORMAT, "manifest.json", "must be a JSON array, not %s",
			 json_type_name(doc));
		return 0;
	}
	cJSON_ArrayForEach(item, doc) {
		if ((r = load_item(s, item, i++, d, e)) < 0)
			return r;
	}
	if ((r = merge_items(&s->images, e)) < 0)
		return r;
	check_images(s, &s->images, false, d);
	if (catalog_get(&s->cat, "index.json") && catalog_get(&s->cat, "oci-layout")) {
		if ((r = oci_load_view(s, &s->extra, d, e)) < 0)
			return r;
		check_images(s, &s->extra, true, d);
		link_views(s, d);
	}
	return 0;
}

const struct format_ops docker_archive_format = { "docker-archive", docker_bid, docker_load };
