/* pieceset.c - the piece set a source names; see pieceset.h. */
#include "formats/pieceset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "common/digest.h"
#include "common/fsutil.h"
#include "formats/json.h"

#define MANIFEST_SUFFIX ".manifest.json"
#define MANIFEST_MAX (256u << 20)

static bool ends_with(const char *s, const char *suf)
{
	size_t n = strlen(s), k = strlen(suf);

	return n > k && !strcmp(s + n - k, suf);
}

static bool is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* path's directory with a slash ("" when none), malloc'd */
static char *dir_of(const char *path)
{
	const char *sl = strrchr(path, '/');

	return sl ? strndup(path, (size_t)(sl - path + 1)) : strdup("");
}

static char *cat2(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 1;
	char *p = malloc(n);

	if (p)
		snprintf(p, n, "%s%s", a, b);
	return p;
}

static const cJSON *file_entry(const cJSON *doc, const char *name, int *count)
{
	const cJSON *f, *hit = NULL;

	*count = 0;
	cJSON_ArrayForEach(f, json_get(doc, "files")) {
		const char *p = json_str(f, "path");

		if (p && !strcmp(p, name)) {
			hit = hit ? hit : f;
			(*count)++;
		}
	}
	return hit;
}

/* Piece i (from 1), named name beside the manifest: its size and sha256 from "files". */
static int add_listed(const cJSON *doc, const char *manifest, const char *dir, const char *name, size_t i,
		      struct pieces *np, struct strata_err *e)
{
	const cJSON *f;
	const char *hex;
	int64_t size;
	char *path;
	int count, r;

	if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return err_set(e, STRATA_EFORMAT, "'%s': piece %zu is not a file name beside the manifest", manifest, i);
	f = file_entry(doc, name, &count);
	hex = f ? json_str(f, "sha256") : NULL;
	if (!f || count > 1 || !json_uint(f, "size", &size) || !hex || !digest_is_hex64(hex, strlen(hex)))
		return err_set(e, STRATA_EFORMAT, "'%s': piece '%s' is %s in \"files\" with a size and a sha256", manifest,
			       name, count > 1 ? "listed more than once" : "not listed");
	if (!(path = cat2(dir, name)))
		return err_nomem(e, "pieces");
	r = pieces_add(np, path, (uint64_t)size, hex, e);
	free(path);
	return r;
}

int pieceset_load(const char *manifest, struct pieces *p, struct strata_err *e)
{
	struct buf b = BUF_INIT(MANIFEST_MAX);
	struct pieces np = { 0 };
	const cJSON *out, *names, *x;
	const char *kind, *hex, *name = NULL;
	cJSON *doc = NULL;
	char *dir = NULL;
	int64_t size;
	size_t i = 0;
	int r;

	if ((r = read_regular(manifest, true, &b, STRATA_EFORMAT, e)) < 0)
		goto out;
	if ((r = json_parse(b.data ? b.data : "", b.len, &doc, e)) < 0) {
		err_wrap(e, "'%s'", manifest);
		goto out;
	}
	kind = json_str(doc, "kind");
	if (!kind || strcmp(kind, "strata-transfer-manifest")) {
		r = err_set(e, STRATA_EFORMAT, "'%s' is not a strata transfer manifest (kind \"strata-transfer-manifest\")",
			    manifest);
		goto out;
	}
	out = json_get(doc, "output");
	names = json_get(out, "pieces");
	if (!names) {
		/* a whole archive: itself, the one piece */
		const char *format = json_str(out, "format");

		name = json_str(out, "path");
		if (!name || !format || !strcmp(format, "oci")) {
			r = 0;
			goto out;
		}
	} else if (!cJSON_IsArray(names) || !cJSON_GetArraySize(names) || cJSON_GetArraySize(names) > PIECES_MAX) {
		r = err_set(e, STRATA_EFORMAT, "'%s': output.pieces is not a list of 1 to %d piece names", manifest, PIECES_MAX);
		goto out;
	}
	if (!(dir = dir_of(manifest)) || !(np.name = cat2(dir, json_str(out, "path") ? json_str(out, "path") : ""))) {
		r = err_nomem(e, "pieces");
		goto out;
	}
	np.checked = true;
	if (json_uint(out, "size", &size))
		np.size = (uint64_t)size;
	if ((hex = json_str(out, "sha256")) && digest_is_hex64(hex, strlen(hex)))
		snprintf(np.hex, sizeof(np.hex), "%s", hex);
	if (name && (r = add_listed(doc, manifest, dir, name, 1, &np, e)) < 0)
		goto out;
	cJSON_ArrayForEach(x, names) {
		i++;
		if ((r = add_listed(doc, manifest, dir, cJSON_IsString(x) ? x->valuestring : "", i, &np, e)) < 0)
			goto out;
	}
	*p = np;
	memset(&np, 0, sizeof(np));
	r = 1;
out:
	pieces_release(&np);
	free(dir);
	cJSON_Delete(doc);
	buf_release(&b);
	return r;
}

int pieceset_find(const char *path, struct pieces *p, struct diag *d, struct strata_err *e)
{
	struct pieces np = { 0 };
	char *base = NULL, *man = NULL, *name = NULL;
	size_t n = strlen(path), i;
	int r;

	if (ends_with(path, MANIFEST_SUFFIX)) {
		if ((r = pieceset_load(path, p, e)) == 0)
			r = err_set(e, STRATA_EUSAGE, "'%s' describes an OCI layout directory: name the directory, or "
				    "verify it with `strata verify %s`", path, path);
		return r;
	}
	if (!ends_with(path, ".000"))
		return 0;
	if (!(base = strndup(path, n - 4)) || !(man = cat2(base, MANIFEST_SUFFIX))) {
		r = err_nomem(e, "pieces");
		goto out;
	}
	if (is_file(man)) {
		if ((r = pieceset_load(man, &np, e)) == 0)
			r = err_set(e, STRATA_EFORMAT, "'%s' is beside '%s' but lists no pieces", man, path);
		else if (r > 0 && strcmp(np.v[0].path, path) && strcmp(strrchr(np.v[0].path, '/') ? strrchr(np.v[0].path, '/') + 1
				: np.v[0].path, strrchr(path, '/') ? strrchr(path, '/') + 1 : path))
			r = err_set(e, STRATA_EFORMAT, "'%s' is not the first piece '%s' names", path, man);
		if (r > 0) {
			*p = np;
			memset(&np, 0, sizeof(np));
		}
		goto out;
	}
	/* no manifest: the siblings as they are, when there are any */
	if (!(name = pieces_name(base, 1))) {
		r = err_nomem(e, "pieces");
		goto out;
	}
	if (!is_file(name)) {
		r = 0;
		goto out;
	}
	if (!(np.name = strdup(base))) {
		r = err_nomem(e, "pieces");
		goto out;
	}
	for (i = 0; i < PIECES_MAX; i++) {
		free(name);
		if (!(name = pieces_name(base, i))) {
			r = err_nomem(e, "pieces");
			goto out;
		}
		if (!is_file(name))
			break;
		if ((r = pieces_add(&np, name, 0, NULL, e)) < 0)
			goto out;
	}
	diag_add(d, SEV_WARNING, STRATA_EVERIFY, path,
		 "no '%s' beside it: reading %zu pieces (%s to .%03zu) unchecked, as they are", man, np.len, path,
		 np.len - 1);
	*p = np;
	memset(&np, 0, sizeof(np));
	r = 1;
out:
	pieces_release(&np);
	free(name);
	free(man);
	free(base);
	return r;
}
