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
/* The exit class the problems imply: 0, or the most serious class among errors
 * (EFORMAT over EVERIFY: input we cannot trust the structure of comes first). */
int diag_exit_code(const struct diag *d);
size_t diag_count(const struct diag *d, enum severity sev);
/* Forget the problems recorded after the list had len of them and dropped
 * others (a source read again from its start). */
void diag_truncate(struct diag *d, size_t len, size_t dropped);
void diag_release(struct diag *d);

#endif
