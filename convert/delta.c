/*
 * delta.c - blob lists, --exclude-blobs, --blobs-from, the expected list of
 * a delta; see delta.h.
 */
#define _XOPEN_SOURCE 700
#include "convert/delta.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "common/cancel.h"
#include "common/fsutil.h"
#include "formats/json.h"

#define LIST_LINE_MAX 4096
#define EXPECTED_DOC_MAX (256u << 20)

static int put(struct strmap *set, const char *dg, uint64_t size, struct strata_err *e)
{
	if (!digest_valid(dg) || strmap_get(set, dg))
		return 0;
	return strmap_put(set, dg, (void *)(intptr_t)(size + 1), e);
}

/* A member named blobs/sha256/<hex> whose bytes hash to that name. */
static bool proven_blob(const struct member *m)
{
	return m && m->kind == MEM_FILE && !strncmp(m->name, "blobs/sha256/", 13) && !strncmp(m->digest, "sha256:", 7) &&
	       !strcmp(m->name + 13, m->digest + 7);
}

static int image_blobs(const struct image_set *is, struct strmap *set, struct strata_err *e)
{
	size_t i, j;
	int r = 0;

	for (i = 0; r == 0 && i < is->len; i++) {
		const struct image *im = is->v[i];

		if (im->manifest_m && !strcmp(im->manifest.digest, im->manifest_m->digest))
			r = put(set, im->manifest_m->digest, im->manifest_m->size, e);
		if (r == 0 && im->config_m && im->config_m->kind == MEM_FILE)
			r = put(set, im->config_m->digest, im->config_m->size, e);
		for (j = 0; r == 0 && j < im->nlayers; j++)
			if (im->layers[j].m && im->layers[j].m->kind == MEM_FILE)
				r = put(set, im->layers[j].m->digest, im->layers[j].m->size, e);
	}
	return r;
}

int delta_source_blobs(const struct source *s, struct strmap *set, struct strata_err *e)
{
	size_t i;
	int r = 0;

	for (i = 0; r == 0 && i < s->cat.len; i++)
		if (proven_blob(s->cat.v[i]))
			r = put(set, s->cat.v[i]->digest, s->cat.v[i]->size, e);
	/* docker-archive members are named otherwise: what the images use */
	if (r == 0)
		r = image_blobs(&s->images, set, e);
	if (r == 0)
		r = image_blobs(&s->extra, set, e);
	return r;
}

bool delta_is_digest_list(const char *path)
{
	unsigned char buf[4096];
	struct stat st;
	FILE *f;
	size_t n, i;

	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || !(f = fopen(path, "rb")))
		return false;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	/* archives: tar headers hold NULs; compressed ones start with their magic */
	if (n >= 2 && buf[0] == 0x1f && buf[1] == 0x8b)
		return false;
	if (n >= 4 && ((buf[0] == 0x28 && buf[1] == 0xb5 && buf[2] == 0x2f && buf[3] == 0xfd) ||
		       (buf[0] == 0xfd && buf[1] == '7' && buf[2] == 'z' && buf[3] == 'X') ||
		       (buf[0] == 'B' && buf[1] == 'Z' && buf[2] == 'h')))
		return false;
	for (i = 0; i < n; i++)
		if (!buf[i])
			return false;
	return true;
}

static int read_list(const char *path, struct strmap *set, struct strata_err *e)
{
	FILE *f = fopen(path, "r");
	char line[LIST_LINE_MAX];
	unsigned lineno = 0;
	int r = 0;

	if (!f)
		return err_sys(e, errno, "--exclude-blobs '%s'", path);
	while (r == 0 && fgets(line, sizeof(line), f)) {
		char *p;

		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			r = err_set(e, STRATA_EFORMAT, "--exclude-blobs '%s': line %u is too long", path, lineno);
			break;
		}
		if (!(p = list_line(line)))
			continue;
		if (strncmp(p, "sha256:", 7) || !digest_valid(p))
			r = err_set(e, STRATA_EFORMAT, "--exclude-blobs '%s': line %u: '%.80s' is not sha256:<64 lowercase hex>",
				    path, lineno, p);
		else
			r = put(set, p, 0, e);
	}
	if (r == 0 && ferror(f))
		r = err_sys(e, errno ? errno : EIO, "--exclude-blobs '%s'", path);
	fclose(f);
	return r;
}

