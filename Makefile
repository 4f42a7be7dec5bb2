# SPDX-License-Identifier: GPL-2.0-only
# cagectl: one entry point. `make`, `make check`, `make demo`, `make bench`, `make install`.
# Quiet by default; V=1 prints every command. BUILD=dir keeps parallel builds apart.

.DELETE_ON_ERROR:
.SUFFIXES:

BUILD    ?= build$(if $(filter 1,$(SANITIZE)),-san)
PREFIX   ?= /usr/local
DESTDIR  ?=
ARCH     := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
CC       := clang
CLANG    ?= clang
BPFTOOL  ?= bpftool

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# macOS hosts: just the CLI, config and the lima/apple-container drivers (mk/host-only.mk).
ifeq ($(HOST_ONLY),1)
HOST_BUILD := $(if $(filter build,$(BUILD)),build-host,$(BUILD))
include mk/host-only.mk
.DEFAULT_GOAL := host-only
.PHONY: all check
all: host-only
check: host-only-check
else

# The one place that lists the libraries. HOST_ONLY builds (macOS) leave out the Linux ones.
PKGS_COMMON := yaml-0.1 openssl zlib libzstd libbrotlidec libbrotlienc
PKGS_LINUX  := libbpf libnftnl libmnl libcap-ng libseccomp libhs
PKGS        := $(PKGS_COMMON) $(PKGS_LINUX)
PKG_CFLAGS  := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS    := $(shell pkg-config --libs $(PKGS)) -lelf -lz

WARN     := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat=2 -Wvla
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 $(WARN) -D_GNU_SOURCE -fno-strict-aliasing -pthread
LIBEXECDIR ?= $(PREFIX)/lib/cagectl
CPPFLAGS += -I. -Iinclude -Iuserspace -I$(BUILD)/skel $(PKG_CFLAGS) -DCAGECTL_LIBEXECDIR='"$(LIBEXECDIR)"'
# Each binary keeps only the libraries it calls: a daemon that maps libnftnl or libbrotlienc for
# nothing pays for their pages in every cage (idle cage-dns: 6.5 -> 3 MiB VmRSS).
LDFLAGS  += -pthread -Wl,--as-needed

ifeq ($(SANITIZE),1)
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
CFLAGS    += $(SAN_FLAGS)
LDFLAGS   += $(SAN_FLAGS)
endif

# Userspace: every .c under userspace/ goes into libcage.a except the three mains.
MAINS     := userspace/cli/main.c userspace/proxy/main.c userspace/dns/main.c
LIB_SRCS  := $(filter-out $(MAINS),$(wildcard userspace/*/*.c)) \
             $(filter-out backends/host/%,$(wildcard backends/*.c backends/*/*.c))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
LIBCAGE   := $(BUILD)/libcage.a

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_TMPS  := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/bpf/%.tmp.o)
SKELS     := $(BUILD)/skel/cage.skel.h
VMLINUX_H := $(BUILD)/vmlinux/vmlinux.h

PROGS     := $(BUILD)/cagectl $(if $(wildcard userspace/proxy/main.c),$(BUILD)/cage-proxy) \
             $(if $(wildcard userspace/dns/main.c),$(BUILD)/cage-dns)

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOL_BINS := $(TOOL_SRCS:tests/tools/%.c=$(BUILD)/tools/%)

