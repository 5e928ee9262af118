/* inspect.c - `strata inspect SRC [--json]`. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/report.h"
#include "convert/delta.h"

/* Remove a flag (an option without argument) from argv; true when it was there. */
bool cli_take_flag(int *argc, char **argv, const char *flag)
{
	int i, j;
	bool found = false;

	for (i = j = 1; i < *argc; i++) {
		if (!strcmp(argv[i], "--"))
			while (i < *argc)
				argv[j++] = argv[i++];
		else if (!strcmp(argv[i], flag))
			found = true;
		else
			argv[j++] = argv[i];
		if (i >= *argc)
			break;
	}
	*argc = j;
	argv[j] = NULL;
	return found;
}

static int digest_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* inspect --blobs: every blob digest the source holds, sorted, one a line
 * (what a delta's --exclude-blobs reads). */
static int inspect_blobs(const char *src, bool json, struct load_opts *lo)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct diag d = DIAG_INIT;
	struct strmap set = STRMAP_INIT;
	struct source *s;
	const char **v = NULL;
	size_t i;
	int r;

	if (json)
		return cli_usage("inspect", "--blobs prints a plain list, one digest a line: no --json");
	if (source_open(&s, src, lo, &d, &e) < 0) {
		cli_print_problems(src, &d);
		diag_release(&d);
		return cli_fail(src, &e);
	}
	if ((r = delta_source_blobs(s, &set, &e)) < 0 || !(v = calloc(set.len + 1, sizeof(*v)))) {
		if (r == 0)
			err_nomem(&e, "blobs");
		r = cli_fail(src, &e);
	} else {
		for (i = 0; i < set.len; i++)
			v[i] = set.items[i].key;
		qsort(v, set.len, sizeof(*v), digest_cmp);
		for (i = 0; i < set.len; i++)
			printf("%s\n", v[i]);
		r = fflush(stdout) || ferror(stdout) ? STRATA_EIO : 0;
		cli_print_problems(src, &d);
	}
	free(v);
	strmap_release(&set);
	diag_release(&d);
	source_free(s);
	return r;
}

int cmd_inspect(int argc, char **argv)
{
	struct load_opts lo = { 0 };
	struct strata_err e = STRATA_ERR_INIT;
	struct diag d = DIAG_INIT;
	struct source *s;
	bool json;
	int r;

	bool blobs = cli_take_flag(&argc, argv, "--blobs");

	if ((r = cli_json_args("inspect", argc, argv, 1, &json, &lo.limits)) != 0)
		return r;
	if (blobs)
		return inspect_blobs(argv[optind], json, &lo);
	if (source_open(&s, argv[optind], &lo, &d, &e) < 0) {
		cli_print_problems(argv[optind], &d);
		diag_release(&d);
		return cli_fail(argv[optind], &e);
	}
	if (json)
		r = report_print_json(report_source_json(argv[optind], s));
	else {
		report_source_text(stdout, argv[optind], s);
		r = 0;
	}
	cli_print_problems(argv[optind], &d);
	if (!r)
		r = diag_exit_code(&d);
	diag_release(&d);
	source_free(s);
	return r;
}
