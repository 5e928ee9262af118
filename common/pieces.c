/* pieces.c - archives cut into pieces: writer thread and reading stream; see pieces.h. */
#include "common/pieces.h"
#include "common/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cancel.h"
#include "common/digest.h"
#include "common/fsutil.h"

#define PIECE_BUF (1u << 20)

void pieces_release(struct pieces *p)
{
	size_t i;

	for (i = 0; i < p->len; i++)
		free(p->v[i].path);
	free(p->v);
	free(p->name);
	memset(p, 0, sizeof(*p));
}

int pieces_add(struct pieces *p, const char *path, uint64_t size, const char *hex, struct strata_err *e)
{
	struct piece *v;

	if (p->len >= PIECES_MAX)
		return err_set(e, STRATA_EFORMAT, "more than %d pieces", PIECES_MAX);
	if (!(v = realloc(p->v, (p->len + 1) * sizeof(*v))))
		return err_nomem(e, "pieces");
	p->v = v;
	memset(&v[p->len], 0, sizeof(*v));
	if (!(v[p->len].path = strdup(path)))
		return err_nomem(e, "pieces");
	v[p->len].size = size;
	snprintf(v[p->len].hex, sizeof(v[p->len].hex), "%s", hex ? hex : "");
	p->len++;
	return 0;
}

char *pieces_name(const char *out, size_t i)
{
	size_t n = strlen(out) + 24;
	char *p = malloc(n);

	if (p)
		snprintf(p, n, "%s.%03zu", out, i);
	return p;
}

