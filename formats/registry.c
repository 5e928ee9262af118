/*
 * registry.c - the format table, bidding and source_open().
 *
 * Formats overlap (Docker 25+ writes manifest.json *and* an OCI layout), so
 * each format bids on what the scan found and the highest bid wins, as in
 * libarchive's choose_format().  A transport prefix in the reference
 * (docker-archive:, oci:, oci-archive:, rootfs:) overrides the bidding.
 */
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "formats/image.h"

static const struct format_ops *const formats[] = {
	&docker_archive_format,
	&oci_layout_format,
	&rootfs_format,
};

static const struct format_ops *forced(enum ref_transport t)
{
	switch (t) {
	case REF_DOCKER_ARCHIVE: return &docker_archive_format;
	case REF_OCI: case REF_OCI_ARCHIVE: case REF_REGISTRY: return &oci_layout_format;
	case REF_ROOTFS: return &rootfs_format;
	case REF_DOCKER_ROOT: case REF_CSTORAGE: return &docker_archive_format;
	default: return NULL;
	}
}

static bool tag_matches(const struct image *im, const char *want)
{
	size_t j, nl = strlen(want);

	for (j = 0; j < im->ntags; j++) {
		const char *t = im->tags[j];
		size_t tl = strlen(t);

		/* exact, or a familiar name ("x:1") matching a normalised one ("docker.io/library/x:1") */
		if (!strcmp(t, want) || (tl > nl && t[tl - nl - 1] == '/' && !strcmp(t + tl - nl, want)))
			return true;
	}
	return false;
}

/* Keep only the images a reference's NAME:TAG, TAG or @N selects. */
static int select_images(struct source *s, struct strata_err *e)
{
	struct image_set *set = &s->images;
	size_t i, j;

	if (s->ref.index < 0 && !s->ref.name)
		return 0;
	if (s->ref.index >= 0 && (size_t)s->ref.index >= set->len)
		return err_set(e, STRATA_EUSAGE, "'%s' holds %zu images; @%ld does not exist", s->ref.path, set->len,
			       s->ref.index);
	for (i = 0, j = 0; i < set->len; i++) {
		bool keep = s->ref.index >= 0 ? i == (size_t)s->ref.index : tag_matches(set->v[i], s->ref.name);

		if (keep)
			set->v[j++] = set->v[i];
		else
			image_free(set->v[i]);
	}
	set->len = j;
	if (!j)
		return err_set(e, STRATA_EUSAGE, "no image tagged '%s' in '%s'", s->ref.name, s->ref.path);
	return 0;
}

int source_open(struct source **out, const char *refstr, const struct load_opts *o, struct diag *d,
		struct strata_err *e)
{
	const struct format_ops *best = NULL;
	struct source *s;
	int r, bid, top = 0;
	size_t i;

	*out = NULL;
	if (!(s = calloc(1, sizeof(*s))))
		return err_nomem(e, "source");
	if ((r = ref_parse(refstr, &s->ref, e)) < 0)
		goto fail;
	if ((r = scan_source(s, o, d, e)) < 0)
		goto fail;
	best = forced(s->ref.transport);
	if (!best) {
		for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
			bid = formats[i]->bid(&s->cat);
			if (bid > top) {
				top = bid;
				best = formats[i];
			}
		}
	}
	if (!best) {
		if (catalog_get(&s->cat, "repositories"))
			best = &docker_archive_format;  /* it says what a v1.0 archive is */
		else {
			r = err_set(e, STRATA_EFORMAT,
				    "not a container image archive (no manifest.json, index.json or root filesystem found)");
			goto fail;
		}
	}
	if (best == &rootfs_format && !s->cat.rootfs) {
		r = err_set(e, STRATA_EFORMAT, "not a root filesystem tarball");
		goto fail;
	}
	s->fmt = best;
	s->format_name = s->ref.transport == REF_DOCKER_ROOT || s->ref.transport == REF_CSTORAGE
				 ? ref_transport_name(s->ref.transport) : best->name;
	if ((r = best->load(s, d, e)) < 0)
		goto fail;
	if (s->ref.transport == REF_REGISTRY)
		s->format_name = "registry";
	if ((r = select_images(s, e)) < 0)
		goto fail;
	if (o->hooks && o->hooks->image)
		for (i = 0; i < s->images.len; i++)
			o->hooks->image(o->hooks->ctx, s->images.v[i], d);
	diag_settle(d, o->limits.strict);
	*out = s;
	return 0;
fail:
	source_free(s);
	return r;
}

int source_select(struct source *s, const char *image, struct strata_err *e)
{
	char *end;
	long n;

	if (!image || !*image)
		return 0;
	free(s->ref.name);
	s->ref.name = NULL;
	s->ref.index = -1;
	if (image[0] == '@') {
		errno = 0;
		n = strtol(image + 1, &end, 10);
		if (end == image + 1 || *end || n < 0 || errno)
			return err_set(e, STRATA_EUSAGE, "--image '%s': @N takes a number from 0", image);
		s->ref.index = n;
	} else if (!(s->ref.name = strdup(image))) {
		return err_nomem(e, "name");
	}
	return select_images(s, e);
}

int source_member_fd(const struct source *s, const struct member *m, int *fd, uint64_t *off, struct strata_err *e)
{
	char *path;

	*fd = -1;
	*off = 0;
	if (s->pieces)
		return 1;  /* spooled on the first read, as from stdin */
	if (s->ref.transport == REF_REGISTRY) {
		if (strncmp(m->name, "blobs/sha256/", 13) || !(path = regtree_blob_file(s->ref.path, m->name + 13)))
			return 1;
		*fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		free(path);
	} else if (s->is_dir) {
		if (!(path = path_join(s->ref.path, m->name)))
			return err_nomem(e, "path");
		*fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		free(path);
	} else if (!strcmp(s->ref.path, "-")) {
		if (!s->plain_file)
			return 1;
		*fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0);  /* stdin is a regular file: pread works */
		*off = m == s->cat.rootfs ? 0 : m->data_off;
	} else if (m != s->cat.rootfs && !s->plain_file) {
		return 1;
	} else {
		*fd = open(s->ref.path, O_RDONLY | O_CLOEXEC);
		*off = m == s->cat.rootfs ? 0 : m->data_off;
	}
	if (*fd < 0)
		return err_sys(e, errno, "cannot open '%s' again", m->name[0] ? m->name : s->ref.path);
	return 0;
}

void source_free(struct source *s)
{
	if (!s)
		return;
	image_set_release(&s->images);
	image_set_release(&s->extra);
	catalog_release(&s->cat);
	ref_release(&s->ref);
	free(s);
}
