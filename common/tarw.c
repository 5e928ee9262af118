/* tarw.c - tar header writer; see tar.h. */
#include "tar.h"

#include <stdio.h>
#include <string.h>

#define BLOCK 512

/* Split a path into ustar's prefix (155) and name (100) at a slash. */
static bool ustar_split(const char *p, size_t *prefix_len)
{
	size_t n = strlen(p), i;

	*prefix_len = 0;
	if (n <= 100)
		return true;
	for (i = n - 1; i > 0; i--)
		if (p[i] == '/' && i <= 155 && n - i - 1 <= 100 && n - i - 1 > 0) {
			*prefix_len = i;
			return true;
		}
	return false;
}

static bool octal_fits(uint64_t v, size_t width)
{
	return width >= 22 || v < (1ull << (3 * (width - 1)));
}

static void put_octal(uint8_t *f, size_t width, uint64_t v)
{
	char tmp[32];

	snprintf(tmp, sizeof(tmp), "%0*llo", (int)(width - 1), (unsigned long long)(octal_fits(v, width) ? v : 0));
	memcpy(f, tmp, width - 1);
	f[width - 1] = '\0';
}

/* One pax record "LEN key=value\n"; LEN counts itself. */
static int pax_record(struct buf *b, const char *key, const char *val, size_t vlen, struct strata_err *e)
{
	size_t base = strlen(key) + vlen + 3, len = base, digits;
	char num[24];

	for (;;) {
		digits = (size_t)snprintf(num, sizeof(num), "%zu", len);
		if (base + digits == len)
			break;
		len = base + digits;
	}
	if (buf_add(b, num, digits, e) < 0 || buf_add(b, " ", 1, e) < 0 || buf_addstr(b, key, e) < 0 ||
	    buf_add(b, "=", 1, e) < 0 || buf_add(b, val, vlen, e) < 0 || buf_add(b, "\n", 1, e) < 0)
		return -e->code;
	return 0;
}

static int pax_num(struct buf *b, const char *key, long long v, bool sign, struct strata_err *e)
{
	char num[24];
	int n = sign ? snprintf(num, sizeof(num), "%lld", v) : snprintf(num, sizeof(num), "%llu", (unsigned long long)v);

	return pax_record(b, key, num, (size_t)n, e);
}

static void block(uint8_t b[BLOCK], const char *name, size_t prefix_len, const struct tar_hdr *h, char type,
		  uint64_t size)
{
	unsigned sum = 0;
	size_t i, n = strlen(name);

	memset(b, 0, BLOCK);
	if (prefix_len) {
		memcpy(b + 345, name, prefix_len);
		memcpy(b, name + prefix_len + 1, n - prefix_len - 1);
	} else {
		memcpy(b, name, n < 100 ? n : 100);
	}
	put_octal(b + 100, 8, h->mode & 07777);
	put_octal(b + 108, 8, h->uid);
	put_octal(b + 116, 8, h->gid);
	put_octal(b + 124, 12, size);
	put_octal(b + 136, 12, h->mtime >= 0 ? (uint64_t)h->mtime : 0);
	b[156] = (uint8_t)type;
	if (h->link && strlen(h->link) <= 100)
		memcpy(b + 157, h->link, strlen(h->link));
	memcpy(b + 257, "ustar\0" "00", 8);
	if (h->uname && strlen(h->uname) < 32)
		memcpy(b + 265, h->uname, strlen(h->uname));
	if (h->gname && strlen(h->gname) < 32)
		memcpy(b + 297, h->gname, strlen(h->gname));
	if (type == '3' || type == '4') {
		put_octal(b + 329, 8, h->devmajor);
		put_octal(b + 337, 8, h->devminor);
	}
	memset(b + 148, ' ', 8);
	for (i = 0; i < BLOCK; i++)
		sum += b[i];
	snprintf((char *)b + 148, 8, "%06o", sum);
}

