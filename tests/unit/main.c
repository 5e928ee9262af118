/* main.c - unit test runner: `build/unit [NAME...]`, `-k` keeps temp dirs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/unit.h"

int unit_failed_asserts;

#define T(name) void test_##name(void);
#include "list.h"
#undef T

static const struct {
	const char *name;
	void (*fn)(void);
} tests[] = {
#define T(name) { #name, test_##name },
#include "list.h"
#undef T
};

int main(int argc, char **argv)
{
	int passed = 0, failed = 0, keep = 0, i, a;
	char cwd[4096];

	if (!getcwd(cwd, sizeof(cwd)))
		return 3;
	for (a = 1; a < argc && argv[a][0] == '-'; a++)
		if (!strcmp(argv[a], "-k"))
			keep = 1;
	for (i = 0; i < (int)(sizeof(tests) / sizeof(tests[0])); i++) {
		char dir[] = "/tmp/strata-unit-XXXXXX", cmd[64];
		int before = unit_failed_asserts, j, want = a >= argc;

		for (j = a; j < argc; j++)
			want |= !strcmp(argv[j], tests[i].name);
		if (!want)
			continue;
		if (!mkdtemp(dir) || chdir(dir) < 0) {
			perror("temp dir");
			return 3;
		}
		tests[i].fn();
		if (chdir(cwd) < 0)
			return 3;
		if (!keep) {
			snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
			if (system(cmd) != 0)
				fprintf(stderr, "cannot remove %s\n", dir);
		}
		if (unit_failed_asserts == before) {
			printf("ok - unit %s\n", tests[i].name);
			passed++;
		} else {
			printf("not ok - unit %s%s%s\n", tests[i].name, keep ? " # kept " : "", keep ? dir : "");
			failed++;
		}
	}
	printf("# unit: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
