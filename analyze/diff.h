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
 * walker.content (content digests), walker.sbom and walker.risks.  A diff
 * borrows paths and entries from the images' catalogs and owns the SBOMs
 * and analyses it compared; diff_release() frees what it allocated.
 */
#ifndef STRATA_DIFF_H
#define STRATA_DIFF_H

#include <cJSON.h>
#include "analyze/analyze.h"
#include "analyze/sbom.h"

enum { CH_TYPE = 1, CH_SIZE = 2, CH_MODE = 4, CH_OWNER = 8, CH_CONTENT = 16, CH_LINK = 32 };

struct file_change {
	const char *path;
	const struct fentry *a, *b;   /* NULL a: added; NULL b: removed */
	unsigned what;                /* CH_* for changed files */
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
	struct file_change *v;
	size_t n, added, removed, changed;
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
