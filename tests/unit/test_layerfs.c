/* Unit tests of the layer model (formats/layerfs.h) with in-memory entries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/layerfs.h"
#include "tests/unit/unit.h"

struct seen {
	int errors, warnings;
	char last[512];
};

static void note(void *ctx, enum severity sev, const char *msg)
{
	struct seen *s = ctx;

	if (sev == SEV_ERROR)
		s->errors++;
	else
		s->warnings++;
	snprintf(s->last, sizeof(s->last), "%s", msg);
}

static enum lfs_kind classify(const char *path, enum tar_type type, const char *link, struct seen *s, char *name,
			      size_t n)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct tar_entry ent = { 0 };
	struct lfs_report rep = { s, note };
	struct lfs_name nm;
	enum lfs_kind k;

	ent.path = path;
	ent.link = link ? link : "";
	ent.type = type;
	CHECK_OK(lfs_classify(&ent, &nm, &rep, &e), &e);
	k = nm.kind;
	snprintf(name, n, "%s", nm.name ? nm.name : "");
	lfs_name_release(&nm);
	return k;
}

TEST(layerfs_classify)
{
	struct seen s = { 0 };
	char name[256];

	CHECK_INT(classify("./usr/bin/sh", TAR_FILE, NULL, &s, name, sizeof(name)), LFS_ENTRY);
	CHECK_STR(name, "usr/bin/sh");
	CHECK_INT(classify("etc/.wh.passwd", TAR_FILE, NULL, &s, name, sizeof(name)), LFS_WHITEOUT);
	CHECK_STR(name, "etc/passwd");
	CHECK_INT(classify("var/.wh..wh..opq", TAR_FILE, NULL, &s, name, sizeof(name)), LFS_OPAQUE);
	CHECK_STR(name, "var");
	CHECK_INT(classify(".wh..wh..opq", TAR_FILE, NULL, &s, name, sizeof(name)), LFS_OPAQUE);
	CHECK_STR(name, ".");
	CHECK_INT(classify(".wh..wh.plnk/123", TAR_FILE, NULL, &s, name, sizeof(name)), LFS_META);
	CHECK_INT(s.errors, 0);
	CHECK_INT(classify("/", TAR_DIR, NULL, &s, name, sizeof(name)), LFS_ROOT);
	CHECK_INT(classify("./", TAR_SYMLINK, "/etc", &s, name, sizeof(name)), LFS_SKIP);
	CHECK_INT(s.errors, 1);
	CHECK_INT(classify("a/../../x", TAR_FILE, NULL, &s, name, sizeof(name)), LFS_SKIP);
	CHECK_INT(s.errors, 2);
	CHECK_INT(classify("etc/.wh.", TAR_FILE, NULL, &s, name, sizeof(name)), LFS_SKIP);
	CHECK_INT(classify("etc/.wh..", TAR_FILE, NULL, &s, name, sizeof(name)), LFS_SKIP);
	CHECK_INT(s.errors, 4);
	CHECK_INT(classify("/abs", TAR_FILE, NULL, &s, name, sizeof(name)), LFS_ENTRY);  /* judged as relative */
	CHECK_INT(s.errors, 5);
	CHECK_INT(classify("l", TAR_HARDLINK, "/usr/bin/x", &s, name, sizeof(name)), LFS_ENTRY);  /* kaniko */
	CHECK_INT(classify("l", TAR_HARDLINK, "../x", &s, name, sizeof(name)), LFS_SKIP);
	CHECK_INT(s.errors, 6);
	CHECK_INT(classify("s", TAR_SYMLINK, "", &s, name, sizeof(name)), LFS_ENTRY);
	CHECK_INT(s.warnings, 1);
}

struct tally {
	int gone, replaced;
	uint32_t last_gone;   /* the node gone() saw last */
	const void *gone_data;
	struct seen s;
};

static void gone(void *ctx, const void *data, uint32_t node, uint8_t type, int layer, enum lfs_cause why)
{
	struct tally *t = ctx;

	(void)type, (void)layer;
	t->gone++;
	t->gone_data = data;
	t->last_gone = node;
	t->replaced += why == LFS_BY_REPLACE;
}

