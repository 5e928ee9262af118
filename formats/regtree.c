/*
 * regtree.c - a registry's storage tree: read as a source (regtree_scan,
 * seen as an OCI layout whose index.json lists the tags), proved link by
 * link, and written as a convert target; see regtree.h.
 */
#include "formats/regtree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fsutil.h"
#include "common/strmap.h"
#include "formats/image.h"
#include "formats/json.h"
#include "formats/target.h"

#define LINK_MAX_BYTES 256
#define REPO_MAX_DEPTH 32
#define DOC_MAX (4u << 20)

/* A path into a PATH_BUF buffer (a longer one is cut: it then names nothing). */
#define PATH_BUF 4096
static int pfmt(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int pfmt(char *out, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, PATH_BUF, fmt, ap);
	va_end(ap);
	return n >= 0 && n < PATH_BUF ? 0 : -1;
}

static bool is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A directory itself, not a symlink to one: the reader never leaves the tree through a link. */
static bool is_real_dir(const char *p)
{
	struct stat st;

	return lstat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool exists(const char *p)
{
	struct stat st;

	return lstat(p, &st) == 0;
}

char *regtree_blob_file(const char *dir, const char *hex)
{
	size_t n = strlen(dir) + strlen(hex) + 64;
	char *p = malloc(n);

	if (p)
		snprintf(p, n, "%s/" REGTREE_V2 "/blobs/sha256/%.2s/%s/data", dir, hex, hex);
	return p;
}

/* A link file: "sha256:<64 hex>" (a trailing newline tolerated).  0, or -1 with *why. */
static int link_read(const char *path, char out[DIGEST_STR_MAX], const char **why)
{
	char buf[LINK_MAX_BYTES + 1];
	ssize_t n;
	int fd = open_regular(path, false, NULL);

	*why = NULL;
	if (fd < 0) {
		*why = errno == ENOENT ? "missing" : errno == ELOOP || errno == EINVAL ? "not a regular file" : "cannot be read";
		return -1;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0 || n > LINK_MAX_BYTES) {
		*why = n < 0 ? "cannot be read" : "too long for a link";
		return -1;
	}
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	if (strncmp(buf, "sha256:", 7) || !digest_is_hex64(buf + 7, (size_t)n - 7)) {
		*why = "does not hold a sha256 digest";
		return -1;
	}
	memcpy(out, buf, (size_t)n + 1);
	return 0;
}

/* A whole small file into memory (a manifest blob, index.json; read_regular():
 * a regular file, not through a symlink, at most max bytes): NUL-terminated,
 * the caller's to free, or NULL when it cannot be read. */
static char *slurp(const char *path, size_t max, size_t *len)
{
	struct strata_err ie = STRATA_ERR_INIT;
	struct buf b = BUF_INIT(max);

	if (read_regular(path, false, &b, STRATA_EFORMAT, &ie) < 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b, len);
}

/*
 * What a commit changed in the tree, undone in reverse order when it fails
 * part way: files it created are removed, directories it created removed,
 * links it replaced written back.  Room for an entry is made before each
 * change, so recording it cannot fail afterwards.
 */
enum undo_kind { UNDO_FILE, UNDO_DIR, UNDO_LINK };

struct undo_item {
	enum undo_kind kind;
	char *path;
	char old[DIGEST_STR_MAX];
};

struct undo {
	struct undo_item *v;
	size_t len, alloc;
};

/* Room for one more entry, its path copied. */
static int undo_prep(struct undo *u, const char *path, struct strata_err *e)
{
	if (!u)
		return 0;
	if (array_grow(&u->v, u->len, &u->alloc, sizeof(*u->v), 64) < 0)
		return err_nomem(e, "undo log");
	if (!(u->v[u->len].path = strdup(path)))
		return err_nomem(e, "undo log");
	return 0;
}

/* The change was made (done) or not. */
static void undo_note(struct undo *u, bool done, enum undo_kind kind, const char *old)
{
	if (!u)
		return;
	if (!done) {
		free(u->v[u->len].path);
		return;
	}
	u->v[u->len].kind = kind;
	snprintf(u->v[u->len].old, sizeof(u->v[u->len].old), "%s", kind == UNDO_LINK && old ? old : "");
	u->len++;
}

static void undo_run(struct undo *u)
{
	char tmp[PATH_BUF];
	int fd;

	while (u->len) {
		struct undo_item *it = &u->v[--u->len];

		if (it->kind == UNDO_FILE) {
			unlink(it->path);
		} else if (it->kind == UNDO_DIR) {
			rmdir(it->path);
		} else if (pfmt(tmp, "%s.undo-%ld", it->path, (long)getpid()) == 0 &&
			   (fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644)) >= 0) {
			bool ok = write(fd, it->old, strlen(it->old)) == (ssize_t)strlen(it->old);

			if (close(fd) < 0 || !ok || rename(tmp, it->path) < 0)
				unlink(tmp);
		}
		free(it->path);
	}
}

static void undo_release(struct undo *u)
{
	size_t i;

	for (i = 0; i < u->len; i++)
		free(u->v[i].path);
	free(u->v);
	u->v = NULL;
	u->len = u->alloc = 0;
}

