/* flatten.c - the merged root filesystem as one tar; see convert.h. */
#include "convert/convert.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/awrite.h"
#include "common/digest.h"
#include "common/encode.h"
#include "common/fsutil.h"
#include "common/tar.h"
#include "convert/merge.h"
#include "formats/ref.h"

struct tarout {
	encode_out_fn fn;         /* where the (compressed) bytes go */
	void *ctx;
	struct encoder *enc;
	struct digest_ctx dg;     /* of the tar: its diff_id */
	uint64_t tar_bytes;
	struct buf hdr;
	uint64_t out_bytes;       /* after compression */
};

static int raw_out(void *ctx, const uint8_t *p, size_t n, struct strata_err *e)
{
	struct tarout *o = ctx;

	o->out_bytes += n;
	return o->fn(o->ctx, p, n, e);
}

static int put(struct tarout *o, const void *p, size_t n, struct strata_err *e)
{
	digest_update(&o->dg, p, n);
	o->tar_bytes += n;
	return o->enc ? encoder_write(o->enc, p, n, e) : raw_out(o, p, n, e);
}

/* One merged entry: its header as the layer had it (name, link and type
 * normalised), then its data. */
static int tar_entry_out(void *ctx, const char *name, const struct tar_entry *ent, struct stream *data,
			 struct strata_err *e)
{
	static const uint8_t zeros[512];
	struct tarout *o = ctx;
	struct buf path = BUF_INIT(1u << 20);
	struct tar_hdr h;
	uint64_t left;
	int r;

	if (!strcmp(name, "."))
		r = buf_addstr(&path, "./", e);
	else if ((r = buf_addstr(&path, name, e)) == 0 && ent->type == TAR_DIR)
		r = buf_addstr(&path, "/", e);
	if (r < 0)
		goto out;
	tar_hdr_of(&h, ent, path.data);
	buf_reset(&o->hdr);
	if ((r = tar_hdr_encode(&o->hdr, &h, e)) < 0 || (r = put(o, o->hdr.data, o->hdr.len, e)) < 0)
		goto out;
	for (left = h.size; left && data;) {
		const uint8_t *p;
		size_t n;

		if ((r = stream_get(data, &p, &n, left < SIZE_MAX ? (size_t)left : SIZE_MAX, e)) < 0)
			goto out;
		if (!n) {
			r = err_set(e, STRATA_EFORMAT, "'%s': data ends early", name);
			goto out;
		}
		if ((r = put(o, p, n, e)) < 0)
			goto out;
		left -= n;
	}
	r = put(o, zeros, tar_padding(h.size), e);
out:
	buf_release(&path);
	return r;
}

static enum compression by_name(const char *p)
{
	size_t n = strlen(p);
	static const struct { const char *sfx; enum compression c; } t[] = {
		{ ".tar.gz", COMP_GZIP }, { ".tgz", COMP_GZIP }, { ".gz", COMP_GZIP },
		{ ".tar.zst", COMP_ZSTD }, { ".tzst", COMP_ZSTD }, { ".zst", COMP_ZSTD },
		{ ".tar.xz", COMP_XZ }, { ".txz", COMP_XZ }, { ".xz", COMP_XZ },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		size_t k = strlen(t[i].sfx);

		if (n > k && !strcmp(p + n - k, t[i].sfx))
			return t[i].c;
	}
	return COMP_NONE;
}

int merge_to_tar(struct image_layers *il, const struct tar_sink *ts, struct tar_result *res, struct diag *d,
		 struct strata_err *e)
{
	static const uint8_t end[1024];
	struct tarout to = { 0 };
	struct merge_out mo = { &to, tar_entry_out };
	struct merge_layers ml;
	int r, level = ts->level ? ts->level : ts->comp == COMP_XZ ? 6 : ts->comp == COMP_GZIP ? 0 : 3;

