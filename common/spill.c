/* spill.c - record logs bounded in memory, the rest in a temp file; see spill.h. */
#include "common/spill.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"

void spill_init(struct spill *s, size_t mem_max)
{
	memset(s, 0, sizeof(*s));
	s->mem_max = mem_max;
	s->fd = -1;
}

void spill_log_init(struct spill_log *l, struct spill *s)
{
	memset(l, 0, sizeof(*l));
	l->s = s;
	s->logs++;
}

int spill_tmpfile(struct strata_err *e)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	int n, fd;

	if (!dir || !*dir)
		dir = "/tmp";
	n = snprintf(path, sizeof(path), "%s/strata-spill-XXXXXX", dir);
	if (n < 0 || (size_t)n >= sizeof(path))
		return err_set(e, STRATA_EIO, "cannot create a spill file in '%.200s' (TMPDIR): name too long", dir);
	if ((fd = mkstemp(path)) < 0)
		return err_sys(e, errno, "cannot create a spill file in '%s' (TMPDIR)", dir);
	unlink(path);  /* nothing is left, however the run ends */
	return fd;
}

static int open_file(struct spill *s, struct strata_err *e)
{
	int fd = spill_tmpfile(e);

	if (fd < 0)
		return -e->code;
	s->fd = fd;
	s->end = 0;
	return 0;
}

static int write_all(struct spill *s, const char *p, size_t n, struct strata_err *e)
{
	uint64_t off = s->end;

	while (n) {
		ssize_t w = pwrite(s->fd, p, n, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return err_sys(e, w < 0 ? errno : ENOSPC, "cannot write the spill file");
		p += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	s->end = off;
	return 0;
}

/* cur is full (or the log is sealed): it joins the finished chunks, in
 * memory or in the file.  Written out, its buffer stays as cur; kept, cur is
 * NULL. */
static int finish_chunk(struct spill_log *l, struct strata_err *e)
{
	struct spill *s = l->s;
	struct spill_chunk *c;

	if (array_grow(&l->c, l->n, &l->alloc, sizeof(*l->c), 16) < 0)
		return err_nomem(e, "spill");
	c = &l->c[l->n];
	c->len = l->used;
	if (s->mem > s->mem_max && !s->no_file) {
		struct strata_err fe = STRATA_ERR_INIT;

		if ((s->fd < 0 && open_file(s, &fe) < 0) || write_all(s, l->cur, l->used, &fe) < 0)
			s->no_file = true;  /* no room for it: what is still to come stays in memory */
	}
	if (s->mem > s->mem_max && !s->no_file) {
		c->p = NULL;
		c->off = s->end - l->used;
		l->used = 0;
	} else {
		s->mem -= l->cap - l->used;  /* a shrink that fails keeps a larger buffer than counted */
		c->p = l->used < l->cap ? alloc_shrink(l->cur, l->used) : l->cur;
		c->off = 0;
		l->cur = NULL;
		l->used = l->cap = 0;
	}
	l->n++;
	return 0;
}

int spill_log_add(struct spill_log *l, const void *p, size_t n, struct strata_err *e)
{
	uint32_t len = (uint32_t)n;
	size_t need = n + sizeof(len);

	if (n > UINT32_MAX - sizeof(len))
		return err_set(e, STRATA_EFORMAT, "a record of %zu bytes is too large to keep", n);
	if (l->cur && l->used && l->used + need > l->cap) {
		if (finish_chunk(l, e) < 0)
			return -e->code;
	}
	if (l->cur && need > l->cap) {  /* the buffer kept after a write is too small for this one */
		l->s->mem -= l->cap;
		free(l->cur);
		l->cur = NULL;
		l->cap = l->used = 0;
	}
	if (!l->cur) {
		size_t cap = need > SPILL_CHUNK ? need : SPILL_CHUNK;

		if (!(l->cur = malloc(cap)))
			return err_nomem(e, "spill");
		l->cap = cap;
		l->used = 0;
		l->s->mem += cap;
	}
	memcpy(l->cur + l->used, &len, sizeof(len));
	if (n)
		memcpy(l->cur + l->used + sizeof(len), p, n);
	l->used += need;
	l->records++;
	return 0;
}

int spill_log_seal(struct spill_log *l, struct strata_err *e)
{
	if (l->cur && l->used && finish_chunk(l, e) < 0)
		return -e->code;
	if (l->cur) {  /* the buffer kept after a write, empty */
		l->s->mem -= l->cap;
		free(l->cur);
		l->cur = NULL;
		l->cap = l->used = 0;
	}
	return 0;
}

void spill_log_release(struct spill_log *l)
{
	struct spill *s = l->s;
	size_t i;

	if (!s)
		return;
	for (i = 0; i < l->n; i++)
		if (l->c[i].p) {
			s->mem -= l->c[i].len;
			free(l->c[i].p);
		}
	free(l->c);
	if (l->cur) {
		s->mem -= l->cap;
		free(l->cur);
	}
	if (!--s->logs && s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
		s->end = 0;
	}
	memset(l, 0, sizeof(*l));
}

void spill_read_init(struct spill_reader *r, const struct spill_log *l)
{
	memset(r, 0, sizeof(*r));
	r->l = l;
}

/* The next chunk into r->p: 1, 0 when there is none, <0 on a read error. */
static int next_chunk(struct spill_reader *r, struct strata_err *e)
{
	const struct spill_log *l = r->l;
	const struct spill_chunk *c;
	size_t got = 0;

	if (r->ci > l->n)
		return 0;
	if (r->ci == l->n) {  /* last, what is being filled */
		r->ci++;
		r->p = l->cur;
		r->len = l->cur ? l->used : 0;
		r->at = 0;
		return r->len ? 1 : 0;
	}
	c = &l->c[r->ci++];
	r->at = 0;
	r->len = c->len;
	if (c->p) {
		r->p = c->p;
		return 1;
	}
	if (r->bcap < c->len) {
		char *b = realloc(r->buf, c->len);

		if (!b)
			return err_nomem(e, "spill");
		r->buf = b;
		r->bcap = c->len;
	}
	while (got < c->len) {
		ssize_t n = pread(l->s->fd, r->buf + got, c->len - got, (off_t)(c->off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return err_sys(e, n < 0 ? errno : EIO, "cannot read the spill file");
		got += (size_t)n;
	}
	r->p = r->buf;
	return 1;
}

int spill_read(struct spill_reader *r, const void **p, size_t *n, struct strata_err *e)
{
	uint32_t len;
	int k;

	while (!r->p || r->at >= r->len) {
		if ((k = next_chunk(r, e)) <= 0)
			return k;
	}
	memcpy(&len, r->p + r->at, sizeof(len));
	*p = r->p + r->at + sizeof(len);
	*n = len;
	r->at += sizeof(len) + len;
	return 1;
}

void spill_read_release(struct spill_reader *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}
