/*
 * sbom.c - the packages of an image's final filesystem; see sbom.h.
 *
 * The layers are stacked once to know the final filesystem (path -> the
 * entry that shows there and its layer).  A database counts when its file is
 * in that view: the status file of the layer that wrote the one shown, each
 * status.d fragment shown, the apk database shown.  Which layer introduced
 * and last changed a package is read from the databases layer by layer, as
 * analyze reads them (a full database replaces the one below; status.d
 * fragments add to theirs).
 */
#include "analyze/sbom.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analyze/eco.h"
#include "formats/json.h"
#include "formats/layerfs.h"

enum sbom_keep sbom_kept_kind(const char *p)
{
	size_t n = strlen(p);

	if (!strcmp(p, "etc/os-release") || !strcmp(p, "usr/lib/os-release"))
		return SBOM_KEEP_OSREL;
	if (n > 17 && !strcmp(p + n - 17, ".dist-info/RECORD") && p[n - 18] != '/')
		return SBOM_KEEP_RECORD;
	if (!strncmp(p, "var/lib/dpkg/info/", 18) && n > 23 && !strcmp(p + n - 5, ".list") && !strchr(p + 18, '/'))
		return SBOM_KEEP_LIST;
	if (!strncmp(p, "usr/share/doc/", 14) && n > 24 && !strcmp(p + n - 10, "/copyright")) {
		const char *d = p + 14;

		if (strchr(d, '/') == p + n - 10 && d < p + n - 10)
			return SBOM_KEEP_COPYRIGHT;
	}
	return SBOM_KEEP_NONE;
}

/* Is line l (n bytes) already one of the lines of b? */
static bool has_line(const struct buf *b, const char *l, size_t n)
{
	const char *p = b->data, *end = p ? p + b->len : NULL;

	while (p && p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t len = eol ? (size_t)(eol - p) : (size_t)(end - p);

		if (len == n && !memcmp(p, l, n))
			return true;
		if (!eol)
			break;
		p = eol + 1;
	}
	return false;
}

int sbom_copyright_licenses(const char *t, size_t n, struct buf *out, struct strata_err *e)
{
	const char *end = t + n;

	/* DEP-5: the first paragraph starts with Format: (the spec's URL) */
	if (n < 7 || memcmp(t, "Format:", 7))
		return 0;
	while (t < end) {
		const char *eol = memchr(t, '\n', (size_t)(end - t));
		size_t len = eol ? (size_t)(eol - t) : (size_t)(end - t);

		if (len > 8 && !memcmp(t, "License:", 8)) {
			const char *v = t + 8, *ve = t + len;

			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t' || ve[-1] == '\r'))
				ve--;
			if (ve > v && !has_line(out, v, (size_t)(ve - v)) &&
			    (buf_add(out, v, (size_t)(ve - v), e) < 0 || buf_add(out, "\n", 1, e) < 0))
				return -e->code;
		}
		if (!eol)
			break;
		t = eol + 1;
	}
	return 0;
}

int sbom_uuid(const char *digest, char out[37])
{
	uint8_t b[16];
	size_t i;
	int o = 0;

	if (!digest || strncmp(digest, "sha256:", 7) || strlen(digest) != 71)
		return -1;
	for (i = 0; i < 16; i++) {
		unsigned v;

		if (!isxdigit((unsigned char)digest[7 + 2 * i]) || !isxdigit((unsigned char)digest[8 + 2 * i]) ||
		    sscanf(digest + 7 + 2 * i, "%2x", &v) != 1)
			return -1;
		b[i] = (uint8_t)v;
	}
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x50);  /* version 5: name-based */
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);  /* RFC 4122 variant */
	for (i = 0; i < 16; i++)
		o += snprintf(out + o, 37 - (size_t)o, "%s%02x", i == 4 || i == 6 || i == 8 || i == 10 ? "-" : "", b[i]);
	return 0;
}

