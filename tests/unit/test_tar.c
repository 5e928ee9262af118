/* Unit tests of the streaming tar reader. */
#include <stdio.h>
#include <stdlib.h>

#include "common/tar.h"
#include "tests/unit/unit.h"

/* Append one ustar header block for (name, type, size, link) to b. */
static void hdr(struct buf *b, const char *name, char type, unsigned long long size, const char *link)
{
	unsigned char h[512] = { 0 };
	unsigned sum = 0, i;
	struct strata_err e = STRATA_ERR_INIT;

	snprintf((char *)h, 100, "%s", name);
	snprintf((char *)h + 100, 8, "%07o", 0644);
	snprintf((char *)h + 108, 8, "%07o", 0);
	snprintf((char *)h + 116, 8, "%07o", 0);
	snprintf((char *)h + 124, 12, "%011llo", size & 077777777777ull);
	snprintf((char *)h + 136, 12, "%011o", 1700000000);
	h[156] = (unsigned char)type;
	if (link)
		snprintf((char *)h + 157, 100, "%s", link);
	memcpy(h + 257, "ustar\0" "00", 8);
	memset(h + 148, ' ', 8);
	for (i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	buf_add(b, h, 512, &e);
}

static void data(struct buf *b, const char *s, size_t n)
{
	struct strata_err e = STRATA_ERR_INIT;
	static const char zero[512];

	buf_add(b, s, n, &e);
	buf_add(b, zero, (512 - n % 512) % 512, &e);
}

static void pax(struct buf *b, const char *records)
{
	hdr(b, "PaxHeaders/x", 'x', strlen(records), NULL);
	data(b, records, strlen(records));
}

static void end(struct buf *b)
{
	static const char zero[1024];
	struct strata_err e = STRATA_ERR_INIT;

	buf_add(b, zero, 1024, &e);
}

/* List entries as "type:path:size[:link]" lines; returns tar_next's last result. */
static int list_lim(const struct buf *b, size_t n, struct buf *out, const struct limits *lim, struct strata_err *e)
{
	struct stream *s = stream_mem_new(b->data, n, e);
	struct tar_entry *ent;
	struct tar *t;
	int r;

	tar_open(&t, s, lim, e);
	while ((r = tar_next(t, &ent, e)) == 1) {
		struct strata_err ie = STRATA_ERR_INIT;

		buf_printf(out, &ie, "%c:%s:%llu%s%s\n", ent->typeflag, ent->path, (unsigned long long)ent->size,
			   ent->link[0] ? ":" : "", ent->link);
	}
	if (r == 0 && tar_missing_end(t))
		buf_addstr(out, "(no end)\n", e);
	tar_free(t);
	stream_free(s);
	return r;
}

static int list(const struct buf *b, size_t n, struct buf *out, struct strata_err *e)
{
	return list_lim(b, n, out, NULL, e);
}

TEST(tar_basic_and_links)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct buf b = BUF_INIT(1 << 20), out = BUF_INIT(4096);

	hdr(&b, "etc/", '5', 0, NULL);
	hdr(&b, "etc/hostname", '0', 5, NULL);
	data(&b, "host\n", 5);
	hdr(&b, "bin/sh", '2', 0, "busybox");
	hdr(&b, "bin/ash", '1', 0, "bin/busybox");
	end(&b);
	CHECK_OK(list(&b, b.len, &out, &e), &e);
	CHECK_STR(out.data, "5:etc/:0\n0:etc/hostname:5\n2:bin/sh:0:busybox\n1:bin/ash:0:bin/busybox\n");
	buf_release(&b);
	buf_release(&out);
}