static void problem(void *ctx, enum severity sev, const char *msg)
{
	note(&((struct tally *)ctx)->s, sev, msg);
}

static int put(struct lfs *v, enum lfs_kind k, const char *name, enum tar_type type, const char *link)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct lfs_in in = { k, name, (uint8_t)type, link, name };
	int r = lfs_apply(v, &in, NULL, &e);

	CHECK(r >= 0);
	return r;
}

static void add_one(void *ctx, const void *data, uint8_t type, int layer)
{
	(void)data, (void)type, (void)layer;
	(*(int *)ctx)++;
}

static int present(const struct lfs *v)
{
	int n = 0;

	lfs_each(v, add_one, &n);
	return n;
}

TEST(layerfs_stack)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct tally t = { 0 };
	struct lfs_events ev = { &t, gone, problem, false };
	struct lfs *v;

	CHECK_OK(lfs_new(&v, &ev, &e), &e);
	lfs_layer(v, 0, "layer 1");
	CHECK_INT(put(v, LFS_ENTRY, "d", TAR_DIR, NULL), 1);
	CHECK_INT(put(v, LFS_ENTRY, "d/a", TAR_FILE, NULL), 1);
	CHECK_INT(put(v, LFS_ENTRY, "d/sub/b", TAR_FILE, NULL), 1);  /* d/sub implied */
	CHECK_INT(put(v, LFS_ENTRY, "s", TAR_SYMLINK, "/etc"), 1);
	CHECK_INT(put(v, LFS_ENTRY, "f", TAR_FILE, NULL), 1);
	CHECK_INT(present(v), 5);
	lfs_layer(v, 1, "layer 2");
	/* a file replaces directory d: what was below it leaves */
	CHECK_INT(put(v, LFS_ENTRY, "d", TAR_FILE, NULL), 1);
	CHECK_INT(t.replaced, 2);
	CHECK_INT(present(v), 3);
	/* a hardlink to f, one below the symlink, one to nothing */
	CHECK_INT(put(v, LFS_ENTRY, "g", TAR_HARDLINK, "f"), 1);
	CHECK_INT(put(v, LFS_ENTRY, "h", TAR_HARDLINK, "s/passwd"), 0);
	CHECK_INT(put(v, LFS_ENTRY, "i", TAR_HARDLINK, "nothing"), 0);
	CHECK_INT(t.s.errors, 2);
	lfs_layer(v, 2, "layer 3");
	/* written through the symlink of layer 1: refused */
	CHECK_INT(put(v, LFS_ENTRY, "s/evil", TAR_FILE, NULL), 0);
	CHECK(strstr(t.s.last, "written through symlink 's' of layer 1") != NULL);
	/* a whiteout of the file d, then d a directory again */
	CHECK_INT(put(v, LFS_WHITEOUT, "d", TAR_FILE, NULL), 1);
	CHECK_INT(put(v, LFS_ENTRY, "d", TAR_DIR, NULL), 1);
	CHECK_INT(put(v, LFS_ENTRY, "d/c", TAR_FILE, NULL), 1);
	/* a non-directory with entries of its own layer below it */
	CHECK_INT(put(v, LFS_ENTRY, "d", TAR_SYMLINK, "/x"), 0);
	CHECK_INT(t.s.errors, 4);
	/* a symlink chain out: t -> . then x -> t/t/../../../tmp */
	CHECK_INT(put(v, LFS_ENTRY, "t", TAR_SYMLINK, "."), 1);
	CHECK_INT(put(v, LFS_ENTRY, "x", TAR_SYMLINK, "t/t/../../../tmp"), 1);
	CHECK_INT(t.s.errors, 5);
	CHECK(strstr(t.s.last, "points outside the root") != NULL);
	lfs_free(v);
}

/* Hostile shapes stay linear: a path of 100,000 components, a symlink
 * target of 200,000 "./", 20,000 whiteouts of a directory re-created each time. */
