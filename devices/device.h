/* What a device is to the rest of minivmm: one declaration in the device's own file.
 *
 * A device kind names its option (--disk, and minivmm_add_device(vm, "disk", SPEC) in the
 * library), says how to read its SPEC, how to create a device from it on the machine, and,
 * if it has threads of its own, how to start them; the board creates one device per SPEC the
 * configuration holds and walks them for each stage of their lives (create, start, destroy),
 * in the order given. Devices reach the VM only through struct machine (guest memory, the
 * MMIO bus, the PCI host bridge, interrupts, the console), so a new device is its own file,
 * one line in devices/list.c, and its tests (Solo5's hvt modules are the model).
 */
#ifndef MINIVMM_DEVICE_H
#define MINIVMM_DEVICE_H

#include <stdbool.h>
#include <stddef.h>

#include "../vmm/err.h"

struct machine;
struct virtio_dev;

struct device_kind {
    const char *name;         /* the long option and the library's name for it */
    char short_option;        /* e.g. 'd', or 0 */
    const char *usage;        /* --help's lines for it, starting with the option itself */
    unsigned max;             /* how many one VM may have */
    /* Checks a SPEC as the command line or the library receives it, before anything is
     * created: 0, or -1 and MVM_E_INPUT with what is wrong and how to write it. */
    int (*check)(const char *spec, struct mvm_err *e);
    /* Creates the device from a SPEC check() accepted, on m's PCI host bridge. snapshot_all:
     * the user asked for every disk to be a snapshot (--snapshot). */
    void *(*create)(struct machine *m, const char *spec, bool snapshot_all, struct mvm_err *e);
    /* Optional: starts the device's own threads, before any vCPU runs. */
    int (*start)(void *dev, struct mvm_err *e);
    /* Optional: the run is ending; writes blocked on the host (a full pipe) must give up.
     * Any thread, possibly more than once, while the device still runs. */
    void (*let_go)(void *dev);
    /* Optional, for devices whose own threads write the guest's output: the guest powers off
     * or reboots (RTAS, on the vCPU that asked, before the run ends): write what it queued,
     * as a vCPU would have written it, or it is lost once the run has ended. */
    void (*flush)(void *dev);
    /* Stops its threads (each finishes what it has in hand) and frees it. */
    void (*destroy)(void *dev);
    /* Its virtio transport, for the board to wire queue notifications (ioeventfd). */
    struct virtio_dev *(*virtio)(void *dev);
    /* Optional: one line for -v saying what it is and how the guest reaches it. */
    void (*describe)(void *dev, char *buf, size_t len);
    /* Optional, for --rootfs, where minivmm's own init sets the guest up: the modules its
     * driver needs (NULL-terminated; loaded with their dependencies, before the command)... */
    const char *const *guest_modules;
    /* ...and what the init must know to set the device up, as records of its configuration
     * (firmware/init_conf.h) given to add(). nth: the device's number among those of its kind
     * (0 for the first). 0, or -1 with why in e. */
    int (*guest_setup)(const char *spec, unsigned nth,
                       void (*add)(void *ctx, const char *key, const char *value), void *ctx,
                       struct mvm_err *e);
};

/* Every kind there is, in the order --help lists them; NULL-terminated (devices/list.c). */
extern const struct device_kind *const device_kinds[];

/* The kind called name, or NULL. */
const struct device_kind *device_kind_find(const char *name);

#endif
