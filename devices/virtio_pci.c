#include "virtio_pci.h"

#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "../vmm/machine.h"

/* BAR 0 layout: the common configuration (the structure of the virtio spec, as Linux's uapi
 * header has it), the ISR byte, the device configuration, one notify register per queue, the
 * MSI-X table and pending bits. */
#define BAR_SIZE 0x1000
#define COMMON_OFF 0x000
#define COMMON_LEN (offsetof(struct virtio_pci_common_cfg, queue_used_hi) + 4)
#define ISR_OFF 0x100
#define DEVICE_OFF 0x200
#define NOTIFY_OFF 0x300
#define NOTIFY_MULT 4
#define MSIX_TABLE_OFF 0x800
#define MSIX_PBA_OFF 0xc00
/* A vector per queue and one for configuration changes, each with its XICS source. */
_Static_assert(VIRTIO_MAX_QUEUES + 1 <= MSIX_MAX_VECTORS, "more vectors than a slot's sources");

/* A field's offset in the common configuration. */
#define CC(field) offsetof(struct virtio_pci_common_cfg, field)

#define PCI_CAP_ID_VNDR 0x09

/* A vendor capability pointing at one structure in BAR 0 (the notify one carries the
 * multiplier as well). */
static void add_cap(struct pci_device *d, uint8_t type, uint32_t off, uint32_t len)
{
    struct virtio_pci_notify_cap cap = {
        .cap = {.cap_vndr = PCI_CAP_ID_VNDR, .cfg_type = type, .bar = 0,
                .offset = htole32(off), .length = htole32(len)},
        .notify_off_multiplier = htole32(NOTIFY_MULT),
    };
    cap.cap.cap_len = type == VIRTIO_PCI_CAP_NOTIFY_CFG ? sizeof(cap) : sizeof(cap.cap);
    pci_add_capability(d, (const uint8_t *)&cap, cap.cap.cap_len);
}

/* Every device gets the ring features virtq.c implements: each device's waits for a
 * notification come after virtq_pop() found its queue empty, or ask (virtq_ask_kick). */
static uint64_t offered(const struct virtio_dev *v)
{
    return v->ops->features | v->extra_features | VIRTQ_FEATURES | 1ULL << VIRTIO_F_VERSION_1;
}

/* The queues follow the ring features the driver accepted with FEATURES_OK; without it they
 * behave as without either (a driver that sets up queues first gets that too). Ring sizes do
 * not depend on them (virtq_check_rings), so they may change under a live queue. */
static void set_ring_features(struct virtio_dev *v)
{
    uint64_t f = (v->status & VIRTIO_CONFIG_S_FEATURES_OK) ? v->drv_features : 0;
    for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
        v->vq[i].indirect = f & 1ULL << VIRTIO_RING_F_INDIRECT_DESC;
        v->vq[i].event_idx = f & 1ULL << VIRTIO_RING_F_EVENT_IDX;
    }
}

static void lower_line_locked(struct virtio_dev *v)
{
    if (v->line) {
        v->line = false;
        v->m->ops->irq_set(v->m, v->pci.irq, 0);
    }
}

static void raise_line_locked(struct virtio_dev *v)
{
    if (!v->line && !pci_intx_disabled(&v->pci)) {
        v->line = true;
        __atomic_add_fetch(&v->m->intx_raised, 1, __ATOMIC_RELAXED);
        v->m->ops->irq_set(v->m, v->pci.irq, 1);
    }
}

/* Signals the driver: with MSI-X on, vector vec (none: nothing, the driver polls); else the
 * ISR bit and INTx. A configuration change sets its ISR bit either way (the spec's rule). */
static void signal_locked(struct virtio_dev *v, uint8_t isr_bit, uint16_t vec)
{
    if (msix_notify(&v->msix, vec)) {
        v->isr |= isr_bit & VIRTIO_ISR_CONFIG;
        return;
    }
    v->isr |= isr_bit;
    raise_line_locked(v);
}

