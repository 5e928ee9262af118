/*
 * sbom.h - the packages of an image's final filesystem, for an SBOM
 * (CycloneDX 1.6 JSON, SPDX 2.3 JSON).
 *
 * The walker keeps (walker.sbom, with collect and content) the package
 * databases, dpkg's info/NAME.list files, the DEP-5 License: names of
 * usr/share/doc/NAME/copyright and os-release; sbom_build() stacks the
 * layers (formats/layerfs.h) and reads them as the final image shows them:
 * a database entry removed in an upper layer is not there.  Ecosystems: dpkg
 * (status and distroless status.d/), apk (lib/apk/db/installed), and what
 * eco.h reads: rpm (rpmdb.sqlite), Python, npm and Go binaries.
 *
 * Ownership: a struct sbom borrows from the image (names, package
 * databases); sbom_release() frees what it allocated.  Nothing here prints:
 * sbom_write() hands its bytes to the caller's function.
 */
#ifndef STRATA_SBOM_H
#define STRATA_SBOM_H

#include <cJSON.h>
#include <stdint.h>
#include "analyze/analyze.h"
#include "analyze/files.h"
#include "common/buf.h"
#include "common/strmap.h"
#include "formats/image.h"

/* What the walker keeps of an entry for the SBOM (files.h: kept). */
enum sbom_keep { SBOM_KEEP_NONE, SBOM_KEEP_LIST, SBOM_KEEP_COPYRIGHT, SBOM_KEEP_OSREL, SBOM_KEEP_RECORD };
#define SBOM_KEEP_MAX (16u << 20)  /* larger files are not kept */

enum sbom_keep sbom_kept_kind(const char *path);
/* The License: names of a machine-readable (DEP-5) copyright file, once
 * each, in order, one a line, into out; nothing when it is not DEP-5. */
int sbom_copyright_licenses(const char *text, size_t n, struct buf *out, struct strata_err *e);

struct sbom_file {
	char *path;                 /* clean, relative (owned) */
	const struct layer_files *lf;  /* the final entry: entry i of lf */
	size_t i;
	uint64_t digest;            /* its sha256's number in the store (files.h: digests_get), when has_digest */
	bool has_digest;
	const char *listed;         /* the 64 hex digits of the sha256 the database lists (rpm, RECORD), or NULL */
};

struct sbom_pkg {
	const char *type;           /* purl type: "deb", "apk", "rpm", "pypi", "npm", "golang" */
	const char *db;             /* the database it is listed in (python, npm, go: the manifest or binary) */
	const struct package *p;    /* name, version, arch (borrowed) */
	char *purl;
	char *ref;                  /* CycloneDX bom-ref: the purl, or purl#db when two share it */
	char **licenses; size_t nlic, alic;
	int introduced, changed;    /* layer indexes */
	struct sbom_file *files; size_t nfiles, afiles;
	char *record;               /* python: the RECORD lines the files' listed digests point into */
};

struct sbom {
	const struct image *im;
	struct sbom_pkg *v;
	size_t len, alloc;
	char notes[PKG_ECO_N][160]; /* per ecosystem (pkg_eco_names): "N packages", "none found" or "not checked (why)" */
	/* while sbom_build() runs only (released when it returns): */
	struct lfs *stack;          /* the layers stacked, each entry's data its index (layer_files_stack) */
	bool own_stack;             /* made here (else the caller's) */
	void *fmaps;                /* per layer, python/npm/go: what the layer writes of each manifest */
	unsigned char *fbuilt;
	struct strmap named;        /* the packages listed so far, by identity (sbom.c: listed) */
};

/* 0 with s filled (sbom_release() frees it), or <0 with e and nothing to
 * release.  sbom_build looks paths up in the stack of im's layers (the
 * caller's, layer_files_stack(), borrowed; NULL: it stacks them itself)
 * and reads the digests of the files it lists in one pass over each
 * layer's entries.  Every layer must have been walked (else
 * STRATA_EFORMAT). */
int sbom_build(const struct image *im, struct lfs *stack, struct sbom *s, struct strata_err *e);
void sbom_release(struct sbom *s);

/* pkg:TYPE/NS/NAME@VERSION?arch=ARCH, percent-encoded (arch left out when
 * empty, NS/ too); NS may hold several segments separated by '/' (golang),
 * each encoded on its own.  extra: more qualifiers ("&epoch=1"), or NULL. */
int sbom_purl(struct buf *out, const char *type, const char *ns, const char *name, const char *version,
	      const char *arch, struct strata_err *e);
int sbom_purl_q(struct buf *out, const char *type, const char *ns, const char *name, const char *version,
		const char *arch, const char *extra, struct strata_err *e);
/* The purl of package p of kind (ns: the distro, for deb, apk and rpm). */
int sbom_purl_of(struct buf *out, enum pkgdb_kind kind, const struct package *p, const char *ns,
		 struct strata_err *e);
/* A name-based UUID from a sha256 digest string: its first 16 bytes with the
 * version (5) and variant bits set.  -1 when digest is not sha256:HEX64. */
int sbom_uuid(const char *digest, char out[37]);
/* The SBOM's time, "YYYY-MM-DDThh:mm:ssZ": SOURCE_DATE_EPOCH (sde, seconds)
 * when given, else the image's created (RFC 3339, any offset), else the epoch.
 * -1 when sde is not a number. */
int sbom_time(const char *created, const char *sde, char out[32]);

enum sbom_format { SBOM_CYCLONEDX, SBOM_SPDX };

/* The SBOM of s as a JSON document and a newline, written through w in
 * pieces (sbomdoc.c): pretty as cJSON_Print() prints it, or on one line
 * (line) as cJSON_PrintUnformatted() does.  Memory holds one package's JSON
 * at a time, never the document.  0, or <0 with e (the document stops
 * there: a caller writing a file discards it). */
int sbom_write(const struct sbom *s, enum sbom_format f, const char *timestamp, bool line, report_write_fn w,
	       void *ctx, struct strata_err *e);

#endif
