/*
 * inject.c - fault injection for tests/fault/run.sh, as an LD_PRELOAD shim.
 *
 *   STRATA_FAIL_ALLOC=N       the Nth allocation made while main() runs fails
 *                             (malloc, calloc, realloc, posix_memalign,
 *                             aligned_alloc, memalign, strdup, strndup; any
 *                             thread), with ENOMEM: the way curl's torture
 *                             tests and jq's inject_errors.c find error paths.
 *   STRATA_ALLOC_COUNT=FILE   write how many allocations main() made to FILE
 *                             when it returns (how far N has to go).
 *   STRATA_FAIL_TRACE=1       print the stack of the failed allocation on
 *                             stderr (for debugging a case).
 *   STRATA_FAIL_SKIP=S[:S...] allocations called from an object whose path
 *                             contains one of the S are neither counted nor
 *                             failed (libcrypto: OpenSSL 3.0 crashes when its
 *                             own one-time initialisation runs out of memory;
 *                             libzstd: 1.5.4's multithreaded compressor
 *                             dereferences a calloc that failed while it
 *                             creates its workers' context).
 *   STRATA_FAIL_READ=N        reads (read, pread, readv, copy_file_range) of
 *   STRATA_FAIL_READ_PATH=S   files whose path contains S return EIO once N
 *                             bytes of them were read; the read that crosses
 *                             N comes back short, as a failing disk would.
 *   STRATA_READ_COUNT=FILE    write how many bytes of them main() read.
 *
 * Allocations before main() (loader, library constructors) are not counted,
 * so N names the same allocation of strata's own run every time; nor are a
 * new thread's before its start routine runs (the sanitizer runtime sets up
 * a thread with allocations it cannot do without).  The real
 * functions are found with dlsym(RTLD_NEXT): the next allocator may be
 * glibc's or the sanitizer's, so the shim also works under ASan (with
 * ASAN_OPTIONS=verify_asan_link_order=0, as the shim comes first).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <link.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static void *(*real_memalign)(size_t, size_t);
static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_pread)(int, void *, size_t, off_t);
static ssize_t (*real_readv)(int, const struct iovec *, int);
static ssize_t (*real_cfr)(int, off_t *, int, off_t *, size_t, unsigned);

static atomic_long allocs;          /* allocations counted so far */
static long fail_at;                /* 0: none */
static int trace;
#define SKIP_MAX 4
static char skip_names[256];        /* STRATA_FAIL_SKIP, split at ':' */
static const char *skip[SKIP_MAX];  /* caller objects to leave alone */
static size_t nskip;
static uintptr_t skip_lo[SKIP_MAX], skip_hi[SKIP_MAX];  /* their loaded address ranges */
static atomic_int armed;            /* main() is running */
static __thread int in_user;        /* this thread runs main() or a start routine */
static long read_limit = -1;        /* -1: no read faults */
static const char *read_path;
static atomic_long read_done;

/* dlsym may allocate before the real functions are known: serve it from here. */
static char boot[8192];
static size_t boot_used;
static int resolving;

static void *boot_alloc(size_t n)
{
	void *p;

	n = (n + 15) & ~(size_t)15;
	if (boot_used + n > sizeof(boot))
		return NULL;
	p = boot + boot_used;
	boot_used += n;
	return p;
}

static void resolve(void)
{
	if (real_malloc || resolving)
		return;
	resolving = 1;
	real_calloc = dlsym(RTLD_NEXT, "calloc");
	real_realloc = dlsym(RTLD_NEXT, "realloc");
	real_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
	real_aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
	real_memalign = dlsym(RTLD_NEXT, "memalign");
	real_read = dlsym(RTLD_NEXT, "read");
	real_pread = dlsym(RTLD_NEXT, "pread");
	real_readv = dlsym(RTLD_NEXT, "readv");
	real_cfr = dlsym(RTLD_NEXT, "copy_file_range");
	real_malloc = dlsym(RTLD_NEXT, "malloc");
	resolving = 0;
}