void tar_hdr_of(struct tar_hdr *h, const struct tar_entry *ent, const char *path)
{
	static const char flags[] = { [TAR_FILE] = '0', [TAR_HARDLINK] = '1', [TAR_SYMLINK] = '2', [TAR_CHAR] = '3',
				      [TAR_BLOCK] = '4', [TAR_DIR] = '5', [TAR_FIFO] = '6', [TAR_OTHER] = '0' };

	memset(h, 0, sizeof(*h));
	h->path = path;
	h->link = ent->type == TAR_SYMLINK || ent->type == TAR_HARDLINK ? ent->link : "";
	h->typeflag = flags[ent->type];
	h->size = ent->type == TAR_FILE ? ent->size : 0;
	h->mode = ent->mode;
	h->uid = ent->uid;
	h->gid = ent->gid;
	h->mtime = ent->mtime;
	h->uname = ent->uname;
	h->gname = ent->gname;
	h->devmajor = ent->devmajor;
	h->devminor = ent->devminor;
	h->xattrs = ent->xattrs;
	h->nxattrs = ent->nxattr_v;
}

int tar_hdr_encode(struct buf *out, const struct tar_hdr *h, struct strata_err *e)
{
	struct buf pax = BUF_INIT(1u << 20);
	const char *link = h->link ? h->link : "";
	uint8_t blk[BLOCK];
	size_t prefix_len = 0;
	unsigned i;
	int r = 0;

	if (!ustar_split(h->path, &prefix_len))
		r = pax_record(&pax, "path", h->path, strlen(h->path), e);
	if (r == 0 && strlen(link) > 100)
		r = pax_record(&pax, "linkpath", link, strlen(link), e);
	if (r == 0 && !octal_fits(h->size, 12))
		r = pax_num(&pax, "size", (long long)h->size, false, e);
	if (r == 0 && !octal_fits(h->uid, 8))
		r = pax_num(&pax, "uid", (long long)h->uid, false, e);
	if (r == 0 && !octal_fits(h->gid, 8))
		r = pax_num(&pax, "gid", (long long)h->gid, false, e);
	if (r == 0 && (h->mtime < 0 || !octal_fits((uint64_t)h->mtime, 12)))
		r = pax_num(&pax, "mtime", h->mtime, true, e);
	if (r == 0 && h->uname && strlen(h->uname) >= 32)
		r = pax_record(&pax, "uname", h->uname, strlen(h->uname), e);
	if (r == 0 && h->gname && strlen(h->gname) >= 32)
		r = pax_record(&pax, "gname", h->gname, strlen(h->gname), e);
	for (i = 0; r == 0 && i < h->nxattrs; i++) {
		struct buf key = BUF_INIT(1u << 16);

		if ((r = buf_printf(&key, e, "SCHILY.xattr.%s", h->xattrs[i].name)) == 0)
			r = pax_record(&pax, key.data, h->xattrs[i].value, h->xattrs[i].len, e);
		buf_release(&key);
	}
	if (r < 0)
		goto out;
	if (pax.len) {
		/* Go's name for the extended header: PaxHeaders.0/<base> */
		const char *base = strrchr(h->path, '/');
		char pname[101];
		static const uint8_t zeros[BLOCK];

		base = base && base[1] ? base + 1 : h->path;
		snprintf(pname, sizeof(pname), "PaxHeaders.0/%s", base);
		block(blk, pname, 0, &(struct tar_hdr){ .mode = 0644 }, 'x', pax.len);
		if ((r = buf_add(out, blk, BLOCK, e)) < 0 || (r = buf_add(out, pax.data, pax.len, e)) < 0 ||
		    (r = buf_add(out, zeros, tar_padding(pax.len), e)) < 0)
			goto out;
		if (!ustar_split(h->path, &prefix_len))
			prefix_len = 0;  /* the name field keeps a truncated path; pax "path" rules */
	}
	block(blk, h->path, prefix_len, h, h->typeflag, h->size);
	r = buf_add(out, blk, BLOCK, e);
out:
	buf_release(&pax);
	return r;
}
