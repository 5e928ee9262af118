/*
 * unit.h - the unit test runner's assertions (libarchive/crun style).
 * Each test is `TEST(name) { ... }` in a tests/unit/test_*.c file; the runner
 * (main.c) finds them through tests/unit/list.h, runs each in a fresh temp
 * directory and prints `ok - unit NAME` / `not ok - unit NAME`.
 */
#ifndef STRATA_UNIT_H
#define STRATA_UNIT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern int unit_failed_asserts;

#define TEST(name) void test_##name(void); void test_##name(void)

#define CHECK(cond) do { if (!(cond)) { \
	fprintf(stderr, "  %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
	unit_failed_asserts++; } } while (0)
#define CHECK_INT(a, b) do { long long _a = (long long)(a), _b = (long long)(b); if (_a != _b) { \
	fprintf(stderr, "  %s:%d: %s == %lld, expected %lld\n", __FILE__, __LINE__, #a, _a, _b); \
	unit_failed_asserts++; } } while (0)
#define CHECK_STR(a, b) do { const char *_a = (a), *_b = (b); if (!_a || !_b || strcmp(_a, _b)) { \
	fprintf(stderr, "  %s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #a, _a ? _a : "(null)", \
		_b ? _b : "(null)"); unit_failed_asserts++; } } while (0)
/* A library call that must succeed; prints the error context otherwise. */
#define CHECK_OK(call, e) do { int _r = (call); if (_r < 0) { \
	fprintf(stderr, "  %s:%d: %s failed: %s\n", __FILE__, __LINE__, #call, (e)->msg); \
	unit_failed_asserts++; } } while (0)

/* Set environment variable name to v; what it was (malloc'd, or NULL when
 * unset), for unit_env_restore(). */
static inline char *unit_env_set(const char *name, const char *v)
{
	const char *old = getenv(name);
	char *saved = old ? strdup(old) : NULL;

	setenv(name, v, 1);
	return saved;
}

/* name back to what unit_env_set() returned (and that freed). */
static inline void unit_env_restore(const char *name, char *saved)
{
	if (saved)
		setenv(name, saved, 1);
	else
		unsetenv(name);
	free(saved);
}

#endif
