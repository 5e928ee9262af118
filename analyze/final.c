/* final.c - the final filesystem of an image, sorted by path; see files.h. */
#include <stdlib.h>
#include <string.h>

#include "analyze/files.h"
#include "formats/image.h"
#include "formats/layerfs.h"

static void count(void *ctx, const void *data, uint8_t type, int layer)
{
	(void)data;
	(void)type;
	(void)layer;
	(*(size_t *)ctx)++;
}

static void note(void *ctx, const void *data, uint8_t type, int layer)
{
	struct final_view *fv = ctx;

	(void)type;
	(void)layer;
	fv->v[fv->n++] = data;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp((*(const struct fentry *const *)a)->path, (*(const struct fentry *const *)b)->path);
}

static int cmp_path(const void *k, const void *x)
{
	return strcmp(k, (*(const struct fentry *const *)x)->path);
}

int final_view_take(const struct lfs *v, struct final_view *fv, struct strata_err *e)
{
	size_t n = 0;

	final_view_release(fv);
	lfs_each(v, count, &n);
	if (n && !(fv->v = malloc(n * sizeof(*fv->v))))
		return err_nomem(e, "final filesystem");
	lfs_each(v, note, fv);
	return 0;
}

void final_view_sort(struct final_view *fv)
{
	if (fv->n > 1)
		qsort(fv->v, fv->n, sizeof(*fv->v), cmp_entry);
}

const struct fentry *final_view_find(const struct final_view *fv, const char *path)
{
	const struct fentry *const *x = fv->n ? bsearch(path, fv->v, fv->n, sizeof(*fv->v), cmp_path) : NULL;

	return x ? *x : NULL;
}

const struct layer_files *final_layer(const struct image *im, const struct fentry *f)
{
	size_t i;

	for (i = 0; i < im->nlayers; i++) {
		const struct layer_files *lf = im->layers[i].m ? im->layers[i].m->walk : NULL;

		if (lf && lf->len && f >= lf->v && f < lf->v + lf->len)
			return lf;
	}
	return NULL;
}

void final_view_release(struct final_view *fv)
{
	free(fv->v);
	fv->v = NULL;
	fv->n = 0;
}
