/*
 * pages.h - arrays kept in pages: in memory up to a bound, the rest in a
 * temp file, as an operating system pages memory out to swap.
 *
 * A page_arr is a run of bytes that only grows, addressed by offset and
 * seen a page (PAGE_SIZE bytes) at a time: page_at() gives a pointer to the
 * bytes at an offset, which must not run past the end of its page (keep
 * elements a divisor of PAGE_SIZE, or place records so they do not cross).
 * The pages of the arrays of one page_pool share its frames, mem_max bytes
 * of them at most: a page that is not in a frame is read back into one,
 * and the frame used least recently is written out to make room.  A page
 * never written is zeros.
 *
 * Pointers: one from page_at() stays valid while fewer than PAGE_KEEP
 * other pages of the pool are touched (the pool is least recently used
 * first, and keeps at least PAGE_KEEP frames): hold a few pointers across
 * small steps, take them again across anything that walks.
 *
 * Spilling only saves memory: when the temp file cannot be made or written
 * (a read-only or full $TMPDIR), the pool keeps every page in memory from
 * then on, as if there were no bound.  A page that cannot be read back, or
 * a frame that cannot be allocated, is a failure the pool keeps
 * (page_pool_check()); page_at() then gives a page of zeros.  So a caller
 * checks the pool where it returns an error, not at every access.
 *
 * The temp file is made in $TMPDIR at the first page written out, unlinked
 * at once, closed with the pool.  Single-threaded.
 */
#ifndef STRATA_PAGES_H
#define STRATA_PAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "err.h"

#define PAGE_SHIFT 14
#define PAGE_SIZE ((size_t)1 << PAGE_SHIFT)
#define PAGE_KEEP 16

/* A page of an array: its frame (index + 1; 0: not in memory) and its slot
 * in the temp file (index + 1; 0: never written out, zeros). */
struct page_ent {
	uint32_t frame;
	uint32_t slot;
};

struct page_arr {
	struct page_pool *pool;
	struct page_ent *pt;
	size_t npages, apages;
};

struct page_frame {
	char *p;
	struct page_arr *arr;  /* NULL: free */
	size_t page;
	uint64_t stamp;        /* the pool's clock when last touched */
};

/* Invariants: f[0..n) are the frames, n <= max unless no_file; every
 * page with frame set is in that frame, whose arr and page name it. */
struct page_pool {
	struct page_frame *f;
	size_t n, max;
	uint64_t clock;
	int fd;                /* -1 until a page goes out */
	uint32_t slots;        /* slots of the file in use */
	bool no_file;
	uint64_t reads, writes;  /* pages read back, written out */
	struct strata_err err; /* the first failure */
	char *zeros;           /* what a page that failed reads as */
};

/* The bound of a pool made with mem_max 0: PAGE_MEM_DEFAULT, or
 * $STRATA_PAGE_MEM ("268435456", "256M", "1G"; 1024-based; what does not
 * parse counts as 0, the least): more for an archive that pages a lot, a
 * small one in the tests, which then page all the time. */
#define PAGE_MEM_DEFAULT ((size_t)16 << 20)

/* A pool of frames up to mem_max bytes (0: the default; at least
 * PAGE_KEEP frames).  0, or <0 with e (out of memory). */
int page_pool_new(struct page_pool **out, size_t mem_max, struct strata_err *e);
/* Frees the pool and its frames; its arrays must be released first. */
void page_pool_free(struct page_pool *p);
/* 0, or <0 with the first failure of the pool (copied into e). */
int page_pool_check(const struct page_pool *p, struct strata_err *e);

void page_arr_init(struct page_arr *a, struct page_pool *p);
/* The array holds at least bytes bytes (the new ones zeros).  The array
 * must not move while it has pages.  0, or <0 with e (out of memory). */
int page_arr_reserve(struct page_arr *a, uint64_t bytes, struct strata_err *e);
/* Frees the array's page table and hands its frames back to the pool. */
void page_arr_release(struct page_arr *a);
/* Bytes the array holds (a multiple of PAGE_SIZE; past what was reserved, zeros). */
static inline uint64_t page_arr_size(const struct page_arr *a)
{
	return (uint64_t)a->npages << PAGE_SHIFT;
}
/* n bytes at off, across pages, out of the array into buf, or into the
 * array from buf (both below what was reserved). */
void page_read(struct page_arr *a, uint64_t off, void *buf, size_t n);
void page_write(struct page_arr *a, uint64_t off, const void *buf, size_t n);

char *page_fault(struct page_arr *a, size_t page);

/* The bytes at off (below what was reserved). */
static inline void *page_at(struct page_arr *a, uint64_t off)
{
	const struct page_ent *pe = &a->pt[off >> PAGE_SHIFT];
	char *p;

	if (pe->frame) {
		struct page_frame *f = &a->pool->f[pe->frame - 1];

		f->stamp = ++a->pool->clock;
		p = f->p;
	} else {
		p = page_fault(a, (size_t)(off >> PAGE_SHIFT));
	}
	return p + (off & (PAGE_SIZE - 1));
}

#endif
