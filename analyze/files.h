/*
 * files.h - what the walker keeps of a layer for analysis: every entry's
 * path, type, size, mode and owner, and the package databases it carries.
 *
 * Kept per layer blob (member->walk), filled while the layer streams past;
 * paths are cleaned and relative to the layer root.  A layer_files and all it
 * holds are freed with layer_files_free().
 *
 * The entries are kept as records in a log that holds a few MiB in memory
 * and the rest in a temp file (common/spill.h, the walker's struct spill),
 * read back in the order walked by files_read() and layer_files_apply(): a
 * layer of any size costs no memory per entry after its walk.  A walk that
 * does not collect (verify, convert) records only what stacking reads
 * (path, type, link target, whiteout flags); one that collects records the
 * size, mode, owner and digest number too (recs_full).  An entry is known by
 * its index in the order walked (nent of them); the few entries a finding,
 * a package or a kept file refers to also keep their path
 * (layer_files_name()).
 */
#ifndef STRATA_FILES_H
#define STRATA_FILES_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "common/err.h"
#include "common/spill.h"
#include "common/tar.h"

enum { FE_WHITEOUT = 1, FE_OPAQUE = 2 };

/* An entry as files_read() gives it: what it has beyond its path (a link
 * target, a content digest) follows the path's NUL in the same record:
 * fentry_link(), fentry_digest().  32 bytes. */
struct fentry {
	char *path;            /* clean, relative ("." the root); a whiteout: the path it deletes; an opaque marker: the dir;
				* then, when has_link, the link target and its NUL; then, when has_digest, the 8-byte
				* number of its content digest (fentry_digest) */
	uint64_t size;
	uint32_t mode, uid, gid;
	uint8_t type;          /* enum tar_type */
	uint8_t flags;         /* FE_WHITEOUT, FE_OPAQUE */
	bool has_link : 1;     /* a symlink's target as stored, a hardlink's target clean */
	bool has_digest : 1;   /* the sha256 of the content is kept (regular files, when asked for) */
};

_Static_assert(sizeof(void *) != 8 || sizeof(struct fentry) == 32, "struct fentry: 32 bytes on 64-bit (files.h)");

/* The link target of f, or NULL. */
static inline const char *fentry_link(const struct fentry *f)
{
	return f->has_link ? f->path + strlen(f->path) + 1 : NULL;
}

/* ---- content digests ----
 *
 * The sha256 of a regular file's content (walker.content) is kept outside
 * the entries: numbered in the order hashed, the first DIGESTS_MEM bytes of
 * them in memory, the rest in an unlinked temp file in $TMPDIR (in memory
 * when it cannot be made or written), read back through a 1 MiB cache; an
 * entry keeps the 8-byte number.  One store for the process, alive while a
 * layer_files holds a digest (the walks that fill it and the reports that
 * read it run on one thread).  A digest that cannot be read back is absent
 * to its reader, and digests_check() says so: a command that printed or
 * compared digests calls it before it succeeds. */
#define DIGESTS_MEM (1u << 20)

/* Store d: its number in *no.  0, or <0 with e (out of memory). */
int digests_add(const uint8_t d[32], uint64_t *no, struct strata_err *e);
/* Digest no into out: out, or NULL when it cannot be read (digests_check()). */
const uint8_t *digests_get(uint64_t no, uint8_t out[32]);
/* 0, or <0 with the first failure to read a digest back. */
int digests_check(struct strata_err *e);
/* A layer_files that holds digests keeps the store alive (layer_files_free
 * lets go); the last one to go frees it. */
void digests_ref(void);
void digests_unref(void);

/* The number of f's content digest in the store into *no: true, or false when f has none. */
static inline bool fentry_digest_no(const struct fentry *f, uint64_t *no)
{
	const char *p;

	if (!f->has_digest)
		return false;
	p = f->path + strlen(f->path) + 1;
	if (f->has_link)
		p += strlen(p) + 1;
	memcpy(no, p, sizeof(*no));
	return true;
}

/* The 32 bytes of f's content sha256 into out: out, or NULL when f has none
 * (or it cannot be read back: digests_check()). */
static inline const uint8_t *fentry_digest(const struct fentry *f, uint8_t out[32])
{
	uint64_t no;

	return fentry_digest_no(f, &no) ? digests_get(no, out) : NULL;
}

struct package {
	char *name, *version;
	char *arch;             /* dpkg Architecture:, apk A:; "" when absent */
	char *license;          /* apk L:, rpm LICENSE, npm license, python (one a line); "" when absent */
	char *files;            /* "dir/name\n" lines (apk F:/R:, rpm), "\tSHA256HEX" before the newline when
				 * the database gives a sha256 (rpm FILEDIGESTS); NULL when none */
	size_t entry;           /* status.d, python, npm, go: 1 + index of the manifest's (binary's) entry in
				 * its layer_files (its path: layer_files_name) */
};

