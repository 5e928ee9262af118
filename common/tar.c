/* tar.c - streaming tar reader; see tar.h. */
#include "tar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 512

struct tar {
	struct stream data;        /* the current entry's data (ops: data_ops) */
	struct stream *up;
	struct limits lim;
	uint64_t entries;          /* entries returned so far */
	struct tar_entry ent;
	struct buf path, link, uname, gname;
	/* pending overrides from pax 'x' and GNU 'L'/'K' records */
	struct buf pax_path, pax_link, pax_uname, pax_gname, gnu_path, gnu_link;
	bool pax_pending;          /* an 'x' header was read for the coming entry */
	bool have_pax_size;
	uint64_t pax_size;
	bool pax_uid, pax_gid, pax_mtime;
	uint64_t v_uid, v_gid;
	int64_t v_mtime;
	bool pax_sparse;
	unsigned pax_xattrs;
	bool pax_cap;
	/* SCHILY.xattr records: "name\0value" pairs in xbuf, located by xoff */
	struct buf xbuf;
	struct { size_t name, value, len; } *xoff;
	struct tar_xattr *xv;
	size_t nx, ax;
	uint64_t left;             /* data bytes of the current entry not yet consumed */
	uint64_t pad, pad_want;    /* padding after the data */
	uint64_t offset;           /* stream offset consumed so far */
	bool started, ended, missing_end;
};

/* ---- the per-entry data stream ---- */

static int data_next(struct stream *s, const uint8_t **p, size_t *n, struct strata_err *e)
{
	struct tar *t = (struct tar *)s;
	int r;

	if (t->left == 0) {
		*n = 0;
		return 0;
	}
	if ((r = stream_get(t->up, p, n, t->left > SIZE_MAX ? SIZE_MAX : (size_t)t->left, e)) < 0)
		return r;
	if (*n == 0)
		return err_set(e, STRATA_EFORMAT, "truncated: archive ends inside the data of '%s'", t->ent.path);
	t->left -= *n;
	t->offset += *n;
	return 0;
}

static void data_free(struct stream *s)
{
	(void)s;
}

static const struct stream_ops data_ops = { "tar-data", data_next, data_free };

int tar_open(struct tar **tp, struct stream *s, const struct limits *lim, struct strata_err *e)
{
	struct tar *t = calloc(1, sizeof(*t));
	size_t names;

	if (!t)
		return err_nomem(e, "tar reader");
	t->data.ops = &data_ops;
	t->up = s;
	t->lim = limits_resolve(lim);
	/* names come from a header record (read_ext enforces max_header) or a
	 * ustar block (at most 256 bytes), so never cap them below a block */
	names = t->lim.max_header < BLOCK ? BLOCK : (size_t)t->lim.max_header;
	buf_init(&t->path, names);
	buf_init(&t->link, names);
	buf_init(&t->uname, names);
	buf_init(&t->gname, names);
	buf_init(&t->pax_path, names);
	buf_init(&t->pax_link, names);
	buf_init(&t->pax_uname, names);
	buf_init(&t->pax_gname, names);
	buf_init(&t->gnu_path, names);
	buf_init(&t->gnu_link, names);
	buf_init(&t->xbuf, names);
	*tp = t;
	return 0;
}

void tar_free(struct tar *t)
{
	if (!t)
		return;
	buf_release(&t->path);
	buf_release(&t->link);
	buf_release(&t->uname);
	buf_release(&t->gname);
	buf_release(&t->pax_path);
	buf_release(&t->pax_link);
	buf_release(&t->pax_uname);
	buf_release(&t->pax_gname);
	buf_release(&t->gnu_path);
	buf_release(&t->gnu_link);
	buf_release(&t->xbuf);
	free(t->xoff);
	free(t->xv);
	free(t);
}

struct stream *tar_data(struct tar *t)
{
	return &t->data;
}

