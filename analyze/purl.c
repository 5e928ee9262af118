/*
 * purl.c - package URLs (github.com/package-url/purl-spec) for the SBOM;
 * see sbom.h.  Each type as its section of the spec says: deb, apk and rpm
 * with the distro as namespace and arch (rpm: and epoch) as qualifiers,
 * pypi names normalized, npm scopes as the namespace, golang module paths
 * split into namespace segments and a name.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "analyze/eco.h"
#include "analyze/sbom.h"
#include "formats/layerfs.h"

static int enc(struct buf *out, const char *s, struct strata_err *e)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		int r = isalnum(c) || c == '.' || c == '-' || c == '_' || c == '~' ? buf_add(out, s, 1, e)
										  : buf_printf(out, e, "%%%02X", c);

		if (r < 0)
			return r;
	}
	return 0;
}

/* Each '/'-separated segment of s encoded on its own, the slashes kept. */
static int enc_path(struct buf *out, const char *s, struct strata_err *e)
{
	char seg[LFS_PATH_MAX];

	while (*s) {
		size_t n = strcspn(s, "/");

		if (n >= sizeof(seg))
			n = sizeof(seg) - 1;
		memcpy(seg, s, n);
		seg[n] = 0;
		if (enc(out, seg, e) < 0)
			return -e->code;
		s += n;
		if (*s == '/' && (s++, buf_addstr(out, "/", e) < 0))
			return -e->code;
	}
	return 0;
}

int sbom_purl_q(struct buf *out, const char *type, const char *ns, const char *name, const char *version,
		const char *arch, const char *extra, struct strata_err *e)
{
	if (buf_printf(out, e, "pkg:%s/", type) < 0 ||
	    (ns && *ns && (enc_path(out, ns, e) < 0 || buf_addstr(out, "/", e) < 0)) || enc(out, name, e) < 0)
		return -e->code;
	if (version && *version && (buf_addstr(out, "@", e) < 0 || enc(out, version, e) < 0))
		return -e->code;
	if (arch && *arch && (buf_addstr(out, "?arch=", e) < 0 || enc(out, arch, e) < 0))
		return -e->code;
	if (extra && *extra && (buf_addstr(out, arch && *arch ? "&" : "?", e) < 0 || buf_addstr(out, extra + 1, e) < 0))
		return -e->code;
	return 0;
}

int sbom_purl(struct buf *out, const char *type, const char *ns, const char *name, const char *version,
	      const char *arch, struct strata_err *e)
{
	return sbom_purl_q(out, type, ns, name, version, arch, NULL, e);
}

int sbom_purl_of(struct buf *out, enum pkgdb_kind kind, const struct package *p, const char *ns,
		 struct strata_err *e)
{
	char scope[256], extra[32];
	const char *c;

	switch (kind) {
	case PKGDB_APK:
		return sbom_purl(out, "apk", ns, p->name, p->version, p->arch, e);
	case PKGDB_RPM:
		/* the purl spec: the epoch is a qualifier, the version is VERSION-RELEASE */
		c = p->version + strspn(p->version, "0123456789");
		if (*c == ':' && c > p->version && c - p->version < 12) {
			snprintf(extra, sizeof(extra), "&epoch=%.*s", (int)(c - p->version), p->version);
			return sbom_purl_q(out, "rpm", ns, p->name, c + 1, p->arch, extra, e);
		}
		return sbom_purl(out, "rpm", ns, p->name, p->version, p->arch, e);
	case PKGDB_PYPI: {
		struct buf n = BUF_INIT(1u << 16);
		int r = py_normalize(p->name, &n, e);

		if (r == 0)
			r = sbom_purl(out, "pypi", NULL, n.data, p->version, NULL, e);
		buf_release(&n);
		return r;
	}
	case PKGDB_NPM:
		if (p->name[0] == '@' && (c = strchr(p->name, '/')) && (size_t)(c - p->name) < sizeof(scope)) {
			snprintf(scope, sizeof(scope), "%.*s", (int)(c - p->name), p->name);
			return sbom_purl(out, "npm", scope, c + 1, p->version, NULL, e);
		}
		return sbom_purl(out, "npm", NULL, p->name, p->version, NULL, e);
	case PKGDB_GO: {
		char nsb[LFS_PATH_MAX];

		if ((c = strrchr(p->name, '/')) && (size_t)(c - p->name) < sizeof(nsb)) {
			snprintf(nsb, sizeof(nsb), "%.*s", (int)(c - p->name), p->name);
			return sbom_purl(out, "golang", nsb, c + 1, p->version, NULL, e);
		}
		return sbom_purl(out, "golang", NULL, p->name, p->version, NULL, e);
	}
	default:
		return sbom_purl(out, "deb", ns, p->name, p->version, p->arch, e);
	}
}
