/*
 * store.c - streaming a store's images as a docker-archive; see store.h.
 *
 * The producer thread writes, into one end of a socket pair, the tar that
 * `docker save` writes: each config as <id>.json, each layer as
 * <diff_id>/layer.tar, then manifest.json.  A layer tar is rebuilt from its
 * tar-split: raw segments verbatim, file contents read from the diff
 * directory, each file's size and CRC-64 checked as it passes.  The size of
 * a layer tar must be in its outer header before its bytes, so the tar-split
 * is read twice: once to add up the sizes, once to write.
 */
#include "formats/store.h"

#include <cJSON.h>
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "common/buf.h"
#include "common/strmap.h"
#include "common/tar.h"
#include "common/tarsplit.h"
#include "formats/ref.h"

#define OUT_BUF (1u << 20)

/* ---- safe paths ---- */

int store_openat(struct store *st, int dirfd, const char *rel, int flags, int *err, struct strata_err *e)
{
	char *p, *comp, *save = NULL, *next;
	int fd = dirfd, nfd, en;
	const char *root = dirfd == st->rootfd ? st->root : "a layer directory";

	if (err)
		*err = 0;
	if (!(p = strdup(rel)))
		return err_nomem(e, "path"), -1;
	comp = strtok_r(p, "/", &save);
	if (!comp) {
		fd = openat(dirfd, ".", O_RDONLY | O_CLOEXEC | flags);
		en = errno;
		free(p);
		if (fd < 0)
			err_sys(e, en, "cannot open '%s/%s'", root, rel);
		return fd;
	}
	for (; comp; comp = next) {
		next = strtok_r(NULL, "/", &save);
		if (!strcmp(comp, "."))
			continue;
		if (!strcmp(comp, "..")) {
			err_set(e, STRATA_EFORMAT, "'%s/%s': path leaves its directory", root, rel);
			goto fail;
		}
		/* O_NONBLOCK: a FIFO where a file should be is opened, not waited on
		 * (the caller's fstat refuses it; reads of files ignore the flag) */
		nfd = openat(fd, comp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | (next ? O_DIRECTORY : flags | O_NONBLOCK));
		if (nfd < 0) {
			struct stat lst;

			en = errno;
			if ((en == ELOOP || en == ENOTDIR) && fstatat(fd, comp, &lst, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISLNK(lst.st_mode)) {
				err_set(e, STRATA_EFORMAT, "'%s/%s': '%s' is a symlink inside the store (not followed)",
					root, rel, comp);
				if (err)
					*err = ELOOP;
			} else {
				err_sys(e, en, "cannot open '%s/%s'", root, rel);
				if (err)
					*err = en;
			}
			goto fail;
		}
		if (fd != dirfd)
			close(fd);
		fd = nfd;
	}
	free(p);
	if (fd == dirfd) {
		err_set(e, STRATA_EFORMAT, "'%s/%s': empty path", root, rel);
		return -1;
	}
	return fd;
fail:
	if (fd != dirfd)
		close(fd);
	free(p);
	return -1;
}

int store_read(struct store *st, const char *rel, size_t max, char **out, size_t *len, struct strata_err *e)
{
	struct stat sb;
	char *b;
	size_t got = 0;
	ssize_t n;
	int fd;

	*out = NULL;
	if ((fd = store_openat(st, st->rootfd, rel, 0, NULL, e)) < 0)
		return -e->code;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return err_set(e, STRATA_EFORMAT, "'%s/%s' is not a regular file", st->root, rel);
	}
	if ((uint64_t)sb.st_size > max) {
		close(fd);
		return err_set(e, STRATA_EFORMAT, "'%s/%s' is larger than %zu bytes", st->root, rel, max);
	}
	if (!(b = malloc((size_t)sb.st_size + 1))) {
		close(fd);
		return err_nomem(e, rel);
	}
	while (got < (size_t)sb.st_size && (n = read(fd, b + got, (size_t)sb.st_size - got)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err_sys(e, errno, "cannot read '%s/%s'", st->root, rel);
			close(fd);
			free(b);
			return -e->code;
		}
		got += (size_t)n;
	}
	close(fd);
	b[got] = 0;
	*out = b;
	*len = got;
	return 0;
}