int sbom_time(const char *created, const char *sde, char out[32])
{
	struct tm tm = { 0 };
	long long t = 0;

	if (sde && *sde) {
		char *end;

		t = strtoll(sde, &end, 10);
		if (*end || t < 0)
			return -1;
	} else if (created) {
		int y, mo, d, h, mi, s, n = 0;
		const char *p;

		if (sscanf(created, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &n) == 6 && n == 19) {
			tm.tm_year = y - 1900;
			tm.tm_mon = mo - 1;
			tm.tm_mday = d;
			tm.tm_hour = h;
			tm.tm_min = mi;
			tm.tm_sec = s;
			t = (long long)timegm(&tm);
			p = created + 19;
			if (*p == '.')
				for (p++; isdigit((unsigned char)*p); p++)
					;
			if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d", &h, &mi) == 2)
				t -= (*p == '+' ? 1 : -1) * (h * 3600LL + mi * 60LL);
			if (t < 0)
				t = 0;
		}
	}
	{
		time_t tt = (time_t)t;

		if (!gmtime_r(&tt, &tm))
			return -1;
	}
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return 0;
}

/* ---- building ---- */

/* An entry of the final filesystem: entry i of the layer lf. */
struct fin {
	const struct layer_files *lf;
	size_t i;
	uint8_t type;
};

/* The final filesystem's entry at path into *x: true, or false when none
 * (a path that is not clean names none). */
static bool fin_get(const struct sbom *s, const char *path, struct fin *x)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct lfs_prev at;
	size_t n = strlen(path);
	uint32_t node;

	if (!n || path[n - 1] == '/' || !strcmp(path, ".") ||
	    (node = lfs_node(s->stack, path, false, &e)) == NTREE_NONE || !lfs_at(s->stack, node, &at))
		return false;
	x->lf = s->im->layers[at.layer].m->walk;
	x->i = layer_files_index(at.data);
	x->type = at.type;
	return true;
}

/* The same, a regular file only. */
static bool final_file(const struct sbom *s, const char *path, struct fin *x)
{
	return fin_get(s, path, x) && x->type == TAR_FILE;
}

static int cmp_kept(const void *k, const void *x)
{
	size_t a = *(const size_t *)k, b = ((const struct kept_file *)x)->entry;

	return a < b ? -1 : a > b;
}

/* What the walker kept of the final file at path, or NULL. */
static const char *kept(const struct sbom *s, const char *path)
{
	const struct kept_file *k;
	struct fin x;

	if (!final_file(s, path, &x))
		return NULL;
	k = x.lf->nkept ? bsearch(&x.i, x.lf->kept, x.lf->nkept, sizeof(*x.lf->kept), cmp_kept) : NULL;
	return k ? k->data : NULL;
}

/* Is the entry a package of lf names (1 + its index) the one the final filesystem shows at its path? */
static bool shows(const struct sbom *s, const struct layer_files *lf, size_t entry)
{
	const char *path = entry ? layer_files_name(lf, entry - 1) : NULL;
	struct fin x;

	return path && fin_get(s, path, &x) && x.lf == lf && x.i == entry - 1;
}

/* os-release's ID= (etc/ first, then usr/lib/), lowercased; def when absent. */
static void distro(const struct sbom *s, const char *def, char out[64])
{
	const char *t = kept(s, "etc/os-release");

	snprintf(out, 64, "%s", def);
	if (!t)
		t = kept(s, "usr/lib/os-release");
	for (; t && *t; t = strchr(t, '\n') ? strchr(t, '\n') + 1 : "") {
		size_t n = strcspn(t, "\n"), i = 0, o = 0;

		if (n < 4 || strncmp(t, "ID=", 3))
			continue;
		for (i = 3; i < n && o < 63; i++) {
			char c = (char)tolower((unsigned char)t[i]);

			if (isalnum((unsigned char)c) || c == '.' || c == '-' || c == '_')
				out[o++] = c;
		}
		if (o) {
			out[o] = 0;
			return;
		}
		snprintf(out, 64, "%s", def);
		return;
	}
}

static bool is_frag(enum pkgdb_kind kind)
{
	return kind == PKGDB_PYPI || kind == PKGDB_NPM || kind == PKGDB_GO;
}

