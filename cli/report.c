/* report.c - inspect/verify output; see report.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/report.h"
#include "formats/json.h"

static cJSON *str_or_null(const char *s)
{
	return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static cJSON *dup_or_null(const cJSON *v)
{
	return v && !cJSON_IsNull(v) ? cJSON_Duplicate(v, 1) : cJSON_CreateNull();
}

static const char *kind_name(enum image_kind k)
{
	return k == IMAGE_ARTIFACT ? "artifact" : k == IMAGE_ATTESTATION ? "attestation" : "image";
}

static cJSON *desc_json(const struct descriptor *d)
{
	cJSON *o = cJSON_CreateObject();

	json_put(o, "digest", str_or_null(d->digest[0] ? d->digest : NULL));
	json_put(o, "media_type", str_or_null(d->media_type));
	if (d->size >= 0)
		cJSON_AddNumberToObject(o, "size", (double)d->size);
	else
		cJSON_AddNullToObject(o, "size");
	return o;
}

/* An artifact's type: the manifest's artifactType, else (the pre-1.1 way)
 * a config media type that is not an image config's; NULL for images. */
static const char *artifact_type(const struct image *im)
{
	const char *at = json_str(im->manifest_json, "artifactType");

	if (!at && im->kind != IMAGE_CONTAINER && im->config.media_type &&
	    strcmp(im->config.media_type, MT_OCI_CONFIG) && strcmp(im->config.media_type, MT_DOCKER_CONFIG))
		at = im->config.media_type;
	return at;
}

static cJSON *image_json(const struct image *im, size_t idx)
{
	const cJSON *cfg = json_get(im->config_json, "config");
	cJSON *o = cJSON_CreateObject(), *a, *p;
	size_t i;

	cJSON_AddNumberToObject(o, "index", (double)idx);
	cJSON_AddStringToObject(o, "kind", kind_name(im->kind));
	a = cJSON_AddArrayToObject(o, "tags");
	for (i = 0; i < im->ntags; i++)
		json_push(a, cJSON_CreateString(im->tags[i]));
	json_put(o, "manifest", im->has_manifest ? desc_json(&im->manifest) : cJSON_CreateNull());
	json_put(o, "index_digest", str_or_null(im->index_digest[0] ? im->index_digest : NULL));
	p = cJSON_AddObjectToObject(o, "platform");
	json_put(p, "os", str_or_null(im->platform.os));
	json_put(p, "architecture", str_or_null(im->platform.arch));
	json_put(p, "variant", str_or_null(im->platform.variant));
	json_put(o, "config", im->config.digest[0] ? desc_json(&im->config) : cJSON_CreateNull());
	json_put(o, "created", str_or_null(json_str(im->config_json, "created")));
	json_put(o, "author", str_or_null(json_str(im->config_json, "author")));
	json_put(o, "entrypoint", dup_or_null(json_get(cfg, "Entrypoint")));
	json_put(o, "cmd", dup_or_null(json_get(cfg, "Cmd")));
	json_put(o, "env", cJSON_IsArray(json_get(cfg, "Env")) ? cJSON_Duplicate(json_get(cfg, "Env"), 1)
							       : cJSON_CreateArray());
	json_put(o, "working_dir", cJSON_CreateString(json_str(cfg, "WorkingDir") ? json_str(cfg, "WorkingDir") : ""));
	json_put(o, "user", cJSON_CreateString(json_str(cfg, "User") ? json_str(cfg, "User") : ""));
	json_put(o, "labels", cJSON_IsObject(json_get(cfg, "Labels")) ? cJSON_Duplicate(json_get(cfg, "Labels"), 1)
								      : cJSON_CreateObject());
	/* artifacts and referrers (OCI 1.1): what the manifest says it is and refers to */
	{
		const cJSON *subj = json_get(im->manifest_json, "subject"), *ann = json_get(im->manifest_json, "annotations");
		struct descriptor sd;
		const char *why;

		json_put(o, "artifact_type", str_or_null(artifact_type(im)));
		json_put(o, "subject", subj && descriptor_parse(subj, &sd, &why) == 0 ? desc_json(&sd) : cJSON_CreateNull());
		json_put(o, "annotations", cJSON_IsObject(ann) ? cJSON_Duplicate(ann, 1) : cJSON_CreateObject());
		json_put(o, "index_annotations", cJSON_IsObject(im->top_annotations) ? cJSON_Duplicate(im->top_annotations, 1)
										       : cJSON_CreateObject());
	}
	a = cJSON_AddArrayToObject(o, "layers");
	for (i = 0; i < im->nlayers; i++) {
		const struct layer *l = &im->layers[i];
		cJSON *lo = cJSON_CreateObject();

		json_put(lo, "member", str_or_null(l->m ? l->m->name : l->path));
		json_put(lo, "digest", str_or_null(l->desc.digest[0] ? l->desc.digest : NULL));
		if (l->desc.size >= 0)
			cJSON_AddNumberToObject(lo, "size", (double)l->desc.size);
		else
			cJSON_AddNullToObject(lo, "size");
		json_put(lo, "media_type", str_or_null(l->desc.media_type));
		json_put(lo, "compression", str_or_null(l->m ? compression_name(l->m->comp) : NULL));
		json_put(lo, "diff_id", str_or_null(l->diff_id));
		cJSON_AddBoolToObject(lo, "present", l->m != NULL);
		json_push(a, lo);
	}
	return o;
}

