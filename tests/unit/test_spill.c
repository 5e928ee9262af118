/* test_spill.c - record logs that spill to a temp file past a bound (common/spill.h). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/spill.h"
#include "unit.h"

/* Record i of a log: "r<i>-" then (i * 7) % 300 bytes of 'a' + i % 26. */
static size_t make_rec(char *buf, unsigned i)
{
	size_t n = (size_t)snprintf(buf, 32, "r%u-", i), k = (i * 7u) % 300u;

	memset(buf + n, 'a' + (int)(i % 26u), k);
	return n + k;
}

/* Read l back whole: how many records differ from make_rec's (-1 on an error). */
static long check_log(const struct spill_log *l, unsigned count)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct spill_reader r;
	char want[400];
	const void *p;
	size_t n;
	unsigned i = 0;
	long bad = 0;
	int k;

	spill_read_init(&r, l);
	while ((k = spill_read(&r, &p, &n, &e)) == 1) {
		size_t wn = make_rec(want, i++);

		bad += n != wn || memcmp(p, want, n);
	}
	spill_read_release(&r);
	if (k < 0)
		return -1;
	return bad + (i != count);
}

TEST(spill_in_memory)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct spill s;
	struct spill_log l, empty;
	char buf[400];
	unsigned i;

	spill_init(&s, 64u << 20);
	spill_log_init(&l, &s);
	spill_log_init(&empty, &s);
	for (i = 0; i < 5000; i++)
		CHECK_OK(spill_log_add(&l, buf, make_rec(buf, i), &e), &e);
	CHECK_INT(check_log(&l, 5000), 0);  /* while it is being written */
	CHECK_OK(spill_log_seal(&l, &e), &e);
	CHECK_OK(spill_log_seal(&empty, &e), &e);
	CHECK_INT(check_log(&l, 5000), 0);
	CHECK_INT(check_log(&l, 5000), 0);  /* as often as wanted */
	CHECK_INT(check_log(&empty, 0), 0);
	CHECK_INT(s.fd, -1);               /* under the bound: no file */
	CHECK_INT(l.records, 5000);
	spill_log_release(&l);
	spill_log_release(&empty);
	CHECK_INT(s.mem, 0);
}

TEST(spill_to_file)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct spill s;
	struct spill_log a, b;
	char buf[400], *big;
	unsigned i;

	spill_init(&s, 100u << 10);  /* two chunks */
	spill_log_init(&a, &s);
	spill_log_init(&b, &s);
	for (i = 0; i < 20000; i++) {  /* interleaved: the two logs share the file */
		CHECK_OK(spill_log_add(&a, buf, make_rec(buf, i), &e), &e);
		if (i < 15000)
			CHECK_OK(spill_log_add(&b, buf, make_rec(buf, i), &e), &e);
	}
	CHECK(s.fd >= 0);
	CHECK(s.mem <= s.mem_max + 2 * SPILL_CHUNK);
	CHECK_OK(spill_log_seal(&a, &e), &e);
	CHECK_INT(check_log(&a, 20000), 0);
	CHECK_INT(check_log(&b, 15000), 0);  /* not sealed: its last chunk is read from memory */
	CHECK_OK(spill_log_seal(&b, &e), &e);
	CHECK_INT(check_log(&b, 15000), 0);
	CHECK(s.mem <= s.mem_max + SPILL_CHUNK);

	/* a record larger than a chunk, in memory and through the file */
	big = malloc(3 * SPILL_CHUNK);
	CHECK(big != NULL);
	if (big) {
		struct spill_log c;
		struct spill_reader r;
		const void *p;
		size_t n;

		memset(big, 'x', 3 * SPILL_CHUNK);
		spill_log_init(&c, &s);
		CHECK_OK(spill_log_add(&c, "small", 5, &e), &e);
		CHECK_OK(spill_log_add(&c, big, 3 * SPILL_CHUNK, &e), &e);
		CHECK_OK(spill_log_add(&c, "", 0, &e), &e);
		CHECK_OK(spill_log_add(&c, "after", 5, &e), &e);
		CHECK_OK(spill_log_seal(&c, &e), &e);
		spill_read_init(&r, &c);
		CHECK_INT(spill_read(&r, &p, &n, &e), 1);
		CHECK(n == 5 && !memcmp(p, "small", 5));
		CHECK_INT(spill_read(&r, &p, &n, &e), 1);
		CHECK(n == 3 * SPILL_CHUNK && !memcmp(p, big, n));
		CHECK_INT(spill_read(&r, &p, &n, &e), 1);
		CHECK_INT(n, 0);
		CHECK_INT(spill_read(&r, &p, &n, &e), 1);
		CHECK(n == 5 && !memcmp(p, "after", 5));
		CHECK_INT(spill_read(&r, &p, &n, &e), 0);
		spill_read_release(&r);
		spill_log_release(&c);
		free(big);
	}
	spill_log_release(&a);
	CHECK(s.fd >= 0);  /* b still reads it */
	spill_log_release(&b);
	CHECK_INT(s.fd, -1);
	CHECK_INT(s.mem, 0);
	CHECK_INT(s.logs, 0);
}

/* No temp file (a read-only or full TMPDIR): the records stay in memory. */
TEST(spill_no_temp_dir)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct spill s;
	struct spill_log l;
	char buf[400];
	char *saved = unit_env_set("TMPDIR", "/nonexistent/strata-unit");
	unsigned i;

	spill_init(&s, 0);
	spill_log_init(&l, &s);
	for (i = 0; i < 2000; i++)
		CHECK_OK(spill_log_add(&l, buf, make_rec(buf, i), &e), &e);
	CHECK_OK(spill_log_seal(&l, &e), &e);
	CHECK(s.no_file);
	CHECK_INT(s.fd, -1);
	CHECK_INT(check_log(&l, 2000), 0);
	spill_log_release(&l);
	CHECK_INT(s.mem, 0);
	unit_env_restore("TMPDIR", saved);
}
