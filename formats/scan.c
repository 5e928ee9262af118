/*
 * scan.c - read the outer archive once and build the catalog.
 *
 * A tar source (file or stdin, possibly gzip/xz/zstd/bzip2 as a whole) is
 * read member by member; a directory source (an OCI layout) file by file.
 * Each regular member goes through the same chain:
 *
 *   member bytes -> tap (digest, size; keeps JSON-looking bytes) -> decode
 *                -> tap (diff_id, only when compressed) -> layer walk (hooks)
 *
 * Before the kind of archive is known, the whole input is also treated as a
 * possible rootfs tarball: the raw and decoded input are hashed and the
 * entries walked as one layer.  The first non-directory member decides: a
 * name an image archive uses (manifest.json, blobs/..., <hex>.json, ...)
 * abandons the rootfs view after a few kilobytes; anything else keeps it and
 * the archive itself is the layer.  stdin works the same way, in one pass.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/tar.h"
#include "formats/image.h"
#include "formats/store.h"
#include "formats/json.h"
#include "formats/pieceset.h"

#define READ_BUF (1u << 20)
#define MAX_DIR_DEPTH 32
#define SMALL_BLOB (64u << 10)

static bool is_special_doc(const char *name)
{
	return !strcmp(name, "manifest.json") || !strcmp(name, "index.json") ||
	       !strcmp(name, "repositories") || !strcmp(name, "oci-layout");
}

/* Names only image archives use at their top (see formats.md §1-2). */
static bool image_member_name(const char *p)
{
	size_t i;

	if (is_special_doc(p) || !strncmp(p, "blobs/", 6) || !strcmp(p, "blobs") || !strncmp(p, "sha256:", 7))
		return true;
	for (i = 0; i < 64; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return false;
	return p[64] == '\0' || p[64] == '/' || p[64] == '.';
}

static bool looks_json(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == ' ' || p[i] == '\n' || p[i] == '\r' || p[i] == '\t')
			continue;
		return p[i] == '{' || p[i] == '[';
	}
	return n > 0;  /* only whitespace seen so far: keep looking */
}

/* Walk a decoded layer stream through the hooks.  What is wrong with the
 * blob is recorded on the member; an I/O error (a read or write failing,
 * memory, an interruption: STRATA_EIO) is the run's, and returned. */
static int walk_tar(struct member *m, struct stream *in, const struct layer_hooks *h, const struct limits *lim,
		    struct diag *d, struct strata_err *e)
{
	struct tar_entry *ent;
	struct tar *t;
	void *w = NULL;
	int r;

	if ((r = tar_open(&t, in, lim, e)) < 0)
		return r;
	r = tar_next(t, &ent, e);
	if (r < 0 && e->code == STRATA_EIO) {
		tar_free(t);
		return r;
	}
	if (r < 0) {
		/* The first header decides whether this blob is a tar at all. */
		m->tar = TARST_NOT_TAR;
		tar_free(t);
		err_clear(e);
		return 0;
	}
	w = h->begin(h->ctx, m);
	while (r == 1) {
		if (w && (r = h->entry(w, t, ent, e)) < 0)
			break;
		r = tar_next(t, &ent, e);
	}
	if (r < 0) {
		m->tar = TARST_BAD;
		free(m->blob_error);
		m->blob_error = strdup(e->msg);
	} else {
		m->tar = TARST_OK;
	}
	if (w)
		h->end(w, m, r < 0 ? r : 0, e, false, d);
	tar_free(t);
	if (r < 0 && e->code == STRATA_EIO)
		return r;
	err_clear(e);
	return 0;
}

/* One member's chain (blob_chain): the stored bytes hashed (tap), decoded
 * (dec), the decoded bytes hashed for the diff_id when they differ (tap2),
 * what a converter held of them before it decided, and its blob. */
struct bchain {
	struct stream *tap, *dec, *tap2, *out;  /* out: what the walk and the drain read */
	struct buf hold, dhold;       /* the first stored / decoded bytes, for a converter */
	void *wctx;
	bool writing;                 /* o->writer's blob is open */
	bool keep;                    /* keep the member in memory (documents, small blobs) */
};

/* A converter's blob for m: planned from its compression and first decoded
 * block, opened, given what went past already, then fed as the bytes come. */
static int blob_writer_open(struct bchain *c, struct member *m, int src_fd, uint64_t src_off,
			    const struct load_opts *o, struct strata_err *e)
{
	static const uint8_t zero_block[512];
	struct strata_err ie = STRATA_ERR_INIT;
	const uint8_t *pk;
	size_t npk;
	bool is_tar = false;
	enum blob_action act;
	struct stream *src;
	const struct buf *held;
	stream_tee_fn fn = NULL;
	int r;

	if ((m->comp == COMP_NONE || o->decode) && stream_peek(c->out, 512, &pk, &npk, &ie) == 0 && npk == 512)
		is_tar = tar_block_is_header(pk) || !memcmp(pk, zero_block, 512);
	act = o->writer->plan(o->writer->ctx, m, is_tar);
	if (act == BLOB_SKIP)
		return 0;
	src = act == BLOB_DECODED && c->tap2 ? c->tap2 : c->tap;
	held = src == c->tap2 ? &c->dhold : m->doc.data ? &m->doc : &c->hold;
	if (stream_tap_capture_overflow(src))
		return err_set(e, STRATA_EIO, "'%s': more than %u bytes read before the blob could be classified",
			       m->name, JSON_MAX_DOC);
	if ((r = o->writer->open(o->writer->ctx, m, src == c->tap ? src_fd : -1, src_off, &fn, &c->wctx, e)) < 0)
		return r;
	c->writing = true;
	/* what already went past, then everything after it */
	if (fn && held->len && (r = fn(c->wctx, (const uint8_t *)held->data, held->len, e)) < 0)
		return r;
	if (fn)
		stream_tap_tee(src, fn, c->wctx);
	c->keep = false;
	return 0;
}

