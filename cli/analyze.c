/* analyze.c - `strata analyze SRC [--format text|json|html] [-o FILE] [--files] [--all] [--fail-on RULES]`. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analyze.h"
#include "analyze/walk.h"
#include "cli/cli.h"

/* --all: the report of image i alone, as one compact JSON line (JSON Lines: `jq -s` merges them). */
static int analyze_line(struct cli_out *o, const struct source *s, const struct image_report *rep, size_t i, bool files,
			const struct fail_rules *rp, const char *src, const struct report_meta *meta, struct strata_err *e)
{
	cJSON *doc = analyze_json(s, rep, 1, (files ? REPORT_FILES : 0) | REPORT_STREAMED, rp);
	cJSON *im = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "images"), 0);
	char *txt;
	int r;

	cJSON_SetNumberValue(cJSON_GetObjectItem(im, "index"), (double)i);  /* its place among the images picked */
	cJSON_AddStringToObject(doc, "source", src);
	analyze_verdict_json(doc, meta);
	txt = doc ? cJSON_PrintUnformatted(doc) : NULL;
	cJSON_Delete(doc);
	if (!txt)
		return err_nomem(e, "report");
	r = analyze_json_write(txt, true, rep, 1, cli_out_write, o, e);
	if (r == 0)
		r = cli_out_write(o, "\n", 1, e);
	free(txt);
	return r;
}

/* What the verdict says was read: the input's kind, its sha256 and what that
 * hash covers (a directory: its entry point's digest). */
static void source_meta(const struct source *s, const char *src, const struct diag *d, struct report_meta *meta)
{
	meta->path = src;
	meta->d = d;
	if (s->is_dir) {
		const struct member *top = catalog_get(&s->cat, "index.json");
		const char *name = "index.json";

		if (!top || !top->digest[0]) {
			top = catalog_get(&s->cat, "manifest.json");
			name = "manifest.json";
		}
		meta->kind = "directory";
		if (top && top->digest[0]) {
			meta->sha256 = top->digest;
			meta->hashed = !strcmp(name, "index.json") ? "index.json (a directory: its entry point; every blob is checked against its digest)"
								   : "manifest.json (a directory: its entry point; every blob is checked against its digest)";
		} else {
			meta->hashed = "a directory without index.json or manifest.json";
		}
	} else {
		meta->kind = strcmp(src, "-") ? "file" : "stdin";
		if (s->sha256[0]) {
			meta->sha256 = s->sha256;
			meta->has_size = true;
			meta->size = s->raw_size;
			meta->hashed = strcmp(src, "-") ? "the file's bytes" : "the bytes read from stdin";
		}
	}
}

/* One run's reports, as the options asked for them. */
struct report_job {
	const char *src, *format, *output;  /* output: NULL for stdout */
	bool files, all;
	const struct fail_rules *rp;
	const struct source *s;
	const struct image_report *reps;
	size_t n;
	const struct report_meta *meta;
};

/* Render the reports and write them to j->output through cli_out.
 * The text report and the JSON document's skeleton are rendered before the
 * output is opened, so that a failure there leaves nothing behind; what
 * grows with the image (the file lists of --files, a million entries: 105
 * MB of text, 158 MB of JSON; the package changes of JSON and HTML; the
 * HTML page) is written from the image reports as it goes, each in its
 * place.  A regular file still only takes the destination's name once
 * complete; on stdout a failure half-way (out of memory, a failing write)
 * leaves what was written. */
static int write_report(const struct report_job *j, struct strata_err *e)
{
	struct buf out = BUF_INIT(1u << 30);
	struct cli_out o;
	bool opened = false;
	size_t i;
	int r = 0;

	if (!strcmp(j->format, "text")) {
		r = analyze_verdict_text(&out, j->meta, e);
		if (r == 0)
			r = buf_addstr(&out, "\n", e) < 0 ? -e->code : 0;
		if (r == 0)
			r = analyze_text(&out, j->s, j->reps, j->n, j->rp, e);
		if (r == 0 && (r = cli_out_open(&o, j->output, e)) == 0) {
			opened = true;
			r = cli_out_write(&o, out.data ? out.data : "", out.len, e);
		}
		if (r == 0 && j->files)
			r = analyze_files_text(j->reps, j->n, cli_out_write, &o, e);
	} else if (j->all) {
		if ((r = cli_out_open(&o, j->output, e)) == 0)
			opened = true;
		for (i = 0; i < j->n && r == 0; i++)
			r = analyze_line(&o, j->s, &j->reps[i], i, j->files, j->rp, j->src, j->meta, e);
	} else {
		/* html shows no file list (its tree and package changes come from reps) */
		bool json = !strcmp(j->format, "json");
		unsigned what = (json && j->files ? REPORT_FILES : 0) | REPORT_STREAMED;
		cJSON *doc = analyze_json(j->s, j->reps, j->n, what, j->rp);
		char *txt = NULL;

		cJSON_AddStringToObject(doc, "source", j->src);
		analyze_verdict_json(doc, j->meta);
		if (!doc || (json && !(txt = cJSON_Print(doc))))
			r = err_nomem(e, "report");
		if (r == 0 && (r = cli_out_open(&o, j->output, e)) == 0) {
			opened = true;
			if (!json) {
				r = analyze_html(doc, j->reps, j->n, cli_out_write, &o, e);
			} else {
				r = analyze_json_write(txt, false, j->reps, j->n, cli_out_write, &o, e);
				if (r == 0)
					r = cli_out_write(&o, "\n", 1, e);
			}
		}
		cJSON_Delete(doc);
		free(txt);
	}
	if (r == 0 && !opened && (r = cli_out_open(&o, j->output, e)) == 0) {
		opened = true;
		r = cli_out_write(&o, out.data ? out.data : "", out.len, e);
	}
	if (r == 0)
		r = digests_check(e);  /* every digest the report prints was read back */
	if (r == 0)
		r = cli_out_close(&o, e);  /* when it fails, it removes the temp file itself */
	else if (opened)
		cli_out_abort(&o);
	buf_release(&out);
	return r;
}

