# ktstr: build, check, demo, deps, kernel, scx, bench, install, the rock.
CC      ?= gcc
PKGS    := lua5.4 libuv libbpf libelf jansson zlib libedit
CFLAGS  ?= -O2 -g
# override: `make CFLAGS=...` (luarocks passes its own) still gets ktstr's flags
override CFLAGS += $(EXTRA_CFLAGS) -std=gnu11 -Wall -Wextra -Werror -fno-strict-aliasing \
	   -I. $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lzstd

B       ?= build
ROCK    := $(B)/rock
SRCS    := $(wildcard src/*.c src/*/*.c vmm/*.c initramfs/*.c)
HDRS    := $(wildcard src/*/*.h vmm/*.h initramfs/*.h)
OBJS    := $(SRCS:%.c=$(B)/%.o)
KTSTR   := $(B)/ktstr

.PHONY: all check check-kernel demo deps kernel bench clean format asan fuzz install uninstall
.PHONY: rock rock-install
all: $(KTSTR) sched $(B)/fake-qemu

# -MMD: each object also depends on the headers it included (build/**/*.d).
$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<
-include $(OBJS:.o=.d)

# The version core.version() reports: the release and the tree it was built
# from. l_sys.o rebuilds when either changes (the stamp only moves then).
VERSION := 0.1.0
GIT_REV  = $(shell git describe --always --dirty 2>/dev/null || echo unknown)
.PHONY: FORCE
$(B)/version: FORCE
	@mkdir -p $(@D)
	@echo '$(VERSION) $(GIT_REV)' | cmp -s - $@ || echo '$(VERSION) $(GIT_REV)' > $@
$(B)/src/bind/l_sys.o $(ROCK)/src/bind/l_sys.o: $(B)/version
$(B)/src/bind/l_sys.o $(ROCK)/src/bind/l_sys.o: \
	override CFLAGS += -DKTSTR_VERSION='"$(VERSION)"' -DKTSTR_GIT='"$(GIT_REV)"'

# -rdynamic: C Lua modules loaded by require (cjson) resolve lua_* here.
$(KTSTR): $(OBJS)
	$(CC) $(CFLAGS) -rdynamic -o $@ $(OBJS) $(LDLIBS)

# The rock (rockspec/ktstr-dev-1.rockspec: `luarocks make`): ktstr.core as a
# Lua C module for another Lua 5.4, from the binary's sources less its entry
# and Lua state (main.c, lmain.c), position-independent, exporting only
# luaopen_ktstr_core (the C's own names stay out of other modules' way), and
# not linked to liblua (the interpreter that loads it has it).
ROCK_SRCS := $(filter-out src/main.c src/bind/lmain.c,$(SRCS))
ROCK_OBJS := $(ROCK_SRCS:%.c=$(ROCK)/%.o)
ROCK_LIBS := $(shell pkg-config --libs $(filter-out lua5.4,$(PKGS)) 2>/dev/null) -lzstd
LUA_INCDIR ?=
rock: $(ROCK)/core.so

$(ROCK)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(if $(LUA_INCDIR),-I$(LUA_INCDIR)) $(CFLAGS) -fPIC -DKTSTR_LUA_MODULE -MMD -MP -c -o $@ $<
-include $(ROCK_OBJS:.o=.d)

$(ROCK)/core.map:
	@mkdir -p $(@D)
	@printf '{ global: luaopen_ktstr_core; local: *; };\n' > $@

$(ROCK)/core.so: $(ROCK_OBJS) $(ROCK)/core.map
	$(CC) $(CFLAGS) -shared -Wl,--version-script=$(ROCK)/core.map -o $@ $(ROCK_OBJS) $(ROCK_LIBS)

# luarocks make's install step: LIBDIR and LUADIR are the rock's own directories.
rock-install: $(ROCK)/core.so
	install -D -m 755 $(ROCK)/core.so $(LIBDIR)/ktstr/core.so
	cd lua && find ktstr -name '*.lua' -exec install -D -m 644 {} $(LUADIR)/{} \;

