# Connects gdb to the stub at `stub` (set by gdb-session.sh), retrying for `wait_s` seconds.
# Retrying is needed twice over: the stub starts late (the emulated host boots, earlier cases
# run), and QEMU's user-mode network accepts a connection to a forwarded port even when
# nothing listens inside, then drops it, so a refused connection looks like a dead one.
# A stub held by --gdb-wait is at the kernel's entry, in real mode (pc below the kernel's
# 0xc000... link address); one further on is the previous case's minivmm, still booting
# after its debugger detached: leave it and wait for the next.
import time

def _connect():
    deadline = time.monotonic() + wait_s
    tries = 0
    last = ""
    while True:
        tries += 1
        try:
            out = gdb.execute("target remote " + stub, to_string=True)
            pc = int(gdb.parse_and_eval("$pc")) & 0xffffffffffffffff
            if pc < 0xc000000000000000:
                print(out, end="")
                print("GDB-CONNECTED after %d tries, pc %#x" % (tries, pc))
                return
            last = "a stub at pc %#x, past the kernel's entry" % pc
            gdb.execute("detach", to_string=True)
        except gdb.error as e:
            last = str(e)
        if time.monotonic() > deadline:
            print("GDB-NO-STUB at %s after %d s (%d tries): %s" % (stub, wait_s, tries, last))
            gdb.execute("quit 3")
        time.sleep(2)

_connect()