/* A vector the driver names for the configuration or a queue: one the table has, or none. */
static uint16_t vector(const struct virtio_dev *v, uint32_t val)
{
    return val < v->msix.nvec ? (uint16_t)val : VIRTIO_MSI_NO_VECTOR;
}

/* Called with the lock held; the device-model reset runs after it is dropped. */
static void reset_locked(struct virtio_dev *v)
{
    v->dev_feature_sel = v->drv_feature_sel = 0;
    v->drv_features = 0;
    v->status = 0;
    v->queue_sel = 0;
    v->config_vector = VIRTIO_MSI_NO_VECTOR;
    for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
        v->vq[i] = (struct virtq){.size = VIRTQ_MAX_SIZE};
        v->queue_vector[i] = VIRTIO_MSI_NO_VECTOR;
    }
    v->isr = 0;
    lower_line_locked(v);
}

static struct virtq *selected(struct virtio_dev *v)
{
    return v->queue_sel < v->ops->num_queues ? &v->vq[v->queue_sel] : NULL;
}

/* Each field is accessed at its own offset with its own width (64-bit ones as two halves). */
static uint32_t common_read(struct virtio_dev *v, uint32_t off)
{
    struct virtq *q = selected(v);
    switch (off) {
    case CC(device_feature_select): return v->dev_feature_sel;
    case CC(device_feature):
        return v->dev_feature_sel < 2 ? (uint32_t)(offered(v) >> (32 * v->dev_feature_sel)) : 0;
    case CC(guest_feature_select): return v->drv_feature_sel;
    case CC(guest_feature):
        return v->drv_feature_sel < 2 ? (uint32_t)(v->drv_features >> (32 * v->drv_feature_sel)) : 0;
    case CC(msix_config): return v->config_vector;
    case CC(num_queues): return v->ops->num_queues;
    case CC(device_status): return v->status;
    case CC(config_generation): return v->config_generation;
    case CC(queue_select): return v->queue_sel;
    case CC(queue_size): return q ? q->size : 0;
    case CC(queue_msix_vector): return q ? v->queue_vector[v->queue_sel] : VIRTIO_MSI_NO_VECTOR;
    case CC(queue_enable): return q ? q->ready : 0;
    case CC(queue_notify_off): return q ? v->queue_sel : 0;
    case CC(queue_desc_lo): return q ? (uint32_t)q->desc : 0;
    case CC(queue_desc_hi): return q ? (uint32_t)(q->desc >> 32) : 0;
    case CC(queue_avail_lo): return q ? (uint32_t)q->avail : 0;
    case CC(queue_avail_hi): return q ? (uint32_t)(q->avail >> 32) : 0;
    case CC(queue_used_lo): return q ? (uint32_t)q->used : 0;
    case CC(queue_used_hi): return q ? (uint32_t)(q->used >> 32) : 0;
    default: return 0;
    }
}

static void set_half(uint64_t *field, uint32_t off, uint32_t val)
{
    if (off % 8)
        *field = (*field & 0xffffffffULL) | (uint64_t)val << 32;
    else
        *field = (*field & ~0xffffffffULL) | val;
}

/* Signals a configuration change (with the lock held). */
static void config_interrupt_locked(struct virtio_dev *v)
{
    signal_locked(v, VIRTIO_ISR_CONFIG, v->config_vector);
}

/* Stops the device until the driver resets it (with the lock held). */
void virtio_set_broken_locked(struct virtio_dev *v)
{
    __atomic_add_fetch(&v->m->broken_rings, 1, __ATOMIC_RELAXED);
    v->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
    for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
        v->vq[i].ready = false;
    config_interrupt_locked(v);
}

enum after_write { AFTER_NOTHING, AFTER_RESET, AFTER_DRIVER_OK };

