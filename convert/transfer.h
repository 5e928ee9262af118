/*
 * transfer.h - the transfer manifest of a converted output (convert
 * --manifest): OUT.manifest.json and OUT.sha256 beside the archive or the
 * layout directory OUT, so that what was written can be checked where it
 * arrives (`sha256sum -c OUT.sha256`, `strata verify OUT.manifest.json`).
 *
 * OUT.manifest.json is canonical JSON (fixed key order, no whitespace):
 *   {"schema":1,"kind":"strata-transfer-manifest","strata":VERSION,"created":RFC3339,
 *    "output":{"path":NAME,"format":"oci"|"oci-archive"|"docker-archive"
 *              [,"pieces":[NAME.000,...],"size":N,"sha256":HEX]},   pieces: convert --split
 *    "files":[{"path":P,"size":N,"sha256":HEX}...],        sorted by path
 *    "images":[{"names":[...],"ref_names":[...],"manifest":D,"config":D,"layers":[D...],
 *               "platform":"os/arch[/variant]"}...],       in the order written
 *    "blobs":[{"digest":D,"size":N}...]}                   sorted by digest
 * Paths are relative to the manifest's own directory (the archive's name, or
 * DIR/oci-layout, DIR/index.json, DIR/blobs/sha256/...).  created is
 * SOURCE_DATE_EPOCH when set (then the whole file is reproducible), else now.
 * Both files are written under temp names and renamed, after the output.
 */
#ifndef STRATA_TRANSFER_H
#define STRATA_TRANSFER_H

#include <stdbool.h>
#include "common/diag.h"
#include "formats/image.h"
#include "formats/target.h"

#define TRANSFER_KIND "strata-transfer-manifest"
#define TRANSFER_SCHEMA 1
#define TRANSFER_SUFFIX ".manifest.json"

/* Write out.manifest.json and out.sha256 for the output at path out (a
 * file, or a directory when dir), holding the images of set. */
int transfer_write(const char *out, bool dir, const char *format, const struct out_set *set, struct strata_err *e);
/* The same for a delta: expected (digest -> size + 1; NULL or empty: none)
 * lists the blobs the images name that the output lacks on purpose, as
 * "expected":[{"digest":D,"size":N}...] after "blobs" (delta.h). */
struct strmap;
int transfer_write_expected(const char *out, bool dir, const char *format, const struct out_set *set,
			    const struct strmap *expected, struct strata_err *e);

/* The same for an archive written as pieces (convert --split): "files" lists
 * the pieces, and "output" also holds "pieces" (their names, in order) and
 * the joined archive's "size" and "sha256". */
struct pieces;
int transfer_write_pieces(const char *out, const char *format, const struct out_set *set, const struct pieces *pc,
			  const struct strmap *expected, struct strata_err *e);

/* Is path a transfer manifest (its name ends in .manifest.json)? */
bool transfer_is_manifest(const char *path);

struct transfer_check {
	size_t files, images, blobs;
	size_t left_out;              /* a delta: blobs missing on purpose (its "expected" list) */
	const char *format;           /* of the content */
};

/*
 * Check a transfer manifest: every file listed exists with its size and
 * sha256 (for a directory: no file of it unlisted), then the content is
 * read and verified as verify does (with lo), and every image listed is in
 * it with its manifest, config and layer digests.  Every problem goes to d
 * (missing, extra, corrupt: STRATA_EVERIFY); <0 only when the manifest
 * itself cannot be read or is not one.
 */
int transfer_check(const char *path, const struct load_opts *lo, struct transfer_check *res, struct diag *d,
		   struct strata_err *e);

#endif