int store_read_config(struct store *st, struct store_image *im, const char *rel, const char *want,
		      const char *want_name, const char *label, cJSON **doc, struct strata_err *e)
{
	char got[DIGEST_STR_MAX], *cfg;
	size_t len;
	int r;

	*doc = NULL;
	if (!(im->config = strdup(rel)))
		return err_nomem(e, "config");
	if ((r = store_read(st, rel, 64u << 20, &cfg, &len, e)) < 0)
		return r;
	if ((r = digest_buf(cfg, len, got, e)) < 0) {
		free(cfg);
		return r;
	}
	if (strcmp(got, want))
		diag_add_id(&st->d, SEV_ERROR, STRATA_EVERIFY, PROBLEM_DIGEST_MISMATCH, rel,
			    "%s: the config's sha256 is %s, not %s", label, got, want_name);
	*doc = cJSON_ParseWithLength(cfg, len);
	free(cfg);
	if (!*doc)
		return err_set(e, STRATA_EFORMAT, "'%s/%s': the config is not valid JSON", st->root, rel);
	return 0;
}

int store_add_image(struct store *st, struct store_image **im, struct strata_err *e)
{
	struct store_image *v = realloc(st->images, (st->nimages + 1) * sizeof(*v));

	if (!v)
		return err_nomem(e, "images");
	st->images = v;
	*im = &v[st->nimages++];
	memset(*im, 0, sizeof(**im));
	return 0;
}

int store_add_layer(struct store *st, size_t *idx, struct strata_err *e)
{
	struct store_layer *v = realloc(st->layers, (st->nlayers + 1) * sizeof(*v));

	if (!v)
		return err_nomem(e, "layers");
	st->layers = v;
	*idx = st->nlayers++;
	memset(&v[*idx], 0, sizeof(v[*idx]));
	return 0;
}

int store_add_name(struct store_image *im, const char *name, struct strata_err *e)
{
	char **v;
	size_t i;

	for (i = 0; i < im->nnames; i++)
		if (!strcmp(im->names[i], name))
			return 0;
	if (!(v = realloc(im->names, (im->nnames + 1) * sizeof(*v))))
		return err_nomem(e, "names");
	im->names = v;
	if (!(v[im->nnames] = strdup(name)))
		return err_nomem(e, "names");
	im->nnames++;
	return 0;
}

/* A daemon whose command line names this root (or names none, and the
 * root is its default) seems to be running: its writes may race ours. */
void store_daemon_check(struct store *st, const char *comm, const char *flag, const char *dflt)
{
	char want[4096], *rp;
	DIR *dp;
	struct dirent *de;

	if (!(rp = realpath(st->root, NULL)))
		return;
	snprintf(want, sizeof(want), "%s", rp);
	free(rp);
	if (!(dp = opendir("/proc")))
		return;
	while ((de = readdir(dp))) {
		char path[300], cmd[8192], c[64];
		ssize_t n;
		int fd;
		bool named = false, match = false;
		size_t i, fl = strlen(flag);

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		n = read(fd, c, sizeof(c) - 1);
		close(fd);
		if (n <= 0)
			continue;
		c[n] = 0;
		c[strcspn(c, "\n")] = 0;
		if (strcmp(c, comm))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		n = read(fd, cmd, sizeof(cmd) - 1);
		close(fd);
		if (n <= 0)
			continue;
		cmd[n] = 0;
		for (i = 0; i < (size_t)n; i += strlen(cmd + i) + 1) {
			const char *a = cmd + i, *val = NULL;

			if (!strncmp(a, flag, fl) && a[fl] == '=')
				val = a + fl + 1;
			else if (!strcmp(a, flag) && i + fl + 1 < (size_t)n)
				val = cmd + i + fl + 1;
			if (val) {
				char *r = realpath(val, NULL);

				named = true;
				match = r && !strcmp(r, want);
				free(r);
			}
		}
		if (match || (!named && dflt && !strcmp(want, dflt))) {
			diag_add(&st->d, SEV_WARNING, 0, "",
				 "%s (pid %s) seems to be running on '%s': images read now may change under the read",
				 comm, de->d_name, st->root);
			break;
		}
	}
	closedir(dp);
}

/* ---- the producer ---- */

struct out {
	struct store *st;
	int fd;
	uint8_t *buf;
	size_t len;
	struct digest_ctx dg;  /* of the current layer, when hashing */
	bool hashing;
};

static int out_flush(struct out *o, struct strata_err *e)
{
	size_t off = 0;
	ssize_t n;

	while (off < o->len) {
		n = send(o->fd, o->buf + off, o->len - off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EPIPE || errno == ECONNRESET)
				o->st->reader_gone = true;
			return err_sys(e, errno, "%s: cannot hand the image on", o->st->kind);
		}
		off += (size_t)n;
	}
	o->len = 0;
	return 0;
}

