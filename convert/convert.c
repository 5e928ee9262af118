/*
 * convert.c - plan and drive a conversion; see convert.h.
 *
 * The scan offers every member to the blob writer below, which decides from
 * the bytes (compression, tar or not) whether to copy the stored bytes, the
 * decoded bytes, or re-encode them, and streams them into the sink.  After
 * the pass the images are known and verified; each gets its output
 * descriptors, and documents are written: raw where nothing changed (so
 * every digest survives --keep), canonical new ones where the target needs
 * them (docker-archive -> OCI) or layers changed.
 */
#include "convert/convert.h"
#include "convert/conv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/encode.h"
#include "common/fsutil.h"
#include "common/pieces.h"
#include "convert/transfer.h"
#include "convert/delta.h"
#include "common/sign.h"
#include "formats/json.h"
#include "formats/regtree.h"
#include "formats/sink.h"
#include "formats/target.h"

struct wblob {
	struct conv *c;
	struct sink_blob *b;
	struct encoder *enc;
	enum compression out;
	bool hashed;          /* the scan's taps hashed exactly these bytes */
	bool stored;          /* ... the stored ones (else the decoded ones) */
};

/* ---- blob writer (called by the scan) ---- */

static enum blob_action plan(void *ctx, const struct member *m, bool is_tar)
{
	struct conv *c = ctx;
	enum compression want = COMP_NONE;

	c->last_out = m->comp;
	if (!is_tar)
		return c->last = m->doc.data ? BLOB_SKIP : BLOB_STORED;  /* small ones are written from memory */
	switch (c->layers) {
	case LAYERS_KEEP:
		/* xz and bzip2 are not OCI layer encodings: store those decoded */
		want = m->comp == COMP_XZ || m->comp == COMP_BZIP2 ? COMP_NONE : m->comp;
		break;
	case LAYERS_DECOMPRESS: want = COMP_NONE; break;
	case LAYERS_GZIP: want = COMP_GZIP; break;
	case LAYERS_ZSTD: want = COMP_ZSTD; break;
	}
	c->last_out = want;
	c->last = want == m->comp ? BLOB_STORED : BLOB_DECODED;
	/* a delta: a layer kept as stored whose digest the far side has is not written */
	if (c->exclude && c->last == BLOB_STORED && !strncmp(m->name, "blobs/sha256/", 13) && strlen(m->name) == 13 + 64) {
		char dg[DIGEST_STR_MAX];

		snprintf(dg, sizeof(dg), "sha256:%s", m->name + 13);
		if (strmap_get(c->exclude, dg))
			c->last = BLOB_SKIP;
	}
	return c->last;
}

static int wblob_write(void *ctx, const uint8_t *p, size_t n, struct strata_err *e)
{
	struct wblob *w = ctx;

	return w->enc ? encoder_write(w->enc, p, n, e) : sink_blob_write(w->b, p, n, e);
}

static int enc_out(void *ctx, const uint8_t *p, size_t n, struct strata_err *e)
{
	return sink_blob_write(((struct wblob *)ctx)->b, p, n, e);
}

static int wopen(void *ctx, struct member *m, int src_fd, uint64_t src_off, stream_tee_fn *fn, void **fctx,
		 struct strata_err *e)
{
	struct conv *c = ctx;
	struct wblob *w = calloc(1, sizeof(*w));
	char expect[DIGEST_STR_MAX];
	const char *exp = NULL;
	int r;

	if (!w)
		return err_nomem(e, "blob writer");
	w->c = c;
	w->out = c->last_out;
	w->stored = c->last == BLOB_STORED;
	/* A blob named by its digest can be streamed to stdout with its final header. */
	if (c->last == BLOB_STORED && !strncmp(m->name, "blobs/sha256/", 13) &&
	    digest_is_hex64(m->name + 13, strlen(m->name + 13))) {
		snprintf(expect, sizeof(expect), "sha256:%s", m->name + 13);
		exp = expect;
	}
	/* Bytes passed on as they are were hashed by the scan already: no second pass. */
	w->hashed = c->last == BLOB_STORED || w->out == COMP_NONE;
	if ((r = sink_blob_begin(c->sink, &w->b, exp, exp ? (int64_t)m->size : -1, !w->hashed, e)) < 0) {
		free(w);
		return err_wrap(e, "'%s'", m->name);
	}
	if (c->last == BLOB_DECODED && w->out != COMP_NONE) {
		/* gzip 0: levels 1 and 2 by content (encode.h); zstd 3: libzstd's default */
		int level = c->level ? c->level : w->out == COMP_GZIP ? 0 : 3;

		if ((r = encoder_new(&w->enc, w->out, level, c->threads, enc_out, w, e)) < 0) {
			sink_blob_abort(w->b);
			free(w);
			return r;
		}
	}
	*fctx = w;
	*fn = wblob_write;
	/* Stored bytes of a plain file: let the kernel copy them while the scan hashes. */
	if (c->last == BLOB_STORED && src_fd >= 0) {
		if ((r = sink_blob_copy(w->b, src_fd, src_off, m->size, e)) < 0) {
			sink_blob_abort(w->b);
			free(w);
			*fctx = NULL;
			return r;
		}
		if (r == 1)
			*fn = NULL;
	}
	return 0;
}

static int wclose(void *ctx, struct member *m, void *fctx, bool ok, struct strata_err *e)
{
	struct conv *c = ctx;
	struct wblob *w = fctx;
	int r = 0;

	if (ok && w->enc)
		r = encoder_finish(w->enc, e);
	encoder_free(w->enc);
	if (!ok || r < 0) {
		sink_blob_abort(w->b);
	} else if ((r = sink_blob_commit(w->b, w->hashed ? (w->stored ? m->digest : m->diff_id) : NULL, m->out_digest,
					  &m->out_size, e)) == 0) {
		m->written = true;
		m->out_comp = w->out;
		c->bytes_out += m->out_size;
		if (w->enc || w->out != m->comp)
			c->reencoded++;
	} else {
		err_wrap(e, "'%s'", m->name);
	}
	free(w);
	return r;
}

void conv_writer(struct conv *c, struct blob_writer *bw)
{
	bw->ctx = c;
	bw->plan = plan;
	bw->open = wopen;
	bw->close = wclose;
}

