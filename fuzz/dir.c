/*
 * dir.c - fuzz target: the directory readers (an OCI layout directory, a
 * registry's storage tree, Docker's data root, containers-storage), as
 * `strata verify` and `strata analyze` run them.
 *
 * The input is a tar, made into a directory tree under a temp base before
 * each run: directories, regular files, symlinks (their targets as stored:
 * absolute, outside the tree, to devices, dangling or looping, which is what
 * strata must refuse to follow) and fifos.  The tree is made without ever
 * following a symlink (each component opened O_NOFOLLOW from the base), and
 * names that leave it are skipped.  The input length picks the reference
 * (size % 5: the directory detected by content, oci:, registry:,
 * docker-root:, containers-storage:), the next bit pretty or one-line
 * documents; then fuzz_open_report() (fuzz.h).  Hardlinks and devices are
 * not made.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/tar.h"
#include "fuzz/fuzz.h"

#define MAX_DEPTH 32

static char base[4096];  /* the temp base; the tree is base/in */

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)flag, (void)f;
	remove(p);
	return 0;
}

/* The directory of clean local path p opened below root, its parents made
 * (never through a symlink); -1 when it cannot be.  *leaf: p's last component. */
static int open_parent(int root, char *p, const char **leaf)
{
	int fd = dup(root), depth = 0;
	char *c = p, *slash;

	while (fd >= 0 && (slash = strchr(c, '/'))) {
		int next;

		*slash = '\0';
		if (++depth > MAX_DEPTH) {
			close(fd);
			return -1;
		}
		if (mkdirat(fd, c, 0755) < 0 && errno != EEXIST) {
			close(fd);
			return -1;
		}
		next = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = next;
		*slash = '/';
		c = slash + 1;
	}
	*leaf = c;
	return fd;
}

/* One entry of the input made in the tree (what cannot be made is skipped). */
static void make_entry(int root, struct tar *t, const struct tar_entry *ent)
{
	char *p = path_clean(ent->path);
	const char *leaf;
	int dir, fd;

	if (!p || !path_is_local(p) || !strcmp(p, ".") || (dir = open_parent(root, p, &leaf)) < 0) {
		free(p);
		return;
	}
	switch (ent->type) {
	case TAR_DIR:
		mkdirat(dir, leaf, 0755);
		break;
	case TAR_SYMLINK:
		symlinkat(ent->link, dir, leaf);
		break;
	case TAR_FIFO:
		mkfifoat(dir, leaf, 0644);
		break;
	case TAR_FILE:
		if ((fd = openat(dir, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644)) >= 0) {
			struct strata_err e = STRATA_ERR_INIT;
			struct stream *s = tar_data(t);
			const uint8_t *b;
			size_t n;

			while (stream_get(s, &b, &n, SIZE_MAX, &e) == 0 && n && write(fd, b, n) == (ssize_t)n)
				;
			close(fd);
		}
		break;
	default:
		break;
	}
	close(dir);
	free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const kind[5] = { "", "oci:", "registry:", "docker-root:", "containers-storage:" };
	struct strata_err e = STRATA_ERR_INIT;
	struct stream *src;
	struct tar *t = NULL;
	struct tar_entry *ent;
	char in[4200], ref[4240];
	int root;

	if (!base[0])
		fuzz_temp_dir(base, sizeof(base), "dir");
	snprintf(in, sizeof(in), "%s/in", base);
	nftw(in, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	if (mkdir(in, 0755) < 0 || (root = open(in, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		abort();
	if ((src = stream_mem_new(data, size, &e)) && tar_open(&t, src, NULL, &e) == 0)
		while (tar_next(t, &ent, &e) == 1)
			make_entry(root, t, ent);
	tar_free(t);
	stream_free(src);
	close(root);
	snprintf(ref, sizeof(ref), "%s%s", kind[size % 5], in);
	fuzz_open_report(ref, size / 5 % 2);
	return 0;
}
