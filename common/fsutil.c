/* fsutil.c - path hygiene and atomic output files; see fsutil.h. */
#include "fsutil.h"
#include "buf.h"
#include "cancel.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *path_clean(const char *p)
{
	size_t n = strlen(p), o = 0, i = 0;
	bool rooted = n && p[0] == '/';
	size_t dotdot;  /* output length below which ".." cannot back up */
	char *out = malloc(n + 2);

	if (!out)
		return NULL;
	if (rooted)
		out[o++] = '/', i = 1;
	dotdot = o;
	while (i < n) {
		if (p[i] == '/') {
			i++;
		} else if (p[i] == '.' && (i + 1 == n || p[i + 1] == '/')) {
			i++;
		} else if (p[i] == '.' && p[i + 1] == '.' && (i + 2 == n || p[i + 2] == '/')) {
			i += 2;
			if (o > dotdot) {
				while (o > dotdot && out[o - 1] != '/')
					o--;
				if (o > dotdot)
					o--;
			} else if (!rooted) {
				if (o > 0)
					out[o++] = '/';
				out[o++] = '.';
				out[o++] = '.';
				dotdot = o;
			}
		} else {
			if ((rooted && o != 1) || (!rooted && o != 0))
				out[o++] = '/';
			while (i < n && p[i] != '/')
				out[o++] = p[i++];
		}
	}
	if (o == 0)
		out[o++] = '.';
	out[o] = '\0';
	return out;
}

bool path_is_local(const char *c)
{
	if (c[0] == '/')
		return false;
	if (c[0] == '.' && c[1] == '.' && (c[2] == '\0' || c[2] == '/'))
		return false;
	return true;
}

char *path_dir(const char *c)
{
	const char *s = strrchr(c, '/');

	if (!s)
		return strdup(".");
	if (s == c)
		return strdup("/");
	return strndup(c, (size_t)(s - c));
}

char *path_join(const char *dir, const char *rel)
{
	size_t a = strlen(dir), b = strlen(rel);
	char *j = malloc(a + b + 2), *c;

	if (!j)
		return NULL;
	memcpy(j, dir, a);
	j[a] = '/';
	memcpy(j + a + 1, rel, b + 1);
	c = path_clean(j);
	free(j);
	return c;
}

int write_all(int fd, const void *p, size_t n, const char *what, struct strata_err *e)
{
	const char *c = p;

	while (n) {
		ssize_t k;

		if (strata_cancel)
			return err_set(e, STRATA_EIO, "interrupted");
		k = write(fd, c, n);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return err_sys(e, errno, "write '%s'", what);
		}
		c += k;
		n -= (size_t)k;
	}
	return 0;
}

int atomic_open(struct atomic_file *f, const char *dest, struct strata_err *e)
{
	static unsigned seq;
	size_t n = strlen(dest) + 64;

	f->fd = -1;
	f->sync = false;
	f->final = strdup(dest);
	f->tmp = malloc(n);
	if (!f->final || !f->tmp) {
		free(f->final);
		free(f->tmp);
		f->final = f->tmp = NULL;
		return err_nomem(e, "path");
	}
	snprintf(f->tmp, n, "%s.strata-tmp-%ld-%u", dest, (long)getpid(), seq++);
	f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (f->fd < 0) {
		int r = err_sys(e, errno, "cannot create '%s'", f->final);

		free(f->final);
		free(f->tmp);
		f->final = f->tmp = NULL;
		return r;
	}
	return 0;
}

int atomic_commit(struct atomic_file *f, struct strata_err *e)
{
	int r = 0;

	/* What was written while memory ran out may lack what a failed
	 * allocation was for: it never takes the destination's place. */
	if (strata_oom_seen())
		r = err_set(e, STRATA_EIO, "out of memory before '%s' was complete", f->final);
	if (!r && f->sync && fsync(f->fd) < 0 && errno != EINVAL)
		r = err_sys(e, errno, "fsync '%s'", f->final);
	if (close(f->fd) < 0 && !r)
		r = err_sys(e, errno, "close '%s'", f->final);
	f->fd = -1;
	if (!r && rename(f->tmp, f->final) < 0)
		r = err_sys(e, errno, "rename '%s'", f->final);
	if (r)
		unlink(f->tmp);
	free(f->tmp);
	free(f->final);
	f->tmp = f->final = NULL;
	return r;
}

