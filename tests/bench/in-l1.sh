#!/bin/sh
# The benchmark proper, run where there is KVM for POWER (inside the emulated host, or on a
# POWER host with QEMU_DIR pointing at a qemu-system-ppc64): minivmm and QEMU alternate, A B
# A B, ROUNDS times, on the same guest kernel and initramfs. Prints one BENCH line per run;
# tests/bench/run.sh turns them into medians and ratios. Times come from /proc/uptime (10 ms).
ROUNDS=${ROUNDS:-5}
QEMU=${QEMU_DIR:-/qemu}/qemu-system-ppc64
T=${TMPDIR:-/tmp}/bench.$$
mkdir -p "$T"
MEM_MB=512
now() { cut -d' ' -f1 /proc/uptime; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

vmm_cmd() {   # vmm_cmd VMM MODE DISK: prints nothing, sets "$@" via a file for run()
    vmm=$1 mode=$2 disk=$3
    args="console=hvc0 quiet minivmm.test=$mode"
    case $vmm in
    minivmm) set -- "$MINIVMM" -m ${MEM_MB}M -k "$GUEST_KERNEL" -i "$GUEST_INITRD" -a "$args"
             [ -n "$disk" ] && set -- "$@" -d "$disk" --share "$T/share,tag=bench"
             [ -n "$disk" ] && [ -n "$NET" ] && set -- "$@" --net passt ;;
    qemu-*)  machine=pseries,ic-mode=xics
             [ "$vmm" = qemu-vof ] && machine=pseries,x-vof=on,ic-mode=xics
             set -- "$QEMU" -M "$machine" -accel kvm -cpu host -m ${MEM_MB}M -smp 1 -nographic \
                 -nodefaults -serial none -chardev stdio,id=con -device spapr-vty,chardev=con \
                 -no-reboot -kernel "$GUEST_KERNEL" -initrd "$GUEST_INITRD" -append "$args"
             [ -n "$disk" ] && set -- "$@" -drive "file=$disk,if=none,id=d0,format=raw,cache=writeback" \
                 -device virtio-blk-pci,drive=d0 \
                 -virtfs "local,path=$T/share,mount_tag=bench,security_model=none"
             # The same passt, started here (minivmm starts its own): QEMU 7.2's stream netdev
             # speaks passt's framing. -1: passt ends with QEMU's connection.
             # passt runs as nobody (it drops root), so its socket's directory is open to all.
             if [ -n "$disk" ] && [ -n "$NET" ]; then
                 mkdir -p "$T/passt" && chmod 1777 "$T/passt" && rm -f "$T/passt/sock"
                 passt -f -q -1 -s "$T/passt/sock" >/dev/null 2>&1 &
                 for i in $(seq 600); do [ -S "$T/passt/sock" ] && break; sleep 0.05; done
                 [ -S "$T/passt/sock" ] || echo "BENCH-ERROR qemu-vof: passt did not listen within 30 s" >&2
                 set -- "$@" -netdev "stream,id=n0,server=off,addr.type=unix,addr.path=$T/passt/sock" \
                     -device virtio-net-pci,netdev=n0,romfile=
             fi ;;
    esac
    "$@" </dev/null > "$T/out" 2>&1 &
}

# Resident memory of the VMM that is not guest RAM: the Rss of every mapping smaller than the
# guest's memory (the guest RAM mapping is the one that size or larger).
overhead_kb() {
    awk -v ram=$((MEM_MB * 1024)) '/^Size:/ { size = $2 } /^Rss:/ { if (size < ram) t += $2 }
        END { print t + 0 }' "/proc/$1/smaps" 2>/dev/null
}

