#include "virtio_pci.h"

#include <endian.h>
#include <string.h>

#include "../vmm/machine.h"

/* BAR 0 layout. */
#define BAR_SIZE 0x1000
#define COMMON_OFF 0x000
#define COMMON_LEN 0x38
#define ISR_OFF 0x100
#define DEVICE_OFF 0x200
#define DEVICE_LEN 0x100
#define NOTIFY_OFF 0x300
#define NOTIFY_MULT 4

/* virtio_pci_cap cfg_type values. */
#define CAP_COMMON 1
#define CAP_NOTIFY 2
#define CAP_ISR 3
#define CAP_DEVICE 4

#define NO_VECTOR 0xffff

static void add_cap(struct pci_device *d, uint8_t type, uint32_t off, uint32_t len, bool notify)
{
    uint8_t cap[20] = {0x09 /* vendor-specific */, 0, notify ? 20 : 16, type, 0 /* BAR 0 */};
    uint32_t v = htole32(off);
    memcpy(cap + 8, &v, 4);
    v = htole32(len);
    memcpy(cap + 12, &v, 4);
    v = htole32(NOTIFY_MULT);
    memcpy(cap + 16, &v, 4);
    pci_add_capability(d, cap, cap[2]);
}

static uint64_t offered(const struct virtio_dev *v)
{
    return v->ops->features | v->extra_features | VIRTIO_F_VERSION_1;
}

/* Called with the lock held; the device-model reset runs after it is dropped. */
static void reset_locked(struct virtio_dev *v)
{
    v->dev_feature_sel = v->drv_feature_sel = 0;
    v->drv_features = 0;
    v->status = 0;
    v->queue_sel = 0;
    for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
        v->vq[i] = (struct virtq){.size = VIRTQ_MAX_SIZE};
    if (v->isr) {
        v->isr = 0;
        v->m->ops->irq_set(v->m, v->pci.irq, 0);
    }
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
    case 0x00: return v->dev_feature_sel;
    case 0x04: return v->dev_feature_sel < 2 ? (uint32_t)(offered(v) >> (32 * v->dev_feature_sel)) : 0;
    case 0x08: return v->drv_feature_sel;
    case 0x0c: return v->drv_feature_sel < 2 ? (uint32_t)(v->drv_features >> (32 * v->drv_feature_sel)) : 0;
    case 0x10: return NO_VECTOR;                         /* msix_config: no MSI-X */
    case 0x12: return v->ops->num_queues;
    case 0x14: return v->status;
    case 0x15: return 0;                                 /* config_generation: config is fixed */
    case 0x16: return v->queue_sel;
    case 0x18: return q ? q->size : 0;
    case 0x1a: return NO_VECTOR;
    case 0x1c: return q ? q->ready : 0;
    case 0x1e: return q ? v->queue_sel : 0;              /* queue_notify_off */
    case 0x20: return q ? (uint32_t)q->desc : 0;
    case 0x24: return q ? (uint32_t)(q->desc >> 32) : 0;
    case 0x28: return q ? (uint32_t)q->avail : 0;
    case 0x2c: return q ? (uint32_t)(q->avail >> 32) : 0;
    case 0x30: return q ? (uint32_t)q->used : 0;
    case 0x34: return q ? (uint32_t)(q->used >> 32) : 0;
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
    if (!v->isr)
        v->m->ops->irq_set(v->m, v->pci.irq, 1);
    v->isr |= VIRTIO_ISR_CONFIG;
}

