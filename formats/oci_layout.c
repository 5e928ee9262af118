/*
 * oci_layout.c - OCI image layouts, as a directory (oci:) or a tar (oci-archive:).
 *
 * index.json -> manifests and nested indexes -> configs and layers, every
 * document fetched as blobs/<alg>/<hex> and checked against its descriptor.
 * Each manifest reached becomes an image; a multi-platform index gives one
 * image per platform (BuildKit attestation manifests are marked as such).
 * The layout may legally lack blobs (image-layout.md): a missing child of a
 * nested index is reported as a warning naming its platform, a missing
 * manifest listed by index.json itself, a config or a layer as an error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strmap.h"
#include "formats/image.h"
#include "formats/json.h"

#define MAX_INDEX_DEPTH 8

static int oci_bid(const struct catalog *c)
{
	return (catalog_get(c, "oci-layout") ? 50 : 0) + (catalog_get(c, "index.json") ? 50 : 0);
}

static bool is_index_type(const char *mt)
{
	return mt && (!strcmp(mt, MT_OCI_INDEX) || !strcmp(mt, MT_DOCKER_LIST));
}

static bool is_manifest_type(const char *mt)
{
	return mt && (!strcmp(mt, MT_OCI_MANIFEST) || !strcmp(mt, MT_DOCKER_MANIFEST));
}

struct walk {
	struct source *s;
	struct image_set *set;
	struct diag *d;
	const char *tags[2];
	size_t ntags;
	const cJSON *top;  /* the index.json entry being walked */
	const char *path[MAX_INDEX_DEPTH + 1];  /* digests of the indexes above, for loop detection */
	int depth;
	struct strmap seen;  /* documents reached from the index.json entry being walked */
};

static int visit(struct walk *w, const cJSON *jd, const char *parent, const char *where, const char *index_digest,
		 struct strata_err *e);

static int load_manifest(struct walk *w, const struct descriptor *desc, struct member *m, const cJSON *doc,
			 const char *where, const char *index_digest, struct strata_err *e)
{
	const cJSON *layers, *l, *ty;
	char bp[DIGEST_STR_MAX + 8];
	struct image *im;
	const char *why;
	size_t i;

	if (!(im = image_new(w->set, where, e)))
		return -e->code;
	for (i = 0; i < w->ntags; i++)
		if (image_add_tag(im, w->tags[i], e) < 0)
			return -e->code;
	if (w->top && image_add_top(im, w->top, e) < 0)
		return -e->code;
	im->top_desc = w->top;
	im->top_annotations = json_get(w->top, "annotations");
	im->has_manifest = true;
	im->manifest = *desc;
	im->manifest_json = doc;
	im->manifest_m = m;
	snprintf(im->index_digest, sizeof(im->index_digest), "%s", index_digest ? index_digest : "");
	if (descriptor_parse(json_get(doc, "config"), &im->config, &why) < 0) {
		diag_add(w->d, SEV_ERROR, STRATA_EFORMAT, m->name, "manifest config: %s", why);
	} else {
		im->config_m = catalog_blob(&w->s->cat, im->config.digest, &why);
		if (!im->config_m && !strcmp(why, "missing"))
			diag_add_id(w->d, SEV_ERROR, STRATA_EFORMAT, PROBLEM_MISSING_BLOB, blob_path(im->config.digest, bp),
				 "config of %s is missing from the archive", where);
		else if (!im->config_m)
			diag_add_id(w->d, SEV_ERROR, STRATA_EFORMAT, PROBLEM_MISSING_BLOB, blob_path(im->config.digest, bp),
				 "config of %s: %s", where, why);
	}
	/* An artifact, not a runnable image: artifactType set, a config that is
	 * not an image config, or any layer that is not a layer media type
	 * (the pre-1.1 way of storing artifacts, e.g. regclient's build-type). */
	if (json_str(doc, "artifactType") ||
	    (im->config.media_type && strcmp(im->config.media_type, MT_OCI_CONFIG) &&
	     strcmp(im->config.media_type, MT_DOCKER_CONFIG)))
		im->kind = IMAGE_ARTIFACT;
	ty = json_get(desc->annotations, "vnd.docker.reference.type");
	if ((cJSON_IsString(ty) && !strcmp(ty->valuestring, "attestation-manifest")) ||
	    (desc->has_platform && desc->platform.os && !strcmp(desc->platform.os, "unknown")))
		im->kind = IMAGE_ATTESTATION;
	layers = json_get(doc, "layers");
	if (!cJSON_IsArray(layers)) {
		diag_add(w->d, SEV_ERROR, STRATA_EFORMAT, m->name, "manifest: required field 'layers' missing or not an array");
		layers = NULL;
	}
	im->nlayers = layers ? (size_t)cJSON_GetArraySize(layers) : 0;
	if (source_check_layers(w->s, im->nlayers, m->name, e) < 0 ||
	    source_count_descriptors(w->s, im->nlayers + 1, m->name, e) < 0)
		return -e->code;
	if (im->nlayers && !(im->layers = calloc(im->nlayers, sizeof(*im->layers))))
		return err_nomem(e, "layers");
	i = 0;
	cJSON_ArrayForEach(l, layers) {
		struct layer *ly = &im->layers[i++];

		if (descriptor_parse(l, &ly->desc, &why) < 0) {
			diag_add(w->d, SEV_ERROR, STRATA_EFORMAT, m->name, "layers[%zu]: %s", i - 1, why);
			ly->desc.digest[0] = '\0';
			continue;
		}
		ly->m = catalog_blob(&w->s->cat, ly->desc.digest, &ly->why);
		if (media_type_compression(ly->desc.media_type) < 0 && im->kind == IMAGE_CONTAINER)
			im->kind = IMAGE_ARTIFACT;
	}
	if (im->config_m && im->kind == IMAGE_CONTAINER && source_count_parse(w->s, im->config_m, e) < 0)
		return -e->code;
	if (im->kind == IMAGE_CONTAINER)
		image_read_config(im, w->d);
	else if (im->config_m)
		im->config_m->refs++;
	if (!im->platform.os && desc->has_platform)
		im->platform = desc->platform;
	return 0;
}

