/*
 * sign.h - detached signatures of a file (the transfer manifest), with
 * OpenSSL: Ed25519 (the raw 64-byte signature over the file's bytes, as
 * `openssl pkeyutl -sign -rawin` makes) or ECDSA P-256 with SHA-256 (the DER
 * signature `openssl dgst -sha256 -sign` makes).  Keys are PEM files:
 * a private key (PKCS#8 or traditional) to sign, a public key
 * (SubjectPublicKeyInfo) to verify.  Other key types are refused.
 */
#ifndef STRATA_SIGN_H
#define STRATA_SIGN_H

#include "common/err.h"

struct sign_key;

/* Load a private key (priv) or a public key (!priv) from a PEM file.
 * STRATA_EIO when it cannot be read, STRATA_EFORMAT when it is not a PEM
 * key of a supported type. */
int sign_key_load(struct sign_key **k, const char *path, int priv, struct strata_err *e);
void sign_key_free(struct sign_key *k);
/* "Ed25519" or "ECDSA P-256". */
const char *sign_key_type(const struct sign_key *k);

/* Sign the bytes of file path into sig_path (written atomically). */
int sign_file(const struct sign_key *k, const char *path, const char *sig_path, struct strata_err *e);

/* Check sig_path against the bytes of path: 0 when the signature is good,
 * STRATA_EVERIFY when it is missing or does not match (altered, or made by
 * another key), STRATA_EIO when a file cannot be read. */
int sign_verify_file(const struct sign_key *k, const char *path, const char *sig_path, struct strata_err *e);

#endif
