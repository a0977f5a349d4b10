/* seccomp for the threads a guest can reach: the vCPU threads (hcalls, RTAS, MMIO emulation)
 * and the disk I/O threads (virtqueues). Each restricts itself when it starts, so the thread
 * that created the VM (an embedding program's, perhaps) stays unrestricted. */
#ifndef MINIVMM_SANDBOX_H
#define MINIVMM_SANDBOX_H

/* Installs (once per process) the SIGSYS handler that reports a violation and ends the
 * process with status 5: a VMM thread making an unexpected system call is taken to be
 * compromised. Terminals in raw mode (term_raw) are put back first. Returns 0 or -errno. */
int sandbox_prepare(void);

/* Restricts the calling thread to the system calls the VMM's loops need. Returns 0 or
 * -errno (e.g. a kernel without seccomp). */
int sandbox_enter_thread(void);
/* The same for a thread that serves the shared directory root_fd: file calls too, and, where
 * the kernel has Landlock, no file system access outside that tree. */
int sandbox_enter_file_thread(int root_fd);
/* The same for the thread that serves the guest's vsock connections: UNIX sockets too (the
 * socket call is refused any other domain), and no file calls. */
int sandbox_enter_socket_thread(void);

#endif
