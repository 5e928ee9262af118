/*
 * sign.c - detached Ed25519 / ECDSA P-256 signatures over a file; see sign.h.
 */
#include "common/sign.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/fsutil.h"

#define SIGNED_MAX (256u << 20)  /* the transfer manifest is capped at this too */
#define SIG_MAX 1024

struct sign_key {
	EVP_PKEY *pkey;
	int ed25519;
};

int sign_key_load(struct sign_key **out, const char *path, int priv, struct strata_err *e)
{
	struct sign_key *k;
	FILE *f = fopen(path, "rb");
	EVP_PKEY *p;
	char group[64] = "";
	size_t glen = 0;

	*out = NULL;
	if (!f)
		return err_sys(e, errno, "cannot read key '%s'", path);
	p = priv ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (!p)
		return err_set(e, STRATA_EFORMAT, "'%s' is not a PEM %s key", path, priv ? "private" : "public");
	if (EVP_PKEY_is_a(p, "ED25519")) {
		/* fine */
	} else if (!EVP_PKEY_is_a(p, "EC") || !EVP_PKEY_get_group_name(p, group, sizeof(group), &glen) ||
		   (strcmp(group, "prime256v1") && strcmp(group, "P-256"))) {
		int r = err_set(e, STRATA_EFORMAT, "'%s' is a %s%s%s key: only Ed25519 and ECDSA P-256 keys sign transfer manifests",
				path, EVP_PKEY_get0_type_name(p) ? EVP_PKEY_get0_type_name(p) : "unknown", group[0] ? " " : "",
				group);

		EVP_PKEY_free(p);
		return r;
	}
	if (!(k = calloc(1, sizeof(*k)))) {
		EVP_PKEY_free(p);
		return err_nomem(e, "key");
	}
	k->pkey = p;
	k->ed25519 = EVP_PKEY_is_a(p, "ED25519");
	*out = k;
	return 0;
}

void sign_key_free(struct sign_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

const char *sign_key_type(const struct sign_key *k)
{
	return k->ed25519 ? "Ed25519" : "ECDSA P-256";
}

/* A whole (small) file into memory. */
static int slurp(const char *path, size_t max, unsigned char **p, size_t *n, int missing_code, struct strata_err *e)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL, *nb;
	size_t len = 0, cap = 0, got;

	*p = NULL;
	*n = 0;
	if (!f)
		return errno == ENOENT ? err_set(e, missing_code, "'%s' is not there", path)
				       : err_sys(e, errno, "cannot read '%s'", path);
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 65536;
			if (cap > max + 1)
				cap = max + 1;
			if (len == cap || !(nb = realloc(buf, cap))) {
				fclose(f);
				free(buf);
				return len == cap ? err_set(e, STRATA_EFORMAT, "'%s' is over %zu bytes", path, max)
						  : err_nomem(e, "file");
			}
			buf = nb;
		}
		if ((got = fread(buf + len, 1, cap - len, f)) == 0)
			break;
		len += got;
	}
	if (ferror(f)) {
		fclose(f);
		free(buf);
		return err_sys(e, errno ? errno : EIO, "cannot read '%s'", path);
	}
	fclose(f);
	*p = buf;
	*n = len;
	return 0;
}

int sign_file(const struct sign_key *k, const char *path, const char *sig_path, struct strata_err *e)
{
	unsigned char *data = NULL, sig[SIG_MAX];
	size_t n, slen = sizeof(sig);
	EVP_MD_CTX *ctx = NULL;
	struct atomic_file af;
	int r;

	if ((r = slurp(path, SIGNED_MAX, &data, &n, STRATA_EIO, e)) < 0)
		return r;
	if (!(ctx = EVP_MD_CTX_new()) ||
	    EVP_DigestSignInit(ctx, NULL, k->ed25519 ? NULL : EVP_sha256(), NULL, k->pkey) != 1 ||
	    EVP_DigestSign(ctx, sig, &slen, data, n) != 1)
		r = err_set(e, STRATA_EIO, "signing '%s' with the %s key failed", path, sign_key_type(k));
	EVP_MD_CTX_free(ctx);
	free(data);
	if (r < 0)
		return r;
	if ((r = atomic_open(&af, sig_path, e)) < 0)
		return r;
	if ((r = write_all(af.fd, sig, slen, sig_path, e)) < 0) {
		atomic_abort(&af);
		return r;
	}
	return atomic_commit(&af, e);
}

int sign_verify_file(const struct sign_key *k, const char *path, const char *sig_path, struct strata_err *e)
{
	unsigned char *data = NULL, *sig = NULL;
	size_t n, slen;
	EVP_MD_CTX *ctx = NULL;
	int r, ok;

	if ((r = slurp(sig_path, SIG_MAX, &sig, &slen, STRATA_EVERIFY, e)) < 0) {
		if (e->code == STRATA_EVERIFY)
			return err_set(e, STRATA_EVERIFY, "not signed: no '%s' (convert --sign writes it)", sig_path);
		return r;
	}
	if ((r = slurp(path, SIGNED_MAX, &data, &n, STRATA_EVERIFY, e)) < 0) {
		free(sig);
		return r;
	}
	if (!(ctx = EVP_MD_CTX_new()) ||
	    EVP_DigestVerifyInit(ctx, NULL, k->ed25519 ? NULL : EVP_sha256(), NULL, k->pkey) != 1) {
		r = err_set(e, STRATA_EIO, "cannot check a %s signature", sign_key_type(k));
	} else {
		ok = EVP_DigestVerify(ctx, sig, slen, data, n);
		if (ok != 1)
			r = err_set(e, STRATA_EVERIFY,
				    "the signature '%s' does not match (the file was altered, or signed by another key than the %s key trusted)",
				    sig_path, sign_key_type(k));
	}
	EVP_MD_CTX_free(ctx);
	free(data);
	free(sig);
	return r;
}