static const struct pkgdb *frag_db(const struct layer_files *lf, enum pkgdb_kind kind)
{
	return kind == PKGDB_PYPI ? &lf->pypi : kind == PKGDB_NPM ? &lf->npm : &lf->gomod;
}

/* The manifest (or binary) path of a python, npm or go package of lf. */
static const char *frag_path(const struct layer_files *lf, const struct package *p)
{
	const char *path = p->entry ? layer_files_name(lf, p->entry - 1) : NULL;

	return path ? path : "";
}

/* Per layer and fragment kind: "PATH\nNAME" -> version, "PATH\n" -> the
 * layer writes (or deletes) that manifest.  Built on first use. */
static struct strmap *frag_map(struct sbom *s, enum pkgdb_kind kind, size_t li, struct strata_err *e)
{
	struct strmap *maps = s->fmaps, *m;
	const struct layer_files *lf = s->im->layers[li].m->walk;
	const struct pkgdb *db = frag_db(lf, kind);
	struct buf k = BUF_INIT(2 * LFS_PATH_MAX);
	struct files_reader rd;
	const struct fentry *f;
	size_t i;
	int r = 0, got;

	m = &maps[li * 3 + (size_t)(kind - PKGDB_PYPI)];
	if (s->fbuilt[li * 3 + (size_t)(kind - PKGDB_PYPI)])
		return m;
	s->fbuilt[li * 3 + (size_t)(kind - PKGDB_PYPI)] = 1;
	for (i = 0; i < db->len && r == 0; i++) {
		const char *path = frag_path(lf, &db->v[i]);

		buf_reset(&k);
		if (buf_printf(&k, e, "%s\n", path) < 0 || buf_add(&k, "", 1, e) < 0 ||
		    strmap_put(m, k.data, (void *)"", e) < 0)
			r = -e->code;
		else if ((k.len--, buf_printf(&k, e, "%s", db->v[i].name) < 0) || buf_add(&k, "", 1, e) < 0 ||
			 strmap_put(m, k.data, db->v[i].version, e) < 0)
			r = -e->code;
	}
	files_read_init(&rd, lf);
	while (r == 0 && (got = files_read(&rd, &f, &i, e)) != 0) {
		if (got < 0) {
			r = got;
			break;
		}
		if (!(f->flags & FE_WHITEOUT))
			continue;
		buf_reset(&k);
		if (buf_printf(&k, e, "%s\n", f->path) < 0 || buf_add(&k, "", 1, e) < 0 ||
		    strmap_put(m, k.data, (void *)"", e) < 0)
			r = -e->code;
	}
	files_read_release(&rd);
	buf_release(&k);
	return r < 0 ? NULL : m;
}

/* The package's state at each layer: its version (NULL: absent). */
static const char *state(struct sbom *s, enum pkgdb_kind kind, const struct sbom_pkg *sp, size_t li,
			 const struct pkgdb **cur, const char **frag, struct strata_err *e)
{
	const struct image *im = s->im;
	const struct layer_files *lf = im->layers[li].m->walk;
	const struct package *p;
	const char *name = sp->p->name;

	if (is_frag(kind)) {
		struct strmap *m = frag_map(s, kind, li, e);
		char key[2 * LFS_PATH_MAX];
		const char *v;

		if (!m)
			return NULL;
		snprintf(key, sizeof(key), "%s\n", sp->db);
		if (!strmap_get(m, key))
			return *frag;  /* the layer leaves the manifest as it was */
		snprintf(key, sizeof(key), "%s\n%s", sp->db, name);
		v = strmap_get(m, key);
		return *frag = v;
	}
	if (kind == PKGDB_DPKG_D) {
		if ((p = pkgdb_find(&lf->dpkg_d, name)))
			*frag = p->version;
		return *frag;
	}
	if (kind == PKGDB_DPKG && lf->has_dpkg)
		*cur = &lf->dpkg;
	if (kind == PKGDB_APK && lf->has_apk)
		*cur = &lf->apk;
	if (kind == PKGDB_RPM && lf->has_rpm)
		*cur = &lf->rpm;
	p = *cur ? pkgdb_find(*cur, name) : NULL;
	return p ? p->version : NULL;
}