static int fail_now_from(const void *caller)
{
	long n;

	if (!atomic_load(&armed) || !in_user)
		return 0;
	for (size_t k = 0; k < nskip; k++)
		if ((uintptr_t)caller >= skip_lo[k] && (uintptr_t)caller < skip_hi[k])
			return 0;
	n = atomic_fetch_add(&allocs, 1) + 1;
	if (fail_at && n == fail_at) {
		if (trace) {
			void *frames[32];

			atomic_store(&armed, 0);  /* backtrace() may allocate */
			backtrace_symbols_fd(frames, backtrace(frames, 32), 2);
			atomic_store(&armed, 1);
		}
		errno = ENOMEM;
		return 1;
	}
	return 0;
}

#define fail_now() fail_now_from(__builtin_return_address(0))

static void *malloc_from(size_t n, const void *caller)
{
	resolve();
	if (!real_malloc)
		return boot_alloc(n);
	return fail_now_from(caller) ? NULL : real_malloc(n);
}

void *malloc(size_t n)
{
	return malloc_from(n, __builtin_return_address(0));
}

void *calloc(size_t a, size_t b)
{
	resolve();
	if (!real_calloc)
		return boot_alloc(a * b);  /* boot is zeroed */
	return fail_now() ? NULL : real_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
	resolve();
	return fail_now() ? NULL : real_realloc(p, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
	resolve();
	return fail_now() ? ENOMEM : real_posix_memalign(out, align, n);
}

void *aligned_alloc(size_t align, size_t n)
{
	resolve();
	return fail_now() ? NULL : real_aligned_alloc(align, n);
}

void *memalign(size_t align, size_t n)
{
	resolve();
	return fail_now() ? NULL : real_memalign(align, n);
}

char *strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc_from(n, __builtin_return_address(0));

	return p ? memcpy(p, s, n) : NULL;
}

char *strndup(const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	char *p = malloc_from(n + 1, __builtin_return_address(0));

	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* ---- reads ---- */

static int watched(int fd)
{
	char link[64], path[4096];
	ssize_t k;

	if (read_limit < 0 || !atomic_load(&armed))
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((k = readlink(link, path, sizeof(path) - 1)) < 0)
		return 0;
	path[k] = '\0';
	return strstr(path, read_path) != NULL;
}

/* How much of a read of n bytes may happen: n, less, or -1 (fail with EIO). */
static ssize_t allow(int fd, size_t n)
{
	long done;

	if (!watched(fd))
		return (ssize_t)n;
	done = atomic_load(&read_done);
	if (done >= read_limit) {
		errno = EIO;
		return -1;
	}
	if ((long)n > read_limit - done)
		n = (size_t)(read_limit - done);
	return (ssize_t)n;
}

static void account(int fd, ssize_t got)
{
	if (got > 0 && watched(fd))
		atomic_fetch_add(&read_done, got);
}

ssize_t read(int fd, void *buf, size_t n)
{
	ssize_t ok, got;

	resolve();
	if ((ok = allow(fd, n)) < 0)
		return -1;
	got = real_read(fd, buf, (size_t)ok);
	account(fd, got);
	return got;
}

ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	ssize_t ok, got;

	resolve();
	if ((ok = allow(fd, n)) < 0)
		return -1;
	got = real_pread(fd, buf, (size_t)ok, off);
	account(fd, got);
	return got;
}

ssize_t pread64(int fd, void *buf, size_t n, off_t off) __attribute__((alias("pread")));

ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
	resolve();
	if (watched(fd)) {
		/* not used by strata; fail it whole once past the limit */
		if (atomic_load(&read_done) >= read_limit) {
			errno = EIO;
			return -1;
		}
	}
	return real_readv(fd, iov, cnt);
}