TEST(tar_pax_and_gnu_longname)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct buf b = BUF_INIT(1 << 20), out = BUF_INIT(8192);
	char longname[300], rec[400];

	memset(longname, 'n', 299);
	longname[299] = '\0';
	snprintf(rec, sizeof(rec), "%d path=%s\n", (int)(strlen(longname) + 10), longname);
	pax(&b, rec);
	hdr(&b, "short", '0', 3, NULL);
	data(&b, "abc", 3);
	/* pax size overrides the header size */
	pax(&b, "11 size=10\n");
	hdr(&b, "sized", '0', 3, NULL);
	data(&b, "0123456789", 10);
	hdr(&b, "././@LongLink", 'L', 8, NULL);
	data(&b, "gnu/long", 8);
	hdr(&b, "gnu/lo", '0', 0, NULL);
	end(&b);
	CHECK_OK(list(&b, b.len, &out, &e), &e);
	CHECK(strstr(out.data, longname) != NULL);
	CHECK(strstr(out.data, "0:sized:10\n") != NULL);
	CHECK(strstr(out.data, "0:gnu/long:0\n") != NULL);
	buf_release(&b);
	buf_release(&out);
}

TEST(tar_truncated_and_not_tar)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct buf b = BUF_INIT(1 << 20), out = BUF_INIT(4096);

	hdr(&b, "big", '0', 4ull << 30, NULL);  /* claims 4 GiB */
	data(&b, "tiny", 4);
	CHECK_INT(list(&b, b.len, &out, &e), -STRATA_EFORMAT);
	CHECK(strstr(e.msg, "truncated") != NULL);
	buf_reset(&b);
	buf_reset(&out);
	buf_addstr(&b, "{\"not\": \"a tar\"}", &e);
	CHECK_INT(list(&b, b.len, &out, &e), -STRATA_EFORMAT);
	CHECK(strstr(e.msg, "not a tar") != NULL);
	buf_reset(&b);
	buf_reset(&out);
	hdr(&b, "a", '0', 1, NULL);
	data(&b, "x", 1);
	CHECK_OK(list(&b, b.len, &out, &e), &e);  /* EOF at a header boundary */
	CHECK_STR(out.data, "0:a:1\n(no end)\n");
	buf_reset(&out);
	CHECK_OK(list(&b, 700, &out, &e), &e);  /* cut inside the padding (umoci 0.4) */
	CHECK_STR(out.data, "0:a:1\n(no end)\n");
	buf_reset(&out);
	CHECK_INT(list(&b, 512, &out, &e), -STRATA_EFORMAT);  /* cut before the data */
	buf_release(&b);
	buf_release(&out);
}

TEST(tar_pax_cap)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct buf b = BUF_INIT(4 << 20), out = BUF_INIT(4096);

	hdr(&b, "PaxHeaders/x", 'x', 2u << 20, NULL);
	CHECK_INT(list(&b, b.len, &out, &e), -STRATA_EFORMAT);
	CHECK(strstr(e.msg, "'PaxHeaders/x' at offset 0 is 2097152 bytes, over the limit of 1048576") != NULL);
	CHECK(strstr(e.msg, "--max-header") != NULL);
	buf_release(&b);
	buf_release(&out);
}

/* The bounds of struct limits: header records and entries. */
TEST(tar_limits)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct buf b = BUF_INIT(1 << 20), out = BUF_INIT(4096);
	struct limits lim = { 0 };

	pax(&b, "27 path=a/long/name/here/x\n");
	hdr(&b, "x", '0', 0, NULL);
	hdr(&b, "y", '0', 0, NULL);
	hdr(&b, "z", '0', 0, NULL);
	end(&b);
	lim.max_header = 26;
	CHECK_INT(list_lim(&b, b.len, &out, &lim, &e), -STRATA_EFORMAT);
	CHECK(strstr(e.msg, "is 27 bytes, over the limit of 26") != NULL);
	lim.max_header = 27;
	lim.max_entries = 2;
	buf_reset(&out);
	CHECK_INT(list_lim(&b, b.len, &out, &lim, &e), -STRATA_EFORMAT);
	CHECK(strstr(e.msg, "'z' is entry 3, over the limit of 2 (raise it with --max-entries)") != NULL);
	CHECK_STR(out.data, "0:a/long/name/here/x:0\n0:y:0\n");
	lim.max_entries = 3;
	buf_reset(&out);
	CHECK_OK(list_lim(&b, b.len, &out, &lim, &e), &e);
	buf_release(&b);
	buf_release(&out);
}

/* ---- hostile shapes: read as Go's archive/tar does, or refused ---- */

