/*
 * decode.c - the decompression stage of the stream chain; see stream.h.
 *
 * The compression is taken from the first bytes of the data (magic numbers,
 * the way `docker load` detects it), never from a media type: layers
 * labelled with the wrong type are common and must still verify.
 *
 * gzip: every member is decoded (pigz and eStargz write several); after the
 * last member only zero bytes may follow (tape-style padding some writers
 * leave).  zstd: all frames, skippable frames included, as libzstd does.
 * xz: concatenated streams.  bzip2: through libarchive's "raw" format, so it
 * costs no dependency beyond the libarchive we already link.
 */
#include "stream.h"
#include "limits.h"

#include <archive.h>
#include <errno.h>
#include <isa-l/igzip_lib.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>
#include <zstd_errors.h>

#define DEC_OUT_SIZE (256 * 1024)
#define XZ_MEMLIMIT (256ull << 20)

struct dec_stream {
	struct stream s;
	enum compression kind;
	bool sniffed;
	bool started;           /* decoder state initialised */
	bool done;
	uint8_t head[8];        /* bytes taken from up while sniffing */
	size_t head_len, head_off;
	const uint8_t *in;      /* current input */
	size_t in_len;
	bool in_eof;
	uint8_t *out;
	uint64_t limit, produced;
	uint64_t max_ratio;     /* 0: no ratio bound */
	uint64_t taken;         /* bytes pulled from up (the head included) */
	char where[320];        /* context for messages, or "" */
	/* gzip, through ISA-L's inflate (several times faster than zlib's) */
	struct inflate_state *ist;
	bool in_member;
	/* zstd */
	ZSTD_DStream *zs;
	size_t zret;
	/* xz */
	lzma_stream lz;
	/* bzip2 */
	struct archive *ar;
	struct strata_err *ar_err;
	int ar_fail;
};

const char *compression_name(enum compression c)
{
	switch (c) {
	case COMP_GZIP: return "gzip";
	case COMP_ZSTD: return "zstd";
	case COMP_XZ: return "xz";
	case COMP_BZIP2: return "bzip2";
	default: return "none";
	}
}

enum compression compression_sniff(const uint8_t *p, size_t n)
{
	if (n >= 3 && p[0] == 0x1f && p[1] == 0x8b && p[2] == 0x08)
		return COMP_GZIP;
	if (n >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd)
		return COMP_ZSTD;
	/* zstd skippable frame: magic 0x184D2A50..5F little-endian */
	if (n >= 4 && (p[0] & 0xf0) == 0x50 && p[1] == 0x2a && p[2] == 0x4d && p[3] == 0x18)
		return COMP_ZSTD;
	if (n >= 6 && !memcmp(p, "\xfd" "7zXZ\0", 6))
		return COMP_XZ;
	if (n >= 3 && p[0] == 'B' && p[1] == 'Z' && p[2] == 'h')
		return COMP_BZIP2;
	return COMP_NONE;
}

/* Next input bytes: the sniffed head first, then blocks from up. */
static int get_input(struct dec_stream *d, struct strata_err *e)
{
	int r;

	if (d->in_len || d->in_eof)
		return 0;
	if (d->head_off < d->head_len) {
		d->in = d->head + d->head_off;
		d->in_len = d->head_len - d->head_off;
		d->head_off = d->head_len;
		return 0;
	}
	if ((r = stream_get(d->s.up, &d->in, &d->in_len, SIZE_MAX, e)) < 0)
		return r;
	d->taken += d->in_len;
	if (d->in_len == 0)
		d->in_eof = true;
	return 0;
}

static int sniff(struct dec_stream *d, struct strata_err *e)
{
	const uint8_t *p;
	size_t n;
	int r;

	if (d->sniffed)
		return 0;
	/* Collect up to 6 bytes even when the first block is shorter. */
	while (d->head_len < 6) {
		if ((r = stream_get(d->s.up, &p, &n, 6 - d->head_len, e)) < 0)
			return r;
		if (n == 0)
			break;
		memcpy(d->head + d->head_len, p, n);
		d->head_len += n;
		d->taken += n;
	}
	d->kind = compression_sniff(d->head, d->head_len);
	d->sniffed = true;
	return 0;
}

