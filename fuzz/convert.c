/*
 * convert.c - fuzz target: `strata convert` (convert_run) of a whole
 * archive, and what it wrote read back.
 *
 * The input is the archive, opened through a memfd (fuzz_source_ref(): its
 * length picks the reference's prefix); its length also picks the
 * destination (oci:, oci-archive:, docker-archive:) and the layer mode
 * (keep, gzip, zstd, decompress).  The layer walker checks the entries
 * during the pass, as `strata convert` runs it (convert_run() leaves that
 * to its caller).  The destination is under a directory made once in
 * $TMPDIR (else /tmp).  Oracle beyond the sanitizers, what design.md
 * promises of every conversion:
 *   - a conversion that succeeds wrote a destination that reads back with
 *     no problem of error severity (digests, diff_ids, the layers stacked,
 *     as `strata verify` reads it);
 *   - with the layers kept, it preserved every digest: each layer and
 *     config digest of an image it wrote is one of the source's (a rootfs
 *     source's config is made, so there only the layers);
 *   - one that fails left the directory as it was: no destination, no temp
 *     file.
 * A broken promise aborts, so libFuzzer reports it.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyze/walk.h"
#include "common/fsutil.h"
#include "convert/convert.h"
#include "formats/image.h"
#include "fuzz/fuzz.h"

#define MAX_DECODED (16u << 20)  /* per blob: bombs are tested elsewhere */

static char dir[4096];

/* The names in dir: how many, and the first. */
static size_t listing(char *first, size_t n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t count = 0;

	if (!d)
		abort();
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && !count++)
			snprintf(first, n, "%s", de->d_name);
	closedir(d);
	return count;
}

/* The layer digests of s's container images, and their config digests
 * unless it is a root filesystem, each "\nDIGEST\n", into out, then a NUL. */
static void digests_of(const struct source *s, struct buf *out)
{
	struct strata_err e = STRATA_ERR_INIT;
	size_t i, j;

	for (i = 0; i < s->images.len; i++) {
		const struct image *im = s->images.v[i];

		if (im->kind != IMAGE_CONTAINER)
			continue;
		if (strcmp(s->format_name, "rootfs") && buf_printf(out, &e, "\n%s\n", im->config.digest) < 0)
			abort();
		for (j = 0; j < im->nlayers; j++)
			if (buf_printf(out, &e, "\n%s\n", im->layers[j].desc.digest) < 0)
				abort();
	}
	if (buf_add(out, "", 1, &e) < 0)
		abort();
}

/* The digests (digests_of()) of the source at ref, read without a walk. */
static void source_digests(const char *ref, struct buf *out)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct diag d = DIAG_INIT;
	struct load_opts lo = { 0 };
	struct source *s = NULL;

	lo.limits.max_size = MAX_DECODED;
	if (source_open(&s, ref, &lo, &d, &e) < 0)
		abort();  /* it was converted */
	digests_of(s, out);
	source_free(s);
	diag_release(&d);
}

/* Read ref back, as `strata verify` reads a source; when had (the source's
 * digests_of()) is given, each digest of what was read must be in it. */
static void verify(const char *ref, const char *had)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct diag d = DIAG_INIT;
	struct load_opts lo = { 0 };
	struct layer_hooks hooks;
	struct walker w;
	struct source *s = NULL;
	struct buf got = BUF_INIT(64u << 20);
	const char *p, *nl;
	size_t i;

	walker_init(&w, &d);
	walker_hooks(&w, &hooks);
	lo.decode = true;
	lo.hooks = &hooks;
	if (source_open(&s, ref, &lo, &d, &e) < 0 || diag_exit_code(&d) != 0) {
		fprintf(stderr, "convert wrote %s, which does not verify: %s\n", ref, e.code ? e.msg : "");
		for (i = 0; i < d.len; i++)
			fprintf(stderr, "  %s: %s\n", d.v[i].member, d.v[i].msg);
		abort();
	}
	if (had) {
		digests_of(s, &got);
		for (p = got.data; p && (nl = strchr(p + 1, '\n')); p = nl + 1) {
			char one[DIGEST_STR_MAX + 2];

			snprintf(one, sizeof(one), "%.*s", (int)(nl - p + 1), p);
			if (!strstr(had, one)) {
				fprintf(stderr, "convert --keep wrote %s, whose digest %.*s is not the source's\n", ref,
					(int)(nl - p - 1), p + 1);
				abort();
			}
		}
	}
	buf_release(&got);
	source_free(s);
	diag_release(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const dsts[3] = { "oci:%s/out", "oci-archive:%s/out.tar", "docker-archive:%s/out.tar" };
	static const enum layer_mode modes[4] = { LAYERS_KEEP, LAYERS_GZIP, LAYERS_ZSTD, LAYERS_DECOMPRESS };
	struct strata_err e = STRATA_ERR_INIT;
	struct diag d = DIAG_INIT;
	struct convert_opts o;
	struct convert_result res;
	struct layer_hooks hooks;
	struct walker w;
	const char *src = fuzz_source_ref(data, size);
	char dst[4200], left[256];
	int r;

	if (!dir[0])
		fuzz_temp_dir(dir, sizeof(dir), "convert");
	snprintf(dst, sizeof(dst), dsts[size / 8 % 3], dir);
	memset(&o, 0, sizeof(o));
	o.src = src;
	o.dst = dst;
	o.layers = modes[size / 24 % 4];
	o.level = o.layers == LAYERS_GZIP || o.layers == LAYERS_ZSTD ? 1 : 0;
	o.threads = 1;
	o.limits.max_size = MAX_DECODED;
	walker_init(&w, &d);
	walker_hooks(&w, &hooks);
	o.hooks = &hooks;
	memset(&res, 0, sizeof(res));
	r = convert_run(&o, &res, &d, &e);
	diag_release(&d);
	if (r == 0) {
		struct buf had = BUF_INIT(64u << 20);

		if (o.layers == LAYERS_KEEP)
			source_digests(src, &had);
		verify(dst, o.layers == LAYERS_KEEP ? had.data : NULL);
		buf_release(&had);
	} else if (listing(left, sizeof(left))) {
		fprintf(stderr, "convert to %s failed (%s) and left '%s' behind\n", dst, e.msg, left);
		abort();
	}
	/* empty the directory for the next input */
	snprintf(dst, sizeof(dst), "%s/out", dir);
	remove_tree(dst, &e);
	snprintf(dst, sizeof(dst), "%s/out.tar", dir);
	unlink(dst);
	if (listing(left, sizeof(left))) {
		fprintf(stderr, "'%s' left in %s after a conversion\n", left, dir);
		abort();
	}
	return 0;
}
