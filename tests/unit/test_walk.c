/* Unit tests of the layer walker (analyze/walk.h): a walk that keeps records
 * (verify, convert; spilled past the bound) judges the stacked layers as one
 * that collects entries (analyze) does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/walk.h"
#include "common/tar.h"
#include "formats/catalog.h"
#include "tests/unit/unit.h"

static void put(struct buf *b, const char *path, char type, const char *link)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct tar_hdr h = { 0 };

	h.path = path;
	h.link = link ? link : "";
	h.typeflag = type;
	h.mode = type == '5' ? 0755 : 0644;
	h.mtime = 1700000000;
	CHECK_OK(tar_hdr_encode(b, &h, &e), &e);
}

static void end(struct buf *b)
{
	struct strata_err e = STRATA_ERR_INIT;
	static const char zero[1024];

	buf_add(b, zero, sizeof(zero), &e);
}

/* Two layers with something for every check of the stack, and enough
 * entries to fill several chunks of records. */
static void layers(struct buf *l0, struct buf *l1)
{
	char name[64];
	int i;

	put(l0, "etc/", '5', NULL);
	put(l0, "etc/passwd", '0', NULL);
	put(l0, "etc/passwd", '0', NULL);                   /* a duplicate */
	put(l0, "lnk", '2', "/etc");
	put(l0, "out", '2', "../../..");                    /* leaves the root */
	put(l0, "hard", '1', "etc/passwd");
	put(l0, "gone", '1', "nothing/here");               /* a hardlink to nothing */
	put(l0, "f", '0', NULL);
	put(l0, "f/below", '0', NULL);                      /* below a file of its own layer */
	for (i = 0; i < 6000; i++) {
		snprintf(name, sizeof(name), "d%02d/a-somewhat-long-name-%06d", i % 50, i);
		put(l0, name, '0', NULL);
	}
	end(l0);
	put(l1, "lnk/shadow", '0', NULL);                   /* written through a symlink of layer 1 */
	put(l1, "d07/.wh..wh..opq", '0', NULL);
	put(l1, "etc/.wh.passwd", '0', NULL);
	put(l1, "hard2", '1', "etc/passwd");                /* its target was just whited out */
	put(l1, "x", '2', "lnk/../../..");
	put(l1, "d08", '0', NULL);                          /* a file over a directory */
	end(l1);
}

static void walk_layer(struct layer_hooks *h, struct member *m, struct buf *b, struct diag *d)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct stream *s = stream_mem_new(b->data, b->len, &e);
	struct tar *t = NULL;
	struct tar_entry *ent;
	void *w;
	int r;

	CHECK(s != NULL);
	CHECK_OK(tar_open(&t, s, NULL, &e), &e);
	if (!t) {
		stream_free(s);
		return;
	}
	w = h->begin(h->ctx, m);
	CHECK(w != NULL);
	while ((r = tar_next(t, &ent, &e)) == 1)
		CHECK_OK(h->entry(w, t, ent, &e), &e);
	CHECK_INT(r, 0);
	h->end(w, m, 0, &e, false, d);
	tar_free(t);
	stream_free(s);
}

/* Walk both layers with w (collect as given), stack them; d gets it all. */
static void run(bool collect, size_t mem_max, struct buf *b, struct diag *d, int *spilled)
{
	struct walker w;
	struct layer_hooks h;
	struct member m[2];
	struct layer l[2];
	struct image im;
	int i;

	walker_init(&w, d);
	w.collect = collect;
	w.spill.mem_max = mem_max;
	walker_hooks(&w, &h);
	memset(m, 0, sizeof(m));
	memset(l, 0, sizeof(l));
	memset(&im, 0, sizeof(im));
	for (i = 0; i < 2; i++) {
		m[i].name = i ? "layer1.tar" : "layer0.tar";
		snprintf(m[i].digest, sizeof(m[i].digest), "sha256:%064d", i);
		walk_layer(&h, &m[i], &b[i], d);
		CHECK(m[i].walk != NULL);
		l[i].m = &m[i];
	}
	*spilled = w.spill.fd >= 0;
	im.layers = l;
	im.nlayers = 2;
	im.where = "test";
	h.image(h.ctx, &im, d);
	for (i = 0; i < 2; i++)
		h.free_result(m[i].walk);
	CHECK_INT(w.spill.fd, -1);  /* the last log closed the file */
	CHECK_INT(w.spill.mem, 0);
}

