/*
 * gobin.c - the module build info of Go binaries; see eco.h.
 *
 * Go's linker writes a 32-byte header (`\xff Go buildinf:`, pointer size,
 * flags) 16-byte aligned at the start of .go.buildinfo, in the first
 * writable segment (debug/buildinfo reads it from there).  With flag 2
 * (Go 1.18 and later) two strings follow inline, each an unsigned varint
 * length and the bytes: the Go version and the module info, whose lines
 * (between 16-byte sentinels) are "path", "mod PATH VERSION SUM",
 * "dep PATH VERSION SUM", "=> PATH VERSION SUM" (a replacement of the line
 * before) and "build KEY=VALUE".  Older binaries hold pointers into the
 * data instead; they are counted, not read.
 *
 * The scanner sees the file once, as it streams: the ELF and program
 * headers from the first 4 KiB, then every 16-byte aligned block from the
 * first writable PT_LOAD segment for ECO_GO_SPAN bytes.
 */
#include <string.h>

#include "analyze/eco.h"

static const uint8_t MAGIC[14] = "\xff Go buildinf:";

static uint64_t rd(const uint8_t *p, int size, bool be)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < size; i++)
		v |= (uint64_t)p[be ? size - 1 - i : i] << (8 * i);
	return v;
}

/* Where to search, from the ELF and program headers in g->head. */
static void go_window(struct eco_go *g)
{
	const uint8_t *h = g->head;
	uint64_t phoff, best = UINT64_MAX;
	unsigned phent, phnum, i;
	bool is64, be;

	if (g->nhead < 52 || memcmp(h, "\x7f" "ELF", 4) || (h[4] != 1 && h[4] != 2) || (h[5] != 1 && h[5] != 2)) {
		g->state = GO_DONE;  /* not ELF */
		return;
	}
	is64 = h[4] == 2;
	be = h[5] == 2;
	if (is64 && g->nhead < 64) {
		g->state = GO_DONE;
		return;
	}
	phoff = is64 ? rd(h + 32, 8, be) : rd(h + 28, 4, be);
	phent = (unsigned)rd(h + (is64 ? 54 : 42), 2, be);
	phnum = (unsigned)rd(h + (is64 ? 56 : 44), 2, be);
	for (i = 0; phent >= (is64 ? 56u : 32u) && i < phnum; i++) {
		uint64_t at = phoff + (uint64_t)i * phent, off, flags;

		if (at > g->nhead || g->nhead - at < phent)
			break;  /* past what was kept: search from the start */
		if (rd(h + at, 4, be) != 1)  /* PT_LOAD */
			continue;
		flags = rd(h + at + (is64 ? 4 : 24), 4, be);
		off = is64 ? rd(h + at + 8, 8, be) : rd(h + at + 4, 4, be);
		if ((flags & 2) && off < best)  /* PF_W */
			best = off;
	}
	g->start = best == UINT64_MAX ? 0 : best & ~(uint64_t)15;
	g->end = g->start + ECO_GO_SPAN;
	g->state = GO_SEEK;
}

static bool uvarint(const uint8_t *p, size_t n, uint64_t *v, size_t *used)
{
	uint64_t x = 0;
	size_t i;

	for (i = 0; i < n && i < 10; i++) {
		x |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80)) {
			*v = x;
			*used = i + 1;
			return true;
		}
	}
	return false;
}

/* Bytes of build info that hold the whole of it, 0 while unknown. */
static size_t go_need(const uint8_t *p, size_t n)
{
	size_t pos = 32, used;
	uint64_t len;
	int i;

	if (n < 32)
		return 0;
	if (!(p[15] & 2))
		return 32;
	for (i = 0; i < 2; i++) {
		if (!uvarint(p + pos, n - pos, &len, &used))
			return n - pos >= 10 ? SIZE_MAX : 0;
		if (len > ECO_GO_INFO_MAX)
			return SIZE_MAX;
		pos += used + (size_t)len;
		if (i == 0 && pos > n)
			return pos >= ECO_GO_INFO_MAX ? SIZE_MAX : 0;
	}
	return pos;
}

static int go_info(struct eco_go *g, const uint8_t *p, size_t n, struct strata_err *e)
{
	size_t room = ECO_GO_INFO_MAX - g->info.len, need;

	if (buf_add(&g->info, p, n < room ? n : room, e) < 0)
		return -e->code;
	need = go_need((const uint8_t *)g->info.data, g->info.len);
	if ((need && need <= g->info.len) || need == SIZE_MAX || g->info.len >= ECO_GO_INFO_MAX)
		g->state = GO_DONE;
	return 0;
}

static int go_found(struct eco_go *g, const uint8_t *block, struct strata_err *e)
{
	g->state = GO_INFO;
	return go_info(g, block, 16, e);
}

