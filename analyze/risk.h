/*
 * risk.h - risky content: what a layer ships that an auditor must see
 * (private keys, cloud credentials, credential files, weak password
 * entries, file capabilities, setuid/setgid/world-writable entries).
 *
 * The walker (walk.h) hands each regular file's first RISK_SCAN_MAX bytes
 * to risk_scan() while the layer streams past (no second read); what it
 * finds is kept on the layer (layer_files.findings).  The analysis
 * (analyze.h) stacks the layers and says, for each finding, whether a layer
 * above removed or replaced the path: the bytes are still shipped in the
 * lower layer's blob either way.
 *
 * Rule ids are stable ("CATEGORY.NAME"); --fail-on takes an id or a
 * category ("secrets=0") or "findings" for all of them.
 */
#ifndef STRATA_RISK_H
#define STRATA_RISK_H

#include <stddef.h>
#include <stdint.h>
#include "analyze/files.h"
#include "common/err.h"

#define RISK_SCAN_MAX (1u << 20)  /* bytes of each regular file's content scanned */
#define RISK_LAYER_MAX 1000       /* findings kept per layer (the rest are counted) */

enum risk_rule {
	RISK_PRIVATE_KEY,     /* secrets.private-key: PEM or OpenSSH private key header */
	RISK_AWS_KEY,         /* secrets.aws-access-key-id: AKIA/ASIA + 16 [A-Z0-9] */
	RISK_GCP_KEY,         /* secrets.gcp-service-account-key: "type": "service_account" with "private_key" */
	RISK_ENV_FILE,        /* secrets.env-file: .env / .env.* with a KEY=VALUE line */
	RISK_NETRC,           /* secrets.netrc: .netrc / _netrc with a password */
	RISK_GIT_CREDENTIALS, /* secrets.git-credentials: .git-credentials with user:password@ */
	RISK_DOCKER_AUTH,     /* secrets.docker-auth: .docker/config.json with "auths" holding "auth" */
	RISK_SHADOW_EMPTY,    /* shadow.empty-password: etc/shadow entry with an empty password field */
	RISK_SHADOW_WEAK,     /* shadow.weak-password: etc/shadow entry whose password is no $-crypt hash, not locked */
	RISK_CAPABILITY,      /* perms.capability: a security.capability xattr */
	RISK_SETUID,          /* perms.setuid */
	RISK_SETGID,          /* perms.setgid */
	RISK_WORLD_WRITABLE,  /* perms.world-writable (not sticky directories, not symlinks) */
	RISK_COUNT
};

extern const char *const risk_ids[RISK_COUNT];

struct finding {
	uint8_t rule;         /* enum risk_rule */
	size_t entry;         /* the entry's index in its layer_files (its path: layer_files_name) */
	char *detail;         /* owned: what matched, secrets masked ("AKIA****************") */
};

/* Scan the regular file entry last added to lf (path: clean, relative):
 * data holds its first n bytes, at most RISK_SCAN_MAX of it. */
int risk_scan(struct layer_files *lf, const char *path, const uint8_t *data, size_t n, struct strata_err *e);
/* Record a finding on the last entry added to lf. */
int risk_add(struct layer_files *lf, enum risk_rule rule, const char *detail, struct strata_err *e);
void risk_release(struct layer_files *lf);

/* The rule id or category (the part before '.', or "findings": all) that
 * name is; returns a bit mask of rules, 0 when name is none. */
uint32_t risk_match(const char *name);

#endif
