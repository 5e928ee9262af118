/* strmap.c - string hash map; see strmap.h. */
#include "strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;  /* FNV-1a */

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

static uint32_t *find(const struct strmap *m, const char *key)
{
	size_t i;

	if (!m->nslots)
		return NULL;
	for (i = hash(key) & (m->nslots - 1);; i = (i + 1) & (m->nslots - 1)) {
		uint32_t *s = &m->slots[i];

		if (!*s || !strcmp(m->items[*s - 1].key, key))
			return s;
	}
}

void *strmap_get(const struct strmap *m, const char *key)
{
	uint32_t *s = find(m, key);

	return s && *s ? m->items[*s - 1].val : NULL;
}

const char *strmap_key(const struct strmap *m, const char *key)
{
	uint32_t *s = find(m, key);

	return s && *s ? m->items[*s - 1].key : NULL;
}

static int rehash(struct strmap *m, struct strata_err *e)
{
	size_t n = m->nslots ? m->nslots * 2 : 64, i;
	uint32_t *slots = calloc(n, sizeof(*slots));

	if (!slots)
		return err_nomem(e, "map");
	free(m->slots);
	m->slots = slots;
	m->nslots = n;
	for (i = 0; i < m->len; i++)
		*find(m, m->items[i].key) = (uint32_t)(i + 1);
	return 0;
}

static int put(struct strmap *m, const char *key, void *val, bool copy, struct strata_err *e)
{
	uint32_t *s;
	int r;

	if (m->len >= UINT32_MAX - 1)
		return err_nomem(e, "map");
	if ((m->len + 1) * 2 > m->nslots && (r = rehash(m, e)) < 0)
		return r;
	s = find(m, key);
	if (*s) {
		m->items[*s - 1].val = val;
		return 0;
	}
	if (array_grow(&m->items, m->len, &m->alloc, sizeof(*m->items), 32) < 0)
		return err_nomem(e, "map");
	if (!copy)
		m->items[m->len].key = (char *)key;
	else if (!(m->items[m->len].key = strdup(key)))
		return err_nomem(e, "map");
	m->items[m->len].val = val;
	*s = (uint32_t)++m->len;
	return 0;
}

int strmap_put(struct strmap *m, const char *key, void *val, struct strata_err *e)
{
	return put(m, key, val, true, e);
}

int strmap_put_ref(struct strmap *m, const char *key, void *val, struct strata_err *e)
{
	m->borrowed = true;
	return put(m, key, val, false, e);
}

void strmap_release(struct strmap *m)
{
	size_t i;

	for (i = 0; i < m->len && !m->borrowed; i++)
		free(m->items[i].key);
	free(m->items);
	free(m->slots);
	memset(m, 0, sizeof(*m));
}
