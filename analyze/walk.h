/*
 * walk.h - the layer walker: looks at every entry of a layer tar as it
 * streams past and reports what would be unsafe or invalid to apply.
 *
 * It plugs into the scan as struct layer_hooks (formats/image.h), so each
 * layer byte is read once: hashing, decoding and walking happen in the same
 * pass.  Checks (formats.md rules 16-17): `..` and absolute paths, symlinks
 * and hardlinks pointing outside the root, entries written through a symlink
 * of the same layer, whiteouts that name nothing or leave their directory,
 * duplicate paths and sparse members.  (The entry count bound is the tar
 * reader's: struct limits, via the scan.)
 *
 * Problems are attributed to the layer's archive member and go into the
 * diag given to walker_init(), which must outlive the scan.  The walker must
 * also outlive every layer_files it made (their records are in its spill).
 *
 * Memory during a layer's walk: its paths in a name tree (for the duplicate
 * check, freed at the layer's end), and what files.h says is kept.
 */
#ifndef STRATA_WALK_H
#define STRATA_WALK_H

#include <stdint.h>
#include "common/diag.h"
#include "common/spill.h"
#include "analyze/files.h"
#include "formats/image.h"

struct walker {
	struct diag *d;
	bool collect;             /* also parse the package databases (analyze, diff) */
	bool content;             /* with collect: sha256 of every regular file's content */
	bool sbom;                /* with collect: keep what the SBOM reads (files.h: kept) */
	bool risks;               /* with collect: scan content for risky content (risk.h) */
	unsigned max_problems;    /* per layer, then summarised; 0 = default (50) */
	enum severity unsafe_sev; /* of unsafe entries: SEV_ERROR, or SEV_WARNING (--allow-unsafe-layers) */
	/* with collect: bytes of package files (databases, manifests, the files
	 * the SBOM keeps) read for the whole source, at most pkg_max (0: the
	 * default, LIMIT_PKG_TOTAL times LIMIT_MAX_JSON); past it a file is not
	 * read for its packages, and the first such is a warning */
	uint64_t pkg_max, pkg_bytes;
	bool pkg_over;
	struct spill spill;       /* every layer's records (files.h), WALK_SPILL_MEM of them in memory */
};

/* Bytes of entry records (files.h) the layers of a walker keep in memory
 * together; the rest goes to a temp file. */
#define WALK_SPILL_MEM (1u << 20)

void walker_init(struct walker *w, struct diag *d);
/* Hooks that run the walker over every layer of a scan. */
void walker_hooks(struct walker *w, struct layer_hooks *h);

#endif
