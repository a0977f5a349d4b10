#!/usr/bin/env bash
# The boot tests: run tests/boot/cases.sh where there is KVM for POWER (directly on a POWER
# host with /dev/kvm, otherwise inside the emulated POWER host) and check what it reported.
# Prints one line per check and a closing "N passed, N failed, N skipped" line (a case this
# machine cannot run is a printed, counted skip, never a silent one); exits non-zero on failure.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/tests/host/common.sh"
log_dir=${BOOT_LOG_DIR:-$top/build/boot}
mkdir -p "$log_dir"
report=$log_dir/report.log

start=$(date +%s)
images=$log_dir/images
bash "$here/images.sh" "$images" 2>/dev/null || die "cannot make the test disk images (tests/boot/images.sh)"
# The big-endian guest needs the big-endian cross compiler (deps.sh installs it off POWER).
be=$log_dir/guest-be
if command -v powerpc64-linux-gnu-gcc >/dev/null || [ "$(uname -m)" = ppc64 ]; then
    bash "$top/tests/host/guest-be.sh" "$be" || die "cannot make the big-endian test guest (tests/host/guest-be.sh)"
else
    be=
fi
case "$(uname -m)" in
ppc64le|ppc64)
    [ -w /dev/kvm ] || die "this POWER host has no usable /dev/kvm (load kvm-hv, check permissions)"
    kdir=$(bash "$top/tests/host/fetch-kernel.sh")
    initrd=$log_dir/guest.cpio.gz
    MODULES="$GUEST_MODULES" bash "$top/tests/host/mkinitramfs.sh" "$initrd" "$top/tests/guest/init" \
        $(guest_test_files "$kdir")
    BOOT_ON_POWER_HOST=1
    MINIVMM=$top/minivmm GUEST_KERNEL=$kdir/vmlinux GUEST_INITRD=$initrd IMAGES=$images \
        EXAMPLES=$top/build/examples PIPESIZE=$top/build/tests/pipesize GDBPOKE=$top/build/tests/gdbpoke \
        VSOCKXFER=$top/build/tests/vsockxfer NOIRQFD=$top/build/tests/noirqfd \
        GUEST_KERNEL_BE=${be:+$be/vmlinux-be} GUEST_INITRD_BE=${be:+$be/initrd-be.gz} \
        GUEST_MARKER_BE=${be:+$be/marker-be} \
        PAYLOAD_LE=$top/build/tests/payload-le PAYLOAD_BE=$top/build/tests/payload-be \
        sh "$here/cases.sh" > "$report" 2>&1
    ;;
*)
    # The L1 gets the cases (cases.sh finds cases-blk.sh beside itself), the images, and
    # device-mapper for the failing-disk case (its modules from Debian's kernel, dmtable).
    kdir=$(bash "$top/tests/host/fetch-kernel.sh")
    L1_EXTRA="$here/cases-blk.sh=cases-blk.sh $here/cases-ci.sh=cases-ci.sh \
              $here/cases-9p.sh=cases-9p.sh $here/cases-rootfs.sh=cases-rootfs.sh \
              $here/cases-net.sh=cases-net.sh \
              $here/cases-papr.sh=cases-papr.sh $here/cases-gdb.sh=cases-gdb.sh \
              $top/build/tests/gdbpoke=bin/gdbpoke \
              $here/cases-vsock.sh=cases-vsock.sh $top/build/tests/vsockxfer=bin/vsockxfer \
              $top/build/tests/payload-le=guest/payload-le $top/build/tests/payload-be=guest/payload-be \
              $(bash "$top/tests/host/modtree.sh" "$log_dir/modtree") \
              $here/cases-lib.sh=cases-lib.sh $here/cases-bad.sh=cases-bad.sh \
              $top/build/examples/run-in-vm=bin/run-in-vm \
              $top/build/examples/vm-sequence=bin/vm-sequence \
              $top/build/tests/pipesize=bin/pipesize $top/build/tests/noirqfd=bin/noirqfd \
              $images/data.ext4=images/data.ext4 \
              $images/root.ext4=images/root.ext4 $top/build/tests/dmtable=bin/dmtable \
              $kdir/modules/kernel/drivers/md/dm-mod.ko=lib/dm-mod.ko \
              $kdir/modules/kernel/drivers/block/loop.ko=lib/loop.ko \
              ${be:+$be/vmlinux-be=guest/vmlinux-be $be/initrd-be.gz=guest/initrd-be.gz}
              ${be:+$be/marker-be=guest/marker-be}" \
        L1_PASST=1 bash "$top/tests/host/l1-run.sh" "$here/cases.sh" "${BOOT_TIMEOUT:-1800}" > "$report" 2>&1
    ;;
