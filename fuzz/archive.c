/*
 * archive.c - fuzz target: the outer archive readers, as `strata verify`
 * and `strata analyze` run them.
 *
 * The input is the whole archive, put in a memfd and opened through
 * /dev/fd/N (fuzz_source_ref()), so source_open() takes the same path as
 * for a file: one scan
 * (decode on, the layer walker collecting entries and content digests),
 * bidding between docker-archive, oci-archive and rootfs, loading, checks;
 * then the reports of fuzz_report() (fuzz.h), whose documents must parse
 * and be what cJSON prints for them parsed again.  The input length picks
 * the reference: most lengths (every tar's) are
 * detected by content, the rest force docker-archive:, oci-archive: or
 * rootfs:; and whether the documents are pretty or on one line.
 */
#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_open_report(fuzz_source_ref(data, size), size / 8 % 2);
	return 0;
}
