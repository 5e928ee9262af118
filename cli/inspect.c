/* inspect.c - `strata inspect SRC [--json]`. */
#include <getopt.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/report.h"

int cmd_inspect(int argc, char **argv)
{
	static const struct option opts[] = { { "json", no_argument, NULL, 'j' }, { NULL, 0, NULL, 0 } };
	struct load_opts lo = { 0 };
	struct strata_err e = STRATA_ERR_INIT;
	struct diag d = DIAG_INIT;
	struct source *s;
	bool json = false;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'j')
			json = true;
		else
			return cli_usage("inspect", "bad option");
	}
	if (argc - optind != 1)
		return cli_usage("inspect", "needs exactly one SRC");
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