/* ---- platforms ---- */

int platform_parse(const char *s, char *buf, size_t n, struct platform *p, struct strata_err *e)
{
	char *a, *v;

	if (snprintf(buf, n, "%s", s) >= (int)n)
		return err_set(e, STRATA_EUSAGE, "platform '%s' is too long", s);
	memset(p, 0, sizeof(*p));
	if (!(a = strchr(buf, '/')) || a == buf || !a[1])
		return err_set(e, STRATA_EUSAGE, "platform '%s' is not os/arch[/variant]", s);
	*a++ = '\0';
	if ((v = strchr(a, '/'))) {
		*v++ = '\0';
		if (!*v)
			return err_set(e, STRATA_EUSAGE, "platform '%s' is not os/arch[/variant]", s);
	}
	p->os = buf;
	p->arch = a;
	p->variant = v;
	return 0;
}

bool platform_match(const struct platform *want, const struct platform *have)
{
	if (!have->os || !have->arch || strcmp(want->os, have->os) || strcmp(want->arch, have->arch))
		return false;
	return !want->variant || (have->variant && !strcmp(want->variant, have->variant));
}

static void platform_str(const struct platform *p, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%s%s%s", p->os ? p->os : "?", p->arch ? p->arch : "?", p->variant ? "/" : "",
		 p->variant ? p->variant : "");
}

/* ---- output descriptors ---- */

const char *conv_layer_mt(enum compression c)
{
	return c == COMP_GZIP ? MT_OCI_LAYER "+gzip" : c == COMP_ZSTD ? MT_OCI_LAYER "+zstd" : MT_OCI_LAYER;
}

/* Write a member kept in memory as a blob (configs, manifests, small artifacts). */
static int put_doc(struct conv *c, struct member *m, struct out_desc *d, struct strata_err *e)
{
	int r;

	if ((r = sink_put_blob(c->sink, m->doc.data ? m->doc.data : "", m->doc.len, d->digest, e)) < 0)
		return r;
	d->size = (int64_t)m->doc.len;
	return 0;
}

/* "name:tag" (a tag after the last '/'): the user or the source gave a full name. */
static bool is_full(const char *t)
{
	const char *c = strrchr(t, ':'), *sl = strrchr(t, '/');

	return c && (!sl || c > sl);
}

/* The key of (full, ref) in oi->named: the normalised name and the ref.name,
 * each with a mark of presence and its length, so no two pairs share one. */
static int entry_key(struct buf *k, const char *full, const char *ref, struct strata_err *e)
{
	char *norm = full ? target_normalize_name(full) : NULL;
	int r;

	if (full && !norm)
		return err_nomem(e, "names");
	buf_reset(k);
	r = buf_printf(k, e, "%c%zu:%s%c%zu:%s", norm ? 'n' : '-', norm ? strlen(norm) : 0, norm ? norm : "",
		       ref ? 'r' : '-', ref ? strlen(ref) : 0, ref ? ref : "") < 0 ? -e->code : 0;
	free(norm);
	return r;
}

int conv_add_entry(struct out_image *oi, const char *full, const char *ref, struct strata_err *e)
{
	struct buf k = BUF_INIT((size_t)1 << 30);
	size_t alloc = oi->anames;
	int r;

	/* a lookup, not a scan of the names so far: a manifest.json entry can
	 * carry tens of thousands of RepoTags */
	if ((r = entry_key(&k, full, ref, e)) < 0 || strmap_get(&oi->named, k.data)) {
		buf_release(&k);
		return r;  /* already there, or out of memory */
	}
	r = strmap_put(&oi->named, k.data, (void *)1, e);
	buf_release(&k);
	if (r < 0)
		return r;
	/* names and ref_names grow together: both are kept at once, as realloc() freed the old ones */
	if (array_grow(&oi->names, oi->nnames, &alloc, sizeof(*oi->names), 4) < 0)
		return err_nomem(e, "names");
	alloc = oi->anames;
	if (array_grow(&oi->ref_names, oi->nnames, &alloc, sizeof(*oi->ref_names), 4) < 0)
		return err_nomem(e, "names");
	oi->anames = alloc;
	oi->names[oi->nnames] = NULL;
	oi->ref_names[oi->nnames] = NULL;
	oi->nnames++;
	oi->nref_names = oi->nnames;
	if ((full && !(oi->names[oi->nnames - 1] = strdup(full))) ||
	    (ref && !(oi->ref_names[oi->nnames - 1] = strdup(ref))))
		return err_nomem(e, "names");
	return 0;
}

int conv_user_names(const char *const *tags, size_t ntags, const char *dst_name, const char *src_full,
		    struct out_image *oi, struct strata_err *e)
{
	bool user_full = dst_name && is_full(dst_name);
	size_t i;
	int r = 0;

	for (i = 0; i < ntags; i++)
		user_full |= is_full(tags[i]);
	if (user_full)
		src_full = NULL;  /* the user named the repository */
	for (i = 0; i < ntags && r == 0; i++)
		if ((r = ref_check_name(tags[i], e)) == 0)
			r = is_full(tags[i]) ? conv_add_entry(oi, tags[i], NULL, e) : conv_add_entry(oi, src_full, tags[i], e);
	/* the destination's reference is written as the user wrote it, as skopeo does */
	if (r == 0 && dst_name)
		r = conv_add_entry(oi, is_full(dst_name) ? dst_name : src_full, dst_name, e);
	return r;
}

/* The first full name the source gives an image (familiar form), or NULL. */
static const char *source_full(const struct image *im, char **owned)
{
	size_t i;

	*owned = NULL;
	for (i = 0; i < im->ntops; i++) {
		const cJSON *ann = json_get(im->tops[i], "annotations");
		const char *cn = json_str(ann, "io.containerd.image.name");
		const char *rn = json_str(ann, "org.opencontainers.image.ref.name");

		if (cn && is_full(cn))
			return *owned = target_familiar_name(cn);
		if (rn && is_full(rn))
			return rn;
	}
	if (im->ntops)
		return NULL;
	for (i = 0; i < im->ntags; i++)
		if (is_full(im->tags[i]))
			return im->tags[i];
	return NULL;
}

