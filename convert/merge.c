/* merge.c - the merged view of an image's layers, top-down; see merge.h. */
#include "convert/merge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/fsutil.h"
#include "common/strmap.h"
#include "formats/layerfs.h"

#define NONE (-1)

/* What the layers above (and the current one, so far) did at one path.
 * Each field is the topmost layer that did it: layers are read top-down,
 * so the first value set is the topmost and is never changed.  Layers are
 * int16_t (merge_run refuses more than INT16_MAX): 20 bytes a path (its
 * hides, rare, are in struct merge's hmap). */
struct node {
	int16_t any;     /* an entry here (not a whiteout) */
	int16_t nondir;  /* a non-directory entry here */
	int16_t wh;      /* a whiteout of this path */
	int16_t opq;     /* an opaque marker in this directory */
	int16_t desc;    /* an entry or whiteout below this path */
	int16_t now;     /* the layer of the last entry here, read in order ... */
	bool now_nondir; /* ... and whether it was a non-directory (the later one wins) */
	int16_t ln_layer; /* the layer ln is of: an ln of another layer is stale */
	uint32_t ln;     /* the layer ln_layer's lnode at this path: its index + 1, LN_SELF, or 0 */
};

#define LN_SELF UINT32_MAX  /* a file of layer ln_layer emitted under this path (struct lnode) */

/* One hide, on a path's list: a whiteout (the path and below), an opaque
 * marker or a non-directory (below only), by a layer.  Hardlinks waiting in
 * a layer above for a target below are checked against these when the
 * target is found, so no hide ever scans the waiting links.  Only a link
 * of a layer above the hide's ever asks (hidden_between), so a layer read
 * while no link of a layer above waits records none (struct merge's
 * pending_top): an image without such links keeps no hide at all. */
struct hide {
	uint32_t next;
	int16_t layer;
	bool self;
};

/* A regular file or hardlink of the layer being read: where its content is,
 * found from its path's node (struct node.ln): 12 bytes a file (pass()
 * refuses a layer of UINT32_MAX entries, group_new() INT32_MAX groups).
 * The common case, a file whose content went out under its own name, has
 * none: its node's ln is LN_SELF, and ln_find() makes the lnode it stands
 * for ({ .out = node + 1 }) only when a hardlink names the file. */
struct lnode {
	uint32_t index;       /* files: entry number in the layer */
	uint32_t out;         /* the path the content went out under: its node + 1, or 0 */
	uint32_t group : 31;  /* waiting names: a group (+1), or 0 */
	uint32_t special : 1; /* a symlink, device or fifo (a hardlink may name one too) */
};

/* Names waiting for one content: "pending" ones for a target in the layers
 * below `layer`; "reread" ones for a file of the current layer that was not
 * emitted (the layer is read again for it). */
struct group {
	char *target;
	int32_t layer;
	uint64_t index;  /* reread: entry number of the file */
	bool pending, open;
	size_t next;     /* pending: next group with the same target (+1) */
	char **names;
	size_t n, alloc;
};

struct merge {
	const struct merge_layers *ml;
	const struct merge_out *out;
	struct merge_stats *st;
	struct diag *d;
	struct limits lim;
	struct ntree *tree;           /* every path seen, each name once; its state a struct node */
	struct hide *hides;
	size_t nhides, ahides;
	/* each path's hides: node + 1 -> its latest hide + 1 (open addressing,
	 * at most half full); only the paths with one have a slot */
	uint32_t *hkey, *hval;
	size_t nhkeys, nhslots;
	int32_t pending_top;          /* the layer of the first pending group (the topmost), or NONE */
	struct lnode *ln;             /* the current layer's, found by node (struct node.ln) */
	size_t nln, aln;
	struct strmap pending;        /* target -> first pending group + 1 */
	struct group *g;
	size_t ng, ag;
	/* ancestors() of the last entry: a tar lists a directory's entries
	 * together, so the next walk starts at the same directory.  Valid for
	 * one layer: what hides an ancestor from it is set by the layers above,
	 * already read.  Kept only for a chain where no ancestor is one of this
	 * layer's non-directories (the check ancestors() makes), and no entry
	 * can make one of them so: an entry's own walk first moves the cache to
	 * its parent, which is not below it. */
	struct ntree_dir last;
	int32_t last_layer;
	bool last_hidden;             /* what its chain contributes to *hidden */
};

