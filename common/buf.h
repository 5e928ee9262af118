/*
 * buf.h - growable byte buffer with a hard cap (curl's dynbuf idea), and
 * array_grow() for the arrays that grow an element at a time.
 *
 * Every read of untrusted metadata goes through a buf whose cap is set at
 * init time; an append past the cap fails with STRATA_EFORMAT ("too large")
 * instead of growing.  Invariants: `data` is NULL or NUL-terminated at
 * data[len]; len <= cap.  buf_release() frees the storage; buf_detach()
 * hands it to the caller, who then owns it and must free() it.
 */
#ifndef STRATA_BUF_H
#define STRATA_BUF_H

#include <stddef.h>
#include "err.h"

struct buf {
	char *data;
	size_t len;
	size_t alloc;
	size_t cap;   /* the largest len allowed */
};

#define BUF_INIT(capacity) { NULL, 0, 0, (capacity) }

void buf_init(struct buf *b, size_t cap);
/* Append n bytes; on failure the buffer is left as it was. */
int buf_add(struct buf *b, const void *p, size_t n, struct strata_err *e);
int buf_addstr(struct buf *b, const char *s, struct strata_err *e);
int buf_printf(struct buf *b, struct strata_err *e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void buf_reset(struct buf *b);            /* len = 0, keeps storage */
void buf_release(struct buf *b);          /* frees storage, keeps cap */
/* The data, len bytes and a NUL in an allocation of that size (the
 * caller owns it); the buffer is left empty.  Never NULL unless OOM. */
char *buf_detach(struct buf *b, size_t *len);

/* Where a document too large to hold goes, in pieces (a report, an SBOM):
 * each call takes the next n bytes; 0, or <0 with e (it stops there). */
typedef int (*buf_write_fn)(void *ctx, const char *p, size_t n, struct strata_err *e);
/* Hand what b holds to w and empty b, once it holds at least at bytes (at
 * 1: whenever it holds any).  0, or w's error. */
int buf_flush(struct buf *b, size_t at, buf_write_fn w, void *ctx, struct strata_err *e);

/* Room for element n of an array: vp is the address of the array's pointer
 * (struct x **, NULL when empty), *alloc its elements of size bytes.  When
 * n == *alloc the array is reallocated to twice as many (first when empty)
 * and *alloc updated.  0, or -1 when out of memory: the array and *alloc
 * are left as they were, still the caller's.  Usage:
 *   if (array_grow(&l->v, l->len, &l->alloc, sizeof(*l->v), 64) < 0)
 *           return err_nomem(e, "list"); */
int array_grow(void *vp, size_t n, size_t *alloc, size_t size, size_t first);

#endif
