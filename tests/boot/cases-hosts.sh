# Boot cases for the emulated host kinds other than Debian's nested Radix one (run.sh): the
# 4 KiB-page L1 kernel of tests/host/build-kernel.sh as a pseries guest in Radix mode, as one
# booted with disable_radix (Hash), and as a Hash bare-metal POWER9 (powernv); and Debian's
# 64 KiB-page kernel as a Hash bare-metal POWER9. Same report format as cases.sh; run.sh
# checks each line of the seed's matrix the host kind can show.
T=${TMPDIR:-/tmp}/minivmm-cases-hosts.$$
mkdir -p "$T"
LIMIT=${CASE_TIMEOUT:-900}
GUEST_KERNEL_4K=${GUEST_KERNEL_4K:-/guest/vmlinux-4k}
mmu=$(sed -n 's/^MMU[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo)
platform=$(sed -n 's/^platform[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo)
page=$(od -An -v -tu8 -w16 /proc/self/auxv | awk '$1 == 6 { print $2 }')   # AT_PAGESZ

case_cmd() {   # case_cmd NAME command...
    name=$1; shift
    echo "=== CASE $name"
    timeout "$LIMIT" "$@" </dev/null 2>&1
    st=$?
    echo   # the output may end mid-line (a run stopped by --expect)
    echo "=== RESULT $name status=$st"
}
case_run() { name=$1; shift; case_cmd "$name" "$MINIVMM" "$@"; }

# Hugepages for the guest's memory: 512 MiB worth, and a little for the pool's own use.
hugepages() {
    huge=$(sed -n 's/^Hugepagesize:[[:space:]]*\([0-9]*\) kB/\1/p' /proc/meminfo)
    echo $(( 512 * 1024 / huge + 2 )) > /proc/sys/vm/nr_hugepages
    mkdir -p /dev/hugepages && mount -t hugetlbfs hugetlbfs /dev/hugepages
}

# The project's bare-metal payload (cases-papr.sh says what it checks), both byte orders, one
# CPU (these hosts have one), under the KVM flavour given or the host's default one.
payloads() {   # payloads NAME-PREFIX minivmm-args...
    prefix=$1; shift
    for order in le be; do
        case_run "$prefix-$order" -v --timeout 300 -k "/guest/payload-$order" -m 256M "$@"
    done
}

echo "=== HOST mmu=$mmu platform=$platform page=$page"
case_run check --check
if [ "$platform" = PowerNV ] && [ "$page" = 65536 ]; then
    # Bare-metal Hash host, 64 KiB pages (Debian's kernel, disable_radix): KVM-HV runs Hash
    # guests with 64 KiB hash pages from plain anonymous memory (the real-mode area reaches far
    # enough with 64 KiB backing pages), 16 MiB ones for the linear map from 16 MiB hugepages,
    # and a 4 KiB-page kernel; no KVM-PR (Debian builds none).
    case_run hv-hash-64k -v --timeout 600 -k "$GUEST_KERNEL" -i "$GUEST_INITRD" \
        -a "console=hvc0 debug minivmm.test=marker"
    case_run hv-hash-4k-kernel -v --timeout 600 -k "$GUEST_KERNEL_4K" -i "$GUEST_INITRD" \
        -a "console=hvc0 quiet minivmm.test=marker"
    case_run hv-radix-refused --mmu=radix -k "$GUEST_KERNEL" -i "$GUEST_INITRD"
    case_run pr-refused --kvm-type=pr -k "$GUEST_KERNEL" -i "$GUEST_INITRD"
    payloads payload-hv
    hugepages
    case_run check-hugepages --check --mem-path /dev/hugepages
    case_run hv-hash-16m -v --timeout 600 --mem-path /dev/hugepages -k "$GUEST_KERNEL" \
        -i "$GUEST_INITRD" -a "console=hvc0 debug minivmm.test=marker"
elif [ "$platform" = PowerNV ]; then
    # Bare-metal Hash host, 4 KiB pages: KVM-PR boots a Hash guest (Debian's 64 KiB-page
    # kernel: PR shadows every guest page with host pages itself). --timeout bounds each
    # boot: a hang must fail the case, not the whole run.
    marker="console=hvc0 quiet minivmm.test=marker"
    case_run pr-guest -v --kvm-type=pr --timeout 600 -k "$GUEST_KERNEL" -i "$GUEST_INITRD" \
        -a "$marker"
    case_run pr-radix-refused --kvm-type=pr --mmu=radix -k "$GUEST_KERNEL" -i "$GUEST_INITRD"
    case_run nested-refused --nested-hv -k "$GUEST_KERNEL" -i "$GUEST_INITRD"
    # KVM-HV on a Hash host with 4 KiB pages: Hash guests only, offered 4 KiB hash pages only
    # (a guest's hash pages can be no larger than the host's), and a real-mode area beyond
    # 128 MiB needs hugepage-backed memory (the VRMA limit).
    case_run hv-radix-refused --kvm-type=hv --mmu=radix -k "$GUEST_KERNEL" -i "$GUEST_INITRD"
    case_run hv-vrma-refused --kvm-type=hv -k "$GUEST_KERNEL_4K" -i "$GUEST_INITRD"
    hugepages
    case_run check-hugepages --check --kvm-type=hv --mem-path /dev/hugepages
    case_run pr-hugepages -v --kvm-type=pr --timeout 600 --mem-path /dev/hugepages \
        -k "$GUEST_KERNEL" -i "$GUEST_INITRD" -a "$marker"
    case_run hv-hugepages -v --kvm-type=hv --timeout 600 --mem-path /dev/hugepages \
        -k "$GUEST_KERNEL_4K" -i "$GUEST_INITRD" -a "$marker"
    # Debian's kernel has 64 KiB pages; offered 4 KiB hash pages only, it maps each of its
    # pages with 4 KiB hash entries and boots all the same (with "debug" it prints the hash
    # page orders it chose: "virtual = 12").
    case_run hv-64k-kernel -v --kvm-type=hv --timeout 600 --mem-path /dev/hugepages \
        -k "$GUEST_KERNEL" -i "$GUEST_INITRD" -a "console=hvc0 debug minivmm.test=marker"
    # The payload under KVM-PR, which emulates what it runs in supervisor state (KVM-HV's
    # Hash guests run it on the 64 KiB host).
    payloads payload-pr --kvm-type=pr
    # A real gdb on the machine running this emulated host (tests/boot/gdb-session.sh) debugs
    # the guest kernel: run.sh names the KVM flavours on this host's command line
    # (minivmm.gdb=hv,pr) when it runs that debugger, and forwards its port here. Each case
    # holds the vCPU before its first instruction until gdb has broken in start_kernel,
    # stepped, read memory and detached; then the guest boots on to the marker. (Software
    # breakpoints need this host kind: under nested KVM-HV on QEMU's pseries they do not work.)
    # KVM-HV, Hash, spoken to by gdbpoke on the loopback (tests/host/gdbpoke.c): kernel memory
    # through the hashed page table KVM holds (KVM_PPC_GET_HTAB_FD) once the kernel runs
    # translated, a breakpoint put in and taken out again before anything runs (reads show the
    # guest's own word meanwhile; KVM-HV's breakpoints cannot stop a guest on QEMU 7.2's
    # POWER9, which minivmm says), Ctrl-C and detach.
    echo "=== CASE gdb-hv-hash"
    "$MINIVMM" -v --kvm-type=hv --gdb tcp:1235 --gdb-wait --timeout 300 --mem-path /dev/hugepages \
        -k "$GUEST_KERNEL_4K" -i "$GUEST_INITRD" -a "console=hvc0 quiet minivmm.test=tick" \
        </dev/null > "$T/gdb-hv.log" 2>&1 &
    vm=$!
    GDBPOKE_ELF=$GUEST_KERNEL_4K timeout 300 /bin/gdbpoke tcp:1235 '?' 'm{start_kernel},4' \
        'Z0,{start_kernel},4' 'm{start_kernel},4' 'z0,{start_kernel},4' 'vCont;c' sleep:45 '^C' \
        p41 'm{linux_banner},d' D 2>&1
    echo "gdbpoke status $?"
    sleep 3; kill "$vm"; wait "$vm"
    grep -v TICK "$T/gdb-hv.log" | tail -n 12
    echo "=== RESULT gdb-hv-hash status=0"
    for kvm in $(sed -n 's/.*minivmm\.gdb=\([a-z,]*\).*/\1/p' /proc/cmdline | tr , ' '); do
        case_run "gdb-boot-$kvm" -v --kvm-type="$kvm" --gdb tcp:0.0.0.0:1234 --gdb-wait \
            --timeout 600 --mem-path /dev/hugepages -k "$GUEST_KERNEL_4K" -i "$GUEST_INITRD" \
            -a "$marker"
    done
elif [ "$mmu" = Radix ]; then
    # Radix 4 KiB host -> KVM-HV -> Radix guest running a 64 KiB-page kernel (Debian's).
    case_run radix-guest-64k -v -k "$GUEST_KERNEL" -i "$GUEST_INITRD" -c 2 \
        -a "console=hvc0 quiet minivmm.test=marker"
    case_run hash-refused --mmu=hash -k "$GUEST_KERNEL" -i "$GUEST_INITRD"
    # This kernel has NR_CPUS=8, so its KVM takes at most 8 vCPUs: a limit below minivmm's own.
    case_run too-many-vcpus -c 9 -k "$GUEST_KERNEL" -i "$GUEST_INITRD"
    case_run pr-refused --kvm-type=pr -k "$GUEST_KERNEL" -i "$GUEST_INITRD"
else
    # Hash 4 KiB host -> KVM-PR. minivmm builds the PR machine up to its vCPUs (its hashed
    # page table in our memory, the XICS, the devices, the device tree) and writes the tree
    # instead of running: in this emulated host a PR guest's hcalls never reach the L1 kernel
    # (QEMU's hypervisor answers a problem-state sc 1 itself; see README, Status). The PR
    # vCPUs' own set-up (SDR1, HIOR) is exercised by the powernv9 host's PR boots.
    case_run pr-machine -v --dump-dtb "$T/pr.dtb" -k "$GUEST_KERNEL" -i "$GUEST_INITRD"
    echo "=== CASE pr-dtb"
    # ibm,pft-size gives the guest its table's size; "hcall-splpar" (VPA and friends, which
    # PR lacks) must not be promised. (grep reads the blob's strings as they are.)
    grep -q "ibm,pft-size" "$T/pr.dtb" && echo "pft-size present"
    grep -q "hcall-pft" "$T/pr.dtb" && echo "hcall-pft present"
    grep -q "hcall-splpar" "$T/pr.dtb" || echo "no splpar"
    echo "=== RESULT pr-dtb status=0"
    case_run radix-refused --mmu=radix -k "$GUEST_KERNEL" -i "$GUEST_INITRD"
    case_run hv-refused --kvm-type=hv -k "$GUEST_KERNEL" -i "$GUEST_INITRD"
    case_run nested-refused --nested-hv -k "$GUEST_KERNEL" -i "$GUEST_INITRD"
    hugepages
    case_run check-hugepages --check --mem-path /dev/hugepages
    case_run pr-hugepages -v --mem-path /dev/hugepages --dump-dtb "$T/pr-huge.dtb" \
        -k "$GUEST_KERNEL" -i "$GUEST_INITRD"
fi
rm -rf "$T"
