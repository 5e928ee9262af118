/* tree.c - the merged file tree of an image; see tree.h. */
#include "analyze/tree.h"

#include <stdlib.h>
#include <string.h>

#include "analyze/files.h"
#include "common/buf.h"
#include "common/spill.h"
#include "common/xsort.h"
#include "formats/layerfs.h"

#define TREE_SPILL_MEM (1u << 20)  /* the changes, then the nodes, kept in memory before the temp file */
#define TREE_SORT_MEM (8u << 20)   /* the sort's batch of changes */

/* ---- 1. the changes the stack reports, in order ----
 *
 * One record each: the path in tree order's key (key_of), its NUL, then
 * layer (2 bytes), kind, type, size (8), has_link, and the link target and
 * its NUL.  kind: an event ('a', 'm', 'd') or a write that is no event ('w':
 * a directory again).  A path is in the final image when its last record is
 * not a deletion: the stack reports every present entry that leaves the
 * view, and every entry that enters it. */
#define CH_FIXED 13

/* Tree order as strcmp order: '/' becomes 1, the bytes 1 to '.' move up one. */
static char key_byte(char c)
{
	unsigned char u = (unsigned char)c;

	return (char)(u == '/' ? 1 : u >= 1 && u < '/' ? u + 1 : u);
}

static char path_byte(char c)
{
	unsigned char u = (unsigned char)c;

	return (char)(u == 1 ? '/' : u >= 2 && u <= '/' ? u - 1 : u);
}

struct builder {
	struct lfs *v;
	struct spill_log *changes;
	struct buf rec;
	uint16_t layer;        /* being stacked */
	int rc;                /* first failure inside an lfs event */
	struct strata_err *e;
};

static int record(struct builder *b, const char *path, size_t n, char kind, uint8_t type, uint64_t size,
		  const char *link, struct strata_err *e)
{
	uint8_t fixed[CH_FIXED];
	size_t i;

	if (n >= LFS_PATH_MAX)
		return 0;  /* counted when present at the end (too_long) */
	b->rec.len = 0;
	memcpy(fixed, &b->layer, 2);
	fixed[2] = (uint8_t)kind;
	fixed[3] = type;
	memcpy(fixed + 4, &size, 8);
	fixed[12] = link != NULL;
	if (buf_add(&b->rec, path, n + 1, e) < 0 || buf_add(&b->rec, fixed, CH_FIXED, e) < 0 ||
	    (link && buf_add(&b->rec, link, strlen(link) + 1, e) < 0))
		return -e->code;
	for (i = 0; i < n; i++)
		b->rec.data[i] = key_byte(b->rec.data[i]);
	return spill_log_add(b->changes, b->rec.data, b->rec.len, e);
}

static void gone(void *ctx, const void *data, uint32_t node, uint8_t type, int layer, enum lfs_cause why)
{
	struct builder *b = ctx;
	char path[LFS_PATH_MAX];
	size_t n;

	(void)data;
	(void)type;
	(void)layer;
	(void)why;
	if (b->rc == 0 && (n = lfs_pathname(b->v, node, path, sizeof(path))) < sizeof(path))
		b->rc = record(b, path, n, 'd', 0, 0, NULL, b->e);
}

static int entry(void *ctx, const struct fentry *f, size_t i, int applied, const struct lfs_prev *prev,
		 struct strata_err *e)
{
	struct builder *b = ctx;
	char kind;

	(void)i;
	if (b->rc < 0)
		return b->rc;
	if (f->flags || !applied)
		return 0;  /* deletions arrive through gone() */
	kind = f->type == TAR_DIR && prev->present && prev->type == TAR_DIR ? 'w' /* a directory again: no event */
	       : prev->present ? 'm' : 'a';
	return record(b, f->path, strlen(f->path), kind, f->type, f->size, fentry_link(f), e);
}

/* Stack the layers; their changes into l.  Present paths too long to keep are counted. */
static int changes(const struct image *im, struct tree *t, struct spill_log *l, struct strata_err *e)
{
	struct builder b = { NULL, l, BUF_INIT((size_t)1 << 30), 0, 0, e };  /* a link target of any length */
	struct lfs_events ev = { &b, gone, NULL, true };
	struct lfs_prev at;
	size_t li, i, n;
	int r;

	if ((r = lfs_new(&b.v, &ev, e)) < 0)
		return r;
	for (li = 0; li < im->nlayers && r == 0; li++) {
		const struct layer_files *lf = im->layers[li].m ? im->layers[li].m->walk : NULL;

		if (!lf) {
			t->complete = false;
			continue;
		}
		b.layer = (uint16_t)li;
		r = layer_files_apply(b.v, lf, (int)li, NULL, entry, &b, e);
		if (r == 0)
			r = b.rc;
	}
	for (i = 1, n = r == 0 ? lfs_nodes(b.v) : 0; i < n; i++)
		if (lfs_at(b.v, (uint32_t)i, &at) && lfs_pathname(b.v, (uint32_t)i, NULL, 0) > LFS_PATH_MAX)  /* length + 1 */
			t->too_long++;
	lfs_free(b.v);
	buf_release(&b.rec);
	return r == 0 ? spill_log_seal(l, e) : r;
}

