# minivmm: plain GNU make.
#
#   make              build ./minivmm (a static ppc64le binary; cross-compiled off POWER)
#   make check-unit   native unit tests under AddressSanitizer + UBSan (cmocka)
#   make check-boot   boot tests: real guests under KVM (inside an emulated POWER host off POWER)
#   make check-fuzz   each libFuzzer target for 15 s (make fuzz FUZZ_SECONDS=N for longer)
#   make check        all of them (installs what it needs first)
#   make demo         boot the default guest to a shell prompt and watch it power off
#   make bench        minivmm against QEMU, side by side in the same emulated host
#   make deps         install build/test dependencies (Debian packages, ppc64el libfdt)
#   make lib          libminivmm.a, libminivmm.so and minivmm.pc (the embedding library)
#   make install      PREFIX=/usr/local (and DESTDIR=) : binary, library, header, pkg-config

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
# Release builds are small (unused sections dropped, symbols stripped); DEBUG=1 keeps
# everything a debugger wants.
ifeq ($(DEBUG),1)
CFLAGS ?= -O1 -g
STRIP_LDFLAGS :=
else
CFLAGS ?= -O2 -ffunction-sections -fdata-sections
STRIP_LDFLAGS := -Wl,--gc-sections -s
endif
ALL_CFLAGS := -std=gnu11 $(WARN) $(CFLAGS) -fstack-protector-strong -D_GNU_SOURCE \
              -DMINIVMM_VERSION='"$(VERSION)"' $(FDT_CFLAGS) -MMD -MP
LDFLAGS ?=
ALL_LDFLAGS := -static -pthread -Wl,-z,noexecstack $(STRIP_LDFLAGS) $(LDFLAGS)

