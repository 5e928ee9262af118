/* buf.c - capped growable buffer; see buf.h. */
#include "buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t cap)
{
	b->data = NULL;
	b->len = b->alloc = 0;
	b->cap = cap;
}

static int grow(struct buf *b, size_t need, struct strata_err *e)
{
	size_t want;
	char *p;

	if (need > b->cap)
		return err_set(e, STRATA_EFORMAT, "too large (over %zu bytes)", b->cap);
	if (need + 1 <= b->alloc)
		return 0;
	want = b->alloc ? b->alloc : 256;
	while (want < need + 1)
		want *= 2;
	if (want > b->cap + 1)
		want = b->cap + 1;
	p = realloc(b->data, want);
	if (!p)
		return err_nomem(e, "buffer");
	b->data = p;
	b->alloc = want;
	return 0;
}

int buf_add(struct buf *b, const void *p, size_t n, struct strata_err *e)
{
	int r;

	if (n > b->cap - b->len)
		return err_set(e, STRATA_EFORMAT, "too large (over %zu bytes)", b->cap);
	if ((r = grow(b, b->len + n, e)) < 0)
		return r;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int buf_addstr(struct buf *b, const char *s, struct strata_err *e)
{
	return buf_add(b, s, strlen(s), e);
}

int buf_printf(struct buf *b, struct strata_err *e, const char *fmt, ...)
{
	va_list ap;
	int n, r;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return err_set(e, STRATA_EIO, "bad format");
	if ((size_t)n > b->cap - b->len)
		return err_set(e, STRATA_EFORMAT, "too large (over %zu bytes)", b->cap);
	if ((r = grow(b, b->len + (size_t)n, e)) < 0)
		return r;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void buf_release(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->alloc = 0;
}

char *buf_detach(struct buf *b, size_t *len)
{
	char *p = b->data;

	if (!p) {
		p = calloc(1, 1);
	} else if (b->alloc > b->len + 1) {
		/* a kept string holds no slack: a buffer grows by doubling from 256
		 * bytes, and detached strings are kept by the thousand (purls, the
		 * SBOM's kept files) */
		p = alloc_shrink(p, b->len + 1);
	}
	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = b->alloc = 0;
	return p;
}

int buf_flush(struct buf *b, size_t at, buf_write_fn w, void *ctx, struct strata_err *e)
{
	int r = 0;

	if (b->len && b->len >= at) {
		r = w(ctx, b->data, b->len, e);
		buf_reset(b);
	}
	return r;
}

int array_grow(void *vp, size_t n, size_t *alloc, size_t size, size_t first)
{
	size_t na = *alloc ? *alloc * 2 : first;
	void *v, *nv;

	if (n < *alloc)
		return 0;
	if (na < *alloc || na > SIZE_MAX / size)
		return -1;
	memcpy(&v, vp, sizeof(v));  /* the caller's typed pointer, read without aliasing it */
	if (!(nv = realloc(v, na * size)))
		return -1;
	memcpy(vp, &nv, sizeof(nv));
	*alloc = na;
	return 0;
}