esac
# The other emulated host kinds: the seed's matrix rows that Debian's 64 KiB, nested-Radix
# host cannot show. With 4 KiB pages (tests/host/build-kernel.sh) a Radix and a Hash pseries
# guest and a Hash bare-metal POWER9 (powernv, where KVM-PR guests run); with Debian's
# 64 KiB pages a Hash bare-metal POWER9 (KVM-HV's Hash guests of either page size, no
# hugepages needed). Emulation only: a real POWER host is whichever one kind it is, and the
# main cases already ran on it. Each kind runs cases-hosts.sh, with the payloads.
# The bare-metal 4 KiB host also gets the gdb cases: a real gdb here (gdb-session.sh, run
# alongside the L1) debugs a guest kernel under minivmm's stub there, one session per KVM
# flavour in gdb_kvm, through a port forwarded into the L1 (l1-run.sh's L1_HOSTFWD). The L1
# learns the flavours from its command line (cases-hosts.sh).
# KVM-PR only: KVM-HV knows a breakpoint by the instruction the processor reports as trapping
# (HEIR), which QEMU's emulated POWER9 fills only from QEMU 8.0 on (Debian 12 has 7.2); there
# the guest takes an illegal instruction instead (README, "Debugging a guest with gdb").
# cases-hosts.sh's gdb-hv-hash checks the rest of the stub under KVM-HV on this host.
gdb_kvm="pr"
gdb_skip=$(bash "$here/gdb-session.sh" --have-gdb) && gdb_skip=
if [ -z "${BOOT_ON_POWER_HOST:-}" ] && [ "${BOOT_HOSTS:-1}" = 1 ]; then
    for kind in radix-4k hash-4k powernv-4k powernv-64k; do
        gdb_pid= hostfwd= append=$([ $kind = radix-4k ] || echo disable_radix)
        if [ $kind = powernv-4k ] && [ -z "$gdb_skip" ]; then
            # A free port now; QEMU binds it moments later (it says so if it lost the race).
            port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
            hostfwd=$port:1234 append="$append minivmm.gdb=${gdb_kvm// /,}"
            # Its wait is bounded by the L1's life: it ends with it.
            GDB_WAIT_S=${BOOT_TIMEOUT:-1800} bash "$here/gdb-session.sh" "$port" \
                "$(bash "$top/tests/host/build-kernel.sh" l1-4k)/vmlinux" "$log_dir/gdb" $gdb_kvm \
                > "$log_dir/report-gdb.log" 2>&1 &
            gdb_pid=$!
        fi
        L1_KERNEL=$([ $kind = powernv-64k ] && echo debian || echo 4k) \
            L1_APPEND=$append L1_HOSTFWD=$hostfwd \
            L1_MACHINE=$([ ${kind%%-*} = powernv ] && echo powernv || echo pseries) \
            L1_EXTRA="$top/build/tests/payload-le=guest/payload-le $top/build/tests/payload-be=guest/payload-be $top/build/tests/gdbpoke=bin/gdbpoke" \
            bash "$top/tests/host/l1-run.sh" "$here/cases-hosts.sh" "${BOOT_TIMEOUT:-1800}" \
            > "$log_dir/report-$kind.log" 2>&1
        [ -n "$gdb_pid" ] && { kill "$gdb_pid" 2>/dev/null; wait "$gdb_pid"; }
    done
fi
echo "boot tests ran in $(( $(date +%s) - start ))s; full log: $report"

# The section of the report that belongs to one case (console lines end in \r: drop them).
section() { tr -d '\r' < "$report" | sed -n "/^=== CASE $1\$/,/^=== RESULT $1 /p"; }

pass=0 fail=0 skipped=0
# The bare-metal payload (tests/payload) passed every check of its own and powered off.
check_payload() {   # check_payload NAME [TEXT...]
    local name=$1; shift
    check "$name" 0 "payload: started" "payload: ok rtas-display-character" \
        "minivmm-exit-code: 0" '!payload: FAIL' "$@"
}
check() {   # check NAME STATUS [TEXT...]: the case ended with STATUS and printed every TEXT
            # (a TEXT starting with ! must NOT appear); NAME may be HOST/CASE for another report
    local name=$1 want=$2; shift 2
    local case=${name#*/} sec got
    sec=$(section "$case")
    got=$(printf '%s\n' "$sec" | sed -n "s/^=== RESULT $case status=\([0-9]*\).*/\1/p")
    local why=""
    if [ -z "$sec" ]; then why="did not run"
    elif [ "$got" != "$want" ]; then why="exit status ${got:-none}, expected $want"
    else
        for text in "$@"; do
            case $text in
            # Here-strings, not pipes: with pipefail, grep -q leaving early could fail the
            # writer with SIGPIPE and turn a match into a miss.
            !*) ! grep -qF -- "${text#!}" <<< "$sec" || { why="output has '${text#!}'"; break; } ;;
            *) grep -qF -- "$text" <<< "$sec" || { why="output lacks '$text'"; break; } ;;
            esac
        done
    fi
    if [ -z "$why" ]; then echo "ok - $name"; pass=$((pass + 1))
    else
        echo "not ok - $name: $why"; fail=$((fail + 1))
        # What the case printed last, so a CI log alone shows why.
        printf '%s\n' "$sec" | tail -n 20 | sed 's/^/#   /'
    fi
}

check boot-smp 0 "MINIVMM-GUEST-UP mode=marker cpus=2 mmu=Radix" "MINIVMM-GUEST-POWEROFF" \
    "KVM-HV, Radix guest MMU, 2 vCPU(s)" "random: crng init done" \
    "exits to minivmm in" "PAPR_HCALL" "stats: hcalls: " "H_RTAS"
