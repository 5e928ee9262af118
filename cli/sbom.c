/* sbom.c - `strata sbom SRC [--format cyclonedx-json|spdx-json] [-o FILE] [--all] [--image REF] [--platform P]`. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/sbom.h"
#include "analyze/walk.h"
#include "cli/cli.h"
#include "formats/json.h"

/* One image's SBOM through o: pretty, or one compact line (--all). */
static int sbom_one(struct cli_out *o, const struct image *im, enum sbom_format f, bool line, size_t *npkgs,
		    struct strata_err *e)
{
	struct sbom sb = { 0 };
	char ts[32];
	int r;

	if (sbom_time(json_str(im->config_json, "created"), getenv("SOURCE_DATE_EPOCH"), ts) < 0)
		return err_set(e, STRATA_EUSAGE, "SOURCE_DATE_EPOCH is not a number of seconds");
	if ((r = sbom_build(im, NULL, &sb, e)) < 0)
		return r;
	r = sbom_write(&sb, f, ts, line, cli_out_write, o, e);
	*npkgs += sb.len;
	sbom_release(&sb);
	return r;
}

int cmd_sbom(int argc, char **argv)
{
	enum { O_FORMAT = 256, O_IMAGE, O_PLATFORM, O_ALL };
	static const struct option opts[] = {
		{ "format", required_argument, NULL, O_FORMAT },
		{ "output", required_argument, NULL, 'o' },
		{ "image", required_argument, NULL, O_IMAGE },
		{ "platform", required_argument, NULL, O_PLATFORM },
		{ "all", no_argument, NULL, O_ALL },
		LIMIT_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct strata_err e = STRATA_ERR_INIT;
	struct diag d = DIAG_INIT;
	struct layer_hooks hooks;
	struct walker w;
	struct load_opts lo = { 0 };
	struct cli_out o;
	struct source *s = NULL;
	struct progress pg;
	const char *format = "cyclonedx-json", *output = NULL, *src, *image = NULL, *platform = NULL;
	const struct image **picked = NULL;
	char ts[32];
	bool all = false;
	size_t npicked = 0, npkgs = 0, i;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		if ((r = cli_limit_option("sbom", c, optarg, &lo.limits)) < 0)
			return -r;
		if (r)
			continue;
		switch (c) {
		case O_FORMAT:
			if (strcmp(optarg, "cyclonedx-json") && strcmp(optarg, "spdx-json"))
				return cli_usage("sbom", "--format is cyclonedx-json or spdx-json, not '%s'", optarg);
			format = optarg;
			break;
		case O_IMAGE: image = optarg; break;
		case O_PLATFORM: platform = optarg; break;
		case O_ALL: all = true; break;
		case 'o': output = optarg; break;
		default: return cli_usage("sbom", "bad option");
		}
	}
	if (argc - optind != 1)
		return cli_usage("sbom", "needs exactly one SRC");
	if (getenv("SOURCE_DATE_EPOCH") && sbom_time(NULL, getenv("SOURCE_DATE_EPOCH"), ts) < 0)
		return cli_usage("sbom", "SOURCE_DATE_EPOCH is not a number of seconds: '%s'", getenv("SOURCE_DATE_EPOCH"));
	src = argv[optind];
	cli_walker(&w, &hooks, &d, &lo.limits);
	w.collect = true;
	w.content = true;
	w.sbom = true;
	lo.decode = true;
	lo.hooks = &hooks;
	progress_init(&pg, src, "reading");
	lo.progress = progress_update;
	lo.progress_ctx = &pg;
	cli_catch_signals();
	r = source_open(&s, src, &lo, &d, &e);
	progress_done(&pg);
	cli_print_problems(src, &d);
	if (r < 0) {
		diag_release(&d);
		return cli_fail(src, &e);
	}
	/* a source that fails verification gets no SBOM: its content is not what it claims */
	if ((r = diag_exit_code(&d)) != 0) {
		/* else main says only that memory ran out; an I/O error (a spill file that cannot be read) said it */
		if (!cli.quiet && !strata_oom_seen() && r != STRATA_EIO)
			fprintf(stderr, "strata: %s failed verification: no SBOM written\n", src);
		goto out;
	}
	if ((r = cli_pick(s, image, platform, &picked, &npicked, &e)) < 0)
		goto fail;
	if (npicked != 1 && !all) {
		r = cli_usage("sbom", "%s holds %zu images: choose one with --image or --platform (or --all)", src, npicked);
		goto out;
	}
	if ((r = cli_out_open(&o, output, &e)) < 0)
		goto fail;
	for (i = 0; i < npicked && r == 0; i++)
		r = sbom_one(&o, picked[i], !strcmp(format, "spdx-json") ? SBOM_SPDX : SBOM_CYCLONEDX, all, &npkgs, &e);
	if (r == 0)
		r = digests_check(&e);  /* every digest the SBOM lists was read back */
	if (r == 0)
		r = cli_out_close(&o, &e);
	else
		cli_out_abort(&o);
	if (r < 0)
		goto fail;
	if (output && !cli.quiet)
		fprintf(stderr, "strata: wrote the %s SBOM%s of %s (%zu packages) to %s\n", format, npicked == 1 ? "" : "s", src,
			npkgs, output);
	r = 0;
	goto out;
fail:
	r = cli_fail(src, &e);
out:
	free(picked);
	diag_release(&d);
	source_free(s);
	return r;
}