#define IDX(p) ((size_t)(uintptr_t)(p))
#define PTR(i) ((void *)(uintptr_t)(i))

#define NODE(m, i) ((struct node *)ntree_data((m)->tree, (i)))

/* The node of child comp of parent (made when missing); NTREE_NONE on error. */
static uint32_t node_child(struct merge *m, uint32_t parent, const char *comp, size_t len, struct strata_err *e)
{
	return ntree_child(m->tree, parent, comp, len, true, e);
}

static size_t hslot(const struct merge *m, uint32_t node)
{
	size_t k = (size_t)((node + 1u) * 2654435761u) & (m->nhslots - 1);

	while (m->hkey[k] && m->hkey[k] != node + 1)
		k = (k + 1) & (m->nhslots - 1);
	return k;
}

/* The latest hide of a path + 1, or 0. */
static uint32_t hides_of(const struct merge *m, uint32_t node)
{
	return m->nhslots ? m->hval[hslot(m, node)] : 0;
}

static int hides_set(struct merge *m, uint32_t node, uint32_t first, struct strata_err *e)
{
	size_t k;

	if ((m->nhkeys + 1) * 2 > m->nhslots) {
		size_t ns = m->nhslots ? m->nhslots * 2 : 64, i, old = m->nhslots;
		uint32_t *ok = m->hkey, *ov = m->hval;

		if (!(m->hkey = calloc(ns, sizeof(*m->hkey))) || !(m->hval = calloc(ns, sizeof(*m->hval)))) {
			free(m->hkey);
			m->hkey = ok;
			m->hval = ov;
			return err_nomem(e, "merge");
		}
		m->nhslots = ns;
		for (i = 0; i < old; i++)
			if (ok[i]) {
				k = hslot(m, ok[i] - 1);
				m->hkey[k] = ok[i];
				m->hval[k] = ov[i];
			}
		free(ok);
		free(ov);
	}
	k = hslot(m, node);
	if (!m->hkey[k]) {
		m->hkey[k] = node + 1;
		m->nhkeys++;
	}
	m->hval[k] = first;
	return 0;
}

static int hide_add(struct merge *m, uint32_t node, int32_t layer, bool self, struct strata_err *e)
{
	struct hide *h;

	if (m->pending_top <= layer)
		return 0;  /* no link of a layer above waits: none will ever ask (struct hide) */
	if (m->nhides >= UINT32_MAX - 1 || array_grow(&m->hides, m->nhides, &m->ahides, sizeof(*m->hides), 256) < 0)
		return err_nomem(e, "merge");  /* hides are named by uint32 indices */
	h = &m->hides[m->nhides];
	h->layer = (int16_t)layer;
	h->self = self;
	h->next = hides_of(m, node);
	if (hides_set(m, node, (uint32_t)(m->nhides + 1), e) < 0)
		return -e->code;
	m->nhides++;
	return 0;
}

/* The layer strictly between below and above that hid `target` (node t),
 * or NONE. */
static int32_t hidden_between(const struct merge *m, uint32_t t, int32_t below, int32_t above)
{
	bool self = true;

	for (;;) {
		uint32_t hi;

		for (hi = hides_of(m, t); hi; hi = m->hides[hi - 1].next) {
			const struct hide *h = &m->hides[hi - 1];

			if ((self ? h->self : true) && h->layer > below && h->layer < above)
				return h->layer;
		}
		if (!t)
			return NONE;
		t = ntree_parent(m->tree, t);
		self = false;
	}
}

static void set_once(int16_t *f, int32_t layer)
{
	if (*f == NONE)
		*f = (int16_t)layer;
}

static struct lnode *ln_add(struct merge *m, uint32_t node, int32_t layer, struct strata_err *e)
{
	if (array_grow(&m->ln, m->nln, &m->aln, sizeof(*m->ln), 1024) < 0) {
		err_nomem(e, "merge");
		return NULL;
	}
	if (m->nln >= UINT32_MAX - 1) {
		err_set(e, STRATA_EFORMAT, "too many files in one layer");
		return NULL;
	}
	memset(&m->ln[m->nln], 0, sizeof(m->ln[0]));
	NODE(m, node)->ln = (uint32_t)(m->nln + 1);  /* a later entry at the path wins */
	NODE(m, node)->ln_layer = (int16_t)layer;
	return &m->ln[m->nln++];
}

