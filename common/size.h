/*
 * size.h - sizes for people: one convention in every text output, IEC
 * units (1 KiB = 1024 bytes), as ls -h and du -h print them.  JSON outputs
 * carry plain bytes.
 */
#ifndef STRATA_SIZE_H
#define STRATA_SIZE_H

#include <stdint.h>

/* "512 B", "18.0 KiB", "1.5 MiB", ... up to TiB; returns buf. */
const char *human_size(uint64_t n, char buf[32]);

#endif