B := build/target
# Portable parts: no KVM header, so they also build natively for the unit tests.
# Every device model is portable: a new one in devices/ is built without a line here.
PORTABLE_SRCS := vmm/err.c vmm/config.c vmm/options.c vmm/mem.c vmm/loader.c vmm/machine.c vmm/term.c vmm/bus.c \
                 vmm/console.c vmm/run_end.c vmm/report.c vmm/compat.c vmm/host.c vmm/stats.c vmm/gva.c \
                 vmm/layout.c vmm/civil.c vmm/ksym.c vmm/cpu_state.c vmm/cpio.c vmm/kmod.c \
                 vmm/rootfs.c vmm/initramfs.c \
                 $(sort $(wildcard devices/*.c)) firmware/rtas.c firmware/init_conf.c \
                 vmm/gdb_proto.c vmm/gdb_wire.c vmm/gdb_regs.c vmm/ppc_step.c vmm/gdb_listen.c fdt/fdt.c fdt/size.c
# The KVM layer and what drives it: POWER only.
KVM_SRCS := vmm/kvm.c vmm/probe.c vmm/check.c vmm/vcpu.c vmm/vcpu_state.c vmm/gdb_stub.c vmm/gdb_target.c vmm/vm.c vmm/mmu.c vmm/boot.c vmm/board.c vmm/run.c vmm/sandbox.c vmm/api.c vmm/api_config.c vmm/main.c
# The command: its options, usage text and main(), a client of the library.
CMD_SRCS := vmm/cli.c vmm/main.c
LIB_SRCS := $(PORTABLE_SRCS) $(filter-out vmm/main.c,$(KVM_SRCS))
LIB_OBJS := $(addprefix $(B)/,$(LIB_SRCS:.c=.o)) $(B)/firmware/rtas_blob.o $(B)/firmware/init_blob.o
PIC_OBJS := $(addprefix build/pic/,$(LIB_SRCS:.c=.o)) build/pic/firmware/rtas_blob.o \
            build/pic/firmware/init_blob.o
OBJS := $(LIB_OBJS) $(B)/vmm/main.o $(B)/vmm/cli.o
EXAMPLES := build/examples/run-in-vm build/examples/vm-sequence

.PHONY: all lib clean check check-unit check-boot demo bench deps install examples FORCE
all: minivmm

check-fdt-lib:
	@test -f "$(FDT_LIBS)" -o -z "$(CROSS_COMPILE)" || \
	  { echo "missing $(FDT_LIBS): run 'make deps'" >&2; exit 1; }

# The command is a client of the library, linked statically: one file to copy anywhere.
# Cross-built, it links musl when deps.sh has put Debian's ppc64el musl in the sysroot:
# static glibc alone weighs some 840 KiB on ppc64le, static musl a few tens. The library
# itself (libminivmm.a, .so) stays a glibc one, for the programs that link it. MUSL=0 links
# the command with glibc too, as a native build on POWER does (musl there is untried).
MUSL_LIBDIR := $(SYSROOT)/usr/lib/powerpc64le-linux-musl
MUSL ?= $(if $(and $(filter powerpc64le-linux-gnu-,$(CROSS_COMPILE)),$(wildcard $(MUSL_LIBDIR)/libc.a)),1,0)
M := build/musl
# Switching MUSL must relink the command even when no object changed: this file changes
# (and so is newer than the command) exactly when MUSL does.
LIBC_STAMP := build/libc.stamp
$(LIBC_STAMP): FORCE
	@mkdir -p build && echo $(MUSL) | cmp -s - $@ || echo $(MUSL) > $@
ifeq ($(MUSL),1)
MUSL_OBJS := $(addprefix $(M)/,$(LIB_SRCS:.c=.o) $(CMD_SRCS:.c=.o) firmware/rtas_blob.o \
                                firmware/init_blob.o)
# musl's own headers, then the kernel's (linux/kvm.h and friends), then GCC's own; musl
# threads get the stack size PT_GNU_STACK names (their default is 128 KiB).
KERNEL_HEADERS := /usr/powerpc64le-linux-gnu/include
MUSL_CFLAGS := -specs=$(M)/musl.specs -isystem $(M)/include
# -z norelro: musl protects no RELRO segment in a static, non-PIE program (only its dynamic
# linker does), and the segment's 64 KiB alignment would pad the file by up to 64 KiB.
minivmm: $(MUSL_OBJS) $(M)/musl.specs $(LIBC_STAMP) | check-fdt-lib
	$(CC) $(MUSL_CFLAGS) -o $@ $(MUSL_OBJS) $(FDT_LIBS) $(ALL_LDFLAGS) -Wl,-z,stack-size=1048576 \
	    -Wl,-z,norelro

# musl's gcc specs name its files under /usr: point them into the sysroot; and a directory
# holding only the kernel's header trees, so no glibc header is reachable.
$(M)/musl.specs: $(MUSL_LIBDIR)/musl-gcc.specs
	@mkdir -p $(M)/include
	ln -sfn $(KERNEL_HEADERS)/linux $(M)/include/linux
	ln -sfn $(KERNEL_HEADERS)/asm-generic $(M)/include/asm-generic
	ln -sfn $(KERNEL_HEADERS)/asm $(M)/include/asm
	sed -e 's|/usr/include/powerpc64le-linux-musl|$(SYSROOT)/usr/include/powerpc64le-linux-musl|g' \
	    -e 's|/usr/lib/powerpc64le-linux-musl|$(MUSL_LIBDIR)|g' $< > $@

$(M)/%.o: %.c $(M)/musl.specs
	@mkdir -p $(dir $@)
	$(CC) $(MUSL_CFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(M)/firmware/%_blob.o: build/firmware/%_blob.c $(M)/musl.specs
	@mkdir -p $(dir $@)
	$(CC) $(MUSL_CFLAGS) $(ALL_CFLAGS) -c -o $@ $<
else
minivmm: $(B)/vmm/main.o $(B)/vmm/cli.o libminivmm.a $(LIBC_STAMP)
	$(CC) $(ALL_CFLAGS) -o $@ $(filter %.o,$^) libminivmm.a $(ALL_LDFLAGS)
endif

lib: libminivmm.a libminivmm.so minivmm.pc

# libfdt's objects go into the archive too, so linking needs only libminivmm.a.
libminivmm.a: $(LIB_OBJS) | check-fdt-lib
	rm -rf $@ build/fdt-objs && mkdir -p build/fdt-objs
	cd build/fdt-objs && $(CROSS_COMPILE)ar x $(if $(CROSS_COMPILE),$(FDT_LIBS),$$($(CC) -print-file-name=libfdt.a))
	$(CROSS_COMPILE)ar rcs $@ $^ build/fdt-objs/*.o

# The shared library carries libfdt inside it, so users need only -lminivmm.
libminivmm.so: $(PIC_OBJS) | check-fdt-lib
	$(CC) -shared -Wl,-soname,libminivmm.so.1 -Wl,-z,noexecstack -Wl,--exclude-libs,ALL \
	    -o $@ $^ $(FDT_LIBS) -pthread

build/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fPIC -fvisibility=hidden -DMINIVMM_BUILD_SHARED -c -o $@ $<

build/pic/firmware/%_blob.o: build/firmware/%_blob.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fPIC -fvisibility=hidden -c -o $@ $<

PREFIX ?= /usr/local
minivmm.pc: FORCE
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$${prefix}/lib' 'includedir=$${prefix}/include' '' \
	  'Name: minivmm' 'Description: boot POWER pseries guests on KVM from C' 'Version: $(VERSION)' \
	  'Libs: -L$${libdir} -lminivmm' 'Libs.private: -pthread' 'Cflags: -I$${includedir}' > $@

install: minivmm lib
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include
	install -m 755 minivmm $(DESTDIR)$(PREFIX)/bin/minivmm
	install -m 644 libminivmm.a $(DESTDIR)$(PREFIX)/lib/libminivmm.a
	install -m 755 libminivmm.so $(DESTDIR)$(PREFIX)/lib/libminivmm.so.1
	ln -sf libminivmm.so.1 $(DESTDIR)$(PREFIX)/lib/libminivmm.so
	install -m 644 include/minivmm.h $(DESTDIR)$(PREFIX)/include/minivmm.h
	install -m 644 minivmm.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/minivmm.pc

# The examples are built the way a user would: against an installed copy, via pkg-config
# (static, so they can be copied into the emulated host alone).
STAGE := build/stage
build/examples/%: examples/%.c libminivmm.a include/minivmm.h
	$(MAKE) --no-print-directory install DESTDIR=$(CURDIR)/$(STAGE) PREFIX=/usr >/dev/null
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(WARN) -O2 -static -o $@ $< \
	  $$(PKG_CONFIG_SYSROOT_DIR=$(CURDIR)/$(STAGE) PKG_CONFIG_LIBDIR=$(CURDIR)/$(STAGE)/usr/lib/pkgconfig \
	     pkg-config --cflags --libs --static minivmm)
examples: $(EXAMPLES)

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

$(B)/firmware/%_blob.o: build/firmware/%_blob.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The guest init of --rootfs (firmware/init*.c): a static program with no libc, built for both
# byte orders by the one compiler (a POWER host needs no second one) and embedded as two byte
# arrays, which build the same for every target and for the native unit tests. Freestanding
# flags keep it a few tens of KiB: no stack protector or unwind tables to pull in, no
# builtins (nor loops turned into calls to memset). Its segments keep the 64 KiB alignment a
# 64 KiB-page guest needs (with 4 KiB, text and data shared a page, which the data's mapping
# made non-executable: init died at its first instruction), without padding the file.
INIT_SRCS := firmware/init.c firmware/init_run.c firmware/init_net.c firmware/init_conf.c
INIT_CFLAGS := -std=gnu11 $(WARN) -Os -ffreestanding -fno-builtin -fno-stack-protector \
               -fno-asynchronous-unwind-tables -fno-tree-loop-distribute-patterns -fno-ident \
               -ffunction-sections -fdata-sections -fno-pie
INIT_LDFLAGS := -nostdlib -static -no-pie -s -Wl,--gc-sections -Wl,-z,max-page-size=65536 \
                -Wl,-z,noseparate-code \
                -Wl,-z,norelro -Wl,-z,noexecstack -Wl,--build-id=none
INIT_BE_FLAGS := -mbig-endian -mabi=elfv1 -Wl,-EB
# init-test-le and init-test-be are the INIT_TEST builds for tests/host/init-qemu.sh.
INIT_BUILDS := build/firmware/init-le build/firmware/init-be build/firmware/init-test-le \
               build/firmware/init-test-be
$(INIT_BUILDS): build/firmware/init-%: $(INIT_SRCS) $(wildcard firmware/init*.h) devices/stdio_status.h \
                                       firmware/init_sys_check.c
	@mkdir -p $(dir $@)
	$(CC) $(INIT_CFLAGS) $(if $(findstring be,$*),$(INIT_BE_FLAGS)) -fsyntax-only \
	    firmware/init_sys_check.c
	$(CC) $(INIT_CFLAGS) $(if $(findstring be,$*),$(INIT_BE_FLAGS)) \
	    $(if $(findstring test,$*),-DINIT_TEST) -o $@ $(INIT_SRCS) $(INIT_LDFLAGS)

# The init run as far as a host without virtio lets it: under qemu-user off POWER, as root in
# a private mount namespace (the script says why it skips otherwise).
.PHONY: check-init
check-init: build/firmware/init-test-le build/firmware/init-test-be
	bash tests/host/init-qemu.sh

build/firmware/init_blob.c: build/firmware/init-le build/firmware/init-be
	{ echo '/* Generated from firmware/init*.c by the Makefile. */'; \
	  for e in le be; do \
	    echo "const unsigned char guest_init_$$e[] = {"; \
	    od -An -v -tx1 build/firmware/init-$$e | sed -e 's/\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	    echo '};'; \
	    echo "const unsigned int guest_init_$${e}_size = sizeof(guest_init_$$e);"; \
	  done; } > $@

deps:
	bash tests/host/deps.sh

# ---- native unit tests (AddressSanitizer + UBSan) ----
N := build/native
NATIVE_CC ?= gcc
SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
NATIVE_CFLAGS := -std=gnu11 $(WARN) -O1 -g $(SAN) -D_GNU_SOURCE -MMD -MP
UNIT_TESTS := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))
NATIVE_OBJS := $(addprefix $(N)/,$(PORTABLE_SRCS:.c=.o) vmm/cli.o) $(N)/firmware/rtas_blob.o \
               $(N)/firmware/init_blob.o

