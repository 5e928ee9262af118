/* flatten.c - `strata flatten SRC DST` and `strata unpack SRC DIR`. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "convert/convert.h"

int cmd_flatten(int argc, char **argv)
{
	enum { O_IMAGE = 256, O_PLATFORM, O_GZIP, O_ZSTD, O_XZ, O_PLAIN, O_THREADS, O_SYNC };
	static const struct option opts[] = {
		{ "image", required_argument, NULL, O_IMAGE }, { "platform", required_argument, NULL, O_PLATFORM },
		{ "gzip", optional_argument, NULL, O_GZIP }, { "zstd", optional_argument, NULL, O_ZSTD },
		{ "xz", optional_argument, NULL, O_XZ }, { "no-compress", no_argument, NULL, O_PLAIN },
		{ "threads", required_argument, NULL, O_THREADS }, { "sync", no_argument, NULL, O_SYNC },
		LIMIT_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct flatten_opts o = { 0 };
	struct flatten_result res;
	struct strata_err e = STRATA_ERR_INIT;
	struct diag d = DIAG_INIT;
	struct progress pg;
	long nproc = sysconf(_SC_NPROCESSORS_ONLN);
	char sz[32], sz2[32];
	int c, r, modes = 0;

	o.compression = -1;
	o.threads = nproc > 0 ? (int)nproc : 1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if ((r = cli_limit_option("flatten", c, optarg, &o.limits)) < 0)
			return -r;
		if (r)
			continue;
		switch (c) {
		case O_IMAGE: o.image = optarg; break;
		case O_PLATFORM: o.platform = optarg; break;
		case O_GZIP:
			o.compression = COMP_GZIP;
			if (cli_int_arg(optarg, 1, 9, &o.level) < 0)
				return cli_usage("flatten", "--gzip=LEVEL takes 1 to 9");
			modes++;
			break;
		case O_ZSTD:
			o.compression = COMP_ZSTD;
			if (cli_int_arg(optarg, 1, 19, &o.level) < 0)
				return cli_usage("flatten", "--zstd=LEVEL takes 1 to 19");
			modes++;
			break;
		case O_XZ:
			o.compression = COMP_XZ;
			if (cli_int_arg(optarg, 0, 9, &o.level) < 0)
				return cli_usage("flatten", "--xz=LEVEL takes 0 to 9");
			modes++;
			break;
		case O_PLAIN:
			o.compression = COMP_NONE;
			modes++;
			break;
		case O_THREADS:
			if (cli_int_arg(optarg, 1, 64, &o.threads) < 0)
				return cli_usage("flatten", "--threads takes 1 to 64");
			break;
		case O_SYNC: o.sync = true; break;
		default: return cli_usage("flatten", "bad option");
		}
	}
	if (modes > 1)
		return cli_usage("flatten", "--gzip, --zstd, --xz and --no-compress exclude each other");
	if (argc - optind != 2)
		return cli_usage("flatten", "needs SRC and DST");
	o.src = argv[optind];
	o.dst = argv[optind + 1];
	if (!strcmp(o.dst, "-") && isatty(STDOUT_FILENO))
		return cli_usage("flatten", "will not write a tar to a terminal; redirect stdout or give a file");
	cli_catch_signals();
	progress_init(&pg, o.src, "flattening");
	pg.total *= 2;  /* the source is read twice: verified, then merged */
	o.progress = progress_update;
	o.progress_ctx = &pg;
	r = flatten_run(&o, &res, &d, &e);
	progress_done(&pg);
	cli_print_problems(o.src, &d);
	diag_release(&d);
	if (r < 0)
		return cli_fail(o.src, &e);
	if (!cli.quiet)
		fprintf(stderr, "strata: flattened %s (%s, %zu layer%s) to %s: %llu entries (%llu hidden by upper layers), "
				"%s of files, %s written%s%s\n",
			o.src, res.format, res.layers, res.layers == 1 ? "" : "s", o.dst, (unsigned long long)res.entries,
			(unsigned long long)res.hidden, human_size(res.content_bytes, sz), human_size(res.out_bytes, sz2),
			res.compression != COMP_NONE ? ", " : "",
			res.compression != COMP_NONE ? compression_name(res.compression) : "");
	return 0;
}

int cmd_unpack(int argc, char **argv)
{
	enum { O_IMAGE = 256, O_PLATFORM, O_NO_OWNER };
	static const struct option opts[] = {
		{ "image", required_argument, NULL, O_IMAGE }, { "platform", required_argument, NULL, O_PLATFORM },
		{ "no-same-owner", no_argument, NULL, O_NO_OWNER }, LIMIT_OPTIONS, { NULL, 0, NULL, 0 },
	};
	struct unpack_opts o = { 0 };
	struct unpack_result res;
	struct strata_err e = STRATA_ERR_INIT;
	struct diag d = DIAG_INIT;
	struct progress pg;
	char sz[32];
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if ((r = cli_limit_option("unpack", c, optarg, &o.limits)) < 0)
			return -r;
		if (r)
			continue;
		switch (c) {
		case O_IMAGE: o.image = optarg; break;
		case O_PLATFORM: o.platform = optarg; break;
		case O_NO_OWNER: o.no_same_owner = true; break;
		default: return cli_usage("unpack", "bad option");
		}
	}
	if (argc - optind != 2)
		return cli_usage("unpack", "needs SRC and DIR");
	o.src = argv[optind];
	o.dir = argv[optind + 1];
	cli_catch_signals();
	progress_init(&pg, o.src, "unpacking");
	pg.total *= 2;
	o.progress = progress_update;
	o.progress_ctx = &pg;
	r = unpack_run(&o, &res, &d, &e);
	progress_done(&pg);
	cli_print_problems(o.src, &d);
	diag_release(&d);
	if (r < 0)
		return cli_fail(o.src, &e);
	if (!cli.quiet)
		fprintf(stderr, "strata: unpacked %s (%s, %zu layer%s) into %s: %llu entries (%llu hidden by upper layers, "
				"%llu skipped), %s of files\n",
			o.src, res.format, res.layers, res.layers == 1 ? "" : "s", o.dir, (unsigned long long)res.entries,
			(unsigned long long)res.hidden, (unsigned long long)res.skipped, human_size(res.content_bytes, sz));
	return 0;
}
