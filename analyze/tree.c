/* tree.c - the merged file tree of an image; see tree.h. */
#include "analyze/tree.h"

#include <stdlib.h>
#include <string.h>

#include "analyze/files.h"
#include "common/strmap.h"
#include "formats/layerfs.h"

struct builder {
	struct tree *t;
	struct strmap idx;     /* path -> 1 + node index (until the nodes are sorted) */
	uint32_t layer;        /* being stacked */
	int rc;                /* first failure inside an lfs event */
	struct strata_err *e;
};

/* The node of path, made (with its parents, implied) when absent; NTREE_NONE on error. */
static uint32_t node_get(struct builder *b, const char *path, bool borrow, struct strata_err *e)
{
	struct tree *t = b->t;
	struct tree_node *n;
	const char *slash;
	void *v = strmap_get(&b->idx, path);
	uint32_t i;

	if (v)
		return (uint32_t)((uintptr_t)v - 1);
	if ((slash = strrchr(path, '/'))) {
		char *dir = strndup(path, (size_t)(slash - path));
		uint32_t p;

		if (!dir)
			return err_nomem(e, "file tree"), TREE_NONE;
		p = node_get(b, dir, false, e);
		free(dir);
		if (p == TREE_NONE)
			return TREE_NONE;
	}
	if (t->len == t->alloc) {
		size_t na = t->alloc ? t->alloc * 2 : 1024;

		if (!(n = realloc(t->v, na * sizeof(*n))))
			return err_nomem(e, "file tree"), TREE_NONE;
		t->v = n;
		t->alloc = na;
	}
	i = (uint32_t)t->len;
	n = &t->v[i];
	memset(n, 0, sizeof(*n));
	n->type = TAR_DIR;
	n->implied = true;
	n->last = -1;
	n->parent = TREE_NONE;
	if (borrow) {
		n->path = path;
	} else if ((n->path = strdup(path))) {
		n->owned = true;
	} else {
		return err_nomem(e, "file tree"), TREE_NONE;
	}
	t->len++;
	if (strmap_put(&b->idx, path, (void *)(uintptr_t)(i + 1), e) < 0)
		return TREE_NONE;
	return i;
}

/* One event of the layer being stacked; a deletion then a new entry in
 * the same layer is one replacement. */
static int event(struct builder *b, uint32_t i, char kind, struct strata_err *e)
{
	struct tree_node *n = &b->t->v[i];
	struct tree_event *ev;

	if (n->nev && n->ev[n->nev - 1].layer == b->layer) {
		ev = &n->ev[n->nev - 1];
		ev->kind = ev->kind == 'd' && kind != 'd' ? 'm' : kind;
		return 0;
	}
	if (n->nev == n->aev) {
		uint32_t na = n->aev ? n->aev * 2 : 2;

		if (!(ev = realloc(n->ev, na * sizeof(*ev))))
			return err_nomem(e, "file tree");
		n->ev = ev;
		n->aev = na;
	}
	n->ev[n->nev++] = (struct tree_event){ b->layer, kind };
	return 0;
}

static void gone(void *ctx, const void *data, uint8_t type, int layer, enum lfs_cause why)
{
	struct builder *b = ctx;
	const struct fentry *f = data;
	uint32_t i;

	(void)type;
	(void)layer;
	(void)why;
	if (b->rc < 0)
		return;
	if ((i = node_get(b, f->path, true, b->e)) == TREE_NONE || event(b, i, 'd', b->e) < 0)
		b->rc = -b->e->code;
}

static int entry(void *ctx, const struct fentry *f, int applied, const struct lfs_prev *prev, struct strata_err *e)
{
	struct builder *b = ctx;
	struct tree_node *n;
	uint32_t i;

	if (b->rc < 0)
		return b->rc;
	if (f->flags || !applied)
		return 0;  /* deletions arrive through gone() */
	if ((i = node_get(b, f->path, true, e)) == TREE_NONE)
		return -e->code;
	n = &b->t->v[i];
	n->implied = false;
	n->type = f->type;
	n->last = (int)b->layer;
	n->link = f->link;
	n->size = f->type == TAR_FILE ? f->size : 0;
	if (f->type == TAR_DIR && prev->present && prev->type == TAR_DIR)
		return 0;  /* a directory again: no event */
	return event(b, i, prev->present ? 'm' : 'a', e);
}

static void final(void *ctx, const void *data, int layer)
{
	struct builder *b = ctx;
	void *v = strmap_get(&b->idx, ((const struct fentry *)data)->path);

	(void)layer;
	if (v)
		b->t->v[(uintptr_t)v - 1].present = true;
}

