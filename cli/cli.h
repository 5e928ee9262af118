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
#include "common/fsutil.h"
#include "common/limits.h"
#include "common/size.h"

struct cli {
	const char *prog;     /* "strata" */
	bool quiet;
	bool reported;        /* an error line was printed (main adds none) */
};

extern struct cli cli;

/* The command table (cli/main.c): help, option checking and the completion
 * scripts are all made from it.  An option is a line of help (or of
 * LIMIT_HELP when limits) that starts "  -": "  -o, --output FILE" takes an
 * argument (one space, then a capital), "  --gzip[=LEVEL]" an optional one. */
struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
	const char *summary;
	const char *help;      /* what it does, then its own options */
	bool limits;           /* takes LIMIT_OPTIONS (strata help limits) */
	const char *examples;
};

extern const struct command cli_commands[];
extern const size_t cli_ncommands;

enum opt_arg { OPT_NONE, OPT_REQUIRED, OPT_OPTIONAL };

struct cli_opt {
	char name[32];         /* "output", without dashes; "" when only short */
	char short_name;       /* 'o', or 0 */
	enum opt_arg arg;
	char desc[80];         /* the first line of its description */
};

/* The options a command takes, its own then the limits then --quiet and
 * --help; c NULL: the global ones (before the command).  Returns how many
 * (at most max). */
size_t cli_options(const struct command *c, struct cli_opt *out, size_t max);
const struct command *cli_find(const char *name);
/* Check a command's arguments against its options, take out --quiet, and
 * put the global options seen before the command (pre, npre) first.  *out
 * (freed by the caller) and *nargc get the new argv.  0, or the usage exit code
 * (one line printed). */
int cli_args(const struct command *c, char **pre, int npre, int argc, char **argv, int *nargc, char ***out);
/* The nearest of n names to word (a prefix of it, or a few edits away), or NULL. */
const char *cli_suggest(const char *word, const char *const *names, size_t n);
int cmd_completion(int argc, char **argv);

