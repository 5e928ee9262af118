/*
 * unpack.c - fuzz target: `strata unpack` (unpack_run) of a whole archive
 * into a directory, the path where a hostile layer would write outside it.
 *
 * The input is the archive, opened through a memfd (fuzz_source_ref(): its
 * length picks the reference's prefix).  The destination is BASE/out, where
 * BASE is a directory made once in $TMPDIR (else /tmp) that also holds a
 * canary: BASE/canary/keep, a file of one line.  Oracle beyond the
 * sanitizers, what design.md promises of every extraction:
 *   - nothing is written outside the destination: the canary keeps its
 *     content, mode, size and single link, and its directory nothing else;
 *   - BASE holds only the canary and, when unpack succeeded, out (a failure
 *     leaves no destination and no temp directory beside it);
 *   - what unpack made is a tree of directories, regular files, symlinks,
 *     fifos and device nodes only (no socket, nothing it cannot remove).
 * A broken promise aborts, so libFuzzer reports it.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "convert/convert.h"
#include "fuzz/fuzz.h"

#define MAX_DECODED (16u << 20)  /* per blob: bombs are tested elsewhere */
#define CANARY "strata canary\n"

static char base[4096];

static void die(const char *what, const char *name)
{
	fprintf(stderr, "unpack: %s: %s\n", what, name);
	abort();
}

/* BASE/canary/keep as it was made, and nothing else in BASE/canary. */
static void check_canary(void)
{
	char p[4200], got[64];
	struct stat st;
	ssize_t n;
	DIR *d;
	struct dirent *de;
	int fd;

	snprintf(p, sizeof(p), "%s/canary/keep", base);
	if (lstat(p, &st) < 0 || !S_ISREG(st.st_mode) || (st.st_mode & 07777) != 0644 || st.st_nlink != 1 ||
	    st.st_size != (off_t)strlen(CANARY))
		die("the canary outside the destination changed (type, mode, links or size)", p);
	if ((fd = open(p, O_RDONLY | O_NOFOLLOW)) < 0)
		die("the canary cannot be opened", p);
	n = read(fd, got, sizeof(got));
	close(fd);
	if (n != (ssize_t)strlen(CANARY) || memcmp(got, CANARY, (size_t)n))
		die("the canary outside the destination was written", p);
	snprintf(p, sizeof(p), "%s/canary", base);
	if (!(d = opendir(p)))
		die("the canary's directory is gone", p);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, "keep"))
			die("something was written beside the canary", de->d_name);
	closedir(d);
}

/* BASE holds the canary, and out when expected. */
static void check_base(bool out)
{
	DIR *d = opendir(base);
	struct dirent *de;
	bool seen = false;

	if (!d)
		die("the base directory is gone", base);
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || !strcmp(de->d_name, "canary"))
			continue;
		if (!strcmp(de->d_name, "out") && out)
			seen = true;
		else
			die(out ? "left beside the destination" : "left behind by a failed unpack", de->d_name);
	}
	closedir(d);
	if (out && !seen)
		die("unpack succeeded but made no destination", base);
}

/* Every entry below the directory fd (path p) is of a kind unpack makes. */
static void check_tree(int fd, const char *p, int depth)
{
	DIR *d = fdopendir(fd);
	struct dirent *de;

	if (!d)
		die("a directory of the result cannot be read", p);
	while ((de = readdir(d))) {
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			die("an entry of the result cannot be examined", de->d_name);
		if (S_ISDIR(st.st_mode)) {
			int sub = depth < 512 ? openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW) : -1;

			if (sub >= 0)
				check_tree(sub, de->d_name, depth + 1);
		} else if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode) && !S_ISFIFO(st.st_mode) &&
			   !S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) {
			die("the result holds an entry of a kind unpack does not make", de->d_name);
		}
	}
	closedir(d);
}

static void setup(void)
{
	char p[4200];
	int fd;

	fuzz_temp_dir(base, sizeof(base), "unpack");
	snprintf(p, sizeof(p), "%s/canary", base);
	if (mkdir(p, 0755) < 0)
		abort();
	snprintf(p, sizeof(p), "%s/canary/keep", base);
	if ((fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644)) < 0 || write(fd, CANARY, strlen(CANARY)) < 0 ||
	    fchmod(fd, 0644) < 0)
		abort();
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *src = fuzz_source_ref(data, size);
	struct strata_err e = STRATA_ERR_INIT;
	struct diag d = DIAG_INIT;
	struct unpack_opts o;
	struct unpack_result res;
	char dir[4200];
	int r;

	if (!base[0])
		setup();
	snprintf(dir, sizeof(dir), "%s/out", base);
	memset(&o, 0, sizeof(o));
	o.src = src;
	o.dir = dir;
	o.no_same_owner = true;
	o.limits.max_size = MAX_DECODED;
	memset(&res, 0, sizeof(res));
	r = unpack_run(&o, &res, &d, &e);
	diag_release(&d);
	check_canary();
	check_base(r == 0);
	if (r == 0) {
		int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);

		if (fd < 0)
			die("the destination is not a directory", dir);
		check_tree(fd, dir, 0);
	}
	if (remove_tree(dir, &e) < 0)
		die("the result cannot be removed", e.msg);
	return 0;
}