/* Recompute the checksum of the header block at b->data + at. */
static void resum(struct buf *b, size_t at)
{
	unsigned char *h = (unsigned char *)b->data + at;
	unsigned sum = 0, i;

	memset(h + 148, ' ', 8);
	for (i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
}

/* A pax header whose records may hold NUL bytes. */
static void pax_raw(struct buf *b, const char *records, size_t n)
{
	hdr(b, "PaxHeaders/x", 'x', n, NULL);
	data(b, records, n);
}

/* A setuid file whose header hides in the "data" of the entry before. */
static void hidden_setuid(struct buf *b)
{
	size_t at = b->len;

	hdr(b, "bin/su", '0', 4, NULL);
	snprintf(b->data + at + 100, 8, "%07o", 04755);
	resum(b, at);
	data(b, "evil", 4);
	/* fill the rest of the 1024 bytes the size field claims */
	data(b, "", 0);
}

TEST(tar_header_only_types_carry_no_data)
{
	static const char types[] = "123456";
	struct strata_err e = STRATA_ERR_INIT;
	struct buf b = BUF_INIT(1 << 20), out = BUF_INIT(4096);
	size_t i;

	for (i = 0; types[i]; i++) {
		char want[128];

		buf_reset(&b);
		buf_reset(&out);
		/* size 1024 on a header-only type: Go reads bin/su as the next entry */
		hdr(&b, "x", types[i], 1024, types[i] == '1' || types[i] == '2' ? "t" : NULL);
		hidden_setuid(&b);
		end(&b);
		CHECK_OK(list(&b, b.len, &out, &e), &e);
		snprintf(want, sizeof(want), "%c:x:0%s\n0:bin/su:4\n", types[i],
			 types[i] == '1' || types[i] == '2' ? ":t" : "");
		CHECK_STR(out.data, want);
	}
	/* an old-style ('\0') file named "d/" is a directory: no data either */
	buf_reset(&b);
	buf_reset(&out);
	hdr(&b, "d/", '\0', 1024, NULL);
	hidden_setuid(&b);
	end(&b);
	{
		struct stream *s = stream_mem_new(b.data, b.len, &e);
		struct tar_entry *ent;
		struct tar *t;

		tar_open(&t, s, NULL, &e);
		CHECK_INT(tar_next(t, &ent, &e), 1);
		CHECK_INT(ent->type, TAR_DIR);
		CHECK_INT(ent->size, 0);
		CHECK_INT(tar_next(t, &ent, &e), 1);
		CHECK_STR(ent->path, "bin/su");
		CHECK_INT(ent->mode, 04755);
		tar_free(t);
		stream_free(s);
	}
	buf_release(&b);
	buf_release(&out);
}

TEST(tar_header_only_types_ignore_pax_size)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct buf b = BUF_INIT(1 << 20), out = BUF_INIT(4096);

	pax(&b, "13 size=1024\n");
	hdr(&b, "lnk", '2', 0, "target");
	hidden_setuid(&b);
	pax(&b, "13 size=1024\n");
	hdr(&b, "hard", '1', 0, "bin/su");
	hidden_setuid(&b);
	pax(&b, "13 size=1024\n");
	hdr(&b, "dir/", '5', 0, NULL);
	hidden_setuid(&b);
	end(&b);
	CHECK_OK(list(&b, b.len, &out, &e), &e);
	CHECK_STR(out.data, "2:lnk:0:target\n0:bin/su:4\n1:hard:0:bin/su\n0:bin/su:4\n5:dir/:0\n0:bin/su:4\n");
	buf_release(&b);
	buf_release(&out);
}

/* A pax record with an empty value keeps the header's field (Go's mergePAX). */
TEST(tar_pax_empty_value_keeps_header_field)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct buf b = BUF_INIT(1 << 20), out = BUF_INIT(4096);

	pax(&b, "13 size=1024\n8 size=\n8 path=\n");
	hdr(&b, "f", '0', 3, NULL);
	data(&b, "abc", 3);
	hdr(&b, "g", '0', 0, NULL);
	end(&b);
	CHECK_OK(list(&b, b.len, &out, &e), &e);
	CHECK_STR(out.data, "0:f:3\n0:g:0\n");
	buf_release(&b);
	buf_release(&out);
}

