/*
 * eco.c - what the walker does with an entry for rpm, Python, npm and Go
 * packages: choose, read within bounds, parse; see eco.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyze/eco.h"

static bool ends(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n > k && !strcmp(s + n - k, suffix);
}

enum eco_kind eco_kind_of(const char *p)
{
	if (!strcmp(p, "var/lib/rpm/rpmdb.sqlite") || !strcmp(p, "usr/lib/sysimage/rpm/rpmdb.sqlite"))
		return ECO_RPMDB;
	/* an egg-info is a directory holding PKG-INFO, or (distutils, Debian's python3-* packages) that file itself */
	if ((ends(p, ".dist-info/METADATA") && !ends(p, "/.dist-info/METADATA")) ||
	    (ends(p, ".egg-info/PKG-INFO") && !ends(p, "/.egg-info/PKG-INFO")) ||
	    (ends(p, ".egg-info") && !ends(p, "/.egg-info")))
		return ECO_PYTHON;
	if (ends(p, "/package.json") && npm_is_package_json(p))
		return ECO_NPM;
	return ECO_NONE;
}

/* The temp file sqlite reads; when it cannot be made the database is not
 * read (a warning), the walk goes on. */
static void spool_open(struct eco_file *ef, const char *path)
{
	const char *dir = getenv("TMPDIR");

	/* sqlite opens the file by name (through /proc/self/fd it would follow
	 * the link to the unlinked name); unlinked in eco_release() */
	snprintf(ef->spool_path, sizeof(ef->spool_path), "%s/strata-rpmdb-XXXXXX", dir && *dir ? dir : "/tmp");
	if ((ef->spool = mkstemp(ef->spool_path)) < 0) {
		snprintf(ef->warn, sizeof(ef->warn), "'%.300s' not read: no temp file in '%.300s': %s", path,
			 dir && *dir ? dir : "/tmp", strerror(errno));
		ef->spool_path[0] = 0;
		ef->kind = ECO_NONE;
	}
}

void eco_begin(struct eco_file *ef, const char *path, uint64_t size)
{
	memset(ef, 0, sizeof(*ef));
	ef->spool = -1;
	buf_init(&ef->g.info, ECO_GO_INFO_MAX);
	ef->go = path && size >= 64;  /* every regular file: the scanner stops at once when it is not ELF */
	if (!ef->go)
		ef->g.state = GO_DONE;
	if (!path)
		return;
	ef->kind = eco_kind_of(path);
	if ((ef->kind == ECO_PYTHON || ef->kind == ECO_NPM) && size > ECO_TEXT_MAX) {
		snprintf(ef->warn, sizeof(ef->warn), "'%.400s' is %llu bytes, over the %u KiB read for package metadata: not read",
			 path, (unsigned long long)size, ECO_TEXT_MAX >> 10);
		ef->kind = ECO_NONE;
	} else if (ef->kind == ECO_RPMDB && size > ECO_RPMDB_MAX) {
		snprintf(ef->warn, sizeof(ef->warn), "'%.400s' is %llu bytes, over the %u MiB an rpm database may have: not read",
			 path, (unsigned long long)size, ECO_RPMDB_MAX >> 20);
		ef->kind = ECO_NONE;
	}
	ef->text = ef->kind == ECO_PYTHON || ef->kind == ECO_NPM;
	if (ef->kind == ECO_RPMDB)
		spool_open(ef, path);
}

bool eco_feeding(const struct eco_file *ef)
{
	return ef->spool >= 0 || (ef->go && ef->g.state != GO_DONE);
}

int eco_feed(struct eco_file *ef, const uint8_t *p, size_t n, struct strata_err *e)
{
	int r;

	if (ef->go && ef->g.state != GO_DONE && (r = eco_go_feed(&ef->g, p, n, e)) < 0)
		return r;
	while (ef->spool >= 0 && n) {
		ssize_t w = write(ef->spool, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return err_sys(e, w < 0 ? errno : ENOSPC, "rpmdb: writing the temp file");
		p += w, n -= (size_t)w;
		ef->spooled += (uint64_t)w;
	}
	return 0;
}

static void warn(struct eco_file *ef, const char *path, const char *what, const struct strata_err *pe)
{
	if (!ef->warn[0])
		snprintf(ef->warn, sizeof(ef->warn), "'%.300s': %s: %.600s", path, what, pe->msg);
}

static int rpmdb(struct eco_file *ef, struct layer_files *lf, const char *path, struct strata_err *e)
{
	struct pkgdb db = { 0 };
	struct strata_err pe = STRATA_ERR_INIT;
	size_t bad = 0;
	int r;

	r = rpm_sqlite_read(&db, ef->spool_path, &bad, &pe);
	if (r < 0 && r != -STRATA_EFORMAT) {
		pkgdb_release(&db);
		*e = pe;
		return r;
	}
	if (r < 0)
		warn(ef, path, "rpm database not read", &pe);
	else if (bad)
		snprintf(ef->warn, sizeof(ef->warn), "'%.400s': %zu rpm header%s malformed, left out", path, bad,
			 bad == 1 ? "" : "s");
	pkgdb_release(&lf->rpm);
	lf->rpm = db;
	lf->rpm.kind = PKGDB_RPM;
	lf->has_rpm = true;
	return 0;
}

int eco_end(struct eco_file *ef, struct layer_files *lf, const char *path, const char *text, size_t n, size_t entry,
	    struct strata_err *e)
{
	struct strata_err pe = STRATA_ERR_INIT;
	int r = 0;

	if (ef->go && (r = eco_go_flush(&ef->g, e)) < 0)
		goto out;
	if (ef->g.info.len) {
		r = go_buildinfo_parse(&lf->gomod, (const uint8_t *)ef->g.info.data, ef->g.info.len, entry, &pe);
		lf->gomod.kind = PKGDB_GO;
		if (r == 1)
			lf->go_old++;
		if (r == -STRATA_EFORMAT)
			warn(ef, path, "Go build info not read", &pe);
		else if (r < 0)
			goto fail;
		r = 0;
	}
	if (ef->kind == ECO_PYTHON || ef->kind == ECO_NPM) {
		struct pkgdb *db = ef->kind == ECO_PYTHON ? &lf->pypi : &lf->npm;

		db->kind = ef->kind == ECO_PYTHON ? PKGDB_PYPI : PKGDB_NPM;
		r = ef->kind == ECO_PYTHON ? py_metadata_parse(db, text ? text : "", n, entry, &pe)
					   : npm_package_parse(db, text ? text : "", n, entry, &pe);
		if (r == -STRATA_EFORMAT)
			warn(ef, path, ef->kind == ECO_PYTHON ? "Python package metadata not read" : "npm package.json not read",
			     &pe);
		else if (r < 0)
			goto fail;
		r = 0;
	}
	if (ef->kind == ECO_RPMDB && ef->spool >= 0)
		r = rpmdb(ef, lf, path, e);
	goto out;
fail:
	*e = pe;
out:
	eco_release(ef);
	return r;
}

void eco_release(struct eco_file *ef)
{
	if (ef->spool >= 0)
		close(ef->spool);
	ef->spool = -1;
	if (ef->spool_path[0])
		unlink(ef->spool_path);
	ef->spool_path[0] = 0;
	buf_release(&ef->g.info);
}