/* *out: the lnode of layer (the current one) at path, or NULL.  0, or <0
 * with e when out of memory making the one an LN_SELF stands for. */
static int ln_find(struct merge *m, const char *path, int32_t layer, struct lnode **out, struct strata_err *e)
{
	uint32_t i = ntree_path(m->tree, path, false, NULL);

	*out = NULL;
	if (i == NTREE_NONE || !NODE(m, i)->ln || NODE(m, i)->ln_layer != layer)
		return 0;
	if (NODE(m, i)->ln != LN_SELF) {
		*out = &m->ln[NODE(m, i)->ln - 1];
		return 0;
	}
	if (!(*out = ln_add(m, i, layer, e)))
		return -e->code;
	(*out)->out = i + 1;
	return 0;
}

/* Node i holds a file of layer whose content went out under its name. */
static void ln_self(struct merge *m, uint32_t i, int32_t layer)
{
	NODE(m, i)->ln = LN_SELF;
	NODE(m, i)->ln_layer = (int16_t)layer;
}

/* The path of node i (+1) into buf (LFS_PATH_MAX bytes: merge takes no longer names). */
static const char *out_name(struct merge *m, uint32_t out, char *buf)
{
	return ntree_pathname(m->tree, out - 1, buf, LFS_PATH_MAX) < LFS_PATH_MAX ? buf : "";
}

/* The layer is done: its lnodes go (the nodes' ln are stale by their ln_layer). */
static void cur_reset(struct merge *m)
{
	m->nln = 0;
}

static size_t group_new(struct merge *m, const char *target, int32_t layer, bool pending, struct strata_err *e)
{
	struct group *g;

	if (array_grow(&m->g, m->ng, &m->ag, sizeof(*m->g), 16) < 0) {
		err_nomem(e, "merge");
		return 0;
	}
	if (m->ng >= INT32_MAX - 1) {
		err_set(e, STRATA_EFORMAT, "too many hardlinks waiting for their targets");
		return 0;
	}
	g = &m->g[m->ng];
	memset(g, 0, sizeof(*g));
	if (target && !(g->target = strdup(target))) {
		err_nomem(e, "merge");
		return 0;
	}
	g->layer = layer;
	g->pending = pending;
	g->open = true;
	return ++m->ng;
}

static int group_add(struct merge *m, size_t gi, const char *name, struct strata_err *e)
{
	struct group *g = &m->g[gi - 1];

	if (array_grow(&g->names, g->n, &g->alloc, sizeof(*g->names), 4) < 0)
		return err_nomem(e, "merge");
	if (!(g->names[g->n] = strdup(name)))
		return err_nomem(e, "merge");
	g->n++;
	return 0;
}

/* Move every name of group `from` into `to`, closing `from`. */
static int group_move(struct merge *m, size_t from, size_t to, struct strata_err *e)
{
	struct group *f = &m->g[from - 1];
	size_t i;
	int r;

	for (i = 0; i < f->n; i++)
		if ((r = group_add(m, to, f->names[i], e)) < 0)
			return r;
	f->open = false;
	return 0;
}

/* The pending group for `target` made at `layer`, created when missing. */
static size_t pending_for(struct merge *m, const char *target, int32_t layer, struct strata_err *e)
{
	size_t gi = IDX(strmap_get(&m->pending, target)), first = gi;

	for (; gi; gi = m->g[gi - 1].next)
		if (m->g[gi - 1].open && m->g[gi - 1].layer == layer)
			return gi;
	if (!(gi = group_new(m, target, layer, true, e)))
		return 0;
	if (m->pending_top == NONE)
		m->pending_top = layer;  /* layers are read top-down: the first is the topmost */
	m->g[gi - 1].next = first;
	if (strmap_put(&m->pending, target, PTR(gi), e) < 0)
		return 0;
	return gi;
}

/* Take every open pending group (of a layer above `layer`) waiting for
 * `path`, merged into one; 0 when none. */
/* Take every open pending group (of a layer above `layer`) waiting for
 * `path` (node t), merged into one; 0 when none.  A group whose target a
 * layer in between hid has lost it: an error when its names are visible. */
