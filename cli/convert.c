/* convert.c - `strata convert SRC DST [options]`. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyze/walk.h"
#include "cli/cli.h"
#include "common/cancel.h"
#include "common/fsutil.h"
#include "common/pieces.h"
#include "cli/report.h"
#include "convert/convert.h"
#include "formats/json.h"

static void on_signal(int sig)
{
	(void)sig;
	strata_cancel = 1;
}

void cli_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;  /* no SA_RESTART: a blocked read returns and sees the flag */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);    /* a closed stdout is an I/O error, reported, not a silent death */
}

/* Options convert and import share: target format and what to do with layers. */
enum { O_FORMAT = 256, O_KEEP, O_GZIP, O_ZSTD, O_DECOMP, O_THREADS, O_SYNC, O_FIRST_OWN };

#define LAYER_OPTIONS \
	{ "format", required_argument, NULL, O_FORMAT }, { "keep", no_argument, NULL, O_KEEP }, \
	{ "gzip", optional_argument, NULL, O_GZIP }, { "zstd", optional_argument, NULL, O_ZSTD }, \
	{ "decompress", no_argument, NULL, O_DECOMP }, { "threads", required_argument, NULL, O_THREADS }, \
	{ "sync", no_argument, NULL, O_SYNC }, LIMIT_OPTIONS

struct layer_opts {
	enum target_format format;
	enum layer_mode layers;
	int level, threads, modes;
	bool sync;
	struct limits limits;
};

/* 1: handled; 0: not one of these; <0: usage error (printed, exit 2). */
static int layer_option(const char *cmd, int c, const char *arg, struct layer_opts *lo)
{
	int r;

	if ((r = cli_limit_option(cmd, c, arg, &lo->limits)) != 0)
		return r;
	switch (c) {
	case O_FORMAT:
		if (!strcmp(arg, "oci"))
			lo->format = TARGET_OCI;
		else if (!strcmp(arg, "oci-archive"))
			lo->format = TARGET_OCI_ARCHIVE;
		else if (!strcmp(arg, "docker-archive"))
			lo->format = TARGET_DOCKER_ARCHIVE;
		else
			return -cli_usage(cmd, "--format is oci, oci-archive or docker-archive, not '%s'", arg);
		return 1;
	case O_KEEP: lo->layers = LAYERS_KEEP; break;
	case O_DECOMP: lo->layers = LAYERS_DECOMPRESS; break;
	case O_GZIP:
		lo->layers = LAYERS_GZIP;
		if (cli_int_arg(arg, 1, 9, &lo->level) < 0)
			return -cli_usage(cmd, "--gzip=LEVEL takes 1 to 9");
		break;
	case O_ZSTD:
		lo->layers = LAYERS_ZSTD;
		if (cli_int_arg(arg, 1, 19, &lo->level) < 0)
			return -cli_usage(cmd, "--zstd=LEVEL takes 1 to 19");
		break;
	case O_THREADS:
		if (cli_int_arg(arg, 1, 64, &lo->threads) < 0)
			return -cli_usage(cmd, "--threads takes 1 to 64");
		return 1;
	case O_SYNC:
		lo->sync = true;
		return 1;
	default:
		return 0;
	}
	if (++lo->modes > 1)
		return -cli_usage(cmd, "--keep, --gzip, --zstd and --decompress exclude each other");
	return 1;
}

/* The sources of a bundle: SRC arguments, then --from FILE's lines. */
struct srclist {
	const char **v;
	char **owned;
	size_t len, nowned;
};

static int srclist_add(struct srclist *l, const char *src, bool own)
{
	const char **v = realloc(l->v, (l->len + 1) * sizeof(*v));
	char **o;

	if (!v)
		return -1;
	l->v = v;
	if (own) {
		if (!(o = realloc(l->owned, (l->nowned + 1) * sizeof(*o))))
			return -1;
		l->owned = o;
		if (!(src = o[l->nowned] = strdup(src)))
			return -1;
		l->nowned++;
	}
	l->v[l->len++] = src;
	return 0;
}

static void srclist_release(struct srclist *l)
{
	size_t i;

	for (i = 0; i < l->nowned; i++)
		free(l->owned[i]);
	free(l->owned);
	free(l->v);
}

