/* Unit tests of common/: paths, buffers, digests, map, errors. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/awrite.h"
#include "common/buf.h"
#include "common/digest.h"
#include "common/err.h"
#include "common/fsutil.h"
#include "common/strmap.h"
#include "tests/unit/unit.h"

static void clean_is(const char *in, const char *want)
{
	char *c = path_clean(in);

	CHECK_STR(c, want);
	free(c);
}

TEST(path_clean)
{
	clean_is("", ".");
	clean_is("./", ".");
	clean_is("a//b/./c/", "a/b/c");
	clean_is("./blobs/sha256/ab", "blobs/sha256/ab");
	clean_is("a/../../b", "../b");
	clean_is("../../etc/passwd", "../../etc/passwd");
	clean_is("/../x", "/x");
	clean_is("/a/b/..", "/a");
	clean_is("a/b/../../..", "..");
	clean_is("x/../..//../y", "../../y");
	CHECK(path_is_local("a/b"));
	CHECK(path_is_local("..a"));
	CHECK(!path_is_local(".."));
	CHECK(!path_is_local("../a"));
	CHECK(!path_is_local("/a"));
}

TEST(path_join_dir)
{
	char *p = path_join("a/b", "../c"), *d = path_dir("a/b/c");

	CHECK_STR(p, "a/c");
	CHECK_STR(d, "a/b");
	free(p);
	free(d);
	d = path_dir("a");
	CHECK_STR(d, ".");
	free(d);
}

TEST(buf_cap)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct buf b = BUF_INIT(8);

	CHECK_OK(buf_add(&b, "12345", 5, &e), &e);
	CHECK_INT(buf_add(&b, "6789", 4, &e), -STRATA_EFORMAT);
	CHECK_INT(b.len, 5);
	CHECK_STR(b.data, "12345");
	CHECK_OK(buf_printf(&b, &e, "%d", 678), &e);
	CHECK_STR(b.data, "12345678");
	CHECK(buf_printf(&b, &e, "x") < 0);
	buf_release(&b);
}

TEST(digest_strings)
{
	struct strata_err e = STRATA_ERR_INIT;
	char d[DIGEST_STR_MAX];

	CHECK_OK(digest_buf("abc", 3, d, &e), &e);
	CHECK_STR(d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	CHECK(digest_valid(d));
	CHECK(!digest_valid("sha256:BA7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
	CHECK(!digest_valid("sha256:../../../../etc/passwd"));
	CHECK(!digest_valid("sha256:ba7816bf"));
	CHECK(!digest_valid("md5:ba7816bf8f01cfea414140de5dae2223"));
	CHECK(!digest_valid(NULL));
	CHECK_STR(digest_hex(d), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* The raw form and its hex agree with the string form, and a context is
 * reused after each (the walker hashes every file with one). */
TEST(digest_raw_and_reuse)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct digest_ctx d;
	uint8_t md[64];
	char hex[129];
	int i;

	CHECK_OK(digest_init(&d, DIGEST_SHA256, &e), &e);
	for (i = 0; i < 2; i++) {  /* the second time on the reset context */
		digest_update(&d, "a", 1);
		digest_update(&d, "bc", 2);
		CHECK_INT(digest_final_raw(&d, md), 32);
		digest_hex_of(md, 32, hex);
		CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	}
	CHECK_INT(digest_final_raw(&d, md), 32);  /* nothing given: the empty input's */
	digest_hex_of(md, 32, hex);
	CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	digest_hex_of(md, 0, hex);
	CHECK_STR(hex, "");
	digest_release(&d);
	digest_release(&d);  /* twice: the walker's error path may release one never made again */
}

TEST(strmap_basic)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct strmap m = STRMAP_INIT;
	char key[32];
	int i, bad = 0;

	for (i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		CHECK_OK(strmap_put(&m, key, (void *)(long)(i + 1), &e), &e);
	}
	for (i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		bad += strmap_get(&m, key) != (void *)(long)(i + 1);
	}
	CHECK_INT(bad, 0);
	CHECK(strmap_get(&m, "nope") == NULL);
	CHECK_STR(m.items[42].key, "k42");
	strmap_release(&m);
}