/* Tree order: component by component, '/' before every other byte. */
static int cmp_path(const char *a, const char *b)
{
	for (; *a && *a == *b; a++, b++)
		;
	if (*a == *b)
		return 0;
	if (*a == '/' || !*b)
		return *b ? -1 : 1;
	if (*b == '/' || !*a)
		return *a ? 1 : -1;
	return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
}

static int cmp_node(const void *x, const void *y)
{
	return cmp_path(((const struct tree_node *)x)->path, ((const struct tree_node *)y)->path);
}

/* Parents and depths from the sorted order, then sizes bottom-up. */
static int link_nodes(struct tree *t, struct strata_err *e)
{
	uint32_t *stack = t->len ? malloc(t->len * sizeof(*stack)) : NULL;
	size_t sp = 0, i;

	if (t->len && !stack)
		return err_nomem(e, "file tree");
	for (i = 0; i < t->len; i++) {
		struct tree_node *n = &t->v[i];
		const char *slash = strrchr(n->path, '/');

		n->name = slash ? slash + 1 : n->path;
		while (sp) {
			const char *p = t->v[stack[sp - 1]].path;
			size_t l = strlen(p);

			if (!strncmp(p, n->path, l) && n->path[l] == '/')
				break;
			sp--;
		}
		n->parent = sp ? stack[sp - 1] : TREE_NONE;
		n->depth = (uint32_t)sp;
		stack[sp++] = (uint32_t)i;
	}
	free(stack);
	for (i = t->len; i-- > 0;) {
		struct tree_node *n = &t->v[i];

		if (n->type == TAR_DIR && n->entries)
			n->present = true;  /* implied, or re-made under a deleted directory */
		if (n->parent == TREE_NONE || !n->present)
			continue;
		t->v[n->parent].size += n->size;
		t->v[n->parent].entries += 1 + n->entries;
	}
	return 0;
}

static int cmp_keep(const void *x, const void *y, void *arg)
{
	const struct tree_node *v = arg, *a = &v[*(const uint32_t *)x], *b = &v[*(const uint32_t *)y];

	if (a->depth != b->depth)
		return a->depth < b->depth ? -1 : 1;
	if ((a->present ? a->size : 0) != (b->present ? b->size : 0))
		return (a->present ? a->size : 0) > (b->present ? b->size : 0) ? -1 : 1;
	return *(const uint32_t *)x < *(const uint32_t *)y ? -1 : 1;
}

/* Mark the TREE_MAX nodes shown: shallowest first, then the largest. */
static int cut(struct tree *t, struct strata_err *e)
{
	uint32_t *order;
	size_t i;

	t->shown = t->len < TREE_MAX ? t->len : TREE_MAX;
	if (t->len <= TREE_MAX) {
		for (i = 0; i < t->len; i++)
			t->v[i].shown = true;
		return 0;
	}
	if (!(order = malloc(t->len * sizeof(*order))))
		return err_nomem(e, "file tree");
	for (i = 0; i < t->len; i++)
		order[i] = (uint32_t)i;
	qsort_r(order, t->len, sizeof(*order), cmp_keep, t->v);
	for (i = 0; i < TREE_MAX; i++)
		t->v[order[i]].shown = true;
	free(order);
	for (i = 0; i < t->len; i++) {
		struct tree_node *n = &t->v[i];

		if (n->shown || (n->parent != TREE_NONE && !t->v[n->parent].shown))
			continue;
		if (n->parent == TREE_NONE) {
			t->hidden_top++;
			continue;
		}
		t->v[n->parent].hidden++;
		t->v[n->parent].hidden_bytes += n->present ? n->size : 0;
	}
	return 0;
}

int tree_build(const struct image *im, struct tree *t, struct strata_err *e)
{
	struct builder b = { t, STRMAP_INIT, 0, 0, e };
	struct lfs_events ev = { &b, gone, NULL };
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
		b.layer = (uint32_t)li;
		r = layer_files_apply(v, lf, (int)li, NULL, entry, &b, e);
		if (r == 0)
			r = b.rc;
	}
	if (r == 0)
		lfs_each(v, final, &b);
	strmap_release(&b.idx);
	if (r == 0 && t->len > 1)
		qsort(t->v, t->len, sizeof(*t->v), cmp_node);
	if (r == 0)
		r = link_nodes(t, e);
	if (r == 0)
		r = cut(t, e);
out:
	strmap_release(&b.idx);
	lfs_free(v);
	if (r < 0)
		tree_release(t);
	return r;
}

void tree_release(struct tree *t)
{
	size_t i;

	for (i = 0; i < t->len; i++) {
		if (t->v[i].owned)
			free((char *)t->v[i].path);
		free(t->v[i].ev);
	}
	free(t->v);
	memset(t, 0, sizeof(*t));
}
