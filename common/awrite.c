/* awrite.c - asynchronous ordered writer; see awrite.h. */
#include "awrite.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include "cancel.h"

struct awriter {
	pthread_t tid;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *buf[AW_BUFS];
	size_t len[AW_BUFS];
	int fd[AW_BUFS];
	int rin[AW_BUFS];        /* a range copy instead of buffer bytes: source fd, or -1 */
	uint64_t roff[AW_BUFS], rlen[AW_BUFS];
	size_t head, count;      /* queued buffers: head is the oldest */
	size_t fill;             /* buffer being filled by the caller (head + count), len[fill] so far */
	bool stop, busy;
	int err;                 /* first errno of the writer thread */
	bool err_copy;           /* ... of a range copy: the source may be the one failing */
	int cur_fd;
	char what[256];
};

/* Copy in the kernel where it can: copy_file_range between regular files,
 * sendfile into a pipe or a character device; else through buf (a file
 * opened O_APPEND, which both refuse).  0 or errno. */
static int copy_range(int in, uint64_t off, int out, uint64_t len, char *buf)
{
	loff_t o = (loff_t)off;
	enum { CFR, SENDFILE, BUFFER } how = CFR;

	while (len) {
		ssize_t k;

		if (how == CFR) {
			k = copy_file_range(in, &o, out, NULL, len > (1u << 30) ? (1u << 30) : len, 0);
			if (k < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP ||
				      errno == EBADF)) {
				how = SENDFILE;
				continue;
			}
		} else if (how == SENDFILE) {
			off_t so = (off_t)o;

			k = sendfile(out, in, &so, len > (1u << 30) ? (1u << 30) : len);
			if (k < 0 && (errno == EINVAL || errno == ENOSYS)) {
				how = BUFFER;
				continue;
			}
			if (k > 0)
				o = (loff_t)so;
		} else {
			size_t want = len < AW_BUF_SIZE ? (size_t)len : AW_BUF_SIZE, done = 0;

			k = pread(in, buf, want, o);
			while (k > 0 && done < (size_t)k) {
				ssize_t w = write(out, buf + done, (size_t)k - done);

				if (w < 0 && errno == EINTR)
					continue;
				if (w < 0)
					return errno;
				done += (size_t)w;
			}
			if (k > 0)
				o += k;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return errno;
		if (k == 0)
			return EIO;  /* the source ended early */
		len -= (uint64_t)k;
	}
	return 0;
}

static void *writer(void *arg)
{
	struct awriter *aw = arg;

	pthread_mutex_lock(&aw->mu);
	for (;;) {
		size_t i, off = 0;
		int fd, failed = 0;

		while (!aw->count && !aw->stop)
			pthread_cond_wait(&aw->cv, &aw->mu);
		if (!aw->count)
			break;
		i = aw->head;
		fd = aw->fd[i];
		aw->busy = true;
		pthread_mutex_unlock(&aw->mu);
		if (aw->rin[i] >= 0)
			failed = copy_range(aw->rin[i], aw->roff[i], fd, aw->rlen[i], aw->buf[i]);
		while (aw->rin[i] < 0 && off < aw->len[i]) {
			ssize_t k = write(fd, aw->buf[i] + off, aw->len[i] - off);

			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0) {
				failed = errno;
				break;
			}
			off += (size_t)k;
		}
		pthread_mutex_lock(&aw->mu);
		if (failed && !aw->err) {
			aw->err = failed;
			/* a full or closed destination is the destination's, copy or not */
			aw->err_copy = aw->rin[i] >= 0 && failed != ENOSPC && failed != EDQUOT && failed != EFBIG &&
				       failed != EPIPE;
		}
		aw->len[i] = 0;
		aw->rin[i] = -1;
		aw->head = (aw->head + 1) % AW_BUFS;
		aw->count--;
		aw->busy = false;
		pthread_cond_broadcast(&aw->cv);
	}
	pthread_mutex_unlock(&aw->mu);
	return NULL;
}

