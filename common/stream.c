/* stream.c - pull-stream plumbing, sources and the digest tap; see stream.h. */
#include "stream.h"
#include "cancel.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PEEK_MAX 4096

volatile sig_atomic_t strata_cancel;

/* The stage's next block; a failure is kept and given again (a stage is
 * never called after it failed: its state may be half made). */
static int next_block(struct stream *s, const uint8_t **p, size_t *n, struct strata_err *e)
{
	int r;

	if (s->fail.code) {
		*e = s->fail;
		return -s->fail.code;
	}
	if ((r = s->ops->next(s, p, n, e)) < 0) {
		if (!e->code)
			e->code = -r;
		s->fail = *e;
	}
	return r;
}

static int fetch(struct stream *s, struct strata_err *e)
{
	int r;

	if (s->rest_len) {
		s->cur = s->rest;
		s->cur_len = s->rest_len;
		s->rest_len = 0;
		return 0;
	}
	if ((r = next_block(s, &s->cur, &s->cur_len, e)) < 0)
		return r;
	if (s->cur_len == 0)
		s->eof = true;
	return 0;
}

int stream_peek(struct stream *s, size_t want, const uint8_t **p, size_t *n, struct strata_err *e)
{
	size_t have;
	int r;

	if (s->cur_len == 0 && !s->eof && (r = fetch(s, e)) < 0)
		return r;
	if (s->cur_len >= want || s->eof) {
		*p = s->cur;
		*n = s->cur_len < want ? s->cur_len : want;
		return 0;
	}
	/* Coalesce: copy what we have, then take from following blocks, keeping
	 * the rest of the last block for later. */
	if (want > PEEK_MAX)
		return err_set(e, STRATA_EIO, "peek of %zu bytes is over %d", want, PEEK_MAX);
	if (!s->peek && !(s->peek = malloc(PEEK_MAX)))
		return err_nomem(e, "peek buffer");
	if (s->cur != s->peek)
		memmove(s->peek, s->cur, s->cur_len);
	have = s->cur_len;
	while (have < want) {
		size_t take;

		if (!s->rest_len) {
			const uint8_t *b;
			size_t k;

			if (s->eof)
				break;
			if ((r = next_block(s, &b, &k, e)) < 0)
				return r;
			if (k == 0) {
				s->eof = true;
				break;
			}
			s->rest = b;
			s->rest_len = k;
		}
		take = s->rest_len < want - have ? s->rest_len : want - have;
		memcpy(s->peek + have, s->rest, take);
		have += take;
		s->rest += take;
		s->rest_len -= take;
	}
	s->cur = s->peek;
	s->cur_len = have;
	*p = s->cur;
	*n = have < want ? have : want;
	return 0;
}

int stream_get(struct stream *s, const uint8_t **p, size_t *n, size_t max, struct strata_err *e)
{
	int r;

	while (s->cur_len == 0) {
		if (s->eof) {
			*p = NULL;
			*n = 0;
			return 0;
		}
		if ((r = fetch(s, e)) < 0)
			return r;
	}
	*p = s->cur;
	*n = s->cur_len < max ? s->cur_len : max;
	s->cur += *n;
	s->cur_len -= *n;
	s->pos += *n;
	return 0;
}

int stream_read(struct stream *s, void *dst, size_t n, size_t *got, struct strata_err *e)
{
	const uint8_t *p;
	size_t k, done = 0;
	int r;

	while (done < n) {
		if ((r = stream_get(s, &p, &k, n - done, e)) < 0)
			return r;
		if (k == 0)
			break;
		memcpy((uint8_t *)dst + done, p, k);
		done += k;
	}
	*got = done;
	return 0;
}

int stream_skip(struct stream *s, uint64_t n, uint64_t *skipped, struct strata_err *e)
{
	const uint8_t *p;
	uint64_t done = 0;
	size_t k;
	int r;

	while (done < n) {
		size_t want = n - done > SIZE_MAX ? SIZE_MAX : (size_t)(n - done);

		if ((r = stream_get(s, &p, &k, want, e)) < 0)
			return r;
		if (k == 0)
			break;
		done += k;
	}
	if (skipped)
		*skipped = done;
	return 0;
}

int stream_drain(struct stream *s, struct strata_err *e)
{
	return stream_skip(s, UINT64_MAX, NULL, e);
}

void stream_free(struct stream *s)
{
	if (s) {
		free(s->peek);
		s->ops->free(s);
	}
}

/* ---- fd source ---- */

struct fd_stream {
	struct stream s;
	int fd;
	size_t size;
	uint8_t *buf;
	stream_progress_fn progress;
	void *pctx;
	uint64_t done;
	bool ranged;          /* pread from off, at most left bytes */
	uint64_t off, left;
};

