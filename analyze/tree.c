/* tree.c - the merged file tree of an image; see tree.h. */
#include "analyze/tree.h"

#include <stdlib.h>
#include <string.h>

#include "analyze/files.h"
#include "common/buf.h"
#include "formats/layerfs.h"

/* What the stack reported, in order: an event, or a write that is no event
 * ('w': a directory again).  16 bytes.  A path is in the final image when
 * its last record is not a deletion: the stack reports every present entry
 * that leaves the view, and every entry that enters it. */
struct rec {
	const struct fentry *f;
	uint32_t seq;
	uint16_t layer;   /* the stack's layers are at most INT16_MAX */
	char kind;
};

struct builder {
	struct tree *t;
	struct rec *r;
	size_t n, alloc;
	uint32_t layer;        /* being stacked */
	int rc;                /* first failure inside an lfs event */
	struct strata_err *e;
};

static int record(struct builder *b, const struct fentry *f, char kind, struct strata_err *e)
{
	if (strlen(f->path) >= LFS_PATH_MAX)
		return 0;  /* counted when final() sees it present */
	if (b->n >= UINT32_MAX)
		return err_set(e, STRATA_EFORMAT, "file tree: more than %u changes", UINT32_MAX);
	if (array_grow(&b->r, b->n, &b->alloc, sizeof(*b->r), 4096) < 0)
		return err_nomem(e, "file tree");
	b->r[b->n] = (struct rec){ f, (uint32_t)b->n, (uint16_t)b->layer, kind };
	b->n++;
	return 0;
}

static void gone(void *ctx, const void *data, uint32_t node, uint8_t type, int layer, enum lfs_cause why)
{
	struct builder *b = ctx;

	(void)node;
	(void)type;
	(void)layer;
	(void)why;
	if (b->rc == 0)
		b->rc = record(b, data, 'd', b->e);
}

static int entry(void *ctx, const struct fentry *f, size_t i, int applied, const struct lfs_prev *prev,
		 struct strata_err *e)
{
	struct builder *b = ctx;

	(void)i;
	if (b->rc < 0)
		return b->rc;
	if (f->flags || !applied)
		return 0;  /* deletions arrive through gone() */
	if (f->type == TAR_DIR && prev->present && prev->type == TAR_DIR)
		return record(b, f, 'w', e);  /* a directory again: no event */
	return record(b, f, prev->present ? 'm' : 'a', e);
}

static void final(void *ctx, const void *data, uint8_t type, int layer)
{
	struct builder *b = ctx;
	const struct fentry *f = data;

	(void)type;
	(void)layer;
	b->t->too_long += strlen(f->path) >= LFS_PATH_MAX;
}

/* Tree order of a[0..na) and b[0..nb): component by component, '/' before every other byte. */
static int cmp_path(const char *a, size_t na, const char *b, size_t nb)
{
	size_t i = 0;

	while (i < na && i < nb && a[i] == b[i])
		i++;
	if (i == na || i == nb)
		return i == na ? (i == nb ? 0 : -1) : 1;
	if (a[i] == '/' || b[i] == '/')
		return a[i] == '/' ? -1 : 1;
	return (unsigned char)a[i] < (unsigned char)b[i] ? -1 : 1;
}

static int cmp_rec(const void *x, const void *y)
{
	const struct rec *a = x, *b = y;
	int c = cmp_path(a->f->path, strlen(a->f->path), b->f->path, strlen(b->f->path));

	return c ? c : a->seq < b->seq ? -1 : 1;
}

static struct tree_node *node_add(struct tree *t, const char *path, size_t plen, size_t depth, struct strata_err *e)
{
	struct tree_node *n;

	if (t->len >= UINT32_MAX - 1 || depth > UINT16_MAX)
		return err_set(e, STRATA_EFORMAT, "file tree: too many paths"), NULL;
	if (array_grow(&t->v, t->len, &t->alloc, sizeof(*t->v), 1024) < 0)
		return err_nomem(e, "file tree"), NULL;
	n = &t->v[t->len++];
	memset(n, 0, sizeof(*n));
	n->path = path;
	n->plen = (uint32_t)plen;
	n->depth = (uint16_t)depth;
	n->type = TAR_DIR;
	n->implied = true;
	n->last = -1;
	n->parent = TREE_NONE;
	n->ev0 = (uint32_t)t->nev;
	return n;
}

