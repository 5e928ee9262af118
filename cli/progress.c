/*
 * progress.c - progress on stderr for long runs: a bar redrawn in place on a
 * terminal, a plain line every few seconds otherwise, nothing with --quiet or
 * for runs that finish within a couple of seconds.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "formats/ref.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void progress_init(struct progress *p, const char *src, const char *verb)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct stat st;
	struct ref r;

	p->src = src;
	p->verb = verb;
	p->total = 0;
	if (ref_parse(src, &r, &e) == 0) {
		if (strcmp(r.path, "-") && stat(r.path, &st) == 0 && S_ISREG(st.st_mode))
			p->total = (uint64_t)st.st_size;
		ref_release(&r);
	}
	p->tty = isatty(2);
	p->start = now();
	p->last = p->start;
	p->shown = false;
}

void progress_update(void *ctx, uint64_t bytes)
{
	struct progress *p = ctx;
	double t = now(), every = p->tty ? 0.25 : 5.0;
	char a[32], b[32], r[32];

	if (cli.quiet || t - p->last < every || t - p->start < 2.0)
		return;
	p->last = t;
	human_size(bytes, a);
	human_size((uint64_t)((double)bytes / (t - p->start)), r);
	if (p->total) {
		human_size(p->total, b);
		fprintf(stderr, p->tty ? "\rstrata: %s %s: %3.0f%% %s of %s, %s/s   " : "strata: %s %s: %.0f%% %s of %s, %s/s\n",
			p->verb, p->src, 100.0 * (double)bytes / (double)p->total, a, b, r);
	} else {
		fprintf(stderr, p->tty ? "\rstrata: %s %s: %s, %s/s   " : "strata: %s %s: %s, %s/s\n", p->verb, p->src, a, r);
	}
	p->shown = true;
}

void progress_done(struct progress *p)
{
	if (p->shown && p->tty)
		fputc('\n', stderr);
}
