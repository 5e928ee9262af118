/*
 * merge.c - fuzz target: the layer merge of flatten, unpack and
 * convert --squash (merge_run), over in-memory layers.
 *
 * input: 1-3 layer tars (bottom first) split at SEP (up to two separators;
 * more stay in the top layer), each read in blocks whose size comes from the
 * input length.  Every emitted entry is checked:
 *   - its header, built as flatten's tar_entry_out() builds it, goes through
 *     tar_hdr_encode() and back through the tar reader unchanged (path, link,
 *     type, size, mode, uid, gid, mtime, xattrs);
 *   - its name is clean and local, holds no ".wh." component, and is not
 *     emitted twice (unless a layer itself holds a name twice);
 *   - a hardlink names a file, symlink, device or fifo emitted before it;
 *   - a file is not sparse (merge refuses those) and its data stream holds
 *     its size in bytes.
 * The same layers are then stacked by the layer model (formats/layerfs.h),
 * as verify stacks them: every entry classified and applied, whiteouts
 * first; every entry the stack keeps must have a clean, local name with no
 * ".wh." component, and when the stack and the classifier find nothing
 * wrong, merge must not have refused the layers for a name, a whiteout or a
 * write through a symlink.
 * A broken invariant aborts, so libFuzzer reports it.
 */
#include <stdlib.h>
#include <string.h>

#include "common/fsutil.h"
#include "common/strmap.h"
#include "common/tar.h"
#include "convert/merge.h"
#include "formats/layerfs.h"
#include "fuzz/fuzz.h"

#define SEP "\n--strata-merge-layer--\n"
#define MAX_LAYERS 3

struct layers {
	const uint8_t *p[MAX_LAYERS];
	size_t n[MAX_LAYERS], count, chunk;
	struct stream *cur;
};

struct check {
	struct strmap seen;      /* name -> type + 1 of its first emission */
	bool dups_allowed;       /* a layer holds the same name twice */
	struct buf hdr, path;
};

static int l_open(void *ctx, size_t i, bool again, struct stream **tar, struct strata_err *e)
{
	struct layers *l = ctx;

	(void)again;
	if (i >= l->count || l->cur)
		abort();
	if (!(l->cur = fuzz_chunked_new(l->p[i], l->n[i], l->chunk)))
		return err_nomem(e, "fuzz");
	*tar = l->cur;
	return 0;
}

static int l_close(void *ctx, size_t i, bool again, bool ok, struct strata_err *e)
{
	struct layers *l = ctx;

	(void)i, (void)again, (void)ok, (void)e;
	stream_free(l->cur);
	l->cur = NULL;
	return 0;
}

static const char *l_name(void *ctx, size_t i)
{
	static const char *names[MAX_LAYERS] = { "layer 1", "layer 2", "layer 3" };

	(void)ctx;
	if (i >= MAX_LAYERS)
		abort();
	return names[i];
}

/* tar_hdr_of() writes an unknown type as a regular file */
static enum tar_type type_back(enum tar_type t)
{
	return t == TAR_OTHER ? TAR_FILE : t;
}

/* The header of one entry, as flatten writes it (tar_hdr_of), read back. */
static void round_trip(struct check *c, const char *name, const struct tar_entry *ent)
{
	struct strata_err e = STRATA_ERR_INIT;
	static const uint8_t zeros[1024];
	struct tar_hdr h = { 0 };
	struct tar_entry *back;
	struct stream *s;
	struct tar *t = NULL;
	unsigned i;

	buf_reset(&c->path);
	buf_reset(&c->hdr);
	if (buf_addstr(&c->path, strcmp(name, ".") ? name : "./", &e) < 0 ||
	    (ent->type == TAR_DIR && strcmp(name, ".") && buf_addstr(&c->path, "/", &e) < 0))
		abort();
	tar_hdr_of(&h, ent, c->path.data);
	if (tar_hdr_encode(&c->hdr, &h, &e) < 0)
		return;  /* a refusal (too long for the buffer) is not a round-trip failure */
	/* no data is read: the header is all that is compared */
	if (buf_add(&c->hdr, zeros, sizeof(zeros), &e) < 0)
		abort();
	if (!(s = stream_mem_new(c->hdr.data, c->hdr.len, &e)) || tar_open(&t, s, NULL, &e) < 0)
		abort();
	if (tar_next(t, &back, &e) != 1)
		abort();
	if (strcmp(back->path, h.path) || strcmp(back->link, h.link) || back->type != type_back(ent->type) ||
	    back->size != h.size || back->mode != (h.mode & 07777) || back->uid != h.uid || back->gid != h.gid ||
	    back->mtime != h.mtime || back->nxattr_v != h.nxattrs)
		abort();
	for (i = 0; i < h.nxattrs; i++)
		if (strcmp(back->xattrs[i].name, h.xattrs[i].name) || back->xattrs[i].len != h.xattrs[i].len ||
		    memcmp(back->xattrs[i].value, h.xattrs[i].value, h.xattrs[i].len))
			abort();
	tar_free(t);
	stream_free(s);
}