skip() { echo "skip - $1: $2"; skipped=$((skipped + 1)); }
if [ -z "$be" ]; then skip be-guest "no big-endian cross compiler (powerpc64-linux-gnu-gcc; tests/host/deps.sh installs it off POWER)"
else check be-guest 0 "big-endian" "mode=marker cpus=1 mmu=Radix" "arch=ppc64 endian=big" \
        "MINIVMM-BE-DISK read [written by the host]" "MINIVMM-BE-DISK written" \
        "MINIVMM-GUEST-POWEROFF"
    check be-guest-disk-check 0 "the guest's sector reached the image"; fi
check panic 4 "the guest printed: " "Kernel panic - not syncing: sysrq triggered crash"
check panic-os-term 4 "the guest terminated (ibm,os-term)" "sysrq triggered crash"
check reboot 3 "the guest requested a reboot"
check bad-kernel-missing 1 "cannot open kernel"
check bad-kernel-empty 1 "is empty"
check bad-kernel-text 1 "is not an ELF file"
check bad-kernel-truncated 1 "is truncated"
check bad-kernel-x86 1 "not 64-bit PowerPC"
check bad-kernel-elf32 1 "is a 32-bit ELF"
check bad-kernel-dir 1 "is not a regular file"
check bad-memory 1 "too little memory"
check huge-memory 1 "more than this host's"
check bad-cpus 1 "number of vCPUs"
check bad-initrd 1 "cannot open initrd"
check no-kernel 1 "no kernel given"
if [ -z "${BOOT_ON_POWER_HOST:-}" ]; then   # facts of the emulated host, not of every host
    check hash-on-nested 2 "nested KVM-HV carries Radix guests only"
    check pr-unavailable 2 "KVM-PR needs a Hash (HPT) host and this host runs Radix"
    # The doctor's view of the emulated host matches what the cases around it find.
    check check-host 0 "Radix MMU, 64 KiB pages, itself a guest" \
        "Radix guest, 64 KiB pages (HV)           yes" \
        "Radix guest, 4 KiB pages (HV)            yes" \
        "HPT guest, 4 KiB hash pages (HV)         no: this host's KVM-HV cannot run Hash" \
        "HPT guest, any page size (KVM-PR)        no: KVM-PR needs a Hash (HPT) host" \
        "Radix guest running KVM-HV (nested HV)   yes" "the requested guest: runs as a KVM-HV Radix"
    check check-hash 2 "the requested guest: cannot run here" "HPT must not appear anywhere"
    check nested-hv 0 "MINIVMM-GUEST-KVM kvm-hv loaded, /dev/kvm ready"
    check nested-hv-off 0 "MINIVMM-GUEST-KVM kvm-hv refused"
    check blk-direct 1 "cache=none needs O_DIRECT"
fi
check nested-hv-hash 2 "--nested-hv needs a Radix guest"
# Devices signal with MSI-X unless the guest keeps to INTx (--stats counts both).
msix_used=("MSI-X messages, 0 INTx raised, 0 MSI-X messages dropped" "!interrupts: 0 MSI-X messages")
check irqchip-user 0 "interrupts: userspace XICS" "mode=blk-write cpus=2" "MINIVMM-BLK-WRITTEN" \
    "MINIVMM-BLK-READBACK-OK" "${msix_used[@]}"
for chip in kernel user; do
    check intx-$chip 0 "MINIVMM-BLK-WRITTEN" "MINIVMM-BLK-READBACK-OK" \
        "interrupts: 0 MSI-X messages" "!, 0 INTx raised"
done
check irqfd-refused 0 "KVM refused irqfds (Invalid argument): MSI-X messages go by KVM_IRQ_LINE" \
    "MINIVMM-BLK-WRITTEN" "MINIVMM-BLK-READBACK-OK" "${msix_used[@]}"
check blk-write 0 "MINIVMM-BLK-WRITTEN" "MINIVMM-BLK-SIZE 8388608" "1 virtio-blk disk(s)" \
    "MINIVMM-VIRTIO-RING 11" "MINIVMM-BLK-READBACK-OK" "${msix_used[@]}"
check blk-write-check 0 "pattern intact" "rest untouched"
check blk-ro 0 "MINIVMM-BLK-RO 1" "MINIVMM-BLK-RO-WRITE-REFUSED" "MINIVMM-BLK-RO-RAW-WRITE-REFUSED" \
    "MINIVMM-BLK-RO-DISCARD 0 0"
check blk-ro-check 0 "image unchanged"
# The limits advertised (max_discard_sectors, max_write_zeroes_sectors, in bytes); every step
# done by the device; then the image as the host sees it.
check blk-discard 0 "MINIVMM-BLK-DISCARD-MAX 2147483648 33554432" "MINIVMM-BLK-DISCARD-WRITTEN" \
    "MINIVMM-BLK-DISCARD-OK" "MINIVMM-BLK-ZEROES-OK" "MINIVMM-BLK-ZEROES-UNMAP-OK" \
    "MINIVMM-BLK-DISCARD-READS-ZEROS" "MINIVMM-BLK-ZEROES-READ-ZEROS" "MINIVMM-BLK-DISCARD-REST-KEPT"