int conv_image_names(const struct convert_opts *o, const char *dst_name, struct out_image *oi, struct strata_err *e)
{
	const struct image *im = oi->src;
	char *owned = NULL;
	size_t i;
	int r = 0;

	if (o->ntags || dst_name) {
		const char *sf = source_full(im, &owned);

		r = conv_user_names(o->tags, o->ntags, dst_name, sf, oi, e);
		free(owned);
		return r;
	}
	for (i = 0; i < im->ntops && r == 0; i++) {
		const cJSON *ann = json_get(im->tops[i], "annotations");
		const char *cn = json_str(ann, "io.containerd.image.name");
		const char *rn = json_str(ann, "org.opencontainers.image.ref.name");
		char *fam = cn ? target_familiar_name(cn) : NULL;

		if (cn && !fam)
			return err_nomem(e, "names");
		/* podman and skopeo put a whole reference in ref.name ("localhost/app:2");
		 * a ref.name that is only the name's tag is chosen again on writing */
		if (!fam && rn && is_full(rn))
			r = conv_add_entry(oi, rn, NULL, e);
		else if (fam && rn && is_full(fam) && !strcmp(strrchr(fam, ':') + 1, rn))
			r = conv_add_entry(oi, fam, NULL, e);
		else if (fam || rn)
			r = conv_add_entry(oi, fam, rn, e);
		free(fam);
	}
	if (im->ntops)
		return r;
	for (i = 0; i < im->ntags && r == 0; i++)
		r = conv_add_entry(oi, im->tags[i], NULL, e);
	return r;
}

static int build_image(struct conv *c, const struct image *im, struct out_image *oi, struct diag *d,
		       struct strata_err *e)
{
	bool changed = false, new_manifest;
	size_t i;
	int r;

	oi->src = im;
	oi->group = -1;
	oi->platform = im->platform;
	oi->has_platform = im->platform.os && im->platform.arch;
	oi->nlayers = im->nlayers;
	if (!(oi->layers = calloc(im->nlayers + 1, sizeof(*oi->layers))) ||
	    !(oi->diff_ids = calloc(im->nlayers + 1, sizeof(*oi->diff_ids))))
		return err_nomem(e, "layers");
	if (!im->config_m)
		return err_set(e, STRATA_EFORMAT, "%s: no config", im->where);
	if ((im->has_manifest && strncmp(im->manifest.digest, "sha256:", 7)) ||
	    (im->config.digest[0] && strncmp(im->config.digest, "sha256:", 7)))
		return err_set(e, STRATA_EFORMAT, "%s: %s: " SINK_SHA256_ONLY, im->where,
			       im->has_manifest && strncmp(im->manifest.digest, "sha256:", 7) ? im->manifest.digest
											: im->config.digest);
	for (i = 0; i < im->nlayers; i++)
		if (im->layers[i].desc.digest[0] && strncmp(im->layers[i].desc.digest, "sha256:", 7))
			return err_set(e, STRATA_EFORMAT, "%s: layer %zu %s: " SINK_SHA256_ONLY, im->where, i + 1,
				       im->layers[i].desc.digest);
	oi->config.media_type = im->config.media_type ? im->config.media_type : MT_OCI_CONFIG;
	if ((r = put_doc(c, im->config_m, &oi->config, e)) < 0)
		return r;
	for (i = 0; i < im->nlayers; i++) {
		const struct layer *l = &im->layers[i];
		struct out_desc *od = &oi->layers[i];

		oi->diff_ids[i] = l->diff_id;
		if (!l->m) {
			/* foreign layer: keep its descriptor, it is fetched from its urls */
			if (c->target == TARGET_DOCKER_ARCHIVE)
				return err_set(e, STRATA_EFORMAT, "%s: layer %zu (%s) is not in the archive; a docker-archive must hold every layer",
					       im->where, i + 1, l->desc.digest);
			od->media_type = l->desc.media_type;
			memcpy(od->digest, l->desc.digest, DIGEST_STR_MAX);
			od->size = l->desc.size;
			od->urls = l->desc.urls;
			continue;
		}
		if (!l->m->written && c->exclude && l->m->kind == MEM_FILE && strmap_get(c->exclude, l->m->digest)) {
			/* a delta: named, not written; the transfer manifest lists it as expected */
			memcpy(od->digest, l->m->digest, DIGEST_STR_MAX);
			od->size = (int64_t)l->m->size;
			od->media_type = im->kind == IMAGE_CONTAINER ? conv_layer_mt(l->m->comp) : l->desc.media_type;
			if ((r = strmap_put(c->expected, od->digest, (void *)(intptr_t)(l->m->size + 1), e)) < 0)
				return r;
		} else if (!l->m->written && c->exclude && !l->m->doc_kept) {
			/* left out by its name, but its bytes are another blob: never an empty blob instead */
			return err_set(e, STRATA_EVERIFY, "%s: layer %zu was left out as %s, but its content is %s", im->where,
				       i + 1, l->m->name, l->m->digest);
		} else if (l->m->written) {
			memcpy(od->digest, l->m->out_digest, DIGEST_STR_MAX);
			od->size = (int64_t)l->m->out_size;
			od->media_type = im->kind == IMAGE_CONTAINER ? conv_layer_mt(l->m->out_comp) : l->desc.media_type;
		} else {
			if ((r = put_doc(c, l->m, od, e)) < 0)
				return r;
			od->media_type = im->kind == IMAGE_CONTAINER ? conv_layer_mt(l->m->comp) : l->desc.media_type;
		}
		if (strcmp(od->digest, l->desc.digest)) {
			changed = true;
			if (c->o->preserve_digests)
				return err_set(e, STRATA_EVERIFY,
					       "--preserve-digests: layer %zu of %s would change from %s to %s (%s)", i + 1,
					       im->where, l->desc.digest, od->digest,
					       l->m->written && l->m->out_comp != l->m->comp ? "re-compressed" : "re-encoded");
		}
		if (im->kind == IMAGE_CONTAINER && im->has_manifest && l->desc.media_type &&
		    media_type_compression(l->desc.media_type) != (int)l->m->comp)
			changed = true;
	}
	/* A manifest is kept byte for byte when nothing it names changed and the
	 * target can hold it as it is; otherwise a canonical OCI manifest is made. */
	new_manifest = changed || !im->has_manifest || !im->manifest_m || !im->manifest_m->doc_kept ||
		       (c->target != TARGET_DOCKER_ARCHIVE && strcmp(im->manifest.media_type, MT_OCI_MANIFEST)) ||
		       (c->target == TARGET_DOCKER_ARCHIVE && strcmp(im->manifest.media_type, MT_OCI_MANIFEST));
	if (new_manifest) {
		char *txt;

		if (c->o->preserve_digests && im->has_manifest)
			return err_set(e, STRATA_EVERIFY, "--preserve-digests: the manifest of %s (%s) would be rewritten (%s)",
				       im->where, im->manifest.digest,
				       changed ? "its layers change" : "the target needs an OCI manifest");
		if (im->kind == IMAGE_CONTAINER && !strcmp(oi->config.media_type, MT_DOCKER_CONFIG))
			oi->config.media_type = MT_OCI_CONFIG;
		if (!(txt = target_oci_manifest(oi)))
			return err_nomem(e, "manifest");
		r = sink_put_blob(c->sink, txt, strlen(txt), oi->manifest.digest, e);
		oi->manifest.size = (int64_t)strlen(txt);
		free(txt);
		if (r < 0)
			return r;
		oi->manifest.media_type = MT_OCI_MANIFEST;
	} else {
		oi->manifest.media_type = im->manifest.media_type;
		if ((r = put_doc(c, im->manifest_m, &oi->manifest, e)) < 0)
			return r;
	}
	(void)d;
	return 0;
}

