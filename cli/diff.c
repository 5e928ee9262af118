/* diff.c - `strata diff SRC_A SRC_B [--json]`. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/diff.h"
#include "analyze/walk.h"
#include "cli/cli.h"

/* Read one source with content digests and pick its (single) runnable image. */
static int open_one(const char *src, const struct limits *lim, struct source **s, const struct image **im,
		    struct diag *d, struct strata_err *e)
{
	struct layer_hooks hooks;
	struct walker w;
	struct load_opts lo = { 0 };
	size_t i, n = 0;
	int r;

	cli_walker(&w, &hooks, d, lim);
	w.collect = true;
	w.content = true;
	lo.decode = true;
	lo.hooks = &hooks;
	lo.limits = *lim;
	if ((r = source_open(s, src, &lo, d, e)) < 0)
		return r;
	for (i = 0; i < (*s)->images.len; i++)
		if ((*s)->images.v[i]->kind == IMAGE_CONTAINER) {
			if (!n++)
				*im = (*s)->images.v[i];
		}
	if (n == 0)
		return err_set(e, STRATA_EFORMAT, "no image in '%s'", src);
	if (n > 1)
		return err_set(e, STRATA_EUSAGE, "'%s' holds %zu images; name one (docker-archive:PATH:NAME:TAG, oci:DIR:TAG, @N)",
			       src, n);
	return 0;
}

int cmd_diff(int argc, char **argv)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct diag da = DIAG_INIT, db = DIAG_INIT;
	struct source *sa = NULL, *sb = NULL;
	const struct image *ia = NULL, *ib = NULL;
	struct image_diff d = { 0 };
	struct buf out = BUF_INIT(1u << 30);
	struct limits lim = { 0 };
	bool json;
	int r;

	if ((r = cli_json_args("diff", argc, argv, 2, &json, &lim)) != 0)
		return r;
	cli_catch_signals();
	r = open_one(argv[optind], &lim, &sa, &ia, &da, &e);
	cli_print_problems(argv[optind], &da);
	if (r < 0) {
		r = cli_fail(argv[optind], &e);
		goto out;
	}
	r = open_one(argv[optind + 1], &lim, &sb, &ib, &db, &e);
	cli_print_problems(argv[optind + 1], &db);
	if (r < 0) {
		r = cli_fail(argv[optind + 1], &e);
		goto out;
	}
	if ((r = diff_images(ia, ib, &d, &e)) < 0) {
		r = cli_fail(argv[optind], &e);
		goto out;
	}
	if (json) {
		cJSON *doc = diff_json(argv[optind], argv[optind + 1], &d);
		char *txt = cJSON_Print(doc);

		cJSON_Delete(doc);
		if (txt) {
			puts(txt);
			free(txt);
		}
	} else if ((r = diff_text(&out, argv[optind], argv[optind + 1], &d, &e)) == 0) {
		fputs(out.data ? out.data : "", stdout);
	} else {
		r = cli_fail(argv[optind], &e);
		goto out;
	}
	r = diag_exit_code(&da);
	if (!r)
		r = diag_exit_code(&db);
out:
	diff_release(&d);
	buf_release(&out);
	diag_release(&da);
	diag_release(&db);
	source_free(sa);
	source_free(sb);
	return r;
}
