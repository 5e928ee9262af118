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

/* A gzip block's way through the ring: filled by the caller, queued, compressed
 * by a worker (or inline with one thread), written out in order, free again. */
enum job_state { JOB_FREE, JOB_QUEUED, JOB_RUNNING, JOB_DONE, JOB_FAILED };

struct job {
	uint8_t *in;
	size_t in_len;
	uint8_t *out;         /* one whole gzip member: header, deflate, trailer */
	size_t out_cap, out_len;
	enum job_state state;
};

/* The compressors of a gzip worker: lo for binary-like runs, hi for text. */
struct gz_z {
	struct libdeflate_compressor *lo, *hi;  /* the same one at a fixed level */
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
	struct gz_z inline_z;  /* threads == 1 */
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
 * A block is looked at in sub-blocks of GZ_SUB bytes, by their byte
 * histograms, in integer arithmetic only (so the choices are the same on
 * every CPU).  With r = 256 * sum(c^2) / n^2 (1 for uniform bytes, 256 for
 * one repeated byte):
 *   r <= 1.05: random-looking (compressed files, random bytes): stored, since
 *              deflate would save nothing on it at a fraction of the speed;
 *   otherwise compressed, each run of such sub-blocks as one member; at the
 *   default level (0) a run whose r is at most 12 (binaries, mostly) takes
 *   level 1 and a run above it (text, sources) level 2: level 2's gain is
 *   in text, and level 1 is 30-40% faster elsewhere for about the same size
 *   (bench/README.md "gzip levels by content").
 */
#define GZ_SUB (64 * 1024)
#define GZ_SUBS (GZ_BLOCK / GZ_SUB)

static int gz_z_new(struct gz_z *z, int level)
{
	z->lo = libdeflate_alloc_compressor(level ? level : 1);
	z->hi = level ? z->lo : libdeflate_alloc_compressor(2);
	return z->lo && z->hi ? 0 : -1;
}

static void gz_z_free(struct gz_z *z)
{
	if (z->hi && z->hi != z->lo)
		libdeflate_free_compressor(z->hi);
	if (z->lo)
		libdeflate_free_compressor(z->lo);
	z->lo = z->hi = NULL;
}

static void histogram(const uint8_t *p, size_t n, uint32_t h[256])
{
	uint32_t c[4][256] = { { 0 } };
	size_t i;

	for (i = 0; i + 4 <= n; i += 4) {
		c[0][p[i]]++;
		c[1][p[i + 1]]++;
		c[2][p[i + 2]]++;
		c[3][p[i + 3]]++;
	}
	for (; i < n; i++)
		c[0][p[i]]++;
	for (i = 0; i < 256; i++)
		h[i] = c[0][i] + c[1][i] + c[2][i] + c[3][i];
}

/* 256 * sum(c^2) <= num/den * n^2 */
static bool coll_at_most(const uint32_t h[256], size_t n, uint64_t num, uint64_t den)
{
	uint64_t s = 0;
	int i;

	for (i = 0; i < 256; i++)
		s += (uint64_t)h[i] * h[i];
	return s * 256 * den <= num * (uint64_t)n * n;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* One gzip member of in[0..n) at o, with a fixed header: magic, deflate, no
 * flags, MTIME 0, XFL 0, OS 255 (unknown, as Go writes).  Compressed by c
 * unless c is NULL or the result would not be smaller than stored. */
static size_t member(struct libdeflate_compressor *c, const uint8_t *in, size_t n, uint8_t *o)
{
	static const uint8_t h[GZ_HDR] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255 };
	size_t stored = n + 5 * (n / 65535 + 1), k = 0;

	memcpy(o, h, GZ_HDR);
	if (c)
		k = libdeflate_deflate_compress(c, in, n, o + GZ_HDR, stored);
	if (!k)
		k = stored_block(in, n, o + GZ_HDR);
	put32(o + GZ_HDR + k, libdeflate_crc32(0, in, n));
	put32(o + GZ_HDR + k + 4, (uint32_t)n);
	return GZ_HDR + k + GZ_TRL;
}

/* One block -> one member per run of like sub-blocks. */
static int deflate_job(const struct gz_z *z, struct job *j)
{
	uint32_t h[GZ_SUBS][256], run[256];
	bool rnd[GZ_SUBS];
	size_t subs = j->in_len ? (j->in_len + GZ_SUB - 1) / GZ_SUB : 1, i, k, at;  /* empty: one empty member */

	for (i = 0; i < subs; i++) {
		size_t len = i + 1 < subs ? GZ_SUB : j->in_len - i * GZ_SUB;

		histogram(j->in + i * GZ_SUB, len, h[i]);
		rnd[i] = len >= 4096 && coll_at_most(h[i], len, 105, 100);
	}
	j->out_len = 0;
	for (i = 0; i < subs; i = k) {
		size_t len;

		memcpy(run, h[i], sizeof(run));
		for (k = i + 1; k < subs && rnd[k] == rnd[i]; k++)
			for (at = 0; at < 256; at++)
				run[at] += h[k][at];
		len = (k < subs ? k * GZ_SUB : j->in_len) - i * GZ_SUB;
		j->out_len += member(rnd[i] ? NULL : coll_at_most(run, len, 12, 1) ? z->lo : z->hi, j->in + i * GZ_SUB,
				     len, j->out + j->out_len);
	}
	return 0;
}

static void *worker(void *arg)
{
	struct encoder *enc = arg;
	struct gz_z z;
	bool ok = gz_z_new(&z, enc->level) == 0;

	if (!ok)
		strata_oom_note();  /* its jobs fail; the run reports the shortage */

	pthread_mutex_lock(&enc->mu);
	for (;;) {
		struct job *j;
		size_t slot;
		int r;

		while (!enc->stop && !(enc->count && enc->ring[enc->next_run % enc->nslots].state == JOB_QUEUED &&
				       enc->next_run < enc->head + enc->count))
			pthread_cond_wait(&enc->work, &enc->mu);
		if (enc->stop)
			break;
		slot = enc->next_run++ % enc->nslots;
		j = &enc->ring[slot];
		j->state = JOB_RUNNING;
		pthread_mutex_unlock(&enc->mu);
		r = ok ? deflate_job(&z, j) : -1;
		pthread_mutex_lock(&enc->mu);
		j->state = r < 0 ? JOB_FAILED : JOB_DONE;
		pthread_cond_broadcast(&enc->done);
	}
	pthread_mutex_unlock(&enc->mu);
	gz_z_free(&z);
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
		while (j->state == JOB_QUEUED || j->state == JOB_RUNNING)
			pthread_cond_wait(&enc->done, &enc->mu);
		pthread_mutex_unlock(&enc->mu);
	}
	if (j->state != JOB_DONE)
		return err_set(e, STRATA_EIO, "gzip: compression failed");
	if ((r = emit(enc, j->out, j->out_len, e)) < 0)
		return r;
	if (enc->threads > 1)
		pthread_mutex_lock(&enc->mu);
	j->state = JOB_FREE;
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
		/* every member is at most its run stored, and there are at most
		 * GZ_SUBS members */
		j->out_cap = GZ_BLOCK + GZ_SUBS * (GZ_HDR + 5 * (GZ_SUB / 65535 + 1) + GZ_TRL);
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
		j->state = JOB_QUEUED;
		enc->count++;
		pthread_cond_signal(&enc->work);
		pthread_mutex_unlock(&enc->mu);
		return 0;
	}
	enc->count++;
	j->state = deflate_job(&enc->inline_z, j) < 0 ? JOB_FAILED : JOB_DONE;
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
		 * is cut in jobs, each primed with the half window before it, so the
		 * bytes do not depend on the worker count (the single-threaded mode,
		 * nbWorkers 0, writes others).  The window is at least 8 MiB (level
		 * 3's own is 2 MiB), as klauspost's encoder in skopeo keeps: layers
		 * repeat content 2-8 MiB apart.  Jobs are 4 MiB (libzstd makes them
		 * no smaller than what primes them).  At most 2 workers: about 27 MiB
		 * each, and a convert of a million files stays under 64 MiB
		 * (bench/README.md, "zstd: an 8 MiB window"). */
		if (ZSTD_isError(ZSTD_CCtx_setParameter(enc->zc, ZSTD_c_nbWorkers, enc->threads > 1 ? 2 : 1)) ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(enc->zc, ZSTD_c_jobSize, 4u << 20)) ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(enc->zc, ZSTD_c_overlapLog, 8)) ||
		    (level < 17 && ZSTD_isError(ZSTD_CCtx_setParameter(enc->zc, ZSTD_c_windowLog, 23)))) {
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
		if (gz_z_new(&enc->inline_z, level) < 0) {
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
	gz_z_free(&enc->inline_z);
	ZSTD_freeCCtx(enc->zc);
	if (enc->xz_on)
		lzma_end(&enc->xz);
	free(enc->zbuf);
	free(enc);
}
