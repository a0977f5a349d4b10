# The boot test cases. Runs under any POSIX sh (busybox in the emulated host, or a real POWER
# host) with $MINIVMM, $GUEST_KERNEL, $GUEST_INITRD and $IMAGES (tests/boot/images.sh) set, and
# $GUEST_KERNEL_BE, $GUEST_INITRD_BE if there is a big-endian guest (tests/host/guest-be.sh).
# It only runs and reports; the expectations live in tests/boot/run.sh, which reads the report:
#   === CASE <name>       then everything the case printed, then
#   === RESULT <name> status=<exit status>
T=${TMPDIR:-/tmp}/minivmm-cases.$$
mkdir -p "$T"
LIMIT=${CASE_TIMEOUT:-600}

case_cmd() {   # case_cmd NAME command...
    name=$1; shift
    echo "=== CASE $name"
    timeout "$LIMIT" "$@" </dev/null 2>&1
    st=$?
    echo   # the output may end mid-line (a run stopped by --expect)
    echo "=== RESULT $name status=$st"
}
case_run() { name=$1; shift; case_cmd "$name" "$MINIVMM" "$@"; }   # case_run NAME minivmm-args...

# 1. The foundation: Debian's kernel boots under KVM-HV, Radix, 2 vCPUs, and powers off.
case_run boot-smp -v --stats -k "$GUEST_KERNEL" -i "$GUEST_INITRD" -c 2 -m 512M \
    -a "console=hvc0 minivmm.test=marker"
# 2. A guest that panics makes minivmm exit non-zero and say why: from the console line, and
# without console watching from the guest's own ibm,os-term call.
case_run panic -k "$GUEST_KERNEL" -i "$GUEST_INITRD" -m 512M \
    -a "console=hvc0 quiet minivmm.test=panic"
case_run panic-os-term -k "$GUEST_KERNEL" -i "$GUEST_INITRD" -m 512M --no-default-fail \
    -a "console=hvc0 quiet minivmm.test=panic"
# A big-endian kernel boots too (tests/host/guest-be.sh: its own /init, a static program).
if [ -n "${GUEST_KERNEL_BE:-}" ]; then
    { echo "written by the host"; head -c 4096 /dev/zero; } > "$T/be.img"
    case_run be-guest -v -k "$GUEST_KERNEL_BE" -i "$GUEST_INITRD_BE" -m 512M -d "$T/be.img" \
        -a "console=hvc0"
    echo "=== CASE be-guest-disk-check"
    [ "$(dd if="$T/be.img" bs=512 skip=1 count=1 2>/dev/null | head -n 1)" = MINIVMM-BE-WROTE ] &&
        echo "the guest's sector reached the image"
    echo "=== RESULT be-guest-disk-check status=0"
fi
# 3. A reboot request ends the run with its own status.
case_run reboot -k "$GUEST_KERNEL" -i "$GUEST_INITRD" -m 512M \
    -a "console=hvc0 quiet minivmm.test=reboot"

# 4. Bad kernel files: refused with status 1 before any VM exists.
: > "$T/empty"
echo "not a kernel" > "$T/text"
head -c 4096 "$GUEST_KERNEL" > "$T/truncated"
cp "$GUEST_KERNEL" "$T/x86"
printf '\076\000' | dd of="$T/x86" bs=1 seek=18 conv=notrunc 2>/dev/null   # e_machine = EM_X86_64
head -c 65536 "$GUEST_KERNEL" > "$T/elf32"
printf '\001' | dd of="$T/elf32" bs=1 seek=4 conv=notrunc 2>/dev/null      # EI_CLASS = ELFCLASS32
mkdir -p "$T/dir"
for k in missing empty text truncated x86 elf32 dir; do
    case_run "bad-kernel-$k" -k "$T/$k" -m 512M
done

# 5. Bad flags and impossible requests.
case_run bad-memory -k "$GUEST_KERNEL" -m 3
case_run huge-memory -k "$GUEST_KERNEL" -m 1T
case_run bad-cpus -k "$GUEST_KERNEL" -c 0
case_run bad-initrd -k "$GUEST_KERNEL" -i "$T/missing-initrd"
case_run no-kernel -m 512M
# What the emulated host (nested KVM-HV, Radix) cannot do must be refused with the reason.
case_run hash-on-nested -k "$GUEST_KERNEL" -i "$GUEST_INITRD" --mmu=hash
case_run pr-unavailable -k "$GUEST_KERNEL" -i "$GUEST_INITRD" --kvm-type=pr

# 5a. The host doctor, and a guest that runs KVM-HV itself (nested HV, Radix all the way).
case_run check-host --check
case_run check-hash --check --mmu=hash -m 2G
case_run nested-hv --nested-hv -k "$GUEST_KERNEL" -i "$GUEST_INITRD" \
    -a "console=hvc0 quiet minivmm.test=kvm"
case_run nested-hv-off -k "$GUEST_KERNEL" -i "$GUEST_INITRD" \
    -a "console=hvc0 quiet minivmm.test=kvm"
case_run nested-hv-hash --nested-hv --mmu=hash -k "$GUEST_KERNEL" -i "$GUEST_INITRD"

