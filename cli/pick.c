/*
 * pick.c - the images of a source a command reads: --image (@N, NAME:TAG or
 * TAG, as a reference suffix says it) and --platform (os/arch[/variant]),
 * for the commands that look at images after loading them (analyze, diff).
 * flatten and unpack choose theirs in convert/layers.c the same way.
 */
#include <stdlib.h>

#include "cli/cli.h"
#include "convert/convert.h"

int cli_pick(struct source *s, const char *image, const char *platform, const struct image ***out, size_t *n,
	     struct strata_err *e)
{
	struct platform want;
	char pbuf[128];
	size_t i;
	int r;

	*out = NULL;
	*n = 0;
	if (image && (r = source_select(s, image, e)) < 0)
		return r;
	if (platform && (r = platform_parse(platform, pbuf, sizeof(pbuf), &want, e)) < 0)
		return r;
	if (!(*out = calloc(s->images.len + 1, sizeof(**out))))
		return err_nomem(e, "images");
	for (i = 0; i < s->images.len; i++) {
		const struct image *im = s->images.v[i];

		/* attestations and artifacts have no filesystem */
		if (im->kind == IMAGE_CONTAINER && (!platform || platform_match(&want, &im->platform)))
			(*out)[(*n)++] = im;
	}
	if (!*n && platform)
		return err_set(e, STRATA_EUSAGE, "no image for platform %s here", platform);
	return 0;
}