/* The member's bytes through the walk (a layer's entries) and to the end of
 * the decoded stream: errors inside the blob go on the member (only a read
 * error is returned); *decoded says it was read to its end. */
static int blob_read(struct bchain *c, struct member *m, const struct load_opts *o, struct diag *d, bool *decoded,
		     struct strata_err *e)
{
	struct strata_err ie = STRATA_ERR_INIT;
	int r;

	*decoded = false;
	if (o->hooks && m->size && (m->comp == COMP_NONE || o->decode) && !m->doc.data &&
	    (r = walk_tar(m, c->out, o->hooks, &o->limits, d, &ie)) < 0) {
		*e = ie;
		return r;
	}
	if (m->comp != COMP_NONE && !o->decode)
		return 0;
	if ((r = stream_drain(c->out, &ie)) < 0 && ie.code == STRATA_EIO) {
		*e = ie;
		return r;
	}
	*decoded = r == 0;  /* to its end: the diff_id is known even when the tar inside is broken */
	if (r < 0 && !m->blob_error)
		m->blob_error = strdup(ie.msg);
	return 0;
}

/* A document kept whole (not cut by its bound), counted against the bound of all of them. */
static int keep_doc(struct source *s, struct member *m, const struct bchain *c, const struct load_opts *o,
		    struct strata_err *e)
{
	if (stream_tap_capture_overflow(c->tap)) {
		m->doc_too_large = true;
		buf_release(&m->doc);
		return 0;
	}
	m->doc_kept = true;
	s->cat.doc_bytes += m->doc.len;
	if (s->cat.doc_bytes > o->limits.max_json * LIMIT_JSON_TOTAL)
		return err_set(e, STRATA_EFORMAT,
			       "'%s': too large: more than %llu bytes of JSON documents in all, %d times the "
			       "limit of one (raise it with --max-json)", m->name,
			       (unsigned long long)(o->limits.max_json * LIMIT_JSON_TOTAL), LIMIT_JSON_TOTAL);
	return 0;
}

/*
 * Run one member's bytes through the chain.  Errors inside the blob (bad
 * compression, broken layer tar) are recorded on the member; only an error
 * reading `in` itself (the outer archive) is returned.
 */