/* Images of one source index stay together under an index: the raw one when
 * complete and unchanged, else a new one; a lone survivor stands alone. */
static int build_groups(struct conv *c, struct source *s, struct out_set *set, size_t from, int *groups,
			struct strata_err *e)
{
	size_t i = from, j, k;
	int group = *groups, r;

	while (i < set->len) {
		const char *ix = set->v[i].src->index_digest, *why;
		struct member *im;
		bool raw = true;
		size_t children = 0;

		/* one group: the images of one index, reached from one index.json entry (two
		 * entries may reach the same index, one through another index: each keeps its names) */
		for (j = i + 1; j < set->len && ix[0] && !strcmp(set->v[j].src->index_digest, ix) &&
				set->v[j].src->top_desc == set->v[i].src->top_desc;
		     j++)
			;
		if (!ix[0]) {
			i = j;
			continue;
		}
		im = catalog_blob(&s->cat, ix, &why);
		if (im && im->doc_kept) {
			cJSON *doc = NULL;
			struct strata_err ie = STRATA_ERR_INIT;

			if (json_parse(im->doc.data, im->doc.len, &doc, &ie) == 0)
				children = (size_t)cJSON_GetArraySize(json_get(doc, "manifests"));
			cJSON_Delete(doc);
		}
		for (k = i; k < j; k++)
			raw &= !strcmp(set->v[k].manifest.digest, set->v[k].src->manifest.digest);
		raw &= im && im->doc_kept && children == j - i;
		if (j - i == 1 && !raw) {
			i = j;  /* one platform picked out of several: the manifest alone */
			continue;
		}
		for (k = i; k < j; k++)
			set->v[k].group = group;
		if (raw) {
			set->v[i].index.media_type = MT_OCI_INDEX;
			if ((r = put_doc(c, im, &set->v[i].index, e)) < 0)
				return r;
		} else {
			char *txt = target_oci_index(set, i, j);

			if (c->o->preserve_digests)
				return err_set(e, STRATA_EVERIFY, "--preserve-digests: index %s would be rewritten", ix);
			if (!txt)
				return err_nomem(e, "index");
			set->v[i].index.media_type = MT_OCI_INDEX;
			r = sink_put_blob(c->sink, txt, strlen(txt), set->v[i].index.digest, e);
			set->v[i].index.size = (int64_t)strlen(txt);
			free(txt);
			if (r < 0)
				return r;
		}
		for (k = i + 1; k < j; k++)
			set->v[k].index = set->v[i].index;
		group++;
		i = j;
	}
	*groups = group;
	return 0;
}

int conv_open_sink(struct conv *c, const struct ref *dref, const char *src, struct strata_err *e)
{
	struct ref sref;
	int r;

	c->dst_path = dref->path;
	c->replace = c->o && c->o->replace;
	if (c->target == TARGET_OCI)
		return sink_open_dir(&c->sink, dref->path, c->o ? c->o->limits.max_json : 0, e);
	/* checked before anything is read or written: the source stays untouched */
	if ((r = ref_parse(src, &sref, e)) < 0)
		return r;
	r = output_not_source(sref.path, dref->path, e);
	ref_release(&sref);
	if (r < 0)
		return r;
	return sink_open_tar(&c->sink, dref->path, e);
}

int conv_dest(const char *dst, enum target_format fallback, struct ref *dref, enum target_format *target,
	      struct strata_err *e)
{
	int r;

	if ((r = ref_parse(dst, dref, e)) < 0)
		return r;
	if (dref->name && (r = ref_check_name(dref->name, e)) < 0) {
		err_wrap(e, "'%s'", dst);
		ref_release(dref);
		return r;
	}
	switch (dref->transport) {
	case REF_OCI: *target = TARGET_OCI; break;
	case REF_OCI_ARCHIVE: *target = TARGET_OCI_ARCHIVE; break;
	case REF_DOCKER_ARCHIVE: *target = TARGET_DOCKER_ARCHIVE; break;
	default: *target = fallback; break;
	}
	if (*target != TARGET_NONE)
		return 0;
	ref_release(dref);
	return err_set(e, STRATA_EUSAGE, "say what '%s' should be: oci:DIR, oci-archive:FILE, docker-archive:FILE, registry:DIR, or --format",
		       dst);
}

/* ---- --replace: blobs only the dropped entries used are removed ---- */

#define GC_DOC_MAX (4u << 20)

