/* walk.c - the layer walker; see walk.h. */
#include "analyze/walk.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/digest.h"
#include "common/fsutil.h"
#include "common/strmap.h"
#include "common/tar.h"

#define DEFAULT_MAX_PROBLEMS 50

struct layer_walk {
	struct walker *w;
	struct diag local;       /* moved into w->d at the end, unless discarded */
	struct strmap symlinks;  /* symlinks of this layer, by cleaned path */
	struct strmap seen;      /* every path of this layer */
	unsigned problems, suppressed;
	struct layer_files *lf;  /* when collecting */
};

#define MAX_PKGDB (64u << 20)

void walker_init(struct walker *w, struct diag *d)
{
	memset(w, 0, sizeof(*w));
	w->d = d;
}

static void problem(struct layer_walk *lw, enum severity sev, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void problem(struct layer_walk *lw, enum severity sev, const char *fmt, ...)
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
	diag_add(&lw->local, sev, STRATA_EFORMAT, "", "%s", msg);
}

static void *walk_begin(void *ctx, struct member *m)
{
	struct layer_walk *lw = calloc(1, sizeof(*lw));

	(void)m;
	if (!lw)
		return NULL;
	lw->w = ctx;
	lw->local.max = 100000;
	if (lw->w->collect && !(lw->lf = calloc(1, sizeof(*lw->lf)))) {
		free(lw);
		return NULL;
	}
	return lw;
}

/* The first proper prefix of `rel` that is a symlink of this layer (malloc'd), or NULL. */
static char *through_symlink(struct layer_walk *lw, char *rel)
{
	char *p, *hit = NULL;

	for (p = strchr(rel, '/'); p && !hit; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (strmap_get(&lw->symlinks, rel))
			hit = strdup(rel);
		*p = '/';
	}
	return hit;
}

/*
 * Does resolving `target` from directory `dir` (a layer-relative path, "" for
 * the root) climb above the root?  Symlinks of this layer met on the way are
 * followed (absolute ones from the root, as in a container), so a chain such
 * as `t -> .` then `x -> t/t/../../../tmp` is caught: lexical cleaning alone
 * would call it harmless.  A loop or more than 40 links counts as escaping.
 */
static bool resolve_escapes(struct layer_walk *lw, const char *dir, const char *target)
{
	struct buf cur = BUF_INIT(1u << 20), rest = BUF_INIT(1u << 20);
	struct strata_err e = STRATA_ERR_INIT;
	bool esc = false;
	int hops = 0;

	if ((dir[0] && strcmp(dir, ".") && buf_addstr(&cur, dir, &e) < 0) || buf_addstr(&rest, target, &e) < 0)
		goto fail;
	if (target[0] == '/')
		buf_reset(&cur);
	while (rest.len) {
		char *slash = memchr(rest.data, '/', rest.len), comp[256];
		size_t n = slash ? (size_t)(slash - rest.data) : rest.len;
		const char *link;

		if (n >= sizeof(comp))
			goto fail;
		memcpy(comp, rest.data, n);
		comp[n] = '\0';
		memmove(rest.data, rest.data + n + (slash ? 1 : 0), rest.len - n - (slash ? 1 : 0));
		rest.len -= n + (slash ? 1 : 0);
		rest.data[rest.len] = '\0';
		if (!n || !strcmp(comp, "."))
			continue;
		if (!strcmp(comp, "..")) {
			char *up;

			if (!cur.len) {
				esc = true;
				break;
			}
			up = strrchr(cur.data, '/');
			cur.len = up ? (size_t)(up - cur.data) : 0;
			cur.data[cur.len] = '\0';
			continue;
		}
		if ((cur.len && buf_addstr(&cur, "/", &e) < 0) || buf_addstr(&cur, comp, &e) < 0)
			goto fail;
		if ((link = strmap_get(&lw->symlinks, cur.data))) {
			struct buf nr = BUF_INIT(1u << 20);

			if (++hops > 40)
				goto fail;
			if (buf_addstr(&nr, link, &e) < 0 || (rest.len && (buf_addstr(&nr, "/", &e) < 0 ||
									   buf_add(&nr, rest.data, rest.len, &e) < 0))) {
				buf_release(&nr);
				goto fail;
			}
			buf_release(&rest);
			rest = nr;
			/* drop the link's own name: it is replaced by its target */
			{
				char *up = strrchr(cur.data, '/');

				cur.len = up ? (size_t)(up - cur.data) : 0;
				cur.data[cur.len] = '\0';
			}
			if (link[0] == '/')
				buf_reset(&cur);
		}
	}
	buf_release(&cur);
	buf_release(&rest);
	return esc;
fail:
	buf_release(&cur);
	buf_release(&rest);
	return true;
}

