/*
 * archive.c - fuzz target: the outer archive readers, as `strata verify`
 * and `strata analyze` run them.
 *
 * The input is the whole archive, put in a memfd and opened through
 * /dev/fd/N, so source_open() takes the same path as for a file: one scan
 * (decode on, the layer walker collecting entries and content digests),
 * bidding between docker-archive, oci-archive and rootfs, loading, checks;
 * then every container image is analyzed and rendered (text, JSON, HTML),
 * and the first two images are diffed.  The input length picks the
 * reference: most lengths (every tar's) are detected by content, the rest
 * force docker-archive:, oci-archive: or rootfs:.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "analyze/analyze.h"
#include "analyze/diff.h"
#include "analyze/walk.h"
#include "formats/image.h"
#include "fuzz/fuzz.h"

#define MAX_DECODED (16u << 20)  /* per blob: bombs are tested elsewhere */

static int memfd = -1;

static void report(struct source *s)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct image_report *reps = calloc(s->images.len + 1, sizeof(*reps));
	struct buf out = BUF_INIT(64u << 20);
	struct image_diff df;
	cJSON *doc;
	size_t i, n = 0;

	if (!reps)
		return;
	for (i = 0; i < s->images.len; i++) {
		if (s->images.v[i]->kind != IMAGE_CONTAINER)
			continue;
		if (analyze_image(s->images.v[i], &reps[n++], &e) < 0)
			goto out;
	}
	analyze_text(&out, s, reps, n, NULL, &e);
	buf_release(&out);
	if ((doc = analyze_json(s, reps, n, true, NULL))) {
		analyze_html(&out, doc, reps, n, &e);
		buf_release(&out);
		cJSON_Delete(doc);
	}
	if (s->images.len >= 2) {
		memset(&df, 0, sizeof(df));
		if (diff_images(s->images.v[0], s->images.v[1], &df, &e) == 0) {
			diff_text(&out, "a", "b", &df, &e);
			buf_release(&out);
			cJSON_Delete(diff_json("a", "b", &df));
		}
		diff_release(&df);
	}
out:
	for (i = 0; i < n; i++)
		image_report_release(&reps[i]);
	free(reps);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const prefix[8] = { "", "", "", "", "", "docker-archive:", "oci-archive:", "rootfs:" };
	struct strata_err e = STRATA_ERR_INIT;
	struct diag d = DIAG_INIT;
	struct load_opts lo = { 0 };
	struct layer_hooks hooks;
	struct walker w;
	struct source *s = NULL;
	char ref[64];
	size_t off = 0;

	if (memfd < 0 && (memfd = memfd_create("strata-fuzz", MFD_CLOEXEC)) < 0)
		abort();
	if (ftruncate(memfd, 0) < 0)
		abort();
	while (off < size) {
		ssize_t k = pwrite(memfd, data + off, size - off, (off_t)off);

		if (k <= 0)
			abort();
		off += (size_t)k;
	}
	snprintf(ref, sizeof(ref), "%s/dev/fd/%d", prefix[size % 8], memfd);
	walker_init(&w, &d);
	w.collect = true;
	w.risks = true;  /* the content scanner sees what the walker sees */
	w.content = true;
	walker_hooks(&w, &hooks);
	lo.decode = true;
	lo.hooks = &hooks;
	lo.limits.max_size = MAX_DECODED;
	if (source_open(&s, ref, &lo, &d, &e) == 0) {
		diag_exit_code(&d);
		report(s);
		source_free(s);
	}
	diag_release(&d);
	return 0;
}
