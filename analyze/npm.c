/*
 * npm.c - npm packages: node_modules/[@SCOPE/]NAME/package.json; see eco.h.
 *
 * Only the package.json at a package's root counts: the one of the
 * application (outside node_modules) and the nested ones some packages
 * carry (lib/package.json with only "type") are not packages.
 */
#include <string.h>

#include "analyze/eco.h"
#include "formats/json.h"

bool npm_is_package_json(const char *path)
{
	const char *p = path, *nm = NULL, *rest;
	size_t n;

	/* the last node_modules/ component */
	for (;;) {
		const char *q = strstr(p, "node_modules/");

		if (!q)
			break;
		if (q == path || q[-1] == '/')
			nm = q;
		p = q + 13;
	}
	if (!nm)
		return false;
	rest = nm + 13;
	if (*rest == '@') {  /* a scope: @SCOPE/NAME */
		n = strcspn(rest, "/");
		if (n < 2 || !rest[n])
			return false;
		rest += n + 1;
	}
	n = strcspn(rest, "/");
	return n > 0 && *rest != '.' && !strcmp(rest + n, "/package.json");
}

/* The license of a package.json: "license" as a string, or its older
 * forms {"type": ...} and "licenses": [{"type": ...}], one a line. */
static int license(const cJSON *doc, struct buf *out, struct strata_err *e)
{
	const cJSON *l = json_get(doc, "license"), *x;
	const char *s;

	if (cJSON_IsString(l) && *l->valuestring)
		return buf_addstr(out, l->valuestring, e) < 0 ? -e->code : 0;
	if ((s = json_str(l, "type")) && *s)
		return buf_addstr(out, s, e) < 0 ? -e->code : 0;
	l = json_get(doc, "licenses");
	if (!cJSON_IsArray(l))
		return 0;
	cJSON_ArrayForEach(x, l) {
		s = cJSON_IsString(x) ? x->valuestring : json_str(x, "type");
		if (s && *s && ((out->len && buf_add(out, "\n", 1, e) < 0) || buf_addstr(out, s, e) < 0))
			return -e->code;
	}
	return 0;
}

int npm_package_parse(struct pkgdb *db, const char *text, size_t n, size_t entry, struct strata_err *e)
{
	struct buf lic = BUF_INIT(64u << 10);
	const char *name, *ver;
	cJSON *doc = NULL;
	int r;

	if ((r = json_parse(text, n, &doc, e)) < 0)
		return r;
	name = json_str(doc, "name");
	ver = json_str(doc, "version");
	if (!name || !*name || !ver || !*ver) {
		r = err_set(e, STRATA_EFORMAT, "no string name and version");
		goto out;
	}
	if ((r = license(doc, &lic, e)) == 0) {
		struct pkg_fields f = { name, strlen(name), ver, strlen(ver), NULL, 0, lic.data, lic.len, NULL, 0 };

		r = pkgdb_add(db, &f, entry, e);
	}
out:
	buf_release(&lic);
	cJSON_Delete(doc);
	return r;
}
