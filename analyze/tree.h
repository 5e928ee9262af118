/*
 * tree.h - the merged file tree of an image, for the HTML report's file
 * browser: every path any layer wrote, what each layer did to it, the layer
 * that last wrote what the final image shows, and directory sizes.
 *
 * tree_build() stacks the layers' entry lists (files.h) with the layer model
 * (formats/layerfs.h), as analyze_image() does, and records per path its
 * events, dive's markers:
 *   'a' added: the path was not in the view below;
 *   'm' modified: the layer replaced what was there (a whiteout and a new
 *       entry of the same layer count as one replacement);
 *   'd' deleted: a whiteout, an opaque directory or a non-directory over a
 *       directory removed it.
 * A directory written again over a directory is no event (only its last
 * writer changes).  Directories the layers only imply (no entry of their
 * own) have no events and no writer.
 *
 * Sizes: a regular file's own size; a directory's is the sum of the regular
 * files below it in the final image, and `entries` counts what is below it
 * there.  Both cover the whole tree, also when it is cut.
 *
 * The cut: at most TREE_MAX nodes, and TREE_BYTES_MAX bytes of their paths,
 * names and link targets, are shown (kept), shallowest levels first and, on the level
 * that does not fit whole, the largest first; a shown directory counts the
 * children it hides (hidden) so the reader sees where.  Paths no Linux can
 * create (LFS_PATH_MAX bytes or more; the walker reports them) are left
 * out and counted.
 *
 * Cost: the stack's memory (layerfs.h, without data) while the layers are
 * stacked, then bounded whatever the number of paths.  The stack reports
 * every change; the changes go to a spill log
 * (common/spill.h) and, once the stack is freed, are sorted in tree order
 * (common/xsort.h) and merged, one path at a time, into nodes: a node is
 * complete when the merge leaves it (its directory's sizes summed from the
 * nodes below), goes to a second log, and is weighed for the cut (a heap of
 * the TREE_MAX best) and for the largest directories (TREE_DIRS).  A second
 * read of that log keeps the shown nodes and counts what each hides.  Time
 * is O(n log n) in the changes.
 *
 * Ownership: a tree owns its nodes, their paths and the directories' paths;
 * tree_release() frees it.  Errors: out of memory, cancellation, a spill
 * file that cannot be read.
 */
#ifndef STRATA_TREE_H
#define STRATA_TREE_H

#include <stdbool.h>
#include <stdint.h>
#include "common/err.h"
#include "formats/image.h"

#define TREE_MAX 20000             /* nodes shown in the HTML file browser (README: analyze) */
#define TREE_BYTES_MAX (8u << 20)  /* and the bytes of their paths, names and link targets, at most */
#define TREE_DIRS 25               /* the largest directories kept (the report's table) */
#define TREE_NONE UINT32_MAX

struct tree_event {
	uint16_t layer;     /* 0-based (the stack's layers are at most INT16_MAX) */
	char kind;          /* 'a', 'm', 'd' */
};

/* Invariants: the shown nodes, in tree order (a directory before what is
 * below it, siblings by name, '/' sorting before every other byte); a shown
 * node's parent is shown (TREE_NONE for top-level paths); a node's events
 * are ev[ev0..ev0+nev), in layer order, one per layer.  40 bytes. */
struct tree_node {
	const char *path;        /* clean, relative, NUL-terminated at plen (its link target follows: tree_link) */
	uint64_t size;
	uint32_t plen;
	uint32_t parent;
	uint32_t entries;        /* directories: what is below it in the final image */
	uint32_t ev0;
	uint16_t nev;
	uint16_t depth;          /* 0 for top-level paths */
	int16_t last;            /* layer that last wrote it, -1 when implied */
	uint8_t type;            /* enum tar_type of the last writer (TAR_DIR when implied) */
	bool present : 1;        /* in the final image */
	bool implied : 1;        /* no layer has an entry of its own for it */
	bool has_link : 1;       /* a symlink or hardlink target follows path's NUL */
};

_Static_assert(sizeof(void *) != 8 || sizeof(struct tree_node) == 40, "struct tree_node: 40 bytes on 64-bit (tree.h)");

/* What a shown directory hides (the cut): its children not shown, and the bytes below them. */
struct tree_hidden {
	uint32_t count;
	uint64_t bytes;
};

/* A directory of the final image, for the largest-directories table. */
struct tree_dir {
	char *path;              /* owned */
	uint32_t plen, entries;
	uint64_t size;
	int16_t last;            /* as tree_node's */
	uint32_t index;          /* its place in tree order among all paths */
};

struct tree {
	struct tree_node *v;     /* the shown nodes (len of them) */
	size_t len;
	size_t paths;            /* every path: len when not cut */
	struct tree_event *ev;   /* the shown nodes' events */
	size_t nev, aev;
	struct tree_hidden *hid; /* by shown node: what it hides */
	uint32_t hidden_top;     /* top-level nodes not shown */
	struct tree_dir dirs[TREE_DIRS];  /* the largest present directories less than three levels deep,
					   * largest first (ties: tree order) */
	size_t ndirs;
	uint64_t too_long;       /* entries left out: paths of LFS_PATH_MAX bytes or more */
	size_t nlayers;
	bool complete;           /* every layer's entries were read (else absent layers are skipped) */
};

/* n's symlink or hardlink target, or NULL. */
static inline const char *tree_link(const struct tree_node *n)
{
	return n->has_link ? n->path + n->plen + 1 : NULL;
}

/* The offset in n->path of its last component. */
static inline uint32_t tree_name(const struct tree_node *n)
{
	uint32_t i = n->plen;

	while (i > 0 && n->path[i - 1] != '/')
		i--;
	return i;
}

/* What shown node i hides: the children not shown (0: none), their bytes in *bytes. */
uint32_t tree_hidden(const struct tree *t, uint32_t i, uint64_t *bytes);

int tree_build(const struct image *im, struct tree *t, struct strata_err *e);
void tree_release(struct tree *t);

#endif
