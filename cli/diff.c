/* diff.c - `strata diff SRC_A SRC_B [--json] [--exit-code] [--image[-a|-b] REF] [--platform[-a|-b] P]`. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/diff.h"
#include "analyze/walk.h"
#include "cli/cli.h"

/* One side: its source, and the image --image / --platform choose there.
 * The walker lives as long as the source: the layers' records are in its
 * spill (analyze/files.h). */
struct side {
	const char *src, *image, *platform;
	struct source *s;
	const struct image *im;
	struct diag d;
	struct walker w;
	struct layer_hooks hooks;
};

/* Read one source with content digests and pick its (single) runnable image. */
static int open_one(struct side *sd, const struct limits *lim, struct strata_err *e)
{
	struct walker *w = &sd->w;
	struct load_opts lo = { 0 };
	const struct image **v = NULL;
	size_t n;
	int r;

	cli_walker(w, &sd->hooks, &sd->d, lim);
	w->collect = true;
	w->content = true;
	w->sbom = true;   /* packages with their licenses, as sbom reads them */
	w->risks = true;  /* findings, as analyze places them */
	lo.decode = true;
	lo.hooks = &sd->hooks;
	lo.limits = *lim;
	if ((r = source_open(&sd->s, sd->src, &lo, &sd->d, e)) < 0)
		return r;
	if ((r = cli_pick(sd->s, sd->image, sd->platform, &v, &n, e)) < 0)
		goto out;
	if (n == 0)
		r = err_set(e, STRATA_EFORMAT, "no image in '%s'", sd->src);
	else if (n > 1)
		r = err_set(e, STRATA_EUSAGE,
			    "'%s' holds %zu images; name one (--image @N, --image NAME:TAG, --platform os/arch, "
			    "or a reference: docker-archive:PATH:NAME:TAG, oci:DIR:TAG)", sd->src, n);
	else
		sd->im = v[0];
out:
	free(v);
	return r;
}

/* Open one side and print its problems: 0, or the exit code.  A scan that
 * ended in an I/O error (a spill file that cannot be read, memory that ran
 * out) said so, and leaves nothing to compare: the command stops there, as
 * sbom does, with that one line.  Other failed verdicts are compared and
 * give the exit code at the end. */
static int open_side(struct side *sd, const struct limits *lim)
{
	struct strata_err e = STRATA_ERR_INIT;
	int r = open_one(sd, lim, &e);

	cli_print_problems(sd->src, &sd->d);
	if (r < 0)
		return cli_fail(sd->src, &e);
	return diag_exit_code(&sd->d) == STRATA_EIO ? STRATA_EIO : 0;
}

int cmd_diff(int argc, char **argv)
{
	enum { O_JSON = 256, O_EXIT, O_IMAGE, O_IMAGE_A, O_IMAGE_B, O_PLATFORM, O_PLATFORM_A, O_PLATFORM_B };
	static const struct option opts[] = {
		{ "json", no_argument, NULL, O_JSON }, { "exit-code", no_argument, NULL, O_EXIT },
		{ "image", required_argument, NULL, O_IMAGE }, { "image-a", required_argument, NULL, O_IMAGE_A },
		{ "image-b", required_argument, NULL, O_IMAGE_B }, { "platform", required_argument, NULL, O_PLATFORM },
		{ "platform-a", required_argument, NULL, O_PLATFORM_A },
		{ "platform-b", required_argument, NULL, O_PLATFORM_B },
		LIMIT_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct strata_err e = STRATA_ERR_INIT;
	struct side a = { .d = DIAG_INIT }, b = { .d = DIAG_INIT };
	struct image_diff d = { 0 };
	struct cli_out o;
	struct limits lim = { 0 };
	bool json = false, exit_code = false;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if ((r = cli_limit_option("diff", c, optarg, &lim)) < 0)
			return -r;
		if (r)
			continue;
		switch (c) {
		case O_JSON: json = true; break;
		case O_EXIT: exit_code = true; break;
		case O_IMAGE: a.image = b.image = optarg; break;
		case O_IMAGE_A: a.image = optarg; break;
		case O_IMAGE_B: b.image = optarg; break;
		case O_PLATFORM: a.platform = b.platform = optarg; break;
		case O_PLATFORM_A: a.platform = optarg; break;
		case O_PLATFORM_B: b.platform = optarg; break;
		default: return cli_usage("diff", "bad option");
		}
	}
	if (argc - optind != 2)
		return cli_usage("diff", "needs SRC_A and SRC_B");
	a.src = argv[optind];
	b.src = argv[optind + 1];
	cli_catch_signals();
	if ((r = open_side(&a, &lim)) != 0 || (r = open_side(&b, &lim)) != 0)
		goto out;
	if ((r = diff_images(a.im, b.im, &d, &e)) < 0 || (r = digests_check(&e)) < 0) {  /* contents compared */
		r = cli_fail(a.src, &e);
		goto out;
	}
	/* written as it is made: 900,000 files added are 68 MB of JSON */
	if ((r = cli_out_open(&o, NULL, &e)) == 0) {
		r = json ? diff_json_write(a.src, b.src, &d, false, cli_out_write, &o, &e)
			 : diff_text(a.src, b.src, &d, cli_out_write, &o, &e);
		if (r == 0)
			r = cli_out_close(&o, &e);
		else
			cli_out_abort(&o);
	}
	if (r < 0) {
		r = cli_fail(a.src, &e);
		goto out;
	}
	r = diag_exit_code(&a.d);
	if (!r)
		r = diag_exit_code(&b.d);
	/* as git diff --exit-code: 1 when there are differences */
	if (!r && exit_code && diff_differs(&d))
		r = STRATA_EVERIFY;
out:
	diff_release(&d);
	diag_release(&a.d);
	diag_release(&b.d);
	source_free(a.s);
	source_free(b.s);
	return r;
}