TEST(layerfs_linear)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct tally t = { 0 };
	struct lfs_events ev = { &t, gone, problem, false };
	struct lfs *v;
	size_t n = 100000, i;
	char *deep = malloc(2 * n + 1), *dots = malloc(2 * 2 * n + 8);

	CHECK(deep && dots);
	if (!deep || !dots)
		return;
	for (i = 0; i < n; i++)
		deep[2 * i] = 'a', deep[2 * i + 1] = '/';
	deep[2 * n - 1] = '\0';
	for (i = 0; i < 2 * n; i++)
		dots[2 * i] = '.', dots[2 * i + 1] = '/';
	strcpy(dots + 4 * n, "etc");
	CHECK_OK(lfs_new(&v, &ev, &e), &e);
	lfs_layer(v, 0, "layer 1");
	CHECK_INT(put(v, LFS_ENTRY, deep, TAR_FILE, NULL), 1);
	CHECK_INT(put(v, LFS_ENTRY, "l", TAR_SYMLINK, dots), 1);
	CHECK_INT(t.s.errors, 0);
	for (i = 0; i < 20000; i++) {
		lfs_layer(v, (int)i + 1, "layer");
		CHECK_INT(put(v, LFS_WHITEOUT, "a", TAR_FILE, NULL), 1);
		put(v, LFS_ENTRY, "a", TAR_DIR, NULL);
		put(v, LFS_ENTRY, "a/x", TAR_FILE, NULL);
	}
	CHECK_INT(present(v), 3);
	lfs_free(v);
	free(deep);
	free(dots);
}

/* lfs_apply starts below the directory of the last entry it applied
 * (skipping the ancestors it walked then) only while nothing can have
 * changed them: a whiteout clears it (the directory is implied again and
 * reached when an upper layer removes its parent), and so does a new layer
 * (whose entries mark the ancestors as having entries of that layer). */
TEST(layerfs_last_dir)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct tally t = { 0 };
	struct lfs_events ev = { &t, gone, problem, false };
	struct lfs *v;

	CHECK_OK(lfs_new(&v, &ev, &e), &e);
	lfs_layer(v, 0, "layer 1");
	CHECK_INT(put(v, LFS_ENTRY, "a/b/x", TAR_FILE, NULL), 1);
	CHECK_INT(put(v, LFS_ENTRY, "a/b/y", TAR_FILE, NULL), 1);
	CHECK_INT(put(v, LFS_WHITEOUT, "a/b", TAR_FILE, NULL), 1);
	CHECK_INT(t.gone, 2);
	CHECK_INT(put(v, LFS_ENTRY, "a/b/z", TAR_FILE, NULL), 1);  /* a/b implied again */
	lfs_layer(v, 1, "layer 2");
	CHECK_INT(put(v, LFS_ENTRY, "a/b", TAR_FILE, NULL), 1);    /* replaces the directory */
	CHECK_INT(t.gone, 3);
	CHECK_INT(present(v), 1);
	lfs_free(v);

	CHECK_OK(lfs_new(&v, &ev, &e), &e);
	lfs_layer(v, 0, "layer 1");
	CHECK_INT(put(v, LFS_ENTRY, "a/b/x", TAR_FILE, NULL), 1);
	lfs_layer(v, 1, "layer 2");
	CHECK_INT(put(v, LFS_ENTRY, "a/b/q", TAR_FILE, NULL), 1);
	/* a/b holds an entry of this layer now: it cannot become a file */
	CHECK_INT(put(v, LFS_ENTRY, "a/b", TAR_FILE, NULL), 0);
	CHECK(strstr(t.s.last, "a/b") != NULL);
	lfs_free(v);
}

/* ntree_path() starts below the directory of the last path it walked: a
 * sibling whose name only begins like that directory is not below it. */
TEST(ntree_path_last_dir)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct ntree *t;
	char buf[32];
	uint32_t x, y, b;

	CHECK_OK(ntree_new(&t, 1, NULL, &e), &e);
	if (!t)
		return;
	x = ntree_path(t, "a/b/x", true, &e);
	y = ntree_path(t, "a/bc/y", true, &e);
	CHECK(x != NTREE_NONE && y != NTREE_NONE && x != y);
	CHECK_INT(ntree_pathname(t, y, buf, sizeof(buf)), 6);
	CHECK_STR(buf, "a/bc/y");
	CHECK(ntree_path(t, "a/bc/x", false, &e) == NTREE_NONE);
	b = ntree_path(t, "a/b", false, &e);
	CHECK(b == ntree_parent(t, x));
	CHECK(ntree_path(t, "a/b/x", false, &e) == x);
	CHECK(ntree_path(t, "a/b/x", true, &e) == x);
	CHECK(ntree_path(t, "a/b/x/deeper", false, &e) == NTREE_NONE);
	CHECK(ntree_path(t, "a", false, &e) == ntree_parent(t, b));
	ntree_free(t);
}

