/*
 * rpmdb.c - rpm's sqlite database and the header blobs it holds; see eco.h.
 *
 * A header, as rpmdb stores it (rpm's lib/header.c, headerImport): two
 * big-endian int32s il (index entries) and dl (data bytes), il entries of
 * four big-endian int32s (tag, type, offset, count), then dl bytes of data.
 * Every offset and count is checked against dl before it is read; strings
 * must end inside the data.  Tags read: NAME 1000, VERSION 1001, RELEASE
 * 1002, EPOCH 1003, LICENSE 1014, ARCH 1022, FILEDIGESTS 1035,
 * DIRINDEXES 1116, BASENAMES 1117, DIRNAMES 1118, FILEDIGESTALGO 5011.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "analyze/eco.h"
#include "common/cancel.h"

enum { T_INT32 = 4, T_STRING = 6, T_STRING_ARRAY = 8, T_I18NSTRING = 9 };
enum {
	TAG_NAME = 1000, TAG_VERSION = 1001, TAG_RELEASE = 1002, TAG_EPOCH = 1003, TAG_LICENSE = 1014,
	TAG_ARCH = 1022, TAG_FILEDIGESTS = 1035, TAG_DIRINDEXES = 1116, TAG_BASENAMES = 1117,
	TAG_DIRNAMES = 1118, TAG_FILEDIGESTALGO = 5011
};
#define ALGO_SHA256 8
#define HDR_INDEX_MAX 0x10000   /* rpm's own limit on index entries */

struct tagv {
	uint32_t type, off, count;
	bool present;
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The strings of a string or string-array tag: their starts into v[]
 * (count of them), checked to end inside data.  -1 when they do not. */
static int strings(const uint8_t *data, uint32_t dl, const struct tagv *t, const char **v)
{
	uint32_t i, at = t->off;

	for (i = 0; i < t->count; i++) {
		const uint8_t *z;

		if (at >= dl || !(z = memchr(data + at, 0, dl - at)))
			return -1;
		v[i] = (const char *)data + at;
		at = (uint32_t)(z - data) + 1;
	}
	return 0;
}

static const char *one_string(const uint8_t *data, uint32_t dl, const struct tagv *t)
{
	const char *s = NULL;

	if (!t->present || (t->type != T_STRING && t->type != T_I18NSTRING && t->type != T_STRING_ARRAY) ||
	    t->count < 1)
		return NULL;
	{
		struct tagv one = *t;

		one.count = 1;
		return strings(data, dl, &one, &s) < 0 ? NULL : s;
	}
}

static bool int32s_ok(uint32_t dl, const struct tagv *t)
{
	return t->present && t->type == T_INT32 && t->off % 4 == 0 && t->off <= dl &&
	       t->count <= (dl - t->off) / 4;
}

/* "dir/base\tHEX\n" lines of the file list, into out. */
static int file_list(const uint8_t *data, uint32_t dl, const struct tagv *tags, struct buf *out,
		     struct strata_err *e)
{
	const struct tagv *bn = &tags[3], *dn = &tags[4], *di = &tags[5], *fd = &tags[6], *alg = &tags[7];
	const char **bases = NULL, **dirs = NULL, **digs = NULL;
	bool sha256 = false;
	uint32_t i;
	int r = 0;

