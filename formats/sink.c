/* sink.c - output blob stores, as a directory or a tar; see sink.h. */
#include "formats/sink.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/awrite.h"
#include "common/buf.h"
#include "common/fsutil.h"
#include "common/limits.h"
#include "common/strmap.h"
#include "common/tar.h"

struct sink {
	bool is_dir;
	struct strmap blobs;        /* digests stored (value: 1 = added by this run, 2 = was there) */
	struct strmap files;        /* top-level file names written */
	/* directory */
	char *final_dir, *root;
	bool existing;
	struct buf old_index;
	/* tar */
	bool to_stdout;               /* stdout, or a stream: a character device, a FIFO */
	int stream_fd;                /* that stream's own fd (closed at the end), or -1 */
	struct atomic_file af;
	int fd;
	uint64_t off;
	unsigned seq;
	struct awriter *aw;         /* blob bytes and the tar stream are written on a second thread */
	bool sync;                  /* fsync files and directories, not only rename them */
};

void sink_set_sync(struct sink *s, bool on)
{
	s->sync = on;
	s->af.sync = on;
}

static void sync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

struct sink_blob {
	struct sink *s;
	struct digest_ctx d;
	uint64_t n;
	char expect[DIGEST_STR_MAX];
	int64_t expect_size;
	int fd;                     /* temp file (dir, spool), or -1 */
	char *tmp;
	uint64_t hdr_off;           /* seekable tar: where the header goes */
	bool direct;                /* stdout: header already written */
	bool discard;               /* stdout: a duplicate, only hashed */
	bool copied;                /* a kernel copy was queued (sink_blob_copy) */
	int src_fd;                 /* stdout, not direct: its n bytes are in src_fd (or -1) */
	uint64_t src_off;           /* at src_off, copied at commit instead of spooled */
};

static char *fmt_path(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = malloc(n);

	if (p)
		snprintf(p, n, "%s/%s", a, b);
	return p;
}

static int mkdir_p(const char *root, const char *rel, struct strata_err *e)
{
	char *p = fmt_path(root, rel);
	int r = 0;

	if (!p)
		return err_nomem(e, "path");
	if (mkdir(p, 0755) < 0 && errno != EEXIST) {
		r = err_sys(e, errno, "cannot create '%s'", p);
	} else {
		struct stat st;

		/* one already there is written into only when it is a directory
		 * itself: a symlink would take the blobs out of the layout */
		if (lstat(p, &st) < 0)
			r = err_sys(e, errno, "cannot create '%s'", p);
		else if (!S_ISDIR(st.st_mode))
			r = err_set(e, STRATA_EUSAGE, "'%s' is %snot a directory: blobs are written only inside the layout",
				    p, S_ISLNK(st.st_mode) ? "a symlink, " : "");
	}
	free(p);
	return r;
}