ssize_t copy_file_range(int in, off_t *in_off, int out, off_t *out_off, size_t n, unsigned flags)
{
	ssize_t ok, got;

	resolve();
	if ((ok = allow(in, n)) < 0)
		return -1;
	got = real_cfr(in, in_off, out, out_off, (size_t)ok, flags);
	account(in, got);
	return got;
}

/* The address range of the loaded object whose path contains skip[k]. */
static int find_skip(struct dl_phdr_info *info, size_t size, void *data)
{
	size_t k = *(size_t *)data;
	int i;

	(void)size;
	if (!info->dlpi_name || !strstr(info->dlpi_name, skip[k]))
		return 0;
	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;

		if (ph->p_type != PT_LOAD)
			continue;
		if (!skip_lo[k] || lo < skip_lo[k])
			skip_lo[k] = lo;
		if (hi > skip_hi[k])
			skip_hi[k] = hi;
	}
	return 1;
}

/* ---- threads: count from the start routine on ---- */

struct start {
	void *(*fn)(void *);
	void *arg;
};

static void *trampoline(void *p)
{
	struct start st = *(struct start *)p;

	free(p);
	in_user = 1;
	return st.fn(st.arg);
}

int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	static int (*next)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
	struct start *st;
	int r;

	resolve();
	if (!next)
		next = (int (*)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *))dlsym(RTLD_NEXT,
												      "pthread_create");
	if (fail_now())
		return EAGAIN;  /* as glibc does when it cannot allocate a thread */
	if (!(st = real_malloc(sizeof(*st))))
		return EAGAIN;
	st->fn = fn;
	st->arg = arg;
	if ((r = next(t, attr, trampoline, st)))
		free(st);
	return r;
}

/* ---- arming: count from main() on ---- */

typedef int (*main_fn)(int, char **, char **);
static main_fn real_main;

static int wrapped_main(int argc, char **argv, char **envp)
{
	const char *v = getenv("STRATA_FAIL_ALLOC"), *cf = getenv("STRATA_ALLOC_COUNT"), *rf = getenv("STRATA_READ_COUNT");
	const char *rl = getenv("STRATA_FAIL_READ");
	int r;

	fail_at = v ? strtol(v, NULL, 10) : 0;
	trace = getenv("STRATA_FAIL_TRACE") != NULL;
	if (getenv("STRATA_FAIL_SKIP")) {
		char *tok, *save = NULL;

		snprintf(skip_names, sizeof(skip_names), "%s", getenv("STRATA_FAIL_SKIP"));
		for (tok = strtok_r(skip_names, ":", &save); tok && nskip < SKIP_MAX; tok = strtok_r(NULL, ":", &save)) {
			skip[nskip] = tok;
			dl_iterate_phdr(find_skip, &nskip);
			nskip++;
		}
	}
	if (rl && getenv("STRATA_FAIL_READ_PATH")) {
		read_limit = strtol(rl, NULL, 10);
		read_path = getenv("STRATA_FAIL_READ_PATH");
	}
	in_user = 1;
	atomic_store(&armed, 1);
	r = real_main(argc, argv, envp);
	atomic_store(&armed, 0);
	if (cf) {
		int fd = open(cf, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd >= 0) {
			dprintf(fd, "%ld\n", atomic_load(&allocs));
			close(fd);
		}
	}
	if (rf) {
		int fd = open(rf, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd >= 0) {
			dprintf(fd, "%ld\n", atomic_load(&read_done));
			close(fd);
		}
	}
	return r;
}

int __libc_start_main(main_fn main, int argc, char **argv, void (*init)(void), void (*fini)(void),
		      void (*rtld_fini)(void), void *stack_end)
{
	int (*next)(main_fn, int, char **, void (*)(void), void (*)(void), void (*)(void), void *);

	resolve();
	next = (int (*)(main_fn, int, char **, void (*)(void), void (*)(void), void (*)(void), void *))
		dlsym(RTLD_NEXT, "__libc_start_main");
	real_main = main;
	return next(wrapped_main, argc, argv, init, fini, rtld_fini, stack_end);
}
