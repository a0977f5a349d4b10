# libFuzzer targets for the guest-facing parsers (included by the top-level Makefile; paths
# are relative to the repository root).
#
#   make fuzz [FUZZ_SECONDS=60]         every target for FUZZ_SECONDS on a scratch copy of its
#                                       seed corpus; fails if any target crashed
#   make check-fuzz [FUZZ_SECONDS=15]   the same, short (part of make check)
#   make fuzz-build                     only build build/fuzz/fuzz_<name>
#   build/fuzz/fuzz_<name> FILE...      re-run single inputs (regressions, crash artifacts)
#
# Crash artifacts land in build/fuzz/artifacts/, logs in build/fuzz/logs/.

FUZZ_CC ?= clang
FUZZ_TARGETS := loader virtq virtio_blk virtio_console virtio_stdio virtio_net rtas hcall pci p9 gva gdb \
                virtio_vsock
FUZZ_B := build/fuzz
FUZZ_SAN := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
# Project sources get WARN without -Werror: a clang-only warning in them must not stop fuzzing.
FUZZ_CFLAGS := -g -O1 -std=gnu11 -D_GNU_SOURCE -fno-omit-frame-pointer $(FUZZ_SAN) -MMD -MP
FUZZ_LIBS := -lfdt -pthread
FUZZ_OBJS := $(addprefix $(FUZZ_B)/obj/,$(PORTABLE_SRCS:.c=.o)) $(FUZZ_B)/obj/rtas_blob.o \
             $(FUZZ_B)/obj/init_blob.o
FUZZ_BINS := $(addprefix $(FUZZ_B)/fuzz_,$(FUZZ_TARGETS))

.PHONY: fuzz check-fuzz fuzz-build
fuzz-build: $(FUZZ_BINS)

$(FUZZ_B)/obj/tests/fuzz/%.o: tests/fuzz/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(WARN) -c -o $@ $<

$(FUZZ_B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(filter-out -Werror,$(WARN)) -c -o $@ $<

$(FUZZ_B)/obj/%_blob.o: build/firmware/%_blob.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_BINS): $(FUZZ_B)/fuzz_%: $(FUZZ_B)/obj/tests/fuzz/fuzz_%.o $(FUZZ_OBJS)
	$(FUZZ_CC) $(FUZZ_SAN) -o $@ $^ $(FUZZ_LIBS)

fuzz: $(FUZZ_BINS)
	bash tests/fuzz/run.sh $(or $(FUZZ_SECONDS),60) $(FUZZ_TARGETS)

check-fuzz: $(FUZZ_BINS)
	bash tests/fuzz/run.sh $(or $(FUZZ_SECONDS),15) $(FUZZ_TARGETS)

-include $(wildcard $(FUZZ_B)/obj/*.d $(FUZZ_B)/obj/*/*.d $(FUZZ_B)/obj/*/*/*.d)
