/* tarsplit.c - tar-split metadata reader and CRC-64/ISO; see tarsplit.h. */
#include "tarsplit.h"

#include <cJSON.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

struct tarsplit {
	gzFile gz;
	char *what;
	char *buf;            /* read buffer: [off, len) not yet consumed */
	size_t off, len, cap;
	bool eof;
	uint64_t line;
	cJSON *cur;           /* the parsed current line */
	uint8_t *raw;         /* decoded payload of the current line */
	char *name;           /* decoded name_raw */
};

/* ---- CRC-64/ISO, slicing by 8 (Go: crc64.MakeTable(crc64.ISO)) ---- */

static uint64_t crc_tab[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	const uint64_t poly = 0xD800000000000000ull;
	unsigned i, k;

	for (i = 0; i < 256; i++) {
		uint64_t c = i;

		for (k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ poly : c >> 1;
		crc_tab[0][i] = c;
	}
	for (i = 0; i < 256; i++)
		for (k = 1; k < 8; k++)
			crc_tab[k][i] = crc_tab[0][crc_tab[k - 1][i] & 0xff] ^ (crc_tab[k - 1][i] >> 8);
}

uint64_t crc64_iso(uint64_t crc, const void *vp, size_t n)
{
	const uint8_t *p = vp;

	pthread_once(&crc_once, crc_init);
	crc = ~crc;
	while (n >= 8) {
		crc ^= (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
		       (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
		crc = crc_tab[7][crc & 0xff] ^ crc_tab[6][(crc >> 8) & 0xff] ^ crc_tab[5][(crc >> 16) & 0xff] ^
		      crc_tab[4][(crc >> 24) & 0xff] ^ crc_tab[3][(crc >> 32) & 0xff] ^
		      crc_tab[2][(crc >> 40) & 0xff] ^ crc_tab[1][(crc >> 48) & 0xff] ^ crc_tab[0][crc >> 56];
		p += 8;
		n -= 8;
	}
	while (n--)
		crc = crc_tab[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* ---- base64 (standard alphabet, padded, as Go's encoding/json writes []byte) ---- */

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

/* Decode s into a new buffer; -1 when s is no base64. */
static int b64_decode(const char *s, uint8_t **out, size_t *outlen)
{
	size_t n = strlen(s), i, o = 0;
	uint32_t acc = 0;
	int bits = 0, v;
	uint8_t *b;

	if (n % 4)
		return -1;
	if (!(b = malloc(n / 4 * 3 + 1)))
		return -2;
	for (i = 0; i < n; i++) {
		if (s[i] == '=') {
			if (i < n - 2 || (i == n - 2 && s[n - 1] != '='))
				goto bad;
			break;
		}
		if ((v = b64val((unsigned char)s[i])) < 0)
			goto bad;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			b[o++] = (uint8_t)(acc >> bits);
		}
	}
	*out = b;
	*outlen = o;
	return 0;
bad:
	free(b);
	return -1;
}

int tarsplit_open(struct tarsplit **out, int fd, const char *what, struct strata_err *e)
{
	struct tarsplit *ts;

	*out = NULL;
	if (!(ts = calloc(1, sizeof(*ts))) || !(ts->what = strdup(what))) {
		free(ts);
		close(fd);
		return err_nomem(e, "tar-split");
	}
	if (!(ts->gz = gzdopen(fd, "rb"))) {
		close(fd);
		tarsplit_free(ts);
		return err_nomem(e, "tar-split");
	}
	gzbuffer(ts->gz, 1 << 17);
	*out = ts;
	return 0;
}

static int fail(struct tarsplit *ts, struct strata_err *e, const char *why)
{
	return err_set(e, STRATA_EFORMAT, "'%s': line %llu: %s", ts->what, (unsigned long long)ts->line, why);
}

/* The next line, NUL-terminated in place, or NULL at the end. */
static int next_line(struct tarsplit *ts, char **line, struct strata_err *e)
{
	char *nl;
	int got, zerr;

	for (;;) {
		if (ts->len > ts->off && (nl = memchr(ts->buf + ts->off, '\n', ts->len - ts->off))) {
			*line = ts->buf + ts->off;
			*nl = 0;
			ts->off = (size_t)(nl - ts->buf) + 1;
			return 0;
		}
		if (ts->eof) {
			if (ts->len > ts->off) {  /* a last line without newline */
				if (ts->len == ts->cap) {
					char *nb = realloc(ts->buf, ts->cap + 1);

					if (!nb)
						return err_nomem(e, "tar-split line");
					ts->buf = nb;
					ts->cap++;
				}
				ts->buf[ts->len] = 0;
				*line = ts->buf + ts->off;
				ts->off = ts->len;
				return 0;
			}
			*line = NULL;
			return 0;
		}
		if (ts->off) {
			memmove(ts->buf, ts->buf + ts->off, ts->len - ts->off);
			ts->len -= ts->off;
			ts->off = 0;
		}
		if (ts->cap - ts->len < 65536) {
			size_t nc = ts->cap ? ts->cap * 2 : 1 << 18;
			char *nb;

			if (ts->len > TARSPLIT_LINE_MAX)
				return fail(ts, e, "line too long");
			if (!(nb = realloc(ts->buf, nc)))
				return err_nomem(e, "tar-split line");
			ts->buf = nb;
			ts->cap = nc;
		}
		got = gzread(ts->gz, ts->buf + ts->len, (unsigned)(ts->cap - ts->len));
		if (got < 0) {
			const char *m = gzerror(ts->gz, &zerr);

			return err_set(e, zerr == Z_ERRNO ? STRATA_EIO : STRATA_EFORMAT, "'%s': %s", ts->what,
				       zerr == Z_ERRNO ? "read error" : m);
		}
		if (got == 0) {
			/* gzread returns 0 at a clean end and on a truncated stream */
			const char *m = gzerror(ts->gz, &zerr);

			if (zerr != Z_OK && zerr != Z_STREAM_END)
				return err_set(e, STRATA_EFORMAT, "'%s': %s", ts->what, m);
			if (!gzeof(ts->gz))
				return err_set(e, STRATA_EFORMAT, "'%s': truncated gzip stream", ts->what);
			ts->eof = true;
		}
		ts->len += (size_t)got;
	}
}

int tarsplit_next(struct tarsplit *ts, struct tarsplit_ent *ent, struct strata_err *e)
{
	const cJSON *type, *pos, *pl, *sz, *nm;
	char *line = NULL;
	int r;

	cJSON_Delete(ts->cur);
	ts->cur = NULL;
	free(ts->raw);
	ts->raw = NULL;
	free(ts->name);
	ts->name = NULL;
	memset(ent, 0, sizeof(*ent));
	do {
		if ((r = next_line(ts, &line, e)) < 0)
			return r;
		if (!line)
			return 0;
		ts->line++;
	} while (!*line);
	if (!(ts->cur = cJSON_Parse(line)) || !cJSON_IsObject(ts->cur))
		return fail(ts, e, "not a JSON object");
	type = cJSON_GetObjectItemCaseSensitive(ts->cur, "type");
	pos = cJSON_GetObjectItemCaseSensitive(ts->cur, "position");
	pl = cJSON_GetObjectItemCaseSensitive(ts->cur, "payload");
	if (!cJSON_IsNumber(type) || (type->valuedouble != 1 && type->valuedouble != 2))
		return fail(ts, e, "no entry type 1 or 2");
	if (!cJSON_IsNumber(pos) || pos->valuedouble < 0 || pos->valuedouble > 9e15)
		return fail(ts, e, "no position");
	ent->type = type->valuedouble == 1 ? TARSPLIT_FILE : TARSPLIT_SEGMENT;
	ent->position = (uint64_t)pos->valuedouble;
	if (pl && !cJSON_IsNull(pl)) {
		if (!cJSON_IsString(pl))
			return fail(ts, e, "payload is not a string");
		if ((r = b64_decode(pl->valuestring, &ts->raw, &ent->rawlen)) == -2)
			return err_nomem(e, "tar-split payload");
		if (r < 0)
			return fail(ts, e, "payload is not base64");
		ent->raw = ts->raw;
	}
	if (ent->type == TARSPLIT_SEGMENT)
		return 1;
	sz = cJSON_GetObjectItemCaseSensitive(ts->cur, "size");
	if (sz) {
		if (!cJSON_IsNumber(sz) || sz->valuedouble < 0 || sz->valuedouble > 9e15 ||
		    sz->valuedouble != (double)(uint64_t)sz->valuedouble)
			return fail(ts, e, "bad size");
		ent->size = (uint64_t)sz->valuedouble;
	}
	if (ent->raw) {
		if (ent->rawlen != 8)
			return fail(ts, e, "file payload is not a CRC-64");
		ent->has_crc = true;
		for (int i = 0; i < 8; i++)
			ent->crc = ent->crc << 8 | ent->raw[i];
	}
	if (ent->size && !ent->has_crc)
		return fail(ts, e, "file entry with content but no checksum");
	nm = cJSON_GetObjectItemCaseSensitive(ts->cur, "name");
	if (cJSON_IsString(nm)) {
		ent->name = nm->valuestring;
	} else {
		uint8_t *n;
		size_t nl;

		nm = cJSON_GetObjectItemCaseSensitive(ts->cur, "name_raw");
		if (!cJSON_IsString(nm))
			return fail(ts, e, "file entry without a name");
		if ((r = b64_decode(nm->valuestring, &n, &nl)) == -2)
			return err_nomem(e, "tar-split name");
		if (r < 0 || memchr(n, 0, nl)) {
			if (!r)
				free(n);
			return fail(ts, e, "bad name_raw");
		}
		n[nl] = 0;
		ts->name = (char *)n;
		ent->name = ts->name;
	}
	return 1;
}

void tarsplit_free(struct tarsplit *ts)
{
	if (!ts)
		return;
	if (ts->gz)
		gzclose(ts->gz);
	cJSON_Delete(ts->cur);
	free(ts->raw);
	free(ts->name);
	free(ts->buf);
	free(ts->what);
	free(ts);
}