int pieces_parse_size(const char *s, uint64_t *out)
{
	uint64_t v = 0, mul = 1;
	const char *p = s;

	if (!s || *s < '0' || *s > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	switch (*p) {
	case 'k': case 'K': mul = 1ull << 10; p++; break;
	case 'm': case 'M': mul = 1ull << 20; p++; break;
	case 'g': case 'G': mul = 1ull << 30; p++; break;
	case 't': case 'T': mul = 1ull << 40; p++; break;
	default: break;
	}
	if (mul > 1 && (!strcmp(p, "B") || !strcmp(p, "iB")))
		p += strlen(p);
	else if (mul == 1 && !strcmp(p, "B"))
		p++;
	if (*p || !v || v > UINT64_MAX / mul)
		return -1;
	*out = v * mul;
	return 0;
}

/* ---- messages ---- (a set of one is an archive written whole) */

static void msg_missing(const struct pieces *p, size_t i, char *buf, size_t n)
{
	if (p->len == 1)
		snprintf(buf, n, "missing (the transfer manifest lists it: sha256 %s, %llu bytes)", p->v[i].hex,
			 (unsigned long long)p->v[i].size);
	else
		snprintf(buf, n, "missing: piece %zu of %zu (expected sha256 %s, %llu bytes)", i + 1, p->len, p->v[i].hex,
			 (unsigned long long)p->v[i].size);
}

static void msg_size(const struct pieces *p, size_t i, uint64_t got, char *buf, size_t n)
{
	const char *what = got < p->v[i].size ? "truncated" : "too long";

	if (p->len == 1)
		snprintf(buf, n, "%s: %llu bytes, the transfer manifest says %llu (sha256 %s)", what,
			 (unsigned long long)got, (unsigned long long)p->v[i].size, p->v[i].hex);
	else
		snprintf(buf, n, "%s: %llu bytes, piece %zu of %zu is %llu (expected sha256 %s)", what,
			 (unsigned long long)got, i + 1, p->len, (unsigned long long)p->v[i].size, p->v[i].hex);
}

static void msg_digest(const struct pieces *p, size_t i, const char *got, char *buf, size_t n)
{
	size_t j;

	if (p->len == 1) {
		snprintf(buf, n, "corrupt: sha256 %s, the transfer manifest says %s", got, p->v[i].hex);
		return;
	}
	for (j = 0; j < p->len; j++)
		if (j != i && !strcmp(p->v[j].hex, got)) {
			snprintf(buf, n, "out of order: holds piece %zu of %zu, not piece %zu (expected sha256 %s)", j + 1,
				 p->len, i + 1, p->v[i].hex);
			return;
		}
	snprintf(buf, n, "corrupt, or a piece of another set: sha256 %s, piece %zu of %zu is sha256 %s", got, i + 1,
		 p->len, p->v[i].hex);
}

/* ---- writing ---- */

struct pieces_writer {
	char *out;
	uint64_t piece_size;
	int rfd, wfd;
	pthread_t th;
	bool started, committed;
	/* the thread's */
	struct pieces res;
	char **tmps;                 /* temp name of each piece */
	int cur_fd;
	uint64_t cur_size;
	struct digest_ctx piece, whole;
	struct strata_err err;
	int rc;
};

static int pw_open_piece(struct pieces_writer *w, struct strata_err *e)
{
	char *final, *tmp, **t;
	size_t n;
	int r;

	if (w->res.len >= PIECES_MAX)
		return err_set(e, STRATA_EUSAGE, "'%s': --split %llu makes more than %d pieces: give a larger size", w->out,
			       (unsigned long long)w->piece_size, PIECES_MAX);
	if (!(final = pieces_name(w->out, w->res.len)))
		return err_nomem(e, "pieces");
	n = strlen(final) + 48;
	if (!(tmp = malloc(n)) || !(t = realloc(w->tmps, (w->res.len + 1) * sizeof(*t)))) {
		free(tmp);
		free(final);
		return err_nomem(e, "pieces");
	}
	w->tmps = t;
	snprintf(tmp, n, "%s.strata-tmp-%ld", final, (long)getpid());
	if ((r = pieces_add(&w->res, final, 0, "", e)) < 0) {
		free(tmp);
		free(final);
		return r;
	}
	free(final);
	w->tmps[w->res.len - 1] = tmp;
	if ((w->cur_fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0)
		return err_sys(e, errno, "cannot create '%s'", w->res.v[w->res.len - 1].path);
	w->cur_size = 0;
	return 0;
}

static int pw_close_piece(struct pieces_writer *w, struct strata_err *e)
{
	struct piece *pc = &w->res.v[w->res.len - 1];
	char dg[DIGEST_STR_MAX];
	int r = 0;

	digest_final(&w->piece, dg);
	snprintf(pc->hex, sizeof(pc->hex), "%s", digest_hex(dg));
	pc->size = w->cur_size;
	if (close(w->cur_fd) < 0)
		r = err_sys(e, errno, "write '%s'", pc->path);
	w->cur_fd = -1;
	return r;
}

static void *pw_thread(void *arg)
{
	struct pieces_writer *w = arg;
	uint8_t *buf = malloc(PIECE_BUF);
	struct strata_err *e = &w->err;
	ssize_t k;
	int r = 0;

	if (!buf)
		r = err_nomem(e, "pieces");
	while (r == 0) {
		size_t off = 0;

		k = read(w->rfd, buf, PIECE_BUF);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = err_sys(e, errno, "read the archive stream");
			break;
		}
		if (k == 0)
			break;
		digest_update(&w->whole, buf, (size_t)k);
		w->res.size += (uint64_t)k;
		while (r == 0 && off < (size_t)k) {
			size_t take = (size_t)k - off;

			if (w->cur_fd < 0 && (r = pw_open_piece(w, e)) < 0)
				break;
			if (take > w->piece_size - w->cur_size)
				take = (size_t)(w->piece_size - w->cur_size);
			if ((r = write_all(w->cur_fd, buf + off, take, w->res.v[w->res.len - 1].path, e)) < 0)
				break;
			digest_update(&w->piece, buf + off, take);
			w->cur_size += take;
			off += take;
			if (w->cur_size == w->piece_size)
				r = pw_close_piece(w, e);
		}
	}
	if (r == 0 && w->cur_fd >= 0)
		r = pw_close_piece(w, e);
	if (r == 0) {
		char dg[DIGEST_STR_MAX];

		digest_final(&w->whole, dg);
		snprintf(w->res.hex, sizeof(w->res.hex), "%s", digest_hex(dg));
	}
	/* on an error, the writer's next write fails (EPIPE) instead of blocking */
	close(w->rfd);
	w->rfd = -1;
	free(buf);
	w->rc = r;
	return NULL;
}

int pieces_writer_open(struct pieces_writer **out, const char *path, uint64_t piece_size, int *fd,
		       struct strata_err *e)
{
	struct pieces_writer *w = calloc(1, sizeof(*w));
	int p[2], r;

	*out = NULL;
	*fd = -1;
	if (!w)
		return err_nomem(e, "pieces");
	w->rfd = w->wfd = w->cur_fd = -1;
	w->piece_size = piece_size;
	if (!(w->out = strdup(path)) || !(w->res.name = strdup(path))) {
		pieces_writer_free(w, false);
		return err_nomem(e, "pieces");
	}
	if ((r = digest_init(&w->piece, DIGEST_SHA256, e)) < 0 || (r = digest_init(&w->whole, DIGEST_SHA256, e)) < 0) {
		pieces_writer_free(w, false);
		return r;
	}
	w->res.checked = true;
	if (pipe2(p, O_CLOEXEC) < 0) {
		r = err_sys(e, errno, "pipe");
		pieces_writer_free(w, false);
		return r;
	}
	w->rfd = p[0];
	w->wfd = p[1];
	(void)fcntl(w->wfd, F_SETPIPE_SZ, 1 << 20);  /* fewer wakeups; the default works too */
	if ((r = pthread_create(&w->th, NULL, pw_thread, w)) != 0) {
		r = err_sys(e, r, "cannot start the piece writer");
		pieces_writer_free(w, false);
		return r;
	}
	w->started = true;
	*fd = w->wfd;
	*out = w;
	return 0;
}

static void pw_join(struct pieces_writer *w)
{
	if (w->wfd >= 0)
		close(w->wfd);
	w->wfd = -1;
	if (w->started)
		pthread_join(w->th, NULL);
	w->started = false;
}

int pieces_writer_finish(struct pieces_writer *w, struct pieces *res, struct strata_err *e)
{
	size_t i;
	int r;

	pw_join(w);
	if (w->rc < 0) {
		*e = w->err;
		return w->rc;
	}
	memset(res, 0, sizeof(*res));
	res->checked = true;
	res->size = w->res.size;
	memcpy(res->hex, w->res.hex, sizeof(res->hex));
	if (!(res->name = strdup(w->out)))
		return err_nomem(e, "pieces");
	for (i = 0; i < w->res.len; i++)
		if ((r = pieces_add(res, w->res.v[i].path, w->res.v[i].size, w->res.v[i].hex, e)) < 0) {
			pieces_release(res);
			return r;
		}
	return 0;
}

int pieces_writer_commit(struct pieces_writer *w, struct strata_err *e)
{
	size_t i;

	pw_join(w);
	if (w->rc < 0) {
		*e = w->err;
		return w->rc;
	}
	for (i = 0; i < w->res.len; i++) {
		if (rename(w->tmps[i], w->res.v[i].path) < 0)
			return err_sys(e, errno, "rename '%s'", w->res.v[i].path);
		free(w->tmps[i]);
		w->tmps[i] = NULL;
	}
	w->committed = true;
	/* an earlier, longer set's last pieces would otherwise look like ours */
	for (i = w->res.len; i < PIECES_MAX; i++) {
		char *stale = pieces_name(w->out, i);
		int gone = stale && unlink(stale) < 0 && errno == ENOENT;

		free(stale);
		if (!stale || gone)
			break;
	}
	return 0;
}

void pieces_writer_reason(struct pieces_writer *w, struct strata_err *e)
{
	pw_join(w);
	if (w->rc < 0)
		*e = w->err;
}

void pieces_writer_free(struct pieces_writer *w, bool keep)
{
	size_t i;

	if (!w)
		return;
	pw_join(w);
	if (w->cur_fd >= 0)
		close(w->cur_fd);
	for (i = 0; i < w->res.len; i++) {
		if (w->tmps && w->tmps[i])
			unlink(w->tmps[i]);
		else if (w->committed && !keep)
			unlink(w->res.v[i].path);
		if (w->tmps)
			free(w->tmps[i]);
	}
	free(w->tmps);
	if (w->rfd >= 0)
		close(w->rfd);
	digest_release(&w->piece);
	digest_release(&w->whole);
	pieces_release(&w->res);
	free(w->out);
	free(w);
}

/* ---- reading ---- */

/*
 * A checked set is read by two threads and copied once, as the joined file
 * would be.  The consumer (ps_next) reads the pieces in turn with read(2)
 * into its buffer, checking their sizes as it goes.  A checker thread hashes
 * the same pieces through read-only mappings of WINDOW bytes (the page
 * cache's own pages: nothing is copied for it, and no buffer passes between
 * the threads), at most LEAD bytes ahead of the consumer, so that the two
 * read the same pages while they are in the CPU's cache (and on a cold
 * medium the checker's faults are the consumer's read-ahead).  Windows of
 * 1-8 MiB and leads of 4-64 MiB measured alike (bench/README.md).  At a piece's end the
 * consumer waits for the checker's verdict on it before it hands on a byte
 * of the next piece: a piece that does not match fails the stream there.
 *
 * A piece truncated while it is mapped raises SIGBUS in the checker: a
 * handler that acts only on that thread, inside the hashing of a window,
 * jumps back out and the piece fails as truncated.  A file that cannot be
 * mapped is read into a buffer instead.
 */
#define WINDOW (2u << 20)
#define LEAD (8u << 20)

struct checker {
	pthread_t th;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* under mu */
	uint64_t consumed;           /* bytes of the set the consumer has read */
	size_t matched;              /* pieces whose sha256 matched, in order */
	bool failed;                 /* piece `matched` did not: err says why */
	bool quit;                   /* ps_free: stop */
	struct strata_err err;
	uint8_t *buf;                /* the checker's, for files that cannot be mapped */
};

struct pieces_stream {
	struct stream s;
	const struct pieces *p;
	size_t i, verified;          /* the piece being read; pieces passed checked */
	int fd;
	uint64_t got, done;          /* bytes of piece i, of the set */
	uint8_t *buf;
	struct checker c;            /* checked sets */
	stream_progress_fn progress;
	void *pctx;
};

/* ---- the checker ---- */

static __thread sigjmp_buf *bus_jmp;

static void on_sigbus(int sig)
{
	if (bus_jmp)
		siglongjmp(*bus_jmp, 1);
	/* not a mapped piece: what SIGBUS would have done */
	signal(sig, SIG_DFL);
	raise(sig);
}

static void install_sigbus(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigbus;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
}

int pieces_hash_window(struct digest_ctx *d, int fd, uint64_t off, size_t len)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	sigjmp_buf jb;
	volatile int r = 0;
	void *m;

	pthread_once(&once, install_sigbus);
	m = mmap(NULL, len, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, (off_t)off);
	if (m == MAP_FAILED)
		return -1;
	if (sigsetjmp(jb, 1) == 0) {
		bus_jmp = &jb;
		digest_update(d, m, len);
	} else {
		r = 1;
	}
	bus_jmp = NULL;
	munmap(m, len);
	return r;
}

