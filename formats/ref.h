/*
 * ref.h - image references in skopeo's transport syntax.
 *
 *   docker-archive:PATH[:NAME:TAG | :@N]   oci:DIR[:TAG]   oci-archive:PATH[:TAG]
 *   rootfs:PATH                            PATH or "-"  (format detected by content)
 *   registry:DIR[/NAME[:TAG|@DIGEST]]      a registry's storage tree (formats/regtree.h)
 *   docker-root:DIR[:NAME:TAG | :@ID]      containers-storage:DIR[:NAME:TAG | :@ID]
 *   containers-storage:[DRIVER@ROOT+RUNROOT]NAME:TAG   (skopeo's spelling)
 *
 * As in skopeo, a PATH after a transport prefix cannot contain ':'.
 */
#ifndef STRATA_REF_H
#define STRATA_REF_H

#include <stdbool.h>
#include <stddef.h>
#include "common/err.h"

enum ref_transport { REF_AUTO, REF_DOCKER_ARCHIVE, REF_OCI, REF_OCI_ARCHIVE, REF_ROOTFS, REF_REGISTRY, REF_DOCKER_ROOT, REF_CSTORAGE };

struct ref {
	enum ref_transport transport;
	char *path;       /* "-" is stdin/stdout */
	char *name;       /* NAME:TAG (docker-archive) or TAG (oci), NAME[:TAG|@DIGEST] (registry), or NULL */
	long index;       /* @N, or -1 */
	char *id;         /* docker-root:, containers-storage: @ID (a prefix of the image ID), or NULL */
	char *driver;     /* containers-storage:[DRIVER@ROOT+RUNROOT]: the driver, or NULL */
};

/*
 * STRATA_EUSAGE on a malformed reference.  A string that starts with a
 * transport-like word ([a-z][a-z0-9-]*:) that is not one of ours is a usage
 * error ("unknown transport", or what to use instead for skopeo's docker:,
 * docker-daemon:, containers-storage:, dir:), unless the whole string is an
 * existing path: "./a:b.tar" or an existing "a:b.tar" are files.
 */
int ref_parse(const char *s, struct ref *r, struct strata_err *e);
void ref_release(struct ref *r);
/* The length of a transport-like prefix "word:" at the start of s, or 0. */
size_t ref_transport_word(const char *s);
const char *ref_transport_name(enum ref_transport t);

/*
 * Names written into an image (--tag, a destination's NAME:TAG), checked
 * against distribution's reference grammar (distribution/reference):
 * repository = [domain "/"] path-component ("/" path-component)*, where a
 * path-component is lowercase [a-z0-9]+ joined by ".", "_", "__" or "-"s and
 * the domain is host[:port] (a first component with a dot or a port,
 * "localhost", or capitals, as docker decides), 255 bytes at most; tag =
 * [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
 */
bool ref_tag_valid(const char *tag);
bool ref_repo_valid(const char *repo);
/* s is NAME:TAG, or a bare TAG (OCI ref.name); STRATA_EUSAGE naming s when not. */
int ref_check_name(const char *s, struct strata_err *e);

#endif