/* Returns what must happen once the lock is dropped. */
static enum after_write common_write(struct virtio_dev *v, uint32_t off, uint32_t val)
{
    struct virtq *q = selected(v);
    switch (off) {
    case CC(device_feature_select): v->dev_feature_sel = val; break;
    case CC(guest_feature_select): v->drv_feature_sel = val; break;
    case CC(guest_feature):
        if (v->drv_feature_sel < 2 && !(v->status & VIRTIO_CONFIG_S_FEATURES_OK))
            set_half(&v->drv_features, v->drv_feature_sel ? 4 : 0, val);
        break;
    case CC(device_status): {
        val &= 0xff;
        if (val == 0) {
            reset_locked(v);
            return AFTER_RESET;
        }
        /* FEATURES_OK sticks only for a subset of what we offered that includes VERSION_1:
         * the driver reads it back to learn whether we accepted. */
        if ((val & VIRTIO_CONFIG_S_FEATURES_OK) && !(v->status & VIRTIO_CONFIG_S_FEATURES_OK) &&
            ((v->drv_features & ~offered(v)) || !(v->drv_features & 1ULL << VIRTIO_F_VERSION_1)))
            val &= ~VIRTIO_CONFIG_S_FEATURES_OK;
        bool was_ok = v->status & VIRTIO_CONFIG_S_DRIVER_OK;
        /* NEEDS_RESET is the device's to set, never the driver's. */
        v->status = (uint8_t)((val & ~VIRTIO_CONFIG_S_NEEDS_RESET) |
                              (v->status & VIRTIO_CONFIG_S_NEEDS_RESET));
        set_ring_features(v);
        if (!was_ok && (v->status & VIRTIO_CONFIG_S_DRIVER_OK))
            return AFTER_DRIVER_OK;
        break;
    }
    case CC(queue_select): v->queue_sel = (uint16_t)val; break;
    /* The driver reads a vector back to learn whether the device took it. */
    case CC(msix_config): v->config_vector = vector(v, val); break;
    case CC(queue_msix_vector):
        if (q)
            v->queue_vector[v->queue_sel] = vector(v, val);
        break;
    case CC(queue_size):
        if (q && !q->ready && val && val <= VIRTQ_MAX_SIZE && !(val & (val - 1)))
            q->size = (uint16_t)val;
        break;
    case CC(queue_enable):
        if (q && !q->ready && (val & 1)) {
            if (virtq_check_rings(q, &v->m->mem) == 0) {
                q->ready = true;
                q->last_avail = q->used_idx = q->signalled_used = 0;
            } else {
                virtio_set_broken_locked(v);
            }
        }
        break;
    case CC(queue_desc_lo): case CC(queue_desc_hi):
        if (q && !q->ready) set_half(&q->desc, off, val);
        break;
    case CC(queue_avail_lo): case CC(queue_avail_hi):
        if (q && !q->ready) set_half(&q->avail, off, val);
        break;
    case CC(queue_used_lo): case CC(queue_used_hi):
        if (q && !q->ready) set_half(&q->used, off, val);
        break;
    default: break;   /* read-only */
    }
    return AFTER_NOTHING;
}

static uint32_t le_bytes(const uint8_t *data, uint32_t len)
{
    uint32_t v = 0;
    for (uint32_t i = 0; i < len && i < 4; i++)
        v |= (uint32_t)data[i] << (8 * i);
    return v;
}

static void put_le(uint8_t *data, uint32_t len, uint32_t v)
{
    for (uint32_t i = 0; i < len; i++)
        data[i] = i < 4 ? (uint8_t)(v >> (8 * i)) : 0;
}

