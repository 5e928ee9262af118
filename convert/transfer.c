/*
 * transfer.c - write and check the transfer manifest of an output; see
 * transfer.h.
 */
#define _XOPEN_SOURCE 700
#include "convert/transfer.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/buf.h"
#include "common/digest.h"
#include "common/fsutil.h"
#include "common/pieces.h"
#include "common/strmap.h"
#include "formats/json.h"
#include "formats/pieceset.h"
#include "convert/delta.h"

#ifndef STRATA_VERSION
#define STRATA_VERSION "unknown"
#endif

#define MANIFEST_MAX (256u << 20)

struct tfile {
	char *rel;                    /* as listed: relative to the manifest's directory */
	uint64_t size;
	char hex[65];
};

struct tfiles {
	struct tfile *v;
	size_t len, alloc;
};

static void tfiles_release(struct tfiles *f)
{
	size_t i;

	for (i = 0; i < f->len; i++)
		free(f->v[i].rel);
	free(f->v);
	memset(f, 0, sizeof(*f));
}

static int tfiles_add(struct tfiles *f, const char *rel, struct strata_err *e)
{
	if (array_grow(&f->v, f->len, &f->alloc, sizeof(*f->v), 64) < 0)
		return err_nomem(e, "files");
	memset(&f->v[f->len], 0, sizeof(f->v[0]));
	if (!(f->v[f->len].rel = strdup(rel)))
		return err_nomem(e, "files");
	f->len++;
	return 0;
}

static int tfile_cmp(const void *a, const void *b)
{
	return strcmp(((const struct tfile *)a)->rel, ((const struct tfile *)b)->rel);
}

/* The regular files under dir (rel names prefixed with prefix), recursively. */
static int list_dir(const char *dir, const char *prefix, struct tfiles *f, struct strata_err *e)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int r = 0;

	if (!d)
		return err_sys(e, errno, "cannot read '%s'", dir);
	while (r == 0 && (de = readdir(d))) {
		char *p, *rel;
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		p = path_join(dir, de->d_name);
		rel = path_join(prefix, de->d_name);
		if (!p || !rel)
			r = err_nomem(e, "files");
		else if (lstat(p, &st) < 0)
			r = err_sys(e, errno, "cannot stat '%s'", p);
		else if (S_ISDIR(st.st_mode))
			r = list_dir(p, rel, f, e);
		else
			r = tfiles_add(f, rel, e);  /* anything else is listed (and then checked) as a file */
		free(p);
		free(rel);
	}
	closedir(d);
	return r;
}

/* sha256 (hex) and size of a file. */
static int hash_file(const char *path, char hex[65], uint64_t *size, struct strata_err *e)
{
	struct digest_ctx dc;
	char dg[DIGEST_STR_MAX];
	unsigned char chunk[1 << 16];
	FILE *fp = fopen(path, "rb");
	size_t n;
	int r;

	if (!fp)
		return err_sys(e, errno, "cannot read '%s'", path);
	if ((r = digest_init(&dc, DIGEST_SHA256, e)) < 0) {
		fclose(fp);
		return r;
	}
	*size = 0;
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		digest_update(&dc, chunk, n);
		*size += n;
	}
	r = ferror(fp) ? err_sys(e, errno ? errno : EIO, "cannot read '%s'", path) : 0;
	fclose(fp);
	digest_final(&dc, dg);
	digest_release(&dc);
	snprintf(hex, 65, "%s", digest_hex(dg));
	return r;
}

/* The directory a path is in, and its last component. */
static int split_path(const char *path, char **dir, char **base, struct strata_err *e)
{
	char *clean = path_clean(path), *sl;
	int r;

	*dir = *base = NULL;
	if (!clean)
		return err_nomem(e, "path");
	while (strlen(clean) > 1 && clean[strlen(clean) - 1] == '/')
		clean[strlen(clean) - 1] = '\0';
	sl = strrchr(clean, '/');
	if (!sl) {
		*dir = strdup(".");
		*base = strdup(clean);
	} else {
		*base = strdup(sl + 1);
		*dir = sl == clean ? strdup("/") : strndup(clean, (size_t)(sl - clean));
	}
	free(clean);
	if (*dir && *base && **base)
		return 0;
	r = !*dir || !*base ? err_nomem(e, "path")
			    : err_set(e, STRATA_EUSAGE, "'%s': no file name for a transfer manifest", path);
	free(*dir);
	free(*base);
	*dir = *base = NULL;
	return r;
}

