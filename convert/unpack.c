/*
 * unpack.c - the merged root filesystem extracted into a directory; see
 * convert.h.
 *
 * The merge (merge.h) hands over each path once, already cleaned, local and
 * free of whiteouts, so extraction never deletes anything but a duplicate
 * it just wrote.  The disk is still not trusted: every parent is opened one
 * component at a time from the root with O_NOFOLLOW | O_DIRECTORY, so a
 * symlink anywhere on the way stops the run instead of being followed, and
 * files are created with O_EXCL | O_NOFOLLOW.  Directory modes and times
 * are applied at the end, deepest first, so a read-only directory does not
 * block its own contents and the times stay as the image has them.
 */
#include "convert/convert.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cancel.h"
#include "common/fsutil.h"
#include "convert/merge.h"

struct dirmeta {
	char *name;
	uint32_t mode;
	uint64_t uid, gid;
	int64_t mtime;
	struct tar_xattr *xattrs;     /* copies (names and values in one block each) */
	unsigned nxattrs;
};

struct unpacker {
	int root;                     /* the temp directory */
	bool owner;                   /* apply ownership */
	struct diag *d;
	char *pdir;                   /* the cached parent: its name and fd */
	int pfd;
	struct dirmeta *dirs;
	size_t ndirs, adirs;
	bool have_root;
	struct dirmeta rootmeta;
	uint64_t skipped, xattr_fail;
	struct buf scratch;
};

/* Open `dir` (a clean local name, "." for the root) below the root, one
 * component at a time, creating missing directories; never follows a symlink. */
static int open_dir(struct unpacker *u, const char *dir, bool create, struct strata_err *e)
{
	char *p, *comp;
	int fd, next, r;

	if ((fd = dup(u->root)) < 0)
		return err_sys(e, errno, "dup");
	if (!strcmp(dir, "."))
		return fd;
	buf_reset(&u->scratch);
	if ((r = buf_addstr(&u->scratch, dir, e)) < 0) {
		close(fd);
		return r;
	}
	for (comp = u->scratch.data; comp; comp = p) {
		if (strata_cancel) {
			close(fd);
			return err_set(e, STRATA_EIO, "interrupted");
		}
		if ((p = strchr(comp, '/')))
			*p++ = '\0';
		next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT && create) {
			if (mkdirat(fd, comp, 0755) < 0 && errno != EEXIST) {
				r = err_sys(e, errno, "cannot create directory '%s'", dir);
				close(fd);
				return r;
			}
			next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (next < 0) {
			r = errno == ELOOP || errno == ENOTDIR
				    ? err_set(e, STRATA_EFORMAT, "'%s': a component of '%s' is a symlink or not a directory; "
							       "refusing to write through it", comp, dir)
				    : err_sys(e, errno, "cannot open directory '%s'", dir);
			close(fd);
			return r;
		}
		close(fd);
		fd = next;
	}
	return fd;
}

/* The parent directory of `name` (cached: entries come grouped by directory). */
static int parent(struct unpacker *u, const char *name, const char **base, struct strata_err *e)
{
	const char *slash = strrchr(name, '/');
	size_t dl = slash ? (size_t)(slash - name) : 0;
	char *dir;
	int fd;

	*base = slash ? slash + 1 : name;
	if (u->pdir && strlen(u->pdir) == (dl ? dl : 1) && !strncmp(u->pdir, dl ? name : ".", dl ? dl : 1))
		return u->pfd;
	if (!(dir = dl ? strndup(name, dl) : strdup(".")))
		return err_nomem(e, "path");
	if ((fd = open_dir(u, dir, true, e)) < 0) {
		free(dir);
		return fd;
	}
	if (u->pdir)
		close(u->pfd);
	free(u->pdir);
	u->pdir = dir;
	u->pfd = fd;
	return fd;
}

static void set_xattrs(struct unpacker *u, int fd, const struct tar_xattr *x, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (fsetxattr(fd, x[i].name, x[i].value, x[i].len, 0) < 0)
			u->xattr_fail++;  /* EPERM (trusted.*, capabilities without root), ENOTSUP */
}

/* Ownership, mode, xattrs and time of something open as fd. */
static int set_meta(struct unpacker *u, int fd, const char *name, uint32_t mode, uint64_t uid, uint64_t gid,
		    int64_t mtime, const struct tar_xattr *x, unsigned nx, struct strata_err *e)
{
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { (time_t)mtime, 0 } };

	if (u->owner && fchown(fd, (uid_t)uid, (gid_t)gid) < 0)
		return err_sys(e, errno, "cannot chown '%s'", name);
	if (fchmod(fd, mode & 07777) < 0)
		return err_sys(e, errno, "cannot chmod '%s'", name);
	set_xattrs(u, fd, x, nx);
	if (futimens(fd, ts) < 0)
		return err_sys(e, errno, "cannot set the time of '%s'", name);
	return 0;
}

