/* layerfs.c - the meaning of layer entries, alone and stacked; see layerfs.h. */
#include "formats/layerfs.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cancel.h"
#include "common/fsutil.h"

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

#define NIL 0u          /* in the slots: empty (the root is never a child) */

/* A node is its parent and where its name starts in names, where it ends
 * with a NUL (no name holds one): 8 bytes a node.  Nothing links a node to
 * its children: the stack keeps its own lists of the live ones. */
struct tnode {
	uint32_t parent;
	uint32_t name_off;             /* the names are at most 4 GiB */
};

struct ntree {
	struct tnode *n;
	size_t len, alloc;
	char *data;                    /* the caller's state, dsize bytes a node */
	size_t dsize;
	char *init;                    /* what a new node's state starts as */
	char *names;                   /* each name and its NUL */
	size_t nlen, nalloc;
	uint32_t *slots;               /* node index, NIL = empty (open addressing) */
	size_t nslots;
	struct ntree_dir last;         /* of the last path ntree_path() walked */
};

static uint64_t hash(uint32_t parent, const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull ^ parent;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
	return h ^ (h >> 29);
}

int ntree_new(struct ntree **out, size_t dsize, const void *init, struct strata_err *e)
{
	struct ntree *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (!t)
		return err_nomem(e, "name tree");
	t->alloc = 1024;
	t->nalloc = 16384;
	t->nslots = 2048;
	t->dsize = dsize ? dsize : 1;
	t->n = calloc(t->alloc, sizeof(*t->n));
	t->data = malloc(t->alloc * t->dsize);
	t->init = calloc(1, t->dsize);
	t->names = malloc(t->nalloc);
	t->slots = calloc(t->nslots, sizeof(*t->slots));
	if (!t->n || !t->data || !t->init || !t->names || !t->slots) {
		ntree_free(t);
		return err_nomem(e, "name tree");
	}
	if (init)
		memcpy(t->init, init, dsize);
	memcpy(t->data, t->init, t->dsize);  /* the root */
	t->len = 1;
	*out = t;
	return 0;
}

void *ntree_data(const struct ntree *t, uint32_t i)
{
	return t->data + (size_t)i * t->dsize;
}

void ntree_free(struct ntree *t)
{
	if (!t)
		return;
	free(t->n);
	free(t->data);
	free(t->init);
	free(t->names);
	free(t->slots);
	free(t);
}

size_t ntree_len(const struct ntree *t)
{
	return t->len;
}

uint32_t ntree_parent(const struct ntree *t, uint32_t i)
{
	return t->n[i].parent;
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
	for (j = i; j; j = t->n[j].parent)  /* the length first: the names are then copied in place */
		len += strlen(t->names + t->n[j].name_off) + 1;
	if (len > size || !size)
		return size > len ? size : len;
	at = len - 1;
	buf[at] = '\0';
	for (j = i; j; j = t->n[j].parent) {
		size_t nl = strlen(t->names + t->n[j].name_off);

		at -= nl;
		memcpy(buf + at, t->names + t->n[j].name_off, nl);
		if (at)
			buf[--at] = '/';
	}
	return len - 1;
}

static int grow_slots(struct ntree *t, struct strata_err *e)
{
	size_t ns = t->nslots * 2, i;
	uint32_t *s = calloc(ns, sizeof(*s));

	if (!s)
		return err_nomem(e, "name tree");
	for (i = 1; i < t->len; i++) {
		const struct tnode *x = &t->n[i];
		const char *nm = t->names + x->name_off;
		size_t k = (size_t)hash(x->parent, nm, strlen(nm)) & (ns - 1);

		while (s[k] != NIL)
			k = (k + 1) & (ns - 1);
		s[k] = (uint32_t)i;
	}
	free(t->slots);
	t->slots = s;
	t->nslots = ns;
	return 0;
}

