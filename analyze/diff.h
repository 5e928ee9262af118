/*
 * diff.h - what changed between two images: layers shared (by diff_id),
 * files added / removed / changed in the final filesystems (type, size,
 * mode, owner, content digest, link target), packages added / removed /
 * changed (version, licenses: the SBOM's view, sbom.h, so every ecosystem it
 * reads), risk findings that appear or disappear (rule id and path; risk.h,
 * as analyze places them), and config changes (env, cmd, entrypoint, labels,
 * user, working dir, exposed ports).
 *
 * The images' layers must have been walked with walker.collect,
 * walker.content (content digests), walker.sbom and walker.risks, their
 * entries kept either way (analyze/files.h).  Each image's final
 * filesystem is sorted by path in bounded memory (final_entries()), one
 * image after the other, and the two are merged; the changed files go to a
 * spill log (common/spill.h), read back as the diff is written.  A diff
 * borrows the images and owns the SBOMs and analyses it compared;
 * diff_release() frees what it allocated.
 */
#ifndef STRATA_DIFF_H
#define STRATA_DIFF_H

#include <cJSON.h>
#include "analyze/analyze.h"
#include "analyze/sbom.h"

enum { CH_TYPE = 1, CH_SIZE = 2, CH_MODE = 4, CH_OWNER = 8, CH_CONTENT = 16, CH_LINK = 32 };

/* A file added, removed or changed, as diff_files_next() gives it. */
struct file_change {
	const char *path;
	bool in_a, in_b;              /* only in_b: added; only in_a: removed */
	unsigned what;                /* CH_* for changed files */
	uint64_t size_a, size_b;      /* when in that image */
};

/* A package of either image (the same purl type, name and architecture) that differs. */
struct pkg_delta {
	const struct sbom_pkg *a, *b;  /* NULL a: added; NULL b: removed */
	bool version, licenses;       /* both present: what differs */
};

/* A finding (rule, path) on one side only; the layer is that side's first. */
struct risk_delta {
	const struct risk_hit *h;
	bool appeared;                /* in b only (else in a only) */
};

struct image_diff {
	const struct image *a, *b;    /* borrowed: their digests and layers are reported */
	size_t shared_layers;         /* leading layers with equal diff_ids */
	size_t layers_a, layers_b;
	struct spill spill;           /* the changed files, as records in path order (diff_files_next) */
	struct spill_log files;
	size_t added, removed, changed;   /* the changed files, by kind */
	int64_t size_delta;           /* bytes of regular files, B - A */
	struct sbom sa, sb;           /* owned: what pkgs point into */
	bool pkgs_checked;            /* both SBOMs could be built (every layer read) */
	struct pkg_delta *pkgs;
	size_t npkgs, apkgs;
	struct image_report ra, rb;   /* owned: what risks point into */
	struct risk_delta *risks;
	size_t nrisks, arisks;
	cJSON *config;                /* [{field, a, b}], owned */
};

int diff_images(const struct image *a, const struct image *b, struct image_diff *d, struct strata_err *e);
/* The changed files of d in path order: diff_files_init(), then
 * diff_files_next() gives 1 with *c (valid until the next call or the
 * release), 0 after the last, or <0 with e (the spill file cannot be read). */
struct diff_files {
	struct spill_reader rd;
	struct file_change c;
};
void diff_files_init(struct diff_files *it, const struct image_diff *d);
int diff_files_next(struct diff_files *it, const struct file_change **c, struct strata_err *e);
void diff_files_release(struct diff_files *it);
/* The diff as a JSON document and a newline, written through w in pieces:
 * pretty as cJSON_Print() prints it, or on one line (line).  Memory holds
 * one file or package at a time, never the document (900,000 files
 * added were 680 MiB as cJSON nodes).  0, or <0 with e. */
int diff_json_write(const char *src_a, const char *src_b, const struct image_diff *d, bool line, report_write_fn w,
		    void *ctx, struct strata_err *e);
/* The diff for people, written through w in pieces of 64 KiB. */
int diff_text(const char *src_a, const char *src_b, const struct image_diff *d, report_write_fn w, void *ctx,
	      struct strata_err *e);
/* Anything differs: a file, a package, the config, or a layer not shared
 * (what `diff --exit-code` exits 1 for). */
bool diff_differs(const struct image_diff *d);
void diff_release(struct image_diff *d);

#endif