static int load_index(struct walk *w, const char *digest, const cJSON *doc, const char *name, struct strata_err *e)
{
	const cJSON *mans = json_get(doc, "manifests"), *c;
	char where[160];
	size_t i = 0;
	int r = 0, k;

	for (k = 0; k < w->depth; k++)
		if (!strcmp(w->path[k], digest)) {
			diag_add(w->d, SEV_ERROR, STRATA_EFORMAT, name, "index refers to itself (loop)");
			return 0;
		}
	if (w->depth >= MAX_INDEX_DEPTH) {
		diag_add(w->d, SEV_ERROR, STRATA_EFORMAT, name, "indexes nested deeper than %d", MAX_INDEX_DEPTH);
		return 0;
	}
	if (!cJSON_IsArray(mans)) {
		diag_add(w->d, SEV_ERROR, STRATA_EFORMAT, name, "index: required field 'manifests' missing or not an array");
		return 0;
	}
	w->path[w->depth++] = digest;
	cJSON_ArrayForEach(c, mans) {
		snprintf(where, sizeof(where), "%.80s[%zu]", name, i++);
		if ((r = visit(w, c, name, where, digest, e)) < 0)
			break;
	}
	w->depth--;
	return r < 0 ? r : 0;
}

static int visit(struct walk *w, const cJSON *jd, const char *parent, const char *where, const char *index_digest,
		 struct strata_err *e)
{
	struct descriptor desc;
	char bp[DIGEST_STR_MAX + 8];
	const char *why, *doc_mt;
	struct member *m;
	cJSON *doc;
	bool idx, man;
	int r;