bool tar_missing_end(const struct tar *t)
{
	return t->missing_end;
}

bool tar_started(const struct tar *t)
{
	return t->started;
}

uint64_t tar_offset(const struct tar *t)
{
	return t->offset;
}

/* ---- header fields ---- */

static bool is_zero_block(const uint8_t *b)
{
	size_t i;

	for (i = 0; i < BLOCK; i++)
		if (b[i])
			return false;
	return true;
}

bool tar_block_is_header(const uint8_t b[BLOCK])
{
	unsigned long want = 0, sum = 0;
	long ssum = 0;
	int i, digits = 0;

	/* chksum field: octal digits, then NUL and/or space */
	for (i = 148; i < 156 && b[i] == ' '; i++)
		;
	for (; i < 156 && b[i] >= '0' && b[i] <= '7'; i++, digits++)
		want = want * 8 + (unsigned long)(b[i] - '0');
	if (!digits)
		return false;
	/* Sum the whole block in a plain loop (vectorised), then count the
	 * checksum field as eight spaces, as the format says. */
	for (i = 0; i < BLOCK; i++) {
		sum += b[i];
		ssum += (signed char)b[i];
	}
	for (i = 148; i < 156; i++) {
		sum -= b[i];
		ssum -= (signed char)b[i];
	}
	sum += 8 * ' ';
	ssum += 8 * ' ';
	/* Some old writers summed signed chars; accept both as libarchive does. */
	return sum == want || (unsigned long)ssum == want;
}

/* Octal (space/NUL padded) or base-256 (GNU/star) number. */
static bool parse_num(const uint8_t *p, size_t n, uint64_t *out, bool *negative)
{
	uint64_t v = 0;
	size_t i = 0;

	if (negative)
		*negative = false;
	if (n && (p[0] & 0x80)) {
		/* base-256: 0x80 positive, 0xff negative (two's complement) */
		if (p[0] == 0xff) {
			int64_t sv = -1;

			for (i = 1; i < n; i++)
				sv = (int64_t)((uint64_t)sv << 8) | p[i];
			if (negative)
				*negative = true;
			*out = (uint64_t)sv;
			return true;
		}
		v = p[0] & 0x7f;
		for (i = 1; i < n; i++) {
			if (v >> 55)
				return false;
			v = (v << 8) | p[i];
		}
		*out = v;
		return true;
	}
	while (i < n && (p[i] == ' ' || p[i] == 0))
		i++;
	if (i == n) {
		*out = 0;
		return true;
	}
	for (; i < n && p[i] >= '0' && p[i] <= '7'; i++) {
		if (v >> 61)
			return false;
		v = v * 8 + (uint64_t)(p[i] - '0');
	}
	for (; i < n; i++)
		if (p[i] != ' ' && p[i] != 0)
			return false;
	*out = v;
	return true;
}

static int set_field(struct buf *b, const uint8_t *p, size_t n, struct strata_err *e)
{
	size_t len = strnlen((const char *)p, n);

	buf_reset(b);
	return buf_add(b, p, len, e);
}

/* Read `size` bytes of an extension record (pax or GNU long name) plus
 * padding; hdr is its header block (named in messages), at offset off. */
static int read_ext(struct tar *t, const uint8_t *hdr, uint64_t off, uint64_t size, struct buf *into,
		    const char *what, struct strata_err *e)
{
	uint64_t padded = (size + BLOCK - 1) / BLOCK * BLOCK;
	const uint8_t *p;
	size_t n;
	uint64_t got = 0;
	int r;

	if (size > t->lim.max_header)
		return err_set(e, STRATA_EFORMAT,
			       "%s '%.100s' at offset %llu is %llu bytes, over the limit of %llu (raise it with --max-header)",
			       what, (const char *)hdr, (unsigned long long)off, (unsigned long long)size,
			       (unsigned long long)t->lim.max_header);
	buf_reset(into);
	while (got < padded) {
		if ((r = stream_get(t->up, &p, &n, (size_t)(padded - got), e)) < 0)
			return r;
		if (n == 0)
			return err_set(e, STRATA_EFORMAT, "truncated: archive ends inside a %s", what);
		if (got < size) {
			size_t take = size - got < n ? (size_t)(size - got) : n;

			if ((r = buf_add(into, p, take, e)) < 0)
				return r;
		}
		got += n;
	}
	t->offset += padded;
	return 0;
}