	memset(res, 0, sizeof(*res));
	to.fn = ts->fn;
	to.ctx = ts->ctx;
	buf_init(&to.hdr, 4u << 20);
	if ((r = digest_init(&to.dg, DIGEST_SHA256, e)) < 0)
		return r;
	if (ts->comp != COMP_NONE && (r = encoder_new(&to.enc, ts->comp, level, ts->threads, raw_out, &to, e)) < 0)
		goto out;
	image_layers_merge(il, &ml);
	if ((r = merge_run(&ml, &mo, image_layers_limits(il), &res->st, d, e)) < 0 || (r = put(&to, end, sizeof(end), e)) < 0 ||
	    (to.enc && (r = encoder_finish(to.enc, e)) < 0))
		goto out;
	res->tar_bytes = to.tar_bytes;
	digest_final(&to.dg, res->diff_id);
	res->out_bytes = to.out_bytes;
out:
	digest_release(&to.dg);
	encoder_free(to.enc);
	buf_release(&to.hdr);
	return r;
}

static int aw_out(void *ctx, const uint8_t *p, size_t n, struct strata_err *e)
{
	return aw_write(ctx, p, n, e);
}

int flatten_run(const struct flatten_opts *o, struct flatten_result *res, struct diag *d, struct strata_err *e)
{
	struct layers_opts lo = { o->src, o->image, o->platform, o->progress, o->progress_ctx, o->limits };
	struct image_layers *il = NULL;
	struct awriter *aw = NULL;
	struct tar_sink ts = { 0 };
	struct tar_result tr;
	struct atomic_file af = { 0 };
	bool to_stdout = !strcmp(o->dst, "-");
	char *file = NULL;
	int sfd = -1, r;
	struct ref sref;

	memset(res, 0, sizeof(*res));
	af.fd = -1;
	/* Before anything is read or written: only a regular file is replaced,
	 * a device or FIFO is a stream, and the source is never the destination. */
	if ((r = ref_parse(o->src, &sref, e)) < 0)
		return r;
	r = output_not_source(sref.path, o->dst, e);
	ref_release(&sref);
	if (r < 0 || (!to_stdout && (r = output_resolve(o->dst, &file, &sfd, e)) < 0))
		return r;
	if (sfd >= 0)
		to_stdout = true;
	ts.comp = o->compression >= 0 ? (enum compression)o->compression : !strcmp(o->dst, "-") ? COMP_NONE : by_name(o->dst);
	ts.level = o->level;
	ts.threads = o->threads;
	if ((r = image_layers_open(&il, &lo, d, e)) < 0)
		goto out;
	res->format = image_layers_format(il);
	res->layers = image_layers_image(il)->nlayers;
	if ((r = aw_new(&aw, e)) < 0)
		goto out;
	if (to_stdout) {
		r = aw_set_fd(aw, sfd >= 0 ? sfd : STDOUT_FILENO, sfd >= 0 ? o->dst : "stdout", e);
	} else if ((r = atomic_open(&af, file, e)) == 0) {
		af.sync = o->sync;
		r = aw_set_fd(aw, af.fd, o->dst, e);
	}
	if (r < 0)
		goto out;
	ts.fn = aw_out;
	ts.ctx = aw;
	if ((r = merge_to_tar(il, &ts, &tr, d, e)) < 0 || (r = aw_flush(aw, e)) < 0)
		goto out;
	if (!to_stdout && (r = atomic_commit(&af, e)) < 0)
		goto out;
	res->entries = tr.st.entries_out;
	res->entries_in = tr.st.entries_in;
	res->hidden = tr.st.hidden;
	res->content_bytes = tr.st.bytes_out;
	res->out_bytes = tr.out_bytes;
	res->compression = ts.comp;
out:
	if (r < 0) {
		struct strata_err ie = STRATA_ERR_INIT;

		if (aw)
			aw_flush(aw, &ie);
		if (!to_stdout)
			atomic_abort(&af);
	}
	aw_free(aw);
	if (sfd >= 0 && close(sfd) < 0 && r == 0)
		r = err_sys(e, errno, "close '%s'", o->dst);
	free(file);
	image_layers_free(il);
	return r;
}