static int blob_chain(struct source *s, struct member *m, struct stream *in, int src_fd, uint64_t src_off,
		      const struct load_opts *o, struct diag *d, struct strata_err *e)
{
	struct bchain c = { .hold = BUF_INIT(JSON_MAX_DOC), .dhold = BUF_INIT(JSON_MAX_DOC) };
	enum digest_alg alg = !strncmp(m->name, "blobs/sha512/", 13) ? DIGEST_SHA512 : DIGEST_SHA256;
	struct strata_err ie = STRATA_ERR_INIT;
	const uint8_t *head;
	size_t nhead;
	uint64_t count;
	bool is_doc, decoded;
	int r = 0;

	/* Stored bytes past the bound would be hashed to the end only to be
	 * refused (decoded, they are as many or more): stop before reading. */
	if (m->size > o->limits.max_size)
		return err_set(e, STRATA_EFORMAT, "'%s': %llu bytes stored, over the limit of %llu for one blob "
			       "(raise it with --max-size)", m->name, (unsigned long long)m->size,
			       (unsigned long long)o->limits.max_size);
	if (!(c.tap = stream_tap_new(in, alg, e)) || !(c.dec = stream_decode_new(c.tap, e))) {
		r = -e->code;
		goto out;
	}
	/* Bounds the decoded bytes (the stored ones too, when not compressed). */
	stream_decode_limit(c.dec, o->limits.max_size, o->limits.max_ratio);
	/* Capture from byte 0: documents are kept in memory, and a converter
	 * holds the first bytes of every blob until it knows what to do with it
	 * (the decision needs the compression and the first decoded block). */
	m->doc.cap = o->limits.max_json;
	if (m->size <= o->limits.max_json)
		stream_tap_capture(c.tap, &m->doc);
	else if (o->writer)
		stream_tap_capture(c.tap, &c.hold);
	if ((r = stream_decode_kind(c.dec, &m->comp, e)) < 0)
		goto out;
	stream_decode_head(c.dec, &head, &nhead);
	is_doc = is_special_doc(m->name) || (m->comp == COMP_NONE && looks_json(head, nhead));
	/* A converter also keeps every small member: artifacts' tiny blobs are
	 * written from memory when something refers to them. */
	c.keep = is_doc || (o->writer && m->size <= SMALL_BLOB);
	if (is_doc && m->size > o->limits.max_json)
		m->doc_too_large = true;
	c.out = c.dec;
	/* The diff_id is a sha256 of the tar: of the decoded bytes, and of the
	 * stored ones too when they are not compressed but named by a sha512. */
	if ((m->comp != COMP_NONE && o->decode) || (m->comp == COMP_NONE && alg != DIGEST_SHA256)) {
		if (!(c.tap2 = stream_tap_new(c.dec, DIGEST_SHA256, e))) {
			r = -e->code;
			goto out;
		}
		if (o->writer)
			stream_tap_capture(c.tap2, &c.dhold);
		c.out = c.tap2;
	}
	if (o->writer && !is_doc && (r = blob_writer_open(&c, m, src_fd, src_off, o, e)) < 0)
		goto out;
	/* Stop holding what is not needed any more. */
	if (c.tap2)
		stream_tap_capture(c.tap2, NULL);
	buf_release(&c.dhold);
	if (!c.keep || m->doc_too_large) {
		stream_tap_capture(c.tap, NULL);
		buf_release(&m->doc);
	}
	buf_release(&c.hold);
	if ((r = blob_read(&c, m, o, d, &decoded, e)) < 0)
		goto out;
	/* Whatever happened downstream, the stored bytes are hashed to the end;
	 * an error here is the outer archive's. */
	if ((r = stream_drain(c.tap, e)) < 0)
		goto out;
	stream_tap_result(c.tap, m->digest, &count);
	if (count != m->size) {
		r = err_set(e, STRATA_EFORMAT, "'%s': read %llu bytes, header said %llu", m->name,
			    (unsigned long long)count, (unsigned long long)m->size);
		goto out;
	}
	if (m->comp == COMP_NONE && !c.tap2) {
		memcpy(m->diff_id, m->digest, sizeof(m->diff_id));
		m->tar_size = m->size;
		m->decoded = true;
	} else if (c.tap2 && (m->comp == COMP_NONE || decoded)) {
		stream_tap_result(c.tap2, m->diff_id, &m->tar_size);
		m->decoded = true;
	}
	if (c.writing) {
		c.writing = false;
		if ((r = o->writer->close(o->writer->ctx, m, c.wctx, !m->blob_error, e)) < 0)
			goto out;
	}
	if (m->doc.data)
		r = keep_doc(s, m, &c, o, e);
out:
	buf_release(&c.hold);
	buf_release(&c.dhold);
	if (c.writing)
		o->writer->close(o->writer->ctx, m, c.wctx, false, &ie);
	stream_free(c.tap2);
	stream_free(c.dec);
	stream_free(c.tap);
	return r;
}

static enum member_kind kind_of(enum tar_type t)
{
	switch (t) {
	case TAR_FILE: return MEM_FILE;
	case TAR_DIR: return MEM_DIR;
	case TAR_SYMLINK: return MEM_SYMLINK;
	case TAR_HARDLINK: return MEM_HARDLINK;
	default: return MEM_OTHER;
	}
}

/* One member of the outer tar, in archive mode. */
static int tar_member(struct source *s, struct tar *t, const struct tar_entry *ent, int plain_fd,
		      const struct load_opts *o, struct diag *d, struct strata_err *e)
{
	char *name = path_clean(ent->path);
	struct member *m, *old;
	int r = 0;

	if (!name)
		return err_nomem(e, "path");
	if (!path_is_local(name)) {
		diag_add_id(d, SEV_ERROR, STRATA_EFORMAT, PROBLEM_UNSAFE_PATH, ent->path, "unsafe path in archive (leaves the archive root)");
		goto out;
	}
	if (!strcmp(name, "."))
		goto out;
	old = catalog_get(&s->cat, name);
	if (old && !(old->kind == MEM_DIR && ent->type == TAR_DIR)) {
		old->dups++;
		diag_add_id(d, SEV_ERROR, STRATA_EFORMAT, PROBLEM_DUPLICATE, name,
			 "duplicate member: the name appears more than once in the archive (readers disagree on which counts)");
		goto out;
	}
	if (old)
		goto out;
	if (!(m = catalog_add(&s->cat, name, e))) {
		r = -e->code;
		goto out;
	}
	m->kind = kind_of(ent->type);
	m->size = ent->size;
	if ((m->kind == MEM_SYMLINK || m->kind == MEM_HARDLINK) && !(m->link = strdup(ent->link))) {
		r = err_nomem(e, "link");
		goto out;
	}
	/* with a plain (seekable, uncompressed) outer tar, the data's offset in
	 * the file is where the reader stands now */
	if (m->kind == MEM_FILE && plain_fd >= 0)
		m->data_off = tar_offset(t);
	if (m->kind == MEM_FILE)
		r = blob_chain(s, m, tar_data(t), plain_fd, plain_fd >= 0 ? tar_offset(t) : 0, o, d, e);
out:
	free(name);
	return r;
}

enum scan_mode { MODE_SPECULATE, MODE_ROOTFS, MODE_ARCHIVE };

