/* layers.c - one image's layers, read again top-down for merging; see merge.h. */
#include "convert/merge.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/strmap.h"
#include "convert/convert.h"

#define READ_BUF (1u << 20)

struct image_layers {
	struct source *s;
	const struct image *im;
	char *spool_dir;              /* private temp dir, or NULL */
	struct strmap spooled;        /* member name -> spool file path (owned) */
	unsigned nspooled;
	char **names;                 /* "layer 2 (sha256:ab12...)" */
	struct limits lim;            /* resolved: both reads */
	/* progress over both reads: the first pass's bytes, then the layers' */
	stream_progress_fn progress;
	void *progress_ctx;
	uint64_t first_read, layers_read;
	/* the layer being read */
	int fd;
	struct stream *src, *dec, *tap;
};

/* ---- spooling (sources that cannot be read twice) ---- */

struct spool_file {
	int fd;
	char *path;
};

static enum blob_action spool_plan(void *ctx, const struct member *m, bool is_tar)
{
	(void)ctx;
	(void)m;
	(void)is_tar;
	return BLOB_STORED;
}

static int spool_write(void *ctx, const uint8_t *p, size_t n, struct strata_err *e)
{
	return write_all(((struct spool_file *)ctx)->fd, p, n, "spool", e);
}

static int spool_open(void *ctx, struct member *m, int src_fd, uint64_t src_off, stream_tee_fn *fn, void **fctx,
		      struct strata_err *e)
{
	struct image_layers *il = ctx;
	struct spool_file *f;
	char name[32];