static int out_put(struct out *o, const void *p, size_t n, struct strata_err *e)
{
	const uint8_t *b = p;
	int r;

	if (o->hashing)
		digest_update(&o->dg, p, n);
	while (n) {
		size_t k = OUT_BUF - o->len < n ? OUT_BUF - o->len : n;

		memcpy(o->buf + o->len, b, k);
		o->len += k;
		b += k;
		n -= k;
		if (o->len == OUT_BUF && (r = out_flush(o, e)) < 0)
			return r;
	}
	return 0;
}

static int out_zeros(struct out *o, uint64_t n, struct strata_err *e)
{
	static const uint8_t z[4096];
	int r;

	while (n) {
		size_t k = n < sizeof(z) ? (size_t)n : sizeof(z);

		if ((r = out_put(o, z, k, e)) < 0)
			return r;
		n -= k;
	}
	return 0;
}

static int out_member(struct out *o, const char *name, uint64_t size, struct strata_err *e)
{
	uint8_t blk[512];
	int r;

	if ((r = tar_header_build(blk, name, '0', size, 0644, e)) < 0)
		return r;
	return out_put(o, blk, 512, e);
}

static int out_file(struct out *o, const char *name, const char *data, size_t n, struct strata_err *e)
{
	int r;

	if ((r = out_member(o, name, n, e)) < 0 || (r = out_put(o, data, n, e)) < 0)
		return r;
	return out_zeros(o, tar_padding(n), e);
}

static int open_tarsplit(struct store *st, struct store_layer *l, struct tarsplit **ts, struct strata_err *e)
{
	char what[4200];
	int fd;

	if ((fd = store_openat(st, st->rootfd, l->tarsplit, 0, NULL, e)) < 0)
		return -e->code;
	snprintf(what, sizeof(what), "%s/%s", st->root, l->tarsplit);
	return tarsplit_open(ts, fd, what, e);
}

/* Pass 1: the rebuilt tar's size. */
static int layer_size(struct store *st, struct store_layer *l, struct strata_err *e)
{
	struct tarsplit *ts;
	struct tarsplit_ent ent;
	uint64_t total = 0, pos = 0;
	int r;

	if ((r = open_tarsplit(st, l, &ts, e)) < 0)
		return r;
	while ((r = tarsplit_next(ts, &ent, e)) > 0) {
		uint64_t add = ent.type == TARSPLIT_SEGMENT ? ent.rawlen : ent.size;

		if (ent.position != pos++) {
			r = err_set(e, STRATA_EFORMAT, "'%s/%s': entries out of order at position %llu", st->root,
				    l->tarsplit, (unsigned long long)ent.position);
			break;
		}
		if (add > st->max_size || total + add > st->max_size) {
			r = err_set(e, STRATA_EFORMAT, "'%s/%s': the layer would be larger than %llu bytes (--max-size)",
				    st->root, l->tarsplit, (unsigned long long)st->max_size);
			break;
		}
		total += add;
	}
	tarsplit_free(ts);
	if (r < 0)
		return r;
	l->tar_size = total;
	return 0;
}

/* One file's content: exactly ent->size bytes go out whatever the disk
 * holds, so the tar stays well-formed; what differs is recorded. */
static int put_content(struct out *o, struct store_layer *l, int dirfd, const struct tarsplit_ent *ent,
		       uint8_t *buf, size_t bufsz, struct strata_err *e)
{
	struct store *st = o->st;
	struct strata_err fe = STRATA_ERR_INIT;
	const char *name = ent->name;
	uint64_t left = ent->size, crc = 0;
	struct stat sb;
	int fd, en, r;

	while (*name == '/')
		name++;
	fd = store_openat(st, dirfd, name, 0, &en, &fe);
	if (fd < 0) {
		diag_add_id(&st->d, SEV_ERROR, STRATA_EVERIFY, PROBLEM_DIFF_ID_MISMATCH, l->diffdir,
			    "%s: file '%s' %s", l->what, name,
			    en == ENOENT ? "is missing from the diff directory" : fe.msg);
		return out_zeros(o, left, e);
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		diag_add_id(&st->d, SEV_ERROR, STRATA_EVERIFY, PROBLEM_DIFF_ID_MISMATCH, l->diffdir,
			    "%s: file '%s' is no longer a regular file", l->what, name);
		return out_zeros(o, left, e);
	}
	if ((uint64_t)sb.st_size != ent->size)
		diag_add_id(&st->d, SEV_ERROR, STRATA_EVERIFY, PROBLEM_DIFF_ID_MISMATCH, l->diffdir,
			    "%s: file '%s' changed size (%llu bytes in the tar-split, %llu on disk)", l->what, name,
			    (unsigned long long)ent->size, (unsigned long long)sb.st_size);
	while (left) {
		ssize_t n = read(fd, buf, left < bufsz ? (size_t)left : bufsz);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = err_sys(e, errno, "cannot read '%s/%s/%s'", st->root, l->diffdir, name);
			close(fd);
			return r;
		}
		if (n == 0)
			break;
		crc = crc64_iso(crc, buf, (size_t)n);
		if ((r = out_put(o, buf, (size_t)n, e)) < 0) {
			close(fd);
			return r;
		}
		left -= (uint64_t)n;
	}
	close(fd);
	if (left)
		return out_zeros(o, left, e);
	if ((uint64_t)sb.st_size == ent->size && crc != ent->crc)
		diag_add_id(&st->d, SEV_ERROR, STRATA_EVERIFY, PROBLEM_DIFF_ID_MISMATCH, l->diffdir,
			    "%s: file '%s' changed content (its CRC-64 is not the tar-split's)", l->what, name);
	return 0;
}

