/* Errors travel up as return values and are explained in one place.
 *
 * Any function that can fail for a reason a person must act on takes a struct mvm_err,
 * fills it with one sentence (what went wrong and what to do) and a class, and returns -1.
 * Only the top of the program (main.c, or a library user) decides how to show it; nothing
 * below prints or exits. The class maps directly onto minivmm's documented exit statuses.
 */
#ifndef MINIVMM_ERR_H
#define MINIVMM_ERR_H

enum mvm_status {
    MVM_OK = 0,            /* guest powered off */
    MVM_E_INPUT = 1,       /* bad flags, unreadable or invalid kernel/initrd, impossible sizes */
    MVM_E_HOST = 2,        /* this host cannot run the requested VM (KVM missing, denied, incompatible) */
    MVM_REBOOT = 3,        /* guest asked to reboot and --reboot was not given */
    MVM_PANIC = 4,         /* guest reported a crash (ibm,os-term) */
    MVM_E_VMM = 5,         /* the VMM failed while running (unexpected exit, internal error) */
    MVM_STOPPED = 6,       /* stopped from outside: Ctrl-A x, SIGINT, SIGTERM */
    MVM_TIMEOUT = 7,       /* --timeout expired */
    MVM_FAIL_PATTERN = 8,  /* a --fail-on pattern appeared on the console */
};

struct mvm_err {
    enum mvm_status status;
    char msg[512];
};

/* Records the message and class; returns -1 so callers can write `return mvm_fail(...)`.
 * The first failure wins: a later cascade of "cleanup failed" does not hide the cause. */
int mvm_fail(struct mvm_err *e, enum mvm_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* strerror() that never touches a file, for the threads under seccomp (vCPUs, disk I/O):
 * glibc's strerror translates its text through gettext, which opens a message catalogue once
 * an embedding program has set a locale (even "C.UTF-8"), and the filter forbids opening
 * files. The text is always the untranslated English one. */
const char *mvm_strerror(int err);

#endif
