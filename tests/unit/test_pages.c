/* test_pages.c - arrays in pages, bounded in memory, the rest in a temp file (common/pages.h). */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/pages.h"
#include "formats/layerfs.h"
#include "unit.h"

#define WORDS ((uint64_t)(40 * PAGE_SIZE / sizeof(uint64_t)))  /* 40 pages: more than a small pool holds */

static uint64_t word(uint64_t i, unsigned round)
{
	return i * 0x9e3779b97f4a7c15ull + round;
}

/* Two arrays of one pool written in turns, then read back in another order. */
static void pages_roundtrip(struct page_pool *p)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct page_arr a, b;
	uint64_t i, bad = 0;

	page_arr_init(&a, p);
	page_arr_init(&b, p);
	CHECK_OK(page_arr_reserve(&a, WORDS * 8, &e), &e);
	CHECK_OK(page_arr_reserve(&b, WORDS * 8, &e), &e);
	for (i = 0; i < WORDS; i++) {
		*(uint64_t *)page_at(&a, i * 8) = word(i, 1);
		*(uint64_t *)page_at(&b, (WORDS - 1 - i) * 8) = word(i, 2);
	}
	for (i = 0; i < WORDS; i += 509)  /* strided: every page, out of order */
		*(uint64_t *)page_at(&a, i * 8) = word(i, 3);
	for (i = WORDS; i-- > 0;) {
		bad += *(uint64_t *)page_at(&a, i * 8) != word(i, i % 509 ? 1 : 3);
		bad += *(uint64_t *)page_at(&b, (WORDS - 1 - i) * 8) != word(i, 2);
	}
	CHECK_INT(bad, 0);
	/* grown: the new bytes are zeros, the old ones kept */
	CHECK_OK(page_arr_reserve(&a, WORDS * 8 + PAGE_SIZE * 3, &e), &e);
	CHECK_INT(*(uint64_t *)page_at(&a, WORDS * 8 + PAGE_SIZE * 2), 0);
	CHECK(*(uint64_t *)page_at(&a, 8) == word(1, 1));
	CHECK_OK(page_pool_check(p, &e), &e);
	page_arr_release(&a);
	page_arr_release(&b);
}

TEST(pages_in_memory)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct page_pool *p = NULL;

	CHECK_OK(page_pool_new(&p, 256 * PAGE_SIZE, &e), &e);
	if (!p)
		return;
	pages_roundtrip(p);
	CHECK_INT(p->writes, 0);
	CHECK_INT(p->fd, -1);
	page_pool_free(p);
}

TEST(pages_spill)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct page_pool *p = NULL;

	CHECK_OK(page_pool_new(&p, 1, &e), &e);  /* PAGE_KEEP frames */
	if (!p)
		return;
	CHECK_INT(p->max, PAGE_KEEP);
	pages_roundtrip(p);
	CHECK(p->writes > 0);
	CHECK(p->reads > 0);
	CHECK(p->n <= PAGE_KEEP);
	CHECK(!p->no_file);
	page_pool_free(p);
}

/* No temp file: every page stays in memory, nothing is lost. */
TEST(pages_no_temp_dir)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct page_pool *p = NULL;
	char *saved = unit_env_set("TMPDIR", "/nonexistent/strata-unit");

	CHECK_OK(page_pool_new(&p, 1, &e), &e);
	if (p) {
		pages_roundtrip(p);
		CHECK(p->no_file);
		CHECK_INT(p->writes, 0);
		CHECK(p->n > PAGE_KEEP);
		page_pool_free(p);
	}
	unit_env_restore("TMPDIR", saved);
}

/* A page that cannot be read back is a failure the pool keeps; reads give zeros. */
TEST(pages_read_error)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct page_pool *p = NULL;
	struct page_arr a;
	uint64_t i;

	CHECK_OK(page_pool_new(&p, 1, &e), &e);
	if (!p)
		return;
	page_arr_init(&a, p);
	CHECK_OK(page_arr_reserve(&a, WORDS * 8, &e), &e);
	for (i = 0; i < WORDS; i++)
		*(uint64_t *)page_at(&a, i * 8) = word(i, 1);
	CHECK(p->fd >= 0);
	CHECK_OK(page_pool_check(p, &e), &e);
	if (p->fd >= 0) {  /* the file can no longer be read */
		int w = open("/dev/null", O_WRONLY);

		CHECK(w >= 0 && dup2(w, p->fd) == p->fd);
		close(w);
	}
	CHECK_INT(*(uint64_t *)page_at(&a, 0), 0);
	CHECK(page_pool_check(p, &e) < 0);
	CHECK_INT(e.code, STRATA_EIO);
	page_arr_release(&a);
	page_pool_free(p);
}