static int event_add(struct tree *t, struct tree_node *n, uint32_t layer, char kind, size_t *aev, struct strata_err *e)
{
	struct tree_event *ev;

	if (n->nev && t->ev[t->nev - 1].layer == layer) {
		/* the same layer again: a deletion then a new entry is one replacement */
		ev = &t->ev[t->nev - 1];
		ev->kind = ev->kind == 'd' && kind != 'd' ? 'm' : kind;
		return 0;
	}
	if (array_grow(&t->ev, t->nev, aev, sizeof(*t->ev), 4096) < 0)
		return err_nomem(e, "file tree");
	t->ev[t->nev++] = (struct tree_event){ (uint16_t)layer, kind };
	n->nev++;
	return 0;
}

/* Is a's path a directory above b's? */
static bool is_above(const struct tree_node *a, const char *b, size_t nb)
{
	return a->plen < nb && b[a->plen] == '/' && !memcmp(a->path, b, a->plen);
}

/* Nodes from the sorted records: one per path, implied directories made for
 * the components no record names, parents from a stack of open directories. */
static int merge(struct tree *t, const struct rec *r, size_t n, struct strata_err *e)
{
	uint32_t *stack = NULL;
	size_t sp = 0, salloc = 0, aev = 0, i = 0;

	while (i < n) {
		const char *p = r[i].f->path;
		size_t pl = strlen(p), at;
		struct tree_node *nd;

		while (sp && !is_above(&t->v[stack[sp - 1]], p, pl))
			sp--;
		at = sp ? t->v[stack[sp - 1]].plen + 1 : 0;
		for (;;) {  /* each component: implied ones first, then p itself */
			const char *slash = memchr(p + at, '/', pl - at);
			size_t end = slash ? (size_t)(slash - p) : pl;

			if (array_grow(&stack, sp, &salloc, sizeof(*stack), 64) < 0) {
				free(stack);
				return err_nomem(e, "file tree");
			}
			if (!(nd = node_add(t, p, end, sp, e))) {
				free(stack);
				return -e->code;
			}
			nd->parent = sp ? stack[sp - 1] : TREE_NONE;
			stack[sp++] = (uint32_t)(t->len - 1);
			if (!slash)
				break;
			at = end + 1;
		}
		for (; i < n && (r[i].f->path == p || !strcmp(r[i].f->path, p)); i++) {
			const struct fentry *f = r[i].f;

			nd->present = r[i].kind != 'd';  /* the last one says */
			if (r[i].kind != 'd') {  /* the same path: the last writer's string, its link after it */
				nd->path = f->path;
				nd->implied = false;
				nd->type = f->type;
				nd->last = (int16_t)r[i].layer;
				nd->has_link = f->has_link;
				nd->size = f->type == TAR_FILE ? f->size : 0;
			}
			if (r[i].kind != 'w' && event_add(t, nd, r[i].layer, r[i].kind, &aev, e) < 0) {
				free(stack);
				return -e->code;
			}
		}
	}
	free(stack);
	return 0;
}

/* Sizes and entry counts bottom-up (children come after their parent). */
static void sum_up(struct tree *t)
{
	size_t i;

	for (i = t->len; i-- > 0;) {
		struct tree_node *n = &t->v[i];

		if (n->type == TAR_DIR && n->entries)
			n->present = true;  /* implied, or made again under a deleted directory */
		if (n->parent == TREE_NONE || !n->present)
			continue;
		t->v[n->parent].size += n->size;
		t->v[n->parent].entries += 1 + n->entries;
	}
}

static int cmp_keep(const void *x, const void *y, void *arg)
{
	const struct tree_node *v = arg, *a = &v[*(const uint32_t *)x], *b = &v[*(const uint32_t *)y];
	uint64_t sa = a->present ? a->size : 0, sb = b->present ? b->size : 0;

	if (a->depth != b->depth)
		return a->depth < b->depth ? -1 : 1;
	if (sa != sb)
		return sa > sb ? -1 : 1;
	return *(const uint32_t *)x < *(const uint32_t *)y ? -1 : 1;
}

