/* Unit tests of the stream chain: taps and decoders. */
#include <lzma.h>
#include <stdlib.h>
#include <zlib.h>
#include <zstd.h>

#include "common/stream.h"
#include "common/limits.h"
#include "tests/unit/unit.h"

static size_t gzip_member(const void *in, size_t n, unsigned char *out, size_t cap)
{
	z_stream z = { 0 };

	deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	deflate(&z, Z_FINISH);
	n = z.total_out;
	deflateEnd(&z);
	return n;
}

/* Decode everything from a memory source; returns 0 or the error. */
static int decode_all(const void *p, size_t n, struct buf *out, enum compression *kind, struct strata_err *e)
{
	struct stream *src = stream_mem_new(p, n, e), *dec = stream_decode_new(src, e);
	const uint8_t *blk;
	size_t k;
	int r;

	if ((r = stream_decode_kind(dec, kind, e)) == 0)
		while ((r = stream_get(dec, &blk, &k, SIZE_MAX, e)) == 0 && k)
			if ((r = buf_add(out, blk, k, e)) < 0)
				break;
	stream_free(dec);
	stream_free(src);
	return r;
}

static unsigned char *pattern(size_t n)
{
	unsigned char *p = malloc(n);
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)((i * 7) ^ (i >> 9));
	return p;
}

TEST(decode_gzip_multimember)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct buf out = BUF_INIT(1 << 24);
	size_t n = 300000, a, b;
	unsigned char *in = pattern(n), *gz = malloc(2 * n + 64);
	enum compression k;

	a = gzip_member(in, n / 3, gz, 2 * n);
	b = gzip_member(in + n / 3, n - n / 3, gz + a, 2 * n - a);
	memset(gz + a + b, 0, 32);  /* trailing zero padding is tolerated */
	CHECK_OK(decode_all(gz, a + b + 32, &out, &k, &e), &e);
	CHECK_INT(k, COMP_GZIP);
	CHECK_INT(out.len, n);
	CHECK(out.len == n && !memcmp(out.data, in, n));
	buf_reset(&out);
	/* truncated */
	CHECK_INT(decode_all(gz, a + b / 2, &out, &k, &e), -STRATA_EFORMAT);
	CHECK(strstr(e.msg, "truncated") != NULL);
	/* garbage after the member */
	buf_reset(&out);
	memcpy(gz + a, "garbage!", 8);
	CHECK_INT(decode_all(gz, a + 8, &out, &k, &e), -STRATA_EFORMAT);
	buf_release(&out);
	free(in);
	free(gz);
}

TEST(decode_zstd_xz)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct buf out = BUF_INIT(1 << 24);
	size_t n = 200000, zn, xn = 0;
	unsigned char *in = pattern(n), *z = malloc(ZSTD_compressBound(n) * 2), *x = malloc(n + 4096);
	enum compression k;

	zn = ZSTD_compress(z, ZSTD_compressBound(n), in, n, 3);
	/* two frames back to back */
	memcpy(z + zn, z, zn);
	CHECK_OK(decode_all(z, 2 * zn, &out, &k, &e), &e);
	CHECK_INT(k, COMP_ZSTD);
	CHECK_INT(out.len, 2 * n);
	buf_reset(&out);
	CHECK_INT(decode_all(z, zn - 10, &out, &k, &e), -STRATA_EFORMAT);
	buf_reset(&out);
	lzma_easy_buffer_encode(1, LZMA_CHECK_CRC64, NULL, in, n, x, &xn, n + 4096);
	CHECK_OK(decode_all(x, xn, &out, &k, &e), &e);
	CHECK_INT(k, COMP_XZ);
	CHECK(out.len == n && !memcmp(out.data, in, n));
	buf_reset(&out);
	CHECK_INT(decode_all(x, xn / 2, &out, &k, &e), -STRATA_EFORMAT);
	buf_release(&out);
	free(in);
	free(z);
	free(x);
}

TEST(decode_none_and_short)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct buf out = BUF_INIT(64);
	enum compression k;

	CHECK_OK(decode_all("{}", 2, &out, &k, &e), &e);
	CHECK_INT(k, COMP_NONE);
	CHECK_STR(out.data, "{}");
	buf_reset(&out);
	CHECK_OK(decode_all("", 0, &out, &k, &e), &e);
	CHECK_INT(out.len, 0);
	buf_release(&out);
}

