/*
 * sbomdoc.c - an image's SBOM as CycloneDX 1.6 or SPDX 2.3 JSON; see sbom.h.
 *
 * cJSON prints the document, but never holds it whole: its lists of
 * packages (CycloneDX's components and the image's dependsOn, SPDX's
 * packages and relationships) are raw placeholders in a skeleton, and
 * sbom_write() prints the skeleton and streams each list in its place, one
 * element made, printed and freed at a time (json_stream(), formats/json.h:
 * the bytes are those cJSON prints for the whole).  A package's element can
 * hold thousands of files: 100,000 files of 2,000 dpkg packages are a 23 MB
 * document that took 140 MB as cJSON nodes.
 */
#include "analyze/sbom.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/digest.h"
#include "formats/json.h"

enum sbom_list { L_CDX_COMPONENTS, L_CDX_DEPENDS, L_SPDX_PACKAGES, L_SPDX_RELATIONSHIPS, L_N };

static void hex(const uint8_t *d, char out[65])
{
	digest_hex_of(d, 32, out);
}

static const char *image_name(const struct image *im)
{
	return im->ntags ? im->tags[0] : im->config.digest[0] ? im->config.digest : "image";
}

static const char *layer_digest(const struct image *im, int li)
{
	const struct layer *l = &im->layers[li];

	return l->desc.digest[0] ? l->desc.digest : l->m->digest;
}

static void prop(cJSON *props, const char *name, const char *value)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "name", name);
	cJSON_AddStringToObject(o, "value", value);
	json_push(props, o);
}

/* A raw node that sbom_write() replaces with list l. */
static cJSON *placeholder(enum sbom_list l)
{
	return json_placeholder((int)l);
}

/* ---- CycloneDX ---- */

static cJSON *cdx_skeleton(const struct sbom *s, const char *ts)
{
	const struct image *im = s->im;
	cJSON *doc = cJSON_CreateObject(), *meta, *tools, *comp, *deps, *dep, *props;
	char uuid[37], urn[64];
	size_t i;

	cJSON_AddStringToObject(doc, "bomFormat", "CycloneDX");
	cJSON_AddStringToObject(doc, "specVersion", "1.6");
	if (sbom_uuid(im->config.digest, uuid) == 0) {
		snprintf(urn, sizeof(urn), "urn:uuid:%s", uuid);
		cJSON_AddStringToObject(doc, "serialNumber", urn);
	}
	cJSON_AddNumberToObject(doc, "version", 1);
	meta = cJSON_AddObjectToObject(doc, "metadata");
	cJSON_AddStringToObject(meta, "timestamp", ts);
	tools = cJSON_AddArrayToObject(cJSON_AddObjectToObject(meta, "tools"), "components");
	comp = cJSON_CreateObject();
	cJSON_AddStringToObject(comp, "type", "application");
	cJSON_AddStringToObject(comp, "name", "strata");
	cJSON_AddStringToObject(comp, "version", STRATA_VERSION);
	json_push(tools, comp);
	comp = cJSON_AddObjectToObject(meta, "component");
	cJSON_AddStringToObject(comp, "type", "container");
	cJSON_AddStringToObject(comp, "bom-ref", "image");
	cJSON_AddStringToObject(comp, "name", image_name(im));
	if (im->config.digest[0])
		cJSON_AddStringToObject(comp, "version", im->config.digest);
	props = cJSON_AddArrayToObject(comp, "properties");
	if (im->config.digest[0])
		prop(props, "strata:image:config", im->config.digest);
	for (i = 0; i < im->nlayers; i++)
		prop(props, "strata:image:layer", layer_digest(im, (int)i));
	for (i = 0; i < PKG_ECO_N; i++) {
		char name[48];

		snprintf(name, sizeof(name), "strata:packages:%s", pkg_eco_names[i]);
		prop(props, name, s->notes[i]);
	}
	json_put(doc, "components", placeholder(L_CDX_COMPONENTS));
	deps = cJSON_AddArrayToObject(doc, "dependencies");
	dep = cJSON_CreateObject();
	cJSON_AddStringToObject(dep, "ref", "image");
	json_put(dep, "dependsOn", placeholder(L_CDX_DEPENDS));
	json_push(deps, dep);
	return doc;
}

