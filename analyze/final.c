/* final.c - the final filesystem of an image, as records; see files.h. */
#include <stdlib.h>
#include <string.h>

#include "analyze/files.h"
#include "formats/image.h"
#include "formats/layerfs.h"

/* Add the records of layer li's entries that the stack shows. */
static int add_layer(struct lfs *v, const struct layer_files *lf, int li, struct spill_log *out,
		     struct strata_err *e)
{
	struct files_reader rd;
	const struct fentry *f;
	struct lfs_prev at;
	size_t i;
	int r;

	files_read_init(&rd, lf);
	while ((r = files_read(&rd, &f, &i, e)) == 1) {
		uint32_t node;

		if (f->flags)
			continue;  /* whiteouts and opaque markers are never shown */
		node = lfs_node(v, f->path, false, e);
		if (node == NTREE_NONE || !lfs_at(v, node, &at) || at.layer != li || layer_files_index(at.data) != i)
			continue;  /* replaced, removed or refused */
		if ((r = spill_log_add(out, rd.rec, rd.n, e)) < 0)
			break;
	}
	files_read_release(&rd);
	return r;
}

int final_entries(const struct image *im, struct lfs *v, struct spill_log *out, struct strata_err *e)
{
	size_t i;
	int r = 0;

	/* the stack says which entry each path shows: one more pass over each layer's entries */
	for (i = 0; i < im->nlayers && r == 0; i++)
		if (im->layers[i].m && im->layers[i].m->walk)
			r = add_layer(v, im->layers[i].m->walk, (int)i, out, e);
	return r == 0 ? spill_log_seal(out, e) : r;
}