/* The ecosystems reports name, in the order they list them. */
enum pkg_eco { PKG_ECO_DPKG, PKG_ECO_APK, PKG_ECO_RPM, PKG_ECO_PYTHON, PKG_ECO_NPM, PKG_ECO_GO, PKG_ECO_N };
extern const char *const pkg_eco_names[PKG_ECO_N];  /* "dpkg", "apk", "rpm", "python", "npm", "go" */

enum pkgdb_kind { PKGDB_NONE, PKGDB_DPKG, PKGDB_DPKG_D, PKGDB_APK, PKGDB_RPM, PKGDB_PYPI, PKGDB_NPM, PKGDB_GO };

struct pkgdb {
	enum pkgdb_kind kind;
	struct package *v;
	size_t len, alloc;
};

struct layer_files {
	size_t nent;           /* entries walked (whiteouts and opaque markers included) */
	uint64_t counts[8];    /* entries by enum tar_type */
	uint64_t whiteouts, opaques;
	uint64_t file_bytes;   /* sum of regular file sizes */
	/* package databases found in this layer (full dpkg status / apk db), and
	 * distroless-style dpkg status.d fragments */
	struct pkgdb dpkg, apk, dpkg_d;
	bool has_dpkg, has_apk;
	/* eco.h: rpm's sqlite database (a full one, like dpkg's status), and
	 * one entry per python METADATA, npm package.json and module of a Go
	 * binary (like status.d fragments, with entry set) */
	struct pkgdb rpm, pypi, npm, gomod;
	bool has_rpm;
	uint32_t go_old;       /* Go binaries in the pre-1.18 build info format (not read) */
	char **status_d_files; size_t n_status_d;   /* names of status.d entries (for whiteouts) */
	int8_t rpm_other;      /* the last entry at an rpm database path strata does not read (rpm_other_paths):
				* 1 + its index there, -1 a whiteout of it, 0 none */
	/* the paths of the entries a finding, a package or a kept file refers
	 * to, by entry index, in order (layer_files_name) */
	struct named_entry { size_t entry; char *path; } *named;
	size_t nnamed, anamed;
	/* walker.sbom: small files the SBOM reads (dpkg info/ *.list, os-release:
	 * the content; usr/share/doc/NAME/copyright: its DEP-5 License: names,
	 * one a line), each with the index of its entry */
	struct kept_file { size_t entry; char *data; size_t len; } *kept;
	size_t nkept, akept;
	/* walker.risks: risky content found in this layer (risk.h) */
	struct finding *findings;
	size_t nfindings, afindings;
	uint64_t findings_dropped;   /* past RISK_LAYER_MAX: counted, not kept */
	bool risk_scanned;           /* the content was scanned */
	/* the entries as records (above) */
	struct spill_log recs;
	bool recs_full;        /* the records carry size, mode, owner and digest (a walk that collects) */
	bool digests;          /* holds content digests: keeps the store alive (digests_ref) */
};

/* Ready lf (zeroed) to keep records in a log of s; full: recs_full. */
void layer_files_init(struct layer_files *lf, struct spill *s, bool full);

/* Record one more entry (nent is the caller's): f's fields, path and link
 * (NULL: none) and the number of its content digest (NULL: none).  Records
 * without recs_full keep only what stacking reads.  0, or <0 with e (out of
 * memory, the spill file). */
int layer_files_add(struct layer_files *lf, const struct fentry *f, const char *path, const char *link,
		    const uint64_t *digest, struct strata_err *e);
/* Keep the path of entry i, which something refers to (entries are named in
 * increasing order; naming one again does nothing).  0, or <0 out of memory. */
int layer_files_name_entry(struct layer_files *lf, size_t i, const char *path, struct strata_err *e);
/* The path of entry i when it was named, else NULL. */
const char *layer_files_name(const struct layer_files *lf, size_t i);

/* The rpm databases strata does not read (Berkeley DB, then ndb): a layer's rpm_other. */
#define RPM_OTHER_N 4
extern const char *const rpm_other_paths[RPM_OTHER_N];

/* Every entry of a layer in the order walked, from its records:
 * files_read() gives 1 with *f (valid until the next call or the release;
 * an entry with all its fields, or, without recs_full, only path, link,
 * type and flags) and its index in *i, 0 after the last, or <0 with e when
 * the spill file cannot be read. */
