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

			if (!(out->link = path_clean(l)))
				return err_nomem(e, "path");
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
			strcpy(clean, ".");
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

/* ---- the stack ---- */

#define NIL 0u          /* no node (the root is never a child, a sibling or a chain) */
#define MAX_HOPS 40

struct node {
	uint32_t parent;
	uint32_t child, next, prev;   /* live children: first; siblings */
	uint32_t name_len;
	size_t name_off;
	int32_t layer;                /* the layer that wrote the present entry */
	int32_t desc;                 /* the last layer with an entry or whiteout below, or -1 */
	const void *data;
	const char *link;             /* symlinks: the target */
	uint8_t type;
	bool present, implied;
};

struct lfs {
	struct lfs_events ev;
	struct node *n;
	size_t len, alloc;
	char *names;
	size_t nlen, nalloc;
	uint32_t *slots;              /* node index, NIL = empty (open addressing) */
	size_t nslots;
	int layer;
	const char *lname;
	size_t errors;
	unsigned tick;
};

static uint64_t hash(uint32_t parent, const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull ^ parent;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
	return h ^ (h >> 29);
}

static bool same(const struct lfs *v, uint32_t i, uint32_t parent, const char *s, size_t n)
{
	const struct node *x = &v->n[i];

	return x->parent == parent && x->name_len == n && !memcmp(v->names + x->name_off, s, n);
}

static uint32_t child_of(const struct lfs *v, uint32_t parent, const char *s, size_t n)
{
	size_t mask = v->nslots - 1, k = (size_t)hash(parent, s, n) & mask;

	for (; v->slots[k] != NIL; k = (k + 1) & mask)
		if (same(v, v->slots[k], parent, s, n))
			return v->slots[k];
	return NIL;
}

static int grow_slots(struct lfs *v, struct strata_err *e)
{
	size_t ns = v->nslots * 2, i;
	uint32_t *s = calloc(ns, sizeof(*s));

	if (!s)
		return err_nomem(e, "layer tree");
	for (i = 1; i < v->len; i++) {
		const struct node *x = &v->n[i];
		size_t k = (size_t)hash(x->parent, v->names + x->name_off, x->name_len) & (ns - 1);

		while (s[k] != NIL)
			k = (k + 1) & (ns - 1);
		s[k] = (uint32_t)i;
	}
	free(v->slots);
	v->slots = s;
	v->nslots = ns;
	return 0;
}

static uint32_t child_new(struct lfs *v, uint32_t parent, const char *s, size_t n, struct strata_err *e)
{
	struct node *x;
	size_t k;

	if (v->len >= UINT32_MAX - 1 || n >= UINT32_MAX)
		return err_set(e, STRATA_EFORMAT, "too many paths in the layers"), NIL;
	if ((v->len + 1) * 2 > v->nslots && grow_slots(v, e) < 0)
		return NIL;
	if (v->len == v->alloc) {
		size_t na = v->alloc * 2;
		struct node *nv = realloc(v->n, na * sizeof(*nv));

		if (!nv)
			return err_nomem(e, "layer tree"), NIL;
		v->n = nv;
		v->alloc = na;
	}
	if (v->nlen + n > v->nalloc) {
		size_t na = v->nalloc * 2;
		char *nn;

		while (na < v->nlen + n)
			na *= 2;
		if (!(nn = realloc(v->names, na)))
			return err_nomem(e, "layer tree"), NIL;
		v->names = nn;
		v->nalloc = na;
	}
	memcpy(v->names + v->nlen, s, n);
	x = &v->n[v->len];
	memset(x, 0, sizeof(*x));
	x->parent = parent;
	x->name_off = v->nlen;
	x->name_len = (uint32_t)n;
	x->desc = -1;
	v->nlen += n;
	for (k = (size_t)hash(parent, s, n) & (v->nslots - 1); v->slots[k] != NIL; k = (k + 1) & (v->nslots - 1))
		;
	v->slots[k] = (uint32_t)v->len;
	return (uint32_t)v->len++;
}

