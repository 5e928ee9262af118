/*
 * image.h - the image model every format reader produces, and the source API.
 *
 * A source is read in one pass (scan), then interpreted by the format that
 * bid highest (docker-archive, oci-layout/oci-archive, rootfs).  The result
 * is a list of images, each with what its documents *claim* (descriptors,
 * diff_ids) next to the members that hold the bytes (whose digests the scan
 * *computed*).  check_images() compares the two and records every mismatch.
 *
 * Ownership: struct source owns everything reachable from it; strings and
 * cJSON trees stay valid until source_free().
 */
#ifndef STRATA_IMAGE_H
#define STRATA_IMAGE_H

#include <cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include "common/diag.h"
#include "common/digest.h"
#include "common/limits.h"
#include "common/stream.h"
#include "formats/catalog.h"
#include "formats/ref.h"

struct platform {
	const char *os, *arch, *variant;   /* borrowed from a document, may be NULL */
};

struct descriptor {
	const char *media_type;            /* borrowed; NULL when absent */
	char digest[DIGEST_STR_MAX];       /* "" when none */
	int64_t size;                      /* -1 when not declared */
	const cJSON *urls;                 /* foreign layers: array of strings, or NULL */
	const cJSON *annotations;
	struct platform platform;
	bool has_platform;
};

struct layer {
	struct descriptor desc;            /* declared (OCI) or derived from the bytes (docker-archive) */
	const char *path;                  /* member name the document used (docker-archive), or NULL */
	struct member *m;                  /* the bytes, NULL when not in the archive */
	const char *why;                   /* m NULL: why (catalog_resolve(); NULL means "missing") */
	const char *diff_id;               /* from the config, NULL when absent */
};

enum image_kind { IMAGE_CONTAINER, IMAGE_ARTIFACT, IMAGE_ATTESTATION };

struct image {
	enum image_kind kind;
	char *where;                       /* "manifest.json[0]", "index.json -> sha256:ab12..." */
	const char **tags; size_t ntags;   /* borrowed strings */
	const cJSON *top_annotations;      /* OCI: annotations of the index.json entry that led here */
	const cJSON *top_desc;             /* OCI: that index.json entry */
	const cJSON **tops; size_t ntops;  /* OCI: every index.json entry naming this manifest (top_desc first) */
	bool has_manifest;
	struct descriptor manifest;        /* the manifest document, when one exists */
	const cJSON *manifest_json;        /* its parsed document (kept by the image set), or NULL */
	struct member *manifest_m;
	char index_digest[DIGEST_STR_MAX]; /* innermost index that listed the manifest, or "" */
	struct descriptor config;
	const char *config_path;           /* docker-archive: the Config member name */
	struct member *config_m;
	cJSON *config_json;                /* owned, NULL when unreadable */
	struct platform platform;          /* from the config (else the descriptor) */
	struct layer *layers; size_t nlayers;
};

struct image_set {
	struct image **v;
	size_t len, alloc;
	cJSON **docs; size_t ndocs, adocs; /* parsed documents images borrow from */
};

/*
 * Layer walking: the scan hands every layer-like tar (a blob that decodes to
 * a tar, or the whole archive of a rootfs) to these hooks, entry by entry,
 * while the bytes stream past.  analyze/ provides them; formats/ never
 * depends on analyze/.
 */
struct tar;
struct tar_entry;
struct layer_hooks {
	void *ctx;
	/* A layer begins; returns its walk state (NULL: do not walk it). */
	void *(*begin)(void *ctx, struct member *m);
	/* One entry; may read its data from tar_data(t).  <0 stops this walk. */
	int (*entry)(void *walk, struct tar *t, const struct tar_entry *ent, struct strata_err *e);
	/* The walk is over: status 0, or <0 with e; discard: it was not a layer
	 * after all.  Problems go to d, named by m->name.  Frees walk unless it
	 * keeps it in m->walk. */
	void (*end)(void *walk, struct member *m, int status, const struct strata_err *e, bool discard,
		    struct diag *d);
	/* The source is loaded: one (selected) image whose layers all were
	 * walked may be judged as a stack; problems go to d.  May be NULL. */
	void (*image)(void *ctx, const struct image *im, struct diag *d);
	/* Frees what end() left in m->walk (called by catalog_release); may be NULL. */
	void (*free_result)(void *result);
};

/*
 * Blob writing (conversion): for every regular member the scan asks the
 * writer what to do once the compression and whether the content is a tar
 * are known, then tees the chosen bytes (as stored, or decoded) to it while
 * they stream.  Small JSON documents are not offered: they are kept in
 * memory and written by the converter at the end, when it knows which are
 * referenced.
 */
enum blob_action { BLOB_SKIP, BLOB_STORED, BLOB_DECODED };

struct blob_writer {
	void *ctx;
	enum blob_action (*plan)(void *ctx, const struct member *m, bool is_tar);
	/* Start writing m; bytes then go to *fn(*fctx, ...).  When the stored
	 * bytes sit in a plain file (src_fd >= 0, at src_off), the writer may
	 * copy them from there itself (in the kernel) and leave *fn NULL. */
	int (*open)(void *ctx, struct member *m, int src_fd, uint64_t src_off, stream_tee_fn *fn, void **fctx,
		    struct strata_err *e);
	/* All bytes passed (ok) or the blob failed (!ok): finish or discard; fills m->out_*. */
	int (*close)(void *ctx, struct member *m, void *fctx, bool ok, struct strata_err *e);
};

