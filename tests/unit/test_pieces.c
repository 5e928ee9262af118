/* Unit tests of common/pieces: sizes, the cutting writer, the checking reader. */
#include <fcntl.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/pieces.h"
#include "tests/unit/unit.h"

static uint64_t size_of(const char *s)
{
	uint64_t v = 0;

	return pieces_parse_size(s, &v) < 0 ? 0 : v;
}

TEST(pieces_parse_size)
{
	CHECK(size_of("4G") == 4ull << 30);
	CHECK(size_of("700M") == 700ull << 20);
	CHECK(size_of("25G") == 25ull << 30);
	CHECK(size_of("8k") == 8192);
	CHECK(size_of("1T") == 1ull << 40);
	CHECK(size_of("4GiB") == 4ull << 30);
	CHECK(size_of("4GB") == 4ull << 30);
	CHECK(size_of("4096") == 4096);
	CHECK(size_of("0") == 0);
	CHECK(size_of("0G") == 0);
	CHECK(size_of("-1") == 0);
	CHECK(size_of("") == 0);
	CHECK(size_of("1.5G") == 0);
	CHECK(size_of("4GG") == 0);
	CHECK(size_of("G") == 0);
	CHECK(size_of("99999999999999999999") == 0);
	CHECK(size_of("20000000T") == 0);
}

/* Write n bytes through a writer cutting size-byte pieces; read them back. */
static void roundtrip(size_t n, uint64_t size, size_t want_pieces)
{
	char dir[32];
	struct strata_err e = STRATA_ERR_INIT;
	struct pieces_writer *w = NULL;
	struct pieces pc = { 0 };
	struct stream *in;
	uint8_t *data = malloc(n), *back = malloc(n + 1);
	size_t i, got = 0;
	int fd = -1;

	for (i = 0; i < n; i++)
		data[i] = (uint8_t)(i * 131 + i / 7);
	/* each case in its own directory */
	snprintf(dir, sizeof(dir), "c%zu-%zu", n, want_pieces);
	CHECK(mkdir(dir, 0755) == 0 && chdir(dir) == 0);
	CHECK_OK(pieces_writer_open(&w, "out.tar", size, &fd, &e), &e);
	CHECK_OK(write_all(fd, data, n, "pipe", &e), &e);
	CHECK_OK(pieces_writer_finish(w, &pc, &e), &e);
	CHECK_INT(pc.len, want_pieces);
	CHECK(access("out.tar.000", F_OK) != 0);  /* not before the commit */
	CHECK_OK(pieces_writer_commit(w, &e), &e);
	pieces_writer_free(w, true);
	CHECK_INT(pc.size, n);
	for (i = 0; i < pc.len; i++)
		CHECK_INT(pc.v[i].size, i + 1 < pc.len ? size : n - size * (pc.len - 1));
	in = pieces_stream_new(&pc, &e);
	CHECK(in != NULL);
	if (in) {
		CHECK_OK(stream_read(in, back, n + 1, &got, &e), &e);
		CHECK_INT(got, n);
		CHECK(!memcmp(back, data, n));
		CHECK_INT(pieces_stream_verified(in), pc.len);
		stream_free(in);
	}
	/* one byte changed in the second piece: the stream fails naming it */
	if (pc.len > 2) {
		int f = open(pc.v[1].path, O_WRONLY);

		CHECK(f >= 0 && pwrite(f, "!", 1, 5) == 1);
		close(f);
		in = pieces_stream_new(&pc, &e);
		CHECK(in != NULL);
		if (in) {
			CHECK(stream_read(in, back, n + 1, &got, &e) < 0);
			CHECK_INT(e.code, STRATA_EVERIFY);
			CHECK(strstr(e.msg, "'out.tar.001': corrupt, or a piece of another set") != NULL);
			CHECK(strstr(e.msg, pc.v[1].hex) != NULL);
			stream_free(in);
		}
		/* gone: refused before a byte is read */
		unlink(pc.v[2].path);
		err_clear(&e);
		CHECK(pieces_stream_new(&pc, &e) == NULL);
		CHECK_INT(e.code, STRATA_EVERIFY);
		CHECK(strstr(e.msg, "'out.tar.002': missing: piece 3 of") != NULL);
	}
	pieces_release(&pc);
	free(data);
	free(back);
	CHECK(chdir("..") == 0);
}

TEST(pieces_roundtrip)
{
	roundtrip(3 * 4096 + 100, 4096, 4);
	roundtrip(3 * 65536, 65536, 3);      /* an exact multiple: no empty last piece */
	roundtrip(5u << 20, 1u << 20, 5);    /* pieces as large as the buffers */
	roundtrip(25u << 20, 12u << 20, 3);  /* pieces past the checker's lead over the reader */
}

/* The checker's mapped hashing: a range past the end of the file is caught
 * (SIGBUS on that thread), reported, and hashing works again after it. */
TEST(pieces_hash_window_sigbus)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct digest_ctx d;
	char want[DIGEST_STR_MAX], got[DIGEST_STR_MAX];
	uint8_t page[4096];
	size_t i;
	int fd;

	for (i = 0; i < sizeof(page); i++)
		page[i] = (uint8_t)(i * 7);
	fd = open("window", O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && write(fd, page, sizeof(page)) == (ssize_t)sizeof(page));
	CHECK_OK(digest_init(&d, DIGEST_SHA256, &e), &e);
	CHECK_OK(digest_buf(page, sizeof(page), want, &e), &e);
	CHECK_INT(pieces_hash_window(&d, fd, 0, 2 * sizeof(page)), 1);  /* the second page is past the end */
	digest_final(&d, got);                                          /* resets the context */
	CHECK_INT(pieces_hash_window(&d, fd, 0, sizeof(page)), 0);
	digest_final(&d, got);
	CHECK(!strcmp(got, want));
	CHECK_INT(pieces_hash_window(&d, fd, 0, 3 * sizeof(page)), 1);  /* caught again: SIGBUS is not left blocked */
	digest_release(&d);
	close(fd);
	unlink("window");
}

TEST(pieces_writer_abort_removes_temps)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct pieces_writer *w = NULL;
	char buf[10000] = { 0 };
	int fd = -1;

	CHECK_OK(pieces_writer_open(&w, "x.tar", 4096, &fd, &e), &e);
	CHECK_OK(write_all(fd, buf, sizeof(buf), "pipe", &e), &e);
	pieces_writer_free(w, false);
	CHECK(system("ls | grep -q . ") != 0);  /* nothing left in the test's directory */
}