uint32_t ntree_child(struct ntree *t, uint32_t parent, const char *s, size_t n, bool create, struct strata_err *e)
{
	size_t mask = t->nslots - 1, k = (size_t)hash(parent, s, n) & mask;
	struct tnode *x;

	for (; t->slots[k] != NIL; k = (k + 1) & mask) {
		x = &t->n[t->slots[k]];
		const char *nm = t->names + x->name_off;

		if (x->parent == parent && !strncmp(nm, s, n) && !nm[n])
			return t->slots[k];
	}
	if (!create)
		return NTREE_NONE;
	if (memchr(s, '\0', n))
		return err_set(e, STRATA_EFORMAT, "a name holds a NUL byte"), NTREE_NONE;
	if (t->len >= UINT32_MAX - 1 || n >= UINT32_MAX || t->nlen + n + 1 > UINT32_MAX)
		return err_set(e, STRATA_EFORMAT, "too many paths in the layers"), NTREE_NONE;
	if ((t->len + 1) * 2 > t->nslots) {
		if (grow_slots(t, e) < 0)
			return NTREE_NONE;
		for (k = (size_t)hash(parent, s, n) & (t->nslots - 1); t->slots[k] != NIL; k = (k + 1) & (t->nslots - 1))
			;
	}
	if (t->len == t->alloc) {
		struct tnode *nv = realloc(t->n, t->alloc * 2 * sizeof(*nv));
		char *dv;

		if (!nv)
			return err_nomem(e, "name tree"), NTREE_NONE;
		t->n = nv;
		if (!(dv = realloc(t->data, t->alloc * 2 * t->dsize)))
			return err_nomem(e, "name tree"), NTREE_NONE;
		t->data = dv;
		t->alloc *= 2;
	}
	if (t->nlen + n + 1 > t->nalloc) {
		size_t na = t->nalloc * 2;
		char *nn;

		while (na < t->nlen + n + 1)
			na *= 2;
		if (!(nn = realloc(t->names, na)))
			return err_nomem(e, "name tree"), NTREE_NONE;
		t->names = nn;
		t->nalloc = na;
	}
	memcpy(t->names + t->nlen, s, n);
	t->names[t->nlen + n] = '\0';
	x = &t->n[t->len];
	x->parent = parent;
	x->name_off = (uint32_t)t->nlen;
	t->nlen += n + 1;
	t->slots[k] = (uint32_t)t->len;
	memcpy(t->data + t->len * t->dsize, t->init, t->dsize);
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
	bool present;
	bool implied;                 /* present only as the parent of an entry: no entry of its own */
	bool listed;                  /* on its parent's list (present, or left and not yet met) */
};

struct lfs {
	struct lfs_events ev;
	struct ntree *t;              /* each node's state is a struct node */
	const void **data;            /* by node (adata of them; past it NULL); NULL when ev.skip_data */
	size_t adata;
	char *links;                  /* copies of the symlink targets applied, each with its NUL */
	size_t nlinks, alinks;
	/* node -> its target's offset in links + 1 (0: none), open addressing
	 * (key NIL: a free slot; the root is never a symlink), at most half full */
	uint32_t *lkey, *lval;
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
	return v->data && i < v->adata ? v->data[i] : NULL;
}

static int set_data(struct lfs *v, uint32_t i, const void *data, struct strata_err *e)
{
	if (!v->data && v->ev.skip_data)
		return 0;
	if (i >= v->adata) {
		size_t na = v->adata ? v->adata : 1024, k;
		const void **nd;

		while (na <= i)
			na *= 2;
		if (!(nd = realloc(v->data, na * sizeof(*nd))))
			return err_nomem(e, "layer tree");
		for (k = v->adata; k < na; k++)
			nd[k] = NULL;
		v->data = nd;
		v->adata = na;
	}
	v->data[i] = data;
	return 0;
}

/* The slot of node i in the link map: its own, or the free one where it would go. */
static size_t link_slot(const struct lfs *v, uint32_t i)
{
	size_t k = (size_t)(i * 0x9e3779b9u) & (v->alk - 1);

	while (v->lkey[k] != NIL && v->lkey[k] != i)
		k = (k + 1) & (v->alk - 1);
	return k;
}

static const char *link_of(const struct lfs *v, uint32_t i)
{
	size_t k;

	if (!v->alk)
		return NULL;
	k = link_slot(v, i);
	return v->lkey[k] == i && v->lval[k] ? v->links + v->lval[k] - 1 : NULL;
}

/* Node i's entry of the link map set to off (0: cleared; a node without
 * one needs none). */