/*
 * 1 when a member of what was taken for a rootfs is a document only image
 * archives have at their top (manifest.json, index.json, oci-layout), 0 when
 * not, <0 out of memory.  The first file decides the speculation, so an image
 * archive whose first member is a README would otherwise be read as a rootfs
 * and none of its digests checked.
 */
static int names_image_doc(const char *path, struct strata_err *e)
{
	char *c;
	int yes;

	if (!strstr(path, "manifest.json") && !strstr(path, "index.json") && !strstr(path, "oci-layout"))
		return 0;
	if (!(c = path_clean(path)))
		return err_nomem(e, "path");
	yes = !strcmp(c, "manifest.json") || !strcmp(c, "index.json") || !strcmp(c, "oci-layout");
	free(c);
	return yes;
}

/* Sets s->rescan when the input can be read again from its start. */
static int image_doc_in_rootfs(struct source *s, int fd, const char *doc, const char *first, struct strata_err *e)
{
	struct stat st;

	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && lseek(fd, 0, SEEK_CUR) >= 0) {
		s->rescan = true;
		return err_set(e, STRATA_EFORMAT, "'%s' found after '%s': read again as an image archive", doc, first);
	}
	return err_set(e, STRATA_EFORMAT,
		       "'%s' is in the archive, but its first file '%s' made it look like a root filesystem; on a "
		       "stream strata cannot read it again: name what it is (docker-archive:%s, oci-archive:%s or "
		       "rootfs:%s)", doc, first, s->ref.path, s->ref.path, s->ref.path);
}

/* One scan of a tar input (scan_tar): its streams, from the input up to
 * what the tar reader reads, and a rootfs input's member, walk and writer. */
struct tscan {
	struct source *s;
	const struct load_opts *o;
	struct diag *d;
	int fd;                       /* -1: a piece set's stream */
	enum scan_mode mode;
	bool speculated;              /* began as MODE_SPECULATE */
	struct stream *src, *raw, *dec, *tap2, *top;  /* raw: the input hashed; tap2: decoded, hashed */
	struct tar *t;
	struct member *rm;            /* a rootfs: the one layer */
	char *first;                  /* speculating: the first non-directory member's clean path */
	uint64_t members;
	int plain_fd;                 /* an uncompressed regular file: members can be read at offsets */
	void *walk;                   /* a rootfs: its walk (o->hooks) */
	struct strata_err we;
	bool writing;                 /* a rootfs being imported: o->writer's blob is open */
	bool bounded;                 /* a plain rootfs: its size checked against --max-size */
	stream_tee_fn wfn;
	void *wctx;
};

/* Importing a rootfs: the whole input is the layer.  Decide from the magic
 * bytes, before any byte passes the taps, what to write. */
static int rootfs_writer_open(struct tscan *ts, enum blob_action *act, struct strata_err *e)
{
	const uint8_t *pk;
	size_t npk;
	int r;

	if ((r = stream_peek(ts->src, 6, &pk, &npk, e)) < 0)
		return r;
	ts->rm->comp = compression_sniff(pk, npk);
	*act = ts->o->writer->plan(ts->o->writer->ctx, ts->rm, true);
	if (*act == BLOB_SKIP)
		return 0;
	if ((r = ts->o->writer->open(ts->o->writer->ctx, ts->rm, -1, 0, &ts->wfn, &ts->wctx, e)) < 0)
		return r;
	ts->writing = true;
	if (*act == BLOB_STORED)
		stream_tap_tee(ts->raw, ts->wfn, ts->wctx);
	return 0;
}

/* The streams up to the tar reader: the input, hashed (raw), decoded (dec)
 * and, when it was compressed, hashed again (tap2); a rootfs's member and
 * writer. */
static int tscan_open(struct tscan *ts, struct stream *in, struct strata_err *e)
{
	const struct load_opts *o = ts->o;
	enum blob_action act = BLOB_SKIP;
	struct stat st;
	int r;

	if (!(ts->src = in ? in : stream_fd_new(ts->fd, READ_BUF, e)) ||
	    !(ts->raw = stream_tap_new(ts->src, DIGEST_SHA256, e)) || !(ts->dec = stream_decode_new(ts->raw, e)))
		return -e->code;
	if (o->progress && !in)
		stream_fd_progress(ts->src, o->progress, o->progress_ctx, 0);
	if (ts->mode != MODE_ARCHIVE) {
		if (!(ts->rm = calloc(1, sizeof(*ts->rm))) || !(ts->rm->name = strdup(""))) {
			free(ts->rm);
			ts->rm = NULL;
			return err_nomem(e, "member");
		}
		buf_init(&ts->rm->doc, 0);
	}
	if (ts->mode == MODE_ROOTFS && o->writer && (r = rootfs_writer_open(ts, &act, e)) < 0)
		return r;
	if ((r = stream_decode_kind(ts->dec, &ts->s->outer, e)) < 0)
		return r;
	ts->top = ts->dec;
	if (ts->s->outer != COMP_NONE) {
		stream_decode_limit(ts->dec, o->limits.max_size, o->limits.max_ratio);
		stream_decode_where(ts->dec, "compressed archive");
		if (!(ts->tap2 = stream_tap_new(ts->dec, DIGEST_SHA256, e)))
			return -e->code;
		ts->top = ts->tap2;
		if (ts->writing && act == BLOB_DECODED)
			stream_tap_tee(ts->tap2, ts->wfn, ts->wctx);
	}
	if (ts->mode == MODE_ARCHIVE) {
		stream_tap_enable(ts->raw, o->hash_source);
		if (ts->tap2)
			stream_tap_enable(ts->tap2, false);
	}
	if ((r = tar_open(&ts->t, ts->top, &o->limits, e)) < 0)
		return r;
	ts->plain_fd = ts->s->outer == COMP_NONE && ts->fd >= 0 && fstat(ts->fd, &st) == 0 && S_ISREG(st.st_mode) &&
			       lseek(ts->fd, 0, SEEK_CUR) >= 0 ? ts->fd : -1;
	ts->s->plain_file = ts->plain_fd >= 0;
	return 0;
}