$(N)/%.o: %.c
	@mkdir -p $(dir $@)
	$(NATIVE_CC) $(NATIVE_CFLAGS) -c -o $@ $<

$(N)/firmware/%_blob.o: build/firmware/%_blob.c
	@mkdir -p $(dir $@)
	$(NATIVE_CC) $(NATIVE_CFLAGS) -c -o $@ $<

$(N)/tests/%: tests/unit/%.c $(NATIVE_OBJS)
	@mkdir -p $(dir $@)
	$(NATIVE_CC) $(NATIVE_CFLAGS) -Itests/unit -o $@ $< $(NATIVE_OBJS) -lfdt -lcmocka -pthread $(SAN)

check-unit: $(addprefix $(N)/tests/,$(UNIT_TESTS)) check-tsan
	@set -e; for t in $(filter $(N)/tests/%,$^); do echo "== $$t"; ASAN_OPTIONS=detect_leaks=1 $$t; done
	@bash tests/includes.sh
	@$(MAKE) --no-print-directory check-init
	@$(MAKE) --no-print-directory check-payload

# The unit tests whose code runs on several threads (console output and stopping, the end of
# a run, the disk's I/O threads, the 9p server's fid table, a command's stdin
# thread, the vsock device's thread, the consoles' queue threads, MSI-X signalled while the
# driver changes it), again under ThreadSanitizer.
TS := build/tsan
TSAN_TESTS := test_console test_run_end test_virtio_blk test_api_threads test_p9 test_virtio_9p \
              test_virtio_stdio test_virtio_net test_virtio_vsock_flow test_virtio_console \
              test_msix test_vq_workers
