/*
 * pydist.c - Python distributions: METADATA / PKG-INFO headers (the core
 * metadata spec, packaging.python.org) and RECORD; see eco.h.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "analyze/eco.h"
#include "common/digest.h"

/* Is the header line l (n bytes) "Key:"?  The value's start and length. */
static bool field(const char *l, size_t n, const char *key, const char **v, size_t *vl)
{
	size_t k = strlen(key);

	if (n <= k || strncasecmp(l, key, k) || l[k] != ':')
		return false;
	l += k + 1;
	n -= k + 1;
	while (n && (*l == ' ' || *l == '\t'))
		l++, n--;
	while (n && (l[n - 1] == ' ' || l[n - 1] == '\t' || l[n - 1] == '\r'))
		n--;
	*v = l;
	*vl = n;
	return true;
}

int py_metadata_parse(struct pkgdb *db, const char *t, size_t n, size_t entry, struct strata_err *e)
{
	const char *end = t + n, *name = NULL, *ver = NULL, *expr = NULL, *lic = NULL, *v;
	size_t nl = 0, vl = 0, el = 0, ll = 0, l;
	bool lic_multi = false;
	struct buf lics = BUF_INIT(64u << 10), cls = BUF_INIT(64u << 10);
	int r = 0;

	while (t < end) {
		const char *eol = memchr(t, '\n', (size_t)(end - t));
		size_t len = eol ? (size_t)(eol - t) : (size_t)(end - t);

		if (len == 0 || (len == 1 && *t == '\r'))
			break;  /* the body (the description) follows */
		if (*t == ' ' || *t == '\t') {
			if (lic && lic + ll == t - 1)
				lic_multi = true;  /* License: with continuation lines is license text */
		} else if (!name && field(t, len, "Name", &v, &l)) {
			name = v, nl = l;
		} else if (!ver && field(t, len, "Version", &v, &l)) {
			ver = v, vl = l;
		} else if (!expr && field(t, len, "License-Expression", &v, &l)) {
			expr = v, el = l;
		} else if (!lic && field(t, len, "License", &v, &l)) {
			lic = v, ll = l;
		} else if (field(t, len, "Classifier", &v, &l) && l > 11 && !strncmp(v, "License :: ", 11)) {
			const char *last = v;
			size_t i;

			for (i = 0; i + 4 <= l; i++)
				if (!memcmp(v + i, " :: ", 4))
					last = v + i + 4;
			if (buf_add(&cls, last, (size_t)(v + l - last), e) < 0 || buf_add(&cls, "\n", 1, e) < 0) {
				r = -e->code;
				goto out;
			}
		}
		if (!eol)
			break;
		t = eol + 1;
	}
	if (!name || !nl || !ver || !vl) {
		r = err_set(e, STRATA_EFORMAT, "no Name or Version header");
		goto out;
	}
	/* PEP 639's expression; else a one-line License: that says something; else the classifiers */
	if (expr && el)
		r = buf_add(&lics, expr, el, e) < 0 ? -e->code : 0;
	else if (lic && ll && ll <= 128 && !lic_multi && !(ll == 7 && !strncasecmp(lic, "UNKNOWN", 7)))
		r = buf_add(&lics, lic, ll, e) < 0 ? -e->code : 0;
	else if (cls.len)
		r = buf_add(&lics, cls.data, cls.len - 1, e) < 0 ? -e->code : 0;
	if (r == 0) {
		struct pkg_fields f = { name, nl, ver, vl, NULL, 0, lics.data, lics.len, NULL, 0 };

		r = pkgdb_add(db, &f, entry, e);
	}
out:
	buf_release(&lics);
	buf_release(&cls);
	return r;
}

int py_normalize(const char *s, struct buf *out, struct strata_err *e)
{
	bool sep = false;

	buf_reset(out);
	for (; *s; s++) {
		if (*s == '-' || *s == '_' || *s == '.') {
			sep = true;
			continue;
		}
		if ((sep && out->len && buf_add(out, "-", 1, e) < 0) ||
		    buf_add(out, &(char){ (char)tolower((unsigned char)*s) }, 1, e) < 0)
			return -e->code;
		sep = false;
	}
	return buf_add(out, "", 1, e) < 0 ? -e->code : 0;
}