	(void)m;
	(void)src_off;
	*fn = NULL;
	*fctx = NULL;
	if (src_fd >= 0)
		return 0;  /* a plain file: read again from where it is */
	if (!il->spool_dir) {
		const char *tmp = getenv("TMPDIR");
		char *tpl = path_join(tmp && *tmp ? tmp : "/tmp", "strata-spool-XXXXXX");

		if (!tpl)
			return err_nomem(e, "spool");
		if (!mkdtemp(tpl)) {
			int r = err_sys(e, errno, "cannot create a temp directory in '%s'", tmp && *tmp ? tmp : "/tmp");

			free(tpl);
			return r;
		}
		il->spool_dir = tpl;
	}
	if (!(f = calloc(1, sizeof(*f))))
		return err_nomem(e, "spool");
	snprintf(name, sizeof(name), "%u", il->nspooled++);
	if (!(f->path = path_join(il->spool_dir, name))) {
		free(f);
		return err_nomem(e, "spool");
	}
	if ((f->fd = open(f->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		int r = err_sys(e, errno, "cannot create '%s'", f->path);

		free(f->path);
		free(f);
		return r;
	}
	*fn = spool_write;
	*fctx = f;
	return 0;
}

static int spool_close(void *ctx, struct member *m, void *fctx, bool ok, struct strata_err *e)
{
	struct image_layers *il = ctx;
	struct spool_file *f = fctx;
	int r = 0;

	if (!f)
		return 0;
	if (close(f->fd) < 0 && ok)
		r = err_sys(e, errno, "spool");
	if (ok && r == 0 && (r = strmap_put(&il->spooled, m->name, f->path, e)) == 0)
		f->path = NULL;
	if (f->path) {
		unlink(f->path);
		free(f->path);
	}
	free(f);
	return r;
}

/* ---- choosing the image ---- */

static int choose(struct image_layers *il, const struct layers_opts *o, struct strata_err *e)
{
	struct source *s = il->s;
	struct platform want;
	char pbuf[128];
	size_t i, n = 0;
	int r;

	if (o->image && (r = source_select(s, o->image, e)) < 0)
		return r;
	if (o->platform && (r = platform_parse(o->platform, pbuf, sizeof(pbuf), &want, e)) < 0)
		return r;
	for (i = 0; i < s->images.len; i++) {
		const struct image *im = s->images.v[i];

		if (im->kind != IMAGE_CONTAINER || (o->platform && !platform_match(&want, &im->platform)))
			continue;
		if (!n++)
			il->im = im;
	}
	if (!n)
		return err_set(e, STRATA_EUSAGE, o->platform ? "no image for platform %s here" : "%sno container image here",
			       o->platform ? o->platform : "");
	if (n > 1)
		return err_set(e, STRATA_EUSAGE,
			       "%zu images here; pick one with --image @N, --image NAME:TAG or --platform (see strata inspect)",
			       n);
	return 0;
}

static void first_progress(void *ctx, uint64_t bytes)
{
	struct image_layers *il = ctx;

	il->first_read = bytes;
	il->progress(il->progress_ctx, bytes);
}

int image_layers_open(struct image_layers **out, const struct layers_opts *o, struct diag *d, struct strata_err *e)
{
	struct image_layers *il = calloc(1, sizeof(*il));
	struct load_opts lo = { 0 };
	struct blob_writer bw = { il, spool_plan, spool_open, spool_close };
	size_t i;
	int r;

	*out = NULL;
	if (!il)
		return err_nomem(e, "layers");
	il->fd = -1;
	lo.decode = false;  /* layers are decoded (and their diff_ids checked) in the second read */
	lo.writer = &bw;
	lo.limits = o->limits;
	il->lim = limits_resolve(&o->limits);
	il->progress = o->progress;
	il->progress_ctx = o->progress_ctx;
	lo.progress = o->progress ? first_progress : NULL;
	lo.progress_ctx = il;
	if ((r = source_open(&il->s, o->src, &lo, d, e)) < 0)
		goto fail;
	if (diag_count(d, SEV_ERROR)) {
		r = err_set(e, diag_exit_code(d), "'%s' did not verify (%zu error%s above); nothing was written", o->src,
			    diag_count(d, SEV_ERROR), diag_count(d, SEV_ERROR) == 1 ? "" : "s");
		goto fail;
	}
	if ((r = choose(il, o, e)) < 0)
		goto fail;
	if (!(il->names = calloc(il->im->nlayers + 1, sizeof(*il->names)))) {
		r = err_nomem(e, "layers");
		goto fail;
	}
	for (i = 0; i < il->im->nlayers; i++) {
		const struct layer *l = &il->im->layers[i];
		struct buf b = BUF_INIT(256);

		if (!l->m) {
			r = err_set(e, STRATA_EFORMAT, "layer %zu (%s) is not in the archive (a foreign layer?); cannot merge", i + 1,
				    l->desc.digest);
			goto fail;
		}
		if (buf_printf(&b, e, "layer %zu (%.19s)", i + 1, l->m->digest) < 0) {
			r = -e->code;
			goto fail;
		}
		il->names[i] = buf_detach(&b, NULL);
	}
	*out = il;
	return 0;
fail:
	image_layers_free(il);
	return r;
}

/* ---- reading a layer ---- */

static void layer_release(struct image_layers *il)
{
	stream_free(il->tap);
	stream_free(il->dec);
	stream_free(il->src);
	il->tap = il->dec = il->src = NULL;
	if (il->fd >= 0)
		close(il->fd);
	il->fd = -1;
}

static int layer_open(void *ctx, size_t i, bool again, struct stream **tar, struct strata_err *e)
{
	struct image_layers *il = ctx;
	const struct member *m = il->im->layers[i].m;
	const char *spooled = strmap_get(&il->spooled, m->name);
	enum compression comp;
	uint64_t off = 0;
	int r;

	if (spooled) {
		if ((il->fd = open(spooled, O_RDONLY | O_CLOEXEC)) < 0)
			return err_sys(e, errno, "cannot open '%s'", spooled);
	} else if ((r = source_member_fd(il->s, m, &il->fd, &off, e)) != 0) {
		if (r > 0)
			r = err_set(e, STRATA_EUSAGE, "cannot read this source twice (a root filesystem on stdin?); give a file");
		return r;
	}
	if (!(il->src = stream_fd_new(il->fd, READ_BUF, e)) || !(il->dec = stream_decode_new(il->src, e)))
		goto fail;
	stream_fd_range(il->src, off, m->size);
	if (!again && il->progress)
		stream_fd_progress(il->src, il->progress, il->progress_ctx, il->first_read + il->layers_read);
	if (stream_decode_kind(il->dec, &comp, e) < 0)
		goto fail;
	stream_decode_limit(il->dec, il->lim.max_size, il->lim.max_ratio);
	*tar = il->dec;
	/* uncompressed: the first read's digest is the diff_id, already checked */
	if (!again && comp != COMP_NONE) {
		if (!(il->tap = stream_tap_new(il->dec, DIGEST_SHA256, e)))
			goto fail;
		*tar = il->tap;
	}
	return 0;
fail:
	r = -e->code;
	layer_release(il);
	return r;
}

static int layer_close(void *ctx, size_t i, bool again, bool ok, struct strata_err *e)
{
	struct image_layers *il = ctx;
	const struct layer *l = &il->im->layers[i];
	char got[DIGEST_STR_MAX];
	uint64_t n;
	int r = 0;

	if (!again)
		il->layers_read += l->m->size;
	if (ok && il->tap) {
		/* the end blocks and any padding belong to the diff_id too */
		if ((r = stream_drain(il->tap, e)) == 0) {
			stream_tap_result(il->tap, got, &n);
			if (l->diff_id && strcmp(l->diff_id, got))
				r = err_set(e, STRATA_EVERIFY, "%s: diff_id mismatch: config says %s, content is %s", il->names[i],
					    l->diff_id, got);
		}
	}
	layer_release(il);
	return r;
}

static const char *layer_name(void *ctx, size_t i)
{
	return ((struct image_layers *)ctx)->names[i];
}

void image_layers_merge(struct image_layers *il, struct merge_layers *ml)
{
	ml->ctx = il;
	ml->n = il->im->nlayers;
	ml->open = layer_open;
	ml->close = layer_close;
	ml->name = layer_name;
}

const struct image *image_layers_image(const struct image_layers *il)
{
	return il->im;
}

const struct limits *image_layers_limits(const struct image_layers *il)
{
	return &il->lim;
}

const char *image_layers_format(const struct image_layers *il)
{
	return il->s->format_name;
}

void image_layers_free(struct image_layers *il)
{
	size_t i;

	if (!il)
		return;
	layer_release(il);
	for (i = 0; i < il->spooled.len; i++) {
		unlink(il->spooled.items[i].val);
		free(il->spooled.items[i].val);
	}
	strmap_release(&il->spooled);
	if (il->spool_dir) {
		rmdir(il->spool_dir);
		free(il->spool_dir);
	}
	for (i = 0; il->names && il->im && i < il->im->nlayers; i++)
		free(il->names[i]);
	free(il->names);
	source_free(il->s);
	free(il);
}
