/*
 * pkgdelta.c - the packages each layer of an image adds, removes and
 * upgrades, and what each ecosystem found; see analyze.h.
 *
 * A full database (dpkg status, apk installed, rpmdb.sqlite) replaces the
 * one below it: the change is the difference of the two.  Fragments
 * (status.d files, Python METADATA, npm package.json, the modules of a Go
 * binary) add or upgrade what their path held before; their removal is
 * not shown.
 */
#include <stdio.h>
#include <string.h>

#include "analyze/analyze.h"
#include "common/strmap.h"

/* Fragments: "K PATH\nNAME" -> the version it had last (K: the kind). */
static int fragments(struct strmap *seen, struct layer_report *lr, const struct layer_files *lf,
		     const struct pkgdb *db, char k, const char *dbname, size_t *count, struct strata_err *e)
{
	char key[8192];
	size_t i;
	int r = 0;

	for (i = 0; i < db->len && r == 0; i++) {
		const struct package *q = &db->v[i];
		const char *path = q->entry ? layer_files_name(lf, q->entry - 1) : NULL;
		const char *was;

		snprintf(key, sizeof(key), "%c %s\n%s", k, path ? path : "", q->name);
		was = strmap_get(seen, key);
		if (!was)
			(*count)++;
		if (!was || strcmp(was, q->version))
			r = pkg_change_add(&lr->pkgs, &lr->npkgs, &lr->apkgs, dbname, q->name, was, q->version, e);
		if (r == 0 && strmap_put(seen, key, q->version, e) < 0)
			r = -e->code;
	}
	return r;
}

static void note(struct image_report *r, int k, size_t n)
{
	if (n)
		snprintf(r->pkg_notes[k], sizeof(r->pkg_notes[k]), "%zu package%s", n, n == 1 ? "" : "s");
	else
		snprintf(r->pkg_notes[k], sizeof(r->pkg_notes[k]), "none found");
}

int analyze_packages(struct image_report *r, struct strata_err *e)
{
	const struct pkgdb none = { 0 }, *dpkg = &none, *apk = &none, *rpm = &none;
	struct strmap dpkg_d = STRMAP_INIT;  /* status.d: name -> latest struct package */
	struct strmap seen = STRMAP_INIT;
	size_t li, i, nd = 0, np = 0, nn = 0, ng = 0;
	int other = -1, rc = 0;
	uint32_t go_old = 0;
	bool has_rpm = false;

	for (li = 0; li < r->nlayers && rc == 0; li++) {
		struct layer_report *lr = &r->layers[li];
		const struct layer_files *lf = lr->lf;

		if (!lf)
			continue;
		if (lf->has_dpkg) {
			rc = pkgdb_delta("dpkg", dpkg, &lf->dpkg, &lr->pkgs, &lr->npkgs, &lr->apkgs, e);
			dpkg = &lf->dpkg;
		}
		if (rc == 0 && lf->has_apk) {
			rc = pkgdb_delta("apk", apk, &lf->apk, &lr->pkgs, &lr->npkgs, &lr->apkgs, e);
			apk = &lf->apk;
		}
		for (i = 0; rc == 0 && i < lf->dpkg_d.len; i++) {
			/* distroless status.d: fragments add or upgrade packages */
			const struct package *q = &lf->dpkg_d.v[i], *p = strmap_get(&dpkg_d, q->name);

			nd += !p;
			if (!p || strcmp(p->version, q->version))
				rc = pkg_change_add(&lr->pkgs, &lr->npkgs, &lr->apkgs, "dpkg", q->name, p ? p->version : NULL,
						    q->version, e);
			if (rc == 0 && strmap_put(&dpkg_d, q->name, (void *)q, e) < 0)
				rc = -e->code;
		}
		if (rc == 0 && lf->has_rpm) {
			rc = pkgdb_delta("rpm", rpm, &lf->rpm, &lr->pkgs, &lr->npkgs, &lr->apkgs, e);
			rpm = &lf->rpm;
			has_rpm = true;
		}
		if (rc == 0)
			rc = fragments(&seen, lr, lf, &lf->pypi, 'p', "python", &np, e);
		if (rc == 0)
			rc = fragments(&seen, lr, lf, &lf->npm, 'n', "npm", &nn, e);
		if (rc == 0)
			rc = fragments(&seen, lr, lf, &lf->gomod, 'g', "go", &ng, e);
		go_old += lf->go_old;
		if (lf->rpm_other)  /* rpm databases strata does not read */
			other = lf->rpm_other < 0 ? -1 : lf->rpm_other - 1;
	}
	note(r, PKG_ECO_DPKG, dpkg->len + nd);
	note(r, PKG_ECO_APK, apk->len);
	note(r, PKG_ECO_RPM, rpm->len);
	note(r, PKG_ECO_PYTHON, np);
	note(r, PKG_ECO_NPM, nn);
	note(r, PKG_ECO_GO, ng);
	if (!has_rpm && other >= 0)
		snprintf(r->pkg_notes[PKG_ECO_RPM], sizeof(r->pkg_notes[PKG_ECO_RPM]), "not checked (only %s %s; strata reads rpmdb.sqlite)",
			 other < 2 ? "a Berkeley DB" : "an ndb", rpm_other_paths[other]);
	if (go_old) {
		size_t n = strlen(r->pkg_notes[PKG_ECO_GO]);

		snprintf(r->pkg_notes[PKG_ECO_GO] + n, sizeof(r->pkg_notes[PKG_ECO_GO]) - n,
			 "; not checked: %u binar%s in the build info format before Go 1.18", go_old,
			 go_old == 1 ? "y" : "ies");
	}
	strmap_release(&dpkg_d);
	strmap_release(&seen);
	return rc;
}
