/*
 * strmap.h - string-keyed hash map (open addressing, linear probing).
 *
 * Keys are copied and owned by the map (strmap_put), or borrowed from the
 * caller (strmap_put_ref: the map holds path-keyed state of a million files
 * for 24 to 32 bytes each, no copy of the path); one map holds one kind.
 * Values are borrowed pointers the map never frees.  Iteration order is
 * insertion order (entries are also kept in an array), so output built from
 * a map is deterministic.  At most UINT32_MAX - 1 keys.
 */
#ifndef STRATA_STRMAP_H
#define STRATA_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "err.h"

struct strmap_item {
	char *key;
	void *val;
};

struct strmap {
	struct strmap_item *items;  /* insertion order */
	size_t len, alloc;
	uint32_t *slots;            /* index+1 into items, 0 = empty */
	size_t nslots;
	bool borrowed;              /* keys are the caller's (strmap_put_ref) */
};

#define STRMAP_INIT { NULL, 0, 0, NULL, 0, false }

void *strmap_get(const struct strmap *m, const char *key);
/* The map's own copy of key (valid until release), or NULL when absent. */
const char *strmap_key(const struct strmap *m, const char *key);
/* Insert or replace; returns 0 or -STRATA_EIO on out of memory. */
int strmap_put(struct strmap *m, const char *key, void *val, struct strata_err *e);
/* The same, key borrowed: it must stay valid and unchanged while the map
 * lives.  Not to be mixed with strmap_put on one map. */
int strmap_put_ref(struct strmap *m, const char *key, void *val, struct strata_err *e);
void strmap_release(struct strmap *m);

#endif
