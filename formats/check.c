/*
 * check.c - compare what the documents claim with what the scan computed.
 *
 * One place for every "reading rule" of formats.md: descriptor size and
 * digest against the bytes, config digest against its name or descriptor,
 * diff_ids against the decoded layers, layer media types against the
 * compression found in the bytes, layers that are not tars.  Messages name
 * the member concerned and say both values.
 */
#include <stdio.h>
#include <string.h>

#include "formats/image.h"

static const char *short_digest(const char *dg, char buf[24])
{
	snprintf(buf, 24, "%.19s", dg);
	return buf;
}

/* Declared descriptor vs the member's computed digest and size. */
static void check_desc(const struct descriptor *desc, const struct member *m, const char *what, struct diag *d)
{
	if (desc->size >= 0 && (uint64_t)desc->size != m->size)
		diag_add_id(d, SEV_ERROR, STRATA_EVERIFY, PROBLEM_SIZE_MISMATCH, m->name, "%s size mismatch: descriptor says %lld bytes, content is %llu",
			 what, (long long)desc->size, (unsigned long long)m->size);
	if (desc->digest[0] && strcmp(desc->digest, m->digest))
		diag_add_id(d, SEV_ERROR, STRATA_EVERIFY, PROBLEM_DIGEST_MISMATCH, m->name, "%s digest mismatch: expected %s, content is %s", what,
			 desc->digest, m->digest);
}

static void check_layer(struct image *im, size_t i, bool presence_only, struct diag *d)
{
	struct layer *l = &im->layers[i];
	struct member *m = l->m;
	char what[32], sd[24];
	int want;

	snprintf(what, sizeof(what), "layer %zu", i + 1);
	if (!m && !l->path && !l->desc.digest[0])
		return;  /* its descriptor was refused, and reported, when the document was read */
	if (!m) {
		char bp[DIGEST_STR_MAX + 8];
		const char *name = l->path ? l->path : blob_path(l->desc.digest, bp);

		if (l->why && strcmp(l->why, "missing"))
			diag_add_id(d, SEV_ERROR, STRATA_EFORMAT, PROBLEM_MISSING_BLOB, name, "%s: %s", what, l->why);
		else if (l->desc.urls && cJSON_GetArraySize(l->desc.urls) > 0)
			diag_add_id(d, SEV_WARNING, STRATA_EFORMAT, PROBLEM_FOREIGN_LAYER, name,
				 "%s is a foreign layer not stored in the archive (fetched from its urls)", what);
		else if (l->desc.digest[0])
			diag_add_id(d, SEV_ERROR, STRATA_EFORMAT, PROBLEM_MISSING_BLOB, name, "%s is missing from the archive (%s)", what,
				 short_digest(l->desc.digest, sd));
		else
			diag_add_id(d, SEV_ERROR, STRATA_EFORMAT, PROBLEM_MISSING_BLOB, name, "%s is missing from the archive", what);
		return;
	}
	m->refs++;
	check_desc(&l->desc, m, what, d);
	if (presence_only)
		return;
	want = media_type_compression(l->desc.media_type);
	if (want >= 0 && (enum compression)want != m->comp && m->comp != COMP_NONE)
		diag_add_id(d, SEV_ERROR, STRATA_EFORMAT, PROBLEM_MEDIA_TYPE, m->name, "%s media type '%s' says %s, but the data is %s-compressed",
			 what, l->desc.media_type, want == COMP_NONE ? "uncompressed" : compression_name(want),
			 compression_name(m->comp));
	else if (want >= 0 && (enum compression)want != m->comp)
		diag_add_id(d, SEV_ERROR, STRATA_EFORMAT, PROBLEM_MEDIA_TYPE, m->name,
			 "%s media type '%s' says %s-compressed, but the data is not compressed", what,
			 l->desc.media_type, compression_name(want));
	/* digest first: bytes that are not what the config says are the problem,
	 * whatever else is wrong inside them */
	if (m->decoded && l->diff_id && digest_alg_of(l->diff_id) != DIGEST_SHA256)
		diag_add_id(d, SEV_ERROR, STRATA_EFORMAT, PROBLEM_UNSUPPORTED, m->name,
			 "%s diff_id %.16s...: only sha256 diff_ids are supported (Docker, containerd and skopeo "
			 "compute them so)", what, l->diff_id);
	else if (m->decoded && l->diff_id && strcmp(l->diff_id, m->diff_id))
		diag_add_id(d, SEV_ERROR, STRATA_EVERIFY, PROBLEM_DIFF_ID_MISMATCH, m->name, "%s diff_id mismatch: config says %s, content is %s",
			 what, l->diff_id, m->diff_id);
	if (m->blob_error) {
		diag_add_id(d, SEV_ERROR, STRATA_EFORMAT, PROBLEM_BAD_LAYER, m->name, "%s: %s", what, m->blob_error);
		return;
	}
	if (m->tar == TARST_NOT_TAR)
		diag_add_id(d, SEV_ERROR, STRATA_EFORMAT, PROBLEM_BAD_LAYER, m->name, "%s is not a tar archive (after %s decoding)", what,
			 compression_name(m->comp));
}

void check_images(struct source *s, struct image_set *set, bool presence_only, struct diag *d)
{
	size_t i, j;

	(void)s;
	for (i = 0; i < set->len; i++) {
		struct image *im = set->v[i];

		if (im->manifest_m)
			check_desc(&im->manifest, im->manifest_m, "manifest", d);
		if (im->config_m) {
			im->config_m->refs++;
			check_desc(&im->config, im->config_m, "config", d);
		}
		for (j = 0; j < im->nlayers; j++)
			check_layer(im, j, presence_only || im->kind != IMAGE_CONTAINER, d);
	}
}
