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