# (The virtqueue's fences order accesses the guest sees, which no sanitizer models: no warning.)
TSAN_CFLAGS := $(subst $(SAN),-fsanitize=thread,$(NATIVE_CFLAGS)) -Wno-tsan
TSAN_OBJS := $(addprefix $(TS)/,$(PORTABLE_SRCS:.c=.o)) $(TS)/firmware/rtas_blob.o \
             $(TS)/firmware/init_blob.o
$(TS)/%.o: %.c
	@mkdir -p $(dir $@)
	$(NATIVE_CC) $(TSAN_CFLAGS) -c -o $@ $<
$(TS)/firmware/%_blob.o: build/firmware/%_blob.c
	@mkdir -p $(dir $@)
	$(NATIVE_CC) $(TSAN_CFLAGS) -c -o $@ $<
$(TS)/tests/%: tests/unit/%.c $(TSAN_OBJS)
	@mkdir -p $(dir $@)
	$(NATIVE_CC) $(TSAN_CFLAGS) -Itests/unit -o $@ $< \
	  $(TSAN_OBJS) -lfdt -lcmocka -pthread -fsanitize=thread
.PHONY: check-tsan
check-tsan: $(addprefix $(TS)/tests/,$(TSAN_TESTS))
	@set -e; for t in $^; do echo "== $$t (ThreadSanitizer)"; TSAN_OPTIONS=halt_on_error=1 $$t; done

