/*
 * alloc.c - every allocation of ours notes a failure (see strata_oom_note
 * in err.h).
 *
 * The build links with `-Wl,--wrap=malloc` (and calloc, realloc, strdup,
 * strndup), so the library's and the CLI's calls land here and reach the
 * real function as __real_*; libraries we link are not affected.  A NULL
 * here is still handled where it happens; this only makes sure the run
 * ends by saying memory ran out, whatever the caller made of the NULL.
 * Linked without --wrap (a fuzzer, say), these are simply unused.
 */
#include <stddef.h>

#include "err.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);

void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

/* NULL for a size of 0 is allowed (realloc(p, 0) frees p), not a shortage. */
static void *noted(void *p, size_t n)
{
	if (!p && n)
		strata_oom_note();
	return p;
}

void *__wrap_malloc(size_t n)
{
	return noted(__real_malloc(n), n);
}

void *__wrap_calloc(size_t n, size_t size)
{
	return noted(__real_calloc(n, size), n * size);
}

void *__wrap_realloc(void *p, size_t n)
{
	return noted(__real_realloc(p, n), n);
}

char *__wrap_strdup(const char *s)
{
	return noted(__real_strdup(s), 1);
}

char *__wrap_strndup(const char *s, size_t n)
{
	return noted(__real_strndup(s, n), 1);
}
