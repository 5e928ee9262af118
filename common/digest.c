/* digest.c - OpenSSL EVP digests; see digest.h. */
#include "digest.h"

#include <openssl/evp.h>
#include <string.h>

int digest_init(struct digest_ctx *d, enum digest_alg alg, struct strata_err *e)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	if (!md)
		return err_nomem(e, "digest context");
	if (EVP_DigestInit_ex(md, alg == DIGEST_SHA512 ? EVP_sha512() : EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		return err_set(e, STRATA_EIO, "cannot initialise %s", alg == DIGEST_SHA512 ? "sha512" : "sha256");
	}
	d->md = md;
	d->alg = alg;
	return 0;
}

void digest_update(struct digest_ctx *d, const void *p, size_t n)
{
	if (n)
		EVP_DigestUpdate(d->md, p, n);
}

size_t digest_final_raw(struct digest_ctx *d, uint8_t out[64])
{
	unsigned int n = 0;

	EVP_DigestFinal_ex(d->md, out, &n);
	EVP_DigestInit_ex(d->md, NULL, NULL);
	return n;
}

void digest_hex_of(const uint8_t *md, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		*out++ = hex[md[i] >> 4];
		*out++ = hex[md[i] & 15];
	}
	*out = '\0';
}

void digest_final(struct digest_ctx *d, char out[DIGEST_STR_MAX])
{
	uint8_t md[64];
	size_t n = digest_final_raw(d, md);

	digest_hex_of(md, n, stpcpy(out, d->alg == DIGEST_SHA512 ? "sha512:" : "sha256:"));
}

void digest_release(struct digest_ctx *d)
{
	EVP_MD_CTX_free(d->md);
	d->md = NULL;
}

int digest_buf(const void *p, size_t n, char out[DIGEST_STR_MAX], struct strata_err *e)
{
	struct digest_ctx d;
	int r;

	if ((r = digest_init(&d, DIGEST_SHA256, e)) < 0)
		return r;
	digest_update(&d, p, n);
	digest_final(&d, out);
	digest_release(&d);
	return 0;
}

static bool all_lowerhex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

bool digest_is_hex64(const char *s, size_t n)
{
	return n == 64 && all_lowerhex(s, 64);
}

bool digest_valid(const char *s)
{
	if (!s)
		return false;
	if (!strncmp(s, "sha256:", 7))
		return strlen(s + 7) == 64 && all_lowerhex(s + 7, 64);
	if (!strncmp(s, "sha512:", 7))
		return strlen(s + 7) == 128 && all_lowerhex(s + 7, 128);
	return false;
}

enum digest_alg digest_alg_of(const char *s)
{
	return strncmp(s, "sha512:", 7) ? DIGEST_SHA256 : DIGEST_SHA512;
}

const char *digest_hex(const char *s)
{
	const char *c = strchr(s, ':');

	return c ? c + 1 : s;
}
