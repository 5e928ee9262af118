/* Unit tests of the tar header writer and the layer merge (overlay's view). */
#include <stdio.h>
#include <stdlib.h>

#include "common/tar.h"
#include "convert/merge.h"
#include "tests/unit/unit.h"

static void put(struct buf *b, const char *path, char type, const char *data, const char *link)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct tar_hdr h = { 0 };
	static const char zero[512];
	size_t n = data ? strlen(data) : 0;

	h.path = path;
	h.link = link ? link : "";
	h.typeflag = type;
	h.size = n;
	h.mode = type == '5' ? 0755 : 0644;
	h.mtime = 1700000000;
	CHECK_OK(tar_hdr_encode(b, &h, &e), &e);
	buf_add(b, data ? data : "", n, &e);
	buf_add(b, zero, tar_padding(n), &e);
}

static void end(struct buf *b)
{
	struct strata_err e = STRATA_ERR_INIT;
	static const char zero[1024];

	buf_add(b, zero, sizeof(zero), &e);
}

TEST(tar_writer_round_trip)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct buf b = BUF_INIT(1 << 20);
	struct tar_xattr xa[2] = { { "security.capability", "\x01\0\0\x02", 4 }, { "user.k", "v", 1 } };
	struct tar_hdr h = { 0 };
	struct tar_entry *ent;
	struct stream *s;
	struct tar *t;
	char longname[251], longlink[151];

	memset(longname, 'd', 250);
	longname[250] = '\0';
	longname[100] = '/';
	memset(longlink, 'l', 150);
	longlink[150] = '\0';
	h.path = longname;
	h.link = longlink;
	h.typeflag = '2';
	h.mode = 04755;
	h.uid = 3000000;
	h.gid = 7;
	h.mtime = -5;
	h.uname = "someone";
	h.xattrs = xa;
	h.nxattrs = 2;
	CHECK_OK(tar_hdr_encode(&b, &h, &e), &e);
	end(&b);
	s = stream_mem_new(b.data, b.len, &e);
	CHECK_OK(tar_open(&t, s, NULL, &e), &e);
	CHECK_INT(tar_next(t, &ent, &e), 1);
	CHECK_STR(ent->path, longname);
	CHECK_STR(ent->link, longlink);
	CHECK_INT(ent->type, TAR_SYMLINK);
	CHECK_INT(ent->mode, 04755);
	CHECK_INT(ent->uid, 3000000);
	CHECK_INT(ent->gid, 7);
	CHECK_INT(ent->mtime, -5);
	CHECK_STR(ent->uname, "someone");
	CHECK_INT(ent->nxattr_v, 2);
	if (ent->nxattr_v == 2) {
		CHECK_STR(ent->xattrs[0].name, "security.capability");
		CHECK_INT(ent->xattrs[0].len, 4);
		CHECK(!memcmp(ent->xattrs[0].value, "\x01\0\0\x02", 4));
		CHECK_STR(ent->xattrs[1].name, "user.k");
	}
	CHECK(ent->has_capability);
	CHECK_INT(tar_next(t, &ent, &e), 0);
	tar_free(t);
	stream_free(s);
	buf_release(&b);
}

/* ---- merge over in-memory layers ---- */

struct mem_layers {
	struct buf *tars;
	size_t n;
	struct stream *cur;
	unsigned opens;
};

static int m_open(void *ctx, size_t i, bool again, struct stream **tar, struct strata_err *e)
{
	struct mem_layers *ml = ctx;

	(void)again;
	ml->opens++;
	ml->cur = stream_mem_new(ml->tars[i].data, ml->tars[i].len, e);
	*tar = ml->cur;
	return ml->cur ? 0 : -1;
}

static int m_close(void *ctx, size_t i, bool again, bool ok, struct strata_err *e)
{
	struct mem_layers *ml = ctx;

	(void)i, (void)again, (void)ok, (void)e;
	stream_free(ml->cur);
	ml->cur = NULL;
	return 0;
}

static const char *m_name(void *ctx, size_t i)
{
	static const char *names[] = { "layer 1", "layer 2", "layer 3" };

	(void)ctx;
	return names[i];
}