/* Keep one SCHILY.xattr record (a later one of the same name replaces it). */
static int add_xattr(struct tar *t, const char *name, size_t nlen, const char *val, size_t vlen,
		     struct strata_err *e)
{
	static const char nul = '\0';
	size_t i, at = t->xbuf.len;

	if (memchr(name, '\0', nlen))
		return err_set(e, STRATA_EFORMAT, "malformed pax xattr name");
	for (i = 0; i < t->nx; i++)
		if (t->xoff[i].value - t->xoff[i].name - 1 == nlen && !memcmp(t->xbuf.data + t->xoff[i].name, name, nlen))
			break;
	if (i == t->nx && t->nx == t->ax) {
		size_t na = t->ax ? t->ax * 2 : 8;
		void *p = realloc(t->xoff, na * sizeof(*t->xoff));

		if (!p)
			return err_nomem(e, "xattrs");
		t->xoff = p;
		t->ax = na;
	}
	if (buf_add(&t->xbuf, name, nlen, e) < 0 || buf_add(&t->xbuf, &nul, 1, e) < 0 ||
	    buf_add(&t->xbuf, val, vlen, e) < 0 || buf_add(&t->xbuf, &nul, 1, e) < 0)
		return -e->code;
	t->xoff[i].name = at;
	t->xoff[i].value = at + nlen + 1;
	t->xoff[i].len = vlen;
	if (i == t->nx)
		t->nx++;
	return 0;
}

/* A pax string record: a path, link or owner name.  Go's archive/tar
 * refuses the header when one holds a NUL byte (validPAXRecord); cutting the
 * string there, as C readers do, would name another file than Go's. */
static int pax_string(struct buf *into, const char *key, const char *val, size_t vlen, uint64_t off,
		      struct strata_err *e)
{
	if (memchr(val, '\0', vlen))
		return err_set(e, STRATA_EFORMAT, "pax record '%s' at offset %llu holds a NUL byte", key,
			       (unsigned long long)off);
	buf_reset(into);
	return buf_add(into, val, vlen, e);
}

/* The records of a pax header (the header block at offset off).  As in Go,
 * a record with an empty value keeps the header's own field: it cancels an
 * earlier record of the same key. */
