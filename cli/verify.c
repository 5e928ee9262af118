/* verify.c - `strata verify SRC [--json]`. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/walk.h"
#include "cli/cli.h"
#include "cli/report.h"
#include "common/sign.h"
#include "convert/delta.h"
#include "convert/transfer.h"
#include "formats/json.h"

static void count(const struct source *s, size_t *layers, size_t *blobs)
{
	size_t i;

	*layers = 0;
	*blobs = 0;
	for (i = 0; i < s->images.len; i++)
		*layers += s->images.v[i]->nlayers;
	for (i = 0; i < s->cat.len; i++)
		*blobs += s->cat.v[i]->kind == MEM_FILE;
	if (s->cat.rootfs)
		(*blobs)++;
}

/* Add digest to the array a once. */
static void add_once(cJSON *a, const char *digest)
{
	const cJSON *x;

	cJSON_ArrayForEach(x, a)
		if (!strcmp(x->valuestring, digest))
			return;
	json_push(a, cJSON_CreateString(digest));
}

/*
 * What the run proved: every descriptor digest (manifests, configs, layers)
 * whose blob was hashed and matched, and every diff_id the decoded layer
 * matched.  A digest that did not match is a problem instead.
 */
static cJSON *verified_json(const struct source *s)
{
	cJSON *o = cJSON_CreateObject(), *blobs = cJSON_AddArrayToObject(o, "blobs"),
	      *ids = cJSON_AddArrayToObject(o, "diff_ids");
	size_t i, j;

	for (i = 0; i < s->images.len; i++) {
		const struct image *im = s->images.v[i];

		if (im->has_manifest && im->manifest_m && im->manifest.digest[0] &&
		    !strcmp(im->manifest.digest, im->manifest_m->digest))
			add_once(blobs, im->manifest.digest);
		if (im->config_m && im->config.digest[0] && !strcmp(im->config.digest, im->config_m->digest))
			add_once(blobs, im->config.digest);
		for (j = 0; j < im->nlayers; j++) {
			const struct layer *l = &im->layers[j];

			if (!l->m)
				continue;
			if (l->desc.digest[0] && !strcmp(l->desc.digest, l->m->digest))
				add_once(blobs, l->desc.digest);
			if (l->diff_id && l->m->diff_id[0] && !strcmp(l->diff_id, l->m->diff_id))
				add_once(ids, l->diff_id);
		}
	}
	return o;
}

/* verify OUT.manifest.json: the files it lists, then the content they make up. */
static int verify_transfer(const char *path, struct load_opts *lo, struct diag *d)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct transfer_check res;
	int r;

	r = transfer_check(path, lo, &res, d, &e);
	cli_print_problems(path, d);
	if (r < 0) {
		diag_release(d);
		return cli_fail(path, &e);
	}
	r = diag_exit_code(d);
	if (res.left_out)
		printf("%s: note: %zu blob%s left out on purpose (a delta: its \"expected\" list; `convert --blobs-from` completes it)\n",
		       path, res.left_out, res.left_out == 1 ? "" : "s");
	printf("%s: transfer manifest (%s), %zu file%s, %zu image%s, %zu blob%s: %s (%zu error%s, %zu warning%s)\n",
	       path, res.format, res.files, res.files == 1 ? "" : "s", res.images, res.images == 1 ? "" : "s", res.blobs,
	       res.blobs == 1 ? "" : "s", r ? "FAILED" : "OK", diag_count(d, SEV_ERROR),
	       diag_count(d, SEV_ERROR) == 1 ? "" : "s", diag_count(d, SEV_WARNING),
	       diag_count(d, SEV_WARNING) == 1 ? "" : "s");
	diag_release(d);
	return r;
}

/* --trust PUB.pem / --trust=PUB.pem taken out of argv (before any "--"); NULL when absent. */
static const char *take_trust(int *argc, char **argv, bool *twice)
{
	const char *trust = NULL;
	int i, j;

	*twice = false;
	for (i = j = 1; i < *argc; i++) {
		if (!strcmp(argv[i], "--")) {
			while (i < *argc)
				argv[j++] = argv[i++];
			break;
		}
		if (!strcmp(argv[i], "--trust") && i + 1 < *argc) {
			*twice |= trust != NULL;
			trust = argv[++i];
		} else if (!strncmp(argv[i], "--trust=", 8)) {
			*twice |= trust != NULL;
			trust = argv[i] + 8;
		} else {
			argv[j++] = argv[i];
		}
	}
	*argc = j;
	argv[j] = NULL;
	return trust;
}

/* The path a reference names, without a transport prefix of ours. */
static const char *bare_path(const char *src)
{
	static const char *const tp[] = { "oci:", "oci-archive:", "docker-archive:" };
	size_t i;

	for (i = 0; i < sizeof(tp) / sizeof(tp[0]); i++)
		if (!strncmp(src, tp[i], strlen(tp[i])))
			return src + strlen(tp[i]);
	return src;
}

/* verify --trust: the transfer manifest's signature, before anything else is believed. */
static int check_trust(const char *trust, const char *mpath)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct sign_key *k = NULL;
	char *sig = malloc(strlen(mpath) + 5);
	int r;

	if (!sig)
		return STRATA_EIO;
	snprintf(sig, strlen(mpath) + 5, "%s.sig", mpath);
	if (sign_key_load(&k, trust, 0, &e) < 0) {
		err_wrap(&e, "--trust");
		r = cli_fail(mpath, &e);
	} else if (sign_verify_file(k, mpath, sig, &e) < 0) {
		r = cli_fail(mpath, &e);
	} else {
		if (!cli.quiet)
			fprintf(stderr, "strata: %s: signature good (%s key %s)\n", mpath, sign_key_type(k), trust);
		r = 0;
	}
	sign_key_free(k);
	free(sig);
	return r;
}