/* Speculating: the first non-directory member decides between an image
 * archive and a rootfs; a rootfs that then holds an image's documents is
 * reported (image_doc_in_rootfs).  1 when the scan must stop there with r. */
static int speculate(struct tscan *ts, const struct tar_entry *ent, int *r, struct strata_err *e)
{
	if (ts->mode == MODE_SPECULATE && ent->type != TAR_DIR) {
		if (!(ts->first = path_clean(ent->path))) {
			*r = err_nomem(e, "path");
			return 1;
		}
		ts->mode = image_member_name(ts->first) ? MODE_ARCHIVE : MODE_ROOTFS;
		if (ts->mode == MODE_ARCHIVE) {
			stream_tap_enable(ts->raw, ts->o->hash_source);
			if (ts->tap2)
				stream_tap_enable(ts->tap2, false);
			if (ts->walk)
				ts->o->hooks->end(ts->walk, ts->rm, 0, &ts->we, true, ts->d);
			ts->walk = NULL;
		}
	} else if (ts->speculated && ts->mode == MODE_ROOTFS && ent->type != TAR_DIR) {
		if ((*r = names_image_doc(ent->path, e)) != 0) {
			if (*r > 0)
				*r = image_doc_in_rootfs(ts->s, ts->fd, ent->path, ts->first, e);
			return 1;
		}
	}
	return 0;
}

/* A plain (uncompressed) rootfs is itself the layer: --max-size bounds it as
 * it bounds a layer (a compressed one is bounded after decompression,
 * tscan_open).  Named rootfs:, it is refused by its size when it is a file,
 * before more is read, else as it is read.  Taken for a rootfs by
 * detection, it is judged once its entries are read (final): until then an
 * image document may show that it is an archive, whose blobs are bounded
 * one by one; what follows the end blocks is read under the bound.  Either
 * way an entry larger than the bound is refused before it is read
 * (scan_members). */
static int rootfs_over(uint64_t size, uint64_t max, struct strata_err *e)
{
	return err_set(e, STRATA_EFORMAT, "rootfs layer: %llu bytes stored, over the limit of %llu for one layer (raise "
		       "it with --max-size)", (unsigned long long)size, (unsigned long long)max);
}

static int rootfs_bound(struct tscan *ts, bool final, struct strata_err *e)
{
	uint64_t max = ts->o->limits.max_size;
	struct stat st;

	if (ts->mode != MODE_ROOTFS || (ts->speculated && !final) || ts->s->outer != COMP_NONE || ts->bounded || !max)
		return 0;
	ts->bounded = true;
	if (ts->plain_fd >= 0 && fstat(ts->plain_fd, &st) == 0 && (uint64_t)st.st_size > max)
		return rootfs_over((uint64_t)st.st_size, max, e);
	stream_decode_limit(ts->dec, max, 0);
	stream_decode_where(ts->dec, "rootfs layer");
	return 0;
}

/* Every member: a rootfs's entries through the walk, an archive's members
 * through tar_member(). */
static int scan_members(struct tscan *ts, struct strata_err *e)
{
	const struct load_opts *o = ts->o;
	struct tar_entry *ent;
	int r;

	while ((r = tar_next(ts->t, &ent, e)) == 1) {
		ts->members++;
		if (ts->s->outer != COMP_NONE) {
			char where[320];

			snprintf(where, sizeof(where), "compressed archive, at member '%.256s'", ent->path);
			stream_decode_where(ts->dec, where);
		}
		if (speculate(ts, ent, &r, e))
			return r;
		if ((r = rootfs_bound(ts, false, e)) < 0)
			return r;
		if (ts->mode == MODE_ROOTFS && o->limits.max_size && ent->size > o->limits.max_size)
			/* over the bound as a rootfs's entry or as an archive's blob: refused unread */
			return err_set(e, STRATA_EFORMAT, "'%.256s': %llu bytes stored, over the limit of %llu for one %s "
				       "(raise it with --max-size)", ent->path, (unsigned long long)ent->size,
				       (unsigned long long)o->limits.max_size, ts->speculated ? "blob or layer" : "layer");
		if (ts->mode != MODE_ARCHIVE && o->hooks) {
			if (!ts->walk && ts->members == 1)
				ts->walk = o->hooks->begin(o->hooks->ctx, ts->rm);
			if (ts->walk && o->hooks->entry(ts->walk, ts->t, ent, &ts->we) < 0) {
				o->hooks->end(ts->walk, ts->rm, -ts->we.code, &ts->we, false, ts->d);
				ts->walk = NULL;
			}
		}
		if (ts->mode != MODE_ROOTFS && (r = tar_member(ts->s, ts->t, ent, ts->plain_fd, o, ts->d, e)) < 0)
			return r;
	}
	if (r < 0) {
		/* Input that does not begin as a tar is no image archive; but a
		 * read error, or a bound the outer decoder hit (its messages start
		 * with its where), says nothing about what the input is. */
		if (!ts->members && !tar_started(ts->t) && e->code == STRATA_EFORMAT &&
		    strncmp(e->msg, "compressed archive", 18))
			err_wrap(e, "not a container image archive or rootfs tarball");
		return r;
	}
	return 0;
}