# The test payload (tests/payload/): a bare-metal pseries "kernel" that checks, from inside the
# guest, what minivmm owes a kernel at entry, in hcalls and in RTAS, and prints the
# minivmm-exit-code line. One compiler builds both byte orders, as for the init. Freestanding
# as the init is, and also without floating point or vector code: the payload runs with
# MSR[FP,VEC,VSX] off and no interrupt handlers, where one such instruction would kill it.
# Linked at 0, it runs wherever it is loaded; the rule links with the relocations kept (-q) so
# check-image.sh can prove every address in it relative, then drops them.
PAYLOAD_SRCS := tests/payload/start.S tests/payload/payload.c tests/payload/console.c \
                tests/payload/rtas.c tests/payload/dt.c
PAYLOAD_CFLAGS := -std=gnu11 $(WARN) -Os -ffreestanding -fno-builtin -fno-stack-protector \
                  -fno-asynchronous-unwind-tables -fno-tree-loop-distribute-patterns -fno-ident \
                  -fpie -mcmodel=medium -msoft-float -mno-altivec -mno-vsx
PAYLOAD_LDFLAGS := -nostdlib -static -no-pie -Wl,-T,tests/payload/payload.lds -Wl,--build-id=none \
                   -Wl,-z,max-page-size=4096 -Wl,-z,noexecstack -Wl,-q
PAYLOADS := build/tests/payload-le build/tests/payload-be
$(PAYLOADS): build/tests/payload-%: $(PAYLOAD_SRCS) tests/payload/payload.h tests/payload/dt.h \
                                    tests/payload/payload.lds tests/payload/check-image.sh
	@mkdir -p $(dir $@)
	$(CC) $(PAYLOAD_CFLAGS) $(if $(findstring be,$*),$(INIT_BE_FLAGS)) -o $@.linked \
	    $(PAYLOAD_SRCS) $(PAYLOAD_LDFLAGS)
	$(OBJCOPY) --remove-section='.rela*' $@.linked $@.tmp
	CROSS_COMPILE=$(CROSS_COMPILE) bash tests/payload/check-image.sh $* $@.linked $@.tmp
	mv $@.tmp $@
.PHONY: payload
payload: $(PAYLOADS)

# The payload's device-tree reader, natively under the sanitizers: on a tree dtc makes and on
# the trees minivmm builds. (The payload itself runs only in a guest: the boot tests.)
build/tests/payload-test.dtb: tests/payload/test.dts
	@mkdir -p $(dir $@)
	dtc -q -I dts -O dtb -o $@ $<
$(N)/tests/test_payload_dt: tests/payload/test_dt.c tests/payload/dt.c tests/payload/dt.h \
                            $(NATIVE_OBJS)
	@mkdir -p $(dir $@)
	$(NATIVE_CC) $(NATIVE_CFLAGS) -Itests/unit -o $@ tests/payload/test_dt.c tests/payload/dt.c \
	    $(NATIVE_OBJS) -lfdt -lcmocka -pthread $(SAN)
