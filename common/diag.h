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
	const char *id;    /* a PROBLEM_* code for machines, static; never NULL */
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

/*
 * The stable machine codes of problems (verify --json "id", listed in
 * docs/schema/verify.schema.json and strata.1): a small vocabulary that
 * only grows.  Problems recorded without one are "other".
 */
#define PROBLEM_DIGEST_MISMATCH "digest-mismatch"   /* a blob's bytes do not match their digest */
#define PROBLEM_SIZE_MISMATCH   "size-mismatch"     /* ... or their declared size */
#define PROBLEM_DIFF_ID_MISMATCH "diff-id-mismatch" /* a layer's tar does not match its diff_id */
#define PROBLEM_MISSING_BLOB    "missing-blob"      /* a document names a blob the source lacks */
#define PROBLEM_FOREIGN_LAYER   "foreign-layer"     /* ... a foreign layer, fetched from its urls */
#define PROBLEM_MEDIA_TYPE      "media-type"        /* a media type that says other than the bytes */
#define PROBLEM_BAD_LAYER       "bad-layer"         /* a layer that cannot be decoded or is no tar */
#define PROBLEM_BAD_JSON        "bad-json"          /* a document that is no valid (strict) JSON */
#define PROBLEM_BAD_CONFIG      "bad-config"        /* an image config that breaks the spec */
#define PROBLEM_LAYER_COUNT     "layer-count"       /* manifest and config disagree on layers */
#define PROBLEM_UNSAFE_PATH     "unsafe-path"       /* an archive member leaving the root */
#define PROBLEM_DUPLICATE       "duplicate"         /* a member or layer entry name more than once */
#define PROBLEM_TRUNCATED       "truncated"         /* the archive ends early */
#define PROBLEM_LIMIT           "limit"             /* input beyond a --max-* limit */
#define PROBLEM_UNSAFE_ENTRY    "unsafe-entry"      /* a layer entry, alone or stacked, judged unsafe */
#define PROBLEM_UNSUPPORTED     "unsupported"       /* valid but not supported (sha512 diff_ids) */
#define PROBLEM_PACKAGE_DB      "package-db"        /* a package database or manifest that cannot be read */
#define PROBLEM_OTHER           "other"

/* Record a problem; out of memory drops it silently (counted). */
void diag_add(struct diag *d, enum severity sev, int code, const char *member, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* The same with a PROBLEM_* id. */
void diag_add_id(struct diag *d, enum severity sev, int code, const char *id, const char *member, const char *fmt,
		 ...) __attribute__((format(printf, 6, 7)));
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
/* Append from's problems to to's (to's bound applies; what does not fit is
 * counted as dropped) and empty from. */
void diag_move(struct diag *to, struct diag *from);
void diag_release(struct diag *d);

#endif