/* mkdir -p; every directory made is noted in u (when not NULL). */
static int mkdirs(const char *path, struct undo *u, struct strata_err *e)
{
	char p[PATH_BUF], *q;
	int r = 0;

	if (pfmt(p, "%s", path) < 0)
		return err_set(e, STRATA_EUSAGE, "path too long: '%.200s...'", path);
	for (q = p + 1; r == 0; q++) {
		if (*q != '/' && *q)
			continue;
		char c = *q;
		bool made;

		*q = '\0';
		if (!is_dir(p)) {
			if ((r = undo_prep(u, p, e)) < 0)
				break;
			made = mkdir(p, 0755) == 0;
			if (!made && errno != EEXIST)
				r = err_sys(e, errno, "cannot create directory '%s'", p);
			else if (!is_dir(p))
				r = err_set(e, STRATA_EIO, "'%s' is not a directory", p);
			undo_note(u, made, UNDO_DIR, NULL);
		}
		*q = c;
		if (!c)
			break;
	}
	return r;
}

/* ---- reading ---- */

struct repo {
	char *name;
	struct strmap layers;     /* digest -> 1: _layers links that hold */
	struct strmap revisions;  /* digest -> 1: revision links that hold */
	struct strmap tags;       /* tag -> digest (owned char *), links that hold */
};

struct rt {
	struct source *s;
	const char *dir;
	char *v2;
	struct diag *d;
	const struct load_opts *o;
	struct strmap blobs;      /* hex -> 1: blobs/sha256/xx/hex/data present */
	struct repo **repos;
	size_t nrepos;
	size_t count;             /* files looked at, against max_entries */
};

static void problem(struct rt *t, int code, const char *id, const char *path, const char *fmt, const char *a,
		    const char *b)
{
	const char *rel = !strncmp(path, t->dir, strlen(t->dir)) ? path + strlen(t->dir) : path;

	while (*rel == '/')
		rel++;
	diag_add_id(t->d, SEV_ERROR, code, id, rel, fmt, a ? a : "", b ? b : "");
}

static bool blob_present(const struct rt *t, const char *digest)
{
	return !strncmp(digest, "sha256:", 7) && strmap_get(&t->blobs, digest + 7);
}

static int count(struct rt *t, const char *path, struct strata_err *e)
{
	if (++t->count > t->o->limits.max_entries)
		return err_set(e, STRATA_EFORMAT,
			       "too many files: '%s' is file %zu of the registry tree, over the limit of %llu "
			       "(raise it with --max-entries)", path, t->count, (unsigned long long)t->o->limits.max_entries);
	return 0;
}

/* Entries of a directory, sorted; NULL with *n 0 when absent. */
static int list_dir(const char *path, struct dirent ***names, int *n, struct strata_err *e)
{
	*names = NULL;
	*n = 0;
	if (!exists(path))
		return 0;
	if ((*n = scandir(path, names, NULL, alphasort)) < 0) {
		*n = 0;
		return err_sys(e, errno, "cannot read directory '%s'", path);
	}
	return 0;
}

