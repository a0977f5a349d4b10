# The public library API under misuse (tests/api/api_misuse.c): a plain C program linked
# statically against libminivmm.a for the target, run natively on POWER and under qemu-user
# elsewhere, as every kind of host this machine can pretend to be (tests/api/ways.sh: /dev/kvm
# present or not, root or not). Included from the top-level Makefile: make check-api.

API_MISUSE := build/api/api_misuse
# qemu-user for the target's byte order (off POWER only).
API_QEMU ?= $(if $(filter powerpc64-%,$(CROSS_COMPILE)),qemu-ppc64-static,qemu-ppc64le-static)

$(API_MISUSE): tests/api/api_misuse.c libminivmm.a include/minivmm.h
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(WARN) -O1 -static -Iinclude -o $@ $< libminivmm.a -pthread

.PHONY: check-api
check-api: $(API_MISUSE) minivmm
	@case "$$(uname -m)" in \
	ppc64le|ppc64) bash tests/api/ways.sh ./$(API_MISUSE) && bash tests/api/initramfs.sh ./minivmm ;; \
	*) if ! command -v $(API_QEMU) >/dev/null 2>&1; then \
	       echo "check-api: $(API_QEMU) not found: install the qemu-user-static package (or run on POWER)" >&2; \
	       exit 1; \
	   fi; \
	   bash tests/api/ways.sh $$(command -v $(API_QEMU)) $(CURDIR)/$(API_MISUSE) && \
	   bash tests/api/initramfs.sh $$(command -v $(API_QEMU)) ./minivmm ;; \
	esac
