/* test_sbom.c - the SBOM's PURL, UUID, time and copyright helpers (analyze/sbom.h). */
#include <stdlib.h>
#include <string.h>

#include "analyze/sbom.h"
#include "tests/unit/unit.h"

TEST(sbom_purl)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct buf b = BUF_INIT(4096);

	CHECK_OK(sbom_purl(&b, "deb", "debian", "libc6", "2.36-9+deb12u4", "amd64", &e), &e);
	CHECK_OK(buf_add(&b, "", 1, &e), &e);
	CHECK_STR(b.data, "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64");
	buf_reset(&b);
	/* an epoch's colon, a name with '+', no arch */
	CHECK_OK(sbom_purl(&b, "deb", "ubuntu", "libstdc++6", "1:12.3.0-1ubuntu1~22.04", "", &e), &e);
	CHECK_OK(buf_add(&b, "", 1, &e), &e);
	CHECK_STR(b.data, "pkg:deb/ubuntu/libstdc%2B%2B6@1%3A12.3.0-1ubuntu1~22.04");
	buf_reset(&b);
	CHECK_OK(sbom_purl(&b, "apk", "alpine", "busybox", "1.36.1-r15", "x86_64", &e), &e);
	CHECK_OK(buf_add(&b, "", 1, &e), &e);
	CHECK_STR(b.data, "pkg:apk/alpine/busybox@1.36.1-r15?arch=x86_64");
	buf_release(&b);
}

TEST(sbom_uuid)
{
	char u[37];

	CHECK_INT(sbom_uuid("sha256:e5b7ddc16e627abf4e6e1576e0dc8ed19a29cc69da904561005311c73d6f8966", u), 0);
	CHECK_STR(u, "e5b7ddc1-6e62-5abf-8e6e-1576e0dc8ed1");  /* version 5, RFC 4122 variant */
	CHECK_INT(sbom_uuid("sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", u), 0);
	CHECK_STR(u, "ffffffff-ffff-5fff-bfff-ffffffffffff");
	CHECK_INT(sbom_uuid("sha256:0000", u), -1);
	CHECK_INT(sbom_uuid("sha512:e5b7ddc16e627abf4e6e1576e0dc8ed19a29cc69da904561005311c73d6f8966", u), -1);
	CHECK_INT(sbom_uuid("sha256:g5b7ddc16e627abf4e6e1576e0dc8ed19a29cc69da904561005311c73d6f8966", u), -1);
	CHECK_INT(sbom_uuid(NULL, u), -1);
}

TEST(sbom_time)
{
	char t[32];

	CHECK_INT(sbom_time("2024-01-01T00:00:00Z", NULL, t), 0);
	CHECK_STR(t, "2024-01-01T00:00:00Z");
	CHECK_INT(sbom_time("2024-01-01T01:30:00.123456789+02:00", NULL, t), 0);
	CHECK_STR(t, "2023-12-31T23:30:00Z");
	CHECK_INT(sbom_time("2024-01-01T00:00:00Z", "86400", t), 0);
	CHECK_STR(t, "1970-01-02T00:00:00Z");
	CHECK_INT(sbom_time(NULL, NULL, t), 0);
	CHECK_STR(t, "1970-01-01T00:00:00Z");
	CHECK_INT(sbom_time("yesterday", NULL, t), 0);
	CHECK_STR(t, "1970-01-01T00:00:00Z");
	CHECK_INT(sbom_time(NULL, "12abc", t), -1);
}

TEST(sbom_copyright)
{
	static const char dep5[] = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
				   "Upstream-Name: x\n\nFiles: *\nCopyright: someone\nLicense: GPL-2+\n"
				   "\nFiles: lib/*\nLicense: LGPL-2.1 \n\nLicense: GPL-2+\n The text.\n";
	static const char plain[] = "This is x, License: MIT\nLicense: BSD\n";
	struct strata_err e = STRATA_ERR_INIT;
	struct buf b = BUF_INIT(4096);

	CHECK_OK(sbom_copyright_licenses(dep5, sizeof(dep5) - 1, &b, &e), &e);
	CHECK_OK(buf_add(&b, "", 1, &e), &e);
	CHECK_STR(b.data, "GPL-2+\nLGPL-2.1\n");
	buf_reset(&b);
	CHECK_OK(sbom_copyright_licenses(plain, sizeof(plain) - 1, &b, &e), &e);
	CHECK_INT(b.len, 0);
	buf_release(&b);
	CHECK_INT(sbom_kept_kind("usr/share/doc/bash/copyright"), SBOM_KEEP_COPYRIGHT);
	CHECK_INT(sbom_kept_kind("usr/share/doc/bash/x/copyright"), SBOM_KEEP_NONE);
	CHECK_INT(sbom_kept_kind("var/lib/dpkg/info/libc6:amd64.list"), SBOM_KEEP_LIST);
	CHECK_INT(sbom_kept_kind("var/lib/dpkg/info/libc6.md5sums"), SBOM_KEEP_NONE);
	CHECK_INT(sbom_kept_kind("etc/os-release"), SBOM_KEEP_OSREL);
}