/* Remove what is at base (a duplicate of the same layer): never a directory with contents. */
static int replace(int pfd, const char *base, const char *name, struct strata_err *e)
{
	struct stat st;

	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return err_sys(e, errno, "cannot stat '%s'", name);
	if (unlinkat(pfd, base, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0)
		return err_sys(e, errno, "cannot replace '%s'", name);
	return 0;
}

static int copy_data(int fd, struct stream *data, uint64_t size, const char *name, struct strata_err *e)
{
	uint64_t left = size;

	while (left) {
		const uint8_t *p;
		size_t n;
		int r;

		if ((r = stream_get(data, &p, &n, left < SIZE_MAX ? (size_t)left : SIZE_MAX, e)) < 0)
			return r;
		if (!n)
			return err_set(e, STRATA_EFORMAT, "'%s': data ends early", name);
		if ((r = write_all(fd, p, n, name, e)) < 0)
			return r;
		left -= n;
	}
	return 0;
}

static int keep_dir(struct unpacker *u, struct dirmeta *dm, const char *name, const struct tar_entry *ent,
		    struct strata_err *e)
{
	unsigned i;

	memset(dm, 0, sizeof(*dm));
	if (!(dm->name = strdup(name)))
		return err_nomem(e, "unpack");
	dm->mode = ent->mode;
	dm->uid = ent->uid;
	dm->gid = ent->gid;
	dm->mtime = ent->mtime;
	if (ent->nxattr_v) {
		if (!(dm->xattrs = calloc(ent->nxattr_v, sizeof(*dm->xattrs))))
			return err_nomem(e, "unpack");
		for (i = 0; i < ent->nxattr_v; i++) {
			char *nm = strdup(ent->xattrs[i].name), *v = malloc(ent->xattrs[i].len + 1);

			if (!nm || !v) {
				free(nm);
				free(v);
				return err_nomem(e, "unpack");
			}
			memcpy(v, ent->xattrs[i].value, ent->xattrs[i].len);
			dm->xattrs[i] = (struct tar_xattr){ nm, v, ent->xattrs[i].len };
			dm->nxattrs++;
		}
	}
	(void)u;
	return 0;
}

static void dirmeta_free(struct dirmeta *dm)
{
	unsigned i;

	for (i = 0; i < dm->nxattrs; i++) {
		free((char *)dm->xattrs[i].name);
		free((char *)dm->xattrs[i].value);
	}
	free(dm->xattrs);
	free(dm->name);
}

static int dir_entry(struct unpacker *u, int pfd, const char *base, const char *name, const struct tar_entry *ent,
		     struct strata_err *e)
{
	struct stat st;
	int r;

	if (!strcmp(name, ".")) {
		dirmeta_free(&u->rootmeta);
		u->have_root = true;
		return keep_dir(u, &u->rootmeta, name, ent, e);
	}
	if (mkdirat(pfd, base, 0700) < 0) {
		if (errno != EEXIST)
			return err_sys(e, errno, "cannot create directory '%s'", name);
		if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return err_sys(e, errno, "cannot stat '%s'", name);
		if (!S_ISDIR(st.st_mode)) {
			if ((r = replace(pfd, base, name, e)) < 0)
				return r;
			if (mkdirat(pfd, base, 0700) < 0)
				return err_sys(e, errno, "cannot create directory '%s'", name);
		}
	}
	if (array_grow(&u->dirs, u->ndirs, &u->adirs, sizeof(*u->dirs), 256) < 0)
		return err_nomem(e, "unpack");
	if ((r = keep_dir(u, &u->dirs[u->ndirs], name, ent, e)) < 0) {
		dirmeta_free(&u->dirs[u->ndirs]);
		return r;
	}
	u->ndirs++;
	return 0;
}

static int node_entry(struct unpacker *u, int pfd, const char *base, const char *name, const struct tar_entry *ent,
		      struct strata_err *e)
{
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { (time_t)ent->mtime, 0 } };
	mode_t type = ent->type == TAR_CHAR ? S_IFCHR : ent->type == TAR_BLOCK ? S_IFBLK : S_IFIFO;
	int rc, r;

	rc = mknodat(pfd, base, type | (ent->mode & 0777), makedev(ent->devmajor, ent->devminor));
	if (rc < 0 && errno == EEXIST) {
		if ((r = replace(pfd, base, name, e)) < 0)
			return r;
		rc = mknodat(pfd, base, type | (ent->mode & 0777), makedev(ent->devmajor, ent->devminor));
	}
	if (rc < 0 && (errno == EPERM || errno == EACCES) && type != S_IFIFO) {
		diag_add(u->d, SEV_WARNING, STRATA_EIO, "", "device node '%s' skipped: %s (unpack as root to create it)",
			 name, strerror(errno));
		u->skipped++;
		return 0;
	}
	if (rc < 0)
		return err_sys(e, errno, "cannot create '%s'", name);
	if (u->owner && fchownat(pfd, base, (uid_t)ent->uid, (gid_t)ent->gid, AT_SYMLINK_NOFOLLOW) < 0)
		return err_sys(e, errno, "cannot chown '%s'", name);
	if (fchmodat(pfd, base, ent->mode & 07777, 0) < 0)
		return err_sys(e, errno, "cannot chmod '%s'", name);
	if (utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return err_sys(e, errno, "cannot set the time of '%s'", name);
	return 0;
}

static int unpack_entry(void *ctx, const char *name, const struct tar_entry *ent, struct stream *data,
			struct strata_err *e)
{
	struct unpacker *u = ctx;
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { (time_t)ent->mtime, 0 } };
	const char *base;
	int pfd, fd, r;

	if (ent->type == TAR_DIR && !strcmp(name, "."))
		return dir_entry(u, -1, ".", name, ent, e);
	if ((pfd = parent(u, name, &base, e)) < 0)
		return pfd;
	switch (ent->type) {
	case TAR_DIR:
		return dir_entry(u, pfd, base, name, ent, e);
	case TAR_FILE:
		fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno == EEXIST) {
			if ((r = replace(pfd, base, name, e)) < 0)
				return r;
			fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		}
		if (fd < 0)
			return err_sys(e, errno, "cannot create '%s'", name);
		r = copy_data(fd, data, ent->size, name, e);
		if (r == 0)
			r = set_meta(u, fd, name, ent->mode, ent->uid, ent->gid, ent->mtime, ent->xattrs, ent->nxattr_v, e);
		if (close(fd) < 0 && r == 0)
			r = err_sys(e, errno, "cannot write '%s'", name);
		return r;
	case TAR_SYMLINK:
		if (symlinkat(ent->link, pfd, base) < 0) {
			if (errno != EEXIST)
				return err_sys(e, errno, "cannot create symlink '%s'", name);
			if ((r = replace(pfd, base, name, e)) < 0)
				return r;
			if (symlinkat(ent->link, pfd, base) < 0)
				return err_sys(e, errno, "cannot create symlink '%s'", name);
		}
		if (u->owner && fchownat(pfd, base, (uid_t)ent->uid, (gid_t)ent->gid, AT_SYMLINK_NOFOLLOW) < 0)
			return err_sys(e, errno, "cannot chown '%s'", name);
		if (utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
			return err_sys(e, errno, "cannot set the time of '%s'", name);
		return 0;
	case TAR_HARDLINK: {
		const char *tbase;
		char *tdir;
		int tfd;
		const char *slash = strrchr(ent->link, '/');

		if (!(tdir = slash ? strndup(ent->link, (size_t)(slash - ent->link)) : strdup(".")))
			return err_nomem(e, "path");
		tbase = slash ? slash + 1 : ent->link;
		tfd = open_dir(u, tdir, false, e);
		free(tdir);
		if (tfd < 0)
			return tfd;
		r = 0;
		if (linkat(tfd, tbase, pfd, base, 0) < 0) {
			if (errno == EEXIST && (r = replace(pfd, base, name, e)) == 0 && linkat(tfd, tbase, pfd, base, 0) == 0)
				r = 0;
			else if (r == 0)
				r = err_sys(e, errno, "cannot link '%s' to '%s'", name, ent->link);
		}
		close(tfd);
		return r;
	}
	case TAR_CHAR:
	case TAR_BLOCK:
	case TAR_FIFO:
		return node_entry(u, pfd, base, name, ent, e);
	default:
		return 0;
	}
}

