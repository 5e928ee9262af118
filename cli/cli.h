/*
 * cli.h - what the command handlers in cli/ share.  Only cli/ prints or
 * exits; handlers return the process exit code (see README "Exit codes").
 */
#ifndef STRATA_CLI_H
#define STRATA_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "common/diag.h"
#include "common/err.h"

struct cli {
	const char *prog;     /* "strata" */
	bool quiet;
};

extern struct cli cli;

int cmd_inspect(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_flatten(int argc, char **argv);
int cmd_unpack(int argc, char **argv);
int cmd_analyze(int argc, char **argv);
int cmd_diff(int argc, char **argv);
/* SIGINT/SIGTERM set strata_cancel (see common/cancel.h); SIGPIPE ignored. */
void cli_catch_signals(void);

/* "strata: error: SRC: msg" on stderr; returns the error's exit code. */
int cli_fail(const char *src, const struct strata_err *e);
/* Every problem as one line on stderr: "strata: error: SRC: MEMBER: msg". */
void cli_print_problems(const char *src, const struct diag *d);
/* Usage error for a command: message + hint, returns 2. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Commands whose only option is --json: parse it and check there are exactly
 * nargs operands (left at argv[optind...]).  0, or the usage exit code. */
int cli_json_args(const char *cmd, int argc, char **argv, int nargs, bool *json);
/* An optional integer option argument in [lo, hi] into *out (NULL arg: *out unchanged); -1 when bad. */
int cli_int_arg(const char *arg, int lo, int hi, int *out);
/* "1.5 MiB" */
const char *human_size(uint64_t n, char buf[32]);
/* Handle --help inside a command: prints its help, returns true. */
bool cli_want_help(const char *cmd, int argc, char **argv);

struct progress {
	const char *src, *verb;
	uint64_t total;        /* 0 when unknown (stdin, directory) */
	bool tty, shown;
	double start, last;
};

void progress_init(struct progress *p, const char *src, const char *verb);
void progress_update(void *ctx, uint64_t bytes);  /* a stream_progress_fn */
void progress_done(struct progress *p);

#endif