/* The search, over bytes at file offset g->off on. */
static int go_seek(struct eco_go *g, const uint8_t *p, size_t n, struct strata_err *e)
{
	while (n && g->state == GO_SEEK) {
		if (g->off >= g->end) {
			g->state = GO_DONE;
			break;
		}
		if (g->off + n <= g->start) {
			g->off += n;
			return 0;
		}
		if (g->off < g->start) {
			size_t skip = (size_t)(g->start - g->off);

			p += skip, n -= skip, g->off = g->start;
		}
		if (g->ncarry) {
			size_t take = 16 - g->ncarry < n ? 16 - g->ncarry : n;

			memcpy(g->carry + g->ncarry, p, take);
			g->ncarry += take, p += take, n -= take, g->off += take;
			if (g->ncarry == 16) {
				g->ncarry = 0;
				if (!memcmp(g->carry, MAGIC, sizeof(MAGIC)))
					return go_found(g, g->carry, e) < 0 ? -e->code : go_info(g, p, n, e);
			}
			continue;
		}
		while (n >= 16 && g->off < g->end) {
			if (p[0] == 0xff && !memcmp(p, MAGIC, sizeof(MAGIC)))
				return go_found(g, p, e) < 0 ? -e->code : go_info(g, p + 16, n - 16, e);
			p += 16, n -= 16, g->off += 16;
		}
		if (n && n < 16 && g->off < g->end) {
			memcpy(g->carry, p, n);
			g->ncarry = n;
			g->off += n;
			n = 0;
		}
	}
	return 0;
}

int eco_go_feed(struct eco_go *g, const uint8_t *p, size_t n, struct strata_err *e)
{
	if (g->state == GO_HEAD) {
		size_t take = sizeof(g->head) - g->nhead < n ? sizeof(g->head) - g->nhead : n;

		memcpy(g->head + g->nhead, p, take);
		g->nhead += take, p += take, n -= take;
		if (g->nhead < sizeof(g->head) && n == 0)
			return 0;
		return eco_go_flush(g, e) < 0 ? -e->code : n ? eco_go_feed(g, p, n, e) : 0;
	}
	if (g->state == GO_INFO)
		return go_info(g, p, n, e);
	return g->state == GO_SEEK ? go_seek(g, p, n, e) : 0;
}

int eco_go_flush(struct eco_go *g, struct strata_err *e)
{
	if (g->state != GO_HEAD)
		return 0;
	go_window(g);
	g->off = 0;
	return g->state == GO_SEEK ? go_seek(g, g->head, g->nhead, e) : 0;
}

/* ---- the build info ---- */

struct gomod {
	const char *path, *ver;
	size_t pl, vl;
};

/* Field i (0-based, tab-separated) of line l. */
static bool tabfield(const char *l, size_t n, int i, const char **f, size_t *fl)
{
	const char *end = l + n;

	for (; i > 0; i--) {
		const char *t = memchr(l, '\t', (size_t)(end - l));

		if (!t)
			return false;
		l = t + 1;
	}
	*f = l;
	*fl = (size_t)((memchr(l, '\t', (size_t)(end - l)) ? (const char *)memchr(l, '\t', (size_t)(end - l)) : end) - l);
	return true;
}

static int add_mod(struct pkgdb *db, const struct gomod *m, size_t entry, struct strata_err *e)
{
	struct pkg_fields f = { m->path, m->pl, m->ver, m->vl, NULL, 0, NULL, 0, NULL, 0 };

	return m->pl ? pkgdb_add(db, &f, entry, e) : 0;
}

int go_buildinfo_parse(struct pkgdb *db, const uint8_t *p, size_t n, size_t entry, struct strata_err *e)
{
	size_t pos = 32, used, ml;
	uint64_t len;
	const char *mod, *end;
	struct gomod cur = { NULL, NULL, 0, 0 };
	int i, r = 0;

	if (n < 32 || memcmp(p, MAGIC, sizeof(MAGIC)))
		return err_set(e, STRATA_EFORMAT, "no Go build info header");
	if (!(p[15] & 2))
		return 1;
	for (i = 0; i < 2; i++) {
		if (!uvarint(p + pos, n - pos, &len, &used) || len > n - pos - used)
			return err_set(e, STRATA_EFORMAT, "Go build info: a string runs past the %zu bytes read", n);
		pos += used;
		if (i == 0)
			pos += (size_t)len;
	}
	mod = (const char *)p + pos;
	ml = (size_t)len;
	if (ml >= 33 && mod[ml - 17] == '\n') {  /* the sentinels around it */
		mod += 16;
		ml -= 32;
	}
	end = mod + ml;
	while (mod < end && r == 0) {
		const char *eol = memchr(mod, '\n', (size_t)(end - mod));
		size_t l = eol ? (size_t)(eol - mod) : (size_t)(end - mod);
		struct gomod m = { NULL, NULL, 0, 0 };

		if ((l > 4 && !memcmp(mod, "mod\t", 4)) || (l > 4 && !memcmp(mod, "dep\t", 4))) {
			r = add_mod(db, &cur, entry, e);
			if (tabfield(mod, l, 1, &m.path, &m.pl))
				tabfield(mod, l, 2, &m.ver, &m.vl);
			cur = m;
		} else if (l > 3 && !memcmp(mod, "=>\t", 3)) {
			/* a module replacement builds from the replacing module; a directory (no version) keeps the name */
			if (tabfield(mod, l, 1, &m.path, &m.pl) && tabfield(mod, l, 2, &m.ver, &m.vl) && m.vl && cur.pl)
				cur = m;
		}
		mod = eol ? eol + 1 : end;
	}
	if (r == 0)
		r = add_mod(db, &cur, entry, e);
	return r;
}
