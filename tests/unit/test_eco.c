/* test_eco.c - the rpm, Python, npm and Go parsers and their purls (analyze/eco.h, analyze/sbom.h). */
#include <stdlib.h>
#include <string.h>

#include "analyze/eco.h"
#include "analyze/sbom.h"
#include "tests/unit/unit.h"

/* An rpm header blob of the tags given: {tag, type, count, data, data bytes}. */
struct htag { uint32_t tag, type, count; const char *data; size_t n; };

static size_t header(uint8_t *out, const struct htag *t, size_t nt)
{
	size_t i, dl = 0, at = 8 + 16 * nt;

	for (i = 0; i < nt; i++) {
		uint32_t v[4];
		int k;

		while (t[i].type == 4 && dl % 4)  /* int32 data aligned, as rpm writes it */
			out[at + dl++] = 0;
		v[0] = t[i].tag, v[1] = t[i].type, v[2] = (uint32_t)dl, v[3] = t[i].count;
		for (k = 0; k < 4; k++) {
			out[8 + 16 * i + 4 * k] = (uint8_t)(v[k] >> 24);
			out[8 + 16 * i + 4 * k + 1] = (uint8_t)(v[k] >> 16);
			out[8 + 16 * i + 4 * k + 2] = (uint8_t)(v[k] >> 8);
			out[8 + 16 * i + 4 * k + 3] = (uint8_t)v[k];
		}
		memcpy(out + at + dl, t[i].data, t[i].n);
		dl += t[i].n;
	}
	out[0] = out[1] = out[2] = 0, out[3] = (uint8_t)nt;
	out[4] = (uint8_t)(dl >> 24), out[5] = (uint8_t)(dl >> 16), out[6] = (uint8_t)(dl >> 8), out[7] = (uint8_t)dl;
	return at + dl;
}

#define S(x) x, sizeof(x)  /* a string's bytes with its NUL */