/* ---- 2. the merge: sorted changes into nodes, each complete when left ----
 *
 * The open nodes are a path of directories from the top level down (each
 * one's path a prefix of the deepest's, in path[]); their events are a stack
 * in the same order.  A node left is written to the node log: index (its
 * place in tree order), parent, depth, last, type, bits (1 present, 2
 * implied, 4 has_link), size, entries, nev, then its events (layer 2, kind
 * 1 each), plen, its path and NUL, and its link target and NUL. */
#define NODE_FIXED 30

struct open {
	uint32_t index, parent, entries, ev0;
	uint16_t nev, depth;
	uint32_t plen;
	uint64_t size;
	int16_t last;
	uint8_t type;
	bool present, implied;
	char *link;            /* the last writer's, owned */
};

/* A node weighed for the cut: shallowest first, then the largest, then tree order. */
struct cand {
	uint64_t size;         /* its size when present, else 0 */
	uint32_t index, plen;
	uint32_t llen;         /* its link target's length (at most UINT32_MAX) */
	uint16_t depth;
};

struct merger {
	struct tree *t;
	struct spill_log *nodes;
	struct open *o;
	size_t sp, ao;
	char path[LFS_PATH_MAX];
	struct tree_event *ev;
	size_t nev, aev;
	struct cand *heap;     /* the TREE_MAX best so far, the worst on top */
	size_t nheap;
	uint32_t next;         /* the index of the next node */
	struct buf rec;
};

static bool worse(const struct cand *a, const struct cand *b)
{
	if (a->depth != b->depth)
		return a->depth > b->depth;
	if (a->size != b->size)
		return a->size < b->size;
	return a->index > b->index;
}

static void heap_down(struct cand *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		struct cand x;

		if (l < n && worse(&h[l], &h[m]))
			m = l;
		if (l + 1 < n && worse(&h[l + 1], &h[m]))
			m = l + 1;
		if (m == i)
			return;
		x = h[i];
		h[i] = h[m];
		h[m] = x;
		i = m;
	}
}

static void heap_up(struct cand *h, size_t i)
{
	while (i > 0 && worse(&h[i], &h[(i - 1) / 2])) {
		struct cand x = h[i];

		h[i] = h[(i - 1) / 2];
		h[(i - 1) / 2] = x;
		i = (i - 1) / 2;
	}
}

static void weigh(struct merger *m, const struct open *x)
{
	size_t ll = x->link ? strlen(x->link) : 0;
	struct cand c = { x->present ? x->size : 0, x->index, x->plen, ll > UINT32_MAX ? UINT32_MAX : (uint32_t)ll,
			  x->depth };

	if (m->nheap < TREE_MAX) {
		m->heap[m->nheap] = c;
		heap_up(m->heap, m->nheap++);
	} else if (worse(&m->heap[0], &c)) {
		m->heap[0] = c;
		heap_down(m->heap, m->nheap, 0);
	}
}

/* The largest directories: size first, then tree order. */
static int dir_weigh(struct tree *t, const struct open *x, const char *path, struct strata_err *e)
{
	size_t k;
	char *p;

	if (x->type != TAR_DIR || !x->present || x->depth >= 3)
		return 0;
	for (k = t->ndirs; k > 0; k--) {
		const struct tree_dir *d = &t->dirs[k - 1];

		if (d->size > x->size || (d->size == x->size && d->index < x->index))
			break;
	}
	if (k >= TREE_DIRS)
		return 0;
	if (!(p = malloc(x->plen + 1)))
		return err_nomem(e, "file tree");
	memcpy(p, path, x->plen);
	p[x->plen] = '\0';
	if (t->ndirs == TREE_DIRS)
		free(t->dirs[--t->ndirs].path);
	memmove(&t->dirs[k + 1], &t->dirs[k], (t->ndirs - k) * sizeof(*t->dirs));
	t->dirs[k] = (struct tree_dir){ p, x->plen, x->entries, x->size, x->last, x->index };
	t->ndirs++;
	return 0;
}

