# The GDB stub (--gdb), spoken to by tests/host/gdbpoke.c (this host has no gdb; the real
# debugger's session runs against a bare-metal host, cases-hosts.sh). Sourced by cases.sh;
# checked in run.sh.
#
# gdb_poke NAME APPEND MINIVMM-ARGS -- PACKETS...: minivmm with --gdb on a unix socket,
# --gdb-wait and the kernel command line APPEND in the background, then gdbpoke's session.
GDBPOKE=${GDBPOKE:-/bin/gdbpoke}
gdb_poke() {
    name=$1 append=$2; shift 2
    echo "=== CASE $name"
    sock=$T/$name.sock vmlog=$T/$name.log
    args=
    while [ "$1" != -- ]; do args="$args $1"; shift; done
    shift
    # shellcheck disable=SC2086 # the arguments are words without spaces
    timeout "$LIMIT" "$MINIVMM" -v --gdb "unix:$sock" --gdb-wait $args -a "$append" </dev/null >"$vmlog" 2>&1 &
    vm=$!
    GDBPOKE_ELF=$GUEST_KERNEL timeout 300 "$GDBPOKE" "$sock" "$@" 2>&1
    echo "gdbpoke status $?"
}
gdb_end() {   # the guest ran on after gdb detached; a second debugger kills it
    n1=$(grep -c TICK "$vmlog"); sleep 4; n2=$(grep -c TICK "$vmlog")
    [ "$n2" -gt "$n1" ] && echo "the guest ran on after the debugger detached"
    GDBPOKE_ELF=$GUEST_KERNEL timeout 60 "$GDBPOKE" "$sock" '?' 'k' 2>&1
    wait "$vm"; st=$?
    grep -v TICK "$vmlog" | tail -n 20
    echo "=== RESULT $name status=$st"
}

# Nested KVM-HV, Radix, 2 vCPUs: the entry state, threads, kernel memory by virtual address
# in real mode (before the kernel turns its MMU on) and through the Radix tree (after),
# Ctrl-C, the other vCPU's registers, detach. No breakpoints: nested on QEMU's TCG they
# cannot reach minivmm (README, "Debugging a guest with gdb").
gdb_poke gdb-nested "console=hvc0 quiet minivmm.test=tick" \
    -c 2 --timeout 300 -k "$GUEST_KERNEL" -i "$GUEST_INITRD" -- \
    '?' qfThreadInfo p40 p41 'm{linux_banner},d' 'vCont;c' sleep:25 '^C' \
    'm{linux_banner},d' Hg2 p40 'mffffffffffff0000,4' D
gdb_end
# Bad --gdb: refused with the fix before anything runs.
case_run gdb-bad-address --gdb 1234 -k "$GUEST_KERNEL"
case_run gdb-wait-alone --gdb-wait -k "$GUEST_KERNEL"