/* Mark digest and, for a manifest or index, everything it names (in layout dir). */
static int gc_mark(const char *dir, const cJSON *desc, struct strmap *seen, int depth, struct strata_err *e)
{
	const char *dg = json_str(desc, "digest"), *mt = json_str(desc, "mediaType");
	const cJSON *k;
	char path[4096];
	struct buf b = BUF_INIT(GC_DOC_MAX);
	cJSON *doc = NULL;
	int r;

	if (!dg || !digest_valid(dg) || strmap_get(seen, dg))
		return 0;
	if ((r = strmap_put(seen, dg, (void *)1, e)) < 0)
		return r;
	if (depth > 16 || !mt || (strcmp(mt, MT_OCI_INDEX) && strcmp(mt, MT_DOCKER_LIST) && strcmp(mt, MT_OCI_MANIFEST) &&
				  strcmp(mt, MT_DOCKER_MANIFEST)))
		return 0;
	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", dir, digest_hex(dg));
	if (strncmp(dg, "sha256:", 7))
		return 0;
	if ((r = read_regular(path, false, &b, STRATA_EFORMAT, e)) < 0 && strata_oom_seen()) {
		buf_release(&b);
		return r;
	}
	if (r == 0 && json_parse(b.data ? b.data : "", b.len, &doc, e) == 0) {
		cJSON_ArrayForEach(k, json_get(doc, "manifests"))
			if ((r = gc_mark(dir, k, seen, depth + 1, e)) < 0)
				break;
		if (r == 0 && json_get(doc, "config"))
			r = gc_mark(dir, json_get(doc, "config"), seen, depth + 1, e);
		cJSON_ArrayForEach(k, (r == 0 ? json_get(doc, "layers") : NULL))
			if ((r = gc_mark(dir, k, seen, depth + 1, e)) < 0)
				break;
		cJSON_Delete(doc);
	} else {
		err_clear(e);
		r = 0;
		/* absent, unreadable, too large or no JSON: keep what it would
		 * name by marking nothing more; the blobs of the dropped image are
		 * then only removed when unnamed */
	}
	buf_release(&b);
	return r;
}

/* After the new index.json is in place: remove the blobs the dropped entries
 * reached that no entry of the index reaches. */
static int gc_dropped(const char *dir, const cJSON *dropped, struct strata_err *e)
{
	struct strmap keep = { 0 }, gone = { 0 };
	struct buf b = BUF_INIT(GC_DOC_MAX);
	char path[4096];
	cJSON *ix = NULL;
	const cJSON *c;
	size_t i;
	int r;

	snprintf(path, sizeof(path), "%s/index.json", dir);
	r = read_regular(path, false, &b, STRATA_EFORMAT, e);
	if (r == 0 && (r = json_parse(b.data ? b.data : "", b.len, &ix, e)) == 0) {
		cJSON_ArrayForEach(c, json_get(ix, "manifests"))
			if ((r = gc_mark(dir, c, &keep, 0, e)) < 0)
				break;
		cJSON_ArrayForEach(c, (r == 0 ? dropped : NULL))
			if ((r = gc_mark(dir, c, &gone, 0, e)) < 0)
				break;
	}
	for (i = 0; r == 0 && i < gone.len; i++) {
		const char *dg = gone.items[i].key;

		if (strmap_get(&keep, dg) || strncmp(dg, "sha256:", 7))
			continue;
		snprintf(path, sizeof(path), "%s/blobs/sha256/%s", dir, digest_hex(dg));
		if (unlink(path) < 0 && errno != ENOENT)
			r = err_sys(e, errno, "cannot remove '%s'", path);
	}
	cJSON_Delete(ix);
	buf_release(&b);
	strmap_release(&keep);
	strmap_release(&gone);
	return r;
}

int conv_finish(struct conv *c, struct out_set *set, struct strata_err *e)
{
	struct oci_write_opts wo = { 0 };
	int r;

	if (c->target == TARGET_OCI)
		wo.old_index = sink_existing_index(c->sink, &wo.old_len);
	wo.layout = c->dst_path;
	wo.replace = c->replace;
	r = target_choose_ref_names(set, wo.old_index, wo.old_len, e);
	if (r == 0 && c->target == TARGET_DOCKER_ARCHIVE)
		r = target_write_docker(c->sink, set, e);
	else if (r == 0)
		r = target_write_oci(c->sink, set, &wo, e);
	if (r < 0) {
		cJSON_Delete(wo.dropped);
		sink_abort(c->sink);
		c->sink = NULL;
		return r;
	}
	r = sink_finish(c->sink, e);
	c->sink = NULL;
	if (r == 0 && wo.dropped && c->dst_path && (r = gc_dropped(c->dst_path, wo.dropped, e)) < 0)
		err_wrap(e, "'%s': the old image was replaced, but removing its blobs failed", c->dst_path);
	cJSON_Delete(wo.dropped);
	return r;
}

/* Is this digest a layer of an image before index `upto`? (shared layers count once) */
static bool layer_seen(const struct out_set *set, size_t upto, const char *digest)
{
	size_t i, j;

	for (i = 0; i < upto; i++)
		for (j = 0; j < set->v[i].nlayers; j++)
			if (!strcmp(set->v[i].layers[j].digest, digest))
				return true;
	return false;
}

/* Blobs the images name but the source does not hold (foreign layers, say):
 * refused as skopeo does, naming them, unless --allow-missing-blobs. */
static int missing_blobs(const struct source *s, struct strata_err *e)
{
	struct buf b = BUF_INIT(4096);
	size_t i, j, n = 0;
	int r = 0;

	for (i = 0; i < s->images.len; i++)
		for (j = 0; j < s->images.v[i]->nlayers; j++) {
			const struct layer *l = &s->images.v[i]->layers[j];

			if (l->m || (!l->path && !l->desc.digest[0]))
				continue;  /* present, or its descriptor was refused (and reported) */
			if (n++ < 4 && buf_printf(&b, e, "%s%s", b.len ? ", " : "", l->desc.digest[0] ? l->desc.digest :
							   l->path ? l->path : "?") < 0) {
				buf_release(&b);
				return -e->code;
			}
		}
	if (n)
		r = err_set(e, STRATA_EFORMAT, "%zu blob%s the images name %s not in the source (%s%s); "
			    "--allow-missing-blobs writes the images without them", n, n == 1 ? "" : "s",
			    n == 1 ? "is" : "are", b.data, n > 4 ? ", ..." : "");
	buf_release(&b);
	return r;
}

/* Checks of a bundle before anything is read: names that name one image,
 * stdin twice, a tar destination that is one of the sources. */
