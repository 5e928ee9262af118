/* Unit tests of formats/: strict JSON, references, the catalog's resolution of names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/catalog.h"
#include "formats/json.h"
#include "formats/ref.h"
#include "formats/target.h"
#include "convert/conv.h"
#include "tests/unit/unit.h"

static int parse(const char *s)
{
	struct strata_err e = STRATA_ERR_INIT;
	cJSON *v = NULL;
	int r = json_parse(s, strlen(s), &v, &e);

	cJSON_Delete(v);
	return r;
}

TEST(json_strict)
{
	CHECK_INT(parse("[{\"Config\":\"a\",\"Layers\":[]}]\n"), 0);
	CHECK_INT(parse("[{\"Config\":\"a\",\"Config\":\"b\"}]"), -STRATA_EFORMAT);
	CHECK_INT(parse("{\"a\":{\"x\":1,\"y\":2,\"x\":3}}"), -STRATA_EFORMAT);
	CHECK_INT(parse("{} {}"), -STRATA_EFORMAT);
	CHECK_INT(parse("{"), -STRATA_EFORMAT);
	CHECK_INT(parse(""), -STRATA_EFORMAT);
	CHECK_INT(json_parse("{}\0{}", 5, &(cJSON *){ NULL }, &(struct strata_err)STRATA_ERR_INIT), -STRATA_EFORMAT);
}

static int to_buf(void *ctx, const char *p, size_t n, struct strata_err *e)
{
	return buf_add(ctx, p, n, e) < 0 ? -e->code : 0;
}

static int fail_write(void *ctx, const char *p, size_t n, struct strata_err *e)
{
	(void)ctx, (void)p, (void)n;
	return err_set(e, STRATA_EIO, "disk full");
}

/* json_stream()'s lists: copies of the whole document's arrays (ctx). */
static cJSON *copy_element(void *ctx, int list, size_t i, bool *end)
{
	cJSON *a = ((cJSON **)ctx)[list], *x = cJSON_GetArrayItem(a, (int)i);

	*end = !x;
	return x ? cJSON_Duplicate(x, 1) : NULL;
}

/* A document whose three arrays sit at depths 1, 3 and 2 (one empty, one of
 * 3,000 objects: past the 256 KiB a write gathers), printed whole by cJSON
 * and streamed from a skeleton holding placeholders instead: the same bytes,
 * pretty and on one line. */
/* json_add_string() and json_add_uint() write what cJSON prints: every byte
 * value in a string, and numbers around INT_MAX, 2^32 and 10^15 (past
 * which cJSON prints an exponent). */
TEST(json_add_as_cjson)
{
	static const uint64_t nums[] = { 0, 1, 4095, 2147483647, 2147483648ull, 4294967294ull, 4294967296ull,
					 999999999999999ull, 1000000000000000ull, 123456789012345678ull, UINT64_MAX };
	struct strata_err e = STRATA_ERR_INIT;
	struct buf b = BUF_INIT(1u << 20);
	char s[300], *want;
	cJSON *x;
	size_t i;

	for (i = 1; i < 256; i++)
		s[i - 1] = (char)i;
	s[255] = '\0';
	memcpy(s + 255, "\xc3\xa9\"\\\x01", 6);
	for (i = 0; i < 2; i++) {
		x = cJSON_CreateString(i ? s : "");
		want = cJSON_PrintUnformatted(x);
		b.len = 0;
		CHECK_OK(json_add_string(&b, i ? s : NULL, &e), &e);
		CHECK_STR(b.data, want);
		free(want);
		cJSON_Delete(x);
	}
	for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		x = cJSON_CreateNumber((double)nums[i]);
		want = cJSON_PrintUnformatted(x);
		b.len = 0;
		CHECK_OK(json_add_uint(&b, nums[i], &e), &e);
		CHECK_STR(b.data, want);
		free(want);
		cJSON_Delete(x);
	}
	buf_release(&b);
}

