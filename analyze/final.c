/* final.c - the final filesystem of an image, as records; see files.h. */
#include <stdlib.h>
#include <string.h>

#include "analyze/files.h"
#include "common/buf.h"
#include "formats/image.h"
#include "formats/layerfs.h"

/* After the path and what follows it: size 8, mode 4, uid 4, gid 4, type 1, bits 1. */
#define FIXED 22
enum { B_LINK = 4, B_DIGEST = 8 };  /* bits: FE_WHITEOUT, FE_OPAQUE, and these */

static int add(struct spill_log *out, struct buf *b, const struct fentry *f, struct strata_err *e)
{
	uint8_t fixed[FIXED];
	const char *link = fentry_link(f);
	uint64_t no;
	bool dig = fentry_digest_no(f, &no);

	b->len = 0;
	memcpy(fixed, &f->size, 8);
	memcpy(fixed + 8, &f->mode, 4);
	memcpy(fixed + 12, &f->uid, 4);
	memcpy(fixed + 16, &f->gid, 4);
	fixed[20] = f->type;
	fixed[21] = (uint8_t)(f->flags | (link ? B_LINK : 0) | (dig ? B_DIGEST : 0));
	if (buf_add(b, f->path, strlen(f->path) + 1, e) < 0 || (link && buf_add(b, link, strlen(link) + 1, e) < 0) ||
	    (dig && buf_add(b, &no, 8, e) < 0) || buf_add(b, fixed, FIXED, e) < 0)
		return -e->code;
	return spill_log_add(out, b->data, b->len, e);
}

/* Add the entries of layer li that the stack shows. */
static int add_layer(struct lfs *v, const struct layer_files *lf, int li, struct spill_log *out, struct buf *b,
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
		if ((r = add(out, b, f, e)) < 0)
			break;
	}
	files_read_release(&rd);
	return r;
}

int final_entries(const struct image *im, struct lfs *v, struct spill_log *out, struct strata_err *e)
{
	struct buf b = BUF_INIT((size_t)1 << 30);  /* a path and a link target of any length the walk kept */
	size_t i;
	int r = 0;

	/* the stack says which entry each path shows: one more pass over each layer's entries */
	for (i = 0; i < im->nlayers && r == 0; i++)
		if (im->layers[i].m && im->layers[i].m->walk)
			r = add_layer(v, im->layers[i].m->walk, (int)i, out, &b, e);
	buf_release(&b);
	return r == 0 ? spill_log_seal(out, e) : r;
}

void final_entry(const void *rec, size_t n, struct fentry *f)
{
	const uint8_t *fixed = (const uint8_t *)rec + n - FIXED;

	memset(f, 0, sizeof(*f));
	f->path = (char *)rec;
	memcpy(&f->size, fixed, 8);
	memcpy(&f->mode, fixed + 8, 4);
	memcpy(&f->uid, fixed + 12, 4);
	memcpy(&f->gid, fixed + 16, 4);
	f->type = fixed[20];
	f->flags = fixed[21] & (FE_WHITEOUT | FE_OPAQUE);
	f->has_link = (fixed[21] & B_LINK) != 0;
	f->has_digest = (fixed[21] & B_DIGEST) != 0;
}
