/* pages.c - arrays in pages, bounded in memory, the rest in a temp file; see pages.h. */
#include "common/pages.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/spill.h"

/* "N", "NK", "NM" or "NG" (1024-based) in bytes; what does not parse, 0. */
static size_t env_bytes(const char *s)
{
	char *end;
	unsigned long long n = strtoull(s, &end, 10);
	unsigned shift = 0;

	if (end == s)
		return 0;
	switch (*end) {
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	}
	if (*end || n > (SIZE_MAX >> shift))
		return 0;
	return (size_t)n << shift;
}

int page_pool_new(struct page_pool **out, size_t mem_max, struct strata_err *e)
{
	struct page_pool *p = calloc(1, sizeof(*p));
	const char *env;

	*out = NULL;
	if (!p || !(p->zeros = calloc(1, PAGE_SIZE))) {
		free(p);
		return err_nomem(e, "paged arrays");
	}
	if (!mem_max) {
		mem_max = PAGE_MEM_DEFAULT;
		if ((env = getenv("STRATA_PAGE_MEM")) && *env)
			mem_max = env_bytes(env);
	}
	p->max = mem_max / PAGE_SIZE;
	if (p->max < PAGE_KEEP)
		p->max = PAGE_KEEP;
	if (!(p->f = calloc(p->max, sizeof(*p->f)))) {
		free(p->zeros);
		free(p);
		return err_nomem(e, "paged arrays");
	}
	p->fd = -1;
	err_clear(&p->err);
	*out = p;
	return 0;
}

void page_pool_free(struct page_pool *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->n; i++)
		free(p->f[i].p);
	free(p->f);
	free(p->zeros);
	if (p->fd >= 0)
		close(p->fd);
	free(p);
}

int page_pool_check(const struct page_pool *p, struct strata_err *e)
{
	if (!p->err.code)
		return 0;
	*e = p->err;
	return -e->code;
}

static void fail(struct page_pool *p, int errnum, const char *what)
{
	if (p->err.code)
		return;
	if (errnum)
		err_sys(&p->err, errnum, "%s", what);
	else
		err_nomem(&p->err, what);
}

void page_arr_init(struct page_arr *a, struct page_pool *p)
{
	memset(a, 0, sizeof(*a));
	a->pool = p;
}

int page_arr_reserve(struct page_arr *a, uint64_t bytes, struct strata_err *e)
{
	size_t need = (size_t)((bytes + PAGE_SIZE - 1) >> PAGE_SHIFT);

	if (need <= a->npages)
		return 0;
	if (need > a->apages) {
		size_t na = a->apages ? a->apages * 2 : 16;
		struct page_ent *pt;

		while (na < need)
			na *= 2;
		if (!(pt = realloc(a->pt, na * sizeof(*pt))))
			return err_nomem(e, "paged arrays");
		a->pt = pt;
		a->apages = na;
	}
	memset(a->pt + a->npages, 0, (need - a->npages) * sizeof(*a->pt));
	a->npages = need;
	return 0;
}

void page_arr_release(struct page_arr *a)
{
	size_t i;

	for (i = 0; a->pool && i < a->npages; i++)
		if (a->pt[i].frame) {
			struct page_frame *f = &a->pool->f[a->pt[i].frame - 1];

			f->arr = NULL;
			f->stamp = 0;  /* taken first */
		}
	free(a->pt);
	memset(a, 0, sizeof(*a));
}

/* The bytes of [off, off + n) in the page of off: how many, at most n. */
static size_t in_page(uint64_t off, size_t n)
{
	size_t room = PAGE_SIZE - (size_t)(off & (PAGE_SIZE - 1));

	return n < room ? n : room;
}

void page_read(struct page_arr *a, uint64_t off, void *buf, size_t n)
{
	char *p = buf;

	while (n) {
		size_t k = in_page(off, n);

		memcpy(p, page_at(a, off), k);
		p += k;
		off += k;
		n -= k;
	}
}