int stream_decode_kind(struct stream *s, enum compression *kind, struct strata_err *e)
{
	struct dec_stream *d = (struct dec_stream *)s;
	int r;

	if ((r = sniff(d, e)) < 0)
		return r;
	*kind = d->kind;
	return 0;
}

void stream_decode_head(struct stream *s, const uint8_t **p, size_t *n)
{
	struct dec_stream *d = (struct dec_stream *)s;

	*p = d->head;
	*n = d->head_len;
}

void stream_decode_limit(struct stream *s, uint64_t max_out, uint64_t max_ratio)
{
	struct dec_stream *d = (struct dec_stream *)s;

	d->limit = max_out;
	d->max_ratio = max_ratio;
}

/* Input the decoder has consumed: pulled from up, less what still waits. */
static uint64_t consumed(const struct dec_stream *d)
{
	return d->taken - d->in_len - (d->head_len - d->head_off);
}

static la_ssize_t bz_read(struct archive *a, void *ctx, const void **buf)
{
	struct dec_stream *d = ctx;

	(void)a;
	if (get_input(d, d->ar_err) < 0) {
		d->ar_fail = 1;
		return -1;
	}
	*buf = d->in;
	{
		size_t n = d->in_len;

		d->in_len = 0;
		return (la_ssize_t)n;
	}
}

/* A decoder library's failure: its want of memory is a shortage (exit 3),
 * anything else is the data's fault. */
static int zstd_fail(size_t ret, struct strata_err *e)
{
	if (ZSTD_getErrorCode(ret) == ZSTD_error_memory_allocation)
		return err_nomem(e, "zstd decoder");
	return err_set(e, STRATA_EFORMAT, "zstd: %s", ZSTD_getErrorName(ret));
}

static int bzip2_fail(struct dec_stream *d, struct strata_err *e)
{
	if (d->ar_fail)
		return -e->code;  /* bz_read's: the input failed */
	if (archive_errno(d->ar) == ENOMEM)
		return err_nomem(e, "bzip2 decoder");
	return err_set(e, STRATA_EFORMAT, "bzip2: %s", archive_error_string(d->ar));
}

static int start(struct dec_stream *d, struct strata_err *e)
{
	struct archive_entry *ent;

	d->started = true;
	switch (d->kind) {
	case COMP_GZIP:
		if (!(d->ist = malloc(sizeof(*d->ist))))
			return err_nomem(e, "gzip decoder");
		d->in_member = false;
		break;
	case COMP_ZSTD:
		if (!(d->zs = ZSTD_createDStream()))
			return err_nomem(e, "zstd decoder");
		ZSTD_initDStream(d->zs);
		d->zret = 1;  /* a frame is expected */
		break;
	case COMP_XZ:
		if (lzma_stream_decoder(&d->lz, XZ_MEMLIMIT, LZMA_CONCATENATED) != LZMA_OK)
			return err_nomem(e, "xz decoder");
		break;
	case COMP_BZIP2:
		if (!(d->ar = archive_read_new()))
			return err_nomem(e, "bzip2 decoder");
		archive_read_support_filter_bzip2(d->ar);
		archive_read_support_format_raw(d->ar);
		d->ar_err = e;
		if (archive_read_open(d->ar, d, NULL, bz_read, NULL) != ARCHIVE_OK ||
		    archive_read_next_header(d->ar, &ent) != ARCHIVE_OK)
			return bzip2_fail(d, e);
		break;
	case COMP_NONE:
		break;
	}
	return 0;
}