static cJSON *cdx_file(const struct sbom_file *sf)
{
	cJSON *f = cJSON_CreateObject();
	uint8_t d[32];
	const uint8_t *sha = sf->has_digest ? digests_get(sf->digest, d) : NULL;
	char h[65];

	cJSON_AddStringToObject(f, "type", "file");
	cJSON_AddStringToObject(f, "name", sf->path);
	if (sha) {
		cJSON *hs = cJSON_AddArrayToObject(f, "hashes"), *x = cJSON_CreateObject();

		hex(sha, h);
		cJSON_AddStringToObject(x, "alg", "SHA-256");
		cJSON_AddStringToObject(x, "content", h);
		json_push(hs, x);
		if (sf->listed && strncasecmp(sf->listed, h, 64)) {
			/* changed since the package manager wrote it */
			char listed[65];

			snprintf(listed, sizeof(listed), "%.64s", sf->listed);
			prop(cJSON_AddArrayToObject(f, "properties"), "strata:file:database-sha256", listed);
		}
	}
	return f;
}

static cJSON *cdx_component(const struct sbom *s, const struct sbom_pkg *sp)
{
	const struct image *im = s->im;
	cJSON *c = cJSON_CreateObject(), *lic, *files, *props;
	size_t j;

	cJSON_AddStringToObject(c, "bom-ref", sp->ref);
	cJSON_AddStringToObject(c, "type", "library");
	cJSON_AddStringToObject(c, "name", sp->p->name);
	cJSON_AddStringToObject(c, "version", sp->p->version);
	if (sp->nlic) {
		lic = cJSON_AddArrayToObject(c, "licenses");
		for (j = 0; j < sp->nlic; j++) {
			cJSON *l = cJSON_CreateObject();

			cJSON_AddStringToObject(cJSON_AddObjectToObject(l, "license"), "name", sp->licenses[j]);
			json_push(lic, l);
		}
	}
	cJSON_AddStringToObject(c, "purl", sp->purl);
	props = cJSON_AddArrayToObject(c, "properties");
	prop(props, "strata:package:database", sp->db);
	if (*sp->p->arch)
		prop(props, "strata:package:architecture", sp->p->arch);
	prop(props, "strata:layer:introduced", layer_digest(im, sp->introduced));
	prop(props, "strata:layer:changed", layer_digest(im, sp->changed));
	if (sp->nfiles) {
		files = cJSON_AddArrayToObject(c, "components");
		for (j = 0; j < sp->nfiles; j++)
			json_push(files, cdx_file(&sp->files[j]));
	}
	return c;
}

/* ---- SPDX ---- */

/* An SPDX license expression of the names: each an idstring (other bytes
 * become '-'), joined with AND. */
static void spdx_license(const struct sbom_pkg *sp, struct buf *b, struct strata_err *e)
{
	size_t i;
	const char *c;

	for (i = 0; i < sp->nlic; i++) {
		bool ref = false;

		for (c = sp->licenses[i]; *c; c++)
			if (!isalnum((unsigned char)*c) && *c != '.' && *c != '-' && !(*c == '+' && !c[1]))
				ref = true;
		if (i)
			buf_addstr(b, " AND ", e);
		if (ref)
			buf_addstr(b, "LicenseRef-", e);
		for (c = sp->licenses[i]; *c; c++)
			buf_add(b, isalnum((unsigned char)*c) || *c == '.' || (*c == '+' && !ref) ? c : "-", 1, e);
	}
	buf_add(b, "", 1, e);
}

static void spdx_common(cJSON *p, const char *declared)
{
	cJSON_AddStringToObject(p, "downloadLocation", "NOASSERTION");
	cJSON_AddBoolToObject(p, "filesAnalyzed", false);
	cJSON_AddStringToObject(p, "licenseConcluded", "NOASSERTION");
	cJSON_AddStringToObject(p, "licenseDeclared", declared);
	cJSON_AddStringToObject(p, "copyrightText", "NOASSERTION");
}

static cJSON *spdx_rel(const char *a, const char *type, const char *b)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "spdxElementId", a);
	cJSON_AddStringToObject(o, "relationshipType", type);
	cJSON_AddStringToObject(o, "relatedSpdxElement", b);
	return o;
}