int sink_open_dir(struct sink **out, const char *dir, uint64_t max_index, struct strata_err *e)
{
	struct sink *s = calloc(1, sizeof(*s));
	struct stat st;
	int r;

	*out = NULL;
	if (!s)
		return err_nomem(e, "sink");
	s->is_dir = true;
	s->fd = -1;
	s->stream_fd = -1;
	if (!max_index)
		max_index = LIMIT_MAX_JSON;
	buf_init(&s->old_index, max_index < SIZE_MAX ? (size_t)max_index : SIZE_MAX);
	if (!(s->final_dir = strdup(dir))) {
		free(s);
		return err_nomem(e, "sink");
	}
	if (stat(dir, &st) == 0) {
		char *lay = fmt_path(dir, "oci-layout"), *ix = fmt_path(dir, "index.json");
		struct stat ls;

		if (!S_ISDIR(st.st_mode)) {
			r = err_set(e, STRATA_EUSAGE, "'%s' exists and is not a directory", dir);
		} else if (!lay || !ix) {
			r = err_nomem(e, "path");
		} else if (stat(lay, &ls) < 0) {
			r = err_set(e, STRATA_EUSAGE, "'%s' exists and is not an OCI layout (no oci-layout)", dir);
		} else if ((r = read_regular(ix, false, &s->old_index, STRATA_EUSAGE, e)) < 0 && e->code == STRATA_EFORMAT) {
			r = err_set(e, STRATA_EFORMAT, "the existing '%s' is over %llu bytes, the JSON document limit "
				    "(raise it with --max-json)", ix, (unsigned long long)max_index);
		}
		free(lay);
		free(ix);
		if (r < 0) {
			sink_free(s);
			return r;
		}
		s->existing = true;
		s->root = strdup(dir);
	} else {
		size_t n = strlen(dir) + 48;

		if ((s->root = malloc(n)))
			snprintf(s->root, n, "%s.strata-tmp-%ld", dir, (long)getpid());
		if (s->root && mkdir(s->root, 0755) < 0) {
			r = err_sys(e, errno, "cannot create '%s'", dir);
			free(s->root);
			s->root = NULL;
			sink_free(s);
			return r;
		}
	}
	if (!s->root) {
		sink_free(s);
		return err_nomem(e, "sink");
	}
	if ((r = mkdir_p(s->root, "blobs", e)) < 0 || (r = mkdir_p(s->root, "blobs/sha256", e)) < 0 ||
	    (r = aw_new(&s->aw, e)) < 0) {
		sink_abort(s);
		return r;
	}
	*out = s;
	return 0;
}

static int tar_write(struct sink *s, const void *p, size_t n, struct strata_err *e)
{
	int r = aw_write(s->aw, p, n, e);

	if (r == 0)
		s->off += n;
	return r;
}

static int tar_pad(struct sink *s, uint64_t size, struct strata_err *e)
{
	static const uint8_t zero[512];
	size_t pad = (size_t)((512 - size % 512) % 512);

	return pad ? tar_write(s, zero, pad, e) : 0;
}

static int tar_entry(struct sink *s, const char *name, char type, uint32_t mode, const void *p, size_t n,
		     struct strata_err *e)
{
	uint8_t h[512];
	int r;

	if ((r = tar_header_build(h, name, type, n, mode, e)) < 0 || (r = tar_write(s, h, 512, e)) < 0 ||
	    (r = tar_write(s, p, n, e)) < 0)
		return r;
	return tar_pad(s, n, e);
}

int sink_open_tar(struct sink **out, const char *path, struct strata_err *e)
{
	struct sink *s = calloc(1, sizeof(*s));
	int r;

	*out = NULL;
	if (!s)
		return err_nomem(e, "sink");
	s->fd = -1;
	s->af.fd = -1;
	s->stream_fd = -1;
	buf_init(&s->old_index, 0);
	if (!strcmp(path, "-")) {
		s->to_stdout = true;
		s->fd = 1;
	} else {
		char *file;
		int sfd;

		/* a character device or a FIFO is written like stdout; only a
		 * regular file is replaced */
		if ((r = output_resolve(path, &file, &sfd, e)) < 0) {
			free(s);
			return r;
		}
		if (sfd >= 0) {
			s->to_stdout = true;
			s->fd = s->stream_fd = sfd;
		} else {
			r = atomic_open(&s->af, file, e);
			free(file);
			if (r < 0) {
				free(s);
				return r;
			}
			s->fd = s->af.fd;
		}
	}
	if ((r = aw_new(&s->aw, e)) < 0 ||
	    (r = aw_set_fd(s->aw, s->fd, s->stream_fd >= 0 ? path : s->to_stdout ? "stdout" : s->af.tmp, e)) < 0) {
		sink_abort(s);
		return r;
	}
	if ((r = tar_entry(s, "blobs/", '5', 0755, NULL, 0, e)) < 0 ||
	    (r = tar_entry(s, "blobs/sha256/", '5', 0755, NULL, 0, e)) < 0) {
		sink_abort(s);
		return r;
	}
	*out = s;
	return 0;
}