void atomic_abort(struct atomic_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	if (f->tmp)
		unlink(f->tmp);
	free(f->tmp);
	free(f->final);
	f->tmp = f->final = NULL;
}

static const char *file_kind(mode_t m)
{
	return S_ISDIR(m) ? "a directory" : S_ISCHR(m) ? "a character device" : S_ISBLK(m) ? "a block device"
	       : S_ISFIFO(m) ? "a FIFO" : S_ISSOCK(m) ? "a socket" : S_ISLNK(m) ? "a symlink" : "not a regular file";
}

int output_resolve(const char *dest, char **path, int *stream_fd, struct strata_err *e)
{
	struct stat st;
	char *real;

	*path = NULL;
	*stream_fd = -1;
	if (lstat(dest, &st) < 0) {
		if (errno != ENOENT)
			return err_sys(e, errno, "cannot stat '%s'", dest);
		if (!(*path = strdup(dest)))
			return err_nomem(e, "path");
		return 0;
	}
	if (S_ISLNK(st.st_mode)) {
		if (stat(dest, &st) < 0)
			return err_set(e, STRATA_EUSAGE, "'%s' is a symlink to nothing (%s): name the file itself", dest,
				       strerror(errno));
		if (!S_ISREG(st.st_mode))
			return err_set(e, STRATA_EUSAGE,
				       "'%s' is a symlink to %s: strata writes through a symlink only to a regular file "
				       "(name %s itself, or - for stdout)", dest, file_kind(st.st_mode),
				       S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode) ? "the device or FIFO" : "the target");
		if (!(real = realpath(dest, NULL)))
			return err_sys(e, errno, "cannot resolve '%s'", dest);
		*path = real;
		return 0;
	}
	if (S_ISREG(st.st_mode)) {
		if (!(*path = strdup(dest)))
			return err_nomem(e, "path");
		return 0;
	}
	if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) {
		if ((*stream_fd = open(dest, O_WRONLY | O_NOCTTY | O_CLOEXEC)) < 0)
			return err_sys(e, errno, "cannot open '%s' for writing", dest);
		return 0;
	}
	return err_set(e, STRATA_EUSAGE, "'%s' is %s: strata writes a regular file, a character device, a FIFO or -",
		       dest, file_kind(st.st_mode));
}

int output_not_source(const char *src, const char *dest, struct strata_err *e)
{
	struct stat a, b;

	if (!src || !dest || !strcmp(dest, "-") || stat(dest, &b) < 0)
		return 0;
	if (!strcmp(src, "-") ? fstat(STDIN_FILENO, &a) < 0 : stat(src, &a) < 0)
		return 0;
	if (a.st_dev == b.st_dev && a.st_ino == b.st_ino && S_ISREG(a.st_mode))
		return err_set(e, STRATA_EUSAGE, "'%s': destination is the source", dest);
	return 0;
}

struct dir_id {
	dev_t dev;
	ino_t ino;
};

/*
 * One pass over the directory fd: remove what can be removed; 1 with *sub
 * (malloc'd) the name of a non-empty subdirectory to descend into, 0 when
 * the directory is empty now, <0 on error.
 */
