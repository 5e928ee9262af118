/* cstorage.c - containers-storage (podman, buildah, CRI-O) as a store; see store.h. */
#include "formats/store.h"

int cstorage_load(struct store *st, struct strata_err *e)
{
	return err_set(e, STRATA_EFORMAT, "'%s': containers-storage is not read yet", st->root);
}
