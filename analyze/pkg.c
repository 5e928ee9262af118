/*
 * pkg.c - package databases found in layers (and, at the end, the directory-
 * prefix index used when deleting paths): dpkg's var/lib/dpkg/status (and
 * distroless status.d/ fragments), apk's lib/apk/db/installed.  Only packages
 * that are installed count (dpkg "Status: install ok installed"; a package
 * left as config-files is not installed).
 */
#include <stdlib.h>
#include <string.h>

#include "analyze/files.h"
#include "common/strmap.h"

static int add(struct pkgdb *db, const char *name, size_t nl, const char *ver, size_t vl, struct strata_err *e)
{
	struct package *p;

	if (db->len == db->alloc) {
		size_t na = db->alloc ? db->alloc * 2 : 64;

		if (!(p = realloc(db->v, na * sizeof(*p))))
			return err_nomem(e, "packages");
		db->v = p;
		db->alloc = na;
	}
	p = &db->v[db->len];
	p->name = strndup(name, nl);
	p->version = strndup(ver ? ver : "", ver ? vl : 0);
	if (!p->name || !p->version) {
		free(p->name);
		free(p->version);
		return err_nomem(e, "packages");
	}
	db->len++;
	return 0;
}

/* Walk "Key: value" (dpkg) or "K:value" (apk) paragraphs. */
int pkgdb_parse(struct pkgdb *db, enum pkgdb_kind kind, const char *t, size_t n, struct strata_err *e)
{
	const char *end = t + n, *name = NULL, *ver = NULL;
	size_t nl = 0, vl = 0;
	bool installed = kind == PKGDB_APK;
	int r;

	db->kind = kind;
	while (t <= end) {
		const char *eol = memchr(t, '\n', (size_t)(end - t));
		size_t len = eol ? (size_t)(eol - t) : (size_t)(end - t);

		if (len == 0 || t == end) {
			if (name && installed && (r = add(db, name, nl, ver, vl, e)) < 0)
				return r;
			name = ver = NULL;
			installed = kind == PKGDB_APK;
		} else if (kind == PKGDB_APK) {
			if (len > 2 && !memcmp(t, "P:", 2))
				name = t + 2, nl = len - 2;
			else if (len > 2 && !memcmp(t, "V:", 2))
				ver = t + 2, vl = len - 2;
		} else {
			if (len > 9 && !memcmp(t, "Package: ", 9))
				name = t + 9, nl = len - 9;
			else if (len > 9 && !memcmp(t, "Version: ", 9))
				ver = t + 9, vl = len - 9;
			else if (len > 8 && !memcmp(t, "Status: ", 8))
				installed = len >= 18 && !memcmp(t + len - 10, " installed", 10);
		}
		if (!eol)
			break;
		t = eol + 1;
	}
	if (name && installed && (r = add(db, name, nl, ver, vl, e)) < 0)
		return r;
	pkgdb_sort(db);
	return 0;
}

static int cmp_pkg(const void *a, const void *b)
{
	return strcmp(((const struct package *)a)->name, ((const struct package *)b)->name);
}

void pkgdb_sort(struct pkgdb *db)
{
	if (db->len > 1)
		qsort(db->v, db->len, sizeof(*db->v), cmp_pkg);
}

const struct package *pkgdb_find(const struct pkgdb *db, const char *name)
{
	struct package key = { (char *)name, NULL };

	return db->len ? bsearch(&key, db->v, db->len, sizeof(*db->v), cmp_pkg) : NULL;
}

int pkg_change_add(struct pkg_change **v, size_t *n, const char *db, const char *name, const char *from,
		   const char *to, struct strata_err *e)
{
	struct pkg_change *nv = realloc(*v, (*n + 1) * sizeof(*nv));

	if (!nv)
		return err_nomem(e, "packages");
	*v = nv;
	nv[(*n)++] = (struct pkg_change){ db, name, from, to };
	return 0;
}

int pkgdb_delta(const char *db, const struct pkgdb *a, const struct pkgdb *b, struct pkg_change **v, size_t *n,
		struct strata_err *e)
{
	static const struct pkgdb none;
	size_t i;
	int r = 0;

	a = a ? a : &none;
	b = b ? b : &none;
	for (i = 0; i < b->len && r == 0; i++) {
		const struct package *p = pkgdb_find(a, b->v[i].name);

		if (!p)
			r = pkg_change_add(v, n, db, b->v[i].name, NULL, b->v[i].version, e);
		else if (strcmp(p->version, b->v[i].version))
			r = pkg_change_add(v, n, db, b->v[i].name, p->version, b->v[i].version, e);
	}
	for (i = 0; i < a->len && r == 0; i++)
		if (!pkgdb_find(b, a->v[i].name))
			r = pkg_change_add(v, n, db, a->v[i].name, a->v[i].version, NULL, e);
	return r;
}

void pkgdb_release(struct pkgdb *db)
{
	size_t i;

	for (i = 0; i < db->len; i++) {
		free(db->v[i].name);
		free(db->v[i].version);
	}
	free(db->v);
	memset(db, 0, sizeof(*db));
}

void layer_files_free(struct layer_files *lf)
{
	size_t i;

	if (!lf)
		return;
	for (i = 0; i < lf->len; i++) {
		free(lf->v[i].path);
		free(lf->v[i].link);
	}
	for (i = 0; i < lf->n_status_d; i++)
		free(lf->status_d_files[i]);
	free(lf->status_d_files);
	free(lf->v);
	pkgdb_release(&lf->dpkg);
	pkgdb_release(&lf->apk);
	pkgdb_release(&lf->dpkg_d);
	free(lf);
}
