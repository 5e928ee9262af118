/*
 * xsort.h - sort any number of records by the NUL-terminated key each
 * begins with (strcmp order), in bounded memory, as sort(1) does.
 *
 * Records gather in memory until they and their index (16 bytes a record)
 * hold mem_max bytes; each such batch
 * is then sorted and written as a run to a spill log (common/spill.h: one
 * unlinked temp file in $TMPDIR, or memory when none can be written), and
 * the runs are merged as they are read.  A set that fits in one batch is
 * sorted in memory and never written.  Records with equal keys come out in
 * the order they were added.
 *
 * Memory: the batch (about mem_max bytes; its records in blocks of
 * XSORT_BLOCK); while merging, one chunk buffer (SPILL_CHUNK) a run.
 *
 * Use: xsort_init(), xsort_add() every record, then xsort_next() until it
 * gives 0 (its first call sorts; no record may be added after it), then
 * xsort_release().  Errors: out of memory (STRATA_EIO) and a run that
 * cannot be read back (STRATA_EIO, with errno's message).  Single-threaded.
 */
#ifndef STRATA_XSORT_H
#define STRATA_XSORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/err.h"
#include "common/spill.h"

#define XSORT_BLOCK (1u << 20)

struct xsort_run;

/* Invariants: blocks[0..nblocks) hold the batch's records (blocks never
 * move, so idx[] points into them); runs[0..nruns) are the sorted runs
 * written so far; once reading, no batch is gathered again. */
struct xsort {
	size_t mem_max;
	struct spill s;                /* the runs' temp file */
	char **blocks;
	size_t nblocks, ablocks, bused, bcap;  /* bused of the last block's bcap bytes used */
	size_t batch;                  /* bytes of the batch: its records and index */
	struct xsort_rec { const char *p; uint32_t n, seq; } *idx;
	size_t n, aidx;                /* records in the batch */
	struct xsort_run *runs;
	size_t nruns, aruns;
	bool reading;
	size_t at;                     /* reading one batch: its next record */
	size_t *heap, nheap;           /* reading runs: the runs with a record left, least key first */
	size_t last;                   /* the run whose record was given last (SIZE_MAX: none) */
	uint64_t count;                /* records added */
};

void xsort_init(struct xsort *x, size_t mem_max);
/* Add rec[0..n): a key and its NUL, then any bytes (n at most UINT32_MAX).
 * 0, or <0 with e (out of memory, no NUL in rec, added after reading). */
int xsort_add(struct xsort *x, const void *rec, size_t n, struct strata_err *e);
/* Add every record of l (a spill log read from its start).  0, or <0 with e
 * (as xsort_add, or l cannot be read back). */
int xsort_add_log(struct xsort *x, const struct spill_log *l, struct strata_err *e);
/* The next record in key order: 1 with *p and *n (valid until the next call
 * or the release), 0 after the last, <0 with e. */
int xsort_next(struct xsort *x, const void **p, size_t *n, struct strata_err *e);
void xsort_release(struct xsort *x);

#endif