static int with_suffix(const char *out, const char *suffix, char **p, struct strata_err *e)
{
	size_t n = strlen(out);

	while (n > 1 && out[n - 1] == '/')
		n--;
	if (!(*p = malloc(n + strlen(suffix) + 1)))
		return err_nomem(e, "path");
	memcpy(*p, out, n);
	memcpy(*p + n, suffix, strlen(suffix) + 1);
	return 0;
}

static int write_atomic(const char *path, const char *txt, struct strata_err *e)
{
	struct atomic_file af;
	int r;

	if ((r = atomic_open(&af, path, e)) < 0)
		return r;
	if ((r = write_all(af.fd, txt, strlen(txt), path, e)) < 0) {
		atomic_abort(&af);
		return r;
	}
	return atomic_commit(&af, e);
}

static void created_now(char *buf, size_t n)
{
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	time_t t = time(NULL);
	struct tm tm;
	char *end;

	if (sde && *sde) {
		long long v = strtoll(sde, &end, 10);

		if (!*end && v >= 0)
			t = (time_t)v;
	}
	gmtime_r(&t, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static cJSON *strs(char *const *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();
	size_t i;

	for (i = 0; a && i < n; i++)
		if (v[i])
			json_push(a, cJSON_CreateString(v[i]));
	return a;
}

static cJSON *image_json(const struct out_image *oi)
{
	cJSON *o = cJSON_CreateObject(), *l = cJSON_CreateArray();
	char pstr[128];
	size_t i;

	json_put(o, "names", strs(oi->names, oi->nnames));
	json_put(o, "ref_names", strs(oi->ref_names, oi->nref_names));
	cJSON_AddStringToObject(o, "manifest", oi->manifest.digest);
	cJSON_AddStringToObject(o, "config", oi->config.digest);
	for (i = 0; i < oi->nlayers; i++)
		json_push(l, cJSON_CreateString(oi->layers[i].digest));
	json_put(o, "layers", l);
	if (oi->has_platform) {
		snprintf(pstr, sizeof(pstr), "%s/%s%s%s", oi->platform.os, oi->platform.arch, oi->platform.variant ? "/" : "",
			 oi->platform.variant ? oi->platform.variant : "");
		cJSON_AddStringToObject(o, "platform", pstr);
	}
	return o;
}

static int add_blob(struct strmap *m, const struct out_desc *d, struct strata_err *e)
{
	if (!d->digest[0] || strmap_get(m, d->digest))
		return 0;
	return strmap_put(m, d->digest, (void *)(intptr_t)(d->size + 1), e);
}

static int blob_cmp(const void *a, const void *b)
{
	return strcmp(json_str(*(cJSON *const *)a, "digest"), json_str(*(cJSON *const *)b, "digest"));
}

static cJSON *blobs_json(const struct out_set *set, struct strata_err *e)
{
	struct strmap m = { 0 };
	cJSON *a = NULL, **v = NULL;
	size_t i, j;
	int r = 0;

	for (i = 0; r == 0 && i < set->len; i++) {
		const struct out_image *oi = &set->v[i];

		r = add_blob(&m, &oi->manifest, e);
		if (r == 0)
			r = add_blob(&m, &oi->config, e);
		for (j = 0; r == 0 && j < oi->nlayers; j++)
			r = add_blob(&m, &oi->layers[j], e);
		if (r == 0 && oi->group >= 0)
			r = add_blob(&m, &oi->index, e);
	}
	if (r == 0 && (v = calloc(m.len + 1, sizeof(*v))) && (a = cJSON_CreateArray())) {
		for (i = 0; i < m.len; i++) {
			v[i] = cJSON_CreateObject();
			cJSON_AddStringToObject(v[i], "digest", m.items[i].key);
			cJSON_AddNumberToObject(v[i], "size", (double)((intptr_t)m.items[i].val - 1));
		}
		qsort(v, m.len, sizeof(*v), blob_cmp);
		for (i = 0; i < m.len; i++)
			json_push(a, v[i]);
	} else if (r == 0) {
		err_nomem(e, "blobs");
	}
	free(v);
	strmap_release(&m);
	return a;
}

/* The pieces of a split archive: listed as its files, with the sizes and
 * sha256s the writer computed (no second read). */
static int add_pieces(struct tfiles *f, const char *base, const struct pieces *pc, struct strata_err *e)
{
	size_t i;
	int r;

	for (i = 0; i < pc->len; i++) {
		char *rel = pieces_name(base, i);

		if (!rel)
			return err_nomem(e, "files");
		r = tfiles_add(f, rel, e);
		free(rel);
		if (r < 0)
			return r;
		f->v[f->len - 1].size = pc->v[i].size;
		memcpy(f->v[f->len - 1].hex, pc->v[i].hex, sizeof(f->v[0].hex));
	}
	return 0;
}

static int write_manifest(const char *out, bool dir, const char *format, const struct out_set *set,
			  const struct pieces *pc, const struct strmap *expected, struct strata_err *e);

/* "pieces": the piece names in their order (their sizes and sha256s are in "files"). */
static int pieces_json(cJSON *o, const struct tfiles *f)
{
	cJSON *a = cJSON_CreateArray();
	size_t i;

	for (i = 0; a && i < f->len; i++)
		json_push(a, cJSON_CreateString(f->v[i].rel));
	if (!a)
		return -1;
	json_put(o, "pieces", a);
	return 0;
}

int transfer_write(const char *out, bool dir, const char *format, const struct out_set *set, struct strata_err *e)
{
	return write_manifest(out, dir, format, set, NULL, NULL, e);
}

int transfer_write_expected(const char *out, bool dir, const char *format, const struct out_set *set,
			    const struct strmap *expected, struct strata_err *e)
{
	return write_manifest(out, dir, format, set, NULL, expected, e);
}

int transfer_write_pieces(const char *out, const char *format, const struct out_set *set, const struct pieces *pc,
			  const struct strmap *expected, struct strata_err *e)
{
	return write_manifest(out, false, format, set, pc, expected, e);
}

static int write_manifest(const char *out, bool dir, const char *format, const struct out_set *set,
			  const struct pieces *pc, const struct strmap *expected, struct strata_err *e)
{
	struct tfiles f = { 0 };
	struct buf sums = BUF_INIT(1u << 30);
	char *outdir = NULL, *base = NULL, *mpath = NULL, *spath = NULL, *txt = NULL;
	cJSON *doc = NULL, *files, *images, *blobs, *o;
	char created[32];
	size_t i;
	int r;

	if ((r = split_path(out, &outdir, &base, e)) < 0)
		return r;
	if ((r = pc ? add_pieces(&f, base, pc, e) : dir ? list_dir(out, base, &f, e) : tfiles_add(&f, base, e)) < 0)
		goto out;
	if (f.len > 1)  /* (an empty directory: v may be NULL) */
		qsort(f.v, f.len, sizeof(*f.v), tfile_cmp);
	for (i = 0; i < f.len; i++) {
		char *p = path_join(outdir, f.v[i].rel);

		if (!p) {
			r = err_nomem(e, "path");
			goto out;
		}
		r = pc ? 0 : hash_file(p, f.v[i].hex, &f.v[i].size, e);
		free(p);
		if (r < 0 || (r = buf_printf(&sums, e, "%s  %s\n", f.v[i].hex, f.v[i].rel)) < 0)
			goto out;
	}
	created_now(created, sizeof(created));
	doc = cJSON_CreateObject();
	cJSON_AddNumberToObject(doc, "schema", TRANSFER_SCHEMA);
	cJSON_AddStringToObject(doc, "kind", TRANSFER_KIND);
	cJSON_AddStringToObject(doc, "strata", STRATA_VERSION);
	cJSON_AddStringToObject(doc, "created", created);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "path", base);
	cJSON_AddStringToObject(o, "format", format);
	if (pc && (r = pieces_json(o, &f)) < 0) {
		cJSON_Delete(o);
		r = err_nomem(e, "manifest");
		goto out;
	}
	if (pc) {
		cJSON_AddNumberToObject(o, "size", (double)pc->size);
		cJSON_AddStringToObject(o, "sha256", pc->hex);
	}
	json_put(doc, "output", o);
	files = cJSON_CreateArray();
	for (i = 0; i < f.len; i++) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "path", f.v[i].rel);
		cJSON_AddNumberToObject(o, "size", (double)f.v[i].size);
		cJSON_AddStringToObject(o, "sha256", f.v[i].hex);
		json_push(files, o);
	}
	json_put(doc, "files", files);
	images = cJSON_CreateArray();
	for (i = 0; i < set->len; i++)
		json_push(images, image_json(&set->v[i]));
	json_put(doc, "images", images);
	if (!(blobs = blobs_json(set, e))) {
		r = -(e->code ? e->code : STRATA_EIO);
		goto out;
	}
	json_put(doc, "blobs", blobs);
	if (expected && expected->len && !json_put(doc, "expected", delta_expected_json(expected))) {
		r = err_nomem(e, "manifest");
		goto out;
	}
	if (!(txt = cJSON_PrintUnformatted(doc)) || (r = buf_add(&sums, "", 0, e)) < 0) {
		r = r < 0 ? r : err_nomem(e, "manifest");
		goto out;
	}
	if ((r = with_suffix(out, TRANSFER_SUFFIX, &mpath, e)) < 0 || (r = with_suffix(out, ".sha256", &spath, e)) < 0)
		goto out;
	{
		size_t n = strlen(txt);
		char *t2 = realloc(txt, n + 2);

		if (!t2) {
			r = err_nomem(e, "manifest");
			goto out;
		}
		txt = t2;
		memcpy(txt + n, "\n", 2);
	}
	if ((r = write_atomic(spath, sums.data ? sums.data : "", e)) == 0)
		r = write_atomic(mpath, txt, e);