static int next_gzip(struct dec_stream *d, size_t *n, struct strata_err *e)
{
	struct inflate_state *st = d->ist;
	size_t produced = 0;
	int r, ir;

	while (produced == 0) {
		if ((r = get_input(d, e)) < 0)
			return r;
		if (d->in_eof) {
			if (d->in_member)
				return err_set(e, STRATA_EFORMAT, "gzip: unexpected end of stream (truncated)");
			break;
		}
		if (!d->in_member) {
			/* Between members: another member, or trailing zero padding. */
			if (d->in[0] == 0x1f) {
				isal_inflate_init(st);
				st->crc_flag = ISAL_GZIP;  /* header parsed, CRC and size checked */
				d->in_member = true;
			} else if (d->in[0] == 0) {
				d->in++;
				d->in_len--;
				continue;
			} else {
				return err_set(e, STRATA_EFORMAT, "gzip: trailing garbage after the compressed data");
			}
		}
		st->next_in = (uint8_t *)d->in;
		st->avail_in = (uint32_t)(d->in_len > UINT32_MAX ? UINT32_MAX : d->in_len);
		st->next_out = d->out + produced;
		st->avail_out = (uint32_t)(DEC_OUT_SIZE - produced);
		{
			size_t before = st->avail_in, out_before = st->avail_out;

			ir = isal_inflate(st);
			/* On an error ISA-L leaves avail_in meaningless (2^32 - 1 for
			 * an invalid symbol): check before using it, never trust it to
			 * have grown. */
			if (ir == ISAL_INCORRECT_CHECKSUM)
				return err_set(e, STRATA_EFORMAT, "gzip: checksum mismatch (corrupt data)");
			if (ir < 0 || st->avail_in > before || st->avail_out > out_before)
				return err_set(e, STRATA_EFORMAT, "gzip: corrupt data (%s)",
					       ir == ISAL_INVALID_WRAPPER ? "bad header" : "invalid deflate stream");
			d->in += before - st->avail_in;
			d->in_len -= before - st->avail_in;
			produced += out_before - st->avail_out;
		}
		if (st->block_state == ISAL_BLOCK_FINISH)
			d->in_member = false;
	}
	*n = produced;
	return 0;
}

static int next_zstd(struct dec_stream *d, size_t *n, struct strata_err *e)
{
	ZSTD_outBuffer ob = { d->out, DEC_OUT_SIZE, 0 };
	int r;

	while (ob.pos == 0) {
		ZSTD_inBuffer ib;

		if ((r = get_input(d, e)) < 0)
			return r;
		if (d->in_eof) {
			/* Flush what the decoder still holds; a frame left open is a truncation. */
			size_t prev = d->zret;

			ib.src = NULL;
			ib.size = ib.pos = 0;
			d->zret = ZSTD_decompressStream(d->zs, &ob, &ib);
			if (ZSTD_isError(d->zret))
				return zstd_fail(d->zret, e);
			if (ob.pos == 0 && prev != 0)
				return err_set(e, STRATA_EFORMAT, "zstd: unexpected end of stream (truncated)");
			d->zret = ob.pos ? d->zret : 0;
			break;
		}
		ib.src = d->in;
		ib.size = d->in_len;
		ib.pos = 0;
		d->zret = ZSTD_decompressStream(d->zs, &ob, &ib);
		if (ZSTD_isError(d->zret))
			return zstd_fail(d->zret, e);
		d->in += ib.pos;
		d->in_len -= ib.pos;
	}
	*n = ob.pos;
	return 0;
}

static int next_xz(struct dec_stream *d, size_t *n, struct strata_err *e)
{
	lzma_ret lr;
	int r;

	d->lz.next_out = d->out;
	d->lz.avail_out = DEC_OUT_SIZE;
	while (d->lz.avail_out == DEC_OUT_SIZE && !d->done) {
		if ((r = get_input(d, e)) < 0)
			return r;
		d->lz.next_in = d->in;
		d->lz.avail_in = d->in_len;
		lr = lzma_code(&d->lz, d->in_eof ? LZMA_FINISH : LZMA_RUN);
		if (d->in_len) {  /* at the end of input d->in is NULL: no arithmetic on it */
			d->in += d->in_len - d->lz.avail_in;
			d->in_len = d->lz.avail_in;
		}
		if (lr == LZMA_STREAM_END)
			d->done = true;
		else if (lr == LZMA_BUF_ERROR && d->in_eof)
			return err_set(e, STRATA_EFORMAT, "xz: unexpected end of stream (truncated)");
		else if (lr == LZMA_MEM_ERROR)
			return err_nomem(e, "xz decoder");
		else if (lr == LZMA_MEMLIMIT_ERROR)
			return err_set(e, STRATA_EFORMAT, "xz: needs more than %llu MiB to decode", XZ_MEMLIMIT >> 20);
		else if (lr != LZMA_OK && lr != LZMA_BUF_ERROR)
			return err_set(e, STRATA_EFORMAT, "xz: corrupt data (lzma error %d)", (int)lr);
	}
	*n = DEC_OUT_SIZE - d->lz.avail_out;
	return 0;
}

