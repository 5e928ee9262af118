/*
 * encode.h - compression encoders for re-compressed layers (push model).
 *
 * gzip: the input is cut into fixed 1 MiB blocks, each compressed on its
 * own by libdeflate into gzip members with a fixed header (no name, MTIME 0,
 * OS 255), one per run of like 64 KiB sub-blocks: random-looking ones (a
 * flat byte histogram) stored, the others compressed at the level asked
 * (1-9), or at level 0 (the default) at level 1 where the histogram looks
 * like binaries and 2 where it looks like text.  The members are
 * concatenated (a multi-member gzip, as eStargz and bgzip write, read by
 * every gzip reader).  A block's members depend only on its bytes (the
 * choices are integer arithmetic on its histograms), and libdeflate's
 * compressor does not dispatch on CPU features, so the output is the same
 * for any thread count and any CPU (tests/repro).
 * zstd is libzstd's multithreaded mode (1 or 2 workers, 4 MiB jobs each
 * primed with the 4 MiB before it, a window of at least 8 MiB), whose frame
 * does not depend on the worker count;
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

/* kind: COMP_GZIP (level 1-9, libdeflate's, or 0: by content), COMP_ZSTD (level 1-19) or COMP_XZ
 * (preset 0-9, single-threaded); threads >= 1 (gzip; zstd: 1 or 2 workers). */
int encoder_new(struct encoder **out, enum compression kind, int level, int threads, encode_out_fn fn, void *ctx,
		struct strata_err *e);
int encoder_write(struct encoder *enc, const uint8_t *p, size_t n, struct strata_err *e);
/* Flush everything and write the trailer; the encoder can then only be freed. */
int encoder_finish(struct encoder *enc, struct strata_err *e);
void encoder_free(struct encoder *enc);

#endif
