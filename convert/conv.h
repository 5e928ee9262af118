/*
 * conv.h - what convert.c shares with import.c (internal to convert/).
 */
#ifndef STRATA_CONV_H
#define STRATA_CONV_H

#include "convert/convert.h"
#include "formats/sink.h"
#include "formats/target.h"

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
};

/* The blob writer the scan calls: re-encodes per c->layers into c->sink. */
void conv_writer(struct conv *c, struct blob_writer *bw);
/* The sink for dref; STRATA_EUSAGE when a tar destination is the file the
 * source reference src names. */
int conv_open_sink(struct conv *c, const struct ref *dref, const char *src, struct strata_err *e);
/* Parse the destination and tell its format (the transport's, else fallback);
 * STRATA_EUSAGE when neither says one (dref is then released). */
int conv_dest(const char *dst, enum target_format fallback, struct ref *dref, enum target_format *target,
	      struct strata_err *e);
const char *conv_layer_mt(enum compression c);
/* "name:tag" gives a full name and a ref.name; a bare "tag" only a ref.name. */
int conv_add_user_tag(struct out_image *oi, const char *t, struct strata_err *e);

/* The names an output image gets: --tag, the destination's NAME:TAG, else the source's. */
int conv_image_names(const struct convert_opts *o, const char *dst_name, struct out_image *oi, struct strata_err *e);
/* Write the documents of the target format (merging into an existing OCI
 * layout's index.json) and finish the sink; on error it is aborted. */
int conv_finish(struct conv *c, const struct out_set *set, struct strata_err *e);
/* convert --squash: one image, its layers merged into one (squash.c). */
int squash_run(const struct convert_opts *o, struct convert_result *res, struct diag *d, struct strata_err *e);

#endif
