/*
 * catalog.h - what a scan of the outer archive found: one record per member.
 *
 * The outer archive is read once, in whatever order its producer wrote it
 * (manifest.json often comes last).  Every member is hashed as it streams
 * past; small JSON-looking members are kept raw (capped); compressed members
 * are decoded on the way to get the digest of their content (the diff_id of
 * a layer).  Nothing here is trusted: the format loaders compare these
 * computed facts with what the documents claim, after the scan.
 *
 * Ownership: the catalog owns its members and everything in them.
 */
#ifndef STRATA_CATALOG_H
#define STRATA_CATALOG_H

#include <stdbool.h>
#include <stdint.h>
#include "common/buf.h"
#include "common/digest.h"
#include "common/stream.h"
#include "common/strmap.h"

enum member_kind { MEM_FILE, MEM_DIR, MEM_SYMLINK, MEM_HARDLINK, MEM_OTHER };

enum tar_state {
	TARST_UNKNOWN,   /* not examined (not decoded, or nobody asked for a walk) */
	TARST_OK,        /* a tar archive, walked to its end */
	TARST_NOT_TAR,   /* decoded bytes are not a tar archive */
	TARST_BAD,       /* a tar archive that is broken (message in blob_error) */
};

struct member {
	char *name;                   /* cleaned path, the key */
	enum member_kind kind;
	char *link;                   /* symlink / hardlink target as stored, or NULL */
	uint64_t size;                /* stored bytes */
	char digest[DIGEST_STR_MAX];  /* of the stored bytes ("" for non-files) */
	enum compression comp;        /* sniffed from the stored bytes */
	bool decoded;                 /* diff_id and tar_size are known */
	char diff_id[DIGEST_STR_MAX]; /* of the decoded bytes (== digest when comp is none) */
	uint64_t tar_size;            /* decoded size */
	enum tar_state tar;
	char *blob_error;             /* decoding or tar error, or NULL */
	struct buf doc;               /* raw bytes, kept when JSON-looking and small */
	bool doc_kept;
	bool doc_too_large;           /* JSON-looking but over the document cap */
	unsigned dups;                /* further members with the same name */
	unsigned refs;                /* references from documents (set by loaders) */
	void *walk;                   /* layer walker result (owned by the hooks' owner) */
	uint64_t data_off;            /* plain tar sources: where the stored bytes start in the file */
	/* set by a blob writer (conversion): the bytes written for this member */
	bool written;
	char out_digest[DIGEST_STR_MAX];
	uint64_t out_size;
	enum compression out_comp;
};

struct catalog {
	struct member **v;            /* in archive order */
	size_t len, alloc;
	struct strmap by_name;
	uint64_t doc_bytes;           /* total kept document bytes (capped) */
	struct member *rootfs;        /* the whole archive seen as one layer, or NULL */
	void (*walk_free)(void *);    /* frees member->walk results */
};

struct member *catalog_add(struct catalog *c, const char *name, struct strata_err *e);
struct member *catalog_get(const struct catalog *c, const char *name);
/*
 * Resolve a name used by a document to the regular file holding the bytes:
 * cleaned, must stay inside the archive, follows at most one level of
 * symlink (as skopeo and containerd do) and a hardlink, never outside the
 * archive; a FIFO, device or directory is not a file.  Returns NULL and sets
 * *why (static: "missing", "not a regular file", "symlink points outside the
 * archive", ...; "missing" only when nothing is there) when not resolvable.
 */
struct member *catalog_resolve(const struct catalog *c, const char *name, const char **why);
/* The same for the blob of a (valid) digest: blobs/<alg>/<hex>. */
struct member *catalog_blob(const struct catalog *c, const char *digest, const char **why);
/* The member name blobs/<alg>/<hex> of a digest, into out (for messages). */
const char *blob_path(const char *digest, char out[DIGEST_STR_MAX + 8]);
void catalog_release(struct catalog *c);

#endif
