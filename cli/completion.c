/*
 * completion.c - `strata completion bash|zsh|fish`: the completion scripts,
 * made from the command table (cli.h), so a new command or option completes
 * without anyone editing a script.  Words complete to commands, then to the
 * command's options, or to the transports and file names.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

#define TRANSPORTS "docker-archive: oci: oci-archive: rootfs: registry:"

/* "--a --b -o" for words, "--max-size|-o|..." for those taking a value. */
static void option_words(const struct command *c, FILE *f, bool with_arg)
{
	struct cli_opt o[96];
	size_t n = cli_options(c, o, sizeof(o) / sizeof(o[0])), i;
	const char *sep = "";

	for (i = 0; i < n; i++) {
		if (with_arg && o[i].arg != OPT_REQUIRED)
			continue;
		if (o[i].name[0]) {
			fprintf(f, "%s--%s%s", sep, o[i].name, o[i].arg == OPT_OPTIONAL && !with_arg ? " --" : "");
			if (o[i].arg == OPT_OPTIONAL && !with_arg)
				fprintf(f, "%s=", o[i].name);
			sep = with_arg ? "|" : " ";
		}
		if (o[i].short_name) {
			fprintf(f, "%s-%c", sep, o[i].short_name);
			sep = with_arg ? "|" : " ";
		}
	}
	if (!*sep && with_arg)
		fputs("--", f);  /* a pattern that matches no word */
}

static void bash(FILE *f)
{
	size_t i;

	fputs("# bash completion for strata (strata completion bash)\n"
	      "_strata()\n{\n"
	      "\tlocal cur prev cmd= i w opts\n"
	      "\tcur=${COMP_WORDS[COMP_CWORD]}\n"
	      "\t# a word of COMP_WORDBREAKS (':') splits docker-archive:PATH: take the whole word\n"
	      "\tif [[ -n ${COMP_LINE-} ]]; then\n"
	      "\t\tw=${COMP_LINE:0:COMP_POINT}\n"
	      "\t\tcur=${w##*[[:space:]]}\n"
	      "\tfi\n"
	      "\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
	      "\t\tw=${COMP_WORDS[i]}\n"
	      "\t\tcase $w in\n\t\t", f);
	option_words(NULL, f, true);
	fputs(") ((i++)) ;;\n"
	      "\t\t-*|:|*:) ;;\n"
	      "\t\t*) cmd=$w; break ;;\n"
	      "\t\tesac\n"
	      "\tdone\n"
	      "\tprev=${COMP_WORDS[COMP_CWORD-1]}\n"
	      "\tif [[ -z $cmd ]]; then\n"
	      "\t\tif [[ $cur == -* ]]; then\n"
	      "\t\t\tCOMPREPLY=($(compgen -W '", f);
	option_words(NULL, f, false);
	fputs("' -- \"$cur\"))\n"
	      "\t\telse\n"
	      "\t\t\tCOMPREPLY=($(compgen -W 'help", f);
	for (i = 0; i < cli_ncommands; i++)
		fprintf(f, " %s", cli_commands[i].name);
	fputs("' -- \"$cur\"))\n"
	      "\t\tfi\n"
	      "\t\treturn\n"
	      "\tfi\n"
	      "\tcase $cmd in\n", f);
	for (i = 0; i < cli_ncommands; i++) {
		fprintf(f, "\t%s)\n\t\tcase $prev in ", cli_commands[i].name);
		option_words(&cli_commands[i], f, true);
		fputs(")\n\t\t\tCOMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n\t\tesac\n\t\topts='", f);
		option_words(&cli_commands[i], f, false);
		fputs("' ;;\n", f);
	}
	fputs("\thelp)\n\t\tCOMPREPLY=($(compgen -W 'limits references exit-codes", f);
	for (i = 0; i < cli_ncommands; i++)
		fprintf(f, " %s", cli_commands[i].name);
	fputs("' -- \"$cur\"))\n\t\treturn ;;\n"
	      "\t*) return ;;\n"
	      "\tesac\n"
	      "\tif [[ $cur == -* ]]; then\n"
	      "\t\tCOMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
	      "\t\t[[ ${COMPREPLY[0]-} == *= ]] && compopt -o nospace 2>/dev/null\n"
	      "\telif [[ $cmd == completion ]]; then\n"
	      "\t\tCOMPREPLY=($(compgen -W 'bash zsh fish' -- \"$cur\"))\n"
	      "\telif [[ $cur == *:* ]]; then\n"
	      "\t\t# TRANSPORT:PATH: bash replaces only what follows the last ':'\n"
	      "\t\tlocal t=${cur%%:*}: p=${cur#*:}\n"
	      "\t\tCOMPREPLY=($(compgen -f -- \"$p\"))\n"
	      "\t\tw=${cur%:*}:\n"
	      "\t\tfor i in \"${!COMPREPLY[@]}\"; do\n"
	      "\t\t\tCOMPREPLY[i]=$t${COMPREPLY[i]}\n"
	      "\t\t\t[[ $COMP_WORDBREAKS == *:* ]] && COMPREPLY[i]=${COMPREPLY[i]#\"$w\"}\n"
	      "\t\tdone\n"
	      "\telse\n"
	      "\t\tCOMPREPLY=($(compgen -W '" TRANSPORTS "' -- \"$cur\") $(compgen -f -- \"$cur\"))\n"
	      "\t\t[[ ${#COMPREPLY[@]} == 1 && ${COMPREPLY[0]} == *: ]] && compopt -o nospace 2>/dev/null\n"
	      "\tfi\n"
	      "}\n"
	      "complete -o filenames -F _strata strata\n", f);
}