static cJSON *spdx_skeleton(const struct sbom *s, const char *ts)
{
	const struct image *im = s->im;
	cJSON *doc = cJSON_CreateObject(), *ci, *x;
	struct strata_err e = STRATA_ERR_INIT;
	char uuid[37] = "00000000-0000-5000-8000-000000000000", ns[128];
	struct buf c = BUF_INIT(1u << 16);
	size_t i;

	(void)sbom_uuid(im->config.digest, uuid);
	cJSON_AddStringToObject(doc, "spdxVersion", "SPDX-2.3");
	cJSON_AddStringToObject(doc, "dataLicense", "CC0-1.0");
	cJSON_AddStringToObject(doc, "SPDXID", "SPDXRef-DOCUMENT");
	cJSON_AddStringToObject(doc, "name", image_name(im));
	snprintf(ns, sizeof(ns), "https://strata.invalid/spdx/%s", uuid);
	cJSON_AddStringToObject(doc, "documentNamespace", ns);
	ci = cJSON_AddObjectToObject(doc, "creationInfo");
	cJSON_AddStringToObject(ci, "created", ts);
	x = cJSON_AddArrayToObject(ci, "creators");
	json_push(x, cJSON_CreateString("Tool: strata-" STRATA_VERSION));
	buf_addstr(&c, "packages by ecosystem:", &e);
	for (i = 0; i < PKG_ECO_N; i++)
		buf_printf(&c, &e, "%s %s: %s", i ? ";" : "", pkg_eco_names[i], s->notes[i]);
	buf_add(&c, "", 1, &e);
	if (c.data)
		cJSON_AddStringToObject(doc, "comment", c.data);
	buf_release(&c);
	json_put(doc, "packages", placeholder(L_SPDX_PACKAGES));
	json_put(doc, "relationships", placeholder(L_SPDX_RELATIONSHIPS));
	return doc;
}

static void spdx_id(const struct sbom *s, size_t i, char id[64])
{
	snprintf(id, 64, "SPDXRef-Package-%s-%zu", s->v[i].type, i + 1);
}

/* The image's package (i 0), then package i - 1. */
static cJSON *spdx_package(const struct sbom *s, size_t i)
{
	const struct image *im = s->im;
	const struct sbom_pkg *sp;
	struct strata_err e = STRATA_ERR_INIT;
	struct buf lic = BUF_INIT(1u << 20);
	cJSON *p = cJSON_CreateObject(), *refs, *x;
	char id[64], comment[512];

	if (!i) {
		cJSON_AddStringToObject(p, "SPDXID", "SPDXRef-Image");
		cJSON_AddStringToObject(p, "name", image_name(im));
		if (im->config.digest[0])
			cJSON_AddStringToObject(p, "versionInfo", im->config.digest);
		spdx_common(p, "NOASSERTION");
		cJSON_AddStringToObject(p, "primaryPackagePurpose", "CONTAINER");
		return p;
	}
	sp = &s->v[i - 1];
	spdx_id(s, i - 1, id);
	cJSON_AddStringToObject(p, "SPDXID", id);
	cJSON_AddStringToObject(p, "name", sp->p->name);
	cJSON_AddStringToObject(p, "versionInfo", sp->p->version);
	spdx_license(sp, &lic, &e);
	spdx_common(p, sp->nlic && lic.data ? lic.data : "NOASSERTION");
	buf_release(&lic);
	snprintf(comment, sizeof(comment), "introduced by layer %s; last changed by layer %s",
		 layer_digest(im, sp->introduced), layer_digest(im, sp->changed));
	cJSON_AddStringToObject(p, "comment", comment);
	refs = cJSON_AddArrayToObject(p, "externalRefs");
	x = cJSON_CreateObject();
	cJSON_AddStringToObject(x, "referenceCategory", "PACKAGE-MANAGER");
	cJSON_AddStringToObject(x, "referenceType", "purl");
	cJSON_AddStringToObject(x, "referenceLocator", sp->purl);
	json_push(refs, x);
	return p;
}

/* ---- writing ---- */

/* Element i of list l of the SBOM ctx, or NULL past its end (*end set) or out of memory (json.h). */
static cJSON *element(void *ctx, int l, size_t i, bool *end)
{
	const struct sbom *s = ctx;
	char id[64];

	*end = i >= s->len + (l == L_SPDX_PACKAGES || l == L_SPDX_RELATIONSHIPS);
	if (*end)
		return NULL;
	switch (l) {
	case L_CDX_COMPONENTS:
		return cdx_component(s, &s->v[i]);
	case L_CDX_DEPENDS:
		return cJSON_CreateString(s->v[i].ref);
	case L_SPDX_PACKAGES:
		return spdx_package(s, i);
	default:
		if (!i)
			return spdx_rel("SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-Image");
		spdx_id(s, i - 1, id);
		return spdx_rel("SPDXRef-Image", "CONTAINS", id);
	}
}

int sbom_write(const struct sbom *s, enum sbom_format f, const char *ts, bool line, report_write_fn w, void *ctx,
	       struct strata_err *e)
{
	return json_write_doc(f == SBOM_SPDX ? spdx_skeleton(s, ts) : cdx_skeleton(s, ts), line, element, (void *)s, w,
			      ctx, e);
}
