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
#include "analyze/risk.h"
#include "common/buf.h"
#include "common/strmap.h"

const char *const pkg_eco_names[PKG_ECO_N] = { "dpkg", "apk", "rpm", "python", "npm", "go" };

/* One paragraph's fields, pointing into the text. */
struct para {
	const char *name, *ver, *arch, *lic;
	size_t nl, vl, al, ll;
	struct buf files;        /* apk F:/R: as "dir/name\n" */
	const char *dir;         /* the last F: */
	size_t dl;
};

int pkgdb_add(struct pkgdb *db, const struct pkg_fields *f, size_t entry, struct strata_err *e)
{
	struct package *p;

	if (array_grow(&db->v, db->len, &db->alloc, sizeof(*db->v), 64) < 0)
		return err_nomem(e, "packages");
	p = &db->v[db->len];
	memset(p, 0, sizeof(*p));
	p->name = strndup(f->name, f->nl);
	p->version = strndup(f->ver ? f->ver : "", f->ver ? f->vl : 0);
	p->arch = strndup(f->arch ? f->arch : "", f->arch ? f->al : 0);
	p->license = strndup(f->lic ? f->lic : "", f->lic ? f->ll : 0);
	p->entry = entry;
	if (f->nfiles && !(p->files = strndup(f->files, f->nfiles)))
		p->name = (free(p->name), NULL);
	if (!p->name || !p->version || !p->arch || !p->license) {
		free(p->name);
		free(p->version);
		free(p->arch);
		free(p->license);
		free(p->files);
		return err_nomem(e, "packages");
	}
	db->len++;
	return 0;
}

static int add(struct pkgdb *db, struct para *pa, size_t entry, struct strata_err *e)
{
	struct pkg_fields f = { pa->name, pa->nl, pa->ver, pa->vl, pa->arch, pa->al, pa->lic, pa->ll,
				pa->files.data, pa->files.len };

	return pkgdb_add(db, &f, entry, e);
}

static void para_reset(struct para *pa)
{
	struct buf f = pa->files;

	buf_reset(&f);
	memset(pa, 0, sizeof(*pa));
	pa->files = f;
}

/* Walk "Key: value" (dpkg) or "K:value" (apk) paragraphs. */
int pkgdb_parse(struct pkgdb *db, enum pkgdb_kind kind, const char *t, size_t n, struct strata_err *e)
{
	return pkgdb_parse_at(db, kind, t, n, 0, e);
}

int pkgdb_parse_at(struct pkgdb *db, enum pkgdb_kind kind, const char *t, size_t n, size_t entry,
		   struct strata_err *e)
{
	const char *end = t + n;
	struct para pa = { 0 };
	bool installed = kind == PKGDB_APK;
	int r = 0;

	buf_init(&pa.files, 64u << 20);
	db->kind = kind;
	while (t <= end && r == 0) {
		const char *eol = memchr(t, '\n', (size_t)(end - t));
		size_t len = eol ? (size_t)(eol - t) : (size_t)(end - t);

		if (len == 0 || t == end) {
			if (pa.name && installed)
				r = add(db, &pa, entry, e);
			para_reset(&pa);
			installed = kind == PKGDB_APK;
		} else if (kind == PKGDB_APK) {
			if (len > 2 && !memcmp(t, "P:", 2))
				pa.name = t + 2, pa.nl = len - 2;
			else if (len > 2 && !memcmp(t, "V:", 2))
				pa.ver = t + 2, pa.vl = len - 2;
			else if (len > 2 && !memcmp(t, "A:", 2))
				pa.arch = t + 2, pa.al = len - 2;
			else if (len > 2 && !memcmp(t, "L:", 2))
				pa.lic = t + 2, pa.ll = len - 2;
			else if (len > 2 && !memcmp(t, "F:", 2))
				pa.dir = t + 2, pa.dl = len - 2;
			else if (len > 2 && !memcmp(t, "R:", 2)) {
				if (pa.dl && (buf_add(&pa.files, pa.dir, pa.dl, e) < 0 || buf_add(&pa.files, "/", 1, e) < 0))
					r = -e->code;
				else if (buf_add(&pa.files, t + 2, len - 2, e) < 0 || buf_add(&pa.files, "\n", 1, e) < 0)
					r = -e->code;
			}
		} else {
			if (len > 9 && !memcmp(t, "Package: ", 9))
				pa.name = t + 9, pa.nl = len - 9;
			else if (len > 9 && !memcmp(t, "Version: ", 9))
				pa.ver = t + 9, pa.vl = len - 9;
			else if (len > 14 && !memcmp(t, "Architecture: ", 14))
				pa.arch = t + 14, pa.al = len - 14;
			else if (len > 8 && !memcmp(t, "Status: ", 8))
				installed = len >= 18 && !memcmp(t + len - 10, " installed", 10);
		}
		if (!eol)
			break;
		t = eol + 1;
	}
	if (r == 0 && pa.name && installed)
		r = add(db, &pa, entry, e);
	buf_release(&pa.files);
	pkgdb_sort(db);
	return r;
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
	struct package key = { .name = (char *)name };

