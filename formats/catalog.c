/* catalog.c - members found by a scan; see catalog.h. */
#include "catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/buf.h"
#include "common/fsutil.h"

struct member *catalog_add(struct catalog *c, const char *name, struct strata_err *e)
{
	struct member *m;

	if (array_grow(&c->v, c->len, &c->alloc, sizeof(*c->v), 64) < 0) {
		err_nomem(e, "catalog");
		return NULL;
	}
	if (!(m = calloc(1, sizeof(*m))) || !(m->name = strdup(name))) {
		free(m);
		err_nomem(e, "catalog");
		return NULL;
	}
	buf_init(&m->doc, 0);
	c->v[c->len++] = m;
	/* A duplicate name keeps the first record as the one found by lookups;
	 * the scan reports the duplicate. */
	if (!strmap_get(&c->by_name, name) && strmap_put(&c->by_name, name, m, e) < 0)
		return NULL;
	return m;
}

struct member *catalog_get(const struct catalog *c, const char *name)
{
	return strmap_get(&c->by_name, name);
}

/* Why a name the catalog lacks is missing: a directory above it was a
 * symlink or no directory (a directory source's symlinks are not followed
 * into, and a tar's members below one are not the link's). */
static void below_link(const struct catalog *c, char *clean, const char **why)
{
	char *slash;

	for (slash = strchr(clean, '/'); slash; slash = strchr(slash + 1, '/')) {
		struct member *up;

		*slash = '\0';
		up = catalog_get(c, clean);
		*slash = '/';
		if (up && up->kind == MEM_SYMLINK) {
			*why = "below a symlink, which is not followed";
			return;
		}
		if (up && up->kind != MEM_DIR) {
			*why = "below a member that is not a directory";
			return;
		}
	}
}

struct member *catalog_resolve(const struct catalog *c, const char *name, const char **why)
{
	struct member *m;
	char *clean = path_clean(name), *dir, *target;

	*why = "missing";
	if (!clean)
		return NULL;
	if (!path_is_local(clean)) {
		*why = "unsafe path (leaves the archive)";
		free(clean);
		return NULL;
	}
	m = catalog_get(c, clean);
	if (m && m->kind == MEM_SYMLINK && m->link) {
		/* one level, relative to the link's directory, never outside */
		dir = path_dir(clean);
		target = dir ? (m->link[0] == '/' ? NULL : path_join(dir, m->link)) : NULL;
		free(dir);
		m = NULL;
		if (!target || !path_is_local(target)) {
			*why = "symlink points outside the archive";
		} else {
			m = catalog_get(c, target);
			if (!m)
				*why = "symlink to a missing member";
			else if (m->kind == MEM_SYMLINK)
				*why = "symlink to a symlink (only one level is followed)";
			else if (m->kind != MEM_FILE)
				*why = "symlink to a member that is not a regular file";
			if (m && m->kind != MEM_FILE)
				m = NULL;
		}
		free(target);
	} else if (m && m->kind == MEM_HARDLINK && m->link) {
		char *t = path_clean(m->link);

		m = t && path_is_local(t) ? catalog_get(c, t) : NULL;
		if (m && m->kind != MEM_FILE) {
			*why = "hardlink to a member that is not a regular file";
			m = NULL;
		} else if (!m) {
			*why = "hardlink to a missing member";
		}
		free(t);
	} else if (m && m->kind != MEM_FILE) {
		*why = "not a regular file";
		m = NULL;
	} else if (!m) {
		below_link(c, clean, why);
	}
	free(clean);
	return m;
}

const char *blob_path(const char *digest, char out[DIGEST_STR_MAX + 8])
{
	const char *colon = strchr(digest, ':');

	if (!colon)
		snprintf(out, DIGEST_STR_MAX + 8, "%s", digest);
	else
		snprintf(out, DIGEST_STR_MAX + 8, "blobs/%.*s/%s", (int)(colon - digest), digest, colon + 1);
	return out;
}

struct member *catalog_blob(const struct catalog *c, const char *digest, const char **why)
{
	char name[DIGEST_STR_MAX + 8];

	*why = "missing";
	if (!strchr(digest, ':'))
		return NULL;
	return catalog_resolve(c, blob_path(digest, name), why);
}

void catalog_release(struct catalog *c)
{
	size_t i;

	for (i = 0; i < c->len; i++) {
		struct member *m = c->v[i];

		if (m->walk && c->walk_free)
			c->walk_free(m->walk);
		free(m->name);
		free(m->link);
		free(m->blob_error);
		buf_release(&m->doc);
		free(m);
	}
	if (c->rootfs) {
		if (c->rootfs->walk && c->walk_free)
			c->walk_free(c->rootfs->walk);
		free(c->rootfs->name);
		free(c->rootfs->blob_error);
		free(c->rootfs);
	}
	free(c->v);
	strmap_release(&c->by_name);
	memset(c, 0, sizeof(*c));
}
