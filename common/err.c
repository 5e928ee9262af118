/* err.c - the error context; see err.h. */
#include "err.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_int oom;
/* Set while alloc_shrink() calls realloc(): a failure then costs nothing.
 * volatile: the compiler may take realloc() for the builtin that reads no
 * variable of ours, and drop the store before it. */
static _Thread_local volatile int shrinking;

void strata_oom_note(void)
{
	if (!shrinking)
		atomic_store_explicit(&oom, 1, memory_order_relaxed);
}

void *alloc_shrink(void *p, size_t n)
{
	void *q;

	if (!n)
		return p;
	shrinking = 1;
	q = realloc(p, n);
	shrinking = 0;
	return q ? q : p;
}

int strata_oom_seen(void)
{
	return atomic_load_explicit(&oom, memory_order_relaxed);
}

static void sanitize(char *s)
{
	/* Messages are one line: a newline or control byte from input data
	 * (a member name, say) must not break the line-per-problem contract. */
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

int err_set(struct strata_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	sanitize(e->msg);
	return -code;
}

int err_sys(struct strata_err *e, int errnum, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	e->code = STRATA_EIO;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	n = strlen(e->msg);
	snprintf(e->msg + n, sizeof(e->msg) - n, ": %s", strerror(errnum));
	sanitize(e->msg);
	return -STRATA_EIO;
}

int err_nomem(struct strata_err *e, const char *what)
{
	strata_oom_note();
	return err_set(e, STRATA_EIO, "out of memory (%s)", what);
}

int err_wrap(struct strata_err *e, const char *fmt, ...)
{
	char prefix[STRATA_ERR_MAX], old[STRATA_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	size_t n;

	memcpy(old, e->msg, sizeof(old));
	n = strnlen(prefix, sizeof(e->msg) - 3);
	memcpy(e->msg, prefix, n);
	memcpy(e->msg + n, ": ", 2);
	n += 2;
	memcpy(e->msg + n, old, strnlen(old, sizeof(e->msg) - n - 1));
	e->msg[n + strnlen(old, sizeof(e->msg) - n - 1)] = '\0';
	sanitize(e->msg);
	if (e->code == 0)
		e->code = STRATA_EIO;
	return -e->code;
}

void err_clear(struct strata_err *e)
{
	e->code = 0;
	e->msg[0] = '\0';
}