TEST(err_wrap_context)
{
	struct strata_err e = STRATA_ERR_INIT;

	CHECK_INT(err_set(&e, STRATA_EFORMAT, "gzip: %s", "unexpected end"), -STRATA_EFORMAT);
	err_wrap(&e, "layer %d", 3);
	CHECK_STR(e.msg, "layer 3: gzip: unexpected end");
	err_set(&e, STRATA_EFORMAT, "bad name 'a\nb'");
	CHECK_STR(e.msg, "bad name 'a?b'");
}

/* A tree far deeper than the open-file limit, with read-only directories,
 * files and a symlink out of it at the bottom: removed entirely, nothing
 * outside touched (the old recursive removal held one fd per level and
 * gave up silently). */
TEST(remove_tree_deep)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct rlimit old, low;
	struct stat st;
	int fd, nfd, i, depth = 600;

	CHECK(mkdir("outside", 0755) == 0);
	CHECK((fd = open("outside/keep", O_CREAT | O_WRONLY, 0644)) >= 0);
	close(fd);
	CHECK(mkdir("deep", 0755) == 0);
	CHECK((fd = open("deep", O_RDONLY | O_DIRECTORY)) >= 0);
	for (i = 0; i < depth && fd >= 0; i++) {
		close(openat(fd, "f", O_CREAT | O_WRONLY, 0644));
		CHECK(mkdirat(fd, "d", 0755) == 0);
		nfd = openat(fd, "d", O_RDONLY | O_DIRECTORY);
		if (i % 50 == 7)
			fchmod(fd, 0555);
		close(fd);
		fd = nfd;
	}
	CHECK(symlinkat("../../../../outside", fd, "link") == 0);
	CHECK(mkdirat(fd, "empty", 0) == 0);
	close(fd);

	getrlimit(RLIMIT_NOFILE, &old);
	low = old;
	low.rlim_cur = 32;
	CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
	CHECK_OK(remove_tree("deep", &e), &e);
	setrlimit(RLIMIT_NOFILE, &old);
	CHECK(lstat("deep", &st) < 0);
	CHECK(stat("outside/keep", &st) == 0);
	/* absent and plain files are fine too */
	CHECK_OK(remove_tree("deep", &e), &e);
	CHECK_OK(remove_tree("outside/keep", &e), &e);
	CHECK(stat("outside/keep", &st) < 0);
}

/* A failure is reported, naming what is left. */
TEST(remove_tree_reports_failure)
{
	struct strata_err e = STRATA_ERR_INIT;
	char name[300];
	int fd;

	CHECK(mkdir("t", 0755) == 0);
	CHECK((fd = open("t/f", O_CREAT | O_WRONLY, 0644)) >= 0);
	close(fd);
	/* a path that cannot be reached (below a file) */
	snprintf(name, sizeof(name), "t/f/x");
	CHECK(remove_tree(name, &e) < 0);
	CHECK(strstr(e.msg, "t/f/x") != NULL);
	CHECK_OK(remove_tree("t", &e), &e);
}

TEST(strmap_borrowed)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct strmap m = STRMAP_INIT;
	const char *keys[] = { "usr/bin/a", "usr/bin/b", "etc/passwd" };
	size_t i;

	for (i = 0; i < 3; i++)
		CHECK_OK(strmap_put_ref(&m, keys[i], (void *)(i + 1), &e), &e);
	CHECK_OK(strmap_put_ref(&m, "usr/bin/a", (void *)9, &e), &e);  /* replaces the value, keeps the key */
	CHECK_INT(m.len, 3);
	CHECK(m.items[0].key == keys[0]);  /* not copied */
	CHECK(strmap_get(&m, "usr/bin/a") == (void *)9);
	CHECK(strmap_key(&m, "etc/passwd") == keys[2]);
	strmap_release(&m);  /* frees no key */
}