check blk-discard-check 0 "holes punched" "three quarters zero" "last quarter kept" "size kept"
check blk-ext4 0 "MINIVMM-EXT4: hello from an ext4 image made on the host"
check blk-root 0 "MINIVMM-ROOTFS-UP root=/dev/vda ext4"
check blk-missing 1 "No such file or directory"
check blk-dir 1 "is not a regular file or a block device"
check blk-badopt 1 "unknown disk option 'bogus'"
check ci-timeout 7 '"exit_reason": "timeout"' '"exit_status": 7' "still running after 20 s" \
    '!MINIVMM-GUEST-UP' "minivmm: what the vCPUs were doing:" "minivmm: vCPU 0: NIP c000" \
    "minivmm: vCPU 0: code at c000" '"vcpu_state": [' '"nip": "0xc000' '"nip_symbol": "'
# The report names the function: a symbol of Debian's vmlinux, never a bare address.
sym=$(section ci-timeout | sed -n 's/.*"nip_symbol": "\([A-Za-z_.][A-Za-z0-9_.]*\)[+"].*/\1/p')
check ci-timeout 7 "minivmm: vCPU 0: NIP c000" "<${sym:-no symbol}"
check ci-sigusr1 6 "the guest ran on after report 1" "the guest ran on after report 2" \
    "reports: 2" "minivmm: vCPU 0: NIP c000" "minivmm: vCPU 1: NIP c000" '"state": "running"' \
    '"nip_symbol": "'
check ci-expect 0 '"exit_reason": "pattern"' '"pattern": "MINIVMM-HANG"' '"kvm": "HV"' \
    '"mmu": "radix"'
check ci-panic 4 '"exit_reason": "panic"' 'Kernel panic - not syncing: sysrq triggered crash' \
    '"seconds_to_first_output": ' '!"seconds_to_first_output": null' '!MINIVMM-GUEST-UP'
check ci-fail-on 8 '"exit_reason": "fail-pattern"' '"pattern": "MINIVMM-HANG"'
check ci-exit-code 0 '"exit_reason": "poweroff"' '"guest_exit_code": 42' \
    "MINIVMM-GUEST-UP mode=exitcode"
# The GDB stub (cases-gdb.sh): the entry state (PC 0, MSR = SF|ME, in the little-endian
# kernel's order), both vCPUs as threads, linux_banner read in real mode and again through the
# Radix tree, an interrupt, a bad address refused, detach (the guest ran on), kill (status 6).
check gdb-nested 6 "? => T05thread:01;" "qfThreadInfo => m01,02" "p40 => 0000000000000000" \
    "p41 => 0010000000000080" ",d => 4c696e75782076657273696f6e" "^C => T02thread:0" \
    "Hg2 => OK" "mffffffffffff0000,4 => E" "D => OK" "gdbpoke status 0" \
    "the guest ran on after the debugger detached" "minivmm: killed from the debugger"
if [ "$(section gdb-nested | grep -c ',d => 4c696e75782076657273696f6e')" = 2 ]; then
    echo "ok - gdb-nested-banner-twice"; pass=$((pass + 1))
else echo "not ok - gdb-nested-banner-twice: linux_banner not read in both modes"; fail=$((fail + 1)); fi
# vsock: every connection's bytes intact both ways at both ends (the pattern's own checksum),
# the transport bound, no guest fault counted, the socket removed at the end.
check vsock 0 "MINIVMM-VSOCK-BOUND 1" "vsock: guest CID 3" \
    "vsock: intact both ways: guest 1 x 16 MiB, 32 x 1 MiB; host 1 x 16 MiB, 16 x 1 MiB; host listener 16 x 1 MiB" \
    "MINIVMM-VSOCK-STEP listen:5000:1:16777216 status 0" "MINIVMM-VSOCK-STEP listen:5001:16:1048576 status 0" \
    "MINIVMM-VSOCK-STEP connect:2:6000:16:1048576 status 0" "vsock: the socket file is gone after the run" \
    "MINIVMM-GUEST-POWEROFF" '!stats: vsock faults'
check vsock-bad-cid 1 "the guest's CID must be 3 to 4294967294"
check vsock-no-uds 1 "no uds=PATH, the host's socket (write --vsock 3,uds=/tmp/vm.sock)"
check vsock-not-socket 1 "exists and is not a socket; remove it or choose another uds= path"
check vsock-rootfs 0 "vsock transports bound: 1"
check gdb-bad-address 1 "--gdb 1234: use --gdb tcp:[HOST:]PORT or unix:PATH"
check gdb-wait-alone 1 "--gdb-wait waits for a debugger: give --gdb too"
check lib-run-in-vm 3 "hello-from-the-sandbox" "to-stderr" "66 72 6f 6d 00 73 74 64 69 6e" "!Linux version"
check lib-sequence 0 "vm-sequence: 3 runs, nothing left behind"
check snapshot 0 "MINIVMM-BLK-WRITTEN" "MINIVMM-BLK-READBACK-OK"
check snapshot-check 0 "image unchanged"
check bad-memory-zero 1 "too little memory"
check bad-cpus-many 1 "the number of vCPUs must be 1 to 256"
check cpus-256 7 "256 vCPU(s)" "radix-mmu: Page size" "still running after 30 s"
check cpus-8 0 "MINIVMM-GUEST-UP mode=marker cpus=8" "MINIVMM-GUEST-POWEROFF"
check bad-initrd-too-big 1 "does not fit below"
check bad-mem-path-not-hugetlbfs 1 "is not a hugetlbfs mount"
check bad-mem-path-odd-size 1 "is not a multiple of the 2048 KiB hugepages"
check bad-mem-path-no-pages 2 "has 0 free 2048 KiB hugepages but the guest needs 256" \
    "sysctl vm.nr_hugepages="
