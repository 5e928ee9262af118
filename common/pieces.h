/*
 * pieces.h - an archive cut into pieces for removable media (convert
 * --split SIZE): OUT.000, OUT.001, ... whose concatenation is the archive,
 * byte for byte.
 *
 * Writing: the archive is written as a stream into a pipe; a thread cuts it
 * into pieces of exactly SIZE bytes (the last one shorter), hashing each
 * piece and the whole as it goes, under temp names beside OUT.  Nothing is
 * renamed before pieces_writer_commit(); pieces_writer_free() removes what
 * was not committed.  There is never a whole OUT on disk.
 *
 * Reading: a source stream concatenating the pieces in one pass.  When the
 * set is checked (sizes and sha256s from a transfer manifest), every piece
 * is stat'ed before the first byte is handed out (missing or wrong size:
 * fail), and each piece's sha256 is compared at its end: the stream fails
 * (STRATA_EVERIFY, naming the piece and its expected digest) before a byte
 * of the next piece is handed out, so no reader finishes on bytes that did
 * not match.  The sha256s are computed on a second thread from read-only
 * mappings of the pieces (so the extra hash costs the reading thread
 * nothing); the stream installs a SIGBUS handler that acts only on that
 * thread, so a piece truncated while mapped fails as truncated.
 */
#ifndef STRATA_PIECES_H
#define STRATA_PIECES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "digest.h"
#include "err.h"
#include "stream.h"

#define PIECES_MAX 1000          /* OUT.000 ... OUT.999 */
#define PIECES_MIN_SIZE 4096     /* --split below this is a usage error */

struct piece {
	char *path;                  /* as opened (relative to the cwd) */
	uint64_t size;
	char hex[65];                /* sha256, lowercase hex ("" unknown) */
};

struct pieces {
	struct piece *v;
	size_t len;
	char *name;                  /* the joined archive's path, for messages */
	uint64_t size;               /* the joined archive, when known */
	char hex[65];
	bool checked;                /* sizes and digests known (a manifest listed them) */
};

void pieces_release(struct pieces *p);
int pieces_add(struct pieces *p, const char *path, uint64_t size, const char *hex, struct strata_err *e);
/* "OUT.%03zu" for piece i of out (malloc'd). */
char *pieces_name(const char *out, size_t i);

/* A size: digits with an optional K, M, G or T (binary: 1K = 1024; a
 * trailing "B" or "iB" is accepted: 4G, 4GB, 4GiB).  -1 on anything else,
 * on 0 and on overflow. */
int pieces_parse_size(const char *s, uint64_t *out);

/* ---- writing ---- */
struct pieces_writer;

/* Pieces of piece_size bytes of out; *fd is where to write the archive
 * (owned by the writer; a stream, not seekable). */
int pieces_writer_open(struct pieces_writer **w, const char *out, uint64_t piece_size, int *fd, struct strata_err *e);
/* End of the archive: wait for the last piece; res gets the pieces (final
 * names, sizes, sha256s) and the whole. */
int pieces_writer_finish(struct pieces_writer *w, struct pieces *res, struct strata_err *e);
/* Rename every piece into place, and remove stale pieces of an earlier
 * run that continue the sequence (OUT.NNN past the last one). */
int pieces_writer_commit(struct pieces_writer *w, struct strata_err *e);
/* After the run failed: when the cutting thread failed first (no space, more
 * than PIECES_MAX pieces), its error replaces e (the writer only saw a broken
 * pipe).  Waits for the thread; call it once nothing writes into fd any more. */
void pieces_writer_reason(struct pieces_writer *w, struct strata_err *e);
/* keep false: remove what this run wrote (temp files, or the pieces it
 * committed); then free. */
void pieces_writer_free(struct pieces_writer *w, bool keep);

/* ---- reading ---- */

/* One stream over the pieces (p must outlive it).  Fails at once when a
 * checked piece is missing or of the wrong size. */
struct stream *pieces_stream_new(const struct pieces *p, struct strata_err *e);
void pieces_stream_progress(struct stream *s, stream_progress_fn fn, void *ctx);
/* Checked pieces read to their end and matched, so far. */
size_t pieces_stream_verified(const struct stream *s);

/* Check every piece of a checked set (stat, then hash): fn is called once
 * per problem (i: the piece, msg: what is wrong); returns the number of
 * problems, or <0 for an error reading (e). */
/* sha256 of len bytes at off (a multiple of the page size) of fd, through a
 * mapping: 0, 1 when the file ended inside the range (SIGBUS, caught), -1
 * when fd cannot be mapped (errno).  The checker's; exposed for tests. */
int pieces_hash_window(struct digest_ctx *d, int fd, uint64_t off, size_t len);

typedef void (*pieces_problem_fn)(void *ctx, size_t i, const char *msg);
int pieces_check_all(const struct pieces *p, pieces_problem_fn fn, void *ctx, struct strata_err *e);

#endif
