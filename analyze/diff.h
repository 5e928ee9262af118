/*
 * diff.h - what changed between two images: layers shared (by diff_id),
 * files added / removed / changed in the final filesystems (type, size,
 * mode, owner, content digest, link target), package changes, and config
 * changes (env, cmd, entrypoint, labels, user, working dir, exposed ports).
 *
 * The images' layers must have been walked with walker.collect and
 * walker.content (content digests).  A diff borrows paths and entries from
 * the images' catalogs; diff_release() frees what it allocated.
 */
#ifndef STRATA_DIFF_H
#define STRATA_DIFF_H

#include <cJSON.h>
#include "analyze/analyze.h"

enum { CH_TYPE = 1, CH_SIZE = 2, CH_MODE = 4, CH_OWNER = 8, CH_CONTENT = 16, CH_LINK = 32 };

struct file_change {
	const char *path;
	const struct fentry *a, *b;   /* NULL a: added; NULL b: removed */
	unsigned what;                /* CH_* for changed files */
};

struct image_diff {
	const struct image *a, *b;    /* borrowed: their digests and layers are reported */
	size_t shared_layers;         /* leading layers with equal diff_ids */
	size_t layers_a, layers_b;
	struct file_change *v;
	size_t n, added, removed, changed;
	int64_t size_delta;           /* bytes of regular files, B - A */
	struct pkg_change *pkgs;
	size_t npkgs;
	cJSON *config;                /* [{field, a, b}], owned */
};

int diff_images(const struct image *a, const struct image *b, struct image_diff *d, struct strata_err *e);
cJSON *diff_json(const char *src_a, const char *src_b, const struct image_diff *d);
int diff_text(struct buf *out, const char *src_a, const char *src_b, const struct image_diff *d, struct strata_err *e);
/* Anything differs: a file, a package, the config, or a layer not shared
 * (what `diff --exit-code` exits 1 for). */
bool diff_differs(const struct image_diff *d);
void diff_release(struct image_diff *d);

#endif