TEST(tar_pax_nul_refused)
{
	static const struct { const char *rec; size_t n; const char *msg; } cases[] = {
		{ "13 path=a\0bc\n", 13, "pax record 'path' at offset 0 holds a NUL byte" },
		{ "17 linkpath=a\0bc\n", 17, "pax record 'linkpath' at offset 0 holds a NUL byte" },
		{ "14 uname=a\0bc\n", 14, "pax record 'uname' at offset 0 holds a NUL byte" },
		{ "14 gname=a\0bc\n", 14, "pax record 'gname' at offset 0 holds a NUL byte" },
		{ "14 pa\0th=abc\n", 14, "malformed pax extended header record at offset 0" },
		{ "7 =abc\n", 7, "malformed pax extended header record at offset 0" },
	};
	struct strata_err e = STRATA_ERR_INIT;
	struct buf b = BUF_INIT(1 << 20), out = BUF_INIT(4096);
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_reset(&b);
		buf_reset(&out);
		pax_raw(&b, cases[i].rec, cases[i].n);
		hdr(&b, "f", '2', 0, "t");
		end(&b);
		CHECK_INT(list(&b, b.len, &out, &e), -STRATA_EFORMAT);
		CHECK_STR(e.msg, cases[i].msg);
	}
	/* pax uname and gname are applied */
	buf_reset(&b);
	pax(&b, "33 uname=a-rather-long-user-name\n12 gname=gg\n");
	hdr(&b, "f", '0', 0, NULL);
	end(&b);
	{
		struct stream *s = stream_mem_new(b.data, b.len, &e);
		struct tar_entry *ent;
		struct tar *t;

		tar_open(&t, s, NULL, &e);
		CHECK_INT(tar_next(t, &ent, &e), 1);
		CHECK_STR(ent->uname, "a-rather-long-user-name");
		CHECK_STR(ent->gname, "gg");
		tar_free(t);
		stream_free(s);
	}
	buf_release(&b);
	buf_release(&out);
}

/* Two pax headers, or a pax path and a GNU long name: Go and libarchive differ. */
TEST(tar_conflicting_names_refused)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct buf b = BUF_INIT(1 << 20), out = BUF_INIT(4096);

	pax(&b, "13 path=evil\n");
	pax(&b, "13 mtime=123\n");
	hdr(&b, "good", '0', 0, NULL);
	end(&b);
	CHECK_INT(list(&b, b.len, &out, &e), -STRATA_EFORMAT);
	CHECK_STR(e.msg, "pax header at offset 1024 follows another pax header (readers disagree on which counts)");
	buf_reset(&b);
	pax(&b, "13 path=evil\n");
	hdr(&b, "././@LongLink", 'L', 5, NULL);
	data(&b, "good", 5);
	hdr(&b, "g", '0', 0, NULL);
	end(&b);
	CHECK_INT(list(&b, b.len, &out, &e), -STRATA_EFORMAT);
	CHECK(strstr(e.msg, "has a pax path 'evil' and a GNU long path 'good'") != NULL);
	/* the same name twice is no conflict */
	buf_reset(&b);
	buf_reset(&out);
	pax(&b, "13 path=good\n");
	hdr(&b, "././@LongLink", 'L', 5, NULL);
	data(&b, "good", 5);
	hdr(&b, "g", '0', 0, NULL);
	end(&b);
	CHECK_OK(list(&b, b.len, &out, &e), &e);
	CHECK_STR(out.data, "0:good:0\n");
	buf_release(&b);
	buf_release(&out);
}

