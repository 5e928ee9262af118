/*
 * fuzz.h - what the libFuzzer targets in fuzz/ share (see fuzz/README.md).
 *
 * Every target is one LLVMFuzzerTestOneInput() over one library entry
 * point, built with clang -fsanitize=fuzzer,address,undefined against the
 * library objects compiled in build-fuzz/.  Targets must not leak, print or
 * keep state between inputs beyond what is set up once.
 */
#ifndef STRATA_FUZZ_H
#define STRATA_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * A memory source handing out its bytes in blocks of `chunk` bytes (0: all
 * at once), so that stages meet block boundaries everywhere: a header split
 * over two reads, a magic number cut after one byte.  The bytes must outlive
 * the stream; stream_free() frees it.
 */
struct stream *fuzz_chunked_new(const uint8_t *p, size_t n, size_t chunk);

/* The input as a file, for the targets that read whole archives: written
 * into one memfd (made at the first call, emptied at each) and named as a
 * source reference, "/dev/fd/N" after a transport prefix the input's length
 * picks (size % 8: 5 docker-archive:, 6 oci-archive:, 7 rootfs:, else none,
 * detected by content).  The string is static; aborts when the memfd cannot
 * be made or written. */
const char *fuzz_source_ref(const uint8_t *data, size_t size);

/* Open ref as `strata verify` and `strata analyze` do (decode on, the
 * layer walker collecting entries, content digests, what the SBOM reads and
 * risky content; 16 MiB decoded per blob) and, when it opens,
 * fuzz_report() it, its documents pretty or on one line. */
void fuzz_open_report(const char *ref, bool line);
/* Every container image of s analyzed and rendered (text, JSON with its
 * lists streamed, --files text, HTML), its SBOM built and written
 * (CycloneDX and SPDX), and the first two images diffed (text, JSON).
 * Oracle beyond the sanitizers: what the streaming writers produce must
 * parse, and be the JSON cJSON prints for it parsed again, byte for byte
 * (but for the report's file lists, unformatted in a pretty document);
 * aborts when not. */
struct source;
void fuzz_report(struct source *s, bool line);

/* A new directory $TMPDIR/strata-fuzz-NAME.XXXXXX (TMPDIR unset: /tmp) into
 * buf of size bytes; aborts when it cannot be made. */
void fuzz_temp_dir(char *buf, size_t size, const char *name);

/* A block size picked from the input length: 1, 7, 511, 4096 or everything. */
size_t fuzz_chunk_for(size_t n);

#endif