/* Pass 2: write the layer tar. */
static int put_layer(struct out *o, struct store_layer *l, struct strata_err *e)
{
	struct store *st = o->st;
	struct tarsplit *ts = NULL;
	struct tarsplit_ent ent;
	char name[DIGEST_STR_MAX + 16], got[DIGEST_STR_MAX];
	size_t nerr = diag_count(&st->d, SEV_ERROR);
	uint8_t *buf = NULL;
	int dirfd = -1, r;

	if ((r = layer_size(st, l, e)) < 0)
		return r;
	snprintf(name, sizeof(name), "%s/layer.tar", digest_hex(l->diff_id));
	if ((r = out_member(o, name, l->tar_size, e)) < 0)
		return r;
	if ((dirfd = store_openat(st, st->rootfd, l->diffdir, O_DIRECTORY, NULL, e)) < 0)
		return -e->code;
	if (!(buf = malloc(OUT_BUF))) {
		r = err_nomem(e, "layer");
		goto out;
	}
	if ((r = open_tarsplit(st, l, &ts, e)) < 0)
		goto out;
	if ((r = digest_init(&o->dg, DIGEST_SHA256, e)) < 0)
		goto out;
	o->hashing = true;
	while ((r = tarsplit_next(ts, &ent, e)) > 0) {
		if (ent.type == TARSPLIT_SEGMENT)
			r = out_put(o, ent.raw, ent.rawlen, e);
		else if (ent.size)
			r = put_content(o, l, dirfd, &ent, buf, OUT_BUF, e);
		if (r < 0)
			break;
	}
	o->hashing = false;
	digest_final(&o->dg, got);
	digest_release(&o->dg);
	if (r < 0)
		goto out;
	if (strcmp(got, l->diff_id) && diag_count(&st->d, SEV_ERROR) == nerr)
		diag_add_id(&st->d, SEV_ERROR, STRATA_EVERIFY, PROBLEM_DIFF_ID_MISMATCH, l->diffdir,
			    "%s: the tar rebuilt from its tar-split is %s, not its diff_id", l->what, got);
	r = out_zeros(o, tar_padding(l->tar_size), e);
out:
	tarsplit_free(ts);
	free(buf);
	if (dirfd >= 0)
		close(dirfd);
	return r;
}


/* ---- a fresh tar of a diff directory (--allow-rebuilt-layers) ---- */

struct fresh {
	struct out *o;        /* NULL: only count */
	struct store_layer *l;
	uint64_t size;
	struct strmap inodes; /* "dev:ino" of a file of several links -> the first path met (owned) */
	struct buf hdr;
	uint8_t *buf;
	unsigned depth;
};

