/*
 * json.h - strict JSON over cJSON for documents we did not write.
 *
 * Documents are parsed from their raw bytes (which are kept: digests are
 * over those bytes, never over a re-serialisation).  Strict means: the whole
 * buffer is one value (no trailing bytes), no duplicate keys at any depth
 * (I-JSON; cJSON keeps the first, Go the last, so a duplicate would let two
 * tools see two images), size capped by the caller, and keys are always
 * looked up case-sensitively (json_get) - cJSON_GetObjectItem is not.
 * Numbers written with a fraction or an exponent ("5.632e3", "2.0") are
 * marked JSON_NOT_INTEGER, so that json_uint refuses them where a spec says
 * integer, as Go's decoder does.
 */
#ifndef STRATA_JSON_H
#define STRATA_JSON_H

#include <cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/buf.h"
#include "common/err.h"

#define JSON_MAX_DOC (4u << 20)
/* A bit of cJSON's type field cJSON itself never sets (its flags are 256 and
 * 512; type tests mask with 0xFF): this number's text was not an integer. */
#define JSON_NOT_INTEGER (1 << 12)

/* Parse; on failure STRATA_EFORMAT with "invalid JSON ..." or "duplicate key 'K'". */
int json_parse(const char *p, size_t n, cJSON **out, struct strata_err *e);
/* Case-sensitive member lookup; NULL when obj is not an object or lacks key. */
const cJSON *json_get(const cJSON *obj, const char *key);
/* String member or NULL (absent or not a string). */
const char *json_str(const cJSON *obj, const char *key);
/* Non-negative integer member, written as one (no fraction or exponent);
 * false when absent or not such a number. */
bool json_uint(const cJSON *obj, const char *key, int64_t *out);
/* A short name for the JSON type of v ("string", "null", ...). */
const char *json_type_name(const cJSON *v);
/* cJSON_AddItemToObject / cJSON_AddItemToArray that take the item in every
 * case: when it cannot be added (no memory for the key, no container) it is
 * freed, not leaked.  False then. */
bool json_put(cJSON *obj, const char *key, cJSON *item);
bool json_push(cJSON *arr, cJSON *item);

/*
 * Documents too large to hold as cJSON nodes (an SBOM, a report, a diff)
 * are printed as a skeleton whose long arrays are raw placeholders, and
 * written with each array streamed in its place, one element made, printed
 * and freed at a time.  The bytes are those cJSON prints for the whole: an
 * array is "[" elements "]", the elements separated by ", " (pretty) or ","
 * (on one line), each printed as cJSON prints it at the array's depth.
 */
/* Element i of list `list`, made for json_stream() (which deletes it); NULL
 * with *end set after the last, NULL alone when out of memory. */
typedef cJSON *(*json_element_fn)(void *ctx, int list, size_t i, bool *end);
/* A raw node json_stream() replaces with list `list` (0 to 9). */
cJSON *json_placeholder(int list);
/* Write txt, a skeleton printed by cJSON (cJSON_PrintUnformatted() when
 * line, else cJSON_Print()), through w: each placeholder replaced by its
 * list, made by fn element by element, gathered in pieces of 256 KiB.
 * 0, or <0 with e (out of memory, or w's error). */
int json_stream(const char *txt, bool line, json_element_fn fn, void *fctx, buf_write_fn w, void *wctx,
		struct strata_err *e);
/* The skeleton doc (deleted here; NULL: out of memory) printed and
 * streamed by json_stream(), then a newline: a whole document. */
int json_write_doc(cJSON *doc, bool line, json_element_fn fn, void *fctx, buf_write_fn w, void *wctx,
		   struct strata_err *e);
/* Append list `list` to b as cJSON prints an array whose elements are at
 * depth (json_depth_at()), its elements made by fn one at a time, handing
 * b's bytes to w whenever they reach chunk (json_stream() does it for each
 * placeholder).  0, or <0 with e. */
int json_write_list(struct buf *b, size_t chunk, bool line, unsigned depth, json_element_fn fn, void *fctx, int list,
		    buf_write_fn w, void *wctx, struct strata_err *e);
/* Append x to b: on one line (line) as cJSON_PrintUnformatted() prints it,
 * else as cJSON_Print() does, each newline followed by depth tabs (the
 * depth of the array's elements).  0, or <0 with e (out of memory, b's cap). */
int json_print_element(struct buf *b, const cJSON *x, bool line, unsigned depth, struct strata_err *e);
/* Append s (NULL: "") as a JSON string, or v as a JSON number, byte for
 * byte as cJSON prints them, without making a node (a list of a million
 * files).  0, or <0 with e. */
int json_add_string(struct buf *b, const char *s, struct strata_err *e);
int json_add_uint(struct buf *b, uint64_t v, struct strata_err *e);
/* The depth of the elements of an array whose placeholder is at `at` in
 * txt, printed by cJSON_Print(): one more than the tabs opening at's line. */
unsigned json_depth_at(const char *txt, const char *at);

#endif
