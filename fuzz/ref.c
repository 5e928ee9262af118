/*
 * ref.c - fuzz target: the strings a user types that the library parses:
 * image references (ref_parse), platforms (platform_parse, platform_match)
 * and analyze's --fail-on rules (rules_parse).  The input, cut at its first
 * NUL, is given to each.
 */
#include <stdlib.h>
#include <string.h>

#include "analyze/analyze.h"
#include "convert/convert.h"
#include "formats/ref.h"
#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct platform have = { "linux", "arm64", "v8" };
	struct strata_err e = STRATA_ERR_INIT;
	struct fail_rules rules;
	struct platform p;
	struct ref r;
	char *s = malloc(size + 1), pbuf[128];

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	if (ref_parse(s, &r, &e) == 0) {
		ref_transport_name(r.transport);
		ref_release(&r);
	}
	if (platform_parse(s, pbuf, sizeof(pbuf), &p, &e) == 0)
		platform_match(&p, &have);
	rules_parse(s, &rules, &e);
	free(s);
	return 0;
}
