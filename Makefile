# ktstr: build, check, demo, deps, kernel, bench.
CC      ?= gcc
PKGS    := lua5.4 libuv libbpf libelf jansson zlib
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -fno-strict-aliasing \
	   -Isrc -Ivmm -Iinitramfs $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lzstd

B       := build
SRCS    := $(wildcard src/*.c vmm/*.c initramfs/*.c)
OBJS    := $(SRCS:%.c=$(B)/%.o)
KTSTR   := $(B)/ktstr

.PHONY: all check demo deps kernel bench clean format
all: $(KTSTR)

$(B)/%.o: %.c $(wildcard src/*.h vmm/*.h initramfs/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# -rdynamic: C Lua modules loaded by require (cjson) resolve lua_* here.
$(KTSTR): $(OBJS)
	$(CC) $(CFLAGS) -rdynamic -o $@ $(OBJS) $(LDLIBS)

# Installs what is missing; a no-op on a machine that has everything.
deps:
	@scripts/install-deps

kernel: deps $(KTSTR)
	$(KTSTR) kernel fetch

check: deps
	@$(MAKE) --no-print-directory all
	@$(KTSTR) kernel fetch >/dev/null
	@$(KTSTR) lua scripts/check.lua

demo: deps
	@$(MAKE) --no-print-directory all
	@$(KTSTR) kernel fetch
	$(KTSTR) script tests/mixed.lua

bench: all
	$(KTSTR) lua bench/run.lua

format:
	clang-format -i $(SRCS) $(wildcard src/*.h vmm/*.h initramfs/*.h)

clean:
	rm -rf $(B)