static int attribute(struct sbom *s, enum pkgdb_kind kind, struct sbom_pkg *sp, struct strata_err *e)
{
	const struct image *im = s->im;
	const struct pkgdb *cur = NULL;
	const char *frag = NULL, *prev = NULL;
	size_t i;

	sp->introduced = sp->changed = (int)im->nlayers - 1;
	for (i = 0; i < im->nlayers; i++) {
		const char *v = state(s, kind, sp, i, &cur, &frag, e);

		if (e->code)
			return -e->code;
		if (v && !prev)
			sp->introduced = (int)i;
		if (v && (!prev || strcmp(v, prev)))
			sp->changed = (int)i;
		prev = v;
	}
	return 0;
}

static int add_file(struct sbom_pkg *sp, const struct sbom *s, const char *path, size_t n, const char *listed,
		    struct strata_err *e)
{
	char clean[LFS_PATH_MAX], *p;
	struct fin x;

	while (n && *path == '/')
		path++, n--;
	if (!n || n >= sizeof(clean))
		return 0;
	memcpy(clean, path, n);
	clean[n] = 0;
	if (!final_file(s, clean, &x))
		return 0;  /* directories, and what the image no longer has */
	if (array_grow(&sp->files, sp->nfiles, &sp->afiles, sizeof(*sp->files), 16) < 0 || !(p = strdup(clean)))
		return err_nomem(e, "sbom");
	sp->files[sp->nfiles++] = (struct sbom_file){ p, x.lf, x.i, 0, false, listed };
	return 0;
}

/* "path\n" or "path\tSHA256\n" lines: the path of each. */
static int add_lines(struct sbom_pkg *sp, const struct sbom *s, const char *t, struct strata_err *e)
{
	int r = 0;

	while (t && *t && r == 0) {
		size_t n = strcspn(t, "\n");

		size_t pn = strcspn(t, "\t\n");

		r = add_file(sp, s, t, pn, t[pn] == '\t' && n - pn == 65 ? t + pn + 1 : NULL, e);
		t += n + (t[n] == '\n');
	}
	return r;
}

static int add_license(struct sbom_pkg *sp, const char *l, size_t n, struct strata_err *e)
{
	if (array_grow(&sp->licenses, sp->nlic, &sp->alic, sizeof(*sp->licenses), 4) < 0 ||
	    !(sp->licenses[sp->nlic] = strndup(l, n)))
		return err_nomem(e, "sbom");
	sp->nlic++;
	return 0;
}

static int add_license_lines(struct sbom_pkg *sp, const char *t, struct strata_err *e)
{
	int r = 0;

	while (t && *t && r == 0) {
		size_t n = strcspn(t, "\n");

		if (n)
			r = add_license(sp, t, n, e);
		t += n + (t[n] == '\n');
	}
	return r;
}

static const char *type_of(enum pkgdb_kind kind)
{
	switch (kind) {
	case PKGDB_APK: return "apk";
	case PKGDB_RPM: return "rpm";
	case PKGDB_PYPI: return "pypi";
	case PKGDB_NPM: return "npm";
	case PKGDB_GO: return "golang";
	default: return "deb";
	}
}

/* The key of a package's identity in s->named: its purl type, name and
 * architecture, then its database when db is given; each part preceded by
 * its length, so no two identities share a key. */
static int named_key(struct buf *k, const char *type, const struct package *p, const char *db,
		     struct strata_err *e)
{
	buf_reset(k);
	if (buf_printf(k, e, "%zu:%s%zu:%s%zu:%s", strlen(type), type, strlen(p->name), p->name, strlen(p->arch),
		       p->arch) < 0 ||
	    (db && buf_printf(k, e, "%zu:%s", strlen(db), db) < 0))
		return -e->code;
	return 0;
}

/* Is a package of p's type, name and architecture (and, db given, listed in
 * db) already in the document?  A lookup: images with tens of thousands of
 * npm or python packages exist, and a hostile one can list far more. */
