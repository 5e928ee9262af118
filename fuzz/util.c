/* util.c - helpers the fuzz targets share; see fuzz.h. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz/fuzz.h"

struct chunked {
	struct stream s;
	const uint8_t *p;
	size_t n, off, chunk;
};

static int chunked_next(struct stream *s, const uint8_t **p, size_t *n, struct strata_err *e)
{
	struct chunked *c = (struct chunked *)s;
	size_t k = c->n - c->off;

	(void)e;
	if (c->chunk && k > c->chunk)
		k = c->chunk;
	*p = c->p + c->off;
	*n = k;
	c->off += k;
	return 0;
}

static void chunked_free(struct stream *s)
{
	free(s);
}

static const struct stream_ops chunked_ops = { "fuzz-chunked", chunked_next, chunked_free };

struct stream *fuzz_chunked_new(const uint8_t *p, size_t n, size_t chunk)
{
	struct chunked *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->s.ops = &chunked_ops;
	c->p = p;
	c->n = n;
	c->chunk = chunk;
	return &c->s;
}

size_t fuzz_chunk_for(size_t n)
{
	static const size_t sizes[] = { 0, 1, 7, 511, 4096 };

	return sizes[n % (sizeof(sizes) / sizeof(sizes[0]))];
}

const char *fuzz_source_ref(const uint8_t *data, size_t size)
{
	static const char *const prefix[8] = { "", "", "", "", "", "docker-archive:", "oci-archive:", "rootfs:" };
	static int memfd = -1;
	static char ref[64];
	size_t off = 0;

	if (memfd < 0 && (memfd = memfd_create("strata-fuzz", MFD_CLOEXEC)) < 0)
		abort();
	if (ftruncate(memfd, 0) < 0)
		abort();
	while (off < size) {
		ssize_t k = pwrite(memfd, data + off, size - off, (off_t)off);

		if (k <= 0)
			abort();
		off += (size_t)k;
	}
	snprintf(ref, sizeof(ref), "%s/dev/fd/%d", prefix[size % 8], memfd);
	return ref;
}