check hugetlbfs-boot 0 "512 MiB hugetlbfs memory" "MINIVMM-GUEST-UP mode=marker"
check slow-stdout 0 "flood lines: 5000 last: FLOOD-LINE-5000" "flood complete"
check 9p-share 0 "MINIVMM-9P-MOUNTED" "MINIVMM-9P-WROTE" "MINIVMM-9P-LIST 1000" \
    "MINIVMM-9P-LINK inside the share" "MINIVMM-9P-READLINK ../canary" \
    "MINIVMM-9P-LINK-TO-ROOT-IS-THE-GUESTS" "MINIVMM-9P-LINK-OUT-CONTAINED" \
    "MINIVMM-9P-DOTDOT-CONTAINED" "MINIVMM-9P-RO-READ read only" "MINIVMM-9P-RO-REFUSED" \
    "share: shares" "as 'host'" "as 'ro', read-only" "!the host's canary" "${msix_used[@]}"
check 9p-share-check 0 "the guest's file reached the host" "canary intact" \
    "read-only share unchanged"
# The guest read exactly what the host wrote.
want=$(section 9p-share-check | sed -n 's/^host wrote //p')
check 9p-share 0 "MINIVMM-9P-READ ${want:-nothing}"
check 9p-check 0 "device: --share" ",tag=host,ro"
check 9p-missing 1 "no-such-dir"
check 9p-badopt 1 "unknown option 'rw'"
check 9p-same-tag 1 "tag 'x' is taken"
# virtio-net (cases-net.sh): passt's DHCP and the files whole (the guest read what the host
# served), the link down once passt is killed and minivmm saying so, no passt left behind, two
# NICs, the --rootfs init's own set-up, a tap device, and bad input refused with the fix.
if section net-skip | grep -q "no passt"; then
    skip net "no passt on this host (Debian's package passt)"
else
    big=$(section net-files | sed -n 's/^16M //p') small=$(section net-files | sed -n 's/^small //p')
    # The emulated host's uplink is a dummy 10.0.2.15/24 via 10.0.2.2 (l1-init); a real host's is its own.
    addr="MINIVMM-NET-ADDR "; rootfs_gw=default
    [ -z "${BOOT_ON_POWER_HOST:-}" ] && addr="MINIVMM-NET-ADDR 10.0.2.15/24 gw=10.0.2.2 mtu=65520" \
        rootfs_gw="default via 10.0.2.2 dev eth0"
    check net-passt 0 "$addr" "MINIVMM-NET-GOT 8080/16M 16777216 ${big:-none}" \
        "MINIVMM-NET-GOT 8080/small 13 ${small:-none}" "MINIVMM-NET-CARRIER 1" \
        "net0: passt closed its connection; passt exited with status 0: the guest's link is down" \
        "MINIVMM-NET-CARRIER-NOW 0" "MINIVMM-GUEST-POWEROFF" "1 links down"
    check net-passt-gone 0 "no passt left"
    check net-two 0 "02:6d:76:6d:00:00" "02:00:00:00:00:2a" "minivmm-exit-code: 0"
    check net-rootfs 0 "a small file" "$rootfs_gw" "nameserver " "resolves nothing outside"
    if section net-tap | grep -q '^SKIP'; then skip net-tap "$(section net-tap | sed -n 's/^SKIP //p')"
    else check net-tap 0 "MINIVMM-NET-ADDR 192.168.77.2/24" "MINIVMM-NET-GOT 8080/small 13 ${small:-none}"; fi
    check net-bad-passt 2 "cannot start passt /no/such/passt: No such file or directory"
    check net-bad-spec 1 "--net frob: unknown option 'frob' (use passt, passt=PATH, tap=NAME"
    check net-no-passt 2 "passt not found on PATH: install Debian's passt"
fi
# PAPR conformance (cases-papr.sh): the bare-metal payload in both byte orders on 2 vCPUs (its
# status reaches the JSON as the guest's exit code), and placed elsewhere on one.
for order in le be; do
    check_payload payload-$order "payload: loaded at 0x400000" "ok secondary-stop-2"
    check payload-$order-json 0 '"guest_exit_code": 0' '"exit_reason": "poweroff"'
done
check_payload payload-kernel-addr "payload: loaded at 0x2000000" "skip secondary (one CPU"
# Linux entered big-endian in real mode; its clock and hwrng.
check papr-linux 0 "MINIVMM-GUEST-UP mode=papr cpus=2" "MINIVMM-DATE 2006-06-17" \
    "MINIVMM-HWCLOCK Fri Nov 11 11:11:1" "MINIVMM-HWRNG 4096 bytes, incompressible" \
    "pseries_rng"
check linux-kernel-addr 0 "MINIVMM-GUEST-UP mode=marker" "MINIVMM-GUEST-POWEROFF"
if [ -z "$be" ]; then skip be-guest-smp "no big-endian cross compiler"
else check be-guest-smp 0 "MINIVMM-GUEST-UP mode=marker cpus=2" "endian=big"; fi
check bad-kernel-addr 1 "not a multiple of 64 KiB"
check bad-kernel-addr-high 1 "loaded at 0x40000000 does not fit below" \
    "give a lower --kernel-addr (at most 0x"