static void bar_access(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
    struct pci_device *d = opaque;
    struct virtio_dev *v = (struct virtio_dev *)((char *)d - offsetof(struct virtio_dev, pci));

    if (off >= MSIX_TABLE_OFF && off < MSIX_TABLE_OFF + MSIX_TABLE_SIZE(v->msix.nvec)) {
        msix_table_access(&v->msix, (uint32_t)(off - MSIX_TABLE_OFF), data, len, is_write);
        return;
    }
    if (off >= MSIX_PBA_OFF && off < MSIX_PBA_OFF + MSIX_PBA_SIZE) {
        if (!is_write)   /* the pending bits are read-only */
            msix_pba_read(&v->msix, (uint32_t)(off - MSIX_PBA_OFF), data, len);
        return;
    }
    if (off >= NOTIFY_OFF && off < NOTIFY_OFF + NOTIFY_MULT * VIRTIO_MAX_QUEUES) {
        if (is_write && (off - NOTIFY_OFF) % NOTIFY_MULT == 0) {
            uint16_t q = (uint16_t)((off - NOTIFY_OFF) / NOTIFY_MULT);
            if (q < v->ops->num_queues)
                v->ops->notify(v, q);
        } else if (!is_write) {
            put_le(data, len, 0);
        }
        return;
    }

    enum after_write after = AFTER_NOTHING;
    pthread_mutex_lock(&v->lock);
    if (off < COMMON_LEN) {
        /* Fields are 1, 2 or 4 bytes wide and naturally aligned; 64-bit ones are written as
         * two 32-bit halves. Anything else is ignored (reads as zero). */
        if (len <= 4 && off % len == 0) {
            if (is_write)
                after = common_write(v, (uint32_t)off, le_bytes(data, len));
            else
                put_le(data, len, common_read(v, (uint32_t)off));
        } else if (!is_write) {
            put_le(data, len, 0);
        }
    } else if (off == ISR_OFF && len == 1) {
        if (!is_write) {
            data[0] = v->isr;   /* reading acknowledges the interrupt */
            v->isr = 0;
            lower_line_locked(v);
        }
    } else if (off >= DEVICE_OFF && off - DEVICE_OFF < v->ops->config_size &&
               len <= v->ops->config_size - (off - DEVICE_OFF)) {
        if (!is_write)   /* device configuration is read-only for every device we have */
            v->ops->config_read(v, (uint32_t)(off - DEVICE_OFF), data, len);
    } else if (!is_write) {
        memset(data, 0xff, len);
    }
    pthread_mutex_unlock(&v->lock);
    if (after == AFTER_RESET) {
        v->ops->reset(v);
    } else if (after == AFTER_DRIVER_OK) {
        /* Buffers the driver queued (and notified) before DRIVER_OK were left alone, as the
         * spec requires; now is the time to look at them. */
        for (uint16_t q = 0; q < v->ops->num_queues; q++)
            v->ops->notify(v, q);
    }
}

/* MSI-X turned on, or INTx disabled: the line is no longer the device's to hold up. Back on
 * INTx with something in the ISR (a message that came as MSI-X went off): up it goes. */
static void config_written(struct pci_device *d, uint32_t off, uint32_t len)
{
    (void)off, (void)len;
    struct virtio_dev *v = (struct virtio_dev *)((char *)d - offsetof(struct virtio_dev, pci));
    pthread_mutex_lock(&v->lock);
    if (msix_enabled(&v->msix) || pci_intx_disabled(d))
        lower_line_locked(v);
    else if (v->isr)
        raise_line_locked(v);
    pthread_mutex_unlock(&v->lock);
}

static const struct pci_device_ops virtio_pci_ops = {.bar_access = bar_access,
                                                     .config_written = config_written};

int virtio_pci_init(struct virtio_dev *v, struct machine *m, const struct virtio_ops *ops)
{
    v->ops = ops;
    v->m = m;
    pthread_mutex_init(&v->lock, NULL);
    reset_locked(v);
    v->pci.ops = &virtio_pci_ops;
    v->pci.opaque = v;
    int r = pci_add_device(m->pci, &m->bus, &v->pci, 0x1af4, (uint16_t)(0x1040 + ops->device_id),
                           ops->pci_class, 0x1af4, (uint16_t)ops->device_id, BAR_SIZE);
    if (r)
        return r;
    add_cap(&v->pci, VIRTIO_PCI_CAP_COMMON_CFG, COMMON_OFF, COMMON_LEN);
    add_cap(&v->pci, VIRTIO_PCI_CAP_ISR_CFG, ISR_OFF, 1);
    add_cap(&v->pci, VIRTIO_PCI_CAP_NOTIFY_CFG, NOTIFY_OFF, NOTIFY_MULT * VIRTIO_MAX_QUEUES);
    if (ops->config_size)
        add_cap(&v->pci, VIRTIO_PCI_CAP_DEVICE_CFG, DEVICE_OFF, ops->config_size);
    /* One vector per queue and one for configuration changes: what Linux's driver asks first. */
    if (msix_init(&v->msix, m, &v->pci, (uint16_t)(ops->num_queues + 1), MSIX_TABLE_OFF,
                  MSIX_PBA_OFF))
        return -ENOSPC;
    return 0;
}