struct load_opts {
	bool decode;                       /* decode compressed members (diff_ids) */
	const struct layer_hooks *hooks;   /* walk layer tars (verify, analyze); NULL = no walk */
	const struct blob_writer *writer;  /* write blobs as they stream (convert); NULL = none */
	struct limits limits;              /* resource bounds; zero fields are the defaults */
	stream_progress_fn progress;       /* bytes of the source read so far, or NULL */
	void *progress_ctx;
	bool hash_source;                  /* a file or stdin: sha256 of its raw bytes into source.sha256 (same pass) */
};

struct format_ops;

struct source {
	struct ref ref;
	const struct format_ops *fmt;
	const char *format_name;           /* as reported: docker-archive, oci-layout, oci-archive, rootfs */
	bool is_dir;
	bool plain_file;                   /* a regular, uncompressed tar file: members can be re-read */
	bool rescan;                       /* taken for a rootfs, but holds manifest.json or the like: read again */
	bool pieces;                       /* a piece set (pieceset.h): read once, members not re-read by offset */
	uint64_t dir_bytes;                /* directory sources: bytes read so far */
	enum compression outer;            /* compression of the outer archive */
	struct catalog cat;
	struct image_set images;           /* what the chosen format found */
	struct image_set extra;            /* a second view (index.json in a docker-archive), checked too */
	struct limits limits;              /* resolved (no zero field): the scan sets it */
	uint64_t descriptors;              /* reached so far by the documents, against limits.max_descriptors */
	uint64_t json_parsed;              /* JSON bytes parsed so far, each parse counted */
	char sha256[DIGEST_STR_MAX];       /* load_opts.hash_source: "sha256:..." of the file's bytes, else "" */
	uint64_t raw_size;                 /* ... and how many bytes that was */
};

/*
 * Read and interpret a source.  Returns 0 with *out set when the archive
 * could be read (problems in it are in d), or <0 when it could not be read
 * at all (e says why: I/O error, truncated or unreadable outer archive, no
 * format recognised).
 */
int source_open(struct source **out, const char *ref, const struct load_opts *o, struct diag *d,
		struct strata_err *e);
void source_free(struct source *s);

/*
 * Keep only the image(s) `image` names, as a reference suffix would:
 * "@N", "NAME:TAG" or "TAG".  STRATA_EUSAGE when nothing matches.
 */
int source_select(struct source *s, const char *image, struct strata_err *e);

/*
 * A second pass over a member's stored bytes (flatten, unpack): possible for
 * a directory source, a plain tar file and a rootfs file.  Returns 0 with an
 * open *fd (the caller closes it) and the bytes at [*off, *off + m->size),
 * 1 when the source cannot be re-read (stdin, a compressed archive), <0 on
 * error.
 */
int source_member_fd(const struct source *s, const struct member *m, int *fd, uint64_t *off, struct strata_err *e);

/* ---- for the format modules ---- */

struct format_ops {
	const char *name;
	int (*bid)(const struct catalog *c);
	int (*load)(struct source *s, struct diag *d, struct strata_err *e);
};

extern const struct format_ops docker_archive_format, oci_layout_format, rootfs_format;

int scan_source(struct source *s, const struct load_opts *o, struct diag *d, struct strata_err *e);
/* One member's bytes from a file (full path) or from memory, through the scan's chain. */
int scan_file(struct source *s, struct member *m, const char *full, const struct load_opts *o, struct diag *d,
	      struct strata_err *e);
int scan_mem(struct source *s, struct member *m, const void *p, size_t n, const struct load_opts *o, struct diag *d,
	     struct strata_err *e);
/* registry:DIR - a registry's storage tree read as an OCI layout (formats/regtree.c). */
int regtree_scan(struct source *s, const struct load_opts *o, struct diag *d, struct strata_err *e);
/* DIR/docker/registry/v2/blobs/sha256/<hex[0:2]>/<hex>/data, malloc'd. */
char *regtree_blob_file(const char *dir, const char *hex);

struct image *image_new(struct image_set *set, const char *where, struct strata_err *e);
/* Keep a parsed document alive as long as the set. */
int image_set_keep(struct image_set *set, cJSON *doc, struct strata_err *e);
void image_free(struct image *im);
/* Add a name (borrowed) unless the image has it already. */
int image_add_tag(struct image *im, const char *tag, struct strata_err *e);
/* Add an index.json entry that names the image (OCI). */
int image_add_top(struct image *im, const cJSON *top, struct strata_err *e);
void image_set_release(struct image_set *set);

/*
 * The bounds on what documents make a loader do (common/limits.h): count n
 * more descriptors reached from `where`, a document m about to be parsed, an
 * image of nlayers layers.  0, or STRATA_EFORMAT past the bound, naming the
 * option that raises it: the load stops there.
 */
int source_count_descriptors(struct source *s, uint64_t n, const char *where, struct strata_err *e);
int source_count_parse(struct source *s, const struct member *m, struct strata_err *e);
int source_check_layers(const struct source *s, size_t nlayers, const char *where, struct strata_err *e);

/* Parse a descriptor object (mediaType, digest, size, urls, annotations, platform). */
int descriptor_parse(const cJSON *o, struct descriptor *d, const char **why);
/* Parse a member's kept bytes as strict JSON; reports into d when it cannot. */
cJSON *member_json(struct member *m, struct diag *d, const char *what);
/* Load config JSON, fill platform, and attach diff_ids to layers. */
void image_read_config(struct image *im, struct diag *d);
/* Compare every claim with the computed facts; every problem goes to d. */
void check_images(struct source *s, struct image_set *set, bool layers_only_presence, struct diag *d);

/* Media types */
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define MT_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar"

/* The compression a layer media type promises, or -1 when it is not a layer type we know. */
int media_type_compression(const char *mt);

#endif