static void free_list(struct dirent **names, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static int scan_blobs(struct rt *t, struct strata_err *e)
{
	char path[PATH_BUF], sub[PATH_BUF];
	struct dirent **outer, **inner;
	int no, ni, i, j, r = 0;

	pfmt(path, "%s/blobs/sha256", t->v2);
	if ((r = list_dir(path, &outer, &no, e)) < 0)
		return r;
	for (i = 0; i < no && r == 0; i++) {
		const char *xx = outer[i]->d_name;

		if (xx[0] == '.')
			continue;
		pfmt(path, "%s/blobs/sha256/%s", t->v2, xx);
		if (!is_real_dir(path)) {
			problem(t, STRATA_EFORMAT, PROBLEM_OTHER, path, "not a directory%s%s", NULL, NULL);
			continue;
		}
		if ((r = list_dir(path, &inner, &ni, e)) < 0)
			break;
		for (j = 0; j < ni && r == 0; j++) {
			const char *hex = inner[j]->d_name;

			if (hex[0] == '.')
				continue;
			pfmt(path, "%s/blobs/sha256/%s/%s/data", t->v2, xx, hex);
			if ((r = count(t, path, e)) < 0)
				break;
			if (!digest_is_hex64(hex, strlen(hex)) || strncmp(hex, xx, 2) || strlen(xx) != 2)
				problem(t, STRATA_EFORMAT, PROBLEM_OTHER, path, "not a blob path (%s%s)",
					"blobs/sha256/<first 2 hex>/<64 hex>/data", NULL);
			else if (!exists(path))
				problem(t, STRATA_EFORMAT, PROBLEM_MISSING_BLOB, path, "missing: blob directory without data%s%s",
					NULL, NULL);
			else if (pfmt(sub, "%s/blobs/sha256/%s/%s", t->v2, xx, hex) < 0 || !is_real_dir(sub))
				problem(t, STRATA_EFORMAT, PROBLEM_UNSAFE_PATH, sub, "a symlink, not a blob directory%s%s", NULL,
					NULL);
			else
				r = strmap_put(&t->blobs, hex, (void *)1, e);
		}
		free_list(inner, ni);
	}
	free_list(outer, no);
	return r;
}

/* Every <dir>/sha256/<hex>/link: valid, naming its own directory, its blob present; good ones into map. */
static int scan_links(struct rt *t, const char *dir, struct strmap *map, struct strata_err *e)
{
	char path[PATH_BUF], dg[DIGEST_STR_MAX];
	struct dirent **names;
	const char *why;
	int n, i, r;

	pfmt(path, "%s/sha256", dir);
	if ((r = list_dir(path, &names, &n, e)) < 0)
		return r;
	for (i = 0; i < n && r == 0; i++) {
		const char *hex = names[i]->d_name;

		if (hex[0] == '.')
			continue;
		pfmt(path, "%s/sha256/%s/link", dir, hex);
		if ((r = count(t, path, e)) < 0)
			break;
		if (link_read(path, dg, &why) < 0)
			problem(t, STRATA_EFORMAT, PROBLEM_OTHER, path, "bad link: %s%s", why, NULL);
		else if (strcmp(dg + 7, hex))
			problem(t, STRATA_EFORMAT, PROBLEM_OTHER, path, "link holds %s, not the digest its path names%s", dg,
				NULL);
		else if (!blob_present(t, dg))
			problem(t, STRATA_EFORMAT, PROBLEM_MISSING_BLOB, path, "dangling link: blob %s is not in the tree%s",
				dg, NULL);
		else if (map)
			r = strmap_put(map, dg, (void *)1, e);
	}
	free_list(names, n);
	return r;
}

static int scan_tags(struct rt *t, struct repo *rp, const char *rdir, struct strata_err *e)
{
	char path[PATH_BUF], dg[DIGEST_STR_MAX];
	struct dirent **names;
	const char *why;
	int n, i, r;

	pfmt(path, "%s/_manifests/tags", rdir);
	if ((r = list_dir(path, &names, &n, e)) < 0)
		return r;
	for (i = 0; i < n && r == 0; i++) {
		const char *tag = names[i]->d_name;
		char *keep;

		if (tag[0] == '.')
			continue;
		pfmt(path, "%s/_manifests/tags/%s/index", rdir, tag);
		if ((r = scan_links(t, path, NULL, e)) < 0)
			break;
		pfmt(path, "%s/_manifests/tags/%s/current/link", rdir, tag);
		if ((r = count(t, path, e)) < 0)
			break;
		if (!ref_tag_valid(tag)) {
			problem(t, STRATA_EFORMAT, PROBLEM_OTHER, path, "'%s' is not a valid tag%s", tag, NULL);
		} else if (link_read(path, dg, &why) < 0) {
			problem(t, STRATA_EFORMAT, PROBLEM_OTHER, path, "bad tag link: %s%s", why, NULL);
		} else if (!blob_present(t, dg)) {
			problem(t, STRATA_EFORMAT, PROBLEM_MISSING_BLOB, path,
				"tag points at an absent manifest: blob %s is not in the tree%s", dg, NULL);
		} else if (!strmap_get(&rp->revisions, dg)) {
			problem(t, STRATA_EFORMAT, PROBLEM_MISSING_BLOB, path,
				"tag points at %s, which has no revision link in the repository%s", dg, NULL);
		} else if (!(keep = strdup(dg))) {
			r = err_nomem(e, "tags");
		} else if ((r = strmap_put(&rp->tags, tag, keep, e)) < 0) {
			free(keep);
		}
	}
	free_list(names, n);
	return r;
}

static int scan_repos(struct rt *t, const char *rel, int depth, struct strata_err *e)
{
	char path[PATH_BUF], sub[PATH_BUF];
	struct dirent **names;
	int n, i, r;
	bool is_repo;

	pfmt(path, "%s/repositories%s%s", t->v2, rel[0] ? "/" : "", rel);
	if (depth > REPO_MAX_DEPTH) {
		problem(t, STRATA_EFORMAT, PROBLEM_LIMIT, path, "repository names nested deeper than %s%s", "32", NULL);
		return 0;
	}
	pfmt(sub, "%s/_manifests", path);
	is_repo = is_real_dir(sub);
	pfmt(sub, "%s/_layers", path);
	is_repo = is_repo || is_real_dir(sub);
	if (is_repo) {
		struct repo *rp = calloc(1, sizeof(*rp)), **v;

		if (!rp || !(rp->name = strdup(rel)) ||
		    !(v = realloc(t->repos, (t->nrepos + 1) * sizeof(*v)))) {
			if (rp)
				free(rp->name);
			free(rp);
			return err_nomem(e, "repositories");
		}
		t->repos = v;
		v[t->nrepos++] = rp;
		if (!ref_repo_valid(rel) || strchr(rel, '.') == rel)
			problem(t, STRATA_EFORMAT, PROBLEM_OTHER, path, "'%s' is not a valid repository name%s", rel, NULL);
		pfmt(sub, "%s/_layers", path);
		if ((r = scan_links(t, sub, &rp->layers, e)) < 0)
			return r;
		pfmt(sub, "%s/_manifests/revisions", path);
		if ((r = scan_links(t, sub, &rp->revisions, e)) < 0)
			return r;
		if ((r = scan_tags(t, rp, path, e)) < 0)
			return r;
	}
	if ((r = list_dir(path, &names, &n, e)) < 0)
		return r;
	for (i = 0; i < n && r == 0; i++) {
		const char *nm = names[i]->d_name;

		if (nm[0] == '.' || nm[0] == '_')
			continue;
		pfmt(sub, "%s/%s", path, nm);
		if (!is_real_dir(sub))
			continue;
		if ((r = count(t, sub, e)) < 0)
			break;
		pfmt(sub, "%s%s%s", rel, rel[0] ? "/" : "", nm);
		r = scan_repos(t, sub, depth + 1, e);
	}
	free_list(names, n);
	return r;
}

static struct repo *find_repo(const struct rt *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->nrepos; i++)
		if (!strcmp(t->repos[i]->name, name))
			return t->repos[i];
	return NULL;
}

static bool is_index_type(const char *mt, const cJSON *doc)
{
	if (mt)
		return !strcmp(mt, MT_OCI_INDEX) || !strcmp(mt, MT_DOCKER_LIST);
	return cJSON_IsArray(json_get(doc, "manifests"));
}