.PHONY: check-payload
check-payload: $(N)/tests/test_payload_dt build/tests/payload-test.dtb $(PAYLOADS)
	ASAN_OPTIONS=detect_leaks=1 $(N)/tests/test_payload_dt build/tests/payload-test.dtb

# dmtable creates the failing block device of a boot test (device-mapper, no dmsetup needed).
build/tests/dmtable: tests/host/dmtable.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(WARN) -O2 -static -s -o $@ $<

# blkzero zeroes a range of the guest's disk (write zeroes; busybox's blkdiscard has no -z).
build/tests/blkzero: tests/host/blkzero.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(WARN) -O2 -static -s -o $@ $<

# pipesize shrinks the pipe the stuck-stdout cases fill (a test tool, like dmtable).
build/tests/pipesize: tests/host/pipesize.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(WARN) -O2 -static -s -o $@ $<

# gdbpoke speaks the GDB protocol to --gdb in the emulated host, which has no gdb.
build/tests/gdbpoke: tests/host/gdbpoke.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(WARN) -O2 -static -s -o $@ $<

# noirqfd runs minivmm with KVM_IRQFD refused, the host branch of a KVM without irqfds.
build/tests/noirqfd: tests/host/noirqfd.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(WARN) -O2 -static -s -o $@ $<

# vsockxfer moves a checked pattern over vsock: in the guest (AF_VSOCK) and in the emulated
# host (the hybrid vsock's UNIX sockets); one static binary serves both.
build/tests/vsockxfer: tests/host/vsockxfer.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(WARN) -O2 -static -s -o $@ $<

# firstbyte runs a VMM until its first console output and reports the CPU time it took
# (the bench's start-up cost, in the emulated host).
build/tests/firstbyte: tests/host/firstbyte.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(WARN) -O2 -static -s -o $@ $<

# The test payload is built here, where the compiler is, for the boot tests to boot.
check-boot: minivmm $(EXAMPLES) build/tests/dmtable build/tests/blkzero build/tests/pipesize build/tests/gdbpoke \
            build/tests/vsockxfer build/tests/noirqfd $(PAYLOADS)
	bash tests/boot/run.sh

check: deps
	$(MAKE) check-unit
	$(MAKE) check-api
	$(MAKE) check-fuzz
	$(MAKE) check-boot

demo: deps
	$(MAKE) minivmm
	bash tests/host/demo.sh

# Programs for the test guest's initramfs (tests/guest/*.c). That guest runs Debian's ppc64el
# kernel, so they are little-endian whatever CROSS_COMPILE says (the big-endian guest's /init
# is built by tests/host/guest-be.sh).
GUEST_CC ?= $(if $(filter ppc64le,$(HOST_ARCH)),gcc,powerpc64le-linux-gnu-gcc)
build/guest/%: tests/guest/%.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) -std=gnu11 $(WARN) -O2 -static -s -o $@ $<

# minivmm against QEMU in the same emulated host (ROUNDS=5 alternating rounds by default).
bench: deps
	$(MAKE) minivmm build/guest/rtas-loop build/tests/vsockxfer build/tests/firstbyte
	bash tests/bench/run.sh

clean:
	rm -rf build minivmm libminivmm.a libminivmm.so minivmm.pc

# libFuzzer targets for the guest-facing parsers (make fuzz; a short run is part of check).
-include tests/fuzz/fuzz.mk
# The public API's misuse checks, run on the target (under qemu-user off POWER).
-include tests/api/api.mk

# Keep objects when a test fails, and rebuild tests when a header they include changes.
.SECONDARY:
-include $(OBJS:.o=.d) $(MUSL_OBJS:.o=.d) $(NATIVE_OBJS:.o=.d) $(wildcard $(N)/tests/*.d) \
         $(TSAN_OBJS:.o=.d) $(wildcard $(TS)/tests/*.d)
