/*
 * convert.h - turn any readable source into an OCI layout, an oci-archive or
 * a docker-archive, in one verified streaming pass.
 *
 * Blobs are written while the source streams (content-addressed, so the
 * order of the source does not matter); the documents are written at the
 * end, when everything has been verified.  Any problem of error severity in
 * the source stops the conversion: the sink is aborted and the destination
 * is left as it was.  Configs and, when nothing changes, manifests and
 * indexes are written as their raw bytes, so --keep preserves every digest.
 */
#ifndef STRATA_CONVERT_H
#define STRATA_CONVERT_H

#include <stdbool.h>
#include "common/diag.h"
#include "common/stream.h"
#include "formats/image.h"

enum layer_mode { LAYERS_KEEP, LAYERS_GZIP, LAYERS_ZSTD, LAYERS_DECOMPRESS };
enum target_format { TARGET_NONE, TARGET_OCI, TARGET_OCI_ARCHIVE, TARGET_DOCKER_ARCHIVE };

/* A bundle's sources, one at a time: done is false before the source is
 * read and true after (its problems are in d; the hook may print them and
 * empty d with diag_truncate(d, 0, 0)). */
typedef void (*convert_source_fn)(void *ctx, size_t i, const char *src, struct diag *d, bool done);

struct convert_opts {
	const char *src;                 /* source reference (when nsrcs is 0) */
	const char *const *srcs;         /* a bundle: several sources into one destination, in this order */
	size_t nsrcs;                    /* 0: src alone */
	convert_source_fn on_source;     /* optional, for a bundle */
	void *source_ctx;
	const char *dst;                 /* destination reference (oci:, oci-archive:, docker-archive:, or -) */
	enum target_format format;       /* for "-" or a bare path; TARGET_NONE = from the prefix */
	enum layer_mode layers;
	int level;                       /* 0 = default (gzip: 1 or 2 by content, encode.h; zstd 3) */
	int threads;                     /* gzip threads, >= 1 */
	bool preserve_digests;           /* refuse any change of a layer/config/manifest digest */
	bool sync;                       /* fsync the output (durable, not only atomic) */
	const char **tags;               /* --tag, replacing the source's tags */
	size_t ntags;
	const char *platform;            /* os/arch[/variant] or NULL */
	const char *image;               /* keep only this image: "@N", "NAME:TAG" or "TAG"; NULL = all */
	bool squash;                     /* one image, its layers merged into one (see flatten) */
	bool replace;                    /* a name already in the oci: layout replaces that image (else refused) */
	bool manifest;                   /* write DST.manifest.json and DST.sha256 beside DST (transfer.h) */
	uint64_t split;                  /* >0: an archive as pieces DST.000, DST.001, ... of this size (pieces.h), with its manifest */
	const char *const *exclude_blobs; /* a delta (delta.h): layers these bases hold are left out */
	size_t nexclude;
	const char *const *blobs_from;  /* complete a delta: blobs it lacks are taken from these bases */
	size_t nblobs_from;
	const char *sign_key;            /* sign DST.manifest.json into DST.manifest.json.sig (sign.h) */
	const struct layer_hooks *hooks; /* optional layer walk during the pass */
	struct limits limits;            /* bounds of reading the source (zero: defaults) */
	stream_progress_fn progress;     /* optional: bytes of the source read */
	void *progress_ctx;
};

struct convert_result {
	size_t images, layers, layers_reencoded;
	size_t left_out;                 /* a delta: layers left out (expected on the far side) */
	uint64_t bytes_in, bytes_out;
	const char *format;              /* the source's format */
};

/*
 * 0, or <0 with e (and the source's problems in d).  See the exit codes.
 * A bundle reads every source in turn into the one sink (a blob shared by
 * several is stored once) and writes the documents once, every image
 * keeping its own names; a problem in any source stops the run with nothing
 * written.  --tag, a destination name and --squash name one image: refused
 * for a bundle, as is "-" given twice.
 */
int convert_run(const struct convert_opts *o, struct convert_result *res, struct diag *d, struct strata_err *e);

/*
 * Import: a root filesystem tarball (plain, .gz, .xz, .zst; path or "-")
 * becomes a one-layer image, as FROM scratch + ADD rootfs.tar.xz / does.
 * The same input and options give a byte-identical image: created defaults
 * to SOURCE_DATE_EPOCH, else the epoch.
 */
struct import_opts {
	const char *src, *dst;
	enum target_format format;
	enum layer_mode layers;          /* KEEP stores gzip/zstd as they came, xz/bzip2 decoded */
	int level, threads;
	const char **tags; size_t ntags;
	const char *cmd, *entrypoint;    /* JSON array, or words split on spaces */
	const char **env; size_t nenv;
	const char **labels; size_t nlabels;  /* KEY=VALUE */
	const char *workdir, *user, *platform, *created, *history;
	bool sync;
	const struct layer_hooks *hooks; /* optional layer walk during the pass (the unsafe-entry checks) */
	struct limits limits;            /* bounds of reading the rootfs (zero: defaults) */
	stream_progress_fn progress;
	void *progress_ctx;
};

int import_run(const struct import_opts *o, struct convert_result *res, struct diag *d, struct strata_err *e);

/*
 * Flatten: the merged root filesystem of one image (whiteouts and opaque
 * directories applied, hardlinks kept, metadata and xattrs kept) as one tar,
 * plain or compressed, written under a temp name and renamed when complete.
 * Every layer is read once more after the verifying pass, top layer first
 * (see merge.h), so entries come in top-down layer order.
 */
struct flatten_opts {
	const char *src, *dst;           /* dst: a file, or "-" for stdout */
	const char *image;               /* "@N", "NAME:TAG", "TAG", or NULL */
	const char *platform;
	int compression;                 /* enum compression, or -1: from dst's name (.gz .zst .xz) */
	int level, threads;
	bool sync;
	struct limits limits;            /* bounds of both reads of the source (zero: defaults) */
	stream_progress_fn progress;
	void *progress_ctx;
};

struct flatten_result {
	const char *format;
	size_t layers;
	uint64_t entries_in, entries, hidden, content_bytes, out_bytes;
	enum compression compression;
};

int flatten_run(const struct flatten_opts *o, struct flatten_result *res, struct diag *d, struct strata_err *e);

/*
 * Unpack: the merged root filesystem extracted into dir, which must not
 * exist or be empty.  It is built in a temp directory beside it and renamed
 * when complete.  Nothing is written outside it: every name is resolved one
 * component at a time without following symlinks.  Ownership is applied
 * when running as root (unless no_same_owner); device nodes that cannot be
 * created are skipped with a warning.
 */
struct unpack_opts {
	const char *src, *dir;
	const char *image, *platform;
	bool no_same_owner;
	struct limits limits;            /* bounds of both reads of the source (zero: defaults) */
	stream_progress_fn progress;
	void *progress_ctx;
};

struct unpack_result {
	const char *format;
	size_t layers;
	uint64_t entries_in, entries, hidden, content_bytes, skipped;
};

int unpack_run(const struct unpack_opts *o, struct unpack_result *res, struct diag *d, struct strata_err *e);

/* Parse "os/arch[/variant]"; the strings point into buf. */
int platform_parse(const char *s, char *buf, size_t n, struct platform *p, struct strata_err *e);
bool platform_match(const struct platform *want, const struct platform *have);

#endif
