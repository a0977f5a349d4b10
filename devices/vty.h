/* The sPAPR virtual terminal (hvc0): H_PUT_TERM_CHAR / H_GET_TERM_CHAR.
 *
 * Output is written straight to out_fd by the vCPU that makes the hcall. Input arrives from
 * the host side (the console thread) into a small ring that the guest drains with
 * H_GET_TERM_CHAR; when the ring is full the host side stops reading, so a guest that never
 * reads its console costs no memory. The vty has an interrupt (VTY_IRQ, an edge) that the
 * board raises when input arrives: with it Linux's hvc driver does not poll for input.
 */
#ifndef MINIVMM_VTY_H
#define MINIVMM_VTY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VTY_REG 0x30000000u   /* the vterm number the guest passes in r4; also the node's reg */
#define VTY_IRQ 0x1080u       /* its XICS source: between the PCI INTx and MSI ones (pci.h) */
#define VTY_IN_SIZE 1024

struct console_sink;

struct vty {
    int out_fd;
    struct console_sink *sink;   /* when set, output goes there instead of out_fd */
    /* Optional: host input was pushed (the virtio console hands it to the guest's buffers;
     * the sPAPR vty waits for the guest to poll). */
    void (*input_pushed)(struct vty *v);
    bool aborted;          /* the run is ending: blocked writers give up (atomic access) */
    pthread_mutex_t lock;
    uint8_t in[VTY_IN_SIZE];
    size_t in_head, in_len;
};

void vty_init(struct vty *v, int out_fd);
void vty_destroy(struct vty *v);
/* Guest output. Returns 0, or -1 if the host side of the console failed for good or the run
 * is ending (vty_abort): a full pipe must never keep a VM from stopping. */
int vty_write(struct vty *v, const uint8_t *buf, size_t len);
/* Makes current and future vty_write calls that would block fail instead. Any thread. */
void vty_abort(struct vty *v);
/* Guest input: moves up to max buffered bytes into buf; returns the count. */
size_t vty_read(struct vty *v, uint8_t *buf, size_t max);
/* Host input: queues up to len bytes; returns how many fitted. */
size_t vty_push_input(struct vty *v, const uint8_t *buf, size_t len);
/* Free space in the input ring. */
size_t vty_input_room(struct vty *v);

#endif