static int listed(struct sbom *s, const char *type, const struct package *p, const char *db, struct strata_err *e)
{
	struct buf k = BUF_INIT(3 * LFS_PATH_MAX);
	int r = named_key(&k, type, p, db, e);

	if (r == 0)
		r = strmap_get(&s->named, k.data) != NULL;
	buf_release(&k);
	return r;
}

/* Remember sp as listed, under both keys listed() asks for. */
static int name_listed(struct sbom *s, const struct sbom_pkg *sp, struct strata_err *e)
{
	struct buf k = BUF_INIT(3 * LFS_PATH_MAX);
	int r = named_key(&k, sp->type, sp->p, NULL, e);

	if (r == 0)
		r = strmap_put(&s->named, k.data, (void *)1, e);
	if (r == 0)
		r = named_key(&k, sp->type, sp->p, sp->db, e);
	if (r == 0)
		r = strmap_put(&s->named, k.data, (void *)1, e);
	buf_release(&k);
	return r;
}

/* The files of a python distribution: RECORD beside its METADATA. */
static int python_files(struct sbom_pkg *sp, const struct sbom *s, struct strata_err *e)
{
	char dir[LFS_PATH_MAX], rec[LFS_PATH_MAX + 8];
	const char *slash = strrchr(sp->db, '/'), *t;
	struct buf out = BUF_INIT(64u << 20);
	int r;

	if (!slash || (size_t)(slash - sp->db) >= sizeof(dir))
		return 0;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - sp->db), sp->db);
	snprintf(rec, sizeof(rec), "%s/RECORD", dir);
	if (!(t = kept(s, rec)))
		return 0;  /* egg-info, or no RECORD */
	if ((r = py_record_files(dir, t, strlen(t), &out, e)) == 0 && out.len && buf_add(&out, "", 1, e) < 0)
		r = -e->code;
	if (r == 0 && out.len)
		r = (sp->record = buf_detach(&out, NULL)) ? add_lines(sp, s, sp->record, e) : err_nomem(e, "sbom");
	buf_release(&out);
	return r;
}

static int add_pkg(struct sbom *s, enum pkgdb_kind kind, const struct package *p, const char *ns, const char *where,
		   struct strata_err *e)
{
	const char *type = type_of(kind);
	struct buf b = BUF_INIT(1u << 20);
	struct sbom_pkg *sp;
	char path[LFS_PATH_MAX];
	int r = 0;

	if ((r = listed(s, type, p, is_frag(kind) ? where : NULL, e)) != 0)
		return r < 0 ? r : 0;
	if (array_grow(&s->v, s->len, &s->alloc, sizeof(*s->v), 64) < 0)
		return err_nomem(e, "sbom");
	sp = &s->v[s->len++];
	memset(sp, 0, sizeof(*sp));
	sp->type = type;
	sp->db = where ? where : kind == PKGDB_APK ? "lib/apk/db/installed" : kind == PKGDB_DPKG ? "var/lib/dpkg/status"
											  : "var/lib/dpkg/status.d";
	sp->p = p;
	if ((r = name_listed(s, sp, e)) < 0)
		return r;
	if (sbom_purl_of(&b, kind, p, ns, e) < 0 || buf_add(&b, "", 1, e) < 0) {
		buf_release(&b);
		return -e->code;
	}
	sp->purl = buf_detach(&b, NULL);
	if (!sp->purl)
		return err_nomem(e, "sbom");
	if ((r = attribute(s, kind, sp, e)) < 0)
		return r;
	if (kind != PKGDB_DPKG && kind != PKGDB_DPKG_D) {
		r = add_license_lines(sp, p->license, e);
		if (r == 0 && (kind == PKGDB_APK || kind == PKGDB_RPM))
			r = add_lines(sp, s, p->files, e);
		if (r == 0 && kind == PKGDB_PYPI)
			r = python_files(sp, s, e);
		if (r == 0 && kind == PKGDB_GO)
			r = add_file(sp, s, sp->db, strlen(sp->db), NULL, e);  /* the binary */
		return r;
	}
	snprintf(path, sizeof(path), "usr/share/doc/%s/copyright", p->name);
	{
		const char *t = kept(s, path);

		while (t && *t && r == 0) {
			size_t n = strcspn(t, "\n");

			r = add_license(sp, t, n, e);
			t += n + (t[n] == '\n');
		}
	}
	snprintf(path, sizeof(path), "var/lib/dpkg/info/%s:%s.list", p->name, p->arch);
	if (r == 0 && (!*p->arch || !kept(s, path)))
		snprintf(path, sizeof(path), "var/lib/dpkg/info/%s.list", p->name);
	if (r == 0)
		r = add_lines(sp, s, kept(s, path), e);
	return r;
}