static size_t pending_take(struct merge *m, const char *path, uint32_t t, int32_t layer, struct strata_err *e, int *r)
{
	size_t gi = IDX(strmap_get(&m->pending, path)), head = 0, tail = 0, taken = 0;

	*r = 0;
	if (!gi)
		return 0;
	while (gi) {
		struct group *g = &m->g[gi - 1];
		size_t next = g->next;
		int32_t h;

		if (g->open && g->layer > layer && (h = hidden_between(m, t, layer, g->layer)) != NONE) {
			if (g->n) {
				*r = err_set(e, STRATA_EFORMAT, "%s removes '%s', the target of hardlink '%s' above it",
					     m->ml->name(m->ml->ctx, (size_t)h), g->target, g->names[0]);
				return 0;
			}
			g->open = false;  /* its links are hidden too: nothing waits for it */
		} else if (g->open && g->layer > layer) {
			if (!taken) {
				taken = gi;
			} else if ((*r = group_move(m, gi, taken, e)) < 0) {
				return 0;
			}
		} else if (g->open) {
			g->next = 0;
			if (tail)
				m->g[tail - 1].next = gi;
			else
				head = gi;
			tail = gi;
		}
		gi = next;
	}
	if ((*r = strmap_put(&m->pending, path, PTR(head), e)) < 0)
		return 0;
	if (taken)
		m->g[taken - 1].open = false;
	return taken;
}

static int emit(struct merge *m, const char *name, const struct tar_entry *ent, struct stream *data,
		struct strata_err *e)
{
	m->st->entries_out++;
	if (ent->type == TAR_FILE)
		m->st->bytes_out += ent->size;
	return m->out->entry(m->out->ctx, name, ent, data, e);
}

static int emit_link(struct merge *m, const char *name, const char *target, const struct tar_entry *tmpl,
		     struct strata_err *e)
{
	struct tar_entry l = *tmpl;

	l.type = TAR_HARDLINK;
	l.typeflag = '1';
	l.size = 0;
	l.link = target;
	l.sparse = false;
	return emit(m, name, &l, NULL, e);
}

/* The content of `ent` (a file being read now) goes out under group gi's
 * names: under the first, then hardlinks to it.  Returns the first name. */
static int emit_group(struct merge *m, size_t gi, const struct tar_entry *ent, struct stream *data,
		      const char *already, struct strata_err *e)
{
	struct group *g = &m->g[gi - 1];
	const char *to = already;
	size_t i = 0;
	int r;

	if (!to && g->n) {
		if ((r = emit(m, g->names[0], ent, data, e)) < 0)
			return r;
		to = g->names[0];
		i = 1;
	}
	for (; i < g->n; i++)
		if ((r = emit_link(m, g->names[i], to, ent, e)) < 0)
			return r;
	return 0;
}

/* Give the waiting names of group `from` (may be 0) and `self_name` (may be
 * NULL) the content a hardlink resolves to: lnode `t` of this layer. */
static int deliver(struct merge *m, int32_t layer, struct lnode *t, const char *self_name, size_t from,
		   const struct tar_entry *tmpl, struct strata_err *e)
{
	size_t gi;
	int r;

	if (t->out) {
		char buf[LFS_PATH_MAX];
		const char *to = out_name(m, t->out, buf);

		if (self_name && (r = emit_link(m, self_name, to, tmpl, e)) < 0)
			return r;
		if (from) {
			m->g[from - 1].open = false;
			return emit_group(m, from, tmpl, NULL, to, e);
		}
		return 0;
	}
	if (t->special) {
		/* a hidden symlink, device or fifo: it has no data to read again */
		if (self_name || (from && m->g[from - 1].n))
			return err_set(e, STRATA_EFORMAT, "hardlink '%s': its target, a symlink, device or fifo, is replaced "
				       "by a layer above; strata cannot give the link its old entry",
				       self_name ? self_name : m->g[from - 1].names[0]);
		return 0;
	}
	if (!t->group) {
		/* a file of this layer that was not emitted: read the layer again for it */
		if (!(gi = group_new(m, NULL, layer, false, e)))
			return -e->code;
		m->g[gi - 1].index = t->index;
		t->group = (uint32_t)gi & INT32_MAX;
	}
	if (self_name && (r = group_add(m, t->group, self_name, e)) < 0)
		return r;
	if (from && (r = group_move(m, from, t->group, e)) < 0)
		return r;
	return 0;
}

