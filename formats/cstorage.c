/*
 * cstorage.c - containers-storage (podman, buildah, CRI-O) as a store; see store.h.
 *
 *   <driver>-images/images.json      [{"id","names","layer": top layer id, "big-data-names",...}]
 *   <driver>-images/<id>/=<base64(key)>   big data; the key "sha256:<config digest>" is the config
 *   <driver>-layers/layers.json      [{"id","parent","diff-digest","diff-size",...}]
 *   <driver>-layers/<id>.tar-split.gz
 *   overlay/<id>/diff, vfs/dir/<id>  the unpacked layer
 *
 * The runroot (skopeo's [DRIVER@ROOT+RUNROOT]) holds only locks and mounts:
 * nothing is read from it.
 */
#include "formats/store.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const unsupported[] = { "devicemapper", "btrfs", "zfs", "aufs" };

static bool is_dir_at(int fd, const char *rel)
{
	struct stat sb;

	return fstatat(fd, rel, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(sb.st_mode);
}

static int pick_driver(struct store *st, struct strata_err *e)
{
	char p[64];
	size_t i;

	if (st->driver) {
		if (strcmp(st->driver, "overlay") && strcmp(st->driver, "vfs"))
			return err_set(e, STRATA_EFORMAT, "storage driver '%s' is not supported (strata reads overlay and vfs)",
				       st->driver);
		return 0;
	}
	if (is_dir_at(st->rootfd, "overlay-images"))
		return (st->driver = strdup("overlay")) ? 0 : err_nomem(e, "driver");
	if (is_dir_at(st->rootfd, "vfs-images"))
		return (st->driver = strdup("vfs")) ? 0 : err_nomem(e, "driver");
	for (i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++) {
		snprintf(p, sizeof(p), "%s-images", unsupported[i]);
		if (is_dir_at(st->rootfd, p))
			return err_set(e, STRATA_EFORMAT,
				       "'%s': storage driver '%s' is not supported (strata reads overlay and vfs)", st->root,
				       unsupported[i]);
	}
	return err_set(e, STRATA_EFORMAT, "'%s' is not a containers-storage root (no overlay-images or vfs-images)",
		       st->root);
}

static int read_json(struct store *st, const char *rel, cJSON **out, struct strata_err *e)
{
	char *txt;
	size_t len;
	int r;

	if ((r = store_read(st, rel, 256u << 20, &txt, &len, e)) < 0)
		return r;
	*out = cJSON_ParseWithLength(txt, len);
	free(txt);
	if (!*out || !cJSON_IsArray(*out)) {
		cJSON_Delete(*out);
		*out = NULL;
		return err_set(e, STRATA_EFORMAT, "'%s/%s': not a valid JSON array (truncated?)", st->root, rel);
	}
	return 0;
}

static const cJSON *find_layer(const cJSON *layers, const char *id)
{
	const cJSON *l;

	cJSON_ArrayForEach(l, layers) {
		const char *lid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(l, "id"));

		if (lid && !strcmp(lid, id))
			return l;
	}
	return NULL;
}

