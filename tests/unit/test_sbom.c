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

static int to_buf(void *ctx, const char *p, size_t n, struct strata_err *e)
{
	return buf_add(ctx, p, n, e) < 0 ? -e->code : 0;
}

/* sbom_write() streams the package lists into a printed skeleton: its bytes
 * must be what cJSON prints for the whole document (pretty or on one line),
 * which a parse and a print of them give back. */
TEST(sbom_write_prints_as_cjson)
{
	static const char *tags[] = { "app:1" };
	static const uint8_t sha[32] = { 0xab, 0x01 };
	struct layer layers[2] = { { .desc = { .digest = "sha256:1111" } }, { .desc = { .digest = "sha256:2222" } } };
	struct image im = { .tags = tags, .ntags = 1, .config = { .digest = "sha256:e5b7ddc16e627abf4e6e1576e0dc8ed19a29cc69da904561005311c73d6f8966" },
			    .layers = layers, .nlayers = 2 };
	struct package p[3] = { { .name = "libc6", .version = "2.36", .arch = "amd64" },
				{ .name = "we\"ird\001name\n", .version = "1\t0", .arch = "" },
				{ .name = "zlib", .version = "1.3", .arch = "x86_64" } };
	char *lics[] = { "GPL-2+", "MIT" };
	char paths[3][32] = { "usr/lib/libc.so.6", "usr/share/doc/x", "etc/changed" };
	struct sbom_file files[3] = { { .path = paths[0], .has_digest = true }, { .path = paths[1] },
				      { .path = paths[2], .has_digest = true,
					.listed = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff" } };
	struct sbom_pkg pk[3] = {
		{ .type = "deb", .db = "var/lib/dpkg/status", .p = &p[0], .purl = "pkg:deb/debian/libc6@2.36?arch=amd64",
		  .ref = "pkg:deb/debian/libc6@2.36?arch=amd64", .licenses = lics, .nlic = 2, .introduced = 0, .changed = 1,
		  .files = files, .nfiles = 3 },
		{ .type = "npm", .db = "node_modules/x/package.json", .p = &p[1], .purl = "pkg:npm/x@1", .ref = "pkg:npm/x@1" },
		{ .type = "apk", .db = "lib/apk/db/installed", .p = &p[2], .purl = "pkg:apk/alpine/zlib@1.3",
		  .ref = "pkg:apk/alpine/zlib@1.3", .licenses = lics + 1, .nlic = 1, .files = files + 1, .nfiles = 1 },
	};
	struct sbom s = { .im = &im, .v = pk, .len = 3 };
	struct strata_err e = STRATA_ERR_INIT;
	size_t f, line, n;
	uint64_t no;

	digests_ref();
	CHECK_OK(digests_add(sha, &no, &e), &e);
	files[0].digest = files[2].digest = no;
	for (n = 0; n <= 3; n += 3)  /* no package, then three */
		for (f = 0; f < 2; f++)
			for (line = 0; line < 2; line++) {
				struct buf b = BUF_INIT(1u << 20);
				cJSON *doc;
				char *again;

				s.len = n;
				CHECK_OK(sbom_write(&s, f ? SBOM_SPDX : SBOM_CYCLONEDX, "1970-01-01T00:00:00Z", line, to_buf, &b, &e),
					 &e);
				CHECK(b.len > 1 && b.data[b.len - 1] == '\n');
				if (!b.len)
					continue;
				b.data[--b.len] = '\0';
				CHECK(!strchr(b.data, '\001'));  /* every placeholder replaced, the name's byte escaped */
				if (n && !f)  /* the files' digests, read back from their store */
					CHECK(strstr(b.data, "\"ab01000000000000") != NULL);
				doc = cJSON_Parse(b.data);
				CHECK(doc != NULL);
				again = doc ? (line ? cJSON_PrintUnformatted(doc) : cJSON_Print(doc)) : NULL;
				CHECK_STR(again, b.data);
				CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(doc, f ? "packages" : "components")),
					  n + (f ? 1 : 0));
				free(again);
				cJSON_Delete(doc);
				buf_release(&b);
			}
	digests_unref();
}