static struct tree_hidden *find_hidden(const struct tree *t, uint32_t node)
{
	size_t lo = 0, hi = t->nhid;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->hid[mid].node == node)
			return &t->hid[mid];
		if (t->hid[mid].node < node)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Mark what is shown: shallowest first, then the largest, within both bounds. */
static int cut(struct tree *t, struct strata_err *e)
{
	uint32_t *order;
	uint64_t bytes = 0;
	size_t i, ahid = 0;

	if (!t->len)
		return 0;
	if (!(order = malloc(t->len * sizeof(*order))))
		return err_nomem(e, "file tree");
	for (i = 0; i < t->len; i++)
		order[i] = (uint32_t)i;
	qsort_r(order, t->len, sizeof(*order), cmp_keep, t->v);
	for (i = 0; i < t->len && t->shown < TREE_MAX; i++) {
		struct tree_node *n = &t->v[order[i]];

		bytes += (uint64_t)n->plen * 2 + 200;  /* the path, the name and the markup around them */
		if (bytes > TREE_BYTES_MAX)
			break;
		n->shown = true;
		t->shown++;
	}
	free(order);
	for (i = 0; i + 1 < t->len; i++) {  /* the shown nodes with children, in node order (bsearch) */
		if (!t->v[i].shown || t->v[i + 1].parent != i)
			continue;
		if (array_grow(&t->hid, t->nhid, &ahid, sizeof(*t->hid), 64) < 0)
			return err_nomem(e, "file tree");
		t->hid[t->nhid++] = (struct tree_hidden){ (uint32_t)i, 0, 0 };
	}
	for (i = 0; i < t->len; i++) {
		struct tree_node *n = &t->v[i];
		struct tree_hidden *h;

		if (n->shown || (n->parent != TREE_NONE && !t->v[n->parent].shown))
			continue;
		if (n->parent == TREE_NONE) {
			t->hidden_top++;
			continue;
		}
		if (!(h = find_hidden(t, n->parent)))
			return err_set(e, STRATA_EFORMAT, "file tree: a hidden entry's directory is not listed");
		h->count++;
		h->bytes += n->present ? n->size : 0;
	}
	return 0;
}

uint32_t tree_hidden(const struct tree *t, uint32_t i, uint64_t *bytes)
{
	const struct tree_hidden *h = find_hidden(t, i);

	*bytes = h ? h->bytes : 0;
	return h ? h->count : 0;
}

int tree_build(const struct image *im, struct tree *t, struct strata_err *e)
{
	struct builder b = { t, NULL, 0, 0, 0, 0, e };
	struct lfs_events ev = { &b, gone, NULL, false };
	struct lfs *v = NULL;
	size_t li;
	int r;

	memset(t, 0, sizeof(*t));
	t->nlayers = im->nlayers;
	t->complete = true;
	if ((r = lfs_new(&v, &ev, e)) < 0)
		goto out;
	for (li = 0; li < im->nlayers && r == 0; li++) {
		const struct layer_files *lf = im->layers[li].m ? im->layers[li].m->walk : NULL;

		if (!lf) {
			t->complete = false;
			continue;
		}
		if (lf->recs_on) {  /* the tree keeps the entries' addresses */
			r = err_set(e, STRATA_EIO, "file tree: the layers' entries are not in memory");
			break;
		}
		b.layer = (uint32_t)li;
		r = layer_files_apply(v, lf, (int)li, NULL, entry, &b, e);
		if (r == 0)
			r = b.rc;
	}
	if (r == 0) {
		lfs_each(v, final, &b);
		r = b.rc;
	}
	lfs_free(v);
	v = NULL;
	if (r == 0 && b.n > 1)
		qsort(b.r, b.n, sizeof(*b.r), cmp_rec);
	if (r == 0)
		r = merge(t, b.r, b.n, e);
	free(b.r);
	b.r = NULL;
	if (r == 0) {
		sum_up(t);
		r = cut(t, e);
	}
out:
	free(b.r);
	lfs_free(v);
	if (r < 0)
		tree_release(t);
	return r;
}

void tree_release(struct tree *t)
{
	free(t->v);
	free(t->ev);
	free(t->hid);
	memset(t, 0, sizeof(*t));
}
