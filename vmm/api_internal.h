/* What libminivmm's files share (api.c: contexts and runs; api_config.c: the setters). */
#ifndef MINIVMM_API_INTERNAL_H
#define MINIVMM_API_INTERNAL_H

#include "../include/minivmm.h"

#include <pthread.h>

#include "config.h"
#include "vm.h"

enum state { NEW, RUNNING, DONE };

struct minivmm {
    struct vm_config cfg;
    char **strings;           /* copies owned by the context, freed with it */
    unsigned nstrings, cap;
    minivmm_output_fn output;
    void *output_opaque;

    /* A run's thread and minivmm_stop() (any thread) meet here. state is written under the
     * lock and read atomically; err and the result are written by the run before it is DONE
     * and never after, so a reader that sees DONE (acquire) reads them whole. */
    pthread_mutex_t lock;
    enum state state;
    bool stop_requested;      /* minivmm_stop() came before the VM existed */
    struct vm *vm;
    pthread_t thread;
    bool thread_running;
    struct mvm_err err;
    struct vm_result result;
    bool have_result;
    int run_ret;
};

/* Records a misuse (bad argument, wrong order) as the context's error; MINIVMM_E_MISUSE. */
int api_misuse(struct minivmm *vm, const char *what);
/* Makes the context own `block` (malloc'ed; freed with it), in place of `old` if the context
 * owned that. MINIVMM_E_NOMEM frees block. */
int api_adopt(struct minivmm *vm, char *block, const void *old);
/* The context's state, read atomically (any thread); set under its lock. */
enum state api_state(const struct minivmm *vm);
void api_set_state(struct minivmm *vm, enum state s);
/* Stores a copy of s in *slot, replacing (and freeing) the copy that was there. */
int api_keep(struct minivmm *vm, const char *s, const char **slot);

/* Setters are allowed only before the run. */
#define CONFIGURABLE(vm)                                                        \
    do {                                                                        \
        if (!(vm))                                                              \
            return MINIVMM_E_MISUSE;                                            \
        if (api_state(vm) != NEW)                                               \
            return api_misuse(vm, "the VM has already been started: configure "  \
                              "before running");                                \
    } while (0)

#endif
