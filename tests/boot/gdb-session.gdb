# The scripted debugger session of the gdb boot cases (gdb-session.sh runs it with real gdb
# against minivmm --gdb --gdb-wait, the guest kernel's vmlinux giving the symbols). One gdb
# command a line, each handed to gdb as its own -ex: a failing command does not end the
# session (a sourced file would stop at it), so the checks can say which part failed.
# GDB-STEP lines mark the parts for those checks. The kernel has a symbol table but no DWARF:
# its variables have no type, so they are read by address (&name) and cast.
echo GDB-STEP break\n
break start_kernel
echo GDB-STEP continue\n
continue
echo GDB-STEP bt\n
bt
echo GDB-STEP registers\n
info registers
echo GDB-STEP code\n
x/4i $pc
printf "GDB-PC-BEFORE %#lx\n", $pc
echo GDB-STEP stepi\n
stepi
x/i $pc
printf "GDB-PC-AFTER %#lx\n", $pc
# linux_banner is in .data, so gdb reads it from the target, not from the file; the command
# line is filled in from the device tree before start_kernel (the file holds zeros there).
echo GDB-STEP variables\n
x/s &linux_banner
x/s &boot_command_line
printf "GDB-TYPED-READ nr_cpu_ids=%u\n", *(unsigned int *)&nr_cpu_ids
echo GDB-STEP detach\n
delete
detach