/* Wait until the consumer is within LEAD of end (a set offset); false when
 * told to quit. */
static bool wait_lead(struct checker *c, uint64_t end)
{
	bool go;

	pthread_mutex_lock(&c->mu);
	while (!c->quit && end > c->consumed + LEAD)
		pthread_cond_wait(&c->cv, &c->mu);
	go = !c->quit;
	pthread_mutex_unlock(&c->mu);
	return go;
}

/* Hash [off, off+len) of piece i by read(2): for files mmap refuses. */
static int hash_read(struct pieces_stream *ps, size_t i, int fd, uint64_t off, size_t len, struct digest_ctx *d,
		     struct strata_err *e)
{
	char msg[512];

	if (!ps->c.buf && !(ps->c.buf = malloc(PIECE_BUF)))
		return err_nomem(e, "pieces");
	while (len) {
		ssize_t k = pread(fd, ps->c.buf, len < PIECE_BUF ? len : PIECE_BUF, (off_t)off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return err_sys(e, errno, "read '%s'", ps->p->v[i].path);
		if (k == 0) {
			msg_size(ps->p, i, off, msg, sizeof(msg));
			return err_set(e, STRATA_EVERIFY, "'%s': %s", ps->p->v[i].path, msg);
		}
		digest_update(d, ps->c.buf, (size_t)k);
		off += (uint64_t)k;
		len -= (size_t)k;
	}
	return 0;
}

/* Hash piece i (at set offset base) and compare: 0 when it matched, 1 when
 * told to quit, or an error. */
static int check_piece(struct pieces_stream *ps, size_t i, uint64_t base, struct digest_ctx *d, struct strata_err *e)
{
	const struct piece *pc = &ps->p->v[i];
	char msg[512], dg[DIGEST_STR_MAX];
	struct stat st;
	uint64_t off;
	bool map = true;
	int fd, r = 0;

	if ((fd = open_regular(pc->path, true, NULL)) < 0) {
		if (errno == EINVAL)
			return err_set(e, STRATA_EFORMAT, "'%s' is not a regular file", pc->path);
		if (errno != ENOENT)
			return err_sys(e, errno, "cannot open '%s'", pc->path);
		msg_missing(ps->p, i, msg, sizeof(msg));
		return err_set(e, STRATA_EVERIFY, "'%s': %s", pc->path, msg);
	}
	if (fstat(fd, &st) < 0) {
		r = err_sys(e, errno, "cannot open '%s'", pc->path);
		goto out;
	}
	if ((uint64_t)st.st_size != pc->size) {
		msg_size(ps->p, i, (uint64_t)st.st_size, msg, sizeof(msg));
		r = err_set(e, STRATA_EVERIFY, "'%s': %s", pc->path, msg);
		goto out;
	}
	for (off = 0; off < pc->size; off += WINDOW) {
		size_t len = pc->size - off < WINDOW ? (size_t)(pc->size - off) : WINDOW;
		int h = -1;

		if (strata_cancel) {
			r = err_set(e, STRATA_EIO, "interrupted");
			goto out;
		}
		if (!wait_lead(&ps->c, base + off + len)) {
			r = 1;
			goto out;
		}
		if (map && (h = pieces_hash_window(d, fd, off, len)) < 0)
			map = false;
		if (h == 1) {
			/* it shrank under the mapping */
			msg_size(ps->p, i, fstat(fd, &st) == 0 ? (uint64_t)st.st_size : off, msg, sizeof(msg));
			r = err_set(e, STRATA_EVERIFY, "'%s': %s", pc->path, msg);
			goto out;
		}
		if (h < 0 && (r = hash_read(ps, i, fd, off, len, d, e)) < 0)
			goto out;
	}
	digest_final(d, dg);
	if (strcmp(digest_hex(dg), pc->hex)) {
		msg_digest(ps->p, i, digest_hex(dg), msg, sizeof(msg));
		r = err_set(e, STRATA_EVERIFY, "'%s': %s", pc->path, msg);
	}
out:
	close(fd);
	return r;
}

static void *checker_thread(void *arg)
{
	struct pieces_stream *ps = arg;
	struct checker *c = &ps->c;
	struct strata_err e = STRATA_ERR_INIT;
	struct digest_ctx d;
	uint64_t base = 0;
	size_t i;
	int r;

	if ((r = digest_init(&d, DIGEST_SHA256, &e)) == 0) {
		for (i = 0; i < ps->p->len; i++) {
			if ((r = check_piece(ps, i, base, &d, &e)) != 0)
				break;
			pthread_mutex_lock(&c->mu);
			c->matched++;
			pthread_cond_broadcast(&c->cv);
			pthread_mutex_unlock(&c->mu);
			base += ps->p->v[i].size;
		}
		digest_release(&d);
	}
	if (r < 0) {
		pthread_mutex_lock(&c->mu);
		c->failed = true;
		c->err = e;
		pthread_cond_broadcast(&c->cv);
		pthread_mutex_unlock(&c->mu);
	}
	return NULL;
}

/* ---- the consumer ---- */

static int ps_fail(struct pieces_stream *ps, size_t i, const char *msg, struct strata_err *e)
{
	return err_set(e, STRATA_EVERIFY, "'%s': %s", ps->p->v[i].path, msg);
}

/* The end of piece i: the checker's verdict on it. */
static int piece_verdict(struct pieces_stream *ps, size_t i, struct strata_err *e)
{
	struct checker *c = &ps->c;
	int r = 0;

	pthread_mutex_lock(&c->mu);
	while (c->matched <= i && !c->failed)
		pthread_cond_wait(&c->cv, &c->mu);
	if (c->matched <= i) {
		*e = c->err;
		r = -e->code;
	}
	pthread_mutex_unlock(&c->mu);
	return r;
}

static int ps_next(struct stream *s, const uint8_t **p, size_t *n, struct strata_err *e)
{
	struct pieces_stream *ps = (struct pieces_stream *)s;
	const struct pieces *set = ps->p;
	char msg[512];
	ssize_t k;
	int r;

	for (;;) {
		if (strata_cancel)
			return err_set(e, STRATA_EIO, "interrupted");
		if (ps->fd < 0) {
			if (ps->i == set->len) {
				*n = 0;
				return 0;
			}
			if ((ps->fd = open_regular(set->v[ps->i].path, true, NULL)) < 0) {
				if (errno == EINVAL)
					return err_set(e, STRATA_EFORMAT, "'%s' is not a regular file", set->v[ps->i].path);
				if (errno != ENOENT)
					return err_sys(e, errno, "cannot open '%s'", set->v[ps->i].path);
				msg_missing(set, ps->i, msg, sizeof(msg));
				return ps_fail(ps, ps->i, msg, e);
			}
			ps->got = 0;
		}
		k = read(ps->fd, ps->buf, PIECE_BUF);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return err_sys(e, errno, "read '%s'", set->v[ps->i].path);
		if (k > 0) {
			if (set->checked && ps->got + (uint64_t)k > set->v[ps->i].size) {
				msg_size(set, ps->i, ps->got + (uint64_t)k, msg, sizeof(msg));
				return ps_fail(ps, ps->i, msg, e);
			}
			ps->got += (uint64_t)k;
			ps->done += (uint64_t)k;
			if (set->checked) {
				pthread_mutex_lock(&ps->c.mu);
				ps->c.consumed = ps->done;
				pthread_cond_broadcast(&ps->c.cv);
				pthread_mutex_unlock(&ps->c.mu);
			}
			if (ps->progress)
				ps->progress(ps->pctx, ps->done);
			*p = ps->buf;
			*n = (size_t)k;
			return 0;
		}
		/* the end of a piece: its size and digest, before the next byte */
		close(ps->fd);
		ps->fd = -1;
		if (set->checked) {
			if (ps->got != set->v[ps->i].size) {
				msg_size(set, ps->i, ps->got, msg, sizeof(msg));
				return ps_fail(ps, ps->i, msg, e);
			}
			if ((r = piece_verdict(ps, ps->i, e)) < 0)
				return r;
			ps->verified++;
		}
		ps->i++;
	}
}

static void ps_free(struct stream *s)
{
	struct pieces_stream *ps = (struct pieces_stream *)s;

	if (ps->fd >= 0)
		close(ps->fd);
	if (ps->c.started) {
		pthread_mutex_lock(&ps->c.mu);
		ps->c.quit = true;
		pthread_cond_broadcast(&ps->c.cv);
		pthread_mutex_unlock(&ps->c.mu);
		pthread_join(ps->c.th, NULL);
		pthread_mutex_destroy(&ps->c.mu);
		pthread_cond_destroy(&ps->c.cv);
	}
	free(ps->c.buf);
	free(ps->buf);
	free(ps);
}

static const struct stream_ops pieces_ops = { "pieces", ps_next, ps_free };

struct stream *pieces_stream_new(const struct pieces *p, struct strata_err *e)
{
	struct pieces_stream *ps;
	char msg[512];
	struct stat st;
	size_t i;
	int r;

