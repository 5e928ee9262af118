/* risk.c - risky content patterns; see risk.h. */
#include "analyze/risk.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

const char *const risk_ids[RISK_COUNT] = {
	"secrets.private-key", "secrets.aws-access-key-id", "secrets.gcp-service-account-key", "secrets.env-file",
	"secrets.netrc", "secrets.git-credentials", "secrets.docker-auth", "shadow.empty-password",
	"shadow.weak-password", "perms.capability", "perms.setuid", "perms.setgid", "perms.world-writable",
};

uint32_t risk_match(const char *name)
{
	uint32_t m = 0;
	size_t i, n = strlen(name);

	if (!strcmp(name, "findings"))
		return (1u << RISK_COUNT) - 1;
	for (i = 0; i < RISK_COUNT; i++)
		if (!strcmp(risk_ids[i], name) || (n && !strncmp(risk_ids[i], name, n) && risk_ids[i][n] == '.'))
			m |= 1u << i;
	return m;
}

int risk_add(struct layer_files *lf, enum risk_rule rule, const char *detail, struct strata_err *e)
{
	struct finding *f;

	if (!lf->nent)
		return 0;
	if (lf->nfindings >= RISK_LAYER_MAX) {
		lf->findings_dropped++;
		return 0;
	}
	if (array_grow(&lf->findings, lf->nfindings, &lf->afindings, sizeof(*lf->findings), 16) < 0)
		return err_nomem(e, "findings");
	f = &lf->findings[lf->nfindings];
	f->rule = (uint8_t)rule;
	f->entry = lf->nent - 1;
	if (!(f->detail = strdup(detail ? detail : "")))
		return err_nomem(e, "findings");
	lf->nfindings++;
	return 0;
}

void risk_release(struct layer_files *lf)
{
	size_t i;

	for (i = 0; i < lf->nfindings; i++)
		free(lf->findings[i].detail);
	free(lf->findings);
	lf->findings = NULL;
	lf->nfindings = lf->afindings = 0;
}

static const char *base(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static bool alnum(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* "-----BEGIN <label>PRIVATE KEY<...>-----" followed by a line of base64 or
 * PEM headers (a string constant naming the header is not a key). */
static bool private_key(const uint8_t *d, size_t n, char *out, size_t on)
{
	const uint8_t *p = d, *end = d + n;

	while ((p = memmem(p, (size_t)(end - p), "-----BEGIN ", 11))) {
		const uint8_t *l = p + 11, *q = l, *nl;
		size_t k = 0;

		while (q < end && q - l < 64 && *q != '-' && *q != '\n')
			q++;
		p = l;
		if (q + 5 > end || memcmp(q, "-----", 5) || !memmem(l, (size_t)(q - l), "PRIVATE KEY", 11))
			continue;
		nl = q + 5;
		if (nl < end && *nl == '\r')
			nl++;
		if (nl >= end || *nl != '\n')
			continue;
		nl++;
		while (nl + k < end && k < 16 && (alnum(nl[k]) || nl[k] == '+' || nl[k] == '/' || nl[k] == '=' ||
						   nl[k] == ':' || nl[k] == '-'))
			k++;
		if (k < 16 && !(end - nl >= 10 && !memcmp(nl, "Proc-Type:", 10)))
			continue;  /* base64, or an encrypted PEM key's headers */
		snprintf(out, on, "-----BEGIN %.*s-----", (int)(q - l), (const char *)l);
		return true;
	}
	return false;
}

/* AKIA/ASIA + 16 [A-Z0-9], alone (no letter or digit either side). */
static bool aws_key(const uint8_t *d, size_t n, char *out, size_t on)
{
	static const char *pre[] = { "AKIA", "ASIA" };
	size_t i;

	for (i = 0; i < 2; i++) {
		const uint8_t *p = d, *end = d + n;

		while ((p = memmem(p, (size_t)(end - p), pre[i], 4))) {
			size_t k = 4;

			if (p > d && alnum(p[-1])) {
				p += 4;
				continue;
			}
			while (p + k < end && k < 20 && ((p[k] >= 'A' && p[k] <= 'Z') || (p[k] >= '0' && p[k] <= '9')))
				k++;
			if (k == 20 && (p + 20 == end || !alnum(p[20]))) {
				snprintf(out, on, "%.4s************%.4s", (const char *)p, (const char *)p + 16);
				return true;
			}
			p += 4;
		}
	}
	return false;
}

static bool has(const uint8_t *d, size_t n, const char *s)
{
	return memmem(d, n, s, strlen(s)) != NULL;
}

/* A JSON key with a non-empty string value: "key" : "x... */
static bool json_key_value(const uint8_t *d, size_t n, const char *quoted)
{
	const uint8_t *p = d, *end = d + n;
	size_t kl = strlen(quoted);

	while ((p = memmem(p, (size_t)(end - p), quoted, kl))) {
		p += kl;
		while (p < end && isspace(*p))
			p++;
		if (p >= end || *p != ':')
			continue;
		p++;
		while (p < end && isspace(*p))
			p++;
		if (p + 1 < end && *p == '"' && p[1] != '"')
			return true;
	}
	return false;
}

/* The next line from *p (without its newline), or NULL at the end. */
static const uint8_t *line_next(const uint8_t **p, const uint8_t *end, size_t *len)
{
	const uint8_t *s = *p, *nl;

	if (s >= end)
		return NULL;
	nl = memchr(s, '\n', (size_t)(end - s));
	*len = (size_t)((nl ? nl : end) - s);
	*p = nl ? nl + 1 : end;
	return s;
}

static int env_file(struct layer_files *lf, const uint8_t *d, size_t n, struct strata_err *e)
{
	unsigned count = 0;
	char det[64];
	const uint8_t *q, *line;
	size_t len;

	for (q = d; (line = line_next(&q, d + n, &len));) {
		size_t i = 0, k;

		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (len - i > 7 && !memcmp(line + i, "export ", 7))
			i += 7;
		k = i;
		while (i < len && (alnum(line[i]) || line[i] == '_'))
			i++;
		if (i == k || isdigit(line[k]))
			continue;
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i < len && line[i] == '=' && i + 1 < len && !isspace(line[i + 1]) && line[i + 1] != '#')
			count++;
	}
	if (!count)
		return 0;
	snprintf(det, sizeof(det), "%u variable%s set", count, count == 1 ? "" : "s");
	return risk_add(lf, RISK_ENV_FILE, det, e);
}

static int shadow(struct layer_files *lf, const uint8_t *d, size_t n, struct strata_err *e)
{
	const uint8_t *q, *line;
	size_t len;
	int r = 0;

	for (q = d; (line = line_next(&q, d + n, &len));) {
		const uint8_t *c1 = memchr(line, ':', len), *c2;
		char det[160];

		if (r < 0 || !c1 || !len || line[0] == '#')
			continue;
		c2 = memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - line));
		if (!c2)
			c2 = line + len;
		if (c2 == c1 + 1) {
			snprintf(det, sizeof(det), "user '%.*s' has an empty password (log in without one)",
				 (int)((c1 - line) > 64 ? 64 : c1 - line), (const char *)line);
			r = risk_add(lf, RISK_SHADOW_EMPTY, det, e);
		} else if (c1[1] != '$' && c1[1] != '!' && c1[1] != '*') {
			snprintf(det, sizeof(det), "user '%.*s' has a password that is no salted $-crypt hash (DES or plain text)",
				 (int)((c1 - line) > 64 ? 64 : c1 - line), (const char *)line);
			r = risk_add(lf, RISK_SHADOW_WEAK, det, e);
		}
	}
	return r;
}

