/*
 * layerfs.h - what the entries of a layer tar mean, alone and stacked.
 *
 * The one model of the layered filesystem: verify's walker, analyze's
 * accounting, diff, and merge (flatten, unpack, convert --squash) all judge
 * layers by it.
 *
 * 1. One entry: lfs_classify() turns a tar entry into a clean, root-relative
 *    name and says what it is: an entry, a whiteout of a path, an opaque
 *    marker of a directory, AUFS bookkeeping, or the root itself.  Problems
 *    of the entry alone are reported (errors unless said otherwise):
 *      - an absolute name (judged as if relative, so the rest is still checked);
 *      - a name that leaves the root with `..` (not applied: LFS_SKIP);
 *      - a root entry ("/", "./") that is not a directory (LFS_SKIP);
 *      - a whiteout that names nothing or leaves its directory (LFS_SKIP);
 *        a whiteout that is not a regular file (warning);
 *      - a hardlink whose target is empty, the root, or leaves the root
 *        (LFS_SKIP); kaniko's absolute targets are mapped into the root;
 *      - a name or link target of LFS_PATH_MAX bytes or more (judged as if it
 *        were shorter: Linux, so every runtime, refuses to create it);
 *      - a symlink with an empty target (warning); a sparse member (warning).
 *
 * 2. The stack: struct lfs applies the classified entries of layers 0..n-1,
 *    bottom first, as overlayfs shows them to a container and as a
 *    sequential applier (containerd, umoci) builds them:
 *      - a layer's whiteouts and opaque markers remove only what the layers
 *        below it hold (OCI image-spec, "Whiteouts"); the caller applies them
 *        before the layer's other entries (lfs_apply() takes either, in the
 *        order given, and the caller keeps that order);
 *      - an entry replaces what is at its path; a non-directory replacing a
 *        directory removes everything below it; a directory over a
 *        directory keeps what is below;
 *      - missing parent directories are implied;
 *      - a hardlink names the content its target has when the link is
 *        applied (merge.h: what flatten emits for it).
 *    Refused (errors; the entry is not applied): an entry or whiteout below a
 *    symlink or other non-directory of any layer (a write through a
 *    symlink), a non-directory with entries of its own layer below it,
 *    a hardlink to nothing, to a directory or below a symlink, a symlink
 *    whose target leaves the root (following the symlinks of the view, at
 *    most 40, absolute ones from the root).
 *    Every present entry that leaves the view is reported to gone(), so a
 *    caller can charge its bytes (analyze) or list it (diff).
 *
 * Cost: each path component is stored once (a tree of names), every
 * operation is linear in the length of its names, and a removed subtree is
 * visited once; symlink resolution is linear in the length of the targets
 * it follows.  The stack checks strata_cancel every few thousand entries.
 *
 * Memory: the tree and the view state are in pages (common/pages.h), at
 * most PAGE_MEM_DEFAULT bytes of them in memory and the rest in a temp
 * file: 16 bytes a path of tree, 11 on average of its parent's child table
 * (at most three quarters full; a table that grew is reused), each
 * component's bytes and a NUL, 16 of view state and 8 of data pointer
 * unless skip_data, and a copy of each symlink target applied with 32 to 64
 * bytes of map for it.  In memory, growing with what they count: a name
 * component of over 4 KiB (only a hostile archive has one) and the page
 * tables (8 bytes a 16 KiB page); symlink resolution copies the targets it
 * follows out of their pages.
 *
 * Ownership: struct lfs owns its tree and copies the symlink targets it
 * keeps (in its pages); entries' names and link targets given to lfs_apply() are only read
 * during the call; data pointers are borrowed and must outlive the lfs.
 * Layers stack at most INT16_MAX deep.
 */
#ifndef STRATA_LAYERFS_H
#define STRATA_LAYERFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "common/diag.h"
#include "common/err.h"
#include "common/tar.h"

#define LFS_PATH_MAX 4096  /* Linux's PATH_MAX, the terminating NUL included */

enum lfs_kind {
	LFS_ENTRY,      /* a file, link, directory, device or fifo at name */
	LFS_WHITEOUT,   /* removes name (and what is below it) from the layers below */
	LFS_OPAQUE,     /* removes what the layers below hold under directory name */
	LFS_META,       /* AUFS bookkeeping (.wh..wh.*) or below it: not part of the tree */
	LFS_ROOT,       /* the root directory itself ("/", "./") */
	LFS_SKIP,       /* unsafe: reported, not applied */
};