TEST(json_stream_prints_as_cjson)
{
	cJSON *whole = cJSON_CreateObject(), *skel = cJSON_CreateObject(), *lists[3], *o, *so;
	struct strata_err e = STRATA_ERR_INIT;
	int line, i;

	lists[0] = cJSON_AddArrayToObject(whole, "top");
	for (i = 0; i < 3000; i++) {
		cJSON *x = cJSON_CreateObject();

		cJSON_AddStringToObject(x, "path", i == 7 ? "we\"ird\001\n" : "usr/lib/x86_64-linux-gnu/libsomething.so.1.2.3");
		cJSON_AddNumberToObject(x, "size", i * 4096.0);
		cJSON_AddItemToObject(x, "nested", cJSON_CreateStringArray((const char *[]){ "a", "b" }, i % 3));
		cJSON_AddItemToArray(lists[0], x);
	}
	json_put(skel, "top", json_placeholder(0));
	o = cJSON_AddObjectToObject(cJSON_AddObjectToObject(whole, "a"), "b");
	so = cJSON_AddObjectToObject(cJSON_AddObjectToObject(skel, "a"), "b");
	lists[1] = cJSON_AddArrayToObject(o, "deep");
	cJSON_AddItemToArray(lists[1], cJSON_CreateString("x"));
	cJSON_AddItemToArray(lists[1], cJSON_CreateObject());
	cJSON_AddItemToArray(lists[1], cJSON_CreateNull());
	json_put(so, "deep", json_placeholder(1));
	cJSON_AddStringToObject(o, "after", "y");
	cJSON_AddStringToObject(so, "after", "y");
	lists[2] = cJSON_AddArrayToObject(cJSON_AddObjectToObject(whole, "c"), "empty");
	json_put(cJSON_AddObjectToObject(skel, "c"), "empty", json_placeholder(2));
	for (line = 0; line < 2; line++) {
		char *want = line ? cJSON_PrintUnformatted(whole) : cJSON_Print(whole);
		char *txt = line ? cJSON_PrintUnformatted(skel) : cJSON_Print(skel);
		struct buf b = BUF_INIT(16u << 20);

		CHECK_OK(json_stream(txt, line, copy_element, lists, to_buf, &b, &e), &e);
		CHECK(b.len > (256u << 10));
		CHECK_STR(b.data, want);
		/* a failing write stops it with the writer's error */
		CHECK_INT(json_stream(txt, line, copy_element, lists, fail_write, NULL, &e), -STRATA_EIO);
		free(want);
		free(txt);
		buf_release(&b);
	}
	/* a placeholder naming no list is refused */
	CHECK_INT(json_stream("[\001x\001]", true, copy_element, lists, to_buf, &(struct buf)BUF_INIT(64), &e),
		  -STRATA_EIO);
	cJSON_Delete(whole);
	cJSON_Delete(skel);
}

TEST(json_case_sensitive)
{
	struct strata_err e = STRATA_ERR_INIT;
	cJSON *v;
	int64_t n;

	const char *doc = "{\"config\":\"x\",\"size\":12,\"neg\":-1,\"frac\":1.5}";

	CHECK_OK(json_parse(doc, strlen(doc), &v, &e), &e);
	CHECK(json_str(v, "Config") == NULL);
	CHECK_STR(json_str(v, "config"), "x");
	CHECK(json_uint(v, "size", &n) && n == 12);
	CHECK(!json_uint(v, "neg", &n));
	CHECK(!json_uint(v, "frac", &n));
	cJSON_Delete(v);
}