/* Walk the proper ancestors of `name` (the root first): are they hiding
 * it, and is one a non-directory of this very layer (the last entry there
 * so far)?  Marks them as having entries below; *parent gets the last one. */
static int ancestors(struct merge *m, const char *name, int32_t layer, const char *lname, bool *hidden,
		     uint32_t *parent, struct strata_err *e)
{
	size_t i = 0, n = strlen(name);
	struct node *nd = NODE(m, 0);
	uint32_t cur = 0;
	bool chain = false, clean = true, in = *hidden;

	*parent = 0;
	if (!strcmp(name, "."))
		return 0;
	if (m->last_layer == layer && (i = ntree_dir_start(&m->last, name, n, &cur)) > 0) {
		/* the walk below did this part: desc is set, nothing there errs */
		chain = m->last_hidden;
	} else {
		if (nd->opq > layer || nd->wh > layer)
			chain = true;
		set_once(&nd->desc, layer);
	}
	for (;;) {
		const char *slash = memchr(name + i, '/', n - i);
		size_t len = slash ? (size_t)(slash - (name + i)) : n - i;

		if (!slash)
			break;  /* the last component is not an ancestor */
		if ((cur = node_child(m, cur, name + i, len, e)) == NTREE_NONE)
			return -e->code;
		nd = NODE(m, cur);
		i += len + 1;
		if (nd->nondir > layer || nd->wh > layer || nd->opq > layer) {
			chain = true;
		} else if (nd->now == layer && nd->now_nondir) {
			clean = false;
			if (!chain && !in)
				return err_set(e, STRATA_EFORMAT,
					       "%s: '%s' lies below '%.*s', which is not a directory (a write through a symlink?)",
					       lname, name, (int)(i - 1), name);
		}
		set_once(&nd->desc, layer);
	}
	*parent = cur;
	*hidden = in || chain;
	m->last.len = 0;
	if (clean && i > 0) {
		ntree_dir_keep(&m->last, name, i - 1, cur);
		m->last_layer = layer;
		m->last_hidden = chain;
	}
	return 0;
}

/* The node of the last component of name, below parent. */
static uint32_t last_node(struct merge *m, uint32_t parent, const char *name, struct strata_err *e)
{
	const char *base = strrchr(name, '/');

	if (!strcmp(name, "."))
		return 0;
	base = base ? base + 1 : name;
	return node_child(m, parent, base, strlen(base), e);
}

/* An opaque marker in `dir`: the directory's lower contents are gone. */
static int opaque(struct merge *m, const char *dir, int32_t layer, const char *lname, struct strata_err *e)
{
	bool hidden = false;
	uint32_t parent, d;
	char *marker = strcmp(dir, ".") ? path_join(dir, ".wh..wh..opq") : strdup(".wh..wh..opq");
	int r;

	if (!marker)
		return err_nomem(e, "merge");
	r = ancestors(m, marker, layer, lname, &hidden, &parent, e);
	free(marker);
	if (r < 0)
		return r;
	d = parent;  /* the marker's parent is the directory */
	set_once(&NODE(m, d)->opq, layer);
	return hide_add(m, d, layer, false, e);
}

/* A whiteout of `target`: the path and what is below it, in the layers below. */
static int whiteout(struct merge *m, const char *target, int32_t layer, const char *lname, struct strata_err *e)
{
	bool hidden = false;
	uint32_t parent, t;
	int r;

	if ((r = ancestors(m, target, layer, lname, &hidden, &parent, e)) < 0)
		return r;
	if ((t = last_node(m, parent, target, e)) == NTREE_NONE)
		return -e->code;
	set_once(&NODE(m, t)->wh, layer);
	return hide_add(m, t, layer, true, e);
}

/* The layer model's verdict on one entry alone: the first error refuses it. */
struct verdict {
	char msg[STRATA_ERR_MAX];
	bool bad;
};

static void judge(void *ctx, enum severity sev, const char *msg)
{
	struct verdict *v = ctx;

	if (sev == SEV_ERROR && !v->bad) {
		v->bad = true;
		snprintf(v->msg, sizeof(v->msg), "%s", msg);
	}
}