check bad-rtc-base 1 "--rtc-base 2006-02-30: use now, utc, or a UTC date"
# --rootfs DIR -- COMMAND (cases-rootfs.sh): the command's status is minivmm's.
check rootfs-true 0 "!minivmm:"
check rootfs-exit7 7
check rootfs-kill9 137
check rootfs-not-found 127 "minivmm: no-such-command-here: command not found"
check rootfs-not-executable 126 "/proc/version" "not executable"
check rootfs-uname 0 "Linux" "ppc64le" "!Booting Linux"
check rootfs-json 0 '"exit_status": 0' '"guest_exit_code": 0'
check rootfs-stdio-apart 0 "status 3" "stdout is the command's alone" \
    "stderr is the command's alone" "the kernel's messages are in the log"
check rootfs-binary 0 "status 0" "1 MiB came back unchanged"
check rootfs-stdin-left 0 "the rest of stdin was left for the next reader"
check rootfs-cwd 0 "status 0" "the command ran in the host's directory"
check rootfs-overlay 0 "x" "y" "status 0" "the host's root is unchanged"
check rootfs-rw 0
check rootfs-shell 5 "/dev/hvc1" "shell-says-42"
check rootfs-no-shebang 0 "script-without-shebang a1"
check rootfs-system 0 "fd-links" "shm-there" "lo=0x9" "status 0"
check rootfs-rw-check 0 "the guest's file reached the host"
check rootfs-no-9p 125 "minivmm: the kernel has no 9p file system" "CONFIG_9P_FS"
check rootfs-module-missing 125 "9p" "CONFIG_9P_FS"
check rootfs-bad-dir 125 "no-such-dir"
check rootfs-no-rootfs 1 "add --rootfs DIR"
if [ -n "$be" ]; then
    check rootfs-be 42 "MINIVMM-BE-COMMAND arch=ppc64 endian=big argc=3 last=last-arg" \
        "MINIVMM-BE-STDERR"
else
    skip rootfs-be "no big-endian cross compiler"
fi
check sigterm 6 "stopped by signal"
for con in hvc0 hvc1; do
    check stuck-stdout-timeout-$con 7 "the guest was flooding" "the console was blocked" \
        "ended within 47 s" "--timeout"
    check stuck-stdout-sigterm-$con 6 "the guest was flooding" "the console was blocked" \
        "ended within 1 s of the signal" \
        "stopped by signal"
done
if [ -z "${BOOT_ON_POWER_HOST:-}" ]; then
    check disk-full 0 "MINIVMM-BLK-FIRST-OK" "MINIVMM-BLK-SECOND-FAILED" "MINIVMM-GUEST-POWEROFF"
    check disk-full-check 0 "flushed data intact"
    check disk-dm-error 0 "MINIVMM-BLK-FIRST-OK" "MINIVMM-BLK-SECOND-FAILED" "MINIVMM-GUEST-POWEROFF"
    check disk-dm-error-check 0 "flushed data intact"
    check kvm-permission 2 "permission denied opening /dev/kvm" "usermod -aG kvm"
    check disk-permission 1 "Permission denied" "cannot open disk"
    check no-dev-kvm 2 "/dev/kvm does not exist" "modprobe kvm-hv"
    check kvm-no-driver 2 "/dev/kvm exists but no KVM module serves it" "!usermod"
    check no-kvm-module 2 "neither kvm-hv nor kvm-pr is loaded"
fi
check virtio-console 0 "MINIVMM-VCON-OUT over virtio" "MINIVMM-VCON-IN [hello-from-host]" \
    "${msix_used[@]}" \
    "a virtio console"
for chip in kernel user; do
    check vty-input-$chip 0 "typed-42 1" "MINIVMM-GUEST-POWEROFF"   # and an hvc interrupt
done
check dump-dtb 0 "--- END DTB"

# The dumped tree must read back with dtc, and hold what a pseries guest needs.
dts=$log_dir/guest.dts
section dump-dtb | sed -n '/^--- DTB BASE64$/,/^--- END DTB$/p' | sed '1d;$d' | base64 -d > "$log_dir/guest.dtb" 2>/dev/null
if dtc -q -I dtb -O dts -o "$dts" "$log_dir/guest.dtb" 2>/dev/null &&
   grep -q 'device_type = "chrp"' "$dts" && grep -q 'ibm,architecture-vec-5' "$dts" &&
   grep -q 'PowerPC,POWER9@1' "$dts" && grep -q 'hcall-set-mode' "$dts" &&
   grep -q 'IBM,Logical_PHB' "$dts" && grep -q 'vendor-id = <0x1af4>' "$dts" &&
   grep -q 'ibm,req#msi-x = <0x02>' "$dts" && grep -q 'ibm,pe-total-#msi' "$dts" &&
   grep -q 'ibm,change-msi' "$dts" && grep -q 'ibm,query-interrupt-source-number' "$dts"; then
    echo "ok - dump-dtb reads back with dtc"; pass=$((pass + 1))
else
    echo "not ok - dump-dtb reads back with dtc"; fail=$((fail + 1))
