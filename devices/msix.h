/* MSI-X for a function on the sPAPR PHB: the capability in config space, the vector table and
 * pending-bit array in a BAR, and the message each vector sends.
 *
 * On pseries the guest never chooses a message itself: it asks the firmware for N vectors
 * (RTAS ibm,change-msi), which writes each table entry (an address and, as data, the XICS
 * source the vector raises), and reads them back (ibm,query-interrupt-source-number and the
 * table). minivmm is the firmware, so the sources are fixed per slot (PCI_MSI_BASE) and a
 * vector's message is checked against them before it is sent: a guest that writes another
 * message into the table gets nothing raised, not someone else's interrupt.
 *
 * Sending is the machine's (machine_ops.msi: KVM's XICS through an irqfd, or minivmm's own
 * XICS). A masked vector (its entry's mask bit, or the function mask) sets its pending bit
 * instead, and sends when unmasked, as the PCI specification requires. A function whose
 * driver cleared Bus Master Enable sends nothing: a message is a write to memory, which the
 * function may not do then, so it is dropped and counted, as QEMU drops it (a kernel that
 * quiesces its devices before a kexec gets no late interrupt).
 *
 * One mutex guards it all; it is taken inside the device's own lock (never the other way
 * round), a message goes to the machine with it held (so the XICS's lock nests inside it), and
 * nothing here calls back into the device.
 */
#ifndef MINIVMM_MSIX_H
#define MINIVMM_MSIX_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct machine;
struct pci_device;

#define MSIX_MAX_VECTORS 16          /* also each slot's share of XICS sources (PCI_MSI_BASE) */
#define MSIX_ENTRY_SIZE 16
#define MSIX_TABLE_SIZE(n) ((uint32_t)(n) * MSIX_ENTRY_SIZE)
#define MSIX_PBA_SIZE 8              /* one 64-bit word: up to 64 vectors, we have 16 */
/* Where a message is addressed. Nothing decodes it (the devices are emulated: minivmm sends
 * their messages itself); the firmware writes it so the guest reads a sane table back. */
#define MSIX_MSG_ADDR 0x40000000000ULL

struct msix {
    struct machine *m;
    const struct pci_device *dev;    /* its config space: the control word, Bus Master Enable */
    pthread_mutex_t lock;
    uint16_t nvec;                   /* the table's size */
    uint16_t cap;                    /* config offset of the capability */
    uint32_t first_irq;              /* the XICS source of vector 0 (PCI_MSI_BASE + ...) */
    uint16_t assigned;               /* vectors the firmware set up (ibm,change-msi) */
    bool enabled, function_masked;   /* the capability's control bits, as last written */
    uint32_t table[MSIX_MAX_VECTORS][4];   /* address lo, hi, data, vector control */
    uint64_t pending;
    uint64_t sent;                   /* messages the machine took */
};

/* Sets up MSI-X with nvec vectors (1..MSIX_MAX_VECTORS) for d: the capability, pointing at
 * the table at table_off and the pending bits at pba_off in BAR 0. All vectors masked, MSI-X
 * off, as after a PCI reset. Returns 0 or -1 (no room in config space, bad count). */
int msix_init(struct msix *x, struct machine *m, struct pci_device *d, uint16_t nvec,
              uint32_t table_off, uint32_t pba_off);
void msix_destroy(struct msix *x);

/* The guest wrote the function's config space (the capability's control word may have
 * changed). */
void msix_config_written(struct msix *x);
/* Accesses to the table (off within it, < MSIX_TABLE_SIZE(nvec)) and to the pending bits. */
void msix_table_access(struct msix *x, uint32_t off, uint8_t *data, uint32_t len, bool is_write);
void msix_pba_read(struct msix *x, uint32_t off, uint8_t *data, uint32_t len);

/* Whether the driver turned MSI-X on (the device then signals through vectors, not INTx). */
bool msix_enabled(struct msix *x);
/* Signals vector `vec`: sends its message, or sets its pending bit if it is masked; a vector
 * the table does not have (VIRTIO_MSI_NO_VECTOR: the driver wants none) sends nothing, and a
 * message that is not one the firmware gave, or one from a function without Bus Master
 * Enable, is dropped (and counted). Returns false, having done nothing, if MSI-X is off: the
 * caller signals by INTx instead. Deciding that under the same lock as the send means a
 * driver turning MSI-X off meanwhile loses no interrupt. */
bool msix_notify(struct msix *x, uint16_t vec);

/* The firmware's side (RTAS): gives the function n vectors, 0 taking them all back; writes
 * their messages into the table. Returns how many it now has (n clamped to the table). */
unsigned msix_assign(struct msix *x, unsigned n);
/* The XICS source of assigned vector `vec`, or -1. */
int64_t msix_source(struct msix *x, unsigned vec);

#endif