	if (!bn->present)
		return 0;
	if (bn->type != T_STRING_ARRAY || dn->type != T_STRING_ARRAY || !dn->present || !int32s_ok(dl, di) ||
	    di->count != bn->count || bn->count > dl || dn->count > dl)
		return err_set(e, STRATA_EFORMAT, "file list tags do not agree");
	if (int32s_ok(dl, alg) && alg->count == 1)
		sha256 = be32(data + alg->off) == ALGO_SHA256;
	if (!(bases = calloc(bn->count + 1, sizeof(*bases))) || !(dirs = calloc(dn->count + 1, sizeof(*dirs))) ||
	    !(digs = calloc(bn->count + 1, sizeof(*digs)))) {
		r = err_nomem(e, "rpm header");
		goto out;
	}
	if (strings(data, dl, bn, bases) < 0 || strings(data, dl, dn, dirs) < 0) {
		r = err_set(e, STRATA_EFORMAT, "a file name runs past the header's data");
		goto out;
	}
	if (fd->present && (fd->type != T_STRING_ARRAY || fd->count != bn->count || strings(data, dl, fd, digs) < 0))
		memset(digs, 0, (bn->count + 1) * sizeof(*digs));  /* the names are still right */
	for (i = 0; i < bn->count && r == 0; i++) {
		uint32_t d = be32(data + di->off + 4 * i);

		if (d >= dn->count) {
			r = err_set(e, STRATA_EFORMAT, "a file's directory index %u is past the %u directories", d,
				    dn->count);
			break;
		}
		if (buf_addstr(out, dirs[d], e) < 0 || buf_addstr(out, bases[i], e) < 0)
			r = -e->code;
		else if (sha256 && digs[i] && strlen(digs[i]) == 64 &&
			 (buf_addstr(out, "\t", e) < 0 || buf_addstr(out, digs[i], e) < 0))
			r = -e->code;
		else if (buf_addstr(out, "\n", e) < 0)
			r = -e->code;
	}
out:
	free(bases);
	free(dirs);
	free(digs);
	return r;
}

int rpm_header_parse(struct pkgdb *db, const uint8_t *blob, size_t n, struct strata_err *e)
{
	static const uint32_t want[] = { TAG_NAME, TAG_VERSION, TAG_RELEASE, TAG_BASENAMES, TAG_DIRNAMES,
					 TAG_DIRINDEXES, TAG_FILEDIGESTS, TAG_FILEDIGESTALGO, TAG_EPOCH,
					 TAG_ARCH, TAG_LICENSE };
	struct tagv tags[11] = { { 0, 0, 0, false } };
	const uint8_t *data;
	const char *name, *ver, *rel, *arch, *lic;
	struct buf evr = BUF_INIT(1u << 20), files = BUF_INIT(4 * ECO_RPM_HEADER_MAX);
	uint32_t il, dl, i, k;
	int r;

	if (n < 8)
		return err_set(e, STRATA_EFORMAT, "rpm header of %zu bytes", n);
	il = be32(blob);
	dl = be32(blob + 4);
	if (il == 0 || il > HDR_INDEX_MAX || dl > ECO_RPM_HEADER_MAX || (uint64_t)il * 16 + dl + 8 > n)
		return err_set(e, STRATA_EFORMAT, "rpm header claims %u index entries and %u data bytes in %zu bytes",
			       il, dl, n);
	data = blob + 8 + (size_t)il * 16;
	for (i = 0; i < il; i++) {
		const uint8_t *x = blob + 8 + (size_t)i * 16;
		uint32_t tag = be32(x);

		for (k = 0; k < sizeof(want) / sizeof(*want); k++)
			if (want[k] == tag && !tags[k].present) {
				tags[k] = (struct tagv){ be32(x + 4), be32(x + 8), be32(x + 12), true };
				if (tags[k].off >= dl)
					return err_set(e, STRATA_EFORMAT, "rpm header tag %u points past the data", tag);
			}
	}
	name = one_string(data, dl, &tags[0]);
	ver = one_string(data, dl, &tags[1]);
	rel = one_string(data, dl, &tags[2]);
	arch = one_string(data, dl, &tags[9]);
	lic = one_string(data, dl, &tags[10]);
	if (!name || !*name || !ver || !rel)
		return err_set(e, STRATA_EFORMAT, "rpm header without a name, version or release");
	/* the version as rpm -q prints %{EPOCH}:%{VERSION}-%{RELEASE}: the epoch only when set */
	if ((int32s_ok(dl, &tags[8]) && tags[8].count == 1 && buf_printf(&evr, e, "%u:", be32(data + tags[8].off)) < 0) ||
	    buf_printf(&evr, e, "%s-%s", ver, rel) < 0) {
		buf_release(&evr);
		return -e->code;
	}
	if ((r = file_list(data, dl, tags, &files, e)) == 0) {
		struct pkg_fields f = { name, strlen(name), evr.data, evr.len, arch, arch ? strlen(arch) : 0,
					lic, lic ? strlen(lic) : 0, files.data, files.len };

		r = pkgdb_add(db, &f, 0, e);
	}
	buf_release(&evr);
	buf_release(&files);
	return r;
}

/* A failed sqlite call: out of memory (sqlite allocates outside our
 * wrapper, so it is noted here) or a database that is not one. */
static int sq_fail(sqlite3 *h, int rc, const char *what, struct strata_err *e)
{
	if (rc == SQLITE_NOMEM || (h && sqlite3_errcode(h) == SQLITE_NOMEM) || !h) {
		strata_oom_note();
		return err_nomem(e, "rpmdb");
	}
	return err_set(e, STRATA_EFORMAT, "%s: %s", what, sqlite3_errmsg(h));
}

/*
 * The database comes from the image, so from anyone (sqlite.org, "Defense
 * Against The Dark Arts"): Packages must be a table without generated
 * columns (a recursive view never ends and its ORDER BY holds every row; a
 * generated column computes on every read), with views and triggers off, an
 * untrusted schema, defensive mode, a bound on one value, and a bound on the
 * work: the virtual machine's steps and the bytes of the rows, each a small
 * multiple of the file's size, since a plain table's rows are in the file.
 */
#define RPM_VALUE_MAX (64 << 20)      /* one header blob: rpm's headers are far smaller */
#define RPM_STEPS_PER_BYTE 64
#define RPM_STEPS_MIN (10u << 20)

struct sq_budget {
	uint64_t steps, max;
};

static int sq_progress(void *ctx)
{
	struct sq_budget *b = ctx;

	b->steps += 1000;
	return strata_cancel || b->steps > b->max;
}

int rpm_sqlite_read(struct pkgdb *db, const char *path, size_t *bad, struct strata_err *e)
{
	char uri[4200];
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	struct sq_budget budget = { 0, RPM_STEPS_MIN };
	uint64_t size = 0, rows_bytes = 0;
	struct stat sb;
	int rc, r = 0;

	*bad = 0;
	db->kind = PKGDB_RPM;
	if (stat(path, &sb) == 0)
		size = (uint64_t)sb.st_size;
	budget.max += size * RPM_STEPS_PER_BYTE;
	/* immutable: no locks, no -wal or -shm beside it, no writes */
	snprintf(uri, sizeof(uri), "file:%s?immutable=1", path);
	if ((rc = sqlite3_open_v2(uri, &h, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL)) != SQLITE_OK) {
		r = sq_fail(h, rc, "not an rpm sqlite database", e);
		goto out;
	}
	sqlite3_db_config(h, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
	sqlite3_db_config(h, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);
	sqlite3_db_config(h, SQLITE_DBCONFIG_ENABLE_VIEW, 0, (int *)NULL);
	sqlite3_db_config(h, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, (int *)NULL);
	sqlite3_limit(h, SQLITE_LIMIT_LENGTH, RPM_VALUE_MAX);
	sqlite3_progress_handler(h, 1000, sq_progress, &budget);
	/* what Packages is, said plainly (a view would only fail as "no such
	 * table"); a generated column computes on every read (SQL printf can
	 * build 64 MiB for a row of a few bytes): rpm's table has none */
	if ((rc = sqlite3_prepare_v2(h, "SELECT type, (SELECT count(*) FROM pragma_table_xinfo('Packages') WHERE hidden != 0) "
				     "FROM sqlite_schema WHERE name = 'Packages'", -1, &st, NULL)) != SQLITE_OK) {
		r = sq_fail(h, rc, "not an rpm sqlite database", e);
		goto out;
	}
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *type = (const char *)sqlite3_column_text(st, 0);

		if (type && strcmp(type, "table"))
			r = err_set(e, STRATA_EFORMAT, "not an rpm sqlite database: Packages is a %.20s, not a table (not read)",
				    type);
		else if (sqlite3_column_int64(st, 1) > 0)
			r = err_set(e, STRATA_EFORMAT, "not an rpm sqlite database: Packages has generated columns (not read)");
		if (r < 0)
			goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if ((rc = sqlite3_prepare_v2(h, "SELECT blob FROM Packages ORDER BY hnum", -1, &st, NULL)) != SQLITE_OK) {
		r = sq_fail(h, rc, "not an rpm sqlite database", e);
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const void *b = sqlite3_column_blob(st, 0);
		int n = sqlite3_column_bytes(st, 0);
		struct strata_err pe = STRATA_ERR_INIT;

		if (n > 0 && (rows_bytes += (uint64_t)n) > 2 * size + RPM_VALUE_MAX) {
			r = err_set(e, STRATA_EFORMAT, "the rpm database's rows hold more bytes than a file of %llu bytes can",
				    (unsigned long long)size);
			goto out;
		}
		if (!b || n <= 0 || (r = rpm_header_parse(db, b, (size_t)n, &pe)) == -STRATA_EFORMAT) {
			(*bad)++;
			r = 0;
		} else if (r < 0) {
			*e = pe;
			goto out;
		}
	}
	if (rc == SQLITE_INTERRUPT && strata_cancel)
		r = err_set(e, STRATA_EIO, "interrupted");
	else if (rc == SQLITE_INTERRUPT)
		r = err_set(e, STRATA_EFORMAT, "reading the rpm database: more work than a database of %llu bytes needs "
			    "(over %llu steps)", (unsigned long long)size, (unsigned long long)budget.max);
	else if (rc != SQLITE_DONE)
		r = sq_fail(h, rc, "reading the rpm database", e);
out:
	sqlite3_finalize(st);
	sqlite3_close(h);
	pkgdb_sort(db);
	return r;
}
