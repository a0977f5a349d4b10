/* kernel_parse() on the input as a vmlinux; what parses is placed where minivmm would put it
 * (kernel_place) and loaded into 1 MiB of guest RAM. A successful parse, and a successful
 * placement, must also describe an image that keeps the promises of loader.h. */
#include <stdint.h>
#include <stdlib.h>

#include "../../vmm/err.h"
#include "../../vmm/loader.h"
#include "../../vmm/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define RAM (1u << 20)

static struct guest_mem mem;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    mem = (struct guest_mem){.host = calloc(1, RAM), .size = RAM, .page_size = 4096};
    if (!mem.host)
        abort();
    return 0;
}

/* Segments inside the file and below `end`, the entry point inside loaded bytes. */
static void check(const struct kernel_image *k, size_t size)
{
    bool entry_ok = false;
    if (k->nseg == 0 || k->nseg > KERNEL_MAX_SEGMENTS)
        abort();
    for (unsigned i = 0; i < k->nseg; i++) {
        const struct kernel_segment *s = &k->seg[i];
        if (s->filesz > s->memsz || s->offset > size || s->filesz > size - s->offset ||
            s->paddr + s->memsz < s->paddr || s->paddr + s->memsz > k->end)
            abort();
        entry_ok |= k->entry >= s->paddr && k->entry - s->paddr < s->filesz;
    }
    if (!entry_ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kernel_image k;
    struct mvm_err e = {0};
    if (kernel_parse(&k, data, size, "vmlinux", &e) == 0) {
        check(&k, size);
        e.msg[0] = '\0';
        if (kernel_place(&k, false, 0, "vmlinux", &e) == 0) {
            check(&k, size);
            kernel_load(&k, &(struct file_map){data, size, -1}, &mem, "vmlinux", &e);
        } else if (e.msg[0] == '\0') {
            abort();
        }
    } else if (e.msg[0] == '\0') {
        abort();   /* every failure explains itself */
    }
    return 0;
}