static void link_live(struct lfs *v, uint32_t i)
{
	struct node *x = &v->n[i], *p = &v->n[x->parent];

	x->prev = NIL;
	x->next = p->child;
	if (p->child)
		v->n[p->child].prev = i;
	p->child = i;
}

static void unlink_live(struct lfs *v, uint32_t i)
{
	struct node *x = &v->n[i];

	if (x->prev)
		v->n[x->prev].next = x->next;
	else
		v->n[x->parent].child = x->next;
	if (x->next)
		v->n[x->next].prev = x->prev;
	x->next = x->prev = NIL;
}

/* i leaves the view (it has no live children left). */
static void leave(struct lfs *v, uint32_t i, enum lfs_cause why, bool report)
{
	struct node *x = &v->n[i];

	if (!x->present)
		return;
	x->present = false;
	if (report && x->data && v->ev.gone)
		v->ev.gone(v->ev.ctx, x->data, x->type, x->layer, why, v->layer);
	unlink_live(v, i);
}

/* Everything below i leaves the view; each node is visited once. */
static void remove_below(struct lfs *v, uint32_t top, enum lfs_cause why)
{
	uint32_t cur = v->n[top].child;

	while (cur) {
		uint32_t p;

		if (v->n[cur].child) {
			cur = v->n[cur].child;
			continue;
		}
		p = v->n[cur].parent;
		leave(v, cur, why, true);
		cur = p == top ? v->n[top].child : p;
	}
}

int lfs_new(struct lfs **out, const struct lfs_events *ev, struct strata_err *e)
{
	struct lfs *v = calloc(1, sizeof(*v));

	*out = NULL;
	if (!v)
		return err_nomem(e, "layer tree");
	if (ev)
		v->ev = *ev;
	v->alloc = 1024;
	v->nalloc = 16384;
	v->nslots = 2048;
	v->n = malloc(v->alloc * sizeof(*v->n));
	v->names = malloc(v->nalloc);
	v->slots = calloc(v->nslots, sizeof(*v->slots));
	if (!v->n || !v->names || !v->slots) {
		lfs_free(v);
		return err_nomem(e, "layer tree");
	}
	memset(&v->n[0], 0, sizeof(v->n[0]));
	v->n[0].type = TAR_DIR;
	v->n[0].present = v->n[0].implied = true;
	v->n[0].desc = -1;
	v->len = 1;
	v->lname = "layer";
	*out = v;
	return 0;
}

void lfs_free(struct lfs *v)
{
	if (!v)
		return;
	free(v->n);
	free(v->names);
	free(v->slots);
	free(v);
}

void lfs_layer(struct lfs *v, int layer, const char *lname)
{
	v->layer = layer;
	v->lname = lname ? lname : "layer";
}

size_t lfs_errors(const struct lfs *v)
{
	return v->errors;
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
	v->errors++;
	if (v->ev.problem)
		v->ev.problem(v->ev.ctx, SEV_ERROR, msg);
}

/* Length of the component of s at *i (advancing *i past it and its slash). */
static size_t component(const char *s, size_t *i, size_t n)
{
	const char *slash = memchr(s + *i, '/', n - *i);
	size_t len = slash ? (size_t)(slash - (s + *i)) : n - *i;

	*i += len + (slash ? 1 : 0);
	return len;
}

/*
 * Would resolving `target` from directory node `dir` climb above the root?
 * Symlinks of the view met on the way are followed (absolute ones from the
 * root); components that are absent or not directories are taken lexically.
 * More than MAX_HOPS links (or a loop) counts as escaping.
 */