/* verify of a delta's output alone: the blobs its transfer manifest expects
 * on the far side are missing on purpose, not errors. */
static size_t delta_left_out(const char *src, const struct source *s, bool json, struct diag *d, cJSON **list)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct strmap exp = STRMAP_INIT, taken = STRMAP_INIT;
	char *mpath = delta_manifest_path(bare_path(src));
	size_t i, n = 0;

	*list = NULL;
	if (mpath && delta_expected_read(mpath, &exp, &e) == 0 && exp.len && delta_take_missing(d, 0, s, &exp, &taken))
		n = taken.len;
	if (n && (*list = cJSON_CreateArray()))
		for (i = 0; i < taken.len; i++)
			json_push(*list, cJSON_CreateString(taken.items[i].key));
	if (n && !json)
		printf("%s: note: %zu blob%s left out on purpose (expected on the far side, as %s lists)\n", src, n,
		       n == 1 ? "" : "s", mpath);
	free(mpath);
	strmap_release(&exp);
	strmap_release(&taken);
	return n;
}

int cmd_verify(int argc, char **argv)
{
	const char *trust;
	bool twice;
	cJSON *left = NULL;
	struct strata_err e = STRATA_ERR_INIT;
	struct diag d = DIAG_INIT;
	struct layer_hooks hooks;
	struct walker w;
	struct load_opts lo = { 0 };
	struct source *s;
	struct progress pg;
	size_t layers, blobs;
	bool json;
	const char *src;
	int r;

	trust = take_trust(&argc, argv, &twice);
	if (twice)
		return cli_usage("verify", "--trust is given once");
	if ((r = cli_json_args("verify", argc, argv, 1, &json, &lo.limits)) != 0)
		return r;
	src = argv[optind];
	if (trust) {
		char *mpath = transfer_is_manifest(src) ? strdup(src) : delta_manifest_path(bare_path(src));

		if (!mpath)
			return STRATA_EIO;
		if ((r = check_trust(trust, mpath)) != 0) {
			free(mpath);
			return r;
		}
		if (json) {
			free(mpath);
			return cli_usage("verify", "--json does not report on a transfer manifest yet");
		}
		/* trusted: the files are checked against it, then the content */
		cli_walker(&w, &hooks, &d, &lo.limits);
		lo.decode = true;
		lo.hooks = &hooks;
		cli_catch_signals();
		r = verify_transfer(mpath, &lo, &d);
		free(mpath);
		return r;
	}
	cli_walker(&w, &hooks, &d, &lo.limits);
	lo.decode = true;
	lo.hooks = &hooks;
	progress_init(&pg, src, "verifying");
	lo.progress = progress_update;
	lo.progress_ctx = &pg;
	cli_catch_signals();
	if (transfer_is_manifest(src)) {
		if (json)
			return cli_usage("verify", "--json does not report on a transfer manifest yet");
		lo.progress = NULL;
		return verify_transfer(src, &lo, &d);
	}
	r = source_open(&s, src, &lo, &d, &e);
	progress_done(&pg);
	if (r < 0) {
		cli_print_problems(src, &d);
		diag_release(&d);
		return cli_fail(src, &e);
	}
	delta_left_out(src, s, json, &d, &left);
	cli_print_problems(src, &d);
	r = diag_exit_code(&d);
	count(s, &layers, &blobs);
	if (json) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddNumberToObject(o, "schema", REPORT_SCHEMA);
		cJSON_AddStringToObject(o, "source", src);
		cJSON_AddStringToObject(o, "format", s->format_name);
		cJSON_AddBoolToObject(o, "ok", r == 0);
		cJSON_AddNumberToObject(o, "exit_code", r);
		cJSON_AddNumberToObject(o, "images", (double)s->images.len);
		cJSON_AddNumberToObject(o, "layers", (double)layers);
		cJSON_AddNumberToObject(o, "blobs", (double)blobs);
		cJSON_AddNumberToObject(o, "errors", (double)diag_count(&d, SEV_ERROR));
		cJSON_AddNumberToObject(o, "warnings", (double)diag_count(&d, SEV_WARNING));
		json_put(o, "verified", verified_json(s));
		json_put(o, "problems", report_problems_json(&d));
		if (left) {
			json_put(o, "left_out", left);
			left = NULL;
		}
		if (report_print_json(o))
			r = STRATA_EIO;
	} else {
		printf("%s: %s, %zu image%s, %zu layer%s, %zu blob%s hashed: %s (%zu error%s, %zu warning%s)\n", src,
		       s->format_name, s->images.len, s->images.len == 1 ? "" : "s", layers, layers == 1 ? "" : "s",
		       blobs, blobs == 1 ? "" : "s", r ? "FAILED" : "OK", diag_count(&d, SEV_ERROR),
		       diag_count(&d, SEV_ERROR) == 1 ? "" : "s", diag_count(&d, SEV_WARNING),
		       diag_count(&d, SEV_WARNING) == 1 ? "" : "s");
	}
	cJSON_Delete(left);
	diag_release(&d);
	source_free(s);
	return r;
}