TEST(tar_end_of_archive)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct buf b = BUF_INIT(4 << 20), out = BUF_INIT(4096);
	static const char zero[512];
	size_t i;

	/* one zero block, then a header: Go says ErrHeader */
	hdr(&b, "a", '0', 1, NULL);
	data(&b, "x", 1);
	buf_add(&b, zero, 512, &e);
	hdr(&b, "bin/su", '0', 0, NULL);
	end(&b);
	CHECK_INT(list(&b, b.len, &out, &e), -STRATA_EFORMAT);
	CHECK(strstr(e.msg, "the zero block at offset 1024 is followed by a non-zero block") != NULL);
	/* one zero block then the end of the stream: the end */
	buf_reset(&out);
	CHECK_OK(list(&b, 1536, &out, &e), &e);
	CHECK_STR(out.data, "0:a:1\n");
	/* a partial block after it: truncated */
	CHECK_INT(list(&b, 1600, &out, &e), -STRATA_EFORMAT);
	CHECK(strstr(e.msg, "truncated") != NULL);
	/* two zero blocks and record padding: the end, read to the end */
	buf_reset(&b);
	buf_reset(&out);
	hdr(&b, "a", '0', 1, NULL);
	data(&b, "x", 1);
	for (i = 0; i < 18; i++)
		buf_add(&b, zero, 512, &e);
	{
		struct stream *s = stream_mem_new(b.data, b.len, &e);
		struct tar_entry *ent;
		struct tar *t;

		tar_open(&t, s, NULL, &e);
		CHECK_INT(tar_next(t, &ent, &e), 1);
		CHECK_INT(tar_next(t, &ent, &e), 0);
		CHECK_INT(tar_offset(t), 10240);
		CHECK_INT(tar_next(t, &ent, &e), 0);
		tar_free(t);
		stream_free(s);
	}
	/* a non-zero byte after the end */
	buf_add(&b, "junk", 4, &e);
	CHECK_INT(list(&b, b.len, &out, &e), -STRATA_EFORMAT);
	CHECK_STR(e.msg, "data follows the end of the archive: a non-zero byte at offset 10240");
	/* zero padding past TAR_TRAILER_MAX */
	buf_reset(&b);
	buf_reset(&out);
	hdr(&b, "a", '0', 0, NULL);
	for (i = 0; i < 2 + TAR_TRAILER_MAX / 512 + 1; i++)
		buf_add(&b, zero, 512, &e);
	CHECK_INT(list(&b, b.len, &out, &e), -STRATA_EFORMAT);
	CHECK_STR(e.msg, "more than 1048576 bytes follow the end of the archive at offset 1536");
	CHECK_OK(list(&b, b.len - 512, &out, &e), &e);  /* exactly the bound */
	/* nothing but zeros (strata verify - < /dev/zero) */
	CHECK_INT(list(&b, b.len - 512, &out, &e) , 0);
	buf_reset(&out);
	CHECK_INT(list_lim(&b, 0, &out, NULL, &e), -STRATA_EFORMAT);
	memset(b.data, 0, 512);
	CHECK_INT(list(&b, b.len, &out, &e), -STRATA_EFORMAT);
	CHECK_STR(e.msg, "not a tar archive: more than 1048576 zero bytes and no header (from offset 1024)");
	buf_release(&b);
	buf_release(&out);
}

TEST(tar_old_gnu_sparse)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct buf b = BUF_INIT(1 << 20), out = BUF_INIT(4096);

	/* a simple old GNU sparse member: read (its data is the stored extents) */
	hdr(&b, "sp", 'S', 4, NULL);
	memcpy(b.data + 257, "ustar  \0", 8);
	resum(&b, 0);
	data(&b, "abcd", 4);
	end(&b);
	CHECK_OK(list(&b, b.len, &out, &e), &e);
	CHECK_STR(out.data, "S:sp:4\n");
	/* with sparse map extension blocks: refused */
	b.data[482] = 1;
	resum(&b, 0);
	CHECK_INT(list(&b, b.len, &out, &e), -STRATA_EFORMAT);
	CHECK_STR(e.msg, "old GNU sparse file 'sp' at offset 0 has sparse map extension blocks, which strata does not read");
	/* 'S' in a POSIX ustar header (star's layout): refused, as Go does */
	b.data[482] = 0;
	memcpy(b.data + 257, "ustar\0" "00", 8);
	resum(&b, 0);
	CHECK_INT(list(&b, b.len, &out, &e), -STRATA_EFORMAT);
	CHECK(strstr(e.msg, "is not in the GNU format") != NULL);
	buf_release(&b);
	buf_release(&out);
}