static void check_whiteout(struct layer_walk *lw, const struct tar_entry *ent, const char *base)
{
	const char *rest = base + 4;

	if (!*rest)
		problem(lw, SEV_ERROR, "invalid whiteout '%s': '.wh.' names nothing", ent->path);
	else if (!strncmp(rest, ".wh.", 4))
		return;  /* .wh..wh..opq (opaque dir) and AUFS .wh..wh.plnk/.wh..wh.aufs */
	else if (!strcmp(rest, ".") || !strcmp(rest, ".."))
		problem(lw, SEV_ERROR, "whiteout '%s' escapes its directory", ent->path);
	else if (ent->type != TAR_FILE)
		problem(lw, SEV_WARNING, "whiteout '%s' is not a regular file", ent->path);
}

/* Read an entry's content: into b (capped) and/or through a sha256. */
static int read_content(struct tar *t, struct buf *b, uint8_t digest[32], struct strata_err *e)
{
	struct stream *s = tar_data(t);
	struct digest_ctx d;
	const uint8_t *p;
	size_t n;
	int r;

	if (digest && (r = digest_init(&d, DIGEST_SHA256, e)) < 0)
		return r;
	while ((r = stream_get(s, &p, &n, SIZE_MAX, e)) == 0 && n) {
		if (digest)
			digest_update(&d, p, n);
		if (b && (r = buf_add(b, p, n, e)) < 0)
			break;
	}
	if (digest) {
		char hex[DIGEST_STR_MAX];
		size_t i;

		digest_final(&d, hex);
		digest_release(&d);
		for (i = 0; i < 32; i++) {
			unsigned v;

			sscanf(hex + 7 + 2 * i, "%2x", &v);
			digest[i] = (uint8_t)v;
		}
	}
	return r;
}

static int collect(struct layer_walk *lw, struct tar *t, const struct tar_entry *ent, const char *rel,
		   const char *base, struct strata_err *e)
{
	struct layer_files *lf = lw->lf;
	struct fentry *f;
	struct buf db = BUF_INIT(MAX_PKGDB);
	bool is_db;
	int r = 0;

	if (lf->len == lf->alloc) {
		size_t na = lf->alloc ? lf->alloc * 2 : 256;

		if (!(f = realloc(lf->v, na * sizeof(*f))))
			return err_nomem(e, "file list");
		lf->v = f;
		lf->alloc = na;
	}
	f = &lf->v[lf->len];
	memset(f, 0, sizeof(*f));
	if (!strncmp(base, ".wh.", 4)) {
		size_t dl = (size_t)(base - rel);

		if (!strcmp(base, ".wh..wh..opq")) {
			f->flags = FE_OPAQUE;
			f->path = dl ? strndup(rel, dl - 1) : strdup("");
			lf->opaques++;
		} else if (!strncmp(base, ".wh..wh.", 8)) {
			return 0;  /* AUFS bookkeeping */
		} else {
			f->flags = FE_WHITEOUT;
			if ((f->path = malloc(strlen(rel))))
				snprintf(f->path, strlen(rel), "%.*s%s", (int)dl, rel, base + 4);
			lf->whiteouts++;
		}
	} else {
		f->path = strdup(rel);
	}
	if (!f->path)
		return err_nomem(e, "file list");
	if (ent->link[0] && !(f->link = strdup(ent->link))) {
		free(f->path);
		return err_nomem(e, "file list");
	}
	f->type = (uint8_t)ent->type;
	f->size = ent->type == TAR_FILE ? ent->size : 0;
	f->mode = ent->mode;
	f->uid = (uint32_t)ent->uid;
	f->gid = (uint32_t)ent->gid;
	lf->len++;
	if (f->flags)
		return 0;
	lf->counts[ent->type]++;
	if (ent->type != TAR_FILE)
		return 0;
	lf->file_bytes += ent->size;
	is_db = !strcmp(rel, "var/lib/dpkg/status") || !strcmp(rel, "lib/apk/db/installed") ||
		!strncmp(rel, "var/lib/dpkg/status.d/", 22);
	if (!is_db && !lw->w->content)
		return 0;
	if ((r = read_content(t, is_db ? &db : NULL, lw->w->content ? f->digest : NULL, e)) < 0) {
		buf_release(&db);
		return r;
	}
	f->has_digest = lw->w->content;
	if (is_db && db.len) {
		if (!strcmp(rel, "var/lib/dpkg/status")) {
			pkgdb_release(&lf->dpkg);
			lf->has_dpkg = true;
			r = pkgdb_parse(&lf->dpkg, PKGDB_DPKG, db.data, db.len, e);
		} else if (!strcmp(rel, "lib/apk/db/installed")) {
			pkgdb_release(&lf->apk);
			lf->has_apk = true;
			r = pkgdb_parse(&lf->apk, PKGDB_APK, db.data, db.len, e);
		} else {
			r = pkgdb_parse(&lf->dpkg_d, PKGDB_DPKG_D, db.data, db.len, e);
		}
	}
	buf_release(&db);
	return r;
}