static int link_put(struct lfs *v, uint32_t i, uint32_t off, struct strata_err *e)
{
	size_t k;

	if (!off) {
		if (v->alk && v->lkey[k = link_slot(v, i)] == i)
			v->lval[k] = 0;
		return 0;
	}
	if ((v->nlk + 1) * 2 > v->alk) {
		size_t na = v->alk ? v->alk * 2 : 1024, oa = v->alk, j;
		uint32_t *nk = calloc(na, sizeof(*nk)), *nv = malloc(na * sizeof(*nv)), *ok = v->lkey, *ov = v->lval;

		if (!nk || !nv) {
			free(nk);
			free(nv);
			return err_nomem(e, "layer tree");
		}
		v->lkey = nk;
		v->lval = nv;
		v->alk = na;
		for (j = 0; j < oa; j++)
			if (ok[j] != NIL) {
				size_t m = link_slot(v, ok[j]);

				v->lkey[m] = ok[j];
				v->lval[m] = ov[j];
			}
		free(ok);
		free(ov);
	}
	if (v->lkey[k = link_slot(v, i)] == NIL) {
		v->lkey[k] = i;
		v->nlk++;
	}
	v->lval[k] = off;
	return 0;
}

/* Keep a copy of symlink target l for node i (NULL: none). */
static int set_link(struct lfs *v, uint32_t i, const char *l, struct strata_err *e)
{
	size_t n = l ? strlen(l) + 1 : 0;

	if (!l)
		return link_put(v, i, 0, e);
	if (v->nlinks + n >= UINT32_MAX)
		return err_set(e, STRATA_EFORMAT, "symlink targets of over 4 GiB in the layers");
	if (v->nlinks + n > v->alinks) {
		size_t na = v->alinks ? v->alinks * 2 : 4096;
		char *nl;

		while (na < v->nlinks + n)
			na *= 2;
		if (!(nl = realloc(v->links, na)))
			return err_nomem(e, "layer tree");
		v->links = nl;
		v->alinks = na;
	}
	memcpy(v->links + v->nlinks, l, n);
	if (link_put(v, i, (uint32_t)(v->nlinks + 1), e) < 0)
		return -e->code;
	v->nlinks += n;
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
	ntree_free(v->t);
	free(v->data);
	free(v->links);
	free(v->lkey);
	free(v->lval);
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
 * More than MAX_HOPS links (or a loop) counts as escaping.
 */
static bool escapes(struct lfs *v, uint32_t dir, const char *target)
{
	struct frame {
		const char *s;
		size_t i, n;
	} st[MAX_HOPS + 1];
	unsigned depth = 0, hops = 0;
	size_t virt = 0;  /* lexical components below cur that the view does not hold */
	uint32_t cur = target[0] == '/' ? 0 : dir;

	st[depth++] = (struct frame){ target, 0, strlen(target) };
	while (depth) {
		struct frame *f = &st[depth - 1];
		const char *c = f->s + f->i;
		size_t len;
		uint32_t ch;

		if (f->i >= f->n) {
			depth--;
			continue;
		}
		len = component(f->s, &f->i, f->n);
		if (!len || (len == 1 && c[0] == '.'))
			continue;
		if (len == 2 && c[0] == '.' && c[1] == '.') {
			if (virt)
				virt--;
			else if (!cur)
				return true;
			else
				cur = ntree_parent(v->t, cur);
			continue;
		}
		if (virt) {
			virt++;
			continue;
		}
		ch = ntree_child(v->t, cur, c, len, false, NULL);
		if (ch != NTREE_NONE && N(v, ch)->present && N(v, ch)->type == TAR_SYMLINK && link_of(v, ch)) {
			const char *l = link_of(v, ch);

			if (++hops > MAX_HOPS || depth > MAX_HOPS)
				return true;
			if (l[0] == '/')
				cur = 0;
			st[depth++] = (struct frame){ l, 0, strlen(l) };
		} else if (ch != NTREE_NONE && N(v, ch)->present && N(v, ch)->type == TAR_DIR) {
			cur = ch;
		} else {
			virt++;
		}
	}
	return false;
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

int lfs_apply(struct lfs *v, const struct lfs_in *in, struct lfs_prev *prev, struct strata_err *e)
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
			if (set_data(v, ch, NULL, e) < 0 || link_put(v, ch, 0, e) < 0)
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
	if (in->type == TAR_SYMLINK && in->link && in->link[0] && escapes(v, cur, in->link))
		refuse(v, "symlink '%s' -> '%s' points outside the root", name, in->link);
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
