/*
 * pieceset.h - finding the piece set a source names (convert --split):
 * its transfer manifest OUT.manifest.json, or its first piece OUT.000.
 *
 * The manifest's "output" lists the pieces in order ("pieces") and "files"
 * their sizes and sha256s: the set is then checked as it is read
 * (common/pieces.h).  The manifest of an archive written whole is a set of
 * one piece, the archive, checked the same way.  A first piece with no manifest beside it is read with
 * its siblings OUT.001, OUT.002, ... up to the first one absent, unchecked,
 * with one warning (the content's own digests are still all verified).
 */
#ifndef STRATA_PIECESET_H
#define STRATA_PIECESET_H

#include "common/diag.h"
#include "common/pieces.h"

/* 1 with p filled when path names a piece set, 0 when it does not (then p
 * is untouched), <0 when it names one that cannot be read (e). */
int pieceset_find(const char *path, struct pieces *p, struct diag *d, struct strata_err *e);
/* The pieces a transfer manifest lists (a whole archive: itself): 1, 0 when
 * it describes a directory, <0 (e). */
int pieceset_load(const char *manifest, struct pieces *p, struct strata_err *e);

#endif
