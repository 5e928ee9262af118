/* layerfs.c - the meaning of layer entries, alone and stacked; see layerfs.h. */
#include "formats/layerfs.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cancel.h"
#include "common/buf.h"
#include "common/fsutil.h"
#include "common/pages.h"

/* ---- one entry ---- */

static void say(const struct lfs_report *rep, enum severity sev, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(const struct lfs_report *rep, enum severity sev, const char *fmt, ...)
{
	char msg[STRATA_ERR_MAX];
	va_list ap;

	if (!rep || !rep->fn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rep->fn(rep->ctx, sev, msg);
}

bool lfs_meta_name(const char *name)
{
	const char *p = name;

	for (;;) {
		if (!strncmp(p, ".wh.", 4))
			return true;
		if (!(p = strchr(p, '/')))
			return false;
		p++;
	}
}

void lfs_name_release(struct lfs_name *n)
{
	free(n->name);
	free(n->link);
	n->name = n->link = NULL;
}

static const char *type_name(enum tar_type t)
{
	static const char *const names[] = { "regular file", "hardlink", "symlink", "character device",
					     "block device", "directory", "fifo", "special entry" };

	return names[t <= TAR_OTHER ? t : TAR_OTHER];
}

int lfs_classify(const struct tar_entry *ent, struct lfs_name *out, const struct lfs_report *rep,
		 struct strata_err *e)
{
	const char *raw = ent->path, *base, *rest;
	bool abs = raw[0] == '/';
	char *clean;

	memset(out, 0, sizeof(*out));
	if (!(clean = path_clean(abs ? raw + strspn(raw, "/") : raw)))
		return err_nomem(e, "path");
	out->name = clean;
	out->kind = LFS_SKIP;
	if (!path_is_local(clean)) {
		say(rep, SEV_ERROR, "unsafe path '%s': leaves the root", raw);
		return 0;
	}
	if (!strcmp(clean, ".")) {
		if (ent->type != TAR_DIR)
			say(rep, SEV_ERROR, "root entry '%s' is a %s, not a directory", raw, type_name(ent->type));
		else
			out->kind = LFS_ROOT;
		return 0;
	}
	if (abs)  /* judged as if relative, so what it would do is still checked */
		say(rep, SEV_ERROR, "unsafe path '%s': absolute path in layer", raw);
	/* Linux takes no longer name or link target (PATH_MAX): no runtime can
	 * create it, and every tool would read such a layer differently */
	if (strlen(raw) >= LFS_PATH_MAX)
		say(rep, SEV_ERROR, "name of %zu bytes ('%.64s...') is longer than PATH_MAX (%d): no extractor can create it",
		    strlen(raw), raw, LFS_PATH_MAX);
	else if (strlen(ent->link) >= LFS_PATH_MAX)
		say(rep, SEV_ERROR, "link target of '%s' has %zu bytes, more than PATH_MAX (%d): no extractor can create it",
		    raw, strlen(ent->link), LFS_PATH_MAX);
	base = strrchr(clean, '/');
	base = base ? base + 1 : clean;
	if (strncmp(base, ".wh.", 4)) {
		if (lfs_meta_name(clean)) {
			out->kind = LFS_META;  /* below AUFS bookkeeping (.wh..wh.plnk/...) */
			return 0;
		}
		out->kind = LFS_ENTRY;
		if (ent->type == TAR_SYMLINK && !ent->link[0])
			say(rep, SEV_WARNING, "symlink '%s' has an empty target", raw);
		if (ent->type == TAR_HARDLINK) {
			/* kaniko writes absolute hardlink targets; Docker maps them into the root */
			const char *l = ent->link + strspn(ent->link, "/");

			if (!(out->link = path_clean(l))) {
				lfs_name_release(out);
				return err_nomem(e, "path");
			}
			if (!*l || !path_is_local(out->link) || !strcmp(out->link, ".")) {
				say(rep, SEV_ERROR, "hardlink '%s' -> '%s' points outside the root", raw, ent->link);
				out->kind = LFS_SKIP;
			}
		}
		if (ent->sparse)
			say(rep, SEV_WARNING, "sparse file '%s' (OCI layers should not use sparse members)", raw);
		return 0;
	}
	rest = base + 4;
	if (!*rest) {
		say(rep, SEV_ERROR, "invalid whiteout '%s': '.wh.' names nothing", raw);
		return 0;
	}
	if (!strcmp(rest, ".") || !strcmp(rest, "..")) {
		say(rep, SEV_ERROR, "whiteout '%s' escapes its directory", raw);
		return 0;
	}
	if (base != clean) {
		bool meta;

		clean[base - clean - 1] = '\0';
		meta = lfs_meta_name(clean);
		clean[base - clean - 1] = '/';
		if (meta) {
			out->kind = LFS_META;  /* a whiteout inside AUFS bookkeeping */
			return 0;
		}
	}
	if (!strcmp(rest, ".wh..opq")) {
		out->kind = LFS_OPAQUE;
		if (base == clean)
			memcpy(clean, ".", 2);  /* the name was at least ".wh..wh..opq" */
		else
			clean[base - clean - 1] = '\0';
		return 0;
	}
	if (!strncmp(rest, ".wh.", 4)) {
		out->kind = LFS_META;  /* .wh..wh.plnk, .wh..wh.aufs */
		return 0;
	}
	if (ent->type != TAR_FILE)
		say(rep, SEV_WARNING, "whiteout '%s' is not a regular file", raw);
	out->kind = LFS_WHITEOUT;
	memmove(clean + (base - clean), rest, strlen(rest) + 1);  /* dir/.wh.name -> dir/name */
	return 0;
}

/* ---- the tree of names ---- */

#define NIL 0u          /* in the child tables: empty (the root is never a child) */

/* A node is its parent, its name, and the table of its children: 16 bytes,
 * in pages (common/pages.h) like everything else of the tree.  name is an
 * offset in names, where it ends with a NUL (no name holds one), or with
 * LONG_NAME set an index in longs (a name too long for a page's quarter,
 * which only a hostile archive has).  A node's children are found in a
 * table of its own, open addressing, cap_of(nchild) slots at tab (in
 * slots, + 1; 0: none) in tabs: the children of a directory, which a tar
 * lists together, are looked up in one place.  A table that grows is made
 * again, and the old one goes on a list of free tables of its size (its
 * first slot's node the next one's tab), which the next table of that size
 * is taken from. */
struct tnode {
	uint32_t parent;
	uint32_t name;
	uint32_t tab;
	uint32_t nchild;
};

#define LONG_NAME 0x80000000u
#define LONG_MIN (PAGE_SIZE / 4)

/* A child table's slot: the child and the low 32 bits of its name's hash
 * (where it goes, and a check before its name is compared). */
struct tslot {
	uint32_t node;
	uint32_t fp;
};

struct ntree {
	struct page_pool *pool;
	struct page_arr nodes;         /* struct tnode */
	struct page_arr names;         /* each name and its NUL, none across a page */
	struct page_arr tabs;          /* struct tslot */
	struct page_arr data;          /* the caller's state, stride bytes a node */
	size_t len, nlen, ntabs, stride, dsize;
	char *init;                    /* what a new node's state starts as */
	char **longs;                  /* the long names */
	size_t nlongs, alongs;
	uint32_t tfree[32];            /* by log2 of the slots: the tab of a free table, 0: none */
	struct ntree_dir last;         /* of the last path ntree_path() walked */
};

static uint32_t hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
	return (uint32_t)(h ^ (h >> 32));
}

/* The slots of a table for n children: at most three quarters full, 4 at
 * least (linear probing stays within a page or two of slots). */
static size_t cap_of(uint32_t n)
{
	size_t c = 4;

	if (!n)
		return 0;
	while (c / 4 * 3 < (size_t)n)
		c *= 2;
	return c;
}

static struct tnode *tn(const struct ntree *t, uint32_t i)
{
	return page_at((struct page_arr *)&t->nodes, (uint64_t)i * sizeof(struct tnode));
}

static struct tslot *slot_at(const struct ntree *t, uint64_t s)
{
	return page_at((struct page_arr *)&t->tabs, s * sizeof(struct tslot));
}

static const char *name_of(const struct ntree *t, uint32_t name)
{
	if (name & LONG_NAME)
		return t->longs[name & ~LONG_NAME];
	return page_at((struct page_arr *)&t->names, name);
}

int ntree_new(struct ntree **out, size_t dsize, const void *init, struct strata_err *e)
{
	struct ntree *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (!t)
		return err_nomem(e, "name tree");
	t->dsize = dsize ? dsize : 1;
	for (t->stride = 1; t->stride < t->dsize; t->stride *= 2)
		;
	if (t->stride > PAGE_SIZE) {
		free(t);
		return err_set(e, STRATA_EFORMAT, "name tree: %zu bytes of state a node is too many", dsize);
	}
	if (page_pool_new(&t->pool, 0, e) < 0) {
		free(t);
		return -e->code;
	}
	page_arr_init(&t->nodes, t->pool);
	page_arr_init(&t->names, t->pool);
	page_arr_init(&t->tabs, t->pool);
	page_arr_init(&t->data, t->pool);
	if (!(t->init = calloc(1, t->dsize))) {
		ntree_free(t);
		return err_nomem(e, "name tree");
	}
	if (page_arr_reserve(&t->nodes, sizeof(struct tnode), e) < 0 || page_arr_reserve(&t->data, t->stride, e) < 0) {
		ntree_free(t);
		return -e->code;
	}
	if (init)
		memcpy(t->init, init, dsize);
	memcpy(ntree_data(t, 0), t->init, t->dsize);  /* the root */
	t->ntabs = 1;  /* slot 0 is no table's */
	t->len = 1;
	*out = t;
	return 0;
}

void *ntree_data(const struct ntree *t, uint32_t i)
{
	return page_at((struct page_arr *)&t->data, (uint64_t)i * t->stride);
}

void ntree_free(struct ntree *t)
{
	size_t i;

	if (!t)
		return;
	page_arr_release(&t->nodes);
	page_arr_release(&t->names);
	page_arr_release(&t->tabs);
	page_arr_release(&t->data);
	page_pool_free(t->pool);
	for (i = 0; i < t->nlongs; i++)
		free(t->longs[i]);
	free(t->longs);
	free(t->init);
	free(t);
}

int ntree_check(const struct ntree *t, struct strata_err *e)
{
	return page_pool_check(t->pool, e);
}

size_t ntree_len(const struct ntree *t)
{
	return t->len;
}

uint32_t ntree_parent(const struct ntree *t, uint32_t i)
{
	return tn(t, i)->parent;
}

size_t ntree_pathname(const struct ntree *t, uint32_t i, char *buf, size_t size)
{
	size_t len = 0, at;
	uint32_t j;

	if (!i) {
		if (size < 2)
			return size;
		memcpy(buf, ".", 2);
		return 1;
	}
	for (j = i; j; j = tn(t, j)->parent)  /* the length first: the names are then copied in place */
		len += strlen(name_of(t, tn(t, j)->name)) + 1;
	if (len > size || !size)
		return size > len ? size : len;
	at = len - 1;
	buf[at] = '\0';
	for (j = i; j; j = tn(t, j)->parent) {
		const char *nm = name_of(t, tn(t, j)->name);
		size_t nl = strlen(nm);

		at -= nl;
		memcpy(buf + at, nm, nl);
		if (at)
			buf[--at] = '/';
	}
	return len - 1;
}

static unsigned log2_of(size_t c)
{
	unsigned l = 0;

	while (((size_t)1 << l) < c)
		l++;
	return l;
}

/* The slot of a table of c slots, all NIL: a free one, or a new one at the
 * end of tabs.  0, or <0 with e. */
static int new_table(struct ntree *t, size_t c, uint64_t *at, struct strata_err *e)
{
	uint32_t *head = &t->tfree[log2_of(c)];
	size_t k;

	if (*head) {
		*at = *head - 1;
		*head = slot_at(t, *at)->node;
		for (k = 0; k < c; k++)
			*slot_at(t, *at + k) = (struct tslot){ NIL, 0 };
		return 0;
	}
	*at = t->ntabs;
	if (*at + c > UINT32_MAX)
		return err_set(e, STRATA_EFORMAT, "too many paths in the layers");
	if (page_arr_reserve(&t->tabs, (*at + c) * sizeof(struct tslot), e) < 0)
		return -e->code;
	t->ntabs += c;
	return 0;
}

/* The children of parent (nchild of them, in the table at tab) in a new
 * table for one more; the old one is free. */
static int grow_table(struct ntree *t, uint32_t parent, struct strata_err *e)
{
	struct tnode pn = *tn(t, parent);
	size_t oc = cap_of(pn.nchild), nc = cap_of(pn.nchild + 1), k;
	uint64_t at;

	if (new_table(t, nc, &at, e) < 0)
		return -e->code;
	for (k = 0; k < oc; k++) {
		struct tslot o = *slot_at(t, pn.tab - 1 + k);
		size_t m;

		if (o.node == NIL)
			continue;
		for (m = o.fp & (nc - 1); slot_at(t, at + m)->node != NIL; m = (m + 1) & (nc - 1))
			;
		*slot_at(t, at + m) = o;
	}
	if (oc) {
		uint32_t *head = &t->tfree[log2_of(oc)];

		*slot_at(t, pn.tab - 1) = (struct tslot){ *head, 0 };
		*head = pn.tab;
	}
	tn(t, parent)->tab = (uint32_t)(at + 1);
	return 0;
}

/* Place a name of n bytes (and its NUL): its struct tnode name. */
static int put_name(struct ntree *t, const char *s, size_t n, uint32_t *out, struct strata_err *e)
{
	char *p;

	if (n + 1 > LONG_MIN) {
		if (t->nlongs >= LONG_NAME - 1 || array_grow(&t->longs, t->nlongs, &t->alongs, sizeof(*t->longs), 16) < 0 ||
		    !(p = malloc(n + 1)))
			return err_nomem(e, "name tree");
		memcpy(p, s, n);
		p[n] = '\0';
		t->longs[t->nlongs] = p;
		*out = LONG_NAME | (uint32_t)t->nlongs++;
		return 0;
	}
	if ((t->nlen & (PAGE_SIZE - 1)) + n + 1 > PAGE_SIZE)  /* not across a page */
		t->nlen = (t->nlen + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	if (t->nlen + n + 1 >= LONG_NAME)
		return err_set(e, STRATA_EFORMAT, "too many paths in the layers");
	if (page_arr_reserve(&t->names, t->nlen + n + 1, e) < 0)
		return -e->code;
	p = page_at(&t->names, t->nlen);
	memcpy(p, s, n);
	p[n] = '\0';
	*out = (uint32_t)t->nlen;
	t->nlen += n + 1;
	return 0;
}

uint32_t ntree_child(struct ntree *t, uint32_t parent, const char *s, size_t n, bool create, struct strata_err *e)
{
	uint32_t fp = hash(s, n), name = 0;
	struct tnode pn = *tn(t, parent);
	size_t cap = cap_of(pn.nchild), k;
	struct tnode *x;

	for (k = fp & (cap - 1); cap; k = (k + 1) & (cap - 1)) {
		struct tslot sl = *slot_at(t, pn.tab - 1 + k);
		const char *nm;

		if (sl.node == NIL)
			break;
		if (sl.fp != fp)
			continue;
		nm = name_of(t, tn(t, sl.node)->name);
		if (!strncmp(nm, s, n) && !nm[n])
			return sl.node;
	}
	if (!create)
		return NTREE_NONE;
	if (memchr(s, '\0', n))
		return err_set(e, STRATA_EFORMAT, "a name holds a NUL byte"), NTREE_NONE;
	if (t->len >= UINT32_MAX - 1 || pn.nchild >= UINT32_MAX / 4)
		return err_set(e, STRATA_EFORMAT, "too many paths in the layers"), NTREE_NONE;
	if (page_pool_check(t->pool, e) < 0)
		return NTREE_NONE;
	/* what can fail first: a table's size follows from nchild, so it grows
	 * only when the child will be added */
	if (put_name(t, s, n, &name, e) < 0 ||
	    page_arr_reserve(&t->nodes, (uint64_t)(t->len + 1) * sizeof(struct tnode), e) < 0 ||
	    page_arr_reserve(&t->data, (uint64_t)(t->len + 1) * t->stride, e) < 0)
		return NTREE_NONE;
	if (cap_of(pn.nchild + 1) != cap) {
		if (grow_table(t, parent, e) < 0)
			return NTREE_NONE;
		pn = *tn(t, parent);
		cap = cap_of(pn.nchild + 1);
	}
	for (k = fp & (cap - 1); slot_at(t, pn.tab - 1 + k)->node != NIL; k = (k + 1) & (cap - 1))
		;
	*slot_at(t, pn.tab - 1 + k) = (struct tslot){ (uint32_t)t->len, fp };
	tn(t, parent)->nchild++;
	x = tn(t, (uint32_t)t->len);
	*x = (struct tnode){ parent, name, 0, 0 };
	memcpy(ntree_data(t, (uint32_t)t->len), t->init, t->dsize);
	return (uint32_t)t->len++;
}

/* Length of the component of s at *i (advancing *i past it and its slash). */
static size_t component(const char *s, size_t *i, size_t n)
{
	const char *slash = memchr(s + *i, '/', n - *i);
	size_t len = slash ? (size_t)(slash - (s + *i)) : n - *i;

	*i += len + (slash ? 1 : 0);
	return len;
}

uint32_t ntree_path(struct ntree *t, const char *path, bool create, struct strata_err *e)
{
	size_t i = 0, n = strlen(path), last = 0;
	uint32_t cur = 0, up = 0;

	if (!strcmp(path, "."))
		return 0;
	i = ntree_dir_start(&t->last, path, n, &cur);
	while (i < n) {
		size_t at = i, len = component(path, &i, n);

		up = cur;
		last = at;
		if ((cur = ntree_child(t, cur, path + at, len, create, e)) == NTREE_NONE)
			return NTREE_NONE;
	}
	if (last > 1)  /* the directory of the last component walked */
		ntree_dir_keep(&t->last, path, last - 1, up);
	return cur;
}

struct page_pool *ntree_pool(const struct ntree *t)
{
	return t->pool;
}

/* ---- the stack ---- */

#define MAX_HOPS 40

/* The view's state of one tree node: 16 bytes.  Layers are int16_t
 * (lfs_apply refuses a layer over INT16_MAX).  The caller's data is not here
 * but in struct lfs's data, and only when the caller wants it back; nor a
 * symlink's target, which struct lfs's link map (lkey, lval) finds by node
 * (few nodes are symlinks).
 * Children are on a singly linked list that every present child is on; a
 * child that leaves the view stays listed (and childless) until a walk of
 * the list (remove_below) meets it at the head, so no node needs a link
 * back to the one before it. */
struct node {
	uint32_t child, next;         /* listed children: first; next sibling */
	int16_t layer;                /* the layer that wrote the present entry */
	int16_t desc;                 /* the last layer with an entry or whiteout below, or -1 */
	uint8_t type;
	bool present : 1;
	bool implied : 1;             /* present only as the parent of an entry: no entry of its own */
	bool listed : 1;              /* on its parent's list (present, or left and not yet met) */
	bool has_link : 1;            /* in the link map (its target may have been cleared since) */
};

/* A symlink target kept: len bytes at off - 1 in ltext (0: none now). */
struct lslot {
	uint32_t node;                /* NIL: a free slot (the root is never a symlink) */
	uint32_t len;
	uint64_t off;
};

struct lfs {
	struct lfs_events ev;
	struct ntree *t;              /* each node's state is a struct node */
	struct page_arr data;         /* const void * by node (past its size NULL); none when ev.skip_data */
	struct page_arr ltext;        /* copies of the symlink targets applied, back to back, across pages */
	uint64_t nltext;
	/* node -> its target (struct lslot), open addressing, at most half
	 * full, in pages: lmap[cur] (alk slots), lmap[!cur] while it grows */
	struct page_arr lmap[2];
	int cur;
	size_t nlk, alk;
	int layer;
	const char *lname;
	unsigned tick;
	/* the directory of the last entry applied: its ancestors were walked
	 * then, in layer clayer (below) */
	struct ntree_dir last;
	int clayer;
};

#define N(v, i) ((struct node *)ntree_data((v)->t, (i)))

static const void *data_of(const struct lfs *v, uint32_t i)
{
	uint64_t at = (uint64_t)i * sizeof(void *);

	return at < page_arr_size(&v->data) ? *(const void **)page_at((struct page_arr *)&v->data, at) : NULL;
}

static int set_data(struct lfs *v, uint32_t i, const void *data, struct strata_err *e)
{
	if (v->ev.skip_data)
		return 0;
	if (page_arr_reserve(&v->data, ((uint64_t)i + 1) * sizeof(void *), e) < 0)  /* new pages are zeros: NULL */
		return -e->code;
	*(const void **)page_at(&v->data, (uint64_t)i * sizeof(void *)) = data;
	return 0;
}

static struct lslot *lslot_at(const struct lfs *v, int m, size_t k)
{
	return page_at((struct page_arr *)&v->lmap[m], (uint64_t)k * sizeof(struct lslot));
}

/* The slot of node i in map m of alk slots: its own, or the free one where it would go. */
static size_t link_slot(const struct lfs *v, int m, size_t alk, uint32_t i)
{
	size_t k = (size_t)(i * 0x9e3779b9u) & (alk - 1);
	uint32_t n;

	while ((n = lslot_at(v, m, k)->node) != NIL && n != i)
		k = (k + 1) & (alk - 1);
	return k;
}

/* Node i's symlink target copied into *out (malloc'd, NUL-terminated; NULL:
 * none).  0, or <0 with e. */
static int link_of(const struct lfs *v, uint32_t i, char **out, struct strata_err *e)
{
	struct lslot sl;
	char *p;

	*out = NULL;
	if (!N(v, i)->has_link)
		return 0;
	sl = *lslot_at(v, v->cur, link_slot(v, v->cur, v->alk, i));
	if (sl.node != i || !sl.off)
		return 0;
	if (!(p = malloc((size_t)sl.len + 1)))
		return err_nomem(e, "layer tree");
	page_read((struct page_arr *)&v->ltext, sl.off - 1, p, sl.len);
	p[sl.len] = '\0';
	*out = p;
	return 0;
}

/* The link map with twice the slots. */
static int grow_links(struct lfs *v, struct strata_err *e)
{
	size_t na = v->alk ? v->alk * 2 : 1024, j;
	int nm = !v->cur;

	page_arr_release(&v->lmap[nm]);
	page_arr_init(&v->lmap[nm], ntree_pool(v->t));
	if (page_arr_reserve(&v->lmap[nm], (uint64_t)na * sizeof(struct lslot), e) < 0)
		return -e->code;
	for (j = 0; j < v->alk; j++) {
		struct lslot o = *lslot_at(v, v->cur, j);

		if (o.node != NIL)
			*lslot_at(v, nm, link_slot(v, nm, na, o.node)) = o;
	}
	page_arr_release(&v->lmap[v->cur]);
	v->cur = nm;
	v->alk = na;
	return 0;
}

/* Node i's entry of the link map set to len bytes at off (0: cleared; a
 * node without one needs none). */
static int link_put(struct lfs *v, uint32_t i, uint64_t off, uint32_t len, struct strata_err *e)
{
	struct lslot *sl;

	if (!off) {
		if (N(v, i)->has_link)  /* it has a slot */
			lslot_at(v, v->cur, link_slot(v, v->cur, v->alk, i))->off = 0;
		return 0;
	}
	if ((v->nlk + 1) * 2 > v->alk && grow_links(v, e) < 0)
		return -e->code;
	sl = lslot_at(v, v->cur, link_slot(v, v->cur, v->alk, i));
	if (sl->node == NIL) {
		sl->node = i;
		v->nlk++;
	}
	sl->len = len;
	sl->off = off;
	N(v, i)->has_link = true;
	return 0;
}

/* Keep a copy of symlink target l for node i (NULL: none). */
static int set_link(struct lfs *v, uint32_t i, const char *l, struct strata_err *e)
{
	size_t n = l ? strlen(l) : 0;

	if (!l)
		return link_put(v, i, 0, 0, e);
	if (n > UINT32_MAX)
		return err_set(e, STRATA_EFORMAT, "a symlink target of over 4 GiB");
	if (page_arr_reserve(&v->ltext, v->nltext + n, e) < 0)
		return -e->code;
	page_write(&v->ltext, v->nltext, l, n);
	if (link_put(v, i, v->nltext + 1, (uint32_t)n, e) < 0)
		return -e->code;
	v->nltext += n;
	return 0;
}

/* i, made present, is listed under its parent (it may still be). */
static void link_live(struct lfs *v, uint32_t i)
{
	struct node *x = N(v, i), *p = N(v, ntree_parent(v->t, i));

	if (x->listed)
		return;
	x->listed = true;
	x->next = p->child;
	p->child = i;
}

/* i leaves the view (it has no present children left); it stays listed. */
static void leave(struct lfs *v, uint32_t i, enum lfs_cause why, bool report)
{
	struct node *x = N(v, i);

	if (!x->present)
		return;
	x->present = false;
	if (report && !x->implied && v->ev.gone)
		v->ev.gone(v->ev.ctx, data_of(v, i), i, x->type, x->layer, why);
}

/* Everything below top leaves the view and its list; each listed node is
 * visited once, always as the head of its parent's list (a node that left
 * before has no children: it is only taken off). */
static void remove_below(struct lfs *v, uint32_t top, enum lfs_cause why)
{
	uint32_t cur = N(v, top)->child;

	while (cur) {
		struct node *x = N(v, cur);
		uint32_t p;

		if (x->child) {
			cur = x->child;
			continue;
		}
		p = ntree_parent(v->t, cur);
		leave(v, cur, why, true);
		N(v, p)->child = x->next;
		x->next = NIL;
		x->listed = false;
		cur = p == top ? N(v, top)->child : p;
	}
}

int lfs_new(struct lfs **out, const struct lfs_events *ev, struct strata_err *e)
{
	static const struct node fresh = { .desc = -1 };
	struct lfs *v = calloc(1, sizeof(*v));
	struct node *root;

	*out = NULL;
	if (!v)
		return err_nomem(e, "layer tree");
	if (ev)
		v->ev = *ev;
	if (ntree_new(&v->t, sizeof(struct node), &fresh, e) < 0) {
		free(v);
		return -e->code;
	}
	page_arr_init(&v->data, ntree_pool(v->t));
	page_arr_init(&v->ltext, ntree_pool(v->t));
	page_arr_init(&v->lmap[0], ntree_pool(v->t));
	page_arr_init(&v->lmap[1], ntree_pool(v->t));
	root = N(v, 0);
	root->type = TAR_DIR;
	root->present = true;
	v->lname = "layer";
	*out = v;
	return 0;
}

void lfs_free(struct lfs *v)
{
	if (!v)
		return;
	page_arr_release(&v->data);
	page_arr_release(&v->ltext);
	page_arr_release(&v->lmap[0]);
	page_arr_release(&v->lmap[1]);
	ntree_free(v->t);
	free(v);
}

void lfs_layer(struct lfs *v, int layer, const char *lname)
{
	v->layer = layer;
	v->lname = lname ? lname : "layer";
}

static void refuse(struct lfs *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void refuse(struct lfs *v, const char *fmt, ...)
{
	char msg[STRATA_ERR_MAX];
	int n = snprintf(msg, sizeof(msg), "%s: ", v->lname);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	if (v->ev.problem)
		v->ev.problem(v->ev.ctx, SEV_ERROR, msg);
}

/*
 * Would resolving `target` from directory node `dir` climb above the root?
 * Symlinks of the view met on the way are followed (absolute ones from the
 * root); components that are absent or not directories are taken lexically.
 * More than MAX_HOPS links (or a loop) counts as escaping.  1 if it
 * escapes, 0 if not, <0 with e (out of memory: the targets followed are
 * copied out of their pages).
 */
static int escapes(struct lfs *v, uint32_t dir, const char *target, struct strata_err *e)
{
	struct frame {
		const char *s;
		char *own;             /* s, when it is a copy to free */
		size_t i, n;
	} st[MAX_HOPS + 1];
	unsigned depth = 0, hops = 0;
	size_t virt = 0;  /* lexical components below cur that the view does not hold */
	uint32_t cur = target[0] == '/' ? 0 : dir;
	int r = 0;

	st[depth++] = (struct frame){ target, NULL, 0, strlen(target) };
	while (depth) {
		struct frame *f = &st[depth - 1];
		const char *c = f->s + f->i;
		size_t len;
		uint32_t ch;
		char *l = NULL;

		if (f->i >= f->n) {
			free(f->own);
			depth--;
			continue;
		}
		len = component(f->s, &f->i, f->n);
		if (!len || (len == 1 && c[0] == '.'))
			continue;
		if (len == 2 && c[0] == '.' && c[1] == '.') {
			if (virt) {
				virt--;
			} else if (!cur) {
				r = 1;
				break;
			} else {
				cur = ntree_parent(v->t, cur);
			}
			continue;
		}
		if (virt) {
			virt++;
			continue;
		}
		ch = ntree_child(v->t, cur, c, len, false, NULL);
		if (ch != NTREE_NONE && N(v, ch)->present && N(v, ch)->type == TAR_SYMLINK &&
		    (r = link_of(v, ch, &l, e)) < 0)
			break;
		if (l) {
			if (++hops > MAX_HOPS || depth > MAX_HOPS) {
				free(l);
				r = 1;
				break;
			}
			if (l[0] == '/')
				cur = 0;
			st[depth++] = (struct frame){ l, l, 0, strlen(l) };
		} else if (ch != NTREE_NONE && N(v, ch)->present && N(v, ch)->type == TAR_DIR) {
			cur = ch;
		} else {
			virt++;
		}
	}
	while (depth)
		free(st[--depth].own);
	return r;
}

static const char *kind_of(uint8_t type)
{
	return type == TAR_SYMLINK ? "symlink" : type_name((enum tar_type)type);
}

/* The target of a hardlink in the view: its node, or NTREE_NONE (reported). */
static uint32_t link_target(struct lfs *v, const struct lfs_in *in)
{
	const char *t = in->link;
	size_t i = 0, n = strlen(t);
	uint32_t cur = 0;

	while (i < n) {
		size_t at = i, len = component(t, &i, n);
		uint32_t ch = ntree_child(v->t, cur, t + at, len, false, NULL);

		if (ch == NTREE_NONE || !N(v, ch)->present) {
			refuse(v, "hardlink '%s' -> '%s': the target is in no layer below", in->name, t);
			return NTREE_NONE;
		}
		if (i < n && N(v, ch)->type != TAR_DIR) {
			refuse(v, "hardlink '%s' -> '%s': '%.*s' (layer %d) is a %s, not a directory", in->name, t,
			       (int)(at + len), t, N(v, ch)->layer + 1, kind_of(N(v, ch)->type));
			return NTREE_NONE;
		}
		cur = ch;
	}
	if (N(v, cur)->type == TAR_DIR) {
		refuse(v, "hardlink '%s' points to the directory '%s'", in->name, t);
		return NTREE_NONE;
	}
	return cur;
}

static int apply(struct lfs *v, const struct lfs_in *in, struct lfs_prev *prev, struct strata_err *e)
{
	const char *name = in->name;
	size_t i = 0, n = strlen(name);
	uint32_t cur = 0, t;
	bool entry = in->kind == LFS_ENTRY, whole = in->kind == LFS_OPAQUE;
	struct node *x;

	if (prev) {
		memset(prev, 0, sizeof(*prev));
		prev->node = NTREE_NONE;
	}
	if (!(++v->tick & 4095) && strata_cancel)
		return err_set(e, STRATA_EIO, "interrupted");
	if (v->layer > INT16_MAX)
		return err_set(e, STRATA_EFORMAT, "layer %d: the layers stack at most %d deep", v->layer + 1, INT16_MAX);
	if (!entry && in->kind != LFS_WHITEOUT && !whole)
		return 1;
	if (!strcmp(name, ".")) {
		if (whole)
			remove_below(v, 0, LFS_BY_OPAQUE);
		return 1;  /* the root itself: nothing to replace */
	}
	/* Below the directory of the last entry applied in this layer: its
	 * ancestors were checked, made present and marked (desc) then, and
	 * nothing applied since changed them (an entry changes its own node and
	 * what is below it; a whiteout or opaque marker clears this). */
	if (!entry)
		v->last.len = 0;
	else if (v->clayer == v->layer)
		i = ntree_dir_start(&v->last, name, n, &cur);
	/* the proper ancestors (and an opaque marker's directory itself) */
	for (;;) {
		size_t at = i, len = component(name, &i, n);
		uint32_t ch;

		if (i >= n && !whole) {
			i = at;
			break;
		}
		if ((ch = ntree_child(v->t, cur, name + at, len, true, e)) == NTREE_NONE)
			return -e->code;
		x = N(v, ch);
		if (x->present && x->type != TAR_DIR) {
			if (x->type == TAR_SYMLINK)
				refuse(v, "unsafe path '%s': written through symlink '%.*s' of layer %d", name,
				       (int)(at + len), name, x->layer + 1);
			else
				refuse(v, "'%s' lies below '%.*s' (layer %d), which is a %s, not a directory", name,
				       (int)(at + len), name, x->layer + 1, kind_of(x->type));
			return 0;
		}
		if (!x->present && entry) {
			x->present = true;
			x->implied = true;
			x->type = TAR_DIR;
			x->layer = (int16_t)v->layer;
			if (set_data(v, ch, NULL, e) < 0 || link_put(v, ch, 0, 0, e) < 0)
				return -e->code;
			link_live(v, ch);
		}
		x->desc = (int16_t)v->layer;
		cur = ch;
		if (i >= n)
			break;
	}
	if (whole) {
		if (N(v, cur)->present)
			remove_below(v, cur, LFS_BY_OPAQUE);
		return 1;
	}
	if (entry && i > 1) {
		ntree_dir_keep(&v->last, name, i - 1, cur);
		v->clayer = v->layer;
	}
	if ((t = ntree_child(v->t, cur, name + i, n - i, true, e)) == NTREE_NONE)
		return -e->code;
	x = N(v, t);
	if (prev)
		prev->node = t;
	if (in->kind == LFS_WHITEOUT) {
		if (x->present) {
			remove_below(v, t, LFS_BY_WHITEOUT);
			leave(v, t, LFS_BY_WHITEOUT, true);
		}
		return 1;
	}
	if (in->type == TAR_SYMLINK && in->link && in->link[0]) {
		int r = escapes(v, cur, in->link, e);

		if (r < 0)
			return r;
		if (r)
			refuse(v, "symlink '%s' -> '%s' points outside the root", name, in->link);
	}
	if (in->type != TAR_DIR && x->desc == v->layer) {
		refuse(v, "'%s' is a %s, but the layer has entries below it (a write through a symlink?)", name,
		       kind_of(in->type));
		return 0;
	}
	if (in->type == TAR_HARDLINK && in->link && link_target(v, in) == NTREE_NONE)
		return 0;
	x = N(v, t);
	if (prev && x->present) {
		prev->present = true;
		prev->implied = x->implied;
		prev->type = x->type;
		prev->layer = x->layer;
		prev->data = data_of(v, t);
	}
	if (x->present) {
		if (x->type == TAR_DIR && in->type != TAR_DIR)
			remove_below(v, t, LFS_BY_REPLACE);
	} else {
		link_live(v, t);
		x->present = true;
	}
	x->type = in->type;
	x->implied = false;
	x->layer = (int16_t)v->layer;
	if (set_data(v, t, in->data, e) < 0 || set_link(v, t, in->type == TAR_SYMLINK ? in->link : NULL, e) < 0)
		return -e->code;
	return 1;
}

int lfs_apply(struct lfs *v, const struct lfs_in *in, struct lfs_prev *prev, struct strata_err *e)
{
	int r = apply(v, in, prev, e);

	return r >= 0 && ntree_check(v->t, e) < 0 ? -e->code : r;
}

int lfs_check(const struct lfs *v, struct strata_err *e)
{
	return ntree_check(v->t, e);
}

struct page_pool *lfs_pool(const struct lfs *v)
{
	return ntree_pool(v->t);
}

void lfs_each(const struct lfs *v, void (*fn)(void *ctx, const void *data, uint8_t type, int layer), void *ctx)
{
	size_t i, n = ntree_len(v->t);

	for (i = 1; i < n; i++)
		if (N(v, i)->present && !N(v, i)->implied)
			fn(ctx, data_of(v, (uint32_t)i), N(v, i)->type, N(v, i)->layer);
}

bool lfs_at(const struct lfs *v, uint32_t node, struct lfs_prev *out)
{
	const struct node *x;

	memset(out, 0, sizeof(*out));
	out->node = node;
	if (node == 0 || node >= ntree_len(v->t))
		return false;  /* the root is no entry */
	x = N(v, node);
	if (!x->present)
		return false;
	out->present = true;
	out->implied = x->implied;
	out->type = x->type;
	out->layer = x->layer;
	out->data = data_of(v, node);
	return !x->implied;
}

uint32_t lfs_node(struct lfs *v, const char *path, bool create, struct strata_err *e)
{
	return ntree_path(v->t, path, create, e);
}

size_t lfs_nodes(const struct lfs *v)
{
	return ntree_len(v->t);
}

size_t lfs_pathname(const struct lfs *v, uint32_t node, char *buf, size_t size)
{
	return ntree_pathname(v->t, node, buf, size);
}