static int fd_next(struct stream *s, const uint8_t **p, size_t *n, struct strata_err *e)
{
	struct fd_stream *f = (struct fd_stream *)s;
	ssize_t k;

	do {
		if (strata_cancel)
			return err_set(e, STRATA_EIO, "interrupted");
		if (!f->ranged)
			k = read(f->fd, f->buf, f->size);
		else
			k = pread(f->fd, f->buf, f->left < f->size ? (size_t)f->left : f->size, (off_t)f->off);
	} while (k < 0 && errno == EINTR);
	if (k < 0)
		return err_sys(e, errno, "read");
	if (f->ranged) {
		if (k == 0 && f->left)
			return err_set(e, STRATA_EIO, "read: file ends %llu bytes early (changed while read?)",
				       (unsigned long long)f->left);
		f->off += (uint64_t)k;
		f->left -= (uint64_t)k;
	}
	f->done += (uint64_t)k;
	if (f->progress)
		f->progress(f->pctx, f->done);
	*p = f->buf;
	*n = (size_t)k;
	return 0;
}

void stream_fd_progress(struct stream *s, stream_progress_fn fn, void *ctx, uint64_t base)
{
	struct fd_stream *f = (struct fd_stream *)s;

	f->progress = fn;
	f->pctx = ctx;
	f->done = base;
}

void stream_fd_range(struct stream *s, uint64_t off, uint64_t len)
{
	struct fd_stream *f = (struct fd_stream *)s;

	f->ranged = true;
	f->off = off;
	f->left = len;
}

static void fd_free(struct stream *s)
{
	free(((struct fd_stream *)s)->buf);
	free(s);
}

static const struct stream_ops fd_ops = { "fd", fd_next, fd_free };

struct stream *stream_fd_new(int fd, size_t bufsize, struct strata_err *e)
{
	struct fd_stream *f = calloc(1, sizeof(*f));

	if (!f || !(f->buf = malloc(bufsize))) {
		free(f);
		err_nomem(e, "read buffer");
		return NULL;
	}
	f->s.ops = &fd_ops;
	f->fd = fd;
	f->size = bufsize;
	return &f->s;
}

/* ---- memory source ---- */

struct mem_stream {
	struct stream s;
	const uint8_t *p;
	size_t n;
};

static int mem_next(struct stream *s, const uint8_t **p, size_t *n, struct strata_err *e)
{
	struct mem_stream *m = (struct mem_stream *)s;

	(void)e;
	*p = m->p;
	*n = m->n;
	m->n = 0;
	return 0;
}

static void mem_free(struct stream *s)
{
	free(s);
}

static const struct stream_ops mem_ops = { "mem", mem_next, mem_free };

struct stream *stream_mem_new(const void *p, size_t n, struct strata_err *e)
{
	struct mem_stream *m = calloc(1, sizeof(*m));

	if (!m) {
		err_nomem(e, "stream");
		return NULL;
	}
	m->s.ops = &mem_ops;
	m->p = p;
	m->n = n;
	return &m->s;
}

/* ---- tap ---- */

struct tap_stream {
	struct stream s;
	struct digest_ctx d;
	bool on;
	uint64_t count;
	struct buf *capture;
	bool overflow;
	stream_tee_fn tee;
	void *tee_ctx;
};

static int tap_next(struct stream *s, const uint8_t **p, size_t *n, struct strata_err *e)
{
	struct tap_stream *t = (struct tap_stream *)s;
	int r;

	if ((r = stream_get(s->up, p, n, SIZE_MAX, e)) < 0)
		return r;
	if (t->on)
		digest_update(&t->d, *p, *n);
	if (t->tee && *n && (r = t->tee(t->tee_ctx, *p, *n, e)) < 0)
		return r;
	t->count += *n;
	if (t->capture && !t->overflow && *n) {
		struct strata_err ignore = STRATA_ERR_INIT;

		if (buf_add(t->capture, *p, *n, &ignore) < 0)
			t->overflow = true;
	}
	return 0;
}

static void tap_free(struct stream *s)
{
	digest_release(&((struct tap_stream *)s)->d);
	free(s);
}

static const struct stream_ops tap_ops = { "tap", tap_next, tap_free };

struct stream *stream_tap_new(struct stream *up, enum digest_alg alg, struct strata_err *e)
{
	struct tap_stream *t = calloc(1, sizeof(*t));

	if (!t) {
		err_nomem(e, "stream");
		return NULL;
	}
	if (digest_init(&t->d, alg, e) < 0) {
		free(t);
		return NULL;
	}
	t->s.ops = &tap_ops;
	t->s.up = up;
	t->on = true;
	return &t->s;
}

void stream_tap_enable(struct stream *s, bool on)
{
	((struct tap_stream *)s)->on = on;
}

void stream_tap_capture(struct stream *s, struct buf *b)
{
	struct tap_stream *t = (struct tap_stream *)s;

	t->capture = b;
	t->overflow = false;
}

void stream_tap_tee(struct stream *s, stream_tee_fn fn, void *ctx)
{
	struct tap_stream *t = (struct tap_stream *)s;

	t->tee = fn;
	t->tee_ctx = ctx;
}

bool stream_tap_capture_overflow(const struct stream *s)
{
	return ((const struct tap_stream *)s)->overflow;
}

void stream_tap_result(struct stream *s, char digest[DIGEST_STR_MAX], uint64_t *count)
{
	struct tap_stream *t = (struct tap_stream *)s;

	digest_final(&t->d, digest);
	if (count)
		*count = t->count;
}
