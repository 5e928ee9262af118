/*
 * delta.h - deltas between the two sides of an air gap (convert
 * --exclude-blobs, --blobs-from; inspect --blobs; verify of a delta).
 *
 * The far side lists the blobs it holds (`strata inspect --blobs FAR`, one
 * "sha256:<hex>" a line).  The near side converts with --exclude-blobs LIST
 * (or a source): every index, manifest and config is written, but no layer
 * whose stored bytes are in LIST; those are listed in the transfer manifest
 * as "expected":[{"digest","size"}...].  The far side completes the images
 * with --blobs-from BASE: what the delta lacks is copied from BASE, each
 * blob verified by its digest on the way; nothing is written unless every
 * blob was found.
 */
#ifndef STRATA_DELTA_H
#define STRATA_DELTA_H

#include <stdbool.h>
#include "common/diag.h"
#include "common/strmap.h"
#include "formats/image.h"
#include "formats/sink.h"

/* Add every blob digest s holds (proven: its bytes hash to it) to set
 * (value: size + 1). */
int delta_source_blobs(const struct source *s, struct strmap *set, struct strata_err *e);

/* Is path a text file of digests (not an archive or a layout)? */
bool delta_is_digest_list(const char *path);

/* --exclude-blobs BASE: a digest list or any source strata reads; its
 * digests go to set.  One error line naming BASE when it cannot be read. */
int delta_load_exclude(const char *base, const struct limits *lim, struct strmap *set, struct strata_err *e);

/* Take the missing-blob problems recorded in d from index `from` on out of
 * it (a delta lacks them on purpose, or --blobs-from brings them): only
 * those of a layer of s that s lacks (never a manifest or config), and whose
 * digest is in only (when not NULL).  Their digests go to taken when not
 * NULL.  Returns how many were taken. */
size_t delta_take_missing(struct diag *d, size_t from, const struct source *s, const struct strmap *only,
			  struct strmap *taken);

/* The "expected" array of a transfer manifest for the digests of set
 * (value: size + 1), sorted. */
cJSON *delta_expected_json(const struct strmap *set);
/* The "expected" digests of the transfer manifest at mpath into set; 0 also
 * when there is no such file (set stays empty). */
int delta_expected_read(const char *mpath, struct strmap *set, struct strata_err *e);

/* --blobs-from: the blobs need lists (value: size + 1, or 0 when unknown)
 * that are not in the sink yet are taken from the bases (OCI layouts or
 * archives), each verified by digest while copied.  A blob already in an
 * existing destination layout is hashed there and not written again.
 * Every blob found nowhere is a problem in d; then STRATA_EVERIFY. */
int delta_fill(struct sink *sink, const char *dst_dir, const char *const *bases, size_t nbases,
	       const struct strmap *need, const struct limits *lim, struct diag *d, struct strata_err *e);

/* OUT.manifest.json of an output path (a reference's path); caller frees. */
char *delta_manifest_path(const char *out);

#endif