/* Leave the deepest open node: its sizes go to its parent, it goes to the log. */
static int leave(struct merger *m, struct strata_err *e)
{
	struct open *x = &m->o[--m->sp];
	uint8_t fixed[NODE_FIXED], bits;
	size_t k;
	int r;

	if (x->type == TAR_DIR && x->entries)
		x->present = true;  /* implied, or made again under a deleted directory */
	if (m->sp && x->present) {
		m->o[m->sp - 1].size += x->size;
		m->o[m->sp - 1].entries += 1 + x->entries;
	}
	bits = (uint8_t)((x->present ? 1 : 0) | (x->implied ? 2 : 0) | (x->link ? 4 : 0));
	memcpy(fixed, &x->index, 4);
	memcpy(fixed + 4, &x->parent, 4);
	memcpy(fixed + 8, &x->depth, 2);
	memcpy(fixed + 10, &x->last, 2);
	fixed[12] = x->type;
	fixed[13] = bits;
	memcpy(fixed + 14, &x->size, 8);
	memcpy(fixed + 22, &x->entries, 4);
	memcpy(fixed + 26, &x->nev, 2);
	memset(fixed + 28, 0, 2);
	m->rec.len = 0;
	r = buf_add(&m->rec, fixed, NODE_FIXED, e);
	for (k = 0; k < x->nev && r == 0; k++) {
		const struct tree_event *v = &m->ev[x->ev0 + k];
		uint8_t ev[3];

		memcpy(ev, &v->layer, 2);
		ev[2] = (uint8_t)v->kind;
		r = buf_add(&m->rec, ev, 3, e);
	}
	if (r == 0 && (buf_add(&m->rec, &x->plen, 4, e) < 0 || buf_add(&m->rec, m->path, x->plen, e) < 0 ||
		       buf_add(&m->rec, "", 1, e) < 0 || (x->link && buf_add(&m->rec, x->link, strlen(x->link) + 1, e) < 0)))
		r = -e->code;
	if (r == 0)
		r = spill_log_add(m->nodes, m->rec.data, m->rec.len, e);
	if (r == 0) {
		weigh(m, x);
		r = dir_weigh(m->t, x, m->path, e);
	}
	m->nev = x->ev0;
	free(x->link);
	x->link = NULL;
	return r;
}

/* Open the node of path[0..plen) below the deepest open one. */
static int enter(struct merger *m, uint32_t plen, struct strata_err *e)
{
	struct open *x;

	if (m->next >= UINT32_MAX - 1 || m->sp > UINT16_MAX)
		return err_set(e, STRATA_EFORMAT, "file tree: too many paths");
	if (array_grow(&m->o, m->sp, &m->ao, sizeof(*m->o), 64) < 0)
		return err_nomem(e, "file tree");
	x = &m->o[m->sp];
	memset(x, 0, sizeof(*x));
	x->index = m->next++;
	x->parent = m->sp ? m->o[m->sp - 1].index : TREE_NONE;
	x->depth = (uint16_t)m->sp;
	x->plen = plen;
	x->type = TAR_DIR;
	x->implied = true;
	x->last = -1;
	x->ev0 = (uint32_t)m->nev;
	m->sp++;
	return 0;
}

static int event_add(struct merger *m, struct open *x, uint16_t layer, char kind, struct strata_err *e)
{
	if (x->nev && m->ev[m->nev - 1].layer == layer) {
		/* the same layer again: a deletion then a new entry is one replacement */
		struct tree_event *v = &m->ev[m->nev - 1];

		v->kind = v->kind == 'd' && kind != 'd' ? 'm' : kind;
		return 0;
	}
	if (array_grow(&m->ev, m->nev, &m->aev, sizeof(*m->ev), 256) < 0)
		return err_nomem(e, "file tree");
	m->ev[m->nev++] = (struct tree_event){ layer, kind };
	x->nev++;
	return 0;
}