int delta_load_exclude(const char *base, const struct limits *lim, struct strmap *set, struct strata_err *e)
{
	struct load_opts lo = { 0 };
	struct diag d = DIAG_INIT;
	struct source *s = NULL;
	int r;

	if (delta_is_digest_list(base))
		return read_list(base, set, e);
	lo.limits = *lim;
	if ((r = source_open(&s, base, &lo, &d, e)) < 0) {
		diag_release(&d);
		return err_wrap(e, "--exclude-blobs '%s'", base);
	}
	r = delta_source_blobs(s, set, e);
	source_free(s);
	diag_release(&d);
	return r;
}

/* The layers the images of is name that the source lacks. */
static void lacking(const struct image_set *is, struct strmap *set, struct strata_err *e)
{
	size_t i, j;

	for (i = 0; i < is->len; i++)
		for (j = 0; j < is->v[i]->nlayers; j++)
			if (!is->v[i]->layers[j].m)
				put(set, is->v[i]->layers[j].desc.digest, 0, e);
}

size_t delta_take_missing(struct diag *d, size_t from, const struct source *s, const struct strmap *only,
			  struct strmap *taken)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct strmap layers = STRMAP_INIT;
	size_t i, j, n = 0;
	char dg[DIGEST_STR_MAX];

	if (!s)
		return 0;
	lacking(&s->images, &layers, &e);
	lacking(&s->extra, &layers, &e);

	for (i = j = from; i < d->len; i++) {
		struct problem *p = &d->v[i];

		if (!strcmp(p->id, PROBLEM_MISSING_BLOB) && p->member && !strncmp(p->member, "blobs/sha256/", 13) &&
		    strlen(p->member + 13) == 64) {
			snprintf(dg, sizeof(dg), "sha256:%s", p->member + 13);
			if (digest_valid(dg) && strmap_get(&layers, dg) && (!only || strmap_get(only, dg))) {
				if (taken)
					put(taken, dg, 0, &e);
				free(p->member);
				free(p->msg);
				n++;
				continue;
			}
		}
		d->v[j++] = *p;
	}
	d->len = j;
	strmap_release(&layers);
	return n;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

cJSON *delta_expected_json(const struct strmap *set)
{
	cJSON *a = cJSON_CreateArray();
	const char **v = calloc(set->len + 1, sizeof(*v));
	size_t i;

	if (!a || !v) {
		cJSON_Delete(a);
		free(v);
		return NULL;
	}
	for (i = 0; i < set->len; i++)
		v[i] = set->items[i].key;
	qsort(v, set->len, sizeof(*v), str_cmp);
	for (i = 0; i < set->len; i++) {
		cJSON *o = cJSON_CreateObject();
		intptr_t sz = (intptr_t)strmap_get(set, v[i]) - 1;

		cJSON_AddStringToObject(o, "digest", v[i]);
		cJSON_AddNumberToObject(o, "size", (double)(sz > 0 ? sz : 0));
		json_push(a, o);
	}
	free(v);
	return a;
}