/* --from FILE: one reference a line; blank lines and # comments skipped.
 * Returns 0, or the exit code (printed). */
static int read_from(const char *path, struct srclist *l)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	unsigned lineno = 0;
	int r = 0;

	if (!f) {
		fprintf(stderr, "strata: convert: --from '%s': %s\n", path, strerror(errno));
		return STRATA_EIO;
	}
	while (r == 0 && fgets(line, sizeof(line), f)) {
		char *p;

		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			r = cli_usage("convert", "--from '%s': line %u is too long", path, lineno);
			break;
		}
		if (!(p = list_line(line)))
			continue;
		if (!strcmp(p, "-"))
			r = cli_usage("convert", "--from '%s': line %u: '-' (stdin) is given on the command line, not in a list",
				      path, lineno);
		else if (srclist_add(l, p, true) < 0)
			r = STRATA_EIO;  /* memory ran out: main says so */
	}
	if (r == 0 && ferror(f)) {
		fprintf(stderr, "strata: convert: --from '%s': %s\n", path, strerror(errno));
		r = STRATA_EIO;
	}
	fclose(f);
	return r;
}

struct bundle_progress {
	struct progress *pg;
	size_t n;
};

/* Each source of a bundle: its own progress line and its own problems. */
static void on_source(void *ctx, size_t i, const char *src, struct diag *d, bool done)
{
	struct bundle_progress *bp = ctx;

	if (!done) {
		if (!cli.quiet)
			fprintf(stderr, "strata: source %zu of %zu: %s\n", i + 1, bp->n, src);
		progress_init(bp->pg, src, "converting");
		return;
	}
	progress_done(bp->pg);
	cli_print_problems(src, d);
	diag_truncate(d, 0, 0);
}

/*
 * convert --json: one document on stdout (docs/schema/convert.schema.json),
 * after the run; res NULL when it failed (then e and exit say why).
 */
static int print_summary(const struct convert_opts *o, const struct srclist *srcs, const struct convert_result *res,
			 const struct strata_err *e, int exit_code, const struct diag *d)
{
	cJSON *doc = cJSON_CreateObject(), *a;
	struct strata_err pe = STRATA_ERR_INIT;
	struct ref dref;
	size_t i;

	cJSON_AddNumberToObject(doc, "schema", 1);
	cJSON_AddBoolToObject(doc, "ok", res != NULL);
	cJSON_AddNumberToObject(doc, "exit_code", exit_code);
	a = cJSON_AddArrayToObject(doc, "sources");
	for (i = 0; a && i < srcs->len; i++)
		json_push(a, cJSON_CreateString(srcs->v[i]));
	cJSON_AddStringToObject(doc, "destination", o->dst);
	if (res) {
		bool manifest = o->manifest || o->nexclude || o->sign_key;
		char *m = NULL;

		cJSON_AddStringToObject(doc, "source_format", res->format ? res->format : "");
		cJSON_AddNumberToObject(doc, "images", (double)res->images);
		cJSON_AddNumberToObject(doc, "layers", (double)res->layers);
		cJSON_AddNumberToObject(doc, "layers_reencoded", (double)res->layers_reencoded);
		cJSON_AddNumberToObject(doc, "layer_bytes_written", (double)res->bytes_out);
		cJSON_AddNumberToObject(doc, "left_out", (double)res->left_out);
		if (manifest && ref_parse(o->dst, &dref, &pe) == 0) {
			size_t n = strlen(dref.path) + sizeof(".manifest.json.sig");

			if ((m = malloc(n)))
				snprintf(m, n, "%s.manifest.json", dref.path);
			ref_release(&dref);
		}
		json_put(doc, "transfer_manifest", m ? cJSON_CreateString(m) : cJSON_CreateNull());
		if (m && o->sign_key)
			memcpy(m + strlen(m), ".sig", sizeof(".sig"));  /* room was made above */
		json_put(doc, "signature", m && o->sign_key ? cJSON_CreateString(m) : cJSON_CreateNull());
		free(m);
		cJSON_AddNullToObject(doc, "error");
	} else {
		cJSON_AddStringToObject(doc, "error", e->msg);
	}
	json_put(doc, "problems", report_problems_json(d));
	return report_print_json(doc);
}