static bool escapes(const struct lfs *v, uint32_t dir, const char *target)
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
				cur = v->n[cur].parent;
			continue;
		}
		if (virt) {
			virt++;
			continue;
		}
		ch = child_of(v, cur, c, len);
		if (ch && v->n[ch].present && v->n[ch].type == TAR_SYMLINK && v->n[ch].link) {
			const char *l = v->n[ch].link;

			if (++hops > MAX_HOPS || depth > MAX_HOPS)
				return true;
			if (l[0] == '/')
				cur = 0;
			st[depth++] = (struct frame){ l, 0, strlen(l) };
		} else if (ch && v->n[ch].present && v->n[ch].type == TAR_DIR) {
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

/* The target of a hardlink in the view: its node, or NIL (reported). */
static uint32_t link_target(struct lfs *v, const struct lfs_in *in)
{
	const char *t = in->link;
	size_t i = 0, n = strlen(t);
	uint32_t cur = 0;

	while (i < n) {
		size_t at = i, len = component(t, &i, n);
		uint32_t ch = child_of(v, cur, t + at, len);

		if (!ch || !v->n[ch].present) {
			refuse(v, "hardlink '%s' -> '%s': the target is in no layer below", in->name, t);
			return NIL;
		}
		if (i < n && v->n[ch].type != TAR_DIR) {
			refuse(v, "hardlink '%s' -> '%s': '%.*s' (layer %d) is a %s, not a directory", in->name, t,
			       (int)(at + len), t, v->n[ch].layer + 1, kind_of(v->n[ch].type));
			return NIL;
		}
		cur = ch;
	}
	if (v->n[cur].type == TAR_DIR) {
		refuse(v, "hardlink '%s' points to the directory '%s'", in->name, t);
		return NIL;
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

	if (prev)
		memset(prev, 0, sizeof(*prev));
	if (!(++v->tick & 4095) && strata_cancel)
		return err_set(e, STRATA_EIO, "interrupted");
	if (!entry && in->kind != LFS_WHITEOUT && !whole)
		return 1;
	if (!strcmp(name, ".")) {
		if (whole)
			remove_below(v, 0, LFS_BY_OPAQUE);
		return 1;  /* the root itself: nothing to replace */
	}
	/* the proper ancestors (and an opaque marker's directory itself) */
	for (;;) {
		size_t at = i, len = component(name, &i, n);
		uint32_t ch;

		if (i >= n && !whole) {
			i = at;
			break;
		}
		if (!(ch = child_of(v, cur, name + at, len)) && !(ch = child_new(v, cur, name + at, len, e)))
			return -e->code;
		x = &v->n[ch];
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
			x->present = x->implied = true;
			x->type = TAR_DIR;
			x->layer = v->layer;
			x->data = NULL;
			x->link = NULL;
			link_live(v, ch);
		}
		x->desc = v->layer;
		cur = ch;
		if (i >= n)
			break;
	}
	if (whole) {
		if (v->n[cur].present)
			remove_below(v, cur, LFS_BY_OPAQUE);
		return 1;
	}
	{
		size_t len = n - i;

		if (!(t = child_of(v, cur, name + i, len)) && !(t = child_new(v, cur, name + i, len, e)))
			return -e->code;
	}
	x = &v->n[t];
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
	if (in->type == TAR_HARDLINK && in->link && !link_target(v, in))
		return 0;
	x = &v->n[t];
	if (prev && x->present) {
		prev->present = true;
		prev->implied = x->implied;
		prev->type = x->type;
		prev->layer = x->layer;
		prev->data = x->data;
	}
	if (x->present) {
		if (x->type == TAR_DIR && in->type != TAR_DIR)
			remove_below(v, t, LFS_BY_REPLACE);
	} else {
		link_live(v, t);
		x->present = true;
	}
	x->implied = false;
	x->type = in->type;
	x->layer = v->layer;
	x->data = in->data;
	x->link = in->type == TAR_SYMLINK ? in->link : NULL;
	return 1;
}

void lfs_each(const struct lfs *v, void (*fn)(void *ctx, const void *data, int layer), void *ctx)
{
	size_t i;

	for (i = 1; i < v->len; i++)
		if (v->n[i].present && v->n[i].data)
			fn(ctx, v->n[i].data, v->n[i].layer);
}