/* A manifest blob of repository rp: parsed (NULL when it cannot be). */
static cJSON *read_doc(struct rt *t, const char *digest, size_t *size)
{
	char *path = regtree_blob_file(t->dir, digest + 7), *p;
	cJSON *doc = NULL;
	struct strata_err ie = STRATA_ERR_INIT;
	size_t n = 0;

	if (!path)
		return NULL;
	p = slurp(path, t->o->limits.max_json < DOC_MAX ? t->o->limits.max_json : DOC_MAX, &n);
	if (p && json_parse(p, n, &doc, &ie) < 0)
		doc = NULL;
	*size = n;
	free(p);
	free(path);
	return doc;
}

/*
 * What a manifest (or index) of rp references must be linked in rp: its
 * config and layers (_layers), its child manifests (revisions).  Reachable
 * digests go into want; depth bounds nested indexes.
 */
static int walk_manifest(struct rt *t, struct repo *rp, const char *digest, struct strmap *want, struct strmap *seen,
			 int depth, struct strata_err *e)
{
	char rpath[PATH_BUF], lpath[PATH_BUF];
	const cJSON *k, *arr;
	cJSON *doc;
	size_t size;
	int r = 0;

	if (depth > 8 || strmap_get(seen, digest))
		return 0;
	if ((r = strmap_put(seen, digest, (void *)1, e)) < 0 || (want && (r = strmap_put(want, digest, (void *)1, e)) < 0))
		return r;
	if (!blob_present(t, digest) || !(doc = read_doc(t, digest, &size)))
		return 0;  /* reported by the link checks, or by the OCI reader */
	pfmt(rpath, "%s/repositories/%s/_manifests/revisions/%s/%s/link", t->v2, rp->name,
		 "sha256", digest + 7);
	if (is_index_type(json_str(doc, "mediaType"), doc)) {
		arr = json_get(doc, "manifests");
		cJSON_ArrayForEach(k, arr) {
			const char *c = json_str(k, "digest");

			if (!c || strncmp(c, "sha256:", 7) || !digest_valid(c))
				continue;
			pfmt(lpath, "%s/repositories/%s/_manifests/revisions/sha256/%s/link", t->v2, rp->name, c + 7);
			if (!strmap_get(&rp->revisions, c) && !exists(lpath))  /* a bad link is reported already */
				problem(t, STRATA_EFORMAT, PROBLEM_MISSING_BLOB, rpath,
					"index references manifest %s, which has no revision link in the repository%s", c,
					NULL);
			if ((r = walk_manifest(t, rp, c, want, seen, depth + 1, e)) < 0)
				break;
		}
	} else {
		const cJSON *cfg = json_get(doc, "config");
		size_t i = 0;

		arr = json_get(doc, "layers");
		for (k = cfg; k && r == 0; k = (i == 0 ? (arr ? arr->child : NULL) : k->next), i++) {
			const char *c = json_str(k, "digest");

			if (!c || strncmp(c, "sha256:", 7) || !digest_valid(c))
				continue;
			if (json_get(k, "urls") && !blob_present(t, c))
				continue;  /* a foreign layer, fetched from its urls */
			pfmt(lpath, "%s/repositories/%s/_layers/sha256/%s/link", t->v2, rp->name, c + 7);
			if (!strmap_get(&rp->layers, c) && !exists(lpath))
				problem(t, STRATA_EFORMAT, PROBLEM_MISSING_BLOB, rpath,
					"manifest references blob %s, which is absent from the repository (no _layers link)%s",
					c, NULL);
			if (want)
				r = strmap_put(want, c, (void *)1, e);
		}
	}
	cJSON_Delete(doc);
	return r;
}

static int add_entry(struct rt *t, cJSON *mans, const char *repo, const char *tag, const char *digest,
		     struct strata_err *e)
{
	char name[1024];
	size_t size = 0;
	cJSON *doc = read_doc(t, digest, &size), *o, *ann;
	const char *mt;

	if (!doc)
		return 0;  /* reported */
	mt = json_str(doc, "mediaType");
	if (!mt)
		mt = is_index_type(NULL, doc) ? MT_OCI_INDEX : MT_OCI_MANIFEST;
	if (!(o = cJSON_CreateObject()) || !cJSON_AddStringToObject(o, "mediaType", mt) ||
	    !cJSON_AddStringToObject(o, "digest", digest) || !cJSON_AddNumberToObject(o, "size", (double)size)) {
		cJSON_Delete(o);
		cJSON_Delete(doc);
		return err_nomem(e, "index.json");
	}
	cJSON_Delete(doc);
	if (tag) {
		snprintf(name, sizeof(name), "%s:%s", repo, tag);
		if (!(ann = cJSON_AddObjectToObject(o, "annotations")) ||
		    !cJSON_AddStringToObject(ann, "org.opencontainers.image.ref.name", name)) {
			cJSON_Delete(o);
			return err_nomem(e, "index.json");
		}
	}
	if (!json_push(mans, o))
		return err_nomem(e, "index.json");
	return 0;
}

