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
#include "common/strmap.h"
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
	char **names;                 /* per name: the full reference as given ("app:1"), or NULL (owned) */
	size_t nnames;
	char **ref_names;             /* per name: its OCI ref.name, NULL until chosen (owned) */
	size_t nref_names;            /* == nnames */
	struct strmap named;          /* each (normalised name, ref.name) listed, once (conv_add_entry) */
	size_t anames;                /* names and ref_names have room for this many */
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

/* The familiar form of a normalised name ("docker.io/library/x:1" -> "x:1",
 * "docker.io/a/b:1" -> "a/b:1"), as docker save writes RepoTags; caller frees. */
char *target_familiar_name(const char *ref);

/*
 * The ref.name of every name that has none yet: its tag ("1.0") when no
 * other entry of the index written (the new images, and the entries of
 * old_index that stay and name another image) uses that tag, else the full
 * name as given ("corpus/multi-b:1.0"), so that every image stays
 * addressable by umoci, skopeo and oci-image-tool.  A name without a tag gets
 * no ref.name.
 */
int target_choose_ref_names(struct out_set *set, const char *old_index, size_t old_len, struct strata_err *e);

/* What write_oci did to an existing layout: the old entries that named a
 * reused tag and were dropped (--replace), as a JSON array; caller frees. */
struct oci_write_opts {
	const char *old_index;        /* the existing layout's index.json, or NULL */
	size_t old_len;
	const char *layout;           /* its name, for messages */
	bool replace;                 /* a reused name replaces the old entry (else STRATA_EUSAGE) */
	cJSON *dropped;               /* out: old entries dropped, or NULL */
};

/* oci-layout + index.json (merged with an existing index.json when given). */
int target_write_oci(struct sink *s, const struct out_set *set, struct oci_write_opts *wo, struct strata_err *e);
/* manifest.json + repositories + oci-layout + index.json. */
int target_write_docker(struct sink *s, const struct out_set *set, struct strata_err *e);

void out_image_release(struct out_image *im);
void out_set_release(struct out_set *set);

#endif
