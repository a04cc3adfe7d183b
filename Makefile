# ktstr: build, check, demo, deps, kernel, scx, bench.
CC      ?= gcc
PKGS    := lua5.4 libuv libbpf libelf jansson zlib libedit
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -fno-strict-aliasing \
	   -I. $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lzstd

B       := build
SRCS    := $(wildcard src/*.c src/*/*.c vmm/*.c initramfs/*.c)
HDRS    := $(wildcard src/*/*.h vmm/*.h initramfs/*.h)
OBJS    := $(SRCS:%.c=$(B)/%.o)
KTSTR   := $(B)/ktstr

.PHONY: all check demo deps kernel bench clean format
all: $(KTSTR) sched $(B)/fake-qemu

# -MMD: each object also depends on the headers it included (build/**/*.d).
$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<
-include $(OBJS:.o=.d)

# -rdynamic: C Lua modules loaded by require (cjson) resolve lua_* here.
$(KTSTR): $(OBJS)
	$(CC) $(CFLAGS) -rdynamic -o $@ $(OBJS) $(LDLIBS)

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

demo: deps
	@$(MAKE) --no-print-directory all
	@$(KTSTR) kernel fetch
	$(KTSTR) script tests/mixed.lua

bench: all
	$(KTSTR) lua bench/run.lua

format:
	clang-format -i $(SRCS) $(HDRS)

clean:
	rm -rf $(B)