/* A hardlink at node ni to tgt: delivered now when its target went out in
 * this layer or below, else waiting in the target's pending group. */
static int put_hardlink(struct merge *m, int32_t layer, uint32_t ni, const char *name, const char *tgt, bool visible,
			const struct tar_entry *ent, struct strata_err *e)
{
	struct lnode *lt, *l;
	size_t gi, ti, pg;
	int r = 0;

	gi = pending_take(m, name, ni, layer, e, &r);
	if (r < 0)
		return r;
	if ((r = ln_find(m, tgt, layer, &lt, e)) < 0)
		return r;
	ti = lt ? (size_t)(lt - m->ln) + 1 : 0;  /* an index + 1: ln_add may move the array */
	if (!(l = ln_add(m, ni, layer, e)))
		return -e->code;
	if (ti) {
		lt = &m->ln[ti - 1];
		if ((r = deliver(m, layer, lt, visible ? name : NULL, gi, ent, e)) < 0)
			return r;
		l = &m->ln[m->nln - 1];
		l->group = lt->group;
		l->out = lt->out;
		return 0;
	}
	if (!(pg = pending_for(m, tgt, layer, e)))
		return -e->code;
	l = &m->ln[m->nln - 1];
	l->group = (uint32_t)pg & INT32_MAX;
	if (visible && (r = group_add(m, pg, name, e)) < 0)
		return r;
	return gi ? group_move(m, gi, pg, e) : 0;
}

/* A regular file at node ni (gi: the group of hardlinks that waited for
 * it): written under its name when visible, else under the first waiting
 * link's, else remembered for links to come. */
static int put_file(struct merge *m, int32_t layer, uint64_t index, uint32_t ni, const char *name, bool visible,
		    size_t gi, struct tar *t, const struct tar_entry *ent, const char *lname, struct strata_err *e)
{
	struct lnode *l;
	uint32_t first;
	int r;

	if (ent->sparse && (visible || (gi && m->g[gi - 1].n)))  /* its content would go out, under its name or a link's */
		return err_set(e, STRATA_EFORMAT, "%s: '%s' is a sparse file, which strata does not expand", lname, name);
	if (visible) {
		if ((r = emit(m, name, ent, tar_data(t), e)) < 0)
			return r;
		ln_self(m, ni, layer);
		return gi ? emit_group(m, gi, ent, NULL, name, e) : 0;
	}
	if (!(l = ln_add(m, ni, layer, e)))
		return -e->code;
	l->index = (uint32_t)index;
	if (!gi || !m->g[gi - 1].n)
		return 0;
	if ((r = emit_group(m, gi, ent, tar_data(t), NULL, e)) < 0)
		return r;
	first = ntree_path(m->tree, m->g[gi - 1].names[0], false, NULL);
	l = &m->ln[m->nln - 1];
	l->out = first != NTREE_NONE ? first + 1 : 0;  /* an entry's name: in the tree */
	return 0;
}

/* A directory, symlink, device or fifo at node ni (gi: hardlinks that
 * waited for it, written as copies of it). */
static int put_other(struct merge *m, int32_t layer, uint32_t ni, const char *name, bool visible, size_t gi,
		     const struct tar_entry *ent, const char *lname, struct strata_err *e)
{
	struct lnode *l;
	int r = 0;

	if (gi && m->g[gi - 1].n) {
		struct group *g = &m->g[gi - 1];
		size_t i;

		if (ent->type == TAR_DIR)
			return err_set(e, STRATA_EFORMAT, "%s: hardlink '%s' points to the directory '%s'", lname,
				       g->names[0], name);
		for (i = 0; i < g->n && r == 0; i++)
			r = emit(m, g->names[i], ent, NULL, e);
		if (r < 0)
			return r;
	}
	if (visible && ent->type == TAR_OTHER) {
		diag_add(m->d, SEV_WARNING, STRATA_EFORMAT, "", "%s: '%s' has tar type '%c', which is not a file type; skipped",
			 lname, name, ent->typeflag);
		return 0;
	}
	if (visible && (r = emit(m, name, ent, NULL, e)) < 0)
		return r;
	if (ent->type == TAR_SYMLINK || ent->type == TAR_CHAR || ent->type == TAR_BLOCK || ent->type == TAR_FIFO) {
		/* later hardlinks of this layer may name it (GNU tar links symlinks) */
		if (!(l = ln_add(m, ni, layer, e)))
			return -e->code;
		l->special = true;
		if (visible)
			l->out = ni + 1;
	}
	return 0;
}

