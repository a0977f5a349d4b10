/* RTAS: the run-time services a pseries kernel calls through the stub in rtas.S.
 *
 * One registry per machine drives both dispatch and the device tree: every registered
 * service gets token RTAS_TOKEN_BASE + index, and fdt/ writes exactly those tokens into
 * /rtas, so the tokens the guest sees cannot drift from the ones we implement.
 *
 * The argument buffer lives in guest memory and is big-endian for every guest. It is read
 * once into a local copy (the guest cannot change arguments under us), its counts are checked,
 * and only the return cells are written back.
 */
#ifndef MINIVMM_RTAS_H
#define MINIVMM_RTAS_H

#include <stdint.h>

struct machine;

#define RTAS_TOKEN_BASE 0x2000
#define RTAS_MAX_SERVICES 32
#define RTAS_MAX_CELLS 16     /* struct rtas_args: 16 cells shared by arguments and returns */

/* RTAS status values (PAPR). */
#define RTAS_OK 0
#define RTAS_HW_ERROR (-1)
#define RTAS_PARAM_ERROR (-3)
#define RTAS_NOT_SUPPORTED (-3)

/* A service fills rets[1..nret-1] and returns the status that goes into rets[0]. */
typedef int32_t (*rtas_fn)(struct machine *m, int cpu, const uint32_t *args, unsigned nargs,
                           uint32_t *rets, unsigned nret);

struct rtas_service {
    const char *name;      /* the /rtas property name the guest looks up */
    rtas_fn fn;            /* NULL: performed inside KVM; reaching us is a host bug */
    uint8_t nargs, nret;   /* the counts the call requires at least */
};

struct rtas {
    const struct rtas_service *svc[RTAS_MAX_SERVICES];
    unsigned n;
};

/* Empties the registry and registers minivmm's own services. */
void rtas_init(struct rtas *r);
/* Adds a service; returns its token, or -1 if the name is taken or the table is full. */
int rtas_register(struct rtas *r, const struct rtas_service *s);
/* Returns the token of `name`, or -1. */
int rtas_token(const struct rtas *r, const char *name);

/* Performs the RTAS call whose buffer is at guest physical args_gpa.
 * Returns the hcall status for the stub (H_SUCCESS, or H_PARAMETER for a buffer we could not
 * use at all). */
int64_t rtas_call(struct machine *m, int cpu, uint64_t args_gpa);

/* The stub from rtas.S, assembled at build time. */
extern const unsigned char rtas_blob[];
extern const unsigned int rtas_blob_size;

#endif