/* One CSV field of line l (ending at end) into f; the rest after its comma. */
static const char *csv_field(const char *l, const char *end, struct buf *f, struct strata_err *e, int *r)
{
	buf_reset(f);
	if (l < end && *l == '"') {
		for (l++; l < end; l++) {
			if (*l == '"' && l + 1 < end && l[1] == '"')
				l++;
			else if (*l == '"') {
				l++;
				break;
			}
			if (buf_add(f, l, 1, e) < 0)
				*r = -e->code;
		}
	} else {
		const char *c = memchr(l, ',', (size_t)(end - l));
		const char *fe = c ? c : end;

		if (buf_add(f, l, (size_t)(fe - l), e) < 0)
			*r = -e->code;
		l = fe;
	}
	if (buf_add(f, "", 1, e) < 0)
		*r = -e->code;
	return l < end && *l == ',' ? l + 1 : end;
}

/* base + "/" + rel, with . and .. resolved, into out; false when it leaves the root. */
static bool resolve(const char *base, const char *rel, struct buf *out, struct strata_err *e, int *r)
{
	const char *parts[2] = { base, rel };
	int i;

	buf_reset(out);
	if (*rel == '/')
		parts[0] = "";  /* an absolute path in RECORD: from the image's root */
	for (i = 0; i < 2; i++) {
		const char *p = parts[i];

		while (*p) {
			size_t n = strcspn(p, "/");

			if ((n == 1 && *p == '.') || n == 0) {
				/* nothing */
			} else if (n == 2 && !memcmp(p, "..", 2)) {
				char *slash;

				if (!out->len)
					return false;
				slash = memrchr(out->data, '/', out->len);
				out->len = slash ? (size_t)(slash - out->data) : 0;
			} else if ((out->len && buf_add(out, "/", 1, e) < 0) || buf_add(out, p, n, e) < 0) {
				*r = -e->code;
				return false;
			}
			p += n + (p[n] == '/');
		}
	}
	if (buf_add(out, "", 1, e) < 0) {
		*r = -e->code;
		return false;
	}
	out->len--;
	return out->len > 0;
}

static int b64url_val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '-' ? 62 : c == '_' ? 63 : -1;
}

/* "sha256=B64" (urlsafe, unpadded) as 64 lowercase hex digits into hex; false otherwise. */
static bool sha256_hex(const char *h, char hex[65])
{
	uint8_t d[33];
	size_t i, o = 0;
	unsigned acc = 0, bits = 0;

	if (strncmp(h, "sha256=", 7))
		return false;
	h += 7;
	for (i = 0; h[i] && h[i] != '='; i++) {
		int v = b64url_val((unsigned char)h[i]);

		if (v < 0 || o >= sizeof(d))
			return false;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			d[o++] = (uint8_t)(acc >> bits);
		}
	}
	if (o != 32)
		return false;
	digest_hex_of(d, 32, hex);
	return true;
}

int py_record_files(const char *distdir, const char *t, size_t n, struct buf *out, struct strata_err *e)
{
	struct buf base = BUF_INIT(1u << 16), path = BUF_INIT(1u << 16), hash = BUF_INIT(1u << 16),
		   full = BUF_INIT(1u << 16);
	const char *end = t + n, *slash = strrchr(distdir, '/');
	char hex[65];
	int r = 0;

	if (buf_add(&base, distdir, slash ? (size_t)(slash - distdir) : 0, e) < 0 || buf_add(&base, "", 1, e) < 0) {
		r = -e->code;
		goto out;
	}
	while (t < end && r == 0) {
		const char *eol = memchr(t, '\n', (size_t)(end - t));
		const char *le = eol ? eol : end, *rest;

		if (le > t && le[-1] == '\r')
			le--;
		rest = csv_field(t, le, &path, e, &r);
		csv_field(rest, le, &hash, e, &r);
		if (r == 0 && path.len > 1 && resolve(base.data, path.data, &full, e, &r)) {
			if (buf_add(out, full.data, full.len, e) < 0 ||
			    (sha256_hex(hash.data, hex) && (buf_add(out, "\t", 1, e) < 0 || buf_add(out, hex, 64, e) < 0)) ||
			    buf_add(out, "\n", 1, e) < 0)
				r = -e->code;
		}
		t = eol ? eol + 1 : end;
	}
out:
	buf_release(&base);
	buf_release(&path);
	buf_release(&hash);
	buf_release(&full);
	return r;
}
