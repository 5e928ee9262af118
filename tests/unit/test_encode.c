/* Unit tests of the encoders: reproducible parallel gzip, zstd round trip. */
#include <stdlib.h>
#include <zlib.h>

#include "common/encode.h"
#include "tests/unit/unit.h"

static int to_buf(void *ctx, const uint8_t *p, size_t n, struct strata_err *e)
{
	return buf_add(ctx, p, n, e);
}

/* Encode `in` in odd-sized writes; returns the output. */
static void encode(enum compression k, int level, int threads, const uint8_t *in, size_t n, struct buf *out)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct encoder *enc;
	size_t off = 0, step = 70001;

	CHECK_OK(encoder_new(&enc, k, level, threads, to_buf, out, &e), &e);
	while (off < n) {
		size_t take = n - off < step ? n - off : step;

		CHECK_OK(encoder_write(enc, in + off, take, &e), &e);
		off += take;
	}
	CHECK_OK(encoder_finish(enc, &e), &e);
	encoder_free(enc);
}

static uint8_t *mixed(size_t n)
{
	uint8_t *p = malloc(n);
	uint32_t x = 12345;
	size_t i;

	for (i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		/* half text-like, half noise, so blocks compress differently */
		p[i] = (i / 65536) % 2 ? (uint8_t)(x >> 16) : (uint8_t)("the quick brown fox "[i % 20]);
	}
	return p;
}

static void check_gunzip(const struct buf *gz, const uint8_t *want, size_t n)
{
	z_stream z = { 0 };
	uint8_t *out = malloc(n + 1);

	inflateInit2(&z, 31);
	z.next_in = (Bytef *)gz->data;
	z.avail_in = (uInt)gz->len;
	z.next_out = out;
	z.avail_out = (uInt)n + 1;
	/* members: one per run of like 64 KiB sub-blocks of each 1 MiB block */
	do {
		CHECK_INT(inflate(&z, Z_FINISH), Z_STREAM_END);
		if (z.avail_in)
			inflateReset(&z);
	} while (z.avail_in && z.next_in[0] == 0x1f);
	CHECK_INT((size_t)(z.next_out - out), n);
	CHECK(!memcmp(out, want, n));
	CHECK_INT(z.avail_in, 0);
	inflateEnd(&z);
	free(out);
}

static void same_bytes_any_threads(int level)
{
	size_t n = 3 * 1024 * 1024 + 777;
	uint8_t *in = mixed(n);
	struct buf a = BUF_INIT(8u << 20), b = BUF_INIT(8u << 20), c = BUF_INIT(8u << 20);

	encode(COMP_GZIP, level, 1, in, n, &a);
	encode(COMP_GZIP, level, 2, in, n, &b);
	encode(COMP_GZIP, level, 5, in, n, &c);
	CHECK(a.len == b.len && !memcmp(a.data, b.data, a.len));
	CHECK(a.len == c.len && !memcmp(a.data, c.data, a.len));
	/* fixed header: no name, MTIME 0, OS 255 */
	CHECK(a.len > 10 && !memcmp(a.data, "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10));
	check_gunzip(&a, in, n);
	buf_release(&a);
	buf_release(&b);
	buf_release(&c);
	free(in);
}

TEST(gzip_same_bytes_any_threads)
{
	same_bytes_any_threads(0);  /* the default: levels 1 and 2 by content */
	same_bytes_any_threads(1);
	same_bytes_any_threads(3);
	same_bytes_any_threads(6);
}

TEST(gzip_empty_and_exact_block)
{
	size_t blk = 1024 * 1024;
	struct buf a = BUF_INIT(1u << 20), b = BUF_INIT(4u << 20);
	uint8_t *in = mixed(2 * blk);

	encode(COMP_GZIP, 3, 2, in, 0, &a);
	check_gunzip(&a, in, 0);
	encode(COMP_GZIP, 3, 2, in, blk, &b);
	check_gunzip(&b, in, blk);
	buf_reset(&b);
	encode(COMP_GZIP, 3, 2, in, 2 * blk, &b);
	check_gunzip(&b, in, 2 * blk);
	buf_release(&a);
	buf_release(&b);
	free(in);
}

/* Noise is stored, not deflated: at most 5 bytes a 64 KiB plus 18 a member. */
TEST(gzip_incompressible_stored)
{
	size_t n = 2 * 1024 * 1024, i;
	uint8_t *in = malloc(n);
	uint32_t x = 7;
	struct buf a = BUF_INIT(4u << 20);

	for (i = 0; i < n; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		in[i] = (uint8_t)x;
	}
	encode(COMP_GZIP, 6, 2, in, n, &a);
	CHECK(a.len <= n + 5 * (n / 65535 + 2) + 2 * 18);
	check_gunzip(&a, in, n);
	buf_reset(&a);
	encode(COMP_GZIP, 0, 2, in, n, &a);
	CHECK(a.len <= n + 5 * (n / 65535 + 2) + 2 * 18);
	check_gunzip(&a, in, n);
	buf_release(&a);
	free(in);
	/* text and noise alternating every 64 KiB: the noise is stored, the
	 * text compressed, each a member of its own */
	in = mixed(n);
	a = (struct buf)BUF_INIT(4u << 20);
	encode(COMP_GZIP, 0, 2, in, n, &a);
	CHECK(a.len >= n / 2 && a.len < n / 2 + n / 64);
	check_gunzip(&a, in, n);
	buf_release(&a);
	free(in);
}

/* zstd: the same frame whatever the thread count asked for. */
TEST(zstd_same_bytes_any_threads)
{
	size_t n = 24 * 1024 * 1024;
	uint8_t *in = mixed(n);
	struct buf a = BUF_INIT(32u << 20), b = BUF_INIT(32u << 20), c = BUF_INIT(32u << 20);

	encode(COMP_ZSTD, 1, 1, in, n, &a);
	encode(COMP_ZSTD, 1, 2, in, n, &b);
	encode(COMP_ZSTD, 1, 5, in, n, &c);
	CHECK(a.len == b.len && !memcmp(a.data, b.data, a.len));
	CHECK(a.len == c.len && !memcmp(a.data, c.data, a.len));
	buf_release(&a);
	buf_release(&b);
	buf_release(&c);
	free(in);
}

TEST(zstd_round_trip)
{
	struct strata_err e = STRATA_ERR_INIT;
	size_t n = 1 << 20;
	uint8_t *in = mixed(n);
	struct buf z = BUF_INIT(4u << 20), out = BUF_INIT(4u << 20);
	struct stream *src, *dec;
	const uint8_t *p;
	size_t k;
	enum compression kind;

	encode(COMP_ZSTD, 3, 1, in, n, &z);
	src = stream_mem_new(z.data, z.len, &e);
	dec = stream_decode_new(src, &e);
	CHECK_OK(stream_decode_kind(dec, &kind, &e), &e);
	CHECK_INT(kind, COMP_ZSTD);
	while (stream_get(dec, &p, &k, SIZE_MAX, &e) == 0 && k)
		buf_add(&out, p, k, &e);
	CHECK(out.len == n && !memcmp(out.data, in, n));
	stream_free(dec);
	stream_free(src);
	buf_release(&z);
	buf_release(&out);
	free(in);
}