static int cmp_dirs(const void *a, const void *b)
{
	return strcmp(((const struct dirmeta *)b)->name, ((const struct dirmeta *)a)->name);  /* deepest first */
}

/* Directory metadata, children before parents; the root last. */
static int finish_dirs(struct unpacker *u, struct strata_err *e)
{
	size_t i;
	int fd, r = 0;

	if (u->ndirs)
		qsort(u->dirs, u->ndirs, sizeof(*u->dirs), cmp_dirs);
	for (i = 0; i < u->ndirs && r == 0; i++) {
		const struct dirmeta *dm = &u->dirs[i];

		if ((fd = open_dir(u, dm->name, false, e)) < 0)
			return fd;
		r = set_meta(u, fd, dm->name, dm->mode, dm->uid, dm->gid, dm->mtime, dm->xattrs, dm->nxattrs, e);
		close(fd);
	}
	if (r == 0 && u->have_root) {
		const struct dirmeta *dm = &u->rootmeta;

		r = set_meta(u, u->root, ".", dm->mode, dm->uid, dm->gid, dm->mtime, dm->xattrs, dm->nxattrs, e);
	} else if (r == 0 && fchmod(u->root, 0755) < 0) {
		r = err_sys(e, errno, "cannot chmod the root");
	}
	return r;
}