static int out_entry(void *ctx, const char *name, const struct tar_entry *ent, struct stream *data,
		     struct strata_err *e)
{
	struct check *c = ctx;
	char *clean = path_clean(name);
	size_t prev;
	uint64_t left;

	if (!clean)
		return err_nomem(e, "fuzz");
	if (strcmp(clean, name) || !path_is_local(clean) || lfs_meta_name(name))
		abort();
	free(clean);
	prev = (size_t)(uintptr_t)strmap_get(&c->seen, name);
	if (prev && !c->dups_allowed)
		abort();
	if (ent->type == TAR_HARDLINK) {
		/* a link names a file, symlink, device or fifo emitted before it */
		size_t to = (size_t)(uintptr_t)strmap_get(&c->seen, ent->link);

		if (!to || to == (size_t)TAR_DIR + 1 || to == (size_t)TAR_HARDLINK + 1 || to == (size_t)TAR_OTHER + 1)
			abort();
	}
	if (ent->type == TAR_FILE && (!data || ent->sparse))
		abort();
	if (!prev && strmap_put(&c->seen, name, (void *)(uintptr_t)(ent->type + 1), e) < 0)
		return -e->code;
	round_trip(c, name, ent);
	for (left = ent->type == TAR_FILE ? ent->size : 0; left;) {
		const uint8_t *p;
		size_t n;
		int r;

		if ((r = stream_get(data, &p, &n, left < SIZE_MAX ? (size_t)left : SIZE_MAX, e)) < 0)
			return r;
		if (!n)
			return err_set(e, STRATA_EFORMAT, "'%s': data ends early", name);
		left -= n;
	}
	return 0;
}

/* Does one layer hold the same (cleaned) name twice?  Then the merge emits it twice. */
static bool layer_has_dups(const uint8_t *p, size_t n)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct strmap names = STRMAP_INIT;
	struct stream *s = stream_mem_new(p, n, &e);
	struct tar *t = NULL;
	struct tar_entry *ent;
	bool dup = false;

	if (!s)
		abort();
	if (tar_open(&t, s, NULL, &e) == 0)
		while (!dup && tar_next(t, &ent, &e) == 1) {
			char *c = path_clean(ent->path[0] == '/' && !ent->path[strspn(ent->path, "/")] ? "." : ent->path);

			if (!c)
				abort();
			if (strmap_get(&names, c))
				dup = true;
			else if (strmap_put(&names, c, (void *)1, &e) < 0)
				abort();
			free(c);
		}
	tar_free(t);
	stream_free(s);
	strmap_release(&names);
	return dup;
}

static void count_error(void *ctx, enum severity sev, const char *msg)
{
	(void)msg;
	*(unsigned *)ctx += sev == SEV_ERROR;
}

static void kept(void *ctx, const void *data, uint8_t type, int layer)
{
	const char *name = data;

	(void)ctx, (void)type, (void)layer;
	if (!name[0] || !path_is_local(name) || lfs_meta_name(name))
		abort();
}

