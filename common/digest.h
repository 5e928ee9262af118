/*
 * digest.h - content digests ("sha256:<hex>") over OpenSSL EVP.
 *
 * All digest strings the library produces or accepts go through here:
 * digest_valid() is the single gate an untrusted digest string passes before
 * it is compared, printed as an identifier or turned into a path
 * (CVE-2024-3727): "sha256:" + 64 lowercase hex, or "sha512:" + 128.
 */
#ifndef STRATA_DIGEST_H
#define STRATA_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "err.h"

#define DIGEST_STR_MAX (7 + 128 + 1)  /* "sha512:" + hex + NUL */

enum digest_alg { DIGEST_SHA256, DIGEST_SHA512 };

struct digest_ctx {
	void *md;              /* EVP_MD_CTX */
	enum digest_alg alg;
};

int digest_init(struct digest_ctx *d, enum digest_alg alg, struct strata_err *e);
void digest_update(struct digest_ctx *d, const void *p, size_t n);
/* Writes "alg:hex" into out and resets the context for reuse. */
void digest_final(struct digest_ctx *d, char out[DIGEST_STR_MAX]);
/* The same as bytes (32 for sha256, 64 for sha512): how many. */
size_t digest_final_raw(struct digest_ctx *d, uint8_t out[64]);
/* n bytes as 2n lowercase hex digits and a NUL into out. */
void digest_hex_of(const uint8_t *md, size_t n, char *out);
void digest_release(struct digest_ctx *d);

/* One-shot sha256 of a buffer. */
int digest_buf(const void *p, size_t n, char out[DIGEST_STR_MAX], struct strata_err *e);

/* True for a well-formed digest string of a supported algorithm. */
bool digest_valid(const char *s);
/* Algorithm of a valid digest string. */
enum digest_alg digest_alg_of(const char *s);
/* The encoded part (after ':') of a valid digest string. */
const char *digest_hex(const char *s);
/* True when s is exactly 64 lowercase hex characters (a bare sha256). */
bool digest_is_hex64(const char *s, size_t n);

#endif
