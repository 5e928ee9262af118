/*
 * bench/encfloor.c - strata's layer encoder alone: no tar to read, no
 * digest, nothing written.  How fast `convert --gzip` / `--zstd` could be
 * if everything around the encoder cost nothing (run-gzip.sh's "floor"
 * rows; bench/README.md).
 *
 *   make build/encfloor
 *   build/encfloor gzip|zstd FILE [LEVEL [THREADS]]
 *
 * The file is read into memory first, then given to the encoder in 256 KiB
 * pieces (as the scan hands a layer to it) with LEVEL (gzip: 0, by
 * content, the default; zstd: 3) and THREADS (default: all cores, as the
 * CLI).  Prints the input and output bytes and the encoding's wall time;
 * run it under /usr/bin/time for its CPU time.  Not part of strata.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/encode.h"

static int count(void *ctx, const uint8_t *p, size_t n, struct strata_err *e)
{
	(void)p;
	(void)e;
	*(uint64_t *)ctx += n;
	return 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct encoder *enc = NULL;
	enum compression kind;
	uint64_t out = 0;
	struct stat st;
	const uint8_t *p;
	size_t off, n;
	double t0;
	int fd, level, threads;

	if (argc < 3 || (strcmp(argv[1], "gzip") && strcmp(argv[1], "zstd"))) {
		fprintf(stderr, "usage: encfloor gzip|zstd FILE [LEVEL [THREADS]]\n");
		return 2;
	}
	kind = !strcmp(argv[1], "gzip") ? COMP_GZIP : COMP_ZSTD;
	level = argc > 3 ? atoi(argv[3]) : kind == COMP_GZIP ? 0 : 3;
	threads = argc > 4 ? atoi(argv[4]) : (int)sysconf(_SC_NPROCESSORS_ONLN);
	if ((fd = open(argv[2], O_RDONLY)) < 0 || fstat(fd, &st) < 0) {
		perror(argv[2]);
		return 1;
	}
	n = (size_t)st.st_size;
	p = n ? mmap(NULL, n, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0) : NULL;
	if (n && p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	t0 = now();
	if (encoder_new(&enc, kind, level, threads < 1 ? 1 : threads, count, &out, &e) < 0)
		goto fail;
	for (off = 0; off < n; off += 256u << 10)
		if (encoder_write(enc, p + off, n - off < (256u << 10) ? n - off : 256u << 10, &e) < 0)
			goto fail;
	if (encoder_finish(enc, &e) < 0)
		goto fail;
	printf("%s level %d threads %d: %zu -> %llu bytes in %.3f s\n", argv[1], level, threads, n,
	       (unsigned long long)out, now() - t0);
	encoder_free(enc);
	return 0;
fail:
	fprintf(stderr, "encfloor: %s\n", e.msg);
	encoder_free(enc);
	return 1;
}
