/* xsort.c - sort records by key in bounded memory; see xsort.h. */
#include "common/xsort.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

/* A sorted run in the spill, and its record being offered to the merge. */
struct xsort_run {
	struct spill_log log;
	struct spill_reader rd;
	const char *p;
	size_t n;
};

void xsort_init(struct xsort *x, size_t mem_max)
{
	memset(x, 0, sizeof(*x));
	x->mem_max = mem_max;
	x->last = SIZE_MAX;
	/* the runs go to the file at once: the batch is what memory holds */
	spill_init(&x->s, 0);
}

static int cmp_rec(const void *a, const void *b)
{
	const struct xsort_rec *x = a, *y = b;
	int c = strcmp(x->p, y->p);

	return c ? c : x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void free_blocks(struct xsort *x)
{
	size_t i;

	for (i = 0; i < x->nblocks; i++)
		free(x->blocks[i]);
	x->nblocks = x->bused = x->bcap = 0;
	x->n = x->batch = 0;
}

/* The batch, sorted, becomes a run in the spill file. */
static int write_run(struct xsort *x, struct strata_err *e)
{
	struct xsort_run *run;
	size_t i;
	int r = 0;

	if (array_grow(&x->runs, x->nruns, &x->aruns, sizeof(*x->runs), 8) < 0)
		return err_nomem(e, "sort");
	run = &x->runs[x->nruns++];
	memset(run, 0, sizeof(*run));
	spill_log_init(&run->log, &x->s);
	qsort(x->idx, x->n, sizeof(*x->idx), cmp_rec);
	for (i = 0; i < x->n && r == 0; i++)
		r = spill_log_add(&run->log, x->idx[i].p, x->idx[i].n, e);
	if (r == 0)
		r = spill_log_seal(&run->log, e);
	free_blocks(x);
	return r;
}

int xsort_add(struct xsort *x, const void *rec, size_t n, struct strata_err *e)
{
	char *p;

	if (x->reading)
		return err_set(e, STRATA_EIO, "sort: a record added after reading");
	if (n > UINT32_MAX || !memchr(rec, '\0', n))
		return err_set(e, STRATA_EIO, "sort: a record without its key");
	if (x->n && x->batch + n + sizeof(*x->idx) > x->mem_max) {
		int r = write_run(x, e);

		if (r < 0)
			return r;
	}
	if (x->bcap - x->bused < n) {  /* a new block; a record larger than one gets its own */
		size_t cap = n > XSORT_BLOCK ? n : XSORT_BLOCK;

		if (array_grow(&x->blocks, x->nblocks, &x->ablocks, sizeof(*x->blocks), 16) < 0 ||
		    !(x->blocks[x->nblocks] = malloc(cap)))
			return err_nomem(e, "sort");
		x->nblocks++;
		x->bused = 0;
		x->bcap = cap;
	}
	if (array_grow(&x->idx, x->n, &x->aidx, sizeof(*x->idx), 1024) < 0)
		return err_nomem(e, "sort");
	p = x->blocks[x->nblocks - 1] + x->bused;
	memcpy(p, rec, n);
	x->bused += n;
	x->batch += n + sizeof(*x->idx);
	x->idx[x->n] = (struct xsort_rec){ p, (uint32_t)n, (uint32_t)x->n };
	x->n++;
	x->count++;
	return 0;
}

int xsort_add_log(struct xsort *x, const struct spill_log *l, struct strata_err *e)
{
	struct spill_reader rd;
	const void *p;
	size_t n;
	int r;

	spill_read_init(&rd, l);
	while ((r = spill_read(&rd, &p, &n, e)) == 1 && (r = xsort_add(x, p, n, e)) == 0)
		;
	spill_read_release(&rd);
	return r < 0 ? r : 0;
}

/* Heap order of runs a and b: the lesser key, the earlier run on a tie. */
static bool before(const struct xsort *x, size_t a, size_t b)
{
	int c = strcmp(x->runs[a].p, x->runs[b].p);

	return c < 0 || (c == 0 && a < b);
}

static void sift_down(struct xsort *x, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i, t;

		if (l < x->nheap && before(x, x->heap[l], x->heap[m]))
			m = l;
		if (l + 1 < x->nheap && before(x, x->heap[l + 1], x->heap[m]))
			m = l + 1;
		if (m == i)
			return;
		t = x->heap[i];
		x->heap[i] = x->heap[m];
		x->heap[m] = t;
		i = m;
	}
}

/* Run k's next record into its slot: 1, 0 when it has none left, <0. */
static int advance(struct xsort *x, size_t k, struct strata_err *e)
{
	struct xsort_run *run = &x->runs[k];
	const void *p;
	int r = spill_read(&run->rd, &p, &run->n, e);

	run->p = r == 1 ? p : NULL;
	return r;
}

/* The first read: one batch is sorted where it is; else it becomes the last
 * run and every run offers its first record. */
static int start(struct xsort *x, struct strata_err *e)
{
	size_t k;
	int r;

	x->reading = true;
	if (!x->nruns) {
		if (x->n > 1)
			qsort(x->idx, x->n, sizeof(*x->idx), cmp_rec);
		return 0;
	}
	if (x->n && (r = write_run(x, e)) < 0)
		return r;
	free(x->idx);
	x->idx = NULL;
	x->aidx = 0;
	if (!(x->heap = malloc(x->nruns * sizeof(*x->heap))))
		return err_nomem(e, "sort");
	for (k = 0; k < x->nruns; k++) {
		spill_read_init(&x->runs[k].rd, &x->runs[k].log);
		if ((r = advance(x, k, e)) < 0)
			return r;
		if (r)
			x->heap[x->nheap++] = k;
	}
	for (k = x->nheap / 2; k-- > 0;)
		sift_down(x, k);
	return 0;
}

int xsort_next(struct xsort *x, const void **p, size_t *n, struct strata_err *e)
{
	int r;

	if (!x->reading && (r = start(x, e)) < 0)
		return r;
	if (!x->nruns) {
		if (x->at >= x->n)
			return 0;
		*p = x->idx[x->at].p;
		*n = x->idx[x->at++].n;
		return 1;
	}
	if (x->last != SIZE_MAX) {  /* the run given last moves on: its record is done with */
		if ((r = advance(x, x->last, e)) < 0)
			return r;
		if (!r)
			x->heap[0] = x->heap[--x->nheap];
		x->last = SIZE_MAX;
		sift_down(x, 0);
	}
	if (!x->nheap)
		return 0;
	x->last = x->heap[0];
	*p = x->runs[x->last].p;
	*n = x->runs[x->last].n;
	return 1;
}

void xsort_release(struct xsort *x)
{
	size_t k;

	free_blocks(x);
	free(x->blocks);
	free(x->idx);
	for (k = 0; k < x->nruns; k++) {
		if (x->reading)
			spill_read_release(&x->runs[k].rd);
		spill_log_release(&x->runs[k].log);
	}
	free(x->runs);
	free(x->heap);
	memset(x, 0, sizeof(*x));
	x->last = SIZE_MAX;
}
