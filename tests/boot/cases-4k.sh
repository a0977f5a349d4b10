# Boot cases for a host with 4 KiB pages (the L1 kernel of tests/host/build-l1-kernel.sh),
# run once in Radix mode and once booted with disable_radix (Hash). Same report format as
# cases.sh; run.sh checks each line of the seed's matrix this host kind can show.
T=${TMPDIR:-/tmp}/minivmm-cases-4k.$$
mkdir -p "$T"
LIMIT=${CASE_TIMEOUT:-900}
mmu=$(sed -n 's/^MMU[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo)

case_cmd() {   # case_cmd NAME command...
    name=$1; shift
    echo "=== CASE $name"
    timeout "$LIMIT" "$@" </dev/null 2>&1
    echo "=== RESULT $name status=$?"
}
case_run() { name=$1; shift; case_cmd "$name" "$MINIVMM" "$@"; }

echo "=== HOST mmu=$mmu"
case_run check --check
if [ "$mmu" = Radix ]; then
    # Radix 4 KiB host -> KVM-HV -> Radix guest running a 64 KiB-page kernel (Debian's).
    case_run radix-guest-64k -v -k "$GUEST_KERNEL" -i "$GUEST_INITRD" -c 2 \
        -a "console=hvc0 quiet minivmm.test=marker"
    case_run hash-refused --mmu=hash -k "$GUEST_KERNEL" -i "$GUEST_INITRD"
    case_run pr-refused --kvm-type=pr -k "$GUEST_KERNEL" -i "$GUEST_INITRD"
else
    # Hash 4 KiB host -> KVM-PR. minivmm builds the whole PR machine (its hashed page table
    # in our memory, SDR1, PVR, HIOR, the device tree) and writes the tree instead of
    # running: in this emulated host a PR guest's hcalls never reach the L1 kernel (QEMU's
    # hypervisor answers a problem-state sc 1 itself; see README, Status).
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
    huge=$(sed -n 's/^Hugepagesize:[[:space:]]*\([0-9]*\) kB/\1/p' /proc/meminfo)
    echo $(( 512 * 1024 / huge + 2 )) > /proc/sys/vm/nr_hugepages
    mkdir -p /dev/hugepages && mount -t hugetlbfs hugetlbfs /dev/hugepages
    case_run check-hugepages --check --mem-path /dev/hugepages
    case_run pr-hugepages -v --mem-path /dev/hugepages --dump-dtb "$T/pr-huge.dtb" \
        -k "$GUEST_KERNEL" -i "$GUEST_INITRD"
fi
rm -rf "$T"