out:
	if (r < 0)
		err_wrap(e, "transfer manifest of '%s'", out);
	cJSON_Delete(doc);
	free(txt);
	free(mpath);
	free(spath);
	free(outdir);
	free(base);
	buf_release(&sums);
	tfiles_release(&f);
	return r;
}

bool transfer_is_manifest(const char *path)
{
	size_t n = strlen(path), k = strlen(TRANSFER_SUFFIX);

	return n > k && !strcmp(path + n - k, TRANSFER_SUFFIX);
}

/* ---- check ---- */

static int read_doc(const char *path, cJSON **doc, struct strata_err *e)
{
	struct buf b = BUF_INIT(MANIFEST_MAX);
	char chunk[65536];
	FILE *fp = fopen(path, "rb");
	size_t n;
	int r = 0;

	if (!fp)
		return err_sys(e, errno, "cannot read '%s'", path);
	while (r == 0 && (n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		r = buf_add(&b, chunk, n, e);
	fclose(fp);
	if (r == 0)
		r = json_parse(b.data ? b.data : "", b.len, doc, e);
	buf_release(&b);
	if (r < 0)
		return err_wrap(e, "'%s'", path);
	if (!json_get(*doc, "schema") || !cJSON_IsNumber(json_get(*doc, "schema")) ||
	    json_get(*doc, "schema")->valuedouble != TRANSFER_SCHEMA || !json_str(*doc, "kind") ||
	    strcmp(json_str(*doc, "kind"), TRANSFER_KIND)) {
		cJSON_Delete(*doc);
		*doc = NULL;
		return err_set(e, STRATA_EFORMAT, "'%s' is not a strata transfer manifest (schema %d, kind \"%s\")", path,
			       TRANSFER_SCHEMA, TRANSFER_KIND);
	}
	return 0;
}

/* A layout's listed files: each there, its size, its sha256; nothing unlisted. */
static int check_files(const char *mdir, const cJSON *doc, const char *outrel, struct transfer_check *res,
		       struct diag *d, struct strata_err *e)
{
	struct strmap listed = { 0 };
	struct tfiles have = { 0 };
	const cJSON *f;
	size_t i;
	int r = 0;

	cJSON_ArrayForEach(f, json_get(doc, "files")) {
		const char *rel = json_str(f, "path"), *hex = json_str(f, "sha256");
		char *clean = rel ? path_clean(rel) : NULL, *p = NULL, got[65];
		int64_t size = -1;
		uint64_t gsize = 0;
		struct stat st;
		struct strata_err fe = STRATA_ERR_INIT;

		res->files++;
		json_uint(f, "size", &size);
		if (!rel || !hex || size < 0 || !clean || !path_is_local(clean) || strcmp(clean, rel)) {
			diag_add(d, SEV_ERROR, STRATA_EFORMAT, "files", "entry %zu: not a local path with size and sha256", res->files);
			free(clean);
			continue;
		}
		free(clean);
		if ((r = strmap_put(&listed, rel, (void *)1, e)) < 0 || !(p = path_join(mdir, rel))) {
			r = r < 0 ? r : err_nomem(e, "path");
			break;
		}
		if (lstat(p, &st) < 0 || !S_ISREG(st.st_mode))
			diag_add(d, SEV_ERROR, STRATA_EVERIFY, rel, "missing: listed in the transfer manifest, not there");
		else if ((uint64_t)st.st_size != (uint64_t)size)
			diag_add_id(d, SEV_ERROR, STRATA_EVERIFY, PROBLEM_SIZE_MISMATCH, rel,
				    "corrupt: %llu bytes, the transfer manifest says %lld", (unsigned long long)st.st_size,
				    (long long)size);
		else if (hash_file(p, got, &gsize, &fe) < 0)
			diag_add(d, SEV_ERROR, fe.code ? fe.code : STRATA_EIO, rel, "%s", fe.msg);
		else if (strcmp(got, hex))
			diag_add_id(d, SEV_ERROR, STRATA_EVERIFY, PROBLEM_DIGEST_MISMATCH, rel,
				    "corrupt: sha256 %s, the transfer manifest says %s", got, hex);
		free(p);
	}
	if (r == 0) {
		char *p = path_join(mdir, outrel);

		if (!p)
			r = err_nomem(e, "path");
		else if ((r = list_dir(p, outrel, &have, e)) < 0) {
			/* a layout that is not there is the bundle's problem; failing
			 * to read one that is (no memory, I/O) is the run's */
			struct stat st;

			if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
				free(p);
				tfiles_release(&have);
				strmap_release(&listed);
				return r;
			}
			diag_add(d, SEV_ERROR, STRATA_EVERIFY, outrel, "%s", e->msg);
			err_clear(e);
			r = 0;
		}
		free(p);
		if (have.len > 1)  /* (none: v may be NULL, which qsort may not be given) */
			qsort(have.v, have.len, sizeof(*have.v), tfile_cmp);
		for (i = 0; r == 0 && i < have.len; i++)
			if (!strmap_get(&listed, have.v[i].rel))
				diag_add(d, SEV_ERROR, STRATA_EVERIFY, have.v[i].rel, "extra: in the layout, not in the transfer manifest");
	}
	tfiles_release(&have);
	strmap_release(&listed);
	return r;
}

static bool same_layers(const struct image *im, const cJSON *layers)
{
	const cJSON *l;
	size_t i = 0;

	cJSON_ArrayForEach(l, layers) {
		if (i >= im->nlayers || !cJSON_IsString(l) || strcmp(im->layers[i].desc.digest, l->valuestring))
			return false;
		i++;
	}
	return i == im->nlayers;
}

/* Every image listed is in the content, with its manifest, config and layer digests. */
static void check_images_listed(const struct source *s, const cJSON *doc, struct transfer_check *res, struct diag *d)
{
	const cJSON *im;
	size_t i;

	cJSON_ArrayForEach(im, json_get(doc, "images")) {
		const char *man = json_str(im, "manifest"), *cfg = json_str(im, "config");
		const cJSON *names = json_get(im, "names");
		const char *name = cJSON_GetArraySize(names) > 0 && cJSON_IsString(cJSON_GetArrayItem(names, 0)) ?
					   cJSON_GetArrayItem(names, 0)->valuestring : NULL;
		bool found = false, cfg_found = false;
		char what[320];

		res->images++;
		snprintf(what, sizeof(what), "image %zu (%s)", res->images, name ? name : man ? man : "?");
		for (i = 0; !found && i < s->images.len; i++) {
			const struct image *x = s->images.v[i];

			if (!cfg || strcmp(x->config.digest, cfg))
				continue;
			cfg_found = true;
			found = same_layers(x, json_get(im, "layers")) &&
				(!man || !x->has_manifest || !strcmp(x->manifest.digest, man));
		}
		for (i = 0; !found && man && i < s->extra.len; i++) {
			const struct image *x = s->extra.v[i];

			found = x->has_manifest && !strcmp(x->manifest.digest, man) && cfg && !strcmp(x->config.digest, cfg) &&
				same_layers(x, json_get(im, "layers"));
		}
		if (!found)
			diag_add(d, SEV_ERROR, STRATA_EVERIFY, what, cfg_found ? "its manifest or layers differ from the transfer manifest's" :
										 "not in the content (config %s)", cfg ? cfg : "?");
	}
}

static size_t expected_left_out(const cJSON *doc, const struct source *s, struct diag *d, size_t before,
				struct strata_err *e);

struct piece_report {
	const struct pieces *pc;
	struct diag *d;
	const char *mdir;
};

static void piece_problem(void *ctx, size_t i, const char *msg)
{
	struct piece_report *pr = ctx;
	const char *p = pr->pc->v[i].path;
	size_t n = strlen(pr->mdir);

	/* named as the manifest lists it */
	if (strcmp(pr->mdir, ".") && !strncmp(p, pr->mdir, n) && p[n] == '/')
		p += n + 1;
	if (!strncmp(msg, "missing", 7))
		diag_add(pr->d, SEV_ERROR, STRATA_EVERIFY, p, "%s", msg);
	else
		diag_add_id(pr->d, SEV_ERROR, STRATA_EVERIFY, strstr(msg, " bytes, piece") ? PROBLEM_SIZE_MISMATCH :
			    PROBLEM_DIGEST_MISMATCH, p, "%s", msg);
}

/*
 * A piece set: read in one pass through the pieces, each piece's size and
 * sha256 checked at its end (common/pieces.h); the content is verified as
 * it streams.  When a piece fails, what the content said is dropped (it
 * was not believable) and every piece is checked, so that every missing,
 * truncated, reordered or corrupt one is named, not only the first.
 */
static int check_pieces(const char *path, const char *mdir, const char *format, const cJSON *doc,
			const struct load_opts *lo, struct transfer_check *res, struct diag *d, struct strata_err *e)
{
	struct pieces pc = { 0 };
	struct piece_report pr;
	struct source *s = NULL;
	struct strata_err se = STRATA_ERR_INIT;
	size_t dlen = d->len, ddropped = d->dropped;
	char *ref = NULL;
	int r;

	if ((r = pieceset_load(path, &pc, e)) < 0)
		return r;
	res->files = pc.len;
	res->blobs = (size_t)cJSON_GetArraySize(json_get(doc, "blobs"));
	if (!(ref = malloc(strlen(path) + 32))) {
		pieces_release(&pc);
		return err_nomem(e, "path");
	}
	snprintf(ref, strlen(path) + 32, "%s:%s", format, path);
	if (source_open(&s, ref, lo, d, &se) == 0) {
		check_images_listed(s, doc, res, d);
		res->left_out = expected_left_out(doc, s, d, dlen, e);
	} else {
		pr.pc = &pc;
		pr.d = d;
		pr.mdir = mdir;
		if (se.code == STRATA_EVERIFY)
			diag_truncate(d, dlen, ddropped);
		r = pieces_check_all(&pc, piece_problem, &pr, e);
		if (r == 0)
			diag_add(d, SEV_ERROR, se.code ? se.code : STRATA_EIO, json_str(json_get(doc, "output"), "path"), "%s",
				 se.msg);
		r = r < 0 ? r : 0;
	}
	source_free(s);
	free(ref);
	pieces_release(&pc);
	return r;
}

/* A delta: the blobs its "expected" list names are missing on purpose, not an error. */
static size_t expected_left_out(const cJSON *doc, const struct source *s, struct diag *d, size_t before,
				struct strata_err *e)
{
	struct strmap exp = STRMAP_INIT, taken = STRMAP_INIT;
	const cJSON *x;
	size_t n = 0;

	cJSON_ArrayForEach(x, json_get(doc, "expected"))
		if (json_str(x, "digest") && digest_valid(json_str(x, "digest")) &&
		    strmap_put(&exp, json_str(x, "digest"), (void *)1, e) < 0)
			break;
	if (exp.len && delta_take_missing(d, before, s, &exp, &taken))
		n = taken.len;
	strmap_release(&exp);
	strmap_release(&taken);
	return n;
}

struct files_job {
	pthread_t th;
	bool started;
	const char *mdir, *outrel;
	const cJSON *doc;
	struct transfer_check res;
	struct diag d;
	struct strata_err e;
	int r;
};

static void *files_thread(void *arg)
{
	struct files_job *fj = arg;

	fj->r = check_files(fj->mdir, fj->doc, fj->outrel, &fj->res, &fj->d, &fj->e);
	return NULL;
}

int transfer_check(const char *path, const struct load_opts *lo, struct transfer_check *res, struct diag *d,
		   struct strata_err *e)
{
	cJSON *doc = NULL;
	char *mdir = NULL, *mbase = NULL, *content = NULL, *ref = NULL;
	const char *outrel, *format;
	struct source *s = NULL;
	struct strata_err se = STRATA_ERR_INIT;
	struct files_job fj = { 0 };
	struct diag dc = DIAG_INIT;
	size_t before;
	bool dir;
	int r, sr;

	memset(res, 0, sizeof(*res));
	dc.max = d->max;
	if ((r = read_doc(path, &doc, e)) < 0)
		return r;
	outrel = json_str(json_get(doc, "output"), "path");
	format = json_str(json_get(doc, "output"), "format");
	if (!outrel || !format || strchr(outrel, '/') || !strcmp(outrel, "..") || !strcmp(outrel, ".") ||
	    (strcmp(format, "oci") && strcmp(format, "oci-archive") && strcmp(format, "docker-archive"))) {
		r = err_set(e, STRATA_EFORMAT, "'%s': output is not {\"path\":NAME,\"format\":oci|oci-archive|docker-archive}", path);
		goto out;
	}
	dir = !strcmp(format, "oci");
	res->format = dir ? "oci-layout" : !strcmp(format, "oci-archive") ? "oci-archive" : "docker-archive";
	if ((r = split_path(path, &mdir, &mbase, e)) < 0)
		goto out;
	/* an archive, whole or in pieces: read once, its sha256s checked on
	 * the way (common/pieces.h) */
	if (!dir) {
		r = check_pieces(path, mdir, format, doc, lo, res, d, e);
		goto out;
	}
	res->blobs = (size_t)cJSON_GetArraySize(json_get(doc, "blobs"));
	if (!(content = path_join(mdir, outrel)) || !(ref = malloc(strlen(content) + 32))) {
		r = err_nomem(e, "path");
		goto out;
	}
	snprintf(ref, strlen(content) + 32, "%s:%s", format, content);
	/* a layout: its files hashed on a second thread while the content is
	 * read (the same blobs, from the page cache), the files' problems first */
	fj.mdir = mdir;
	fj.doc = doc;
	fj.outrel = outrel;
	fj.d.max = d->max;
	fj.started = pthread_create(&fj.th, NULL, files_thread, &fj) == 0;
	if (!fj.started)
		files_thread(&fj);
	sr = source_open(&s, ref, lo, &dc, &se);
	if (fj.started)
		pthread_join(fj.th, NULL);
	res->files = fj.res.files;
	diag_move(d, &fj.d);
	if (fj.r < 0) {
		*e = fj.e;
		r = fj.r;
		diag_release(&dc);
		goto out;
	}
	before = d->len;
	diag_move(d, &dc);
	if (sr < 0) {
		diag_add(d, SEV_ERROR, se.code ? se.code : STRATA_EIO, outrel, "%s", se.msg);
		goto out;
	}
	check_images_listed(s, doc, res, d);
	res->left_out = expected_left_out(doc, s, d, before, e);
out:
	source_free(s);
	cJSON_Delete(doc);
	free(mdir);
	free(mbase);
	free(content);
	free(ref);
	return r;
}
