/*
 * store.h - images read straight out of an engine's storage, with no daemon.
 *
 *   docker-root:DIR[:NAME:TAG | :@ID]          Docker's data root (overlay2, vfs)
 *   containers-storage:DIR[:NAME:TAG | :@ID]   podman/buildah/CRI-O (overlay, vfs)
 *
 * A store keeps each image's config as a file and each layer unpacked, with
 * the tar-split metadata that writes the layer's original tar again from the
 * unpacked files.  The store modules (docker_root.c, cstorage.c) only find
 * the images and their layers; store.c then streams what `docker save`
 * would write (a docker-archive: configs, <diff_id>/layer.tar, manifest.json)
 * into a socket the ordinary scan reads, so every reading command works on a
 * store unchanged, and the digests come out as docker save's.
 *
 * Strictly read-only: every file is opened O_RDONLY, one path component at a
 * time with O_NOFOLLOW (a symlink inside the store is never followed), no
 * lock is taken.  Problems (a file in a diff directory that changed size or
 * content, or is missing) are collected by the producer and handed to the
 * run's diag after the scan.
 */
#ifndef STRATA_STORE_H
#define STRATA_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include "common/diag.h"
#include "common/digest.h"
#include "common/err.h"

struct store_layer {
	char diff_id[DIGEST_STR_MAX];  /* what the config says */
	char chain[DIGEST_STR_MAX];    /* its id in the store (chain id, or layer id) */
	char *tarsplit;                /* path below the root, NULL when absent */
	char *diffdir;                 /* the unpacked files, below the root */
	char *what;                    /* for messages: "layer sha256:ab12.. (chain ..)" */
	uint64_t tar_size;             /* the rebuilt tar's size (known before it is written) */
	bool rebuilt;                  /* no tar-split: a fresh tar (--allow-rebuilt-layers) */
	char new_diff_id[DIGEST_STR_MAX]; /* a rebuilt layer's digest, once written */
	bool emitted;
};

struct store_image {
	char id[DIGEST_STR_MAX];       /* sha256 of the config */
	char *config;                  /* path below the root */
	char **names; size_t nnames;   /* NAME:TAG */
	size_t *layers; size_t nlayers;/* indexes into store.layers */
};

struct store {
	const char *kind;              /* "docker-root", "containers-storage" */
	char *root;                    /* as given */
	int rootfd;
	char *driver;
	struct store_image *images; size_t nimages;
	struct store_layer *layers; size_t nlayers;
	bool allow_rebuilt;
	uint64_t max_size;             /* bound on one layer's size */
	struct diag d;                 /* problems found (producer thread's, merged after) */
	/* the producer */
	int wfd;
	bool started;
	struct strata_err perr;
	int prc;
	bool reader_gone;              /* the producer failed because the reader closed its end */
	void *thread;
};

/* Open the store named by transport t (REF_DOCKER_ROOT / REF_CSTORAGE) at
 * root, keeping the images sel names (NAME:TAG, or NULL) or id (hex prefix,
 * or NULL), and start streaming them as a docker-archive: *fd is the read end.
 * allow_rebuilt: a layer without tar-split is written as a fresh tar of its
 * diff directory (a new diff_id, so a new config and image ID; one warning
 * each) instead of failing.  max_size bounds one layer. */
int store_start(struct store **out, int transport, const char *root, const char *driver, const char *sel,
		const char *id, bool allow_rebuilt, uint64_t max_size, int *fd, struct strata_err *e);
/* Wait for the producer; move its problems into d.  Returns the producer's
 * error (<0) when it failed before the stream ended, else 0. */
int store_finish(struct store *st, struct diag *d, struct strata_err *e);
void store_free(struct store *st);

/* ---- for the store modules ---- */
int docker_root_load(struct store *st, struct strata_err *e);
int cstorage_load(struct store *st, struct strata_err *e);
/* Open a path below the root, one component at a time, never following a
 * symlink: -1 with e set (missing: ENOENT in *err if err). */
int store_openat(struct store *st, int dirfd, const char *rel, int flags, int *err, struct strata_err *e);
/* Read a whole small file below the root (bounded by max). */
int store_read(struct store *st, const char *rel, size_t max, char **out, size_t *len, struct strata_err *e);
/* An image's config at rel below the root: read (64 MiB at most), its sha256
 * checked against want (a mismatch goes into st->d: "LABEL: the config's
 * sha256 is ..., not WANT_NAME"), parsed into *doc (the caller deletes it);
 * im->config gets a copy of rel. */
struct cJSON;
int store_read_config(struct store *st, struct store_image *im, const char *rel, const char *want,
		      const char *want_name, const char *label, struct cJSON **doc, struct strata_err *e);
int store_add_image(struct store *st, struct store_image **im, struct strata_err *e);
int store_add_layer(struct store *st, size_t *idx, struct strata_err *e);
int store_add_name(struct store_image *im, const char *name, struct strata_err *e);
/* Warn (into st->d) when a daemon named comm seems to run on this root. */
void store_daemon_check(struct store *st, const char *comm, const char *flag, const char *dflt);

#endif
