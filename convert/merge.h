/*
 * merge.h - the merged root filesystem of an image (what overlayfs shows a
 * container), computed from the layer tars without extracting them
 * (internal to convert/: flatten, unpack and convert --squash use it).
 *
 * Layers are read once each, top (last) first.  An entry of a lower layer is
 * emitted only when nothing above hides it: an entry at the same path, a
 * whiteout of it or of a parent, an opaque parent, or a parent that became a
 * non-directory.  So every path is emitted once, whiteouts are applied
 * without ever deleting anything, and the output holds no whiteouts.
 *
 * Hardlinks keep their meaning as a sequential applier (umoci, containerd)
 * gives it: a link names the content its target had when the link's layer
 * was applied.  When that target is itself emitted, the link is emitted as
 * a hardlink after it; when the target was later replaced or deleted, the
 * content is emitted under the first link's name (for a target in the same
 * layer this re-reads that layer once, which only such images pay for).
 *
 * Refused (STRATA_EFORMAT, naming the layer and the entry): absolute or
 * escaping names, whiteouts that leave their directory or name nothing,
 * entries below a symlink or other non-directory (writes through a
 * symlink), hardlinks whose target leaves the root or does not exist,
 * sparse files whose content would go out (under their name or a link's).
 */
#ifndef STRATA_MERGE_H
#define STRATA_MERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/diag.h"
#include "common/stream.h"
#include "common/tar.h"
#include "formats/image.h"

/* Where the merged entries go (flatten's tar writer, unpack's directory writer). */
struct merge_out {
	void *ctx;
	/*
	 * One entry, in output order.  name is clean and local ("." is the root).
	 * A TAR_FILE's size bytes are read from data; a TAR_HARDLINK's ent->link
	 * is the (clean) name of a file emitted before it.  ent->path is not used.
	 */
	int (*entry)(void *ctx, const char *name, const struct tar_entry *ent, struct stream *data,
		     struct strata_err *e);
};

/* The layers: open layer i (0 = bottom) as a stream of tar bytes; close it
 * after its end block (ok: read to the end without error; again: a second
 * read for hardlinks) and check its digests. */
struct merge_layers {
	void *ctx;
	size_t n;
	int (*open)(void *ctx, size_t i, bool again, struct stream **tar, struct strata_err *e);
	int (*close)(void *ctx, size_t i, bool again, bool ok, struct strata_err *e);
	const char *(*name)(void *ctx, size_t i);   /* "layer 2 (sha256:ab12...)" for messages */
};

struct merge_stats {
	uint64_t entries_in, entries_out, bytes_out, hidden, rereads;
};

/* lim: the bounds of reading each layer (tar headers, entries; NULL: the
 * defaults).  Warnings go to d. */
int merge_run(const struct merge_layers *ml, const struct merge_out *out, const struct limits *lim,
	      struct merge_stats *st, struct diag *d, struct strata_err *e);

/*
 * The layers of one image of a source, ready for merge_run(): the source is
 * read and verified once (digests of every blob; documents), then each layer
 * is read again top-down, its diff_id checked as it streams.  Sources that
 * cannot be read twice (stdin, a compressed archive) have their blobs
 * spooled to a private temp directory during the first read.
 */
struct image_layers;

struct layers_opts {
	const char *src;
	const char *image;          /* "@N", "NAME:TAG" or "TAG", or NULL */
	const char *platform;       /* os/arch[/variant] or NULL */
	stream_progress_fn progress;
	void *progress_ctx;
	struct limits limits;       /* bounds of both reads (zero: defaults) */
};

int image_layers_open(struct image_layers **out, const struct layers_opts *o, struct diag *d, struct strata_err *e);
void image_layers_merge(struct image_layers *il, struct merge_layers *ml);
const struct image *image_layers_image(const struct image_layers *il);
const char *image_layers_format(const struct image_layers *il);
/* The bounds the layers are read with (merge_run takes them too). */
const struct limits *image_layers_limits(const struct image_layers *il);
void image_layers_free(struct image_layers *il);

/* The merged tree as one tar (flatten, convert --squash): compressed when
 * comp says so, handed to fn in order; res gets the tar's diff_id. */
struct tar_sink {
	enum compression comp;
	int level, threads;             /* level 0: gzip 3, zstd 3, xz 6 */
	int (*fn)(void *ctx, const uint8_t *p, size_t n, struct strata_err *e);
	void *ctx;
};

struct tar_result {
	struct merge_stats st;
	char diff_id[DIGEST_STR_MAX];
	uint64_t tar_bytes, out_bytes;
};

int merge_to_tar(struct image_layers *il, const struct tar_sink *ts, struct tar_result *res, struct diag *d,
		 struct strata_err *e);

#endif
