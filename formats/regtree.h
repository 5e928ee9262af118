/*
 * regtree.h - a registry's storage tree (distribution 2.8's filesystem
 * driver) as a convert target; the reader is regtree_scan() (image.h).
 *
 *   DIR/docker/registry/v2/blobs/sha256/<2 hex>/<hex>/data
 *   .../repositories/<name>/_layers/sha256/<hex>/link            layers, configs
 *   .../repositories/<name>/_manifests/revisions/sha256/<hex>/link manifests, indexes
 *   .../repositories/<name>/_manifests/tags/<tag>/current/link
 *   .../repositories/<name>/_manifests/tags/<tag>/index/sha256/<hex>/link
 *
 * A link holds "sha256:<hex>".  Writing: convert writes an OCI layout under
 * a temp name inside DIR, then regtree_commit() moves its blobs into the
 * tree (rename; a blob already there is left as it is) and writes the links,
 * each to a temp name renamed into place, a tag's current/link last: an
 * interrupted run leaves complete blobs and links, and running it again
 * completes it.  A registry serves the tree as it is, `registry
 * garbage-collect` finds nothing to delete in it.
 */
#ifndef STRATA_REGTREE_H
#define STRATA_REGTREE_H

#include <stdbool.h>
#include "common/err.h"

#define REGTREE_V2 "docker/registry/v2"

/*
 * Make DIR ready for images (a new or empty DIR becomes a tree; an existing
 * DIR must be one: STRATA_EUSAGE otherwise) and choose the temp OCI layout
 * the images are first converted into (*layout, malloc'd, not created).
 * *created: DIR did not exist (regtree_discard removes it again).
 */
int regtree_prepare(const char *dir, char **layout, bool *created, struct strata_err *e);
/*
 * The images of layout's index.json into DIR, named by `name` (NAME[:TAG],
 * for every image) or else by each image's own name (registry host
 * stripped, tag latest when none).  A tag already in the tree naming other
 * content is refused (STRATA_EUSAGE) unless replace, before anything moves.
 * The layout is removed.  sync: the blobs are made durable before the
 * links, and the links before it returns (syncfs).
 */
int regtree_commit(const char *dir, const char *layout, const char *name, bool replace, bool sync,
		   struct strata_err *e);
/* The run failed: remove the layout, and DIR when this run created it. */
void regtree_discard(const char *dir, const char *layout, bool created);
/* NAME[:TAG] of a destination: a repository path without a registry host,
 * a tag; STRATA_EUSAGE naming it when not. */
int regtree_check_name(const char *name, struct strata_err *e);

#endif