static int entry(struct merge *m, int32_t layer, uint64_t index, struct tar *t, const struct tar_entry *ent,
		 const char *lname, struct strata_err *e)
{
	struct verdict vd = { "", false };
	struct lfs_report rep = { &vd, judge };
	struct lfs_name nm;
	const char *name;
	bool hidden = false, is_dir = ent->type == TAR_DIR;
	struct node *n;
	uint32_t parent, ni;
	size_t gi;
	int r = 0;

	if ((r = lfs_classify(ent, &nm, &rep, e)) < 0)
		return r;
	name = nm.name;
	if (vd.bad) {
		r = err_set(e, STRATA_EFORMAT, "%s: %s", lname, vd.msg);
		goto out;
	}
	if (nm.kind == LFS_META)
		goto out;  /* AUFS bookkeeping: not part of the tree */
	if (nm.kind == LFS_WHITEOUT || nm.kind == LFS_OPAQUE) {
		r = nm.kind == LFS_OPAQUE ? opaque(m, name, layer, lname, e) : whiteout(m, name, layer, lname, e);
		goto out;
	}
	if ((r = ancestors(m, name, layer, lname, &hidden, &parent, e)) < 0)
		goto out;
	if ((ni = last_node(m, parent, name, e)) == NTREE_NONE) {
		r = -e->code;
		goto out;
	}
	n = NODE(m, ni);
	if (n->any > layer || n->wh > layer)
		hidden = true;
	if (!hidden && !is_dir && n->desc >= layer) {
		r = err_set(e, STRATA_EFORMAT, "%s: '%s' is a %s, but %s entries below it (a write through a symlink?)",
			    lname, name, ent->type == TAR_SYMLINK ? "symlink" : "non-directory",
			    n->desc > layer ? "a layer above has" : "the layer has");
		goto out;
	}
	set_once(&n->any, layer);
	n->now = (int16_t)layer;
	n->now_nondir = !is_dir;
	if (!is_dir) {
		set_once(&n->nondir, layer);
		if ((r = hide_add(m, ni, layer, false, e)) < 0)
			goto out;
	}
	if (hidden)
		m->st->hidden++;
	if (ent->type == TAR_HARDLINK) {
		r = put_hardlink(m, layer, ni, name, nm.link, !hidden, ent, e);
		goto out;
	}
	gi = pending_take(m, name, ni, layer, e, &r);
	if (r == 0)
		r = ent->type == TAR_FILE ? put_file(m, layer, index, ni, name, !hidden, gi, t, ent, lname, e)
					  : put_other(m, layer, ni, name, !hidden, gi, ent, lname, e);
out:
	lfs_name_release(&nm);
	return r;
}

static int cmp_index(const void *a, const void *b)
{
	const struct group *x = *(struct group *const *)a, *y = *(struct group *const *)b;

	return x->index < y->index ? -1 : x->index > y->index;
}

/* One pass over layer i: every entry (first pass), or only the files that
 * hidden names still need (again). */