fi

if [ -z "${BOOT_ON_POWER_HOST:-}" ] && [ "${BOOT_HOSTS:-1}" = 1 ]; then
    # Radix host, 4 KiB pages: KVM-HV runs a Radix guest whose kernel has 64 KiB pages.
    report=$log_dir/report-radix-4k.log
    check radix-4k/check 0 "Radix MMU, 4 KiB pages, itself a guest" \
        "Radix guest, 64 KiB pages (HV)           yes" \
        "HPT guest, any page size (KVM-PR)        no: KVM-PR needs a Hash (HPT) host"
    check radix-4k/radix-guest-64k 0 "KVM-HV, Radix guest MMU, 2 vCPU(s)" \
        "MINIVMM-GUEST-UP mode=marker cpus=2 mmu=Radix kernel=6.1.0" "MINIVMM-GUEST-POWEROFF"
    check radix-4k/hash-refused 2 "HPT must not appear anywhere in the chain"
    check radix-4k/too-many-vcpus 1 "-c 9: this host's KVM allows at most 8 vCPUs" "use -c 8 or fewer"
    check radix-4k/pr-refused 2 "KVM-PR needs a Hash (HPT) host and this host runs Radix"
    # Hash host, 4 KiB pages (booted with disable_radix): KVM-PR, and nothing else.
    report=$log_dir/report-hash-4k.log
    check hash-4k/check 0 "Hash MMU, 4 KiB pages, itself a guest" \
        "HPT guest, any page size (KVM-PR)        yes" \
        "Radix guest, 4 KiB pages (HV)            no: KVM-HV is not available: this host is itself a Hash (HPT) guest" \
        "the requested guest: runs as a KVM-PR Hash (HPT) guest"
    check hash-4k/pr-machine 0 "KVM-PR, Hash guest MMU, 1 vCPU(s)" "512 MiB anonymous memory"
    check hash-4k/pr-dtb 0 "pft-size present" "hcall-pft present" "no splpar"
    check hash-4k/radix-refused 2 "KVM-PR runs Hash (HPT) guests only"
    check hash-4k/hv-refused 2 "KVM-HV is not available: this host is itself a Hash (HPT) guest"
    check hash-4k/nested-refused 2 "--nested-hv needs KVM-HV"
    check hash-4k/check-hugepages 0 "16 MiB: 34 free, hugetlbfs at /dev/hugepages" \
        "the requested guest: runs as a KVM-PR Hash (HPT) guest with 512 MiB of hugepage-backed memory"
    check hash-4k/pr-hugepages 0 "KVM-PR, Hash guest MMU" "512 MiB hugetlbfs memory"
    # Bare-metal POWER9 (powernv), Hash, 4 KiB pages: KVM-PR and KVM-HV both boot Hash guests;
    # HV's need hugepages for their real-mode area and get 4 KiB hash pages.
    report=$log_dir/report-powernv-4k.log
    check powernv-4k/check 0 "Hash MMU, 4 KiB pages, bare metal" \
        "HPT guest, any page size (KVM-PR)        yes" \
        "HPT guest, 4 KiB hash pages (HV)         no: unable to give the Hash (HPT) guest a 512 MiB real-mode area" \
        "Radix guest, 64 KiB pages (HV)           no: this host cannot run Radix guests"
    check powernv-4k/pr-guest 0 "KVM-PR, Hash guest MMU, 1 vCPU(s)" "512 MiB anonymous memory" \
        "MINIVMM-GUEST-UP mode=marker cpus=1 mmu=Hash kernel=6.1.0" "MINIVMM-GUEST-POWEROFF"
    check powernv-4k/pr-radix-refused 2 "KVM-PR runs Hash (HPT) guests only"
    check powernv-4k/nested-refused 2 "cannot offer nested HV to its guests" "(this host runs Hash)"
    check powernv-4k/hv-radix-refused 2 "this host cannot run Radix guests" "boot it without disable_radix"
    check powernv-4k/hv-vrma-refused 2 "KVM-HV's VRMA only reaches 128 MiB" \
        "'sysctl vm.nr_hugepages=35' (16 MiB pages)" "then --mem-path /dev/hugepages"
    check powernv-4k/check-hugepages 0 "16 MiB: 34 free, hugetlbfs at /dev/hugepages" \
        "HPT guest, 4 KiB hash pages (HV)         yes, with hugepages from /dev/hugepages" \
        "HPT guest, 64 KiB hash pages (HV)        no: can't support 64 KiB guest hash pages with 4 KiB host pages" \
        "the requested guest: runs as a KVM-HV Hash (HPT) guest with 512 MiB of hugepage-backed memory"
    check powernv-4k/pr-hugepages 0 "KVM-PR, Hash guest MMU" "512 MiB hugetlbfs memory" \
        "MINIVMM-GUEST-UP mode=marker cpus=1 mmu=Hash" "MINIVMM-GUEST-POWEROFF"
    check powernv-4k/hv-hugepages 0 "KVM-HV, Hash guest MMU" "512 MiB hugetlbfs memory" \
        "MINIVMM-GUEST-UP mode=marker cpus=1 mmu=Hash kernel=6.1." '!kernel=6.1.0-' \
        "MINIVMM-GUEST-POWEROFF"
    check powernv-4k/hv-64k-kernel 0 "KVM-HV, Hash guest MMU" "virtual = 12" \
        "MINIVMM-GUEST-UP mode=marker cpus=1 mmu=Hash kernel=6.1.0" "MINIVMM-GUEST-POWEROFF"
    for order in le be; do
        check_payload powernv-4k/payload-pr-$order "KVM-PR, Hash guest MMU"
    done
    # The stub under KVM-HV on a Hash guest (gdbpoke): the banner read through KVM's hashed page
    # table, a breakpoint in and out with the guest's own word shown meanwhile, the warning.
    check powernv-4k/gdb-hv-hash 0 "? => T05thread:01;" ",4 => OK" "^C => T02thread:01;" \
        ",d => 4c696e75782076657273696f6e" "D => OK" "gdbpoke status 0" \
        "gdb: this POWER9 is QEMU's emulation"
    words=$(section gdb-hv-hash | sed -n 's/^m[0-9a-f]*,4 => \([0-9a-f]\{8\}\)$/\1/p' | sort -u)
    if [ "$(printf '%s\n' "$words" | grep -c .)" = 1 ] && [ "$words" != 00dddd00 ]; then
        echo "ok - powernv-4k/gdb-hv-hash-unshadowed"; pass=$((pass + 1))
    else echo "not ok - powernv-4k/gdb-hv-hash-unshadowed: start_kernel read as '$words'"
        fail=$((fail + 1)); fi
    # The other branch of the debugger's presence, faked (a debugger that is not there, one
    # that knows no POWER): each is a skip with its reason, never a failure.
    for fake in gdb-absent:"no gdb-absent " false:"false does not know powerpc:common64"; do
        if why=$(GDB=${fake%%:*} bash "$here/gdb-session.sh" --have-gdb) ||
            [ "${why#"${fake#*:}"}" = "$why" ]
        then echo "not ok - gdb-skip-${fake%%:*}: said '$why'"; fail=$((fail + 1))
        else echo "ok - gdb-skip-${fake%%:*}"; pass=$((pass + 1)); fi
    done
    # gdb: the debugger's sessions (gdb-session.sh checked each transcript) and the guests
    # they held, which booted on after the debugger detached.
    for kvm in $gdb_kvm; do
        if [ -n "$gdb_skip" ]; then skip powernv-4k/gdb-$kvm "$gdb_skip"; continue; fi
        kvm_name=$([ $kvm = hv ] && echo KVM-HV || echo KVM-PR)
        check powernv-4k/gdb-boot-$kvm 0 "$kvm_name, Hash guest MMU" \
            "MINIVMM-GUEST-UP mode=marker cpus=1 mmu=Hash" "MINIVMM-GUEST-POWEROFF"
        report=$log_dir/report-gdb.log
        check gdb/gdb-$kvm 0 "session complete: breakpoint, bt, registers, stepi"
        report=$log_dir/report-powernv-4k.log
    done
    # Bare-metal POWER9, Hash, 64 KiB pages: KVM-HV's Hash guests need no hugepages, get
    # 64 KiB hash pages (and 16 MiB ones from 16 MiB hugepages), and a 4 KiB kernel boots.
    report=$log_dir/report-powernv-64k.log
    check powernv-64k/check 0 "Hash MMU, 64 KiB pages, bare metal" \
        "HPT guest, 64 KiB hash pages (HV)        yes" \
        "HPT guest, 4 KiB hash pages (HV)         yes" \
        "Radix guest, 64 KiB pages (HV)           no: this host cannot run Radix guests" \
        "HPT guest, any page size (KVM-PR)        no: KVM-PR is not available" \
        "the requested guest: runs as a KVM-HV Hash (HPT) guest"
    check powernv-64k/hv-hash-64k 0 "KVM-HV, Hash guest MMU" "512 MiB anonymous memory" \
        "virtual = 16" "MINIVMM-GUEST-UP mode=marker cpus=1 mmu=Hash kernel=6.1.0" \
        "MINIVMM-GUEST-POWEROFF"
    check powernv-64k/hv-hash-4k-kernel 0 "KVM-HV, Hash guest MMU" "512 MiB anonymous memory" \
        "MINIVMM-GUEST-UP mode=marker cpus=1 mmu=Hash kernel=6.1." '!kernel=6.1.0-' \
        "MINIVMM-GUEST-POWEROFF"
    check powernv-64k/hv-radix-refused 2 "this host cannot run Radix guests"
    check powernv-64k/pr-refused 2 "KVM-PR is not available"
    check powernv-64k/check-hugepages 0 "16 MiB: 34 free, hugetlbfs at /dev/hugepages" \
        "HPT guest, 64 KiB hash pages (HV)        yes"
    check powernv-64k/hv-hash-16m 0 "KVM-HV, Hash guest MMU" "512 MiB hugetlbfs memory" \
        "linear mapping = 24, virtual = 16" "MINIVMM-GUEST-UP mode=marker cpus=1 mmu=Hash" \
        "MINIVMM-GUEST-POWEROFF"
    for order in le be; do
        check_payload powernv-64k/payload-hv-$order "KVM-HV, Hash guest MMU"
    done
fi

echo "boot: $pass passed, $fail failed, $skipped skipped"
[ "$fail" = 0 ]
