/*
 * rootfs.c - a plain root filesystem tarball (rootfs.tar, .tar.gz, .tar.xz,
 * .tar.zst) seen as a one-layer image with no config, the way
 * `FROM scratch` + `ADD rootfs.tar.xz /` sees it.  The scan already hashed
 * the archive (digest) and its decoded tar (diff_id) and walked its entries.
 */
#include <stdlib.h>
#include <string.h>

#include "formats/image.h"

static int rootfs_bid(const struct catalog *c)
{
	return c->rootfs ? 100 : 0;
}

static const char *rootfs_media_type(enum compression c)
{
	switch (c) {
	case COMP_NONE: return MT_OCI_LAYER;
	case COMP_GZIP: return MT_OCI_LAYER "+gzip";
	case COMP_ZSTD: return MT_OCI_LAYER "+zstd";
	/* xz and bzip2 are not OCI layer encodings: convert decodes them. */
	case COMP_XZ: return "application/x-xz";
	default: return "application/x-bzip2";
	}
}

static int rootfs_load(struct source *s, struct diag *d, struct strata_err *e)
{
	struct member *m = s->cat.rootfs;
	struct image *im;

	(void)d;
	if (!(im = image_new(&s->images, "rootfs", e)))
		return -e->code;
	if (!(im->layers = calloc(1, sizeof(*im->layers))))
		return err_nomem(e, "layers");
	im->nlayers = 1;
	im->layers[0].m = m;
	im->layers[0].path = m->name;
	im->layers[0].desc.size = (int64_t)m->size;
	memcpy(im->layers[0].desc.digest, m->digest, DIGEST_STR_MAX);
	im->layers[0].desc.media_type = rootfs_media_type(m->comp);
	im->layers[0].diff_id = m->diff_id;
	m->refs++;
	return 0;
}

const struct format_ops rootfs_format = { "rootfs", rootfs_bid, rootfs_load };
