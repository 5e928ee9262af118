/* import.c - a rootfs tarball becomes a one-layer image; see convert.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "convert/conv.h"
#include "formats/json.h"

/* ["a","b"] as given, or words split on spaces. */
static int string_list(const char *opt, const char *v, cJSON **out, struct strata_err *e)
{
	cJSON *a, *it;
	char *copy, *w, *save = NULL;

	if (v[0] == '[') {
		if (json_parse(v, strlen(v), &a, e) < 0)
			return err_set(e, STRATA_EUSAGE, "%s: not a JSON array of strings: %s", opt, e->msg);
		cJSON_ArrayForEach(it, a)
			if (!cJSON_IsString(it)) {
				cJSON_Delete(a);
				return err_set(e, STRATA_EUSAGE, "%s: array items must be strings", opt);
			}
		if (!cJSON_IsArray(a)) {
			cJSON_Delete(a);
			return err_set(e, STRATA_EUSAGE, "%s: not a JSON array", opt);
		}
		*out = a;
		return 0;
	}
	if (!(copy = strdup(v)))
		return err_nomem(e, "argument");
	a = cJSON_CreateArray();
	for (w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save))
		json_push(a, cJSON_CreateString(w));
	free(copy);
	*out = a;
	return 0;
}

static int created_time(const char *given, char out[32], struct strata_err *e)
{
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	time_t t = 0;
	struct tm tm;

	if (given) {
		if (strlen(given) < 20 || given[4] != '-' || given[10] != 'T')
			return err_set(e, STRATA_EUSAGE, "--created '%s' is not an RFC 3339 time (2024-01-02T03:04:05Z)", given);
		snprintf(out, 32, "%s", given);
		return 0;
	}
	if (sde && *sde) {
		char *end;
		long long v = strtoll(sde, &end, 10);

		if (*end || v < 0)
			return err_set(e, STRATA_EUSAGE, "SOURCE_DATE_EPOCH '%s' is not a number of seconds", sde);
		t = (time_t)v;
	}
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return 0;
}

