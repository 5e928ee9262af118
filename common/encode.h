/*
 * encode.h - compression encoders for re-compressed layers (push model).
 *
 * gzip: the input is cut into fixed 1 MiB blocks, each compressed on its
 * own by libdeflate (level 1-9) into ONE gzip member with a fixed header (no
 * name, MTIME 0, OS 255); the members are concatenated (a multi-member gzip,
 * as eStargz and bgzip write, read by every gzip reader).  A block's member
 * depends only on its bytes, and libdeflate's compressor does not dispatch
 * on CPU features, so the output is the same for any thread count and any
 * CPU (tests/repro).  Blocks whose byte histogram is flat are stored.
 * zstd is libzstd's multithreaded mode (1 or 2 workers, 2 MiB jobs with
 * full-window overlap), whose frame does not depend on the worker count;
 * xz (for rootfs tarballs, never layers) is liblzma's single-threaded
 * easy encoder.
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

/* kind: COMP_GZIP (level 1-9, libdeflate's), COMP_ZSTD (level 1-19) or COMP_XZ
 * (preset 0-9, single-threaded); threads >= 1 (gzip; zstd: 1 or 2 workers). */
int encoder_new(struct encoder **out, enum compression kind, int level, int threads, encode_out_fn fn, void *ctx,
		struct strata_err *e);
int encoder_write(struct encoder *enc, const uint8_t *p, size_t n, struct strata_err *e);
/* Flush everything and write the trailer; the encoder can then only be freed. */
int encoder_finish(struct encoder *enc, struct strata_err *e);
void encoder_free(struct encoder *enc);

#endif