static int next_bzip2(struct dec_stream *d, const uint8_t **p, size_t *n, struct strata_err *e)
{
	const void *blk;
	size_t len;
	la_int64_t off;
	int r;

	d->ar_err = e;  /* bz_read reports into this call's context, not start()'s */
	r = archive_read_data_block(d->ar, &blk, &len, &off);
	if (r == ARCHIVE_EOF) {
		*n = 0;
		return 0;
	}
	if (r != ARCHIVE_OK)
		return bzip2_fail(d, e);
	*p = blk;
	*n = len;
	return 0;
}

void stream_decode_where(struct stream *s, const char *where)
{
	struct dec_stream *d = (struct dec_stream *)s;

	snprintf(d->where, sizeof(d->where), "%s", where);
}

static int dec_block(struct dec_stream *d, const uint8_t **p, size_t *n, struct strata_err *e);

static int dec_next(struct stream *s, const uint8_t **p, size_t *n, struct strata_err *e)
{
	struct dec_stream *d = (struct dec_stream *)s;
	int r = dec_block(d, p, n, e);

	if (r < 0 && d->where[0])
		err_wrap(e, "%s", d->where);
	return r;
}

static int dec_block(struct dec_stream *d, const uint8_t **p, size_t *n, struct strata_err *e)
{
	int r;

	if ((r = sniff(d, e)) < 0)
		return r;
	if (!d->started && (r = start(d, e)) < 0)
		return r;
	*p = d->out;
	*n = 0;
	switch (d->kind) {
	case COMP_NONE:
		if ((r = get_input(d, e)) < 0)
			return r;
		*p = d->in;
		*n = d->in_len;
		d->in_len = 0;
		break;
	case COMP_GZIP: r = next_gzip(d, n, e); break;
	case COMP_ZSTD: r = next_zstd(d, n, e); break;
	case COMP_XZ: r = next_xz(d, n, e); break;
	case COMP_BZIP2: r = next_bzip2(d, p, n, e); break;
	}
	if (r < 0)
		return r;
	d->produced += *n;
	if (d->limit && d->produced > d->limit) {
		if (d->kind == COMP_NONE)
			return err_set(e, STRATA_EFORMAT, "larger than the limit of %llu bytes (raise it with --max-size)",
				       (unsigned long long)d->limit);
		return err_set(e, STRATA_EFORMAT,
			       "%s: decompressed size passes the limit of %llu bytes (raise it with --max-size)",
			       compression_name(d->kind), (unsigned long long)d->limit);
	}
	/* A bomb is stopped as soon as it shows: after the grace, output may
	 * not outgrow max_ratio times the input consumed so far. */
	if (d->max_ratio && d->kind != COMP_NONE && d->produced > LIMIT_RATIO_GRACE &&
	    d->produced / d->max_ratio > consumed(d))
		return err_set(e, STRATA_EFORMAT,
			       "%s: likely a decompression bomb: %llu bytes decoded from %llu, more than %llu times "
			       "(raise the limit with --max-ratio)",
			       compression_name(d->kind), (unsigned long long)d->produced,
			       (unsigned long long)consumed(d), (unsigned long long)d->max_ratio);
	return 0;
}

static void dec_free(struct stream *s)
{
	struct dec_stream *d = (struct dec_stream *)s;

	if (d->started) {
		if (d->kind == COMP_XZ)
			lzma_end(&d->lz);
	}
	free(d->ist);
	ZSTD_freeDStream(d->zs);
	if (d->ar)
		archive_read_free(d->ar);
	free(d->out);
	free(d);
}

static const struct stream_ops dec_ops = { "decode", dec_next, dec_free };

struct stream *stream_decode_new(struct stream *up, struct strata_err *e)
{
	struct dec_stream *d = calloc(1, sizeof(*d));

	if (!d || !(d->out = malloc(DEC_OUT_SIZE))) {
		free(d);
		err_nomem(e, "decoder");
		return NULL;
	}
	d->s.ops = &dec_ops;
	d->s.up = up;
	d->lz = (lzma_stream)LZMA_STREAM_INIT;
	return &d->s;
}
