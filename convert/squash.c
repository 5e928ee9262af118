/*
 * squash.c - `convert --squash`: one image whose layers are merged into
 * one (the tar flatten writes), in any target format.
 *
 * The new config is the source's with rootfs.diff_ids replaced by the one
 * new diff_id and the history kept: every old entry is marked empty_layer
 * and one entry for the squash is appended, as `docker build --squash`
 * does.  Config and manifest are new documents, so they are canonical
 * (cJSON, no whitespace) and the same input gives the same image.
 */
#include "convert/conv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert/merge.h"
#include "formats/json.h"

static int blob_out(void *ctx, const uint8_t *p, size_t n, struct strata_err *e)
{
	return sink_blob_write(ctx, p, n, e);
}

/* The source config with one diff_id and the history updated; caller frees. */
static char *squashed_config(const struct image *im, const char *diff_id, struct strata_err *e)
{
	cJSON *cfg = cJSON_Duplicate(im->config_json, 1), *rootfs, *ids, *hist, *h, *entry;
	const char *created = NULL;
	char comment[96], *txt = NULL;

	if (!cfg || !cJSON_IsObject(cfg)) {
		err_set(e, STRATA_EFORMAT, "%s: the config is not a JSON object", im->where);
		goto out;
	}
	if (!(rootfs = cJSON_CreateObject()) || !cJSON_AddStringToObject(rootfs, "type", "layers") ||
	    !(ids = cJSON_AddArrayToObject(rootfs, "diff_ids")) || !cJSON_AddItemToArray(ids, cJSON_CreateString(diff_id))) {
		cJSON_Delete(rootfs);
		err_nomem(e, "config");
		goto out;
	}
	/* an item cJSON could not place is still ours to free */
	if (cJSON_HasObjectItem(cfg, "rootfs") ? !cJSON_ReplaceItemInObjectCaseSensitive(cfg, "rootfs", rootfs)
					       : !cJSON_AddItemToObject(cfg, "rootfs", rootfs)) {
		cJSON_Delete(rootfs);
		err_nomem(e, "config");
		goto out;
	}
	hist = cJSON_GetObjectItemCaseSensitive(cfg, "history");
	if (!cJSON_IsArray(hist)) {
		cJSON_DeleteItemFromObjectCaseSensitive(cfg, "history");
		hist = cJSON_AddArrayToObject(cfg, "history");
	}
	cJSON_ArrayForEach(h, hist) {
		if (!cJSON_IsObject(h))
			continue;
		if (cJSON_HasObjectItem(h, "empty_layer")) {
			cJSON *t = cJSON_CreateTrue();

			if (!cJSON_ReplaceItemInObjectCaseSensitive(h, "empty_layer", t))
				cJSON_Delete(t);
		} else {
			cJSON_AddTrueToObject(h, "empty_layer");
		}
	}
	if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(cfg, "created")))
		created = cJSON_GetObjectItemCaseSensitive(cfg, "created")->valuestring;
	snprintf(comment, sizeof(comment), "strata: %zu layer%s squashed into one", im->nlayers, im->nlayers == 1 ? "" : "s");
	entry = hist ? cJSON_CreateObject() : NULL;
	if (!entry || !cJSON_AddStringToObject(entry, "created", created ? created : "1970-01-01T00:00:00Z") ||
	    !cJSON_AddStringToObject(entry, "created_by", "strata convert --squash") ||
	    !cJSON_AddStringToObject(entry, "comment", comment)) {
		cJSON_Delete(entry);
		err_nomem(e, "config");
		goto out;
	}
	if (!json_push(hist, entry)) {  /* frees entry when it cannot */
		err_nomem(e, "config");
		goto out;
	}
	if (!(txt = cJSON_PrintUnformatted(cfg)))
		err_nomem(e, "config");
out:
	cJSON_Delete(cfg);
	return txt;
}

int squash_run(const struct convert_opts *o, struct convert_result *res, struct diag *d, struct strata_err *e)
{
	struct layers_opts lo = { o->src, o->image, o->platform, o->progress, o->progress_ctx, o->limits };
	struct image_layers *il = NULL;
	struct conv c = { 0 };
	struct out_image oi = { 0 };
	struct out_set set = { &oi, 1 };
	struct sink_blob *b = NULL;
	struct tar_sink ts = { 0 };
	struct tar_result tr;
	const struct image *im;
	struct ref dref;
	uint64_t size;
	char *txt = NULL;
	int r;

	memset(res, 0, sizeof(*res));
	c.o = o;
	if ((r = conv_dest(o->dst, o->format, &dref, &c.target, e)) < 0)
		return r;
	if (o->preserve_digests) {
		r = err_set(e, STRATA_EUSAGE, "--squash makes a new layer: it cannot preserve digests");
		goto out;
	}
	ts.comp = o->layers == LAYERS_DECOMPRESS ? COMP_NONE : o->layers == LAYERS_ZSTD ? COMP_ZSTD : COMP_GZIP;
	ts.level = o->level;
	ts.threads = o->threads;
	if ((r = image_layers_open(&il, &lo, d, e)) < 0)
		goto out;
	im = image_layers_image(il);
	res->format = image_layers_format(il);
	if ((r = conv_open_sink(&c, &dref, o->src, e)) < 0)
		goto out;
	sink_set_sync(c.sink, o->sync);
	if ((r = sink_blob_begin(c.sink, &b, NULL, -1, true, e)) < 0)
		goto fail;
	ts.fn = blob_out;
	ts.ctx = b;
	r = merge_to_tar(il, &ts, &tr, d, e);
	if (r < 0) {
		sink_blob_abort(b);
		goto fail;
	}
	if (!(oi.layers = calloc(1, sizeof(*oi.layers))) || !(oi.diff_ids = calloc(1, sizeof(*oi.diff_ids)))) {
		sink_blob_abort(b);
		r = err_nomem(e, "image");
		goto fail;
	}
	if ((r = sink_blob_commit(b, NULL, oi.layers[0].digest, &size, e)) < 0)
		goto fail;
	oi.src = im;
	oi.group = -1;
	oi.nlayers = 1;
	oi.layers[0].size = (int64_t)size;
	oi.layers[0].media_type = conv_layer_mt(ts.comp);
	oi.diff_ids[0] = tr.diff_id;
	oi.platform = im->platform;
	oi.has_platform = im->platform.os && im->platform.arch;
	if (!(txt = squashed_config(im, tr.diff_id, e))) {
		r = -e->code;
		goto fail;
	}
	oi.config.media_type = MT_OCI_CONFIG;
	if ((r = sink_put_blob(c.sink, txt, strlen(txt), oi.config.digest, e)) < 0)
		goto fail;
	oi.config.size = (int64_t)strlen(txt);
	free(txt);
	if (!(txt = target_oci_manifest(&oi))) {
		r = err_nomem(e, "manifest");
		goto fail;
	}
	oi.manifest.media_type = MT_OCI_MANIFEST;
	if ((r = sink_put_blob(c.sink, txt, strlen(txt), oi.manifest.digest, e)) < 0)
		goto fail;
	oi.manifest.size = (int64_t)strlen(txt);
	if ((r = conv_image_names(o, dref.name, &oi, e)) < 0)
		goto fail;
	if ((r = conv_finish(&c, &set, e)) < 0)
		goto out;
	res->images = 1;
	res->layers = 1;
	res->layers_reencoded = 1;
	res->bytes_out = size;
	goto out;
fail:
	sink_abort(c.sink);
out:
	free(txt);
	out_image_release(&oi);
	image_layers_free(il);
	ref_release(&dref);
	return r;
}