/* --split SIZE: 0, or the usage error (printed, exit 2). */
static int split_option(const char *arg, uint64_t *size)
{
	if (pieces_parse_size(arg, size) < 0)
		return cli_usage("convert", "--split takes a size above 0 with K, M, G or T (binary units): 4G, 700M, "
				 "25G, not '%s'", arg);
	if (*size < PIECES_MIN_SIZE)
		return cli_usage("convert", "--split %s: pieces are at least %d bytes", arg, PIECES_MIN_SIZE);
	return 0;
}

/* The sources: SRC... before DST, or --from's list; checked against --tag
 * and --json.  0, or the exit code (usage errors said). */
static int convert_sources(int argc, char **argv, const char *from, size_t ntags, bool json, struct srclist *srcs)
{
	size_t i;
	int r;

	if (argc - optind < (from ? 1 : 2))
		return cli_usage("convert", from ? "needs DST" : "needs SRC and DST");
	for (i = (size_t)optind; i + 1 < (size_t)argc; i++)
		if (srclist_add(srcs, argv[i], false) < 0) {
			srclist_release(srcs);
			return STRATA_EIO;  /* memory ran out: main says so */
		}
	if (from && (r = read_from(from, srcs)) != 0) {
		srclist_release(srcs);
		return r;
	}
	if (!srcs->len) {
		srclist_release(srcs);
		return cli_usage("convert", "--from '%s' names no source", from);
	}
	if (srcs->len > 1 && ntags) {
		srclist_release(srcs);
		return cli_usage("convert", "--tag names one image, but %zu sources are given: each keeps its own names",
				 srcs->len);
	}
	if (json && !strcmp(argv[argc - 1], "-")) {
		srclist_release(srcs);
		return cli_usage("convert", "--json prints on stdout, where DST '-' writes the image");
	}
	return 0;
}

/* The one line a conversion ends with (unless -q). */
static void print_done(const struct convert_opts *o, const struct srclist *srcs, const struct convert_result *res)
{
	char sz[32];

	if (!cli.quiet && srcs->len > 1)
		fprintf(stderr, "strata: converted %zu sources (%s) to %s: %zu image%s, %zu layer%s (%zu re-encoded), %s of layers written\n",
			srcs->len, res->format, o->dst, res->images, res->images == 1 ? "" : "s", res->layers,
			res->layers == 1 ? "" : "s", res->layers_reencoded, human_size(res->bytes_out, sz));
	else if (!cli.quiet)
		fprintf(stderr, "strata: converted %s (%s) to %s: %zu image%s, %zu layer%s (%zu re-encoded), %s of layers written\n",
			o->src, res->format, o->dst, res->images, res->images == 1 ? "" : "s", res->layers,
			res->layers == 1 ? "" : "s", res->layers_reencoded, human_size(res->bytes_out, sz));
	if (!cli.quiet && res->left_out)
		fprintf(stderr, "strata: a delta: %zu layer%s left out (the far side has them), listed as expected in the transfer manifest\n",
			res->left_out, res->left_out == 1 ? "" : "s");
}

