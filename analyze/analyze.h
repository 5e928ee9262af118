/*
 * analyze.h - what each layer of an image holds, wastes and changes.
 *
 * analyze_image() stacks the layers' entry lists (collected by the walker
 * during the single pass, see walk.h) in order and computes, per layer:
 * entries by type, files added / modified / deleted relative to the layers
 * below, bytes added, bytes wasted (later overwritten or deleted), largest
 * files, setuid/setgid, world-writable and device entries, package changes;
 * and per image dive's efficiency and wasted bytes:
 *
 *   every path seen in any layer (whiteouts counted at the path they delete,
 *   with the size of what they delete; an opaque directory counts each lower
 *   path it hides) accumulates the sizes of all its occurrences and
 *   remembers the smallest; directories are not counted;
 *   efficiency = sum(smallest) / sum(cumulative);
 *   wasted bytes = sum(cumulative) over paths seen more than once;
 *   user wasted percent = wasted bytes / (image size - first layer size),
 *   where a layer's size is the sum of its regular files' sizes.
 *
 * Ownership: an image_report borrows from the image and the catalog
 * (paths, digests); image_report_release() frees what it allocated.
 */
#ifndef STRATA_ANALYZE_H
#define STRATA_ANALYZE_H

#include <cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include "analyze/files.h"
#include "analyze/risk.h"
#include "common/buf.h"
#include "common/diag.h"
#include "formats/image.h"

#define REPORT_TOP 10       /* largest files listed per layer */
#define REPORT_LIST_MAX 100 /* entries listed per security category per layer */

struct path_size {
	char *path;             /* owned */
	uint64_t size;
	uint32_t mode;
};

struct list {
	struct path_size *v;
	size_t len, alloc, total;  /* total: how many there were (len is capped) */
};

struct layer_report {
	const struct layer *layer;
	const struct layer_files *lf;   /* NULL when the layer is not in the archive */
	const char *created_by;
	const char **empty_before; size_t n_empty_before;  /* empty-layer history lines before it */
	uint64_t added, modified, deleted;
	uint64_t bytes_added, bytes_wasted;
	struct path_size largest[REPORT_TOP];
	size_t n_largest;
	struct list setuid, setgid, world_writable, devices;
	struct pkg_change *pkgs;
	size_t npkgs, apkgs;
};

struct inefficiency {
	char *path;             /* owned */
	unsigned count;
	uint64_t cumulative;
};

/* A finding placed in the stacked image. */
struct risk_hit {
	uint8_t rule;                /* enum risk_rule */
	size_t layer;                /* 0-based layer that holds the entry */
	bool live;                   /* (stacking) its entry was applied */
	char *path;                  /* owned */
	const char *detail;          /* borrowed from the layer's findings, or "" */
	long removed_by;             /* -1: in the final filesystem; else the 0-based layer that removed or replaced it */
	long same;                   /* the previous hit on the same entry, or -1 */
	/* (stacking) the entry's index in its layer, the stack's node of its
	 * path, the previous hit at that node (-1: none) */
	size_t entry;
	uint32_t node;
	long at;
};

#define RISK_IMAGE_MAX 5000      /* hits listed per image (the rest are counted) */

struct image_report {
	const struct image *im;
	struct risk_hit *hits;
	size_t nhits, ahits;
	uint64_t risk_count[RISK_COUNT];  /* every hit, listed or not */
	uint64_t hits_dropped;           /* not listed: past RISK_IMAGE_MAX or RISK_LAYER_MAX */
	size_t risk_unscanned;           /* layers whose content was not scanned (absent or unreadable) */
	struct layer_report *layers;
	size_t nlayers;
	const char **trailing_history; size_t n_trailing;
	uint64_t size, user_size, wasted;
	uint64_t files;             /* paths in the final filesystem */
	double efficiency, user_wasted_percent;
	struct inefficiency *ineff;
	size_t nineff;
	char pkg_notes[PKG_ECO_N][160];  /* per ecosystem (pkg_eco_names): "N packages", "none found" or "not checked (why)" */
};

int analyze_image(const struct image *im, struct image_report *r, struct strata_err *e);
/* The package changes of each layer (r->layers[].pkgs, from r->layers[].lf) and r->pkg_notes;
 * analyze_image() calls it. */
