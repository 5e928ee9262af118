/* encode.c - reproducible parallel gzip and zstd encoders; see encode.h. */
#include "encode.h"

#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <lzma.h>
#include <zstd.h>

#define GZ_BLOCK (128 * 1024)
#define GZ_DICT (32 * 1024)

struct job {
	uint8_t *in;          /* dictionary (dict_len bytes) followed by the block */
	size_t dict_len, in_len;
	bool last;
	uint8_t *out;
	size_t out_cap, out_len;
	uLong crc;
	int state;            /* 0 free, 1 queued, 2 running, 3 done, -1 failed */
};

struct encoder {
	enum compression kind;
	int level, threads;
	encode_out_fn out;
	void *ctx;
	/* gzip */
	struct job *ring;      /* 2 x threads slots, used in order */
	size_t nslots, head, count;  /* head: oldest job; count: jobs in the ring */
	size_t cur;            /* slot being filled, when filling */
	bool filling;
	uint8_t dict[GZ_DICT];
	size_t dict_len;
	uLong crc;
	uint64_t total;
	bool header_done, failed;
	struct deflater *inline_z;  /* threads == 1 */
	pthread_t *tids;
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	bool stop;
	size_t next_run;       /* next queued slot for workers, in order */
	/* zstd */
	ZSTD_CCtx *zc;
	/* xz */
	lzma_stream xz;
	bool xz_on;
	uint8_t *zbuf;
	size_t zbuf_size;
};

/*
 * One compressor per thread.  Levels 1-3 use ISA-L's igzip (several times
 * faster than zlib; see README "Dependencies" for the measurements), 4-9
 * zlib.  Either way a block is primed with the 32 KiB before it and ends
 * with a sync flush, so blocks concatenate into one valid deflate stream.
 */
struct deflater {
	int level;
	z_stream z;
	bool z_ready;
	struct isal_zstream iz;
	uint8_t *level_buf;
	uint32_t level_buf_size;
};

