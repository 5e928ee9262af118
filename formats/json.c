/* json.c - strict JSON; see json.h. */
#include "json.h"

#include <stdlib.h>
#include <string.h>

/* cJSON's allocations note a shortage too: a document that fails to parse
 * for want of memory must not be reported as invalid (see strata_oom_note). */
static void *json_alloc(size_t n)
{
	void *p = malloc(n);

	if (!p && n)
		strata_oom_note();
	return p;
}

static void __attribute__((constructor)) json_hooks(void)
{
	cJSON_Hooks h = { json_alloc, free };

	cJSON_InitHooks(&h);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Duplicate keys among siblings, recursively: sort the keys, compare neighbours. */
static int check_dups(const cJSON *v, int depth, struct strata_err *e)
{
	const cJSON *c;
	size_t n = 0, i;
	const char **keys;
	int r = 0;

	if (!cJSON_IsObject(v) && !cJSON_IsArray(v))
		return 0;
	for (c = v->child; c; c = c->next) {
		n++;
		if ((r = check_dups(c, depth + 1, e)) < 0)
			return r;
	}
	if (!cJSON_IsObject(v) || n < 2)
		return 0;
	if (!(keys = malloc(n * sizeof(*keys))))
		return err_nomem(e, "JSON keys");
	for (i = 0, c = v->child; c; c = c->next)
		keys[i++] = c->string ? c->string : "";
	qsort(keys, n, sizeof(*keys), cmp_str);
	for (i = 1; i < n; i++)
		if (!strcmp(keys[i - 1], keys[i])) {
			r = err_set(e, STRATA_EFORMAT, "invalid JSON: duplicate key '%.200s'", keys[i]);
			break;
		}
	free(keys);
	return r;
}

/*
 * cJSON keeps a number's value, not its text, so "5632", "5.632e3" and
 * "5632.0" parse alike; the OCI specs make sizes int64 and Go's decoder
 * (skopeo, containerd) refuses the other two.  The text is looked at here:
 * the ordinal (in document order) of every number written with a fraction or
 * an exponent, into *out (NULL when there is none, the usual case).
 */
static int non_integer_numbers(const char *p, size_t n, size_t **out, size_t *nout, struct strata_err *e)
{
	size_t i = 0, ord = 0, alloc = 0;
	size_t *v = NULL, *nv;
	bool odd;

	*out = NULL;
	*nout = 0;
	while (i < n) {
		if (p[i] == '"') {
			for (i++; i < n && p[i] != '"'; i++)
				if (p[i] == '\\')
					i++;
			i++;
		} else if (p[i] == '-' || (p[i] >= '0' && p[i] <= '9')) {
			for (odd = false; i < n && (strchr("+-.eE", p[i]) || (p[i] >= '0' && p[i] <= '9')); i++)
				odd |= p[i] == '.' || p[i] == 'e' || p[i] == 'E';
			if (odd) {
				if (*nout == alloc) {
					alloc = alloc ? 2 * alloc : 8;
					if (!(nv = realloc(v, alloc * sizeof(*v)))) {
						free(v);
						return err_nomem(e, "JSON numbers");
					}
					v = nv;
				}
				v[(*nout)++] = ord;
			}
			ord++;
		} else {
			i++;
		}
	}
	*out = v;
	return 0;
}

/* Mark, in document order, the number items the text wrote as non-integers. */
static void mark_numbers(cJSON *v, const size_t *odd, size_t nodd, size_t *ord, size_t *k)
{
	cJSON *c;

	if (cJSON_IsNumber(v)) {
		if (*k < nodd && odd[*k] == *ord) {
			v->type |= JSON_NOT_INTEGER;
			(*k)++;
		}
		(*ord)++;
	}
	for (c = v->child; c; c = c->next)
		mark_numbers(c, odd, nodd, ord, k);
}

int json_parse(const char *p, size_t n, cJSON **out, struct strata_err *e)
{
	const char *end = NULL;
	size_t *odd, nodd, ord = 0, k = 0;
	cJSON *v;
	size_t i;
	int r;

	*out = NULL;
	if (n == 0)
		return err_set(e, STRATA_EFORMAT, "invalid JSON: empty document");
	if (memchr(p, '\0', n))
		return err_set(e, STRATA_EFORMAT, "invalid JSON: NUL byte in document");
	v = cJSON_ParseWithLengthOpts(p, n, &end, 0);
	if (!v) {
		size_t off = end && end >= p && end <= p + n ? (size_t)(end - p) : 0;

		return err_set(e, STRATA_EFORMAT, "invalid JSON near byte %zu", off);
	}
	/* only whitespace may follow the value */
	for (i = (size_t)(end - p); i < n; i++)
		if (p[i] != ' ' && p[i] != '\n' && p[i] != '\r' && p[i] != '\t') {
			cJSON_Delete(v);
			return err_set(e, STRATA_EFORMAT, "invalid JSON: trailing data at byte %zu", i);
		}
	if ((r = check_dups(v, 0, e)) < 0 || (r = non_integer_numbers(p, n, &odd, &nodd, e)) < 0) {
		cJSON_Delete(v);
		return r;
	}
	if (odd)
		mark_numbers(v, odd, nodd, &ord, &k);
	free(odd);
	*out = v;
	return 0;
}

const cJSON *json_get(const cJSON *obj, const char *key)
{
	return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
}

const char *json_str(const cJSON *obj, const char *key)
{
	const cJSON *v = json_get(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

bool json_uint(const cJSON *obj, const char *key, int64_t *out)
{
	const cJSON *v = json_get(obj, key);
	double d;

	if (!cJSON_IsNumber(v) || (v->type & JSON_NOT_INTEGER))
		return false;
	d = v->valuedouble;
	if (d < 0 || d > 9007199254740992.0 || d != (double)(int64_t)d)
		return false;
	*out = (int64_t)d;
	return true;
}

bool json_put(cJSON *obj, const char *key, cJSON *item)
{
	if (obj && item && cJSON_AddItemToObject(obj, key, item))
		return true;
	cJSON_Delete(item);
	return false;
}

bool json_push(cJSON *arr, cJSON *item)
{
	if (arr && item && cJSON_AddItemToArray(arr, item))
		return true;
	cJSON_Delete(item);
	return false;
}

int json_print_element(struct buf *b, const cJSON *x, bool line, unsigned depth, struct strata_err *e)
{
	static const char tabs[] = "\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t";
	char *txt = line ? cJSON_PrintUnformatted(x) : cJSON_Print(x);
	const char *p = txt, *nl;
	int r = 0;

	if (!txt)
		return err_nomem(e, "JSON");
	while (r == 0 && !line && (nl = strchr(p, '\n'))) {
		unsigned k;

		r = buf_add(b, p, (size_t)(nl - p) + 1, e);
		for (k = depth; r == 0 && k; k -= k < 16 ? k : 16)
			r = buf_add(b, tabs, k < 16 ? k : 16, e);
		p = nl + 1;
	}
	if (r == 0)
		r = buf_add(b, p, strlen(p), e);
	free(txt);
	return r < 0 ? -e->code : 0;
}

int json_add_string(struct buf *b, const char *s, struct strata_err *e)
{
	static const char hex[] = "0123456789abcdef";
	const char *run;
	int r = buf_add(b, "\"", 1, e);

	while (r == 0 && s && *s) {
		char esc[7] = "\\u00";
		size_t n = 2;

		for (run = s; *s && (unsigned char)*s >= 32 && *s != '"' && *s != '\\'; s++)
			;
		if (s > run && (r = buf_add(b, run, (size_t)(s - run), e)) < 0)
			break;
		if (!*s)
			break;
		switch (*s) {  /* as cJSON's print_string_ptr() escapes */
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			esc[4] = hex[(unsigned char)*s >> 4];
			esc[5] = hex[*s & 15];
			n = 6;
		}
		r = buf_add(b, esc, n, e);
		s++;
	}
	return r == 0 ? buf_add(b, "\"", 1, e) : r;
}

int json_add_uint(struct buf *b, uint64_t v, struct strata_err *e)
{
	char *txt;
	cJSON *x;
	int r;

	if (v < 1000000000000000ull)  /* cJSON's "%d" or "%1.15g" print such a number in plain digits */
		return buf_printf(b, e, "%llu", (unsigned long long)v);
	if (!(x = cJSON_CreateNumber((double)v)) || !(txt = cJSON_PrintUnformatted(x))) {
		cJSON_Delete(x);
		return err_nomem(e, "JSON");
	}
	r = buf_addstr(b, txt, e);
	free(txt);
	cJSON_Delete(x);
	return r;
}

unsigned json_depth_at(const char *txt, const char *at)
{
	unsigned depth = 1;

	while (at > txt && at[-1] != '\n')
		at--;
	while (*at++ == '\t')
		depth++;
	return depth;
}

#define STREAM_MARK '\001'         /* a placeholder's bounds: cJSON escapes it in every string */
#define STREAM_CHUNK (256u << 10)  /* bytes gathered before each write */

cJSON *json_placeholder(int list)
{
	char mark[4] = { STREAM_MARK, (char)('0' + list), STREAM_MARK, 0 };

	return list >= 0 && list <= 9 ? cJSON_CreateRaw(mark) : NULL;
}

int json_write_list(struct buf *b, size_t chunk, bool line, unsigned depth, json_element_fn fn, void *fctx, int list,
		    buf_write_fn w, void *wctx, struct strata_err *e)
{
	size_t i;
	bool end = false;
	int r = buf_add(b, "[", 1, e);

	for (i = 0; r == 0; i++) {
		cJSON *x = fn(fctx, list, i, &end);

		if (end)
			break;
		if (!x)
			return err_nomem(e, "JSON");
		if (i)
			r = buf_add(b, line ? "," : ", ", line ? 1 : 2, e);
		if (r == 0)
			r = json_print_element(b, x, line, depth, e);
		cJSON_Delete(x);
		if (r == 0)
			r = buf_flush(b, chunk, w, wctx, e);
	}
	return r < 0 ? r : buf_add(b, "]", 1, e);
}

int json_stream(const char *txt, bool line, json_element_fn fn, void *fctx, buf_write_fn w, void *wctx,
		struct strata_err *e)
{
	struct buf b = BUF_INIT((size_t)1 << 30);
	const char *p = txt, *m;
	int r = 0;

	while (r == 0 && (m = strchr(p, STREAM_MARK))) {
		int l = m[1] - '0';

		if (l < 0 || l > 9 || m[2] != STREAM_MARK) {
			r = err_set(e, STRATA_EIO, "JSON: a list placeholder names no list");
			break;
		}
		if ((r = buf_add(&b, p, (size_t)(m - p), e)) == 0)
			r = json_write_list(&b, STREAM_CHUNK, line, json_depth_at(txt, m), fn, fctx, l, w, wctx, e);
		p = m + 3;
	}
	if (r == 0)
		r = buf_add(&b, p, strlen(p), e);
	if (r == 0)
		r = buf_flush(&b, 1, w, wctx, e);
	buf_release(&b);
	return r < 0 ? r : 0;
}

int json_write_doc(cJSON *doc, bool line, json_element_fn fn, void *fctx, buf_write_fn w, void *wctx,
		   struct strata_err *e)
{
	char *txt = !doc ? NULL : line ? cJSON_PrintUnformatted(doc) : cJSON_Print(doc);
	int r;

	cJSON_Delete(doc);
	if (!txt)
		return err_nomem(e, "JSON");
	r = json_stream(txt, line, fn, fctx, w, wctx, e);
	if (r == 0)
		r = w(wctx, "\n", 1, e);
	free(txt);
	return r;
}

const char *json_type_name(const cJSON *v)
{
	if (!v) return "absent";
	if (cJSON_IsNull(v)) return "null";
	if (cJSON_IsBool(v)) return "boolean";
	if (cJSON_IsNumber(v)) return "number";
	if (cJSON_IsString(v)) return "string";
	if (cJSON_IsArray(v)) return "array";
	if (cJSON_IsObject(v)) return "object";
	return "invalid";
}
