/*
 * spill.h - logs of records kept in memory up to a bound, and past it in a
 * temp file, as sort(1) keeps its runs.
 *
 * A spill_log is written once, record after record, and then read back from
 * the start as often as needed, in the order written.  Records are packed
 * into chunks of SPILL_CHUNK bytes (a larger record gets a chunk of its
 * own), each with a 4-byte length before it: no allocation per record.  The
 * logs of one struct spill share its memory budget and its temp file: a
 * chunk that is full when the chunks in memory (the ones being filled
 * included) hold mem_max bytes or more goes to the file, appended, and its
 * buffer is filled again.  So the memory of any number of logs is about
 * mem_max plus one chunk per log being written; the file is one
 * sequential append, read back a chunk at a time.
 *
 * The temp file is made in $TMPDIR (else /tmp) at the first chunk that goes
 * out and unlinked at once, so nothing is left whatever ends the run; it is
 * closed when the last log of the spill is released.  Spilling only saves
 * memory: when the file cannot be made or written (a read-only or full
 * $TMPDIR), no_file is set and the chunks still to come stay in memory, as
 * if there were no bound.
 *
 * Errors: out of memory (STRATA_EIO, noted as such) and a temp file that
 * cannot be read back (STRATA_EIO, with errno's message).  A log that failed
 * may be released and nothing else.  Single-threaded.
 */
#ifndef STRATA_SPILL_H
#define STRATA_SPILL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "err.h"

#define SPILL_CHUNK (64u << 10)

/* Invariants: mem is the capacity of every chunk buffer of its logs that
 * is in memory; fd is -1 until a chunk went out, and then end is the
 * file's length; logs counts the logs initialised and not released. */
struct spill {
	size_t mem, mem_max;
	int fd;
	uint64_t end;
	size_t logs;
	bool no_file;      /* the file could not be made or written: no more spilling */
};

/* One chunk of a log: in memory at p, or (p NULL) at off in the file. */
struct spill_chunk {
	char *p;
	uint64_t off;
	size_t len;
};

/* Invariants: c[0..n) are the finished chunks in order; cur (cap bytes,
 * used of them filled) is the one being filled, or NULL. */
struct spill_log {
	struct spill *s;
	struct spill_chunk *c;
	size_t n, alloc;
	char *cur;
	size_t used, cap;
	uint64_t records;
};

/* A reader of one log: buf holds a chunk read from the file. */
struct spill_reader {
	const struct spill_log *l;
	size_t ci;             /* the next chunk */
	const char *p;         /* the chunk being read, len bytes, at at */
	size_t len, at;
	char *buf;
	size_t bcap;
};

void spill_init(struct spill *s, size_t mem_max);

/* A temp file in $TMPDIR (else /tmp), made and unlinked at once: its
 * descriptor, or <0 with e. */
int spill_tmpfile(struct strata_err *e);

void spill_log_init(struct spill_log *l, struct spill *s);
/* Append one record of n bytes (at most UINT32_MAX).  0 or <0 with e. */
int spill_log_add(struct spill_log *l, const void *p, size_t n, struct strata_err *e);
/* No more records: the chunk being filled is trimmed to what it holds, or
 * goes to the file when memory is over the bound.  Optional; 0 or <0. */
int spill_log_seal(struct spill_log *l, struct strata_err *e);
/* Frees the log's chunks; the last log of a spill closes its file. */
void spill_log_release(struct spill_log *l);

/* Read l from its first record; l must not grow while it is read. */
void spill_read_init(struct spill_reader *r, const struct spill_log *l);
/* The next record: 1 with *p and *n (valid until the next call or the
 * release), 0 after the last, <0 with e when the file cannot be read. */
int spill_read(struct spill_reader *r, const void **p, size_t *n, struct strata_err *e);
void spill_read_release(struct spill_reader *r);

#endif