/* Problems go here; msg names the entry as stored. */
struct lfs_report {
	void *ctx;
	void (*fn)(void *ctx, enum severity sev, const char *msg);
};

struct lfs_name {
	enum lfs_kind kind;
	char *name;     /* malloc'd; clean, relative, "." for the root; whiteout: the path it removes */
	char *link;     /* hardlinks: the clean relative target (malloc'd); else NULL */
};

/* Classify one entry.  0 with *out filled (release with lfs_name_release),
 * or <0 when out of memory (with nothing left to release). */
int lfs_classify(const struct tar_entry *ent, struct lfs_name *out, const struct lfs_report *rep,
		 struct strata_err *e);
void lfs_name_release(struct lfs_name *n);
/* Does a name have a ".wh." component (a whiteout, or AUFS bookkeeping)? */
bool lfs_meta_name(const char *clean);

/* ---- the tree of names the stack and merge keep ----
 *
 * Each path component is stored once, under its parent, and found in its
 * parent's own table of children: walking a path is linear in its length.
 * Nodes are dense indexes (0 is the root) that never move; each node
 * carries the caller's state of a fixed size (the stack's and merge's view
 * of that path).  All of it is in pages of a pool of the tree's own
 * (common/pages.h): 16 MiB of it in memory at most, the rest in a temp
 * file, so the memory of a tree does not grow with its paths.  A tar lists
 * a directory's entries together and layers list them in about the same
 * order, so the pages a walk needs are most often in memory. */
struct ntree;

#define NTREE_NONE UINT32_MAX

/* A tree whose nodes each carry dsize bytes of state, set to init (NULL:
 * zeros) when the node is made, the root included. */
int ntree_new(struct ntree **out, size_t dsize, const void *init, struct strata_err *e);
/* Node i's state.  The pointer stays valid while fewer than PAGE_KEEP
 * other pages of the tree are touched (pages.h): take it again after a
 * walk (ntree_child(), ntree_path(), ntree_pathname()). */
void *ntree_data(const struct ntree *t, uint32_t i);
void ntree_free(struct ntree *t);
/* The child comp[0..len) of parent: its index, or NTREE_NONE when absent
 * (create false) or on error (create true: out of memory, e set). */
uint32_t ntree_child(struct ntree *t, uint32_t parent, const char *comp, size_t len, bool create,
		     struct strata_err *e);
/* The node of a clean relative path ("." is the root), made with its parents
 * when create.  A path below the directory of the last path walked starts
 * there (a tar lists a directory's entries together). */
uint32_t ntree_path(struct ntree *t, const char *path, bool create, struct strata_err *e);
uint32_t ntree_parent(const struct ntree *t, uint32_t i);
/* The clean relative path of node i ("." the root) into buf of size bytes,
 * NUL-terminated: its length, or size or more when it does not fit (buf then
 * holds no path).  Lets a caller keep a node index instead of a path. */
size_t ntree_pathname(const struct ntree *t, uint32_t i, char *buf, size_t size);
/* Nodes so far, the root included: indexes are below this. */
size_t ntree_len(const struct ntree *t);
/* 0, or <0 with e when a page of the tree could not be read back or
 * allocated (what was read then was zeros): call it before trusting what
 * a walk found. */
int ntree_check(const struct ntree *t, struct strata_err *e);
/* The pool the tree's pages are in (a caller may keep arrays by node there). */
struct page_pool *ntree_pool(const struct ntree *t);

/* The directory of the last path walked and its node: a tar lists a
 * directory's entries together, so the next path is most often below it and
 * its walk can start there (nodes never move or go).  len 0: none kept. */
struct ntree_dir {
	char path[LFS_PATH_MAX];
	size_t len;
	uint32_t node;
};

/* Where a walk of the clean path (n bytes) may start: the index just past
 * the kept directory, with its node in *node, when path is below it; else 0
 * and the root. */
static inline size_t ntree_dir_start(const struct ntree_dir *d, const char *path, size_t n, uint32_t *node)
{
	if (d->len && d->len < n && path[d->len] == '/' && !memcmp(path, d->path, d->len)) {
		*node = d->node;
		return d->len + 1;
	}
	*node = 0;
	return 0;
}