static int bundle_check(const struct convert_opts *o, const struct ref *dref, enum target_format target,
			const char *const *srcs, size_t nsrc, struct strata_err *e)
{
	size_t i, stdin_n = 0;
	int r;

	if (nsrc < 2)
		return 0;
	if (o->ntags || dref->name)
		return err_set(e, STRATA_EUSAGE, "%s names one image, but a bundle of %zu sources keeps each image's own names",
			       o->ntags ? "--tag" : "a destination NAME:TAG", nsrc);
	if (o->squash)
		return err_set(e, STRATA_EUSAGE, "--squash makes one image of one source, not of a bundle of %zu", nsrc);
	for (i = 0; i < nsrc; i++) {
		struct ref sref;

		if (!strcmp(srcs[i], "-") && ++stdin_n > 1)
			return err_set(e, STRATA_EUSAGE, "'-' (stdin) can be read once: it is given %zu times", stdin_n);
		if (target == TARGET_OCI || i == 0)
			continue;  /* the first is checked on opening the sink */
		if ((r = ref_parse(srcs[i], &sref, e)) < 0)
			return r;
		r = output_not_source(sref.path, dref->path, e);
		ref_release(&sref);
		if (r < 0)
			return r;
	}
	return 0;
}

/* One docker-archive image per index: the platforms of [from, set->len) that share one. */
static int docker_one_platform(const struct out_set *set, size_t from, struct strata_err *e)
{
	char pstr[64];
	size_t i, n;
	int r;

	for (i = from; i + 1 < set->len; i++)
		if (set->v[i].src->index_digest[0] && !strcmp(set->v[i].src->index_digest, set->v[i + 1].src->index_digest)) {
			struct buf b = BUF_INIT(4096);

			for (n = from; n < set->len; n++)
				if (!strcmp(set->v[n].src->index_digest, set->v[i].src->index_digest)) {
					platform_str(&set->v[n].platform, pstr, sizeof(pstr));
					buf_printf(&b, e, "%s%s", b.len ? ", " : "", pstr);
				}
			r = err_set(e, STRATA_EUSAGE,
				    "a docker-archive holds one platform of an index; choose one of %s with --platform",
				    b.data ? b.data : "?");
			buf_release(&b);
			return r;
		}
	return 0;
}

/* Read one source into the sink and add its images to set. */
static int read_source(struct conv *c, const char *src, size_t idx, struct load_opts *lo, const char *dst_name,
		       const struct platform *want, struct source **sp, struct out_set *set, int *groups, struct diag *d,
		       struct strata_err *e)
{
	const struct convert_opts *o = c->o;
	struct out_image *v;
	struct source *s;
	size_t i, from = set->len, nerr, before = d->len;
	int r, code;

	if (o->on_source)
		o->on_source(o->source_ctx, idx, src, d, false);
	r = source_open(sp, src, lo, d, e);
	if (o->nblobs_from)
		delta_take_missing(d, before, r == 0 ? *sp : NULL, NULL, NULL);  /* a delta: --blobs-from brings them, or says which lack */
	if (r == 0 && o->image)
		r = source_select(*sp, o->image, e);
	nerr = diag_count(d, SEV_ERROR);
	code = diag_exit_code(d);
	if (o->on_source)
		o->on_source(o->source_ctx, idx, src, d, true);
	if (r < 0)
		return o->nsrcs > 1 ? err_wrap(e, "source %zu '%s'", idx + 1, src) : r;
	s = *sp;
	if (s->fmt == &rootfs_format)  /* convert keeps configs; a rootfs has none to keep */
		return err_set(e, STRATA_EUSAGE,
			       "a plain root filesystem, not an image (no config): `strata import %s %s` makes a "
			       "one-layer image of it (with --cmd, --env, ...)", src, o->dst);
	if (nerr)
		return err_set(e, code, "'%s' did not verify (%zu error%s above); nothing was written", src, nerr,
			       nerr == 1 ? "" : "s");
	if (!o->limits.allow_missing && !o->nblobs_from && (r = missing_blobs(s, e)) < 0)
		return r;
	if (!(v = realloc(set->v, (set->len + s->images.len + 1) * sizeof(*v))))
		return err_nomem(e, "images");
	set->v = v;
	memset(v + set->len, 0, (s->images.len + 1) * sizeof(*v));
	for (i = 0; i < s->images.len; i++) {
		const struct image *im = s->images.v[i];

		if (c->target == TARGET_DOCKER_ARCHIVE && im->kind != IMAGE_CONTAINER)
			continue;  /* attestations and artifacts have no place in a docker-archive */
		if (o->platform && (im->kind != IMAGE_CONTAINER || !platform_match(want, &im->platform)))
			continue;
		set->v[set->len].src = im;
		r = build_image(c, im, &set->v[set->len], d, e);
		if (r == 0)
			r = conv_image_names(o, dst_name, &set->v[set->len], e);
		set->len++;
		if (r < 0)
			return r;
	}
	if (set->len == from)
		return err_set(e, STRATA_EUSAGE, o->platform ? "no image for platform %s in '%s'" : "%s'%s' holds no image to convert",
			       o->platform ? o->platform : "", src);
	if (c->target == TARGET_DOCKER_ARCHIVE)
		return docker_one_platform(set, from, e);
	return build_groups(c, s, set, from, groups, e);
}

/*
 * registry:DIR[/NAME[:TAG]]: the images are converted into an OCI layout
 * under a temp name inside DIR, then moved into the registry tree
 * (regtree.h).  A failure removes the layout (and DIR when this run made it).
 */
static int convert_to_regtree(const struct convert_opts *o, struct convert_result *res, struct diag *d,
			      struct strata_err *e)
{
	struct convert_opts o2 = *o;
	struct ref dref;
	char *layout = NULL;
	const char *name;
	bool created = false;
	int r;