TEST(decode_limit)
{
	struct strata_err e = STRATA_ERR_INIT;
	size_t n = 1 << 20, gn;
	unsigned char *in = calloc(1, n), *gz = malloc(n);
	struct stream *src, *dec;
	enum compression k;

	gn = gzip_member(in, n, gz, n);
	src = stream_mem_new(gz, gn, &e);
	dec = stream_decode_new(src, &e);
	stream_decode_limit(dec, 1000, 0);
	CHECK_OK(stream_decode_kind(dec, &k, &e), &e);
	CHECK_INT(stream_drain(dec, &e), -STRATA_EFORMAT);
	CHECK(strstr(e.msg, "passes the limit of 1000 bytes") != NULL);
	CHECK(strstr(e.msg, "--max-size") != NULL);
	stream_free(dec);
	stream_free(src);
	free(in);
	free(gz);
}

/* Zeros expand about 1000 times: a ratio bound below that stops them once
 * the grace has come out, one above lets them through. */
TEST(decode_ratio)
{
	struct strata_err e = STRATA_ERR_INIT;
	size_t n = 48u << 20, gn;
	unsigned char *in = calloc(1, n), *gz = malloc(n);
	struct stream *src, *dec;
	const uint8_t *p;
	size_t got;
	uint64_t out = 0;
	int r;

	gn = gzip_member(in, n, gz, n);
	src = stream_mem_new(gz, gn, &e);
	dec = stream_decode_new(src, &e);
	stream_decode_limit(dec, 0, 100);
	while ((r = stream_get(dec, &p, &got, SIZE_MAX, &e)) == 0 && got)
		out += got;
	CHECK_INT(r, -STRATA_EFORMAT);
	CHECK(strstr(e.msg, "likely a decompression bomb") != NULL);
	CHECK(strstr(e.msg, "--max-ratio") != NULL);
	CHECK(out >= LIMIT_RATIO_GRACE && out < LIMIT_RATIO_GRACE + (1u << 20));
	stream_free(dec);
	stream_free(src);
	src = stream_mem_new(gz, gn, &e);
	dec = stream_decode_new(src, &e);
	stream_decode_limit(dec, 0, 2000);
	CHECK_OK(stream_drain(dec, &e), &e);
	stream_free(dec);
	stream_free(src);
	free(in);
	free(gz);
}

TEST(tap_digest_and_capture)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct buf cap = BUF_INIT(4);
	struct stream *src = stream_mem_new("abc", 3, &e), *tap = stream_tap_new(src, DIGEST_SHA256, &e);
	char d[DIGEST_STR_MAX];
	uint64_t n;

	stream_tap_capture(tap, &cap);
	CHECK_OK(stream_drain(tap, &e), &e);
	stream_tap_result(tap, d, &n);
	CHECK_STR(d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	CHECK_INT(n, 3);
	CHECK_STR(cap.data, "abc");
	CHECK(!stream_tap_capture_overflow(tap));
	buf_release(&cap);
	stream_free(tap);
	stream_free(src);
}

TEST(stream_peek_coalesces)
{
	struct strata_err e = STRATA_ERR_INIT;
	static const char data[] = "0123456789abcdefghij";
	struct stream *src = stream_mem_new(data, 20, &e), *tap = stream_tap_new(src, DIGEST_SHA256, &e);
	struct stream *dec = stream_decode_new(tap, &e);
	const uint8_t *p;
	size_t n;
	char got[32];
	enum compression k;

	CHECK_OK(stream_decode_kind(dec, &k, &e), &e);
	/* the decoder hands out the 6 sniffed bytes first, then the rest: peek joins them */
	CHECK_OK(stream_peek(dec, 10, &p, &n, &e), &e);
	CHECK_INT(n, 10);
	CHECK(!memcmp(p, data, 10));
	CHECK_OK(stream_read(dec, got, 20, &n, &e), &e);
	CHECK_INT(n, 20);
	CHECK(!memcmp(got, data, 20));
	CHECK_OK(stream_peek(dec, 4, &p, &n, &e), &e);
	CHECK_INT(n, 0);
	stream_free(dec);
	stream_free(tap);
	stream_free(src);
}