/* Emitted entries as "name type size [-> link]" lines. */
static int record(void *ctx, const char *name, const struct tar_entry *ent, struct stream *data, struct strata_err *e)
{
	struct buf *out = ctx;
	char content[64] = "";
	size_t got = 0;

	if (data && stream_read(data, content, ent->size < 63 ? (size_t)ent->size : 63, &got, e) < 0)
		return -1;
	content[got] = '\0';
	return buf_printf(out, e, "%s %d %s%s%s\n", name, (int)ent->type, content, ent->link[0] ? " -> " : "",
			  ent->link);
}

static int run(struct buf *tars, size_t n, struct buf *out, struct merge_stats *st, struct strata_err *e)
{
	struct mem_layers m = { tars, n, NULL, 0 };
	struct merge_layers ml = { &m, n, m_open, m_close, m_name };
	struct merge_out mo = { out, record };
	struct diag d = DIAG_INIT;
	int r = merge_run(&ml, &mo, 0, st, &d, e);

	diag_release(&d);
	return r;
}

TEST(merge_whiteouts_and_links)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct buf l[3] = { BUF_INIT(1 << 20), BUF_INIT(1 << 20), BUF_INIT(1 << 20) }, out = BUF_INIT(1 << 16);
	struct merge_stats st;
	size_t i;

	put(&l[0], "d/", '5', NULL, NULL);
	put(&l[0], "d/old", '0', "OLD", NULL);
	put(&l[0], "d/link", '1', NULL, "d/old");
	put(&l[0], "gone/", '5', NULL, NULL);
	put(&l[0], "gone/x", '0', "X", NULL);
	put(&l[0], "opq/", '5', NULL, NULL);
	put(&l[0], "opq/below", '0', "B", NULL);
	end(&l[0]);
	put(&l[1], "d/old", '0', "NEW", NULL);      /* d/link keeps OLD: layer 1 is read again */
	put(&l[1], ".wh.gone", '0', NULL, NULL);
	put(&l[1], "opq/", '5', NULL, NULL);
	put(&l[1], "opq/.wh..wh..opq", '0', NULL, NULL);
	put(&l[1], "opq/above", '0', "A", NULL);
	put(&l[1], "up", '1', NULL, "/d/link");      /* absolute target, in the layer below */
	end(&l[1]);
	CHECK_OK(run(l, 2, &out, &st, &e), &e);
	CHECK(strstr(out.data, "d/old 0 NEW\n") != NULL);
	CHECK(strstr(out.data, "opq/above 0 A\n") != NULL);
	CHECK(strstr(out.data, "below") == NULL);
	CHECK(strstr(out.data, "gone") == NULL);
	CHECK(strstr(out.data, ".wh.") == NULL);
	/* the old content goes out once, under a link name, the other name links to it */
	CHECK(strstr(out.data, "d/link 0 OLD\nup 1  -> d/link\n") != NULL ||
	      strstr(out.data, "up 0 OLD\nd/link 1  -> up\n") != NULL);
	CHECK_INT(st.rereads, 1);
	for (i = 0; i < 3; i++)
		buf_release(&l[i]);
	buf_release(&out);
}

TEST(merge_refuses_write_through_symlink)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct buf l[2] = { BUF_INIT(1 << 20), BUF_INIT(1 << 20) }, out = BUF_INIT(1 << 16);
	struct merge_stats st;

	put(&l[0], "out", '2', NULL, "/etc");
	end(&l[0]);
	put(&l[1], "out/passwd", '0', "pwned", NULL);
	end(&l[1]);
	CHECK_INT(run(l, 2, &out, &st, &e), -STRATA_EFORMAT);
	CHECK(strstr(e.msg, "symlink") != NULL);
	buf_release(&l[0]);
	buf_release(&l[1]);
	buf_release(&out);
}

/* The ancestor walk starts at the last entry's directory: after an entry
 * turned a directory of that walk into a symlink (allowed here, a directory
 * of the layer above hides it), the next entry below it must still be seen
 * as written through the symlink. */
TEST(merge_walk_after_symlink_in_layer)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct buf l[2] = { BUF_INIT(1 << 20), BUF_INIT(1 << 20) }, out = BUF_INIT(1 << 16);
	struct merge_stats st;

	put(&l[0], "a/", '5', NULL, NULL);
	put(&l[0], "a/b/x", '0', "X", NULL);
	put(&l[0], "a/b", '2', NULL, "/etc");
	put(&l[0], "a/b/z", '0', "Z", NULL);
	end(&l[0]);
	put(&l[1], "a/b/", '5', NULL, NULL);
	end(&l[1]);
	CHECK_INT(run(l, 2, &out, &st, &e), -STRATA_EFORMAT);
	CHECK(strstr(e.msg, "'a/b/z' lies below 'a/b', which is not a directory") != NULL);
	buf_release(&l[0]);
	buf_release(&l[1]);
	buf_release(&out);
}

