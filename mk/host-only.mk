# SPDX-License-Identifier: GPL-2.0-only
# HOST_ONLY=1: the cagectl a macOS host runs. The CLI, the config loader and the guest drivers
# (lima, apple-container) only: no BPF, no nftables, no libbpf/libnftnl/libmnl/libcap-ng/libseccomp,
# and no source that includes a Linux kernel header (host-only-check proves it on every build).
#
# Stand-alone:   make -f mk/host-only.mk HOST_BUILD=build-host        → build-host/cagectl
#                make -f mk/host-only.mk HOST_BUILD=build-host host-only-check
# From the Makefile: include it and make $(HOST_CAGECTL) (and host-only-check) the goal when
# HOST_ONLY=1; it defines no rule for `all` so it cannot clash with the Makefile's own.

HOST_BUILD ?= $(if $(BUILD),$(BUILD),build-host)
HOST_CC    ?= clang
HOST_PKGS  := yaml-0.1
HOST_WARN  := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat=2 -Wvla
HOST_SAN   := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
HOST_CFLAGS := -O2 -g -std=gnu11 $(HOST_WARN) -D_GNU_SOURCE -fno-strict-aliasing \
	$(if $(filter 1,$(SANITIZE)),$(HOST_SAN))
HOST_CPPFLAGS := -Imk/host-include -Iinclude -Iuserspace -I. $(shell pkg-config --cflags $(HOST_PKGS)) \
	-DCAGECTL_SRCDIR='"$(CURDIR)"'
HOST_LDFLAGS := $(if $(filter 1,$(SANITIZE)),$(HOST_SAN))
HOST_LIBS  := $(shell pkg-config --libs $(HOST_PKGS))

HOST_SRCS  := backends/host/main_host.c \
	$(wildcard userspace/config/*.c) \
	userspace/lib/log.c userspace/lib/json.c userspace/lib/domain.c userspace/lib/ipclass.c \
	backends/backend.c backends/backend_util.c backends/backend_cli.c backends/guest_files.c \
	backends/lima/lima_backend.c backends/apple-container/apple_container_backend.c \
	backends/host/cmd_host.c userspace/cli/cli_config.c
HOST_OBJS  := $(HOST_SRCS:%.c=$(HOST_BUILD)/host-obj/%.o)
HOST_CAGECTL := $(HOST_BUILD)/cagectl

# Includes that would tie the build to Linux: kernel UAPI headers and the Linux-only libraries.
HOST_FORBIDDEN := '^\s*\#\s*include\s*[<"](linux/|asm/|asm-generic/|bpf/|libnftnl/|libmnl/|cap-ng|seccomp|sys/(mount|prctl|capability|signalfd|epoll|reboot|syscall)\.h)'

.PHONY: host-only host-only-check
host-only: $(HOST_CAGECTL)

$(HOST_BUILD)/host-obj/%.o: %.c
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_CPPFLAGS) $(HOST_CFLAGS) -MMD -MP -c $< -o $@

$(HOST_CAGECTL): $(HOST_OBJS)
	$(HOST_CC) $(HOST_LDFLAGS) $^ $(HOST_LIBS) -o $@

# Every project file the host objects were compiled from (sources and the headers they pulled
# in, from the dependency files) is searched for a Linux-only include. The one exception is
# maps.h's <linux/types.h>, which must resolve to mk/host-include (checked in the .d files).
host-only-check: $(HOST_CAGECTL)
	@files=$$(cat $(HOST_OBJS:.o=.d) | tr ' \\' '\n\n' | sed -n 's/:$$//;/^[a-z][^/]*\//p' | \
		grep -v '^/' | sort -u); \
	if grep -nE $(HOST_FORBIDDEN) $$files | grep -v '^include/cage/maps.h:[0-9]*:#include <linux/types.h>$$'; then \
		echo "host-only-check: the files above include Linux-only headers"; exit 1; fi; \
	if cat $(HOST_OBJS:.o=.d) | tr ' \\' '\n\n' | grep -E '^/.*/(linux/types|bpf/|libnftnl/|libmnl/)'; then \
		echo "host-only-check: a kernel or Linux-library header was used (not mk/host-include)"; exit 1; fi; \
	if nm -u $(HOST_CAGECTL) | grep -E ' (bpf_|nftnl_|mnl_|capng_|seccomp_)'; then \
		echo "host-only-check: the binary needs a Linux-only library"; exit 1; fi; \
	echo "host-only-check: $$(echo $$files | wc -w) files, no Linux kernel header, no Linux-only library"

-include $(HOST_OBJS:.o=.d)