static int walk_entry(void *walk, struct tar *t, const struct tar_entry *ent, struct strata_err *e)
{
	struct layer_walk *lw = walk;
	char *clean, *rel, *via, *dir = NULL, *target = NULL;
	const char *base;
	int r = 0;

	(void)t;
	if (!(clean = path_clean(ent->path)))
		return err_nomem(e, "path");
	/* Judge everything relative to the layer root; an absolute name is
	 * itself an error, but what it would do is still checked. */
	rel = clean[0] == '/' ? clean + 1 : clean;
	if (!*rel)
		goto out;  /* "/" itself: the root directory (kaniko writes it) */
	if (ent->path[0] == '/') {
		problem(lw, SEV_ERROR, "unsafe path '%s': absolute path in layer", ent->path);
	} else if (!path_is_local(clean)) {
		problem(lw, SEV_ERROR, "unsafe path '%s': leaves the root", ent->path);
		goto out;
	}
	if (!*rel || !strcmp(rel, "."))
		goto out;
	if ((via = through_symlink(lw, rel))) {
		problem(lw, SEV_ERROR, "unsafe path '%s': written through symlink '%s' of the same layer", ent->path, via);
		free(via);
	}
	base = strrchr(rel, '/');
	base = base ? base + 1 : rel;
	if (!strncmp(base, ".wh.", 4))
		check_whiteout(lw, ent, base);
	if (ent->type == TAR_SYMLINK) {
		if (!ent->link[0]) {
			problem(lw, SEV_WARNING, "symlink '%s' has an empty target", ent->path);
		} else {
			if (!(dir = path_dir(rel))) {
				r = err_nomem(e, "path");
				goto out;
			}
			if (resolve_escapes(lw, dir, ent->link))
				problem(lw, SEV_ERROR, "symlink '%s' -> '%s' points outside the root", ent->path, ent->link);
		}
		if (!(target = strdup(ent->link)) || strmap_put(&lw->symlinks, rel, target, e) < 0) {
			free(target);
			r = target ? -e->code : err_nomem(e, "link");
			target = NULL;
			goto out;
		}
		target = NULL;  /* owned by the map now */
	} else if (ent->type == TAR_HARDLINK) {
		/* kaniko writes absolute hardlink targets; Docker maps them into the root. */
		const char *l = ent->link;

		while (*l == '/')
			l++;
		if (!(target = path_clean(l))) {
			r = err_nomem(e, "path");
			goto out;
		}
		if (!*l || !path_is_local(target) || resolve_escapes(lw, "", target))
			problem(lw, SEV_ERROR, "hardlink '%s' -> '%s' points outside the root", ent->path, ent->link);
	}
	if (ent->sparse)
		problem(lw, SEV_WARNING, "sparse file '%s' (OCI layers should not use sparse members)", ent->path);
	if (ent->type != TAR_DIR && strmap_get(&lw->seen, rel))
		problem(lw, SEV_WARNING, "duplicate entry '%s' in layer (the last one wins)", ent->path);
	if (strmap_put(&lw->seen, rel, (void *)1, e) < 0)
		r = -e->code;
	if (r == 0 && lw->lf)
		r = collect(lw, t, ent, rel, base, e);
out:
	free(dir);
	free(target);
	free(clean);
	return r;
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
			diag_add(lw->w->d, lw->local.v[i].sev, lw->local.v[i].code, m->name, "%s", lw->local.v[i].msg);
		if (lw->suppressed)
			diag_add(lw->w->d, SEV_WARNING, STRATA_EFORMAT, m->name, "%u more problems in this layer not shown",
				 lw->suppressed);
	}
	if (lw->lf) {
		if (!discard && m && status == 0) {
			m->walk = lw->lf;
		} else {
			layer_files_free(lw->lf);
		}
	}
	diag_release(&lw->local);
	for (i = 0; i < lw->symlinks.len; i++)
		free(lw->symlinks.items[i].val);
	strmap_release(&lw->symlinks);
	strmap_release(&lw->seen);
	free(lw);
}

void walker_hooks(struct walker *w, struct layer_hooks *h)
{
	h->ctx = w;
	h->begin = walk_begin;
	h->entry = walk_entry;
	h->end = walk_end;
	h->free_result = w->collect ? (void (*)(void *))layer_files_free : NULL;
}