static int cmp_pkgs(const void *x, const void *y)
{
	const struct sbom_pkg *a = x, *b = y;
	int c = strcmp(a->type, b->type);

	if (!c)
		c = strcmp(a->p->name, b->p->name);
	if (!c)
		c = strcmp(a->p->arch, b->p->arch);
	if (!c)
		c = strcmp(a->p->version, b->p->version);
	if (!c)
		c = strcmp(a->db, b->db);
	return c;
}

/* The full database (status, installed, rpmdb.sqlite) the final filesystem shows. */
static const struct pkgdb *final_db(const struct sbom *s, const char *path, enum pkgdb_kind kind)
{
	struct fin x;

	if (!final_file(s, path, &x))
		return NULL;
	if (kind == PKGDB_APK)
		return x.lf->has_apk ? &x.lf->apk : NULL;
	if (kind == PKGDB_RPM)
		return x.lf->has_rpm ? &x.lf->rpm : NULL;
	return x.lf->has_dpkg ? &x.lf->dpkg : NULL;
}

/* Python, npm and Go packages whose manifest (binary) the final filesystem shows. */
static int add_frags(struct sbom *s, enum pkgdb_kind kind, struct strata_err *e)
{
	const struct image *im = s->im;
	size_t i, j;
	int r = 0;

	for (i = im->nlayers; i-- > 0 && r == 0;) {
		const struct layer_files *lf = im->layers[i].m->walk;
		const struct pkgdb *db = frag_db(lf, kind);

		for (j = 0; j < db->len && r == 0; j++) {
			const struct package *p = &db->v[j];

			if (shows(s, lf, p->entry))
				r = add_pkg(s, kind, p, NULL, layer_files_name(lf, p->entry - 1), e);
		}
	}
	return r;
}

/* bom-refs: the purl, unless another package has the same one (the same
 * module in two Go binaries, a package nested twice in node_modules). */
static int refs(struct sbom *s, struct strata_err *e)
{
	size_t i;

	for (i = 0; i < s->len; i++) {
		struct sbom_pkg *sp = &s->v[i];
		bool dup = (i > 0 && !strcmp(s->v[i - 1].purl, sp->purl)) ||
			   (i + 1 < s->len && !strcmp(s->v[i + 1].purl, sp->purl));
		struct buf b = BUF_INIT(1u << 20);

		if (buf_addstr(&b, sp->purl, e) < 0 || (dup && buf_printf(&b, e, "#%s", sp->db) < 0) ||
		    buf_add(&b, "", 1, e) < 0) {
			buf_release(&b);
			return -e->code;
		}
		if (!(sp->ref = buf_detach(&b, NULL)))
			return err_nomem(e, "sbom");
	}
	return 0;
}

static size_t count_type(const struct sbom *s, const char *type)
{
	size_t i, n = 0;

	for (i = 0; i < s->len; i++)
		n += !strcmp(s->v[i].type, type);
	return n;
}

static void note_count(struct sbom *s, enum pkg_eco k, const char *type)
{
	size_t n = count_type(s, type);

	if (n)
		snprintf(s->notes[k], sizeof(s->notes[k]), "%zu package%s", n, n == 1 ? "" : "s");
	else
		snprintf(s->notes[k], sizeof(s->notes[k]), "none found");
}