# install: the tool under PREFIX (staged under DESTDIR): bin/ktstr, its Lua
# in share/ktstr/lua and the fixture scheduler in lib/ktstr/sched (found
# from the binary's real path, so PREFIX is free), the man page and bash
# completion. scripts/install keeps a manifest; uninstall removes what it
# lists: the files and the directories install created.
PREFIX  ?= /usr/local
MANDIR  ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
INSTALL_ENV = DESTDIR='$(DESTDIR)' PREFIX='$(PREFIX)' MANDIR='$(MANDIR)' \
	BASHCOMPDIR='$(BASHCOMPDIR)' B='$(B)'
install: all
	@$(INSTALL_ENV) scripts/install install
uninstall:
	@$(INSTALL_ENV) scripts/install uninstall

# A guest that lies: what KTSTR_QEMU points at in spec/vm/hostile_spec.lua.
$(B)/fake-qemu: $(B)/spec/support/fake_qemu.o $(B)/src/base/chan.o $(B)/src/base/sock.o
	$(CC) $(CFLAGS) -o $@ $^ -lz -lpthread
-include $(B)/spec/support/fake_qemu.d

# sched/: the fixture scheduler. BPF built against the cached guest kernel's
# BTF and embedded in its loader; libbpf linked statically (no libbpf.so in
# the guest). ktstr-sched-broken is the one the verifier rejects.
SCHED      := $(B)/sched
SCHED_KVER := 7.3
SCHED_BPF  := $(SCHED)/ktstr_sched.bpf.o $(SCHED)/broken.bpf.o
BPF_CC     := clang-19 -g -O2 -mcpu=v3 -target bpf -D__TARGET_ARCH_x86 -Wall -Wno-missing-declarations
.PHONY: sched
.SECONDARY: $(SCHED_BPF)
sched: $(SCHED)/ktstr-sched $(SCHED)/ktstr-sched-broken

$(SCHED)/vmlinux.h: | $(KTSTR)
	@mkdir -p $(@D)
	@$(KTSTR) kernel path $(SCHED_KVER) --btf >/dev/null 2>&1 || $(KTSTR) kernel fetch $(SCHED_KVER)
	bpftool btf dump file "$$($(KTSTR) kernel path $(SCHED_KVER) --btf)" format c > $@.tmp
	@mv $@.tmp $@

$(SCHED)/%.bpf.o: sched/%.bpf.c sched/ktstr_sched.h $(SCHED)/vmlinux.h
	$(BPF_CC) -I$(SCHED) -Isched -c -o $@ $<
	llvm-strip-19 -g $@

$(SCHED)/%.embed.o: sched/embed.S $(SCHED)/%.bpf.o
	$(CC) -c -DBPF_OBJ='"$(SCHED)/$*.bpf.o"' -o $@ $<

$(SCHED)/loader.o: sched/ktstr_sched.c sched/ktstr_sched.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

$(SCHED)/ktstr-sched: $(SCHED)/loader.o $(SCHED)/ktstr_sched.embed.o
$(SCHED)/ktstr-sched-broken: $(SCHED)/loader.o $(SCHED)/broken.embed.o
$(SCHED)/ktstr-sched $(SCHED)/ktstr-sched-broken:
	$(CC) $(CFLAGS) -o $@ $^ $(shell pkg-config --variable=libdir libbpf)/libbpf.a -lelf -lz -lm

# scx: the kernel's own tools/sched_ext schedulers (scx_cpu0, scx_pair, scx_qmap,
# ...) from Debian's linux-source, built once per guest kernel into the cache
# (a second run is a cache hit) and linked as build/scx/, where scheduler
# discovery looks. tests/corpus.lua runs them.
.PHONY: scx
scx: $(KTSTR)
	@d=$$($(KTSTR) kernel scx $(SCHED_KVER)) && ln -sfn "$$d" $(B)/scx

# Installs what is missing; a no-op on a machine that has everything.
deps:
	@scripts/install-deps

kernel: deps $(KTSTR)
	$(KTSTR) kernel fetch