static struct deflater *deflater_new(int level)
{
	static const uint32_t lvl_size[] = { 0, ISAL_DEF_LVL1_DEFAULT, ISAL_DEF_LVL2_DEFAULT, ISAL_DEF_LVL3_DEFAULT };
	struct deflater *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->level = level;
	if (level <= 3) {
		d->level_buf_size = lvl_size[level];
		/* zeroed: igzip looks at hash entries it has not written yet (the
		 * output does not depend on them, but valgrind rightly objects) */
		if (!(d->level_buf = calloc(1, d->level_buf_size))) {
			free(d);
			return NULL;
		}
		return d;
	}
	if (deflateInit2(&d->z, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		free(d);
		return NULL;
	}
	d->z_ready = true;
	return d;
}

static void deflater_free(struct deflater *d)
{
	if (!d)
		return;
	if (d->z_ready)
		deflateEnd(&d->z);
	free(d->level_buf);
	free(d);
}

/* A stored (uncompressed) deflate block for data that does not compress;
 * it ends byte-aligned, as a sync flush would. */
static size_t stored_block(const uint8_t *in, size_t n, bool last, uint8_t *out)
{
	size_t o = 0;

	do {
		size_t take = n > 65535 ? 65535 : n;

		n -= take;
		out[o++] = (uint8_t)(last && !n ? 1 : 0);  /* BFINAL, BTYPE 00, then byte-aligned */
		out[o++] = (uint8_t)take;
		out[o++] = (uint8_t)(take >> 8);
		out[o++] = (uint8_t)~take;
		out[o++] = (uint8_t)(~take >> 8);
		memcpy(out + o, in, take);
		o += take;
		in += take;
	} while (n);
	return o;
}

static int deflate_isal(struct deflater *d, struct job *j)
{
	struct isal_zstream *z = &d->iz;

	isal_deflate_init(z);
	z->level = (uint32_t)d->level;
	z->level_buf = d->level_buf;
	z->level_buf_size = d->level_buf_size;
	if (j->dict_len && isal_deflate_set_dict(z, j->in, (uint32_t)j->dict_len) != COMP_OK)
		return -1;
	z->next_in = j->in + j->dict_len;
	z->avail_in = (uint32_t)j->in_len;
	z->next_out = j->out;
	z->avail_out = (uint32_t)j->out_cap;
	z->flush = SYNC_FLUSH;
	z->end_of_stream = j->last;
	if (isal_deflate(z) != COMP_OK || z->avail_in || (j->last && z->internal_state.state != ZSTATE_END))
		return -1;
	j->out_len = j->out_cap - z->avail_out;
	return 0;
}

static int deflate_job(struct deflater *d, struct job *j)
{
	z_stream *z = &d->z;
	int r;

	j->crc = crc32_gzip_refl(0, j->in + j->dict_len, j->in_len);
	if (d->level <= 3) {
		if (deflate_isal(d, j) < 0)
			return -1;
	} else {
		if (deflateReset(z) != Z_OK)
			return -1;
		if (j->dict_len && deflateSetDictionary(z, j->in, (uInt)j->dict_len) != Z_OK)
			return -1;
		z->next_in = j->in + j->dict_len;
		z->avail_in = (uInt)j->in_len;
		z->next_out = j->out;
		z->avail_out = (uInt)j->out_cap;
		r = deflate(z, j->last ? Z_FINISH : Z_SYNC_FLUSH);
		if ((j->last && r != Z_STREAM_END) || (!j->last && r != Z_OK) || z->avail_in)
			return -1;
		j->out_len = j->out_cap - z->avail_out;
	}
	/* Data that does not compress (already compressed files, random bytes)
	 * is stored: smaller, and a reader copies it instead of decoding. */
	if (j->out_len > j->in_len + 5 * (j->in_len / 65535 + 1))
		j->out_len = stored_block(j->in + j->dict_len, j->in_len, j->last, j->out);
	return 0;
}

static void *worker(void *arg)
{
	struct encoder *enc = arg;
	struct deflater *z = deflater_new(enc->level);

	pthread_mutex_lock(&enc->mu);
	for (;;) {
		struct job *j;
		size_t slot;
		int r;

		while (!enc->stop && !(enc->count && enc->ring[enc->next_run % enc->nslots].state == 1 &&
				       enc->next_run < enc->head + enc->count))
			pthread_cond_wait(&enc->work, &enc->mu);
		if (enc->stop)
			break;
		slot = enc->next_run++ % enc->nslots;
		j = &enc->ring[slot];
		j->state = 2;
		pthread_mutex_unlock(&enc->mu);
		r = z ? deflate_job(z, j) : -1;
		pthread_mutex_lock(&enc->mu);
		j->state = r < 0 ? -1 : 3;
		pthread_cond_broadcast(&enc->done);
	}
	pthread_mutex_unlock(&enc->mu);
	deflater_free(z);
	return NULL;
}

static int emit(struct encoder *enc, const uint8_t *p, size_t n, struct strata_err *e)
{
	return n ? enc->out(enc->ctx, p, n, e) : 0;
}

static int gz_write_header(struct encoder *enc, struct strata_err *e)
{
	/* magic, deflate, no flags, MTIME 0, XFL 0, OS 255 (unknown, as Go writes) */
	static const uint8_t h[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255 };

	enc->header_done = true;
	return emit(enc, h, sizeof(h), e);
}

/* Write out the oldest job (waiting for it); the ring keeps order. */
static int retire_oldest(struct encoder *enc, struct strata_err *e)
{
	struct job *j = &enc->ring[enc->head % enc->nslots];
	int r;

	if (enc->threads > 1) {
		pthread_mutex_lock(&enc->mu);
		while (j->state == 1 || j->state == 2)
			pthread_cond_wait(&enc->done, &enc->mu);
		pthread_mutex_unlock(&enc->mu);
	}
	if (j->state != 3)
		return err_set(e, STRATA_EIO, "gzip: compression failed");
	enc->crc = enc->total ? crc32_combine(enc->crc, j->crc, (z_off_t)j->in_len) : j->crc;
	enc->total += j->in_len;
	if ((r = emit(enc, j->out, j->out_len, e)) < 0)
		return r;
	if (enc->threads > 1)
		pthread_mutex_lock(&enc->mu);
	j->state = 0;
	enc->head++;
	enc->count--;
	if (enc->threads > 1)
		pthread_mutex_unlock(&enc->mu);
	return 0;
}

static int alloc_job(struct job *j, struct strata_err *e)
{
	if (!j->in) {
		j->in = malloc(GZ_DICT + GZ_BLOCK);
		j->out_cap = GZ_BLOCK + GZ_BLOCK / 8 + 1024;  /* worst cases of zlib and igzip, and stored */
		j->out = malloc(j->out_cap);
		if (!j->in || !j->out)
			return err_nomem(e, "gzip block");
	}
	return 0;
}

/* Start filling a new block in the next free slot. */
static int begin_block(struct encoder *enc, struct strata_err *e)
{
	struct job *j;
	int r;

	if (enc->count == enc->nslots && (r = retire_oldest(enc, e)) < 0)
		return r;
	enc->cur = (enc->head + enc->count) % enc->nslots;
	j = &enc->ring[enc->cur];
	if ((r = alloc_job(j, e)) < 0)
		return r;
	memcpy(j->in, enc->dict, enc->dict_len);
	j->dict_len = enc->dict_len;
	j->in_len = 0;
	j->last = false;
	enc->filling = true;
	return 0;
}

static int submit_block(struct encoder *enc, bool last, struct strata_err *e)
{
	struct job *j = &enc->ring[enc->cur];
	size_t keep;

	j->last = last;
	/* the dictionary for the next block: the last 32 KiB of input */
	keep = j->in_len >= GZ_DICT ? GZ_DICT : j->in_len;
	if (keep == GZ_DICT) {
		memcpy(enc->dict, j->in + j->dict_len + j->in_len - GZ_DICT, GZ_DICT);
	} else {
		size_t old = enc->dict_len + keep > GZ_DICT ? GZ_DICT - keep : enc->dict_len;

		memmove(enc->dict, enc->dict + enc->dict_len - old, old);
		memcpy(enc->dict + old, j->in + j->dict_len, keep);
	}
	enc->dict_len = enc->dict_len + keep > GZ_DICT ? GZ_DICT : enc->dict_len + keep;
	enc->filling = false;
	if (enc->threads > 1) {
		pthread_mutex_lock(&enc->mu);
		j->state = 1;
		enc->count++;
		pthread_cond_signal(&enc->work);
		pthread_mutex_unlock(&enc->mu);
		return 0;
	}
	enc->count++;
	j->state = deflate_job(enc->inline_z, j) < 0 ? -1 : 3;
	return retire_oldest(enc, e);
}

static int gz_write(struct encoder *enc, const uint8_t *p, size_t n, struct strata_err *e)
{
	int r;

	if (!enc->header_done && (r = gz_write_header(enc, e)) < 0)
		return r;
	while (n) {
		struct job *j;
		size_t take;

		if (!enc->filling && (r = begin_block(enc, e)) < 0)
			return r;
		j = &enc->ring[enc->cur];
		take = GZ_BLOCK - j->in_len < n ? GZ_BLOCK - j->in_len : n;
		memcpy(j->in + j->dict_len + j->in_len, p, take);
		j->in_len += take;
		p += take;
		n -= take;
		if (j->in_len == GZ_BLOCK && n && (r = submit_block(enc, false, e)) < 0)
			return r;
		/* a full block with nothing after it yet stays open: it may be the last */
	}
	return 0;
}

static int gz_finish(struct encoder *enc, struct strata_err *e)
{
	uint8_t t[8];
	int r;

	if (!enc->header_done && (r = gz_write_header(enc, e)) < 0)
		return r;
	if (!enc->filling && (r = begin_block(enc, e)) < 0)
		return r;
	if ((r = submit_block(enc, true, e)) < 0)
		return r;
	while (enc->count)
		if ((r = retire_oldest(enc, e)) < 0)
			return r;
	t[0] = (uint8_t)enc->crc;
	t[1] = (uint8_t)(enc->crc >> 8);
	t[2] = (uint8_t)(enc->crc >> 16);
	t[3] = (uint8_t)(enc->crc >> 24);
	t[4] = (uint8_t)enc->total;
	t[5] = (uint8_t)(enc->total >> 8);
	t[6] = (uint8_t)(enc->total >> 16);
	t[7] = (uint8_t)(enc->total >> 24);
	return emit(enc, t, 8, e);
}

static int xz_push(struct encoder *enc, const uint8_t *p, size_t n, lzma_action act, struct strata_err *e)
{
	lzma_ret lr;
	int r;

	enc->xz.next_in = p;
	enc->xz.avail_in = n;
	do {
		enc->xz.next_out = enc->zbuf;
		enc->xz.avail_out = enc->zbuf_size;
		lr = lzma_code(&enc->xz, act);
		if (lr != LZMA_OK && lr != LZMA_STREAM_END)
			return err_set(e, STRATA_EIO, "xz: encoder error %d", (int)lr);
		if (enc->zbuf_size - enc->xz.avail_out &&
		    (r = enc->out(enc->ctx, enc->zbuf, enc->zbuf_size - enc->xz.avail_out, e)) < 0)
			return r;
	} while (act == LZMA_FINISH ? lr != LZMA_STREAM_END : enc->xz.avail_in > 0);
	return 0;
}

static int zstd_push(struct encoder *enc, const uint8_t *p, size_t n, ZSTD_EndDirective mode, struct strata_err *e)
{
	ZSTD_inBuffer in = { p, n, 0 };
	size_t left;
	int r;

	do {
		ZSTD_outBuffer out = { enc->zbuf, enc->zbuf_size, 0 };

		left = ZSTD_compressStream2(enc->zc, &out, &in, mode);
		if (ZSTD_isError(left))
			return err_set(e, STRATA_EIO, "zstd: %s", ZSTD_getErrorName(left));
		if ((r = emit(enc, enc->zbuf, out.pos, e)) < 0)
			return r;
	} while (mode == ZSTD_e_end ? left != 0 : in.pos < in.size);
	return 0;
}

int encoder_new(struct encoder **out, enum compression kind, int level, int threads, encode_out_fn fn, void *ctx,
		struct strata_err *e)
{
	struct encoder *enc = calloc(1, sizeof(*enc));
	int i, rc;

