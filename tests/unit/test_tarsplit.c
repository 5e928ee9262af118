/* Unit tests of common/tarsplit: CRC-64/ISO as Go computes it, and the reader. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "common/tarsplit.h"
#include "tests/unit/unit.h"

TEST(crc64_iso)
{
	/* the catalogue check value of CRC-64/GO-ISO, and one taken from a real
	 * Docker layerdb (payload "YVqy3bAAAAA=" for a file holding "new\n") */
	CHECK(crc64_iso(0, "123456789", 9) == 0xb90956c775a41001ull);
	CHECK(crc64_iso(0, "new\n", 4) == 0x615ab2ddb0000000ull);
	/* fed in pieces, the same (slicing-by-8 and the byte tail agree) */
	CHECK(crc64_iso(crc64_iso(0, "12345", 5), "6789", 4) == 0xb90956c775a41001ull);
	CHECK(crc64_iso(0, "", 0) == 0);
}

/* Write lines gzip'd to a temp file; an fd open on it. */
static int gz_lines(const char *text)
{
	char path[] = "/tmp/strata-unit-ts.XXXXXX";
	int fd = mkstemp(path), rfd;
	gzFile gz;

	if (fd < 0)
		return -1;
	gz = gzdopen(dup(fd), "wb");
	gzwrite(gz, text, (unsigned)strlen(text));
	gzclose(gz);
	rfd = open(path, O_RDONLY);
	close(fd);
	unlink(path);
	return rfd;
}

TEST(tarsplit_read)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct tarsplit *ts;
	struct tarsplit_ent ent;
	int fd;

	fd = gz_lines("{\"type\":2,\"payload\":\"aGVhZGVy\",\"position\":0}\n"
		      "{\"type\":1,\"name\":\"l2/b\",\"size\":4,\"payload\":\"YVqy3bAAAAA=\",\"position\":1}\n"
		      "{\"type\":1,\"name_raw\":\"/w==\",\"payload\":null,\"position\":2}\n");
	CHECK(fd >= 0);
	CHECK(tarsplit_open(&ts, fd, "t", &e) == 0);
	CHECK(tarsplit_next(ts, &ent, &e) == 1);
	CHECK(ent.type == TARSPLIT_SEGMENT && ent.rawlen == 6 && !memcmp(ent.raw, "header", 6));
	CHECK(tarsplit_next(ts, &ent, &e) == 1);
	CHECK(ent.type == TARSPLIT_FILE && !strcmp(ent.name, "l2/b") && ent.size == 4 && ent.has_crc);
	CHECK(ent.crc == 0x615ab2ddb0000000ull && ent.position == 1);
	CHECK(tarsplit_next(ts, &ent, &e) == 1);
	CHECK(ent.type == TARSPLIT_FILE && (unsigned char)ent.name[0] == 0xff && !ent.size && !ent.has_crc);
	CHECK(tarsplit_next(ts, &ent, &e) == 0);
	tarsplit_free(ts);

	/* lies and breakage: one error naming the file and line */
	fd = gz_lines("{\"type\":1,\"name\":\"a\",\"size\":4,\"payload\":null,\"position\":0}\n");
	CHECK(tarsplit_open(&ts, fd, "t2", &e) == 0);
	CHECK(tarsplit_next(ts, &ent, &e) == -STRATA_EFORMAT);
	CHECK(strstr(e.msg, "'t2': line 1") != NULL);
	tarsplit_free(ts);
	fd = gz_lines("{\"type\":2,\"payload\":\"!!!!\",\"position\":0}\n");
	CHECK(tarsplit_open(&ts, fd, "t3", &e) == 0);
	CHECK(tarsplit_next(ts, &ent, &e) == -STRATA_EFORMAT);
	tarsplit_free(ts);
	fd = gz_lines("{\"type\":3,\"position\":0}\n");
	CHECK(tarsplit_open(&ts, fd, "t4", &e) == 0);
	CHECK(tarsplit_next(ts, &ent, &e) == -STRATA_EFORMAT);
	tarsplit_free(ts);
}