int cmd_inspect(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_flatten(int argc, char **argv);
int cmd_unpack(int argc, char **argv);
int cmd_analyze(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_sbom(int argc, char **argv);
/* SIGINT/SIGTERM set strata_cancel (see common/cancel.h); SIGPIPE ignored. */
void cli_catch_signals(void);

/* "strata: error: SRC: msg" on stderr; returns the error's exit code.  Once
 * memory ran out (strata_oom_seen) it says that instead, and returns 3. */
int cli_fail(const char *src, const struct strata_err *e);
/* Every problem as one line on stderr: "strata: error: SRC: MEMBER: msg";
 * none once memory ran out (they may be the shortage in disguise). */
void cli_print_problems(const char *src, const struct diag *d);
/* Usage error for a command: message + hint, returns 2. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Commands whose only options are --json and the limits: parse them into
 * *json and *lim and check there are exactly nargs operands (left at
 * argv[optind...]).  0, or the usage exit code. */
int cli_json_args(const char *cmd, int argc, char **argv, int nargs, bool *json, struct limits *lim);
/* Remove the flag (an option without argument) from argv (before any "--");
 * true when it was given (inspect --blobs). */
bool cli_take_flag(int *argc, char **argv, const char *flag);

/* An optional integer option argument in [lo, hi] into *out (NULL arg: *out unchanged); -1 when bad. */
int cli_int_arg(const char *arg, int lo, int hi, int *out);

/*
 * The resource bounds (common/limits.h) every command that reads a source
 * takes.  A command adds LIMIT_OPTIONS to its getopt_long table, sets limits
 * in its cli_commands entry (LIMIT_HELP is `strata help limits`), and lets
 * cli_limit_option() look at each option first:
 *   if ((r = cli_limit_option(cmd, c, optarg, &lim)) < 0) return -r; if (r) continue;
 */
enum { O_MAX_SIZE = 0x4000, O_MAX_RATIO, O_MAX_ENTRIES, O_MAX_JSON, O_MAX_HEADER, O_MAX_DESCRIPTORS, O_MAX_LAYERS,
       O_STRICT, O_ALLOW_UNSAFE, O_ALLOW_MISSING, O_ALLOW_REBUILT };
#define LIMIT_OPTIONS \
	{ "max-size", required_argument, NULL, O_MAX_SIZE }, { "max-ratio", required_argument, NULL, O_MAX_RATIO }, \
	{ "max-entries", required_argument, NULL, O_MAX_ENTRIES }, { "max-json", required_argument, NULL, O_MAX_JSON }, \
	{ "max-header", required_argument, NULL, O_MAX_HEADER }, \
	{ "max-descriptors", required_argument, NULL, O_MAX_DESCRIPTORS }, \
	{ "max-layers", required_argument, NULL, O_MAX_LAYERS }, { "strict", no_argument, NULL, O_STRICT }, \
	{ "allow-unsafe-layers", no_argument, NULL, O_ALLOW_UNSAFE }, \
	{ "allow-missing-blobs", no_argument, NULL, O_ALLOW_MISSING }, \
	{ "allow-rebuilt-layers", no_argument, NULL, O_ALLOW_REBUILT }
#define LIMIT_HELP \
	"\nLimits (input beyond one stops the run, exit code 4; raise a limit to read such input):\n" \
	"  --max-size SIZE    bytes of one blob or layer, stored and decompressed, and of a\n" \
	"                     compressed archive after decompression (default 64G)\n" \
	"  --max-ratio N      decompressed / compressed bytes of a compressed stream once 16 MiB came\n" \
	"                     out; past it the stream is a likely decompression bomb (default 500)\n" \
	"  --max-entries N    entries of one layer, members of the archive (default 10000000)\n" \
	"  --max-json SIZE    one JSON document (default 4M; all of them: 16 times that)\n" \
	"  --max-header SIZE  one pax extended header or GNU long name (default 1M)\n" \
	"  --max-descriptors N  descriptors the documents lead to, each time one is reached:\n" \
	"                     index and manifest.json entries, configs, layers (default 10000)\n" \
	"  --max-layers N     layers of one image (default 1000)\n" \
	"  SIZE: bytes, or with K, M, G, T (KiB, MiB, ...); KB, MB, ... are powers of 1000\n" \
	"Judging:\n" \
	"  --strict               every warning is an error\n" \
	"  --allow-unsafe-layers  unsafe layer entries (absolute or escaping names, writes through\n" \
	"                         symlinks, ...) are warnings, not errors: to move such images on purpose\n" \
	"  --allow-missing-blobs  convert: write images whose blobs (foreign layers) the source lacks\n" \
	"  --allow-rebuilt-layers docker-root:, containers-storage:: a layer without tar-split is\n" \
	"                         written as a fresh tar of its files (new diff_id and image ID)\n"
/* 1: c was a limit option, stored in *lim; 0: not one; <0: a usage error
 * (printed), whose exit code is -r. */
int cli_limit_option(const char *cmd, int c, const char *arg, struct limits *lim);
/* A whole document to path ("-" or NULL: stdout): a regular file is written
 * under a temp name and renamed when complete, a device or FIFO is written
 * into (fsutil's output_resolve); 0, or <0 with e. */
int cli_write_output(const char *path, const char *p, size_t n, struct strata_err *e);
/* The same, for a document written in pieces (analyze --files streams its
 * file lists): cli_out_open() where cli_write_output() would write, then
 * cli_out_write() each piece in order, then cli_out_close() (flushes stdout,
 * or renames the temp file into place), or after any failure
 * cli_out_abort() (the temp file removed, the destination untouched).
 * cli_out_write() is a report_write_fn (analyze.h): ctx is the cli_out. */
struct cli_out {
	const char *path;      /* NULL: stdout */
	int fd;                /* the device or FIFO, or the temp file of f */
	struct atomic_file f;  /* f.tmp NULL: not a regular file */
};
int cli_out_open(struct cli_out *o, const char *path, struct strata_err *e);
int cli_out_write(void *ctx, const char *p, size_t n, struct strata_err *e);
int cli_out_close(struct cli_out *o, struct strata_err *e);
void cli_out_abort(struct cli_out *o);
/* The layer walker for a command that reads a source, judging by lim's
 * policy (--allow-unsafe-layers: one warning line says so). */
struct walker;
struct layer_hooks;
void cli_walker(struct walker *w, struct layer_hooks *h, struct diag *d, const struct limits *lim);
/* The container images of s chosen by image (@N, NAME:TAG or TAG) and
 * platform (os/arch[/variant]), either NULL for all, into *out (freed by
 * the caller; NULL on error).  STRATA_EUSAGE when nothing matches. */
struct source;
struct image;
int cli_pick(struct source *s, const char *image, const char *platform, const struct image ***out, size_t *n,
	     struct strata_err *e);
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