int sink_open_stream(struct sink **out, int fd, const char *name, struct strata_err *e)
{
	struct sink *s = calloc(1, sizeof(*s));
	int r;

	*out = NULL;
	if (!s)
		return err_nomem(e, "sink");
	s->af.fd = -1;
	s->stream_fd = -1;
	s->to_stdout = true;
	s->fd = fd;
	buf_init(&s->old_index, 0);
	if ((r = aw_new(&s->aw, e)) < 0 || (r = aw_set_fd(s->aw, fd, name, e)) < 0 ||
	    (r = tar_entry(s, "blobs/", '5', 0755, NULL, 0, e)) < 0 ||
	    (r = tar_entry(s, "blobs/sha256/", '5', 0755, NULL, 0, e)) < 0) {
		sink_abort(s);
		return r;
	}
	*out = s;
	return 0;
}

const char *sink_existing_index(const struct sink *s, size_t *len)
{
	*len = s->old_index.len;
	return s->existing ? s->old_index.data : NULL;
}

bool sink_has_blob(const struct sink *s, const char *digest)
{
	char *p;
	struct stat st;
	bool there;
	size_t n;

	if (strmap_get(&s->blobs, digest))
		return true;
	if (!s->is_dir || !s->existing || !digest_valid(digest))
		return false;
	/* a blob already in the existing layout */
	n = strlen(s->root) + 80;
	if (!(p = malloc(n)))
		return false;
	snprintf(p, n, "%s/blobs/sha256/%s", s->root, digest_hex(digest));
	there = stat(p, &st) == 0;
	free(p);
	return there;
}

