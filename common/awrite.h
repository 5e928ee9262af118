/*
 * awrite.h - write(2) on a second thread, so that hashing and decoding on
 * the calling thread overlap with the kernel's copying into the page cache.
 *
 * The caller's bytes are copied into one of a few fixed buffers (bounded
 * memory: AW_BUFS x AW_BUF_SIZE) and written in order by the writer thread.
 * aw_flush() waits until everything queued is written and returns the first
 * write error, if any; call it before touching the fd directly (pwrite,
 * fsync, close) or switching to another fd.
 */
#ifndef STRATA_AWRITE_H
#define STRATA_AWRITE_H

#include <stddef.h>
#include <stdint.h>
#include "err.h"

#define AW_BUFS 4
#define AW_BUF_SIZE (256 * 1024)

struct awriter;

int aw_new(struct awriter **out, struct strata_err *e);
/* Bytes from now on go to fd (flushes what was queued for the previous fd). */
int aw_set_fd(struct awriter *aw, int fd, const char *what, struct strata_err *e);
int aw_write(struct awriter *aw, const void *p, size_t n, struct strata_err *e);
int aw_flush(struct awriter *aw, struct strata_err *e);
/* Queue a copy of len bytes of in_fd at in_off: in the kernel, no copy
 * through user space (copy_file_range into a regular file, sendfile into a
 * pipe or a character device), else pread/write.  in_fd must stay open
 * until aw_flush() has returned. */
int aw_copy_range(struct awriter *aw, int in_fd, uint64_t in_off, uint64_t len, struct strata_err *e);
void aw_free(struct awriter *aw);

#endif
