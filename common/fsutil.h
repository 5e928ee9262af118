/*
 * fsutil.h - path hygiene and atomic output files.
 *
 * path_clean() is the lexical normalisation every untrusted name goes through
 * before it is compared or joined (Go's path.Clean: "./a//b/../c" -> "a/c").
 * Output files are created under a temporary name in their destination
 * directory and only renamed into place by atomic_commit(); atomic_abort()
 * (also run for every pending file by atomic_abort_all(), from a signal
 * handler) removes them, so an existing destination is never half-written.
 */
#ifndef STRATA_FSUTIL_H
#define STRATA_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "err.h"

/* Lexically clean a slash path into a new malloc'd string ("" -> "."). */
char *path_clean(const char *p);
/* A cleaned path that stays below its root: not absolute, no leading "..". */
bool path_is_local(const char *clean);
/* Parent directory of a cleaned path ("a/b" -> "a", "a" -> "."), malloc'd. */
char *path_dir(const char *clean);
/* Join and clean: dir + "/" + rel, malloc'd. */
char *path_join(const char *dir, const char *rel);

struct atomic_file {
	char *final;      /* destination path */
	char *tmp;        /* temporary name beside it */
	int fd;
	bool sync;        /* fsync before the rename (off unless the caller sets it) */
};

/* Create dest's temp file (mode 0644) in dest's directory. */
int atomic_open(struct atomic_file *f, const char *dest, struct strata_err *e);
/* fsync (when f->sync), close and rename into place; not once memory ran
 * out during the run (strata_oom_seen): then it fails and removes the file. */
int atomic_commit(struct atomic_file *f, struct strata_err *e);
/* close and unlink the temp file; safe to call twice. */
void atomic_abort(struct atomic_file *f);

/*
 * How an output path other than "-" is written; only a regular file is ever
 * replaced.  An existing character device, FIFO or socket is a stream: 0
 * with *stream_fd open on it for writing (never created, truncated or
 * replaced; the caller writes into it as into stdout and closes it).  Absent
 * or a regular file: 0 with *stream_fd -1 and *path (malloc'd) the file to
 * write atomically (atomic_open).  A symlink is written through only when it
 * resolves to an existing regular file: *path is then the resolved path (the
 * file is replaced, the link stays a link).  Anything else - a symlink to a
 * device, a FIFO, a directory or nothing, a directory, a block device - is
 * STRATA_EUSAGE naming what it is.
 */
int output_resolve(const char *dest, char **path, int *stream_fd, struct strata_err *e);
/* STRATA_EUSAGE "destination is the source" when dest is the regular file
 * src names ("-": stdin) - the same inode, through any link; 0 otherwise,
 * also when either is absent. */
int output_not_source(const char *src, const char *dest, struct strata_err *e);

/*
 * Remove path and everything below it, never following a symlink, at any
 * depth with a fixed number of file descriptors: it descends with openat and
 * climbs back through "..", checking each parent is the one it came from.
 * Directories are made writable first (a tree strata made may hold 0555
 * directories).  0, also when path is absent; STRATA_EIO naming the entry
 * that could not be removed.
 */
int remove_tree(const char *path, struct strata_err *e);

/* One line of a list file (--from, --exclude-blobs), trimmed in place of
 * blanks and its line end; NULL when nothing is left or it is a # comment. */
char *list_line(char *line);

/* Open a file of someone else's tree to read it: a regular file only, never
 * blocking on a FIFO or device, and through a symlink at its last component
 * only when follow.  The fd (its size in *size when size is given), or -1
 * with errno: ELOOP a symlink (not follow), EINVAL anything else that is no
 * regular file. */
int open_regular(const char *path, bool follow, uint64_t *size);
/* All of the regular file at path (open_regular()) appended to b, whose cap
 * bounds it (STRATA_EFORMAT "too large" past it: a file larger than the room
 * left is refused by its size, unread).  A symlink
 * (not follow) or anything that is no regular file is the error refuse
 * (STRATA_EFORMAT for a source, STRATA_EUSAGE for a destination), naming
 * it; a failed open or read is the system's. */
struct buf;
int read_regular(const char *path, bool follow, struct buf *b, int refuse, struct strata_err *e);

/* write(2) all of it, retrying on EINTR and short writes. */
int write_all(int fd, const void *p, size_t n, const char *what, struct strata_err *e);

#endif