	if ((r = source_count_descriptors(w->s, 1, parent, e)) < 0)
		return r;
	if (descriptor_parse(jd, &desc, &why) < 0) {
		diag_add(w->d, SEV_ERROR, STRATA_EFORMAT, parent, "%s: %s", where, why);
		return 0;
	}
	idx = is_index_type(desc.media_type);
	man = is_manifest_type(desc.media_type);
	m = catalog_blob(&w->s->cat, desc.digest, &why);
	if (!m) {
		if (!idx && !man)
			return 0;  /* not a document we read: its absence is not ours to judge */
		if (strcmp(why, "missing")) {
			diag_add_id(w->d, SEV_ERROR, STRATA_EFORMAT, PROBLEM_MISSING_BLOB, blob_path(desc.digest, bp), "%s: %s %s",
				    where, idx ? "index" : "manifest", why);
			return 0;
		}
		if (w->depth > 0 && desc.has_platform)
			diag_add_id(w->d, SEV_WARNING, STRATA_EFORMAT, PROBLEM_MISSING_BLOB, blob_path(desc.digest, bp),
				 "manifest for platform %s/%s%s%s is not in the archive (other platform, skipped)",
				 desc.platform.os ? desc.platform.os : "?", desc.platform.arch ? desc.platform.arch : "?",
				 desc.platform.variant ? "/" : "", desc.platform.variant ? desc.platform.variant : "");
		else
			diag_add_id(w->d, SEV_ERROR, STRATA_EFORMAT, PROBLEM_MISSING_BLOB, blob_path(desc.digest, bp), "%s: %s is missing from the archive", where,
				 idx ? "index" : "manifest");
		return 0;
	}
	m->refs++;
	if (!idx && !man)
		return 0;  /* unknown media type: must not be an error (image-layout.md) */
	if (desc.size >= 0 && (uint64_t)desc.size != m->size) {
		diag_add_id(w->d, SEV_ERROR, STRATA_EVERIFY, PROBLEM_SIZE_MISMATCH, m->name, "%s size mismatch: descriptor says %lld bytes, content is %llu",
			 where, (long long)desc.size, (unsigned long long)m->size);
	}
	if (strcmp(desc.digest, m->digest)) {
		diag_add_id(w->d, SEV_ERROR, STRATA_EVERIFY, PROBLEM_DIGEST_MISMATCH, m->name, "%s digest mismatch: expected %s, content is %s", where,
			 desc.digest, m->digest);
		return 0;  /* do not interpret bytes that are not what was referenced */
	}
	/* A document reached again from the same index.json entry (an index
	 * listing an index many times that lists a manifest many times) is the
	 * same image: read once, so the cost follows the distinct documents. */
	if (strmap_get(&w->seen, m->digest))
		return 0;
	if ((r = strmap_put(&w->seen, m->digest, (void *)1, e)) < 0)
		return r;
	if ((r = source_count_parse(w->s, m, e)) < 0)
		return r;
	if (!(doc = member_json(m, w->d, idx ? "index" : "manifest")))
		return 0;
	if ((r = image_set_keep(w->set, doc, e)) < 0)
		return r;
	doc_mt = json_str(doc, "mediaType");
	if ((doc_mt && strcmp(doc_mt, desc.media_type)) || (idx && json_get(doc, "layers")) ||
	    (man && json_get(doc, "manifests"))) {
		diag_add_id(w->d, SEV_ERROR, STRATA_EFORMAT, PROBLEM_MEDIA_TYPE, m->name,
			 "media type mismatch: descriptor says '%s', document is '%s' (media type confusion)", desc.media_type,
			 doc_mt ? doc_mt : idx ? "a manifest" : "an index");
		return 0;
	}
	if (idx)
		return load_index(w, m->digest, doc, m->name, e);
	return load_manifest(w, &desc, m, doc, where, index_digest, e);
}

int oci_load_view(struct source *s, struct image_set *set, struct diag *d, struct strata_err *e);

/*
 * An index.json entry naming the same manifest (or index) as an earlier one
 * adds names to the images that one made: one manifest is one image, with
 * several tags (a layout tagged "1.0" and "latest").  Returns true when
 * merged; first[k]..last[k] are the images entry k made.
 */
static bool merge_top(struct walk *w, const cJSON *mans, const cJSON *c, size_t k, const size_t *first,
		      const size_t *last, int *r, struct strata_err *e)
{
	const char *dg = json_str(c, "digest"), *mt = json_str(c, "mediaType");
	const cJSON *o;
	size_t j = 0, i;

	if (!dg || !mt || !digest_valid(dg))
		return false;
	cJSON_ArrayForEach(o, mans) {
		const char *odg, *omt;

		if (j >= k)
			break;
		odg = json_str(o, "digest");
		omt = json_str(o, "mediaType");
		if (odg && omt && first[j] < last[j] && !strcmp(odg, dg) && !strcmp(omt, mt) &&
		    json_get(o, "size") && json_get(c, "size") &&
		    cJSON_GetNumberValue(json_get(o, "size")) == cJSON_GetNumberValue(json_get(c, "size"))) {
			for (i = first[j]; i < last[j] && *r == 0; i++) {
				struct image *im = w->set->v[i];
				size_t t;

				for (t = 0; t < w->ntags && *r == 0; t++)
					*r = image_add_tag(im, w->tags[t], e) < 0 ? -e->code : 0;
				if (*r == 0 && image_add_top(im, c, e) < 0)
					*r = -e->code;
			}
			return true;
		}
		j++;
	}
	return false;
}

