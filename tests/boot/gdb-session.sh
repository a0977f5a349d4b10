#!/usr/bin/env bash
# gdb-session.sh PORT VMLINUX OUT_DIR NAME...
# The debugger's side of the gdb boot cases. For each NAME in turn: waits (bounded) for a gdb
# stub at 127.0.0.1:PORT (minivmm --gdb --gdb-wait inside the emulated host, reached through
# l1-run.sh's L1_HOSTFWD), runs real gdb against it with the session of gdb-session.gdb,
# VMLINUX giving the symbols, keeps the transcript as OUT_DIR/gdb-NAME.log and checks it.
# Prints "=== CASE gdb-NAME" ... "=== RESULT gdb-NAME status=N" around each (the boot cases'
# format: run.sh's check reads it), with the transcript when a check failed. Exits 0 when
# every session passed.
# gdb-session.sh --have-gdb prints the debugger it would use, or why there is none (exit 1).
# GDB (default gdb-multiarch) is the debugger; GDB_WAIT_S (default 1200) bounds the wait for
# each stub, GDB_SESSION_S (default 600) each session once connected.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
GDB=${GDB:-gdb-multiarch}

have_gdb() {
    # Any gdb will not do: it must know 64-bit POWER (Debian's plain gdb is x86 only).
    command -v "$GDB" >/dev/null 2>&1 || { echo "no $GDB (tests/host/deps.sh installs gdb-multiarch)"; return 1; }
    "$GDB" -batch -nx -ex 'set architecture powerpc:common64' >/dev/null 2>&1 ||
        { echo "$GDB does not know powerpc:common64"; return 1; }
    command -v "$GDB"
}
if [ "${1:-}" = --have-gdb ]; then have_gdb; exit; fi

[ $# -ge 4 ] || { echo "usage: gdb-session.sh PORT VMLINUX OUT_DIR NAME... | --have-gdb" >&2; exit 2; }
port=$1 vmlinux=$2 out=$3; shift 3
mkdir -p "$out"
# Ended from outside (run.sh, when the emulated host is gone): take gdb along.
child=
trap '[ -n "$child" ] && kill "$child" 2>/dev/null; exit 143' TERM INT

# The part of a transcript after "GDB-STEP STEP" up to the next step.
step() { sed -n "/^GDB-STEP $1\$/,/^GDB-STEP /p" "$log"; }
has() { grep -qE -- "$2" <<< "$1"; }

session() {   # session NAME: one debugger session; prints why it failed, if it did
    local name=$1 gdb_args=() line
    log=$out/gdb-$name.log
    while IFS= read -r line; do
        case $line in ''|'#'*) continue ;; esac
        gdb_args+=(-ex "$line")
    done < "$here/gdb-session.gdb"
    # osabi none: a kernel, not a Linux process (no shared-library hunting on connect).
    # trust-readonly-sections: the kernel's code is read from VMLINUX, not from the target.
    # Held at its entry the guest runs in real mode, where its 0xc000... addresses do not
    # reach its code yet, and gdb's prologue analysis of what it read there put the
    # breakpoint on start_kernel's global entry (never run: callers use the local one)
    # instead of past the prologue (seen with QEMU's stub).
    timeout -k 10 "$(( ${GDB_WAIT_S:-1200} + ${GDB_SESSION_S:-600} ))" \
        "$GDB" -batch -nx -ex 'set pagination off' -ex 'set confirm off' -ex 'set width 0' \
        -ex 'set osabi none' -ex 'set architecture powerpc:common64' -ex "file $vmlinux" \
        -ex 'set trust-readonly-sections on' \
        -ex 'set remotetimeout 60' -ex 'set tcp connect-timeout 5' \
        -ex "python stub = '127.0.0.1:$port'; wait_s = ${GDB_WAIT_S:-1200}" \
        -x "$here/gdb-connect.py" "${gdb_args[@]}" > "$log" 2>&1 &
    child=$!
    wait "$child"; local st=$?
    child=
    echo "gdb ended with status $st; transcript: $log"
    grep -q '^GDB-CONNECTED' "$log" || { grep '^GDB-NO-STUB' "$log" || echo "never connected"; return 1; }
    local s
    s=$(step continue); has "$s" '^Breakpoint 1, 0x[0-9a-f]+ in start_kernel \(\)' ||
        { echo "the breakpoint in start_kernel was not hit"; return 1; }
    s=$(step bt); has "$s" '^#0 +0x[0-9a-f]+ in start_kernel \(\)' ||
        { echo "bt does not name start_kernel"; return 1; }
    s=$(step registers)
    for reg in r1 pc msr lr; do
        has "$s" "^$reg +0x[0-9a-f]+" || { echo "info registers lacks $reg"; return 1; }
    done
    has "$(step code)" '^=> 0x[0-9a-f]+ <start_kernel\+[0-9]+>:' || { echo "x/4i \$pc shows no code"; return 1; }
    local before after
    before=$(sed -n 's/^GDB-PC-BEFORE //p' "$log") after=$(sed -n 's/^GDB-PC-AFTER //p' "$log")
    [ -n "$before" ] && [ -n "$after" ] && [ "$before" != "$after" ] ||
        { echo "stepi did not move the pc (${before:-none} -> ${after:-none})"; return 1; }
    s=$(step variables)
    has "$s" '<linux_banner>:[[:space:]]+"Linux version ' || { echo "linux_banner not read"; return 1; }
    # Only the live guest has its command line there (the file holds zeros).
    has "$s" '<boot_command_line>:[[:space:]]+".*minivmm\.test=' ||
        { echo "boot_command_line does not hold the guest's command line"; return 1; }
    has "$s" '^GDB-TYPED-READ nr_cpu_ids=[0-9]+$' || { echo "the typed read failed"; return 1; }
    has "$(step detach)" '^\[Inferior 1 \(.*\) detached\]' ||
        { echo "detach not acknowledged"; return 1; }
    echo "session complete: breakpoint, bt, registers, stepi $before -> $after, variables, detach"
}

all=0
for name in "$@"; do
    echo "=== CASE gdb-$name"
    session "$name"; st=$?
    if [ $st != 0 ]; then
        echo "gdb-$name failed; the transcript:"
        sed 's/^/| /' "$out/gdb-$name.log"
        all=1
    fi
    echo "=== RESULT gdb-$name status=$st"
done
exit $all