BENCH_SRCS := $(wildcard tests/bench/*.c)
BENCH_BINS := $(BENCH_SRCS:tests/bench/%.c=$(BUILD)/bench/%)

FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_FLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/fuzzobj/%.o)

.PHONY: all install check check-unit check-fuzz demo bench clean lab-up lab-down
all: $(PROGS)

# --- BPF: clang -target bpf, linked by bpftool, embedded through a skeleton -------------------
$(VMLINUX_H):
	$(call msg,VMLINUX,$@)
	$(Q)mkdir -p $(@D)
	$(Q)if [ -r /sys/kernel/btf/vmlinux ]; then \
		$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@; \
	else \
		echo "  no /sys/kernel/btf/vmlinux: using include/vmlinux/vmlinux.h"; \
		cp include/vmlinux/vmlinux.h $@; \
	fi

$(BUILD)/bpf/%.tmp.o: bpf/%.bpf.c $(VMLINUX_H) $(wildcard include/cage/*.h bpf/*.h)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
		-I$(BUILD)/vmlinux -Iinclude -Ibpf -c $< -o $@

# One hook family per file; bpftool links them into one object so they share their maps.
$(BUILD)/bpf/cage.bpf.o: $(BPF_TMPS)
	$(call msg,BPFLINK,$@)
	$(Q)$(BPFTOOL) gen object $@ $^

$(BUILD)/skel/cage.skel.h: $(BUILD)/bpf/cage.bpf.o
	$(call msg,SKEL,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(BPFTOOL) gen skeleton $< name cage_bpf > $@

# --- userspace --------------------------------------------------------------------------------
# Only the loader includes skeletons; nothing else waits for the BPF build. (Explicit targets:
# a pattern rule without a recipe would cancel the compile rule instead of adding to it.)
$(filter $(BUILD)/obj/userspace/enforce/%,$(LIB_OBJS)) \
$(filter $(BUILD)/fuzzobj/userspace/enforce/%,$(FUZZ_LIB_OBJS)): | $(SKELS)

$(BUILD)/obj/%.o: %.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIBCAGE): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/cagectl: $(BUILD)/obj/userspace/cli/main.o $(LIBCAGE)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(PKG_LIBS) -o $@

$(BUILD)/cage-proxy: $(BUILD)/obj/userspace/proxy/main.o $(LIBCAGE)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(PKG_LIBS) -o $@

$(BUILD)/cage-dns: $(BUILD)/obj/userspace/dns/main.o $(LIBCAGE)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(PKG_LIBS) -o $@

# The backends render files that build cagectl from this source tree.
$(BUILD)/obj/backends/backend.o $(BUILD)/fuzzobj/backends/backend.o: CPPFLAGS += -DCAGECTL_SRCDIR='"$(CURDIR)"'

# --- tests ------------------------------------------------------------------------------------
$(BUILD)/tests/%: tests/unit/%.c $(LIBCAGE)
	$(call msg,TEST,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(shell pkg-config --cflags cmocka) -MMD -MP $< $(LIBCAGE) \
		$(LDFLAGS) $(PKG_LIBS) $(shell pkg-config --libs cmocka) -o $@

# Small programs the shell tests drive (stand-in listeners and the like).
$(BUILD)/tools/%: tests/tools/%.c $(LIBCAGE)
	$(call msg,TOOL,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP $< $(LIBCAGE) $(LDFLAGS) $(PKG_LIBS) -o $@

# Micro-benchmarks that `make bench` runs (never `make check`: no timing in tests).
$(BUILD)/bench/%: tests/bench/%.c $(LIBCAGE)
	$(call msg,BENCH,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(shell pkg-config --cflags cmocka) -Itests/unit -MMD -MP $< $(LIBCAGE) \
		$(LDFLAGS) $(PKG_LIBS) $(shell pkg-config --libs cmocka) -o $@

# Fuzz targets link a separately instrumented copy of the library.
$(BUILD)/fuzzobj/%.o: %.c
	$(call msg,CC-FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(CPPFLAGS) -std=gnu11 -D_GNU_SOURCE -O1 -g $(WARN) $(FUZZ_FLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libcage-fuzz.a: $(FUZZ_LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/fuzz/%: tests/fuzz/%.c $(BUILD)/libcage-fuzz.a
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(CPPFLAGS) -std=gnu11 -D_GNU_SOURCE -O1 -g $(WARN) \
		-fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer $< $(BUILD)/libcage-fuzz.a \
		$(PKG_LIBS) -pthread -o $@

check-build: $(PROGS) $(UNIT_BINS) $(TOOL_BINS) $(FUZZ_BINS)
.PHONY: check-build

check: setup
	$(Q)$(MAKE) --no-print-directory check-build
	$(Q)BUILD=$(BUILD) tests/run

# A Debian guest kernel under qemu (TCG) with guest-init as PID 1; also part of make check
# (tests/integration/check_guest.sh runs it: about 30 s).
check-guest: setup all
	$(Q)BUILD=$(BUILD) tests/guest/check_guest.sh
.PHONY: check-guest

demo: setup all
	$(Q)BUILD=$(BUILD) scripts/demo

bench: setup all $(BENCH_BINS) $(TOOL_BINS)
	$(Q)BUILD=$(BUILD) tests/bench/run

setup:
	$(Q)scripts/setup
.PHONY: setup

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/cagectl \
		$(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0755 $(BUILD)/cagectl $(DESTDIR)$(PREFIX)/bin/
	install -d $(DESTDIR)$(LIBEXECDIR)
	$(if $(filter-out $(BUILD)/cagectl,$(PROGS)),install -m 0755 $(filter-out $(BUILD)/cagectl,$(PROGS)) $(DESTDIR)$(LIBEXECDIR)/)
	$(if $(wildcard docs/man/*.8),install -m 0644 docs/man/*.8 $(DESTDIR)$(PREFIX)/share/man/man8/)
	install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/lib/systemd/system
	install -m 0644 contrib/bash-completion/cagectl $(DESTDIR)$(PREFIX)/share/bash-completion/completions/cagectl
	sed 's|/usr/local/bin|$(PREFIX)/bin|g' contrib/systemd/cagectl@.service > $(DESTDIR)$(PREFIX)/lib/systemd/system/cagectl@.service
	chmod 0644 $(DESTDIR)$(PREFIX)/lib/systemd/system/cagectl@.service

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

endif