TEST(json_integer_syntax)
{
	struct strata_err e = STRATA_ERR_INIT;
	cJSON *v;
	int64_t n;

	/* the same value 5632 written four ways; strings and keys that look like
	 * numbers, escaped quotes and true/false/null do not shift the count */
	const char *doc = "{\"a\":5632,\"b\":5.632e3,\"c\":5632.0,\"d\":5632E0,\"s\":\"1.5e3 \\\" 2.0\","
			  "\"1.0\":[true,false,null,-0.5,{\"e\":7,\"f\":1e1}],\"g\":0,\"h\":-3,\"i\":12}";

	CHECK_OK(json_parse(doc, strlen(doc), &v, &e), &e);
	CHECK(json_uint(v, "a", &n) && n == 5632);
	CHECK(!json_uint(v, "b", &n));
	CHECK(!json_uint(v, "c", &n));
	CHECK(!json_uint(v, "d", &n));
	CHECK(json_uint(json_get(v, "1.0")->child->next->next->next->next, "e", &n) && n == 7);
	CHECK(!json_uint(json_get(v, "1.0")->child->next->next->next->next, "f", &n));
	CHECK(json_uint(v, "g", &n) && n == 0);
	CHECK(!json_uint(v, "h", &n));
	CHECK(json_uint(v, "i", &n) && n == 12);
	/* the mark is a flag cJSON ignores: the value and its type tests are intact */
	CHECK(cJSON_IsNumber(json_get(v, "b")) && json_get(v, "b")->valuedouble == 5632);
	cJSON_Delete(v);
}

TEST(ref_parse_forms)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct ref r;

	CHECK_OK(ref_parse("docker-archive:x.tar:busybox:latest", &r, &e), &e);
	CHECK_INT(r.transport, REF_DOCKER_ARCHIVE);
	CHECK_STR(r.path, "x.tar");
	CHECK_STR(r.name, "busybox:latest");
	ref_release(&r);
	CHECK_OK(ref_parse("docker-archive:x.tar:@1", &r, &e), &e);
	CHECK_INT(r.index, 1);
	ref_release(&r);
	CHECK_OK(ref_parse("oci:dir:v1", &r, &e), &e);
	CHECK_STR(r.name, "v1");
	ref_release(&r);
	CHECK_OK(ref_parse("./some:path.tar", &r, &e), &e);
	CHECK_INT(r.transport, REF_AUTO);
	CHECK_STR(r.path, "./some:path.tar");
	ref_release(&r);
	CHECK_INT(ref_parse("docker-archive:x.tar:notag", &r, &e), -STRATA_EUSAGE);
	CHECK_INT(ref_parse("oci:", &r, &e), -STRATA_EUSAGE);
	CHECK_INT(ref_parse("oci:d:@1", &r, &e), -STRATA_EUSAGE);
}

TEST(ref_name_grammar)
{
	struct strata_err e = STRATA_ERR_INIT;
	static const char *const good[] = {
		"app:1", "library/busybox:latest", "docker.io/library/busybox:1.36", "localhost/app:2",
		"localhost:5000/team/app:v1.2.3", "registry.example.com:443/a/b/c:tag_1", "a.b_c__d-e--f:x",
		"[::1]:5000/app:1", "Registry.Example.COM/app:1", "app:_x", "app:A-B.c", "v1", "latest",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
		"0123456789abcdef0123456789abcdef",  /* a 128-character bare tag */
	};
	static const char *const bad[] = {
		"Bad Tag!!:x y", "App:1", "app:x y", "app:", ":1", "app:.x", "app:-x", "app/:1", "/app:1", "a//b:1",
		"a..b:1", "a___b:1", "a._b:1", "-app:1", "app-:1", "a_:1", "host:port/app:1", "host:/app:1",
		"-host.com/app:1", "host.com-/app:1", "app@sha256:0000", "bad tag", "", ".x", "x y",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
		"0123456789abcdef0123456789abcdef0",  /* 129 characters */
	};
	char longname[300];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (ref_check_name(good[i], &e) < 0)
			fprintf(stderr, "  refused good name '%s': %s\n", good[i], e.msg);
		CHECK(ref_check_name(good[i], &e) == 0);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = ref_check_name(bad[i], &e);

		if (r == 0)
			fprintf(stderr, "  accepted bad name '%s'\n", bad[i]);
		CHECK_INT(r, -STRATA_EUSAGE);
	}
	CHECK(strstr((ref_check_name("Bad Tag!!:x y", &e), e.msg), "'Bad Tag!!:x y'") != NULL);
	/* a repository is at most 255 bytes */
	memset(longname, 'a', sizeof(longname));
	memcpy(longname + 256, ":1", 3);
	CHECK_INT(ref_check_name(longname, &e), -STRATA_EUSAGE);
	memcpy(longname + 255, ":1", 3);
	CHECK_INT(ref_check_name(longname, &e), 0);
	CHECK(ref_repo_valid("a/b-c/d_e"));
	CHECK(!ref_repo_valid("a/B"));
	CHECK(ref_tag_valid("_"));
	CHECK(!ref_tag_valid("."));
}