run() {   # run VMM MODE ROUND [DISK]
    vmm=$1 mode=$2 round=$3 disk=${4:-}
    t0=$(now)
    vmm_cmd "$vmm" "$mode" "$disk"
    pid=$!
    up=none rss=none
    while kill -0 $pid 2>/dev/null; do
        if [ "$up" = none ] && grep -q MINIVMM-GUEST-UP "$T/out"; then
            up=$(since "$t0")
            rss=$(overhead_kb $pid)
        fi
        sleep 0.02
        awk -v t="$(since "$t0")" 'BEGIN { exit !(t > 300) }' && kill -9 $pid
    done
    wait $pid
    st=$?
    exit_s=$(since "$t0")
    [ "$up" = none ] && grep -q MINIVMM-GUEST-UP "$T/out" && up=$exit_s
    guest=$(tr -d '\r' < "$T/out" | sed -n 's/.*MINIVMM-GUEST-UP .*uptime=\([0-9.]*\).*/\1/p' | head -n1)
    line="BENCH vmm=$vmm mode=$mode round=$round status=$st marker_s=$up exit_s=$exit_s rss_kb=$rss"
    line="$line guest_up_s=${guest:-none}"
    # BENCH-CON and BENCH-HCALL both say seconds=: the hcall one becomes hcall_s=.
    io=$(tr -d '\r' < "$T/out" | grep -E '^BENCH-(BLK|CON|HCALL|9P|NET) ' |
         sed -e '/^BENCH-HCALL /s/seconds=/hcall_s=/' -e 's/^BENCH-[A-Z]* //' | tr '\n' ' ')
    echo "$line $io"
    tr -d '\r' < "$T/out" | grep '^rtas-loop:' | sed 's/^/BENCH-ERROR /'
    tr -d '\r' < "$T/out" | grep '^BENCH-ERROR' | sed "s/^BENCH-ERROR /BENCH-ERROR $vmm: /"
    [ "$st" = 0 ] || { echo "--- output of the failed run"; tail -20 "$T/out"; }
}

# --rootfs / -- true from start to exit: minivmm, and QEMU with VOF booting the same kernel on
# the same initramfs (minivmm's own, --dump-initramfs: its init and modules), the same root
# (virtio-9p, read-only) and the same ports (virtio-serial), the init's status checked.
rootfs_run() {   # rootfs_run VMM ROUND
    vmm=$1 round=$2
    t0=$(now)
    case $vmm in
    minivmm) "$MINIVMM" -m ${MEM_MB}M -k "$GUEST_KERNEL" --rootfs / -- true ;;
    qemu-vof)
        rm -f "$T/status"
        set -- -M pseries,x-vof=on,ic-mode=xics -accel kvm -cpu host -m ${MEM_MB}M \
            -smp 1 -nographic -nodefaults -serial none -chardev null,id=con \
            -device spapr-vty,chardev=con -no-reboot -kernel "$GUEST_KERNEL" \
            -initrd "$T/rootfs.cpio" -append "console=hvc0 quiet" \
            -fsdev local,id=root,path=/,security_model=none,readonly=on \
            -device virtio-9p-pci,fsdev=root,mount_tag=minivmm-root -device virtio-serial-pci
        for p in stdin stdout stderr status; do
            set -- "$@" -chardev file,id=$p,path="$T/$p" -device virtserialport,chardev=$p,name=minivmm.$p
        done
        : > "$T/stdin"
        "$QEMU" "$@" && grep -qx "exit 0" "$T/status" ;;
    esac < /dev/null > "$T/out" 2>&1
    st=$?
    echo "BENCH vmm=$vmm mode=rootfs round=$round status=$st marker_s=none exit_s=$(since "$t0") rss_kb=none"
    [ "$st" = 0 ] || { echo "--- output of the failed run"; tail -20 "$T/out"; }
}