TEST(walk_records_judge_as_entries)
{
	struct buf b[2] = { BUF_INIT(64u << 20), BUF_INIT(64u << 20) };
	struct diag full = DIAG_INIT, mem = DIAG_INIT, rec = DIAG_INIT;
	size_t i;
	int spilled;

	layers(&b[0], &b[1]);
	run(true, WALK_SPILL_MEM, b, &full, &spilled);
	run(false, WALK_SPILL_MEM, b, &mem, &spilled);
	CHECK_INT(spilled, 0);
	run(false, 0, b, &rec, &spilled);  /* every chunk goes to the file */
	CHECK_INT(spilled, 1);
	CHECK_INT(full.len, 7);  /* the duplicate, then the stack's six */
	CHECK_INT(mem.len, full.len);
	CHECK_INT(rec.len, full.len);
	for (i = 0; i < full.len && i < rec.len && i < mem.len; i++) {
		CHECK_STR(rec.v[i].msg, full.v[i].msg);
		CHECK_STR(mem.v[i].msg, full.v[i].msg);
		CHECK_STR(rec.v[i].member, full.v[i].member);
		CHECK_INT(rec.v[i].sev, full.v[i].sev);
	}
	diag_release(&full);
	diag_release(&mem);
	diag_release(&rec);
	buf_release(&b[0]);
	buf_release(&b[1]);
}

/* A collecting walk keeps an entry's link target and its content digest's
 * number beside its path (files.h) in its record: each entry reads back its
 * own fields, whatever its neighbours carry. */
TEST(walk_entries_keep_link_and_digest)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct buf b = BUF_INIT(1u << 20);
	struct diag d = DIAG_INIT;
	struct walker w;
	struct layer_hooks h;
	struct member m;
	struct tar_hdr th = { 0 };
	const struct layer_files *lf;
	static const char *const names[5] = { "etc", "etc/passwd", "lnk", "hard", "empty" };
	const struct fentry *f[5] = { 0 }, *x;
	struct fentry copy[5];
	struct files_reader rd;
	size_t i, n = 0;
	uint8_t dg[32];
	static const char zero[512];
	/* sha256("hello\n") */
	static const uint8_t hello[32] = { 0x58, 0x91, 0xb5, 0xb5, 0x22, 0xd5, 0xdf, 0x08, 0x6d, 0x0f, 0xf0, 0xb1,
					   0x10, 0xfb, 0xd9, 0xd2, 0x1b, 0xb4, 0xfc, 0x71, 0x63, 0xaf, 0x34, 0xd0,
					   0x82, 0x86, 0xa2, 0xe8, 0x46, 0xf6, 0xbe, 0x03 };

	put(&b, "etc/", '5', NULL);
	th.path = "etc/passwd";
	th.link = "";
	th.typeflag = '0';
	th.size = 6;
	th.mode = 0644;
	CHECK_OK(tar_hdr_encode(&b, &th, &e), &e);
	buf_add(&b, "hello\n", 6, &e);
	buf_add(&b, zero, tar_padding(6), &e);
	put(&b, "lnk", '2', "/etc");
	put(&b, "hard", '1', "./etc//passwd");
	put(&b, "empty", '0', NULL);
	end(&b);
	walker_init(&w, &d);
	w.collect = true;
	w.content = true;
	walker_hooks(&w, &h);
	memset(&m, 0, sizeof(m));
	m.name = "layer.tar";
	walk_layer(&h, &m, &b, &d);
	CHECK_INT(d.len, 0);
	lf = m.walk;
	CHECK(lf != NULL);
	if (lf) {
		CHECK(lf->recs_full);
		files_read_init(&rd, lf);
		while (files_read(&rd, &x, &i, &e) == 1) {
			CHECK_INT(i, n);
			if (n < 5) {  /* a record's fields live until the next read: kept by value, strings checked now */
				copy[n] = *x;
				f[n] = &copy[n];
				if (n == 2)
					CHECK(fentry_link(x) && !strcmp(fentry_link(x), "/etc"));  /* as stored */
				if (n == 3)
					CHECK(fentry_link(x) && !strcmp(fentry_link(x), "etc/passwd"));  /* clean */
				if (n == 1)
					CHECK(fentry_digest(x, dg) && !memcmp(dg, hello, 32));
				if (n == 4)
					CHECK(fentry_digest(x, dg) && dg[0] == 0xe3);  /* sha256 of nothing */
				if (n == 0 || n == 2)
					CHECK(fentry_digest(x, dg) == NULL);
				if (n != 2 && n != 3)
					CHECK(fentry_link(x) == NULL);
				CHECK_STR(x->path, names[n]);
			}
			n++;
		}
		files_read_release(&rd);
		CHECK_INT(n, 5);
		CHECK_INT(lf->nent, 5);
		if (n == 5) {
			CHECK(f[0]->type == TAR_DIR && f[1]->type == TAR_FILE && f[2]->type == TAR_SYMLINK &&
			      f[3]->type == TAR_HARDLINK && f[4]->type == TAR_FILE);
			CHECK_INT(f[1]->size, 6);
			CHECK_INT(f[1]->mode, 0644);
			CHECK_INT(f[4]->size, 0);
		}
	}
	if (m.walk)
		h.free_result(m.walk);
	diag_release(&d);
	buf_release(&b);
}