TEST(ntree_pathname)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct ntree *t;
	char buf[16];
	uint32_t i;

	CHECK_OK(ntree_new(&t, 4, NULL, &e), &e);
	if (!t)
		return;
	i = ntree_path(t, "usr/lib/x", true, &e);
	CHECK(i != NTREE_NONE);
	CHECK_INT(ntree_pathname(t, i, buf, sizeof(buf)), 9);
	CHECK_STR(buf, "usr/lib/x");
	CHECK_INT(ntree_pathname(t, 0, buf, sizeof(buf)), 1);
	CHECK_STR(buf, ".");
	CHECK_INT(ntree_pathname(t, ntree_parent(t, i), buf, sizeof(buf)), 7);
	CHECK_STR(buf, "usr/lib");
	CHECK(ntree_pathname(t, i, buf, 9) >= 9);  /* no room for the NUL */
	CHECK_INT(ntree_pathname(t, i, buf, 10), 9);
	i = ntree_path(t, "a-much-longer-name/x", true, &e);
	CHECK(ntree_pathname(t, i, buf, sizeof(buf)) >= sizeof(buf));
	ntree_free(t);
}

/* The stack copies the symlink targets it keeps (the caller's buffer may
 * change after lfs_apply), and without data (skip_data) reports every event
 * with NULL data. */
TEST(layerfs_links_copied_skip_data)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct tally t = { 0 };
	struct lfs_events ev = { &t, gone, problem, true };
	struct lfs_in in = { LFS_ENTRY, "s", TAR_SYMLINK, NULL, "data" };
	struct lfs_prev prev;
	struct lfs *v;
	char target[8] = ".";

	CHECK_OK(lfs_new(&v, &ev, &e), &e);
	lfs_layer(v, 0, "layer 1");
	in.link = target;
	CHECK_INT(lfs_apply(v, &in, NULL, &e), 1);
	strcpy(target, "zzz");  /* the stack must still see s -> . */
	CHECK_INT(put(v, LFS_ENTRY, "x", TAR_SYMLINK, "s/../tmp"), 1);
	CHECK_INT(t.s.errors, 1);  /* s -> . : "s/.." leaves the root */
	CHECK(strstr(t.s.last, "'x' -> 's/../tmp' points outside the root") != NULL);
	CHECK_INT(present(v), 2);  /* s and x, no data kept */
	lfs_layer(v, 1, "layer 2");
	in.name = "x";
	in.type = TAR_FILE;
	in.link = NULL;
	CHECK_INT(lfs_apply(v, &in, &prev, &e), 1);
	CHECK(prev.present && prev.type == TAR_SYMLINK && prev.layer == 0 && prev.data == NULL);
	CHECK_INT(put(v, LFS_WHITEOUT, "s", TAR_FILE, NULL), 1);
	CHECK_INT(t.gone, 1);  /* s left, its data NULL */
	CHECK(t.gone_data == NULL);
	lfs_layer(v, INT16_MAX + 1, "layer 32768");
	in.name = "y";
	CHECK(lfs_apply(v, &in, NULL, &e) < 0);
	CHECK(strstr(e.msg, "stack at most") != NULL);
	lfs_free(v);
}