/* ... and the walk of the last entry of a layer is not reused by the layer
 * below, which an opaque directory of the layer above hides. */
TEST(merge_walk_per_layer)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct buf l[2] = { BUF_INIT(1 << 20), BUF_INIT(1 << 20) }, out = BUF_INIT(1 << 16);
	struct merge_stats st;

	put(&l[0], "p/q/g", '0', "G", NULL);
	end(&l[0]);
	put(&l[1], "p/", '5', NULL, NULL);
	put(&l[1], "p/.wh..wh..opq", '0', NULL, NULL);
	put(&l[1], "p/q/f", '0', "F", NULL);
	end(&l[1]);
	CHECK_OK(run(l, 2, &out, &st, &e), &e);
	CHECK(out.data && strstr(out.data, "p/q/f 0 F\n") != NULL);
	CHECK(out.data && strstr(out.data, "p/q/g") == NULL);
	buf_release(&l[0]);
	buf_release(&l[1]);
	buf_release(&out);
}

TEST(merge_missing_link_target)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct buf l[2] = { BUF_INIT(1 << 20), BUF_INIT(1 << 20) }, out = BUF_INIT(1 << 16);
	struct merge_stats st;

	put(&l[0], "a", '0', "A", NULL);
	end(&l[0]);
	put(&l[1], "b", '1', NULL, "nowhere");
	end(&l[1]);
	CHECK_INT(run(l, 2, &out, &st, &e), -STRATA_EFORMAT);
	CHECK(strstr(e.msg, "no layer below") != NULL);
	buf_release(&l[0]);
	buf_release(&l[1]);
	buf_release(&out);
}

/* A sparse file is refused whatever name its content would go out under: a
 * hardlink to it whose own name survives (the layer read again, or a link
 * from a layer above) must not carry the raw sparse map as a file. */
TEST(merge_refuses_sparse_behind_link)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct buf l[2] = { BUF_INIT(1 << 20), BUF_INIT(1 << 20) }, out = BUF_INIT(1 << 16);
	struct merge_stats st;

	put(&l[0], "a", 'S', "SPARSE", NULL);
	put(&l[0], "b", '1', NULL, "a");
	end(&l[0]);
	put(&l[1], "a", '0', "NEW", NULL);   /* b keeps the old (sparse) a: layer 1 is read again */
	end(&l[1]);
	CHECK_INT(run(l, 2, &out, &st, &e), -STRATA_EFORMAT);
	CHECK(strstr(e.msg, "sparse") != NULL);
	buf_reset(&l[1]);
	buf_reset(&out);
	put(&l[1], "c", '1', NULL, "a");     /* a link from above to the lower (sparse) a ... */
	put(&l[1], "a", '0', "NEW", NULL);   /* ... which this layer then replaces */
	end(&l[1]);
	buf_reset(&l[0]);
	put(&l[0], "a", 'S', "SPARSE", NULL);
	end(&l[0]);
	CHECK_INT(run(l, 2, &out, &st, &e), -STRATA_EFORMAT);
	CHECK(strstr(e.msg, "sparse") != NULL);
	buf_release(&l[0]);
	buf_release(&l[1]);
	buf_release(&out);
}

TEST(merge_link_to_symlink)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct buf l[2] = { BUF_INIT(1 << 20), BUF_INIT(1 << 20) }, out = BUF_INIT(1 << 16);
	struct merge_stats st;

	put(&l[0], "s", '0', "LOWER", NULL);
	end(&l[0]);
	put(&l[1], "s", '2', NULL, "target");         /* GNU tar: a symlink, then a hardlink to it */
	put(&l[1], "b", '1', NULL, "s");
	end(&l[1]);
	CHECK_OK(run(l, 2, &out, &st, &e), &e);
	CHECK(strstr(out.data, "s 2  -> target\nb 1  -> s\n") != NULL);
	CHECK(strstr(out.data, "LOWER") == NULL);
	buf_release(&l[0]);
	buf_release(&l[1]);
	buf_release(&out);
}
