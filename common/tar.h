/*
 * tar.h - streaming tar reader over a pull stream.
 *
 * Used for the outer archive (docker-archive, oci-archive, rootfs) and for
 * every layer.  It reads headers only as the stream passes: entry data is
 * exposed as a stream of its own (tar_data()), so a caller can hash, decode
 * or copy a member without any copy here.  Understands ustar, POSIX pax
 * (path, linkpath, size, uid, gid, mtime, uname, gname, xattrs, GNU sparse
 * markers), GNU long names/links ('L'/'K'), base-256 numbers and old GNU
 * sparse entries.  A pax `size` record overrides the header size, as
 * libarchive and Go do.
 *
 * Where readers disagree, this one reads as Go's archive/tar does (the reader
 * of containerd, Docker, podman and umoci: what they extract is what strata
 * sees), or refuses with STRATA_EFORMAT and the offset:
 *  - hardlinks, symlinks, devices, dirs and fifos carry no data whatever
 *    their size field or a pax `size` record says (ent->size is 0): the
 *    next header follows; an old-style ('\0') file named "x/" is a dir;
 *  - a pax record with an empty value keeps the header's field; a NUL byte
 *    in a pax path, linkpath, uname or gname, an empty key or a NUL in a
 *    key: refused (Go: ErrHeader);
 *  - refused because readers differ: two pax headers in a row, a pax path
 *    (linkpath) and a GNU long name (link) that differ, old GNU sparse
 *    files with sparse map extension blocks or not in the GNU format;
 *  - the end: a zero block then the end of the stream, or two zero blocks;
 *    a zero block followed by a non-zero block is refused.  After the two
 *    blocks, tar_next() reads the rest of the stream itself: zero padding up
 *    to TAR_TRAILER_MAX bytes is accepted, any non-zero byte or more padding
 *    refused, so an endless stream of zeros ends.
 *
 * Why our own reader and not libarchive's: we need the data of each member as
 * a zero-copy stream feeding further stages, our own caps on pax and long-name
 * records (libarchive allows 1 GiB), and the exact count of bytes consumed so
 * a rootfs tar can be hashed as a layer while it is read.
 *
 * Ownership: the entry returned by tar_next() and its strings belong to the
 * reader and stay valid until the next tar_next() or tar_free().
 */
#ifndef STRATA_TAR_H
#define STRATA_TAR_H

#include <stdbool.h>
#include <stdint.h>
#include "buf.h"
#include "err.h"
#include "limits.h"
#include "stream.h"

enum tar_type {
	TAR_FILE, TAR_HARDLINK, TAR_SYMLINK, TAR_CHAR, TAR_BLOCK, TAR_DIR, TAR_FIFO, TAR_OTHER
};

/* One extended attribute (pax SCHILY.xattr.NAME); the value is binary. */
struct tar_xattr {
	const char *name;
	const char *value;
	size_t len;
};

struct tar_entry {
	const char *path;       /* as stored (pax/GNU overrides applied) */
	const char *link;       /* link target for hardlinks and symlinks, else "" */
	enum tar_type type;
	char typeflag;          /* the raw typeflag byte */
	uint64_t size;          /* data bytes that follow the header (0 unless TAR_FILE or TAR_OTHER) */
	uint32_t mode;          /* permission bits and setuid/setgid/sticky */
	uint64_t uid, gid;
	int64_t mtime;
	const char *uname, *gname;
	uint32_t devmajor, devminor;
	bool sparse;            /* GNU sparse member (cannot be reproduced byte for byte) */
	unsigned nxattrs;       /* pax SCHILY.xattr.* / LIBARCHIVE.xattr.* records */
	bool has_capability;    /* security.capability xattr present */
	const struct tar_xattr *xattrs;  /* the SCHILY.xattr.* records, in header order */
	unsigned nxattr_v;
	uint64_t offset;        /* stream offset of the (first) header block */
};

struct tar;

/* Reads from s (not owned).  Of lim (NULL: the defaults) the reader enforces
 * max_header (pax extended headers and GNU long names/links) and
 * max_entries (entries returned). */
int tar_open(struct tar **t, struct stream *s, const struct limits *lim, struct strata_err *e);
/* Zero bytes accepted after the two end-of-archive blocks (record padding). */
#define TAR_TRAILER_MAX (1u << 20)

/*
 * Next entry: returns 1 with *ent set, 0 at the end of the archive (the
 * stream is then read to its end), <0 on error ("truncated" when the stream
 * ends inside a header or data; "too many entries" past lim->max_entries;
 * the refusals above).  Unread data of the previous entry is skipped.  The
 * first call fails with STRATA_EFORMAT "not a tar archive" when the first
 * block is not a header.
 */
int tar_next(struct tar *t, struct tar_entry **ent, struct strata_err *e);
/* The current entry's data as a stream (owned by the reader). */
struct stream *tar_data(struct tar *t);
/* True when the archive ended without the two zero blocks (EOF at a header boundary). */
bool tar_missing_end(const struct tar *t);
/* True once a valid header block was read. */
bool tar_started(const struct tar *t);
/* Offset just past the last block consumed. */
uint64_t tar_offset(const struct tar *t);
void tar_free(struct tar *t);

/* Build a ustar header for a writer (name split into prefix/name when long,
 * base-256 size past 8 GiB); uid/gid 0, mtime 0.  Fails when the name does not fit. */
int tar_header_build(uint8_t blk[512], const char *name, char type, uint64_t size, uint32_t mode,
		     struct strata_err *e);

/*
 * Writing.  tar_hdr_encode() appends the header block(s) of one entry to out:
 * a plain ustar header when every field fits, else a pax 'x' header first
 * (long path or link, large ids, sizes or times, xattrs), as Go's
 * archive/tar does.  The caller writes the data and tar_padding() bytes of zeros.
 */
struct tar_hdr {
	const char *path, *link;      /* link: "" unless a symlink or hardlink */
	char typeflag;                /* '0' file, '1' hardlink, '2' symlink, '3' char, '4' block, '5' dir, '6' fifo */
	uint64_t size;
	uint32_t mode;
	uint64_t uid, gid;
	int64_t mtime;
	const char *uname, *gname;    /* may be NULL */
	uint32_t devmajor, devminor;
	const struct tar_xattr *xattrs;
	unsigned nxattrs;
};

int tar_hdr_encode(struct buf *out, const struct tar_hdr *h, struct strata_err *e);
/* The header that writes ent again under path (borrows ent's strings; typeflag
 * normalised: '0' for any regular file, no size for non-files). */
void tar_hdr_of(struct tar_hdr *h, const struct tar_entry *ent, const char *path);
/* Zero bytes that follow `size` bytes of data to fill the last block. */
static inline size_t tar_padding(uint64_t size)
{
	return (size_t)((512 - size % 512) % 512);
}

/* Does this 512-byte block look like a tar header (checksum valid)? */
bool tar_block_is_header(const uint8_t blk[512]);

#endif