static bool safe_id(const char *s)
{
	return s && *s && strlen(s) < 200 && strspn(s, "0123456789abcdefABCDEF-_") == strlen(s);
}

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The big-data file name of a key: "=" + base64(key). */
static void bigdata_name(const char *key, char *out, size_t cap)
{
	size_t n = strlen(key), i, o = 0;

	out[o++] = '=';
	for (i = 0; i < n && o + 5 < cap; i += 3) {
		uint32_t v = (uint32_t)(unsigned char)key[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)(unsigned char)key[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)key[i + 2];
		out[o++] = b64chars[v >> 18 & 63];
		out[o++] = b64chars[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64chars[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? b64chars[v & 63] : '=';
	}
	out[o] = 0;
}

/* The layer ids from top down its parents, into chain (max of them); *n of them. */
static int layer_chain(struct store *st, const cJSON *layers, const char *top, const char *label, const char **chain,
		       size_t max, size_t *n, struct strata_err *e)
{
	const char *cur;

	for (*n = 0, cur = top; cur && *cur; (*n)++) {
		const cJSON *l;

		if (*n == max)
			return err_set(e, STRATA_EFORMAT, "%s: more than %zu layers", label, max);
		if (!safe_id(cur) || !(l = find_layer(layers, cur)))
			return err_set(e, STRATA_EFORMAT,
				       "%s: layer %.64s is missing from '%s/%s-layers/layers.json'%s", label, cur,
				       st->root, st->driver, *n ? ": the layer chain is broken" : "");
		chain[*n] = cur;
		cur = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(l, "parent"));
	}
	return 0;
}

/* Layer i of im: the store's layer lid (diff_id d), added to the store the
 * first time an image names it. */
static int attach_layer(struct store *st, struct store_image *im, size_t i, const char *lid, const char *d,
			const cJSON *layers, const char *label, struct strata_err *e)
{
	const char *dd = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(find_layer(layers, lid), "diff-digest"));
	struct store_layer *l;
	struct stat sb;
	char rel[600];
	size_t k, idx;
	int r;

	if (!d || strncmp(d, "sha256:", 7) || strlen(d) != 71)
		return err_set(e, STRATA_EFORMAT, "%s: diff_id %zu is not a sha256 digest", label, i);
	if (dd && strcmp(dd, d))
		return err_set(e, STRATA_EFORMAT, "%s: layer %s holds %s, the config says %s", label, lid, dd, d);
	for (k = 0; k < st->nlayers; k++)
		if (!strcmp(st->layers[k].chain, lid)) {
			im->layers[i] = k;
			return 0;
		}
	if ((r = store_add_layer(st, &idx, e)) < 0)
		return r;
	l = &st->layers[idx];
	im->layers[i] = idx;
	snprintf(l->diff_id, sizeof(l->diff_id), "%s", d);
	snprintf(l->chain, sizeof(l->chain), "%s", lid);
	snprintf(rel, sizeof(rel), !strcmp(st->driver, "vfs") ? "vfs/dir/%s" : "overlay/%s/diff", lid);
	if (!(l->diffdir = strdup(rel)))
		return err_nomem(e, "layer");
	snprintf(rel, sizeof(rel), "layer %s (%.12s)", d, lid);
	if (!(l->what = strdup(rel)))
		return err_nomem(e, "layer");
	snprintf(rel, sizeof(rel), "%s-layers/%s.tar-split.gz", st->driver, lid);
	if (fstatat(st->rootfd, rel, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
		if (st->allow_rebuilt && strcmp(st->driver, "vfs")) {
			l->rebuilt = true;
			return 0;
		}
		return err_set(e, STRATA_EFORMAT, "%s: %s has no tar-split (%s): its tar cannot be rebuilt byte for byte%s",
			       label, l->what, rel, strcmp(st->driver, "vfs") ? " (--allow-rebuilt-layers writes a fresh one)"
			       : " (and vfs keeps whole trees, not changes)");
	}
	if (!(l->tarsplit = strdup(rel)))
		return err_nomem(e, "layer");
	return 0;
}

static int load_image(struct store *st, const cJSON *img, const cJSON *layers, struct strata_err *e)
{
	const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(img, "id"));
	const char *top = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(img, "layer"));
	const cJSON *names = cJSON_GetObjectItemCaseSensitive(img, "names"), *bd, *it, *ids, *rootfs;
	char rel[600], label[400], key[DIGEST_STR_MAX] = "";
	const char *chainv[4096];
	size_t n = 0, i;
	struct store_image *im;
	cJSON *doc = NULL;
	int r;

	if (!safe_id(id))
		return err_set(e, STRATA_EFORMAT, "'%s/%s-images/images.json': an image without a valid id", st->root,
			       st->driver);
	snprintf(label, sizeof(label), "image %.12s", id);
	bd = cJSON_GetObjectItemCaseSensitive(img, "big-data-names");
	cJSON_ArrayForEach(it, bd) {
		const char *s = cJSON_GetStringValue(it);

		if (s && !strncmp(s, "sha256:", 7) && strlen(s) == 71)
			snprintf(key, sizeof(key), "%s", s);
	}
	if (!*key)
		return err_set(e, STRATA_EFORMAT, "%s: no config among its big data", label);
	if ((r = store_add_image(st, &im, e)) < 0)
		return r;
	memcpy(im->id, key, sizeof(im->id));
	cJSON_ArrayForEach(it, names) {
		const char *s = cJSON_GetStringValue(it);

		if (s && !strchr(s, '@') && (r = store_add_name(im, s, e)) < 0)
			return r;
	}
	if (im->nnames)
		snprintf(label, sizeof(label), "image %.12s (%s)", id, im->names[0]);
	snprintf(rel, sizeof(rel), "%s-images/%s/", st->driver, id);
	bigdata_name(key, rel + strlen(rel), sizeof(rel) - strlen(rel));
	if ((r = store_read_config(st, im, rel, key, key, label, &doc, e)) < 0)
		return r;
	rootfs = cJSON_GetObjectItemCaseSensitive(doc, "rootfs");
	ids = rootfs ? cJSON_GetObjectItemCaseSensitive(rootfs, "diff_ids") : NULL;
	if (!cJSON_IsArray(ids)) {
		r = err_set(e, STRATA_EFORMAT, "%s: config has no rootfs.diff_ids", label);
		goto out;
	}
	if ((r = layer_chain(st, layers, top, label, chainv, sizeof(chainv) / sizeof(chainv[0]), &n, e)) < 0)
		goto out;
	if ((size_t)cJSON_GetArraySize(ids) != n) {
		r = err_set(e, STRATA_EFORMAT, "%s: the config lists %d layers, the store %zu", label,
			    cJSON_GetArraySize(ids), n);
		goto out;
	}
	if (!(im->layers = calloc(n + 1, sizeof(size_t)))) {
		r = err_nomem(e, "layers");
		goto out;
	}
	/* the chain is top down, the diff_ids bottom up */
	for (i = 0; i < n && r == 0; i++)
		r = attach_layer(st, im, i, chainv[n - 1 - i], cJSON_GetStringValue(cJSON_GetArrayItem(ids, (int)i)),
				 layers, label, e);
	if (r == 0)
		im->nlayers = n;
out:
	cJSON_Delete(doc);
	return r;
}

int cstorage_load(struct store *st, struct strata_err *e)
{
	cJSON *images = NULL, *layers = NULL;
	const cJSON *img;
	char rel[128];
	int r;

	if ((r = pick_driver(st, e)) < 0)
		return r;
	store_daemon_check(st, "crio", "--root", "/var/lib/containers/storage");
	snprintf(rel, sizeof(rel), "%s-images/images.json", st->driver);
	if ((r = read_json(st, rel, &images, e)) < 0)
		return r;
	snprintf(rel, sizeof(rel), "%s-layers/layers.json", st->driver);
	if ((r = read_json(st, rel, &layers, e)) < 0)
		goto out;
	cJSON_ArrayForEach(img, images)
		if ((r = load_image(st, img, layers, e)) < 0)
			goto out;
	r = 0;
out:
	cJSON_Delete(images);
	cJSON_Delete(layers);
	return r;
}
