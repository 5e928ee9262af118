/* walk.c - the layer walker; see walk.h. */
#include "analyze/walk.h"
#include "analyze/eco.h"
#include "analyze/risk.h"
#include "analyze/sbom.h"
#include "common/buf.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/digest.h"
#include "common/fsutil.h"
#include "common/limits.h"
#include "common/strmap.h"
#include "common/tar.h"
#include "formats/layerfs.h"

#define DEFAULT_MAX_PROBLEMS 50

struct layer_walk {
	struct walker *w;
	struct diag local;       /* moved into w->d at the end, unless discarded */
	struct ntree *seen;      /* every path of this layer; state: 1 when an entry had it */
	unsigned problems, suppressed;
	struct layer_files *lf;  /* when collecting */
	struct buf scan;         /* walker.risks: the first RISK_SCAN_MAX bytes of the file being read */
	struct eco_file eco;     /* walker.collect: rpm, Python, npm and Go packages (eco.h) */
	struct digest_ctx sha;   /* walker.content: made at the first file, reused for every file (md NULL: none) */
};

#define MAX_PKGDB (64u << 20)

void walker_init(struct walker *w, struct diag *d)
{
	memset(w, 0, sizeof(*w));
	w->d = d;
	w->unsafe_sev = SEV_ERROR;
	spill_init(&w->spill, WALK_SPILL_MEM);
}

