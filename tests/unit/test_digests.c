/* test_digests.c - the content digests kept outside the entries (analyze/files.h). */
#include <stdlib.h>
#include <string.h>

#include "analyze/files.h"
#include "tests/unit/unit.h"

static void make(uint64_t k, uint8_t d[32])
{
	size_t i;

	for (i = 0; i < 32; i++)
		d[i] = (uint8_t)((k * 2654435761u) >> (i % 8) ^ (k >> 8) ^ i);
}

/* n digests stored, then read back in order, backwards and by stride. */
static void store_and_read(uint64_t n)
{
	struct strata_err e = STRATA_ERR_INIT;
	uint8_t want[32], got[32];
	uint64_t k, no;

	digests_ref();
	for (k = 0; k < n; k++) {
		make(k, want);
		CHECK_OK(digests_add(want, &no, &e), &e);
		if (no != k) {
			CHECK_INT(no, k);
			break;
		}
	}
	for (k = 0; k < n; k++) {
		make(k, want);
		if (!digests_get(k, got) || memcmp(got, want, 32)) {
			CHECK(!"digest read back in order");
			break;
		}
	}
	for (k = n; k-- > 0;) {
		make(k, want);
		if (!digests_get(k, got) || memcmp(got, want, 32)) {
			CHECK(!"digest read back backwards");
			break;
		}
	}
	for (k = 0; k < n; k += 997) {
		make(k, want);
		CHECK(digests_get(k, got) && !memcmp(got, want, 32));
	}
	CHECK(digests_get(n, got) == NULL);  /* none stored there */
	CHECK_INT(digests_check(&e), 0);
	digests_unref();  /* the last one: the store starts again from 0 */
	make(7, want);
	digests_ref();
	CHECK_OK(digests_add(want, &no, &e), &e);
	CHECK_INT(no, 0);
	digests_unref();
}

/* Past DIGESTS_MEM the digests go to a temp file, and come back from it. */
TEST(digests_memory_then_file)
{
	store_and_read(DIGESTS_MEM / 32 * 3 + 4321);
}

/* With no temp file to be had, they stay in memory and still come back. */
TEST(digests_without_temp_file)
{
	const char *old = getenv("TMPDIR");
	char *keep = old ? strdup(old) : NULL;

	setenv("TMPDIR", "/nonexistent/strata-unit", 1);
	store_and_read(DIGESTS_MEM / 32 + 70000);
	if (keep)
		setenv("TMPDIR", keep, 1);
	else
		unsetenv("TMPDIR");
	free(keep);
}