static int name_sort(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int fresh_put(struct fresh *f, const struct tar_hdr *h, struct strata_err *e)
{
	int r;

	f->hdr.len = 0;
	if ((r = tar_hdr_encode(&f->hdr, h, e)) < 0)
		return r;
	f->size += f->hdr.len;
	return f->o ? out_put(f->o, f->hdr.data, f->hdr.len, e) : 0;
}

/* The names in directory dfd (prefix: its path, for messages), sorted;
 * *names and its strings are the caller's to free. */
static int sorted_names(struct fresh *f, int dfd, const char *prefix, char ***names, size_t *n, struct strata_err *e)
{
	size_t alloc = 0;
	DIR *dp;
	struct dirent *de;
	int r = 0, fd;

	*names = NULL;
	*n = 0;
	if ((fd = dup(dfd)) < 0 || !(dp = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return err_sys(e, errno, "cannot list '%s/%s'", prefix, f->l->diffdir);
	}
	rewinddir(dp);  /* the dup shares its offset with the last listing */
	while ((de = readdir(dp))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (array_grow(names, *n, &alloc, sizeof(**names), 64) < 0 || !((*names)[*n] = strdup(de->d_name))) {
			r = err_nomem(e, "directory");
			break;
		}
		(*n)++;
	}
	closedir(dp);
	if (r == 0 && *n > 1)
		qsort(*names, *n, sizeof(**names), name_sort);
	return r;
}

static int fresh_dir(struct fresh *f, int dfd, const char *prefix, struct strata_err *e);

/* A directory (h: its header, path its name with the trailing slash), its
 * opaque marker when overlay set one, then what it holds. */
static int fresh_subdir(struct fresh *f, int dfd, const char *name, struct tar_hdr *h, struct strata_err *e)
{
	char v[4];
	int sub, r;

	h->typeflag = '5';
	if ((r = fresh_put(f, h, e)) < 0)
		return r;
	if ((sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return err_sys(e, errno, "cannot open '%s' in %s", h->path, f->l->diffdir);
	if ((fgetxattr(sub, "trusted.overlay.opaque", v, sizeof(v)) == 1 ||
	     fgetxattr(sub, "user.overlay.opaque", v, sizeof(v)) == 1) && v[0] == 'y') {
		struct tar_hdr o = *h;
		char op[8300];

		snprintf(op, sizeof(op), "%s.wh..wh..opq", h->path);
		o.path = op;
		o.typeflag = '0';
		o.mode = 0600;
		r = fresh_put(f, &o, e);
	}
	if (r >= 0) {
		char sp[8192];

		snprintf(sp, sizeof(sp), "%s", h->path);
		r = fresh_dir(f, sub, sp, e);
	}
	close(sub);
	return r;
}

/* A regular file: a hardlink to the first path of its inode met, or its
 * header and content (only counted when f->o is NULL). */
static int fresh_file(struct fresh *f, int dfd, const char *name, const struct stat *sb, struct tar_hdr *h,
		      struct strata_err *e)
{
	uint64_t left;
	int r, fd;

	if (sb->st_nlink > 1) {
		char key[48], *first;

		snprintf(key, sizeof(key), "%jx:%jx", (uintmax_t)sb->st_dev, (uintmax_t)sb->st_ino);
		if ((first = strmap_get(&f->inodes, key))) {
			h->typeflag = '1';
			h->link = first;
			return fresh_put(f, h, e);
		}
		if (!(first = strdup(h->path)))
			return err_nomem(e, "inodes");
		if (strmap_put(&f->inodes, key, first, e) < 0) {
			free(first);
			return -e->code;
		}
	}
	h->typeflag = '0';
	h->size = (uint64_t)sb->st_size;
	if ((r = fresh_put(f, h, e)) < 0)
		return r;
	f->size += h->size + tar_padding(h->size);
	if (!f->o)
		return 0;
	if ((fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0)
		return err_sys(e, errno, "cannot open '%s' in %s", h->path, f->l->diffdir);
	for (left = h->size; left && r >= 0;) {
		ssize_t got = read(fd, f->buf, left < OUT_BUF ? (size_t)left : OUT_BUF);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			r = err_sys(e, errno, "cannot read '%s' in %s", h->path, f->l->diffdir);
		else if (got == 0)
			r = err_set(e, STRATA_EIO, "%s: '%s' in %s changed while it was read (%llu bytes short)",
				    f->l->what, h->path, f->l->diffdir, (unsigned long long)left);
		else {
			r = out_put(f->o, f->buf, (size_t)got, e);
			left -= (uint64_t)got;
		}
	}
	close(fd);
	return r < 0 ? r : out_zeros(f->o, tar_padding(h->size), e);
}

/* One directory's entries, sorted, then each subdirectory: what a layer
 * differ (docker's archive.TarWithOptions) writes, with overlay's whiteouts
 * (0/0 character devices) and opaque directories turned into .wh. files. */
static int fresh_dir(struct fresh *f, int dfd, const char *prefix, struct strata_err *e)
{
	char **names, path[8192], target[4096];
	size_t n, i;
	int r;

	if (++f->depth > 256)
		return err_set(e, STRATA_EFORMAT, "%s: directories nested too deep", f->l->what);
	r = sorted_names(f, dfd, prefix, &names, &n, e);
	for (i = 0; i < n && r >= 0; i++) {
		struct tar_hdr h = { .link = "" };
		struct stat sb;

		if (fstatat(dfd, names[i], &sb, AT_SYMLINK_NOFOLLOW) < 0) {
			r = err_sys(e, errno, "cannot stat '%s%s' in %s", prefix, names[i], f->l->diffdir);
			break;
		}
		snprintf(path, sizeof(path), "%s%s", prefix, names[i]);
		h.path = path;
		h.mode = sb.st_mode & 07777;
		h.uid = sb.st_uid;
		h.gid = sb.st_gid;
		h.mtime = sb.st_mtime;
		if (S_ISCHR(sb.st_mode) && sb.st_rdev == 0) {
			/* an overlay whiteout */
			snprintf(path, sizeof(path), "%s.wh.%s", prefix, names[i]);
			h.typeflag = '0';
			h.mode = 0600;
			r = fresh_put(f, &h, e);
		} else if (S_ISDIR(sb.st_mode)) {
			snprintf(path, sizeof(path), "%s%s/", prefix, names[i]);
			r = fresh_subdir(f, dfd, names[i], &h, e);
		} else if (S_ISLNK(sb.st_mode)) {
			ssize_t k = readlinkat(dfd, names[i], target, sizeof(target) - 1);

			if (k < 0) {
				r = err_sys(e, errno, "cannot read the link '%s' in %s", path, f->l->diffdir);
				break;
			}
			target[k] = 0;
			h.typeflag = '2';
			h.link = target;
			r = fresh_put(f, &h, e);
		} else if (S_ISREG(sb.st_mode)) {
			r = fresh_file(f, dfd, names[i], &sb, &h, e);
		} else if (S_ISCHR(sb.st_mode) || S_ISBLK(sb.st_mode) || S_ISFIFO(sb.st_mode)) {
			h.typeflag = S_ISCHR(sb.st_mode) ? '3' : S_ISBLK(sb.st_mode) ? '4' : '6';
			h.devmajor = major(sb.st_rdev);
			h.devminor = minor(sb.st_rdev);
			r = fresh_put(f, &h, e);
		}
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	f->depth--;
	return r;
}

static void fresh_release(struct fresh *f)
{
	size_t i;

	for (i = 0; i < f->inodes.len; i++)
		free(f->inodes.items[i].val);
	strmap_release(&f->inodes);
	buf_release(&f->hdr);
	free(f->buf);
	f->buf = NULL;
}

static int put_rebuilt(struct out *o, struct store_layer *l, struct strata_err *e)
{
	struct store *st = o->st;
	struct fresh f = { .l = l };
	char name[DIGEST_STR_MAX + 16];
	int dirfd, r;

	if ((dirfd = store_openat(st, st->rootfd, l->diffdir, O_DIRECTORY, NULL, e)) < 0)
		return -e->code;
	buf_init(&f.hdr, 1u << 24);
	if ((r = fresh_dir(&f, dirfd, "", e)) < 0)
		goto out;
	l->tar_size = f.size + 1024;
	fresh_release(&f);
	buf_init(&f.hdr, 1u << 24);
	/* the name is the old diff_id's: the manifest names members, not digests */
	snprintf(name, sizeof(name), "%s/layer.tar", digest_hex(l->diff_id));
	if ((r = out_member(o, name, l->tar_size, e)) < 0)
		goto out;
	if (!(f.buf = malloc(OUT_BUF))) {
		r = err_nomem(e, "layer");
		goto out;
	}
	f.o = o;
	f.size = 0;
	if ((r = digest_init(&o->dg, DIGEST_SHA256, e)) < 0)
		goto out;
	o->hashing = true;
	r = fresh_dir(&f, dirfd, "", e);
	if (r >= 0)
		r = out_zeros(o, 1024, e);
	o->hashing = false;
	digest_final(&o->dg, l->new_diff_id);
	digest_release(&o->dg);
	if (r >= 0 && f.size + 1024 != l->tar_size)
		r = err_set(e, STRATA_EIO, "%s: '%s' changed while it was read (%llu, %llu)", l->what, l->diffdir, (unsigned long long)f.size + 1024, (unsigned long long)l->tar_size);
	if (r >= 0)
		r = out_zeros(o, tar_padding(l->tar_size), e);
	if (r >= 0)
		diag_add(&st->d, SEV_WARNING, 0, l->diffdir,
			 "%s has no tar-split: rebuilt as a fresh tar of its files, diff_id now %s "
			 "(the config and image ID change with it)", l->what, l->new_diff_id);
out:
	fresh_release(&f);
	close(dirfd);
	return r;
}

/* The config with each rebuilt layer's old diff_id replaced by its new one
 * (text replaced in place: every other byte stays as the store has it). */
static int rewrite_config(struct store *st, struct store_image *im, char **cfg, size_t *len, struct strata_err *e)
{
	size_t j;

	for (j = 0; j < im->nlayers; j++) {
		struct store_layer *l = &st->layers[im->layers[j]];
		char *p;

		if (!l->rebuilt || !*l->new_diff_id)
			continue;
		/* same length: sha256 for sha256 */
		for (p = *cfg; (p = memmem(p, *len - (size_t)(p - *cfg), l->diff_id, strlen(l->diff_id)));
		     p += strlen(l->diff_id))
			memcpy(p, l->new_diff_id, strlen(l->new_diff_id));
	}
	return digest_buf(*cfg, *len, im->id, e);
}

static int put_manifest(struct out *o, struct strata_err *e)
{
	struct store *st = o->st;
	cJSON *arr = cJSON_CreateArray();
	char *txt = NULL, nm[DIGEST_STR_MAX + 16];
	size_t i, j;
	int r;

	if (!arr)
		return err_nomem(e, "manifest");
	for (i = 0; i < st->nimages; i++) {
		struct store_image *im = &st->images[i];
		cJSON *ent = cJSON_CreateObject(), *tags, *layers;

		if (!ent || !cJSON_AddItemToArray(arr, ent))
			goto nomem;
		snprintf(nm, sizeof(nm), "%s.json", digest_hex(im->id));
		if (!cJSON_AddStringToObject(ent, "Config", nm))
			goto nomem;
		if (!(tags = im->nnames ? cJSON_AddArrayToObject(ent, "RepoTags") : cJSON_AddNullToObject(ent, "RepoTags")))
			goto nomem;
		for (j = 0; j < im->nnames; j++) {
			cJSON *s = cJSON_CreateString(im->names[j]);

			if (!s || !cJSON_AddItemToArray(tags, s))
				goto nomem;
		}
		if (!(layers = cJSON_AddArrayToObject(ent, "Layers")))
			goto nomem;
		for (j = 0; j < im->nlayers; j++) {
			cJSON *s;

			snprintf(nm, sizeof(nm), "%s/layer.tar", digest_hex(st->layers[im->layers[j]].diff_id));
			if (!(s = cJSON_CreateString(nm)) || !cJSON_AddItemToArray(layers, s))
				goto nomem;
		}
	}
	if (!(txt = cJSON_PrintUnformatted(arr)))
		goto nomem;
	cJSON_Delete(arr);
	r = out_file(o, "manifest.json", txt, strlen(txt), e);
	free(txt);
	return r;
nomem:
	cJSON_Delete(arr);
	return err_nomem(e, "manifest");
}

static int produce(struct store *st, struct strata_err *e)
{
	struct out o = { .st = st, .fd = st->wfd };
	char nm[DIGEST_STR_MAX + 16], *cfg;
	size_t i, j, len;
	int r = 0;

	if (!(o.buf = malloc(OUT_BUF)))
		return err_nomem(e, "output");
	/* layers first: a rebuilt one changes the config that names it */
	for (i = 0; i < st->nimages && r >= 0; i++)
		for (j = 0; j < st->images[i].nlayers && r >= 0; j++) {
			struct store_layer *l = &st->layers[st->images[i].layers[j]];

			if (l->emitted)
				continue;
			l->emitted = true;
			r = l->rebuilt ? put_rebuilt(&o, l, e) : put_layer(&o, l, e);
		}
	for (i = 0; i < st->nimages && r >= 0; i++) {
		struct store_image *im = &st->images[i];

		if ((r = store_read(st, im->config, 64u << 20, &cfg, &len, e)) < 0)
			break;
		if ((r = rewrite_config(st, im, &cfg, &len, e)) >= 0) {
			snprintf(nm, sizeof(nm), "%s.json", digest_hex(im->id));
			r = out_file(&o, nm, cfg, len, e);
		}
		free(cfg);
	}
	if (r >= 0)
		r = put_manifest(&o, e);
	if (r >= 0)
		r = out_zeros(&o, 1024, e);
	if (r >= 0)
		r = out_flush(&o, e);
	free(o.buf);
	return r;
}

static void *producer(void *arg)
{
	struct store *st = arg;

	st->prc = produce(st, &st->perr);
	shutdown(st->wfd, SHUT_WR);
	close(st->wfd);
	st->wfd = -1;
	return NULL;
}

/* Keep only the images sel (NAME:TAG) or id (hex prefix of the ID) names. */
static int select_store(struct store *st, const char *sel, const char *id, struct strata_err *e)
{
	size_t i, j, k, kept = 0;

	if (!sel && !id)
		return 0;
	for (i = 0; i < st->nimages; i++) {
		struct store_image *im = &st->images[i];
		bool keep = false;

		if (id) {
			const char *h = digest_hex(im->id), *w = !strncmp(id, "sha256:", 7) ? id + 7 : id;

			keep = *w && !strncmp(h, w, strlen(w));
		} else {
			size_t nl = strlen(sel);

			for (j = 0; j < im->nnames && !keep; j++) {
				const char *t = im->names[j];
				size_t tl = strlen(t);

				keep = !strcmp(t, sel) ||
				       (tl > nl && t[tl - nl - 1] == '/' && !strcmp(t + tl - nl, sel));
			}
		}
		if (keep) {
			struct store_image tmp = st->images[kept];

			st->images[kept++] = *im;
			*im = tmp;
		}
	}
	if (id && kept > 1)
		return err_set(e, STRATA_EUSAGE, "'%s' in %s:%s names %zu images; give more of the ID", id, st->kind,
			       st->root, kept);
	if (!kept)
		return err_set(e, STRATA_EUSAGE, "no image %s '%s' in %s:%s", id ? "with ID" : "named", id ? id : sel,
			       st->kind, st->root);
	for (i = kept; i < st->nimages; i++) {
		for (k = 0; k < st->images[i].nnames; k++)
			free(st->images[i].names[k]);
		free(st->images[i].names);
		free(st->images[i].config);
		free(st->images[i].layers);
	}
	st->nimages = kept;
	return 0;
}

int store_start(struct store **out, int transport, const char *root, const char *driver, const char *sel,
		const char *id, bool allow_rebuilt, uint64_t max_size, int *fd, struct strata_err *e)
{
	struct store *st;
	int sv[2], r;
	pthread_t *th;

	*out = NULL;
	*fd = -1;
	if (!(st = calloc(1, sizeof(*st))) || !(st->root = strdup(root))) {
		free(st);
		return err_nomem(e, "store");
	}
	st->d = (struct diag)DIAG_INIT;
	st->rootfd = -1;
	st->wfd = -1;
	st->kind = transport == REF_DOCKER_ROOT ? "docker-root" : "containers-storage";
	st->allow_rebuilt = allow_rebuilt;
	st->max_size = max_size ? max_size : 1ull << 42;
	*out = st;
	if (driver && !(st->driver = strdup(driver)))
		return err_nomem(e, "store");
	if ((st->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return err_sys(e, errno, "cannot open %s '%s'", st->kind, root);
	r = transport == REF_DOCKER_ROOT ? docker_root_load(st, e) : cstorage_load(st, e);
	if (r < 0)
		return r;
	if ((r = select_store(st, sel, id, e)) < 0)
		return r;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return err_sys(e, errno, "socketpair");
	st->wfd = sv[1];
	if (!(th = malloc(sizeof(*th)))) {
		close(sv[0]);
		return err_nomem(e, "store");
	}
	if ((r = pthread_create(th, NULL, producer, st))) {
		free(th);
		close(sv[0]);
		return err_sys(e, r, "cannot start a thread");
	}
	st->thread = th;
	st->started = true;
	*fd = sv[0];
	return 0;
}

int store_finish(struct store *st, struct diag *d, struct strata_err *e)
{
	size_t i;

	if (st->started) {
		pthread_join(*(pthread_t *)st->thread, NULL);
		st->started = false;
	}
	for (i = 0; i < st->d.len; i++) {
		struct problem *p = &st->d.v[i];

		diag_add_id(d, p->sev, p->code, p->id, p->member, "%s", p->msg);
	}
	diag_release(&st->d);
	st->d = (struct diag)DIAG_INIT;
	if (st->prc < 0) {
		*e = st->perr;
		return st->prc;
	}
	return 0;
}

void store_free(struct store *st)
{
	size_t i, k;

	if (!st)
		return;
	if (st->started) {
		/* the reader is gone: the producer's next send fails */
		pthread_join(*(pthread_t *)st->thread, NULL);
	}
	free(st->thread);
	if (st->wfd >= 0)
		close(st->wfd);
	if (st->rootfd >= 0)
		close(st->rootfd);
	for (i = 0; i < st->nimages; i++) {
		for (k = 0; k < st->images[i].nnames; k++)
			free(st->images[i].names[k]);
		free(st->images[i].names);
		free(st->images[i].config);
		free(st->images[i].layers);
	}
	free(st->images);
	for (i = 0; i < st->nlayers; i++) {
		free(st->layers[i].tarsplit);
		free(st->layers[i].diffdir);
		free(st->layers[i].what);
	}
	free(st->layers);
	diag_release(&st->d);
	free(st->driver);
	free(st->root);
	free(st);
}
