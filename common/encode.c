/* encode.c - reproducible parallel gzip and zstd encoders; see encode.h. */
#include "encode.h"

#include <libdeflate.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <lzma.h>
#include <zstd.h>

/* 1 MiB blocks: big enough that a block without a dictionary loses little
 * (bench/README.md "Reproducible gzip"), small enough to keep memory flat. */
#define GZ_BLOCK (1024 * 1024)
#define GZ_HDR 10
#define GZ_TRL 8

struct job {
	uint8_t *in;
	size_t in_len;
	uint8_t *out;         /* one whole gzip member: header, deflate, trailer */
	size_t out_cap, out_len;
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
	bool filling, any;
	struct libdeflate_compressor *inline_z;  /* threads == 1 */
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

/* A stored (uncompressed) final deflate stream. */
static size_t stored_block(const uint8_t *in, size_t n, uint8_t *out)
{
	size_t o = 0;

	do {
		size_t take = n > 65535 ? 65535 : n;

		n -= take;
		out[o++] = (uint8_t)(!n ? 1 : 0);  /* BFINAL on the last, BTYPE 00, then byte-aligned */
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

/*
 * Data that will not compress (compressed files, random bytes): its byte
 * histogram is flat.  Integer arithmetic only, so the choice is the same on
 * every CPU: the collision probability sum(c^2)/n^2 is at most 1/239 (Renyi
 * entropy >= 7.9 bits a byte; uniform bytes give 1/256).  Deflate would save
 * under 0.1% on such a block at a fraction of the speed.
 */
static bool incompressible(const uint8_t *p, size_t n)
{
	uint32_t c[4][256] = { { 0 } };
	uint64_t s = 0;
	size_t i;

	if (n < 4096)
		return false;
	for (i = 0; i + 4 <= n; i += 4) {
		c[0][p[i]]++;
		c[1][p[i + 1]]++;
		c[2][p[i + 2]]++;
		c[3][p[i + 3]]++;
	}
	for (; i < n; i++)
		c[0][p[i]]++;
	for (i = 0; i < 256; i++) {
		uint64_t k = (uint64_t)c[0][i] + c[1][i] + c[2][i] + c[3][i];

		s += k * k;
	}
	return s * 239 <= (uint64_t)n * n;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* One block -> one gzip member with a fixed header: magic, deflate, no
 * flags, MTIME 0, XFL 0, OS 255 (unknown, as Go writes). */
static int deflate_job(struct libdeflate_compressor *c, struct job *j)
{
	static const uint8_t h[GZ_HDR] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255 };
	size_t n = 0;

	memcpy(j->out, h, GZ_HDR);
	if (!incompressible(j->in, j->in_len))
		n = libdeflate_deflate_compress(c, j->in, j->in_len, j->out + GZ_HDR, j->out_cap - GZ_HDR - GZ_TRL);
	if (!n)
		n = stored_block(j->in, j->in_len, j->out + GZ_HDR);
	put32(j->out + GZ_HDR + n, libdeflate_crc32(0, j->in, j->in_len));
	put32(j->out + GZ_HDR + n + 4, (uint32_t)j->in_len);
	j->out_len = GZ_HDR + n + GZ_TRL;
	return 0;
}

static void *worker(void *arg)
{
	struct encoder *enc = arg;
	struct libdeflate_compressor *z = libdeflate_alloc_compressor(enc->level);

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
	if (z)
		libdeflate_free_compressor(z);
	return NULL;
}

static int emit(struct encoder *enc, const uint8_t *p, size_t n, struct strata_err *e)
{
	return n ? enc->out(enc->ctx, p, n, e) : 0;
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
		j->in = malloc(GZ_BLOCK);
		/* libdeflate's bound for any compressor, at least the stored size */
		j->out_cap = GZ_HDR + GZ_BLOCK + 5 * (GZ_BLOCK / 65535 + 1) + 4096 + GZ_TRL;
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
	j->in_len = 0;
	enc->filling = true;
	return 0;
}

static int submit_block(struct encoder *enc, struct strata_err *e)
{
	struct job *j = &enc->ring[enc->cur];

	enc->filling = false;
	enc->any = true;
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

	while (n) {
		struct job *j;
		size_t take;

		if (!enc->filling && (r = begin_block(enc, e)) < 0)
			return r;
		j = &enc->ring[enc->cur];
		take = GZ_BLOCK - j->in_len < n ? GZ_BLOCK - j->in_len : n;
		memcpy(j->in + j->in_len, p, take);
		j->in_len += take;
		p += take;
		n -= take;
		if (j->in_len == GZ_BLOCK && (r = submit_block(enc, e)) < 0)
			return r;
	}
	return 0;
}

static int gz_finish(struct encoder *enc, struct strata_err *e)
{
	int r;

	/* the partial last block; an empty input still gets one (empty) member */
	if (!enc->filling && !enc->any && (r = begin_block(enc, e)) < 0)
		return r;
	if (enc->filling && (r = submit_block(enc, e)) < 0)
		return r;
	while (enc->count)
		if ((r = retire_oldest(enc, e)) < 0)
			return r;
	return 0;
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
		/* Always libzstd's multithreaded mode, even for one thread: the frame
		 * is cut in 2 MiB jobs, each primed with the full window before it,
		 * so the bytes do not depend on the worker count (the single-threaded
		 * mode, nbWorkers 0, writes others).  At most 2 workers: each costs
		 * ~8 MiB, and 2 keep a convert under 64 MiB (bench/README.md). */
		if (ZSTD_isError(ZSTD_CCtx_setParameter(enc->zc, ZSTD_c_nbWorkers, enc->threads > 1 ? 2 : 1)) ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(enc->zc, ZSTD_c_jobSize, 2u << 20)) ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(enc->zc, ZSTD_c_overlapLog, 9))) {
			encoder_free(enc);
			return err_set(e, STRATA_EUSAGE, "zstd: this libzstd has no multithreading (needed for reproducible output)");
		}
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
		if (!(enc->inline_z = libdeflate_alloc_compressor(level))) {
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
	if (enc->inline_z)
		libdeflate_free_compressor(enc->inline_z);
	ZSTD_freeCCtx(enc->zc);
	if (enc->xz_on)
		lzma_end(&enc->xz);
	free(enc->zbuf);
	free(enc);
}