	return db->len ? bsearch(&key, db->v, db->len, sizeof(*db->v), cmp_pkg) : NULL;
}

const char *pkg_change_kind(const struct pkg_change *p)
{
	return !p->from ? "added" : !p->to ? "removed" : "upgraded";
}

int pkg_change_add(struct pkg_change **v, size_t *n, size_t *alloc, const char *db, const char *name,
		   const char *from, const char *to, struct strata_err *e)
{
	if (array_grow(v, *n, alloc, sizeof(**v), 16) < 0)
		return err_nomem(e, "packages");
	(*v)[(*n)++] = (struct pkg_change){ db, name, from, to };
	return 0;
}

int pkgdb_delta(const char *db, const struct pkgdb *a, const struct pkgdb *b, struct pkg_change **v, size_t *n,
		size_t *alloc, struct strata_err *e)
{
	static const struct pkgdb none;
	size_t i;
	int r = 0;

	a = a ? a : &none;
	b = b ? b : &none;
	for (i = 0; i < b->len && r == 0; i++) {
		const struct package *p = pkgdb_find(a, b->v[i].name);

		if (!p)
			r = pkg_change_add(v, n, alloc, db, b->v[i].name, NULL, b->v[i].version, e);
		else if (strcmp(p->version, b->v[i].version))
			r = pkg_change_add(v, n, alloc, db, b->v[i].name, p->version, b->v[i].version, e);
	}
	for (i = 0; i < a->len && r == 0; i++)
		if (!pkgdb_find(b, a->v[i].name))
			r = pkg_change_add(v, n, alloc, db, a->v[i].name, a->v[i].version, NULL, e);
	return r;
}

void pkgdb_release(struct pkgdb *db)
{
	size_t i;

	for (i = 0; i < db->len; i++) {
		free(db->v[i].name);
		free(db->v[i].version);
		free(db->v[i].arch);
		free(db->v[i].license);
		free(db->v[i].files);
	}
	free(db->v);
	memset(db, 0, sizeof(*db));
}

void layer_files_free(struct layer_files *lf)
{
	size_t i;

	if (!lf)
		return;
	for (i = 0; i < lf->n_status_d; i++)
		free(lf->status_d_files[i]);
	free(lf->status_d_files);
	for (i = 0; i < lf->nkept; i++)
		free(lf->kept[i].data);
	free(lf->kept);
	risk_release(lf);
	for (i = 0; i < lf->nnamed; i++)
		free(lf->named[i].path);
	free(lf->named);
	spill_log_release(&lf->recs);
	if (lf->digests)
		digests_unref();
	pkgdb_release(&lf->dpkg);
	pkgdb_release(&lf->apk);
	pkgdb_release(&lf->dpkg_d);
	pkgdb_release(&lf->rpm);
	pkgdb_release(&lf->pypi);
	pkgdb_release(&lf->npm);
	pkgdb_release(&lf->gomod);
	free(lf);
}
