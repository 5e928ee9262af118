/*
 * args.c - the options of each command, read from its help text (cli.h),
 * checked before the command's own getopt_long sees them: one line for a
 * bad option, with the nearest real one ("did you mean --gzip?", as git
 * says), and the global options accepted before or after the command.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const char global_help[] =
	"  -q, --quiet        no progress, no summaries, no warnings\n"
	"  -h, --help         this help\n";

/* One "  -x, --name ARG   text" line into *o; 0 when it is not an option line. */
static int parse_line(const char *p, const char *end, struct cli_opt *o)
{
	size_t n;

	memset(o, 0, sizeof(*o));
	if (strncmp(p, "  -", 3))
		return 0;
	p += 2;
	if (p[1] != '-') {
		o->short_name = p[1];
		p += 2;
		if (strncmp(p, ", ", 2))
			return 0;
		p += 2;
	}
	if (strncmp(p, "--", 2))
		return 0;
	p += 2;
	for (n = 0; p + n < end && (p[n] == '-' || (p[n] >= 'a' && p[n] <= 'z') || (p[n] >= '0' && p[n] <= '9')); n++)
		;
	if (!n || n >= sizeof(o->name))
		return 0;
	memcpy(o->name, p, n);
	p += n;
	if (!strncmp(p, "[=", 2))
		o->arg = OPT_OPTIONAL;
	else if (p[0] == ' ' && p[1] >= 'A' && p[1] <= 'Z')
		o->arg = OPT_REQUIRED;
	while (p < end && *p != ' ')
		p++;
	if (o->arg == OPT_REQUIRED)
		for (p++; p < end && *p != ' '; p++)
			;
	while (p < end && *p == ' ')
		p++;
	n = (size_t)(end - p) < sizeof(o->desc) - 1 ? (size_t)(end - p) : sizeof(o->desc) - 1;
	memcpy(o->desc, p, n);
	return 1;
}

static size_t parse_help(const char *text, struct cli_opt *out, size_t len, size_t max)
{
	const char *p = text, *nl;

	for (; *p && len < max; p = *nl ? nl + 1 : nl) {
		if (!(nl = strchr(p, '\n')))
			nl = p + strlen(p);
		if (parse_line(p, nl, &out[len]))
			len++;
	}
	return len;
}

size_t cli_options(const struct command *c, struct cli_opt *out, size_t max)
{
	size_t n = 0;

	if (c)
		n = parse_help(c->help, out, n, max);
	if (!c || c->limits)
		n = parse_help(LIMIT_HELP, out, n, max);
	return parse_help(global_help, out, n, max);
}

const struct command *cli_find(const char *name)
{
	size_t i;

	for (i = 0; i < cli_ncommands; i++)
		if (!strcmp(cli_commands[i].name, name))
			return &cli_commands[i];
	return NULL;
}

static size_t edits(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, row[64], prev, tmp;

	if (la >= 64 || lb >= 64)
		return 64;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			tmp = row[j];
			row[j] = prev + (a[i - 1] != b[j - 1]);
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			if (tmp + 1 < row[j])
				row[j] = tmp + 1;
			prev = tmp;
		}
	}
	return row[lb];
}

const char *cli_suggest(const char *word, const char *const *names, size_t n)
{
	const char *best = NULL;
	size_t i, d, best_d = (size_t)-1, wl = strlen(word);

	for (i = 0; i < n; i++) {
		size_t nl = strlen(names[i]);

		/* a name that starts the word (--jsonx) or the word that starts a name */
		if (nl && wl >= 3 && (!strncmp(word, names[i], nl) || !strncmp(names[i], word, wl)))
			d = 1;
		else
			d = edits(word, names[i]);
		if (d < best_d) {
			best_d = d;
			best = names[i];
		}
	}
	/* at most a third of the word wrong, as git's help.autocorrect judges typos */
	return best && best_d <= (wl < 6 ? 2 : wl / 3) ? best : NULL;
}

static int bad_option(const struct command *c, const char *arg, const struct cli_opt *opts, size_t n,
		      const char *why)
{
	const char *names[96];
	char word[64];
	size_t i, k = 0;
	const char *s;

	snprintf(word, sizeof(word), "%.*s", (int)strcspn(arg, "="), arg);
	for (i = 0; i < n && k < sizeof(names) / sizeof(names[0]); i++)
		if (opts[i].name[0])
			names[k++] = opts[i].name;
	s = word[1] == '-' && !strncmp(why, "unknown", 7) ? cli_suggest(word + 2, names, k) : NULL;
	fprintf(stderr, "strata %s: %s '%s'%s%s%s; try 'strata %s --help'\n", c->name, why, word, s ? " (did you mean --" : "",
		s ? s : "", s ? "?)" : "", c->name);
	return STRATA_EUSAGE;
}

/* The option arg names, or NULL: exact, else a unique prefix (getopt_long's rule). */
static const struct cli_opt *lookup(const char *arg, const struct cli_opt *opts, size_t n, bool *ambiguous)
{
	size_t len = strcspn(arg, "="), i;
	const struct cli_opt *hit = NULL;

	*ambiguous = false;
	for (i = 0; i < n; i++) {
		if (strncmp(opts[i].name, arg, len))
			continue;
		if (!opts[i].name[len])
			return &opts[i];
		if (hit)
			*ambiguous = true;
		hit = &opts[i];
	}
	return *ambiguous ? NULL : hit;
}

int cli_args(const struct command *c, char **pre, int npre, int argc, char **argv, int *nargc, char ***out)
{
	struct cli_opt opts[96];
	size_t n = cli_options(c, opts, sizeof(opts) / sizeof(opts[0])), j;
	char **v;
	int i, k = 0;
	bool amb, rest = false;

	if (!(v = calloc((size_t)(argc + npre + 1), sizeof(*v)))) {
		fprintf(stderr, "strata: error: out of memory\n");
		return STRATA_EIO;
	}
	v[k++] = argv[0];
	for (i = 0; i < npre; i++)
		v[k++] = pre[i];
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const struct cli_opt *o = NULL;

		if (rest || a[0] != '-' || !a[1]) {
			v[k++] = argv[i];
			continue;
		}
		if (!strcmp(a, "--")) {
			rest = true;
			v[k++] = argv[i];
			continue;
		}
		if (a[1] == '-') {
			if (!(o = lookup(a + 2, opts, n, &amb))) {
				free(v);
				return bad_option(c, a, opts, n, amb ? "ambiguous option" : "unknown option");
			}
			if (o->arg == OPT_NONE && strchr(a, '=')) {
				free(v);
				return bad_option(c, a, opts, n, "no value is taken by option");
			}
		} else {
			for (j = 0; j < n && !o; j++)
				if (opts[j].short_name == a[1])
					o = &opts[j];
			if (!o || (o->arg == OPT_NONE && a[2])) {
				free(v);
				return bad_option(c, a, opts, n, "unknown option");
			}
		}
		if (!strcmp(o->name, "quiet")) {
			cli.quiet = true;
			continue;
		}
		v[k++] = argv[i];
		if (o->arg == OPT_REQUIRED && !strchr(a, '=') && !(a[1] != '-' && a[2])) {
			if (i + 1 >= argc) {
				free(v);
				return bad_option(c, a, opts, n, "a value is needed by option");
			}
			v[k++] = argv[++i];
		}
	}
	*out = v;
	*nargc = k;
	return 0;
}