/* DIR must be absent or an empty directory. */
static int check_dest(const char *dir, struct strata_err *e)
{
	struct stat st;
	DIR *dp;
	struct dirent *de;
	bool empty = true;

	if (lstat(dir, &st) < 0)
		return errno == ENOENT ? 0 : err_sys(e, errno, "cannot stat '%s'", dir);
	if (!S_ISDIR(st.st_mode))
		return err_set(e, STRATA_EUSAGE, "'%s' exists and is not a directory", dir);
	if (!(dp = opendir(dir)))
		return err_sys(e, errno, "cannot read '%s'", dir);
	while ((de = readdir(dp)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			empty = false;
	closedir(dp);
	return empty ? 0 : err_set(e, STRATA_EUSAGE, "'%s' is not empty; unpack into a new or empty directory", dir);
}

int unpack_run(const struct unpack_opts *o, struct unpack_result *res, struct diag *d, struct strata_err *e)
{
	struct layers_opts lo = { o->src, o->image, o->platform, o->progress, o->progress_ctx, o->limits };
	struct image_layers *il = NULL;
	struct unpacker u = { 0 };
	struct merge_out mo = { &u, unpack_entry };
	struct merge_layers ml;
	struct merge_stats st;
	char *tmp = NULL, *slash;
	size_t i;
	int r;

	memset(res, 0, sizeof(*res));
	u.root = -1;
	u.d = d;
	u.owner = geteuid() == 0 && !o->no_same_owner;
	buf_init(&u.scratch, 1u << 20);
	if ((r = check_dest(o->dir, e)) < 0)
		goto out;
	if ((r = image_layers_open(&il, &lo, d, e)) < 0)
		goto out;
	res->format = image_layers_format(il);
	res->layers = image_layers_image(il)->nlayers;
	{
		struct buf b = BUF_INIT(1u << 16);

		/* beside the destination, so the final rename stays on one filesystem */
		if ((r = buf_printf(&b, e, "%s.strata-tmp-%ld", o->dir, (long)getpid())) < 0)
			goto out;
		tmp = buf_detach(&b, NULL);
	}
	while ((slash = strrchr(tmp, '/')) && slash[1] == '\0')
		*slash = '\0';
	if (mkdir(tmp, 0700) < 0) {
		r = err_sys(e, errno, "cannot create '%s'", tmp);
		free(tmp);
		tmp = NULL;
		goto out;
	}
	if ((u.root = open(tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		r = err_sys(e, errno, "cannot open '%s'", tmp);
		goto out;
	}
	image_layers_merge(il, &ml);
	if ((r = merge_run(&ml, &mo, image_layers_limits(il), &st, d, e)) < 0 || (r = finish_dirs(&u, e)) < 0)
		goto out;
	/* as atomic_commit(): a tree made while memory ran out never takes its place */
	if (strata_oom_seen()) {
		r = err_set(e, STRATA_EIO, "out of memory before '%s' was complete", o->dir);
		goto out;
	}
	if (rename(tmp, o->dir) < 0) {
		r = err_sys(e, errno, "cannot rename '%s' to '%s'", tmp, o->dir);
		goto out;
	}
	free(tmp);
	tmp = NULL;
	if (u.xattr_fail)
		diag_add(d, SEV_WARNING, STRATA_EIO, "", "%llu extended attribute%s could not be set (not root, or not "
			 "supported here)", (unsigned long long)u.xattr_fail, u.xattr_fail == 1 ? "" : "s");
	res->entries = st.entries_out;
	res->entries_in = st.entries_in;
	res->hidden = st.hidden;
	res->content_bytes = st.bytes_out;
	res->skipped = u.skipped;
out:
	if (u.pdir)
		close(u.pfd);
	free(u.pdir);
	if (u.root >= 0)
		close(u.root);
	if (tmp) {
		/* at any depth (common/fsutil.c), and said when it fails */
		struct strata_err re = STRATA_ERR_INIT;

		if (remove_tree(tmp, &re) < 0)
			diag_add(d, SEV_ERROR, STRATA_EIO, "", "the temporary tree is left behind: %s", re.msg);
		free(tmp);
	}
	for (i = 0; i < u.ndirs; i++)
		dirmeta_free(&u.dirs[i]);
	free(u.dirs);
	dirmeta_free(&u.rootmeta);
	buf_release(&u.scratch);
	image_layers_free(il);
	return r;
}