	*out = NULL;
	if (!enc)
		return err_nomem(e, "encoder");
	enc->kind = kind;
	enc->level = level;
	enc->threads = threads < 1 ? 1 : threads > 64 ? 64 : threads;
	enc->out = fn;
	enc->ctx = ctx;
	if (kind == COMP_ZSTD) {
		enc->zbuf_size = ZSTD_CStreamOutSize();
		if (!(enc->zc = ZSTD_createCCtx()) || !(enc->zbuf = malloc(enc->zbuf_size))) {
			encoder_free(enc);
			return err_nomem(e, "zstd encoder");
		}
		ZSTD_CCtx_setParameter(enc->zc, ZSTD_c_compressionLevel, level);
		*out = enc;
		return 0;
	}
	if (kind == COMP_XZ) {
		/* single-threaded .xz with a CRC64 check, as xz(1) writes by default */
		enc->zbuf_size = 1u << 16;
		enc->xz = (lzma_stream)LZMA_STREAM_INIT;
		if (!(enc->zbuf = malloc(enc->zbuf_size)) ||
		    lzma_easy_encoder(&enc->xz, (uint32_t)(level < 0 ? 0 : level > 9 ? 9 : level), LZMA_CHECK_CRC64) != LZMA_OK) {
			encoder_free(enc);
			return err_nomem(e, "xz encoder");
		}
		enc->xz_on = true;
		*out = enc;
		return 0;
	}
	if (kind != COMP_GZIP) {
		free(enc);
		return err_set(e, STRATA_EUSAGE, "cannot encode %s", compression_name(kind));
	}
	enc->nslots = (size_t)enc->threads * 2;
	if (!(enc->ring = calloc(enc->nslots, sizeof(*enc->ring)))) {
		free(enc);
		return err_nomem(e, "gzip encoder");
	}
	if (enc->threads == 1) {
		if (!(enc->inline_z = deflater_new(level))) {
			encoder_free(enc);
			return err_nomem(e, "gzip encoder");
		}
	} else {
		pthread_mutex_init(&enc->mu, NULL);
		pthread_cond_init(&enc->work, NULL);
		pthread_cond_init(&enc->done, NULL);
		if (!(enc->tids = calloc((size_t)enc->threads, sizeof(*enc->tids)))) {
			encoder_free(enc);
			return err_nomem(e, "gzip threads");
		}
		for (i = 0; i < enc->threads; i++)
			if ((rc = pthread_create(&enc->tids[i], NULL, worker, enc))) {
				enc->threads = i;  /* only these to join */
				encoder_free(enc);
				return err_sys(e, rc, "cannot start compression threads");
			}
	}
	*out = enc;
	return 0;
}

int encoder_write(struct encoder *enc, const uint8_t *p, size_t n, struct strata_err *e)
{
	if (enc->kind == COMP_ZSTD)
		return zstd_push(enc, p, n, ZSTD_e_continue, e);
	if (enc->kind == COMP_XZ)
		return xz_push(enc, p, n, LZMA_RUN, e);
	return gz_write(enc, p, n, e);
}

int encoder_finish(struct encoder *enc, struct strata_err *e)
{
	if (enc->kind == COMP_ZSTD)
		return zstd_push(enc, NULL, 0, ZSTD_e_end, e);
	if (enc->kind == COMP_XZ)
		return xz_push(enc, NULL, 0, LZMA_FINISH, e);
	return gz_finish(enc, e);
}

void encoder_free(struct encoder *enc)
{
	size_t i;
	int t;

	if (!enc)
		return;
	if (enc->tids) {
		pthread_mutex_lock(&enc->mu);
		enc->stop = true;
		pthread_cond_broadcast(&enc->work);
		pthread_mutex_unlock(&enc->mu);
		for (t = 0; t < enc->threads; t++)
			pthread_join(enc->tids[t], NULL);
		free(enc->tids);
		pthread_mutex_destroy(&enc->mu);
		pthread_cond_destroy(&enc->work);
		pthread_cond_destroy(&enc->done);
	}
	for (i = 0; i < enc->nslots; i++) {
		free(enc->ring[i].in);
		free(enc->ring[i].out);
	}
	free(enc->ring);
	deflater_free(enc->inline_z);
	ZSTD_freeCCtx(enc->zc);
	if (enc->xz_on)
		lzma_end(&enc->xz);
	free(enc->zbuf);
	free(enc);
}