TEST(eco_rpm_header)
{
	static const char epoch[4] = { 0, 0, 0, 2 }, algo[4] = { 0, 0, 0, 8 }, idx[8] = { 0, 0, 0, 0, 0, 0, 0, 1 };
	static const char dirs[] = "/usr/bin/\0/usr/share/doc/hello/";
	static const char bases[] = "hello\0README";
	static const char digs[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\0";
	const struct htag t[] = {
		{ 1000, 6, 1, S("hello") }, { 1001, 6, 1, S("1.2") }, { 1002, 6, 1, S("3.fc40") },
		{ 1003, 4, 1, epoch, 4 }, { 1014, 6, 1, S("MIT and BSD") }, { 1022, 6, 1, S("x86_64") },
		{ 1035, 8, 2, digs, 66 }, { 5011, 4, 1, algo, 4 }, { 1116, 4, 2, idx, 8 },
		{ 1117, 8, 2, bases, sizeof(bases) }, { 1118, 8, 2, dirs, sizeof(dirs) },
	};
	struct strata_err e = STRATA_ERR_INIT;
	struct pkgdb db = { 0 };
	struct buf b = BUF_INIT(4096);
	uint8_t blob[1024];
	size_t n = header(blob, t, sizeof(t) / sizeof(*t)), cut;

	CHECK_OK(rpm_header_parse(&db, blob, n, &e), &e);
	CHECK_INT(db.len, 1);
	CHECK_STR(db.v[0].name, "hello");
	CHECK_STR(db.v[0].version, "2:1.2-3.fc40");
	CHECK_STR(db.v[0].arch, "x86_64");
	CHECK_STR(db.v[0].license, "MIT and BSD");
	CHECK_STR(db.v[0].files, "/usr/bin/hello\t"
				 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
				 "/usr/share/doc/hello/README\n");
	db.kind = PKGDB_RPM;
	CHECK_OK(sbom_purl_of(&b, PKGDB_RPM, &db.v[0], "fedora", &e), &e);
	CHECK_OK(buf_add(&b, "", 1, &e), &e);
	CHECK_STR(b.data, "pkg:rpm/fedora/hello@1.2-3.fc40?arch=x86_64&epoch=2");
	/* every truncation is refused, none is read past */
	for (cut = 0; cut < n; cut++) {
		uint8_t *c = malloc(cut ? cut : 1);

		memcpy(c, blob, cut);
		CHECK(rpm_header_parse(&db, c, cut, &e) == -STRATA_EFORMAT);
		free(c);
	}
	{
		uint8_t bad[1024];
		static const char idx2[8] = { 0, 0, 0, 0, 0, 0, 0, 9 };
		struct htag t2[sizeof(t) / sizeof(*t)];

		memcpy(t2, t, sizeof(t));
		t2[8].data = idx2;
		n = header(bad, t2, sizeof(t2) / sizeof(*t2));
		CHECK_INT(rpm_header_parse(&db, bad, n, &e), -STRATA_EFORMAT);
	}
	CHECK_INT(db.len, 1);
	pkgdb_release(&db);
	buf_release(&b);
}

TEST(eco_python)
{
	static const char meta[] = "Metadata-Version: 2.1\nName: Foo.Bar_baz\nVersion: 1.0rc1\nLicense: Apache 2.0\n"
				   "Classifier: License :: OSI Approved :: MIT License\n\nLicense: body text\n";
	static const char cls[] = "Name: x\nVersion: 1\nLicense: UNKNOWN\nClassifier: License :: OSI Approved :: MIT License\n"
				  "Classifier: License :: Other/Proprietary License\n";
	static const char expr[] = "name: y\r\nversion: 2\r\nLicense-Expression: MIT OR Apache-2.0\r\nLicense: x\r\n";
	static const char rec[] = "foo/__init__.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\n"
				  "\"a,b.py\",,\n../../../bin/foo,sha256=bad,3\n../../../../../../../etc/passwd,,\n"
				  "foo-1.dist-info/RECORD,,\n";
	struct strata_err e = STRATA_ERR_INIT;
	struct pkgdb db = { 0 };
	struct buf b = BUF_INIT(1 << 16);

	CHECK_OK(py_metadata_parse(&db, meta, strlen(meta), 7, &e), &e);
	CHECK_OK(py_metadata_parse(&db, cls, strlen(cls), 8, &e), &e);
	CHECK_OK(py_metadata_parse(&db, expr, strlen(expr), 9, &e), &e);
	CHECK_INT(py_metadata_parse(&db, "Name: z\n\nVersion: 1\n", 20, 10, &e), -STRATA_EFORMAT);
	CHECK_INT(db.len, 3);
	CHECK_STR(db.v[0].name, "Foo.Bar_baz");
	CHECK_STR(db.v[0].version, "1.0rc1");
	CHECK_STR(db.v[0].license, "Apache 2.0");
	CHECK_INT(db.v[0].entry, 7);
	CHECK_STR(db.v[1].license, "MIT License\nOther/Proprietary License");
	CHECK_STR(db.v[2].license, "MIT OR Apache-2.0");
	CHECK_OK(sbom_purl_of(&b, PKGDB_PYPI, &db.v[0], NULL, &e), &e);
	CHECK_OK(buf_add(&b, "", 1, &e), &e);
	CHECK_STR(b.data, "pkg:pypi/foo-bar-baz@1.0rc1");
	buf_reset(&b);
	CHECK_OK(py_record_files("usr/lib/python3/site-packages/foo-1.dist-info", rec, strlen(rec), &b, &e), &e);
	CHECK_OK(buf_add(&b, "", 1, &e), &e);
	CHECK_STR(b.data, "usr/lib/python3/site-packages/foo/__init__.py\t"
			  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
			  "usr/lib/python3/site-packages/a,b.py\n"
			  "usr/bin/foo\n"
			  "usr/lib/python3/site-packages/foo-1.dist-info/RECORD\n");
	pkgdb_release(&db);
	buf_release(&b);
}

TEST(eco_npm)
{
	static const char ok[] = "{\"name\": \"@types/node\", \"version\": \"20.1.0\", \"license\": \"MIT\"}";
	static const char old[] = "{\"name\": \"x\", \"version\": \"1\", \"licenses\": [{\"type\": \"MIT\"}, \"ISC\"]}";
	struct strata_err e = STRATA_ERR_INIT;
	struct pkgdb db = { 0 };
	struct buf b = BUF_INIT(4096);

	CHECK(npm_is_package_json("usr/lib/node_modules/npm/package.json"));
	CHECK(npm_is_package_json("node_modules/@types/node/package.json"));
	CHECK(npm_is_package_json("app/node_modules/a/node_modules/b/package.json"));
	CHECK(!npm_is_package_json("app/package.json"));
	CHECK(!npm_is_package_json("app/node_modules/a/lib/package.json"));
	CHECK(!npm_is_package_json("app/node_modules/@scope/package.json"));
	CHECK(!npm_is_package_json("app/node_modules/.bin/package.json"));
	CHECK(!npm_is_package_json("app/my_node_modules/a/package.json"));
	CHECK_OK(npm_package_parse(&db, ok, strlen(ok), 1, &e), &e);
	CHECK_OK(npm_package_parse(&db, old, strlen(old), 2, &e), &e);
	CHECK_INT(npm_package_parse(&db, "{\"name\": 1, \"version\": \"1\"}", 27, 3, &e), -STRATA_EFORMAT);
	CHECK_INT(npm_package_parse(&db, "[1, 2", 5, 3, &e), -STRATA_EFORMAT);
	CHECK_INT(db.len, 2);
	CHECK_STR(db.v[1].license, "MIT\nISC");
	CHECK_OK(sbom_purl_of(&b, PKGDB_NPM, &db.v[0], NULL, &e), &e);
	CHECK_OK(buf_add(&b, "", 1, &e), &e);
	CHECK_STR(b.data, "pkg:npm/%40types/node@20.1.0");
	pkgdb_release(&db);
	buf_release(&b);
}

static const uint8_t SENT_A[16] = { 0x30, 0x77, 0xaf, 0x0c, 0x92, 0x74, 0x08, 0x02, 0x41, 0xe1, 0xc1, 0x07, 0xe6, 0xd6, 0x18, 0xe6 };
static const uint8_t SENT_B[16] = { 0xf9, 0x32, 0x43, 0x31, 0x86, 0x18, 0x20, 0x72, 0x00, 0x82, 0x42, 0x10, 0x41, 0x16, 0xd8, 0xf2 };

/* Go build info (magic on) with modinfo mod into out; its length. */
static size_t buildinfo(uint8_t *out, const char *mod)
{
	size_t n = 0, ml = strlen(mod) + 32;

	memcpy(out, "\xff Go buildinf:\x08\x02", 16);
	memset(out + 16, 0, 16);
	n = 32;
	out[n++] = 8;
	memcpy(out + n, "go1.22.1", 8);
	n += 8;
	out[n++] = (uint8_t)(0x80 | (ml & 0x7f));
	out[n++] = (uint8_t)(ml >> 7);
	memcpy(out + n, SENT_A, 16);
	memcpy(out + n + 16, mod, strlen(mod));
	memcpy(out + n + 16 + strlen(mod), SENT_B, 16);
	return n + ml;
}

TEST(eco_go)
{
	static const char mod[] = "path\texample.com/app/cmd\nmod\texample.com/app\tv1.2.3\th1:x=\n"
				  "dep\tgithub.com/A/b\tv0.1.0\th1:y=\ndep\tex.com/old\tv1.0.0\th1:z=\n=>\tex.com/new\tv2.0.0\th1:w=\n"
				  "dep\tex.com/dir\tv0.0.0\n=>\t../dir\t\t\nbuild\tGOOS=linux\n";
	struct strata_err e = STRATA_ERR_INIT;
	struct pkgdb db = { 0 };
	struct buf b = BUF_INIT(4096);
	uint8_t info[2048], elf[1 << 16];
	size_t n = buildinfo(info, mod), cut, chunk;

	CHECK_OK(go_buildinfo_parse(&db, info, n, 5, &e), &e);
	CHECK_INT(db.len, 4);
	CHECK_STR(db.v[0].name, "example.com/app");
	CHECK_STR(db.v[0].version, "v1.2.3");
	CHECK_STR(db.v[1].name, "github.com/A/b");
	CHECK_STR(db.v[2].name, "ex.com/new");
	CHECK_STR(db.v[2].version, "v2.0.0");
	CHECK_STR(db.v[3].name, "ex.com/dir");
	CHECK_OK(sbom_purl_of(&b, PKGDB_GO, &db.v[1], NULL, &e), &e);
	CHECK_OK(buf_add(&b, "", 1, &e), &e);
	CHECK_STR(b.data, "pkg:golang/github.com/A/b@v0.1.0");
	for (cut = 0; cut < n - 16; cut++)  /* truncated: refused (the end sentinel may go) */
		CHECK(go_buildinfo_parse(&db, info, cut, 5, &e) == -STRATA_EFORMAT);
	info[15] = 0;
	CHECK_INT(go_buildinfo_parse(&db, info, n, 5, &e), 1);  /* the pointer format */
	info[15] = 2;
	/* the scanner, in chunks of every size: an ELF64 with its writable segment at 0x2000 */
	memset(elf, 0, sizeof(elf));
	memcpy(elf, "\x7f" "ELF\x02\x01\x01", 7);
	elf[32] = 64;                                /* e_phoff */
	elf[54] = 56, elf[56] = 1;                   /* e_phentsize, e_phnum */
	elf[64] = 1, elf[68] = 6;                    /* PT_LOAD, PF_R|PF_W */
	elf[72 + 1] = 0x20;                          /* p_offset 0x2000 */
	memcpy(elf + 0x1000, info, n);               /* before the segment: not searched */
	memcpy(elf + 0x2000 + 4096, info, n);
	for (chunk = 1; chunk < 9000; chunk = chunk * 3 + 1) {
		struct eco_go g;
		size_t at;

		memset(&g, 0, sizeof(g));
		buf_init(&g.info, ECO_GO_INFO_MAX);
		for (at = 0; at < sizeof(elf); at += chunk)
			CHECK_OK(eco_go_feed(&g, elf + at, sizeof(elf) - at < chunk ? sizeof(elf) - at : chunk, &e), &e);
		CHECK_OK(eco_go_flush(&g, &e), &e);
		CHECK_INT(g.start, 0x2000);
		CHECK(g.info.len >= n);
		CHECK(!memcmp(g.info.data, info, n));
		buf_release(&g.info);
	}
	pkgdb_release(&db);
	buf_release(&b);
}
