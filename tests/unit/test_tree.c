/* test_tree.c - the merged file tree the HTML report browses (analyze/tree.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/tree.h"
#include "analyze/files.h"
#include "formats/catalog.h"
#include "tests/unit/unit.h"

#define FILE_(p, n) { .path = (char *)(p), .size = (n), .mode = 0644, .type = TAR_FILE }
#define DIR_(p) { .path = (char *)(p), .mode = 0755, .type = TAR_DIR }
#define WH_(p) { .path = (char *)(p), .type = TAR_FILE, .flags = FE_WHITEOUT }
#define OPQ_(p) { .path = (char *)(p), .type = TAR_FILE, .flags = FE_OPAQUE }

/* lf holds the n entries of v as records in s (as a collecting walk keeps them). */
static void record_all(struct layer_files *lf, struct spill *s, const struct fentry *v, size_t n)
{
	struct strata_err e = STRATA_ERR_INIT;
	size_t i;

	memset(lf, 0, sizeof(*lf));
	layer_files_init(lf, s, true);
	for (i = 0; i < n; i++)
		CHECK_OK(layer_files_add(lf, &v[i], v[i].path, NULL, NULL, &e), &e);
	lf->nent = n;
}

static const struct tree_node *find(const struct tree *t, const char *path)
{
	size_t i;

	for (i = 0; i < t->len; i++)
		if (t->v[i].plen == strlen(path) && !memcmp(t->v[i].path, path, t->v[i].plen))
			return &t->v[i];
	return NULL;
}

static const struct tree *cur;  /* the tree events() reads */

static const char *events(const struct tree_node *n, char *buf, size_t size)
{
	size_t len = 0;
	uint32_t k;

	buf[0] = '\0';
	for (k = 0; n && k < n->nev && len < size; k++)
		len += (size_t)snprintf(buf + len, size - len, "%s%u%c", k ? " " : "", cur->ev[n->ev0 + k].layer + 1,
					cur->ev[n->ev0 + k].kind);
	return buf;
}

TEST(tree_events_sizes_order)
{
	struct fentry l1[] = { DIR_("a"), FILE_("a/x", 10), FILE_("a/y", 5), FILE_("b", 1), DIR_("d"), FILE_("d/k", 3) };
	struct fentry l2[] = { FILE_("a/x", 20), WH_("b"), OPQ_("d"), FILE_("d/n", 2), FILE_("e/f/g", 7) };
	struct fentry l3[] = { WH_("a/y"), FILE_("a/y", 6), FILE_("a-b", 1) };
	struct layer_files lf[3];
	struct spill sp;
	struct member m[3];
	struct layer layers[3];
	struct image im;
	struct strata_err e = STRATA_ERR_INIT;
	struct tree t;
	static const char *const order[] = { "a", "a/x", "a/y", "a-b", "b", "d", "d/k", "d/n", "e", "e/f", "e/f/g" };
	const struct tree_node *n;
	char ev[64];
	size_t i;

	memset(m, 0, sizeof(m));
	memset(layers, 0, sizeof(layers));
	memset(&im, 0, sizeof(im));
	spill_init(&sp, 1u << 20);
	record_all(&lf[0], &sp, l1, 6);
	record_all(&lf[1], &sp, l2, 5);
	record_all(&lf[2], &sp, l3, 3);
	for (i = 0; i < 3; i++) {
		m[i].walk = &lf[i];
		layers[i].m = &m[i];
	}
	im.layers = layers;
	im.nlayers = 3;
	CHECK_OK(tree_build(&im, &t, &e), &e);
	cur = &t;
	CHECK_INT(t.paths, 11);
	CHECK_INT(t.len, 11);  /* not cut: every path shown */
	for (i = 0; i < t.len && i < 11; i++)
		CHECK(find(&t, order[i]) == &t.v[i]);  /* tree order: '/' before '-' */
	CHECK_STR(events(find(&t, "a/x"), ev, sizeof(ev)), "1a 2m");
	CHECK_STR(events(find(&t, "a/y"), ev, sizeof(ev)), "1a 3m");  /* a whiteout and a new entry: one change */
	CHECK_STR(events(find(&t, "b"), ev, sizeof(ev)), "1a 2d");
	CHECK_STR(events(find(&t, "d"), ev, sizeof(ev)), "1a");        /* an opaque marker changes no directory */
	CHECK_STR(events(find(&t, "d/k"), ev, sizeof(ev)), "1a 2d");
	CHECK_STR(events(find(&t, "e/f/g"), ev, sizeof(ev)), "2a");
	CHECK_INT(find(&t, "b")->present, 0);
	CHECK_INT(find(&t, "d/k")->present, 0);
	n = find(&t, "e");
	CHECK(n && n->implied && n->present && n->last == -1 && n->nev == 0 && n->depth == 0);
	CHECK_INT(find(&t, "e/f/g")->depth, 2);
	CHECK_INT(find(&t, "e/f/g")->parent, find(&t, "e/f") - t.v);
	n = find(&t, "a");
	CHECK(n && n->size == 26 && n->entries == 2 && n->last == 0);
	CHECK_INT(find(&t, "a/x")->last, 1);
	CHECK_INT(find(&t, "d")->size, 2);
	CHECK_INT(find(&t, "e")->entries, 2);
	/* the largest directories of the final image: "a" 26, "e" and "e/f" 7, "d" 2 ("b" is gone) */
	CHECK_INT(t.ndirs, 4);
	CHECK(t.ndirs == 4 && !strcmp(t.dirs[0].path, "a") && t.dirs[0].size == 26 && t.dirs[0].entries == 2 &&
	      !strcmp(t.dirs[1].path, "e") && !strcmp(t.dirs[2].path, "e/f") && t.dirs[2].last == -1 &&
	      !strcmp(t.dirs[3].path, "d") && t.dirs[3].size == 2);
	tree_release(&t);
	for (i = 0; i < 3; i++)
		spill_log_release(&lf[i].recs);
}