# 5b. The userspace interrupt controller (the fallback for hosts without KVM's XICS): IPIs
# for SMP and the disk's MSI-X vectors, through minivmm's XICS.
dd if=/dev/zero of="$T/xics.img" bs=1M count=8 2>/dev/null
case_run irqchip-user -v --stats -c 2 --irqchip=user -k "$GUEST_KERNEL" -i "$GUEST_INITRD" \
    -d "$T/xics.img" -a "console=hvc0 quiet minivmm.test=blk-write"
# 5c. INTx, the fallback for a guest without MSI (pci=nomsi), on both interrupt controllers:
# the level, raised by the device and lowered by the guest's read of the ISR.
for chip in kernel user; do
    case_run intx-$chip --stats --irqchip=$chip -k "$GUEST_KERNEL" -i "$GUEST_INITRD" \
        -d "$T/xics.img" -a "console=hvc0 quiet pci=nomsi minivmm.test=blk-write"
done
# 5d. A KVM that refuses irqfds (faked: tests/host/noirqfd.c refuses KVM_IRQFD): MSI-X
# messages go by KVM_IRQ_LINE, and the disk works as with them.
case_cmd irqfd-refused "${NOIRQFD:-/bin/noirqfd}" "$MINIVMM" -v --stats --irqchip=kernel \
    -k "$GUEST_KERNEL" -i "$GUEST_INITRD" -d "$T/xics.img" \
    -a "console=hvc0 quiet minivmm.test=blk-write"
rm -f "$T/xics.img"

# 6. virtio-blk.
. "$(dirname "$0")/cases-blk.sh"

# 6a. virtio-9p: a host directory in the guest.
. "$(dirname "$0")/cases-9p.sh"
# 6b'. virtio-net: passt and a tap device (cases-net.sh).
. "$(dirname "$0")/cases-net.sh"
# --rootfs DIR -- COMMAND: a host directory as the root, one command (cases-rootfs.sh).
. "$(dirname "$0")/cases-rootfs.sh"
# PAPR conformance: the project's bare-metal payload, and Linux's clock and hwrng.
. "$(dirname "$0")/cases-papr.sh"

# virtio-vsock: data both ways over Firecracker's hybrid vsock (cases-vsock.sh).
. "$(dirname "$0")/cases-vsock.sh"

# The GDB stub, without breakpoints (cases-gdb.sh).
. "$(dirname "$0")/cases-gdb.sh"

# 6b. Unattended runs: timeouts, patterns, JSON, logs, exit codes.
. "$(dirname "$0")/cases-ci.sh"

# 6c. The embedding library and snapshot disks.
. "$(dirname "$0")/cases-lib.sh"

# 6d. Bad input and faults while running.
. "$(dirname "$0")/cases-bad.sh"

# 7. The virtio console: guest output arrives, and host input typed after the guest's prompt
# reaches it (as a person would type; without multiport the guest driver drops input that
# arrives before its tty is open, so the answer waits for the guest's line).
echo "=== CASE virtio-console"
mkfifo "$T/vcon.in"
( exec 4>"$T/vcon.in"
  for i in $(seq 600); do grep -q MINIVMM-VCON-OUT "$T/vcon.out" 2>/dev/null && break; sleep 0.2; done
  echo hello-from-host >&4; sleep 2 ) &
timeout "$LIMIT" "$MINIVMM" -v --stats -k "$GUEST_KERNEL" -i "$GUEST_INITRD" --console=virtio \
    -a "console=hvc0 quiet minivmm.test=vcon" < "$T/vcon.in" > "$T/vcon.out" 2>&1
st=$?
wait
cat "$T/vcon.out"
echo "=== RESULT virtio-console status=$st"

# 7b. Typing into hvc0 (the sPAPR vty), on both interrupt controllers: the vty's interrupt
# tells the guest input came (its hvc driver does not poll for it).
for chip in kernel user; do
    echo "=== CASE vty-input-$chip"
    rm -f "$T/vty.in"; mkfifo "$T/vty.in"
    ( exec 4>"$T/vty.in"
      for i in $(seq 600); do grep -q MINIVMM-SHELL "$T/vty.out" 2>/dev/null && break; sleep 0.2; done
      sleep 1; echo 'echo typed-$((40+2)) $(grep -c hvc_console /proc/interrupts)' >&4
      sleep 2; echo exit >&4; sleep 2 ) &
    timeout "$LIMIT" "$MINIVMM" --irqchip=$chip -k "$GUEST_KERNEL" -i "$GUEST_INITRD" \
        -a "console=hvc0 quiet minivmm.test=shell" < "$T/vty.in" > "$T/vty.out" 2>&1
    st=$?
    wait
    cat "$T/vty.out"
    echo "=== RESULT vty-input-$chip status=$st"
done

# 8. The device tree a guest gets, dumped for dtc to read back on the other side.
echo "=== CASE dump-dtb"
timeout "$LIMIT" "$MINIVMM" -k "$GUEST_KERNEL" -i "$GUEST_INITRD" -c 2 -a "console=hvc0" \
    -d "$IMAGES/data.ext4,ro" --dump-dtb "$T/guest.dtb" </dev/null 2>&1
st=$?
[ $st = 0 ] && { echo "--- DTB BASE64"; base64 "$T/guest.dtb"; echo "--- END DTB"; }
echo "=== RESULT dump-dtb status=$st"

rm -rf "$T"
