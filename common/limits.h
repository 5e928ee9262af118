/*
 * limits.h - the resource bounds of reading one source, in one struct.
 *
 * Untrusted input decides how much a reader decodes, keeps in memory and
 * walks.  Each bound below stops what would go past it with STRATA_EFORMAT
 * (exit code 4) and a message that names the member, the bound and the
 * option that raises it.  The CLI fills the struct from --max-size,
 * --max-ratio, --max-entries, --max-json, --max-header, --max-descriptors
 * and --max-layers; struct load_opts
 * carries it to the scan, which hands each bound to the stage enforcing it
 * (decoder, tar reader, layer walk, document capture).  A zero field means
 * the default, so a zeroed struct is the defaults.
 */
#ifndef STRATA_LIMITS_H
#define STRATA_LIMITS_H

#include <stdbool.h>
#include <stdint.h>

struct limits {
	/* bytes of one blob or layer, stored (refused by its size, before it
	 * is read) and after decompression, and of a compressed outer archive
	 * after decompression */
	uint64_t max_size;
	/* decompressed / compressed bytes of any compressed stream, checked
	 * once LIMIT_RATIO_GRACE bytes came out of it */
	uint64_t max_ratio;
	/* entries of one layer tar; members of the outer archive, or files of
	 * an OCI layout directory */
	uint64_t max_entries;
	/* bytes of one JSON document; all kept documents together at most
	 * LIMIT_JSON_TOTAL times this */
	uint64_t max_json;
	/* bytes of one pax extended header or GNU long name/link record */
	uint64_t max_header;
	/* descriptors the documents of one source lead to, counted each time
	 * one is reached: index entries (nested too), manifest.json entries,
	 * configs and layers.  Indexes that list indexes that list manifests
	 * many times would otherwise cost far more than their bytes. */
	uint64_t max_descriptors;
	/* layers of one image */
	uint64_t max_layers;
	/* Not bounds but the policy of judging what is read, carried with them
	 * because every reader gets them: --strict makes every warning an
	 * error; --allow-unsafe-layers makes unsafe layer entries warnings;
	 * --allow-missing-blobs lets convert write an image whose blobs (a
	 * foreign layer, say) the source does not hold; --allow-rebuilt-layers
	 * lets a store (docker-root:, containers-storage:) write a layer that
	 * lost its tar-split as a fresh tar (formats/store.h). */
	bool strict, allow_unsafe, allow_missing, allow_rebuilt;
};

/*
 * Defaults.  64 GiB: far above the largest layers seen (tens of GiB for
 * model weights) yet a stop for a bomb below the ratio bound.  Ratio 500:
 * twice what the most compressible real layer we measured reaches (100,000
 * empty files: 83x gzip -9, 336x zstd -19, 410x xz -9) and half of what
 * deflate can reach at all (1032x, a gzip bomb of zeros), so gzip bombs are
 * caught too.  The other three are what the ecosystem uses: containerd and
 * skopeo's 4 MiB JSON and Go's 1 MiB tar header.  Entries: ten million, ten
 * times a million-file layer; what an entry costs (about 45-55 bytes verify,
 * convert, flatten and unpack, 130 analyze, 170 sbom: README, --max-entries)
 * puts the bound at about 0.5 to 1.7 GiB of memory (measured at 9,994,096
 * entries: verify 506 MiB, flatten 507 MiB, analyze --format json 1.31 GiB),
 * reached only by a layer of 5 GiB of tar headers (about 100 MB gzip-compressed).
 */
#define LIMIT_MAX_SIZE (64ull << 30)
#define LIMIT_MAX_RATIO 500
#define LIMIT_MAX_ENTRIES 10000000
#define LIMIT_MAX_JSON (4ull << 20)
#define LIMIT_MAX_HEADER (1ull << 20)
/* Far above real sources (a hybrid `docker save` of 100 images of 20 layers
 * counts about 4,500) and far below what costs seconds or memory. */
#define LIMIT_MAX_DESCRIPTORS 10000
/* Eight times the deepest chain moby's layer store accepts (maxLayerDepth
 * 125): an image is not a list of thousands of references to one layer. */
#define LIMIT_MAX_LAYERS 1000
/* Output below this is never judged by its ratio: tiny layers of tar
 * headers and zero padding compress far beyond any bound. */
#define LIMIT_RATIO_GRACE (16ull << 20)
#define LIMIT_JSON_TOTAL 16
/* JSON bytes parsed for one source, counting each parse: twice the kept
 * documents (the Docker 25 hybrid reads configs in both views). */
#define LIMIT_JSON_PARSED (2 * LIMIT_JSON_TOTAL)
/* Package files the layer walker reads and keeps for a whole source (dpkg
 * status and file lists, apk, rpm, Python, npm; each counted as at least
 * 1 KiB): at most this many times max_json (256 MiB by default).  939 Debian packages hold 28 MB of them
 * (status, file lists, copyright files); a few MB of gzip of repeated lines
 * would otherwise hold gigabytes. */
#define LIMIT_PKG_TOTAL 64

/* l with every zero field replaced by its default. */
static inline struct limits limits_resolve(const struct limits *l)
{
	struct limits r = { 0 };

	if (l)
		r = *l;
	if (!r.max_size)
		r.max_size = LIMIT_MAX_SIZE;
	if (!r.max_ratio)
		r.max_ratio = LIMIT_MAX_RATIO;
	if (!r.max_entries)
		r.max_entries = LIMIT_MAX_ENTRIES;
	if (!r.max_json)
		r.max_json = LIMIT_MAX_JSON;
	if (!r.max_header)
		r.max_header = LIMIT_MAX_HEADER;
	if (!r.max_descriptors)
		r.max_descriptors = LIMIT_MAX_DESCRIPTORS;
	if (!r.max_layers)
		r.max_layers = LIMIT_MAX_LAYERS;
	return r;
}

#endif
