/* convert.c - `strata convert SRC DST [options]`. */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/cancel.h"
#include "convert/convert.h"

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

static int level_arg(const char *arg, int lo, int hi, int *out)
{
	char *end;
	long v;

	if (!arg)
		return 0;
	v = strtol(arg, &end, 10);
	if (*end || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

int cmd_convert(int argc, char **argv)
{
	enum { O_FORMAT = 256, O_KEEP, O_GZIP, O_ZSTD, O_DECOMP, O_THREADS, O_PRESERVE, O_TAG, O_PLATFORM };
	static const struct option opts[] = {
		{ "format", required_argument, NULL, O_FORMAT },
		{ "keep", no_argument, NULL, O_KEEP },
		{ "gzip", optional_argument, NULL, O_GZIP },
		{ "zstd", optional_argument, NULL, O_ZSTD },
		{ "decompress", no_argument, NULL, O_DECOMP },
		{ "threads", required_argument, NULL, O_THREADS },
		{ "preserve-digests", no_argument, NULL, O_PRESERVE },
		{ "tag", required_argument, NULL, O_TAG },
		{ "platform", required_argument, NULL, O_PLATFORM },
		{ NULL, 0, NULL, 0 },
	};
	struct convert_opts o = { 0 };
	struct convert_result res;
	struct strata_err e = STRATA_ERR_INIT;
	struct diag d = DIAG_INIT;
	const char *tags[64];
	char sz[32];
	struct progress pg;
	long nproc = sysconf(_SC_NPROCESSORS_ONLN);
	int c, r, modes = 0;

	o.threads = nproc > 0 ? (int)nproc : 1;
	o.tags = tags;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case O_FORMAT:
			if (!strcmp(optarg, "oci"))
				o.format = TARGET_OCI;
			else if (!strcmp(optarg, "oci-archive"))
				o.format = TARGET_OCI_ARCHIVE;
			else if (!strcmp(optarg, "docker-archive"))
				o.format = TARGET_DOCKER_ARCHIVE;
			else
				return cli_usage("convert", "--format is oci, oci-archive or docker-archive, not '%s'", optarg);
			break;
		case O_KEEP: o.layers = LAYERS_KEEP; modes++; break;
		case O_DECOMP: o.layers = LAYERS_DECOMPRESS; modes++; break;
		case O_GZIP:
			o.layers = LAYERS_GZIP;
			modes++;
			if (level_arg(optarg, 1, 9, &o.level) < 0)
				return cli_usage("convert", "--gzip=LEVEL takes 1 to 9");
			break;
		case O_ZSTD:
			o.layers = LAYERS_ZSTD;
			modes++;
			if (level_arg(optarg, 1, 19, &o.level) < 0)
				return cli_usage("convert", "--zstd=LEVEL takes 1 to 19");
			break;
		case O_THREADS:
			if (level_arg(optarg, 1, 64, &o.threads) < 0)
				return cli_usage("convert", "--threads takes 1 to 64");
			break;
		case O_PRESERVE: o.preserve_digests = true; break;
		case O_TAG:
			if (o.ntags == sizeof(tags) / sizeof(tags[0]))
				return cli_usage("convert", "too many --tag");
			tags[o.ntags++] = optarg;
			break;
		case O_PLATFORM: o.platform = optarg; break;
		default: return cli_usage("convert", "bad option");
		}
	}
	if (modes > 1)
		return cli_usage("convert", "--keep, --gzip, --zstd and --decompress exclude each other");
	if (argc - optind != 2)
		return cli_usage("convert", "needs SRC and DST");
	o.src = argv[optind];
	o.dst = argv[optind + 1];
	cli_catch_signals();
	progress_init(&pg, o.src, "converting");
	o.progress = progress_update;
	o.progress_ctx = &pg;
	r = convert_run(&o, &res, &d, &e);
	progress_done(&pg);
	cli_print_problems(o.src, &d);
	diag_release(&d);
	if (r < 0)
		return cli_fail(o.src, &e);
	if (!cli.quiet)
		fprintf(stderr, "strata: converted %s (%s) to %s: %zu image%s, %zu layer%s (%zu re-encoded), %s of layers written\n",
			o.src, res.format, o.dst, res.images, res.images == 1 ? "" : "s", res.layers,
			res.layers == 1 ? "" : "s", res.layers_reencoded, human_size(res.bytes_out, sz));
	return 0;
}

int cmd_import(int argc, char **argv)
{
	enum { O_FORMAT = 256, O_GZIP, O_ZSTD, O_DECOMP, O_THREADS, O_TAG, O_PLATFORM, O_CMD, O_ENTRY, O_ENV,
	       O_WORKDIR, O_USER, O_LABEL, O_CREATED, O_HISTORY, O_KEEP };
	static const struct option opts[] = {
		{ "format", required_argument, NULL, O_FORMAT },
		{ "keep", no_argument, NULL, O_KEEP },
		{ "gzip", optional_argument, NULL, O_GZIP },
		{ "zstd", optional_argument, NULL, O_ZSTD },
		{ "decompress", no_argument, NULL, O_DECOMP },
		{ "threads", required_argument, NULL, O_THREADS },
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
	long nproc = sysconf(_SC_NPROCESSORS_ONLN);
	int c, r, modes = 0;

	o.threads = nproc > 0 ? (int)nproc : 1;
	o.tags = tags;
	o.env = env;
	o.labels = labels;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case O_FORMAT:
			if (!strcmp(optarg, "oci"))
				o.format = TARGET_OCI;
			else if (!strcmp(optarg, "oci-archive"))
				o.format = TARGET_OCI_ARCHIVE;
			else if (!strcmp(optarg, "docker-archive"))
				o.format = TARGET_DOCKER_ARCHIVE;
			else
				return cli_usage("import", "--format is oci, oci-archive or docker-archive, not '%s'", optarg);
			break;
		case O_KEEP: o.layers = LAYERS_KEEP; modes++; break;
		case O_DECOMP: o.layers = LAYERS_DECOMPRESS; modes++; break;
		case O_GZIP:
			o.layers = LAYERS_GZIP;
			modes++;
			if (level_arg(optarg, 1, 9, &o.level) < 0)
				return cli_usage("import", "--gzip=LEVEL takes 1 to 9");
			break;
		case O_ZSTD:
			o.layers = LAYERS_ZSTD;
			modes++;
			if (level_arg(optarg, 1, 19, &o.level) < 0)
				return cli_usage("import", "--zstd=LEVEL takes 1 to 19");
			break;
		case O_THREADS:
			if (level_arg(optarg, 1, 64, &o.threads) < 0)
				return cli_usage("import", "--threads takes 1 to 64");
			break;
		case O_TAG:
			if (o.ntags == 64)
				return cli_usage("import", "too many --tag");
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
	if (modes > 1)
		return cli_usage("import", "--keep, --gzip, --zstd and --decompress exclude each other");
	if (argc - optind != 2)
		return cli_usage("import", "needs ROOTFS and DST");
	o.src = argv[optind];
	o.dst = argv[optind + 1];
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