static int parse_pax(struct tar *t, const struct buf *b, bool global, uint64_t off, struct strata_err *e)
{
	const char *p = b->data ? b->data : "", *end = p + b->len;

	while (p < end) {
		const char *sp, *eq, *rec;
		unsigned long long len = 0;
		size_t klen, vlen;
		const char *val;

		rec = p;
		for (sp = p; sp < end && *sp >= '0' && *sp <= '9'; sp++) {
			len = len * 10 + (unsigned)(*sp - '0');
			if (len > b->len)
				break;
		}
		if (sp == p || sp >= end || *sp != ' ' || len > (size_t)(end - rec) || len < 5 || rec[len - 1] != '\n')
			return err_set(e, STRATA_EFORMAT, "malformed pax extended header record at offset %llu",
				       (unsigned long long)off);
		sp++;
		eq = memchr(sp, '=', (size_t)(rec + len - 1 - sp));
		klen = eq ? (size_t)(eq - sp) : 0;
		/* Go refuses an empty key and a NUL byte in any key */
		if (!eq || !klen || memchr(sp, '\0', klen))
			return err_set(e, STRATA_EFORMAT, "malformed pax extended header record at offset %llu",
				       (unsigned long long)off);
		val = eq + 1;
		vlen = (size_t)(rec + len - 1 - val);
		p = rec + len;
		if (global)
			continue;  /* global records: accepted, not applied (rare; no image writer uses them) */
#define KEY(s) (klen == sizeof(s) - 1 && !memcmp(sp, s, klen))
		if (KEY("path")) {
			if (pax_string(&t->pax_path, "path", val, vlen, off, e) < 0)
				return -e->code;
		} else if (KEY("linkpath")) {
			if (pax_string(&t->pax_link, "linkpath", val, vlen, off, e) < 0)
				return -e->code;
		} else if (KEY("uname")) {
			if (pax_string(&t->pax_uname, "uname", val, vlen, off, e) < 0)
				return -e->code;
		} else if (KEY("gname")) {
			if (pax_string(&t->pax_gname, "gname", val, vlen, off, e) < 0)
				return -e->code;
		} else if (KEY("size") || KEY("uid") || KEY("gid")) {
			uint64_t v = 0;
			size_t i;

			for (i = 0; i < vlen; i++) {
				if (val[i] < '0' || val[i] > '9' || v > (UINT64_MAX - 9) / 10)
					return err_set(e, STRATA_EFORMAT, "malformed pax '%.*s' record at offset %llu",
						       (int)klen, sp, (unsigned long long)off);
				v = v * 10 + (uint64_t)(val[i] - '0');
			}
			if (KEY("size")) {
				t->have_pax_size = vlen > 0;
				t->pax_size = v;
			} else if (KEY("uid")) {
				t->pax_uid = vlen > 0;
				t->v_uid = v;
			} else {
				t->pax_gid = vlen > 0;
				t->v_gid = v;
			}
		} else if (KEY("mtime")) {
			t->pax_mtime = vlen > 0;
			t->v_mtime = strtoll(val, NULL, 10);
		} else if (klen > 10 && !memcmp(sp, "GNU.sparse", 10)) {
			t->pax_sparse = true;
		} else if ((klen > 12 && !memcmp(sp, "SCHILY.xattr.", 13)) ||
			   (klen > 16 && !memcmp(sp, "LIBARCHIVE.xattr.", 17))) {
			t->pax_xattrs++;
			if (memmem(sp, klen, "security.capability", 19))
				t->pax_cap = true;
			if (sp[0] == 'S' && add_xattr(t, sp + 13, klen - 13, val, vlen, e) < 0)
				return -e->code;
		}
#undef KEY
	}
	return 0;
}

static void reset_pending(struct tar *t)
{
	buf_reset(&t->pax_path);
	buf_reset(&t->pax_link);
	buf_reset(&t->pax_uname);
	buf_reset(&t->pax_gname);
	buf_reset(&t->gnu_path);
	buf_reset(&t->gnu_link);
	t->pax_pending = false;
	t->have_pax_size = t->pax_uid = t->pax_gid = t->pax_mtime = false;
	t->pax_sparse = t->pax_cap = false;
	t->pax_xattrs = 0;
	buf_reset(&t->xbuf);
	t->nx = 0;
}

static enum tar_type type_of(char f)
{
	switch (f) {
	case '0': case '\0': case '7': return TAR_FILE;
	case '1': return TAR_HARDLINK;
	case '2': return TAR_SYMLINK;
	case '3': return TAR_CHAR;
	case '4': return TAR_BLOCK;
	case '5': return TAR_DIR;
	case '6': return TAR_FIFO;
	case 'S': return TAR_FILE;  /* old GNU sparse */
	default: return TAR_OTHER;
	}
}

static int read_block(struct tar *t, uint8_t blk[BLOCK], size_t *got, struct strata_err *e)
{
	int r = stream_read(t->up, blk, BLOCK, got, e);

	if (r == 0)
		t->offset += *got;
	return r;
}

