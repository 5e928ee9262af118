/*
 * json.c - fuzz target: the JSON documents of an image (manifest.json,
 * index.json, oci-layout, OCI manifests, indexes and configs) through the
 * strict parser, descriptor_parse(), image_read_config(), both format
 * loaders, the checks and the analysis reports.
 *
 * Digests are a barrier a fuzzer cannot cross, so the catalog is made up:
 * the input is split at NUL bytes (never valid inside a document) into
 *
 *   manifest.json NUL index.json NUL oci-layout NUL blob-a NUL ... NUL blob-e
 *
 * and blob k is the member blobs/sha256/<64 times 'a'+k> whose computed
 * digest is that name, so documents can refer to each other by those
 * digests (fuzz/seeds.py rewrites real fixtures that way).  An empty part is
 * a member that is absent.  Four fixed layer members stand beside them:
 * 1111... (a plain tar), 2222... (gzip, diff_id 3333...), 4444... (broken
 * gzip) and 5555... (not a tar), with layer.tar a symlink to 1111....
 */
#include <stdlib.h>
#include <string.h>

#include "analyze/analyze.h"
#include "formats/image.h"
#include "formats/json.h"
#include "fuzz/fuzz.h"

#define NPARTS 8

static const char *const doc_names[3] = { "manifest.json", "index.json", "oci-layout" };

static void hex_digest(char out[DIGEST_STR_MAX], char c)
{
	memcpy(out, "sha256:", 7);
	memset(out + 7, c, 64);
	out[71] = '\0';
}

static struct member *add(struct source *s, const char *name, enum member_kind kind, uint64_t size)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct member *m = catalog_add(&s->cat, name, &e);

	if (!m)
		abort();
	m->kind = kind;
	m->size = size;
	return m;
}

static void add_layer(struct source *s, char c, enum compression comp, char diff, enum tar_state tar,
		      const char *error)
{
	char name[DIGEST_STR_MAX + 8], dg[DIGEST_STR_MAX];
	struct member *m;

	hex_digest(dg, c);
	m = add(s, blob_path(dg, name), MEM_FILE, 1024);
	memcpy(m->digest, dg, sizeof(dg));
	m->comp = comp;
	m->tar = tar;
	m->decoded = !error;
	hex_digest(m->diff_id, diff);
	m->tar_size = 2048;
	if (error && !(m->blob_error = strdup(error)))
		abort();
}

static struct source *make_source(const uint8_t *data, size_t size)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct source *s = calloc(1, sizeof(*s));
	size_t start = 0, part = 0, i;
	char name[DIGEST_STR_MAX + 8], dg[DIGEST_STR_MAX];
	struct member *m;

	if (!s || !(s->ref.path = strdup("fuzz")))
		abort();
	s->ref.index = -1;
	for (i = 0; i <= size && part < NPARTS; i++) {
		size_t n;

		if (i < size && data[i])
			continue;
		n = i - start;
		if (n) {
			if (part < 3) {
				m = add(s, doc_names[part], MEM_FILE, n);
				hex_digest(m->digest, (char)('6' + part));
			} else {
				hex_digest(dg, (char)('a' + part - 3));
				m = add(s, blob_path(dg, name), MEM_FILE, n);
				memcpy(m->digest, dg, sizeof(dg));
			}
			memcpy(m->diff_id, m->digest, sizeof(m->diff_id));
			m->decoded = true;
			m->tar_size = n;
			if (n > JSON_MAX_DOC) {
				m->doc_too_large = true;
			} else {
				buf_init(&m->doc, JSON_MAX_DOC);
				if (buf_add(&m->doc, data + start, n, &e) < 0)
					abort();
				m->doc_kept = true;
			}
		}
		start = i + 1;
		part++;
	}
	add_layer(s, '1', COMP_NONE, '1', TARST_OK, NULL);
	add_layer(s, '2', COMP_GZIP, '3', TARST_OK, NULL);
	add_layer(s, '4', COMP_GZIP, '4', TARST_BAD, "gzip: unexpected end of stream (truncated)");
	add_layer(s, '5', COMP_NONE, '5', TARST_NOT_TAR, NULL);
	m = add(s, "layer.tar", MEM_SYMLINK, 0);
	hex_digest(dg, '1');
	if (!(m->link = strdup(blob_path(dg, name))))
		abort();
	return s;
}

static void report(struct source *s)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct image_report *reps = calloc(s->images.len + 1, sizeof(*reps));
	struct buf out = BUF_INIT(64u << 20);
	cJSON *doc;
	size_t i, n = 0;

	if (!reps)
		abort();
	for (i = 0; i < s->images.len; i++) {
		if (s->images.v[i]->kind != IMAGE_CONTAINER)
			continue;
		if (analyze_image(s->images.v[i], &reps[n++], &e) < 0)
			goto out;
	}
	analyze_text(&out, s, reps, n, NULL, &e);
	buf_release(&out);
	if ((doc = analyze_json(s, reps, n, 0, NULL)))
		cJSON_Delete(doc);
out:
	for (i = 0; i < n; i++)
		image_report_release(&reps[i]);
	free(reps);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct format_ops *fmts[2] = { &docker_archive_format, &oci_layout_format };
	size_t i;

	for (i = 0; i < 2; i++) {
		struct strata_err e = STRATA_ERR_INIT;
		struct diag d = DIAG_INIT;
		struct source *s = make_source(data, size);

		fmts[i]->bid(&s->cat);
		s->fmt = fmts[i];
		s->format_name = fmts[i]->name;
		if (fmts[i]->load(s, &d, &e) == 0)
			report(s);
		diag_exit_code(&d);
		diag_release(&d);
		source_free(s);
	}
	return 0;
}