static int scan_member(struct rt *t, const char *hex, struct strata_err *e)
{
	char name[80], want[DIGEST_STR_MAX];
	char *path = regtree_blob_file(t->dir, hex);
	struct member *m;
	struct stat st;
	int r;

	if (!path)
		return err_nomem(e, "path");
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		/* not read, and absent for what names it */
		problem(t, STRATA_EFORMAT, PROBLEM_MISSING_BLOB, path, "blob data is %snot a regular file",
			S_ISLNK(st.st_mode) ? "a symlink, " : "", NULL);
		free(path);
		return 0;
	}
	snprintf(name, sizeof(name), "blobs/sha256/%s", hex);
	snprintf(want, sizeof(want), "sha256:%s", hex);
	if (!(m = catalog_add(&t->s->cat, name, e))) {
		free(path);
		return -e->code;
	}
	if ((r = scan_file(t->s, m, path, t->o, t->d, e)) == 0 && strcmp(m->digest, want))
		problem(t, STRATA_EVERIFY, PROBLEM_DIGEST_MISMATCH, path,
			"content is %s, not the digest its path names (%s)", m->digest, want);
	free(path);
	return r;
}

static int add_doc(struct rt *t, const char *name, const char *p, struct strata_err *e)
{
	struct member *m = catalog_add(&t->s->cat, name, e);

	if (!m)
		return -e->code;
	return scan_mem(t->s, m, p, strlen(p), t->o, t->d, e);
}

/* The repository and manifest a NAME[:TAG] or NAME@DIGEST selects (no tag:
 * latest); *sel owns the strings *tag and *at point into. */
static int pick_ref(struct rt *t, const char *name, char **sel, struct repo **rp, const char **tag, const char **at,
		    struct strata_err *e)
{
	char *p;

	*tag = *at = NULL;
	if (!(*sel = strdup(name)))
		return err_nomem(e, "reference");
	if ((p = strchr(*sel, '@'))) {
		*p++ = '\0';
		*at = p;
	} else if ((p = strrchr(*sel, ':')) && !strchr(p, '/')) {
		*p++ = '\0';
		*tag = p;
	} else {
		*tag = "latest";
	}
	if (!(*rp = find_repo(t, *sel)))
		return err_set(e, STRATA_EUSAGE, "no repository '%s' in '%s'", *sel, t->dir);
	if (*at && !blob_present(t, *at) && !strmap_get(&(*rp)->revisions, *at))
		return err_set(e, STRATA_EUSAGE, "no manifest %s in repository '%s' of '%s'", *at, *sel, t->dir);
	if (!*at && !strmap_get(&(*rp)->tags, *tag))
		return err_set(e, STRATA_EUSAGE, "no tag '%s' in repository '%s' of '%s' (or its link is broken)", *tag,
			       *sel, t->dir);
	return 0;
}

/* The index's manifests: the one selected (rp; want gets every blob it
 * reaches), or every tag of every repository, each repository's revisions
 * checked. */
static int list_manifests(struct rt *t, struct repo *rp, const char *tag, const char *at, cJSON *mans,
			  struct strmap *want, struct strata_err *e)
{
	struct strmap seen = STRMAP_INIT;
	size_t i, k;
	int r = 0;

	if (rp) {
		const char *dg = at ? at : strmap_get(&rp->tags, tag);

		if ((r = walk_manifest(t, rp, dg, want, &seen, 0, e)) == 0)
			r = add_entry(t, mans, rp->name, at ? NULL : tag, dg, e);
		strmap_release(&seen);
		return r;
	}
	for (i = 0; i < t->nrepos && r == 0; i++) {
		struct repo *p = t->repos[i];

		strmap_release(&seen);
		seen = (struct strmap)STRMAP_INIT;
		for (k = 0; k < p->revisions.len && r == 0; k++)
			r = walk_manifest(t, p, p->revisions.items[k].key, NULL, &seen, 0, e);
		for (k = 0; k < p->tags.len && r == 0; k++)
			r = add_entry(t, mans, p->name, p->tags.items[k].key, p->tags.items[k].val, e);
	}
	strmap_release(&seen);
	return r;
}

static void rt_release(struct rt *t)
{
	size_t i, k;

	for (i = 0; i < t->nrepos; i++) {
		for (k = 0; k < t->repos[i]->tags.len; k++)
			free(t->repos[i]->tags.items[k].val);
		strmap_release(&t->repos[i]->tags);
		strmap_release(&t->repos[i]->layers);
		strmap_release(&t->repos[i]->revisions);
		free(t->repos[i]->name);
		free(t->repos[i]);
	}
	free(t->repos);
	strmap_release(&t->blobs);
	free(t->v2);
}