/*
 * After a zero block at offset off.  Go's archive/tar takes a zero block
 * followed by the end of the stream, or by a second zero block, as the end;
 * a zero block followed by anything else is ErrHeader (libarchive instead
 * stops at the first zero block, GNU tar -i reads on), so it is refused here
 * rather than read one way.  What follows the two blocks is read here, to
 * the end of the stream: zero padding to a record size (GNU tar pads to
 * 10 KiB records, `tar -b 2048` to 1 MiB) is accepted up to TAR_TRAILER_MAX
 * bytes; any other byte, or more zeros (`strata verify - < /dev/zero`), is
 * refused, so no stream is read without end.
 */
static int read_end(struct tar *t, uint64_t off, struct strata_err *e)
{
	uint8_t blk[BLOCK];
	const uint8_t *p;
	uint64_t trail = 0;
	size_t got, n, i;
	int r;

	t->started = true;
	t->ended = true;
	if ((r = read_block(t, blk, &got, e)) < 0)
		return r;
	if (got == 0)
		return 0;
	if (got < BLOCK)
		return err_set(e, STRATA_EFORMAT, "truncated: archive ends inside the end-of-archive blocks at offset %llu",
			       (unsigned long long)(off + BLOCK));
	if (!is_zero_block(blk))
		return err_set(e, STRATA_EFORMAT,
			       "corrupt tar archive: the zero block at offset %llu is followed by a non-zero block "
			       "(readers disagree on where the archive ends)", (unsigned long long)off);
	for (;;) {
		if ((r = stream_get(t->up, &p, &n, 64 << 10, e)) < 0)
			return r;
		if (n == 0)
			return 0;
		for (i = 0; i < n && !p[i]; i++)
			;
		if (i < n)
			return err_set(e, STRATA_EFORMAT,
				       "data follows the end of the archive: a non-zero byte at offset %llu",
				       (unsigned long long)(t->offset + i));
		t->offset += n;
		trail += n;
		if (trail > TAR_TRAILER_MAX)
			return err_set(e, STRATA_EFORMAT, t->entries
				       ? "more than %llu bytes follow the end of the archive at offset %llu"
				       : "not a tar archive: more than %llu zero bytes and no header (from offset %llu)",
				       (unsigned long long)TAR_TRAILER_MAX, (unsigned long long)(off + 2 * BLOCK));
	}
}

/* Skip what the caller left of the previous entry, then its padding.  Sets
 * t->ended when the stream stops inside the padding. */
static int skip_rest(struct tar *t, struct strata_err *e)
{
	uint64_t skipped;
	int r;

	if (t->left || t->data.cur_len) {
		if ((r = stream_drain(&t->data, e)) < 0)
			return r;
	}
	if (t->pad) {
		t->pad_want = t->pad;
		if ((r = stream_skip(t->up, t->pad, &skipped, e)) < 0)
			return r;
		t->offset += skipped;
		t->pad = 0;
		if (skipped < t->pad_want) {
			/* The data is complete but the archive stops before its block
			 * padding: umoci 0.4 writes layers like this.  Harmless; the end
			 * of the archive is noted as missing. */
			t->missing_end = true;
			t->ended = true;
		}
	}
	return 0;
}

/* One name of the entry: the pax record, else the GNU record, else the
 * header field.  Go lets a GNU long name/link win over a pax path/linkpath,
 * libarchive applies them in the order they come: when both are present and
 * differ, the readers disagree, and the entry is refused. */
static int pick_name(struct buf *into, const struct buf *pax, const struct buf *gnu, const char *what,
		     uint64_t off, const struct buf *field, struct strata_err *e)
{
	const struct buf *from = pax->len ? pax : gnu->len ? gnu : field;

	if (pax->len && gnu->len && (pax->len != gnu->len || memcmp(pax->data, gnu->data, pax->len)))
		return err_set(e, STRATA_EFORMAT,
			       "entry at offset %llu has a pax %s '%.200s' and a GNU long %s '%.200s' (readers disagree on which counts)",
			       (unsigned long long)off, what, pax->data, what, gnu->data);
	buf_reset(into);
	return buf_add(into, from->data ? from->data : "", from->len, e);
}

