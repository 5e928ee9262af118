/* ref.c - reference parsing; see ref.h. */
#include "ref.h"

#include <stdlib.h>
#include <string.h>

static const struct {
	const char *prefix;
	enum ref_transport t;
} transports[] = {
	{ "docker-archive:", REF_DOCKER_ARCHIVE },
	{ "oci-archive:", REF_OCI_ARCHIVE },
	{ "oci:", REF_OCI },
	{ "rootfs:", REF_ROOTFS },
};

const char *ref_transport_name(enum ref_transport t)
{
	switch (t) {
	case REF_DOCKER_ARCHIVE: return "docker-archive";
	case REF_OCI: return "oci";
	case REF_OCI_ARCHIVE: return "oci-archive";
	case REF_ROOTFS: return "rootfs";
	default: return "auto";
	}
}

int ref_parse(const char *s, struct ref *r, struct strata_err *e)
{
	const char *rest = s, *colon;
	size_t i;

	memset(r, 0, sizeof(*r));
	r->index = -1;
	for (i = 0; i < sizeof(transports) / sizeof(transports[0]); i++) {
		size_t n = strlen(transports[i].prefix);

		if (!strncmp(s, transports[i].prefix, n)) {
			r->transport = transports[i].t;
			rest = s + n;
			break;
		}
	}
	if (!*rest)
		return err_set(e, STRATA_EUSAGE, "reference '%s' has no path", s);
	colon = r->transport == REF_AUTO || r->transport == REF_ROOTFS ? NULL : strchr(rest, ':');
	r->path = colon ? strndup(rest, (size_t)(colon - rest)) : strdup(rest);
	if (!r->path)
		return err_nomem(e, "reference");
	if (colon) {
		const char *sel = colon + 1;

		if (!*sel || !*r->path) {
			ref_release(r);
			return err_set(e, STRATA_EUSAGE, "reference '%s': empty path or name", s);
		}
		if (sel[0] == '@') {
			char *end;

			r->index = strtol(sel + 1, &end, 10);
			if (r->transport != REF_DOCKER_ARCHIVE || end == sel + 1 || *end || r->index < 0) {
				ref_release(r);
				return err_set(e, STRATA_EUSAGE, "reference '%s': bad image index", s);
			}
		} else {
			if (r->transport == REF_DOCKER_ARCHIVE && !strchr(sel, ':')) {
				ref_release(r);
				return err_set(e, STRATA_EUSAGE,
					       "reference '%s': docker-archive names need NAME:TAG", s);
			}
			if (!(r->name = strdup(sel))) {
				ref_release(r);
				return err_nomem(e, "reference");
			}
		}
	}
	return 0;
}

void ref_release(struct ref *r)
{
	free(r->path);
	free(r->name);
	r->path = r->name = NULL;
}
