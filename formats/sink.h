/*
 * sink.h - where converted images are written: a content-addressed blob
 * store plus a few named files, as a directory (oci:DIR) or as a tar
 * (oci-archive:, docker-archive:, a file or "-" for stdout).
 *
 * Blobs are streamed in: the sink hashes what it is given and names the
 * blob blobs/sha256/<hex> when it is committed; a blob already present is
 * not stored twice.  A tar file gets each member's header written last, in
 * place (it is seekable); stdout gets a blob's header first when its digest
 * and size are known in advance, otherwise the blob is spooled to one temp
 * file and then copied (temp space: one blob at most).
 *
 * Atomicity: a new directory is built under a temp name beside DIR and
 * renamed at sink_finish(); in an existing OCI layout new blobs are added
 * under temp names and renamed, index.json replaced atomically, and
 * sink_abort() removes every blob this run added.  A tar file is written to
 * a temp name and renamed at the end.  Until sink_finish() succeeds the
 * destination is as it was.
 */
#ifndef STRATA_SINK_H
#define STRATA_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/digest.h"
#include "common/err.h"

struct sink;
struct sink_blob;

/* The sink names blobs by sha256 only: a blob or document named by another
 * algorithm (sha512, which the readers verify) is refused, exit 4. */
#define SINK_SHA256_ONLY \
	"only sha256 blobs can be written: convert does not re-address sha512 ones (verify, inspect, flatten " \
	"and unpack read them)"

/* oci:DIR.  An existing DIR must be an OCI layout (its index.json, at most
 * max_index bytes (the JSON document limit; 0: LIMIT_MAX_JSON), is returned
 * through sink_existing_index() so images can be added to it). */
int sink_open_dir(struct sink **s, const char *dir, uint64_t max_index, struct strata_err *e);
/* A tar at path, or "-" for stdout.  An existing character device or FIFO is
 * written as a stream, like stdout; a symlink only when it resolves to a
 * regular file; nothing but a regular file is ever replaced (output_resolve). */
int sink_open_tar(struct sink **s, const char *path, struct strata_err *e);

/* A tar written as a stream into fd (not closed: the caller's), as into
 * stdout; name is for messages.  convert --split writes into its pieces so. */
int sink_open_stream(struct sink **s, int fd, const char *name, struct strata_err *e);

/* Make every file durable (fsync before each rename, and the directory
 * after) instead of only atomic; off by default, as cp, tar and skopeo. */
void sink_set_sync(struct sink *s, bool on);

/* Raw bytes of the existing index.json of an OCI layout being added to, or NULL. */
const char *sink_existing_index(const struct sink *s, size_t *len);

/* Stream a blob in.  expect_digest/expect_size may be NULL/-1 (unknown).
 * hash: the sink computes the digest itself; without it the caller, which
 * hashed the same bytes already, gives the digest to sink_blob_commit(). */
int sink_blob_begin(struct sink *s, struct sink_blob **b, const char *expect_digest, int64_t expect_size, bool hash,
		    struct strata_err *e);
int sink_blob_write(struct sink_blob *b, const void *p, size_t n, struct strata_err *e);
/* The blob's bytes are len bytes of the plain file fd at off, said once,
 * right after sink_blob_begin() and before any sink_blob_write(): copied in the
 * kernel on the writer thread (to stdout or a FIFO without a known digest,
 * at sink_blob_commit(), instead of a spool file); fd stays open and
 * unchanged until the commit or abort.  Returns 1 when done so, 0 when this
 * sink cannot (a duplicate to stdout): then write the bytes with
 * sink_blob_write(). */
int sink_blob_copy(struct sink_blob *b, int fd, uint64_t off, uint64_t len, struct strata_err *e);
/* Name it by its digest and store it; fails if an expected digest or size
 * differs.  known: the digest when the sink was told not to hash, else NULL.
 * The digest is returned in digest. */
int sink_blob_commit(struct sink_blob *b, const char *known, char digest[DIGEST_STR_MAX], uint64_t *size,
		     struct strata_err *e);
void sink_blob_abort(struct sink_blob *b);
/* A whole blob from memory (configs, manifests); digest returned. */
int sink_put_blob(struct sink *s, const void *p, size_t n, char digest[DIGEST_STR_MAX], struct strata_err *e);
bool sink_has_blob(const struct sink *s, const char *digest);

/* A named file at the top (index.json, oci-layout, manifest.json, repositories). */
int sink_file(struct sink *s, const char *name, const void *p, size_t n, struct strata_err *e);

int sink_finish(struct sink *s, struct strata_err *e);
/* Remove everything this run wrote; frees the sink. */
void sink_abort(struct sink *s);
void sink_free(struct sink *s);

#endif