	if ((r = ref_parse(o->dst, &dref, e)) < 0)
		return r;
	name = dref.name;  /* --manifest and the delta options were refused by convert_run */
	if (name && (r = regtree_check_name(name, e)) < 0) {
		err_wrap(e, "'%s'", o->dst);
		goto out;
	}
	if (name && o->ntags) {
		r = err_set(e, STRATA_EUSAGE, "'%s' names the image already; --tag is not needed", o->dst);
		goto out;
	}
	if ((r = regtree_prepare(dref.path, &layout, &created, e)) < 0)
		goto out;
	/* the layout as a plain path of the OCI format, never parsed as
	 * oci:PATH:NAME: a tree whose path has a ':' stays one path */
	o2.dst = layout;
	o2.format = TARGET_OCI;
	o2.replace = false;
	if (name) {
		o2.tags = &name;  /* a name names one image: convert_run refuses more */
		o2.ntags = 1;
	}
	if ((r = convert_run(&o2, res, d, e)) < 0 || (r = regtree_commit(dref.path, layout, name, o->replace, o->sync, e)) < 0)
		regtree_discard(dref.path, layout, created);
out:
	free(layout);
	ref_release(&dref);
	return r;
}

struct delta_state {
	const struct strmap *exclude;
	struct strmap *expected;
	const struct sign_key *key;
};

static int run(const struct convert_opts *o, struct delta_state *ds, struct convert_result *res, struct diag *d,
	       struct strata_err *e);
static int delta_run(const struct convert_opts *o, struct convert_result *res, struct diag *d, struct strata_err *e);
static int fill_from_bases(struct conv *c, const struct convert_opts *o, const struct ref *dref, const struct out_set *set,
			   struct diag *d, struct strata_err *e);
static int sign_manifest(const char *out, const struct sign_key *key, struct strata_err *e);

int convert_run(const struct convert_opts *o, struct convert_result *res, struct diag *d, struct strata_err *e)
{
	struct delta_state ds = { NULL, NULL, NULL };

	if (!strncmp(o->dst, "registry:", 9) && (o->manifest || o->split || o->nexclude || o->nblobs_from || o->sign_key))
		return err_set(e, STRATA_EUSAGE,
			       "--manifest, --split, --exclude-blobs, --blobs-from and --sign are not for a registry: destination");

	if (!o->squash && (o->nexclude || o->nblobs_from || o->sign_key))
		return delta_run(o, res, d, e);
	return run(o, &ds, res, d, e);
}

/* What the destination can hold, checked before anything is read. */
static int check_dest(const struct convert_opts *o, const struct ref *dref, enum target_format target,
		      const char *const *srcs, size_t nsrc, struct strata_err *e)
{
	struct stat st;
	int r;

	if (dref->index >= 0)
		return err_set(e, STRATA_EUSAGE, "'%s': an image index (@N) cannot name a destination", o->dst);
	if ((r = bundle_check(o, dref, target, srcs, nsrc, e)) < 0)
		return r;
	if ((o->nexclude || o->nblobs_from) && target == TARGET_DOCKER_ARCHIVE)
		return err_set(e, STRATA_EUSAGE, "a docker-archive holds every layer: %s writes an OCI layout or an oci-archive",
			       o->nexclude ? "a delta (--exclude-blobs)" : "--blobs-from");
	if ((o->manifest || o->nexclude || o->sign_key) &&
	    (!strcmp(dref->path, "-") || (stat(dref->path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))))
		return err_set(e, STRATA_EUSAGE, "--manifest is written beside a file or a directory, not a stream ('%s')",
			       dref->path);
	return 0;
}

/* A name given names one image: one index.json entry (an index of platforms is one). */
static int check_one_image(const struct out_set *set, enum target_format target, struct strata_err *e)
{
	size_t i, n;

	for (i = 1, n = 1; i < set->len; i++)
		n += set->v[i].group < 0 || set->v[i].group != set->v[i - 1].group;
	if (n > 1)
		return err_set(e, STRATA_EUSAGE, target == TARGET_DOCKER_ARCHIVE ?
			       "--tag names one image, but %zu are converted; pick one with a reference" :
			       "a name given names one image, but %zu are converted; pick one with --image", n);
	return 0;
}

/* The figures of a conversion: images, layers, and the bytes of the layers
 * written (each once; a delta's left-out ones not). */
static void tally(struct convert_result *res, const struct out_set *set, const struct conv *c)
{
	size_t i, n;

	res->images = set->len;
	for (i = 0; i < set->len; i++)
		res->layers += set->v[i].nlayers;
	res->layers_reencoded = c->reencoded;
	res->left_out = c->expected ? c->expected->len : 0;
	for (i = 0; i < set->len; i++)
		for (n = 0; n < set->v[i].nlayers; n++)
			if (set->v[i].layers[n].size > 0 && !layer_seen(set, i, set->v[i].layers[n].digest) &&
			    !(c->expected && strmap_get(c->expected, set->v[i].layers[n].digest)))
				res->bytes_out += (uint64_t)set->v[i].layers[n].size;
}

static int run(const struct convert_opts *o, struct delta_state *ds, struct convert_result *res, struct diag *d,
	       struct strata_err *e)
{
	struct conv c = { 0 };
	struct blob_writer bw;
	struct load_opts lo = { 0 };
	struct out_set set = { 0 };
	struct source **sv = NULL;
	const char *const *srcs = o->nsrcs ? o->srcs : &o->src;
	size_t nsrc = o->nsrcs ? o->nsrcs : 1;
	struct platform want;
	char pbuf[128];
	struct ref dref;
	struct pieces_writer *pw = NULL;
	bool pw_ok = false;
	size_t k;
	int r, groups = 0;

