/*
 * ref.h - image references in skopeo's transport syntax.
 *
 *   docker-archive:PATH[:NAME:TAG | :@N]   oci:DIR[:TAG]   oci-archive:PATH[:TAG]
 *   rootfs:PATH                            PATH or "-"  (format detected by content)
 *
 * As in skopeo, a PATH after a transport prefix cannot contain ':'.
 */
#ifndef STRATA_REF_H
#define STRATA_REF_H

#include "common/err.h"

enum ref_transport { REF_AUTO, REF_DOCKER_ARCHIVE, REF_OCI, REF_OCI_ARCHIVE, REF_ROOTFS };

struct ref {
	enum ref_transport transport;
	char *path;       /* "-" is stdin/stdout */
	char *name;       /* NAME:TAG (docker-archive) or TAG (oci), or NULL */
	long index;       /* @N, or -1 */
};

/* STRATA_EUSAGE on a malformed reference. */
int ref_parse(const char *s, struct ref *r, struct strata_err *e);
void ref_release(struct ref *r);
const char *ref_transport_name(enum ref_transport t);

#endif
