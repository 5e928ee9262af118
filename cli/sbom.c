/* sbom.c - `strata sbom SRC [--format cyclonedx-json|spdx-json] [-o FILE] [--image REF] [--platform P]`. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/sbom.h"
#include "analyze/walk.h"
#include "cli/cli.h"
#include "formats/json.h"

int cmd_sbom(int argc, char **argv)
{
	enum { O_FORMAT = 256, O_IMAGE, O_PLATFORM };
	static const struct option opts[] = {
		{ "format", required_argument, NULL, O_FORMAT },
		{ "output", required_argument, NULL, 'o' },
		{ "image", required_argument, NULL, O_IMAGE },
		{ "platform", required_argument, NULL, O_PLATFORM },
		LIMIT_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct strata_err e = STRATA_ERR_INIT;
	struct diag d = DIAG_INIT;
	struct layer_hooks hooks;
	struct walker w;
	struct load_opts lo = { 0 };
	struct sbom sb = { 0 };
	struct source *s = NULL;
	struct progress pg;
	const char *format = "cyclonedx-json", *output = NULL, *src, *image = NULL, *platform = NULL;
	const struct image **picked = NULL;
	char ts[32];
	char *txt = NULL;
	cJSON *doc;
	size_t npicked = 0;
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
		if (!cli.quiet && !strata_oom_seen())  /* else main says only that memory ran out */
			fprintf(stderr, "strata: %s failed verification: no SBOM written\n", src);
		goto out;
	}
	if ((r = cli_pick(s, image, platform, &picked, &npicked, &e)) < 0)
		goto fail;
	if (npicked != 1) {
		r = cli_usage("sbom", "%s holds %zu images: choose one with --image or --platform", src, npicked);
		goto out;
	}
	if (sbom_time(json_str(picked[0]->config_json, "created"), getenv("SOURCE_DATE_EPOCH"), ts) < 0) {
		r = err_set(&e, STRATA_EUSAGE, "SOURCE_DATE_EPOCH is not a number of seconds");
		goto fail;
	}
	if ((r = sbom_build(picked[0], &sb, &e)) < 0)
		goto fail;
	doc = !strcmp(format, "spdx-json") ? sbom_spdx(&sb, ts) : sbom_cyclonedx(&sb, ts);
	txt = doc ? cJSON_Print(doc) : NULL;
	cJSON_Delete(doc);
	if (!txt) {
		r = err_nomem(&e, "sbom");
		goto fail;
	}
	{
		size_t n = strlen(txt);

		txt[n] = '\n';  /* cJSON_Print's NUL becomes the last newline */
		r = cli_write_output(output, txt, n + 1, &e);
	}
	if (r < 0)
		goto fail;
	if (output && !cli.quiet)
		fprintf(stderr, "strata: wrote the %s SBOM of %s (%zu packages) to %s\n", format, src, sb.len, output);
	r = 0;
	goto out;
fail:
	r = cli_fail(src, &e);
out:
	free(txt);
	sbom_release(&sb);
	free(picked);
	diag_release(&d);
	source_free(s);
	return r;
}