/* The names of the entry whose header is blk (at offset off). */
static int entry_names(struct tar *t, const uint8_t *blk, uint64_t off, struct strata_err *e)
{
	struct buf field = BUF_INIT(256 + 1);
	int r;

	if (!memcmp(blk + 257, "ustar\0", 6) && blk[345]) {
		/* POSIX ustar: prefix "/" name.  star's headers (trailer "tar\0")
		 * end the prefix at 131 bytes, atime and ctime follow (Go). */
		size_t pl = strnlen((const char *)blk + 345, memcmp(blk + 508, "tar\0", 4) ? 155 : 131);

		r = buf_add(&field, blk + 345, pl, e);
		if (r == 0)
			r = buf_add(&field, "/", 1, e);
		if (r == 0)
			r = buf_add(&field, blk, strnlen((const char *)blk, 100), e);
	} else {
		r = set_field(&field, blk, 100, e);
	}
	if (r == 0)
		r = pick_name(&t->path, &t->pax_path, &t->gnu_path, "path", off, &field, e);
	if (r == 0 && (r = set_field(&field, blk + 157, 100, e)) == 0)
		r = pick_name(&t->link, &t->pax_link, &t->gnu_link, "linkpath", off, &field, e);
	buf_release(&field);
	if (r < 0)
		return r;
	if (t->pax_uname.len) {
		buf_reset(&t->uname);
		r = buf_add(&t->uname, t->pax_uname.data, t->pax_uname.len, e);
	} else {
		r = set_field(&t->uname, blk + 265, 32, e);
	}
	if (r == 0 && t->pax_gname.len) {
		buf_reset(&t->gname);
		r = buf_add(&t->gname, t->pax_gname.data, t->pax_gname.len, e);
	} else if (r == 0) {
		r = set_field(&t->gname, blk + 297, 32, e);
	}
	return r;
}

/* Numbers, sparse and xattrs of the entry whose header is blk. */
static int entry_fields(struct tar *t, struct tar_entry *ent, const uint8_t *blk, struct strata_err *e)
{
	uint64_t v;
	bool neg;

	parse_num(blk + 100, 8, &v, NULL);
	ent->mode = (uint32_t)(v & 07777);
	parse_num(blk + 108, 8, &ent->uid, NULL);
	parse_num(blk + 116, 8, &ent->gid, NULL);
	parse_num(blk + 136, 12, &v, &neg);
	ent->mtime = (int64_t)v;
	if (t->pax_uid)
		ent->uid = t->v_uid;
	if (t->pax_gid)
		ent->gid = t->v_gid;
	if (t->pax_mtime)
		ent->mtime = t->v_mtime;
	parse_num(blk + 329, 8, &v, NULL);
	ent->devmajor = (uint32_t)v;
	parse_num(blk + 337, 8, &v, NULL);
	ent->devminor = (uint32_t)v;
	ent->sparse = ent->typeflag == 'S' || t->pax_sparse;
	ent->nxattrs = t->pax_xattrs;
	ent->has_capability = t->pax_cap;
	if (t->nx) {
		size_t i;
		void *p = realloc(t->xv, t->nx * sizeof(*t->xv));

		if (!p)
			return err_nomem(e, "xattrs");
		t->xv = p;
		for (i = 0; i < t->nx; i++) {
			t->xv[i].name = t->xbuf.data + t->xoff[i].name;
			t->xv[i].value = t->xbuf.data + t->xoff[i].value;
			t->xv[i].len = t->xoff[i].len;
		}
		ent->xattrs = t->xv;
		ent->nxattr_v = (unsigned)t->nx;
	}
	return 0;
}

