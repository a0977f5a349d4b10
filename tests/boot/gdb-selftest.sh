#!/usr/bin/env bash
# gdb-selftest.sh [OUT_DIR]: checks the debugger's side of the gdb boot cases (gdb-session.sh
# and its session file) without minivmm's stub or an emulated host: QEMU's own gdb stub,
# a pseries TCG guest on the 4 KiB kernel held at its first instruction (-S), stands in.
# About half a minute. Exits with gdb-session.sh's status (2 when there is no usable gdb).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../host/common.sh"
out=${1:-$here/../../build/boot/gdb-selftest}
why=$(bash "$here/gdb-session.sh" --have-gdb) || { log "skipped: $why"; exit 2; }
vmlinux=$(bash "$here/../host/build-kernel.sh" l1-4k)/vmlinux || die "no 4 KiB kernel"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$out"
# No initramfs: the guest panics once the debugger lets it go, and QEMU then ends. The
# command line carries what the session checks it read from the live guest.
timeout 300 qemu-system-ppc64 -M pseries -cpu POWER9 -smp 1 -m 1G -nographic -nodefaults \
    -serial none -chardev file,id=con,path="$out/console.log" -device spapr-vty,chardev=con \
    -kernel "$vmlinux" -append "console=hvc0 quiet minivmm.test=marker" -no-reboot \
    -S -gdb "tcp:127.0.0.1:$port" > "$out/qemu.log" 2>&1 &
qemu=$!
GDB_WAIT_S=30 GDB_SESSION_S=240 bash "$here/gdb-session.sh" "$port" "$vmlinux" "$out" qemu-stub
st=$?
kill "$qemu" 2>/dev/null; wait "$qemu" 2>/dev/null
exit $st
