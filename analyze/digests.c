/* digests.c - the content digests of the walks, kept outside the entries; see files.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyze/files.h"

#define DIG 32
#define CACHE 8                   /* digests read from the file at once: a line of the cache */
#define LINES 4096                /* lines (1 MiB).  diff reads two images' digests in path order,
				   * which is the order hashed only when the layers list their files
				   * in order: short lines, many of them, a read syscall each miss */
#define TAIL_FLUSH (64u << 10)    /* bytes of the tail written out at once */

/*
 * Digest k is in mem (k < nmem), else in the file (k < nmem + nfile), else
 * in tail: mem fills first, up to DIGESTS_MEM bytes; then tail, written to
 * the file whenever it holds TAIL_FLUSH bytes, unless no_file (the file
 * could not be made or written: tail then keeps the rest).  The cache,
 * made at the first read from the file, holds runs of CACHE digests of it,
 * each in the line its run's number hashes to (n: how many it holds).
 */
static struct {
	uint8_t *mem, *tail;
	size_t nmem, amem, ntail, atail;
	uint64_t nfile;
	int fd;
	bool no_file;
	unsigned long refs;
	struct line {
		uint64_t run;
		size_t n;
		uint8_t d[CACHE * DIG];
	} *line;
	struct strata_err fail;   /* the first read that failed (code 0: none) */
} ds = { .fd = -1 };

static int grow(uint8_t **p, size_t n, size_t *alloc, struct strata_err *e)
{
	size_t na = *alloc ? *alloc * 2 : 1024;
	uint8_t *np;

	if (n < *alloc)
		return 0;
	if (!(np = realloc(*p, na * DIG)))
		return err_nomem(e, "content digests");
	*p = np;
	*alloc = na;
	return 0;
}

/* The tail to the end of the file (made at the first call); false when it cannot be. */
static bool flush_tail(void)
{
	size_t n = ds.ntail * DIG, done = 0;

	if (ds.fd < 0) {
		const char *dir = getenv("TMPDIR");
		char path[4096];

		if (!dir || !*dir)
			dir = "/tmp";
		if ((size_t)snprintf(path, sizeof(path), "%s/strata-digests-XXXXXX", dir) >= sizeof(path) ||
		    (ds.fd = mkstemp(path)) < 0)
			return false;
		unlink(path);  /* nothing is left, however the run ends */
	}
	while (done < n) {
		ssize_t w = pwrite(ds.fd, ds.tail + done, n - done, (off_t)((ds.nfile * DIG) + done));

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		done += (size_t)w;
	}
	ds.nfile += ds.ntail;
	ds.ntail = 0;
	return true;
}

int digests_add(const uint8_t d[32], uint64_t *no, struct strata_err *e)
{
	*no = ds.nmem + ds.nfile + ds.ntail;
	if (!ds.nfile && !ds.ntail && (ds.nmem + 1) * DIG <= DIGESTS_MEM) {
		if (grow(&ds.mem, ds.nmem, &ds.amem, e) < 0)
			return -e->code;
		memcpy(ds.mem + ds.nmem++ * DIG, d, DIG);
		return 0;
	}
	if (grow(&ds.tail, ds.ntail, &ds.atail, e) < 0)
		return -e->code;
	memcpy(ds.tail + ds.ntail++ * DIG, d, DIG);
	if (!ds.no_file && ds.ntail * DIG >= TAIL_FLUSH && !flush_tail())
		ds.no_file = true;  /* what is still to come stays in memory */
	return 0;
}

const uint8_t *digests_get(uint64_t no, uint8_t out[32])
{
	struct line *l;
	uint64_t k, first;
	size_t want, got = 0;

	if (no < ds.nmem)
		return memcpy(out, ds.mem + no * DIG, DIG);
	k = no - ds.nmem;
	if (k >= ds.nfile) {
		if (k - ds.nfile >= ds.ntail)
			return NULL;
		return memcpy(out, ds.tail + (k - ds.nfile) * DIG, DIG);
	}
	if (!ds.line && !(ds.line = calloc(LINES, sizeof(*ds.line)))) {
		if (!ds.fail.code)
			err_nomem(&ds.fail, "content digests");
		return NULL;
	}
	l = &ds.line[(size_t)((k / CACHE * 0x9e3779b97f4a7c15ull) >> 52) % LINES];  /* 12 bits */
	if (l->n && l->run == k / CACHE)
		return memcpy(out, l->d + (k % CACHE) * DIG, DIG);
	first = k / CACHE * CACHE;
	want = ds.nfile - first < CACHE ? (size_t)(ds.nfile - first) : CACHE;
	l->n = 0;
	while (got < want * DIG) {
		ssize_t r = pread(ds.fd, l->d + got, want * DIG - got, (off_t)(first * DIG + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (!ds.fail.code)
				err_sys(&ds.fail, r < 0 ? errno : EIO, "cannot read the content digests back from their "
					"temp file");
			return NULL;
		}
		got += (size_t)r;
	}
	l->run = k / CACHE;
	l->n = want;
	return memcpy(out, l->d + (k % CACHE) * DIG, DIG);
}

int digests_check(struct strata_err *e)
{
	if (!ds.fail.code)
		return 0;
	*e = ds.fail;
	return -e->code;
}

void digests_ref(void)
{
	ds.refs++;
}

void digests_unref(void)
{
	if (!ds.refs || --ds.refs)
		return;
	{
	struct strata_err fail = ds.fail;  /* for digests_check(), after the sources are gone too */

	free(ds.mem);
	free(ds.tail);
	free(ds.line);
	if (ds.fd >= 0)
		close(ds.fd);
	memset(&ds, 0, sizeof(ds));
	ds.fd = -1;
	ds.fail = fail;
	}
}