/* Transport-like words that are not ours are usage errors, unless the whole string is a file. */
TEST(ref_parse_unknown_transports)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct ref r;
	FILE *f;

	CHECK(ref_parse("docker-archve:x.tar", &r, &e) == -STRATA_EUSAGE);
	CHECK(strstr(e.msg, "unknown transport 'docker-archve:' (known: docker-archive, oci, oci-archive, rootfs, registry, docker-root, containers-storage)") != NULL);
	CHECK(ref_parse("docker://alpine", &r, &e) == -STRATA_EUSAGE);
	CHECK(strstr(e.msg, "skopeo copy docker://alpine") != NULL);
	CHECK(ref_parse("docker-daemon:alpine:3", &r, &e) == -STRATA_EUSAGE);
	/* the stores: DIR[:NAME[:TAG]|:@ID], and skopeo's [DRIVER@ROOT+RUNROOT]NAME:TAG */
	CHECK(ref_parse("containers-storage:/s:app:1", &r, &e) == 0);
	CHECK(r.transport == REF_CSTORAGE && !strcmp(r.path, "/s") && !strcmp(r.name, "app:1"));
	ref_release(&r);
	CHECK(ref_parse("docker-root:/d:reg:5000/app", &r, &e) == 0);
	CHECK(r.transport == REF_DOCKER_ROOT && !strcmp(r.name, "reg:5000/app:latest"));
	ref_release(&r);
	CHECK(ref_parse("docker-root:/d:@sha256:ab12", &r, &e) == 0);
	CHECK(r.id && !strcmp(r.id, "sha256:ab12") && !r.name);
	ref_release(&r);
	CHECK(ref_parse("docker-root:/d:@xyz", &r, &e) == -STRATA_EUSAGE);
	CHECK(ref_parse("containers-storage:[vfs@/r+/rr]x:1", &r, &e) == 0);
	CHECK(!strcmp(r.driver, "vfs") && !strcmp(r.path, "/r") && !strcmp(r.name, "x:1"));
	ref_release(&r);
	CHECK(ref_parse("containers-storage:[/r]x:1", &r, &e) == -STRATA_EUSAGE);
	CHECK(ref_parse("dir:/tmp", &r, &e) == -STRATA_EUSAGE);
	CHECK(ref_parse("x:", &r, &e) == -STRATA_EUSAGE);
	CHECK_INT((long)ref_transport_word("oci-archive:x"), 12);
	CHECK_INT((long)ref_transport_word("./a:b.tar"), 0);
	CHECK_INT((long)ref_transport_word("C:x"), 0);
	CHECK_INT((long)ref_transport_word("-"), 0);
	/* a path with a colon: not a transport when it starts otherwise, or exists */
	CHECK_OK(ref_parse("./a:b.tar", &r, &e), &e);
	CHECK_INT(r.transport, REF_AUTO);
	CHECK_STR(r.path, "./a:b.tar");
	ref_release(&r);
	CHECK_OK(ref_parse("C:img.tar", &r, &e), &e);
	ref_release(&r);
	CHECK((f = fopen("a:b.tar", "w")) != NULL);
	fclose(f);
	CHECK_OK(ref_parse("a:b.tar", &r, &e), &e);
	CHECK_STR(r.path, "a:b.tar");
	ref_release(&r);
	CHECK_OK(ref_parse("oci:dir:example.com/foo:1", &r, &e), &e);
	CHECK_STR(r.name, "example.com/foo:1");
	ref_release(&r);
}