TEST(tree_cut)
{
	size_t nf = TREE_MAX + 5, i;
	struct fentry *v = calloc(nf + 2, sizeof(*v));
	char *names = calloc(nf, 16);
	struct layer_files lf;
	struct spill sp;
	struct member m;
	struct layer l;
	struct image im;
	struct strata_err e = STRATA_ERR_INIT;
	struct tree t;
	const struct tree_node *big;
	uint64_t bytes;

	CHECK(v && names);
	v[0] = (struct fentry)DIR_("big");
	v[1] = (struct fentry)FILE_("top", 1);
	for (i = 0; i < nf; i++) {
		snprintf(names + 16 * i, 16, "big/f%06zu", i);
		v[2 + i] = (struct fentry)FILE_(names + 16 * i, i);
	}
	memset(&m, 0, sizeof(m));
	memset(&l, 0, sizeof(l));
	memset(&im, 0, sizeof(im));
	spill_init(&sp, 1u << 20);
	record_all(&lf, &sp, v, nf + 2);
	m.walk = &lf;
	l.m = &m;
	im.layers = &l;
	im.nlayers = 1;
	CHECK_OK(tree_build(&im, &t, &e), &e);
	CHECK_INT(t.paths, nf + 2);
	CHECK_INT(t.len, TREE_MAX);  /* only the shown nodes are kept */
	big = find(&t, "big");
	/* the top level whole, then the largest: the 7 smallest files (0..6 bytes) are hidden */
	CHECK(big && find(&t, "top"));
	CHECK_INT(tree_hidden(&t, (uint32_t)(big - t.v), &bytes), 7);
	CHECK_INT(bytes, 21);
	CHECK_INT(tree_hidden(&t, (uint32_t)(find(&t, "top") - t.v), &bytes), 0);  /* a file: nothing below */
	CHECK_INT(bytes, 0);
	CHECK(!find(&t, "big/f000006"));
	CHECK(find(&t, "big/f000007") && find(&t, "big/f000007")->parent == (uint32_t)(big - t.v));
	CHECK(t.ndirs == 1 && t.dirs[0].entries == nf);
	tree_release(&t);
	spill_log_release(&lf.recs);
	free(v);
	free(names);
}

/* The cut counts link targets in its bytes: two symlinks with 5 MiB
 * targets do not both fit in TREE_BYTES_MAX, and the tree keeps no more
 * than it shows. */
TEST(tree_cut_counts_link_targets)
{
	struct fentry v[3] = { FILE_("a", 1), { .path = (char *)"l1", .mode = 0777, .type = TAR_SYMLINK },
			       { .path = (char *)"l2", .mode = 0777, .type = TAR_SYMLINK } };
	size_t big = 5u << 20, i;
	char *target = malloc(big + 1);
	struct strata_err e = STRATA_ERR_INIT;
	struct layer_files lf;
	struct member m;
	struct layer l;
	struct image im;
	struct spill sp;
	struct tree t;

	CHECK(target != NULL);
	if (!target)
		return;
	memset(target, 'x', big);
	target[big] = '\0';
	memset(&lf, 0, sizeof(lf));
	spill_init(&sp, 1u << 20);
	layer_files_init(&lf, &sp, true);
	for (i = 0; i < 3; i++)
		CHECK_OK(layer_files_add(&lf, &v[i], v[i].path, i ? target : NULL, NULL, &e), &e);
	lf.nent = 3;
	memset(&m, 0, sizeof(m));
	memset(&l, 0, sizeof(l));
	memset(&im, 0, sizeof(im));
	m.walk = &lf;
	l.m = &m;
	im.layers = &l;
	im.nlayers = 1;
	CHECK_OK(tree_build(&im, &t, &e), &e);
	CHECK_INT(t.paths, 3);
	CHECK_INT(t.len, 2);  /* "a", then "l1": "l2" would pass 8 MiB */
	CHECK_INT(t.hidden_top, 1);
	CHECK(find(&t, "l1") && tree_link(find(&t, "l1")) && strlen(tree_link(find(&t, "l1"))) == big);
	CHECK(!find(&t, "l2"));
	tree_release(&t);
	spill_log_release(&lf.recs);
	free(target);
}