static void problem(struct layer_walk *lw, enum severity sev, const char *id, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void problem(struct layer_walk *lw, enum severity sev, const char *id, const char *fmt, ...)
{
	unsigned max = lw->w->max_problems ? lw->w->max_problems : DEFAULT_MAX_PROBLEMS;
	char msg[STRATA_ERR_MAX];
	va_list ap;

	if (lw->problems >= max) {
		lw->suppressed++;
		return;
	}
	lw->problems++;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag_add_id(&lw->local, sev, STRATA_EFORMAT, id, "", "%s", msg);
}

static void *walk_begin(void *ctx, struct member *m)
{
	struct layer_walk *lw = calloc(1, sizeof(*lw));
	struct strata_err e = STRATA_ERR_INIT;

	(void)m;
	if (!lw)
		return NULL;
	lw->w = ctx;
	lw->local.max = 100000;
	lw->eco.spool = -1;
	buf_init(&lw->scan, RISK_SCAN_MAX);
	if (!(lw->lf = calloc(1, sizeof(*lw->lf)))) {
		free(lw);
		return NULL;
	}
	if (ntree_new(&lw->seen, 1, NULL, &e) < 0) {
		free(lw->lf);
		free(lw);
		return NULL;
	}
	layer_files_init(lw->lf, &lw->w->spill, lw->w->collect);
	return lw;
}

/* Read an entry's content: into b (capped) and/or through d, a sha256
 * context ready for a new digest, into digest; the first RISK_SCAN_MAX bytes
 * into scan (when not NULL; the rest is read only when b, digest or ef need
 * it); through ef while it is feeding.  On failure d holds part of a digest. */
static int read_content(struct tar *t, struct buf *b, struct digest_ctx *d, uint8_t digest[32], struct buf *scan,
			struct eco_file *ef, struct strata_err *e)
{
	struct stream *s = tar_data(t);
	const uint8_t *p;
	size_t n;
	int r;

	if (scan)
		scan->len = 0;
	while ((r = stream_get(s, &p, &n, SIZE_MAX, e)) == 0 && n) {
		if (scan && scan->len < RISK_SCAN_MAX &&
		    (r = buf_add(scan, p, n < RISK_SCAN_MAX - scan->len ? n : RISK_SCAN_MAX - scan->len, e)) < 0)
			break;
		if (eco_feeding(ef) && (r = eco_feed(ef, p, n, e)) < 0)
			break;
		if (!b && !digest && (!scan || scan->len >= RISK_SCAN_MAX) && !eco_feeding(ef))
			break;  /* the tar reader skips the rest */
		if (digest)
			digest_update(d, p, n);
		if (b && (r = buf_add(b, p, n, e)) < 0)
			break;
	}
	if (digest && r == 0) {
		uint8_t md[64];

		digest_final_raw(d, md);
		memcpy(digest, md, 32);
	}
	return r;
}

/* Room for a package file of size bytes in the source's budget (walker.pkg_max):
 * true, and it is counted; false past it, the first time with a warning.  A
 * file counts at least PKG_FILE_MIN: each package costs some hundreds of
 * bytes kept however small its manifest, and a layer of tiny package.json
 * files compresses far beyond their count. */
#define PKG_FILE_MIN 1024u

static bool pkg_room(struct layer_walk *lw, const char *rel, uint64_t size)
{
	struct walker *w = lw->w;
	uint64_t max = w->pkg_max ? w->pkg_max : (uint64_t)LIMIT_PKG_TOTAL * LIMIT_MAX_JSON;

	if (size < PKG_FILE_MIN)
		size = PKG_FILE_MIN;

	if (size <= max && w->pkg_bytes <= max - size) {
		w->pkg_bytes += size;
		return true;
	}
	if (!w->pkg_over)
		problem(lw, SEV_WARNING, PROBLEM_PACKAGE_DB,
			"'%s' and the package files after it are not read: the package files of this source would "
			"pass %llu bytes (each counted as at least %u; %d times --max-json: raise it there)", rel,
			(unsigned long long)max, PKG_FILE_MIN, LIMIT_PKG_TOTAL);
	w->pkg_over = true;
	return false;
}

/* Keep what the SBOM reads of the entry just added (db: its content). */
static int keep_file(struct layer_files *lf, enum sbom_keep kind, struct buf *db, struct strata_err *e)
{
	struct kept_file *k;
	struct buf out = BUF_INIT(SBOM_KEEP_MAX);
	int r = 0;

	if (array_grow(&lf->kept, lf->nkept, &lf->akept, sizeof(*lf->kept), 16) < 0)
		return err_nomem(e, "sbom");
	if (kind == SBOM_KEEP_COPYRIGHT)
		r = sbom_copyright_licenses(db->data ? db->data : "", db->len, &out, e);
	else
		r = buf_add(&out, db->data ? db->data : "", db->len, e) < 0 ? -e->code : 0;
	if (r == 0 && buf_add(&out, "", 1, e) < 0)  /* a terminating NUL: read as a string */
		r = -e->code;
	if (r < 0) {
		buf_release(&out);
		return r;
	}
	k = &lf->kept[lf->nkept++];
	k->entry = lf->nent - 1;
	k->len = out.len - 1;
	k->data = buf_detach(&out, NULL);
	return k->data ? 0 : err_nomem(e, "sbom");
}

/* Put a file's content digest in the store (files.h), its number in *no. */
static int keep_digest(struct layer_files *lf, const uint8_t md[32], uint64_t *no, struct strata_err *e)
{
	if (digests_add(md, no, e) < 0)
		return -e->code;
	if (!lf->digests) {
		lf->digests = true;
		digests_ref();
	}
	return 0;
}

/* How many things refer to entries of lf: a new one refers to the entry being collected. */
static size_t refs_of(const struct layer_files *lf)
{
	return lf->nfindings + lf->nkept + lf->dpkg_d.len + lf->pypi.len + lf->npm.len +
	       lf->gomod.len;
}

/* The entry at an rpm database path strata does not read (files.h: rpm_other). */
static void note_rpm_other(struct layer_files *lf, const char *rel, uint8_t flags)
{
	int k;

	for (k = 0; k < RPM_OTHER_N; k++)
		if (!strcmp(rel, rpm_other_paths[k]))
			lf->rpm_other = (int8_t)(flags & FE_WHITEOUT ? -1 : k + 1);
}

/* Read a regular file's content for what is asked of it (the package
 * databases, the SBOM's kept files, Python, npm and Go packages, risky
 * content, its digest into *no when digest). */
static int collect_content(struct layer_walk *lw, struct tar *t, const struct tar_entry *ent, const char *rel,
			   bool digest, uint64_t *no, struct strata_err *e)
{
	struct layer_files *lf = lw->lf;
	struct buf db = BUF_INIT(MAX_PKGDB);
	enum sbom_keep keep;
	bool is_db;
	uint8_t md[32];
	int r = 0;

	is_db = !strcmp(rel, "var/lib/dpkg/status") || !strcmp(rel, "lib/apk/db/installed") ||
		!strncmp(rel, "var/lib/dpkg/status.d/", 22);
	keep = lw->w->sbom && !is_db ? sbom_kept_kind(rel) : SBOM_KEEP_NONE;
	if (keep != SBOM_KEEP_NONE && ent->size > SBOM_KEEP_MAX)
		keep = SBOM_KEEP_NONE;  /* not what a package database writes: left out */
	eco_begin(&lw->eco, rel, ent->size);
	if ((is_db || keep != SBOM_KEEP_NONE || lw->eco.kind != ECO_NONE) && !pkg_room(lw, rel, ent->size)) {
		is_db = false;
		keep = SBOM_KEEP_NONE;
		eco_release(&lw->eco);
		eco_begin(&lw->eco, NULL, ent->size);
	}
	if (!is_db && !digest && keep == SBOM_KEEP_NONE && !lw->w->risks && !lw->eco.text &&
	    !eco_feeding(&lw->eco)) {
		eco_release(&lw->eco);
		return 0;
	}
	if (digest && !lw->sha.md && (r = digest_init(&lw->sha, DIGEST_SHA256, e)) < 0) {
		eco_release(&lw->eco);
		return r;
	}
	if ((r = read_content(t, is_db || keep != SBOM_KEEP_NONE || lw->eco.text ? &db : NULL, &lw->sha,
			      digest ? md : NULL, lw->w->risks ? &lw->scan : NULL, &lw->eco, e)) < 0 ||
	    (digest && (r = keep_digest(lf, md, no, e)) < 0)) {
		digest_release(&lw->sha);  /* part of a digest: made again for the next file */
		eco_release(&lw->eco);
		buf_release(&db);
		return r;
	}
	if (lw->w->risks && (r = risk_scan(lf, rel, (const uint8_t *)lw->scan.data, lw->scan.len, e)) < 0) {
		eco_release(&lw->eco);
		buf_release(&db);
		return r;
	}
	r = eco_end(&lw->eco, lf, rel, db.data, db.len, lf->nent, e);
	if (lw->eco.warn[0])
		problem(lw, SEV_WARNING, PROBLEM_PACKAGE_DB, "%s", lw->eco.warn);
	if (r == 0 && keep != SBOM_KEEP_NONE)
		r = keep_file(lf, keep, &db, e);
	else if (r == 0 && is_db && db.len) {
		if (!strcmp(rel, "var/lib/dpkg/status")) {
			pkgdb_release(&lf->dpkg);
			lf->has_dpkg = true;
			r = pkgdb_parse(&lf->dpkg, PKGDB_DPKG, db.data, db.len, e);
		} else if (!strcmp(rel, "lib/apk/db/installed")) {
			pkgdb_release(&lf->apk);
			lf->has_apk = true;
			r = pkgdb_parse(&lf->apk, PKGDB_APK, db.data, db.len, e);
		} else {
			r = pkgdb_parse_at(&lf->dpkg_d, PKGDB_DPKG_D, db.data, db.len, lf->nent, e);
		}
	}
	buf_release(&db);
	return r;
}

/* Keep one classified entry (nm released here) and, when collecting, what
 * its content holds for the reports. */
static int keep_entry(struct layer_walk *lw, struct tar *t, const struct tar_entry *ent, struct lfs_name *nm,
		      struct strata_err *e)
{
	struct layer_files *lf = lw->lf;
	/* hardlinks: the clean target; symlinks: as stored */
	const char *link = nm->link ? nm->link : nm->kind == LFS_ENTRY && ent->type == TAR_SYMLINK ? ent->link : NULL;
	bool collect = lw->w->collect, digest = collect && lw->w->content && nm->kind == LFS_ENTRY &&
					       ent->type == TAR_FILE;
	struct fentry f = { 0 };
	size_t refs = refs_of(lf);
	uint64_t no = 0;
	int r = 0;

	f.flags = nm->kind == LFS_OPAQUE ? FE_OPAQUE : nm->kind == LFS_WHITEOUT ? FE_WHITEOUT : 0;
	f.type = (uint8_t)ent->type;
	f.size = ent->type == TAR_FILE ? ent->size : 0;
	f.mode = ent->mode;
	f.uid = (uint32_t)ent->uid;
	f.gid = (uint32_t)ent->gid;
	lf->nent++;  /* the entry's index is nent - 1 from here on (risk_add, the packages, kept files) */
	if (f.flags & FE_OPAQUE)
		lf->opaques++;
	else if (f.flags & FE_WHITEOUT)
		lf->whiteouts++;
	else {
		lf->counts[ent->type]++;
		if (ent->type == TAR_FILE)
			lf->file_bytes += ent->size;
	}
	if (collect) {
		note_rpm_other(lf, nm->name, f.flags);
		if (!f.flags && lw->w->risks && ent->has_capability)
			r = risk_add(lf, RISK_CAPABILITY, "security.capability xattr", e);
		if (r == 0 && !f.flags && ent->type == TAR_FILE)
			r = collect_content(lw, t, ent, nm->name, digest, &no, e);
		digest = digest && r == 0;
	}
	if (r == 0)
		r = layer_files_add(lf, &f, nm->name, link, digest ? &no : NULL, e);
	if (r == 0 && refs_of(lf) != refs)
		r = layer_files_name_entry(lf, lf->nent - 1, nm->name, e);
	lfs_name_release(nm);
	return r;
}

static void say(void *ctx, enum severity sev, const char *msg)
{
	struct layer_walk *lw = ctx;

	problem(lw, sev == SEV_ERROR ? lw->w->unsafe_sev : sev, PROBLEM_UNSAFE_ENTRY, "%s", msg);
}

static int walk_entry(void *walk, struct tar *t, const struct tar_entry *ent, struct strata_err *e)
{
	struct layer_walk *lw = walk;
	struct lfs_report rep = { lw, say };
	struct lfs_name nm;
	int r;

	if ((r = lfs_classify(ent, &nm, &rep, e)) < 0)
		return r;
	if (nm.kind == LFS_SKIP || nm.kind == LFS_ROOT || nm.kind == LFS_META) {
		lfs_name_release(&nm);
		return 0;
	}
	if (nm.kind == LFS_ENTRY) {
		uint32_t i = ntree_path(lw->seen, nm.name, true, e);
		uint8_t *had;

		if (i == NTREE_NONE) {
			lfs_name_release(&nm);
			return -e->code;
		}
		had = ntree_data(lw->seen, i);
		if (ent->type != TAR_DIR && *had)
			problem(lw, SEV_WARNING, PROBLEM_DUPLICATE, "duplicate entry '%s' in layer (the last one wins)",
				ent->path);
		*had = 1;
	}
	return keep_entry(lw, t, ent, &nm, e);
}

static void walk_end(void *walk, struct member *m, int status, const struct strata_err *e, bool discard,
		     struct diag *d)
{
	struct layer_walk *lw = walk;
	size_t i;

	(void)d;
	(void)status;
	(void)e;  /* a broken layer tar is recorded on the member by the scan */
	if (!discard && m) {
		for (i = 0; i < lw->local.len; i++)
			diag_add_id(lw->w->d, lw->local.v[i].sev, lw->local.v[i].code, lw->local.v[i].id, m->name, "%s",
				    lw->local.v[i].msg);
		if (lw->suppressed)
			diag_add(lw->w->d, SEV_WARNING, STRATA_EFORMAT, m->name, "%u more problems in this layer not shown",
				 lw->suppressed);
	}
	if (lw->lf) {
		if (!discard && m && status == 0) {
			struct strata_err se = STRATA_ERR_INIT;

			/* a seal that fails (the spill file) leaves the last chunk in memory, still read */
			(void)spill_log_seal(&lw->lf->recs, &se);
			m->walk = lw->lf;
		} else {
			layer_files_free(lw->lf);
		}
	}
	diag_release(&lw->local);
	ntree_free(lw->seen);
	buf_release(&lw->scan);
	digest_release(&lw->sha);
	free(lw);
}

struct stack_check {
	struct walker *w;
	struct diag *d;
	const char *member;
	unsigned problems, suppressed;
};

static void stack_problem(void *ctx, enum severity sev, const char *msg)
{
	struct stack_check *sc = ctx;
	unsigned max = sc->w->max_problems ? sc->w->max_problems : DEFAULT_MAX_PROBLEMS;
	size_t i;

	if (sev == SEV_ERROR)
		sev = sc->w->unsafe_sev;
	for (i = 0; i < sc->d->len; i++)  /* images that share layers: say it once */
		if (!strcmp(sc->d->v[i].msg, msg) && !strcmp(sc->d->v[i].member, sc->member))
			return;
	if (sc->problems++ >= max) {
		sc->suppressed++;
		return;
	}
	diag_add_id(sc->d, sev, STRATA_EFORMAT, PROBLEM_UNSAFE_ENTRY, sc->member, "%s", msg);
}

/* The layers of one image stacked: what no single layer shows (writes
 * through a lower layer's symlink, hardlinks to what a layer above the
 * target changed, symlinks that leave the root through other layers). */
static void walk_image(void *ctx, const struct image *im, struct diag *d)
{
	struct stack_check sc = { ctx, d, "", 0, 0 };
	struct strata_err e = STRATA_ERR_INIT;
	struct lfs *v = NULL;
	size_t i;
	int r = 0;

	for (i = 0; i < im->nlayers; i++)
		if (!im->layers[i].m || !im->layers[i].m->walk)
			return;  /* absent or unreadable: reported already, and the stack is unknown */
	{
		struct lfs_events ev = { &sc, NULL, stack_problem, true };

		if ((r = lfs_new(&v, &ev, &e)) < 0)
			goto out;
	}
	for (i = 0; i < im->nlayers && r == 0; i++) {
		const struct member *m = im->layers[i].m;
		char lname[64];

		snprintf(lname, sizeof(lname), "layer %zu (%.19s)", i + 1, m->digest);
		sc.member = m->name;
		r = layer_files_apply(v, m->walk, (int)i, lname, NULL, NULL, &e);
	}
	if (sc.suppressed)
		diag_add(d, SEV_WARNING, STRATA_EFORMAT, sc.member, "%u more problems in the stacked layers not shown",
			 sc.suppressed);
out:
	if (r < 0)
		diag_add(d, SEV_ERROR, e.code, "", "stacking the layers: %s", e.msg);
	lfs_free(v);
}

void walker_hooks(struct walker *w, struct layer_hooks *h)
{
	h->ctx = w;
	h->begin = walk_begin;
	h->entry = walk_entry;
	h->end = walk_end;
	h->image = walk_image;
	h->free_result = (void (*)(void *))layer_files_free;
}