# vsock (minivmm only: QEMU 7.2 has only vhost-vsock, the kernel's): 64 MiB each way at once
# on one connection, timed here from the host program's connect to its end (it checks every
# byte), and minivmm's own count of exits to it (--stats). A run with 1 byte each way gives
# what booting costs, so the difference is the transfer's.
vsock_run() {   # vsock_run ROUND BYTES
    round=$1 bytes=$2
    rm -f "$T/v.sock" "$T/out"
    "$MINIVMM" --stats -m ${MEM_MB}M -k "$GUEST_KERNEL" -i "$GUEST_INITRD" --vsock "3,uds=$T/v.sock" \
        -a "console=hvc0 quiet minivmm.test=vsock minivmm.vsock=listen:5000:1:$bytes" \
        </dev/null > "$T/out" 2>&1 &
    pid=$!
    i=0
    while ! grep -q "listening on 5000" "$T/out" && kill -0 $pid 2>/dev/null && [ $i -lt 3000 ]; do
        sleep 0.1; i=$((i + 1))
    done
    t0=$(now)
    timeout 300 vsockxfer uds-connect "$T/v.sock" 5000 1 "$bytes" > "$T/x.out" 2>&1
    xs=$?
    t1=$(now)
    wait $pid
    st=$?
    sum=$(vsockxfer sum "$bytes")
    grep -q "sent $bytes fnv $sum recv $bytes fnv $sum" "$T/x.out" || { st=99; echo "BENCH-ERROR vsock: $(tail -1 "$T/x.out") (status $xs)"; }
    exits=$(tr -d '\r' < "$T/out" | sed -n 's/.*stats: \([0-9]*\) exits to minivmm.*/\1/p' | head -n1)
    echo "BENCH vmm=minivmm mode=vsock round=$round status=$st marker_s=none exit_s=none rss_kb=none" \
         "vsock_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') vsock_bytes=$bytes exits=${exits:-none}"
}

# The shared directory's tree for the metadata walk: 2000 files in 20 directories.
mkdir -p "$T/share/tree"
for d in $(seq 20); do
    mkdir -p "$T/share/tree/d$d"
    for f in $(seq 100); do : > "$T/share/tree/d$d/f$f"; done
done
# The network rows (passt, where this host has it): a web server with a 64 MiB file for the
# guest to fetch (port 8080, on the loopback: the guest's gateway is this host's loopback).
NET=
if command -v passt >/dev/null 2>&1; then
    NET=1
    mkdir -p "$T/www" && dd if=/dev/zero of="$T/www/64M" bs=1M count=64 2>/dev/null
    httpd -p 127.0.0.1:8080 -h "$T/www" || NET=
fi
[ -n "$NET" ] || echo "BENCH-ERROR no passt here: no network rows"
echo "BENCH-INFO minivmm_bytes=$(wc -c < "$MINIVMM") qemu_kb=$(du -sk "${QEMU_DIR:-/qemu}" | cut -f1) rounds=$ROUNDS"
"$MINIVMM" -k "$GUEST_KERNEL" --rootfs / --dump-initramfs "$T/rootfs.cpio" -- true ||
    echo "BENCH-ERROR minivmm --dump-initramfs failed"
for r in $(seq "$ROUNDS"); do
    for vmm in minivmm qemu-vof; do
        rootfs_run $vmm "$r"
    done
    for vmm in minivmm qemu-vof qemu-slof; do
        run $vmm marker "$r"
    done
    for vmm in minivmm qemu-vof; do
        dd if=/dev/zero of="$T/disk.img" bs=1M count=136 2>/dev/null   # the guest uses 128
        # The network's sink takes the guest's 64 MiB until the guest ends its side. Its stdin
        # never ends: busybox's nc -l drops the connection when its stdin does.
        [ -n "$NET" ] && { sleep 600 | nc -l -p 8081 > /dev/null & }
        run $vmm bench "$r" "$T/disk.img"
    done
    # QEMU with SLOF too, for its hcall column; no disk, so it has no blk numbers.
    run qemu-slof bench "$r"
    if command -v vsockxfer >/dev/null 2>&1; then
        vsock_run "$r" 67108864
        vsock_run "$r" 1
    fi
done
rm -rf "$T"
echo "BENCH-DONE"