int aw_new(struct awriter **out, struct strata_err *e)
{
	struct awriter *aw = calloc(1, sizeof(*aw));
	int i, rc;

	*out = NULL;
	if (!aw)
		return err_nomem(e, "writer");
	for (i = 0; i < AW_BUFS; i++)
		if (!(aw->buf[i] = malloc(AW_BUF_SIZE))) {
			while (i--)
				free(aw->buf[i]);
			free(aw);
			return err_nomem(e, "writer buffers");
		}
	aw->cur_fd = -1;
	for (i = 0; i < AW_BUFS; i++)
		aw->rin[i] = -1;
	pthread_mutex_init(&aw->mu, NULL);
	pthread_cond_init(&aw->cv, NULL);
	if ((rc = pthread_create(&aw->tid, NULL, writer, aw))) {
		for (i = 0; i < AW_BUFS; i++)
			free(aw->buf[i]);
		pthread_mutex_destroy(&aw->mu);
		pthread_cond_destroy(&aw->cv);
		free(aw);
		return err_sys(e, rc, "cannot start the writer thread");
	}
	*out = aw;
	return 0;
}

/* Hand the buffer being filled to the writer thread. */
static void submit(struct awriter *aw)
{
	pthread_mutex_lock(&aw->mu);
	aw->fd[aw->fill] = aw->cur_fd;
	aw->count++;
	aw->fill = (aw->head + aw->count) % AW_BUFS;
	pthread_cond_broadcast(&aw->cv);
	/* wait for a free buffer to fill next */
	while (aw->count == AW_BUFS)
		pthread_cond_wait(&aw->cv, &aw->mu);
	aw->fill = (aw->head + aw->count) % AW_BUFS;
	pthread_mutex_unlock(&aw->mu);
}

static int check(struct awriter *aw, struct strata_err *e)
{
	bool copy;
	int err;

	pthread_mutex_lock(&aw->mu);
	err = aw->err;
	copy = aw->err_copy;
	pthread_mutex_unlock(&aw->mu);
	if (err)
		return err_sys(e, err, "%s '%s'", copy ? "copy from the source into" : "write", aw->what);
	if (strata_cancel)
		return err_set(e, STRATA_EIO, "interrupted");
	return 0;
}

int aw_write(struct awriter *aw, const void *p, size_t n, struct strata_err *e)
{
	const char *c = p;
	int r;

	if ((r = check(aw, e)) < 0)
		return r;
	while (n) {
		size_t room = AW_BUF_SIZE - aw->len[aw->fill], take = n < room ? n : room;

		memcpy(aw->buf[aw->fill] + aw->len[aw->fill], c, take);
		aw->len[aw->fill] += take;
		c += take;
		n -= take;
		if (aw->len[aw->fill] == AW_BUF_SIZE)
			submit(aw);
	}
	return 0;
}

int aw_copy_range(struct awriter *aw, int in_fd, uint64_t in_off, uint64_t len, struct strata_err *e)
{
	int r;

	if ((r = check(aw, e)) < 0)
		return r;
	if (aw->len[aw->fill])
		submit(aw);
	aw->rin[aw->fill] = in_fd;
	aw->roff[aw->fill] = in_off;
	aw->rlen[aw->fill] = len;
	submit(aw);
	return 0;
}

int aw_flush(struct awriter *aw, struct strata_err *e)
{
	if (aw->len[aw->fill])
		submit(aw);
	pthread_mutex_lock(&aw->mu);
	while (aw->count || aw->busy)
		pthread_cond_wait(&aw->cv, &aw->mu);
	pthread_mutex_unlock(&aw->mu);
	return check(aw, e);
}

int aw_set_fd(struct awriter *aw, int fd, const char *what, struct strata_err *e)
{
	int r = aw_flush(aw, e);
	size_t n = strlen(what);

	aw->cur_fd = fd;
	pthread_mutex_lock(&aw->mu);
	aw->err = 0;
	aw->err_copy = false;
	pthread_mutex_unlock(&aw->mu);
	n = n < sizeof(aw->what) - 1 ? n : sizeof(aw->what) - 1;
	memcpy(aw->what, what, n);
	aw->what[n] = '\0';
	return r;
}

void aw_free(struct awriter *aw)
{
	int i;

	if (!aw)
		return;
	pthread_mutex_lock(&aw->mu);
	aw->stop = true;
	pthread_cond_broadcast(&aw->cv);
	pthread_mutex_unlock(&aw->mu);
	pthread_join(aw->tid, NULL);
	pthread_mutex_destroy(&aw->mu);
	pthread_cond_destroy(&aw->cv);
	for (i = 0; i < AW_BUFS; i++)
		free(aw->buf[i]);
	free(aw);
}
