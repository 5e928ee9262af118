/*
 * layer.c - fuzz target: one layer through the tar reader and the layer
 * walker, as the scan runs them on every layer blob.
 *
 * input -> blocks (size from the input length) -> decode (sniffed, 16 MiB
 * cap) -> tar_open/tar_next -> walker hooks (begin, entry per entry, end;
 * collecting entries, package databases and content digests).  The walked
 * layer is then analyzed as an image of two layers (the same layer twice,
 * so overwrites and whiteouts meet a lower layer) and rendered as text.
 */
#include <stdlib.h>
#include <string.h>

#include "analyze/analyze.h"
#include "analyze/walk.h"
#include "common/tar.h"
#include "fuzz/fuzz.h"

static void analyze_twice(struct member *m)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct layer layers[2];
	struct image im;
	struct image_report rep;
	struct buf out = BUF_INIT(64u << 20);

	memset(&im, 0, sizeof(im));
	memset(layers, 0, sizeof(layers));
	layers[0].m = layers[1].m = m;
	layers[0].desc.size = layers[1].desc.size = (int64_t)m->size;
	im.layers = layers;
	im.nlayers = 2;
	im.where = "fuzz";
	if (analyze_image(&im, &rep, &e) == 0) {
		struct source s;

		memset(&s, 0, sizeof(s));
		s.format_name = "fuzz";
		s.ref.path = "fuzz";
		analyze_text(&out, &s, &rep, 1, NULL, &e);
		buf_release(&out);
	}
	image_report_release(&rep);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct diag d = DIAG_INIT;
	struct layer_hooks h;
	struct walker w;
	struct member m;
	struct stream *src, *dec;
	struct tar *t = NULL;
	struct tar_entry *ent;
	void *walk;
	int r;

	memset(&m, 0, sizeof(m));
	m.name = "layer.tar";
	m.size = size;
	walker_init(&w, &d);
	w.collect = true;
	w.risks = true;  /* the content scanner sees what the walker sees */
	w.content = true;
	walker_hooks(&w, &h);
	if (!(src = fuzz_chunked_new(data, size, fuzz_chunk_for(size))) || !(dec = stream_decode_new(src, &e)))
		abort();
	stream_decode_limit(dec, 16u << 20, 0);
	if (tar_open(&t, dec, NULL, &e) < 0)
		abort();
	if ((r = tar_next(t, &ent, &e)) >= 0) {
		walk = h.begin(h.ctx, &m);
		while (r == 1) {
			if (walk && (r = h.entry(walk, t, ent, &e)) < 0)
				break;
			r = tar_next(t, &ent, &e);
		}
		tar_missing_end(t);
		tar_offset(t);
		if (walk)
			h.end(walk, &m, r < 0 ? r : 0, &e, false, &d);
		if (m.walk)
			analyze_twice(&m);
	}
	if (m.walk)
		h.free_result(m.walk);
	tar_free(t);
	stream_free(dec);
	stream_free(src);
	diag_release(&d);
	return 0;
}