int regtree_scan(struct source *s, const struct load_opts *o, struct diag *d, struct strata_err *e)
{
	struct rt t = { 0 };
	struct strmap want = STRMAP_INIT;
	cJSON *index = NULL, *mans;
	char *text = NULL, *sel = NULL;
	const char *tag = NULL, *at = NULL;
	struct repo *rp = NULL;
	size_t i;
	int r;

	t.s = s;
	t.dir = s->ref.path;
	t.d = d;
	t.o = o;
	t.blobs = (struct strmap)STRMAP_INIT;
	if (!strcmp(s->ref.path, "-"))
		return err_set(e, STRATA_EUSAGE, "registry: needs a directory, not stdin");
	if (!(t.v2 = path_join(t.dir, REGTREE_V2)))
		return err_nomem(e, "path");
	if (!is_dir(t.dir)) {
		r = err_sys(e, exists(t.dir) ? ENOTDIR : ENOENT, "cannot open '%s'", t.dir);
		goto out;
	}
	if (!is_dir(t.v2)) {
		r = err_set(e, STRATA_EFORMAT, "'%s' is not a registry storage tree (no %s in it)", t.dir, REGTREE_V2);
		goto out;
	}
	if ((r = scan_blobs(&t, e)) < 0 || (r = scan_repos(&t, "", 0, e)) < 0)
		goto out;
	if (s->ref.name && (r = pick_ref(&t, s->ref.name, &sel, &rp, &tag, &at, e)) < 0)
		goto out;
	if (!(index = cJSON_CreateObject()) || !cJSON_AddNumberToObject(index, "schemaVersion", 2) ||
	    !(mans = cJSON_AddArrayToObject(index, "manifests"))) {
		r = err_nomem(e, "index.json");
		goto out;
	}
	if ((r = list_manifests(&t, rp, tag, at, mans, &want, e)) < 0)
		goto out;
	/* the blobs: every one (the whole tree is proved), or what the image reaches */
	for (i = 0; i < t.blobs.len; i++) {
		const char *hex = t.blobs.items[i].key;
		char dg[DIGEST_STR_MAX];

		snprintf(dg, sizeof(dg), "sha256:%s", hex);
		if (rp && !strmap_get(&want, dg))
			continue;
		if ((r = scan_member(&t, hex, e)) < 0)
			goto out;
	}
	if (!(text = cJSON_PrintUnformatted(index))) {
		r = err_nomem(e, "index.json");
		goto out;
	}
	if ((r = add_doc(&t, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", e)) < 0 ||
	    (r = add_doc(&t, "index.json", text, e)) < 0)
		goto out;
	/* selection done here: the OCI reader keeps every image listed */
	free(s->ref.name);
	s->ref.name = NULL;
	r = 0;
out:
	free(text);
	free(sel);
	cJSON_Delete(index);
	strmap_release(&want);
	rt_release(&t);
	return r;
}

/* ---- writing ---- */

int regtree_check_name(const char *name, struct strata_err *e)
{
	char *repo = strdup(name), *tag;
	const char *slash;
	int r = 0;

	if (!repo)
		return err_nomem(e, "name");
	if ((tag = strrchr(repo, ':')) && !strchr(tag, '/'))
		*tag++ = '\0';
	else
		tag = NULL;
	slash = strchr(repo, '/');
	if (strchr(repo, '@'))
		r = err_set(e, STRATA_EUSAGE, "'%s': a destination names a tag, not a digest", name);
	else if (!ref_repo_valid(repo))
		r = err_set(e, STRATA_EUSAGE, "'%s' is not a valid repository name (distribution's reference grammar: "
			    "lowercase [a-z0-9] components joined by '.', '_', '__' or '-', separated by '/')", repo);
	else if (slash && (memchr(repo, '.', (size_t)(slash - repo)) || !strncmp(repo, "localhost/", 10)))
		r = err_set(e, STRATA_EUSAGE, "'%s': a repository in a registry tree has no registry host", repo);
	else if (tag && !ref_tag_valid(tag))
		r = err_set(e, STRATA_EUSAGE, "'%s' is not a valid tag", tag);
	free(repo);
	return r;
}

/* The temp layouts of runs that were killed (their process is gone): removed. */
static void remove_stale(const char *dir)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct dirent **names;
	char path[PATH_BUF], *end;
	int n, i;
	long pid;

	if (list_dir(dir, &names, &n, &e) < 0)
		return;
	for (i = 0; i < n; i++) {
		const char *nm = names[i]->d_name;

		if (strncmp(nm, ".strata-tmp-", 12))
			continue;
		errno = 0;
		pid = strtol(nm + 12, &end, 10);
		if (*end || pid <= 0 || errno || (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
			continue;
		if (pfmt(path, "%s/%s", dir, nm) == 0)
			remove_tree(path, &e);
	}
	free_list(names, n);
}

int regtree_prepare(const char *dir, char **layout, bool *created, struct strata_err *e)
{
	char *v2 = path_join(dir, REGTREE_V2), *p;
	struct dirent **names;
	int n, i, r = 0, entries = 0;

	*layout = NULL;
	*created = false;
	if (!v2)
		return err_nomem(e, "path");
	if (!exists(dir)) {
		if ((r = mkdirs(dir, NULL, e)) < 0)
			goto out;
		*created = true;
	} else if (!is_dir(dir)) {
		r = err_set(e, STRATA_EUSAGE, "'%s' is not a directory (registry: needs a registry storage tree)", dir);
		goto out;
	} else if (!is_dir(v2)) {
		if ((r = list_dir(dir, &names, &n, e)) < 0)
			goto out;
		for (i = 0; i < n; i++)
			entries += strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, "..");
		free_list(names, n);
		if (entries) {
			r = err_set(e, STRATA_EUSAGE, "'%s' is not a registry storage tree (no %s in it) and not empty",
				    dir, REGTREE_V2);
			goto out;
		}
	}
	if (!*created)
		remove_stale(dir);
	if (!(p = malloc(strlen(dir) + 64))) {
		r = err_nomem(e, "path");
		goto out;
	}
	snprintf(p, strlen(dir) + 64, "%s/.strata-tmp-%ld", dir, (long)getpid());
	if ((r = remove_tree(p, e)) < 0) {
		free(p);
		goto out;
	}
	*layout = p;
out:
	if (r < 0 && *created) {  /* nothing of a failed run is left: not even the new DIR */
		struct strata_err e2 = STRATA_ERR_INIT;

		remove_tree(dir, &e2);
		*created = false;
	}
	free(v2);
	return r;
}

void regtree_discard(const char *dir, const char *layout, bool created)
{
	struct strata_err e = STRATA_ERR_INIT;

	if (layout)
		remove_tree(layout, &e);
	if (created)
		remove_tree(dir, &e);
}

/* A link, written to a temp name and renamed; one already holding digest is left. */
static int write_link(const char *path, const char *digest, struct undo *u, struct strata_err *e)
{
	char old[DIGEST_STR_MAX] = "", tmp[PATH_BUF], dir[PATH_BUF];
	const char *why;
	size_t n = strlen(digest);
	bool had;
	int fd, r = 0;

	had = link_read(path, old, &why) == 0;
	if (had && !strcmp(old, digest))
		return 0;
	if (pfmt(dir, "%s", path) < 0 || pfmt(tmp, "%s.tmp-%ld", path, (long)getpid()) < 0)
		return err_set(e, STRATA_EUSAGE, "path too long: '%.200s...'", path);
	*strrchr(dir, '/') = '\0';
	if ((r = mkdirs(dir, u, e)) < 0)
		return r;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644)) < 0)
		return err_sys(e, errno, "cannot create '%s'", tmp);
	r = write_all(fd, digest, n, tmp, e);
	if (close(fd) < 0 && r == 0)
		r = err_sys(e, errno, "cannot write '%s'", tmp);
	if (r == 0 && (r = undo_prep(u, path, e)) == 0) {
		bool done = rename(tmp, path) == 0;

		if (!done)
			r = err_sys(e, errno, "cannot rename '%s'", tmp);
		/* a broken link that was there is not restored: it named nothing */
		undo_note(u, done, had ? UNDO_LINK : UNDO_FILE, old);
	}
	if (r < 0)
		unlink(tmp);
	return r;
}