/* Stops the device until the driver resets it (with the lock held). */
static void set_broken_locked(struct virtio_dev *v)
{
    v->broken_chains++;
    v->status |= VIRTIO_STATUS_NEEDS_RESET;
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
    case 0x00: v->dev_feature_sel = val; break;
    case 0x08: v->drv_feature_sel = val; break;
    case 0x0c:
        if (v->drv_feature_sel < 2 && !(v->status & VIRTIO_STATUS_FEATURES_OK))
            set_half(&v->drv_features, v->drv_feature_sel ? 4 : 0, val);
        break;
    case 0x14: {
        val &= 0xff;
        if (val == 0) {
            reset_locked(v);
            return AFTER_RESET;
        }
        /* FEATURES_OK sticks only for a subset of what we offered that includes VERSION_1:
         * the driver reads it back to learn whether we accepted. */
        if ((val & VIRTIO_STATUS_FEATURES_OK) && !(v->status & VIRTIO_STATUS_FEATURES_OK) &&
            ((v->drv_features & ~offered(v)) || !(v->drv_features & VIRTIO_F_VERSION_1)))
            val &= ~VIRTIO_STATUS_FEATURES_OK;
        bool was_ok = v->status & VIRTIO_STATUS_DRIVER_OK;
        /* NEEDS_RESET is the device's to set, never the driver's. */
        v->status = (uint8_t)((val & ~VIRTIO_STATUS_NEEDS_RESET) |
                              (v->status & VIRTIO_STATUS_NEEDS_RESET));
        if (!was_ok && (v->status & VIRTIO_STATUS_DRIVER_OK))
            return AFTER_DRIVER_OK;
        break;
    }
    case 0x16: v->queue_sel = (uint16_t)val; break;
    case 0x18:
        if (q && !q->ready && val && val <= VIRTQ_MAX_SIZE && !(val & (val - 1)))
            q->size = (uint16_t)val;
        break;
    case 0x1c:
        if (q && !q->ready && (val & 1)) {
            if (virtq_check_rings(q, &v->m->mem) == 0) {
                q->ready = true;
                q->last_avail = q->used_idx = 0;
            } else {
                set_broken_locked(v);
            }
        }
        break;
    case 0x20: case 0x24: if (q && !q->ready) set_half(&q->desc, off, val); break;
    case 0x28: case 0x2c: if (q && !q->ready) set_half(&q->avail, off, val); break;
    case 0x30: case 0x34: if (q && !q->ready) set_half(&q->used, off, val); break;
    default: break;   /* read-only or MSI-X vectors we do not have */
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
    struct machine *m = v->m;

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
            if (v->isr) {
                v->isr = 0;
                m->ops->irq_set(m, v->pci.irq, 0);
            }
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

static const struct pci_device_ops virtio_pci_ops = {.bar_access = bar_access};

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
    add_cap(&v->pci, CAP_COMMON, COMMON_OFF, COMMON_LEN, false);
    add_cap(&v->pci, CAP_ISR, ISR_OFF, 1, false);
    add_cap(&v->pci, CAP_NOTIFY, NOTIFY_OFF, NOTIFY_MULT * VIRTIO_MAX_QUEUES, true);
    if (ops->config_size)
        add_cap(&v->pci, CAP_DEVICE, DEVICE_OFF, ops->config_size, false);
    return 0;
}

uint64_t virtio_pci_notify_addr(const struct virtio_dev *v, uint16_t q)
{
    return PHB_MEM_CPU + (v->pci.bar_bus - PHB_MEM_BUS) + NOTIFY_OFF + (uint64_t)NOTIFY_MULT * q;
}

void virtio_pci_destroy(struct virtio_dev *v)
{
    pthread_mutex_destroy(&v->lock);
}

void virtio_interrupt_locked(struct virtio_dev *v, uint8_t isr_bits)
{
    bool was = v->isr != 0;
    v->isr |= isr_bits;
    if (!was)
        v->m->ops->irq_set(v->m, v->pci.irq, 1);
}

void virtio_interrupt(struct virtio_dev *v, uint8_t isr_bits)
{
    pthread_mutex_lock(&v->lock);
    virtio_interrupt_locked(v, isr_bits);
    pthread_mutex_unlock(&v->lock);
}

void virtio_set_broken(struct virtio_dev *v)
{
    pthread_mutex_lock(&v->lock);
    set_broken_locked(v);
    pthread_mutex_unlock(&v->lock);
}

int virtio_pop_locked(struct virtio_dev *v, uint16_t q, struct virtq_chain *c)
{
    struct virtq *vq = &v->vq[q];
    /* Nothing is consumed before DRIVER_OK, nor once the device wants a reset. */
    if (!vq->ready || (v->status & VIRTIO_STATUS_NEEDS_RESET) ||
        !(v->status & VIRTIO_STATUS_DRIVER_OK))
        return 0;
    int r = virtq_pop(vq, &v->m->mem, c);
    if (r < 0)
        set_broken_locked(v);
    return r;
}
