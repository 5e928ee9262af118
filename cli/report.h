/*
 * report.h - the JSON and text views of a source shared by inspect and verify.
 * JSON is built in a fixed key order and printed by cJSON: canonical, no
 * timestamps, so outputs can be compared byte for byte.
 */
#ifndef STRATA_REPORT_H
#define STRATA_REPORT_H

#include <cJSON.h>
#include "common/diag.h"
#include "formats/image.h"

#define REPORT_SCHEMA 1

/* {"schema":1,"source":..,"format":..,"compression":..,"images":[...]}; caller frees. */
cJSON *report_source_json(const char *src, const struct source *s);
cJSON *report_problems_json(const struct diag *d);
void report_source_text(FILE *f, const char *src, const struct source *s);
/* Print a cJSON document and a newline to stdout; frees it. 0 or 3 (I/O). */
int report_print_json(cJSON *doc);

#endif