int cmd_convert(int argc, char **argv)
{
	enum { O_PRESERVE = O_FIRST_OWN, O_TAG, O_PLATFORM, O_IMAGE, O_SQUASH, O_REPLACE, O_FROM, O_MANIFEST, O_SPLIT,
	       O_EXCLUDE_BLOBS, O_BLOBS_FROM, O_SIGN, O_JSON };
	static const struct option opts[] = {
		LAYER_OPTIONS,
		{ "preserve-digests", no_argument, NULL, O_PRESERVE },
		{ "tag", required_argument, NULL, O_TAG },
		{ "platform", required_argument, NULL, O_PLATFORM },
		{ "image", required_argument, NULL, O_IMAGE },
		{ "squash", no_argument, NULL, O_SQUASH },
		{ "replace", no_argument, NULL, O_REPLACE },
		{ "from", required_argument, NULL, O_FROM },
		{ "manifest", no_argument, NULL, O_MANIFEST },
		{ "split", required_argument, NULL, O_SPLIT },
		{ "exclude-blobs", required_argument, NULL, O_EXCLUDE_BLOBS },
		{ "blobs-from", required_argument, NULL, O_BLOBS_FROM },
		{ "sign", required_argument, NULL, O_SIGN },
		{ "json", no_argument, NULL, O_JSON },
		{ NULL, 0, NULL, 0 },
	};
	struct convert_opts o = { 0 };
	const char *excl[64], *bfrom[64];
	struct srclist srcs = { 0 };
	struct bundle_progress bp;
	const char *from = NULL;
	bool json = false;
	struct convert_result res;
	struct strata_err e = STRATA_ERR_INIT;
	struct diag d = DIAG_INIT;
	const char *tags[64];
	struct progress pg;
	struct layer_hooks hooks;
	struct walker w;
	long nproc = sysconf(_SC_NPROCESSORS_ONLN);
	struct layer_opts lo = { TARGET_NONE, LAYERS_KEEP, 0, nproc > 0 ? (int)nproc : 1, 0, false, { 0 } };
	int c, r;

	o.tags = tags;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if ((r = layer_option("convert", c, optarg, &lo)) < 0)
			return -r;
		if (r)
			continue;
		switch (c) {
		case O_PRESERVE: o.preserve_digests = true; break;
		case O_TAG:
			if (o.ntags == sizeof(tags) / sizeof(tags[0]))
				return cli_usage("convert", "too many --tag");
			if (ref_check_name(optarg, &e) < 0)
				return cli_usage("convert", "--tag: %s", e.msg);
			tags[o.ntags++] = optarg;
			break;
		case O_PLATFORM: o.platform = optarg; break;
		case O_IMAGE: o.image = optarg; break;
		case O_SQUASH: o.squash = true; break;
		case O_REPLACE: o.replace = true; break;
		case O_FROM: from = optarg; break;
		case O_MANIFEST: o.manifest = true; break;
		case O_SPLIT:
			if ((r = split_option(optarg, &o.split)) != 0)
				return r;
			o.manifest = true;  /* a piece set is checked through its manifest */
			break;
		case O_EXCLUDE_BLOBS:
			if (o.nexclude == 64)
				return cli_usage("convert", "too many --exclude-blobs");
			excl[o.nexclude++] = optarg;
			o.exclude_blobs = excl;
			break;
		case O_BLOBS_FROM:
			if (o.nblobs_from == 64)
				return cli_usage("convert", "too many --blobs-from");
			bfrom[o.nblobs_from++] = optarg;
			o.blobs_from = bfrom;
			break;
		case O_SIGN: o.sign_key = optarg; break;
		case O_JSON: json = true; break;
		default: return cli_usage("convert", "bad option");
		}
	}
	if ((r = convert_sources(argc, argv, from, o.ntags, json, &srcs)) != 0)
		return r;
	o.format = lo.format;
	o.layers = lo.layers;
	o.level = lo.level;
	o.threads = lo.threads;
	o.sync = lo.sync;
	o.limits = lo.limits;
	o.src = srcs.v[0];
	o.dst = argv[argc - 1];
	cli_walker(&w, &hooks, &d, &o.limits);
	o.hooks = &hooks;
	cli_catch_signals();
	o.progress = progress_update;
	o.progress_ctx = &pg;
	if (srcs.len > 1) {
		o.srcs = srcs.v;
		o.nsrcs = srcs.len;
		bp.pg = &pg;
		bp.n = srcs.len;
		o.on_source = on_source;
		o.source_ctx = &bp;
		r = convert_run(&o, &res, &d, &e);
		cli_print_problems(o.dst, &d);
	} else {
		progress_init(&pg, o.src, "converting");
		r = convert_run(&o, &res, &d, &e);
		progress_done(&pg);
		cli_print_problems(o.src, &d);
	}
	if (r < 0) {
		r = cli_fail(srcs.len > 1 ? o.dst : o.src, &e);
		if (json)
			print_summary(&o, &srcs, NULL, &e, r, &d);
		diag_release(&d);
		srclist_release(&srcs);
		return r;
	}
	if (json && (r = print_summary(&o, &srcs, &res, NULL, 0, &d)) != 0) {
		diag_release(&d);
		srclist_release(&srcs);
		return r;
	}
	diag_release(&d);
	print_done(&o, &srcs, &res);
	srclist_release(&srcs);
	return 0;
}