void page_write(struct page_arr *a, uint64_t off, const void *buf, size_t n)
{
	const char *p = buf;

	while (n) {
		size_t k = in_page(off, n);

		memcpy(page_at(a, off), p, k);
		p += k;
		off += k;
		n -= k;
	}
}

static int io_all(int fd, char *buf, uint64_t off, bool write)
{
	size_t n = PAGE_SIZE;

	while (n) {
		ssize_t r = write ? pwrite(fd, buf, n, (off_t)off) : pread(fd, buf, n, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? errno : write ? ENOSPC : EIO;
		buf += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

/* Write the page in frame f out: 0, or -1 when the file cannot take it
 * (no_file is then set). */
static int write_out(struct page_pool *p, struct page_frame *f)
{
	struct page_ent *pe = &f->arr->pt[f->page];
	struct strata_err fe = STRATA_ERR_INIT;

	if (p->fd < 0) {
		int fd = spill_tmpfile(&fe);

		if (fd < 0) {
			p->no_file = true;
			return -1;
		}
		p->fd = fd;
	}
	if (!pe->slot) {
		if (p->slots >= UINT32_MAX - 1) {
			p->no_file = true;
			return -1;
		}
		pe->slot = ++p->slots;
	}
	if (io_all(p->fd, f->p, (uint64_t)(pe->slot - 1) << PAGE_SHIFT, true)) {
		p->no_file = true;
		return -1;
	}
	p->writes++;
	pe->frame = 0;
	f->arr = NULL;
	return 0;
}

/* A new frame, or n when there is no memory for one. */
static size_t new_frame(struct page_pool *p)
{
	if (p->n == p->max) {
		size_t na = p->max * 2;
		struct page_frame *nf = realloc(p->f, na * sizeof(*nf));

		if (!nf)
			return p->n;
		memset(nf + p->max, 0, (na - p->max) * sizeof(*nf));
		p->f = nf;
		p->max = na;
	}
	if (!(p->f[p->n].p = malloc(PAGE_SIZE)))
		return p->n;
	p->f[p->n].arr = NULL;
	return p->n++;
}

/* A frame to put a page in: a free one, a new one while under the bound
 * (or when nothing can go out), else the one least recently touched,
 * written out.  Its index, or n when there is none. */
static size_t take_frame(struct page_pool *p)
{
	size_t i, best = p->n;

	for (i = 0; i < p->n; i++) {
		if (!p->f[i].arr)
			return i;
		if (best == p->n || p->f[i].stamp < p->f[best].stamp)
			best = i;
	}
	if ((p->n < p->max || p->no_file) && (i = new_frame(p)) < p->n)
		return i;
	if (p->no_file || best == p->n)
		return p->n;
	if (write_out(p, &p->f[best]) == 0)
		return best;
	return new_frame(p);  /* the file cannot take it: every page stays in memory from now on */
}

char *page_fault(struct page_arr *a, size_t page)
{
	struct page_pool *p = a->pool;
	struct page_ent *pe = &a->pt[page];
	struct page_frame *f;
	size_t i = take_frame(p);
	int rc;

	if (i >= p->n) {
		fail(p, 0, "paged arrays");
		memset(p->zeros, 0, PAGE_SIZE);
		return p->zeros;
	}
	f = &p->f[i];
	if (!pe->slot) {
		memset(f->p, 0, PAGE_SIZE);
	} else if ((rc = io_all(p->fd, f->p, (uint64_t)(pe->slot - 1) << PAGE_SHIFT, false))) {
		fail(p, rc, "cannot read the paged arrays' temp file back");
		memset(f->p, 0, PAGE_SIZE);
	} else {
		p->reads++;
	}
	f->arr = a;
	f->page = page;
	f->stamp = ++p->clock;
	pe->frame = (uint32_t)(i + 1);
	return f->p;
}