/* A pax 'x'/'g' or GNU 'L'/'K' record (header blk at offset off, size v):
 * read and kept for the entry that follows. */
static int ext_record(struct tar *t, const uint8_t *blk, uint64_t off, uint64_t v, struct strata_err *e)
{
	char flag = (char)blk[156];
	int r;

	if (flag == 'x' || flag == 'g') {
		struct buf b = BUF_INIT(t->lim.max_header);

		/* Go keeps the records of the last 'x' header only, libarchive
		 * applies all; and Go returns a 'g' header as an entry of its own,
		 * which the 'x' before it describes.  Two in a row: refused. */
		if (t->pax_pending)
			return err_set(e, STRATA_EFORMAT,
				       "pax header at offset %llu follows another pax header (readers disagree on which counts)",
				       (unsigned long long)off);
		r = read_ext(t, blk, off, v, &b, "pax extended header", e);
		if (r == 0)
			r = parse_pax(t, &b, flag == 'g', off, e);
		buf_release(&b);
		t->pax_pending = flag == 'x';
		return r;
	}
	{
		struct buf *into = flag == 'L' ? &t->gnu_path : &t->gnu_link;

		if ((r = read_ext(t, blk, off, v, into, flag == 'L' ? "GNU long name" : "GNU long link", e)) < 0)
			return r;
		/* the record carries a trailing NUL */
		into->len = strnlen(into->data ? into->data : "", into->len);
		return 0;
	}
}

int tar_next(struct tar *t, struct tar_entry **entp, struct strata_err *e)
{
	uint8_t blk[BLOCK];
	struct tar_entry *ent = &t->ent;
	uint64_t v;
	size_t got;
	int r;

	if (t->ended)
		return 0;
	if ((r = skip_rest(t, e)) < 0 || t->ended)
		return r;
	reset_pending(t);
	for (;;) {
		uint64_t hdr_off = t->offset;
		char flag;

		if ((r = read_block(t, blk, &got, e)) < 0)
			return r;
		if (got == 0) {
			if (!t->started)
				return err_set(e, STRATA_EFORMAT, "empty input: not a tar archive");
			if (t->pax_path.len || t->gnu_path.len || t->have_pax_size)
				return err_set(e, STRATA_EFORMAT, "truncated: archive ends after an extended header");
			/* EOF exactly at a header boundary: tolerated (Go and libarchive do), noted. */
			t->missing_end = true;
			t->ended = true;
			return 0;
		}
		if (got < BLOCK)
			return err_set(e, STRATA_EFORMAT, t->started ? "truncated: archive ends inside a header"
							  : "not a tar archive (shorter than one block)");
		if (is_zero_block(blk))
			return read_end(t, hdr_off, e);
		if (!tar_block_is_header(blk))
			return err_set(e, STRATA_EFORMAT, t->started
				       ? "corrupt tar header at offset %llu (bad checksum)"
				       : "not a tar archive (bad header checksum at offset %llu)",
				       (unsigned long long)hdr_off);
		t->started = true;
		flag = (char)blk[156];
		if (!parse_num(blk + 124, 12, &v, NULL))
			return err_set(e, STRATA_EFORMAT, "corrupt size field in tar header at offset %llu",
				       (unsigned long long)hdr_off);
		if (flag == 'x' || flag == 'g' || flag == 'L' || flag == 'K') {
			if ((r = ext_record(t, blk, hdr_off, v, e)) < 0)
				return r;
			continue;
		}
		/* A real entry. */
		memset(ent, 0, sizeof(*ent));
		ent->offset = hdr_off;
		ent->typeflag = flag;
		if ((r = entry_names(t, blk, hdr_off, e)) < 0)
			return r;
		ent->path = t->path.data ? t->path.data : "";
		ent->link = t->link.data ? t->link.data : "";
		ent->uname = t->uname.data ? t->uname.data : "";
		ent->gname = t->gname.data ? t->gname.data : "";
		ent->type = type_of(flag);
		/* An old-style regular file named with a trailing slash is a
		 * directory (Go, libarchive). */
		if (flag == '\0' && t->path.len && ent->path[t->path.len - 1] == '/')
			ent->type = TAR_DIR;
		if (++t->entries > t->lim.max_entries)
			return err_set(e, STRATA_EFORMAT,
				       "too many entries: '%.200s' is entry %llu, over the limit of %llu (raise it with --max-entries)",
				       ent->path, (unsigned long long)t->entries, (unsigned long long)t->lim.max_entries);
		/* Old GNU sparse: a set extension flag means more sparse map blocks
		 * follow the header, before the data; Go reads them, a reader that
		 * does not would take them for data.  Not read here: refused. */
		if (flag == 'S' && blk[482])
			return err_set(e, STRATA_EFORMAT,
				       "old GNU sparse file '%.200s' at offset %llu has sparse map extension blocks, which strata does not read",
				       ent->path, (unsigned long long)hdr_off);
		/* star writes 'S' with another layout; Go refuses it outright */
		if (flag == 'S' && memcmp(blk + 257, "ustar  \0", 8))
			return err_set(e, STRATA_EFORMAT, "sparse file '%.200s' at offset %llu is not in the GNU format",
				       ent->path, (unsigned long long)hdr_off);
		if ((r = entry_fields(t, ent, blk, e)) < 0)
			return r;
		/* Links, devices, dirs and fifos carry no data, whatever the size
		 * field or a pax size record says: Go (isHeaderOnlyType) reads the
		 * next header right after them, so whatever such a size would cover
		 * is read as entries, here as by the extractors. */
		if (ent->type == TAR_HARDLINK || ent->type == TAR_SYMLINK || ent->type == TAR_CHAR ||
		    ent->type == TAR_BLOCK || ent->type == TAR_DIR || ent->type == TAR_FIFO)
			ent->size = 0;
		else
			ent->size = t->have_pax_size ? t->pax_size : v;
		t->left = ent->size;
		t->pad = (BLOCK - ent->size % BLOCK) % BLOCK;
		t->data.cur_len = 0;
		t->data.eof = false;
		t->data.pos = 0;
		*entp = ent;
		return 1;
	}
}