/* The image config, canonical and deterministic (OCI image-spec field order). */
static char *make_config(const struct import_opts *o, const struct platform *p, const char *created,
			 const char *diff_id, struct strata_err *e)
{
	cJSON *c = cJSON_CreateObject(), *cfg, *lst, *rf, *h, *he;
	size_t i;
	char *txt;

	cJSON_AddStringToObject(c, "created", created);
	cJSON_AddStringToObject(c, "architecture", p->arch);
	if (p->variant)
		cJSON_AddStringToObject(c, "variant", p->variant);
	cJSON_AddStringToObject(c, "os", p->os);
	cfg = cJSON_AddObjectToObject(c, "config");
	if (o->user)
		cJSON_AddStringToObject(cfg, "User", o->user);
	lst = cJSON_AddArrayToObject(cfg, "Env");
	for (i = 0; i < o->nenv; i++)
		json_push(lst, cJSON_CreateString(o->env[i]));
	if (!o->nenv)
		json_push(lst, cJSON_CreateString("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
	if (o->entrypoint) {
		if (string_list("--entrypoint", o->entrypoint, &lst, e) < 0)
			goto fail;
		json_put(cfg, "Entrypoint", lst);
	}
	if (o->cmd) {
		if (string_list("--cmd", o->cmd, &lst, e) < 0)
			goto fail;
		json_put(cfg, "Cmd", lst);
	}
	if (o->workdir)
		cJSON_AddStringToObject(cfg, "WorkingDir", o->workdir);
	if (o->nlabels) {
		cJSON *l = cJSON_AddObjectToObject(cfg, "Labels");

		for (i = 0; i < o->nlabels; i++) {
			const char *eq = strchr(o->labels[i], '=');
			char *k;

			if (!eq || eq == o->labels[i]) {
				err_set(e, STRATA_EUSAGE, "--label '%s' is not KEY=VALUE", o->labels[i]);
				goto fail;
			}
			if (!(k = strndup(o->labels[i], (size_t)(eq - o->labels[i]))))
				goto fail;
			cJSON_DeleteItemFromObjectCaseSensitive(l, k);
			cJSON_AddStringToObject(l, k, eq + 1);
			free(k);
		}
	}
	rf = cJSON_AddObjectToObject(c, "rootfs");
	cJSON_AddStringToObject(rf, "type", "layers");
	lst = cJSON_AddArrayToObject(rf, "diff_ids");
	json_push(lst, cJSON_CreateString(diff_id));
	h = cJSON_AddArrayToObject(c, "history");
	he = cJSON_CreateObject();
	cJSON_AddStringToObject(he, "created", created);
	cJSON_AddStringToObject(he, "created_by", o->history ? o->history : "strata import");
	json_push(h, he);
	txt = cJSON_PrintUnformatted(c);
	cJSON_Delete(c);
	if (!txt)
		err_nomem(e, "config");
	return txt;
fail:
	cJSON_Delete(c);
	if (!e->code)
		err_nomem(e, "config");
	return NULL;
}

int import_run(const struct import_opts *o, struct convert_result *res, struct diag *d, struct strata_err *e)
{
	struct conv c = { 0 };
	struct blob_writer bw;
	struct load_opts lo = { 0 };
	struct out_set set = { 0 };
	struct out_image oi = { 0 };
	struct source *s = NULL;
	struct platform plat = { "linux", "amd64", NULL };
	char pbuf[128], created[32], *ref = NULL, *cfg = NULL;
	struct member *m;
	struct ref dref;
	int r;

	memset(res, 0, sizeof(*res));
	if ((r = conv_dest(o->dst, o->format, &dref, &c.target, e)) < 0)
		return r;
	c.layers = o->layers;
	c.level = o->level;
	c.threads = o->threads;
	conv_writer(&c, &bw);
	if ((o->platform && (r = platform_parse(o->platform, pbuf, sizeof(pbuf), &plat, e)) < 0) ||
	    (r = created_time(o->created, created, e)) < 0)
		goto out;
	if (!(ref = malloc(strlen(o->src) + 8))) {
		r = err_nomem(e, "reference");
		goto out;
	}
	snprintf(ref, strlen(o->src) + 8, "rootfs:%s", o->src);
	if ((r = conv_open_sink(&c, &dref, ref, e)) < 0)
		goto out;
	sink_set_sync(c.sink, o->sync);
	lo.decode = true;
	lo.writer = &bw;
	lo.limits = o->limits;
	lo.hooks = o->hooks;
	lo.progress = o->progress;
	lo.progress_ctx = o->progress_ctx;
	if ((r = source_open(&s, ref, &lo, d, e)) < 0)
		goto fail;
	if (diag_count(d, SEV_ERROR)) {
		r = err_set(e, diag_exit_code(d), "'%s' is not a usable root filesystem (%zu error%s above); nothing was written",
			    o->src, diag_count(d, SEV_ERROR), diag_count(d, SEV_ERROR) == 1 ? "" : "s");
		goto fail;
	}
	m = s->cat.rootfs;
	if (!m || !m->written) {
		r = err_set(e, STRATA_EFORMAT, "'%s': no layer was written", o->src);
		goto fail;
	}
	if (!(cfg = make_config(o, &plat, created, m->diff_id, e))) {
		r = -e->code;
		goto fail;
	}
	oi.group = -1;
	oi.platform = plat;
	oi.has_platform = true;
	oi.nlayers = 1;
	if (!(oi.layers = calloc(1, sizeof(*oi.layers))) || !(oi.diff_ids = calloc(1, sizeof(*oi.diff_ids)))) {
		r = err_nomem(e, "layers");
		goto fail;
	}
	oi.layers[0].media_type = conv_layer_mt(m->out_comp);
	memcpy(oi.layers[0].digest, m->out_digest, DIGEST_STR_MAX);
	oi.layers[0].size = (int64_t)m->out_size;
	oi.diff_ids[0] = m->diff_id;
	oi.config.media_type = MT_OCI_CONFIG;
	oi.config.size = (int64_t)strlen(cfg);
	if ((r = sink_put_blob(c.sink, cfg, strlen(cfg), oi.config.digest, e)) < 0)
		goto fail;
	if ((r = conv_user_names(o->tags, o->ntags, dref.name, NULL, &oi, e)) < 0)
		goto fail;
	{
		char *man = target_oci_manifest(&oi);

		if (!man) {
			r = err_nomem(e, "manifest");
			goto fail;
		}
		oi.manifest.media_type = MT_OCI_MANIFEST;
		oi.manifest.size = (int64_t)strlen(man);
		r = sink_put_blob(c.sink, man, strlen(man), oi.manifest.digest, e);
		free(man);
		if (r < 0)
			goto fail;
	}
	set.v = &oi;
	set.len = 1;
	if ((r = conv_finish(&c, &set, e)) < 0)
		goto out;
	res->images = 1;
	res->layers = 1;
	res->layers_reencoded = c.reencoded;
	res->bytes_out = c.bytes_out;
	res->format = "rootfs";
	goto out;
fail:
	sink_abort(c.sink);
out:
	out_image_release(&oi);
	free(cfg);
	free(ref);
	source_free(s);
	ref_release(&dref);
	return r;
}