struct plan {
	char *repo, *tag;
	char digest[DIGEST_STR_MAX];
};

/* Repository and tag of an index.json entry of the layout. */
static int entry_name(const cJSON *entry, const char *given, struct plan *p, struct strata_err *e)
{
	const cJSON *ann = json_get(entry, "annotations");
	const char *cn = json_str(ann, "io.containerd.image.name");
	char *fam = NULL, *repo, *tag, *slash;
	int r;

	if (given) {
		repo = strdup(given);
	} else if (cn) {
		if (!(fam = target_familiar_name(cn)))
			return err_nomem(e, "name");
		repo = fam;
		slash = strchr(repo, '/');
		if (slash && (memchr(repo, '.', (size_t)(slash - repo)) || memchr(repo, ':', (size_t)(slash - repo)) ||
			      !strncmp(repo, "localhost/", 10)))
			repo = slash + 1;  /* the registry host goes */
		repo = strdup(repo);
		free(fam);
	} else {
		return err_set(e, STRATA_EUSAGE,
			       "image %s has no name: give it one with registry:DIR/NAME:TAG or --tag",
			       json_str(entry, "digest") ? json_str(entry, "digest") : "?");
	}
	if (!repo)
		return err_nomem(e, "name");
	if ((r = regtree_check_name(repo, e)) < 0) {
		free(repo);
		return r;
	}
	if ((tag = strrchr(repo, ':')) && !strchr(tag, '/'))
		*tag++ = '\0';
	else
		tag = "latest";
	p->repo = repo;
	if (!(p->tag = strdup(tag)))
		return err_nomem(e, "name");
	return 0;
}

static int link_path(char *out, size_t n, const char *v2, const char *repo, const char *kind, const char *digest)
{
	return snprintf(out, n, "%s/repositories/%s/%s/sha256/%s/link", v2, repo, kind, digest + 7) < (int)n ? 0 : -1;
}

/* The links a manifest (or index), its blobs moved into the tree already, needs in repo. */
static int link_manifest(const char *v2, const char *repo, const char *digest, int depth, struct undo *u,
			 struct strata_err *e)
{
	char path[PATH_BUF];
	char *text;
	size_t n = 0;
	cJSON *doc = NULL;
	const cJSON *k, *arr;
	int r = 0;

	if (depth > 8)
		return 0;
	pfmt(path, "%s/blobs/sha256/%.2s/%s/data", v2, digest + 7, digest + 7);
	if (!(text = slurp(path, DOC_MAX, &n)))
		return err_set(e, STRATA_EIO, "cannot read '%s'", path);
	if (json_parse(text, n, &doc, e) < 0) {
		free(text);
		return -e->code;
	}
	free(text);
	if (is_index_type(json_str(doc, "mediaType"), doc)) {
		arr = json_get(doc, "manifests");
		cJSON_ArrayForEach(k, arr) {
			const char *c = json_str(k, "digest");

			if (c && digest_valid(c) && !strncmp(c, "sha256:", 7) &&
			    (r = link_manifest(v2, repo, c, depth + 1, u, e)) < 0)
				break;
		}
	} else {
		const cJSON *cfg = json_get(doc, "config");
		size_t i = 0;

		arr = json_get(doc, "layers");
		for (k = cfg; k && r == 0; k = (i == 0 ? (arr ? arr->child : NULL) : k->next), i++) {
			const char *c = json_str(k, "digest");

			if (!c || !digest_valid(c) || strncmp(c, "sha256:", 7))
				continue;
			pfmt(path, "%s/blobs/sha256/%.2s/%s/data", v2, c + 7, c + 7);
			if (json_get(k, "urls") && !exists(path))
				continue;  /* foreign layer */
			if (link_path(path, sizeof(path), v2, repo, "_layers", c) < 0)
				r = err_set(e, STRATA_EUSAGE, "repository name too long: '%s'", repo);
			else
				r = write_link(path, c, u, e);
		}
	}
	cJSON_Delete(doc);
	/* after what it references: a revision link names a complete manifest */
	if (r == 0 && link_path(path, sizeof(path), v2, repo, "_manifests/revisions", digest) == 0)
		r = write_link(path, digest, u, e);
	return r;
}

