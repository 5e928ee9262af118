/* test_xsort.c - sorting records by key in bounded memory (common/xsort.h). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/xsort.h"
#include "unit.h"

/* Record i: key "k<h>" (h a scramble of i, every 7th key shared by two
 * records), its NUL, then "#<i>", a NUL and i % 50 bytes of 'x'. */
static size_t make_rec(char *buf, unsigned i)
{
	unsigned h = ((i - i % 7u / 6u) * 2654435761u) % 1000003u;
	size_t n = (size_t)snprintf(buf, 40, "k%u", h) + 1;

	n += (size_t)snprintf(buf + n, 20, "#%u", i) + 1;
	memset(buf + n, 'x', i % 50u);
	return n + i % 50u;
}

/* Add count records, read them all back: how many are out of order, wrong
 * or missing (-1 on an error). */
static long sort_check(struct xsort *x, unsigned count)
{
	struct strata_err e = STRATA_ERR_INIT;
	char buf[128], prev[40] = "", *seen = calloc(count ? count : 1, 1);
	unsigned i, prev_i = 0;
	long bad = 0;
	const void *p;
	size_t n;
	int k;

	for (i = 0; i < count; i++)
		if (xsort_add(x, buf, make_rec(buf, i), &e) < 0)
			return -1;
	for (i = 0; (k = xsort_next(x, &p, &n, &e)) == 1; i++) {
		const char *key = p;
		unsigned id = 0;
		int c = strcmp(prev, key);

		if (sscanf(key + strlen(key) + 1, "#%u", &id) != 1 || id >= count || seen[id]++) {
			bad++;
			continue;
		}
		bad += n != make_rec(buf, id) || memcmp(p, buf, n);
		bad += i && (c > 0 || (c == 0 && prev_i > id));  /* in key order; equal keys as added */
		snprintf(prev, sizeof(prev), "%s", key);
		prev_i = id;
	}
	free(seen);
	return k < 0 ? -1 : bad + (i != count);
}

TEST(xsort_in_memory)
{
	struct xsort x;

	xsort_init(&x, 64u << 20);
	CHECK_INT(sort_check(&x, 20000), 0);
	CHECK_INT(x.nruns, 0);
	CHECK_INT(x.s.fd, -1);  /* one batch: no file */
	xsort_release(&x);
	xsort_init(&x, 1024);
	CHECK_INT(sort_check(&x, 0), 0);  /* nothing to sort */
	xsort_release(&x);
}

TEST(xsort_runs_merged)
{
	struct xsort x;
	unsigned counts[] = { 1, 2, 300, 20000 };
	size_t i;

	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		xsort_init(&x, 4096);  /* a few dozen records a run */
		CHECK_INT(sort_check(&x, counts[i]), 0);
		CHECK(counts[i] < 300 || x.nruns > 2);
		CHECK(counts[i] < 20000 || x.nruns > 100);
		CHECK(counts[i] < 300 || x.s.fd >= 0);
		xsort_release(&x);
	}
}

TEST(xsort_large_record)
{
	struct strata_err e = STRATA_ERR_INIT;
	size_t big = XSORT_BLOCK + 12345, n;
	char *r = malloc(big);
	const void *p;
	struct xsort x;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		xsort_init(&x, pass ? 1024 : 64u << 20);
		memset(r, 'z', big);
		strcpy(r, "m");
		CHECK_OK(xsort_add(&x, r, big, &e), &e);
		CHECK_OK(xsort_add(&x, "a", 2, &e), &e);
		CHECK_OK(xsort_add(&x, "z", 2, &e), &e);
		CHECK_INT(xsort_next(&x, &p, &n, &e), 1);
		CHECK_STR(p, "a");
		CHECK_INT(xsort_next(&x, &p, &n, &e), 1);
		CHECK(n == big && !memcmp(p, r, big));
		CHECK_INT(xsort_next(&x, &p, &n, &e), 1);
		CHECK_STR(p, "z");
		CHECK_INT(xsort_next(&x, &p, &n, &e), 0);
		xsort_release(&x);
	}
	free(r);
}

TEST(xsort_refuses)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct xsort x;
	const void *p;
	size_t n;

	xsort_init(&x, 1024);
	CHECK(xsort_add(&x, "abc", 3, &e) < 0);  /* no NUL: no key */
	CHECK_OK(xsort_add(&x, "abc", 4, &e), &e);
	CHECK_INT(xsort_next(&x, &p, &n, &e), 1);
	CHECK(xsort_add(&x, "b", 2, &e) < 0);  /* after reading */
	CHECK_INT(xsort_next(&x, &p, &n, &e), 0);
	xsort_release(&x);
}

/* A run that cannot be read back is an error, not a short sort. */
TEST(xsort_read_error)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct xsort x;
	char buf[128];
	const void *p;
	unsigned i;
	size_t n;
	int k, fd;

	xsort_init(&x, 4096);
	for (i = 0; i < 5000; i++)
		CHECK_OK(xsort_add(&x, buf, make_rec(buf, i), &e), &e);
	CHECK(x.nruns > 1 && x.s.fd >= 0);
	fd = open("/dev/null", O_RDONLY);  /* reads as empty */
	CHECK(fd >= 0 && dup2(fd, x.s.fd) >= 0);
	close(fd);
	while ((k = xsort_next(&x, &p, &n, &e)) == 1)
		;
	CHECK(k < 0);
	CHECK_INT(e.code, STRATA_EIO);
	xsort_release(&x);
}
