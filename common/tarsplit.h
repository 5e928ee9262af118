/*
 * tarsplit.h - reading tar-split metadata (github.com/vbatts/tar-split).
 *
 * Docker's layerdb (tar-split.json.gz) and containers-storage
 * (<layer>.tar-split.gz) keep, for every layer they unpacked, what is needed
 * to write the original tar again byte for byte from the unpacked files:
 * gzip'd JSON, one object a line, in stream order:
 *
 *   {"type":2,"payload":"<base64 bytes>","position":P}        raw segment:
 *       headers, padding, the end blocks, written verbatim
 *   {"type":1,"name":"etc/a","size":N,"payload":"<base64>","position":P}
 *       a file entry: N bytes of the file's content come here; the payload is
 *       the CRC-64 (ISO polynomial, big-endian) of those bytes; no size and a
 *       null payload for entries without content (dirs, links)
 *
 * "name_raw" (base64) replaces "name" when the name is not UTF-8.  Positions
 * count up from 0.  Nothing in it is trusted: sizes are bounded by the
 * caller, lines by TARSPLIT_LINE_MAX.
 */
#ifndef STRATA_TARSPLIT_H
#define STRATA_TARSPLIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/err.h"

#define TARSPLIT_LINE_MAX (64u << 20)

enum tarsplit_type { TARSPLIT_FILE = 1, TARSPLIT_SEGMENT = 2 };

struct tarsplit_ent {
	enum tarsplit_type type;
	const uint8_t *raw;   /* segment bytes (type 2) */
	size_t rawlen;
	const char *name;     /* file entry name as stored (type 1) */
	uint64_t size;        /* content bytes (type 1), 0 when none */
	bool has_crc;
	uint64_t crc;         /* CRC-64/ISO of the content */
	uint64_t position;
};

struct tarsplit;

/* Read from fd (gzip'd JSON lines; the fd is taken and closed by tarsplit_free).
 * what names the file in messages. */
int tarsplit_open(struct tarsplit **out, int fd, const char *what, struct strata_err *e);
/* 1 with *ent filled (valid until the next call), 0 at the end, <0 on error
 * (STRATA_EFORMAT naming the file and line). */
int tarsplit_next(struct tarsplit *ts, struct tarsplit_ent *ent, struct strata_err *e);
void tarsplit_free(struct tarsplit *ts);

/* CRC-64 with the ISO polynomial as Go's hash/crc64 computes it: start
 * with 0, feed blocks, the value is the sum. */
uint64_t crc64_iso(uint64_t crc, const void *p, size_t n);

#endif