static void names_of(struct out_image *oi, const char *a, const char *b)
{
	struct strata_err e = STRATA_ERR_INIT;

	memset(oi, 0, sizeof(*oi));
	oi->group = -1;
	if (a)
		conv_add_entry(oi, a, NULL, &e);
	if (b)
		conv_add_entry(oi, b, NULL, &e);
}

/* ref.name: the tag when unique in the index written, else the full name. */
TEST(ref_name_choice)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct out_image v[3];
	struct out_set set = { v, 3 };
	static const char old[] =
		"{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"x\",\"digest\":\"sha256:00\",\"size\":1,"
		"\"annotations\":{\"org.opencontainers.image.ref.name\":\"v2\","
		"\"io.containerd.image.name\":\"docker.io/library/other:v2\"}}]}";
	char *fam;

	names_of(&v[0], "corpus/multi-a:1.0", "corpus/multi-a:latest");
	names_of(&v[1], "corpus/multi-b:1.0", NULL);
	names_of(&v[2], "app:v2", "app");
	CHECK_OK(target_choose_ref_names(&set, old, sizeof(old) - 1, &e), &e);
	CHECK_STR(v[0].ref_names[0], "corpus/multi-a:1.0");  /* 1.0 collides */
	CHECK_STR(v[0].ref_names[1], "latest");
	CHECK_STR(v[1].ref_names[0], "corpus/multi-b:1.0");
	CHECK_STR(v[2].ref_names[0], "app:v2");              /* v2 names another image in the layout */
	CHECK(v[2].ref_names[1] == NULL);                    /* no tag, no ref.name */
	for (size_t i = 0; i < 3; i++)
		out_image_release(&v[i]);
	/* one image: the short tag */
	set.len = 1;
	names_of(&v[0], "corpus/multi-a:1.0", NULL);
	CHECK_OK(target_choose_ref_names(&set, NULL, 0, &e), &e);
	CHECK_STR(v[0].ref_names[0], "1.0");
	out_image_release(&v[0]);
	/* an explicit ref.name stays as given */
	memset(&v[0], 0, sizeof(v[0]));
	v[0].group = -1;
	CHECK_OK(conv_user_names(NULL, 0, "example.com/foo:1", NULL, &v[0], &e), &e);
	CHECK_OK(target_choose_ref_names(&set, NULL, 0, &e), &e);
	CHECK_STR(v[0].ref_names[0], "example.com/foo:1");
	CHECK_STR(v[0].names[0], "example.com/foo:1");
	out_image_release(&v[0]);
	/* a bare tag keeps the source's full name */
	memset(&v[0], 0, sizeof(v[0]));
	v[0].group = -1;
	CHECK_OK(conv_user_names(NULL, 0, "dive", "wagoodman/dive:latest", &v[0], &e), &e);
	CHECK_STR(v[0].names[0], "wagoodman/dive:latest");
	CHECK_STR(v[0].ref_names[0], "dive");
	out_image_release(&v[0]);
	CHECK((fam = target_familiar_name("docker.io/library/busybox:1")) != NULL);
	CHECK_STR(fam, "busybox:1");
	free(fam);
	CHECK((fam = target_familiar_name("docker.io/corpus/multi-a:1.0")) != NULL);
	CHECK_STR(fam, "corpus/multi-a:1.0");
	free(fam);
}

/* A name resolves to a regular file or says why not: what the loaders print for a blob or a
 * layer that a directory or tar holds as something else. */
