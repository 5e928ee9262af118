/*
 * eco.c - fuzz target: the package sources of analyze/eco.h.  The first
 * byte picks the parser, the rest is its input:
 *
 *   0 an rpm header blob          3 an npm package.json
 *   1 METADATA / PKG-INFO         4 Go build info (from the magic on)
 *   2 a RECORD (of a.dist-info)   5 a file through the Go ELF scanner,
 *                                   in blocks of fuzz_chunk_for() bytes, then
 *                                   whatever it found through the parser
 */
#include <string.h>

#include "analyze/eco.h"
#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct pkgdb db = { 0 };
	struct buf out = BUF_INIT(64u << 20);
	const char *t;

	if (size < 1)
		return 0;
	t = (const char *)data + 1;
	switch (data[0] % 6) {
	case 0: (void)rpm_header_parse(&db, data + 1, size - 1, &e); break;
	case 1: (void)py_metadata_parse(&db, t, size - 1, 1, &e); break;
	case 2: (void)py_record_files("usr/lib/python3/site-packages/a.dist-info", t, size - 1, &out, &e); break;
	case 3: (void)npm_package_parse(&db, t, size - 1, 1, &e); break;
	case 4: (void)go_buildinfo_parse(&db, data + 1, size - 1, 1, &e); break;
	default: {
		struct eco_go g;
		size_t chunk = fuzz_chunk_for(size - 1), at;

		memset(&g, 0, sizeof(g));
		buf_init(&g.info, ECO_GO_INFO_MAX);
		if (!chunk)
			chunk = size;
		for (at = 1; at < size && eco_go_feed(&g, data + at, size - at < chunk ? size - at : chunk, &e) == 0;)
			at += size - at < chunk ? size - at : chunk;
		if (eco_go_flush(&g, &e) == 0 && g.info.len)
			(void)go_buildinfo_parse(&db, (const uint8_t *)g.info.data, g.info.len, 1, &e);
		buf_release(&g.info);
	}
	}
	pkgdb_release(&db);
	buf_release(&out);
	return 0;
}