int cmd_analyze(int argc, char **argv)
{
	enum { O_FORMAT = 256, O_JSON, O_FILES, O_FAIL, O_IMAGE, O_PLATFORM, O_ALL };
	static const struct option opts[] = {
		{ "format", required_argument, NULL, O_FORMAT },
		{ "json", no_argument, NULL, O_JSON },
		{ "files", no_argument, NULL, O_FILES },
		{ "all", no_argument, NULL, O_ALL },
		{ "fail-on", required_argument, NULL, O_FAIL },
		{ "output", required_argument, NULL, 'o' },
		{ "image", required_argument, NULL, O_IMAGE },
		{ "platform", required_argument, NULL, O_PLATFORM },
		LIMIT_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct strata_err e = STRATA_ERR_INIT;
	struct diag d = DIAG_INIT;
	struct layer_hooks hooks;
	struct walker w;
	struct load_opts lo = { 0 };
	struct fail_rules rules, *rp = NULL;
	struct report_meta meta = { 0 };
	struct image_report *reps = NULL;
	struct source *s = NULL;
	struct progress pg;
	const char *format = "text", *output = NULL, *src, *image = NULL, *platform = NULL;
	const struct image **picked = NULL;
	bool files = false, all = false, format_set = false;
	size_t i, n = 0, npicked = 0;
	int c, r, failed = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		if ((r = cli_limit_option("analyze", c, optarg, &lo.limits)) < 0)
			return -r;
		if (r)
			continue;
		switch (c) {
		case O_FORMAT:
			if (strcmp(optarg, "text") && strcmp(optarg, "json") && strcmp(optarg, "html"))
				return cli_usage("analyze", "--format is text, json or html, not '%s'", optarg);
			format = optarg;
			format_set = true;
			break;
		case O_JSON: format = "json"; format_set = true; break;
		case O_ALL: all = true; break;
		case O_FILES: files = true; break;
		case O_IMAGE: image = optarg; break;
		case O_PLATFORM: platform = optarg; break;
		case 'o': output = optarg; break;
		case O_FAIL:
			if (rules_parse(optarg, &rules, &e) < 0)
				return cli_usage("analyze", "%s", e.msg);
			rp = &rules;
			break;
		default: return cli_usage("analyze", "bad option");
		}
	}
	if (argc - optind != 1)
		return cli_usage("analyze", "needs exactly one SRC");
	if (all && format_set && strcmp(format, "json"))
		return cli_usage("analyze", "--all writes JSON Lines (one report per image a line), not --format %s", format);
	if (all)
		format = "json";
	src = argv[optind];
	cli_walker(&w, &hooks, &d, &lo.limits);
	w.collect = true;
	w.risks = true;
	w.content = files;  /* sha256 of every regular file, in the same pass: only when asked */
	lo.decode = true;
	lo.hash_source = true;
	lo.hooks = &hooks;
	progress_init(&pg, src, "analyzing");
	lo.progress = progress_update;
	lo.progress_ctx = &pg;
	cli_catch_signals();
	r = source_open(&s, src, &lo, &d, &e);
	progress_done(&pg);
	cli_print_problems(src, &d);
	if (r < 0) {
		diag_release(&d);
		return cli_fail(src, &e);
	}
	/* a scan that ended in an I/O error (a spill file that cannot be read,
	 * memory that ran out) said so and leaves nothing to report, as for
	 * sbom and diff; other failed verdicts are reported and give the exit
	 * code at the end */
	if ((r = diag_exit_code(&d)) == STRATA_EIO)
		goto out;
	if ((r = cli_pick(s, image, platform, &picked, &npicked, &e)) < 0)
		goto fail;
	source_meta(s, src, &d, &meta);
	if (!(reps = calloc(npicked + 1, sizeof(*reps)))) {
		r = err_nomem(&e, "report");
		goto fail;
	}
	for (i = 0; i < npicked; i++) {
		if ((r = analyze_image(picked[i], &reps[n], &e)) < 0) {
			n++;
			goto fail;
		}
		failed += rules_failed(&reps[n], rp);
		n++;
	}
	{
		struct report_job j = { src, format, output, files, all, rp, s, reps, n, &meta };

		if ((r = write_report(&j, &e)) < 0)
			goto fail;
	}
	if (output && !cli.quiet)
		fprintf(stderr, "strata: wrote the %s report of %s to %s\n", format, src, output);
	r = diag_exit_code(&d);
	if (!r && failed) {
		if (!cli.quiet)
			fprintf(stderr, "strata: %d --fail-on rule%s failed\n", failed, failed == 1 ? "" : "s");
		r = STRATA_EVERIFY;
	}
	goto out;
fail:
	r = cli_fail(src, &e);
out:
	for (i = 0; i < n; i++)
		image_report_release(&reps[i]);
	free(reps);
	free(picked);
	diag_release(&d);
	source_free(s);
	return r;
}
