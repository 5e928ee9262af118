/*
 * target.h - the documents written for a converted image set: OCI image
 * layout (oci-layout, index.json, new manifests/indexes) and the hybrid
 * docker-archive (manifest.json + repositories for classic Docker and
 * podman, plus the OCI layout view for containerd and Docker 25+, both
 * describing the same images).
 *
 * Documents strata creates are canonical: fixed key order, no whitespace,
 * so the same input gives byte-identical output.  Documents it did not
 * create are written as their raw bytes.
 */
#ifndef STRATA_TARGET_H
#define STRATA_TARGET_H

#include <cJSON.h>
#include "formats/image.h"
#include "formats/sink.h"

struct out_desc {
	const char *media_type;
	char digest[DIGEST_STR_MAX];
	int64_t size;
	const cJSON *urls;            /* foreign layers keep their urls */
};

struct out_image {
	const struct image *src;
	struct out_desc manifest;     /* written manifest (raw or new) */
	struct out_desc config;
	struct out_desc *layers;
	const char **diff_ids;
	size_t nlayers;
	struct platform platform;
	bool has_platform;
	char **names;                 /* full references "host/repo:tag" (owned) */
	size_t nnames;
	char **ref_names;             /* OCI ref.name values (owned) */
	size_t nref_names;
	int group;                    /* images of one index share a group >= 0; -1 alone */
	struct out_desc index;        /* the group's index, when group >= 0 */
};

struct out_set {
	struct out_image *v;
	size_t len;
};

/* Canonical OCI manifest for an image (config + layers); caller frees. */
char *target_oci_manifest(const struct out_image *im);
/* Canonical OCI index over images [from, to) of a set; caller frees. */
char *target_oci_index(const struct out_set *set, size_t from, size_t to);
/* Normalise a docker name:tag ("alpine:3" -> "docker.io/library/alpine:3"); caller frees. */
char *target_normalize_name(const char *ref);

/* oci-layout + index.json (merged with an existing index.json when given). */
int target_write_oci(struct sink *s, const struct out_set *set, const char *old_index, size_t old_len,
		     struct strata_err *e);
/* manifest.json + repositories + oci-layout + index.json. */
int target_write_docker(struct sink *s, const struct out_set *set, struct strata_err *e);

void out_image_release(struct out_image *im);
void out_set_release(struct out_set *set);

#endif