/* One change (a record of changes()), in tree order. */
static int merge_one(struct merger *m, const char *rec, size_t n, struct strata_err *e)
{
	size_t pl = strlen(rec), at, i;
	const uint8_t *fixed = (const uint8_t *)rec + pl + 1;
	char p[LFS_PATH_MAX];
	uint16_t layer;
	uint64_t size;
	struct open *x;
	int r;

	(void)n;
	for (i = 0; i < pl; i++)
		p[i] = path_byte(rec[i]);
	/* the same path as the last change: the same node */
	if (!m->sp || m->o[m->sp - 1].plen != pl || memcmp(m->path, p, pl)) {
		while (m->sp) {  /* leave what p is not below */
			const struct open *t = &m->o[m->sp - 1];

			if (t->plen < pl && p[t->plen] == '/' && !memcmp(m->path, p, t->plen))
				break;
			if ((r = leave(m, e)) < 0)
				return r;
		}
		at = m->sp ? m->o[m->sp - 1].plen + 1 : 0;
		memcpy(m->path, p, pl);
		for (;;) {  /* each component: implied ones first, then p itself */
			const char *slash = memchr(p + at, '/', pl - at);
			size_t end = slash ? (size_t)(slash - p) : pl;

			if ((r = enter(m, (uint32_t)end, e)) < 0)
				return r;
			if (!slash)
				break;
			at = end + 1;
		}
	}
	x = &m->o[m->sp - 1];
	memcpy(&layer, fixed, 2);
	memcpy(&size, fixed + 4, 8);
	x->present = fixed[2] != 'd';  /* the last one says */
	if (fixed[2] != 'd') {  /* the last writer's */
		x->implied = false;
		x->type = fixed[3];
		x->last = (int16_t)layer;
		x->size = x->type == TAR_FILE ? size : 0;
		free(x->link);
		x->link = NULL;
		if (fixed[12] && !(x->link = strdup((const char *)fixed + CH_FIXED)))
			return err_nomem(e, "file tree");
	}
	return fixed[2] != 'w' ? event_add(m, x, layer, (char)fixed[2], e) : 0;
}

/* ---- 3. the cut, and the shown nodes kept ---- */

static int cmp_cand(const void *x, const void *y)
{
	const struct cand *a = x, *b = y;

	return worse(b, a) ? -1 : worse(a, b) ? 1 : 0;
}

static int cmp_u32(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;

	return a < b ? -1 : a > b;
}

/* The place of node index i among the shown (sorted), or -1. */
static long shown_at(const uint32_t *shown, size_t n, uint32_t i)
{
	const uint32_t *p = n ? bsearch(&i, shown, n, sizeof(*shown), cmp_u32) : NULL;

	return p ? (long)(p - shown) : -1;
}

/* Shallowest first, then the largest, within both bounds: the indexes shown, sorted. */
static uint32_t *cut(struct merger *m, size_t *n, struct strata_err *e)
{
	uint32_t *shown = malloc((m->nheap ? m->nheap : 1) * sizeof(*shown));
	uint64_t bytes = 0;
	size_t i;

	*n = 0;
	if (!shown)
		return err_nomem(e, "file tree"), NULL;
	qsort(m->heap, m->nheap, sizeof(*m->heap), cmp_cand);
	for (i = 0; i < m->nheap; i++) {
		/* the path, the name, the link target and the markup around them */
		bytes += (uint64_t)m->heap[i].plen * 2 + m->heap[i].llen + 200;
		if (bytes > TREE_BYTES_MAX)
			break;
		shown[(*n)++] = m->heap[i].index;
	}
	qsort(shown, *n, sizeof(*shown), cmp_u32);
	return shown;
}

/* A shown node's record (of the node log) into nd, its parent at up among the shown (-1: none). */
static int keep_node(struct tree *t, struct tree_node *nd, long up, const uint8_t *rec, struct strata_err *e)
{
	const uint8_t *evs = rec + NODE_FIXED;
	uint16_t nev, k;
	uint32_t plen;
	const char *path;
	size_t tail;
	char *own;

	memcpy(&nev, rec + 26, 2);
	memcpy(&plen, evs + 3 * (size_t)nev, 4);
	path = (const char *)evs + 3 * (size_t)nev + 4;
	tail = plen + 1 + ((rec[13] & 4) ? strlen(path + plen + 1) + 1 : 0);
	if (!(own = malloc(tail)))
		return err_nomem(e, "file tree");
	memcpy(own, path, tail);
	nd->path = own;
	nd->plen = plen;
	nd->parent = up < 0 ? TREE_NONE : (uint32_t)up;
	memcpy(&nd->depth, rec + 8, 2);
	memcpy(&nd->last, rec + 10, 2);
	nd->type = rec[12];
	nd->present = rec[13] & 1;
	nd->implied = (rec[13] & 2) != 0;
	nd->has_link = (rec[13] & 4) != 0;
	memcpy(&nd->size, rec + 14, 8);
	memcpy(&nd->entries, rec + 22, 4);
	nd->ev0 = (uint32_t)t->nev;
	nd->nev = nev;
	while (t->nev + nev > t->aev && array_grow(&t->ev, t->aev, &t->aev, sizeof(*t->ev), 256) == 0)
		;
	if (t->nev + nev > t->aev)
		return err_nomem(e, "file tree");
	for (k = 0; k < nev; k++) {
		memcpy(&t->ev[t->nev].layer, evs + 3 * (size_t)k, 2);
		t->ev[t->nev++].kind = (char)evs[3 * (size_t)k + 2];
	}
	return 0;
}