static int empty_dir_pass(int fd, const char *where, char **sub, struct strata_err *e)
{
	struct dirent *de;
	int dfd = dup(fd), r = 0;
	DIR *dir;

	*sub = NULL;
	if (dfd < 0 || !(dir = fdopendir(dfd))) {
		r = err_sys(e, errno, "cannot read directory '%s'", where);
		if (dfd >= 0)
			close(dfd);
		return r;
	}
	rewinddir(dir);  /* the dup shares its offset with earlier passes */
	while (!r && (errno = 0, de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (unlinkat(fd, de->d_name, 0) == 0 || errno == ENOENT)
			continue;
		if (errno != EISDIR && errno != EPERM)
			r = err_sys(e, errno, "cannot remove '%s/%s'", where, de->d_name);
		else if (unlinkat(fd, de->d_name, AT_REMOVEDIR) == 0 || errno == ENOENT)
			continue;
		else if (errno != ENOTEMPTY && errno != EEXIST)
			r = err_sys(e, errno, "cannot remove '%s/%s'", where, de->d_name);
		else if (!(*sub = strdup(de->d_name)))
			r = err_nomem(e, "path");
		else
			r = 1;
	}
	if (!r && errno)
		r = err_sys(e, errno, "cannot read directory '%s'", where);
	closedir(dir);
	return r;
}

int remove_tree(const char *path, struct strata_err *e)
{
	struct dir_id *up = NULL, *nu;
	size_t depth = 0, alloc = 0;
	struct stat st;
	char *sub = NULL;
	int fd, nfd, r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : err_sys(e, errno, "cannot remove '%s'", path);
	if (!S_ISDIR(st.st_mode))
		return unlink(path) == 0 || errno == ENOENT ? 0 : err_sys(e, errno, "cannot remove '%s'", path);
	chmod(path, 0700);
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return err_sys(e, errno, "cannot open '%s'", path);
	for (;;) {
		if ((r = empty_dir_pass(fd, path, &sub, e)) < 0)
			break;
		if (r == 1) {
			/* down one level, remembering where we came from */
			if (fstat(fd, &st) < 0) {
				r = err_sys(e, errno, "cannot stat a directory below '%s'", path);
				break;
			}
			if (depth == alloc) {
				alloc = alloc ? 2 * alloc : 64;
				if (!(nu = realloc(up, alloc * sizeof(*up)))) {
					r = err_nomem(e, "directory stack");
					break;
				}
				up = nu;
			}
			up[depth].dev = st.st_dev;
			up[depth].ino = st.st_ino;
			fchmodat(fd, sub, 0700, 0);
			nfd = openat(fd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (nfd < 0) {
				r = err_sys(e, errno, "cannot open '%s' below '%s'", sub, path);
				break;
			}
			free(sub);
			sub = NULL;
			close(fd);
			fd = nfd;
			depth++;
			continue;
		}
		if (!depth)
			break;
		/* empty: back up, where the next pass removes it */
		nfd = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		depth--;
		if (nfd < 0 || fstat(nfd, &st) < 0 || st.st_dev != up[depth].dev || st.st_ino != up[depth].ino) {
			r = nfd < 0 ? err_sys(e, errno, "cannot climb back below '%s'", path)
				    : err_set(e, STRATA_EIO, "'%s' was moved while it was being removed", path);
			if (nfd >= 0)
				close(nfd);
			break;
		}
		close(fd);
		fd = nfd;
	}
	close(fd);
	free(sub);
	free(up);
	if (r < 0)
		return r;
	if (rmdir(path) < 0 && errno != ENOENT)
		return err_sys(e, errno, "cannot remove '%s'", path);
	return 0;
}

char *list_line(char *line)
{
	char *p = line, *end;

	while (*p == ' ' || *p == '\t')
		p++;
	end = p + strlen(p);
	while (end > p && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	return *p && *p != '#' ? p : NULL;
}

int open_regular(const char *path, bool follow, uint64_t *size)
{
	int fd = open(path, O_RDONLY | (follow ? 0 : O_NOFOLLOW) | O_NONBLOCK | O_CLOEXEC), flags;
	struct stat st;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	/* regular files ignore O_NONBLOCK; cleared all the same */
	if ((flags = fcntl(fd, F_GETFL)) >= 0)
		(void)fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	if (size)
		*size = (uint64_t)st.st_size;
	return fd;
}

int read_regular(const char *path, bool follow, struct buf *b, int refuse, struct strata_err *e)
{
	char chunk[65536];
	uint64_t size;
	int fd = open_regular(path, follow, &size), r = 0;
	ssize_t n = 0;

	if (fd < 0 && (errno == ELOOP || errno == EINVAL))
		return err_set(e, refuse, "'%s' is %snot a regular file", path, errno == ELOOP ? "a symlink, " : "");
	if (fd < 0)
		return err_sys(e, errno, "cannot read '%s'", path);
	if (size > b->cap - b->len) {  /* refused by its size, unread (buf_add's refusal) */
		close(fd);
		return err_set(e, STRATA_EFORMAT, "too large (over %zu bytes)", b->cap);
	}
	while (r == 0 && (n = read(fd, chunk, sizeof(chunk))) > 0)
		r = buf_add(b, chunk, (size_t)n, e);
	if (r == 0 && n < 0)
		r = err_sys(e, errno, "cannot read '%s'", path);
	close(fd);
	return r;
}