/* A name tree in a small pool: every path found again after many more were added. */
TEST(pages_name_tree)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct ntree *t = NULL;
	char path[64], back[64];
	unsigned i, bad = 0;
	char *saved = unit_env_set("STRATA_PAGE_MEM", "1");

	CHECK_OK(ntree_new(&t, 4, NULL, &e), &e);
	unit_env_restore("STRATA_PAGE_MEM", saved);
	if (!t)
		return;
	for (i = 0; i < 60000; i++) {  /* spread: each path in another directory than the last */
		uint32_t n;

		snprintf(path, sizeof(path), "d%02u/e%03u/f%u", i % 37, i % 301, i);
		n = ntree_path(t, path, true, &e);
		CHECK(n != NTREE_NONE);
		if (n != NTREE_NONE)
			*(uint32_t *)ntree_data(t, n) = i + 1;
	}
	for (i = 0; i < 60000; i += 7) {
		uint32_t n;

		snprintf(path, sizeof(path), "d%02u/e%03u/f%u", i % 37, i % 301, i);
		n = ntree_path(t, path, false, &e);
		bad += n == NTREE_NONE || *(uint32_t *)ntree_data(t, n) != i + 1 ||
		       ntree_pathname(t, n, back, sizeof(back)) != strlen(path) || strcmp(back, path);
	}
	CHECK_INT(bad, 0);
	CHECK(ntree_path(t, "d01/e001/none", false, &e) == NTREE_NONE);
	CHECK(ntree_pool(t)->writes > 0);
	CHECK_OK(ntree_check(t, &e), &e);
	ntree_free(t);
}

/* STRATA_PAGE_MEM: bytes, or K, M, G (1024-based); what does not parse is the least. */
TEST(pages_env_bound)
{
	static const struct {
		const char *v;
		size_t frames;
	} cases[] = { { "1M", 64 }, { "2097152", 128 }, { "1g", 65536 }, { "64K", PAGE_KEEP }, { "12X", PAGE_KEEP },
		      { "M", PAGE_KEEP }, { "", PAGE_MEM_DEFAULT / PAGE_SIZE } };
	struct strata_err e = STRATA_ERR_INIT;
	char *saved = unit_env_set("STRATA_PAGE_MEM", "");
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct page_pool *p = NULL;

		setenv("STRATA_PAGE_MEM", cases[i].v, 1);
		CHECK_OK(page_pool_new(&p, 0, &e), &e);
		if (p)
			CHECK_INT(p->max, cases[i].frames);
		page_pool_free(p);
	}
	unit_env_restore("STRATA_PAGE_MEM", saved);
}

static void count_problem(void *ctx, enum severity sev, const char *msg)
{
	(void)sev;
	(void)msg;
	(*(unsigned *)ctx)++;
}

static int put_link(struct lfs *v, const char *name, const char *target, struct strata_err *e)
{
	struct lfs_in in = { LFS_ENTRY, name, TAR_SYMLINK, target, NULL };

	return lfs_apply(v, &in, NULL, e);
}

/* Symlink targets kept in pages: long ones across pages, read back while the
 * pool pages all the time, followed from link to link. */
TEST(pages_symlink_targets)
{
	struct strata_err e = STRATA_ERR_INIT;
	unsigned problems = 0, i;
	struct lfs_events ev = { &problems, NULL, count_problem, true };
	struct lfs_in dir = { LFS_ENTRY, "d", TAR_DIR, NULL, NULL };
	struct lfs *v = NULL;
	char name[32], *target = malloc(3100);
	char *saved = unit_env_set("STRATA_PAGE_MEM", "1");

	CHECK_OK(lfs_new(&v, &ev, &e), &e);
	unit_env_restore("STRATA_PAGE_MEM", saved);
	if (!v || !target) {
		lfs_free(v);
		free(target);
		return;
	}
	CHECK_INT(lfs_apply(v, &dir, NULL, &e), 1);
	CHECK_INT(put_link(v, "d/esc", "../../../..", &e), 1);  /* applied, and refused as escaping */
	CHECK_INT(problems, 1);
	CHECK_INT(put_link(v, "d/hop", "esc", &e), 1);  /* through esc: out too */
	CHECK_INT(problems, 2);
	for (i = 0; i < 2000; i++) {  /* 6 MB of targets that stay inside (x is absent: lexical) */
		size_t k;

		for (k = 0; k < 1500; k++)
			memcpy(target + 2 * k, "x/", 2);
		snprintf(target + 3000, 100, "y%u", i);
		snprintf(name, sizeof(name), "d/s%u", i);
		CHECK_INT(put_link(v, name, target, &e), 1);
	}
	CHECK_INT(problems, 2);
	CHECK(lfs_pool(v)->writes > 0);  /* the pool paged */
	CHECK_INT(put_link(v, "d/z", "hop/x", &e), 1);  /* hop -> esc -> ../../../..: out */
	CHECK_INT(problems, 3);
	/* s0's and s1999's long targets read back, then up 3 of their 1,501
	 * components: in (read wrong, as nothing, the ups would leave the root) */
	CHECK_INT(put_link(v, "d/w", "s1999/../../../..", &e), 1);
	CHECK_INT(put_link(v, "d/w0", "s0/../../../..", &e), 1);
	CHECK_INT(problems, 3);
	CHECK_OK(lfs_check(v, &e), &e);
	lfs_free(v);
	free(target);
}
