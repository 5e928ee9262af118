/*
 * stream.h - pull streams: the stages every blob byte flows through.
 *
 *   source (fd, memory, tar member) -> tap (digest + count) -> decode -> tap -> consumer
 *
 * A stage pulls blocks from the stage before it (`up`, not owned) and hands
 * out blocks of its own.  Blocks are zero-copy where the stage does not
 * transform data: a tap returns the very block it was given.  A block pointer
 * stays valid until the next call on the same stream.
 *
 * Consumers use stream_get() (up to `max` bytes of the next block),
 * stream_read() (exactly n bytes, copied) and stream_skip().  The unconsumed
 * rest of a block stays in the stream, so a consumer may take a 512-byte tar
 * header and then the data after it without copying the data.
 *
 * Errors: every call returns 0 or a negative STRATA_E* code with `e` filled.
 * A stream that failed stays failed: its stage is not called again, every
 * later call gives the same error.  stream_free() frees one stage only.
 */
#ifndef STRATA_STREAM_H
#define STRATA_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "digest.h"
#include "err.h"

struct stream;

struct stream_ops {
	const char *name;
	/* Next block: 0 with *n > 0, or 0 with *n == 0 at end of stream. */
	int (*next)(struct stream *s, const uint8_t **p, size_t *n, struct strata_err *e);
	void (*free)(struct stream *s);
};

struct stream {
	const struct stream_ops *ops;
	struct stream *up;        /* the stage pulled from; NULL for a source */
	const uint8_t *cur;       /* unconsumed part of the last block */
	size_t cur_len;
	uint64_t pos;             /* bytes handed to the consumer so far */
	bool eof;
	/* stream_peek() support: bytes coalesced from several blocks, and the
	 * rest of the last block fetched, served after them. */
	uint8_t *peek;
	const uint8_t *rest;
	size_t rest_len;
	struct strata_err fail;   /* the first error of next(), given again after it */
};

/* Up to max bytes (zero-copy); *n == 0 only at end of stream. */
int stream_get(struct stream *s, const uint8_t **p, size_t *n, size_t max, struct strata_err *e);
/* Exactly n bytes into dst; *got < n only at end of stream. */
int stream_read(struct stream *s, void *dst, size_t n, size_t *got, struct strata_err *e);
/* Skip n bytes; fewer only at end of stream (*skipped tells). */
int stream_skip(struct stream *s, uint64_t n, uint64_t *skipped, struct strata_err *e);
/* Look at the next `want` bytes without consuming them (fewer only at end
 * of stream); coalesces short blocks.  *p is valid until the next call. */
int stream_peek(struct stream *s, size_t want, const uint8_t **p, size_t *n, struct strata_err *e);
/* Read and discard everything up to the end of the stream. */
int stream_drain(struct stream *s, struct strata_err *e);
void stream_free(struct stream *s);

/* Sources.  fd: read(2) in blocks of bufsize; the fd is not closed. */
struct stream *stream_fd_new(int fd, size_t bufsize, struct strata_err *e);
/* Read only len bytes from offset off (pread; the fd's position is not used). */
void stream_fd_range(struct stream *s, uint64_t off, uint64_t len);
/* Report progress: fn(ctx, bytes read so far) after every read of an fd source. */
typedef void (*stream_progress_fn)(void *ctx, uint64_t bytes);
void stream_fd_progress(struct stream *s, stream_progress_fn fn, void *ctx, uint64_t base);
/* mem: the bytes must outlive the stream. */
struct stream *stream_mem_new(const void *p, size_t n, struct strata_err *e);

/*
 * Tap: passes blocks through unchanged, hashing and counting them.  A tap can
 * be switched off (stream_tap_enable(s, false)) and then only counts, and it
 * can copy what it sees into a capped buffer (capture overflow is recorded,
 * not an error: the stream goes on).
 */
struct stream *stream_tap_new(struct stream *up, enum digest_alg alg, struct strata_err *e);
void stream_tap_enable(struct stream *s, bool on);
void stream_tap_capture(struct stream *s, struct buf *b);
/* Also hand every block to fn (a writer); an error from fn fails the stream. */
typedef int (*stream_tee_fn)(void *ctx, const uint8_t *p, size_t n, struct strata_err *e);
void stream_tap_tee(struct stream *s, stream_tee_fn fn, void *ctx);
bool stream_tap_capture_overflow(const struct stream *s);
/* Digest of everything that passed (call once, at end). */
void stream_tap_result(struct stream *s, char digest[DIGEST_STR_MAX], uint64_t *count);

/*
 * Decode: sniffs the compression of `up` by magic bytes (never by a media
 * type) and decompresses: gzip (all members, as pigz and eStargz write),
 * zstd (all frames, skippable frames skipped), xz, bzip2; anything else
 * passes through as "none".  Output is bounded by a size limit when set.
 */
enum compression { COMP_NONE, COMP_GZIP, COMP_ZSTD, COMP_XZ, COMP_BZIP2 };

struct stream *stream_decode_new(struct stream *up, struct strata_err *e);
/* Look at the first bytes and tell the compression (consumes nothing). */
int stream_decode_kind(struct stream *s, enum compression *kind, struct strata_err *e);
/* The first bytes of the data (up to 6), valid after stream_decode_kind(). */
void stream_decode_head(struct stream *s, const uint8_t **p, size_t *n);
/* Fail (STRATA_EFORMAT) once output passes max_out bytes, and once output
 * past LIMIT_RATIO_GRACE (limits.h) is more than max_ratio times the input
 * consumed so far ("likely a decompression bomb"); 0 = no bound. */
void stream_decode_limit(struct stream *s, uint64_t max_out, uint64_t max_ratio);
/* Context put before the decoder's messages from now on ("compressed
 * archive, at member 'x'"); copied. */
void stream_decode_where(struct stream *s, const char *where);
const char *compression_name(enum compression c);
/* Sniff a compression from the first bytes of data (n may be short). */
enum compression compression_sniff(const uint8_t *p, size_t n);

#endif
