/* inspect.c - `strata inspect SRC [--json]`. */
#include <getopt.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/report.h"

int cmd_inspect(int argc, char **argv)
{
	struct load_opts lo = { 0 };
	struct strata_err e = STRATA_ERR_INIT;
	struct diag d = DIAG_INIT;
	struct source *s;
	bool json;
	int r;

	if ((r = cli_json_args("inspect", argc, argv, 1, &json, &lo.limits)) != 0)
		return r;
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