/* Callers keep per-path state by the stack's node of the path. */
TEST(layerfs_nodes)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct tally t = { 0 };
	struct lfs_events ev = { &t, gone, problem, false };
	struct lfs *v;
	char buf[32];
	uint32_t i, j;
	size_t n;

	CHECK_OK(lfs_new(&v, &ev, &e), &e);
	lfs_layer(v, 0, "layer 1");
	CHECK_INT(put(v, LFS_ENTRY, "usr/lib/x", TAR_FILE, NULL), 1);
	n = lfs_nodes(v);
	CHECK_INT(n, 4);  /* the root, usr, usr/lib, usr/lib/x */
	i = lfs_node(v, "usr/lib/x", false, &e);
	CHECK(i != NTREE_NONE && i < n);
	CHECK_INT(lfs_pathname(v, i, buf, sizeof(buf)), 9);
	CHECK_STR(buf, "usr/lib/x");
	CHECK_INT(lfs_node(v, ".", false, &e), 0);
	CHECK(lfs_node(v, "usr/lib/y", false, &e) == NTREE_NONE);
	CHECK_INT(lfs_nodes(v), n);
	j = lfs_node(v, "usr/lib/y", true, &e);  /* made, but not in the view */
	CHECK(j != NTREE_NONE && j >= n);
	CHECK_INT(lfs_node(v, "usr/lib/y", false, &e), j);
	CHECK_INT(present(v), 1);
	CHECK_INT(put(v, LFS_ENTRY, "usr/lib/y", TAR_FILE, NULL), 1);
	CHECK_INT(lfs_node(v, "usr/lib/y", false, &e), j);
	CHECK_INT(present(v), 2);
	lfs_free(v);
}

/* What lfs_apply() and gone() say of a path's node is lfs_node()'s, so a
 * caller keeping state by node need not walk the path again. */
TEST(layerfs_nodes_reported)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct tally t = { 0 };
	struct lfs_events ev = { &t, gone, problem, false };
	struct lfs_in in = { LFS_ENTRY, "a/b", TAR_FILE, NULL, "b" };
	struct lfs_prev prev;
	struct lfs *v;

	CHECK_OK(lfs_new(&v, &ev, &e), &e);
	lfs_layer(v, 0, "layer 1");
	CHECK_INT(lfs_apply(v, &in, &prev, &e), 1);
	CHECK(!prev.present && prev.node != NTREE_NONE);
	CHECK_INT(prev.node, lfs_node(v, "a/b", false, &e));
	in.name = "s";
	in.type = TAR_SYMLINK;
	in.link = "a";
	in.data = "s";
	CHECK_INT(lfs_apply(v, &in, &prev, &e), 1);
	lfs_layer(v, 1, "layer 2");
	in.name = "s/x";  /* through the symlink: refused above its path */
	in.type = TAR_FILE;
	in.link = NULL;
	CHECK_INT(lfs_apply(v, &in, &prev, &e), 0);
	CHECK(prev.node == NTREE_NONE);
	in.name = ".";    /* the root: no node of its own is reported */
	in.type = TAR_DIR;
	CHECK_INT(lfs_apply(v, &in, &prev, &e), 1);
	CHECK(prev.node == NTREE_NONE);
	in.kind = LFS_WHITEOUT;  /* a whiteout of an absent path reaches its node */
	in.name = "a/none";
	CHECK_INT(lfs_apply(v, &in, &prev, &e), 1);
	CHECK_INT(prev.node, lfs_node(v, "a/none", false, &e));
	in.name = "a/b";
	CHECK_INT(lfs_apply(v, &in, &prev, &e), 1);
	CHECK_INT(t.gone, 1);
	CHECK_INT(t.last_gone, lfs_node(v, "a/b", false, &e));
	CHECK_INT(prev.node, t.last_gone);
	lfs_free(v);
}

/* Names end with a NUL in the tree: a name holding one is refused. */
TEST(ntree_nul_in_name)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct ntree *t;
	uint32_t a, ab;

	CHECK_OK(ntree_new(&t, 1, NULL, &e), &e);
	if (!t)
		return;
	a = ntree_child(t, 0, "a", 1, true, &e);
	ab = ntree_child(t, 0, "ab", 2, true, &e);
	CHECK(a != NTREE_NONE && ab != NTREE_NONE && a != ab);
	CHECK_INT(ntree_child(t, 0, "ab", 1, false, NULL), a);  /* a prefix of a name is another name */
	CHECK_INT(ntree_child(t, 0, "abc", 2, false, NULL), ab);
	CHECK(ntree_child(t, 0, "a\0b", 3, true, &e) == NTREE_NONE);
	CHECK(strstr(e.msg, "NUL") != NULL);
	ntree_free(t);
}