/* Move every blob of the layout into the tree; one present already stays. */
static int move_blobs(const char *layout, const char *v2, struct undo *u, struct strata_err *e)
{
	char src[PATH_BUF], dst[PATH_BUF];
	struct dirent **names;
	int n, i, r;

	pfmt(src, "%s/blobs/sha256", layout);
	if ((r = list_dir(src, &names, &n, e)) < 0)
		return r;
	for (i = 0; i < n && r == 0; i++) {
		const char *hex = names[i]->d_name;

		if (!digest_is_hex64(hex, strlen(hex)))
			continue;
		pfmt(src, "%s/blobs/sha256/%s", layout, hex);
		pfmt(dst, "%s/blobs/sha256/%.2s/%s", v2, hex, hex);
		if ((r = mkdirs(dst, u, e)) < 0)
			break;
		pfmt(dst, "%s/blobs/sha256/%.2s/%s/data", v2, hex, hex);
		if (exists(dst))
			continue;
		if ((r = undo_prep(u, dst, e)) < 0)
			break;
		if (rename(src, dst) < 0)
			r = err_sys(e, errno, "cannot move blob into '%s'", dst);
		undo_note(u, r == 0, UNDO_FILE, NULL);
	}
	free_list(names, n);
	return r;
}

/* --sync: everything written so far made durable (blobs before the links that name them). */
static int sync_tree(const char *v2, struct strata_err *e)
{
	int fd = open(v2, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;

	if (fd < 0 || syncfs(fd) < 0)
		r = err_sys(e, errno, "cannot sync '%s'", v2);
	if (fd >= 0)
		close(fd);
	return r;
}

int regtree_commit(const char *dir, const char *layout, const char *name, bool replace, bool sync,
		   struct strata_err *e)
{
	char path[PATH_BUF], old[DIGEST_STR_MAX];
	char *v2 = path_join(dir, REGTREE_V2), *text = NULL;
	struct plan *plan = NULL;
	struct undo u = { NULL, 0, 0 };
	size_t np = 0, i, j, n = 0;
	cJSON *index = NULL;
	const cJSON *k;
	const char *why;
	int r = 0;

	if (!v2)
		return err_nomem(e, "path");
	pfmt(path, "%s/index.json", layout);
	if (!(text = slurp(path, DOC_MAX, &n))) {
		r = err_set(e, STRATA_EIO, "cannot read '%s'", path);
		goto out;
	}
	if ((r = json_parse(text, n, &index, e)) < 0)
		goto out;
	n = (size_t)cJSON_GetArraySize(json_get(index, "manifests"));
	if (!(plan = calloc(n + 1, sizeof(*plan)))) {
		r = err_nomem(e, "plan");
		goto out;
	}
	cJSON_ArrayForEach(k, json_get(index, "manifests")) {
		const char *dg = json_str(k, "digest");

		if (!dg || !digest_valid(dg) || strncmp(dg, "sha256:", 7)) {
			r = err_set(e, STRATA_EFORMAT, "'%s': an entry without a sha256 digest", path);
			goto out;
		}
		if ((r = entry_name(k, name, &plan[np], e)) < 0)
			goto out;
		snprintf(plan[np].digest, sizeof(plan[np].digest), "%s", dg);
		np++;
	}
	/* every name is checked before anything moves */
	for (i = 0; i < np; i++) {
		for (j = 0; j < i; j++)
			if (!strcmp(plan[i].repo, plan[j].repo) && !strcmp(plan[i].tag, plan[j].tag) &&
			    strcmp(plan[i].digest, plan[j].digest)) {
				r = err_set(e, STRATA_EUSAGE, "'%s:%s' names two different images", plan[i].repo, plan[i].tag);
				goto out;
			}
		if (pfmt(path, "%s/repositories/%s/_manifests/tags/%s/current/link", v2, plan[i].repo,
			     plan[i].tag) < 0) {
			r = err_set(e, STRATA_EUSAGE, "repository name too long: '%s'", plan[i].repo);
			goto out;
		}
		if (!replace && link_read(path, old, &why) == 0 && strcmp(old, plan[i].digest)) {
			r = err_set(e, STRATA_EUSAGE,
				    "'%s:%s' is in '%s' already, naming other content (%s); --replace replaces it",
				    plan[i].repo, plan[i].tag, dir, old);
			goto out;
		}
	}
	if ((r = mkdirs(v2, &u, e)) < 0 || (r = move_blobs(layout, v2, &u, e)) < 0 ||
	    (sync && (r = sync_tree(v2, e)) < 0))
		goto out;
	for (i = 0; i < np && r == 0; i++) {
		const char *dg = plan[i].digest;

		if ((r = link_manifest(v2, plan[i].repo, dg, 0, &u, e)) < 0)
			break;
		pfmt(path, "%s/repositories/%s/_manifests/tags/%s/index/sha256/%s/link", v2,
			 plan[i].repo, plan[i].tag, dg + 7);
		if ((r = write_link(path, dg, &u, e)) < 0)
			break;
		pfmt(path, "%s/repositories/%s/_manifests/tags/%s/current/link", v2, plan[i].repo,
			 plan[i].tag);
		r = write_link(path, dg, &u, e);
	}
	if (r == 0 && sync)
		r = sync_tree(v2, e);
	if (r == 0)
		r = remove_tree(layout, e);
out:
	if (r < 0)
		undo_run(&u);  /* the tree as it was */
	undo_release(&u);
	for (i = 0; plan && i < np; i++) {
		free(plan[i].repo);
		free(plan[i].tag);
	}
	free(plan);
	cJSON_Delete(index);
	free(text);
	free(v2);
	return r;
}
