#include "msix.h"

#include <string.h>

#include "../vmm/machine.h"
#include "pci.h"

#define PCI_CAP_ID_MSIX 0x11
#define CTRL_ENABLE 0x8000
#define CTRL_FUNCTION_MASK 0x4000
#define VECTOR_MASKED 0x1            /* in an entry's vector control word */
enum { ADDR_LO, ADDR_HI, DATA, VECTOR_CTRL };

static void put_le32(uint8_t *p, uint32_t v)
{
    for (unsigned i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int msix_init(struct msix *x, struct machine *m, struct pci_device *d, uint16_t nvec,
              uint32_t table_off, uint32_t pba_off)
{
    if (nvec == 0 || nvec > MSIX_MAX_VECTORS || (table_off | pba_off) & 7)
        return -1;
    memset(x, 0, sizeof(*x));
    x->m = m;
    x->dev = d;
    x->nvec = nvec;
    x->first_irq = PCI_MSI_BASE + (uint32_t)d->slot * MSIX_MAX_VECTORS;
    for (unsigned i = 0; i < nvec; i++)
        x->table[i][VECTOR_CTRL] = VECTOR_MASKED;
    /* Table size (N-1) in the control word; table and pending bits in BAR 0 (BIR 0). */
    uint8_t cap[12] = {PCI_CAP_ID_MSIX, 0, (uint8_t)(nvec - 1), (uint8_t)((nvec - 1) >> 8)};
    put_le32(cap + 4, table_off);
    put_le32(cap + 8, pba_off);
    int off = pci_add_capability(d, cap, sizeof(cap));
    if (off < 0)
        return -1;
    x->cap = (uint16_t)off;
    /* Only the enable and function-mask bits are the driver's to change. */
    d->cfg_wmask[off + 3] = (CTRL_ENABLE | CTRL_FUNCTION_MASK) >> 8;
    d->msix = x;
    pthread_mutex_init(&x->lock, NULL);
    return 0;
}

void msix_destroy(struct msix *x)
{
    pthread_mutex_destroy(&x->lock);
}

static bool masked_locked(const struct msix *x, unsigned vec)
{
    return x->function_masked || (x->table[vec][VECTOR_CTRL] & VECTOR_MASKED);
}

/* Sends vector vec's message if it is one the firmware gave this function and the function
 * may write to memory (Bus Master Enable). */
static void send_locked(struct msix *x, unsigned vec)
{
    const uint32_t *e = x->table[vec];
    uint64_t addr = (uint64_t)e[ADDR_HI] << 32 | e[ADDR_LO];
    if (pci_bus_master(x->dev) && vec < x->assigned && addr == MSIX_MSG_ADDR &&
        e[DATA] == x->first_irq + vec &&
        x->m->ops->msi(x->m, e[DATA]) == 0) {
        x->sent++;
        __atomic_add_fetch(&x->m->msi_sent, 1, __ATOMIC_RELAXED);
    } else {
        __atomic_add_fetch(&x->m->msi_dropped, 1, __ATOMIC_RELAXED);
    }
}

/* Sends what waited for an unmask. */
static void flush_locked(struct msix *x)
{
    if (!x->enabled)
        return;
    for (unsigned i = 0; i < x->nvec; i++)
        if ((x->pending & 1ULL << i) && !masked_locked(x, i)) {
            x->pending &= ~(1ULL << i);
            send_locked(x, i);
        }
}

void msix_config_written(struct msix *x)
{
    const struct pci_device *d = x->dev;
    /* Read under the lock: of two writes racing, the one whose hook runs last sees both
     * stores, so the state kept here ends as config space says. */
    pthread_mutex_lock(&x->lock);
    uint16_t ctrl = (uint16_t)(pci_cfg_byte(d, x->cap + 2u) | pci_cfg_byte(d, x->cap + 3u) << 8);
    x->enabled = ctrl & CTRL_ENABLE;
    x->function_masked = ctrl & CTRL_FUNCTION_MASK;
    flush_locked(x);
    pthread_mutex_unlock(&x->lock);
}

/* One aligned 32-bit word of the table. */
static void table_word(struct msix *x, uint32_t word, uint8_t *data, bool is_write)
{
    unsigned vec = word / 4, field = word % 4;
    if (!is_write) {
        put_le32(data, x->table[vec][field]);
        return;
    }
    uint32_t val = get_le32(data);
    if (field == VECTOR_CTRL) {
        /* Only the mask bit is defined; an unmask sends what is pending. */
        x->table[vec][field] = val & VECTOR_MASKED;
        flush_locked(x);
    } else {
        x->table[vec][field] = val;
    }
}

void msix_table_access(struct msix *x, uint32_t off, uint8_t *data, uint32_t len, bool is_write)
{
    /* Dword or qword accesses, aligned (the PCI specification's rule); others read zero. */
    if ((len != 4 && len != 8) || off % len || off >= MSIX_TABLE_SIZE(x->nvec)) {
        if (!is_write)
            memset(data, 0, len);
        return;
    }
    pthread_mutex_lock(&x->lock);
    for (uint32_t i = 0; i < len; i += 4)
        table_word(x, (off + i) / 4, data + i, is_write);
    pthread_mutex_unlock(&x->lock);
}

void msix_pba_read(struct msix *x, uint32_t off, uint8_t *data, uint32_t len)
{
    pthread_mutex_lock(&x->lock);
    uint64_t bits = x->pending;
    pthread_mutex_unlock(&x->lock);
    for (uint32_t i = 0; i < len; i++)
        data[i] = off + i < MSIX_PBA_SIZE ? (uint8_t)(bits >> (8 * (off + i))) : 0;
}

bool msix_enabled(struct msix *x)
{
    pthread_mutex_lock(&x->lock);
    bool on = x->enabled;
    pthread_mutex_unlock(&x->lock);
    return on;
}

bool msix_notify(struct msix *x, uint16_t vec)
{
    pthread_mutex_lock(&x->lock);
    bool on = x->enabled;
    if (!on || vec >= x->nvec) {
        /* INTx for the caller, or no vector at all: nothing to do here */
    } else if (masked_locked(x, vec)) {
        x->pending |= 1ULL << vec;
    } else {
        send_locked(x, vec);
    }
    pthread_mutex_unlock(&x->lock);
    return on;
}

unsigned msix_assign(struct msix *x, unsigned n)
{
    if (n > x->nvec)
        n = x->nvec;
    pthread_mutex_lock(&x->lock);
    for (unsigned i = 0; i < x->nvec; i++) {
        uint32_t *e = x->table[i];
        bool on = i < n;
        e[ADDR_LO] = on ? (uint32_t)MSIX_MSG_ADDR : 0;
        e[ADDR_HI] = on ? (uint32_t)(MSIX_MSG_ADDR >> 32) : 0;
        e[DATA] = on ? x->first_irq + i : 0;
        if (!on)
            x->pending &= ~(1ULL << i);
    }
    x->assigned = (uint16_t)n;
    pthread_mutex_unlock(&x->lock);
    return n;
}

int64_t msix_source(struct msix *x, unsigned vec)
{
    pthread_mutex_lock(&x->lock);
    int64_t irq = vec < x->assigned ? (int64_t)(x->first_irq + vec) : -1;
    pthread_mutex_unlock(&x->lock);
    return irq;
}