int oci_load_view(struct source *s, struct image_set *set, struct diag *d, struct strata_err *e)
{
	struct member *lay = catalog_get(&s->cat, "oci-layout"), *ix = catalog_get(&s->cat, "index.json");
	struct walk w = { s, set, d, { NULL, NULL }, 0, NULL, { NULL }, 0, STRMAP_INIT };
	const cJSON *mans, *c;
	const char *ver, *mt;
	int64_t ver_n;
	char where[32];
	cJSON *doc;
	size_t i = 0, n, *first, *last;
	int r = 0;

	if (!lay) {
		diag_add(d, SEV_ERROR, STRATA_EFORMAT, "oci-layout", "missing (required by the OCI image layout)");
	} else if (lay->kind != MEM_FILE) {
		diag_add(d, SEV_ERROR, STRATA_EFORMAT, "oci-layout", "not a regular file (required as one by the OCI image layout)");
	} else if ((doc = member_json(lay, d, "oci-layout"))) {
		lay->refs++;
		ver = json_str(doc, "imageLayoutVersion");
		if (!ver)
			diag_add(d, SEV_ERROR, STRATA_EFORMAT, "oci-layout", "required field 'imageLayoutVersion' missing");
		else if (strcmp(ver, "1.0.0"))
			diag_add(d, SEV_WARNING, STRATA_EFORMAT, "oci-layout",
				 "imageLayoutVersion is '%.40s', containerd accepts only '1.0.0'", ver);
		cJSON_Delete(doc);
	}
	if (!ix)
		return err_set(e, STRATA_EFORMAT, "index.json: missing (required by the OCI image layout)");
	if (ix->kind != MEM_FILE)
		return err_set(e, STRATA_EFORMAT, "index.json: not a regular file (required as one by the OCI image layout)");
	ix->refs++;
	if ((r = source_count_parse(s, ix, e)) < 0)
		return r;
	if (!(doc = member_json(ix, d, "index.json")))
		return 0;
	if ((r = image_set_keep(set, doc, e)) < 0)
		return r;
	if (!json_uint(doc, "schemaVersion", &ver_n) || ver_n != 2)
		diag_add(d, SEV_ERROR, STRATA_EFORMAT, "index.json", "schemaVersion must be 2");
	mt = json_str(doc, "mediaType");
	if (mt && strcmp(mt, MT_OCI_INDEX))
		diag_add(d, SEV_ERROR, STRATA_EFORMAT, "index.json", "media type is '%.100s', not an image index", mt);
	mans = json_get(doc, "manifests");
	if (!cJSON_IsArray(mans)) {
		/* Docker 25 saving an untagged image writes "manifests": null; in
		 * the hybrid that is a flaw of the second view only. */
		diag_add(d, set == &s->extra ? SEV_WARNING : SEV_ERROR, STRATA_EFORMAT, "index.json",
			 "required field 'manifests' is %s, not an array%s", json_type_name(mans),
			 set == &s->extra ? " (containerd and skopeo will not read this OCI view)" : "");
		return 0;
	}
	n = (size_t)cJSON_GetArraySize(mans);
	first = calloc(n + 1, sizeof(*first));
	last = calloc(n + 1, sizeof(*last));
	if (!first || !last) {
		free(first);
		free(last);
		return err_nomem(e, "index.json");
	}
	cJSON_ArrayForEach(c, mans) {
		const cJSON *ann = json_get(c, "annotations");
		const char *rn = json_str(ann, "org.opencontainers.image.ref.name");
		const char *cn = json_str(ann, "io.containerd.image.name");

		w.ntags = 0;
		if (cn)
			w.tags[w.ntags++] = cn;
		if (rn && (!cn || strcmp(rn, cn)))
			w.tags[w.ntags++] = rn;
		first[i] = last[i] = set->len;
		if (merge_top(&w, mans, c, i, first, last, &r, e)) {
			if (r < 0 || (r = source_count_descriptors(s, 1, "index.json", e)) < 0)
				break;
			i++;
			continue;
		}
		snprintf(where, sizeof(where), "index.json[%zu]", i);
		w.top = c;
		strmap_release(&w.seen);
		if ((r = visit(&w, c, "index.json", where, NULL, e)) < 0)
			break;
		last[i++] = set->len;
	}
	free(first);
	free(last);
	strmap_release(&w.seen);
	return r < 0 ? r : 0;
}

static int oci_load(struct source *s, struct diag *d, struct strata_err *e)
{
	int r;

	s->format_name = s->is_dir ? "oci-layout" : "oci-archive";
	if ((r = oci_load_view(s, &s->images, d, e)) < 0)
		return r;
	check_images(s, &s->images, false, d);
	return 0;
}

const struct format_ops oci_layout_format = { "oci-layout", oci_bid, oci_load };