int delta_expected_read(const char *mpath, struct strmap *set, struct strata_err *e)
{
	struct buf b = BUF_INIT(EXPECTED_DOC_MAX);
	char chunk[65536];
	cJSON *doc = NULL;
	const cJSON *x;
	FILE *f = fopen(mpath, "rb");
	size_t n;
	int r = 0;

	if (!f)
		return errno == ENOENT ? 0 : err_sys(e, errno, "cannot read '%s'", mpath);
	while (r == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		r = buf_add(&b, chunk, n, e);
	fclose(f);
	if (r == 0 && (r = json_parse(b.data ? b.data : "", b.len, &doc, e)) < 0)
		err_wrap(e, "'%s'", mpath);
	cJSON_ArrayForEach(x, (r == 0 ? json_get(doc, "expected") : NULL)) {
		const char *dg = json_str(x, "digest");
		int64_t sz = 0;

		json_uint(x, "size", &sz);
		if (dg && (r = put(set, dg, (uint64_t)sz, e)) < 0)
			break;
	}
	cJSON_Delete(doc);
	buf_release(&b);
	return r;
}

char *delta_manifest_path(const char *out)
{
	size_t n = strlen(out);
	char *p;

	while (n > 1 && out[n - 1] == '/')
		n--;
	if (!(p = malloc(n + sizeof(".manifest.json"))))
		return NULL;
	memcpy(p, out, n);
	memcpy(p + n, ".manifest.json", sizeof(".manifest.json"));
	return p;
}

/* ---- --blobs-from ---- */

struct fill {
	struct sink *sink;
	const struct strmap *need;
	struct strmap *found;
	const char *base;
	struct diag *d;
};

static int hash_file(const char *path, char dg[DIGEST_STR_MAX], uint64_t *size, struct strata_err *e)
{
	struct digest_ctx dc;
	unsigned char chunk[1 << 16];
	FILE *f = fopen(path, "rb");
	size_t n;
	int r;

	if (!f)
		return err_sys(e, errno, "cannot read '%s'", path);
	if ((r = digest_init(&dc, DIGEST_SHA256, e)) < 0) {
		fclose(f);
		return r;
	}
	*size = 0;
	while (!strata_cancel && (n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		digest_update(&dc, chunk, n);
		*size += n;
	}
	r = strata_cancel ? err_set(e, STRATA_EIO, "interrupted") :
	    ferror(f) ? err_sys(e, errno ? errno : EIO, "cannot read '%s'", path) : 0;
	fclose(f);
	digest_final(&dc, dg);
	digest_release(&dc);
	return r;
}

/* Copy the file path into the sink as blob dg, verified; 1 when it did not match. */
static int copy_file(struct fill *f, const char *path, const char *dg, int64_t size, struct strata_err *e)
{
	struct sink_blob *b;
	unsigned char chunk[1 << 16];
	char got[DIGEST_STR_MAX];
	uint64_t n = 0;
	FILE *fp = fopen(path, "rb");
	size_t k;
	int r;

	if (!fp)
		return err_sys(e, errno, "cannot read '%s'", path);
	if ((r = sink_blob_begin(f->sink, &b, dg, size, true, e)) < 0) {
		fclose(fp);
		return r;
	}
	while (r == 0 && (k = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		r = strata_cancel ? err_set(e, STRATA_EIO, "interrupted") : sink_blob_write(b, chunk, k, e);
	if (r == 0 && ferror(fp))
		r = err_sys(e, errno ? errno : EIO, "cannot read '%s'", path);
	fclose(fp);
	if (r < 0) {
		sink_blob_abort(b);
		return r;
	}
	if ((r = sink_blob_commit(b, NULL, got, &n, e)) < 0 && e->code == STRATA_EVERIFY) {
		diag_add_id(f->d, SEV_ERROR, STRATA_EVERIFY, PROBLEM_DIGEST_MISMATCH, path, "corrupt: %s", e->msg);
		err_clear(e);
		return 1;
	}
	return r;
}

static enum blob_action fplan(void *ctx, const struct member *m, bool is_tar)
{
	struct fill *f = ctx;
	char dg[DIGEST_STR_MAX];

	(void)is_tar;
	if (strncmp(m->name, "blobs/sha256/", 13) || strlen(m->name + 13) != 64)
		return BLOB_SKIP;
	snprintf(dg, sizeof(dg), "sha256:%s", m->name + 13);
	if (!digest_valid(dg) || !strmap_get(f->need, dg) || strmap_get(f->found, dg) || sink_has_blob(f->sink, dg))
		return BLOB_SKIP;
	return BLOB_STORED;
}

static int fwrite_fn(void *ctx, const uint8_t *p, size_t n, struct strata_err *e)
{
	return sink_blob_write(ctx, p, n, e);
}

static int fopen_fn(void *ctx, struct member *m, int src_fd, uint64_t src_off, stream_tee_fn *fn, void **fctx,
		    struct strata_err *e)
{
	struct fill *f = ctx;
	struct sink_blob *b;
	char dg[DIGEST_STR_MAX];
	int r;

	(void)src_fd;
	(void)src_off;
	snprintf(dg, sizeof(dg), "sha256:%s", m->name + 13);
	if ((r = sink_blob_begin(f->sink, &b, dg, (int64_t)m->size, true, e)) < 0)
		return r;
	*fn = fwrite_fn;
	*fctx = b;
	return 0;
}

static int fclose_fn(void *ctx, struct member *m, void *fctx, bool ok, struct strata_err *e)
{
	struct fill *f = ctx;
	char got[DIGEST_STR_MAX];
	uint64_t n;
	int r;

	if (!ok) {
		sink_blob_abort(fctx);
		return 0;
	}
	if ((r = sink_blob_commit(fctx, NULL, got, &n, e)) < 0) {
		if (e->code != STRATA_EVERIFY)
			return r;
		diag_add_id(f->d, SEV_ERROR, STRATA_EVERIFY, PROBLEM_DIGEST_MISMATCH, m->name, "corrupt in '%s': %s", f->base,
			    e->msg);
		err_clear(e);
		return 0;
	}
	return strmap_put(f->found, got, (void *)1, e);
}

static int fill_archive(struct fill *f, const struct limits *lim, struct strata_err *e)
{
	struct blob_writer bw = { f, fplan, fopen_fn, fclose_fn };
	struct load_opts lo = { 0 };
	struct diag bd = DIAG_INIT;
	struct source *s = NULL;
	int r;

	lo.limits = *lim;
	lo.writer = &bw;
	r = source_open(&s, f->base, &lo, &bd, e);
	source_free(s);
	diag_release(&bd);
	return r < 0 ? err_wrap(e, "--blobs-from '%s'", f->base) : 0;
}

int delta_fill(struct sink *sink, const char *dst_dir, const char *const *bases, size_t nbases,
	       const struct strmap *need, const struct limits *lim, struct diag *d, struct strata_err *e)
{
	struct strmap found = STRMAP_INIT;
	struct fill f = { sink, need, &found, NULL, d };
	struct buf names = BUF_INIT(1u << 20);
	size_t i, k, nmiss = 0;
	char *p;
	int r = 0;

	/* already in the destination: proven by hashing it there, not written again */
	for (i = 0; r == 0 && i < need->len; i++) {
		const char *dg = need->items[i].key;
		char got[DIGEST_STR_MAX];
		uint64_t sz;

		if (!sink_has_blob(sink, dg))
			continue;
		if (!dst_dir) {
			r = strmap_put(&found, dg, (void *)1, e);
			continue;
		}
		if (!(p = malloc(strlen(dst_dir) + 80))) {
			r = err_nomem(e, "path");
			break;
		}
		snprintf(p, strlen(dst_dir) + 80, "%s/blobs/sha256/%s", dst_dir, digest_hex(dg));
		if ((r = hash_file(p, got, &sz, e)) == 0) {
			if (!strcmp(got, dg))
				r = strmap_put(&found, dg, (void *)1, e);
			else
				r = err_set(e, STRATA_EVERIFY, "'%s' in the destination is corrupt: its content is %s", p, got);
		}
		free(p);
	}
	for (k = 0; r == 0 && k < nbases && found.len < need->len; k++) {
		struct stat st;

		f.base = bases[k];
		if (stat(bases[k], &st) == 0 && S_ISDIR(st.st_mode)) {
			for (i = 0; r == 0 && i < need->len; i++) {
				const char *dg = need->items[i].key;
				intptr_t sz = (intptr_t)need->items[i].val - 1;
				struct stat bs;

				if (strmap_get(&found, dg) || strncmp(dg, "sha256:", 7))
					continue;
				if (!(p = malloc(strlen(bases[k]) + 80))) {
					r = err_nomem(e, "path");
					break;
				}
				snprintf(p, strlen(bases[k]) + 80, "%s/blobs/sha256/%s", bases[k], digest_hex(dg));
				if (stat(p, &bs) == 0 && S_ISREG(bs.st_mode) &&
				    (r = copy_file(&f, p, dg, sz > 0 ? (int64_t)sz : -1, e)) == 0)
					r = strmap_put(&found, dg, (void *)1, e);
				else if (r == 1)
					r = 0;
				free(p);
			}
		} else if (stat(bases[k], &st) < 0) {
			r = err_sys(e, errno, "--blobs-from '%s'", bases[k]);
		} else {
			r = fill_archive(&f, lim, e);
		}
	}
	for (i = 0; r == 0 && i < need->len; i++) {
		const char *dg = need->items[i].key;
		char bp[DIGEST_STR_MAX + 16];

		if (strmap_get(&found, dg))
			continue;
		snprintf(bp, sizeof(bp), "blobs/sha256/%s", digest_valid(dg) ? digest_hex(dg) : dg);
		diag_add_id(d, SEV_ERROR, STRATA_EVERIFY, PROBLEM_MISSING_BLOB, bp, "missing: %s is neither in the delta nor in %s",
			    dg, nbases == 1 ? bases[0] : "the --blobs-from bases");
		if (nmiss++ < 2)
			buf_printf(&names, e, "%s%s", names.len ? ", " : "", dg);
	}
	if (r == 0 && nmiss)
		r = err_set(e, STRATA_EVERIFY, "%zu blob%s the images need %s neither in the delta nor in %s (%s%s); nothing was written",
			    nmiss, nmiss == 1 ? "" : "s", nmiss == 1 ? "is" : "are", nbases == 1 ? bases[0] : "the --blobs-from bases",
			    names.data ? names.data : "", nmiss > 2 ? ", ..." : "");
	buf_release(&names);
	strmap_release(&found);
	return r;
}
