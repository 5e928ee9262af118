/*
 * records.c - a layer's entries kept as records, read back in the order
 * walked and stacked; see files.h.
 *
 * A record: the path and its NUL, with REC_LINK the link target and its
 * NUL, with REC_DIGEST the 8-byte number of the content digest (the layout
 * of struct fentry's block, so fentry_link() and fentry_digest() read a
 * record in place), with REC_FULL the size (8 bytes), mode, uid and gid (4
 * each), then the type and a flags byte (FE_WHITEOUT, FE_OPAQUE, REC_*).
 * The path first makes a record a key for common/xsort.h as it is.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/files.h"
#include "formats/image.h"
#include "formats/layerfs.h"

enum { REC_LINK = 0x80, REC_FULL = 0x40, REC_DIGEST = 0x20 };
#define REC_FIXED (8 + 4 + 4 + 4)

const char *const rpm_other_paths[RPM_OTHER_N] = { "var/lib/rpm/Packages", "usr/lib/sysimage/rpm/Packages",
						   "var/lib/rpm/Packages.db", "usr/lib/sysimage/rpm/Packages.db" };

void layer_files_init(struct layer_files *lf, struct spill *s, bool full)
{
	spill_log_init(&lf->recs, s);
	lf->recs_full = full;
}

/* Record one entry (path, link: f's; digest: the number, or NULL).  Nothing
 * of f's own path and link pointers is read. */
int layer_files_add(struct layer_files *lf, const struct fentry *f, const char *path, const char *link,
		    const uint64_t *digest, struct strata_err *e)
{
	size_t pl = strlen(path) + 1, ll = link ? strlen(link) + 1 : 0;
	size_t dl = digest && lf->recs_full ? sizeof(*digest) : 0;  /* without recs_full: only what stacking reads */
	size_t fl = lf->recs_full ? REC_FIXED : 0, n = pl + ll + dl + fl + 2;
	char small[512], *rec, *p;
	int r;

	if (!(rec = n <= sizeof(small) ? small : malloc(n)))  /* most: no allocation */
		return err_nomem(e, "file list");
	memcpy(rec, path, pl);
	p = rec + pl;
	if (ll)
		memcpy(p, link, ll);
	p += ll;
	if (dl)
		memcpy(p, digest, dl);
	p += dl;
	if (fl) {
		memcpy(p, &f->size, 8);
		memcpy(p + 8, &f->mode, 4);
		memcpy(p + 12, &f->uid, 4);
		memcpy(p + 16, &f->gid, 4);
	}
	p += fl;
	p[0] = (char)f->type;
	p[1] = (char)((f->flags & (FE_WHITEOUT | FE_OPAQUE)) | (ll ? REC_LINK : 0) | (fl ? REC_FULL : 0) |
		      (dl ? REC_DIGEST : 0));
	r = spill_log_add(&lf->recs, rec, n, e);
	if (rec != small)
		free(rec);
	return r;
}

void layer_files_record(const void *rec, size_t n, struct fentry *f)
{
	const uint8_t *end = (const uint8_t *)rec + n - 2;

	memset(f, 0, sizeof(*f));
	f->path = (char *)rec;
	f->type = end[0];
	f->flags = (uint8_t)(end[1] & (FE_WHITEOUT | FE_OPAQUE));
	f->has_link = (end[1] & REC_LINK) != 0;
	f->has_digest = (end[1] & REC_DIGEST) != 0;
	if (end[1] & REC_FULL) {
		memcpy(&f->size, end - REC_FIXED, 8);
		memcpy(&f->mode, end - REC_FIXED + 8, 4);
		memcpy(&f->uid, end - REC_FIXED + 12, 4);
		memcpy(&f->gid, end - REC_FIXED + 16, 4);
	}
}

static int cmp_named(const void *k, const void *x)
{
	size_t a = *(const size_t *)k, b = ((const struct named_entry *)x)->entry;

	return a < b ? -1 : a > b;
}

int layer_files_name_entry(struct layer_files *lf, size_t i, const char *path, struct strata_err *e)
{
	char *p;

	if (lf->nnamed && lf->named[lf->nnamed - 1].entry >= i)
		return 0;  /* named already (entries are named in order) */
	if (array_grow(&lf->named, lf->nnamed, &lf->anamed, sizeof(*lf->named), 16) < 0 || !(p = strdup(path)))
		return err_nomem(e, "file list");
	lf->named[lf->nnamed].entry = i;
	lf->named[lf->nnamed++].path = p;
	return 0;
}

const char *layer_files_name(const struct layer_files *lf, size_t i)
{
	const struct named_entry *x = lf->nnamed ? bsearch(&i, lf->named, lf->nnamed, sizeof(*lf->named), cmp_named)
				      : NULL;

	return x ? x->path : NULL;
}

void files_read_init(struct files_reader *r, const struct layer_files *lf)
{
	memset(r, 0, sizeof(*r));
	r->lf = lf;
	spill_read_init(&r->rd, &lf->recs);
}

int files_read(struct files_reader *r, const struct fentry **f, size_t *i, struct strata_err *e)
{
	int rc;

	if ((rc = spill_read(&r->rd, &r->rec, &r->n, e)) != 1)
		return rc;
	layer_files_record(r->rec, r->n, &r->f);
	*i = r->next++;
	*f = &r->f;
	return 1;
}

void files_read_release(struct files_reader *r)
{
	if (r->lf)
		spill_read_release(&r->rd);
	memset(r, 0, sizeof(*r));
}

size_t layer_files_index(const void *data)
{
	return (size_t)(uintptr_t)data - 1;
}

int layer_files_apply(struct lfs *v, const struct layer_files *lf, int layer, const char *lname,
		      layer_apply_fn fn, void *ctx, struct strata_err *e)
{
	struct files_reader rd;
	struct lfs_prev prev;
	const struct fentry *f;
	int pass, r = 0;
	size_t i;

	lfs_layer(v, layer, lname);
	/* whiteouts and opaque markers first: they act on the layers below */
	for (pass = 0; pass < 2 && r == 0; pass++) {
		files_read_init(&rd, lf);
		while ((r = files_read(&rd, &f, &i, e)) == 1) {
			struct lfs_in in = { LFS_ENTRY, f->path, f->type, fentry_link(f),
					     (const void *)(uintptr_t)(i + 1) };

			if ((f->flags != 0) != (pass == 0))
				continue;
			if (f->flags & FE_WHITEOUT)
				in.kind = LFS_WHITEOUT;
			else if (f->flags & FE_OPAQUE)
				in.kind = LFS_OPAQUE;
			if ((r = lfs_apply(v, &in, &prev, e)) < 0)
				break;
			if (fn && (r = fn(ctx, f, i, r, &prev, e)) < 0)
				break;
		}
		files_read_release(&rd);
	}
	return r < 0 ? r : 0;
}

int layer_files_stack(const struct image *im, struct lfs **out, struct strata_err *e)
{
	size_t i;
	int r;

	if ((r = lfs_new(out, NULL, e)) < 0)
		return r;
	for (i = 0; i < im->nlayers && r == 0; i++)
		if (im->layers[i].m && im->layers[i].m->walk)
			r = layer_files_apply(*out, im->layers[i].m->walk, (int)i, NULL, NULL, NULL, e);
	if (r < 0) {
		lfs_free(*out);
		*out = NULL;
	}
	return r;
}
