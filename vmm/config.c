/* The configuration's defaults and its device list (see config.h): the library's, which the
 * command line uses too. */
#include "config.h"

#include <string.h>

#include "../devices/device.h"

void vm_config_defaults(struct vm_config *c)
{
    memset(c, 0, sizeof(*c));
    c->kvm_dev = "/dev/kvm";
    c->mem_size = VM_DEFAULT_MEM;
    c->ncpus = 1;
    c->console_in = -1;
    c->console_out = -1;
    c->log_fd = -1;
    c->stop_fd = -1;
    c->dump_fd = -1;
    c->seccomp = true;
    c->command_fd[0] = 0, c->command_fd[1] = 1, c->command_fd[2] = 2;
}

int vm_config_add_device(struct vm_config *c, const char *name, const char *spec,
                         struct mvm_err *e)
{
    const struct device_kind *k = device_kind_find(name);
    if (!k)
        return mvm_fail(e, MVM_E_INPUT, "no device kind '%s'", name);
    if (vm_config_count_devices(c, name) == k->max || c->ndevices == VM_MAX_DEVICES)
        return mvm_fail(e, MVM_E_INPUT, "--%s: at most %u of them (and %u devices in all)",
                        name, k->max, VM_MAX_DEVICES);
    if (k->check(spec, e))
        return -1;
    c->devices[c->ndevices++] = (struct device_spec){.kind = k, .spec = spec};
    return 0;
}

void vm_config_remove_devices(struct vm_config *c, const char *name)
{
    unsigned kept = 0;
    for (unsigned i = 0; i < c->ndevices; i++)
        if (strcmp(c->devices[i].kind->name, name) != 0)
            c->devices[kept++] = c->devices[i];
    c->ndevices = kept;
}

unsigned vm_config_count_devices(const struct vm_config *c, const char *name)
{
    unsigned n = 0;
    for (unsigned i = 0; i < c->ndevices; i++)
        n += strcmp(c->devices[i].kind->name, name) == 0;
    return n;
}
