/*
 * strmap.h - string-keyed hash map (open addressing, linear probing).
 *
 * Keys are copied and owned by the map; values are borrowed pointers the map
 * never frees.  Iteration order is insertion order (entries are also kept in
 * an array), so output built from a map is deterministic.
 */
#ifndef STRATA_STRMAP_H
#define STRATA_STRMAP_H

#include <stddef.h>
#include "err.h"

struct strmap_item {
	char *key;
	void *val;
};

struct strmap {
	struct strmap_item *items;  /* insertion order */
	size_t len, alloc;
	size_t *slots;              /* index+1 into items, 0 = empty */
	size_t nslots;
};

#define STRMAP_INIT { NULL, 0, 0, NULL, 0 }

void *strmap_get(const struct strmap *m, const char *key);
/* The map's own copy of key (valid until release), or NULL when absent. */
const char *strmap_key(const struct strmap *m, const char *key);
/* Insert or replace; returns 0 or -STRATA_EIO on out of memory. */
int strmap_put(struct strmap *m, const char *key, void *val, struct strata_err *e);
void strmap_release(struct strmap *m);

#endif