/* Keep path[0..len), a directory below the root, and its node (a path too
 * long to keep leaves nothing kept). */
static inline void ntree_dir_keep(struct ntree_dir *d, const char *path, size_t len, uint32_t node)
{
	d->len = 0;
	if (len && len < sizeof(d->path)) {
		memcpy(d->path, path, len);
		d->len = len;
		d->node = node;
	}
}

/* ---- the stack ---- */

struct lfs;

/* What an applied entry replaced at its path (present: something was there). */
struct lfs_prev {
	bool present;
	bool implied;         /* what was there was only the parent directory of an entry, no entry of its own */
	uint8_t type;         /* enum tar_type */
	int layer;
	const void *data;     /* the caller's (lfs_in.data); NULL when implied */
	uint32_t node;        /* the node of the entry's path (lfs_node), or NTREE_NONE when the stack
			       * refused the entry before reaching it (or it names the root) */
};

enum lfs_cause { LFS_BY_WHITEOUT, LFS_BY_OPAQUE, LFS_BY_REPLACE };

struct lfs_events {
	void *ctx;
	/* A present entry written by `layer` left the view because of what the
	 * layer being applied did (implied directories are not reported); data
	 * is its lfs_in.data (NULL with skip_data), node its path's (lfs_node).
	 * May be NULL. */
	void (*gone)(void *ctx, const void *data, uint32_t node, uint8_t type, int layer, enum lfs_cause why);
	/* A problem of the stack (message names layer and entry).  May be NULL. */
	void (*problem)(void *ctx, enum severity sev, const char *msg);
	/* The caller never wants data back: it is not kept (gone(), lfs_each()
	 * and lfs_prev.data then see NULL), 8 bytes a path less. */
	bool skip_data;
};

struct lfs_in {
	enum lfs_kind kind;   /* LFS_ENTRY, LFS_WHITEOUT, LFS_OPAQUE (others are ignored) */
	const char *name;     /* as lfs_name.name */
	uint8_t type;         /* LFS_ENTRY: enum tar_type */
	const char *link;     /* symlink: target as stored; hardlink: clean target; else NULL */
	const void *data;     /* the caller's, handed back by gone() and lfs_each() */
};

int lfs_new(struct lfs **out, const struct lfs_events *ev, struct strata_err *e);
void lfs_free(struct lfs *v);
/* Layers are applied in order; `layer` is the index used in messages (0 = bottom). */
void lfs_layer(struct lfs *v, int layer, const char *lname);
/* Apply one entry of the current layer.  Returns 1 when applied, 0 when
 * refused (reported to problem()), <0 on out of memory or cancellation.
 * prev (may be NULL) gets what the entry replaced. */
int lfs_apply(struct lfs *v, const struct lfs_in *in, struct lfs_prev *prev, struct strata_err *e);
/* 0, or <0 with e when the stack's pages failed (ntree_check()): a caller
 * that read the view with lfs_each(), lfs_at() or lfs_node() calls it
 * before it trusts what it read.  lfs_apply() checks it itself. */
int lfs_check(const struct lfs *v, struct strata_err *e);
/* The pool of the stack's pages: a caller keeping state by node (lfs_node)
 * can keep it there, within the same bound (common/pages.h). */
struct page_pool *lfs_pool(const struct lfs *v);
/* Every present entry (not the implied directories), in the order the paths were first seen. */
void lfs_each(const struct lfs *v, void (*fn)(void *ctx, const void *data, uint8_t type, int layer), void *ctx);
/* The stack's node of a clean relative path (ntree_path() of its tree), so
 * a caller can keep per-path state in an array by node instead of a map of
 * paths: made when absent and create (a node made so is not in the view),
 * else NTREE_NONE.  Nodes are below lfs_nodes() and never change. */
uint32_t lfs_node(struct lfs *v, const char *path, bool create, struct strata_err *e);
size_t lfs_nodes(const struct lfs *v);
/* What the view holds at node: out filled as lfs_apply() fills prev (all
 * zero, node set, when nothing is there).  True when it is an entry (not
 * an implied directory, not the root). */
bool lfs_at(const struct lfs *v, uint32_t node, struct lfs_prev *out);
/* ntree_pathname() of the stack's tree. */
size_t lfs_pathname(const struct lfs *v, uint32_t node, char *buf, size_t size);

#endif