int cmd_import(int argc, char **argv)
{
	enum { O_TAG = O_FIRST_OWN, O_PLATFORM, O_CMD, O_ENTRY, O_ENV, O_WORKDIR, O_USER, O_LABEL, O_CREATED, O_HISTORY };
	static const struct option opts[] = {
		LAYER_OPTIONS,
		{ "tag", required_argument, NULL, O_TAG },
		{ "platform", required_argument, NULL, O_PLATFORM },
		{ "cmd", required_argument, NULL, O_CMD },
		{ "entrypoint", required_argument, NULL, O_ENTRY },
		{ "env", required_argument, NULL, O_ENV },
		{ "workdir", required_argument, NULL, O_WORKDIR },
		{ "user", required_argument, NULL, O_USER },
		{ "label", required_argument, NULL, O_LABEL },
		{ "created", required_argument, NULL, O_CREATED },
		{ "history", required_argument, NULL, O_HISTORY },
		{ NULL, 0, NULL, 0 },
	};
	struct import_opts o = { 0 };
	struct convert_result res;
	struct strata_err e = STRATA_ERR_INIT;
	struct diag d = DIAG_INIT;
	const char *tags[64], *env[256], *labels[256];
	char sz[32];
	struct progress pg;
	struct layer_hooks hooks;
	struct walker w;
	long nproc = sysconf(_SC_NPROCESSORS_ONLN);
	struct layer_opts lo = { TARGET_NONE, LAYERS_KEEP, 0, nproc > 0 ? (int)nproc : 1, 0, false, { 0 } };
	int c, r;

	o.tags = tags;
	o.env = env;
	o.labels = labels;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if ((r = layer_option("import", c, optarg, &lo)) < 0)
			return -r;
		if (r)
			continue;
		switch (c) {
		case O_TAG:
			if (o.ntags == 64)
				return cli_usage("import", "too many --tag");
			if (ref_check_name(optarg, &e) < 0)
				return cli_usage("import", "--tag: %s", e.msg);
			tags[o.ntags++] = optarg;
			break;
		case O_ENV:
			if (o.nenv == 256)
				return cli_usage("import", "too many --env");
			env[o.nenv++] = optarg;
			break;
		case O_LABEL:
			if (o.nlabels == 256)
				return cli_usage("import", "too many --label");
			labels[o.nlabels++] = optarg;
			break;
		case O_PLATFORM: o.platform = optarg; break;
		case O_CMD: o.cmd = optarg; break;
		case O_ENTRY: o.entrypoint = optarg; break;
		case O_WORKDIR: o.workdir = optarg; break;
		case O_USER: o.user = optarg; break;
		case O_CREATED: o.created = optarg; break;
		case O_HISTORY: o.history = optarg; break;
		default: return cli_usage("import", "bad option");
		}
	}
	if (argc - optind != 2)
		return cli_usage("import", "needs ROOTFS and DST");
	o.format = lo.format;
	o.layers = lo.layers;
	o.level = lo.level;
	o.threads = lo.threads;
	o.sync = lo.sync;
	o.limits = lo.limits;
	o.src = argv[optind];
	o.dst = argv[optind + 1];
	cli_walker(&w, &hooks, &d, &o.limits);
	o.hooks = &hooks;
	cli_catch_signals();
	progress_init(&pg, o.src, "importing");
	o.progress = progress_update;
	o.progress_ctx = &pg;
	r = import_run(&o, &res, &d, &e);
	progress_done(&pg);
	cli_print_problems(o.src, &d);
	diag_release(&d);
	if (r < 0)
		return cli_fail(o.src, &e);
	if (!cli.quiet)
		fprintf(stderr, "strata: imported %s to %s: 1 layer (%s), %s written\n", o.src, o.dst,
			res.layers_reencoded ? "re-encoded" : "as stored", human_size(res.bytes_out, sz));
	return 0;
}
