# strata - plain Makefile (see README.md).  `make`, `make demo`, `make check`.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
VERSION := 0.1.0

PKGS := libarchive zlib liblzma libzstd libcrypto libcjson libdeflate sqlite3
CC ?= cc
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2 -Wno-format-nonliteral
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) -I. $(PKG_CFLAGS) -DSTRATA_VERSION='"$(VERSION)"' $(CFLAGS)
LDLIBS := $(PKG_LIBS) -lisal -lpthread -lm
# Our allocation calls go through common/alloc.c, which notes a shortage.
LDWRAP := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=strndup

BUILD ?= build
COMMON := err buf size digest stream decode encode tar tarw strmap spill pages xsort fsutil diag awrite alloc tarsplit pieces sign
FORMATS := json ref layerfs catalog scan image check docker_archive oci_layout rootfs registry regtree sink target store docker_root cstorage pieceset
ANALYZE := walk records pkg pkgdelta final account render html tree diff sbom sbomdoc purl risk eco rpmdb pydist npm gobin digests
CONVERT := convert import merge layers flatten unpack squash transfer split delta
CLI := main args completion pick report progress inspect verify convert flatten analyze diff sbom

LIB_SRC := $(COMMON:%=common/%.c) $(FORMATS:%=formats/%.c) $(ANALYZE:%=analyze/%.c) $(CONVERT:%=convert/%.c)
CLI_SRC := $(CLI:%=cli/%.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(wildcard tests/unit/*.c)
UNIT_OBJ := $(UNIT_SRC:%.c=$(BUILD)/%.o)

all: strata

strata: $(BUILD)/strata
	cp $< $@.tmp && mv -f $@.tmp $@

$(BUILD)/strata: $(CLI_OBJ) $(BUILD)/libstrata.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $(LDWRAP) -o $@ $^ $(LDLIBS)

$(BUILD)/libstrata.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/unit: $(UNIT_OBJ) $(BUILD)/libstrata.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $(LDWRAP) -o $@ $^ $(LDLIBS)

# The layer encoder alone, for bench/run-gzip.sh's floor rows (bench/README.md); not built by default.
$(BUILD)/encfloor: $(BUILD)/bench/encfloor.o $(BUILD)/libstrata.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $(LDWRAP) -o $@ $^ $(LDLIBS)

# The runner's test list, made from the TEST(name) lines (libarchive's list.h idea).
$(BUILD)/list.h: $(filter-out tests/unit/main.c,$(UNIT_SRC))
	@mkdir -p $(BUILD)
	grep -ho '^TEST([a-z0-9_]*)' $^ | sed 's/^TEST/T/' > $@

$(BUILD)/tests/unit/main.o: $(BUILD)/list.h
$(BUILD)/tests/unit/main.o: ALL_CFLAGS += -I$(BUILD)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(UNIT_OBJ:.o=.d)

# Debian packages the build and the tests need; installed when root.
DEB_BUILD := build-essential pkg-config libarchive-dev zlib1g-dev liblzma-dev libzstd-dev libssl-dev libcjson-dev libisal-dev libdeflate-dev libsqlite3-dev
DEB_TEST := clang python3 zsh fish python3-jsonschema zstd xz-utils bzip2 gzip jq skopeo umoci podman buildah containerd oci-image-tool uidmap chromium poppler-utils valgrind docker.io docker-registry curl qemu-user openssl rpm
DEB_DEMO := python3 xz-utils
deps:
	@sh tests/deps.sh $(DEB_BUILD) -- $(DEB_TEST)

# demo needs only the build and the fixtures generator
deps-demo:
	@sh tests/deps.sh $(DEB_BUILD) $(DEB_DEMO)

demo: deps-demo
	@$(MAKE) --no-print-directory all
	@sh fixtures/demo.sh ./strata

check: deps
	@$(MAKE) --no-print-directory all $(BUILD)/unit
	@sh tests/run-all.sh

# One sanitizer build in its own directory; run-all.sh drives it.
asan:
	@$(MAKE) --no-print-directory BUILD=build-asan CFLAGS='-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all' build-asan/strata build-asan/unit

# libFuzzer targets (fuzz/README.md): clang, their own build directory, never the normal build.
FUZZ_CC ?= clang
FUZZ_TIME ?= 300
FUZZ_TARGETS := archive json ref layer decode merge eco convert unpack dir
FUZZ_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
fuzz-build:
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=$(FUZZ_CC) CFLAGS='$(FUZZ_FLAGS) -fsanitize=fuzzer-no-link' $(FUZZ_TARGETS:%=build-fuzz/fuzz-%)

fuzz: fuzz-build
	@sh fuzz/run.sh $(FUZZ_TIME)

$(BUILD)/fuzz-%: $(BUILD)/fuzz/%.o $(BUILD)/fuzz/util.o $(BUILD)/libstrata.a
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer $(LDFLAGS) -o $@ $^ $(LDLIBS)

-include $(FUZZ_TARGETS:%=$(BUILD)/fuzz/%.d) $(BUILD)/fuzz/util.d

# The CLI golden tests and the malformed corpus under valgrind memcheck, with a
# plain -O1 -g build of its own (about 2 minutes; `make check` runs it too).
check-valgrind: deps
	@$(MAKE) --no-print-directory BUILD=build-valgrind CFLAGS='-O1 -g' build-valgrind/strata
	@sh tests/valgrind.sh build-valgrind/strata

lint:
	@sh tests/deps-lint.sh | tee /dev/stderr | grep -q '^not ok' && exit 1 || true

# The completion scripts are made by the binary from its command table.
COMPDIR_BASH ?= $(PREFIX)/share/bash-completion/completions
COMPDIR_ZSH ?= $(PREFIX)/share/zsh/site-functions
COMPDIR_FISH ?= $(PREFIX)/share/fish/vendor_completions.d
install: strata
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -d $(DESTDIR)$(COMPDIR_BASH) $(DESTDIR)$(COMPDIR_ZSH) $(DESTDIR)$(COMPDIR_FISH)
	install -m 0755 strata $(DESTDIR)$(BINDIR)/strata
	install -m 0644 strata.1 $(DESTDIR)$(MANDIR)/man1/strata.1
	./strata completion bash > $(DESTDIR)$(COMPDIR_BASH)/strata
	./strata completion zsh > $(DESTDIR)$(COMPDIR_ZSH)/_strata
	./strata completion fish > $(DESTDIR)$(COMPDIR_FISH)/strata.fish
	chmod 0644 $(DESTDIR)$(COMPDIR_BASH)/strata $(DESTDIR)$(COMPDIR_ZSH)/_strata $(DESTDIR)$(COMPDIR_FISH)/strata.fish

clean:
	rm -rf build build-asan build-arm64 build-fuzz build-valgrind strata demo tests/out

.PHONY: all deps deps-demo demo check check-valgrind asan fuzz fuzz-build lint install clean
