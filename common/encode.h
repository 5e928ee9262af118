/*
 * encode.h - compression encoders for re-compressed layers (push model).
 *
 * gzip is written the way pigz writes it: the input is cut into fixed
 * 128 KiB blocks, each deflated independently (primed with the 32 KiB before
 * it as a dictionary) and ended with a sync flush, the last one with finish;
 * the blocks are concatenated into ONE gzip member with the combined CRC.
 * Because each block's output depends only on its input and dictionary, the
 * result is byte-identical for any number of threads, and blocks compress
 * in parallel.  The header is fixed (no name, MTIME 0, OS 255) so the same
 * layer always gets the same digest.  Levels 1-3 use ISA-L's igzip, 4-9
 * zlib; blocks that do not compress are stored.  zstd is single-threaded
 * libzstd; xz (for rootfs tarballs, never layers) is liblzma's easy encoder.
 *
 * Memory is bounded: at most 2 x threads blocks are in flight.
 */
#ifndef STRATA_ENCODE_H
#define STRATA_ENCODE_H

#include <stddef.h>
#include <stdint.h>
#include "err.h"
#include "stream.h"

/* Receives compressed output, in order. */
typedef int (*encode_out_fn)(void *ctx, const uint8_t *p, size_t n, struct strata_err *e);

struct encoder;

/* kind: COMP_GZIP (level 1-9; 1-3 igzip, 4-9 zlib), COMP_ZSTD (level 1-19) or COMP_XZ
 * (preset 0-9, single-threaded); threads >= 1 (gzip only). */
int encoder_new(struct encoder **out, enum compression kind, int level, int threads, encode_out_fn fn, void *ctx,
		struct strata_err *e);
int encoder_write(struct encoder *enc, const uint8_t *p, size_t n, struct strata_err *e);
/* Flush everything and write the trailer; the encoder can then only be freed. */
int encoder_finish(struct encoder *enc, struct strata_err *e);
void encoder_free(struct encoder *enc);

#endif