uint64_t virtio_pci_notify_addr(const struct virtio_dev *v, uint16_t q)
{
    return PHB_MEM_CPU + (v->pci.bar_bus - PHB_MEM_BUS) + NOTIFY_OFF + (uint64_t)NOTIFY_MULT * q;
}

void virtio_pci_destroy(struct virtio_dev *v)
{
    msix_destroy(&v->msix);
    pthread_mutex_destroy(&v->lock);
}

void virtio_notify_queue_locked(struct virtio_dev *v, uint16_t q)
{
    signal_locked(v, VIRTIO_ISR_QUEUE, q < VIRTIO_MAX_QUEUES ? v->queue_vector[q]
                                                             : VIRTIO_MSI_NO_VECTOR);
}

void virtio_config_changed_locked(struct virtio_dev *v)
{
    /* The spec's rule (4.1.4.3.1): a driver reading fields across a change must see a new
     * generation, whether or not it takes the interrupt. */
    v->config_generation++;
    if (v->status & VIRTIO_CONFIG_S_DRIVER_OK)
        config_interrupt_locked(v);
}

void virtio_notify_queue(struct virtio_dev *v, uint16_t q)
{
    pthread_mutex_lock(&v->lock);
    virtio_notify_queue_locked(v, q);
    pthread_mutex_unlock(&v->lock);
}

void virtio_set_broken(struct virtio_dev *v)
{
    pthread_mutex_lock(&v->lock);
    virtio_set_broken_locked(v);
    pthread_mutex_unlock(&v->lock);
}

int virtio_pop_locked(struct virtio_dev *v, uint16_t q, struct virtq_chain *c)
{
    struct virtq *vq = &v->vq[q];
    /* Nothing is consumed before DRIVER_OK, nor once the device wants a reset. */
    if (!vq->ready || (v->status & VIRTIO_CONFIG_S_NEEDS_RESET) ||
        !(v->status & VIRTIO_CONFIG_S_DRIVER_OK))
        return 0;
    int r = virtq_pop(vq, &v->m->mem, c);
    if (r < 0)
        virtio_set_broken_locked(v);
    return r;
}

int virtio_take(struct virtio_dev *v, uint16_t q, struct virtq_chain *c, uint64_t min_out,
                uint64_t min_in)
{
    pthread_mutex_lock(&v->lock);
    int r = virtio_pop_locked(v, q, c);
    if (r > 0 && (c->out_len < min_out || c->in_len < min_in)) {
        virtio_set_broken_locked(v);
        r = 0;
    }
    pthread_mutex_unlock(&v->lock);
    return r > 0;
}

void virtio_complete(struct virtio_dev *v, uint16_t q, uint16_t head, uint32_t len)
{
    pthread_mutex_lock(&v->lock);
    if (v->vq[q].ready) {
        virtq_push(&v->vq[q], &v->m->mem, head, len);
        if (virtq_should_notify(&v->vq[q], &v->m->mem))
            virtio_notify_queue_locked(v, q);
    }
    pthread_mutex_unlock(&v->lock);
}

void virtio_complete_quiet(struct virtio_dev *v, uint16_t q, uint16_t head, uint32_t len)
{
    pthread_mutex_lock(&v->lock);
    if (v->vq[q].ready)
        virtq_push(&v->vq[q], &v->m->mem, head, len);
    pthread_mutex_unlock(&v->lock);
}

void virtio_signal_used(struct virtio_dev *v, uint16_t q)
{
    pthread_mutex_lock(&v->lock);
    if (v->vq[q].ready && virtq_should_notify(&v->vq[q], &v->m->mem))
        virtio_notify_queue_locked(v, q);
    pthread_mutex_unlock(&v->lock);
}
