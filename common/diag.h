/*
 * diag.h - the list of problems a verify or analyze run collects.
 *
 * A run does not stop at the first bad blob: each problem is recorded with
 * its severity, its class (the exit code it implies) and the archive member
 * it concerns, and the run goes on.  Only a broken outer container or an OS
 * failure ends a run early.  Strings are copied; the list owns them.
 */
#ifndef STRATA_DIAG_H
#define STRATA_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include "err.h"

enum severity { SEV_WARNING, SEV_ERROR };

struct problem {
	enum severity sev;
	int code;          /* STRATA_EVERIFY or STRATA_EFORMAT (or EIO) */
	char *member;      /* archive member concerned ("" for the archive itself) */
	char *msg;
};

struct diag {
	struct problem *v;
	size_t len, alloc;
	size_t max;        /* stop recording past this many (a count is kept) */
	size_t dropped;
};

#define DIAG_INIT { NULL, 0, 0, 10000, 0 }

/* Record a problem; out of memory drops it silently (counted). */
void diag_add(struct diag *d, enum severity sev, int code, const char *member, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* The exit class the problems imply: 0, or the most serious class among errors:
 * EVERIFY first (content that is not what its digest says is the problem,
 * whatever else is wrong inside it), then EFORMAT, then EIO. */
int diag_exit_code(const struct diag *d);
size_t diag_count(const struct diag *d, enum severity sev);
/* The list as a reader leaves it: with strict, every warning becomes an
 * error; then the content mismatches (STRATA_EVERIFY errors) come first,
 * the rest keeping their order. */
void diag_settle(struct diag *d, bool strict);
/* Forget the problems recorded after the list had len of them and dropped
 * others (a source read again from its start). */
void diag_truncate(struct diag *d, size_t len, size_t dropped);
void diag_release(struct diag *d);

#endif