/* ' in a description would end the zsh or fish quoting */
static void quoted(FILE *f, const char *s, const char *drop)
{
	for (; *s; s++)
		if (!strchr(drop, *s))
			fputc(*s == '\'' ? '`' : *s, f);
}

static void zsh(FILE *f)
{
	struct cli_opt o[96];
	size_t i, j, n;

	fputs("#compdef strata\n# zsh completion for strata (strata completion zsh)\n"
	      "_strata() {\n"
	      "\tlocal -a commands opts\n"
	      "\tlocal cmd w\n"
	      "\tcommands=(\n", f);
	for (i = 0; i < cli_ncommands; i++) {
		fprintf(f, "\t\t'%s:", cli_commands[i].name);
		quoted(f, cli_commands[i].summary, ":");
		fputs("'\n", f);
	}
	fputs("\t\t'help:help on a command or topic'\n\t)\n"
	      "\tfor w in ${words[2,CURRENT-1]}; do\n"
	      "\t\t[[ $w != -* && $w != [0-9]* ]] && { cmd=$w; break; }\n"
	      "\tdone\n"
	      "\tif [[ -z $cmd ]]; then\n"
	      "\t\t_describe command commands\n"
	      "\t\treturn\n"
	      "\tfi\n"
	      "\tcase $cmd in\n", f);
	for (i = 0; i < cli_ncommands; i++) {
		fprintf(f, "\t%s) opts=(", cli_commands[i].name);
		n = cli_options(&cli_commands[i], o, sizeof(o) / sizeof(o[0]));
		for (j = 0; j < n; j++) {
			if (!o[j].name[0])
				continue;
			fprintf(f, " '--%s%s:", o[j].name, o[j].arg == OPT_REQUIRED ? "=" : "");
			quoted(f, o[j].desc, ":");
			fputc('\'', f);
		}
		fputs(" ) ;;\n", f);
	}
	fputs("\thelp) compadd limits references exit-codes ${commands%%:*}; return ;;\n"
	      "\tcompletion) compadd bash zsh fish; return ;;\n"
	      "\tesac\n"
	      "\tif [[ $PREFIX == -* ]]; then\n"
	      "\t\t_describe option opts\n"
	      "\telse\n"
	      "\t\tcompadd -S '' " TRANSPORTS "\n"
	      "\t\t_files\n"
	      "\tfi\n"
	      "}\n"
	      "_strata \"$@\"\n", f);
}

static void fish(FILE *f)
{
	struct cli_opt o[96];
	size_t i, j, n;

	fputs("# fish completion for strata (strata completion fish)\n"
	      "complete -c strata -f\n"
	      "complete -c strata -s q -l quiet -d 'no progress, summaries or warnings'\n", f);
	for (i = 0; i < cli_ncommands; i++) {
		fprintf(f, "complete -c strata -n __fish_use_subcommand -a %s -d '", cli_commands[i].name);
		quoted(f, cli_commands[i].summary, "");
		fputs("'\n", f);
	}
	fputs("complete -c strata -n __fish_use_subcommand -a help -d 'help on a command or topic'\n"
	      "complete -c strata -n '__fish_seen_subcommand_from help' -a 'limits references exit-codes", f);
	for (i = 0; i < cli_ncommands; i++)
		fprintf(f, " %s", cli_commands[i].name);
	fputs("'\n"
	      "complete -c strata -n '__fish_seen_subcommand_from completion' -a 'bash zsh fish'\n", f);
	for (i = 0; i < cli_ncommands; i++) {
		const char *name = cli_commands[i].name;

		if (!strcmp(name, "completion"))
			continue;
		fprintf(f, "complete -c strata -n '__fish_seen_subcommand_from %s' -F -a '" TRANSPORTS "'\n", name);
		n = cli_options(&cli_commands[i], o, sizeof(o) / sizeof(o[0]));
		for (j = 0; j < n; j++) {
			if (!strcmp(o[j].name, "quiet"))
				continue;
			fprintf(f, "complete -c strata -n '__fish_seen_subcommand_from %s'", name);
			if (o[j].short_name)
				fprintf(f, " -s %c", o[j].short_name);
			if (o[j].name[0])
				fprintf(f, " -l %s", o[j].name);
			if (o[j].arg == OPT_REQUIRED)
				fputs(" -r -F", f);
			fputs(" -d '", f);
			quoted(f, o[j].desc, "");
			fputs("'\n", f);
		}
	}
}

int cmd_completion(int argc, char **argv)
{
	if (argc != 2)
		return cli_usage("completion", "needs one shell: bash, zsh or fish");
	if (!strcmp(argv[1], "bash"))
		bash(stdout);
	else if (!strcmp(argv[1], "zsh"))
		zsh(stdout);
	else if (!strcmp(argv[1], "fish"))
		fish(stdout);
	else
		return cli_usage("completion", "knows bash, zsh and fish, not '%s'", argv[1]);
	return 0;
}