/* Stack the layers with the layer model; returns the errors it reported. */
static unsigned stack(struct layers *l, const struct limits *lim)
{
	struct strata_err e = STRATA_ERR_INIT;
	unsigned errors = 0;
	struct lfs_report rep = { &errors, count_error };
	struct lfs_events ev = { &errors, NULL, count_error, false };
	struct lfs_name *names = NULL;
	uint8_t *types = NULL;
	char **links = NULL;
	size_t n = 0, alloc = 0, i, first;
	struct lfs *v = NULL;

	if (lfs_new(&v, &ev, &e) < 0)
		return 1;
	for (i = 0; i < l->count; i++) {
		struct stream *s;
		struct tar *t = NULL;
		struct tar_entry *ent;
		size_t k;
		int pass;

		first = n;
		if (l_open(l, i, false, &s, &e) < 0)
			break;
		if (tar_open(&t, s, lim, &e) == 0)
			while (tar_next(t, &ent, &e) == 1) {
				if (n == alloc) {
					size_t na = alloc ? alloc * 2 : 64;
					void *a = realloc(names, na * sizeof(*names)), *b, *c;

					if (a)
						names = a;
					b = realloc(types, na);
					if (b)
						types = b;
					c = realloc(links, na * sizeof(*links));
					if (c)
						links = c;
					if (!a || !b || !c)
						break;
					alloc = na;
				}
				if (lfs_classify(ent, &names[n], &rep, &e) < 0)
					break;
				types[n] = (uint8_t)ent->type;
				links[n] = ent->type == TAR_SYMLINK ? strdup(ent->link) : NULL;
				n++;
			}
		tar_free(t);
		l_close(l, i, false, true, &e);
		lfs_layer(v, (int)i, "layer");
		for (pass = 0; pass < 2; pass++)
			for (k = first; k < n; k++) {
				struct lfs_name *nm = &names[k];
				struct lfs_in in = { nm->kind, nm->name, types[k], nm->link ? nm->link : links[k], nm->name };
				bool wh = nm->kind == LFS_WHITEOUT || nm->kind == LFS_OPAQUE;

				if (nm->kind == LFS_SKIP || nm->kind == LFS_META || nm->kind == LFS_ROOT || wh != (pass == 0))
					continue;
				if (lfs_apply(v, &in, NULL, &e) < 0)
					errors++;
			}
	}
	lfs_each(v, kept, NULL);
	lfs_free(v);
	for (i = 0; i < n; i++) {
		lfs_name_release(&names[i]);
		free(links[i]);
	}
	free(names);
	free(types);
	free(links);
	return errors;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct layers l = { { NULL }, { 0 }, 0, 0, NULL };
	struct check c = { STRMAP_INIT, false, BUF_INIT(4u << 20), BUF_INIT(1u << 20) };
	struct merge_layers ml = { &l, 0, l_open, l_close, l_name };
	struct merge_out mo = { &c, out_entry };
	struct merge_stats st;
	struct limits lim = { 0 };
	struct diag d = DIAG_INIT;
	const uint8_t *p = data, *end = data + size;
	size_t i;
	int mr;

	while (l.count < MAX_LAYERS) {
		const uint8_t *sep = l.count + 1 < MAX_LAYERS ? memmem(p, (size_t)(end - p), SEP, sizeof(SEP) - 1) : NULL;

		l.p[l.count] = p;
		l.n[l.count] = sep ? (size_t)(sep - p) : (size_t)(end - p);
		l.count++;
		if (!sep)
			break;
		p = sep + sizeof(SEP) - 1;
	}
	for (i = 0; i < l.count; i++)
		if (layer_has_dups(l.p[i], l.n[i]))
			c.dups_allowed = true;
	l.chunk = fuzz_chunk_for(size);
	ml.n = l.count;
	lim.max_entries = 10000;
	mr = merge_run(&ml, &mo, &lim, &st, &d, &e);
	if (l.cur)
		abort();
	if (!stack(&l, &lim) && mr < 0 && e.code == STRATA_EFORMAT &&
	    (strstr(e.msg, "unsafe path") || strstr(e.msg, "whiteout") || strstr(e.msg, "write through")))
		abort();  /* merge refused, for a reason of the model, what the model accepts */
	strmap_release(&c.seen);
	buf_release(&c.hdr);
	buf_release(&c.path);
	diag_release(&d);
	return 0;
}