/* A rootfs read whole: its member is the source's one layer (the catalog
 * takes it), its digests those of the input and of the decoded tar. */
static int finish_rootfs(struct tscan *ts, struct strata_err *e)
{
	struct member *rm = ts->rm;
	uint64_t max = ts->o->limits.max_size;
	int r;

	stream_tap_result(ts->raw, rm->digest, &rm->size);
	if (ts->s->outer == COMP_NONE && max && rm->size > max)
		return rootfs_over(rm->size, max, e);  /* detected (rootfs_bound): the writer's blob is dropped */
	if (ts->o->hash_source) {
		memcpy(ts->s->sha256, rm->digest, sizeof(ts->s->sha256));
		ts->s->raw_size = rm->size;
	}
	rm->kind = MEM_FILE;
	rm->comp = ts->s->outer;
	if (ts->tap2) {
		stream_tap_result(ts->tap2, rm->diff_id, &rm->tar_size);
	} else {
		memcpy(rm->diff_id, rm->digest, sizeof(rm->diff_id));
		rm->tar_size = rm->size;
	}
	rm->decoded = true;
	rm->tar = TARST_OK;
	if (ts->writing) {
		ts->writing = false;
		if ((r = ts->o->writer->close(ts->o->writer->ctx, rm, ts->wctx, true, e)) < 0)
			return r;
	}
	if (ts->walk)
		ts->o->hooks->end(ts->walk, rm, 0, &ts->we, false, ts->d);
	ts->walk = NULL;
	ts->s->cat.rootfs = rm;
	ts->rm = NULL;
	return 0;
}

/* Close what is open, a scan that failed with r (a blob being written is
 * dropped, a walk ended as failed). */
static void tscan_close(struct tscan *ts, struct stream *in, int r, struct strata_err *e)
{
	if (ts->writing) {
		struct strata_err ie = STRATA_ERR_INIT;

		ts->o->writer->close(ts->o->writer->ctx, ts->rm, ts->wctx, false, &ie);
	}
	if (ts->walk)
		ts->o->hooks->end(ts->walk, ts->rm, r, e, true, ts->d);
	if (ts->rm) {
		free(ts->rm->name);
		free(ts->rm);
	}
	free(ts->first);
	tar_free(ts->t);
	stream_free(ts->tap2);
	stream_free(ts->dec);
	stream_free(ts->raw);
	if (ts->src != in)
		stream_free(ts->src);
}

/* The input is fd, or the stream in when given (a piece set: fd is -1). */
static int scan_tar(struct source *s, int fd, struct stream *in, enum scan_mode mode, const struct load_opts *o,
		    struct diag *d, struct strata_err *e)
{
	struct tscan ts = { .s = s, .o = o, .d = d, .fd = fd, .mode = mode, .speculated = mode == MODE_SPECULATE,
			    .plain_fd = -1, .we = STRATA_ERR_INIT };
	int r;

	if ((r = tscan_open(&ts, in, e)) < 0 || (r = scan_members(&ts, e)) < 0)
		goto out;
	if (ts.mode == MODE_SPECULATE)
		ts.mode = ts.members ? MODE_ROOTFS : MODE_ARCHIVE;
	if ((r = rootfs_bound(&ts, true, e)) < 0)
		goto out;
	if (tar_missing_end(ts.t))
		diag_add_id(d, SEV_WARNING, STRATA_EFORMAT, PROBLEM_TRUNCATED, "",
			    "archive ends without the end-of-archive blocks (truncated at a member boundary?)");
	/* Padding after the end blocks: hashed too (it is part of a rootfs layer). */
	if ((r = stream_drain(ts.top, e)) < 0)
		goto out;
	if (o->hash_source && ts.mode != MODE_ROOTFS) {
		if ((r = stream_drain(ts.raw, e)) < 0)  /* whatever follows a compressed stream, too */
			goto out;
		stream_tap_result(ts.raw, s->sha256, &s->raw_size);
	}
	r = ts.mode == MODE_ROOTFS ? finish_rootfs(&ts, e) : 0;
out:
	tscan_close(&ts, in, r, e);
	return r;
}