static struct member *cat_add(struct catalog *c, const char *name, enum member_kind kind, const char *link)
{
	struct strata_err e = STRATA_ERR_INIT;
	struct member *m = catalog_add(c, name, &e);

	CHECK(m != NULL);
	if (m) {
		m->kind = kind;
		m->link = link ? strdup(link) : NULL;
	}
	return m;
}

TEST(catalog_resolve_why)
{
	static const char dg[] = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	struct catalog c = { 0 };
	struct member *file;
	const char *why = NULL;

	file = cat_add(&c, "store/x", MEM_FILE, NULL);
	cat_add(&c, "a/layer.tar", MEM_SYMLINK, "../store/x");
	cat_add(&c, "b/layer.tar", MEM_SYMLINK, "/etc/passwd");
	cat_add(&c, "c/layer.tar", MEM_SYMLINK, "../d/layer.tar");
	cat_add(&c, "d/layer.tar", MEM_SYMLINK, "../store/x");
	cat_add(&c, "fifo", MEM_OTHER, NULL);
	cat_add(&c, "e/layer.tar", MEM_SYMLINK, "../fifo");
	cat_add(&c, "f/layer.tar", MEM_SYMLINK, "../none");
	cat_add(&c, "g/layer.tar", MEM_HARDLINK, "store/x");
	cat_add(&c, "h/layer.tar", MEM_HARDLINK, "none");
	cat_add(&c, "i/layer.tar", MEM_HARDLINK, "fifo");
	cat_add(&c, "blobs", MEM_SYMLINK, "/elsewhere");
	cat_add(&c, "dir", MEM_DIR, NULL);
	cat_add(&c, "file", MEM_FILE, NULL);

	CHECK(catalog_resolve(&c, "store/x", &why) == file);
	CHECK(catalog_resolve(&c, "./store//x", &why) == file);
	CHECK(catalog_resolve(&c, "a/layer.tar", &why) == file);
	CHECK(catalog_resolve(&c, "g/layer.tar", &why) == file);
	CHECK(catalog_resolve(&c, "b/layer.tar", &why) == NULL);
	CHECK_STR(why, "symlink points outside the archive");
	CHECK(catalog_resolve(&c, "c/layer.tar", &why) == NULL);
	CHECK_STR(why, "symlink to a symlink (only one level is followed)");
	CHECK(catalog_resolve(&c, "e/layer.tar", &why) == NULL);
	CHECK_STR(why, "symlink to a member that is not a regular file");
	CHECK(catalog_resolve(&c, "f/layer.tar", &why) == NULL);
	CHECK_STR(why, "symlink to a missing member");
	CHECK(catalog_resolve(&c, "h/layer.tar", &why) == NULL);
	CHECK_STR(why, "hardlink to a missing member");
	CHECK(catalog_resolve(&c, "i/layer.tar", &why) == NULL);
	CHECK_STR(why, "hardlink to a member that is not a regular file");
	CHECK(catalog_resolve(&c, "fifo", &why) == NULL);
	CHECK_STR(why, "not a regular file");
	CHECK(catalog_resolve(&c, "dir", &why) == NULL);
	CHECK_STR(why, "not a regular file");
	CHECK(catalog_resolve(&c, "../x", &why) == NULL);
	CHECK_STR(why, "unsafe path (leaves the archive)");
	CHECK(catalog_resolve(&c, "dir/none", &why) == NULL);
	CHECK_STR(why, "missing");
	CHECK(catalog_resolve(&c, "nowhere/none", &why) == NULL);
	CHECK_STR(why, "missing");
	CHECK(catalog_resolve(&c, "file/none", &why) == NULL);
	CHECK_STR(why, "below a member that is not a directory");
	CHECK(catalog_blob(&c, dg, &why) == NULL);
	CHECK_STR(why, "below a symlink, which is not followed");
	CHECK(catalog_blob(&c, "nocolon", &why) == NULL);
	CHECK_STR(why, "missing");
	catalog_release(&c);
}
