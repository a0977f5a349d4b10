# minivmm: plain GNU make.
#
#   make              build ./minivmm (a static ppc64le binary; cross-compiled off POWER)
#   make check-unit   native unit tests under AddressSanitizer + UBSan (cmocka)
#   make check-boot   boot tests: real guests under KVM (inside an emulated POWER host off POWER)
#   make check        both (installs what it needs first)
#   make demo         boot the default guest to a shell prompt and watch it power off
#   make deps         install build/test dependencies (Debian packages, ppc64el libfdt)

HOST_ARCH := $(shell uname -m)
ifeq ($(filter ppc64le ppc64,$(HOST_ARCH)),)
CROSS_COMPILE ?= powerpc64le-linux-gnu-
endif
CC := $(CROSS_COMPILE)gcc
AS_BE := $(CROSS_COMPILE)as -mbig -a64
OBJCOPY := $(CROSS_COMPILE)objcopy

MINIVMM_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/minivmm
TRIPLET := $(patsubst %-,%,$(CROSS_COMPILE))
ifneq ($(CROSS_COMPILE),)
# libfdt for the target lives in a private sysroot (tests/host/deps.sh puts it there).
SYSROOT ?= $(MINIVMM_CACHE)/sysroot-$(if $(findstring le,$(TRIPLET)),ppc64el,ppc64)
FDT_CFLAGS := -I$(SYSROOT)/usr/include
FDT_LIBS := $(SYSROOT)/usr/lib/$(TRIPLET)/libfdt.a
else
FDT_LIBS := -l:libfdt.a
endif

VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
WARN := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wwrite-strings -Wmissing-prototypes \
        -Wno-missing-field-initializers
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=gnu11 $(WARN) $(CFLAGS) -fstack-protector-strong -D_GNU_SOURCE \
              -DMINIVMM_VERSION='"$(VERSION)"' $(FDT_CFLAGS) -MMD -MP
LDFLAGS ?=
ALL_LDFLAGS := -static -pthread -Wl,-z,noexecstack $(LDFLAGS)

B := build/target
# Portable parts: no KVM header, so they also build natively for the unit tests.
PORTABLE_SRCS := vmm/err.c vmm/mem.c vmm/loader.c vmm/machine.c vmm/cli.c vmm/term.c vmm/bus.c \
                 vmm/console.c vmm/report.c \
                 devices/vty.c devices/hcall.c devices/pci.c devices/virtq.c devices/virtio_pci.c \
                 devices/virtio_blk.c devices/virtio_console.c firmware/rtas.c fdt/fdt.c
# The KVM layer and what drives it: POWER only.
KVM_SRCS := vmm/kvm.c vmm/vcpu.c vmm/vm.c vmm/sandbox.c vmm/api.c vmm/main.c
OBJS := $(addprefix $(B)/,$(PORTABLE_SRCS:.c=.o) $(KVM_SRCS:.c=.o)) $(B)/firmware/rtas_blob.o

.PHONY: all clean check check-unit check-boot demo deps
all: minivmm

minivmm: $(OBJS)
	@test -f "$(FDT_LIBS)" -o -z "$(CROSS_COMPILE)" || \
	  { echo "missing $(FDT_LIBS): run 'make deps'" >&2; exit 1; }
	$(CC) $(ALL_CFLAGS) -o $@ $(OBJS) $(FDT_LIBS) $(ALL_LDFLAGS)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The RTAS stub is assembled big-endian (RTAS always runs BE) and embedded as a byte array,
# which builds the same for every target and for the native unit tests.
build/firmware/rtas.bin: firmware/rtas.S
	@mkdir -p $(dir $@)
	$(AS_BE) -o build/firmware/rtas.o $<
	$(OBJCOPY) -O binary -j .text build/firmware/rtas.o $@

build/firmware/rtas_blob.c: build/firmware/rtas.bin
	{ echo '/* Generated from firmware/rtas.S by the Makefile. */'; \
	  echo 'const unsigned char rtas_blob[] = {'; \
	  od -An -v -tx1 $< | sed -e 's/\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '};'; \
	  echo 'const unsigned int rtas_blob_size = sizeof(rtas_blob);'; } > $@

$(B)/firmware/rtas_blob.o: build/firmware/rtas_blob.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

deps:
	bash tests/host/deps.sh

# ---- native unit tests (AddressSanitizer + UBSan) ----
N := build/native
NATIVE_CC ?= gcc
SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
NATIVE_CFLAGS := -std=gnu11 $(WARN) -O1 -g $(SAN) -D_GNU_SOURCE -MMD -MP
UNIT_TESTS := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))
NATIVE_OBJS := $(addprefix $(N)/,$(PORTABLE_SRCS:.c=.o)) $(N)/firmware/rtas_blob.o

$(N)/%.o: %.c
	@mkdir -p $(dir $@)
	$(NATIVE_CC) $(NATIVE_CFLAGS) -c -o $@ $<

$(N)/firmware/rtas_blob.o: build/firmware/rtas_blob.c
	@mkdir -p $(dir $@)
	$(NATIVE_CC) $(NATIVE_CFLAGS) -c -o $@ $<

$(N)/tests/%: tests/unit/%.c $(NATIVE_OBJS)
	@mkdir -p $(dir $@)
	$(NATIVE_CC) $(NATIVE_CFLAGS) -Itests/unit -o $@ $< $(NATIVE_OBJS) -lfdt -lcmocka -pthread $(SAN)

check-unit: $(addprefix $(N)/tests/,$(UNIT_TESTS))
	@set -e; for t in $^; do echo "== $$t"; ASAN_OPTIONS=detect_leaks=1 $$t; done

check-boot: minivmm
	bash tests/boot/run.sh

check: deps
	$(MAKE) check-unit
	$(MAKE) check-boot

demo: deps
	$(MAKE) minivmm
	bash tests/host/demo.sh

clean:
	rm -rf build minivmm

# libFuzzer targets for the guest-facing parsers (make fuzz; a short run is part of check).
-include tests/fuzz/fuzz.mk

# Keep objects when a test fails, and rebuild tests when a header they include changes.
.SECONDARY:
-include $(OBJS:.o=.d) $(NATIVE_OBJS:.o=.d) $(wildcard $(N)/tests/*.d)
