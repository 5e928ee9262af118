/*
 * conv.h - what convert.c shares with import.c (internal to convert/).
 */
#ifndef STRATA_CONV_H
#define STRATA_CONV_H

#include "convert/convert.h"
#include "formats/sink.h"
#include "formats/target.h"
#include "common/strmap.h"

struct conv {
	const struct convert_opts *o;  /* NULL for import */
	struct sink *sink;
	enum target_format target;
	enum layer_mode layers;
	int level, threads;
	enum blob_action last;         /* plan() decision for the member about to be opened */
	enum compression last_out;
	size_t reencoded;
	uint64_t bytes_out;
	const char *dst_path;          /* the destination (oci: layout), for messages and --replace */
	bool replace;                  /* --replace: a reused name replaces the old image */
	const struct strmap *exclude;  /* a delta: layer digests left out (NULL: none) */
	struct strmap *expected;       /* ... those the output names but lacks (digest -> size + 1) */
};

/* The blob writer the scan calls: re-encodes per c->layers into c->sink. */
void conv_writer(struct conv *c, struct blob_writer *bw);
/* The sink for dref; STRATA_EUSAGE when a tar destination is the file the
 * source reference src names. */
int conv_open_sink(struct conv *c, const struct ref *dref, const char *src, struct strata_err *e);
/* convert --split (split.c): the sink writes into a piece writer; then the
 * pieces are renamed into place and their transfer manifest written. */
struct pieces_writer;
int conv_open_split(struct conv *c, const struct ref *dref, const char *src, uint64_t size, struct pieces_writer **pw,
		    struct strata_err *e);
int conv_split_done(struct pieces_writer *pw, const char *out, const char *format, const struct out_set *set,
		    const struct strmap *expected, struct strata_err *e);
/* Parse the destination and tell its format (the transport's, else fallback);
 * STRATA_EUSAGE when neither says one (dref is then released). */
int conv_dest(const char *dst, enum target_format fallback, struct ref *dref, enum target_format *target,
	      struct strata_err *e);
const char *conv_layer_mt(enum compression c);
/* One name of an output image: a full name (as given: "app:1", written
 * normalised as io.containerd.image.name and as a RepoTag) and/or a ref.name
 * (NULL: chosen on writing, see target_choose_ref_names). */
int conv_add_entry(struct out_image *oi, const char *full, const char *ref, struct strata_err *e);
/* Names the user gave (--tag, and the destination's reference, which is kept
 * verbatim as ref.name): a full NAME:TAG is a name; a bare TAG is a ref.name
 * paired with src_full (the source's name) unless the user gave a full name. */
int conv_user_names(const char *const *tags, size_t ntags, const char *dst_name, const char *src_full,
		    struct out_image *oi, struct strata_err *e);

/* The names an output image gets: --tag, the destination's NAME:TAG, else the source's. */
int conv_image_names(const struct convert_opts *o, const char *dst_name, struct out_image *oi, struct strata_err *e);
/* Write the documents of the target format (merging into an existing OCI
 * layout's index.json) and finish the sink; on error it is aborted. */
int conv_finish(struct conv *c, struct out_set *set, struct strata_err *e);
/* convert --squash: one image, its layers merged into one (squash.c). */
int squash_run(const struct convert_opts *o, struct convert_result *res, struct diag *d, struct strata_err *e);

#endif
