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
int conv_open_sink(struct conv *c, const struct ref *dref, struct strata_err *e);
enum target_format conv_target(enum target_format fallback, const struct ref *r);
const char *conv_layer_mt(enum compression c);
/* "name:tag" gives a full name and a ref.name; a bare "tag" only a ref.name. */
int conv_add_user_tag(struct out_image *oi, const char *t, struct strata_err *e);

#endif
