/*
 * err.h - error context carried through the library.
 *
 * Every library function that can fail takes a `struct strata_err *` as its
 * last argument, returns 0 on success and a negative STRATA_E* code on
 * failure, and fills the context with one line of text.  Callers add context
 * outermost-last with err_wrap(), so the final message reads
 *   layer 3 (sha256:ab12...): gzip: unexpected end of stream
 * The message lives in a fixed buffer: reporting never allocates, so an
 * out-of-memory condition can be reported too.  The library never prints.
 */
#ifndef STRATA_ERR_H
#define STRATA_ERR_H

#include <stddef.h>

/* Result classes; they are also the process exit codes (see README). */
enum {
	STRATA_OK = 0,
	STRATA_EVERIFY = 1, /* content does not match its digest, size or diff_id */
	STRATA_EUSAGE = 2,  /* bad command line */
	STRATA_EIO = 3,     /* I/O or system error, out of memory */
	STRATA_EFORMAT = 4, /* malformed or unsupported input */
};

#define STRATA_ERR_MAX 1024

struct strata_err {
	int code;                  /* one of the classes above, 0 when clear */
	char msg[STRATA_ERR_MAX];  /* one line, no trailing newline */
};

#define STRATA_ERR_INIT { 0, { 0 } }

/* Record an error and return -code, so `return err_set(e, ...)` reads well. */
int err_set(struct strata_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* As err_set, appending ": strerror(errnum)". */
int err_sys(struct strata_err *e, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Out of memory, with what was being allocated.  Also notes the shortage
 * (strata_oom_note). */
int err_nomem(struct strata_err *e, const char *what);

/*
 * Running out of memory is sticky: once an allocation failed, anything the
 * run goes on to find (a document that "does not parse", a layer that "is
 * not a tar", a blob "missing") may be the shortage in disguise, so the CLI
 * reports the shortage instead (exit 3).  Noted by err_nomem(), by cJSON's
 * allocator (formats/json.c) and by the allocation wrappers the build links
 * in (common/alloc.c); safe from any thread; never cleared.
 */
void strata_oom_note(void);
int strata_oom_seen(void);
/* p (from malloc) made n bytes, n at most its size: the smaller block, or
 * p itself when realloc() could not move it, which is no shortage and is
 * not noted. */
void *alloc_shrink(void *p, size_t n);

/* Prefix the current message with context ("layer 3: " + msg); returns -code. */
int err_wrap(struct strata_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void err_clear(struct strata_err *e);

#endif