static void notes(struct sbom *s, bool rpm_sqlite)
{
	const struct image *im = s->im;
	uint32_t old = 0;
	struct fin x;
	size_t i;

	note_count(s, PKG_ECO_DPKG, "deb");
	note_count(s, PKG_ECO_APK, "apk");
	note_count(s, PKG_ECO_RPM, "rpm");
	note_count(s, PKG_ECO_PYTHON, "pypi");
	note_count(s, PKG_ECO_NPM, "npm");
	note_count(s, PKG_ECO_GO, "golang");
	if (!rpm_sqlite) {
		const char *why = NULL;

		static const char *const other[] = { "var/lib/rpm/Packages", "usr/lib/sysimage/rpm/Packages",
						     "var/lib/rpm/Packages.db", "usr/lib/sysimage/rpm/Packages.db" };
		char buf[128];

		if (final_file(s, "var/lib/rpm/rpmdb.sqlite", &x) || final_file(s, "usr/lib/sysimage/rpm/rpmdb.sqlite", &x))
			why = "rpmdb.sqlite was not read: see the warnings";
		for (i = 0; !why && i < 4; i++)
			if (final_file(s, other[i], &x)) {
				snprintf(buf, sizeof(buf), "only %s %s; strata reads rpmdb.sqlite", i < 2 ? "a Berkeley DB" : "an ndb",
					 other[i]);
				why = buf;
			}
		if (why)
			snprintf(s->notes[PKG_ECO_RPM], sizeof(s->notes[PKG_ECO_RPM]), "not checked (%s)", why);
	}
	for (i = 0; i < im->nlayers; i++)
		old += ((const struct layer_files *)im->layers[i].m->walk)->go_old;
	if (old) {
		size_t n = strlen(s->notes[PKG_ECO_GO]);

		snprintf(s->notes[PKG_ECO_GO] + n, sizeof(s->notes[PKG_ECO_GO]) - n,
			 "; not checked: %u binar%s in the build info format before Go 1.18", old, old == 1 ? "y" : "ies");
	}
}

static int cmp_file_ref(const void *x, const void *y)
{
	const struct sbom_file *a = *(const struct sbom_file *const *)x, *b = *(const struct sbom_file *const *)y;

	return a->i < b->i ? -1 : a->i > b->i;
}

/* The content digests of the files the packages list: one pass over the
 * entries of each layer that holds some, in the order walked. */
static int file_digests(struct sbom *s, struct strata_err *e)
{
	const struct sbom_file **v = NULL;
	size_t li, i, j, n, k;
	int r = 0, got;

	for (i = n = 0; i < s->len; i++)
		n += s->v[i].nfiles;
	if (n && !(v = malloc(n * sizeof(*v))))
		return err_nomem(e, "sbom");
	for (li = 0; li < s->im->nlayers && r == 0; li++) {
		const struct layer_files *lf = s->im->layers[li].m->walk;
		struct files_reader rd;
		const struct fentry *f;

		for (i = k = 0; i < s->len; i++)
			for (j = 0; j < s->v[i].nfiles; j++)
				if (s->v[i].files[j].lf == lf)
					v[k++] = &s->v[i].files[j];
		if (!k)
			continue;
		qsort(v, k, sizeof(*v), cmp_file_ref);
		files_read_init(&rd, lf);
		for (j = 0; j < k && (got = files_read(&rd, &f, &i, e)) != 0;) {
			if (got < 0) {
				r = got;
				break;
			}
			for (; j < k && v[j]->i == i; j++) {
				struct sbom_file *sf = (struct sbom_file *)v[j];

				sf->has_digest = fentry_digest_no(f, &sf->digest);
			}
		}
		files_read_release(&rd);
	}
	free(v);
	return r;
}

