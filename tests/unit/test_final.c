/* test_final.c - an image's final entries, as diff reads them (analyze/files.h: final_entries). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/files.h"
#include "common/xsort.h"
#include "formats/catalog.h"
#include "formats/image.h"
#include "formats/layerfs.h"
#include "tests/unit/unit.h"

#define FILE_(p, n) { .path = (char *)(p), .size = (n), .mode = 0644, .type = TAR_FILE }
#define DIR_(p) { .path = (char *)(p), .mode = 0755, .type = TAR_DIR }
#define LINK_(p) { .path = (char *)(p), .mode = 0777, .type = TAR_SYMLINK }
#define WH_(p) { .path = (char *)(p), .type = TAR_FILE, .flags = FE_WHITEOUT }
#define OPQ_(p) { .path = (char *)(p), .type = TAR_FILE, .flags = FE_OPAQUE }

/* lf holds the n entries of v as records in s; symlinks point at "target". */
static void record_all(struct layer_files *lf, struct spill *s, const struct fentry *v, size_t n)
{
	struct strata_err e = STRATA_ERR_INIT;
	uint64_t dg = 7;
	size_t i;

	memset(lf, 0, sizeof(*lf));
	layer_files_init(lf, s, true);
	for (i = 0; i < n; i++)
		CHECK_OK(layer_files_add(lf, &v[i], v[i].path, v[i].type == TAR_SYMLINK ? "target" : NULL,
					 v[i].type == TAR_FILE && !v[i].flags ? &dg : NULL, &e), &e);
	lf->nent = n;
}

/* Whiteouts, an opaque directory, a replacement in a later layer and in
 * the same layer, an entry below a symlink (refused by the stack): what
 * the stack shows, once each, sorted by path with strcmp. */
TEST(final_entries_what_the_stack_shows)
{
	struct fentry l1[] = { DIR_("a"), FILE_("a/x", 10), FILE_("a/y", 5), FILE_("b", 1), DIR_("d"), FILE_("d/k", 3),
			       LINK_("s") };
	struct fentry l2[] = { FILE_("a/x", 20), WH_("b"), OPQ_("d"), FILE_("d/n", 2), FILE_("e/f/g", 7),
			       FILE_("s/z", 1), FILE_("c", 1), FILE_("c", 9) };
	struct fentry l3[] = { WH_("a/y"), FILE_("a/y", 6), FILE_("a-b", 1) };
	static const char *const want[] = { "a", "a-b", "a/x", "a/y", "c", "d", "d/n", "e/f/g", "s" };
	static const uint64_t sizes[] = { 0, 1, 20, 6, 9, 0, 2, 7, 0 };
	struct strata_err e = STRATA_ERR_INIT;
	struct layer_files lf[3];
	struct member m[3];
	struct layer layers[3];
	struct image im;
	struct spill sp, os;
	struct spill_log out;
	struct xsort x;
	struct lfs *v = NULL;
	struct fentry f;
	const void *p;
	size_t i, n = 0, len;

	memset(m, 0, sizeof(m));
	memset(layers, 0, sizeof(layers));
	memset(&im, 0, sizeof(im));
	spill_init(&sp, 1u << 20);
	record_all(&lf[0], &sp, l1, sizeof(l1) / sizeof(l1[0]));
	record_all(&lf[1], &sp, l2, sizeof(l2) / sizeof(l2[0]));
	record_all(&lf[2], &sp, l3, sizeof(l3) / sizeof(l3[0]));
	for (i = 0; i < 3; i++) {
		m[i].walk = &lf[i];
		layers[i].m = &m[i];
	}
	im.layers = layers;
	im.nlayers = 3;
	spill_init(&os, 0);  /* every chunk goes to the temp file */
	spill_log_init(&out, &os);
	xsort_init(&x, 1u << 20);
	CHECK_OK(layer_files_stack(&im, &v, &e), &e);
	CHECK_OK(final_entries(&im, v, &out, &e), &e);
	lfs_free(v);
	CHECK_OK(xsort_add_log(&x, &out, &e), &e);
	while (xsort_next(&x, &p, &len, &e) == 1) {
		layer_files_record(p, len, &f);
		if (n < sizeof(want) / sizeof(want[0])) {
			CHECK_STR(f.path, want[n]);
			CHECK_INT(f.size, sizes[n]);
			CHECK_INT(f.has_digest, f.type == TAR_FILE);
			if (!strcmp(f.path, "s"))
				CHECK(f.type == TAR_SYMLINK && fentry_link(&f) && !strcmp(fentry_link(&f), "target"));
			if (!strcmp(f.path, "a/x"))
				CHECK_INT(f.mode, 0644);
		}
		n++;
	}
	CHECK_INT(n, sizeof(want) / sizeof(want[0]));
	xsort_release(&x);
	spill_log_release(&out);
	for (i = 0; i < 3; i++)
		spill_log_release(&lf[i].recs);
}