static int open_temp(struct sink *s, struct sink_blob *b, struct strata_err *e)
{
	const char *dir = s->is_dir ? NULL : getenv("TMPDIR");
	size_t n;

	if (s->is_dir) {
		n = strlen(s->root) + 64;
		if (!(b->tmp = malloc(n)))
			return err_nomem(e, "path");
		snprintf(b->tmp, n, "%s/blobs/sha256/.strata-tmp-%u", s->root, s->seq++);
		b->fd = open(b->tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	} else {
		n = strlen(dir && *dir ? dir : "/tmp") + 32;
		if (!(b->tmp = malloc(n)))
			return err_nomem(e, "path");
		snprintf(b->tmp, n, "%s/strata-spool-XXXXXX", dir && *dir ? dir : "/tmp");
		b->fd = mkstemp(b->tmp);
	}
	if (b->fd < 0) {
		int r = s->is_dir ? err_sys(e, errno, "cannot write a blob into '%s'", s->final_dir)
				  : err_sys(e, errno, "cannot create a spool file in '%s' (TMPDIR)", dir && *dir ? dir : "/tmp");

		free(b->tmp);
		b->tmp = NULL;
		return r;
	}
	return 0;
}

int sink_blob_begin(struct sink *s, struct sink_blob **out, const char *expect_digest, int64_t expect_size, bool hash,
		    struct strata_err *e)
{
	struct sink_blob *b = calloc(1, sizeof(*b));
	static const uint8_t zero[512];
	int r = 0;

	*out = NULL;
	if (!b)
		return err_nomem(e, "blob");
	b->s = s;
	b->fd = -1;
	b->src_fd = -1;
	b->expect_size = expect_size;
	if (expect_digest)
		snprintf(b->expect, sizeof(b->expect), "%s", expect_digest);
	if (hash && (r = digest_init(&b->d, DIGEST_SHA256, e)) < 0) {
		free(b);
		return r;
	}
	if (s->is_dir) {
		if ((r = open_temp(s, b, e)) == 0)
			r = aw_set_fd(s->aw, b->fd, b->tmp, e);
	} else if (!s->to_stdout) {
		b->hdr_off = s->off;
		r = tar_write(s, zero, 512, e);  /* the header, written at commit */
	} else if (expect_digest && expect_size >= 0 && digest_valid(expect_digest) &&
		   !strncmp(expect_digest, "sha256:", 7)) {
		if (sink_has_blob(s, expect_digest)) {
			b->discard = true;
		} else {
			char name[DIGEST_STR_MAX + 8];
			uint8_t h[512];

			snprintf(name, sizeof(name), "blobs/sha256/%s", digest_hex(expect_digest));
			b->direct = true;
			if ((r = tar_header_build(h, name, '0', (uint64_t)expect_size, 0644, e)) == 0)
				r = tar_write(s, h, 512, e);
		}
	} else {
		r = open_temp(s, b, e);
	}
	if (r < 0) {
		sink_blob_abort(b);
		return r;
	}
	*out = b;
	return 0;
}

int sink_blob_write(struct sink_blob *b, const void *p, size_t n, struct strata_err *e)
{
	int r = 0;

	if (b->d.md)
		digest_update(&b->d, p, n);
	b->n += n;
	if (b->fd >= 0 && b->s->is_dir)
		r = aw_write(b->s->aw, p, n, e);
	else if (b->fd >= 0)
		r = write_all(b->fd, p, n, b->tmp, e);  /* stdout spool */
	else if (!b->discard)
		r = tar_write(b->s, p, n, e);
	return r;
}

int sink_blob_copy(struct sink_blob *b, int fd, uint64_t off, uint64_t len, struct strata_err *e)
{
	int r;

	if (b->discard)
		return 0;
	if (b->s->to_stdout && !b->direct) {
		/* its header (its name, the digest) can be written only at commit:
		 * copy the bytes from the source then, instead of spooling them */
		if (b->fd >= 0) {
			close(b->fd);
			unlink(b->tmp);
			b->fd = -1;
		}
		b->src_fd = fd;
		b->src_off = off;
		b->n += len;
		return 1;
	}
	if ((r = aw_copy_range(b->s->aw, fd, off, len, e)) < 0)
		return r;
	b->copied = true;
	b->n += len;
	if (!b->s->is_dir)
		b->s->off += len;
	return 1;
}

/* A blob's bytes from a file into the stream, by the kernel (sendfile into
 * a pipe): from the source where sink_blob_copy() left them, else from the
 * spool.  Done before returning: the spool is closed next, the source is the
 * caller's. */
static int copy_fd(struct sink *s, int fd, uint64_t off, uint64_t len, struct strata_err *e)
{
	int r;

	if ((r = aw_copy_range(s->aw, fd, off, len, e)) < 0 || (r = aw_flush(s->aw, e)) < 0)
		return r;
	s->off += len;
	return 0;
}

int sink_blob_commit(struct sink_blob *b, const char *known, char digest[DIGEST_STR_MAX], uint64_t *size,
		     struct strata_err *e)
{
	struct sink *s = b->s;
	char name[DIGEST_STR_MAX + 8];
	bool dup;
	int r = 0;

	if (b->d.md)
		digest_final(&b->d, digest);
	else if (known && digest_valid(known) && !strncmp(known, "sha256:", 7))
		memcpy(digest, known, strlen(known) + 1);
	else if (known && digest_valid(known)) {
		sink_blob_abort(b);
		return err_set(e, STRATA_EFORMAT, "named by a %.*s digest: " SINK_SHA256_ONLY,
			       (int)(strchr(known, ':') - known), known);
	} else {
		sink_blob_abort(b);
		return err_set(e, STRATA_EIO, "blob committed without a digest");
	}
	*size = b->n;
	if ((b->expect[0] && strcmp(b->expect, digest)) || (b->expect_size >= 0 && (uint64_t)b->expect_size != b->n)) {
		r = err_set(e, STRATA_EVERIFY, "blob content is %s (%llu bytes), expected %s (%lld bytes)", digest,
			    (unsigned long long)b->n, b->expect, (long long)b->expect_size);
		sink_blob_abort(b);
		return r;
	}
	snprintf(name, sizeof(name), "blobs/sha256/%s", digest_hex(digest));
	dup = sink_has_blob(s, digest);
	if ((s->is_dir || !s->to_stdout || b->copied) && (r = aw_flush(s->aw, e)) < 0) {
		sink_blob_abort(b);
		return r;
	}
	if (s->is_dir) {
		char *final = fmt_path(s->root, name);

		if (!final)
			r = err_nomem(e, "path");
		else if (dup)
			unlink(b->tmp);
		else if (strmap_put(&s->blobs, digest, (void *)1, e) < 0)  /* first: sink_abort() removes what it lists */
			r = -e->code;
		else if ((s->sync && fsync(b->fd) < 0) || rename(b->tmp, final) < 0)
			r = err_sys(e, errno, "cannot store '%s'", final);
		free(final);
	} else if (!s->to_stdout) {
		if (dup) {
			/* drop it again: cut the file back to where its header was */
			if (ftruncate(s->fd, (off_t)b->hdr_off) < 0 || lseek(s->fd, (off_t)b->hdr_off, SEEK_SET) < 0)
				r = err_sys(e, errno, "truncate '%s'", s->af.final);
			s->off = b->hdr_off;
		} else {
			uint8_t h[512];

			if ((r = tar_header_build(h, name, '0', b->n, 0644, e)) == 0 && (r = tar_pad(s, b->n, e)) == 0 &&
			    pwrite(s->fd, h, 512, (off_t)b->hdr_off) != 512)
				r = err_sys(e, errno, "write '%s'", s->af.final);
		}
	} else if (b->direct) {
		r = tar_pad(s, b->n, e);
	} else if (!b->discard && !dup) {
		uint8_t h[512];

		if ((r = tar_header_build(h, name, '0', b->n, 0644, e)) == 0 && (r = tar_write(s, h, 512, e)) == 0 &&
		    (r = copy_fd(s, b->src_fd >= 0 ? b->src_fd : b->fd, b->src_fd >= 0 ? b->src_off : 0, b->n, e)) == 0)
			r = tar_pad(s, b->n, e);
	}
	if (r == 0 && !dup && !s->is_dir && strmap_put(&s->blobs, digest, (void *)1, e) < 0)
		r = -e->code;
	if (b->fd >= 0) {
		close(b->fd);
		if (!s->is_dir || r < 0)
			unlink(b->tmp);
	}
	free(b->tmp);
	if (b->d.md)
		digest_release(&b->d);
	free(b);
	return r;
}

void sink_blob_abort(struct sink_blob *b)
{
	struct strata_err ignore = STRATA_ERR_INIT;

	if (!b)
		return;
	if (b->s->is_dir || b->copied)
		aw_flush(b->s->aw, &ignore);  /* nothing may still read a source or write a temp file */
	if (b->fd >= 0) {
		close(b->fd);
		unlink(b->tmp);
	}
	free(b->tmp);
	if (b->d.md)
		digest_release(&b->d);
	free(b);
}

int sink_put_blob(struct sink *s, const void *p, size_t n, char digest[DIGEST_STR_MAX], struct strata_err *e)
{
	struct sink_blob *b;
	uint64_t size;
	int r;

	if ((r = digest_buf(p, n, digest, e)) < 0)
		return r;
	if (sink_has_blob(s, digest))
		return 0;
	if ((r = sink_blob_begin(s, &b, digest, (int64_t)n, false, e)) < 0)
		return r;
	if ((r = sink_blob_write(b, p, n, e)) < 0) {
		sink_blob_abort(b);
		return r;
	}
	return sink_blob_commit(b, digest, digest, &size, e);
}

int sink_file(struct sink *s, const char *name, const void *p, size_t n, struct strata_err *e)
{
	int r;

	if (strmap_get(&s->files, name))
		return err_set(e, STRATA_EIO, "'%s' written twice", name);
	if ((r = strmap_put(&s->files, name, (void *)1, e)) < 0)
		return r;
	if (s->is_dir) {
		struct atomic_file f;
		char *path = fmt_path(s->root, name);

		if (!path)
			return err_nomem(e, "path");
		r = atomic_open(&f, path, e);
		free(path);
		if (r < 0)
			return r;
		f.sync = s->sync;
		if ((r = write_all(f.fd, p, n, f.tmp, e)) < 0) {
			atomic_abort(&f);
			return r;
		}
		return atomic_commit(&f, e);
	}
	return tar_entry(s, name, '0', 0644, p, n, e);
}

int sink_finish(struct sink *s, struct strata_err *e)
{
	static const uint8_t zero[1024];
	int r = 0;

	/* As atomic_commit(): what was made while memory ran out never takes the
	 * destination's place, nor gets the end blocks that would make a stream
	 * on stdout look complete. */
	if (strata_oom_seen()) {
		r = err_set(e, STRATA_EIO, "out of memory before '%s' was complete",
			    s->is_dir ? s->final_dir : s->to_stdout ? "stdout" : s->af.final);
		sink_abort(s);
		return r;
	}
	if (s->is_dir) {
		if (s->sync) {
			char *b = fmt_path(s->root, "blobs/sha256");

			if (b)
				sync_dir(b);
			free(b);
			sync_dir(s->root);
		}
		if (!s->existing && rename(s->root, s->final_dir) < 0)
			r = err_sys(e, errno, "cannot put the new layout in place as '%s'", s->final_dir);
		if (r == 0 && s->sync) {
			char *parent = path_dir(s->final_dir);

			if (parent)
				sync_dir(parent);
			free(parent);
		}
		if (r < 0) {
			sink_abort(s);
			return r;
		}
		sink_free(s);
		return 0;
	}
	if ((r = tar_write(s, zero, sizeof(zero), e)) < 0 || (r = aw_flush(s->aw, e)) < 0) {
		sink_abort(s);
		return r;
	}
	if (!s->to_stdout) {
		r = atomic_commit(&s->af, e);
		s->fd = -1;
	}
	sink_free(s);
	return r;
}

static void remove_added(struct sink *s)
{
	size_t i, n;
	char *p;

	for (i = 0; i < s->blobs.len; i++) {
		if (s->blobs.items[i].val != (void *)1)
			continue;
		n = strlen(s->root) + 90;
		if ((p = malloc(n))) {
			snprintf(p, n, "%s/blobs/sha256/%s", s->root, digest_hex(s->blobs.items[i].key));
			unlink(p);
			free(p);
		}
	}
}

void sink_abort(struct sink *s)
{
	size_t i;

	if (!s)
		return;
	if (s->is_dir && s->root) {
		remove_added(s);
		if (!s->existing) {
			char *p;

			for (i = 0; i < s->files.len; i++)
				if ((p = fmt_path(s->root, s->files.items[i].key))) {
					unlink(p);
					free(p);
				}
			if ((p = fmt_path(s->root, "blobs/sha256"))) {
				rmdir(p);
				free(p);
			}
			if ((p = fmt_path(s->root, "blobs"))) {
				rmdir(p);
				free(p);
			}
			rmdir(s->root);
		}
	} else if (!s->is_dir && !s->to_stdout) {
		struct strata_err ignore = STRATA_ERR_INIT;

		if (s->aw)
			aw_flush(s->aw, &ignore);
		atomic_abort(&s->af);
		s->fd = -1;
	}
	sink_free(s);
}

void sink_free(struct sink *s)
{
	if (!s)
		return;
	aw_free(s->aw);
	if (s->stream_fd >= 0)
		close(s->stream_fd);
	strmap_release(&s->blobs);
	strmap_release(&s->files);
	buf_release(&s->old_index);
	free(s->final_dir);
	free(s->root);
	free(s);
}
