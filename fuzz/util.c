/* util.c - helpers the fuzz targets share; see fuzz.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "analyze/analyze.h"
#include "analyze/diff.h"
#include "analyze/sbom.h"
#include "analyze/walk.h"
#include "fuzz/fuzz.h"

#define MAX_DECODED (16u << 20)  /* per blob: bombs are tested elsewhere */

struct chunked {
	struct stream s;
	const uint8_t *p;
	size_t n, off, chunk;
};

static int chunked_next(struct stream *s, const uint8_t **p, size_t *n, struct strata_err *e)
{
	struct chunked *c = (struct chunked *)s;
	size_t k = c->n - c->off;

	(void)e;
	if (c->chunk && k > c->chunk)
		k = c->chunk;
	*p = c->p + c->off;
	*n = k;
	c->off += k;
	return 0;
}

static void chunked_free(struct stream *s)
{
	free(s);
}

static const struct stream_ops chunked_ops = { "fuzz-chunked", chunked_next, chunked_free };

struct stream *fuzz_chunked_new(const uint8_t *p, size_t n, size_t chunk)
{
	struct chunked *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->s.ops = &chunked_ops;
	c->p = p;
	c->n = n;
	c->chunk = chunk;
	return &c->s;
}

void fuzz_temp_dir(char *buf, size_t size, const char *name)
{
	const char *tmp = getenv("TMPDIR");

	if ((size_t)snprintf(buf, size, "%s/strata-fuzz-%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", name) >= size ||
	    !mkdtemp(buf))
		abort();
}

size_t fuzz_chunk_for(size_t n)
{
	static const size_t sizes[] = { 0, 1, 7, 511, 4096 };

	return sizes[n % (sizeof(sizes) / sizeof(sizes[0]))];
}

const char *fuzz_source_ref(const uint8_t *data, size_t size)
{
	static const char *const prefix[8] = { "", "", "", "", "", "docker-archive:", "oci-archive:", "rootfs:" };
	static int memfd = -1;
	static char ref[64];
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
	return ref;
}

/* ---- the reports of a source (fuzz_report) ---- */

static int to_buf(void *ctx, const char *p, size_t n, struct strata_err *e)
{
	return buf_add(ctx, p, n, e) < 0 ? -e->code : 0;
}

/* out holds a streamed document (and its newline): it must parse, and,
 * when exact, printed by cJSON again (on one line when line) give the same
 * bytes.  Outputs past the buffer's cap are not checked. */
static void same_as_cjson(struct buf *out, bool line, bool exact, const char *what)
{
	cJSON *doc;
	char *again;

	if (!out->len || out->data[out->len - 1] != '\n')
		return;  /* cut short: the write failed (the cap) */
	out->data[out->len - 1] = 0;
	if (!(doc = cJSON_Parse(out->data))) {
		fprintf(stderr, "%s: not JSON\n", what);
		abort();
	}
	again = !exact ? NULL : line ? cJSON_PrintUnformatted(doc) : cJSON_Print(doc);
	if (again && strcmp(again, out->data)) {
		fprintf(stderr, "%s: not what cJSON prints\n", what);
		abort();
	}
	free(again);
	cJSON_Delete(doc);
}

/* The SBOMs of a container image, in both formats. */
static void sboms(const struct image *im, bool line)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct buf out = BUF_INIT(64u << 20);
	struct sbom sb;
	int f;

	if (sbom_build(im, NULL, &sb, &e) < 0)
		return;
	for (f = SBOM_CYCLONEDX; f <= SBOM_SPDX; f++) {
		out.len = 0;
		if (sbom_write(&sb, (enum sbom_format)f, "2026-01-01T00:00:00Z", line, to_buf, &out, &e) == 0)
			same_as_cjson(&out, line, true, f == SBOM_SPDX ? "spdx" : "cyclonedx");
		e = (struct strata_err)STRATA_ERR_INIT;
	}
	buf_release(&out);
	sbom_release(&sb);
}

/* The HTML report, and the JSON report with every layer's file list,
 * streamed as the CLI writes them. */
static void json_report(const struct source *s, const struct image_report *reps, size_t n, bool line)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct buf out = BUF_INIT(64u << 20);
	cJSON *doc = analyze_json(s, reps, n, REPORT_STREAMED, NULL);
	char *txt;

	if (doc)
		analyze_html(doc, reps, n, to_buf, &out, &e);
	cJSON_Delete(doc);
	out.len = 0;
	e = (struct strata_err)STRATA_ERR_INIT;
	doc = analyze_json(s, reps, n, REPORT_FILES | REPORT_STREAMED, NULL);
	txt = doc ? line ? cJSON_PrintUnformatted(doc) : cJSON_Print(doc) : NULL;
	cJSON_Delete(doc);
	if (txt && analyze_json_write(txt, line, reps, n, to_buf, &out, &e) == 0 && buf_add(&out, "\n", 1, &e) == 0)
		same_as_cjson(&out, line, line, "analyze json");  /* the file lists are unformatted in either print */
	free(txt);
	out.len = 0;
	e = (struct strata_err)STRATA_ERR_INIT;
	analyze_files_text(reps, n, to_buf, &out, &e);
	buf_release(&out);
}

void fuzz_report(struct source *s, bool line)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct image_report *reps = calloc(s->images.len + 1, sizeof(*reps));
	struct buf out = BUF_INIT(64u << 20);
	struct image_diff df;
	size_t i, n = 0;

	if (!reps)
		return;
	for (i = 0; i < s->images.len; i++) {
		if (s->images.v[i]->kind != IMAGE_CONTAINER)
			continue;
		if (analyze_image(s->images.v[i], &reps[n++], &e) < 0)
			goto out;
		sboms(s->images.v[i], line);
	}
	analyze_text(&out, s, reps, n, NULL, &e);
	buf_release(&out);
	json_report(s, reps, n, line);
	if (s->images.len >= 2) {
		memset(&df, 0, sizeof(df));
		if (diff_images(s->images.v[0], s->images.v[1], &df, &e) == 0) {
			diff_text("a", "b", &df, to_buf, &out, &e);
			out.len = 0;
			e = (struct strata_err)STRATA_ERR_INIT;
			if (diff_json_write("a", "b", &df, line, to_buf, &out, &e) == 0)
				same_as_cjson(&out, line, true, "diff json");
			buf_release(&out);
		}
		diff_release(&df);
	}
out:
	for (i = 0; i < n; i++)
		image_report_release(&reps[i]);
	free(reps);
}

void fuzz_open_report(const char *ref, bool line)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct diag d = DIAG_INIT;
	struct load_opts lo = { 0 };
	struct layer_hooks hooks;
	struct walker w;
	struct source *s = NULL;

	walker_init(&w, &d);
	w.collect = true;
	w.risks = true;  /* the content scanner sees what the walker sees */
	w.content = true;
	w.sbom = true;
	walker_hooks(&w, &hooks);
	lo.decode = true;
	lo.hooks = &hooks;
	lo.limits.max_size = MAX_DECODED;
	if (source_open(&s, ref, &lo, &d, &e) == 0) {
		diag_exit_code(&d);
		fuzz_report(s, line);
		source_free(s);
	}
	diag_release(&d);
}