/* Read the node log: the shown nodes into t->v, what each hides counted. */
static int keep(struct tree *t, const struct spill_log *nodes, const uint32_t *shown, size_t nshown,
		struct strata_err *e)
{
	struct spill_reader rd;
	const void *p;
	size_t n;
	int r;

	if (nshown && (!(t->v = calloc(nshown, sizeof(*t->v))) || !(t->hid = calloc(nshown, sizeof(*t->hid)))))
		return err_nomem(e, "file tree");
	t->len = nshown;
	spill_read_init(&rd, nodes);
	while ((r = spill_read(&rd, &p, &n, e)) == 1) {
		const uint8_t *rec = p;
		uint32_t index, parent;
		long at, up;

		memcpy(&index, rec, 4);
		memcpy(&parent, rec + 4, 4);
		at = shown_at(shown, nshown, index);
		up = parent == TREE_NONE ? -1 : shown_at(shown, nshown, parent);
		if (at < 0) {  /* not shown: counted by its shown parent */
			uint64_t size;

			memcpy(&size, rec + 14, 8);
			if (parent == TREE_NONE) {
				t->hidden_top++;
			} else if (up >= 0) {
				t->hid[up].count++;
				t->hid[up].bytes += (rec[13] & 1) ? size : 0;
			}
			continue;
		}
		if ((r = keep_node(t, &t->v[at], up, rec, e)) < 0)
			break;
	}
	spill_read_release(&rd);
	return r;
}

uint32_t tree_hidden(const struct tree *t, uint32_t i, uint64_t *bytes)
{
	*bytes = i < t->len ? t->hid[i].bytes : 0;
	return i < t->len ? t->hid[i].count : 0;
}

int tree_build(const struct image *im, struct tree *t, struct strata_err *e)
{
	struct spill s;
	struct spill_log chg, nodes;
	struct xsort x;
	struct merger m;
	uint32_t *shown = NULL;
	size_t nshown = 0;
	const void *p;
	size_t n;
	int r;

	memset(t, 0, sizeof(*t));
	memset(&m, 0, sizeof(m));
	t->nlayers = im->nlayers;
	t->complete = true;
	spill_init(&s, TREE_SPILL_MEM);
	spill_log_init(&chg, &s);
	spill_log_init(&nodes, &s);
	xsort_init(&x, TREE_SORT_MEM);
	m.t = t;
	m.nodes = &nodes;
	buf_init(&m.rec, (size_t)1 << 30);  /* a path, a link target, an event a layer */
	/* the stack is freed before the sort takes its memory */
	if ((r = changes(im, t, &chg, e)) < 0)
		goto out;
	r = xsort_add_log(&x, &chg, e);
	spill_log_release(&chg);
	if (r < 0)
		goto out;
	if (!(m.heap = malloc(TREE_MAX * sizeof(*m.heap)))) {
		r = err_nomem(e, "file tree");
		goto out;
	}
	while ((r = xsort_next(&x, &p, &n, e)) == 1 && (r = merge_one(&m, p, n, e)) == 0)
		;
	while (r == 0 && m.sp)
		r = leave(&m, e);
	if (r == 0)
		r = spill_log_seal(&nodes, e);
	xsort_release(&x);
	t->paths = m.next;
	if (r == 0 && (shown = cut(&m, &nshown, e)) == NULL)
		r = -e->code;
	free(m.heap);
	m.heap = NULL;
	if (r == 0)
		r = keep(t, &nodes, shown, nshown, e);
out:
	while (m.sp)  /* after a failure: the open nodes' links */
		free(m.o[--m.sp].link);
	free(m.o);
	free(m.ev);
	free(m.heap);
	free(shown);
	buf_release(&m.rec);
	xsort_release(&x);
	spill_log_release(&chg);
	spill_log_release(&nodes);
	if (r < 0)
		tree_release(t);
	return r;
}

void tree_release(struct tree *t)
{
	size_t i;

	for (i = 0; i < t->len; i++)
		free((char *)t->v[i].path);
	for (i = 0; i < t->ndirs; i++)
		free(t->dirs[i].path);
	free(t->v);
	free(t->ev);
	free(t->hid);
	memset(t, 0, sizeof(*t));
}
