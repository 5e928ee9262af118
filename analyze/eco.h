/*
 * eco.h - package sources beyond dpkg and apk, read as a layer streams past:
 * rpm's sqlite database, Python distributions, npm packages and the module
 * build info of Go binaries.
 *
 *   rpm     var/lib/rpm/rpmdb.sqlite (also usr/lib/sysimage/rpm/): spooled
 *           to a temp file in $TMPDIR (at most ECO_RPMDB_MAX bytes; removed
 *           when the entry is done), opened
 *           read-only through libsqlite3, every Packages blob parsed as an
 *           rpm header (rpmheader.c).  The Berkeley DB `Packages` and ndb
 *           `Packages.db` formats are not read (sbom says so).
 *   python  NAME.dist-info/METADATA, NAME.egg-info/PKG-INFO and a file
 *           NAME.egg-info (at most
 *           ECO_TEXT_MAX bytes): Name, Version, License-Expression,
 *           License, Classifier: License ::; the files and their sha256 come
 *           from RECORD beside METADATA (kept by the walker for the SBOM).
 *   npm     node_modules/[@SCOPE/]NAME/package.json (at most ECO_TEXT_MAX
 *           bytes): name, version, license; other package.json files are the
 *           application's, not packages.
 *   go      every regular ELF file: the build info blob Go writes in its
 *           data segment (`\xff Go buildinf:`, 16-byte aligned), searched
 *           from the first writable PT_LOAD segment for ECO_GO_SPAN bytes;
 *           the Go 1.18+ inline format is read (mod, dep and => lines), the
 *           older pointer format is counted as not read.
 *
 * One struct eco_file per layer entry: eco_begin() says what the entry is,
 * eco_feed() sees its content as it streams (the rpm spool and the Go
 * scanner), eco_end() parses it into the layer's package lists.  A
 * malformed source is a warning (eco_file.warn), never an error: only
 * running out of memory or failing to write the temp file stops the walk.
 */
#ifndef STRATA_ECO_H
#define STRATA_ECO_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "analyze/files.h"
#include "common/buf.h"
#include "common/err.h"

#define ECO_TEXT_MAX (1u << 20)     /* METADATA, PKG-INFO, package.json */
#define ECO_RPMDB_MAX (512u << 20)  /* rpmdb.sqlite spooled to a temp file */
#define ECO_GO_SPAN (64u << 20)     /* searched for the Go build info past the data segment's start */
#define ECO_GO_INFO_MAX (1u << 20)  /* the build info strings */
#define ECO_RPM_HEADER_MAX (16u << 20)  /* one header blob */

enum eco_kind { ECO_NONE, ECO_RPMDB, ECO_PYTHON, ECO_NPM };

/* The Go build info scanner's state (one ELF file). */
struct eco_go {
	enum { GO_HEAD, GO_SEEK, GO_INFO, GO_DONE } state;
	uint64_t off;             /* bytes of the file seen */
	uint64_t start, end;      /* the search window (file offsets) */
	uint8_t head[4096];       /* ELF header and program headers */
	size_t nhead;
	uint8_t carry[16];        /* a partial 16-byte block across chunks */
	size_t ncarry;
	struct buf info;          /* from the magic on */
};

struct eco_file {
	enum eco_kind kind;
	bool text;                /* read the content into the caller's buffer */
	bool go;                  /* run the Go scanner on the content */
	struct eco_go g;
	int spool;                /* rpm: the temp file's descriptor, or -1 */
	char spool_path[4096];    /* and its name ("" when none) */
	uint64_t spooled;
	char warn[STRATA_ERR_MAX];  /* a problem with this entry, for the walker to report */
};

/* The kind of a clean relative path (regular files only). */
enum eco_kind eco_kind_of(const char *path);

/* Set ef up for a regular file at path (NULL: nothing to do) of size
 * bytes: its content is to be read into a buffer when ef->text, and passed
 * to eco_feed() while eco_feeding().  A file over its bound, or an rpm
 * database when no temp file can be made, gets ef->warn and is not read. */
void eco_begin(struct eco_file *ef, const char *path, uint64_t size);
bool eco_feeding(const struct eco_file *ef);
int eco_feed(struct eco_file *ef, const uint8_t *p, size_t n, struct strata_err *e);
/* Parse what was read (text/n: the buffer, for ef->text) into lf's lists,
 * each package remembering entry (1 + index in lf->v).  Releases ef. */
int eco_end(struct eco_file *ef, struct layer_files *lf, const char *path, const char *text, size_t n, size_t entry,
	    struct strata_err *e);
void eco_release(struct eco_file *ef);

/* ---- the parsers, for eco.c and the unit tests ---- */

/* The Go scanner: feed the file's bytes in order; flush at its end (a file
 * shorter than the header block).  g->info then holds the build info (from
 * the magic on) when one was found.  Only running out of memory fails. */
int eco_go_feed(struct eco_go *g, const uint8_t *p, size_t n, struct strata_err *e);
int eco_go_flush(struct eco_go *g, struct strata_err *e);

/* One rpm header blob (as rpmdb stores it: no lead, no magic) into db.
 * -STRATA_EFORMAT when it is malformed (e says how). */
int rpm_header_parse(struct pkgdb *db, const uint8_t *blob, size_t n, struct strata_err *e);
/* Every row of Packages of the sqlite database at path into db; a row
 * that is no header is skipped and counted in *bad. */
int rpm_sqlite_read(struct pkgdb *db, const char *path, size_t *bad, struct strata_err *e);

/* METADATA / PKG-INFO headers (RFC 822 style, up to the first empty line)
 * into db, remembering entry.  -STRATA_EFORMAT without Name or Version. */
int py_metadata_parse(struct pkgdb *db, const char *text, size_t n, size_t entry, struct strata_err *e);
/* PEP 503: lowercase, runs of -_. become one '-'; into out (NUL-terminated). */
int py_normalize(const char *name, struct buf *out, struct strata_err *e);
/* RECORD (CSV: path,sha256=URLSAFE-B64,size) of the distribution whose
 * .dist-info directory is distdir: "path\tHEX\n" lines (path clean, relative
 * to the root, resolved against the directory above distdir; "\tHEX" only
 * with a sha256) into out.  Lines that leave the root are skipped. */
int py_record_files(const char *distdir, const char *text, size_t n, struct buf *out, struct strata_err *e);

/* node_modules/.../package.json into db.  -STRATA_EFORMAT when it is not
 * JSON or lacks a string name or version. */
int npm_package_parse(struct pkgdb *db, const char *text, size_t n, size_t entry, struct strata_err *e);
/* Is path node_modules/NAME/package.json or node_modules/@SCOPE/NAME/package.json (anywhere)? */
bool npm_is_package_json(const char *path);

/* Go build info from the magic on (at least 32 bytes): the modules into db
 * (main module first), remembering entry.  1 when it is the pre-1.18
 * pointer format (not read); -STRATA_EFORMAT when malformed. */
int go_buildinfo_parse(struct pkgdb *db, const uint8_t *p, size_t n, size_t entry, struct strata_err *e);

#endif
