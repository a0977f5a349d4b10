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
# QEMU's guest gets what minivmm always gives a pseries guest: a random number generator
# (H_RANDOM, "ibm,random-v1"), served by KVM where the host has one and else in the VMM's
# userspace, as minivmm does (QEMU falls back to the backend when KVM has none, as in the
# emulated host). Without it only minivmm's guest had a hwrng, and its reseeds (a few
# H_RANDOM exits a second early in a boot) were counted against minivmm alone.
QEMU_RNG="-object rng-random,id=rng0,filename=/dev/urandom -device spapr-rng,rng=rng0,use-kvm=true"

# vmm_cmd VMM MODE DISK: starts the VMM in the background, its output in $T/out, its input
# from $VMM_STDIN (default /dev/null). Mode count boots the guest on blk-count (only a disk);
# bench also shares a directory and, with passt, adds a NIC.
vmm_cmd() {
    vmm=$1 mode=$2 disk=$3
    args="console=hvc0 quiet minivmm.test=$mode"
    [ "$mode" = count ] && args="console=hvc0 quiet minivmm.test=run -- sh /bin/blk-count"
    share= net=
    [ "$mode" = bench ] && [ -n "$disk" ] && share=1 && net=$NET
    case $vmm in
    minivmm) set -- "$MINIVMM" -m ${MEM_MB}M -k "$GUEST_KERNEL" -i "$GUEST_INITRD" -a "$args"
             [ -n "$disk" ] && set -- "$@" -d "$disk"
             [ -n "$share" ] && set -- "$@" --share "$T/share,tag=bench"
             [ -n "$net" ] && set -- "$@" --net passt ;;
    qemu-*)  machine=pseries,ic-mode=xics
             [ "$vmm" = qemu-vof ] && machine=pseries,x-vof=on,ic-mode=xics
             set -- "$QEMU" -M "$machine" -accel kvm -cpu host -m ${MEM_MB}M -smp 1 -nographic \
                 -nodefaults -serial none -chardev stdio,id=con -device spapr-vty,chardev=con $QEMU_RNG \
                 -no-reboot -kernel "$GUEST_KERNEL" -initrd "$GUEST_INITRD" -append "$args"
             [ -n "$disk" ] && set -- "$@" -drive "file=$disk,if=none,id=d0,format=raw,cache=writeback" \
                 -device virtio-blk-pci,drive=d0
             [ -n "$share" ] && set -- "$@" -virtfs "local,path=$T/share,mount_tag=bench,security_model=none"
             # The same passt, started here (minivmm starts its own): QEMU 7.2's stream netdev
             # speaks passt's framing. -1: passt ends with QEMU's connection.
             # passt runs as nobody (it drops root), so its socket's directory is open to all.
             if [ -n "$net" ]; then
                 mkdir -p "$T/passt" && chmod 1777 "$T/passt" && rm -f "$T/passt/sock"
                 passt -f -q -1 -s "$T/passt/sock" >/dev/null 2>&1 &
                 for i in $(seq 600); do [ -S "$T/passt/sock" ] && break; sleep 0.05; done
                 [ -S "$T/passt/sock" ] || echo "BENCH-ERROR qemu-vof: passt did not listen within 30 s" >&2
                 set -- "$@" -netdev "stream,id=n0,server=off,addr.type=unix,addr.path=$T/passt/sock" \
                     -device virtio-net-pci,netdev=n0,romfile=
             fi ;;
    esac
    # Emptied here, before the VMM starts: the background job's own redirection may come after
    # the caller's first look at $T/out, which would find the previous run's marker (seen:
    # QEMU's marker_s 0.13 and its rss_kb measured on the shell that was about to exec it).
    : > "$T/out"
    "$@" < "${VMM_STDIN:-/dev/null}" > "$T/out" 2>&1 &
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
            -device spapr-vty,chardev=con $QEMU_RNG -no-reboot -kernel "$GUEST_KERNEL" \
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