int risk_scan(struct layer_files *lf, const char *path, const uint8_t *d, size_t n, struct strata_err *e)
{
	const char *b = base(path);
	const uint8_t *q, *line;
	size_t len;
	char det[160];
	int r = 0;

	lf->risk_scanned = true;
	if (!n)
		return 0;
	if (private_key(d, n, det, sizeof(det)) && (r = risk_add(lf, RISK_PRIVATE_KEY, det, e)) < 0)
		return r;
	if (aws_key(d, n, det, sizeof(det)) && (r = risk_add(lf, RISK_AWS_KEY, det, e)) < 0)
		return r;
	for (q = d; q < d + n && isspace(*q); q++)
		;
	if (q < d + n && *q == '{' && has(d, n, "\"private_key\"") && has(d, n, "\"service_account\"") &&
	    (r = risk_add(lf, RISK_GCP_KEY, "service account key file (\"type\": \"service_account\", \"private_key\")", e)) < 0)
		return r;
	if ((!strcmp(b, ".env") || (!strncmp(b, ".env.", 5) && !strstr(b, "example") && !strstr(b, "sample") &&
				    !strstr(b, "template") && !strstr(b, "dist"))) &&
	    (r = env_file(lf, d, n, e)) < 0)
		return r;
	if ((!strcmp(b, ".netrc") || !strcmp(b, "_netrc")) && has(d, n, "password") &&
	    (r = risk_add(lf, RISK_NETRC, "netrc with a password", e)) < 0)
		return r;
	if (!strcmp(b, ".git-credentials")) {
		for (q = d; (line = line_next(&q, d + n, &len));) {
			const uint8_t *s = memmem(line, len, "://", 3), *at, *colon;

			if (r < 0 || !s)
				continue;
			s += 3;
			at = memchr(s, '@', len - (size_t)(s - line));
			colon = at ? memchr(s, ':', (size_t)(at - s)) : NULL;
			if (colon && colon + 1 < at) {
				snprintf(det, sizeof(det), "stored credentials for user '%.*s'", (int)((colon - s) > 64 ? 64 : colon - s),
					 (const char *)s);
				r = risk_add(lf, RISK_GIT_CREDENTIALS, det, e);
				break;
			}
		}
		if (r < 0)
			return r;
	}
	if ((!strcmp(path, ".docker/config.json") ||
	     (strlen(path) > 20 && !strcmp(path + strlen(path) - 20, "/.docker/config.json"))) &&
	    has(d, n, "\"auths\"") && (json_key_value(d, n, "\"auth\"") || json_key_value(d, n, "\"identitytoken\"")) &&
	    (r = risk_add(lf, RISK_DOCKER_AUTH, "registry credentials in \"auths\"", e)) < 0)
		return r;
	if (!strcmp(path, "etc/shadow") && (r = shadow(lf, d, n, e)) < 0)
		return r;
	return 0;
}