	if (!strncmp(o->dst, "registry:", 9))
		return convert_to_regtree(o, res, d, e);
	if (o->squash && (o->manifest || o->nexclude || o->nblobs_from || o->sign_key))
		return err_set(e, STRATA_EUSAGE, "--manifest, --exclude-blobs, --blobs-from and --sign are not for --squash");
	if (o->squash && o->split)
		return err_set(e, STRATA_EUSAGE, "--split is not written for --squash");
	if (o->squash && nsrc == 1)
		return squash_run(o, res, d, e);
	memset(res, 0, sizeof(*res));
	c.o = o;
	c.exclude = ds->exclude;
	c.expected = ds->expected;
	c.layers = o->layers;
	c.level = o->level;
	c.threads = o->threads;
	conv_writer(&c, &bw);
	if ((r = conv_dest(o->dst, o->format, &dref, &c.target, e)) < 0)
		return r;
	if ((r = check_dest(o, &dref, c.target, srcs, nsrc, e)) < 0)
		goto out;
	if (o->platform && (r = platform_parse(o->platform, pbuf, sizeof(pbuf), &want, e)) < 0)
		goto out;
	if (!(sv = calloc(nsrc, sizeof(*sv)))) {
		r = err_nomem(e, "sources");
		goto out;
	}
	if (o->split && c.target == TARGET_OCI) {
		r = err_set(e, STRATA_EUSAGE, "--split cuts an archive into pieces; '%s' is a directory (oci:): use "
			    "oci-archive: or docker-archive:", o->dst);
		goto out;
	}
	if ((r = o->split ? conv_open_split(&c, &dref, srcs[0], o->split, &pw, e) : conv_open_sink(&c, &dref, srcs[0], e)) < 0)
		goto out;
	sink_set_sync(c.sink, o->sync);
	lo.decode = true;
	lo.writer = &bw;
	lo.limits = o->limits;
	lo.hooks = o->hooks;
	lo.progress = o->progress;
	lo.progress_ctx = o->progress_ctx;
	for (k = 0; k < nsrc; k++) {
		if ((r = read_source(&c, srcs[k], k, &lo, dref.name, &want, &sv[k], &set, &groups, d, e)) < 0)
			goto fail;
		if (!res->format || !strcmp(res->format, sv[k]->format_name))
			res->format = sv[k]->format_name;
		else
			res->format = "several formats";
	}
	if (o->ntags + (dref.name ? 1 : 0) > 0 && (r = check_one_image(&set, c.target, e)) < 0)
		goto fail;
	if (o->nblobs_from && (r = fill_from_bases(&c, o, &dref, &set, d, e)) < 0)
		goto fail;
	if ((r = conv_finish(&c, &set, e)) < 0)
		goto out;
	/* after the output is complete: a failure here leaves the output without its manifest */
	if (pw && (r = conv_split_done(pw, dref.path, c.target == TARGET_OCI_ARCHIVE ? "oci-archive" : "docker-archive",
				       &set, c.expected, e)) < 0)
		goto out;
	if (pw)
		pw_ok = true;
	else if ((o->manifest || o->nexclude || o->sign_key) &&
		 (r = transfer_write_expected(dref.path, c.target == TARGET_OCI,
					      c.target == TARGET_OCI ? "oci" : c.target == TARGET_OCI_ARCHIVE ? "oci-archive" :
									       "docker-archive", &set, c.expected, e)) < 0)
		goto out;
	if ((pw || o->manifest || o->nexclude || o->sign_key) && (r = sign_manifest(dref.path, ds->key, e)) < 0)
		goto out;
	tally(res, &set, &c);
	goto out;
fail:
	sink_abort(c.sink);
out:
	if (r < 0 && pw)
		pieces_writer_reason(pw, e);
	pieces_writer_free(pw, pw_ok);
	out_set_release(&set);
	for (k = 0; sv && k < nsrc; k++)
		source_free(sv[k]);
	free(sv);
	ref_release(&dref);
	return r;
}

/* ---- deltas and signatures (delta.h, sign.h) ---- */

/* --blobs-from: what the images name but no source held comes from the bases. */
static int fill_from_bases(struct conv *c, const struct convert_opts *o, const struct ref *dref, const struct out_set *set,
			   struct diag *d, struct strata_err *e)
{
	struct strmap need = STRMAP_INIT;
	size_t i, j, len;
	int r = 0;

	for (i = 0; r == 0 && i < set->len; i++)
		for (j = 0; r == 0 && j < set->v[i].src->nlayers; j++) {
			const struct layer *l = &set->v[i].src->layers[j];

			if (!l->m && digest_valid(l->desc.digest) && !strmap_get(&need, l->desc.digest))
				r = strmap_put(&need, l->desc.digest, (void *)(intptr_t)(l->desc.size >= 0 ? l->desc.size + 1 : 0), e);
		}
	if (r == 0 && need.len)
		r = delta_fill(c->sink, c->target == TARGET_OCI && sink_existing_index(c->sink, &len) ? dref->path : NULL,
			       o->blobs_from, o->nblobs_from, &need, &o->limits, d, e);
	strmap_release(&need);
	return r;
}

/* OUT.manifest.json.sig with --sign; a signature left by an earlier run is removed. */
static int sign_manifest(const char *out, const struct sign_key *key, struct strata_err *e)
{
	char *mpath = delta_manifest_path(out), *spath;
	int r = 0;

	if (!mpath)
		return err_nomem(e, "path");
	if (!(spath = malloc(strlen(mpath) + 5))) {
		free(mpath);
		return err_nomem(e, "path");
	}
	snprintf(spath, strlen(mpath) + 5, "%s.sig", mpath);
	if (key)
		r = sign_file(key, mpath, spath, e);
	else if (unlink(spath) < 0 && errno != ENOENT)
		r = err_sys(e, errno, "cannot remove the old signature '%s'", spath);
	free(mpath);
	free(spath);
	return r;
}

static int delta_run(const struct convert_opts *o, struct convert_result *res, struct diag *d, struct strata_err *e)
{
	struct strmap exclude = STRMAP_INIT, expected = STRMAP_INIT;
	struct delta_state ds = { NULL, &expected, NULL };
	struct sign_key *key = NULL;
	size_t i;
	int r = 0;

	memset(res, 0, sizeof(*res));
	/* everything that can be refused is, before anything is read or written */
	if (o->sign_key && (r = sign_key_load(&key, o->sign_key, 1, e)) < 0)
		return err_wrap(e, "--sign");
	for (i = 0; r == 0 && i < o->nexclude; i++)
		r = delta_load_exclude(o->exclude_blobs[i], &o->limits, &exclude, e);
	for (i = 0; r == 0 && i < o->nblobs_from; i++) {
		struct stat st;

		if (stat(o->blobs_from[i], &st) < 0)
			r = err_sys(e, errno, "--blobs-from '%s'", o->blobs_from[i]);
	}
	if (r == 0) {
		ds.exclude = o->nexclude ? &exclude : NULL;
		ds.key = key;
		r = run(o, &ds, res, d, e);
	}
	sign_key_free(key);
	strmap_release(&exclude);
	strmap_release(&expected);
	return r;
}