	if (p->checked)
		for (i = 0; i < p->len; i++) {
			if (stat(p->v[i].path, &st) < 0) {
				if (errno != ENOENT) {
					err_sys(e, errno, "cannot open '%s'", p->v[i].path);
					return NULL;
				}
				msg_missing(p, i, msg, sizeof(msg));
			} else if (!S_ISREG(st.st_mode))
				msg_missing(p, i, msg, sizeof(msg));
			else if ((uint64_t)st.st_size != p->v[i].size)
				msg_size(p, i, (uint64_t)st.st_size, msg, sizeof(msg));
			else
				continue;
			err_set(e, STRATA_EVERIFY, "'%s': %s", p->v[i].path, msg);
			return NULL;
		}
	if (!(ps = calloc(1, sizeof(*ps)))) {
		err_nomem(e, "pieces");
		return NULL;
	}
	ps->s.ops = &pieces_ops;
	ps->p = p;
	ps->fd = -1;
	if (!(ps->buf = malloc(PIECE_BUF))) {
		ps_free(&ps->s);
		err_nomem(e, "pieces");
		return NULL;
	}
	if (!p->checked)
		return &ps->s;
	pthread_mutex_init(&ps->c.mu, NULL);
	pthread_cond_init(&ps->c.cv, NULL);
	if ((r = pthread_create(&ps->c.th, NULL, checker_thread, ps)) != 0) {
		pthread_mutex_destroy(&ps->c.mu);
		pthread_cond_destroy(&ps->c.cv);
		ps_free(&ps->s);
		err_sys(e, r, "cannot start the piece checker");
		return NULL;
	}
	ps->c.started = true;
	return &ps->s;
}

void pieces_stream_progress(struct stream *s, stream_progress_fn fn, void *ctx)
{
	struct pieces_stream *ps = (struct pieces_stream *)s;

	ps->progress = fn;
	ps->pctx = ctx;
}

size_t pieces_stream_verified(const struct stream *s)
{
	return ((const struct pieces_stream *)s)->verified;
}

static int hash_piece(const char *path, char hex[65], uint64_t *size, struct strata_err *e)
{
	struct digest_ctx d;
	char dg[DIGEST_STR_MAX];
	uint8_t *buf;
	ssize_t k;
	int fd, r;

	if ((fd = open_regular(path, true, NULL)) < 0)
		return err_sys(e, errno, "cannot open '%s'", path);
	if (!(buf = malloc(PIECE_BUF))) {
		close(fd);
		return err_nomem(e, "pieces");
	}
	if ((r = digest_init(&d, DIGEST_SHA256, e)) < 0) {
		free(buf);
		close(fd);
		return r;
	}
	*size = 0;
	while ((k = read(fd, buf, PIECE_BUF)) != 0) {
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = err_sys(e, errno, "read '%s'", path);
			break;
		}
		digest_update(&d, buf, (size_t)k);
		*size += (uint64_t)k;
	}
	digest_final(&d, dg);
	snprintf(hex, 65, "%s", digest_hex(dg));
	digest_release(&d);
	free(buf);
	close(fd);
	return r;
}

int pieces_check_all(const struct pieces *p, pieces_problem_fn fn, void *ctx, struct strata_err *e)
{
	char msg[512], hex[65];
	struct stat st;
	uint64_t size = 0;
	size_t i;
	int r, bad = 0;

	for (i = 0; i < p->len; i++) {
		if (stat(p->v[i].path, &st) < 0) {
			if (errno != ENOENT)
				return err_sys(e, errno, "cannot open '%s'", p->v[i].path);
			msg_missing(p, i, msg, sizeof(msg));
		} else if (!S_ISREG(st.st_mode)) {
			msg_missing(p, i, msg, sizeof(msg));
		} else if ((uint64_t)st.st_size != p->v[i].size) {
			msg_size(p, i, (uint64_t)st.st_size, msg, sizeof(msg));
		} else if ((r = hash_piece(p->v[i].path, hex, &size, e)) < 0) {
			return r;
		} else if (size != p->v[i].size) {
			msg_size(p, i, size, msg, sizeof(msg));
		} else if (strcmp(hex, p->v[i].hex)) {
			msg_digest(p, i, hex, msg, sizeof(msg));
		} else {
			continue;
		}
		fn(ctx, i, msg);
		bad++;
	}
	return bad;
}