# The deterministic rows: what the L1 kernel counts for the VM, the same source for minivmm
# and QEMU, counted by hist triggers of tracefs (in the kernel, nothing goes through the trace
# buffer, so nothing can be lost). Debian's 6.1 KVM-HV keeps no per-VM statistic of exits to
# userspace or of hcalls (its debugfs files sum_exits, dec_exits, ext_intr_exits, signal_exits
# and the halt_* ones count exits to the L1 kernel; mmio_exits is never incremented by HV),
# and its syscall tracepoints do not fire for ioctl (powerpc's syscall wrappers), so:
# - exits to the VMM's userspace: calls of kvm_arch_vcpu_ioctl_run (a kprobe event), one per
#   KVM_RUN ioctl; each, after a vCPU's first, comes after the VMM got an exit (hcall, MMIO,
#   signal). Only the bench's one VM runs here, so all of them are its own.
# - hcalls: kvm_hv:kvm_hcall_exit, every hcall KVM-HV's exit handler sees, served in the kernel
#   (ret RESUME_GUEST) or passed to the VMM (ret with RESUME_FLAG_HOST, 2). H_CEDE (idle) is
#   served before that tracepoint and not counted.
# - the same hcalls by number (kvm_hv:kvm_hcall_enter), for a BENCH-HCALLS line per window.
TR=/sys/kernel/tracing
RUN_PROBE='p:minivmm_bench/kvm_run kvm:kvm_arch_vcpu_ioctl_run'
RUN_HIST=$TR/events/minivmm_bench/kvm_run
HCALL_HIST=$TR/events/kvm_hv/kvm_hcall_exit
REQ_HIST=$TR/events/kvm_hv/kvm_hcall_enter
RUN_TRIGGER='hist:keys=common_pid'
HCALL_TRIGGER='hist:keys=ret'
REQ_TRIGGER='hist:keys=req'
counts_setup() {
    [ -d "$TR/events" ] || mount -t tracefs tracefs "$TR" 2>/dev/null ||
        { echo "BENCH-ERROR no tracefs at $TR (not root?): no count rows"; return 1; }
    [ -d "$HCALL_HIST" ] || { echo "BENCH-ERROR tracefs has no kvm_hv events: no count rows"; return 1; }
    [ -d "$RUN_HIST" ] || echo "$RUN_PROBE" >> "$TR/kprobe_events" ||
        { echo "BENCH-ERROR no kprobe on kvm_arch_vcpu_ioctl_run: no count rows"; return 1; }
    echo "$RUN_TRIGGER" >> "$RUN_HIST/trigger" && echo "$HCALL_TRIGGER" >> "$HCALL_HIST/trigger" &&
        echo "$REQ_TRIGGER" >> "$REQ_HIST/trigger" ||
        { echo "BENCH-ERROR cannot set hist triggers: no count rows"; return 1; }
}
counts_cleanup() {
    echo "!$RUN_TRIGGER" >> "$RUN_HIST/trigger"; echo "!$HCALL_TRIGGER" >> "$HCALL_HIST/trigger"
    echo "!$REQ_TRIGGER" >> "$REQ_HIST/trigger"; echo "-:minivmm_bench/kvm_run" >> "$TR/kprobe_events"
} 2>/dev/null
# counts: "KVM_RUNs hcalls hcalls-to-the-VMM" since the triggers were set.
counts() {
    awk '/^\{ common_pid:/ { run += $NF } END { printf "%d ", run }' "$RUN_HIST/hist"
    awk '/^\{ ret:/ { n += $NF; if (int($3 / 2) % 2) u += $NF } END { printf "%d %d\n", n, u }' "$HCALL_HIST/hist"
}
# hcalls_between A B: the hcalls by name from hist copy A to B, most first ("H_EOI=12 ...");
# the names come from the event's own format (its print fmt lists them).
hcalls_between() {
    awk -v fmt="$REQ_HIST/format" '
        function num(s,    i, n) {
            gsub(/[() ]/, "", s)
            if (s !~ /^0[xX]/) return s + 0
            s = tolower(substr(s, 3)); n = 0
            for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
            return n
        }
        BEGIN { while ((getline l < fmt) > 0)
                    while (match(l, /\{[^{}]*, "H_[A-Z0-9_]+"\}/)) {
                        p = substr(l, RSTART + 1, RLENGTH - 2); l = substr(l, RSTART + RLENGTH)
                        split(p, kv, ", "); gsub(/"/, "", kv[2]); name[num(kv[1])] = kv[2] } }
        /^\{ req:/ { if (FILENAME == ARGV[1]) a[$3] = $NF; else b[$3] = $NF }
        END { for (r in b) if (b[r] - a[r] > 0)
                  printf "%s=%d\n", ((r + 0) in name) ? name[r + 0] : "hcall_" r, b[r] - a[r]
        }' "$1" "$2" | sort -t= -k2 -rn | tr '\n' ' '
}

# count_run VMM ROUND: the guest runs blk-count; at each of its steps (it waits for a line on
# its console) the counters are read, then the guest is let go on. The differences are the
# write's and the read's.
count_run() {
    vmm=$1 round=$2
    dd if=/dev/zero of="$T/disk.img" bs=1M count=136 2>/dev/null
    rm -f "$T/in" && mkfifo "$T/in"
    exec 3<> "$T/in"     # held open both ways: the VMM's input never ends, writes never block
    t0=$(now)
    VMM_STDIN=$T/in vmm_cmd "$vmm" count "$T/disk.img"
    pid=$!
    vals= st=0
    for step in write-begin write-end read-begin read-end; do
        while ! grep -q "BENCH-STEP $step" "$T/out"; do
            kill -0 $pid 2>/dev/null || { st=98; break 2; }
            awk -v t="$(since "$t0")" 'BEGIN { exit !(t > 300) }' && { kill -9 $pid; st=97; break 2; }
            sleep 0.05
        done
        vals="$vals $(counts)"
        cp "$REQ_HIST/hist" "$T/req.$step"
        echo go >&3
    done
    wait $pid
    s=$?
    [ $st = 0 ] && st=$s
    exec 3>&-
    # vals: four triples, at write-begin, write-end, read-begin and read-end.
    set -- $vals
    fields="status=$st"
    if [ $# = 12 ]; then
        fields="$fields w_exits=$(($4 - $1)) w_hcalls=$(($5 - $2)) w_vmm_hcalls=$(($6 - $3))"
        fields="$fields r_exits=$((${10} - $7)) r_hcalls=$((${11} - $8)) r_vmm_hcalls=$((${12} - $9))"
    fi
    echo "BENCH vmm=$vmm mode=count round=$round $fields marker_s=none exit_s=$(since "$t0") rss_kb=none count_mib=128"
    if [ $# = 12 ]; then
        echo "BENCH-HCALLS vmm=$vmm round=$round write: $(hcalls_between "$T/req.write-begin" "$T/req.write-end")"
        echo "BENCH-HCALLS vmm=$vmm round=$round read: $(hcalls_between "$T/req.read-begin" "$T/req.read-end")"
    fi
    tr -d '\r' < "$T/out" | grep '^BENCH-ERROR' | sed "s/^BENCH-ERROR /BENCH-ERROR $vmm: /"
    [ "$st" = 0 ] || { echo "--- output of the failed run"; tail -20 "$T/out"; }
}

# fb_run VMM ROUND: the VMM's CPU time (user+sys, all its threads, the vCPU's time in the
# guest included) from exec to the guest's first console byte, from wait4() (firstbyte).
# Both boot the same kernel and initramfs without quiet, so the kernel prints from its start.
fb_run() {
    vmm=$1 round=$2
    args="console=hvc0 minivmm.test=marker"
    case $vmm in
    minivmm)  set -- "$MINIVMM" -m ${MEM_MB}M -k "$GUEST_KERNEL" -i "$GUEST_INITRD" -a "$args" ;;
    qemu-vof) set -- "$QEMU" -M pseries,x-vof=on,ic-mode=xics -accel kvm -cpu host -m ${MEM_MB}M \
                  -smp 1 -nographic -nodefaults -serial none -chardev stdio,id=con \
                  -device spapr-vty,chardev=con $QEMU_RNG -no-reboot -kernel "$GUEST_KERNEL" \
                  -initrd "$GUEST_INITRD" -append "$args" ;;
    esac
    firstbyte ${FB_VERBOSE:+-v} -t 300 -- "$@" > "$T/fb" 2> "$T/fb.err"
    st=$?
    # FIRSTBYTE cpu_us= user_us= sys_us= wall_us= guest_us= becomes fb_cpu_us= fb_user_us= ...
    fb=$(sed -n 's/^FIRSTBYTE //p' "$T/fb" | sed 's/\([a-z]*_us=\)/fb_\1/g')
    echo "BENCH vmm=$vmm mode=firstbyte round=$round status=$st marker_s=none exit_s=none rss_kb=none" \
         "${fb:-fb_cpu_us=none}"
    [ "$st" = 0 ] || { echo "--- firstbyte failed"; tail -5 "$T/fb.err"; }
    [ -n "${FB_VERBOSE:-}" ] && { echo "--- $vmm's first output"; head -c 600 "$T/fb.err"; echo; }
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
# BENCH_PARTS (default all): which parts run each round, e.g. "count firstbyte" while
# working on those rows.
want() { case " ${BENCH_PARTS:-all} " in *" all "*|*" $1 "*) return 0 ;; esac; return 1; }
# The emulated host's memory is backed by its emulator only when first touched, and the first
# VM to use a stretch of it pays for that: minivmm, first in every round, wrote 128 MiB in
# 1.5-1.7 s in round 1 and 0.6-0.8 s after, two runs alike. So all that is free is touched
# once before the first round (a file filled and removed; 300 MiB left for the host), and
# the two VMMs take turns going first (minivmm in odd rounds, QEMU in even ones).
warm_mb=$(awk '/^MemAvailable:/ { print int($2 / 1024) - 300 }' /proc/meminfo)
[ "${warm_mb:-0}" -gt 0 ] && dd if=/dev/zero of="$T/warm" bs=1M count="$warm_mb" 2>/dev/null
rm -f "$T/warm"
for r in $(seq "$ROUNDS"); do
    pair="minivmm qemu-vof"
    [ $((r % 2)) = 0 ] && pair="qemu-vof minivmm"
    want rootfs && for vmm in $pair; do
        rootfs_run $vmm "$r"
    done
    want marker && for vmm in $pair qemu-slof; do
        run $vmm marker "$r"
    done
    want bench && for vmm in $pair; do
        dd if=/dev/zero of="$T/disk.img" bs=1M count=136 2>/dev/null   # the guest uses 128
        # The network's sink takes the guest's 64 MiB until the guest ends its side. Its stdin
        # never ends: busybox's nc -l drops the connection when its stdin does.
        [ -n "$NET" ] && { sleep 600 | nc -l -p 8081 > /dev/null & }
        run $vmm bench "$r" "$T/disk.img"
    done
    # QEMU with SLOF too, for its hcall column; no disk, so it has no blk numbers.
    want bench && run qemu-slof bench "$r"
    if want vsock && command -v vsockxfer >/dev/null 2>&1; then
        vsock_run "$r" 67108864
        vsock_run "$r" 1
    fi
    # The counts (tracing only for these runs: the timed ones above run without it).
    if want count && counts_setup; then
        for vmm in $pair; do
            count_run $vmm "$r"
        done
        counts_cleanup
    fi
    if want firstbyte; then
        if command -v firstbyte >/dev/null 2>&1; then
            for vmm in $pair; do
                fb_run $vmm "$r"
            done
        else
            echo "BENCH-ERROR no firstbyte here: no CPU-time-to-first-output row"
        fi
    fi
done
rm -rf "$T"
echo "BENCH-DONE"