static int build(const struct image *im, struct lfs *stack, struct sbom *s, struct strata_err *e)
{
	const struct pkgdb *db;
	char deb[64], apk[64], rpm[64];
	size_t i, j;
	int r = 0;

	memset(s, 0, sizeof(*s));
	s->im = im;
	for (i = 0; i < im->nlayers; i++)
		if (!im->layers[i].m || !im->layers[i].m->walk)
			return err_set(e, STRATA_EFORMAT, "layer %zu is not in the source or not readable", i + 1);
	if (im->nlayers && (!(s->fmaps = calloc(3 * im->nlayers, sizeof(struct strmap))) ||
			    !(s->fbuilt = calloc(3 * im->nlayers, 1))))
		return err_nomem(e, "sbom");
	if (stack)
		s->stack = stack;  /* the caller's */
	else if ((r = layer_files_stack(im, &s->stack, e)) < 0)
		return r;
	s->own_stack = !stack;
	distro(s, "debian", deb);
	distro(s, "alpine", apk);
	distro(s, "redhat", rpm);
	if ((db = final_db(s, "var/lib/dpkg/status", PKGDB_DPKG)))
		for (i = 0; i < db->len && r == 0; i++)
			r = add_pkg(s, PKGDB_DPKG, &db->v[i], deb, NULL, e);
	for (i = im->nlayers; i-- > 0 && r == 0;) {  /* status.d: the top fragment of a name first */
		const struct layer_files *lf = im->layers[i].m->walk;

		for (j = 0; j < lf->dpkg_d.len && r == 0; j++) {
			const struct package *p = &lf->dpkg_d.v[j];

			if (shows(s, lf, p->entry))
				r = add_pkg(s, PKGDB_DPKG_D, p, deb, NULL, e);
		}
	}
	if (r == 0 && (db = final_db(s, "lib/apk/db/installed", PKGDB_APK)))
		for (i = 0; i < db->len && r == 0; i++)
			r = add_pkg(s, PKGDB_APK, &db->v[i], apk, NULL, e);
	{
		static const char *const rpmdbs[] = { "var/lib/rpm/rpmdb.sqlite", "usr/lib/sysimage/rpm/rpmdb.sqlite" };
		bool seen = false;

		for (j = 0; j < 2 && r == 0 && !seen; j++)
			if ((db = final_db(s, rpmdbs[j], PKGDB_RPM))) {
				seen = true;
				for (i = 0; i < db->len && r == 0; i++)
					r = add_pkg(s, PKGDB_RPM, &db->v[i], rpm, rpmdbs[j], e);
			}
		if (r == 0)
			r = add_frags(s, PKGDB_PYPI, e);
		if (r == 0)
			r = add_frags(s, PKGDB_NPM, e);
		if (r == 0)
			r = add_frags(s, PKGDB_GO, e);
		if (s->len > 1)
			qsort(s->v, s->len, sizeof(*s->v), cmp_pkgs);
		if (r == 0)
			r = refs(s, e);
		notes(s, seen);
	}
	return r == 0 ? file_digests(s, e) : r;
}

/* What only building reads: the final filesystem and the per-layer maps. */
static void drop_build_state(struct sbom *s)
{
	size_t i;

	if (s->fmaps)
		for (i = 0; i < 3 * s->im->nlayers; i++)
			strmap_release(&((struct strmap *)s->fmaps)[i]);
	free(s->fmaps);
	free(s->fbuilt);
	if (s->own_stack)
		lfs_free(s->stack);
	s->stack = NULL;
	s->own_stack = false;
	strmap_release(&s->named);
	s->fmaps = NULL;
	s->fbuilt = NULL;
}

int sbom_build(const struct image *im, struct lfs *stack, struct sbom *s, struct strata_err *e)
{
	int r = build(im, stack, s, e);

	drop_build_state(s);  /* its own stack and maps: not kept beside the document */
	if (r < 0)  /* out of memory half-way: nothing is left to the caller */
		sbom_release(s);
	return r;
}

void sbom_release(struct sbom *s)
{
	size_t i, j;

	for (i = 0; i < s->len; i++) {
		for (j = 0; j < s->v[i].nlic; j++)
			free(s->v[i].licenses[j]);
		free(s->v[i].licenses);
		for (j = 0; j < s->v[i].nfiles; j++)
			free(s->v[i].files[j].path);
		free(s->v[i].files);
		free(s->v[i].purl);
		free(s->v[i].ref);
		free(s->v[i].record);
	}
	drop_build_state(s);
	free(s->v);
	memset(s, 0, sizeof(*s));
}
