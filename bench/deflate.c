/*
 * bench/deflate.c - the deflate backends measured on the same bytes, single
 * thread, the way strata's gzip encoder uses them: 128 KiB blocks, each
 * primed with the 32 KiB before it (where the library can), sync-flushed.
 *
 *   cc -O2 -o build/deflate-bench bench/deflate.c -lz -ldeflate -lisal
 *   build/deflate-bench FILE
 *
 * Prints, per backend and level: seconds, MB/s, and output size relative to
 * zlib -6.  Not part of strata; it is how the backend was chosen (README).
 */
#include <isa-l/igzip_lib.h>
#include <libdeflate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#define BLOCK (128 * 1024)
#define DICT (32 * 1024)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t run_zlib(const unsigned char *in, size_t n, unsigned char *out, int level)
{
	z_stream z = { 0 };
	size_t off, total = 0;

	deflateInit2(&z, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
	for (off = 0; off < n; off += BLOCK) {
		size_t len = n - off < BLOCK ? n - off : BLOCK;

		deflateReset(&z);
		if (off)
			deflateSetDictionary(&z, in + off - DICT, DICT);
		z.next_in = (Bytef *)in + off;
		z.avail_in = (uInt)len;
		z.next_out = out;
		z.avail_out = BLOCK * 2;
		deflate(&z, off + len == n ? Z_FINISH : Z_SYNC_FLUSH);
		total += BLOCK * 2 - z.avail_out;
	}
	deflateEnd(&z);
	return total;
}

static size_t run_libdeflate(const unsigned char *in, size_t n, unsigned char *out, int level)
{
	struct libdeflate_compressor *c = libdeflate_alloc_compressor(level);
	size_t off, total = 0;

	/* whole-buffer only, no preset dictionary: each block stands alone */
	for (off = 0; off < n; off += BLOCK) {
		size_t len = n - off < BLOCK ? n - off : BLOCK;

		total += libdeflate_deflate_compress(c, in + off, len, out, BLOCK * 2);
	}
	libdeflate_free_compressor(c);
	return total;
}

static size_t run_isal(const unsigned char *in, size_t n, unsigned char *out, int level)
{
	static const size_t lvl_size[] = { ISAL_DEF_LVL0_DEFAULT, ISAL_DEF_LVL1_DEFAULT, ISAL_DEF_LVL2_DEFAULT,
					   ISAL_DEF_LVL3_DEFAULT };
	struct isal_zstream z;
	unsigned char *lb = malloc(lvl_size[level]);
	size_t off, total = 0;

	for (off = 0; off < n; off += BLOCK) {
		size_t len = n - off < BLOCK ? n - off : BLOCK;

		isal_deflate_init(&z);
		z.level = (uint32_t)level;
		z.level_buf = lb;
		z.level_buf_size = (uint32_t)lvl_size[level];
		if (off)
			isal_deflate_set_dict(&z, (uint8_t *)in + off - DICT, DICT);
		z.next_in = (uint8_t *)in + off;
		z.avail_in = (uint32_t)len;
		z.next_out = out;
		z.avail_out = BLOCK * 2;
		z.flush = SYNC_FLUSH;
		z.end_of_stream = off + len == n;
		isal_deflate(&z);
		total += BLOCK * 2 - z.avail_out;
	}
	free(lb);
	return total;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		size_t (*fn)(const unsigned char *, size_t, unsigned char *, int);
		int level;
	} runs[] = {
		{ "zlib", run_zlib, 6 }, { "zlib", run_zlib, 1 },
		{ "libdeflate", run_libdeflate, 6 }, { "libdeflate", run_libdeflate, 1 },
		{ "isal", run_isal, 1 }, { "isal", run_isal, 2 }, { "isal", run_isal, 3 },
	};
	unsigned char *in, *out = malloc(BLOCK * 2);
	size_t n, i, base = 0;
	FILE *f;

	if (argc != 2 || !(f = fopen(argv[1], "rb")))
		return fprintf(stderr, "usage: deflate-bench FILE\n"), 2;
	fseek(f, 0, SEEK_END);
	n = (size_t)ftell(f);
	rewind(f);
	in = malloc(n);
	if (fread(in, 1, n, f) != n)
		return 3;
	fclose(f);
	printf("%-11s %5s %8s %9s %12s %9s\n", "backend", "level", "seconds", "MB/s", "bytes", "vs zlib-6");
	for (i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		double t = now();
		size_t sz = runs[i].fn(in, n, out, runs[i].level);

		t = now() - t;
		if (!base)
			base = sz;
		printf("%-11s %5d %8.2f %9.0f %12zu %+8.2f%%\n", runs[i].name, runs[i].level, t, (double)n / t / 1e6, sz,
		       100.0 * ((double)sz / (double)base - 1));
	}
	return 0;
}