int tar_header_build(uint8_t b[BLOCK], const char *name, char type, uint64_t size, uint32_t mode,
		     struct strata_err *e)
{
	size_t n = strlen(name), i;
	unsigned sum = 0;

	memset(b, 0, BLOCK);
	if (n <= 100) {
		memcpy(b, name, n);
	} else {
		const char *slash = NULL;

		for (i = n - 1; i > 0; i--)
			if (name[i] == '/' && i <= 155 && n - i - 1 <= 100 && n - i - 1 > 0) {
				slash = name + i;
				break;
			}
		if (!slash)
			return err_set(e, STRATA_EFORMAT, "name '%.100s...' too long for a ustar header", name);
		memcpy(b + 345, name, (size_t)(slash - name));
		memcpy(b, slash + 1, n - (size_t)(slash - name) - 1);
	}
	snprintf((char *)b + 100, 8, "%07o", mode & 07777);
	memcpy(b + 108, "0000000", 8);
	memcpy(b + 116, "0000000", 8);
	if (size < 077777777777ull) {
		snprintf((char *)b + 124, 12, "%011llo", (unsigned long long)size);
	} else {
		b[124] = 0x80;
		for (i = 0; i < 8; i++)
			b[135 - i] = (uint8_t)(size >> (8 * i));
	}
	memcpy(b + 136, "00000000000", 12);
	b[156] = (uint8_t)type;
	memcpy(b + 257, "ustar\0" "00", 8);
	memset(b + 148, ' ', 8);
	for (i = 0; i < BLOCK; i++)
		sum += b[i];
	snprintf((char *)b + 148, 8, "%06o", sum);
	return 0;
}