check: deps
	@$(MAKE) --no-print-directory all scx
	@$(KTSTR) kernel fetch >/dev/null
	@$(KTSTR) lua scripts/check.lua

# check-kernel: too slow for every make check. Builds Debian's linux-source-7.3
# with ktstr's config (`ktstr kernel build`: an hour or more on 2 cores the
# first time, a cache hit after) and runs tests/mixed.lua on Debian's kernel
# and on the built one, in one run (--kernel twice).
check-kernel: deps
	@$(MAKE) --no-print-directory all
	@$(KTSTR) kernel fetch $(SCHED_KVER) >/dev/null
	@k=$$($(KTSTR) kernel build) && echo "check-kernel: built kernel $$k" && \
	$(KTSTR) script tests/mixed.lua --kernel $(SCHED_KVER) --kernel "$$k"

demo: deps
	@$(MAKE) --no-print-directory all
	@$(KTSTR) kernel fetch
	$(KTSTR) script tests/mixed.lua

# asan: ktstr under AddressSanitizer and UBSan in build-asan/ (its own objects),
# then the C-level specs (spec/core) run on it. Reports go to build-asan/san/
# (forked workers' too, whose stderr no spec shows); any report fails the run.
# handle_segv=0: worker_spec kills a worker with SIGSEGV and expects it to die of it.
# build-asan/sched and scx link to build/'s, so VM specs run on it too:
# build-asan/ktstr lua /usr/bin/busted --pattern=_spec spec/vm/boot_spec.lua
ASAN_B     := build-asan
ASAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	      -fno-sanitize-recover=all
ASAN_LOG   := $(CURDIR)/$(ASAN_B)/san/report
ASAN_ENV   := ASAN_OPTIONS=detect_leaks=1:handle_segv=0:log_path=$(ASAN_LOG) \
	      UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$(ASAN_LOG)
asan:
	@$(MAKE) --no-print-directory B=$(ASAN_B) EXTRA_CFLAGS="$(ASAN_FLAGS)" $(ASAN_B)/ktstr
	@ln -sfn ../$(B)/sched $(ASAN_B)/sched && ln -sfn ../$(B)/scx $(ASAN_B)/scx
	@rm -rf $(ASAN_B)/san && mkdir -p $(ASAN_B)/san
	@$(ASAN_ENV) $(ASAN_B)/ktstr lua /usr/bin/busted --pattern=_spec -o TAP spec/core; \
	rc=$$?; for f in $(ASAN_B)/san/*; do [ -e "$$f" ] || continue; cat "$$f"; rc=1; done; \
	[ $$rc = 0 ] && echo "asan: spec/core clean under ASan/UBSan" || \
	{ echo "asan: failed (reports above, in $(ASAN_B)/san/)"; exit 1; }

# fuzz: libFuzzer targets (fuzz/) under ASan and UBSan in build-fuzz/, each run
# for FUZZ_SECONDS from its seed corpus in fuzz/corpus/ by scripts/fuzz.lua
# (make check runs them for a few seconds). Findings: build-fuzz/NAME-crash-*.
FUZZ_B       := build-fuzz
FUZZ_CC      := clang-19
FUZZ_FLAGS   := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-Wall -Wextra -Werror -I.
FUZZ_SECONDS ?= 60
.PHONY: fuzz-build
fuzz-build: $(FUZZ_B)/chan $(FUZZ_B)/protocol

$(FUZZ_B)/chan: fuzz/chan.c src/base/chan.c src/base/chan.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ fuzz/chan.c src/base/chan.c -lz

$(FUZZ_B)/protocol: fuzz/protocol.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -DKTSTR_LUA_DIR='"$(CURDIR)/lua"' \
		$(shell pkg-config --cflags lua5.4) -o $@ $< $(shell pkg-config --libs lua5.4)

fuzz: $(KTSTR)
	$(KTSTR) lua scripts/fuzz.lua $(FUZZ_SECONDS)

bench: all
	$(KTSTR) lua bench/run.lua

format:
	clang-format -i $(SRCS) $(HDRS)

clean:
	rm -rf $(B) $(ASAN_B) $(FUZZ_B)