struct files_reader {
	const struct layer_files *lf;
	size_t next;
	struct spill_reader rd;
	struct fentry f;
	const void *rec;       /* the entry's record as kept (n bytes; layer_files_record()), as long as f */
	size_t n;
};
void files_read_init(struct files_reader *r, const struct layer_files *lf);
int files_read(struct files_reader *r, const struct fentry **f, size_t *i, struct strata_err *e);
void files_read_release(struct files_reader *r);
/* A record (rec, n bytes; files_reader.rec, or a copy) as an entry: f's
 * path, link and digest point into rec.  It begins with the path and its
 * NUL, a key for common/xsort.h. */
void layer_files_record(const void *rec, size_t n, struct fentry *f);

/* A package change between two databases; strings borrowed from them. */
struct pkg_change {
	const char *db;         /* "dpkg", "apk", "rpm", "python", "npm" or "go" */
	const char *name;
	const char *from, *to;  /* NULL from: added; NULL to: removed */
};

/* What p is: "added", "removed" or "upgraded" (the reports' word). */
const char *pkg_change_kind(const struct pkg_change *p);
/* Append one change to *v (*n entries, room for *alloc: array_grow()). */
int pkg_change_add(struct pkg_change **v, size_t *n, size_t *alloc, const char *db, const char *name,
		   const char *from, const char *to, struct strata_err *e);
/* Append what changed from a to b (either may be NULL: empty). */
int pkgdb_delta(const char *db, const struct pkgdb *a, const struct pkgdb *b, struct pkg_change **v, size_t *n,
		size_t *alloc, struct strata_err *e);

void layer_files_free(struct layer_files *lf);

/*
 * Stack one layer's kept entries onto v (formats/layerfs.h): its whiteouts
 * and opaque markers first (they act on the layers below only), then the
 * other entries in order.  fn (may be NULL) sees every entry (as files_read()
 * gives it, with its index i) after it was applied (applied: 1, or 0 when the
 * stack refused it) with what it replaced.  The stack's data of an entry is
 * 1 + its index: layer_files_index().
 * Errors: out of memory, cancellation, a spill file that cannot be read.
 */
struct lfs;
struct lfs_prev;
typedef int (*layer_apply_fn)(void *ctx, const struct fentry *f, size_t i, int applied, const struct lfs_prev *prev,
			      struct strata_err *e);
/* The index of the entry whose stack data (layer_files_apply) is data. */
size_t layer_files_index(const void *data);
int layer_files_apply(struct lfs *v, const struct layer_files *lf, int layer, const char *lname, layer_apply_fn fn,
		      void *ctx, struct strata_err *e);
/* The walked layers of im (the others left out) stacked onto a new stack
 * *out (lfs_free()), each entry's data 1 + its index: what sbom and diff
 * look paths up in.  0, or <0 with e (out of memory, cancellation, a spill
 * file that cannot be read) and nothing to free. */
struct image;
int layer_files_stack(const struct image *im, struct lfs **out, struct strata_err *e);

/* ---- the final filesystem ----
 *
 * What an image shows once its layers are stacked (formats/layerfs.h):
 * every present entry, its record as the walk kept it (layer_files_record())
 * appended to out (a log of the caller's, common/spill.h), in the order of
 * the layers and their entries.  The layers not walked are left out.  diff
 * sorts two by path (common/xsort.h) and compares them.
 *
 * v is im's stack (layer_files_stack()).  0, or <0 with e (out of memory,
 * a spill file that cannot be read); out then holds what was added. */
int final_entries(const struct image *im, struct lfs *v, struct spill_log *out, struct strata_err *e);

struct strmap;
/* Add every directory above path ("a/b/c" -> "a/b", "a", "") to parents,
 * so that deleting a path nothing was ever under needs no scan. */
int note_parents(struct strmap *parents, const char *path, struct strata_err *e);
int pkgdb_parse(struct pkgdb *db, enum pkgdb_kind kind, const char *text, size_t n, struct strata_err *e);
/* The same, each package remembering entry (struct package). */
int pkgdb_parse_at(struct pkgdb *db, enum pkgdb_kind kind, const char *text, size_t n, size_t entry,
		   struct strata_err *e);
/* One package's fields, pointing into a parser's text (lengths, not NULs). */
struct pkg_fields {
	const char *name; size_t nl;
	const char *ver; size_t vl;     /* NULL: "" */
	const char *arch; size_t al;
	const char *lic; size_t ll;
	const char *files; size_t nfiles;
};
/* Append a package made of copies of f's fields (unsorted: pkgdb_sort). */
int pkgdb_add(struct pkgdb *db, const struct pkg_fields *f, size_t entry, struct strata_err *e);
const struct package *pkgdb_find(const struct pkgdb *db, const char *name);
void pkgdb_release(struct pkgdb *db);
/* Sort by name (for stable output and lookups). */
void pkgdb_sort(struct pkgdb *db);

#endif