/* What aw_copy_range() writes, in order between buffered writes, into a
 * regular file (copy_file_range), a file opened O_APPEND (which
 * copy_file_range refuses: sendfile refuses it too, so through the buffer)
 * and a pipe (sendfile). */
static void aw_sandwich(int out, int src, struct strata_err *e)
{
	struct awriter *aw = NULL;

	CHECK_OK(aw_new(&aw, e), e);
	if (!aw)
		return;
	CHECK_OK(aw_set_fd(aw, out, "out", e), e);
	CHECK_OK(aw_write(aw, "head", 4, e), e);
	CHECK_OK(aw_copy_range(aw, src, 1000, 300000, e), e);
	CHECK_OK(aw_write(aw, "tail", 4, e), e);
	CHECK_OK(aw_flush(aw, e), e);
	aw_free(aw);
}

static void aw_expect(int fd, off_t at, const unsigned char *pat)
{
	static unsigned char got[300008];
	size_t n = 0;
	ssize_t k;

	while (n < sizeof(got) && (k = pread(fd, got + n, sizeof(got) - n, at + (off_t)n)) > 0)
		n += (size_t)k;
	CHECK_INT(n, sizeof(got));
	CHECK(!memcmp(got, "head", 4));
	CHECK(!memcmp(got + 4, pat + 1000, 300000));
	CHECK(!memcmp(got + 300004, "tail", 4));
}

TEST(awrite_copy_range_any_destination)
{
	static unsigned char pat[400000];
	struct strata_err e = STRATA_ERR_INIT;
	int src, out, p[2];
	size_t i;

	for (i = 0; i < sizeof(pat); i++)
		pat[i] = (unsigned char)(i * 7 + i / 251);
	src = open("src", O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(src >= 0 && write(src, pat, sizeof(pat)) == (ssize_t)sizeof(pat));

	out = open("plain", O_RDWR | O_CREAT | O_TRUNC, 0644);
	aw_sandwich(out, src, &e);
	aw_expect(out, 0, pat);
	close(out);

	out = open("append", O_RDWR | O_CREAT | O_TRUNC | O_APPEND, 0644);
	CHECK(write(out, "x", 1) == 1);
	aw_sandwich(out, src, &e);
	aw_expect(out, 1, pat);
	close(out);

	/* a pipe that holds it all (1 MiB is the unprivileged maximum), drained into a file */
	CHECK(pipe(p) == 0);
	if (fcntl(p[1], F_SETPIPE_SZ, 1 << 20) >= 300008) {
		char buf[65536];
		ssize_t k;

		aw_sandwich(p[1], src, &e);
		close(p[1]);
		out = open("piped", O_RDWR | O_CREAT | O_TRUNC, 0644);
		while ((k = read(p[0], buf, sizeof(buf))) > 0)
			CHECK(write(out, buf, (size_t)k) == k);
		aw_expect(out, 0, pat);
		close(out);
	} else {
		close(p[1]);
	}
	close(p[0]);
	close(src);
}

TEST(array_grow_doubles)
{
	int *v = NULL;
	size_t alloc = 0, n;

	CHECK_INT(array_grow(&v, 0, &alloc, sizeof(*v), 4), 0);
	CHECK(v != NULL);
	CHECK_INT(alloc, 4);
	for (n = 0; n < 100; n++) {
		CHECK_INT(array_grow(&v, n, &alloc, sizeof(*v), 4), 0);
		v[n] = (int)n;
	}
	CHECK_INT(alloc, 128);
	CHECK_INT(v[99], 99);
	CHECK_INT(array_grow(&v, 5, &alloc, sizeof(*v), 4), 0);  /* room already: nothing moves */
	CHECK_INT(alloc, 128);
	alloc = (size_t)-1 / 2 + 1;  /* doubling would wrap: refused, nothing changed */
	CHECK_INT(array_grow(&v, alloc, &alloc, sizeof(*v), 4), -1);
	CHECK_INT(alloc, (size_t)-1 / 2 + 1);
	free(v);
}