/* ---- directory sources (OCI layouts) ---- */

static int cmp_names(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int scan_file(struct source *s, struct member *m, const char *full, const struct load_opts *o, struct diag *d,
	      struct strata_err *e)
{
	int fd = open_regular(full, false, &m->size), r;
	struct stream *fs;

	m->kind = MEM_FILE;
	if (fd < 0)
		return err_sys(e, errno, "cannot read '%s'%s", full,
			       errno == ELOOP || errno == EINVAL ? " (no longer a regular file)" : "");
	if (is_special_doc(m->name) && m->size > o->limits.max_json) {
		/* refused by its size (member_json()): not worth reading */
		m->doc.cap = o->limits.max_json;
		m->doc_too_large = true;
		close(fd);
		return 0;
	}
	if (!(fs = stream_fd_new(fd, READ_BUF, e))) {
		r = -e->code;
	} else {
		if (o->progress)
			stream_fd_progress(fs, o->progress, o->progress_ctx, s->dir_bytes);
		r = blob_chain(s, m, fs, fd, 0, o, d, e);
		s->dir_bytes += m->size;
	}
	stream_free(fs);
	close(fd);
	return r;
}

int scan_mem(struct source *s, struct member *m, const void *p, size_t n, const struct load_opts *o, struct diag *d,
	     struct strata_err *e)
{
	struct stream *ms = stream_mem_new(p, n, e);
	int r;

	m->kind = MEM_FILE;
	m->size = n;
	if (!ms)
		return -e->code;
	r = blob_chain(s, m, ms, -1, 0, o, d, e);
	stream_free(ms);
	return r;
}

static int scan_dir_rec(struct source *s, const char *root, const char *rel, int depth, const struct load_opts *o,
			struct diag *d, struct strata_err *e)
{
	struct dirent **names = NULL;
	char *dirpath = rel[0] ? path_join(root, rel) : strdup(root);
	int n, i, r = 0;

	if (!dirpath)
		return err_nomem(e, "path");
	if (depth > MAX_DIR_DEPTH) {
		diag_add_id(d, SEV_ERROR, STRATA_EFORMAT, PROBLEM_LIMIT, rel, "directory nesting deeper than %d", MAX_DIR_DEPTH);
		free(dirpath);
		return 0;
	}
	if ((n = scandir(dirpath, &names, NULL, cmp_names)) < 0) {
		r = err_sys(e, errno, "cannot read directory '%s'", dirpath);
		free(dirpath);
		return r;
	}
	for (i = 0; i < n; i++) {
		const char *nm = names[i]->d_name;
		char *childrel, *full;
		struct member *m;
		struct stat st;

		if (r < 0 || !strcmp(nm, ".") || !strcmp(nm, ".."))
			continue;
		childrel = rel[0] ? path_join(rel, nm) : strdup(nm);
		full = path_join(root, childrel ? childrel : "");
		if (!childrel || !full) {
			r = err_nomem(e, "path");
		} else if (lstat(full, &st) < 0) {
			r = err_sys(e, errno, "cannot stat '%s'", full);
		} else if (s->cat.len >= o->limits.max_entries) {
			r = err_set(e, STRATA_EFORMAT,
				    "too many files: '%s' is file %zu of '%s', over the limit of %llu (raise it with --max-entries)",
				    childrel, s->cat.len + 1, root, (unsigned long long)o->limits.max_entries);
		} else if (!(m = catalog_add(&s->cat, childrel, e))) {
			r = -e->code;
		} else if (S_ISDIR(st.st_mode)) {
			m->kind = MEM_DIR;
			r = scan_dir_rec(s, root, childrel, depth + 1, o, d, e);
		} else if (S_ISLNK(st.st_mode)) {
			char target[4096];
			ssize_t k = readlink(full, target, sizeof(target) - 1);

			m->kind = MEM_SYMLINK;
			if (k >= 0) {
				target[k] = '\0';
				if (!(m->link = strdup(target)))
					r = err_nomem(e, "link");
			}
		} else if (S_ISREG(st.st_mode)) {
			r = scan_file(s, m, full, o, d, e);
		} else {
			m->kind = MEM_OTHER;
		}
		free(childrel);
		free(full);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(dirpath);
	return r;
}

/* A store (docker-root:, containers-storage:) streams its images as the
 * docker-archive `docker save` would write (formats/store.c). */
static int scan_store(struct source *s, const struct load_opts *o, struct diag *d, struct strata_err *e)
{
	struct store *st = NULL;
	struct strata_err pe = STRATA_ERR_INIT;
	int fd = -1, r, pr;

	r = store_start(&st, s->ref.transport, s->ref.path, s->ref.driver, s->ref.name, s->ref.id,
			o->limits.allow_rebuilt, o->limits.max_size, &fd, e);
	if (r >= 0) {
		r = scan_tar(s, fd, NULL, MODE_ARCHIVE, o, d, e);
		close(fd);
	}
	pr = st ? store_finish(st, d, &pe) : 0;
	/* the producer's failure says why the stream broke, unless it failed
	 * only because the scan had stopped reading (then the scan says why) */
	if (pr < 0 && (r >= 0 || !st->reader_gone)) {
		*e = pe;
		r = pr;
	}
	store_free(st);
	return r;
}

/*
 * A piece set (pieceset.h), read as one archive in one pass.  A checked
 * piece that is missing, of the wrong size or whose sha256 differs fails
 * the read at once (at its end, before a byte of the next one is read);
 * what was found in the content up to there is forgotten, so that the one
 * error is the piece's.  The stream is read to its end even when the tar
 * inside ends early, so the last piece is checked too.
 */
static int scan_pieces(struct source *s, struct pieces *pc, const struct load_opts *o, struct diag *d,
		       struct strata_err *e)
{
	enum scan_mode mode = s->ref.transport == REF_AUTO ? MODE_SPECULATE : MODE_ARCHIVE;
	size_t dlen = d->len, ddropped = d->dropped;
	struct stream *in;
	int r;

	s->pieces = true;
	if (!(in = pieces_stream_new(pc, e))) {
		pieces_release(pc);
		return -e->code;
	}
	if (o->progress)
		pieces_stream_progress(in, o->progress, o->progress_ctx);
	r = scan_tar(s, -1, in, mode, o, d, e);
	if (r == 0)
		r = stream_drain(in, e);
	/* Content that did not check (a blob's digest, a broken tar) may be a
	 * piece's fault: read on, so that a bad piece is what is named. */
	if (r < 0 && !in->fail.code && (e->code == STRATA_EVERIFY || e->code == STRATA_EFORMAT)) {
		struct strata_err pe = STRATA_ERR_INIT;

		stream_drain(in, &pe);
	}
	if (r < 0 && in->fail.code == STRATA_EVERIFY) {
		diag_truncate(d, dlen, ddropped);
		*e = in->fail;
		r = -STRATA_EVERIFY;
	}
	stream_free(in);
	pieces_release(pc);
	return r;
}

int scan_source(struct source *s, const struct load_opts *opts, struct diag *d, struct strata_err *e)
{
	struct load_opts lo = *opts, *o = &lo;
	enum scan_mode mode;
	size_t dlen, ddropped;
	struct pieces pc;
	struct stat st;
	off_t start;
	int fd, r;

	lo.limits = limits_resolve(&opts->limits);
	s->limits = lo.limits;

	if (o->hooks)
		s->cat.walk_free = o->hooks->free_result;
	if (s->ref.transport == REF_REGISTRY)
		return regtree_scan(s, o, d, e);
	if (s->ref.transport == REF_DOCKER_ROOT || s->ref.transport == REF_CSTORAGE)
		return scan_store(s, o, d, e);
	if (!strcmp(s->ref.path, "-")) {
		if (s->ref.transport == REF_OCI)
			return err_set(e, STRATA_EUSAGE, "oci: needs a directory, not stdin");
		fd = STDIN_FILENO;
	} else {
		if (stat(s->ref.path, &st) < 0)
			return err_sys(e, errno, "cannot open '%s'", s->ref.path);
		if (S_ISDIR(st.st_mode)) {
			if (s->ref.transport != REF_AUTO && s->ref.transport != REF_OCI &&
			    s->ref.transport != REF_DOCKER_ARCHIVE)
				return err_set(e, STRATA_EUSAGE, "'%s' is a directory; %s: needs a file", s->ref.path,
					       ref_transport_name(s->ref.transport));
			s->is_dir = true;
			return scan_dir_rec(s, s->ref.path, "", 0, o, d, e);
		}
		if (s->ref.transport == REF_OCI)
			return err_set(e, STRATA_EUSAGE, "'%s' is not a directory; use oci-archive: for a tar",
				       s->ref.path);
		if (s->ref.transport != REF_ROOTFS && (r = pieceset_find(s->ref.path, &pc, d, e)) != 0)
			return r < 0 ? r : scan_pieces(s, &pc, o, d, e);
		if ((fd = open(s->ref.path, O_RDONLY | O_CLOEXEC)) < 0)
			return err_sys(e, errno, "cannot open '%s'", s->ref.path);
	}
	mode = s->ref.transport == REF_AUTO ? MODE_SPECULATE
	       : s->ref.transport == REF_ROOTFS ? MODE_ROOTFS : MODE_ARCHIVE;
	start = lseek(fd, 0, SEEK_CUR);
	dlen = d->len;
	ddropped = d->dropped;
	r = scan_tar(s, fd, NULL, mode, o, d, e);
	if (r < 0 && s->rescan) {
		/* A seekable input taken for a rootfs that holds an image
		 * archive's documents: read it again from its start, as what it
		 * is, forgetting what the first reading found. */
		err_clear(e);
		catalog_release(&s->cat);
		if (o->hooks)
			s->cat.walk_free = o->hooks->free_result;
		diag_truncate(d, dlen, ddropped);
		if (lseek(fd, start, SEEK_SET) != start)
			r = err_sys(e, errno, "cannot read '%s' again", s->ref.path);
		else
			r = scan_tar(s, fd, NULL, MODE_ARCHIVE, o, d, e);
	}
	if (fd != STDIN_FILENO)
		close(fd);
	return r;
}
