/*
 * decode.c - fuzz target: the decompression stage (gzip multi-member, zstd
 * with skippable frames, xz, bzip2, or none, sniffed from the bytes) fed in
 * blocks whose size comes from the input length, read back in pieces of
 * varying size, with a 1 MiB output limit, through a digest tap as the scan
 * chains them.
 */
#include <stdlib.h>

#include "common/stream.h"
#include "fuzz/fuzz.h"

#define LIMIT (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct stream *src, *dec, *tap;
	enum compression kind;
	const uint8_t *p, *head;
	char dg[DIGEST_STR_MAX];
	size_t n, nhead, max = 1;
	uint64_t count;

	if (!(src = fuzz_chunked_new(data, size, fuzz_chunk_for(size))) || !(dec = stream_decode_new(src, &e)) ||
	    !(tap = stream_tap_new(dec, DIGEST_SHA256, &e)))
		abort();
	if (stream_decode_kind(dec, &kind, &e) == 0) {
		compression_name(kind);
		stream_decode_head(dec, &head, &nhead);
		compression_sniff(head, nhead);
		stream_decode_limit(dec, LIMIT, 0);
		/* a peek across blocks first, as the converter does before a write */
		if (stream_peek(tap, 512, &p, &n, &e) == 0) {
			while (stream_get(tap, &p, &n, max, &e) == 0 && n)
				max = max * 3 % 70001 + 1;
			stream_tap_result(tap, dg, &count);
		}
	}
	stream_free(tap);
	stream_free(dec);
	stream_free(src);
	return 0;
}