int analyze_packages(struct image_report *r, struct strata_err *e);
void image_report_release(struct image_report *r);

/* --fail-on with dive's rule names, and risk rules: ID=N or CATEGORY=N
 * fails when more than N findings match. */
#define FAIL_RISK_MAX 16
struct fail_rules {
	bool has_eff, has_wasted, has_pct;
	struct { char name[48]; uint32_t mask; uint64_t max; } risk[FAIL_RISK_MAX];
	size_t nrisk;
	double lowest_efficiency;
	uint64_t highest_wasted;
	double highest_user_wasted_percent;
};

/* "lowestEfficiency=0.95,highestWastedBytes=20MB,highestUserWastedPercent=0.1" (sizes as dive: 20MB = 20e6, 20MiB). */
int rules_parse(const char *s, struct fail_rules *r, struct strata_err *e);
/* How many rules fail for the report. */
int rules_failed(const struct image_report *r, const struct fail_rules *rules);

/* What the report opens with: the verdict of the pass that read the source. */
struct report_meta {
	const char *path;          /* as given */
	const char *kind;          /* "file", "directory" or "stdin" */
	bool has_size;
	uint64_t size;             /* bytes of the file (or of what was read from stdin) */
	const char *sha256;        /* "sha256:..." of what `hashed` names, or NULL */
	const char *hashed;        /* what sha256 covers ("the file's bytes", "index.json", ...) */
	const struct diag *d;      /* the problems of the pass */
};

/* Put the verdict (strata version, verified, problems, input) at the head of doc. */
void analyze_verdict_json(cJSON *doc, const struct report_meta *m);
int analyze_verdict_text(struct buf *out, const struct report_meta *m, struct strata_err *e);

/* Where a report too large to hold is written, in pieces (common/buf.h). */
typedef buf_write_fn report_write_fn;

/* What analyze_json() puts in the document besides the report. */
enum {
	/* every entry of every layer too ("files" of each layer read), regular
	 * files and hardlinks with the sha256 of their content when the walker
	 * hashed it (walker.content) */
	REPORT_FILES = 1,
	/* the layers' package changes as placeholders too: a document only
	 * analyze_json_write() can write (the HTML reads them from the document) */
	REPORT_STREAMED = 2,
};

/* The report as JSON (schema 1), with what (REPORT_*).  A million entries
 * are 158 MB of JSON, so the document holds no file list, only a raw
 * placeholder for each (and for each layer's package changes when
 * REPORT_STREAMED): print it with cJSON and write it with
 * analyze_json_write(), which streams each list in its place. */
cJSON *analyze_json(const struct source *s, const struct image_report *reps, size_t n, unsigned what,
		    const struct fail_rules *rules);
/* Write txt, the document of analyze_json(s, reps, n, ...) printed by
 * cJSON (on one line when line), through w: each placeholder replaced by
 * its layer's list, element by element.  The package changes are printed
 * as cJSON prints the document; the file lists as cJSON prints an array of
 * objects held as a raw node, [{"path":...},{...}], unformatted in either
 * print. */
int analyze_json_write(const char *txt, bool line, const struct image_report *reps, size_t n, report_write_fn w,
		       void *ctx, struct strata_err *e);
/* Text for people, fitting 100 columns. */
int analyze_text(struct buf *out, const struct source *s, const struct image_report *reps, size_t n,
		 const struct fail_rules *rules, struct strata_err *e);
/* --files as text, written through w in pieces: every entry of every layer,
 * one a line ("type mode uid:gid size sha256 path[ -> link]"; sha256 "-"
 * when there is none: not a regular file, or the walker did not hash it; a
 * hardlink shows its target's).  Lines are not cut to 100 columns: this is
 * data, for grep and awk. */
int analyze_files_text(const struct image_report *reps, size_t n, report_write_fn w, void *ctx, struct strata_err *e);
/* One self-contained HTML file (inline CSS and SVG, no network), written
 * through w in pieces: rendered from report (analyze_json() of reps, its
 * package lists streamed or not) and from reps (n of them, in the report's
 * image order), which give each layer's package changes and each image's
 * browsable file tree (tree.h).  0, or <0 with e (the page stops there). */
int analyze_html(const cJSON *report, const struct image_report *reps, size_t n, report_write_fn w, void *ctx,
		 struct strata_err *e);

#endif