cJSON *report_source_json(const char *src, const struct source *s)
{
	cJSON *o = cJSON_CreateObject(), *a;
	size_t i;

	cJSON_AddNumberToObject(o, "schema", REPORT_SCHEMA);
	cJSON_AddStringToObject(o, "source", src);
	cJSON_AddStringToObject(o, "format", s->format_name);
	cJSON_AddStringToObject(o, "compression", compression_name(s->outer));
	a = cJSON_AddArrayToObject(o, "images");
	for (i = 0; i < s->images.len; i++)
		json_push(a, image_json(s->images.v[i], i));
	return o;
}

cJSON *report_problems_json(const struct diag *d)
{
	cJSON *a = cJSON_CreateArray();
	size_t i;

	for (i = 0; i < d->len; i++) {
		const struct problem *p = &d->v[i];
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "severity", p->sev == SEV_ERROR ? "error" : "warning");
		cJSON_AddStringToObject(o, "class", p->code == STRATA_EVERIFY ? "verify" : p->code == STRATA_EIO ? "io" : "format");
		cJSON_AddStringToObject(o, "id", p->id);
		cJSON_AddStringToObject(o, "member", p->member);
		cJSON_AddStringToObject(o, "message", p->msg);
		json_push(a, o);
	}
	return a;
}

int report_print_json(cJSON *doc)
{
	char *s = cJSON_Print(doc);
	int r = 0;

	cJSON_Delete(doc);
	if (!s) {
		fprintf(stderr, "strata: error: out of memory printing JSON\n");
		cli.reported = true;
		return STRATA_EIO;
	}
	if (puts(s) == EOF || fflush(stdout) == EOF) {
		perror("strata: error: stdout");
		cli.reported = true;
		r = STRATA_EIO;
	}
	free(s);
	return r;
}

static void print_strarray(FILE *f, const char *label, const cJSON *a)
{
	const cJSON *v;
	bool first = true;

	fprintf(f, "  %-11s", label);
	if (!cJSON_IsArray(a)) {
		fprintf(f, "-\n");
		return;
	}
	fputc('[', f);
	cJSON_ArrayForEach(v, a) {
		fprintf(f, "%s\"%s\"", first ? "" : ", ", cJSON_IsString(v) ? v->valuestring : "?");
		first = false;
	}
	fprintf(f, "]\n");
}

void report_source_text(FILE *f, const char *src, const struct source *s)
{
	char sz[32];
	size_t i, j;

	fprintf(f, "%s: %s", src, s->format_name);
	if (s->outer != COMP_NONE)
		fprintf(f, " (%s-compressed)", compression_name(s->outer));
	fprintf(f, ", %zu image%s\n", s->images.len, s->images.len == 1 ? "" : "s");
	for (i = 0; i < s->images.len; i++) {
		const struct image *im = s->images.v[i];
		const cJSON *cfg = json_get(im->config_json, "config"), *v;

		fprintf(f, "\n%s %zu", kind_name(im->kind), i);
		for (j = 0; j < im->ntags; j++)
			fprintf(f, "%s%s", j ? ", " : ": ", im->tags[j]);
		if (!im->ntags)
			fprintf(f, " (untagged)");
		fprintf(f, "\n");
		if (im->has_manifest)
			fprintf(f, "  %-11s%s (%lld bytes)\n", "manifest", im->manifest.digest, (long long)im->manifest.size);
		if (im->index_digest[0])
			fprintf(f, "  %-11s%s\n", "index", im->index_digest);
		if (im->config.digest[0])
			fprintf(f, "  %-11s%s (%lld bytes)\n", "config", im->config.digest, (long long)im->config.size);
		if (artifact_type(im))
			fprintf(f, "  %-11s%s\n", "type", artifact_type(im));
		if (json_str(json_get(im->manifest_json, "subject"), "digest"))
			fprintf(f, "  %-11s%s\n", "subject", json_str(json_get(im->manifest_json, "subject"), "digest"));
		fprintf(f, "  %-11s%s/%s%s%s\n", "platform", im->platform.os ? im->platform.os : "?",
			im->platform.arch ? im->platform.arch : "?", im->platform.variant ? "/" : "",
			im->platform.variant ? im->platform.variant : "");
		if (json_str(im->config_json, "created"))
			fprintf(f, "  %-11s%s\n", "created", json_str(im->config_json, "created"));
		if (im->config_json) {
			print_strarray(f, "entrypoint", json_get(cfg, "Entrypoint"));
			print_strarray(f, "cmd", json_get(cfg, "Cmd"));
			cJSON_ArrayForEach(v, json_get(cfg, "Env"))
				fprintf(f, "  %-11s%s\n", "env", cJSON_IsString(v) ? v->valuestring : "?");
			if (json_str(cfg, "WorkingDir") && *json_str(cfg, "WorkingDir"))
				fprintf(f, "  %-11s%s\n", "workdir", json_str(cfg, "WorkingDir"));
			if (json_str(cfg, "User") && *json_str(cfg, "User"))
				fprintf(f, "  %-11s%s\n", "user", json_str(cfg, "User"));
			cJSON_ArrayForEach(v, json_get(cfg, "Labels"))
				fprintf(f, "  %-11s%s=%s\n", "label", v->string, cJSON_IsString(v) ? v->valuestring : "?");
		}
		fprintf(f, "  layers (%zu):\n", im->nlayers);
		for (j = 0; j < im->nlayers; j++) {
			const struct layer *l = &im->layers[j];

			fprintf(f, "  %3zu  %-71s %10s  %s\n", j + 1, l->desc.digest[0] ? l->desc.digest : "?",
				l->desc.size >= 0 ? human_size((uint64_t)l->desc.size, sz) : "?",
				l->m ? compression_name(l->m->comp) : "missing");
			if (l->diff_id && strcmp(l->diff_id, l->desc.digest))
				fprintf(f, "       diff_id %s\n", l->diff_id);
		}
	}
}
