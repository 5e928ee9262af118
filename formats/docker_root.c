/*
 * docker_root.c - Docker's data root (/var/lib/docker) as a store; see store.h.
 *
 *   image/<driver>/repositories.json          {"Repositories":{"repo":{"repo:tag":"sha256:<id>"}}}
 *   image/<driver>/imagedb/content/sha256/<id>   the config (its sha256 is the ID)
 *   image/<driver>/imagedb/metadata/sha256/<id>/parent   the image it was built on
 *   image/<driver>/layerdb/sha256/<chain-id>/{diff,parent,cache-id,tar-split.json.gz}
 *   overlay2/<cache-id>/diff, vfs/dir/<cache-id>   the unpacked layer
 *
 * chain-id(0) = diff_id(0), chain-id(n) = sha256(chain-id(n-1) + " " + diff_id(n)).
 * Listed are the tagged images and the untagged ones no other image was
 * built on (what `docker images` shows), tagged first, by name.
 */
#include "formats/store.h"

#include <cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"

static const char *const supported[] = { "overlay2", "vfs" };
static const char *const unsupported[] = { "devicemapper", "btrfs", "zfs", "aufs", "overlay", "fuse-overlayfs",
					   "windowsfilter" };

static bool is_dir_at(int fd, const char *rel)
{
	struct stat sb;

	return fstatat(fd, rel, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(sb.st_mode);
}

static int pick_driver(struct store *st, struct strata_err *e)
{
	char p[64];
	size_t i;

	for (i = 0; i < sizeof(supported) / sizeof(supported[0]); i++) {
		snprintf(p, sizeof(p), "image/%s", supported[i]);
		if (is_dir_at(st->rootfd, p))
			return (st->driver = strdup(supported[i])) ? 0 : err_nomem(e, "driver");
	}
	for (i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++) {
		snprintf(p, sizeof(p), "image/%s", unsupported[i]);
		if (is_dir_at(st->rootfd, p))
			return err_set(e, STRATA_EFORMAT,
				       "'%s': storage driver '%s' is not supported (strata reads overlay2 and vfs)",
				       st->root, unsupported[i]);
	}
	return err_set(e, STRATA_EFORMAT, "'%s' is not a Docker data root (no image/overlay2 or image/vfs)", st->root);
}

static bool hex64(const char *s)
{
	return strlen(s) == 64 && digest_is_hex64(s, 64);
}

/* "sha256:<hex>" as written in a small file, trailing newline allowed. */
static int read_digest(struct store *st, const char *rel, char out[DIGEST_STR_MAX], struct strata_err *e)
{
	char *b;
	size_t n;
	int r;

	if ((r = store_read(st, rel, 4096, &b, &n, e)) < 0)
		return r;
	while (n && (b[n - 1] == '\n' || b[n - 1] == ' '))
		b[--n] = 0;
	if (strncmp(b, "sha256:", 7) || !hex64(b + 7)) {
		free(b);
		return err_set(e, STRATA_EFORMAT, "'%s/%s': not a sha256 digest", st->root, rel);
	}
	memcpy(out, b, n + 1);
	free(b);
	return 0;
}

struct cand {
	char id[DIGEST_STR_MAX];
	char **names; size_t nnames, anames;
	bool is_parent;
};

static int cand_cmp(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (!!x->nnames != !!y->nnames)
		return x->nnames ? -1 : 1;
	if (x->nnames) {
		int c = strcmp(x->names[0], y->names[0]);

		if (c)
			return c;
	}
	return strcmp(x->id, y->id);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The layers of one image, by chain id, shared with the images before it. */
static int load_layers(struct store *st, struct store_image *im, const cJSON *cfg, const char *label,
		       struct strata_err *e)
{
	const cJSON *rootfs = cJSON_GetObjectItemCaseSensitive(cfg, "rootfs");
	const cJSON *ids = rootfs ? cJSON_GetObjectItemCaseSensitive(rootfs, "diff_ids") : NULL, *it;
	char chain[DIGEST_STR_MAX] = "", prev[DIGEST_STR_MAX] = "", rel[512], got[DIGEST_STR_MAX], *cache;
	size_t n = 0, idx, k, len;
	int r;

	if (!cJSON_IsArray(ids))
		return err_set(e, STRATA_EFORMAT, "%s: config has no rootfs.diff_ids", label);
	if (!(im->layers = calloc((size_t)cJSON_GetArraySize(ids) + 1, sizeof(size_t))))
		return err_nomem(e, "layers");
	cJSON_ArrayForEach(it, ids) {
		const char *d = cJSON_GetStringValue(it);
		struct store_layer *l;

		if (!d || strncmp(d, "sha256:", 7) || !hex64(d + 7))
			return err_set(e, STRATA_EFORMAT, "%s: diff_id %zu is not a sha256 digest", label, n);
		if (!*chain) {
			snprintf(chain, sizeof(chain), "%s", d);
		} else {
			char cat[2 * DIGEST_STR_MAX + 2];

			snprintf(cat, sizeof(cat), "%s %s", prev, d);
			if ((r = digest_buf(cat, strlen(cat), chain, e)) < 0)
				return r;
		}
		for (k = 0; k < st->nlayers; k++)
			if (!strcmp(st->layers[k].chain, chain))
				break;
		if (k < st->nlayers) {
			im->layers[n++] = k;
			memcpy(prev, chain, sizeof(prev));
			continue;
		}
		snprintf(rel, sizeof(rel), "image/%s/layerdb/sha256/%s", st->driver, digest_hex(chain));
		if (!is_dir_at(st->rootfd, rel)) {
			struct stat sb;

			if (fstatat(st->rootfd, rel, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(sb.st_mode))
				return err_set(e, STRATA_EFORMAT, "'%s/%s' is a symlink inside the store (not followed)",
					       st->root, rel);
			return err_set(e, STRATA_EFORMAT, "%s: layer %zu (chain %s) is missing from '%s/image/%s/layerdb'%s",
				       label, n, chain, st->root, st->driver, n ? ": the layer chain is broken" : "");
		}
		if (n) {
			snprintf(rel, sizeof(rel), "image/%s/layerdb/sha256/%s/parent", st->driver, digest_hex(chain));
			if ((r = read_digest(st, rel, got, e)) < 0)
				return r;
			if (strcmp(got, prev))
				return err_set(e, STRATA_EFORMAT, "'%s/%s' names %s, not the layer below (%s)", st->root,
					       rel, got, prev);
		}
		snprintf(rel, sizeof(rel), "image/%s/layerdb/sha256/%s/diff", st->driver, digest_hex(chain));
		if ((r = read_digest(st, rel, got, e)) < 0)
			return r;
		if (strcmp(got, d))
			return err_set(e, STRATA_EFORMAT, "'%s/%s' says %s, the config %s", st->root, rel, got, d);
		snprintf(rel, sizeof(rel), "image/%s/layerdb/sha256/%s/cache-id", st->driver, digest_hex(chain));
		if ((r = store_read(st, rel, 4096, &cache, &len, e)) < 0)
			return r;
		while (len && cache[len - 1] == '\n')
			cache[--len] = 0;
		if (!len || strspn(cache, "0123456789abcdefABCDEF-_") != len) {
			free(cache);
			return err_set(e, STRATA_EFORMAT, "'%s/%s': not a cache id", st->root, rel);
		}
		if ((r = store_add_layer(st, &idx, e)) < 0) {
			free(cache);
			return r;
		}
		l = &st->layers[idx];
		memcpy(l->diff_id, d, strlen(d) + 1);
		memcpy(l->chain, chain, sizeof(l->chain));
		snprintf(rel, sizeof(rel), !strcmp(st->driver, "vfs") ? "vfs/dir/%s" : "overlay2/%s/diff", cache);
		free(cache);
		if (!(l->diffdir = strdup(rel)))
			return err_nomem(e, "layer");
		snprintf(rel, sizeof(rel), "layer %s (chain %s)", d, chain);
		if (!(l->what = strdup(rel)))
			return err_nomem(e, "layer");
		snprintf(rel, sizeof(rel), "image/%s/layerdb/sha256/%s/tar-split.json.gz", st->driver,
			 digest_hex(chain));
		{
			struct stat sb;

			if (fstatat(st->rootfd, rel, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
				if (!(l->tarsplit = strdup(rel)))
					return err_nomem(e, "layer");
			} else if (!st->allow_rebuilt) {
				return err_set(e, STRATA_EFORMAT,
					       "%s: %s has no tar-split (%s): its tar cannot be rebuilt byte for byte "
					       "(--allow-rebuilt-layers writes a fresh one)", label, l->what, rel);
			} else if (!strcmp(st->driver, "vfs")) {
				return err_set(e, STRATA_EFORMAT, "%s: %s has no tar-split, and vfs keeps whole trees, "
					       "not changes: it cannot be rebuilt", label, l->what);
			} else {
				l->rebuilt = true;
			}
		}
		im->layers[n++] = idx;
		memcpy(prev, chain, sizeof(prev));
	}
	im->nlayers = n;
	return 0;
}

/* The candidates: every image config in the imagedb (named by its sha256). */
static int list_images(struct store *st, struct cand **c, size_t *nc, struct strata_err *e)
{
	char rel[512];
	size_t alloc = 0;
	DIR *dp;
	struct dirent *de;
	int fd, r = 0;

	snprintf(rel, sizeof(rel), "image/%s/imagedb/content/sha256", st->driver);
	if ((fd = store_openat(st, st->rootfd, rel, O_DIRECTORY, NULL, e)) < 0)
		return -e->code;
	if (!(dp = fdopendir(fd))) {
		close(fd);
		return err_sys(e, errno, "cannot list '%s/%s'", st->root, rel);
	}
	while ((de = readdir(dp))) {
		if (!hex64(de->d_name))
			continue;
		if (array_grow(c, *nc, &alloc, sizeof(**c), 16) < 0) {
			r = err_nomem(e, "images");
			break;
		}
		memset(&(*c)[*nc], 0, sizeof(**c));
		snprintf((*c)[*nc].id, sizeof((*c)[*nc].id), "sha256:%.64s", de->d_name);
		(*nc)++;
	}
	closedir(dp);
	return r;
}

/* Each candidate's names from repositories.json (absent: none); digest
 * references (NAME@sha256:...) are left out. */
static int read_names(struct store *st, struct cand *c, size_t nc, struct strata_err *e)
{
	struct strata_err re = STRATA_ERR_INIT;
	const cJSON *rs, *repo, *tag;
	char rel[512], *txt = NULL;
	cJSON *repos;
	size_t len, i;
	int r;

	snprintf(rel, sizeof(rel), "image/%s/repositories.json", st->driver);
	if ((r = store_read(st, rel, 256u << 20, &txt, &len, &re)) < 0) {
		if (strstr(re.msg, "No such file"))
			return 0;
		*e = re;
		return r;
	}
	if (!(repos = cJSON_ParseWithLength(txt, len)) ||
	    !cJSON_IsObject(rs = cJSON_GetObjectItemCaseSensitive(repos, "Repositories"))) {
		r = err_set(e, STRATA_EFORMAT, "'%s/%s': not valid JSON%s", st->root, rel,
			    repos ? " (no \"Repositories\" object)" : " (truncated?)");
		goto out;
	}
	cJSON_ArrayForEach(repo, rs) cJSON_ArrayForEach(tag, repo) {
		const char *id = cJSON_GetStringValue(tag);

		if (!id || !tag->string || strchr(tag->string, '@'))
			continue;
		for (i = 0; i < nc; i++) {
			if (strcmp(c[i].id, id))
				continue;
			if (array_grow(&c[i].names, c[i].nnames, &c[i].anames, sizeof(char *), 4) < 0 ||
			    !(c[i].names[c[i].nnames] = strdup(tag->string))) {
				r = err_nomem(e, "names");
				goto out;
			}
			c[i].nnames++;
		}
	}
out:
	cJSON_Delete(repos);
	free(txt);
	return r;
}

/* An image with a parent link names that parent, which is then hidden unless tagged. */
static void mark_parents(struct store *st, struct cand *c, size_t nc)
{
	char rel[512], par[DIGEST_STR_MAX];
	size_t i, j;

	for (i = 0; i < nc; i++) {
		struct stat sb;
		struct strata_err pe = STRATA_ERR_INIT;

		snprintf(rel, sizeof(rel), "image/%s/imagedb/metadata/sha256/%s/parent", st->driver, digest_hex(c[i].id));
		if (fstatat(st->rootfd, rel, &sb, AT_SYMLINK_NOFOLLOW) < 0 || read_digest(st, rel, par, &pe) < 0)
			continue;
		for (j = 0; j < nc; j++)
			if (!strcmp(c[j].id, par))
				c[j].is_parent = true;
	}
}

/* One image of the store: its names (taken from c), its config (checked
 * against the image ID) and its layers. */
static int load_one(struct store *st, struct cand *c, struct strata_err *e)
{
	struct store_image *im;
	char rel[512], label[DIGEST_STR_MAX + 300];
	cJSON *doc;
	int r;

	if ((r = store_add_image(st, &im, e)) < 0)
		return r;
	memcpy(im->id, c->id, sizeof(im->id));
	im->names = c->names;
	im->nnames = c->nnames;
	c->names = NULL;
	c->nnames = c->anames = 0;
	snprintf(label, sizeof(label), "image %.19s%s%s%s", im->id, im->nnames ? " (" : "",
		 im->nnames ? im->names[0] : "", im->nnames ? ")" : "");
	snprintf(rel, sizeof(rel), "image/%s/imagedb/content/sha256/%s", st->driver, digest_hex(im->id));
	if ((r = store_read_config(st, im, rel, im->id, "the image ID", label, &doc, e)) < 0)
		return r;
	r = load_layers(st, im, doc, label, e);
	cJSON_Delete(doc);
	return r;
}

int docker_root_load(struct store *st, struct strata_err *e)
{
	struct cand *c = NULL;
	size_t nc = 0, i, j;
	int r;

	if ((r = pick_driver(st, e)) < 0)
		return r;
	store_daemon_check(st, "dockerd", "--data-root", "/var/lib/docker");
	if ((r = list_images(st, &c, &nc, e)) == 0 && (r = read_names(st, c, nc, e)) == 0) {
		mark_parents(st, c, nc);
		for (i = 0; i < nc; i++)
			if (c[i].nnames > 1)
				qsort(c[i].names, c[i].nnames, sizeof(char *), name_cmp);
		if (nc)
			qsort(c, nc, sizeof(*c), cand_cmp);
		for (i = 0; i < nc && r == 0; i++)
			if (!c[i].is_parent || c[i].nnames)
				r = load_one(st, &c[i], e);
	}
	for (i = 0; i < nc; i++) {
		for (j = 0; j < c[i].nnames; j++)
			free(c[i].names[j]);
		free(c[i].names);
	}
	free(c);
	return r;
}