static int pass(struct merge *m, int32_t layer, bool again, struct group **want, size_t nwant, struct strata_err *e)
{
	const struct merge_layers *ml = m->ml;
	const char *lname = ml->name(ml->ctx, (size_t)layer);
	struct stream *s = NULL;
	struct tar *t = NULL;
	struct tar_entry *ent;
	uint64_t index = 0;
	size_t w = 0;
	int r, rc;

	if ((r = ml->open(ml->ctx, (size_t)layer, again, &s, e)) < 0)
		return err_wrap(e, "%s", lname);
	if ((r = tar_open(&t, s, &m->lim, e)) == 0) {  /* the reader bounds the entries */
		while ((r = tar_next(t, &ent, e)) == 1) {
			if (index >= UINT32_MAX) {
				r = err_set(e, STRATA_EFORMAT, "%s: more than %u entries in one layer", lname, UINT32_MAX - 1);
				break;
			}
			if (!again) {
				m->st->entries_in++;
				r = entry(m, layer, index, t, ent, lname, e);
			} else {
				r = 0;
				if (w < nwant && want[w]->index == index) {
					if (ent->type != TAR_FILE)
						r = err_set(e, STRATA_EFORMAT, "%s: entry %llu changed between two reads", lname,
							    (unsigned long long)index);
					else if (ent->sparse)
						r = err_set(e, STRATA_EFORMAT,
							    "%s: '%s' is a sparse file, which strata does not expand", lname,
							    ent->path);
					else
						r = emit_group(m, (size_t)(want[w] - m->g) + 1, ent, tar_data(t), NULL, e);
					w++;
				}
			}
			if (r < 0)
				break;
			index++;
		}
		if (r < 0 && !strstr(e->msg, lname))
			err_wrap(e, "%s", lname);
	} else {
		err_wrap(e, "%s", lname);
	}
	tar_free(t);
	{
		struct strata_err ce = STRATA_ERR_INIT;

		rc = ml->close(ml->ctx, (size_t)layer, again, r >= 0, r < 0 ? &ce : e);
	}
	if (r >= 0 && rc < 0)
		return rc;
	if (r >= 0 && again && w < nwant)
		return err_set(e, STRATA_EFORMAT, "%s: changed between two reads", lname);
	return r < 0 ? r : 0;
}

static int reread(struct merge *m, int32_t layer, struct strata_err *e)
{
	struct group **want = NULL;
	size_t i, n = 0;
	int r;

	for (i = 0; i < m->ng; i++)
		if (!m->g[i].pending && m->g[i].open && m->g[i].layer == layer && m->g[i].n)
			n++;
	if (!n)
		return 0;
	if (!(want = calloc(n, sizeof(*want))))
		return err_nomem(e, "merge");
	for (i = 0, n = 0; i < m->ng; i++)
		if (!m->g[i].pending && m->g[i].open && m->g[i].layer == layer && m->g[i].n)
			want[n++] = &m->g[i];
	qsort(want, n, sizeof(*want), cmp_index);
	m->st->rereads++;
	r = pass(m, layer, true, want, n, e);
	for (i = 0; i < n; i++)
		want[i]->open = false;
	free(want);
	return r;
}

int merge_run(const struct merge_layers *ml, const struct merge_out *out, const struct limits *lim,
	      struct merge_stats *st, struct diag *d, struct strata_err *e)
{
	struct merge m = { 0 };
	int32_t layer;
	size_t i;
	int r = 0;

	memset(st, 0, sizeof(*st));
	m.ml = ml;
	m.out = out;
	m.st = st;
	m.d = d;
	m.lim = limits_resolve(lim);
	m.pending_top = NONE;
	if (ml->n > INT16_MAX)
		return err_set(e, STRATA_EFORMAT, "%zu layers: merge takes at most %d", ml->n, INT16_MAX);
	{
		static const struct node fresh = { NONE, NONE, NONE, NONE, NONE, NONE, false, NONE, 0 };

		if ((r = ntree_new(&m.tree, sizeof(struct node), &fresh, e)) < 0)
			return r;
	}
	for (layer = (int32_t)ml->n - 1; layer >= 0 && r == 0; layer--) {
		if ((r = pass(&m, layer, false, NULL, 0, e)) == 0)
			r = reread(&m, layer, e);
		cur_reset(&m);
	}
	for (i = 0; r == 0 && i < m.ng; i++)
		if (m.g[i].open && m.g[i].pending && m.g[i].n)
			r = err_set(e, STRATA_EFORMAT, "%s: hardlink '%s' -> '%s': the target is in no layer below",
				    ml->name(ml->ctx, (size_t)m.g[i].layer), m.g[i].names[0], m.g[i].target);
	for (i = 0; i < m.ng; i++) {
		size_t j;

		for (j = 0; j < m.g[i].n; j++)
			free(m.g[i].names[j]);
		free(m.g[i].names);
		free(m.g[i].target);
	}
	free(m.g);
	cur_reset(&m);
	free(m.ln);
	ntree_free(m.tree);
	free(m.hides);
	free(m.hkey);
	free(m.hval);
	strmap_release(&m.pending);
	return r;
}
